//! Command line: the raw arguments (clap) and the resolved [`Config`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_config::{BrokerList, KafkaSettings, Pair, parse_pairs};

use crate::delimiter::parse_delimiter;
use crate::error::Error;

/// csv2kafka's producer defaults. Every one can be overridden with `-X`.
///
/// * `enable.idempotence=true`: retries never duplicate or reorder a partition's rows.
/// * `compression.codec=lz4`, `linger.ms=20`, `batch.size=1000000`,
///   `batch.num.messages=100000`: large compressed batches for throughput.
/// * `queue.buffering.max.messages=100000`, `queue.buffering.max.kbytes=32768`: the local
///   queue is bounded (librdkafka's default is 1 GB), so memory stays bounded whatever the
///   file size; when it is full, csv2kafka waits for acknowledgements and retries, it never
///   drops a row.
/// * `partitioner=murmur2_random`: keyed rows (`-k`) go to the partition the Java client
///   (and Kafka Streams, Kafka Connect, …) would choose for the same key, so other
///   producers and co-partitioned topics agree; librdkafka's own default,
///   `consistent_random`, hashes with CRC32 and would place them elsewhere. Rows without a
///   key are spread over partitions, in sticky batches.
/// * `enable.sparse.connections=false`: connect to every broker at once. A producer soon
///   talks to the leaders of all the topic's partitions anyway, and with sparse connections
///   librdkafka 2.12 spends ~50 ms at start-up (it drops the bootstrap connection that
///   answered the first metadata request and waits before connecting to the real broker).
pub const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    ("client.id", "csv2kafka"),
    ("enable.idempotence", "true"),
    ("compression.codec", "lz4"),
    ("linger.ms", "20"),
    ("batch.size", "1000000"),
    ("batch.num.messages", "100000"),
    ("queue.buffering.max.messages", "100000"),
    ("queue.buffering.max.kbytes", "32768"),
    ("partitioner", "murmur2_random"),
    ("enable.sparse.connections", "false"),
];

const AFTER_HELP: &str = "\
Each record of the CSV file becomes one Kafka message: its fields re-joined with the
write delimiter, quoted only where needed (a field holding the write delimiter, a quote
or a line end is written \"like \"\"this\"\"\"), without a line end. Quoted input fields
may hold delimiters, quotes and line ends; LF, CRLF and CR line ends are accepted; blank
lines are not records; records may have different numbers of fields. Progress goes to
stderr (a bar on a terminal, a line every 5 s otherwise), the summary to stdout.

Defaults passed to librdkafka (each overridable with -X):
  enable.idempotence=true compression.codec=lz4 linger.ms=20 batch.size=1000000
  batch.num.messages=100000 queue.buffering.max.messages=100000
  queue.buffering.max.kbytes=32768 partitioner=murmur2_random
  enable.sparse.connections=false client.id=csv2kafka
murmur2_random puts keyed rows where the Java producer puts the same keys.

Examples:
  csv2kafka -d '|' -w '|' localhost:9092 customer customer.csv
  csv2kafka -d , -w '|' -k 1 --header kafka1:9092,kafka2:9092 orders orders.csv
  gunzip -c big.csv.gz | csv2kafka -q broker:9092 events -
  csv2kafka -d \"|\" -w \"|\" -X security.protocol=SSL \\
      -X ssl.key.location=/home/dg/config/kafka/ca-key -X ssl.key.password=kafka123 \\
      -X ssl.certificate.location=/home/dg/config/kafka/ca-cert \\
      -X ssl.ca.location=/home/dg/config/kafka/ca-cert localhost:9092 topic data.csv

Exit status:
  0  every row was acknowledged by the brokers
  1  some message was not acknowledged (delivery error, or --timeout ran out while
     flushing); the first failure is named
  2  bad usage or settings (option, -X pair, setting or TLS key librdkafka rejects,
     partition the topic does not have)
  3  the input cannot be read, or has a malformed record (without --skip-bad-lines);
     its line number and byte offset are named
  4  the brokers cannot be reached within --timeout or refused the connection (TLS,
     authentication), the topic does not exist, or the brokers stopped acknowledging";

/// Produce the records of a CSV file to a Kafka topic, one message per record.
#[derive(Debug, Parser)]
#[command(
    name = "csv2kafka",
    version,
    about = "Produce the records of a CSV file to a Kafka topic, one message per record",
    after_help = AFTER_HELP,
    override_usage = "csv2kafka [-d delimiterForRead] [-w delimiterForWrite] \
                      [-X key1=value1 -X key2=value2 ...] [OPTIONS] \
                      kafkahost1,kafkahost2,...,kafkahostN topic csvfile"
)]
pub struct Args {
    /// Field delimiter of the input: one ASCII character, \t or tab for a tab, or \xHH
    #[arg(
        short = 'd',
        long = "delimiter",
        value_name = "CHAR",
        default_value = ","
    )]
    pub delimiter: String,

    /// Field delimiter written into each message [default: the -d delimiter]
    #[arg(short = 'w', long = "write-delimiter", value_name = "CHAR")]
    pub write_delimiter: Option<String>,

    /// A librdkafka property, passed unchanged; repeatable; overrides csv2kafka's defaults
    /// (see librdkafka's CONFIGURATION.md)
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub properties: Vec<String>,

    /// Use column N (1-based) as the message key: rows with the same key go to the same
    /// partition. A row without column N is a malformed row
    #[arg(short = 'k', long = "key", value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub key: Option<u64>,

    /// Produce every row to partition N (0-based) instead of choosing by key
    #[arg(short = 'p', long = "partition", value_name = "N",
          value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: Option<i32>,

    /// The first record is a header: skip it
    #[arg(long)]
    pub header: bool,

    /// Produce at most N rows
    #[arg(short = 'n', long = "limit", value_name = "N")]
    pub limit: Option<u64>,

    /// Skip malformed records (an unterminated quote, a record larger than
    /// message.max.bytes, a row without the -k column), count them and list the first
    /// line numbers in the summary, instead of stopping
    #[arg(long)]
    pub skip_bad_lines: bool,

    /// No progress and no summary; errors are still printed
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Log the settings in use (secrets redacted) and librdkafka's messages to stderr
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Seconds to wait for the brokers and the topic's metadata at the start, for the
    /// last acknowledgements at the end, and for any acknowledgement while the local
    /// queue is full
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub timeout: Duration,

    /// Bootstrap brokers, host[:port][,host[:port]...] (port 9092 when omitted)
    #[arg(value_name = "BROKERS")]
    pub brokers: String,

    /// Topic to produce to (it must exist)
    #[arg(value_name = "TOPIC")]
    pub topic: String,

    /// CSV file to read, or - for standard input
    #[arg(value_name = "CSVFILE")]
    pub csvfile: PathBuf,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "{s:?} must be more than 0 and at most 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Where the records come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// How errors and the summary name it.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "stdin".to_owned(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

