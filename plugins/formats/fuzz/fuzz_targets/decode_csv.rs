//! Arbitrary bytes as a csv message of a fixed multi-type schema. Decoding never panics;
//! a row that decodes is encoded again and must decode to the same values.
#![no_main]

use formats::{CsvOptions, Decoder, DecoderSpec, Encoder, Format, InputField, MessageMeta};
use libfuzzer_sys::fuzz_target;
use xdrive_proto::page::{PageLimits, PageReader, Value};

const TYPES: [&str; 12] = [
    "int4",
    "text",
    "float8",
    "date",
    "timestamptz",
    "bool",
    "numeric",
    "bytea",
    "json",
    "varchar(5)",
    "time",
    "int2",
];

fn same(a: Option<Value<'_>>, b: Option<Value<'_>>) -> bool {
    match (a, b) {
        (Some(Value::Double(x)), Some(Value::Double(y))) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (a, b) => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the CSV options, the rest is the message.
    let Some((&pick, message)) = data.split_first() else {
        return;
    };
    let options = match pick % 3 {
        0 => CsvOptions::new(b'|').unwrap(),
        1 => CsvOptions::from_strs(",", "'", "\\", "\\N").unwrap(),
        _ => CsvOptions::new(b' ').unwrap(),
    };
    let format = Format::Csv(options);
    let fields = TYPES
        .iter()
        .enumerate()
        .map(|(i, t)| InputField::new(format!("c{i}"), t).unwrap())
        .collect();
    let mut decoder = Decoder::new(DecoderSpec::all_fields(format.clone(), fields)).unwrap();
    let mut page = decoder.new_page(PageLimits::default());
    let meta = MessageMeta::default();
    if decoder.decode(&meta, Some(message), &mut page).is_err() {
        assert_eq!(page.nrow(), 0);
        return;
    }
    let first = PageReader::new(decoder.schema(), page.finish().unwrap()).unwrap();
    let mut encoder = Encoder::new(&format, first.schema()).unwrap();
    let encoded = encoder.encode(&first, 0).unwrap().unwrap().to_vec();
    decoder
        .decode(&meta, Some(&encoded), &mut page)
        .unwrap_or_else(|e| {
            panic!(
                "re-encoded row does not decode: {e}: {:?}",
                String::from_utf8_lossy(&encoded)
            )
        });
    let second = PageReader::new(decoder.schema(), page.finish().unwrap()).unwrap();
    for (a, b) in first.columns().zip(second.columns()) {
        assert!(
            same(a.get(0), b.get(0)),
            "{}: {:?} became {:?}",
            a.name(),
            a.get(0),
            b.get(0)
        );
    }
});
