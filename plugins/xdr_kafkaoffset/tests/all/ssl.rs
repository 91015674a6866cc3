//! The seed's SSL `-X` example against the SSL listener (client certificates required).

use dgkafka_testkit::{env, unique_name};

use crate::{errmsg, read_offsets, server_with, topic_with_messages, write_offsets};

#[tokio::test]
async fn the_seed_ssl_example_reads_and_commits_and_keeps_the_password_out_of_logs() {
    let topic = topic_with_messages("xko_ssl", &[2, 3]);
    let group = unique_name("xko_ssl_group");
    let server = server_with(env().ssl_mount_args(None), &["XDR_KAFKAOFFSET_LOG=debug"]);
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
    server.assert_ssl_key_password_redacted();
}

#[tokio::test]
async fn a_wrong_key_password_is_a_clear_error() {
    let server = server_with(env().ssl_mount_args(Some("not-the-password")), &[]);
    let e = read_offsets(&server, "group=g&topic=t", 0, 1)
        .await
        .unwrap_err();
    let msg = errmsg(&e);
    assert!(msg.contains("check ssl.key.password"), "{msg}");
    assert!(!msg.contains("not-the-password"), "{msg}");
    let logs = server.stderr() + &server.log();
    assert!(!logs.contains("not-the-password"), "{logs}");
}
