//! A write: each row of the pages becomes one message, produced with the idempotent
//! producer; the write succeeds only when every message is acknowledged.

use std::time::{Duration, Instant};

use formats::{Encoder, Format};
use kafka_config::{KafkaSettings, explain};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer};
use xdrive_plugin::proto::page::{PageReader, Value};
use xdrive_plugin::proto::schema::Schema;
use xdrive_plugin::proto::spq::SpqType;
use xdrive_plugin::{PageSource, PluginError, WriteRequest};

use crate::kafka::{KafkaOpError, Writer};
use crate::request::{WriteQuery, topic_of};

/// How long the end of a write waits for the last acknowledgements (past the producer's
/// own `message.timeout.ms`, after which librdkafka fails the messages itself).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(120);

/// How a row becomes a message value.
enum ValueSource {
    /// csv: every column, through the encoder.
    Csv(Box<Encoder>),
    /// json or binary: column `i` as is (NULL = a tombstone).
    Column(usize),
}

/// The column whose value is the message key, if any; checked to be text, json, numeric,
/// bytea or an integer.
fn key_column(schema: &Schema, key: Option<&str>) -> Result<Option<usize>, PluginError> {
    let Some(name) = key else {
        return Ok(None);
    };
    let Some(i) = schema.index_of(name) else {
        return Err(PluginError::new(format!(
            "write key \"key\": the write has no column \"{name}\" (it has {})",
            schema
                .columns()
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let spq = schema.column(i).spq;
    if !matches!(
        spq,
        SpqType::Cstr
            | SpqType::Json
            | SpqType::Numeric
            | SpqType::Bytea
            | SpqType::Int16
            | SpqType::Int32
            | SpqType::Int64
    ) {
        return Err(PluginError::new(format!(
            "the key column \"{name}\" has type {}: a key must be text, bytea or an integer",
            spq.pg_name()
        )));
    }
    Ok(Some(i))
}

/// How rows become values for `format`: csv encodes every column; json and binary take
/// their one json or bytea column (a key column may come beside it).
fn value_of(
    format: &Format,
    schema: &Schema,
    key: Option<usize>,
) -> Result<ValueSource, PluginError> {
    let want = match format {
        Format::Csv(_) => return Ok(ValueSource::Csv(Box::new(Encoder::new(format, schema)?))),
        Format::Json => SpqType::Json,
        Format::Binary => SpqType::Bytea,
    };
    let candidates: Vec<usize> = (0..schema.len()).filter(|&i| Some(i) != key).collect();
    match candidates[..] {
        [i] if schema.column(i).spq == want => Ok(ValueSource::Column(i)),
        _ => Err(PluginError::new(format!(
            "a {} write needs one {} column (and, with key=COLUMN, the key column); it has ({})",
            format.name(),
            want.pg_name(),
            schema
                .columns()
                .iter()
                .map(|c| format!("{} {}", c.name, c.spq.pg_name()))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The key bytes of `row`: text as its UTF-8, bytea as is, integers in decimal.
fn key_bytes<'a>(
    page: &'a PageReader,
    column: usize,
    row: usize,
    buf: &'a mut String,
) -> Option<&'a [u8]> {
    match page.column(column).get(row)? {
        Value::Text(s) | Value::Json(s) | Value::Numeric(s) => Some(s.as_bytes()),
        Value::Bytea(b) => Some(b),
        Value::Int16(v) => {
            *buf = v.to_string();
            Some(buf.as_bytes())
        }
        Value::Int32(v) => {
            *buf = v.to_string();
            Some(buf.as_bytes())
        }
        Value::Int64(v) => {
            *buf = v.to_string();
            Some(buf.as_bytes())
        }
        _ => None,
    }
}

/// Serves a write.
pub fn write(
    settings: &KafkaSettings,
    req: &WriteRequest,
    pages: &mut PageSource<'_>,
) -> Result<(), PluginError> {
    let path = req.filespec.as_ref().map_or("", |f| f.path.as_str());
    let (topic, path_query) = topic_of(path)?;
    let query = WriteQuery::parse(path_query)?;
    let schema = Schema::from_descs(&req.columndesc)?;
    let format = query.format.resolve(req.filespec.as_ref())?;
    let key = key_column(&schema, query.key.as_deref())?;
    let mut value = value_of(&format, &schema, key)?;
    let writer = Writer::new(settings).map_err(KafkaOpError::into_plugin_error)?;
    writer
        .partition_count(&topic)
        .map_err(KafkaOpError::into_plugin_error)?;
    let producer = writer.producer();
    let started = Instant::now();
    let mut sent: u64 = 0;
    let mut key_buf = String::new();
    while let Some(page) = pages.next_page()? {
        for row in 0..page.nrow() {
            let payload: Option<&[u8]> = match &mut value {
                ValueSource::Csv(encoder) => encoder.encode(&page, row)?,
                ValueSource::Column(i) => match page.column(*i).get(row) {
                    Some(Value::Json(s)) => Some(s.as_bytes()),
                    Some(Value::Bytea(b)) => Some(b),
                    _ => None,
                },
            };
            let key = key.and_then(|k| key_bytes(&page, k, row, &mut key_buf));
            let mut record: BaseRecord<'_, [u8], [u8], ()> = BaseRecord::to(&topic);
            if let Some(p) = payload {
                record = record.payload(p);
            }
            if let Some(k) = key {
                record = record.key(k);
            }
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        record = r;
                        producer.poll(Duration::from_millis(100));
                    }
                    Err((e, _)) => {
                        return Err(writer
                            .error(
                                format!("producing message {} to topic \"{topic}\"", sent + 1),
                                explain(&e),
                            )
                            .into());
                    }
                }
            }
            sent += 1;
            producer.poll(Duration::ZERO);
        }
        // Fail early when a message of an earlier page could not be delivered.
        if let (_, Some(e)) = producer.context().deliveries() {
            return Err(PluginError::new(format!(
                "writing to topic \"{topic}\": {e}"
            )));
        }
    }
    let flushed = producer.flush(FLUSH_TIMEOUT);
    let (acked, first_error) = producer.context().deliveries();
    if let Some(e) = first_error {
        return Err(PluginError::new(format!(
            "writing to topic \"{topic}\": {e}"
        )));
    }
    if let Err(e) = flushed {
        return Err(writer
            .error(
                format!(
                    "writing to topic \"{topic}\": {} of {sent} messages were not acknowledged \
                     within {}s",
                    sent - acked.min(sent),
                    FLUSH_TIMEOUT.as_secs()
                ),
                explain(&e),
            )
            .into());
    }
    if acked != sent {
        return Err(PluginError::new(format!(
            "writing to topic \"{topic}\": {acked} of {sent} messages were acknowledged"
        )));
    }
    tracing::info!(
        topic = %topic,
        messages = sent,
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "Write done."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::CsvOptions;
    use xdrive_plugin::proto::page::{PageBuilder, PageLimits};
    use xdrive_plugin::proto::schema::Column;

    fn schema(cols: &[(&str, SpqType)]) -> Schema {
        Schema::new(cols.iter().map(|&(n, t)| Column::new(n, t)).collect()).unwrap()
    }

    #[test]
    fn key_columns_must_exist_and_have_a_key_type() {
        let s = schema(&[
            ("id", SpqType::Int64),
            ("name", SpqType::Cstr),
            ("at", SpqType::Date),
        ]);
        assert_eq!(key_column(&s, None).unwrap(), None);
        assert_eq!(key_column(&s, Some("name")).unwrap(), Some(1));
        assert_eq!(
            key_column(&s, Some("nope")).unwrap_err().message(),
            "write key \"key\": the write has no column \"nope\" (it has id, name, at)"
        );
        assert_eq!(
            key_column(&s, Some("at")).unwrap_err().message(),
            "the key column \"at\" has type date: a key must be text, bytea or an integer"
        );
    }

    #[test]
    fn json_and_binary_writes_take_their_one_value_column() {
        let s = schema(&[("id", SpqType::Int32), ("jdata", SpqType::Json)]);
        assert!(matches!(
            value_of(&Format::Json, &s, Some(0)),
            Ok(ValueSource::Column(1))
        ));
        let e = value_of(&Format::Json, &s, None).err().unwrap();
        assert_eq!(
            e.message(),
            "a json write needs one json column (and, with key=COLUMN, the key column); it has \
             (id int4, jdata json)"
        );
        assert!(value_of(&Format::Binary, &s, Some(0)).is_err());
        let csv = Format::Csv(CsvOptions::new(b'|').unwrap());
        assert!(matches!(
            value_of(&csv, &s, Some(0)),
            Ok(ValueSource::Csv(_))
        ));
    }

    #[test]
    fn keys_are_bytes_text_or_decimal_integers() {
        let s = schema(&[
            ("a", SpqType::Int16),
            ("b", SpqType::Int64),
            ("c", SpqType::Cstr),
            ("d", SpqType::Bytea),
        ]);
        let mut b = PageBuilder::new(s.clone(), PageLimits::default());
        b.push(Value::Int16(-3)).unwrap();
        b.push(Value::Int64(1 << 40)).unwrap();
        b.push(Value::Text("k")).unwrap();
        b.push_null().unwrap();
        b.end_row().unwrap();
        let page = PageReader::new(&s, b.finish().unwrap()).unwrap();
        let mut buf = String::new();
        assert_eq!(key_bytes(&page, 0, 0, &mut buf), Some(b"-3".as_slice()));
        assert_eq!(
            key_bytes(&page, 1, 0, &mut buf),
            Some(b"1099511627776".as_slice())
        );
        assert_eq!(key_bytes(&page, 2, 0, &mut buf), Some(b"k".as_slice()));
        assert_eq!(key_bytes(&page, 3, 0, &mut buf), None);
    }
}
