//! Column pages: a page is one [`XCol`] per column, all with the same `nrow`.
//!
//! [`PageBuilder`] makes pages from typed values pushed row by row and encodes them straight
//! into frames ([`PageBuilder::finish_into_frames`]); [`PageReader`] checks the columns of an
//! incoming page — decoded from frames without copying their values
//! ([`crate::wire::WireXCol`], [`PageReader::from_wire`]), or prost `XCol`s — and lends
//! typed views of its columns.
//!
//! # The rules of a valid `XCol` (checked by [`validate_xcol`] and [`PageReader::new`])
//!
//! For a column of SPQ type `T` (see [`crate::spq`]):
//! 1. `colname` is the column's name, exactly;
//! 2. `nrow` is not negative, and is the same in every column of the page;
//! 3. `nullmap` has exactly `nrow` entries (`true` = NULL);
//! 4. the carrier array of `T` has exactly `nrow` entries, with any placeholder where
//!    `nullmap` is true — or has none at all when every row is NULL;
//! 5. every other carrier array is empty;
//! 6. the non-NULL values are in range for `T`: BOOL is 0 or 1, INT16 fits an `i16`, TIME is
//!    within `0..=`[`MICROS_PER_DAY`]. (Text is not checked for NUL bytes, numeric text not
//!    parsed: that is for whoever turns it into database values.)
//!
//! [`PageBuilder`] always writes the full carrier, placeholders included (zero, empty string,
//! empty bytes), as the public plugins do and expect.
//!
//! ```
//! use bytes::BytesMut;
//! use xdrive_proto::frame::FrameCodec;
//! use xdrive_proto::page::{PageBuilder, PageLimits, PageReader, Value};
//! use xdrive_proto::schema::{Column, Schema};
//! use xdrive_proto::spq::SpqType;
//! use xdrive_proto::wire::WireXCol;
//!
//! let schema = Schema::new(vec![
//!     Column::new("id", SpqType::Int32),
//!     Column::new("name", SpqType::Cstr),
//! ]).unwrap();
//! let mut b = PageBuilder::new(schema.clone(), PageLimits::default());
//! b.push(Value::Int32(1)).unwrap();
//! b.push(Value::Text("one")).unwrap();
//! b.end_row().unwrap();
//! b.push(Value::Int32(2)).unwrap();
//! b.push_null().unwrap();
//! b.end_row().unwrap();
//! // Bare XCols, one frame per column, as a write sends them.
//! let mut wire = BytesMut::new();
//! b.finish_into_frames(&FrameCodec::default(), false, &mut wire).unwrap();
//!
//! let mut decoder = FrameCodec::default();
//! let mut columns = Vec::new();
//! while let Some(frame) = decoder.decode(&mut wire).unwrap() {
//!     columns.push(WireXCol::decode(frame.into_payload()).unwrap());
//! }
//! let page = PageReader::from_wire(&schema, columns).unwrap();
//! assert_eq!(page.nrow(), 2);
//! assert_eq!(page.column(1).get(0), Some(Value::Text("one")));
//! assert_eq!(page.column(1).get(1), None);
//! ```

use bytes::{Bytes, BytesMut};

use crate::frame::{FrameCodec, FrameError};
use crate::message::XCol;
use crate::schema::{Column, Schema};
use crate::spq::{Carrier, MICROS_PER_DAY, SpqType};
use crate::wire::{Span, WireXCol, Writer, varint_len};

/// One value, typed by its SPQ type. Borrowed for text and bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// BOOL.
    Bool(bool),
    /// INT16.
    Int16(i16),
    /// INT32.
    Int32(i32),
    /// INT64.
    Int64(i64),
    /// FLOAT.
    Float(f32),
    /// DOUBLE.
    Double(f64),
    /// BYTEA (our extension).
    Bytea(&'a [u8]),
    /// CSTR.
    Text(&'a str),
    /// DATE: days since 2000-01-01.
    Date(i32),
    /// TIME_MICROS: microseconds since midnight, `0..=MICROS_PER_DAY`.
    Time(i64),
    /// TIMESTAMP_MICROS: microseconds since 2000-01-01 00:00.
    Timestamp(i64),
    /// JSON text.
    Json(&'a str),
    /// NUMERIC as decimal text.
    Numeric(&'a str),
    /// TIMESTAMPTZ_MICROS: microseconds since 2000-01-01 00:00 UTC.
    Timestamptz(i64),
}

impl Value<'_> {
    /// The SPQ type of this value.
    pub fn spq_type(&self) -> SpqType {
        match self {
            Value::Bool(_) => SpqType::Bool,
            Value::Int16(_) => SpqType::Int16,
            Value::Int32(_) => SpqType::Int32,
            Value::Int64(_) => SpqType::Int64,
            Value::Float(_) => SpqType::Float,
            Value::Double(_) => SpqType::Double,
            Value::Bytea(_) => SpqType::Bytea,
            Value::Text(_) => SpqType::Cstr,
            Value::Date(_) => SpqType::Date,
            Value::Time(_) => SpqType::TimeMicros,
            Value::Timestamp(_) => SpqType::TimestampMicros,
            Value::Json(_) => SpqType::Json,
            Value::Numeric(_) => SpqType::Numeric,
            Value::Timestamptz(_) => SpqType::TimestamptzMicros,
        }
    }
}

/// Why a page could not be built or is not valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    /// A pushed value's type is not the column's.
    #[error("row {row}, column \"{column}\": a {got} value was pushed into a {expected} column")]
    TypeMismatch {
        /// Column name.
        column: String,
        /// Row within the page, from 0.
        row: usize,
        /// The column's type.
        expected: SpqType,
        /// The value's type.
        got: SpqType,
    },
    /// More values were pushed than the row has columns.
    #[error("row {row}: a value was pushed after all {ncol} columns had one")]
    TooManyValues {
        /// Row within the page.
        row: usize,
        /// Columns in the schema.
        ncol: usize,
    },
    /// A row was ended before every column had a value.
    #[error("row {row}: ended with values for {got} of {ncol} columns")]
    MissingValues {
        /// Row within the page.
        row: usize,
        /// Values pushed.
        got: usize,
        /// Columns in the schema.
        ncol: usize,
    },
    /// A page was finished in the middle of a row.
    #[error("the page was finished in the middle of row {row} ({got} of {ncol} values pushed)")]
    RowInProgress {
        /// Row within the page.
        row: usize,
        /// Values pushed.
        got: usize,
        /// Columns in the schema.
        ncol: usize,
    },
    /// A page would exceed the `i32` row count `XCol.nrow` can carry.
    #[error("a page cannot hold more than {max} rows")]
    TooManyRows {
        /// The limit.
        max: usize,
    },
    /// An incoming page has the wrong number of columns.
    #[error("the page has {got} columns, expected {expected}")]
    ColumnCount {
        /// Columns expected.
        expected: usize,
        /// Columns received.
        got: usize,
    },
    /// An incoming column has another name than expected.
    #[error("column {index} of the page is named \"{got}\", expected \"{expected}\"")]
    ColumnName {
        /// Position in the page.
        index: usize,
        /// The name expected.
        expected: String,
        /// The name received.
        got: String,
    },
    /// An incoming column has a negative `nrow`.
    #[error("column \"{column}\" has a negative row count ({nrow})")]
    NegativeRowCount {
        /// Column name.
        column: String,
        /// `nrow` as sent.
        nrow: i32,
    },
    /// An incoming column's `nrow` differs from the page's other columns'.
    #[error("column \"{column}\" has {nrow} rows, but the page's first column has {expected}")]
    RowCountMismatch {
        /// Column name.
        column: String,
        /// Its `nrow`.
        nrow: usize,
        /// The first column's `nrow`.
        expected: usize,
    },
    /// An incoming column's `nullmap` does not have `nrow` entries.
    #[error("column \"{column}\" has {len} null flags for {nrow} rows")]
    NullmapLength {
        /// Column name.
        column: String,
        /// `nullmap` entries.
        len: usize,
        /// `nrow`.
        nrow: usize,
    },
    /// An incoming column's carrier does not have `nrow` entries (nor none, all NULL).
    #[error(
        "column \"{column}\" ({spq}) has {len} values in {carrier} for {nrow} rows (expected \
         {nrow}, or 0 when every row is NULL)"
    )]
    CarrierLength {
        /// Column name.
        column: String,
        /// Its type.
        spq: SpqType,
        /// The carrier's field name.
        carrier: &'static str,
        /// Entries in the carrier.
        len: usize,
        /// `nrow`.
        nrow: usize,
    },
    /// An incoming column has values in a carrier its type does not use.
    #[error("column \"{column}\" ({spq}, carried in {expected}) has {len} values in {carrier}")]
    WrongCarrier {
        /// Column name.
        column: String,
        /// Its type.
        spq: SpqType,
        /// The carrier its type uses.
        expected: &'static str,
        /// The carrier that has values.
        carrier: &'static str,
        /// How many.
        len: usize,
    },
    /// An incoming non-NULL value is out of range for its type.
    #[error("column \"{column}\" row {row}: {value} is not a valid {spq} value ({rule})")]
    ValueOutOfRange {
        /// Column name.
        column: String,
        /// Row within the page.
        row: usize,
        /// Its type.
        spq: SpqType,
        /// The value.
        value: i64,
        /// What it must be.
        rule: &'static str,
    },
    /// An incoming text value is not valid UTF-8.
    #[error(
        "column \"{column}\" row {row}: the {spq} value is not valid UTF-8 (invalid byte at \
         offset {valid_up_to})"
    )]
    InvalidText {
        /// Column name.
        column: String,
        /// Row within the page.
        row: usize,
        /// Its type.
        spq: SpqType,
        /// How many bytes of the value are valid.
        valid_up_to: usize,
    },
    /// A column of a page to send does not fit a frame.
    #[error("column \"{column}\" of the page cannot be sent")]
    Frame {
        /// Column name.
        column: String,
        /// The framing error.
        #[source]
        source: FrameError,
    },
}

