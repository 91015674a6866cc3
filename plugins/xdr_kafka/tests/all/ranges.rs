//! Exact offset ranges: start/end per partition, fragments, limit, timeout and the
//! reserved metadata columns.

use std::time::Duration;

use dgkafka_testkit::{create_topic, unique_name};
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use xdrive::proto::spq::SpqType;

use crate::{
    Cell, by_kind, errmsg, positions, read_pages, read_rows, read_spec, schema, server, t,
    topic_with_messages, with_kinds,
};

/// `line text, __kafka_partition int4, __kafka_offset int8` and the row-kind columns.
fn line_columns() -> xdrive::proto::schema::Schema {
    with_kinds(&[
        ("line", SpqType::Cstr),
        ("__kafka_partition", SpqType::Int32),
        ("__kafka_offset", SpqType::Int64),
    ])
}

/// The data rows as (partition, offset, line), checked against what was produced.
fn data(rows: &[Vec<Cell>]) -> Vec<(i32, i64)> {
    rows.iter()
        .map(|r| match (&r[0], &r[1], &r[2]) {
            (Cell::Text(line), Cell::I32(p), Cell::I64(o)) => {
                assert_eq!(line, &format!("p{p}-m{o}"), "row {r:?}");
                (*p, *o)
            }
            other => panic!("data row {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn exact_ranges_across_three_partitions_and_two_fragments() {
    let topic = topic_with_messages("xk_ranges", &[5, 6, 7]);
    let server = server();
    let query = "group=g&start=1,0,2&end=4,6,-1&timeout=-1";
    let mut seen = Vec::new();
    for frag in 0..2 {
        let spec = read_spec(&topic, &line_columns(), query).fragment(frag, 2);
        let [rows, errors, pos] = by_kind(read_rows(&server, &spec).await.unwrap(), 3);
        assert!(errors.is_empty());
        // Partitions interleave freely; within one, offsets come in order (a stable sort
        // by partition keeps that order).
        let mut got = data(&rows);
        got.sort_by_key(|&(p, _)| p);
        if frag == 0 {
            let want: Vec<(i32, i64)> = (1..4)
                .map(|o| (0, o))
                .chain((2..7).map(|o| (2, o)))
                .collect();
            assert_eq!(got, want);
            assert_eq!(positions(&pos, 3), [(0, 4), (2, 7)]);
        } else {
            assert_eq!(got, (0..6).map(|o| (1, o)).collect::<Vec<_>>());
            assert_eq!(positions(&pos, 3), [(1, 6)]);
        }
        seen.extend(got);
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 3 + 6 + 5, "no message twice, none missing");
}

#[tokio::test]
async fn limit_caps_the_records_and_the_positions_follow_what_was_read() {
    let topic = topic_with_messages("xk_limit", &[4, 4]);
    let server = server();
    let spec = read_spec(&topic, &line_columns(), "group=g&start=0,1&limit=5");
    let [rows, _, pos] = by_kind(read_rows(&server, &spec).await.unwrap(), 3);
    let got = data(&rows);
    assert_eq!(got.len(), 5);
    let pos = positions(&pos, 3);
    assert_eq!(pos.len(), 2);
    for (p, next) in pos {
        let start = if p == 0 { 0 } else { 1 };
        let offsets: Vec<i64> = got.iter().filter(|r| r.0 == p).map(|r| r.1).collect();
        assert_eq!(offsets, (start..next).collect::<Vec<_>>(), "partition {p}");
    }
    // The seed's default limit is 1000; limit=0 reads nothing and reports the start.
    let spec = read_spec(&topic, &line_columns(), "group=g&start=2,3&limit=0");
    let [rows, _, pos] = by_kind(read_rows(&server, &spec).await.unwrap(), 3);
    assert!(rows.is_empty());
    assert_eq!(positions(&pos, 3), [(0, 2), (1, 3)]);
}

#[tokio::test]
async fn checkpoints_end_a_page_with_positions_after_every_n_records() {
    let topic = topic_with_messages("xk_checkpoint", &[5, 6, 7]);
    let server = server();
    let spec = read_spec(&topic, &line_columns(), "group=g&start=0,0,1&checkpoint=4");
    let pages = read_pages(&server, &spec).await.unwrap();
    // Walk the stream: each run of position rows is a checkpoint, closes its page, and
    // says where each partition stands after the data rows before it.
    let mut next = [0, 0, 1];
    let mut since = 0;
    let mut checkpoints = Vec::new();
    let mut taken = 0;
    for page in &pages {
        let [rows, errors, pos] = by_kind(page.clone(), 3);
        assert!(errors.is_empty());
        for (p, o) in data(&rows) {
            let p = usize::try_from(p).unwrap();
            assert_eq!(o, next[p], "partition {p}: in order, none skipped");
            next[p] = o + 1;
        }
        since += rows.len();
        taken += rows.len();
        if pos.is_empty() {
            continue;
        }
        let kinds: Vec<&Cell> = page.iter().map(|r| &r[3]).collect();
        assert!(
            kinds.ends_with(&[&Cell::I32(2); 3]),
            "the position rows end their page: {kinds:?}"
        );
        assert_eq!(
            positions(&pos, 3),
            [(0, next[0]), (1, next[1]), (2, next[2])]
        );
        checkpoints.push(since);
        since = 0;
    }
    assert_eq!(taken, 5 + 6 + 6);
    // Every 4 records, then the end of the read with the rest.
    assert_eq!(checkpoints, [4, 4, 4, 4, 1]);
    assert_eq!(next, [5, 6, 7]);

    // With a limit, the read ends there; no checkpoint repeats the final positions.
    let spec = read_spec(
        &topic,
        &line_columns(),
        "group=g&start=0,0,0&limit=8&checkpoint=4",
    );
    let [rows, _, pos] = by_kind(read_rows(&server, &spec).await.unwrap(), 3);
    assert_eq!(rows.len(), 8);
    assert_eq!(pos.len(), 3 * 2);
}

#[tokio::test]
async fn empty_ranges_with_timeout_minus_one_return_no_rows_and_positions_at_start() {
    let topic = topic_with_messages("xk_empty", &[3, 0]);
    let server = server();
    for query in [
        // At the end of partition 0, and partition 1 is empty.
        "group=g&start=3,0&timeout=-1",
        // The default start is latest.
        "group=g",
        "group=g&start=-1,-2&limit=10",
    ] {
        let rows = read_rows(&server, &read_spec(&topic, &line_columns(), query))
            .await
            .unwrap();
        let [data, errors, pos] = by_kind(rows, 3);
        assert!(data.is_empty() && errors.is_empty(), "{query}");
        assert_eq!(positions(&pos, 3), [(0, 3), (1, 0)], "{query}");
    }
    // start == end: nothing to read, whatever the partition holds.
    let spec = read_spec(&topic, &line_columns(), "group=g&start=1,0&end=1,0");
    let [data, _, pos] = by_kind(read_rows(&server, &spec).await.unwrap(), 3);
    assert!(data.is_empty());
    assert_eq!(positions(&pos, 3), [(0, 1), (1, 0)]);
}

#[tokio::test]
async fn a_positive_timeout_returns_what_arrived_when_the_limit_is_not_reached() {
    let topic = topic_with_messages("xk_wait", &[2]);
    let server = server();
    let spec = read_spec(
        &topic,
        &line_columns(),
        "group=g&start=0&timeout=2&limit=10",
    );
    let [data_rows, _, pos] = by_kind(read_rows(&server, &spec).await.unwrap(), 3);
    assert_eq!(data(&data_rows), [(0, 0), (0, 1)]);
    assert_eq!(positions(&pos, 3), [(0, 2)]);
}

#[tokio::test]
async fn start_and_end_lists_must_match_the_partitions() {
    let topic = topic_with_messages("xk_count", &[1, 1, 1]);
    let server = server();
    let e = read_rows(
        &server,
        &read_spec(&topic, &line_columns(), "group=g&start=0,0"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        errmsg(&e),
        format!(
            "query key \"start\" has 2 offsets, topic \"{topic}\" has 3 partitions: give one \
             offset per partition, in partition order (-2 earliest, -1 latest)"
        )
    );
    let e = read_rows(
        &server,
        &read_spec(&topic, &line_columns(), "group=g&start=0,0,1&end=1,1,0"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        errmsg(&e),
        "partition 2: start offset 1 is after end offset 0"
    );
}

#[tokio::test]
async fn reserved_metadata_columns_carry_partition_offset_timestamp_and_key() {
    let topic = unique_name("xk_meta");
    create_topic(&topic, 2);
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &dgkafka_testkit::env().kafka_bootstrap)
        .create()
        .unwrap();
    // 2024-01-02 03:04:05.678 UTC.
    let ts_ms = 1_704_164_645_678_i64;
    for (p, key, value) in [
        (1, Some("k1"), "v0"),
        (1, None, "v1"),
        (0, Some("k0"), "w0"),
    ] {
        let mut record = BaseRecord::<str, str>::to(&topic)
            .payload(value)
            .partition(p)
            .timestamp(ts_ms);
        if let Some(k) = key {
            record = record.key(k);
        }
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let columns = schema(&[
        ("__kafka_key", SpqType::Bytea),
        ("value", SpqType::Cstr),
        ("__kafka_timestamp", SpqType::TimestamptzMicros),
        ("__kafka_offset", SpqType::Int64),
        ("__kafka_partition", SpqType::Int32),
    ]);
    let rows = read_rows(
        &server(),
        &read_spec(&topic, &columns, "group=g&start=-2,-2"),
    )
    .await
    .unwrap();
    // PostgreSQL's epoch: microseconds since 2000-01-01.
    let pg_ts = (ts_ms - 946_684_800_000) * 1000;
    let key = |k: &str| Cell::Bytes(k.as_bytes().to_vec());
    let mut rows = rows;
    rows.sort_by_key(|r| match (&r[4], &r[3]) {
        (Cell::I32(p), Cell::I64(o)) => (*p, *o),
        other => panic!("partition and offset {other:?}"),
    });
    assert_eq!(
        rows,
        [
            vec![
                key("k0"),
                t("w0"),
                Cell::I64(pg_ts),
                Cell::I64(0),
                Cell::I32(0)
            ],
            vec![
                key("k1"),
                t("v0"),
                Cell::I64(pg_ts),
                Cell::I64(0),
                Cell::I32(1)
            ],
            vec![
                Cell::Null,
                t("v1"),
                Cell::I64(pg_ts),
                Cell::I64(1),
                Cell::I32(1)
            ],
        ]
    );
}

#[tokio::test]
async fn a_start_past_the_end_of_the_partition_is_an_error_not_a_jump() {
    let topic = topic_with_messages("xk_past", &[2]);
    let e = read_rows(
        &server(),
        &read_spec(&topic, &line_columns(), "group=g&start=5"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        errmsg(&e),
        "partition 0: start offset 5 is past its end (the partition holds offsets 0 to 2, 2 \
         being the next message's)"
    );
}

#[tokio::test]
async fn a_fragment_that_owns_no_partition_returns_nothing() {
    let topic = topic_with_messages("xk_nofrag", &[3]);
    let spec = read_spec(&topic, &line_columns(), "group=g&start=0").fragment(1, 2);
    assert!(read_rows(&server(), &spec).await.unwrap().is_empty());
    let e = read_rows(
        &server(),
        &read_spec(&topic, &line_columns(), "group=g").fragment(2, 2),
    )
    .await
    .unwrap_err();
    assert_eq!(
        errmsg(&e),
        "bad fragment 2 of 2: frag_id must be in 0..frag_cnt"
    );
}
