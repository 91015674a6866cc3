//! The database side of a batch: one transaction that copies the data rows (into the
//! output table, or into a staging table followed by `INSERT ... SELECT <mappings>`),
//! stores error rows, records the next offset per partition, and commits.

use std::collections::BTreeMap;
use std::time::SystemTime;

use tokio_postgres::{Client, Statement};

use super::LoadError;
use super::read::BatchRead;
use crate::config::Config;
use crate::copy::CopyTarget;
use crate::ident::{Ident, QualifiedName, parse_column_list, quote};

/// The staging table of a connection (a temporary table: one per session).
const STAGING: &str = "pg_temp.dgkafka_staging";

/// One `[[kafka.output.mappings]]` entry, resolved against the output table.
#[derive(Debug, Clone)]
struct Mapping {
    index: usize,
    name: String,
    key: String,
    /// Target columns.
    columns: Vec<Ident>,
    /// The SELECT-list expression: `(key)::type` for one column, `key` for several.
    expr: String,
}

/// What a reader needs on its own connection; built by [`Sink::prepare`].
pub struct Sink {
    group: String,
    topic: String,
    copy: CopyTarget,
    insert: Option<(String, Vec<Mapping>)>,
    insert_error: Option<Statement>,
    insert_offset: Statement,
    output_table: String,
}

fn names(config: &Config) -> Result<Vec<String>, LoadError> {
    config
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.ignored)
        .map(|(i, c)| {
            Ident::parse(&c.name)
                .map(|n| n.as_str().to_owned())
                .map_err(|e| {
                    LoadError::config(format!("kafka.input.columns[{i}].name"), e.to_string())
                })
        })
        .collect()
}

fn table(key: &str, text: &str) -> Result<QualifiedName, LoadError> {
    QualifiedName::parse(text).map_err(|e| LoadError::config(key, e.to_string()))
}

impl Sink {
    /// Looks up the tables on `client` (creating the staging table when mappings are
    /// configured) and prepares the statements.
    pub async fn prepare(client: &Client, config: &Config) -> Result<Sink, LoadError> {
        let output = &config.kafka.output;
        let output_table = table("kafka.output.output_table", &output.output_table)?;
        let offset_table = table("kafka.output.offset_table", &output.offset_table)?;
        let columns = names(config)?;
        let column_refs: Vec<&str> = columns.iter().map(String::as_str).collect();
        let sql_error = |what: String| move |source| LoadError::Sql { what, source };

        let (copy, insert) = if output.mappings.is_empty() {
            let copy = CopyTarget::describe(client, &output_table, &column_refs)
                .await
                .map_err(LoadError::Copy)?;
            (copy, None)
        } else {
            // The staging table has the loaded input columns with their declared types.
            let mut defs = Vec::new();
            for (i, c) in config
                .columns()
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.ignored)
            {
                let ty: String = client
                    .query_one("SELECT format_type(to_regtype($1), NULL)", &[&c.type_])
                    .await
                    .map_err(sql_error(format!(
                        "resolving kafka.input.columns[{i}].type"
                    )))?
                    .get::<_, Option<String>>(0)
                    .ok_or_else(|| {
                        LoadError::config(
                            format!("kafka.input.columns[{i}].type"),
                            format!("`{}` is not a type PostgreSQL knows", c.type_),
                        )
                    })?;
                defs.push(format!("{} {ty}", quote(&columns[defs.len()])));
            }
            client
                .batch_execute(&format!(
                    "CREATE TEMP TABLE IF NOT EXISTS dgkafka_staging ({}) ON COMMIT DELETE ROWS",
                    defs.join(", ")
                ))
                .await
                .map_err(sql_error("creating the staging table".into()))?;
            let staging = QualifiedName::parse(STAGING).expect("a valid name");
            let copy = CopyTarget::describe(client, &staging, &column_refs)
                .await
                .map_err(LoadError::Copy)?;
            let mappings = resolve_mappings(client, config, &output_table).await?;
            let targets = mappings
                .iter()
                .flat_map(|m| m.columns.iter().map(ToString::to_string))
                .collect::<Vec<_>>()
                .join(", ");
            let exprs = mappings
                .iter()
                .map(|m| m.expr.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let sql =
                format!("INSERT INTO {output_table} ({targets}) SELECT {exprs} FROM {STAGING}");
            if let Err(source) = client.prepare(&sql).await {
                return Err(LoadError::Sql {
                    what: format!(
                        "preparing the INSERT of kafka.output.mappings into {output_table}"
                    ),
                    source,
                });
            }
            (copy, Some((sql, mappings)))
        };
        let insert_error = match &output.error_table {
            Some(error_table) => {
                let error_table = table("kafka.output.error_table", error_table)?;
                Some(
                    client
                        .prepare(&format!(
                            "INSERT INTO {error_table} (consumer_group, topic, \"partition\", \"offset\", raw, reason) \
                             VALUES ($1, $2, $3, $4, $5, $6)"
                        ))
                        .await
                        .map_err(sql_error(format!("preparing the insert into kafka.output.error_table {error_table}")))?,
                )
            }
            None => None,
        };
        let insert_offset = client
            .prepare(&format!(
                "INSERT INTO {offset_table} (consumer_group, topic, partition_number, next_offset, \
                 latest_offset, batch_start, batch_end, nrows) \
                 VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp(), $7)"
            ))
            .await
            .map_err(sql_error(format!(
                "preparing the insert into kafka.output.offset_table {offset_table} (run `dgkafka setup` first)"
            )))?;
        Ok(Sink {
            group: config.kafka.input.consumer_group.clone(),
            topic: config.kafka.input.topic.clone(),
            copy,
            insert,
            insert_error,
            insert_offset,
            output_table: output_table.to_string(),
        })
    }

