//! The conversations of one xdrive link, as state machines the caller drives: no sockets,
//! no threads, so they test byte for byte.
//!
//! Each side decodes frames with a [`FrameCodec`](crate::frame::FrameCodec), feeds them to
//! its machine's `receive`, and acts on the event it gets back; whatever it sends goes
//! through the machine's send methods, which encode frames into a `BytesMut` for the caller
//! to write. Anything out of order — a frame when the machine must speak, a send when it
//! must listen, a page with the wrong columns — is a [`ConversationError`]. After an error
//! from `receive`, the side may still tell the peer with the machine's `fail` method (it
//! picks the reply message the peer is waiting for), then should close the link.
//!
//! - [`PluginConversation`]: the side that answers — an xdrive plugin, or the xdrive server
//!   toward the database/loader.
//! - [`ReadClient`] and [`WriteClient`]: the side that asks — the database/loader, or the
//!   xdrive server toward a plugin.
//!
//! # Read
//! ```text
//! client                              plugin
//! OpSpec{op="read"}          ──▶
//!                            ◀──      OpStatus{errcode=0, flag=1}      (or errcode<0: refused)
//! ReadRequest                ──▶
//!                            ◀──      XColDataReply{data=col 1 of page 1}
//!                            ◀──      XColDataReply{data=col 2 of page 1}   ... per page
//!                            ◀──      zero-length frame (end)          (or errcode<0 anywhere)
//! ```
//! Columns come in `columnlist` order (every column of `columndesc` when the list is
//! empty), one reply each, page after page.
//!
//! # Write
//! ```text
//! OpSpec{op="write"}         ──▶
//!                            ◀──      OpStatus{errcode=0}
//! WriteRequest               ──▶
//!                            ◀──      WriteReply (ok: zero-length frame)
//! XCol col 1 of page 1       ──▶
//!                            ◀──      WriteReply
//! XCol col 2 of page 1       ──▶
//!                            ◀──      WriteReply                       ... per page
//! zero-length frame (end)    ──▶                                       (or an XCol with nrow 0)
//!                            ◀──      WriteReply: did the whole write succeed
//! ```
//! Columns come in `columndesc` order. Ending in the middle of a page is an error.
//! [`WriteClient`] sends a page's columns back to back and then reads their replies (a
//! page's worth of tiny replies always fits a socket buffer); the plugin side replies to
//! each column before it reads the next.
//!
//! A reply whose fields all hold their defaults encodes to the zero-length frame, so a
//! success `WriteReply` *is* a zero-length frame, and so is the end of a read; the machines
//! read a zero-length frame as whatever message they expect at that point.
//!
//! Operations other than `read` and `write` (`sample`, `size_meta`, anything else) are only
//! ever refused: `OpStatus{errcode<0, errmsg}`. The public Go plugins read one more frame
//! (the request) after refusing, so [`PluginConversation`] accepts and ignores one frame
//! after a refusal.

mod client;
mod plugin;

pub use client::{ReadClient, ReadEvent, WriteClient, WriteEvent};
pub use plugin::{PluginConversation, PluginEvent};

use crate::frame::FrameError;
use crate::message::{MessageError, OP_READ, OP_SAMPLE, OP_SIZE_META, OP_WRITE};
use crate::page::PageError;
use crate::schema::SchemaError;

/// The operation an `OpSpec` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    /// `read`.
    Read,
    /// `write`.
    Write,
    /// `sample` (only ever refused).
    Sample,
    /// `size_meta` (only ever refused).
    SizeMeta,
    /// Anything else, as sent.
    Other(String),
}

impl Op {
    /// The operation named `op` (exact, case-sensitive).
    pub fn parse(op: &str) -> Op {
        match op {
            OP_READ => Op::Read,
            OP_WRITE => Op::Write,
            OP_SAMPLE => Op::Sample,
            OP_SIZE_META => Op::SizeMeta,
            other => Op::Other(other.to_owned()),
        }
    }

    /// The name `OpSpec.op` carries.
    pub fn as_str(&self) -> &str {
        match self {
            Op::Read => OP_READ,
            Op::Write => OP_WRITE,
            Op::Sample => OP_SAMPLE,
            Op::SizeMeta => OP_SIZE_META,
            Op::Other(s) => s,
        }
    }
}

