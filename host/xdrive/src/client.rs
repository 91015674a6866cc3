//! The async client: read pages from, and write pages to, an xdrive mount.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use futures::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use xdrive_proto::conversation::{
    ConversationError, ReadClient, ReadEvent, WriteClient, WriteEvent,
};
use xdrive_proto::frame::{DEFAULT_MAX_FRAME_LEN, Frame, FrameCodec};
use xdrive_proto::message::{
    ColumnDesc, CsvSpec, FILTER_OP_QUERY, FileSpec, Filter, ReadRequest, WriteRequest, XCol,
};
use xdrive_proto::page::{PageBuilder, PageReader};
use xdrive_proto::schema::Schema;

use crate::error::{Error, Target};

/// How much the client reads at a time.
const READ_CHUNK: usize = 1024 * 1024;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// How long a TCP connect may take (default 10 s).
    pub connect_timeout: Duration,
    /// The largest frame payload accepted or sent (default 64 MiB, as xdrive's).
    pub max_frame_len: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }
}

/// An xdrive server to read from and write to. Cheap to clone; every request opens its
/// own connection (xdrive starts one plugin per request).
#[derive(Debug, Clone)]
pub struct Client {
    host: String,
    port: u16,
    addr: String,
    options: ClientOptions,
}

/// What to read: the request's parts, as `dgkafka` (or a test) knows them.
#[derive(Debug, Clone, Default)]
pub struct ReadSpec {
    /// `/MOUNTPOINT/rest` (e.g. `/kafka/customer`).
    pub path: String,
    /// `FileSpec.format` (e.g. `csv`, `json`).
    pub format: String,
    /// `FileSpec.csvspec`.
    pub csv: Option<CsvSpec>,
    /// The table's columns.
    pub columns: Vec<ColumnDesc>,
    /// The columns to send, in order (empty: all of `columns`).
    pub column_list: Vec<String>,
    /// The `dg_utils.xdrive_query` string, sent as `Filter{op: "QUERY", args: [query]}`.
    pub query: Option<String>,
    /// More filters, sent after the query's.
    pub filters: Vec<Filter>,
    /// This reader's fragment, `0..frag_cnt`.
    pub frag_id: i32,
    /// The number of fragments (0 counts as 1).
    pub frag_cnt: i32,
}

impl ReadSpec {
    /// A read of every column of `columns` at `path`, as fragment 0 of 1.
    pub fn new(path: impl Into<String>, columns: &Schema) -> Self {
        ReadSpec {
            path: path.into(),
            columns: columns.to_descs(),
            frag_cnt: 1,
            ..ReadSpec::default()
        }
    }

    /// Sets `FileSpec.format`.
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = format.into();
        self
    }

    /// Sets the `dg_utils.xdrive_query` string.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Reads fragment `frag_id` of `frag_cnt`.
    pub fn fragment(mut self, frag_id: i32, frag_cnt: i32) -> Self {
        self.frag_id = frag_id;
        self.frag_cnt = frag_cnt;
        self
    }

    /// Asks for these columns only, in this order.
    pub fn project(mut self, column_list: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.column_list = column_list.into_iter().map(Into::into).collect();
        self
    }

    /// The `ReadRequest` this spec sends.
    pub fn to_request(&self) -> ReadRequest {
        let mut filter = Vec::with_capacity(self.filters.len() + 1);
        if let Some(q) = &self.query {
            filter.push(Filter {
                op: FILTER_OP_QUERY.to_owned(),
                column: String::new(),
                args: vec![q.clone()],
            });
        }
        filter.extend(self.filters.iter().cloned());
        ReadRequest {
            filespec: Some(FileSpec {
                path: self.path.clone(),
                format: self.format.clone(),
                csvspec: self.csv.clone(),
            }),
            columndesc: self.columns.clone(),
            columnlist: self.column_list.clone(),
            filter,
            frag_id: self.frag_id,
            frag_cnt: self.frag_cnt,
            ts: now_pg_micros(),
            ..ReadRequest::default()
        }
    }
}

