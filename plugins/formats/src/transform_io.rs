//! The edges of a WebAssembly row transform (`wit/transform.wit`), pure so that both the
//! `xdr_kafka` plugin and `dgkafka transform test` use the same rules:
//!
//! - [`TransformInput`]: a message into the transform's input values, by its format —
//!   json: validated as without a transform, one JSON value (NULL for a tombstone);
//!   binary: one bytes value (NULL for a tombstone); csv: split into fields with the
//!   read's CSV options, one text value per field (NULL fields as NULL), none converted.
//!   A message that cannot be made into an input row is the same [`RowError`] the decoder
//!   gives, and the transform never sees it.
//! - [`TransformOutput`]: the values of a row the transform returned into a page row of
//!   the read's columns, each converted to its column's SPQ type ([`OutputValue`] says
//!   what each kind may fill), the metadata columns filled from the input message. A
//!   value that does not fit is a [`RowError`] naming the column.
//! - [`encode_transform_config`] / [`decode_transform_config`]: the transform's config
//!   pairs as the value of the `transform_config` query key.
//!
//! This crate does not link the transform runtime: the plugin maps the runtime's values
//! onto [`InputValue`] and [`OutputValue`], one to one.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use xdrive_proto::page::{PageBuilder, PageLimits, Value};
use xdrive_proto::schema::Schema;
use xdrive_proto::spq::{MICROS_PER_DAY, SpqType, UNIX_TO_PG_EPOCH_MICROS};

use crate::csv::Tokenizer;
use crate::datetime;
use crate::decode::{
    Failure, MessageMeta, csv_failure, json_failure, parse_text, push_meta, utf8, value_failure,
};
use crate::error::{RowError, RowErrorKind, snippet};
use crate::json::JsonValidator;
use crate::spec::{
    ColumnType, DEFAULT_MAX_MESSAGE_BYTES, Format, InputField, OutputColumn, Source, SpecError,
};
use crate::value::{self, ValueError};

// ---------------------------------------------------------------------------------------
// Config

/// Why a `transform_config` value cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransformConfigError {
    /// A `%` not followed by two hex digits.
    #[error("bad percent escape at byte {at}: '%' must be followed by two hex digits")]
    Percent {
        /// The byte position of the `%`.
        at: usize,
    },
    /// The decoded bytes are not UTF-8.
    #[error("the percent-decoded text is not valid UTF-8 at byte {at}")]
    Utf8 {
        /// The first bad byte.
        at: usize,
    },
    /// Not a JSON object of string values.
    #[error("not a JSON object of string values: {reason}")]
    Json {
        /// What serde_json says, or which key is not a string.
        reason: String,
    },
    /// A key given twice.
    #[error("key {key:?} is given twice")]
    DuplicateKey {
        /// The key.
        key: String,
    },
}

/// The bytes left as they are by [`encode_transform_config`]: RFC 3986's unreserved
/// characters. Everything else (`&`, `=`, `%`, `+`, spaces, quotes, braces, non-ASCII)
/// is `%XX`-escaped, so the value survives the `k=v&k=v` query syntax (which splits at
/// `&`, splits a pair at its first `=` and trims spaces) unchanged.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The value of the `transform_config` query key for these pairs: a JSON object of
/// string values, in the order given (`{"k":"v",...}`), percent-encoded (UTF-8 bytes as
/// `%XX`, uppercase hex, except `A-Z a-z 0-9 - . _ ~`). [`decode_transform_config`]
/// reverses it.
pub fn encode_transform_config(pairs: &[(String, String)]) -> String {
    let mut json = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        // Serialising a string cannot fail.
        json.push_str(&serde_json::to_string(k).unwrap_or_default());
        json.push(':');
        json.push_str(&serde_json::to_string(v).unwrap_or_default());
    }
    json.push('}');
    let mut out = String::with_capacity(json.len() * 3);
    for b in json.bytes() {
        if unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0xf)]));
        }
    }
    out
}

