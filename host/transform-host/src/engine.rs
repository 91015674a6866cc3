//! The process's one wasmtime `Engine`, its epoch ticker, and loading modules (import check,
//! disk cache).

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use crate::bindings::TransformPre;
use crate::cache::Cache;
use crate::instance::{EPOCH_TICK, HostState, linker};
use crate::transformer::Transformer;
use crate::{Column, EngineOptions, Limits, MAX_WASM_STACK, TransformError, imports};

/// One per process: the wasmtime engine, its epoch ticker and the module cache.
pub struct TransformEngine {
    inner: Arc<EngineInner>,
}

/// Shared by the engine, its modules and their instances: the ticker runs until the last
/// of them is dropped (an instance without a ticker would have no deadline).
pub(crate) struct EngineInner {
    pub(crate) engine: Engine,
    linker: Linker<HostState>,
    cache: Option<Cache>,
    _ticker: Ticker,
}

/// A loaded (compiled, import-checked) module; cheap to instantiate many times.
#[derive(Clone)]
pub struct Module {
    pub(crate) engine: Arc<EngineInner>,
    pub(crate) name: Arc<str>,
    pub(crate) pre: TransformPre<HostState>,
    from_cache: bool,
}

impl TransformEngine {
    pub fn new(options: EngineOptions) -> Result<TransformEngine, TransformError> {
        let engine_error = |message: String| TransformError::Engine { message };
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .max_wasm_stack(MAX_WASM_STACK)
            .wasm_component_model(true);
        let engine = Engine::new(&config)
            .map_err(|e| engine_error(format!("cannot configure wasmtime: {}", describe(&e))))?;
        let linker = linker(&engine).map_err(|e| {
            engine_error(format!("cannot link the host interfaces: {}", describe(&e)))
        })?;
        let cache = match &options.cache_dir {
            Some(dir) => Some(Cache::new(dir).map_err(|e| {
                engine_error(format!(
                    "cannot create the module cache directory {}: {e}",
                    dir.display()
                ))
            })?),
            None => None,
        };
        let ticker = Ticker::start(engine.clone())
            .map_err(|e| engine_error(format!("cannot start the epoch ticker thread: {e}")))?;
        Ok(TransformEngine {
            inner: Arc::new(EngineInner {
                engine,
                linker,
                cache,
                _ticker: ticker,
            }),
        })
    }

    /// Loads the component at `path`: from the cache when it holds it, else compiled (and
    /// then cached). Checks what it imports and that it implements `wit/transform.wit`.
    pub fn load(&self, path: &Path) -> Result<Module, TransformError> {
        let name: Arc<str> = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
            .into();
        let load_error = |reason: String| TransformError::Load {
            module: name.to_string(),
            reason,
        };
        let bytes = std::fs::read(path)
            .map_err(|e| load_error(format!("cannot read {}: {e}", path.display())))?;
        check_header(&bytes).map_err(load_error)?;

        let inner = &self.inner;
        let key = Cache::key(&inner.engine, &bytes);
        let cached = inner
            .cache
            .as_ref()
            .and_then(|cache| cache.load(&inner.engine, &key, &name));
        let from_cache = cached.is_some();
        let component = match cached {
            Some(component) => {
                tracing::info!(module = &*name, path = %path.display(), "Transform module loaded from cache");
                component
            }
            None => Component::new(&inner.engine, &bytes)
                .map_err(|e| load_error(format!("not a valid component: {}", describe(&e))))?,
        };
        imports::check(&inner.engine, &component, &name)?;
        let pre = inner
            .linker
            .instantiate_pre(&component)
            .and_then(TransformPre::new)
            .map_err(|e| {
                load_error(format!(
                    "it does not implement the transform world of wit/transform.wit: {}",
                    describe(&e)
                ))
            })?;
        if !from_cache {
            tracing::info!(module = &*name, path = %path.display(), "Transform module compiled");
            if let Some(cache) = &inner.cache
                && let Err(e) = cache.store(&key, &component)
            {
                tracing::warn!(
                    module = &*name,
                    path = %cache.artifact_path(&key).display(),
                    error = %e,
                    "Cannot write the compiled transform module to the cache"
                );
            }
        }
        Ok(Module {
            engine: Arc::clone(&self.inner),
            name,
            pre,
            from_cache,
        })
    }
}

impl Module {
    /// The module's display name (its file name), used in every error.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the compiled code came from the disk cache.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// A new instance, after its `init` accepted `config` and the schemas.
    pub fn instantiate(
        &self,
        config: &[(String, String)],
        input: &[Column],
        output: &[Column],
        limits: Limits,
    ) -> Result<Transformer, TransformError> {
        Transformer::new(self, config, input, output, limits)
    }
}

/// A clear error for what is not a component at all, before wasmtime's parser speaks.
fn check_header(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(format!(
            "not a WebAssembly file ({} bytes, no \\0asm header)",
            bytes.len()
        ));
    }
    // The layer field: 0 for a core module, 1 for a component.
    if bytes[6..8] == [0, 0] {
        return Err(
            "a core WebAssembly module, not a component: build the transform for \
                    the wasm32-wasip2 target"
                .to_owned(),
        );
    }
    Ok(())
}

/// A wasmtime error and its causes, on one line.
pub(crate) fn describe(error: &wasmtime::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

/// Increments the engine's epoch every [`EPOCH_TICK`] until dropped.
struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine) -> std::io::Result<Ticker> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("transform-epoch".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EPOCH_TICK) {
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        // Disconnecting the channel stops the thread.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert!(
            check_header(b"hello world")
                .unwrap_err()
                .contains("not a WebAssembly file")
        );
        assert!(
            check_header(b"\0asm\x01\0\0\0")
                .unwrap_err()
                .contains("core WebAssembly module")
        );
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn the_ticker_stops_when_dropped() {
        let engine = Engine::default();
        let ticker = Ticker::start(engine).unwrap();
        drop(ticker); // joins: would hang if the thread did not stop
    }
}
