//! Integration tests: a real `xdrive` (build it first: `cargo build -p xdrive`) with
//! `xdr_kafka` mounted as the seed shows, against the real broker of `tests/env/up`.

mod errors;
mod ranges;
mod roundtrip;
mod ssl;
mod transactions;
mod transforms;

use std::future::Future;
use std::time::Duration;

use dgkafka_testkit::{XdriveServer, env};
use xdrive::proto::page::Value;
use xdrive::proto::schema::{Column, Schema};
use xdrive::proto::spq::SpqType;
use xdrive::{Client, ReadSpec, WriteSpec};

/// The mount's name, as in the seed.
pub const MOUNT: &str = "kafka";

/// A deadline against hanging forever (not a performance threshold).
pub const PATIENCE: Duration = Duration::from_secs(180);

/// Awaits `f`, failing the test if it hangs.
pub async fn within<T>(f: impl Future<Output = T>) -> T {
    dgkafka_testkit::within(PATIENCE, f).await
}

/// xdrive with `kafka` mounted: `xdr_kafka/xdr_kafka <args>`.
pub fn server_with(args: Vec<String>, env_entries: &[&str]) -> XdriveServer {
    XdriveServer::with_plugin(
        MOUNT,
        "xdr_kafka/xdr_kafka",
        env!("CARGO_BIN_EXE_xdr_kafka"),
        args,
        env_entries,
    )
}

/// xdrive with `kafka` mounted on the PLAINTEXT listener.
pub fn server() -> XdriveServer {
    server_with(vec![env().kafka_bootstrap.clone()], &[])
}

pub fn client(server: &XdriveServer) -> Client {
    Client::new(server.addr().ip().to_string(), server.addr().port())
}

pub fn schema(cols: &[(&str, SpqType)]) -> Schema {
    Schema::new(cols.iter().map(|&(n, t)| Column::new(n, t)).collect()).unwrap()
}

/// The row-kind columns of our protocol with dgkafka.
pub const KINDS: [(&str, SpqType); 5] = [
    ("__dg_kind", SpqType::Int32),
    ("__dg_partition", SpqType::Int32),
    ("__dg_offset", SpqType::Int64),
    ("__dg_raw", SpqType::Bytea),
    ("__dg_reason", SpqType::Cstr),
];

/// `cols` followed by the row-kind columns.
pub fn with_kinds(cols: &[(&str, SpqType)]) -> Schema {
    let mut all = cols.to_vec();
    all.extend(KINDS);
    schema(&all)
}

/// An owned value, for comparing rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    I32(i32),
    I64(i64),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<Option<Value<'_>>> for Cell {
    fn from(v: Option<Value<'_>>) -> Cell {
        match v {
            None => Cell::Null,
            Some(Value::Bool(b)) => Cell::Bool(b),
            Some(Value::Int16(x)) => Cell::I32(i32::from(x)),
            Some(Value::Int32(x) | Value::Date(x)) => Cell::I32(x),
            Some(
                Value::Int64(x) | Value::Time(x) | Value::Timestamp(x) | Value::Timestamptz(x),
            ) => Cell::I64(x),
            Some(Value::Float(x)) => Cell::F64(f64::from(x)),
            Some(Value::Double(x)) => Cell::F64(x),
            Some(Value::Text(s) | Value::Json(s) | Value::Numeric(s)) => Cell::Text(s.to_owned()),
            Some(Value::Bytea(b)) => Cell::Bytes(b.to_vec()),
        }
    }
}

