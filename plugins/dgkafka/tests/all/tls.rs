//! Each `dgkafka.sslmode` against a stand-in server that speaks the start of PostgreSQL's
//! protocol (it answers the SSLRequest with `S`) and then TLS with the test CA's broker
//! certificate (SAN `localhost`, `127.0.0.1`). It can listen where the real server does not
//! (a name outside the SAN) and require a client certificate; `pg_tls.rs` tests each mode
//! against the real server. After a completed handshake the stand-in replies to the
//! startup message with an ErrorResponse the client reports.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::thread::JoinHandle;

use dgkafka::config::{Config, DgkafkaSection, SslMode};
use dgkafka::db;
use dgkafka_testkit::env;
use openssl::pkey::PKey;
use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod, SslVerifyMode};

use crate::csv_config;

const HANDSHAKE_DONE: &str = "stand-in server: TLS handshake completed";

/// Serves one connection on `ip`; the thread returns whether the TLS handshake completed.
fn stand_in(ip: &str, require_client_cert: bool) -> (SocketAddr, JoinHandle<bool>) {
    let ssl = &env().ssl_dir;
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor
        .set_certificate_chain_file(ssl.join("broker.crt"))
        .unwrap();
    acceptor
        .set_private_key_file(ssl.join("broker.key"), SslFiletype::PEM)
        .unwrap();
    if require_client_cert {
        acceptor.set_ca_file(ssl.join("ca.crt")).unwrap();
        acceptor.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    }
    let acceptor = acceptor.build();
    let listener = TcpListener::bind((ip, 0)).unwrap_or_else(|e| panic!("binding {ip}: {e}"));
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut ssl_request = [0u8; 8];
        stream.read_exact(&mut ssl_request).unwrap();
        assert_eq!(
            ssl_request,
            [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f],
            "the client opens with an SSLRequest"
        );
        stream.write_all(b"S").unwrap();
        let Ok(mut tls) = acceptor.accept(stream) else {
            return false;
        };
        let mut startup = [0u8; 512];
        let _ = tls.read(&mut startup);
        let mut fields = Vec::new();
        for (code, value) in [
            (b'S', "FATAL"),
            (b'V', "FATAL"),
            (b'C', "28000"),
            (b'M', HANDSHAKE_DONE),
        ] {
            fields.push(code);
            fields.extend_from_slice(value.as_bytes());
            fields.push(0);
        }
        fields.push(0);
        let mut message = vec![b'E'];
        message.extend_from_slice(&(fields.len() as i32 + 4).to_be_bytes());
        message.extend_from_slice(&fields);
        let _ = tls.write_all(&message);
        let _ = tls.flush();
        true
    });
    (addr, handle)
}

fn section(addr: SocketAddr, sslmode: SslMode) -> DgkafkaSection {
    let mut section = Config::parse(&csv_config("t", "o", "")).unwrap().dgkafka;
    section.host = addr.ip().to_string();
    section.port = addr.port();
    section.sslmode = sslmode;
    section.connect_timeout = 10;
    section
}

fn ca() -> Option<PathBuf> {
    Some(env().ssl_dir.join("ca.crt"))
}

/// Connects; returns (client side completed the handshake, server side did, error text).
async fn attempt(section: DgkafkaSection, server: JoinHandle<bool>) -> (bool, bool, String) {
    let err = db::connect(&section)
        .await
        .expect_err("the stand-in never lets a client in");
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    let server_done = server.join().unwrap();
    (text.contains(HANDSHAKE_DONE), server_done, text)
}

#[tokio::test]
async fn require_encrypts_without_verifying() {
    let _services = crate::shared_services().await;
    let (addr, server) = stand_in("127.0.0.1", false);
    let (client, server, text) = attempt(section(addr, SslMode::Require), server).await;
    assert!(client && server, "{text}");
}

#[tokio::test]
async fn verify_ca_checks_the_chain_but_not_the_host_name() {
    let _services = crate::shared_services().await;
    // 127.0.0.2 is not in the broker certificate.
    let (addr, server) = stand_in("127.0.0.2", false);
    let mut s = section(addr, SslMode::VerifyCa);
    s.sslrootcert = ca();
    let (client, server, text) = attempt(s, server).await;
    assert!(client && server, "{text}");

    // Without sslrootcert the system roots do not know the test CA.
    let (addr, server) = stand_in("127.0.0.1", false);
    let (client, _, text) = attempt(section(addr, SslMode::VerifyCa), server).await;
    assert!(!client, "{text}");
    assert!(text.contains("certificate verify failed"), "{text}");
    assert!(text.contains("check dgkafka.sslrootcert"), "{text}");
}

#[tokio::test]
async fn verify_full_checks_chain_and_host_name() {
    let _services = crate::shared_services().await;
    let (addr, server) = stand_in("127.0.0.1", false);
    let mut s = section(addr, SslMode::VerifyFull);
    s.sslrootcert = ca();
    let (client, server, text) = attempt(s, server).await;
    assert!(client && server, "{text}");

    let (addr, server) = stand_in("127.0.0.2", false);
    let mut s = section(addr, SslMode::VerifyFull);
    s.sslrootcert = ca();
    let (client, _, text) = attempt(s, server).await;
    assert!(!client, "{text}");
    assert!(text.contains("certificate verify failed"), "{text}");
    assert!(text.contains("dgkafka.sslmode = verify-full"), "{text}");
}

#[tokio::test]
async fn a_client_certificate_is_presented_from_sslcert_and_sslkey() {
    let _services = crate::shared_services().await;
    // A server that requires a client certificate refuses a client without one.
    let (addr, server) = stand_in("127.0.0.1", true);
    let (client, server_done, text) = attempt(section(addr, SslMode::Require), server).await;
    assert!(!client && !server_done, "{text}");

    // The test client key is encrypted (the seed's Kafka example); dgkafka.sslkey takes a
    // plain PEM key, as libpq without sslpassword does.
    let ssl = &env().ssl_dir;
    let encrypted = std::fs::read(ssl.join("client.key")).unwrap();
    let key = PKey::private_key_from_pem_passphrase(&encrypted, env().ssl_key_password.as_bytes())
        .expect("decrypting the test client key");
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("client.key");
    std::fs::write(&key_path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();

    let (addr, server) = stand_in("127.0.0.1", true);
    let mut s = section(addr, SslMode::VerifyFull);
    s.sslrootcert = ca();
    s.sslcert = Some(ssl.join("client.crt"));
    s.sslkey = Some(key_path);
    let (client, server_done, text) = attempt(s, server).await;
    assert!(client && server_done, "{text}");
}
