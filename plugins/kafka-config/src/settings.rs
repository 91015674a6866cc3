//! A tool's defaults + the broker list + the user's `-X` pairs → one librdkafka config.

use std::collections::BTreeMap;
use std::fmt;

use rdkafka::ClientConfig;

use crate::brokers::BrokerList;
use crate::pair::Pair;
use crate::redact::{Redactor, is_secret_pair};

/// librdkafka's property aliases (alias, canonical). Two spellings of one property must
/// not both reach librdkafka: `ClientConfig` is a hash map, so which one librdkafka saw
/// last would be an accident.
const ALIASES: &[(&str, &str)] = &[
    ("bootstrap.servers", "metadata.broker.list"),
    ("max.in.flight", "max.in.flight.requests.per.connection"),
    ("sasl.mechanism", "sasl.mechanisms"),
    (
        "sasl.oauthbearer.client.credentials.client.id",
        "sasl.oauthbearer.client.id",
    ),
    (
        "sasl.oauthbearer.client.credentials.client.secret",
        "sasl.oauthbearer.client.secret",
    ),
    ("max.partition.fetch.bytes", "fetch.message.max.bytes"),
    ("linger.ms", "queue.buffering.max.ms"),
    ("retries", "message.send.max.retries"),
    ("compression.type", "compression.codec"),
    ("acks", "request.required.acks"),
    ("delivery.timeout.ms", "message.timeout.ms"),
];

/// The canonical librdkafka name of a property: aliases (`linger.ms`, `acks`,
/// `bootstrap.servers`, …) map to the name they stand for; anything else is itself.
pub fn canonical_key(key: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key, |(_, canonical)| canonical)
}

/// Everything a Kafka-facing tool hands librdkafka, in three layers that override in
/// order: the tool's own defaults, the broker list (as `bootstrap.servers`), and the
/// user's `-X` pairs, which go to librdkafka unchanged and always win — including over the
/// broker list, so `-X bootstrap.servers=...` replaces the positional list. Aliases are
/// resolved when layering, so `-X linger.ms=0` replaces a default set as
/// `queue.buffering.max.ms`.
///
/// `Debug` and `Display` show the resolved settings with secret values replaced by
/// `[redacted]`.
#[derive(Clone)]
pub struct KafkaSettings {
    brokers: BrokerList,
    defaults: Vec<Pair>,
    user: Vec<Pair>,
}

impl KafkaSettings {
    /// Settings for these brokers, with no defaults and no user pairs yet.
    pub fn new(brokers: BrokerList) -> KafkaSettings {
        KafkaSettings {
            brokers,
            defaults: Vec::new(),
            user: Vec::new(),
        }
    }

    /// Adds the tool's defaults (later ones override earlier ones).
    pub fn with_defaults<I, K, V>(mut self, defaults: I) -> KafkaSettings
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.defaults
            .extend(defaults.into_iter().map(|(k, v)| Pair::new(k, v)));
        self
    }

    /// Adds the user's `-X` pairs (later ones override earlier ones, as with librdkafka's
    /// own tools).
    pub fn with_user_pairs(mut self, pairs: impl IntoIterator<Item = Pair>) -> KafkaSettings {
        self.user.extend(pairs);
        self
    }

    /// The broker list.
    pub fn brokers(&self) -> &BrokerList {
        &self.brokers
    }

    /// The user's pairs, in order.
    pub fn user_pairs(&self) -> &[Pair] {
        &self.user
    }

    /// The value librdkafka will get for `key` (any spelling), if any layer sets it.
    pub fn get(&self, key: &str) -> Option<String> {
        self.entries()
            .into_iter()
            .find(|(k, _)| canonical_key(k) == canonical_key(key))
            .map(|(_, v)| v)
    }

    /// Whether the user set `key` (in any spelling) with `-X`.
    pub fn user_set(&self, key: &str) -> bool {
        let canon = canonical_key(key);
        self.user.iter().any(|p| canonical_key(p.key()) == canon)
    }

    /// The resolved `(key, value)` list, sorted by canonical name, values in clear.
    pub fn entries(&self) -> Vec<(String, String)> {
        let brokers = self.brokers.to_string();
        let mut map: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
        for p in &self.defaults {
            map.insert(canonical_key(p.key()), (p.key(), p.value()));
        }
        map.insert(
            canonical_key("bootstrap.servers"),
            ("bootstrap.servers", &brokers),
        );
        for p in &self.user {
            map.insert(canonical_key(p.key()), (p.key(), p.value()));
        }
        map.into_values()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// The librdkafka configuration: one entry per property, user's pairs winning.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (k, v) in self.entries() {
            config.set(k, v);
        }
        config
    }

    /// [`client_config`](KafkaSettings::client_config) with librdkafka's log level set to
    /// what `tracing` shows for target `librdkafka` ([`tracing_log_level`]); a client
    /// made from it should log through [`forward_log`].
    ///
    /// [`tracing_log_level`]: crate::tracing_log_level
    /// [`forward_log`]: crate::forward_log
    pub fn traced_client_config(&self) -> ClientConfig {
        let mut config = self.client_config();
        config.set_log_level(crate::log::tracing_log_level());
        config
    }

    /// The bootstrap brokers a client made from these settings uses: a user's
    /// `-X bootstrap.servers` (or `metadata.broker.list`) if given, else the broker list.
    pub fn bootstrap_servers(&self) -> String {
        self.get("bootstrap.servers")
            .unwrap_or_else(|| self.brokers.to_string())
    }

    /// A [`Redactor`] for every secret value in these settings, to clean librdkafka's log
    /// lines and error strings before they are shown.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(
            self.defaults
                .iter()
                .chain(self.user.iter())
                .filter(|p| p.is_secret())
                .map(|p| p.value().to_owned()),
        )
    }
}

