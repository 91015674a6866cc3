//! What a request asks for, checked before any Kafka work: the topic in the path, the
//! read's and the write's query keys, the message format and the fragment. No I/O.

use std::time::Duration;

use formats::{CsvOptions, Format, SpecError, TransformConfigError, decode_transform_config};
use xdrive_plugin::proto::fragment::BadFragment;
use xdrive_plugin::proto::message::{FileSpec, Filter};
use xdrive_plugin::proto::query::{self, Query, QueryError};

/// The query keys a read takes (the seed's `group`, `start`, `limit`, `timeout`; ours
/// `end`, `error_limit`, `checkpoint`, the format keys and the transform keys).
pub const READ_KEYS: &[&str] = &[
    "group",
    "start",
    "end",
    "limit",
    "timeout",
    "error_limit",
    "checkpoint",
    "format",
    "delimiter",
    "quote",
    "escape",
    "null",
    "transform",
    "transform_config",
    "transform_timeout_ms",
    "transform_memory_mb",
];

/// `transform_timeout_ms` unless given: the wall-clock budget of one batch.
pub const DEFAULT_TRANSFORM_TIMEOUT_MS: u64 = 10_000;
/// The largest `transform_timeout_ms`: one hour.
pub const MAX_TRANSFORM_TIMEOUT_MS: u64 = 3_600_000;
/// `transform_memory_mb` unless given: the most linear memory an instance may grow to.
pub const DEFAULT_TRANSFORM_MEMORY_MB: u64 = 256;
/// The largest `transform_memory_mb`: a 32-bit module cannot address more than 4 GiB.
pub const MAX_TRANSFORM_MEMORY_MB: u64 = 4096;

/// The keys a write takes (all ours), from the path's `?` query.
pub const WRITE_KEYS: &[&str] = &["key", "format", "delimiter", "quote", "escape", "null"];

/// Records a read returns unless `limit` says otherwise (the seed's default).
pub const DEFAULT_LIMIT: u64 = 1000;

/// `start`: the earliest offset still in the partition.
pub const EARLIEST: i64 = -2;
/// `start`: the offset the next message will get; `end`: no end.
pub const LATEST: i64 = -1;

/// Why a request cannot be served as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The query string is malformed.
    #[error("bad dg_utils.xdrive_query string")]
    Query(#[from] QueryError),
    /// The path names no topic.
    #[error(
        "the path \"{path}\" names no topic: read and write /MOUNTPOINT/TOPIC (LOCATION \
         ('xdrive://HOST:PORT/kafka/TOPIC'))"
    )]
    NoTopic {
        /// The path.
        path: String,
    },
    /// The topic is not a legal Kafka topic name.
    #[error(
        "\"{topic}\" (from the path \"{path}\") is not a Kafka topic name: at most 249 of \
         a-z, A-Z, 0-9, '.', '_' and '-', not \".\" or \"..\""
    )]
    BadTopic {
        /// The topic.
        topic: String,
        /// The path.
        path: String,
    },
    /// A required query key is missing (or the read has no query at all).
    #[error(
        "the read needs query key \"{key}\": SELECT ... WHERE \
         dg_utils.xdrive_query($$group=GROUP&start=...&limit=...$$)"
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
    /// Keys this plugin does not know.
    #[error("unknown query key(s) {}: xdr_kafka {} {}", quoted(.keys), .op, .known.join(", "))]
    UnknownKeys {
        /// The keys, in the order given.
        keys: Vec<String>,
        /// `"reads"` or `"writes with"`.
        op: &'static str,
        /// The keys it does know.
        known: &'static [&'static str],
    },
    /// A number that does not parse or is out of range.
    #[error("query key \"{key}\": {value:?} is not {want}")]
    BadNumber {
        /// The key.
        key: &'static str,
        /// The value (or the offending list entry).
        value: String,
        /// What is accepted, in words.
        want: &'static str,
    },
    /// The format is not one we serve.
    #[error("format \"{format}\" is not served: xdr_kafka reads and writes csv, json or binary")]
    BadFormat {
        /// The format as given.
        format: String,
    },
    /// CSV options PostgreSQL would refuse.
    #[error("bad csv options")]
    Csv(#[from] SpecError),
    /// The fragment numbers make no sense.
    #[error(transparent)]
    BadFragment(#[from] BadFragment),
    /// `transform_config` cannot be decoded.
    #[error(
        "query key \"transform_config\": {reason} (give a JSON object of string values, \
         percent-encoded)"
    )]
    TransformConfig {
        /// Why (in the message rather than as a source: one line says it all).
        reason: TransformConfigError,
    },
    /// A transform key without `transform`.
    #[error("query key \"{key}\" needs query key \"transform\" (the module to run)")]
    WithoutTransform {
        /// The key.
        key: &'static str,
    },
}

