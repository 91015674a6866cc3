//! Framing: how messages are delimited on an xdrive link.
//!
//! Every message is an 8-byte header — the magic [`MAGIC`] as an `i32` in little-endian
//! order, then the payload length as an `i32` in little-endian order — followed by that many
//! bytes of protobuf. A header with length 0 is legal: [`Frame::End`]. It ends a stream (the
//! last reply of a read, the last page of a write), and it is also what a message whose fields
//! all hold their defaults encodes to (for example `WriteReply { errcode: 0, errmsg: "" }`),
//! so the conversation decides which it means; see [`crate::conversation`].
//!
//! The public xdrive2 definitions give this framing for the xdrive↔plugin link. The
//! database/client↔xdrive framing is not public: we use the same framing there too (our
//! choice).
//!
//! A length prefix is never trusted: [`FrameCodec`] refuses a negative length, and a length
//! above its maximum ([`DEFAULT_MAX_FRAME_LEN`] unless configured), before it reserves any
//! memory; encoding checks the same maximum, so a peer with the same limit accepts what we
//! send.
//!
//! ```
//! use bytes::BytesMut;
//! use xdrive_proto::frame::{Frame, FrameCodec};
//!
//! let mut codec = FrameCodec::default();
//! let mut wire = BytesMut::new();
//! codec.encode(b"\x0a\x04read", &mut wire).unwrap();
//! codec.encode_end(&mut wire);
//!
//! let mut half = wire.split_to(5);
//! assert_eq!(codec.decode(&mut half).unwrap(), None); // need more bytes
//! half.unsplit(wire);
//! let first = codec.decode(&mut half).unwrap().unwrap();
//! assert_eq!(first.payload(), b"\x0a\x04read");
//! assert_eq!(codec.decode(&mut half).unwrap(), Some(Frame::End));
//! assert_eq!(codec.decode_eof(&mut half).unwrap(), None); // clean end of input
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The magic number that starts every frame header.
pub const MAGIC: i32 = 0x20aa_30bb;

/// The length of a frame header in bytes: magic and payload length, each an `i32`.
pub const HEADER_LEN: usize = 8;

/// The maximum payload length a [`FrameCodec`] accepts unless configured otherwise: 64 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// One frame taken off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A frame with a non-empty payload: the protobuf bytes of one message.
    Message(Bytes),
    /// A zero-length frame (header only): end of stream, or a message whose fields all hold
    /// their defaults.
    End,
}

impl Frame {
    /// The payload bytes; empty for [`Frame::End`].
    pub fn payload(&self) -> &[u8] {
        match self {
            Frame::Message(bytes) => bytes,
            Frame::End => &[],
        }
    }

    /// The payload as [`Bytes`] (cheap: no copy); empty for [`Frame::End`].
    pub fn into_payload(self) -> Bytes {
        match self {
            Frame::Message(bytes) => bytes,
            Frame::End => Bytes::new(),
        }
    }

    /// Whether this is the zero-length frame.
    pub fn is_end(&self) -> bool {
        matches!(self, Frame::End)
    }

    /// A frame for `payload`: [`Frame::End`] when it is empty.
    pub fn from_payload(payload: Bytes) -> Frame {
        if payload.is_empty() {
            Frame::End
        } else {
            Frame::Message(payload)
        }
    }
}

/// Why a frame could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The header does not start with [`MAGIC`]: the peer does not speak xdrive, or the
    /// stream lost its place.
    #[error(
        "frame header at stream byte {offset} has magic 0x{found:08x}, expected 0x{:08x}",
        MAGIC
    )]
    BadMagic {
        /// The 32 bits found where the magic belongs.
        found: u32,
        /// Where the header starts, counted from the first byte this codec decoded.
        offset: u64,
    },
    /// The header's length field is negative.
    #[error("frame header at stream byte {offset} has a negative payload length ({len})")]
    NegativeLength {
        /// The length field as sent.
        len: i32,
        /// Where the header starts.
        offset: u64,
    },
    /// The header announces a payload larger than this codec's maximum.
    #[error(
        "frame header at stream byte {offset} announces a {len}-byte payload, more than the \
         maximum of {max} bytes"
    )]
    IncomingTooLarge {
        /// The announced payload length.
        len: usize,
        /// The configured maximum.
        max: usize,
        /// Where the header starts.
        offset: u64,
    },
    /// A payload to send is larger than this codec's maximum (or than `i32::MAX`).
    #[error("cannot send a {len}-byte frame payload: the maximum is {max} bytes")]
    OutgoingTooLarge {
        /// The payload length.
        len: usize,
        /// The effective maximum.
        max: usize,
    },
    /// The input ended inside a frame.
    #[error(
        "input ended inside the frame at stream byte {offset}: {have} of {need} bytes \
         (header included) arrived"
    )]
    Truncated {
        /// Bytes of the frame that arrived.
        have: usize,
        /// Bytes the frame needs, header included (at least [`HEADER_LEN`]).
        need: usize,
        /// Where the frame starts.
        offset: u64,
    },
}

