//! PostgreSQL binary `COPY` built straight from typed column pages: no text round trip.
//!
//! [`BinaryCopyEncoder`] turns [`PageReader`] pages into the stream
//! `COPY ... FROM STDIN (FORMAT binary)` reads: the 19-byte header (signature
//! `PGCOPY\n\xff\r\n\0`, flags, header-extension length), per row an `int16` field count and
//! per field an `int32` length (`-1` for NULL) and the value in its type's binary send
//! format, and the `int16 -1` trailer. It does no I/O and allocates nothing per value;
//! [`copy_pages`] streams it into a transaction with `copy_in`.
//!
//! Our pages already use PostgreSQL's epochs (see [`xdrive_proto::spq`]), so dates,
//! times and timestamps are copied as they are. Numeric values travel as text in pages and
//! are encoded here into PostgreSQL's binary numeric (base-10000 digits; `NaN` and
//! `±Infinity` with PostgreSQL 14's sign codes) by [`encode_numeric`].
//!
//! Which page type may land in which column type is decided once, when the encoder is
//! built (per batch), never per row: see [`PgType::accepts`]. A pairing binary COPY cannot
//! carry — text into an `integer` column, say — is [`CopyError::TypeMismatch`] naming the
//! column. Lossless widenings (`int2` into `int4`/`int8`, `int4` into `int8`, `float4` into
//! `float8`) and text-like values into text-like columns are accepted.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Range;

use bytes::{BufMut, BytesMut};
use futures::SinkExt;
use tokio_postgres::Transaction;
use tokio_postgres::types::{Kind, Type};
use xdrive_proto::page::{PageReader, Values};
use xdrive_proto::schema::Schema;
use xdrive_proto::spq::SpqType;

use crate::ident::{QualifiedName, quote};

/// The binary COPY signature, flags (no OIDs) and header-extension length (none).
pub const HEADER: &[u8; 19] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The trailer: a field count of -1.
pub const TRAILER: [u8; 2] = [0xff, 0xff];

/// How much encoded data [`copy_pages`] hands to the connection at a time.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// PostgreSQL's limit on one field (`MaxAllocSize - 1`, about 1 GiB).
const MAX_FIELD_BYTES: usize = 0x3fff_ffff;

/// A PostgreSQL column type binary COPY can fill from a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Varchar,
    Bpchar,
    Json,
    Jsonb,
    Bytea,
    Date,
    Time,
    Timestamp,
    Timestamptz,
}

impl PgType {
    /// The type's name as PostgreSQL's `format_type` writes it.
    pub fn name(self) -> &'static str {
        match self {
            PgType::Bool => "boolean",
            PgType::Int2 => "smallint",
            PgType::Int4 => "integer",
            PgType::Int8 => "bigint",
            PgType::Float4 => "real",
            PgType::Float8 => "double precision",
            PgType::Numeric => "numeric",
            PgType::Text => "text",
            PgType::Varchar => "character varying",
            PgType::Bpchar => "character",
            PgType::Json => "json",
            PgType::Jsonb => "jsonb",
            PgType::Bytea => "bytea",
            PgType::Date => "date",
            PgType::Time => "time without time zone",
            PgType::Timestamp => "timestamp without time zone",
            PgType::Timestamptz => "timestamp with time zone",
        }
    }

    /// The type of a result column as tokio-postgres describes it; a domain is its base
    /// type (binary COPY runs the base type's receive function, then the domain's checks).
    /// `None` for types binary COPY from pages cannot fill.
    pub fn from_type(ty: &Type) -> Option<PgType> {
        if let Kind::Domain(base) = ty.kind() {
            return PgType::from_type(base);
        }
        Some(match *ty {
            Type::BOOL => PgType::Bool,
            Type::INT2 => PgType::Int2,
            Type::INT4 => PgType::Int4,
            Type::INT8 => PgType::Int8,
            Type::FLOAT4 => PgType::Float4,
            Type::FLOAT8 => PgType::Float8,
            Type::NUMERIC => PgType::Numeric,
            Type::TEXT => PgType::Text,
            Type::VARCHAR => PgType::Varchar,
            Type::BPCHAR => PgType::Bpchar,
            Type::JSON => PgType::Json,
            Type::JSONB => PgType::Jsonb,
            Type::BYTEA => PgType::Bytea,
            Type::DATE => PgType::Date,
            Type::TIME => PgType::Time,
            Type::TIMESTAMP => PgType::Timestamp,
            Type::TIMESTAMPTZ => PgType::Timestamptz,
            _ => return None,
        })
    }

    /// Whether a page column of type `spq` can land in a column of this type by binary
    /// COPY: same representation, a lossless widening, or text into a text-like type.
    pub fn accepts(self, spq: SpqType) -> bool {
        encoding(spq, self).is_some()
    }
}

