//! `dgkafka.toml`: serde structs that mirror the seed's file key for key, with the seed's
//! defaults, plus the keys dgkafka-rs adds (marked *ours* below).
//!
//! Reading a file is two steps: [`Config::parse`] (TOML and serde: unknown keys and wrong
//! types are errors naming the key path, e.g. `kafka.input.fromat`) and
//! [`Config::validate`] (values and cross-field rules, errors naming the key). [`load`]
//! does both.
//!
//! | key | default | notes |
//! |---|---|---|
//! | `dgkafka.database`, `dgkafka.user` | required | |
//! | `dgkafka.password` | `""` (none sent) | never shown by `Debug` or logs |
//! | `dgkafka.host` | `localhost` | starting with `/`: a unix socket directory (TLS is not used there, as in libpq) |
//! | `dgkafka.port` | `5432` | |
//! | `dgkafka.sslmode` | `require` | `disable`, `require`, `verify-ca`, `verify-full` |
//! | `dgkafka.connect_timeout` | `0` | seconds; 0 waits indefinitely |
//! | `dgkafka.sslcert`, `sslkey`, `sslrootcert` | none | PEM files; `sslcert` and `sslkey` go together |
//! | `dgkafka.xdrive_host` | `localhost` | *our default* |
//! | `dgkafka.xdrive_port` | `7171` | *our default* |
//! | `dgkafka.xdrive_offset_endpoint` | `kafkaoffset` | *our default*, the seed's mount name |
//! | `dgkafka.xdrive_kafka_endpoint` | `kafka` | *our default*, the seed's mount name |
//! | `kafka.input.format` | required | `csv`, `json` or `binary` |
//! | `kafka.input.delimiter` | `,` | csv only; one byte (*our default*: the seed's "comma-delimited") |
//! | `kafka.input.consumer_group`, `topic`, `partition_num` | required | |
//! | `kafka.input.nwriter` | `1` | *our default* |
//! | `kafka.input.ext_read_table`, `ext_write_table`, `ext_offset_table` | none | served by the PostgreSQL extension of a later step |
//! | `kafka.input.columns` | csv: required; json: `jdata json`; binary: `data bytea` | *our defaults* for json and binary |
//! | `kafka.input.nreader` | `min(partition_num, CPU cores)` | *ours*: parallel readers |
//! | `kafka.output.offset_table`, `output_table` | required | may be `schema.table` |
//! | `kafka.output.mappings` | none | `name` may list several columns: `"j1, j2"` |
//! | `kafka.output.error_table` | none | *ours*: where undecodable messages go |
//! | `kafka.output.error_limit` | none | *ours*: rows (`100`, `"100"`) or percent (`"5%"`) per batch |
//! | `kafka.commit.max_row` | `1000` | |
//! | `kafka.commit.minimal_interval` | `-1` | seconds; -1 does not wait |
//! | `kafka.transform.module` | none | *ours*: a WebAssembly transform, a path relative to the `xdr_kafka` mount's `--transforms-dir` (no `..`, no `&`) |
//! | `kafka.transform.config` | empty | *ours*: handed to the module's init as string pairs: strings unquoted, other values as TOML text, no tables ([`Transform::config_pairs`]) |
//! | `kafka.transform.batch_timeout_ms` | `10000` | *ours*: wall-clock budget of one batch in the module, 1..=3600000 |
//! | `kafka.transform.memory_limit_mb` | `256` | *ours*: the most linear memory the module may grow to, 1..=4096 |
//!
//! With a transform, `kafka.input.columns` are the transform's **output** columns (any
//! number, for json and binary too); what the module receives is the message decoded by
//! `kafka.input.format` (json: one `json` value, binary: one `bytes` value, csv: one text
//! value per field of `kafka.input.columns`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ident::{self, IdentError, QualifiedName};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub dgkafka: DgkafkaSection,
    pub kafka: KafkaSection,
}

/// `[dgkafka]`: the database connection and the xdrive server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DgkafkaSection {
    pub database: String,
    pub user: String,
    #[serde(default)]
    pub password: Password,
    #[serde(default = "default_host")]
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub sslmode: SslMode,
    /// Seconds; 0 (the default) waits indefinitely.
    #[serde(default)]
    pub connect_timeout: u64,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    pub sslrootcert: Option<PathBuf>,
    #[serde(default = "default_xdrive_host")]
    pub xdrive_host: String,
    #[serde(default = "default_xdrive_port")]
    pub xdrive_port: u16,
    #[serde(default = "default_xdrive_offset_endpoint")]
    pub xdrive_offset_endpoint: String,
    #[serde(default = "default_xdrive_kafka_endpoint")]
    pub xdrive_kafka_endpoint: String,
}