/// The pairs of a `transform_config` value made by [`encode_transform_config`] (in their
/// order). Percent escapes are decoded first (any byte may be escaped, lowercase hex is
/// accepted, an unescaped character stands for itself), then the text must be a JSON
/// object whose values are all strings, no key twice.
pub fn decode_transform_config(text: &str) -> Result<Vec<(String, String)>, TransformConfigError> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).and_then(|&c| char::from(c).to_digit(16));
            match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => decoded.push(u8::try_from(h * 16 + l).unwrap_or(0)),
                _ => return Err(TransformConfigError::Percent { at: i }),
            }
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let json = String::from_utf8(decoded).map_err(|e| TransformConfigError::Utf8 {
        at: e.utf8_error().valid_up_to(),
    })?;
    let mut de = serde_json::Deserializer::from_str(&json);
    let pairs = de
        .deserialize_map(PairsVisitor)
        .and_then(|p| de.end().map(|()| p))
        .map_err(|e| TransformConfigError::Json {
            reason: e.to_string(),
        })??;
    Ok(pairs)
}

/// Collects an object's pairs in order; a duplicate key is reported beside serde's errors.
struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Result<Vec<(String, String)>, TransformConfigError>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of string values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: serde_json::Value = map.next_value()?;
            let serde_json::Value::String(value) = value else {
                return Err(de::Error::custom(format!(
                    "the value of key {key:?} is {value}, not a string"
                )));
            };
            if pairs.iter().any(|(k, _)| *k == key) {
                return Ok(Err(TransformConfigError::DuplicateKey { key }));
            }
            pairs.push((key, value));
        }
        Ok(Ok(pairs))
    }
}

// ---------------------------------------------------------------------------------------
// Input

/// One value of a transform's input row (the WIT `value` cases a format produces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputValue {
    /// A NULL csv field, or the value of a json/binary tombstone.
    Null,
    /// A csv field, as text (unquoted and unescaped, not converted).
    Text(String),
    /// A json message, validated, as received.
    Json(String),
    /// A binary message, as received.
    Bytes(Vec<u8>),
}

#[derive(Debug)]
enum InputReader {
    Csv(Box<Tokenizer>),
    Json(Box<JsonValidator>),
    Binary,
}

/// Turns messages into a transform's input values, by format: json — validated as the
/// decoder validates it, one [`InputValue::Json`] (NULL for a tombstone); binary — one
/// [`InputValue::Bytes`] (NULL for a tombstone); csv — split with the read's CSV options
/// into one [`InputValue::Text`] per field (NULL fields NULL), none converted. A message
/// the decoder would refuse (size, encoding, JSON, CSV syntax, field count, a csv
/// tombstone) is the same [`RowError`].
#[derive(Debug)]
pub struct TransformInput {
    reader: InputReader,
    fields: usize,
    max_message_bytes: usize,
}

impl TransformInput {
    /// A reader of `format`'s messages. `csv_fields` is the number of fields every csv
    /// message must have (the input schema's columns); ignored for json and binary.
    pub fn new(format: &Format, csv_fields: usize) -> Result<TransformInput, SpecError> {
        let reader = match format {
            Format::Csv(options) => {
                options.check()?;
                if csv_fields == 0 {
                    return Err(SpecError::NoFields);
                }
                InputReader::Csv(Box::new(Tokenizer::new(options)))
            }
            Format::Json => InputReader::Json(Box::default()),
            Format::Binary => InputReader::Binary,
        };
        Ok(TransformInput {
            reader,
            fields: csv_fields,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        })
    }

    /// The same reader with another size limit for message value plus key.
    pub fn with_max_message_bytes(mut self, max: usize) -> TransformInput {
        self.max_message_bytes = max;
        self
    }

    /// The input values of one message (`payload` = `None` for a tombstone), or the row
    /// error the decoder would give for it.
    pub fn values(
        &mut self,
        meta: &MessageMeta<'_>,
        payload: Option<&[u8]>,
    ) -> Result<Vec<InputValue>, RowError> {
        self.read(meta, payload).map_err(|f| RowError {
            partition: meta.partition,
            offset: meta.offset,
            kind: f.kind,
            reason: f.reason,
        })
    }

    fn read(
        &mut self,
        meta: &MessageMeta<'_>,
        payload: Option<&[u8]>,
    ) -> Result<Vec<InputValue>, Failure> {
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
        match &mut self.reader {
            InputReader::Binary => {
                Ok(vec![payload.map_or(InputValue::Null, |p| {
                    InputValue::Bytes(p.to_vec())
                })])
            }
            InputReader::Json(json) => {
                let Some(p) = payload else {
                    return Ok(vec![InputValue::Null]);
                };
                let text = utf8(p, "the message")?;
                json.validate(text).map_err(|e| json_failure(e, p))?;
                Ok(vec![InputValue::Json(text.to_owned())])
            }
            InputReader::Csv(tokenizer) => {
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
                if got != self.fields {
                    return Err(Failure::new(
                        RowErrorKind::FieldCount,
                        format!(
                            "expected {} fields, got {got}: {}",
                            self.fields,
                            snippet(payload)
                        ),
                    ));
                }
                Ok(tokenizer
                    .fields()
                    .iter()
                    .map(|&f| {
                        if tokenizer.is_null(text, f) {
                            InputValue::Null
                        } else {
                            InputValue::Text(tokenizer.text(text, f).to_owned())
                        }
                    })
                    .collect())
            }
        }
    }
}

