//! Relaying a conversation between a client and its plugin.
//!
//! Bytes are forwarded frame by frame, never re-encoded: each direction reads into a large
//! buffer, checks frame headers (magic, length, maximum), and writes out whole frames only.
//! Because the client only ever receives whole frames, xdrive can always add an error reply
//! of its own when the plugin dies, breaks the protocol, or is stopped at shutdown.
//!
//! A small [`Conversation`] tracker reads just the leading fields of each frame (a reply's
//! `errcode`, a write page's `nrow`) to know when the conversation has ended, so that a
//! plugin that exits afterwards is not reported as having died.
//!
//! The plugin's first frame is its `OpStatus`. xdrive has already answered the client's
//! `OpSpec` itself (see `server.rs`), so a successful `OpStatus` is dropped; an error one is
//! forwarded as the error reply the client awaits next.

use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::UnixStream;
use tokio::sync::watch;
use tracing::{debug, info, warn};
use xdrive::errcode;
use xdrive_proto::frame::{FrameCodec, FrameError, HEADER_LEN, MAGIC};
use xdrive_proto::message::WriteReply;

use crate::plugin::{PluginProc, describe_status};
use crate::server::Phase;

/// The smallest relay buffer; it grows to fit the largest frame seen.
const MIN_BUF: usize = 1024 * 1024;

/// The operations xdrive relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `read`.
    Read,
    /// `write`.
    Write,
    /// `sample` (a plugin may refuse it).
    Sample,
    /// `size_meta` (a plugin may refuse it).
    SizeMeta,
}

impl Op {
    /// The op for `OpSpec.op`, if xdrive knows it.
    pub fn parse(op: &str) -> Option<Op> {
        use xdrive_proto::message::{OP_READ, OP_SAMPLE, OP_SIZE_META, OP_WRITE};
        match op {
            OP_READ => Some(Op::Read),
            OP_WRITE => Some(Op::Write),
            OP_SAMPLE => Some(Op::Sample),
            OP_SIZE_META => Some(Op::SizeMeta),
            _ => None,
        }
    }

    /// The op's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::Sample => "sample",
            Op::SizeMeta => "size_meta",
        }
    }
}

/// How a conversation ended, as the plugin's replies say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The last reply was a success (end of a read, final write reply).
    Done,
    /// The plugin replied with this (negative) errcode.
    Failed(i32),
}

/// Tracks where a conversation is, from the leading fields of its frames.
#[derive(Debug, Clone)]
pub struct Conversation {
    op: Op,
    got_status: bool,
    /// Write: replies after the `OpStatus`.
    replies: u64,
    /// Write: frames the client sent after its `OpSpec` (the `WriteRequest` included).
    client_frames: u64,
    client_ended: bool,
    ending: Option<Ending>,
}

impl Conversation {
    /// A conversation whose opening (`OpSpec` and request) has been sent.
    pub fn new(op: Op) -> Self {
        Conversation {
            op,
            got_status: false,
            replies: 0,
            client_frames: 1,
            client_ended: false,
            ending: None,
        }
    }

    /// A frame from the plugin; returns the ending if this frame ends the conversation.
    pub fn on_plugin_frame(&mut self, payload: &[u8]) -> Option<Ending> {
        if self.ending.is_some() {
            return self.ending;
        }
        let code = reply_errcode(payload);
        let ending = if code < 0 {
            Some(Ending::Failed(code))
        } else if !self.got_status {
            self.got_status = true;
            None
        } else {
            match self.op {
                Op::Read | Op::Sample => payload.is_empty().then_some(Ending::Done),
                Op::SizeMeta => Some(Ending::Done),
                Op::Write => {
                    self.replies += 1;
                    (self.client_ended && self.replies >= self.client_frames)
                        .then_some(Ending::Done)
                }
            }
        };
        self.ending = ending;
        ending
    }

    /// A frame from the client after its opening.
    pub fn on_client_frame(&mut self, payload: &[u8]) {
        if self.op == Op::Write && !self.client_ended {
            self.client_frames += 1;
            if payload.is_empty() || xcol_nrow(payload) == 0 {
                self.client_ended = true;
            }
        }
    }
}

