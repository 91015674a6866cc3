//! The PostgreSQL connection described by `[dgkafka]`.
//!
//! TLS uses OpenSSL through `postgres-openssl` (rust-postgres' own adapter): it is the
//! library libpq uses, so `sslcert`/`sslkey`/`sslrootcert` accept what psql accepts
//! (PKCS#1, PKCS#8 or EC keys in PEM, certificate chains), `verify-ca` is one switch
//! (`set_verify_hostname(false)`) instead of a hand-written certificate verifier, and the
//! workspace already builds against the system OpenSSL for librdkafka.
//!
//! | sslmode | what is checked |
//! |---|---|
//! | `disable` | no TLS |
//! | `require` | TLS; the certificate is not verified (the seed: "skip verification") |
//! | `verify-ca` | TLS; the chain against `sslrootcert`, or the system roots; not the host name |
//! | `verify-full` | TLS; the chain and the host name |
//!
//! As in libpq, a unix socket (`host` starting with `/`) never uses TLS.

use std::path::Path;
use std::time::Duration;

use openssl::pkey::PKey;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use tokio_postgres::Client;
use tokio_postgres::config::{Config as PgConfig, SslMode as PgSslMode};
use tracing::{debug, info, warn};

use crate::config::{DgkafkaSection, SslMode};

/// Connecting failed; `Display` names the server, database and sslmode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    #[error("cannot read {key} {}", path.display())]
    TlsFile {
        key: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot set up TLS (dgkafka.sslmode = {sslmode}) with {what}")]
    Tls {
        sslmode: SslMode,
        what: String,
        source: openssl::error::ErrorStack,
    },
    #[error(
        "cannot connect to PostgreSQL at {target}, database `{database}`, as `{user}` (dgkafka.sslmode = {sslmode}){hint}"
    )]
    Connect {
        target: String,
        database: String,
        user: String,
        sslmode: SslMode,
        /// A sentence saying which key to look at, or empty.
        hint: String,
        source: tokio_postgres::Error,
    },
}

impl ConnectError {
    /// Worth retrying later (the server was unreachable or busy), as opposed to a
    /// configuration the user must fix.
    pub fn is_retriable(&self) -> bool {
        match self {
            ConnectError::Tls { .. } | ConnectError::TlsFile { .. } => false,
            ConnectError::Connect { source, .. } => {
                source.as_db_error().is_none_or(|db| {
                    db.code().code().starts_with("57") || db.code().code().starts_with("53")
                }) && !source.to_string().contains("TLS")
            }
        }
    }
}

/// Where `[dgkafka]` points, for messages: `host:port` or the socket directory.
pub fn target(section: &DgkafkaSection) -> String {
    if is_unix_socket(&section.host) {
        format!("unix socket {}/.s.PGSQL.{}", section.host, section.port)
    } else {
        format!("{}:{}", section.host, section.port)
    }
}

fn is_unix_socket(host: &str) -> bool {
    host.starts_with('/')
}

/// The tokio-postgres settings for `[dgkafka]` (TLS is chosen by [`connect`]).
pub fn pg_config(section: &DgkafkaSection) -> PgConfig {
    let mut config = PgConfig::new();
    if is_unix_socket(&section.host) {
        config.host_path(&section.host);
    } else {
        config.host(&section.host);
    }
    config
        .port(section.port)
        .dbname(&section.database)
        .user(&section.user)
        .application_name("dgkafka");
    if !section.password.is_empty() {
        config.password(section.password.expose());
    }
    if section.connect_timeout > 0 {
        config.connect_timeout(Duration::from_secs(section.connect_timeout));
    }
    let tls = section.sslmode != SslMode::Disable && !is_unix_socket(&section.host);
    config.ssl_mode(if tls {
        PgSslMode::Require
    } else {
        PgSslMode::Disable
    });
    config
}

