//! Proptest strategies and settings shared by the unit tests.

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use crate::message::*;
use crate::page::Value;
use crate::schema::{Column, Schema};
use crate::spq::{MICROS_PER_DAY, SpqType};

/// Our proptest settings: failures are saved under the crate's `proptest-regressions/`,
/// beside the source file's path (`src/page.rs` → `proptest-regressions/page.txt`), to be
/// committed.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z0-9 ]{0,12}",
        1 => any::<String>(),
    ]
}

fn bytes() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

fn f32_not_nan() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("NaN is not equal to itself", |x| !x.is_nan())
}

fn f64_not_nan() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN is not equal to itself", |x| !x.is_nan())
}

pub fn column_desc() -> impl Strategy<Value = ColumnDesc> {
    (text(), any::<i32>()).prop_map(|(name, r#type)| ColumnDesc { name, r#type })
}

pub fn filter() -> impl Strategy<Value = Filter> {
    (text(), text(), prop::collection::vec(text(), 0..3)).prop_map(|(op, column, args)| Filter {
        op,
        column,
        args,
    })
}

pub fn csv_spec() -> impl Strategy<Value = CsvSpec> {
    (text(), text(), any::<bool>(), text(), text()).prop_map(
        |(delimiter, nullstr, header, quote, escape)| CsvSpec {
            delimiter,
            nullstr,
            header,
            quote,
            escape,
        },
    )
}

pub fn file_spec() -> impl Strategy<Value = FileSpec> {
    (text(), text(), prop::option::of(csv_spec())).prop_map(|(path, format, csvspec)| FileSpec {
        path,
        format,
        csvspec,
    })
}

pub fn op_spec() -> impl Strategy<Value = OpSpec> {
    text().prop_map(|op| OpSpec { op })
}

pub fn op_status() -> impl Strategy<Value = OpStatus> {
    (any::<i32>(), text(), any::<i32>()).prop_map(|(errcode, errmsg, flag)| OpStatus {
        errcode,
        errmsg,
        flag,
    })
}

/// Any `XCol`, valid or not.
pub fn xcol() -> impl Strategy<Value = XCol> {
    let n = || 0..6usize;
    (
        text(),
        any::<i32>(),
        prop::collection::vec(any::<bool>(), n()),
        prop::collection::vec(text(), n()),
        prop::collection::vec(any::<i32>(), n()),
        prop::collection::vec(any::<i64>(), n()),
        prop::collection::vec(f32_not_nan(), n()),
        prop::collection::vec(f64_not_nan(), n()),
        prop::collection::vec(bytes(), n()),
    )
        .prop_map(
            |(colname, nrow, nullmap, sdata, i32data, i64data, f32data, f64data, bindata)| XCol {
                colname,
                nrow,
                nullmap,
                sdata,
                i32data,
                i64data,
                f32data,
                f64data,
                bindata,
            },
        )
}

pub fn read_request() -> impl Strategy<Value = ReadRequest> {
    (
        prop::option::of(file_spec()),
        prop::collection::vec(column_desc(), 0..4),
        prop::collection::vec(text(), 0..4),
        prop::collection::vec(filter(), 0..3),
        (any::<i32>(), any::<i32>(), any::<i64>()),
        (bytes(), any::<i32>(), bytes()),
    )
        .prop_map(
            |(
                filespec,
                columndesc,
                columnlist,
                filter,
                (frag_id, frag_cnt, ts),
                (query, bloomsz, bloom),
            )| {
                ReadRequest {
                    filespec,
                    columndesc,
                    columnlist,
                    filter,
                    frag_id,
                    frag_cnt,
                    ts,
                    query,
                    bloomsz,
                    bloom,
                }
            },
        )
}

pub fn sample_request() -> impl Strategy<Value = SampleRequest> {
    (
        prop::option::of(file_spec()),
        prop::collection::vec(column_desc(), 0..4),
        any::<i32>(),
        any::<i32>(),
        any::<i32>(),
    )
        .prop_map(
            |(filespec, columndesc, frag_id, frag_cnt, nrow)| SampleRequest {
                filespec,
                columndesc,
                frag_id,
                frag_cnt,
                nrow,
            },
        )
}

pub fn data_reply() -> impl Strategy<Value = DataReply> {
    (any::<i32>(), text(), bytes()).prop_map(|(errcode, errmsg, data)| DataReply {
        errcode,
        errmsg,
        data,
    })
}

pub fn xcol_data_reply() -> impl Strategy<Value = XColDataReply> {
    (any::<i32>(), text(), prop::option::of(xcol())).prop_map(|(errcode, errmsg, data)| {
        XColDataReply {
            errcode,
            errmsg,
            data,
        }
    })
}

pub fn size_meta_request() -> impl Strategy<Value = SizeMetaRequest> {
    (
        prop::option::of(file_spec()),
        prop::collection::vec(column_desc(), 0..4),
        any::<i32>(),
        any::<i32>(),
    )
        .prop_map(
            |(filespec, columndesc, frag_id, frag_cnt)| SizeMetaRequest {
                filespec,
                columndesc,
                frag_id,
                frag_cnt,
            },
        )
}

pub fn size_meta_reply() -> impl Strategy<Value = SizeMetaReply> {
    (any::<i32>(), text(), any::<i64>(), any::<i64>()).prop_map(|(errcode, errmsg, nrow, nbyte)| {
        SizeMetaReply {
            errcode,
            errmsg,
            nrow,
            nbyte,
        }
    })
}

pub fn write_request() -> impl Strategy<Value = WriteRequest> {
    (
        prop::option::of(file_spec()),
        prop::collection::vec(column_desc(), 0..4),
        any::<i32>(),
        any::<i32>(),
        any::<i64>(),
    )
        .prop_map(
            |(filespec, columndesc, frag_id, frag_cnt, ts)| WriteRequest {
                filespec,
                columndesc,
                frag_id,
                frag_cnt,
                ts,
            },
        )
}

pub fn write_data() -> impl Strategy<Value = WriteData> {
    bytes().prop_map(|data| WriteData { data })
}

pub fn write_reply() -> impl Strategy<Value = WriteReply> {
    (any::<i32>(), text()).prop_map(|(errcode, errmsg)| WriteReply { errcode, errmsg })
}

/// An owned value of some SPQ type, for building pages in tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Owned {
    Int(SpqType, i64),
    Float(f32),
    Double(f64),
    Str(SpqType, String),
    Bin(Vec<u8>),
}

impl Owned {
    pub fn as_value(&self) -> Value<'_> {
        match *self {
            Owned::Int(SpqType::Bool, x) => Value::Bool(x != 0),
            Owned::Int(SpqType::Int16, x) => Value::Int16(x as i16),
            Owned::Int(SpqType::Int32, x) => Value::Int32(x as i32),
            Owned::Int(SpqType::Date, x) => Value::Date(x as i32),
            Owned::Int(SpqType::Int64, x) => Value::Int64(x),
            Owned::Int(SpqType::TimeMicros, x) => Value::Time(x),
            Owned::Int(SpqType::TimestampMicros, x) => Value::Timestamp(x),
            Owned::Int(SpqType::TimestamptzMicros, x) => Value::Timestamptz(x),
            Owned::Float(x) => Value::Float(x),
            Owned::Double(x) => Value::Double(x),
            Owned::Str(SpqType::Json, ref s) => Value::Json(s),
            Owned::Str(SpqType::Numeric, ref s) => Value::Numeric(s),
            Owned::Str(_, ref s) => Value::Text(s),
            Owned::Bin(ref b) => Value::Bytea(b),
            Owned::Int(t, _) => unreachable!("{t} is not an integer type"),
        }
    }
}

