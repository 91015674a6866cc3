//! Reads only the wanted top-level keys of a JSON object, in one pass.
//!
//! Why by hand rather than `serde_json::from_str::<Value>` then `get`: building the whole
//! document allocates every key and string of the message (the seed's messages carry a
//! name and a comment nobody loads), which was most of the transform's time. Here the
//! wanted keys' values become [`Json`] and everything else is skipped with serde's
//! `IgnoredAny`, on the same serde_json tokenizer, so what is valid JSON and the error
//! messages are unchanged. A later duplicate key wins, as in `serde_json::Map`; a
//! document that is not an object has none of the keys, as `Value::get` says.

use std::fmt;

use dgkafka_transform_sdk::serde_json::{self, Value as Json};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Per key of `keys`, its value in `text` (`None`: not there, or `text` is no object).
pub fn pick(text: &str, keys: &[String]) -> serde_json::Result<Vec<Option<Json>>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let values = Document { keys }.deserialize(&mut de)?;
    de.end()?;
    Ok(values)
}

struct Document<'k> {
    keys: &'k [String],
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = Vec<Option<Json>>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl Document<'_> {
    fn none(&self) -> Vec<Option<Json>> {
        vec![None; self.keys.len()]
    }
}

/// The scalars and arrays: valid, but without keys.
macro_rules! no_keys {
    ($($method:ident($ty:ty)),*) => {$(
        fn $method<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Ok(self.none())
        }
    )*};
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = Vec<Option<Json>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    no_keys!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_f64(f64),
        visit_str(&str)
    );

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.none())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(self.none())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = self.none();
        while let Some(wanted) = map.next_key_seed(Key { keys: self.keys })? {
            match wanted {
                Some(i) => values[i] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(values)
    }
}

/// An object key: the index of the wanted key it is, without allocating it.
struct Key<'k> {
    keys: &'k [String],
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.keys.iter().position(|k| k == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `from_str::<Value>` then `get` gives, the reference.
    fn by_value(text: &str, keys: &[String]) -> serde_json::Result<Vec<Option<Json>>> {
        let doc: Json = serde_json::from_str(text)?;
        Ok(keys.iter().map(|k| doc.get(k).cloned()).collect())
    }

    fn keys(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn agrees_with_a_whole_parse() {
        let keys = keys(&["a", "b", "é\"x"]);
        for text in [
            r#"{"a": 1, "b": "two", "c": [1, {"a": 9}], "d": null}"#,
            r#"{"b": {"x": [1, 2]}, "a": -1.5e3}"#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"\u0061": "escaped key", "é\"x": true}"#,
            r#"{}"#,
            r#"[{"a": 1}]"#,
            r#""a""#,
            r#"12"#,
            r#"null"#,
            r#"  {"a": 18446744073709551615, "b": -9223372036854775808}  "#,
        ] {
            assert_eq!(
                pick(text, &keys).unwrap(),
                by_value(text, &keys).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn invalid_json_fails_as_a_whole_parse_does() {
        for text in [
            "",
            "{",
            r#"{"a": 1,}"#,
            r#"{"a": 1} x"#,
            r#"{"a": tru}"#,
            r#"{"c": [1, 2}"#,
            "{\"a\": \"\\ud800\"}",
            r#"{1: 2}"#,
        ] {
            let ours = pick(text, &keys(&["a"])).unwrap_err().to_string();
            let whole = by_value(text, &keys(&["a"])).unwrap_err().to_string();
            assert_eq!(ours, whole, "{text}");
        }
    }
}
