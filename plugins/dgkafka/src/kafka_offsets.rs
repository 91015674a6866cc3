//! A consumer group's offsets in Kafka, through the `xdr_kafkaoffset` mount
//! (`dgkafka.xdrive_offset_endpoint`): a read returns, per partition of a topic, the group's
//! committed offset (-1001 when none) and the high watermark; a write commits offsets for
//! the group. `load` reads it for start offsets and `-quit-at-eof`, and mirrors every
//! committed batch into it; `check` shows it as `[Offset from Kafka]`.

use serde::Serialize;
use xdrive::{Client, ReadSpec, WriteSpec};
use xdrive_proto::page::{PageLimits, Value};
use xdrive_proto::schema::{Column, Schema};
use xdrive_proto::spq::SpqType;

/// What Kafka reports for a group without a committed offset.
pub const NO_OFFSET: i64 = -1001;

/// One partition as the offset plugin reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KafkaOffset {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    /// The group's committed offset (the next offset to read), [`NO_OFFSET`] when none.
    pub committed: i64,
    /// The high watermark: the offset the next message will get.
    pub latest: i64,
    /// When the plugin read it, UTC, `YYYY-MM-DD HH:MM:SS`.
    pub timestamp: String,
}

fn read_schema() -> Schema {
    Schema::new(vec![
        Column::new("consumer_group", SpqType::Cstr),
        Column::new("topic", SpqType::Cstr),
        Column::new("partition_number", SpqType::Int32),
        Column::new("committed_offset", SpqType::Int64),
        Column::new("latest_offset", SpqType::Int64),
        Column::new("ts", SpqType::TimestampMicros),
    ])
    .expect("distinct column names")
}

fn write_schema() -> Schema {
    Schema::new(vec![
        Column::new("consumer_group", SpqType::Cstr),
        Column::new("topic", SpqType::Cstr),
        Column::new("partition_number", SpqType::Int32),
        Column::new("committed_offset", SpqType::Int64),
    ])
    .expect("distinct column names")
}

/// Reading or committing through `xdr_kafkaoffset` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaOffsetError {
    #[error(
        "reading the offsets of group `{group}`, topic `{topic}` through xdrive mount `{endpoint}` \
         (dgkafka.xdrive_offset_endpoint) failed"
    )]
    Read {
        group: String,
        topic: String,
        endpoint: String,
        source: Box<xdrive::Error>,
    },
    #[error(
        "committing offsets for group `{group}`, topic `{topic}` through xdrive mount `{endpoint}` \
         (dgkafka.xdrive_offset_endpoint) failed"
    )]
    Commit {
        group: String,
        topic: String,
        endpoint: String,
        source: Box<xdrive::Error>,
    },
    #[error("xdrive mount `{endpoint}` sent a page dgkafka cannot use: {message}")]
    Page { endpoint: String, message: String },
}

impl KafkaOffsetError {
    /// Worth trying again later (xdrive or the brokers were unreachable).
    pub fn is_retriable(&self) -> bool {
        match self {
            KafkaOffsetError::Read { source, .. } | KafkaOffsetError::Commit { source, .. } => {
                source.is_retriable()
            }
            KafkaOffsetError::Page { .. } => false,
        }
    }

    /// The offset plugin answered that the brokers are temporarily unavailable (down,
    /// restarting, the group coordinator not ready): the `xdrive::errcode::PLUGIN_RETRIABLE`
    /// reply. Unlike [`Self::is_retriable`], not an unreachable xdrive.
    pub fn is_brokers_unavailable(&self) -> bool {
        match self {
            KafkaOffsetError::Read { source, .. } | KafkaOffsetError::Commit { source, .. } => {
                source.errcode() == Some(xdrive::errcode::PLUGIN_RETRIABLE)
            }
            KafkaOffsetError::Page { .. } => false,
        }
    }
}

/// `kafka.input.partition_num` is not the topic's partition count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "kafka.input.partition_num is {configured}, but topic `{topic}` has {actual} partitions \
     (as xdr_kafkaoffset reports them); set kafka.input.partition_num = {actual} in dgkafka.toml"
)]
pub struct PartitionCountError {
    pub topic: String,
    pub configured: i32,
    pub actual: usize,
}

