//! Page encode and decode throughput, one core, for a TPC-H `customer`-like page (int4, text
//! and float8 columns), against a `memcpy` of the same wire bytes measured in the same run.
//!
//! - `encode`: push every value into a reused `PageBuilder` and encode the page straight
//!   into `XColDataReply` frames with `finish_into_frames` (what a plugin does per page).
//! - `decode`: take the frames off the wire, decode each `XColDataReply` with the borrowing
//!   decoder (`wire::decode_xcol_reply`), check the page with `PageReader::from_wire`, and
//!   read every value through the column views with `get` (what the loader does).
//!   `decode_bytes` reads text with `get_bytes` instead, skipping `get`'s second UTF-8 check.
//! - `memcpy`: copy the page's wire bytes into a reused buffer (the floor).
//! - `prost_encode` / `prost_decode`: prost alone on the same page's ready-made `XCol`s
//!   (frame them; take them off the wire into `XCol`s, one `String` per text value), so the
//!   ratios show what our paths cost against protobuf itself.
//!
//! Throughput is in bytes of wire format per second. Run with
//! `cargo bench -p xdrive-proto --bench pages`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xdrive_proto::frame::FrameCodec;
use xdrive_proto::message::{self, XColDataReply};
use xdrive_proto::page::{PageBuilder, PageLimits, PageReader, Value};
use xdrive_proto::schema::{Column, Schema};
use xdrive_proto::spq::SpqType;
use xdrive_proto::wire;

const ROWS: usize = 4096;

/// A TPC-H `customer` row.
struct Customer {
    custkey: i32,
    name: String,
    address: String,
    nationkey: i32,
    phone: String,
    acctbal: f64,
    mktsegment: &'static str,
    comment: String,
}

fn schema() -> Schema {
    Schema::new(vec![
        Column::new("c_custkey", SpqType::Int32),
        Column::new("c_name", SpqType::Cstr),
        Column::new("c_address", SpqType::Cstr),
        Column::new("c_nationkey", SpqType::Int32),
        Column::new("c_phone", SpqType::Cstr),
        Column::new("c_acctbal", SpqType::Double),
        Column::new("c_mktsegment", SpqType::Cstr),
        Column::new("c_comment", SpqType::Cstr),
    ])
    .expect("distinct names")
}

/// Deterministic rows shaped like dbgen's (lengths and value ranges), without its text.
fn customers() -> Vec<Customer> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let text = |min: u64, max: u64, next: &mut dyn FnMut(u64) -> u64| {
        let len = min + next(max - min + 1);
        (0..len)
            .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz ,."[next(29) as usize]))
            .collect::<String>()
    };
    const SEGMENTS: [&str; 5] = [
        "AUTOMOBILE",
        "BUILDING",
        "FURNITURE",
        "HOUSEHOLD",
        "MACHINERY",
    ];
    (1..=ROWS as i32)
        .map(|custkey| {
            let nationkey = next(25) as i32;
            Customer {
                custkey,
                name: format!("Customer#{custkey:09}"),
                address: text(10, 40, &mut next),
                nationkey,
                phone: format!(
                    "{}-{:03}-{:03}-{:04}",
                    nationkey + 10,
                    100 + next(900),
                    100 + next(900),
                    1000 + next(9000)
                ),
                acctbal: (next(1_099_999) as f64 - 99_999.0) / 100.0,
                mktsegment: SEGMENTS[next(5) as usize],
                comment: text(29, 116, &mut next),
            }
        })
        .collect()
}

/// Builds the page with `b` and frames it into `wire`.
fn encode(b: &mut PageBuilder, rows: &[Customer], codec: &FrameCodec, wire: &mut BytesMut) {
    for r in rows {
        b.push(Value::Int32(r.custkey)).unwrap();
        b.push(Value::Text(&r.name)).unwrap();
        b.push(Value::Text(&r.address)).unwrap();
        b.push(Value::Int32(r.nationkey)).unwrap();
        b.push(Value::Text(&r.phone)).unwrap();
        b.push(Value::Double(r.acctbal)).unwrap();
        b.push(Value::Text(r.mktsegment)).unwrap();
        b.push(Value::Text(&r.comment)).unwrap();
        b.end_row().unwrap();
    }
    b.finish_into_frames(codec, true, wire).unwrap();
}

fn builder(schema: &Schema) -> PageBuilder {
    PageBuilder::new(
        schema.clone(),
        PageLimits {
            max_rows: ROWS,
            max_bytes: usize::MAX,
        },
    )
}

/// Decodes the page's frames, checks it and reads every value (text with `get`, or with
/// `get_bytes` when `raw`); returns a checksum.
fn decode(schema: &Schema, wire: &mut BytesMut, raw: bool) -> usize {
    let mut codec = FrameCodec::default();
    let mut xcols = Vec::with_capacity(schema.len());
    while let Some(frame) = codec.decode(wire).unwrap() {
        let reply = wire::decode_xcol_reply(frame.into_payload()).unwrap();
        xcols.push(reply.data.unwrap());
    }
    let page = PageReader::from_wire(schema, xcols).unwrap();
    let mut sum = 0usize;
    for col in page.columns() {
        for row in 0..col.len() {
            sum = sum.wrapping_add(match col.get_bytes(row) {
                Some(b) if raw => b.len(),
                _ => match col.get(row) {
                    Some(Value::Text(s)) => s.len(),
                    Some(Value::Int32(x)) => x as usize,
                    Some(Value::Double(x)) => x as usize,
                    _ => 0,
                },
            });
        }
    }
    sum
}

