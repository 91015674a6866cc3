//! What a request asks for: the format, the fields of a message with their declared
//! PostgreSQL types, and where each output column comes from.

use std::fmt;

use xdrive_proto::schema::SchemaError;
use xdrive_proto::spq::{SpqError, SpqType};

/// The largest message value (plus key) [`crate::Decoder`] accepts unless told otherwise:
/// 8 MiB, well above Kafka's default `message.max.bytes` (1 MiB) and well below the
/// 64 MiB xdrive frame limit, so one message always fits a page column's frame.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 8 << 20;

/// Lengths PostgreSQL allows in `varchar(n)` and `char(n)`.
const MAX_CHAR_LENGTH: u32 = 10 * 1024 * 1024;

/// The format of Kafka message values (`kafka.input.format`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Delimited text, one row per message, quoting and NULLs as PostgreSQL's CSV.
    Csv(CsvOptions),
    /// One JSON document per message, as one `json` column (`jdata`).
    Json,
    /// The raw bytes of each message, as one `bytea` column.
    Binary,
}

impl Format {
    /// The name in `kafka.input.format`.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Csv(_) => "csv",
            Format::Json => "json",
            Format::Binary => "binary",
        }
    }
}

/// PostgreSQL CSV settings. Every character is one ASCII byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Separates fields (`kafka.input.delimiter`).
    pub delimiter: u8,
    /// Starts and ends a quoted field; default `"`.
    pub quote: u8,
    /// Inside a quoted field, makes the next quote or escape literal; default: the quote
    /// (so `""` is a literal `"`).
    pub escape: u8,
    /// An unquoted field equal to this is NULL; default the empty string. On output,
    /// NULL is written as this, and a value equal to it is quoted.
    pub null: String,
}

impl CsvOptions {
    /// Options with `delimiter` and PostgreSQL's defaults for the rest.
    pub fn new(delimiter: u8) -> Result<CsvOptions, SpecError> {
        let options = CsvOptions {
            delimiter,
            quote: b'"',
            escape: b'"',
            null: String::new(),
        };
        options.check()?;
        Ok(options)
    }

    /// Options from the strings a request's `CSVSpec` or a config carries; an empty
    /// string means the default (no default for the delimiter).
    pub fn from_strs(
        delimiter: &str,
        quote: &str,
        escape: &str,
        null: &str,
    ) -> Result<CsvOptions, SpecError> {
        let quote = if quote.is_empty() {
            b'"'
        } else {
            single_byte("quote", quote)?
        };
        let options = CsvOptions {
            delimiter: single_byte("delimiter", delimiter)?,
            quote,
            escape: if escape.is_empty() {
                quote
            } else {
                single_byte("escape", escape)?
            },
            null: null.to_owned(),
        };
        options.check()?;
        Ok(options)
    }

    /// The rules PostgreSQL's `COPY` applies to these options.
    pub fn check(&self) -> Result<(), SpecError> {
        let bad = |what: &'static str, reason: &'static str| SpecError::CsvOption {
            what,
            value: char::from(match what {
                "quote" => self.quote,
                "escape" => self.escape,
                _ => self.delimiter,
            })
            .escape_debug()
            .to_string(),
            reason,
        };
        for (what, b) in [
            ("delimiter", self.delimiter),
            ("quote", self.quote),
            ("escape", self.escape),
        ] {
            if !b.is_ascii() {
                return Err(bad(what, "it must be a single ASCII character"));
            }
            if b == b'\r' || b == b'\n' {
                return Err(bad(what, "it cannot be a line end"));
            }
        }
        if self.delimiter == self.quote {
            return Err(bad("delimiter", "it must differ from the quote character"));
        }
        if self.null.bytes().any(|b| b == self.delimiter) {
            return Err(SpecError::CsvNull {
                reason: "it contains the delimiter",
            });
        }
        if self.null.bytes().any(|b| b == self.quote) {
            return Err(SpecError::CsvNull {
                reason: "it contains the quote character",
            });
        }
        if self.null.contains(['\r', '\n']) {
            return Err(SpecError::CsvNull {
                reason: "it contains a line end",
            });
        }
        Ok(())
    }
}

