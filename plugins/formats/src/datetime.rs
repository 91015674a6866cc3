//! PostgreSQL dates and times as text, both ways: the ISO forms PostgreSQL prints (and the
//! common ones it accepts) to and from our epochs (days and microseconds since 2000-01-01,
//! see [`xdrive_proto::spq`]).
//!
//! Accepted on input (surrounding whitespace ignored, letters in any case):
//! - **date**: `Y-M-D` with a year of 3 or more digits (taken literally; 1- and 2-digit
//!   years are refused because PostgreSQL reads them by `DateStyle`), a month and day of
//!   1 or 2 digits, then optionally ` BC` or ` AD`; `infinity`, `+infinity`, `-infinity`;
//!   `epoch` (1970-01-01). Year 0 does not exist (PostgreSQL refuses it too). The range is
//!   PostgreSQL's: 4714-11-24 BC to 5874897-12-31.
//! - **time**: `H:MM`, `H:MM:SS` or `H:MM:SS.fraction`; hours 0–24 (24 only as
//!   `24:00:00`), seconds 0–60 (60 rolls over, as in PostgreSQL); the fraction is rounded
//!   to microseconds (half up). A time-zone offset after it is accepted and ignored, as
//!   PostgreSQL does for `time`.
//! - **timestamp / timestamptz**: a date, then `T` or whitespace and a time (or no time:
//!   midnight), then an optional zone — `Z`, `UTC`, `GMT`, or an offset `+HH`, `+HHMM`,
//!   `+HH:MM`, `+HH:MM:SS` (and `-`), up to 15:59:59, optionally after a space — then
//!   optionally ` BC`/` AD`. `timestamp` ignores a zone (as PostgreSQL does);
//!   `timestamptz` converts to UTC and reads a value without a zone as UTC (as a session
//!   with `TimeZone = 'UTC'`). Range: 4714-11-24 00:00 BC to before 294277-01-01 00:00.
//!   `infinity`/`-infinity` and `epoch` as for dates.
//!
//! Refused (PostgreSQL accepts them, but they depend on the session or the clock, or are
//! rare): `now`, `today`, `tomorrow`, `yesterday`, `allballs`, Julian days (`J2451545`),
//! month names, `M/D/Y` orders, compact `YYYYMMDD`, zone names other than UTC/GMT.
//!
//! Printed as PostgreSQL prints with `DateStyle = ISO` and `TimeZone = UTC`: years with at
//! least 4 digits, ` BC` for years before 1, fractions without trailing zeros, `+00` for
//! timestamptz, `infinity`/`-infinity`.

use std::io::Write;

use xdrive_proto::spq::{MICROS_PER_DAY, UNIX_TO_PG_EPOCH_DAYS};

/// `date '-infinity'` and `date 'infinity'`.
pub const DATE_NEG_INFINITY: i32 = i32::MIN;
/// `date 'infinity'`.
pub const DATE_INFINITY: i32 = i32::MAX;
/// `timestamp '-infinity'`.
pub const TIMESTAMP_NEG_INFINITY: i64 = i64::MIN;
/// `timestamp 'infinity'`.
pub const TIMESTAMP_INFINITY: i64 = i64::MAX;

/// The first valid date, 4714-11-24 BC (Julian day 0), in days since 2000-01-01.
pub const DATE_MIN: i32 = -2_451_545;
/// One past the last valid date (5874898-01-01), in days since 2000-01-01.
pub const DATE_END: i32 = 2_147_483_494 - 2_451_545;
/// The first valid timestamp, 4714-11-24 00:00 BC, in microseconds since 2000-01-01.
pub const TIMESTAMP_MIN: i64 = -211_813_488_000_000_000;
/// One past the last valid timestamp (294277-01-01 00:00).
pub const TIMESTAMP_END: i64 = 9_223_371_331_200_000_000;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
/// Time-zone offsets PostgreSQL accepts: below 16 hours.
const MAX_OFFSET_SECONDS: i64 = 15 * 3600 + 59 * 60 + 59;

/// Why a date or time did not parse: a short phrase for the row error.
pub type Detail = &'static str;

