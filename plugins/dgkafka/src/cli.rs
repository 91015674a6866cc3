//! The command line: raw arguments (clap derive, one module per subcommand) kept apart
//! from the resolved config.

use anyhow::Result;
use clap::{ArgAction, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

mod check;
mod load;
mod setup;
mod transform;

/// Success.
pub const EXIT_OK: u8 = 0;
/// The command ran and failed: the database is unreachable, a check failed.
pub const EXIT_FAILURE: u8 = 1;
/// The command line is wrong.
pub const EXIT_USAGE: u8 = 2;
/// `dgkafka.toml` cannot be read, parsed or validated.
pub const EXIT_CONFIG: u8 = 3;

const AFTER_HELP: &str = "\
Examples:
  dgkafka setup dgkafka.toml      check the database side and create the offset table
  dgkafka check dgkafka.toml      show the last offsets recorded in the database
  dgkafka check --json dgkafka.toml
  dgkafka load -quit-at-eof dgkafka.toml    load what the topic holds now, then exit
  dgkafka load dgkafka.toml       load continuously until Ctrl-C / SIGTERM
  dgkafka transform test --module m.wasm --input sample.jsonl   try a transform

dgkafka.toml is the seed's file ([dgkafka] connection and xdrive, [kafka.input],
[kafka.output], [kafka.commit]); see examples/dgkafka.toml and plugins/dgkafka/README.md
for every key, its default, and the keys dgkafka-rs adds.

`load` and the [Offset from Kafka] half of `check` reach Kafka through the xdrive at
dgkafka.xdrive_host:xdrive_port, with the xdr_kafka and xdr_kafkaoffset mounts.

Exit codes:
  0  success
  1  the command failed (database or xdrive unreachable, a setup check failed, no offset
     table, an undecodable message without an error table, a mapping that fails)
  2  wrong command line
  3  dgkafka.toml cannot be read, parsed or validated (the message names the key)

Logs: -v info, -vv debug; RUST_LOG overrides (e.g. RUST_LOG=dgkafka=trace).";

/// Load Kafka topics into PostgreSQL exactly once (the Deepgreen dgkafka utility).
#[derive(Debug, Parser)]
#[command(name = "dgkafka", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the database side of dgkafka.toml and create the offset (and error) tables.
    Setup(setup::SetupArgs),
    /// Load the topic into the output table, exactly once.
    Load(load::LoadArgs),
    /// Show the last offsets recorded in kafka.output.offset_table and those in Kafka.
    Check(check::CheckArgs),
    /// Work with WebAssembly transforms: `transform test` runs one over sample messages.
    Transform(transform::TransformArgs),
}

/// The seed writes long flags with one dash (`-quit-at-eof`); these become `--...`
/// before clap sees them. Anything after `--` is left alone.
pub const SINGLE_DASH_FLAGS: [&str; 3] = [
    "-quit-at-eof",
    "-force-reset-earliest",
    "-force-reset-latest",
];

/// The arguments with the seed's single-dash long flags rewritten to `--` form.
pub fn normalize_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut rest = false;
    args.into_iter()
        .map(|arg| {
            if rest {
                return arg;
            }
            if arg == "--" {
                rest = true;
                return arg;
            }
            match arg.to_str() {
                Some(flag) if SINGLE_DASH_FLAGS.contains(&flag) => format!("-{flag}").into(),
                _ => arg,
            }
        })
        .collect()
}

/// Logs go to stderr; stdout is for the command's own output.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Through the live progress line of `load`, when it is drawn.
        .with_writer(dgkafka::progress::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Setup(args) => setup::run(args).await,
        Command::Load(args) => load::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Transform(args) => transform::run(args).await,
    }
}

/// The documented exit code for an error.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if error
        .chain()
        .any(|e| e.is::<dgkafka::config::ConfigError>())
    {
        EXIT_CONFIG
    } else {
        EXIT_FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn setup_takes_one_config_file() {
        let cli = Cli::try_parse_from(["dgkafka", "setup", "dgkafka.toml"]).unwrap();
        let Command::Setup(args) = cli.command else {
            panic!("not setup: {cli:?}");
        };
        assert_eq!(args.config, std::path::PathBuf::from("dgkafka.toml"));
        assert!(Cli::try_parse_from(["dgkafka", "setup"]).is_err());
        let verbose = Cli::try_parse_from(["dgkafka", "setup", "-vv", "x.toml"]).unwrap();
        assert_eq!(verbose.verbose, 2);
    }

    #[test]
    fn check_takes_json_and_one_config_file() {
        let cli = Cli::try_parse_from(["dgkafka", "check", "--json", "d.toml"]).unwrap();
        let Command::Check(args) = cli.command else {
            panic!("not check: {cli:?}");
        };
        assert!(args.json);
        assert_eq!(args.config, std::path::PathBuf::from("d.toml"));
        let plain = Cli::try_parse_from(["dgkafka", "check", "d.toml"]).unwrap();
        assert!(matches!(plain.command, Command::Check(ref a) if !a.json));
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(normalize_args(args.iter().map(std::ffi::OsString::from)))
    }

    #[test]
    fn load_takes_the_seeds_single_dash_flags() {
        let cli = parse(&[
            "dgkafka",
            "load",
            "-quit-at-eof",
            "-force-reset-earliest",
            "-v",
            "d.toml",
        ])
        .unwrap();
        assert_eq!(cli.verbose, 1);
        let Command::Load(args) = cli.command else {
            panic!("not load: {cli:?}");
        };
        assert!(args.quit_at_eof && args.force_reset_earliest && !args.force_reset_latest);
        assert_eq!(args.config, std::path::PathBuf::from("d.toml"));

        let cli = parse(&["dgkafka", "load", "--force-reset-latest", "d.toml"]).unwrap();
        let Command::Load(args) = cli.command else {
            panic!("not load: {cli:?}");
        };
        assert!(args.force_reset_latest && !args.quit_at_eof);

        let plain = parse(&["dgkafka", "load", "d.toml"]).unwrap();
        assert!(
            matches!(plain.command, Command::Load(ref a) if !a.quit_at_eof && !a.force_reset_earliest)
        );
    }

    #[test]
    fn the_two_resets_exclude_each_other() {
        let err = parse(&[
            "dgkafka",
            "load",
            "-force-reset-earliest",
            "-force-reset-latest",
            "d.toml",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert!(parse(&["dgkafka", "load", "-quit-at-eof"]).is_err());
        assert!(parse(&["dgkafka", "load", "-quit", "d.toml"]).is_err());
    }

    #[test]
    fn arguments_after_a_double_dash_are_left_alone() {
        let args = normalize_args(["dgkafka", "load", "--", "-quit-at-eof"].map(Into::into));
        assert_eq!(args[3], "-quit-at-eof");
    }

    #[test]
    fn config_errors_have_their_own_exit_code() {
        let err =
            dgkafka::config::load(std::path::Path::new("/nonexistent/dgkafka.toml")).unwrap_err();
        assert_eq!(exit_code(&anyhow::Error::new(err)), EXIT_CONFIG);
        assert_eq!(exit_code(&anyhow::anyhow!("other")), EXIT_FAILURE);
    }
}
