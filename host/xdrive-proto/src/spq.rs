//! SPQ column types: the type codes `ColumnDesc.type` carries, the `XCol` array each type
//! travels in, the PostgreSQL type names that map to them, and our epochs.
//!
//! The codes are those of the public `xdrive.proto` `SpqType`. We serve the subset a Kafka
//! loader needs, plus one extension of ours: **BYTEA, code `0x8`, carried in
//! `XCol.bindata`** (the public proto has the code commented out as unsupported).
//!
//! **Epochs (our choice; the public definitions do not say):** DATE is days and
//! TIME/TIMESTAMP/TIMESTAMPTZ are microseconds counted from PostgreSQL's epoch, 2000-01-01
//! (midnight UTC for TIMESTAMPTZ; midnight for TIME), exactly as PostgreSQL's binary COPY
//! format carries them, so a page becomes COPY data without arithmetic. Use
//! [`unix_micros_to_pg`] and friends to convert from Unix time.
//!
//! ```
//! use xdrive_proto::spq::{Carrier, SpqType};
//!
//! let t = SpqType::from_pg_type("Character Varying(20)").unwrap();
//! assert_eq!(t, SpqType::Cstr);
//! assert_eq!(t.carrier(), Carrier::Str);
//! assert_eq!(SpqType::from_code(0x050004).unwrap(), SpqType::TimestampMicros);
//! assert!(SpqType::from_pg_type("uuid").is_err());
//! ```

use std::fmt;

/// An SPQ column type we serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpqType {
    /// `BOOL` 0x1: PostgreSQL `bool`; 0 or 1 in `i32data`.
    Bool,
    /// `INT16` 0x2: `int2`, in `i32data` (range-checked on read).
    Int16,
    /// `INT32` 0x3: `int4`, in `i32data`.
    Int32,
    /// `INT64` 0x4: `int8`, in `i64data`.
    Int64,
    /// `FLOAT` 0x6: `float4`, in `f32data`.
    Float,
    /// `DOUBLE` 0x7: `float8`, in `f64data`.
    Double,
    /// `BYTEA` 0x8 (**our extension**): `bytea`, in `bindata`.
    Bytea,
    /// `CSTR` 0x9: `text`, `varchar`, `char`, in `sdata`.
    Cstr,
    /// `DATE` 0x010003: days since 2000-01-01, in `i32data`.
    Date,
    /// `TIME_MICROS` 0x040004: microseconds since midnight, in `i64data`.
    TimeMicros,
    /// `TIMESTAMP_MICROS` 0x050004: microseconds since 2000-01-01 00:00, in `i64data`.
    TimestampMicros,
    /// `JSON` 0x060009: `json`/`jsonb` text, in `sdata`.
    Json,
    /// `NUMERIC` 0x070009: `numeric` as decimal text, in `sdata`.
    Numeric,
    /// `TIMESTAMPTZ_MICROS` 0x090004: microseconds since 2000-01-01 00:00 UTC, in `i64data`.
    TimestamptzMicros,
}

/// The `XCol` array a type's values travel in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Carrier {
    /// `i32data` (field 5).
    I32,
    /// `i64data` (field 6).
    I64,
    /// `f32data` (field 7).
    F32,
    /// `f64data` (field 8).
    F64,
    /// `sdata` (field 4).
    Str,
    /// `bindata` (field 9).
    Bin,
}

impl Carrier {
    /// The `XCol` field's name.
    pub fn field_name(self) -> &'static str {
        match self {
            Carrier::I32 => "i32data",
            Carrier::I64 => "i64data",
            Carrier::F32 => "f32data",
            Carrier::F64 => "f64data",
            Carrier::Str => "sdata",
            Carrier::Bin => "bindata",
        }
    }

    /// Every carrier, in `XCol` field order.
    pub const ALL: [Carrier; 6] = [
        Carrier::Str,
        Carrier::I32,
        Carrier::I64,
        Carrier::F32,
        Carrier::F64,
        Carrier::Bin,
    ];
}

