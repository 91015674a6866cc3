//! WebAssembly transforms run by the plugin (`--transforms-dir`, the `transform*` query
//! keys): the example transforms on json and csv topics, drops and splits with their
//! next offsets, the hostile guest's traps through a real read, and the refusals (paths,
//! imports, broken files, a mount without transforms).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use dgkafka_testkit::{create_topic, env, unique_name};
use xdrive::proto::spq::SpqType;

use crate::{
    Cell, by_kind, errmsg, positions, produce, read_rows, read_spec, schema, server, server_with,
    t, with_kinds,
};

/// A directory holding copies of the built modules (and a truncated one), shared by the
/// tests of this process, a file outside it, and the base of the tests' cache directories.
struct Modules {
    base: PathBuf,
    dir: PathBuf,
    outside: PathBuf,
}

fn modules() -> &'static Modules {
    static MODULES: OnceLock<Modules> = OnceLock::new();
    MODULES.get_or_init(|| {
        // `$TMPDIR/xk_transforms/<pid>`: what earlier test processes left is removed here.
        let root = std::env::temp_dir().join("xk_transforms");
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                let pid = entry.file_name().to_string_lossy().into_owned();
                if !Path::new("/proc").join(&pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let base = root.join(std::process::id().to_string());
        let dir = base.join("transforms");
        std::fs::create_dir_all(&dir).unwrap();
        for package in dgkafka_testkit::wasm::WASM_PACKAGES {
            let built = dgkafka_testkit::wasm::module(package);
            std::fs::copy(&built, dir.join(built.file_name().unwrap())).unwrap();
        }
        let hostile = std::fs::read(dir.join("hostile.wasm")).unwrap();
        std::fs::write(dir.join("truncated.wasm"), &hostile[..hostile.len() / 2]).unwrap();
        let outside = base.join("outside.wasm");
        std::fs::write(&outside, &hostile).unwrap();
        Modules { base, dir, outside }
    })
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// xdrive with `kafka` mounted with `--transforms-dir` and a cache of its own.
fn transform_server() -> dgkafka_testkit::XdriveServer {
    transform_server_with_cache(&modules().base.join(unique_name("cache")))
}

/// Like [`transform_server`], with the cache in `cache` and the plugin logging at info
/// (its `Transform loaded.` lines say whether the module came from the cache).
fn transform_server_with_cache(cache: &Path) -> dgkafka_testkit::XdriveServer {
    let m = modules();
    server_with(
        vec![
            "--transforms-dir".into(),
            arg(&m.dir),
            "--transform-cache-dir".into(),
            arg(cache),
            env().kafka_bootstrap.clone(),
        ],
        &["XDR_KAFKA_LOG=info"],
    )
}

/// Reads `topic`'s `columns` with the read query `query` (a [`query`] string).
async fn read_query(
    server: &dgkafka_testkit::XdriveServer,
    topic: &str,
    columns: &xdrive::proto::schema::Schema,
    query: &str,
) -> Result<Vec<Vec<Cell>>, xdrive::Error> {
    read_rows(server, &read_spec(topic, columns, query)).await
}

/// `group=g&start=0&format=F&transform=M&transform_config=...` plus `extra`.
fn query(format: &str, module: &str, config: &[(&str, &str)], extra: &str) -> String {
    let pairs: Vec<(String, String)> = config
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    format!(
        "group=g&start=0&format={format}&transform={module}&transform_config={}{extra}",
        formats::encode_transform_config(&pairs)
    )
}

/// A one-partition topic with `lines`.
fn topic_with(prefix: &str, lines: &[&str]) -> String {
    let topic = unique_name(prefix);
    create_topic(&topic, 1);
    let lines: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
    produce(&topic, 0, &lines);
    topic
}

#[tokio::test]
async fn json_fields_turns_json_messages_into_typed_columns() {
    let topic = topic_with(
        "xk_tjson",
        &[
            r#"{"customer_id": 77, "some_intfield": 7}"#,
            r#"{"customer_id": 1313131, "some_intfield": 12, "extra": "ignored"}"#,
            r#"{"customer_id": "42", "some_intfield": -3}"#,
        ],
    );
    let server = transform_server();
    let columns = schema(&[
        ("cust_id", SpqType::Int32),
        ("field2", SpqType::Numeric),
        ("j2", SpqType::Cstr),
        ("__kafka_offset", SpqType::Int64),
    ]);
    let config = [(
        "fields",
        "cust_id=customer_id, field2=some_intfield*0.075, j2=some_intfield",
    )];
    let rows = read_query(
        &server,
        &topic,
        &columns,
        &query("json", "json_fields.wasm", &config, ""),
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0][0], Cell::I32(77));
    assert_eq!(rows[0][2], t("7"));
    assert_eq!(rows[0][3], Cell::I64(0));
    let Cell::Text(field2) = &rows[0][1] else {
        panic!("numeric {:?}", rows[0][1]);
    };
    assert_eq!(field2.parse::<f64>().unwrap(), 0.525, "{field2}");
    assert_eq!(rows[1][0], Cell::I32(1_313_131));
    // A JSON string is text, parsed as the column's type.
    assert_eq!(rows[2][0], Cell::I32(42));
    assert_eq!(rows[2][2], t("-3"));
}

