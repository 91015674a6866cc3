//! Integration tests of the test services themselves, through the clients the
//! project builds on: the Java Kafka tools, rdkafka, kcat and tokio-postgres.
//! Requires `tests/env/up`.

mod kafka;
mod postgres;
mod ssl;
