//! `xdrive.toml`: serde structs that mirror the file exactly ([`RawConfig`]), and the
//! validated, resolved [`Config`] that [`RawConfig::validate`] makes of it.
//!
//! The seed documents `[xdrive]` with `dir`, `port`, `host` and `pluginpath`, and
//! `[[xdrive.mount]]` with `name`, `argv` and `env`. Our own keys (`max_requests`,
//! `shutdown_grace_secs`, `opening_timeout_secs`, `plugin_exit_grace_secs`,
//! `max_frame_bytes`) live in `[xdrive]` too and are marked as ours in the README.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The port xdrive listens on when `port` is absent (the seed's `dgkafka.toml` uses it).
pub const DEFAULT_PORT: u16 = 7171;
/// The address xdrive listens on when `host` is absent: loopback only.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The most requests (plugin processes) served at once when `max_requests` is absent.
pub const DEFAULT_MAX_REQUESTS: usize = 64;
/// How long in-flight requests may run after SIGTERM when `shutdown_grace_secs` is absent.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;
/// How long a client may take to send its opening frames when `opening_timeout_secs` is
/// absent.
pub const DEFAULT_OPENING_TIMEOUT_SECS: u64 = 30;
/// How long a plugin may take to exit after its conversation ended when
/// `plugin_exit_grace_secs` is absent.
pub const DEFAULT_PLUGIN_EXIT_GRACE_SECS: u64 = 10;
/// The largest frame payload accepted or sent when `max_frame_bytes` is absent.
pub const DEFAULT_MAX_FRAME_BYTES: usize = xdrive_proto::frame::DEFAULT_MAX_FRAME_LEN;

/// The environment variable that carries the plugin's link fd; a mount may not set it.
pub const XDRIVE_FD_VAR: &str = "XDRIVE_FD";

/// The whole file.
#[derive(Debug, Deserialize)]
pub struct RawConfig {
    /// The `[xdrive]` table.
    pub xdrive: Option<RawXdrive>,
    /// Tables other than `[xdrive]`: warned about, not refused.
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

/// `[xdrive]`.
#[derive(Debug, Deserialize)]
pub struct RawXdrive {
    /// Seed: xdrive's home; plugins under `<dir>/plugin/`, logs under `<dir>/log/`.
    pub dir: Option<PathBuf>,
    /// Seed: the TCP port.
    pub port: Option<i64>,
    /// Seed: the addresses to listen on.
    pub host: Option<Vec<String>>,
    /// Seed: more directories in which to look for a relative `argv[0]`.
    #[serde(default)]
    pub pluginpath: Vec<PathBuf>,
    /// Seed: `[[xdrive.mount]]`.
    #[serde(default)]
    pub mount: Vec<RawMount>,
    /// Ours: the most requests served at once.
    pub max_requests: Option<i64>,
    /// Ours: seconds in-flight requests may run after SIGTERM.
    pub shutdown_grace_secs: Option<i64>,
    /// Ours: seconds a client may take to send its opening frames.
    pub opening_timeout_secs: Option<i64>,
    /// Ours: seconds a plugin may take to exit once its conversation ended.
    pub plugin_exit_grace_secs: Option<i64>,
    /// Ours: the largest frame payload, in bytes.
    pub max_frame_bytes: Option<i64>,
    /// Keys we do not know: warned about, not refused (Deepgreen's file may carry more).
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

/// `[[xdrive.mount]]`.
#[derive(Deserialize)]
pub struct RawMount {
    /// The mountpoint: the first segment of a request's path.
    pub name: Option<String>,
    /// The plugin's command line; `argv[0]` is the plugin.
    pub argv: Option<Vec<String>>,
    /// `K=V` entries added to the plugin's environment.
    #[serde(default)]
    pub env: Vec<String>,
    /// Keys we do not know.
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

impl fmt::Debug for RawMount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawMount")
            .field("name", &self.name)
            .field("argv", &self.argv.as_deref().map(RedactedArgv))
            .field("env", &RedactedEnv(&self.env))
            .finish_non_exhaustive()
    }
}

/// Why a configuration cannot be used. Every variant names the file or the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML of the expected shape.
    #[error("{} is not a valid xdrive.toml", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser found.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A required key is absent.
    #[error("{key} is required")]
    Missing {
        /// The key, e.g. `xdrive.dir` or `xdrive.mount[1].argv`.
        key: String,
    },
    /// A key's value cannot be used.
    #[error("{key} = {value}: {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// The value as written (secrets never reach here: only names, ports, counts).
        value: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// Two mounts share a name.
    #[error(
        "xdrive.mount[{second}].name = {name:?}: the name is already used by xdrive.mount[{first}]"
    )]
    DuplicateMount {
        /// The name.
        name: String,
        /// Index of the first mount with it.
        first: usize,
        /// Index of the second.
        second: usize,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// xdrive's home (absolute).
    pub dir: PathBuf,
    /// The TCP port (0: any free port, ours, for tests).
    pub port: u16,
    /// The addresses to listen on.
    pub hosts: Vec<String>,
    /// Directories searched for a relative `argv[0]`: `<dir>/plugin` first, then
    /// `pluginpath` in order (absolute).
    pub plugin_dirs: Vec<PathBuf>,
    /// The mounts by name.
    pub mounts: BTreeMap<String, Mount>,
    /// The most requests served at once.
    pub max_requests: usize,
    /// How long in-flight requests may run after SIGTERM.
    pub shutdown_grace: Duration,
    /// How long a client may take to send its opening frames.
    pub opening_timeout: Duration,
    /// How long a plugin may take to exit once its conversation ended.
    pub plugin_exit_grace: Duration,
    /// The largest frame payload accepted or sent.
    pub max_frame_bytes: usize,
    /// Keys we do not know, for a warning.
    pub unknown_keys: Vec<String>,
}

