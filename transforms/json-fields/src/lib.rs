//! `json-fields`: picks keys of JSON messages into typed output columns — the seed's
//! `kafka.output.mappings` example without SQL.
//!
//! Input: a json-format topic, one `json` value per message (`kafka.input.columns =
//! "jdata json"`), such as `{"customer_id": 42, "some_intfield": 7}`. Output: the columns
//! of the target table. Each output column reads one JSON key, by default the key of its
//! own name; `fields` maps a column to another key or a JSON pointer, and may scale it.
//!
//! ```toml
//! [kafka.transform]
//! module = "json_fields.wasm"
//! [kafka.transform.config]
//! # column=source[*factor], comma-separated (or a TOML array of such strings).
//! # source: a top-level key, or a JSON pointer when it starts with `/` (`/order/id`).
//! # factor: a decimal multiplier, for numeric and float columns only; exact for numeric.
//! fields = "cust_id=customer_id, field2=some_intfield*0.075, j1=customer_id, j2=some_intfield"
//! missing = "null"   # a key not in the message: "null" (the default) or "error"
//! ```
//!
//! With the table `t1map(cust_id int, field2 decimal(7,2), j1 int, j2 text)` this loads
//! what the seed's mappings `(jdata->>'customer_id')`, `((jdata->>'some_intfield') *
//! .075)::decimal` and `udf_parse_json(jdata)` load: `{"customer_id": 77,
//! "some_intfield": 7}` → `(77, 0.53, 77, '7')`.
//!
//! How a JSON value becomes a column's value (the SDK's `Value::from_json`):
//! - JSON null → NULL; a missing key → NULL, or a row error with `missing = "error"`.
//! - A JSON string → text, for any column: the loader parses it as PostgreSQL parses a CSV
//!   field, as `->>` and a cast would (`"42"` loads into an int column). With a factor the
//!   string must be a decimal number.
//! - A number → `int` (an integer in the bigint range), `float`, `numeric` (exact decimal
//!   text; with a factor scaled exactly), `text` (its JSON text).
//! - `true`/`false` → `boolean` or `text`.
//! - An object or array → `json`, or `text` (its JSON text).
//! - Anything else is a row error naming the key and the column.
//!
//! Numbers are read as `serde_json` reads them: integers in the 64-bit range exactly,
//! others as `f64` (about 17 significant digits; `99999999999999999999` becomes `1e+20`).
//! Send such numbers as JSON strings when every digit counts.

use dgkafka_transform_sdk::prelude::*;
use dgkafka_transform_sdk::serde_json::Value as Json;

mod decimal;
mod pick;

use decimal::Decimal;

/// The config keys.
const KEYS: &[&str] = &["fields", "missing", "input_column"];

pub struct JsonFields {
    /// The input column holding the JSON message.
    input: usize,
    /// One per output column, in order.
    fields: Vec<Field>,
    missing_is_error: bool,
    /// When every source is a top-level key (no pointer), only those keys are read from
    /// each message ([`pick`]).
    top_level: Option<TopLevelKeys>,
}

/// What was read of one message.
enum Picked<'a> {
    /// The values of the distinct keys, and per field the index of its key.
    Keys(Vec<Option<Json>>, &'a [usize]),
    /// The whole document (a field reads a JSON pointer, or the input is not text).
    Whole(Json),
}

/// The distinct keys the fields read, and per field the index of its key.
struct TopLevelKeys {
    keys: Vec<String>,
    of_field: Vec<usize>,
}

impl TopLevelKeys {
    fn of(fields: &[Field]) -> Option<TopLevelKeys> {
        let mut keys: Vec<String> = Vec::new();
        let mut of_field = Vec::with_capacity(fields.len());
        for field in fields {
            let Source::Key(key) = &field.source else {
                return None;
            };
            let index = keys.iter().position(|k| k == key).unwrap_or_else(|| {
                keys.push(key.clone());
                keys.len() - 1
            });
            of_field.push(index);
        }
        Some(TopLevelKeys { keys, of_field })
    }
}

/// How one output column is read.
#[derive(Debug, Clone, PartialEq)]
struct Field {
    column: String,
    kind: Kind,
    source: Source,
    factor: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq)]
enum Source {
    Key(String),
    Pointer(String),
}

impl Source {
    fn parse(s: &str) -> Source {
        if s.starts_with('/') {
            Source::Pointer(s.to_owned())
        } else {
            Source::Key(s.to_owned())
        }
    }