/// Checks `kafka.input.partition_num` (`configured`) against the partitions [`read`]
/// returned for `topic`: `load` does it before its first batch, `setup` before it commits
/// the tables it creates.
pub fn check_partition_count(
    topic: &str,
    configured: i32,
    offsets: &[KafkaOffset],
) -> Result<(), PartitionCountError> {
    if usize::try_from(configured).is_ok_and(|c| c == offsets.len()) {
        Ok(())
    } else {
        Err(PartitionCountError {
            topic: topic.to_owned(),
            configured,
            actual: offsets.len(),
        })
    }
}

/// The group's committed offset and the high watermark of every partition of `topic`,
/// in partition order.
pub async fn read(
    client: &Client,
    endpoint: &str,
    group: &str,
    topic: &str,
) -> Result<Vec<KafkaOffset>, KafkaOffsetError> {
    let read_error = |source| KafkaOffsetError::Read {
        group: group.to_owned(),
        topic: topic.to_owned(),
        endpoint: endpoint.to_owned(),
        source: Box::new(source),
    };
    let spec = ReadSpec::new(format!("/{endpoint}/"), &read_schema())
        .query(format!("group={group}&topic={topic}"));
    let mut stream = client.read(&spec).await.map_err(read_error)?;
    let mut out = Vec::new();
    while let Some(page) = stream.next_page().await.map_err(read_error)? {
        let bad = |what: &str| KafkaOffsetError::Page {
            endpoint: endpoint.to_owned(),
            message: what.to_owned(),
        };
        for row in 0..page.nrow() {
            let text = |i: usize| match page.column(i).get(row) {
                Some(Value::Text(t)) => Ok(t.to_owned()),
                _ => Err(bad("a NULL or non-text group or topic")),
            };
            let partition = match page.column(2).get(row) {
                Some(Value::Int32(p)) => p,
                _ => return Err(bad("a NULL partition_number")),
            };
            let int64 = |i: usize| match page.column(i).get(row) {
                Some(Value::Int64(v)) => Ok(v),
                _ => Err(bad("a NULL offset")),
            };
            let timestamp = match page.column(5).get(row) {
                Some(Value::Timestamp(micros)) => format_pg_micros(micros),
                _ => String::new(),
            };
            out.push(KafkaOffset {
                group: text(0)?,
                topic: text(1)?,
                partition,
                committed: int64(3)?,
                latest: int64(4)?,
                timestamp,
            });
        }
    }
    out.sort_by_key(|o| o.partition);
    Ok(out)
}

/// [`read`], tried again while the brokers are only temporarily unavailable (restarting,
/// a new group's coordinator not ready yet: [`KafkaOffsetError::is_brokers_unavailable`])
/// and another attempt still fits in `patience`. Brokers that are down make the plugin
/// wait for its own timeout (10 s), so they are not waited for twice. For `setup` and
/// `check`; `load` has its own wait (without end in its default mode).
pub async fn read_patiently(
    client: &Client,
    endpoint: &str,
    group: &str,
    topic: &str,
    patience: std::time::Duration,
) -> Result<Vec<KafkaOffset>, KafkaOffsetError> {
    let began = std::time::Instant::now();
    let mut wait = std::time::Duration::from_millis(250);
    loop {
        let attempt = std::time::Instant::now();
        match read(client, endpoint, group, topic).await {
            Err(e)
                if e.is_brokers_unavailable()
                    && began.elapsed() + attempt.elapsed() + wait < patience =>
            {
                tracing::info!(error = %e, retry_in_ms = wait.as_millis(), "Kafka is not available yet; retrying.");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(2));
            }
            result => return result,
        }
    }
}

