//! A read's WebAssembly row transform (`wit/transform.wit`): the module resolved inside
//! the mount's `--transforms-dir`, its input and output schemas, and the batches of
//! messages it runs. The read loop hands it messages and gets back, per message and in
//! offset order, what became of it (rows to load, a row error, a trap).

use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use formats::{
    Format, InputField, InputValue, MessageMeta, OutputColumn, OutputValue, RowError,
    TransformInput, TransformOutput,
};
use transform_host::{
    Column, EngineOptions, Kind, Limits, Outcome, Row, TransformEngine, Transformer, Value,
};
use xdrive_plugin::proto::spq::SpqType;

use crate::cli::TransformDirs;
use crate::request::TransformKeys;

/// A batch goes through the transform when it holds this many messages...
pub const BATCH_ROWS: usize = 1000;
/// ...or this many bytes of message values and keys (or the poll loop idles or ends).
pub const BATCH_BYTES: usize = 16 << 20;

/// Why the module a read names cannot be used. Every message names the query key and
/// the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// The mount has no `--transforms-dir`.
    #[error(
        "query key \"transform\" asks for module \"{module}\", but this xdr_kafka mount runs no \
         transforms: add \"--transforms-dir\", \"/DIR\" to the mount's argv in xdrive.toml \
         and put the module in DIR"
    )]
    NoTransformsDir {
        /// The module asked for.
        module: String,
    },
    /// An absolute path.
    #[error(
        "query key \"transform\": \"{module}\" is an absolute path; name the module relative \
         to the mount's --transforms-dir \"{dir}\""
    )]
    Absolute {
        /// The module asked for.
        module: String,
        /// The transforms directory.
        dir: String,
    },
    /// A `..` component.
    #[error(
        "query key \"transform\": \"{module}\" has a \"..\" component; modules are resolved \
         only inside the mount's --transforms-dir \"{dir}\""
    )]
    ParentDir {
        /// The module asked for.
        module: String,
        /// The transforms directory.
        dir: String,
    },
    /// Resolves (through a symbolic link) outside the directory.
    #[error(
        "query key \"transform\": \"{module}\" resolves to \"{target}\", outside the mount's \
         --transforms-dir \"{dir}\" (through a symbolic link)"
    )]
    Escapes {
        /// The module asked for.
        module: String,
        /// The transforms directory.
        dir: String,
        /// Where it leads.
        target: String,
    },
    /// No such file.
    #[error(
        "query key \"transform\": module \"{module}\" not found in the mount's \
         --transforms-dir \"{dir}\""
    )]
    NotFound {
        /// The module asked for.
        module: String,
        /// The transforms directory.
        dir: String,
    },
    /// Not a regular file.
    #[error("query key \"transform\": \"{module}\" in \"{dir}\" is not a file")]
    NotAFile {
        /// The module asked for.
        module: String,
        /// The transforms directory.
        dir: String,
    },
    /// The directory itself is unusable.
    #[error("the mount's --transforms-dir \"{dir}\" cannot be used: {reason}")]
    BadDir {
        /// The transforms directory.
        dir: String,
        /// The system's error.
        reason: String,
    },
    /// Another I/O error.
    #[error("query key \"transform\": cannot open module \"{module}\" in \"{dir}\": {reason}")]
    Io {
        /// The module asked for.
        module: String,
        /// The transforms directory.
        dir: String,
        /// The system's error.
        reason: String,
    },
}

/// The file of `module` (the `transform` key) inside `dir`: relative, without `..`,
/// and — symbolic links resolved — still inside `dir` (itself resolved).
pub fn resolve_module(dir: &Path, module: &str) -> Result<PathBuf, ModuleError> {
    let shown = dir.display().to_string();
    let path = Path::new(module);
    if path.is_absolute() || path.has_root() {
        return Err(ModuleError::Absolute {
            module: module.to_owned(),
            dir: shown,
        });
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(ModuleError::ParentDir {
            module: module.to_owned(),
            dir: shown,
        });
    }
    let root = dir.canonicalize().map_err(|e| ModuleError::BadDir {
        dir: shown.clone(),
        reason: e.to_string(),
    })?;
    let target = root.join(path).canonicalize().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ModuleError::NotFound {
                module: module.to_owned(),
                dir: shown.clone(),
            }
        } else {
            ModuleError::Io {
                module: module.to_owned(),
                dir: shown.clone(),
                reason: e.to_string(),
            }
        }
    })?;
    if !target.starts_with(&root) || target == root {
        return Err(ModuleError::Escapes {
            module: module.to_owned(),
            dir: shown,
            target: target.display().to_string(),
        });
    }
    if !target.is_file() {
        return Err(ModuleError::NotAFile {
            module: module.to_owned(),
            dir: shown,
        });
    }
    Ok(target)
}

