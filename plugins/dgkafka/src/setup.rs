//! `dgkafka setup`: check the database side of a `dgkafka.toml` and create, idempotently,
//! the tables dgkafka writes to.
//!
//! Checks (the first failure is the error, naming the key):
//! * the database is reachable ([`crate::db::connect`]);
//! * `kafka.output.output_table` exists and is a table;
//! * every `kafka.input.columns[i].type` is a type PostgreSQL knows;
//! * every `kafka.output.mappings[i].name` is a column of the output table; without
//!   mappings, every loaded input column is;
//! * the schema of each table to create exists, and an existing offset or error table has
//!   the columns dgkafka writes;
//! * Kafka, through the xdrive `load` uses (`dgkafka.xdrive_host:xdrive_port`, mount
//!   `dgkafka.xdrive_offset_endpoint`): xdrive answers, the mount's brokers answer,
//!   `kafka.input.topic` exists and has `kafka.input.partition_num` partitions — the read
//!   and the check `load` makes before its first batch ([`kafka_offsets::read`],
//!   [`kafka_offsets::check_partition_count`]).
//!
//! Creates, in one transaction, `kafka.output.offset_table` (the offset history, one row
//! per partition per batch, with an index for the latest row per group, topic and
//! partition) and, when configured, `kafka.output.error_table`.
//!
//! The seed's external tables (`kafka.input.ext_read_table`, `ext_write_table`,
//! `ext_offset_table`) are xdrive external tables in Deepgreen; plain PostgreSQL has none,
//! so they are reported as waiting for the PostgreSQL extension of a later step.

use std::collections::HashSet;
use std::error::Error as _;
use std::fmt;

use tokio_postgres::{Client, GenericClient};

use crate::config::Config;
use crate::db::{self, ConnectError};
use crate::ident::{self, Ident, QualifiedName, quote};
use crate::kafka_offsets::{self, KafkaOffsetError, PartitionCountError};

/// How long brokers that are temporarily unavailable (restarting, a new consumer group's
/// coordinator not ready) are tried again.
pub const KAFKA_PATIENCE: std::time::Duration = std::time::Duration::from_secs(15);

/// Columns of the offset history table, in order.
pub const OFFSET_COLUMNS: &[(&str, &str)] = &[
    ("consumer_group", "text"),
    ("topic", "text"),
    ("partition_number", "integer"),
    ("next_offset", "bigint"),
    ("latest_offset", "bigint"),
    ("batch_start", "timestamp with time zone"),
    ("batch_end", "timestamp with time zone"),
    ("nrows", "bigint"),
];

/// Columns of the error table, in order.
pub const ERROR_COLUMNS: &[(&str, &str)] = &[
    ("consumer_group", "text"),
    ("topic", "text"),
    ("partition", "integer"),
    ("offset", "bigint"),
    ("raw", "bytea"),
    ("reason", "text"),
    ("ts", "timestamp with time zone"),
];

/// What `setup` found wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{key}: {message}")]
    Check { key: String, message: String },
    #[error("{what} failed")]
    Query {
        what: String,
        source: tokio_postgres::Error,
    },
    #[error(transparent)]
    PartitionCount(#[from] PartitionCountError),
}

fn check(key: impl Into<String>, message: impl Into<String>) -> SetupError {
    SetupError::Check {
        key: key.into(),
        message: message.into(),
    }
}

fn query(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> SetupError {
    let what = what.into();
    move |source| SetupError::Query { what, source }
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Exists,
    Created,
    NotConfigured,
    /// An xdrive external table: served by the PostgreSQL extension of a later step.
    AwaitsExtension,
    /// The topic exists with `kafka.input.partition_num` partitions.
    Partitions(usize),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Exists => "exists",
            Outcome::Created => "created",
            Outcome::NotConfigured => "not configured",
            Outcome::AwaitsExtension => {
                "not created: an xdrive external table, served by dgkafka-rs' PostgreSQL extension in a later step (plain PostgreSQL has no external tables)"
            }
            Outcome::Partitions(n) => {
                return write!(
                    f,
                    "exists with {n} partitions, as kafka.input.partition_num says"
                );
            }
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The config key, e.g. `kafka.output.offset_table`.
    pub key: &'static str,
    /// The table as written in the config.
    pub table: String,
    pub outcome: Outcome,
}

/// What `setup` did, in the order it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub items: Vec<Item>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            writeln!(f, "{:<30} {:<32} {}", item.key, item.table, item.outcome)?;
        }
        Ok(())
    }
}

