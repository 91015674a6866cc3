//! The borrowing `XCol` decoder and the page reader on arbitrary bytes, against prost and a
//! schema chosen by the input: the first byte gives the number of columns (`% 5`) and, in
//! its top bit, whether the columns come as `XColDataReply`s (a read) or bare `XCol`s (a
//! write); the next bytes give the columns' types; the rest is a sequence of payloads, each
//! prefixed by its length as a varint.
//!
//! Checked: the decoder never panics and agrees with prost (what one accepts the other does,
//! to the same values, except text that is not UTF-8, which prost refuses at once and we
//! refuse when the page is checked); the page reader accepts exactly the pages prost's path
//! accepts, and whatever it accepts is readable to the last value.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use xdrive_proto::message::{XCol, XColDataReply};
use xdrive_proto::page::PageReader;
use xdrive_proto::schema::{Column, Schema};
use xdrive_proto::spq::SpqType;
use xdrive_proto::wire::{self, WireXCol};

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let ncol = usize::from(head & 0x7f) % 5;
    let replies = head & 0x80 != 0;
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

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut all_decoded = true;
    while !rest.is_empty() && ours.len() < 8 {
        let Ok(len) = prost::encoding::decode_varint(&mut rest) else {
            break;
        };
        let len = (len as usize).min(rest.len());
        let (payload, tail) = rest.split_at(len);
        rest = tail;
        let (mine, prost) = if replies {
            let mine = wire::decode_xcol_reply(Bytes::copy_from_slice(payload))
                .map(|r| r.data.unwrap_or_default());
            let prost = XColDataReply::decode(payload).map(|r| r.data.unwrap_or_default());
            (mine, prost)
        } else {
            let mine = WireXCol::decode(Bytes::copy_from_slice(payload));
            (mine, XCol::decode(payload))
        };
        match (mine, prost) {
            (Ok(m), Ok(p)) => {
                // NaN is not equal to itself: compare encodings.
                let m_xcol = m.to_xcol().expect("prost accepted the text");
                assert_eq!(m_xcol.encode_to_vec(), p.encode_to_vec());
                ours.push(m);
                theirs.push(p);
            }
            (Ok(m), Err(_)) => {
                assert!(m.to_xcol().is_none(), "prost refuses what we accept");
                all_decoded = false;
                ours.push(m);
            }
            (Err(e), Ok(p)) => panic!("we refuse what prost accepts ({e}): {p:?}"),
            (Err(_), Err(_)) => all_decoded = false,
        }
    }

    let page = PageReader::from_wire(&schema, ours);
    if all_decoded {
        let prost_page = PageReader::new(&schema, theirs);
        assert_eq!(
            page.is_ok(),
            prost_page.is_ok(),
            "{page:?} vs {prost_page:?}"
        );
    }
    if let Ok(page) = page {
        for view in page.columns() {
            assert_eq!(view.len(), page.nrow());
            for row in 0..view.len() {
                std::hint::black_box(view.get(row));
                std::hint::black_box(view.get_bytes(row));
            }
        }
    }
});
