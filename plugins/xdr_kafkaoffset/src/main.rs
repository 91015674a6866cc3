//! `xdr_kafkaoffset`: the xdrive plugin that reads a consumer group's committed and latest
//! offsets of a topic (one row per partition) and commits offsets for groups.
//!
//! xdrive starts it per request with the mount's argv (`-X key=value ...` and a broker
//! list) and the link in `XDRIVE_FD`. See the crate's README for queries, columns and errors.
//!
//! Exit codes: those of `xdrive_plugin::main` (0 the conversation ended as the protocol says,
//! including an error reply; 1 the link broke; 2 not started by xdrive), and 2 for bad
//! arguments when run by hand.

mod cli;
mod kafka;
mod plugin;
mod request;

use std::ops::ControlFlow;
use std::process::ExitCode;

use crate::cli::Args;
use crate::plugin::OffsetPlugin;

/// The environment variable holding the log filter (default `warn`).
const LOG_VAR: &str = "XDR_KAFKAOFFSET_LOG";

fn main() -> ExitCode {
    xdrive_plugin::init_logs(LOG_VAR);
    let settings = match xdrive_plugin::parse_args::<Args>() {
        ControlFlow::Continue(args) => args.and_then(|a| a.settings().map_err(|e| e.to_string())),
        ControlFlow::Break(code) => return code,
    };
    match &settings {
        Ok(s) => tracing::debug!(settings = %s, "Kafka settings."),
        Err(e) => tracing::error!("Bad arguments: {e}"),
    }
    xdrive_plugin::main(OffsetPlugin::new(settings))
}
