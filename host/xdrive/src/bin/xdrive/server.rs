//! Listening, the client's opening, routing to a mount, the concurrency limit, and
//! graceful shutdown.
//!
//! The client's side of the link (our choice; the database's framing is not public) is the
//! same 8-byte framing and the same exchange as the plugin link. xdrive answers the
//! client's `OpSpec` itself — `OpStatus{errcode=0, flag=1}` for `read`, `write`, `sample`
//! and `size_meta`, an error for anything else — because the mount is only known from the
//! request that follows (`filespec.path`, field 1 of every request). It then reads the
//! request, starts the mount's plugin, replays `OpSpec` and request to it, drops the
//! plugin's own `OpStatus` when it is a success (or forwards it, as the error reply, when it
//! is not), and relays frames both ways. A client may also send `OpSpec` and request back to
//! back without waiting. Anything refused after the `OpStatus` (unknown mountpoint, bad path,
//! busy, ...) is one error reply `{errcode < 0, errmsg}` where the client expects the next
//! reply: `OpStatus`, `XColDataReply` and `WriteReply` share those two fields.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, watch};
use tracing::{Instrument, debug, info, info_span, warn};
use xdrive::errcode;
use xdrive_proto::frame::{FrameCodec, FrameError};
use xdrive_proto::message::{FileSpec, OpSpec, OpStatus};

use crate::config::{Config, RouteError};
use crate::plugin::PluginProc;
use crate::relay::{self, FrameBuf, Op, RelayEnd, RelayParams};

/// How long a refused client has to read the reply and close before we close.
const REFUSAL_LINGER: Duration = Duration::from_secs(5);

/// Where the server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Accepting and serving.
    Running,
    /// SIGTERM received: no new connections, in-flight requests run on.
    Draining,
    /// The grace period is over: plugins still running are stopped.
    Kill,
}

/// Resolves once the phase is `at_least` (never if the sender is gone).
async fn reached(rx: &mut watch::Receiver<Phase>, at_least: Phase) {
    let ok = rx.wait_for(|p| *p as u8 >= at_least as u8).await.is_ok();
    if !ok {
        std::future::pending::<()>().await;
    }
}

/// Counts requests in flight; shutdown waits for zero.
#[derive(Clone)]
struct InFlight(Arc<watch::Sender<usize>>);

struct InFlightGuard(Arc<watch::Sender<usize>>);

impl InFlight {
    fn new() -> Self {
        InFlight(Arc::new(watch::Sender::new(0)))
    }

    fn enter(&self) -> InFlightGuard {
        self.0.send_modify(|n| *n += 1);
        InFlightGuard(self.0.clone())
    }

    fn count(&self) -> usize {
        *self.0.borrow()
    }

    async fn wait_zero(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

struct Ctx {
    config: Arc<Config>,
    permits: Arc<Semaphore>,
    phase: watch::Receiver<Phase>,
    inflight: InFlight,
    next_id: AtomicU64,
}

/// Binds every address of every `host`, serves until SIGTERM or SIGINT, then shuts down
/// gracefully. Writes the bound addresses to `ready_file` once listening.
pub async fn run(config: Config, ready_file: Option<&Path>) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let listeners = bind(&config).await?;
    let addrs: Vec<SocketAddr> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .collect();
    let mut term = signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch for SIGINT")?;

    let (phase_tx, phase_rx) = watch::channel(Phase::Running);
    let ctx = Arc::new(Ctx {
        config: config.clone(),
        permits: Arc::new(Semaphore::new(config.max_requests)),
        phase: phase_rx,
        inflight: InFlight::new(),
        next_id: AtomicU64::new(1),
    });
    let mut accept_loops = Vec::new();
    for l in listeners {
        accept_loops.push(tokio::spawn(accept_loop(l, ctx.clone())));
    }
    info!(
        addrs = ?addrs,
        mounts = ?config.mounts.keys().collect::<Vec<_>>(),
        max_requests = config.max_requests,
        "Listening"
    );
    if let Some(path) = ready_file {
        write_ready_file(path, &addrs)
            .with_context(|| format!("cannot write the ready file {}", path.display()))?;
    }

    let signal_name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    phase_tx.send_replace(Phase::Draining);
    for l in accept_loops {
        let _ = l.await;
    }
    let grace = config.shutdown_grace;
    info!(
        signal = signal_name,
        in_flight = ctx.inflight.count(),
        grace_secs = grace.as_secs(),
        "Shutting down: no new connections; in-flight requests may finish"
    );
    if tokio::time::timeout(grace, ctx.inflight.wait_zero())
        .await
        .is_err()
    {
        warn!(
            in_flight = ctx.inflight.count(),
            "Grace period over: stopping the plugins still running"
        );
        phase_tx.send_replace(Phase::Kill);
        if tokio::time::timeout(Duration::from_secs(30), ctx.inflight.wait_zero())
            .await
            .is_err()
        {
            warn!(
                in_flight = ctx.inflight.count(),
                "Some requests did not end; exiting anyway"
            );
        }
    }
    info!("Stopped");
    Ok(())
}

async fn bind(config: &Config) -> anyhow::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for host in &config.hosts {
        let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), config.port))
            .await
            .with_context(|| format!("xdrive.host {host:?} does not resolve"))?
            .collect();
        let mut bound_one = false;
        let mut last_err = None;
        for addr in resolved {
            if !seen.insert(addr) {
                bound_one = true;
                continue;
            }
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    bound_one = true;
                    listeners.push(l);
                }
                Err(e) => {
                    warn!(host = %host, addr = %addr, error = %e, "Cannot listen on one address of a host");
                    last_err = Some((addr, e));
                }
            }
        }
        if !bound_one {
            return Err(match last_err {
                Some((addr, e)) => anyhow::Error::new(e)
                    .context(format!("cannot listen on {addr} (xdrive.host {host:?})")),
                None => anyhow::anyhow!("xdrive.host {host:?} resolves to no address"),
            });
        }
    }
    Ok(listeners)
}

