//! Decoding throughput, each figure with its ratio to a baseline measured in the same run:
//!
//! - `csv`: TPC-H `customer` rows (`|`-delimited, 8 columns as the seed declares them),
//!   one message each, decoded into typed pages, against csv-core tokenizing the same
//!   messages (no typing, no page). Target: at least 0.5x.
//! - `json`: the same customers as the seed's JSON messages, validated by simd-json (as
//!   the decoder does: UTF-8 check, copy into the padded buffer, parse with reused
//!   buffers) against serde_json (UTF-8 check, then `from_str::<IgnoredAny>`, its cheapest
//!   full validation). Target: at least 1.5x. The simd-json kernel picked at run time
//!   (AVX2, SSE4.2, NEON or the scalar "Rust Native") is printed with the figures.
//!
//! `cargo bench -p formats --bench decode`; the ratios are printed (stderr) before
//! criterion's own figures.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use formats::{CsvOptions, Decoder, DecoderSpec, Format, InputField, MessageMeta};
use serde::de::IgnoredAny;
use tpchgen::generators::CustomerGenerator;
use xdrive_proto::page::{PageBuilder, PageLimits};

const ROWS: usize = 4096;

/// The seed's `customer` rows (as `dgkafka_testkit::tpch` writes them) and the same
/// customers in the seed's JSON shape.
fn messages() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    CustomerGenerator::new(1.0, 1, 1)
        .iter()
        .take(ROWS)
        .map(|c| {
            let csv = format!(
                "{}|{}|{}|{}|{}|{}|{}|{}",
                c.c_custkey,
                c.c_name,
                c.c_address,
                c.c_nationkey,
                c.c_phone,
                c.c_acctbal,
                c.c_mktsegment,
                c.c_comment
            );
            // TPC-H text has no quotes or backslashes to escape.
            let json = format!(
                "{{\"custkey\":{}, \"name\": \"{}\", \"address\":\"{}\", \"nationkey\":{},\
                 \"phone\":\"{}\",\"acctbal\":{}, \"mktsegment\":\"{}\",\"comment\":\"{}\"}}",
                c.c_custkey,
                c.c_name,
                c.c_address,
                c.c_nationkey,
                c.c_phone,
                c.c_acctbal,
                c.c_mktsegment,
                c.c_comment
            );
            (csv.into_bytes(), json.into_bytes())
        })
        .unzip()
}

fn customer_decoder() -> Decoder {
    let fields = [
        ("c_custkey", "integer"),
        ("c_name", "varchar(25)"),
        ("c_address", "varchar(40)"),
        ("c_nationkey", "integer"),
        ("c_phone", "varchar(15)"),
        ("c_acctbal", "double precision"),
        ("c_mktsegment", "varchar(10)"),
        ("c_comment", "varchar(117)"),
    ]
    .iter()
    .map(|(n, t)| InputField::new(*n, t).unwrap())
    .collect();
    let format = Format::Csv(CsvOptions::new(b'|').unwrap());
    Decoder::new(DecoderSpec::all_fields(format, fields)).unwrap()
}

fn json_decoder() -> Decoder {
    Decoder::new(DecoderSpec::all_fields(
        Format::Json,
        vec![InputField::jdata()],
    ))
    .unwrap()
}

fn limits() -> PageLimits {
    PageLimits {
        max_rows: ROWS,
        max_bytes: usize::MAX,
    }
}

/// Decodes every message into one page and takes the page out.
fn decode_all(decoder: &mut Decoder, page: &mut PageBuilder, messages: &[Vec<u8>]) -> usize {
    for (offset, m) in messages.iter().enumerate() {
        let meta = MessageMeta {
            offset: offset as i64,
            ..MessageMeta::default()
        };
        decoder.decode(&meta, Some(m), page).unwrap();
    }
    page.finish().unwrap().len()
}

/// csv-core splitting every message into fields: the bare tokenizer.
fn tokenize_all(reader: &mut csv_core::Reader, messages: &[Vec<u8>], field: &mut [u8]) -> usize {
    let mut fields = 0;
    for m in messages {
        reader.reset();
        let mut input = &m[..];
        loop {
            let (result, read, _) = reader.read_field(input, field);
            input = &input[read..];
            match result {
                csv_core::ReadFieldResult::Field { record_end } => {
                    fields += 1;
                    if record_end {
                        break;
                    }
                }
                csv_core::ReadFieldResult::InputEmpty => {}
                csv_core::ReadFieldResult::End => break,
                csv_core::ReadFieldResult::OutputFull => panic!("field buffer too small"),
            }
        }
    }
    fields
}

/// What the decoder does to validate a JSON message with simd-json.
struct SimdValidator {
    buffers: simd_json::Buffers,
    tape: Option<simd_json::Tape<'static>>,
    input: Vec<u8>,
}

impl SimdValidator {
    fn new() -> Self {
        SimdValidator {
            buffers: simd_json::Buffers::default(),
            tape: Some(simd_json::Tape::null().reset()),
            input: Vec::new(),
        }
    }

    fn validate(&mut self, m: &[u8]) -> bool {
        let text = std::str::from_utf8(m).unwrap();
        self.input.clear();
        self.input.extend_from_slice(text.as_bytes());
        self.input.resize(text.len() + simd_json::INPUT_PADDING, 0);
        let mut tape = self.tape.take().unwrap();
        let ok =
            simd_json::fill_tape_padded(&mut self.input, text.len(), &mut self.buffers, &mut tape)
                .is_ok();
        self.tape = Some(tape.reset());
        ok
    }
}