/// Runs `setup` against the database `[dgkafka]` names.
pub async fn run(config: &Config) -> Result<Report, SetupError> {
    let mut client = db::connect(&config.dgkafka).await?;
    run_with(&mut client, config).await
}

/// Runs `setup` over an open connection.
pub async fn run_with(client: &mut Client, config: &Config) -> Result<Report, SetupError> {
    let output = &config.kafka.output;
    let output_table = parse_name("kafka.output.output_table", &output.output_table)?;
    let offset_table = parse_name("kafka.output.offset_table", &output.offset_table)?;
    let error_table = output
        .error_table
        .as_deref()
        .map(|t| parse_name("kafka.output.error_table", t))
        .transpose()?;

    let output_columns = check_output_table(client, &output_table, &output.output_table).await?;
    check_column_types(client, config).await?;
    check_targets(config, &output_columns, &output.output_table)?;

    let tx = client
        .transaction()
        .await
        .map_err(query("starting the setup transaction"))?;
    let mut items = vec![Item {
        key: "kafka.output.output_table",
        table: output.output_table.clone(),
        outcome: Outcome::Exists,
    }];
    let offset_outcome = ensure_table(
        &tx,
        "kafka.output.offset_table",
        &offset_table,
        &output.offset_table,
        OFFSET_COLUMNS,
    )
    .await?;
    let index = quote(&index_name(offset_table.name.as_str()));
    tx.batch_execute(&format!(
        "CREATE INDEX IF NOT EXISTS {index} ON {offset_table} \
         (consumer_group, topic, partition_number, batch_end DESC)"
    ))
    .await
    .map_err(query(format!(
        "creating the latest-offset index on {}",
        output.offset_table
    )))?;
    items.push(Item {
        key: "kafka.output.offset_table",
        table: output.offset_table.clone(),
        outcome: offset_outcome,
    });
    let error_outcome = match &error_table {
        Some(name) => {
            let written = output.error_table.as_deref().unwrap_or_default();
            ensure_table(
                &tx,
                "kafka.output.error_table",
                name,
                written,
                ERROR_COLUMNS,
            )
            .await?
        }
        None => Outcome::NotConfigured,
    };
    items.push(Item {
        key: "kafka.output.error_table",
        table: output.error_table.clone().unwrap_or_else(|| "-".to_owned()),
        outcome: error_outcome,
    });
    // Kafka last, so the database's problems are reported first; before the commit, so
    // a setup that fails creates nothing.
    let partitions = check_kafka(config).await?;
    tx.commit()
        .await
        .map_err(query("committing the setup transaction"))?;

    let input = &config.kafka.input;
    items.push(Item {
        key: "kafka.input.topic",
        table: input.topic.clone(),
        outcome: Outcome::Partitions(partitions),
    });
    for (key, table) in [
        ("kafka.input.ext_read_table", &input.ext_read_table),
        ("kafka.input.ext_write_table", &input.ext_write_table),
        ("kafka.input.ext_offset_table", &input.ext_offset_table),
    ] {
        items.push(Item {
            key,
            table: table.clone().unwrap_or_else(|| "-".to_owned()),
            outcome: if table.is_some() {
                Outcome::AwaitsExtension
            } else {
                Outcome::NotConfigured
            },
        });
    }
    Ok(Report { items })
}

/// Reads the topic's partitions through `xdr_kafkaoffset`, as `load` does at start-up, and
/// checks `kafka.input.partition_num` against them. Returns the partition count.
pub async fn check_kafka(config: &Config) -> Result<usize, SetupError> {
    let d = &config.dgkafka;
    let input = &config.kafka.input;
    let xdrive = xdrive::Client::new(d.xdrive_host.clone(), d.xdrive_port);
    let offsets = kafka_offsets::read_patiently(
        &xdrive,
        &d.xdrive_offset_endpoint,
        &input.consumer_group,
        &input.topic,
        KAFKA_PATIENCE,
    )
    .await
    .map_err(|e| kafka_error(config, xdrive.addr(), &e))?;
    kafka_offsets::check_partition_count(&input.topic, input.partition_num, &offsets)?;
    Ok(offsets.len())
}

