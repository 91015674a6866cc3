//! Starting a mount's plugin: a socket pair whose far end becomes the plugin's fd 3
//! (`XDRIVE_FD=3`), the mount's `env`, its own process group, stdout and stderr logged line
//! by line with the mount and pid; stopping and reaping it.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use command_fds::{CommandFdExt, FdMapping};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::config::{Config, Mount, XDRIVE_FD_VAR};

/// The descriptor number the link has in the plugin.
pub const PLUGIN_LINK_FD: i32 = 3;

/// The longest stderr line kept for an error message.
const MAX_KEPT_LINE: usize = 400;

/// A running plugin.
pub struct PluginProc {
    child: Child,
    pid: u32,
    /// Set once reaped.
    status: Option<ExitStatus>,
    mount: String,
    program: PathBuf,
    last_stderr: Arc<Mutex<Option<String>>>,
    log_tasks: Vec<JoinHandle<()>>,
}

/// Why a plugin could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start plugin {} of mount {mount:?}", program.display())]
pub struct SpawnError {
    mount: String,
    program: PathBuf,
    #[source]
    source: std::io::Error,
}

impl PluginProc {
    /// Starts `program` for `mount`; returns the process and our end of its link.
    pub fn spawn(
        config: &Config,
        mount: &Mount,
        program: &Path,
    ) -> Result<(PluginProc, UnixStream), SpawnError> {
        let err = |source| SpawnError {
            mount: mount.name.clone(),
            program: program.to_owned(),
            source,
        };
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(err)?;
        let mut cmd = Command::new(program);
        cmd.args(&mount.argv[1..])
            .envs(mount.env.iter().map(|(k, v)| (k, v)))
            .env(XDRIVE_FD_VAR, PLUGIN_LINK_FD.to_string())
            .current_dir(&config.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group: a Ctrl-C at xdrive's terminal does not hit plugins directly
            // (xdrive stops them itself), and killing the group reaches their children.
            .process_group(0)
            .kill_on_drop(true);
        cmd.fd_mappings(vec![FdMapping {
            parent_fd: theirs.into(),
            child_fd: PLUGIN_LINK_FD,
        }])
        .map_err(|e| err(std::io::Error::other(e)))?;
        let mut child = cmd.spawn().map_err(err)?;
        // The command holds our copy of the plugin's end: drop it so that the plugin's exit
        // closes the link.
        drop(cmd);
        let pid = child.id().unwrap_or_default();
        ours.set_nonblocking(true).map_err(err)?;
        let link = UnixStream::from_std(ours).map_err(err)?;

        let last_stderr = Arc::new(Mutex::new(None));
        let mut log_tasks = Vec::new();
        if let Some(out) = child.stdout.take() {
            log_tasks.push(tokio::spawn(log_lines(
                out,
                mount.name.clone(),
                pid,
                "stdout",
                None,
            )));
        }
        if let Some(errs) = child.stderr.take() {
            log_tasks.push(tokio::spawn(log_lines(
                errs,
                mount.name.clone(),
                pid,
                "stderr",
                Some(last_stderr.clone()),
            )));
        }
        Ok((
            PluginProc {
                child,
                pid,
                status: None,
                mount: mount.name.clone(),
                program: program.to_owned(),
                last_stderr,
                log_tasks,
            },
            link,
        ))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for the plugin to exit (cancel-safe).
    pub async fn wait(&mut self) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let s = match self.child.wait().await {
            Ok(s) => s,
            Err(e) => {
                warn!(mount = %self.mount, pid = self.pid, error = %e, "Cannot wait for the plugin");
                ExitStatus::from_raw(0xff << 8)
            }
        };
        self.status = Some(s);
        s
    }

    /// Kills the plugin's process group (SIGKILL) and reaps the plugin.
    pub async fn kill(&mut self) -> ExitStatus {
        if self.status.is_none() {
            // Only before reaping: until then the group id cannot be reused.
            if let Ok(None) = self.child.try_wait() {
                let pgid = Pid::from_raw(i32::try_from(self.pid).unwrap_or(0));
                if let Err(e) = killpg(pgid, Signal::SIGKILL) {
                    debug!(pid = self.pid, error = %e, "Cannot signal the plugin's group");
                    let _ = self.child.start_kill();
                }
            }
        }
        self.wait().await
    }

    /// Waits up to `grace` for the plugin to exit, then kills it.
    pub async fn wait_or_kill(&mut self, grace: Duration) -> (ExitStatus, bool) {
        match tokio::time::timeout(grace, self.wait()).await {
            Ok(s) => (s, false),
            Err(_) => (self.kill().await, true),
        }
    }

    /// After exit: waits a little for stdout/stderr to drain, then returns the last
    /// non-empty stderr line.
    pub async fn last_stderr_line(&mut self) -> Option<String> {
        for task in self.log_tasks.drain(..) {
            // Bounded: a grandchild may hold the pipes open.
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        self.last_stderr.lock().ok().and_then(|l| l.clone())
    }

    /// The mount.
    pub fn mount(&self) -> &str {
        &self.mount
    }

    /// The program's file name, for messages.
    pub fn program_name(&self) -> String {
        self.program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.program.display().to_string())
    }
}

/// "exited with status 3", "was killed by signal 6 (SIGABRT)".
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        format!("exited with status {code}")
    } else if let Some(sig) = status.signal() {
        match Signal::try_from(sig) {
            Ok(s) => format!("was killed by signal {sig} ({})", s.as_str()),
            Err(_) => format!("was killed by signal {sig}"),
        }
    } else {
        format!("ended ({status})")
    }
}

async fn log_lines<R: AsyncRead + Unpin>(
    stream: R,
    mount: String,
    pid: u32,
    which: &'static str,
    keep_last: Option<Arc<Mutex<Option<String>>>>,
) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end();
                if text.is_empty() {
                    continue;
                }
                info!(target: "xdrive::plugin", mount = %mount, pid, stream = which, "{text}");
                if let Some(keep) = &keep_last
                    && let Ok(mut slot) = keep.lock()
                {
                    let mut kept: String = text.chars().take(MAX_KEPT_LINE).collect();
                    if kept.len() < text.len() {
                        kept.push('…');
                    }
                    *slot = Some(kept);
                }
            }
            Err(e) => {
                debug!(mount = %mount, pid, stream = which, error = %e, "Plugin output unreadable");
                break;
            }
        }
    }
}
