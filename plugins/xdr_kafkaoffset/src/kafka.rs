//! The Kafka side: a consumer per group (never subscribed) to read committed offsets and
//! high watermarks, and to commit offsets. Every call to the brokers has a timeout.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use kafka_config::{Explanation, KafkaSettings, Redactor, explain, explain_code, forward_log};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};
use xdrive_plugin::PluginError;

/// How long any one call to the brokers may take.
pub const KAFKA_TIMEOUT: Duration = Duration::from_secs(10);

/// What Kafka reports as the committed offset of a partition with none (librdkafka's
/// `RD_KAFKA_OFFSET_INVALID`).
pub const NO_OFFSET: i64 = -1001;

/// Why a Kafka operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaOpError {
    /// The client could not be created from the settings (a bad setting, an unreadable or
    /// undecryptable TLS key).
    #[error("{0}")]
    Client(Explanation),
    /// A call to the brokers failed.
    #[error("{doing} (brokers {brokers}): {explanation}{}", LastError(.last))]
    Call {
        /// What was being done, naming group, topic and partition as they apply.
        doing: String,
        /// The bootstrap brokers.
        brokers: String,
        /// librdkafka's error, explained.
        explanation: Explanation,
        /// The last warning or error librdkafka logged (often the real cause of a time-out).
        last: Option<String>,
    },
    /// The topic does not exist.
    #[error("topic \"{topic}\" does not exist")]
    UnknownTopic {
        /// The topic.
        topic: String,
    },
    /// A partition the topic does not have.
    #[error("topic \"{topic}\" has no partition {partition} (it has {count})")]
    NoSuchPartition {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// How many it has.
        count: usize,
    },
    /// After a commit, the group's offset of a partition is not what was committed.
    #[error(
        "committing offset {wanted} for group \"{group}\", topic \"{topic}\", partition \
         {partition} did not take: the group's committed offset is {got}{}",
        .error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
    )]
    NotCommitted {
        /// The group.
        group: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset committed.
        wanted: i64,
        /// The offset read back.
        got: i64,
        /// The partition's error, if Kafka gave one.
        error: Option<String>,
    },
}

impl KafkaOpError {
    /// Whether the brokers were only temporarily unavailable (down, restarting, a coordinator
    /// or leader not ready; [`kafka_config::is_transient`]), so the same request may succeed
    /// later. A call is made only on a topic already found in the metadata (a missing topic is
    /// [`KafkaOpError::UnknownTopic`], never retriable), so "unknown partition" in a call is
    /// the brokers' view still missing after a restart.
    pub fn is_retriable(&self) -> bool {
        match self {
            KafkaOpError::Call { explanation, .. } => explanation.is_transient(true),
            _ => false,
        }
    }

    /// The plugin's error reply: [`PluginError::retriable`] when [`Self::is_retriable`], a
    /// plain plugin error otherwise; the message is the same either way.
    pub fn into_plugin_error(self) -> PluginError {
        if self.is_retriable() {
            PluginError::retriable(self.to_string())
        } else {
            PluginError::new(self.to_string())
        }
    }
}

/// `; last error from the brokers: ...`, when there is one.
struct LastError<'a>(&'a Option<String>);

impl fmt::Display for LastError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(e) => write!(f, "; last error from the brokers: {e}"),
            None => Ok(()),
        }
    }
}

/// librdkafka's callbacks: logs to stderr (secrets redacted), keeping the last warning or
/// error it logged, which often says more than the error code a failed call returns.
struct Context {
    redactor: Redactor,
    last_error: Mutex<Option<String>>,
}

impl Context {
    fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let msg = forward_log(&self.redactor, level, fac, log_message);
        if !matches!(
            level,
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info | RDKafkaLogLevel::Debug
        ) {
            *self
                .last_error
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(msg.into_owned());
        }
    }
}

impl ConsumerContext for Context {}

/// A consumer of one group, never subscribed: it only asks about and commits offsets.
pub struct GroupClient {
    group: String,
    brokers: String,
    consumer: BaseConsumer<Context>,
}

/// One partition's offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    /// The partition.
    pub partition: i32,
    /// The group's committed offset, [`NO_OFFSET`] when it has none.
    pub committed: i64,
    /// The high watermark: the offset the next message will get.
    pub latest: i64,
}