fn single_byte(what: &'static str, s: &str) -> Result<u8, SpecError> {
    match s.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(SpecError::CsvOption {
            what,
            value: s.escape_debug().to_string(),
            reason: "it must be a single ASCII character",
        }),
    }
}

/// A column type as declared (`kafka.input.columns[].type`): its SPQ type, plus the
/// length limit of `varchar(n)` and `char(n)`, which the SPQ type does not carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnType {
    spq: SpqType,
    max_chars: Option<u32>,
    name: String,
}

impl ColumnType {
    /// Parses a PostgreSQL type name as [`SpqType::from_pg_type`] does, keeping the length
    /// of `varchar(n)`, `character varying(n)`, `char(n)`, `character(n)` and `bpchar(n)`.
    /// `char` and `character` without a length are `char(1)`, as in PostgreSQL.
    pub fn parse(pg_type: &str) -> Result<ColumnType, SpecError> {
        let spq = SpqType::from_pg_type(pg_type).map_err(|source| SpecError::Type {
            name: pg_type.trim().to_owned(),
            source,
        })?;
        let name = pg_type.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut max_chars = None;
        if spq == SpqType::Cstr {
            let lower = name.to_ascii_lowercase();
            let (base, typmod) = match lower.split_once('(') {
                Some((base, rest)) => (base.trim(), rest.split(')').next()),
                None => (lower.as_str(), None),
            };
            max_chars = match typmod {
                Some(n) => {
                    let n: u32 = n
                        .trim()
                        .parse()
                        .map_err(|_| SpecError::Length { name: name.clone() })?;
                    if !(1..=MAX_CHAR_LENGTH).contains(&n) {
                        return Err(SpecError::Length { name });
                    }
                    Some(n)
                }
                None if base == "char" || base == "character" => Some(1),
                None => None,
            };
        }
        Ok(ColumnType {
            spq,
            max_chars,
            name,
        })
    }

    /// The type of a column known only by its SPQ type (no length limit), named by its
    /// canonical PostgreSQL name.
    pub fn of(spq: SpqType) -> ColumnType {
        ColumnType {
            spq,
            max_chars: None,
            name: spq.pg_name().to_owned(),
        }
    }

    /// The SPQ type.
    pub fn spq(&self) -> SpqType {
        self.spq
    }

    /// The most characters a value may have (`varchar(n)`, `char(n)`).
    pub fn max_chars(&self) -> Option<u32> {
        self.max_chars
    }

    /// The name as declared (whitespace collapsed), for messages.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A field of a message (an entry of `kafka.input.columns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputField {
    /// The column name.
    pub name: String,
    /// The declared type.
    pub ty: ColumnType,
    /// `ignored = true`: the field is in every message but is never output (nor
    /// type-checked).
    pub ignored: bool,
}

impl InputField {
    /// A field named `name` of PostgreSQL type `pg_type`, not ignored.
    pub fn new(name: impl Into<String>, pg_type: &str) -> Result<InputField, SpecError> {
        Ok(InputField {
            name: name.into(),
            ty: ColumnType::parse(pg_type)?,
            ignored: false,
        })
    }

    /// The same field with `ignored` set.
    pub fn ignored(mut self, ignored: bool) -> InputField {
        self.ignored = ignored;
        self
    }

    /// The `jdata json` field of the `json` format.
    pub fn jdata() -> InputField {
        InputField {
            name: "jdata".into(),
            ty: ColumnType::of(SpqType::Json),
            ignored: false,
        }
    }
}

/// Message metadata an output column may hold instead of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Meta {
    /// The partition: into `int4` or `int8`.
    Partition,
    /// The offset: into `int8`.
    Offset,
    /// The message timestamp (Kafka's milliseconds since 1970, UTC): into `timestamptz`,
    /// `timestamp` (as UTC) or `int8` (the milliseconds as is). NULL when the message
    /// has none.
    Timestamp,
    /// The key: into `bytea` (as is), `text` (must be valid UTF-8 without NUL) or `json`
    /// (must be valid JSON). NULL when the message has none.
    Key,
}

