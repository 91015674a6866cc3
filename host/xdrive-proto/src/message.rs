//! The xdrive messages, as prost structs with the names and field numbers of the public
//! `xdrive.proto` (vitesse-ftian/dggo, HEAD), and the helpers that put them in frames.
//!
//! Names follow prost's conventions (`CSVSpec` becomes [`CsvSpec`], `type` becomes
//! `r#type`); field numbers and wire types are the proto's. Only the messages of the
//! `read`, `write`, `sample` and `size_meta` operations are here: the proto's `XRowSet`,
//! `XMsg`, `StringList`, `KeyValue`, `KeyValueList` and `PathSpec` are used by none of them
//! and are left out.
//!
//! Repeated numbers are sent packed (proto3's default) and accepted packed or not.
//! `bytes` fields are [`Bytes`], so a message decoded from a frame's payload shares its
//! memory instead of copying.
//!
//! ```
//! use bytes::BytesMut;
//! use xdrive_proto::frame::FrameCodec;
//! use xdrive_proto::message::{self, OpSpec};
//!
//! let mut codec = FrameCodec::default();
//! let mut wire = BytesMut::new();
//! codec.encode_message(&OpSpec::new(message::OP_READ), &mut wire).unwrap();
//! let frame = codec.decode(&mut wire).unwrap().unwrap();
//! let op: OpSpec = message::decode(frame).unwrap();
//! assert_eq!(op.op, "read");
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::{Frame, FrameCodec, FrameError};

/// `OpSpec.op` of a read.
pub const OP_READ: &str = "read";
/// `OpSpec.op` of a write.
pub const OP_WRITE: &str = "write";
/// `OpSpec.op` of a sample (our plugins do not serve it).
pub const OP_SAMPLE: &str = "sample";
/// `OpSpec.op` of a size estimate (our plugins do not serve it).
pub const OP_SIZE_META: &str = "size_meta";

/// `OpStatus.flag` bit meaning that read replies are [`XColDataReply`] column pages (the only
/// mode we speak).
pub const OPSTATUS_FLAG_XCOL: i32 = 1;

/// `Filter.op` of the filter `dg_utils.xdrive_query($$...$$)` becomes; see
/// [`crate::query`].
pub const FILTER_OP_QUERY: &str = "QUERY";

/// A message that can travel in a frame, with its name for error messages.
pub trait WireMessage: prost::Message + Default {
    /// The message's name in `xdrive.proto`.
    const NAME: &'static str;
}

/// Why a frame's payload is not the message expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The payload is not valid protobuf for the message.
    #[error("cannot decode a {len}-byte frame payload as an xdrive {message}")]
    Decode {
        /// The message expected.
        message: &'static str,
        /// The payload length.
        len: usize,
        /// What prost found wrong.
        #[source]
        source: prost::DecodeError,
    },
    /// The payload is not a valid `XCol` or `XColDataReply` (found by the borrowing
    /// decoder of [`crate::wire`]).
    #[error("cannot decode a {len}-byte frame payload as an xdrive {message}")]
    Wire {
        /// The message expected.
        message: &'static str,
        /// The payload length.
        len: usize,
        /// What is wrong.
        #[source]
        source: crate::wire::WireError,
    },
}

/// Decodes `frame` as an `M`. A zero-length frame decodes to `M::default()`, as protobuf
/// does; whether that means "end of stream" is for the conversation to say.
pub fn decode<M: WireMessage>(frame: Frame) -> Result<M, MessageError> {
    decode_payload(frame.into_payload())
}

/// Decodes a frame payload as an `M` (zero-copy for its `bytes` fields).
pub fn decode_payload<M: WireMessage>(payload: Bytes) -> Result<M, MessageError> {
    let len = payload.len();
    M::decode(payload).map_err(|source| MessageError::Decode {
        message: M::NAME,
        len,
        source,
    })
}

