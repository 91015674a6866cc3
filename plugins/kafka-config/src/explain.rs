//! librdkafka errors as messages a user can act on.

use std::fmt;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::redact::{REDACTED, is_secret_key};

/// What kind of problem an error is, for choosing an exit status or whether to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Category {
    /// A setting librdkafka rejected, or a client it could not create from the settings
    /// (an unreadable or undecryptable TLS key, an unknown property): fix the settings.
    Config,
    /// The brokers could not be reached (refused, unresolvable, timed out).
    Connection,
    /// TLS or SASL handshakes failed, or the broker refused access.
    Authentication,
    /// The topic or partition does not exist.
    Topic,
    /// A message was rejected or could not be delivered (too large, timed out, …).
    Delivery,
    /// Anything else.
    Other,
}

impl Category {
    /// Whether trying again later might succeed without changing anything.
    pub fn is_retriable(self) -> bool {
        matches!(self, Category::Connection | Category::Delivery)
    }
}

/// An error explained: what happened, in words, and what to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The kind of problem.
    pub category: Category,
    /// What happened (librdkafka's own words, secrets removed).
    pub message: String,
    /// What to check, when we know.
    pub hint: Option<&'static str>,
    /// librdkafka's error code, when the error had one.
    pub code: Option<RDKafkaErrorCode>,
}

impl Explanation {
    /// Whether the error is a transient broker condition (see [`is_transient`]);
    /// `topic_exists` as there.
    pub fn is_transient(&self, topic_exists: bool) -> bool {
        self.code.is_some_and(|c| is_transient(c, topic_exists))
    }
}

/// Whether an error code is a transient broker condition that the same request, sent again
/// a little later, may get past without anything changed: the brokers unreachable or
/// restarting, a call timing out, a group coordinator or partition leader not (yet)
/// available or moved.
///
/// "Unknown topic or partition" is transient only when `topic_exists` — the caller has
/// already seen the topic in the metadata, so the brokers' view of it is missing only
/// while they restart; a topic that truly does not exist is not transient.
pub fn is_transient(code: RDKafkaErrorCode, topic_exists: bool) -> bool {
    use RDKafkaErrorCode as C;
    match code {
        C::BrokerTransportFailure
        | C::AllBrokersDown
        | C::Resolve
        | C::OperationTimedOut
        | C::TimedOutQueue
        | C::RequestTimedOut
        | C::NetworkException
        | C::CoordinatorNotAvailable
        | C::CoordinatorLoadInProgress
        | C::NotCoordinator
        | C::LeaderNotAvailable
        | C::NotLeaderForPartition
        | C::BrokerNotAvailable
        | C::ReplicaNotAvailable
        | C::WaitingForCoordinator => true,
        C::UnknownTopicOrPartition | C::UnknownPartition => topic_exists,
        _ => false,
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// librdkafka's description of a code ("Broker: Unknown topic or partition") without the
/// Rust variant name rdkafka puts in front of it.
fn describe(code: RDKafkaErrorCode) -> String {
    let full = code.to_string();
    match (full.find(" ("), full.ends_with(')')) {
        (Some(i), true) => full[i + 2..full.len() - 1].to_owned(),
        _ => full,
    }
}

/// The category of an error code.
fn code_category(code: RDKafkaErrorCode) -> Category {
    use RDKafkaErrorCode as C;
    match code {
        C::BrokerTransportFailure
        | C::AllBrokersDown
        | C::Resolve
        | C::OperationTimedOut
        | C::TimedOutQueue
        | C::RequestTimedOut
        | C::NetworkException => Category::Connection,
        C::SSL
        | C::Authentication
        | C::SaslAuthenticationFailed
        | C::UnsupportedSASLMechanism
        | C::IllegalSASLState
        | C::TopicAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::TransactionalIdAuthorizationFailed => Category::Authentication,
        C::UnknownTopicOrPartition | C::UnknownTopic | C::UnknownPartition | C::InvalidTopic => {
            Category::Topic
        }
        C::MessageTimedOut
        | C::MessageSizeTooLarge
        | C::InvalidMessageSize
        | C::InvalidMessage
        | C::NotEnoughReplicas
        | C::NotEnoughReplicasAfterAppend
        | C::QueueFull
        | C::OutOfOrderSequenceNumber
        | C::InvalidProducerEpoch
        | C::Fatal
        | C::PurgeQueue
        | C::PurgeInflight => Category::Delivery,
        C::InvalidArgument | C::InvalidType | C::UnknownProtocol => Category::Config,
        _ => Category::Other,
    }
}

/// What to check for an error code, when there is something specific to say.
pub fn hint_for_code(code: RDKafkaErrorCode) -> Option<&'static str> {
    use RDKafkaErrorCode as C;
    Some(match code {
        C::BrokerTransportFailure | C::AllBrokersDown | C::NetworkException => {
            "check the broker list, that the brokers are running, and that \
             security.protocol matches the listener"
        }
        C::Resolve => "a broker host name could not be resolved: check the broker list",
        C::OperationTimedOut | C::TimedOutQueue | C::RequestTimedOut => {
            "no answer in time: check the broker list, firewalls, and that \
             security.protocol matches the listener"
        }
        C::SSL => {
            "TLS handshake failed: check ssl.ca.location, ssl.certificate.location, \
             ssl.key.location and that the listener speaks SSL"
        }
        C::Authentication | C::SaslAuthenticationFailed | C::IllegalSASLState => {
            "authentication failed: check the sasl.* or ssl.* credentials"
        }
        C::UnsupportedSASLMechanism => "the broker does not offer this sasl.mechanisms",
        C::TopicAuthorizationFailed | C::ClusterAuthorizationFailed => {
            "the broker refused access: check the ACLs for this principal"
        }
        C::UnknownTopicOrPartition | C::UnknownTopic => {
            "the topic does not exist; create it first (brokers commonly run with \
             auto.create.topics.enable=false)"
        }
        C::UnknownPartition => "the partition does not exist in this topic",
        C::MessageTimedOut => {
            "not acknowledged before message.timeout.ms: check the brokers' health, or \
             raise -X message.timeout.ms"
        }
        C::MessageSizeTooLarge => {
            "the message is larger than message.max.bytes (client) or the topic's \
             max.message.bytes (broker)"
        }
        C::NotEnoughReplicas | C::NotEnoughReplicasAfterAppend => {
            "fewer in-sync replicas than the topic's min.insync.replicas"
        }
        C::QueueFull => {
            "the local producer queue is full: raise queue.buffering.max.messages or \
             queue.buffering.max.kbytes"
        }
        _ => return None,
    })
}

/// Explains a bare error code (from a delivery report or an error callback); `reason` is
/// librdkafka's accompanying text, if any, and should already be redacted.
pub fn explain_code(code: RDKafkaErrorCode, reason: Option<&str>) -> Explanation {
    let description = describe(code);
    let message = match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if r != description => format!("{r} ({description})"),
        _ => description,
    };
    Explanation {
        category: code_category(code),
        message,
        hint: hint_for_code(code),
        code: Some(code),
    }
}

