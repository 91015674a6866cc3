//! `XCol` and `XColDataReply` on the wire, by hand: a decoder that borrows the frame's payload
//! and the varint and length helpers the page encoder shares.
//!
//! **Why not prost here.** prost decodes a `repeated string` into a `Vec<String>`: one
//! allocation and one copy per text value, and a page is mostly text. [`WireXCol::decode`]
//! instead keeps the payload (a [`Bytes`], shared, never copied) and, per text or bytes value,
//! the range of the payload it occupies; numbers go into one `Vec` per carrier. UTF-8 is
//! checked once per value when the column is checked against its schema
//! ([`crate::page::PageColumn::from_wire`]), without allocating. Every other message still
//! goes through prost.
//!
//! The decoder accepts what prost accepts for these messages: fields in any order and
//! repeated (the last scalar wins, repeated fields append, a repeated `data` merges),
//! repeated numbers packed or not (or both), unknown fields of every wire type skipped
//! (groups included). Every length is checked against the bytes that remain and capacity is
//! only ever reserved for values actually present, so hostile input is a [`WireError`] — never
//! a panic nor a large allocation. Text values are not checked here (see above); `colname`
//! and `errmsg` are, at every occurrence, as prost does.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;

use crate::message::XCol;

/// Why a payload is not a valid `XCol` or `XColDataReply`. Offsets count from the start of
/// the frame's payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A varint runs past its field's end, or is longer than 10 bytes.
    #[error("byte {offset}: truncated or over-long varint")]
    BadVarint {
        /// Where the varint starts.
        offset: usize,
    },
    /// A field key is not valid: field number 0 or above 2^29, or wire type 6 or 7.
    #[error("byte {offset}: invalid field key {key}")]
    BadKey {
        /// Where the key starts.
        offset: usize,
        /// The key as read.
        key: u64,
    },
    /// A length-delimited or fixed-size field is longer than what remains.
    #[error(
        "byte {offset}: {} needs {len} bytes, but only {remaining} remain",
        field_name(message, *field)
    )]
    PastEnd {
        /// Where the field's value starts.
        offset: usize,
        /// The message being read.
        message: &'static str,
        /// The field number.
        field: u32,
        /// The bytes it needs.
        len: u64,
        /// The bytes left in the enclosing message.
        remaining: usize,
    },
    /// A known field has a wire type its type does not allow.
    #[error(
        "byte {offset}: {} has wire type {found}, expected {expected}",
        field_name(message, *field)
    )]
    WireType {
        /// Where the field's key starts.
        offset: usize,
        /// The message being read.
        message: &'static str,
        /// The field number.
        field: u32,
        /// The wire type found.
        found: u8,
        /// What its type allows.
        expected: &'static str,
    },
    /// A packed fixed-size field is not a whole number of values.
    #[error(
        "byte {offset}: packed {} of {len} bytes is not a whole number of {size}-byte values",
        field_name(message, *field)
    )]
    PackedLength {
        /// Where the field's value starts.
        offset: usize,
        /// The message being read.
        message: &'static str,
        /// The field number.
        field: u32,
        /// Its length.
        len: usize,
        /// The size of one value.
        size: usize,
    },
    /// A group of an unknown field is not closed, closed by another field, nested more
    /// than 100 deep, or an end-group key stands alone.
    #[error("byte {offset}: unbalanced or too deeply nested group of field {field}")]
    BadGroup {
        /// Where the offending key starts.
        offset: usize,
        /// The group's field number.
        field: u32,
    },
    /// `XCol.colname` or `XColDataReply.errmsg` is not UTF-8.
    #[error("byte {offset}: {} is not UTF-8", field_name(message, *field))]
    NotUtf8 {
        /// Where the string starts.
        offset: usize,
        /// The message being read.
        message: &'static str,
        /// The field number.
        field: u32,
    },
    /// The payload is longer than 4 GiB (no frame is).
    #[error("a {len}-byte payload is too long to decode")]
    TooLong {
        /// Its length.
        len: usize,
    },
}

