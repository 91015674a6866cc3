//! Starting a real xdrive server for a test, and helpers around it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xdrive::proto::frame::{Frame, FrameCodec};
use xdrive::proto::schema::{Column, Schema};
use xdrive::proto::spq::SpqType;
use xdrive::{Client, ReadSpec};

/// How long a test waits for something that should happen promptly before it fails
/// (a deadline against hanging forever, not a performance threshold).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The test plugin binary.
pub fn test_plugin() -> &'static str {
    env!("CARGO_BIN_EXE_xdrive-test-plugin")
}

/// Extra settings for the server under test.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    pub max_requests: Option<usize>,
    pub shutdown_grace_secs: Option<u64>,
    /// Raw TOML appended to the file (more mounts, ...).
    pub extra: String,
}

/// A running `xdrive` with a temporary home. Killed (if still running) on drop.
pub struct Server {
    pub home: tempfile::TempDir,
    pub addr: SocketAddr,
    child: Option<Child>,
}

impl Server {
    /// Starts a server whose mount `test` runs the test plugin (argv[0] relative, resolved
    /// under `<dir>/plugin/`), with `--out <home>/out` and `XDRIVE_TEST_ENV=hello`.
    pub fn start() -> Server {
        Server::start_with(Settings::default())
    }

    pub fn start_with(settings: Settings) -> Server {
        let home = tempfile::tempdir().expect("temp dir");
        let dir = home.path();
        std::fs::create_dir_all(dir.join("plugin/test")).unwrap();
        std::fs::create_dir_all(dir.join("out")).unwrap();
        std::os::unix::fs::symlink(test_plugin(), dir.join("plugin/test/xdrive-test-plugin"))
            .unwrap();
        let mut toml = format!(
            "[xdrive]\ndir = {dir:?}\nport = 0\nhost = [\"127.0.0.1\"]\n\
             shutdown_grace_secs = {}\n",
            settings.shutdown_grace_secs.unwrap_or(30)
        );
        if let Some(n) = settings.max_requests {
            toml.push_str(&format!("max_requests = {n}\n"));
        }
        toml.push_str(&format!(
            "\n[[xdrive.mount]]\nname = \"test\"\n\
             argv = [\"test/xdrive-test-plugin\", \"--out\", {:?}]\n\
             env = [\"XDRIVE_TEST_ENV=hello\"]\n",
            dir.join("out")
        ));
        toml.push_str(&settings.extra);
        let config = dir.join("xdrive.toml");
        std::fs::write(&config, toml).unwrap();
        let ready = dir.join("ready");
        let child = Command::new(env!("CARGO_BIN_EXE_xdrive"))
            .arg(&config)
            .arg("--ready-file")
            .arg(&ready)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .expect("start xdrive");
        let mut server = Server {
            home,
            addr: "127.0.0.1:0".parse().unwrap(),
            child: Some(child),
        };
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                server.addr = text.lines().next().unwrap().parse().unwrap();
                return server;
            }
            if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "xdrive exited ({status}) before listening:\n{}",
                    server.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "xdrive did not listen in time:\n{}",
                server.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn dir(&self) -> &Path {
        self.home.path()
    }

    pub fn client(&self) -> Client {
        Client::new(self.addr.ip().to_string(), self.addr.port())
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir().join("stderr")).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("log/xdrive.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn sigterm(&self) {
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    }

    /// Waits (up to [`PATIENCE`]) for the server to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                self.child = None;
                return s;
            }
            assert!(Instant::now() < deadline, "xdrive did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A temp path for the test's files (pid files, signal files).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    /// Does a small good read and checks it, to show the server still serves.
    pub async fn assert_serves(&self) {
        let rows = read_all_ids(&self.client(), "rows=10&page_rows=4", 0, 1).await;
        assert_eq!(rows, (0..10).collect::<Vec<i64>>());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The schema most tests read: `id int64, name text, score double`.
pub fn schema() -> Schema {
    Schema::new(vec![
        Column::new("id", SpqType::Int64),
        Column::new("name", SpqType::Cstr),
        Column::new("score", SpqType::Double),
    ])
    .unwrap()
}

/// Reads fragment `frag` of `frags` of `/test/x` with `query`; returns the ids, checking
/// the other columns against them.
pub async fn read_all_ids(client: &Client, query: &str, frag: i32, frags: i32) -> Vec<i64> {
    let spec = ReadSpec::new("/test/x", &schema())
        .query(query)
        .fragment(frag, frags);
    let mut stream = client.read(&spec).await.expect("read starts");
    let mut ids = Vec::new();
    while let Some(page) = stream.next_page().await.expect("page") {
        for row in 0..page.nrow() {
            let Some(xdrive::proto::page::Value::Int64(id)) = page.column(0).get(row) else {
                panic!("id is not an int64");
            };
            assert_eq!(
                page.column(1).get(row),
                Some(xdrive::proto::page::Value::Text(&format!("row-{id}")))
            );
            assert_eq!(
                page.column(2).get(row),
                Some(xdrive::proto::page::Value::Double(id as f64 + 0.5))
            );
            ids.push(id);
        }
    }
    ids
}

/// Waits (up to [`PATIENCE`]) for a file to appear; returns its contents.
pub async fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not appear",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether a process exists (a zombie counts: it has not been reaped).
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits (up to [`PATIENCE`]) for a process to be gone and reaped; false if it is not.
pub async fn wait_process_gone(pid: u32) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if !process_exists(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Sends `bytes` on a fresh connection and returns every frame the server sends until it
/// closes.
pub async fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<Frame> {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(bytes).await.unwrap();
    let mut buf = BytesMut::new();
    let read = async {
        loop {
            let n = conn.read_buf(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("xdrive closes the connection after an error reply");
    let mut codec = FrameCodec::default();
    let mut frames = Vec::new();
    while let Some(f) = codec.decode_eof(&mut buf).expect("whole frames") {
        frames.push(f);
    }
    frames
}

/// One message as a frame.
pub fn frame<M: prost::Message>(m: &M) -> Vec<u8> {
    let mut b = BytesMut::new();
    FrameCodec::default().encode_message(m, &mut b).unwrap();
    b.to_vec()
}

/// The `{errcode, errmsg}` of an error reply frame.
pub fn error_reply(f: &Frame) -> (i32, String) {
    let r: xdrive::proto::message::WriteReply =
        prost::Message::decode(f.payload()).expect("an error reply");
    (r.errcode, r.errmsg)
}

/// The error of a read that must fail: from `read` itself, or from its first page.
pub async fn read_error(client: &Client, spec: &ReadSpec) -> xdrive::Error {
    match client.read(spec).await {
        Err(e) => e,
        Ok(mut stream) => match stream.next_page().await {
            Err(e) => e,
            Ok(p) => panic!("the read succeeded: {:?}", p.map(|p| p.nrow())),
        },
    }
}
