//! What relaying through the xdrive server costs.
//!
//! Reads ~1 GB of typed column pages from the test plugin twice per round: once through a
//! real `xdrive` process (client → TCP → xdrive → socket pair → plugin), and once over a
//! socket pair straight to the same plugin binary (no server). Both arms use the same client
//! code (`xdrive::read_over`), which decodes every page into typed columns. Prints MB/s per
//! arm and the ratio relayed/direct (target: at least 0.9).
//!
//! `cargo bench -p xdrive` (optionally `-- --gb 2 --rounds 5`).

use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use command_fds::{CommandFdExt, FdMapping};
use prost::Message as _;
use xdrive::proto::message::XColDataReply;
use xdrive::proto::schema::{Column, Schema};
use xdrive::proto::spq::SpqType;
use xdrive::{ReadSpec, read_over};

const PAGE_ROWS: u64 = 20_000;

fn schema() -> Schema {
    Schema::new(vec![
        Column::new("id", SpqType::Int64),
        Column::new("score", SpqType::Double),
        Column::new("n", SpqType::Int32),
        Column::new("name", SpqType::Cstr),
    ])
    .unwrap()
}

fn spec(rows: u64) -> ReadSpec {
    ReadSpec::new("/bench/x", &schema())
        .query(format!("rows={rows}&page_rows={PAGE_ROWS}&repeat=1"))
}

/// Reads everything; returns (pages, rows, seconds).
async fn drain<S>(mut pages: xdrive::PageStream<S>) -> (u64, u64, f64)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let t = Instant::now();
    let mut checksum = 0i64;
    while let Some(page) = pages.next_page().await.expect("page") {
        if let Some(xdrive::proto::page::Value::Int64(v)) = page.column(0).get(page.nrow() - 1) {
            checksum = checksum.wrapping_add(v);
        }
    }
    std::hint::black_box(checksum);
    (pages.pages(), pages.rows(), t.elapsed().as_secs_f64())
}

/// Starts the test plugin on one end of a socket pair, as xdrive would.
fn spawn_direct() -> (Child, tokio::net::UnixStream) {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xdrive-test-plugin"));
    cmd.env("XDRIVE_FD", "3")
        .stdin(Stdio::null())
        .fd_mappings(vec![FdMapping {
            parent_fd: OwnedFd::from(theirs),
            child_fd: 3,
        }])
        .unwrap();
    let child = cmd.spawn().unwrap();
    drop(cmd);
    ours.set_nonblocking(true).unwrap();
    (child, tokio::net::UnixStream::from_std(ours).unwrap())
}

async fn direct(rows: u64) -> (u64, u64, f64) {
    let (mut child, link) = spawn_direct();
    let stream = read_over(link, &spec(rows), "direct plugin").await.unwrap();
    let r = drain(stream).await;
    child.wait().unwrap();
    r
}

async fn relayed(addr: std::net::SocketAddr, rows: u64) -> (u64, u64, f64) {
    let conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.set_nodelay(true).unwrap();
    let stream = read_over(conn, &spec(rows), &addr.to_string())
        .await
        .unwrap();
    drain(stream).await
}

struct Server {
    child: Child,
    addr: std::net::SocketAddr,
    _home: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let config = dir.join("xdrive.toml");
    std::fs::write(
        &config,
        format!(
            "[xdrive]\ndir = {dir:?}\nport = 0\nhost = [\"127.0.0.1\"]\n\
             [[xdrive.mount]]\nname = \"bench\"\nargv = [{:?}]\n",
            env!("CARGO_BIN_EXE_xdrive-test-plugin")
        ),
    )
    .unwrap();
    let ready = dir.join("ready");
    let child = Command::new(env!("CARGO_BIN_EXE_xdrive"))
        .arg(&config)
        .arg("--ready-file")
        .arg(&ready)
        .env("XDRIVE_LOG", "warn")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        if let Ok(text) = std::fs::read_to_string(&ready) {
            break text.lines().next().unwrap().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "xdrive did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    Server {
        child,
        addr,
        _home: home,
    }
}

/// Bytes of one page on the wire (frames included), from a one-page direct read.
async fn page_bytes() -> u64 {
    let (mut child, link) = spawn_direct();
    let mut stream = read_over(link, &spec(PAGE_ROWS), "direct plugin")
        .await
        .unwrap();
    let page = stream.next_page().await.unwrap().unwrap();
    let bytes = page
        .into_xcols()
        .into_iter()
        .map(|x| (XColDataReply::page(x).encoded_len() + 8) as u64)
        .sum();
    while stream.next_page().await.unwrap().is_some() {}
    child.wait().unwrap();
    bytes
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command: utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn arg(name: &str) -> Option<f64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let gb = arg("--gb").unwrap_or(1.0);
    let rounds = arg("--rounds").unwrap_or(5.0) as usize;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let per_page = rt.block_on(page_bytes());
    let pages = ((gb * 1e9) / per_page as f64).ceil() as u64;
    let rows = pages * PAGE_ROWS;
    let total_mb = (pages * per_page) as f64 / 1e6;
    let server = start_server();
    if !Path::new(&format!("/proc/{}", server.child.id())).exists() {
        panic!("xdrive is not running");
    }
    println!(
        "relay: {pages} pages of {PAGE_ROWS} rows x 4 columns ({per_page} bytes each), \
         {total_mb:.0} MB per read, {rounds} rounds"
    );
    let (mut best_direct, mut best_relayed) = (f64::MAX, f64::MAX);
    for round in 1..=rounds {
        let (p, r, d) = rt.block_on(direct(rows));
        assert_eq!((p, r), (pages, rows));
        let cpu = cpu_secs(server.child.id());
        let (p, r, x) = rt.block_on(relayed(server.addr, rows));
        assert_eq!((p, r), (pages, rows));
        let cpu = cpu_secs(server.child.id()) - cpu;
        println!(
            "  round {round}: direct {:.0} MB/s, through xdrive {:.0} MB/s \
             (xdrive used {cpu:.2} CPU s)",
            total_mb / d,
            total_mb / x
        );
        best_direct = best_direct.min(d);
        best_relayed = best_relayed.min(x);
    }
    let ratio = best_direct / best_relayed;
    println!(
        "relay/direct: direct {:.0} MB/s, through xdrive {:.0} MB/s, ratio {ratio:.3} \
         (best of {rounds}; target >= 0.9)",
        total_mb / best_direct,
        total_mb / best_relayed
    );
}
