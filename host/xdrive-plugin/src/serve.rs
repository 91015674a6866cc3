//! The conversation: accept the op, serve it through [`Plugin`], turn errors into replies.

use std::fmt;
use std::io::{Read, Write};
use std::process::ExitCode;

use bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType};
use xdrive_proto::frame::Frame;
use xdrive_proto::message::{
    self, OP_READ, OP_SAMPLE, OP_SIZE_META, OP_WRITE, OpSpec, OpStatus, ReadRequest, WriteReply,
    WriteRequest, XCol, XColDataReply,
};
use xdrive_proto::page::{PageBuilder, PageLimits, PageReader};
use xdrive_proto::schema::Schema;
use xdrive_proto::wire::WireXCol;

use crate::link::{Link, LinkError};

/// The `errcode` of an error a plugin returns without choosing one.
pub const ERRCODE_PLUGIN: i32 = -1;
/// The `errcode` of the `OpStatus` refusing an op the plugin does not serve (`sample`,
/// `size_meta`, anything unknown).
pub const ERRCODE_UNSERVED_OP: i32 = -2;
/// The `errcode` of an error that is temporarily so — a lost or restarting backend (broker,
/// database, …) — and may go away if the client sends the same request again later. Made by
/// [`PluginError::retriable`]; xdrive's clients treat it as retriable
/// (`xdrive::errcode::is_retriable`), unlike [`ERRCODE_PLUGIN`].
pub const ERRCODE_RETRIABLE: i32 = -3;

/// What a plugin implements. Each method serves one request; the process then exits.
///
/// [`main`] drops the plugin only after the conversation has ended and the link is
/// closed: a plugin keeps in `self` what is slow to tear down (a Kafka client closing its
/// connections, a worker thread joining), so that the client is not kept waiting for it.
pub trait Plugin {
    /// The plugin's name for messages (default: the program's file name).
    fn name(&self) -> &str {
        default_name()
    }

    /// Serves a read: send pages of `out.schema()` (the request's `columnlist` order) with
    /// [`PageSink::send_page`] or [`PageSink::send_builder`], then return `Ok` to end the
    /// stream. An `Err` becomes an error reply after the pages already sent.
    fn read(&mut self, req: &ReadRequest, out: &mut PageSink<'_>) -> Result<(), PluginError>;

    /// Serves a write: take pages with [`PageSource::next_page`] until it returns `None`, then
    /// return `Ok` for a successful final reply. An `Err` is the reply to the page being
    /// processed (the write fails). The default refuses writes.
    fn write(&mut self, req: &WriteRequest, pages: &mut PageSource<'_>) -> Result<(), PluginError> {
        let _ = (req, pages);
        Err(PluginError::with_code(
            ERRCODE_UNSERVED_OP,
            format!("plugin {} does not serve writes", self.name()),
        ))
    }
}

fn default_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::env::args_os()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "plugin".to_owned())
    })
}

/// An error a plugin reports: a negative `errcode` and a message, sent as the error reply.
///
/// Any `std::error::Error` converts into one (its message is the error's chain, joined with
/// ": "), so plugin code can use `?`.
#[derive(Clone, PartialEq, Eq)]
pub struct PluginError {
    code: i32,
    message: String,
}

impl PluginError {
    /// An error with [`ERRCODE_PLUGIN`].
    pub fn new(message: impl Into<String>) -> Self {
        PluginError::with_code(ERRCODE_PLUGIN, message)
    }

    /// An error with [`ERRCODE_RETRIABLE`]: the backend is temporarily unavailable, and the
    /// same request may succeed later. Only for conditions that pass without anything being
    /// changed — never for bad data, settings or requests.
    pub fn retriable(message: impl Into<String>) -> Self {
        PluginError::with_code(ERRCODE_RETRIABLE, message)
    }

    /// Whether the error is [`ERRCODE_RETRIABLE`].
    pub fn is_retriable(&self) -> bool {
        self.code == ERRCODE_RETRIABLE
    }