impl fmt::Display for KafkaSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.entries().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}", Pair::new(k.as_str(), v.as_str()))?;
        }
        Ok(())
    }
}

impl fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.entries() {
            if is_secret_pair(&k, &v) {
                m.entry(&k, &crate::REDACTED);
            } else {
                m.entry(&k, &v);
            }
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_pairs;

    fn settings(user: &[&str]) -> KafkaSettings {
        KafkaSettings::new(BrokerList::parse("h1:9092,h2").unwrap())
            .with_defaults([
                ("linger.ms", "20"),
                ("compression.codec", "lz4"),
                ("enable.idempotence", "true"),
            ])
            .with_user_pairs(parse_pairs(user).unwrap())
    }

    #[test]
    fn bootstrap_servers_are_the_users_when_given() {
        assert_eq!(settings(&[]).bootstrap_servers(), "h1:9092,h2");
        assert_eq!(
            settings(&["metadata.broker.list=x:1"]).bootstrap_servers(),
            "x:1"
        );
    }

    #[test]
    fn defaults_and_brokers() {
        let s = settings(&[]);
        let c = s.client_config();
        assert_eq!(c.get("bootstrap.servers"), Some("h1:9092,h2"));
        assert_eq!(c.get("linger.ms"), Some("20"));
        assert_eq!(c.get("compression.codec"), Some("lz4"));
        assert_eq!(s.get("queue.buffering.max.ms").as_deref(), Some("20"));
    }

    #[test]
    fn user_pairs_override_defaults_unchanged() {
        let s = settings(&["compression.codec=zstd", "client.id=a=b"]);
        let c = s.client_config();
        assert_eq!(c.get("compression.codec"), Some("zstd"));
        assert_eq!(c.get("client.id"), Some("a=b"));
        assert!(s.user_set("compression.type"));
        assert!(!s.user_set("linger.ms"));
    }

    #[test]
    fn aliases_never_both_reach_librdkafka() {
        let s = settings(&["queue.buffering.max.ms=0", "compression.type=gzip"]);
        let c = s.client_config();
        assert_eq!(c.get("linger.ms"), None);
        assert_eq!(c.get("queue.buffering.max.ms"), Some("0"));
        assert_eq!(c.get("compression.codec"), None);
        assert_eq!(c.get("compression.type"), Some("gzip"));
        assert_eq!(s.get("linger.ms").as_deref(), Some("0"));
    }

    #[test]
    fn user_broker_list_replaces_the_positional_one() {
        let s = settings(&["metadata.broker.list=other:1"]);
        let c = s.client_config();
        assert_eq!(c.get("bootstrap.servers"), None);
        assert_eq!(c.get("metadata.broker.list"), Some("other:1"));
    }

    #[test]
    fn later_user_pairs_win() {
        let s = settings(&["acks=1", "request.required.acks=all"]);
        assert_eq!(s.get("acks").as_deref(), Some("all"));
        assert_eq!(s.client_config().get("acks"), None);
    }

    #[test]
    fn secrets_never_in_debug_or_display() {
        let s = settings(&[
            "security.protocol=SSL",
            "ssl.key.password=kafka123",
            "sasl.password=hunter2",
            "sasl.oauthbearer.client.secret=s3cr3t",
            "ssl.key.pem=-----BEGIN PRIVATE KEY-----abc",
            "ssl.key.location=/k.pem",
        ]);
        for shown in [format!("{s}"), format!("{s:?}"), format!("{s:#?}")] {
            for secret in ["kafka123", "hunter2", "s3cr3t", "BEGIN PRIVATE"] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(shown.contains("ssl.key.password"), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
            assert!(shown.contains("/k.pem"), "{shown}");
        }
        // The client config itself keeps the clear values for librdkafka.
        assert_eq!(s.client_config().get("ssl.key.password"), Some("kafka123"));
    }

    #[test]
    fn redactor_covers_the_secrets_in_force() {
        let s = settings(&["ssl.key.password=kafka123", "client.id=public"]);
        let r = s.redactor();
        assert_eq!(
            r.redact("failed with kafka123 for public"),
            "failed with [redacted] for public"
        );
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical_key("linger.ms"), "queue.buffering.max.ms");
        assert_eq!(canonical_key("acks"), "request.required.acks");
        assert_eq!(canonical_key("client.id"), "client.id");
    }

    #[test]
    fn client_config_is_accepted_by_librdkafka() {
        let s = settings(&["security.protocol=plaintext", "client.id=zürich"]);
        s.client_config()
            .create_native_config()
            .expect("librdkafka accepts the resolved settings");
    }

    #[test]
    fn unknown_property_is_rejected_by_librdkafka_with_its_name() {
        let s = settings(&["ключ=значение"]);
        let Err(err) = s.client_config().create_native_config() else {
            panic!("librdkafka accepted an unknown property");
        };
        let exp = crate::explain(&err);
        assert_eq!(exp.category, crate::Category::Config);
        assert!(exp.to_string().contains("ключ"), "{exp}");
    }
}
