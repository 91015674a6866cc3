//! Row errors: a message that cannot be decoded, and the error rows the plugin sends back
//! for them when the query allows errors.

use std::fmt::Write;
use std::sync::LazyLock;

use xdrive_proto::page::{PageBuilder, PageError, Value};
use xdrive_proto::schema::{Column, Schema};
use xdrive_proto::spq::SpqType;

/// What kind of problem a message has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RowErrorKind {
    /// The message value is NULL (a tombstone) and the format needs one (`csv`).
    Tombstone,
    /// The message value and key are larger than the configured maximum.
    TooLarge,
    /// The message is not valid UTF-8, or holds a NUL byte (`csv`).
    Encoding,
    /// The message is not one CSV row: an unterminated quote, an unquoted line break.
    Csv,
    /// The message has more or fewer fields than `kafka.input.columns`.
    FieldCount,
    /// A field (or the key) is not a valid value of its column's type, or is too long.
    Value,
    /// The message (`json`) or a `json` field is not valid JSON.
    Json,
}

impl RowErrorKind {
    /// A short name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            RowErrorKind::Tombstone => "tombstone",
            RowErrorKind::TooLarge => "too_large",
            RowErrorKind::Encoding => "encoding",
            RowErrorKind::Csv => "csv",
            RowErrorKind::FieldCount => "field_count",
            RowErrorKind::Value => "value",
            RowErrorKind::Json => "json",
        }
    }
}

/// A message that cannot be decoded: where it is, what kind of problem, and a reason a
/// user can act on (naming the column and quoting a short, escaped part of the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("partition {partition}, offset {offset}: {reason}")]
pub struct RowError {
    /// The message's partition.
    pub partition: i32,
    /// The message's offset.
    pub offset: i64,
    /// What kind of problem.
    pub kind: RowErrorKind,
    /// What is wrong, in words (without partition and offset).
    pub reason: String,
}

/// The columns of an error row: `(partition int4, offset int8, raw bytea, reason text)`.
/// `raw` is the message value as received (NULL for a tombstone).
pub static ERROR_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(vec![
        Column::new("partition", SpqType::Int32),
        Column::new("offset", SpqType::Int64),
        Column::new("raw", SpqType::Bytea),
        Column::new("reason", SpqType::Cstr),
    ])
    .expect("distinct names")
});

/// Appends an error row for `error` to `page` (a builder of [`ERROR_SCHEMA`] pages), with
/// the message value `raw` cut to at most `max_raw_bytes` (the reason then says so). A
/// failure leaves no partial row.
pub fn push_error_row(
    page: &mut PageBuilder,
    error: &RowError,
    raw: Option<&[u8]>,
    max_raw_bytes: usize,
) -> Result<(), PageError> {
    let cut = raw.filter(|r| r.len() > max_raw_bytes);
    let reason = match cut {
        Some(r) => format!(
            "{} (raw value cut to its first {max_raw_bytes} of {} bytes)",
            error.reason,
            r.len()
        ),
        None => error.reason.clone(),
    };
    let result = (|| {
        page.push(Value::Int32(error.partition))?;
        page.push(Value::Int64(error.offset))?;
        page.push_opt(raw.map(|r| Value::Bytea(&r[..r.len().min(max_raw_bytes)])))?;
        page.push(Value::Text(&reason))?;
        page.end_row()
    })();
    if result.is_err() {
        page.abandon_row();
    }
    result
}

/// Characters of a value quoted in a reason.
const SNIPPET_CHARS: usize = 40;

/// `bytes` quoted for a reason: at most 40 characters, escaped (`\n`, `\"`, `\u{0}`,
/// `\xff` for bytes that are not UTF-8), then `…` and the full length when cut.
pub fn snippet(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(SNIPPET_CHARS + 16);
    out.push('"');
    let mut n = 0;
    let mut cut = false;
    'outer: for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if n == SNIPPET_CHARS {
                cut = true;
                break 'outer;
            }
            out.extend(c.escape_debug());
            n += 1;
        }
        for b in chunk.invalid() {
            if n == SNIPPET_CHARS {
                cut = true;
                break 'outer;
            }
            let _ = write!(out, "\\x{b:02x}");
            n += 1;
        }
    }
    out.push('"');
    if cut {
        let _ = write!(out, "… ({} bytes)", bytes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use xdrive_proto::page::{PageLimits, PageReader};

    use super::*;

    #[test]
    fn snippets_are_short_and_escaped() {
        assert_eq!(snippet(b"12x"), "\"12x\"");
        assert_eq!(snippet(b"a\"b\nc\0"), "\"a\\\"b\\nc\\0\"");
        assert_eq!(snippet(b"ab\xffc"), "\"ab\\xffc\"");
        let long = "é".repeat(100);
        assert_eq!(
            snippet(long.as_bytes()),
            format!("\"{}\"… (200 bytes)", "é".repeat(40))
        );
    }

    #[test]
    fn error_rows() {
        let mut page = PageBuilder::new(ERROR_SCHEMA.clone(), PageLimits::default());
        let e = RowError {
            partition: 3,
            offset: 42,
            kind: RowErrorKind::FieldCount,
            reason: "expected 8 fields, got 9".into(),
        };
        push_error_row(&mut page, &e, Some(b"a|b"), 1024).unwrap();
        push_error_row(&mut page, &e, None, 1024).unwrap();
        push_error_row(&mut page, &e, Some(b"abcdef"), 2).unwrap();
        let page = PageReader::new(&ERROR_SCHEMA, page.finish().unwrap()).unwrap();
        assert_eq!(page.column(0).get(0), Some(Value::Int32(3)));
        assert_eq!(page.column(1).get(0), Some(Value::Int64(42)));
        assert_eq!(page.column(2).get(0), Some(Value::Bytea(b"a|b")));
        assert_eq!(
            page.column(3).get(0),
            Some(Value::Text("expected 8 fields, got 9"))
        );
        assert_eq!(page.column(2).get(1), None);
        assert_eq!(page.column(2).get(2), Some(Value::Bytea(b"ab")));
        assert_eq!(
            page.column(3).get(2),
            Some(Value::Text(
                "expected 8 fields, got 9 (raw value cut to its first 2 of 6 bytes)"
            ))
        );
        assert_eq!(
            e.to_string(),
            "partition 3, offset 42: expected 8 fields, got 9"
        );
    }

    #[test]
    fn a_wrong_page_leaves_no_partial_row() {
        let schema = Schema::new(vec![Column::new("x", SpqType::Int32)]).unwrap();
        let mut page = PageBuilder::new(schema, PageLimits::default());
        let e = RowError {
            partition: 0,
            offset: 0,
            kind: RowErrorKind::Value,
            reason: String::new(),
        };
        assert!(push_error_row(&mut page, &e, None, 10).is_err());
        page.push(Value::Int32(1)).unwrap();
        page.end_row().unwrap();
        assert_eq!(page.nrow(), 1);
    }
}
