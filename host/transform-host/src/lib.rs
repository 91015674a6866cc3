//! The host side of `wit/transform.wit`: loads a transform component, checks what it
//! imports, instantiates it with limits, and runs batches of rows through it.
//!
//! ```no_run
//! # use std::path::{Path, PathBuf};
//! # use transform_host::*;
//! # fn demo(dir: PathBuf, config: &[(String, String)], input_schema: &[Column],
//! #     output_schema: &[Column], rows: &[Row]) -> Result<(), TransformError> {
//! let engine = TransformEngine::new(EngineOptions { cache_dir: Some(dir) })?; // one per process
//! let module = engine.load(Path::new("/transforms/mask.wasm"))?;   // import check + disk cache
//! let mut t = module.instantiate(config, input_schema, output_schema, Limits::default())?; // calls init
//! let outcomes: Vec<Outcome> = t.run(rows)?;   // one outcome per row, outputs checked against the output schema
//! # Ok(())
//! # }
//! ```
//!
//! The pieces, one job per module:
//! - [`engine`](TransformEngine): the one wasmtime `Engine` of the process, its epoch ticker,
//!   loading (`cache`: compiled modules on disk; `imports`: what a component may import);
//! - `instance`: a `Store` with limits (memory, epoch deadline, output size), the WASI context
//!   that grants nothing, guest stdout/stderr (`stdio`) and the `host.log` import (`log`);
//! - `convert`: what the guest returned → [`Outcome`], checked against the output schema;
//! - `transformer`: [`Transformer::run`], and finding the row at fault after a trap.
//!
//! # Stack
//! Guest calls run on the caller's thread. Wasm frames may use at most [`MAX_WASM_STACK`]
//! (512 KiB) of it; a stack overflow beyond that is a trap, not a crash. Any thread Rust or
//! tokio spawns has a 2 MiB stack (the main thread 8 MiB), so a caller that is not already
//! deep in its own stack has room for that plus the host functions the guest calls (WASI
//! streams and `host.log`, a few KiB).

mod bindings;
mod cache;
mod convert;
mod engine;
mod imports;
mod instance;
mod log;
mod stdio;
mod transformer;

use std::path::PathBuf;
use std::time::Duration;

use wasmtime::component::{ComponentType, Lift, Lower};

pub use engine::{Module, TransformEngine};
pub use transformer::Transformer;

/// The most stack wasm code may use (`Config::max_wasm_stack`); see the crate docs on
/// stacks.
pub const MAX_WASM_STACK: usize = 512 << 10;

/// What a column holds (the WIT `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ComponentType, Lift, Lower)]
#[component(enum)]
#[repr(u8)]
pub enum Kind {
    #[component(name = "boolean")]
    Boolean,
    #[component(name = "int")]
    Int,
    #[component(name = "float")]
    Float,
    #[component(name = "text")]
    Text,
    #[component(name = "bytes")]
    Bytes,
    #[component(name = "json")]
    Json,
    #[component(name = "timestamp")]
    Timestamp,
    #[component(name = "numeric")]
    Numeric,
}

/// One column of a schema (the WIT `column`).
#[derive(Debug, Clone, PartialEq, Eq, ComponentType, Lift, Lower)]
#[component(record)]
pub struct Column {
    #[component(name = "name")]
    pub name: String,
    #[component(name = "kind")]
    pub kind: Kind,
    /// The PostgreSQL type as configured.
    #[component(name = "pg-type")]
    pub pg_type: String,
}

/// A value (the WIT `value`).
#[derive(Debug, Clone, PartialEq, ComponentType, Lift, Lower)]
#[component(variant)]
pub enum Value {
    #[component(name = "null")]
    Null,
    #[component(name = "boolean")]
    Boolean(bool),
    #[component(name = "int")]
    Int(i64),
    #[component(name = "float")]
    Float(f64),
    #[component(name = "text")]
    Text(String),
    #[component(name = "bytes")]
    Bytes(Vec<u8>),
    #[component(name = "json")]
    Json(String),
    /// Microseconds since the Unix epoch.
    #[component(name = "timestamp")]
    Timestamp(i64),
    #[component(name = "numeric")]
    Numeric(String),
}

