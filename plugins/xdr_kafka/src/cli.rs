//! The mount's command line: the raw arguments (clap) and the resolved Kafka settings.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Parser;
use kafka_config::{KafkaSettings, MountArgs, seed_mount_example};

/// The consumer settings a read uses unless a `-X` pair overrides them.
///
/// * `enable.auto.commit=false`, `enable.auto.offset.store=false`: a read never commits;
///   the loader keeps offsets in the database (and commits them through xdr_kafkaoffset).
/// * `isolation.level=read_committed`: aborted transactions are never returned.
/// * `auto.offset.reset=error`: a start offset that no longer exists (deleted by retention)
///   fails the read instead of silently jumping elsewhere.
/// * `allow.auto.create.topics=false`: reading never creates a topic.
/// * `socket.timeout.ms=10000`: a broker that stops answering fails a request in 10 s.
/// * `fetch.queue.backoff.ms=10`: librdkafka's default (1000) pauses fetching for a second
///   whenever its local queue is full, which a reader that decodes every message hits
///   constantly: measured 7x slower reads (`benches/read.rs`).
///
/// `group.id` (the query's `group`) and `enable.partition.eof=true` (how a read knows it
/// reached the end of what is available) are always set by the plugin.
pub const CONSUMER_DEFAULTS: &[(&str, &str)] = &[
    ("client.id", "xdr_kafka"),
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("isolation.level", "read_committed"),
    ("auto.offset.reset", "error"),
    ("allow.auto.create.topics", "false"),
    ("socket.timeout.ms", "10000"),
    ("fetch.queue.backoff.ms", "10"),
];

/// The producer settings a write uses unless a `-X` pair overrides them.
///
/// * `enable.idempotence=true`: no duplicates or reordering on retries.
/// * `partitioner=murmur2_random`: keyed messages go where the Java client would put them
///   (as csv2kafka does); messages without a key are spread at random.
/// * `message.timeout.ms=60000`: a message not acknowledged within a minute fails the write.
/// * `socket.timeout.ms=10000`.
pub const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    ("client.id", "xdr_kafka"),
    ("enable.idempotence", "true"),
    ("partitioner", "murmur2_random"),
    ("message.timeout.ms", "60000"),
    ("socket.timeout.ms", "10000"),
];

/// What `--help` says after the options: the seed's mount example and the rest.
fn after_help() -> String {
    format!(
        "\
xdr_kafka is an xdrive plugin: xdrive starts it for each request to its mount, with the
link to xdrive in XDRIVE_FD. Mount it in xdrive.toml as the Deepgreen documentation shows:

{}

Read:  SELECT * FROM kafka_r WHERE dg_utils.xdrive_query($$group=dggrp&start=500,500,500&limit=100$$);
Write: INSERT INTO customer_kafka_w VALUES (1, 'eric', 1.0);
The path is /kafka/TOPIC. Query keys, reserved columns and errors: see the crate's README.

Consumer defaults (each overridable with -X): client.id=xdr_kafka enable.auto.commit=false
  enable.auto.offset.store=false isolation.level=read_committed auto.offset.reset=error
  allow.auto.create.topics=false socket.timeout.ms=10000 fetch.queue.backoff.ms=10
Producer defaults: client.id=xdr_kafka enable.idempotence=true partitioner=murmur2_random
  message.timeout.ms=60000 socket.timeout.ms=10000

Transforms (ours): with --transforms-dir DIR, a read may run a WebAssembly row transform
  from DIR before its rows are encoded: query keys transform=MODULE.wasm (a path inside
  DIR: no absolute paths, no '..', no symlinks out of DIR), transform_config=<percent-encoded
  JSON object of strings>, transform_timeout_ms (per batch, default 10000),
  transform_memory_mb (default 256). Compiled modules are cached in
  --transform-cache-dir (default $XDG_CACHE_HOME/dgkafka-rs/transform-cache, else
  $HOME/.cache/dgkafka-rs/transform-cache). A read asking for a transform on a mount
  without --transforms-dir is refused.

Logs go to stderr (xdrive logs them); XDR_KAFKA_LOG sets the filter (default warn).",
        seed_mount_example("kafka", "xdr_kafka/xdr_kafka")
    )
}

