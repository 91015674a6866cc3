//! The read path: Kafka messages into rows of typed column pages.

use xdrive_proto::page::{PageBuilder, PageLimits, Value};
use xdrive_proto::schema::{Column, Schema};
use xdrive_proto::spq::{SpqType, unix_millis_to_pg};

use crate::csv::{CsvError, Tokenizer};
use crate::datetime;
use crate::error::{RowError, RowErrorKind, snippet};
use crate::json::{JsonError, JsonValidator};
use crate::spec::{
    ColumnType, DecoderSpec, Format, InputField, Meta, OutputColumn, Source, SpecError,
};
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
    /// The schema of the last page [`decode_with_trailer`](Self::decode_with_trailer)
    /// checked: later rows of the same page skip the check.
    checked_wider: Option<Schema>,
}

#[derive(Debug)]
enum Reader {
    Csv(Box<Tokenizer>),
    Json,
    Binary,
}

/// A failure before partition and offset are attached.
pub(crate) struct Failure {
    pub(crate) kind: RowErrorKind,
    pub(crate) reason: String,
}

impl Failure {
    pub(crate) fn new(kind: RowErrorKind, reason: String) -> Self {
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
        let schema = page_schema(&fields, &outputs)?;
        Ok(Decoder {
            reader,
            fields,
            sources: outputs.iter().map(|o| o.source).collect(),
            schema,
            max_message_bytes,
            bytes: Vec::new(),
            json: JsonValidator::default(),
            checked_wider: None,
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
        self.decode_then(meta, payload, page, &[])
    }

    /// Like [`decode`](Self::decode), into a page whose first columns are this decoder's
    /// and whose other columns get `trailer`'s values, in order (e.g. the row-kind columns
    /// of a data row): one pass, where decoding into a page of its own and copying the
    /// rows over would write every value twice.
    ///
    /// # Panics
    ///
    /// If `page`'s columns are not this decoder's followed by `trailer.len()` more, or it
    /// already holds `i32::MAX` rows. A trailer value whose type differs from its
    /// column's is a row error naming the column.
    pub fn decode_with_trailer(
        &mut self,
        meta: &MessageMeta<'_>,
        payload: Option<&[u8]>,
        page: &mut PageBuilder,
        trailer: &[Option<Value<'_>>],
    ) -> Result<(), RowError> {
        if self.checked_wider.as_ref() != Some(page.schema()) {
            let columns = page.schema().columns();
            assert!(
                columns.len() == self.schema.len() + trailer.len()
                    && columns[..self.schema.len()] == *self.schema.columns(),
                "the page builder's first columns are not the decoder's, or the trailer does \
                 not fill the rest"
            );
            self.checked_wider = Some(page.schema().clone());
        }
        self.decode_then(meta, payload, page, trailer)
    }

    fn decode_then(
        &mut self,
        meta: &MessageMeta<'_>,
        payload: Option<&[u8]>,
        page: &mut PageBuilder,
        trailer: &[Option<Value<'_>>],
    ) -> Result<(), RowError> {
        let decoded = self.decode_row(meta, payload, page).and_then(|()| {
            trailer.iter().try_for_each(|v| {
                page.push_opt(*v)
                    .map_err(|e| Failure::new(RowErrorKind::Value, e.to_string()))
            })
        });
        match decoded {
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
                tokenizer
                    .tokenize(text)
                    .map_err(|e| csv_failure(e, payload))?;
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
                                value_failure(
                                    &format!("column \"{}\"", fields[j].name),
                                    ty,
                                    s.as_bytes(),
                                    e,
                                )
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

/// The schema of the pages made from `fields` for `outputs`: each output column takes its
/// field's type (an ignored field cannot be output) or a type its metadata allows.
pub(crate) fn page_schema(
    fields: &[InputField],
    outputs: &[OutputColumn],
) -> Result<Schema, SpecError> {
    let mut columns = Vec::with_capacity(outputs.len());
    for out in outputs {
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
    Schema::new(columns).map_err(SpecError::Schema)
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

pub(crate) fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, Failure> {
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

pub(crate) fn csv_failure(e: CsvError, payload: &[u8]) -> Failure {
    let reason = match e {
        CsvError::UnterminatedQuote { at } => {
            format!(
                "the quote opened at byte {at} is never closed: {}",
                snippet(&payload[at..])
            )
        }
        CsvError::LineBreak { at } => format!(
            "unquoted line break at byte {at} (a message holds one row; quote values with line \
             breaks): {}",
            snippet(payload)
        ),
    };
    Failure::new(RowErrorKind::Csv, reason)
}

pub(crate) fn json_failure(e: JsonError, payload: &[u8]) -> Failure {
    Failure::new(
        RowErrorKind::Json,
        format!(
            "the message is not valid JSON: {}: {}",
            e.reason,
            snippet(payload)
        ),
    )
}

/// `column` names the column for the reason: `column "x"`.
pub(crate) fn value_failure(column: &str, ty: &ColumnType, raw: &[u8], e: ValueError) -> Failure {
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
            format!("{column}: {quoted} is not valid JSON: {}", j.reason),
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
// `inline`: the decode loop's hot path; since the transform output calls it too, LLVM
// kept it out of line (8% fewer rows/s on the read bench).
#[inline]
pub(crate) fn parse_text<'a>(
    ty: &ColumnType,
    s: &'a str,
    bytes: &'a mut Vec<u8>,
    json: &mut JsonValidator,
) -> Result<Value<'a>, ValueError> {
    Ok(match ty.spq() {
        SpqType::Bool => Value::Bool(value::parse_bool(s)?),
        SpqType::Int16 => {
            Value::Int16(value::parse_int(s, i16::MIN.into(), i16::MAX.into())? as i16)
        }
        SpqType::Int32 => {
            Value::Int32(value::parse_int(s, i32::MIN.into(), i32::MAX.into())? as i32)
        }
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
        SpqType::Date => {
            Value::Date(datetime::parse_date(s).map_err(|d| ValueError::Syntax(Some(d)))?)
        }
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

pub(crate) fn push_meta(
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
                let text = std::str::from_utf8(key).map_err(|e| {
                    fail(ValueError::Utf8 {
                        at: e.valid_up_to(),
                    })
                })?;
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

#[cfg(test)]
mod tests {
    use xdrive_proto::page::{PageLimits, PageReader};

    use super::*;
    use crate::spec::{CsvOptions, OutputColumn};

    const META: MessageMeta<'static> = MessageMeta {
        partition: 2,
        offset: 100,
        timestamp_ms: Some(946_684_800_123),
        key: Some(b"k1"),
    };

    fn csv(types: &[&str]) -> Decoder {
        let fields = types
            .iter()
            .enumerate()
            .map(|(i, t)| InputField::new(format!("c{i}"), t).unwrap())
            .collect();
        Decoder::new(DecoderSpec::all_fields(
            Format::Csv(CsvOptions::new(b'|').unwrap()),
            fields,
        ))
        .unwrap()
    }

    /// Decodes `messages`, returning the page and the errors' reasons.
    fn run(decoder: &mut Decoder, messages: &[Option<&[u8]>]) -> (PageReader, Vec<RowError>) {
        let mut page = decoder.new_page(PageLimits::default());
        let mut errors = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let meta = MessageMeta {
                offset: i as i64,
                ..META
            };
            if let Err(e) = decoder.decode(&meta, *m, &mut page) {
                errors.push(e);
            }
        }
        let page = PageReader::new(decoder.schema(), page.finish().unwrap()).unwrap();
        (page, errors)
    }

    fn one_error(decoder: &mut Decoder, message: Option<&[u8]>) -> RowError {
        let (page, mut errors) = run(decoder, &[message]);
        assert_eq!(page.nrow(), 0);
        assert_eq!(errors.len(), 1);
        errors.remove(0)
    }

    #[test]
    fn typed_csv_row() {
        let mut d = csv(&[
            "int2",
            "int4",
            "int8",
            "real",
            "float8",
            "bool",
            "numeric(10,2)",
            "text",
            "varchar(3)",
            "char(2)",
            "date",
            "time",
            "timestamp",
            "timestamptz",
            "json",
            "bytea",
        ]);
        let row = b"-32768|2147483647|-9223372036854775808|1.5|-0|yes|12.50|\"a|b\"|ab |x|2024-02-29|24:00:00|2000-01-01 00:00:01|2000-01-01T05:30:00+05:30|\"{\"\"a\"\":[1]}\"|\\x00ff";
        let (page, errors) = run(&mut d, &[Some(row)]);
        assert_eq!(errors, []);
        let got: Vec<_> = page.columns().map(|c| c.get(0)).collect();
        assert_eq!(
            got,
            [
                Some(Value::Int16(i16::MIN)),
                Some(Value::Int32(i32::MAX)),
                Some(Value::Int64(i64::MIN)),
                Some(Value::Float(1.5)),
                Some(Value::Double(-0.0)),
                Some(Value::Bool(true)),
                Some(Value::Numeric("12.50")),
                Some(Value::Text("a|b")),
                Some(Value::Text("ab ")),
                Some(Value::Text("x")),
                Some(Value::Date(8825)),
                Some(Value::Time(86_400_000_000)),
                Some(Value::Timestamp(1_000_000)),
                Some(Value::Timestamptz(0)),
                Some(Value::Json("{\"a\":[1]}")),
                Some(Value::Bytea(&[0, 0xff])),
            ]
        );
        assert!(matches!(page.column(4).get(0), Some(Value::Double(x)) if x.is_sign_negative()));
    }

    #[test]
    fn a_trailer_fills_the_columns_after_the_decoded_ones() {
        use xdrive_proto::schema::Column;
        let mut d = csv(&["int4", "text"]);
        let mut columns = d.schema().columns().to_vec();
        columns.push(Column::new("kind", SpqType::Int32));
        columns.push(Column::new("reason", SpqType::Cstr));
        let wide = Schema::new(columns).unwrap();
        let mut page = PageBuilder::new(wide.clone(), PageLimits::default());
        let trailer = [Some(Value::Int32(7)), None];
        d.decode_with_trailer(&META, Some(b"1|a"), &mut page, &trailer)
            .unwrap();
        // A bad row adds nothing, trailer included.
        let e = d
            .decode_with_trailer(&META, Some(b"x|b"), &mut page, &trailer)
            .unwrap_err();
        assert_eq!(e.reason, "column \"c0\": \"x\" is not a valid int4");
        d.decode_with_trailer(&META, Some(b"2|"), &mut page, &trailer)
            .unwrap();
        let page = PageReader::new(&wide, page.finish().unwrap()).unwrap();
        let rows: Vec<Vec<_>> = (0..page.nrow())
            .map(|r| page.columns().map(|c| c.get(r)).collect())
            .collect();
        assert_eq!(
            rows,
            [
                [
                    Some(Value::Int32(1)),
                    Some(Value::Text("a")),
                    Some(Value::Int32(7)),
                    None
                ],
                [Some(Value::Int32(2)), None, Some(Value::Int32(7)), None],
            ]
        );
        // A trailer value of the wrong type is the row's error, naming the column.
        let mut page = PageBuilder::new(wide, PageLimits::default());
        let e = d
            .decode_with_trailer(
                &META,
                Some(b"3|c"),
                &mut page,
                &[Some(Value::Bool(true)), None],
            )
            .unwrap_err();
        assert!(e.reason.contains("kind"), "{}", e.reason);
        assert!(page.is_empty());
    }

    #[test]
    #[should_panic(expected = "first columns are not the decoder's")]
    fn a_trailer_page_must_start_with_the_decoded_columns() {
        let mut d = csv(&["int4"]);
        let other = Schema::new(vec![
            xdrive_proto::schema::Column::new("x", SpqType::Int32),
            xdrive_proto::schema::Column::new("kind", SpqType::Int32),
        ])
        .unwrap();
        let mut page = PageBuilder::new(other, PageLimits::default());
        let _ = d.decode_with_trailer(&META, Some(b"1"), &mut page, &[None]);
    }

    #[test]
    fn nulls_in_every_type() {
        let types = ["int4", "float8", "bool", "date", "text", "json", "bytea"];
        let mut d = csv(&types);
        let (page, errors) = run(&mut d, &[Some(b"||||||")]);
        assert_eq!(errors, []);
        assert!(page.columns().all(|c| c.get(0).is_none()));
        // Quoted empty: an empty string, which only text accepts.
        let mut d = csv(&["text", "int4"]);
        let (page, errors) = run(&mut d, &[Some(b"\"\"|"), Some(b"|\"\"")]);
        assert_eq!(page.column(0).get(0), Some(Value::Text("")));
        assert_eq!(errors[0].reason, "column \"c1\": \"\" is not a valid int4");
    }

    #[test]
    fn field_count() {
        let mut d = csv(&["int4", "int4"]);
        let e = one_error(&mut d, Some(b"1|2|3"));
        assert_eq!(e.kind, RowErrorKind::FieldCount);
        assert_eq!(e.reason, "expected 2 fields, got 3: \"1|2|3\"");
        assert_eq!(
            one_error(&mut d, Some(b"1")).reason,
            "expected 2 fields, got 1: \"1\""
        );
        assert_eq!(
            one_error(&mut d, Some(b"1|2|")).kind,
            RowErrorKind::FieldCount
        );
        assert_eq!(
            one_error(&mut d, Some(b"")).reason,
            "expected 2 fields, got 1: \"\""
        );
    }

    #[test]
    fn value_errors_name_column_and_type() {
        let mut d = csv(&["integer", "varchar(3)", "date", "smallint"]);
        let cases: [(&[u8], &str); 5] = [
            (
                b"12x|a|2024-01-01|1",
                "column \"c0\": \"12x\" is not a valid integer",
            ),
            (
                b"1|abcd|2024-01-01|1",
                "column \"c1\": \"abcd\" has 4 characters, more than varchar(3) allows",
            ),
            (
                b"1|a|2023-02-29|1",
                "column \"c2\": \"2023-02-29\" is not a valid date: day out of range for the month",
            ),
            (
                b"1|a|2024-01-01|40000",
                "column \"c3\": \"40000\" is out of range for smallint",
            ),
            (
                b"2147483648|a|2024-01-01|1",
                "column \"c0\": \"2147483648\" is out of range for integer",
            ),
        ];
        for (m, reason) in cases {
            let e = one_error(&mut d, Some(m));
            assert_eq!((e.kind, e.reason.as_str()), (RowErrorKind::Value, reason));
            assert_eq!(e.to_string(), format!("partition 2, offset 0: {reason}"));
        }
    }

    #[test]
    fn encoding_errors() {
        let mut d = csv(&["text", "text"]);
        let e = one_error(&mut d, Some(b"ab\xffc|d"));
        assert_eq!(e.kind, RowErrorKind::Encoding);
        assert_eq!(
            e.reason,
            "the message is not valid UTF-8 at byte 2: \"ab\\xffc|d\""
        );
        let e = one_error(&mut d, Some(b"a\0|b"));
        assert_eq!(
            e.reason,
            "the message has a NUL byte at byte 1, which text cannot hold"
        );
    }

    #[test]
    fn csv_errors() {
        let mut d = csv(&["text", "text"]);
        let e = one_error(&mut d, Some(b"a|\"b"));
        assert_eq!(e.kind, RowErrorKind::Csv);
        assert_eq!(
            e.reason,
            "the quote opened at byte 2 is never closed: \"\\\"b\""
        );
        let e = one_error(&mut d, Some(b"a|b\nc|d"));
        assert_eq!(e.kind, RowErrorKind::Csv);
        assert!(
            e.reason.starts_with("unquoted line break at byte 3"),
            "{}",
            e.reason
        );
        let (page, errors) = run(&mut d, &[Some(b"a|b\r\n")]);
        assert_eq!((page.nrow(), errors.len()), (1, 0));
    }

    #[test]
    fn tombstones_per_format() {
        let mut d = csv(&["text"]);
        let e = one_error(&mut d, None);
        assert_eq!(e.kind, RowErrorKind::Tombstone);
        // An empty value is one NULL field.
        let (page, _) = run(&mut d, &[Some(b"")]);
        assert_eq!(page.column(0).get(0), None);

        let spec = DecoderSpec::all_fields(Format::Json, vec![InputField::jdata()]);
        let mut d = Decoder::new(spec).unwrap();
        let (page, errors) = run(&mut d, &[None]);
        assert_eq!((page.nrow(), errors.len()), (1, 0));
        assert_eq!(page.column(0).get(0), None);

        let field = InputField::new("data", "bytea").unwrap();
        let mut d = Decoder::new(DecoderSpec::all_fields(Format::Binary, vec![field])).unwrap();
        let (page, errors) = run(&mut d, &[None, Some(b"\x00\xff")]);
        assert_eq!(errors, []);
        assert_eq!(page.column(0).get(0), None);
        assert_eq!(page.column(0).get(1), Some(Value::Bytea(b"\x00\xff")));
    }

    #[test]
    fn json_messages() {
        let spec = DecoderSpec::all_fields(Format::Json, vec![InputField::jdata()]);
        let mut d = Decoder::new(spec).unwrap();
        let (page, errors) = run(
            &mut d,
            &[
                Some(br#"{"custkey":111}"#),
                Some(b"[1,2]"),
                Some(b"{\"a\":"),
                Some(b"\xff"),
            ],
        );
        assert_eq!(page.nrow(), 2);
        assert_eq!(page.column(0).get(1), Some(Value::Json("[1,2]")));
        assert_eq!(errors[0].kind, RowErrorKind::Json);
        assert!(
            errors[0]
                .reason
                .starts_with("the message is not valid JSON: "),
            "{}",
            errors[0].reason
        );
        assert_eq!(errors[1].kind, RowErrorKind::Encoding);
    }

    #[test]
    fn oversize_messages() {
        let mut spec =
            DecoderSpec::all_fields(Format::Binary, vec![InputField::new("b", "bytea").unwrap()]);
        spec.max_message_bytes = 8;
        let mut d = Decoder::new(spec).unwrap();
        // The key (2 bytes) counts too.
        let (page, errors) = run(&mut d, &[Some(b"123456"), Some(b"1234567")]);
        assert_eq!(page.nrow(), 1);
        assert_eq!(errors[0].kind, RowErrorKind::TooLarge);
        assert_eq!(
            errors[0].reason,
            "the message is 9 bytes (value and key), more than the limit of 8 bytes"
        );
    }

    #[test]
    fn ignored_fields_and_metadata() {
        let fields = vec![
            InputField::new("a", "int4").unwrap(),
            InputField::new("skip", "int4").unwrap().ignored(true),
            InputField::new("b", "text").unwrap(),
        ];
        let outputs = vec![
            OutputColumn::meta("p", Meta::Partition, SpqType::Int32),
            OutputColumn::meta("p8", Meta::Partition, SpqType::Int64),
            OutputColumn::field("b", 2),
            OutputColumn::meta("o", Meta::Offset, SpqType::Int64),
            OutputColumn::meta("ts", Meta::Timestamp, SpqType::TimestamptzMicros),
            OutputColumn::meta("ts_local", Meta::Timestamp, SpqType::TimestampMicros),
            OutputColumn::meta("ts_ms", Meta::Timestamp, SpqType::Int64),
            OutputColumn::meta("k", Meta::Key, SpqType::Bytea),
            OutputColumn::meta("kt", Meta::Key, SpqType::Cstr),
            OutputColumn::field("a", 0),
        ];
        let spec = DecoderSpec::new(Format::Csv(CsvOptions::new(b',').unwrap()), fields, outputs);
        let mut d = Decoder::new(spec).unwrap();
        // The ignored field is not type-checked.
        let (page, errors) = run(&mut d, &[Some(b"7,not a number,x")]);
        assert_eq!(errors, []);
        let got: Vec<_> = page.columns().map(|c| c.get(0)).collect();
        assert_eq!(
            got,
            [
                Some(Value::Int32(2)),
                Some(Value::Int64(2)),
                Some(Value::Text("x")),
                Some(Value::Int64(0)),
                Some(Value::Timestamptz(123_000)),
                Some(Value::Timestamp(123_000)),
                Some(Value::Int64(946_684_800_123)),
                Some(Value::Bytea(b"k1")),
                Some(Value::Text("k1")),
                Some(Value::Int32(7)),
            ]
        );

        let mut page = d.new_page(PageLimits::default());
        let meta = MessageMeta {
            partition: 1,
            offset: 5,
            timestamp_ms: None,
            key: None,
        };
        d.decode(&meta, Some(b"1,2,3"), &mut page).unwrap();
        let bad_key = MessageMeta {
            key: Some(b"\xc3"),
            ..meta
        };
        let e = d.decode(&bad_key, Some(b"1,2,3"), &mut page).unwrap_err();
        assert_eq!(e.kind, RowErrorKind::Encoding);
        assert_eq!(
            e.reason,
            "column \"kt\" (the message key): \"\\xc3\" is not valid UTF-8 at byte 0"
        );
        let page = PageReader::new(d.schema(), page.finish().unwrap()).unwrap();
        assert_eq!(page.nrow(), 1);
        assert!(page.column(4).get(0).is_none() && page.column(7).get(0).is_none());
    }

    #[test]
    fn a_failed_row_leaves_the_page_as_it_was() {
        let mut d = csv(&["int4", "text", "int4"]);
        let (page, errors) = run(&mut d, &[Some(b"1|a|2"), Some(b"3|b|x"), Some(b"4|c|5")]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].offset, 1);
        let col: Vec<_> = page.column(1).iter().collect();
        assert_eq!(col, [Some(Value::Text("a")), Some(Value::Text("c"))]);
    }

    #[test]
    fn spec_errors() {
        let csv = Format::Csv(CsvOptions::new(b',').unwrap());
        let f = || vec![InputField::new("a", "int4").unwrap().ignored(true)];
        let err = |spec| Decoder::new(spec).unwrap_err().to_string();
        assert_eq!(
            err(DecoderSpec::new(
                csv.clone(),
                f(),
                vec![OutputColumn::field("a", 0)]
            )),
            "output column \"a\" reads field \"a\", which is ignored"
        );
        assert_eq!(
            err(DecoderSpec::new(
                csv.clone(),
                f(),
                vec![OutputColumn::field("a", 3)]
            )),
            "output column \"a\" reads field 3, but messages have 1 fields"
        );
        assert_eq!(
            err(DecoderSpec::new(
                csv.clone(),
                f(),
                vec![OutputColumn::meta("o", Meta::Offset, SpqType::Int32)]
            )),
            "output column \"o\" cannot hold the message offset as INT32 (it can be int8)"
        );
        assert_eq!(
            err(DecoderSpec::new(csv, vec![], vec![])),
            "the csv format needs at least one column in kafka.input.columns"
        );
        assert_eq!(
            err(DecoderSpec::all_fields(Format::Json, f())),
            "the json format needs exactly one json column, got \"a\" int4"
        );
        assert!(Decoder::new(DecoderSpec::all_fields(Format::Binary, vec![])).is_err());
    }
}