impl Meta {
    /// Every item.
    pub const ALL: [Meta; 4] = [Meta::Partition, Meta::Offset, Meta::Timestamp, Meta::Key];

    /// A short name (`partition`, `offset`, `timestamp`, `key`).
    pub fn name(self) -> &'static str {
        match self {
            Meta::Partition => "partition",
            Meta::Offset => "offset",
            Meta::Timestamp => "timestamp",
            Meta::Key => "key",
        }
    }

    /// The column types this item can fill.
    pub fn types(self) -> &'static [SpqType] {
        match self {
            Meta::Partition => &[SpqType::Int32, SpqType::Int64],
            Meta::Offset => &[SpqType::Int64],
            Meta::Timestamp => &[
                SpqType::TimestamptzMicros,
                SpqType::TimestampMicros,
                SpqType::Int64,
            ],
            Meta::Key => &[SpqType::Bytea, SpqType::Cstr, SpqType::Json],
        }
    }
}

impl fmt::Display for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an output column's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Field `j` of the message (an index into the decoder's fields, counting ignored
    /// ones); the column has the field's type.
    Field(usize),
    /// A metadata item, into a column of the given type (one of [`Meta::types`]).
    Meta(Meta, SpqType),
}

/// One column of the pages a decoder fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// The name (`XCol.colname`).
    pub name: String,
    /// Its values' source.
    pub source: Source,
}

impl OutputColumn {
    /// A column named `name` holding message field `index`.
    pub fn field(name: impl Into<String>, index: usize) -> OutputColumn {
        OutputColumn {
            name: name.into(),
            source: Source::Field(index),
        }
    }

    /// A column named `name` of type `spq` holding `meta`.
    pub fn meta(name: impl Into<String>, meta: Meta, spq: SpqType) -> OutputColumn {
        OutputColumn {
            name: name.into(),
            source: Source::Meta(meta, spq),
        }
    }
}

/// Everything a [`crate::Decoder`] needs, fixed for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderSpec {
    /// The message format.
    pub format: Format,
    /// The fields of each message, in order (`kafka.input.columns`). `json` needs exactly
    /// one field, of type `json` or `jsonb` ([`InputField::jdata`]); `binary` exactly
    /// one, of type `bytea`.
    pub fields: Vec<InputField>,
    /// The page's columns, in order.
    pub outputs: Vec<OutputColumn>,
    /// A larger message value plus key is a row error ([`DEFAULT_MAX_MESSAGE_BYTES`]).
    pub max_message_bytes: usize,
}

