//! The client's errors.

use std::fmt;
use std::time::Duration;

use xdrive_proto::conversation::ConversationError;
use xdrive_proto::frame::FrameError;

use crate::errcode;

/// Where a client error happened: the xdrive address, and the request's mount and op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port` as given to the client.
    pub addr: String,
    /// The mountpoint (the request path's first segment).
    pub mount: String,
    /// `read` or `write`.
    pub op: &'static str,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "xdrive {}, mount {:?}, {}",
            self.addr, self.mount, self.op
        )
    }
}

/// Why a read or write through xdrive failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not even be built: its columns or projection are not usable.
    #[error("{target}: the request is not usable")]
    Request {
        /// Where.
        target: Box<Target>,
        /// What is wrong.
        #[source]
        source: ConversationError,
    },
    /// The TCP connection could not be made.
    #[error("{target}: cannot connect")]
    Connect {
        /// Where.
        target: Box<Target>,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TCP connection took too long.
    #[error("{target}: no connection within {after:?}")]
    ConnectTimeout {
        /// Where.
        target: Box<Target>,
        /// The timeout.
        after: Duration,
    },
    /// Reading or writing the connection failed.
    #[error("{target}: connection failed while {doing}")]
    Io {
        /// Where.
        target: Box<Target>,
        /// What the client was doing.
        doing: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// xdrive closed the connection before the conversation ended.
    #[error("{target}: xdrive closed the connection while the client waited for {expected}")]
    Closed {
        /// Where.
        target: Box<Target>,
        /// What was awaited.
        expected: &'static str,
    },
    /// A frame from xdrive is malformed.
    #[error("{target}: malformed frame from xdrive")]
    Frame {
        /// Where.
        target: Box<Target>,
        /// What is wrong.
        #[source]
        source: FrameError,
    },
    /// xdrive or the plugin answered with an error reply.
    #[error(
        "{target}: refused at the {stage}: {errmsg} (errcode {errcode}, {})",
        errcode::name(*.errcode)
    )]
    Refused {
        /// Where.
        target: Box<Target>,
        /// Which reply carried the error.
        stage: &'static str,
        /// The (negative) errcode; see [`crate::errcode`].
        errcode: i32,
        /// The message.
        errmsg: String,
    },
    /// The conversation broke the protocol (out-of-order frames, invalid pages, ...).
    #[error("{target}: protocol error")]
    Protocol {
        /// Where.
        target: Box<Target>,
        /// What went wrong.
        #[source]
        source: ConversationError,
    },
}

impl Error {
    /// Whether sending the same request again may succeed: connection problems, and the
    /// error replies [`errcode::is_retriable`] names (busy, plugin died, shutting down, a plugin temporarily unavailable).
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Connect { .. }
            | Error::ConnectTimeout { .. }
            | Error::Io { .. }
            | Error::Closed { .. } => true,
            Error::Refused { errcode, .. } => errcode::is_retriable(*errcode),
            Error::Request { .. } | Error::Frame { .. } | Error::Protocol { .. } => false,
        }
    }

    /// The errcode of an error reply.
    pub fn errcode(&self) -> Option<i32> {
        match self {
            Error::Refused { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// The message of an error reply.
    pub fn errmsg(&self) -> Option<&str> {
        match self {
            Error::Refused { errmsg, .. } => Some(errmsg),
            _ => None,
        }
    }

    /// Where the error happened.
    pub fn target(&self) -> &Target {
        match self {
            Error::Request { target, .. }
            | Error::Connect { target, .. }
            | Error::ConnectTimeout { target, .. }
            | Error::Io { target, .. }
            | Error::Closed { target, .. }
            | Error::Frame { target, .. }
            | Error::Refused { target, .. }
            | Error::Protocol { target, .. } => target,
        }
    }

    pub(crate) fn from_conversation(target: &Target, e: ConversationError) -> Error {
        match e {
            ConversationError::Refused {
                stage,
                errcode,
                errmsg,
                ..
            } => Error::Refused {
                target: Box::new(target.clone()),
                stage,
                errcode,
                errmsg,
            },
            source => Error::Protocol {
                target: Box::new(target.clone()),
                source,
            },
        }
    }
}
