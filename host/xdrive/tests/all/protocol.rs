//! Bad requests get a clear error reply, and the server goes on serving others.

use xdrive::ReadSpec;
use xdrive::errcode;
use xdrive::proto::message::{FileSpec, OpSpec, OpStatus, SampleRequest};

use crate::harness::{Server, error_reply, frame, raw_exchange, read_error, schema};

#[tokio::test]
async fn a_malformed_frame_is_refused() {
    let server = Server::start();
    let frames = raw_exchange(server.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(frames.len(), 1);
    let (code, msg) = error_reply(&frames[0]);
    assert_eq!(code, errcode::BAD_REQUEST);
    assert!(msg.contains("malformed frame"), "{msg}");
    assert!(msg.contains("magic"), "{msg}");
    server.assert_serves().await;
}

#[tokio::test]
async fn an_oversized_frame_is_refused_before_it_is_read() {
    let server = Server::start();
    let mut header = xdrive::proto::frame::MAGIC.to_le_bytes().to_vec();
    header.extend_from_slice(&i32::MAX.to_le_bytes());
    let frames = raw_exchange(server.addr, &header).await;
    let (code, msg) = error_reply(&frames[0]);
    assert_eq!(code, errcode::BAD_REQUEST);
    assert!(msg.contains("more than the maximum"), "{msg}");
    server.assert_serves().await;
}

#[tokio::test]
async fn a_second_frame_that_is_not_a_request_is_refused() {
    let server = Server::start();
    let mut bytes = frame(&OpSpec::new("read"));
    bytes.extend_from_slice(&[0xbb, 0x30, 0xaa, 0x20, 2, 0, 0, 0, 0x0a, 0x05]);
    let frames = raw_exchange(server.addr, &bytes).await;
    assert_eq!(frames.len(), 2, "OpStatus, then the error");
    let status: OpStatus = prost::Message::decode(frames[0].payload()).unwrap();
    assert_eq!(status.errcode, 0);
    let (code, msg) = error_reply(&frames[1]);
    assert_eq!(code, errcode::BAD_REQUEST, "{msg}");
    server.assert_serves().await;
}

#[tokio::test]
async fn an_unknown_op_is_refused() {
    let server = Server::start();
    let frames = raw_exchange(server.addr, &frame(&OpSpec::new("frobnicate"))).await;
    assert_eq!(frames.len(), 1);
    let (code, msg) = error_reply(&frames[0]);
    assert_eq!(code, errcode::UNKNOWN_OP);
    assert!(msg.contains("unknown op \"frobnicate\""), "{msg}");
    server.assert_serves().await;
}

#[tokio::test]
async fn an_op_the_plugin_does_not_serve_is_refused_by_the_plugin() {
    let server = Server::start();
    let mut bytes = frame(&OpSpec::new("sample"));
    bytes.extend(frame(&SampleRequest {
        filespec: Some(FileSpec {
            path: "/test/x".into(),
            ..FileSpec::default()
        }),
        nrow: 10,
        ..SampleRequest::default()
    }));
    let frames = raw_exchange(server.addr, &bytes).await;
    assert_eq!(
        frames.len(),
        2,
        "xdrive's OpStatus, then the plugin's refusal"
    );
    let (code, msg) = error_reply(&frames[1]);
    assert_eq!(code, -2, "{msg}");
    assert!(msg.contains("does not serve the sample operation"), "{msg}");
    server.assert_serves().await;
}

#[tokio::test]
async fn an_unknown_mountpoint_is_refused() {
    let server = Server::start();
    let spec = ReadSpec::new("/nope/x", &schema());
    let err = read_error(&server.client(), &spec).await;
    assert_eq!(err.errcode(), Some(errcode::UNKNOWN_MOUNT), "{err}");
    assert!(!err.is_retriable());
    let msg = err.to_string();
    assert!(msg.contains("mount \"nope\""), "{msg}");
    assert!(
        msg.contains("unknown mountpoint \"nope\": this xdrive mounts \"test\""),
        "{msg}"
    );
    server.assert_serves().await;
}

#[tokio::test]
async fn a_path_escaping_its_mount_is_refused() {
    let server = Server::start();
    for path in ["/test/../etc/passwd", "/test/a/../../b", "/../test/x"] {
        let spec = ReadSpec::new(path, &schema());
        let err = read_error(&server.client(), &spec).await;
        assert_eq!(err.errcode(), Some(errcode::BAD_PATH), "{path}: {err}");
        assert!(err.to_string().contains("escapes its mountpoint"), "{err}");
    }
    server.assert_serves().await;
}

#[tokio::test]
async fn a_client_that_sends_opspec_and_request_back_to_back_is_served() {
    let server = Server::start();
    let spec = ReadSpec::new("/test/x", &schema()).query("rows=5");
    let mut bytes = frame(&OpSpec::new("read"));
    bytes.extend(frame(&spec.to_request()));
    let mut conn = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut conn, &bytes)
        .await
        .unwrap();
    // The same connection, read as a page stream, must yield OpStatus then 3 columns and the
    // end: count the frames.
    let mut buf = bytes::BytesMut::new();
    let mut codec = xdrive::proto::frame::FrameCodec::default();
    let mut frames = Vec::new();
    while frames
        .last()
        .is_none_or(|f: &xdrive::proto::frame::Frame| !f.is_end() || frames.len() < 2)
    {
        match codec.decode(&mut buf).unwrap() {
            Some(f) => frames.push(f),
            None => {
                let n = tokio::io::AsyncReadExt::read_buf(&mut conn, &mut buf)
                    .await
                    .unwrap();
                assert!(n > 0, "closed after {} frames", frames.len());
            }
        }
    }
    assert_eq!(frames.len(), 1 + 3 + 1);
}
