//! The answering side of a conversation.

use bytes::BytesMut;

use super::{ConversationError, Next, Op, negative};
use crate::frame::{DEFAULT_MAX_FRAME_LEN, Frame, FrameCodec};
use crate::message::{
    self, MessageError, OpSpec, OpStatus, ReadRequest, WriteReply, WriteRequest, XCol,
    XColDataReply,
};
use crate::page::{PageBuilder, PageColumn, PageReader};
use crate::schema::Schema;
use crate::wire::WireXCol;

pub(super) const SIDE: &str = "plugin side";

/// What the peer sent, and so what the plugin side must do next.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PluginEvent {
    /// The operation asked for: [`accept`](PluginConversation::accept) a read or a write,
    /// or [`reject`](PluginConversation::reject) it.
    Op(Op),
    /// The read request, and the columns to send in each page, in order (its `columnlist`,
    /// or all of `columndesc`). Send pages with
    /// [`send_page`](PluginConversation::send_page), then
    /// [`end_read`](PluginConversation::end_read) — or [`fail`](PluginConversation::fail).
    ReadRequest {
        /// The request as received.
        request: ReadRequest,
        /// The columns each page carries.
        columns: Schema,
    },
    /// The write request and the columns every page carries. Reply with
    /// [`ack`](PluginConversation::ack) or [`fail`](PluginConversation::fail).
    WriteRequest {
        /// The request as received.
        request: WriteRequest,
        /// The columns each page carries.
        columns: Schema,
    },
    /// Column `index` of a write page arrived (the page is not complete yet). Reply with
    /// `ack` or `fail`.
    WriteColumn {
        /// Position of the column in the page.
        index: usize,
    },
    /// The last column of a write page arrived: here is the whole page, checked. Reply with
    /// `ack` or `fail`.
    WritePage(PageReader),
    /// The write ended cleanly. Finish the write, then send the final reply: `ack` if
    /// everything succeeded, `fail` otherwise.
    WriteEnd,
    /// A frame after a refused operation (the request the peer may send anyway), ignored.
    /// The conversation is over.
    Ignored,
}

/// Which reply message the peer waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    OpStatus,
    XColData,
    Write,
}

#[derive(Debug)]
enum State {
    AwaitOp,
    OpReceived(Op),
    Rejected,
    AwaitReadRequest,
    Reading {
        columns: Schema,
    },
    AwaitWriteRequest,
    /// A `WriteReply` is owed; after it, columns follow.
    WriteReplyOwed {
        columns: Schema,
        round: Vec<PageColumn>,
        nrow: usize,
    },
    AwaitColumn {
        columns: Schema,
        round: Vec<PageColumn>,
        nrow: usize,
    },
    /// The final `WriteReply` is owed.
    WriteEndReceived,
    /// `receive` failed; the peer waits for `reply`, if anything.
    Failed(Option<Reply>),
    Done,
}

impl State {
    fn describe(&self) -> &'static str {
        match self {
            State::AwaitOp => "waiting for the OpSpec",
            State::OpReceived(_) => "an OpStatus is owed",
            State::Rejected => "the operation was refused",
            State::AwaitReadRequest => "waiting for the ReadRequest",
            State::Reading { .. } => "sending the read's pages",
            State::AwaitWriteRequest => "waiting for the WriteRequest",
            State::WriteReplyOwed { .. } => "a WriteReply is owed",
            State::AwaitColumn { .. } => "waiting for a write page column",
            State::WriteEndReceived => "the final WriteReply is owed",
            State::Failed(Some(_)) => "an error reply is owed",
            State::Failed(None) | State::Done => "the conversation is over",
        }
    }
}

