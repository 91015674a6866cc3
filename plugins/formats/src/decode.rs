//! The read path: Kafka messages into rows of typed column pages.

use xdrive_proto::page::{PageBuilder, PageLimits, Value};
use xdrive_proto::schema::{Column, Schema};
use xdrive_proto::spq::{SpqType, unix_millis_to_pg};

use crate::csv::{CsvError, Tokenizer};
use crate::datetime;
use crate::error::{RowError, RowErrorKind, snippet};
use crate::json::{JsonError, JsonValidator};
use crate::spec::{ColumnType, DecoderSpec, Format, InputField, Meta, SpecError, Source};
use crate::value::{self, ValueError};

/// What the plugin knows of a message besides its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageMeta<'a> {
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The timestamp, milliseconds since 1970-01-01 UTC, if the message has one.
    pub timestamp_ms: Option<i64>,
    /// The key, if the message has one.
    pub key: Option<&'a [u8]>,
}

/// Turns messages into page rows. Built once per request from a [`DecoderSpec`]; then
/// [`decode`](Self::decode) once per message. Keeps its scratch buffers between
/// messages, so decoding allocates only what the page itself stores.
#[derive(Debug)]
pub struct Decoder {
    reader: Reader,
    fields: Vec<InputField>,
    sources: Vec<Source>,
    schema: Schema,
    max_message_bytes: usize,
    /// Decoded bytea values.
    bytes: Vec<u8>,
    json: JsonValidator,
}

#[derive(Debug)]
enum Reader {
    Csv(Box<Tokenizer>),
    Json,
    Binary,
}

/// A failure before partition and offset are attached.
struct Failure {
    kind: RowErrorKind,
    reason: String,
}

impl Failure {
    fn new(kind: RowErrorKind, reason: String) -> Self {
        Failure { kind, reason }
    }
}

impl Decoder {
    /// Checks `spec` and prepares for its messages.
    pub fn new(spec: DecoderSpec) -> Result<Decoder, SpecError> {
        let DecoderSpec {
            format,
            fields,
            outputs,
            max_message_bytes,
        } = spec;
        let reader = match &format {
            Format::Csv(options) => {
                options.check()?;
                if fields.is_empty() {
                    return Err(SpecError::NoFields);
                }
                Reader::Csv(Box::new(Tokenizer::new(options)))
            }
            Format::Json => {
                single_field(&format, &fields, SpqType::Json, "json")?;
                Reader::Json
            }
            Format::Binary => {
                single_field(&format, &fields, SpqType::Bytea, "bytea")?;
                Reader::Binary
            }
        };
        let mut columns = Vec::with_capacity(outputs.len());
        for out in &outputs {
            let spq = match out.source {
                Source::Field(index) => {
                    let field = fields.get(index).ok_or_else(|| SpecError::FieldIndex {
                        column: out.name.clone(),
                        index,
                        count: fields.len(),
                    })?;
                    if field.ignored {
                        return Err(SpecError::IgnoredField {
                            column: out.name.clone(),
                            field: field.name.clone(),
                        });
                    }
                    field.ty.spq()
                }
                Source::Meta(meta, spq) => {
                    if !meta.types().contains(&spq) {
                        return Err(SpecError::MetaType {
                            column: out.name.clone(),
                            meta,
                            spq,
                            allowed: meta
                                .types()
                                .iter()
                                .map(|t| t.pg_name())
                                .collect::<Vec<_>>()
                                .join(", "),
                        });
                    }
                    spq
                }
            };
            columns.push(Column::new(out.name.clone(), spq));
        }
        let schema = Schema::new(columns).map_err(SpecError::Schema)?;
        Ok(Decoder {
            reader,
            fields,
            sources: outputs.iter().map(|o| o.source).collect(),
            schema,
            max_message_bytes,
            bytes: Vec::new(),
            json: JsonValidator::default(),
        })
    }

    /// The schema of the pages this decoder fills (one column per output, in order).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// A page builder for this decoder's rows.
    pub fn new_page(&self, limits: PageLimits) -> PageBuilder {
        PageBuilder::new(self.schema.clone(), limits)
    }

