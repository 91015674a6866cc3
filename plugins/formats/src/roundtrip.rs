//! The round-trip property: decode(encode(row)) == row, for every type and format.
//! Failures are saved under `proptest-regressions/roundtrip.txt`, to be committed.

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use xdrive_proto::page::{PageBuilder, PageLimits, PageReader, Value};
use xdrive_proto::schema::{Column, Schema};
use xdrive_proto::spq::MICROS_PER_DAY;

use crate::datetime::{
    DATE_END, DATE_INFINITY, DATE_MIN, DATE_NEG_INFINITY, TIMESTAMP_END, TIMESTAMP_INFINITY,
    TIMESTAMP_MIN, TIMESTAMP_NEG_INFINITY,
};
use crate::{CsvOptions, Decoder, DecoderSpec, Encoder, Format, InputField, MessageMeta};

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

/// A value that owns its text.
#[derive(Debug, Clone)]
enum Owned {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Bytea(Vec<u8>),
    Text(String),
    Date(i32),
    Time(i64),
    Timestamp(i64),
    Json(String),
    Numeric(String),
    Timestamptz(i64),
}

impl Owned {
    fn value(&self) -> Option<Value<'_>> {
        Some(match self {
            Owned::Null => return None,
            Owned::Bool(x) => Value::Bool(*x),
            Owned::I16(x) => Value::Int16(*x),
            Owned::I32(x) => Value::Int32(*x),
            Owned::I64(x) => Value::Int64(*x),
            Owned::F32(x) => Value::Float(*x),
            Owned::F64(x) => Value::Double(*x),
            Owned::Bytea(x) => Value::Bytea(x),
            Owned::Text(x) => Value::Text(x),
            Owned::Date(x) => Value::Date(*x),
            Owned::Time(x) => Value::Time(*x),
            Owned::Timestamp(x) => Value::Timestamp(*x),
            Owned::Json(x) => Value::Json(x),
            Owned::Numeric(x) => Value::Numeric(x),
            Owned::Timestamptz(x) => Value::Timestamptz(*x),
        })
    }
}

/// Equal, with floats compared by bits (NaN by NaN-ness).
fn same(a: Option<Value<'_>>, b: Option<Value<'_>>) -> bool {
    match (a, b) {
        (Some(Value::Float(x)), Some(Value::Float(y))) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Some(Value::Double(x)), Some(Value::Double(y))) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (a, b) => a == b,
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{0,16}",
        1 => "[a-z\"|,\\\\\r\n ]{0,8}",
        1 => any::<String>(),
    ]
    .prop_map(|s| s.replace('\0', ""))
}

fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        "-?(0|[1-9][0-9]{0,29})(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,3})?",
        "[a-z \"\\\\|,\n]{0,8}".prop_map(|s| format!("{s:?}")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..4).prop_map(|v| {
                let members: Vec<String> = v
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\": {v}"))
                    .collect();
                format!("{{{}}}", members.join(", "))
            }),
        ]
    })
}

/// A column type (as declared) and a strategy for its values (NULLs included).
fn column() -> impl Strategy<Value = (String, Vec<Owned>)> {
    let rows = 1..6usize;
    let typed = |name: &'static str, values: BoxedStrategy<Owned>| {
        (
            Just(name.to_owned()),
            prop::collection::vec(
                prop_oneof![1 => Just(Owned::Null), 6 => values],
                rows.clone(),
            ),
        )
    };
    prop_oneof![
        typed("bool", any::<bool>().prop_map(Owned::Bool).boxed()),
        typed("int2", any::<i16>().prop_map(Owned::I16).boxed()),
        typed("int4", any::<i32>().prop_map(Owned::I32).boxed()),
        typed("int8", any::<i64>().prop_map(Owned::I64).boxed()),
        typed("float4", any::<f32>().prop_map(Owned::F32).boxed()),
        typed("float8", any::<f64>().prop_map(Owned::F64).boxed()),
        typed(
            "bytea",
            prop::collection::vec(any::<u8>(), 0..12)
                .prop_map(Owned::Bytea)
                .boxed()
        ),
        typed("text", text().prop_map(Owned::Text).boxed()),
        typed("varchar(5)", "[a-zé ]{0,5}".prop_map(Owned::Text).boxed()),
        typed(
            "date",
            prop_oneof![
                8 => DATE_MIN..DATE_END,
                1 => Just(DATE_INFINITY),
                1 => Just(DATE_NEG_INFINITY),
            ]
            .prop_map(Owned::Date)
            .boxed()
        ),
        typed("time", (0..=MICROS_PER_DAY).prop_map(Owned::Time).boxed()),
        typed(
            "timestamp",
            prop_oneof![
                8 => TIMESTAMP_MIN..TIMESTAMP_END,
                1 => Just(TIMESTAMP_INFINITY),
                1 => Just(TIMESTAMP_NEG_INFINITY),
            ]
            .prop_map(Owned::Timestamp)
            .boxed()
        ),
        typed(
            "timestamptz",
            (TIMESTAMP_MIN..TIMESTAMP_END)
                .prop_map(Owned::Timestamptz)
                .boxed()
        ),
        typed("json", json_text().prop_map(Owned::Json).boxed()),
        typed(
            "numeric",
            prop_oneof![
                "-?[0-9]{1,20}(\\.[0-9]{1,8})?",
                Just("NaN".to_owned()),
                Just("Infinity".to_owned()),
                Just("-Infinity".to_owned()),
            ]
            .prop_map(Owned::Numeric)
            .boxed()
        ),
    ]
}

