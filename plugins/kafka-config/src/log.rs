//! What librdkafka reports on its own, through a client context's callbacks: log lines
//! go to `tracing` (target `librdkafka`), errors are remembered; secrets redacted in both.

use std::borrow::Cow;
use std::sync::Mutex;

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::explain::{Explanation, explain_code};
use crate::redact::Redactor;

/// The level to give librdkafka so it sends what `tracing` would show for target
/// `librdkafka`: `Debug` when that is enabled, `Warning` otherwise.
pub fn tracing_log_level() -> RDKafkaLogLevel {
    if tracing::enabled!(target: "librdkafka", tracing::Level::DEBUG) {
        RDKafkaLogLevel::Debug
    } else {
        RDKafkaLogLevel::Warning
    }
}

/// Logs one of librdkafka's log lines (a `ClientContext::log` callback) with `tracing` at
/// the matching level, target `librdkafka`, field `facility`, every secret `redactor` knows
/// replaced. Returns the redacted line, for a context that keeps the last one.
pub fn forward_log<'a>(
    redactor: &Redactor,
    level: RDKafkaLogLevel,
    facility: &str,
    message: &'a str,
) -> Cow<'a, str> {
    let msg = redactor.redact(message);
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => {
            tracing::error!(target: "librdkafka", facility, "{msg}");
        }
        RDKafkaLogLevel::Warning => {
            tracing::warn!(target: "librdkafka", facility, "{msg}");
        }
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", facility, "{msg}");
        }
        RDKafkaLogLevel::Debug => {
            tracing::debug!(target: "librdkafka", facility, "{msg}");
        }
    }
    msg
}

/// The last error librdkafka reported on its own (a `ClientContext::error` callback): it
/// often says more than the code a failed call returns.
#[derive(Debug, Default)]
pub struct LastClientError(Mutex<Option<Explanation>>);

impl LastClientError {
    /// Takes one `ClientContext::error` callback: logs it at debug, secrets redacted,
    /// explains it and keeps it — except "all brokers are down" once a more telling error
    /// (usually the connection's) is kept. Returns the explanation; `None` for an error
    /// without a librdkafka code, which is only logged.
    pub fn record(
        &self,
        redactor: &Redactor,
        error: &KafkaError,
        reason: &str,
    ) -> Option<Explanation> {
        let reason = redactor.redact(reason);
        tracing::debug!(target: "librdkafka", error = %error, "{reason}");
        let code = error.rdkafka_error_code()?;
        let explained = explain_code(code, Some(&reason));
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // "1/1 brokers are down" says less than the connection error before it.
        if code != RDKafkaErrorCode::AllBrokersDown || last.is_none() {
            *last = Some(explained.clone());
        }
        Some(explained)
    }

    /// The error kept, if any.
    pub fn get(&self) -> Option<Explanation> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_lines_are_redacted() {
        let r = Redactor::new(["kafka123"]);
        let line = "ssl.key.password=kafka123 rejected";
        for level in [
            RDKafkaLogLevel::Error,
            RDKafkaLogLevel::Warning,
            RDKafkaLogLevel::Info,
            RDKafkaLogLevel::Debug,
        ] {
            let got = forward_log(&r, level, "SSL", line);
            assert_eq!(got, "ssl.key.password=[redacted] rejected");
        }
        assert!(matches!(
            forward_log(&r, RDKafkaLogLevel::Warning, "BROKER", "no secret"),
            Cow::Borrowed("no secret")
        ));
    }

    #[test]
    fn without_a_debug_subscriber_librdkafka_logs_warnings() {
        assert!(matches!(tracing_log_level(), RDKafkaLogLevel::Warning));
    }

    #[test]
    fn the_last_error_is_redacted_and_not_replaced_by_all_brokers_down() {
        let r = Redactor::new(["kafka123"]);
        let last = LastClientError::default();
        assert!(last.get().is_none());
        let x = last
            .record(
                &r,
                &KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure),
                "connect failed, password kafka123",
            )
            .unwrap();
        assert!(!x.to_string().contains("kafka123"), "{x}");
        last.record(
            &r,
            &KafkaError::Global(RDKafkaErrorCode::AllBrokersDown),
            "1/1 brokers are down",
        );
        let kept = last.get().unwrap().to_string();
        assert!(kept.contains("connect failed"), "{kept}");
        assert!(!kept.contains("kafka123"), "{kept}");
        last.record(
            &r,
            &KafkaError::Global(RDKafkaErrorCode::SSL),
            "SSL handshake failed",
        );
        let kept = last.get().unwrap().to_string();
        assert!(kept.contains("SSL handshake failed"), "{kept}");
    }

    #[test]
    fn all_brokers_down_is_kept_when_nothing_else_was() {
        let last = LastClientError::default();
        last.record(
            &Redactor::default(),
            &KafkaError::Global(RDKafkaErrorCode::AllBrokersDown),
            "1/1 brokers are down",
        );
        assert!(last.get().is_some());
        assert!(
            last.record(&Redactor::default(), &KafkaError::Canceled, "gone")
                .is_none()
        );
    }
}