impl fmt::Display for PgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How one column's values are written: chosen once from (SPQ type, column type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// BOOL (0/1 in `i32data`) as one byte.
    Bool,
    /// `i32data` as `int2`.
    I32AsInt2,
    /// `i32data` as `int4` (also DATE: days since 2000-01-01).
    I32AsInt4,
    /// `i32data` as `int8`.
    I32AsInt8,
    /// `i64data` as eight bytes (int8, time, timestamp, timestamptz).
    I64,
    /// `f32data` as `float4`.
    F32AsFloat4,
    /// `f32data` as `float8`.
    F32AsFloat8,
    /// `f64data` as `float8`.
    F64,
    /// UTF-8 text (text, varchar, char, json) or raw bytes (bytea), as they are.
    Bytes,
    /// UTF-8 JSON text behind jsonb's version byte 1.
    Jsonb,
    /// Numeric text as PostgreSQL's binary numeric.
    Numeric,
}

fn encoding(spq: SpqType, pg: PgType) -> Option<Encoding> {
    use PgType as P;
    use SpqType as S;
    Some(match (spq, pg) {
        (S::Bool, P::Bool) => Encoding::Bool,
        (S::Int16, P::Int2) => Encoding::I32AsInt2,
        (S::Int16 | S::Int32, P::Int4) | (S::Date, P::Date) => Encoding::I32AsInt4,
        (S::Int16 | S::Int32, P::Int8) => Encoding::I32AsInt8,
        (S::Int64, P::Int8)
        | (S::TimeMicros, P::Time)
        | (S::TimestampMicros, P::Timestamp)
        | (S::TimestamptzMicros, P::Timestamptz) => Encoding::I64,
        (S::Float, P::Float4) => Encoding::F32AsFloat4,
        (S::Float, P::Float8) => Encoding::F32AsFloat8,
        (S::Double, P::Float8) => Encoding::F64,
        (S::Cstr | S::Json | S::Numeric, P::Text | P::Varchar | P::Bpchar)
        | (S::Cstr | S::Json, P::Json)
        | (S::Bytea, P::Bytea) => Encoding::Bytes,
        (S::Cstr | S::Json, P::Jsonb) => Encoding::Jsonb,
        (S::Numeric, P::Numeric) => Encoding::Numeric,
        _ => return None,
    })
}

/// One target column: its name (for messages and the COPY column list), the SPQ type of
/// the page column that fills it, and its PostgreSQL type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopyColumn {
    /// The column's name as PostgreSQL stores it (quoted when put into SQL).
    pub name: String,
    /// The type of the page column that fills it.
    pub spq: SpqType,
    /// The column's type.
    pub pg: PgType,
}

impl CopyColumn {
    /// A target column `name` of type `pg`, filled from page columns of type `spq`.
    pub fn new(name: impl Into<String>, spq: SpqType, pg: PgType) -> CopyColumn {
        CopyColumn {
            name: name.into(),
            spq,
            pg,
        }
    }
}