/// What to write.
#[derive(Debug, Clone, Default)]
pub struct WriteSpec {
    /// `/MOUNTPOINT/rest`.
    pub path: String,
    /// `FileSpec.format`.
    pub format: String,
    /// `FileSpec.csvspec`.
    pub csv: Option<CsvSpec>,
    /// The columns every page carries, in order.
    pub columns: Vec<ColumnDesc>,
    /// This writer's fragment.
    pub frag_id: i32,
    /// The number of fragments.
    pub frag_cnt: i32,
}

impl WriteSpec {
    /// A write of pages of `columns` to `path`, as fragment 0 of 1.
    pub fn new(path: impl Into<String>, columns: &Schema) -> Self {
        WriteSpec {
            path: path.into(),
            columns: columns.to_descs(),
            frag_cnt: 1,
            ..WriteSpec::default()
        }
    }

    /// Sets `FileSpec.format`.
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = format.into();
        self
    }

    /// Writes as fragment `frag_id` of `frag_cnt`.
    pub fn fragment(mut self, frag_id: i32, frag_cnt: i32) -> Self {
        self.frag_id = frag_id;
        self.frag_cnt = frag_cnt;
        self
    }

    /// The `WriteRequest` this spec sends.
    pub fn to_request(&self) -> WriteRequest {
        WriteRequest {
            filespec: Some(FileSpec {
                path: self.path.clone(),
                format: self.format.clone(),
                csvspec: self.csv.clone(),
            }),
            columndesc: self.columns.clone(),
            frag_id: self.frag_id,
            frag_cnt: self.frag_cnt,
            ts: now_pg_micros(),
        }
    }
}

/// Microseconds since 2000-01-01 (PostgreSQL's epoch), for `ts`.
fn now_pg_micros() -> i64 {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    xdrive_proto::spq::unix_micros_to_pg(unix).unwrap_or(0)
}

/// The mountpoint a path names (its first segment), for messages.
/// What errors of an `op` on `path` at `addr` name.
fn target(addr: &str, path: &str, op: &'static str) -> Target {
    Target {
        addr: addr.to_owned(),
        mount: mount_of(path),
        op,
    }
}

/// A request the conversation refused before anything was sent.
fn request_error(target: &Target, source: ConversationError) -> Error {
    Error::Request {
        target: Box::new(target.clone()),
        source,
    }
}

fn mount_of(path: &str) -> String {
    path.split('/')
        .find(|s| !s.is_empty())
        .unwrap_or_default()
        .to_owned()
}

