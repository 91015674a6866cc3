//! Exactly once under failure: a default-mode `dgkafka load` of 200k csv messages (3
//! partitions, 2 readers, many batches) is SIGKILLed at random points again and again and
//! restarted each time, its `xdr_kafka` plugin is killed mid-batch, and PostgreSQL and the
//! broker are restarted while it runs; a final `-quit-at-eof` load must leave every message
//! in the output table exactly once.
//!
//! The random delays come from a seeded generator; the seed is printed, and
//! `DGKAFKA_CHAOS_SEED=<seed>` replays its delays and the order of events. Whether a kill
//! landed inside a transaction is read from `pg_stat_activity` while the loader is stopped
//! (SIGSTOP), just before the SIGKILL: a loader backend inside a batch's transaction that
//! is not executing its `COMMIT` never gets one, so the kill rolls it back. Every other
//! kill is aimed: a trigger on the offset table takes a shared advisory lock; the test
//! holds that lock, waits until a batch that has copied its rows waits for it, and kills
//! the loader there.
//!
//! The default mode never exits by itself: lost connections, the broker restart included,
//! are retried. This test restarts the shared services, so it takes
//! [`crate::exclusive_services`]; the other tests of this binary wait for it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::load::{CSV_INPUT, xdrive};
use dgkafka_testkit::{create_topic, env, pg, repo_root, unique_name};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::{ConfigFile, dgkafka_section_with_xdrive, write_config};

const MESSAGES: i32 = 200_000;
const PARTITIONS: i32 = 3;
const MAX_ROW: i64 = 2000;
/// Messages produced before the loader starts; the rest follow at [`PACE`] per
/// [`PACE_EVERY`] (about 36 s for all, longer than the disruptions usually take).
const FIRST_MESSAGES: i32 = 20_000;
const PACE: i32 = 1000;
const PACE_EVERY: Duration = Duration::from_millis(200);
/// SIGKILLs of the loader during the run (one more ends it before the final load).
const LOADER_KILLS: usize = 22;
/// A deadline against hanging, not a threshold.
const PATIENCE: Duration = Duration::from_secs(240);

/// splitmix64: a small seeded generator, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.below(high - low))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    KillLoader,
    KillPlugin,
    RestartPostgres,
    RestartBroker,
}

fn config(topic: &str, group: &str, output: &str, offsets: &str, port: u16) -> ConfigFile {
    write_config(&format!(
        r#"{}
[kafka.input]
consumer_group = "{group}"
topic = "{topic}"
partition_num = {PARTITIONS}
nreader = 2
{CSV_INPUT}

[kafka.output]
offset_table = "{offsets}"
output_table = "{output}"

[kafka.commit]
max_row = {MAX_ROW}
minimal_interval = -1
"#,
        dgkafka_section_with_xdrive(port),
    ))
}

/// Messages `id|name-<id>|c|<id>.5` for ids 1..=MESSAGES, id `i` to partition `i % 3`:
/// [`FIRST_MESSAGES`] at once, then [`PACE`] messages every [`PACE_EVERY`] on a thread of
/// its own, so that there is data to load while the disruptions happen (a load runs far
/// faster than they do), and the rest at once when `hurry` turns true. The producer is
/// idempotent: the broker restart duplicates nothing. Returns when all are in the topic.
fn produce(topic: String, hurry: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &env().kafka_bootstrap)
        .set("linger.ms", "20")
        .set("enable.idempotence", "true")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .expect("a producer");
    let send = move |id: i32| {
        let payload = format!("{id}|name-{id}|c|{id}.5");
        loop {
            let record = BaseRecord::<str, str>::to(&topic)
                .payload(&payload)
                .partition(id % PARTITIONS);
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => panic!("producing message {id}: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
        (id == MESSAGES).then(|| {
            producer
                .flush(Duration::from_secs(120))
                .expect("flushing the producer")
        });
    };
    std::thread::spawn(move || {
        for id in 1..=MESSAGES {
            if id > FIRST_MESSAGES && id % PACE == 0 && !hurry.load(Ordering::Relaxed) {
                std::thread::sleep(PACE_EVERY);
            }
            send(id);
        }
    })
}

/// Checks that the topic holds every message once, once the producer is done.
fn assert_produced(topic: &str) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env().kafka_bootstrap)
        .create()
        .expect("a consumer");
    for p in 0..PARTITIONS {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(30))
            .expect("watermarks");
        assert_eq!((low, high), (0, partition_size(p)), "partition {p}");
    }
}

