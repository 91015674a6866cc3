//! `dgkafka transform test --module x.wasm --input sample.jsonl [...]`: runs a transform
//! module over sample messages, without Kafka, xdrive or a database, and prints what
//! became of each message.
//!
//! Raw arguments ([`TestArgs`]) are resolved into a [`TestPlan`] (the `--toml` file's
//! `[kafka.input]` and `[kafka.transform]` merged under the flags), which [`run_plan`]
//! executes with the transform host and the formats' input conversion — the same code
//! `xdr_kafka` runs.

use std::fmt::Write as _;
use std::io::{BufRead, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use dgkafka::config::{self, Config};
use dgkafka::kafka_offsets::format_pg_micros;
use formats::{InputValue, MessageMeta, TransformInput};
use transform_host::{Column, EngineOptions, Kind, Limits, Outcome, Row, TransformEngine, Value};
use xdrive_proto::spq::{SpqType, UNIX_TO_PG_EPOCH_MICROS};

#[derive(Debug, Args)]
pub struct TransformArgs {
    #[command(subcommand)]
    pub command: TransformCommand,
}

#[derive(Debug, Subcommand)]
pub enum TransformCommand {
    /// Run a transform module over sample messages and print what became of each.
    Test(TestArgs),
}

const TEST_AFTER_HELP: &str = "\
Each line of --input is one Kafka message value (partition 0, offsets 0, 1, ... by
line), decoded by --format as xdr_kafka decodes it before the transform: json -> one
json value (jdata); binary -> one bytes value (the line's bytes); csv -> one text value
per field, the fields named after the columns. The module gets the config pairs, those
input columns and the output columns, then the messages in batches of --batch-size.

Output columns: --columns \"name type, ...\" (PostgreSQL types, as in
[[kafka.input.columns]]), else the --toml file's kafka.input.columns, else the format's
single column (json: jdata json; binary: data bytea). With --toml, its kafka.input.format
and delimiter, its [kafka.transform] config (--config pairs are added, and replace a key
given there), its batch_timeout_ms and memory_limit_mb, and its module (when --module is
not given; resolved under --transforms-dir) are used.

Printed on stdout, tab-separated with a header line: per output row `line offset row`
and its values; per dropped message `line offset drop`; per row error `line offset
error <message>` (a message the format cannot decode is such an error too). Values:
NULL as \\N, tabs, line breaks and backslashes escaped as \\t \\n \\\\, bytes as \\x<hex>,
timestamps as UTC. A last line sums up: `N messages, N rows, N dropped, N errors`.

Exit status 0 when the module ran over every message (row errors included); 1 when it
cannot be loaded, its init refuses the config, or it traps (panic, deadline, memory),
with the module, partition and offset named; 2 for a wrong command line; 3 when the
--toml file cannot be read, parsed or validated.

Compiled modules are cached in $XDG_CACHE_HOME/dgkafka-rs/transform-cache (default
~/.cache/dgkafka-rs/transform-cache).

Examples:
  dgkafka transform test --module json_fields.wasm --input sample.jsonl \\
      --columns \"customer_id integer, field2 numeric(7,2)\" \\
      --config 'fields=field2=some_intfield*0.075'
  dgkafka transform test --module mask_pii.wasm --input sample.csv \\
      --columns \"c_custkey integer, c_name text, c_address text, c_nationkey integer, c_phone text,
                 c_acctbal numeric(15,2), c_mktsegment text, c_comment text\" \\
      --config 'columns=c_phone, c_address'
  dgkafka transform test --toml dgkafka.toml --transforms-dir /srv/transforms --input sample.jsonl";

