//! `dgkafka setup` run as a binary against the test PostgreSQL, the broker and a real
//! xdrive with the seed's mounts.

use std::net::TcpListener;

use dgkafka_testkit::xdrive::XdriveServer;
use dgkafka_testkit::{create_topic, pg, unique_name};
use tokio_postgres::Client;

use crate::{csv_config, dgkafka, write_config};

/// What a setup that succeeds needs on the Kafka side: a topic of its own with
/// `partitions` partitions, and an xdrive with the seed's mounts (`kafka`, `kafkaoffset`).
pub(crate) struct KafkaSide {
    pub topic: String,
    pub server: XdriveServer,
}

impl KafkaSide {
    pub fn new(partitions: i32) -> KafkaSide {
        let topic = unique_name("setup");
        create_topic(&topic, partitions);
        KafkaSide {
            topic,
            server: crate::load::xdrive(),
        }
    }

    /// `text` (a [`csv_config`]) pointing at this xdrive and topic.
    pub fn config(&self, text: &str) -> String {
        point_at(text, self.server.addr().port(), &self.topic)
    }
}

/// A [`csv_config`] text with another xdrive port and topic.
pub(crate) fn point_at(text: &str, xdrive_port: u16, topic: &str) -> String {
    assert!(text.contains("xdrive_port = 7171\n") && text.contains("topic = \"customer\"\n"));
    text.replace(
        "xdrive_port = 7171\n",
        &format!("xdrive_port = {xdrive_port}\n"),
    )
    .replace("topic = \"customer\"\n", &format!("topic = \"{topic}\"\n"))
}

/// A loopback port nothing listens on (bound, then closed).
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("its address").port()
}

const CUSTOMER: &str = "(c_custkey integer, c_name varchar(25), c_acctbal double precision)";

async fn create_output(client: &Client, table: &str) {
    client
        .batch_execute(&format!("CREATE TABLE {table} {CUSTOMER}"))
        .await
        .unwrap_or_else(|e| panic!("creating {table}: {e}"));
}

/// Columns and types of a table, in order.
async fn columns(client: &Client, table: &str) -> Vec<(String, String)> {
    client
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn exists(client: &Client, table: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .unwrap()
        .get(0)
}

/// The report line for a key.
fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no line for {key} in\n{stdout}"))
}

#[tokio::test]
async fn setup_creates_the_offset_table_and_a_second_run_changes_nothing() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    let offsets = unique_name("offsets");
    create_output(&client, &output).await;
    let kafka = KafkaSide::new(3);
    let config = write_config(&kafka.config(&csv_config(&output, &offsets, "")));

    let first = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.stdout.starts_with(&format!(
            "Database = dgkafka, Topic = {}, Group = dggrp",
            kafka.topic
        )),
        "{first:?}"
    );
    assert!(
        line(&first.stdout, "kafka.input.topic")
            .ends_with(" exists with 3 partitions, as kafka.input.partition_num says"),
        "{first:?}"
    );
    assert!(
        line(&first.stdout, "kafka.output.offset_table").ends_with(" created"),
        "{first:?}"
    );
    assert!(
        line(&first.stdout, "kafka.output.output_table").ends_with(" exists"),
        "{first:?}"
    );
    assert!(
        line(&first.stdout, "kafka.output.error_table").ends_with(" not configured"),
        "{first:?}"
    );
    for key in [
        "kafka.input.ext_read_table",
        "kafka.input.ext_write_table",
        "kafka.input.ext_offset_table",
    ] {
        assert!(
            line(&first.stdout, key).contains("PostgreSQL extension"),
            "{first:?}"
        );
    }
    let expected: Vec<(String, String)> = [
        ("consumer_group", "text"),
        ("topic", "text"),
        ("partition_number", "integer"),
        ("next_offset", "bigint"),
        ("latest_offset", "bigint"),
        ("batch_start", "timestamp with time zone"),
        ("batch_end", "timestamp with time zone"),
        ("nrows", "bigint"),
    ]
    .iter()
    .map(|(n, t)| (n.to_string(), t.to_string()))
    .collect();
    assert_eq!(columns(&client, &offsets).await, expected);
    let index: String = client
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE tablename = $1",
            &[&offsets],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        index.contains("(consumer_group, topic, partition_number, batch_end DESC)"),
        "{index}"
    );

    client
        .execute(
            &format!(
                "INSERT INTO {offsets} VALUES ('dggrp', 'customer', 0, 10, 10, now(), now(), 10)"
            ),
            &[],
        )
        .await
        .unwrap();
    let second = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(second.code, 0, "{second:?}");
    assert!(
        line(&second.stdout, "kafka.output.offset_table").ends_with(" exists"),
        "{second:?}"
    );
    let kept: i64 = client
        .query_one(&format!("SELECT count(*) FROM {offsets}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 1, "the second setup must keep the offset history");
}

#[tokio::test]
async fn a_missing_output_table_names_the_key() {
    let _services = crate::shared_services().await;
    let offsets = unique_name("offsets");
    let config = write_config(&csv_config(&unique_name("absent"), &offsets, ""));
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("kafka.output.output_table"), "{run:?}");
    assert!(run.stderr.contains("does not exist"), "{run:?}");
    // Nothing was created.
    assert!(!exists(&pg::connect().await, &offsets).await);
}

