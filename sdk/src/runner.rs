//! The batching both the wasm export and the native harness use: one outcome per input
//! row, emitted rows checked against the output schema as the host checks them.

use std::rc::Rc;

use crate::Transform;
use crate::config::Config;
use crate::error::Result;
use crate::row::{Outcome, Output, Row};
use crate::value::{Schema, Value};

/// A transform after `init`, with its schemas.
pub(crate) struct Runner<T> {
    transform: T,
    input: Rc<Schema>,
    output: Schema,
    out: Output,
}

impl<T: Transform> Runner<T> {
    pub(crate) fn init(config: &Config, input: Schema, output: Schema) -> Result<Runner<T>> {
        let transform = T::init(config, &input, &output)?;
        Ok(Runner {
            transform,
            input: Rc::new(input),
            output,
            out: Output::new(),
        })
    }

    /// The input schema, shared by the rows of every batch.
    pub(crate) fn input(&self) -> &Rc<Schema> {
        &self.input
    }

    /// One outcome per row, in order.
    pub(crate) fn run(&mut self, rows: &[Row]) -> Vec<Outcome> {
        rows.iter().map(|row| self.run_row(row)).collect()
    }

    fn run_row(&mut self, row: &Row) -> Outcome {
        self.out.clear();
        let result = self.transform.transform(row, &mut self.out);
        let rows = self.out.take();
        if let Err(e) = result {
            return Outcome::Error(e.to_string());
        }
        for (i, values) in rows.iter().enumerate() {
            if let Some(message) = check_row(&self.output, values) {
                let which = if rows.len() == 1 {
                    String::from("the output row")
                } else {
                    format!("output row {} of {}", i + 1, rows.len())
                };
                return Outcome::Error(format!("{which}: {message}"));
            }
        }
        Outcome::from_rows(rows)
    }
}

/// Why the host would reject `values` as a row of `schema`, if it would.
pub(crate) fn check_row(schema: &Schema, values: &[Value]) -> Option<String> {
    if values.len() != schema.len() {
        return Some(format!(
            "has {} values but the output has {} columns ({})",
            values.len(),
            schema.len(),
            schema.names().join(", ")
        ));
    }
    schema
        .columns()
        .iter()
        .zip(values)
        .find(|(c, v)| !c.kind.accepts(v))
        .map(|(c, v)| {
            format!(
                "column `{}` is {} ({}) but got a {} value",
                c.name,
                c.kind,
                c.pg_type,
                v.kind_name()
            )
        })
}
