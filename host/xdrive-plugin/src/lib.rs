//! The plugin side of the xdrive link: what every plugin's `main` calls.
//!
//! xdrive spawns one plugin process per request and hands it one end of a socket pair as
//! an inherited file descriptor whose number is in the environment variable `XDRIVE_FD`.
//! This crate adopts that descriptor, reads the operation, and serves it through the
//! [`Plugin`] trait:
//!
//! - **read**: `OpSpec` → `OpStatus{flag=1}` → `ReadRequest` → [`Plugin::read`] sends pages
//!   through a [`PageSink`] → the zero-length frame (or an error reply);
//! - **write**: `OpSpec` → `OpStatus` → `WriteRequest` → [`Plugin::write`] takes pages from a
//!   [`PageSource`], which acknowledges every column with a `WriteReply` → the final
//!   `WriteReply` says whether the whole write succeeded;
//! - **sample**, **size_meta** and unknown ops: `OpStatus{errcode < 0}` naming the op.
//!
//! An error the plugin returns becomes an error reply (negative `errcode` and its message),
//! so the database (or `dgkafka`) sees it; a plugin never has to write a frame itself.
//!
//! Plugin `errcode`s: [`ERRCODE_PLUGIN`] (-1) for the plugin's own errors, which sending the
//! request again will not cure (bad data, settings, requests; the default, and what any
//! `std::error::Error` converts into); [`ERRCODE_UNSERVED_OP`] (-2) for an op the plugin does
//! not serve; [`ERRCODE_RETRIABLE`] (-3, [`PluginError::retriable`]) for a backend that is
//! temporarily unavailable (a broker down or restarting, a coordinator not yet ready), which
//! clients retry with backoff (`xdrive::errcode::is_retriable`).
//!
//! ```no_run
//! use std::process::ExitCode;
//! use xdrive_plugin::{PageSink, Plugin, PluginError, ReadRequest};
//! use xdrive_plugin::proto::page::Value;
//!
//! struct Numbers;
//!
//! impl Plugin for Numbers {
//!     fn name(&self) -> &str {
//!         "numbers"
//!     }
//!
//!     fn read(&mut self, _req: &ReadRequest, out: &mut PageSink<'_>) -> Result<(), PluginError> {
//!         let mut page = out.page_builder();
//!         for i in 0..10 {
//!             page.push(Value::Int64(i))?;
//!             page.end_row()?;
//!         }
//!         out.send_builder(&mut page)?;
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> ExitCode {
//!     xdrive_plugin::main(Numbers)
//! }
//! ```
//!
//! A plugin with a command line starts with [`init_logs`] (stderr, which xdrive logs) and
//! [`parse_args`] (clap; bad arguments under xdrive become the request's error reply).
//!
//! [`serve`] runs the same conversation over any `Read + Write` stream, so a plugin's logic
//! can be tested over a socket pair without xdrive.
//!
//! The `dg_utils.xdrive_query` string of a read is `proto::query::find(&req.filter)`, parsed
//! with `proto::query::parse`.

mod fd;
mod link;
mod serve;
mod start;

pub use fd::{FdError, XDRIVE_FD_VAR, adopt_xdrive_fd};
pub use link::LinkError;
pub use serve::{
    ERRCODE_PLUGIN, ERRCODE_RETRIABLE, ERRCODE_UNSERVED_OP, Outcome, PageSink, PageSource, Plugin,
    PluginError, ServeError, main, serve,
};
pub use start::{init_logs, parse_args};
pub use xdrive_proto as proto;
pub use xdrive_proto::message::{ReadRequest, WriteRequest};
