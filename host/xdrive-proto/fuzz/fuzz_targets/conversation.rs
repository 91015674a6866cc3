//! The conversation machines on arbitrary frames: the plugin side (answering every event
//! the way a plugin would) and both clients after their handshakes. They may refuse the
//! input; they must not panic.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use xdrive_proto::conversation::{PluginConversation, PluginEvent, ReadClient, WriteClient};
use xdrive_proto::frame::{Frame, FrameCodec};
use xdrive_proto::message::{ColumnDesc, OpStatus, ReadRequest, WriteRequest};

fn descs() -> Vec<ColumnDesc> {
    vec![
        ColumnDesc {
            name: "a".into(),
            r#type: 0x3,
        },
        ColumnDesc {
            name: "b".into(),
            r#type: 0x9,
        },
    ]
}

fn frames(data: &[u8]) -> Vec<Frame> {
    let mut codec = FrameCodec::new(1 << 16);
    let mut buf = BytesMut::from(data);
    let mut out = Vec::new();
    while let Ok(Some(f)) = codec.decode(&mut buf) {
        out.push(f);
    }
    out
}

fn ok_status() -> Frame {
    Frame::Message(Bytes::from(prost::Message::encode_to_vec(
        &OpStatus::ok_xcol(),
    )))
}

fuzz_target!(|data: &[u8]| {
    let frames = frames(data);
    let mut out = BytesMut::new();

    let mut plugin = PluginConversation::with_max_frame_len(1 << 16);
    for f in frames.iter().cloned() {
        let event = match plugin.receive(f) {
            Ok(e) => e,
            Err(e) => {
                let _ = plugin.fail(-1, &e.to_string(), &mut out);
                break;
            }
        };
        let _ = match event {
            PluginEvent::Op(_) => plugin
                .accept(&mut out)
                .or_else(|_| plugin.reject(-1, "no", &mut out)),
            PluginEvent::ReadRequest { .. } => plugin.end_read(&mut out),
            PluginEvent::WriteRequest { .. }
            | PluginEvent::WriteColumn { .. }
            | PluginEvent::WritePage(_)
            | PluginEvent::WriteEnd => plugin.ack(&mut out),
            _ => Ok(()),
        };
    }

    let mut read = ReadClient::new(ReadRequest {
        columndesc: descs(),
        ..Default::default()
    })
    .unwrap();
    read.start(&mut out).unwrap();
    read.receive(ok_status()).unwrap();
    read.send_request(&mut out).unwrap();
    for f in frames.iter().cloned() {
        if read.receive(f).is_err() {
            break;
        }
    }

    let mut write = WriteClient::new(WriteRequest {
        columndesc: descs(),
        ..Default::default()
    })
    .unwrap();
    write.start(&mut out).unwrap();
    write.receive(ok_status()).unwrap();
    write.send_request(&mut out).unwrap();
    for f in frames {
        if write.receive(f).is_err() {
            break;
        }
    }
});
