//! The producing run: connect, check the topic, stream records, flush, summarise.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kafka_config::{
    Category, Explanation, LastClientError, Redactor, explain, explain_code, forward_log,
};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message};

use crate::cli::{Config, Input};
use crate::encode::Encoder;
use crate::error::{DeliveryFailure, Error, LastError};
use crate::progress::{Progress, Snapshot, human_bytes};
use crate::reader::{BadRecord, Next, RecordReader};

/// How many bad line numbers the summary lists.
const BAD_LINES_LISTED: usize = 5;
/// Rows between two non-blocking polls for delivery reports (and progress updates, which
/// rate-limit themselves).
const POLL_EVERY: u32 = 64;
/// How long to sleep while the local queue stays full, between serving delivery reports
/// and retrying. Short, so the queue never drains and the connections never idle; we do
/// not block in rdkafka's `poll(timeout)` instead, since it serves events until the time
/// is up and spins through its last millisecond.
const QUEUE_FULL_WAIT: Duration = Duration::from_micros(200);
/// Sleep between checks for the last acknowledgements.
const FLUSH_WAIT: Duration = Duration::from_millis(1);
/// Input buffer size.
const READ_BUFFER: usize = 256 * 1024;
/// librdkafka's default `message.max.bytes`.
const DEFAULT_MESSAGE_MAX_BYTES: usize = 1_000_000;

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Target topic.
    pub topic: String,
    /// Rows queued for Kafka.
    pub rows: u64,
    /// Message bytes queued (keys and values).
    pub bytes: u64,
    /// Input bytes read.
    pub input_bytes: u64,
    /// Messages acknowledged.
    pub acked: u64,
    /// Messages that failed.
    pub failed: u64,
    /// Messages neither acknowledged nor failed when the run ended.
    pub unacknowledged: u64,
    /// Malformed records skipped.
    pub skipped: u64,
    /// Lines of the first skipped records.
    pub skipped_lines: Vec<u64>,
    /// Wall time.
    pub elapsed: Duration,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.rows as f64 / secs
        } else {
            0.0
        };
        write!(
            f,
            "csv2kafka: {} rows ({}) to topic {} in {:.2} s ({:.0} rows/s); \
             {} acknowledged, {} failed",
            self.rows,
            human_bytes(self.bytes),
            self.topic,
            secs,
            rate,
            self.acked,
            self.failed
        )?;
        if self.unacknowledged > 0 {
            write!(f, ", {} unacknowledged", self.unacknowledged)?;
        }
        write!(f, "; {} bad lines skipped", self.skipped)?;
        if !self.skipped_lines.is_empty() {
            let lines: Vec<String> = self.skipped_lines.iter().map(u64::to_string).collect();
            let more = if self.skipped > self.skipped_lines.len() as u64 {
                ", ..."
            } else {
                ""
            };
            write!(f, " (lines {}{more})", lines.join(", "))?;
        }
        Ok(())
    }
}

/// The result of a run that got as far as producing: the summary, and the error that
/// ended it, if any.
#[derive(Debug)]
pub struct Outcome {
    /// What was done.
    pub summary: Summary,
    /// Why the run failed, if it did.
    pub error: Option<Error>,
}

/// librdkafka callbacks: delivery reports, errors and logs (secrets redacted).
struct Context {
    redactor: Redactor,
    acked: AtomicU64,
    failed: AtomicU64,
    first_failure: Mutex<Option<DeliveryFailure>>,
    last_error: LastClientError,
    refused: Mutex<Option<Explanation>>,
}

impl Context {
    fn new(redactor: Redactor) -> Context {
        Context {
            redactor,
            acked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_failure: Mutex::new(None),
            last_error: LastClientError::default(),
            refused: Mutex::new(None),
        }
    }

    fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    fn last_error(&self) -> LastError {
        LastError(self.last_error.get())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(&self.redactor, level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let explained = self.last_error.record(&self.redactor, &error, reason);
        if let Some(x) = explained.filter(|x| x.category == Category::Authentication) {
            *lock(&self.refused) = Some(x);
        }
    }
}

impl ProducerContext for Context {
    /// The line number of the message's record.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, line: usize) {
        match result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
            }
            Err((err, msg)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = lock(&self.first_failure);
                if first.is_none() {
                    let reason = match err.rdkafka_error_code() {
                        Some(code) => explain_code(code, None),
                        None => explain(err),
                    };
                    *first = Some(DeliveryFailure {
                        line: line as u64,
                        partition: msg.partition(),
                        reason,
                    });
                }
            }
        }
    }
}

type Kafka = BaseProducer<Context>;

/// Drains pending events (delivery reports, errors) without blocking.
fn drain(producer: &Kafka) {
    for _ in 0..64 {
        producer.poll(Duration::ZERO);
    }
}

/// Serves a few pending events without blocking (each `poll(0)` serves at most one; one
/// delivery report event covers a whole batch of messages).
fn serve_reports(producer: &Kafka) {
    for _ in 0..4 {
        producer.poll(Duration::ZERO);
    }
}

