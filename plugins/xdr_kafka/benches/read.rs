//! xdr_kafka's read path against kcat.
//!
//! ROWS TPC-H `customer` messages ('|'-separated, the test kit's file) in a fresh
//! 3-partition topic, read to the end each round by
//!
//! * `kcat -C -e` (raw values to /dev/null): the baseline;
//! * one `dgkafka`-style reader through a real `xdrive` + `xdr_kafka`: an exact range
//!   (`start=-2,...&end=<high watermarks>`), every message decoded into 8 typed columns
//!   and received as SPQ pages by the client;
//! * two such readers in parallel (fragments 0 and 1 of 2), as `dgkafka load` runs them.
//!
//! Prints rows/s of each and the ratios to kcat, measured in the same run. Run by hand:
//!
//! ```sh
//! tests/env/up
//! cargo run --release -p dgkafka-testkit --bin tpch-customer -- --rows 1000000 \
//!     > $HOME/.cache/dgkafka-rs/bench/customer-1000000.tbl   # tests/bench/csv2kafka.sh makes it too
//! cargo build --release -p xdrive
//! cargo bench -p xdr_kafka --bench read               # -- --rows N --rounds R
//! ```
//!
//! `BENCH_X="key=value ..."` adds `-X` pairs to the mount.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dgkafka_testkit::{Mount, XdriveServer, create_topic, env, unique_name};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use xdrive::proto::message::CsvSpec;
use xdrive::proto::schema::{Column, Schema};
use xdrive::proto::spq::SpqType;
use xdrive::{Client, ReadSpec};

const PARTITIONS: i32 = 3;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} {v}: not a number"))
        })
}

fn customer() -> Schema {
    Schema::new(vec![
        Column::new("c_custkey", SpqType::Int64),
        Column::new("c_name", SpqType::Cstr),
        Column::new("c_address", SpqType::Cstr),
        Column::new("c_nationkey", SpqType::Int32),
        Column::new("c_phone", SpqType::Cstr),
        Column::new("c_acctbal", SpqType::Double),
        Column::new("c_mktsegment", SpqType::Cstr),
        Column::new("c_comment", SpqType::Cstr),
    ])
    .unwrap()
}

fn high_watermarks(topic: &str) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env().kafka_bootstrap)
        .create()
        .unwrap();
    (0..PARTITIONS)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .unwrap()
                .1
        })
        .collect()
}

/// Seconds `kcat -C -e` takes to read the topic to its end.
fn kcat_read(topic: &str) -> f64 {
    let t = Instant::now();
    let status = Command::new("kcat")
        .args(["-C", "-e", "-q", "-o", "beginning", "-f", "%s\n"])
        .args(["-b", &env().kafka_bootstrap, "-t", topic])
        .stdout(Stdio::null())
        .status()
        .expect("run kcat");
    assert!(status.success(), "kcat -C failed: {status}");
    t.elapsed().as_secs_f64()
}

/// Seconds `readers` parallel fragments take to read `[0, high)` of every partition;
/// checks they got `rows` rows.
async fn xdrive_read(
    server: &XdriveServer,
    topic: &str,
    high: &[i64],
    rows: u64,
    readers: i32,
) -> f64 {
    let end: Vec<String> = high.iter().map(i64::to_string).collect();
    let query = format!(
        "group=bench&start=-2,-2,-2&end={}&limit={rows}",
        end.join(",")
    );
    let t = Instant::now();
    let tasks: Vec<_> = (0..readers)
        .map(|frag| {
            let mut spec = ReadSpec::new(format!("/kafka/{topic}"), &customer())
                .query(query.clone())
                .format("csv")
                .fragment(frag, readers);
            spec.csv = Some(CsvSpec {
                delimiter: "|".into(),
                ..CsvSpec::default()
            });
            let client = Client::new(server.addr().ip().to_string(), server.addr().port());
            tokio::spawn(async move {
                let mut stream = client.read(&spec).await.expect("read");
                while stream.next_page().await.expect("page").is_some() {}
                stream.rows()
            })
        })
        .collect();
    let mut got = 0;
    for task in tasks {
        got += task.await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(got, rows, "rows read through xdrive");
    secs
}

#[tokio::main]
async fn main() {
    let rows = arg("--rows", 1_000_000);
    let rounds = arg("--rounds", 3);
    let data = env().home.join(format!("bench/customer-{rows}.tbl"));
    assert!(
        data.is_file(),
        "{} is missing: cargo run --release -p dgkafka-testkit --bin tpch-customer -- \
         --rows {rows} > {}",
        data.display(),
        data.display()
    );
    let topic = unique_name("bench_xdr_kafka");
    create_topic(&topic, PARTITIONS);
    eprintln!("bench: producing {rows} messages to {topic}");
    let status = Command::new("kcat")
        .args(["-P", "-l", "-b", &env().kafka_bootstrap, "-t", &topic])
        .arg(&data)
        .status()
        .expect("run kcat -P");
    assert!(status.success(), "kcat -P failed: {status}");
    let high = high_watermarks(&topic);
    assert_eq!(high.iter().sum::<i64>(), i64::try_from(rows).unwrap());

    // BENCH_X="k=v k=v": more -X pairs for the mount.
    let mut argv: Vec<String> = std::env::var("BENCH_X")
        .unwrap_or_default()
        .split_whitespace()
        .flat_map(|kv| ["-X".to_owned(), kv.to_owned()])
        .collect();
    argv.push(env().kafka_bootstrap.clone());
    let server = XdriveServer::start(&[Mount::plugin(
        "kafka",
        "xdr_kafka/xdr_kafka",
        env!("CARGO_BIN_EXE_xdr_kafka"),
        argv,
    )]);
    let (mut kcat, mut one, mut two) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate who goes first, so the page cache favours neither.
        if round % 2 == 0 {
            kcat.push(kcat_read(&topic));
            one.push(xdrive_read(&server, &topic, &high, rows, 1).await);
        } else {
            one.push(xdrive_read(&server, &topic, &high, rows, 1).await);
            kcat.push(kcat_read(&topic));
        }
        two.push(xdrive_read(&server, &topic, &high, rows, 2).await);
        eprintln!(
            "bench: round {round}: kcat {:.2}s, xdr_kafka 1 reader {:.2}s, 2 readers {:.2}s",
            kcat[kcat.len() - 1],
            one[one.len() - 1],
            two[two.len() - 1]
        );
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let rate = |secs: f64| rows as f64 / secs;
    let (k, o, t) = (best(&kcat), best(&one), best(&two));
    println!("{rows} customer messages, best of {rounds} rounds:");
    println!(
        "  kcat -C -e (raw values)          {:>12.0} rows/s",
        rate(k)
    );
    println!(
        "  xdrive + xdr_kafka, 1 reader     {:>12.0} rows/s  = {:.2}x kcat (typed pages)",
        rate(o),
        k / o
    );
    println!(
        "  xdrive + xdr_kafka, 2 readers    {:>12.0} rows/s  = {:.2}x kcat",
        rate(t),
        k / t
    );
}
