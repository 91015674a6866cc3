//! The asking side of a conversation: [`ReadClient`] and [`WriteClient`].

use bytes::BytesMut;

use super::plugin::{check_builder_columns, check_incoming_column, check_outgoing_page};
use super::{ConversationError, Next};
use crate::frame::{DEFAULT_MAX_FRAME_LEN, Frame, FrameCodec};
use crate::message::{
    self, MessageError, OP_READ, OP_WRITE, OPSTATUS_FLAG_XCOL, OpSpec, OpStatus, ReadRequest,
    WriteReply, WriteRequest, XCol,
};
use crate::page::{PageBuilder, PageColumn, PageReader};
use crate::schema::Schema;
use crate::wire;

const READ_SIDE: &str = "read client";
const WRITE_SIDE: &str = "write client";

/// What a read's peer sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReadEvent {
    /// The read was accepted: send the request with
    /// [`send_request`](ReadClient::send_request).
    Accepted,
    /// Column `index` of a page arrived (the page is not complete yet): keep receiving.
    Column {
        /// Position of the column in the page.
        index: usize,
    },
    /// The last column of a page arrived: here is the whole page, checked.
    Page(PageReader),
    /// The read ended cleanly. The conversation is over.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Start,
    AwaitOpStatus,
    Accepted,
    AwaitPages,
    Done,
}

impl ReadState {
    fn describe(self) -> &'static str {
        match self {
            ReadState::Start => "the OpSpec is not sent yet",
            ReadState::AwaitOpStatus => "waiting for the OpStatus",
            ReadState::Accepted => "the ReadRequest is not sent yet",
            ReadState::AwaitPages => "receiving pages",
            ReadState::Done => "the conversation is over",
        }
    }
}

/// The asking side of a read: the loader (or the database), or the xdrive server facing a
/// plugin. See the [module docs](super) for the exchange.
///
/// `start` → receive [`ReadEvent::Accepted`] → `send_request` → receive
/// [`ReadEvent::Column`]/[`ReadEvent::Page`]... until [`ReadEvent::End`]. An error reply
/// from the peer is [`ConversationError::Refused`]. After any error the conversation is
/// over.
#[derive(Debug)]
pub struct ReadClient {
    codec: FrameCodec,
    request: ReadRequest,
    columns: Schema,
    state: ReadState,
    round: Vec<PageColumn>,
    nrow: usize,
    page: u64,
}

impl ReadClient {
    /// A read that will send `request`; checks its columns and projection first.
    pub fn new(request: ReadRequest) -> Result<Self, ConversationError> {
        let columns = Schema::from_descs(&request.columndesc)
            .and_then(|s| s.project(&request.columnlist))
            .map_err(|source| ConversationError::Schema {
                side: READ_SIDE,
                op: "read",
                source,
            })?;
        Ok(ReadClient {
            codec: FrameCodec::new(DEFAULT_MAX_FRAME_LEN),
            round: Vec::with_capacity(columns.len()),
            request,
            columns,
            state: ReadState::Start,
            nrow: 0,
            page: 0,
        })
    }