fn default_host() -> String {
    "localhost".to_owned()
}
fn default_port() -> u16 {
    5432
}
fn default_xdrive_host() -> String {
    "localhost".to_owned()
}
fn default_xdrive_port() -> u16 {
    7171
}
fn default_xdrive_offset_endpoint() -> String {
    "kafkaoffset".to_owned()
}
fn default_xdrive_kafka_endpoint() -> String {
    "kafka".to_owned()
}

/// The database password: `Debug` and `Display` never show it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(secret: impl Into<String>) -> Password {
        Password(secret.into())
    }

    /// The secret itself, for the connection only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("\"<redacted>\"")
        }
    }
}

/// `dgkafka.sslmode`, as the seed lists it. The default is `require` (not libpq's
/// `prefer`), as the seed says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS, certificate not verified.
    #[default]
    Require,
    /// TLS, certificate chain verified against `sslrootcert` (or the system roots), host
    /// name not checked.
    VerifyCa,
    /// TLS, chain and host name verified.
    VerifyFull,
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

/// `[kafka]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSection {
    pub input: Input,
    pub output: Output,
    #[serde(default)]
    pub commit: Commit,
    /// *Ours*: a WebAssembly transform run inside `xdr_kafka`.
    pub transform: Option<Transform>,
}

/// `[kafka.input]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub format: String,
    pub delimiter: Option<String>,
    pub consumer_group: String,
    pub topic: String,
    pub partition_num: i32,
    #[serde(default = "default_nwriter")]
    pub nwriter: u32,
    pub ext_read_table: Option<String>,
    pub ext_write_table: Option<String>,
    pub ext_offset_table: Option<String>,
    #[serde(default)]
    pub columns: Vec<Column>,
    /// *Ours*: parallel readers; `None` means `min(partition_num, CPU cores)`.
    pub nreader: Option<u32>,
}

fn default_nwriter() -> u32 {
    1
}

/// `[[kafka.input.columns]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub ignored: bool,
}

/// `[kafka.output]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    pub offset_table: String,
    pub output_table: String,
    #[serde(default)]
    pub mappings: Vec<Mapping>,
    /// *Ours*: table for messages that cannot be decoded.
    pub error_table: Option<String>,
    /// *Ours*: how many undecodable messages a batch may store before it fails.
    pub error_limit: Option<ErrorLimitSpec>,
}

/// `[[kafka.output.mappings]]`: `name` is a target column (or a comma list of them for a
/// `(f(x)).*` expression), `key` a SELECT-list expression over the input columns.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub name: String,
    pub key: String,
}

/// `kafka.output.error_limit` as written: an integer or a string (`"100"`, `"5%"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ErrorLimitSpec {
    Rows(i64),
    Text(String),
}

/// `kafka.output.error_limit` resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ErrorLimit {
    /// At most this many stored row errors per batch.
    Rows(u64),
    /// At most this percentage (0–100) of a batch's messages.
    Percent(f64),
}

impl ErrorLimitSpec {
    /// Resolves `100`, `"100"` or `"5%"`.
    pub fn resolve(&self) -> Result<ErrorLimit, String> {
        match self {
            ErrorLimitSpec::Rows(n) => u64::try_from(*n)
                .map(ErrorLimit::Rows)
                .map_err(|_| format!("{n} is negative")),
            ErrorLimitSpec::Text(text) => {
                let text = text.trim();
                if let Some(percent) = text.strip_suffix('%') {
                    let value: f64 = percent
                        .trim()
                        .parse()
                        .map_err(|_| format!("`{text}` is not a percentage like \"5%\""))?;
                    if !(0.0..=100.0).contains(&value) {
                        return Err(format!("`{text}` is not between 0% and 100%"));
                    }
                    Ok(ErrorLimit::Percent(value))
                } else {
                    text.parse::<u64>().map(ErrorLimit::Rows).map_err(|_| {
                        format!(
                            "`{text}` is neither a row count like 100 nor a percentage like \"5%\""
                        )
                    })
                }
            }
        }
    }
}

/// `[kafka.commit]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    #[serde(default = "default_max_row")]
    pub max_row: i64,
    #[serde(default = "default_minimal_interval")]
    pub minimal_interval: i64,
}

