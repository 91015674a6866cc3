//! `dgkafka`: see `dgkafka --help`.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse_from(cli::normalize_args(std::env::args_os())) {
        Ok(args) => args,
        Err(e) => {
            // --help and --version go to stdout with success; usage errors to stderr.
            let code = if e.use_stderr() {
                cli::EXIT_USAGE
            } else {
                cli::EXIT_OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    cli::init_tracing(args.verbose);
    // Multi-threaded: `load`'s readers encode COPY data in parallel.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("dgkafka: error: cannot start the async runtime: {e}");
            return ExitCode::from(cli::EXIT_FAILURE);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::from(cli::EXIT_OK),
        Err(e) => {
            eprintln!("dgkafka: error: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