/// Days since 1970-01-01 of a proleptic Gregorian date, with an astronomical year
/// (1 BC = 0). Howard Hinnant's `days_from_civil`.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of `days` since 1970-01-01: (astronomical year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over ASCII input.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a [u8]) -> Self {
        Cursor { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn done(&self) -> bool {
        self.pos == self.s.len()
    }

    /// Digits, as (value, count); the value saturates, which callers reject as out of range.
    fn digits(&mut self) -> (i64, usize) {
        let start = self.pos;
        let mut v: i64 = 0;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
            self.pos += 1;
        }
        (v, self.pos - start)
    }

    fn rest_eq_ignore_case(&self, word: &str) -> bool {
        self.s[self.pos..].eq_ignore_ascii_case(word.as_bytes())
    }
}

/// A special value, or `None` when the text is not one.
enum Special {
    NegInfinity,
    Infinity,
    /// 1970-01-01 00:00 UTC.
    Epoch,
}

fn special(s: &[u8]) -> Option<Special> {
    if s.eq_ignore_ascii_case(b"infinity") || s.eq_ignore_ascii_case(b"+infinity") {
        Some(Special::Infinity)
    } else if s.eq_ignore_ascii_case(b"-infinity") {
        Some(Special::NegInfinity)
    } else if s.eq_ignore_ascii_case(b"epoch") {
        Some(Special::Epoch)
    } else {
        None
    }
}

/// `Y-M-D`: an astronomical-free (era not applied yet) year, month, day; validated later.
fn date_fields(c: &mut Cursor<'_>) -> Result<(i64, u32, u32), Detail> {
    let (year, n) = c.digits();
    if n == 0 || !c.eat(b'-') {
        return Err("expected YYYY-MM-DD");
    }
    if n < 3 {
        return Err("the year needs at least 3 digits (write 0099, not 99)");
    }
    let (month, n) = c.digits();
    if !(1..=2).contains(&n) || !c.eat(b'-') {
        return Err("expected YYYY-MM-DD");
    }
    let (day, n) = c.digits();
    if !(1..=2).contains(&n) {
        return Err("expected YYYY-MM-DD");
    }
    Ok((year, month as u32, day as u32))
}

/// Checks a date and applies the era; returns days since 2000-01-01 (unchecked range).
fn date_days(year: i64, month: u32, day: u32, bc: bool) -> Result<i64, Detail> {
    if year == 0 {
        return Err("year 0 does not exist (1 BC is followed by 1 AD)");
    }
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    // A saturated year is far outside every range; keep the arithmetic from overflowing.
    if year > 10_000_000 {
        return Err("out of range");
    }
    let year = if bc { 1 - year } else { year };
    if day == 0 || day > days_in_month(year, month) {
        return Err("day out of range for the month");
    }
    Ok(days_from_civil(year, month, day) - i64::from(UNIX_TO_PG_EPOCH_DAYS))
}

/// ` BC` / ` AD` at the end, after optional whitespace; returns whether BC.
fn era_suffix(c: &mut Cursor<'_>) -> Result<bool, Detail> {
    c.skip_ws();
    if c.done() {
        return Ok(false);
    }
    if c.rest_eq_ignore_case("bc") {
        c.pos = c.s.len();
        return Ok(true);
    }
    if c.rest_eq_ignore_case("ad") {
        c.pos = c.s.len();
        return Ok(false);
    }
    Err("unexpected text after the value")
}

/// Parses a `date`.
pub fn parse_date(s: &str) -> Result<i32, Detail> {
    let s = s.trim_ascii().as_bytes();
    match special(s) {
        Some(Special::Infinity) => return Ok(DATE_INFINITY),
        Some(Special::NegInfinity) => return Ok(DATE_NEG_INFINITY),
        Some(Special::Epoch) => return Ok(-UNIX_TO_PG_EPOCH_DAYS),
        None => {}
    }
    let mut c = Cursor::new(s);
    let (y, m, d) = date_fields(&mut c)?;
    let bc = era_suffix(&mut c)?;
    let days = date_days(y, m, d, bc)?;
    if !(i64::from(DATE_MIN)..i64::from(DATE_END)).contains(&days) {
        return Err("out of range (4714-11-24 BC to 5874897-12-31)");
    }
    Ok(days as i32)
}