    /// An error with `code` (a code that is not negative becomes [`ERRCODE_PLUGIN`]).
    pub fn with_code(code: i32, message: impl Into<String>) -> Self {
        PluginError {
            code: if code < 0 { code } else { ERRCODE_PLUGIN },
            message: message.into(),
        }
    }

    /// The (negative) `errcode`.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `context: ` before its message.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PluginError({}: {})", self.code, self.message)
    }
}

impl<E: std::error::Error> From<E> for PluginError {
    fn from(e: E) -> Self {
        PluginError::new(error_chain(&e))
    }
}

/// `e` and its sources, joined with ": ".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// How a conversation ended, when the link held up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A read ended with the end-of-stream frame.
    Read {
        /// Pages sent.
        pages: u64,
        /// Rows sent.
        rows: u64,
    },
    /// A write ended with a successful final reply.
    Wrote {
        /// Pages received.
        pages: u64,
        /// Rows received.
        rows: u64,
    },
    /// The op was served but failed; the error reply was sent.
    Failed {
        /// The op.
        op: String,
        /// The error sent.
        error: PluginError,
    },
    /// The op is not served (`sample`, `size_meta`, unknown); the refusal was sent.
    Refused {
        /// The op.
        op: String,
    },
}

/// Why a conversation could not be finished: the link broke, or the peer broke the
/// protocol before a request was complete. No reply can be trusted to arrive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The link failed.
    #[error("plugin {plugin}: {op} failed on the xdrive link")]
    Link {
        /// The plugin's name.
        plugin: String,
        /// What was being served (`"opening"` before the op was known).
        op: String,
        /// Why.
        #[source]
        source: LinkError,
    },
}

/// Any stream the link can run over.
trait Stream: Read + Write {}
impl<S: Read + Write> Stream for S {}

type DynLink = Link<Box<dyn Stream>>;

/// Where a read's pages go.
pub struct PageSink<'a> {
    link: &'a mut DynLink,
    schema: Schema,
    pages: u64,
    rows: u64,
    failed: Option<LinkError>,
}

/// Encodes `XColDataReply { data: xcol }` from a borrowed column (no clone).
struct ColumnReply<'a>(&'a XCol);

impl fmt::Debug for ColumnReply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ColumnReply").field(&self.0.colname).finish()
    }
}

impl prost::Message for ColumnReply<'_> {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        prost::encoding::message::encode(3, self.0, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        // Only ever encoded; decoding skips everything.
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        prost::encoding::message::encoded_len(3, self.0)
    }

    fn clear(&mut self) {}
}

