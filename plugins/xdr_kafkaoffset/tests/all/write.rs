//! Writes: committing offsets for groups, checked by reading them back and with the
//! broker's own `kafka-consumer-groups`.

use std::collections::BTreeMap;

use dgkafka_testkit::unique_name;

use crate::{describe_group, errmsg, read_offsets, server, topic_with_messages, write_offsets};

#[tokio::test]
async fn written_offsets_read_back_and_the_broker_tool_shows_them() {
    let topic = topic_with_messages("xko_commit", &[4, 4, 4]);
    let group = unique_name("xko_commit_group");
    let server = server();
    write_offsets(
        &server,
        &[
            (&group, &topic, 0, 1),
            (&group, &topic, 1, 4),
            (&group, &topic, 2, 0),
        ],
    )
    .await
    .unwrap();
    let rows = read_offsets(&server, &format!("group={group}&topic={topic}"), 0, 1)
        .await
        .unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.partition, r.committed, r.latest))
            .collect::<Vec<_>>(),
        [(0, 1, 4), (1, 4, 4), (2, 0, 4)]
    );
    let described = describe_group(&group);
    let want: BTreeMap<(String, i32), String> = [(0, "1"), (1, "4"), (2, "0")]
        .into_iter()
        .map(|(p, o)| ((topic.clone(), p), o.to_owned()))
        .collect();
    assert_eq!(described, want);
}

#[tokio::test]
async fn one_write_commits_for_several_groups_and_a_later_write_moves_offsets() {
    let topic = topic_with_messages("xko_groups", &[5, 5]);
    let (g1, g2) = (unique_name("xko_g1"), unique_name("xko_g2"));
    let server = server();
    write_offsets(
        &server,
        &[
            (&g1, &topic, 0, 2),
            (&g2, &topic, 1, 3),
            (&g1, &topic, 1, 5),
        ],
    )
    .await
    .unwrap();
    write_offsets(&server, &[(&g1, &topic, 0, 4)])
        .await
        .unwrap();
    let committed = |rows: Vec<crate::Row>| rows.iter().map(|r| r.committed).collect::<Vec<_>>();
    let q = |g: &str| format!("group={g}&topic={topic}");
    assert_eq!(
        committed(read_offsets(&server, &q(&g1), 0, 1).await.unwrap()),
        [4, 5]
    );
    assert_eq!(
        committed(read_offsets(&server, &q(&g2), 0, 1).await.unwrap()),
        [-1001, 3]
    );
    let d = describe_group(&g2);
    assert_eq!(d.get(&(topic.clone(), 1)).map(String::as_str), Some("3"));
}

#[tokio::test]
async fn committing_to_a_missing_topic_or_partition_fails_naming_it() {
    let topic = topic_with_messages("xko_badcommit", &[1, 1]);
    let missing = unique_name("xko_no_such_topic");
    let group = unique_name("xko_badcommit_group");
    let server = server();
    let e = write_offsets(&server, &[(&group, &missing, 0, 1)])
        .await
        .unwrap_err();
    assert_eq!(errmsg(&e), format!("topic \"{missing}\" does not exist"));
    let e = write_offsets(&server, &[(&group, &topic, 2, 1)])
        .await
        .unwrap_err();
    assert_eq!(
        errmsg(&e),
        format!("topic \"{topic}\" has no partition 2 (it has 2)")
    );
    // Nothing was committed for the group.
    let rows = read_offsets(&server, &format!("group={group}&topic={topic}"), 0, 1)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.committed == -1001), "{rows:?}");
}

#[tokio::test]
async fn a_write_without_committed_offset_is_refused_naming_the_column() {
    use xdrive::WriteSpec;
    use xdrive::proto::schema::{Column, Schema};
    use xdrive::proto::spq::SpqType;

    let server = server();
    let schema = Schema::new(vec![
        Column::new("consumer_group", SpqType::Cstr),
        Column::new("topic", SpqType::Cstr),
        Column::new("partition_number", SpqType::Int32),
    ])
    .unwrap();
    let spec = WriteSpec::new(format!("/{}/", crate::MOUNT), &schema);
    let e = crate::within(async {
        match crate::client(&server).write(&spec).await {
            Err(e) => e,
            Ok(w) => w.finish().await.unwrap_err(),
        }
    })
    .await;
    assert!(
        errmsg(&e).starts_with("the write has no column \"committed_offset\""),
        "{e}"
    );
}

#[tokio::test]
async fn a_commit_the_broker_refuses_fails_the_write_naming_group_topic_and_partition() {
    use rdkafka::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use std::time::{Duration, Instant};

    let topic = topic_with_messages("xko_active", &[2]);
    let group = unique_name("xko_active_group");
    let server = server();
    // An active member of the group: Kafka refuses commits from outside it.
    let member: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &dgkafka_testkit::env().kafka_bootstrap)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    member.subscribe(&[&topic]).unwrap();
    let deadline = Instant::now() + crate::PATIENCE;
    while member.assignment().unwrap().count() == 0 {
        let _ = member.poll(Duration::from_millis(100));
        assert!(
            Instant::now() < deadline,
            "the member never got its partition"
        );
    }
    let e = write_offsets(&server, &[(&group, &topic, 0, 1)])
        .await
        .unwrap_err();
    let msg = errmsg(&e);
    assert!(msg.contains(&format!("group \"{group}\"")), "{msg}");
    assert!(msg.contains(&topic), "{msg}");
    assert!(msg.contains("the group has active members"), "{msg}");
    drop(member);
    // Once the member has left, the same write succeeds.
    write_offsets(&server, &[(&group, &topic, 0, 1)])
        .await
        .unwrap();
    assert_eq!(
        describe_group(&group)
            .get(&(topic.clone(), 0))
            .map(String::as_str),
        Some("1")
    );
}