/// Why a type code or a type name is not one we serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpqError {
    /// A `ColumnDesc.type` code we do not serve (known to the public proto or not).
    #[error("{} is not a supported SPQ column type (supported: {})", describe_code(*code), SUPPORTED_CODES)]
    UnsupportedCode {
        /// The code as sent.
        code: i32,
    },
    /// A PostgreSQL type name with no SPQ type.
    #[error(
        "column type \"{name}\" is not supported (supported: bool, int2, int4, int8, float4, \
         float8, numeric, text, varchar, char, date, time, timestamp, timestamptz, json, jsonb, \
         bytea)"
    )]
    UnknownPgType {
        /// The name as given.
        name: String,
    },
}

const SUPPORTED_CODES: &str = "BOOL, INT16, INT32, INT64, FLOAT, DOUBLE, BYTEA (0x8), CSTR, \
                               DATE, TIME_MICROS, TIMESTAMP_MICROS, JSON, NUMERIC, \
                               TIMESTAMPTZ_MICROS";

/// Names the public proto gives to codes we do not serve, for error messages.
fn describe_code(code: i32) -> String {
    let public = match code {
        0x0 => Some("UNKNOWN"),
        0x5 => Some("INT128"),
        0xA => Some("DEC64"),
        0xB => Some("DEC128"),
        0xC => Some("UUID"),
        0xD => Some("INTERVAL"),
        0xE => Some("VARLENA"),
        0x02_0003 => Some("TIME_MILLIS"),
        0x03_0004 => Some("TIMESTAMP_MILLIS"),
        0x08_0004 => Some("TIMESTAMPTZ_MILLIS"),
        0x0A_000E => Some("MACADDR"),
        0x0B_000E => Some("INET"),
        _ if code & 0x1000_0000 != 0 => Some("ARRAY"),
        _ => None,
    };
    match public {
        Some(name) => format!("type code 0x{code:x} ({name})"),
        None => format!("type code 0x{code:x}"),
    }
}

impl SpqType {
    /// Every type we serve.
    pub const ALL: [SpqType; 14] = [
        SpqType::Bool,
        SpqType::Int16,
        SpqType::Int32,
        SpqType::Int64,
        SpqType::Float,
        SpqType::Double,
        SpqType::Bytea,
        SpqType::Cstr,
        SpqType::Date,
        SpqType::TimeMicros,
        SpqType::TimestampMicros,
        SpqType::Json,
        SpqType::Numeric,
        SpqType::TimestamptzMicros,
    ];

    /// The code `ColumnDesc.type` carries.
    pub fn code(self) -> i32 {
        match self {
            SpqType::Bool => 0x1,
            SpqType::Int16 => 0x2,
            SpqType::Int32 => 0x3,
            SpqType::Int64 => 0x4,
            SpqType::Float => 0x6,
            SpqType::Double => 0x7,
            SpqType::Bytea => 0x8,
            SpqType::Cstr => 0x9,
            SpqType::Date => 0x01_0003,
            SpqType::TimeMicros => 0x04_0004,
            SpqType::TimestampMicros => 0x05_0004,
            SpqType::Json => 0x06_0009,
            SpqType::Numeric => 0x07_0009,
            SpqType::TimestamptzMicros => 0x09_0004,
        }
    }

    /// The type with code `code`.
    pub fn from_code(code: i32) -> Result<SpqType, SpqError> {
        SpqType::ALL
            .into_iter()
            .find(|t| t.code() == code)
            .ok_or(SpqError::UnsupportedCode { code })
    }