/// The transform kind of a column type (WIT `kind`): `time` travels as text (ours; the
/// WIT has no time kind).
pub fn kind_of(spq: SpqType) -> Kind {
    match spq {
        SpqType::Bool => Kind::Boolean,
        SpqType::Int16 | SpqType::Int32 | SpqType::Int64 => Kind::Int,
        SpqType::Float | SpqType::Double => Kind::Float,
        SpqType::Bytea => Kind::Bytes,
        SpqType::Json => Kind::Json,
        SpqType::Date | SpqType::TimestampMicros | SpqType::TimestamptzMicros => Kind::Timestamp,
        SpqType::Numeric => Kind::Numeric,
        _ => Kind::Text,
    }
}

/// The transform's input schema: json `[jdata json]`, binary `[value bytea]`, csv one
/// text column per field (named as the read's columns).
pub fn input_schema(format: &Format, fields: &[InputField]) -> Vec<Column> {
    let column = |name: &str, kind, pg: &str| Column {
        name: name.to_owned(),
        kind,
        pg_type: pg.to_owned(),
    };
    match format {
        Format::Json => vec![column("jdata", Kind::Json, "json")],
        Format::Binary => vec![column("value", Kind::Bytes, "bytea")],
        Format::Csv(_) => fields
            .iter()
            .map(|f| column(&f.name, Kind::Text, "text"))
            .collect(),
    }
}

/// The transform's output schema: the read's data columns with their kinds.
pub fn output_schema(fields: &[InputField]) -> Vec<Column> {
    fields
        .iter()
        .map(|f| Column {
            name: f.name.clone(),
            kind: kind_of(f.ty.spq()),
            pg_type: f.ty.name().to_owned(),
        })
        .collect()
}

/// A message waiting in a batch, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The timestamp (ms since 1970), if any.
    pub timestamp_ms: Option<i64>,
    /// The key, if any.
    pub key: Option<Vec<u8>>,
    /// The value (`None` for a tombstone).
    pub payload: Option<Vec<u8>>,
}

impl Message {
    /// Its metadata, as the formats crate takes it.
    pub fn meta(&self) -> MessageMeta<'_> {
        MessageMeta {
            partition: self.partition,
            offset: self.offset,
            timestamp_ms: self.timestamp_ms,
            key: self.key.as_deref(),
        }
    }
}

/// What became of a message of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// It could not be made into an input row (the transform never saw it).
    Undecodable(RowError),
    /// The rows to load for it (none = dropped).
    Rows(Vec<Vec<Value>>),
    /// The transform returned an error for it.
    Rejected(String),
    /// The transform trapped on it (deadline, memory, panic): the message names the
    /// module, partition and offset.
    Trapped(String),
}

/// A read's transform: the batch being gathered, the conversions, and the thread that
/// runs the module.
///
/// The module runs on a thread of its own, one batch at a time, so that the read loop
/// goes on taking and converting the next batch's messages meanwhile: the module's time
/// is off the read's critical path (with `BATCH_ROWS` per batch, at most one batch waits
/// while one runs). Results come back in the order batches were submitted.
pub struct Stage {
    name: String,
    input: TransformInput,
    output: TransformOutput,
    messages: Vec<Message>,
    /// Per message, the index of its input row in `rows`, or why it has none.
    inputs: Vec<Result<usize, RowError>>,
    rows: Vec<Row>,
    bytes: usize,
    /// Wall-clock time the module's thread spent inside the transform host (lowering, the
    /// guest, lifting, the output check) over this read, for the "Read done." line.
    busy: Duration,
    /// Batches to the module's thread (`None` once closed).
    jobs: Option<mpsc::Sender<Job>>,
    done: mpsc::Receiver<Done>,
    /// Batches submitted whose results were not taken yet.
    in_flight: usize,
    worker: Option<thread::JoinHandle<()>>,
    _engine: TransformEngine,
}

/// A batch for the module's thread.
struct Job {
    messages: Vec<Message>,
    inputs: Vec<Result<usize, RowError>>,
    rows: Vec<Row>,
    /// How many traps the read may still take as error rows (`None`: none): past that the
    /// rows after a trap are not run, since the trap ends the read.
    trap_budget: Option<u64>,
}