/// Bytes per second of each of `fs`, the best of 9 rounds of about 40 ms each, the
/// functions taking turns so that a busy machine slows them alike.
fn best_rates<const N: usize>(bytes: usize, fs: [&mut dyn FnMut(); N]) -> [f64; N] {
    let mut best = [0f64; N];
    let mut fs = fs;
    for f in fs.iter_mut() {
        f();
    }
    for _ in 0..9 {
        for (f, best) in fs.iter_mut().zip(&mut best) {
            let start = Instant::now();
            let mut iters = 0u32;
            while start.elapsed() < Duration::from_millis(40) {
                f();
                iters += 1;
            }
            let rate = bytes as f64 * f64::from(iters) / start.elapsed().as_secs_f64();
            *best = best.max(rate);
        }
    }
    best
}

fn pages(c: &mut Criterion) {
    let schema = schema();
    let rows = customers();
    let codec = FrameCodec::default();
    let mut wire = BytesMut::new();
    encode(&mut builder(&schema), &rows, &codec, &mut wire);
    let wire = wire.freeze();
    let len = wire.len();

    // The ratios, measured here so they compare runs on the same machine and moment.
    let xcols = {
        let mut w = BytesMut::from(&wire[..]);
        let mut c = FrameCodec::default();
        let mut v = Vec::new();
        while let Some(f) = c.decode(&mut w).unwrap() {
            v.push(message::decode::<XColDataReply>(f).unwrap().data.unwrap());
        }
        v
    };
    let prost_encode = |out: &mut BytesMut| {
        for x in black_box(&xcols) {
            message::encode_xcol_reply(&codec, x, out).unwrap();
        }
    };
    let prost_decode = |w: &mut BytesMut| {
        let mut c = FrameCodec::default();
        let mut n = 0;
        while let Some(f) = c.decode(w).unwrap() {
            n += message::decode::<XColDataReply>(f)
                .unwrap()
                .data
                .unwrap()
                .nrow;
        }
        n
    };
    let mut buf = BytesMut::with_capacity(len);
    let mut out = BytesMut::with_capacity(len);
    let mut out2 = BytesMut::with_capacity(len);
    let mut b = builder(&schema);
    let [memcpy, penc, pdec, enc, dec, dec_raw] = best_rates(
        len,
        [
            &mut || {
                buf.clear();
                buf.extend_from_slice(black_box(&wire));
                black_box(&buf);
            },
            &mut || {
                out.clear();
                prost_encode(&mut out);
            },
            &mut || {
                let mut w = BytesMut::from(&wire[..]);
                black_box(prost_decode(&mut w));
            },
            &mut || {
                out2.clear();
                encode(&mut b, black_box(&rows), &codec, &mut out2);
            },
            &mut || {
                let mut w = BytesMut::from(&wire[..]);
                black_box(decode(&schema, &mut w, false));
            },
            &mut || {
                let mut w = BytesMut::from(&wire[..]);
                black_box(decode(&schema, &mut w, true));
            },
        ],
    );
    let mb = |x: f64| x / 1e6;
    eprintln!(
        "pages: {ROWS} customer rows, {len} wire bytes per page, one core:\n  \
         encode {:.0} MB/s = {:.0} rows/s = {:.2}x prost alone ({:.0} MB/s), {:.4}x memcpy \
         ({:.0} MB/s)\n  \
         decode {:.0} MB/s = {:.0} rows/s = {:.2}x prost alone ({:.0} MB/s), {:.4}x memcpy\n  \
         decode_bytes {:.0} MB/s = {:.2}x prost alone (text read as bytes, no second UTF-8 \
         check)",
        mb(enc),
        enc / len as f64 * ROWS as f64,
        enc / penc,
        mb(penc),
        enc / memcpy,
        mb(memcpy),
        mb(dec),
        dec / len as f64 * ROWS as f64,
        dec / pdec,
        mb(pdec),
        dec / memcpy,
        mb(dec_raw),
        dec_raw / pdec,
    );

    let mut group = c.benchmark_group("customer_page");
    group.throughput(Throughput::Bytes(len as u64));
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            buf.clear();
            buf.extend_from_slice(black_box(&wire));
        })
    });
    group.bench_function("prost_encode", |b| {
        b.iter(|| {
            out.clear();
            prost_encode(&mut out);
        })
    });
    group.bench_function("prost_decode", |b| {
        b.iter(|| {
            let mut w = BytesMut::from(&wire[..]);
            prost_decode(&mut w)
        })
    });
    group.bench_function("encode", |bench| {
        bench.iter(|| {
            out.clear();
            encode(&mut b, black_box(&rows), &codec, &mut out);
        })
    });
    group.bench_function("decode", |bench| {
        bench.iter(|| {
            let mut w = BytesMut::from(&wire[..]);
            decode(&schema, &mut w, false)
        })
    });
    group.bench_function("decode_bytes", |bench| {
        bench.iter(|| {
            let mut w = BytesMut::from(&wire[..]);
            decode(&schema, &mut w, true)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = pages
}
criterion_main!(benches);