fn serde_validate(m: &[u8]) -> bool {
    let text = std::str::from_utf8(m).unwrap();
    serde_json::from_str::<IgnoredAny>(text).is_ok()
}

/// The best rate (calls per second) of each function over several interleaved rounds, so
/// the ratios compare figures measured under the same conditions.
fn best_rates<const N: usize>(fs: [&mut dyn FnMut(); N]) -> [f64; N] {
    let mut best = [0f64; N];
    let mut fs = fs;
    for f in fs.iter_mut() {
        f();
    }
    for _ in 0..9 {
        for (f, best) in fs.iter_mut().zip(&mut best) {
            let start = Instant::now();
            let mut iters = 0u32;
            while start.elapsed() < Duration::from_millis(50) {
                f();
                iters += 1;
            }
            *best = best.max(f64::from(iters) / start.elapsed().as_secs_f64());
        }
    }
    best
}

fn bench(c: &mut Criterion) {
    let (csv, json) = messages();
    let csv_bytes: usize = csv.iter().map(Vec::len).sum();
    let json_bytes: usize = json.iter().map(Vec::len).sum();

    let mut decoder = customer_decoder();
    let mut page = decoder.new_page(limits());
    let mut json_dec = json_decoder();
    let mut json_page = json_dec.new_page(limits());
    let mut field = vec![0u8; 1024];
    // Built once: building csv-core's state machine costs more than a message.
    let mut reader = csv_core::ReaderBuilder::new().delimiter(b'|').build();
    let mut simd = SimdValidator::new();
    let mut simd_for_big = SimdValidator::new();
    assert!(json.iter().all(|m| simd.validate(m) && serde_validate(m)));

    // The same customers, 16 to a document (a JSON array): how the ratio grows with size.
    let big: Vec<Vec<u8>> = json
        .chunks(16)
        .map(|c| {
            let parts: Vec<&str> = c.iter().map(|m| std::str::from_utf8(m).unwrap()).collect();
            format!("[{}]", parts.join(",")).into_bytes()
        })
        .collect();

    let [
        tokenize,
        typed,
        simd_rate,
        serde_rate,
        serde_dom,
        json_decode,
        simd_big,
        serde_big,
    ] = best_rates([
        &mut || {
            black_box(tokenize_all(&mut reader, black_box(&csv), &mut field));
        },
        &mut || {
            black_box(decode_all(&mut decoder, &mut page, black_box(&csv)));
        },
        &mut || {
            for m in black_box(&json) {
                black_box(simd.validate(m));
            }
        },
        &mut || {
            for m in black_box(&json) {
                black_box(serde_validate(m));
            }
        },
        &mut || {
            for m in black_box(&json) {
                black_box(serde_json::from_slice::<serde_json::Value>(m).is_ok());
            }
        },
        &mut || {
            black_box(decode_all(&mut json_dec, &mut json_page, black_box(&json)));
        },
        &mut || {
            for m in black_box(&big) {
                black_box(simd_for_big.validate(m));
            }
        },
        &mut || {
            for m in black_box(&big) {
                black_box(serde_validate(m));
            }
        },
    ]);
    let rows = ROWS as f64;
    let mb = |rate: f64, bytes: usize| rate * bytes as f64 / 1e6;
    eprintln!(
        "decode: {ROWS} TPC-H customer messages, one core:\n  \
         csv into typed pages: {:.0} rows/s ({:.0} MB/s) = {:.2}x csv-core tokenizing alone \
         ({:.0} rows/s, {:.0} MB/s) [target >= 0.5x]\n  \
         json validation: simd-json ({} kernel) {:.0} msgs/s ({:.0} MB/s) = {:.2}x serde_json \
         ({:.0} msgs/s, {:.0} MB/s) [target >= 1.5x]; {:.2}x serde_json into a \
         serde_json::Value\n  \
         json validation, 16 customers per document: simd-json {:.0} MB/s = {:.2}x serde_json \
         ({:.0} MB/s)\n  \
         json into pages (validation and page): {:.0} rows/s ({:.0} MB/s)",
        typed * rows,
        mb(typed, csv_bytes),
        typed / tokenize,
        tokenize * rows,
        mb(tokenize, csv_bytes),
        simd_json::Deserializer::algorithm(),
        simd_rate * rows,
        mb(simd_rate, json_bytes),
        simd_rate / serde_rate,
        serde_rate * rows,
        mb(serde_rate, json_bytes),
        simd_rate / serde_dom,
        mb(simd_big, json_bytes),
        simd_big / serde_big,
        mb(serde_big, json_bytes),
        json_decode * rows,
        mb(json_decode, json_bytes),
    );

    let mut group = c.benchmark_group("csv_customer");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("csv_core_tokenize", |b| {
        b.iter(|| tokenize_all(&mut reader, black_box(&csv), &mut field))
    });
    group.bench_function("decode_typed", |b| {
        b.iter(|| decode_all(&mut decoder, &mut page, black_box(&csv)))
    });
    group.finish();

    let mut group = c.benchmark_group("json_customer");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("simd_json_validate", |b| {
        b.iter(|| json.iter().filter(|m| simd.validate(m)).count())
    });
    group.bench_function("serde_json_validate", |b| {
        b.iter(|| json.iter().filter(|m| serde_validate(m)).count())
    });
    group.bench_function("decode", |b| {
        b.iter(|| decode_all(&mut json_dec, &mut json_page, black_box(&json)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