/// Hints for librdkafka's client-creation messages, which are free text.
fn creation_hint(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_lowercase();
    if t.contains("ssl.key") && (t.contains("bad decrypt") || t.contains("password")) {
        Some("the client key could not be decrypted: check ssl.key.password")
    } else if t.contains("ssl.key") && !t.contains("no such file") {
        Some(
            "the client key could not be loaded: check ssl.key.password, and that \
             ssl.key.location names a PEM private key",
        )
    } else if t.contains("no such file") || t.contains("not found") {
        Some("a file named by an ssl.*.location or similar setting does not exist")
    } else if t.contains("ssl") {
        Some("check the ssl.* settings and the files they name")
    } else if t.contains("sasl") {
        Some("check the sasl.* settings")
    } else {
        None
    }
}

/// Explains a librdkafka error for a user: what failed in librdkafka's words (with any
/// secret value replaced by `[redacted]`), its category and, when we know one, a hint.
///
/// A rejected setting names the property and, unless it is a secret, the value.
pub fn explain(err: &KafkaError) -> Explanation {
    match err {
        KafkaError::ClientConfig(_, desc, key, value) => {
            let secret = is_secret_key(key);
            let desc = if secret && !value.is_empty() {
                desc.replace(value.as_str(), REDACTED)
            } else {
                desc.clone()
            };
            let shown = if secret { REDACTED } else { value.as_str() };
            let message = if desc.contains(key.as_str()) {
                format!("invalid setting {key}={shown}: {desc}")
            } else {
                format!("invalid setting {key}={shown}: {desc} ({key})")
            };
            let hint = if desc.contains("No such configuration property") {
                Some(
                    "see librdkafka's CONFIGURATION.md for the property names; -X pairs \
                     go to librdkafka unchanged",
                )
            } else {
                None
            };
            Explanation {
                category: Category::Config,
                message,
                hint,
                code: None,
            }
        }
        KafkaError::ClientCreation(text) => Explanation {
            category: Category::Config,
            message: format!("cannot create the Kafka client: {text}"),
            hint: creation_hint(text),
            code: None,
        },
        KafkaError::Nul(_) => Explanation {
            category: Category::Config,
            message: "a setting, topic or key contains a NUL byte".to_owned(),
            hint: None,
            code: None,
        },
        KafkaError::MetadataFetch(code) => prefixed("cannot fetch metadata", *code),
        KafkaError::MessageProduction(code) => prefixed("cannot produce the message", *code),
        KafkaError::Flush(code) => prefixed("cannot flush the producer queue", *code),
        KafkaError::Global(code) => explain_code(*code, None),
        KafkaError::AdminOp(code) => prefixed("admin operation failed", *code),
        other => match other.rdkafka_error_code() {
            Some(code) => prefixed(&other.to_string(), code),
            None => Explanation {
                category: Category::Other,
                message: other.to_string(),
                hint: None,
                code: None,
            },
        },
    }
}

