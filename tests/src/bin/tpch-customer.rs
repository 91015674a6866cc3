//! Writes TPC-H `customer` rows to stdout as the seed shows them.
//!
//! Usage: `tpch-customer --rows N` (default 1000).

use std::io::{BufWriter, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut rows: usize = 1000;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--rows", Some(n)) => match n.parse() {
                Ok(n) => rows = n,
                Err(_) => return usage(&format!("--rows takes a number, not {n:?}")),
            },
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    match dgkafka_testkit::tpch::write_customer_rows(rows, &mut out).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tpch-customer: writing rows: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("tpch-customer: {problem}\nusage: tpch-customer [--rows N]");
    ExitCode::from(2)
}
