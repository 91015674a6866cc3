use bytes::BytesMut;
use prost::Message;

use super::*;
use crate::frame::{Frame, FrameCodec, HEADER_LEN, MAGIC};
use crate::message::{
    ColumnDesc, OpSpec, OpStatus, ReadRequest, WriteReply, WriteRequest, XCol, XColDataReply,
};
use crate::page::{PageBuilder, PageError, PageLimits, Value};
use crate::schema::Schema;
use crate::spq::SpqType;

fn descs() -> Vec<ColumnDesc> {
    vec![
        ColumnDesc {
            name: "id".into(),
            r#type: SpqType::Int32.code(),
        },
        ColumnDesc {
            name: "name".into(),
            r#type: SpqType::Cstr.code(),
        },
    ]
}

fn read_request(columnlist: &[&str]) -> ReadRequest {
    ReadRequest {
        columndesc: descs(),
        columnlist: columnlist.iter().map(|s| s.to_string()).collect(),
        frag_cnt: 1,
        ..ReadRequest::default()
    }
}

fn write_request() -> WriteRequest {
    WriteRequest {
        columndesc: descs(),
        frag_cnt: 1,
        ..WriteRequest::default()
    }
}

/// A page of `schema` with rows `(i, "row i")` for `rows`, NULL names for odd `i`.
fn page(schema: &Schema, rows: std::ops::Range<i32>) -> Vec<XCol> {
    let mut b = PageBuilder::new(schema.clone(), PageLimits::default());
    for i in rows {
        let text = format!("row {i}");
        for c in schema.columns() {
            match c.spq {
                SpqType::Int32 => b.push(Value::Int32(i)).unwrap(),
                _ if i % 2 == 1 => b.push_null().unwrap(),
                _ => b.push(Value::Text(&text)).unwrap(),
            }
        }
        b.end_row().unwrap();
    }
    b.finish().unwrap()
}

/// Takes every frame out of `out`.
fn drain(out: &mut BytesMut) -> Vec<Frame> {
    let mut codec = FrameCodec::default();
    let mut frames = Vec::new();
    while let Some(f) = codec.decode(out).unwrap() {
        frames.push(f);
    }
    assert!(out.is_empty(), "partial frame left");
    frames
}

fn one(out: &mut BytesMut) -> Frame {
    let mut frames = drain(out);
    assert_eq!(frames.len(), 1, "{frames:?}");
    frames.pop().unwrap()
}

fn frame_of<M: Message>(msg: &M) -> Frame {
    Frame::from_payload(msg.encode_to_vec().into())
}

/// Runs the read handshake; returns the machines ready for pages, and the plugin's view of
/// the columns.
fn read_handshake(columnlist: &[&str]) -> (ReadClient, PluginConversation, Schema) {
    let mut client = ReadClient::new(read_request(columnlist)).unwrap();
    let mut plugin = PluginConversation::new();
    let mut c2p = BytesMut::new();
    let mut p2c = BytesMut::new();
    assert_eq!(client.next(), Next::Send("OpSpec (start)"));
    client.start(&mut c2p).unwrap();
    assert_eq!(
        plugin.receive(one(&mut c2p)).unwrap(),
        PluginEvent::Op(Op::Read)
    );
    plugin.accept(&mut p2c).unwrap();
    assert_eq!(client.receive(one(&mut p2c)).unwrap(), ReadEvent::Accepted);
    client.send_request(&mut c2p).unwrap();
    let PluginEvent::ReadRequest { request, columns } = plugin.receive(one(&mut c2p)).unwrap()
    else {
        panic!("expected a read request")
    };
    assert_eq!(request, read_request(columnlist));
    assert_eq!(&columns, client.columns());
    assert_eq!(
        client.next(),
        Next::Receive("XColDataReply, or the end of the read")
    );
    (client, plugin, columns)
}