fn quoted(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The topic a path names (`/MOUNTPOINT/TOPIC`, optionally followed by `?key=value&...`)
/// and the query string after `?` (empty when there is none).
pub fn topic_of(path: &str) -> Result<(String, &str), RequestError> {
    let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
    let mut segments = path_only.split('/').filter(|s| !s.is_empty());
    let _mount = segments.next();
    let rest: Vec<&str> = segments.collect();
    let topic = match rest[..] {
        [] => {
            return Err(RequestError::NoTopic {
                path: path.to_owned(),
            });
        }
        [topic] => topic,
        _ => {
            return Err(RequestError::BadTopic {
                topic: rest.join("/"),
                path: path.to_owned(),
            });
        }
    };
    let legal = topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !legal {
        return Err(RequestError::BadTopic {
            topic: topic.to_owned(),
            path: path.to_owned(),
        });
    }
    Ok((topic.to_owned(), query))
}

/// How long a read waits for `limit` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// `timeout=-1` (the default) or `0`: return at the end of what is available now —
    /// once every partition read has reached its end offset or the end of its data.
    UntilCaughtUp,
    /// `timeout=N` (seconds, N > 0): wait up to this long for `limit` records (less when
    /// every partition read reaches its `end`).
    Upto(Duration),
}

/// The message format keys of a query (ours), before they are combined with the request's
/// `FileSpec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormatKeys {
    /// `format`: csv, json or binary.
    pub format: Option<String>,
    /// `delimiter`.
    pub delimiter: Option<String>,
    /// `quote`.
    pub quote: Option<String>,
    /// `escape`.
    pub escape: Option<String>,
    /// `null`.
    pub null: Option<String>,
}

impl FormatKeys {
    fn from_query(q: &Query<'_>) -> FormatKeys {
        let get = |k: &str| q.get(k).map(str::to_owned);
        FormatKeys {
            format: get("format"),
            delimiter: get("delimiter"),
            quote: get("quote"),
            escape: get("escape"),
            null: get("null"),
        }
    }

    /// The message format: each key from the query when given, else from the request's
    /// `FileSpec` (`format`, and `csvspec` for csv), else the default (csv with `,`, `"`,
    /// `"` and the empty string as NULL). A `FileSpec.format` of `spq` (the transport
    /// format of Deepgreen's external tables) or empty means "not given".
    pub fn resolve(&self, filespec: Option<&FileSpec>) -> Result<Format, RequestError> {
        let spec_format = filespec
            .map(|f| f.format.trim())
            .filter(|f| !f.is_empty() && !f.eq_ignore_ascii_case("spq"));
        let format = self.format.as_deref().or(spec_format).unwrap_or("csv");
        match format.to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "binary" => Ok(Format::Binary),
            "csv" => {
                let csv = filespec.and_then(|f| f.csvspec.as_ref());
                let pick = |key: &Option<String>, spec: Option<&String>| {
                    key.clone()
                        .or_else(|| spec.filter(|s| !s.is_empty()).cloned())
                };
                let delimiter = pick(&self.delimiter, csv.map(|c| &c.delimiter))
                    .unwrap_or_else(|| ",".to_owned());
                let quote = pick(&self.quote, csv.map(|c| &c.quote)).unwrap_or_default();
                let escape = pick(&self.escape, csv.map(|c| &c.escape)).unwrap_or_default();
                let null = match &self.null {
                    Some(n) => n.clone(),
                    None => csv.map(|c| c.nullstr.clone()).unwrap_or_default(),
                };
                Ok(Format::Csv(CsvOptions::from_strs(
                    &delimiter, &quote, &escape, &null,
                )?))
            }
            _ => Err(RequestError::BadFormat {
                format: format.to_owned(),
            }),
        }
    }
}