/// Any value of type `t`, across its whole range.
pub fn value_of(t: SpqType) -> BoxedStrategy<Owned> {
    match t {
        SpqType::Bool => any::<bool>()
            .prop_map(move |b| Owned::Int(t, b.into()))
            .boxed(),
        SpqType::Int16 => any::<i16>()
            .prop_map(move |x| Owned::Int(t, x.into()))
            .boxed(),
        SpqType::Int32 | SpqType::Date => any::<i32>()
            .prop_map(move |x| Owned::Int(t, x.into()))
            .boxed(),
        SpqType::TimeMicros => (0..=MICROS_PER_DAY)
            .prop_map(move |x| Owned::Int(t, x))
            .boxed(),
        SpqType::Int64 | SpqType::TimestampMicros | SpqType::TimestamptzMicros => {
            any::<i64>().prop_map(move |x| Owned::Int(t, x)).boxed()
        }
        SpqType::Float => f32_not_nan().prop_map(Owned::Float).boxed(),
        SpqType::Double => f64_not_nan().prop_map(Owned::Double).boxed(),
        SpqType::Cstr | SpqType::Json | SpqType::Numeric => {
            text().prop_map(move |s| Owned::Str(t, s)).boxed()
        }
        SpqType::Bytea => prop::collection::vec(any::<u8>(), 0..24)
            .prop_map(Owned::Bin)
            .boxed(),
    }
}

pub fn spq_type() -> impl Strategy<Value = SpqType> {
    prop::sample::select(SpqType::ALL.to_vec())
}

/// A schema of 1 to 5 columns of any types, and up to `max_rows` rows of values (about a
/// third NULL, some columns all NULL).
pub fn table(max_rows: usize) -> impl Strategy<Value = (Schema, Vec<Vec<Option<Owned>>>)> {
    prop::collection::vec((spq_type(), 0..4u8), 1..6).prop_flat_map(move |types| {
        let schema = Schema::new(
            types
                .iter()
                .enumerate()
                .map(|(i, (t, _))| Column::new(format!("c{i}"), *t))
                .collect(),
        )
        .expect("distinct names");
        let row = types
            .iter()
            .map(|&(t, nulls)| match nulls {
                // All NULL.
                0 => Just(None).boxed(),
                // No NULLs.
                1 => value_of(t).prop_map(Some).boxed(),
                _ => prop::option::weighted(0.66, value_of(t)).boxed(),
            })
            .collect::<Vec<_>>();
        (Just(schema), prop::collection::vec(row, 0..=max_rows))
    })
}