/// Bounds on the pages a [`PageBuilder`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    /// A page is full at this many rows (capped at `i32::MAX`).
    pub max_rows: usize,
    /// A page is full once its encoded `XCol`s reach this many bytes: the values and null
    /// flags counted exactly as protobuf encodes them, a few bytes of header per column
    /// aside. The last row may overshoot it; keep it well under the frame limit so a page
    /// column always fits one frame.
    pub max_bytes: usize,
}

impl Default for PageLimits {
    /// 4096 rows, 4 MiB.
    fn default() -> Self {
        PageLimits {
            max_rows: 4096,
            max_bytes: 4 * 1024 * 1024,
        }
    }
}

/// The largest `nrow` an `XCol` can carry.
const MAX_NROW: usize = i32::MAX as usize;

/// Builds pages row by row: per row, one [`push`](Self::push) or
/// [`push_null`](Self::push_null) per column in schema order, then
/// [`end_row`](Self::end_row); when [`is_full`](Self::is_full), take the page out: encoded
/// straight into frames with [`finish_into_frames`](Self::finish_into_frames) (the fast
/// path), or as prost `XCol`s with [`finish`](Self::finish). The builder then starts the
/// next page.
///
/// A row that fails half-way (a value that does not parse, say) is dropped with
/// [`abandon_row`](Self::abandon_row).
///
/// Text and bytes values are kept back to back in one buffer per column, with where each
/// ends: pushing a value never allocates on its own, and the buffers are reused from page
/// to page by `finish_into_frames`.
#[derive(Debug)]
pub struct PageBuilder {
    schema: Schema,
    columns: Vec<ColumnBuf>,
    limits: PageLimits,
    nrow: usize,
    /// Values pushed in the row in progress.
    cursor: usize,
    /// Encoded bytes of the page's finished rows (per-column overheads excluded).
    bytes: usize,
    /// Encoded bytes of the row in progress.
    row_bytes: usize,
}

#[derive(Debug)]
struct ColumnBuf {
    nulls: Vec<bool>,
    data: Data,
}

#[derive(Debug)]
enum Data {
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// All values back to back in one string, and where each ends.
    Str {
        arena: String,
        ends: Vec<usize>,
    },
    /// All values back to back in one buffer, and where each ends (a `BytesMut`, so that
    /// [`PageBuilder::finish`] hands out shared slices of it).
    Bin {
        arena: BytesMut,
        ends: Vec<usize>,
    },
}

impl Data {
    fn new(carrier: Carrier) -> Data {
        match carrier {
            Carrier::I32 => Data::I32(Vec::new()),
            Carrier::I64 => Data::I64(Vec::new()),
            Carrier::F32 => Data::F32(Vec::new()),
            Carrier::F64 => Data::F64(Vec::new()),
            Carrier::Str => Data::Str {
                arena: String::new(),
                ends: Vec::new(),
            },
            Carrier::Bin => Data::Bin {
                arena: BytesMut::new(),
                ends: Vec::new(),
            },
        }
    }

    /// Appends a placeholder; returns its encoded length.
    fn push_placeholder(&mut self) -> usize {
        match self {
            Data::I32(v) => v.push(0),
            Data::I64(v) => v.push(0),
            Data::F32(v) => v.push(0.0),
            Data::F64(v) => v.push(0.0),
            Data::Str { arena, ends } => ends.push(arena.len()),
            Data::Bin { arena, ends } => ends.push(arena.len()),
        }
        self.value_len_of_last()
    }

    fn value_len_of_last(&self) -> usize {
        match self {
            Data::I32(v) => v.last().map_or(0, |&x| int32_len(x)),
            Data::I64(v) => v.last().map_or(0, |&x| int64_len(x)),
            Data::F32(_) => 4,
            Data::F64(_) => 8,
            Data::Str { ends, .. } | Data::Bin { ends, .. } => {
                let start = ends.len().checked_sub(2).map_or(0, |i| ends[i]);
                len_delimited(ends.last().map_or(0, |&e| e - start))
            }
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Data::I32(v) => v.truncate(n),
            Data::I64(v) => v.truncate(n),
            Data::F32(v) => v.truncate(n),
            Data::F64(v) => v.truncate(n),
            Data::Str { arena, ends } => {
                ends.truncate(n);
                arena.truncate(ends.last().copied().unwrap_or(0));
            }
            Data::Bin { arena, ends } => {
                ends.truncate(n);
                arena.truncate(ends.last().copied().unwrap_or(0));
            }
        }
    }

    /// Empties the carrier, keeping its capacity.
    fn clear(&mut self) {
        match self {
            Data::I32(v) => v.clear(),
            Data::I64(v) => v.clear(),
            Data::F32(v) => v.clear(),
            Data::F64(v) => v.clear(),
            Data::Str { arena, ends } => {
                arena.clear();
                ends.clear();
            }
            Data::Bin { arena, ends } => {
                arena.clear();
                ends.clear();
            }
        }
    }

    /// The encoded length of the carrier's field(s) in an `XCol`.
    fn encoded_len(&self) -> usize {
        fn packed(content: usize) -> usize {
            if content == 0 {
                0
            } else {
                1 + varint_len(content as u64) + content
            }
        }
        match self {
            Data::I32(v) => packed(v.iter().map(|&x| int32_len(x)).sum()),
            Data::I64(v) => packed(v.iter().map(|&x| int64_len(x)).sum()),
            Data::F32(v) => packed(4 * v.len()),
            Data::F64(v) => packed(8 * v.len()),
            Data::Str { arena, ends } => var_len(arena.len(), ends),
            Data::Bin { arena, ends } => var_len(arena.len(), ends),
        }
    }

    /// Writes the carrier's field(s) of an `XCol`, as prost would.
    fn write(&self, w: &mut Writer<'_>) {
        match self {
            Data::I32(v) if !v.is_empty() => {
                w.key(5, WIRE_LEN);
                w.varint(v.iter().map(|&x| int32_len(x)).sum::<usize>() as u64);
                for &x in v {
                    w.varint(i64::from(x) as u64);
                }
            }
            Data::I64(v) if !v.is_empty() => {
                w.key(6, WIRE_LEN);
                w.varint(v.iter().map(|&x| int64_len(x)).sum::<usize>() as u64);
                for &x in v {
                    w.varint(x as u64);
                }
            }
            Data::F32(v) if !v.is_empty() => {
                w.key(7, WIRE_LEN);
                w.varint(4 * v.len() as u64);
                for &x in v {
                    w.bytes(&x.to_le_bytes());
                }
            }
            Data::F64(v) if !v.is_empty() => {
                w.key(8, WIRE_LEN);
                w.varint(8 * v.len() as u64);
                for &x in v {
                    w.bytes(&x.to_le_bytes());
                }
            }
            Data::Str { arena, ends } => write_var(w, 4, arena.as_bytes(), ends),
            Data::Bin { arena, ends } => write_var(w, 9, arena, ends),
            _ => {}
        }
    }
}

/// The encoded length of a `repeated string`/`bytes` field of values `arena` cut at `ends`.
fn var_len(arena_len: usize, ends: &[usize]) -> usize {
    let mut start = 0;
    let mut headers = 0;
    for &end in ends {
        headers += 1 + varint_len((end - start) as u64);
        start = end;
    }
    headers + arena_len
}

fn write_var(w: &mut Writer<'_>, field: u8, arena: &[u8], ends: &[usize]) {
    let mut start = 0;
    for &end in ends {
        w.key(field, WIRE_LEN);
        w.varint((end - start) as u64);
        w.bytes(&arena[start..end]);
        start = end;
    }
}

/// Wire type 2, length-delimited.
const WIRE_LEN: u8 = 2;
/// Wire type 0, varint.
const WIRE_VARINT: u8 = 0;

impl ColumnBuf {
    /// The encoded length of this column as an `XCol` named `name` with `nrow` rows.
    fn xcol_len(&self, name: &str, nrow: i32) -> usize {
        let mut len = 0;
        if !name.is_empty() {
            len += len_delimited(name.len());
        }
        if nrow != 0 {
            len += 1 + int32_len(nrow);
        }
        if !self.nulls.is_empty() {
            len += len_delimited(self.nulls.len());
        }
        len + self.data.encoded_len()
    }