/// `H:MM[:SS[.frac]]` as microseconds since midnight, `0..=MICROS_PER_DAY`.
fn time_of_day(c: &mut Cursor<'_>) -> Result<i64, Detail> {
    const SYNTAX: Detail = "expected HH:MM:SS";
    let (h, n) = c.digits();
    if !(1..=2).contains(&n) || !c.eat(b':') {
        return Err(SYNTAX);
    }
    let (m, n) = c.digits();
    if n != 2 {
        return Err(SYNTAX);
    }
    let (mut sec, mut frac) = (0, 0);
    if c.eat(b':') {
        let (v, n) = c.digits();
        if n != 2 {
            return Err(SYNTAX);
        }
        sec = v;
        if c.eat(b'.') {
            frac = fraction(c)?;
        }
    }
    if h > 24 || m > 59 || sec > 60 {
        return Err("hour, minute or second out of range");
    }
    let micros = h * MICROS_PER_HOUR + m * MICROS_PER_MINUTE + sec * MICROS_PER_SECOND + frac;
    if h == 24 && micros > MICROS_PER_DAY {
        return Err("hour 24 is only allowed as 24:00:00");
    }
    Ok(micros)
}

/// The digits after the point, rounded half up to microseconds (1_000_000 when they round
/// up to a whole second).
fn fraction(c: &mut Cursor<'_>) -> Result<i64, Detail> {
    let start = c.pos;
    let mut micros = 0;
    let mut n = 0;
    let mut round_up = false;
    while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
        if n < 6 {
            micros = micros * 10 + i64::from(b - b'0');
        } else if n == 6 {
            round_up = b >= b'5';
        }
        n += 1;
        c.pos += 1;
    }
    if c.pos == start {
        return Err("expected digits after the decimal point");
    }
    for _ in n..6 {
        micros *= 10;
    }
    Ok(micros + i64::from(round_up))
}

/// An optional zone after a time: its offset east of UTC in seconds.
fn zone(c: &mut Cursor<'_>) -> Result<Option<i64>, Detail> {
    let before = c.pos;
    c.skip_ws();
    match c.peek() {
        Some(b'z' | b'Z') => {
            c.pos += 1;
            Ok(Some(0))
        }
        Some(b'+' | b'-') => {
            let east = c.peek() == Some(b'+');
            c.pos += 1;
            let (hh, n) = c.digits();
            let (h, mut m) = match n {
                1 | 2 => (hh, 0),
                4 => (hh / 100, hh % 100),
                _ => return Err("expected a zone offset like +05, +0530 or +05:30"),
            };
            let mut s = 0;
            if n <= 2 && c.eat(b':') {
                let (v, n) = c.digits();
                if n != 2 {
                    return Err("expected a zone offset like +05, +0530 or +05:30");
                }
                m = v;
                if c.eat(b':') {
                    let (v, n) = c.digits();
                    if n != 2 {
                        return Err("expected a zone offset like +05:30:00");
                    }
                    s = v;
                }
            }
            if m > 59 || s > 59 {
                return Err("zone offset minutes or seconds out of range");
            }
            let secs = h * 3600 + m * 60 + s;
            if secs > MAX_OFFSET_SECONDS {
                return Err("zone offset out of range (at most 15:59:59)");
            }
            Ok(Some(if east { secs } else { -secs }))
        }
        Some(b'u' | b'U' | b'g' | b'G') => {
            let rest = &c.s[c.pos..];
            let word = rest.get(..3).unwrap_or(rest);
            if word.eq_ignore_ascii_case(b"utc") || word.eq_ignore_ascii_case(b"gmt") {
                c.pos += 3;
                Ok(Some(0))
            } else {
                Err("unknown time zone (only Z, UTC, GMT and numeric offsets are accepted)")
            }
        }
        _ => {
            c.pos = before;
            Ok(None)
        }
    }
}

/// Parses a `time` (a zone is accepted and ignored).
pub fn parse_time(s: &str) -> Result<i64, Detail> {
    let mut c = Cursor::new(s.trim_ascii().as_bytes());
    let micros = time_of_day(&mut c)?;
    zone(&mut c)?;
    c.skip_ws();
    if !c.done() {
        return Err("unexpected text after the time");
    }
    if micros > MICROS_PER_DAY {
        // 23:59:60.5 and the like.
        return Err("out of range (00:00:00 to 24:00:00)");
    }
    Ok(micros)
}

