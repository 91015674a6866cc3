//! The concurrency limit and graceful shutdown.

use std::time::Instant;

use xdrive::ReadSpec;
use xdrive::errcode;

use crate::harness::{
    PATIENCE, Server, Settings, read_all_ids, read_error, schema, wait_for_file, wait_process_gone,
};

#[tokio::test]
async fn requests_past_max_requests_are_refused_as_busy() {
    let server = Server::start_with(Settings {
        max_requests: Some(2),
        ..Settings::default()
    });
    let go = server.path("go");
    let mut held = Vec::new();
    for i in 0..2 {
        let pidfile = server.path(&format!("held{i}.pid"));
        let query = format!(
            "rows=50&page_rows=10&pidfile={}&wait_for={}",
            pidfile.display(),
            go.display()
        );
        let client = server.client();
        held.push(tokio::spawn(async move {
            read_all_ids(&client, &query, 0, 1).await
        }));
        // Its plugin runs, so it holds a permit.
        wait_for_file(&pidfile).await;
    }
    let spec = ReadSpec::new("/test/x", &schema()).query("rows=1");
    let err = read_error(&server.client(), &spec).await;
    assert_eq!(err.errcode(), Some(errcode::BUSY), "{err}");
    assert!(err.is_retriable());
    assert!(err.to_string().contains("maximum of 2 requests"), "{err}");

    std::fs::write(&go, "").unwrap();
    for h in held {
        assert_eq!(h.await.unwrap(), (0..50).collect::<Vec<i64>>());
    }
    server.assert_serves().await;
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_refuses_new_ones() {
    let mut server = Server::start_with(Settings {
        shutdown_grace_secs: Some(120),
        ..Settings::default()
    });
    let pidfile = server.path("inflight.pid");
    let go = server.path("go");
    let query = format!(
        "rows=300&page_rows=100&pidfile={}&wait_for={}",
        pidfile.display(),
        go.display()
    );
    let client = server.client();
    let inflight = tokio::spawn(async move { read_all_ids(&client, &query, 0, 1).await });
    wait_for_file(&pidfile).await;

    server.sigterm();
    // New connections are refused once the listener is closed.
    let deadline = Instant::now() + PATIENCE;
    loop {
        if tokio::net::TcpStream::connect(server.addr).await.is_err() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "xdrive still accepts after SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The in-flight read still completes.
    std::fs::write(&go, "").unwrap();
    assert_eq!(inflight.await.unwrap(), (0..300).collect::<Vec<i64>>());
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    let log = server.log();
    assert!(log.contains("Shutting down"), "{log}");
    assert!(log.contains("Stopped"), "{log}");
}

#[tokio::test]
async fn sigterm_stops_plugins_still_running_after_the_grace_period() {
    let mut server = Server::start_with(Settings {
        shutdown_grace_secs: Some(1),
        ..Settings::default()
    });
    let pidfile = server.path("stuck.pid");
    let query = format!(
        "rows=300&page_rows=100&hang_after=1&pidfile={}",
        pidfile.display()
    );
    let spec = ReadSpec::new("/test/x", &schema()).query(query);
    let mut stream = server.client().read(&spec).await.unwrap();
    assert!(stream.next_page().await.unwrap().is_some());
    let pid: u32 = wait_for_file(&pidfile).await.trim().parse().unwrap();

    server.sigterm();
    let err = stream.next_page().await.expect_err("stopped by shutdown");
    assert_eq!(err.errcode(), Some(errcode::SHUTTING_DOWN), "{err}");
    assert!(err.to_string().contains("shutting down"), "{err}");
    assert!(wait_process_gone(pid).await, "plugin {pid} still there");
    assert_eq!(server.wait_exit().code(), Some(0), "{}", server.stderr());
}