fn csv_options() -> impl Strategy<Value = CsvOptions> {
    (
        prop::sample::select(b",|\t; -:e1x.".to_vec()),
        prop::sample::select(b"\"'".to_vec()),
        any::<bool>(),
        prop::sample::select(vec!["", "\\N", "NULL"]),
    )
        .prop_filter_map(
            "options PostgreSQL refuses",
            |(delimiter, quote, backslash, null)| {
                let escape = if backslash { "\\" } else { "" };
                let (d, q) = (
                    char::from(delimiter).to_string(),
                    char::from(quote).to_string(),
                );
                CsvOptions::from_strs(&d, &q, escape, null).ok()
            },
        )
}

/// Builds a page of `columns` (all with the same row count: the shortest).
fn page_of(columns: &[(String, Vec<Owned>)]) -> (Vec<InputField>, PageReader, usize) {
    let nrow = columns.iter().map(|(_, v)| v.len()).min().unwrap_or(0);
    let fields: Vec<InputField> = columns
        .iter()
        .enumerate()
        .map(|(i, (t, _))| InputField::new(format!("c{i}"), t).unwrap())
        .collect();
    let schema = Schema::new(
        fields
            .iter()
            .map(|f| Column::new(f.name.clone(), f.ty.spq()))
            .collect(),
    )
    .unwrap();
    let mut b = PageBuilder::new(schema.clone(), PageLimits::default());
    for row in 0..nrow {
        for (_, values) in columns {
            b.push_opt(values[row].value()).unwrap();
        }
        b.end_row().unwrap();
    }
    (
        fields,
        PageReader::new(&schema, b.finish().unwrap()).unwrap(),
        nrow,
    )
}

/// Encodes every row of `page`, decodes the messages, and checks the rows came back.
fn round_trip(
    format: Format,
    fields: Vec<InputField>,
    page: &PageReader,
    nrow: usize,
) -> Result<(), TestCaseError> {
    let mut encoder = Encoder::new(&format, page.schema()).unwrap();
    let mut decoder = Decoder::new(DecoderSpec::all_fields(format, fields)).unwrap();
    let mut out = decoder.new_page(PageLimits::default());
    for row in 0..nrow {
        let message = encoder.encode(page, row).unwrap().map(<[u8]>::to_vec);
        let meta = MessageMeta {
            offset: row as i64,
            ..MessageMeta::default()
        };
        if let Err(e) = decoder.decode(&meta, message.as_deref(), &mut out) {
            let shown = message.as_deref().map(String::from_utf8_lossy);
            return Err(TestCaseError::fail(format!("{e}; message {shown:?}")));
        }
    }
    let back = PageReader::new(decoder.schema(), out.finish().unwrap()).unwrap();
    prop_assert_eq!(back.nrow(), nrow);
    for (i, (a, b)) in page.columns().zip(back.columns()).enumerate() {
        for row in 0..nrow {
            prop_assert!(
                same(a.get(row), b.get(row)),
                "column {} row {}: {:?} became {:?}",
                i,
                row,
                a.get(row),
                b.get(row)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn csv_rows_round_trip(options in csv_options(), columns in prop::collection::vec(column(), 1..6)) {
        let (fields, page, nrow) = page_of(&columns);
        round_trip(Format::Csv(options), fields, &page, nrow)?;
    }

    #[test]
    fn json_values_round_trip(values in prop::collection::vec(prop_oneof![1 => Just(Owned::Null), 4 => json_text().prop_map(Owned::Json)], 1..6)) {
        let (fields, page, nrow) = page_of(&[("json".to_owned(), values)]);
        round_trip(Format::Json, fields, &page, nrow)?;
    }

    #[test]
    fn binary_values_round_trip(values in prop::collection::vec(prop_oneof![1 => Just(Owned::Null), 4 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Owned::Bytea)], 1..6)) {
        let (fields, page, nrow) = page_of(&[("bytea".to_owned(), values)]);
        round_trip(Format::Binary, fields, &page, nrow)?;
    }
}

#[test]
fn tricky_csv_rows_round_trip() {
    let columns = vec![
        (
            "text".to_owned(),
            vec![
                Owned::Text(String::new()),
                Owned::Null,
                Owned::Text("a|\"b\"\r\n".into()),
            ],
        ),
        (
            "float8".to_owned(),
            vec![Owned::F64(-0.0), Owned::F64(f64::NAN), Owned::F64(1e300)],
        ),
        (
            "timestamptz".to_owned(),
            vec![
                Owned::Timestamptz(TIMESTAMP_MIN),
                Owned::Timestamptz(TIMESTAMP_END - 1),
                Owned::Timestamptz(TIMESTAMP_INFINITY),
            ],
        ),
        (
            "date".to_owned(),
            vec![
                Owned::Date(DATE_MIN),
                Owned::Date(DATE_END - 1),
                Owned::Date(-730_119),
            ],
        ),
    ];
    let (fields, page, nrow) = page_of(&columns);
    for delimiter in [b'|', b' ', b'-', b':'] {
        let options = CsvOptions::new(delimiter).unwrap();
        round_trip(Format::Csv(options), fields.clone(), &page, nrow).unwrap();
    }
}