impl PageSink<'_> {
    /// The columns to send, in order: the request's `columnlist` (or all of `columndesc`).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// A builder of pages of [`schema`](Self::schema) with the default limits.
    pub fn page_builder(&self) -> PageBuilder {
        PageBuilder::new(self.schema.clone(), PageLimits::default())
    }

    /// Sends one page: one `XCol` per column of [`schema`](Self::schema), in order, all
    /// with the same `nrow`. Checks the count, names and row counts (not the values: see
    /// `xdrive_proto::page::validate_xcol` for that). The page is flushed to xdrive.
    pub fn send_page(&mut self, xcols: &[XCol]) -> Result<(), PluginError> {
        self.check_page(xcols)?;
        for xcol in xcols {
            let r = self.link.send(&ColumnReply(xcol));
            self.track(r)?;
        }
        self.finish_page(xcols.first().map_or(0, |c| c.nrow))
    }

    /// Finishes the builder's page and sends it, unless it is empty: the page is encoded
    /// straight from the builder into the link's buffer (no `XCol`s are built), then
    /// flushed to xdrive. The builder must have [`schema`](Self::schema)'s columns.
    pub fn send_builder(&mut self, builder: &mut PageBuilder) -> Result<(), PluginError> {
        if builder.is_empty() {
            return Ok(());
        }
        if builder.schema() != &self.schema {
            let names = |s: &Schema| {
                s.columns()
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.spq))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(PluginError::new(format!(
                "plugin bug: a page has columns ({}), the read asked for ({})",
                names(builder.schema()),
                names(&self.schema)
            )));
        }
        let r = self
            .link
            .queue_with(|codec, out| builder.finish_into_frames(codec, true, out));
        let nrow = self.track(r)??;
        self.finish_page(i32::try_from(nrow).unwrap_or(i32::MAX))
    }

    /// Sends one page already encoded: per column, the protobuf bytes of its
    /// `XColDataReply` (the caller vouches for them: nothing is checked but the count).
    /// `nrow` is for the row count only.
    pub fn send_encoded<B: AsRef<[u8]>>(
        &mut self,
        replies: &[B],
        nrow: i32,
    ) -> Result<(), PluginError> {
        if replies.len() != self.schema.len() {
            return Err(PluginError::new(format!(
                "plugin bug: an encoded page has {} columns, the read asked for {}",
                replies.len(),
                self.schema.len()
            )));
        }
        for r in replies {
            let r = self.link.send_payload(r.as_ref());
            self.track(r)?;
        }
        self.finish_page(nrow)
    }

    /// Pages sent so far.
    pub fn pages_sent(&self) -> u64 {
        self.pages
    }

    /// Rows sent so far.
    pub fn rows_sent(&self) -> u64 {
        self.rows
    }

    fn finish_page(&mut self, nrow: i32) -> Result<(), PluginError> {
        let r = self.link.flush();
        self.track(r)?;
        self.pages += 1;
        self.rows += u64::try_from(nrow).unwrap_or(0);
        Ok(())
    }

    fn check_page(&self, xcols: &[XCol]) -> Result<(), PluginError> {
        if xcols.len() != self.schema.len() {
            return Err(PluginError::new(format!(
                "plugin bug: a page has {} columns, the read asked for {}",
                xcols.len(),
                self.schema.len()
            )));
        }
        let nrow = xcols.first().map_or(0, |c| c.nrow);
        for (xcol, column) in xcols.iter().zip(self.schema.columns()) {
            if xcol.colname != column.name {
                return Err(PluginError::new(format!(
                    "plugin bug: a page has column {:?} where the read asked for {:?}",
                    xcol.colname, column.name
                )));
            }
            if xcol.nrow != nrow {
                return Err(PluginError::new(format!(
                    "plugin bug: column {:?} of a page has {} rows, the first column {}",
                    xcol.colname, xcol.nrow, nrow
                )));
            }
        }
        Ok(())
    }

    fn track<T>(&mut self, r: Result<T, LinkError>) -> Result<T, PluginError> {
        r.map_err(|e| {
            let err = PluginError::new(error_chain(&e));
            self.failed = Some(e);
            err
        })
    }
}

/// Where a write's pages come from. Every column is acknowledged with a `WriteReply`; the
/// last column of a page is acknowledged when the plugin asks for the next page (so an
/// error while processing a page is that page's reply).
pub struct PageSource<'a> {
    link: &'a mut DynLink,
    schema: Schema,
    /// A reply is owed for the last frame received.
    owe_reply: bool,
    ended: bool,
    pages: u64,
    rows: u64,
    failed: Option<LinkError>,
}

