//! The command line: --help, --check, config errors, exit codes.

use std::process::Command;

fn xdrive(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xdrive"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn config(dir: &std::path::Path, mounts: &str) -> String {
    let path = dir.join("xdrive.toml");
    std::fs::write(
        &path,
        format!("[xdrive]\ndir = {dir:?}\nport = 7171\n{mounts}"),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn help_teaches_the_config_and_exit_codes() {
    let (code, text) = xdrive(&["--help"]);
    assert_eq!(code, 0);
    for needle in [
        "xdrive.toml",
        "[[xdrive.mount]]",
        "max_requests",
        "EXIT CODES",
        "--check",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn check_accepts_a_good_config() {
    let dir = tempfile::tempdir().unwrap();
    let mounts = format!(
        "[[xdrive.mount]]\nname = \"t\"\nargv = [{:?}]\n",
        crate::harness::test_plugin()
    );
    let (code, text) = xdrive(&["--check", &config(dir.path(), &mounts)]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("mount \"t\": plugin"), "{text}");
    assert!(text.contains("OK"), "{text}");
}

#[test]
fn check_reports_a_missing_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let mounts = "[[xdrive.mount]]\nname = \"kafka\"\nargv = [\"xdr_kafka/xdr_kafka\"]\n";
    let (code, text) = xdrive(&["--check", &config(dir.path(), mounts)]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("plugin program \"xdr_kafka/xdr_kafka\" of mount \"kafka\" not found"),
        "{text}"
    );
    assert!(text.contains("plugin/xdr_kafka/xdr_kafka"), "{text}");
}

#[test]
fn an_invalid_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let mounts = "[[xdrive.mount]]\nname = \"k\"\nargv = [\"p\"]\nenv = [\"NOEQUALS\"]\n";
    let (code, text) = xdrive(&[&config(dir.path(), mounts)]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("xdrive.mount[0].env[0]"), "{text}");
}

#[test]
fn a_missing_config_file_exits_2() {
    let (code, text) = xdrive(&["/nonexistent/xdrive.toml"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("cannot read /nonexistent/xdrive.toml"),
        "{text}"
    );
}
