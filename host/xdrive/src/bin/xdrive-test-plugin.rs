//! `xdrive-test-plugin`: a plugin for tests and benchmarks of xdrive, built on
//! `xdrive-plugin`.
//!
//! **Read** serves synthetic rows. Row `i` (counted over all fragments, from 0) belongs to
//! fragment `i % frag_cnt`; its value in a column derives from `i` and the column's type
//! (INT32 `i`, INT64 `i`, DOUBLE `i + 0.5`, CSTR `row-<i>`, ...). A CSTR column named
//! `env:NAME` holds the plugin's environment variable `NAME`; an INT32 column named `pid`
//! holds the plugin's process id. The query (`dg_utils.xdrive_query`) steers it:
//!
//! | key | meaning |
//! | --- | --- |
//! | `rows=N` | rows over all fragments (default 100) |
//! | `page_rows=N` | rows per page (default 1000) |
//! | `pidfile=PATH` | write the process id to PATH first |
//! | `wait_for=PATH` | before the first page, wait until PATH exists |
//! | `crash_after=K` | after K pages, abort (SIGABRT) |
//! | `exit_after=K` | after K pages, exit with status 3 |
//! | `hang_after=K` | after K pages, sleep forever |
//! | `fail_after=K` | after K pages, fail with an error reply |
//! | `repeat=1` | benchmark mode: encode one page once and send it for all `rows` |
//!
//! **Write** counts what it receives and, with `--out DIR` in the mount's argv, writes
//! `DIR/<name>.summary` (`rows=`, `pages=`, and `sum:<column>=` for integer columns), where
//! `<name>` is the path below the mount. A name starting with `fail` makes the write fail
//! after its last page; one starting with `crash` aborts after the first page.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use prost::Message as _;
use xdrive_plugin::proto::message::{XCol, XColDataReply};
use xdrive_plugin::proto::page::{PageBuilder, PageLimits, Value, Values};
use xdrive_plugin::proto::query;
use xdrive_plugin::proto::schema::Column;
use xdrive_plugin::proto::spq::{MICROS_PER_DAY, SpqType};
use xdrive_plugin::{PageSink, PageSource, Plugin, PluginError, ReadRequest, WriteRequest};

struct TestPlugin {
    out_dir: Option<PathBuf>,
}

#[derive(Debug)]
struct ReadPlan {
    rows: u64,
    page_rows: usize,
    pidfile: Option<PathBuf>,
    wait_for: Option<PathBuf>,
    crash_after: Option<u64>,
    exit_after: Option<u64>,
    hang_after: Option<u64>,
    fail_after: Option<u64>,
    repeat: bool,
}

fn num<T: std::str::FromStr>(q: &query::Query<'_>, key: &str) -> Result<Option<T>, PluginError> {
    q.get(key)
        .map(|v| {
            v.parse()
                .map_err(|_| PluginError::new(format!("query key {key}={v:?} is not a number")))
        })
        .transpose()
}

impl ReadPlan {
    fn of(req: &ReadRequest) -> Result<ReadPlan, PluginError> {
        let text = query::find(&req.filter)?.unwrap_or("");
        let q = query::parse(text)?;
        let known = [
            "rows",
            "page_rows",
            "pidfile",
            "wait_for",
            "crash_after",
            "exit_after",
            "hang_after",
            "fail_after",
            "repeat",
        ];
        if let Some(k) = q.unknown_keys(&known).next() {
            return Err(PluginError::new(format!("unknown query key {k:?}")));
        }
        Ok(ReadPlan {
            rows: num(&q, "rows")?.unwrap_or(100),
            page_rows: num(&q, "page_rows")?.unwrap_or(1000).max(1),
            pidfile: q.get("pidfile").map(PathBuf::from),
            wait_for: q.get("wait_for").map(PathBuf::from),
            crash_after: num(&q, "crash_after")?,
            exit_after: num(&q, "exit_after")?,
            hang_after: num(&q, "hang_after")?,
            fail_after: num(&q, "fail_after")?,
            repeat: q.get("repeat") == Some("1"),
        })
    }