/// Appends a frame carrying `XColDataReply { errcode: 0, errmsg: "", data: Some(xcol) }`
/// to `buf`, encoding from a borrowed `xcol` (the same bytes as
/// `codec.encode_message(&XColDataReply::page(xcol.clone()), buf)`, without the clone).
pub fn encode_xcol_reply(
    codec: &FrameCodec,
    xcol: &XCol,
    buf: &mut BytesMut,
) -> Result<(), FrameError> {
    use prost::Message;
    use prost::encoding::{encode_varint, encoded_len_varint};
    const DATA_KEY: u8 = (3 << 3) | 2; // field 3, length-delimited
    let inner = xcol.encoded_len();
    let payload_len = 1 + encoded_len_varint(inner as u64) + inner;
    codec.encode_with(payload_len, buf, |buf| {
        buf.put_u8(DATA_KEY);
        encode_varint(inner as u64, buf);
        xcol.encode_raw(buf);
    })
}

macro_rules! wire_message {
    ($($ty:ident = $name:literal),* $(,)?) => {
        $(impl WireMessage for $ty {
            const NAME: &'static str = $name;
        })*
    };
}

wire_message! {
    ColumnDesc = "ColumnDesc",
    Filter = "Filter",
    CsvSpec = "CSVSpec",
    FileSpec = "FileSpec",
    OpSpec = "OpSpec",
    OpStatus = "OpStatus",
    XCol = "XCol",
    ReadRequest = "ReadRequest",
    SampleRequest = "SampleRequest",
    DataReply = "DataReply",
    XColDataReply = "XColDataReply",
    SizeMetaRequest = "SizeMetaRequest",
    SizeMetaReply = "SizeMetaReply",
    WriteRequest = "WriteRequest",
    WriteData = "WriteData",
    WriteReply = "WriteReply",
}

/// A column of the table: its name and SPQ type code (see [`crate::spq::SpqType`]).
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct ColumnDesc {
    /// Column name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// SPQ type code.
    #[prost(int32, tag = "2")]
    pub r#type: i32,
}

/// A predicate the database pushes down; a plugin may apply it or ignore it, except the
/// `QUERY` filter ([`FILTER_OP_QUERY`]), which carries `dg_utils.xdrive_query`'s string.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct Filter {
    /// Operator, e.g. `"QUERY"`.
    #[prost(string, tag = "1")]
    pub op: String,
    /// Column the filter applies to, if any.
    #[prost(string, tag = "2")]
    pub column: String,
    /// Operands.
    #[prost(string, repeated, tag = "3")]
    pub args: Vec<String>,
}

/// CSV options of a mount (`CSVSpec` in the proto).
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct CsvSpec {
    /// Field delimiter.
    #[prost(string, tag = "1")]
    pub delimiter: String,
    /// The string that means NULL.
    #[prost(string, tag = "2")]
    pub nullstr: String,
    /// Whether the first line is a header.
    #[prost(bool, tag = "3")]
    pub header: bool,
    /// Quote character.
    #[prost(string, tag = "4")]
    pub quote: String,
    /// Escape character.
    #[prost(string, tag = "5")]
    pub escape: String,
}

/// What to read or write: a path under the mount and a format.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct FileSpec {
    /// Path, starting with the mount name (e.g. `/kafka/topic`).
    #[prost(string, tag = "1")]
    pub path: String,
    /// Format: `"csv"`, `"spq"`, ...
    #[prost(string, tag = "2")]
    pub format: String,
    /// CSV options, for the `csv` format.
    #[prost(message, optional, tag = "3")]
    pub csvspec: Option<CsvSpec>,
}

/// The first message of every conversation: which operation.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct OpSpec {
    /// [`OP_READ`], [`OP_WRITE`], [`OP_SAMPLE`] or [`OP_SIZE_META`].
    #[prost(string, tag = "1")]
    pub op: String,
}

impl OpSpec {
    /// An `OpSpec` for `op`.
    pub fn new(op: impl Into<String>) -> Self {
        OpSpec { op: op.into() }
    }
}

/// The answer to [`OpSpec`]: accepted (`errcode` 0) or not (`errcode` < 0).
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct OpStatus {
    /// 0 for success, negative for an error.
    #[prost(int32, tag = "1")]
    pub errcode: i32,
    /// What went wrong, when `errcode` is not 0.
    #[prost(string, tag = "2")]
    pub errmsg: String,
    /// [`OPSTATUS_FLAG_XCOL`] when read replies are column pages.
    #[prost(int32, tag = "3")]
    pub flag: i32,
}

