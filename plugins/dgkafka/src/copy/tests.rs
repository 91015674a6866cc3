use bytes::BytesMut;
use proptest::prelude::*;
use xdrive_proto::page::{PageBuilder, PageLimits, PageReader, Value};
use xdrive_proto::schema::{Column, Schema};
use xdrive_proto::spq::SpqType;

use super::*;

fn schema(columns: &[(&str, SpqType)]) -> Schema {
    Schema::new(
        columns
            .iter()
            .map(|&(name, spq)| Column::new(name, spq))
            .collect(),
    )
    .unwrap()
}

fn page(schema: &Schema, rows: &[Vec<Option<Value<'_>>>]) -> PageReader {
    let mut b = PageBuilder::new(schema.clone(), PageLimits::default());
    for row in rows {
        for &v in row {
            b.push_opt(v).unwrap();
        }
        b.end_row().unwrap();
    }
    PageReader::new(schema, b.finish().unwrap()).unwrap()
}

/// The fields of a whole binary COPY stream, checking its header and trailer.
fn decode_stream(data: &[u8]) -> Vec<Vec<Option<Vec<u8>>>> {
    assert_eq!(&data[..19], HEADER, "header");
    let mut at = 19;
    let mut take = |n: usize| {
        let s = &data[at..at + n];
        at += n;
        s
    };
    let mut rows = Vec::new();
    loop {
        let count = i16::from_be_bytes(take(2).try_into().unwrap());
        if count == -1 {
            break;
        }
        let row = (0..count)
            .map(|_| {
                let len = i32::from_be_bytes(take(4).try_into().unwrap());
                (len >= 0).then(|| take(len as usize).to_vec())
            })
            .collect();
        rows.push(row);
    }
    assert_eq!(at, data.len(), "bytes after the trailer");
    rows
}

/// Encodes one value of type `spq` into a column of type `pg`; the field's bytes (length
/// prefix included).
fn field(spq: SpqType, pg: PgType, value: Option<Value<'_>>) -> Vec<u8> {
    let s = schema(&[("c", spq)]);
    let mut enc = BinaryCopyEncoder::for_schema(&s, &[pg]).unwrap();
    let mut out = BytesMut::new();
    assert_eq!(
        enc.encode_page(&page(&s, &[vec![value]]), &mut out)
            .unwrap(),
        1
    );
    assert_eq!(enc.finish(&mut out), 1);
    assert_eq!(&out[19..21], [0, 1], "field count");
    assert_eq!(&out[out.len() - 2..], TRAILER);
    out[21..out.len() - 2].to_vec()
}

#[test]
fn header_and_trailer_are_postgresqls() {
    assert_eq!(HEADER.len(), 19);
    assert_eq!(&HEADER[..11], b"PGCOPY\n\xff\r\n\0");
    assert_eq!(&HEADER[11..], [0u8; 8], "flags 0, no header extension");
    let s = schema(&[("a", SpqType::Int32)]);
    let mut enc = BinaryCopyEncoder::for_schema(&s, &[PgType::Int4]).unwrap();
    let mut out = BytesMut::new();
    // No page at all: header and trailer.
    assert_eq!(enc.finish(&mut out), 0);
    assert_eq!(&out[..], [&HEADER[..], &TRAILER].concat());
    // An empty page writes only the header.
    out.clear();
    assert_eq!(enc.encode_page(&page(&s, &[]), &mut out).unwrap(), 0);
    assert_eq!(&out[..], &HEADER[..]);
    assert_eq!(enc.finish(&mut out), 0);
    assert!(decode_stream(&out).is_empty());
}

#[test]
fn fixed_width_types_are_big_endian() {
    use PgType as P;
    use SpqType as S;
    let cases: Vec<(S, P, Value<'_>, Vec<u8>)> = vec![
        (S::Bool, P::Bool, Value::Bool(true), vec![0, 0, 0, 1, 1]),
        (S::Bool, P::Bool, Value::Bool(false), vec![0, 0, 0, 1, 0]),
        (
            S::Int16,
            P::Int2,
            Value::Int16(-2),
            vec![0, 0, 0, 2, 0xff, 0xfe],
        ),
        (
            S::Int16,
            P::Int4,
            Value::Int16(-2),
            vec![0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe],
        ),
        (
            S::Int16,
            P::Int8,
            Value::Int16(258),
            vec![0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 2],
        ),
        (
            S::Int32,
            P::Int4,
            Value::Int32(0x0102_0304),
            vec![0, 0, 0, 4, 1, 2, 3, 4],
        ),
        (
            S::Int32,
            P::Int8,
            Value::Int32(-1),
            vec![0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        (
            S::Int64,
            P::Int8,
            Value::Int64(i64::MIN),
            vec![0, 0, 0, 8, 0x80, 0, 0, 0, 0, 0, 0, 0],
        ),
        (
            S::Float,
            P::Float4,
            Value::Float(1.5),
            vec![0, 0, 0, 4, 0x3f, 0xc0, 0, 0],
        ),
        (
            S::Float,
            P::Float8,
            Value::Float(1.5),
            vec![0, 0, 0, 8, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
        ),
        (
            S::Double,
            P::Float8,
            Value::Double(-2.0),
            vec![0, 0, 0, 8, 0xc0, 0, 0, 0, 0, 0, 0, 0],
        ),
        // 1999-12-31 is day -1.
        (
            S::Date,
            P::Date,
            Value::Date(-1),
            vec![0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff],
        ),
        (
            S::TimeMicros,
            P::Time,
            Value::Time(86_400_000_000),
            vec![0, 0, 0, 8, 0, 0, 0, 0x14, 0x1d, 0xd7, 0x60, 0],
        ),
        (
            S::TimestampMicros,
            P::Timestamp,
            Value::Timestamp(1),
            vec![0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1],
        ),
        (
            S::TimestamptzMicros,
            P::Timestamptz,
            Value::Timestamptz(-1),
            vec![0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
    ];
    for (spq, pg, value, expected) in cases {
        assert_eq!(field(spq, pg, Some(value)), expected, "{value:?} into {pg}");
        assert_eq!(field(spq, pg, None), [0xff; 4], "NULL {spq} into {pg}");
    }
}

#[test]
fn text_json_jsonb_and_bytea() {
    use PgType as P;
    use SpqType as S;
    let text = [0, 0, 0, 3, b'h', 0xc3, 0xa9];
    for pg in [P::Text, P::Varchar, P::Bpchar] {
        assert_eq!(field(S::Cstr, pg, Some(Value::Text("hé"))), text);
    }
    assert_eq!(field(S::Cstr, P::Text, Some(Value::Text(""))), [0, 0, 0, 0]);
    assert_eq!(
        field(S::Json, P::Json, Some(Value::Json("{}"))),
        [0, 0, 0, 2, b'{', b'}']
    );
    // jsonb's binary format is a version byte, 1, then the text.
    assert_eq!(
        field(S::Json, P::Jsonb, Some(Value::Json("{}"))),
        [0, 0, 0, 3, 1, b'{', b'}']
    );
    assert_eq!(
        field(S::Cstr, P::Jsonb, Some(Value::Text("[]"))),
        [0, 0, 0, 3, 1, b'[', b']']
    );
    assert_eq!(field(S::Json, P::Jsonb, None), [0xff; 4]);
    assert_eq!(
        field(S::Bytea, P::Bytea, Some(Value::Bytea(&[0, 0xff, b'\\']))),
        [0, 0, 0, 3, 0, 0xff, b'\\']
    );
    // Numeric text into a text column stays text.
    assert_eq!(
        field(S::Numeric, P::Text, Some(Value::Numeric("1.50"))),
        [0, 0, 0, 4, b'1', b'.', b'5', b'0']
    );
}

/// The binary numeric of `text` (without the field's length), as `numeric_send` writes it.
fn numeric(text: &str) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_numeric(text.as_bytes(), &mut out).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let len = i32::from_be_bytes(out[..4].try_into().unwrap());
    assert_eq!(len as usize, out.len() - 4, "{text:?}: length prefix");
    out[4..].to_vec()
}

/// `numeric_send`'s layout from its parts.
fn numeric_parts(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend((digits.len() as i16).to_be_bytes());
    v.extend(weight.to_be_bytes());
    v.extend(sign.to_be_bytes());
    v.extend(dscale.to_be_bytes());
    for d in digits {
        v.extend(d.to_be_bytes());
    }
    v
}

#[test]
fn numeric_hand_computed() {
    assert_eq!(
        numeric("12345.678"),
        numeric_parts(1, 0, 3, &[1, 2345, 6780])
    );
    assert_eq!(
        numeric("-12345.678"),
        numeric_parts(1, 0x4000, 3, &[1, 2345, 6780])
    );
    assert_eq!(numeric("0"), numeric_parts(0, 0, 0, &[]));
    // Negative zero is zero, with the text's scale.
    assert_eq!(numeric("-0.000"), numeric_parts(0, 0, 3, &[]));
    assert_eq!(numeric("0.001"), numeric_parts(-1, 0, 3, &[10]));
    assert_eq!(numeric("1e-3"), numeric_parts(-1, 0, 3, &[10]));
    assert_eq!(numeric("1.5E+3"), numeric_parts(0, 0, 0, &[1500]));
    assert_eq!(numeric("10000"), numeric_parts(1, 0, 0, &[1]));
    assert_eq!(
        numeric("100000000.0001"),
        numeric_parts(2, 0, 4, &[1, 0, 0, 1])
    );
    assert_eq!(numeric(" +.5 "), numeric_parts(-1, 0, 1, &[5000]));
    assert_eq!(numeric("5."), numeric_parts(0, 0, 0, &[5]));
    assert_eq!(numeric("0007.2500"), numeric_parts(0, 0, 4, &[7, 2500]));
    assert_eq!(
        numeric("123456789012345678901234567890.123"),
        numeric_parts(
            7,
            0,
            3,
            &[12, 3456, 7890, 1234, 5678, 9012, 3456, 7890, 1230]
        )
    );
    assert_eq!(numeric("NaN"), numeric_parts(0, 0xC000, 0, &[]));
    assert_eq!(numeric("nan"), numeric_parts(0, 0xC000, 0, &[]));
    for inf in ["Infinity", "+infinity", "inf", "+INF"] {
        assert_eq!(numeric(inf), numeric_parts(0, 0xD000, 0, &[]), "{inf}");
    }
    for inf in ["-Infinity", "-inf"] {
        assert_eq!(numeric(inf), numeric_parts(0, 0xF000, 0, &[]), "{inf}");
    }
}

#[test]
fn numeric_refuses_what_postgresql_refuses() {
    for bad in [
        "",
        " ",
        ".",
        "-",
        "+",
        "1e",
        "e1",
        "1.2.3",
        "1,5",
        "0x10",
        "1_000",
        "-NaN",
        "12a",
        "1e+",
        "1e1.5",
        "--1",
        "Infinityx",
        "in",
        "1 2",
    ] {
        let mut out = BytesMut::new();
        assert_eq!(
            encode_numeric(bad.as_bytes(), &mut out),
            Err(NumericError::Syntax),
            "{bad:?}"
        );
        assert!(out.is_empty(), "{bad:?} wrote nothing");
    }
    for huge in [
        "1e200000",
        "1e-16384",
        "0.1e-16383",
        "1e99999999999999999999999",
    ] {
        let mut out = BytesMut::new();
        assert_eq!(
            encode_numeric(huge.as_bytes(), &mut out),
            Err(NumericError::OutOfRange),
            "{huge:?}"
        );
        assert!(out.is_empty());
    }
    // The largest display scale is fine.
    assert_eq!(&numeric("1e-16383")[6..8], 16383u16.to_be_bytes());
}

/// PostgreSQL's `numeric_out` of a binary numeric: the test's own decoder.
fn numeric_out(b: &[u8]) -> String {
    let u = |i: usize| u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
    let (ndigits, weight, sign, dscale) = (u(0) as usize, u(1) as i16, u(2), u(3) as usize);
    assert_eq!(b.len(), 8 + 2 * ndigits);
    let digits: Vec<u16> = (0..ndigits).map(|i| u(4 + i)).collect();
    match sign {
        0xC000 => return "NaN".into(),
        0xD000 => return "Infinity".into(),
        0xF000 => return "-Infinity".into(),
        0 | 0x4000 => {}
        other => panic!("sign {other:x}"),
    }
    assert!(digits.iter().all(|&d| d < 10000));
    if ndigits > 0 {
        assert_ne!(digits[0], 0, "leading zero digit");
        assert_ne!(digits[ndigits - 1], 0, "trailing zero digit");
    } else {
        assert_eq!((weight, sign), (0, 0), "zero is positive with weight 0");
    }
    let group = |w: i64| -> u16 {
        let i = i64::from(weight) - w;
        if (0..ndigits as i64).contains(&i) {
            digits[i as usize]
        } else {
            0
        }
    };
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        s.push_str(&group(i64::from(weight)).to_string());
        for w in (0..i64::from(weight)).rev() {
            s.push_str(&format!("{:04}", group(w)));
        }
    }
    if dscale > 0 {
        s.push('.');
        let mut frac = String::new();
        let mut w = -1;
        while frac.len() < dscale {
            frac.push_str(&format!("{:04}", group(w)));
            w -= 1;
        }
        s.push_str(&frac[..dscale]);
    }
    s
}

/// What `numeric_in` then `numeric_out` make of valid numeric text, by string handling
/// alone (no base 10000): the reference the encoder is checked against.
fn reference(text: &str) -> String {
    let t = text.trim();
    if t.eq_ignore_ascii_case("nan") {
        return "NaN".into();
    }
    let (negative, t) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if t.eq_ignore_ascii_case("infinity") || t.eq_ignore_ascii_case("inf") {
        return if negative { "-Infinity" } else { "Infinity" }.into();
    }
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().unwrap()),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = [int, frac].concat();
    let point = int.len() as i64 + exponent;
    let dscale = (frac.len() as i64 - exponent).max(0) as usize;
    // Pad so that the point falls inside the digits.
    let left_pad = (-point).max(0) as usize;
    let right_pad = (point - digits.len() as i64).max(0) as usize;
    let padded = format!(
        "{}{}{}",
        "0".repeat(left_pad),
        digits,
        "0".repeat(right_pad)
    );
    let (ip, fp) = padded.split_at((point + left_pad as i64) as usize);
    let ip = ip.trim_start_matches('0');
    let ip = if ip.is_empty() { "0" } else { ip };
    let mut fp = fp.to_owned();
    while fp.len() < dscale {
        fp.push('0');
    }
    assert!(
        fp[dscale..].bytes().all(|b| b == b'0'),
        "{text}: digits past the scale"
    );
    fp.truncate(dscale);
    let zero = ip == "0" && fp.bytes().all(|b| b == b'0');
    let mut s = String::new();
    if negative && !zero {
        s.push('-');
    }
    s.push_str(ip);
    if dscale > 0 {
        s.push('.');
        s.push_str(&fp);
    }
    s
}

#[test]
fn the_reference_is_numeric_out() {
    for (text, out) in [
        ("12345.678", "12345.678"),
        ("-0.000", "0.000"),
        ("1e-3", "0.001"),
        ("1.5E+3", "1500"),
        ("0007.2500", "7.2500"),
        (".5", "0.5"),
        ("5.", "5"),
        ("-12.3e-5", "-0.000123"),
        ("1.23e1", "12.3"),
    ] {
        assert_eq!(reference(text), out, "{text}");
        assert_eq!(numeric_out(&numeric(text)), out, "{text}");
    }
}

fn numeric_text() -> impl Strategy<Value = String> {
    let finite = (
        proptest::sample::select(vec!["", "+", "-"]),
        "[0-9]{0,30}",
        proptest::option::of("[0-9]{0,30}"),
        proptest::option::of((
            proptest::sample::select(vec!["e", "E"]),
            proptest::sample::select(vec!["", "+", "-"]),
            0u32..80,
        )),
        proptest::sample::select(vec!["", " "]),
    )
        .prop_filter("a digit", |(_, int, frac, _, _)| {
            !int.is_empty() || frac.as_ref().is_some_and(|f| !f.is_empty())
        })
        .prop_map(|(sign, int, frac, exp, pad)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let exp = exp
                .map(|(e, s, n)| format!("{e}{s}{n}"))
                .unwrap_or_default();
            format!("{pad}{sign}{int}{frac}{exp}{pad}")
        });
    prop_oneof![
        9 => finite,
        1 => prop_oneof![
            Just("NaN".to_owned()),
            Just("-Infinity".to_owned()),
            Just("inf".to_owned())
        ],
    ]
}

proptest! {
    #[test]
    fn numeric_text_round_trips(text in numeric_text()) {
        prop_assert_eq!(numeric_out(&numeric(&text)), reference(&text));
    }

    #[test]
    fn numeric_never_panics(text in "[-+0-9.eE nNaIiIfty]{0,24}") {
        let mut out = BytesMut::new();
        if encode_numeric(text.as_bytes(), &mut out).is_err() {
            prop_assert!(out.is_empty());
        }
    }
}

#[test]
fn numeric_columns_encode_per_row_and_name_bad_values() {
    let s = schema(&[("id", SpqType::Int32), ("amount", SpqType::Numeric)]);
    let mut enc = BinaryCopyEncoder::for_schema(&s, &[PgType::Int4, PgType::Numeric]).unwrap();
    let good = page(
        &s,
        &[
            vec![Some(Value::Int32(1)), Some(Value::Numeric("12345.678"))],
            vec![Some(Value::Int32(2)), None],
        ],
    );
    let bad = page(
        &s,
        &[
            vec![Some(Value::Int32(3)), Some(Value::Numeric("1"))],
            vec![Some(Value::Int32(4)), Some(Value::Numeric("12a"))],
        ],
    );
    let mut out = BytesMut::new();
    enc.encode_page(&good, &mut out).unwrap();
    let err = enc.encode_page(&bad, &mut out).unwrap_err();
    // Row 3 of the batch: the second page's second row.
    assert!(
        matches!(&err, CopyError::Numeric { column, row: 3, text, reason: NumericError::Syntax }
            if column == "amount" && text == "12a"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "column `amount`, row 3 of the batch: numeric value `12a` is not a number"
    );
    assert!(!err.is_retriable());

    let mut out = BytesMut::new();
    let mut enc = BinaryCopyEncoder::for_schema(&s, &[PgType::Int4, PgType::Numeric]).unwrap();
    enc.encode_page(&good, &mut out).unwrap();
    enc.finish(&mut out);
    let rows = decode_stream(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][1].as_deref(), Some(&numeric("12345.678")[..]));
    assert_eq!(rows[1][1], None);
}

#[test]
fn type_mismatches_name_the_column_once_per_batch() {
    let err = BinaryCopyEncoder::new(vec![
        CopyColumn::new("c_name", SpqType::Cstr, PgType::Text),
        CopyColumn::new("c_custkey", SpqType::Cstr, PgType::Int4),
    ])
    .unwrap_err();
    assert!(
        matches!(&err, CopyError::TypeMismatch { column, spq: SpqType::Cstr, pg: PgType::Int4 }
            if column == "c_custkey"),
        "{err:?}"
    );
    assert!(err.to_string().starts_with(
        "column `c_custkey` is integer, which binary COPY cannot fill from page values of type CSTR"
    ));
    // Narrowing, reinterpreting and parsing are refused; widening is fine.
    assert!(!PgType::Int2.accepts(SpqType::Int32));
    assert!(!PgType::Int4.accepts(SpqType::Int64));
    assert!(!PgType::Float4.accepts(SpqType::Double));
    assert!(!PgType::Timestamptz.accepts(SpqType::TimestampMicros));
    assert!(!PgType::Timestamp.accepts(SpqType::TimestamptzMicros));
    assert!(!PgType::Numeric.accepts(SpqType::Cstr));
    assert!(!PgType::Bytea.accepts(SpqType::Cstr));
    assert!(!PgType::Text.accepts(SpqType::Bytea));
    assert!(!PgType::Date.accepts(SpqType::Int32));
    assert!(PgType::Int8.accepts(SpqType::Int16));
    assert!(PgType::Float8.accepts(SpqType::Float));
    assert!(PgType::Jsonb.accepts(SpqType::Cstr));
    // Every SPQ type lands in its own canonical column type.
    for spq in SpqType::ALL {
        let pg = match spq {
            SpqType::Bool => PgType::Bool,
            SpqType::Int16 => PgType::Int2,
            SpqType::Int32 => PgType::Int4,
            SpqType::Int64 => PgType::Int8,
            SpqType::Float => PgType::Float4,
            SpqType::Double => PgType::Float8,
            SpqType::Bytea => PgType::Bytea,
            SpqType::Cstr => PgType::Text,
            SpqType::Date => PgType::Date,
            SpqType::TimeMicros => PgType::Time,
            SpqType::TimestampMicros => PgType::Timestamp,
            SpqType::Json => PgType::Json,
            SpqType::Numeric => PgType::Numeric,
            SpqType::TimestamptzMicros => PgType::Timestamptz,
            _ => continue,
        };
        assert!(pg.accepts(spq), "{spq} into {pg}");
        assert_eq!(pg.name(), PgType::from_type(&pg_type(pg)).unwrap().name());
    }
}

fn pg_type(pg: PgType) -> Type {
    match pg {
        PgType::Bool => Type::BOOL,
        PgType::Int2 => Type::INT2,
        PgType::Int4 => Type::INT4,
        PgType::Int8 => Type::INT8,
        PgType::Float4 => Type::FLOAT4,
        PgType::Float8 => Type::FLOAT8,
        PgType::Numeric => Type::NUMERIC,
        PgType::Text => Type::TEXT,
        PgType::Varchar => Type::VARCHAR,
        PgType::Bpchar => Type::BPCHAR,
        PgType::Json => Type::JSON,
        PgType::Jsonb => Type::JSONB,
        PgType::Bytea => Type::BYTEA,
        PgType::Date => Type::DATE,
        PgType::Time => Type::TIME,
        PgType::Timestamp => Type::TIMESTAMP,
        PgType::Timestamptz => Type::TIMESTAMPTZ,
    }
}

#[test]
fn pages_must_match_the_encoders_columns() {
    let s = schema(&[("a", SpqType::Int32)]);
    let mut enc = BinaryCopyEncoder::for_schema(&s, &[PgType::Int8]).unwrap();
    let other = schema(&[("b", SpqType::Int64)]);
    let mut out = BytesMut::new();
    let err = enc
        .encode_page(&page(&other, &[vec![Some(Value::Int64(1))]]), &mut out)
        .unwrap_err();
    assert!(
        matches!(&err, CopyError::PageColumn { index: 0, page_column, column, .. }
            if page_column == "b" && column == "a"),
        "{err:?}"
    );
    assert!(out.is_empty(), "nothing written for a refused page");
    let two = schema(&[("a", SpqType::Int32), ("b", SpqType::Int32)]);
    assert!(matches!(
        enc.encode_page(&page(&two, &[]), &mut out),
        Err(CopyError::PageColumnCount {
            got: 2,
            expected: 1
        })
    ));
    assert!(matches!(
        BinaryCopyEncoder::for_schema(&two, &[PgType::Int4]),
        Err(CopyError::PageColumnCount {
            got: 2,
            expected: 1
        })
    ));
    // A page of the same types under other names is fine (a staging table).
    let renamed = schema(&[("x", SpqType::Int32)]);
    assert_eq!(
        enc.encode_page(&page(&renamed, &[vec![Some(Value::Int32(7))]]), &mut out)
            .unwrap(),
        1
    );
}

#[test]
fn many_pages_make_one_stream_and_the_encoder_is_reusable() {
    let s = schema(&[("n", SpqType::Int64), ("t", SpqType::Cstr)]);
    let mut enc = BinaryCopyEncoder::for_schema(&s, &[PgType::Int8, PgType::Text]).unwrap();
    let texts: Vec<String> = (0..30).map(|i| "x".repeat(i % 7)).collect();
    let pages: Vec<PageReader> = (0..3)
        .map(|p| {
            let rows: Vec<_> = (0..10)
                .map(|r| {
                    let i = p * 10 + r;
                    vec![
                        Some(Value::Int64(i as i64)),
                        (i % 4 != 0).then(|| Value::Text(&texts[i])),
                    ]
                })
                .collect();
            page(&s, &rows)
        })
        .collect();
    let mut out = BytesMut::new();
    for round in 0..2 {
        out.clear();
        for (p, pg) in pages.iter().enumerate() {
            assert_eq!(enc.encode_page(pg, &mut out).unwrap(), 10);
            assert_eq!(enc.rows(), 10 * (p as u64 + 1), "round {round}");
        }
        assert_eq!(enc.finish(&mut out), 30);
        assert_eq!(enc.rows(), 0);
        let rows = decode_stream(&out);
        assert_eq!(rows.len(), 30);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row[0].as_deref(), Some(&(i as i64).to_be_bytes()[..]));
            let text = (i % 4 != 0).then(|| texts[i].as_bytes());
            assert_eq!(row[1].as_deref(), text, "row {i}");
        }
    }
}

