//! The Kafka side: a consumer assigned (never subscribed) to exact offsets, and an
//! idempotent producer that counts acknowledgements. Every call to the brokers is bounded.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use kafka_config::{
    Explanation, KafkaSettings, LastClientError, Redactor, explain, explain_code, forward_log,
};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, Producer, ProducerContext};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::range::Range;
use xdrive_plugin::PluginError;

/// How long any one metadata or watermark call to the brokers may take.
pub const KAFKA_TIMEOUT: Duration = Duration::from_secs(10);

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
        /// What was being done, naming topic and partition as they apply.
        doing: String,
        /// The bootstrap brokers.
        brokers: String,
        /// librdkafka's error, explained.
        explanation: Explanation,
        /// The last error librdkafka reported on its own (often the real cause).
        last: Option<Box<Explanation>>,
    },
    /// The topic does not exist.
    #[error("topic \"{topic}\" does not exist")]
    UnknownTopic {
        /// The topic.
        topic: String,
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
struct LastError<'a>(&'a Option<Box<Explanation>>);

impl fmt::Display for LastError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(e) => write!(f, "; last error from the brokers: {e}"),
            None => Ok(()),
        }
    }
}

/// How a write's messages fared.
#[derive(Debug, Default)]
pub struct Deliveries {
    /// Messages acknowledged.
    pub acked: u64,
    /// The first delivery error: partition (if known) and the error, explained.
    pub first_error: Option<String>,
}

/// librdkafka's callbacks: logs to stderr (secrets redacted), the last error seen, and a
/// producer's deliveries.
pub struct Context {
    redactor: Redactor,
    last_error: LastClientError,
    deliveries: Mutex<Deliveries>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Context {
    fn new(settings: &KafkaSettings) -> Context {
        Context {
            redactor: settings.redactor(),
            last_error: LastClientError::default(),
            deliveries: Mutex::new(Deliveries::default()),
        }
    }

    /// The last error librdkafka reported on its own.
    pub fn last_error(&self) -> Option<Explanation> {
        self.last_error.get()
    }

    /// Acknowledged messages and the first delivery error so far.
    pub fn deliveries(&self) -> (u64, Option<String>) {
        let d = lock(&self.deliveries);
        (d.acked, d.first_error.clone())
    }
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(&self.redactor, level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.last_error.record(&self.redactor, &error, reason);
    }
}

impl ConsumerContext for Context {}

impl ProducerContext for Context {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let mut d = lock(&self.deliveries);
        match result {
            Ok(_) => d.acked += 1,
            Err((e, msg)) => {
                if d.first_error.is_none() {
                    d.first_error = Some(format!(
                        "a message to partition {} was not delivered: {}",
                        msg.partition(),
                        explain(e)
                    ));
                }
            }
        }
    }
}

/// What a client needs to name its errors.
struct Naming<'a> {
    brokers: &'a str,
    context: &'a Context,
}

impl Naming<'_> {
    fn error(&self, doing: String, explanation: Explanation) -> KafkaOpError {
        KafkaOpError::Call {
            doing,
            brokers: self.brokers.to_owned(),
            explanation,
            last: self.context.last_error().map(Box::new),
        }
    }
}

/// The partition count of `topic`, from `client`'s metadata.
fn partition_count<C: ClientContext>(
    client: &rdkafka::client::Client<C>,
    naming: &Naming<'_>,
    topic: &str,
) -> Result<usize, KafkaOpError> {
    let doing = || format!("reading the metadata of topic \"{topic}\"");
    let metadata = client
        .fetch_metadata(Some(topic), KAFKA_TIMEOUT)
        .map_err(|e| naming.error(doing(), explain(&e)))?;
    let unknown = || KafkaOpError::UnknownTopic {
        topic: topic.to_owned(),
    };
    let t = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(unknown)?;
    if let Some(err) = t.error() {
        let code = RDKafkaErrorCode::from(err);
        if matches!(
            code,
            RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic
        ) {
            return Err(unknown());
        }
        return Err(naming.error(doing(), explain_code(code, None)));
    }
    if t.partitions().is_empty() {
        return Err(unknown());
    }
    Ok(t.partitions().len())
}

/// A consumer of one group, assigned to exact offsets; it never commits.
pub struct Reader {
    brokers: String,
    consumer: BaseConsumer<Context>,
}

impl Reader {
    /// A consumer for `group` with `settings` (the query's group wins over a `-X group.id`;
    /// partition-end events are always on).
    pub fn new(settings: &KafkaSettings, group: &str) -> Result<Reader, KafkaOpError> {
        let mut config = settings.traced_client_config();
        config.set("group.id", group);
        config.set("enable.partition.eof", "true");
        let consumer = config
            .create_with_context(Context::new(settings))
            .map_err(|e| KafkaOpError::Client(explain(&e)))?;
        Ok(Reader {
            brokers: settings.bootstrap_servers(),
            consumer,
        })
    }

