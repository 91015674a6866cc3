//! What the guest returned → [`Outcome`], each output row checked against the output
//! schema: one value per output column, each null or of its column's kind, except that
//! text is accepted for any column and int for float and numeric columns. A violation
//! turns that input row's outcome into an [`Outcome::Error`] naming the columns.

use crate::bindings::types::Outcome as WitOutcome;
use crate::{Column, Kind, Outcome, Value};

/// Converts and checks the outcomes of one batch (one per input row).
pub fn outcomes(outcomes: Vec<WitOutcome>, output: &[Column]) -> Vec<Outcome> {
    outcomes.into_iter().map(|o| outcome(o, output)).collect()
}

fn outcome(outcome: WitOutcome, output: &[Column]) -> Outcome {
    let rows = match outcome {
        WitOutcome::Keep(values) => vec![values],
        WitOutcome::Drop => Vec::new(),
        WitOutcome::Split(rows) => rows,
        WitOutcome::Error(message) => return Outcome::Error(message),
    };
    for (i, row) in rows.iter().enumerate() {
        if let Err(message) = check_row(row, output) {
            return Outcome::Error(format!("output row {}{message}", i + 1));
        }
    }
    Outcome::Rows(rows)
}

/// `Err(" has 3 values, …")`: the rest of a sentence starting "output row N".
fn check_row(row: &[Value], output: &[Column]) -> Result<(), String> {
    if row.len() != output.len() {
        let names: Vec<&str> = output.iter().map(|c| c.name.as_str()).collect();
        return Err(format!(
            " has {} value{}, the output has {} column{} ({})",
            row.len(),
            if row.len() == 1 { "" } else { "s" },
            output.len(),
            if output.len() == 1 { "" } else { "s" },
            names.join(", ")
        ));
    }
    for (value, column) in row.iter().zip(output) {
        if !accepted(value, column.kind) {
            return Err(format!(
                ": column {} ({}) cannot take {} value",
                column.name,
                column.pg_type_or_kind(),
                a_kind(value)
            ));
        }
    }
    Ok(())
}

fn accepted(value: &Value, kind: Kind) -> bool {
    match value {
        Value::Null | Value::Text(_) => true,
        Value::Boolean(_) => kind == Kind::Boolean,
        Value::Int(_) => matches!(kind, Kind::Int | Kind::Float | Kind::Numeric),
        Value::Float(_) => kind == Kind::Float,
        Value::Bytes(_) => kind == Kind::Bytes,
        Value::Json(_) => kind == Kind::Json,
        Value::Timestamp(_) => kind == Kind::Timestamp,
        Value::Numeric(_) => kind == Kind::Numeric,
    }
}

fn a_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "a null",
        Value::Boolean(_) => "a boolean",
        Value::Int(_) => "an int",
        Value::Float(_) => "a float",
        Value::Text(_) => "a text",
        Value::Bytes(_) => "a bytes",
        Value::Json(_) => "a json",
        Value::Timestamp(_) => "a timestamp",
        Value::Numeric(_) => "a numeric",
    }
}

impl Kind {
    /// The WIT name of the kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Boolean => "boolean",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Text => "text",
            Kind::Bytes => "bytes",
            Kind::Json => "json",
            Kind::Timestamp => "timestamp",
            Kind::Numeric => "numeric",
        }
    }
}

impl Column {
    fn pg_type_or_kind(&self) -> &str {
        if self.pg_type.is_empty() {
            self.kind.name()
        } else {
            &self.pg_type
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(spec: &[(&str, Kind)]) -> Vec<Column> {
        spec.iter()
            .map(|(name, kind)| Column {
                name: (*name).to_owned(),
                kind: *kind,
                pg_type: String::new(),
            })
            .collect()
    }

    #[test]
    fn keep_drop_split_and_error() {
        let output = columns(&[("a", Kind::Int)]);
        let got = outcomes(
            vec![
                WitOutcome::Keep(vec![Value::Int(1)]),
                WitOutcome::Drop,
                WitOutcome::Split(vec![vec![Value::Int(2)], vec![Value::Null]]),
                WitOutcome::Error("bad row".to_owned()),
            ],
            &output,
        );
        assert_eq!(
            got,
            vec![
                Outcome::Rows(vec![vec![Value::Int(1)]]),
                Outcome::Rows(vec![]),
                Outcome::Rows(vec![vec![Value::Int(2)], vec![Value::Null]]),
                Outcome::Error("bad row".to_owned()),
            ]
        );
    }

    #[test]
    fn a_wrong_arity_names_the_columns() {
        let output = columns(&[
            ("a", Kind::Int),
            ("b", Kind::Text),
            ("c", Kind::Json),
            ("d", Kind::Float),
        ]);
        let values = vec![Value::Int(1), Value::Null, Value::Null];
        assert_eq!(
            outcome(WitOutcome::Keep(values), &output),
            Outcome::Error(
                "output row 1 has 3 values, the output has 4 columns (a, b, c, d)".to_owned()
            )
        );
        let split = WitOutcome::Split(vec![vec![Value::Null; 4], vec![Value::Null]]);
        assert_eq!(
            outcome(split, &output),
            Outcome::Error(
                "output row 2 has 1 value, the output has 4 columns (a, b, c, d)".to_owned()
            )
        );
    }

    #[test]
    fn kinds_text_for_any_and_int_for_float_and_numeric() {
        let all = [
            Kind::Boolean,
            Kind::Int,
            Kind::Float,
            Kind::Text,
            Kind::Bytes,
            Kind::Json,
            Kind::Timestamp,
            Kind::Numeric,
        ];
        for kind in all {
            assert!(accepted(&Value::Null, kind));
            assert!(accepted(&Value::Text("1".into()), kind));
        }
        assert!(accepted(&Value::Int(1), Kind::Float));
        assert!(accepted(&Value::Int(1), Kind::Numeric));
        assert!(!accepted(&Value::Int(1), Kind::Boolean));
        assert!(!accepted(&Value::Float(1.0), Kind::Int));
        assert!(!accepted(&Value::Json("{}".into()), Kind::Text));
        assert!(!accepted(&Value::Timestamp(0), Kind::Int));
        assert!(accepted(&Value::Bytes(vec![]), Kind::Bytes));
    }

    #[test]
    fn a_wrong_kind_names_the_column_and_its_type() {
        let mut output = columns(&[("id", Kind::Int), ("ok", Kind::Int)]);
        output[1].pg_type = "bigint".to_owned();
        assert_eq!(
            outcome(
                WitOutcome::Keep(vec![Value::Int(1), Value::Boolean(true)]),
                &output
            ),
            Outcome::Error(
                "output row 1: column ok (bigint) cannot take a boolean value".to_owned()
            )
        );
    }
}
