//! Reads from `xdr_kafka`: the request (columns, projection, query), the cut of its stream
//! into batches at the plugin's checkpoints, and the split of each batch's rows by
//! `__dg_kind` into data rows, error rows and positions. The data rows stay in the pages
//! as they arrived (their values are ranges of the received frames); the COPY encodes
//! them from there ([`BatchRead::data`]).
//!
//! One request reads up to [`STREAM_RECORDS`] records (at least one batch, at most
//! [`MAX_BATCHES_PER_READ`]): the query's `checkpoint=max_row` makes the plugin end a page
//! with position rows after every `max_row` records, and each such point ends a batch.
//! Starting a plugin process and a Kafka consumer, and the consumer's first fetches, cost
//! tens of milliseconds; per batch that was most of a batch's read time.

use std::collections::BTreeMap;
use std::ops::Range;

use tokio::net::TcpStream;
use xdrive::{Client, PageStream, ReadSpec};
use xdrive_proto::message::CsvSpec;
use xdrive_proto::page::{PageReader, Value};
use xdrive_proto::schema::{Column, Schema};
use xdrive_proto::spq::SpqType;

use super::LoadError;
use crate::config::{Config, ErrorLimit, Format, Transform};
use crate::copy::PageRows;
use crate::ident::Ident;

const KIND: &str = "__dg_kind";
const DG_PARTITION: &str = "__dg_partition";
const DG_OFFSET: &str = "__dg_offset";
const DG_RAW: &str = "__dg_raw";
const DG_REASON: &str = "__dg_reason";
const KAFKA_PARTITION: &str = "__kafka_partition";

/// About how many records one read request asks for (rounded to whole batches).
pub const STREAM_RECORDS: i64 = 1_000_000;
/// The most batches one read request is cut into.
pub const MAX_BATCHES_PER_READ: i64 = 100;

const KIND_DATA: i32 = 0;
const KIND_ERROR: i32 = 1;
const KIND_POSITION: i32 = 2;

/// An undecodable message, to be stored in the error table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub partition: i32,
    pub offset: i64,
    pub raw: Option<Vec<u8>>,
    pub reason: String,
}

/// A page from `xdr_kafka` that holds data rows, and where they are.
#[derive(Debug)]
pub struct DataPage {
    pub page: PageReader,
    /// The page's columns that are loaded, in the order of the loaded input columns.
    pub columns: Vec<usize>,
    /// The runs of data rows (the other rows are error and position rows).
    pub runs: Vec<Range<usize>>,
}

/// What one read returned.
#[derive(Debug, Default)]
pub struct BatchRead {
    /// The pages holding data rows.
    pub pages: Vec<DataPage>,
    /// Data rows in all.
    pub rows: u64,
    /// Data rows per partition.
    pub rows_per_partition: BTreeMap<i32, u64>,
    pub errors: Vec<RowError>,
    /// Per partition read: the next offset to read.
    pub positions: BTreeMap<i32, i64>,
}

impl BatchRead {
    /// The data rows, as parts of pages for [`crate::copy::CopyTarget::copy_rows`].
    pub fn data(&self) -> impl Iterator<Item = PageRows<'_>> {
        self.pages.iter().flat_map(|p| {
            p.runs.iter().map(|rows| PageRows {
                page: &p.page,
                columns: &p.columns,
                rows: rows.clone(),
            })
        })
    }
}

/// The parts of every read request that do not change between batches.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    path: String,
    format: String,
    csv: Option<CsvSpec>,
    /// `columndesc`: every input column, then the reserved ones.
    columns: Schema,
    /// `columnlist`: the loaded input columns, then the reserved ones.
    projection: Vec<String>,
    /// The loaded input columns: the pages handed to COPY.
    pub data_schema: Schema,
    group: String,
    /// Records per batch (`kafka.commit.max_row`): the query's `checkpoint`.
    max_row: i64,
    /// Records per request: the query's `limit`, a whole number of batches.
    limit: i64,
    timeout: i64,
    error_limit: Option<u64>,
    /// `&transform=...&transform_config=...&...` with `[kafka.transform]`, else empty.
    transform_query: String,
}