    /// Acts on the `*_after` keys once `pages` pages are out.
    fn after(&self, pages: u64) -> Result<(), PluginError> {
        if self.crash_after == Some(pages) {
            eprintln!("xdrive-test-plugin: crashing as asked after {pages} pages");
            std::process::abort();
        }
        if self.exit_after == Some(pages) {
            eprintln!("xdrive-test-plugin: exiting with status 3 as asked after {pages} pages");
            std::process::exit(3);
        }
        if self.hang_after == Some(pages) {
            eprintln!("xdrive-test-plugin: hanging as asked after {pages} pages");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        if self.fail_after == Some(pages) {
            return Err(PluginError::new(format!(
                "asked to fail after {pages} pages"
            )));
        }
        Ok(())
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Pushes row `i`'s value of `column`.
fn push_value(
    b: &mut PageBuilder,
    column: &Column,
    i: u64,
    text: &mut String,
) -> Result<(), PluginError> {
    use std::fmt::Write as _;
    let n = i as i64;
    if column.name == "pid" && column.spq == SpqType::Int32 {
        b.push(Value::Int32(std::process::id() as i32))?;
        return Ok(());
    }
    if let Some(var) = column.name.strip_prefix("env:") {
        let v = std::env::var(var).unwrap_or_default();
        b.push(Value::Text(&v))?;
        return Ok(());
    }
    text.clear();
    let v = match column.spq {
        SpqType::Bool => Value::Bool(i % 2 == 1),
        SpqType::Int16 => Value::Int16((i % 32768) as i16),
        SpqType::Int32 => Value::Int32(n as i32),
        SpqType::Int64 => Value::Int64(n),
        SpqType::Float => Value::Float(n as f32),
        SpqType::Double => Value::Double(n as f64 + 0.5),
        SpqType::Date => Value::Date((i % 100_000) as i32),
        SpqType::TimeMicros => Value::Time(n.wrapping_mul(1000).rem_euclid(MICROS_PER_DAY)),
        SpqType::TimestampMicros => Value::Timestamp(n.wrapping_mul(1_000_000)),
        SpqType::TimestamptzMicros => Value::Timestamptz(n.wrapping_mul(1_000_000)),
        SpqType::Cstr => {
            let _ = write!(text, "row-{i}");
            Value::Text(text)
        }
        SpqType::Json => {
            let _ = write!(text, "{{\"i\":{i}}}");
            Value::Json(text)
        }
        SpqType::Numeric => {
            let _ = write!(text, "{i}.5");
            Value::Numeric(text)
        }
        SpqType::Bytea => {
            let bytes = i.to_le_bytes();
            b.push(Value::Bytea(&bytes))?;
            return Ok(());
        }
        other => {
            return Err(PluginError::new(format!(
                "column {:?}: the test plugin makes no {other:?} values",
                column.name
            )));
        }
    };
    b.push(v)?;
    Ok(())
}

impl Plugin for TestPlugin {
    fn name(&self) -> &str {
        "xdrive-test-plugin"
    }

    fn read(&mut self, req: &ReadRequest, out: &mut PageSink<'_>) -> Result<(), PluginError> {
        let plan = ReadPlan::of(req)?;
        if let Some(p) = &plan.pidfile {
            write_atomically(p, &std::process::id().to_string())
                .map_err(|e| PluginError::from(e).context(format!("pidfile {}", p.display())))?;
        }
        if let Some(p) = &plan.wait_for {
            while !p.exists() {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let frag_cnt = u64::try_from(req.frag_cnt.max(1)).unwrap_or(1);
        let frag_id = u64::try_from(req.frag_id).unwrap_or(0);
        if frag_id >= frag_cnt {
            return Err(PluginError::new(format!(
                "frag_id {frag_id} is not below frag_cnt {frag_cnt}"
            )));
        }
        let limits = PageLimits {
            max_rows: plan.page_rows,
            max_bytes: usize::MAX,
        };
        let mut b = PageBuilder::new(out.schema().clone(), limits);
        let columns = out.schema().columns().to_vec();
        let mut text = String::new();
        plan.after(0)?;

        if plan.repeat {
            for i in 0..plan.page_rows as u64 {
                for c in &columns {
                    push_value(&mut b, c, i, &mut text)?;
                }
                b.end_row()?;
            }
            let nrow = b.nrow() as i32;
            let encoded: Vec<Vec<u8>> = b
                .finish()?
                .into_iter()
                .map(|x: XCol| XColDataReply::page(x).encode_to_vec())
                .collect();
            let pages = plan.rows.div_ceil(plan.page_rows as u64);
            for _ in 0..pages {
                out.send_encoded(&encoded, nrow)?;
                plan.after(out.pages_sent())?;
            }
            return Ok(());
        }

        let mut i = frag_id;
        while i < plan.rows {
            for c in &columns {
                push_value(&mut b, c, i, &mut text)?;
            }
            b.end_row()?;
            if b.is_full() {
                out.send_builder(&mut b)?;
                plan.after(out.pages_sent())?;
            }
            i += frag_cnt;
        }
        if !b.is_empty() {
            out.send_builder(&mut b)?;
            plan.after(out.pages_sent())?;
        }
        Ok(())
    }

    fn write(&mut self, req: &WriteRequest, pages: &mut PageSource<'_>) -> Result<(), PluginError> {
        let path = req.filespec.as_ref().map(|f| f.path.as_str()).unwrap_or("");
        // The path below the mount, flattened into one file name.
        let name: String = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .skip(1)
            .collect::<Vec<_>>()
            .join("_");
        let name = if name.is_empty() {
            "unnamed".to_owned()
        } else {
            name
        };
        let ncol = pages.schema().len();
        let mut sums = vec![0i128; ncol];
        let mut nulls = 0u64;
        while let Some(page) = pages.next_page()? {
            for (c, col) in page.columns().enumerate() {
                nulls += col.nulls().iter().filter(|n| **n).count() as u64;
                match col.values() {
                    Values::I32(v) => sums[c] += v.iter().map(|x| i128::from(*x)).sum::<i128>(),
                    Values::I64(v) => sums[c] += v.iter().map(|x| i128::from(*x)).sum::<i128>(),
                    Values::Str(v) => sums[c] += v.iter().map(|s| s.len() as i128).sum::<i128>(),
                    Values::Bin(v) => sums[c] += v.iter().map(|s| s.len() as i128).sum::<i128>(),
                    _ => {}
                }
            }
            if name.starts_with("crash") {
                eprintln!("xdrive-test-plugin: crashing as asked after the first write page");
                std::process::abort();
            }
        }
        if let Some(dir) = &self.out_dir {
            let mut text = format!(
                "rows={}\npages={}\nnulls={nulls}\n",
                pages.rows_received(),
                pages.pages_received()
            );
            for (c, column) in pages.schema().columns().iter().enumerate() {
                text.push_str(&format!("sum:{}={}\n", column.name, sums[c]));
            }
            let file = dir.join(format!("{name}.summary"));
            write_atomically(&file, &text)
                .map_err(|e| PluginError::from(e).context(format!("summary {}", file.display())))?;
        }
        if name.starts_with("fail") {
            return Err(PluginError::with_code(
                -7,
                format!(
                    "asked to fail the write of {name} after {} rows",
                    pages.rows_received()
                ),
            ));
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut out_dir = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out_dir = args.next().map(PathBuf::from),
            other => {
                eprintln!("xdrive-test-plugin: unknown argument {other:?} (usage: [--out DIR])");
                return ExitCode::from(2);
            }
        }
    }
    xdrive_plugin::main(TestPlugin { out_dir })
}