    fn name(&self) -> &str {
        match self {
            Source::Key(k) | Source::Pointer(k) => k,
        }
    }

    fn lookup<'a>(&self, doc: &'a Json) -> Option<&'a Json> {
        match self {
            Source::Key(k) => doc.get(k),
            Source::Pointer(p) => doc.pointer(p),
        }
    }
}

impl Transform for JsonFields {
    fn init(config: &Config, input: &Schema, output: &Schema) -> Result<Self> {
        config.deny_unknown(KEYS)?;
        let input_index = match config.get_str("input_column") {
            Some(name) => input.require(name).context("config key `input_column`")?,
            None => input
                .columns()
                .iter()
                .position(|c| c.kind == Kind::Json)
                .ok_or_else(|| {
                    Error::new(format!(
                        "the input has no json column (columns: {}); \
                         json-fields reads a json-format topic such as `jdata json`",
                        input.names().join(", ")
                    ))
                })?,
        };
        let missing_is_error = match config.get_str_or("missing", "null") {
            "null" => false,
            "error" => true,
            other => {
                return Err(Error::new(format!(
                    "config key `missing`: `{other}` is neither `null` nor `error`"
                )));
            }
        };

        let mut fields: Vec<Field> = output
            .columns()
            .iter()
            .map(|c| Field {
                column: c.name.clone(),
                kind: c.kind,
                source: Source::Key(c.name.clone()),
                factor: None,
            })
            .collect();
        let mut mapped = vec![false; fields.len()];
        for entry in config.get_list("fields")? {
            // `column=key`; `column:key` is read too (the first `=`, else the first `:`).
            let (column, source) = entry
                .split_once('=')
                .or_else(|| entry.split_once(':'))
                .ok_or_else(|| {
                    Error::new(format!(
                        "config key `fields`: `{entry}` is not `column=key` or `column=key*factor`"
                    ))
                })?;
            let (column, source) = (column.trim(), source.trim());
            let index = output
                .require(column)
                .context(format!("config key `fields`: `{entry}`"))?;
            if std::mem::replace(&mut mapped[index], true) {
                return Err(Error::new(format!(
                    "config key `fields`: column `{column}` is mapped twice"
                )));
            }
            let field = &mut fields[index];
            let (source, factor) = split_factor(source);
            if source.is_empty() {
                return Err(Error::new(format!(
                    "config key `fields`: `{entry}` names no key"
                )));
            }
            field.source = Source::parse(source);
            if let Some(factor) = factor {
                if !matches!(field.kind, Kind::Numeric | Kind::Float) {
                    return Err(Error::new(format!(
                        "config key `fields`: `{entry}`: a factor needs a numeric or float \
                         column, `{column}` is {}",
                        field.kind
                    )));
                }
                field.factor = Some(factor);
            }
        }
        Ok(JsonFields {
            input: input_index,
            top_level: TopLevelKeys::of(&fields),
            fields,
            missing_is_error,
        })
    }

    fn transform(&mut self, row: &Row, out: &mut Output) -> Result<()> {
        let input = row.get(self.input).ok_or("the row has no JSON value")?;
        // Either only the keys wanted (one value per distinct key), or the whole document.
        let picked = match (&self.top_level, input) {
            (Some(top), Value::Json(text) | Value::Text(text)) => {
                let values = pick::pick(text, &top.keys)
                    .map_err(|e| Error::new(format!("invalid JSON: {e}")))?;
                Picked::Keys(values, &top.of_field)
            }
            _ => Picked::Whole(input.parse_json()?),
        };
        let mut values = Vec::with_capacity(self.fields.len());
        for (i, field) in self.fields.iter().enumerate() {
            let json = match &picked {
                Picked::Keys(values, of_field) => values[of_field[i]].as_ref(),
                Picked::Whole(doc) => field.source.lookup(doc),
            };
            let value = match json {
                None if self.missing_is_error => {
                    return Err(Error::new(format!(
                        "key `{}` (for column `{}`) is missing",
                        field.source.name(),
                        field.column
                    )));
                }
                None => Value::Null,
                Some(json) => convert(field, json).map_err(|e| {
                    e.context(format!(
                        "key `{}` (for column `{}`, {})",
                        field.source.name(),
                        field.column,
                        field.kind
                    ))
                })?,
            };
            values.push(value);
        }
        out.emit(values);
        Ok(())
    }
}

