//! Broker lists: `kafkahost1:9092,kafkahost2:9092`.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;

/// One bootstrap broker, `[proto://]host[:port]`, as librdkafka's `bootstrap.servers`
/// accepts it.
///
/// The port is optional because the seed's own example (`kafkahost1,kafkahost2,...`) has
/// none; librdkafka then uses 9092. IPv6 addresses go in brackets (`[::1]:9092`), since a
/// bare `::1:9092` is ambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

impl Broker {
    /// The `proto://` prefix (`SSL`, `PLAINTEXT`, …) if one was given.
    pub fn scheme(&self) -> Option<&str> {
        self.scheme.as_deref()
    }

    /// The host name or address (IPv6 with its brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port if one was given (librdkafka's default is 9092).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    fn parse(entry: &str) -> Result<Broker, ConfigError> {
        let bad = |reason| ConfigError::BadBroker {
            entry: entry.to_owned(),
            reason,
        };
        if entry.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("contains whitespace or control characters"));
        }
        let (scheme, rest) = match entry.split_once("://") {
            Some((scheme, rest)) => {
                if scheme.is_empty()
                    || !scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(bad("the protocol before :// must be a word such as SSL"));
                }
                (Some(scheme.to_owned()), rest)
            }
            None => (None, entry),
        };
        if rest.contains('/') {
            return Err(bad("expected host:port, not a URL path"));
        }
        let (host, port) = if let Some(after_bracket) = rest.strip_prefix('[') {
            let Some((inside, tail)) = after_bracket.split_once(']') else {
                return Err(bad("an IPv6 address opened with [ must be closed with ]"));
            };
            if inside.is_empty() {
                return Err(bad("the IPv6 address inside [] is empty"));
            }
            let port = match tail {
                "" => None,
                t => match t.strip_prefix(':') {
                    Some(p) => Some(p),
                    None => return Err(bad("expected :port after the ] of an IPv6 address")),
                },
            };
            (format!("[{inside}]"), port)
        } else {
            match rest.matches(':').count() {
                0 => (rest.to_owned(), None),
                1 => {
                    let (h, p) = rest.split_once(':').unwrap_or((rest, ""));
                    (h.to_owned(), Some(p))
                }
                _ => {
                    return Err(bad(
                        "more than one ':'; write IPv6 addresses in brackets, e.g. [::1]:9092",
                    ));
                }
            }
        };
        if host.is_empty() {
            return Err(bad("the host name is empty"));
        }
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                _ => {
                    return Err(ConfigError::BadPort {
                        entry: entry.to_owned(),
                        port: p.to_owned(),
                    });
                }
            },
        };
        Ok(Broker { scheme, host, port })
    }
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.scheme {
            write!(f, "{s}://")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

/// A comma-separated list of bootstrap brokers, every entry validated.
///
/// Spaces around entries are dropped; an empty entry (`a,,b`, a trailing comma) is an
/// error rather than silently ignored, since it usually means a host went missing from a
/// script variable. `Display` gives the list in the form `bootstrap.servers` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerList {
    brokers: Vec<Broker>,
}

impl BrokerList {
    /// Parses `host[:port][,host[:port]...]`.
    pub fn parse(list: &str) -> Result<BrokerList, ConfigError> {
        if list.trim().is_empty() {
            return Err(ConfigError::EmptyBrokerList);
        }
        let brokers = list
            .split(',')
            .enumerate()
            .map(|(i, entry)| {
                let entry = entry.trim();
                if entry.is_empty() {
                    Err(ConfigError::EmptyBroker {
                        list: list.to_owned(),
                        index: i + 1,
                    })
                } else {
                    Broker::parse(entry)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BrokerList { brokers })
    }

    /// The entries, in the order given.
    pub fn brokers(&self) -> &[Broker] {
        &self.brokers
    }
}

impl FromStr for BrokerList {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BrokerList::parse(s)
    }
}

impl fmt::Display for BrokerList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.brokers.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{b}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> BrokerList {
        BrokerList::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn hosts_with_and_without_ports() {
        let l = ok("kafkahost1:9092,kafkahost2");
        assert_eq!(l.brokers().len(), 2);
        assert_eq!(l.brokers()[0].host(), "kafkahost1");
        assert_eq!(l.brokers()[0].port(), Some(9092));
        assert_eq!(l.brokers()[1].port(), None);
        assert_eq!(l.to_string(), "kafkahost1:9092,kafkahost2");
    }

    #[test]
    fn spaces_around_entries_are_dropped() {
        assert_eq!(
            ok(" a:1 , b:2 ").to_string(),
            "a:1,b:2",
            "spaces around entries"
        );
    }

    #[test]
    fn ipv6_and_schemes() {
        let l = ok("[::1]:39092,SSL://broker.example:9093,[fe80::1]");
        assert_eq!(l.brokers()[0].host(), "[::1]");
        assert_eq!(l.brokers()[0].port(), Some(39092));
        assert_eq!(l.brokers()[1].scheme(), Some("SSL"));
        assert_eq!(l.brokers()[2].port(), None);
        assert_eq!(
            l.to_string(),
            "[::1]:39092,SSL://broker.example:9093,[fe80::1]"
        );
    }

    #[test]
    fn empty_lists_and_entries() {
        assert_eq!(BrokerList::parse(""), Err(ConfigError::EmptyBrokerList));
        assert_eq!(BrokerList::parse("  "), Err(ConfigError::EmptyBrokerList));
        for (s, index) in [("a:1,,b:2", 2), ("a:1,", 2), (",a:1", 1), ("a, ,b", 2)] {
            match BrokerList::parse(s) {
                Err(ConfigError::EmptyBroker { index: i, .. }) => assert_eq!(i, index, "{s}"),
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn bad_ports() {
        for s in ["a:", "a:0", "a:65536", "a:x", "a:+1", "a:-1", "[::1]:"] {
            assert!(
                matches!(BrokerList::parse(s), Err(ConfigError::BadPort { .. })),
                "{s:?}"
            );
        }
    }

    #[test]
    fn bad_entries() {
        for s in [
            ":9092",
            "::1:9092",
            "a b:1",
            "[::1",
            "[]:1",
            "[::1]x",
            "://a:1",
            "a/b:1",
            "ss l://a:1",
            "hôst\u{0}:1",
        ] {
            assert!(
                matches!(BrokerList::parse(s), Err(ConfigError::BadBroker { .. })),
                "{s:?}: {:?}",
                BrokerList::parse(s)
            );
        }
    }

    #[test]
    fn unicode_host_names_are_librdkafkas_to_resolve() {
        assert_eq!(
            ok("bücher.example:9092").brokers()[0].host(),
            "bücher.example"
        );
    }

    #[test]
    fn errors_name_the_entry() {
        let e = BrokerList::parse("good:1,bad:port").unwrap_err();
        assert!(e.to_string().contains("bad:port"), "{e}");
    }
}