impl GroupClient {
    /// A client for `group` with `settings` (the query's group wins over a `-X group.id`).
    pub fn new(settings: &KafkaSettings, group: &str) -> Result<GroupClient, KafkaOpError> {
        let mut config = settings.traced_client_config();
        config.set("group.id", group);
        let context = Context {
            redactor: settings.redactor(),
            last_error: Mutex::new(None),
        };
        let consumer = config
            .create_with_context(context)
            .map_err(|e| KafkaOpError::Client(explain(&e)))?;
        Ok(GroupClient {
            group: group.to_owned(),
            brokers: settings.bootstrap_servers(),
            consumer,
        })
    }

    fn call_error(&self, doing: String, e: &KafkaError) -> KafkaOpError {
        self.error_with(doing, explain(e))
    }

    /// A [`KafkaOpError::Call`] with the last error librdkafka reported on its own.
    fn error_with(&self, doing: String, explanation: Explanation) -> KafkaOpError {
        let last = self.consumer.context().last_error();
        KafkaOpError::Call {
            doing,
            brokers: self.brokers.clone(),
            explanation,
            last,
        }
    }

    /// The topic's partition ids, sorted; [`KafkaOpError::UnknownTopic`] when it does not
    /// exist.
    pub fn partitions(&self, topic: &str) -> Result<Vec<i32>, KafkaOpError> {
        let metadata = self
            .consumer
            .fetch_metadata(Some(topic), KAFKA_TIMEOUT)
            .map_err(|e| {
                self.call_error(format!("reading the metadata of topic \"{topic}\""), &e)
            })?;
        let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Err(KafkaOpError::UnknownTopic {
                topic: topic.to_owned(),
            });
        };
        if let Some(err) = t.error() {
            let code = RDKafkaErrorCode::from(err);
            if matches!(
                code,
                RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic
            ) {
                return Err(KafkaOpError::UnknownTopic {
                    topic: topic.to_owned(),
                });
            }
            return Err(self.error_with(
                format!("reading the metadata of topic \"{topic}\""),
                explain_code(code, None),
            ));
        }
        if t.partitions().is_empty() {
            return Err(KafkaOpError::UnknownTopic {
                topic: topic.to_owned(),
            });
        }
        let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// The group's committed offsets of `partitions` of `topic`, [`NO_OFFSET`] where none.
    fn committed(
        &self,
        topic: &str,
        partitions: &[i32],
    ) -> Result<BTreeMap<i32, (i64, Option<Explanation>)>, KafkaOpError> {
        let mut tpl = TopicPartitionList::with_capacity(partitions.len());
        for &p in partitions {
            tpl.add_partition(topic, p);
        }
        let doing = || {
            format!(
                "reading the committed offsets of group \"{}\" for topic \"{topic}\"",
                self.group
            )
        };
        let got = self
            .consumer
            .committed_offsets(tpl, KAFKA_TIMEOUT)
            .map_err(|e| self.call_error(doing(), &e))?;
        Ok(got
            .elements_for_topic(topic)
            .iter()
            .map(|e| {
                let offset = e.offset().to_raw().unwrap_or(NO_OFFSET);
                let error = e.error().err().map(|err| explain(&err));
                (e.partition(), (offset, error))
            })
            .collect())
    }