dgkafka_transform_sdk::export_transform!(JsonFields);

/// `some_intfield*0.075` → (`some_intfield`, 0.075); a `*` not followed by a decimal is
/// part of the key.
fn split_factor(source: &str) -> (&str, Option<Decimal>) {
    if let Some((key, factor)) = source.rsplit_once('*')
        && let Ok(factor) = factor.trim().parse::<Decimal>()
    {
        return (key.trim(), Some(factor));
    }
    (source, None)
}

/// The column value of `json`: [`Value::from_json`], scaled by the factor if any.
fn convert(field: &Field, json: &Json) -> Result<Value> {
    let Some(factor) = &field.factor else {
        return Value::from_json(json, field.kind);
    };
    let text = match json {
        Json::Null => return Ok(Value::Null),
        // Integers directly, without printing and parsing them again.
        Json::Number(n) if n.as_i64().is_some() || n.as_u64().is_some() => {
            let d = n
                .as_i64()
                .map_or_else(|| Decimal::from(n.as_u64().unwrap_or(0)), Decimal::from);
            return scaled(field, &d, factor, || n.to_string());
        }
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.trim().to_owned(),
        other => {
            return Err(Error::new(format!(
                "expected a number, got {}",
                dgkafka_transform_sdk::json_type_name(other)
            )));
        }
    };
    let d = text
        .parse::<Decimal>()
        .map_err(|e| Error::new(format!("`{text}` is not a decimal number: {e}")))?;
    scaled(field, &d, factor, || text.clone())
}

