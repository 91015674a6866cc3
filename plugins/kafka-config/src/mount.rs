//! A plugin mount's Kafka arguments, as the seed's `xdrive.toml` gives them:
//! `argv = ["xdr_kafka/xdr_kafka", "-X", "key=value", ..., "kafkahost1:9092,kafkahost2:9092"]`.

use crate::brokers::BrokerList;
use crate::error::ConfigError;
use crate::pair::{Pair, parse_pairs};
use crate::settings::KafkaSettings;

/// A mount's broker list and `-X` pairs, checked; [`MountArgs::settings`] layers them over a
/// client's defaults.
#[derive(Debug, Clone)]
pub struct MountArgs {
    brokers: BrokerList,
    pairs: Vec<Pair>,
}

impl MountArgs {
    /// Parses the broker list (first) and the `-X` values (`key=value`, in order).
    pub fn parse<I, S>(brokers: &str, properties: I) -> Result<MountArgs, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(MountArgs {
            brokers: BrokerList::parse(brokers)?,
            pairs: parse_pairs(properties)?,
        })
    }

    /// A client's settings: `defaults`, the brokers, the user's pairs (which win).
    pub fn settings(&self, defaults: &[(&str, &str)]) -> KafkaSettings {
        KafkaSettings::new(self.brokers.clone())
            .with_defaults(defaults.iter().copied())
            .with_user_pairs(self.pairs.iter().cloned())
    }
}

/// The seed's `xdrive.toml` example for a plugin mounted as `name` running `argv0`, plain
/// and with SSL `-X` pairs, indented for a plugin's `--help`.
pub fn seed_mount_example(name: &str, argv0: &str) -> String {
    format!(
        "  [[xdrive.mount]]
  name = \"{name}\"
  argv = [\"{argv0}\", \"kafkahost1:9092,kafkahost2:9092\"]

For SSL, give librdkafka's settings with -X key=value pairs (passed unchanged; secrets such
as ssl.key.password never reach the logs):

  argv = [\"{argv0}\",
       \"-X\", \"security.protocol=SSL\",
       \"-X\", \"ssl.key.location=/var/config/kafka/ca-key\",
       \"-X\", \"ssl.key.password=kafka123\",
       \"-X\", \"ssl.certificate.location=/var/config/kafka/ca-cert\",
       \"-X\", \"ssl.ca.location=/var/config/kafka/ca-cert\",
       \"kafkahost1:9092,kafkahost2:9092\"]"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client's defaults, as a plugin has them.
    const DEFAULTS: &[(&str, &str)] = &[("client.id", "a_plugin"), ("socket.timeout.ms", "10000")];

    #[test]
    fn the_seed_broker_list_becomes_bootstrap_servers_over_the_defaults() {
        let m = MountArgs::parse("kafkahost1:9092,kafkahost2:9092", [""; 0]).unwrap();
        let s = m.settings(DEFAULTS);
        assert_eq!(s.bootstrap_servers(), "kafkahost1:9092,kafkahost2:9092");
        assert_eq!(s.get("client.id").as_deref(), Some("a_plugin"));
        assert_eq!(m.settings(&[]).get("client.id"), None);
    }

    #[test]
    fn seed_ssl_argv_goes_to_librdkafka_unchanged_and_hides_the_password() {
        let m = MountArgs::parse(
            "kafkahost1:9092,kafkahost2:9092",
            [
                "security.protocol=SSL",
                "ssl.key.location=/var/config/kafka/ca-key",
                "ssl.key.password=kafka123",
                "ssl.certificate.location=/var/config/kafka/ca-cert",
                "ssl.ca.location=/var/config/kafka/ca-cert",
            ],
        )
        .unwrap();
        for s in [m.settings(DEFAULTS), m.settings(&[])] {
            let cc = s.client_config();
            assert_eq!(cc.get("security.protocol"), Some("SSL"));
            assert_eq!(cc.get("ssl.key.location"), Some("/var/config/kafka/ca-key"));
            assert_eq!(cc.get("ssl.key.password"), Some("kafka123"));
            assert_eq!(cc.get("ssl.ca.location"), Some("/var/config/kafka/ca-cert"));
            assert!(!s.to_string().contains("kafka123"), "{s}");
            assert!(!format!("{s:?}").contains("kafka123"));
            assert!(!format!("{m:?}").contains("kafka123"));
            assert!(s.to_string().contains("ssl.key.password=[redacted]"), "{s}");
        }
    }

    #[test]
    fn user_pairs_override_defaults() {
        let m = MountArgs::parse("b:9092", ["socket.timeout.ms=3000"]).unwrap();
        assert_eq!(
            m.settings(DEFAULTS)
                .client_config()
                .get("socket.timeout.ms"),
            Some("3000")
        );
    }

    #[test]
    fn bad_arguments_are_errors() {
        let e = MountArgs::parse("b:9092", ["nokeyvalue"]).unwrap_err();
        assert!(e.to_string().contains("has no '='"), "{e}");
        let e = MountArgs::parse("a:9092,,b:9092", [""; 0]).unwrap_err();
        assert!(e.to_string().contains("entry #2 is empty"), "{e}");
    }

    #[test]
    fn the_seed_example_names_the_mount_and_program() {
        let text = seed_mount_example("kafka", "xdr_kafka/xdr_kafka");
        assert!(
            text.starts_with("  [[xdrive.mount]]\n  name = \"kafka\"\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  argv = [\"xdr_kafka/xdr_kafka\", \"kafkahost1:9092,kafkahost2:9092\"]"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "  argv = [\"xdr_kafka/xdr_kafka\",\n       \"-X\", \"security.protocol=SSL\","
            ),
            "{text}"
        );
        assert!(
            text.ends_with("\"kafkahost1:9092,kafkahost2:9092\"]"),
            "{text}"
        );
    }
}