/// Reads a protobuf varint at `*pos`.
fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The `errcode` (field 1, an int32) of a reply, which encoders put first when it is not
/// 0; 0 when the first field is another one.
pub fn reply_errcode(payload: &[u8]) -> i32 {
    let mut pos = 0;
    match varint(payload, &mut pos) {
        Some(0x08) => varint(payload, &mut pos).map_or(0, |v| v as i64 as i32),
        _ => 0,
    }
}

/// Whether an `OpStatus` has the XCol bit in its `flag`.
fn xcol_flag(payload: &[u8]) -> bool {
    use prost::Message as _;
    xdrive_proto::message::OpStatus::decode(payload)
        .is_ok_and(|s| s.flag & xdrive_proto::message::OPSTATUS_FLAG_XCOL != 0)
}

/// The `nrow` (field 2) of an `XCol`, which follows `colname` (field 1) when not 0.
pub fn xcol_nrow(payload: &[u8]) -> i64 {
    let mut pos = 0;
    let mut key = varint(payload, &mut pos);
    if key == Some(0x0a) {
        let Some(len) = varint(payload, &mut pos) else {
            return 0;
        };
        pos = pos.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
        key = varint(payload, &mut pos);
    }
    match key {
        Some(0x10) => varint(payload, &mut pos).map_or(0, |v| v as i64 as i32 as i64),
        _ => 0,
    }
}

/// One direction's buffer: reads, finds whole frames, hands them out for writing.
pub struct FrameBuf {
    buf: Vec<u8>,
    /// First byte not yet forwarded (a frame boundary).
    start: usize,
    /// End of complete frames found so far (a frame boundary, `>= start`).
    scanned: usize,
    /// End of the data read.
    end: usize,
    max_frame: usize,
    /// Stream offset of `buf[0]`, for error messages.
    base: u64,
    /// Bytes forwarded.
    total: u64,
}

impl FrameBuf {
    /// A buffer holding `initial` bytes.
    pub fn new(max_frame: usize, initial: &[u8]) -> Self {
        let mut buf = vec![0; MIN_BUF.max(initial.len())];
        buf[..initial.len()].copy_from_slice(initial);
        FrameBuf {
            buf,
            start: 0,
            scanned: 0,
            end: initial.len(),
            max_frame,
            base: 0,
            total: 0,
        }
    }

    /// The payload range of the next whole frame after those already found, if it is all
    /// here; checks its header.
    pub fn next_frame(&mut self) -> Result<Option<Range<usize>>, FrameError> {
        let Some(len) = self.header_len()? else {
            return Ok(None);
        };
        let payload = self.scanned + HEADER_LEN;
        if self.end - payload < len {
            return Ok(None);
        }
        self.scanned = payload + len;
        Ok(Some(payload..payload + len))
    }

    /// The payload length in the header at `scanned`, once the header is all here.
    fn header_len(&self) -> Result<Option<usize>, FrameError> {
        let Some(h) = self.buf.get(self.scanned..self.scanned + HEADER_LEN) else {
            return Ok(None);
        };
        if self.scanned + HEADER_LEN > self.end {
            return Ok(None);
        }
        let offset = self.base + self.scanned as u64;
        let magic = i32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        if magic != MAGIC {
            return Err(FrameError::BadMagic {
                found: magic as u32,
                offset,
            });
        }
        let len = i32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let len = usize::try_from(len).map_err(|_| FrameError::NegativeLength { len, offset })?;
        if len > self.max_frame {
            return Err(FrameError::IncomingTooLarge {
                len,
                max: self.max_frame,
                offset,
            });
        }
        Ok(Some(len))
    }