/// What the module's thread made of a [`Job`].
struct Done {
    fates: Result<Vec<(Message, Fate)>, String>,
    busy: Duration,
    /// The job's input rows, handed back to be freed (and their buffer reused) by the
    /// thread that allocated them.
    rows: Vec<Row>,
}

impl std::fmt::Debug for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stage")
            .field("module", &self.name)
            .field("pending", &self.messages.len())
            .finish_non_exhaustive()
    }
}

impl Stage {
    /// Loads and instantiates the module `keys` names (calling its `init`), for messages
    /// of `format` with `fields` (the read's data columns) and pages of `outputs`. Fails
    /// before any message is read; every error names the module.
    pub fn new(
        dirs: Option<&TransformDirs>,
        keys: &TransformKeys,
        format: &Format,
        fields: Vec<InputField>,
        outputs: Vec<OutputColumn>,
    ) -> Result<Stage, String> {
        let dirs = dirs.ok_or_else(|| {
            ModuleError::NoTransformsDir {
                module: keys.module.clone(),
            }
            .to_string()
        })?;
        let path = resolve_module(&dirs.dir, &keys.module).map_err(|e| e.to_string())?;
        let input_columns = input_schema(format, &fields);
        let output_columns = output_schema(&fields);
        let input = TransformInput::new(format, input_columns.len()).map_err(|e| e.to_string())?;
        let output = TransformOutput::new(fields, outputs).map_err(|e| e.to_string())?;
        let cache_dir = dirs
            .cache_dir
            .as_ref()
            .and_then(|c| match std::fs::create_dir_all(c) {
                Ok(()) => Some(c.clone()),
                Err(e) => {
                    tracing::warn!(
                        cache_dir = %c.display(),
                        error = %e,
                        "Cannot create the transform cache directory; compiling without a cache."
                    );
                    None
                }
            });
        let engine =
            TransformEngine::new(EngineOptions { cache_dir }).map_err(|e| e.to_string())?;
        let module = engine.load(&path).map_err(|e| e.to_string())?;
        let name = module.name().to_owned();
        tracing::info!(
            module = %name,
            path = %path.display(),
            from_cache = module.from_cache(),
            "Transform loaded."
        );
        let transformer = module
            .instantiate(
                &keys.config,
                &input_columns,
                &output_columns,
                Limits {
                    batch_timeout: keys.timeout,
                    memory_bytes: keys.memory_bytes,
                },
            )
            .map_err(|e| e.to_string())?;
        let (jobs, job_queue) = mpsc::channel::<Job>();
        let (results, done) = mpsc::channel::<Done>();
        let worker = thread::Builder::new()
            .name("transform".to_owned())
            // Room for the guest's stack (transform_host::MAX_WASM_STACK) and the host
            // functions it calls.
            .stack_size(8 << 20)
            .spawn({
                let name = name.clone();
                move || run_batches(transformer, &name, &job_queue, &results)
            })
            .map_err(|e| format!("transform {name}: cannot start its thread: {e}"))?;
        Ok(Stage {
            name,
            input,
            output,
            messages: Vec::new(),
            inputs: Vec::new(),
            rows: Vec::new(),
            bytes: 0,
            busy: Duration::ZERO,
            jobs: Some(jobs),
            done,
            in_flight: 0,
            worker: Some(worker),
            _engine: engine,
        })
    }

    /// The module's name (its file name), for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The time spent inside the transform host so far.
    pub fn busy(&self) -> Duration {
        self.busy
    }

    /// The conversion of output rows into page rows.
    pub fn output(&mut self) -> &mut TransformOutput {
        &mut self.output
    }

    /// The schema of the pages the output fills.
    pub fn schema(&self) -> &xdrive_plugin::proto::schema::Schema {
        self.output.schema()
    }

    /// Adds a message to the batch.
    pub fn add(&mut self, meta: &MessageMeta<'_>, payload: Option<&[u8]>) {
        self.bytes += payload.map_or(0, <[u8]>::len) + meta.key.map_or(0, <[u8]>::len);
        let input = self.input.values(meta, payload).map(|values| {
            self.rows.push(Row {
                partition: meta.partition,
                offset: meta.offset,
                timestamp_ms: meta.timestamp_ms,
                key: meta.key.map(<[u8]>::to_vec),
                values: values.into_iter().map(input_value).collect(),
            });
            self.rows.len() - 1
        });
        self.inputs.push(input);
        self.messages.push(Message {
            partition: meta.partition,
            offset: meta.offset,
            timestamp_ms: meta.timestamp_ms,
            key: meta.key.map(<[u8]>::to_vec),
            payload: payload.map(<[u8]>::to_vec),
        });
    }

