//! The `QUERY` filter: `dg_utils.xdrive_query($$k=v&k=v$$)` reaches a plugin as
//! `Filter { op: "QUERY", args: ["k=v&k=v"] }`.
//!
//! Rules of [`parse`]: pairs are separated by `&`; each pair is `key=value`, split at its
//! first `=` (so a value may contain `=`); spaces, tabs and newlines around keys and values
//! are trimmed; empty pairs (`a=1&&b=2`, a trailing `&`) are skipped; a pair without `=` or
//! with an empty key is an error. Keys are case-sensitive. **A key given twice is an
//! error** ([`QueryError::DuplicateKey`]): the plugins' keys are single-valued, and a
//! repeated `start=` is far more likely a mistake than a wish. No percent-decoding.
//!
//! ```
//! use xdrive_proto::query;
//!
//! let q = query::parse("group=g1 & start=-2,-2\n&limit=10").unwrap();
//! assert_eq!(q.pairs(), &[("group", "g1"), ("start", "-2,-2"), ("limit", "10")]);
//! assert_eq!(q.get("limit"), Some("10"));
//! assert!(query::parse("a=1&a=2").is_err());
//! ```

use crate::message::{FILTER_OP_QUERY, Filter};

/// Parsed `key=value` pairs, in the order given, borrowing the query string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Query<'a> {
    /// The pairs, in the order given.
    pub fn pairs(&self) -> &[(&'a str, &'a str)] {
        &self.pairs
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }

    /// The keys not in `known`, in order: for an error naming what a plugin does not
    /// understand.
    pub fn unknown_keys<'k>(&'k self, known: &'k [&str]) -> impl Iterator<Item = &'a str> + 'k {
        self.pairs
            .iter()
            .map(|&(k, _)| k)
            .filter(move |k| !known.contains(k))
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Why a query string or the filters carrying it are not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A pair has no `=`.
    #[error("query pair {index} (\"{pair}\") is not key=value")]
    MissingEquals {
        /// Position among the non-empty pairs, from 0.
        index: usize,
        /// The pair as given, trimmed.
        pair: String,
    },
    /// A pair has nothing before its `=`.
    #[error("query pair {index} (\"{pair}\") has an empty key")]
    EmptyKey {
        /// Position among the non-empty pairs, from 0.
        index: usize,
        /// The pair as given, trimmed.
        pair: String,
    },
    /// A key is given twice.
    #[error("query key \"{key}\" is given more than once")]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// More than one `QUERY` filter arrived.
    #[error("the request carries {count} QUERY filters; at most one is supported")]
    SeveralQueries {
        /// How many.
        count: usize,
    },
    /// A `QUERY` filter has no argument.
    #[error("the request's QUERY filter has no argument")]
    MissingArgument,
}

/// Parses a query string; see the [module docs](self) for the rules.
pub fn parse(query: &str) -> Result<Query<'_>, QueryError> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for (index, pair) in query
        .split('&')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(QueryError::MissingEquals {
                index,
                pair: pair.to_owned(),
            });
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(QueryError::EmptyKey {
                index,
                pair: pair.to_owned(),
            });
        }
        if pairs.iter().any(|&(k, _)| k == key) {
            return Err(QueryError::DuplicateKey {
                key: key.to_owned(),
            });
        }
        pairs.push((key, value.trim()));
    }
    Ok(Query { pairs })
}

/// The query string of the request's `QUERY` filter (`op` exactly `"QUERY"`), if there is
/// one: its first argument.
pub fn find(filters: &[Filter]) -> Result<Option<&str>, QueryError> {
    let mut queries = filters.iter().filter(|f| f.op == FILTER_OP_QUERY);
    let Some(first) = queries.next() else {
        return Ok(None);
    };
    let rest = queries.count();
    if rest > 0 {
        return Err(QueryError::SeveralQueries { count: rest + 1 });
    }
    first
        .args
        .first()
        .map(|s| Some(s.as_str()))
        .ok_or(QueryError::MissingArgument)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(op: &str, args: &[&str]) -> Filter {
        Filter {
            op: op.into(),
            column: String::new(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn pairs_in_order() {
        let q = parse("group=g&start=-2,-2&end=5,6&limit=1000&timeout=-1").unwrap();
        assert_eq!(
            q.pairs(),
            &[
                ("group", "g"),
                ("start", "-2,-2"),
                ("end", "5,6"),
                ("limit", "1000"),
                ("timeout", "-1")
            ]
        );
        assert_eq!(q.get("end"), Some("5,6"));
        assert_eq!(q.get("nope"), None);
        assert_eq!(
            q.unknown_keys(&["group", "start", "limit"])
                .collect::<Vec<_>>(),
            ["end", "timeout"]
        );
    }

    #[test]
    fn whitespace_empty_pairs_and_equals_in_values() {
        let q = parse("  a = 1 &&\n b=x=y & c= &").unwrap();
        assert_eq!(q.pairs(), &[("a", "1"), ("b", "x=y"), ("c", "")]);
        assert!(parse("").unwrap().is_empty());
        assert!(parse(" & ").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_pair() {
        assert_eq!(
            parse("a=1&oops").unwrap_err().to_string(),
            "query pair 1 (\"oops\") is not key=value"
        );
        assert_eq!(
            parse("=1").unwrap_err(),
            QueryError::EmptyKey {
                index: 0,
                pair: "=1".into()
            }
        );
        assert_eq!(
            parse("a=1&b=2& a =3").unwrap_err().to_string(),
            "query key \"a\" is given more than once"
        );
        // Keys are case-sensitive.
        assert_eq!(parse("a=1&A=2").unwrap().pairs().len(), 2);
    }

    #[test]
    fn find_the_query_filter() {
        assert_eq!(find(&[]), Ok(None));
        assert_eq!(find(&[filter("EQ", &["x"])]), Ok(None));
        assert_eq!(
            find(&[filter("EQ", &["x"]), filter("QUERY", &["a=1", "ignored"])]),
            Ok(Some("a=1"))
        );
        assert_eq!(
            find(&[filter("QUERY", &[])]),
            Err(QueryError::MissingArgument)
        );
        assert_eq!(
            find(&[filter("QUERY", &["a=1"]), filter("QUERY", &["b=2"])]),
            Err(QueryError::SeveralQueries { count: 2 })
        );
    }
}
