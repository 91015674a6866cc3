//! [`Transformer::run`]: one guest call per batch; after a trap, the instance is rebuilt
//! and the row at fault found.
//!
//! # Finding the row at fault
//! A trap (panic, deadline, memory or stack limit) poisons the store, so the instance is
//! dropped and rebuilt from the module's `InstancePre` (and `init` called again). Then the
//! batch is **replayed one row at a time** on the new instance, in order, until a row traps
//! on its own: that row is the one at fault, reported with what happened. The rows before
//! it are transformed once more, and their outcomes discarded; the instance is rebuilt once
//! more after the faulty row trapped, so the caller can run the batch again without it.
//!
//! Why not bisect (halves of the batch): every probe that traps costs a rebuild and `init`,
//! and for an infinite loop every probe that contains the looping row costs a whole
//! deadline — log2(n) deadlines. The replay costs one extra trap (one deadline for a
//! loop), two rebuilds, and one small call per row before the faulty one (about a
//! microsecond of host overhead each, plus the rows' own work, which the batch already did
//! once). An infinite loop in a 100-row batch under a 1 s deadline thus takes about 2 s:
//! the batch's deadline and the looping row's.
//!
//! A batch can also exceed its deadline with no single row doing so (each row slow, the
//! batch too large). Each replayed row gets the whole deadline, but after a deadline trap
//! the replay starts no new row once twice the deadline has passed (so it lasts at most
//! three deadlines); then, as when no row traps alone
//! for another reason (a trap that depends on the state several rows build up), the error
//! is a [`TransformError::Batch`] naming the rows' range instead of a row.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::Trap;
use wasmtime_wasi::I32Exit;

use crate::bindings::TransformPre;
use crate::engine::{EngineInner, Module, describe};
use crate::instance::{CallError, HostState, Instance};
use crate::{Column, Limits, Outcome, Row, TransformError, convert};

/// A live instance after a successful `init`.
pub struct Transformer {
    /// Keeps the engine (and its epoch ticker) alive.
    engine: Arc<EngineInner>,
    pre: TransformPre<HostState>,
    module: Arc<str>,
    config: Vec<(String, String)>,
    input: Vec<Column>,
    output: Vec<Column>,
    limits: Limits,
    /// `None` after a trap until rebuilt (a rebuild whose `init` failed leaves it `None`).
    instance: Option<Instance>,
}

impl Transformer {
    pub(crate) fn new(
        module: &Module,
        config: &[(String, String)],
        input: &[Column],
        output: &[Column],
        limits: Limits,
    ) -> Result<Transformer, TransformError> {
        let mut transformer = Transformer {
            engine: Arc::clone(&module.engine),
            pre: module.pre.clone(),
            module: Arc::clone(&module.name),
            config: config.to_vec(),
            input: input.to_vec(),
            output: output.to_vec(),
            limits,
            instance: None,
        };
        transformer.rebuild()?;
        Ok(transformer)
    }

    /// The module's display name.
    pub fn module(&self) -> &str {
        &self.module
    }

    /// The output schema outcomes are checked against.
    pub fn output(&self) -> &[Column] {
        &self.output
    }

    /// Runs one batch; exactly one outcome per row. A trap, deadline or limit is an
    /// `Err` naming the module and the partition/offset of the row at fault (found by
    /// replaying the batch row by row, see the module docs); the instance is rebuilt
    /// before this returns, so the caller may drop that row and run the rest again.
    pub fn run(&mut self, rows: &[Row]) -> Result<Vec<Outcome>, TransformError> {
        let timeout = self.limits.batch_timeout;
        let instance = self.instance()?;
        match instance.transform(rows, timeout) {
            Ok(outcomes) => {
                if outcomes.len() != rows.len() {
                    return Err(self.batch_error(format!(
                        "returned {} outcomes for a batch of {} rows (the contract is one \
                         per row)",
                        outcomes.len(),
                        rows.len()
                    )));
                }
                Ok(convert::outcomes(outcomes, &self.output))
            }
            Err(error) => {
                let fault = Fault::of(&error, instance);
                self.instance = None;
                if let Fault::OutputTooLarge = fault {
                    self.rebuild()?;
                    return Err(self.batch_error(fault.describe(&self.limits)));
                }
                self.find_row_at_fault(rows, fault)
            }
        }
    }

    /// See the module docs. Always returns an error, with the instance rebuilt.
    fn find_row_at_fault(
        &mut self,
        rows: &[Row],
        fault: Fault,
    ) -> Result<Vec<Outcome>, TransformError> {
        let timeout = self.limits.batch_timeout;
        if let [row] = rows {
            self.rebuild()?;
            return Err(self.trap_error(row, &fault));
        }
        let started = Instant::now();
        let budget = timeout.saturating_mul(2);
        for row in rows {
            if matches!(fault, Fault::Deadline) && started.elapsed() > budget {
                break;
            }
            let instance = self.instance()?;
            instance.set_quiet(true);
            let result = instance.transform(std::slice::from_ref(row), timeout);
            instance.set_quiet(false);
            if let Err(error) = result {
                let fault = Fault::of(&error, instance);
                self.instance = None;
                self.rebuild()?;
                return Err(self.trap_error(row, &fault));
            }
        }
        // No row traps on its own: start the next batch on a fresh instance too.
        self.instance = None;
        self.rebuild()?;
        let (first, last) = (&rows[0], &rows[rows.len() - 1]);
        Err(self.batch_error(format!(
            "{} on the batch of {} rows (partition {}, offset {} to partition {}, offset {}), \
             but on no row alone",
            fault.describe(&self.limits),
            rows.len(),
            first.partition,
            first.offset,
            last.partition,
            last.offset
        )))
    }

