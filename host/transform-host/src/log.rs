//! The `host.log` import: guest log messages routed to `tracing` with the module name,
//! bounded per batch ([`MAX_MESSAGES`] messages, [`MAX_BYTES`] bytes); the rest is counted
//! and reported once when the batch ends.

use std::sync::Arc;

use crate::bindings::Level;

/// Messages per batch forwarded to the logs.
pub const MAX_MESSAGES: usize = 100;
/// Message bytes per batch forwarded to the logs.
pub const MAX_BYTES: usize = 64 << 10;
/// The longest error message kept as a panic message candidate.
const MAX_KEPT: usize = 4 << 10;

pub struct GuestLog {
    module: Arc<str>,
    messages: usize,
    bytes: usize,
    dropped_messages: u64,
    dropped_bytes: u64,
    /// The last message at level error in this batch, whatever the bounds: the SDK's
    /// panic hook logs the panic there just before the trap.
    last_error: Option<String>,
    /// Nothing forwarded (while the host replays rows to find the one at fault).
    quiet: bool,
}

impl GuestLog {
    pub fn new(module: Arc<str>) -> GuestLog {
        GuestLog {
            module,
            messages: 0,
            bytes: 0,
            dropped_messages: 0,
            dropped_bytes: 0,
            last_error: None,
            quiet: false,
        }
    }

    pub fn log(&mut self, level: Level, message: &str) {
        if matches!(level, Level::Error) {
            let mut kept = message.to_owned();
            truncate(&mut kept, MAX_KEPT);
            self.last_error = Some(kept);
        }
        if self.quiet {
            return;
        }
        if self.messages >= MAX_MESSAGES || self.bytes + message.len() > MAX_BYTES {
            self.dropped_messages += 1;
            self.dropped_bytes += message.len() as u64;
            return;
        }
        self.messages += 1;
        self.bytes += message.len();
        let module = &*self.module;
        match level {
            Level::Error => tracing::error!(module, "{message}"),
            Level::Warn => tracing::warn!(module, "{message}"),
            Level::Info => tracing::info!(module, "{message}"),
            Level::Debug => tracing::debug!(module, "{message}"),
            Level::Trace => tracing::trace!(module, "{message}"),
        }
    }

    /// Whether to forward nothing to the logs (the last error is still kept).
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// Before a batch (or `init`): fresh bounds, no error kept.
    pub fn start_batch(&mut self) {
        self.messages = 0;
        self.bytes = 0;
        self.dropped_messages = 0;
        self.dropped_bytes = 0;
        self.last_error = None;
    }

    /// After a batch: reports what was dropped, once.
    pub fn finish_batch(&mut self) {
        if self.dropped_messages > 0 {
            tracing::warn!(
                module = &*self.module,
                dropped_messages = self.dropped_messages,
                dropped_bytes = self.dropped_bytes,
                max_messages = MAX_MESSAGES,
                max_bytes = MAX_BYTES,
                "Transform log messages over the per-batch limit dropped"
            );
            self.dropped_messages = 0;
            self.dropped_bytes = 0;
        }
    }

    /// Messages forwarded and dropped in this batch so far.
    #[cfg(test)]
    pub fn counts(&self) -> (usize, u64) {
        (self.messages, self.dropped_messages)
    }

    /// The panic message the SDK's hook logged in this batch (`transform panicked at
    /// file:line:col: message`), as `panicked: message (at file:line:col)`.
    pub fn panic_message(&self) -> Option<String> {
        let last = self.last_error.as_deref()?;
        let (_, rest) = last.split_once("panicked")?;
        if let Some(rest) = rest.strip_prefix(": ") {
            return Some(format!("panicked: {rest}"));
        }
        if let Some(rest) = rest.strip_prefix(" at ")
            && let Some((location, message)) = rest.split_once(": ")
        {
            return Some(format!("panicked: {message} (at {location})"));
        }
        Some(format!("panicked ({last})"))
    }

    /// The last message at level error in this batch.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
}

/// Cuts `s` to at most `max` bytes, on a character boundary.
pub fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_over_the_bounds_are_counted_not_forwarded() {
        let mut log = GuestLog::new("t.wasm".into());
        log.start_batch();
        for i in 0..10_000 {
            log.log(Level::Info, &format!("message {i}"));
        }
        assert_eq!(log.counts(), (MAX_MESSAGES, 10_000 - MAX_MESSAGES as u64));
        log.finish_batch();
        log.start_batch();
        log.log(Level::Info, &"x".repeat(MAX_BYTES + 1));
        assert_eq!(log.counts(), (0, 1), "one message over the byte bound");
    }

    #[test]
    fn the_sdk_panic_hook_message_becomes_the_panic_message() {
        let mut log = GuestLog::new("t.wasm".into());
        log.log(Level::Error, "an earlier error");
        log.log(
            Level::Error,
            "transform panicked at src/lib.rs:10:5: index out of bounds",
        );
        assert_eq!(
            log.panic_message().as_deref(),
            Some("panicked: index out of bounds (at src/lib.rs:10:5)")
        );
        log.log(Level::Error, "transform panicked: no location");
        assert_eq!(
            log.panic_message().as_deref(),
            Some("panicked: no location")
        );
        log.log(Level::Error, "not a panic");
        assert_eq!(log.panic_message(), None);
        assert_eq!(log.last_error(), Some("not a panic"));
        log.start_batch();
        assert_eq!(log.last_error(), None);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        let mut s = "ééé".to_owned();
        truncate(&mut s, 3);
        assert_eq!(s, "é");
    }
}