/// What a machine waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// A frame from the peer: call `receive`. Says which message.
    Receive(&'static str),
    /// The caller must send: says what.
    Send(&'static str),
    /// The conversation is over; close the link.
    Done,
}

/// Why a conversation cannot go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConversationError {
    /// A frame arrived when the machine expected none (it was the caller's turn to send, or
    /// the conversation was over).
    #[error("{side}: a frame arrived while {state}")]
    UnexpectedFrame {
        /// `"plugin side"`, `"read client"` or `"write client"`.
        side: &'static str,
        /// What the machine was doing.
        state: &'static str,
    },
    /// The caller asked the machine to send something it may not send now.
    #[error("{side}: cannot {action} while {state}")]
    WrongState {
        /// `"plugin side"`, `"read client"` or `"write client"`.
        side: &'static str,
        /// What the caller asked for.
        action: &'static str,
        /// What the machine was doing.
        state: &'static str,
    },
    /// A frame is not the message expected.
    #[error("{side}: bad {stage}")]
    Message {
        /// Which side.
        side: &'static str,
        /// What the frame should have been.
        stage: &'static str,
        /// The decoding error.
        #[source]
        source: MessageError,
    },
    /// A request's columns are not usable.
    #[error("{side}: the {op} request's columns are not usable")]
    Schema {
        /// Which side.
        side: &'static str,
        /// `"read"` or `"write"`.
        op: &'static str,
        /// What is wrong.
        #[source]
        source: SchemaError,
    },
    /// A page is invalid.
    #[error("{side}: page {page} of the {op} is invalid")]
    Page {
        /// Which side.
        side: &'static str,
        /// `"read"` or `"write"`.
        op: &'static str,
        /// Which page, from 0.
        page: u64,
        /// What is wrong.
        #[source]
        source: PageError,
    },
    /// The stream ended in the middle of a page.
    #[error(
        "{side}: the {op} ended in the middle of page {page}, after {received} of its {ncol} \
         columns"
    )]
    EndedMidPage {
        /// Which side.
        side: &'static str,
        /// `"read"` or `"write"`.
        op: &'static str,
        /// Which page, from 0.
        page: u64,
        /// Columns of the page that arrived.
        received: usize,
        /// Columns a page has.
        ncol: usize,
    },
    /// The peer replied with an error (a negative `errcode`, or any non-zero one).
    #[error("the plugin side refused the {op} at the {stage}: {errmsg} (errcode {errcode})")]
    Refused {
        /// `"read"` or `"write"`.
        op: &'static str,
        /// Which reply carried the error.
        stage: &'static str,
        /// `errcode` as sent.
        errcode: i32,
        /// `errmsg` as sent.
        errmsg: String,
    },
    /// The plugin side accepted a read without the XCol flag: it would send replies we do
    /// not speak.
    #[error(
        "read client: the plugin side accepted the read with OpStatus flag {flag}, without \
         the XCol bit (1); only column-page replies are supported"
    )]
    NotXcolMode {
        /// `OpStatus.flag` as sent.
        flag: i32,
    },
    /// A plugin-side caller tried to accept an operation that can only be refused.
    #[error("plugin side: operation \"{op}\" can only be refused")]
    CannotAccept {
        /// The operation.
        op: String,
    },
    /// A page handed to a send method does not match the conversation's columns.
    #[error("{side}: cannot send page {page}")]
    BadOutgoingPage {
        /// Which side.
        side: &'static str,
        /// Which page, from 0.
        page: u64,
        /// What is wrong.
        #[source]
        source: PageError,
    },
    /// A frame to send is too large.
    #[error("{side}: cannot send the {what}")]
    Frame {
        /// Which side.
        side: &'static str,
        /// What was being sent.
        what: &'static str,
        /// The framing error.
        #[source]
        source: FrameError,
    },
}

impl ConversationError {
    /// Whether the peer caused this: it replied with an error, or sent something the
    /// protocol does not allow. `false` means the caller misused the machine or a local
    /// limit was hit.
    pub fn is_from_peer(&self) -> bool {
        match self {
            // The clients check their own requests: a bad one is the caller's.
            ConversationError::Schema { side, .. } => *side == plugin::SIDE,
            ConversationError::UnexpectedFrame { .. }
            | ConversationError::Message { .. }
            | ConversationError::Page { .. }
            | ConversationError::EndedMidPage { .. }
            | ConversationError::Refused { .. }
            | ConversationError::NotXcolMode { .. } => true,
            ConversationError::WrongState { .. }
            | ConversationError::CannotAccept { .. }
            | ConversationError::BadOutgoingPage { .. }
            | ConversationError::Frame { .. } => false,
        }
    }
}

/// The `errcode` to send for an error: negative as the protocol wants (0 and positive
/// codes become -1).
fn negative(errcode: i32) -> i32 {
    if errcode < 0 { errcode } else { -1 }
}

#[cfg(test)]
mod tests;