    /// The message fields, as given.
    pub fn fields(&self) -> &[InputField] {
        &self.fields
    }

    /// Decodes one message into one row of `page`. `payload` is the message value (`None`
    /// for a tombstone). On a row error nothing is added to the page.
    ///
    /// # Panics
    ///
    /// If `page` is not a builder of [`schema`](Self::schema) (make it with
    /// [`new_page`](Self::new_page)), or already holds `i32::MAX` rows (finish pages when
    /// they are full).
    pub fn decode(
        &mut self,
        meta: &MessageMeta<'_>,
        payload: Option<&[u8]>,
        page: &mut PageBuilder,
    ) -> Result<(), RowError> {
        // Cheap: schemas share their columns, and Arc equality checks the pointer first.
        assert!(
            page.schema() == &self.schema,
            "the page builder's schema is not the decoder's"
        );
        page.abandon_row();
        match self.decode_row(meta, payload, page) {
            Ok(()) => {
                page.end_row().expect("a page holds at most i32::MAX rows");
                Ok(())
            }
            Err(f) => {
                page.abandon_row();
                Err(RowError {
                    partition: meta.partition,
                    offset: meta.offset,
                    kind: f.kind,
                    reason: f.reason,
                })
            }
        }
    }

    fn decode_row(
        &mut self,
        meta: &MessageMeta<'_>,
        payload: Option<&[u8]>,
        page: &mut PageBuilder,
    ) -> Result<(), Failure> {
        let size = payload.map_or(0, <[u8]>::len) + meta.key.map_or(0, <[u8]>::len);
        if size > self.max_message_bytes {
            return Err(Failure::new(
                RowErrorKind::TooLarge,
                format!(
                    "the message is {size} bytes (value and key), more than the limit of {} bytes",
                    self.max_message_bytes
                ),
            ));
        }
        let Decoder {
            reader,
            fields,
            sources,
            schema,
            bytes,
            json,
            ..
        } = self;
        let columns = schema.columns();
        match reader {
            Reader::Csv(tokenizer) => {
                let Some(payload) = payload else {
                    return Err(Failure::new(
                        RowErrorKind::Tombstone,
                        "the message value is NULL (a tombstone); a csv message must hold a row"
                            .into(),
                    ));
                };
                let text = utf8(payload, "the message")?;
                if let Some(at) = memchr::memchr(0, payload) {
                    return Err(Failure::new(
                        RowErrorKind::Encoding,
                        format!("the message has a NUL byte at byte {at}, which text cannot hold"),
                    ));
                }
                tokenizer.tokenize(text).map_err(|e| csv_failure(e, payload))?;
                let got = tokenizer.fields().len();
                if got != fields.len() {
                    return Err(Failure::new(
                        RowErrorKind::FieldCount,
                        format!(
                            "expected {} fields, got {got}: {}",
                            fields.len(),
                            snippet(payload)
                        ),
                    ));
                }
                for (&source, column) in sources.iter().zip(columns) {
                    match source {
                        Source::Field(j) => {
                            let field = tokenizer.fields()[j];
                            if tokenizer.is_null(text, field) {
                                push(page, None);
                                continue;
                            }
                            let s = tokenizer.text(text, field);
                            let ty = &fields[j].ty;
                            let v = parse_text(ty, s, bytes, json).map_err(|e| {
                                value_failure(&format!("column \"{}\"", fields[j].name), ty, s.as_bytes(), e)
                            })?;
                            push(page, Some(v));
                        }
                        Source::Meta(m, spq) => push_meta(page, meta, &column.name, m, spq, json)?,
                    }
                }
            }
            Reader::Json => {
                // A tombstone is a NULL jdata: JSON columns are nullable, and the write path
                // turns a NULL jdata back into a tombstone.
                let text = match payload {
                    None => None,
                    Some(p) => {
                        let text = utf8(p, "the message")?;
                        json.validate(text).map_err(|e| json_failure(e, p))?;
                        Some(text)
                    }
                };
                for (&source, column) in sources.iter().zip(columns) {
                    match source {
                        Source::Field(_) => push(page, text.map(Value::Json)),
                        Source::Meta(m, spq) => push_meta(page, meta, &column.name, m, spq, json)?,
                    }
                }
            }
            Reader::Binary => {
                for (&source, column) in sources.iter().zip(columns) {
                    match source {
                        Source::Field(_) => push(page, payload.map(Value::Bytea)),
                        Source::Meta(m, spq) => push_meta(page, meta, &column.name, m, spq, json)?,
                    }
                }
            }
        }
        Ok(())
    }
}

