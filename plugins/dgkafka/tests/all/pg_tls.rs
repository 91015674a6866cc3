//! Each `dgkafka.sslmode` end to end against the REAL test PostgreSQL, which `tests/env/up`
//! starts with TLS on (a server certificate from the test CA, SAN `localhost` and
//! `127.0.0.1`), password authentication over TCP with or without TLS, and `cert`
//! authentication for `pg_cert_user`. `pg_stat_ssl` says whether a session is encrypted.
//! (`tls.rs` covers what needs a server we control, such as a name outside the SAN.)

use std::path::{Path, PathBuf};

use dgkafka::config::{Config, DgkafkaSection, Password, SslMode};
use dgkafka::db;
use dgkafka_testkit::{env, pg, unique_name};
use tokio_postgres::Client;

use crate::{csv_config, dgkafka, write_config};

fn section(sslmode: SslMode) -> DgkafkaSection {
    let mut section = Config::parse(&csv_config("t", "o", ""))
        .expect("test config parses")
        .dgkafka;
    section.sslmode = sslmode;
    section.connect_timeout = 10;
    section
}

fn our_ca() -> Option<PathBuf> {
    Some(env().pg_ssl_root_cert.clone())
}

/// What the server says about this session: (encrypted, TLS version, client certificate
/// DN, current user).
async fn session(client: &Client) -> (bool, Option<String>, Option<String>, String) {
    let row = client
        .query_one(
            "SELECT ssl, version, client_dn, current_user::text
               FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("querying pg_stat_ssl");
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

async fn connect(section: &DgkafkaSection) -> Client {
    db::connect(section)
        .await
        .unwrap_or_else(|e| panic!("connecting with sslmode {}: {}", section.sslmode, chain(&e)))
}

/// The error and its sources, as `main` prints them.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// A CA of our own that signed nothing the server has, as a PEM file in `dir`.
fn throwaway_ca(dir: &Path) -> PathBuf {
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::BasicConstraints;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "throwaway test CA")
        .unwrap();
    let name = name.build();
    let mut cert = X509Builder::new().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    cert.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    let path = dir.join("throwaway-ca.crt");
    std::fs::write(&path, cert.build().to_pem().unwrap()).unwrap();
    path
}

#[tokio::test]
async fn sslmode_disable_is_not_encrypted() {
    let _services = crate::shared_services().await;
    let client = connect(&section(SslMode::Disable)).await;
    let (ssl, version, _, user) = session(&client).await;
    assert!(!ssl, "sslmode disable must not use TLS");
    assert_eq!(version, None);
    assert_eq!(user, env().pg_user);
}

#[tokio::test]
async fn sslmode_require_is_encrypted_without_verifying_the_server() {
    let _services = crate::shared_services().await;
    let client = connect(&section(SslMode::Require)).await;
    let (ssl, version, client_dn, _) = session(&client).await;
    assert!(ssl, "sslmode require must use TLS");
    let version = version.expect("a TLS version");
    assert!(version.starts_with("TLSv1."), "{version}");
    assert_eq!(client_dn, None, "no client certificate was configured");

    // require does not verify: a CA that did not sign the server certificate is ignored.
    let dir = tempfile::tempdir().unwrap();
    let mut s = section(SslMode::Require);
    s.sslrootcert = Some(throwaway_ca(dir.path()));
    let (ssl, ..) = session(&connect(&s).await).await;
    assert!(ssl);
}

#[tokio::test]
async fn sslmode_verify_ca_accepts_our_ca() {
    let _services = crate::shared_services().await;
    let mut s = section(SslMode::VerifyCa);
    s.sslrootcert = our_ca();
    let (ssl, ..) = session(&connect(&s).await).await;
    assert!(ssl);
}

#[tokio::test]
async fn sslmode_verify_ca_without_sslrootcert_fails_on_the_system_roots() {
    let _services = crate::shared_services().await;
    let err = db::connect(&section(SslMode::VerifyCa))
        .await
        .expect_err("the system roots do not know the test CA");
    let text = chain(&err);
    assert!(text.contains("dgkafka.sslmode = verify-ca"), "{text}");
    assert!(text.contains("certificate verify failed"), "{text}");
    assert!(text.contains("check dgkafka.sslrootcert"), "{text}");
    assert!(!err.is_retriable(), "{text}");
}

#[tokio::test]
async fn sslmode_verify_full_accepts_the_ip_address_and_localhost() {
    let _services = crate::shared_services().await;
    for host in ["127.0.0.1", "localhost"] {
        let mut s = section(SslMode::VerifyFull);
        s.host = host.to_owned();
        s.sslrootcert = our_ca();
        let (ssl, _, _, user) = session(&connect(&s).await).await;
        assert!(ssl, "{host}");
        assert_eq!(user, env().pg_user, "{host}");
    }
}

#[tokio::test]
async fn sslmode_verify_full_with_a_wrong_ca_is_a_clear_error() {
    let _services = crate::shared_services().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = section(SslMode::VerifyFull);
    s.sslrootcert = Some(throwaway_ca(dir.path()));
    let err = db::connect(&s)
        .await
        .expect_err("our server certificate is not from the throwaway CA");
    let text = chain(&err);
    assert!(
        text.contains(&format!("127.0.0.1:{}", env().pg_port)),
        "{text}"
    );
    assert!(text.contains("dgkafka.sslmode = verify-full"), "{text}");
    assert!(text.contains("certificate verify failed"), "{text}");
    assert!(
        text.contains("check dgkafka.sslrootcert (and, for verify-full, that dgkafka.host matches the certificate)"),
        "{text}"
    );
    assert!(
        !text.contains(&env().pg_password),
        "the password leaked: {text}"
    );
    assert!(!err.is_retriable(), "{text}");
}

#[tokio::test]
async fn sslcert_and_sslkey_present_the_client_certificate() {
    let _services = crate::shared_services().await;
    let mut s = section(SslMode::VerifyFull);
    s.sslrootcert = our_ca();
    s.sslcert = Some(env().pg_client_cert.clone());
    s.sslkey = Some(env().pg_client_key.clone());
    let (ssl, _, client_dn, user) = session(&connect(&s).await).await;
    assert!(ssl);
    // Password authentication as before, and the server saw our certificate.
    assert_eq!(user, env().pg_user);
    assert_eq!(client_dn, Some(format!("/CN={}", env().pg_user)));
}

#[tokio::test]
async fn cert_authentication_logs_in_with_the_client_certificate_alone() {
    let _services = crate::shared_services().await;
    let mut s = section(SslMode::VerifyFull);
    s.user = env().pg_cert_user.clone();
    s.password = Password::default();
    s.sslrootcert = our_ca();
    s.sslcert = Some(env().pg_client_cert.clone());
    s.sslkey = Some(env().pg_client_key.clone());
    let (ssl, _, client_dn, user) = session(&connect(&s).await).await;
    assert!(ssl);
    assert_eq!(user, env().pg_cert_user);
    assert_eq!(client_dn, Some(format!("/CN={}", env().pg_user)));

    // Without the certificate the server refuses the role.
    s.sslcert = None;
    s.sslkey = None;
    let err = db::connect(&s).await.expect_err("no client certificate");
    let text = chain(&err);
    assert!(text.contains(&env().pg_cert_user), "{text}");
    assert!(text.contains("dgkafka.sslmode = verify-full"), "{text}");
}

/// The `dgkafka` binary reads the TLS keys from `dgkafka.toml` and uses them.
#[tokio::test]
async fn setup_and_check_over_verify_full_with_a_client_certificate() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    let offsets = unique_name("offsets");
    client
        .batch_execute(&format!(
            "CREATE TABLE {output} (c_custkey integer, c_name varchar(25), c_acctbal double precision)"
        ))
        .await
        .unwrap();
    let tls = |ca: &Path| {
        format!(
            "sslmode = \"verify-full\"\nsslrootcert = \"{}\"\nsslcert = \"{}\"\nsslkey = \"{}\"",
            ca.display(),
            env().pg_client_cert.display(),
            env().pg_client_key.display()
        )
    };
    // setup and check reach Kafka too (through xdrive).
    let kafka = crate::setup::KafkaSide::new(3);
    let text = kafka.config(&csv_config(&output, &offsets, ""));
    assert!(text.contains("sslmode = \"disable\""));

    let config =
        write_config(&text.replace("sslmode = \"disable\"", &tls(&env().pg_ssl_root_cert)));
    let setup = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(setup.code, 0, "{setup:?}");
    let check = dgkafka(&["check"], Some(&config.path));
    assert_eq!(check.code, 0, "{check:?}");
    assert!(
        check.stdout.contains("(no batch recorded yet)"),
        "{check:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let wrong = throwaway_ca(dir.path());
    let config = write_config(&text.replace("sslmode = \"disable\"", &tls(&wrong)));
    let check = dgkafka(&["check"], Some(&config.path));
    assert_eq!(check.code, 1, "{check:?}");
    assert!(
        check.stderr.contains("dgkafka.sslmode = verify-full"),
        "{check:?}"
    );
    assert!(
        check.stderr.contains("certificate verify failed"),
        "{check:?}"
    );
}