/// Commits `offsets` (partition, next offset to read; each 0 or more) for `group`.
pub async fn commit(
    client: &Client,
    endpoint: &str,
    group: &str,
    topic: &str,
    offsets: &[(i32, i64)],
) -> Result<(), KafkaOffsetError> {
    let commit_error = |source| KafkaOffsetError::Commit {
        group: group.to_owned(),
        topic: topic.to_owned(),
        endpoint: endpoint.to_owned(),
        source: Box::new(source),
    };
    let page_error = |e: xdrive_proto::page::PageError| KafkaOffsetError::Page {
        endpoint: endpoint.to_owned(),
        message: e.to_string(),
    };
    if offsets.is_empty() {
        return Ok(());
    }
    let spec = WriteSpec::new(format!("/{endpoint}/"), &write_schema());
    let mut writer = client.write(&spec).await.map_err(commit_error)?;
    let mut builder = xdrive_proto::page::PageBuilder::new(write_schema(), PageLimits::default());
    for &(partition, offset) in offsets {
        builder.push(Value::Text(group)).map_err(page_error)?;
        builder.push(Value::Text(topic)).map_err(page_error)?;
        builder.push(Value::Int32(partition)).map_err(page_error)?;
        builder.push(Value::Int64(offset)).map_err(page_error)?;
        builder.end_row().map_err(page_error)?;
    }
    writer
        .send_builder(&mut builder)
        .await
        .map_err(commit_error)?;
    writer.finish().await.map_err(commit_error)?;
    Ok(())
}

/// Microseconds since 2000-01-01 as `YYYY-MM-DD HH:MM:SS` (UTC, proleptic Gregorian).
pub fn format_pg_micros(micros: i64) -> String {
    const MICROS_PER_DAY: i64 = 86_400_000_000;
    let days = micros.div_euclid(MICROS_PER_DAY);
    let secs = micros.rem_euclid(MICROS_PER_DAY) / 1_000_000;
    // Days since 1970-01-01, then Howard Hinnant's civil_from_days.
    let z = days + 10_957 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The seed's `[Offset from Kafka]` table (tab-separated; timestamps as the seed writes
/// them).
pub fn format_table(rows: &[KafkaOffset]) -> String {
    let mut out = String::from("Group\tTopic\tPartition\tCommitted\tLatest\tTimestamp\n");
    for r in rows {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{} +0000 +0000\n",
            r.group, r.topic, r.partition, r.committed, r.latest, r.timestamp
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_micros_format_as_utc_dates() {
        assert_eq!(format_pg_micros(0), "2000-01-01 00:00:00");
        // 2019-05-17 04:28:35 UTC = unix 1558067315; 2000-01-01 = unix 946684800.
        let micros = (1_558_067_315 - 946_684_800) * 1_000_000 + 123_456;
        assert_eq!(format_pg_micros(micros), "2019-05-17 04:28:35");
        assert_eq!(format_pg_micros(-1_000_000), "1999-12-31 23:59:59");
        // A leap day.
        let leap = (1_709_164_800 - 946_684_800) * 1_000_000;
        assert_eq!(format_pg_micros(leap), "2024-02-29 00:00:00");
    }

    #[test]
    fn partition_num_must_match_the_topic() {
        let offsets: Vec<KafkaOffset> = (0..3)
            .map(|partition| KafkaOffset {
                group: "g".into(),
                topic: "t".into(),
                partition,
                committed: NO_OFFSET,
                latest: 0,
                timestamp: String::new(),
            })
            .collect();
        assert_eq!(check_partition_count("t", 3, &offsets), Ok(()));
        let e = check_partition_count("t", 2, &offsets).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kafka.input.partition_num is 2, but topic `t` has 3 partitions (as xdr_kafkaoffset \
             reports them); set kafka.input.partition_num = 3 in dgkafka.toml"
        );
        assert!(check_partition_count("t", 4, &offsets).is_err());
    }

    #[test]
    fn the_kafka_table_has_the_seeds_columns() {
        let rows = [KafkaOffset {
            group: "dggrp".into(),
            topic: "customer".into(),
            partition: 0,
            committed: 144211,
            latest: 144211,
            timestamp: "2019-05-17 04:28:35".into(),
        }];
        assert_eq!(
            format_table(&rows),
            "Group\tTopic\tPartition\tCommitted\tLatest\tTimestamp\n\
             dggrp\tcustomer\t0\t144211\t144211\t2019-05-17 04:28:35 +0000 +0000\n"
        );
    }
}