    /// Writes this column as an `XCol`, field by field in prost's order, skipping fields
    /// that hold their defaults as proto3 does.
    fn write_xcol(&self, name: &str, nrow: i32, w: &mut Writer<'_>) {
        if !name.is_empty() {
            w.key(1, WIRE_LEN);
            w.varint(name.len() as u64);
            w.bytes(name.as_bytes());
        }
        if nrow != 0 {
            w.key(2, WIRE_VARINT);
            w.varint(i64::from(nrow) as u64);
        }
        if !self.nulls.is_empty() {
            w.key(3, WIRE_LEN);
            w.varint(self.nulls.len() as u64);
            w.bools(&self.nulls);
        }
        self.data.write(w);
    }
}

/// Encoded length of an `int32` (negative values take 10 bytes, sign-extended).
fn int32_len(x: i32) -> usize {
    varint_len(i64::from(x) as u64)
}

fn int64_len(x: i64) -> usize {
    varint_len(x as u64)
}

/// Encoded length of one element of a repeated `string`/`bytes`: tag, length, bytes.
fn len_delimited(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

impl PageBuilder {
    /// A builder of pages of `schema`'s columns, full at `limits`.
    pub fn new(schema: Schema, limits: PageLimits) -> Self {
        let columns = schema
            .columns()
            .iter()
            .map(|c| ColumnBuf {
                nulls: Vec::new(),
                data: Data::new(c.spq.carrier()),
            })
            .collect();
        PageBuilder {
            schema,
            columns,
            limits,
            nrow: 0,
            cursor: 0,
            bytes: 0,
            row_bytes: 0,
        }
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The limits.
    pub fn limits(&self) -> PageLimits {
        self.limits
    }

    /// Finished rows in the page.
    pub fn nrow(&self) -> usize {
        self.nrow
    }

    /// Whether the page has no finished rows.
    pub fn is_empty(&self) -> bool {
        self.nrow == 0
    }

    /// Encoded bytes of the page's finished rows (without the few bytes of per-column
    /// header).
    pub fn encoded_bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the page has reached a limit: time to [`finish`](Self::finish) it.
    pub fn is_full(&self) -> bool {
        self.nrow >= self.limits.max_rows.min(MAX_NROW) || self.bytes >= self.limits.max_bytes
    }

    /// Pushes the next column's value in the row in progress.
    pub fn push(&mut self, value: Value<'_>) -> Result<(), PageError> {
        let row = self.nrow;
        let (col, column) = self.next_column()?;
        if value.spq_type() != column.spq {
            return Err(PageError::TypeMismatch {
                column: column.name.clone(),
                row,
                expected: column.spq,
                got: value.spq_type(),
            });
        }
        let len = match (&mut col.data, value) {
            (Data::I32(v), Value::Bool(x)) => push_i32(v, i32::from(x)),
            (Data::I32(v), Value::Int16(x)) => push_i32(v, i32::from(x)),
            (Data::I32(v), Value::Int32(x) | Value::Date(x)) => push_i32(v, x),
            (
                Data::I64(v),
                Value::Int64(x) | Value::Time(x) | Value::Timestamp(x) | Value::Timestamptz(x),
            ) => {
                v.push(x);
                int64_len(x)
            }
            (Data::F32(v), Value::Float(x)) => {
                v.push(x);
                4
            }
            (Data::F64(v), Value::Double(x)) => {
                v.push(x);
                8
            }
            (Data::Str { arena, ends }, Value::Text(s) | Value::Json(s) | Value::Numeric(s)) => {
                arena.push_str(s);
                ends.push(arena.len());
                len_delimited(s.len())
            }
            (Data::Bin { arena, ends }, Value::Bytea(b)) => {
                arena.extend_from_slice(b);
                ends.push(arena.len());
                len_delimited(b.len())
            }
            // The carrier follows from the type, checked above.
            _ => unreachable!("carrier of {} does not match its type", column.spq),
        };
        col.nulls.push(false);
        self.cursor += 1;
        self.row_bytes += len + 1;
        Ok(())
    }

    /// Pushes a NULL for the next column in the row in progress.
    pub fn push_null(&mut self) -> Result<(), PageError> {
        let (col, _) = self.next_column()?;
        let len = col.data.push_placeholder();
        col.nulls.push(true);
        self.cursor += 1;
        self.row_bytes += len + 1;
        Ok(())
    }

    /// Pushes `Some` value or, for `None`, a NULL.
    pub fn push_opt(&mut self, value: Option<Value<'_>>) -> Result<(), PageError> {
        match value {
            Some(v) => self.push(v),
            None => self.push_null(),
        }
    }

    fn next_column(&mut self) -> Result<(&mut ColumnBuf, &Column), PageError> {
        let ncol = self.columns.len();
        if self.cursor >= ncol {
            return Err(PageError::TooManyValues {
                row: self.nrow,
                ncol,
            });
        }
        if self.nrow >= MAX_NROW {
            return Err(PageError::TooManyRows { max: MAX_NROW });
        }
        Ok((
            &mut self.columns[self.cursor],
            self.schema.column(self.cursor),
        ))
    }

    /// Ends the row in progress; every column must have had a value or a NULL.
    pub fn end_row(&mut self) -> Result<(), PageError> {
        let ncol = self.columns.len();
        if self.cursor != ncol {
            return Err(PageError::MissingValues {
                row: self.nrow,
                got: self.cursor,
                ncol,
            });
        }
        if self.nrow >= MAX_NROW {
            return Err(PageError::TooManyRows { max: MAX_NROW });
        }
        self.nrow += 1;
        self.cursor = 0;
        self.bytes = self.bytes.saturating_add(self.row_bytes);
        self.row_bytes = 0;
        Ok(())
    }

    /// Drops the values pushed for the row in progress, if any.
    pub fn abandon_row(&mut self) {
        for col in &mut self.columns[..self.cursor] {
            col.nulls.truncate(self.nrow);
            col.data.truncate(self.nrow);
        }
        self.cursor = 0;
        self.row_bytes = 0;
    }

    fn check_no_row_in_progress(&self) -> Result<(), PageError> {
        if self.cursor != 0 {
            return Err(PageError::RowInProgress {
                row: self.nrow,
                got: self.cursor,
                ncol: self.columns.len(),
            });
        }
        Ok(())
    }

    /// Takes the page out: one `XCol` per column, in schema order (an empty page has
    /// `nrow` 0). The builder starts a new page. Refused in the middle of a row.
    ///
    /// This allocates a `String` per text value; to send a page, prefer
    /// [`finish_into_frames`](Self::finish_into_frames).
    pub fn finish(&mut self) -> Result<Vec<XCol>, PageError> {
        self.check_no_row_in_progress()?;
        // Cannot fail: nrow <= MAX_NROW.
        let nrow = i32::try_from(self.nrow).unwrap_or(i32::MAX);
        let capacity = self.nrow;
        let xcols = self
            .columns
            .iter_mut()
            .zip(self.schema.columns())
            .map(|(col, column)| {
                let mut xcol = XCol {
                    colname: column.name.clone(),
                    nrow,
                    nullmap: std::mem::replace(&mut col.nulls, Vec::with_capacity(capacity)),
                    ..XCol::default()
                };
                match &mut col.data {
                    Data::I32(v) => {
                        xcol.i32data = std::mem::replace(v, Vec::with_capacity(capacity))
                    }
                    Data::I64(v) => {
                        xcol.i64data = std::mem::replace(v, Vec::with_capacity(capacity))
                    }
                    Data::F32(v) => {
                        xcol.f32data = std::mem::replace(v, Vec::with_capacity(capacity))
                    }
                    Data::F64(v) => {
                        xcol.f64data = std::mem::replace(v, Vec::with_capacity(capacity))
                    }
                    Data::Str { arena, ends } => {
                        let mut start = 0;
                        xcol.sdata = ends
                            .iter()
                            .map(|&end| {
                                let s = arena[start..end].to_owned();
                                start = end;
                                s
                            })
                            .collect();
                        arena.clear();
                        ends.clear();
                    }
                    Data::Bin { arena, ends } => {
                        let all: Bytes = arena.split().freeze();
                        let mut start = 0;
                        xcol.bindata = ends
                            .drain(..)
                            .map(|end| {
                                let b = all.slice(start..end);
                                start = end;
                                b
                            })
                            .collect();
                    }
                }
                xcol
            })
            .collect();
        self.nrow = 0;
        self.bytes = 0;
        Ok(xcols)
    }

    /// Takes the page out like [`finish`](Self::finish), but encodes it straight into
    /// frames of `codec` appended to `out`, one per column in schema order: an
    /// `XColDataReply { data: XCol }` when `reply` (a read's page), a bare `XCol` otherwise
    /// (a write's page). The bytes are exactly those prost encodes for `finish`'s `XCol`s,
    /// without building them. Returns the page's row count.
    ///
    /// An empty page writes nothing (a bare `XCol` with `nrow` 0 would end a write).
    /// Refused in the middle of a row (the page stays). When a column does not fit a frame,
    /// nothing is added to `out` and the page is dropped. The builder keeps its buffers for
    /// the next page.
    pub fn finish_into_frames(
        &mut self,
        codec: &FrameCodec,
        reply: bool,
        out: &mut BytesMut,
    ) -> Result<usize, PageError> {
        self.check_no_row_in_progress()?;
        let nrow = self.nrow;
        let written = if nrow == 0 {
            Ok(())
        } else {
            self.encode_frames(codec, reply, out)
        };
        for col in &mut self.columns {
            col.nulls.clear();
            col.data.clear();
        }
        self.nrow = 0;
        self.bytes = 0;
        written.map(|()| nrow)
    }

    fn encode_frames(
        &self,
        codec: &FrameCodec,
        reply: bool,
        out: &mut BytesMut,
    ) -> Result<(), PageError> {
        let mark = out.len();
        // Cannot fail: nrow <= MAX_NROW.
        let nrow = i32::try_from(self.nrow).unwrap_or(i32::MAX);
        for (col, column) in self.columns.iter().zip(self.schema.columns()) {
            let body = col.xcol_len(&column.name, nrow);
            let payload = if reply { len_delimited(body) } else { body };
            let written = codec.encode_with(payload, out, |out| {
                let start = out.len();
                out.resize(start + payload, 0);
                let mut w = Writer::new(&mut out[start..]);
                if reply {
                    // XColDataReply.data, field 3.
                    w.key(3, WIRE_LEN);
                    w.varint(body as u64);
                }
                col.write_xcol(&column.name, nrow, &mut w);
                debug_assert_eq!(w.written(), payload);
            });
            if let Err(source) = written {
                out.truncate(mark);
                return Err(PageError::Frame {
                    column: column.name.clone(),
                    source,
                });
            }
        }
        Ok(())
    }
}

fn push_i32(v: &mut Vec<i32>, x: i32) -> usize {
    v.push(x);
    int32_len(x)
}

/// What the checks of an incoming column look at, from a prost [`XCol`] or a [`WireXCol`].
struct Incoming<'a> {
    colname: &'a [u8],
    nrow: i32,
    nullmap: &'a [bool],
    /// Entries in each carrier, indexed by `Carrier as usize`.
    lens: [usize; 6],
    i32data: &'a [i32],
    i64data: &'a [i64],
}

impl<'a> Incoming<'a> {
    fn of_xcol(x: &'a XCol) -> Self {
        let mut lens = [0; 6];
        lens[Carrier::I32 as usize] = x.i32data.len();
        lens[Carrier::I64 as usize] = x.i64data.len();
        lens[Carrier::F32 as usize] = x.f32data.len();
        lens[Carrier::F64 as usize] = x.f64data.len();
        lens[Carrier::Str as usize] = x.sdata.len();
        lens[Carrier::Bin as usize] = x.bindata.len();
        Incoming {
            colname: x.colname.as_bytes(),
            nrow: x.nrow,
            nullmap: &x.nullmap,
            lens,
            i32data: &x.i32data,
            i64data: &x.i64data,
        }
    }

    fn of_wire(x: &'a WireXCol) -> Self {
        let mut lens = [0; 6];
        lens[Carrier::I32 as usize] = x.i32data.len();
        lens[Carrier::I64 as usize] = x.i64data.len();
        lens[Carrier::F32 as usize] = x.f32data.len();
        lens[Carrier::F64 as usize] = x.f64data.len();
        lens[Carrier::Str as usize] = x.sdata.len();
        lens[Carrier::Bin as usize] = x.bindata.len();
        Incoming {
            colname: x.colname(),
            nrow: x.nrow,
            nullmap: &x.nullmap,
            lens,
            i32data: &x.i32data,
            i64data: &x.i64data,
        }
    }
}

/// Checks one incoming `XCol`, the page's column number `index`, against `column` (rules
/// 1 and 3–6 of the [module docs](self); rule 2's "same in every column" is the caller's)
/// and returns its `nrow`.
pub fn validate_xcol(index: usize, column: &Column, xcol: &XCol) -> Result<usize, PageError> {
    validate(index, column, &Incoming::of_xcol(xcol))
}

fn validate(index: usize, column: &Column, xcol: &Incoming<'_>) -> Result<usize, PageError> {
    let name = || column.name.clone();
    if xcol.colname != column.name.as_bytes() {
        return Err(PageError::ColumnName {
            index,
            expected: name(),
            got: String::from_utf8_lossy(xcol.colname).into_owned(),
        });
    }
    let nrow = usize::try_from(xcol.nrow).map_err(|_| PageError::NegativeRowCount {
        column: name(),
        nrow: xcol.nrow,
    })?;
    if xcol.nullmap.len() != nrow {
        return Err(PageError::NullmapLength {
            column: name(),
            len: xcol.nullmap.len(),
            nrow,
        });
    }
    let spq = column.spq;
    let carrier = spq.carrier();
    for other in Carrier::ALL {
        let len = xcol.lens[other as usize];
        if other == carrier {
            let all_null = len == 0 && xcol.nullmap.iter().all(|&n| n);
            if len != nrow && !all_null {
                return Err(PageError::CarrierLength {
                    column: name(),
                    spq,
                    carrier: carrier.field_name(),
                    len,
                    nrow,
                });
            }
        } else if len != 0 {
            return Err(PageError::WrongCarrier {
                column: name(),
                spq,
                expected: carrier.field_name(),
                carrier: other.field_name(),
                len,
            });
        }
    }
    check_ranges(column, xcol)?;
    Ok(nrow)
}

fn check_ranges(column: &Column, xcol: &Incoming<'_>) -> Result<(), PageError> {
    let out_of_range = |row: usize, value: i64, rule: &'static str| PageError::ValueOutOfRange {
        column: column.name.clone(),
        row,
        spq: column.spq,
        value,
        rule,
    };
    let non_null = xcol.nullmap.iter().map(|&n| !n);
    match column.spq {
        SpqType::Bool => {
            for (row, (&v, ok)) in xcol.i32data.iter().zip(non_null).enumerate() {
                if ok && v != 0 && v != 1 {
                    return Err(out_of_range(row, v.into(), "0 or 1"));
                }
            }
        }
        SpqType::Int16 => {
            for (row, (&v, ok)) in xcol.i32data.iter().zip(non_null).enumerate() {
                if ok && i16::try_from(v).is_err() {
                    return Err(out_of_range(row, v.into(), "-32768 to 32767"));
                }
            }
        }
        SpqType::TimeMicros => {
            for (row, (&v, ok)) in xcol.i64data.iter().zip(non_null).enumerate() {
                if ok && !(0..=MICROS_PER_DAY).contains(&v) {
                    return Err(out_of_range(row, v, "0 to 86400000000 microseconds"));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// One checked column of an incoming page: its null flags and its type's carrier. Text
/// and bytes values are ranges of the frame's payload, shared, not copied.
#[derive(Debug, Clone, PartialEq)]
pub struct PageColumn {
    nulls: Vec<bool>,
    values: Carried,
}

#[derive(Debug, Clone, PartialEq)]
enum Carried {
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// Checked to be UTF-8, value by value.
    Str(Spans),
    Bin(Spans),
}

/// Values as ranges of one shared buffer.
#[derive(Debug, Clone, Default)]
struct Spans {
    buf: Bytes,
    spans: Vec<Span>,
}

impl Spans {
    fn len(&self) -> usize {
        self.spans.len()
    }

    fn get(&self, i: usize) -> &[u8] {
        &self.buf[self.spans[i].range()]
    }

    fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.spans.iter().map(|s| &self.buf[s.range()])
    }

    /// Copies `values` into one buffer.
    fn collect<T: AsRef<[u8]>>(values: &[T]) -> Spans {
        let total = values.iter().map(|v| v.as_ref().len()).sum();
        let mut buf = BytesMut::with_capacity(total);
        let pos = |buf: &BytesMut| {
            u32::try_from(buf.len()).expect("a page column holds less than 4 GiB of values")
        };
        let spans = values
            .iter()
            .map(|v| {
                let start = pos(&buf);
                buf.extend_from_slice(v.as_ref());
                Span {
                    start,
                    end: pos(&buf),
                }
            })
            .collect();
        Spans {
            buf: buf.freeze(),
            spans,
        }
    }
}

/// Equal when the values are, wherever they lie.
impl PartialEq for Spans {
    fn eq(&self, other: &Spans) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl PageColumn {
    /// Checks `xcol`, decoded from the wire as the page's column number `index`, against
    /// `column` (rules 1 and 3–6 of the [module docs](self), and that every text value
    /// is UTF-8) and keeps it, without copying its values. Allocates nothing per value.
    pub fn from_wire(
        index: usize,
        column: &Column,
        xcol: WireXCol,
    ) -> Result<PageColumn, PageError> {
        validate(index, column, &Incoming::of_wire(&xcol))?;
        let WireXCol {
            payload,
            nullmap,
            sdata,
            i32data,
            i64data,
            f32data,
            f64data,
            bindata,
            ..
        } = xcol;
        let values = match column.spq.carrier() {
            Carrier::I32 => Carried::I32(i32data),
            Carrier::I64 => Carried::I64(i64data),
            Carrier::F32 => Carried::F32(f32data),
            Carrier::F64 => Carried::F64(f64data),
            Carrier::Str => {
                for (row, span) in sdata.iter().enumerate() {
                    if let Err(e) = std::str::from_utf8(&payload[span.range()]) {
                        return Err(PageError::InvalidText {
                            column: column.name.clone(),
                            row,
                            spq: column.spq,
                            valid_up_to: e.valid_up_to(),
                        });
                    }
                }
                Carried::Str(Spans {
                    buf: payload,
                    spans: sdata,
                })
            }
            Carrier::Bin => Carried::Bin(Spans {
                buf: payload,
                spans: bindata,
            }),
        };
        Ok(PageColumn {
            nulls: nullmap,
            values,
        })
    }

    /// Checks a prost `XCol` the same way (see [`validate_xcol`]) and keeps it; text and
    /// bytes values are copied into one buffer.
    pub fn from_xcol(index: usize, column: &Column, xcol: XCol) -> Result<PageColumn, PageError> {
        validate_xcol(index, column, &xcol)?;
        Ok(PageColumn::from_checked_xcol(column.spq.carrier(), xcol))
    }

    fn from_checked_xcol(carrier: Carrier, xcol: XCol) -> PageColumn {
        let values = match carrier {
            Carrier::I32 => Carried::I32(xcol.i32data),
            Carrier::I64 => Carried::I64(xcol.i64data),
            Carrier::F32 => Carried::F32(xcol.f32data),
            Carrier::F64 => Carried::F64(xcol.f64data),
            Carrier::Str => Carried::Str(Spans::collect(&xcol.sdata)),
            Carrier::Bin => Carried::Bin(Spans::collect(&xcol.bindata)),
        };
        PageColumn {
            nulls: xcol.nullmap,
            values,
        }
    }

    /// Rows in the column.
    pub fn nrow(&self) -> usize {
        self.nulls.len()
    }

    fn into_xcol(self, name: &str) -> XCol {
        let mut xcol = XCol {
            colname: name.to_owned(),
            nrow: i32::try_from(self.nulls.len()).unwrap_or(i32::MAX),
            nullmap: self.nulls,
            ..XCol::default()
        };
        match self.values {
            Carried::I32(v) => xcol.i32data = v,
            Carried::I64(v) => xcol.i64data = v,
            Carried::F32(v) => xcol.f32data = v,
            Carried::F64(v) => xcol.f64data = v,
            Carried::Str(s) => {
                xcol.sdata = s
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect()
            }
            Carried::Bin(s) => {
                xcol.bindata = s.spans.iter().map(|sp| s.buf.slice(sp.range())).collect()
            }
        }
        xcol
    }
}

/// A checked page: columns that follow the [rules](self) for a schema, read through typed
/// views.
#[derive(Debug, Clone, PartialEq)]
pub struct PageReader {
    schema: Schema,
    columns: Vec<PageColumn>,
    nrow: usize,
}

impl PageReader {
    /// Checks prost `xcols` against `schema` (one per column, in order) and wraps them. The
    /// check costs a pass over the null flags, and over the values of BOOL, INT16 and TIME
    /// columns. Text and bytes values are copied into one buffer per column; pages from the
    /// wire are better read with [`from_wire`](Self::from_wire).
    pub fn new(schema: &Schema, xcols: Vec<XCol>) -> Result<PageReader, PageError> {
        if xcols.len() != schema.len() {
            return Err(PageError::ColumnCount {
                expected: schema.len(),
                got: xcols.len(),
            });
        }
        let mut page_nrow = None;
        for (index, (column, xcol)) in schema.columns().iter().zip(&xcols).enumerate() {
            let nrow = validate_xcol(index, column, xcol)?;
            check_same_nrow(&mut page_nrow, column, nrow)?;
        }
        let columns = schema
            .columns()
            .iter()
            .zip(xcols)
            .map(|(column, xcol)| PageColumn::from_checked_xcol(column.spq.carrier(), xcol))
            .collect();
        Ok(PageReader {
            schema: schema.clone(),
            columns,
            nrow: page_nrow.unwrap_or(0),
        })
    }

    /// Checks columns decoded from the wire against `schema` (one per column, in order)
    /// and wraps them without copying their values (see [`PageColumn::from_wire`]).
    pub fn from_wire(schema: &Schema, xcols: Vec<WireXCol>) -> Result<PageReader, PageError> {
        if xcols.len() != schema.len() {
            return Err(PageError::ColumnCount {
                expected: schema.len(),
                got: xcols.len(),
            });
        }
        let columns = schema
            .columns()
            .iter()
            .zip(xcols)
            .enumerate()
            .map(|(index, (column, xcol))| PageColumn::from_wire(index, column, xcol))
            .collect::<Result<Vec<_>, _>>()?;
        PageReader::from_columns(schema, columns)
    }

    /// Wraps columns checked one by one against `schema`'s columns; checks their count and
    /// that they have the same number of rows.
    pub fn from_columns(
        schema: &Schema,
        columns: Vec<PageColumn>,
    ) -> Result<PageReader, PageError> {
        if columns.len() != schema.len() {
            return Err(PageError::ColumnCount {
                expected: schema.len(),
                got: columns.len(),
            });
        }
        let mut page_nrow = None;
        for (column, col) in schema.columns().iter().zip(&columns) {
            check_same_nrow(&mut page_nrow, column, col.nrow())?;
        }
        Ok(PageReader {
            schema: schema.clone(),
            columns,
            nrow: page_nrow.unwrap_or(0),
        })
    }

    /// Wraps `xcols` that were checked one by one with [`validate_xcol`] against `schema`'s
    /// columns, with `nrow` rows each; only the count and the row counts are checked again.
    pub fn from_validated(
        schema: &Schema,
        xcols: Vec<XCol>,
        nrow: usize,
    ) -> Result<PageReader, PageError> {
        if xcols.len() != schema.len() {
            return Err(PageError::ColumnCount {
                expected: schema.len(),
                got: xcols.len(),
            });
        }
        for (column, xcol) in schema.columns().iter().zip(&xcols) {
            if xcol.nullmap.len() != nrow {
                return Err(PageError::RowCountMismatch {
                    column: column.name.clone(),
                    nrow: xcol.nullmap.len(),
                    expected: nrow,
                });
            }
        }
        let columns = schema
            .columns()
            .iter()
            .zip(xcols)
            .map(|(column, xcol)| PageColumn::from_checked_xcol(column.spq.carrier(), xcol))
            .collect();
        Ok(PageReader {
            schema: schema.clone(),
            columns,
            nrow,
        })
    }

    /// Rows in the page.
    pub fn nrow(&self) -> usize {
        self.nrow
    }

    /// Columns in the page.
    pub fn ncol(&self) -> usize {
        self.columns.len()
    }

    /// The page's schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// A view of column `i`. Panics if `i >= self.ncol()`, like slice indexing.
    pub fn column(&self, i: usize) -> ColumnView<'_> {
        let column = self.schema.column(i);
        let col = &self.columns[i];
        let values = match &col.values {
            Carried::I32(v) => Values::I32(v),
            Carried::I64(v) => Values::I64(v),
            Carried::F32(v) => Values::F32(v),
            Carried::F64(v) => Values::F64(v),
            Carried::Str(s) => Values::Str(TextValues(s)),
            Carried::Bin(s) => Values::Bin(BinValues(s)),
        };
        ColumnView {
            column,
            nulls: &col.nulls,
            values,
        }
    }

    /// Views of every column, in order.
    pub fn columns(&self) -> impl ExactSizeIterator<Item = ColumnView<'_>> {
        (0..self.ncol()).map(|i| self.column(i))
    }

    /// The page as prost `XCol`s (allocating a `String` per text value).
    pub fn into_xcols(self) -> Vec<XCol> {
        self.columns
            .into_iter()
            .zip(self.schema.columns())
            .map(|(col, column)| col.into_xcol(&column.name))
            .collect()
    }
}

/// Records the first column's row count in `page_nrow`, or checks `nrow` against it.
fn check_same_nrow(
    page_nrow: &mut Option<usize>,
    column: &Column,
    nrow: usize,
) -> Result<(), PageError> {
    match *page_nrow {
        None => *page_nrow = Some(nrow),
        Some(expected) if expected != nrow => {
            return Err(PageError::RowCountMismatch {
                column: column.name.clone(),
                nrow,
                expected,
            });
        }
        Some(_) => {}
    }
    Ok(())
}

/// A column's carrier array, borrowed. It has `nrow` entries, or none when every row is
/// NULL; entries at NULL rows are placeholders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Values<'a> {
    /// `i32data`: BOOL (0/1), INT16, INT32, DATE.
    I32(&'a [i32]),
    /// `i64data`: INT64, TIME_MICROS, TIMESTAMP_MICROS, TIMESTAMPTZ_MICROS.
    I64(&'a [i64]),
    /// `f32data`: FLOAT.
    F32(&'a [f32]),
    /// `f64data`: DOUBLE.
    F64(&'a [f64]),
    /// `sdata`: CSTR, JSON, NUMERIC.
    Str(TextValues<'a>),
    /// `bindata`: BYTEA.
    Bin(BinValues<'a>),
}

/// A text carrier (`sdata`), borrowed: values checked to be UTF-8 when the page was read.
#[derive(Clone, Copy, PartialEq)]
pub struct TextValues<'a>(&'a Spans);

impl<'a> TextValues<'a> {
    /// Entries (`nrow`, or 0 when every row is NULL).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Entry `i`. Panics if `i >= self.len()`.
    ///
    /// Safe Rust turns bytes into a `&str` only by checking them, so this checks the
    /// value's UTF-8 again (it was checked when the page was read, and cannot fail);
    /// [`get_bytes`](Self::get_bytes) does not.
    pub fn get(&self, i: usize) -> &'a str {
        std::str::from_utf8(self.0.get(i)).expect("text is checked when the page is read")
    }

    /// Entry `i`'s UTF-8 bytes, as they came on the wire. Panics if `i >= self.len()`.
    pub fn get_bytes(&self, i: usize) -> &'a [u8] {
        self.0.get(i)
    }

    /// Every entry.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let spans = self.0;
        (0..spans.len()).map(move |i| TextValues(spans).get(i))
    }
}

impl std::fmt::Debug for TextValues<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A bytes carrier (`bindata`), borrowed.
#[derive(Clone, Copy, PartialEq)]
pub struct BinValues<'a>(&'a Spans);

impl<'a> BinValues<'a> {
    /// Entries (`nrow`, or 0 when every row is NULL).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Entry `i`. Panics if `i >= self.len()`.
    pub fn get(&self, i: usize) -> &'a [u8] {
        self.0.get(i)
    }

    /// Entry `i` as a [`Bytes`] sharing the frame's memory (no copy). Panics if
    /// `i >= self.len()`.
    pub fn get_shared(&self, i: usize) -> Bytes {
        self.0.buf.slice(self.0.spans[i].range())
    }

    /// Every entry.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        self.0.iter()
    }
}

impl std::fmt::Debug for BinValues<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A borrowed, checked column of a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnView<'a> {
    column: &'a Column,
    nulls: &'a [bool],
    values: Values<'a>,
}