impl ReadPlan {
    /// Builds the plan from the config; errors name the key.
    pub fn new(config: &Config) -> Result<ReadPlan, LoadError> {
        let input = &config.kafka.input;
        // The group travels in the read query, `&`-separated and trimmed.
        if input.consumer_group.contains('&') || input.consumer_group.trim() != input.consumer_group
        {
            return Err(LoadError::config(
                "kafka.input.consumer_group",
                format!(
                    "`{}` cannot be sent to xdr_kafka: no `&` and no leading or trailing spaces",
                    input.consumer_group
                ),
            ));
        }
        let mut columns = Vec::new();
        let mut projection = Vec::new();
        let mut data = Vec::new();
        for (i, c) in config.columns().iter().enumerate() {
            let key = format!("kafka.input.columns[{i}]");
            let name = Ident::parse(&c.name)
                .map_err(|e| LoadError::config(format!("{key}.name"), e.to_string()))?
                .as_str()
                .to_owned();
            let spq = match SpqType::from_pg_type(&c.type_) {
                Ok(spq) => spq,
                // An ignored field is neither sent nor checked: any carrier does.
                Err(_) if c.ignored => SpqType::Cstr,
                Err(e) => return Err(LoadError::config(format!("{key}.type"), e.to_string())),
            };
            columns.push(Column::new(name.clone(), spq));
            if !c.ignored {
                projection.push(name.clone());
                data.push(Column::new(name, spq));
            }
        }
        let reserved = [
            (KAFKA_PARTITION, SpqType::Int32),
            (KIND, SpqType::Int32),
            (DG_PARTITION, SpqType::Int32),
            (DG_OFFSET, SpqType::Int64),
            (DG_RAW, SpqType::Bytea),
            (DG_REASON, SpqType::Cstr),
        ];
        for (name, spq) in reserved {
            columns.push(Column::new(name, spq));
            projection.push(name.to_owned());
        }
        let columns = Schema::new(columns)
            .map_err(|e| LoadError::config("kafka.input.columns", e.to_string()))?;
        let data_schema = Schema::new(data)
            .map_err(|e| LoadError::config("kafka.input.columns", e.to_string()))?;
        let format = match config.format() {
            Some(Format::Json) => "json",
            Some(Format::Binary) => "binary",
            _ => "csv",
        };
        let csv = (format == "csv").then(|| CsvSpec {
            delimiter: char::from(config.delimiter()).to_string(),
            ..CsvSpec::default()
        });
        let max_row = config.kafka.commit.max_row;
        let error_limit = config
            .kafka
            .output
            .error_table
            .as_ref()
            .and(config.error_limit())
            .map(|limit| match limit {
                ErrorLimit::Rows(n) => n,
                ErrorLimit::Percent(p) => {
                    let rows = u64::try_from(max_row).unwrap_or(0) as f64 * p / 100.0;
                    rows.floor() as u64
                }
            });
        let transform_query = match &config.kafka.transform {
            Some(transform) => transform_query(transform)?,
            None => String::new(),
        };
        Ok(ReadPlan {
            path: format!("/{}/{}", config.dgkafka.xdrive_kafka_endpoint, input.topic),
            format: format.to_owned(),
            csv,
            columns,
            projection,
            data_schema,
            group: input.consumer_group.clone(),
            max_row,
            limit: max_row
                .saturating_mul((STREAM_RECORDS / max_row.max(1)).clamp(1, MAX_BATCHES_PER_READ)),
            timeout: config.kafka.commit.minimal_interval,
            error_limit,
            transform_query,
        })
    }

    /// The `dg_utils.xdrive_query` string for a batch starting at `starts` (one entry per
    /// partition of the topic).
    pub fn query(&self, starts: &[i64]) -> String {
        let starts = starts
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let timeout = if self.timeout <= 0 { -1 } else { self.timeout };
        let mut query = format!(
            "group={}&start={starts}&limit={}&checkpoint={}&timeout={timeout}",
            self.group, self.limit, self.max_row
        );
        if let Some(limit) = self.error_limit {
            query.push_str(&format!("&error_limit={limit}"));
        }
        query.push_str(&self.transform_query);
        query
    }

