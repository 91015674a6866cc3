//! The mount's command line: the raw arguments (clap) and the resolved Kafka settings.

use clap::Parser;
use kafka_config::{ConfigError, KafkaSettings, MountArgs, seed_mount_example};

/// The consumer settings xdr_kafkaoffset uses unless a `-X` pair overrides them.
///
/// * `enable.auto.commit=false`, `enable.auto.offset.store=false`: the plugin commits only
///   what a write gives it, never by itself.
/// * `allow.auto.create.topics=false`: asking about a topic never creates it.
/// * `socket.timeout.ms=10000`: a broker that stops answering fails a request in 10 s.
pub const CONSUMER_DEFAULTS: &[(&str, &str)] = &[
    ("client.id", "xdr_kafkaoffset"),
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("allow.auto.create.topics", "false"),
    ("socket.timeout.ms", "10000"),
];

/// What `--help` says after the options: the seed's mount example and the rest.
fn after_help() -> String {
    format!(
        "\
xdr_kafkaoffset is an xdrive plugin: xdrive starts it for each request to its mount, with
the link to xdrive in XDRIVE_FD. Mount it in xdrive.toml as the Deepgreen documentation
shows:

{}

Read: SELECT * FROM kafkaoffset_r WHERE dg_utils.xdrive_query($$group=dggrp&topic=test$$);
one row per partition: consumer_group text, topic text, partition_number integer,
committed_offset bigint (-1001 when nothing is committed), latest_offset bigint (the high
watermark), ts timestamp (now).

Write: rows of consumer_group text, topic text, partition_number integer, committed_offset
bigint (more columns are ignored) commit those offsets for each group.

Defaults passed to librdkafka (each overridable with -X):
  client.id=xdr_kafkaoffset enable.auto.commit=false enable.auto.offset.store=false
  allow.auto.create.topics=false socket.timeout.ms=10000

Logs go to stderr (xdrive logs them); XDR_KAFKAOFFSET_LOG sets the filter (default warn).",
        seed_mount_example("kafkaoffset", "xdr_kafkaoffset/xdr_kafkaoffset")
    )
}

/// The raw command line.
#[derive(Debug, Parser)]
#[command(
    name = "xdr_kafkaoffset",
    version,
    about = "xdrive plugin: a Kafka consumer group's committed and latest offsets per \
             partition of a topic (read), and committing offsets for a group (write)",
    after_help = after_help(),
    override_usage = "xdr_kafkaoffset [-X key1=value1 -X key2=value2 ...] \
                      kafkahost1:9092,kafkahost2:9092"
)]
pub struct Args {
    /// A librdkafka property, passed unchanged; repeatable; overrides xdr_kafkaoffset's
    /// defaults (see librdkafka's CONFIGURATION.md)
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub properties: Vec<String>,

    /// Bootstrap brokers, host[:port][,host[:port]...] (port 9092 when omitted)
    #[arg(value_name = "BROKERS")]
    pub brokers: String,
}

impl Args {
    /// The librdkafka settings these arguments make: our defaults, the brokers, the user's
    /// pairs (which win).
    pub fn settings(&self) -> Result<KafkaSettings, ConfigError> {
        Ok(MountArgs::parse(&self.brokers, &self.properties)?.settings(CONSUMER_DEFAULTS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(
            std::iter::once("xdr_kafkaoffset/xdr_kafkaoffset").chain(argv.iter().copied()),
        )
    }

    #[test]
    fn seed_plain_argv() {
        let a = args(&["kafkahost1:9092,kafkahost2:9092"]).unwrap();
        let s = a.settings().unwrap();
        let cc = s.client_config();
        assert_eq!(
            cc.get("bootstrap.servers"),
            Some("kafkahost1:9092,kafkahost2:9092")
        );
        assert_eq!(cc.get("enable.auto.commit"), Some("false"));
        assert_eq!(cc.get("client.id"), Some("xdr_kafkaoffset"));
    }

    #[test]
    fn user_pairs_override_defaults() {
        let a = args(&["-X", "socket.timeout.ms=3000", "b:9092"]).unwrap();
        assert_eq!(
            a.settings()
                .unwrap()
                .client_config()
                .get("socket.timeout.ms"),
            Some("3000")
        );
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(args(&[]).is_err(), "the broker list is required");
        assert!(args(&["a:9092", "b:9092"]).is_err(), "one broker list only");
        let e = args(&["-X", "nokeyvalue", "b:9092"])
            .unwrap()
            .settings()
            .unwrap_err();
        assert!(e.to_string().contains("has no '='"), "{e}");
        let e = args(&["a:9092,,b:9092"]).unwrap().settings().unwrap_err();
        assert!(e.to_string().contains("entry #2 is empty"), "{e}");
    }
}