/// Connects as `[dgkafka]` says; the connection task runs on the current runtime until
/// the returned client is dropped.
pub async fn connect(section: &DgkafkaSection) -> Result<Client, ConnectError> {
    let config = pg_config(section);
    if is_unix_socket(&section.host) && section.sslmode != SslMode::Disable {
        debug!(sslmode = %section.sslmode, "Unix socket: TLS is not used, as in libpq.");
    }
    let connected = match config.get_ssl_mode() {
        PgSslMode::Disable => config
            .connect(tokio_postgres::NoTls)
            .await
            .map(|(client, conn)| (client, tokio::spawn(conn))),
        _ => {
            let tls = tls_connector(section)?;
            config
                .connect(tls)
                .await
                .map(|(client, conn)| (client, tokio::spawn(conn)))
        }
    };
    match connected {
        Ok((client, task)) => {
            info!(
                server = %target(section),
                database = %section.database,
                user = %section.user,
                sslmode = %section.sslmode,
                "Connected to PostgreSQL."
            );
            // The task ends when the client is dropped; a broken connection shows up as
            // an error on the next query, so only log it here.
            tokio::spawn(async move {
                if let Ok(Err(e)) = task.await {
                    warn!(error = %e, "PostgreSQL connection ended.");
                }
            });
            Ok(client)
        }
        Err(source) => Err(ConnectError::Connect {
            target: target(section),
            database: section.database.clone(),
            user: section.user.clone(),
            sslmode: section.sslmode,
            hint: hint(&source, section),
            source,
        }),
    }
}

/// A pointer to the key that most likely needs changing.
fn hint(error: &tokio_postgres::Error, section: &DgkafkaSection) -> String {
    let text = error.to_string();
    let source = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default();
    if let Some(db) = error.as_db_error() {
        return match db.code().code() {
            "28P01" | "28000" => "; check dgkafka.user and dgkafka.password".to_owned(),
            "3D000" => "; check dgkafka.database".to_owned(),
            _ => String::new(),
        };
    }
    if source.contains("server does not support TLS") {
        return "; the server does not support TLS: enable ssl on the server, or set dgkafka.sslmode = \"disable\" (the default is \"require\")".to_owned();
    }
    if text.contains("TLS") {
        return match section.sslmode {
            SslMode::VerifyCa | SslMode::VerifyFull => {
                "; check dgkafka.sslrootcert (and, for verify-full, that dgkafka.host matches the certificate)".to_owned()
            }
            _ => String::new(),
        };
    }
    if text.contains("timeout") {
        return "; raise dgkafka.connect_timeout or check dgkafka.host and dgkafka.port".to_owned();
    }
    "; check dgkafka.host and dgkafka.port, and that the server is running".to_owned()
}

