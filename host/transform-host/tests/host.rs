//! The transform host against real components: the hostile test guest (every misbehaviour
//! contained, with errors naming the module and the row), the import check, load errors and
//! the compiled-module cache. The components are built by cargo on first use
//! (`dgkafka_testkit::wasm`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dgkafka_testkit::wasm;
use tempfile::TempDir;
use transform_host::{
    Column, EngineOptions, Kind, Limits, Module, Outcome, Row, TransformEngine, TransformError,
    Transformer, Value,
};

/// One engine for the tests that are not about the cache (as in a process), with a cache so
/// that each module is compiled once per test run.
fn engine() -> &'static TransformEngine {
    static ENGINE: OnceLock<(TransformEngine, TempDir)> = OnceLock::new();
    &ENGINE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let engine = TransformEngine::new(EngineOptions {
                cache_dir: Some(dir.path().to_path_buf()),
            })
            .unwrap();
            (engine, dir)
        })
        .0
}

fn hostile_module() -> Module {
    engine().load(&wasm::module("hostile")).unwrap()
}

fn column(name: &str, kind: Kind) -> Column {
    Column {
        name: name.to_owned(),
        kind,
        pg_type: String::new(),
    }
}

fn config(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn limits(timeout: Duration, memory_bytes: usize) -> Limits {
    Limits {
        batch_timeout: timeout,
        memory_bytes,
    }
}

/// The hostile guest in `mode` with one int input and output column `n` (and `at` if
/// given).
fn hostile(mode: &str, at: Option<i64>, limits: Limits) -> Transformer {
    let at = at.map(|at| at.to_string());
    let mut pairs = vec![("mode", mode)];
    if let Some(at) = &at {
        pairs.push(("at", at));
    }
    let schema = [column("n", Kind::Int)];
    hostile_module()
        .instantiate(&config(&pairs), &schema, &schema, limits)
        .unwrap()
}

/// `count` rows of partition 3 from offset 1000, each holding its offset.
fn rows(count: i64) -> Vec<Row> {
    (1000..1000 + count)
        .map(|offset| Row {
            partition: 3,
            offset,
            timestamp_ms: Some(1_700_000_000_000),
            key: None,
            values: vec![Value::Int(offset)],
        })
        .collect()
}

fn kept(rows: &[Row]) -> Vec<Outcome> {
    rows.iter()
        .map(|r| Outcome::Rows(vec![r.values.clone()]))
        .collect()
}

/// Asserts `result` is a trap at partition 3, `offset`, whose message contains `what`,
/// naming the module.
fn assert_trap(result: Result<Vec<Outcome>, TransformError>, offset: i64, what: &str) {
    let error = result.expect_err("the batch should trap");
    let text = error.to_string();
    match &error {
        TransformError::Trap {
            module,
            partition,
            offset: at,
            message,
        } => {
            assert_eq!(module, "hostile.wasm", "{text}");
            assert_eq!((*partition, *at), (3, offset), "{text}");
            assert!(message.contains(what), "{text}");
        }
        _ => panic!("not a trap: {text}"),
    }
    assert_eq!(error.row_at_fault(), Some((3, offset)));
    assert!(
        text.starts_with(&format!(
            "transform hostile.wasm: partition 3, offset {offset}: "
        )),
        "{text}"
    );
}

/// Runs `f` with a tracing subscriber that records every event; returns what it wrote.
fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (result, text)
}