    /// Whether the batch should run now.
    pub fn is_full(&self) -> bool {
        self.messages.len() >= BATCH_ROWS || self.bytes >= BATCH_BYTES
    }

    /// Batches submitted whose results were not taken yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Hands the messages waiting to the module's thread. `trap_budget`: how many traps
    /// the read can still take as error rows (`None`: a trap ends the read).
    pub fn submit(&mut self, trap_budget: Option<u64>) -> Result<(), String> {
        if self.messages.is_empty() {
            return Ok(());
        }
        let job = Job {
            messages: std::mem::take(&mut self.messages),
            inputs: std::mem::take(&mut self.inputs),
            rows: std::mem::take(&mut self.rows),
            trap_budget,
        };
        self.bytes = 0;
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if !sent {
            return Err(self.thread_ended());
        }
        self.in_flight += 1;
        Ok(())
    }

    /// The oldest submitted batch's messages with their fates, in order, waiting for it;
    /// `None` when none is in flight. When the transform trapped on a row and the read
    /// could not take that many traps, the messages after it are left out (the trap ends
    /// the read before them). An error no row is at fault for is the read's error.
    pub fn take(&mut self) -> Option<Result<Vec<(Message, Fate)>, String>> {
        if self.in_flight == 0 {
            return None;
        }
        self.in_flight -= 1;
        Some(match self.done.recv() {
            Ok(mut done) => {
                self.busy += done.busy;
                if self.rows.is_empty() {
                    // The next batch fills the same buffer.
                    done.rows.clear();
                    self.rows = done.rows;
                }
                done.fates
            }
            Err(_) => Err(self.thread_ended()),
        })
    }

    /// The message when the module's thread is gone (it panicked: a bug of ours).
    fn thread_ended(&mut self) -> String {
        let why = match self.worker.take().map(thread::JoinHandle::join) {
            Some(Err(panic)) => panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic".to_owned()),
            _ => "it ended".to_owned(),
        };
        format!(
            "transform {}: its thread stopped unexpectedly ({why})",
            self.name
        )
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        // Closing the queue ends the thread after the batch it runs (at most one batch
        // deadline); the read does not wait for it.
        self.jobs = None;
    }
}

/// The module's thread: runs each batch as it comes, until the queue closes.
fn run_batches(
    mut transformer: Transformer,
    name: &str,
    jobs: &mpsc::Receiver<Job>,
    results: &mpsc::Sender<Done>,
) {
    for mut job in jobs {
        let started = Instant::now();
        let rows = std::mem::take(&mut job.rows);
        let fates = run_batch(&mut transformer, name, &rows, job);
        let done = Done {
            fates,
            busy: started.elapsed(),
            rows,
        };
        if results.send(done).is_err() {
            return;
        }
    }
}

/// Runs one batch: every message with its fate, in order. When the transform traps on a
/// row, that row's fate is [`Fate::Trapped`]; the rows before it run again, and the rows
/// after it too while the traps so far are within the job's budget; otherwise they are
/// left out of the result (the trap ends the read before them). An error no row is at
/// fault for is the read's error.
fn run_batch(
    transformer: &mut Transformer,
    name: &str,
    rows: &[Row],
    job: Job,
) -> Result<Vec<(Message, Fate)>, String> {
    let Job {
        messages,
        inputs,
        trap_budget,
        ..
    } = job;
    let may_skip =
        |traps: usize| trap_budget.is_some_and(|b| u64::try_from(traps).is_ok_and(|t| t <= b));
    let mut fates: Vec<Option<Fate>> = vec![None; rows.len()];
    let mut work = Vec::with_capacity(4);
    work.push(0..rows.len());
    let mut traps = 0;
    while let Some(range) = work.pop() {
        if range.is_empty() {
            continue;
        }
        match transformer.run(&rows[range.clone()]) {
            Ok(outcomes) => {
                if outcomes.len() != range.len() {
                    return Err(format!(
                        "transform {name}: {} outcomes for a batch of {} rows",
                        outcomes.len(),
                        range.len()
                    ));
                }
                for (i, outcome) in range.zip(outcomes) {
                    fates[i] = Some(match outcome {
                        Outcome::Rows(r) => Fate::Rows(r),
                        Outcome::Error(m) => Fate::Rejected(m),
                    });
                }
            }
            Err(e) => {
                let at = e.row_at_fault().and_then(|(p, o)| {
                    range
                        .clone()
                        .find(|&i| rows[i].partition == p && rows[i].offset == o)
                });
                let Some(j) = at else {
                    return Err(e.to_string());
                };
                fates[j] = Some(Fate::Trapped(e.to_string()));
                traps += 1;
                if may_skip(traps) {
                    work.push(j + 1..range.end);
                }
                // Popped first: the rows before the trap keep their order.
                work.push(range.start..j);
            }
        }
    }
    let mut done = Vec::with_capacity(messages.len());
    for (message, input) in messages.into_iter().zip(inputs) {
        let fate = match input {
            Err(e) => Fate::Undecodable(e),
            Ok(i) => match fates[i].take() {
                Some(f) => f,
                // After a trap that ends the read.
                None => break,
            },
        };
        done.push((message, fate));
    }
    Ok(done)
}

