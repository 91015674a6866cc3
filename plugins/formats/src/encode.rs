//! The write path: rows of column pages into Kafka message values.

use xdrive_proto::page::{PageReader, Value};
use xdrive_proto::schema::Schema;
use xdrive_proto::spq::SpqType;

use crate::csv::Writer;
use crate::spec::{Format, SpecError};
use crate::value::write_value;

/// Turns page rows into message values. Built once per write request; then
/// [`encode`](Self::encode) once per row, into a buffer it reuses.
///
/// - `csv`: every column, joined by the delimiter, quoted only where needed (see
///   [`crate::csv`]); values printed as PostgreSQL prints them (`DateStyle = ISO`,
///   `TimeZone = UTC`, bytea as `\x` hex, floats in their shortest exact form).
/// - `json`: the one `json` column's text; a NULL is a tombstone (`None`).
/// - `binary`: the one `bytea` column's bytes; a NULL is a tombstone (`None`).
#[derive(Debug, Clone)]
pub struct Encoder {
    writer: Option<Writer>,
    types: Vec<SpqType>,
    out: Vec<u8>,
    scratch: Vec<u8>,
}

/// Why a row cannot be encoded: the caller passed a page the encoder was not made for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The page's column types differ from the encoder's schema.
    #[error("the page's columns are ({got}), the encoder was made for ({expected})")]
    Schema {
        /// The encoder's column types.
        expected: String,
        /// The page's.
        got: String,
    },
    /// The row is past the end of the page.
    #[error("row {row} is past the end of the page ({nrow} rows)")]
    Row {
        /// The row asked for.
        row: usize,
        /// Rows in the page.
        nrow: usize,
    },
}

fn type_list(types: impl Iterator<Item = SpqType>) -> String {
    types.map(|t| t.pg_name()).collect::<Vec<_>>().join(", ")
}

impl Encoder {
    /// An encoder of `schema`'s rows in `format`. `json` needs exactly one `json` column,
    /// `binary` exactly one `bytea` column.
    pub fn new(format: &Format, schema: &Schema) -> Result<Encoder, SpecError> {
        let types: Vec<SpqType> = schema.columns().iter().map(|c| c.spq).collect();
        let writer = match format {
            Format::Csv(options) => {
                options.check()?;
                Some(Writer::new(options))
            }
            Format::Json | Format::Binary => {
                let (want, expected) = match format {
                    Format::Json => (SpqType::Json, "one json column"),
                    _ => (SpqType::Bytea, "one bytea column"),
                };
                if types != [want] {
                    return Err(SpecError::WriteSchema {
                        format: format.name(),
                        expected,
                        got: format!("({})", type_list(types.iter().copied())),
                    });
                }
                None
            }
        };
        Ok(Encoder {
            writer,
            types,
            out: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// The message value of `row` of `page`; `None` is a tombstone (a NULL `json` or
    /// `binary` value). The bytes are valid until the next call.
    pub fn encode<'a>(
        &'a mut self,
        page: &'a PageReader,
        row: usize,
    ) -> Result<Option<&'a [u8]>, EncodeError> {
        let types = page.schema().columns().iter().map(|c| c.spq);
        if !types.clone().eq(self.types.iter().copied()) {
            return Err(EncodeError::Schema {
                expected: type_list(self.types.iter().copied()),
                got: type_list(types),
            });
        }
        if row >= page.nrow() {
            return Err(EncodeError::Row {
                row,
                nrow: page.nrow(),
            });
        }
        let Some(writer) = &self.writer else {
            return Ok(match page.column(0).get(row) {
                Some(Value::Json(s)) => Some(s.as_bytes()),
                Some(Value::Bytea(b)) => Some(b),
                _ => None,
            });
        };
        self.out.clear();
        for (i, column) in page.columns().enumerate() {
            if i > 0 {
                self.out.push(writer.delimiter());
            }
            match column.get(row) {
                None => writer.null(&mut self.out),
                Some(Value::Text(s) | Value::Json(s) | Value::Numeric(s)) => {
                    writer.field(&mut self.out, s.as_bytes())
                }
                Some(v) => {
                    self.scratch.clear();
                    write_value(&mut self.scratch, v);
                    writer.field(&mut self.out, &self.scratch);
                }
            }
        }
        Ok(Some(&self.out))
    }
}