/// How many of the ids 1..=MESSAGES go to `partition`.
fn partition_size(partition: i32) -> i64 {
    (1..=MESSAGES)
        .filter(|i| i % PARTITIONS == partition)
        .count() as i64
}

/// A running `dgkafka load` with `flags`, its stderr appended to `log`.
fn start_loader(flags: &[&str], config: &Path, log: &Path) -> Child {
    let stderr = File::options()
        .create(true)
        .append(true)
        .open(log)
        .expect("the loader's log");
    Command::new(env!("CARGO_BIN_EXE_dgkafka"))
        .arg("load")
        .args(flags)
        .arg(config)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("starting dgkafka load")
}

fn signal(pid: u32, name: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .expect("run kill")
        .success()
}

/// The local TCP ports of `pid`'s connections to the test PostgreSQL (`ss -tnp`).
fn pg_client_ports(pid: u32) -> Vec<i32> {
    let output = Command::new("ss").args(["-tnp"]).output().expect("run ss");
    let pg = format!(":{}", env().pg_port);
    let owner = format!("pid={pid},");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.contains(&owner))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let (local, peer) = (fields.get(3)?, fields.get(4)?);
            peer.ends_with(&pg)
                .then(|| local.rsplit(':').next()?.parse().ok())
                .flatten()
        })
        .collect()
}

/// What a loader SIGKILL interrupted.
#[derive(Debug, Default, Clone, Copy)]
struct Landing {
    /// Whether the kill waited for a batch at the gate.
    aimed: bool,
    /// Loader backends inside a batch's transaction (idle in it, in its COPY, or with rows
    /// written) and not at its `COMMIT`: the client never sends the `COMMIT`, so the kill
    /// rolls the transaction back.
    open: usize,
    /// Of those, with a transaction id (rows written in the transaction).
    writing: usize,
    /// Loader backends executing their `COMMIT`.
    committing: usize,
}

/// Stops the loader, reads its backends' transactions, then SIGKILLs it.
async fn kill_loader(loader: &mut Child, client: &tokio_postgres::Client) -> Landing {
    let pid = loader.id();
    assert!(signal(pid, "STOP"), "SIGSTOP dgkafka {pid}");
    // Let the backends finish what the client had already sent.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ports = pg_client_ports(pid);
    let rows = client
        .query(
            "SELECT state, query, backend_xid IS NOT NULL FROM pg_stat_activity \
             WHERE client_port = ANY($1) AND application_name = 'dgkafka' \
             AND (state LIKE 'idle in transaction%' OR backend_xid IS NOT NULL \
                  OR (state = 'active' AND query LIKE 'COPY%'))",
            &[&ports],
        )
        .await;
    loader.kill().expect("SIGKILL dgkafka");
    loader.wait().expect("reaping dgkafka");
    let mut landing = Landing::default();
    for row in rows.expect("reading pg_stat_activity") {
        let state: Option<String> = row.get(0);
        let query: Option<String> = row.get(1);
        let xid: bool = row.get(2);
        if state.as_deref() == Some("active") && query.as_deref() == Some("COMMIT") {
            landing.committing += 1;
        } else {
            landing.open += 1;
            landing.writing += usize::from(xid);
        }
    }
    landing
}

/// Holds the advisory lock `gate` on a new connection (released when it is dropped), and
/// waits (up to a few seconds; the kill follows either way) until one of `pid`'s database
/// backends waits for it in the offset table's trigger: inside its batch's transaction,
/// after the COPY, before the `COMMIT`.
async fn close_gate(pid: u32, gate: i64) -> tokio_postgres::Client {
    let blocker = pg::connect().await;
    blocker
        .execute("SELECT pg_advisory_lock($1)", &[&gate])
        .await
        .expect("taking the advisory lock");
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_secs(5) {
        let ports = pg_client_ports(pid);
        let waiting: i64 = blocker
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE client_port = ANY($1) \
                 AND application_name = 'dgkafka' AND wait_event = 'advisory' \
                 AND backend_xid IS NOT NULL",
                &[&ports],
            )
            .await
            .expect("reading pg_stat_activity")
            .get(0);
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    blocker
}

/// Whether a `-quit-at-eof` load that ended with `status` and the log `tail` stopped on
/// brokers still settling after their restart: with `-quit-at-eof` every failure ends the
/// load (README), and a temporarily unavailable broker is xdrive errcode -3.
fn broker_settling_exit(status: ExitStatus, broker_restarted: bool, tail: &str) -> bool {
    let last = tail.lines().last().unwrap_or_default();
    broker_restarted
        && status.code() == Some(1)
        && last.contains("(errcode -3, temporarily unavailable: retry)")
}

