//! The cost of a batch through the transform host, with the hostile test guest's
//! well-behaved modes:
//! - an empty batch: the fixed cost of one `run` (deadline, bookkeeping, the guest call);
//! - `fields`, 1000 rows of one ~200-byte json value → 3 output values (int, text, json):
//!   the realistic shape, lowering, the guest's work, lifting and the output check;
//! - `echo`, the same rows kept as they are (1 value out).
//!
//! Besides criterion's figures it prints ns/row for each, and the empty call's share of a
//! 1000-row batch (the host's fixed cost per batch, as a fraction).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use transform_host::{
    Column, EngineOptions, Kind, Limits, Row, TransformEngine, Transformer, Value,
};

const ROWS: usize = 1000;

fn column(name: &str, kind: Kind) -> Column {
    Column {
        name: name.to_owned(),
        kind,
        pg_type: String::new(),
    }
}

fn transformer(engine: &TransformEngine, mode: &str, output: &[Column]) -> Transformer {
    let module = engine
        .load(&dgkafka_testkit::wasm::module("hostile"))
        .unwrap();
    let input = [column("jdata", Kind::Json)];
    module
        .instantiate(
            &[("mode".to_owned(), mode.to_owned())],
            &input,
            output,
            Limits::default(),
        )
        .unwrap()
}

/// Rows of one json value of about 200 bytes, as the json format decodes a message.
fn rows() -> Vec<Row> {
    (0..ROWS as i64)
        .map(|i| Row {
            partition: (i % 4) as i32,
            offset: 1_000_000 + i,
            timestamp_ms: Some(1_700_000_000_000 + i),
            key: Some(format!("customer-{i}").into_bytes()),
            values: vec![Value::Json(format!(
                r#"{{"id":{i},"name":"Customer {i:06}","email":"customer{i}@example.com","phone":"+1-555-{:04}","address":{{"city":"Springfield","zip":"{:05}"}},"tags":["a","b"],"balance":1234.56}}"#,
                i % 10_000,
                i % 100_000
            ))],
        })
        .collect()
}

/// Mean ns per call of `f` over about `budget`.
fn ns_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    let mut calls = 0u64;
    let started = Instant::now();
    while started.elapsed() < budget {
        f();
        calls += 1;
    }
    started.elapsed().as_nanos() as f64 / calls as f64
}

fn bench(c: &mut Criterion) {
    let engine = TransformEngine::new(EngineOptions::default()).unwrap();
    let fields_output = [
        column("len", Kind::Int),
        column("prefix", Kind::Text),
        column("doc", Kind::Json),
    ];
    let mut fields = transformer(&engine, "fields", &fields_output);
    let mut echo = transformer(&engine, "echo", &[column("doc", Kind::Json)]);
    let mut json_fields = seed_json_fields(&engine);
    let seed_batch = seed_rows();
    let batch = rows();
    assert_eq!(
        fields.run(&batch).unwrap().len(),
        ROWS,
        "one outcome per row"
    );
    let json_bytes: usize = batch
        .iter()
        .map(|r| match &r.values[0] {
            Value::Json(s) => s.len(),
            _ => 0,
        })
        .sum();

    let mut group = c.benchmark_group("transform-host");
    group.bench_function("empty batch", |b| {
        b.iter(|| black_box(fields.run(&[]).unwrap()))
    });
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("fields, 1000 rows", |b| {
        b.iter(|| black_box(fields.run(&batch).unwrap()))
    });
    group.bench_function("echo, 1000 rows", |b| {
        b.iter(|| black_box(echo.run(&batch).unwrap()))
    });
    group.bench_function("json-fields (the seed's mappings), 1000 rows", |b| {
        b.iter(|| black_box(json_fields.run(&seed_batch).unwrap()))
    });
    group.finish();

    let budget = Duration::from_millis(500);
    let empty = ns_per_call(budget, || {
        black_box(fields.run(&[]).unwrap());
    });
    let fields_batch = ns_per_call(budget, || {
        black_box(fields.run(&batch).unwrap());
    });
    let echo_batch = ns_per_call(budget, || {
        black_box(echo.run(&batch).unwrap());
    });
    let seed_echo_batch = ns_per_call(budget, || {
        black_box(echo.run(&seed_batch).unwrap());
    });
    let json_fields_batch = ns_per_call(budget, || {
        black_box(json_fields.run(&seed_batch).unwrap());
    });
    println!(
        "transform host: rows of one {}-byte json value (mean)",
        json_bytes / ROWS
    );
    println!("  empty batch:              {empty:>9.0} ns/call");
    println!(
        "  fields (1 -> 3 values):   {:>9.0} ns/row ({:.1} µs per 1000-row batch)",
        fields_batch / ROWS as f64,
        fields_batch / 1000.0
    );
    println!(
        "  echo (1 -> 1 value):      {:>9.0} ns/row",
        echo_batch / ROWS as f64
    );
    println!(
        "  the empty call is {:.2}% of a 1000-row fields batch",
        100.0 * empty / fields_batch
    );
    println!(
        "transforms/json-fields on the seed's JSON messages (customer_id, some_intfield*0.075):\n  \
         {:>9.0} ns/row, of which the host's part (echo of the same rows) {:.0} ns/row = {:.0}%",
        json_fields_batch / ROWS as f64,
        seed_echo_batch / ROWS as f64,
        100.0 * seed_echo_batch / json_fields_batch
    );
}

/// The example transform `transforms/json-fields` configured as `tests/bench/transform.sh`
/// runs it: the seed's mappings without SQL.
fn seed_json_fields(engine: &TransformEngine) -> Transformer {
    let module = engine
        .load(&dgkafka_testkit::wasm::module("json-fields"))
        .unwrap();
    module
        .instantiate(
            &[("fields".to_owned(), "field2=some_intfield*0.075".to_owned())],
            &[column("jdata", Kind::Json)],
            &[
                column("customer_id", Kind::Int),
                column("field2", Kind::Numeric),
            ],
            Limits::default(),
        )
        .unwrap()
}

/// The messages of `tests/bench/transform.sh`, as the json format decodes them.
fn seed_rows() -> Vec<Row> {
    (1..=ROWS as i64)
        .map(|i| Row {
            partition: (i % 3) as i32,
            offset: i,
            timestamp_ms: Some(1_700_000_000_000 + i),
            key: None,
            values: vec![Value::Json(format!(
                r#"{{"customer_id":{i},"some_intfield":{},"name":"Customer#{i:09}","comment":"regular deposits sleep quickly {}"}}"#,
                (i * 7919) % 100_000,
                i % 977
            ))],
        })
        .collect()
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
