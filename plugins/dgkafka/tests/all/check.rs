//! `dgkafka check`: the last recorded offsets, read from the offset table, the offsets in
//! Kafka, read through xdrive, and the lag between them.

use dgkafka_testkit::kafka::kcat_produce_lines;
use dgkafka_testkit::{pg, unique_name};

use crate::setup::{KafkaSide, closed_port};
use crate::{csv_config, dgkafka, write_config};

/// The lines of the table after `heading`, up to the next empty line.
fn table_after<'a>(stdout: &'a str, heading: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect()
}

#[tokio::test]
async fn check_shows_the_latest_row_per_partition_the_offsets_in_kafka_and_the_lag() {
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
    let kafka = KafkaSide::new(3);
    let topic = kafka.topic.clone();
    kcat_produce_lines(&topic, 0, &["1|a|1", "2|b|2", "3|c|3", "4|d|4", "5|e|5"]);
    kcat_produce_lines(&topic, 1, &["6|f|6", "7|g|7"]);
    let config = write_config(&kafka.config(&csv_config(&output, &offsets, "")));
    let setup = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(setup.code, 0, "{setup:?}");

    let empty = dgkafka(&["check"], Some(&config.path));
    assert_eq!(empty.code, 0, "{empty:?}");
    assert!(
        empty.stdout.contains("(no batch recorded yet)"),
        "{empty:?}"
    );
    assert_eq!(
        table_after(&empty.stdout, "[Lag]"),
        [
            "Partition\tRecorded\tLatest\tLag",
            "0\t-\t5\t-",
            "1\t-\t2\t-",
            "2\t-\t0\t-",
            dgkafka::check::NO_RECORD_NOTE,
        ],
        "{empty:?}"
    );

    client
        .batch_execute(&format!(
            "INSERT INTO {offsets} VALUES
             ('dggrp', '{topic}', 0, 1, 5, '2019-05-17 03:45:00+00', '2019-05-17 03:45:01+00', 1),
             ('dggrp', '{topic}', 0, 3, 5, '2019-05-17 03:45:02.646998+00', '2019-05-17 03:45:05+00', 2),
             ('dggrp', '{topic}', 1, 2, NULL, '2019-05-17 03:45:02.646998+00', '2019-05-17 03:45:05+00', 2),
             ('othergrp', '{topic}', 2, 7, 7, now(), now(), 7),
             ('dggrp', 'othertopic', 3, 9, 9, now(), now(), 9)"
        ))
        .await
        .unwrap();
    let run = dgkafka(&["check"], Some(&config.path));
    assert_eq!(run.code, 0, "{run:?}");
    // The seed's header line and its two tables, then ours.
    assert!(
        run.stdout.starts_with(&format!(
            "Database = dgkafka, Topic = {topic}, Group = dggrp\n\n[Last recorded offset]\n"
        )),
        "{run:?}"
    );
    assert_eq!(
        table_after(&run.stdout, "[Last recorded offset]"),
        [
            "Group\tTopic\tPartition\tCommitted\tLatest\tStart\tEnd".to_owned(),
            format!(
                "dggrp\t{topic}\t0\t3\t5\t2019-05-17 03:45:02.646998 +0000 +0000\t2019-05-17 03:45:05 +0000 +0000"
            ),
            format!(
                "dggrp\t{topic}\t1\t2\t-\t2019-05-17 03:45:02.646998 +0000 +0000\t2019-05-17 03:45:05 +0000 +0000"
            ),
        ],
        "{run:?}"
    );
    let from_kafka = table_after(&run.stdout, "[Offset from Kafka]");
    assert_eq!(from_kafka.len(), 4, "{run:?}");
    assert_eq!(
        from_kafka[0],
        "Group\tTopic\tPartition\tCommitted\tLatest\tTimestamp"
    );
    for (line, (partition, latest)) in from_kafka[1..].iter().zip([(0, 5), (1, 2), (2, 0)]) {
        assert!(
            line.starts_with(&format!("dggrp\t{topic}\t{partition}\t-1001\t{latest}\t"))
                && line.ends_with(" +0000 +0000"),
            "{run:?}"
        );
    }
    assert_eq!(
        table_after(&run.stdout, "[Lag]"),
        [
            "Partition\tRecorded\tLatest\tLag",
            "0\t3\t5\t2",
            "1\t2\t2\t0",
            "2\t-\t0\t-",
            dgkafka::check::NO_RECORD_NOTE,
        ],
        "{run:?}"
    );

    let json = dgkafka(&["check", "--json"], Some(&config.path));
    assert_eq!(json.code, 0, "{json:?}");
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("one JSON object");
    assert_eq!(value["group"], "dggrp");
    assert_eq!(value["last_recorded"].as_array().unwrap().len(), 2);
    assert_eq!(value["last_recorded"][0]["committed"], 3);
    assert_eq!(value["last_recorded"][1]["latest"], serde_json::Value::Null);
    assert_eq!(value["offset_from_kafka"][0]["latest"], 5);
    assert_eq!(value["offset_from_kafka_error"], serde_json::Value::Null);
    assert_eq!(
        value["lag"],
        serde_json::json!([
            {"partition": 0, "recorded": 3, "latest": 5, "lag": 2},
            {"partition": 1, "recorded": 2, "latest": 2, "lag": 0},
            {"partition": 2, "recorded": null, "latest": 0, "lag": null},
        ])
    );

    // xdrive gone: the database half is still printed, the reason follows the Kafka
    // heading, and the exit code is 1.
    drop(kafka.server);
    let run = dgkafka(&["check"], Some(&config.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(table_after(&run.stdout, "[Last recorded offset]").len(), 3);
    assert!(
        run.stdout
            .contains("[Offset from Kafka]\ncannot read: reading the offsets of group `dggrp`"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("[Lag]"), "{run:?}");
    assert!(
        run.stderr.contains("dgkafka: error: dgkafka check")
            && run.stderr.contains("cannot connect"),
        "{run:?}"
    );
    let json = dgkafka(&["check", "--json"], Some(&config.path));
    assert_eq!(json.code, 1, "{json:?}");
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("one JSON object");
    assert_eq!(value["last_recorded"].as_array().unwrap().len(), 2);
    assert_eq!(value["offset_from_kafka"], serde_json::Value::Null);
    assert_eq!(value["lag"], serde_json::Value::Null);
    assert!(
        value["offset_from_kafka_error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot connect")),
        "{json:?}"
    );
}

#[test]
fn check_without_an_offset_table_says_to_run_setup() {
    let _services = crate::shared_services_blocking();
    let config = write_config(&csv_config("customer", &unique_name("offsets"), ""));
    let run = dgkafka(&["check"], Some(&config.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("kafka.output.offset_table"), "{run:?}");
    assert!(run.stderr.contains("dgkafka setup"), "{run:?}");
}

#[test]
fn check_fails_when_the_database_cannot_be_reached() {
    let _services = crate::shared_services_blocking();
    let text = csv_config("customer", "offsets", "").replace(
        &format!("port = {}", dgkafka_testkit::env().pg_port),
        &format!("port = {}\nconnect_timeout = 2", closed_port()),
    );
    for args in [&["check"][..], &["check", "--json"]] {
        let run = dgkafka(args, Some(&write_config(&text).path));
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("dgkafka: error: dgkafka check"),
            "{args:?}: {run:?}"
        );
    }
}
