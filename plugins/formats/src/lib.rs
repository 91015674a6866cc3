//! Kafka message values to and from typed xdrive column pages: the data path of the
//! `xdr_kafka` plugin, without I/O (no Kafka, no sockets), so it can be tested, fuzzed
//! and benchmarked on byte buffers.
//!
//! # Read path, per request and per message
//!
//! ```
//! use formats::{CsvOptions, Decoder, DecoderSpec, Format, InputField, Meta, MessageMeta,
//!               OutputColumn};
//! use xdrive_proto::page::{PageLimits, PageReader, Value};
//! use xdrive_proto::spq::SpqType;
//!
//! // Per request: the format, the message fields (`kafka.input.columns`), the page columns.
//! let fields = vec![
//!     InputField::new("id", "integer")?,
//!     InputField::new("note", "varchar(10)")?.ignored(true),
//!     InputField::new("amount", "double precision")?,
//! ];
//! let outputs = vec![
//!     OutputColumn::field("id", 0),
//!     OutputColumn::field("amount", 2),
//!     OutputColumn::meta("offset", Meta::Offset, SpqType::Int64),
//! ];
//! let spec = DecoderSpec::new(Format::Csv(CsvOptions::new(b'|')?), fields, outputs);
//! let mut decoder = Decoder::new(spec)?;
//! let mut page = decoder.new_page(PageLimits::default());
//!
//! // Per message.
//! let meta = MessageMeta { partition: 0, offset: 7, timestamp_ms: None, key: None };
//! decoder.decode(&meta, Some(b"1|ignored|2.5"), &mut page)?;
//! let err = decoder.decode(&meta, Some(b"x|y|1"), &mut page).unwrap_err();
//! assert_eq!(err.to_string(), "partition 0, offset 7: column \"id\": \"x\" is not a valid integer");
//!
//! let page = PageReader::new(decoder.schema(), page.finish()?)?;
//! assert_eq!(page.nrow(), 1);
//! assert_eq!(page.column(1).get(0), Some(Value::Double(2.5)));
//! assert_eq!(page.column(2).get(0), Some(Value::Int64(7)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A message that cannot be decoded is a [`RowError`] (partition, offset, [`RowErrorKind`],
//! reason) and adds nothing to the page. With an error limit, the plugin sends it back as
//! a row of [`ERROR_SCHEMA`] made by [`push_error_row`].
//!
//! # Write path, per row
//!
//! [`Encoder::new`] once per write request, then [`Encoder::encode`] per page row: the
//! message value (or `None`, a tombstone), in a buffer the encoder reuses.
//!
//! # Formats
//!
//! - `csv` ([`csv`] module docs): PostgreSQL's CSV, one row per message; every value is
//!   converted once to its column's type (accepted text: [`value`] and [`datetime`]).
//! - `json`: one `json` column; the value must be valid JSON of any kind ([`json`]).
//! - `binary`: one `bytea` column holding the value as is.
//!
//! The outcome of each kind of bad message is in the crate README's table.
//!
//! # Transforms
//!
//! The edges of a WebAssembly row transform (`wit/transform.wit`), shared by the plugin
//! and `dgkafka transform test`: [`TransformInput`] (a message into input values by its
//! format), [`TransformOutput`] (output values into page rows of typed columns), and
//! [`encode_transform_config`] / [`decode_transform_config`] (the `transform_config`
//! query key).

mod csv;
pub mod datetime;
mod decode;
mod encode;
mod error;
mod json;
#[cfg(test)]
mod roundtrip;
mod spec;
mod transform_io;
mod value;

pub use decode::{Decoder, MessageMeta};
pub use encode::{EncodeError, Encoder};
pub use error::{ERROR_SCHEMA, RowError, RowErrorKind, push_error_row, snippet};
pub use json::JsonError;
pub use spec::{
    ColumnType, CsvOptions, DEFAULT_MAX_MESSAGE_BYTES, DecoderSpec, Format, InputField, Meta,
    OutputColumn, Source, SpecError,
};
pub use transform_io::{
    InputValue, OutputValue, TransformConfigError, TransformInput, TransformOutput,
    decode_transform_config, encode_transform_config, split_csv,
};
