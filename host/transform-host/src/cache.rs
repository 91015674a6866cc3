//! Compiled components on disk, so a restart (or a second process) does not compile a
//! transform again.
//!
//! - The key is sha256 of the wasm bytes and of `Engine::precompile_compatibility_hash`
//!   (wasmtime's version, the target and the compilation settings): an artifact is only
//!   ever looked up by an engine that can run it.
//! - `<key>.cwasm` holds `Component::serialize()`; `<key>.cwasm.sha256` the sha256 of those
//!   bytes. Deserializing a corrupted artifact may not fail cleanly (it is machine code),
//!   so the bytes are checked against that sum first; a mismatch, a missing sum or a
//!   failed deserialization means "not cached": the module is compiled and written again.
//! - Files are written under a temporary name in the cache directory and renamed into
//!   place, never written in place: another process may have the old file mmapped.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: &Path) -> io::Result<Cache> {
        fs::create_dir_all(dir)?;
        Ok(Cache {
            dir: dir.to_path_buf(),
        })
    }

    /// The cache key of `wasm` compiled by `engine`.
    pub fn key(engine: &Engine, wasm: &[u8]) -> String {
        let mut hasher = ShaHasher(Sha256::new());
        hasher.0.update(Sha256::digest(wasm));
        engine.precompile_compatibility_hash().hash(&mut hasher);
        hex(&hasher.0.finalize())
    }

    pub fn artifact_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.cwasm"))
    }

    fn sum_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.cwasm.sha256"))
    }

    /// The cached component of `key`, if there is one and it is intact.
    pub fn load(&self, engine: &Engine, key: &str, module: &str) -> Option<Component> {
        let path = self.artifact_path(key);
        let expected = fs::read_to_string(self.sum_path(key)).ok()?;
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::debug!(module, path = %path.display(), error = %e, "Transform module not in the cache");
                return None;
            }
        };
        if hex(&Sha256::digest(&bytes)) != expected.trim() {
            tracing::warn!(
                module,
                path = %path.display(),
                "Cached transform module does not match its checksum; compiling it again"
            );
            return None;
        }
        drop(bytes);
        // SAFETY: the file is one this loader wrote from `Component::serialize` (in a
        // directory only the loader writes, under a name keyed by the engine's
        // compatibility hash) and its bytes match the checksum written with it, so it is not
        // user-supplied or corrupted machine code. It is never modified in place (new
        // files are renamed over it), which the mmap this makes requires.
        #[allow(unsafe_code, reason = "deserializing our own checked artifact")]
        let component = unsafe { Component::deserialize_file(engine, &path) };
        match component {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(
                    module,
                    path = %path.display(),
                    error = %e,
                    "Cached transform module cannot be loaded; compiling it again"
                );
                None
            }
        }
    }

    /// Writes `component` under `key`: the artifact, then its checksum.
    pub fn store(&self, key: &str, component: &Component) -> io::Result<()> {
        let bytes = component.serialize().map_err(io::Error::other)?;
        self.write_atomically(&self.artifact_path(key), &bytes)?;
        self.write_atomically(&self.sum_path(key), hex(&Sha256::digest(&bytes)).as_bytes())
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut file = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)?;
        file.write_all(bytes)?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Feeds `Hash` output into sha256 (the std hashers are not meant to be stable).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_depends_on_the_bytes_and_the_engine_settings() {
        let engine = Engine::default();
        let a = Cache::key(&engine, b"one");
        assert_eq!(a, Cache::key(&engine, b"one"));
        assert_ne!(a, Cache::key(&engine, b"two"));
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = Engine::new(&config).unwrap();
        assert_ne!(a, Cache::key(&other, b"one"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn a_missing_checksum_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path()).unwrap();
        let engine = Engine::default();
        fs::write(cache.artifact_path("k"), b"not an artifact").unwrap();
        assert!(cache.load(&engine, "k", "t.wasm").is_none());
    }
}