#[test]
fn read_happy_path() {
    let (mut client, mut plugin, columns) = read_handshake(&[]);
    let mut p2c = BytesMut::new();
    plugin.send_page(&page(&columns, 0..3), &mut p2c).unwrap();
    plugin.send_page(&page(&columns, 3..4), &mut p2c).unwrap();
    plugin.end_read(&mut p2c).unwrap();
    assert_eq!(plugin.next(), Next::Done);
    assert_eq!(plugin.pages(), 2);

    let frames = drain(&mut p2c);
    assert_eq!(frames.len(), 5);
    assert_eq!(frames[4], Frame::End);
    let mut pages = Vec::new();
    for (i, frame) in frames.into_iter().enumerate() {
        match client.receive(frame).unwrap() {
            ReadEvent::Column { index } => assert_eq!(index, 0, "frame {i}"),
            ReadEvent::Page(p) => pages.push(p),
            ReadEvent::End => assert_eq!(i, 4),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(client.next(), Next::Done);
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].nrow(), 3);
    assert_eq!(pages[0].column(1).get(0), Some(Value::Text("row 0")));
    assert_eq!(pages[0].column(1).get(1), None);
    assert_eq!(pages[1].column(0).get(0), Some(Value::Int32(3)));
}

#[test]
fn read_projection_sends_columns_in_columnlist_order() {
    let (mut client, mut plugin, columns) = read_handshake(&["name", "id"]);
    assert_eq!(columns.column(0).name, "name");
    let mut p2c = BytesMut::new();
    plugin.send_page(&page(&columns, 0..2), &mut p2c).unwrap();
    plugin.end_read(&mut p2c).unwrap();
    let frames = drain(&mut p2c);
    let first: XColDataReply = crate::message::decode(frames[0].clone()).unwrap();
    assert_eq!(first.data.unwrap().colname, "name");
    let mut events = frames.into_iter().map(|f| client.receive(f).unwrap());
    assert_eq!(events.next(), Some(ReadEvent::Column { index: 0 }));
    let Some(ReadEvent::Page(p)) = events.next() else {
        panic!()
    };
    assert_eq!(p.column(1).get(1), Some(Value::Int32(1)));
    assert_eq!(events.next(), Some(ReadEvent::End));
}

#[test]
fn read_with_a_plugin_page_in_the_wrong_column_order_is_refused_by_the_plugin_side() {
    let (_, mut plugin, _) = read_handshake(&["name", "id"]);
    let schema = Schema::from_descs(&descs()).unwrap(); // id, name
    let mut out = BytesMut::new();
    let err = plugin
        .send_page(&page(&schema, 0..1), &mut out)
        .unwrap_err();
    assert!(matches!(
        err,
        ConversationError::BadOutgoingPage {
            source: PageError::ColumnName { index: 0, .. },
            ..
        }
    ));
    assert!(!err.is_from_peer());
    assert!(out.is_empty());
}

#[test]
fn read_refused_at_opstatus() {
    let mut client = ReadClient::new(read_request(&[])).unwrap();
    let mut plugin = PluginConversation::new();
    let mut buf = BytesMut::new();
    client.start(&mut buf).unwrap();
    plugin.receive(one(&mut buf)).unwrap();
    plugin.reject(-7, "no reads today", &mut buf).unwrap();
    let err = client.receive(one(&mut buf)).unwrap_err();
    assert_eq!(
        err,
        ConversationError::Refused {
            op: "read",
            stage: "OpStatus",
            errcode: -7,
            errmsg: "no reads today".into()
        }
    );
    assert!(err.is_from_peer());
    assert_eq!(
        err.to_string(),
        "the plugin side refused the read at the OpStatus: no reads today (errcode -7)"
    );
    assert_eq!(client.next(), Next::Done);
    // The plugin side tolerates the request a Go-style peer sends anyway, then is done.
    let req = frame_of(&read_request(&[]));
    assert_eq!(plugin.receive(req.clone()).unwrap(), PluginEvent::Ignored);
    assert_eq!(plugin.next(), Next::Done);
    assert!(matches!(
        plugin.receive(req),
        Err(ConversationError::UnexpectedFrame { .. })
    ));
}