fn write_ready_file(path: &Path, addrs: &[SocketAddr]) -> std::io::Result<()> {
    let mut text = String::new();
    for a in addrs {
        text.push_str(&a.to_string());
        text.push('\n');
    }
    let mut tmp = PathBuf::from(path);
    tmp.as_mut_os_string().push(".tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

async fn accept_loop(listener: TcpListener, ctx: Arc<Ctx>) {
    let mut phase = ctx.phase.clone();
    loop {
        tokio::select! {
            () = reached(&mut phase, Phase::Draining) => break,
            r = listener.accept() => match r {
                Ok((conn, peer)) => {
                    let guard = ctx.inflight.enter();
                    let id = ctx.next_id.fetch_add(1, Ordering::Relaxed);
                    let span = info_span!("conn", id, peer = %peer, op = tracing::field::Empty,
                        mount = tracing::field::Empty, pid = tracing::field::Empty);
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        handle(conn, ctx).await;
                        drop(guard);
                    }.instrument(span));
                }
                Err(e) => {
                    // Out of descriptors and the like: do not spin.
                    warn!(error = %e, "Accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// The first field of every request: `filespec`.
#[derive(Clone, PartialEq, prost::Message)]
struct RequestHead {
    #[prost(message, optional, tag = "1")]
    filespec: Option<FileSpec>,
}

/// A client's opening, read whole.
struct Opening {
    op: Op,
    path: String,
    /// Everything read so far: the two opening frames, then whatever followed.
    bytes: Vec<u8>,
}

enum OpeningError {
    /// The client closed (or failed) before sending a whole opening: nobody to answer.
    Gone(Option<std::io::Error>),
    /// Answer with this error reply.
    Refuse(i32, String),
}

async fn next_opening_frame(
    conn: &mut TcpStream,
    fb: &mut FrameBuf,
    what: &str,
) -> Result<std::ops::Range<usize>, OpeningError> {
    loop {
        match fb.next_frame() {
            Ok(Some(r)) => return Ok(r),
            Ok(None) => {}
            Err(e) => return Err(malformed(what, &e)),
        }
        match fb.fill(conn).await {
            Ok(0) => return Err(OpeningError::Gone(None)),
            Ok(_) => {}
            Err(e) => return Err(OpeningError::Gone(Some(e))),
        }
    }
}

fn malformed(what: &str, e: &FrameError) -> OpeningError {
    OpeningError::Refuse(
        errcode::BAD_REQUEST,
        format!("malformed frame where the client's {what} belongs: {e}"),
    )
}

async fn read_opening(conn: &mut TcpStream, max_frame: usize) -> Result<Opening, OpeningError> {
    let mut fb = FrameBuf::new(max_frame, &[]);
    let r = next_opening_frame(conn, &mut fb, "OpSpec").await?;
    let spec = OpSpec::decode(fb.bytes(r)).map_err(|e| {
        OpeningError::Refuse(
            errcode::BAD_REQUEST,
            format!("the client's first frame is not an OpSpec: {e}"),
        )
    })?;
    let op = Op::parse(&spec.op).ok_or_else(|| {
        OpeningError::Refuse(
            errcode::UNKNOWN_OP,
            format!(
                "unknown op {:?}: xdrive serves read, write, sample and size_meta",
                spec.op
            ),
        )
    })?;
    // Accept the op now: the mount, and so the plugin, is only known from the request.
    let mut status = bytes::BytesMut::new();
    let accepted = FrameCodec::new(max_frame)
        .encode_message(&OpStatus::ok_xcol(), &mut status)
        .is_ok();
    if accepted && let Err(e) = conn.write_all(&status).await {
        return Err(OpeningError::Gone(Some(e)));
    }
    let r = next_opening_frame(conn, &mut fb, "request").await?;
    let head = RequestHead::decode(fb.bytes(r)).map_err(|e| {
        OpeningError::Refuse(
            errcode::BAD_REQUEST,
            format!(
                "the client's second frame is not a {} request: {e}",
                op.as_str()
            ),
        )
    })?;
    let path = head.filespec.map(|f| f.path).unwrap_or_default();
    if path.is_empty() {
        return Err(OpeningError::Refuse(
            errcode::BAD_PATH,
            format!(
                "the {} request has no filespec.path: it must name /MOUNTPOINT/...",
                op.as_str()
            ),
        ));
    }
    Ok(Opening {
        op,
        path,
        bytes: fb.unconsumed().to_vec(),
    })
}

async fn handle(mut conn: TcpStream, ctx: Arc<Ctx>) {
    let _ = conn.set_nodelay(true);
    let started = Instant::now();
    let config = &ctx.config;
    let max_frame = config.max_frame_bytes;
    let mut phase = ctx.phase.clone();

    let opening = tokio::select! {
        r = tokio::time::timeout(config.opening_timeout, read_opening(&mut conn, max_frame)) => r,
        () = reached(&mut phase, Phase::Kill) => {
            return refuse(conn, errcode::SHUTTING_DOWN, "xdrive is shutting down".into(), max_frame).await;
        }
    };
    let opening = match opening {
        Err(_) => {
            let msg = format!(
                "no complete request within {}s (xdrive.opening_timeout_secs)",
                config.opening_timeout.as_secs()
            );
            return refuse(conn, errcode::OPENING_TIMEOUT, msg, max_frame).await;
        }
        Ok(Err(OpeningError::Gone(e))) => {
            debug!(error = ?e.map(|e| e.to_string()), "Client left before sending a whole request");
            return;
        }
        Ok(Err(OpeningError::Refuse(code, msg))) => {
            return refuse(conn, code, msg, max_frame).await;
        }
        Ok(Ok(o)) => o,
    };
    let span = tracing::Span::current();
    span.record("op", opening.op.as_str());

    let route = match config.route(&opening.path) {
        Ok(r) => r,
        Err(e) => {
            let code = match e {
                RouteError::UnknownMount { .. } => errcode::UNKNOWN_MOUNT,
                _ => errcode::BAD_PATH,
            };
            return refuse(conn, code, e.to_string(), max_frame).await;
        }
    };
    let mount = route.mount;
    span.record("mount", mount.name.as_str());
    if *ctx.phase.borrow() != Phase::Running {
        let msg = "xdrive is shutting down and takes no new requests".to_owned();
        return refuse(conn, errcode::SHUTTING_DOWN, msg, max_frame).await;
    }
    let Ok(permit) = ctx.permits.clone().try_acquire_owned() else {
        let msg = format!(
            "xdrive is serving its maximum of {} requests at once (xdrive.max_requests); \
             try again later",
            config.max_requests
        );
        return refuse(conn, errcode::BUSY, msg, max_frame).await;
    };
    let program = match config.resolve_program(mount) {
        Ok(p) => p,
        Err(e) => return refuse(conn, errcode::PLUGIN_START, e.to_string(), max_frame).await,
    };
    let (mut plugin, link) = match PluginProc::spawn(config, mount, &program) {
        Ok(p) => p,
        Err(e) => {
            let msg = format!(
                "{e}: {}",
                std::error::Error::source(&e).map_or(String::new(), |s| s.to_string())
            );
            return refuse(conn, errcode::PLUGIN_START, msg, max_frame).await;
        }
    };
    span.record("pid", plugin.pid());
    info!(
        path = %opening.path,
        rest = %route.rest,
        program = %program.display(),
        "Plugin started"
    );

    let params = RelayParams {
        op: opening.op,
        max_frame,
        exit_grace: config.plugin_exit_grace,
    };
    let (end, stats) = relay::relay(
        conn,
        opening.bytes,
        &mut plugin,
        link,
        &params,
        ctx.phase.clone(),
    )
    .await;
    drop(permit);
    let outcome = match end {
        RelayEnd::Finished(relay::Ending::Done) => "done".to_owned(),
        RelayEnd::Finished(relay::Ending::Failed(code)) => format!("plugin replied errcode {code}"),
        RelayEnd::ClientGone => "client went away".to_owned(),
        RelayEnd::PluginDied => "plugin died".to_owned(),
        RelayEnd::Protocol => "protocol violation".to_owned(),
        RelayEnd::Shutdown => "stopped by shutdown".to_owned(),
    };
    info!(
        outcome = %outcome,
        bytes_to_plugin = stats.to_plugin,
        bytes_to_client = stats.to_client,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Request ended"
    );
}

/// Answers with one error reply, then waits (bounded) for the client to close, so the reply
/// is not lost to a connection reset.
async fn refuse(mut conn: TcpStream, code: i32, msg: String, max_frame: usize) {
    info!(errcode = code, "Refused: {msg}");
    relay::send_error(&mut conn, code, &msg, max_frame).await;
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        let mut scratch = vec![0u8; 64 * 1024];
        while let Ok(n) = conn.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}