/// `dgkafka transform test`.
#[derive(Debug, Args)]
#[command(after_help = TEST_AFTER_HELP)]
pub struct TestArgs {
    /// The transform module (a .wasm component); default: the --toml file's
    /// kafka.transform.module under --transforms-dir.
    #[arg(long, value_name = "FILE")]
    pub module: Option<PathBuf>,
    /// Sample messages, one message value per line.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// A config pair for the module's init (repeatable); replaces the --toml file's key.
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub config: Vec<(String, String)>,
    /// How each line is decoded; default: the --toml file's kafka.input.format, else by
    /// the input's extension (.csv; .json, .jsonl, .ndjson).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// The csv delimiter (one byte); default: the --toml file's, else `,`.
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<char>,
    /// The output columns, "name type, ..." (e.g. "id integer, amount numeric(12,2)").
    #[arg(long, value_name = "COLUMNS")]
    pub columns: Option<String>,
    /// A dgkafka.toml to take the format, columns and [kafka.transform] from.
    #[arg(long, value_name = "FILE")]
    pub toml: Option<PathBuf>,
    /// Where the --toml file's kafka.transform.module is looked up (the xdr_kafka mount's
    /// --transforms-dir); default: the current directory.
    #[arg(long, value_name = "DIR")]
    pub transforms_dir: Option<PathBuf>,
    /// Messages per call into the module.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Json,
    Csv,
    Binary,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    if key.trim().is_empty() {
        return Err(format!("`{text}` has an empty key"));
    }
    Ok((key.trim().to_owned(), value.to_owned()))
}

/// An output column as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: String,
    pub pg_type: String,
}

/// Parses `"name type, name type(p, s), ..."`: commas inside parentheses belong to the
/// type.
pub fn parse_columns(text: &str) -> Result<Vec<ColumnSpec>, String> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("`{text}`: a `)` without its `(`"))?;
            }
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("`{text}`: a `(` without its `)`"));
    }
    items.push(&text[start..]);
    let mut columns = Vec::new();
    for item in items {
        let item = item.trim();
        let (name, pg_type) = item
            .split_once(char::is_whitespace)
            .map(|(n, t)| (n.trim(), t.trim()))
            .unwrap_or((item, ""));
        if name.is_empty() || pg_type.is_empty() {
            return Err(format!(
                "`{item}` is not `name type` (columns are \"name type, name type, ...\")"
            ));
        }
        if columns.iter().any(|c: &ColumnSpec| c.name == name) {
            return Err(format!("column `{name}` is listed twice"));
        }
        columns.push(ColumnSpec {
            name: name.to_owned(),
            pg_type: pg_type.to_owned(),
        });
    }
    Ok(columns)
}

/// The column kind the WIT contract maps a PostgreSQL type onto, as `xdr_kafka` maps it
/// (through the type's page carrier: `time` travels as text).
pub fn kind_of(pg_type: &str) -> Result<Kind, String> {
    let ty = formats::ColumnType::parse(pg_type).map_err(|e| e.to_string())?;
    Ok(match ty.spq() {
        SpqType::Bool => Kind::Boolean,
        SpqType::Int16 | SpqType::Int32 | SpqType::Int64 => Kind::Int,
        SpqType::Float | SpqType::Double => Kind::Float,
        SpqType::Bytea => Kind::Bytes,
        SpqType::Json => Kind::Json,
        SpqType::Date | SpqType::TimestampMicros | SpqType::TimestamptzMicros => Kind::Timestamp,
        SpqType::Numeric => Kind::Numeric,
        _ => Kind::Text,
    })
}

/// The type's name as `xdr_kafka` hands it to the module (spaces normalised).
fn pg_type_name(pg_type: &str) -> String {
    formats::ColumnType::parse(pg_type)
        .map(|t| t.name().to_owned())
        .unwrap_or_else(|_| pg_type.trim().to_owned())
}

/// How each input line is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Json,
    Csv { delimiter: u8 },
    Binary,
}

/// What `transform test` will do, every source merged.
#[derive(Debug, Clone, PartialEq)]
pub struct TestPlan {
    pub module: PathBuf,
    pub input: PathBuf,
    pub format: InputFormat,
    /// The message fields (csv: the columns; json: `jdata`; binary: `value`).
    pub input_columns: Vec<ColumnSpec>,
    pub output_columns: Vec<ColumnSpec>,
    pub config: Vec<(String, String)>,
    pub batch_timeout: Duration,
    pub memory_bytes: usize,
    pub batch_size: usize,
}