impl Client {
    /// A client of the xdrive at `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Client::with_options(host, port, ClientOptions::default())
    }

    /// A client with `options`.
    pub fn with_options(host: impl Into<String>, port: u16, options: ClientOptions) -> Self {
        let host = host.into();
        let addr = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Client {
            host,
            port,
            addr,
            options,
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    async fn connect(&self, target: &Target) -> Result<TcpStream, Error> {
        let connect = TcpStream::connect((self.host.as_str(), self.port));
        let stream = tokio::time::timeout(self.options.connect_timeout, connect)
            .await
            .map_err(|_| Error::ConnectTimeout {
                target: Box::new(target.clone()),
                after: self.options.connect_timeout,
            })?
            .map_err(|source| Error::Connect {
                target: Box::new(target.clone()),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    /// Starts a read: connects, sends the request, and returns the stream of pages.
    pub async fn read(&self, spec: &ReadSpec) -> Result<PageStream<TcpStream>, Error> {
        let target = target(&self.addr, &spec.path, "read");
        // Check the request before connecting.
        let machine = ReadClient::new(spec.to_request()).map_err(|e| request_error(&target, e))?;
        let stream = self.connect(&target).await?;
        PageStream::start(stream, machine, target, self.options.max_frame_len).await
    }

    /// Starts a write: connects, sends the request, and returns the writer of pages.
    pub async fn write(&self, spec: &WriteSpec) -> Result<PageWriter<TcpStream>, Error> {
        let target = target(&self.addr, &spec.path, "write");
        let machine = WriteClient::new(spec.to_request()).map_err(|e| request_error(&target, e))?;
        let stream = self.connect(&target).await?;
        PageWriter::start(stream, machine, target, self.options.max_frame_len).await
    }
}

/// Reads a whole read over any stream that speaks the protocol — an xdrive connection, or a
/// plugin's link directly (tests, benchmarks). `label` names the peer in errors.
pub async fn read_over<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    spec: &ReadSpec,
    label: &str,
) -> Result<PageStream<S>, Error> {
    let target = target(label, &spec.path, "read");
    let machine = ReadClient::new(spec.to_request()).map_err(|e| request_error(&target, e))?;
    PageStream::start(stream, machine, target, DEFAULT_MAX_FRAME_LEN).await
}

/// Framed I/O over one connection.
struct Conn<S> {
    stream: S,
    codec: FrameCodec,
    rbuf: BytesMut,
    wbuf: BytesMut,
    target: Target,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn new(stream: S, target: Target, max_frame_len: usize) -> Self {
        Conn {
            stream,
            codec: FrameCodec::new(max_frame_len),
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            wbuf: BytesMut::new(),
            target,
        }
    }

    async fn flush(&mut self, doing: &'static str) -> Result<(), Error> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        self.stream
            .write_all(&self.wbuf)
            .await
            .map_err(|source| Error::Io {
                target: Box::new(self.target.clone()),
                doing,
                source,
            })?;
        self.wbuf.clear();
        Ok(())
    }

    async fn read_frame(&mut self, expected: &'static str) -> Result<Frame, Error> {
        loop {
            match self.codec.decode(&mut self.rbuf) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(source) => {
                    return Err(Error::Frame {
                        target: Box::new(self.target.clone()),
                        source,
                    });
                }
            }
            if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
                self.rbuf.reserve(READ_CHUNK);
            }
            let n = self
                .stream
                .read_buf(&mut self.rbuf)
                .await
                .map_err(|source| Error::Io {
                    target: Box::new(self.target.clone()),
                    doing: "reading a reply",
                    source,
                })?;
            if n == 0 {
                return Err(match self.codec.decode_eof(&mut self.rbuf) {
                    Err(source) => Error::Frame {
                        target: Box::new(self.target.clone()),
                        source,
                    },
                    Ok(_) => Error::Closed {
                        target: Box::new(self.target.clone()),
                        expected,
                    },
                });
            }
        }
    }
}

/// The pages of a read, in order. Each page's columns are typed views
/// ([`PageReader::column`]) decoded straight from the frames: one vector per numeric
/// column, and text and bytes values left where they arrived (no copy, no allocation per
/// value).
pub struct PageStream<S> {
    conn: Conn<S>,
    machine: ReadClient,
    done: bool,
    rows: u64,
}

impl<S: AsyncRead + AsyncWrite + Unpin> PageStream<S> {
    async fn start(
        stream: S,
        mut machine: ReadClient,
        target: Target,
        max_frame_len: usize,
    ) -> Result<Self, Error> {
        let mut conn = Conn::new(stream, target, max_frame_len);
        let conv = |conn: &Conn<S>, e| Error::from_conversation(&conn.target, e);
        machine.start(&mut conn.wbuf).map_err(|e| conv(&conn, e))?;
        conn.flush("sending the OpSpec").await?;
        let frame = conn.read_frame("the OpStatus").await?;
        match machine.receive(frame).map_err(|e| conv(&conn, e))? {
            ReadEvent::Accepted => {}
            other => {
                return Err(Error::Protocol {
                    target: Box::new(conn.target.clone()),
                    source: xdrive_proto::conversation::ConversationError::UnexpectedFrame {
                        side: "read client",
                        state: if matches!(other, ReadEvent::End) {
                            "waiting for the OpStatus (got the end of the read)"
                        } else {
                            "waiting for the OpStatus (got a page)"
                        },
                    },
                });
            }
        }
        machine
            .send_request(&mut conn.wbuf)
            .map_err(|e| conv(&conn, e))?;
        conn.flush("sending the ReadRequest").await?;
        Ok(PageStream {
            conn,
            machine,
            done: false,
            rows: 0,
        })
    }

    /// The columns every page carries, in order.
    pub fn columns(&self) -> &Schema {
        self.machine.columns()
    }

    /// Pages received so far.
    pub fn pages(&self) -> u64 {
        self.machine.pages()
    }

    /// Rows received so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The next page, or `None` once the read ended cleanly. After an error the stream is
    /// over.
    pub async fn next_page(&mut self) -> Result<Option<PageReader>, Error> {
        if self.done {
            return Ok(None);
        }
        loop {
            let frame = match self.conn.read_frame("a page or the end of the read").await {
                Ok(f) => f,
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            };
            match self.machine.receive(frame) {
                Ok(ReadEvent::Column { .. }) => {}
                Ok(ReadEvent::Page(page)) => {
                    self.rows += page.nrow() as u64;
                    return Ok(Some(page));
                }
                Ok(ReadEvent::End) => {
                    self.done = true;
                    return Ok(None);
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Err(Error::from_conversation(&self.conn.target, e));
                }
            }
        }
    }

    /// The pages as a `futures::Stream`.
    pub fn into_stream(self) -> impl Stream<Item = Result<PageReader, Error>> {
        futures::stream::try_unfold(self, |mut s| async move {
            Ok(s.next_page().await?.map(|page| (page, s)))
        })
    }
}

/// How a write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteSummary {
    /// Pages written.
    pub pages: u64,
    /// Rows written.
    pub rows: u64,
}

