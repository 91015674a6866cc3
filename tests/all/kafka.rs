use std::time::Duration;

use dgkafka_testkit::{
    create_topic, create_topic_with_kafka_tools, env, kafka::kcat_produce_lines, kcat_consume_all,
    unique_name,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

pub fn producer(bootstrap: &str, settings: &[(String, String)]) -> BaseProducer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true");
    for (k, v) in settings {
        config.set(k, v);
    }
    config.create().expect("producer")
}

pub fn consumer(bootstrap: &str, settings: &[(String, String)]) -> BaseConsumer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique_name("grp"))
        .set("enable.auto.commit", "false");
    for (k, v) in settings {
        config.set(k, v);
    }
    config.create().expect("consumer")
}

/// Reads `count` messages from what `consumer` is assigned, failing after 30 s.
pub fn read_n(consumer: &BaseConsumer, count: usize) -> Vec<(i32, i64, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "read {} of {count} messages in 30 s",
            out.len()
        );
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(e)) => panic!("consume: {e}"),
            Some(Ok(m)) => out.push((
                m.partition(),
                m.offset(),
                String::from_utf8(m.payload().unwrap_or_default().to_vec()).unwrap(),
            )),
        }
    }
    out
}

/// Produces `per_partition` messages `p<partition>-<i>` to each partition, waiting for acks.
pub fn produce_numbered(
    producer: &BaseProducer,
    topic: &str,
    partitions: i32,
    per_partition: usize,
) {
    for p in 0..partitions {
        for i in 0..per_partition {
            let payload = format!("p{p}-{i}");
            producer
                .send(
                    BaseRecord::<(), _>::to(topic)
                        .partition(p)
                        .payload(&payload),
                )
                .map_err(|(e, _)| e)
                .expect("enqueue");
        }
    }
    producer
        .flush(Duration::from_secs(30))
        .expect("all messages acknowledged");
}

#[test]
fn kafka_tools_create_a_topic_with_three_partitions() {
    let topic = unique_name("tools");
    create_topic_with_kafka_tools(&topic, 3);
    let consumer = consumer(&env().kafka_bootstrap, &[]);
    let metadata = consumer
        .fetch_metadata(Some(&topic), Duration::from_secs(10))
        .expect("metadata");
    assert_eq!(metadata.topics()[0].partitions().len(), 3);
}

#[test]
fn consumer_assigned_to_explicit_offsets_reads_exactly_that_range() {
    let topic = unique_name("assign");
    create_topic(&topic, 3);
    produce_numbered(&producer(&env().kafka_bootstrap, &[]), &topic, 3, 10);

    let consumer = consumer(&env().kafka_bootstrap, &[]);
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&topic, 1, Offset::Offset(7))
        .unwrap();
    assignment
        .add_partition_offset(&topic, 2, Offset::Offset(9))
        .unwrap();
    consumer.assign(&assignment).expect("assign");

    let mut got = read_n(&consumer, 4);
    got.sort();
    assert_eq!(
        got,
        vec![
            (1, 7, "p1-7".to_owned()),
            (1, 8, "p1-8".to_owned()),
            (1, 9, "p1-9".to_owned()),
            (2, 9, "p2-9".to_owned()),
        ]
    );
    // Nothing else arrives: partition 0 was never assigned.
    assert!(consumer.poll(Duration::from_millis(500)).is_none());
}

#[test]
fn messages_produced_by_kcat_are_read_by_rdkafka() {
    let topic = unique_name("kcatp");
    create_topic(&topic, 1);
    kcat_produce_lines(&topic, 0, &["alpha", "beta|gamma", "δέλτα"]);

    let consumer = consumer(&env().kafka_bootstrap, &[]);
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let got: Vec<String> = read_n(&consumer, 3)
        .into_iter()
        .map(|(_, _, s)| s)
        .collect();
    assert_eq!(got, ["alpha", "beta|gamma", "δέλτα"]);
}

#[test]
fn messages_produced_by_rdkafka_are_read_by_kcat() {
    let topic = unique_name("kcatc");
    create_topic(&topic, 2);
    produce_numbered(&producer(&env().kafka_bootstrap, &[]), &topic, 2, 3);
    let got: Vec<(i32, i64, Vec<u8>)> = kcat_consume_all(&topic)
        .into_iter()
        .map(|m| (m.partition, m.offset, m.payload.unwrap()))
        .collect();
    let expected: Vec<(i32, i64, Vec<u8>)> = (0..2)
        .flat_map(|p| (0..3).map(move |i| (p, i, format!("p{p}-{i}").into_bytes())))
        .collect();
    assert_eq!(got, expected);
}
