//! csv2kafka's errors and the exit status each one maps to.

use std::fmt;
use std::io;
use std::time::Duration;

use kafka_config::{ConfigError, Explanation};

use crate::delimiter::DelimiterError;
use crate::reader::BadRecord;

/// Exit statuses (also listed in `--help`).
pub mod exit {
    /// Every row was acknowledged by the brokers.
    pub const OK: u8 = 0;
    /// At least one message was not acknowledged (a delivery error, or the final flush
    /// ran out of `--timeout`).
    pub const DELIVERY: u8 = 1;
    /// Bad usage or settings: an unknown option, a bad `-X` pair, a setting librdkafka
    /// rejects, a TLS key it cannot load, a partition the topic does not have. (clap uses
    /// 2 for its own usage errors too.)
    pub const USAGE: u8 = 2;
    /// The input cannot be read or has a malformed record (without `--skip-bad-lines`).
    pub const INPUT: u8 = 3;
    /// The brokers cannot be reached or refused us (connection, TLS, authentication),
    /// the topic does not exist, or the brokers stopped acknowledging.
    pub const BROKER: u8 = 4;
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bad `-X` pair or broker list.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A bad `-d` or `-w`.
    #[error("option {option}")]
    Delimiter {
        /// `-d` or `-w`.
        option: &'static str,
        /// What is wrong.
        #[source]
        source: DelimiterError,
    },
    /// Any other bad argument.
    #[error("{0}")]
    Usage(String),
    /// librdkafka rejected the settings or could not create the client.
    #[error("{0}")]
    Client(Explanation),
    /// `-p` names a partition the topic does not have.
    #[error(
        "partition {partition} does not exist: topic {topic:?} has {count} partition(s), \
         numbered from 0"
    )]
    NoSuchPartition {
        /// The topic.
        topic: String,
        /// The `-p` value.
        partition: i32,
        /// The topic's partition count.
        count: usize,
    },
    /// The input file cannot be opened.
    #[error("cannot open {path}")]
    OpenInput {
        /// The file as given.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Reading the input failed part way.
    #[error("cannot read {path} after byte {offset}")]
    ReadInput {
        /// The file as given (or "stdin").
        path: String,
        /// Bytes read before the error.
        offset: u64,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A malformed record without `--skip-bad-lines`.
    #[error(
        "{path}: {bad} (--skip-bad-lines skips such records and reports them; the rows \
         before this one were produced)"
    )]
    BadRecord {
        /// The file as given (or "stdin").
        path: String,
        /// What is wrong, and where.
        bad: BadRecord,
    },
    /// No broker answered within `--timeout`.
    #[error("cannot reach the brokers {brokers} within {}: {reason}", secs(*.timeout))]
    Unreachable {
        /// The broker list.
        brokers: String,
        /// The `--timeout`.
        timeout: Duration,
        /// The last error librdkafka reported.
        reason: Explanation,
    },
    /// The brokers answered but refused us (TLS, authentication, authorization).
    #[error("the brokers {brokers} refused the connection: {reason}")]
    Refused {
        /// The broker list.
        brokers: String,
        /// librdkafka's error.
        reason: Explanation,
    },
    /// The topic does not exist.
    #[error(
        "topic {topic:?} does not exist on {brokers}; create it first (csv2kafka does not \
         create topics, and brokers commonly run with auto.create.topics.enable=false)"
    )]
    TopicMissing {
        /// The topic.
        topic: String,
        /// The broker list.
        brokers: String,
    },
    /// The topic's metadata stayed unusable (no leader, another error) until `--timeout`.
    #[error("topic {topic:?} is not usable within {}: {reason}", secs(*.timeout))]
    TopicUnavailable {
        /// The topic.
        topic: String,
        /// The `--timeout`.
        timeout: Duration,
        /// The error from the topic's metadata.
        reason: Explanation,
    },
    /// The local queue stayed full with no acknowledgement for `--timeout`.
    #[error(
        "the brokers stopped acknowledging: nothing was acknowledged for {} while the local \
         queue was full ({pending} message(s) not acknowledged); last error: {reason}",
        secs(*.timeout)
    )]
    Stalled {
        /// The `--timeout`.
        timeout: Duration,
        /// Messages queued but never acknowledged.
        pending: u64,
        /// The last error librdkafka reported, if any.
        reason: LastError,
    },
    /// librdkafka refused to queue a message for a reason other than a full queue.
    #[error("cannot queue the record at line {line}: {reason}")]
    Produce {
        /// Line of the record.
        line: u64,
        /// librdkafka's error.
        reason: Explanation,
    },
    /// Some messages were not delivered.
    #[error("{failed} message(s) were not delivered; the first: {first}")]
    Delivery {
        /// How many failed.
        failed: u64,
        /// The first failure.
        first: DeliveryFailure,
    },
    /// The final flush did not finish within `--timeout`.
    #[error(
        "{pending} message(s) were not acknowledged within {} after the input ended \
         (raise --timeout?); last error: {reason}",
        secs(*.timeout)
    )]
    FlushTimeout {
        /// Messages still unacknowledged.
        pending: u64,
        /// The `--timeout`.
        timeout: Duration,
        /// The last error librdkafka reported, if any.
        reason: LastError,
    },
}

