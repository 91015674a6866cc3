//! A plugin binary's first steps before [`main`](crate::main): logs to stderr for xdrive,
//! and its command line (the mount's `argv`) parsed with clap.

use std::ops::ControlFlow;
use std::process::ExitCode;

use clap::error::ErrorKind;

/// Sends `tracing` events to stderr (which xdrive logs, prefixed with the mount and pid),
/// without colours or times; the filter comes from the environment variable `var`
/// (default `warn`).
pub fn init_logs(var: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env(var)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .init();
}

/// The plugin's command line, parsed as `A`:
///
/// * `Continue(Ok(args))`;
/// * `Continue(Err(message))`: bad arguments while started by xdrive (`XDRIVE_FD` set): the
///   plugin should still serve the request, answering it with `message` (`bad arguments:`
///   and the first line of clap's error) as its error reply, so the client sees it;
/// * `Break(code)`: run by hand, `--help` or `--version` printed (exit 0), or bad arguments
///   printed (exit 2).
pub fn parse_args<A: clap::Parser>() -> ControlFlow<ExitCode, Result<A, String>> {
    let started_by_xdrive = std::env::var_os(crate::XDRIVE_FD_VAR).is_some();
    decide(A::try_parse(), started_by_xdrive)
}

/// What to do with clap's result (see [`parse_args`]); prints clap's message when run by
/// hand.
fn decide<A>(
    parsed: Result<A, clap::Error>,
    started_by_xdrive: bool,
) -> ControlFlow<ExitCode, Result<A, String>> {
    match parsed {
        Ok(args) => ControlFlow::Continue(Ok(args)),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            ControlFlow::Break(ExitCode::SUCCESS)
        }
        // Started by xdrive: the error goes to the client as the request's error reply.
        Err(e) if started_by_xdrive => {
            ControlFlow::Continue(Err(format!("bad arguments: {}", first_line(&e))))
        }
        Err(e) => {
            let _ = e.print();
            ControlFlow::Break(ExitCode::from(2))
        }
    }
}

/// The first line of clap's message, without its "error: " prefix.
fn first_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    #[command(name = "p", version)]
    struct Args {
        #[arg(short = 'X')]
        properties: Vec<String>,
        brokers: String,
    }

    fn decide_for(argv: &[&str], by_xdrive: bool) -> ControlFlow<ExitCode, Result<Args, String>> {
        decide(
            Args::try_parse_from(std::iter::once("p").chain(argv.iter().copied())),
            by_xdrive,
        )
    }

    fn exit_code(flow: ControlFlow<ExitCode, Result<Args, String>>) -> ExitCode {
        match flow {
            ControlFlow::Break(code) => code,
            ControlFlow::Continue(r) => panic!("continued with {r:?}"),
        }
    }

    #[test]
    fn good_arguments_are_parsed() {
        let ControlFlow::Continue(Ok(a)) = decide_for(&["-X", "k=v", "b:9092"], true) else {
            panic!("parsed")
        };
        assert_eq!(
            (a.properties, a.brokers),
            (vec!["k=v".to_owned()], "b:9092".to_owned())
        );
    }

    #[test]
    fn bad_arguments_are_the_reply_under_xdrive_and_exit_2_by_hand() {
        let ControlFlow::Continue(Err(msg)) = decide_for(&[], true) else {
            panic!("an error reply")
        };
        assert_eq!(
            msg,
            "bad arguments: the following required arguments were not provided:"
        );
        let ControlFlow::Continue(Err(msg)) = decide_for(&["a", "b"], true) else {
            panic!("an error reply")
        };
        assert!(
            msg.starts_with("bad arguments: unexpected argument 'b'"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
        assert_eq!(exit_code(decide_for(&["a", "b"], false)), ExitCode::from(2));
    }

    #[test]
    fn help_and_version_exit_0() {
        for flag in ["--help", "--version"] {
            for by_xdrive in [false, true] {
                assert_eq!(exit_code(decide_for(&[flag], by_xdrive)), ExitCode::SUCCESS);
            }
        }
    }
}