#[tokio::test]
async fn an_output_table_that_is_a_view_is_refused() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let view = unique_name("customer_view");
    client
        .batch_execute(&format!(
            "CREATE VIEW {view} AS SELECT 1::integer AS c_custkey, ''::varchar(25) AS c_name, 0::float8 AS c_acctbal"
        ))
        .await
        .unwrap();
    let config = write_config(&csv_config(&view, &unique_name("offsets"), ""));
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("kafka.output.output_table"), "{run:?}");
    assert!(run.stderr.contains("is not a table"), "{run:?}");
}

#[tokio::test]
async fn an_unknown_column_type_names_the_column() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    create_output(&client, &output).await;
    for bad in ["varchr(25)", "no such type", "integer)"] {
        let text = csv_config(&output, &unique_name("offsets"), "")
            .replace("type = \"varchar(25)\"", &format!("type = \"{bad}\""));
        let config = write_config(&text);
        let run = dgkafka(&["setup"], Some(&config.path));
        assert_eq!(run.code, 1, "{bad}: {run:?}");
        assert!(
            run.stderr.contains("kafka.input.columns[1].type"),
            "{bad}: {run:?}"
        );
        assert!(run.stderr.contains(bad), "{bad}: {run:?}");
    }
}

#[tokio::test]
async fn a_mapping_to_a_missing_column_names_the_mapping() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("t1map");
    client
        .batch_execute(&format!(
            "CREATE TABLE {output} (cust_id int, field2 decimal(7,2), j1 int, j2 text)"
        ))
        .await
        .unwrap();
    let json = |mappings: &str| {
        csv_config(&output, &unique_name("offsets"), mappings)
            .replace("format = \"csv\"\ndelimiter = \"|\"", "format = \"json\"")
            .split("[[kafka.input.columns]]")
            .next()
            .unwrap()
            .to_owned()
            + &format!(
                "\n[kafka.output]\noffset_table = \"{}\"\noutput_table = \"{output}\"\n{mappings}",
                unique_name("offsets")
            )
    };
    // The seed's own mapping example, with `name = "j1, j2"`.
    let seed_mappings = r#"[[kafka.output.mappings]]
name = "cust_id"
key = "(jdata->>'customer_id')"
[[kafka.output.mappings]]
name = "field2"
key = "((jdata->>'some_intfield')::numeric * .075)::decimal"
[[kafka.output.mappings]]
name = "j1, j2"
key = "(udf_parse_json(jdata)).*"
"#;
    let kafka = KafkaSide::new(3);
    let ok = write_config(&kafka.config(&json(seed_mappings)));
    let run = dgkafka(&["setup"], Some(&ok.path));
    assert_eq!(run.code, 0, "{run:?}");

    let bad = write_config(&json(&seed_mappings.replace("j1, j2", "j1, j3")));
    let run = dgkafka(&["setup"], Some(&bad.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("kafka.output.mappings[2].name"),
        "{run:?}"
    );
    assert!(run.stderr.contains("`j3`"), "{run:?}");

    // Without mappings, json goes to a `jdata` column, which t1map lacks.
    let unmapped = write_config(&json(""));
    let run = dgkafka(&["setup"], Some(&unmapped.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("kafka.input.format"), "{run:?}");
    assert!(run.stderr.contains("`jdata`"), "{run:?}");
}

#[tokio::test]
async fn an_input_column_the_output_table_lacks_is_named_without_mappings() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    client
        .batch_execute(&format!(
            "CREATE TABLE {output} (c_custkey integer, c_name varchar(25))"
        ))
        .await
        .unwrap();
    let config = write_config(&csv_config(&output, &unique_name("offsets"), ""));
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("kafka.input.columns[2].name"),
        "{run:?}"
    );
    // An ignored column need not exist.
    let ignored = csv_config(&output, &unique_name("offsets"), "").replace(
        "type = \"double precision\"",
        "type = \"double precision\"\nignored = true",
    );
    let kafka = KafkaSide::new(3);
    let config = write_config(&kafka.config(&ignored));
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 0, "{run:?}");
}