#[test]
fn echo_round_trips_every_value_kind() {
    let schema = vec![
        column("b", Kind::Boolean),
        column("i", Kind::Int),
        column("f", Kind::Float),
        column("t", Kind::Text),
        column("y", Kind::Bytes),
        column("j", Kind::Json),
        column("ts", Kind::Timestamp),
        column("n", Kind::Numeric),
    ];
    let mut t = hostile_module()
        .instantiate(
            &config(&[("mode", "echo")]),
            &schema,
            &schema,
            Limits::default(),
        )
        .unwrap();
    let full = Row {
        partition: 0,
        offset: 1,
        timestamp_ms: Some(-5),
        key: Some(vec![0, 1, 2]),
        values: vec![
            Value::Boolean(true),
            Value::Int(i64::MIN),
            Value::Float(-1.5e300),
            Value::Text("héllo, wörld".to_owned()),
            Value::Bytes(vec![0, 255, 10]),
            Value::Json(r#"{"a":[1,2,{"b":null}]}"#.to_owned()),
            Value::Timestamp(1_700_000_000_123_456),
            Value::Numeric("-12.50".to_owned()),
        ],
    };
    let nulls = Row {
        offset: 2,
        timestamp_ms: None,
        key: None,
        values: vec![Value::Null; 8],
        ..full.clone()
    };
    let batch = [full, nulls];
    assert_eq!(t.run(&batch).unwrap(), kept(&batch));
    assert_eq!(t.run(&[]).unwrap(), vec![], "an empty batch");
}

#[test]
fn init_rejecting_the_config_names_the_module_and_message() {
    let schema = [column("n", Kind::Int)];
    let error = hostile_module()
        .instantiate(
            &config(&[("mode", "reject")]),
            &schema,
            &schema,
            Limits::default(),
        )
        .err()
        .expect("init rejects");
    assert!(
        matches!(&error, TransformError::Init { module, message }
            if module == "hostile.wasm" && message.starts_with("rejected: ")),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "transform hostile.wasm: init failed: rejected: mode = reject asks for it"
    );
}

#[test]
fn an_infinite_loop_is_cut_by_the_deadline_and_the_row_found() {
    let mut t = hostile("loop", Some(1042), limits(Duration::from_secs(1), 64 << 20));
    let batch = rows(100);
    assert_trap(t.run(&batch), 1042, "exceeded the 1s batch deadline");
    // The instance is rebuilt: the batch without that row goes through.
    let rest: Vec<Row> = batch.into_iter().filter(|r| r.offset != 1042).collect();
    assert_eq!(t.run(&rest).unwrap(), kept(&rest));
}

#[test]
fn a_loop_on_every_row_blames_the_first() {
    let mut t = hostile("loop", None, limits(Duration::from_secs(1), 64 << 20));
    assert_trap(t.run(&rows(100)), 1000, "exceeded the 1s batch deadline");
    // And a single row.
    assert_trap(t.run(&rows(1)), 1000, "exceeded the 1s batch deadline");
}

#[test]
fn memory_is_limited() {
    let mut t = hostile("memory", None, limits(Duration::from_secs(10), 32 << 20));
    assert_trap(t.run(&rows(10)), 1000, "ran out of memory (limit 32 MiB)");
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let mut t = hostile("recurse", None, Limits::default());
    assert_trap(t.run(&rows(3)), 1000, "stack overflow");
}

#[test]
fn a_panic_message_reaches_the_error_and_the_transformer_keeps_working() {
    let mut t = hostile("panic", Some(1005), Limits::default());
    let batch = rows(20);
    assert_trap(
        t.run(&batch),
        1005,
        "panicked: hostile guest panics on purpose at offset 1005",
    );
    // The next batch (after the row at fault) runs on the rebuilt instance.
    assert_eq!(t.run(&batch[6..]).unwrap(), kept(&batch[6..]));
    // The same row panics again, alone.
    assert_trap(
        t.run(&batch[5..6]),
        1005,
        "panics on purpose at offset 1005",
    );
}

#[test]
fn a_trap_no_row_causes_alone_is_a_batch_error() {
    let mut t = hostile("batch-panic", None, Limits::default());
    let error = t.run(&rows(5)).expect_err("the batch of 5 panics");
    assert!(
        matches!(&error, TransformError::Batch { module, .. } if module == "hostile.wasm"),
        "{error}"
    );
    assert_eq!(error.row_at_fault(), None);
    let text = error.to_string();
    assert!(
        text.starts_with(
            "transform hostile.wasm: panicked: hostile guest panics on a batch of 5 rows (at "
        ),
        "{text}"
    );
    assert!(
        text.ends_with(
            ") on the batch of 5 rows (partition 3, offset 1000 to partition 3, offset 1004), \
             but on no row alone"
        ),
        "{text}"
    );
    // Smaller batches go through.
    let batch = rows(3);
    assert_eq!(t.run(&batch).unwrap(), kept(&batch));
}

#[test]
fn too_few_values_is_a_row_error_naming_the_columns() {
    let schema = [column("a", Kind::Int), column("b", Kind::Text)];
    let mut t = hostile_module()
        .instantiate(
            &config(&[("mode", "arity")]),
            &schema,
            &schema,
            Limits::default(),
        )
        .unwrap();
    let row = Row {
        values: vec![Value::Int(1), Value::Text("x".to_owned())],
        ..rows(1).remove(0)
    };
    assert_eq!(
        t.run(&[row]).unwrap(),
        vec![Outcome::Error(
            "output row 1 has 1 value, the output has 2 columns (a, b)".to_owned()
        )]
    );
}

#[test]
fn a_value_of_the_wrong_kind_is_a_row_error_naming_the_column() {
    let mut schema = vec![column("label", Kind::Text), column("count", Kind::Int)];
    schema[1].pg_type = "bigint".to_owned();
    let mut t = hostile_module()
        .instantiate(
            &config(&[("mode", "types")]),
            &schema,
            &schema,
            Limits::default(),
        )
        .unwrap();
    assert_eq!(
        t.run(&rows(2)).unwrap(),
        vec![
            Outcome::Error(
                "output row 1: column count (bigint) cannot take a boolean value".to_owned()
            );
            2
        ]
    );
}

#[test]
fn not_one_outcome_per_row_is_a_batch_error() {
    let mut t = hostile("short", None, Limits::default());
    let error = t.run(&rows(4)).expect_err("3 outcomes for 4 rows");
    assert!(
        matches!(&error, TransformError::Batch { module, .. } if module == "hostile.wasm"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("returned 3 outcomes for a batch of 4 rows"),
        "{error}"
    );
}

#[test]
fn a_log_flood_is_bounded() {
    let mut t = hostile("log-flood", None, Limits::default());
    let batch = rows(3);
    let (outcomes, logs) = capture_logs(|| t.run(&batch).unwrap());
    assert_eq!(outcomes, kept(&batch));
    let forwarded = logs.matches("log flood message").count();
    assert_eq!(forwarded, 100, "at most 100 messages per batch:\n{logs}");
    assert!(logs.contains("log flood message 0"), "{logs}");
    assert!(
        logs.contains("Transform log messages over the per-batch limit dropped")
            && logs.contains("dropped_messages=9900"),
        "the rest is counted once:\n{logs}"
    );
    assert!(logs.contains("module=\"hostile.wasm\""), "{logs}");
}

#[test]
fn a_stdout_and_stderr_flood_is_bounded_and_does_not_trap() {
    let mut t = hostile("print", None, Limits::default());
    let batch = rows(2);
    let (outcomes, logs) = capture_logs(|| t.run(&batch).unwrap());
    assert_eq!(outcomes, kept(&batch));
    let stdout = logs.matches("stdout flood line").count();
    let stderr = logs.matches("stderr flood line").count();
    assert!(stdout > 0 && stderr > 0, "both streams reach the logs");
    // 10000 lines of ~100 bytes each; 64 KiB per stream forwarded.
    assert!(
        stdout < 1000 && stderr < 1000,
        "{stdout} and {stderr} lines"
    );
    assert!(logs.contains("Transform output over the per-batch limit dropped"));
}

#[test]
fn a_filesystem_import_is_refused_at_load() {
    let error = engine()
        .load(&wasm::module("fs-import"))
        .err()
        .expect("refused");
    match &error {
        TransformError::ForbiddenImport {
            module,
            import,
            all,
        } => {
            assert_eq!(module, "fs_import.wasm");
            assert!(import.starts_with("wasi:filesystem/"), "{error}");
            assert!(all.contains(import), "{error}");
        }
        _ => panic!("not a forbidden import: {error}"),
    }
    assert!(
        error
            .to_string()
            .starts_with("transform fs_import.wasm: imports wasi:filesystem/"),
        "{error}"
    );
}

#[test]
fn a_socket_import_is_refused_at_load() {
    let error = engine()
        .load(&wasm::module("socket-import"))
        .err()
        .expect("refused");
    match &error {
        TransformError::ForbiddenImport { module, all, .. } => {
            assert_eq!(module, "socket_import.wasm");
            // wasi-libc's sockets bring the filesystem interfaces along.
            assert!(
                all.iter().any(|i| i.starts_with("wasi:sockets/tcp@")),
                "{error}"
            );
        }
        _ => panic!("not a forbidden import: {error}"),
    }
    assert!(error.to_string().contains("wasi:sockets/tcp@"), "{error}");
}

#[test]
fn a_truncated_component_or_other_file_is_a_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let whole = fs::read(wasm::module("hostile")).unwrap();
    let truncated = dir.path().join("truncated.wasm");
    fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let text = dir.path().join("notes.wasm");
    fs::write(&text, "these are not the bytes you are looking for").unwrap();
    let missing = dir.path().join("missing.wasm");

    for (path, name, reason) in [
        (&truncated, "truncated.wasm", "not a valid component"),
        (&text, "notes.wasm", "not a WebAssembly file"),
        (&missing, "missing.wasm", "cannot read"),
    ] {
        let error = engine().load(path).err().expect("a load error");
        assert!(
            matches!(&error, TransformError::Load { module, reason: r }
                if module == name && r.contains(reason)),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .starts_with(&format!("transform {name}: cannot load it: ")),
            "{error}"
        );
    }
}

/// The cache files of a cache dir: `(artifact, checksum)`.
fn cache_files(dir: &Path) -> (PathBuf, PathBuf) {
    let mut artifacts: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    let artifact = artifacts.remove(0);
    let sum = PathBuf::from(format!("{}.sha256", artifact.display()));
    assert!(sum.is_file());
    (artifact, sum)
}

fn echo_works(module: &Module) {
    let schema = [column("n", Kind::Int)];
    let mut t = module
        .instantiate(
            &config(&[("mode", "echo")]),
            &schema,
            &schema,
            Limits::default(),
        )
        .unwrap();
    let batch = rows(3);
    assert_eq!(t.run(&batch).unwrap(), kept(&batch));
}

#[test]
fn a_second_engine_loads_from_the_cache_and_a_corrupt_cache_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let path = wasm::module("hostile");
    let new_engine = || {
        TransformEngine::new(EngineOptions {
            cache_dir: Some(dir.path().to_path_buf()),
        })
        .unwrap()
    };

    let first = new_engine().load(&path).unwrap();
    assert!(!first.from_cache(), "an empty cache");
    assert_eq!(first.name(), "hostile.wasm");
    let (artifact, _) = cache_files(dir.path());

    // A second engine, as a second process would.
    let (second, logs) = capture_logs(|| new_engine().load(&path).unwrap());
    assert!(second.from_cache());
    assert!(
        logs.contains("Transform module loaded from cache"),
        "{logs}"
    );
    assert!(!logs.contains("Transform module compiled"), "{logs}");
    echo_works(&second);

    // Flipped bytes in the middle of the artifact.
    let mut bytes = fs::read(&artifact).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xff;
    }
    fs::write(&artifact, &bytes).unwrap();
    let recompiled = new_engine().load(&path).unwrap();
    assert!(
        !recompiled.from_cache(),
        "a corrupt artifact is not trusted"
    );
    echo_works(&recompiled);
    assert!(new_engine().load(&path).unwrap().from_cache(), "rewritten");

    // A truncated artifact.
    let bytes = fs::read(&artifact).unwrap();
    fs::write(&artifact, &bytes[..bytes.len() / 3]).unwrap();
    let recompiled = new_engine().load(&path).unwrap();
    assert!(
        !recompiled.from_cache(),
        "a truncated artifact is not trusted"
    );
    echo_works(&recompiled);

    // A missing checksum.
    let (_, sum) = cache_files(dir.path());
    fs::remove_file(&sum).unwrap();
    assert!(!new_engine().load(&path).unwrap().from_cache());
    assert!(new_engine().load(&path).unwrap().from_cache());
}