/// The raw command line.
#[derive(Debug, Parser)]
#[command(
    name = "xdr_kafka",
    version,
    about = "xdrive plugin: read exact offset ranges of a Kafka topic as typed rows, and \
             write rows to a topic",
    after_help = after_help(),
    override_usage = "xdr_kafka [-X key1=value1 -X key2=value2 ...] \
                      kafkahost1:9092,kafkahost2:9092"
)]
pub struct Args {
    /// A librdkafka property, passed unchanged; repeatable; overrides xdr_kafka's defaults
    /// (see librdkafka's CONFIGURATION.md)
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub properties: Vec<String>,

    /// The directory of WebAssembly transforms (an absolute path; ours): the query key
    /// `transform` names a module inside it. Without it, reads asking for a transform
    /// are refused
    #[arg(long, value_name = "DIR")]
    pub transforms_dir: Option<PathBuf>,

    /// Where compiled transforms are cached (an absolute path; ours) [default:
    /// $XDG_CACHE_HOME/dgkafka-rs/transform-cache, else
    /// $HOME/.cache/dgkafka-rs/transform-cache]
    #[arg(long, value_name = "DIR")]
    pub transform_cache_dir: Option<PathBuf>,

    /// Bootstrap brokers, host[:port][,host[:port]...] (port 9092 when omitted)
    #[arg(value_name = "BROKERS")]
    pub brokers: String,
}

/// Where a mount's transforms come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformDirs {
    /// `--transforms-dir`: modules are resolved inside it only.
    pub dir: PathBuf,
    /// `--transform-cache-dir` or its default; `None` when neither `XDG_CACHE_HOME` nor
    /// `HOME` is set (then modules are compiled for every read).
    pub cache_dir: Option<PathBuf>,
}

/// The mount's arguments, resolved.
#[derive(Debug, Clone)]
pub struct Mount {
    kafka: MountArgs,
    transforms: Option<TransformDirs>,
}

/// The default compiled-transform cache: `$XDG_CACHE_HOME/dgkafka-rs/transform-cache`
/// (an absolute `XDG_CACHE_HOME` only, as the XDG spec says), else
/// `$HOME/.cache/dgkafka-rs/transform-cache`.
pub fn default_cache_dir(
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let base = xdg_cache_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            home.filter(|h| !h.is_empty())
                .map(|h| Path::new(&h).join(".cache"))
        })?;
    Some(base.join("dgkafka-rs").join("transform-cache"))
}

impl Args {
    /// The mount these arguments describe.
    pub fn mount(&self) -> Result<Mount, String> {
        let transforms = match &self.transforms_dir {
            None => None,
            Some(dir) if !dir.is_absolute() => {
                return Err(format!(
                    "--transforms-dir {:?} is not an absolute path",
                    dir.display().to_string()
                ));
            }
            Some(_)
                if self
                    .transform_cache_dir
                    .as_ref()
                    .is_some_and(|c| !c.is_absolute()) =>
            {
                return Err(format!(
                    "--transform-cache-dir {:?} is not an absolute path",
                    self.transform_cache_dir
                        .as_deref()
                        .unwrap_or(Path::new(""))
                        .display()
                        .to_string()
                ));
            }
            Some(dir) => Some(TransformDirs {
                dir: dir.clone(),
                cache_dir: self.transform_cache_dir.clone().or_else(|| {
                    default_cache_dir(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
                }),
            }),
        };
        let kafka = MountArgs::parse(&self.brokers, &self.properties).map_err(|e| e.to_string())?;
        Ok(Mount { kafka, transforms })
    }
}

impl Mount {
    /// The consumer's settings: our defaults, the brokers, the user's pairs (which win).
    pub fn consumer(&self) -> KafkaSettings {
        self.kafka.settings(CONSUMER_DEFAULTS)
    }

    /// The producer's settings: our defaults, the brokers, the user's pairs (which win).
    pub fn producer(&self) -> KafkaSettings {
        self.kafka.settings(PRODUCER_DEFAULTS)
    }

    /// The transform directories, when the mount allows transforms.
    pub fn transforms(&self) -> Option<&TransformDirs> {
        self.transforms.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("xdr_kafka/xdr_kafka").chain(argv.iter().copied()))
    }

