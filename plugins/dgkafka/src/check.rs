//! `dgkafka check`, the half that needs only the database: the last offsets recorded in
//! `kafka.output.offset_table` for the configured consumer group and topic (the seed's
//! `[Last recorded offset]`). The `[Offset from Kafka]` half is read through the
//! `xdr_kafkaoffset` plugin: see [`crate::kafka_offsets`]. The two together give the lag
//! per partition ([`lag`], our `[Lag]` table).

use serde::Serialize;
use tokio_postgres::Client;

use crate::config::Config;
use crate::db::{self, ConnectError};
use crate::ident::QualifiedName;
use crate::kafka_offsets::KafkaOffset;

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

/// How far the database is behind Kafka on one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    pub partition: i32,
    /// The last recorded next offset ([`RecordedOffset::committed`]); None when no batch
    /// of the group and topic recorded this partition.
    pub recorded: Option<i64>,
    /// Kafka's latest offset (high watermark) now; None when Kafka does not list the
    /// partition (a recorded partition the topic no longer has).
    pub latest: Option<i64>,
    /// `latest - recorded`: messages in Kafka not loaded yet. None when either is unknown.
    /// Negative when the recorded offset lies past the topic's end (the topic was deleted
    /// and created again).
    pub lag: Option<i64>,
}

/// What the `-` in the `[Lag]` table means.
pub const NO_RECORD_NOTE: &str = "(-: no offset recorded for the partition: `dgkafka load` \
     starts it at the group's committed offset in Kafka, else at the earliest offset)";

/// The lag per partition: every partition Kafka lists or the offset table records, in
/// partition order.
pub fn lag(recorded: &[RecordedOffset], kafka: &[KafkaOffset]) -> Vec<PartitionLag> {
    let mut partitions: Vec<i32> = recorded
        .iter()
        .map(|r| r.partition)
        .chain(kafka.iter().map(|k| k.partition))
        .collect();
    partitions.sort_unstable();
    partitions.dedup();
    partitions
        .into_iter()
        .map(|partition| {
            let recorded = recorded
                .iter()
                .find(|r| r.partition == partition)
                .map(|r| r.committed);
            let latest = kafka
                .iter()
                .find(|k| k.partition == partition)
                .map(|k| k.latest);
            let lag = recorded.zip(latest).map(|(r, l)| l - r);
            PartitionLag {
                partition,
                recorded,
                latest,
                lag,
            }
        })
        .collect()
}

/// Our `[Lag]` table (tab-separated like the seed's): `Recorded` is the last recorded next
/// offset, `Latest` Kafka's latest offset now, `Lag` their difference; `-` is unknown.
/// A note on `-` follows when a partition has no recorded offset.
pub fn format_lag_table(rows: &[PartitionLag]) -> String {
    let dash = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let mut out = String::from("Partition\tRecorded\tLatest\tLag\n");
    for r in rows {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            r.partition,
            dash(r.recorded),
            dash(r.latest),
            dash(r.lag)
        ));
    }
    if rows.iter().any(|r| r.recorded.is_none()) {
        out.push_str(NO_RECORD_NOTE);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(partition: i32, committed: i64) -> RecordedOffset {
        RecordedOffset {
            group: "dggrp".into(),
            topic: "customer".into(),
            partition,
            committed,
            latest: Some(committed),
            start: "2019-05-17 03:45:02".into(),
            end: "2019-05-17 03:45:05".into(),
        }
    }

    fn kafka(partition: i32, latest: i64) -> KafkaOffset {
        KafkaOffset {
            group: "dggrp".into(),
            topic: "customer".into(),
            partition,
            committed: crate::kafka_offsets::NO_OFFSET,
            latest,
            timestamp: "2019-05-17 04:28:35".into(),
        }
    }

    #[test]
    fn lag_is_latest_minus_the_recorded_next_offset() {
        let rows = lag(
            &[recorded(0, 100), recorded(2, 50), recorded(5, 9)],
            &[kafka(0, 130), kafka(1, 7), kafka(2, 50)],
        );
        assert_eq!(
            format_lag_table(&rows),
            format!(
                "Partition\tRecorded\tLatest\tLag\n\
                 0\t100\t130\t30\n\
                 1\t-\t7\t-\n\
                 2\t50\t50\t0\n\
                 5\t9\t-\t-\n\
                 {NO_RECORD_NOTE}\n"
            )
        );
        assert_eq!(
            serde_json::to_value(&rows[0]).unwrap(),
            serde_json::json!({"partition": 0, "recorded": 100, "latest": 130, "lag": 30})
        );
        // Everything recorded: no note.
        let caught_up = lag(&[recorded(0, 130)], &[kafka(0, 130)]);
        assert_eq!(
            format_lag_table(&caught_up),
            "Partition\tRecorded\tLatest\tLag\n0\t130\t130\t0\n"
        );
    }

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
