//! The xdrive plugin: read serves offsets, write commits them.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use kafka_config::KafkaSettings;
use xdrive_plugin::proto::fragment::Fragment;
use xdrive_plugin::proto::page::{PageReader, Value};
use xdrive_plugin::proto::spq::{SpqType, unix_micros_to_pg};
use xdrive_plugin::{PageSink, PageSource, Plugin, PluginError, ReadRequest, WriteRequest};

use crate::kafka::{GroupClient, KafkaOpError};
use crate::request::{ReadColumn, ReadQuery, RequestError, WriteColumns};

/// The plugin: the mount's settings, or why the mount's arguments are unusable (then
/// every request gets that error, so the user sees it where they query).
pub struct OffsetPlugin {
    settings: Result<KafkaSettings, String>,
    /// The clients of the request served. Closing one (librdkafka leaving the brokers)
    /// can take about 100 ms: they are dropped with the plugin, after the reply has
    /// ended, so no reader waits for it.
    spent: Vec<GroupClient>,
}

impl OffsetPlugin {
    /// A plugin with these settings, or the argument error to report.
    pub fn new(settings: Result<KafkaSettings, String>) -> OffsetPlugin {
        OffsetPlugin {
            settings,
            spent: Vec::new(),
        }
    }

    fn settings(&self) -> Result<&KafkaSettings, PluginError> {
        self.settings.as_ref().map_err(|e| {
            PluginError::new(format!(
                "xdr_kafkaoffset: bad mount arguments in xdrive.toml: {e}"
            ))
        })
    }
}

/// Now, as our TIMESTAMP: microseconds since 2000-01-01.
fn now_pg_micros() -> i64 {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    unix_micros_to_pg(unix).unwrap_or(0)
}

impl Plugin for OffsetPlugin {
    fn name(&self) -> &str {
        "xdr_kafkaoffset"
    }

    fn read(&mut self, req: &ReadRequest, out: &mut PageSink<'_>) -> Result<(), PluginError> {
        let columns = ReadColumn::all_of(out.schema())?;
        let query = ReadQuery::from_filters(&req.filter)?;
        let fragment = Fragment::new(req.frag_id, req.frag_cnt).map_err(RequestError::from)?;
        let settings = self.settings()?;
        let client =
            GroupClient::new(settings, &query.group).map_err(KafkaOpError::into_plugin_error)?;
        let partitions: Vec<i32> = client
            .partitions(&query.topic)
            .map_err(KafkaOpError::into_plugin_error)?
            .into_iter()
            .filter(|&p| fragment.owns(p))
            .collect();
        let offsets = client
            .offsets(&query.topic, &partitions)
            .map_err(KafkaOpError::into_plugin_error)?;
        let ts = now_pg_micros();
        let mut page = out.page_builder();
        for o in &offsets {
            for c in &columns {
                page.push(match *c {
                    ReadColumn::Group => Value::Text(&query.group),
                    ReadColumn::Topic => Value::Text(&query.topic),
                    ReadColumn::Partition(SpqType::Int64) => Value::Int64(i64::from(o.partition)),
                    ReadColumn::Partition(_) => Value::Int32(o.partition),
                    ReadColumn::Committed => Value::Int64(o.committed),
                    ReadColumn::Latest => Value::Int64(o.latest),
                    ReadColumn::Ts(SpqType::TimestamptzMicros) => Value::Timestamptz(ts),
                    ReadColumn::Ts(_) => Value::Timestamp(ts),
                })?;
            }
            page.end_row()?;
            if page.is_full() {
                out.send_builder(&mut page)?;
            }
        }
        out.send_builder(&mut page)?;
        tracing::info!(
            group = %query.group,
            topic = %query.topic,
            frag_id = req.frag_id,
            frag_cnt = req.frag_cnt,
            rows = offsets.len(),
            "Served offsets."
        );
        self.spent.push(client);
        Ok(())
    }

    fn write(&mut self, req: &WriteRequest, pages: &mut PageSource<'_>) -> Result<(), PluginError> {
        let schema = xdrive_plugin::proto::schema::Schema::from_descs(&req.columndesc)?;
        let columns = WriteColumns::find(&schema)?;
        let settings = self.settings()?;
        // group → topic → partition → offset; a partition given twice keeps its last offset.
        let mut wanted: BTreeMap<String, BTreeMap<String, BTreeMap<i32, i64>>> = BTreeMap::new();
        let mut row_base = 0usize;
        while let Some(page) = pages.next_page()? {
            collect_rows(&page, columns, row_base, &mut wanted)?;
            row_base += page.nrow();
        }
        let mut spent = Vec::new();
        for (group, offsets) in &wanted {
            let client =
                GroupClient::new(settings, group).map_err(KafkaOpError::into_plugin_error)?;
            client
                .commit(offsets)
                .map_err(KafkaOpError::into_plugin_error)?;
            spent.push(client);
        }
        self.spent.extend(spent);
        Ok(())
    }
}