    /// Sends frames of at most `max_frame_len` bytes (default [`DEFAULT_MAX_FRAME_LEN`]).
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.codec = FrameCodec::new(max_frame_len);
        self
    }

    /// The columns each page carries, in order.
    pub fn columns(&self) -> &Schema {
        &self.columns
    }

    /// Complete pages received so far.
    pub fn pages(&self) -> u64 {
        self.page
    }

    /// What the machine waits for.
    pub fn next(&self) -> Next {
        match self.state {
            ReadState::Start => Next::Send("OpSpec (start)"),
            ReadState::AwaitOpStatus => Next::Receive("OpStatus"),
            ReadState::Accepted => Next::Send("ReadRequest (send_request)"),
            ReadState::AwaitPages => Next::Receive("XColDataReply, or the end of the read"),
            ReadState::Done => Next::Done,
        }
    }

    /// Sends `OpSpec{op: "read"}`.
    pub fn start(&mut self, out: &mut BytesMut) -> Result<(), ConversationError> {
        self.expect_state(ReadState::Start, "start")?;
        send(&self.codec, &OpSpec::new(OP_READ), READ_SIDE, "OpSpec", out)?;
        self.state = ReadState::AwaitOpStatus;
        Ok(())
    }

    /// Sends the `ReadRequest`, after [`ReadEvent::Accepted`].
    pub fn send_request(&mut self, out: &mut BytesMut) -> Result<(), ConversationError> {
        self.expect_state(ReadState::Accepted, "send the ReadRequest")?;
        send(&self.codec, &self.request, READ_SIDE, "ReadRequest", out)?;
        self.state = ReadState::AwaitPages;
        Ok(())
    }

    fn expect_state(&self, want: ReadState, action: &'static str) -> Result<(), ConversationError> {
        if self.state == want {
            Ok(())
        } else {
            Err(ConversationError::WrongState {
                side: READ_SIDE,
                action,
                state: self.state.describe(),
            })
        }
    }

    /// Feeds the next frame from the peer.
    pub fn receive(&mut self, frame: Frame) -> Result<ReadEvent, ConversationError> {
        let state = self.state;
        // Any error ends the conversation.
        self.state = ReadState::Done;
        match state {
            ReadState::AwaitOpStatus => {
                let status: OpStatus = decode(frame, READ_SIDE, "OpStatus")?;
                if status.errcode != 0 {
                    return Err(ConversationError::Refused {
                        op: "read",
                        stage: "OpStatus",
                        errcode: status.errcode,
                        errmsg: status.errmsg,
                    });
                }
                if status.flag & OPSTATUS_FLAG_XCOL == 0 {
                    return Err(ConversationError::NotXcolMode { flag: status.flag });
                }
                self.state = ReadState::Accepted;
                Ok(ReadEvent::Accepted)
            }
            ReadState::AwaitPages => {
                let payload = frame.into_payload();
                let len = payload.len();
                let reply = wire::decode_xcol_reply(payload).map_err(|source| {
                    ConversationError::Message {
                        side: READ_SIDE,
                        stage: "XColDataReply",
                        source: MessageError::Wire {
                            message: "XColDataReply",
                            len,
                            source,
                        },
                    }
                })?;
                if reply.errcode != 0 {
                    return Err(ConversationError::Refused {
                        op: "read",
                        stage: "XColDataReply",
                        errcode: reply.errcode,
                        errmsg: reply.errmsg,
                    });
                }
                let Some(xcol) = reply.data else {
                    if !self.round.is_empty() {
                        return Err(ConversationError::EndedMidPage {
                            side: READ_SIDE,
                            op: "read",
                            page: self.page,
                            received: self.round.len(),
                            ncol: self.columns.len(),
                        });
                    }
                    return Ok(ReadEvent::End);
                };
                let index = self.round.len();
                let page_error = |source| ConversationError::Page {
                    side: READ_SIDE,
                    op: "read",
                    page: self.page,
                    source,
                };
                let column = check_incoming_column(&self.columns, index, self.nrow, xcol)
                    .map_err(page_error)?;
                let nrow = column.nrow();
                self.round.push(column);
                self.nrow = nrow;
                self.state = ReadState::AwaitPages;
                if self.round.len() < self.columns.len() {
                    return Ok(ReadEvent::Column { index });
                }
                let round =
                    std::mem::replace(&mut self.round, Vec::with_capacity(self.columns.len()));
                let page = PageReader::from_columns(&self.columns, round).map_err(page_error)?;
                self.page += 1;
                Ok(ReadEvent::Page(page))
            }
            ReadState::Start | ReadState::Accepted | ReadState::Done => {
                self.state = state;
                Err(ConversationError::UnexpectedFrame {
                    side: READ_SIDE,
                    state: state.describe(),
                })
            }
        }
    }
}

/// What a write's peer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteEvent {
    /// The write was accepted: send the request with
    /// [`send_request`](WriteClient::send_request).
    Accepted,
    /// The request was accepted: send pages with [`send_page`](WriteClient::send_page), or
    /// end with [`finish`](WriteClient::finish).
    Ready,
    /// Column `index` of the page in flight was accepted: keep receiving.
    ColumnAcked {
        /// Position of the column in the page.
        index: usize,
    },
    /// Every column of the page in flight was accepted: send the next page, or finish.
    PageAcked,
    /// The plugin side says the whole write succeeded. The conversation is over.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteState {
    Start,
    AwaitOpStatus,
    Accepted,
    AwaitRequestReply,
    Ready,
    AwaitColumnReplies { acked: usize, ncol: usize },
    AwaitFinalReply,
    Done,
}

impl WriteState {
    fn describe(self) -> &'static str {
        match self {
            WriteState::Start => "the OpSpec is not sent yet",
            WriteState::AwaitOpStatus => "waiting for the OpStatus",
            WriteState::Accepted => "the WriteRequest is not sent yet",
            WriteState::AwaitRequestReply => "waiting for the WriteRequest's reply",
            WriteState::Ready => "ready for a page or the end",
            WriteState::AwaitColumnReplies { .. } => "waiting for a page's replies",
            WriteState::AwaitFinalReply => "waiting for the final WriteReply",
            WriteState::Done => "the conversation is over",
        }
    }
}

