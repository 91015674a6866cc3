//! One instance of a transform: a `Store` with its limits, a WASI context that grants
//! nothing, the guest's stdout/stderr and `host.log`, and the calls into the guest with an
//! epoch deadline.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasData, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{self, Level, LogHost, Transform, TransformPre};
use crate::log::GuestLog;
use crate::stdio::{GuestOutput, Which};
use crate::{Column, Limits, Row};

/// How often the engine's epoch advances (see `engine`): the resolution of deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What a store holds.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    pub log: GuestLog,
    pub stdout: GuestOutput,
    pub stderr: GuestOutput,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The `types` interface has no functions.
impl bindings::types::Host for HostState {}

impl LogHost for HostState {
    fn log(&mut self, level: Level, message: String) {
        self.log.log(level, &message);
    }
}

/// `StoreLimits`, remembering whether the memory limit was hit (a failed grow traps, and
/// the trap alone does not say why).
struct Limiter {
    inner: StoreLimits,
    memory_bytes: usize,
    memory_exceeded: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.memory_exceeded = true;
        }
        self.inner.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// The `HasData` of the `wasi:io` bindings: they need only the resource table.
struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// The linker every instance of the engine uses: `dgkafka:transform` and exactly the WASI
/// interfaces `imports` allows (so a component importing anything else could not even be
/// instantiated, were the import check missing).
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    use wasmtime_wasi::p2::bindings::{cli, io, random, sync};

    let mut linker = Linker::new(engine);
    let l = &mut linker;
    io::error::add_to_linker::<HostState, HasIo>(l, |t| &mut t.table)?;
    sync::io::poll::add_to_linker::<HostState, HasIo>(l, |t| &mut t.table)?;
    sync::io::streams::add_to_linker::<HostState, HasIo>(l, |t| &mut t.table)?;
    cli::exit::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::environment::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_input::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_output::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    random::insecure_seed::add_to_linker::<HostState, WasiRandom>(l, |t| t.wasi.random())?;
    Transform::add_to_linker::<HostState, HasSelf<HostState>>(l, |t| t)?;
    Ok(linker)
}

/// A live instance (after instantiation; `init` is the caller's).
pub struct Instance {
    pub store: Store<HostState>,
    guest: Transform,
}

/// Why a call into the guest failed.
pub struct CallError {
    pub error: wasmtime::Error,
    /// Whether the memory limit was hit during the call.
    pub memory_exceeded: bool,
}

impl Instance {
    pub fn new(
        engine: &Engine,
        pre: &TransformPre<HostState>,
        module: &Arc<str>,
        limits: &Limits,
    ) -> wasmtime::Result<Instance> {
        let stdout = GuestOutput::new(Arc::clone(module), Which::Stdout);
        let stderr = GuestOutput::new(Arc::clone(module), Which::Stderr);
        // Grants nothing: no arguments, environment, preopened directories or network
        // (none of those interfaces is even linked); stdin is empty; the clocks and
        // random sources are not linked either, only `insecure-seed` (for `HashMap`).
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build();
        let limiter = Limiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .trap_on_grow_failure(true)
                .build(),
            memory_bytes: limits.memory_bytes,
            memory_exceeded: false,
        };
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            limiter,
            log: GuestLog::new(Arc::clone(module)),
            stdout,
            stderr,
        };
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limiter);
        // Bounds what one call may hand back to the host (the lifted outcomes, or one
        // `log` message) to the memory limit: counted in the host's representation
        // (a value is 32 bytes, a row vector 24), which is at most about 1.5 times the
        // guest's, so a batch whose output fills less than about two thirds of the
        // guest's memory always goes through.
        store.set_hostcall_fuel(limits.memory_bytes);
        set_deadline(&mut store, limits.batch_timeout);
        let guest = pre.instantiate(&mut store)?;
        Ok(Instance { store, guest })
    }

    /// Calls `init` within `timeout`.
    pub fn init(
        &mut self,
        config: &[(String, String)],
        input: &[Column],
        output: &[Column],
        timeout: Duration,
    ) -> Result<Result<(), String>, CallError> {
        self.start(timeout);
        let result = self.guest.dgkafka_transform_transformer().call_init(
            &mut self.store,
            config,
            input,
            output,
        );
        self.finish(result)
    }

    /// Calls `transform` within `timeout`.
    pub fn transform(
        &mut self,
        rows: &[Row],
        timeout: Duration,
    ) -> Result<Vec<bindings::types::Outcome>, CallError> {
        self.start(timeout);
        let result = self
            .guest
            .dgkafka_transform_transformer()
            .call_transform(&mut self.store, rows);
        self.finish(result)
    }

    fn start(&mut self, timeout: Duration) {
        let state = self.store.data_mut();
        state.log.start_batch();
        state.stdout.start_batch();
        state.stderr.start_batch();
        state.limiter.memory_exceeded = false;
        set_deadline(&mut self.store, timeout);
    }

    fn finish<T>(&mut self, result: wasmtime::Result<T>) -> Result<T, CallError> {
        let state = self.store.data_mut();
        state.log.finish_batch();
        state.stdout.finish_batch();
        state.stderr.finish_batch();
        result.map_err(|error| CallError {
            error,
            memory_exceeded: state.limiter.memory_exceeded,
        })
    }

    /// Whether the guest's logs and output are forwarded (they are not while rows are
    /// replayed one at a time to find the one at fault: they were already once).
    pub fn set_quiet(&mut self, quiet: bool) {
        let state = self.store.data_mut();
        state.log.set_quiet(quiet);
        state.stdout.set_quiet(quiet);
        state.stderr.set_quiet(quiet);
    }

    /// The panic message of the last call, if it panicked: what the SDK's panic hook
    /// logged, or else what Rust's default hook printed to stderr.
    pub fn panic_message(&self) -> Option<String> {
        let state = self.store.data();
        state
            .log
            .panic_message()
            .or_else(|| crate::stdio::panic_message(&state.stderr.recent_lines()))
            .or_else(|| {
                let last = state.log.last_error()?;
                Some(format!("panicked (its last error log: {last})"))
            })
    }
}

/// Interrupts the guest `timeout` (rounded up to the epoch tick, plus one tick) from now.
fn set_deadline(store: &mut Store<HostState>, timeout: Duration) {
    let ticks = timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) + 1;
    store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
}