impl TestArgs {
    /// Merges the flags over the `--toml` file; errors say which flag or key to fix.
    pub fn resolve(&self) -> Result<TestPlan> {
        let toml: Option<Config> = self.toml.as_deref().map(config::load).transpose()?;
        let transform = toml.as_ref().and_then(|c| c.kafka.transform.as_ref());

        let module = match (&self.module, transform) {
            (Some(module), _) => module.clone(),
            (None, Some(t)) => self
                .transforms_dir
                .clone()
                .unwrap_or_default()
                .join(&t.module),
            (None, None) => {
                bail!("no module: give --module FILE (or --toml with a [kafka.transform] module)")
            }
        };

        let format = match (self.format, &toml) {
            (Some(f), _) => f,
            (None, Some(c)) => match c.format() {
                Some(config::Format::Json) => FormatArg::Json,
                Some(config::Format::Csv) => FormatArg::Csv,
                Some(config::Format::Binary) | None => FormatArg::Binary,
            },
            (None, None) => format_of(&self.input)?,
        };
        let delimiter = match (self.delimiter, &toml) {
            (Some(c), _) => {
                u8::try_from(c)
                    .ok()
                    .filter(|b| b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r'))
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "--delimiter `{c}` is not one ASCII byte (other than a quote or a line break)"
                        )
                    })?
            }
            (None, Some(c)) => c.delimiter(),
            (None, None) => b',',
        };
        let output_columns = match (&self.columns, &toml) {
            (Some(text), _) => {
                parse_columns(text).map_err(|m| anyhow::anyhow!("--columns: {m}"))?
            }
            (None, Some(c)) => c
                .columns()
                .into_iter()
                .filter(|c| !c.ignored)
                .map(|c| ColumnSpec {
                    name: c.name,
                    pg_type: c.type_,
                })
                .collect(),
            (None, None) => match format {
                FormatArg::Json => vec![column("jdata", "json")],
                FormatArg::Binary => vec![column("data", "bytea")],
                FormatArg::Csv => {
                    bail!("csv needs the columns: give --columns \"name type, ...\" (or --toml)")
                }
            },
        };
        if output_columns.is_empty() {
            bail!("no output columns: give --columns \"name type, ...\"");
        }
        for c in &output_columns {
            kind_of(&c.pg_type).map_err(|m| anyhow::anyhow!("column `{}`: {m}", c.name))?;
        }
        // The message fields: for csv, every column of the file (ignored ones included,
        // as xdr_kafka splits them) or the output columns.
        let (format, input_columns) = match format {
            FormatArg::Json => (InputFormat::Json, vec![column("jdata", "json")]),
            FormatArg::Binary => (InputFormat::Binary, vec![column("value", "bytea")]),
            FormatArg::Csv => {
                let fields = match (&self.columns, &toml) {
                    (None, Some(c)) => c
                        .columns()
                        .into_iter()
                        .map(|c| column(&c.name, "text"))
                        .collect(),
                    _ => output_columns
                        .iter()
                        .map(|c| column(&c.name, "text"))
                        .collect(),
                };
                (InputFormat::Csv { delimiter }, fields)
            }
        };

        let mut pairs = match transform {
            Some(t) => t.config_pairs()?,
            None => Vec::new(),
        };
        for (key, value) in &self.config {
            match pairs.iter_mut().find(|(k, _)| k == key) {
                Some(pair) => pair.1.clone_from(value),
                None => pairs.push((key.clone(), value.clone())),
            }
        }
        let defaults = Limits::default();
        Ok(TestPlan {
            module,
            input: self.input.clone(),
            format,
            input_columns,
            output_columns,
            config: pairs,
            batch_timeout: transform.map_or(defaults.batch_timeout, |t| t.batch_timeout()),
            memory_bytes: transform.map_or(defaults.memory_bytes, |t| t.memory_bytes()),
            batch_size: usize::try_from(self.batch_size).unwrap_or(usize::MAX),
        })
    }
}

fn column(name: &str, pg_type: &str) -> ColumnSpec {
    ColumnSpec {
        name: name.to_owned(),
        pg_type: pg_type.to_owned(),
    }
}

fn format_of(input: &Path) -> Result<FormatArg> {
    match input
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json" | "jsonl" | "ndjson") => Ok(FormatArg::Json),
        Some("csv" | "tbl" | "psv") => Ok(FormatArg::Csv),
        _ => bail!(
            "cannot tell the format of {} by its name: give --format json|csv|binary",
            input.display()
        ),
    }
}

fn host_columns(columns: &[ColumnSpec]) -> Result<Vec<Column>> {
    columns
        .iter()
        .map(|c| {
            Ok(Column {
                name: c.name.clone(),
                kind: kind_of(&c.pg_type)
                    .map_err(|m| anyhow::anyhow!("column `{}`: {m}", c.name))?,
                pg_type: pg_type_name(&c.pg_type),
            })
        })
        .collect()
}