/// One mount, validated.
#[derive(Clone)]
pub struct Mount {
    /// The mountpoint.
    pub name: String,
    /// The plugin's command line, `argv[0]` as written.
    pub argv: Vec<String>,
    /// Environment entries added for the plugin.
    pub env: Vec<(String, String)>,
}

impl fmt::Debug for Mount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Mount")
            .field("name", &self.name)
            .field("argv", &RedactedArgv(&self.argv))
            .field("env_keys", &env)
            .finish()
    }
}

/// Shows an argv with the values of secret-looking `key=value` arguments replaced.
struct RedactedArgv<'a>(&'a [String]);

impl fmt::Debug for RedactedArgv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|a| redact_arg(a)))
            .finish()
    }
}

/// Shows `K=V` entries as `K=***`.
struct RedactedEnv<'a>(&'a [String]);

impl fmt::Debug for RedactedEnv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|e| format!("{}=***", e.split('=').next().unwrap_or_default())),
            )
            .finish()
    }
}

/// `ssl.key.password=x` → `ssl.key.password=***`; other arguments unchanged.
fn redact_arg(arg: &str) -> String {
    match arg.split_once('=') {
        Some((key, _)) => {
            let k = key.to_ascii_lowercase();
            if ["password", "secret", "token", "credential"]
                .iter()
                .any(|s| k.contains(s))
            {
                format!("{key}=***")
            } else {
                arg.to_owned()
            }
        }
        None => arg.to_owned(),
    }
}

