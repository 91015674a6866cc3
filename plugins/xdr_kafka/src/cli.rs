//! The mount's command line: the raw arguments (clap) and the resolved Kafka settings.

use clap::Parser;
use kafka_config::{KafkaSettings, MountArgs, seed_mount_example};

/// The consumer settings a read uses unless a `-X` pair overrides them.
///
/// * `enable.auto.commit=false`, `enable.auto.offset.store=false`: a read never commits;
///   the loader keeps offsets in the database (and commits them through xdr_kafkaoffset).
/// * `isolation.level=read_committed`: aborted transactions are never returned.
/// * `auto.offset.reset=error`: a start offset that no longer exists (deleted by retention)
///   fails the read instead of silently jumping elsewhere.
/// * `allow.auto.create.topics=false`: reading never creates a topic.
/// * `socket.timeout.ms=10000`: a broker that stops answering fails a request in 10 s.
/// * `fetch.queue.backoff.ms=10`: librdkafka's default (1000) pauses fetching for a second
///   whenever its local queue is full, which a reader that decodes every message hits
///   constantly: measured 7x slower reads (`benches/read.rs`).
///
/// `group.id` (the query's `group`) and `enable.partition.eof=true` (how a read knows it
/// reached the end of what is available) are always set by the plugin.
pub const CONSUMER_DEFAULTS: &[(&str, &str)] = &[
    ("client.id", "xdr_kafka"),
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("isolation.level", "read_committed"),
    ("auto.offset.reset", "error"),
    ("allow.auto.create.topics", "false"),
    ("socket.timeout.ms", "10000"),
    ("fetch.queue.backoff.ms", "10"),
];

/// The producer settings a write uses unless a `-X` pair overrides them.
///
/// * `enable.idempotence=true`: no duplicates or reordering on retries.
/// * `partitioner=murmur2_random`: keyed messages go where the Java client would put them
///   (as csv2kafka does); messages without a key are spread at random.
/// * `message.timeout.ms=60000`: a message not acknowledged within a minute fails the write.
/// * `socket.timeout.ms=10000`.
pub const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    ("client.id", "xdr_kafka"),
    ("enable.idempotence", "true"),
    ("partitioner", "murmur2_random"),
    ("message.timeout.ms", "60000"),
    ("socket.timeout.ms", "10000"),
];

/// What `--help` says after the options: the seed's mount example and the rest.
fn after_help() -> String {
    format!(
        "\
xdr_kafka is an xdrive plugin: xdrive starts it for each request to its mount, with the
link to xdrive in XDRIVE_FD. Mount it in xdrive.toml as the Deepgreen documentation shows:

{}

Read:  SELECT * FROM kafka_r WHERE dg_utils.xdrive_query($$group=dggrp&start=500,500,500&limit=100$$);
Write: INSERT INTO customer_kafka_w VALUES (1, 'eric', 1.0);
The path is /kafka/TOPIC. Query keys, reserved columns and errors: see the crate's README.

Consumer defaults (each overridable with -X): client.id=xdr_kafka enable.auto.commit=false
  enable.auto.offset.store=false isolation.level=read_committed auto.offset.reset=error
  allow.auto.create.topics=false socket.timeout.ms=10000 fetch.queue.backoff.ms=10
Producer defaults: client.id=xdr_kafka enable.idempotence=true partitioner=murmur2_random
  message.timeout.ms=60000 socket.timeout.ms=10000

Logs go to stderr (xdrive logs them); XDR_KAFKA_LOG sets the filter (default warn).",
        seed_mount_example("kafka", "xdr_kafka/xdr_kafka")
    )
}

/// The raw command line.
#[derive(Debug, Parser)]
#[command(
    name = "xdr_kafka",
    version,
    about = "xdrive plugin: read exact offset ranges of a Kafka topic as typed rows, and \
             write rows to a topic",
    after_help = after_help(),
    override_usage = "xdr_kafka [-X key1=value1 -X key2=value2 ...] \
                      kafkahost1:9092,kafkahost2:9092"
)]
pub struct Args {
    /// A librdkafka property, passed unchanged; repeatable; overrides xdr_kafka's defaults
    /// (see librdkafka's CONFIGURATION.md)
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub properties: Vec<String>,

