//! Text to typed values and back, as PostgreSQL's input and output functions do, for the
//! types that travel as text in a message (CSV fields): integers, floats, bool, numeric,
//! bytea, and the length rules of `varchar(n)`/`char(n)`. Dates and times are in
//! [`crate::datetime`], JSON in [`crate::json`].
//!
//! Accepted on input (surrounding whitespace ignored for every type but text):
//! - **int2/int4/int8**: an optional sign and decimal digits; PostgreSQL 16's forms too:
//!   `0x`/`0o`/`0b` prefixes and `_` between digits (`1_000`). Range-checked per width.
//! - **float4/float8**: decimal with optional exponent (`1.5e-3`, `.5`, `5.`), `NaN`,
//!   `Infinity`/`inf` with optional sign, any case. A value that overflows, or a non-zero
//!   value that underflows to zero, is out of range (as PostgreSQL). Hexadecimal floats,
//!   which PostgreSQL's `strtod` accepts, are refused.
//! - **bool**: PostgreSQL's spellings, any case: `t`/`true`, `f`/`false`, `y`/`yes`,
//!   `n`/`no`, `on`, `off`, `1`, `0`, and unique prefixes (`tr`, `fa`, `ye`, `of`).
//! - **numeric**: `[+-]digits[.digits][e[+-]digits]` (or `.digits`), `NaN` (no sign),
//!   `Infinity`/`inf` with optional sign. Kept as text (trimmed; specials spelled
//!   `NaN`, `Infinity`, `-Infinity`). Only the syntax is checked: precision and scale of
//!   `numeric(p,s)` are applied by the database. PostgreSQL 16's `0x` and `_` forms are
//!   refused for numeric.
//! - **bytea**: PostgreSQL's hex format `\x0a1B` (whitespace allowed between byte pairs)
//!   or its escape format (bytes as is, `\\` for a backslash, `\ooo` octal).
//! - **varchar(n)/char(n)**: at most `n` characters; characters past `n` that are all
//!   spaces are cut off, as PostgreSQL does. `char(n)` values are not padded (the
//!   database pads them).

use std::io::Write;

use xdrive_proto::page::Value;

use crate::datetime;

/// Why a text is not a value of its column's type. Turned into a row error's reason by
/// the decoder, which adds the column, type and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueError {
    /// Not the type's syntax; the detail says what was expected, when useful.
    Syntax(Option<&'static str>),
    /// The right syntax, out of the type's range.
    Range,
    /// Longer than `varchar(n)`/`char(n)`.
    TooLong { chars: usize },
    /// Not valid JSON.
    Json(crate::json::JsonError),
    /// Invalid UTF-8 (in a message key read as text), at this byte.
    Utf8 { at: usize },
    /// A NUL byte (in a message key read as text), at this byte.
    Nul { at: usize },
}