/// Fails the test if the loader exited by itself, which the default mode never does.
fn assert_running(loader: &mut Option<Child>, log: &Path, seed: u64) {
    let Some(child) = loader else {
        return;
    };
    if let Some(status) = child.try_wait().expect("waiting for dgkafka") {
        panic!(
            "dgkafka load (default mode) exited by itself ({status}) (seed {seed}); log:\n{}",
            log_tail(log)
        );
    }
}

/// Kills the loader still running when the test ends, however it ends.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Every process: its pid, its parent's pid and its arguments.
fn processes() -> Vec<(u32, u32, Vec<String>)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces, so split after the `)`.
        let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
        else {
            continue;
        };
        let args = cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        out.push((pid, ppid, args));
    }
    out
}

/// The `xdr_kafka` plugin processes (not `xdr_kafkaoffset`) of the xdrive serving `dir`.
fn plugin_pids(dir: &Path) -> Vec<u32> {
    let all = processes();
    let config = dir.join("xdrive.toml").to_string_lossy().into_owned();
    let servers: Vec<u32> = all
        .iter()
        .filter(|(_, _, args)| args.contains(&config))
        .map(|&(pid, _, _)| pid)
        .collect();
    all.iter()
        .filter(|(_, ppid, args)| {
            servers.contains(ppid)
                && args
                    .first()
                    .is_some_and(|a| a.ends_with("xdr_kafka") && !a.ends_with("xdr_kafkaoffset"))
        })
        .map(|&(pid, _, _)| pid)
        .collect()
}