impl Error {
    /// The process exit status for this error (see [`exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_)
            | Error::Delimiter { .. }
            | Error::Usage(_)
            | Error::Client(_)
            | Error::NoSuchPartition { .. } => exit::USAGE,
            Error::OpenInput { .. } | Error::ReadInput { .. } | Error::BadRecord { .. } => {
                exit::INPUT
            }
            Error::Unreachable { .. }
            | Error::Refused { .. }
            | Error::TopicMissing { .. }
            | Error::TopicUnavailable { .. }
            | Error::Stalled { .. } => exit::BROKER,
            Error::Produce { .. } | Error::Delivery { .. } | Error::FlushTimeout { .. } => {
                exit::DELIVERY
            }
        }
    }
}

/// The first message that was not delivered.
#[derive(Debug, Clone)]
pub struct DeliveryFailure {
    /// Line of its record.
    pub line: u64,
    /// The partition it went to (-1 when none was assigned).
    pub partition: i32,
    /// librdkafka's error.
    pub reason: Explanation,
}

impl fmt::Display for DeliveryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the record at line {} ", self.line)?;
        if self.partition >= 0 {
            write!(f, "to partition {}", self.partition)?;
        } else {
            f.write_str("(no partition assigned)")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The last error librdkafka reported, or none.
#[derive(Debug, Clone, Default)]
pub struct LastError(pub Option<Explanation>);

impl fmt::Display for LastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(e) => write!(f, "{e}"),
            None => f.write_str("none reported"),
        }
    }
}

/// `30 s`, `1.5 s`.
pub(crate) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Position;
    use kafka_config::Category;

    #[test]
    fn exit_codes() {
        let reason = Explanation {
            category: Category::Connection,
            message: "Connection refused".into(),
            hint: None,
            code: None,
        };
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(
            Error::BadRecord {
                path: "f".into(),
                bad: BadRecord::UnterminatedQuote {
                    pos: Position { line: 3, byte: 9 }
                }
            }
            .exit_code(),
            3
        );
        let unreachable = Error::Unreachable {
            brokers: "127.0.0.1:1".into(),
            timeout: Duration::from_secs(5),
            reason: reason.clone(),
        };
        assert_eq!(unreachable.exit_code(), 4);
        assert_eq!(
            unreachable.to_string(),
            "cannot reach the brokers 127.0.0.1:1 within 5 s: Connection refused"
        );
        let delivery = Error::Delivery {
            failed: 2,
            first: DeliveryFailure {
                line: 7,
                partition: 1,
                reason,
            },
        };
        assert_eq!(delivery.exit_code(), 1);
        assert_eq!(
            delivery.to_string(),
            "2 message(s) were not delivered; the first: the record at line 7 to partition 1: \
             Connection refused"
        );
    }

    #[test]
    fn bad_record_message_names_line_and_offset() {
        let e = Error::BadRecord {
            path: "data.csv".into(),
            bad: BadRecord::UnterminatedQuote {
                pos: Position { line: 3, byte: 40 },
            },
        };
        let s = e.to_string();
        assert!(s.starts_with("data.csv: line 3 (byte offset 40)"), "{s}");
        assert!(s.contains("--skip-bad-lines"), "{s}");
    }

    #[test]
    fn seconds() {
        assert_eq!(secs(Duration::from_secs(30)), "30 s");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5 s");
    }
}