impl RawConfig {
    /// Reads and parses `path` (no validation).
    pub fn load(path: &Path) -> Result<RawConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        RawConfig::parse(&text, path)
    }

    /// Parses `text`, naming `path` in errors.
    pub fn parse(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Checks every key and resolves paths: a relative `dir` against `base` (the config
    /// file's directory), a relative `pluginpath` entry against `dir`.
    pub fn validate(self, base: &Path) -> Result<Config, ConfigError> {
        let mut unknown_keys: Vec<String> = self.other.into_keys().collect();
        let x = self.xdrive.ok_or_else(|| ConfigError::Missing {
            key: "xdrive".into(),
        })?;
        unknown_keys.extend(x.other.keys().map(|k| format!("xdrive.{k}")));

        let dir = x.dir.ok_or_else(|| ConfigError::Missing {
            key: "xdrive.dir".into(),
        })?;
        if dir.as_os_str().is_empty() {
            return Err(invalid("xdrive.dir", "\"\"", "must name a directory"));
        }
        let dir = if dir.is_absolute() {
            dir
        } else {
            base.join(dir)
        };

        let port = match x.port {
            None => DEFAULT_PORT,
            Some(p) => u16::try_from(p).map_err(|_| {
                invalid(
                    "xdrive.port",
                    p,
                    "must be a TCP port from 1 to 65535 (or 0 for any free port)",
                )
            })?,
        };

        let hosts = x.host.unwrap_or_else(|| vec![DEFAULT_HOST.to_owned()]);
        if hosts.is_empty() {
            return Err(invalid(
                "xdrive.host",
                "[]",
                "must list at least one address to listen on",
            ));
        }
        for (i, h) in hosts.iter().enumerate() {
            if h.trim().is_empty() || h.contains(char::is_whitespace) {
                return Err(invalid(
                    format!("xdrive.host[{i}]"),
                    format!("{h:?}"),
                    "must be a host name or IP address",
                ));
            }
        }

        let mut plugin_dirs = vec![dir.join("plugin")];
        for (i, p) in x.pluginpath.into_iter().enumerate() {
            if p.as_os_str().is_empty() {
                return Err(invalid(
                    format!("xdrive.pluginpath[{i}]"),
                    "\"\"",
                    "must name a directory",
                ));
            }
            plugin_dirs.push(if p.is_absolute() { p } else { dir.join(p) });
        }

        let mut mounts = BTreeMap::new();
        let mut index_of: BTreeMap<String, usize> = BTreeMap::new();
        for (i, m) in x.mount.into_iter().enumerate() {
            unknown_keys.extend(m.other.keys().map(|k| format!("xdrive.mount[{i}].{k}")));
            let mount = validate_mount(i, m)?;
            if let Some(&first) = index_of.get(&mount.name) {
                return Err(ConfigError::DuplicateMount {
                    name: mount.name,
                    first,
                    second: i,
                });
            }
            index_of.insert(mount.name.clone(), i);
            mounts.insert(mount.name.clone(), mount);
        }

        let max_requests = match x.max_requests {
            None => DEFAULT_MAX_REQUESTS,
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| invalid("xdrive.max_requests", n, "must be at least 1"))?,
        };
        let max_frame_bytes = match x.max_frame_bytes {
            None => DEFAULT_MAX_FRAME_BYTES,
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|&n| (1024..=i32::MAX as usize).contains(&n))
                .ok_or_else(|| {
                    invalid(
                        "xdrive.max_frame_bytes",
                        n,
                        "must be from 1024 to 2147483647 bytes",
                    )
                })?,
        };

        Ok(Config {
            dir,
            port,
            hosts,
            plugin_dirs,
            mounts,
            max_requests,
            shutdown_grace: secs(
                "xdrive.shutdown_grace_secs",
                x.shutdown_grace_secs,
                DEFAULT_SHUTDOWN_GRACE_SECS,
                0,
            )?,
            opening_timeout: secs(
                "xdrive.opening_timeout_secs",
                x.opening_timeout_secs,
                DEFAULT_OPENING_TIMEOUT_SECS,
                1,
            )?,
            plugin_exit_grace: secs(
                "xdrive.plugin_exit_grace_secs",
                x.plugin_exit_grace_secs,
                DEFAULT_PLUGIN_EXIT_GRACE_SECS,
                0,
            )?,
            max_frame_bytes,
            unknown_keys,
        })
    }
}

fn invalid(key: impl Into<String>, value: impl ToString, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}

fn secs(key: &str, value: Option<i64>, default: u64, min: u64) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(Duration::from_secs(default)),
        Some(v) => u64::try_from(v)
            .ok()
            .filter(|&v| v >= min && v <= 24 * 3600)
            .map(Duration::from_secs)
            .ok_or_else(|| {
                invalid(
                    key,
                    v,
                    &format!("must be a number of seconds from {min} to 86400"),
                )
            }),
    }
}

