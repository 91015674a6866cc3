//! `dgkafka load` end to end: the built binary against the real broker, a real `xdrive`
//! with `xdr_kafka` and `xdr_kafkaoffset` mounted as the seed shows, and the real
//! PostgreSQL. Needs `cargo build -p xdrive -p xdr_kafka -p xdr_kafkaoffset` first.

use std::path::Path;

use dgkafka_testkit::kafka::kcat_produce_lines;
use dgkafka_testkit::xdrive::{Mount, XdriveServer, workspace_binary};
use dgkafka_testkit::{create_topic, env, pg, unique_name};

use crate::{
    ConfigFile, Run, dgkafka, dgkafka_section_with_xdrive, recorded_offsets, write_config,
};

/// xdrive with the seed's two mounts, `kafka` and `kafkaoffset`.
pub(crate) fn xdrive() -> XdriveServer {
    let bootstrap = env().kafka_bootstrap.clone();
    XdriveServer::start(&[
        Mount::plugin(
            "kafka",
            "xdr_kafka/xdr_kafka",
            workspace_binary("xdr_kafka", "xdr_kafka"),
            [bootstrap.clone()],
        ),
        Mount::plugin(
            "kafkaoffset",
            "xdr_kafkaoffset/xdr_kafkaoffset",
            workspace_binary("xdr_kafkaoffset", "xdr_kafkaoffset"),
            [bootstrap],
        ),
    ])
}

/// One test's topic, group, tables, xdrive and config.
struct Fixture {
    topic: String,
    group: String,
    output: String,
    offsets: String,
    server: XdriveServer,
    config: ConfigFile,
    client: tokio_postgres::Client,
}

/// `input` is the `[kafka.input]` body after the common keys (format, columns),
/// `output` more `[kafka.output]` keys, `table` the output table's column list.
async fn fixture(partitions: i32, table: &str, input: &str, output: &str, max_row: i64) -> Fixture {
    let topic = unique_name("load");
    let group = unique_name("grp");
    let output_table = unique_name("out");
    let offsets = unique_name("offsets");
    create_topic(&topic, partitions);
    let client = pg::connect().await;
    client
        .batch_execute(&format!("CREATE TABLE {output_table} ({table})"))
        .await
        .unwrap();
    let server = xdrive();
    // Two readers (fragments) whenever there are two partitions or more.
    let nreader = partitions.min(2);
    let text = format!(
        r#"{}
[kafka.input]
consumer_group = "{group}"
topic = "{topic}"
partition_num = {partitions}
nreader = {nreader}
{input}

[kafka.output]
offset_table = "{offsets}"
output_table = "{output_table}"
{output}

[kafka.commit]
max_row = {max_row}
minimal_interval = -1
"#,
        dgkafka_section_with_xdrive(server.addr().port()),
    );
    let config = write_config(&text);
    let setup = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(setup.code, 0, "{setup:?}");
    Fixture {
        topic,
        group,
        output: output_table,
        offsets,
        server,
        config,
        client,
    }
}

pub(crate) const CSV_INPUT: &str = r#"format = "csv"
delimiter = "|"
[[kafka.input.columns]]
name = "id"
type = "integer"
[[kafka.input.columns]]
name = "name"
type = "varchar(25)"
[[kafka.input.columns]]
name = "comment"
type = "text"
ignored = true
[[kafka.input.columns]]
name = "balance"
type = "double precision""#;

const CSV_TABLE: &str = "id integer, name varchar(25), balance double precision";

impl Fixture {
    fn load(&self, flags: &[&str]) -> Run {
        let mut args = vec!["load"];
        args.extend_from_slice(flags);
        let run = dgkafka(&args, Some(&self.config.path));
        if run.code != 0 {
            eprintln!("xdrive log:\n{}", self.server.log());
        }
        run
    }

    /// Produces `id|name-<id>|comment|<id>.5` for each id to `partition`.
    fn produce_csv(&self, partition: i32, ids: std::ops::Range<i32>) {
        let lines: Vec<String> = ids.map(|i| format!("{i}|name-{i}|c{i}|{i}.5")).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        kcat_produce_lines(&self.topic, partition, &refs);
    }