/// Parses a `timestamp` (`tz = false`: a zone is ignored) or `timestamptz` (`tz = true`:
/// converted to UTC).
pub fn parse_timestamp(s: &str, tz: bool) -> Result<i64, Detail> {
    let s = s.trim_ascii().as_bytes();
    match special(s) {
        Some(Special::Infinity) => return Ok(TIMESTAMP_INFINITY),
        Some(Special::NegInfinity) => return Ok(TIMESTAMP_NEG_INFINITY),
        Some(Special::Epoch) => return Ok(-xdrive_proto::spq::UNIX_TO_PG_EPOCH_MICROS),
        None => {}
    }
    let mut c = Cursor::new(s);
    let (y, m, d) = date_fields(&mut c)?;
    let mut micros = 0;
    let mut offset = None;
    let t = c.eat(b'T') || c.eat(b't');
    let ws = !t && c.skip_ws();
    if t || (ws && c.peek().is_some_and(|b| b.is_ascii_digit())) {
        micros = time_of_day(&mut c)?;
        offset = zone(&mut c)?;
    }
    let bc = era_suffix(&mut c)?;
    let days = date_days(y, m, d, bc)?;
    let offset = if tz { offset.unwrap_or(0) } else { 0 };
    // Cannot overflow: |days| < 2^32 and a day is < 2^37 microseconds.
    let value = days * MICROS_PER_DAY + micros - offset * MICROS_PER_SECOND;
    if !(TIMESTAMP_MIN..TIMESTAMP_END).contains(&value) {
        return Err("out of range (4714-11-24 BC to 294276-12-31)");
    }
    Ok(value)
}

/// Writes `date` as PostgreSQL prints it.
pub fn write_date(out: &mut Vec<u8>, days: i32) {
    match days {
        DATE_INFINITY => out.extend_from_slice(b"infinity"),
        DATE_NEG_INFINITY => out.extend_from_slice(b"-infinity"),
        _ => {
            let bc = write_ymd(out, i64::from(days) + i64::from(UNIX_TO_PG_EPOCH_DAYS));
            if bc {
                out.extend_from_slice(b" BC");
            }
        }
    }
}

/// Writes `YYYY-MM-DD` of a day since 1970; returns whether the year is BC (suffix due).
fn write_ymd(out: &mut Vec<u8>, unix_days: i64) -> bool {
    let (year, month, day) = civil_from_days(unix_days);
    let bc = year <= 0;
    let year = if bc { 1 - year } else { year };
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{year:04}-{month:02}-{day:02}");
    bc
}

/// Writes `HH:MM:SS[.ffffff]` (trailing zeros of the fraction dropped).
fn write_hms(out: &mut Vec<u8>, micros: i64) {
    let secs = micros / MICROS_PER_SECOND;
    let frac = micros % MICROS_PER_SECOND;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let mut digits = 6;
        let mut f = frac;
        while f % 10 == 0 {
            f /= 10;
            digits -= 1;
        }
        let _ = write!(out, ".{f:0digits$}");
    }
}

/// Writes a `time` value.
pub fn write_time(out: &mut Vec<u8>, micros: i64) {
    write_hms(out, micros);
}

