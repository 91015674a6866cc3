//! The bad-input corpus (`tests/corpus/`): every file is one message value, and decodes to
//! the outcome listed here (and in the README's table). The file name's prefix picks the
//! schema: `customer-` (the seed's TPC-H customer, `|`-delimited csv), `events-` (csv of
//! int8, date, timestamptz, bool, numeric), `json-` (the json format).

use std::path::Path;

use formats::{
    CsvOptions, DEFAULT_MAX_MESSAGE_BYTES, Decoder, DecoderSpec, Format, InputField, MessageMeta,
    RowError, RowErrorKind,
};
use xdrive_proto::page::{PageLimits, PageReader, Value};

use RowErrorKind::*;

/// What a corpus message decodes to: `Ok` (a row) or a row error's kind and exact reason.
type Outcome = Result<(), (RowErrorKind, &'static str)>;

const CASES: &[(&str, Outcome)] = &[
    ("customer-valid.msg", Ok(())),
    (
        "customer-bad-float.msg",
        Err((
            Value,
            "column \"c_acctbal\": \"711,56\" is not a valid double precision",
        )),
    ),
    (
        "customer-bare-quote-in-field.msg",
        Err((
            Csv,
            "the quote opened at byte 6 is never closed: \"\\\"omer|addr|15|25-989-741-2988|711.56|BUI\"… (53 bytes)",
        )),
    ),
    ("customer-crlf.msg", Ok(())),
    (
        "customer-embedded-newline.msg",
        Err((
            Csv,
            "unquoted line break at byte 56 (a message holds one row; quote values with line breaks): \"1|Customer#1|addr|15|25-989-741-2988|711\"… (62 bytes)",
        )),
    ),
    (
        "customer-empty.msg",
        Err((FieldCount, "expected 8 fields, got 1: \"\"")),
    ),
    (
        "customer-extra-field.msg",
        Err((
            FieldCount,
            "expected 8 fields, got 9: \"1|Customer#000000001|IVhzIApeRb ot,c,E|1\"… (142 bytes)",
        )),
    ),
    (
        "customer-int4-out-of-range.msg",
        Err((
            Value,
            "column \"c_custkey\": \"2147483648\" is out of range for integer",
        )),
    ),
    (
        "customer-invalid-utf8.msg",
        Err((
            Encoding,
            "the message is not valid UTF-8 at byte 10: \"1|Customer\\xff#1|addr|15|25-989-741-2988|71\"… (61 bytes)",
        )),
    ),
    (
        "customer-missing-field.msg",
        Err((
            FieldCount,
            "expected 8 fields, got 7: \"1|Customer#000000001|IVhzIApeRb ot,c,E|1\"… (73 bytes)",
        )),
    ),
    (
        "customer-nul-byte.msg",
        Err((
            Encoding,
            "the message has a NUL byte at byte 10, which text cannot hold",
        )),
    ),
    ("customer-nulls.msg", Ok(())),
    ("customer-quoted-newline.msg", Ok(())),
    ("customer-quotes-inside-quotes.msg", Ok(())),
    (
        "customer-trailing-delimiter.msg",
        Err((
            FieldCount,
            "expected 8 fields, got 9: \"1|Customer#000000001|IVhzIApeRb ot,c,E|1\"… (137 bytes)",
        )),
    ),
    (
        "customer-truncated-in-quote.msg",
        Err((
            Csv,
            "the quote opened at byte 2 is never closed: \"\\\"Customer#0000\"",
        )),
    ),
    (
        "customer-truncated.msg",
        Err((
            FieldCount,
            "expected 8 fields, got 5: \"1|Customer#000000001|IVhzIApeRb ot,c,E|1\"… (47 bytes)",
        )),
    ),
    (
        "customer-varchar-too-long.msg",
        Err((
            Value,
            "column \"c_mktsegment\": \"CONSTRUCTION\" has 12 characters, more than varchar(10) allows",
        )),
    ),
    (
        "events-bad-bool.msg",
        Err((Value, "column \"ok\": \"maybe\" is not a valid boolean")),
    ),
    (
        "events-bad-date.msg",
        Err((
            Value,
            "column \"day\": \"2023-02-29\" is not a valid date: day out of range for the month",
        )),
    ),
    (
        "events-bad-numeric.msg",
        Err((
            Value,
            "column \"amount\": \"1.2.3\" is not a valid numeric(10,2)",
        )),
    ),
    (
        "events-bad-offset.msg",
        Err((
            Value,
            "column \"at\": \"2024-01-02 03:04:05+16:00\" is not a valid timestamp with time zone: zone offset out of range (at most 15:59:59)",
        )),
    ),
    ("events-valid.msg", Ok(())),
    ("json-big-numbers.msg", Ok(())),
    (
        "json-empty.msg",
        Err((
            Json,
            "the message is not valid JSON: EOF while parsing a value at line 1 column 0: \"\"",
        )),
    ),
    (
        "json-invalid-utf8.msg",
        Err((
            Encoding,
            "the message is not valid UTF-8 at byte 10: \"{\\\"name\\\": \\\"\\xc3(\\\"}\"",
        )),
    ),
    (
        "json-invalid.msg",
        Err((
            Json,
            "the message is not valid JSON: EOF while parsing a string at line 1 column 133: \"{\\\"custkey\\\":111, \\\"name\\\": \\\"eric\\\", \\\"address\"… (133 bytes)",
        )),
    ),
    ("json-not-an-object.msg", Ok(())),
    ("json-scalar.msg", Ok(())),
    (
        "json-trailing-garbage.msg",
        Err((
            Json,
            "the message is not valid JSON: trailing characters at line 1 column 17: \"{\\\"custkey\\\":111} {\\\"custkey\\\":222}\"",
        )),
    ),
    ("json-valid.msg", Ok(())),
];

/// The decoder for corpus file `file`.
pub fn decoder(file: &str) -> Decoder {
    let csv = |d| Format::Csv(CsvOptions::new(d).unwrap());
    let fields = |cols: &[(&str, &str)]| {
        cols.iter()
            .map(|(n, t)| InputField::new(*n, t).unwrap())
            .collect::<Vec<_>>()
    };
    let spec = if file.starts_with("customer-") {
        DecoderSpec::all_fields(csv(b'|'), customer_fields())
    } else if file.starts_with("events-") {
        DecoderSpec::all_fields(
            csv(b'|'),
            fields(&[
                ("id", "bigint"),
                ("day", "date"),
                ("at", "timestamp with time zone"),
                ("ok", "boolean"),
                ("amount", "numeric(10,2)"),
            ]),
        )
    } else {
        DecoderSpec::all_fields(Format::Json, vec![InputField::jdata()])
    };
    Decoder::new(spec).unwrap()
}

/// The seed's `customer` columns.
pub fn customer_fields() -> Vec<InputField> {
    [
        ("c_custkey", "integer"),
        ("c_name", "varchar(25)"),
        ("c_address", "varchar(40)"),
        ("c_nationkey", "integer"),
        ("c_phone", "varchar(15)"),
        ("c_acctbal", "double precision"),
        ("c_mktsegment", "varchar(10)"),
        ("c_comment", "varchar(117)"),
    ]
    .iter()
    .map(|(n, t)| InputField::new(*n, t).unwrap())
    .collect()
}

pub fn decode(decoder: &mut Decoder, value: Option<&[u8]>) -> Result<PageReader, RowError> {
    let mut page = decoder.new_page(PageLimits::default());
    let meta = MessageMeta {
        partition: 1,
        offset: 42,
        timestamp_ms: None,
        key: None,
    };
    decoder.decode(&meta, value, &mut page)?;
    Ok(PageReader::new(decoder.schema(), page.finish().unwrap()).unwrap())
}

/// `tests/corpus/`.
pub fn corpus_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"))
}

