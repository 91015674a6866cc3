//! Writes through the plugin read back through the plugin: csv (typed values, a key
//! column), json and binary.

use dgkafka_testkit::{create_topic, kcat_consume_all, unique_name};
use xdrive::proto::message::CsvSpec;
use xdrive::proto::spq::SpqType;

use crate::{Cell, MOUNT, read_rows, read_spec, schema, server, t, write_rows};

fn pipe() -> Option<CsvSpec> {
    Some(CsvSpec {
        delimiter: "|".into(),
        ..CsvSpec::default()
    })
}

#[tokio::test]
async fn csv_rows_round_trip_with_their_types_and_a_key_column() {
    let topic = unique_name("xk_csv");
    create_topic(&topic, 2);
    let server = server();
    let columns = schema(&[
        ("id", SpqType::Int32),
        ("name", SpqType::Cstr),
        ("amount", SpqType::Double),
        ("day", SpqType::Date),
        ("at", SpqType::TimestamptzMicros),
        ("ok", SpqType::Bool),
        ("price", SpqType::Numeric),
        ("note", SpqType::Cstr),
    ]);
    let rows = vec![
        vec![
            Cell::I32(1),
            t("eric"),
            Cell::F64(1.5),
            Cell::I32(8766),
            Cell::I64(757_382_400_123_456),
            Cell::Bool(true),
            t("12.50"),
            t("a|b \"q\"\nnext line"),
        ],
        vec![
            Cell::I32(2),
            Cell::Null,
            Cell::F64(-0.25),
            Cell::Null,
            Cell::Null,
            Cell::Bool(false),
            Cell::Null,
            t(""),
        ],
        vec![
            Cell::I32(3),
            t("ünïcode"),
            Cell::F64(1e20),
            Cell::I32(-1),
            Cell::I64(0),
            Cell::Bool(true),
            t("-7"),
            t("x"),
        ],
    ];
    // The write's key (ours) rides on the path.
    let path = format!("/{MOUNT}/{topic}?key=id");
    let spec_rows = rows.clone();
    let mut w = xdrive::WriteSpec::new(&path, &columns).format("csv");
    w.csv = pipe();
    within_write(&server, w, &columns, &spec_rows).await;

    let mut with_key = columns.columns().to_vec();
    with_key.push(xdrive::proto::schema::Column::new(
        "__kafka_key",
        SpqType::Bytea,
    ));
    let read_columns = xdrive::proto::schema::Schema::new(with_key).unwrap();
    let mut spec = read_spec(&topic, &read_columns, "group=g&start=-2,-2").format("csv");
    spec.csv = pipe();
    let mut got = read_rows(&server, &spec).await.unwrap();
    got.sort_by_key(|r| match r[0] {
        Cell::I32(id) => id,
        _ => panic!("id {:?}", r[0]),
    });
    let want: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let Cell::I32(id) = r[0] else { panic!() };
            r.push(Cell::Bytes(id.to_string().into_bytes()));
            r
        })
        .collect();
    assert_eq!(got, want);

    // The message text is PostgreSQL's CSV, as kcat sees it.
    let messages = kcat_consume_all(&topic);
    assert_eq!(messages.len(), 3);
    let second = messages
        .iter()
        .find(|m| m.key.as_deref() == Some(b"2".as_slice()))
        .expect("the message keyed 2");
    assert_eq!(
        String::from_utf8_lossy(second.payload.as_deref().unwrap()),
        "2||-0.25|||f||\"\""
    );
}

async fn within_write(
    server: &dgkafka_testkit::XdriveServer,
    spec: xdrive::WriteSpec,
    columns: &xdrive::proto::schema::Schema,
    rows: &[Vec<Cell>],
) {
    crate::write_rows_spec(server, spec, columns, rows)
        .await
        .unwrap();
}

#[tokio::test]
async fn json_documents_round_trip_and_null_is_a_tombstone() {
    let topic = unique_name("xk_json");
    create_topic(&topic, 1);
    let server = server();
    let columns = schema(&[("jdata", SpqType::Json)]);
    let rows = vec![
        vec![t(
            r#"{"custkey": 111, "name": "eric", "nested": {"a": [1, 2.5e3]}}"#,
        )],
        vec![Cell::Null],
        vec![t("[1, \"two\", null]")],
    ];
    write_rows(
        &server,
        &format!("/{MOUNT}/{topic}"),
        "json",
        &columns,
        &rows,
    )
    .await
    .unwrap();
    let got = read_rows(
        &server,
        &read_spec(&topic, &columns, "group=g&start=-2&format=json"),
    )
    .await
    .unwrap();
    assert_eq!(got, rows);
    let messages = kcat_consume_all(&topic);
    assert_eq!(messages[1].payload, None, "NULL jdata is a tombstone");
}