#[test]
fn unserved_ops_can_only_be_refused() {
    for (name, op) in [
        ("sample", Op::Sample),
        ("size_meta", Op::SizeMeta),
        ("drop table", Op::Other("drop table".into())),
    ] {
        let mut plugin = PluginConversation::new();
        let mut out = BytesMut::new();
        assert_eq!(
            plugin.receive(frame_of(&OpSpec::new(name))).unwrap(),
            PluginEvent::Op(op.clone())
        );
        assert_eq!(op.as_str(), name);
        assert_eq!(
            plugin.accept(&mut out).unwrap_err(),
            ConversationError::CannotAccept { op: name.into() }
        );
        assert!(out.is_empty());
        // Positive codes are sent negative.
        plugin.reject(5, "sample not supported", &mut out).unwrap();
        let status: OpStatus = crate::message::decode(one(&mut out)).unwrap();
        assert_eq!(status.errcode, -1);
        assert_eq!(status.errmsg, "sample not supported");
    }
}

#[test]
fn read_error_reply_mid_stream() {
    let (mut client, mut plugin, columns) = read_handshake(&[]);
    let mut p2c = BytesMut::new();
    plugin.send_page(&page(&columns, 0..2), &mut p2c).unwrap();
    plugin.fail(-20, "kafka went away", &mut p2c).unwrap();
    assert_eq!(plugin.next(), Next::Done);
    let frames = drain(&mut p2c);
    assert!(matches!(
        client.receive(frames[0].clone()),
        Ok(ReadEvent::Column { .. })
    ));
    assert!(matches!(
        client.receive(frames[1].clone()),
        Ok(ReadEvent::Page(_))
    ));
    let err = client.receive(frames[2].clone()).unwrap_err();
    assert!(matches!(
        err,
        ConversationError::Refused { errcode: -20, .. }
    ));
}

#[test]
fn read_ending_mid_page_is_an_error() {
    let (mut client, _, columns) = read_handshake(&[]);
    let col0 = page(&columns, 0..2).swap_remove(0);
    client
        .receive(frame_of(&XColDataReply::page(col0)))
        .unwrap();
    let err = client.receive(Frame::End).unwrap_err();
    assert_eq!(
        err.to_string(),
        "read client: the read ended in the middle of page 0, after 1 of its 2 columns"
    );
}

#[test]
fn read_pages_are_checked() {
    let (mut client, _, columns) = read_handshake(&[]);
    let mut cols = page(&columns, 0..2);
    // A page whose second column has fewer rows than its first.
    let short = page(&columns, 0..1).swap_remove(1);
    client
        .receive(frame_of(&XColDataReply::page(cols.remove(0))))
        .unwrap();
    let err = client
        .receive(frame_of(&XColDataReply::page(short)))
        .unwrap_err();
    assert!(matches!(
        err,
        ConversationError::Page {
            source: PageError::RowCountMismatch {
                nrow: 1,
                expected: 2,
                ..
            },
            ..
        }
    ));
    assert_eq!(client.next(), Next::Done);

    // A column under the wrong name.
    let (mut client, _, columns) = read_handshake(&[]);
    let mut cols = page(&columns, 0..2);
    cols[0].colname = "nope".into();
    let err = client
        .receive(frame_of(&XColDataReply::page(cols.remove(0))))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "read client: page 0 of the read is invalid"
    );
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert_eq!(
        source,
        "column 0 of the page is named \"nope\", expected \"id\""
    );
}

#[test]
fn read_needs_the_xcol_flag() {
    let mut client = ReadClient::new(read_request(&[])).unwrap();
    client.start(&mut BytesMut::new()).unwrap();
    // An all-default OpStatus is the zero-length frame: flag 0.
    let err = client.receive(Frame::End).unwrap_err();
    assert_eq!(err, ConversationError::NotXcolMode { flag: 0 });
}

#[test]
fn read_client_refuses_out_of_order_calls() {
    let mut client = ReadClient::new(read_request(&[])).unwrap();
    let mut out = BytesMut::new();
    assert!(matches!(
        client.send_request(&mut out),
        Err(ConversationError::WrongState { .. })
    ));
    assert!(matches!(
        client.receive(Frame::End),
        Err(ConversationError::UnexpectedFrame { .. })
    ));
    // Still usable: those were caller mistakes, not peer errors.
    client.start(&mut out).unwrap();
    assert!(matches!(
        client.start(&mut out),
        Err(ConversationError::WrongState { .. })
    ));
    assert_eq!(drain(&mut out).len(), 1);
}