impl PageSource<'_> {
    /// The columns every page carries, in order (the request's `columndesc`).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The next page, checked against [`schema`](Self::schema); `None` once the writer
    /// ended the write. Its text and bytes values share the frames' memory (no copy, no
    /// allocation per value).
    pub fn next_page(&mut self) -> Result<Option<PageReader>, PluginError> {
        let xcols = self.next_columns(|frame| {
            let xcol = WireXCol::decode(frame.into_payload())?;
            let nrow = xcol.nrow();
            Ok((xcol, nrow))
        })?;
        match xcols {
            None => Ok(None),
            Some(xcols) => Ok(Some(PageReader::from_wire(&self.schema, xcols)?)),
        }
    }

    /// The next page's `XCol`s as received (unchecked); `None` once the writer ended the
    /// write.
    pub fn next_xcols(&mut self) -> Result<Option<Vec<XCol>>, PluginError> {
        self.next_columns(|frame| {
            let xcol: XCol = message::decode(frame)?;
            let nrow = xcol.nrow;
            Ok((xcol, nrow))
        })
    }

    /// Reads the next page's columns with `decode` (which also returns each one's
    /// `nrow`); `None` once the writer ended the write (an end frame, or an `XCol` with
    /// `nrow` 0, where a page starts).
    fn next_columns<T>(
        &mut self,
        mut decode: impl FnMut(Frame) -> Result<(T, i32), PluginError>,
    ) -> Result<Option<Vec<T>>, PluginError> {
        if self.ended {
            return Ok(None);
        }
        self.settle()?;
        let ncol = self.schema.len();
        let mut xcols = Vec::with_capacity(ncol);
        let mut page_nrow = 0;
        for i in 0..ncol {
            let frame = self.link.read_frame();
            let frame = match self.track(frame)? {
                Some(f) => f,
                None => {
                    let e = LinkError::Closed { expected: "XCol" };
                    let err = PluginError::new(error_chain(&e));
                    self.failed = Some(e);
                    return Err(err);
                }
            };
            self.owe_reply = true;
            let xcol = match frame {
                Frame::End => None,
                frame => {
                    let (xcol, nrow) = decode(frame)?;
                    if i == 0 {
                        page_nrow = nrow;
                    }
                    (nrow != 0).then_some(xcol)
                }
            };
            match xcol {
                None if i == 0 => {
                    self.ended = true;
                    return Ok(None);
                }
                None => {
                    return Err(PluginError::new(format!(
                        "the write ended in the middle of a page, after {i} of its {ncol} columns"
                    )));
                }
                Some(xcol) => {
                    xcols.push(xcol);
                    if i + 1 < ncol {
                        self.settle()?;
                    }
                }
            }
        }
        self.pages += 1;
        self.rows += u64::try_from(page_nrow).unwrap_or(0);
        Ok(Some(xcols))
    }

    /// Whether the writer has ended the write.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Pages received so far.
    pub fn pages_received(&self) -> u64 {
        self.pages
    }

    /// Rows received so far.
    pub fn rows_received(&self) -> u64 {
        self.rows
    }

    /// Sends the reply owed, if any: success.
    fn settle(&mut self) -> Result<(), PluginError> {
        if self.owe_reply {
            self.owe_reply = false;
            let r = self.link.send(&WriteReply::ok());
            self.track(r)?;
        }
        Ok(())
    }

    fn track<T>(&mut self, r: Result<T, LinkError>) -> Result<T, PluginError> {
        r.map_err(|e| {
            let err = PluginError::new(error_chain(&e));
            self.failed = Some(e);
            err
        })
    }
}

/// Serves one conversation over `stream` with `plugin`.
///
/// `Ok` means the conversation ended as the protocol says (the plugin's own error, if any,
/// was sent as an error reply and is in [`Outcome::Failed`]); `Err` means the link broke.
pub fn serve<P, S>(stream: S, plugin: &mut P) -> Result<Outcome, ServeError>
where
    P: Plugin + ?Sized,
    S: Read + Write + 'static,
{
    let mut link: DynLink = Link::new(Box::new(stream));
    let name = plugin.name().to_owned();
    let link_err = |op: &str, source: LinkError| ServeError::Link {
        plugin: name.clone(),
        op: op.to_owned(),
        source,
    };
    let op: OpSpec = link.read_message().map_err(|e| link_err("opening", e))?;
    let op = op.op;
    let outcome = match op.as_str() {
        OP_READ => serve_read(&mut link, plugin, &op).map_err(|e| link_err(&op, e))?,
        OP_WRITE => serve_write(&mut link, plugin, &op).map_err(|e| link_err(&op, e))?,
        OP_SAMPLE | OP_SIZE_META => {
            let msg = format!("plugin {name} does not serve the {op} operation");
            refuse(&mut link, &msg).map_err(|e| link_err(&op, e))?;
            Outcome::Refused { op }
        }
        _ => {
            let msg = format!("plugin {name}: unknown operation {op:?} (it serves read and write)");
            refuse(&mut link, &msg).map_err(|e| link_err(&op, e))?;
            Outcome::Refused { op }
        }
    };
    link.flush().map_err(|e| link_err("closing", e))?;
    Ok(outcome)
}