/// Pushes a value of the right type into the page, which [`Decoder::decode`] checked is
/// of the decoder's schema.
fn push(page: &mut PageBuilder, value: Option<Value<'_>>) {
    page.push_opt(value)
        .expect("values match the decoder's schema");
}

fn single_field(
    format: &Format,
    fields: &[InputField],
    spq: SpqType,
    expected: &'static str,
) -> Result<(), SpecError> {
    match fields {
        [f] if f.ty.spq() == spq => Ok(()),
        _ => Err(SpecError::SingleField {
            format: format.name(),
            expected,
            got: if fields.is_empty() {
                "none".into()
            } else {
                fields
                    .iter()
                    .map(|f| format!("\"{}\" {}", f.name, f.ty))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        }),
    }
}

fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, Failure> {
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        Failure::new(
            RowErrorKind::Encoding,
            format!(
                "{what} is not valid UTF-8 at byte {at}: {}",
                snippet(&bytes[at.saturating_sub(10)..])
            ),
        )
    })
}

fn csv_failure(e: CsvError, payload: &[u8]) -> Failure {
    let reason = match e {
        CsvError::UnterminatedQuote { at } => {
            format!("the quote opened at byte {at} is never closed: {}", snippet(&payload[at..]))
        }
        CsvError::LineBreak { at } => format!(
            "unquoted line break at byte {at} (a message holds one row; quote values with line \
             breaks): {}",
            snippet(payload)
        ),
    };
    Failure::new(RowErrorKind::Csv, reason)
}

fn json_failure(e: JsonError, payload: &[u8]) -> Failure {
    let from = e.at.min(payload.len()).saturating_sub(10);
    Failure::new(
        RowErrorKind::Json,
        format!(
            "the message is not valid JSON: {} near byte {}: {}",
            e.reason,
            e.at,
            snippet(&payload[from..])
        ),
    )
}

/// `column` names the column for the reason: `column "x"`.
fn value_failure(column: &str, ty: &ColumnType, raw: &[u8], e: ValueError) -> Failure {
    let quoted = snippet(raw);
    let (kind, reason) = match e {
        ValueError::Syntax(None) => (
            RowErrorKind::Value,
            format!("{column}: {quoted} is not a valid {ty}"),
        ),
        ValueError::Syntax(Some(detail)) => (
            RowErrorKind::Value,
            format!("{column}: {quoted} is not a valid {ty}: {detail}"),
        ),
        ValueError::Range => (
            RowErrorKind::Value,
            format!("{column}: {quoted} is out of range for {ty}"),
        ),
        ValueError::TooLong { chars } => (
            RowErrorKind::Value,
            format!("{column}: {quoted} has {chars} characters, more than {ty} allows"),
        ),
        ValueError::Json(j) => (
            RowErrorKind::Json,
            format!(
                "{column}: {quoted} is not valid JSON: {} near byte {}",
                j.reason, j.at
            ),
        ),
        ValueError::Utf8 { at } => (
            RowErrorKind::Encoding,
            format!("{column}: {quoted} is not valid UTF-8 at byte {at}"),
        ),
        ValueError::Nul { at } => (
            RowErrorKind::Encoding,
            format!("{column}: {quoted} has a NUL byte at byte {at}, which text cannot hold"),
        ),
    };
    Failure::new(kind, reason)
}

