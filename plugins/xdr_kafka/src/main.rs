//! `xdr_kafka`: the xdrive plugin that reads exact offset ranges of a Kafka topic as typed
//! column pages, and writes rows to a topic.
//!
//! xdrive starts it per request with the mount's argv (`-X key=value ...` and a broker
//! list) and the link in `XDRIVE_FD`. See the crate's README for query keys, reserved
//! columns, row kinds and errors.
//!
//! Exit codes: those of `xdrive_plugin::main` (0 the conversation ended as the protocol says,
//! including an error reply; 1 the link broke; 2 not started by xdrive), and 2 for bad
//! arguments when run by hand.

mod cli;
mod columns;
mod kafka;
mod plugin;
mod range;
mod read;
mod request;
mod transform;
mod write;

use std::ops::ControlFlow;
use std::process::ExitCode;

use crate::cli::Args;
use crate::plugin::KafkaPlugin;

/// The environment variable holding the log filter (default `warn`).
const LOG_VAR: &str = "XDR_KAFKA_LOG";

fn main() -> ExitCode {
    xdrive_plugin::init_logs(LOG_VAR);
    let mount = match xdrive_plugin::parse_args::<Args>() {
        ControlFlow::Continue(args) => args.and_then(|a| a.mount()),
        ControlFlow::Break(code) => return code,
    };
    match &mount {
        Ok(m) => {
            tracing::debug!(consumer = %m.consumer(), producer = %m.producer(), "Kafka settings.")
        }
        Err(e) => tracing::error!("Bad arguments: {e}"),
    }
    xdrive_plugin::main(KafkaPlugin::new(mount))
}