fn validate_mount(i: usize, m: RawMount) -> Result<Mount, ConfigError> {
    let key = |k: &str| format!("xdrive.mount[{i}].{k}");
    let name = m
        .name
        .ok_or_else(|| ConfigError::Missing { key: key("name") })?;
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(invalid(
            key("name"),
            format!("{name:?}"),
            "must be a non-empty path segment (no '/', not '.' or '..')",
        ));
    }
    let argv = m
        .argv
        .ok_or_else(|| ConfigError::Missing { key: key("argv") })?;
    match argv.first() {
        None => {
            return Err(invalid(
                key("argv"),
                "[]",
                "must start with the plugin's program",
            ));
        }
        Some(p) if p.is_empty() => {
            return Err(invalid(
                key("argv[0]"),
                "\"\"",
                "must name the plugin's program",
            ));
        }
        Some(_) => {}
    }
    if let Some(j) = argv.iter().position(|a| a.contains('\0')) {
        return Err(invalid(
            key(&format!("argv[{j}]")),
            "(redacted)",
            "must not contain a NUL character",
        ));
    }
    let mut env = Vec::with_capacity(m.env.len());
    for (j, entry) in m.env.iter().enumerate() {
        let ek = key(&format!("env[{j}]"));
        let Some((k, v)) = entry.split_once('=') else {
            return Err(invalid(
                ek,
                "(redacted)",
                "must be KEY=VALUE (no '=' found)",
            ));
        };
        if k.is_empty() || k.contains('\0') || v.contains('\0') {
            return Err(invalid(
                ek,
                format!("{k}=..."),
                "must be KEY=VALUE with a non-empty KEY and no NUL",
            ));
        }
        if k == XDRIVE_FD_VAR {
            return Err(invalid(
                ek,
                format!("{k}=..."),
                "XDRIVE_FD is set by xdrive itself and cannot be configured",
            ));
        }
        env.push((k.to_owned(), v.to_owned()));
    }
    Ok(Mount { name, argv, env })
}

/// Why a plugin program cannot be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProgramError {
    /// No candidate path exists.
    #[error("plugin program {program:?} of mount {mount:?} not found (looked at {})", list(.looked_at))]
    NotFound {
        /// The mount.
        mount: String,
        /// `argv[0]` as written.
        program: String,
        /// Every path tried.
        looked_at: Vec<PathBuf>,
    },
    /// The path exists but is not an executable file.
    #[error("plugin program {} of mount {mount:?} is not an executable file", path.display())]
    NotExecutable {
        /// The mount.
        mount: String,
        /// The path found.
        path: PathBuf,
    },
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Config {
    /// Loads, parses and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        let base = std::path::absolute(&base).unwrap_or(base);
        RawConfig::load(path)?.validate(&base)
    }

    /// The log directory, `<dir>/log`.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// Resolves a mount's `argv[0]`: an absolute path as is; a relative one under
    /// `<dir>/plugin/`, then under each `pluginpath` entry, the first that exists. Checks
    /// that the result is an executable file.
    pub fn resolve_program(&self, mount: &Mount) -> Result<PathBuf, ProgramError> {
        let program = &mount.argv[0];
        let p = Path::new(program);
        let candidates: Vec<PathBuf> = if p.is_absolute() {
            vec![p.to_path_buf()]
        } else {
            self.plugin_dirs.iter().map(|d| d.join(p)).collect()
        };
        let Some(found) = candidates.iter().find(|c| c.exists()) else {
            return Err(ProgramError::NotFound {
                mount: mount.name.clone(),
                program: program.clone(),
                looked_at: candidates,
            });
        };
        let executable = std::fs::metadata(found)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false);
        if !executable {
            return Err(ProgramError::NotExecutable {
                mount: mount.name.clone(),
                path: found.clone(),
            });
        }
        Ok(found.clone())
    }

    /// Finds the mount a request path names: `/mount/rest`.
    pub fn route<'a>(&'a self, path: &str) -> Result<Route<'a>, RouteError> {
        let (name, rest) = split_request_path(path)?;
        let mount = self
            .mounts
            .get(name)
            .ok_or_else(|| RouteError::UnknownMount {
                name: name.to_owned(),
                known: self.mounts.keys().cloned().collect(),
            })?;
        Ok(Route { mount, rest })
    }
}

/// Where a request goes.
#[derive(Debug)]
pub struct Route<'a> {
    /// The mount.
    pub mount: &'a Mount,
    /// The normalised rest of the path below the mount (no leading '/', may be empty).
    pub rest: String,
}