/// What went wrong building binary COPY data or running the COPY.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// A page type binary COPY cannot carry into the column's type.
    #[error(
        "column `{column}` is {pg}, which binary COPY cannot fill from page values of type {spq} \
         (declare the input column with a matching type, or load through a staging table and \
         kafka.output.mappings)"
    )]
    TypeMismatch {
        column: String,
        spq: SpqType,
        pg: PgType,
    },
    /// The table does not exist (or is not visible on the search path).
    #[error("table {table} does not exist")]
    NoTable { table: String },
    /// The table has no such column.
    #[error("table {table} has no column `{column}`")]
    NoColumn { table: String, column: String },
    /// The column's type is none binary COPY from pages can fill.
    #[error(
        "column `{column}` of {table} has type {type_name}, which dgkafka cannot load (supported: \
         boolean, smallint, integer, bigint, real, double precision, numeric, text, varchar, \
         char, json, jsonb, bytea, date, time, timestamp, timestamptz, and domains over them)"
    )]
    UnsupportedColumnType {
        table: String,
        column: String,
        type_name: String,
    },
    /// More columns than a COPY row can carry.
    #[error("{count} columns are more than a COPY row can carry ({max} at most)")]
    TooManyColumns { count: usize, max: usize },
    /// A page whose columns are not the ones the encoder was built for.
    #[error(
        "page column {index} is `{page_column}` of type {page_spq}, but the COPY expects a \
         column of type {expected} for `{column}`"
    )]
    PageColumn {
        index: usize,
        page_column: String,
        page_spq: SpqType,
        column: String,
        expected: SpqType,
    },
    /// A page with a different number of columns.
    #[error("a page has {got} columns, but the COPY has {expected}")]
    PageColumnCount { got: usize, expected: usize },
    /// A column asked for that a page does not have.
    #[error("page column {index} was asked for, but the page has {ncol} columns")]
    PageColumnIndex { index: usize, ncol: usize },
    /// Rows asked for that a page does not have.
    #[error("rows {rows:?} were asked for, but the page has {nrow}")]
    PageRows { rows: Range<usize>, nrow: usize },
    /// A numeric value PostgreSQL would not accept (`text`: its first 40 characters).
    #[error("column `{column}`, row {row} of the batch: numeric value `{text}` {reason}")]
    Numeric {
        column: String,
        row: u64,
        text: String,
        reason: NumericError,
    },
    /// A value longer than a PostgreSQL field can be.
    #[error(
        "column `{column}`, row {row} of the batch: a value of {len} bytes is longer than \
         PostgreSQL's 1 GB field limit"
    )]
    ValueTooLong {
        column: String,
        row: u64,
        len: usize,
    },
    /// Looking the target's columns up in the catalog failed (the connection failed, say).
    #[error("cannot describe the columns ({columns}) of {table}")]
    Describe {
        table: String,
        columns: String,
        source: tokio_postgres::Error,
    },
    /// The COPY itself failed.
    #[error("COPY into {table} failed")]
    Copy {
        table: String,
        source: tokio_postgres::Error,
    },
}

impl CopyError {
    /// Worth retrying the batch later (the connection failed), as opposed to data or
    /// a table definition that must be fixed.
    pub fn is_retriable(&self) -> bool {
        match self {
            CopyError::Describe { source, .. } | CopyError::Copy { source, .. } => {
                source.as_db_error().is_none_or(|db| {
                    let code = db.code().code();
                    // Connection exceptions, insufficient resources, operator
                    // intervention, serialization failures and deadlocks.
                    ["08", "53", "57", "40"]
                        .iter()
                        .any(|class| code.starts_with(class))
                })
            }
            _ => false,
        }
    }
}

/// Why numeric text cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumericError {
    /// Not `[+-]digits[.digits][e[+-]digits]`, `NaN` or `[+-]Infinity`.
    #[error("is not a number")]
    Syntax,
    /// Outside what PostgreSQL's numeric can hold.
    #[error("is out of numeric's range")]
    OutOfRange,
}

/// Writes binary COPY data from pages. Build one per target (and batch schema), then per
/// COPY: [`encode_page`](Self::encode_page) for each page (the first call writes the
/// header) and [`finish`](Self::finish) for the trailer; the encoder is then ready for the
/// next COPY. If a call fails, the data written so far is unusable: abort the COPY.
#[derive(Debug, Clone)]
pub struct BinaryCopyEncoder {
    columns: Vec<CopyColumn>,
    plan: Vec<Encoding>,
    field_count: [u8; 2],
    /// Rows written in the current COPY.
    rows: u64,
    started: bool,
}

