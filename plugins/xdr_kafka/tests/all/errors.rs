//! Undecodable messages (a failed read, or error rows under `error_limit`) and requests
//! that must fail with a message a user can act on.

use dgkafka_testkit::unique_name;
use xdrive::proto::spq::SpqType;

use crate::{
    Cell, by_kind, errmsg, positions, produce, read_rows, read_spec, schema, server, t, with_kinds,
};

/// A one-partition topic of csv rows `id int4, name text` whose offset 1 is bad.
fn topic_with_a_bad_row() -> String {
    let topic = unique_name("xk_bad");
    dgkafka_testkit::create_topic(&topic, 1);
    let lines: Vec<String> = ["1,a", "x,b", "3,c", "4,d"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    produce(&topic, 0, &lines);
    topic
}

#[tokio::test]
async fn a_row_error_fails_the_read_naming_partition_and_offset() {
    let topic = topic_with_a_bad_row();
    let columns = schema(&[("id", SpqType::Int32), ("name", SpqType::Cstr)]);
    let e = read_rows(&server(), &read_spec(&topic, &columns, "group=g&start=0"))
        .await
        .unwrap_err();
    assert_eq!(
        errmsg(&e),
        format!(
            "topic \"{topic}\": cannot decode the message at partition 0, offset 1: column \
             \"id\": \"x\" is not a valid int4"
        )
    );
    // With the row-kind columns but no error_limit, the same.
    let columns = with_kinds(&[("id", SpqType::Int32), ("name", SpqType::Cstr)]);
    let e = read_rows(&server(), &read_spec(&topic, &columns, "group=g&start=0"))
        .await
        .unwrap_err();
    assert!(
        errmsg(&e).contains("partition 0, offset 1: column \"id\""),
        "{e}"
    );
}

#[tokio::test]
async fn with_error_limit_error_rows_come_back_and_past_it_the_read_fails() {
    let topic = topic_with_a_bad_row();
    let server = server();
    let columns = with_kinds(&[("id", SpqType::Int32), ("name", SpqType::Cstr)]);
    let rows = read_rows(
        &server,
        &read_spec(&topic, &columns, "group=g&start=0&error_limit=1"),
    )
    .await
    .unwrap();
    let n = Cell::Null;
    let [data, errors, pos] = by_kind(rows, 2);
    assert_eq!(
        data,
        [
            vec![
                Cell::I32(1),
                t("a"),
                Cell::I32(0),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone()
            ],
            vec![
                Cell::I32(3),
                t("c"),
                Cell::I32(0),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone()
            ],
            vec![
                Cell::I32(4),
                t("d"),
                Cell::I32(0),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone()
            ],
        ]
    );
    assert_eq!(
        errors,
        [vec![
            n.clone(),
            n.clone(),
            Cell::I32(1),
            Cell::I32(0),
            Cell::I64(1),
            Cell::Bytes(b"x,b".to_vec()),
            t("column \"id\": \"x\" is not a valid int4"),
        ]]
    );
    assert_eq!(positions(&pos, 2), [(0, 4)]);

    let e = read_rows(
        &server,
        &read_spec(&topic, &columns, "group=g&start=0&error_limit=0"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        errmsg(&e),
        format!(
            "topic \"{topic}\": more than error_limit=0 undecodable messages; the next one, at \
             partition 0, offset 1: column \"id\": \"x\" is not a valid int4"
        )
    );
}

#[tokio::test]
async fn with_checkpoints_error_limit_counts_per_interval() {
    let topic = unique_name("xk_bad_intervals");
    dgkafka_testkit::create_topic(&topic, 1);
    let lines: Vec<String> = ["x,a", "1,b", "y,c", "2,d", "z,e", "w,f"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    produce(&topic, 0, &lines);
    let server = server();
    let columns = with_kinds(&[("id", SpqType::Int32), ("name", SpqType::Cstr)]);
    // One bad message in each of the first two intervals of 2 records: within the limit.
    let rows = read_rows(
        &server,
        &read_spec(
            &topic,
            &columns,
            "group=g&start=0&limit=4&checkpoint=2&error_limit=1",
        ),
    )
    .await
    .unwrap();
    let [data, errors, pos] = by_kind(rows, 2);
    assert_eq!((data.len(), errors.len()), (2, 2));
    assert_eq!(positions(&pos, 2), [(0, 2), (0, 4)]);
    // The third interval holds two: past the limit, the read fails at the second.
    let e = read_rows(
        &server,
        &read_spec(
            &topic,
            &columns,
            "group=g&start=0&checkpoint=2&error_limit=1",
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        errmsg(&e),
        format!(
            "topic \"{topic}\": more than error_limit=1 undecodable messages; the next one, at \
             partition 0, offset 5: column \"id\": \"w\" is not a valid int4"
        )
    );
}

#[tokio::test]
async fn bad_requests_are_named() {
    let topic = topic_with_a_bad_row();
    let server = server();
    let columns = schema(&[("id", SpqType::Int32), ("name", SpqType::Cstr)]);
    let e = read_rows(&server, &read_spec(&topic, &columns, "start=0"))
        .await
        .unwrap_err();
    assert!(
        errmsg(&e).starts_with("the read needs query key \"group\""),
        "{e}"
    );
    let e = read_rows(
        &server,
        &read_spec(&topic, &columns, "group=g&topic=x&lmit=1"),
    )
    .await
    .unwrap_err();
    assert!(
        errmsg(&e).starts_with("unknown query key(s) \"topic\", \"lmit\": xdr_kafka reads group"),
        "{e}"
    );
    let e = read_rows(&server, &read_spec(&topic, &columns, "group=g&limit=-5"))
        .await
        .unwrap_err();
    assert_eq!(
        errmsg(&e),
        "query key \"limit\": \"-5\" is not a number of records (0 or more)"
    );
    let e = read_rows(
        &server,
        &read_spec(&topic, &columns, "group=g&error_limit=5"),
    )
    .await
    .unwrap_err();
    assert!(
        errmsg(&e).starts_with("query key \"error_limit\" needs the row-kind columns"),
        "{e}"
    );
    let e = read_rows(
        &server,
        &read_spec(&topic, &columns, "group=g&checkpoint=5"),
    )
    .await
    .unwrap_err();
    assert!(
        errmsg(&e).starts_with("query key \"checkpoint\" needs the row-kind columns"),
        "{e}"
    );
    let e = read_rows(
        &server,
        &read_spec(&topic, &columns, "group=g&checkpoint=0"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        errmsg(&e),
        "query key \"checkpoint\": \"0\" is not a number of records (1 or more)"
    );
    let missing = unique_name("xk_missing");
    let e = read_rows(&server, &read_spec(&missing, &columns, "group=g"))
        .await
        .unwrap_err();
    assert_eq!(errmsg(&e), format!("topic \"{missing}\" does not exist"));
}