/// Splits one csv message into its fields with `options` (checked options, as
/// [`crate::CsvOptions`]'s constructors make), NULL fields as `None`, as a transform sees
/// them, whatever their number; the decoder's errors otherwise (partition and offset 0).
pub fn split_csv(
    message: &[u8],
    options: &crate::spec::CsvOptions,
) -> Result<Vec<Option<String>>, RowError> {
    // Any field count is fine here: count the fields first, then read with that count
    // (a message that does not tokenize fails the same way below).
    let mut tokenizer = Tokenizer::new(options);
    let fields = std::str::from_utf8(message)
        .ok()
        .and_then(|t| tokenizer.tokenize(t).ok())
        .map_or(1, |()| tokenizer.fields().len());
    let mut input = TransformInput {
        reader: InputReader::Csv(Box::new(tokenizer)),
        fields,
        max_message_bytes: usize::MAX,
    };
    let values = input.values(&MessageMeta::default(), Some(message))?;
    Ok(values
        .into_iter()
        .map(|v| match v {
            InputValue::Text(s) => Some(s),
            _ => None,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// Output

/// One value of a row a transform returned (the WIT `value`, borrowed). What fills which
/// column type (anything else is a row error naming the column):
///
/// | value | column types |
/// | --- | --- |
/// | `Null` | any |
/// | `Boolean` | bool |
/// | `Int` | int2, int4, int8 (range-checked), float4, float8, numeric |
/// | `Float` | float4 (range-checked), float8 |
/// | `Text` | any: parsed as a csv field of that type would be (`value`, `datetime`) |
/// | `Bytes` | bytea |
/// | `Json` | json (validated) |
/// | `Timestamp` (µs since 1970 UTC) | timestamp, timestamptz (µs since 2000), date (the UTC day) |
/// | `Numeric` | numeric (syntax-checked) |
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutputValue<'a> {
    /// NULL.
    Null,
    /// A boolean.
    Boolean(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text, parsed by the column's type.
    Text(&'a str),
    /// Bytes.
    Bytes(&'a [u8]),
    /// JSON text.
    Json(&'a str),
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    Timestamp(i64),
    /// A decimal number as text.
    Numeric(&'a str),
}

impl OutputValue<'_> {
    /// The WIT kind's name, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            OutputValue::Null => "null",
            OutputValue::Boolean(_) => "boolean",
            OutputValue::Int(_) => "int",
            OutputValue::Float(_) => "float",
            OutputValue::Text(_) => "text",
            OutputValue::Bytes(_) => "bytes",
            OutputValue::Json(_) => "json",
            OutputValue::Timestamp(_) => "timestamp",
            OutputValue::Numeric(_) => "numeric",
        }
    }
}

/// Fills page rows from the rows a transform returned. The pages have the same schema a
/// [`crate::Decoder`] of the same fields and outputs would fill.
#[derive(Debug)]
pub struct TransformOutput {
    fields: Vec<InputField>,
    sources: Vec<Source>,
    schema: Schema,
    json: Box<JsonValidator>,
    bytes: Vec<u8>,
}

impl TransformOutput {
    /// `fields` are the transform's output columns (one value each, in order); `outputs`
    /// the page's columns, each a field or message metadata (as for a decoder).
    pub fn new(
        fields: Vec<InputField>,
        outputs: Vec<OutputColumn>,
    ) -> Result<TransformOutput, SpecError> {
        let schema = crate::decode::page_schema(&fields, &outputs)?;
        Ok(TransformOutput {
            fields,
            sources: outputs.iter().map(|o| o.source).collect(),
            schema,
            json: Box::default(),
            bytes: Vec::new(),
        })
    }

    /// The schema of the pages filled.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// A page builder for these rows.
    pub fn new_page(&self, limits: PageLimits) -> PageBuilder {
        PageBuilder::new(self.schema.clone(), limits)
    }

    /// The transform's output columns, as given.
    pub fn fields(&self) -> &[InputField] {
        &self.fields
    }

    /// Appends one row: `values` (one per field) converted to the fields' types, metadata
    /// from `meta` (the input message's). On a row error nothing is added to the page.
    ///
    /// # Panics
    ///
    /// If `page` is not a builder of [`schema`](Self::schema), or already holds
    /// `i32::MAX` rows.
    pub fn push_row(
        &mut self,
        meta: &MessageMeta<'_>,
        values: &[OutputValue<'_>],
        page: &mut PageBuilder,
    ) -> Result<(), RowError> {
        assert!(
            page.schema() == &self.schema,
            "the page builder's schema is not the transform output's"
        );
        match self.fill(meta, values, page) {
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

    fn fill(
        &mut self,
        meta: &MessageMeta<'_>,
        values: &[OutputValue<'_>],
        page: &mut PageBuilder,
    ) -> Result<(), Failure> {
        if values.len() != self.fields.len() {
            return Err(Failure::new(
                RowErrorKind::FieldCount,
                format!(
                    "the transform returned a row of {} values, the output has {} columns",
                    values.len(),
                    self.fields.len()
                ),
            ));
        }
        let TransformOutput {
            fields,
            sources,
            schema,
            json,
            bytes,
        } = self;
        for (&source, column) in sources.iter().zip(schema.columns()) {
            match source {
                Source::Field(j) => {
                    let field = &fields[j];
                    let v = convert(&field.name, &field.ty, values[j], bytes, json)?;
                    page.push_opt(v).expect("values match the output's schema");
                }
                Source::Meta(m, spq) => push_meta(page, meta, &column.name, m, spq, json)?,
            }
        }
        Ok(())
    }
}

/// Converts one output value to a column of type `ty`.
fn convert<'a>(
    name: &str,
    ty: &ColumnType,
    v: OutputValue<'a>,
    bytes: &'a mut Vec<u8>,
    json: &mut JsonValidator,
) -> Result<Option<Value<'a>>, Failure> {
    let column = || format!("column \"{name}\"");
    let out_of_range = |shown: String| {
        Failure::new(
            RowErrorKind::Value,
            format!("{}: {shown} is out of range for {ty}", column()),
        )
    };
    let spq = ty.spq();
    Ok(Some(match (v, spq) {
        (OutputValue::Null, _) => return Ok(None),
        (OutputValue::Text(s), _) => {
            if let Some(at) = memchr::memchr(0, s.as_bytes()) {
                return Err(value_failure(
                    &column(),
                    ty,
                    s.as_bytes(),
                    ValueError::Nul { at },
                ));
            }
            return parse_text(ty, s, bytes, json)
                .map(Some)
                .map_err(|e| value_failure(&column(), ty, s.as_bytes(), e));
        }
        (OutputValue::Boolean(b), SpqType::Bool) => Value::Bool(b),
        (OutputValue::Int(i), SpqType::Int16) => {
            Value::Int16(i16::try_from(i).map_err(|_| out_of_range(i.to_string()))?)
        }
        (OutputValue::Int(i), SpqType::Int32) => {
            Value::Int32(i32::try_from(i).map_err(|_| out_of_range(i.to_string()))?)
        }
        (OutputValue::Int(i), SpqType::Int64) => Value::Int64(i),
        #[expect(clippy::cast_precision_loss, reason = "as PostgreSQL's int8 -> float")]
        (OutputValue::Int(i), SpqType::Float) => Value::Float(i as f32),
        #[expect(clippy::cast_precision_loss, reason = "as PostgreSQL's int8 -> float")]
        (OutputValue::Int(i), SpqType::Double) => Value::Double(i as f64),
        (OutputValue::Int(i), SpqType::Numeric) => {
            // The text lives in the scratch buffer so the value can borrow it.
            bytes.clear();
            bytes.extend_from_slice(i.to_string().as_bytes());
            Value::Numeric(std::str::from_utf8(bytes).unwrap_or_default())
        }
        (OutputValue::Float(f), SpqType::Double) => Value::Double(f),
        (OutputValue::Float(f), SpqType::Float) => {
            #[expect(clippy::cast_possible_truncation, reason = "range-checked")]
            let narrow = f as f32;
            if f.is_finite() && (narrow.is_infinite() || (narrow == 0.0 && f != 0.0)) {
                return Err(out_of_range(format!("{f:e}")));
            }
            Value::Float(narrow)
        }
        (OutputValue::Numeric(s), SpqType::Numeric) => Value::Numeric(
            value::parse_numeric(s).map_err(|e| value_failure(&column(), ty, s.as_bytes(), e))?,
        ),
        (OutputValue::Bytes(b), SpqType::Bytea) => Value::Bytea(b),
        (OutputValue::Json(s), SpqType::Json) => {
            json.validate(s)
                .map_err(|e| value_failure(&column(), ty, s.as_bytes(), ValueError::Json(e)))?;
            Value::Json(s)
        }
        (OutputValue::Timestamp(us), SpqType::TimestampMicros | SpqType::TimestamptzMicros) => {
            let pg = us
                .checked_sub(UNIX_TO_PG_EPOCH_MICROS)
                .filter(|t| (datetime::TIMESTAMP_MIN..datetime::TIMESTAMP_END).contains(t))
                .ok_or_else(|| out_of_range(format!("the timestamp {us} µs since 1970")))?;
            if spq == SpqType::TimestampMicros {
                Value::Timestamp(pg)
            } else {
                Value::Timestamptz(pg)
            }
        }
        (OutputValue::Timestamp(us), SpqType::Date) => {
            let unix_days = us.div_euclid(MICROS_PER_DAY);
            let days = unix_days
                .checked_sub(i64::from(xdrive_proto::spq::UNIX_TO_PG_EPOCH_DAYS))
                .and_then(|d| i32::try_from(d).ok())
                .filter(|d| (datetime::DATE_MIN..datetime::DATE_END).contains(d))
                .ok_or_else(|| out_of_range(format!("the timestamp {us} µs since 1970")))?;
            Value::Date(days)
        }
        (v, _) => {
            return Err(Failure::new(
                RowErrorKind::Value,
                format!(
                    "{}: the transform returned {} {} value, which cannot fill a column of \
                     type {ty}",
                    column(),
                    if v.kind_name().starts_with('i') {
                        "an"
                    } else {
                        "a"
                    },
                    v.kind_name()
                ),
            ));
        }
    }))
}

#[cfg(test)]
mod tests {
    use xdrive_proto::page::PageReader;

    use super::*;
    use crate::spec::{CsvOptions, Meta};

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn config_round_trips_through_the_query_syntax() {
        let cases = [
            pairs(&[]),
            pairs(&[("field", "customer_id")]),
            pairs(&[
                ("a&b", "x=y&z=w"),
                ("pct", "100% %41 %zz"),
                ("space", "  padded  "),
                ("plus", "a+b"),
                ("unicode", "Grüße, 世界 🎉"),
                ("quotes", "\"q\" \\ 'single' {}[]:,"),
                ("empty", ""),
                ("newline", "a\nb\tc"),
            ]),
        ];
        for case in cases {
            let encoded = encode_transform_config(&case);
            assert!(
                encoded.bytes().all(unreserved_or_percent),
                "only unreserved bytes and escapes: {encoded}"
            );
            // Through the query parser the plugin uses: split at '&', then at '='.
            let query = format!("group=g&transform_config={encoded}&limit=5");
            let q = xdrive_proto::query::parse(&query).unwrap();
            let value = q.get("transform_config").unwrap();
            assert_eq!(decode_transform_config(value).unwrap(), case);
        }
        assert_eq!(
            encode_transform_config(&pairs(&[("k", "a&b=c")])),
            "%7B%22k%22%3A%22a%26b%3Dc%22%7D"
        );
    }

    fn unreserved_or_percent(b: u8) -> bool {
        unreserved(b) || b == b'%'
    }

    #[test]
    fn config_decoding_accepts_plain_json_and_names_mistakes() {
        assert_eq!(
            decode_transform_config(r#"{"a":"1","b":"x"}"#).unwrap(),
            pairs(&[("a", "1"), ("b", "x")])
        );
        assert_eq!(
            decode_transform_config("%7b%22a%22:%22%c3%bc%22%7d").unwrap(),
            pairs(&[("a", "ü")])
        );
        assert_eq!(
            decode_transform_config("%7B%2").unwrap_err(),
            TransformConfigError::Percent { at: 3 }
        );
        assert!(matches!(
            decode_transform_config("%FF"),
            Err(TransformConfigError::Utf8 { at: 0 })
        ));
        let e = decode_transform_config(r#"{"n":5}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the value of key \"n\" is 5, not a string"),
            "{e}"
        );
        let e = decode_transform_config("[1]").unwrap_err().to_string();
        assert!(e.starts_with("not a JSON object of string values"), "{e}");
        assert!(decode_transform_config(r#"{"a":"1"} x"#).is_err());
        assert_eq!(
            decode_transform_config(r#"{"a":"1","a":"2"}"#).unwrap_err(),
            TransformConfigError::DuplicateKey { key: "a".into() }
        );
    }

    const META: MessageMeta<'static> = MessageMeta {
        partition: 3,
        offset: 42,
        timestamp_ms: Some(946_684_800_123),
        key: Some(b"k1"),
    };

    #[test]
    fn csv_messages_split_into_text_fields_with_the_read_options() {
        let options = CsvOptions::from_strs("|", "'", "\\", "\\N").unwrap();
        let mut input = TransformInput::new(&Format::Csv(options.clone()), 4).unwrap();
        let values = input
            .values(&META, Some(b"1|'a|b'|\\N|'it\\'s'\n"))
            .unwrap();
        assert_eq!(
            values,
            [
                InputValue::Text("1".into()),
                InputValue::Text("a|b".into()),
                InputValue::Null,
                InputValue::Text("it's".into()),
            ]
        );
        // Not converted: any text goes to the transform.
        let values = input.values(&META, Some(b"x|y|''|z")).unwrap();
        assert_eq!(values[2], InputValue::Text(String::new()));
        let e = input.values(&META, Some(b"1|2")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "partition 3, offset 42: expected 4 fields, got 2: \"1|2\""
        );
        assert_eq!(e.kind, RowErrorKind::FieldCount);
        let e = input.values(&META, None).unwrap_err();
        assert_eq!(e.kind, RowErrorKind::Tombstone);
        let e = input.values(&META, Some(b"1|'open|x|y")).unwrap_err();
        assert_eq!(e.kind, RowErrorKind::Csv);
        let e = input.values(&META, Some(b"1|\xff|x|y")).unwrap_err();
        assert_eq!(e.kind, RowErrorKind::Encoding);
        let e = input.values(&META, Some(b"1|\0|x|y")).unwrap_err();
        assert_eq!(e.kind, RowErrorKind::Encoding);

        assert_eq!(
            split_csv(b"a,\"b,c\",,\"\"", &CsvOptions::new(b',').unwrap()).unwrap(),
            [
                Some("a".into()),
                Some("b,c".into()),
                None,
                Some(String::new())
            ]
        );
        assert!(split_csv(b"a,\"b", &CsvOptions::new(b',').unwrap()).is_err());
    }

    #[test]
    fn json_and_binary_messages_are_one_value() {
        let mut json = TransformInput::new(&Format::Json, 0).unwrap();
        assert_eq!(
            json.values(&META, Some(br#" {"a": [1, 2]} "#)).unwrap(),
            [InputValue::Json(r#" {"a": [1, 2]} "#.into())]
        );
        assert_eq!(json.values(&META, None).unwrap(), [InputValue::Null]);
        let e = json.values(&META, Some(b"{\"a\":")).unwrap_err();
        assert_eq!(e.kind, RowErrorKind::Json);
        assert!(e.reason.starts_with("the message is not valid JSON"), "{e}");
        let mut binary = TransformInput::new(&Format::Binary, 0).unwrap();
        assert_eq!(
            binary.values(&META, Some(b"\0\xff")).unwrap(),
            [InputValue::Bytes(vec![0, 0xff])]
        );
        assert_eq!(binary.values(&META, None).unwrap(), [InputValue::Null]);
        let mut small = TransformInput::new(&Format::Binary, 0)
            .unwrap()
            .with_max_message_bytes(4);
        let e = small.values(&META, Some(b"abc")).unwrap_err();
        assert_eq!(e.kind, RowErrorKind::TooLarge);
    }

    /// An output of one column per type in `types`, plus the partition and timestamp.
    fn output(types: &[&str]) -> TransformOutput {
        let fields: Vec<InputField> = types
            .iter()
            .enumerate()
            .map(|(i, t)| InputField::new(format!("c{i}"), t).unwrap())
            .collect();
        let mut outputs: Vec<OutputColumn> = (0..fields.len())
            .map(|i| OutputColumn::field(format!("c{i}"), i))
            .collect();
        outputs.push(OutputColumn::meta("p", Meta::Partition, SpqType::Int32));
        outputs.push(OutputColumn::meta(
            "ts",
            Meta::Timestamp,
            SpqType::TimestamptzMicros,
        ));
        TransformOutput::new(fields, outputs).unwrap()
    }

    /// The one value `v` becomes in a column of type `ty`, or the error's reason.
    fn one(ty: &str, v: OutputValue<'_>) -> Result<Option<String>, String> {
        let mut out = output(&[ty]);
        let mut page = out.new_page(PageLimits::default());
        out.push_row(&META, &[v], &mut page).map_err(|e| e.reason)?;
        let page = PageReader::new(out.schema(), page.finish().unwrap()).unwrap();
        assert_eq!(page.nrow(), 1);
        assert_eq!(page.column(1).get(0), Some(Value::Int32(3)));
        Ok(page.column(0).get(0).map(|v| format!("{v:?}")))
    }

    #[test]
    fn every_kind_converts_to_its_columns() {
        let ok = |ty, v| one(ty, v).unwrap().unwrap();
        assert_eq!(ok("boolean", OutputValue::Boolean(true)), "Bool(true)");
        assert_eq!(ok("smallint", OutputValue::Int(-32768)), "Int16(-32768)");
        assert_eq!(ok("integer", OutputValue::Int(7)), "Int32(7)");
        assert_eq!(
            ok("bigint", OutputValue::Int(i64::MIN)),
            format!("Int64({})", i64::MIN)
        );
        assert_eq!(ok("real", OutputValue::Int(3)), "Float(3.0)");
        assert_eq!(ok("real", OutputValue::Float(1.5)), "Float(1.5)");
        assert_eq!(ok("double precision", OutputValue::Int(-2)), "Double(-2.0)");
        assert_eq!(
            ok("double precision", OutputValue::Float(f64::NAN)),
            "Double(NaN)"
        );
        assert_eq!(ok("numeric", OutputValue::Int(-12)), "Numeric(\"-12\")");
        assert_eq!(
            ok("numeric", OutputValue::Numeric(" 12.50 ")),
            "Numeric(\"12.50\")"
        );
        assert_eq!(ok("text", OutputValue::Text("héllo")), "Text(\"héllo\")");
        assert_eq!(
            ok("varchar(3)", OutputValue::Text("abc  ")),
            "Text(\"abc\")"
        );
        assert_eq!(ok("bytea", OutputValue::Bytes(b"\0x")), "Bytea([0, 120])");
        assert_eq!(
            ok("bytea", OutputValue::Text("\\x0aff")),
            "Bytea([10, 255])"
        );
        assert_eq!(ok("json", OutputValue::Json("[1,{}]")), "Json(\"[1,{}]\")");
        assert_eq!(
            ok("jsonb", OutputValue::Text("{\"a\":1}")),
            "Json(\"{\\\"a\\\":1}\")"
        );
        // 2000-01-01 00:00:01 UTC.
        let t = 946_684_801_000_000;
        assert_eq!(
            ok("timestamp", OutputValue::Timestamp(t)),
            "Timestamp(1000000)"
        );
        assert_eq!(
            ok("timestamptz", OutputValue::Timestamp(t)),
            "Timestamptz(1000000)"
        );
        assert_eq!(ok("date", OutputValue::Timestamp(t)), "Date(0)");
        // 1999-12-31 23:59:59 UTC is the day before.
        assert_eq!(
            ok("date", OutputValue::Timestamp(946_684_799_000_000)),
            "Date(-1)"
        );
        // Text is parsed as a csv field of the column's type.
        assert_eq!(ok("integer", OutputValue::Text(" 0x10 ")), "Int32(16)");
        assert_eq!(ok("boolean", OutputValue::Text("yes")), "Bool(true)");
        assert_eq!(ok("date", OutputValue::Text("2000-01-02")), "Date(1)");
        assert_eq!(
            ok("timestamptz", OutputValue::Text("2000-01-01 01:00:00+01")),
            "Timestamptz(0)"
        );
        assert_eq!(ok("time", OutputValue::Text("00:00:01")), "Time(1000000)");
        assert_eq!(ok("numeric", OutputValue::Text("1e3")), "Numeric(\"1e3\")");
        // NULL fills any column.
        for ty in [
            "boolean", "integer", "text", "bytea", "json", "date", "numeric",
        ] {
            assert_eq!(one(ty, OutputValue::Null).unwrap(), None);
        }
    }

    #[test]
    fn values_that_do_not_fit_are_row_errors_naming_the_column() {
        let err = |ty, v| one(ty, v).unwrap_err();
        assert_eq!(
            err("smallint", OutputValue::Int(40_000)),
            "column \"c0\": 40000 is out of range for smallint"
        );
        assert_eq!(
            err("integer", OutputValue::Int(1 << 31)),
            "column \"c0\": 2147483648 is out of range for integer"
        );
        assert_eq!(
            err("real", OutputValue::Float(1e300)),
            "column \"c0\": 1e300 is out of range for real"
        );
        assert!(err("real", OutputValue::Float(1e-300)).contains("out of range for real"));
        assert_eq!(
            err("integer", OutputValue::Text("abc")),
            "column \"c0\": \"abc\" is not a valid integer"
        );
        assert_eq!(
            err("integer", OutputValue::Text("99999999999")),
            "column \"c0\": \"99999999999\" is out of range for integer"
        );
        assert_eq!(
            err("varchar(2)", OutputValue::Text("abc")),
            "column \"c0\": \"abc\" has 3 characters, more than varchar(2) allows"
        );
        assert!(err("text", OutputValue::Text("a\0b")).contains("has a NUL byte at byte 1"),);
        assert!(err("date", OutputValue::Text("2023-02-29")).contains("is not a valid date"));
        assert!(err("json", OutputValue::Json("{")).contains("is not valid JSON"));
        assert!(err("numeric", OutputValue::Numeric("1.2.3")).contains("is not a valid numeric"));
        assert_eq!(
            err("integer", OutputValue::Boolean(true)),
            "column \"c0\": the transform returned a boolean value, which cannot fill a \
             column of type integer"
        );
        assert!(err("text", OutputValue::Int(1)).contains("returned an int value"));
        assert!(err("integer", OutputValue::Float(1.0)).contains("returned a float value"));
        assert!(err("json", OutputValue::Bytes(b"{}")).contains("returned a bytes value"));
        assert!(err("bytea", OutputValue::Json("{}")).contains("returned a json value"));
        assert!(err("numeric", OutputValue::Float(1.5)).contains("returned a float value"));
        assert!(err("time", OutputValue::Timestamp(0)).contains("returned a timestamp value"));
        assert_eq!(
            err("timestamp", OutputValue::Timestamp(i64::MIN)),
            format!(
                "column \"c0\": the timestamp {} µs since 1970 is out of range for timestamp",
                i64::MIN
            )
        );
        assert!(err("date", OutputValue::Timestamp(i64::MIN)).contains("is out of range for date"));
    }

    #[test]
    fn rows_carry_the_input_metadata_and_a_wrong_arity_is_an_error() {
        let mut out = output(&["integer", "text"]);
        let mut page = out.new_page(PageLimits::default());
        out.push_row(
            &META,
            &[OutputValue::Int(1), OutputValue::Text("a")],
            &mut page,
        )
        .unwrap();
        out.push_row(&META, &[OutputValue::Int(2), OutputValue::Null], &mut page)
            .unwrap();
        let e = out
            .push_row(&META, &[OutputValue::Int(3)], &mut page)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "partition 3, offset 42: the transform returned a row of 1 values, the output has \
             2 columns"
        );
        // A failure in the second column leaves no partial row.
        let e = out
            .push_row(
                &META,
                &[OutputValue::Int(4), OutputValue::Int(4)],
                &mut page,
            )
            .unwrap_err();
        assert_eq!(e.kind, RowErrorKind::Value);
        let page = PageReader::new(out.schema(), page.finish().unwrap()).unwrap();
        assert_eq!(page.nrow(), 2);
        assert_eq!(page.column(0).get(1), Some(Value::Int32(2)));
        assert_eq!(page.column(1).get(1), None);
        assert_eq!(page.column(2).get(1), Some(Value::Int32(3)));
        assert_eq!(page.column(3).get(0), Some(Value::Timestamptz(123_000)));
    }

    #[test]
    fn output_specs_are_checked() {
        let fields = vec![InputField::new("a", "integer").unwrap()];
        assert!(matches!(
            TransformOutput::new(fields.clone(), vec![OutputColumn::field("x", 1)]),
            Err(SpecError::FieldIndex { .. })
        ));
        assert!(matches!(
            TransformOutput::new(
                fields,
                vec![OutputColumn::meta("o", Meta::Offset, SpqType::Int32)]
            ),
            Err(SpecError::MetaType { .. })
        ));
    }
}