    /// The name the public proto (or, for BYTEA, we) give the code.
    pub fn spq_name(self) -> &'static str {
        match self {
            SpqType::Bool => "BOOL",
            SpqType::Int16 => "INT16",
            SpqType::Int32 => "INT32",
            SpqType::Int64 => "INT64",
            SpqType::Float => "FLOAT",
            SpqType::Double => "DOUBLE",
            SpqType::Bytea => "BYTEA",
            SpqType::Cstr => "CSTR",
            SpqType::Date => "DATE",
            SpqType::TimeMicros => "TIME_MICROS",
            SpqType::TimestampMicros => "TIMESTAMP_MICROS",
            SpqType::Json => "JSON",
            SpqType::Numeric => "NUMERIC",
            SpqType::TimestamptzMicros => "TIMESTAMPTZ_MICROS",
        }
    }

    /// The canonical PostgreSQL type name (`jsonb` columns map to JSON and come back as
    /// `json`; `varchar`/`char` to CSTR and come back as `text`).
    pub fn pg_name(self) -> &'static str {
        match self {
            SpqType::Bool => "bool",
            SpqType::Int16 => "int2",
            SpqType::Int32 => "int4",
            SpqType::Int64 => "int8",
            SpqType::Float => "float4",
            SpqType::Double => "float8",
            SpqType::Bytea => "bytea",
            SpqType::Cstr => "text",
            SpqType::Date => "date",
            SpqType::TimeMicros => "time",
            SpqType::TimestampMicros => "timestamp",
            SpqType::Json => "json",
            SpqType::Numeric => "numeric",
            SpqType::TimestamptzMicros => "timestamptz",
        }
    }

    /// The `XCol` array this type's values travel in.
    pub fn carrier(self) -> Carrier {
        match self {
            SpqType::Bool | SpqType::Int16 | SpqType::Int32 | SpqType::Date => Carrier::I32,
            SpqType::Int64
            | SpqType::TimeMicros
            | SpqType::TimestampMicros
            | SpqType::TimestamptzMicros => Carrier::I64,
            SpqType::Float => Carrier::F32,
            SpqType::Double => Carrier::F64,
            SpqType::Cstr | SpqType::Json | SpqType::Numeric => Carrier::Str,
            SpqType::Bytea => Carrier::Bin,
        }
    }

    /// The SPQ type of a PostgreSQL column type, as `format_type()` or a `CREATE TABLE`
    /// writes it: case-insensitive, any whitespace between words, with or without a type
    /// modifier where PostgreSQL allows one (`varchar(20)`, `numeric(10,2)`,
    /// `timestamp(3) with time zone`, `time(6) without time zone`).
    ///
    /// Accepted: `bool`/`boolean`, `int2`/`smallint`, `int4`/`integer`/`int`,
    /// `int8`/`bigint`, `float4`/`real`, `float8`/`double precision`, `numeric`/`decimal`,
    /// `text`, `varchar`/`character varying`, `char`/`character`/`bpchar`, `date`,
    /// `time`/`time without time zone`, `timestamp`/`timestamp without time zone`,
    /// `timestamptz`/`timestamp with time zone`, `json`, `jsonb`, `bytea`. Anything else,
    /// arrays included, is [`SpqError::UnknownPgType`].
    pub fn from_pg_type(name: &str) -> Result<SpqType, SpqError> {
        let unknown = || SpqError::UnknownPgType {
            name: name.trim().to_owned(),
        };
        let (words, typmod) = split_pg_type(name).ok_or_else(unknown)?;
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let (ty, takes_typmod) = match words.as_slice() {
            ["bool" | "boolean"] => (SpqType::Bool, false),
            ["int2" | "smallint"] => (SpqType::Int16, false),
            ["int4" | "integer" | "int"] => (SpqType::Int32, false),
            ["int8" | "bigint"] => (SpqType::Int64, false),
            ["float4" | "real"] => (SpqType::Float, false),
            ["float8"] | ["double", "precision"] => (SpqType::Double, false),
            ["numeric" | "decimal"] => (SpqType::Numeric, true),
            ["text"] => (SpqType::Cstr, false),
            ["varchar" | "char" | "character" | "bpchar"] | ["character", "varying"] => {
                (SpqType::Cstr, true)
            }
            ["date"] => (SpqType::Date, false),
            ["time"] | ["time", "without", "time", "zone"] => (SpqType::TimeMicros, true),
            ["timestamp"] | ["timestamp", "without", "time", "zone"] => {
                (SpqType::TimestampMicros, true)
            }
            ["timestamptz"] | ["timestamp", "with", "time", "zone"] => {
                (SpqType::TimestamptzMicros, true)
            }
            ["json" | "jsonb"] => (SpqType::Json, false),
            ["bytea"] => (SpqType::Bytea, false),
            _ => return Err(unknown()),
        };
        if typmod && !takes_typmod {
            return Err(unknown());
        }
        Ok(ty)
    }
}

