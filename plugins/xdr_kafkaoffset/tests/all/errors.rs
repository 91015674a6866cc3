//! Requests that must fail, with a message a user can act on.

use dgkafka_testkit::unique_name;

use crate::{errmsg, read_offsets, server, server_with, topic_with_messages};

#[tokio::test]
async fn a_missing_query_key_is_named() {
    let topic = topic_with_messages("xko_nogroup", &[1]);
    let server = server();
    let e = read_offsets(&server, &format!("topic={topic}"), 0, 1)
        .await
        .unwrap_err();
    assert!(errmsg(&e).contains("needs query key \"group\""), "{e}");
    let e = read_offsets(&server, "group=g", 0, 1).await.unwrap_err();
    assert!(errmsg(&e).contains("needs query key \"topic\""), "{e}");
    let e = read_offsets(&server, &format!("group=g&topic={topic}&limit=5"), 0, 1)
        .await
        .unwrap_err();
    assert!(
        errmsg(&e).starts_with("unknown query key(s) \"limit\""),
        "{e}"
    );
}

#[tokio::test]
async fn an_unknown_topic_is_named() {
    let missing = unique_name("xko_missing_topic");
    let server = server();
    let e = read_offsets(&server, &format!("group=g&topic={missing}"), 0, 1)
        .await
        .unwrap_err();
    assert_eq!(errmsg(&e), format!("topic \"{missing}\" does not exist"));
    // Not a broker problem: retrying will not make the topic exist.
    assert_eq!(e.errcode(), Some(-1), "{e}");
    assert!(!e.is_retriable(), "{e}");
}

#[tokio::test]
async fn an_unreachable_broker_is_an_error_not_a_hang() {
    // Nothing listens on port 1 of loopback.
    let server = server_with(vec!["127.0.0.1:1".to_owned()], &[]);
    let e = read_offsets(&server, "group=g&topic=t", 0, 1)
        .await
        .unwrap_err();
    let msg = errmsg(&e);
    assert!(
        msg.starts_with("reading the metadata of topic \"t\""),
        "{msg}"
    );
    assert!(msg.contains("127.0.0.1:1"), "the broker is named: {msg}");
    // Brokers that are down may come back: temporarily unavailable, retriable.
    assert_eq!(e.errcode(), Some(-3), "{e}");
    assert!(e.is_retriable(), "{e}");
}

#[tokio::test]
async fn bad_mount_arguments_reach_the_client() {
    let server = server_with(
        vec![
            "-X".to_owned(),
            "nokeyvalue".to_owned(),
            "h:9092".to_owned(),
        ],
        &[],
    );
    let e = read_offsets(&server, "group=g&topic=t", 0, 1)
        .await
        .unwrap_err();
    assert!(
        errmsg(&e).starts_with("xdr_kafkaoffset: bad mount arguments in xdrive.toml: -X pair #1"),
        "{e}"
    );
}
