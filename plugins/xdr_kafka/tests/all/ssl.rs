//! The seed's SSL `-X` example against the SSL listener (client certificates required).

use dgkafka_testkit::{create_topic, env, unique_name};
use xdrive::proto::spq::SpqType;

use crate::{Cell, MOUNT, errmsg, read_rows, read_spec, schema, server_with, t, write_rows};

#[tokio::test]
async fn the_seed_ssl_example_writes_and_reads_and_keeps_the_password_out_of_logs() {
    let topic = unique_name("xk_ssl");
    create_topic(&topic, 1);
    let server = server_with(env().ssl_mount_args(None), &["XDR_KAFKA_LOG=debug"]);
    let columns = schema(&[("id", SpqType::Int32), ("name", SpqType::Cstr)]);
    let rows = vec![vec![Cell::I32(1), t("eric")], vec![Cell::I32(2), t("anna")]];
    write_rows(
        &server,
        &format!("/{MOUNT}/{topic}"),
        "csv",
        &columns,
        &rows,
    )
    .await
    .unwrap();
    let got = read_rows(
        &server,
        &read_spec(&topic, &columns, "group=dggrp&start=-2"),
    )
    .await
    .unwrap();
    assert_eq!(got, rows);
    server.assert_ssl_key_password_redacted();
}

#[tokio::test]
async fn a_wrong_key_password_is_a_clear_error() {
    let server = server_with(env().ssl_mount_args(Some("not-the-password")), &[]);
    let columns = schema(&[("id", SpqType::Int32)]);
    let e = read_rows(&server, &read_spec("any_topic", &columns, "group=g"))
        .await
        .unwrap_err();
    let msg = errmsg(&e);
    assert!(msg.contains("check ssl.key.password"), "{msg}");
    assert!(!msg.contains("not-the-password"), "{msg}");
    let e = write_rows(
        &server,
        &format!("/{MOUNT}/any_topic"),
        "csv",
        &columns,
        &[vec![Cell::I32(1)]],
    )
    .await
    .unwrap_err();
    assert!(errmsg(&e).contains("check ssl.key.password"), "{e}");
    let logs = server.stderr() + &server.log();
    assert!(!logs.contains("not-the-password"), "{logs}");
}
