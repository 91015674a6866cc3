//! The xdrive wire protocol, without I/O: frames, messages, SPQ types, column pages and the
//! conversation state machines. Everything works on byte buffers and values; the crates that
//! own sockets (the `xdrive` server and client, the plugin helper) drive it.
//!
//! **Status:** complete for `read` and `write` (all modules below are ready to build on);
//! `sample` and `size_meta` are only ever refused.
//!
//! # API
//!
//! - [`frame`] — the 8-byte header (`i32` LE magic `0x20aa30bb`, `i32` LE length) and the
//!   payload. [`frame::FrameCodec`] (`new(max_frame_len)`, default 64 MiB):
//!   `decode(&mut BytesMut) -> Result<Option<Frame>, FrameError>` (`None` = need more bytes),
//!   `decode_eof`, `encode(&[u8], &mut BytesMut)`, `encode_end`, `encode_message(&M, ..)`.
//!   [`frame::Frame`] is `Message(Bytes)` or `End` (the zero-length frame). Errors:
//!   [`frame::FrameError`].
//! - [`message`] — the prost structs of `xdrive.proto` (`OpSpec`, `OpStatus`, `ReadRequest`,
//!   `XColDataReply`, `XCol`, `WriteRequest`, `WriteReply`, `ColumnDesc`, `FileSpec`,
//!   `CsvSpec`, `Filter`, `SampleRequest`, `SizeMetaRequest`/`Reply`, `DataReply`,
//!   `WriteData`), the `OP_*` names, [`message::decode`]`::<M>(Frame)` with
//!   [`message::MessageError`], and [`message::encode_xcol_reply`] (a page column as a read
//!   reply, from a borrowed `XCol`). Page columns on the hot paths skip prost: see [`wire`].
//! - [`spq`] — [`spq::SpqType`] (codes, carriers, `from_pg_type("varchar(20)")`),
//!   [`spq::Carrier`], our epochs (2000-01-01, as PostgreSQL's binary COPY) and their
//!   conversions. BYTEA `0x8` in `bindata` is our extension.
//! - [`schema`] — [`schema::Schema`]: checked columns from `ColumnDesc`s, `project(columnlist)`.
//! - [`page`] — [`page::PageBuilder`] (push [`page::Value`]s row by row, bounded by
//!   [`page::PageLimits`]; `finish_into_frames(&codec, reply, &mut out)` encodes the page
//!   straight into frames, `finish() -> Vec<XCol>` builds prost structs),
//!   [`page::PageReader`] (a checked page: `from_wire(schema, Vec<WireXCol>)` without
//!   copying values, `new(schema, Vec<XCol>)`, or `from_columns` of
//!   [`page::PageColumn`]s checked one by one; lends [`page::ColumnView`]s: `get(row)`,
//!   `get_bytes(row)`), [`page::validate_xcol`], and the rules of a valid page. Errors:
//!   [`page::PageError`], naming column and row.
//! - [`wire`] — the hand-written protobuf of page columns: [`wire::WireXCol::decode`] and
//!   [`wire::decode_xcol_reply`] borrow the frame's payload (no allocation per value),
//!   accepting what prost accepts. Errors: [`wire::WireError`].
//! - [`conversation`] — the machines the caller drives:
//!   [`conversation::PluginConversation`] (the answering side: plugin, or xdrive toward the
//!   database), [`conversation::ReadClient`] and [`conversation::WriteClient`] (the asking
//!   side). Feed frames to `receive`, act on the event, send with the machine's methods
//!   (`send_page(&[XCol])`, or `send_builder(&mut PageBuilder)` to encode straight from a
//!   builder). Incoming pages are decoded with [`wire`], without copying values.
//!   Errors: [`conversation::ConversationError`].
//! - [`fragment`] — [`fragment::Fragment`]: which partitions a request's `frag_id` of
//!   `frag_cnt` owns (`p % frag_cnt == frag_id`, `frag_cnt` 0 counts as 1). Errors:
//!   [`fragment::BadFragment`].
//! - [`query`] — the `QUERY` filter: [`query::find`] in a request's filters,
//!   [`query::parse`] into ordered `key=value` pairs.
//!
//! # A plugin's read, in short
//!
//! ```
//! use bytes::BytesMut;
//! use xdrive_proto::conversation::{PluginConversation, PluginEvent, ReadClient, ReadEvent};
//! use xdrive_proto::frame::FrameCodec;
//! use xdrive_proto::message::{ColumnDesc, ReadRequest};
//! use xdrive_proto::page::{PageBuilder, PageLimits, Value};
//! use xdrive_proto::spq::SpqType;
//!
//! let request = ReadRequest {
//!     columndesc: vec![ColumnDesc { name: "n".into(), r#type: SpqType::Int64.code() }],
//!     ..ReadRequest::default()
//! };
//! let (mut client, mut plugin) = (ReadClient::new(request).unwrap(), PluginConversation::new());
//! let (mut to_plugin, mut to_client) = (BytesMut::new(), BytesMut::new());
//! let (mut plugin_codec, mut client_codec) = (FrameCodec::default(), FrameCodec::default());
//!
//! client.start(&mut to_plugin).unwrap();
//! let frame = plugin_codec.decode(&mut to_plugin).unwrap().unwrap();
//! plugin.receive(frame).unwrap(); // PluginEvent::Op(Op::Read)
//! plugin.accept(&mut to_client).unwrap();
//! let frame = client_codec.decode(&mut to_client).unwrap().unwrap();
//! assert_eq!(client.receive(frame).unwrap(), ReadEvent::Accepted);
//! client.send_request(&mut to_plugin).unwrap();
//! let frame = plugin_codec.decode(&mut to_plugin).unwrap().unwrap();
//! let PluginEvent::ReadRequest { columns, .. } = plugin.receive(frame).unwrap() else { panic!() };
//!
//! let mut page = PageBuilder::new(columns, PageLimits::default());
//! page.push(Value::Int64(42)).unwrap();
//! page.end_row().unwrap();
//! plugin.send_builder(&mut page, &mut to_client).unwrap();
//! plugin.end_read(&mut to_client).unwrap();
//!
//! let frame = client_codec.decode(&mut to_client).unwrap().unwrap();
//! let ReadEvent::Page(p) = client.receive(frame).unwrap() else { panic!() };
//! assert_eq!(p.column(0).get(0), Some(Value::Int64(42)));
//! let frame = client_codec.decode(&mut to_client).unwrap().unwrap();
//! assert_eq!(client.receive(frame).unwrap(), ReadEvent::End);
//! ```

pub mod conversation;
pub mod fragment;
pub mod frame;
pub mod message;
pub mod page;
pub mod query;
pub mod schema;
pub mod spq;
pub mod wire;

#[cfg(test)]
mod testing;