/// Waits (at most `--timeout`) for the brokers to answer with the topic's metadata, and
/// returns its partition count.
fn topic_partitions(producer: &Kafka, cfg: &Config) -> Result<usize, Error> {
    let brokers = cfg.brokers.to_string();
    let deadline = Instant::now() + cfg.timeout;
    let mut unknown_since: Option<Instant> = None;
    loop {
        let attempt = Instant::now();
        let remaining = deadline.saturating_duration_since(attempt);
        let step = remaining.clamp(Duration::from_millis(1), Duration::from_millis(500));
        let result = producer.client().fetch_metadata(Some(&cfg.topic), step);
        drain(producer);
        if let Some(reason) = lock(&producer.context().refused).clone() {
            return Err(Error::Refused { brokers, reason });
        }
        let now = Instant::now();
        match result {
            Ok(md) => {
                let topic = md.topics().iter().find(|t| t.name() == cfg.topic);
                let err = topic.and_then(|t| t.error()).map(RDKafkaErrorCode::from);
                match (topic, err) {
                    (Some(t), None) if !t.partitions().is_empty() => {
                        return Ok(t.partitions().len());
                    }
                    (_, Some(RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                        // Allow a moment for a topic created just before us to show up.
                        let since = *unknown_since.get_or_insert(now);
                        if now.duration_since(since) >= Duration::from_secs(1) || now >= deadline {
                            return Err(Error::TopicMissing {
                                topic: cfg.topic.clone(),
                                brokers,
                            });
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    (_, Some(code)) => {
                        let reason = explain_code(code, None);
                        if reason.category == Category::Authentication {
                            return Err(Error::Refused { brokers, reason });
                        }
                        if now >= deadline {
                            return Err(Error::TopicUnavailable {
                                topic: cfg.topic.clone(),
                                timeout: cfg.timeout,
                                reason,
                            });
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    _ => {
                        if now >= deadline {
                            return Err(Error::TopicUnavailable {
                                topic: cfg.topic.clone(),
                                timeout: cfg.timeout,
                                reason: explain_code(RDKafkaErrorCode::LeaderNotAvailable, None),
                            });
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
            Err(e) => {
                if now >= deadline {
                    let reason = producer
                        .context()
                        .last_error()
                        .0
                        .unwrap_or_else(|| explain(&e));
                    return Err(Error::Unreachable {
                        brokers,
                        timeout: cfg.timeout,
                        reason,
                    });
                }
                // fetch_metadata can fail fast (e.g. refused connections): pace retries.
                std::thread::sleep(
                    Duration::from_millis(100)
                        .saturating_sub(now.duration_since(attempt))
                        .min(deadline.saturating_duration_since(now)),
                );
            }
        }
    }
}

fn open_input(input: &Input) -> Result<(Box<dyn BufRead>, Option<u64>), Error> {
    match input {
        Input::Stdin => Ok((
            Box::new(BufReader::with_capacity(READ_BUFFER, io::stdin())),
            None,
        )),
        Input::File(path) => {
            let file = File::open(path).map_err(|source| Error::OpenInput {
                path: path.display().to_string(),
                source,
            })?;
            let total = file
                .metadata()
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len());
            Ok((Box::new(BufReader::with_capacity(READ_BUFFER, file)), total))
        }
    }
}

/// Runs csv2kafka: `Err` when nothing was produced (bad settings, unreadable input,
/// unreachable brokers), `Ok` with a summary otherwise, its `error` set when the run did
/// not deliver everything.
pub fn run(cfg: &Config, progress: &mut dyn Progress) -> Result<Outcome, Error> {
    let started = Instant::now();
    let settings = cfg.settings();
    if cfg.verbose {
        tracing::info!(settings = %settings, topic = %cfg.topic, "Producer settings.");
    }
    let max_record_bytes = settings
        .get("message.max.bytes")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(DEFAULT_MESSAGE_MAX_BYTES);

    // Open the input first: a missing file should not wait for the brokers.
    let (input, total) = open_input(&cfg.input)?;

    let mut client_config = settings.client_config();
    client_config.set_log_level(if cfg.verbose {
        RDKafkaLogLevel::Info
    } else {
        RDKafkaLogLevel::Warning
    });
    let producer: Kafka = client_config
        .create_with_context(Context::new(settings.redactor()))
        .map_err(|e| Error::Client(explain(&e)))?;

    let partitions = topic_partitions(&producer, cfg)?;
    if settings
        .get("enable.idempotence")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        // librdkafka 2.12 asks for the idempotent producer's id when a metadata response
        // arrives. The first one comes over the bootstrap connection, which librdkafka
        // then drops, and an id request lost with it is retried only 500 ms later. One
        // more metadata request, over the broker's own connection, gets the id now.
        let _ = producer.client().fetch_metadata(
            Some(&cfg.topic),
            cfg.timeout.min(Duration::from_millis(500)),
        );
    }
    if let Some(p) = cfg.partition
        && usize::try_from(p).map_or(true, |p| p >= partitions)
    {
        return Err(Error::NoSuchPartition {
            topic: cfg.topic.clone(),
            partition: p,
            count: partitions,
        });
    }

    let mut run = Run {
        cfg,
        producer: &producer,
        summary: Summary {
            topic: cfg.topic.clone(),
            ..Summary::default()
        },
        started,
    };
    progress.start(total);
    let mut reader = RecordReader::new(input, cfg.read_delimiter, max_record_bytes);
    let stopped = run.produce_all(&mut reader, progress);
    run.summary.input_bytes = reader.bytes_read();
    let error = run.finish(stopped, progress);
    progress.finish();
    Ok(Outcome {
        summary: run.summary,
        error,
    })
}

struct Run<'a> {
    cfg: &'a Config,
    producer: &'a Kafka,
    summary: Summary,
    started: Instant,
}

impl Run<'_> {
    fn snapshot(&self) -> Snapshot {
        let ctx = self.producer.context();
        Snapshot {
            rows: self.summary.rows,
            input_bytes: self.summary.input_bytes,
            acked: ctx.acked(),
            failed: ctx.failed(),
            skipped: self.summary.skipped,
            elapsed: self.started.elapsed(),
        }
    }

    /// A malformed record: skipped and counted, or the error that stops the run.
    fn bad(&mut self, bad: BadRecord) -> Result<(), Error> {
        if self.cfg.skip_bad_lines {
            self.summary.skipped += 1;
            if self.summary.skipped_lines.len() < BAD_LINES_LISTED {
                self.summary.skipped_lines.push(bad.position().line);
            }
            tracing::debug!(%bad, "Skipped a malformed record.");
            Ok(())
        } else {
            Err(Error::BadRecord {
                path: self.cfg.input.name(),
                bad,
            })
        }
    }

    /// Reads and queues every record; returns the error that stopped it early, if any.
    fn produce_all<R: BufRead>(
        &mut self,
        reader: &mut RecordReader<R>,
        progress: &mut dyn Progress,
    ) -> Option<Error> {
        let cfg = self.cfg;
        let producer = self.producer;
        let ctx = producer.context();
        let encoder = Encoder::new(cfg.write_delimiter);
        let same_delimiter = cfg.read_delimiter == cfg.write_delimiter;
        let mut payload: Vec<u8> = Vec::with_capacity(4096);
        let mut header_pending = cfg.header;
        let mut since_poll = 0u32;
        loop {
            if cfg.limit.is_some_and(|limit| self.summary.rows >= limit) {
                return None;
            }
            if ctx.failed() > 0 {
                // The first delivery error stops reading; `finish` reports it.
                return None;
            }
            self.summary.input_bytes = reader.bytes_read();
            let record = match reader.read_next() {
                Err(source) => {
                    return Some(Error::ReadInput {
                        path: cfg.input.name(),
                        offset: reader.bytes_read(),
                        source,
                    });
                }
                Ok(Next::End) => return None,
                Ok(Next::Bad(bad)) => match self.bad(bad) {
                    Ok(()) => continue,
                    Err(e) => return Some(e),
                },
                Ok(Next::Record(record)) => record,
            };
            if header_pending {
                header_pending = false;
                continue;
            }
            let key = match cfg.key_column {
                None => None,
                Some(column) => match record.get(column) {
                    Some(key) => Some(key),
                    None => {
                        let bad = BadRecord::MissingKeyColumn {
                            pos: record.pos,
                            column: column + 1,
                            fields: record.len(),
                        };
                        match self.bad(bad) {
                            Ok(()) => continue,
                            Err(e) => return Some(e),
                        }
                    }
                },
            };
            let value: &[u8] = match record.plain_line() {
                // Unquoted and written with the same delimiter: the line is the message.
                Some(line) if same_delimiter => line,
                _ => {
                    encoder.encode(record.iter(), &mut payload);
                    &payload
                }
            };
            let line = record.pos.line;
            let mut message = BaseRecord::<[u8], [u8], usize>::with_opaque_to(
                &cfg.topic,
                usize::try_from(line).unwrap_or(usize::MAX),
            )
            .payload(value);
            if let Some(key) = key {
                message = message.key(key);
            }
            if let Some(p) = cfg.partition {
                message = message.partition(p);
            }
            let mut waiting_since: Option<(Instant, u64)> = None;
            loop {
                match producer.send(message) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), m)) => {
                        // Back-pressure: serve delivery reports to make room, then retry.
                        // Never drop a row.
                        message = m;
                        serve_reports(producer);
                        if waiting_since.is_some() {
                            std::thread::sleep(QUEUE_FULL_WAIT);
                        }
                        progress.update(&self.snapshot());
                        let done = ctx.acked() + ctx.failed();
                        match waiting_since {
                            Some((_, seen)) if seen != done => {
                                waiting_since = Some((Instant::now(), done));
                            }
                            Some((since, _)) if since.elapsed() >= cfg.timeout => {
                                return Some(Error::Stalled {
                                    timeout: cfg.timeout,
                                    pending: u64::try_from(producer.in_flight_count()).unwrap_or(0),
                                    reason: ctx.last_error(),
                                });
                            }
                            Some(_) => {}
                            None => waiting_since = Some((Instant::now(), done)),
                        }
                    }
                    Err((
                        KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
                        _,
                    )) => {
                        let bad = BadRecord::MessageTooLarge {
                            pos: record.pos,
                            bytes: value.len() + key.map_or(0, <[u8]>::len),
                        };
                        match self.bad(bad) {
                            Ok(()) => break,
                            Err(e) => return Some(e),
                        }
                    }
                    Err((e, _)) => {
                        return Some(Error::Produce {
                            line,
                            reason: explain(&e),
                        });
                    }
                }
            }
            self.summary.rows += 1;
            self.summary.bytes += (value.len() + key.map_or(0, <[u8]>::len)) as u64;
            since_poll += 1;
            if since_poll >= POLL_EVERY {
                since_poll = 0;
                producer.poll(Duration::ZERO);
                progress.update(&self.snapshot());
            }
        }
    }

    /// Waits for the last acknowledgements (at most `--timeout`) and settles the outcome.
    fn finish(&mut self, stopped: Option<Error>, progress: &mut dyn Progress) -> Option<Error> {
        let producer = self.producer;
        let ctx = producer.context();
        // A stall means the brokers are gone: waiting again would only double the time.
        if !matches!(stopped, Some(Error::Stalled { .. })) {
            // `Producer::flush` with the whole timeout would serve events in 100 ms slices
            // and so return up to 100 ms after the last acknowledgement; flushing with no
            // timeout only tells librdkafka to send what it holds now, without lingering.
            let deadline = Instant::now() + self.cfg.timeout;
            loop {
                let flushed = producer.flush(Duration::ZERO).is_ok();
                serve_reports(producer);
                if flushed || producer.in_flight_count() <= 0 || Instant::now() >= deadline {
                    break;
                }
                progress.flushing(&self.snapshot());
                std::thread::sleep(FLUSH_WAIT);
            }
        }
        drain(producer);
        self.summary.acked = ctx.acked();
        self.summary.failed = ctx.failed();
        self.summary.unacknowledged = self
            .summary
            .rows
            .saturating_sub(self.summary.acked + self.summary.failed);
        self.summary.elapsed = self.started.elapsed();
        if stopped.is_some() {
            return stopped;
        }
        if self.summary.failed > 0 {
            let first = lock(&ctx.first_failure).clone();
            if let Some(first) = first {
                return Some(Error::Delivery {
                    failed: self.summary.failed,
                    first,
                });
            }
        }
        if self.summary.unacknowledged > 0 {
            return Some(Error::FlushTimeout {
                pending: self.summary.unacknowledged,
                timeout: self.cfg.timeout,
                reason: ctx.last_error(),
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_the_first_skipped_lines() {
        let s = Summary {
            topic: "customer".into(),
            rows: 6,
            bytes: 1_200_000,
            input_bytes: 0,
            acked: 6,
            failed: 0,
            unacknowledged: 0,
            skipped: 7,
            skipped_lines: vec![3, 5, 8, 9, 12],
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(
            s.to_string(),
            "csv2kafka: 6 rows (1.2 MB) to topic customer in 2.00 s (3 rows/s); \
             6 acknowledged, 0 failed; 7 bad lines skipped (lines 3, 5, 8, 9, 12, ...)"
        );
    }

    #[test]
    fn delivery_reports_are_counted_and_the_first_failure_kept() {
        // Exercised against a real broker in tests/all; here only the bookkeeping.
        let ctx = Context::new(Redactor::new(["kafka123"]));
        ctx.error(
            KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure),
            "connect failed, password kafka123",
        );
        ctx.error(
            KafkaError::Global(RDKafkaErrorCode::AllBrokersDown),
            "1/1 brokers are down",
        );
        let last = ctx.last_error().to_string();
        assert!(last.contains("connect failed"), "{last}");
        assert!(!last.contains("kafka123"), "{last}");
        assert!(lock(&ctx.refused).is_none());
        ctx.error(
            KafkaError::Global(RDKafkaErrorCode::SSL),
            "SSL handshake failed",
        );
        assert!(lock(&ctx.refused).is_some());
    }
}