/// The validated settings of one run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bootstrap brokers.
    pub brokers: BrokerList,
    /// `-X` pairs, in order.
    pub pairs: Vec<Pair>,
    /// Target topic.
    pub topic: String,
    /// Input.
    pub input: Input,
    /// `-d`.
    pub read_delimiter: u8,
    /// `-w` (defaults to `-d`).
    pub write_delimiter: u8,
    /// `-k`, 0-based.
    pub key_column: Option<usize>,
    /// `-p`.
    pub partition: Option<i32>,
    /// `--header`.
    pub header: bool,
    /// `-n`.
    pub limit: Option<u64>,
    /// `--skip-bad-lines`.
    pub skip_bad_lines: bool,
    /// `-q`.
    pub quiet: bool,
    /// `-v`.
    pub verbose: bool,
    /// `--timeout`.
    pub timeout: Duration,
}

/// Kafka's rule for topic names.
fn check_topic(topic: &str) -> Result<(), Error> {
    let bad = |reason: &str| {
        Err(Error::Usage(format!(
            "invalid topic name {topic:?}: {reason}"
        )))
    };
    if topic.is_empty() {
        return bad("it is empty");
    }
    if topic == "." || topic == ".." {
        return bad("'.' and '..' are not allowed");
    }
    if topic.len() > 249 {
        return bad("it is longer than 249 characters");
    }
    if !topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("only ASCII letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

impl Args {
    /// Validates the arguments into a [`Config`].
    pub fn resolve(self) -> Result<Config, Error> {
        let read_delimiter =
            parse_delimiter(&self.delimiter).map_err(|source| Error::Delimiter {
                option: "-d",
                source,
            })?;
        let write_delimiter = match &self.write_delimiter {
            Some(w) => parse_delimiter(w).map_err(|source| Error::Delimiter {
                option: "-w",
                source,
            })?,
            None => read_delimiter,
        };
        let pairs = parse_pairs(&self.properties)?;
        let brokers = BrokerList::parse(&self.brokers)?;
        check_topic(&self.topic)?;
        let key_column = match self.key {
            Some(k) => Some(
                usize::try_from(k - 1)
                    .map_err(|_| Error::Usage(format!("-k {k}: column number too large")))?,
            ),
            None => None,
        };
        let input = if self.csvfile.as_os_str() == "-" {
            Input::Stdin
        } else {
            Input::File(self.csvfile)
        };
        Ok(Config {
            brokers,
            pairs,
            topic: self.topic,
            input,
            read_delimiter,
            write_delimiter,
            key_column,
            partition: self.partition,
            header: self.header,
            limit: self.limit,
            skip_bad_lines: self.skip_bad_lines,
            quiet: self.quiet,
            verbose: self.verbose,
            timeout: self.timeout,
        })
    }
}

impl Config {
    /// csv2kafka's defaults, the broker list and the `-X` pairs, in that order of
    /// precedence from lowest to highest.
    pub fn settings(&self) -> KafkaSettings {
        KafkaSettings::new(self.brokers.clone())
            .with_defaults(PRODUCER_DEFAULTS.iter().copied())
            .with_user_pairs(self.pairs.iter().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn args(v: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("csv2kafka").chain(v.iter().copied()))
    }

    fn config(v: &[&str]) -> Result<Config, Error> {
        args(v).expect("clap accepts").resolve()
    }

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn the_seeds_command_line() {
        let c = config(&[
            "-d",
            "|",
            "-w",
            "|",
            "-X",
            "security.protocol=SSL",
            "-X",
            "ssl.key.location=/home/dg/config/kafka/ca-key",
            "-X",
            "ssl.key.password=kafka123",
            "-X",
            "ssl.certificate.location=/home/dg/config/kafka/ca-cert",
            "-X",
            "ssl.ca.location=/home/dg/config/kafka/ca-cert",
            "localhost:9092",
            "topic",
            "data.csv",
        ])
        .unwrap();
        assert_eq!((c.read_delimiter, c.write_delimiter), (b'|', b'|'));
        assert_eq!(c.pairs.len(), 5);
        assert_eq!(c.topic, "topic");
        assert_eq!(c.input, Input::File("data.csv".into()));
        let s = c.settings();
        let cc = s.client_config();
        assert_eq!(cc.get("security.protocol"), Some("SSL"));
        assert_eq!(cc.get("ssl.key.password"), Some("kafka123"));
        assert_eq!(cc.get("bootstrap.servers"), Some("localhost:9092"));
        assert_eq!(cc.get("enable.idempotence"), Some("true"));
        assert!(!format!("{s}").contains("kafka123"));
        assert!(!format!("{c:?}").contains("kafka123"));
    }

    #[test]
    fn defaults() {
        let c = config(&["h:1", "t", "-"]).unwrap();
        assert_eq!((c.read_delimiter, c.write_delimiter), (b',', b','));
        assert_eq!(c.input, Input::Stdin);
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.key_column, None);
        let cc = c.settings().client_config();
        assert_eq!(cc.get("partitioner"), Some("murmur2_random"));
        assert_eq!(cc.get("compression.codec"), Some("lz4"));
    }

    #[test]
    fn write_delimiter_defaults_to_read_delimiter() {
        let c = config(&["-d", "tab", "h", "t", "f"]).unwrap();
        assert_eq!((c.read_delimiter, c.write_delimiter), (b'\t', b'\t'));
        let c = config(&["-d", ",", "-w", "|", "h", "t", "f"]).unwrap();
        assert_eq!((c.read_delimiter, c.write_delimiter), (b',', b'|'));
    }

    #[test]
    fn user_pairs_override_defaults() {
        let c = config(&[
            "-X",
            "compression.type=zstd",
            "-X",
            "linger.ms=0",
            "h",
            "t",
            "f",
        ])
        .unwrap();
        let cc = c.settings().client_config();
        assert_eq!(cc.get("compression.type"), Some("zstd"));
        assert_eq!(cc.get("compression.codec"), None);
        assert_eq!(cc.get("linger.ms"), Some("0"));
    }

    #[test]
    fn options() {
        let c = config(&[
            "-k",
            "2",
            "-p",
            "1",
            "--header",
            "-n",
            "10",
            "--skip-bad-lines",
            "-q",
            "--timeout",
            "2.5",
            "h",
            "t",
            "f",
        ])
        .unwrap();
        assert_eq!(c.key_column, Some(1));
        assert_eq!(c.partition, Some(1));
        assert!(c.header && c.skip_bad_lines && c.quiet);
        assert_eq!(c.limit, Some(10));
        assert_eq!(c.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &["-k", "0", "h", "t", "f"][..],
            &["-p", "-1", "h", "t", "f"],
            &["--timeout", "0", "h", "t", "f"],
            &["--timeout", "soon", "h", "t", "f"],
            &["h", "t"],
        ] {
            let e = args(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
        for (bad, needle) in [
            (&["-d", "||", "h", "t", "f"][..], "-d"),
            (&["-w", "€", "h", "t", "f"], "-w"),
            (&["-X", "novalue", "h", "t", "f"], "novalue"),
            (&["h:1,,h:2", "t", "f"], "empty"),
            (&["h", "bad topic", "f"], "invalid topic"),
            (&["h", "", "f"], "invalid topic"),
        ] {
            let e = config(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
            let chain = format!("{:#}", anyhow::Error::new(e));
            assert!(chain.contains(needle), "{bad:?}: {chain}");
        }
    }

    #[test]
    fn help_documents_exit_codes_and_examples() {
        let help = Args::command().render_help().to_string();
        for needle in [
            "Exit status",
            "malformed record",
            "Examples",
            "security.protocol=SSL",
            "--skip-bad-lines",
            "murmur2_random",
        ] {
            assert!(help.contains(needle), "{needle} missing from --help");
        }
    }
}