/// The answering side of one conversation: an xdrive plugin, or the xdrive server facing
/// the database. See the [module docs](super) for the exchanges.
///
/// ```
/// use bytes::BytesMut;
/// use xdrive_proto::conversation::{Op, PluginConversation, PluginEvent};
/// use xdrive_proto::frame::{Frame, FrameCodec};
/// use xdrive_proto::message::{self, OpSpec, ReadRequest};
///
/// let mut plugin = PluginConversation::new();
/// let mut out = BytesMut::new();
/// let op = Frame::Message(prost::Message::encode_to_vec(&OpSpec::new("read")).into());
/// assert_eq!(plugin.receive(op).unwrap(), PluginEvent::Op(Op::Read));
/// plugin.accept(&mut out).unwrap(); // OpStatus{flag=1} is now in `out`
/// let req = Frame::Message(prost::Message::encode_to_vec(&ReadRequest::default()).into());
/// let PluginEvent::ReadRequest { columns, .. } = plugin.receive(req).unwrap() else { panic!() };
/// assert!(columns.is_empty());
/// plugin.end_read(&mut out).unwrap();
/// assert!(plugin.next() == xdrive_proto::conversation::Next::Done);
/// ```
#[derive(Debug)]
pub struct PluginConversation {
    codec: FrameCodec,
    state: State,
    page: u64,
}

impl Default for PluginConversation {
    fn default() -> Self {
        PluginConversation::new()
    }
}

impl PluginConversation {
    /// A conversation waiting for its `OpSpec`, sending frames of at most
    /// [`DEFAULT_MAX_FRAME_LEN`] bytes.
    pub fn new() -> Self {
        PluginConversation::with_max_frame_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A conversation sending frames of at most `max_frame_len` bytes.
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        PluginConversation {
            codec: FrameCodec::new(max_frame_len),
            state: State::AwaitOp,
            page: 0,
        }
    }

    /// What the machine waits for.
    pub fn next(&self) -> Next {
        match &self.state {
            State::AwaitOp => Next::Receive("OpSpec"),
            State::OpReceived(_) => Next::Send("OpStatus (accept or reject)"),
            State::Rejected => Next::Receive("the refused operation's request, or nothing"),
            State::AwaitReadRequest => Next::Receive("ReadRequest"),
            State::Reading { .. } => Next::Send("read pages, then the end of the read"),
            State::AwaitWriteRequest => Next::Receive("WriteRequest"),
            State::WriteReplyOwed { .. } | State::WriteEndReceived => Next::Send("WriteReply"),
            State::AwaitColumn { .. } => Next::Receive("XCol, or the end of the write"),
            State::Failed(Some(_)) => Next::Send("the error reply (fail)"),
            State::Failed(None) | State::Done => Next::Done,
        }
    }

    /// Pages of the read sent, or pages of the write received, so far.
    pub fn pages(&self) -> u64 {
        self.page
    }

