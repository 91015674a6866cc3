//! A real `xdrive` server for plugin tests: a temporary `dir` with an `xdrive.toml`, the
//! plugins linked under `dir/plugin/` as the seed's relative `argv[0]` expects, and the
//! server process (killed on drop). The same pattern as `host/xdrive/tests/all/harness.rs`,
//! for crates that cannot name xdrive's binary with `CARGO_BIN_EXE_*`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to listen (a deadline against hanging, not a threshold).
const START_PATIENCE: Duration = Duration::from_secs(30);

/// A binary of this workspace, in the target directory of the running test executable
/// (`target/<profile>/deps/<test>` → `target/<profile>/<name>`). Panics, saying how to build
/// it, when it is absent.
pub fn workspace_binary(name: &str, package: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut dir = exe.parent().expect("the test executable's directory");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().expect("target/<profile>");
    }
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} does not exist: build it first: cargo build -p {package}",
        path.display()
    );
    path
}

/// One `[[xdrive.mount]]`.
#[derive(Debug, Clone)]
pub struct Mount {
    /// The mountpoint.
    pub name: String,
    /// The plugin's command line; a relative `argv[0]` resolves under `dir/plugin/`.
    pub argv: Vec<String>,
    /// `K=V` entries for the plugin's environment.
    pub env: Vec<String>,
    /// When set, `dir/plugin/<argv[0]>` is made a symbolic link to this program.
    pub program: Option<PathBuf>,
}

impl Mount {
    /// A mount running `program` as `dir/plugin/<argv0>` (relative, like the seed's
    /// `xdr_kafkaoffset/xdr_kafkaoffset`) with `args`.
    pub fn plugin(
        name: &str,
        argv0: &str,
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Mount {
        let mut argv = vec![argv0.to_owned()];
        argv.extend(args.into_iter().map(Into::into));
        Mount {
            name: name.to_owned(),
            argv,
            env: Vec::new(),
            program: Some(program.into()),
        }
    }

    /// Adds `K=V` to the plugin's environment.
    pub fn env(mut self, entry: impl Into<String>) -> Mount {
        self.env.push(entry.into());
        self
    }
}

/// A running `xdrive` (the workspace's binary; `cargo build -p xdrive`) with a temporary
/// home. Killed on drop.
pub struct XdriveServer {
    home: PathBuf,
    _tempdir: TempDir,
    addr: SocketAddr,
    child: Option<Child>,
}

/// A temporary directory removed on drop (std only).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl XdriveServer {
    /// Writes `xdrive.toml` with `mounts` (port 0, loopback), links their programs, starts
    /// `xdrive --ready-file` and waits until it listens.
    pub fn start(mounts: &[Mount]) -> XdriveServer {
        let xdrive = workspace_binary("xdrive", "xdrive");
        let home = std::env::temp_dir().join(crate::unique_name("xdrive"));
        std::fs::create_dir_all(&home).expect("create the xdrive home");
        let tempdir = TempDir(home.clone());
        let mut toml = format!("[xdrive]\ndir = {home:?}\nport = 0\nhost = [\"127.0.0.1\"]\n");
        for m in mounts {
            if let Some(program) = &m.program {
                let link = home.join("plugin").join(&m.argv[0]);
                std::fs::create_dir_all(link.parent().expect("plugin dir"))
                    .expect("create the plugin dir");
                std::os::unix::fs::symlink(program, &link).expect("link the plugin");
            }
            toml.push_str(&format!(
                "\n[[xdrive.mount]]\nname = {:?}\nargv = {:?}\nenv = {:?}\n",
                m.name, m.argv, m.env
            ));
        }
        let config = home.join("xdrive.toml");
        std::fs::write(&config, toml).expect("write xdrive.toml");
        let ready = home.join("ready");
        let child = Command::new(&xdrive)
            .arg(&config)
            .arg("--ready-file")
            .arg(&ready)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(home.join("stdout")).expect("stdout file"))
            .stderr(std::fs::File::create(home.join("stderr")).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", xdrive.display()));
        let mut server = XdriveServer {
            home,
            _tempdir: tempdir,
            addr: "127.0.0.1:0".parse().expect("an address"),
            child: Some(child),
        };
        let deadline = Instant::now() + START_PATIENCE;
        loop {
            if let Ok(text) = std::fs::read_to_string(&ready)
                && let Some(addr) = text.lines().next().and_then(|l| l.parse().ok())
            {
                server.addr = addr;
                return server;
            }
            if let Some(status) = server
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "xdrive exited ({status}) before listening:\n{}",
                    server.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "xdrive did not listen within {START_PATIENCE:?}:\n{}",
                server.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// xdrive with one plugin mounted as `name`: `program` run as `dir/plugin/<argv0>` with
    /// `args` (`-X` pairs and a broker list, for our plugins), `env_entries` (`K=V`) added
    /// to its environment.
    pub fn with_plugin(
        name: &str,
        argv0: &str,
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<String>>,
        env_entries: &[&str],
    ) -> XdriveServer {
        let mount = env_entries
            .iter()
            .fold(Mount::plugin(name, argv0, program, args), |m, e| m.env(*e));
        XdriveServer::start(&[mount])
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its `dir`.
    pub fn dir(&self) -> &Path {
        &self.home
    }

    /// What it wrote to stderr (its log lines, plugins' stderr included).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.home.join("stderr")).unwrap_or_default()
    }

    /// `dir/log/xdrive.log`.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("log/xdrive.log")).unwrap_or_default()
    }

    /// Checks that a plugin mounted with [`Env::ssl_mount_args`](crate::Env::ssl_mount_args)
    /// and its log filter at `debug` logged its settings with the SSL key password
    /// `[redacted]`, and that the password appears nowhere in the server's stderr and log.
    pub fn assert_ssl_key_password_redacted(&self) {
        let logs = self.stderr() + &self.log();
        assert!(
            logs.contains("ssl.key.password=[redacted]"),
            "the plugin logs its settings at debug:\n{logs}"
        );
        assert!(
            !logs.contains(&crate::env().ssl_key_password),
            "the key password appears in the logs:\n{logs}"
        );
    }
}

impl Drop for XdriveServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
