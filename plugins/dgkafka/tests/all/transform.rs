//! WebAssembly transforms (`[kafka.transform]`, issue #7), end to end:
//!
//! - `dgkafka transform test` — the built binary — on each example module's own sample
//!   (`transforms/<name>/sample.*`), on row errors and undecodable lines, and on modules
//!   that refuse their config or trap;
//! - `dgkafka load` through a real xdrive whose `xdr_kafka` mount has `--transforms-dir`
//!   (the example modules and the hostile test guest copied into it), the real broker and
//!   the real PostgreSQL: json-fields without SQL mappings and before mappings, mask-pii
//!   on csv rows, filter-router's drops and splits, a row error stored in the error
//!   table, a panicking module and an endless one.
//!
//! The modules are built by cargo for `wasm32-wasip2` (`dgkafka_testkit::wasm`); the
//! plugins need `cargo build -p xdrive -p xdr_kafka -p xdr_kafkaoffset` first.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use dgkafka_testkit::kafka::kcat_produce_lines;
use dgkafka_testkit::xdrive::{Mount, XdriveServer, workspace_binary};
use dgkafka_testkit::{create_topic, env, pg, repo_root, unique_name, wasm, within};

use crate::{
    ConfigFile, Run, dgkafka, dgkafka_section_with_xdrive, recorded_offsets, write_config,
};

/// A deadline against hanging, not a performance threshold.
const PATIENCE: Duration = Duration::from_secs(180);

/// The packages whose modules the tests use.
const MODULES: [&str; 4] = ["json-fields", "mask-pii", "filter-router", "hostile"];

/// The built component of `package`, e.g. `json_fields.wasm`.
fn module(package: &str) -> PathBuf {
    wasm::module(package)
}

fn module_file(package: &str) -> String {
    format!("{}.wasm", package.replace('-', "_"))
}

fn sample(package: &str, file: &str) -> PathBuf {
    repo_root().join("transforms").join(package).join(file)
}

/// `dgkafka transform test` with `args`.
fn transform_test(args: &[&str]) -> Run {
    let mut all = vec!["transform", "test"];
    all.extend_from_slice(args);
    dgkafka(&all, None)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The tab-separated lines of a `transform test` run, without the header and summary.
fn body(run: &Run) -> Vec<&str> {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines.len() >= 2, "{run:?}");
    lines[1..lines.len() - 1].to_vec()
}

fn summary(run: &Run) -> &str {
    run.stdout.lines().last().unwrap_or_default()
}

// ---- dgkafka transform test -----------------------------------------------------------