/// Why a request path names no mount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The path has no first segment.
    #[error("path {path:?} names no mountpoint: expected /MOUNT/...")]
    NoMount {
        /// The path.
        path: String,
    },
    /// No mount has that name.
    #[error("unknown mountpoint {name:?}: this xdrive mounts {}", known_list(.known))]
    UnknownMount {
        /// The first segment.
        name: String,
        /// The mounts configured.
        known: Vec<String>,
    },
    /// A `..` segment climbs out of the mount.
    #[error("path {path:?} escapes its mountpoint with '..'")]
    Escapes {
        /// The path.
        path: String,
    },
    /// The path holds a NUL byte.
    #[error("path {path:?} contains a NUL character")]
    Nul {
        /// The path.
        path: String,
    },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "nothing".to_owned()
    } else {
        known
            .iter()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Splits `/mount/a/b` into `("mount", "a/b")`, normalising `.` and empty segments and
/// refusing a `..` that would climb above the mount (including `/../x` and `/m/../n`).
pub fn split_request_path(path: &str) -> Result<(&str, String), RouteError> {
    if path.contains('\0') {
        return Err(RouteError::Nul {
            path: path.to_owned(),
        });
    }
    let mut segments = path.split('/').filter(|s| !s.is_empty() && *s != ".");
    let name = match segments.next() {
        None => {
            return Err(RouteError::NoMount {
                path: path.to_owned(),
            });
        }
        Some("..") => {
            return Err(RouteError::Escapes {
                path: path.to_owned(),
            });
        }
        Some(n) => n,
    };
    let mut rest: Vec<&str> = Vec::new();
    for s in segments {
        if s == ".." {
            if rest.pop().is_none() {
                return Err(RouteError::Escapes {
                    path: path.to_owned(),
                });
            }
        } else {
            rest.push(s);
        }
    }
    Ok((name, rest.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        RawConfig::parse(text, Path::new("xdrive.toml"))?.validate(Path::new("/etc/xd"))
    }

    const SEED: &str = r#"
[xdrive]
dir = "/home/gpadmin/xdrive"
port = 7171
host = ["localhost"]
pluginpath = ["/opt/plugins", "more"]

[[xdrive.mount]]
name = "kafka"
argv = ["xdr_kafka/xdr_kafka",
     "-X", "security.protocol=SSL",
     "-X", "ssl.key.password=kafka123",
     "kafkahost1:9092,kafkahost2:9092"]

[[xdrive.mount]]
name = "kafkaoffset"
argv = ["xdr_kafkaoffset/xdr_kafkaoffset", "kafkahost1:9092"]
env = ["RUST_LOG=info", "A=b=c"]
"#;

    #[test]
    fn seed_file_parses_with_defaults_for_our_keys() {
        let c = parse(SEED).unwrap();
        assert_eq!(c.dir, Path::new("/home/gpadmin/xdrive"));
        assert_eq!(c.port, 7171);
        assert_eq!(c.hosts, ["localhost"]);
        assert_eq!(
            c.plugin_dirs,
            [
                PathBuf::from("/home/gpadmin/xdrive/plugin"),
                PathBuf::from("/opt/plugins"),
                PathBuf::from("/home/gpadmin/xdrive/more"),
            ]
        );
        assert_eq!(c.mounts.len(), 2);
        let k = &c.mounts["kafkaoffset"];
        assert_eq!(
            k.env,
            [
                ("RUST_LOG".to_owned(), "info".to_owned()),
                ("A".to_owned(), "b=c".to_owned())
            ]
        );
        assert_eq!(c.max_requests, DEFAULT_MAX_REQUESTS);
        assert_eq!(
            c.shutdown_grace,
            Duration::from_secs(DEFAULT_SHUTDOWN_GRACE_SECS)
        );
        assert!(c.unknown_keys.is_empty());
    }

    #[test]
    fn defaults_when_only_dir_is_given() {
        let c = parse("[xdrive]\ndir = \"xd\"\n").unwrap();
        assert_eq!(c.dir, Path::new("/etc/xd/xd"));
        assert_eq!(c.port, DEFAULT_PORT);
        assert_eq!(c.hosts, [DEFAULT_HOST]);
        assert!(c.mounts.is_empty());
    }

    #[test]
    fn our_keys_are_read() {
        let c = parse(
            "[xdrive]\ndir = \"/x\"\nport = 0\nmax_requests = 3\nshutdown_grace_secs = 0\n\
             opening_timeout_secs = 5\nplugin_exit_grace_secs = 2\nmax_frame_bytes = 2048\n",
        )
        .unwrap();
        assert_eq!(c.port, 0);
        assert_eq!(c.max_requests, 3);
        assert_eq!(c.shutdown_grace, Duration::ZERO);
        assert_eq!(c.opening_timeout, Duration::from_secs(5));
        assert_eq!(c.plugin_exit_grace, Duration::from_secs(2));
        assert_eq!(c.max_frame_bytes, 2048);
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = parse(SEED).unwrap();
        let dbg = format!("{:?}", c);
        assert!(!dbg.contains("kafka123"), "{dbg}");
        assert!(dbg.contains("ssl.key.password=***"), "{dbg}");
        assert!(!dbg.contains("b=c"), "{dbg}");
        let raw = RawConfig::parse(SEED, Path::new("x")).unwrap();
        let dbg = format!("{:?}", raw);
        assert!(!dbg.contains("kafka123"), "{dbg}");
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(err(""), "xdrive is required");
        assert_eq!(err("[xdrive]\nport = 1\n"), "xdrive.dir is required");
        assert_eq!(
            err("[xdrive]\ndir = \"/x\"\nport = 70000\n"),
            "xdrive.port = 70000: must be a TCP port from 1 to 65535 (or 0 for any free port)"
        );
        assert_eq!(
            err("[xdrive]\ndir = \"/x\"\nhost = []\n"),
            "xdrive.host = []: must list at least one address to listen on"
        );
        assert_eq!(
            err("[xdrive]\ndir = \"/x\"\nmax_requests = 0\n"),
            "xdrive.max_requests = 0: must be at least 1"
        );
        assert_eq!(
            err("[xdrive]\ndir = \"/x\"\nshutdown_grace_secs = -1\n"),
            "xdrive.shutdown_grace_secs = -1: must be a number of seconds from 0 to 86400"
        );
        assert_eq!(
            err("[xdrive]\ndir = \"/x\"\n[[xdrive.mount]]\nargv = [\"p\"]\n"),
            "xdrive.mount[0].name is required"
        );
        assert_eq!(
            err("[xdrive]\ndir = \"/x\"\n[[xdrive.mount]]\nname = \"k\"\n"),
            "xdrive.mount[0].argv is required"
        );
        assert_eq!(
            err("[xdrive]\ndir = \"/x\"\n[[xdrive.mount]]\nname = \"k\"\nargv = []\n"),
            "xdrive.mount[0].argv = []: must start with the plugin's program"
        );
        assert_eq!(
            err("[xdrive]\ndir = \"/x\"\n[[xdrive.mount]]\nname = \"a/b\"\nargv = [\"p\"]\n"),
            "xdrive.mount[0].name = \"a/b\": must be a non-empty path segment (no '/', not '.' or '..')"
        );
        assert_eq!(
            err(
                "[xdrive]\ndir = \"/x\"\n[[xdrive.mount]]\nname = \"k\"\nargv = [\"p\"]\nenv = [\"NOEQUALS\"]\n"
            ),
            "xdrive.mount[0].env[0] = (redacted): must be KEY=VALUE (no '=' found)"
        );
        assert_eq!(
            err(
                "[xdrive]\ndir = \"/x\"\n[[xdrive.mount]]\nname = \"k\"\nargv = [\"p\"]\nenv = [\"XDRIVE_FD=9\"]\n"
            ),
            "xdrive.mount[0].env[0] = XDRIVE_FD=...: XDRIVE_FD is set by xdrive itself and cannot be configured"
        );
        assert_eq!(
            err(
                "[xdrive]\ndir = \"/x\"\n[[xdrive.mount]]\nname = \"k\"\nargv = [\"p\"]\n\
                 [[xdrive.mount]]\nname = \"j\"\nargv = [\"p\"]\n\
                 [[xdrive.mount]]\nname = \"k\"\nargv = [\"q\"]\n"
            ),
            "xdrive.mount[2].name = \"k\": the name is already used by xdrive.mount[0]"
        );
    }

    #[test]
    fn wrong_types_are_parse_errors_naming_the_key() {
        let e = parse("[xdrive]\ndir = \"/x\"\nport = \"7171\"\n").unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }));
        let chain = format!("{e}: {}", std::error::Error::source(&e).unwrap());
        assert!(chain.contains("port"), "{chain}");
        assert!(chain.starts_with("xdrive.toml is not a valid xdrive.toml"));
    }

    #[test]
    fn unknown_keys_are_collected_not_refused() {
        let c = parse(
            "[other]\na = 1\n[xdrive]\ndir = \"/x\"\nmaxx = 3\n[[xdrive.mount]]\nname = \"k\"\nargv = [\"p\"]\nenvv = []\n",
        )
        .unwrap();
        assert_eq!(
            c.unknown_keys,
            ["other", "xdrive.maxx", "xdrive.mount[0].envv"]
        );
    }

    #[test]
    fn request_paths_split_and_normalise() {
        assert_eq!(split_request_path("/kafka/").unwrap(), ("kafka", "".into()));
        assert_eq!(split_request_path("kafka").unwrap(), ("kafka", "".into()));
        assert_eq!(
            split_request_path("//kafka/./a//b/").unwrap(),
            ("kafka", "a/b".into())
        );
        assert_eq!(
            split_request_path("/kafka/a/../b").unwrap(),
            ("kafka", "b".into())
        );
    }

    #[test]
    fn request_paths_that_escape_are_refused() {
        for p in [
            "/kafka/..",
            "/kafka/../x",
            "/kafka/a/../../x",
            "/../kafka",
            "..",
            "/kafka/./../b",
        ] {
            assert_eq!(
                split_request_path(p),
                Err(RouteError::Escapes { path: p.into() }),
                "{p}"
            );
        }
        assert!(matches!(
            split_request_path("/"),
            Err(RouteError::NoMount { .. })
        ));
        assert!(matches!(
            split_request_path(""),
            Err(RouteError::NoMount { .. })
        ));
        assert!(matches!(
            split_request_path("/k/a\0"),
            Err(RouteError::Nul { .. })
        ));
    }

    #[test]
    fn route_finds_mounts_and_names_unknown_ones() {
        let c = parse(SEED).unwrap();
        let r = c.route("/kafka/topic").unwrap();
        assert_eq!(r.mount.name, "kafka");
        assert_eq!(r.rest, "topic");
        assert_eq!(
            c.route("/nope/x").unwrap_err().to_string(),
            "unknown mountpoint \"nope\": this xdrive mounts \"kafka\", \"kafkaoffset\""
        );
    }

    #[test]
    fn programs_resolve_under_dir_then_pluginpath() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let extra = tmp.path().join("extra");
        std::fs::create_dir_all(home.join("plugin/a")).unwrap();
        std::fs::create_dir_all(&extra).unwrap();
        let exe = |p: &Path| {
            std::fs::write(p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        exe(&home.join("plugin/a/one"));
        exe(&extra.join("two"));
        std::fs::write(extra.join("plain"), "").unwrap();
        exe(&home.join("plugin/two")); // shadows extra/two: <dir>/plugin comes first
        let text = format!(
            "[xdrive]\ndir = {:?}\npluginpath = [{:?}]\n\
             [[xdrive.mount]]\nname = \"one\"\nargv = [\"a/one\"]\n\
             [[xdrive.mount]]\nname = \"two\"\nargv = [\"two\"]\n\
             [[xdrive.mount]]\nname = \"plain\"\nargv = [\"plain\"]\n\
             [[xdrive.mount]]\nname = \"abs\"\nargv = [{:?}]\n\
             [[xdrive.mount]]\nname = \"missing\"\nargv = [\"nope\"]\n",
            home,
            extra,
            extra.join("two"),
        );
        let c = parse(&text).unwrap();
        let r = |n: &str| c.resolve_program(&c.mounts[n]);
        assert_eq!(r("one").unwrap(), home.join("plugin/a/one"));
        assert_eq!(r("two").unwrap(), home.join("plugin/two"));
        assert_eq!(r("abs").unwrap(), extra.join("two"));
        assert!(matches!(
            r("plain"),
            Err(ProgramError::NotExecutable { .. })
        ));
        let e = r("missing").unwrap_err();
        assert!(matches!(&e, ProgramError::NotFound { looked_at, .. } if looked_at.len() == 2));
        assert!(e.to_string().contains("plugin/nope"), "{e}");
    }
}
