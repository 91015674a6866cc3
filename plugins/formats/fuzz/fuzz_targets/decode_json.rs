//! Arbitrary bytes as a json message. Decoding never panics, and agrees with serde_json on
//! what is valid JSON, but for simd-json's documented limits (nesting deeper than 1024,
//! `\u` escapes of unpaired surrogates).
#![no_main]

use formats::{Decoder, DecoderSpec, Format, InputField, MessageMeta, RowErrorKind};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use xdrive_proto::page::PageLimits;

fuzz_target!(|data: &[u8]| {
    let spec = DecoderSpec::all_fields(Format::Json, vec![InputField::jdata()]);
    let mut decoder = Decoder::new(spec).unwrap();
    let mut page = decoder.new_page(PageLimits::default());
    let ours = decoder.decode(&MessageMeta::default(), Some(data), &mut page);
    let serde = std::str::from_utf8(data)
        .ok()
        .map(|text| serde_json::from_str::<IgnoredAny>(text).is_ok());
    match (&ours, serde) {
        (Ok(()), Some(true)) => {}
        (Err(e), None) => assert_eq!(e.kind, RowErrorKind::Encoding),
        (Err(e), Some(false)) => assert_eq!(e.kind, RowErrorKind::Json),
        (Err(e), Some(true)) => assert!(
            e.reason.contains("unpaired surrogate") || e.reason.contains("1024 levels"),
            "serde_json accepts what we refuse: {e}"
        ),
        (Ok(()), _) => panic!(
            "we accept what serde_json refuses: {:?}",
            String::from_utf8_lossy(data)
        ),
    }
});
