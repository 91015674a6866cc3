//! Topics and independent reads of them: the admin API and the Java Kafka tools to
//! create topics, `kcat` to read what our tools wrote.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

use crate::env::{env, repo_root};

/// Creates `name` with `partitions` partitions through the admin API.
pub fn create_topic(name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &env().kafka_bootstrap)
        .create()
        .expect("admin client");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = futures::executor::block_on(admin.create_topics([&topic], &options))
        .unwrap_or_else(|e| panic!("creating topic {name}: {e}"));
    for result in results {
        if let Err((topic, code)) = result {
            panic!("creating topic {topic}: {code}");
        }
    }
}

/// Creates `name` with the broker's own `kafka-topics` tool (`tests/env/kafka-topics`).
pub fn create_topic_with_kafka_tools(name: &str, partitions: i32) {
    let output = Command::new(repo_root().join("tests/env/kafka-topics"))
        .args([
            "--bootstrap-server",
            &env().kafka_bootstrap,
            "--create",
            "--topic",
            name,
        ])
        .args([
            "--partitions",
            &partitions.to_string(),
            "--replication-factor",
            "1",
        ])
        .output()
        .expect("run tests/env/kafka-topics");
    assert!(
        output.status.success(),
        "kafka-topics --create {name} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One message as `kcat` read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KcatMessage {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
}

/// Every message of `topic`, all partitions from the beginning to the current end,
/// read by `kcat` over the PLAINTEXT listener; ordered by (partition, offset).
pub fn kcat_consume_all(topic: &str) -> Vec<KcatMessage> {
    kcat_consume_all_with(topic, &env().kafka_bootstrap, &[])
}

/// Like [`kcat_consume_all`], against `bootstrap` with extra `-X` settings.
pub fn kcat_consume_all_with(
    topic: &str,
    bootstrap: &str,
    settings: &[(String, String)],
) -> Vec<KcatMessage> {
    let mut cmd = Command::new("kcat");
    cmd.args([
        "-C",
        "-q",
        "-e",
        "-o",
        "beginning",
        "-b",
        bootstrap,
        "-t",
        topic,
    ]);
    // Lengths first, so payloads with newlines or any bytes parse exactly.
    cmd.args(["-f", "%p %o %K %S\n%k%s"]);
    for (k, v) in settings {
        cmd.arg("-X").arg(format!("{k}={v}"));
    }
    let output = cmd.output().expect("run kcat (installed by tests/env/up)");
    assert!(
        output.status.success(),
        "kcat -C {topic} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut messages = parse_kcat_output(&output.stdout);
    messages.sort_by_key(|m| (m.partition, m.offset));
    messages
}

/// Produces `lines` (one message each) to `partition` of `topic` with `kcat -P`.
pub fn kcat_produce_lines(topic: &str, partition: i32, lines: &[&str]) {
    let mut child = Command::new("kcat")
        .args(["-P", "-b", &env().kafka_bootstrap, "-t", topic])
        .args(["-p", &partition.to_string()])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kcat");
    {
        let mut stdin = child.stdin.take().expect("kcat stdin");
        for line in lines {
            writeln!(stdin, "{line}").expect("write to kcat");
        }
    }
    let output = child.wait_with_output().expect("wait for kcat");
    assert!(
        output.status.success(),
        "kcat -P {topic} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn parse_kcat_output(mut bytes: &[u8]) -> Vec<KcatMessage> {
    let mut messages = Vec::new();
    while !bytes.is_empty() {
        let newline = bytes
            .iter()
            .position(|&b| b == b'\n')
            .expect("kcat header line ends with a newline");
        let header = std::str::from_utf8(&bytes[..newline]).expect("kcat header is text");
        let fields: Vec<i64> = header
            .split(' ')
            .map(|f| {
                f.parse()
                    .unwrap_or_else(|_| panic!("kcat header {header:?}"))
            })
            .collect();
        let [partition, offset, key_len, payload_len] = fields[..] else {
            panic!("kcat header {header:?} has not 4 fields");
        };
        bytes = &bytes[newline + 1..];
        let mut take = |len: i64| -> Option<Vec<u8>> {
            let len = usize::try_from(len).ok()?;
            let (value, rest) = bytes.split_at(len);
            bytes = rest;
            Some(value.to_vec())
        };
        let key = take(key_len);
        let payload = take(payload_len);
        messages.push(KcatMessage {
            partition: i32::try_from(partition).expect("partition fits i32"),
            offset,
            key,
            payload,
        });
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kcat_output_with_newlines_and_null_key_parses_exactly() {
        let out = b"0 5 -1 7\na\nb\r\nc!1 0 1 0\nk";
        let messages = parse_kcat_output(out);
        assert_eq!(
            messages,
            vec![
                KcatMessage {
                    partition: 0,
                    offset: 5,
                    key: None,
                    payload: Some(b"a\nb\r\nc!".to_vec()),
                },
                KcatMessage {
                    partition: 1,
                    offset: 0,
                    key: Some(b"k".to_vec()),
                    payload: Some(Vec::new()),
                },
            ]
        );
    }
}