/// What failed in reading the topic through xdrive, as the key to fix and what to do.
fn kafka_error(config: &Config, addr: &str, e: &KafkaOffsetError) -> SetupError {
    let d = &config.dgkafka;
    let input = &config.kafka.input;
    let mount = &d.xdrive_offset_endpoint;
    let source = match e {
        KafkaOffsetError::Read { source, .. } | KafkaOffsetError::Commit { source, .. } => {
            Some(source.as_ref())
        }
        _ => None,
    };
    let unreachable = |why: String| {
        check(
            "dgkafka.xdrive_host, dgkafka.xdrive_port",
            format!(
                "no xdrive answers at {addr} ({why}); start xdrive with the xdrive.toml that \
                 mounts `{mount}` (xdr_kafkaoffset) and `{}` (xdr_kafka), or set these keys to \
                 where it listens",
                d.xdrive_kafka_endpoint
            ),
        )
    };
    match source {
        Some(x @ xdrive::Error::Connect { .. }) => {
            unreachable(x.source().map_or_else(String::new, |s| s.to_string()))
        }
        Some(xdrive::Error::ConnectTimeout { after, .. }) => {
            unreachable(format!("no connection within {after:?}"))
        }
        Some(
            x @ (xdrive::Error::Io { .. }
            | xdrive::Error::Closed { .. }
            | xdrive::Error::Frame { .. }),
        ) => check(
            "dgkafka.xdrive_host, dgkafka.xdrive_port",
            format!(
                "the server at {addr} does not answer as an xdrive ({}); set these keys to \
                 where xdrive listens",
                crate::error_chain(x)
            ),
        ),
        Some(x) => match (x.errcode(), x.errmsg()) {
            (Some(xdrive::errcode::UNKNOWN_MOUNT | xdrive::errcode::BAD_PATH), _) => check(
                "dgkafka.xdrive_offset_endpoint",
                format!(
                    "the xdrive at {addr} has no mount `{mount}`; add a [[xdrive.mount]] named \
                     `{mount}` running xdr_kafkaoffset to its xdrive.toml, or set this key to \
                     the name of that mount"
                ),
            ),
            (Some(xdrive::errcode::PLUGIN_START), msg) => check(
                "dgkafka.xdrive_offset_endpoint",
                format!(
                    "the xdrive at {addr} cannot start the plugin of mount `{mount}` ({}); \
                     check that mount's argv in xdrive.toml",
                    msg.unwrap_or_default()
                ),
            ),
            (Some(xdrive::errcode::PLUGIN_RETRIABLE), msg) => check(
                format!("xdrive.toml [[xdrive.mount]] `{mount}` argv (the brokers)"),
                format!(
                    "the Kafka brokers do not answer ({}); start Kafka, or fix the broker list \
                     in the argv of the xdrive mounts `{mount}` and `{}`",
                    msg.unwrap_or_default(),
                    d.xdrive_kafka_endpoint
                ),
            ),
            (Some(_), Some(msg))
                if msg.contains(&format!("topic \"{}\" does not exist", input.topic)) =>
            {
                check(
                    "kafka.input.topic",
                    format!(
                        "topic `{}` does not exist in Kafka (the brokers of xdrive mount \
                         `{mount}`); create it with {} partitions (kafka.input.partition_num), \
                         or fix the key",
                        input.topic, input.partition_num
                    ),
                )
            }
            _ => check("dgkafka.xdrive_offset_endpoint", crate::error_chain(e)),
        },
        None => check("dgkafka.xdrive_offset_endpoint", crate::error_chain(e)),
    }
}

fn parse_name(key: &str, text: &str) -> Result<QualifiedName, SetupError> {
    QualifiedName::parse(text).map_err(|e| check(key, e.to_string()))
}

/// `<table>_latest`, cut to PostgreSQL's identifier length on a character boundary.
fn index_name(table: &str) -> String {
    let mut name = format!("{table}_latest");
    while name.len() > ident::MAX_IDENT_BYTES {
        let keep = name.len() - "_latest".len();
        let mut cut = keep - 1;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}_latest", &name[..cut]);
    }
    name
}

/// The relation's oid and kind, or None.
async fn lookup(
    client: &impl GenericClient,
    name: &QualifiedName,
) -> Result<Option<(u32, i8)>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c \
             WHERE c.oid = to_regclass($1)",
            &[&name.to_string()],
        )
        .await?;
    Ok(row.map(|row| (row.get(0), row.get(1))))
}

/// Columns of a relation: name → formatted type.
async fn columns_of(
    client: &impl GenericClient,
    oid: u32,
) -> Result<Vec<(String, String)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute \
             WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&oid],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn is_table(kind: i8) -> bool {
    kind == b'r' as i8 || kind == b'p' as i8
}