/// Sends the pages of a write. Each page's columns go out back to back, then the writer
/// waits for their replies, so an error is seen at the page that caused it.
pub struct PageWriter<S> {
    conn: Conn<S>,
    machine: WriteClient,
    rows: u64,
}

impl<S: AsyncRead + AsyncWrite + Unpin> PageWriter<S> {
    async fn start(
        stream: S,
        mut machine: WriteClient,
        target: Target,
        max_frame_len: usize,
    ) -> Result<Self, Error> {
        let mut conn = Conn::new(stream, target, max_frame_len);
        let conv = |conn: &Conn<S>, e| Error::from_conversation(&conn.target, e);
        machine.start(&mut conn.wbuf).map_err(|e| conv(&conn, e))?;
        conn.flush("sending the OpSpec").await?;
        let frame = conn.read_frame("the OpStatus").await?;
        machine.receive(frame).map_err(|e| conv(&conn, e))?;
        machine
            .send_request(&mut conn.wbuf)
            .map_err(|e| conv(&conn, e))?;
        conn.flush("sending the WriteRequest").await?;
        let frame = conn.read_frame("the reply to the WriteRequest").await?;
        match machine.receive(frame).map_err(|e| conv(&conn, e))? {
            WriteEvent::Ready => {}
            _ => {
                return Err(Error::Protocol {
                    target: Box::new(conn.target.clone()),
                    source: xdrive_proto::conversation::ConversationError::UnexpectedFrame {
                        side: "write client",
                        state: "waiting for the reply to the WriteRequest",
                    },
                });
            }
        }
        Ok(PageWriter {
            conn,
            machine,
            rows: 0,
        })
    }

    /// The columns every page must carry, in order.
    pub fn columns(&self) -> &Schema {
        self.machine.columns()
    }

    /// A page builder for [`columns`](Self::columns) with the default limits.
    pub fn page_builder(&self) -> PageBuilder {
        PageBuilder::new(self.columns().clone(), Default::default())
    }

    /// Sends one page (one `XCol` per column, in order) and waits for its replies.
    pub async fn send_page(&mut self, xcols: &[XCol]) -> Result<(), Error> {
        let conv = |conn: &Conn<S>, e| Error::from_conversation(&conn.target, e);
        self.machine
            .send_page(xcols, &mut self.conn.wbuf)
            .map_err(|e| conv(&self.conn, e))?;
        let nrow = xcols
            .first()
            .map_or(0, |c| u64::try_from(c.nrow).unwrap_or(0));
        self.await_page_replies(nrow).await
    }

    /// Sends the page just queued (if any) and waits for its replies.
    async fn await_page_replies(&mut self, nrow: u64) -> Result<(), Error> {
        let conv = |conn: &Conn<S>, e| Error::from_conversation(&conn.target, e);
        if self.conn.wbuf.is_empty() {
            return Ok(()); // an empty page sends nothing
        }
        self.conn.flush("sending a page").await?;
        loop {
            let frame = self.conn.read_frame("a page's replies").await?;
            match self
                .machine
                .receive(frame)
                .map_err(|e| conv(&self.conn, e))?
            {
                WriteEvent::ColumnAcked { .. } => {}
                WriteEvent::PageAcked => break,
                _ => {
                    return Err(Error::Protocol {
                        target: Box::new(self.conn.target.clone()),
                        source: xdrive_proto::conversation::ConversationError::UnexpectedFrame {
                            side: "write client",
                            state: "waiting for a page's replies",
                        },
                    });
                }
            }
        }
        self.rows += nrow;
        Ok(())
    }

