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

#[cfg(test)]
mod tests {
    use xdrive_proto::page::{PageBuilder, PageLimits};
    use xdrive_proto::schema::Column;

    use super::*;
    use crate::spec::CsvOptions;

    fn page(values: &[Option<Value<'_>>]) -> PageReader {
        let schema = Schema::new(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    Column::new(format!("c{i}"), v.map_or(SpqType::Cstr, |v| v.spq_type()))
                })
                .collect(),
        )
        .unwrap();
        let mut b = PageBuilder::new(schema.clone(), PageLimits::default());
        for v in values {
            b.push_opt(*v).unwrap();
        }
        b.end_row().unwrap();
        PageReader::new(&schema, b.finish().unwrap()).unwrap()
    }

    #[test]
    fn csv_prints_values_as_postgresql() {
        let p = page(&[
            Some(Value::Bool(true)),
            Some(Value::Int16(-32768)),
            Some(Value::Int64(i64::MAX)),
            Some(Value::Float(0.1)),
            Some(Value::Double(1e20)),
            Some(Value::Double(-0.0)),
            Some(Value::Numeric("12.50")),
            Some(Value::Date(8825)),
            Some(Value::Time(3_723_000_500)),
            Some(Value::Timestamp(1_500_000)),
            Some(Value::Timestamptz(-1)),
            Some(Value::Bytea(&[0xde, 0xad])),
            Some(Value::Json("{\"a\": \"x|y\"}")),
            Some(Value::Text("")),
            None,
            Some(Value::Text("plain text")),
        ]);
        let mut e = Encoder::new(&Format::Csv(CsvOptions::new(b'|').unwrap()), p.schema()).unwrap();
        let out = e.encode(&p, 0).unwrap().unwrap();
        assert_eq!(
            std::str::from_utf8(out).unwrap(),
            "t|-32768|9223372036854775807|0.1|1e+20|-0|12.50|2024-02-29|01:02:03.0005|\
             2000-01-01 00:00:01.5|1999-12-31 23:59:59.999999+00|\\xdead|\"{\"\"a\"\": \"\"x|y\"\"}\"|\"\"||plain text"
        );
        // A delimiter that appears in printed values gets them quoted.
        let p = page(&[Some(Value::Timestamp(0)), Some(Value::Int32(-5))]);
        let mut e = Encoder::new(&Format::Csv(CsvOptions::new(b'-').unwrap()), p.schema()).unwrap();
        let out = e.encode(&p, 0).unwrap().unwrap();
        assert_eq!(out, b"\"2000-01-01 00:00:00\"-\"-5\"");
    }

    #[test]
    fn json_and_binary_pass_values_through() {
        let p = page(&[Some(Value::Json("[1]"))]);
        let mut e = Encoder::new(&Format::Json, p.schema()).unwrap();
        assert_eq!(e.encode(&p, 0).unwrap(), Some(&b"[1]"[..]));
        let p = page(&[Some(Value::Bytea(b"\0\xff"))]);
        let mut e = Encoder::new(&Format::Binary, p.schema()).unwrap();
        assert_eq!(e.encode(&p, 0).unwrap(), Some(&b"\0\xff"[..]));
        // A NULL is a tombstone.
        let schema = Schema::new(vec![Column::new("b", SpqType::Bytea)]).unwrap();
        let mut b = PageBuilder::new(schema.clone(), PageLimits::default());
        b.push_null().unwrap();
        b.end_row().unwrap();
        let p = PageReader::new(&schema, b.finish().unwrap()).unwrap();
        assert_eq!(e.encode(&p, 0).unwrap(), None);
        assert_eq!(
            e.encode(&p, 1).unwrap_err().to_string(),
            "row 1 is past the end of the page (1 rows)"
        );
    }

    #[test]
    fn wrong_schemas_are_refused() {
        let p = page(&[Some(Value::Int32(1)), Some(Value::Text("x"))]);
        let err = Encoder::new(&Format::Json, p.schema()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the json format cannot write a table of (int4, text): it needs one json column"
        );
        assert!(Encoder::new(&Format::Binary, p.schema()).is_err());
        let other = page(&[Some(Value::Int32(1))]);
        let mut e =
            Encoder::new(&Format::Csv(CsvOptions::new(b',').unwrap()), other.schema()).unwrap();
        assert_eq!(
            e.encode(&p, 0).unwrap_err().to_string(),
            "the page's columns are (int4, text), the encoder was made for (int4)"
        );
    }
}