/// Decodes and encodes frames, with a maximum payload length.
///
/// The codec counts the bytes it has decoded so its errors can say where in the stream they
/// happened; use one codec per direction of a link (or per link, as the decoder and encoder
/// share nothing but the limit).
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_frame_len: usize,
    decoded_bytes: u64,
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl FrameCodec {
    /// A codec that accepts and sends payloads of at most `max_frame_len` bytes (further
    /// capped at `i32::MAX`, the largest length the header can carry).
    pub fn new(max_frame_len: usize) -> Self {
        let cap = usize::try_from(i32::MAX).unwrap_or(usize::MAX);
        FrameCodec {
            max_frame_len: max_frame_len.min(cap),
            decoded_bytes: 0,
        }
    }

    /// The maximum payload length.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// How many bytes this codec has decoded (headers included): the stream offset of the
    /// next frame.
    pub fn decoded_bytes(&self) -> u64 {
        self.decoded_bytes
    }

    /// Takes one frame off the front of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` does not yet hold a whole frame; then `buf` is left as
    /// it was, except that its capacity may grow to fit the announced frame (only after the
    /// header passed its checks). After an error the stream has lost its place: close it.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let Some(len) = self.peek_len(buf)? else {
            return Ok(None);
        };
        // Cannot overflow: len <= i32::MAX.
        let total = HEADER_LEN + len;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        buf.advance(HEADER_LEN);
        let payload = buf.split_to(len).freeze();
        self.decoded_bytes = self
            .decoded_bytes
            .saturating_add(u64::try_from(total).unwrap_or(u64::MAX));
        Ok(Some(Frame::from_payload(payload)))
    }

    /// Checks the header at the front of `buf`, if it is all there, and returns the payload
    /// length it announces.
    fn peek_len(&self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        let Some(header) = buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let offset = self.decoded_bytes;
        let magic = [header[0], header[1], header[2], header[3]];
        if i32::from_le_bytes(magic) != MAGIC {
            return Err(FrameError::BadMagic {
                found: u32::from_le_bytes(magic),
                offset,
            });
        }
        let len = i32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let len = usize::try_from(len).map_err(|_| FrameError::NegativeLength { len, offset })?;
        if len > self.max_frame_len {
            return Err(FrameError::IncomingTooLarge {
                len,
                max: self.max_frame_len,
                offset,
            });
        }
        Ok(Some(len))
    }

    /// Like [`decode`](Self::decode), for when no more input will come: a partial frame left
    /// in `buf` is a [`FrameError::Truncated`] rather than `Ok(None)`. `Ok(None)` means `buf`
    /// was empty: the stream ended between frames.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if buf.is_empty() => Ok(None),
            None => {
                // decode() checked the header, if it is all there.
                let need = HEADER_LEN + self.peek_len(buf)?.unwrap_or(0);
                Err(FrameError::Truncated {
                    have: buf.len(),
                    need,
                    offset: self.decoded_bytes,
                })
            }
        }
    }

    /// Appends a frame carrying `payload` to `buf` (an empty payload makes [`Frame::End`]).
    pub fn encode(&self, payload: &[u8], buf: &mut BytesMut) -> Result<(), FrameError> {
        let len = self.check_outgoing(payload.len())?;
        buf.reserve(HEADER_LEN + payload.len());
        put_header(buf, len);
        buf.put_slice(payload);
        Ok(())
    }

    /// Appends `frame` to `buf`.
    pub fn encode_frame(&self, frame: &Frame, buf: &mut BytesMut) -> Result<(), FrameError> {
        self.encode(frame.payload(), buf)
    }

    /// Appends the zero-length frame ([`Frame::End`]) to `buf`.
    pub fn encode_end(&self, buf: &mut BytesMut) {
        buf.reserve(HEADER_LEN);
        put_header(buf, 0);
    }

    /// Appends a frame carrying `msg` to `buf`, encoding it in place (no intermediate
    /// buffer). The length is checked before anything is written.
    pub fn encode_message<M: prost::Message>(
        &self,
        msg: &M,
        buf: &mut BytesMut,
    ) -> Result<(), FrameError> {
        self.encode_with(msg.encoded_len(), buf, |buf| msg.encode_raw(buf))
    }

    /// Appends a frame of `payload_len` bytes that `write` puts into `buf` (it must put
    /// exactly that many). The length is checked before anything is written.
    pub fn encode_with(
        &self,
        payload_len: usize,
        buf: &mut BytesMut,
        write: impl FnOnce(&mut BytesMut),
    ) -> Result<(), FrameError> {
        let len = self.check_outgoing(payload_len)?;
        buf.reserve(HEADER_LEN + payload_len);
        put_header(buf, len);
        let before = buf.len();
        write(buf);
        debug_assert_eq!(buf.len() - before, payload_len);
        Ok(())
    }

    /// Checks an outgoing payload length against the maximum; returns it as the header's
    /// `i32`.
    fn check_outgoing(&self, len: usize) -> Result<i32, FrameError> {
        if len > self.max_frame_len {
            return Err(FrameError::OutgoingTooLarge {
                len,
                max: self.max_frame_len,
            });
        }
        i32::try_from(len).map_err(|_| FrameError::OutgoingTooLarge {
            len,
            max: self.max_frame_len,
        })
    }
}