#[test]
fn rows_and_columns_of_a_page_encode_as_a_page_of_just_them() {
    // A page as xdr_kafka sends it: bookkeeping columns around the loaded ones, and rows
    // that are not data.
    let wide = schema(&[
        ("kind", SpqType::Int32),
        ("t", SpqType::Cstr),
        ("extra", SpqType::Bytea),
        ("n", SpqType::Int64),
    ]);
    let texts: Vec<String> = (0..12).map(|i| format!("v{i}")).collect();
    let rows: Vec<_> = (0..12)
        .map(|i| {
            vec![
                Some(Value::Int32(i32::from(i % 5 == 4))),
                (i % 3 != 0).then(|| Value::Text(&texts[i])),
                Some(Value::Bytea(b"raw")),
                Some(Value::Int64(i as i64)),
            ]
        })
        .collect();
    let wide_page = page(&wide, &rows);
    let runs = [0..4, 5..9, 10..12];
    let narrow = schema(&[("n", SpqType::Int64), ("t", SpqType::Cstr)]);
    let pg = [PgType::Int8, PgType::Text];

    let mut enc = BinaryCopyEncoder::for_schema(&narrow, &pg).unwrap();
    let mut got = BytesMut::new();
    for run in runs.clone() {
        let n = run.len();
        assert_eq!(
            enc.encode_rows(&wide_page, &[3, 1], run, &mut got).unwrap(),
            n
        );
    }
    assert_eq!(enc.finish(&mut got), 10);

    let kept: Vec<_> = runs
        .iter()
        .flat_map(|r| r.clone())
        .map(|i| vec![rows[i][3], rows[i][1]])
        .collect();
    let mut want = BytesMut::new();
    enc.encode_page(&page(&narrow, &kept), &mut want).unwrap();
    enc.finish(&mut want);
    assert_eq!(got, want);

    // Columns of other types, columns and rows the page does not have.
    let err = enc
        .encode_rows(&wide_page, &[2, 1], 0..1, &mut got)
        .unwrap_err();
    assert!(
        matches!(err, CopyError::PageColumn { index: 0, .. }),
        "{err:?}"
    );
    let err = enc
        .encode_rows(&wide_page, &[3, 9], 0..1, &mut got)
        .unwrap_err();
    assert!(
        matches!(err, CopyError::PageColumnIndex { index: 9, ncol: 4 }),
        "{err:?}"
    );
    let err = enc
        .encode_rows(&wide_page, &[3, 1], 10..13, &mut got)
        .unwrap_err();
    assert!(
        matches!(err, CopyError::PageRows { nrow: 12, .. }),
        "{err:?}"
    );
    let err = enc
        .encode_rows(&wide_page, &[3], 0..1, &mut got)
        .unwrap_err();
    assert!(
        matches!(
            err,
            CopyError::PageColumnCount {
                got: 1,
                expected: 2
            }
        ),
        "{err:?}"
    );
}