    /// Writes one batch in one transaction and commits it. `latest` gives each
    /// partition's high watermark when known.
    pub async fn write(
        &self,
        client: &mut Client,
        batch: &BatchRead,
        latest: &BTreeMap<i32, i64>,
        started: SystemTime,
    ) -> Result<(), LoadError> {
        let sql_error = |what: &str| {
            let what = what.to_owned();
            move |source| LoadError::Sql { what, source }
        };
        let tx = client
            .transaction()
            .await
            .map_err(sql_error("starting the batch's transaction"))?;
        if batch.rows > 0 {
            self.copy
                .copy_rows(&tx, batch.data())
                .await
                .map_err(LoadError::Copy)?;
            if let Some((sql, mappings)) = &self.insert {
                tx.batch_execute("SAVEPOINT dgkafka_mappings")
                    .await
                    .map_err(sql_error("setting a savepoint"))?;
                if let Err(source) = tx.execute(sql.as_str(), &[]).await {
                    if source.as_db_error().is_none() {
                        return Err(LoadError::Sql {
                            what: format!(
                                "INSERT ... SELECT of kafka.output.mappings into {}",
                                self.output_table
                            ),
                            source,
                        });
                    }
                    // Find the mapping that fails, to name it.
                    tx.batch_execute("ROLLBACK TO SAVEPOINT dgkafka_mappings")
                        .await
                        .map_err(sql_error("rolling back to a savepoint"))?;
                    for m in mappings {
                        let probe = format!("SELECT {} FROM {STAGING}", m.expr);
                        if let Err(e) = tx.query(probe.as_str(), &[]).await {
                            return Err(mapping_error(m, e));
                        }
                    }
                    return Err(LoadError::Sql {
                        what: format!(
                            "INSERT ... SELECT of kafka.output.mappings into {}",
                            self.output_table
                        ),
                        source,
                    });
                }
            }
        }
        if !batch.errors.is_empty() {
            let Some(insert_error) = &self.insert_error else {
                let e = &batch.errors[0];
                return Err(LoadError::RowError {
                    partition: e.partition,
                    offset: e.offset,
                    reason: e.reason.clone(),
                });
            };
            for e in &batch.errors {
                tx.execute(
                    insert_error,
                    &[
                        &self.group,
                        &self.topic,
                        &e.partition,
                        &e.offset,
                        &e.raw,
                        &e.reason,
                    ],
                )
                .await
                .map_err(sql_error("storing a row error in kafka.output.error_table"))?;
            }
        }
        for (&partition, &next) in &batch.positions {
            let latest = latest.get(&partition).copied().unwrap_or(next).max(next);
            let nrows = batch
                .rows_per_partition
                .get(&partition)
                .copied()
                .unwrap_or(0) as i64;
            tx.execute(
                &self.insert_offset,
                &[
                    &self.group,
                    &self.topic,
                    &partition,
                    &next,
                    &latest,
                    &started,
                    &nrows,
                ],
            )
            .await
            .map_err(sql_error("recording offsets in kafka.output.offset_table"))?;
        }
        tx.commit().await.map_err(sql_error("committing the batch"))
    }
}

fn mapping_error(m: &Mapping, source: tokio_postgres::Error) -> LoadError {
    LoadError::Mapping {
        index: m.index,
        name: m.name.clone(),
        key: m.key.clone(),
        source,
    }
}

/// Resolves each mapping's target columns and expression; an expression PostgreSQL
/// rejects is an error naming the mapping.
async fn resolve_mappings(
    client: &Client,
    config: &Config,
    output_table: &QualifiedName,
) -> Result<Vec<Mapping>, LoadError> {
    let mut out = Vec::new();
    for (index, m) in config.kafka.output.mappings.iter().enumerate() {
        let columns = parse_column_list(&m.name).map_err(|e| {
            LoadError::config(
                format!("kafka.output.mappings[{index}].name"),
                e.to_string(),
            )
        })?;
        let expr = if let [column] = columns.as_slice() {
            let ty: Option<String> = client
                .query_opt(
                    "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
                     WHERE a.attrelid = $1::text::regclass AND a.attname = $2 AND a.attnum > 0 \
                     AND NOT a.attisdropped",
                    &[&output_table.to_string(), &column.as_str()],
                )
                .await
                .map_err(|source| LoadError::Sql {
                    what: format!("looking up the columns of {output_table}"),
                    source,
                })?
                .map(|row| row.get(0));
            let ty = ty.ok_or_else(|| {
                LoadError::config(
                    format!("kafka.output.mappings[{index}].name"),
                    format!("kafka.output.output_table {output_table} has no column {column}"),
                )
            })?;
            format!("({})::{ty}", m.key)
        } else {
            m.key.clone()
        };
        let mapping = Mapping {
            index,
            name: m.name.clone(),
            key: m.key.clone(),
            columns,
            expr,
        };
        match client
            .prepare(&format!("SELECT {} FROM {STAGING}", mapping.expr))
            .await
        {
            Ok(statement) if statement.columns().len() == mapping.columns.len() => {}
            Ok(statement) => {
                return Err(LoadError::config(
                    format!("kafka.output.mappings[{index}]"),
                    format!(
                        "key `{}` gives {} columns, but name `{}` lists {}",
                        m.key,
                        statement.columns().len(),
                        m.name,
                        mapping.columns.len()
                    ),
                ));
            }
            Err(e) => return Err(mapping_error(&mapping, e)),
        }
        out.push(mapping);
    }
    Ok(out)
}
