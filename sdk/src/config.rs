//! The `[kafka.transform.config]` table as the transform receives it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The transform's configuration: the `[kafka.transform.config]` table of `dgkafka.toml`,
/// each value as TOML text, strings without their quotes (`fields = "a,b"` arrives as
/// `a,b`, `scale = 0.5` as `0.5`, `list = ["a", "b"]` as `["a", "b"]`).
///
/// The getters name the key in their errors, so `init` can return them as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    values: BTreeMap<String, String>,
}

impl Config {
    /// A configuration from key/value pairs; a later duplicate key wins.
    pub fn new<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Config
    where
        K: Into<String>,
        V: Into<String>,
    {
        Config {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `key`, if set.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The value of `key`, or an error saying it must be set.
    pub fn require(&self, key: &str) -> Result<&str> {
        self.get_str(key).ok_or_else(|| {
            Error::new(format!(
                "config key `{key}` is required: set it in [kafka.transform.config]"
            ))
        })
    }

    /// The value of `key`, or `default`.
    pub fn get_str_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get_str(key).unwrap_or(default)
    }

    /// `key` parsed as `T` (`u32`, `i64`, `f64`, `bool`, ...), `None` when unset.
    pub fn get<T>(&self, key: &str) -> Result<Option<T>>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let Some(raw) = self.get_str(key) else {
            return Ok(None);
        };
        let text = unquote(raw.trim());
        text.parse::<T>().map(Some).map_err(|e| {
            Error::new(format!(
                "config key `{key}`: cannot read `{raw}` as {}: {e}",
                short_type_name::<T>()
            ))
        })
    }

    /// `key` parsed as `T`, or `default` when unset.
    pub fn get_or<T>(&self, key: &str, default: T) -> Result<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        Ok(self.get(key)?.unwrap_or(default))
    }

    /// `key` as `true`/`false`, or `default` when unset.
    pub fn get_bool(&self, key: &str, default: bool) -> Result<bool> {
        self.get_or(key, default)
    }

    /// `key` as a list of strings: either comma-separated text (`fields = "a, b"`) or a
    /// TOML array of strings (`fields = ["a", "b"]`). Items are trimmed, empty items
    /// skipped; an unset key is an empty list.
    pub fn get_list(&self, key: &str) -> Result<Vec<String>> {
        let Some(raw) = self.get_str(key) else {
            return Ok(Vec::new());
        };
        let text = raw.trim();
        if text.starts_with('[') {
            return parse_toml_string_array(text)
                .map_err(|e| Error::new(format!("config key `{key}`: {e}")));
        }
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// Fails naming the first key not in `known`, so a typo does not pass silently.
    pub fn deny_unknown(&self, known: &[&str]) -> Result<()> {
        match self.values.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => Err(Error::new(format!(
                "unknown config key `{k}` (known keys: {})",
                known.join(", ")
            ))),
        }
    }

    /// The keys and values, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// `"x"` or `'x'` → `x` (a TOML string passed through with its quotes).
fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    match full {
        "bool" => "true or false",
        "f32" | "f64" => "a number",
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer",
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer",
        _ => full.rsplit("::").next().unwrap_or(full),
    }
}

/// Parses `["a", 'b', "c\"d"]`: basic strings with the common escapes, literal strings
/// and bare words (numbers, booleans), across lines, with an optional trailing comma.
fn parse_toml_string_array(text: &str) -> Result<Vec<String>, String> {
    let body = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| format!("`{text}` is not a TOML array"))?;
    let mut items = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&c) = chars.peek() else { break };
        let item = match c {
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("unterminated string in `{text}`")),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some('"') => s.push('"'),
                            Some('\\') => s.push('\\'),
                            other => {
                                return Err(format!(
                                    "unsupported escape `\\{}` in `{text}`",
                                    other.map(String::from).unwrap_or_default()
                                ));
                            }
                        },
                        Some(c) => s.push(c),
                    }
                }
                s
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("unterminated string in `{text}`")),
                        Some('\'') => break,
                        Some(c) => s.push(c),
                    }
                }
                s
            }
            '[' | '{' => return Err(format!("nested arrays and tables in `{text}`")),
            _ => {
                let mut s = String::new();
                while let Some(c) = chars.next_if(|&c| c != ',' && !c.is_whitespace()) {
                    s.push(c);
                }
                s
            }
        };
        items.push(item);
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(c) => return Err(format!("expected `,` or `]` before `{c}` in `{text}`")),
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        Config::new(pairs.iter().copied())
    }

    #[test]
    fn require_names_the_key() {
        let c = cfg(&[("a", "x")]);
        assert_eq!(c.require("a").unwrap(), "x");
        assert_eq!(
            c.require("fields").unwrap_err().to_string(),
            "config key `fields` is required: set it in [kafka.transform.config]"
        );
        assert_eq!(c.get_str("b"), None);
        assert_eq!(c.get_str_or("b", "d"), "d");
    }

    #[test]
    fn typed_getters_name_key_value_and_type() {
        let c = cfg(&[("n", "12"), ("f", "0.075"), ("b", "true"), ("bad", "1x")]);
        assert_eq!(c.get::<u32>("n").unwrap(), Some(12));
        assert_eq!(c.get::<u32>("missing").unwrap(), None);
        assert_eq!(c.get_or::<f64>("f", 1.0).unwrap(), 0.075);
        assert!(c.get_bool("b", false).unwrap());
        assert!(!c.get_bool("missing", false).unwrap());
        assert_eq!(
            c.get::<i64>("bad").unwrap_err().to_string(),
            "config key `bad`: cannot read `1x` as an integer: invalid digit found in string"
        );
        assert_eq!(
            c.get_bool("n", false).unwrap_err().to_string(),
            "config key `n`: cannot read `12` as true or false: \
             provided string was not `true` or `false`"
        );
        // A quoted value still reads.
        assert_eq!(cfg(&[("n", "\"7\"")]).get::<u8>("n").unwrap(), Some(7));
    }

    #[test]
    fn lists_from_commas_or_toml_arrays() {
        let c = cfg(&[
            ("a", " c_phone, c_address ,,"),
            ("b", r#"["x, y", 'z', "q\"", 3]"#),
            ("c", "[]"),
            ("d", "[\"a\""),
            ("e", "[\"a\" \"b\"]"),
        ]);
        assert_eq!(c.get_list("a").unwrap(), ["c_phone", "c_address"]);
        assert_eq!(c.get_list("b").unwrap(), ["x, y", "z", "q\"", "3"]);
        assert!(c.get_list("c").unwrap().is_empty());
        assert!(c.get_list("missing").unwrap().is_empty());
        assert_eq!(
            c.get_list("d").unwrap_err().to_string(),
            "config key `d`: `[\"a\"` is not a TOML array"
        );
        assert_eq!(
            c.get_list("e").unwrap_err().to_string(),
            "config key `e`: expected `,` or `]` before `\"` in `[\"a\" \"b\"]`"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let c = cfg(&[("fields", "a"), ("feilds", "b")]);
        assert_eq!(
            c.deny_unknown(&["fields", "missing"])
                .unwrap_err()
                .to_string(),
            "unknown config key `feilds` (known keys: fields, missing)"
        );
        assert!(c.deny_unknown(&["fields", "feilds"]).is_ok());
    }
}
