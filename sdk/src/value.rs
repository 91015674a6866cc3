//! Values, kinds, columns and schemas: the SDK's own mirror of the WIT `types` interface.

use std::fmt;

use crate::error::{Error, Result};

/// What a column holds. The host maps PostgreSQL types onto these kinds (see
/// [`Kind::from_pg_type`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `boolean`.
    Bool,
    /// `smallint`, `integer`, `bigint`.
    Int,
    /// `real`, `double precision`.
    Float,
    /// `text`, `varchar(n)`, `char(n)`.
    Text,
    /// `bytea`.
    Bytes,
    /// `json`, `jsonb`.
    Json,
    /// `timestamp`, `timestamptz`, `date`.
    Timestamp,
    /// `numeric`, `decimal`.
    Numeric,
}

impl Kind {
    /// The kind the host gives a column of PostgreSQL type `pg_type` (`varchar(40)`,
    /// `numeric(7,2)`, `timestamp with time zone`, ...), or `None` for a type that has none.
    pub fn from_pg_type(pg_type: &str) -> Option<Kind> {
        let lower = pg_type.trim().to_ascii_lowercase();
        // Drop a type modifier and array-free whitespace runs: `numeric (7, 2)` -> `numeric`.
        let base = lower.split('(').next().unwrap_or_default();
        let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
        let kind = match base.as_str() {
            "boolean" | "bool" => Kind::Bool,
            "smallint" | "integer" | "int" | "bigint" | "int2" | "int4" | "int8" => Kind::Int,
            "real" | "float4" | "double precision" | "float8" | "float" => Kind::Float,
            "text" | "varchar" | "character varying" | "char" | "character" | "bpchar" => {
                Kind::Text
            }
            "bytea" => Kind::Bytes,
            "json" | "jsonb" => Kind::Json,
            "timestamp"
            | "timestamptz"
            | "timestamp with time zone"
            | "timestamp without time zone"
            | "date" => Kind::Timestamp,
            "numeric" | "decimal" => Kind::Numeric,
            _ => return None,
        };
        Some(kind)
    }