/// `Batch failed` lines in the loader's log so far.
fn failed_batches(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("Batch failed")
        .count()
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Kills `xdr_kafka` plugins of the xdrive in `dir` while a batch reads, until one kill
/// fails a batch of the loader (its log says `Batch failed`); returns the kills made, or
/// None when the loader exited meanwhile.
async fn kill_plugin(
    loader: &mut Child,
    dir: &Path,
    log: &Path,
    rng: &mut Rng,
    deadline: Instant,
) -> Option<usize> {
    let mut kills = 0;
    loop {
        assert!(
            Instant::now() < deadline,
            "no xdr_kafka kill failed a batch ({kills} kills); loader log:\n{}",
            log_tail(log)
        );
        if loader.try_wait().expect("waiting for dgkafka").is_some() {
            return None;
        }
        let before = failed_batches(log);
        let Some(&pid) = plugin_pids(dir).first() else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        tokio::time::sleep(rng.millis(0, 40)).await;
        if !signal(pid, "KILL") {
            continue;
        }
        kills += 1;
        let waited = Instant::now();
        while waited.elapsed() < Duration::from_secs(3) {
            if failed_batches(log) > before {
                return Some(kills);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Waits (up to a few seconds; the disruption follows either way) until the loader `pid`
/// is past its start: both readers connected to the database.
async fn await_readers(pid: u32) {
    let waited = Instant::now();
    while pg_client_ports(pid).len() < 2 && waited.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to a minute; the test goes on either way) until `dgkafka check` reads the
/// group's offsets from the restarted broker again.
async fn await_group_coordinator(config: &Path) {
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_secs(60) {
        let check = crate::dgkafka(&["check", "--json"], Some(config));
        let ready = serde_json::from_str::<serde_json::Value>(&check.stdout)
            .is_ok_and(|v| v["offset_from_kafka_error"].is_null());
        if ready {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs `script` with bash in `tests/env` (where it may source `lib.sh`).
fn env_script(script: &str) {
    let dir = repo_root().join("tests/env");
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail; cd \"$1\"; {script}"))
        .arg("bash")
        .arg(&dir)
        .stdout(Stdio::null())
        .status()
        .expect("run bash");
    assert!(status.success(), "`{script}` in tests/env failed: {status}");
}

/// A crash of PostgreSQL (immediate shutdown), then `tests/env/up` starts it again.
fn restart_postgres() {
    env_script(
        "source ./lib.sh; pg_paths; \
         as_pg \"$PG_BIN/pg_ctl\" stop -D \"$PG_DATA\" -m immediate -w -s; ./up",
    );
}

/// The broker stopped (SIGTERM, as `tests/env/down` does) and started by `tests/env/up`.
fn restart_broker() {
    env_script("source ./lib.sh; stop_kafka; ./up");
}

/// Makes sure the services are up when the test ends, however it ends.
struct ServicesUp;

impl Drop for ServicesUp {
    fn drop(&mut self) {
        let up = Command::new(repo_root().join("tests/env/up"))
            .stdout(Stdio::null())
            .status();
        if !matches!(up, Ok(s) if s.success()) {
            eprintln!("tests/env/up failed after the exactly-once test: {up:?}");
        }
    }
}

async fn loaded(client: &tokio_postgres::Client, output: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {output}"), &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(-1)
}

#[tokio::test]
async fn every_message_lands_once_through_kills_and_service_restarts() {
    let _services = crate::exclusive_services().await;
    let _up = ServicesUp;
    let seed = std::env::var("DGKAFKA_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("exactly_once: seed {seed} (DGKAFKA_CHAOS_SEED={seed} replays its delays and order)");
    let mut rng = Rng(seed);
    let began = Instant::now();
    let deadline = began + PATIENCE;

    let topic = unique_name("eo");
    let group = unique_name("eogrp");
    let output = unique_name("eo_out");
    let offsets = unique_name("eo_offsets");
    create_topic(&topic, PARTITIONS);
    let hurry = Arc::new(AtomicBool::new(false));
    let producing = produce(topic.clone(), hurry.clone());
    let mut client = pg::connect().await;
    client
        .batch_execute(&format!(
            "CREATE TABLE {output} (id integer, name varchar(25), balance double precision)"
        ))
        .await
        .unwrap();
    let server = xdrive();
    let config = config(&topic, &group, &output, &offsets, server.addr().port());
    let setup = crate::dgkafka(&["setup"], Some(&config.path));
    assert_eq!(setup.code, 0, "{setup:?}");
    // A gate for the aimed kills: each offset row waits for a shared hold of an advisory
    // lock, which is free unless the test holds it.
    let gate = rng.next() as i64;
    client
        .batch_execute(&format!(
            "CREATE FUNCTION {offsets}_gate() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN PERFORM pg_advisory_xact_lock_shared({gate}); RETURN NEW; END $$; \
             CREATE TRIGGER gate BEFORE INSERT ON {offsets} \
             FOR EACH ROW EXECUTE FUNCTION {offsets}_gate()"
        ))
        .await
        .unwrap();
    // The loaders' stderr, kept when the test fails.
    let log: PathBuf = std::env::temp_dir().join(format!("{output}.log"));
    eprintln!("exactly_once: loader log {}", log.display());
    eprintln!(
        "exactly_once: producing {MESSAGES} messages, {FIRST_MESSAGES} at once, then {PACE} \
         per {PACE_EVERY:?}"
    );

    // The disruptions: the loader kills, with the plugin kill and the service restarts at
    // seeded places in the first two thirds, while there is still data to load.
    let mut events = vec![Event::KillLoader; LOADER_KILLS];
    for event in [
        Event::KillPlugin,
        Event::RestartPostgres,
        Event::RestartBroker,
    ] {
        let at = rng.below(events.len() as u64 * 2 / 3) as usize;
        events.insert(at, event);
    }

    let mut loader = Running(None);
    let mut landings = Vec::new();
    let mut plugin_kills = 0;
    let mut settling_exits = 0;
    let mut broker_restarted = false;
    let mut next = 0;
    while let Some(&event) = events.get(next) {
        assert!(
            Instant::now() < deadline,
            "the test took too long (seed {seed})"
        );
        assert_running(&mut loader.0, &log, seed);
        let pid = loader
            .0
            .get_or_insert_with(|| start_loader(&[], &config.path, &log))
            .id();
        tokio::time::sleep(rng.millis(100, 900)).await;
        assert_running(&mut loader.0, &log, seed);
        match event {
            Event::KillLoader => {
                // Every other kill is aimed: it waits until a batch has copied its rows and
                // waits at the gate before recording its offsets.
                let aimed = landings.len() % 2 == 1;
                let blocker = if aimed {
                    Some(close_gate(pid, gate).await)
                } else {
                    None
                };
                let mut child = loader.0.take().expect("a running loader");
                let landing = kill_loader(&mut child, &client).await;
                landings.push(Landing { aimed, ..landing });
                drop(blocker);
            }
            Event::KillPlugin => {
                let child = loader.0.as_mut().expect("a running loader");
                await_readers(pid).await;
                let Some(kills) = kill_plugin(child, server.dir(), &log, &mut rng, deadline).await
                else {
                    continue;
                };
                plugin_kills += kills;
            }
            Event::RestartPostgres => {
                await_readers(pid).await;
                restart_postgres();
                client = pg::connect().await;
            }
            Event::RestartBroker => {
                await_readers(pid).await;
                restart_broker();
                broker_restarted = true;
                await_group_coordinator(&config.path).await;
            }
        }
        next += 1;
        eprintln!(
            "exactly_once: {:>5.1} s  {event:?}  {}  loaded {}",
            began.elapsed().as_secs_f64(),
            match (event, landings.last()) {
                (Event::KillLoader, Some(l)) => format!("{l:?}"),
                _ => String::new(),
            },
            loaded(&client, &output).await
        );
    }
    if let Some(mut child) = loader.0.take() {
        landings.push(kill_loader(&mut child, &client).await);
    }
    hurry.store(true, Ordering::Relaxed);
    let producing = tokio::task::spawn_blocking(move || producing.join());
    producing
        .await
        .expect("joining the producer")
        .expect("the producer thread panicked");
    assert_produced(&topic);
    eprintln!(
        "exactly_once: all {MESSAGES} messages produced after {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let inside = landings.iter().filter(|l| l.open > 0).count();
    let random_inside = landings.iter().filter(|l| l.open > 0 && !l.aimed).count();
    let random = landings.iter().filter(|l| !l.aimed).count();
    let writing = landings.iter().filter(|l| l.writing > 0).count();
    let committing = landings.iter().filter(|l| l.committing > 0).count();
    eprintln!(
        "exactly_once: {} loader kills, {inside} inside an open transaction ({random_inside} of \
         the {random} at random points; {writing} after \
         rows were written, {committing} during a COMMIT); {plugin_kills} xdr_kafka kills; \
         {} failed batches retried",
        landings.len(),
        failed_batches(&log)
    );

    // The rest, to the end of the topic.
    loop {
        let mut last = Running(Some(start_loader(&["-quit-at-eof"], &config.path, &log)));
        let child = last.0.as_mut().expect("the last loader");
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for dgkafka") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the final -quit-at-eof load did not end (seed {seed}); log:\n{}",
                log_tail(&log)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        last.0 = None;
        if status.success() {
            break;
        }
        let tail = log_tail(&log);
        assert!(
            broker_settling_exit(status, broker_restarted, &tail),
            "the final -quit-at-eof load failed ({status}) (seed {seed}); log:\n{tail}"
        );
        settling_exits += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "exactly_once: done in {:.1} s; {settling_exits} -quit-at-eof exits on the settling \
         broker",
        began.elapsed().as_secs_f64()
    );

    let row = client
        .query_one(
            &format!(
                "SELECT count(*), count(DISTINCT id), min(id), max(id), \
                 count(*) FILTER (WHERE name IS DISTINCT FROM 'name-' || id \
                                  OR balance IS DISTINCT FROM id + 0.5) \
                 FROM {output}"
            ),
            &[],
        )
        .await
        .unwrap();
    let summary: (i64, i64, Option<i32>, Option<i32>, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    let missing: Vec<i32> = client
        .query(
            &format!(
                "SELECT g FROM generate_series(1, {MESSAGES}) g \
                 WHERE NOT EXISTS (SELECT 1 FROM {output} WHERE id = g) ORDER BY g LIMIT 20"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let twice: Vec<(i32, i64)> = client
        .query(
            &format!(
                "SELECT id, count(*) FROM {output} GROUP BY id HAVING count(*) > 1 \
                 ORDER BY id LIMIT 20"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        summary,
        (
            i64::from(MESSAGES),
            i64::from(MESSAGES),
            Some(1),
            Some(MESSAGES),
            0
        ),
        "(rows, distinct ids, min, max, rows not as produced) in {output} (seed {seed}); \
         first missing ids {missing:?}; first ids loaded more than once (id, times) {twice:?}"
    );

    // The offset table agrees: each partition ends at its end offset, and its committed
    // batches' row counts add up to the partition's messages.
    let recorded: Vec<(i32, i64, i64)> = client
        .query(
            &format!(
                "SELECT partition_number, max(next_offset), sum(nrows)::bigint FROM {offsets} \
                 WHERE consumer_group = $1 AND topic = $2 \
                 GROUP BY partition_number ORDER BY partition_number"
            ),
            &[&group, &topic],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expected: Vec<(i32, i64, i64)> = (0..PARTITIONS)
        .map(|p| (p, partition_size(p), partition_size(p)))
        .collect();
    assert_eq!(
        recorded, expected,
        "(partition, next offset, rows) in {offsets} (seed {seed})"
    );
    let _ = std::fs::remove_file(&log);
    assert!(
        inside > 0,
        "no loader kill landed inside a transaction (seed {seed}): {landings:?}"
    );
}