    /// Feeds the next frame from the peer.
    pub fn receive(&mut self, frame: Frame) -> Result<PluginEvent, ConversationError> {
        match std::mem::replace(&mut self.state, State::Failed(None)) {
            State::AwaitOp => {
                let spec: OpSpec = self.decode(frame, "OpSpec", Reply::OpStatus)?;
                let op = Op::parse(&spec.op);
                self.state = State::OpReceived(op.clone());
                Ok(PluginEvent::Op(op))
            }
            State::Rejected => {
                self.state = State::Done;
                Ok(PluginEvent::Ignored)
            }
            State::AwaitReadRequest => {
                let request: ReadRequest = self.decode(frame, "ReadRequest", Reply::XColData)?;
                let columns = Schema::from_descs(&request.columndesc)
                    .and_then(|s| s.project(&request.columnlist))
                    .map_err(|source| {
                        self.state = State::Failed(Some(Reply::XColData));
                        ConversationError::Schema {
                            side: SIDE,
                            op: "read",
                            source,
                        }
                    })?;
                self.state = State::Reading {
                    columns: columns.clone(),
                };
                Ok(PluginEvent::ReadRequest { request, columns })
            }
            State::AwaitWriteRequest => {
                let request: WriteRequest = self.decode(frame, "WriteRequest", Reply::Write)?;
                let columns = Schema::from_descs(&request.columndesc).map_err(|source| {
                    self.state = State::Failed(Some(Reply::Write));
                    ConversationError::Schema {
                        side: SIDE,
                        op: "write",
                        source,
                    }
                })?;
                self.state = State::WriteReplyOwed {
                    columns: columns.clone(),
                    round: Vec::with_capacity(columns.len()),
                    nrow: 0,
                };
                Ok(PluginEvent::WriteRequest { request, columns })
            }
            State::AwaitColumn {
                columns,
                mut round,
                nrow,
            } => {
                let payload = frame.into_payload();
                let len = payload.len();
                let xcol = match WireXCol::decode(payload) {
                    Ok(x) => x,
                    Err(source) => {
                        self.state = State::Failed(Some(Reply::Write));
                        return Err(ConversationError::Message {
                            side: SIDE,
                            stage: "write page column (XCol)",
                            source: MessageError::Wire {
                                message: "XCol",
                                len,
                                source,
                            },
                        });
                    }
                };
                if xcol.nrow() == 0 {
                    if !round.is_empty() {
                        self.state = State::Failed(Some(Reply::Write));
                        return Err(ConversationError::EndedMidPage {
                            side: SIDE,
                            op: "write",
                            page: self.page,
                            received: round.len(),
                            ncol: columns.len(),
                        });
                    }
                    self.state = State::WriteEndReceived;
                    return Ok(PluginEvent::WriteEnd);
                }
                let index = round.len();
                let page = self.page;
                let page_error = |source| {
                    (
                        State::Failed(Some(Reply::Write)),
                        ConversationError::Page {
                            side: SIDE,
                            op: "write",
                            page,
                            source,
                        },
                    )
                };
                let column = match check_incoming_column(&columns, index, nrow, xcol) {
                    Ok(c) => c,
                    Err(source) => {
                        let (state, err) = page_error(source);
                        self.state = state;
                        return Err(err);
                    }
                };
                let col_nrow = column.nrow();
                round.push(column);
                if round.len() < columns.len() {
                    self.state = State::WriteReplyOwed {
                        columns,
                        round,
                        nrow: col_nrow,
                    };
                    return Ok(PluginEvent::WriteColumn { index });
                }
                let ncol = columns.len();
                let page_reader = match PageReader::from_columns(&columns, round) {
                    Ok(p) => p,
                    Err(source) => {
                        let (state, err) = page_error(source);
                        self.state = state;
                        return Err(err);
                    }
                };
                self.page += 1;
                self.state = State::WriteReplyOwed {
                    columns,
                    round: Vec::with_capacity(ncol),
                    nrow: 0,
                };
                Ok(PluginEvent::WritePage(page_reader))
            }
            state => {
                let described = state.describe();
                self.state = state;
                Err(ConversationError::UnexpectedFrame {
                    side: SIDE,
                    state: described,
                })
            }
        }
    }

    /// Decodes `frame`; on failure the machine fails, owing `reply`.
    fn decode<M: message::WireMessage>(
        &mut self,
        frame: Frame,
        stage: &'static str,
        reply: Reply,
    ) -> Result<M, ConversationError> {
        message::decode(frame).map_err(|source| {
            self.state = State::Failed(Some(reply));
            ConversationError::Message {
                side: SIDE,
                stage,
                source,
            }
        })
    }

    /// Accepts the read or write just asked for: sends `OpStatus{errcode: 0, flag: 1}`.
    pub fn accept(&mut self, out: &mut BytesMut) -> Result<(), ConversationError> {
        let next = match &self.state {
            State::OpReceived(Op::Read) => State::AwaitReadRequest,
            State::OpReceived(Op::Write) => State::AwaitWriteRequest,
            State::OpReceived(op) => {
                return Err(ConversationError::CannotAccept {
                    op: op.as_str().to_owned(),
                });
            }
            other => return Err(self.wrong_state("accept the operation", other)),
        };
        self.send(&OpStatus::ok_xcol(), "OpStatus", out)?;
        self.state = next;
        Ok(())
    }