/// One column of a page: `nrow` values in the carrier array its SPQ type uses, with
/// `nullmap[i]` true (and a placeholder in the carrier) where row `i` is NULL. See
/// [`crate::page`] for the exact rules we check.
#[derive(Clone, PartialEq, prost::Message)]
pub struct XCol {
    /// Column name.
    #[prost(string, tag = "1")]
    pub colname: String,
    /// Rows in this page.
    #[prost(int32, tag = "2")]
    pub nrow: i32,
    /// Per row: whether it is NULL.
    #[prost(bool, repeated, tag = "3")]
    pub nullmap: Vec<bool>,
    /// Carrier of CSTR, JSON and NUMERIC.
    #[prost(string, repeated, tag = "4")]
    pub sdata: Vec<String>,
    /// Carrier of BOOL, INT16, INT32 and DATE.
    #[prost(int32, repeated, tag = "5")]
    pub i32data: Vec<i32>,
    /// Carrier of INT64, TIME_MICROS, TIMESTAMP_MICROS and TIMESTAMPTZ_MICROS.
    #[prost(int64, repeated, tag = "6")]
    pub i64data: Vec<i64>,
    /// Carrier of FLOAT.
    #[prost(float, repeated, tag = "7")]
    pub f32data: Vec<f32>,
    /// Carrier of DOUBLE.
    #[prost(double, repeated, tag = "8")]
    pub f64data: Vec<f64>,
    /// Carrier of BYTEA (our extension, type code 0x8).
    #[prost(bytes = "bytes", repeated, tag = "9")]
    pub bindata: Vec<Bytes>,
}

/// The request of a read.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct ReadRequest {
    /// What to read.
    #[prost(message, optional, tag = "1")]
    pub filespec: Option<FileSpec>,
    /// The table's columns.
    #[prost(message, repeated, tag = "2")]
    pub columndesc: Vec<ColumnDesc>,
    /// The columns to send, in this order; empty means all of `columndesc`.
    #[prost(string, repeated, tag = "3")]
    pub columnlist: Vec<String>,
    /// Pushed-down predicates, including the `QUERY` filter.
    #[prost(message, repeated, tag = "4")]
    pub filter: Vec<Filter>,
    /// This reader's fragment, `0..frag_cnt`.
    #[prost(int32, tag = "5")]
    pub frag_id: i32,
    /// The number of fragments (0 counts as 1).
    #[prost(int32, tag = "6")]
    pub frag_cnt: i32,
    /// Timestamp of the request.
    #[prost(int64, tag = "7")]
    pub ts: i64,
    /// Query bytes (unused by our plugins).
    #[prost(bytes = "bytes", tag = "8")]
    pub query: Bytes,
    /// Size of `bloom` (unused by our plugins).
    #[prost(int32, tag = "9")]
    pub bloomsz: i32,
    /// Bloom filter (unused by our plugins).
    #[prost(bytes = "bytes", tag = "10")]
    pub bloom: Bytes,
}

/// The request of a sample (not served by our plugins).
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct SampleRequest {
    /// What to sample.
    #[prost(message, optional, tag = "1")]
    pub filespec: Option<FileSpec>,
    /// The table's columns.
    #[prost(message, repeated, tag = "2")]
    pub columndesc: Vec<ColumnDesc>,
    /// This reader's fragment.
    #[prost(int32, tag = "3")]
    pub frag_id: i32,
    /// The number of fragments.
    #[prost(int32, tag = "4")]
    pub frag_cnt: i32,
    /// Sample size in rows.
    #[prost(int32, tag = "5")]
    pub nrow: i32,
}

/// A read reply carrying opaque bytes (the older, non-XCol read mode). Its `errcode` and
/// `errmsg` share numbers with [`XColDataReply`]'s, so an error sent as a `DataReply` reads
/// as an `XColDataReply` error.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct DataReply {
    /// 0 for success, negative for an error.
    #[prost(int32, tag = "1")]
    pub errcode: i32,
    /// What went wrong.
    #[prost(string, tag = "2")]
    pub errmsg: String,
    /// Data.
    #[prost(bytes = "bytes", tag = "3")]
    pub data: Bytes,
}