/// `"XCol.sdata (field 4)"`, or `"XCol field 12"` for a field we do not know.
fn field_name(message: &str, field: u32) -> Cow<'static, str> {
    let name = match (message, field) {
        ("XCol", 1) => "colname",
        ("XCol", 2) => "nrow",
        ("XCol", 3) => "nullmap",
        ("XCol", 4) => "sdata",
        ("XCol", 5) => "i32data",
        ("XCol", 6) => "i64data",
        ("XCol", 7) => "f32data",
        ("XCol", 8) => "f64data",
        ("XCol", 9) => "bindata",
        ("XColDataReply", 1) => "errcode",
        ("XColDataReply", 2) => "errmsg",
        ("XColDataReply", 3) => "data",
        _ => return Cow::Owned(format!("{message} field {field}")),
    };
    Cow::Owned(format!("{message}.{name} (field {field})"))
}

/// Where a text or bytes value lies in its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    pub(crate) fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// An `XCol` decoded from a frame's payload without copying: what prost's [`XCol`] holds,
/// with `colname` and every text and bytes value as a range of the shared payload.
///
/// Nothing is checked beyond the protobuf encoding: turn it into a checked page column
/// with [`PageColumn::from_wire`](crate::page::PageColumn::from_wire), or into a prost
/// `XCol` with [`to_xcol`](Self::to_xcol).
#[derive(Debug, Clone, Default)]
pub struct WireXCol {
    pub(crate) payload: Bytes,
    pub(crate) colname: Span,
    pub(crate) nrow: i32,
    pub(crate) nullmap: Vec<bool>,
    pub(crate) sdata: Vec<Span>,
    pub(crate) i32data: Vec<i32>,
    pub(crate) i64data: Vec<i64>,
    pub(crate) f32data: Vec<f32>,
    pub(crate) f64data: Vec<f64>,
    pub(crate) bindata: Vec<Span>,
}

/// An `XColDataReply` decoded with its column borrowed (see [`WireXCol`]).
#[derive(Debug, Clone, Default)]
pub struct WireXColReply {
    /// 0 for success, negative for an error.
    pub errcode: i32,
    /// What went wrong.
    pub errmsg: String,
    /// The column page, if any.
    pub data: Option<WireXCol>,
}

impl WireXCol {
    /// Decodes a bare `XCol` (a write page's column) from a frame's payload.
    pub fn decode(payload: Bytes) -> Result<WireXCol, WireError> {
        let end = checked_len(&payload)?;
        let mut col = WireXCol {
            payload,
            ..WireXCol::default()
        };
        col.merge(0..end)?;
        Ok(col)
    }

    /// The column's name as sent (UTF-8).
    pub fn colname(&self) -> &[u8] {
        &self.payload[self.colname.range()]
    }

    /// `nrow` as sent.
    pub fn nrow(&self) -> i32 {
        self.nrow
    }

    /// The payload the values live in.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The same column as a prost [`XCol`] (allocating per value; for tests and tools).
    /// `None` when a text value is not UTF-8, which prost would refuse.
    pub fn to_xcol(&self) -> Option<XCol> {
        let text = |s: Span| std::str::from_utf8(&self.payload[s.range()]).map(str::to_owned);
        Some(XCol {
            colname: text(self.colname).ok()?,
            nrow: self.nrow,
            nullmap: self.nullmap.clone(),
            sdata: self
                .sdata
                .iter()
                .map(|&s| text(s))
                .collect::<Result<_, _>>()
                .ok()?,
            i32data: self.i32data.clone(),
            i64data: self.i64data.clone(),
            f32data: self.f32data.clone(),
            f64data: self.f64data.clone(),
            bindata: self
                .bindata
                .iter()
                .map(|s| self.payload.slice(s.range()))
                .collect(),
        })
    }