#[test]
fn all_null_columns_and_wide_rows() {
    // A column whose carrier is empty because every row is NULL.
    let s = schema(&[("a", SpqType::Int32), ("b", SpqType::Cstr)]);
    let xcols = vec![
        xdrive_proto::message::XCol {
            colname: "a".into(),
            nrow: 2,
            nullmap: vec![true, true],
            ..Default::default()
        },
        xdrive_proto::message::XCol {
            colname: "b".into(),
            nrow: 2,
            nullmap: vec![true, false],
            sdata: vec![String::new(), "b".into()],
            ..Default::default()
        },
    ];
    let p = PageReader::new(&s, xcols).unwrap();
    let mut enc = BinaryCopyEncoder::for_schema(&s, &[PgType::Int4, PgType::Text]).unwrap();
    let mut out = BytesMut::new();
    enc.encode_page(&p, &mut out).unwrap();
    enc.finish(&mut out);
    assert_eq!(
        decode_stream(&out),
        [vec![None, None], vec![None, Some(b"b".to_vec())]]
    );
}

#[test]
fn error_and_offset_table_rows_are_pages_too() {
    // kafka.output.error_table without its defaulted ts.
    let errors = schema(&[
        ("consumer_group", SpqType::Cstr),
        ("topic", SpqType::Cstr),
        ("partition", SpqType::Int32),
        ("offset", SpqType::Int64),
        ("raw", SpqType::Bytea),
        ("reason", SpqType::Cstr),
    ]);
    let pg = [
        PgType::Text,
        PgType::Text,
        PgType::Int4,
        PgType::Int8,
        PgType::Bytea,
        PgType::Text,
    ];
    let mut enc = BinaryCopyEncoder::for_schema(&errors, &pg).unwrap();
    let p = page(
        &errors,
        &[vec![
            Some(Value::Text("g")),
            Some(Value::Text("t")),
            Some(Value::Int32(2)),
            Some(Value::Int64(41)),
            Some(Value::Bytea(b"\xff")),
            Some(Value::Text("bad")),
        ]],
    );
    let mut out = BytesMut::new();
    enc.encode_page(&p, &mut out).unwrap();
    enc.finish(&mut out);
    let row = &decode_stream(&out)[0];
    assert_eq!(row[2].as_deref(), Some(&2i32.to_be_bytes()[..]));
    assert_eq!(row[3].as_deref(), Some(&41i64.to_be_bytes()[..]));
    assert_eq!(row[4].as_deref(), Some(&b"\xff"[..]));

    let offsets = schema(&[
        ("consumer_group", SpqType::Cstr),
        ("topic", SpqType::Cstr),
        ("partition_number", SpqType::Int32),
        ("next_offset", SpqType::Int64),
        ("latest_offset", SpqType::Int64),
        ("batch_start", SpqType::TimestamptzMicros),
        ("batch_end", SpqType::TimestamptzMicros),
        ("nrows", SpqType::Int64),
    ]);
    let pg = [
        PgType::Text,
        PgType::Text,
        PgType::Int4,
        PgType::Int8,
        PgType::Int8,
        PgType::Timestamptz,
        PgType::Timestamptz,
        PgType::Int8,
    ];
    let mut enc = BinaryCopyEncoder::for_schema(&offsets, &pg).unwrap();
    let p = page(
        &offsets,
        &[vec![
            Some(Value::Text("g")),
            Some(Value::Text("t")),
            Some(Value::Int32(0)),
            Some(Value::Int64(100)),
            Some(Value::Int64(120)),
            Some(Value::Timestamptz(5)),
            Some(Value::Timestamptz(6)),
            Some(Value::Int64(100)),
        ]],
    );
    let mut out = BytesMut::new();
    enc.encode_page(&p, &mut out).unwrap();
    assert_eq!(enc.finish(&mut out), 1);
    let row = &decode_stream(&out)[0];
    assert_eq!(row.len(), 8);
    assert_eq!(row[6].as_deref(), Some(&6i64.to_be_bytes()[..]));
}