    /// Refuses the operation just asked for: sends `OpStatus{errcode, errmsg}` (a
    /// non-negative `errcode` is sent as -1).
    pub fn reject(
        &mut self,
        errcode: i32,
        errmsg: &str,
        out: &mut BytesMut,
    ) -> Result<(), ConversationError> {
        if !matches!(self.state, State::OpReceived(_)) {
            return Err(self.wrong_state("refuse the operation", &self.state));
        }
        self.send(&OpStatus::error(negative(errcode), errmsg), "OpStatus", out)?;
        self.state = State::Rejected;
        Ok(())
    }

    /// Sends one page of the read: one `XColDataReply` per column, in the request's column
    /// order. The page must have those columns, in that order, with the same `nrow`; an
    /// empty page (nrow 0) sends nothing. On error nothing is added to `out`.
    pub fn send_page(
        &mut self,
        xcols: &[XCol],
        out: &mut BytesMut,
    ) -> Result<(), ConversationError> {
        let State::Reading { columns } = &self.state else {
            return Err(self.wrong_state("send a read page", &self.state));
        };
        let nrow = check_outgoing_page(columns, xcols).map_err(|source| {
            ConversationError::BadOutgoingPage {
                side: SIDE,
                page: self.page,
                source,
            }
        })?;
        if nrow == 0 {
            return Ok(());
        }
        let mark = out.len();
        for xcol in xcols {
            if let Err(source) = message::encode_xcol_reply(&self.codec, xcol, out) {
                out.truncate(mark);
                return Err(ConversationError::Frame {
                    side: SIDE,
                    what: "read page column",
                    source,
                });
            }
        }
        self.page += 1;
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
        let State::Reading { columns } = &self.state else {
            return Err(self.wrong_state("send a read page", &self.state));
        };
        let bad = |source| ConversationError::BadOutgoingPage {
            side: SIDE,
            page: self.page,
            source,
        };
        check_builder_columns(columns, builder.schema()).map_err(bad)?;
        let nrow = builder
            .finish_into_frames(&self.codec, true, out)
            .map_err(bad)?;
        if nrow > 0 {
            self.page += 1;
        }
        Ok(())
    }

    /// Ends the read: sends the zero-length frame. The conversation is over.
    pub fn end_read(&mut self, out: &mut BytesMut) -> Result<(), ConversationError> {
        if !matches!(self.state, State::Reading { .. }) {
            return Err(self.wrong_state("end the read", &self.state));
        }
        self.codec.encode_end(out);
        self.state = State::Done;
        Ok(())
    }

    /// Sends a success `WriteReply` (the zero-length frame): to the write request, to a
    /// page column, or — after [`PluginEvent::WriteEnd`] — as the final word that the whole
    /// write succeeded.
    pub fn ack(&mut self, out: &mut BytesMut) -> Result<(), ConversationError> {
        let next = match std::mem::replace(&mut self.state, State::Done) {
            State::WriteReplyOwed {
                columns,
                round,
                nrow,
            } => State::AwaitColumn {
                columns,
                round,
                nrow,
            },
            State::WriteEndReceived => State::Done,
            other => {
                let err = self.wrong_state("acknowledge", &other);
                self.state = other;
                return Err(err);
            }
        };
        self.codec.encode_end(out);
        self.state = next;
        Ok(())
    }

    /// Tells the peer the conversation failed, with the reply it is waiting for: an
    /// `OpStatus` (like [`reject`](Self::reject)), an `XColDataReply` during a read, or a
    /// `WriteReply` during a write — also after `receive` returned an error. A non-negative
    /// `errcode` is sent as -1. The conversation is over.
    pub fn fail(
        &mut self,
        errcode: i32,
        errmsg: &str,
        out: &mut BytesMut,
    ) -> Result<(), ConversationError> {
        let errcode = negative(errcode);
        let reply = match &self.state {
            State::OpReceived(_) => return self.reject(errcode, errmsg, out),
            State::Reading { .. } | State::Failed(Some(Reply::XColData)) => Reply::XColData,
            State::WriteReplyOwed { .. }
            | State::WriteEndReceived
            | State::Failed(Some(Reply::Write)) => Reply::Write,
            State::Failed(Some(Reply::OpStatus)) => Reply::OpStatus,
            other => return Err(self.wrong_state("send an error reply", other)),
        };
        match reply {
            Reply::OpStatus => self.send(&OpStatus::error(errcode, errmsg), "OpStatus", out)?,
            Reply::XColData => {
                self.send(&XColDataReply::error(errcode, errmsg), "XColDataReply", out)?
            }
            Reply::Write => self.send(&WriteReply::error(errcode, errmsg), "WriteReply", out)?,
        }
        self.state = State::Done;
        Ok(())
    }

