//! Runs a transform natively, under plain `cargo test`: no wasm, no runtime, no Kafka.
//!
//! The harness does what the host does around the module: `init` with the config and the
//! two schemas, then one outcome per input row, each emitted row checked against the
//! output schema (count of values, kinds) with the same messages. What it does not do:
//! limits (deadline, memory), and panics are ordinary test panics here, where in the
//! module they trap and fail the batch.
//!
//! ```
//! use dgkafka_transform_sdk::prelude::*;
//! use dgkafka_transform_sdk::testing::Harness;
//!
//! struct Upper;
//!
//! impl Transform for Upper {
//!     fn init(_: &Config, _: &Schema, _: &Schema) -> Result<Self> {
//!         Ok(Upper)
//!     }
//!     fn transform(&mut self, row: &Row, out: &mut Output) -> Result<()> {
//!         let name = row.require("name")?.as_text().unwrap_or_default();
//!         out.emit(vec![Value::text(name.to_uppercase())]);
//!         Ok(())
//!     }
//! }
//!
//! let mut h = Harness::<Upper>::new([("k", "v")], "name text", "name text").unwrap();
//! let outcomes = h.run_csv(&["ada", ""]);
//! assert_eq!(outcomes[0], Outcome::Keep(vec![Value::text("ADA")]));
//! assert_eq!(outcomes[1], Outcome::Keep(vec![Value::text("")])); // NULL -> ""
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use crate::Transform;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::log::Level;
use crate::row::{Outcome, Row};
use crate::runner::Runner;
use crate::value::{Schema, Value};

/// A schema, or a column list to parse as `kafka.input.columns` spells it
/// (`"jdata json"`, `"cust_id int, field2 numeric(7,2)"`).
pub trait IntoSchema {
    fn into_schema(self) -> Result<Schema>;
}

impl IntoSchema for Schema {
    fn into_schema(self) -> Result<Schema> {
        Ok(self)
    }
}

impl IntoSchema for &str {
    fn into_schema(self) -> Result<Schema> {
        Schema::parse(self)
    }
}

impl IntoSchema for String {
    fn into_schema(self) -> Result<Schema> {
        Schema::parse(&self)
    }
}

/// A transform initialised as the host would, with builders for input rows.
pub struct Harness<T> {
    config: Config,
    output: Schema,
    runner: Runner<T>,
    next_offset: i64,
    csv_delimiter: char,
    logs: Vec<(Level, String)>,
}