/// Converts a field's text to its column's type, once.
fn parse_text<'a>(
    ty: &ColumnType,
    s: &'a str,
    bytes: &'a mut Vec<u8>,
    json: &mut JsonValidator,
) -> Result<Value<'a>, ValueError> {
    Ok(match ty.spq() {
        SpqType::Bool => Value::Bool(value::parse_bool(s)?),
        SpqType::Int16 => Value::Int16(value::parse_int(s, i16::MIN.into(), i16::MAX.into())? as i16),
        SpqType::Int32 => Value::Int32(value::parse_int(s, i32::MIN.into(), i32::MAX.into())? as i32),
        SpqType::Int64 => Value::Int64(value::parse_int(s, i64::MIN, i64::MAX)?),
        SpqType::Float => Value::Float(value::parse_f32(s)?),
        SpqType::Double => Value::Double(value::parse_f64(s)?),
        SpqType::Numeric => Value::Numeric(value::parse_numeric(s)?),
        SpqType::Cstr => Value::Text(value::fit_length(s, ty.max_chars())?),
        SpqType::Json => {
            json.validate(s).map_err(ValueError::Json)?;
            Value::Json(s)
        }
        SpqType::Bytea => {
            value::parse_bytea(s, bytes)?;
            Value::Bytea(bytes)
        }
        SpqType::Date => Value::Date(datetime::parse_date(s).map_err(|d| ValueError::Syntax(Some(d)))?),
        SpqType::TimeMicros => {
            Value::Time(datetime::parse_time(s).map_err(|d| ValueError::Syntax(Some(d)))?)
        }
        SpqType::TimestampMicros => Value::Timestamp(
            datetime::parse_timestamp(s, false).map_err(|d| ValueError::Syntax(Some(d)))?,
        ),
        SpqType::TimestamptzMicros => Value::Timestamptz(
            datetime::parse_timestamp(s, true).map_err(|d| ValueError::Syntax(Some(d)))?,
        ),
        // Every type `from_pg_type` returns is handled above.
        _ => return Err(ValueError::Syntax(Some("unsupported type"))),
    })
}

fn push_meta(
    page: &mut PageBuilder,
    meta: &MessageMeta<'_>,
    name: &str,
    item: Meta,
    spq: SpqType,
    json: &mut JsonValidator,
) -> Result<(), Failure> {
    let value = match (item, spq) {
        (Meta::Partition, SpqType::Int64) => Some(Value::Int64(meta.partition.into())),
        (Meta::Partition, _) => Some(Value::Int32(meta.partition)),
        (Meta::Offset, _) => Some(Value::Int64(meta.offset)),
        (Meta::Timestamp, SpqType::Int64) => meta.timestamp_ms.map(Value::Int64),
        (Meta::Timestamp, _) => match meta.timestamp_ms {
            None => None,
            Some(ms) => {
                let micros = unix_millis_to_pg(ms)
                    .filter(|t| (datetime::TIMESTAMP_MIN..datetime::TIMESTAMP_END).contains(t))
                    .ok_or_else(|| {
                        Failure::new(
                            RowErrorKind::Value,
                            format!(
                                "column \"{name}\": the message timestamp {ms} ms is out of range \
                                 for {}",
                                spq.pg_name()
                            ),
                        )
                    })?;
                Some(if spq == SpqType::TimestampMicros {
                    Value::Timestamp(micros)
                } else {
                    Value::Timestamptz(micros)
                })
            }
        },
        (Meta::Key, SpqType::Bytea) => meta.key.map(Value::Bytea),
        (Meta::Key, _) => match meta.key {
            None => None,
            Some(key) => {
                let ty = ColumnType::of(spq);
                let column = format!("column \"{name}\" (the message key)");
                let fail = |e| value_failure(&column, &ty, key, e);
                let text = std::str::from_utf8(key)
                    .map_err(|e| fail(ValueError::Utf8 { at: e.valid_up_to() }))?;
                if spq == SpqType::Json {
                    json.validate(text).map_err(|e| fail(ValueError::Json(e)))?;
                    Some(Value::Json(text))
                } else {
                    if let Some(at) = memchr::memchr(0, key) {
                        return Err(fail(ValueError::Nul { at }));
                    }
                    Some(Value::Text(text))
                }
            }
        },
    };
    push(page, value);
    Ok(())
}
