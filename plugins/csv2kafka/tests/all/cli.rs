//! The command line as a user meets it (no broker needed).

use crate::csv2kafka;

#[test]
fn help_lists_options_examples_and_exit_codes() {
    let run = csv2kafka(&["--help"], None).ok();
    for needle in [
        "-d, --delimiter",
        "-w, --write-delimiter",
        "-X <KEY=VALUE>",
        "-k, --key",
        "-p, --partition",
        "--header",
        "-n, --limit",
        "--skip-bad-lines",
        "-q, --quiet",
        "--timeout",
        "Examples:",
        "security.protocol=SSL",
        "Exit status:",
        "4  the brokers cannot be reached",
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} not in --help:\n{}",
            run.stdout
        );
    }
}

#[test]
fn usage_errors_exit_2_before_connecting() {
    csv2kafka(&["-d", "||", "127.0.0.1:1", "t", "-"], None)
        .code(2)
        .stderr_has(&["option -d", "not a single one-byte"]);
    csv2kafka(&["-w", "€", "127.0.0.1:1", "t", "-"], None)
        .code(2)
        .stderr_has(&["option -w"]);
    let run = csv2kafka(&["-X", "=kafka123", "127.0.0.1:1", "t", "-"], None)
        .code(2)
        .stderr_has(&["-X pair #1 has an empty key"]);
    assert!(!run.stderr.contains("kafka123"), "{}", run.stderr);
    csv2kafka(&["-X", "no.such.property=1", "127.0.0.1:1", "t", "-"], None)
        .code(2)
        .stderr_has(&["no.such.property"]);
    csv2kafka(&["127.0.0.1:1,", "t", "-"], None)
        .code(2)
        .stderr_has(&["entry #2 is empty"]);
    csv2kafka(&["-k", "0", "127.0.0.1:1", "t", "-"], None).code(2);
    csv2kafka(&["127.0.0.1:1", "t"], None).code(2);
}