impl BinaryCopyEncoder {
    /// An encoder for `columns`, in the order of the page columns that fill them. Fails,
    /// naming the column, if a page type cannot land in its column's type.
    pub fn new(columns: Vec<CopyColumn>) -> Result<BinaryCopyEncoder, CopyError> {
        // A COPY row's field count is an int16; PostgreSQL allows 1600 columns anyway.
        let count = i16::try_from(columns.len()).map_err(|_| CopyError::TooManyColumns {
            count: columns.len(),
            max: i16::MAX as usize,
        })?;
        let plan = columns
            .iter()
            .map(|c| {
                encoding(c.spq, c.pg).ok_or_else(|| CopyError::TypeMismatch {
                    column: c.name.clone(),
                    spq: c.spq,
                    pg: c.pg,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BinaryCopyEncoder {
            columns,
            plan,
            field_count: count.to_be_bytes(),
            rows: 0,
            started: false,
        })
    }

    /// An encoder filling columns named as `schema`'s, of types `pg` (one per column).
    pub fn for_schema(schema: &Schema, pg: &[PgType]) -> Result<BinaryCopyEncoder, CopyError> {
        if schema.len() != pg.len() {
            return Err(CopyError::PageColumnCount {
                got: schema.len(),
                expected: pg.len(),
            });
        }
        let columns = schema
            .columns()
            .iter()
            .zip(pg)
            .map(|(c, &pg)| CopyColumn::new(c.name.clone(), c.spq, pg))
            .collect();
        BinaryCopyEncoder::new(columns)
    }

    /// The target columns.
    pub fn columns(&self) -> &[CopyColumn] {
        &self.columns
    }

    /// Rows written since the current COPY began.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Whether the current COPY's header has been written.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Writes the header, unless it is written already.
    pub fn begin(&mut self, out: &mut BytesMut) {
        if !self.started {
            out.extend_from_slice(HEADER);
            self.started = true;
        }
    }

    /// Appends `page`'s rows to `out` (after the header, if this is the COPY's first page);
    /// returns the number of rows. The page's column types are checked against the
    /// encoder's once per page (not per row); a page's column names may differ from the
    /// target's (a staging table, say).
    pub fn encode_page(
        &mut self,
        page: &PageReader,
        out: &mut BytesMut,
    ) -> Result<usize, CopyError> {
        self.check_page(page)?;
        let columns: Vec<usize> = (0..page.ncol()).collect();
        self.encode(page, &columns, 0..page.nrow(), out)
    }

    /// Appends the rows `rows` of `page`'s columns `columns` (one page column per target
    /// column, in order) to `out`, straight from the page: the loader copies the data
    /// rows of `xdr_kafka`'s pages this way, leaving out its bookkeeping columns and rows
    /// without copying the page first. Returns the number of rows. Checked as
    /// [`encode_page`](Self::encode_page) checks, once per call.
    pub fn encode_rows(
        &mut self,
        page: &PageReader,
        columns: &[usize],
        rows: Range<usize>,
        out: &mut BytesMut,
    ) -> Result<usize, CopyError> {
        self.check_columns(page, columns)?;
        if rows.end > page.nrow() {
            return Err(CopyError::PageRows {
                rows,
                nrow: page.nrow(),
            });
        }
        self.encode(page, columns, rows, out)
    }

    /// Encodes checked columns and rows.
    fn encode(
        &mut self,
        page: &PageReader,
        selected: &[usize],
        rows: Range<usize>,
        out: &mut BytesMut,
    ) -> Result<usize, CopyError> {
        self.begin(out);
        let nrow = rows.len();
        if nrow == 0 {
            return Ok(0);
        }
        let first = rows.start;
        // Per column, once per call: its null flags, carrier and encoding.
        let columns: Vec<_> = selected
            .iter()
            .zip(&self.plan)
            .map(|(&i, &encoding)| {
                let view = page.column(i);
                (view.nulls(), view.values(), encoding)
            })
            .collect();
        // A guess at the size: a field count, and per field a length and 8 bytes.
        out.reserve(nrow * (2 + columns.len() * 12));
        for row in rows {
            out.extend_from_slice(&self.field_count);
            for (index, &(nulls, values, encoding)) in columns.iter().enumerate() {
                if nulls[row] {
                    out.extend_from_slice(&(-1i32).to_be_bytes());
                    continue;
                }
                // A non-NULL row has a value: the carrier is empty only when every row is
                // NULL. The carrier matches the SPQ type, checked in `check_columns`.
                match (encoding, values) {
                    (Encoding::Bool, Values::I32(v)) => {
                        out.extend_from_slice(&[0, 0, 0, 1, u8::from(v[row] != 0)]);
                    }
                    (Encoding::I32AsInt2, Values::I32(v)) => {
                        // INT16 values are range-checked when a page is read.
                        let [a, b] = (v[row] as i16).to_be_bytes();
                        out.extend_from_slice(&[0, 0, 0, 2, a, b]);
                    }
                    (Encoding::I32AsInt4, Values::I32(v)) => put4(out, v[row].to_be_bytes()),
                    (Encoding::I32AsInt8, Values::I32(v)) => {
                        put8(out, i64::from(v[row]).to_be_bytes());
                    }
                    (Encoding::I64, Values::I64(v)) => put8(out, v[row].to_be_bytes()),
                    (Encoding::F32AsFloat4, Values::F32(v)) => put4(out, v[row].to_be_bytes()),
                    (Encoding::F32AsFloat8, Values::F32(v)) => {
                        put8(out, f64::from(v[row]).to_be_bytes());
                    }
                    (Encoding::F64, Values::F64(v)) => put8(out, v[row].to_be_bytes()),
                    (Encoding::Bytes, Values::Str(v)) => {
                        self.put_bytes(out, index, row - first, &[], v.get_bytes(row))?;
                    }
                    (Encoding::Bytes, Values::Bin(v)) => {
                        self.put_bytes(out, index, row - first, &[], v.get(row))?;
                    }
                    (Encoding::Jsonb, Values::Str(v)) => {
                        self.put_bytes(out, index, row - first, &[1], v.get_bytes(row))?;
                    }
                    (Encoding::Numeric, Values::Str(v)) => {
                        let text = v.get_bytes(row);
                        encode_numeric(text, out).map_err(|reason| CopyError::Numeric {
                            column: self.columns[index].name.clone(),
                            row: self.rows + (row - first) as u64,
                            text: excerpt(text),
                            reason,
                        })?;
                    }
                    (encoding, _) => {
                        unreachable!("{encoding:?} does not match its column's carrier")
                    }
                }
            }
        }
        self.rows += nrow as u64;
        Ok(nrow)
    }

    /// Writes the trailer (after the header, if no page was written) and returns the
    /// COPY's row count; the encoder is then ready for another COPY.
    pub fn finish(&mut self, out: &mut BytesMut) -> u64 {
        self.begin(out);
        out.extend_from_slice(&TRAILER);
        let rows = self.rows;
        self.rows = 0;
        self.started = false;
        rows
    }

    fn check_page(&self, page: &PageReader) -> Result<(), CopyError> {
        let all: Vec<usize> = (0..page.ncol()).collect();
        self.check_columns(page, &all)
    }

    /// Checks that `page`'s columns `selected` are as many as the target's and of the
    /// types the encoder was built for.
    fn check_columns(&self, page: &PageReader, selected: &[usize]) -> Result<(), CopyError> {
        if selected.len() != self.columns.len() {
            return Err(CopyError::PageColumnCount {
                got: selected.len(),
                expected: self.columns.len(),
            });
        }
        let page_columns = page.schema().columns();
        for (index, (&i, column)) in selected.iter().zip(&self.columns).enumerate() {
            let Some(page_column) = page_columns.get(i) else {
                return Err(CopyError::PageColumnIndex {
                    index: i,
                    ncol: page_columns.len(),
                });
            };
            if page_column.spq != column.spq {
                return Err(CopyError::PageColumn {
                    index,
                    page_column: page_column.name.clone(),
                    page_spq: page_column.spq,
                    column: column.name.clone(),
                    expected: column.spq,
                });
            }
        }
        Ok(())
    }

    /// A length-prefixed field of `prefix` then `value`.
    fn put_bytes(
        &self,
        out: &mut BytesMut,
        index: usize,
        row: usize,
        prefix: &[u8],
        value: &[u8],
    ) -> Result<(), CopyError> {
        let len = prefix.len() + value.len();
        if len > MAX_FIELD_BYTES {
            return Err(CopyError::ValueTooLong {
                column: self.columns[index].name.clone(),
                row: self.rows + row as u64,
                len,
            });
        }
        // Cannot truncate: checked against MAX_FIELD_BYTES.
        out.reserve(4 + len);
        out.put_i32(len as i32);
        out.extend_from_slice(prefix);
        out.extend_from_slice(value);
        Ok(())
    }
}

/// At most the first 40 characters of a bad value, for a message.
fn excerpt(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

/// A four-byte field: its length, then its bytes, in one write.
#[inline]
fn put4(out: &mut BytesMut, [a, b, c, d]: [u8; 4]) {
    out.extend_from_slice(&[0, 0, 0, 4, a, b, c, d]);
}

/// An eight-byte field: its length, then its bytes, in one write.
#[inline]
fn put8(out: &mut BytesMut, [a, b, c, d, e, f, g, h]: [u8; 8]) {
    out.extend_from_slice(&[0, 0, 0, 8, a, b, c, d, e, f, g, h]);
}

/// Sign codes of PostgreSQL's binary numeric.
const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;
/// The largest display scale numeric stores (`NUMERIC_DSCALE_MAX`).
const NUMERIC_DSCALE_MAX: i64 = 0x3FFF;

/// Appends numeric text as one binary COPY field (its `int32` length, then what
/// PostgreSQL's `numeric_send` writes: `int16` digit count, weight, sign and display
/// scale, then base-10000 digits), in PostgreSQL's canonical form: no leading or trailing
/// zero digits, zero as no digits with a positive sign, the display scale of the text.
///
/// Accepted, as `numeric_in` accepts them (surrounding whitespace aside):
/// `[+-]digits[.digits][e[+-]digits]` (or `.digits`), `NaN`, and `[+-]Infinity` or
/// `[+-]inf`, any case. On error nothing is written.
pub fn encode_numeric(text: &[u8], out: &mut BytesMut) -> Result<(), NumericError> {
    let t = text.trim_ascii();
    let special = if t.eq_ignore_ascii_case(b"nan") {
        Some(NUMERIC_NAN)
    } else {
        let (negative, word) = match t.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, t),
        };
        (word.eq_ignore_ascii_case(b"infinity") || word.eq_ignore_ascii_case(b"inf"))
            .then_some(if negative { NUMERIC_NINF } else { NUMERIC_PINF })
    };
    if let Some(sign) = special {
        out.put_i32(8);
        out.put_u64(u64::from(sign) << 16);
        return Ok(());
    }

    // Sign, integer digits, fraction digits, exponent.
    let (negative, rest) = match t.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, t),
    };
    let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let int = &rest[..int_len];
    let mut rest = &rest[int_len..];
    let mut frac: &[u8] = &[];
    if let Some((b'.', after)) = rest.split_first() {
        let frac_len = after.iter().take_while(|b| b.is_ascii_digit()).count();
        frac = &after[..frac_len];
        rest = &after[frac_len..];
    }
    if int.is_empty() && frac.is_empty() {
        return Err(NumericError::Syntax);
    }
    let mut exponent: i64 = 0;
    if let Some((b'e' | b'E', after)) = rest.split_first() {
        let (exp_negative, digits) = match after.split_first() {
            Some((b'-', d)) => (true, d),
            Some((b'+', d)) => (false, d),
            _ => (false, after),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(NumericError::Syntax);
        }
        for &d in digits {
            // Saturates far beyond any valid exponent; range is checked below.
            exponent = (exponent * 10 + i64::from(d - b'0')).min(1 << 40);
        }
        if exp_negative {
            exponent = -exponent;
        }
        rest = &[];
    }
    if !rest.is_empty() {
        return Err(NumericError::Syntax);
    }