async fn check_output_table(
    client: &Client,
    name: &QualifiedName,
    written: &str,
) -> Result<HashSet<String>, SetupError> {
    let key = "kafka.output.output_table";
    let found = lookup(client, name)
        .await
        .map_err(query(format!("looking up {key} {written}")))?;
    let Some((oid, kind)) = found else {
        return Err(check(
            key,
            format!(
                "table {name} does not exist; create it before `dgkafka setup` (the seed's \"Create Output Table\" step)"
            ),
        ));
    };
    if !is_table(kind) {
        return Err(check(key, format!("{name} is not a table")));
    }
    let columns = columns_of(client, oid)
        .await
        .map_err(query(format!("reading the columns of {written}")))?;
    Ok(columns.into_iter().map(|(name, _)| name).collect())
}

async fn check_column_types(client: &Client, config: &Config) -> Result<(), SetupError> {
    for (i, column) in config.kafka.input.columns.iter().enumerate() {
        let key = format!("kafka.input.columns[{i}].type");
        // `to_regtype` is NULL for an unknown type, and raises for text that is not a
        // type name at all; both mean the same to the user.
        let known = match client
            .query_one("SELECT to_regtype($1) IS NOT NULL", &[&column.type_])
            .await
        {
            Ok(row) => row.get::<_, bool>(0),
            Err(e) if e.as_db_error().is_some() => false,
            Err(e) => return Err(query(format!("checking {key}"))(e)),
        };
        if !known {
            return Err(check(
                key,
                format!(
                    "`{}` (column `{}`) is not a type this PostgreSQL knows",
                    column.type_, column.name
                ),
            ));
        }
    }
    Ok(())
}

