//! Input rows, the output collector and the outcome of a row.

use std::rc::Rc;

use crate::error::{Error, Result};
use crate::value::{Schema, Value};

/// One Kafka message decoded by the topic's format: json → one `Json` value; binary → one
/// `Bytes` value; csv → one `Text` (or `Null`) value per field.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub partition: i32,
    pub offset: i64,
    /// The message timestamp, milliseconds since the Unix epoch, when it has one.
    pub timestamp_ms: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub values: Vec<Value>,
    schema: Rc<Schema>,
}

impl Row {
    /// A row of `values` read against `schema` (the input schema), at partition 0,
    /// offset 0, without key or timestamp; set the public fields for others.
    pub fn new(schema: Rc<Schema>, values: Vec<Value>) -> Row {
        Row {
            partition: 0,
            offset: 0,
            timestamp_ms: None,
            key: None,
            values,
            schema,
        }
    }

    /// The input schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The value at `index`.
    pub fn get(&self, index: usize) -> Option<&Value> {
        self.values.get(index)
    }

    /// The value of the input column named `name`.
    pub fn get_by_name(&self, name: &str) -> Option<&Value> {
        self.schema.index_of(name).and_then(|i| self.values.get(i))
    }

    /// The value of the input column named `name`, or an error naming the column.
    pub fn require(&self, name: &str) -> Result<&Value> {
        let i = self.schema.require(name)?;
        self.values
            .get(i)
            .ok_or_else(|| Error::new(format!("the row has no value for column `{name}`")))
    }

    /// The first value parsed as JSON: what a json-format topic gives.
    pub fn json(&self) -> Result<serde_json::Value> {
        self.values
            .first()
            .ok_or_else(|| Error::new("the row has no values"))?
            .parse_json()
    }
}

/// Collects the rows a transform makes of one input row: none (drop), one (keep or
/// replace) or several (split). Each row is one value per output column, in order.
#[derive(Debug, Default)]
pub struct Output {
    rows: Vec<Vec<Value>>,
}

impl Output {
    pub fn new() -> Output {
        Output::default()
    }

    /// Emits one output row.
    pub fn emit(&mut self, values: Vec<Value>) {
        self.rows.push(values);
    }

    /// The rows emitted so far.
    pub fn rows(&self) -> &[Vec<Value>] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Forgets the rows emitted so far.
    pub fn clear(&mut self) {
        self.rows.clear();
    }

    pub(crate) fn take(&mut self) -> Vec<Vec<Value>> {
        std::mem::take(&mut self.rows)
    }
}

/// What became of one input row: what the host receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// One row to load.
    Keep(Vec<Value>),
    /// Nothing is loaded.
    Drop,
    /// Several rows to load.
    Split(Vec<Vec<Value>>),
    /// A row error with its message.
    Error(String),
}

impl Outcome {
    /// The outcome of `rows` emitted: drop, keep or split.
    pub fn from_rows(mut rows: Vec<Vec<Value>>) -> Outcome {
        match rows.len() {
            0 => Outcome::Drop,
            1 => Outcome::Keep(rows.pop().unwrap_or_default()),
            _ => Outcome::Split(rows),
        }
    }

    /// The rows loaded: none, one or several; none for an error.
    pub fn rows(&self) -> Vec<&[Value]> {
        match self {
            Outcome::Keep(r) => vec![r.as_slice()],
            Outcome::Split(rs) => rs.iter().map(Vec::as_slice).collect(),
            Outcome::Drop | Outcome::Error(_) => Vec::new(),
        }
    }

    /// The row of a `Keep`.
    pub fn kept(&self) -> Option<&[Value]> {
        match self {
            Outcome::Keep(r) => Some(r),
            _ => None,
        }
    }

    /// The message of an `Error`.
    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Error(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_drop(&self) -> bool {
        matches!(self, Outcome::Drop)
    }
}