    /// Merges the fields in `range` of the payload into `self`, as protobuf merges a
    /// message's encodings.
    fn merge(&mut self, range: Range<usize>) -> Result<(), WireError> {
        const MSG: &str = "XCol";
        // A clone of the handle (no copy) so `self`'s vectors can be filled while reading.
        let payload = self.payload.clone();
        let mut r = Reader::new(&payload[..range.end], range.start);
        while !r.is_empty() {
            let key_at = r.pos;
            let (field, wire_type) = r.key()?;
            let wrong = |expected| WireError::WireType {
                offset: key_at,
                message: MSG,
                field,
                found: wire_type,
                expected,
            };
            match field {
                1 => {
                    if wire_type != LEN {
                        return Err(wrong("2 (length-delimited)"));
                    }
                    // Checked at every occurrence, as prost does.
                    self.colname = r.utf8_span(MSG, field)?;
                }
                2 => {
                    if wire_type != VARINT {
                        return Err(wrong("0 (varint)"));
                    }
                    self.nrow = r.varint()? as i32;
                }
                3 => r.repeated_varint(key_at, field, wire_type, &mut self.nullmap, |v| v != 0)?,
                4 => {
                    if wire_type != LEN {
                        return Err(wrong("2 (length-delimited)"));
                    }
                    let span = r.span(MSG, field)?;
                    reserve_spans(&mut self.sdata, self.nrow, r.remaining());
                    self.sdata.push(span);
                }
                5 => {
                    r.repeated_varint(key_at, field, wire_type, &mut self.i32data, |v| v as i32)?
                }
                6 => {
                    r.repeated_varint(key_at, field, wire_type, &mut self.i64data, |v| v as i64)?
                }
                7 => r.repeated_fixed(
                    key_at,
                    field,
                    wire_type,
                    &mut self.f32data,
                    f32::from_le_bytes,
                )?,
                8 => r.repeated_fixed(
                    key_at,
                    field,
                    wire_type,
                    &mut self.f64data,
                    f64::from_le_bytes,
                )?,
                9 => {
                    if wire_type != LEN {
                        return Err(wrong("2 (length-delimited)"));
                    }
                    let span = r.span(MSG, field)?;
                    reserve_spans(&mut self.bindata, self.nrow, r.remaining());
                    self.bindata.push(span);
                }
                _ => r.skip(MSG, field, wire_type)?,
            }
        }
        Ok(())
    }
}

/// Reserves room for the rest of a repeated text field once, when it starts: `nrow`
/// entries, but no more than the bytes left could hold (two bytes each at least).
fn reserve_spans(spans: &mut Vec<Span>, nrow: i32, remaining: usize) {
    if spans.is_empty() {
        let n = usize::try_from(nrow).unwrap_or(0).min(remaining / 2 + 1);
        spans.reserve(n);
    }
}

/// Decodes an `XColDataReply` (a read reply) from a frame's payload; its `data`, if any,
/// borrows the payload. The zero-length payload is the default reply (the end of a read).
pub fn decode_xcol_reply(payload: Bytes) -> Result<WireXColReply, WireError> {
    const MSG: &str = "XColDataReply";
    let end = checked_len(&payload)?;
    let mut reply = WireXColReply::default();
    let mut r = Reader::new(&payload[..end], 0);
    while !r.is_empty() {
        let key_at = r.pos;
        let (field, wire_type) = r.key()?;
        let wrong = |expected| WireError::WireType {
            offset: key_at,
            message: MSG,
            field,
            found: wire_type,
            expected,
        };
        match field {
            1 => {
                if wire_type != VARINT {
                    return Err(wrong("0 (varint)"));
                }
                reply.errcode = r.varint()? as i32;
            }
            2 => {
                if wire_type != LEN {
                    return Err(wrong("2 (length-delimited)"));
                }
                let span = r.utf8_span(MSG, field)?;
                reply.errmsg = String::from_utf8_lossy(&payload[span.range()]).into_owned();
            }
            3 => {
                if wire_type != LEN {
                    return Err(wrong("2 (length-delimited)"));
                }
                let span = r.span(MSG, field)?;
                let col = reply.data.get_or_insert_with(|| WireXCol {
                    payload: payload.clone(),
                    ..WireXCol::default()
                });
                col.merge(span.range())?;
            }
            _ => r.skip(MSG, field, wire_type)?,
        }
    }
    Ok(reply)
}