#[test]
fn read_client_checks_the_request() {
    let mut req = read_request(&["missing"]);
    let err = ReadClient::new(req.clone()).unwrap_err();
    assert!(matches!(err, ConversationError::Schema { op: "read", .. }));
    assert!(!err.is_from_peer());
    req.columnlist.clear();
    req.columndesc[0].r#type = 0x0C; // UUID
    assert!(ReadClient::new(req).is_err());
}

#[test]
fn plugin_refuses_out_of_order_calls() {
    let mut plugin = PluginConversation::new();
    let mut out = BytesMut::new();
    assert!(plugin.send_page(&[], &mut out).is_err());
    assert!(plugin.accept(&mut out).is_err());
    assert!(plugin.ack(&mut out).is_err());
    assert!(plugin.end_read(&mut out).is_err());
    assert!(plugin.fail(-1, "x", &mut out).is_err());
    plugin.receive(frame_of(&OpSpec::new("write"))).unwrap();
    // A frame while an OpStatus is owed.
    assert_eq!(
        plugin.receive(Frame::End).unwrap_err(),
        ConversationError::UnexpectedFrame {
            side: "plugin side",
            state: "an OpStatus is owed"
        }
    );
    plugin.accept(&mut out).unwrap();
    assert!(plugin.accept(&mut out).is_err());
    assert!(plugin.end_read(&mut out).is_err());
    assert_eq!(drain(&mut out).len(), 1);
}

#[test]
fn plugin_bad_request_gets_an_error_reply_of_the_right_kind() {
    // Bad schema in a read request: the peer waits for an XColDataReply.
    let mut plugin = PluginConversation::new();
    let mut out = BytesMut::new();
    plugin.receive(frame_of(&OpSpec::new("read"))).unwrap();
    plugin.accept(&mut out).unwrap();
    out.clear();
    let mut req = read_request(&[]);
    req.columndesc[1].r#type = 0x1000_0009; // array of text
    let err = plugin.receive(frame_of(&req)).unwrap_err();
    assert!(matches!(err, ConversationError::Schema { op: "read", .. }));
    assert!(err.is_from_peer());
    assert_eq!(plugin.next(), Next::Send("the error reply (fail)"));
    plugin.fail(-3, &err.to_string(), &mut out).unwrap();
    let reply: XColDataReply = crate::message::decode(one(&mut out)).unwrap();
    assert_eq!(reply.errcode, -3);
    assert!(reply.data.is_none());
    assert_eq!(plugin.next(), Next::Done);

    // Garbage instead of an OpSpec: the peer waits for an OpStatus.
    let mut plugin = PluginConversation::new();
    let garbage = Frame::Message(bytes::Bytes::from_static(&[0x0a, 0x05, b'a']));
    let err = plugin.receive(garbage).unwrap_err();
    assert!(matches!(
        err,
        ConversationError::Message {
            stage: "OpSpec",
            ..
        }
    ));
    plugin.fail(-1, "bad OpSpec", &mut out).unwrap();
    let status: OpStatus = crate::message::decode(one(&mut out)).unwrap();
    assert_eq!(status.errcode, -1);
}

/// Runs the write handshake.
fn write_handshake() -> (WriteClient, PluginConversation, Schema) {
    let mut client = WriteClient::new(write_request()).unwrap();
    let mut plugin = PluginConversation::new();
    let mut c2p = BytesMut::new();
    let mut p2c = BytesMut::new();
    client.start(&mut c2p).unwrap();
    assert_eq!(
        plugin.receive(one(&mut c2p)).unwrap(),
        PluginEvent::Op(Op::Write)
    );
    plugin.accept(&mut p2c).unwrap();
    assert_eq!(client.receive(one(&mut p2c)).unwrap(), WriteEvent::Accepted);
    client.send_request(&mut c2p).unwrap();
    let PluginEvent::WriteRequest { request, columns } = plugin.receive(one(&mut c2p)).unwrap()
    else {
        panic!("expected a write request")
    };
    assert_eq!(request, write_request());
    plugin.ack(&mut p2c).unwrap();
    // A success WriteReply is the zero-length frame, as the Go plugins send it.
    assert_eq!(p2c.as_ref(), &[0xbb, 0x30, 0xaa, 0x20, 0, 0, 0, 0]);
    assert_eq!(client.receive(one(&mut p2c)).unwrap(), WriteEvent::Ready);
    (client, plugin, columns)
}