#[test]
fn long_bad_values_are_cut_short_in_messages() {
    let s = schema(&[("n", SpqType::Numeric)]);
    let long = format!("{}x", "1".repeat(100));
    let mut enc = BinaryCopyEncoder::for_schema(&s, &[PgType::Numeric]).unwrap();
    let err = enc
        .encode_page(
            &page(&s, &[vec![Some(Value::Numeric(&long))]]),
            &mut BytesMut::new(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, CopyError::Numeric { text, row: 0, .. } if *text == format!("{}...", "1".repeat(40))),
        "{err:?}"
    );
}

/// One row of the round-trip property: a value of each carrier, each maybe NULL.
type Row = (
    Option<i16>,
    Option<i64>,
    Option<f64>,
    Option<String>,
    Option<Vec<u8>>,
    Option<bool>,
);

proptest! {
    #[test]
    fn pages_round_trip_through_the_stream(
        pages_rows in proptest::collection::vec(
            proptest::collection::vec(
                (
                    any::<Option<i16>>(),
                    any::<Option<i64>>(),
                    any::<Option<f64>>(),
                    proptest::option::of(".{0,12}"),
                    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
                    any::<Option<bool>>(),
                ),
                0..20,
            ),
            0..4,
        )
    ) {
        let s = schema(&[
            ("a", SpqType::Int16),
            ("b", SpqType::Int64),
            ("c", SpqType::Double),
            ("d", SpqType::Cstr),
            ("e", SpqType::Bytea),
            ("f", SpqType::Bool),
        ]);
        let pg = [PgType::Int8, PgType::Int8, PgType::Float8, PgType::Jsonb, PgType::Bytea, PgType::Bool];
        let mut enc = BinaryCopyEncoder::for_schema(&s, &pg).unwrap();
        let mut out = BytesMut::new();
        for rows in &pages_rows {
            let values: Vec<Vec<Option<Value<'_>>>> = rows
                .iter()
                .map(|r: &Row| {
                    vec![
                        r.0.map(Value::Int16),
                        r.1.map(Value::Int64),
                        r.2.map(Value::Double),
                        r.3.as_deref().map(Value::Text),
                        r.4.as_deref().map(Value::Bytea),
                        r.5.map(Value::Bool),
                    ]
                })
                .collect();
            prop_assert_eq!(enc.encode_page(&page(&s, &values), &mut out).unwrap(), rows.len());
        }
        let total: usize = pages_rows.iter().map(Vec::len).sum();
        prop_assert_eq!(enc.finish(&mut out), total as u64);
        let decoded = decode_stream(&out);
        prop_assert_eq!(decoded.len(), total);
        for (got, r) in decoded.iter().zip(pages_rows.iter().flatten()) {
            let expected: Vec<Option<Vec<u8>>> = vec![
                r.0.map(|v| i64::from(v).to_be_bytes().to_vec()),
                r.1.map(|v| v.to_be_bytes().to_vec()),
                r.2.map(|v| v.to_be_bytes().to_vec()),
                r.3.as_ref().map(|v| [&[1u8][..], v.as_bytes()].concat()),
                r.4.clone(),
                r.5.map(|v| vec![u8::from(v)]),
            ];
            prop_assert_eq!(got, &expected);
        }
    }
}
