//! Guest stdout and stderr: bounded streams of our own that forward whole lines to
//! `tracing`, naming the module.
//!
//! `wasmtime_wasi`'s `MemoryOutputPipe` traps the guest once full; these never do: each
//! batch may forward at most [`OUTPUT_BUDGET`] bytes per stream, the rest is counted and
//! dropped silently (reported once per batch by `finish_batch`). The last lines of stderr
//! are kept whatever the budget, so that a panic message (Rust's default panic hook prints
//! `thread '…' panicked at file:line:col:` and the message to stderr) can go into the trap
//! error.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes per stream and batch forwarded to the logs.
pub const OUTPUT_BUDGET: usize = 64 << 10;
/// A longer line is cut into pieces of this size.
const MAX_LINE: usize = 4 << 10;
/// Lines of stderr kept for the panic message.
const KEPT_LINES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Stdout,
    Stderr,
}

/// One guest stream; clones share the state (the WASI context and the host both hold one).
#[derive(Clone)]
pub struct GuestOutput {
    module: Arc<str>,
    which: Which,
    state: Arc<Mutex<OutputState>>,
}

#[derive(Default)]
struct OutputState {
    /// The line being written.
    partial: Vec<u8>,
    /// Bytes forwarded in this batch.
    forwarded: usize,
    /// Bytes dropped in this batch.
    dropped: u64,
    /// The last lines, whatever the budget.
    recent: VecDeque<String>,
    /// Nothing forwarded (while the host replays rows to find the one at fault).
    quiet: bool,
}

impl GuestOutput {
    pub fn new(module: Arc<str>, which: Which) -> GuestOutput {
        GuestOutput {
            module,
            which,
            state: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, OutputState> {
        // A panic while holding the lock leaves only log bookkeeping behind.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `bytes` from the guest: always all of them.
    fn write_bytes(&self, bytes: &[u8]) {
        let mut state = self.lock();
        for &b in bytes {
            if b == b'\n' {
                self.end_line(&mut state);
            } else {
                state.partial.push(b);
                if state.partial.len() >= MAX_LINE {
                    self.end_line(&mut state);
                }
            }
        }
    }

    fn end_line(&self, state: &mut OutputState) {
        let line = String::from_utf8_lossy(&state.partial).into_owned();
        let len = state.partial.len() + 1;
        state.partial.clear();
        if self.which == Which::Stderr {
            if state.recent.len() == KEPT_LINES {
                state.recent.pop_front();
            }
            state.recent.push_back(line.clone());
        }
        if state.quiet {
            return;
        }
        if state.forwarded + len > OUTPUT_BUDGET {
            state.dropped += len as u64;
            return;
        }
        state.forwarded += len;
        let module = &*self.module;
        match self.which {
            Which::Stdout => tracing::info!(module, stream = "stdout", "{line}"),
            Which::Stderr => tracing::warn!(module, stream = "stderr", "{line}"),
        }
    }

    /// Before a batch: a fresh budget and no kept lines.
    pub fn start_batch(&self) {
        let mut state = self.lock();
        state.forwarded = 0;
        state.dropped = 0;
        state.recent.clear();
    }

    /// Whether to forward nothing to the logs (the last lines are still kept).
    pub fn set_quiet(&self, quiet: bool) {
        self.lock().quiet = quiet;
    }

    /// After a batch: flushes a last unterminated line and reports what was dropped.
    pub fn finish_batch(&self) {
        let mut state = self.lock();
        if !state.partial.is_empty() {
            self.end_line(&mut state);
        }
        if state.dropped > 0 {
            tracing::warn!(
                module = &*self.module,
                stream = self.name(),
                dropped_bytes = state.dropped,
                limit_bytes = OUTPUT_BUDGET,
                "Transform output over the per-batch limit dropped"
            );
            state.dropped = 0;
        }
    }

    fn name(&self) -> &'static str {
        match self.which {
            Which::Stdout => "stdout",
            Which::Stderr => "stderr",
        }
    }

    /// The last lines written (stderr only), oldest first, including an unterminated one.
    pub fn recent_lines(&self) -> Vec<String> {
        let state = self.lock();
        let mut lines: Vec<String> = state.recent.iter().cloned().collect();
        if !state.partial.is_empty() {
            lines.push(String::from_utf8_lossy(&state.partial).into_owned());
        }
        lines
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always ready, always room: what is over the budget is dropped, not refused.
        Ok(OUTPUT_BUDGET)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The panic message in the last lines of stderr, as Rust's default panic hook prints it:
/// `thread '<name>' panicked at src/lib.rs:4:5:` then the message on the next lines (until
/// a `note:` line), or older toolchains' one-line `panicked at 'message', src/lib.rs:4:5`.
pub fn panic_message(lines: &[String]) -> Option<String> {
    let start = lines.iter().rposition(|l| l.contains("panicked at "))?;
    let head = &lines[start];
    let at = &head[head.find("panicked at ")? + "panicked at ".len()..];
    if let Some(location) = at.strip_suffix(':') {
        let message: Vec<&str> = lines[start + 1..]
            .iter()
            .map(String::as_str)
            .take_while(|l| !l.starts_with("note:"))
            .collect();
        let message = message.join("\n");
        let message = message.trim();
        if message.is_empty() {
            return Some(format!("panicked (at {location})"));
        }
        return Some(format!("panicked: {message} (at {location})"));
    }
    Some(format!("panicked at {at}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn panic_message_of_the_default_hook() {
        let stderr = lines(
            "some earlier line\n\
             thread '<unnamed>' panicked at src/lib.rs:4:5:\n\
             index out of bounds: the len is 3 but the index is 7\n\
             note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
        );
        assert_eq!(
            panic_message(&stderr).as_deref(),
            Some(
                "panicked: index out of bounds: the len is 3 but the index is 7 (at src/lib.rs:4:5)"
            )
        );
    }

    #[test]
    fn panic_message_of_the_old_one_line_format() {
        let stderr = lines("thread 'main' panicked at 'boom', src/lib.rs:4:5");
        assert_eq!(
            panic_message(&stderr).as_deref(),
            Some("panicked at 'boom', src/lib.rs:4:5")
        );
    }

    #[test]
    fn no_panic_message_without_a_panic() {
        assert_eq!(panic_message(&lines("just a line\nanother")), None);
    }

    #[test]
    fn output_over_the_budget_is_dropped_but_the_last_lines_are_kept() {
        let out = GuestOutput::new("t.wasm".into(), Which::Stderr);
        out.start_batch();
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..2000 {
            out.write_bytes(line.as_bytes());
        }
        out.write_bytes(b"the last line\nunterminated");
        let state = out.lock();
        assert!(state.forwarded <= OUTPUT_BUDGET);
        assert_eq!(
            state.forwarded as u64 + state.dropped,
            2000 * 100 + "the last line\n".len() as u64
        );
        drop(state);
        let recent = out.recent_lines();
        assert_eq!(recent.len(), KEPT_LINES + 1);
        assert_eq!(recent[recent.len() - 2], "the last line");
        assert_eq!(recent[recent.len() - 1], "unterminated");
    }

    #[test]
    fn stdout_keeps_no_lines_and_long_lines_are_cut() {
        let out = GuestOutput::new("t.wasm".into(), Which::Stdout);
        out.write_bytes(&vec![b'a'; MAX_LINE * 2 + 1]);
        assert!(out.recent_lines().len() == 1, "only the unterminated part");
        assert_eq!(out.lock().forwarded, 2 * (MAX_LINE + 1));
    }
}
