//! The xdrive wire protocol, without I/O.
//!
//! **Status (work in progress):** [`frame`] (framing) and [`message`] (the prost messages and
//! the frame helpers) are ready to build on. SPQ types, column pages and the conversation
//! state machines are being written next; their API will be listed here.
//!
//! - [`frame`]: [`frame::FrameCodec`] `decode(&mut BytesMut) -> Result<Option<Frame>, FrameError>`,
//!   `decode_eof`, `encode(&[u8], &mut BytesMut)`, `encode_end`, `encode_message(&M, &mut BytesMut)`;
//!   [`frame::Frame`] is `Message(Bytes)` or `End` (the zero-length frame).
//! - [`message`]: every message of `xdrive.proto` the read/write/sample/size_meta operations
//!   use, and [`message::decode`]`::<M>(Frame)` with a typed [`message::MessageError`].

pub mod frame;
pub mod message;