    /// Reserved for WebAssembly transforms (not implemented yet; refused when given)
    #[arg(long, value_name = "DIR", hide = true)]
    pub transforms_dir: Option<String>,

    /// Bootstrap brokers, host[:port][,host[:port]...] (port 9092 when omitted)
    #[arg(value_name = "BROKERS")]
    pub brokers: String,
}

/// The mount's Kafka arguments, resolved.
#[derive(Debug, Clone)]
pub struct Mount(MountArgs);

impl Args {
    /// The mount these arguments describe.
    pub fn mount(&self) -> Result<Mount, String> {
        if self.transforms_dir.is_some() {
            return Err(
                "--transforms-dir is reserved for transforms, which xdr_kafka does \
                        not run yet"
                    .to_owned(),
            );
        }
        MountArgs::parse(&self.brokers, &self.properties)
            .map(Mount)
            .map_err(|e| e.to_string())
    }
}

impl Mount {
    /// The consumer's settings: our defaults, the brokers, the user's pairs (which win).
    pub fn consumer(&self) -> KafkaSettings {
        self.0.settings(CONSUMER_DEFAULTS)
    }

    /// The producer's settings: our defaults, the brokers, the user's pairs (which win).
    pub fn producer(&self) -> KafkaSettings {
        self.0.settings(PRODUCER_DEFAULTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("xdr_kafka/xdr_kafka").chain(argv.iter().copied()))
    }

    #[test]
    fn seed_plain_argv() {
        let m = args(&["kafkahost1:9092,kafkahost2:9092"])
            .unwrap()
            .mount()
            .unwrap();
        let cc = m.consumer().client_config();
        assert_eq!(
            cc.get("bootstrap.servers"),
            Some("kafkahost1:9092,kafkahost2:9092")
        );
        assert_eq!(cc.get("isolation.level"), Some("read_committed"));
        assert_eq!(cc.get("enable.auto.commit"), Some("false"));
        assert_eq!(cc.get("fetch.queue.backoff.ms"), Some("10"));
        let pc = m.producer().client_config();
        assert_eq!(pc.get("enable.idempotence"), Some("true"));
        assert_eq!(pc.get("partitioner"), Some("murmur2_random"));
        assert_eq!(pc.get("isolation.level"), None);
    }

    #[test]
    fn seed_ssl_argv_goes_to_librdkafka_unchanged_and_hides_the_password() {
        let m = args(&[
            "-X",
            "security.protocol=SSL",
            "-X",
            "ssl.key.location=/var/config/kafka/ca-key",
            "-X",
            "ssl.key.password=kafka123",
            "-X",
            "ssl.certificate.location=/var/config/kafka/ca-cert",
            "-X",
            "ssl.ca.location=/var/config/kafka/ca-cert",
            "kafkahost1:9092,kafkahost2:9092",
        ])
        .unwrap()
        .mount()
        .unwrap();
        for s in [m.consumer(), m.producer()] {
            let cc = s.client_config();
            assert_eq!(cc.get("security.protocol"), Some("SSL"));
            assert_eq!(cc.get("ssl.key.password"), Some("kafka123"));
            assert_eq!(cc.get("ssl.ca.location"), Some("/var/config/kafka/ca-cert"));
            assert!(!s.to_string().contains("kafka123"), "{s}");
            assert!(!format!("{s:?}").contains("kafka123"));
        }
    }

    #[test]
    fn user_pairs_override_defaults() {
        let m = args(&["-X", "isolation.level=read_uncommitted", "b:9092"])
            .unwrap()
            .mount()
            .unwrap();
        assert_eq!(
            m.consumer().client_config().get("isolation.level"),
            Some("read_uncommitted")
        );
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(args(&[]).is_err(), "the broker list is required");
        let e = args(&["-X", "nokeyvalue", "b:9092"])
            .unwrap()
            .mount()
            .unwrap_err();
        assert!(e.contains("has no '='"), "{e}");
        let e = args(&["--transforms-dir", "/t", "b:9092"])
            .unwrap()
            .mount()
            .unwrap_err();
        assert!(e.contains("reserved for transforms"), "{e}");
    }
}