/// Writes a `timestamp` (`tz = false`) or `timestamptz` in UTC (`tz = true`, with `+00`).
pub fn write_timestamp(out: &mut Vec<u8>, micros: i64, tz: bool) {
    match micros {
        TIMESTAMP_INFINITY => out.extend_from_slice(b"infinity"),
        TIMESTAMP_NEG_INFINITY => out.extend_from_slice(b"-infinity"),
        _ => {
            let days = micros.div_euclid(MICROS_PER_DAY);
            let bc = write_ymd(out, days + i64::from(UNIX_TO_PG_EPOCH_DAYS));
            out.push(b' ');
            write_hms(out, micros.rem_euclid(MICROS_PER_DAY));
            if tz {
                out.extend_from_slice(b"+00");
            }
            if bc {
                out.extend_from_slice(b" BC");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Result<i32, Detail> {
        parse_date(s)
    }

    fn show_date(d: i32) -> String {
        let mut v = Vec::new();
        write_date(&mut v, d);
        String::from_utf8(v).unwrap()
    }

    fn show_ts(t: i64, tz: bool) -> String {
        let mut v = Vec::new();
        write_timestamp(&mut v, t, tz);
        String::from_utf8(v).unwrap()
    }

    fn show_time(t: i64) -> String {
        let mut v = Vec::new();
        write_time(&mut v, t);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn civil_round_trips_over_a_wide_range() {
        for days in (-3_000_000_i64..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 1, 1), 10_957);
    }

    #[test]
    fn dates() {
        assert_eq!(date("2000-01-01"), Ok(0));
        assert_eq!(date("  2000-01-02 "), Ok(1));
        assert_eq!(date("1999-12-31"), Ok(-1));
        assert_eq!(date("2000-1-2"), Ok(1));
        assert_eq!(date("1970-01-01"), Ok(-10_957));
        assert_eq!(date("epoch"), Ok(-10_957));
        assert_eq!(date("Infinity"), Ok(DATE_INFINITY));
        assert_eq!(date("-infinity"), Ok(DATE_NEG_INFINITY));
        assert_eq!(date("2000-01-01 AD"), Ok(0));
    }

    #[test]
    fn leap_days() {
        assert!(date("2024-02-29").is_ok());
        assert!(date("2000-02-29").is_ok());
        assert!(date("2023-02-29").is_err());
        assert!(date("1900-02-29").is_err());
        assert!(date("2024-04-31").is_err());
        assert!(date("2024-13-01").is_err());
        assert!(date("2024-00-10").is_err());
        assert!(date("2024-01-00").is_err());
        // 4 BC is astronomical year -3: a leap year.
        assert!(date("0005-02-29 BC").is_ok());
        assert!(date("0004-02-29 BC").is_err());
    }

    #[test]
    fn years_below_1000_and_above_9999() {
        assert_eq!(show_date(date("0999-01-01").unwrap()), "0999-01-01");
        assert_eq!(show_date(date("999-01-01").unwrap()), "0999-01-01");
        assert_eq!(show_date(date("0001-01-01").unwrap()), "0001-01-01");
        assert_eq!(show_date(date("10000-01-01").unwrap()), "10000-01-01");
        assert_eq!(show_date(date("5874897-12-31").unwrap()), "5874897-12-31");
        assert!(date("5874898-01-01").is_err());
        assert_eq!(show_date(date("4714-11-24 BC").unwrap()), "4714-11-24 BC");
        assert_eq!(date("4714-11-24 bc"), Ok(DATE_MIN));
        assert!(date("4714-11-23 BC").is_err());
        assert!(date("0000-01-01").is_err());
        assert!(date("99-01-01").is_err());
        assert!(date("99999999999999999999999-01-01").is_err());
    }

    #[test]
    fn date_syntax_errors() {
        for s in [
            "",
            "2024",
            "2024-01",
            "2024/01/02",
            "2024-01-02x",
            "2024-001-02",
            "x",
        ] {
            assert!(date(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("00:00"), Ok(0));
        assert_eq!(
            parse_time("1:02"),
            Ok(MICROS_PER_HOUR + 2 * MICROS_PER_MINUTE)
        );
        assert_eq!(parse_time("12:34:56.5"), Ok(45_296_500_000));
        assert_eq!(parse_time("24:00:00"), Ok(MICROS_PER_DAY));
        assert_eq!(parse_time("23:59:60"), Ok(MICROS_PER_DAY));
        assert!(parse_time("24:00:01").is_err());
        assert!(parse_time("24:00:00.000001").is_err());
        assert!(parse_time("23:60:00").is_err());
        assert!(parse_time("25:00:00").is_err());
        assert!(parse_time("12:00:00.").is_err());
        assert!(parse_time("12:0").is_err());
        assert_eq!(parse_time("00:00:00.0000005"), Ok(1));
        assert_eq!(parse_time("00:00:00.0000004"), Ok(0));
        assert_eq!(parse_time("23:59:59.9999995"), Ok(MICROS_PER_DAY));
        assert_eq!(parse_time("12:00:00+05:30"), Ok(12 * MICROS_PER_HOUR));
        assert_eq!(show_time(MICROS_PER_DAY), "24:00:00");
        assert_eq!(show_time(45_296_500_000), "12:34:56.5");
        assert_eq!(show_time(1), "00:00:00.000001");
    }

    #[test]
    fn timestamps() {
        let t = |s| parse_timestamp(s, false);
        let base = 366 * MICROS_PER_DAY; // 2001-01-01
        assert_eq!(t("2000-01-01 00:00:00"), Ok(0));
        assert_eq!(t("2000-01-01"), Ok(0));
        assert_eq!(t("2001-01-01T00:00:01"), Ok(base + MICROS_PER_SECOND));
        assert_eq!(t("2001-01-01t00:00:01"), Ok(base + MICROS_PER_SECOND));
        assert_eq!(t("2001-01-01   00:00:01.25"), Ok(base + 1_250_000));
        // A zone is ignored by `timestamp`.
        assert_eq!(t("2001-01-01 00:00:01+05"), Ok(base + MICROS_PER_SECOND));
        assert_eq!(t("2000-12-31 24:00:00"), Ok(base));
        assert_eq!(t("2000-12-31 23:59:60"), Ok(base));
        assert_eq!(
            show_ts(t("2024-01-02 03:04:05.123456").unwrap(), false),
            "2024-01-02 03:04:05.123456"
        );
        assert_eq!(t("epoch"), Ok(-946_684_800_000_000));
        assert_eq!(t("infinity"), Ok(TIMESTAMP_INFINITY));
        assert_eq!(show_ts(TIMESTAMP_NEG_INFINITY, true), "-infinity");
        assert!(t("2000-01-01 00:00:00 junk").is_err());
        assert!(t("2000-01-01T").is_err());
    }

    #[test]
    fn timestamp_range() {
        let t = |s| parse_timestamp(s, false);
        assert_eq!(t("4714-11-24 00:00:00 BC"), Ok(TIMESTAMP_MIN));
        assert!(t("4714-11-23 23:59:59 BC").is_err());
        assert_eq!(t("294276-12-31 23:59:59.999999"), Ok(TIMESTAMP_END - 1));
        assert!(t("294277-01-01 00:00:00").is_err());
        assert_eq!(
            show_ts(t("0001-01-01 00:00:00 BC").unwrap(), false),
            "0001-01-01 00:00:00 BC"
        );
        assert_eq!(
            show_ts(t("0001-01-01 00:00:00 BC").unwrap(), true),
            "0001-01-01 00:00:00+00 BC"
        );
        assert_eq!(
            show_ts(t("12345-06-07 08:09:10").unwrap(), false),
            "12345-06-07 08:09:10"
        );
    }

    #[test]
    fn timestamptz_offsets() {
        let tz = |s| parse_timestamp(s, true);
        let noon = 12 * MICROS_PER_HOUR;
        assert_eq!(tz("2000-01-01 12:00:00"), Ok(noon));
        assert_eq!(tz("2000-01-01 12:00:00Z"), Ok(noon));
        assert_eq!(tz("2000-01-01T12:00:00z"), Ok(noon));
        assert_eq!(tz("2000-01-01 12:00:00 UTC"), Ok(noon));
        assert_eq!(tz("2000-01-01 12:00:00gmt"), Ok(noon));
        assert_eq!(tz("2000-01-01 12:00:00+00"), Ok(noon));
        assert_eq!(tz("2000-01-01 12:00:00+05"), Ok(7 * MICROS_PER_HOUR));
        assert_eq!(tz("2000-01-01 12:00:00 +05"), Ok(7 * MICROS_PER_HOUR));
        assert_eq!(tz("2000-01-01 12:00:00-5"), Ok(17 * MICROS_PER_HOUR));
        let ist = noon - 5 * MICROS_PER_HOUR - 30 * MICROS_PER_MINUTE;
        assert_eq!(tz("2000-01-01 12:00:00+05:30"), Ok(ist));
        assert_eq!(tz("2000-01-01 12:00:00+0530"), Ok(ist));
        assert_eq!(
            tz("2000-01-01 12:00:00.5+05:30:15"),
            Ok(ist + 500_000 - 15_000_000)
        );
        assert!(tz("2000-01-01 12:00:00+15:59:59").is_ok());
        assert!(tz("2000-01-01 12:00:00+16").is_err());
        assert!(tz("2000-01-01 12:00:00+05:60").is_err());
        assert!(tz("2000-01-01 12:00:00+053").is_err());
        assert!(tz("2000-01-01 12:00:00 EST").is_err());
        assert!(tz("2000-01-01 12:00:00 Europe/Paris").is_err());
        // Crossing the date line backwards.
        assert_eq!(
            show_ts(tz("2000-01-01 01:00:00+05").unwrap(), true),
            "1999-12-31 20:00:00+00"
        );
    }
}