    let frac_len = frac.len() as i64;
    let dscale = (frac_len - exponent).max(0);
    if dscale > NUMERIC_DSCALE_MAX {
        return Err(NumericError::OutOfRange);
    }
    // The digits as one sequence D (integer then fraction); D[i] counts 10^(point - 1 - i).
    let n = int.len() + frac.len();
    let digit = |i: usize| -> u16 {
        let b = if i < int.len() {
            int[i]
        } else {
            frac[i - int.len()]
        };
        u16::from(b - b'0')
    };
    let Some(first) = (0..n).find(|&i| digit(i) != 0) else {
        // Zero: no digits, positive, with the text's display scale.
        out.put_i32(8);
        out.put_u16(0);
        out.put_u16(0);
        out.put_u16(NUMERIC_POS);
        out.put_u16(dscale as u16);
        return Ok(());
    };
    let last = (first..n).rev().find(|&i| digit(i) != 0).unwrap_or(first);
    let point = int.len() as i64 + exponent;
    let exp_of = |i: usize| point - 1 - i as i64;
    let weight = exp_of(first).div_euclid(4);
    let last_weight = exp_of(last).div_euclid(4);
    let ndigits = weight - last_weight + 1;
    let (Ok(weight16), Ok(ndigits16)) = (i16::try_from(weight), i16::try_from(ndigits)) else {
        return Err(NumericError::OutOfRange);
    };
    out.reserve(12 + 2 * ndigits as usize);
    out.put_i32(8 + 2 * i32::from(ndigits16));
    out.put_i16(ndigits16);
    out.put_i16(weight16);
    out.put_u16(if negative { NUMERIC_NEG } else { NUMERIC_POS });
    out.put_u16(dscale as u16);
    for w in (last_weight..=weight).rev() {
        // The group of 10^(4w+3) .. 10^(4w).
        let mut group = 0u16;
        for e in (4 * w..4 * w + 4).rev() {
            let i = point - 1 - e;
            let d = if i >= first as i64 && i <= last as i64 {
                digit(i as usize)
            } else {
                0
            };
            group = group * 10 + d;
        }
        out.put_u16(group);
    }
    Ok(())
}

