//! Keeping secrets out of `Debug`, `Display`, errors and log lines.

use std::borrow::Cow;

/// What a secret value is shown as.
pub const REDACTED: &str = "[redacted]";

/// Whether a librdkafka property holds a secret whose value must never be shown.
///
/// Secret: any key ending in `password`, `passphrase` or `secret` (`ssl.key.password`,
/// `ssl.keystore.password`, `sasl.password`, `sasl.oauthbearer.client.secret`,
/// `sasl.oauthbearer.assertion.private.key.passphrase`, …); private-key material
/// (`ssl_key`, and any `*key.pem` such as `ssl.key.pem`); and the free-form settings that
/// carry credentials (`sasl.oauthbearer.config`, a JAAS config). Case-insensitive. File
/// locations and certificates are not secrets and stay visible, so that errors about them
/// can be read.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    k.ends_with("password")
        || k.ends_with("passphrase")
        || k.ends_with("secret")
        || k == "ssl_key"
        || (k.ends_with(".pem") && k.contains("key"))
        || k == "sasl.oauthbearer.config"
        || k.contains("jaas")
}

/// Whether a key/value pair is secret: by its key, or because the value is a PEM private
/// key whatever the key is called.
pub fn is_secret_pair(key: &str, value: &str) -> bool {
    is_secret_key(key) || value.contains("PRIVATE KEY-----")
}

/// Replaces every known secret value in free text (a librdkafka log line or error string)
/// with [`REDACTED`].
///
/// Built from the settings in force ([`KafkaSettings::redactor`](crate::KafkaSettings::redactor)),
/// so it also catches a secret that librdkafka echoes back in a message of its own.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Secret values, longest first so a secret containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for these secret values; empty values are ignored.
    pub fn new<I, S>(secrets: I) -> Redactor
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .map(Into::into)
            .filter(|s| !s.is_empty())
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every secret value replaced; borrowed when nothing matched.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
        out
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        for k in [
            "ssl.key.password",
            "ssl.keystore.password",
            "ssl.truststore.password",
            "sasl.password",
            "SASL.PASSWORD",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.client.credentials.client.secret",
            "sasl.oauthbearer.assertion.private.key.passphrase",
            "sasl.oauthbearer.assertion.private.key.pem",
            "ssl.key.pem",
            "ssl_key",
            "sasl.oauthbearer.config",
            "sasl.jaas.config",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn public_keys() {
        for k in [
            "ssl.key.location",
            "ssl.certificate.location",
            "ssl.certificate.pem",
            "ssl.ca.location",
            "ssl.ca.pem",
            "sasl.username",
            "bootstrap.servers",
            "security.protocol",
            "passwordless.mode",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn pem_private_key_values_are_secret_under_any_key() {
        let pem =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----";
        assert!(is_secret_pair("ssl.certificate.pem", pem));
        assert!(!is_secret_pair(
            "ssl.certificate.pem",
            "-----BEGIN CERTIFICATE-----"
        ));
    }

    #[test]
    fn redactor_replaces_every_occurrence() {
        let r = Redactor::new(["kafka123", "", "kafka1234"]);
        assert_eq!(
            r.redact("bad kafka1234 and kafka123, kafka123"),
            "bad [redacted] and [redacted], [redacted]"
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
        assert!(!format!("{r:?}").contains("kafka"));
    }

    #[test]
    fn redactor_handles_unicode() {
        let r = Redactor::new(["пароль"]);
        assert_eq!(r.redact("x=пароль;"), "x=[redacted];");
    }
}
