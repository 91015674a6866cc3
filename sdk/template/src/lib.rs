//! A dgkafka row transform: reads json messages such as
//! `{"user": "ada", "amount": 12.5, "test": false}`, drops test messages, and loads the
//! output columns (`kafka.input.columns`) from the keys of the same name, with the name
//! upper-cased.
//!
//! Config (`[kafka.transform.config]`): `upper = "user"`, the columns to upper-case.

use dgkafka_transform_sdk::log;
use dgkafka_transform_sdk::prelude::*;

pub struct MyTransform {
    /// Per output column: its name, kind and whether to upper-case it.
    columns: Vec<(String, Kind, bool)>,
}

impl Transform for MyTransform {
    fn init(config: &Config, _input: &Schema, output: &Schema) -> Result<Self> {
        config.deny_unknown(&["upper"])?;
        let upper = config.get_list("upper")?;
        for name in &upper {
            output
                .require(name)
                .context(format!("config key `upper`: `{name}`"))?;
        }
        log::info!("upper-casing {upper:?}");
        Ok(MyTransform {
            columns: output
                .columns()
                .iter()
                .map(|c| (c.name.clone(), c.kind, upper.contains(&c.name)))
                .collect(),
        })
    }

    fn transform(&mut self, row: &Row, out: &mut Output) -> Result<()> {
        let message = row.json()?;
        if message.get("test").and_then(|t| t.as_bool()) == Some(true) {
            return Ok(()); // nothing emitted: the message is dropped
        }
        let mut values = Vec::with_capacity(self.columns.len());
        for (name, kind, upper) in &self.columns {
            let value = match message.get(name) {
                None => Value::Null,
                Some(json) => Value::from_json(json, *kind).context(format!("key `{name}`"))?,
            };
            values.push(match value {
                Value::Text(s) if *upper => Value::Text(s.to_uppercase()),
                v => v,
            });
        }
        out.emit(values);
        Ok(())
    }
}

dgkafka_transform_sdk::export_transform!(MyTransform);

#[cfg(test)]
mod tests {
    use super::*;
    use dgkafka_transform_sdk::testing::Harness;

    #[test]
    fn upper_cases_and_drops_tests() {
        let mut h = Harness::<MyTransform>::new(
            [("upper", "user")],
            "jdata json",
            "user text, amount numeric(10,2)",
        )
        .unwrap();
        let outcomes = h.run_json(&[
            r#"{"user": "ada", "amount": 12.5}"#,
            r#"{"user": "bob", "amount": 1, "test": true}"#,
            r#"{"user": "cy", "amount": [1]}"#,
        ]);
        assert_eq!(
            outcomes[0],
            Outcome::Keep(vec![Value::text("ADA"), Value::numeric("12.5")])
        );
        assert_eq!(outcomes[1], Outcome::Drop);
        assert_eq!(
            outcomes[2].error(),
            Some("key `amount`: expected a number, got an array")
        );
    }

    #[test]
    fn init_names_an_unknown_column() {
        let e = Harness::<MyTransform>::new([("upper", "name")], "jdata json", "user text")
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "config key `upper`: `name`: no column named `name` (the columns are: user)"
        );
    }
}
