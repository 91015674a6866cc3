//! The xdrive client library (async, tokio), and the error codes the `xdrive` server puts in
//! its error replies.
//!
//! ```no_run
//! # async fn demo() -> Result<(), xdrive::Error> {
//! use xdrive::{Client, ReadSpec};
//! use xdrive_proto::schema::{Column, Schema};
//! use xdrive_proto::spq::SpqType;
//!
//! let schema = Schema::new(vec![Column::new("id", SpqType::Int64)]).unwrap();
//! let client = Client::new("127.0.0.1", 7171);
//! let spec = ReadSpec::new("/kafka/customer", &schema)
//!     .query("group=dggrp&limit=1000")
//!     .fragment(0, 4);
//! let mut pages = client.read(&spec).await?;
//! while let Some(page) = pages.next_page().await? {
//!     let ids = page.column(0);
//!     println!("{} rows, first id {:?}", page.nrow(), ids.get(0));
//! }
//! # Ok(()) }
//! ```
//!
//! A read returns a [`PageStream`]; a write a [`PageWriter`] whose
//! [`finish`](PageWriter::finish) returns the plugin's verdict. Errors are [`Error`]s that
//! name the xdrive address, the mount and the op, with [`Error::is_retriable`].

mod client;
pub mod errcode;
mod error;

pub use client::{
    Client, ClientOptions, PageStream, PageWriter, ReadSpec, WriteSpec, WriteSummary, read_over,
};
pub use error::{Error, Target};
pub use xdrive_proto as proto;