    /// The bytes of a frame found by [`next_frame`](Self::next_frame).
    pub fn bytes(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// The whole frames found and not yet forwarded.
    pub fn ready(&self) -> &[u8] {
        &self.buf[self.start..self.scanned]
    }

    /// Drops [`ready`](Self::ready) without forwarding it.
    pub fn discard_ready(&mut self) {
        self.start = self.scanned;
    }

    /// Marks [`ready`](Self::ready) as forwarded.
    pub fn consume(&mut self) {
        self.total += (self.scanned - self.start) as u64;
        self.start = self.scanned;
    }

    /// Bytes forwarded so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Reads more (cancel-safe); `Ok(0)` at end of input.
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> io::Result<usize> {
        self.make_room();
        let n = r.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// The bytes read and not yet forwarded (whole frames found or not).
    pub fn unconsumed(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Makes room after `end` for at least the rest of the frame in progress (the one at
    /// `scanned`), moving unforwarded bytes to the front when that helps.
    fn make_room(&mut self) {
        if self.start == self.end {
            self.base += self.start as u64;
            self.start = 0;
            self.scanned = 0;
            self.end = 0;
        }
        // Whole size of the frame in progress (or of a header), once its header is here.
        let frame = match self.header_len() {
            Ok(Some(len)) => HEADER_LEN + len,
            _ => HEADER_LEN,
        };
        let fits = self.buf.len() - self.scanned >= frame;
        if self.end == self.buf.len() || !fits {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.base += self.start as u64;
                self.end -= self.start;
                self.scanned -= self.start;
                self.start = 0;
            }
            let need = self.scanned + frame;
            if self.buf.len() < need {
                self.buf.resize(need, 0);
            } else if self.end == self.buf.len() {
                // Full of whole frames kept back (the opening): grow.
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
    }
}

/// How the relay ended.
#[derive(Debug)]
pub enum RelayEnd {
    /// The conversation ended as the protocol says.
    Finished(Ending),
    /// The client went away first; the plugin was killed.
    ClientGone,
    /// The plugin closed its link (exited) before the end; the client was told.
    PluginDied,
    /// A peer sent a malformed frame; the client was told (if it was not the one).
    Protocol,
    /// Shutdown's grace period ran out; the plugin was killed and the client told.
    Shutdown,
}

/// Bytes relayed.
#[derive(Debug, Default, Clone, Copy)]
pub struct RelayStats {
    /// Client to plugin, opening included.
    pub to_plugin: u64,
    /// Plugin to client.
    pub to_client: u64,
}

/// The relay's settings.
#[derive(Debug, Clone)]
pub struct RelayParams {
    /// The op.
    pub op: Op,
    /// The largest frame payload.
    pub max_frame: usize,
    /// How long the plugin may take to exit after the end.
    pub exit_grace: std::time::Duration,
}

enum C2pEnd {
    ClientEof,
    ClientRead(io::Error),
    BadFrame(FrameError),
    PluginWrite(io::Error),
}

/// Client → plugin: forwards whole frames, telling `conv` about each after the opening.
async fn pump_client(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::unix::OwnedWriteHalf,
    initial: Vec<u8>,
    opening_frames: usize,
    conv: Arc<Mutex<Conversation>>,
    max_frame: usize,
    forwarded: Arc<AtomicU64>,
) -> C2pEnd {
    let mut fb = FrameBuf::new(max_frame, &initial);
    drop(initial);
    let mut skip = opening_frames;
    loop {
        loop {
            match fb.next_frame() {
                Ok(Some(range)) => {
                    if skip > 0 {
                        skip -= 1;
                    } else {
                        conv.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .on_client_frame(fb.bytes(range));
                    }
                }
                Ok(None) => break,
                Err(e) => return C2pEnd::BadFrame(e),
            }
        }
        if !fb.ready().is_empty() {
            if let Err(e) = to.write_all(fb.ready()).await {
                return C2pEnd::PluginWrite(e);
            }
            fb.consume();
            forwarded.store(fb.total(), Ordering::Relaxed);
        }
        match fb.fill(&mut from).await {
            Ok(0) => return C2pEnd::ClientEof,
            Ok(_) => {}
            Err(e) => return C2pEnd::ClientRead(e),
        }
    }
}

/// Resolves when the phase reaches [`Phase::Kill`] (never if the sender is gone).
async fn kill_phase(rx: &mut watch::Receiver<Phase>) {
    if rx.wait_for(|p| *p == Phase::Kill).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Relays one conversation. `opening` holds the client's bytes read so far (its `OpSpec`
/// and request frames first, then anything it pipelined). Always leaves the plugin reaped.
pub async fn relay(
    client: TcpStream,
    opening: Vec<u8>,
    plugin: &mut PluginProc,
    link: UnixStream,
    params: &RelayParams,
    mut phase: watch::Receiver<Phase>,
) -> (RelayEnd, RelayStats) {
    let op = params.op;
    let (cr, mut cw) = client.into_split();
    let (mut pr, pw) = link.into_split();
    let conv = Arc::new(Mutex::new(Conversation::new(op)));
    let to_plugin = Arc::new(AtomicU64::new(0));
    let mut c2p = tokio::spawn(pump_client(
        cr,
        pw,
        opening,
        2,
        conv.clone(),
        params.max_frame,
        to_plugin.clone(),
    ));
    let mut c2p_done = false;
    let mut stats = RelayStats::default();
    let mut fb = FrameBuf::new(params.max_frame, &[]);

    let end = loop {
        tokio::select! {
            biased;
            () = kill_phase(&mut phase) => break Stop::Shutdown,
            r = fb.fill(&mut pr) => {
                match r {
                    Ok(0) => break Stop::PluginEof,
                    Ok(_) => {}
                    Err(e) => {
                        debug!(error = %e, "Plugin link read failed");
                        break Stop::PluginEof;
                    }
                }
                let mut ending = None;
                let mut bad = None;
                let mut not_xcol = false;
                loop {
                    match fb.next_frame() {
                        Ok(Some(range)) => {
                            let mut c = conv.lock().unwrap_or_else(PoisonError::into_inner);
                            let status = !c.got_status;
                            let payload = fb.bytes(range);
                            if let Some(e) = c.on_plugin_frame(payload) {
                                ending = Some(e);
                                break;
                            }
                            if status {
                                // xdrive already accepted the client's OpSpec: drop the
                                // plugin's successful OpStatus (the first frame).
                                if matches!(op, Op::Read | Op::Sample) && !xcol_flag(payload) {
                                    not_xcol = true;
                                    break;
                                }
                                fb.discard_ready();
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            bad = Some(e);
                            break;
                        }
                    }
                }
                if !fb.ready().is_empty() {
                    let written = tokio::select! {
                        biased;
                        () = kill_phase(&mut phase) => None,
                        r = cw.write_all(fb.ready()) => Some(r),
                    };
                    match written {
                        None => break Stop::Shutdown,
                        Some(Err(e)) => {
                            debug!(error = %e, "Client write failed");
                            break Stop::ClientGone;
                        }
                        Some(Ok(())) => fb.consume(),
                    }
                }
                if let Some(e) = bad {
                    break Stop::PluginBadFrame(e);
                }
                if not_xcol {
                    break Stop::PluginNotXcol;
                }
                if let Some(e) = ending {
                    break Stop::Finished(e);
                }
            }
            r = &mut c2p, if !c2p_done => {
                c2p_done = true;
                match r.unwrap_or_else(|e| C2pEnd::ClientRead(io::Error::other(e))) {
                    C2pEnd::ClientEof => break Stop::ClientGone,
                    C2pEnd::ClientRead(e) => {
                        debug!(error = %e, "Client read failed");
                        break Stop::ClientGone;
                    }
                    C2pEnd::BadFrame(e) => break Stop::ClientBadFrame(e),
                    // The plugin stopped reading: its replies (or its exit) tell the rest.
                    C2pEnd::PluginWrite(e) => debug!(error = %e, "Plugin link write failed"),
                }
            }
        }
    };
    c2p.abort();
    stats.to_plugin = to_plugin.load(Ordering::Relaxed);
    stats.to_client = fb.total();
    drop(pr);

    let what = match op {
        Op::Read => "finishing the read",
        Op::Write => "finishing the write",
        Op::Sample => "finishing the sample",
        Op::SizeMeta => "answering size_meta",
    };
    let described = |plugin: &PluginProc| {
        format!(
            "mount {:?}: plugin {} (pid {})",
            plugin.mount(),
            plugin.program_name(),
            plugin.pid()
        )
    };
    let result = match end {
        Stop::Finished(ending) => {
            let _ = cw.shutdown().await;
            let (status, killed) = plugin.wait_or_kill(params.exit_grace).await;
            if killed {
                warn!(status = %describe_status(status), "Plugin did not exit after its conversation ended; killed");
            } else if !status.success() {
                warn!(status = %describe_status(status), "Plugin exited with an error after its conversation ended");
            }
            RelayEnd::Finished(ending)
        }
        Stop::ClientGone => {
            let status = plugin.kill().await;
            info!(status = %describe_status(status), "Client went away before the end; plugin stopped");
            RelayEnd::ClientGone
        }
        Stop::PluginEof => {
            let (status, _) = plugin.wait_or_kill(params.exit_grace).await;
            let mut msg = format!(
                "{} {} before {what}",
                described(plugin),
                describe_status(status)
            );
            if let Some(line) = plugin.last_stderr_line().await {
                msg.push_str(&format!("; its last stderr line: {line}"));
            }
            warn!("{msg}");
            send_error(&mut cw, errcode::PLUGIN_DIED, &msg, params.max_frame).await;
            RelayEnd::PluginDied
        }
        Stop::PluginBadFrame(e) => {
            let status = plugin.kill().await;
            let msg = format!(
                "{} sent a malformed frame ({e}); it was stopped ({})",
                described(plugin),
                describe_status(status)
            );
            warn!("{msg}");
            send_error(&mut cw, errcode::PROTOCOL, &msg, params.max_frame).await;
            RelayEnd::Protocol
        }
        Stop::PluginNotXcol => {
            let status = plugin.kill().await;
            let msg = format!(
                "{} accepted the {} without the XCol flag (OpStatus.flag bit 1): xdrive relays \
                 column pages only; it was stopped",
                described(plugin),
                op.as_str()
            );
            warn!(status = %describe_status(status), "{msg}");
            send_error(&mut cw, errcode::PROTOCOL, &msg, params.max_frame).await;
            RelayEnd::Protocol
        }
        Stop::ClientBadFrame(e) => {
            let status = plugin.kill().await;
            let msg = format!(
                "malformed frame from the client during the {}: {e}; {} was stopped",
                op.as_str(),
                described(plugin)
            );
            warn!(status = %describe_status(status), "{msg}");
            send_error(&mut cw, errcode::PROTOCOL, &msg, params.max_frame).await;
            RelayEnd::Protocol
        }
        Stop::Shutdown => {
            let status = plugin.kill().await;
            let msg = format!(
                "xdrive is shutting down and the {} ran past its grace period: {} was stopped",
                op.as_str(),
                described(plugin)
            );
            warn!(status = %describe_status(status), "{msg}");
            send_error(&mut cw, errcode::SHUTTING_DOWN, &msg, params.max_frame).await;
            RelayEnd::Shutdown
        }
    };
    (result, stats)
}

enum Stop {
    Finished(Ending),
    PluginNotXcol,
    ClientGone,
    PluginEof,
    PluginBadFrame(FrameError),
    ClientBadFrame(FrameError),
    Shutdown,
}

/// Sends an error reply (valid wherever a reply is expected) and closes our side.
pub async fn send_error<W: tokio::io::AsyncWrite + Unpin>(
    w: &mut W,
    code: i32,
    msg: &str,
    max_frame: usize,
) {
    let mut buf = BytesMut::new();
    let reply = WriteReply::error(code, msg);
    if FrameCodec::new(max_frame)
        .encode_message(&reply, &mut buf)
        .is_ok()
    {
        let _ = w.write_all(&buf).await;
    }
    let _ = w.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use xdrive_proto::message::{OpStatus, XCol, XColDataReply};

    fn enc<M: Message>(m: &M) -> Vec<u8> {
        m.encode_to_vec()
    }

    #[test]
    fn errcode_is_read_from_any_reply() {
        assert_eq!(reply_errcode(&[]), 0);
        assert_eq!(reply_errcode(&enc(&OpStatus::ok_xcol())), 0);
        assert_eq!(reply_errcode(&enc(&OpStatus::error(-7, "x"))), -7);
        assert_eq!(reply_errcode(&enc(&WriteReply::error(-1, "x"))), -1);
        let page = XColDataReply::page(XCol {
            colname: "a".into(),
            nrow: 2,
            i32data: vec![1, 2],
            nullmap: vec![false, false],
            ..XCol::default()
        });
        assert_eq!(reply_errcode(&enc(&page)), 0);
        assert_eq!(
            reply_errcode(&enc(&XColDataReply::error(i32::MIN, "x"))),
            i32::MIN
        );
    }

    #[test]
    fn nrow_is_read_past_the_column_name() {
        let x = XCol {
            colname: "column".into(),
            nrow: 300,
            ..XCol::default()
        };
        assert_eq!(xcol_nrow(&enc(&x)), 300);
        let x = XCol {
            colname: "c".into(),
            ..XCol::default()
        };
        assert_eq!(xcol_nrow(&enc(&x)), 0);
        assert_eq!(xcol_nrow(&[]), 0);
        assert_eq!(xcol_nrow(&[0x0a, 0xff]), 0);
    }

    #[test]
    fn read_ends_at_the_empty_frame_or_an_error() {
        let mut c = Conversation::new(Op::Read);
        assert_eq!(c.on_plugin_frame(&enc(&OpStatus::ok_xcol())), None);
        let page = enc(&XColDataReply::page(XCol {
            colname: "a".into(),
            nrow: 1,
            ..XCol::default()
        }));
        assert_eq!(c.on_plugin_frame(&page), None);
        assert_eq!(c.on_plugin_frame(&[]), Some(Ending::Done));

        let mut c = Conversation::new(Op::Read);
        assert_eq!(c.on_plugin_frame(&[]), None); // an all-default OpStatus
        assert_eq!(
            c.on_plugin_frame(&enc(&XColDataReply::error(-1, "no"))),
            Some(Ending::Failed(-1))
        );

        let mut c = Conversation::new(Op::Sample);
        assert_eq!(
            c.on_plugin_frame(&enc(&OpStatus::error(-2, "no"))),
            Some(Ending::Failed(-2))
        );
    }

    #[test]
    fn write_ends_with_the_reply_to_the_clients_end() {
        let mut c = Conversation::new(Op::Write);
        let col = enc(&XCol {
            colname: "a".into(),
            nrow: 3,
            ..XCol::default()
        });
        assert_eq!(c.on_plugin_frame(&enc(&OpStatus::ok_xcol())), None);
        assert_eq!(c.on_plugin_frame(&[]), None); // reply to the WriteRequest
        c.on_client_frame(&col);
        c.on_client_frame(&col);
        assert_eq!(c.on_plugin_frame(&[]), None);
        c.on_client_frame(&[]); // the end
        assert_eq!(c.on_plugin_frame(&[]), None); // reply to the second page
        assert_eq!(c.on_plugin_frame(&[]), Some(Ending::Done));

        // nrow == 0 ends a write too.
        let mut c = Conversation::new(Op::Write);
        c.on_plugin_frame(&[]);
        c.on_client_frame(&enc(&XCol {
            colname: "a".into(),
            ..XCol::default()
        }));
        assert_eq!(c.on_plugin_frame(&[]), None);
        assert_eq!(c.on_plugin_frame(&[]), Some(Ending::Done));
    }

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut b = BytesMut::new();
        let codec = FrameCodec::default();
        for p in payloads {
            codec.encode(p, &mut b).unwrap();
        }
        b.to_vec()
    }

    #[tokio::test]
    async fn framebuf_hands_out_whole_frames_only() {
        let big = vec![7u8; 3 * MIN_BUF];
        let wire = frames(&[b"abc", b"", &big, b"z"]);
        // Feed it in odd-sized pieces through a pipe-like reader.
        let (mut tx, mut rx) = tokio::io::duplex(4093);
        let writer = tokio::spawn(async move {
            tx.write_all(&wire).await.unwrap();
        });
        let mut fb = FrameBuf::new(usize::MAX >> 1, &[]);
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut out = Vec::new();
        loop {
            while let Some(r) = fb.next_frame().unwrap() {
                got.push(fb.bytes(r).to_vec());
            }
            out.extend_from_slice(fb.ready());
            fb.consume();
            if fb.fill(&mut rx).await.unwrap() == 0 {
                break;
            }
        }
        writer.await.unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], b"abc");
        assert!(got[1].is_empty());
        assert_eq!(got[2], big);
        assert_eq!(got[3], b"z");
        assert_eq!(out, frames(&[b"abc", b"", &big, b"z"]));
        assert_eq!(fb.total(), out.len() as u64);
    }

    #[test]
    fn framebuf_refuses_bad_headers() {
        let mut fb = FrameBuf::new(16, &frames(&[b"ok", &[0; 17]]));
        assert!(fb.next_frame().unwrap().is_some());
        assert!(matches!(
            fb.next_frame(),
            Err(FrameError::IncomingTooLarge {
                len: 17,
                max: 16,
                offset: 10
            })
        ));
        let mut fb = FrameBuf::new(16, b"GET / HTTP/1.1\r\n");
        assert!(matches!(fb.next_frame(), Err(FrameError::BadMagic { .. })));
    }
}