fn check_targets(
    config: &Config,
    output_columns: &HashSet<String>,
    written: &str,
) -> Result<(), SetupError> {
    let mappings = &config.kafka.output.mappings;
    for (i, mapping) in mappings.iter().enumerate() {
        let key = format!("kafka.output.mappings[{i}].name");
        let names =
            ident::parse_column_list(&mapping.name).map_err(|e| check(&key, e.to_string()))?;
        for name in names {
            if !output_columns.contains(name.as_str()) {
                return Err(check(
                    key,
                    format!(
                        "kafka.output.output_table {written} has no column `{}`",
                        name.as_str()
                    ),
                ));
            }
        }
    }
    if mappings.is_empty() {
        // Rows go straight into the output table, by column name.
        for (i, column) in config.columns().iter().enumerate() {
            if column.ignored {
                continue;
            }
            let name = Ident::parse(&column.name)
                .map_err(|e| check(format!("kafka.input.columns[{i}].name"), e.to_string()))?;
            if !output_columns.contains(name.as_str()) {
                let key = if config.kafka.input.columns.is_empty() {
                    "kafka.input.format".to_owned()
                } else {
                    format!("kafka.input.columns[{i}].name")
                };
                return Err(check(
                    key,
                    format!(
                        "kafka.output.output_table {written} has no column `{}` and no kafka.output.mappings say where it goes",
                        name.as_str()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Creates the table if missing; checks an existing one has the columns dgkafka writes.
async fn ensure_table(
    client: &impl GenericClient,
    key: &str,
    name: &QualifiedName,
    written: &str,
    columns: &[(&str, &str)],
) -> Result<Outcome, SetupError> {
    if let Some(schema) = &name.schema {
        let exists = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
                &[&schema.as_str()],
            )
            .await
            .map_err(query(format!("looking up the schema of {key}")))?
            .get::<_, bool>(0);
        if !exists {
            return Err(check(
                key,
                format!("schema {schema} does not exist; create it first (CREATE SCHEMA {schema})"),
            ));
        }
    }
    let found = lookup(client, name)
        .await
        .map_err(query(format!("looking up {key} {written}")))?;
    match found {
        Some((oid, kind)) => {
            if !is_table(kind) {
                return Err(check(key, format!("{name} exists but is not a table")));
            }
            let have = columns_of(client, oid)
                .await
                .map_err(query(format!("reading the columns of {written}")))?;
            for (column, type_) in columns {
                if !have.iter().any(|(n, t)| n == column && t == type_) {
                    return Err(check(
                        key,
                        format!(
                            "table {name} exists but has no column {} of type {type_}; \
                             use another name or drop it",
                            quote(column)
                        ),
                    ));
                }
            }
            Ok(Outcome::Exists)
        }
        None => {
            let list = columns
                .iter()
                .map(|(column, type_)| {
                    let default = if *column == "ts" {
                        " DEFAULT now()"
                    } else {
                        ""
                    };
                    format!("{} {type_}{default}", quote(column))
                })
                .collect::<Vec<_>>()
                .join(", ");
            client
                .batch_execute(&format!("CREATE TABLE IF NOT EXISTS {name} ({list})"))
                .await
                .map_err(query(format!("creating {key} {written}")))?;
            tracing::info!(key, table = %name, "Created table.");
            Ok(Outcome::Created)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_fit_postgres_limits() {
        assert_eq!(
            index_name("kafka_offset_summary"),
            "kafka_offset_summary_latest"
        );
        let long = "x".repeat(63);
        let name = index_name(&long);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_latest"));
        let wide = "é".repeat(31);
        let name = index_name(&wide);
        assert!(name.len() <= 63 && name.ends_with("_latest"), "{name}");
    }

    fn config() -> Config {
        Config::parse(
            r#"
[dgkafka]
database = "d"
user = "u"
xdrive_port = 7399
[kafka.input]
format = "json"
consumer_group = "g"
topic = "customer"
partition_num = 3
[kafka.output]
offset_table = "o"
output_table = "t"
"#,
        )
        .expect("a valid config")
    }

    fn refused(errcode: i32, errmsg: &str) -> KafkaOffsetError {
        KafkaOffsetError::Read {
            group: "g".into(),
            topic: "customer".into(),
            endpoint: "kafkaoffset".into(),
            source: Box::new(xdrive::Error::Refused {
                target: Box::new(xdrive::Target {
                    addr: "localhost:7399".into(),
                    mount: "kafkaoffset".into(),
                    op: "read",
                }),
                stage: "data",
                errcode,
                errmsg: errmsg.into(),
            }),
        }
    }

    fn explained(e: &KafkaOffsetError) -> String {
        kafka_error(&config(), "localhost:7399", e).to_string()
    }

    #[test]
    fn kafka_failures_name_the_key_to_fix() {
        let refused_connection = KafkaOffsetError::Read {
            group: "g".into(),
            topic: "customer".into(),
            endpoint: "kafkaoffset".into(),
            source: Box::new(xdrive::Error::Connect {
                target: Box::new(xdrive::Target {
                    addr: "localhost:7399".into(),
                    mount: "kafkaoffset".into(),
                    op: "read",
                }),
                source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
            }),
        };
        assert_eq!(
            explained(&refused_connection),
            "dgkafka.xdrive_host, dgkafka.xdrive_port: no xdrive answers at localhost:7399 \
             (connection refused); start xdrive with the xdrive.toml that mounts `kafkaoffset` \
             (xdr_kafkaoffset) and `kafka` (xdr_kafka), or set these keys to where it listens"
        );
        assert!(
            explained(&refused(xdrive::errcode::UNKNOWN_MOUNT, "no mount")).starts_with(
                "dgkafka.xdrive_offset_endpoint: the xdrive at localhost:7399 has no mount \
                 `kafkaoffset`"
            )
        );
        assert!(
            explained(&refused(xdrive::errcode::PLUGIN_START, "no such file")).contains(
                "cannot start the plugin of mount `kafkaoffset` (no such file); check that \
                 mount's argv in xdrive.toml"
            )
        );
        assert!(
            explained(&refused(
                xdrive::errcode::PLUGIN_RETRIABLE,
                "Broker transport failure"
            ))
            .starts_with(
                "xdrive.toml [[xdrive.mount]] `kafkaoffset` argv (the brokers): the Kafka \
                 brokers do not answer (Broker transport failure)"
            )
        );
        assert!(
            explained(&refused(-1, "topic \"customer\" does not exist")).starts_with(
                "kafka.input.topic: topic `customer` does not exist in Kafka (the brokers of \
                 xdrive mount `kafkaoffset`); create it with 3 partitions"
            )
        );
        // Anything else: the whole chain, under the mount's key.
        let other = explained(&refused(-1, "something else"));
        assert!(
            other.starts_with("dgkafka.xdrive_offset_endpoint: reading the offsets of group `g`")
                && other.contains("something else"),
            "{other}"
        );
    }

    #[test]
    fn outcomes_say_what_happened() {
        assert_eq!(Outcome::Created.to_string(), "created");
        assert_eq!(
            Outcome::Partitions(3).to_string(),
            "exists with 3 partitions, as kafka.input.partition_num says"
        );
        assert!(Outcome::AwaitsExtension.to_string().contains("extension"));
    }
}
