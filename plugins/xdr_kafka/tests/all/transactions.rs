//! Transactions: aborted messages are never returned, and the next offset reported steps
//! over the transaction markers.

use std::time::Duration;

use dgkafka_testkit::{create_topic, env, unique_name};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use xdrive::proto::spq::SpqType;

use crate::{Cell, by_kind, positions, read_rows, read_spec, server, t, with_kinds};

const TX_TIMEOUT: Duration = Duration::from_secs(30);

fn transaction(producer: &BaseProducer, topic: &str, values: &[&str], commit: bool) {
    producer.begin_transaction().unwrap();
    for v in values {
        producer
            .send(BaseRecord::<str, str>::to(topic).payload(v).partition(0))
            .map_err(|(e, _)| e)
            .unwrap();
    }
    if commit {
        producer.commit_transaction(TX_TIMEOUT).unwrap();
    } else {
        producer.flush(TX_TIMEOUT).unwrap();
        producer.abort_transaction(TX_TIMEOUT).unwrap();
    }
}

fn high_watermark(topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env().kafka_bootstrap)
        .create()
        .unwrap();
    consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap()
        .1
}

#[tokio::test]
async fn aborted_messages_are_skipped_and_positions_step_over_the_markers() {
    let topic = unique_name("xk_tx");
    create_topic(&topic, 1);
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &env().kafka_bootstrap)
        .set("transactional.id", unique_name("xk_txid"))
        .create()
        .unwrap();
    producer.init_transactions(TX_TIMEOUT).unwrap();
    // Offsets 0..=2, commit marker 3; aborted 4..=5, abort marker 6.
    transaction(&producer, &topic, &["c0", "c1", "c2"], true);
    transaction(&producer, &topic, &["a0", "a1"], false);
    let high = high_watermark(&topic);
    assert_eq!(high, 7, "three messages, two aborted, two markers");

    let server = server();
    let columns = with_kinds(&[("v", SpqType::Cstr), ("__kafka_offset", SpqType::Int64)]);
    let rows = read_rows(&server, &read_spec(&topic, &columns, "group=g&start=0"))
        .await
        .unwrap();
    let [data, errors, pos] = by_kind(rows, 2);
    assert!(errors.is_empty());
    let got: Vec<(Cell, Cell)> = data
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (t("c0"), Cell::I64(0)),
            (t("c1"), Cell::I64(1)),
            (t("c2"), Cell::I64(2)),
        ]
    );
    assert_eq!(positions(&pos, 2), [(0, high)]);

    // Reading on from there finds nothing and stays there.
    let rows = read_rows(
        &server,
        &read_spec(&topic, &columns, &format!("group=g&start={high}")),
    )
    .await
    .unwrap();
    let [data, _, pos] = by_kind(rows, 2);
    assert!(data.is_empty());
    assert_eq!(positions(&pos, 2), [(0, high)]);

    // A limit stops after the records returned: the position never passes a message that
    // was not returned, markers or not.
    let rows = read_rows(
        &server,
        &read_spec(&topic, &columns, "group=g&start=0&limit=2"),
    )
    .await
    .unwrap();
    let [data, _, pos] = by_kind(rows, 2);
    assert_eq!(data.len(), 2);
    assert_eq!(positions(&pos, 2), [(0, 2)]);

    // An exact range that ends at the commit marker stops there.
    let rows = read_rows(
        &server,
        &read_spec(&topic, &columns, "group=g&start=1&end=3"),
    )
    .await
    .unwrap();
    let [data, _, pos] = by_kind(rows, 2);
    assert_eq!(data.len(), 2);
    assert_eq!(positions(&pos, 2), [(0, 3)]);
}
