//! Reads: committed and latest offsets per partition, fragments, projections.

use std::time::{SystemTime, UNIX_EPOCH};

use dgkafka_testkit::unique_name;
use xdrive::ReadSpec;
use xdrive::proto::page::Value;
use xdrive::proto::schema::{Column, Schema};
use xdrive::proto::spq::SpqType;

use crate::{MOUNT, Row, client, errmsg, read_offsets, server, topic_with_messages, within};

fn now_pg_micros() -> i64 {
    let unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(unix.as_micros()).unwrap() - 946_684_800_000_000
}

#[tokio::test]
async fn a_fresh_group_has_nothing_committed_and_latest_is_the_high_watermark() {
    let topic = topic_with_messages("xko_fresh", &[3, 7, 0]);
    let group = unique_name("xko_fresh_group");
    let server = server();
    let before = now_pg_micros();
    let rows = read_offsets(&server, &format!("group={group}&topic={topic}"), 0, 1)
        .await
        .unwrap();
    let after = now_pg_micros();
    let expected: Vec<(i32, i64, i64)> = vec![(0, -1001, 3), (1, -1001, 7), (2, -1001, 0)];
    assert_eq!(
        rows.iter()
            .map(|r| (r.partition, r.committed, r.latest))
            .collect::<Vec<_>>(),
        expected
    );
    for Row {
        group: g,
        topic: t,
        ts,
        ..
    } in &rows
    {
        assert_eq!((g, t), (&group, &topic));
        assert!(
            (before..=after).contains(ts),
            "ts {ts} is not the time of the read ({before}..={after})"
        );
    }
}

#[tokio::test]
async fn two_fragments_split_the_partitions_and_cover_them_once() {
    let topic = topic_with_messages("xko_frag", &[1, 2, 3, 4, 5]);
    let group = unique_name("xko_frag_group");
    let server = server();
    let query = format!("group={group}&topic={topic}");
    let parts = |rows: &[Row]| {
        rows.iter()
            .map(|r| (r.partition, r.latest))
            .collect::<Vec<_>>()
    };
    let (f0, f1) = tokio::join!(
        read_offsets(&server, &query, 0, 2),
        read_offsets(&server, &query, 1, 2)
    );
    assert_eq!(parts(&f0.unwrap()), [(0, 1), (2, 3), (4, 5)]);
    assert_eq!(parts(&f1.unwrap()), [(1, 2), (3, 4)]);
    // frag_cnt 0 counts as 1: every partition.
    let all = read_offsets(&server, &query, 0, 0).await.unwrap();
    assert_eq!(parts(&all), [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]);
}

#[tokio::test]
async fn a_projection_gets_only_its_columns_in_its_order() {
    let topic = topic_with_messages("xko_proj", &[2, 4]);
    let group = unique_name("xko_proj_group");
    let server = server();
    let spec = ReadSpec::new(format!("/{MOUNT}/"), &crate::offset_schema())
        .query(format!("group={group}&topic={topic}"))
        .project(["latest_offset", "partition_number"]);
    let got = within(async {
        let mut stream = client(&server).read(&spec).await.unwrap();
        let mut got = Vec::new();
        while let Some(page) = stream.next_page().await.unwrap() {
            assert_eq!(page.ncol(), 2);
            assert_eq!(page.column(0).name(), "latest_offset");
            for r in 0..page.nrow() {
                let (Some(Value::Int64(latest)), Some(Value::Int32(p))) =
                    (page.column(0).get(r), page.column(1).get(r))
                else {
                    panic!("row {r} has the wrong types");
                };
                got.push((latest, p));
            }
        }
        got
    })
    .await;
    assert_eq!(got, [(2, 0), (4, 1)]);
}

#[tokio::test]
async fn columns_we_do_not_serve_are_errors_naming_them() {
    let topic = topic_with_messages("xko_cols", &[1]);
    let server = server();
    let read = |schema: Schema| {
        let spec =
            ReadSpec::new(format!("/{MOUNT}/"), &schema).query(format!("group=g&topic={topic}"));
        let client = client(&server);
        async move { within(crate::read_spec(&client, &spec)).await.unwrap_err() }
    };
    let e = read(Schema::new(vec![Column::new("lag", SpqType::Int64)]).unwrap()).await;
    assert!(
        errmsg(&e).starts_with("column \"lag\" is not served"),
        "{e}"
    );
    let e = read(Schema::new(vec![Column::new("committed_offset", SpqType::Cstr)]).unwrap()).await;
    assert!(
        errmsg(&e).starts_with("column \"committed_offset\" has type CSTR"),
        "{e}"
    );
}
