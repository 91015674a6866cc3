//! `dgkafka check`: the last recorded offsets, read from the offset table.

use dgkafka_testkit::{pg, unique_name};

use crate::{csv_config, dgkafka, write_config};

#[tokio::test]
async fn check_shows_the_latest_row_per_partition_of_the_configured_group_and_topic() {
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
    let config = write_config(&csv_config(&output, &offsets, ""));
    let setup = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(setup.code, 0, "{setup:?}");

    // No xdrive listens at the config's xdrive_port: the database half is printed and
    // the Kafka half says why it is missing.
    let empty = dgkafka(&["check"], Some(&config.path));
    assert_eq!(empty.code, 0, "{empty:?}");
    assert!(
        empty.stdout.contains("(no batch recorded yet)"),
        "{empty:?}"
    );

    client
        .batch_execute(&format!(
            "INSERT INTO {offsets} VALUES
             ('dggrp', 'customer', 0, 100, 150, '2019-05-17 03:45:00+00', '2019-05-17 03:45:01+00', 100),
             ('dggrp', 'customer', 0, 144211, 144211, '2019-05-17 03:45:02.646998+00', '2019-05-17 03:45:05+00', 144111),
             ('dggrp', 'customer', 1, 143409, NULL, '2019-05-17 03:45:02.646998+00', '2019-05-17 03:45:05+00', 10),
             ('othergrp', 'customer', 2, 7, 7, now(), now(), 7),
             ('dggrp', 'othertopic', 3, 9, 9, now(), now(), 9)"
        ))
        .await
        .unwrap();
    let run = dgkafka(&["check"], Some(&config.path));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("Database = dgkafka, Topic = customer, Group = dggrp\n"),
        "{run:?}"
    );
    let table: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| *l != "[Last recorded offset]")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(
        table,
        [
            "Group\tTopic\tPartition\tCommitted\tLatest\tStart\tEnd",
            "dggrp\tcustomer\t0\t144211\t144211\t2019-05-17 03:45:02.646998 +0000 +0000\t2019-05-17 03:45:05 +0000 +0000",
            "dggrp\tcustomer\t1\t143409\t-\t2019-05-17 03:45:02.646998 +0000 +0000\t2019-05-17 03:45:05 +0000 +0000",
        ],
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("[Offset from Kafka]\ncannot read: reading the offsets of group `dggrp`"),
        "{run:?}"
    );

    let json = dgkafka(&["check", "--json"], Some(&config.path));
    assert_eq!(json.code, 0, "{json:?}");
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("one JSON object");
    assert_eq!(value["group"], "dggrp");
    assert_eq!(value["last_recorded"].as_array().unwrap().len(), 2);
    assert_eq!(value["last_recorded"][0]["committed"], 144211);
    assert_eq!(value["last_recorded"][1]["latest"], serde_json::Value::Null);
    assert_eq!(value["offset_from_kafka"], serde_json::Value::Null);
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