    fn naming(&self) -> Naming<'_> {
        Naming {
            brokers: &self.brokers,
            context: self.consumer.context(),
        }
    }

    /// An error of a call to the brokers, with the last error librdkafka reported.
    pub fn error(&self, doing: String, explanation: Explanation) -> KafkaOpError {
        self.naming().error(doing, explanation)
    }

    /// How many partitions `topic` has; [`KafkaOpError::UnknownTopic`] when it does not
    /// exist.
    pub fn partition_count(&self, topic: &str) -> Result<usize, KafkaOpError> {
        partition_count(self.consumer.client(), &self.naming(), topic)
    }

    /// The low and high watermarks of a partition.
    pub fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64), KafkaOpError> {
        self.consumer
            .fetch_watermarks(topic, partition, KAFKA_TIMEOUT)
            .map_err(|e| {
                self.error(
                    format!("reading the offsets of topic \"{topic}\", partition {partition}"),
                    explain(&e),
                )
            })
    }

    /// Assigns the consumer to each range's start.
    pub fn assign(&self, topic: &str, ranges: &[Range]) -> Result<(), KafkaOpError> {
        let mut tpl = TopicPartitionList::with_capacity(ranges.len());
        for r in ranges {
            tpl.add_partition_offset(topic, r.partition, Offset::Offset(r.start))
                .map_err(|e| {
                    self.error(
                        format!("assigning partition {} of \"{topic}\"", r.partition),
                        explain(&e),
                    )
                })?;
        }
        self.consumer.assign(&tpl).map_err(|e| {
            self.error(
                format!("assigning the partitions of \"{topic}\""),
                explain(&e),
            )
        })
    }

    /// The consumer's position per partition of `topic` (the offset after the last
    /// message delivered, stepping over transaction markers); `None` where unknown.
    pub fn positions(&self, topic: &str) -> Result<Vec<(i32, Option<i64>)>, KafkaOpError> {
        let tpl = self.consumer.position().map_err(|e| {
            self.error(
                format!("reading the consumer's positions in \"{topic}\""),
                explain(&e),
            )
        })?;
        Ok(tpl
            .elements_for_topic(topic)
            .iter()
            .map(|e| {
                let pos = match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some(o),
                    _ => None,
                };
                (e.partition(), pos)
            })
            .collect())
    }

    /// The consumer, to poll.
    pub fn consumer(&self) -> &BaseConsumer<Context> {
        &self.consumer
    }
}

/// An idempotent producer that counts acknowledgements.
pub struct Writer {
    brokers: String,
    producer: BaseProducer<Context>,
}

impl Writer {
    /// A producer with `settings`.
    pub fn new(settings: &KafkaSettings) -> Result<Writer, KafkaOpError> {
        let producer = settings
            .traced_client_config()
            .create_with_context(Context::new(settings))
            .map_err(|e| KafkaOpError::Client(explain(&e)))?;
        Ok(Writer {
            brokers: settings.bootstrap_servers(),
            producer,
        })
    }

    /// An error of a call to the brokers, with the last error librdkafka reported.
    pub fn error(&self, doing: String, explanation: Explanation) -> KafkaOpError {
        Naming {
            brokers: &self.brokers,
            context: self.producer.context(),
        }
        .error(doing, explanation)
    }

    /// How many partitions `topic` has; [`KafkaOpError::UnknownTopic`] when it does not
    /// exist.
    pub fn partition_count(&self, topic: &str) -> Result<usize, KafkaOpError> {
        let naming = Naming {
            brokers: &self.brokers,
            context: self.producer.context(),
        };
        partition_count(self.producer.client(), &naming, topic)
    }

    /// The producer, to send and poll.
    pub fn producer(&self) -> &BaseProducer<Context> {
        &self.producer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(code: RDKafkaErrorCode) -> KafkaOpError {
        KafkaOpError::Call {
            doing: "reading topic \"t\"".to_owned(),
            brokers: "127.0.0.1:39092".to_owned(),
            explanation: explain(&KafkaError::MessageConsumption(code)),
            last: None,
        }
    }

    #[test]
    fn a_lost_broker_is_a_retriable_reply_and_an_unknown_topic_is_not() {
        let e = call(RDKafkaErrorCode::BrokerTransportFailure);
        let text = e.to_string();
        assert!(e.is_retriable());
        let reply = e.into_plugin_error();
        assert_eq!(reply.code(), xdrive_plugin::ERRCODE_RETRIABLE);
        assert_eq!(reply.message(), text, "the message is unchanged");
        // A partition missing after the topic was found: the brokers are still restarting.
        assert!(call(RDKafkaErrorCode::UnknownTopicOrPartition).is_retriable());
        let e = KafkaOpError::UnknownTopic {
            topic: "t".to_owned(),
        };
        assert!(!e.is_retriable());
        let reply = e.into_plugin_error();
        assert_eq!(reply.code(), xdrive_plugin::ERRCODE_PLUGIN);
        assert_eq!(reply.message(), "topic \"t\" does not exist");
        assert!(!call(RDKafkaErrorCode::MessageSizeTooLarge).is_retriable());
    }
}