fn tls_connector(section: &DgkafkaSection) -> Result<MakeTlsConnector, ConnectError> {
    let sslmode = section.sslmode;
    let err = |what: String| {
        move |source| ConnectError::Tls {
            sslmode,
            what,
            source,
        }
    };
    let mut builder = SslConnector::builder(SslMethod::tls_client())
        .map_err(err("the OpenSSL defaults".to_owned()))?;
    let show = |p: &Path| p.display().to_string();
    match sslmode {
        SslMode::Disable | SslMode::Require => {
            if section.sslrootcert.is_some() {
                warn!(
                    sslmode = %sslmode,
                    "dgkafka.sslrootcert is not used with sslmode require (no verification); use verify-ca or verify-full to verify the server."
                );
            }
            builder.set_verify(SslVerifyMode::NONE);
        }
        SslMode::VerifyCa | SslMode::VerifyFull => {
            builder.set_verify(SslVerifyMode::PEER);
            if let Some(root) = &section.sslrootcert {
                builder
                    .set_ca_file(root)
                    .map_err(err(format!("dgkafka.sslrootcert {}", show(root))))?;
            }
        }
    }
    if let (Some(cert), Some(key)) = (&section.sslcert, &section.sslkey) {
        builder
            .set_certificate_chain_file(cert)
            .map_err(err(format!("dgkafka.sslcert {}", show(cert))))?;
        // Read the key ourselves: OpenSSL's default would prompt on the terminal for the
        // pass phrase of an encrypted key, and the seed has no key-password setting.
        let pem = std::fs::read(key).map_err(|source| ConnectError::TlsFile {
            key: "dgkafka.sslkey",
            path: key.clone(),
            source,
        })?;
        let pkey =
            PKey::private_key_from_pem_callback(&pem, |_password| Ok(0)).map_err(err(format!(
                "dgkafka.sslkey {} (a PEM private key; an encrypted key is not supported)",
                show(key)
            )))?;
        builder
            .set_private_key(&pkey)
            .map_err(err(format!("dgkafka.sslkey {}", show(key))))?;
        builder.check_private_key().map_err(err(format!(
            "dgkafka.sslkey {} (it does not match dgkafka.sslcert)",
            show(key)
        )))?;
    }
    let mut connector = MakeTlsConnector::new(builder.build());
    let verify_host = sslmode == SslMode::VerifyFull;
    connector.set_callback(move |config, _host| {
        config.set_verify_hostname(verify_host);
        Ok(())
    });
    Ok(connector)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Password;
    use tokio_postgres::config::Host;

    fn section(host: &str, sslmode: SslMode) -> DgkafkaSection {
        DgkafkaSection {
            database: "db".into(),
            user: "u".into(),
            password: Password::new("pw"),
            host: host.into(),
            port: 6543,
            sslmode,
            connect_timeout: 7,
            sslcert: None,
            sslkey: None,
            sslrootcert: None,
            xdrive_host: "localhost".into(),
            xdrive_port: 7171,
            xdrive_offset_endpoint: "kafkaoffset".into(),
            xdrive_kafka_endpoint: "kafka".into(),
        }
    }

    #[test]
    fn tcp_settings_follow_the_section() {
        let config = pg_config(&section("db.example", SslMode::VerifyFull));
        assert_eq!(config.get_hosts(), [Host::Tcp("db.example".into())]);
        assert_eq!(config.get_ports(), [6543]);
        assert_eq!(config.get_dbname(), Some("db"));
        assert_eq!(config.get_user(), Some("u"));
        assert_eq!(config.get_password(), Some(&b"pw"[..]));
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(7)));
        assert_eq!(config.get_ssl_mode(), PgSslMode::Require);
        assert_eq!(
            target(&section("db.example", SslMode::Require)),
            "db.example:6543"
        );
    }

    #[test]
    fn zero_timeout_waits_indefinitely_and_empty_password_is_not_sent() {
        let mut s = section("h", SslMode::Disable);
        s.connect_timeout = 0;
        s.password = Password::default();
        let config = pg_config(&s);
        assert_eq!(config.get_connect_timeout(), None);
        assert_eq!(config.get_password(), None);
        assert_eq!(config.get_ssl_mode(), PgSslMode::Disable);
    }

    #[test]
    fn slash_hosts_are_socket_directories_without_tls() {
        let config = pg_config(&section("/var/run/postgresql", SslMode::Require));
        assert_eq!(
            config.get_hosts(),
            [Host::Unix("/var/run/postgresql".into())]
        );
        assert_eq!(config.get_ssl_mode(), PgSslMode::Disable);
        assert_eq!(
            target(&section("/tmp", SslMode::Require)),
            "unix socket /tmp/.s.PGSQL.6543"
        );
    }

    #[test]
    fn tls_files_that_do_not_exist_name_the_key() {
        let mut s = section("h", SslMode::VerifyCa);
        s.sslrootcert = Some("/nonexistent/root.crt".into());
        let err = tls_connector(&s).err().expect("missing root cert");
        assert!(err.to_string().contains("dgkafka.sslrootcert"), "{err}");
        let mut s = section("h", SslMode::Require);
        s.sslcert = Some("/nonexistent/client.crt".into());
        s.sslkey = Some("/nonexistent/client.key".into());
        let err = tls_connector(&s).err().expect("missing client cert");
        assert!(err.to_string().contains("dgkafka.sslcert"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("client.crt");
        let key = dir.path().join("client.key");
        let (pem_cert, pem_key, encrypted_key) = self_signed();
        std::fs::write(&cert, pem_cert).unwrap();
        s.sslcert = Some(cert.clone());
        s.sslkey = Some(dir.path().join("absent.key"));
        let err = tls_connector(&s).err().expect("missing client key");
        assert!(
            err.to_string().contains("cannot read dgkafka.sslkey"),
            "{err}"
        );
        std::fs::write(&key, encrypted_key).unwrap();
        s.sslkey = Some(key.clone());
        let err = tls_connector(&s).err().expect("encrypted client key");
        assert!(
            err.to_string()
                .contains("an encrypted key is not supported"),
            "{err}"
        );
        std::fs::write(&key, pem_key).unwrap();
        assert!(tls_connector(&s).is_ok());
    }

    /// A self-signed certificate, its key, and the key encrypted with a pass phrase.
    fn self_signed() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        use openssl::{asn1::Asn1Time, hash::MessageDigest, rsa::Rsa, symm::Cipher, x509};
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "dgkafka-test").unwrap();
        let name = name.build();
        let mut cert = x509::X509Builder::new().unwrap();
        cert.set_version(2).unwrap();
        cert.set_subject_name(&name).unwrap();
        cert.set_issuer_name(&name).unwrap();
        cert.set_pubkey(&key).unwrap();
        cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        cert.sign(&key, MessageDigest::sha256()).unwrap();
        (
            cert.build().to_pem().unwrap(),
            key.private_key_to_pem_pkcs8().unwrap(),
            key.private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"secret")
                .unwrap(),
        )
    }
}