fn refuse(link: &mut DynLink, msg: &str) -> Result<(), LinkError> {
    link.send(&OpStatus::error(ERRCODE_UNSERVED_OP, msg))?;
    link.flush()
}

fn serve_read<P: Plugin + ?Sized>(
    link: &mut DynLink,
    plugin: &mut P,
    op: &str,
) -> Result<Outcome, LinkError> {
    link.send(&OpStatus::ok_xcol())?;
    let req: ReadRequest = link.read_message()?;
    let schema = match Schema::from_descs(&req.columndesc).and_then(|s| s.project(&req.columnlist))
    {
        Ok(s) => s,
        Err(e) => {
            let error = PluginError::new(error_chain(&e)).context("bad read request");
            link.send(&XColDataReply::error(error.code(), error.message()))?;
            return Ok(Outcome::Failed {
                op: op.to_owned(),
                error,
            });
        }
    };
    let mut sink = PageSink {
        link,
        schema,
        pages: 0,
        rows: 0,
        failed: None,
    };
    let result = plugin.read(&req, &mut sink);
    if let Some(e) = sink.failed.take() {
        return Err(e);
    }
    let (pages, rows) = (sink.pages, sink.rows);
    match result {
        Ok(()) => {
            link.send_end()?;
            Ok(Outcome::Read { pages, rows })
        }
        Err(error) => {
            link.send(&XColDataReply::error(error.code(), error.message()))?;
            Ok(Outcome::Failed {
                op: op.to_owned(),
                error,
            })
        }
    }
}

fn serve_write<P: Plugin + ?Sized>(
    link: &mut DynLink,
    plugin: &mut P,
    op: &str,
) -> Result<Outcome, LinkError> {
    link.send(&OpStatus::ok_xcol())?;
    let req: WriteRequest = link.read_message()?;
    let failed = |error: PluginError| Outcome::Failed {
        op: op.to_owned(),
        error,
    };
    let schema = match Schema::from_descs(&req.columndesc) {
        Ok(s) if s.is_empty() => {
            let error = PluginError::new("bad write request: it describes no columns");
            link.send(&WriteReply::error(error.code(), error.message()))?;
            return Ok(failed(error));
        }
        Ok(s) => s,
        Err(e) => {
            let error = PluginError::new(error_chain(&e)).context("bad write request");
            link.send(&WriteReply::error(error.code(), error.message()))?;
            return Ok(failed(error));
        }
    };
    let mut source = PageSource {
        link,
        schema,
        owe_reply: true,
        ended: false,
        pages: 0,
        rows: 0,
        failed: None,
    };
    let result = plugin.write(&req, &mut source);
    if let Some(e) = source.failed.take() {
        return Err(e);
    }
    let result = match result {
        Ok(()) if !source.ended => Err(PluginError::new(format!(
            "plugin {} finished the write before its last page",
            plugin.name()
        ))),
        r => r,
    };
    let (pages, rows) = (source.pages, source.rows);
    match result {
        Ok(()) => {
            link.send(&WriteReply::ok())?;
            Ok(Outcome::Wrote { pages, rows })
        }
        Err(error) => {
            link.send(&WriteReply::error(error.code(), error.message()))?;
            Ok(failed(error))
        }
    }
}