    /// The live instance, rebuilt first if a trap dropped it.
    fn instance(&mut self) -> Result<&mut Instance, TransformError> {
        if self.instance.is_none() {
            self.rebuild()?;
        }
        Ok(self.instance.as_mut().expect("rebuilt"))
    }

    /// A new instance from the `InstancePre`, after `init`.
    fn rebuild(&mut self) -> Result<(), TransformError> {
        self.instance = None;
        let init_error = |message: String| TransformError::Init {
            module: self.module.to_string(),
            message,
        };
        let mut instance =
            Instance::new(&self.engine.engine, &self.pre, &self.module, &self.limits)
                .map_err(|e| init_error(format!("cannot instantiate it: {}", describe(&e))))?;
        match instance.init(
            &self.config,
            &self.input,
            &self.output,
            self.limits.batch_timeout,
        ) {
            Ok(Ok(())) => {}
            Ok(Err(message)) => return Err(init_error(message)),
            Err(error) => {
                let fault = Fault::of(&error, &instance);
                return Err(init_error(fault.describe(&self.limits)));
            }
        }
        self.instance = Some(instance);
        Ok(())
    }

    fn trap_error(&self, row: &Row, fault: &Fault) -> TransformError {
        TransformError::Trap {
            module: self.module.to_string(),
            partition: row.partition,
            offset: row.offset,
            message: fault.describe(&self.limits),
        }
    }

    fn batch_error(&self, message: String) -> TransformError {
        TransformError::Batch {
            module: self.module.to_string(),
            message,
        }
    }
}

/// What went wrong in a guest call.
enum Fault {
    Deadline,
    Memory,
    StackOverflow,
    /// A guest panic (`unreachable`), with the message if the guest printed or logged one.
    Panic(Option<String>),
    Exit(i32),
    OutputTooLarge,
    Other(String),
}

impl Fault {
    fn of(error: &CallError, instance: &Instance) -> Fault {
        if error.memory_exceeded {
            return Fault::Memory;
        }
        let e = &error.error;
        if let Some(trap) = e.downcast_ref::<Trap>() {
            return match trap {
                Trap::Interrupt => Fault::Deadline,
                Trap::StackOverflow => Fault::StackOverflow,
                Trap::UnreachableCodeReached => Fault::Panic(instance.panic_message()),
                other => Fault::Other(format!("trapped: {other}")),
            };
        }
        if let Some(exit) = e.downcast_ref::<I32Exit>() {
            return Fault::Exit(exit.0);
        }
        let text = describe(e);
        if text.contains("fuel allocated for hostcalls has been exhausted") {
            return Fault::OutputTooLarge;
        }
        Fault::Other(format!("failed: {text}"))
    }

    fn describe(&self, limits: &Limits) -> String {
        match self {
            Fault::Deadline => format!(
                "exceeded the {} batch deadline",
                duration(limits.batch_timeout)
            ),
            Fault::Memory => format!("ran out of memory (limit {})", bytes(limits.memory_bytes)),
            Fault::StackOverflow => "stack overflow".to_owned(),
            Fault::Panic(Some(message)) => message.clone(),
            Fault::Panic(None) => {
                "panicked (no message: the transform printed or logged none)".to_owned()
            }
            Fault::Exit(code) => format!("called exit({code})"),
            Fault::OutputTooLarge => format!(
                "returned more output than the host accepts from one batch ({}, the memory \
                 limit): make batches smaller",
                bytes(limits.memory_bytes)
            ),
            Fault::Other(message) => message.clone(),
        }
    }
}

/// `10s`, `1.5s`, `250ms`.
fn duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() > 0 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// `256 MiB`, `1.5 GiB`, `100 KiB`, `1000 bytes`.
fn bytes(n: usize) -> String {
    const UNITS: [(usize, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if n >= size {
            return if n.is_multiple_of(size) {
                format!("{} {unit}", n / size)
            } else {
                format!("{:.1} {unit}", n as f64 / size as f64)
            };
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_well() {
        assert_eq!(duration(Duration::from_secs(10)), "10s");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(bytes(256 << 20), "256 MiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(bytes(100 << 10), "100 KiB");
        assert_eq!(bytes(1000), "1000 bytes");
    }

    #[test]
    fn fault_messages() {
        let limits = Limits {
            batch_timeout: Duration::from_secs(10),
            memory_bytes: 256 << 20,
        };
        assert_eq!(
            Fault::Deadline.describe(&limits),
            "exceeded the 10s batch deadline"
        );
        assert_eq!(
            Fault::Memory.describe(&limits),
            "ran out of memory (limit 256 MiB)"
        );
        assert_eq!(Fault::StackOverflow.describe(&limits), "stack overflow");
    }
}