/// The asking side of a write: the loader (or the database), or the xdrive server facing a
/// plugin. See the [module docs](super) for the exchange.
///
/// `start` → receive [`WriteEvent::Accepted`] → `send_request` → receive
/// [`WriteEvent::Ready`] → (`send_page` → receive `ColumnAcked`... `PageAcked`)* →
/// `finish` → receive [`WriteEvent::Done`]. An error reply from the peer is
/// [`ConversationError::Refused`]; after any error the conversation is over.
#[derive(Debug)]
pub struct WriteClient {
    codec: FrameCodec,
    request: WriteRequest,
    columns: Schema,
    state: WriteState,
    page: u64,
}

impl WriteClient {
    /// A write that will send `request`; checks its columns first.
    pub fn new(request: WriteRequest) -> Result<Self, ConversationError> {
        let columns = Schema::from_descs(&request.columndesc).map_err(|source| {
            ConversationError::Schema {
                side: WRITE_SIDE,
                op: "write",
                source,
            }
        })?;
        Ok(WriteClient {
            codec: FrameCodec::new(DEFAULT_MAX_FRAME_LEN),
            request,
            columns,
            state: WriteState::Start,
            page: 0,
        })
    }

    /// Sends frames of at most `max_frame_len` bytes (default [`DEFAULT_MAX_FRAME_LEN`]).
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.codec = FrameCodec::new(max_frame_len);
        self
    }

    /// The columns every page carries, in order.
    pub fn columns(&self) -> &Schema {
        &self.columns
    }

    /// Pages sent so far.
    pub fn pages(&self) -> u64 {
        self.page
    }

    /// What the machine waits for.
    pub fn next(&self) -> Next {
        match self.state {
            WriteState::Start => Next::Send("OpSpec (start)"),
            WriteState::AwaitOpStatus => Next::Receive("OpStatus"),
            WriteState::Accepted => Next::Send("WriteRequest (send_request)"),
            WriteState::AwaitRequestReply
            | WriteState::AwaitColumnReplies { .. }
            | WriteState::AwaitFinalReply => Next::Receive("WriteReply"),
            WriteState::Ready => Next::Send("a page (send_page) or the end (finish)"),
            WriteState::Done => Next::Done,
        }
    }

    /// Sends `OpSpec{op: "write"}`.
    pub fn start(&mut self, out: &mut BytesMut) -> Result<(), ConversationError> {
        self.expect_state(WriteState::Start, "start")?;
        send(
            &self.codec,
            &OpSpec::new(OP_WRITE),
            WRITE_SIDE,
            "OpSpec",
            out,
        )?;
        self.state = WriteState::AwaitOpStatus;
        Ok(())
    }

    /// Sends the `WriteRequest`, after [`WriteEvent::Accepted`].
    pub fn send_request(&mut self, out: &mut BytesMut) -> Result<(), ConversationError> {
        self.expect_state(WriteState::Accepted, "send the WriteRequest")?;
        send(&self.codec, &self.request, WRITE_SIDE, "WriteRequest", out)?;
        self.state = WriteState::AwaitRequestReply;
        Ok(())
    }

    /// Sends one page: its `XCol`s, one frame each, in the request's column order. The page
    /// must have those columns, in that order, with the same `nrow`. An empty page (nrow 0)
    /// sends nothing (an `XCol` with nrow 0 would end the write). On error nothing is added
    /// to `out`.
    pub fn send_page(
        &mut self,
        xcols: &[XCol],
        out: &mut BytesMut,
    ) -> Result<(), ConversationError> {
        self.expect_state(WriteState::Ready, "send a write page")?;
        let nrow = check_outgoing_page(&self.columns, xcols).map_err(|source| {
            ConversationError::BadOutgoingPage {
                side: WRITE_SIDE,
                page: self.page,
                source,
            }
        })?;
        if nrow == 0 {
            return Ok(());
        }
        let mark = out.len();
        for xcol in xcols {
            if let Err(err) = send(&self.codec, xcol, WRITE_SIDE, "write page column", out) {
                out.truncate(mark);
                return Err(err);
            }
        }
        self.page += 1;
        self.state = WriteState::AwaitColumnReplies {
            acked: 0,
            ncol: xcols.len(),
        };
        Ok(())
    }

    /// Sends the builder's page like [`send_page`](Self::send_page), encoded straight from
    /// the builder (no `XCol`s are built; see [`PageBuilder::finish_into_frames`]). The
    /// builder's columns must be the request's. An empty page sends nothing. On error
    /// nothing is added to `out`.
    pub fn send_builder(
        &mut self,
        builder: &mut PageBuilder,
        out: &mut BytesMut,
    ) -> Result<(), ConversationError> {
        self.expect_state(WriteState::Ready, "send a write page")?;
        let bad = |source| ConversationError::BadOutgoingPage {
            side: WRITE_SIDE,
            page: self.page,
            source,
        };
        check_builder_columns(&self.columns, builder.schema()).map_err(bad)?;
        let nrow = builder
            .finish_into_frames(&self.codec, false, out)
            .map_err(bad)?;
        if nrow == 0 {
            return Ok(());
        }
        self.page += 1;
        self.state = WriteState::AwaitColumnReplies {
            acked: 0,
            ncol: self.columns.len(),
        };
        Ok(())
    }

    /// Ends the write: sends the zero-length frame; the peer's final reply says whether the
    /// whole write succeeded.
    pub fn finish(&mut self, out: &mut BytesMut) -> Result<(), ConversationError> {
        self.expect_state(WriteState::Ready, "finish the write")?;
        self.codec.encode_end(out);
        self.state = WriteState::AwaitFinalReply;
        Ok(())
    }

    fn expect_state(
        &self,
        want: WriteState,
        action: &'static str,
    ) -> Result<(), ConversationError> {
        if self.state == want {
            Ok(())
        } else {
            Err(ConversationError::WrongState {
                side: WRITE_SIDE,
                action,
                state: self.state.describe(),
            })
        }
    }

    /// Feeds the next frame from the peer.
    pub fn receive(&mut self, frame: Frame) -> Result<WriteEvent, ConversationError> {
        let state = self.state;
        // Any error ends the conversation.
        self.state = WriteState::Done;
        let reply = |stage: &'static str, frame: Frame| -> Result<(), ConversationError> {
            let reply: WriteReply = decode(frame, WRITE_SIDE, stage)?;
            if reply.errcode != 0 {
                return Err(ConversationError::Refused {
                    op: "write",
                    stage,
                    errcode: reply.errcode,
                    errmsg: reply.errmsg,
                });
            }
            Ok(())
        };
        match state {
            WriteState::AwaitOpStatus => {
                let status: OpStatus = decode(frame, WRITE_SIDE, "OpStatus")?;
                if status.errcode != 0 {
                    return Err(ConversationError::Refused {
                        op: "write",
                        stage: "OpStatus",
                        errcode: status.errcode,
                        errmsg: status.errmsg,
                    });
                }
                self.state = WriteState::Accepted;
                Ok(WriteEvent::Accepted)
            }
            WriteState::AwaitRequestReply => {
                reply("reply to the WriteRequest", frame)?;
                self.state = WriteState::Ready;
                Ok(WriteEvent::Ready)
            }
            WriteState::AwaitColumnReplies { acked, ncol } => {
                reply("reply to a page column", frame)?;
                let acked = acked + 1;
                if acked < ncol {
                    self.state = WriteState::AwaitColumnReplies { acked, ncol };
                    Ok(WriteEvent::ColumnAcked { index: acked - 1 })
                } else {
                    self.state = WriteState::Ready;
                    Ok(WriteEvent::PageAcked)
                }
            }
            WriteState::AwaitFinalReply => {
                reply("final reply", frame)?;
                Ok(WriteEvent::Done)
            }
            WriteState::Start | WriteState::Accepted | WriteState::Ready | WriteState::Done => {
                self.state = state;
                Err(ConversationError::UnexpectedFrame {
                    side: WRITE_SIDE,
                    state: state.describe(),
                })
            }
        }
    }
}

fn decode<M: message::WireMessage>(
    frame: Frame,
    side: &'static str,
    stage: &'static str,
) -> Result<M, ConversationError> {
    message::decode(frame).map_err(|source| ConversationError::Message {
        side,
        stage,
        source,
    })
}

fn send<M: prost::Message>(
    codec: &FrameCodec,
    msg: &M,
    side: &'static str,
    what: &'static str,
    out: &mut BytesMut,
) -> Result<(), ConversationError> {
    codec
        .encode_message(msg, out)
        .map_err(|source| ConversationError::Frame { side, what, source })
}
