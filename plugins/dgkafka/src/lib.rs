//! dgkafka: the seed's loader. `dgkafka setup` checks a `dgkafka.toml` against the
//! database and creates the offset (and error) tables; `dgkafka load` loads the topic
//! exactly once; `dgkafka check` shows the offsets recorded in the database and those
//! committed in Kafka.
//!
//! * [`config`] — `dgkafka.toml`, parsed and validated;
//! * [`ident`] — schema-qualified SQL names, always quoted;
//! * [`db`] — the PostgreSQL connection and its TLS modes;
//! * [`copy`] — binary `COPY` straight from typed column pages;
//! * [`setup`] — `dgkafka setup`;
//! * [`load`] — `dgkafka load`: readers, batches, offsets;
//! * [`progress`] — `load`'s live progress line and periodic log lines;
//! * [`kafka_offsets`] — a consumer group's offsets through `xdr_kafkaoffset`;
//! * [`check`] — `dgkafka check`, the offsets recorded in the database.

pub mod check;
pub mod config;
pub mod copy;
pub mod db;
pub mod ident;
pub mod kafka_offsets;
pub mod load;
pub mod progress;
pub mod setup;

/// An error and its sources, `outer: inner: ...`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