/// A read's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadQuery {
    /// `group` (required): the consumer group (`group.id`; nothing is committed by a read).
    pub group: String,
    /// `start`: per partition, by partition number, the first offset to read; `-2`
    /// earliest, `-1` latest. `None` = latest for every partition.
    pub start: Option<Vec<i64>>,
    /// `end` (ours): per partition, the offset to stop before (exclusive); `-1` = none.
    /// `None` = no end for any partition.
    pub end: Option<Vec<i64>>,
    /// `limit`: at most this many records (data and error rows) per request.
    pub limit: u64,
    /// `timeout`.
    pub wait: Wait,
    /// `error_limit` (ours): undecodable messages come back as error rows, at most this
    /// many (per checkpoint interval with `checkpoint`); `None` = the first one fails the
    /// read.
    pub error_limit: Option<u64>,
    /// `checkpoint` (ours): after every this many records (data and error rows), position
    /// rows for every partition read and the end of the page, so that the reader can end a
    /// batch exactly there and go on reading the same stream. `None` = positions only at
    /// the end.
    pub checkpoint: Option<u64>,
    /// The format keys.
    pub format: FormatKeys,
    /// The transform keys (ours), when the read runs a transform.
    pub transform: Option<TransformKeys>,
}

/// A read's transform (the `transform*` keys, ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformKeys {
    /// `transform`: the module's path relative to the mount's `--transforms-dir`.
    pub module: String,
    /// `transform_config`: the pairs handed to the module's `init`, in order.
    pub config: Vec<(String, String)>,
    /// `transform_timeout_ms`: the wall-clock budget of one batch.
    pub timeout: Duration,
    /// `transform_memory_mb`, in bytes: the most linear memory an instance may use.
    pub memory_bytes: usize,
}

impl TransformKeys {
    fn from_query(q: &Query<'_>) -> Result<Option<TransformKeys>, RequestError> {
        let module = match q.get("transform") {
            None => {
                for key in [
                    "transform_config",
                    "transform_timeout_ms",
                    "transform_memory_mb",
                ] {
                    if q.get(key).is_some() {
                        return Err(RequestError::WithoutTransform { key });
                    }
                }
                return Ok(None);
            }
            Some("") => return Err(RequestError::EmptyKey { key: "transform" }),
            Some(m) => m.to_owned(),
        };
        let config = match q.get("transform_config") {
            None => Vec::new(),
            Some(c) => decode_transform_config(c)
                .map_err(|reason| RequestError::TransformConfig { reason })?,
        };
        let bounded =
            |key: &'static str, default: u64, max: u64, want: &'static str| match q.get(key) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(RequestError::BadNumber {
                        key,
                        value: v.to_owned(),
                        want,
                    }),
                },
            };
        let timeout_ms = bounded(
            "transform_timeout_ms",
            DEFAULT_TRANSFORM_TIMEOUT_MS,
            MAX_TRANSFORM_TIMEOUT_MS,
            "a number of milliseconds (1 to 3600000)",
        )?;
        let memory_mb = bounded(
            "transform_memory_mb",
            DEFAULT_TRANSFORM_MEMORY_MB,
            MAX_TRANSFORM_MEMORY_MB,
            "a number of MiB (1 to 4096)",
        )?;
        Ok(Some(TransformKeys {
            module,
            config,
            timeout: Duration::from_millis(timeout_ms),
            memory_bytes: usize::try_from(memory_mb << 20).unwrap_or(usize::MAX),
        }))
    }
}

impl ReadQuery {
    /// The query of the request: the path's `?` query overlaid by the `QUERY` filter
    /// (a key in both is taken from the filter).
    pub fn from_request(path_query: &str, filters: &[Filter]) -> Result<ReadQuery, RequestError> {
        let filter_text = query::find(filters)?.unwrap_or("");
        let from_path = query::parse(path_query)?;
        let from_filter = query::parse(filter_text)?;
        let mut merged = from_filter.pairs().to_vec();
        for &(k, v) in from_path.pairs() {
            if from_filter.get(k).is_none() {
                merged.push((k, v));
            }
        }
        let text = merged
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        ReadQuery::parse(&text)
    }

