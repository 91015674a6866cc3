//! `dgkafka load`'s progress on a terminal: the live line (drawn on stderr, cleared
//! before the summary) and, with `-v`, log lines instead. The terminal is a pseudo-terminal
//! that util-linux's `script` gives the binary.

use std::process::Command;

use dgkafka_testkit::kafka::kcat_produce_lines;
use dgkafka_testkit::{pg, unique_name};

use crate::setup::KafkaSide;
use crate::{csv_config, dgkafka, write_config};

/// The erase-line sequence indicatif draws with.
const ERASE_LINE: &str = "\x1b[2K";

/// Runs `dgkafka <args> <config>` on a pseudo-terminal; its exit code and everything it
/// wrote to the terminal (stdout and stderr together).
fn on_a_terminal(args: &[&str], config: &std::path::Path) -> (i32, String) {
    let command = std::iter::once(env!("CARGO_BIN_EXE_dgkafka"))
        .chain(args.iter().copied())
        .chain(std::iter::once(config.to_str().expect("a UTF-8 path")))
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new("script")
        .args(["-q", "-f", "-e", "-c", &command, "/dev/null"])
        .env("TERM", "xterm")
        .env("COLUMNS", "160")
        .env_remove("RUST_LOG")
        .output()
        .expect("running util-linux `script` (package bsdutils) for a pseudo-terminal");
    (
        output.status.code().expect("script exited"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn a_terminal_gets_a_live_line_that_is_cleared_before_the_summary() {
    let _services = crate::shared_services().await;
    let client = pg::connect().await;
    let output = unique_name("customer");
    client
        .batch_execute(&format!(
            "CREATE TABLE {output} (c_custkey integer, c_name varchar(25), c_acctbal double precision)"
        ))
        .await
        .unwrap();
    let kafka = KafkaSide::new(3);
    for partition in 0..3 {
        let lines: Vec<String> = (0..100)
            .map(|i| format!("{}|name|{i}.5", partition * 1000 + i))
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        kcat_produce_lines(&kafka.topic, partition, &refs);
    }
    // Small batches, so the load lasts long enough for a few frames.
    let text = kafka.config(&csv_config(
        &output,
        &unique_name("offsets"),
        "\n[kafka.commit]\nmax_row = 5\n",
    ));
    let config = write_config(&text);
    let setup = dgkafka(&["setup"], Some(&config.path));
    assert_eq!(setup.code, 0, "{setup:?}");

    let (code, terminal) = on_a_terminal(&["load", "-quit-at-eof"], &config.path);
    assert_eq!(code, 0, "{terminal}");
    let summary = terminal
        .find("Loaded 300 rows")
        .unwrap_or_else(|| panic!("no summary:\n{terminal:?}"));
    let frames = &terminal[..summary];
    assert!(
        frames.contains(" rows/s, ") && frames.contains(" batches, lag 0:"),
        "no live line before the summary:\n{terminal:?}"
    );
    assert!(
        frames.trim_end_matches('\r').ends_with(ERASE_LINE),
        "the live line is not cleared before the summary:\n{terminal:?}"
    );

    // With -v, log lines instead: no live line drawn.
    let again = write_config(
        &text
            .replace(
                "consumer_group = \"dggrp\"",
                &format!("consumer_group = \"{}\"", unique_name("grp")),
            )
            .replace("max_row = 5\n", "max_row = 1000\n"),
    );
    let (code, terminal) = on_a_terminal(&["load", "-quit-at-eof", "-v"], &again.path);
    assert_eq!(code, 0, "{terminal}");
    assert!(terminal.contains("Loaded 300 rows"), "{terminal:?}");
    assert!(terminal.contains("Load finished."), "{terminal:?}");
    assert!(!terminal.contains(ERASE_LINE), "{terminal:?}");
}
