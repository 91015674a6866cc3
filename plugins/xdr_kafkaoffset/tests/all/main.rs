//! Integration tests: a real `xdrive` (build it first: `cargo build -p xdrive`) with
//! `xdr_kafkaoffset` mounted as the seed shows, against the real broker of `tests/env/up`.

mod cli;
mod errors;
mod read;
mod ssl;
mod write;

use std::collections::BTreeMap;
use std::future::Future;
use std::process::Command;
use std::time::Duration;

use dgkafka_testkit::{XdriveServer, env, repo_root};
use xdrive::proto::page::Value;
use xdrive::proto::schema::{Column, Schema};
use xdrive::proto::spq::SpqType;
use xdrive::{Client, ReadSpec, WriteSpec};

/// The mount's name, as in the seed.
pub const MOUNT: &str = "kafkaoffset";

/// A deadline against hanging forever (not a performance threshold): every plugin call to
/// the brokers has a 10 s timeout, so a request ends well within it.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// Awaits `f`, failing the test if it hangs.
pub async fn within<T>(f: impl Future<Output = T>) -> T {
    dgkafka_testkit::within(PATIENCE, f).await
}

/// xdrive with `kafkaoffset` mounted: `xdr_kafkaoffset/xdr_kafkaoffset <args>`.
pub fn server_with(args: Vec<String>, env_entries: &[&str]) -> XdriveServer {
    XdriveServer::with_plugin(
        MOUNT,
        "xdr_kafkaoffset/xdr_kafkaoffset",
        env!("CARGO_BIN_EXE_xdr_kafkaoffset"),
        args,
        env_entries,
    )
}

/// xdrive with `kafkaoffset` mounted on the PLAINTEXT listener.
pub fn server() -> XdriveServer {
    server_with(vec![env().kafka_bootstrap.clone()], &[])
}

pub fn client(server: &XdriveServer) -> Client {
    Client::new(server.addr().ip().to_string(), server.addr().port())
}

/// The seed's table: `consumer_group text, topic text, partition_number integer,
/// committed_offset bigint, latest_offset bigint, ts timestamp`.
pub fn offset_schema() -> Schema {
    Schema::new(vec![
        Column::new("consumer_group", SpqType::Cstr),
        Column::new("topic", SpqType::Cstr),
        Column::new("partition_number", SpqType::Int32),
        Column::new("committed_offset", SpqType::Int64),
        Column::new("latest_offset", SpqType::Int64),
        Column::new("ts", SpqType::TimestampMicros),
    ])
    .unwrap()
}

/// One row of the offset table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub committed: i64,
    pub latest: i64,
    pub ts: i64,
}

/// Reads `spec` to the end.
pub async fn read_spec(client: &Client, spec: &ReadSpec) -> Result<Vec<Row>, xdrive::Error> {
    let mut stream = client.read(spec).await?;
    let mut rows = Vec::new();
    while let Some(page) = stream.next_page().await? {
        for r in 0..page.nrow() {
            let text = |c: usize| match page.column(c).get(r) {
                Some(Value::Text(s)) => s.to_owned(),
                other => panic!("column {c} is {other:?}"),
            };
            let int64 = |c: usize| match page.column(c).get(r) {
                Some(Value::Int64(v)) => v,
                other => panic!("column {c} is {other:?}"),
            };
            let Some(Value::Int32(partition)) = page.column(2).get(r) else {
                panic!("partition_number is not an int32");
            };
            let Some(Value::Timestamp(ts)) = page.column(5).get(r) else {
                panic!("ts is not a timestamp");
            };
            rows.push(Row {
                group: text(0),
                topic: text(1),
                partition,
                committed: int64(3),
                latest: int64(4),
                ts,
            });
        }
    }
    Ok(rows)
}

/// `SELECT * FROM kafkaoffset_r WHERE dg_utils.xdrive_query($$query$$)` as fragment
/// `frag` of `frags`.
pub async fn read_offsets(
    server: &XdriveServer,
    query: &str,
    frag: i32,
    frags: i32,
) -> Result<Vec<Row>, xdrive::Error> {
    let spec = ReadSpec::new(format!("/{MOUNT}/"), &offset_schema())
        .query(query)
        .fragment(frag, frags);
    within(read_spec(&client(server), &spec)).await
}

/// The plugin's message of a failed request.
pub fn errmsg(e: &xdrive::Error) -> String {
    e.errmsg()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("not an error reply: {e}"))
}

/// `INSERT INTO kafkaoffset_w VALUES (group, topic, partition, offset, latest, ts), ...`:
/// the seed's six columns, of which the plugin uses the first four.
pub async fn write_offsets(
    server: &XdriveServer,
    rows: &[(&str, &str, i32, i64)],
) -> Result<(), xdrive::Error> {
    within(async {
        let spec = WriteSpec::new(format!("/{MOUNT}/"), &offset_schema());
        let mut w = client(server).write(&spec).await?;
        let mut page = w.page_builder();
        for &(group, topic, partition, offset) in rows {
            page.push(Value::Text(group)).unwrap();
            page.push(Value::Text(topic)).unwrap();
            page.push(Value::Int32(partition)).unwrap();
            page.push(Value::Int64(offset)).unwrap();
            page.push_null().unwrap();
            page.push(Value::Timestamp(0)).unwrap();
            page.end_row().unwrap();
        }
        w.send_builder(&mut page).await?;
        w.finish().await.map(drop)
    })
    .await
}

/// A new topic with `counts[p]` messages in partition `p`.
pub fn topic_with_messages(prefix: &str, counts: &[usize]) -> String {
    let topic = dgkafka_testkit::unique_name(prefix);
    dgkafka_testkit::create_topic(&topic, i32::try_from(counts.len()).unwrap());
    for (p, &n) in counts.iter().enumerate() {
        if n > 0 {
            let lines: Vec<String> = (0..n).map(|i| format!("p{p}-m{i}")).collect();
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            dgkafka_testkit::kafka::kcat_produce_lines(&topic, i32::try_from(p).unwrap(), &refs);
        }
    }
    topic
}

/// `(topic, partition) → CURRENT-OFFSET` as the broker's own `kafka-consumer-groups
/// --describe` shows them (`-` when nothing is committed).
pub fn describe_group(group: &str) -> BTreeMap<(String, i32), String> {
    let output = Command::new(repo_root().join("tests/env/kafka-consumer-groups"))
        .args(["--bootstrap-server", &env().kafka_bootstrap])
        .args(["--describe", "--group", group])
        .output()
        .expect("run tests/env/kafka-consumer-groups");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kafka-consumer-groups --describe --group {group} failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f[..] {
                [g, topic, partition, current, ..] if g == group => Some((
                    (topic.to_owned(), partition.parse().ok()?),
                    current.to_owned(),
                )),
                _ => None,
            }
        })
        .collect()
}
