//! Logging to the host: `log::info!("{n} rows")`.
//!
//! In the wasm module a message goes to the host's `log` import, which bounds how many
//! messages and bytes a batch may log (the rest is counted and dropped) and writes them to
//! the plugin's log. Natively (`cargo test`) it is printed to stderr, and the
//! [`testing::Harness`](crate::testing::Harness) also records it.
//!
//! The macros live in this module, so they never clash with the `log` or `tracing` crates:
//!
//! ```
//! use dgkafka_transform_sdk::log;
//! log::warn!("key `{}` missing, using the default", "fields");
//! ```

use std::fmt;

/// How much a message matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        })
    }
}

/// Longest message sent; longer ones are cut at a character boundary and marked.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;

/// Sends `message` at `level`: to the host in the wasm module, to stderr natively.
pub fn emit(level: Level, message: &str) {
    let message = truncate(message);
    #[cfg(target_arch = "wasm32")]
    crate::guest::log(level, &message);
    #[cfg(not(target_arch = "wasm32"))]
    {
        eprintln!("[transform {level}] {message}");
        crate::testing::record_log(level, &message);
    }
}

fn truncate(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message.into();
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &message[..end], message.len() - end).into()
}

#[doc(hidden)]
#[macro_export]
macro_rules! __dgkafka_log {
    ($level:ident, $($arg:tt)+) => {
        $crate::log::emit($crate::log::Level::$level, &::std::format!($($arg)+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __dgkafka_log_error {
    ($($arg:tt)+) => { $crate::__dgkafka_log!(Error, $($arg)+) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __dgkafka_log_warn {
    ($($arg:tt)+) => { $crate::__dgkafka_log!(Warn, $($arg)+) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __dgkafka_log_info {
    ($($arg:tt)+) => { $crate::__dgkafka_log!(Info, $($arg)+) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __dgkafka_log_debug {
    ($($arg:tt)+) => { $crate::__dgkafka_log!(Debug, $($arg)+) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __dgkafka_log_trace {
    ($($arg:tt)+) => { $crate::__dgkafka_log!(Trace, $($arg)+) };
}

/// Logs at debug level, `format!`-style.
pub use crate::__dgkafka_log_debug as debug;
/// Logs at error level, `format!`-style.
pub use crate::__dgkafka_log_error as error;
/// Logs at info level, `format!`-style.
pub use crate::__dgkafka_log_info as info;
/// Logs at trace level, `format!`-style.
pub use crate::__dgkafka_log_trace as trace;
/// Logs at warn level, `format!`-style.
pub use crate::__dgkafka_log_warn as warn;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = truncate(&long);
        assert!(cut.len() < MAX_MESSAGE_BYTES + 40);
        assert!(cut.ends_with(&format!("({} bytes cut)", MAX_MESSAGE_BYTES)));
        assert_eq!(truncate("short"), "short");
    }
}