    #[test]
    fn seed_plain_argv() {
        let m = args(&["kafkahost1:9092,kafkahost2:9092"])
            .unwrap()
            .mount()
            .unwrap();
        let cc = m.consumer().client_config();
        assert_eq!(
            cc.get("bootstrap.servers"),
            Some("kafkahost1:9092,kafkahost2:9092")
        );
        assert_eq!(cc.get("isolation.level"), Some("read_committed"));
        assert_eq!(cc.get("enable.auto.commit"), Some("false"));
        assert_eq!(cc.get("fetch.queue.backoff.ms"), Some("10"));
        let pc = m.producer().client_config();
        assert_eq!(pc.get("enable.idempotence"), Some("true"));
        assert_eq!(pc.get("partitioner"), Some("murmur2_random"));
        assert_eq!(pc.get("isolation.level"), None);
    }

    #[test]
    fn seed_ssl_argv_goes_to_librdkafka_unchanged_and_hides_the_password() {
        let m = args(&[
            "-X",
            "security.protocol=SSL",
            "-X",
            "ssl.key.location=/var/config/kafka/ca-key",
            "-X",
            "ssl.key.password=kafka123",
            "-X",
            "ssl.certificate.location=/var/config/kafka/ca-cert",
            "-X",
            "ssl.ca.location=/var/config/kafka/ca-cert",
            "kafkahost1:9092,kafkahost2:9092",
        ])
        .unwrap()
        .mount()
        .unwrap();
        for s in [m.consumer(), m.producer()] {
            let cc = s.client_config();
            assert_eq!(cc.get("security.protocol"), Some("SSL"));
            assert_eq!(cc.get("ssl.key.password"), Some("kafka123"));
            assert_eq!(cc.get("ssl.ca.location"), Some("/var/config/kafka/ca-cert"));
            assert!(!s.to_string().contains("kafka123"), "{s}");
            assert!(!format!("{s:?}").contains("kafka123"));
        }
    }

    #[test]
    fn user_pairs_override_defaults() {
        let m = args(&["-X", "isolation.level=read_uncommitted", "b:9092"])
            .unwrap()
            .mount()
            .unwrap();
        assert_eq!(
            m.consumer().client_config().get("isolation.level"),
            Some("read_uncommitted")
        );
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(args(&[]).is_err(), "the broker list is required");
        let e = args(&["-X", "nokeyvalue", "b:9092"])
            .unwrap()
            .mount()
            .unwrap_err();
        assert!(e.contains("has no '='"), "{e}");
        let e = args(&["--transforms-dir", "rel/dir", "b:9092"])
            .unwrap()
            .mount()
            .unwrap_err();
        assert_eq!(e, "--transforms-dir \"rel/dir\" is not an absolute path");
        let e = args(&[
            "--transforms-dir",
            "/t",
            "--transform-cache-dir",
            "cache",
            "b:9092",
        ])
        .unwrap()
        .mount()
        .unwrap_err();
        assert_eq!(e, "--transform-cache-dir \"cache\" is not an absolute path");
    }

    #[test]
    fn transform_directories() {
        let m = args(&["b:9092"]).unwrap().mount().unwrap();
        assert_eq!(m.transforms(), None);
        let m = args(&[
            "--transforms-dir",
            "/srv/transforms",
            "--transform-cache-dir",
            "/var/cache/t",
            "b:9092",
        ])
        .unwrap()
        .mount()
        .unwrap();
        assert_eq!(
            m.transforms(),
            Some(&TransformDirs {
                dir: "/srv/transforms".into(),
                cache_dir: Some("/var/cache/t".into()),
            })
        );
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            default_cache_dir(os("/xdg"), os("/home/u")),
            Some(PathBuf::from("/xdg/dgkafka-rs/transform-cache"))
        );
        assert_eq!(
            default_cache_dir(os("relative"), os("/home/u")),
            Some(PathBuf::from("/home/u/.cache/dgkafka-rs/transform-cache"))
        );
        assert_eq!(
            default_cache_dir(None, os("/home/u")),
            Some(PathBuf::from("/home/u/.cache/dgkafka-rs/transform-cache"))
        );
        assert_eq!(default_cache_dir(None, None), None);
    }
}
