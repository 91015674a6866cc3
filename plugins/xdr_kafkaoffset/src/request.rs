//! What a request asks for, checked before any Kafka work: the read's query keys, its
//! fragment and the columns it wants, and the columns a write brings. No I/O.

use xdrive_plugin::proto::fragment::BadFragment;
use xdrive_plugin::proto::message::Filter;
use xdrive_plugin::proto::query::{self, QueryError};
use xdrive_plugin::proto::schema::{Column, Schema};
use xdrive_plugin::proto::spq::SpqType;

/// `consumer_group text`.
pub const COL_GROUP: &str = "consumer_group";
/// `topic text`.
pub const COL_TOPIC: &str = "topic";
/// `partition_number integer`.
pub const COL_PARTITION: &str = "partition_number";
/// `committed_offset bigint`.
pub const COL_COMMITTED: &str = "committed_offset";
/// `latest_offset bigint`.
pub const COL_LATEST: &str = "latest_offset";
/// `ts timestamp`.
pub const COL_TS: &str = "ts";

/// The query keys a read takes.
pub const READ_KEYS: &[&str] = &["group", "topic"];

/// Why a request cannot be served as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The query string is malformed.
    #[error("bad dg_utils.xdrive_query string")]
    Query(#[from] QueryError),
    /// A required query key is missing (or the read has no query at all).
    #[error(
        "the read needs query key \"{key}\": SELECT ... WHERE \
         dg_utils.xdrive_query($$group=GROUP&topic=TOPIC$$)"
    )]
    MissingKey {
        /// The key.
        key: &'static str,
    },
    /// A query key has an empty value.
    #[error("query key \"{key}\" is empty")]
    EmptyKey {
        /// The key.
        key: &'static str,
    },
    /// Query keys this plugin does not know.
    #[error("unknown query key(s) {}: xdr_kafkaoffset reads group and topic", quoted(.keys))]
    UnknownKeys {
        /// The keys, in the order given.
        keys: Vec<String>,
    },
    /// The fragment numbers make no sense.
    #[error(transparent)]
    BadFragment(#[from] BadFragment),
    /// A read asks for a column this plugin does not serve.
    #[error(
        "column \"{column}\" is not served: xdr_kafkaoffset serves consumer_group text, topic \
         text, partition_number integer, committed_offset bigint, latest_offset bigint, ts \
         timestamp"
    )]
    UnknownColumn {
        /// The column's name.
        column: String,
    },
    /// A column has a type this plugin does not serve for it.
    #[error("column \"{column}\" has type {got}, xdr_kafkaoffset serves it as {want}")]
    WrongType {
        /// The column's name.
        column: String,
        /// The type asked for.
        got: SpqType,
        /// The types served, in words.
        want: &'static str,
    },
    /// A write lacks a column it needs.
    #[error(
        "the write has no column \"{column}\": it needs consumer_group text, topic text, \
         partition_number integer, committed_offset bigint (more columns are ignored)"
    )]
    MissingWriteColumn {
        /// The column's name.
        column: &'static str,
    },
}

fn quoted(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A read's query: `group=G&topic=T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadQuery {
    /// The consumer group.
    pub group: String,
    /// The topic.
    pub topic: String,
}

impl ReadQuery {
    /// The query the request's `QUERY` filter carries; both keys required, no others.
    pub fn from_filters(filters: &[Filter]) -> Result<ReadQuery, RequestError> {
        let text = query::find(filters)?.unwrap_or("");
        ReadQuery::parse(text)
    }

    /// Parses a query string.
    pub fn parse(text: &str) -> Result<ReadQuery, RequestError> {
        let q = query::parse(text)?;
        let unknown: Vec<String> = q.unknown_keys(READ_KEYS).map(str::to_owned).collect();
        if !unknown.is_empty() {
            return Err(RequestError::UnknownKeys { keys: unknown });
        }
        let get = |key: &'static str| match q.get(key) {
            None => Err(RequestError::MissingKey { key }),
            Some("") => Err(RequestError::EmptyKey { key }),
            Some(v) => Ok(v.to_owned()),
        };
        Ok(ReadQuery {
            group: get("group")?,
            topic: get("topic")?,
        })
    }
}

