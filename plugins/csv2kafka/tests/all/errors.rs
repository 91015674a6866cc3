//! Malformed input, unreachable brokers, missing topics and delivery failures: the
//! documented exit status, a message naming the problem, and no hang.

use std::process::Command;
use std::time::Duration;

use dgkafka_testkit::{env, repo_root, unique_name};

use crate::{broker, bytes, consume_payloads, csv2kafka, fixture, new_topic};

#[test]
fn unterminated_quote_stops_with_line_and_offset() {
    let topic = new_topic("c2k_malformed", 1);
    let file = fixture("unterminated.csv");
    csv2kafka(&[broker(), &topic, file.to_str().unwrap()], None)
        .code(3)
        .stderr_has(&[
            "unterminated.csv: line 3 (byte offset 10)",
            "never closed",
            "--skip-bad-lines",
        ])
        .stdout_has(&["2 rows", "2 acknowledged"]);
    // The rows before the malformed one were produced; nothing of it or after it.
    assert_eq!(consume_payloads(&topic), bytes(&["1,ok", "2,ok"]));
}

#[test]
fn skip_bad_lines_counts_and_lists_them() {
    let topic = new_topic("c2k_skip", 1);
    let file = fixture("unterminated.csv");
    csv2kafka(
        &["--skip-bad-lines", broker(), &topic, file.to_str().unwrap()],
        None,
    )
    .ok()
    .stdout_has(&["2 rows", "1 bad lines skipped (lines 3)"]);
    assert_eq!(consume_payloads(&topic), bytes(&["1,ok", "2,ok"]));
}

#[test]
fn row_without_the_key_column() {
    let topic = new_topic("c2k_nokey", 1);
    let data = b"1,a,k1\n2,b\n3,c,k3\n";
    csv2kafka(&["-k", "3", broker(), &topic, "-"], Some(data))
        .code(3)
        .stderr_has(&["stdin: line 2 (byte offset 7)", "no key column 3"]);
    assert_eq!(consume_payloads(&topic), bytes(&["1,a,k1"]));

    let topic = new_topic("c2k_nokey_skip", 1);
    csv2kafka(
        &["-k", "3", "--skip-bad-lines", broker(), &topic, "-"],
        Some(data),
    )
    .ok()
    .stdout_has(&["2 rows", "1 bad lines skipped (lines 2)"]);
    assert_eq!(consume_payloads(&topic), bytes(&["1,a,k1", "3,c,k3"]));
}

#[test]
fn record_larger_than_message_max_bytes_is_malformed() {
    let topic = new_topic("c2k_toolarge", 1);
    let mut data = b"small,1\n".to_vec();
    data.extend_from_slice(format!("big,{}\n", "x".repeat(5000)).as_bytes());
    data.extend_from_slice(b"small,3\n");
    csv2kafka(
        &["-X", "message.max.bytes=2000", broker(), &topic, "-"],
        Some(&data),
    )
    .code(3)
    .stderr_has(&["line 2 (byte offset 8)", "larger than 2000 bytes"]);
    csv2kafka(
        &[
            "-X",
            "message.max.bytes=2000",
            "--skip-bad-lines",
            broker(),
            &topic,
            "-",
        ],
        Some(&data),
    )
    .ok()
    .stdout_has(&["1 bad lines skipped (lines 2)"]);
    assert_eq!(
        consume_payloads(&topic),
        bytes(&["small,1", "small,1", "small,3"])
    );
}

#[test]
fn unreachable_broker_fails_fast_with_a_clear_message() {
    let run = csv2kafka(
        &["--timeout", "3", "127.0.0.1:1", "some_topic", "-"],
        Some(b"a\n"),
    )
    .code(4)
    .stderr_has(&[
        "cannot reach the brokers 127.0.0.1:1 within 3 s",
        "Connection refused",
    ]);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
    assert!(
        run.elapsed >= Duration::from_secs(2),
        "gave up after {:?}",
        run.elapsed
    );
}

#[test]
fn missing_topic_is_a_clear_error() {
    let topic = unique_name("c2k_missing");
    let run = csv2kafka(&[broker(), &topic, "-"], Some(b"a\n"))
        .code(4)
        .stderr_has(&[
            &format!("topic {topic:?} does not exist"),
            "create it first",
        ]);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn missing_input_file() {
    csv2kafka(&[broker(), "t", "/nonexistent/input.csv"], None)
        .code(3)
        .stderr_has(&["cannot open /nonexistent/input.csv", "No such file"]);
}

/// A topic whose broker-side `max.message.bytes` is tiny, made with the broker's tools.
fn topic_with_tiny_max_message_bytes() -> String {
    let topic = unique_name("c2k_reject");
    let output = Command::new(repo_root().join("tests/env/kafka-topics"))
        .args(["--bootstrap-server", &env().kafka_bootstrap, "--create"])
        .args(["--topic", &topic, "--partitions", "1"])
        .args(["--replication-factor", "1"])
        .args(["--config", "max.message.bytes=1024"])
        .output()
        .expect("run tests/env/kafka-topics");
    assert!(
        output.status.success(),
        "kafka-topics: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    topic
}

#[test]
fn delivery_failure_exits_1_naming_the_partition_and_error() {
    let topic = topic_with_tiny_max_message_bytes();
    // Uncompressed, so the broker sees the real size and rejects the batch.
    let data = format!("{}\n", "y".repeat(4000));
    csv2kafka(
        &["-X", "compression.codec=none", broker(), &topic, "-"],
        Some(data.as_bytes()),
    )
    .code(1)
    .stderr_has(&[
        "1 message(s) were not delivered",
        "the record at line 1 to partition 0",
        "Message size too large",
    ])
    .stdout_has(&["0 acknowledged, 1 failed"]);
}