#[tokio::test]
async fn rejections_and_undecodable_messages_fail_the_read_naming_the_module_and_offset() {
    let topic = topic_with(
        "xk_trej",
        &[
            r#"{"customer_id": 1}"#,
            r#"{"other": 2}"#,
            r#"{"customer_id": "#,
            r#"{"customer_id": "x"}"#,
        ],
    );
    let server = transform_server();
    let columns = with_kinds(&[("customer_id", SpqType::Int32)]);
    let config = [("missing", "error")];
    let e = read_query(
        &server,
        &topic,
        &columns,
        &query("json", "json_fields.wasm", &config, ""),
    )
    .await
    .unwrap_err();
    let msg = errmsg(&e);
    assert!(
        msg.starts_with(&format!(
            "topic \"{topic}\": the transform json_fields.wasm rejected the message at \
             partition 0, offset 1: "
        )),
        "{msg}"
    );
    assert!(msg.contains("customer_id"), "{msg}");

    // With error_limit: the rejection, the invalid JSON (the module never sees it) and
    // the value that does not fit its column are error rows with the raw message.
    let rows = read_query(
        &server,
        &topic,
        &columns,
        &query("json", "json_fields.wasm", &config, "&error_limit=3"),
    )
    .await
    .unwrap();
    let [data, errors, pos] = by_kind(rows, 1);
    assert_eq!(data.len(), 1);
    assert_eq!(data[0][0], Cell::I32(1));
    let reasons: Vec<(Cell, String)> = errors
        .iter()
        .map(|r| match &r[5] {
            Cell::Text(s) => (r[3].clone(), s.clone()),
            other => panic!("reason {other:?}"),
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[0].0, Cell::I64(1));
    assert!(
        reasons[0].1.starts_with("transform json_fields.wasm: "),
        "{reasons:?}"
    );
    assert_eq!(reasons[1].0, Cell::I64(2));
    assert!(
        reasons[1].1.starts_with("the message is not valid JSON"),
        "{reasons:?}"
    );
    assert_eq!(reasons[2].0, Cell::I64(3));
    assert_eq!(
        reasons[2].1,
        "transform json_fields.wasm: column \"customer_id\": \"x\" is not a valid int4"
    );
    assert_eq!(errors[0][4], Cell::Bytes(br#"{"other": 2}"#.to_vec()));
    assert_eq!(positions(&pos, 1), [(0, 4)]);

    // Without error_limit, the invalid JSON fails the read as it does without a transform.
    let topic = topic_with("xk_trej2", &[r#"{"customer_id": 1}"#, "{"]);
    let e = read_query(
        &server,
        &topic,
        &columns,
        &query("json", "json_fields.wasm", &[], ""),
    )
    .await
    .unwrap_err();
    assert!(
        errmsg(&e).starts_with(&format!(
            "topic \"{topic}\": cannot decode the message at partition 0, offset 1: the \
             message is not valid JSON"
        )),
        "{e}"
    );
}

#[tokio::test]
async fn mask_pii_masks_csv_customer_rows() {
    let topic = topic_with(
        "xk_tmask",
        &[
            "1,Customer#000000001,\"IVhzIApeRb ot,c,E\",15,25-989-741-2988,711.56,BUILDING,\"to the even\"",
            "2,Customer#000000002,XSTf4,13,23-768-687-3665,121.65,AUTOMOBILE,",
        ],
    );
    let cache = modules().base.join(unique_name("mask_cache"));
    let server = transform_server_with_cache(&cache);
    let columns = schema(&[
        ("c_custkey", SpqType::Int32),
        ("c_name", SpqType::Cstr),
        ("c_address", SpqType::Cstr),
        ("c_nationkey", SpqType::Int32),
        ("c_phone", SpqType::Cstr),
        ("c_acctbal", SpqType::Numeric),
        ("c_mktsegment", SpqType::Cstr),
        ("c_comment", SpqType::Cstr),
    ]);
    let config = [("columns", "c_phone, c_address")];
    let spec = read_spec(
        &topic,
        &columns,
        &query("csv", "mask_pii.wasm", &config, ""),
    );
    let rows = read_rows(&server, &spec).await.unwrap();
    assert_eq!(
        rows,
        [
            vec![
                Cell::I32(1),
                t("Customer#000000001"),
                t("****"),
                Cell::I32(15),
                t("**-***-***-2988"),
                t("711.56"),
                t("BUILDING"),
                t("to the even"),
            ],
            vec![
                Cell::I32(2),
                t("Customer#000000002"),
                t("****"),
                Cell::I32(13),
                t("**-***-***-3665"),
                t("121.65"),
                t("AUTOMOBILE"),
                Cell::Null,
            ],
        ]
    );
    // The compiled module went to the cache directory...
    let cached = std::fs::read_dir(&cache).map(Iterator::count).unwrap_or(0);
    assert!(cached > 0, "nothing in {}", cache.display());
    // ...and the next read, another plugin process, loads it from there.
    let loads = |logs: &str, hit: bool| {
        let needle = format!("from_cache={hit}");
        logs.lines()
            .filter(|l| l.contains("Transform loaded.") && l.contains(&needle))
            .count()
    };
    let logs = server.stderr();
    assert_eq!(loads(&logs, false), 1, "the first read compiles:\n{logs}");
    assert_eq!(read_rows(&server, &spec).await.unwrap(), rows);
    let logs = server.stderr();
    assert_eq!(loads(&logs, false), 1, "no second compile:\n{logs}");
    assert_eq!(
        loads(&logs, true),
        1,
        "the second read hits the cache:\n{logs}"
    );
}

#[tokio::test]
async fn filter_router_drops_and_splits_and_next_offsets_still_advance() {
    let topic = topic_with(
        "xk_troute",
        &[
            r#"{"type": "order", "order_id": 17, "customer": "ada", "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-9", "qty": 1}]}"#,
            r#"{"type": "heartbeat"}"#,
            r#"{"type": "refund", "order_id": 12, "customer": "bob"}"#,
            r#"{"type": "order", "order_id": 18, "customer": "cy", "items": [{"sku": "C-3", "qty": 5}]}"#,
            r#"{"type": "order", "order_id": 19, "customer": "dee", "items": []}"#,
            r#"{"type": "heartbeat"}"#,
        ],
    );
    let server = transform_server();
    let columns = with_kinds(&[
        ("order_id", SpqType::Int64),
        ("sku", SpqType::Cstr),
        ("qty", SpqType::Int32),
        ("customer", SpqType::Cstr),
        ("__kafka_offset", SpqType::Int64),
    ]);
    let config = [("drop_types", "heartbeat")];
    let rows = read_query(
        &server,
        &topic,
        &columns,
        &query("json", "filter_router.wasm", &config, ""),
    )
    .await
    .unwrap();
    let [data, errors, pos] = by_kind(rows, 5);
    let data: Vec<Vec<Cell>> = data.into_iter().map(|r| r[..5].to_vec()).collect();
    assert_eq!(
        data,
        [
            vec![
                Cell::I64(17),
                t("A-1"),
                Cell::I32(2),
                t("ada"),
                Cell::I64(0)
            ],
            vec![
                Cell::I64(17),
                t("B-9"),
                Cell::I32(1),
                t("ada"),
                Cell::I64(0)
            ],
            vec![
                Cell::I64(12),
                Cell::Null,
                Cell::Null,
                t("bob"),
                Cell::I64(2)
            ],
            vec![Cell::I64(18), t("C-3"), Cell::I32(5), t("cy"), Cell::I64(3)],
        ]
    );
    assert!(errors.is_empty());
    // The dropped messages (1, 4 and the last, 5) still count as read.
    assert_eq!(positions(&pos, 5), [(0, 6)]);

    // `limit` counts messages, not rows: two messages give three rows (one dropped).
    let rows = read_query(
        &server,
        &topic,
        &columns,
        &query("json", "filter_router.wasm", &config, "&limit=2"),
    )
    .await
    .unwrap();
    let [data, _, pos] = by_kind(rows, 5);
    assert_eq!(data.len(), 2);
    assert_eq!(positions(&pos, 5), [(0, 2)]);
    // Resuming at 2 reads the rest.
    let q = query("json", "filter_router.wasm", &config, "").replace("start=0", "start=2");
    let rows = read_rows(&server, &read_spec(&topic, &columns, &q))
        .await
        .unwrap();
    let [data, _, pos] = by_kind(rows, 5);
    assert_eq!(data.len(), 2);
    assert_eq!(positions(&pos, 5), [(0, 6)]);
}

#[tokio::test]
async fn a_split_loads_all_its_rows_or_none() {
    let topic = topic_with(
        "xk_tsplit",
        &[
            r#"{"type": "order", "order_id": 1, "items": [{"qty": 2}, {"qty": "x"}]}"#,
            r#"{"type": "order", "order_id": 2, "items": [{"qty": 3}, {"qty": 4}]}"#,
        ],
    );
    let server = transform_server();
    let columns = with_kinds(&[("order_id", SpqType::Int64), ("qty", SpqType::Int32)]);
    let e = read_query(
        &server,
        &topic,
        &columns,
        &query("json", "filter_router.wasm", &[], ""),
    )
    .await
    .unwrap_err();
    assert_eq!(
        errmsg(&e),
        format!(
            "topic \"{topic}\": the transform filter_router.wasm returned a row that does not fit \
             for the message at partition 0, offset 0: column \"qty\": \"x\" is not a valid int4"
        )
    );
    let rows = read_query(
        &server,
        &topic,
        &columns,
        &query("json", "filter_router.wasm", &[], "&error_limit=1"),
    )
    .await
    .unwrap();
    let [data, errors, pos] = by_kind(rows, 2);
    let data: Vec<Vec<Cell>> = data.into_iter().map(|r| r[..2].to_vec()).collect();
    assert_eq!(
        data,
        [
            vec![Cell::I64(2), Cell::I32(3)],
            vec![Cell::I64(2), Cell::I32(4)]
        ]
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0][4], Cell::I64(0));
    assert_eq!(
        errors[0][6],
        t("transform filter_router.wasm: column \"qty\": \"x\" is not a valid int4")
    );
    assert_eq!(positions(&pos, 2), [(0, 2)]);
}

/// A one-partition topic of five binary messages `m0`..`m4`.
fn binary_topic() -> String {
    topic_with("xk_thostile", &["m0", "m1", "m2", "m3", "m4"])
}

fn value_column() -> xdrive::proto::schema::Schema {
    with_kinds(&[("value", SpqType::Bytea)])
}

/// Reads `topic` (binary, one `value bytea` column) through hostile.wasm with `config`,
/// plus the query keys `extra`.
async fn hostile_read(
    server: &dgkafka_testkit::XdriveServer,
    topic: &str,
    config: &[(&str, &str)],
    extra: &str,
) -> Result<Vec<Vec<Cell>>, xdrive::Error> {
    let q = query("binary", "hostile.wasm", config, extra);
    read_query(server, topic, &value_column(), &q).await
}

/// Asserts that the read failed on hostile.wasm's trap at `offset` of partition 0.
fn assert_trapped_at(e: &xdrive::Error, topic: &str, offset: i64) {
    let msg = errmsg(e);
    assert!(
        msg.starts_with(&format!(
            "topic \"{topic}\": transform hostile.wasm: partition 0, offset {offset}: "
        )),
        "{msg}"
    );
}

#[tokio::test]
async fn a_panicking_row_fails_the_read_or_becomes_an_error_row() {
    let topic = binary_topic();
    let server = transform_server();
    let config = [("mode", "panic"), ("at", "2")];
    let e = hostile_read(&server, &topic, &config, "")
        .await
        .unwrap_err();
    assert_trapped_at(&e, &topic, 2);

    let rows = hostile_read(&server, &topic, &config, "&error_limit=1")
        .await
        .unwrap();
    let [data, errors, pos] = by_kind(rows, 1);
    let values: Vec<Cell> = data.iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        values,
        ["m0", "m1", "m3", "m4"].map(|m| Cell::Bytes(m.as_bytes().to_vec()))
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0][3], Cell::I64(2));
    assert_eq!(errors[0][4], Cell::Bytes(b"m2".to_vec()));
    let Cell::Text(reason) = &errors[0][5] else {
        panic!("{:?}", errors[0]);
    };
    assert!(
        reason.starts_with("transform hostile.wasm: partition 0, offset 2: "),
        "{reason}"
    );
    assert_eq!(positions(&pos, 1), [(0, 5)]);

    // Past the error limit, the read fails.
    let config = [("mode", "panic")];
    let e = hostile_read(&server, &topic, &config, "&error_limit=1")
        .await
        .unwrap_err();
    assert!(
        errmsg(&e).starts_with(&format!(
            "topic \"{topic}\": more than error_limit=1 undecodable messages; the next one, at \
             partition 0, offset 1: transform hostile.wasm: partition 0, offset 1: "
        )),
        "{e}"
    );
}

/// The pids of processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(needle)
        {
            pids.push(pid);
        }
    }
    pids
}

