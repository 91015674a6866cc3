//! The frame decoder on arbitrary bytes, fed in two chunks, with a small maximum; every
//! frame is then decoded as each message a link carries.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use xdrive_proto::frame::FrameCodec;
use xdrive_proto::message::{
    self, OpSpec, OpStatus, ReadRequest, WriteReply, WriteRequest, XCol, XColDataReply,
};

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(data.len());
    let mut codec = FrameCodec::new(4096);
    let mut buf = BytesMut::from(&data[..split]);
    let mut frames = Vec::new();
    let mut failed = false;
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(frame)) => {
                assert!(frame.payload().len() <= 4096);
                frames.push(frame);
            }
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    if !failed {
        buf.extend_from_slice(&data[split..]);
        while let Ok(Some(frame)) = codec.decode_eof(&mut buf) {
            frames.push(frame);
        }
    }
    for frame in frames {
        let _ = message::decode::<OpSpec>(frame.clone());
        let _ = message::decode::<OpStatus>(frame.clone());
        let _ = message::decode::<ReadRequest>(frame.clone());
        let _ = message::decode::<WriteRequest>(frame.clone());
        let _ = message::decode::<WriteReply>(frame.clone());
        let _ = message::decode::<XColDataReply>(frame.clone());
        let _ = message::decode::<XCol>(frame);
    }
});