/// A column a read can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadColumn {
    /// `consumer_group`.
    Group,
    /// `topic`.
    Topic,
    /// `partition_number`, as INT32 or INT64.
    Partition(SpqType),
    /// `committed_offset`.
    Committed,
    /// `latest_offset`.
    Latest,
    /// `ts`, as TIMESTAMP or TIMESTAMPTZ.
    Ts(SpqType),
}

const TEXT: &str = "text (CSTR)";
const INTEGER: &str = "integer (INT32) or bigint (INT64)";
const BIGINT: &str = "bigint (INT64)";
const TIMESTAMP: &str = "timestamp (TIMESTAMP_MICROS) or timestamptz (TIMESTAMPTZ_MICROS)";

fn check_type(column: &Column, ok: bool, want: &'static str) -> Result<(), RequestError> {
    if ok {
        Ok(())
    } else {
        Err(RequestError::WrongType {
            column: column.name.clone(),
            got: column.spq,
            want,
        })
    }
}

impl ReadColumn {
    /// What a requested column is, or why it is not served.
    pub fn of(column: &Column) -> Result<ReadColumn, RequestError> {
        let t = column.spq;
        let (rc, ok, want) = match column.name.as_str() {
            COL_GROUP => (ReadColumn::Group, t == SpqType::Cstr, TEXT),
            COL_TOPIC => (ReadColumn::Topic, t == SpqType::Cstr, TEXT),
            COL_PARTITION => (
                ReadColumn::Partition(t),
                matches!(t, SpqType::Int32 | SpqType::Int64),
                INTEGER,
            ),
            COL_COMMITTED => (ReadColumn::Committed, t == SpqType::Int64, BIGINT),
            COL_LATEST => (ReadColumn::Latest, t == SpqType::Int64, BIGINT),
            COL_TS => (
                ReadColumn::Ts(t),
                matches!(t, SpqType::TimestampMicros | SpqType::TimestamptzMicros),
                TIMESTAMP,
            ),
            other => {
                return Err(RequestError::UnknownColumn {
                    column: other.to_owned(),
                });
            }
        };
        check_type(column, ok, want)?;
        Ok(rc)
    }

    /// The columns of a read's (projected) schema, in order.
    pub fn all_of(schema: &Schema) -> Result<Vec<ReadColumn>, RequestError> {
        schema.columns().iter().map(ReadColumn::of).collect()
    }
}

/// Where a write's columns are in its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteColumns {
    /// `consumer_group`.
    pub group: usize,
    /// `topic`.
    pub topic: usize,
    /// `partition_number`.
    pub partition: usize,
    /// `committed_offset`.
    pub offset: usize,
}