fn put_header(buf: &mut BytesMut, len: i32) {
    buf.put_i32_le(MAGIC);
    buf.put_i32_le(len);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(magic: i32, len: i32) -> Vec<u8> {
        let mut v = magic.to_le_bytes().to_vec();
        v.extend_from_slice(&len.to_le_bytes());
        v
    }

    fn wire_of(payloads: &[&[u8]]) -> Vec<u8> {
        let codec = FrameCodec::default();
        let mut buf = BytesMut::new();
        for p in payloads {
            codec.encode(p, &mut buf).unwrap();
        }
        buf.to_vec()
    }

    fn decode_all(codec: &mut FrameCodec, buf: &mut BytesMut) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(frame) = codec.decode(buf).unwrap() {
            out.push(frame);
        }
        out
    }

    #[test]
    fn header_bytes_are_little_endian() {
        let wire = wire_of(&[b"abc"]);
        assert_eq!(wire, [0xbb, 0x30, 0xaa, 0x20, 3, 0, 0, 0, b'a', b'b', b'c']);
    }

    #[test]
    fn end_frame_is_header_only() {
        let codec = FrameCodec::default();
        let mut a = BytesMut::new();
        codec.encode_end(&mut a);
        let mut b = BytesMut::new();
        codec.encode(b"", &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_ref(), header(MAGIC, 0).as_slice());
        let mut codec = FrameCodec::default();
        assert_eq!(codec.decode(&mut a).unwrap(), Some(Frame::End));
        assert!(a.is_empty());
    }

    #[test]
    fn split_at_every_byte_boundary() {
        let payloads: [&[u8]; 4] = [b"hello", b"", b"x", &[7u8; 300]];
        let wire = wire_of(&payloads);
        let expected: Vec<Frame> = payloads
            .iter()
            .map(|p| Frame::from_payload(Bytes::copy_from_slice(p)))
            .collect();
        for cut in 0..=wire.len() {
            let mut codec = FrameCodec::default();
            let mut buf = BytesMut::from(&wire[..cut]);
            let mut got = decode_all(&mut codec, &mut buf);
            buf.extend_from_slice(&wire[cut..]);
            got.extend(decode_all(&mut codec, &mut buf));
            assert_eq!(got, expected, "cut at {cut}");
            assert!(buf.is_empty());
            assert_eq!(codec.decoded_bytes(), wire.len() as u64);
        }
    }

    #[test]
    fn byte_at_a_time() {
        let payloads: [&[u8]; 3] = [b"a", b"", b"bcdef"];
        let wire = wire_of(&payloads);
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in wire {
            buf.put_u8(b);
            if let Some(f) = codec.decode(&mut buf).unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], Frame::End);
        assert_eq!(got[2].payload(), b"bcdef");
    }

    #[test]
    fn bad_magic_names_offset() {
        let mut wire = wire_of(&[b"ok"]);
        wire.extend(header(0x1234_5678, 0));
        let mut buf = BytesMut::from(&wire[..]);
        let mut codec = FrameCodec::default();
        assert!(codec.decode(&mut buf).unwrap().is_some());
        let err = codec.decode(&mut buf).unwrap_err();
        assert_eq!(
            err,
            FrameError::BadMagic {
                found: 0x1234_5678,
                offset: 10
            }
        );
        assert_eq!(
            err.to_string(),
            "frame header at stream byte 10 has magic 0x12345678, expected 0x20aa30bb"
        );
    }

    #[test]
    fn negative_length_is_an_error() {
        for len in [-1, i32::MIN] {
            let mut buf = BytesMut::from(&header(MAGIC, len)[..]);
            let err = FrameCodec::default().decode(&mut buf).unwrap_err();
            assert_eq!(err, FrameError::NegativeLength { len, offset: 0 });
        }
    }

    #[test]
    fn oversize_is_refused_before_allocating() {
        let mut codec = FrameCodec::new(16);
        let mut buf = BytesMut::from(&header(MAGIC, 17)[..]);
        let cap = buf.capacity();
        let err = codec.decode(&mut buf).unwrap_err();
        assert_eq!(
            err,
            FrameError::IncomingTooLarge {
                len: 17,
                max: 16,
                offset: 0
            }
        );
        assert_eq!(buf.capacity(), cap);

        let mut buf = BytesMut::from(&header(MAGIC, i32::MAX)[..]);
        assert!(matches!(
            FrameCodec::default().decode(&mut buf),
            Err(FrameError::IncomingTooLarge { .. })
        ));

        // Exactly the maximum is fine.
        let mut codec = FrameCodec::new(16);
        let mut buf = BytesMut::new();
        codec.encode(&[1; 16], &mut buf).unwrap();
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap().payload(), &[1; 16]);
    }

    #[test]
    fn oversize_is_refused_on_encode() {
        let codec = FrameCodec::new(4);
        let mut buf = BytesMut::new();
        let err = codec.encode(b"12345", &mut buf).unwrap_err();
        assert_eq!(err, FrameError::OutgoingTooLarge { len: 5, max: 4 });
        assert!(buf.is_empty());
        let msg = crate::message::OpSpec { op: "read".into() };
        assert!(codec.encode_message(&msg, &mut buf).is_err());
        assert!(buf.is_empty());
    }

    #[test]
    fn max_is_capped_at_i32_max() {
        assert_eq!(
            FrameCodec::new(usize::MAX).max_frame_len(),
            i32::MAX as usize
        );
    }

    #[test]
    fn truncated_input_at_eof() {
        let wire = wire_of(&[b"hello"]);
        for cut in 1..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            let err = FrameCodec::default().decode_eof(&mut buf).unwrap_err();
            let need = if cut < HEADER_LEN { HEADER_LEN } else { 13 };
            assert_eq!(
                err,
                FrameError::Truncated {
                    have: cut,
                    need,
                    offset: 0
                },
                "cut at {cut}"
            );
        }
        let mut empty = BytesMut::new();
        assert_eq!(FrameCodec::default().decode_eof(&mut empty).unwrap(), None);
    }

    #[test]
    fn encode_message_matches_encode_of_bytes() {
        let msg = crate::message::OpStatus {
            errcode: -3,
            errmsg: "no".into(),
            flag: 1,
        };
        let codec = FrameCodec::default();
        let mut a = BytesMut::new();
        codec.encode_message(&msg, &mut a).unwrap();
        let mut b = BytesMut::new();
        codec
            .encode(&prost::Message::encode_to_vec(&msg), &mut b)
            .unwrap();
        assert_eq!(a, b);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;
    use crate::testing;

    proptest! {
        #![proptest_config(testing::config(256))]

        #[test]
        fn frames_survive_any_chunking(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..6),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let codec = FrameCodec::default();
            let mut wire = BytesMut::new();
            for p in &payloads {
                codec.encode(p, &mut wire).unwrap();
            }
            let wire = wire.freeze();
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            cuts.push(wire.len());
            cuts.sort_unstable();
            let mut decoder = FrameCodec::default();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut at = 0;
            for cut in cuts {
                buf.extend_from_slice(&wire[at..cut]);
                at = cut;
                while let Some(f) = decoder.decode(&mut buf).unwrap() {
                    got.push(f.payload().to_vec());
                }
            }
            prop_assert_eq!(got, payloads);
            prop_assert_eq!(decoder.decode_eof(&mut buf).unwrap(), None);
        }

        #[test]
        fn decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64), max in 0..32usize) {
            let mut codec = FrameCodec::new(max);
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(frame)) = codec.decode(&mut buf) {
                prop_assert!(frame.payload().len() <= max);
            }
        }
    }
}