impl<T: Transform> Harness<T> {
    /// Calls `T::init` with `config` (values as TOML text, strings without quotes, as
    /// `[kafka.transform.config]` passes them) and the two schemas. An `init` error is
    /// returned as the host would report it.
    pub fn new<K, V>(
        config: impl IntoIterator<Item = (K, V)>,
        input: impl IntoSchema,
        output: impl IntoSchema,
    ) -> Result<Harness<T>>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let config = Config::new(config);
        let input = input.into_schema().map_err(|e| e.context("input schema"))?;
        let output = output
            .into_schema()
            .map_err(|e| e.context("output schema"))?;
        let mut logs = Vec::new();
        let runner = capture_logs(&mut logs, || Runner::init(&config, input, output.clone()))?;
        Ok(Harness {
            config,
            output,
            runner,
            next_offset: 0,
            csv_delimiter: ',',
            logs,
        })
    }

    /// Reads CSV lines with `delimiter` (as `kafka.input.delimiter`) instead of `,`.
    #[must_use]
    pub fn with_csv_delimiter(mut self, delimiter: char) -> Harness<T> {
        self.csv_delimiter = delimiter;
        self
    }

    /// Runs one batch: exactly one outcome per row, in order.
    pub fn run(&mut self, rows: Vec<Row>) -> Vec<Outcome> {
        let runner = &mut self.runner;
        capture_logs(&mut self.logs, || runner.run(&rows))
    }

    /// Runs one row.
    pub fn run_one(&mut self, row: Row) -> Outcome {
        self.run(vec![row]).pop().unwrap_or(Outcome::Drop)
    }

    /// Runs json-format messages, one JSON text each.
    pub fn run_json(&mut self, messages: &[&str]) -> Vec<Outcome> {
        let rows = messages.iter().map(|m| self.json_row(m)).collect();
        self.run(rows)
    }

    /// Runs csv-format messages, one CSV line each.
    pub fn run_csv(&mut self, lines: &[&str]) -> Vec<Outcome> {
        let rows = lines.iter().map(|l| self.csv_row(l)).collect();
        self.run(rows)
    }

    /// Drops the transform's state and calls `init` again, as the host does after a trap
    /// or a restart: a test that the transform copes with a reset.
    pub fn reset(&mut self) -> Result<()> {
        let input = self.runner.input().as_ref().clone();
        let runner = &mut self.runner;
        let (config, output) = (&self.config, self.output.clone());
        capture_logs(&mut self.logs, || {
            *runner = Runner::init(config, input, output)?;
            Ok(())
        })
    }

    /// The input schema, to build rows with [`Row::new`].
    pub fn input_schema(&self) -> Rc<Schema> {
        Rc::clone(self.runner.input())
    }

    /// The output schema.
    pub fn output_schema(&self) -> &Schema {
        &self.output
    }

    /// A row of `values` at the next offset of partition 0.
    pub fn row(&mut self, values: Vec<Value>) -> Row {
        let mut row = Row::new(self.input_schema(), values);
        row.offset = self.next_offset;
        self.next_offset += 1;
        row
    }

    /// The row a json-format message gives: one `json` value.
    ///
    /// # Panics
    /// When `json` is not valid JSON: the host never hands the transform such a message
    /// (it is a decode error before the transform).
    pub fn json_row(&mut self, json: &str) -> Row {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(json) {
            panic!("test input is not valid JSON ({e}): {json}");
        }
        self.row(vec![Value::Json(json.to_owned())])
    }

    /// The row a binary-format message gives: one `bytes` value.
    pub fn bytes_row(&mut self, bytes: &[u8]) -> Row {
        self.row(vec![Value::Bytes(bytes.to_vec())])
    }

    /// The row a csv-format message gives: one `text` value per field, NULL for an unquoted
    /// empty field (`""` is the empty string). `,` (or [`Harness::with_csv_delimiter`])
    /// delimiter, `"` quote, `""` escape.
    ///
    /// # Panics
    /// When the line is not valid CSV or its field count differs from the input schema:
    /// the host rejects such a message before the transform.
    pub fn csv_row(&mut self, line: &str) -> Row {
        let fields = match parse_csv_line(line, self.csv_delimiter) {
            Ok(f) => f,
            Err(e) => panic!("test input is not valid CSV ({e}): {line}"),
        };
        let columns = self.runner.input().len();
        assert_eq!(
            fields.len(),
            columns,
            "test input has {} fields, the input schema {} columns: {line}",
            fields.len(),
            columns
        );
        self.row(fields.into_iter().map(Value::from).collect())
    }

    /// The messages logged so far (init and runs), oldest first.
    pub fn logs(&self) -> &[(Level, String)] {
        &self.logs
    }

    /// The messages logged so far, forgetting them.
    pub fn take_logs(&mut self) -> Vec<(Level, String)> {
        std::mem::take(&mut self.logs)
    }
}

impl<T: Transform> Harness<T> {
    /// The row of a json-format message given as a `serde_json` value.
    pub fn json_value_row(&mut self, json: &serde_json::Value) -> Row {
        self.row(vec![Value::json(json)])
    }
}

thread_local! {
    static CAPTURE: RefCell<Option<Vec<(Level, String)>>> = const { RefCell::new(None) };
}

