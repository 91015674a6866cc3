//! `filter-router`: drops some JSON messages and splits others into several rows.
//!
//! Input: a json-format topic, one `json` value per message (`kafka.input.columns =
//! "jdata json"`). Each message is a JSON object with a type, e.g.
//!
//! ```json
//! {"type": "order", "order_id": 17, "customer": "ada", "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-9", "qty": 1}]}
//! {"type": "heartbeat"}
//! {"type": "refund", "order_id": 12}
//! ```
//!
//! Per message:
//! - its type (the string at `type_field`) is in `drop_types` → dropped, nothing loaded;
//! - its type is in `split_types` and `split_field` holds an array → one row per element
//!   (an empty array loads nothing); each element must be an object;
//! - otherwise → one row.
//!
//! Each output column `c` takes the key `c` of the element (for a split row, when the
//! element has it) or else of the message; a key in neither is NULL. Values convert by the
//! column's kind as the SDK's `Value::from_json` says (a string goes through as text; a
//! number into int, float or numeric; an object or array into json); a mismatch is a row
//! error naming the key. With the messages above and the table `(order_id bigint, sku
//! text, qty int, customer text)`:
//! `(17, 'A-1', 2, 'ada')`, `(17, 'B-9', 1, 'ada')`, nothing, `(12, NULL, NULL, NULL)`.
//!
//! ```toml
//! [kafka.transform]
//! module = "filter_router.wasm"
//! [kafka.transform.config]
//! drop_types = "heartbeat, test"   # default: none
//! split_types = "order"            # default: "order"
//! split_field = "items"            # default: "items"
//! type_field = "type"              # default: "type"
//! ```

use dgkafka_transform_sdk::prelude::*;
use dgkafka_transform_sdk::serde_json::{Map, Value as Json};

const KEYS: &[&str] = &["drop_types", "split_types", "split_field", "type_field"];

pub struct FilterRouter {
    input: usize,
    type_field: String,
    split_field: String,
    drop_types: Vec<String>,
    split_types: Vec<String>,
    /// The output columns: name and kind.
    columns: Vec<(String, Kind)>,
}

impl Transform for FilterRouter {
    fn init(config: &Config, input: &Schema, output: &Schema) -> Result<Self> {
        config.deny_unknown(KEYS)?;
        let input_index = input
            .columns()
            .iter()
            .position(|c| c.kind == Kind::Json)
            .ok_or_else(|| {
                Error::new(format!(
                    "the input has no json column (columns: {}); filter-router reads a \
                     json-format topic such as `jdata json`",
                    input.names().join(", ")
                ))
            })?;
        let split_types = match config.get_str("split_types") {
            None => vec![String::from("order")],
            Some(_) => config.get_list("split_types")?,
        };
        Ok(FilterRouter {
            input: input_index,
            type_field: config.get_str_or("type_field", "type").to_owned(),
            split_field: config.get_str_or("split_field", "items").to_owned(),
            drop_types: config.get_list("drop_types")?,
            split_types,
            columns: output
                .columns()
                .iter()
                .map(|c| (c.name.clone(), c.kind))
                .collect(),
        })
    }

    fn transform(&mut self, row: &Row, out: &mut Output) -> Result<()> {
        let doc = row
            .get(self.input)
            .ok_or("the row has no JSON value")?
            .parse_json()?;
        let Json::Object(message) = &doc else {
            return Err(Error::new(format!(
                "expected a JSON object, got {}",
                dgkafka_transform_sdk::json_type_name(&doc)
            )));
        };
        let kind = message.get(&self.type_field).and_then(Json::as_str);
        if kind.is_some_and(|t| self.drop_types.iter().any(|d| d == t)) {
            return Ok(());
        }
        if kind.is_some_and(|t| self.split_types.iter().any(|s| s == t))
            && let Some(Json::Array(items)) = message.get(&self.split_field)
        {
            for (i, item) in items.iter().enumerate() {
                let Json::Object(item) = item else {
                    return Err(Error::new(format!(
                        "`{}[{i}]` is {}, not an object",
                        self.split_field,
                        dgkafka_transform_sdk::json_type_name(item)
                    )));
                };
                out.emit(self.values(Some((item, i)), message)?);
            }
            return Ok(());
        }
        out.emit(self.values(None, message)?);
        Ok(())
    }
}

impl FilterRouter {
    /// One output row: each column from the item (when splitting), else the message.
    fn values(
        &self,
        item: Option<(&Map<String, Json>, usize)>,
        message: &Map<String, Json>,
    ) -> Result<Vec<Value>> {
        self.columns
            .iter()
            .map(|(name, kind)| {
                let (json, path) = match item.and_then(|(item, i)| Some((item.get(name)?, i))) {
                    Some((json, i)) => (Some(json), format!("{}[{i}].{name}", self.split_field)),
                    None => (message.get(name), name.clone()),
                };
                match json {
                    None => Ok(Value::Null),
                    Some(json) => Value::from_json(json, *kind).map_err(|e| {
                        e.context(format!("key `{path}` (for column `{name}`, {kind})"))
                    }),
                }
            })
            .collect()
    }
}