/// `d * factor` as the field's column value; `text` is `d` as the message wrote it.
fn scaled(
    field: &Field,
    d: &Decimal,
    factor: &Decimal,
    text: impl FnOnce() -> String,
) -> Result<Value> {
    let product = d
        .checked_mul(factor)
        .ok_or_else(|| Error::new(format!("`{}` * {factor} has too many digits", text())))?;
    Ok(if field.kind == Kind::Float {
        Value::Float(product.to_string().parse::<f64>()?)
    } else {
        Value::Numeric(product.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dgkafka_transform_sdk::testing::Harness;

    const SEED_FIELDS: &str =
        "cust_id=customer_id, field2=some_intfield*0.075, j1=customer_id, j2=some_intfield";
    const SEED_TABLE: &str = "cust_id int, field2 decimal(7,2), j1 int, j2 text";

    fn seed() -> Harness<JsonFields> {
        Harness::new([("fields", SEED_FIELDS)], "jdata json", SEED_TABLE).unwrap()
    }

    #[test]
    fn reproduces_the_seed_mappings() {
        let mut h = seed();
        let o = h.run_json(&[
            r#"{ "customer_id": 1313131, "some_intfield": 12 }"#,
            r#"{ "customer_id": 77, "some_intfield": 7 }"#,
            r#"{ "customer_id": 1234, "some_intfield": 56 }"#,
        ]);
        let row = |id: i64, f2: &str, j2: &str| {
            Outcome::Keep(vec![
                Value::Int(id),
                Value::numeric(f2),
                Value::Int(id),
                Value::text(j2),
            ])
        };
        assert_eq!(
            o,
            [
                row(1313131, "0.900", "12"),
                row(77, "0.525", "7"),
                row(1234, "4.200", "56")
            ]
        );
    }

    #[test]
    fn columns_default_to_keys_of_their_name() {
        let mut h = Harness::<JsonFields>::new(
            None::<(&str, &str)>,
            "jdata json",
            "customer_id bigint, some_intfield numeric, tags jsonb, name text, ok boolean, \
             score double precision",
        )
        .unwrap();
        let o = h.run_json(&[
            r#"{"customer_id": 42, "some_intfield": 1.5e3, "tags": ["a"], "name": 7,
                "ok": true, "score": 2}"#,
            r#"{"customer_id": "42", "tags": null}"#,
        ]);
        assert_eq!(
            o[0],
            Outcome::Keep(vec![
                Value::Int(42),
                Value::numeric("1500.0"),
                Value::json_text(r#"["a"]"#),
                Value::text("7"),
                Value::Bool(true),
                Value::Float(2.0),
            ])
        );
        // A string goes through as text (the loader parses it); missing keys are NULL.
        assert_eq!(
            o[1],
            Outcome::Keep(vec![
                Value::text("42"),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ])
        );
    }

    #[test]
    fn colon_form_reads_too() {
        let mut h = Harness::<JsonFields>::new(
            [(
                "fields",
                "customer_id:customer_id,field2:some_intfield*0.075",
            )],
            "jdata json",
            "customer_id integer, field2 numeric(12,2)",
        )
        .unwrap();
        let o = h.run_json(&[r#"{"customer_id": 77, "some_intfield": 7}"#]);
        assert_eq!(
            o[0],
            Outcome::Keep(vec![Value::Int(77), Value::numeric("0.525")])
        );
    }

    #[test]
    fn pointers_and_float_factors() {
        let mut h = Harness::<JsonFields>::new(
            [(
                "fields",
                r#"["id=/order/id", "cents=/order/total*100", "b=a*b"]"#,
            )],
            "jdata json",
            "id int, cents double precision, b text",
        )
        .unwrap();
        let o = h.run_json(&[r#"{"order": {"id": 5, "total": "12.34"}, "a*b": "x"}"#]);
        assert_eq!(
            o[0],
            Outcome::Keep(vec![Value::Int(5), Value::Float(1234.0), Value::text("x")])
        );
    }

    #[test]
    fn wrong_types_and_missing_keys_are_row_errors_naming_the_key() {
        let mut h = Harness::<JsonFields>::new(
            [("fields", SEED_FIELDS), ("missing", "error")],
            "jdata json",
            SEED_TABLE,
        )
        .unwrap();
        let o = h.run_json(&[
            r#"{"customer_id": {"a": 1}, "some_intfield": 1}"#,
            r#"{"customer_id": 1}"#,
            r#"{"customer_id": 1, "some_intfield": [1]}"#,
            r#"{"customer_id": 1.5, "some_intfield": 1}"#,
            r#"{"customer_id": 1, "some_intfield": "x"}"#,
            r#"{"customer_id": 99999999999999999999, "some_intfield": 1}"#,
        ]);
        let errors: Vec<_> = o.iter().map(|o| o.error().unwrap_or("(ok)")).collect();
        assert_eq!(
            errors,
            [
                "key `customer_id` (for column `cust_id`, int): expected an integer, got an object",
                "key `some_intfield` (for column `field2`) is missing",
                "key `some_intfield` (for column `field2`, numeric): expected a number, got an array",
                "key `customer_id` (for column `cust_id`, int): expected an integer in the bigint range, got 1.5",
                "key `some_intfield` (for column `field2`, numeric): `x` is not a decimal number: not a digit",
                "key `customer_id` (for column `cust_id`, int): expected an integer in the bigint range, got 1e+20",
            ]
        );
    }

    #[test]
    fn config_errors_name_key_and_column() {
        let init = |fields: &str, output: &str| {
            Harness::<JsonFields>::new([("fields", fields)], "jdata json", output)
                .err()
                .map(|e| e.to_string())
        };
        assert_eq!(
            init("nope=a", "a int").unwrap(),
            "config key `fields`: `nope=a`: no column named `nope` (the columns are: a)"
        );
        assert_eq!(
            init("a=x*2", "a int").unwrap(),
            "config key `fields`: `a=x*2`: a factor needs a numeric or float column, `a` is int"
        );
        assert_eq!(
            init("a", "a int").unwrap(),
            "config key `fields`: `a` is not `column=key` or `column=key*factor`"
        );
        assert_eq!(
            init("a=x, a=y", "a int").unwrap(),
            "config key `fields`: column `a` is mapped twice"
        );
        let e = Harness::<JsonFields>::new([("x", "1")], "jdata json", "a int")
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "unknown config key `x` (known keys: fields, missing, input_column)"
        );
        let e = Harness::<JsonFields>::new(None::<(&str, &str)>, "v bytea", "a int")
            .err()
            .unwrap();
        assert!(
            e.to_string().starts_with("the input has no json column"),
            "{e}"
        );
        let e = Harness::<JsonFields>::new([("missing", "maybe")], "j json", "a int")
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "config key `missing`: `maybe` is neither `null` nor `error`"
        );
    }

    #[test]
    fn sample_file_loads() {
        let sample = include_str!("../sample.jsonl");
        let lines: Vec<&str> = sample.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut h = seed();
        let o = h.run_json(&lines);
        assert!(o.iter().all(|o| o.kept().is_some()), "{o:?}");
    }
}