/// Adds a page's rows to `wanted`; `row_base` numbers rows across the write (from 1 in
/// messages).
fn collect_rows(
    page: &PageReader,
    columns: WriteColumns,
    row_base: usize,
    wanted: &mut BTreeMap<String, BTreeMap<String, BTreeMap<i32, i64>>>,
) -> Result<(), PluginError> {
    let (g, t, p, o) = (
        page.column(columns.group),
        page.column(columns.topic),
        page.column(columns.partition),
        page.column(columns.offset),
    );
    for row in 0..page.nrow() {
        let n = row_base + row + 1;
        let null = |name: &str| PluginError::new(format!("row {n} of the write: {name} is NULL"));
        let Some(Value::Text(group)) = g.get(row) else {
            return Err(null(g.name()));
        };
        let Some(Value::Text(topic)) = t.get(row) else {
            return Err(null(t.name()));
        };
        let partition = match p.get(row) {
            Some(Value::Int32(v)) => v,
            Some(Value::Int64(v)) => i32::try_from(v).map_err(|_| {
                PluginError::new(format!(
                    "row {n} of the write: partition_number {v} is out of range"
                ))
            })?,
            _ => return Err(null(p.name())),
        };
        let Some(Value::Int64(offset)) = o.get(row) else {
            return Err(null(o.name()));
        };
        let here = || {
            format!(
                "row {n} of the write (group \"{group}\", topic \"{topic}\", partition {partition})"
            )
        };
        if group.is_empty() || topic.is_empty() {
            return Err(PluginError::new(format!(
                "{}: consumer_group and topic must not be empty",
                here()
            )));
        }
        if partition < 0 {
            return Err(PluginError::new(format!(
                "{}: partition_number must not be negative",
                here()
            )));
        }
        if offset < 0 {
            return Err(PluginError::new(format!(
                "{}: committed_offset {offset} cannot be committed (offsets are 0 or more)",
                here()
            )));
        }
        wanted
            .entry(group.to_owned())
            .or_default()
            .entry(topic.to_owned())
            .or_default()
            .insert(partition, offset);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use xdrive_plugin::proto::page::{PageBuilder, PageLimits};
    use xdrive_plugin::proto::schema::{Column, Schema};

    fn page(rows: &[(Option<&str>, &str, i32, i64)]) -> (PageReader, WriteColumns) {
        let schema = Schema::new(vec![
            Column::new("consumer_group", SpqType::Cstr),
            Column::new("topic", SpqType::Cstr),
            Column::new("partition_number", SpqType::Int32),
            Column::new("committed_offset", SpqType::Int64),
            Column::new("latest_offset", SpqType::Int64),
        ])
        .unwrap();
        let mut b = PageBuilder::new(schema.clone(), PageLimits::default());
        for &(g, t, p, o) in rows {
            b.push_opt(g.map(Value::Text)).unwrap();
            b.push(Value::Text(t)).unwrap();
            b.push(Value::Int32(p)).unwrap();
            b.push(Value::Int64(o)).unwrap();
            b.push_null().unwrap();
            b.end_row().unwrap();
        }
        let reader = PageReader::new(&schema, b.finish().unwrap()).unwrap();
        (reader, WriteColumns::find(&schema).unwrap())
    }

    #[test]
    fn rows_group_by_group_and_topic_last_offset_wins() {
        let (p, c) = page(&[
            (Some("g1"), "t", 0, 5),
            (Some("g1"), "t", 1, 6),
            (Some("g2"), "t", 0, 7),
            (Some("g1"), "t", 0, 8),
        ]);
        let mut wanted = BTreeMap::new();
        collect_rows(&p, c, 0, &mut wanted).unwrap();
        assert_eq!(wanted["g1"]["t"], BTreeMap::from([(0, 8), (1, 6)]));
        assert_eq!(wanted["g2"]["t"], BTreeMap::from([(0, 7)]));
    }

    #[test]
    fn bad_rows_are_named() {
        let (p, c) = page(&[(Some("g"), "t", 0, 1), (None, "t", 0, 1)]);
        let e = collect_rows(&p, c, 10, &mut BTreeMap::new()).unwrap_err();
        assert_eq!(e.message(), "row 12 of the write: consumer_group is NULL");
        let (p, c) = page(&[(Some("g"), "t", 2, -1001)]);
        let e = collect_rows(&p, c, 0, &mut BTreeMap::new()).unwrap_err();
        assert_eq!(
            e.message(),
            "row 1 of the write (group \"g\", topic \"t\", partition 2): committed_offset \
             -1001 cannot be committed (offsets are 0 or more)"
        );
        let (p, c) = page(&[(Some("g"), "t", -1, 0)]);
        let e = collect_rows(&p, c, 0, &mut BTreeMap::new()).unwrap_err();
        assert!(
            e.message()
                .ends_with("partition_number must not be negative")
        );
    }
}
