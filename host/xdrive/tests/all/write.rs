//! Writes through a real xdrive.

use xdrive::WriteSpec;
use xdrive::proto::page::Value;
use xdrive::proto::schema::{Column, Schema};
use xdrive::proto::spq::SpqType;

use crate::harness::{Server, wait_for_file};

fn schema() -> Schema {
    Schema::new(vec![
        Column::new("n", SpqType::Int64),
        Column::new("tag", SpqType::Cstr),
    ])
    .unwrap()
}

#[tokio::test]
async fn a_write_reaches_the_plugin_whole() {
    let server = Server::start();
    let spec = WriteSpec::new("/test/batch1", &schema());
    let mut w = server.client().write(&spec).await.unwrap();
    let mut b = w.page_builder();
    let mut expect_sum = 0i64;
    for page in 0..5 {
        for i in 0..100 {
            let n = page * 100 + i;
            expect_sum += n;
            b.push(Value::Int64(n)).unwrap();
            if i % 10 == 0 {
                b.push_null().unwrap();
            } else {
                b.push(Value::Text("abc")).unwrap();
            }
            b.end_row().unwrap();
        }
        w.send_builder(&mut b).await.unwrap();
    }
    let summary = w.finish().await.unwrap();
    assert_eq!((summary.pages, summary.rows), (5, 500));
    let text = wait_for_file(&server.path("out/batch1.summary")).await;
    assert!(text.contains("rows=500\n"), "{text}");
    assert!(text.contains("pages=5\n"), "{text}");
    assert!(text.contains("nulls=50\n"), "{text}");
    assert!(text.contains(&format!("sum:n={expect_sum}\n")), "{text}");
    assert!(text.contains("sum:tag=1350\n"), "{text}"); // 450 non-null "abc"
}

#[tokio::test]
async fn a_write_the_plugin_fails_reports_its_error() {
    let server = Server::start();
    let spec = WriteSpec::new("/test/fail-me", &schema());
    let mut w = server.client().write(&spec).await.unwrap();
    let mut b = w.page_builder();
    b.push(Value::Int64(1)).unwrap();
    b.push(Value::Text("x")).unwrap();
    b.end_row().unwrap();
    w.send_builder(&mut b).await.unwrap();
    let err = w.finish().await.unwrap_err();
    assert_eq!(err.errcode(), Some(-7), "{err}");
    assert!(!err.is_retriable());
    let msg = err.to_string();
    assert!(
        msg.contains("asked to fail the write of fail-me after 1 rows"),
        "{msg}"
    );
    assert!(msg.contains("mount \"test\""), "{msg}");
    assert!(msg.contains(&server.addr.to_string()), "{msg}");
    server.assert_serves().await;
}

#[tokio::test]
async fn a_plugin_crash_during_a_write_is_reported() {
    let server = Server::start();
    let spec = WriteSpec::new("/test/crash", &schema());
    let mut w = server.client().write(&spec).await.unwrap();
    let mut b = w.page_builder();
    b.push(Value::Int64(1)).unwrap();
    b.push(Value::Text("x")).unwrap();
    b.end_row().unwrap();
    // The crash comes after the page's last column is read, before its reply.
    let err = match w.send_builder(&mut b).await {
        Err(e) => e,
        Ok(()) => w.finish().await.unwrap_err(),
    };
    assert_eq!(err.errcode(), Some(xdrive::errcode::PLUGIN_DIED), "{err}");
    assert!(err.to_string().contains("SIGABRT"), "{err}");
    server.assert_serves().await;
}