    fn send<M: prost::Message>(
        &self,
        msg: &M,
        what: &'static str,
        out: &mut BytesMut,
    ) -> Result<(), ConversationError> {
        self.codec
            .encode_message(msg, out)
            .map_err(|source| ConversationError::Frame {
                side: SIDE,
                what,
                source,
            })
    }

    fn wrong_state(&self, action: &'static str, state: &State) -> ConversationError {
        ConversationError::WrongState {
            side: SIDE,
            action,
            state: state.describe(),
        }
    }
}

/// Checks an incoming column `index` of a page against `columns`; `nrow` is the page's row
/// count so far (meaningful when `index > 0`). Returns the checked column.
pub(super) fn check_incoming_column(
    columns: &Schema,
    index: usize,
    nrow: usize,
    xcol: WireXCol,
) -> Result<PageColumn, crate::page::PageError> {
    use crate::page::PageError;
    let Some(column) = columns.columns().get(index) else {
        return Err(PageError::ColumnCount {
            expected: columns.len(),
            got: index + 1,
        });
    };
    let checked = PageColumn::from_wire(index, column, xcol)?;
    if index > 0 && checked.nrow() != nrow {
        return Err(PageError::RowCountMismatch {
            column: column.name.clone(),
            nrow: checked.nrow(),
            expected: nrow,
        });
    }
    Ok(checked)
}

/// Checks that a builder's columns are `columns`: count and names.
pub(super) fn check_builder_columns(
    columns: &Schema,
    builder: &Schema,
) -> Result<(), crate::page::PageError> {
    use crate::page::PageError;
    if builder.len() != columns.len() {
        return Err(PageError::ColumnCount {
            expected: columns.len(),
            got: builder.len(),
        });
    }
    for (index, (want, got)) in columns.columns().iter().zip(builder.columns()).enumerate() {
        if want.name != got.name {
            return Err(PageError::ColumnName {
                index,
                expected: want.name.clone(),
                got: got.name.clone(),
            });
        }
    }
    Ok(())
}

/// The cheap checks of a page about to be sent: column count and names, one `nrow`, null
/// flags for every row. Returns the `nrow`.
pub(super) fn check_outgoing_page(
    columns: &Schema,
    xcols: &[XCol],
) -> Result<usize, crate::page::PageError> {
    use crate::page::PageError;
    if xcols.len() != columns.len() {
        return Err(PageError::ColumnCount {
            expected: columns.len(),
            got: xcols.len(),
        });
    }
    let mut page_nrow = None;
    for (index, (column, xcol)) in columns.columns().iter().zip(xcols).enumerate() {
        if xcol.colname != column.name {
            return Err(PageError::ColumnName {
                index,
                expected: column.name.clone(),
                got: xcol.colname.clone(),
            });
        }
        let nrow = usize::try_from(xcol.nrow).map_err(|_| PageError::NegativeRowCount {
            column: column.name.clone(),
            nrow: xcol.nrow,
        })?;
        if xcol.nullmap.len() != nrow {
            return Err(PageError::NullmapLength {
                column: column.name.clone(),
                len: xcol.nullmap.len(),
                nrow,
            });
        }
        match page_nrow {
            Some(expected) if expected != nrow => {
                return Err(PageError::RowCountMismatch {
                    column: column.name.clone(),
                    nrow,
                    expected,
                });
            }
            _ => page_nrow = Some(nrow),
        }
    }
    Ok(page_nrow.unwrap_or(0))
}