#[tokio::test]
async fn an_endless_loop_hits_the_batch_deadline_and_the_plugin_exits() {
    let topic = binary_topic();
    // A cache directory of its own names this test's plugin processes.
    let cache = modules().base.join(unique_name("loop_cache"));
    let server = transform_server_with_cache(&cache);
    let config = [("mode", "loop"), ("at", "1")];
    let e = dgkafka_testkit::within(
        Duration::from_secs(60),
        hostile_read(&server, &topic, &config, "&transform_timeout_ms=300"),
    )
    .await
    .unwrap_err();
    assert_trapped_at(&e, &topic, 1);
    let needle = arg(&cache);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !processes_with(&needle).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the plugin is still running: {:?}",
            processes_with(&needle)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit() {
    let topic = binary_topic();
    let server = transform_server();
    let config = [("mode", "memory")];
    let e = hostile_read(&server, &topic, &config, "&transform_memory_mb=16")
        .await
        .unwrap_err();
    assert_trapped_at(&e, &topic, 0);
}

#[tokio::test]
async fn modules_that_cannot_be_used_are_refused_before_any_message() {
    let topic = binary_topic();
    let server = transform_server();
    let columns = value_column();
    let m = modules();
    let dir = arg(&m.dir);
    let fail = |module: String, config: Vec<(&'static str, &'static str)>| {
        let q = query("binary", &module, &config, "");
        let spec = read_spec(&topic, &columns, &q);
        let server = &server;
        async move { errmsg(&read_rows(server, &spec).await.unwrap_err()) }
    };
    let echo = vec![("mode", "echo")];

    let e = fail("fs_import.wasm".into(), echo.clone()).await;
    assert!(
        e.starts_with(&format!(
            "topic \"{topic}\": transform fs_import.wasm: imports wasi:filesystem"
        )),
        "{e}"
    );
    let e = fail("socket_import.wasm".into(), echo.clone()).await;
    assert!(
        e.starts_with(&format!(
            "topic \"{topic}\": transform socket_import.wasm: imports "
        )) && e.contains("wasi:sockets/"),
        "{e}"
    );
    let e = fail("../outside.wasm".into(), echo.clone()).await;
    assert_eq!(
        e,
        format!(
            "topic \"{topic}\": query key \"transform\": \"../outside.wasm\" has a \"..\" \
             component; modules are resolved only inside the mount's --transforms-dir \
             \"{dir}\""
        )
    );
    let outside = arg(&m.outside);
    let e = fail(outside.clone(), echo.clone()).await;
    assert!(
        e.contains(&format!(
            "query key \"transform\": \"{outside}\" is an absolute path"
        )),
        "{e}"
    );
    let e = fail("missing.wasm".into(), echo.clone()).await;
    assert!(
        e.contains("module \"missing.wasm\" not found in the mount's --transforms-dir"),
        "{e}"
    );
    let e = fail("truncated.wasm".into(), echo.clone()).await;
    assert!(
        e.starts_with(&format!(
            "topic \"{topic}\": transform truncated.wasm: cannot load it: "
        )),
        "{e}"
    );
    let e = fail("hostile.wasm".into(), vec![("mode", "reject")]).await;
    assert!(
        e.starts_with(&format!(
            "topic \"{topic}\": transform hostile.wasm: init failed: "
        )),
        "{e}"
    );
    assert!(e.contains("mode = reject"), "{e}");

    // The echo mode works with the same read: the refusals were the modules' fault.
    let rows = read_query(
        &server,
        &topic,
        &columns,
        &query("binary", "hostile.wasm", &echo, ""),
    )
    .await
    .unwrap();
    assert_eq!(by_kind(rows, 1)[0].len(), 5);
}

#[tokio::test]
async fn a_mount_without_transforms_dir_refuses_transforms() {
    let topic = binary_topic();
    let e = read_rows(
        &server(),
        &read_spec(
            &topic,
            &value_column(),
            &query("binary", "hostile.wasm", &[("mode", "echo")], ""),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        errmsg(&e),
        format!(
            "topic \"{topic}\": query key \"transform\" asks for module \"hostile.wasm\", but \
             this xdr_kafka mount runs no transforms: add \"--transforms-dir\", \"/DIR\" to the \
             mount's argv in xdrive.toml and put the module in DIR"
        )
    );
}