/// Splits a PostgreSQL type name into lower-case words, removing one type modifier
/// (`(n)` or `(p,s)`) and reporting whether there was one. `None` when
/// the name is malformed (unbalanced or non-numeric modifier, more than one modifier).
fn split_pg_type(name: &str) -> Option<(Vec<String>, bool)> {
    let lower = name.to_ascii_lowercase();
    let (before, typmod, after) = match lower.find('(') {
        None => (lower.as_str(), false, ""),
        Some(open) => {
            let close = open + lower[open..].find(')')?;
            let inner = &lower[open + 1..close];
            let mut parts = inner.split(',');
            let valid = parts.next().is_some_and(is_int)
                && parts.next().is_none_or(is_int)
                && parts.next().is_none();
            if !valid {
                return None;
            }
            (&lower[..open], true, &lower[close + 1..])
        }
    };
    if after.contains(['(', ')']) || before.contains(')') {
        return None;
    }
    let before: Vec<String> = before.split_whitespace().map(str::to_owned).collect();
    // A modifier ends the name, except that `time(p)` and `timestamp(p)` may go on with
    // `with[out] time zone`.
    if typmod && !after.trim().is_empty() && !(before == ["time"] || before == ["timestamp"]) {
        return None;
    }
    let mut words = before;
    words.extend(after.split_whitespace().map(str::to_owned));
    Some((words, typmod))
}

fn is_int(s: &str) -> bool {
    let s = s.trim();
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

impl fmt::Display for SpqType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spq_name())
    }
}

impl TryFrom<i32> for SpqType {
    type Error = SpqError;

    fn try_from(code: i32) -> Result<Self, Self::Error> {
        SpqType::from_code(code)
    }
}

impl From<SpqType> for i32 {
    fn from(t: SpqType) -> i32 {
        t.code()
    }
}

/// Days from 1970-01-01 (the Unix epoch) to 2000-01-01 (PostgreSQL's, ours).
pub const UNIX_TO_PG_EPOCH_DAYS: i32 = 10_957;

/// Microseconds from 1970-01-01 00:00 UTC to 2000-01-01 00:00 UTC.
pub const UNIX_TO_PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Microseconds in a day: TIME values run from 0 to this (PostgreSQL allows `24:00:00`).
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A Unix timestamp in microseconds as our TIMESTAMP or TIMESTAMPTZ value; `None` on overflow.
pub fn unix_micros_to_pg(unix_micros: i64) -> Option<i64> {
    unix_micros.checked_sub(UNIX_TO_PG_EPOCH_MICROS)
}

/// A Unix timestamp in milliseconds (Kafka's) as our TIMESTAMP or TIMESTAMPTZ value; `None` on
/// overflow.
pub fn unix_millis_to_pg(unix_millis: i64) -> Option<i64> {
    unix_millis.checked_mul(1000).and_then(unix_micros_to_pg)
}

/// Our TIMESTAMP or TIMESTAMPTZ value as Unix microseconds; `None` on overflow.
pub fn pg_micros_to_unix(pg_micros: i64) -> Option<i64> {
    pg_micros.checked_add(UNIX_TO_PG_EPOCH_MICROS)
}