#[test]
fn a_module_outlives_its_engine() {
    // The epoch ticker lives as long as any module or instance does: a deadline still
    // fires after the engine value is dropped.
    let engine = TransformEngine::new(EngineOptions::default()).unwrap();
    let module = engine.load(&wasm::module("hostile")).unwrap();
    assert!(!module.from_cache(), "no cache configured");
    drop(engine);
    let schema = [column("n", Kind::Int)];
    let mut t = module
        .instantiate(
            &config(&[("mode", "loop")]),
            &schema,
            &schema,
            limits(Duration::from_millis(200), 64 << 20),
        )
        .unwrap();
    drop(module);
    assert_trap(t.run(&rows(1)), 1000, "exceeded the 200ms batch deadline");
}

#[test]
fn an_output_larger_than_the_host_accepts_is_a_batch_error() {
    // 3 million empty rows: 60 MB in the guest's 64 MiB (36 MB of Rust vectors, 24 MB
    // lowered), 72 MB as host vectors, over the 64 MiB (the memory limit) the host accepts
    // from one call.
    let schema = [column("n", Kind::Int)];
    let mut t = hostile_module()
        .instantiate(
            &config(&[("mode", "big-output"), ("count", "3000000")]),
            &schema,
            &schema,
            limits(Duration::from_secs(30), 64 << 20),
        )
        .unwrap();
    let error = t.run(&rows(1)).expect_err("too much output");
    assert!(
        matches!(&error, TransformError::Batch { module, message }
            if module == "hostile.wasm" && message.contains("more output than the host accepts")),
        "{error}"
    );
    // A small output still goes through on the rebuilt instance.
    let mut t = hostile_module()
        .instantiate(
            &config(&[("mode", "big-output"), ("count", "2")]),
            &schema,
            &schema,
            Limits::default(),
        )
        .unwrap();
    assert_eq!(
        t.run(&rows(1)).unwrap(),
        vec![Outcome::Error(
            "output row 1 has 0 values, the output has 1 column (n)".to_owned()
        )]
    );
}

#[test]
fn the_example_transforms_pass_the_import_check() {
    for name in ["json-fields", "mask-pii", "filter-router"] {
        let module = engine()
            .load(&wasm::module(name))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(module.name(), format!("{}.wasm", name.replace('-', "_")));
    }
}