#[tokio::test]
async fn an_unreachable_database_is_a_failure_naming_the_server() {
    let _services = crate::shared_services().await;
    let text = csv_config("customer", "offsets", "").replace(
        &format!("port = {}", dgkafka_testkit::env().pg_port),
        "port = 1\nconnect_timeout = 2",
    );
    let config = write_config(&text);
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("127.0.0.1:1,"), "{run:?}");
    assert!(run.stderr.contains("dgkafka.sslmode = disable"), "{run:?}");
}

#[tokio::test]
async fn schema_qualified_names_are_created_in_their_schema() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let schema = unique_name("Sales");
    client
        .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .unwrap();
    let output = format!("\"{schema}\".customer");
    client
        .batch_execute(&format!("CREATE TABLE {output} {CUSTOMER}"))
        .await
        .unwrap();
    let toml_output = format!("\\\"{schema}\\\".customer");
    let toml_offsets = format!("\\\"{schema}\\\".kafka_offset_summary");
    // Mixed case, unquoted: folds to lower case as PostgreSQL folds it.
    let error_name = unique_name("Kafka_Errors");
    let errors = format!("error_table = \"\\\"{schema}\\\".{error_name}\"\nerror_limit = \"5%\"");
    let error_table = format!("\"{schema}\".{}", error_name.to_lowercase());
    let kafka = KafkaSide::new(3);
    let config = write_config(&kafka.config(&csv_config(&toml_output, &toml_offsets, &errors)));
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        line(&run.stdout, "kafka.output.error_table").ends_with(" created"),
        "{run:?}"
    );
    assert!(exists(&client, &format!("\"{schema}\".kafka_offset_summary")).await);
    assert!(exists(&client, &error_table).await);
    let error_columns: Vec<String> = columns(&client, &error_table)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        error_columns,
        [
            "consumer_group",
            "topic",
            "partition",
            "offset",
            "raw",
            "reason",
            "ts"
        ]
    );
    // Created in the named schema only, not in the search path's first schema.
    let schemas: Vec<String> = client
        .query(
            "SELECT schemaname::text FROM pg_tables WHERE tablename = $1",
            &[&error_name.to_lowercase()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(schemas, std::slice::from_ref(&schema));
    let again = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        line(&again.stdout, "kafka.output.error_table").ends_with(" exists"),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_missing_schema_names_the_key() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    create_output(&client, &output).await;
    let offsets = format!("{}.offsets", unique_name("noschema"));
    let config = write_config(&csv_config(&output, &offsets, ""));
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("kafka.output.offset_table"), "{run:?}");
    assert!(run.stderr.contains("does not exist"), "{run:?}");
}

#[tokio::test]
async fn an_existing_offset_table_of_another_shape_is_refused() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    let offsets = unique_name("offsets");
    create_output(&client, &output).await;
    client
        .batch_execute(&format!(
            "CREATE TABLE {offsets} (consumer_group text, topic text)"
        ))
        .await
        .unwrap();
    let config = write_config(&csv_config(&output, &offsets, ""));
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("kafka.output.offset_table"), "{run:?}");
    assert!(run.stderr.contains("\"partition_number\""), "{run:?}");
}

#[tokio::test]
async fn a_partition_num_that_differs_from_the_topic_names_the_key_and_creates_nothing() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    let offsets = unique_name("offsets");
    create_output(&client, &output).await;
    // partition_num = 3 in the config; the topic has 2.
    let kafka = KafkaSide::new(2);
    let config = write_config(&kafka.config(&csv_config(&output, &offsets, "")));
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "kafka.input.partition_num is 3, but topic `{}` has 2 partitions",
            kafka.topic
        )),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("set kafka.input.partition_num = 2 in dgkafka.toml"),
        "{run:?}"
    );
    assert!(
        !exists(&client, &offsets).await,
        "a failed setup creates nothing"
    );

    // The same check `load` makes before its first batch.
    let load = dgkafka(&["load", "-quit-at-eof"], Some(&config.path));
    assert_eq!(load.code, 1, "{load:?}");
    assert!(
        load.stderr
            .contains("kafka.input.partition_num is 3, but topic"),
        "{load:?}"
    );
}