/// Parses a signed integer within `min..=max`.
pub(crate) fn parse_int(s: &str, min: i64, max: i64) -> Result<i64, ValueError> {
    let b = s.trim_ascii().as_bytes();
    let (neg, b) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let (radix, digits, underscore_first) = match b {
        [b'0', b'x' | b'X', rest @ ..] => (16, rest, true),
        [b'0', b'o' | b'O', rest @ ..] => (8, rest, true),
        [b'0', b'b' | b'B', rest @ ..] => (2, rest, true),
        _ => (10, b, false),
    };
    let mut magnitude: u64 = 0;
    let mut any = false;
    let mut prev_digit = underscore_first;
    let mut overflow = false;
    for (i, &c) in digits.iter().enumerate() {
        if c == b'_' {
            // Only between digits (or right after a base prefix), never last.
            let next_is_digit = digits
                .get(i + 1)
                .is_some_and(|&d| char::from(d).is_digit(radix));
            if !prev_digit || !next_is_digit {
                return Err(ValueError::Syntax(None));
            }
            prev_digit = false;
            continue;
        }
        let d = char::from(c)
            .to_digit(radix)
            .ok_or(ValueError::Syntax(None))?;
        any = true;
        prev_digit = true;
        match magnitude
            .checked_mul(u64::from(radix))
            .and_then(|m| m.checked_add(u64::from(d)))
        {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
    }
    if !any {
        return Err(ValueError::Syntax(None));
    }
    if overflow {
        return Err(ValueError::Range);
    }
    let v = if neg {
        -i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    if v < i128::from(min) || v > i128::from(max) {
        return Err(ValueError::Range);
    }
    Ok(v as i64)
}

/// Whether `s` (trimmed) spells an infinity PostgreSQL's float input accepts.
fn is_infinity_word(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    s.eq_ignore_ascii_case("inf") || s.eq_ignore_ascii_case("infinity")
}

/// Whether the mantissa (before any exponent) of a decimal has a non-zero digit.
fn has_nonzero_mantissa(s: &str) -> bool {
    s.bytes()
        .take_while(|&b| b != b'e' && b != b'E')
        .any(|b| matches!(b, b'1'..=b'9'))
}

/// Parses a float8.
pub(crate) fn parse_f64(s: &str) -> Result<f64, ValueError> {
    let s = s.trim_ascii();
    let v: f64 = s.parse().map_err(|_| ValueError::Syntax(None))?;
    check_float(s, v.is_infinite(), v == 0.0)?;
    Ok(v)
}

/// Parses a float4.
pub(crate) fn parse_f32(s: &str) -> Result<f32, ValueError> {
    let s = s.trim_ascii();
    let v: f32 = s.parse().map_err(|_| ValueError::Syntax(None))?;
    check_float(s, v.is_infinite(), v == 0.0)?;
    Ok(v)
}

fn check_float(s: &str, infinite: bool, zero: bool) -> Result<(), ValueError> {
    if infinite && !is_infinity_word(s) {
        return Err(ValueError::Range);
    }
    if zero && has_nonzero_mantissa(s) {
        return Err(ValueError::Range);
    }
    Ok(())
}

/// Parses a bool.
pub(crate) fn parse_bool(s: &str) -> Result<bool, ValueError> {
    let s = s.trim_ascii();
    let prefix_of = |word: &str, min: usize| {
        s.len() >= min && s.len() <= word.len() && word[..s.len()].eq_ignore_ascii_case(s)
    };
    if prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || s == "1" {
        Ok(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || s == "0" {
        Ok(false)
    } else {
        Err(ValueError::Syntax(None))
    }
}

/// Checks numeric syntax; returns the text to keep.
pub(crate) fn parse_numeric(s: &str) -> Result<&str, ValueError> {
    let t = s.trim_ascii();
    if t.eq_ignore_ascii_case("nan") {
        return Ok("NaN");
    }
    if is_infinity_word(t) {
        return Ok(if t.starts_with('-') {
            "-Infinity"
        } else {
            "Infinity"
        });
    }
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return Err(ValueError::Syntax(None));
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return Err(ValueError::Syntax(None));
        }
    }
    if i != b.len() {
        return Err(ValueError::Syntax(None));
    }
    Ok(t)
}

/// Decodes a bytea input into `out` (cleared first).
pub(crate) fn parse_bytea(s: &str, out: &mut Vec<u8>) -> Result<(), ValueError> {
    out.clear();
    let b = s.as_bytes();
    if let Some(hex) = b.strip_prefix(b"\\x") {
        let mut i = 0;
        while i < hex.len() {
            if matches!(hex[i], b' ' | b'\t' | b'\n' | b'\r') {
                i += 1;
                continue;
            }
            let hi =
                hex_digit(hex[i]).ok_or(ValueError::Syntax(Some("invalid hexadecimal digit")))?;
            let lo = hex
                .get(i + 1)
                .ok_or(ValueError::Syntax(Some("odd number of hexadecimal digits")))
                .and_then(|&c| {
                    hex_digit(c).ok_or(ValueError::Syntax(Some("invalid hexadecimal digit")))
                })?;
            out.push(hi << 4 | lo);
            i += 2;
        }
        return Ok(());
    }
    let mut i = 0;
    while i < b.len() {
        match memchr::memchr(b'\\', &b[i..]) {
            None => {
                out.extend_from_slice(&b[i..]);
                break;
            }
            Some(k) => {
                out.extend_from_slice(&b[i..i + k]);
                i += k;
            }
        }
        match b.get(i + 1..i + 4) {
            _ if b.get(i + 1) == Some(&b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(&[d1 @ b'0'..=b'3', d2 @ b'0'..=b'7', d3 @ b'0'..=b'7']) => {
                out.push((d1 - b'0') << 6 | (d2 - b'0') << 3 | (d3 - b'0'));
                i += 4;
            }
            _ => {
                return Err(ValueError::Syntax(Some(
                    "a backslash must start \\x hex, \\\\ or an octal \\ooo",
                )));
            }
        }
    }
    Ok(())
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Applies a `varchar(n)`/`char(n)` limit: the value, or its first `max` characters when
/// the rest are spaces.
pub(crate) fn fit_length(s: &str, max: Option<u32>) -> Result<&str, ValueError> {
    let Some(max) = max.map(|m| m as usize) else {
        return Ok(s);
    };
    // A string of at most `max` bytes has at most `max` characters.
    if s.len() <= max {
        return Ok(s);
    }
    match s.char_indices().nth(max) {
        None => Ok(s),
        Some((cut, _)) if s.as_bytes()[cut..].iter().all(|&b| b == b' ') => Ok(&s[..cut]),
        Some(_) => Err(ValueError::TooLong {
            chars: s.chars().count(),
        }),
    }
}

/// Writes a float as PostgreSQL 12+ prints it (`extra_float_digits = 1`): the shortest
/// text that reads back exactly, in exponent form (`1e+20`, `1.5e-05`) when the decimal
/// exponent is below -4 or at least `fixed_below` (15 for float8, 6 for float4).
fn write_float(
    out: &mut Vec<u8>,
    nan: bool,
    inf: Option<bool>,
    sci: std::fmt::Arguments<'_>,
    fixed_below: i32,
) {
    if nan {
        out.extend_from_slice(b"NaN");
        return;
    }
    if let Some(neg) = inf {
        out.extend_from_slice(if neg { b"-Infinity" } else { b"Infinity" });
        return;
    }
    // `{:e}` gives the shortest round-trip digits: `-1.2345e-7`.
    let mut buf = [0u8; 40];
    let len = {
        let mut cursor = &mut buf[..];
        let room = cursor.len();
        // 40 bytes hold any f64 in `{:e}` form.
        let _ = cursor.write_fmt(sci);
        room - cursor.len()
    };
    let text = &buf[..len];
    let (neg, text) = match text.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let e = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let exp: i32 = std::str::from_utf8(&text[e + 1..])
        .ok()
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let mantissa = &text[..e];
    let (first, rest) = (mantissa[0], mantissa.get(2..).unwrap_or(&[]));
    if neg {
        out.push(b'-');
    }
    if exp < -4 || exp >= fixed_below {
        out.push(first);
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
        out.push(first);
        out.extend_from_slice(rest);
    } else {
        let int_digits = exp as usize + 1;
        // At most 17 significant digits; no allocation.
        let mut all = [0u8; 24];
        all[0] = first;
        all[1..=rest.len()].copy_from_slice(rest);
        let digits = &all[..=rest.len()];
        if digits.len() <= int_digits {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', int_digits - digits.len()));
        } else {
            out.extend_from_slice(&digits[..int_digits]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_digits..]);
        }
    }
}

/// Writes a float8 as PostgreSQL prints it.
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    let inf = v.is_infinite().then_some(v < 0.0);
    write_float(out, v.is_nan(), inf, format_args!("{v:e}"), 15);
}

/// Writes a float4 as PostgreSQL prints it.
pub(crate) fn write_f32(out: &mut Vec<u8>, v: f32) {
    let inf = v.is_infinite().then_some(v < 0.0);
    write_float(out, v.is_nan(), inf, format_args!("{v:e}"), 6);
}

/// Writes bytes in PostgreSQL's hex format, `\x` and two lower-case digits per byte.
pub(crate) fn write_bytea_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 + 2 * bytes.len());
    out.extend_from_slice(b"\\x");
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// Writes any value as PostgreSQL's output function prints it (`DateStyle = ISO`,
/// `TimeZone = UTC`, `bytea_output = hex`).
pub(crate) fn write_value(out: &mut Vec<u8>, value: Value<'_>) {
    // Writing to a Vec cannot fail.
    match value {
        Value::Bool(b) => out.push(if b { b't' } else { b'f' }),
        Value::Int16(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Int32(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Int64(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Float(x) => write_f32(out, x),
        Value::Double(x) => write_f64(out, x),
        Value::Bytea(b) => write_bytea_hex(out, b),
        Value::Text(s) | Value::Json(s) | Value::Numeric(s) => out.extend_from_slice(s.as_bytes()),
        Value::Date(d) => datetime::write_date(out, d),
        Value::Time(t) => datetime::write_time(out, t),
        Value::Timestamp(t) => datetime::write_timestamp(out, t, false),
        Value::Timestamptz(t) => datetime::write_timestamp(out, t, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I16: (i64, i64) = (i16::MIN as i64, i16::MAX as i64);
    const I32: (i64, i64) = (i32::MIN as i64, i32::MAX as i64);
    const I64: (i64, i64) = (i64::MIN, i64::MAX);

    fn int(s: &str, (min, max): (i64, i64)) -> Result<i64, ValueError> {
        parse_int(s, min, max)
    }

    #[test]
    fn integer_limits() {
        assert_eq!(int("32767", I16), Ok(32767));
        assert_eq!(int("-32768", I16), Ok(-32768));
        assert_eq!(int("32768", I16), Err(ValueError::Range));
        assert_eq!(int("-32769", I16), Err(ValueError::Range));
        assert_eq!(int("2147483647", I32), Ok(2147483647));
        assert_eq!(int("-2147483648", I32), Ok(-2147483648));
        assert_eq!(int("2147483648", I32), Err(ValueError::Range));
        assert_eq!(int("9223372036854775807", I64), Ok(i64::MAX));
        assert_eq!(int("-9223372036854775808", I64), Ok(i64::MIN));
        assert_eq!(int("9223372036854775808", I64), Err(ValueError::Range));
        assert_eq!(int("-9223372036854775809", I64), Err(ValueError::Range));
        assert_eq!(int("99999999999999999999999", I64), Err(ValueError::Range));
    }

    #[test]
    fn integer_syntax() {
        assert_eq!(int(" 42 ", I32), Ok(42));
        assert_eq!(int("+7", I32), Ok(7));
        assert_eq!(int("-0", I32), Ok(0));
        assert_eq!(int("007", I32), Ok(7));
        assert_eq!(int("1_000_000", I32), Ok(1_000_000));
        assert_eq!(int("0x7FFFFFFF", I32), Ok(i32::MAX.into()));
        assert_eq!(int("-0x80000000", I32), Ok(i32::MIN.into()));
        assert_eq!(int("0x_ff", I32), Ok(255));
        assert_eq!(int("0o17", I32), Ok(15));
        assert_eq!(int("0B101", I32), Ok(5));
        for bad in [
            "", " ", "-", "+", "1.0", "1e3", "12x", "x12", "1 2", "_1", "1_", "1__0", "0x", "0b2",
            "--1", "١", "0x_",
        ] {
            assert!(
                matches!(int(bad, I32), Err(ValueError::Syntax(_))),
                "{bad:?}: {:?}",
                int(bad, I32)
            );
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64("1.5"), Ok(1.5));
        assert_eq!(parse_f64(" -2.5e3 "), Ok(-2500.0));
        assert_eq!(parse_f64("1E-3"), Ok(0.001));
        assert_eq!(parse_f64(".5"), Ok(0.5));
        assert_eq!(parse_f64("5."), Ok(5.0));
        assert!(parse_f64("-0").unwrap().is_sign_negative());
        assert!(parse_f64("NaN").unwrap().is_nan());
        assert!(parse_f64("nan").unwrap().is_nan());
        assert_eq!(parse_f64("Infinity"), Ok(f64::INFINITY));
        assert_eq!(parse_f64("-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_f64("+INF"), Ok(f64::INFINITY));
        assert_eq!(parse_f64("1.7976931348623157e308"), Ok(f64::MAX));
        assert_eq!(parse_f64("1e400"), Err(ValueError::Range));
        assert_eq!(parse_f64("-1e400"), Err(ValueError::Range));
        assert_eq!(parse_f64("1e-400"), Err(ValueError::Range));
        assert_eq!(parse_f64("0e-400"), Ok(0.0));
        assert_eq!(parse_f64("4.9e-324"), Ok(4.9e-324));
        assert_eq!(parse_f32("3.4028235e38"), Ok(f32::MAX));
        assert_eq!(parse_f32("3.5e38"), Err(ValueError::Range));
        assert_eq!(parse_f32("1e-50"), Err(ValueError::Range));
        for bad in ["", "e5", "1e", "0x10", "1,5", "one", "1.2.3"] {
            assert!(parse_f64(bad).is_err(), "{bad:?}");
        }
    }

    fn f64_text(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    fn f32_text(v: f32) -> String {
        let mut out = Vec::new();
        write_f32(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_print_as_postgresql() {
        for (v, text) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (711.56, "711.56"),
            (0.1, "0.1"),
            (1e-4, "0.0001"),
            (1.5e-5, "1.5e-05"),
            (123456789012345.0, "123456789012345"),
            (1e15, "1e+15"),
            (1.2345e20, "1.2345e+20"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (-12.5, "-12.5"),
        ] {
            assert_eq!(f64_text(v), text);
            let back = parse_f64(text).unwrap();
            assert!(back.to_bits() == v.to_bits() || v.is_nan(), "{text}");
        }
        assert_eq!(f32_text(1e6), "1e+06");
        assert_eq!(f32_text(123456.7), "123456.7");
        assert_eq!(f32_text(0.1), "0.1");
        assert_eq!(f32_text(f32::MAX), "3.4028235e+38");
    }

    #[test]
    fn bools() {
        for t in ["t", "TRUE", "tr", "y", "yes", "on", "1", " true "] {
            assert_eq!(parse_bool(t), Ok(true), "{t:?}");
        }
        for f in ["f", "False", "fal", "n", "no", "off", "of", "0"] {
            assert_eq!(parse_bool(f), Ok(false), "{f:?}");
        }
        for bad in ["", "o", "tru e", "truex", "2", "yess", "offf", "-1"] {
            assert!(parse_bool(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn numerics() {
        for (s, kept) in [
            ("12.50", "12.50"),
            (" -1 ", "-1"),
            ("+.5", "+.5"),
            ("5.", "5."),
            ("1e10", "1e10"),
            ("1.5E-3", "1.5E-3"),
            ("nan", "NaN"),
            ("Infinity", "Infinity"),
            ("-inf", "-Infinity"),
            ("+infinity", "Infinity"),
        ] {
            assert_eq!(parse_numeric(s), Ok(kept), "{s:?}");
        }
        for bad in [
            "", ".", "-", "1e", "e1", "1.2.3", "1,5", "0x10", "1_000", "-NaN", "12a",
        ] {
            assert!(parse_numeric(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bytea_formats() {
        let mut out = Vec::new();
        parse_bytea("\\x0aFF10", &mut out).unwrap();
        assert_eq!(out, [0x0a, 0xff, 0x10]);
        parse_bytea("\\x 0a ff\n", &mut out).unwrap();
        assert_eq!(out, [0x0a, 0xff]);
        parse_bytea("\\x", &mut out).unwrap();
        assert!(out.is_empty());
        assert!(parse_bytea("\\x0", &mut out).is_err());
        assert!(parse_bytea("\\x0g", &mut out).is_err());
        assert!(parse_bytea("\\x0 a", &mut out).is_err());
        parse_bytea("ab\\\\c\\001\\377", &mut out).unwrap();
        assert_eq!(out, b"ab\\c\x01\xff");
        assert!(parse_bytea("a\\b", &mut out).is_err());
        assert!(parse_bytea("a\\400", &mut out).is_err());
        assert!(parse_bytea("a\\", &mut out).is_err());
        let mut text = Vec::new();
        write_bytea_hex(&mut text, &[0, 0xab, 0x7f]);
        assert_eq!(text, b"\\x00ab7f");
    }

    #[test]
    fn lengths() {
        assert_eq!(fit_length("abc", Some(3)), Ok("abc"));
        assert_eq!(fit_length("abc  ", Some(3)), Ok("abc"));
        assert_eq!(
            fit_length("abcd", Some(3)),
            Err(ValueError::TooLong { chars: 4 })
        );
        assert_eq!(
            fit_length("ab c", Some(3)),
            Err(ValueError::TooLong { chars: 4 })
        );
        // Characters, not bytes.
        assert_eq!(fit_length("ééé", Some(3)), Ok("ééé"));
        assert_eq!(
            fit_length("éééé", Some(3)),
            Err(ValueError::TooLong { chars: 4 })
        );
        assert_eq!(fit_length("anything", None), Ok("anything"));
    }
}