fn checked_len(payload: &Bytes) -> Result<usize, WireError> {
    let len = payload.len();
    u32::try_from(len)
        .map(|_| len)
        .map_err(|_| WireError::TooLong { len })
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

/// How deep groups of unknown fields may nest (prost's limit).
const MAX_GROUP_DEPTH: usize = 100;

/// A cursor over `buf[pos..]`; positions are offsets into the whole payload.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        match read_varint(&self.buf[self.pos..]) {
            Some((v, n)) => {
                self.pos += n;
                Ok(v)
            }
            None => Err(WireError::BadVarint { offset: self.pos }),
        }
    }

    /// A field key: field number and wire type.
    fn key(&mut self) -> Result<(u32, u8), WireError> {
        let offset = self.pos;
        let key = self.varint()?;
        let wire_type = (key & 7) as u8;
        // A key is a u32 (so the field number is below 2^29), as prost requires.
        match u32::try_from(key) {
            Ok(k) if k >> 3 != 0 && wire_type <= FIXED32 => Ok((k >> 3, wire_type)),
            _ => Err(WireError::BadKey { offset, key }),
        }
    }

    /// Takes `len` bytes.
    fn take(&mut self, message: &'static str, field: u32, len: u64) -> Result<Span, WireError> {
        let remaining = self.remaining();
        match usize::try_from(len) {
            Ok(n) if n <= remaining => {
                let start = self.pos;
                self.pos += n;
                // Positions fit: the payload's length was checked to fit a u32.
                Ok(Span {
                    start: start as u32,
                    end: self.pos as u32,
                })
            }
            _ => Err(WireError::PastEnd {
                offset: self.pos,
                message,
                field,
                len,
                remaining,
            }),
        }
    }

    /// A length-delimited value.
    fn span(&mut self, message: &'static str, field: u32) -> Result<Span, WireError> {
        let len = self.varint()?;
        self.take(message, field, len)
    }

    /// A length-delimited value that must be UTF-8.
    fn utf8_span(&mut self, message: &'static str, field: u32) -> Result<Span, WireError> {
        let span = self.span(message, field)?;
        match std::str::from_utf8(&self.buf[span.range()]) {
            Ok(_) => Ok(span),
            Err(_) => Err(WireError::NotUtf8 {
                offset: span.start as usize,
                message,
                field,
            }),
        }
    }

    /// A repeated varint field of `XCol`, packed (wire type 2) or not (wire type 0); its key
    /// was at `key_at`.
    fn repeated_varint<T>(
        &mut self,
        key_at: usize,
        field: u32,
        wire_type: u8,
        out: &mut Vec<T>,
        convert: impl Fn(u64) -> T,
    ) -> Result<(), WireError> {
        let message = "XCol";
        match wire_type {
            VARINT => out.push(convert(self.varint()?)),
            LEN => {
                let span = self.span(message, field)?;
                let bytes = &self.buf[span.range()];
                // At most one value per byte: capacity follows the bytes present.
                out.reserve(bytes.len());
                if bytes.iter().all(|&b| b < 0x80) {
                    out.extend(bytes.iter().map(|&b| convert(u64::from(b))));
                } else {
                    let mut inner =
                        Reader::new(&self.buf[..span.end as usize], span.start as usize);
                    while !inner.is_empty() {
                        out.push(convert(inner.varint()?));
                    }
                }
            }
            found => {
                return Err(WireError::WireType {
                    offset: key_at,
                    message,
                    field,
                    found,
                    expected: "0 (varint) or 2 (packed)",
                });
            }
        }
        Ok(())
    }

    /// A repeated fixed-size field of `XCol` with `N`-byte values, packed (wire type 2) or
    /// not (wire type 1 for 8 bytes, 5 for 4); its key was at `key_at`.
    fn repeated_fixed<T, const N: usize>(
        &mut self,
        key_at: usize,
        field: u32,
        wire_type: u8,
        out: &mut Vec<T>,
        convert: impl Fn([u8; N]) -> T,
    ) -> Result<(), WireError> {
        let message = "XCol";
        let single = if N == 8 { FIXED64 } else { FIXED32 };
        if wire_type == single {
            let span = self.take(message, field, N as u64)?;
            out.push(convert(array(&self.buf[span.range()])));
        } else if wire_type == LEN {
            let offset = self.pos;
            let span = self.span(message, field)?;
            let bytes = &self.buf[span.range()];
            if !bytes.len().is_multiple_of(N) {
                return Err(WireError::PackedLength {
                    offset,
                    message,
                    field,
                    len: bytes.len(),
                    size: N,
                });
            }
            out.reserve(bytes.len() / N);
            out.extend(bytes.chunks_exact(N).map(|c| convert(array(c))));
        } else {
            return Err(WireError::WireType {
                offset: key_at,
                message,
                field,
                found: wire_type,
                expected: if N == 8 {
                    "1 (fixed64) or 2 (packed)"
                } else {
                    "5 (fixed32) or 2 (packed)"
                },
            });
        }
        Ok(())
    }

    /// Skips the value of an unknown field whose key was just read.
    fn skip(&mut self, message: &'static str, field: u32, wire_type: u8) -> Result<(), WireError> {
        match wire_type {
            VARINT => {
                self.varint()?;
            }
            FIXED64 => {
                self.take(message, field, 8)?;
            }
            LEN => {
                self.span(message, field)?;
            }
            FIXED32 => {
                self.take(message, field, 4)?;
            }
            START_GROUP => {
                // Skip keys and values until the end-group key matching each open group.
                let mut open = vec![field];
                while let Some(&group) = open.last() {
                    let offset = self.pos;
                    if self.is_empty() {
                        return Err(WireError::BadGroup {
                            offset,
                            field: group,
                        });
                    }
                    let (inner, inner_type) = self.key()?;
                    match inner_type {
                        END_GROUP if inner == group => {
                            open.pop();
                        }
                        END_GROUP => {
                            return Err(WireError::BadGroup {
                                offset,
                                field: group,
                            });
                        }
                        START_GROUP if open.len() >= MAX_GROUP_DEPTH => {
                            return Err(WireError::BadGroup {
                                offset,
                                field: inner,
                            });
                        }
                        START_GROUP => open.push(inner),
                        t => self.skip(message, inner, t)?,
                    }
                }
            }
            // END_GROUP without a group.
            _ => {
                return Err(WireError::BadGroup {
                    offset: self.pos,
                    field,
                });
            }
        }
        Ok(())
    }
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(bytes);
    a
}