    /// Starts a read as fragment `frag_id` of `frag_cnt`, whose partitions number
    /// `owned`: a stream of batches.
    pub async fn open(
        &self,
        client: &Client,
        frag_id: i32,
        frag_cnt: i32,
        starts: &[i64],
        owned: usize,
    ) -> Result<BatchStream<'_>, LoadError> {
        let mut spec = ReadSpec::new(self.path.clone(), &self.columns)
            .format(self.format.clone())
            .query(self.query(starts))
            .fragment(frag_id, frag_cnt)
            .project(self.projection.iter().cloned());
        spec.csv = self.csv.clone();
        let pages = client
            .read(&spec)
            .await
            .map_err(|e| LoadError::Read(Box::new(e)))?;
        Ok(BatchStream {
            plan: self,
            pages,
            owned,
            ended: false,
        })
    }

    /// Sorts `page`'s rows: data rows are counted and kept in place (the page is kept
    /// when it has any), error rows and positions are taken out.
    fn split_page(&self, page: PageReader, out: &mut BatchRead) -> Result<(), LoadError> {
        let schema = page.schema();
        let index = |name: &str| {
            schema.index_of(name).ok_or_else(|| {
                LoadError::Protocol(format!("xdr_kafka sent a page without column `{name}`"))
            })
        };
        let (kind, part, offset, raw, reason, kpart) = (
            index(KIND)?,
            index(DG_PARTITION)?,
            index(DG_OFFSET)?,
            index(DG_RAW)?,
            index(DG_REASON)?,
            index(KAFKA_PARTITION)?,
        );
        let data: Vec<usize> = self
            .data_schema
            .columns()
            .iter()
            .map(|c| index(&c.name))
            .collect::<Result<_, _>>()?;
        let int32 = |col: usize, row: usize| match page.column(col).get(row) {
            Some(Value::Int32(v)) => Some(v),
            _ => None,
        };
        let mut runs: Vec<Range<usize>> = Vec::new();
        for row in 0..page.nrow() {
            match int32(kind, row) {
                Some(KIND_DATA) => {
                    match runs.last_mut() {
                        Some(run) if run.end == row => run.end += 1,
                        _ => runs.push(row..row + 1),
                    }
                    out.rows += 1;
                    if let Some(p) = int32(kpart, row) {
                        *out.rows_per_partition.entry(p).or_default() += 1;
                    }
                }
                Some(k @ (KIND_ERROR | KIND_POSITION)) => {
                    let partition = int32(part, row).ok_or_else(|| {
                        LoadError::Protocol("xdr_kafka sent a row without __dg_partition".into())
                    })?;
                    let next = match page.column(offset).get(row) {
                        Some(Value::Int64(v)) => v,
                        _ => {
                            return Err(LoadError::Protocol(
                                "xdr_kafka sent a row without __dg_offset".into(),
                            ));
                        }
                    };
                    if k == KIND_POSITION {
                        out.positions.insert(partition, next);
                    } else {
                        let raw = page.column(raw).get_bytes(row).map(<[u8]>::to_vec);
                        let reason = match page.column(reason).get(row) {
                            Some(Value::Text(t)) => t.to_owned(),
                            _ => String::new(),
                        };
                        out.errors.push(RowError {
                            partition,
                            offset: next,
                            raw,
                            reason,
                        });
                    }
                }
                other => {
                    return Err(LoadError::Protocol(format!(
                        "xdr_kafka sent a row of unknown __dg_kind {other:?}"
                    )));
                }
            }
        }
        if !runs.is_empty() {
            out.pages.push(DataPage {
                page,
                columns: data,
                runs,
            });
        }
        Ok(())
    }
}

/// One read request's batches, in order.
pub struct BatchStream<'a> {
    plan: &'a ReadPlan,
    pages: PageStream<TcpStream>,
    /// The fragment's partitions: a checkpoint is complete with a position for each.
    owned: usize,
    ended: bool,
}

impl BatchStream<'_> {
    /// The next batch: the rows up to the next checkpoint, or up to the end of the
    /// stream; `None` once the stream ended.
    pub async fn next_batch(&mut self) -> Result<Option<BatchRead>, LoadError> {
        if self.ended {
            return Ok(None);
        }
        let mut out = BatchRead::default();
        let mut any = false;
        while let Some(page) = self
            .pages
            .next_page()
            .await
            .map_err(|e| LoadError::Read(Box::new(e)))?
        {
            any = true;
            self.plan.split_page(page, &mut out)?;
            // A checkpoint ends its page, but its position rows may span two pages.
            if self.owned > 0 && out.positions.len() >= self.owned {
                return Ok(Some(out));
            }
        }
        self.ended = true;
        Ok(any.then_some(out))
    }
}

