//! Where the services are: `tests/env/defaults.env`, overridden by environment
//! variables of the same names, exactly as the shell scripts read it.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

const DEFAULTS: &str = include_str!("../env/defaults.env");

/// Addresses and credentials of the test services.
#[derive(Debug, Clone)]
pub struct Env {
    /// Everything the scripts own: data, logs, jars, TLS material, build cache.
    pub home: PathBuf,
    /// PLAINTEXT listener, `127.0.0.1:<port>`.
    pub kafka_bootstrap: String,
    /// SSL listener that requires a client certificate.
    pub kafka_ssl_bootstrap: String,
    /// `ca.crt`, `client.crt` and the encrypted `client.key`.
    pub ssl_dir: PathBuf,
    pub ssl_key_password: String,
    pub pg_host: String,
    pub pg_port: u16,
    pub pg_user: String,
    pub pg_password: String,
    pub pg_database: String,
    /// The CA that signed the PostgreSQL server certificate (`sslrootcert`), `ssl/ca.crt`.
    pub pg_ssl_root_cert: PathBuf,
    /// Client certificate with CN = `pg_user`, for `sslcert` (`ssl/pg-client.crt`).
    pub pg_client_cert: PathBuf,
    /// Its private key, not encrypted, for `sslkey` (`ssl/pg-client.key`).
    pub pg_client_key: PathBuf,
    /// The role `pg_client_cert` logs in as with `cert` authentication (TLS only, no
    /// password).
    pub pg_cert_user: String,
}

impl Env {
    fn load() -> Env {
        let get = |key: &str| -> String {
            std::env::var(key)
                .ok()
                .unwrap_or_else(|| default_value(key))
        };
        let home = std::env::var_os("DGKAFKA_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home_dir().join(".cache/dgkafka-rs"));
        let port = |key: &str| -> u16 {
            let value = get(key);
            value
                .parse()
                .unwrap_or_else(|_| panic!("{key}={value:?} is not a port number"))
        };
        let ssl_dir = home.join("ssl");
        Env {
            pg_ssl_root_cert: ssl_dir.join("ca.crt"),
            pg_client_cert: ssl_dir.join("pg-client.crt"),
            pg_client_key: ssl_dir.join("pg-client.key"),
            pg_cert_user: get("DGKAFKA_PG_CERT_USER"),
            ssl_dir,
            home,
            kafka_bootstrap: format!("127.0.0.1:{}", port("DGKAFKA_KAFKA_PORT")),
            kafka_ssl_bootstrap: format!("127.0.0.1:{}", port("DGKAFKA_KAFKA_SSL_PORT")),
            ssl_key_password: get("DGKAFKA_SSL_KEY_PASSWORD"),
            pg_host: "127.0.0.1".to_owned(),
            pg_port: port("DGKAFKA_PG_PORT"),
            pg_user: get("DGKAFKA_PG_USER"),
            pg_password: get("DGKAFKA_PG_PASSWORD"),
            pg_database: get("DGKAFKA_PG_DATABASE"),
        }
    }

    /// librdkafka settings for the SSL listener with our client certificate, as the
    /// seed's `-X` example spells them.
    pub fn ssl_client_pairs(&self) -> Vec<(String, String)> {
        let file = |name: &str| self.ssl_dir.join(name).display().to_string();
        vec![
            ("security.protocol".into(), "SSL".into()),
            ("ssl.key.location".into(), file("client.key")),
            ("ssl.key.password".into(), self.ssl_key_password.clone()),
            ("ssl.certificate.location".into(), file("client.crt")),
            ("ssl.ca.location".into(), file("ca.crt")),
        ]
    }

    /// The seed's `-X key=value` arguments for the SSL listener ([`Env::ssl_client_pairs`]),
    /// with the key password replaced by `password` when given (to test a wrong one).
    pub fn ssl_x_args(&self, password: Option<&str>) -> Vec<String> {
        self.ssl_client_pairs()
            .into_iter()
            .flat_map(|(k, v)| {
                let v = match (k.as_str(), password) {
                    ("ssl.key.password", Some(p)) => p.to_owned(),
                    _ => v,
                };
                ["-X".to_owned(), format!("{k}={v}")]
            })
            .collect()
    }

    /// A plugin mount's arguments for the SSL listener as the seed's example gives them:
    /// [`Env::ssl_x_args`], then the SSL broker list.
    pub fn ssl_mount_args(&self, password: Option<&str>) -> Vec<String> {
        let mut args = self.ssl_x_args(password);
        args.push(self.kafka_ssl_bootstrap.clone());
        args
    }

    /// A libpq-style connection string with password authentication over TCP, without
    /// TLS (the server offers TLS too, with a certificate from our CA).
    pub fn pg_connection_string(&self) -> String {
        format!(
            "host={} port={} user={} password={} dbname={} sslmode=disable",
            self.pg_host, self.pg_port, self.pg_user, self.pg_password, self.pg_database
        )
    }

    /// Where a service's log lives, for failure messages.
    pub fn logs_dir(&self) -> PathBuf {
        self.home.join("logs")
    }

    fn check_reachable(&self) {
        for (what, addr) in [
            ("Kafka broker", self.kafka_bootstrap.clone()),
            ("Kafka SSL listener", self.kafka_ssl_bootstrap.clone()),
            ("PostgreSQL", format!("{}:{}", self.pg_host, self.pg_port)),
        ] {
            let sock: SocketAddr = addr.parse().expect("loopback address");
            if let Err(e) = TcpStream::connect_timeout(&sock, Duration::from_secs(3)) {
                panic!(
                    "the test services are not running: {what} at {addr} is unreachable ({e}).\n\
                     Start them with `tests/env/up` (logs under {}).",
                    self.logs_dir().display()
                );
            }
        }
    }
}

/// The services of this run, checked reachable on first use.
pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let env = Env::load();
        env.check_reachable();
        env
    })
}