impl Default for Commit {
    fn default() -> Commit {
        Commit {
            max_row: default_max_row(),
            minimal_interval: default_minimal_interval(),
        }
    }
}

fn default_max_row() -> i64 {
    1000
}
fn default_minimal_interval() -> i64 {
    -1
}

/// *Ours*: `[kafka.transform]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    /// The `.wasm` component, a path relative to the `xdr_kafka` mount's
    /// `--transforms-dir`.
    pub module: String,
    /// Handed to the module's init export as string pairs ([`Transform::config_pairs`]).
    #[serde(default)]
    pub config: toml::Table,
    /// The wall-clock budget of one batch inside the module, in milliseconds.
    #[serde(default = "default_batch_timeout_ms")]
    pub batch_timeout_ms: u64,
    /// The most linear memory one instance of the module may grow to, in MiB.
    #[serde(default = "default_memory_limit_mb")]
    pub memory_limit_mb: u64,
}

fn default_batch_timeout_ms() -> u64 {
    10_000
}
fn default_memory_limit_mb() -> u64 {
    256
}

/// `kafka.transform.batch_timeout_ms`: at most an hour.
pub const MAX_BATCH_TIMEOUT_MS: u64 = 3_600_000;
/// `kafka.transform.memory_limit_mb`: a 32-bit WebAssembly memory holds at most 4 GiB.
pub const MAX_MEMORY_LIMIT_MB: u64 = 4096;

impl Transform {
    /// The `config` table as the `(key, value)` string pairs the module's init receives
    /// (`wit/transform.wit`: values as TOML text, strings without quotes), in key order:
    ///
    /// * a string as it is, without quotes (`fields = "a, b"` gives `a, b`);
    /// * an integer, float, boolean or date-time as its TOML text (`2`, `0.5`, `true`,
    ///   `1979-05-27T07:32:00Z`);
    /// * an array as its inline TOML text (`fields = ["phone", "address"]` gives
    ///   `["phone", "address"]`; the SDK's `Config::get_list` reads both list forms);
    /// * a table (`[kafka.transform.config.x]`, `x = { ... }`, or inside an array) is an
    ///   error: the pairs are flat.
    ///
    /// Errors name the key, `kafka.transform.config.<key>`.
    pub fn config_pairs(&self) -> Result<Vec<(String, String)>, ValidationError> {
        let mut pairs = Vec::with_capacity(self.config.len());
        for (key, value) in &self.config {
            let path = format!("kafka.transform.config.{key}");
            if holds_table(value) {
                return Err(invalid(
                    path,
                    "a table cannot be passed to the module: use a string, number, boolean, \
                     date-time or an array of those",
                ));
            }
            let text = match value {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            pairs.push((key.clone(), text));
        }
        Ok(pairs)
    }

    /// `batch_timeout_ms` as a duration.
    pub fn batch_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.batch_timeout_ms)
    }

    /// `memory_limit_mb` in bytes.
    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_limit_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate_module_path(&self.module)?;
        self.config_pairs()?;
        if !(1..=MAX_BATCH_TIMEOUT_MS).contains(&self.batch_timeout_ms) {
            return Err(invalid(
                "kafka.transform.batch_timeout_ms",
                format!(
                    "{} is not between 1 and {MAX_BATCH_TIMEOUT_MS} milliseconds",
                    self.batch_timeout_ms
                ),
            ));
        }
        if !(1..=MAX_MEMORY_LIMIT_MB).contains(&self.memory_limit_mb) {
            return Err(invalid(
                "kafka.transform.memory_limit_mb",
                format!(
                    "{} is not between 1 and {MAX_MEMORY_LIMIT_MB} MiB",
                    self.memory_limit_mb
                ),
            ));
        }
        Ok(())
    }
}

/// Whether a config value is, or holds, a table.
fn holds_table(value: &toml::Value) -> bool {
    match value {
        toml::Value::Table(_) => true,
        toml::Value::Array(items) => items.iter().any(holds_table),
        _ => false,
    }
}