/// A read reply: one column of one page, or an error (`errcode` < 0), or — with no data and
/// `errcode` 0, which encodes to the zero-length frame — the end of the read.
#[derive(Clone, PartialEq, prost::Message)]
pub struct XColDataReply {
    /// 0 for success, negative for an error.
    #[prost(int32, tag = "1")]
    pub errcode: i32,
    /// What went wrong.
    #[prost(string, tag = "2")]
    pub errmsg: String,
    /// The column page.
    #[prost(message, optional, tag = "3")]
    pub data: Option<XCol>,
}

/// The request of a size estimate (not served by our plugins).
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct SizeMetaRequest {
    /// What to measure.
    #[prost(message, optional, tag = "1")]
    pub filespec: Option<FileSpec>,
    /// The table's columns.
    #[prost(message, repeated, tag = "2")]
    pub columndesc: Vec<ColumnDesc>,
    /// This reader's fragment.
    #[prost(int32, tag = "3")]
    pub frag_id: i32,
    /// The number of fragments.
    #[prost(int32, tag = "4")]
    pub frag_cnt: i32,
}

/// The reply to [`SizeMetaRequest`].
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct SizeMetaReply {
    /// 0 for success, negative for an error.
    #[prost(int32, tag = "1")]
    pub errcode: i32,
    /// What went wrong.
    #[prost(string, tag = "2")]
    pub errmsg: String,
    /// Estimated rows.
    #[prost(int64, tag = "3")]
    pub nrow: i64,
    /// Estimated bytes.
    #[prost(int64, tag = "4")]
    pub nbyte: i64,
}

/// The request of a write.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct WriteRequest {
    /// Where to write.
    #[prost(message, optional, tag = "1")]
    pub filespec: Option<FileSpec>,
    /// The columns every page carries, in this order.
    #[prost(message, repeated, tag = "2")]
    pub columndesc: Vec<ColumnDesc>,
    /// This writer's fragment.
    #[prost(int32, tag = "3")]
    pub frag_id: i32,
    /// The number of fragments.
    #[prost(int32, tag = "4")]
    pub frag_cnt: i32,
    /// Timestamp of the request.
    #[prost(int64, tag = "5")]
    pub ts: i64,
}

/// Opaque write data (the older, non-XCol write mode; we send bare [`XCol`]s instead).
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct WriteData {
    /// Data.
    #[prost(bytes = "bytes", tag = "1")]
    pub data: Bytes,
}

/// The answer to a [`WriteRequest`] and to every page of a write. A success
/// (`errcode` 0, no message) encodes to the zero-length frame.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct WriteReply {
    /// 0 for success, negative for an error.
    #[prost(int32, tag = "1")]
    pub errcode: i32,
    /// What went wrong.
    #[prost(string, tag = "2")]
    pub errmsg: String,
}

impl OpStatus {
    /// Success, with column pages ([`OPSTATUS_FLAG_XCOL`]).
    pub fn ok_xcol() -> Self {
        OpStatus {
            errcode: 0,
            errmsg: String::new(),
            flag: OPSTATUS_FLAG_XCOL,
        }
    }

    /// An error with a negative `errcode`.
    pub fn error(errcode: i32, errmsg: impl Into<String>) -> Self {
        OpStatus {
            errcode,
            errmsg: errmsg.into(),
            flag: OPSTATUS_FLAG_XCOL,
        }
    }
}

impl WriteReply {
    /// Success.
    pub fn ok() -> Self {
        WriteReply::default()
    }

    /// An error with a negative `errcode`.
    pub fn error(errcode: i32, errmsg: impl Into<String>) -> Self {
        WriteReply {
            errcode,
            errmsg: errmsg.into(),
        }
    }
}

impl XColDataReply {
    /// A reply carrying one column page.
    pub fn page(col: XCol) -> Self {
        XColDataReply {
            errcode: 0,
            errmsg: String::new(),
            data: Some(col),
        }
    }