/// Days since the Unix epoch as our DATE value; `None` on overflow.
pub fn unix_days_to_pg(unix_days: i32) -> Option<i32> {
    unix_days.checked_sub(UNIX_TO_PG_EPOCH_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        for t in SpqType::ALL {
            assert_eq!(SpqType::from_code(t.code()), Ok(t));
            assert_eq!(SpqType::try_from(i32::from(t)), Ok(t));
        }
        let mut codes: Vec<i32> = SpqType::ALL.iter().map(|t| t.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), SpqType::ALL.len());
    }

    #[test]
    fn codes_match_the_public_proto() {
        let expect = [
            (SpqType::Bool, 0x1),
            (SpqType::Int16, 0x2),
            (SpqType::Int32, 0x3),
            (SpqType::Int64, 0x4),
            (SpqType::Float, 0x6),
            (SpqType::Double, 0x7),
            (SpqType::Bytea, 0x8),
            (SpqType::Cstr, 0x9),
            (SpqType::Date, 0x010003),
            (SpqType::TimeMicros, 0x040004),
            (SpqType::TimestampMicros, 0x050004),
            (SpqType::Json, 0x060009),
            (SpqType::Numeric, 0x070009),
            (SpqType::TimestamptzMicros, 0x090004),
        ];
        for (t, code) in expect {
            assert_eq!(t.code(), code, "{t}");
        }
    }

    #[test]
    fn carriers() {
        use Carrier::*;
        use SpqType::*;
        for (t, c) in [
            (Bool, I32),
            (Int16, I32),
            (Int32, I32),
            (Date, I32),
            (Int64, I64),
            (TimeMicros, I64),
            (TimestampMicros, I64),
            (TimestamptzMicros, I64),
            (Float, F32),
            (Double, F64),
            (Cstr, Str),
            (Json, Str),
            (Numeric, Str),
            (Bytea, Bin),
        ] {
            assert_eq!(t.carrier(), c, "{t}");
        }
    }

    #[test]
    fn unsupported_codes_are_named() {
        let err = SpqType::from_code(0x0C).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("type code 0xc (UUID) is not a supported")
        );
        let err = SpqType::from_code(0x1000_0003).unwrap_err();
        assert!(err.to_string().contains("(ARRAY)"), "{err}");
        let err = SpqType::from_code(12345).unwrap_err();
        assert!(
            err.to_string().starts_with("type code 0x3039 is not"),
            "{err}"
        );
    }

    #[test]
    fn pg_names() {
        use SpqType::*;
        let cases = [
            ("bool", Bool),
            ("BOOLEAN", Bool),
            ("int2", Int16),
            ("smallint", Int16),
            ("int4", Int32),
            ("Integer", Int32),
            ("int", Int32),
            ("int8", Int64),
            ("bigint", Int64),
            ("float4", Float),
            ("real", Float),
            ("float8", Double),
            ("double precision", Double),
            ("  Double \t  PRECISION ", Double),
            ("numeric", Numeric),
            ("numeric(10,2)", Numeric),
            ("numeric ( 10 , 2 )", Numeric),
            ("decimal(5)", Numeric),
            ("text", Cstr),
            ("varchar", Cstr),
            ("varchar(20)", Cstr),
            ("character varying(20)", Cstr),
            ("character  varying", Cstr),
            ("char(3)", Cstr),
            ("character(3)", Cstr),
            ("bpchar", Cstr),
            ("date", Date),
            ("time", TimeMicros),
            ("time without time zone", TimeMicros),
            ("time(3) without time zone", TimeMicros),
            ("timestamp", TimestampMicros),
            ("timestamp(6)", TimestampMicros),
            ("timestamp without time zone", TimestampMicros),
            ("timestamptz", TimestamptzMicros),
            ("timestamptz(3)", TimestamptzMicros),
            ("timestamp with time zone", TimestamptzMicros),
            ("TIMESTAMP(0) WITH TIME ZONE", TimestamptzMicros),
            ("json", Json),
            ("jsonb", Json),
            ("bytea", Bytea),
        ];
        for (name, t) in cases {
            assert_eq!(SpqType::from_pg_type(name), Ok(t), "{name:?}");
        }
        for t in SpqType::ALL {
            assert_eq!(SpqType::from_pg_type(t.pg_name()), Ok(t));
        }
    }

    #[test]
    fn unknown_pg_names_are_errors_naming_the_type() {
        for name in [
            "",
            "uuid",
            "int4[]",
            "int4(3)",
            "text(5)",
            "time with time zone",
            "timetz",
            "varchar(",
            "varchar(x)",
            "varchar(1,2,3)",
            "numeric(10)(2)",
            "double(3) precision",
            "character(3) varying",
            "interval",
            "doubleprecision",
        ] {
            let err = SpqType::from_pg_type(name).unwrap_err();
            assert_eq!(
                err,
                SpqError::UnknownPgType {
                    name: name.trim().to_owned()
                },
                "{name:?}"
            );
            assert!(err.to_string().contains(&format!("\"{}\"", name.trim())));
        }
    }

    #[test]
    fn epochs() {
        // 2000-01-01 00:00:00 UTC is 946684800 Unix seconds.
        assert_eq!(unix_millis_to_pg(946_684_800_000), Some(0));
        assert_eq!(unix_micros_to_pg(0), Some(-UNIX_TO_PG_EPOCH_MICROS));
        assert_eq!(pg_micros_to_unix(0), Some(UNIX_TO_PG_EPOCH_MICROS));
        assert_eq!(unix_days_to_pg(10_957), Some(0));
        assert_eq!(unix_millis_to_pg(i64::MAX), None);
        assert_eq!(
            i64::from(UNIX_TO_PG_EPOCH_DAYS) * MICROS_PER_DAY,
            UNIX_TO_PG_EPOCH_MICROS
        );
    }
}
