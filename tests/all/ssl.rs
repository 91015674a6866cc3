//! The SSL listener requires a client certificate, as the seed's example does.

use std::time::Duration;

use dgkafka_testkit::kafka::kcat_consume_all_with;
use dgkafka_testkit::{create_topic, env, unique_name};
use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::{consumer, produce_numbered, producer, read_n};

#[test]
fn produce_and_consume_over_ssl_with_a_client_certificate() {
    let env = env();
    let topic = unique_name("ssl");
    create_topic(&topic, 3);
    let tls = env.ssl_client_pairs();
    produce_numbered(&producer(&env.kafka_ssl_bootstrap, &tls), &topic, 3, 2);

    let consumer = consumer(&env.kafka_ssl_bootstrap, &tls);
    let mut assignment = TopicPartitionList::new();
    for p in 0..3 {
        assignment
            .add_partition_offset(&topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut got = read_n(&consumer, 6);
    got.sort();
    assert_eq!(got[0], (0, 0, "p0-0".to_owned()));
    assert_eq!(got[5], (2, 1, "p2-1".to_owned()));

    // kcat with the same settings sees the same six messages.
    assert_eq!(
        kcat_consume_all_with(&topic, &env.kafka_ssl_bootstrap, &tls).len(),
        6
    );
}

#[test]
fn ssl_listener_refuses_a_client_without_a_certificate() {
    let env = env();
    let tls: Vec<(String, String)> = env
        .ssl_client_pairs()
        .into_iter()
        .filter(|(k, _)| k == "security.protocol" || k == "ssl.ca.location")
        .collect();
    let consumer = consumer(&env.kafka_ssl_bootstrap, &tls);
    let started = std::time::Instant::now();
    let result = consumer.fetch_metadata(None, Duration::from_secs(10));
    assert!(
        result.is_err(),
        "metadata without a client certificate: {result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn wrong_key_password_is_a_clear_error() {
    let env = env();
    let mut tls = env.ssl_client_pairs();
    for (k, v) in &mut tls {
        if k == "ssl.key.password" {
            *v = "not-the-password".to_owned();
        }
    }
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", &env.kafka_ssl_bootstrap);
    for (k, v) in &tls {
        config.set(k, v);
    }
    let err = config
        .create::<rdkafka::consumer::BaseConsumer>()
        .err()
        .expect("librdkafka refuses to start with a key it cannot decrypt");
    let message = err.to_string();
    assert!(message.contains("ssl.key"), "{message}");
}