#[test]
fn every_corpus_file_has_its_documented_outcome() {
    let mut listed: Vec<&str> = CASES.iter().map(|(f, _)| *f).collect();
    listed.sort_unstable();
    let mut files: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort_unstable();
    let mut failures = Vec::new();
    for file in &files {
        let bytes = std::fs::read(corpus_dir().join(file)).unwrap();
        let got = decode(&mut decoder(file), Some(&bytes));
        let want = CASES.iter().find(|(f, _)| f == file).map(|(_, o)| *o);
        let got_outcome = got
            .as_ref()
            .map(|_| ())
            .map_err(|e| (e.kind, e.reason.as_str()));
        if want != Some(got_outcome) {
            failures.push(format!("{file}: got {got_outcome:?}, documented {want:?}"));
        }
        if let Err(e) = &got {
            assert_eq!((e.partition, e.offset), (1, 42), "{file}");
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(
        listed, files,
        "CASES and tests/corpus/ list different files"
    );
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(corpus_dir().join(file)).unwrap()
}

#[test]
fn valid_corpus_files_decode_to_the_expected_values() {
    let file = "customer-quotes-inside-quotes.msg";
    let page = decode(&mut decoder(file), Some(&read(file))).unwrap();
    assert_eq!(page.column(1).get(0), Some(Value::Text("Customer \"One\"")));
    assert_eq!(page.column(2).get(0), Some(Value::Text("a|b")));
    assert_eq!(page.column(7).get(0), Some(Value::Text("say \"hi\"")));
    let file = "customer-nulls.msg";
    let page = decode(&mut decoder(file), Some(&read(file))).unwrap();
    let row: Vec<_> = page.columns().map(|c| c.get(0)).collect();
    assert_eq!(row[0], Some(Value::Int32(1)));
    assert!(row[1..7].iter().all(Option::is_none));
    assert_eq!(row[7], Some(Value::Text("")));
    let file = "customer-quoted-newline.msg";
    let page = decode(&mut decoder(file), Some(&read(file))).unwrap();
    assert_eq!(page.column(7).get(0), Some(Value::Text("two\nlines")));
    let file = "events-valid.msg";
    let page = decode(&mut decoder(file), Some(&read(file))).unwrap();
    // 2024-01-02 03:04:05.123456+05:30 is 2024-01-01 21:34:05.123456 UTC.
    let utc = formats::datetime::parse_timestamp("2024-01-01 21:34:05.123456", false).unwrap();
    assert_eq!(page.column(2).get(0), Some(Value::Timestamptz(utc)));
    assert_eq!(page.column(4).get(0), Some(Value::Numeric("12.50")));
    let file = "json-not-an-object.msg";
    let page = decode(&mut decoder(file), Some(&read(file))).unwrap();
    assert_eq!(
        page.column(0).get(0),
        Some(Value::Json("[1, \"two\", {\"three\": 3}]"))
    );
}

/// A 10 MB message, made here rather than committed: over the default 8 MiB limit it is
/// a row error in every format; under a raised limit it decodes.
#[test]
fn a_10_mb_message() {
    let comment = "x".repeat(10 * 1000 * 1000);
    let csv = format!("1|Customer#1|addr|15|25-989-741-2988|711.56|BUILDING|{comment}");
    let json = format!("{{\"comment\": \"{comment}\"}}");
    for (file, message) in [("customer-", csv.as_bytes()), ("json-", json.as_bytes())] {
        let e = decode(&mut decoder(file), Some(message)).unwrap_err();
        assert_eq!(e.kind, TooLarge);
        assert_eq!(
            e.reason,
            format!(
                "the message is {} bytes (value and key), more than the limit of {DEFAULT_MAX_MESSAGE_BYTES} bytes",
                message.len()
            )
        );
    }
    let mut spec = DecoderSpec::all_fields(Format::Json, vec![InputField::jdata()]);
    spec.max_message_bytes = 16 << 20;
    let page = decode(&mut Decoder::new(spec).unwrap(), Some(json.as_bytes())).unwrap();
    assert_eq!(page.column(0).get(0), Some(Value::Json(&json)));
    // The CSV row is valid but for its comment, longer than varchar(117).
    let mut spec = DecoderSpec::all_fields(
        Format::Csv(CsvOptions::new(b'|').unwrap()),
        customer_fields(),
    );
    spec.max_message_bytes = 16 << 20;
    let e = decode(&mut Decoder::new(spec).unwrap(), Some(csv.as_bytes())).unwrap_err();
    assert_eq!(e.kind, Value);
    assert!(
        e.reason.starts_with("column \"c_comment\": \"xxxx"),
        "{}",
        e.reason
    );
    assert!(
        e.reason
            .ends_with("has 10000000 characters, more than varchar(117) allows"),
        "{}",
        e.reason
    );
}

/// A tombstone (NULL value): an error for csv, a NULL column for json and binary.
#[test]
fn tombstones() {
    let e = decode(&mut decoder("customer-"), None).unwrap_err();
    assert_eq!(e.kind, Tombstone);
    assert_eq!(
        e.reason,
        "the message value is NULL (a tombstone); a csv message must hold a row"
    );
    let page = decode(&mut decoder("json-"), None).unwrap();
    assert_eq!(page.column(0).get(0), None);
    let spec =
        DecoderSpec::all_fields(Format::Binary, vec![InputField::new("v", "bytea").unwrap()]);
    let page = decode(&mut Decoder::new(spec).unwrap(), None).unwrap();
    assert_eq!(page.column(0).get(0), None);
}
