//! The one error type of the SDK: a message for the host.

use std::fmt;

/// An error of a transform: in `init` it rejects the configuration (the load stops with
/// this message); in `transform` it is a row error (the batch fails naming partition,
/// offset and this message, or the row goes to the error table, as the load is configured).
///
/// Built from a `String` or `&str`, or with `?` from the common parse errors and
/// `serde_json::Error`. [`ResultExt::context`] prefixes where the error happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// This error with `context: ` in front of its message.
    #[must_use]
    pub fn context(self, context: impl fmt::Display) -> Error {
        Error::new(format!("{context}: {}", self.message))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::new(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::new(message)
    }
}

impl From<Error> for String {
    fn from(e: Error) -> String {
        e.message
    }
}

macro_rules! from_display {
    ($($t:ty),* $(,)?) => {
        $(impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error::new(e.to_string())
            }
        })*
    };
}

from_display!(
    serde_json::Error,
    std::num::ParseIntError,
    std::num::ParseFloatError,
    std::num::TryFromIntError,
    std::str::ParseBoolError,
    std::str::Utf8Error,
    std::string::FromUtf8Error,
    std::fmt::Error,
);

/// Adds context to any error convertible into [`Error`]:
/// `row.require("c_phone").context("mask-pii")?`.
pub trait ResultExt<T> {
    fn context(self, context: impl fmt::Display) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_convert_and_take_context() {
        let e: Error = "bad".into();
        assert_eq!(e.to_string(), "bad");
        let r: Result<i64> = "x".parse::<i64>().context("key `n`");
        assert_eq!(
            r.unwrap_err().to_string(),
            "key `n`: invalid digit found in string"
        );
        let s: String = Error::new("m").into();
        assert_eq!(s, "m");
    }
}