    /// The kind's name as the WIT spells it (`boolean`, `int`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "boolean",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Text => "text",
            Kind::Bytes => "bytes",
            Kind::Json => "json",
            Kind::Timestamp => "timestamp",
            Kind::Numeric => "numeric",
        }
    }

    /// Whether the host accepts `value` in an output column of this kind: null, a value of
    /// this kind, text for any kind (parsed as PostgreSQL parses a CSV field), and an int
    /// for float and numeric columns.
    pub fn accepts(self, value: &Value) -> bool {
        match value.kind() {
            None | Some(Kind::Text) => true,
            Some(Kind::Int) => matches!(self, Kind::Int | Kind::Float | Kind::Numeric),
            Some(k) => k == self,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// JSON text: an object, array or scalar.
    Json(String),
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    Timestamp(i64),
    /// A decimal number as text, such as `"-12.50"`.
    Numeric(String),
}

impl Value {
    /// A text value.
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    /// A numeric value from its decimal text (`"12.50"`). The host parses it; the SDK does
    /// not check it.
    pub fn numeric(s: impl Into<String>) -> Value {
        Value::Numeric(s.into())
    }

    /// A JSON value from JSON text. The host checks it.
    pub fn json_text(s: impl Into<String>) -> Value {
        Value::Json(s.into())
    }

    /// A JSON value serialized from a `serde_json` value.
    pub fn json(v: &serde_json::Value) -> Value {
        Value::Json(v.to_string())
    }

    /// A timestamp from microseconds since the Unix epoch.
    pub fn timestamp_micros(micros: i64) -> Value {
        Value::Timestamp(micros)
    }

    /// A timestamp from milliseconds since the Unix epoch (a Kafka message timestamp), or
    /// `None` when it is out of range.
    pub fn timestamp_millis(millis: i64) -> Option<Value> {
        millis.checked_mul(1000).map(Value::Timestamp)
    }

    /// The value's kind; `None` for null.
    pub fn kind(&self) -> Option<Kind> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) => Kind::Int,
            Value::Float(_) => Kind::Float,
            Value::Text(_) => Kind::Text,
            Value::Bytes(_) => Kind::Bytes,
            Value::Json(_) => Kind::Json,
            Value::Timestamp(_) => Kind::Timestamp,
            Value::Numeric(_) => Kind::Numeric,
        })
    }

    /// A short name of what the value is, for messages: `null`, `int`, `text`, ...
    pub fn kind_name(&self) -> &'static str {
        self.kind().map_or("null", Kind::name)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A float, or an int converted to float.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            // Precision loss above 2^53 is what asking for a float means.
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The text of a text value (a CSV field).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a text, JSON or numeric value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Json(s) | Value::Numeric(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes of a bytes value (a binary-format message), or of a text value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            Value::Text(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// The JSON text of a JSON value (a json-format message).
    pub fn as_json(&self) -> Option<&str> {
        match self {
            Value::Json(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_numeric(&self) -> Option<&str> {
        match self {
            Value::Numeric(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_timestamp_micros(&self) -> Option<i64> {
        match self {
            Value::Timestamp(t) => Some(*t),
            _ => None,
        }
    }

    /// Parses a JSON, text or bytes value as JSON. Errors say what was wrong; null and
    /// other kinds are errors too.
    pub fn parse_json(&self) -> Result<serde_json::Value> {
        let parsed = match self {
            Value::Json(s) | Value::Text(s) => serde_json::from_str(s),
            Value::Bytes(b) => serde_json::from_slice(b),
            other => {
                return Err(Error::new(format!(
                    "expected a JSON value, got {}",
                    other.kind_name()
                )));
            }
        };
        parsed.map_err(|e| Error::new(format!("invalid JSON: {e}")))
    }
}

impl Value {
    /// The value a column of `kind` takes from a JSON value, as `->>` and a cast would:
    ///
    /// - JSON null → NULL;
    /// - a string → text, for any kind (the host parses it as PostgreSQL parses a CSV
    ///   field, so `"42"` loads into an int column and `"2024-05-01"` into a timestamp);
    /// - a number → int (an integer in the bigint range), float, numeric (its decimal
    ///   text), text (its JSON text);
    /// - `true`/`false` → boolean or text;
    /// - an object or array → json, or text (its JSON text).
    ///
    /// Anything else is an error saying what was expected and what was found.
    pub fn from_json(json: &serde_json::Value, kind: Kind) -> Result<Value> {
        use serde_json::Value as J;
        Ok(match (kind, json) {
            (_, J::Null) => Value::Null,
            (_, J::String(s)) => Value::Text(s.clone()),
            (Kind::Text, other) => Value::Text(other.to_string()),
            (Kind::Int, J::Number(n)) if n.as_i64().is_some() => {
                Value::Int(n.as_i64().unwrap_or_default())
            }
            (Kind::Int, J::Number(n)) => {
                return Err(Error::new(format!(
                    "expected an integer in the bigint range, got {n}"
                )));
            }
            (Kind::Float, J::Number(n)) => match n.as_f64() {
                Some(f) => Value::Float(f),
                None => return Err(Error::new(format!("{n} is not a float"))),
            },
            (Kind::Numeric, J::Number(n)) => Value::Numeric(n.to_string()),
            (Kind::Bool, J::Bool(b)) => Value::Bool(*b),
            (Kind::Json, other @ (J::Array(_) | J::Object(_) | J::Number(_) | J::Bool(_))) => {
                Value::json(other)
            }
            (kind, other) => {
                let expected = match kind {
                    Kind::Bool => "true or false",
                    Kind::Int => "an integer",
                    Kind::Float | Kind::Numeric => "a number",
                    Kind::Timestamp => "a timestamp string",
                    Kind::Bytes => "a string (bytea text)",
                    Kind::Text | Kind::Json => "a JSON value",
                };
                return Err(Error::new(format!(
                    "expected {expected}, got {}",
                    json_type_name(other)
                )));
            }
        })
    }
}

/// `a string`, `an object`, ...: what a JSON value is, for messages.
pub fn json_type_name(json: &serde_json::Value) -> &'static str {
    use serde_json::Value as J;
    match json {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(v.into())
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// One column of a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    /// The PostgreSQL type as configured (`varchar(40)`, `numeric(12,2)`, ...).
    pub pg_type: String,
}

impl Column {
    /// A column of PostgreSQL type `pg_type`; an error names a type without a kind.
    pub fn new(name: impl Into<String>, pg_type: impl Into<String>) -> Result<Column> {
        let name = name.into();
        let pg_type = pg_type.into();
        let kind = Kind::from_pg_type(&pg_type).ok_or_else(|| {
            Error::new(format!(
                "column `{name}`: type `{pg_type}` has no transform kind"
            ))
        })?;
        Ok(Column {
            name,
            kind,
            pg_type,
        })
    }
}

/// The columns of the input or output rows, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    columns: Vec<Column>,
}

impl Schema {
    pub fn new(columns: Vec<Column>) -> Schema {
        Schema { columns }
    }

    /// Parses a column list as `kafka.input.columns` spells it:
    /// `"cust_id int, field2 numeric(7,2), j2 text"`.
    pub fn parse(spec: &str) -> Result<Schema> {
        let mut columns = Vec::new();
        for item in split_top_level(spec) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (name, pg_type) = item
                .split_once(char::is_whitespace)
                .ok_or_else(|| Error::new(format!("column `{item}` has no type")))?;
            columns.push(Column::new(name, pg_type.trim())?);
        }
        Ok(Schema { columns })
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The column at `index`.
    pub fn get(&self, index: usize) -> Option<&Column> {
        self.columns.get(index)
    }

    /// The index of the column named `name` (case-sensitive, as configured).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The index of the column named `name`, or an error listing the columns there are.
    pub fn require(&self, name: &str) -> Result<usize> {
        self.index_of(name).ok_or_else(|| {
            Error::new(format!(
                "no column named `{name}` (the columns are: {})",
                self.names().join(", ")
            ))
        })
    }

    /// The column names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }
}

/// Splits at commas outside parentheses (`numeric(7,2)` stays whole).
fn split_top_level(spec: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&spec[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_types_map_to_kinds() {
        assert_eq!(Kind::from_pg_type("numeric(7,2)"), Some(Kind::Numeric));
        assert_eq!(Kind::from_pg_type("DECIMAL"), Some(Kind::Numeric));
        assert_eq!(Kind::from_pg_type("varchar(40)"), Some(Kind::Text));
        assert_eq!(
            Kind::from_pg_type("timestamp  with time zone"),
            Some(Kind::Timestamp)
        );
        assert_eq!(Kind::from_pg_type("double precision"), Some(Kind::Float));
        assert_eq!(Kind::from_pg_type("bigint"), Some(Kind::Int));
        assert_eq!(Kind::from_pg_type("jsonb"), Some(Kind::Json));
        assert_eq!(Kind::from_pg_type("point"), None);
    }

    #[test]
    fn schema_parses_a_column_list() {
        let s = Schema::parse("cust_id int, field2 numeric(7, 2), j2 text").unwrap();
        assert_eq!(s.names(), ["cust_id", "field2", "j2"]);
        assert_eq!(s.get(1).unwrap().kind, Kind::Numeric);
        assert_eq!(s.get(1).unwrap().pg_type, "numeric(7, 2)");
        assert_eq!(s.require("j2").unwrap(), 2);
        let e = s.require("nope").unwrap_err().to_string();
        assert_eq!(
            e,
            "no column named `nope` (the columns are: cust_id, field2, j2)"
        );
        let e = Schema::parse("a int, b point").unwrap_err().to_string();
        assert!(e.contains("`b`") && e.contains("point"), "{e}");
        let e = Schema::parse("a").unwrap_err().to_string();
        assert_eq!(e, "column `a` has no type");
    }

    #[test]
    fn kinds_accept_what_the_host_accepts() {
        assert!(Kind::Int.accepts(&Value::Null));
        assert!(Kind::Int.accepts(&Value::text("12")));
        assert!(Kind::Numeric.accepts(&Value::Int(3)));
        assert!(Kind::Float.accepts(&Value::Int(3)));
        assert!(!Kind::Int.accepts(&Value::Float(1.0)));
        assert!(!Kind::Json.accepts(&Value::Bytes(vec![])));
        assert!(Kind::Json.accepts(&Value::json_text("{}")));
    }

    #[test]
    fn values_from_json_by_kind() {
        let j: serde_json::Value = serde_json::from_str(
            r#"{"i": 42, "f": 1.5, "s": "x", "b": true, "o": {"a": [1]}, "n": null,
                "big": 18446744073709551615}"#,
        )
        .unwrap();
        let v = |k: &str, kind| Value::from_json(&j[k], kind);
        assert_eq!(v("i", Kind::Int).unwrap(), Value::Int(42));
        assert_eq!(v("i", Kind::Float).unwrap(), Value::Float(42.0));
        assert_eq!(v("f", Kind::Numeric).unwrap(), Value::numeric("1.5"));
        assert_eq!(v("i", Kind::Text).unwrap(), Value::text("42"));
        assert_eq!(v("s", Kind::Int).unwrap(), Value::text("x"));
        assert_eq!(v("b", Kind::Bool).unwrap(), Value::Bool(true));
        assert_eq!(
            v("o", Kind::Json).unwrap(),
            Value::json_text(r#"{"a":[1]}"#)
        );
        assert_eq!(v("o", Kind::Text).unwrap(), Value::text(r#"{"a":[1]}"#));
        assert_eq!(v("n", Kind::Int).unwrap(), Value::Null);
        assert_eq!(v("missing", Kind::Int).unwrap(), Value::Null);
        let e = |k: &str, kind| Value::from_json(&j[k], kind).unwrap_err().to_string();
        assert_eq!(e("o", Kind::Int), "expected an integer, got an object");
        assert_eq!(
            e("f", Kind::Int),
            "expected an integer in the bigint range, got 1.5"
        );
        assert_eq!(
            e("big", Kind::Int),
            "expected an integer in the bigint range, got 18446744073709551615"
        );
        assert_eq!(
            e("b", Kind::Timestamp),
            "expected a timestamp string, got a boolean"
        );
        assert_eq!(
            e("i", Kind::Bytes),
            "expected a string (bytea text), got a number"
        );
    }

    #[test]
    fn value_helpers() {
        assert_eq!(Value::from(Some(3)), Value::Int(3));
        assert_eq!(Value::from(None::<&str>), Value::Null);
        assert_eq!(Value::Int(2).as_float(), Some(2.0));
        assert_eq!(Value::timestamp_millis(5), Some(Value::Timestamp(5000)));
        assert_eq!(Value::timestamp_millis(i64::MAX), None);
        assert_eq!(Value::json_text(r#"{"a":1}"#).parse_json().unwrap()["a"], 1);
        let e = Value::Null.parse_json().unwrap_err().to_string();
        assert_eq!(e, "expected a JSON value, got null");
        assert!(
            Value::json_text("{")
                .parse_json()
                .unwrap_err()
                .to_string()
                .starts_with("invalid JSON: ")
        );
    }
}
