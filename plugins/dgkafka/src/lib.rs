//! dgkafka: the seed's loader. `dgkafka setup` checks a `dgkafka.toml` against the
//! database and creates the offset (and error) tables; `dgkafka check` shows the offsets
//! recorded in the database. `load`, and `check`'s Kafka half, follow with the xdrive
//! Kafka plugins.
//!
//! * [`config`] — `dgkafka.toml`, parsed and validated;
//! * [`ident`] — schema-qualified SQL names, always quoted;
//! * [`db`] — the PostgreSQL connection and its TLS modes;
//! * [`copy`] — binary `COPY` straight from typed column pages;
//! * [`setup`] — `dgkafka setup`;
//! * [`check`] — `dgkafka check`, the offsets recorded in the database.

pub mod check;
pub mod config;
pub mod copy;
pub mod db;
pub mod ident;
pub mod setup;