/// What a plugin's `main` calls: adopts `XDRIVE_FD`, serves one conversation with `plugin`,
/// reports failures on stderr (which xdrive logs, prefixed with the mount and pid), then
/// closes the link before `plugin` is dropped.
///
/// Exit codes: 0 when the conversation ended as the protocol says (including when the
/// plugin's error was sent as an error reply, or the op was refused); 1 when the link
/// broke; 2 when `XDRIVE_FD` is missing or unusable (not started by xdrive).
pub fn main<P: Plugin>(mut plugin: P) -> ExitCode {
    let name = plugin.name().to_owned();
    let link = match crate::fd::adopt_xdrive_fd() {
        Ok(link) => link,
        Err(e) => {
            eprintln!("{name}: {}", error_chain(&e));
            return ExitCode::from(2);
        }
    };
    match serve(link, &mut plugin) {
        Ok(Outcome::Failed { op, error }) => {
            eprintln!("{name}: {op} failed (errcode {}): {error}", error.code());
            ExitCode::SUCCESS
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {}", error_chain(&e));
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use std::os::unix::net::UnixStream;
    use xdrive_proto::conversation::{
        ConversationError, ReadClient, ReadEvent, WriteClient, WriteEvent,
    };
    use xdrive_proto::frame::FrameCodec;
    use xdrive_proto::message::{ColumnDesc, OpSpec};
    use xdrive_proto::page::Value;
    use xdrive_proto::spq::SpqType;

    /// The far end of the link, driven by the proto crate's client machines.
    struct Peer {
        s: UnixStream,
        codec: FrameCodec,
        buf: BytesMut,
    }

    impl Peer {
        fn send(&mut self, out: &mut BytesMut) {
            self.s.write_all(out).unwrap();
            out.clear();
        }

        fn frame(&mut self) -> Frame {
            loop {
                if let Some(f) = self.codec.decode(&mut self.buf).unwrap() {
                    return f;
                }
                let mut chunk = [0u8; 65536];
                let n = self.s.read(&mut chunk).unwrap();
                assert!(n > 0, "plugin closed the link");
                self.buf.extend_from_slice(&chunk[..n]);
            }
        }
    }

    /// Runs `plugin` on one end of a socket pair; returns the other end and the join handle.
    fn start<P: Plugin + Send + 'static>(
        mut plugin: P,
    ) -> (Peer, std::thread::JoinHandle<Result<Outcome, ServeError>>) {
        let (a, b) = UnixStream::pair().unwrap();
        let h = std::thread::spawn(move || serve(b, &mut plugin));
        let peer = Peer {
            s: a,
            codec: FrameCodec::default(),
            buf: BytesMut::new(),
        };
        (peer, h)
    }

    fn descs() -> Vec<ColumnDesc> {
        vec![
            ColumnDesc {
                name: "id".into(),
                r#type: SpqType::Int64.code(),
            },
            ColumnDesc {
                name: "name".into(),
                r#type: SpqType::Cstr.code(),
            },
        ]
    }

    /// Sends `pages` pages of 3 rows, or fails after `fail_after` pages; sums written ids.
    struct Fake {
        pages: u64,
        fail_after: Option<u64>,
        write_sum: std::sync::Arc<std::sync::Mutex<i64>>,
        stop_early: bool,
    }

    impl Fake {
        fn new(pages: u64) -> Self {
            Fake {
                pages,
                fail_after: None,
                write_sum: Default::default(),
                stop_early: false,
            }
        }
    }

    impl Plugin for Fake {
        fn name(&self) -> &str {
            "fake"
        }

        fn read(&mut self, _req: &ReadRequest, out: &mut PageSink<'_>) -> Result<(), PluginError> {
            let mut b = out.page_builder();
            for p in 0..self.pages {
                if self.fail_after == Some(p) {
                    return Err(PluginError::with_code(-9, "broken on purpose"));
                }
                for r in 0..3 {
                    b.push(Value::Int64((p * 3 + r) as i64))?;
                    b.push(Value::Text("x"))?;
                    b.end_row()?;
                }
                out.send_builder(&mut b)?;
            }
            Ok(())
        }

        fn write(
            &mut self,
            _req: &WriteRequest,
            pages: &mut PageSource<'_>,
        ) -> Result<(), PluginError> {
            if self.stop_early {
                return Ok(());
            }
            while let Some(page) = pages.next_page()? {
                if self.fail_after == Some(pages.pages_received() - 1) {
                    return Err(PluginError::new("cannot store this page"));
                }
                for row in 0..page.nrow() {
                    if let Some(Value::Int64(v)) = page.column(0).get(row) {
                        *self.write_sum.lock().unwrap() += v;
                    }
                }
            }
            Ok(())
        }
    }

    fn read_request() -> ReadRequest {
        ReadRequest {
            columndesc: descs(),
            ..ReadRequest::default()
        }
    }

    /// Drives a read; returns the rows per page, or the error.
    fn drive_read(peer: &mut Peer) -> Result<Vec<usize>, ConversationError> {
        let mut out = BytesMut::new();
        let mut c = ReadClient::new(read_request()).unwrap();
        c.start(&mut out).unwrap();
        peer.send(&mut out);
        assert_eq!(c.receive(peer.frame())?, ReadEvent::Accepted);
        c.send_request(&mut out).unwrap();
        peer.send(&mut out);
        let mut pages = Vec::new();
        loop {
            match c.receive(peer.frame())? {
                ReadEvent::Page(p) => pages.push(p.nrow()),
                ReadEvent::End => return Ok(pages),
                _ => {}
            }
        }
    }

    #[test]
    fn serves_a_read() {
        let (mut peer, h) = start(Fake::new(2));
        assert_eq!(drive_read(&mut peer).unwrap(), [3, 3]);
        assert_eq!(
            h.join().unwrap().unwrap(),
            Outcome::Read { pages: 2, rows: 6 }
        );
    }

    #[test]
    fn a_read_error_becomes_an_error_reply_after_the_pages_sent() {
        let mut fake = Fake::new(5);
        fake.fail_after = Some(1);
        let (mut peer, h) = start(fake);
        let err = drive_read(&mut peer).unwrap_err();
        assert!(
            matches!(&err, ConversationError::Refused { errcode: -9, errmsg, .. } if errmsg == "broken on purpose"),
            "{err:?}"
        );
        assert!(matches!(
            h.join().unwrap().unwrap(),
            Outcome::Failed { error, .. } if error.code() == -9
        ));
    }

    fn refused_op(op: &str) -> (OpStatus, Outcome) {
        let (mut peer, h) = start(Fake::new(0));
        let mut out = BytesMut::new();
        FrameCodec::default()
            .encode_message(&OpSpec::new(op), &mut out)
            .unwrap();
        peer.send(&mut out);
        let status: OpStatus = message::decode(peer.frame()).unwrap();
        (status, h.join().unwrap().unwrap())
    }

    #[test]
    fn unserved_and_unknown_ops_are_refused() {
        let (status, outcome) = refused_op("sample");
        assert_eq!(status.errcode, ERRCODE_UNSERVED_OP);
        assert_eq!(
            status.errmsg,
            "plugin fake does not serve the sample operation"
        );
        assert_eq!(
            outcome,
            Outcome::Refused {
                op: "sample".into()
            }
        );
        let (status, _) = refused_op("size_meta");
        assert_eq!(status.errcode, ERRCODE_UNSERVED_OP);
        let (status, _) = refused_op("dance");
        assert_eq!(status.errcode, ERRCODE_UNSERVED_OP);
        assert!(status.errmsg.contains("unknown operation \"dance\""));
    }

    /// Drives a write of `pages` pages of 2 rows; returns the error, if any.
    fn drive_write(peer: &mut Peer, pages: i64) -> Result<(), ConversationError> {
        let mut out = BytesMut::new();
        let mut c = WriteClient::new(WriteRequest {
            columndesc: descs(),
            ..WriteRequest::default()
        })
        .unwrap();
        c.start(&mut out).unwrap();
        peer.send(&mut out);
        c.receive(peer.frame())?;
        c.send_request(&mut out).unwrap();
        peer.send(&mut out);
        assert_eq!(c.receive(peer.frame())?, WriteEvent::Ready);
        for p in 0..pages {
            let mut b = PageBuilder::new(c.columns().clone(), PageLimits::default());
            for r in 0..2 {
                b.push(Value::Int64(p * 2 + r)).unwrap();
                b.push_null().unwrap();
                b.end_row().unwrap();
            }
            c.send_page(&b.finish().unwrap(), &mut out).unwrap();
            peer.send(&mut out);
            while c.receive(peer.frame())? != WriteEvent::PageAcked {}
        }
        c.finish(&mut out).unwrap();
        peer.send(&mut out);
        assert_eq!(c.receive(peer.frame())?, WriteEvent::Done);
        Ok(())
    }

    #[test]
    fn serves_a_write() {
        let fake = Fake::new(0);
        let sum = fake.write_sum.clone();
        let (mut peer, h) = start(fake);
        drive_write(&mut peer, 3).unwrap();
        assert_eq!(
            h.join().unwrap().unwrap(),
            Outcome::Wrote { pages: 3, rows: 6 }
        );
        assert_eq!(*sum.lock().unwrap(), (0..6).sum::<i64>());
    }

    #[test]
    fn a_write_error_is_the_reply_to_the_failing_page() {
        let mut fake = Fake::new(0);
        fake.fail_after = Some(1);
        let (mut peer, h) = start(fake);
        let err = drive_write(&mut peer, 3).unwrap_err();
        assert!(
            matches!(&err, ConversationError::Refused { errcode: -1, errmsg, stage, .. }
                if errmsg == "cannot store this page" && *stage == "reply to a page column"),
            "{err:?}"
        );
        assert!(matches!(h.join().unwrap().unwrap(), Outcome::Failed { .. }));
    }

    #[test]
    fn a_plugin_that_stops_reading_early_fails_the_write() {
        let mut fake = Fake::new(0);
        fake.stop_early = true;
        let (mut peer, h) = start(fake);
        let err = drive_write(&mut peer, 1).unwrap_err();
        assert!(
            err.to_string()
                .contains("finished the write before its last page"),
            "{err}"
        );
        h.join().unwrap().unwrap();
    }

    #[test]
    fn writes_are_refused_by_default() {
        struct ReadOnly;
        impl Plugin for ReadOnly {
            fn name(&self) -> &str {
                "ro"
            }
            fn read(&mut self, _: &ReadRequest, _: &mut PageSink<'_>) -> Result<(), PluginError> {
                Ok(())
            }
        }
        let (mut peer, h) = start(ReadOnly);
        let err = drive_write(&mut peer, 1).unwrap_err();
        assert!(
            matches!(&err, ConversationError::Refused { errcode: ERRCODE_UNSERVED_OP, errmsg, .. }
                if errmsg == "plugin ro does not serve writes"),
            "{err:?}"
        );
        h.join().unwrap().unwrap();
    }

    #[test]
    fn a_link_closed_before_the_op_is_a_serve_error() {
        let (peer, h) = start(Fake::new(0));
        drop(peer);
        let err = h.join().unwrap().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("plugin fake: opening failed on the xdrive link"),
            "{err}"
        );
    }

    #[test]
    fn plugin_errors_convert_from_std_errors_with_their_chain() {
        let e: PluginError = std::io::Error::other("disk full").into();
        assert_eq!(e.code(), ERRCODE_PLUGIN);
        assert!(!e.is_retriable());
        let r = PluginError::retriable("broker down").context("reading");
        assert_eq!(r.code(), ERRCODE_RETRIABLE);
        assert!(r.is_retriable());
        assert_eq!(r.message(), "reading: broker down");
        assert_eq!(e.message(), "disk full");
        let e = PluginError::with_code(5, "x").context("writing topic t");
        assert_eq!(e.code(), ERRCODE_PLUGIN);
        assert_eq!(e.to_string(), "writing topic t: x");
    }
}
