//! Blocking frame I/O over the plugin link.

use std::io::{self, Read, Write};

use bytes::BytesMut;
use xdrive_proto::frame::{Frame, FrameCodec, FrameError};
use xdrive_proto::message::{MessageError, WireMessage};

/// How much the link reads at a time.
const READ_CHUNK: usize = 256 * 1024;
/// Outgoing bytes are written once this many are buffered (and at every flush).
const WRITE_HIGH_WATER: usize = 1024 * 1024;

/// Why the link failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Reading from or writing to xdrive failed.
    #[error("xdrive link I/O failed while {doing}")]
    Io {
        /// What the plugin was doing.
        doing: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// xdrive closed the link where a message was expected.
    #[error("xdrive closed the link while the plugin waited for {expected}")]
    Closed {
        /// The message expected.
        expected: &'static str,
    },
    /// A frame was malformed.
    #[error("malformed frame from xdrive")]
    Frame(#[from] FrameError),
    /// A frame was not the message expected.
    #[error("unexpected message from xdrive")]
    Message(#[from] MessageError),
}

impl LinkError {
    /// Whether the peer simply went away (no point in replying).
    pub fn is_peer_gone(&self) -> bool {
        match self {
            LinkError::Closed { .. } => true,
            LinkError::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

/// A framed, buffered, blocking link.
pub(crate) struct Link<S> {
    stream: S,
    codec: FrameCodec,
    inbuf: BytesMut,
    outbuf: BytesMut,
    eof: bool,
}

impl<S: Read + Write> Link<S> {
    pub(crate) fn new(stream: S) -> Self {
        Link {
            stream,
            codec: FrameCodec::default(),
            inbuf: BytesMut::with_capacity(READ_CHUNK),
            outbuf: BytesMut::with_capacity(64 * 1024),
            eof: false,
        }
    }

    /// The next frame, or `None` at a clean end of input (between frames).
    pub(crate) fn read_frame(&mut self) -> Result<Option<Frame>, LinkError> {
        loop {
            if let Some(frame) = self.codec.decode(&mut self.inbuf)? {
                return Ok(Some(frame));
            }
            if self.eof {
                return Ok(self.codec.decode_eof(&mut self.inbuf)?);
            }
            // Our replies must be out before we wait for the peer's next message.
            self.flush()?;
            if self.inbuf.capacity() - self.inbuf.len() < READ_CHUNK / 4 {
                self.inbuf.reserve(READ_CHUNK);
            }
            let len = self.inbuf.len();
            let cap = self.inbuf.capacity();
            self.inbuf.resize(cap, 0);
            let n = loop {
                match self.stream.read(&mut self.inbuf[len..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(source) => {
                        self.inbuf.truncate(len);
                        return Err(LinkError::Io {
                            doing: "reading a frame",
                            source,
                        });
                    }
                }
            };
            self.inbuf.truncate(len + n);
            if n == 0 {
                self.eof = true;
            }
        }
    }

    /// The next frame decoded as `M`; the end of input is [`LinkError::Closed`].
    pub(crate) fn read_message<M: WireMessage>(&mut self) -> Result<M, LinkError> {
        match self.read_frame()? {
            Some(frame) => Ok(xdrive_proto::message::decode(frame)?),
            None => Err(LinkError::Closed { expected: M::NAME }),
        }
    }

    /// Queues `msg` (written at the next flush, or once enough is queued).
    pub(crate) fn send<M: prost::Message>(&mut self, msg: &M) -> Result<(), LinkError> {
        self.codec.encode_message(msg, &mut self.outbuf)?;
        self.maybe_write()
    }

    /// Queues a frame carrying `payload` as is.
    pub(crate) fn send_payload(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        self.codec.encode(payload, &mut self.outbuf)?;
        self.maybe_write()
    }

    /// Queues whatever frames `encode` appends with the link's codec (it must append
    /// whole frames, or nothing).
    pub(crate) fn queue_with<T>(
        &mut self,
        encode: impl FnOnce(&FrameCodec, &mut BytesMut) -> T,
    ) -> Result<T, LinkError> {
        let t = encode(&self.codec, &mut self.outbuf);
        self.maybe_write()?;
        Ok(t)
    }

    /// Queues the zero-length frame.
    pub(crate) fn send_end(&mut self) -> Result<(), LinkError> {
        self.codec.encode_end(&mut self.outbuf);
        self.maybe_write()
    }

    fn maybe_write(&mut self) -> Result<(), LinkError> {
        if self.outbuf.len() >= WRITE_HIGH_WATER {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes everything queued.
    pub(crate) fn flush(&mut self) -> Result<(), LinkError> {
        if !self.outbuf.is_empty() {
            self.stream
                .write_all(&self.outbuf)
                .and_then(|()| self.stream.flush())
                .map_err(|source| LinkError::Io {
                    doing: "writing a reply",
                    source,
                })?;
            self.outbuf.clear();
        }
        Ok(())
    }
}
