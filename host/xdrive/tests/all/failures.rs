//! Plugins that crash, exit, err or hang, and clients that leave.

use xdrive::ReadSpec;
use xdrive::errcode;

use crate::harness::{Server, process_exists, schema, wait_for_file, wait_process_gone};

/// Reads `/test/x` with `query` until the first error; returns the pages read and the error.
async fn read_until_error(server: &Server, query: &str) -> (u64, xdrive::Error) {
    let spec = ReadSpec::new("/test/x", &schema()).query(query);
    let mut stream = server.client().read(&spec).await.unwrap();
    let mut pages = 0;
    loop {
        match stream.next_page().await {
            Ok(Some(_)) => pages += 1,
            Ok(None) => panic!("the read ended cleanly after {pages} pages"),
            Err(e) => return (pages, e),
        }
    }
}

#[tokio::test]
async fn a_plugin_crash_mid_stream_is_a_clear_error() {
    let server = Server::start();
    let (pages, err) = read_until_error(&server, "rows=10000&page_rows=100&crash_after=2").await;
    assert_eq!(pages, 2);
    assert_eq!(err.errcode(), Some(errcode::PLUGIN_DIED), "{err}");
    assert!(err.is_retriable());
    let msg = err.to_string();
    assert!(
        msg.contains("mount \"test\": plugin xdrive-test-plugin (pid "),
        "{msg}"
    );
    assert!(
        msg.contains("was killed by signal 6 (SIGABRT) before finishing the read"),
        "{msg}"
    );
    assert!(msg.contains("crashing as asked after 2 pages"), "{msg}");
    server.assert_serves().await;
}

#[tokio::test]
async fn a_plugin_exit_status_is_reported() {
    let server = Server::start();
    let (pages, err) = read_until_error(&server, "rows=10000&page_rows=100&exit_after=1").await;
    assert_eq!(pages, 1);
    assert_eq!(err.errcode(), Some(errcode::PLUGIN_DIED), "{err}");
    assert!(err.to_string().contains("exited with status 3"), "{err}");
    server.assert_serves().await;
}

#[tokio::test]
async fn a_plugin_error_reaches_the_client() {
    let server = Server::start();
    let (pages, err) = read_until_error(&server, "rows=10000&page_rows=100&fail_after=3").await;
    assert_eq!(pages, 3);
    assert_eq!(err.errcode(), Some(-1), "{err}");
    assert!(!err.is_retriable());
    let msg = err.to_string();
    assert!(msg.contains("asked to fail after 3 pages"), "{msg}");
    assert!(msg.contains("mount \"test\""), "{msg}");
    server.assert_serves().await;
}

#[tokio::test]
async fn a_bad_query_is_the_plugins_error() {
    let server = Server::start();
    let (_, err) = read_until_error(&server, "rows=ten").await;
    assert!(err.to_string().contains("query key rows=\"ten\""), "{err}");
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_leaves_no_plugin_behind() {
    let server = Server::start();
    let pidfile = server.path("hang.pid");
    let query = format!(
        "rows=100000&page_rows=100&hang_after=1&pidfile={}",
        pidfile.display()
    );
    let spec = ReadSpec::new("/test/x", &schema()).query(query);
    let mut stream = server.client().read(&spec).await.unwrap();
    assert!(stream.next_page().await.unwrap().is_some());
    let pid: u32 = wait_for_file(&pidfile).await.trim().parse().unwrap();
    assert!(process_exists(pid));
    drop(stream);
    assert!(wait_process_gone(pid).await, "plugin {pid} still there");
    server.assert_serves().await;
}

#[tokio::test]
async fn a_client_that_leaves_before_any_page_leaves_no_plugin_behind() {
    let server = Server::start();
    let pidfile = server.path("wait.pid");
    let never = server.path("never");
    let query = format!(
        "rows=10&pidfile={}&wait_for={}",
        pidfile.display(),
        never.display()
    );
    let spec = ReadSpec::new("/test/x", &schema()).query(query);
    let stream = server.client().read(&spec).await.unwrap();
    let pid: u32 = wait_for_file(&pidfile).await.trim().parse().unwrap();
    drop(stream);
    assert!(wait_process_gone(pid).await, "plugin {pid} still there");
}