/// The columns `$2` of table `$1` (quoted, as `to_regclass` reads it) and their base
/// types (domains resolved, however nested); a row with a NULL name for a table that has
/// none of them, no row for a table that does not exist.
const DESCRIBE_SQL: &str = "\
WITH RECURSIVE rel AS (SELECT to_regclass($1) AS oid), \
cols AS ( \
    SELECT a.attname::text AS name, a.atttypid AS typ, 0 AS depth \
    FROM pg_catalog.pg_attribute a, rel \
    WHERE a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped \
      AND a.attname::text = ANY($2::text[]) \
    UNION ALL \
    SELECT c.name, t.typbasetype, c.depth + 1 \
    FROM cols c JOIN pg_catalog.pg_type t ON t.oid = c.typ \
    WHERE t.typtype = 'd' \
) \
SELECT name, typ, format_type(typ, NULL) FROM ( \
    SELECT DISTINCT ON (name) name, typ FROM cols ORDER BY name, depth DESC \
) base \
UNION ALL \
SELECT NULL, NULL, '' FROM rel WHERE rel.oid IS NOT NULL";

/// The target of a COPY: a table, its columns and their types, looked up once and reused
/// for every batch.
#[derive(Debug, Clone)]
pub struct CopyTarget {
    table: String,
    columns: Vec<(String, PgType)>,
    statement: String,
}