/// One input row (the WIT `row`). The host lowers these straight into the guest's memory:
/// no copy into other types per batch.
#[derive(Debug, Clone, PartialEq, ComponentType, Lift, Lower)]
#[component(record)]
pub struct Row {
    #[component(name = "partition")]
    pub partition: i32,
    #[component(name = "offset")]
    pub offset: i64,
    #[component(name = "timestamp-ms")]
    pub timestamp_ms: Option<i64>,
    #[component(name = "key")]
    pub key: Option<Vec<u8>>,
    #[component(name = "values")]
    pub values: Vec<Value>,
}

/// What became of one input row, after the host checked the output rows against the
/// output schema (a wrong arity or kind becomes `Error`).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Zero (drop), one (keep/replace) or several (split) rows to load.
    Rows(Vec<Vec<Value>>),
    /// A row error with the transform's (or the host's) message.
    Error(String),
}

/// Per process.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Where compiled modules are cached; `None` = no disk cache.
    pub cache_dir: Option<PathBuf>,
}

/// Per instance; both configurable by the user.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The wall-clock budget of one `run` call (epoch deadline).
    pub batch_timeout: Duration,
    /// The most linear memory an instance may grow to.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            batch_timeout: Duration::from_secs(10),
            memory_bytes: 256 << 20,
        }
    }
}

/// Why a transform could not be loaded, initialised or run. Every message names the
/// module; run errors name the row's partition and offset when one row is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// The engine could not be set up (not a module's fault).
    #[error("transform engine: {message}")]
    Engine { message: String },
    /// The file cannot be read, is not a WebAssembly component, or does not implement
    /// `wit/transform.wit`.
    #[error("transform {module}: cannot load it: {reason}")]
    Load { module: String, reason: String },
    /// The component imports something transforms may not use: `import` is the most
    /// telling of them (a filesystem or socket interface rather than the clocks those bring
    /// along), `all` lists every one.
    #[error(
        "transform {module}: imports {}, which transforms may not use (only \
         dgkafka:transform/host and the wasi:io, wasi:cli and wasi:random/insecure-seed \
         interfaces a Rust guest needs for printing and panics)",
        all.join(", ")
    )]
    ForbiddenImport {
        module: String,
        import: String,
        all: Vec<String>,
    },
    /// `init` returned an error (the configuration is rejected), or trapped.
    #[error("transform {module}: init failed: {message}")]
    Init { module: String, message: String },
    /// A trap (panic, deadline, memory or stack limit) that one row causes: the row at
    /// fault. The instance is already rebuilt; running the batch again without this row
    /// works unless another row traps too.
    #[error("transform {module}: partition {partition}, offset {offset}: {message}")]
    Trap {
        module: String,
        partition: i32,
        offset: i64,
        message: String,
    },
    /// The batch as a whole failed and no single row is at fault: the transform broke the
    /// contract (not one outcome per row), its output was too large, or it trapped on the
    /// batch but on no row alone. The instance is ready for the next batch (rebuilt after
    /// a trap).
    #[error("transform {module}: {message}")]
    Batch { module: String, message: String },
    #[error("transform {module}: {message}")]
    Other { module: String, message: String },
}

impl TransformError {
    /// The module the error is about (`None` for an engine error).
    pub fn module(&self) -> Option<&str> {
        match self {
            TransformError::Engine { .. } => None,
            TransformError::Load { module, .. }
            | TransformError::ForbiddenImport { module, .. }
            | TransformError::Init { module, .. }
            | TransformError::Trap { module, .. }
            | TransformError::Batch { module, .. }
            | TransformError::Other { module, .. } => Some(module),
        }
    }

    /// The partition and offset of the row at fault, for a trap one row causes: the caller
    /// may skip that row and run the rest of the batch again.
    pub fn row_at_fault(&self) -> Option<(i32, i64)> {
        match self {
            TransformError::Trap {
                partition, offset, ..
            } => Some((*partition, *offset)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handles_can_move_between_threads() {
        fn send<T: Send>() {}
        fn shared<T: Send + Sync>() {}
        shared::<TransformEngine>();
        shared::<Module>();
        send::<Transformer>();
        shared::<TransformError>();
    }
}
