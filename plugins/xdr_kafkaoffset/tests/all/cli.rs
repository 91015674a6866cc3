//! The program run by hand: `--help` and what happens outside xdrive.

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xdr_kafkaoffset"))
        .args(args)
        .env_remove("XDRIVE_FD")
        .output()
        .expect("run xdr_kafkaoffset")
}

#[test]
fn help_describes_the_seed_usage() {
    let out = run(&["--help"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "xdr_kafkaoffset [-X key1=value1 -X key2=value2 ...] kafkahost1:9092,kafkahost2:9092",
        "argv = [\"xdr_kafkaoffset/xdr_kafkaoffset\", \"kafkahost1:9092,kafkahost2:9092\"]",
        "\"-X\", \"ssl.key.password=kafka123\",",
        "dg_utils.xdrive_query($$group=dggrp&topic=test$$)",
        "committed_offset bigint (-1001 when nothing is committed)",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
}

#[test]
fn outside_xdrive_it_says_so_and_exits_2() {
    let out = run(&["127.0.0.1:9092"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("XDRIVE_FD is not set"), "{stderr}");
}

#[test]
fn bad_arguments_by_hand_exit_2() {
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("<BROKERS>"), "{stderr}");
}
