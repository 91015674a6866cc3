//! JSON validation with simd-json, reusing its buffers from message to message.
//!
//! What is valid is RFC 8259 JSON, any value (PostgreSQL's `json` accepts scalars and
//! arrays as well as objects), with two limits of simd-json that PostgreSQL does not
//! have: nesting deeper than 1024 levels is refused, and so is a `\u` escape of an
//! unpaired UTF-16 surrogate (`"\ud800"`; `jsonb` refuses it too). simd-json also
//! refuses numbers that do not fit an `f64`/`u64`/`i64` (`1e400`, 30-digit integers),
//! which are valid JSON: for those we ask serde_json, which checks number syntax only.

use serde::de::IgnoredAny;
use simd_json::{Buffers, ErrorType, INPUT_PADDING, Tape};

/// Why a text is not valid JSON: what is wrong and where (`... at line 1 column 12`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// What is wrong and where.
    pub reason: String,
}

/// Validates JSON texts; holds simd-json's buffers between calls.
pub(crate) struct JsonValidator {
    buffers: Buffers,
    /// The tape, emptied between calls (`None` only while in use).
    tape: Option<Tape<'static>>,
    /// The padded copy of the input simd-json parses in place.
    input: Vec<u8>,
}

impl std::fmt::Debug for JsonValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonValidator").finish_non_exhaustive()
    }
}

impl Default for JsonValidator {
    fn default() -> Self {
        JsonValidator {
            buffers: Buffers::default(),
            tape: Some(Tape::null().reset()),
            input: Vec::new(),
        }
    }
}

impl JsonValidator {
    /// Checks that `text` is one JSON value (whitespace around it allowed).
    pub(crate) fn validate(&mut self, text: &str) -> Result<(), JsonError> {
        self.input.clear();
        self.input.extend_from_slice(text.as_bytes());
        self.input.resize(text.len() + INPUT_PADDING, 0);
        let mut tape = self.tape.take().unwrap_or_else(|| Tape::null().reset());
        let result =
            simd_json::fill_tape_padded(&mut self.input, text.len(), &mut self.buffers, &mut tape);
        let error = result.err().map(|e| (e.index(), classify(e.error())));
        self.tape = Some(tape.reset());
        let Some((at, reason)) = error else {
            return Ok(());
        };
        // Only on errors: serde_json checks number syntax without representing numbers
        // (simd-json refuses valid numbers it cannot represent), and describes syntax
        // errors with their line and column more precisely than simd-json's index.
        match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) if matches!(reason, Reason::Number) => Ok(()),
            Ok(_) => Err(JsonError {
                reason: format!("{} at byte {at}", reason.phrase()),
            }),
            Err(e) => Err(JsonError {
                reason: e.to_string(),
            }),
        }
    }
}

enum Reason {
    Number,
    Other(&'static str),
}

impl Reason {
    fn phrase(&self) -> &'static str {
        match self {
            Reason::Number => "invalid number",
            Reason::Other(phrase) => phrase,
        }
    }
}

fn classify(e: &ErrorType) -> Reason {
    Reason::Other(match e {
        ErrorType::InvalidNumber | ErrorType::InvalidExponent => return Reason::Number,
        ErrorType::Eof => "unexpected end of input",
        ErrorType::TrailingData | ErrorType::InternalError => {
            "unexpected text after the JSON value"
        }
        ErrorType::InvalidEscape | ErrorType::InvalidUnicodeEscape => "invalid escape in a string",
        ErrorType::InvalidUnicodeCodepoint => "invalid \\u escape (an unpaired surrogate)",
        ErrorType::InvalidUtf8 => "invalid UTF-8",
        ErrorType::UnterminatedString => "unterminated string",
        ErrorType::DepthLimitExceeded => "nested more than 1024 levels deep",
        ErrorType::ExpectedNull | ErrorType::ExpectedTrue | ErrorType::ExpectedFalse => {
            "invalid literal (expected null, true or false)"
        }
        ErrorType::ExpectedObjectColon => "expected ':' after an object key",
        ErrorType::ExpectedMapComma | ErrorType::ExpectedMapEnd => {
            "expected ',' or '}' in an object"
        }
        ErrorType::ExpectedArrayComma => "expected ',' or ']' in an array",
        ErrorType::ExpectedObjectKey | ErrorType::KeyMustBeAString => {
            "expected a string as object key"
        }
        _ => "syntax error",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Result<(), JsonError> {
        JsonValidator::default().validate(s)
    }

    #[test]
    fn valid_documents() {
        let mut v = JsonValidator::default();
        for s in [
            r#"{"custkey":111, "name": "eric", "acctbal":2.0}"#,
            "[1, 2, 3]",
            "42",
            "-0",
            "\"text\"",
            "true",
            "null",
            "  {}  \n",
            r#"{"a":1,"a":2}"#,
            r#""\u0000""#,
            r#""\ud83d\ude00""#,
            "1e400",
            "123456789012345678901234567890",
            r#"{"big": [1e-400, -99999999999999999999999999]}"#,
            "\"é\"",
        ] {
            assert_eq!(v.validate(s), Ok(()), "{s:?}");
        }
    }

    #[test]
    fn invalid_documents() {
        let mut v = JsonValidator::default();
        for (s, reason) in [
            ("", "EOF while parsing a value at line 1 column 0"),
            ("   ", "EOF while parsing a value at line 1 column 3"),
            ("{\"a\":1", "EOF while parsing an object at line 1 column 6"),
            ("1 2", "trailing characters at line 1 column 3"),
            ("{\"a\":1}x", "trailing characters at line 1 column 8"),
            ("01", "invalid number at line 1 column 2"),
            ("1e", "invalid number at line 1 column 2"),
            ("[1e400,", "EOF while parsing a value at line 1 column 7"),
            ("nul", "EOF while parsing a value at line 1 column 3"),
            (
                "\"a\tb\"",
                "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 2",
            ),
            (
                "\"\\ud800\"",
                "invalid \\u escape (an unpaired surrogate) at byte 0",
            ),
            ("{a:1}", "key must be a string at line 1 column 2"),
        ] {
            let err = v.validate(s).unwrap_err();
            assert_eq!(err.reason, reason, "{s:?}");
        }
        let deep = "[".repeat(1100) + &"]".repeat(1100);
        assert_eq!(
            check(&deep).unwrap_err().reason,
            "nested more than 1024 levels deep at byte 1024"
        );
    }

    /// simd-json picks its kernel at run time (its `runtime-detection` feature, which this
    /// crate turns on), so a portable x86_64 build still uses AVX2 or SSE4.2 where the CPU
    /// has them instead of the scalar fallback.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_simd_kernel_is_chosen_at_run_time() {
        use simd_json::{Deserializer, Implementation};
        let expected = if std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("pclmulqdq")
        {
            Implementation::AVX2
        } else if std::is_x86_feature_detected!("sse4.2") {
            Implementation::SSE42
        } else {
            Implementation::Native
        };
        assert_eq!(Deserializer::algorithm(), expected);
    }

    #[test]
    fn buffers_are_reused_across_sizes() {
        let mut v = JsonValidator::default();
        let big = format!("[{}1]", "1,".repeat(10_000));
        assert_eq!(v.validate(&big), Ok(()));
        assert_eq!(v.validate("{}"), Ok(()));
        assert!(v.validate("[").is_err());
        assert_eq!(v.validate(&big), Ok(()));
    }
}
