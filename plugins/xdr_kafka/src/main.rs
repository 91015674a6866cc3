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
mod write;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::Args;
use crate::plugin::KafkaPlugin;

/// The environment variable holding the log filter (default `warn`).
const LOG_VAR: &str = "XDR_KAFKA_LOG";

fn main() -> ExitCode {
    init_logs();
    let mount = match Args::try_parse() {
        Ok(args) => args.mount(),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // Started by xdrive: the error goes to the client as the request's error reply.
        Err(e) if std::env::var_os(xdrive_plugin::XDRIVE_FD_VAR).is_some() => {
            Err(format!("bad arguments: {}", first_line(&e)))
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    match &mount {
        Ok(m) => {
            tracing::debug!(consumer = %m.consumer(), producer = %m.producer(), "Kafka settings.")
        }
        Err(e) => tracing::error!("Bad arguments: {e}"),
    }
    xdrive_plugin::main(KafkaPlugin::new(mount))
}

/// The first line of clap's message, without its "error: " prefix.
fn first_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_VAR)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .init();
}