/// `kafka.transform.module`: relative, inside the transforms directory, and carried by
/// the read query (no `&`).
fn validate_module_path(module: &str) -> Result<(), ValidationError> {
    let key = "kafka.transform.module";
    if module.trim().is_empty() {
        return Err(invalid(key, "is empty"));
    }
    if module.trim() != module {
        return Err(invalid(
            key,
            format!("`{module}` has leading or trailing spaces"),
        ));
    }
    if module.contains('&') || module.contains('\n') {
        return Err(invalid(
            key,
            format!("`{module}` cannot be sent to xdr_kafka: no `&` or line breaks"),
        ));
    }
    let path = Path::new(module);
    if path.is_absolute() {
        return Err(invalid(
            key,
            format!(
                "`{module}` is absolute: name the module relative to the xdr_kafka mount's \
                 --transforms-dir (e.g. `json_fields.wasm`)"
            ),
        ));
    }
    if path.components().any(|c| {
        !matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    }) {
        return Err(invalid(
            key,
            format!("`{module}` leaves the xdr_kafka mount's --transforms-dir (`..`)"),
        ));
    }
    Ok(())
}

/// `kafka.input.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Binary,
}

impl Format {
    fn parse(text: &str) -> Option<Format> {
        match text.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "binary" => Some(Format::Binary),
            _ => None,
        }
    }
}

/// Reading the file failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", path.display())]
    Parse { path: PathBuf, source: ParseError },
    #[error("{}", path.display())]
    Invalid {
        path: PathBuf,
        source: ValidationError,
    },
}

/// The file is not TOML, or does not fit the structs: an unknown key, a wrong type, a
/// missing key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{message}", key.as_deref().map(|k| format!("{k}: ")).unwrap_or_default())]
pub struct ParseError {
    /// The key path, e.g. `kafka.input.fromat`; `None` for a TOML syntax error (the message
    /// has the line).
    pub key: Option<String>,
    pub message: String,
}

/// A value that parses but is not acceptable; `key` is the full key path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ValidationError {
    pub key: String,
    pub message: String,
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError {
        key: key.into(),
        message: message.into(),
    }
}

fn ident_error(key: impl Into<String>, error: IdentError) -> ValidationError {
    invalid(key, error.to_string())
}

/// Reads, parses and validates a `dgkafka.toml`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let config = Config::parse(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    })?;
    config.validate().map_err(|source| ConfigError::Invalid {
        path: path.to_owned(),
        source,
    })?;
    Ok(config)
}