/// The root of the repository (for scripts under `tests/env/` and fixtures).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn default_value(key: &str) -> String {
    DEFAULTS
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| panic!("{key} is not set and has no default in tests/env/defaults.env"))
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .expect("HOME is set")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_has_every_key_the_kit_reads() {
        for key in [
            "DGKAFKA_KAFKA_PORT",
            "DGKAFKA_KAFKA_SSL_PORT",
            "DGKAFKA_SSL_KEY_PASSWORD",
            "DGKAFKA_PG_PORT",
            "DGKAFKA_PG_USER",
            "DGKAFKA_PG_PASSWORD",
            "DGKAFKA_PG_DATABASE",
            "DGKAFKA_PG_CERT_USER",
        ] {
            assert!(!default_value(key).is_empty(), "{key}");
        }
    }

    #[test]
    fn ssl_x_args_are_the_seeds_pairs_with_the_password_replaced_when_asked() {
        let env = Env::load();
        let args = env.ssl_x_args(None);
        assert_eq!(args.len(), 10);
        assert!(args.iter().step_by(2).all(|a| a == "-X"));
        assert_eq!(args[1], "security.protocol=SSL");
        let password = format!("ssl.key.password={}", env.ssl_key_password);
        assert!(args.contains(&password), "{args:?}");
        let wrong = env.ssl_x_args(Some("wrong"));
        assert!(
            wrong.contains(&"ssl.key.password=wrong".to_owned()),
            "{wrong:?}"
        );
        assert!(!wrong.contains(&password));
        assert_eq!(
            env.ssl_mount_args(None).last(),
            Some(&env.kafka_ssl_bootstrap)
        );
        assert_eq!(
            args.iter()
                .filter(|a| !a.starts_with("ssl.key.password="))
                .collect::<Vec<_>>(),
            wrong
                .iter()
                .filter(|a| !a.starts_with("ssl.key.password="))
                .collect::<Vec<_>>()
        );
    }
}