fn prefixed(what: &str, code: RDKafkaErrorCode) -> Explanation {
    let e = explain_code(code, None);
    Explanation {
        message: format!("{what}: {}", e.message),
        ..e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::types::RDKafkaConfRes;

    #[test]
    fn describes_codes_without_variant_names() {
        let e = explain_code(RDKafkaErrorCode::UnknownTopicOrPartition, None);
        assert_eq!(e.category, Category::Topic);
        assert!(e.message.contains("Unknown topic or partition"), "{e}");
        assert!(!e.message.contains("UnknownTopicOrPartition"), "{e}");
        assert!(e.to_string().contains("create it first"), "{e}");
    }

    #[test]
    fn reason_comes_first() {
        let e = explain_code(
            RDKafkaErrorCode::BrokerTransportFailure,
            Some("127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused"),
        );
        assert_eq!(e.category, Category::Connection);
        assert!(e.message.starts_with("127.0.0.1:1/bootstrap"), "{e}");
        assert!(e.category.is_retriable());
    }

    #[test]
    fn rejected_secret_setting_is_redacted() {
        let err = KafkaError::ClientConfig(
            RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "Invalid value \"kafka123\" for configuration property \"ssl.key.password\"".into(),
            "ssl.key.password".into(),
            "kafka123".into(),
        );
        let e = explain(&err);
        assert_eq!(e.category, Category::Config);
        let shown = e.to_string();
        assert!(!shown.contains("kafka123"), "{shown}");
        assert!(shown.contains("ssl.key.password"), "{shown}");
    }

    #[test]
    fn rejected_public_setting_shows_its_value() {
        let err = KafkaError::ClientConfig(
            RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "Invalid value \"fast\" for configuration property \"linger.ms\"".into(),
            "linger.ms".into(),
            "fast".into(),
        );
        let shown = explain(&err).to_string();
        assert!(shown.contains("linger.ms=fast"), "{shown}");
    }

    #[test]
    fn undecryptable_key_hints_at_the_password() {
        let err = KafkaError::ClientCreation(
            "ssl.key.location failed: error:1C800064:Provider routines::bad decrypt".into(),
        );
        let e = explain(&err);
        assert_eq!(e.category, Category::Config);
        assert!(e.to_string().contains("check ssl.key.password"), "{e}");
    }

    #[test]
    fn unloadable_key_hints_at_the_password_too() {
        // What librdkafka 2.12 with OpenSSL 3 says for a wrong ssl.key.password.
        let err = KafkaError::ClientCreation(
            "ssl.key.location failed: error:0A080009:SSL routines::PEM lib".into(),
        );
        let e = explain(&err).to_string();
        assert!(e.contains("check ssl.key.password"), "{e}");
        let err = KafkaError::ClientCreation(
            "ssl.key.location failed: error:80000002:system library::No such file or directory"
                .into(),
        );
        let e = explain(&err).to_string();
        assert!(e.contains("does not exist"), "{e}");
    }

    #[test]
    fn production_errors_keep_their_code_category() {
        let e = explain(&KafkaError::MessageProduction(
            RDKafkaErrorCode::MessageSizeTooLarge,
        ));
        assert_eq!(e.category, Category::Delivery);
        assert!(e.message.starts_with("cannot produce the message"), "{e}");
        assert!(e.to_string().contains("message.max.bytes"), "{e}");
    }

    #[test]
    fn metadata_timeouts_are_connection_problems() {
        let e = explain(&KafkaError::MetadataFetch(
            RDKafkaErrorCode::OperationTimedOut,
        ));
        assert_eq!(e.category, Category::Connection);
        assert!(e.hint.is_some());
    }

    #[test]
    fn transient_codes_are_broker_conditions_and_an_unknown_topic_is_not() {
        use RDKafkaErrorCode as C;
        for c in [
            C::BrokerTransportFailure,
            C::AllBrokersDown,
            C::OperationTimedOut,
            C::CoordinatorNotAvailable,
            C::CoordinatorLoadInProgress,
            C::NotCoordinator,
            C::LeaderNotAvailable,
            C::NotLeaderForPartition,
        ] {
            assert!(is_transient(c, false), "{c:?}");
        }
        for c in [C::UnknownTopicOrPartition, C::UnknownPartition] {
            assert!(!is_transient(c, false), "{c:?}");
            assert!(is_transient(c, true), "{c:?}");
        }
        for c in [
            C::UnknownTopic,
            C::SSL,
            C::InvalidArgument,
            C::MessageSizeTooLarge,
        ] {
            assert!(!is_transient(c, true), "{c:?}");
        }
        let e = explain(&KafkaError::MessageConsumption(C::BrokerTransportFailure));
        assert!(e.is_transient(false));
        let e = explain(&KafkaError::ClientCreation("bad".into()));
        assert!(!e.is_transient(true));
    }
}
