//! Integration tests against the real PostgreSQL that `tests/env/up` starts: the
//! connection module (authentication, unix socket, each sslmode against the real server's
//! TLS, and TLS refusal and certificate checks against stand-in servers) and the `dgkafka`
//! binary's `setup` and `check` commands.

mod check;
mod connect;
mod copy;
mod exactly_once;
mod load;
mod pg_tls;
mod progress;
mod setup;
mod tls;
mod transform;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dgkafka_testkit::env;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The shared services of `tests/env/up`. Every test takes a read guard at its start;
/// `exactly_once`, which restarts PostgreSQL and the broker, takes the write guard and so
/// runs alone. (A tokio lock: the async tests hold their guard across awaits.)
static SERVICES: RwLock<()> = RwLock::const_new(());

/// For an async test: the services, shared with the other tests.
pub async fn shared_services() -> RwLockReadGuard<'static, ()> {
    SERVICES.read().await
}

/// For a test outside an async runtime: the services, shared with the other tests.
pub fn shared_services_blocking() -> RwLockReadGuard<'static, ()> {
    SERVICES.blocking_read()
}

/// The services for this test alone: it may restart them.
pub async fn exclusive_services() -> RwLockWriteGuard<'static, ()> {
    SERVICES.write().await
}

/// `[dgkafka]` for the test PostgreSQL over TCP, no TLS (`pg_tls.rs` tests TLS).
pub fn dgkafka_section() -> String {
    dgkafka_section_with_xdrive(7171)
}

/// [`dgkafka_section`] pointing at the xdrive listening on 127.0.0.1:`xdrive_port`.
pub fn dgkafka_section_with_xdrive(xdrive_port: u16) -> String {
    let env = env();
    format!(
        "[dgkafka]\ndatabase = \"{}\"\nuser = \"{}\"\npassword = \"{}\"\nhost = \"{}\"\nport = {}\nsslmode = \"disable\"\n\
         xdrive_host = \"127.0.0.1\"\nxdrive_port = {xdrive_port}\n",
        env.pg_database, env.pg_user, env.pg_password, env.pg_host, env.pg_port
    )
}

/// A csv config like the seed's, loading into `output_table` with offsets in
/// `offset_table`; `extra` is appended (more keys for `[kafka.output]` go first in it).
pub fn csv_config(output_table: &str, offset_table: &str, extra: &str) -> String {
    format!(
        r#"{}
[kafka.input]
format = "csv"
delimiter = "|"
consumer_group = "dggrp"
topic = "customer"
partition_num = 3
ext_read_table = "customer_kafka_read"
ext_write_table = "customer_kafka_write"
ext_offset_table = "kafka_offset"
[[kafka.input.columns]]
name = "c_custkey"
type = "integer"
[[kafka.input.columns]]
name = "c_name"
type = "varchar(25)"
[[kafka.input.columns]]
name = "c_acctbal"
type = "double precision"

[kafka.output]
offset_table = "{offset_table}"
output_table = "{output_table}"
{extra}
"#,
        dgkafka_section()
    )
}

/// The latest next offset recorded per partition of `group` and `topic` in the offset
/// table `offsets`.
pub async fn recorded_offsets(
    client: &tokio_postgres::Client,
    offsets: &str,
    group: &str,
    topic: &str,
) -> Vec<(i32, i64)> {
    client
        .query(
            &format!(
                "SELECT DISTINCT ON (partition_number) partition_number, next_offset FROM {offsets} \
                 WHERE consumer_group = $1 AND topic = $2 \
                 ORDER BY partition_number, batch_end DESC"
            ),
            &[&group, &topic],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// A config file in its own temporary directory.
pub struct ConfigFile {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn write_config(text: &str) -> ConfigFile {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("dgkafka.toml");
    std::fs::write(&path, text).expect("writing dgkafka.toml");
    ConfigFile { _dir: dir, path }
}

/// The result of running the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn dgkafka(args: &[&str], config: Option<&Path>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dgkafka"));
    command.args(args).env_remove("RUST_LOG");
    if let Some(config) = config {
        command.arg(config);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("running dgkafka");
    Run {
        code: status.code().expect("dgkafka exited, not killed"),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}