impl<'a> ColumnView<'a> {
    /// The column's name.
    pub fn name(&self) -> &'a str {
        &self.column.name
    }

    /// The column's type.
    pub fn spq_type(&self) -> SpqType {
        self.column.spq
    }

    /// Rows in the page.
    pub fn len(&self) -> usize {
        self.nulls.len()
    }

    /// Whether the page has no rows.
    pub fn is_empty(&self) -> bool {
        self.nulls.is_empty()
    }

    /// Per row: whether it is NULL.
    pub fn nulls(&self) -> &'a [bool] {
        self.nulls
    }

    /// Whether row `row` is NULL. Panics if `row >= self.len()`.
    pub fn is_null(&self, row: usize) -> bool {
        self.nulls[row]
    }

    /// The carrier array.
    pub fn values(&self) -> Values<'a> {
        self.values
    }

    /// The value at `row`, typed, or `None` for NULL. Panics if `row >= self.len()`.
    pub fn get(&self, row: usize) -> Option<Value<'a>> {
        if self.nulls[row] {
            return None;
        }
        // A non-NULL row has a value: the carrier is empty only when every row is NULL.
        Some(match (self.column.spq, self.values) {
            (SpqType::Bool, Values::I32(v)) => Value::Bool(v[row] != 0),
            // Checked to fit when the page was read.
            (SpqType::Int16, Values::I32(v)) => Value::Int16(v[row] as i16),
            (SpqType::Int32, Values::I32(v)) => Value::Int32(v[row]),
            (SpqType::Date, Values::I32(v)) => Value::Date(v[row]),
            (SpqType::Int64, Values::I64(v)) => Value::Int64(v[row]),
            (SpqType::TimeMicros, Values::I64(v)) => Value::Time(v[row]),
            (SpqType::TimestampMicros, Values::I64(v)) => Value::Timestamp(v[row]),
            (SpqType::TimestamptzMicros, Values::I64(v)) => Value::Timestamptz(v[row]),
            (SpqType::Float, Values::F32(v)) => Value::Float(v[row]),
            (SpqType::Double, Values::F64(v)) => Value::Double(v[row]),
            (SpqType::Cstr, Values::Str(v)) => Value::Text(v.get(row)),
            (SpqType::Json, Values::Str(v)) => Value::Json(v.get(row)),
            (SpqType::Numeric, Values::Str(v)) => Value::Numeric(v.get(row)),
            (SpqType::Bytea, Values::Bin(v)) => Value::Bytea(v.get(row)),
            (spq, _) => unreachable!("carrier of {spq} does not match its type"),
        })
    }

    /// The bytes of the text or BYTEA value at `row` (text as UTF-8, checked when the page
    /// was read: unlike [`get`](Self::get), this does not check it again), or `None` for
    /// NULL and for columns of other types. Panics if `row >= self.len()`.
    pub fn get_bytes(&self, row: usize) -> Option<&'a [u8]> {
        if self.nulls[row] {
            return None;
        }
        match self.values {
            Values::Str(v) => Some(v.get_bytes(row)),
            Values::Bin(v) => Some(v.get(row)),
            _ => None,
        }
    }

    /// Every row's value or `None` for NULL.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<Value<'a>>> + '_ {
        (0..self.len()).map(|row| self.get(row))
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use proptest::prelude::*;
    use prost::Message;

    use super::*;
    use crate::message::{self, XColDataReply};
    use crate::testing::{self, Owned};
    use crate::wire;

    fn schema(cols: &[(&str, SpqType)]) -> Schema {
        Schema::new(cols.iter().map(|&(n, t)| Column::new(n, t)).collect()).unwrap()
    }

    fn xcol(name: &str, nrow: i32, nullmap: Vec<bool>) -> XCol {
        XCol {
            colname: name.into(),
            nrow,
            nullmap,
            ..XCol::default()
        }
    }

    #[test]
    fn builder_errors_name_column_and_row() {
        let s = schema(&[("a", SpqType::Int32), ("b", SpqType::Json)]);
        let mut b = PageBuilder::new(s, PageLimits::default());
        b.push(Value::Int32(1)).unwrap();
        b.push(Value::Json("{}")).unwrap();
        b.end_row().unwrap();
        b.push(Value::Int32(2)).unwrap();
        let err = b.push(Value::Text("{}")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 1, column \"b\": a CSTR value was pushed into a JSON column"
        );
        b.push_null().unwrap();
        assert_eq!(
            b.push(Value::Int32(3)).unwrap_err(),
            PageError::TooManyValues { row: 1, ncol: 2 }
        );
        b.end_row().unwrap();
        b.push(Value::Int32(3)).unwrap();
        assert_eq!(
            b.end_row().unwrap_err(),
            PageError::MissingValues {
                row: 2,
                got: 1,
                ncol: 2
            }
        );
        assert!(matches!(
            b.finish(),
            Err(PageError::RowInProgress { row: 2, .. })
        ));
        b.abandon_row();
        let cols = b.finish().unwrap();
        assert_eq!(cols[0].i32data, [1, 2]);
        assert_eq!(cols[1].sdata, ["{}", ""]);
        assert_eq!(cols[1].nullmap, [false, true]);
        assert!(b.is_empty());
    }

    #[test]
    fn abandon_row_rolls_back_every_carrier() {
        let s = schema(&[
            ("b", SpqType::Bytea),
            ("t", SpqType::Cstr),
            ("f", SpqType::Double),
        ]);
        let mut b = PageBuilder::new(s.clone(), PageLimits::default());
        b.push(Value::Bytea(b"keep")).unwrap();
        b.push(Value::Text("keep")).unwrap();
        b.push(Value::Double(1.5)).unwrap();
        b.end_row().unwrap();
        let bytes = b.encoded_bytes();
        b.push(Value::Bytea(b"drop me")).unwrap();
        b.push(Value::Text("drop")).unwrap();
        b.abandon_row();
        assert_eq!(b.encoded_bytes(), bytes);
        b.push_null().unwrap();
        b.push(Value::Text("second")).unwrap();
        b.push_null().unwrap();
        b.end_row().unwrap();
        let page = PageReader::new(&s, b.finish().unwrap()).unwrap();
        assert_eq!(page.nrow(), 2);
        let col = page.column(0);
        assert_eq!(col.get(0), Some(Value::Bytea(b"keep")));
        assert_eq!(col.get(1), None);
        assert_eq!(page.column(1).get(1), Some(Value::Text("second")));
    }

    #[test]
    fn full_by_rows_and_by_bytes() {
        let s = schema(&[("t", SpqType::Cstr)]);
        let mut b = PageBuilder::new(
            s.clone(),
            PageLimits {
                max_rows: 3,
                max_bytes: usize::MAX,
            },
        );
        for _ in 0..3 {
            assert!(!b.is_full());
            b.push(Value::Text("x")).unwrap();
            b.end_row().unwrap();
        }
        assert!(b.is_full());
        assert_eq!(b.finish().unwrap()[0].nrow, 3);
        assert!(!b.is_full());

        let mut b = PageBuilder::new(
            s,
            PageLimits {
                max_rows: usize::MAX,
                max_bytes: 100,
            },
        );
        let v = "y".repeat(40);
        b.push(Value::Text(&v)).unwrap();
        b.end_row().unwrap();
        assert!(!b.is_full());
        b.push(Value::Text(&v)).unwrap();
        b.end_row().unwrap();
        assert!(!b.is_full()); // 2 * (1 null flag + 1 tag + 1 length + 40) = 86
        b.push(Value::Text(&v)).unwrap();
        b.end_row().unwrap();
        assert!(b.is_full());
    }

    #[test]
    fn reader_accepts_an_absent_carrier_when_all_null() {
        let s = schema(&[("t", SpqType::Cstr), ("i", SpqType::Int64)]);
        let cols = vec![
            xcol("t", 2, vec![true, true]),
            XCol {
                i64data: vec![0, 7],
                ..xcol("i", 2, vec![true, false])
            },
        ];
        let page = PageReader::new(&s, cols).unwrap();
        assert!(matches!(page.column(0).values(), Values::Str(t) if t.is_empty()));
        assert_eq!(page.column(0).iter().collect::<Vec<_>>(), [None, None]);
        assert_eq!(page.column(1).get(1), Some(Value::Int64(7)));

        // Not when a row is not NULL.
        let cols = vec![
            xcol("t", 2, vec![true, false]),
            xcol("i", 2, vec![true, true]),
        ];
        assert_eq!(
            PageReader::new(&s, cols).unwrap_err().to_string(),
            "column \"t\" (CSTR) has 0 values in sdata for 2 rows (expected 2, or 0 when every \
             row is NULL)"
        );
    }

    #[test]
    fn reader_rejects_wrong_carriers_and_lengths() {
        let s = schema(&[("d", SpqType::Date)]);
        let wrong = XCol {
            i64data: vec![1],
            i32data: vec![1],
            ..xcol("d", 1, vec![false])
        };
        assert_eq!(
            PageReader::new(&s, vec![wrong]).unwrap_err().to_string(),
            "column \"d\" (DATE, carried in i32data) has 1 values in i64data"
        );
        let long = XCol {
            i32data: vec![1, 2],
            ..xcol("d", 1, vec![false])
        };
        assert!(matches!(
            PageReader::new(&s, vec![long]),
            Err(PageError::CarrierLength {
                len: 2,
                nrow: 1,
                ..
            })
        ));
        let short_nullmap = XCol {
            i32data: vec![1, 2],
            ..xcol("d", 2, vec![false])
        };
        assert!(matches!(
            PageReader::new(&s, vec![short_nullmap]),
            Err(PageError::NullmapLength {
                len: 1,
                nrow: 2,
                ..
            })
        ));
        assert!(matches!(
            PageReader::new(&s, vec![]),
            Err(PageError::ColumnCount {
                expected: 1,
                got: 0
            })
        ));
    }

    #[test]
    fn reader_rejects_hostile_counts_without_allocating() {
        let s = schema(&[("a", SpqType::Int32), ("b", SpqType::Int32)]);
        let huge = XCol {
            i32data: vec![1],
            ..xcol("a", i32::MAX, vec![false])
        };
        assert!(matches!(
            PageReader::new(&s, vec![huge.clone(), huge]),
            Err(PageError::NullmapLength { .. })
        ));
        let neg = xcol("a", i32::MIN, vec![]);
        assert_eq!(
            PageReader::new(&s, vec![neg, xcol("b", 0, vec![])])
                .unwrap_err()
                .to_string(),
            "column \"a\" has a negative row count (-2147483648)"
        );
        let a = XCol {
            i32data: vec![1, 2],
            ..xcol("a", 2, vec![false, false])
        };
        let b = XCol {
            i32data: vec![1],
            ..xcol("b", 1, vec![false])
        };
        assert_eq!(
            PageReader::new(&s, vec![a, b]).unwrap_err().to_string(),
            "column \"b\" has 1 rows, but the page's first column has 2"
        );
    }

    #[test]
    fn reader_checks_value_ranges_of_non_null_rows() {
        let cases = [
            (SpqType::Bool, 2i64, "0 or 1"),
            (SpqType::Int16, 40_000, "-32768 to 32767"),
            (SpqType::TimeMicros, -1, "0 to 86400000000 microseconds"),
            (
                SpqType::TimeMicros,
                MICROS_PER_DAY + 1,
                "0 to 86400000000 microseconds",
            ),
        ];
        for (t, bad, rule) in cases {
            let s = schema(&[("c", t)]);
            let mut col = xcol("c", 3, vec![false, true, false]);
            match t.carrier() {
                Carrier::I32 => col.i32data = vec![0, bad as i32, bad as i32],
                _ => col.i64data = vec![0, bad, bad],
            }
            let err = PageReader::new(&s, vec![col]).unwrap_err();
            assert_eq!(
                err,
                PageError::ValueOutOfRange {
                    column: "c".into(),
                    row: 2,
                    spq: t,
                    value: bad,
                    rule
                }
            );
            assert!(err.to_string().starts_with("column \"c\" row 2: "), "{err}");
        }
    }

    #[test]
    fn bindata_shares_one_buffer() {
        let s = schema(&[("b", SpqType::Bytea)]);
        let mut b = PageBuilder::new(s, PageLimits::default());
        for v in [&b"ab"[..], b"", b"cde"] {
            b.push(Value::Bytea(v)).unwrap();
            b.end_row().unwrap();
        }
        let cols = b.finish().unwrap();
        assert_eq!(cols[0].bindata, [&b"ab"[..], b"", b"cde"]);
        assert_eq!(
            cols[0].bindata[2].as_ptr(),
            cols[0].bindata[0].as_ptr().wrapping_add(2)
        );
    }

    /// Builds pages of `rows`, sends them through frames as read replies, reads them back.
    fn round_trip(
        schema: &Schema,
        rows: &[Vec<Option<Owned>>],
        limits: PageLimits,
    ) -> Result<(), TestCaseError> {
        let mut b = PageBuilder::new(schema.clone(), limits);
        let mut pages = Vec::new();
        let mut page_rows = Vec::new();
        let mut start = 0;
        for (i, row) in rows.iter().enumerate() {
            for v in row {
                b.push_opt(v.as_ref().map(Owned::as_value)).unwrap();
            }
            b.end_row().unwrap();
            if b.is_full() {
                pages.push((b.encoded_bytes(), b.finish().unwrap()));
                page_rows.push(start..i + 1);
                start = i + 1;
            }
        }
        pages.push((b.encoded_bytes(), b.finish().unwrap()));
        page_rows.push(start..rows.len());

        let codec = FrameCodec::default();
        for ((estimate, xcols), range) in pages.into_iter().zip(page_rows) {
            prop_assert!(range.len() <= limits.max_rows.max(1));
            // The builder's byte count is exact but for per-column headers.
            let actual: usize = xcols.iter().map(Message::encoded_len).sum();
            prop_assert!(estimate <= actual, "{estimate} > {actual}");
            prop_assert!(
                actual - estimate <= xcols.len() * 48,
                "{estimate} vs {actual}"
            );

            let mut wire = BytesMut::new();
            for x in &xcols {
                message::encode_xcol_reply(&codec, x, &mut wire).unwrap();
            }
            let mut decoder = FrameCodec::default();
            let mut back = Vec::new();
            while let Some(frame) = decoder.decode(&mut wire).unwrap() {
                let reply: XColDataReply = message::decode(frame).unwrap();
                back.push(reply.data.unwrap_or_default());
            }
            prop_assert_eq!(&back, &xcols);
            let page = PageReader::new(schema, back).unwrap();
            prop_assert_eq!(page.nrow(), range.len());
            for (c, view) in page.columns().enumerate() {
                prop_assert_eq!(view.len(), range.len());
                for (r, got) in view.iter().enumerate() {
                    let want = rows[range.start + r][c].as_ref().map(Owned::as_value);
                    prop_assert_eq!(got, want, "column {} row {}", c, r);
                }
            }
        }
        Ok(())
    }

    fn fill(b: &mut PageBuilder, rows: &[Vec<Option<Owned>>]) {
        for row in rows {
            for v in row {
                b.push_opt(v.as_ref().map(Owned::as_value)).unwrap();
            }
            b.end_row().unwrap();
        }
    }

    /// Splits `wire` into frame payloads.
    fn payloads(mut wire: BytesMut) -> Vec<Bytes> {
        let mut codec = FrameCodec::default();
        let mut out = Vec::new();
        while let Some(frame) = codec.decode(&mut wire).unwrap() {
            out.push(frame.into_payload());
        }
        assert!(wire.is_empty());
        out
    }

    /// One page of `rows`, built three times by one builder: as prost `XCol`s, and straight
    /// into read-reply and write frames; these must be prost's bytes, and decode back to
    /// the same page without prost.
    fn direct_and_borrowed(
        schema: &Schema,
        rows: &[Vec<Option<Owned>>],
    ) -> Result<(), TestCaseError> {
        let codec = FrameCodec::default();
        let unlimited = PageLimits {
            max_rows: usize::MAX,
            max_bytes: usize::MAX,
        };
        let mut b = PageBuilder::new(schema.clone(), unlimited);
        fill(&mut b, rows);
        let xcols = b.finish().unwrap();
        let (mut prost_replies, mut prost_bare) = (BytesMut::new(), BytesMut::new());
        for x in &xcols {
            codec
                .encode_message(&XColDataReply::page(x.clone()), &mut prost_replies)
                .unwrap();
            codec.encode_message(x, &mut prost_bare).unwrap();
        }
        for reply in [true, false] {
            // Twice, so the second page reuses the builder's buffers.
            for _ in 0..2 {
                fill(&mut b, rows);
                let mut direct = BytesMut::from(&b"prefix"[..]);
                let nrow = b.finish_into_frames(&codec, reply, &mut direct).unwrap();
                prop_assert_eq!(nrow, rows.len());
                prop_assert!(b.is_empty());
                let direct = direct.split_off(6);
                if rows.is_empty() {
                    prop_assert!(direct.is_empty());
                } else if reply {
                    prop_assert_eq!(&direct, &prost_replies);
                } else {
                    prop_assert_eq!(&direct, &prost_bare);
                }
            }
        }

        let want = PageReader::new(schema, xcols).unwrap();
        let from_replies = payloads(prost_replies)
            .into_iter()
            .map(|p| wire::decode_xcol_reply(p).unwrap().data.unwrap())
            .collect();
        let from_bare = payloads(prost_bare)
            .into_iter()
            .map(|p| WireXCol::decode(p).unwrap())
            .collect();
        for cols in [from_replies, from_bare] {
            let page = PageReader::from_wire(schema, cols).unwrap();
            prop_assert_eq!(&page, &want);
            prop_assert_eq!(page.nrow(), rows.len());
            for (c, view) in page.columns().enumerate() {
                for (r, got) in view.iter().enumerate() {
                    let want = rows[r][c].as_ref().map(Owned::as_value);
                    prop_assert_eq!(got, want, "column {} row {}", c, r);
                    let bytes = match want {
                        Some(Value::Text(s) | Value::Json(s) | Value::Numeric(s)) => {
                            Some(s.as_bytes())
                        }
                        Some(Value::Bytea(b)) => Some(b),
                        _ => None,
                    };
                    prop_assert_eq!(view.get_bytes(r), bytes);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn wire_pages_are_checked_like_prost_ones() {
        let s = schema(&[("a", SpqType::Int32)]);
        // nrow = i32::MAX with one null flag and one value.
        let raw = [
            0x0a, 1, b'a', 0x10, 0xff, 0xff, 0xff, 0xff, 0x07, 0x1a, 1, 0, 0x2a, 1, 5,
        ];
        let col = WireXCol::decode(Bytes::copy_from_slice(&raw)).unwrap();
        assert_eq!(
            PageReader::from_wire(&s, vec![col]).unwrap_err(),
            PageError::NullmapLength {
                column: "a".into(),
                len: 1,
                nrow: i32::MAX as usize
            }
        );
        // A wrong name, and a missing column.
        let col = WireXCol::decode(
            XCol {
                colname: "b".into(),
                ..XCol::default()
            }
            .encode_to_vec()
            .into(),
        )
        .unwrap();
        assert_eq!(
            PageReader::from_wire(&s, vec![col])
                .unwrap_err()
                .to_string(),
            "column 0 of the page is named \"b\", expected \"a\""
        );
        assert!(matches!(
            PageReader::from_wire(&s, vec![]),
            Err(PageError::ColumnCount {
                expected: 1,
                got: 0
            })
        ));

        // An all-NULL text column may leave its carrier out.
        let s = schema(&[("t", SpqType::Cstr)]);
        let raw = xcol("t", 2, vec![true, true]).encode_to_vec();
        let page = PageReader::from_wire(&s, vec![WireXCol::decode(raw.into()).unwrap()]).unwrap();
        assert_eq!(page.column(0).iter().collect::<Vec<_>>(), [None, None]);
    }

    #[test]
    fn invalid_utf8_names_column_and_row() {
        let s = schema(&[("n", SpqType::Int32), ("t", SpqType::Json)]);
        let t = XCol {
            sdata: vec!["{}".into(), "@@".into()],
            ..xcol("t", 2, vec![false, true])
        };
        let mut raw = t.encode_to_vec();
        let at = raw.windows(2).position(|w| w == b"@@").unwrap();
        raw[at..at + 2].copy_from_slice(&[b'x', 0xff]);
        let n = XCol {
            i32data: vec![1, 2],
            ..xcol("n", 2, vec![false, false])
        };
        let cols = vec![
            WireXCol::decode(n.encode_to_vec().into()).unwrap(),
            WireXCol::decode(raw.into()).unwrap(),
        ];
        let err = PageReader::from_wire(&s, cols).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column \"t\" row 1: the JSON value is not valid UTF-8 (invalid byte at offset 1)"
        );
    }

    #[test]
    fn a_column_too_large_for_a_frame_is_an_error_and_sends_nothing() {
        let s = schema(&[("n", SpqType::Int32), ("t", SpqType::Cstr)]);
        let mut b = PageBuilder::new(s, PageLimits::default());
        b.push(Value::Int32(1)).unwrap();
        b.push(Value::Text("a value longer than the frame limit"))
            .unwrap();
        b.end_row().unwrap();
        b.push(Value::Int32(2)).unwrap();
        // Not in the middle of a row.
        let codec = FrameCodec::new(20);
        let mut out = BytesMut::from(&b"before"[..]);
        assert!(matches!(
            b.finish_into_frames(&codec, true, &mut out),
            Err(PageError::RowInProgress { row: 1, .. })
        ));
        b.abandon_row();
        let err = b.finish_into_frames(&codec, true, &mut out).unwrap_err();
        assert!(
            matches!(&err, PageError::Frame { column, .. } if column == "t"),
            "{err}"
        );
        assert_eq!(&out[..], b"before");
        assert!(b.is_empty());
    }

    proptest! {
        #![proptest_config(testing::config(256))]

        #[test]
        fn direct_encoding_is_prosts_and_borrowed_decoding_reads_it_back(
            (schema, rows) in testing::table(40),
        ) {
            direct_and_borrowed(&schema, &rows)?;
        }

        #[test]
        fn wire_reader_never_panics(
            types in prop::collection::vec(testing::spq_type(), 0..4),
            xcols in prop::collection::vec(testing::xcol(), 0..4),
        ) {
            let schema = Schema::new(
                types.iter().enumerate().map(|(i, &t)| Column::new(format!("c{i}"), t)).collect(),
            ).unwrap();
            let wire = xcols
                .iter()
                .map(|x| WireXCol::decode(x.encode_to_vec().into()).unwrap())
                .collect();
            let prost = PageReader::new(&schema, xcols);
            match PageReader::from_wire(&schema, wire) {
                Ok(page) => {
                    prop_assert_eq!(Ok(&page), prost.as_ref());
                    for view in page.columns() {
                        prop_assert_eq!(view.len(), page.nrow());
                        let _ = view.iter().count();
                    }
                }
                Err(e) => prop_assert_eq!(Err(e), prost),
            }
        }

        #[test]
        fn pages_of_every_type_round_trip((schema, rows) in testing::table(40), max_rows in 1..50usize) {
            round_trip(&schema, &rows, PageLimits { max_rows, max_bytes: usize::MAX })?;
        }

        #[test]
        fn pages_split_by_bytes((schema, rows) in testing::table(40), max_bytes in 1..400usize) {
            round_trip(&schema, &rows, PageLimits { max_rows: usize::MAX, max_bytes })?;
        }

        #[test]
        fn reader_never_panics(
            types in prop::collection::vec(testing::spq_type(), 0..4),
            xcols in prop::collection::vec(testing::xcol(), 0..4),
        ) {
            let schema = Schema::new(
                types.iter().enumerate().map(|(i, &t)| Column::new(format!("c{i}"), t)).collect(),
            ).unwrap();
            if let Ok(page) = PageReader::new(&schema, xcols) {
                for view in page.columns() {
                    prop_assert_eq!(view.len(), page.nrow());
                    let _ = view.iter().count();
                }
            }
        }

        #[test]
        fn dropping_a_value_is_caught((schema, rows) in testing::table(20)) {
            let mut b = PageBuilder::new(schema.clone(), PageLimits { max_rows: usize::MAX, max_bytes: usize::MAX });
            for row in &rows {
                for v in row {
                    b.push_opt(v.as_ref().map(Owned::as_value)).unwrap();
                }
                b.end_row().unwrap();
            }
            let xcols = b.finish().unwrap();
            for c in 0..xcols.len() {
                let mut broken = xcols.clone();
                let x = &mut broken[c];
                let had = x.sdata.pop().is_some() || x.i32data.pop().is_some()
                    || x.i64data.pop().is_some() || x.f32data.pop().is_some()
                    || x.f64data.pop().is_some() || x.bindata.pop().is_some();
                // Emptying the carrier of an all-NULL column is allowed.
                let all_null_now_empty = x.nullmap.len() == 1 && x.nullmap[0];
                if had && !all_null_now_empty {
                    let is_length_error = matches!(
                        PageReader::new(&schema, broken),
                        Err(PageError::CarrierLength { .. })
                    );
                    prop_assert!(is_length_error);
                }
            }
        }
    }
}