#[test]
fn write_happy_path() {
    let (mut client, mut plugin, columns) = write_handshake();
    let mut c2p = BytesMut::new();
    let mut p2c = BytesMut::new();
    let mut received = 0;
    for rows in [0..3, 3..5] {
        let sent = page(&columns, rows.clone());
        client.send_page(&sent, &mut c2p).unwrap();
        assert_eq!(client.next(), Next::Receive("WriteReply"));
        // The client may not send more before the page is acknowledged.
        assert!(client.send_page(&sent, &mut BytesMut::new()).is_err());
        assert!(client.finish(&mut BytesMut::new()).is_err());
        for frame in drain(&mut c2p) {
            match plugin.receive(frame).unwrap() {
                PluginEvent::WriteColumn { index } => assert_eq!(index, 0),
                PluginEvent::WritePage(p) => {
                    assert_eq!(p.nrow(), rows.len());
                    assert_eq!(p.clone().into_xcols(), sent);
                    received += 1;
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(plugin.next(), Next::Send("WriteReply"));
            plugin.ack(&mut p2c).unwrap();
        }
        let mut events = drain(&mut p2c)
            .into_iter()
            .map(|f| client.receive(f).unwrap());
        assert_eq!(events.next(), Some(WriteEvent::ColumnAcked { index: 0 }));
        assert_eq!(events.next(), Some(WriteEvent::PageAcked));
        assert_eq!(events.next(), None);
    }
    assert_eq!(received, 2);
    // An empty page sends nothing.
    client.send_page(&page(&columns, 0..0), &mut c2p).unwrap();
    assert!(c2p.is_empty());
    client.finish(&mut c2p).unwrap();
    assert_eq!(
        plugin.receive(one(&mut c2p)).unwrap(),
        PluginEvent::WriteEnd
    );
    plugin.ack(&mut p2c).unwrap();
    assert_eq!(plugin.next(), Next::Done);
    assert_eq!(client.receive(one(&mut p2c)).unwrap(), WriteEvent::Done);
    assert_eq!(client.next(), Next::Done);
    assert_eq!((client.pages(), plugin.pages()), (2, 2));
}

#[test]
fn write_ends_with_an_xcol_of_no_rows() {
    let (_, mut plugin, _) = write_handshake();
    let end = XCol {
        colname: "id".into(),
        ..XCol::default()
    };
    assert_eq!(
        plugin.receive(frame_of(&end)).unwrap(),
        PluginEvent::WriteEnd
    );
}

#[test]
fn write_ending_mid_page_is_an_error_with_a_final_error_reply() {
    let (mut client, mut plugin, columns) = write_handshake();
    let cols = page(&columns, 0..2);
    let mut p2c = BytesMut::new();
    // A peer that sends one column and then ends.
    assert_eq!(
        plugin.receive(frame_of(&cols[0])).unwrap(),
        PluginEvent::WriteColumn { index: 0 }
    );
    plugin.ack(&mut p2c).unwrap();
    let err = plugin.receive(Frame::End).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin side: the write ended in the middle of page 0, after 1 of its 2 columns"
    );
    plugin.fail(-1, &err.to_string(), &mut p2c).unwrap();
    let frames = drain(&mut p2c);
    let reply: WriteReply = crate::message::decode(frames[1].clone()).unwrap();
    assert_eq!(reply.errcode, -1);
    assert!(reply.errmsg.contains("middle of page 0"));

    // Our client, which sends whole pages, sees a column refused.
    client.send_page(&cols, &mut BytesMut::new()).unwrap();
    let err = client.receive(frames[1].clone()).unwrap_err();
    assert!(matches!(
        err,
        ConversationError::Refused {
            op: "write",
            stage: "reply to a page column",
            errcode: -1,
            ..
        }
    ));
}

#[test]
fn write_final_failure_is_reported() {
    let (mut client, mut plugin, _) = write_handshake();
    let mut buf = BytesMut::new();
    client.finish(&mut buf).unwrap();
    assert_eq!(
        plugin.receive(one(&mut buf)).unwrap(),
        PluginEvent::WriteEnd
    );
    plugin.fail(-5, "flush failed", &mut buf).unwrap();
    let err = client.receive(one(&mut buf)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the plugin side refused the write at the final reply: flush failed (errcode -5)"
    );
}

#[test]
fn write_refused_request() {
    let mut client = WriteClient::new(write_request()).unwrap();
    let mut plugin = PluginConversation::new();
    let mut buf = BytesMut::new();
    client.start(&mut buf).unwrap();
    plugin.receive(one(&mut buf)).unwrap();
    plugin.accept(&mut buf).unwrap();
    client.receive(one(&mut buf)).unwrap();
    client.send_request(&mut buf).unwrap();
    plugin.receive(one(&mut buf)).unwrap();
    plugin.fail(-2, "topic does not exist", &mut buf).unwrap();
    let err = client.receive(one(&mut buf)).unwrap_err();
    assert!(matches!(
        err,
        ConversationError::Refused {
            stage: "reply to the WriteRequest",
            errcode: -2,
            ..
        }
    ));
    assert_eq!(client.next(), Next::Done);
}

#[test]
fn write_hostile_columns_are_refused_naming_the_column() {
    let (_, mut plugin, _) = write_handshake();
    let hostile = XCol {
        colname: "id".into(),
        nrow: i32::MAX,
        nullmap: vec![false; 3],
        i32data: vec![1, 2, 3],
        ..XCol::default()
    };
    let err = plugin.receive(frame_of(&hostile)).unwrap_err();
    let ConversationError::Page { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        source.to_string(),
        "column \"id\" has 3 null flags for 2147483647 rows"
    );
    let mut out = BytesMut::new();
    plugin.fail(-1, &err.to_string(), &mut out).unwrap();
    let reply: WriteReply = crate::message::decode(one(&mut out)).unwrap();
    assert_eq!(reply.errcode, -1);

    // Negative rows.
    let (_, mut plugin, _) = write_handshake();
    let negative = XCol {
        colname: "id".into(),
        nrow: -4,
        ..XCol::default()
    };
    assert!(matches!(
        plugin.receive(frame_of(&negative)),
        Err(ConversationError::Page {
            source: PageError::NegativeRowCount { nrow: -4, .. },
            ..
        })
    ));
}

#[test]
fn write_client_refuses_a_page_of_other_columns() {
    let (mut client, _, _) = write_handshake();
    let other = Schema::new(vec![crate::schema::Column::new("id", SpqType::Int32)]).unwrap();
    let mut out = BytesMut::new();
    let err = client.send_page(&page(&other, 0..1), &mut out).unwrap_err();
    assert!(matches!(
        err,
        ConversationError::BadOutgoingPage {
            source: PageError::ColumnCount {
                expected: 2,
                got: 1
            },
            ..
        }
    ));
    assert!(out.is_empty());
    assert_eq!(
        client.next(),
        Next::Send("a page (send_page) or the end (finish)")
    );
}

#[test]
fn too_large_pages_leave_nothing_half_written() {
    let mut plugin = PluginConversation::with_max_frame_len(64);
    let mut out = BytesMut::new();
    plugin.receive(frame_of(&OpSpec::new("read"))).unwrap();
    plugin.accept(&mut out).unwrap();
    let PluginEvent::ReadRequest { columns, .. } =
        plugin.receive(frame_of(&read_request(&[]))).unwrap()
    else {
        panic!()
    };
    out.clear();
    // The id column fits a 64-byte frame, the name column does not.
    let mut b = PageBuilder::new(columns.clone(), PageLimits::default());
    let long = "x".repeat(100);
    b.push(Value::Int32(1)).unwrap();
    b.push(Value::Text(&long)).unwrap();
    b.end_row().unwrap();
    let err = plugin
        .send_page(&b.finish().unwrap(), &mut out)
        .unwrap_err();
    assert!(matches!(err, ConversationError::Frame { .. }));
    assert!(out.is_empty());
    // Still reading: an error reply can go out.
    plugin.fail(-1, "page too large", &mut out).unwrap();
    assert_eq!(drain(&mut out).len(), 1);
}

#[test]
fn end_frames_on_the_wire() {
    let (_, mut plugin, _) = read_handshake(&[]);
    let mut out = BytesMut::new();
    plugin.end_read(&mut out).unwrap();
    let mut expected = MAGIC.to_le_bytes().to_vec();
    expected.extend_from_slice(&0i32.to_le_bytes());
    assert_eq!(out.len(), HEADER_LEN);
    assert_eq!(out.as_ref(), expected.as_slice());
}

#[test]
fn zero_column_read() {
    let mut req = read_request(&[]);
    req.columndesc.clear();
    let mut client = ReadClient::new(req).unwrap();
    let mut out = BytesMut::new();
    client.start(&mut out).unwrap();
    client.receive(frame_of(&OpStatus::ok_xcol())).unwrap();
    client.send_request(&mut out).unwrap();
    let stray = page(&Schema::from_descs(&descs()).unwrap(), 0..1).swap_remove(0);
    assert!(matches!(
        client.receive(frame_of(&XColDataReply::page(stray))),
        Err(ConversationError::Page {
            source: PageError::ColumnCount {
                expected: 0,
                got: 1
            },
            ..
        })
    ));
}

/// A builder holding the page `page(schema, rows)` describes.
fn builder_of(schema: &Schema, rows: std::ops::Range<i32>) -> PageBuilder {
    let mut b = PageBuilder::new(schema.clone(), PageLimits::default());
    for i in rows {
        let text = format!("row {i}");
        for c in schema.columns() {
            match c.spq {
                SpqType::Int32 => b.push(Value::Int32(i)).unwrap(),
                _ if i % 2 == 1 => b.push_null().unwrap(),
                _ => b.push(Value::Text(&text)).unwrap(),
            }
        }
        b.end_row().unwrap();
    }
    b
}

#[test]
fn builders_send_the_same_bytes_as_pages() {
    // Read: the plugin side.
    let (_, mut plugin, columns) = read_handshake(&["name", "id"]);
    let (mut via_page, mut via_builder) = (BytesMut::new(), BytesMut::new());
    plugin
        .send_page(&page(&columns, 0..3), &mut via_page)
        .unwrap();
    let mut b = builder_of(&columns, 0..3);
    plugin.send_builder(&mut b, &mut via_builder).unwrap();
    assert_eq!(via_builder, via_page);
    assert_eq!(plugin.pages(), 2);
    // An empty builder sends nothing; one of other columns is refused.
    plugin.send_builder(&mut b, &mut via_builder).unwrap();
    assert_eq!(plugin.pages(), 2);
    let other = Schema::from_descs(&descs()).unwrap();
    let err = plugin
        .send_builder(&mut builder_of(&other, 0..1), &mut via_builder)
        .unwrap_err();
    assert!(matches!(
        err,
        ConversationError::BadOutgoingPage {
            source: PageError::ColumnName { index: 0, .. },
            ..
        }
    ));
    assert_eq!(via_builder, via_page);

    // Write: the client side, and the plugin side reads the page back.
    let (mut client, mut plugin, columns) = write_handshake();
    let mut c2p = BytesMut::new();
    client
        .send_builder(&mut builder_of(&columns, 0..3), &mut c2p)
        .unwrap();
    assert_eq!(client.next(), Next::Receive("WriteReply"));
    let mut expected = BytesMut::new();
    for x in page(&columns, 0..3) {
        FrameCodec::default()
            .encode_message(&x, &mut expected)
            .unwrap();
    }
    assert_eq!(c2p, expected);
    let mut p2c = BytesMut::new();
    for frame in drain(&mut c2p) {
        if let PluginEvent::WritePage(p) = plugin.receive(frame).unwrap() {
            assert_eq!(p.into_xcols(), page(&columns, 0..3));
        }
        plugin.ack(&mut p2c).unwrap();
    }
    for frame in drain(&mut p2c) {
        client.receive(frame).unwrap();
    }
    assert_eq!(client.pages(), 1);
}
