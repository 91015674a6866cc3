//! Reads through a real xdrive.

use xdrive::ReadSpec;
use xdrive::proto::page::Value;
use xdrive::proto::schema::{Column, Schema};
use xdrive::proto::spq::SpqType;

use crate::harness::{Server, read_all_ids, schema};

#[tokio::test]
async fn reads_every_row_in_pages() {
    let server = Server::start();
    let spec = ReadSpec::new("/test/x", &schema()).query("rows=2500&page_rows=1000");
    let mut stream = server.client().read(&spec).await.unwrap();
    let mut sizes = Vec::new();
    while let Some(page) = stream.next_page().await.unwrap() {
        sizes.push(page.nrow());
    }
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(stream.rows(), 2500);
    assert_eq!(stream.pages(), 3);
    // The stream stays ended.
    assert!(stream.next_page().await.unwrap().is_none());
}

#[tokio::test]
async fn fragments_read_in_parallel_cover_every_row_once() {
    let server = Server::start();
    let client = server.client();
    let frags = 4;
    let reads = (0..frags).map(|f| {
        let client = client.clone();
        tokio::spawn(
            async move { read_all_ids(&client, "rows=10000&page_rows=512", f, frags).await },
        )
    });
    let mut all = Vec::new();
    for (f, r) in futures::future::join_all(reads)
        .await
        .into_iter()
        .enumerate()
    {
        let ids = r.unwrap();
        assert!(!ids.is_empty());
        assert!(
            ids.iter().all(|id| id % i64::from(frags) == f as i64),
            "fragment {f}"
        );
        all.extend(ids);
    }
    all.sort_unstable();
    assert_eq!(all, (0..10000).collect::<Vec<i64>>());
}

#[tokio::test]
async fn each_request_has_its_own_plugin_with_the_mount_env_and_fd() {
    let server = Server::start();
    let schema = Schema::new(vec![
        Column::new("pid", SpqType::Int32),
        Column::new("env:XDRIVE_TEST_ENV", SpqType::Cstr),
        Column::new("env:XDRIVE_FD", SpqType::Cstr),
    ])
    .unwrap();
    let mut pids = Vec::new();
    for _ in 0..2 {
        let spec = ReadSpec::new("/test/x", &schema).query("rows=1");
        let mut stream = server.client().read(&spec).await.unwrap();
        let page = stream.next_page().await.unwrap().unwrap();
        assert_eq!(page.column(1).get(0), Some(Value::Text("hello")));
        assert_eq!(page.column(2).get(0), Some(Value::Text("3")));
        let Some(Value::Int32(pid)) = page.column(0).get(0) else {
            panic!("no pid");
        };
        pids.push(pid);
        assert!(stream.next_page().await.unwrap().is_none());
    }
    assert_ne!(pids[0], pids[1]);
    // Plugin output reaches the log with the mount and pid.
    assert!(
        server.log().contains("Plugin started"),
        "log:\n{}",
        server.log()
    );
}

#[tokio::test]
async fn projection_sends_the_listed_columns_in_order() {
    let server = Server::start();
    let spec = ReadSpec::new("/test/x", &schema())
        .query("rows=3")
        .project(["score", "id"]);
    let mut stream = server.client().read(&spec).await.unwrap();
    assert_eq!(stream.columns().len(), 2);
    let page = stream.next_page().await.unwrap().unwrap();
    assert_eq!(page.column(0).name(), "score");
    assert_eq!(page.column(0).get(2), Some(Value::Double(2.5)));
    assert_eq!(page.column(1).get(2), Some(Value::Int64(2)));
}

#[tokio::test]
async fn an_empty_read_ends_cleanly() {
    let server = Server::start();
    let ids = read_all_ids(&server.client(), "rows=0", 0, 1).await;
    assert!(ids.is_empty());
}