fn input_value(v: InputValue) -> Value {
    match v {
        InputValue::Null => Value::Null,
        InputValue::Text(s) => Value::Text(s),
        InputValue::Json(s) => Value::Json(s),
        InputValue::Bytes(b) => Value::Bytes(b),
    }
}

/// A transform's output value as the formats crate converts it.
pub fn output_value(v: &Value) -> OutputValue<'_> {
    match v {
        Value::Null => OutputValue::Null,
        Value::Boolean(b) => OutputValue::Boolean(*b),
        Value::Int(i) => OutputValue::Int(*i),
        Value::Float(f) => OutputValue::Float(*f),
        Value::Text(s) => OutputValue::Text(s),
        Value::Bytes(b) => OutputValue::Bytes(b),
        Value::Json(s) => OutputValue::Json(s),
        Value::Timestamp(t) => OutputValue::Timestamp(*t),
        Value::Numeric(s) => OutputValue::Numeric(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::CsvOptions;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("xdr_kafka_transform_{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn modules_resolve_only_inside_the_directory() {
        let base = temp_dir("resolve");
        let dir = base.join("transforms");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("m.wasm"), b"x").unwrap();
        std::fs::write(dir.join("sub/n.wasm"), b"x").unwrap();
        std::fs::write(base.join("outside.wasm"), b"x").unwrap();
        let root = dir.canonicalize().unwrap();
        assert_eq!(resolve_module(&dir, "m.wasm").unwrap(), root.join("m.wasm"));
        assert_eq!(
            resolve_module(&dir, "sub/n.wasm").unwrap(),
            root.join("sub/n.wasm")
        );
        assert_eq!(
            resolve_module(&dir, "./sub/./n.wasm").unwrap(),
            root.join("sub/n.wasm")
        );
        let shown = dir.display().to_string();
        assert_eq!(
            resolve_module(&dir, "../outside.wasm")
                .unwrap_err()
                .to_string(),
            format!(
                "query key \"transform\": \"../outside.wasm\" has a \"..\" component; modules \
                 are resolved only inside the mount's --transforms-dir \"{shown}\""
            )
        );
        assert!(matches!(
            resolve_module(&dir, "sub/../m.wasm"),
            Err(ModuleError::ParentDir { .. })
        ));
        let absolute = base.join("outside.wasm").display().to_string();
        let e = resolve_module(&dir, &absolute).unwrap_err();
        assert!(matches!(e, ModuleError::Absolute { .. }), "{e}");
        assert!(
            e.to_string()
                .contains(&format!("\"{absolute}\" is an absolute path"))
        );
        assert_eq!(
            resolve_module(&dir, "missing.wasm")
                .unwrap_err()
                .to_string(),
            format!(
                "query key \"transform\": module \"missing.wasm\" not found in the mount's \
                 --transforms-dir \"{shown}\""
            )
        );
        assert!(matches!(
            resolve_module(&dir, "sub"),
            Err(ModuleError::NotAFile { .. })
        ));
        // A symbolic link out of the directory, and one that stays inside.
        std::os::unix::fs::symlink(base.join("outside.wasm"), dir.join("link.wasm")).unwrap();
        let e = resolve_module(&dir, "link.wasm").unwrap_err();
        assert!(matches!(e, ModuleError::Escapes { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("outside the mount's --transforms-dir"),
            "{e}"
        );
        std::os::unix::fs::symlink(&base, dir.join("up")).unwrap();
        assert!(matches!(
            resolve_module(&dir, "up/outside.wasm"),
            Err(ModuleError::Escapes { .. })
        ));
        std::os::unix::fs::symlink(dir.join("m.wasm"), dir.join("alias.wasm")).unwrap();
        assert_eq!(
            resolve_module(&dir, "alias.wasm").unwrap(),
            root.join("m.wasm")
        );
        // The directory itself: a symbolic link to it is fine, a missing one is named.
        std::os::unix::fs::symlink(&dir, base.join("dir-link")).unwrap();
        assert_eq!(
            resolve_module(&base.join("dir-link"), "m.wasm").unwrap(),
            root.join("m.wasm")
        );
        assert!(matches!(
            resolve_module(&base.join("nope"), "m.wasm"),
            Err(ModuleError::BadDir { .. })
        ));
        assert!(matches!(
            resolve_module(&dir, "."),
            Err(ModuleError::Escapes { .. } | ModuleError::NotAFile { .. })
        ));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn schemas_follow_the_format_and_the_columns() {
        let fields = vec![
            InputField::new("id", "integer").unwrap(),
            InputField::new("name", "varchar(20)").unwrap(),
            InputField::new("at", "timestamptz").unwrap(),
        ];
        let csv = Format::Csv(CsvOptions::new(b'|').unwrap());
        let names = |cols: &[Column]| {
            cols.iter()
                .map(|c| (c.name.clone(), c.kind, c.pg_type.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&input_schema(&csv, &fields)),
            [
                ("id".into(), Kind::Text, "text".into()),
                ("name".into(), Kind::Text, "text".into()),
                ("at".into(), Kind::Text, "text".into()),
            ]
        );
        assert_eq!(
            names(&input_schema(&Format::Json, &fields)),
            [("jdata".into(), Kind::Json, "json".into())]
        );
        assert_eq!(
            names(&input_schema(&Format::Binary, &fields)),
            [("value".into(), Kind::Bytes, "bytea".into())]
        );
        assert_eq!(
            names(&output_schema(&fields)),
            [
                ("id".into(), Kind::Int, "integer".into()),
                ("name".into(), Kind::Text, "varchar(20)".into()),
                ("at".into(), Kind::Timestamp, "timestamptz".into()),
            ]
        );
        let kinds: Vec<Kind> = [
            SpqType::Bool,
            SpqType::Int16,
            SpqType::Int32,
            SpqType::Int64,
            SpqType::Float,
            SpqType::Double,
            SpqType::Cstr,
            SpqType::Bytea,
            SpqType::Json,
            SpqType::Date,
            SpqType::TimestampMicros,
            SpqType::TimestamptzMicros,
            SpqType::Numeric,
            SpqType::TimeMicros,
        ]
        .into_iter()
        .map(kind_of)
        .collect();
        assert_eq!(
            kinds,
            [
                Kind::Boolean,
                Kind::Int,
                Kind::Int,
                Kind::Int,
                Kind::Float,
                Kind::Float,
                Kind::Text,
                Kind::Bytes,
                Kind::Json,
                Kind::Timestamp,
                Kind::Timestamp,
                Kind::Timestamp,
                Kind::Numeric,
                Kind::Text,
            ]
        );
    }

    #[test]
    fn output_values_map_one_to_one() {
        let values = [
            Value::Null,
            Value::Boolean(true),
            Value::Int(-1),
            Value::Float(0.5),
            Value::Text("t".into()),
            Value::Bytes(vec![1]),
            Value::Json("{}".into()),
            Value::Timestamp(9),
            Value::Numeric("1.0".into()),
        ];
        let mapped: Vec<OutputValue<'_>> = values.iter().map(output_value).collect();
        assert_eq!(
            mapped,
            [
                OutputValue::Null,
                OutputValue::Boolean(true),
                OutputValue::Int(-1),
                OutputValue::Float(0.5),
                OutputValue::Text("t"),
                OutputValue::Bytes(&[1]),
                OutputValue::Json("{}"),
                OutputValue::Timestamp(9),
                OutputValue::Numeric("1.0"),
            ]
        );
        assert_eq!(
            input_value(InputValue::Text("x".into())),
            Value::Text("x".into())
        );
        assert_eq!(input_value(InputValue::Null), Value::Null);
    }
}