impl DecoderSpec {
    /// A spec with the default size limit.
    pub fn new(format: Format, fields: Vec<InputField>, outputs: Vec<OutputColumn>) -> Self {
        DecoderSpec {
            format,
            fields,
            outputs,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// Every field that is not ignored, as an output column of the same name, in order:
    /// what a `SELECT *` of the seed's external table gets.
    pub fn all_fields(format: Format, fields: Vec<InputField>) -> Self {
        let outputs = fields
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.ignored)
            .map(|(i, f)| OutputColumn::field(f.name.clone(), i))
            .collect();
        DecoderSpec::new(format, fields, outputs)
    }
}

/// Why a spec cannot be served. Found once per request, before any message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// A declared type we do not serve.
    #[error("type \"{name}\" cannot be used")]
    Type {
        /// The type as declared.
        name: String,
        /// Why.
        #[source]
        source: SpqError,
    },
    /// A `varchar(n)`/`char(n)` length out of PostgreSQL's range.
    #[error("type \"{name}\" has a length outside 1 to 10485760")]
    Length {
        /// The type as declared.
        name: String,
    },
    /// A CSV delimiter, quote or escape PostgreSQL would refuse.
    #[error("the CSV {what} \"{value}\" cannot be used: {reason}")]
    CsvOption {
        /// `delimiter`, `quote` or `escape`.
        what: &'static str,
        /// The value, escaped.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A CSV null string PostgreSQL would refuse.
    #[error("the CSV null string cannot be used: {reason}")]
    CsvNull {
        /// Why.
        reason: &'static str,
    },
    /// The `csv` format with no fields.
    #[error("the csv format needs at least one column in kafka.input.columns")]
    NoFields,
    /// `json` or `binary` without their one field of the right type.
    #[error("the {format} format needs exactly one {expected} column, got {got}")]
    SingleField {
        /// `json` or `binary`.
        format: &'static str,
        /// `json` or `bytea`.
        expected: &'static str,
        /// What was given.
        got: String,
    },
    /// An output column names a field the message does not have.
    #[error("output column \"{column}\" reads field {index}, but messages have {count} fields")]
    FieldIndex {
        /// The output column.
        column: String,
        /// The field index.
        index: usize,
        /// Fields in a message.
        count: usize,
    },
    /// An output column reads an ignored field.
    #[error("output column \"{column}\" reads field \"{field}\", which is ignored")]
    IgnoredField {
        /// The output column.
        column: String,
        /// The field's name.
        field: String,
    },
    /// A metadata item into a column type it cannot fill.
    #[error(
        "output column \"{column}\" cannot hold the message {meta} as {spq} (it can be {allowed})"
    )]
    MetaType {
        /// The output column.
        column: String,
        /// The item.
        meta: Meta,
        /// The column type asked for.
        spq: SpqType,
        /// The types it can be.
        allowed: String,
    },
    /// The output columns do not make a schema (a name used twice).
    #[error("the output columns are not a valid schema")]
    Schema(#[source] SchemaError),
    /// A page schema the write format cannot encode.
    #[error("the {format} format cannot write a table of {got}: it needs {expected}")]
    WriteSchema {
        /// `json` or `binary`.
        format: &'static str,
        /// What it needs.
        expected: &'static str,
        /// The columns given.
        got: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_kept() {
        let t = ColumnType::parse("varchar(25)").unwrap();
        assert_eq!((t.spq(), t.max_chars()), (SpqType::Cstr, Some(25)));
        assert_eq!(t.name(), "varchar(25)");
        let t = ColumnType::parse(" Character   Varying ( 7 ) ").unwrap();
        assert_eq!(t.max_chars(), Some(7));
        assert_eq!(t.name(), "Character Varying ( 7 )");
        assert_eq!(ColumnType::parse("char").unwrap().max_chars(), Some(1));
        assert_eq!(
            ColumnType::parse("character(3)").unwrap().max_chars(),
            Some(3)
        );
        assert_eq!(ColumnType::parse("bpchar").unwrap().max_chars(), None);
        assert_eq!(ColumnType::parse("varchar").unwrap().max_chars(), None);
        assert_eq!(ColumnType::parse("text").unwrap().max_chars(), None);
        assert_eq!(
            ColumnType::parse("numeric(10,2)").unwrap().max_chars(),
            None
        );
        assert!(matches!(
            ColumnType::parse("varchar(0)"),
            Err(SpecError::Length { .. })
        ));
        assert!(matches!(
            ColumnType::parse("uuid"),
            Err(SpecError::Type { .. })
        ));
    }

    #[test]
    fn csv_options_follow_copy_rules() {
        assert!(CsvOptions::new(b'|').is_ok());
        assert!(CsvOptions::new(b'"').is_err());
        assert!(CsvOptions::new(b'\n').is_err());
        assert!(CsvOptions::new(0xA6).is_err());
        let o = CsvOptions::from_strs("|", "", "", "").unwrap();
        assert_eq!((o.quote, o.escape, o.null.as_str()), (b'"', b'"', ""));
        let o = CsvOptions::from_strs("\t", "'", "\\", "\\N").unwrap();
        assert_eq!((o.delimiter, o.quote, o.escape), (b'\t', b'\'', b'\\'));
        let err = CsvOptions::from_strs("||", "", "", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the CSV delimiter \"||\" cannot be used: it must be a single ASCII character"
        );
        assert!(CsvOptions::from_strs(",", "", "", "a,b").is_err());
        assert!(CsvOptions::from_strs(",", "", "", "\"").is_err());
    }
}