/// Shorthands for expected cells.
pub fn t(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

/// Reads `spec` to the end: every row, as cells.
pub async fn read_rows(
    server: &XdriveServer,
    spec: &ReadSpec,
) -> Result<Vec<Vec<Cell>>, xdrive::Error> {
    Ok(read_pages(server, spec).await?.concat())
}

/// Reads `spec` to the end: every page, as rows of cells.
pub async fn read_pages(
    server: &XdriveServer,
    spec: &ReadSpec,
) -> Result<Vec<Vec<Vec<Cell>>>, xdrive::Error> {
    within(async {
        let mut stream = client(server).read(spec).await?;
        let mut pages = Vec::new();
        while let Some(page) = stream.next_page().await? {
            pages.push(
                (0..page.nrow())
                    .map(|r| page.columns().map(|c| Cell::from(c.get(r))).collect())
                    .collect(),
            );
        }
        Ok(pages)
    })
    .await
}

/// A read of `/kafka/<topic>` with `columns` and `query`, fragment 0 of 1.
pub fn read_spec(topic: &str, columns: &Schema, query: &str) -> ReadSpec {
    ReadSpec::new(format!("/{MOUNT}/{topic}"), columns).query(query)
}

/// Writes `rows` (cells in `columns` order) to `path` with `format`.
pub async fn write_rows(
    server: &XdriveServer,
    path: &str,
    format: &str,
    columns: &Schema,
    rows: &[Vec<Cell>],
) -> Result<(), xdrive::Error> {
    write_rows_spec(
        server,
        WriteSpec::new(path, columns).format(format),
        columns,
        rows,
    )
    .await
}

/// Writes `rows` (cells in `columns` order) as `spec` says.
pub async fn write_rows_spec(
    server: &XdriveServer,
    spec: WriteSpec,
    columns: &Schema,
    rows: &[Vec<Cell>],
) -> Result<(), xdrive::Error> {
    within(async {
        let mut w = client(server).write(&spec).await?;
        let mut page = w.page_builder();
        for row in rows {
            for (cell, col) in row.iter().zip(columns.columns()) {
                let v = match (cell, col.spq) {
                    (Cell::Null, _) => None,
                    (Cell::Bool(b), _) => Some(Value::Bool(*b)),
                    (Cell::I32(x), SpqType::Date) => Some(Value::Date(*x)),
                    (Cell::I32(x), _) => Some(Value::Int32(*x)),
                    (Cell::I64(x), SpqType::TimestamptzMicros) => Some(Value::Timestamptz(*x)),
                    (Cell::I64(x), SpqType::TimestampMicros) => Some(Value::Timestamp(*x)),
                    (Cell::I64(x), _) => Some(Value::Int64(*x)),
                    (Cell::F64(x), _) => Some(Value::Double(*x)),
                    (Cell::Text(s), SpqType::Json) => Some(Value::Json(s)),
                    (Cell::Text(s), SpqType::Numeric) => Some(Value::Numeric(s)),
                    (Cell::Text(s), _) => Some(Value::Text(s)),
                    (Cell::Bytes(b), _) => Some(Value::Bytea(b)),
                };
                page.push_opt(v).unwrap();
            }
            page.end_row().unwrap();
        }
        w.send_builder(&mut page).await?;
        w.finish().await.map(drop)
    })
    .await
}

/// The plugin's message of a failed request.
pub fn errmsg(e: &xdrive::Error) -> String {
    e.errmsg()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("not an error reply: {e}"))
}

/// A new topic with `counts[p]` lines `p{p}-m{i}` in partition `p`.
pub fn topic_with_messages(prefix: &str, counts: &[usize]) -> String {
    let topic = dgkafka_testkit::unique_name(prefix);
    dgkafka_testkit::create_topic(&topic, i32::try_from(counts.len()).unwrap());
    for (p, &n) in counts.iter().enumerate() {
        let lines: Vec<String> = (0..n).map(|i| format!("p{p}-m{i}")).collect();
        produce(&topic, p, &lines);
    }
    topic
}

/// Appends `lines` to partition `p` of `topic`.
pub fn produce(topic: &str, p: usize, lines: &[String]) {
    if !lines.is_empty() {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        dgkafka_testkit::kafka::kcat_produce_lines(topic, i32::try_from(p).unwrap(), &refs);
    }
}

/// Splits rows by `__dg_kind` (the column at `kind`): (data, errors, positions).
pub fn by_kind(rows: Vec<Vec<Cell>>, kind: usize) -> [Vec<Vec<Cell>>; 3] {
    let mut out: [Vec<Vec<Cell>>; 3] = Default::default();
    for row in rows {
        let Cell::I32(k) = row[kind] else {
            panic!("__dg_kind is {:?}", row[kind]);
        };
        out[usize::try_from(k).unwrap()].push(row);
    }
    out
}

/// The (partition, next offset) of position rows, whose `__dg_partition` is at `kind + 1`.
pub fn positions(rows: &[Vec<Cell>], kind: usize) -> Vec<(i32, i64)> {
    rows.iter()
        .map(|r| match (&r[kind + 1], &r[kind + 2]) {
            (Cell::I32(p), Cell::I64(o)) => (*p, *o),
            other => panic!("position row {other:?}"),
        })
        .collect()
}