    /// Parses a query string.
    pub fn parse(text: &str) -> Result<ReadQuery, RequestError> {
        let q = query::parse(text)?;
        let unknown: Vec<String> = q.unknown_keys(READ_KEYS).map(str::to_owned).collect();
        if !unknown.is_empty() {
            return Err(RequestError::UnknownKeys {
                keys: unknown,
                op: "reads",
                known: READ_KEYS,
            });
        }
        let group = match q.get("group") {
            None => return Err(RequestError::MissingKey { key: "group" }),
            Some("") => return Err(RequestError::EmptyKey { key: "group" }),
            Some(g) => g.to_owned(),
        };
        let start = q
            .get("start")
            .map(|v| {
                offset_list(
                    "start",
                    v,
                    EARLIEST,
                    "an offset (0 or more, -2 earliest, -1 latest)",
                )
            })
            .transpose()?;
        let end = q
            .get("end")
            .map(|v| offset_list("end", v, LATEST, "an offset (0 or more, or -1 for no end)"))
            .transpose()?;
        let limit = match q.get("limit") {
            None => DEFAULT_LIMIT,
            Some(v) => v.parse::<u64>().map_err(|_| RequestError::BadNumber {
                key: "limit",
                value: v.to_owned(),
                want: "a number of records (0 or more)",
            })?,
        };
        let wait = match q.get("timeout") {
            None => Wait::UntilCaughtUp,
            Some(v) => match v.parse::<i64>() {
                Ok(-1 | 0) => Wait::UntilCaughtUp,
                Ok(n) if n > 0 => Wait::Upto(Duration::from_secs(n.unsigned_abs())),
                _ => {
                    return Err(RequestError::BadNumber {
                        key: "timeout",
                        value: v.to_owned(),
                        want: "a number of seconds (-1 or 0: do not wait for more)",
                    });
                }
            },
        };
        let error_limit = q
            .get("error_limit")
            .map(|v| {
                v.parse::<u64>().map_err(|_| RequestError::BadNumber {
                    key: "error_limit",
                    value: v.to_owned(),
                    want: "a number of error rows (0 or more)",
                })
            })
            .transpose()?;
        let checkpoint = q
            .get("checkpoint")
            .map(|v| match v.parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(RequestError::BadNumber {
                    key: "checkpoint",
                    value: v.to_owned(),
                    want: "a number of records (1 or more)",
                }),
            })
            .transpose()?;
        Ok(ReadQuery {
            group,
            start,
            end,
            limit,
            wait,
            error_limit,
            checkpoint,
            format: FormatKeys::from_query(&q),
            transform: TransformKeys::from_query(&q)?,
        })
    }
}

/// `a,b,c`: offsets, each `min` or more.
fn offset_list(
    key: &'static str,
    value: &str,
    min: i64,
    want: &'static str,
) -> Result<Vec<i64>, RequestError> {
    if value.is_empty() {
        return Err(RequestError::EmptyKey { key });
    }
    value
        .split(',')
        .map(|s| {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(RequestError::BadNumber {
                    key,
                    value: s.to_owned(),
                    want,
                }),
            }
        })
        .collect()
}

/// A write's keys (the path's `?` query; a write carries no `QUERY` filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteQuery {
    /// `key` (ours): the column whose value becomes each message's key.
    pub key: Option<String>,
    /// The format keys.
    pub format: FormatKeys,
}