    /// Finishes the builder's page and sends it, unless it is empty; the page is encoded
    /// straight from the builder (no `XCol`s are built).
    pub async fn send_builder(&mut self, builder: &mut PageBuilder) -> Result<(), Error> {
        let nrow = builder.nrow() as u64;
        self.machine
            .send_builder(builder, &mut self.conn.wbuf)
            .map_err(|e| Error::from_conversation(&self.conn.target, e))?;
        self.await_page_replies(nrow).await
    }

    /// Ends the write; `Ok` when the plugin says the whole write succeeded.
    pub async fn finish(mut self) -> Result<WriteSummary, Error> {
        let conv = |conn: &Conn<S>, e| Error::from_conversation(&conn.target, e);
        self.machine
            .finish(&mut self.conn.wbuf)
            .map_err(|e| conv(&self.conn, e))?;
        self.conn.flush("ending the write").await?;
        let frame = self.conn.read_frame("the final reply").await?;
        self.machine
            .receive(frame)
            .map_err(|e| conv(&self.conn, e))?;
        let _ = self.conn.stream.shutdown().await;
        Ok(WriteSummary {
            pages: self.machine.pages(),
            rows: self.rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xdrive_proto::schema::Column;
    use xdrive_proto::spq::SpqType;

    fn schema() -> Schema {
        Schema::new(vec![
            Column::new("a", SpqType::Int32),
            Column::new("b", SpqType::Cstr),
        ])
        .unwrap()
    }

    #[test]
    fn read_spec_carries_the_query_as_a_query_filter() {
        let spec = ReadSpec::new("/kafka/topic", &schema())
            .format("csv")
            .query("group=g&limit=10")
            .fragment(2, 4)
            .project(["b"]);
        let req = spec.to_request();
        let fs = req.filespec.unwrap();
        assert_eq!(
            (fs.path.as_str(), fs.format.as_str()),
            ("/kafka/topic", "csv")
        );
        assert_eq!(req.filter.len(), 1);
        assert_eq!(req.filter[0].op, "QUERY");
        assert_eq!(req.filter[0].args, ["group=g&limit=10"]);
        assert_eq!((req.frag_id, req.frag_cnt), (2, 4));
        assert_eq!(req.columnlist, ["b"]);
        assert_eq!(req.columndesc.len(), 2);
        assert!(req.ts > 0);
    }

    #[test]
    fn no_query_means_no_filter() {
        let req = ReadSpec::new("/k/", &schema()).to_request();
        assert!(req.filter.is_empty());
        assert_eq!(req.frag_cnt, 1);
    }

    #[test]
    fn mount_is_the_first_path_segment() {
        assert_eq!(mount_of("/kafka/topic"), "kafka");
        assert_eq!(mount_of("//kafkaoffset/"), "kafkaoffset");
        assert_eq!(mount_of("/"), "");
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        assert_eq!(Client::new("::1", 7171).addr(), "[::1]:7171");
        assert_eq!(Client::new("localhost", 7171).addr(), "localhost:7171");
    }

    #[tokio::test]
    async fn a_refused_connection_is_retriable_and_names_the_target() {
        // Bind then drop, so the port is (very likely) closed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = Client::new("127.0.0.1", port);
        let err = client
            .read(&ReadSpec::new("/kafka/t", &schema()))
            .await
            .err()
            .unwrap();
        assert!(err.is_retriable());
        assert_eq!(
            err.to_string(),
            format!("xdrive 127.0.0.1:{port}, mount \"kafka\", read: cannot connect")
        );
    }

    #[tokio::test]
    async fn a_bad_projection_fails_before_connecting() {
        let client = Client::new("127.0.0.1", 1);
        let err = client
            .read(&ReadSpec::new("/kafka/t", &schema()).project(["nope"]))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, Error::Request { .. }), "{err}");
        assert!(!err.is_retriable());
    }
}
