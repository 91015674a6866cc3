//! The page reader on arbitrary `XCol`s against a schema chosen by the input: the first byte
//! gives the number of columns (0 to 4), the next ones their types, the rest is a sequence
//! of length-delimited `XCol`s. Whatever the reader accepts must be readable to the last
//! value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use xdrive_proto::message::XCol;
use xdrive_proto::page::PageReader;
use xdrive_proto::schema::{Column, Schema};
use xdrive_proto::spq::SpqType;

fuzz_target!(|data: &[u8]| {
    let Some((&ncol, rest)) = data.split_first() else {
        return;
    };
    let ncol = usize::from(ncol % 5);
    if rest.len() < ncol {
        return;
    }
    let (types, mut rest) = rest.split_at(ncol);
    let columns = types
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let spq = SpqType::ALL[usize::from(t) % SpqType::ALL.len()];
            Column::new(format!("c{i}"), spq)
        })
        .collect();
    let schema = Schema::new(columns).expect("distinct names");
    let mut xcols = Vec::new();
    while !rest.is_empty() && xcols.len() < 8 {
        match XCol::decode_length_delimited(&mut rest) {
            Ok(x) => xcols.push(x),
            Err(_) => break,
        }
    }
    if let Ok(page) = PageReader::new(&schema, xcols) {
        for view in page.columns() {
            assert_eq!(view.len(), page.nrow());
            for value in view.iter() {
                std::hint::black_box(value);
            }
        }
    }
});