impl WriteQuery {
    /// Parses the path's query string.
    pub fn parse(text: &str) -> Result<WriteQuery, RequestError> {
        let q = query::parse(text)?;
        let unknown: Vec<String> = q.unknown_keys(WRITE_KEYS).map(str::to_owned).collect();
        if !unknown.is_empty() {
            return Err(RequestError::UnknownKeys {
                keys: unknown,
                op: "writes with",
                known: WRITE_KEYS,
            });
        }
        let key = match q.get("key") {
            Some("") => return Err(RequestError::EmptyKey { key: "key" }),
            k => k.map(str::to_owned),
        };
        Ok(WriteQuery {
            key,
            format: FormatKeys::from_query(&q),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xdrive_plugin::proto::message::CsvSpec;

    fn err(text: &str) -> String {
        ReadQuery::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn the_seed_example_and_defaults() {
        let q = ReadQuery::parse("group=dggrp&start=500,500,500&limit=100").unwrap();
        assert_eq!(q.group, "dggrp");
        assert_eq!(q.start, Some(vec![500, 500, 500]));
        assert_eq!(q.end, None);
        assert_eq!(q.limit, 100);
        assert_eq!(q.wait, Wait::UntilCaughtUp);
        assert_eq!(q.error_limit, None);
        let q = ReadQuery::parse("group=g").unwrap();
        assert_eq!((q.start, q.limit), (None, DEFAULT_LIMIT));
    }

    #[test]
    fn start_and_end_take_their_special_values() {
        let q = ReadQuery::parse("group=g&start=-2, -1,0,7&end=-1,5,0,9").unwrap();
        assert_eq!(q.start, Some(vec![-2, -1, 0, 7]));
        assert_eq!(q.end, Some(vec![-1, 5, 0, 9]));
        assert_eq!(
            err("group=g&start=-3"),
            "query key \"start\": \"-3\" is not an offset (0 or more, -2 earliest, -1 latest)"
        );
        assert_eq!(
            err("group=g&end=1,-2"),
            "query key \"end\": \"-2\" is not an offset (0 or more, or -1 for no end)"
        );
        assert_eq!(
            err("group=g&start=1,,2"),
            "query key \"start\": \"\" is not an offset (0 or more, -2 earliest, -1 latest)"
        );
        assert_eq!(err("group=g&start="), "query key \"start\" is empty");
        assert!(err("group=g&start=1.5").contains("\"1.5\" is not an offset"));
        assert!(err("group=g&end=99999999999999999999").contains("is not an offset"));
    }

    #[test]
    fn limit_timeout_and_error_limit() {
        let q = ReadQuery::parse("group=g&limit=0&timeout=5&error_limit=3").unwrap();
        assert_eq!(q.limit, 0);
        assert_eq!(q.wait, Wait::Upto(Duration::from_secs(5)));
        assert_eq!(q.error_limit, Some(3));
        for t in ["-1", "0"] {
            let q = ReadQuery::parse(&format!("group=g&timeout={t}")).unwrap();
            assert_eq!(q.wait, Wait::UntilCaughtUp);
        }
        assert_eq!(
            err("group=g&limit=-1"),
            "query key \"limit\": \"-1\" is not a number of records (0 or more)"
        );
        assert!(err("group=g&limit=ten").contains("\"ten\" is not a number of records"));
        assert!(err("group=g&timeout=-2").contains("\"-2\" is not a number of seconds"));
        assert!(err("group=g&timeout=1.5").contains("\"1.5\" is not a number of seconds"));
        assert!(err("group=g&error_limit=-1").contains("is not a number of error rows"));
    }

    #[test]
    fn group_is_required_and_unknown_keys_are_named() {
        assert!(err("start=1").starts_with("the read needs query key \"group\""));
        assert!(err("").starts_with("the read needs query key \"group\""));
        assert_eq!(err("group="), "query key \"group\" is empty");
        let e = err("group=g&topic=t&lmit=5");
        assert!(
            e.starts_with("unknown query key(s) \"topic\", \"lmit\": xdr_kafka reads group, "),
            "{e}"
        );
        assert_eq!(err("group=g&group=h"), "bad dg_utils.xdrive_query string");
    }

    #[test]
    fn the_filter_overrides_the_path_query() {
        let filters = [Filter {
            op: "QUERY".into(),
            column: String::new(),
            args: vec!["group=g&limit=5".into()],
        }];
        let q = ReadQuery::from_request("limit=7&format=json", &filters).unwrap();
        assert_eq!((q.limit, q.format.format.as_deref()), (5, Some("json")));
        let q = ReadQuery::from_request("group=p", &[]).unwrap();
        assert_eq!(q.group, "p");
    }

    #[test]
    fn topics_come_from_the_path() {
        assert_eq!(topic_of("/kafka/orders").unwrap(), ("orders".into(), ""));
        assert_eq!(
            topic_of("/kafka/orders/?key=id").unwrap(),
            ("orders".into(), "key=id")
        );
        assert!(matches!(
            topic_of("/kafka/"),
            Err(RequestError::NoTopic { .. })
        ));
        assert!(matches!(
            topic_of("/kafka/a/b"),
            Err(RequestError::BadTopic { .. })
        ));
        let e = topic_of("/kafka/bad topic").unwrap_err().to_string();
        assert!(e.starts_with("\"bad topic\" (from the path"), "{e}");
    }

    #[test]
    fn the_format_comes_from_the_query_then_the_filespec() {
        let spec = FileSpec {
            path: "/kafka/t".into(),
            format: "csv".into(),
            csvspec: Some(CsvSpec {
                delimiter: "|".into(),
                nullstr: "\\N".into(),
                ..CsvSpec::default()
            }),
        };
        let keys = FormatKeys::default();
        let Format::Csv(o) = keys.resolve(Some(&spec)).unwrap() else {
            panic!("csv expected");
        };
        assert_eq!((o.delimiter, o.quote, o.null.as_str()), (b'|', b'"', "\\N"));
        let keys = FormatKeys {
            delimiter: Some(";".into()),
            null: Some(String::new()),
            ..FormatKeys::default()
        };
        let Format::Csv(o) = keys.resolve(Some(&spec)).unwrap() else {
            panic!("csv expected");
        };
        assert_eq!((o.delimiter, o.null.as_str()), (b';', ""));
        let Format::Csv(o) = FormatKeys::default().resolve(None).unwrap() else {
            panic!("csv expected");
        };
        assert_eq!(o.delimiter, b',');
        let spq = FileSpec {
            format: "SPQ".into(),
            ..FileSpec::default()
        };
        assert!(matches!(
            FormatKeys::default().resolve(Some(&spq)),
            Ok(Format::Csv(_))
        ));
        let json = FormatKeys {
            format: Some("json".into()),
            ..FormatKeys::default()
        };
        assert_eq!(json.resolve(Some(&spec)).unwrap(), Format::Json);
        let bad = FormatKeys {
            format: Some("avro".into()),
            ..FormatKeys::default()
        };
        assert_eq!(
            bad.resolve(None).unwrap_err().to_string(),
            "format \"avro\" is not served: xdr_kafka reads and writes csv, json or binary"
        );
        let bad = FormatKeys {
            delimiter: Some("||".into()),
            ..FormatKeys::default()
        };
        assert!(matches!(bad.resolve(None), Err(RequestError::Csv(_))));
    }

    #[test]
    fn transform_keys() {
        assert_eq!(ReadQuery::parse("group=g").unwrap().transform, None);
        let q = ReadQuery::parse("group=g&transform=json_fields.wasm").unwrap();
        assert_eq!(
            q.transform,
            Some(TransformKeys {
                module: "json_fields.wasm".into(),
                config: Vec::new(),
                timeout: Duration::from_millis(DEFAULT_TRANSFORM_TIMEOUT_MS),
                memory_bytes: 256 << 20,
            })
        );
        let config = vec![
            ("fields".to_owned(), "a=1&b=2".to_owned()),
            ("note".to_owned(), "100% grün".to_owned()),
        ];
        let text = format!(
            "group=g&transform=sub/m.wasm&transform_config={}&transform_timeout_ms=50&\
             transform_memory_mb=16",
            formats::encode_transform_config(&config)
        );
        let t = ReadQuery::parse(&text).unwrap().transform.unwrap();
        assert_eq!(t.module, "sub/m.wasm");
        assert_eq!(t.config, config);
        assert_eq!(t.timeout, Duration::from_millis(50));
        assert_eq!(t.memory_bytes, 16 << 20);
        assert_eq!(
            err("group=g&transform="),
            "query key \"transform\" is empty"
        );
        assert_eq!(
            err("group=g&transform_timeout_ms=5"),
            "query key \"transform_timeout_ms\" needs query key \"transform\" (the module to run)"
        );
        assert!(err("group=g&transform_config=%7B%7D").contains("needs query key \"transform\""));
        assert_eq!(
            err("group=g&transform=m.wasm&transform_timeout_ms=0"),
            "query key \"transform_timeout_ms\": \"0\" is not a number of milliseconds (1 to \
             3600000)"
        );
        assert!(
            err("group=g&transform=m.wasm&transform_memory_mb=5000")
                .contains("\"5000\" is not a number of MiB (1 to 4096)")
        );
        assert!(err("group=g&transform=m.wasm&transform_memory_mb=-1").contains("MiB"));
        let e = err("group=g&transform=m.wasm&transform_config=%7B%22a%22%3A1%7D");
        assert!(
            e.starts_with("query key \"transform_config\": not a JSON object of string values"),
            "{e}"
        );
        assert!(err("group=g&transform=m.wasm&transform_config=%7").contains("percent escape"));
    }

    #[test]
    fn write_keys() {
        let w = WriteQuery::parse("key=id&format=csv&delimiter=|").unwrap();
        assert_eq!(w.key.as_deref(), Some("id"));
        assert_eq!(w.format.delimiter.as_deref(), Some("|"));
        assert_eq!(WriteQuery::parse("").unwrap().key, None);
        let e = WriteQuery::parse("group=g").unwrap_err().to_string();
        assert!(
            e.starts_with("unknown query key(s) \"group\": xdr_kafka writes with key, "),
            "{e}"
        );
        assert!(WriteQuery::parse("key=").is_err());
    }
}