pub(crate) fn record_log(level: Level, message: &str) {
    CAPTURE.with(|c| {
        if let Some(logs) = c.borrow_mut().as_mut() {
            logs.push((level, message.to_owned()));
        }
    });
}

/// Runs `f`, appending what it logs to `logs`.
fn capture_logs<R>(logs: &mut Vec<(Level, String)>, f: impl FnOnce() -> R) -> R {
    let previous = CAPTURE.with(|c| c.borrow_mut().replace(Vec::new()));
    // Restores the previous capture even when `f` panics (a failing test).
    struct Restore(Option<Option<Vec<(Level, String)>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0.take() {
                CAPTURE.with(|c| *c.borrow_mut() = previous);
            }
        }
    }
    let mut restore = Restore(Some(previous));
    let result = f();
    let captured = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    logs.extend(captured);
    if let Some(previous) = restore.0.take() {
        CAPTURE.with(|c| *c.borrow_mut() = previous);
    }
    result
}

/// Splits one CSV line into fields, `None` for NULL (an unquoted empty field).
pub fn parse_csv_line(line: &str, delimiter: char) -> Result<Vec<Option<String>>> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(Error::new("unterminated quoted field")),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
        }
        while let Some(c) = chars.next_if(|&c| c != delimiter) {
            if quoted {
                return Err(Error::new(format!("`{c}` after a closing quote")));
            }
            field.push(c);
        }
        fields.push((quoted || !field.is_empty()).then_some(field));
        if chars.next().is_none() {
            break;
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log;
    use crate::prelude::*;

    /// Keeps, drops, splits or fails by the first field; emits bad rows on request.
    struct ByWord {
        seen: usize,
    }

    impl Transform for ByWord {
        fn init(config: &Config, _: &Schema, output: &Schema) -> Result<Self> {
            config.deny_unknown(&["ok"])?;
            config.require("ok")?;
            log::info!("init with {} output columns", output.len());
            Ok(ByWord { seen: 0 })
        }

        fn transform(&mut self, row: &Row, out: &mut Output) -> Result<()> {
            self.seen += 1;
            let word = row.require("word")?.as_text().unwrap_or("null").to_owned();
            let n = Value::Int(i64::try_from(self.seen)?);
            match word.as_str() {
                "keep" => out.emit(vec![Value::text(word), n]),
                "drop" => {}
                "split" => {
                    out.emit(vec![Value::text("a"), n.clone()]);
                    out.emit(vec![Value::text("b"), n]);
                }
                "short" => out.emit(vec![Value::text(word)]),
                "badkind" => out.emit(vec![Value::text(word), Value::Bytes(vec![1])]),
                "badsplit" => {
                    out.emit(vec![Value::text("a"), n]);
                    out.emit(vec![Value::Bool(true), Value::Null]);
                }
                "emit-then-fail" => {
                    out.emit(vec![Value::text(word), n]);
                    return Err(Error::new("failed after emitting"));
                }
                other => {
                    log::warn!("unknown word {other}");
                    return Err(format!("unknown word `{other}`").into());
                }
            }
            Ok(())
        }
    }

    fn harness() -> Harness<ByWord> {
        Harness::new([("ok", "1")], "word text", "word text, n bigint").unwrap()
    }

    #[test]
    fn outcomes_map_from_what_was_emitted() {
        let mut h = harness();
        let o = h.run_csv(&["keep", "drop", "split", "what", "emit-then-fail"]);
        assert_eq!(o.len(), 5);
        assert_eq!(
            o[0],
            Outcome::Keep(vec![Value::text("keep"), Value::Int(1)])
        );
        assert!(o[1].is_drop());
        assert_eq!(
            o[2],
            Outcome::Split(vec![
                vec![Value::text("a"), Value::Int(3)],
                vec![Value::text("b"), Value::Int(3)],
            ])
        );
        assert_eq!(o[2].rows().len(), 2);
        assert_eq!(o[3].error(), Some("unknown word `what`"));
        // An error wins over what was emitted before it.
        assert_eq!(o[4], Outcome::Error("failed after emitting".into()));
    }

    #[test]
    fn emitted_rows_are_checked_like_the_host_does() {
        let mut h = harness();
        let o = h.run_csv(&["short", "badkind", "badsplit", ""]);
        assert_eq!(
            o[0].error(),
            Some("the output row: has 1 values but the output has 2 columns (word, n)")
        );
        assert_eq!(
            o[1].error(),
            Some("the output row: column `n` is int (bigint) but got a bytes value")
        );
        assert_eq!(
            o[2].error(),
            Some("output row 2 of 2: column `word` is text (text) but got a boolean value")
        );
        // An unquoted empty CSV field is NULL.
        assert_eq!(o[3].error(), Some("unknown word `null`"));
    }

    #[test]
    fn init_errors_and_logs() {
        let e = Harness::<ByWord>::new([("nope", "1")], "word text", "word text, n int")
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "unknown config key `nope` (known keys: ok)");
        let e = Harness::<ByWord>::new(None::<(&str, &str)>, "word text", "word text")
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "config key `ok` is required: set it in [kafka.transform.config]"
        );
        let e = Harness::<ByWord>::new([("ok", "1")], "word blob", "word text")
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "input schema: column `word`: type `blob` has no transform kind"
        );

        let mut h = harness();
        h.run_csv(&["zzz"]);
        assert_eq!(
            h.take_logs(),
            [
                (Level::Info, "init with 2 output columns".to_owned()),
                (Level::Warn, "unknown word zzz".to_owned()),
            ]
        );
        assert!(h.logs().is_empty());
    }

    #[test]
    fn reset_starts_from_fresh_state() {
        let mut h = harness();
        h.run_csv(&["keep", "keep"]);
        h.reset().unwrap();
        let o = h.run_csv(&["keep"]);
        assert_eq!(
            o[0],
            Outcome::Keep(vec![Value::text("keep"), Value::Int(1)])
        );
    }

    #[test]
    fn rows_carry_offsets_and_schema() {
        let mut h = harness();
        let a = h.csv_row("x");
        let b = h.csv_row("y");
        assert_eq!((a.offset, b.offset), (0, 1));
        assert_eq!(b.get_by_name("word"), Some(&Value::text("y")));
        assert_eq!(b.get_by_name("other"), None);
        assert_eq!(
            b.require("other").unwrap_err().to_string(),
            "no column named `other` (the columns are: word)"
        );
        let j = Harness::<ByWord>::new([("ok", "1")], "jdata json", "word text, n int")
            .unwrap()
            .json_row(r#"{"a": [1, 2]}"#);
        assert_eq!(j.json().unwrap()["a"][1], 2);
        assert_eq!(j.schema().get(0).map(|c| c.kind), Some(Kind::Json));
    }

    #[test]
    #[should_panic(expected = "test input has 2 fields, the input schema 1 columns")]
    fn csv_rows_must_match_the_schema() {
        harness().csv_row("a,b");
    }

    #[test]
    fn csv_lines_split_like_the_csv_format() {
        let f = parse_csv_line("1,\"a,\"\"b\"\"\",,\"\",x y\r\n", ',').unwrap();
        assert_eq!(
            f,
            [
                Some("1".to_owned()),
                Some("a,\"b\"".to_owned()),
                None,
                Some(String::new()),
                Some("x y".to_owned()),
            ]
        );
        assert_eq!(parse_csv_line("", ',').unwrap(), [None]);
        assert!(parse_csv_line("\"a", ',').is_err());
        assert!(parse_csv_line("\"a\"b", ',').is_err());
        assert_eq!(
            parse_csv_line("a|b,c||", '|').unwrap(),
            [Some("a".to_owned()), Some("b,c".to_owned()), None, None]
        );
    }
}