#[tokio::test]
async fn an_unreachable_xdrive_names_the_keys_and_says_what_to_do() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    let offsets = unique_name("offsets");
    create_output(&client, &output).await;
    let port = closed_port();
    let text = point_at(&csv_config(&output, &offsets, ""), port, "customer");
    let config = write_config(&text);
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "dgkafka.xdrive_host, dgkafka.xdrive_port: no xdrive answers at 127.0.0.1:{port}"
        )),
        "{run:?}"
    );
    assert!(run.stderr.contains("start xdrive"), "{run:?}");
    assert!(
        !exists(&client, &offsets).await,
        "a failed setup creates nothing"
    );
}

#[tokio::test]
async fn a_missing_topic_or_mount_names_the_key() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    create_output(&client, &output).await;
    let kafka = KafkaSide::new(3);
    let port = kafka.server.addr().port();

    let absent = unique_name("absent");
    let text = point_at(
        &csv_config(&output, &unique_name("offsets"), ""),
        port,
        &absent,
    );
    let run = dgkafka(&["setup"], Some(&write_config(&text).path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "kafka.input.topic: topic `{absent}` does not exist in Kafka"
        )),
        "{run:?}"
    );

    let text = kafka
        .config(&csv_config(&output, &unique_name("offsets"), ""))
        .replace(
            "xdrive_port = ",
            "xdrive_offset_endpoint = \"nosuchmount\"\nxdrive_port = ",
        );
    let run = dgkafka(&["setup"], Some(&write_config(&text).path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("dgkafka.xdrive_offset_endpoint: the xdrive at 127.0.0.1:")
            && run.stderr.contains("has no mount `nosuchmount`"),
        "{run:?}"
    );
}

#[tokio::test]
async fn unreachable_brokers_name_the_mount_and_its_broker_list() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    create_output(&client, &output).await;
    // The offset plugin's brokers: a closed port. It gives up after its 10 s metadata
    // timeout with "temporarily unavailable".
    let dead = format!("127.0.0.1:{}", closed_port());
    let server = XdriveServer::start(&[dgkafka_testkit::xdrive::Mount::plugin(
        "kafkaoffset",
        "xdr_kafkaoffset/xdr_kafkaoffset",
        dgkafka_testkit::xdrive::workspace_binary("xdr_kafkaoffset", "xdr_kafkaoffset"),
        [dead],
    )]);
    let text = point_at(
        &csv_config(&output, &unique_name("offsets"), ""),
        server.addr().port(),
        "customer",
    );
    let run = dgkafka(&["setup"], Some(&write_config(&text).path));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("xdrive.toml [[xdrive.mount]] `kafkaoffset` argv (the brokers): the Kafka brokers do not answer"),
        "{run:?}"
    );
}

#[test]
fn config_errors_exit_3_naming_the_key() {
    let _services = crate::shared_services_blocking();
    let text = csv_config("customer", "offsets", "").replace(
        "topic = \"customer\"",
        "topic = \"customer\"\nfromat = \"csv\"",
    );
    let config = write_config(&text);
    let run = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("kafka.input.fromat"), "{run:?}");
    assert!(run.stderr.contains("dgkafka.toml"), "{run:?}");

    let invalid = write_config(
        &csv_config("customer", "offsets", "").replace("partition_num = 3", "partition_num = 0"),
    );
    let run = dgkafka(&["setup"], Some(&invalid.path));
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("kafka.input.partition_num"), "{run:?}");

    let run = dgkafka(&["setup", "/nonexistent/dgkafka.toml"], None);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("cannot read /nonexistent/dgkafka.toml"),
        "{run:?}"
    );
}

#[test]
fn help_teaches_and_usage_errors_exit_2() {
    let _services = crate::shared_services_blocking();
    let help = dgkafka(&["--help"], None);
    assert_eq!(help.code, 0, "{help:?}");
    for needle in [
        "setup",
        "Exit codes",
        "dgkafka setup dgkafka.toml",
        "3  dgkafka.toml",
    ] {
        assert!(help.stdout.contains(needle), "{needle}: {help:?}");
    }
    let usage = dgkafka(&["setup"], None);
    assert_eq!(usage.code, 2, "{usage:?}");
    let unknown = dgkafka(&["frobnicate"], None);
    assert_eq!(unknown.code, 2, "{unknown:?}");
}