/// Where compiled modules are cached: `$XDG_CACHE_HOME/dgkafka-rs/transform-cache`, else
/// `~/.cache/dgkafka-rs/transform-cache`; `None` (no disk cache) when neither exists or
/// the directory cannot be made.
fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let dir = base.join("dgkafka-rs").join("transform-cache");
    match std::fs::create_dir_all(&dir) {
        Ok(()) => Some(dir),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "Cannot make the module cache; compiling without it.");
            None
        }
    }
}

/// What the run saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub messages: u64,
    pub rows: u64,
    pub dropped: u64,
    pub errors: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} messages, {} rows, {} dropped, {} errors",
            self.messages, self.rows, self.dropped, self.errors
        )
    }
}

/// The stack of the thread that runs the module: the host needs more than the module's
/// own wasm stack.
const RUN_STACK_BYTES: usize = 16 << 20;

pub async fn run(args: TransformArgs) -> Result<()> {
    // The module runs on a thread of its own, outside our tokio runtime: wasmtime-wasi's
    // synchronous WASI calls (a guest writing to stderr, as a panic does) block on a
    // runtime, which panics on a thread already driving one.
    let worker = std::thread::Builder::new()
        .name("transform-test".to_owned())
        .stack_size(RUN_STACK_BYTES)
        .spawn(move || run_blocking(args))
        .context("cannot start the transform thread")?;
    worker
        .join()
        .map_err(|_| anyhow::anyhow!("the transform thread panicked"))?
}

fn run_blocking(args: TransformArgs) -> Result<()> {
    match args.command {
        TransformCommand::Test(args) => {
            let plan = args.resolve()?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let summary = run_plan(&plan, &mut out)?;
            writeln!(out, "{summary}")?;
            out.flush()?;
            Ok(())
        }
    }
}

/// One input message, decoded or not.
struct Message {
    line: u64,
    offset: i64,
    decoded: Result<Vec<Value>, String>,
}

/// Loads the module, runs it over the input and prints to `out`.
pub fn run_plan(plan: &TestPlan, out: &mut impl std::io::Write) -> Result<Summary> {
    let input = host_columns(&plan.input_columns)?;
    let output = host_columns(&plan.output_columns)?;
    let engine = TransformEngine::new(EngineOptions {
        cache_dir: cache_dir(),
    })
    .context("cannot start the transform engine")?;
    let module = engine
        .load(&plan.module)
        .with_context(|| format!("cannot load {}", plan.module.display()))?;
    tracing::info!(
        module = module.name(),
        cached = module.from_cache(),
        "Module loaded."
    );
    let limits = Limits {
        batch_timeout: plan.batch_timeout,
        memory_bytes: plan.memory_bytes,
    };
    let mut transformer = module.instantiate(&plan.config, &input, &output, limits)?;
    let mut reader_in = input_reader(plan)?;

    let file = std::fs::File::open(&plan.input)
        .with_context(|| format!("cannot read {}", plan.input.display()))?;
    let mut reader = std::io::BufReader::new(file);

    let mut header = String::from("line\toffset\toutcome");
    for c in &plan.output_columns {
        header.push('\t');
        header.push_str(&escape(&c.name));
    }
    writeln!(out, "{header}")?;

    let mut summary = Summary::default();
    let mut batch: Vec<Message> = Vec::with_capacity(plan.batch_size);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", plan.input.display()))?;
        if n == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        number += 1;
        let offset = i64::try_from(number - 1).unwrap_or(i64::MAX);
        batch.push(Message {
            line: number,
            offset,
            decoded: decode(&mut reader_in, offset, &line),
        });
        if batch.len() >= plan.batch_size {
            run_batch(&mut transformer, &mut batch, out, &mut summary)?;
        }
    }
    run_batch(&mut transformer, &mut batch, out, &mut summary)?;
    Ok(summary)
}

/// The formats' reader of input values, the one `xdr_kafka` uses.
fn input_reader(plan: &TestPlan) -> Result<TransformInput> {
    let format = match plan.format {
        InputFormat::Json => formats::Format::Json,
        InputFormat::Binary => formats::Format::Binary,
        InputFormat::Csv { delimiter } => formats::Format::Csv(
            formats::CsvOptions::new(delimiter)
                .with_context(|| format!("bad csv delimiter `{}`", char::from(delimiter)))?,
        ),
    };
    TransformInput::new(&format, plan.input_columns.len()).context("cannot read the input format")
}

