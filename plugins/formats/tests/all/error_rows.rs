//! Bad messages as error rows: what the plugin sends back when the query has an error
//! limit.

use formats::{ERROR_SCHEMA, push_error_row};
use xdrive_proto::page::{PageBuilder, PageLimits, PageReader, Value};

use crate::corpus::{corpus_dir, decode, decoder};

#[test]
fn the_corpus_as_error_rows() {
    let mut errors = PageBuilder::new(ERROR_SCHEMA.clone(), PageLimits::default());
    let mut raws = Vec::new();
    for file in [
        "customer-truncated.msg",
        "customer-invalid-utf8.msg",
        "json-invalid.msg",
    ] {
        let raw = std::fs::read(corpus_dir().join(file)).unwrap();
        let e = decode(&mut decoder(file), Some(&raw)).unwrap_err();
        push_error_row(&mut errors, &e, Some(&raw), 1 << 20).unwrap();
        raws.push((raw, e.reason));
    }
    let page = PageReader::new(&ERROR_SCHEMA, errors.finish().unwrap()).unwrap();
    assert_eq!(page.nrow(), 3);
    let names: Vec<_> = page.columns().map(|c| c.name()).collect();
    assert_eq!(names, ["partition", "offset", "raw", "reason"]);
    for (row, (raw, reason)) in raws.iter().enumerate() {
        assert_eq!(page.column(0).get(row), Some(Value::Int32(1)));
        assert_eq!(page.column(1).get(row), Some(Value::Int64(42)));
        assert_eq!(page.column(2).get(row), Some(Value::Bytea(raw)));
        assert_eq!(page.column(3).get(row), Some(Value::Text(reason)));
    }
}