    /// An error reply with a negative `errcode`.
    pub fn error(errcode: i32, errmsg: impl Into<String>) -> Self {
        XColDataReply {
            errcode,
            errmsg: errmsg.into(),
            data: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message;

    use super::*;
    use crate::frame::FrameCodec;
    use crate::testing;

    /// Encodes `msg` in a frame, decodes the frame and the message back.
    fn round_trip<M: WireMessage + PartialEq + std::fmt::Debug>(
        msg: &M,
    ) -> Result<(), TestCaseError> {
        let mut codec = FrameCodec::default();
        let mut wire = BytesMut::new();
        codec.encode_message(msg, &mut wire).unwrap();
        prop_assert_eq!(wire.len(), crate::frame::HEADER_LEN + msg.encoded_len());
        let frame = codec.decode(&mut wire).unwrap().unwrap();
        prop_assert!(wire.is_empty());
        prop_assert_eq!(frame.is_end(), msg.encoded_len() == 0);
        let back: M = decode(frame).unwrap();
        prop_assert_eq!(&back, msg);
        Ok(())
    }

    proptest! {
        #![proptest_config(testing::config(128))]

        #[test]
        fn column_desc(m in testing::column_desc()) { round_trip(&m)?; }
        #[test]
        fn filter(m in testing::filter()) { round_trip(&m)?; }
        #[test]
        fn csv_spec(m in testing::csv_spec()) { round_trip(&m)?; }
        #[test]
        fn file_spec(m in testing::file_spec()) { round_trip(&m)?; }
        #[test]
        fn op_spec(m in testing::op_spec()) { round_trip(&m)?; }
        #[test]
        fn op_status(m in testing::op_status()) { round_trip(&m)?; }
        #[test]
        fn xcol(m in testing::xcol()) { round_trip(&m)?; }
        #[test]
        fn read_request(m in testing::read_request()) { round_trip(&m)?; }
        #[test]
        fn sample_request(m in testing::sample_request()) { round_trip(&m)?; }
        #[test]
        fn data_reply(m in testing::data_reply()) { round_trip(&m)?; }
        #[test]
        fn xcol_data_reply(m in testing::xcol_data_reply()) { round_trip(&m)?; }
        #[test]
        fn size_meta_request(m in testing::size_meta_request()) { round_trip(&m)?; }
        #[test]
        fn size_meta_reply(m in testing::size_meta_reply()) { round_trip(&m)?; }
        #[test]
        fn write_request(m in testing::write_request()) { round_trip(&m)?; }
        #[test]
        fn write_data(m in testing::write_data()) { round_trip(&m)?; }
        #[test]
        fn write_reply(m in testing::write_reply()) { round_trip(&m)?; }

        #[test]
        fn borrowed_xcol_reply_encodes_like_the_owned_one(x in testing::xcol()) {
            let codec = FrameCodec::default();
            let mut a = BytesMut::new();
            encode_xcol_reply(&codec, &x, &mut a).unwrap();
            let mut b = BytesMut::new();
            codec.encode_message(&XColDataReply::page(x), &mut b).unwrap();
            prop_assert_eq!(a, b);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let payload = Bytes::from(bytes);
            let _ = decode_payload::<XColDataReply>(payload.clone());
            let _ = decode_payload::<ReadRequest>(payload.clone());
            let _ = decode_payload::<WriteRequest>(payload.clone());
            let _ = decode_payload::<XCol>(payload);
        }
    }

    /// Field numbers and wire types, checked against bytes written by hand from
    /// `xdrive.proto`.
    #[test]
    fn wire_layout_matches_the_proto() {
        let status = OpStatus {
            errcode: 1,
            errmsg: "e".into(),
            flag: 1,
        };
        assert_eq!(status.encode_to_vec(), [0x08, 1, 0x12, 1, b'e', 0x18, 1]);

        let col = XCol {
            colname: "c".into(),
            nrow: 1,
            nullmap: vec![true],
            sdata: vec!["s".into()],
            i32data: vec![5],
            i64data: vec![6],
            f32data: vec![0.0],
            f64data: vec![0.0],
            bindata: vec![Bytes::from_static(b"b")],
        };
        let expected: &[u8] = &[
            0x0a, 1, b'c', // colname = 1
            0x10, 1, // nrow = 2
            0x1a, 1, 1, // nullmap = 3, packed
            0x22, 1, b's', // sdata = 4
            0x2a, 1, 5, // i32data = 5, packed
            0x32, 1, 6, // i64data = 6, packed
            0x3a, 4, 0, 0, 0, 0, // f32data = 7, packed
            0x42, 8, 0, 0, 0, 0, 0, 0, 0, 0, // f64data = 8, packed
            0x4a, 1, b'b', // bindata = 9
        ];
        assert_eq!(col.encode_to_vec(), expected);

        let req = ReadRequest {
            filespec: Some(FileSpec {
                path: "p".into(),
                format: "f".into(),
                csvspec: Some(CsvSpec {
                    delimiter: "d".into(),
                    nullstr: "n".into(),
                    header: true,
                    quote: "q".into(),
                    escape: "e".into(),
                }),
            }),
            columndesc: vec![ColumnDesc {
                name: "c".into(),
                r#type: 3,
            }],
            columnlist: vec!["c".into()],
            filter: vec![Filter {
                op: "o".into(),
                column: "c".into(),
                args: vec!["a".into()],
            }],
            frag_id: 1,
            frag_cnt: 2,
            ts: 3,
            query: Bytes::from_static(b"Q"),
            bloomsz: 4,
            bloom: Bytes::from_static(b"B"),
        };
        let expected: &[u8] = &[
            0x0a, 22, // filespec = 1
            0x0a, 1, b'p', 0x12, 1, b'f', 0x1a, 14, // path, format, csvspec
            0x0a, 1, b'd', 0x12, 1, b'n', 0x18, 1, 0x22, 1, b'q', 0x2a, 1, b'e', //
            0x12, 5, 0x0a, 1, b'c', 0x10, 3, // columndesc = 2
            0x1a, 1, b'c', // columnlist = 3
            0x22, 9, 0x0a, 1, b'o', 0x12, 1, b'c', 0x1a, 1, b'a', // filter = 4
            0x28, 1, 0x30, 2, 0x38, 3, // frag_id = 5, frag_cnt = 6, ts = 7
            0x42, 1, b'Q', 0x48, 4, 0x52, 1, b'B', // query = 8, bloomsz = 9, bloom = 10
        ];
        assert_eq!(req.encode_to_vec(), expected);

        let wreq = WriteRequest {
            filespec: None,
            columndesc: vec![],
            frag_id: 1,
            frag_cnt: 2,
            ts: 3,
        };
        assert_eq!(wreq.encode_to_vec(), [0x18, 1, 0x20, 2, 0x28, 3]);

        let reply = XColDataReply::error(-1, "x");
        assert_eq!(
            reply.encode_to_vec(),
            [
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x12, 1, b'x'
            ]
        );
        // A DataReply error reads as an XColDataReply error.
        let data = DataReply {
            errcode: -100,
            errmsg: "Invalid int data".into(),
            data: Bytes::new(),
        };
        let as_xcol: XColDataReply = decode_payload(data.encode_to_vec().into()).unwrap();
        assert_eq!(as_xcol, XColDataReply::error(-100, "Invalid int data"));

        let meta = SizeMetaReply {
            errcode: 0,
            errmsg: String::new(),
            nrow: 1,
            nbyte: 2,
        };
        assert_eq!(meta.encode_to_vec(), [0x18, 1, 0x20, 2]);
        let sample = SampleRequest {
            nrow: 9,
            ..SampleRequest::default()
        };
        assert_eq!(sample.encode_to_vec(), [0x28, 9]);
        assert_eq!(
            WriteData {
                data: Bytes::from_static(b"d")
            }
            .encode_to_vec(),
            [0x0a, 1, b'd']
        );
    }

    #[test]
    fn success_replies_are_the_end_frame() {
        assert_eq!(WriteReply::ok().encoded_len(), 0);
        assert_eq!(XColDataReply::default().encoded_len(), 0);
        let back: WriteReply = decode(Frame::End).unwrap();
        assert_eq!(back, WriteReply::ok());
    }

    #[test]
    fn decode_errors_name_the_message() {
        let err =
            decode::<OpSpec>(Frame::Message(Bytes::from_static(&[0x0a, 9, b'x']))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode a 3-byte frame payload as an xdrive OpSpec"
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
