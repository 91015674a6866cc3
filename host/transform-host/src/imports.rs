//! What a transform may import: exactly the WASI interfaces a Rust `wasm32-wasip2` guest
//! imports to print, panic and seed a `HashMap`, and our own `dgkafka:transform`
//! interfaces. Anything else (filesystem, sockets, http, clocks, random) is refused at
//! load time, naming the import. Versions are not checked: `@0.2.x` of an allowed
//! interface is allowed (the linker then checks it can satisfy that version).

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::TransformError;

/// `namespace:package/interface`, without version.
const ALLOWED: &[&str] = &[
    "dgkafka:transform/host",
    "dgkafka:transform/types",
    "wasi:io/poll",
    "wasi:io/error",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:random/insecure-seed",
];

/// Whether the import named `name` (such as `wasi:io/streams@0.2.4`) is allowed.
pub fn is_allowed(name: &str) -> bool {
    let unversioned = name.split_once('@').map_or(name, |(n, _)| n);
    ALLOWED.contains(&unversioned)
}

/// Refuses `component` if it imports anything not allowed, naming all such imports, the
/// most telling first (filesystem or sockets rather than the clocks they bring along).
pub fn check(engine: &Engine, component: &Component, module: &str) -> Result<(), TransformError> {
    let ty = component.component_type();
    let mut forbidden: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name)
        .filter(|name| !is_allowed(name))
        .map(str::to_owned)
        .collect();
    if forbidden.is_empty() {
        return Ok(());
    }
    // Stable: the component's order within each group.
    forbidden.sort_by_key(|name| incidental(name));
    Err(TransformError::ForbiddenImport {
        module: module.to_owned(),
        import: forbidden[0].clone(),
        all: forbidden,
    })
}

/// Imports that come along with others (std's fs and net use clocks and random).
fn incidental(name: &str) -> bool {
    name.starts_with("wasi:clocks/") || name.starts_with("wasi:random/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_rust_guest_needs_is_allowed_in_any_version() {
        for name in [
            "wasi:io/streams@0.2.4",
            "wasi:io/error@0.2.0",
            "wasi:cli/stderr@0.2.6",
            "wasi:cli/terminal-stdout@0.2.4",
            "wasi:random/insecure-seed@0.2.4",
            "dgkafka:transform/host@0.1.0",
            "dgkafka:transform/types@0.1.0",
            "wasi:cli/exit",
        ] {
            assert!(is_allowed(name), "{name}");
        }
    }

    #[test]
    fn capabilities_are_refused() {
        for name in [
            "wasi:filesystem/types@0.2.4",
            "wasi:filesystem/preopens@0.2.4",
            "wasi:sockets/tcp@0.2.4",
            "wasi:http/outgoing-handler@0.2.4",
            "wasi:clocks/wall-clock@0.2.4",
            "wasi:random/random@0.2.4",
            "wasi:io/streams-extra@0.2.4",
            "wasi:cli",
            "env",
            "dgkafka:transform/other@0.1.0",
        ] {
            assert!(!is_allowed(name), "{name}");
        }
    }

    #[test]
    fn clocks_and_random_are_incidental() {
        let mut names = [
            "wasi:clocks/wall-clock@0.2.6",
            "wasi:random/random@0.2.6",
            "wasi:filesystem/types@0.2.6",
            "wasi:sockets/tcp@0.2.6",
        ];
        names.sort_by_key(|n| incidental(n));
        assert_eq!(names[0], "wasi:filesystem/types@0.2.6");
        assert_eq!(names[1], "wasi:sockets/tcp@0.2.6");
    }
}
