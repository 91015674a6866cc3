//! End-to-end tests of csv2kafka against the real broker that `tests/env/up` starts.
//!
//! Every test runs the built binary, then reads the topic back with `kcat` (an
//! independent client) or checks the exit status and message the user would see.

mod cli;
mod errors;
mod partitioning;
mod roundtrip;
mod ssl;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dgkafka_testkit::{KcatMessage, create_topic, env, kcat_consume_all, unique_name};

/// A fixture under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fresh topic with `partitions` partitions.
pub fn new_topic(prefix: &str, partitions: i32) -> String {
    let topic = unique_name(prefix);
    create_topic(&topic, partitions);
    topic
}

/// What one csv2kafka run did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Asserts success and returns self.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "csv2kafka failed:\n{}{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit status and returns self.
    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "unexpected exit status:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts stderr contains every needle.
    #[track_caller]
    pub fn stderr_has(self, needles: &[&str]) -> Run {
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "{n:?} not in stderr:\n{}",
                self.stderr
            );
        }
        self
    }

    /// Asserts stdout (the summary) contains every needle.
    #[track_caller]
    pub fn stdout_has(self, needles: &[&str]) -> Run {
        for n in needles {
            assert!(
                self.stdout.contains(n),
                "{n:?} not in stdout:\n{}",
                self.stdout
            );
        }
        self
    }
}

/// Runs csv2kafka with `args`, feeding `stdin` if given.
pub fn csv2kafka(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_csv2kafka"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run csv2kafka");
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(data).expect("write csv2kafka's stdin");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for csv2kafka");
    Run {
        code: status.code().expect("csv2kafka exited normally"),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// The PLAINTEXT bootstrap address.
pub fn broker() -> &'static str {
    &env().kafka_bootstrap
}

/// The payloads of a topic in partition/offset order.
pub fn payloads(messages: &[KcatMessage]) -> Vec<Vec<u8>> {
    messages
        .iter()
        .map(|m| m.payload.clone().expect("a payload"))
        .collect()
}

/// The payloads of a single-partition topic, in produced order.
pub fn consume_payloads(topic: &str) -> Vec<Vec<u8>> {
    payloads(&kcat_consume_all(topic))
}

/// Byte strings for readable assertions.
pub fn bytes(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}