/// The read query keys of `[kafka.transform]`: the module (relative to the mount's
/// `--transforms-dir`), its config pairs encoded for the query, and its limits.
fn transform_query(transform: &Transform) -> Result<String, LoadError> {
    let pairs = transform
        .config_pairs()
        .map_err(|e| LoadError::config(e.key, e.message))?;
    Ok(format!(
        "&transform={}&transform_config={}&transform_timeout_ms={}&transform_memory_mb={}",
        transform.module,
        formats::encode_transform_config(&pairs),
        transform.batch_timeout_ms,
        transform.memory_limit_mb,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            r#"
[dgkafka]
database = "d"
user = "u"
[kafka.input]
format = "csv"
delimiter = "|"
consumer_group = "dggrp"
topic = "customer"
partition_num = 3
[[kafka.input.columns]]
name = "A"
type = "integer"
[[kafka.input.columns]]
name = "skip"
type = "text"
ignored = true
[kafka.output]
offset_table = "o"
output_table = "t"
{extra}
[kafka.commit]
max_row = 200
"#
        );
        let config = Config::parse(&text).unwrap();
        config.validate().unwrap();
        config
    }

    #[test]
    fn the_request_projects_loaded_columns_and_the_row_kinds() {
        let plan = ReadPlan::new(&config("")).unwrap();
        assert_eq!(plan.path, "/kafka/customer");
        assert_eq!(
            plan.projection,
            [
                "a",
                "__kafka_partition",
                "__dg_kind",
                "__dg_partition",
                "__dg_offset",
                "__dg_raw",
                "__dg_reason"
            ]
        );
        assert_eq!(plan.columns.len(), 8);
        assert_eq!(plan.data_schema.len(), 1);
        assert_eq!(plan.csv.as_ref().unwrap().delimiter, "|");
        assert_eq!(
            plan.query(&[5, -1, -2]),
            "group=dggrp&start=5,-1,-2&limit=20000&checkpoint=200&timeout=-1"
        );
    }

    #[test]
    fn a_request_reads_whole_batches_up_to_about_a_million_records() {
        let plan = |max_row: i64| {
            let mut c = config("");
            c.kafka.commit.max_row = max_row;
            let plan = ReadPlan::new(&c).unwrap();
            (plan.limit, plan.max_row)
        };
        assert_eq!(plan(100_000), (1_000_000, 100_000));
        // At most MAX_BATCHES_PER_READ batches, at least one.
        assert_eq!(plan(1000), (100_000, 1000));
        assert_eq!(plan(3_000_000), (3_000_000, 3_000_000));
        assert_eq!(plan(300_000), (900_000, 300_000));
    }

    #[test]
    fn the_error_limit_is_sent_only_with_an_error_table() {
        let rows = ReadPlan::new(&config("error_table = \"e\"\nerror_limit = \"10%\"")).unwrap();
        assert!(
            rows.query(&[0]).ends_with("&error_limit=20"),
            "{}",
            rows.query(&[0])
        );
        let plain = ReadPlan::new(&config("")).unwrap();
        assert!(!plain.query(&[0]).contains("error_limit"));
    }

    #[test]
    fn a_transform_adds_its_keys_to_the_query() {
        let plain = ReadPlan::new(&config("")).unwrap();
        assert!(!plain.query(&[0]).contains("transform"));

        let mut with = config("");
        with.kafka.transform = Some(Transform {
            module: "sub/mask.wasm".into(),
            config: toml::from_str("fields = [\"phone\", \"address\"]\nkeep = 4").unwrap(),
            batch_timeout_ms: 250,
            memory_limit_mb: 64,
        });
        with.validate().unwrap();
        let plan = ReadPlan::new(&with).unwrap();
        let query = plan.query(&[5, -1, -2]);
        let pairs = [
            ("fields".to_owned(), r#"["phone", "address"]"#.to_owned()),
            ("keep".to_owned(), "4".to_owned()),
        ];
        assert_eq!(
            query,
            format!(
                "group=dggrp&start=5,-1,-2&limit=20000&checkpoint=200&timeout=-1&transform=sub/mask.wasm\
                 &transform_config={}&transform_timeout_ms=250&transform_memory_mb=64",
                formats::encode_transform_config(&pairs)
            )
        );
        // The query still parses as the plugin parses it, one value per key.
        let parsed = xdrive_proto::query::parse(&query).unwrap();
        assert_eq!(parsed.get("transform"), Some("sub/mask.wasm"));
        assert_eq!(parsed.get("transform_memory_mb"), Some("64"));
        // With a transform the loaded columns are still kafka.input.columns.
        assert_eq!(plan.data_schema.len(), 1);
    }

    #[test]
    fn a_transform_config_the_query_cannot_carry_names_its_key() {
        let mut with = config("");
        with.kafka.transform = Some(Transform {
            module: "m.wasm".into(),
            config: toml::from_str("t = { a = 1 }").unwrap(),
            batch_timeout_ms: 250,
            memory_limit_mb: 64,
        });
        let err = ReadPlan::new(&with).unwrap_err();
        assert!(
            err.to_string().starts_with("kafka.transform.config.t: "),
            "{err}"
        );
    }

    #[test]
    fn a_group_the_query_cannot_carry_is_refused() {
        let mut bad = config("");
        bad.kafka.input.consumer_group = "a&b".into();
        let err = ReadPlan::new(&bad).unwrap_err();
        assert!(
            err.to_string().starts_with("kafka.input.consumer_group: "),
            "{err}"
        );
    }
}