#[test]
fn transform_test_runs_json_fields_on_its_sample() {
    let wasm = module("json-fields");
    let run = transform_test(&[
        "--module",
        path_str(&wasm),
        "--input",
        path_str(&sample("json-fields", "sample.jsonl")),
        "--columns",
        "customer_id integer, field2 numeric(12,3), some_intfield text",
        "--config",
        "fields=field2=some_intfield*0.075",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout.lines().next(),
        Some("line\toffset\toutcome\tcustomer_id\tfield2\tsome_intfield"),
        "{run:?}"
    );
    let rows = body(&run);
    assert_eq!(rows.len(), 5, "{run:?}");
    // customer_id and the untouched key exactly; field2 as a number (the module's decimal
    // text, 12 * 0.075 = 0.9).
    let fields: Vec<Vec<&str>> = rows.iter().map(|l| l.split('\t').collect()).collect();
    let expected = [
        ("1", "0", "1313131", Some(0.9), "12"),
        ("2", "1", "77", Some(0.525), "7"),
        ("3", "2", "1234", Some(4.2), "56"),
        ("4", "3", "5", Some(-0.225), "-3"),
        ("5", "4", "6", None, "\\N"),
    ];
    for (got, (line, offset, id, field2, raw)) in fields.iter().zip(expected) {
        assert_eq!(got[..4], [line, offset, "row", id], "{run:?}");
        match field2 {
            Some(v) => {
                let parsed: f64 = got[4].parse().unwrap_or_else(|_| panic!("{run:?}"));
                assert!((parsed - v).abs() < 1e-9, "{run:?}");
            }
            None => assert_eq!(got[4], "\\N", "{run:?}"),
        }
        assert_eq!(got[5], raw, "{run:?}");
    }
    assert_eq!(
        summary(&run),
        "5 messages, 5 rows, 0 dropped, 0 errors",
        "{run:?}"
    );
}

#[test]
fn transform_test_runs_mask_pii_on_its_sample() {
    let wasm = module("mask-pii");
    let run = transform_test(&[
        "--module",
        path_str(&wasm),
        "--input",
        path_str(&sample("mask-pii", "sample.csv")),
        "--format",
        "csv",
        "--columns",
        "c_custkey integer, c_name text, c_address text, c_nationkey integer, \
         c_phone text, c_acctbal numeric(15,2), c_mktsegment text, c_comment text",
        "--config",
        "columns=c_phone, c_address",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let rows = body(&run);
    assert_eq!(rows.len(), 6, "{run:?}");
    assert_eq!(
        rows[0],
        "1\t0\trow\t1\tCustomer#000000001\t****\t15\t**-***-***-2988\t711.56\tBUILDING\t\
         to the even, regular platelets. regular, ironic epitaphs nag e",
        "{run:?}"
    );
    for row in &rows {
        let f: Vec<&str> = row.split('\t').collect();
        assert_eq!(f[5], "****", "address masked: {run:?}");
        assert!(
            f[7].starts_with("**-***-***-") && f[7].len() == 15,
            "phone masked: {run:?}"
        );
    }
    assert_eq!(
        summary(&run),
        "6 messages, 6 rows, 0 dropped, 0 errors",
        "{run:?}"
    );
}

#[test]
fn transform_test_runs_filter_router_on_its_sample() {
    let wasm = module("filter-router");
    let run = transform_test(&[
        "--module",
        path_str(&wasm),
        "--input",
        path_str(&sample("filter-router", "sample.jsonl")),
        "--columns",
        "order_id bigint, sku text, qty integer, customer text",
        "--config",
        "drop_types=heartbeat",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        body(&run),
        [
            "1\t0\trow\t17\tA-1\t2\tada",
            "1\t0\trow\t17\tB-9\t1\tada",
            "2\t1\tdrop",
            "3\t2\trow\t12\t\\N\t\\N\tbob",
            "4\t3\trow\t18\tC-3\t5\tcy",
            "4\t3\trow\t18\tA-1\t1\tcy",
            "5\t4\tdrop",
        ],
        "{run:?}"
    );
    assert_eq!(
        summary(&run),
        "5 messages, 5 rows, 2 dropped, 0 errors",
        "{run:?}"
    );
}

#[test]
fn transform_test_reports_row_errors_and_undecodable_lines_and_exits_0() {
    let wasm = module("json-fields");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("errors.jsonl");
    std::fs::write(
        &input,
        "{\"customer_id\": 1, \"some_intfield\": 2}\nnot json\n{\"customer_id\": 3}\n",
    )
    .unwrap();
    let run = transform_test(&[
        "--module",
        path_str(&wasm),
        "--input",
        path_str(&input),
        "--columns",
        "customer_id integer, some_intfield integer",
        "--config",
        "missing=error",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let rows = body(&run);
    assert_eq!(rows.len(), 3, "{run:?}");
    assert_eq!(rows[0], "1\t0\trow\t1\t2", "{run:?}");
    assert!(rows[1].starts_with("2\t1\terror\t"), "{run:?}");
    assert!(rows[1].contains("decode"), "{run:?}");
    assert!(rows[2].starts_with("3\t2\terror\t"), "{run:?}");
    assert!(rows[2].contains("some_intfield"), "{run:?}");
    assert_eq!(
        summary(&run),
        "3 messages, 1 rows, 0 dropped, 2 errors",
        "{run:?}"
    );
}

#[test]
fn transform_test_takes_module_columns_and_config_from_a_toml() {
    let wasm = module("json-fields");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&wasm, dir.path().join("json_fields.wasm")).unwrap();
    let toml = dir.path().join("dgkafka.toml");
    std::fs::write(
        &toml,
        r#"[dgkafka]
database = "d"
user = "u"
[kafka.input]
format = "json"
consumer_group = "g"
topic = "t"
partition_num = 1
[[kafka.input.columns]]
name = "cust_id"
type = "integer"
[[kafka.input.columns]]
name = "field2"
type = "numeric(7,2)"
[kafka.output]
offset_table = "o"
output_table = "t"
[kafka.transform]
module = "json_fields.wasm"
[kafka.transform.config]
fields = ["cust_id=customer_id", "field2=some_intfield*0.075"]
"#,
    )
    .unwrap();
    let run = transform_test(&[
        "--toml",
        path_str(&toml),
        "--transforms-dir",
        path_str(dir.path()),
        "--input",
        path_str(&sample("json-fields", "sample.jsonl")),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout.lines().next(),
        Some("line\toffset\toutcome\tcust_id\tfield2"),
        "{run:?}"
    );
    assert!(body(&run)[1].starts_with("2\t1\trow\t77\t0.5"), "{run:?}");
    assert_eq!(summary(&run), "5 messages, 5 rows, 0 dropped, 0 errors");
}

#[test]
fn transform_test_fails_clearly_when_the_module_refuses_or_traps() {
    let hostile = module("hostile");
    let input = sample("json-fields", "sample.jsonl");
    let reject = transform_test(&[
        "--module",
        path_str(&hostile),
        "--input",
        path_str(&input),
        "--config",
        "mode=reject",
    ]);
    assert_eq!(reject.code, 1, "{reject:?}");
    assert!(reject.stderr.contains("mode = reject"), "{reject:?}");
    assert!(reject.stderr.contains("hostile"), "{reject:?}");

    let panic = transform_test(&[
        "--module",
        path_str(&hostile),
        "--input",
        path_str(&input),
        "--config",
        "mode=panic",
        "--config",
        "at=3",
    ]);
    assert_eq!(panic.code, 1, "{panic:?}");
    assert!(panic.stderr.contains("hostile"), "{panic:?}");
    assert!(panic.stderr.contains("offset 3"), "{panic:?}");
    assert!(!panic.stdout.contains("messages,"), "no summary: {panic:?}");

    let missing = transform_test(&[
        "--module",
        "/nonexistent/m.wasm",
        "--input",
        path_str(&input),
    ]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing.stderr.contains("/nonexistent/m.wasm"),
        "{missing:?}"
    );
}

#[test]
fn transform_test_help_teaches_with_an_example() {
    let help = transform_test(&["--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    assert!(help.stdout.contains("Examples:"), "{help:?}");
    assert!(
        help.stdout
            .contains("dgkafka transform test --module json_fields.wasm --input sample.jsonl"),
        "{help:?}"
    );
}

// ---- dgkafka load through xdr_kafka --transforms-dir ----------------------------------

/// A transforms directory holding copies of the modules (a symbolic link out of it is
/// refused by the plugin).
fn transforms_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for package in MODULES {
        std::fs::copy(module(package), dir.path().join(module_file(package)))
            .expect("copy a module");
    }
    dir
}

/// xdrive with the seed's two mounts, `xdr_kafka` running transforms from `dir`.
fn xdrive_with_transforms(dir: &Path) -> XdriveServer {
    let bootstrap = env().kafka_bootstrap.clone();
    XdriveServer::start(&[
        Mount::plugin(
            "kafka",
            "xdr_kafka/xdr_kafka",
            workspace_binary("xdr_kafka", "xdr_kafka"),
            [
                "--transforms-dir".to_owned(),
                path_str(dir).to_owned(),
                bootstrap.clone(),
            ],
        ),
        Mount::plugin(
            "kafkaoffset",
            "xdr_kafkaoffset/xdr_kafkaoffset",
            workspace_binary("xdr_kafkaoffset", "xdr_kafkaoffset"),
            [bootstrap],
        ),
    ])
}

/// One test's topic (one partition unless said), tables, xdrive and config.
struct Fixture {
    topic: String,
    group: String,
    output: String,
    offsets: String,
    errors: String,
    server: XdriveServer,
    config: ConfigFile,
    client: tokio_postgres::Client,
    _transforms: tempfile::TempDir,
}

/// `input` is the `[kafka.input]` format and columns, `output` more `[kafka.output]`
/// keys (`{errors}` stands for the error table's name), `transform` the
/// `[kafka.transform]` section, `table` the output table's columns.
async fn fixture(
    partitions: i32,
    table: &str,
    input: &str,
    output: &str,
    transform: &str,
    max_row: i64,
) -> Fixture {
    let topic = unique_name("xform");
    let group = unique_name("grp");
    let output_table = unique_name("out");
    let offsets = unique_name("offsets");
    let errors = unique_name("errors");
    create_topic(&topic, partitions);
    let client = pg::connect().await;
    client
        .batch_execute(&format!("CREATE TABLE {output_table} ({table})"))
        .await
        .unwrap();
    let transforms = transforms_dir();
    let server = xdrive_with_transforms(transforms.path());
    let text = format!(
        r#"{}
[kafka.input]
consumer_group = "{group}"
topic = "{topic}"
partition_num = {partitions}
{input}

[kafka.output]
offset_table = "{offsets}"
output_table = "{output_table}"
{}

[kafka.commit]
max_row = {max_row}
minimal_interval = -1

{transform}
"#,
        dgkafka_section_with_xdrive(server.addr().port()),
        output.replace("{errors}", &errors),
    );
    let config = write_config(&text);
    let setup = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(setup.code, 0, "{setup:?}\n{text}");
    Fixture {
        topic,
        group,
        output: output_table,
        offsets,
        errors,
        server,
        config,
        client,
        _transforms: transforms,
    }
}

impl Fixture {
    /// `dgkafka load -quit-at-eof`, killed (and the test failed) if it hangs.
    async fn load(&self) -> Run {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_dgkafka"));
        command
            .args(["load", "-quit-at-eof"])
            .arg(&self.config.path)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let output = within(PATIENCE, command.output())
            .await
            .expect("running dgkafka");
        let run = Run {
            code: output.status.code().expect("dgkafka exited, not killed"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        if run.code != 0 {
            eprintln!("xdrive log:\n{}", self.server.log());
        }
        run
    }

    fn produce(&self, partition: i32, lines: &[&str]) {
        kcat_produce_lines(&self.topic, partition, lines);
    }

    /// `SELECT columns FROM output rest`.
    async fn rows(&self, columns: &str, rest: &str) -> Vec<tokio_postgres::Row> {
        self.client
            .query(
                &format!("SELECT {columns} FROM {} {rest}", self.output),
                &[],
            )
            .await
            .unwrap()
    }

    async fn count(&self, table: &str) -> i64 {
        self.client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0)
    }

    /// The latest recorded next offset per partition.
    async fn recorded(&self) -> Vec<(i32, i64)> {
        recorded_offsets(&self.client, &self.offsets, &self.group, &self.topic).await
    }
}

/// The seed's JSON messages (`{"customer_id": ..., "some_intfield": ...}`).
fn seed_json(ids: std::ops::Range<i32>) -> Vec<String> {
    ids.map(|i| format!(r#"{{"customer_id": {i}, "some_intfield": {}}}"#, i * 10 + 7))
        .collect()
}

fn refs(lines: &[String]) -> Vec<&str> {
    lines.iter().map(String::as_str).collect()
}

const JSON_FIELDS_INPUT: &str = r#"format = "json"
[[kafka.input.columns]]
name = "cust_id"
type = "integer"
[[kafka.input.columns]]
name = "field2"
type = "numeric(7,2)"
[[kafka.input.columns]]
name = "j2"
type = "text""#;

const JSON_FIELDS_TRANSFORM: &str = r#"[kafka.transform]
module = "json_fields.wasm"
[kafka.transform.config]
fields = "cust_id=customer_id, field2=some_intfield*0.075, j2=some_intfield""#;

#[tokio::test]
async fn json_fields_loads_typed_columns_without_sql_mappings() {
    let _services = crate::shared_services().await;
    let f = fixture(
        1,
        "cust_id int, field2 decimal(7,2), j2 text",
        JSON_FIELDS_INPUT,
        "",
        JSON_FIELDS_TRANSFORM,
        7,
    )
    .await;
    f.produce(0, &refs(&seed_json(0..30)));
    let run = f.load().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Loaded 30 rows"), "{run:?}");
    let rows: Vec<(i32, String, String)> = f
        .rows("cust_id, field2::text, j2", "ORDER BY cust_id")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expected: Vec<(i32, String, String)> = (0..30)
        .map(|i| {
            let raw = i * 10 + 7;
            // numeric(7,2) rounds half away from zero, as PostgreSQL does.
            let cents = (i64::from(raw) * 75 + 5) / 10;
            (
                i,
                format!("{}.{:02}", cents / 100, cents % 100),
                raw.to_string(),
            )
        })
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(f.recorded().await, [(0, 30)]);
}

#[tokio::test]
async fn mappings_still_apply_after_a_transform() {
    let _services = crate::shared_services().await;
    let mappings = r#"[[kafka.output.mappings]]
name = "cust_id"
key = "cust_id"
[[kafka.output.mappings]]
name = "doubled"
key = "cust_id * 2"
[[kafka.output.mappings]]
name = "field2"
key = "field2 + 1""#;
    let f = fixture(
        1,
        "cust_id int, doubled int, field2 decimal(7,2)",
        JSON_FIELDS_INPUT,
        mappings,
        JSON_FIELDS_TRANSFORM,
        1000,
    )
    .await;
    f.produce(0, &refs(&seed_json(1..4)));
    let run = f.load().await;
    assert_eq!(run.code, 0, "{run:?}");
    let rows: Vec<(i32, i32, String)> = f
        .rows("cust_id, doubled, field2::text", "ORDER BY cust_id")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // some_intfield 17, 27, 37 * 0.075 = 1.275, 2.025, 2.775 -> numeric(7,2) in staging
    // (1.28, 2.03, 2.78), + 1.
    assert_eq!(
        rows,
        [
            (1, 2, "2.28".to_owned()),
            (2, 4, "3.03".to_owned()),
            (3, 6, "3.78".to_owned())
        ]
    );
}

const CUSTOMER_INPUT: &str = r#"format = "csv"
delimiter = "|"
[[kafka.input.columns]]
name = "c_custkey"
type = "integer"
[[kafka.input.columns]]
name = "c_name"
type = "varchar(25)"
[[kafka.input.columns]]
name = "c_address"
type = "varchar(40)"
[[kafka.input.columns]]
name = "c_phone"
type = "varchar(15)"
[[kafka.input.columns]]
name = "c_acctbal"
type = "double precision""#;

#[tokio::test]
async fn mask_pii_masks_phones_and_addresses_of_csv_rows() {
    let _services = crate::shared_services().await;
    let f = fixture(
        1,
        "c_custkey int, c_name varchar(25), c_address varchar(40), c_phone varchar(15), \
         c_acctbal double precision",
        CUSTOMER_INPUT,
        "",
        "[kafka.transform]\nmodule = \"mask_pii.wasm\"\n[kafka.transform.config]\n\
         columns = [\"c_phone\", \"c_address:mask\"]\nkeep_digits = 2",
        4,
    )
    .await;
    let lines: Vec<String> = (1..=10)
        .map(|i| {
            format!(
                "{i}|Customer#{i:09}|{i} Main Street, apt {i}|25-989-741-{:04}|{i}.5",
                1000 + i
            )
        })
        .collect();
    f.produce(0, &refs(&lines));
    let run = f.load().await;
    assert_eq!(run.code, 0, "{run:?}");
    let rows: Vec<(i32, String, String, String, f64)> = f
        .rows(
            "c_custkey, c_name, c_address, c_phone, c_acctbal",
            "ORDER BY c_custkey",
        )
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let expected: Vec<(i32, String, String, String, f64)> = (1..=10)
        .map(|i| {
            let last2 = (1000 + i) % 100;
            (
                i,
                format!("Customer#{i:09}"),
                "****".to_owned(),
                format!("**-***-***-**{last2:02}"),
                f64::from(i) + 0.5,
            )
        })
        .collect();
    assert_eq!(rows, expected);
    // Nothing of the originals reached the table.
    let leaked = f
        .rows(
            "count(*)",
            "WHERE c_address LIKE '%Main%' OR c_phone LIKE '%989%'",
        )
        .await[0]
        .get::<_, i64>(0);
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn filter_router_drops_and_splits_and_records_offsets_past_dropped_rows() {
    let _services = crate::shared_services().await;
    let f = fixture(
        1,
        "order_id bigint, sku text, qty int, customer text",
        "format = \"json\"\n[[kafka.input.columns]]\nname = \"order_id\"\ntype = \"bigint\"\n\
         [[kafka.input.columns]]\nname = \"sku\"\ntype = \"text\"\n\
         [[kafka.input.columns]]\nname = \"qty\"\ntype = \"integer\"\n\
         [[kafka.input.columns]]\nname = \"customer\"\ntype = \"text\"",
        "",
        "[kafka.transform]\nmodule = \"filter_router.wasm\"\n[kafka.transform.config]\n\
         drop_types = \"heartbeat\"",
        3,
    )
    .await;
    f.produce(
        0,
        &[
            r#"{"type": "order", "order_id": 17, "customer": "ada", "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-9", "qty": 1}]}"#,
            r#"{"type": "heartbeat"}"#,
            r#"{"type": "refund", "order_id": 12, "customer": "bob"}"#,
            r#"{"type": "heartbeat"}"#,
            r#"{"type": "order", "order_id": 18, "customer": "cy", "items": [{"sku": "C-3", "qty": 5}, {"sku": "A-1", "qty": 1}, {"sku": "D-4", "qty": 9}]}"#,
            r#"{"type": "order", "order_id": 19, "customer": "dee", "items": []}"#,
            // The last messages are all dropped: the offsets must still move past them.
            r#"{"type": "heartbeat"}"#,
            r#"{"type": "heartbeat"}"#,
        ],
    );
    let run = f.load().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Loaded 6 rows"), "{run:?}");
    let rows: Vec<(i64, Option<String>, Option<i32>, String)> = f
        .rows("order_id, sku, qty, customer", "ORDER BY order_id, sku")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let row = |id, sku: Option<&str>, qty, c: &str| (id, sku.map(str::to_owned), qty, c.to_owned());
    assert_eq!(
        rows,
        [
            row(12, None, None, "bob"),
            row(17, Some("A-1"), Some(2), "ada"),
            row(17, Some("B-9"), Some(1), "ada"),
            row(18, Some("A-1"), Some(1), "cy"),
            row(18, Some("C-3"), Some(5), "cy"),
            row(18, Some("D-4"), Some(9), "cy"),
        ]
    );
    assert_eq!(f.recorded().await, [(0, 8)]);
    // Nothing new: the next load reads nothing and exits.
    let again = f.load().await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("Loaded 0 rows"), "{again:?}");
}

#[tokio::test]
async fn a_transform_row_error_lands_in_the_error_table() {
    let _services = crate::shared_services().await;
    let f = fixture(
        1,
        "cust_id int, field2 decimal(7,2), j2 text",
        JSON_FIELDS_INPUT,
        "error_table = \"{errors}\"\nerror_limit = 5",
        &format!("{JSON_FIELDS_TRANSFORM}\nmissing = \"error\""),
        1000,
    )
    .await;
    f.produce(
        0,
        &[
            r#"{"customer_id": 1, "some_intfield": 10}"#,
            r#"{"customer_id": 2}"#,
            r#"{"customer_id": 3, "some_intfield": 30}"#,
        ],
    );
    let run = f.load().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("Loaded 2 rows (1 row errors stored)"),
        "{run:?}"
    );
    let ids: Vec<i32> = f
        .rows("cust_id", "ORDER BY cust_id")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, [1, 3]);
    let errors = f
        .client
        .query(
            &format!(
                "SELECT consumer_group, topic, partition, \"offset\", raw, reason FROM {}",
                f.errors
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert_eq!(e.get::<_, String>(0), f.group);
    assert_eq!(e.get::<_, String>(1), f.topic);
    assert_eq!((e.get::<_, i32>(2), e.get::<_, i64>(3)), (0, 1));
    assert_eq!(
        e.get::<_, Option<Vec<u8>>>(4).as_deref(),
        Some(br#"{"customer_id": 2}"#.as_slice())
    );
    let reason: String = e.get(5);
    assert!(reason.contains("some_intfield"), "{reason}");
    assert_eq!(f.recorded().await, [(0, 3)]);
}

#[tokio::test]
async fn a_panicking_module_fails_the_load_naming_module_partition_and_offset() {
    let _services = crate::shared_services().await;
    let f = fixture(
        1,
        "jdata json",
        "format = \"json\"",
        "",
        "[kafka.transform]\nmodule = \"hostile.wasm\"\n[kafka.transform.config]\n\
         mode = \"panic\"\nat = 15",
        10,
    )
    .await;
    f.produce(0, &refs(&seed_json(0..25)));
    let run = f.load().await;
    assert_eq!(run.code, 1, "{run:?}");
    let err = &run.stderr;
    assert!(err.contains("hostile"), "names the module: {run:?}");
    assert!(err.contains("partition 0"), "names the partition: {run:?}");
    assert!(err.contains("offset 15"), "names the offset: {run:?}");
    // The batch before is committed whole; the failing batch [10, 20) left nothing.
    assert_eq!(f.count(&f.output).await, 10);
    let ids: Vec<i32> = f
        .rows("(jdata->>'customer_id')::int AS id", "ORDER BY id")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, (0..10).collect::<Vec<_>>());
    assert_eq!(f.recorded().await, [(0, 10)]);
}

#[tokio::test]
async fn an_endless_module_fails_at_its_batch_timeout_instead_of_hanging() {
    let _services = crate::shared_services().await;
    let f = fixture(
        1,
        "jdata json",
        "format = \"json\"",
        "",
        "[kafka.transform]\nmodule = \"hostile.wasm\"\nbatch_timeout_ms = 300\n\
         [kafka.transform.config]\nmode = \"loop\"\nat = 3",
        10,
    )
    .await;
    f.produce(0, &refs(&seed_json(0..5)));
    let started = std::time::Instant::now();
    let run = f.load().await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("hostile"), "names the module: {run:?}");
    assert!(run.stderr.contains("offset 3"), "names the offset: {run:?}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(f.count(&f.output).await, 0);
    assert!(f.recorded().await.is_empty());
}
