//! The seed's SSL `-X` example against the SSL listener (client certificates required).

use dgkafka_testkit::{env, unique_name};

use crate::{errmsg, read_offsets, server_with, topic_with_messages, write_offsets};

/// The seed's mount argv for the SSL listener, with the key password replaced if asked.
fn ssl_argv(password: Option<&str>) -> Vec<String> {
    let mut argv: Vec<String> = env()
        .ssl_client_pairs()
        .into_iter()
        .flat_map(|(k, v)| {
            let v = match (k.as_str(), password) {
                ("ssl.key.password", Some(p)) => p.to_owned(),
                _ => v,
            };
            ["-X".to_owned(), format!("{k}={v}")]
        })
        .collect();
    argv.push(env().kafka_ssl_bootstrap.clone());
    argv
}

#[tokio::test]
async fn the_seed_ssl_example_reads_and_commits_and_keeps_the_password_out_of_logs() {
    let topic = topic_with_messages("xko_ssl", &[2, 3]);
    let group = unique_name("xko_ssl_group");
    let server = server_with(ssl_argv(None), &["XDR_KAFKAOFFSET_LOG=debug"]);
    write_offsets(&server, &[(&group, &topic, 1, 2)])
        .await
        .unwrap();
    let rows = read_offsets(&server, &format!("group={group}&topic={topic}"), 0, 1)
        .await
        .unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.partition, r.committed, r.latest))
            .collect::<Vec<_>>(),
        [(0, -1001, 2), (1, 2, 3)]
    );
    let logs = server.stderr() + &server.log();
    assert!(
        logs.contains("ssl.key.password=[redacted]"),
        "the plugin logs its settings at debug:\n{logs}"
    );
    assert!(
        !logs.contains(&env().ssl_key_password),
        "the key password appears in the logs:\n{logs}"
    );
}

#[tokio::test]
async fn a_wrong_key_password_is_a_clear_error() {
    let server = server_with(ssl_argv(Some("not-the-password")), &[]);
    let e = read_offsets(&server, "group=g&topic=t", 0, 1)
        .await
        .unwrap_err();
    let msg = errmsg(&e);
    assert!(msg.contains("check ssl.key.password"), "{msg}");
    assert!(!msg.contains("not-the-password"), "{msg}");
    let logs = server.stderr() + &server.log();
    assert!(!logs.contains("not-the-password"), "{logs}");
}
