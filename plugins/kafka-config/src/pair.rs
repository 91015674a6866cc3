//! `-X key=value` pairs.

use std::fmt;

use crate::error::ConfigError;
use crate::redact::{REDACTED, is_secret_pair};

/// One `-X key=value` pair, passed to librdkafka unchanged.
///
/// The key is everything before the first `=`, the value everything after it, so
/// `k==v` is the key `k` with the value `=v` and `k=` sets `k` to the empty string (which
/// librdkafka accepts for some properties and rejects with its own message for others).
/// Neither part is trimmed or case-folded.
///
/// `Debug` and `Display` print `key=value`, with the value replaced by
/// [`REDACTED`](crate::REDACTED) when the pair is a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Pair {
    key: String,
    value: String,
}

impl Pair {
    /// A pair from a key and a value that are already separate (a config file, a default).
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Pair {
        Pair {
            key: key.into(),
            value: value.into(),
        }
    }

    /// Parses one `key=value` argument; `index` is its 1-based position among the `-X`
    /// pairs and appears in the error.
    pub fn parse(arg: &str, index: usize) -> Result<Pair, ConfigError> {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(ConfigError::PairMissingEquals {
                index,
                shown: arg.to_owned(),
            });
        };
        if key.trim().is_empty() {
            return Err(ConfigError::PairEmptyKey { index });
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::PairBadKey {
                index,
                key: key.to_owned(),
            });
        }
        if value.contains('\0') {
            return Err(ConfigError::PairNulValue {
                index,
                key: key.to_owned(),
            });
        }
        Ok(Pair::new(key, value))
    }

    /// The property name.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value, in clear; never log it, log the pair instead.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the value must never be shown (see [`is_secret_key`](crate::is_secret_key)).
    pub fn is_secret(&self) -> bool {
        is_secret_pair(&self.key, &self.value)
    }

    /// The value as it may be shown: itself, or [`REDACTED`](crate::REDACTED).
    pub fn shown_value(&self) -> &str {
        if self.is_secret() {
            REDACTED
        } else {
            &self.value
        }
    }
}

impl fmt::Display for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.shown_value())
    }
}

impl fmt::Debug for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pair({self})")
    }
}

/// Parses the `-X` arguments in order; the first bad one is the error, named by position.
pub fn parse_pairs<I, S>(args: I) -> Result<Vec<Pair>, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    args.into_iter()
        .enumerate()
        .map(|(i, arg)| Pair::parse(arg.as_ref(), i + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Pair, ConfigError> {
        Pair::parse(s, 1)
    }

    #[test]
    fn plain_pair() {
        let p = parse("security.protocol=SSL").unwrap();
        assert_eq!((p.key(), p.value()), ("security.protocol", "SSL"));
    }

    #[test]
    fn value_may_contain_equals() {
        let p = parse("k==v").unwrap();
        assert_eq!((p.key(), p.value()), ("k", "=v"));
        let p = parse("sasl.oauthbearer.config=principal=a scope=b").unwrap();
        assert_eq!(p.value(), "principal=a scope=b");
    }

    #[test]
    fn empty_value_is_kept() {
        let p = parse("k=").unwrap();
        assert_eq!((p.key(), p.value()), ("k", ""));
    }

    #[test]
    fn missing_equals_names_the_pair() {
        let e = Pair::parse("security.protocol", 3).unwrap_err();
        assert_eq!(
            e,
            ConfigError::PairMissingEquals {
                index: 3,
                shown: "security.protocol".into()
            }
        );
        let msg = e.to_string();
        assert!(
            msg.contains("#3") && msg.contains("security.protocol"),
            "{msg}"
        );
    }

    #[test]
    fn empty_key_hides_the_value() {
        for arg in ["=kafka123", " =kafka123", "="] {
            let e = Pair::parse(arg, 2).unwrap_err();
            assert_eq!(e, ConfigError::PairEmptyKey { index: 2 });
            assert!(!e.to_string().contains("kafka123"));
        }
    }

    #[test]
    fn whitespace_in_key_is_an_error() {
        for arg in ["k =v", " k=v", "a\tb=v", "a\u{7f}b=v"] {
            assert!(
                matches!(parse(arg), Err(ConfigError::PairBadKey { .. })),
                "{arg:?}"
            );
        }
    }

    #[test]
    fn nul_in_value_is_an_error_without_the_value() {
        let e = parse("ssl.key.password=ab\0cd").unwrap_err();
        assert!(matches!(e, ConfigError::PairNulValue { .. }));
        assert!(!e.to_string().contains("ab"), "{e}");
    }

    #[test]
    fn unicode_passes_unchanged() {
        let p = parse("client.id=zürich-客户端").unwrap();
        assert_eq!(p.value(), "zürich-客户端");
        // An unknown (unicode) key is librdkafka's to reject, not ours.
        let p = parse("ключ=значение").unwrap();
        assert_eq!((p.key(), p.value()), ("ключ", "значение"));
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let p = parse("ssl.key.password=kafka123").unwrap();
        assert_eq!(p.to_string(), "ssl.key.password=[redacted]");
        assert!(!format!("{p:?}").contains("kafka123"));
        let p = parse("ssl.key.location=/tmp/k.pem").unwrap();
        assert_eq!(p.to_string(), "ssl.key.location=/tmp/k.pem");
    }

    #[test]
    fn parse_pairs_reports_the_first_bad_position() {
        let ok = parse_pairs(["a=1", "b=2"]).unwrap();
        assert_eq!(ok.len(), 2);
        let e = parse_pairs(["a=1", "b=2", "c"]).unwrap_err();
        assert!(matches!(e, ConfigError::PairMissingEquals { index: 3, .. }));
    }
}