/// The message's input values, as `xdr_kafka` hands them to the transform.
fn decode(reader: &mut TransformInput, offset: i64, value: &[u8]) -> Result<Vec<Value>, String> {
    let meta = MessageMeta {
        partition: 0,
        offset,
        timestamp_ms: None,
        key: None,
    };
    let values = reader
        .values(&meta, Some(value))
        .map_err(|e| e.to_string())?;
    Ok(values
        .into_iter()
        .map(|v| match v {
            InputValue::Null => Value::Null,
            InputValue::Text(t) => Value::Text(t),
            InputValue::Json(j) => Value::Json(j),
            InputValue::Bytes(b) => Value::Bytes(b),
        })
        .collect())
}

fn run_batch(
    transformer: &mut transform_host::Transformer,
    batch: &mut Vec<Message>,
    out: &mut impl std::io::Write,
    summary: &mut Summary,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    // Only decoded messages reach the module, as in xdr_kafka.
    let rows: Vec<Row> = batch
        .iter()
        .filter_map(|m| {
            m.decoded.as_ref().ok().map(|values| Row {
                partition: 0,
                offset: m.offset,
                timestamp_ms: None,
                key: None,
                values: values.clone(),
            })
        })
        .collect();
    let outcomes = if rows.is_empty() {
        Vec::new()
    } else {
        transformer.run(&rows)?
    };
    if outcomes.len() != rows.len() {
        bail!(
            "the transform host returned {} outcomes for {} rows",
            outcomes.len(),
            rows.len()
        );
    }
    let mut outcomes = outcomes.into_iter();
    for m in batch.drain(..) {
        summary.messages += 1;
        let prefix = format!("{}\t{}", m.line, m.offset);
        let outcome = match m.decoded {
            Err(reason) => Outcome::Error(format!("cannot decode the message: {reason}")),
            Ok(_) => outcomes
                .next()
                .expect("one outcome per decoded message, checked above"),
        };
        match outcome {
            Outcome::Rows(rows) if rows.is_empty() => {
                summary.dropped += 1;
                writeln!(out, "{prefix}\tdrop")?;
            }
            Outcome::Rows(rows) => {
                for row in rows {
                    summary.rows += 1;
                    let mut text = format!("{prefix}\trow");
                    for value in &row {
                        text.push('\t');
                        render(value, &mut text);
                    }
                    writeln!(out, "{text}")?;
                }
            }
            Outcome::Error(message) => {
                summary.errors += 1;
                writeln!(out, "{prefix}\terror\t{}", escape(&message))?;
            }
        }
    }
    Ok(())
}

/// Backslash, tab, line feed and carriage return escaped, as PostgreSQL's text COPY does.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn render(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("\\N"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Value::Text(t) | Value::Json(t) | Value::Numeric(t) => out.push_str(&escape(t)),
        Value::Bytes(b) => {
            out.push_str("\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
        }
        Value::Timestamp(us) => out.push_str(&utc(*us)),
    }
}

/// Microseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS[.ffffff]+00` (the date and
/// time by [`format_pg_micros`]).
fn utc(micros: i64) -> String {
    let mut text = format_pg_micros(micros.saturating_sub(UNIX_TO_PG_EPOCH_MICROS));
    let frac = micros.rem_euclid(1_000_000);
    if frac != 0 {
        let _ = write!(text, ".{frac:06}");
    }
    text.push_str("+00");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn timestamps_print_in_utc_as_copy_writes_them() {
        assert_eq!(utc(0), "1970-01-01 00:00:00+00");
        assert_eq!(utc(1_500_000), "1970-01-01 00:00:01.500000+00");
        assert_eq!(utc(-1), "1969-12-31 23:59:59.999999+00");
        assert_eq!(utc(1_709_164_800_000_000), "2024-02-29 00:00:00+00");
    }

    fn test_args(args: &[&str]) -> Result<TestArgs, clap::Error> {
        let mut argv = vec!["dgkafka", "transform", "test"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv)?;
        let Command::Transform(TransformArgs {
            command: TransformCommand::Test(args),
        }) = cli.command
        else {
            panic!("not transform test");
        };
        Ok(args)
    }

    #[test]
    fn test_takes_a_module_an_input_and_repeated_config_pairs() {
        let args = test_args(&[
            "--module",
            "m.wasm",
            "--input",
            "s.jsonl",
            "--config",
            "a=1",
            "--config",
            "b=x=y",
            "--format",
            "csv",
            "--columns",
            "id integer, amount numeric(12, 2)",
            "--batch-size",
            "7",
        ])
        .unwrap();
        assert_eq!(args.module, Some(PathBuf::from("m.wasm")));
        assert_eq!(args.input, PathBuf::from("s.jsonl"));
        assert_eq!(
            args.config,
            [("a".into(), "1".into()), ("b".into(), "x=y".into())]
        );
        assert_eq!(args.format, Some(FormatArg::Csv));
        assert_eq!(args.batch_size, 7);
        let plan = args.resolve().unwrap();
        assert_eq!(plan.format, InputFormat::Csv { delimiter: b',' });
        assert_eq!(
            plan.output_columns,
            [column("id", "integer"), column("amount", "numeric(12, 2)")]
        );
        assert_eq!(
            plan.input_columns,
            [column("id", "text"), column("amount", "text")]
        );
        assert_eq!(plan.batch_size, 7);
        assert_eq!(plan.batch_timeout, Duration::from_secs(10));
    }

    #[test]
    fn test_refuses_a_bad_command_line() {
        assert!(test_args(&["--module", "m.wasm"]).is_err(), "no --input");
        assert!(test_args(&["--input", "s", "--config", "novalue"]).is_err());
        assert!(test_args(&["--input", "s", "--config", "=v"]).is_err());
        assert!(test_args(&["--input", "s", "--format", "xml"]).is_err());
        assert!(test_args(&["--input", "s", "--batch-size", "0"]).is_err());
        // Parsed, but not resolvable.
        let no_module = test_args(&["--input", "s.jsonl"]).unwrap();
        assert!(
            no_module
                .resolve()
                .unwrap_err()
                .to_string()
                .contains("--module")
        );
        let unknown = test_args(&["--module", "m", "--input", "s.txt"]).unwrap();
        assert!(
            unknown
                .resolve()
                .unwrap_err()
                .to_string()
                .contains("--format")
        );
        let csv = test_args(&["--module", "m", "--input", "s.csv"]).unwrap();
        assert!(csv.resolve().unwrap_err().to_string().contains("--columns"));
        let bad_type = test_args(&[
            "--module",
            "m",
            "--input",
            "s.jsonl",
            "--columns",
            "a point",
        ])
        .unwrap();
        assert!(bad_type.resolve().unwrap_err().to_string().contains("`a`"));
    }

    #[test]
    fn the_format_and_columns_default_by_the_input() {
        let json = test_args(&["--module", "m", "--input", "s.jsonl"])
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(json.format, InputFormat::Json);
        assert_eq!(json.output_columns, [column("jdata", "json")]);
        assert_eq!(json.input_columns, [column("jdata", "json")]);
        let binary = test_args(&["--module", "m", "--input", "s", "--format", "binary"])
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(binary.output_columns, [column("data", "bytea")]);
        assert_eq!(binary.input_columns, [column("value", "bytea")]);
    }

    #[test]
    fn the_toml_gives_format_columns_module_config_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("dgkafka.toml");
        std::fs::write(
            &toml,
            r#"
[dgkafka]
database = "d"
user = "u"
[kafka.input]
format = "csv"
delimiter = "|"
consumer_group = "g"
topic = "t"
partition_num = 1
[[kafka.input.columns]]
name = "id"
type = "integer"
[[kafka.input.columns]]
name = "note"
type = "text"
ignored = true
[[kafka.input.columns]]
name = "phone"
type = "varchar(20)"
[kafka.output]
offset_table = "o"
output_table = "t"
[kafka.transform]
module = "mask_pii.wasm"
batch_timeout_ms = 500
memory_limit_mb = 32
[kafka.transform.config]
columns = ["phone"]
keep = 4
"#,
        )
        .unwrap();
        let toml_arg = toml.to_str().unwrap();
        let plan = test_args(&[
            "--toml",
            toml_arg,
            "--transforms-dir",
            "/srv/t",
            "--input",
            "s.csv",
            "--config",
            "keep=2",
            "--config",
            "extra=x",
        ])
        .unwrap()
        .resolve()
        .unwrap();
        assert_eq!(plan.module, PathBuf::from("/srv/t/mask_pii.wasm"));
        assert_eq!(plan.format, InputFormat::Csv { delimiter: b'|' });
        assert_eq!(
            plan.output_columns,
            [column("id", "integer"), column("phone", "varchar(20)")]
        );
        // Every field of the message, the ignored one too.
        assert_eq!(
            plan.input_columns,
            [
                column("id", "text"),
                column("note", "text"),
                column("phone", "text")
            ]
        );
        assert_eq!(
            plan.config,
            [
                ("columns".into(), r#"["phone"]"#.into()),
                ("keep".into(), "2".into()),
                ("extra".into(), "x".into())
            ]
        );
        assert_eq!(plan.batch_timeout, Duration::from_millis(500));
        assert_eq!(plan.memory_bytes, 32 << 20);

        // Flags win over the file.
        let plan = test_args(&[
            "--toml",
            toml_arg,
            "--module",
            "other.wasm",
            "--input",
            "s.jsonl",
            "--format",
            "json",
            "--columns",
            "x bigint",
        ])
        .unwrap()
        .resolve()
        .unwrap();
        assert_eq!(plan.module, PathBuf::from("other.wasm"));
        assert_eq!(plan.format, InputFormat::Json);
        assert_eq!(plan.output_columns, [column("x", "bigint")]);

        // A broken file is a config error (exit 3).
        std::fs::write(&toml, "[dgkafka]\n").unwrap();
        let err = test_args(&["--toml", toml_arg, "--input", "s.csv"])
            .unwrap()
            .resolve()
            .unwrap_err();
        assert_eq!(crate::cli::exit_code(&err), crate::cli::EXIT_CONFIG);
    }

    #[test]
    fn columns_split_outside_parentheses() {
        assert_eq!(
            parse_columns(" a integer ,b numeric(12,2), c  timestamp with time zone").unwrap(),
            [
                column("a", "integer"),
                column("b", "numeric(12,2)"),
                column("c", "timestamp with time zone")
            ]
        );
        for bad in [
            "",
            "a",
            "a integer,",
            "a numeric(1,2",
            "a int)",
            "a int, a text",
        ] {
            assert!(parse_columns(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn kinds_follow_the_wit_mapping() {
        assert_eq!(kind_of("BIGINT").unwrap(), Kind::Int);
        assert_eq!(kind_of("varchar(25)").unwrap(), Kind::Text);
        assert_eq!(kind_of("numeric(12,2)").unwrap(), Kind::Numeric);
        assert_eq!(kind_of("double precision").unwrap(), Kind::Float);
        assert_eq!(kind_of("timestamptz").unwrap(), Kind::Timestamp);
        assert_eq!(kind_of("date").unwrap(), Kind::Timestamp);
        assert_eq!(kind_of("jsonb").unwrap(), Kind::Json);
        assert_eq!(kind_of("bytea").unwrap(), Kind::Bytes);
        assert_eq!(kind_of("boolean").unwrap(), Kind::Boolean);
        assert_eq!(kind_of("time").unwrap(), Kind::Text);
        assert!(kind_of("point").is_err());
        assert_eq!(pg_type_name(" numeric(12,  2) "), "numeric(12, 2)");
    }

    #[test]
    fn values_render_as_text_copy_does() {
        let mut text = String::new();
        for v in [
            Value::Null,
            Value::Boolean(true),
            Value::Int(-3),
            Value::Float(0.5),
            Value::Text("a\tb\\c\nd".into()),
            Value::Bytes(vec![0, 0xff]),
            Value::Json("{\"a\":1}".into()),
            Value::Numeric("-12.50".into()),
            Value::Timestamp(0),
            Value::Timestamp(951_782_400_000_001),
            Value::Timestamp(-1),
        ] {
            render(&v, &mut text);
            text.push('|');
        }
        assert_eq!(
            text,
            "\\N|true|-3|0.5|a\\tb\\\\c\\nd|\\x00ff|{\"a\":1}|-12.50|1970-01-01 00:00:00+00|\
             2000-02-29 00:00:00.000001+00|1969-12-31 23:59:59.999999+00|"
        );
    }

    #[test]
    fn the_summary_reads_as_documented() {
        let s = Summary {
            messages: 4,
            rows: 5,
            dropped: 1,
            errors: 1,
        };
        assert_eq!(s.to_string(), "4 messages, 5 rows, 1 dropped, 1 errors");
    }
}