impl Config {
    /// Parses TOML text into the structs.
    pub fn parse(text: &str) -> Result<Config, ParseError> {
        let deserializer = toml::de::Deserializer::parse(text).map_err(|e| ParseError {
            key: None,
            message: e.to_string().trim_end().to_owned(),
        })?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            ParseError {
                // serde_path_to_error says `.` for the top level.
                key: (key != ".").then_some(key),
                message: e.into_inner().to_string().trim_end().to_owned(),
            }
        })
    }

    /// Checks values and cross-field rules; the error names the key.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_dgkafka()?;
        self.validate_input()?;
        self.validate_output()?;
        self.validate_commit()?;
        if let Some(transform) = &self.kafka.transform {
            transform.validate()?;
        }
        Ok(())
    }

    fn validate_dgkafka(&self) -> Result<(), ValidationError> {
        let d = &self.dgkafka;
        for (key, value) in [
            ("dgkafka.database", &d.database),
            ("dgkafka.user", &d.user),
            ("dgkafka.host", &d.host),
            ("dgkafka.xdrive_host", &d.xdrive_host),
            ("dgkafka.xdrive_offset_endpoint", &d.xdrive_offset_endpoint),
            ("dgkafka.xdrive_kafka_endpoint", &d.xdrive_kafka_endpoint),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(key, "is empty"));
            }
        }
        if d.port == 0 {
            return Err(invalid("dgkafka.port", "0 is not a port"));
        }
        if d.xdrive_port == 0 {
            return Err(invalid("dgkafka.xdrive_port", "0 is not a port"));
        }
        match (&d.sslcert, &d.sslkey) {
            (Some(_), None) => {
                return Err(invalid(
                    "dgkafka.sslcert",
                    "is set without dgkafka.sslkey (the client certificate's private key)",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "dgkafka.sslkey",
                    "is set without dgkafka.sslcert (the client certificate)",
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// The input format; valid after [`Config::validate`].
    pub fn format(&self) -> Option<Format> {
        Format::parse(&self.kafka.input.format)
    }

    /// The csv delimiter byte (`,` unless set).
    pub fn delimiter(&self) -> u8 {
        match self.kafka.input.delimiter.as_deref() {
            Some(d) if d.len() == 1 => d.as_bytes()[0],
            _ => b',',
        }
    }

    /// The input columns, with the json and binary defaults filled in.
    pub fn columns(&self) -> Vec<Column> {
        let given = &self.kafka.input.columns;
        if !given.is_empty() {
            return given.clone();
        }
        let (name, type_) = match self.format() {
            Some(Format::Json) => ("jdata", "json"),
            Some(Format::Binary) => ("data", "bytea"),
            _ => return Vec::new(),
        };
        vec![Column {
            name: name.to_owned(),
            type_: type_.to_owned(),
            ignored: false,
        }]
    }

    /// Parallel readers: `kafka.input.nreader`, or `min(partition_num, CPU cores)`.
    pub fn nreader(&self) -> u32 {
        let partitions = u32::try_from(self.kafka.input.partition_num.max(1)).unwrap_or(1);
        self.kafka.input.nreader.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism()
                .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
                .unwrap_or(1);
            partitions.min(cores)
        })
    }

    /// `kafka.output.error_limit`, resolved; valid after [`Config::validate`].
    pub fn error_limit(&self) -> Option<ErrorLimit> {
        self.kafka
            .output
            .error_limit
            .as_ref()
            .and_then(|spec| spec.resolve().ok())
    }

    fn validate_input(&self) -> Result<(), ValidationError> {
        let input = &self.kafka.input;
        let format = Format::parse(&input.format).ok_or_else(|| {
            invalid(
                "kafka.input.format",
                format!("`{}` is not one of csv, json, binary", input.format),
            )
        })?;
        match (&input.delimiter, format) {
            (Some(d), Format::Csv) if d.len() != 1 => {
                return Err(invalid(
                    "kafka.input.delimiter",
                    format!("`{d}` is not a single one-byte character"),
                ));
            }
            (Some(d), Format::Csv) if matches!(d.as_str(), "\"" | "\n" | "\r") => {
                return Err(invalid(
                    "kafka.input.delimiter",
                    "cannot be a double quote or a line break",
                ));
            }
            (Some(_), Format::Json | Format::Binary) => {
                return Err(invalid(
                    "kafka.input.delimiter",
                    format!(
                        "applies to csv only, but kafka.input.format is `{}`",
                        input.format
                    ),
                ));
            }
            _ => {}
        }
        if input.consumer_group.trim().is_empty() {
            return Err(invalid("kafka.input.consumer_group", "is empty"));
        }
        validate_topic(&input.topic)?;
        if input.partition_num < 1 {
            return Err(invalid(
                "kafka.input.partition_num",
                format!(
                    "{} is not a partition count (at least 1)",
                    input.partition_num
                ),
            ));
        }
        if input.nwriter < 1 {
            return Err(invalid("kafka.input.nwriter", "must be at least 1"));
        }
        if let Some(n) = input.nreader {
            let partitions = input.partition_num.unsigned_abs();
            if n < 1 || n > partitions {
                return Err(invalid(
                    "kafka.input.nreader",
                    format!(
                        "{n} readers for {partitions} partitions: must be between 1 and kafka.input.partition_num"
                    ),
                ));
            }
        }
        for (key, value) in [
            ("kafka.input.ext_read_table", &input.ext_read_table),
            ("kafka.input.ext_write_table", &input.ext_write_table),
            ("kafka.input.ext_offset_table", &input.ext_offset_table),
        ] {
            if let Some(name) = value {
                QualifiedName::parse(name).map_err(|e| ident_error(key, e))?;
            }
        }
        self.validate_columns(format)
    }

    fn validate_columns(&self, format: Format) -> Result<(), ValidationError> {
        let columns = &self.kafka.input.columns;
        if format == Format::Csv && columns.is_empty() {
            return Err(invalid(
                "kafka.input.columns",
                "csv needs at least one [[kafka.input.columns]] entry",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, column) in columns.iter().enumerate() {
            let name = ident::Ident::parse(&column.name)
                .map_err(|e| ident_error(format!("kafka.input.columns[{i}].name"), e))?;
            if !seen.insert(name.clone()) {
                return Err(invalid(
                    format!("kafka.input.columns[{i}].name"),
                    format!("column `{}` appears twice", name.as_str()),
                ));
            }
            if column.type_.trim().is_empty() {
                return Err(invalid(
                    format!("kafka.input.columns[{i}].type"),
                    "is empty",
                ));
            }
        }
        if columns.iter().all(|c| c.ignored) && !columns.is_empty() {
            return Err(invalid(
                "kafka.input.columns",
                "every column is ignored: nothing would be loaded",
            ));
        }
        let single = |wanted: &str| -> Result<(), ValidationError> {
            match columns.as_slice() {
                [] => Ok(()),
                [c] if c.type_.trim().eq_ignore_ascii_case(wanted) => Ok(()),
                [_] => Err(invalid(
                    "kafka.input.columns[0].type",
                    format!(
                        "kafka.input.format `{}` reads each message as one `{wanted}` column",
                        self.kafka.input.format
                    ),
                )),
                _ => Err(invalid(
                    "kafka.input.columns",
                    format!(
                        "kafka.input.format `{}` reads each message as one `{wanted}` column, \
                         but {} columns are listed; map fields with kafka.output.mappings",
                        self.kafka.input.format,
                        columns.len()
                    ),
                )),
            }
        };
        match format {
            // A transform's output columns are not bound to the format.
            _ if self.kafka.transform.is_some() => Ok(()),
            Format::Csv => Ok(()),
            Format::Json => single("json"),
            Format::Binary => single("bytea"),
        }
    }

    fn validate_output(&self) -> Result<(), ValidationError> {
        let output = &self.kafka.output;
        let offset = QualifiedName::parse(&output.offset_table)
            .map_err(|e| ident_error("kafka.output.offset_table", e))?;
        let target = QualifiedName::parse(&output.output_table)
            .map_err(|e| ident_error("kafka.output.output_table", e))?;
        if same_table(&offset, &target) {
            return Err(invalid(
                "kafka.output.offset_table",
                "is the same table as kafka.output.output_table",
            ));
        }
        let mut targets = std::collections::HashSet::new();
        for (i, mapping) in output.mappings.iter().enumerate() {
            let names = ident::parse_column_list(&mapping.name)
                .map_err(|e| ident_error(format!("kafka.output.mappings[{i}].name"), e))?;
            for name in names {
                if !targets.insert(name.clone()) {
                    return Err(invalid(
                        format!("kafka.output.mappings[{i}].name"),
                        format!("column `{}` is mapped twice", name.as_str()),
                    ));
                }
            }
            if mapping.key.trim().is_empty() {
                return Err(invalid(
                    format!("kafka.output.mappings[{i}].key"),
                    "is empty",
                ));
            }
        }
        match (&output.error_table, &output.error_limit) {
            (Some(table), Some(limit)) => {
                let errors = QualifiedName::parse(table)
                    .map_err(|e| ident_error("kafka.output.error_table", e))?;
                if same_table(&errors, &target) || same_table(&errors, &offset) {
                    return Err(invalid(
                        "kafka.output.error_table",
                        "must differ from kafka.output.output_table and kafka.output.offset_table",
                    ));
                }
                limit
                    .resolve()
                    .map_err(|m| invalid("kafka.output.error_limit", m))?;
            }
            (Some(_), None) => {
                return Err(invalid(
                    "kafka.output.error_table",
                    "is set without kafka.output.error_limit (rows like 100 or a percentage like \"5%\" per batch)",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "kafka.output.error_limit",
                    "is set without kafka.output.error_table (where undecodable messages are stored)",
                ));
            }
            (None, None) => {}
        }
        Ok(())
    }

    fn validate_commit(&self) -> Result<(), ValidationError> {
        let commit = &self.kafka.commit;
        if commit.max_row < 1 {
            return Err(invalid(
                "kafka.commit.max_row",
                format!("{} is not a row count (at least 1)", commit.max_row),
            ));
        }
        if commit.minimal_interval < -1 {
            return Err(invalid(
                "kafka.commit.minimal_interval",
                format!(
                    "{} is not a number of seconds (or -1: do not wait)",
                    commit.minimal_interval
                ),
            ));
        }
        Ok(())
    }
}

/// The same name as written (an unqualified name may still reach a qualified one through
/// `search_path`; the database check in `setup` catches that).
fn same_table(a: &QualifiedName, b: &QualifiedName) -> bool {
    a == b
}

/// Kafka's topic rule: 1–249 of `[A-Za-z0-9._-]`, not `.` or `..`.
fn validate_topic(topic: &str) -> Result<(), ValidationError> {
    let ok_chars = topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if topic.is_empty() || topic.len() > 249 || !ok_chars || topic == "." || topic == ".." {
        return Err(invalid(
            "kafka.input.topic",
            format!(
                "`{topic}` is not a Kafka topic name (1-249 of letters, digits, `.`, `_`, `-`)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
