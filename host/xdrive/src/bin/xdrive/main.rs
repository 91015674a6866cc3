//! `xdrive`: serves xdrive requests by starting one plugin process per request and
//! relaying frames between the client and the plugin. See the crate README.

mod config;
mod plugin;
mod relay;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context as _;
use clap::Parser;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::Config;

/// Exit code: the configuration (or a plugin, with --check) is not usable.
const EXIT_CONFIG: u8 = 2;
/// Exit code: xdrive failed while starting or running (cannot listen, cannot log, ...).
const EXIT_RUNTIME: u8 = 1;

const AFTER_HELP: &str = "\
HOW IT WORKS
  A client (dgkafka, or the database) connects, sends an OpSpec and its request; the
  request's path /MOUNT/... picks a [[xdrive.mount]]. xdrive starts that mount's plugin with
  one end of a socket pair as fd 3 (XDRIVE_FD=3) and the mount's env added, replays the two
  frames to it, and relays frames both ways until the conversation ends. Each request gets its
  own plugin process; a client that goes away gets its plugin killed.

CONFIG (xdrive.toml)
  [xdrive]
  dir = \"/home/gpadmin/xdrive\"     # home: plugins in dir/plugin/, logs in dir/log/
  port = 7171                       # TCP port (default 7171; 0 = any free port)
  host = [\"127.0.0.1\"]              # addresses to listen on (default loopback only)
  pluginpath = [\"/opt/plugins\"]     # more places for a relative argv[0], after dir/plugin/
  max_requests = 64                 # ours: requests (plugins) at once; more are refused
  shutdown_grace_secs = 30          # ours: how long in-flight requests may run after SIGTERM

  [[xdrive.mount]]
  name = \"kafka\"
  argv = [\"xdr_kafka/xdr_kafka\", \"kafkahost1:9092\"]
  env = [\"RUST_LOG=info\"]

EXAMPLES
  xdrive --check /home/gpadmin/xdrive/xdrive.toml   validate config and plugins, then exit
  xdrive /home/gpadmin/xdrive/xdrive.toml           serve until SIGTERM or Ctrl-C

LOGS
  dir/log/xdrive.log and stderr; plugin stdout/stderr lines are logged with mount and pid.
  XDRIVE_LOG sets the level (e.g. XDRIVE_LOG=debug; default info).

EXIT CODES
  0  stopped by SIGTERM/SIGINT after a graceful shutdown (or --check found no problem)
  1  failed while starting or running (cannot listen, cannot write logs)
  2  usage error, invalid configuration, or --check found a problem";

/// xdrive: serves xdrive requests, one plugin process per request.
#[derive(Debug, Parser)]
#[command(version, about, after_help = AFTER_HELP)]
struct Args {
    /// The configuration file (xdrive.toml).
    config: PathBuf,

    /// Validate the configuration and check that every mount's plugin exists and is
    /// executable, then exit (0: all good, 2: problems, listed).
    #[arg(long)]
    check: bool,

    /// Once listening, write the bound addresses here, one HOST:PORT per line (for
    /// scripts and tests; written atomically).
    #[arg(long, value_name = "PATH")]
    ready_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xdrive: {:#}", anyhow::Error::new(e));
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if args.check {
        return check(&args, &config);
    }
    if let Err(e) = init_logging(&config) {
        eprintln!("xdrive: {e:#}");
        return ExitCode::from(EXIT_RUNTIME);
    }
    for key in &config.unknown_keys {
        tracing::warn!(key = %key, "Unknown key in the configuration; ignored");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("xdrive")
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("xdrive: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    match runtime.block_on(server::run(config, args.ready_file.as_deref())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("xdrive: {e:#}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn check(args: &Args, config: &Config) -> ExitCode {
    let mut problems = 0;
    println!("{}: configuration is valid", args.config.display());
    for key in &config.unknown_keys {
        println!("  warning: unknown key {key} is ignored");
    }
    if config.mounts.is_empty() {
        println!("  warning: no [[xdrive.mount]]: every request will be refused");
    }
    for mount in config.mounts.values() {
        match config.resolve_program(mount) {
            Ok(p) => println!(
                "  mount {:?}: plugin {} (executable)",
                mount.name,
                p.display()
            ),
            Err(e) => {
                problems += 1;
                println!("  problem: {e}");
            }
        }
    }
    if problems == 0 {
        println!("OK");
        ExitCode::SUCCESS
    } else {
        println!("{problems} problem(s)");
        ExitCode::from(EXIT_CONFIG)
    }
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    let dir = config.log_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    let path = dir.join("xdrive.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let filter = EnvFilter::try_from_env("XDRIVE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // One layer writing each line to both the file and stderr (two layers would each
    // record span fields into the same span, doubling them).
    let writer = Mutex::new(file).and(std::io::stderr);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer),
        )
        .try_init()
        .context("cannot set up logging")?;
    Ok(())
}
