//! `dgkafka::db::connect` against the test PostgreSQL.

use std::time::{Duration, Instant};

use dgkafka::config::{Config, DgkafkaSection, Password, SslMode};
use dgkafka::db;
use dgkafka_testkit::env;

use crate::{csv_config, dgkafka_section};

fn section() -> DgkafkaSection {
    let config = Config::parse(&csv_config("t", "o", "")).expect("test config parses");
    config.validate().expect("test config is valid");
    assert!(dgkafka_section().contains("sslmode = \"disable\""));
    config.dgkafka
}

#[tokio::test]
async fn password_authentication_over_tcp_without_tls() {
    let _services = crate::shared_services().await;
    let client = db::connect(&section()).await.expect("connects");
    let row = client
        .query_one(
            "SELECT current_user::text, current_database()::text, inet_server_port()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), env().pg_user);
    assert_eq!(row.get::<_, String>(1), env().pg_database);
    assert_eq!(row.get::<_, Option<i32>>(2), Some(i32::from(env().pg_port)));
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error() {
    let _services = crate::shared_services().await;
    let mut s = section();
    s.password = Password::new("not-the-password");
    let err = db::connect(&s).await.expect_err("wrong password fails");
    let text = anyhow_chain(&err);
    assert!(
        text.contains("127.0.0.1:35432") || text.contains(&format!("127.0.0.1:{}", env().pg_port)),
        "{text}"
    );
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(
        text.contains("check dgkafka.user and dgkafka.password"),
        "{text}"
    );
    assert!(
        !text.contains("not-the-password"),
        "the password leaked: {text}"
    );
    assert!(!err.is_retriable());
}

#[tokio::test]
async fn a_unix_socket_host_uses_the_socket_without_tls_or_password() {
    let _services = crate::shared_services().await;
    let mut s = section();
    s.host = env().home.join("pg/run").display().to_string();
    s.password = Password::default();
    // The default sslmode (require) does not apply to unix sockets, as in libpq.
    s.sslmode = SslMode::Require;
    let client = db::connect(&s)
        .await
        .expect("connects over the unix socket");
    let row = client
        .query_one("SELECT inet_server_addr() IS NULL, current_user::text", &[])
        .await
        .unwrap();
    assert!(
        row.get::<_, bool>(0),
        "inet_server_addr() is NULL only on a unix socket"
    );
    assert_eq!(row.get::<_, String>(1), env().pg_user);
}

/// The test PostgreSQL has TLS on (`pg_tls.rs`), so a server without it is a stand-in that
/// answers PostgreSQL's SSLRequest with `N`, as a server with `ssl = off` does.
#[tokio::test]
async fn sslmode_require_against_a_server_without_tls_says_so() {
    let _services = crate::shared_services().await;
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for _ in 0..3 {
            let (mut stream, _) = listener.accept().unwrap();
            let mut ssl_request = [0u8; 8];
            stream.read_exact(&mut ssl_request).unwrap();
            assert_eq!(ssl_request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
            stream.write_all(b"N").unwrap();
        }
    });
    for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
        let mut s = section();
        s.port = port;
        s.connect_timeout = 10;
        s.sslmode = mode;
        let err = db::connect(&s)
            .await
            .expect_err("no TLS on the test server");
        let text = anyhow_chain(&err);
        assert!(
            text.contains("server does not support TLS"),
            "{mode}: {text}"
        );
        assert!(
            text.contains(&format!("dgkafka.sslmode = {mode}")),
            "{text}"
        );
        assert!(text.contains("sslmode = \"disable\""), "{text}");
    }
    server.join().unwrap();
}

#[tokio::test]
async fn an_unreachable_server_names_host_and_port() {
    let _services = crate::shared_services().await;
    let mut s = section();
    s.port = 1;
    s.connect_timeout = 2;
    let started = Instant::now();
    let err = db::connect(&s)
        .await
        .expect_err("nothing listens on port 1");
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = anyhow_chain(&err);
    assert!(text.contains("127.0.0.1:1,"), "{text}");
    assert!(
        text.contains("check dgkafka.host and dgkafka.port"),
        "{text}"
    );
    assert!(err.is_retriable());
}

#[tokio::test]
async fn an_unknown_database_points_at_the_key() {
    let _services = crate::shared_services().await;
    let mut s = section();
    s.database = dgkafka_testkit::unique_name("nodb");
    let err = db::connect(&s).await.expect_err("no such database");
    let text = anyhow_chain(&err);
    assert!(text.contains("does not exist"), "{text}");
    assert!(text.contains("check dgkafka.database"), "{text}");
}

/// The error and its sources, as `{:#}` prints them in `main`.
fn anyhow_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