#[tokio::test]
async fn binary_values_round_trip_byte_for_byte() {
    let topic = unique_name("xk_bin");
    create_topic(&topic, 1);
    let server = server();
    let columns = schema(&[("data", SpqType::Bytea)]);
    let rows = vec![
        vec![Cell::Bytes(vec![0, 1, 255, b'\n', b'|', 0x80])],
        vec![Cell::Bytes(b"plain".to_vec())],
    ];
    write_rows(
        &server,
        &format!("/{MOUNT}/{topic}"),
        "binary",
        &columns,
        &rows,
    )
    .await
    .unwrap();
    let mut spec = read_spec(&topic, &columns, "group=g&start=-2");
    spec.format = "binary".into();
    let got = read_rows(&server, &spec).await.unwrap();
    assert_eq!(got, rows);
}

#[tokio::test]
async fn a_write_to_a_missing_topic_or_with_a_bad_key_fails() {
    let server = server();
    let columns = schema(&[("id", SpqType::Int32)]);
    let missing = unique_name("xk_nowrite");
    let e = write_rows(
        &server,
        &format!("/{MOUNT}/{missing}"),
        "csv",
        &columns,
        &[vec![Cell::I32(1)]],
    )
    .await
    .unwrap_err();
    assert_eq!(
        crate::errmsg(&e),
        format!("topic \"{missing}\" does not exist")
    );
    let topic = unique_name("xk_badkey");
    create_topic(&topic, 1);
    let e = write_rows(
        &server,
        &format!("/{MOUNT}/{topic}?key=nope"),
        "csv",
        &columns,
        &[vec![Cell::I32(1)]],
    )
    .await
    .unwrap_err();
    assert_eq!(
        crate::errmsg(&e),
        "write key \"key\": the write has no column \"nope\" (it has id)"
    );
}

#[tokio::test]
async fn a_json_write_takes_its_key_from_the_other_column() {
    let topic = unique_name("xk_jkey");
    create_topic(&topic, 3);
    let server = server();
    let columns = schema(&[("id", SpqType::Int64), ("jdata", SpqType::Json)]);
    let rows: Vec<Vec<Cell>> = (0..6)
        .map(|i| vec![Cell::I64(i), t(&format!("{{\"id\": {i}}}"))])
        .collect();
    write_rows(
        &server,
        &format!("/{MOUNT}/{topic}?key=id"),
        "json",
        &columns,
        &rows,
    )
    .await
    .unwrap();
    let messages = kcat_consume_all(&topic);
    let mut got: Vec<(String, String)> = messages
        .iter()
        .map(|m| {
            (
                String::from_utf8(m.key.clone().unwrap()).unwrap(),
                String::from_utf8(m.payload.clone().unwrap()).unwrap(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = (0..6)
        .map(|i| (i.to_string(), format!("{{\"id\": {i}}}")))
        .collect();
    assert_eq!(got, want);
    // The same key always lands in the same partition.
    write_rows(
        &server,
        &format!("/{MOUNT}/{topic}?key=id"),
        "json",
        &columns,
        &rows,
    )
    .await
    .unwrap();
    let messages = kcat_consume_all(&topic);
    for m in &messages {
        let same: Vec<i32> = messages
            .iter()
            .filter(|n| n.key == m.key)
            .map(|n| n.partition)
            .collect();
        assert_eq!(same, [m.partition, m.partition], "key {:?}", m.key);
    }
}

#[tokio::test]
async fn a_message_too_large_for_the_producer_fails_the_write() {
    let topic = unique_name("xk_big");
    create_topic(&topic, 1);
    let columns = schema(&[("data", SpqType::Bytea)]);
    let e = write_rows(
        &server(),
        &format!("/{MOUNT}/{topic}"),
        "binary",
        &columns,
        &[vec![Cell::Bytes(vec![7; 2_000_000])]],
    )
    .await
    .unwrap_err();
    let msg = crate::errmsg(&e);
    assert!(
        msg.starts_with(&format!("producing message 1 to topic \"{topic}\"")),
        "{msg}"
    );
    assert!(msg.to_lowercase().contains("too large"), "{msg}");
    assert!(kcat_consume_all(&topic).is_empty());
}
