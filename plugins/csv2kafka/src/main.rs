//! `csv2kafka -d delimiterForRead -w delimiterForWrite -X key1=value1 ... brokers topic csvfile`

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use csv2kafka::cli::Args;
use csv2kafka::{exit, progress};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with 2 (0 for --help and --version).
    let args = Args::parse();
    init_logging(args.verbose);
    let config = match args.resolve() {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    let mut progress = progress::for_stderr(config.quiet);
    match csv2kafka::run(&config, progress.as_mut()) {
        Err(e) => fail(e),
        Ok(outcome) => {
            if !config.quiet {
                println!("{}", outcome.summary);
            }
            match outcome.error {
                Some(e) => fail(e),
                None => ExitCode::from(exit::OK),
            }
        }
    }
}

fn fail(e: csv2kafka::Error) -> ExitCode {
    let code = e.exit_code();
    eprintln!("csv2kafka: error: {:#}", anyhow::Error::new(e));
    ExitCode::from(code)
}

/// Logs go to stderr. `RUST_LOG` wins; otherwise warnings of our own, and with `-v` our
/// information and librdkafka's messages too.
fn init_logging(verbose: bool) {
    let default = if verbose {
        "info,librdkafka=info"
    } else {
        "warn,librdkafka=off"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .try_init();
}