    /// Committed offset and high watermark of each of `partitions` of `topic`.
    pub fn offsets(
        &self,
        topic: &str,
        partitions: &[i32],
    ) -> Result<Vec<PartitionOffsets>, KafkaOpError> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        let committed = self.committed(topic, partitions)?;
        partitions
            .iter()
            .map(|&p| {
                let committed = match committed.get(&p) {
                    Some((_, Some(err))) => {
                        return Err(self.error_with(
                            format!(
                                "reading the committed offset of group \"{}\" for topic \
                                 \"{topic}\", partition {p}",
                                self.group
                            ),
                            err.clone(),
                        ));
                    }
                    Some(&(offset, None)) => offset,
                    None => NO_OFFSET,
                };
                let (_low, high) = self
                    .consumer
                    .fetch_watermarks(topic, p, KAFKA_TIMEOUT)
                    .map_err(|e| {
                        self.call_error(
                            format!(
                                "reading the latest offset of topic \"{topic}\", partition {p}"
                            ),
                            &e,
                        )
                    })?;
                Ok(PartitionOffsets {
                    partition: p,
                    committed,
                    latest: high,
                })
            })
            .collect()
    }

    /// Commits `offsets` (topic → partition → offset) for the group in one synchronous
    /// commit, after checking every topic and partition exists, then reads them back.
    pub fn commit(
        &self,
        offsets: &BTreeMap<String, BTreeMap<i32, i64>>,
    ) -> Result<(), KafkaOpError> {
        let mut tpl = TopicPartitionList::new();
        for (topic, parts) in offsets {
            let existing = self.partitions(topic)?;
            for (&p, &offset) in parts {
                if !existing.contains(&p) {
                    return Err(KafkaOpError::NoSuchPartition {
                        topic: topic.clone(),
                        partition: p,
                        count: existing.len(),
                    });
                }
                tpl.add_partition_offset(topic, p, Offset::Offset(offset))
                    .map_err(|e| {
                        self.call_error(format!("adding topic \"{topic}\", partition {p}"), &e)
                    })?;
            }
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let what = || {
            let parts: Vec<String> = offsets
                .iter()
                .flat_map(|(t, ps)| ps.keys().map(move |p| format!("\"{t}\"[{p}]")))
                .collect();
            format!(
                "committing offsets for group \"{}\" (topic[partition]: {})",
                self.group,
                parts.join(", ")
            )
        };
        // Finding the group's coordinator has a timeout here; the commit itself has none.
        for (topic, parts) in offsets {
            let ps: Vec<i32> = parts.keys().copied().collect();
            self.committed(topic, &ps)?;
        }
        self.consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| self.error_with(what(), explain_commit_error(&e)))?;
        for (topic, parts) in offsets {
            let ps: Vec<i32> = parts.keys().copied().collect();
            let now = self.committed(topic, &ps)?;
            for (&p, &wanted) in parts {
                let (got, error) = now.get(&p).cloned().unwrap_or((NO_OFFSET, None));
                if got != wanted || error.is_some() {
                    return Err(KafkaOpError::NotCommitted {
                        group: self.group.clone(),
                        topic: topic.clone(),
                        partition: p,
                        wanted,
                        got,
                        error: error.map(|e| e.to_string()),
                    });
                }
            }
        }
        tracing::info!(group = %self.group, partitions = tpl.count(), "Committed offsets.");
        Ok(())
    }
}

/// A failed commit explained; a refusal because the group has members gets a hint.
fn explain_commit_error(e: &KafkaError) -> Explanation {
    let Some(code) = e.rdkafka_error_code() else {
        return explain(e);
    };
    let mut x = explain_code(code, None);
    if matches!(
        code,
        RDKafkaErrorCode::UnknownMemberId
            | RDKafkaErrorCode::IllegalGeneration
            | RDKafkaErrorCode::RebalanceInProgress
    ) {
        x.hint = Some(
            "the group has active members, and Kafka takes commits from outside a group only \
             while it has none: stop the group's consumers first",
        );
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_refused_for_an_active_group_says_why() {
        let e = KafkaError::ConsumerCommit(RDKafkaErrorCode::UnknownMemberId);
        let x = explain_commit_error(&e);
        assert_eq!(x.message, "Broker: Unknown member");
        assert!(x.hint.unwrap().contains("active members"));
        let e = KafkaError::ConsumerCommit(RDKafkaErrorCode::RequestTimedOut);
        assert!(
            explain_commit_error(&e)
                .hint
                .unwrap()
                .contains("no answer in time")
        );
    }

    #[test]
    fn an_unavailable_coordinator_is_a_retriable_reply_and_a_missing_partition_is_not() {
        let e = KafkaOpError::Call {
            doing: "reading the committed offsets of group \"g\" for topic \"t\"".to_owned(),
            brokers: "127.0.0.1:39092".to_owned(),
            explanation: explain_code(RDKafkaErrorCode::CoordinatorLoadInProgress, None),
            last: None,
        };
        let text = e.to_string();
        let reply = e.into_plugin_error();
        assert_eq!(reply.code(), xdrive_plugin::ERRCODE_RETRIABLE);
        assert_eq!(reply.message(), text);
        let e = KafkaOpError::NoSuchPartition {
            topic: "t".to_owned(),
            partition: 7,
            count: 3,
        };
        assert!(!e.is_retriable());
        assert_eq!(e.into_plugin_error().code(), xdrive_plugin::ERRCODE_PLUGIN);
    }
}