impl CopyTarget {
    /// Looks up the types of `columns` (exact names, as PostgreSQL stores them) of `table`
    /// in the catalog (which needs no privilege on the table; the COPY needs `INSERT`).
    /// A domain is resolved to its base type.
    pub async fn describe(
        client: &impl tokio_postgres::GenericClient,
        table: &QualifiedName,
        columns: &[&str],
    ) -> Result<CopyTarget, CopyError> {
        let table_sql = table.to_string();
        let column_sql = columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = client
            .query(DESCRIBE_SQL, &[&table_sql, &columns])
            .await
            .map_err(|source| CopyError::Describe {
                table: table_sql.clone(),
                columns: column_sql.clone(),
                source,
            })?;
        // (name, table exists, base type oid, its name); one row with a NULL name when
        // the table exists without the columns, none when it does not exist.
        let found: Vec<(Option<String>, u32, String)> = rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, Option<u32>>(1).unwrap_or(0), r.get(2)))
            .collect();
        if found.is_empty() {
            return Err(CopyError::NoTable { table: table_sql });
        }
        let columns = columns
            .iter()
            .map(|&name| {
                let Some((_, oid, type_name)) =
                    found.iter().find(|(n, ..)| n.as_deref() == Some(name))
                else {
                    return Err(CopyError::NoColumn {
                        table: table_sql.clone(),
                        column: name.to_owned(),
                    });
                };
                Type::from_oid(*oid)
                    .as_ref()
                    .and_then(PgType::from_type)
                    .map(|pg| (name.to_owned(), pg))
                    .ok_or_else(|| CopyError::UnsupportedColumnType {
                        table: table_sql.clone(),
                        column: name.to_owned(),
                        type_name: type_name.clone(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let statement = format!("COPY {table_sql} ({column_sql}) FROM STDIN (FORMAT binary)");
        Ok(CopyTarget {
            table: table_sql,
            columns,
            statement,
        })
    }

    /// The quoted table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The columns and their types.
    pub fn columns(&self) -> &[(String, PgType)] {
        &self.columns
    }

    /// The `COPY ... FROM STDIN (FORMAT binary)` statement.
    pub fn statement(&self) -> &str {
        &self.statement
    }

    /// An encoder for pages of `schema` (one page column per target column, in order).
    pub fn encoder(&self, schema: &Schema) -> Result<BinaryCopyEncoder, CopyError> {
        let spq: Vec<SpqType> = schema.columns().iter().map(|c| c.spq).collect();
        self.encoder_for(&spq)
    }

    /// Copies `pages` (all of one schema) into the table within `tx`; returns the row count
    /// the server reports. Nothing is sent when there are no pages. On an error the COPY is
    /// aborted and `tx` must be rolled back.
    pub async fn copy_pages<I>(&self, tx: &Transaction<'_>, pages: I) -> Result<u64, CopyError>
    where
        I: IntoIterator,
        I::Item: Borrow<PageReader>,
    {
        let mut pages = pages.into_iter().peekable();
        let Some(first) = pages.peek() else {
            return Ok(0);
        };
        let encoder = self.encoder(first.borrow().schema())?;
        self.run(tx, encoder, |encoder, buf| {
            pages
                .next()
                .map(|page| encoder.encode_page(page.borrow(), buf).map(drop))
        })
        .await
    }

    /// Copies parts of pages (rows of some of their columns, see
    /// [`BinaryCopyEncoder::encode_rows`]; every part's columns of the same types) into
    /// the table within `tx`, straight from the pages; returns the row count the server
    /// reports. Nothing is sent when there are no parts. On an error the COPY is aborted
    /// and `tx` must be rolled back.
    pub async fn copy_rows<'a, I>(&self, tx: &Transaction<'_>, parts: I) -> Result<u64, CopyError>
    where
        I: IntoIterator<Item = PageRows<'a>>,
    {
        let mut parts = parts.into_iter().peekable();
        let Some(first) = parts.peek() else {
            return Ok(0);
        };
        let schema = first.page.schema();
        let mut columns = Vec::with_capacity(first.columns.len());
        for &i in first.columns {
            let Some(c) = schema.columns().get(i) else {
                return Err(CopyError::PageColumnIndex {
                    index: i,
                    ncol: schema.len(),
                });
            };
            columns.push(c.spq);
        }
        let encoder = self.encoder_for(&columns)?;
        self.run(tx, encoder, |encoder, buf| {
            parts.next().map(|part| {
                encoder
                    .encode_rows(part.page, part.columns, part.rows, buf)
                    .map(drop)
            })
        })
        .await
    }

    /// An encoder for page columns of the types `spq` (one per target column, in order).
    fn encoder_for(&self, spq: &[SpqType]) -> Result<BinaryCopyEncoder, CopyError> {
        if spq.len() != self.columns.len() {
            return Err(CopyError::PageColumnCount {
                got: spq.len(),
                expected: self.columns.len(),
            });
        }
        let columns = self
            .columns
            .iter()
            .zip(spq)
            .map(|((name, pg), &spq)| CopyColumn::new(name.clone(), spq, *pg))
            .collect();
        BinaryCopyEncoder::new(columns)
    }

    /// Runs one COPY: `encode` appends the next part to the buffer (None: no parts left);
    /// full chunks go to the server as they fill, so encoding and sending overlap.
    async fn run<F>(
        &self,
        tx: &Transaction<'_>,
        mut encoder: BinaryCopyEncoder,
        mut encode: F,
    ) -> Result<u64, CopyError>
    where
        F: FnMut(&mut BinaryCopyEncoder, &mut BytesMut) -> Option<Result<(), CopyError>>,
    {
        let copy_error = |source| CopyError::Copy {
            table: self.table.clone(),
            source,
        };
        let sink = tx
            .copy_in::<_, bytes::Bytes>(self.statement.as_str())
            .await
            .map_err(copy_error)?;
        let mut sink = std::pin::pin!(sink);
        let mut buf = BytesMut::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        // An error drops the sink unfinished, which aborts the COPY.
        while let Some(encoded) = encode(&mut encoder, &mut buf) {
            encoded?;
            while buf.len() >= CHUNK_BYTES {
                sink.feed(buf.split_to(CHUNK_BYTES).freeze())
                    .await
                    .map_err(copy_error)?;
            }
        }
        encoder.finish(&mut buf);
        sink.feed(buf.split().freeze()).await.map_err(copy_error)?;
        sink.as_mut().finish().await.map_err(copy_error)
    }
}

/// Rows `rows` of a page's columns `columns` (one per target column, in order): a part
/// of a page for [`CopyTarget::copy_rows`].
#[derive(Debug, Clone)]
pub struct PageRows<'a> {
    pub page: &'a PageReader,
    pub columns: &'a [usize],
    pub rows: Range<usize>,
}

/// Copies `pages` into `columns` (exact names) of `table` within `tx` with binary COPY,
/// looking the column types up first; returns the row count. See
/// [`CopyTarget::copy_pages`], and [`CopyTarget::describe`] to look the table up once for
/// many batches.
pub async fn copy_pages<I>(
    tx: &Transaction<'_>,
    table: &QualifiedName,
    columns: &[&str],
    pages: I,
) -> Result<u64, CopyError>
where
    I: IntoIterator,
    I::Item: Borrow<PageReader>,
{
    CopyTarget::describe(tx, table, columns)
        .await?
        .copy_pages(tx, pages)
        .await
}

#[cfg(test)]
mod tests;