impl WriteColumns {
    /// Finds and checks the columns a write needs; other columns are ignored.
    pub fn find(schema: &Schema) -> Result<WriteColumns, RequestError> {
        let find = |name: &'static str, ok: fn(SpqType) -> bool, want: &'static str| {
            let i = schema
                .index_of(name)
                .ok_or(RequestError::MissingWriteColumn { column: name })?;
            let column = schema.column(i);
            check_type(column, ok(column.spq), want)?;
            Ok::<usize, RequestError>(i)
        };
        Ok(WriteColumns {
            group: find(COL_GROUP, |t| t == SpqType::Cstr, TEXT)?,
            topic: find(COL_TOPIC, |t| t == SpqType::Cstr, TEXT)?,
            partition: find(
                COL_PARTITION,
                |t| matches!(t, SpqType::Int32 | SpqType::Int64),
                INTEGER,
            )?,
            offset: find(COL_COMMITTED, |t| t == SpqType::Int64, BIGINT)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(args: &str) -> Filter {
        Filter {
            op: "QUERY".into(),
            column: String::new(),
            args: vec![args.into()],
        }
    }

    #[test]
    fn seed_query() {
        let q = ReadQuery::from_filters(&[filter("group=dggrp&topic=test")]).unwrap();
        assert_eq!(
            q,
            ReadQuery {
                group: "dggrp".into(),
                topic: "test".into()
            }
        );
        // Order and spaces do not matter.
        let q = ReadQuery::parse(" topic = t & group=g ").unwrap();
        assert_eq!((q.group.as_str(), q.topic.as_str()), ("g", "t"));
    }

    #[test]
    fn missing_keys_are_named() {
        let e = ReadQuery::parse("topic=t").unwrap_err();
        assert_eq!(e, RequestError::MissingKey { key: "group" });
        assert!(e.to_string().contains("needs query key \"group\""), "{e}");
        let e = ReadQuery::parse("group=g").unwrap_err();
        assert_eq!(e, RequestError::MissingKey { key: "topic" });
        // No QUERY filter at all: group is the first thing missing.
        let e = ReadQuery::from_filters(&[]).unwrap_err();
        assert_eq!(e, RequestError::MissingKey { key: "group" });
        assert_eq!(
            ReadQuery::parse("group=&topic=t").unwrap_err(),
            RequestError::EmptyKey { key: "group" }
        );
    }

    #[test]
    fn unknown_and_repeated_keys_are_errors() {
        let e = ReadQuery::parse("group=g&topic=t&limit=5&Group=x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown query key(s) \"limit\", \"Group\": xdr_kafkaoffset reads group and topic"
        );
        let e = ReadQuery::parse("group=g&topic=t&group=h").unwrap_err();
        assert!(matches!(
            e,
            RequestError::Query(QueryError::DuplicateKey { .. })
        ));
        assert!(ReadQuery::parse("group=g&topic").is_err());
    }

    fn schema(cols: &[(&str, SpqType)]) -> Schema {
        Schema::new(cols.iter().map(|&(n, t)| Column::new(n, t)).collect()).unwrap()
    }

    #[test]
    fn read_columns_are_checked_by_name_and_type() {
        let s = schema(&[
            (COL_GROUP, SpqType::Cstr),
            (COL_TOPIC, SpqType::Cstr),
            (COL_PARTITION, SpqType::Int32),
            (COL_COMMITTED, SpqType::Int64),
            (COL_LATEST, SpqType::Int64),
            (COL_TS, SpqType::TimestampMicros),
        ]);
        assert_eq!(
            ReadColumn::all_of(&s).unwrap(),
            [
                ReadColumn::Group,
                ReadColumn::Topic,
                ReadColumn::Partition(SpqType::Int32),
                ReadColumn::Committed,
                ReadColumn::Latest,
                ReadColumn::Ts(SpqType::TimestampMicros)
            ]
        );
        let e = ReadColumn::all_of(&schema(&[("lag", SpqType::Int64)])).unwrap_err();
        assert!(
            e.to_string().starts_with("column \"lag\" is not served"),
            "{e}"
        );
        let e = ReadColumn::all_of(&schema(&[(COL_COMMITTED, SpqType::Int32)])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column \"committed_offset\" has type INT32, xdr_kafkaoffset serves it as bigint (INT64)"
        );
    }

    #[test]
    fn write_columns_are_found_anywhere_and_extras_ignored() {
        let s = schema(&[
            (COL_TS, SpqType::TimestampMicros),
            (COL_COMMITTED, SpqType::Int64),
            (COL_PARTITION, SpqType::Int32),
            (COL_TOPIC, SpqType::Cstr),
            (COL_LATEST, SpqType::Int64),
            (COL_GROUP, SpqType::Cstr),
        ]);
        assert_eq!(
            WriteColumns::find(&s).unwrap(),
            WriteColumns {
                group: 5,
                topic: 3,
                partition: 2,
                offset: 1
            }
        );
        let e = WriteColumns::find(&schema(&[
            (COL_GROUP, SpqType::Cstr),
            (COL_TOPIC, SpqType::Cstr),
            (COL_PARTITION, SpqType::Int32),
        ]))
        .unwrap_err();
        assert_eq!(
            e,
            RequestError::MissingWriteColumn {
                column: COL_COMMITTED
            }
        );
        let e = WriteColumns::find(&schema(&[
            (COL_GROUP, SpqType::Int32),
            (COL_TOPIC, SpqType::Cstr),
            (COL_PARTITION, SpqType::Int32),
            (COL_COMMITTED, SpqType::Int64),
        ]))
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("column \"consumer_group\" has type"),
            "{e}"
        );
    }
}
