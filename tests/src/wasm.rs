//! WebAssembly components for tests: the transform host's test guests and the example
//! transforms, built by cargo for `wasm32-wasip2` on first use (never checked-in artifacts).
//!
//! The build runs once per test process, with its own target directory
//! (`$DGKAFKA_HOME/target-wasm`) so it never waits on the lock of the `cargo test` that
//! runs us; cargo's own lock on that directory serialises concurrent test processes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Every package [`module`] builds: the transform host's test guests and the example
/// transforms.
pub const WASM_PACKAGES: &[&str] = &[
    "hostile",
    "fs-import",
    "socket-import",
    "json-fields",
    "mask-pii",
    "filter-router",
];

/// The built component of package `name` (one of [`WASM_PACKAGES`]), such as
/// `module("mask-pii")` → `…/wasm32-wasip2/release/mask_pii.wasm`. The first call builds
/// all of [`WASM_PACKAGES`] in release mode; a failed build panics with cargo's output.
pub fn module(name: &str) -> PathBuf {
    module_of(WASM_PACKAGES, name)
}

/// Like [`module`], but builds only `packages` (which must include `name`).
pub fn module_of(packages: &[&str], name: &str) -> PathBuf {
    assert!(
        packages.contains(&name),
        "{name} is not one of the wasm packages {packages:?}"
    );
    static BUILT: OnceLock<Vec<String>> = OnceLock::new();
    // One build per process: the first caller's package list is the one built.
    let built = BUILT.get_or_init(|| {
        build(packages);
        packages.iter().map(|p| (*p).to_owned()).collect()
    });
    assert!(
        built.iter().any(|p| p == name),
        "{name} was not built: this process built only {built:?}"
    );
    let path = release_dir().join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        path.is_file(),
        "cargo built {name} but {} does not exist",
        path.display()
    );
    path
}

/// `$DGKAFKA_HOME/target-wasm` (`DGKAFKA_HOME` defaults to `~/.cache/dgkafka-rs`, as in
/// `tests/env/defaults.env`), without needing the test services.
fn target_dir() -> PathBuf {
    let home = std::env::var_os("DGKAFKA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").expect("HOME is set")).join(".cache/dgkafka-rs")
        });
    home.join("target-wasm")
}

fn release_dir() -> PathBuf {
    target_dir().join("wasm32-wasip2").join("release")
}

fn build(packages: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(crate::repo_root())
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", target_dir())
        // The outer `cargo test` may set these for the host; they are not for the guest.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    for package in packages {
        command.args(["-p", package]);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the wasm test modules: {e}"));
    if !output.status.success() {
        panic!(
            "cargo build --release --target wasm32-wasip2 -p {} failed ({}); is the target \
             installed (tests/env/install adds it)?\n{}",
            packages.join(" -p "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