/// A varint at the start of `buf` and its length; `None` when it is truncated or longer
/// than 10 bytes (or its 10th byte overflows 64 bits), as prost refuses.
pub(crate) fn read_varint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in buf.iter().take(10).enumerate() {
        if i == 9 && b > 1 {
            return None;
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The encoded length of a varint.
pub(crate) fn varint_len(v: u64) -> usize {
    // 1 byte per 7 bits, at least 1.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Writes `v` as a varint at the start of `dst`; returns its length.
pub(crate) fn write_varint(dst: &mut [u8], mut v: u64) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        dst[i] = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
    dst[i] = v as u8;
    i + 1
}

/// Writes protobuf into a buffer sized beforehand (so no write checks for room).
pub(crate) struct Writer<'a> {
    dst: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(dst: &'a mut [u8]) -> Self {
        Writer { dst, pos: 0 }
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> usize {
        self.pos
    }

    fn byte(&mut self, b: u8) {
        self.dst[self.pos] = b;
        self.pos += 1;
    }

    /// The key of field `field` (below 16: one byte) with `wire_type`.
    pub(crate) fn key(&mut self, field: u8, wire_type: u8) {
        debug_assert!(field < 16);
        self.byte((field << 3) | wire_type);
    }

    pub(crate) fn varint(&mut self, v: u64) {
        if v < 0x80 {
            self.byte(v as u8);
        } else {
            self.pos += write_varint(&mut self.dst[self.pos..], v);
        }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.dst[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
    }

    /// Packed bools: one byte each.
    pub(crate) fn bools(&mut self, b: &[bool]) {
        let dst = &mut self.dst[self.pos..self.pos + b.len()];
        for (d, &x) in dst.iter_mut().zip(b) {
            *d = u8::from(x);
        }
        self.pos += b.len();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message;

    use super::*;
    use crate::message::XColDataReply;
    use crate::testing;

    fn bytes(v: &[u8]) -> Bytes {
        Bytes::copy_from_slice(v)
    }

    #[test]
    fn varints_match_prost() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            1 << 35,
            u64::MAX,
            i64::from(-1i32) as u64,
        ] {
            let mut buf = Vec::new();
            prost::encoding::encode_varint(v, &mut buf);
            assert_eq!(read_varint(&buf), Some((v, buf.len())));
            assert_eq!(varint_len(v), buf.len());
            let mut mine = [0u8; 10];
            let n = write_varint(&mut mine, v);
            assert_eq!(&mine[..n], &buf[..]);
        }
        // 11 bytes, and a 10th byte that overflows.
        assert_eq!(read_varint(&[0xff; 11]), None);
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2]),
            None
        );
        assert_eq!(read_varint(&[0x80]), None);
        assert_eq!(read_varint(&[]), None);
    }

    #[test]
    fn unpacked_and_mixed_repeated_fields_are_accepted() {
        let mut raw = vec![0x0a, 1, b'c', 0x10, 3];
        raw.extend([0x18, 1, 0x1a, 2, 0, 1]); // nullmap: one unpacked, then two packed
        raw.extend([0x28, 5, 0x28, 0xff, 0xff, 0xff, 0xff, 0x0f]); // i32data: 5, -1 unpacked
        raw.extend([0x2a, 1, 7]); // then 7 packed
        raw.extend([0x30, 9]); // i64data: 9 unpacked
        raw.extend([0x3d, 0, 0, 0x80, 0x3f]); // f32data: 1.0 as fixed32
        raw.extend([0x41, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]); // f64data: 1.0 as fixed64
        raw.extend([0x42, 8, 0, 0, 0, 0, 0, 0, 0, 0x40]); // then 2.0 packed
        let x = WireXCol::decode(bytes(&raw)).unwrap();
        let prost = XCol::decode(&raw[..]).unwrap();
        assert_eq!(x.to_xcol().unwrap(), prost);
        assert_eq!(prost.nullmap, [true, false, true]);
        assert_eq!(prost.i32data, [5, -1, 7]);
        assert_eq!(prost.f64data, [1.0, 2.0]);
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped() {
        let mut raw = vec![0x10, 1];
        raw.extend([0x50, 0xff, 0x01]); // field 10 varint
        raw.extend([0x59, 1, 2, 3, 4, 5, 6, 7, 8]); // field 11 fixed64
        raw.extend([0x62, 2, 9, 9]); // field 12 bytes
        raw.extend([0x6d, 1, 2, 3, 4]); // field 13 fixed32
        raw.extend([0x73, 0x08, 1, 0x7b, 0x7c, 0x74]); // field 14 group { 1: 1, 15 {} }
        raw.extend([0x0a, 1, b'z']);
        let x = WireXCol::decode(bytes(&raw)).unwrap();
        assert_eq!(x.to_xcol().unwrap(), XCol::decode(&raw[..]).unwrap());
        assert_eq!(x.colname(), b"z");
        assert_eq!(x.nrow(), 1);
    }

    #[test]
    fn a_repeated_data_field_merges() {
        let a = XCol {
            colname: "a".into(),
            nrow: 1,
            sdata: vec!["x".into()],
            ..XCol::default()
        };
        let b = XCol {
            nullmap: vec![false],
            sdata: vec!["y".into()],
            ..XCol::default()
        };
        let mut raw = XColDataReply::page(a).encode_to_vec();
        raw.extend(XColDataReply::page(b).encode_to_vec());
        let prost = XColDataReply::decode(&raw[..]).unwrap();
        let mine = decode_xcol_reply(bytes(&raw)).unwrap();
        assert_eq!(mine.data.unwrap().to_xcol(), prost.data);
    }

    #[test]
    fn hostile_inputs_are_errors() {
        let cases: &[(&[u8], &str)] = &[
            (&[0x10, 0x80], "byte 1: truncated or over-long varint"),
            (&[0x10], "byte 1: truncated or over-long varint"),
            (
                &[0x0a, 5, b'a'],
                "byte 2: XCol.colname (field 1) needs 5 bytes, but only 1 remain",
            ),
            (
                &[0x22, 0xff, 0xff, 0xff, 0xff, 0x0f],
                "byte 6: XCol.sdata (field 4) needs 4294967295 bytes, but only 0 remain",
            ),
            (
                &[0x12, 1, 1],
                "byte 0: XCol.nrow (field 2) has wire type 2, expected 0 (varint)",
            ),
            (
                &[0x25, 1, 2, 3, 4],
                "byte 0: XCol.sdata (field 4) has wire type 5, expected 2 (length-delimited)",
            ),
            (
                &[0x3a, 3, 0, 0, 0],
                "byte 1: packed XCol.f32data (field 7) of 3 bytes is not a whole number of \
                 4-byte values",
            ),
            (
                &[0x39, 0, 0, 0, 0, 0, 0, 0, 0],
                "byte 0: XCol.f32data (field 7) has wire type 1, expected 5 (fixed32) or 2 \
                 (packed)",
            ),
            (&[0x00, 1], "byte 0: invalid field key 0"),
            (
                &[0x0a, 1, 0xd3, 0x0a, 1, b'a'],
                "byte 2: XCol.colname (field 1) is not UTF-8",
            ),
            (&[0x0f], "byte 0: invalid field key 15"),
            (
                &[0xc8, 0xc8, 0xc8, 0xc8, 0x34, 0x03],
                "byte 0: invalid field key 14110827592",
            ),
            (
                &[0x2a, 2, 0x80, 0x80],
                "byte 2: truncated or over-long varint",
            ),
            (
                &[0x73, 0x08, 1],
                "byte 3: unbalanced or too deeply nested group of field 14",
            ),
            (
                &[0x73, 0x7c],
                "byte 1: unbalanced or too deeply nested group of field 14",
            ),
            (
                &[0x74],
                "byte 1: unbalanced or too deeply nested group of field 14",
            ),
        ];
        for (raw, message) in cases {
            let err = WireXCol::decode(bytes(raw)).unwrap_err();
            assert_eq!(err.to_string(), *message, "{raw:?}");
            assert!(XCol::decode(*raw).is_err(), "prost accepts {raw:?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n(0x73, 200).collect();
        assert!(matches!(
            WireXCol::decode(bytes(&deep)),
            Err(WireError::BadGroup { .. })
        ));
        // A reply whose data is cut short.
        let err = decode_xcol_reply(bytes(&[0x1a, 3, 0x10, 1])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "byte 2: XColDataReply.data (field 3) needs 3 bytes, but only 2 remain"
        );
        let err = decode_xcol_reply(bytes(&[0x1a, 2, 0x10, 0x80])).unwrap_err();
        assert_eq!(err, WireError::BadVarint { offset: 3 });
    }

    #[test]
    fn huge_counts_reserve_nothing_they_cannot_fill() {
        // nrow = i32::MAX and one text value: the span vector stays small.
        let raw = [0x10, 0xff, 0xff, 0xff, 0xff, 0x07, 0x22, 0];
        let x = WireXCol::decode(bytes(&raw)).unwrap();
        assert_eq!(x.nrow(), i32::MAX);
        assert!(x.sdata.capacity() < 16, "{}", x.sdata.capacity());
    }

    #[test]
    fn error_replies_decode() {
        let raw = XColDataReply::error(-7, "no such topic").encode_to_vec();
        let reply = decode_xcol_reply(bytes(&raw)).unwrap();
        assert_eq!(reply.errcode, -7);
        assert_eq!(reply.errmsg, "no such topic");
        assert!(reply.data.is_none());
        let end = decode_xcol_reply(Bytes::new()).unwrap();
        assert_eq!((end.errcode, end.data.is_none()), (0, true));
    }

    proptest! {
        #![proptest_config(testing::config(256))]

        #[test]
        fn decodes_like_prost(x in testing::xcol()) {
            let raw = Bytes::from(x.encode_to_vec());
            let mine = WireXCol::decode(raw.clone()).unwrap();
            prop_assert_eq!(mine.to_xcol().unwrap(), x.clone());
            let reply = Bytes::from(XColDataReply::page(x.clone()).encode_to_vec());
            let mine = decode_xcol_reply(reply).unwrap().data.unwrap();
            prop_assert_eq!(mine.to_xcol().unwrap(), x);
        }

        #[test]
        fn agrees_with_prost_on_garbage(raw in prop::collection::vec(any::<u8>(), 0..48)) {
            let prost = XCol::decode(&raw[..]);
            let mine = WireXCol::decode(Bytes::from(raw));
            match (prost, mine) {
                (Ok(p), Ok(m)) => {
                    // NaN is not equal to itself: compare the encodings.
                    let m = m.to_xcol().unwrap();
                    prop_assert_eq!(p.encode_to_vec(), m.encode_to_vec());
                }
                (Err(_), Err(_)) => {}
                // We check text (and the name) later, against the schema.
                (Err(_), Ok(m)) => prop_assert!(m.to_xcol().is_none()),
                (Ok(p), Err(e)) => prop_assert!(false, "prost accepts {:?}, we refuse: {}", p, e),
            }
        }

        #[test]
        fn replies_agree_with_prost_on_garbage(raw in prop::collection::vec(any::<u8>(), 0..48)) {
            let prost = XColDataReply::decode(&raw[..]);
            let mine = decode_xcol_reply(Bytes::from(raw));
            match (prost, mine) {
                (Ok(p), Ok(m)) => {
                    prop_assert_eq!((p.errcode, &p.errmsg), (m.errcode, &m.errmsg));
                    let m = m.data.map(|d| d.to_xcol().unwrap().encode_to_vec());
                    prop_assert_eq!(p.data.map(|d| d.encode_to_vec()), m);
                }
                (Err(_), Err(_)) => {}
                (Err(_), Ok(m)) => {
                    prop_assert!(m.data.is_some_and(|d| d.to_xcol().is_none()));
                }
                (Ok(p), Err(e)) => prop_assert!(false, "prost accepts {:?}, we refuse: {}", p, e),
            }
        }
    }
}
