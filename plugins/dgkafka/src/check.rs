//! `dgkafka check`, the half that needs only the database: the last offsets recorded in
//! `kafka.output.offset_table` for the configured consumer group and topic (the seed's
//! `[Last recorded offset]`). The `[Offset from Kafka]` half is read through the
//! `xdr_kafkaoffset` plugin: see [`crate::kafka_offsets`].

use serde::Serialize;
use tokio_postgres::Client;

use crate::config::Config;
use crate::db::{self, ConnectError};
use crate::ident::QualifiedName;

/// The latest offset-table row of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedOffset {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    /// The next offset to read (the seed's "Committed").
    pub committed: i64,
    /// The partition's end offset when the batch was read (the seed's "Latest").
    pub latest: Option<i64>,
    /// Batch start, UTC, `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    pub start: String,
    /// Batch end, UTC.
    pub end: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{key}: {message}")]
    Check { key: String, message: String },
    #[error("reading kafka.output.offset_table {table} failed")]
    Query {
        table: String,
        source: tokio_postgres::Error,
    },
}

/// Connects and reads the last recorded offsets.
pub async fn last_recorded(config: &Config) -> Result<Vec<RecordedOffset>, CheckError> {
    let client = db::connect(&config.dgkafka).await?;
    last_recorded_with(&client, config).await
}

/// Reads the last recorded offset per partition, ordered by partition.
pub async fn last_recorded_with(
    client: &Client,
    config: &Config,
) -> Result<Vec<RecordedOffset>, CheckError> {
    let written = &config.kafka.output.offset_table;
    let table = QualifiedName::parse(written).map_err(|e| CheckError::Check {
        key: "kafka.output.offset_table".to_owned(),
        message: e.to_string(),
    })?;
    let query_error = |source| CheckError::Query {
        table: written.clone(),
        source,
    };
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table.to_string()])
        .await
        .map_err(query_error)?
        .get(0);
    if !exists {
        return Err(CheckError::Check {
            key: "kafka.output.offset_table".to_owned(),
            message: format!("table {table} does not exist; run `dgkafka setup` first"),
        });
    }
    let utc =
        |column: &str| format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')");
    let sql = format!(
        "SELECT DISTINCT ON (partition_number) consumer_group, topic, partition_number, \
         next_offset, latest_offset, {}, {} FROM {table} \
         WHERE consumer_group = $1 AND topic = $2 \
         ORDER BY partition_number, batch_end DESC",
        utc("batch_start"),
        utc("batch_end"),
    );
    let input = &config.kafka.input;
    let rows = client
        .query(&sql, &[&input.consumer_group, &input.topic])
        .await
        .map_err(query_error)?;
    Ok(rows
        .iter()
        .map(|row| RecordedOffset {
            group: row.get(0),
            topic: row.get(1),
            partition: row.get(2),
            committed: row.get(3),
            latest: row.get(4),
            start: trim_fraction(row.get(5)),
            end: trim_fraction(row.get(6)),
        })
        .collect())
}

/// `03:45:05.000000` → `03:45:05`, `03:45:02.646990` → `03:45:02.64699`, as the seed
/// prints timestamps.
fn trim_fraction(text: String) -> String {
    match text.split_once('.') {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                whole.to_owned()
            } else {
                format!("{whole}.{fraction}")
            }
        }
        None => text,
    }
}

/// The seed's `[Last recorded offset]` table: tab-separated, timestamps in UTC written
/// as the seed writes them (`2019-05-17 03:45:05 +0000 +0000`).
pub fn format_table(rows: &[RecordedOffset]) -> String {
    let mut out = String::from("Group\tTopic\tPartition\tCommitted\tLatest\tStart\tEnd\n");
    for r in rows {
        let latest = r.latest.map_or_else(|| "-".to_owned(), |l| l.to_string());
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{} +0000 +0000\t{} +0000 +0000\n",
            r.group, r.topic, r.partition, r.committed, latest, r.start, r.end
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_trimmed_like_the_seed() {
        assert_eq!(
            trim_fraction("2019-05-17 03:45:05.000000".into()),
            "2019-05-17 03:45:05"
        );
        assert_eq!(
            trim_fraction("2019-05-17 03:45:02.646998".into()),
            "2019-05-17 03:45:02.646998"
        );
        assert_eq!(
            trim_fraction("2019-05-17 03:45:02.500000".into()),
            "2019-05-17 03:45:02.5"
        );
    }

    #[test]
    fn the_table_has_the_seeds_columns() {
        let rows = [RecordedOffset {
            group: "dggrp".into(),
            topic: "customer".into(),
            partition: 0,
            committed: 144211,
            latest: Some(144211),
            start: "2019-05-17 03:45:02.646998".into(),
            end: "2019-05-17 03:45:05".into(),
        }];
        assert_eq!(
            format_table(&rows),
            "Group\tTopic\tPartition\tCommitted\tLatest\tStart\tEnd\n\
             dggrp\tcustomer\t0\t144211\t144211\t2019-05-17 03:45:02.646998 +0000 +0000\t2019-05-17 03:45:05 +0000 +0000\n"
        );
    }
}