dgkafka_transform_sdk::export_transform!(FilterRouter);

#[cfg(test)]
mod tests {
    use super::*;
    use dgkafka_transform_sdk::testing::Harness;

    const TABLE: &str = "order_id bigint, sku text, qty int, customer text";

    fn harness(config: &[(&str, &str)]) -> Harness<FilterRouter> {
        Harness::new(config.iter().copied(), "jdata json", TABLE).unwrap()
    }

    fn row(
        id: Option<i64>,
        sku: Option<&str>,
        qty: Option<i64>,
        customer: Option<&str>,
    ) -> Vec<Value> {
        vec![id.into(), sku.into(), qty.into(), customer.into()]
    }

    #[test]
    fn drops_splits_and_keeps() {
        let mut h = harness(&[("drop_types", "heartbeat, test")]);
        let o = h.run_json(&[
            r#"{"type": "order", "order_id": 17, "customer": "ada",
                "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-9", "qty": 1, "customer": "bob"}]}"#,
            r#"{"type": "heartbeat"}"#,
            r#"{"type": "refund", "order_id": 12}"#,
            r#"{"type": "order", "order_id": 18, "items": []}"#,
            r#"{"type": "order", "order_id": 19}"#,
            r#"{"order_id": 20, "type": 5}"#,
        ]);
        assert_eq!(
            o,
            [
                Outcome::Split(vec![
                    row(Some(17), Some("A-1"), Some(2), Some("ada")),
                    // An item's key wins over the message's.
                    row(Some(17), Some("B-9"), Some(1), Some("bob")),
                ]),
                Outcome::Drop,
                Outcome::Keep(row(Some(12), None, None, None)),
                Outcome::Drop,
                Outcome::Keep(row(Some(19), None, None, None)),
                Outcome::Keep(row(Some(20), None, None, None)),
            ]
        );
    }

    #[test]
    fn single_item_orders_keep_one_row_and_config_renames_fields() {
        let mut h = harness(&[
            ("type_field", "kind"),
            ("split_field", "lines"),
            ("split_types", "[\"order\", \"return\"]"),
        ]);
        let o = h.run_json(&[
            r#"{"kind": "return", "order_id": 3, "lines": [{"sku": "Z", "qty": -1}]}"#,
            r#"{"type": "order", "order_id": 4, "items": [{"sku": "Z"}]}"#,
        ]);
        assert_eq!(o[0], Outcome::Keep(row(Some(3), Some("Z"), Some(-1), None)));
        // `type`/`items` mean nothing now: one row, from the message.
        assert_eq!(o[1], Outcome::Keep(row(Some(4), None, None, None)));
    }

    #[test]
    fn bad_messages_are_row_errors_naming_the_key() {
        let mut h = harness(&[]);
        let o = h.run_json(&[
            r#"[1, 2]"#,
            r#"{"type": "order", "order_id": 1, "items": [{"sku": "A"}, 7]}"#,
            r#"{"type": "order", "order_id": 1, "items": [{"sku": "A", "qty": 1.5}]}"#,
            r#"{"type": "x", "order_id": {"n": 1}}"#,
        ]);
        let errors: Vec<_> = o.iter().map(|o| o.error().unwrap_or("(ok)")).collect();
        assert_eq!(
            errors,
            [
                "expected a JSON object, got an array",
                "`items[1]` is a number, not an object",
                "key `items[0].qty` (for column `qty`, int): expected an integer in the bigint range, got 1.5",
                "key `order_id` (for column `order_id`, int): expected an integer, got an object",
            ]
        );
    }

    #[test]
    fn config_errors() {
        let e = Harness::<FilterRouter>::new([("drop", "x")], "jdata json", TABLE)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "unknown config key `drop` (known keys: drop_types, split_types, split_field, type_field)"
        );
        let e = Harness::<FilterRouter>::new(None::<(&str, &str)>, "a text", TABLE)
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with("the input has no json column (columns: a)"),
            "{e}"
        );
    }

    #[test]
    fn sample_file_loads() {
        let sample = include_str!("../sample.jsonl");
        let lines: Vec<&str> = sample.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut h = harness(&[("drop_types", "heartbeat")]);
        let o = h.run_json(&lines);
        assert!(o.iter().all(|o| o.error().is_none()), "{o:?}");
        let rows: usize = o.iter().map(|o| o.rows().len()).sum();
        assert_eq!(rows, 5);
    }
}
