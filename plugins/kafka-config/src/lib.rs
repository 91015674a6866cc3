//! The librdkafka settings every Kafka-facing tool of dgkafka-rs shares.
//!
//! The seed's tools (`csv2kafka`, the `xdr_kafka` and `xdr_kafkaoffset` plugins, `dgkafka`)
//! take the same arguments: a broker list such as `kafkahost1:9092,kafkahost2:9092` and any
//! number of `-X key=value` pairs that go to librdkafka unchanged. This crate
//!
//! * parses those pairs ([`Pair`], [`parse_pairs`]) and broker lists ([`BrokerList`]),
//! * builds an [`rdkafka::ClientConfig`] from a tool's defaults, the broker list and the
//!   user's pairs, the user's pairs winning ([`KafkaSettings`]),
//! * keeps secrets (`ssl.key.password`, `sasl.password`, private-key PEMs, …) out of every
//!   `Debug`, `Display` and log line ([`is_secret_key`], [`Redactor`]),
//! * resolves a plugin mount's `-X` pairs and broker list over a client's defaults
//!   ([`MountArgs`]; [`seed_mount_example`] for a plugin's `--help`),
//! * sends librdkafka's log lines to `tracing`, redacted ([`forward_log`],
//!   [`tracing_log_level`], [`KafkaSettings::traced_client_config`]), and keeps the last
//!   error it reported on its own ([`LastClientError`]),
//! * turns librdkafka errors into messages a user can act on ([`explain`]), and says which
//!   are transient broker conditions worth retrying ([`is_transient`]).
//!
//! It does no I/O beyond building configurations.

mod brokers;
mod error;
mod explain;
mod log;
mod mount;
mod pair;
mod redact;
mod settings;

pub use brokers::{Broker, BrokerList};
pub use error::ConfigError;
pub use explain::{Category, Explanation, explain, explain_code, hint_for_code, is_transient};
pub use log::{LastClientError, forward_log, tracing_log_level};
pub use mount::{MountArgs, seed_mount_example};
pub use pair::{Pair, parse_pairs};
pub use redact::{REDACTED, Redactor, is_secret_key, is_secret_pair};
pub use settings::{KafkaSettings, canonical_key};