    async fn ids(&self) -> Vec<i32> {
        self.client
            .query(&format!("SELECT id FROM {} ORDER BY id", self.output), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    /// The latest recorded next offset per partition.
    async fn recorded(&self) -> Vec<(i32, i64)> {
        recorded_offsets(&self.client, &self.offsets, &self.group, &self.topic).await
    }

    fn check(&self) -> Run {
        dgkafka(&["check"], Some(&self.config.path))
    }
}

fn table_after<'a>(stdout: &'a str, heading: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect()
}

fn config_path(f: &Fixture) -> &Path {
    &f.config.path
}

#[tokio::test]
async fn csv_loads_every_row_then_resumes_without_duplicates_and_mirrors_offsets() {
    let _services = crate::shared_services().await;
    let f = fixture(3, CSV_TABLE, CSV_INPUT, "", 7).await;
    f.produce_csv(0, 0..20);
    f.produce_csv(1, 20..25);
    f.produce_csv(2, 25..40);

    // The seed's single-dash flags, with -v.
    let first = f.load(&["-quit-at-eof", "-v"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("Loaded 40 rows"), "{first:?}");
    assert_eq!(f.ids().await, (0..40).collect::<Vec<_>>());
    let row = f
        .client
        .query_one(
            &format!("SELECT name, balance FROM {} WHERE id = 21", f.output),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "name-21");
    assert_eq!(row.get::<_, f64>(1), 21.5);
    assert_eq!(f.recorded().await, [(0, 20), (1, 5), (2, 15)]);
    // max_row = 7: partition 0's 20 rows took several batches, each with its own row.
    let batches: i64 = f
        .client
        .query_one(
            &format!(
                "SELECT count(*) FROM {} WHERE partition_number = 0",
                f.offsets
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(batches >= 3, "{batches} offset rows for partition 0");
    // A read request runs on across batches (xdr_kafka's checkpoints): still, no batch
    // holds more than max_row rows.
    let largest: i64 = f
        .client
        .query_one(
            &format!(
                "SELECT max(n)::int8 FROM (SELECT sum(nrows) AS n FROM {} GROUP BY batch_start) b",
                f.offsets
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(largest, 7, "the largest batch");

    // Resume: only the new messages are loaded.
    f.produce_csv(1, 40..50);
    f.produce_csv(2, 50..53);
    let second = f.load(&["--quit-at-eof"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(second.stdout.contains("Loaded 13 rows"), "{second:?}");
    assert_eq!(f.ids().await, (0..53).collect::<Vec<_>>());
    assert_eq!(f.recorded().await, [(0, 20), (1, 15), (2, 18)]);

    // Nothing new: nothing loaded.
    let third = f.load(&["-quit-at-eof"]);
    assert_eq!(third.code, 0, "{third:?}");
    assert!(third.stdout.contains("Loaded 0 rows"), "{third:?}");
    assert_eq!(f.ids().await.len(), 53);

    // check: both halves, the Kafka half showing the offsets the load committed.
    let check = f.check();
    assert_eq!(check.code, 0, "{check:?}");
    let recorded = table_after(&check.stdout, "[Last recorded offset]");
    assert_eq!(recorded.len(), 4, "{check:?}");
    assert!(
        recorded[2].starts_with(&format!("{}\t{}\t1\t15\t15\t", f.group, f.topic)),
        "{check:?}"
    );
    let kafka = table_after(&check.stdout, "[Offset from Kafka]");
    assert_eq!(
        kafka[0], "Group\tTopic\tPartition\tCommitted\tLatest\tTimestamp",
        "{check:?}"
    );
    let committed: Vec<String> = kafka[1..]
        .iter()
        .map(|l| l.split('\t').take(5).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        committed,
        [0, 1, 2].map(|p| {
            let n = [20, 15, 18][p];
            format!("{} {} {p} {n} {n}", f.group, f.topic)
        }),
        "{check:?}"
    );
    let json = dgkafka(&["check", "--json"], Some(config_path(&f)));
    assert_eq!(json.code, 0, "{json:?}");
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["offset_from_kafka"][2]["committed"], 18, "{json:?}");
    assert_eq!(value["offset_from_kafka_error"], serde_json::Value::Null);
}

#[tokio::test]
async fn json_loads_through_the_seeds_mappings() {
    let _services = crate::shared_services().await;
    let function = unique_name("udf_parse_json");
    let client = pg::connect().await;
    client
        .batch_execute(&format!(
            "CREATE OR REPLACE FUNCTION {function}(value json)
               RETURNS TABLE (x int, y text)
             LANGUAGE plpgsql AS $$
               BEGIN
                  RETURN query
                  SELECT ((value->>'customer_id')::int), ((value->>'some_intfield')::text);
               END $$;"
        ))
        .await
        .unwrap();
    let mappings = format!(
        r#"[[kafka.output.mappings]]
name = "cust_id"
key = "(jdata->>'customer_id')"
[[kafka.output.mappings]]
name = "field2"
key = "((jdata->>'some_intfield')::numeric * .075)::decimal"
[[kafka.output.mappings]]
name = "j1, j2"
key = "({function}(jdata)).*""#
    );
    let f = fixture(
        2,
        "cust_id int, field2 decimal(7,2), j1 int, j2 text",
        "format = \"json\"\n[[kafka.input.columns]]\nname = \"jdata\"\ntype = \"json\"",
        &mappings,
        1000,
    )
    .await;
    kcat_produce_lines(
        &f.topic,
        0,
        &[
            r#"{ "customer_id": 1313131, "some_intfield": 12 }"#,
            r#"{ "customer_id": 77, "some_intfield": 7 }"#,
        ],
    );
    kcat_produce_lines(
        &f.topic,
        1,
        &[r#"{ "customer_id": 1234, "some_intfield": 56 }"#],
    );
    let run = f.load(&["-quit-at-eof"]);
    assert_eq!(run.code, 0, "{run:?}");
    let rows: Vec<(i32, String, i32, String)> = f
        .client
        .query(
            &format!(
                "SELECT cust_id, field2::text, j1, j2 FROM {} ORDER BY cust_id",
                f.output
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        rows,
        [
            (77, "0.53".to_owned(), 77, "7".to_owned()),
            (1234, "4.20".to_owned(), 1234, "56".to_owned()),
            (1313131, "0.90".to_owned(), 1313131, "12".to_owned()),
        ]
    );
    client
        .batch_execute(&format!("DROP FUNCTION {function}(json)"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failing_mapping_is_named_and_loads_nothing() {
    let _services = crate::shared_services().await;
    let f = fixture(
        1,
        "cust_id int",
        "format = \"json\"",
        "[[kafka.output.mappings]]\nname = \"cust_id\"\nkey = \"(jdata->>'customer_id')\"",
        1000,
    )
    .await;
    kcat_produce_lines(
        &f.topic,
        0,
        &[r#"{"customer_id": 5}"#, r#"{"customer_id": "five"}"#],
    );
    let run = f.load(&["-quit-at-eof"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("kafka.output.mappings[0] (name = `cust_id`"),
        "{run:?}"
    );
    assert!(run.stderr.contains("five"), "{run:?}");
    assert!(f.ids_of("cust_id").await.is_empty());
    assert!(f.recorded().await.is_empty());
}

impl Fixture {
    async fn ids_of(&self, column: &str) -> Vec<i32> {
        self.client
            .query(&format!("SELECT {column} FROM {}", self.output), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}

#[tokio::test]
async fn binary_loads_into_bytea() {
    let _services = crate::shared_services().await;
    let f = fixture(1, "data bytea", "format = \"binary\"", "", 1000).await;
    kcat_produce_lines(&f.topic, 0, &["raw bytes \u{e9}", "second"]);
    let run = f.load(&["-quit-at-eof"]);
    assert_eq!(run.code, 0, "{run:?}");
    let values: Vec<Vec<u8>> = f
        .client
        .query(&format!("SELECT data FROM {} ORDER BY data", f.output), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(values, [b"raw bytes \xc3\xa9".to_vec(), b"second".to_vec()]);
}

#[tokio::test]
async fn force_reset_earliest_reloads_everything_and_latest_loads_nothing_old() {
    let _services = crate::shared_services().await;
    let f = fixture(2, CSV_TABLE, CSV_INPUT, "", 1000).await;
    f.produce_csv(0, 0..5);
    f.produce_csv(1, 5..8);
    let first = f.load(&["-quit-at-eof"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(f.ids().await, (0..8).collect::<Vec<_>>());

    let again = f.load(&["-quit-at-eof", "-force-reset-earliest"]);
    assert_eq!(again.code, 0, "{again:?}");
    let mut twice: Vec<i32> = (0..8).chain(0..8).collect();
    twice.sort();
    assert_eq!(f.ids().await, twice);

    f.produce_csv(0, 100..103);
    let latest = f.load(&["-quit-at-eof", "-force-reset-latest"]);
    assert_eq!(latest.code, 0, "{latest:?}");
    assert!(latest.stdout.contains("Loaded 0 rows"), "{latest:?}");
    assert_eq!(f.ids().await.len(), 16);
    assert_eq!(f.recorded().await, [(0, 8), (1, 3)]);

    // After the reset, only what comes next is loaded.
    f.produce_csv(1, 200..202);
    let next = f.load(&["-quit-at-eof"]);
    assert_eq!(next.code, 0, "{next:?}");
    let ids = f.ids().await;
    assert_eq!(ids.len(), 18);
    assert!(ids.contains(&200) && ids.contains(&201) && !ids.contains(&100));
}

#[tokio::test]
async fn quit_at_eof_on_an_empty_topic_exits_at_once() {
    let _services = crate::shared_services().await;
    let f = fixture(3, CSV_TABLE, CSV_INPUT, "", 1000).await;
    let run = f.load(&["-quit-at-eof"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Loaded 0 rows"), "{run:?}");
    assert!(f.ids().await.is_empty());
}

#[tokio::test]
async fn an_undecodable_message_without_an_error_table_fails_naming_partition_and_offset() {
    let _services = crate::shared_services().await;
    let f = fixture(2, CSV_TABLE, CSV_INPUT, "", 1000).await;
    f.produce_csv(0, 0..3);
    f.produce_csv(1, 3..4);
    kcat_produce_lines(&f.topic, 1, &["notanumber|x|y|1.0"]);
    let run = f.load(&["-quit-at-eof"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("partition 1, offset 1"), "{run:?}");
    assert!(run.stderr.contains("notanumber"), "{run:?}");
    // Partition 1's batch failed as a whole; nothing of it was recorded.
    assert!(!f.recorded().await.iter().any(|&(p, _)| p == 1));
    assert!(!f.ids().await.contains(&3));
}

#[tokio::test]
async fn with_an_error_table_bad_messages_are_stored_up_to_the_limit() {
    let _services = crate::shared_services().await;
    let errors = unique_name("errors");
    let f = fixture(
        1,
        CSV_TABLE,
        CSV_INPUT,
        &format!("error_table = \"{errors}\"\nerror_limit = 2"),
        1000,
    )
    .await;
    kcat_produce_lines(
        &f.topic,
        0,
        &["1|a|c|1.0", "bad|b|c|2.0", "3|c|c|3.0", "4|d|c|notafloat"],
    );
    let run = f.load(&["-quit-at-eof"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("Loaded 2 rows (2 row errors stored)"),
        "{run:?}"
    );
    assert_eq!(f.ids().await, [1, 3]);
    let stored: Vec<(String, i32, i64, Vec<u8>, String)> = f
        .client
        .query(
            &format!(
                "SELECT consumer_group, \"partition\", \"offset\", raw, reason FROM {errors} ORDER BY \"offset\""
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!((stored[0].1, stored[0].2), (0, 1));
    assert_eq!(stored[0].0, f.group);
    assert_eq!(stored[0].3, b"bad|b|c|2.0");
    assert!(stored[0].4.contains("bad"), "{stored:?}");
    assert_eq!((stored[1].1, stored[1].2), (0, 3));
    assert_eq!(f.recorded().await, [(0, 4)]);

    // Past the limit the load stops with the error, storing nothing of that batch.
    kcat_produce_lines(&f.topic, 0, &["x|a|c|1.0", "y|a|c|1.0", "z|a|c|1.0"]);
    let over = f.load(&["-quit-at-eof"]);
    assert_eq!(over.code, 1, "{over:?}");
    assert!(over.stderr.contains("error_limit=2"), "{over:?}");
    assert_eq!(f.recorded().await, [(0, 4)]);
}

#[tokio::test]
async fn the_default_mode_loads_until_sigterm_and_exits_cleanly() {
    let _services = crate::shared_services().await;
    let f = fixture(1, CSV_TABLE, CSV_INPUT, "", 1000).await;
    f.produce_csv(0, 0..5);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dgkafka"))
        .arg("load")
        .arg(&f.config.path)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    // Wait (bounded against hanging) until the first rows are in, then produce more.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while f.ids().await.len() < 5 {
        assert!(std::time::Instant::now() < deadline, "nothing loaded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    f.produce_csv(0, 5..9);
    while f.ids().await.len() < 9 {
        assert!(std::time::Instant::now() < deadline, "new rows not loaded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(f.ids().await, (0..9).collect::<Vec<_>>());
    assert_eq!(f.recorded().await, [(0, 9)]);
}

#[tokio::test]
async fn quit_at_eof_terminates_on_a_transactional_topic_and_skips_aborted_messages() {
    let _services = crate::shared_services().await;
    use rdkafka::ClientConfig;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    const TX_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

    let f = fixture(1, CSV_TABLE, CSV_INPUT, "", 1000).await;
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &env().kafka_bootstrap)
        .set("transactional.id", unique_name("load_txid"))
        .create()
        .unwrap();
    producer.init_transactions(TX_TIMEOUT).unwrap();
    let transaction = |ids: std::ops::Range<i32>, commit: bool| {
        producer.begin_transaction().unwrap();
        for i in ids {
            let value = format!("{i}|n|c|1.0");
            producer
                .send(
                    BaseRecord::<str, str>::to(&f.topic)
                        .payload(&value)
                        .partition(0),
                )
                .map_err(|(e, _)| e)
                .unwrap();
        }
        if commit {
            producer.commit_transaction(TX_TIMEOUT).unwrap();
        } else {
            producer.flush(TX_TIMEOUT).unwrap();
            producer.abort_transaction(TX_TIMEOUT).unwrap();
        }
    };
    // Offsets 0..=2, commit marker 3; aborted 4..=5, abort marker 6; 7..=8, marker 9.
    transaction(0..3, true);
    transaction(100..102, false);
    transaction(3..5, true);

    let run = f.load(&["-quit-at-eof"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(f.ids().await, [0, 1, 2, 3, 4]);
    // The next offset lies past the last commit marker: at the high watermark.
    assert_eq!(f.recorded().await, [(0, 10)]);
    let again = f.load(&["-quit-at-eof"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("Loaded 0 rows"), "{again:?}");
}

/// The local TCP ports of `pid`'s connections to the test PostgreSQL (`ss -tnp`).
fn pg_client_ports(pid: u32) -> Vec<i32> {
    let output = std::process::Command::new("ss")
        .args(["-tnp"])
        .output()
        .expect("run ss");
    let pg = format!(":{}", env().pg_port);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.contains(&format!("pid={pid},")))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let (local, peer) = (fields.get(3)?, fields.get(4)?);
            peer.ends_with(&pg)
                .then(|| local.rsplit(':').next()?.parse().ok())
                .flatten()
        })
        .collect()
}

#[tokio::test]
async fn the_default_mode_survives_a_lost_database_connection_without_duplicates() {
    let _services = crate::shared_services().await;
    let f = fixture(2, CSV_TABLE, CSV_INPUT, "", 1000).await;
    f.produce_csv(0, 0..5);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dgkafka"))
        .arg("load")
        .arg(&f.config.path)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while f.ids().await.len() < 5 {
        assert!(std::time::Instant::now() < deadline, "nothing loaded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Both readers' connections are cut by the server.
    let mut ports = pg_client_ports(child.id());
    while ports.len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "readers' connections: {ports:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        ports = pg_client_ports(child.id());
    }
    assert_eq!(ports.len(), 2, "one connection per reader: {ports:?}");
    let terminated: i64 = f
        .client
        .query_one(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE client_port = ANY($1)",
            &[&ports],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(terminated, 2);
    f.produce_csv(0, 5..8);
    f.produce_csv(1, 8..10);
    while f.ids().await.len() < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing loaded after the reconnect"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("retrying"), "{stderr}");
    assert_eq!(f.ids().await, (0..10).collect::<Vec<_>>());
    assert_eq!(f.recorded().await, [(0, 8), (1, 2)]);
}
