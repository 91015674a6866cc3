//! Access to the real services that `tests/env/up` starts — an Apache Kafka broker
//! and a PostgreSQL cluster on loopback — for every crate's integration tests.
//!
//! Nothing here mocks a service: helpers talk to the broker through rdkafka, the
//! Java Kafka tools and `kcat`, and to the database through tokio-postgres.
//! A helper that cannot reach a service panics with a message saying how to start it,
//! so a missing service fails a test instead of skipping it.
//!
//! [`XdriveServer`] runs the workspace's real `xdrive` binary with plugin mounts, for the
//! plugins' integration tests: [`XdriveServer::with_plugin`] mounts one plugin with its
//! arguments, such as [`Env::ssl_mount_args`] (the seed's SSL `-X` example for our SSL
//! listener); [`within`] fails a request that hangs.

mod env;
pub mod kafka;
pub mod pg;
pub mod tpch;
pub mod wasm;
pub mod xdrive;

pub use env::{Env, env, repo_root};
pub use kafka::{KcatMessage, create_topic, create_topic_with_kafka_tools, kcat_consume_all};
pub use xdrive::{Mount, XdriveServer, workspace_binary};

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Awaits `f`, failing the test if it takes longer than `patience` (a deadline against
/// hanging forever, not a performance threshold).
pub async fn within<T>(patience: Duration, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(patience, f)
        .await
        .expect("the request hung")
}

/// A name no other test (in this or an earlier run) has used: topics and tables
/// outlive a test run, so tests never reuse one.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{nanos:x}_{n}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn within_returns_what_finishes_in_time() {
        assert_eq!(within(Duration::from_secs(5), async { 7 }).await, 7);
    }

    #[tokio::test]
    #[should_panic(expected = "the request hung")]
    async fn within_fails_what_hangs() {
        within(Duration::from_millis(10), std::future::pending::<()>()).await;
    }
}
