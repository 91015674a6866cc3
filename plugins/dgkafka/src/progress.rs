//! `dgkafka load`'s progress: a live line on a terminal, plain periodic log lines
//! otherwise; the final summary is [`crate::load::Summary`].
//!
//! The readers count into [`Counters`] after each committed batch (rows, row errors,
//! batches, and per partition the next offset and the latest offset they know of). A
//! [`Reporter`] task shows them:
//!
//! * **Live line** — when stderr is a terminal and info logs are off (no `-v`, no
//!   `RUST_LOG` turning them on): an `indicatif` line on stderr, redrawn every
//!   second — `⠋ 00:01:12 120000 rows, 41000 rows/s, 60 batches, lag 0:0 1:120 2:35`.
//!   Log lines at info would interleave with it, so `-v` turns it off; warnings and
//!   errors still print, above the line (the logger writes through [`stderr`]). It is
//!   cleared when the load ends, before the summary goes to stdout.
//! * **Log lines** — when info logs are on (`-v`, terminal or not): the `Progress.` info
//!   line every 10 s, with the same numbers. Without `-v` and without a terminal, nothing
//!   (no task runs): only the final summary.
//!
//! The lag of a partition is Kafka's latest offset minus the next offset to load. The
//! readers know the latest offsets only from their start and from `-quit-at-eof`'s
//! checks, so the reporter reads them through `xdr_kafkaoffset` (as `dgkafka check`
//! does) in a task of its own, every 5 s for the live line and every 10 s for the log
//! lines, and only when something is shown: no round trip per batch.

use std::collections::{BTreeMap, VecDeque};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tracing::{Level, debug, info};

use crate::config::Config;
use crate::kafka_offsets;

/// How often the live line is redrawn with new counters.
const LIVE_EVERY: Duration = Duration::from_secs(1);
/// The window over which the live line's rows/s is measured.
const RATE_WINDOW: Duration = Duration::from_secs(5);
/// How often a log line is written (no terminal, or `-v`).
const LINES_EVERY: Duration = Duration::from_secs(10);
/// The time between two reads of the latest offsets from Kafka for the live line (for
/// the log lines: [`LINES_EVERY`]).
const LATEST_EVERY: Duration = Duration::from_secs(5);
/// How long one read of the latest offsets may take before it is given up (the old values
/// stay).
const LATEST_PATIENCE: Duration = Duration::from_secs(3);
/// Up to this many partitions, the live line lists each partition's lag.
const LIVE_PARTITIONS: usize = 8;

/// What the readers count, shared with the reporter.
#[derive(Debug, Default)]
pub struct Counters {
    pub rows: AtomicU64,
    pub errors: AtomicU64,
    pub batches: AtomicU64,
    /// Partition → (next offset, latest offset as the reader last knew it).
    pub partitions: Mutex<BTreeMap<i32, (i64, i64)>>,
}

/// The counters at one moment, ready to format.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub rows: u64,
    pub errors: u64,
    pub batches: u64,
    pub rows_per_sec: f64,
    /// Partition → lag; None until the partition's next offset is known (a first batch
    /// that starts at `earliest` or `latest`).
    pub lag: Vec<(i32, Option<i64>)>,
}

impl Snapshot {
    /// The live line: `120000 rows, 41000 rows/s, 60 batches, 2 row errors, lag 0:0 1:120`;
    /// row errors only when there are some, and with more than eight partitions the lag
    /// as a total and its largest partition.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{} rows, {:.0} rows/s, {} batches",
            self.rows, self.rows_per_sec, self.batches
        );
        if self.errors > 0 {
            s.push_str(&format!(", {} row errors", self.errors));
        }
        if !self.lag.is_empty() {
            s.push_str(", lag ");
            if self.lag.len() <= LIVE_PARTITIONS {
                s.push_str(&self.lag_list());
            } else {
                s.push_str(&self.lag_total());
            }
        }
        s
    }

    /// Every partition's lag, `0:0 1:120 2:?` (`?`: not known yet).
    pub fn lag_list(&self) -> String {
        self.lag
            .iter()
            .map(|(p, lag)| match lag {
                Some(lag) => format!("{p}:{lag}"),
                None => format!("{p}:?"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `155 in 12 partitions (max 120 at 3)`, plus `, 2 unknown` for partitions whose lag is
    /// not known yet.
    fn lag_total(&self) -> String {
        let known: Vec<(i32, i64)> = self
            .lag
            .iter()
            .filter_map(|&(p, lag)| lag.map(|l| (p, l)))
            .collect();
        let total: i64 = known.iter().map(|(_, l)| l).sum();
        let mut s = format!("{total} in {} partitions", self.lag.len());
        if let Some((p, max)) = known.iter().max_by_key(|(p, l)| (*l, -p)) {
            s.push_str(&format!(" (max {max} at {p})"));
        }
        let unknown = self.lag.len() - known.len();
        if unknown > 0 {
            s.push_str(&format!(", {unknown} unknown"));
        }
        s
    }
}

/// The lag per partition from the readers' (next, latest) and the latest offsets read
/// from Kafka (whichever latest is larger: both only grow).
pub fn lag(
    partitions: &BTreeMap<i32, (i64, i64)>,
    kafka_latest: &BTreeMap<i32, i64>,
) -> Vec<(i32, Option<i64>)> {
    partitions
        .iter()
        .map(|(&p, &(next, latest))| {
            let latest = kafka_latest.get(&p).map_or(latest, |&k| k.max(latest));
            (p, (next >= 0).then(|| (latest - next).max(0)))
        })
        .collect()
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The live line on stderr.
    Live,
    /// Log lines at info, every 10 s.
    Lines,
    /// Nothing would be seen: no terminal and info logs off.
    Off,
}

impl Mode {
    /// Live when stderr is a terminal and info logs are off, log lines when info logs are
    /// on, else nothing.
    pub fn detect() -> Mode {
        Mode::choose(
            std::io::stderr().is_terminal(),
            tracing::enabled!(Level::INFO),
        )
    }

    fn choose(terminal: bool, info_logs: bool) -> Mode {
        match (terminal, info_logs) {
            (_, true) => Mode::Lines,
            (true, false) => Mode::Live,
            (false, false) => Mode::Off,
        }
    }
}

/// The bar being drawn, for [`stderr`].
static LIVE: std::sync::Mutex<Option<ProgressBar>> = std::sync::Mutex::new(None);

/// Standard error for the logger: while the live line is drawn, a log line is written
/// above it instead of through it.
pub fn stderr() -> Stderr {
    Stderr
}

/// See [`stderr`].
#[derive(Debug)]
pub struct Stderr;

impl Stderr {
    fn with_bar<T>(write: impl FnOnce() -> T) -> T {
        let bar = LIVE.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Stderr::with_bar(|| std::io::stderr().write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        Stderr::with_bar(|| std::io::stderr().write_all(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The tasks showing progress during a load. [`Reporter::stop`] ends them.
pub struct Reporter {
    tasks: Vec<JoinHandle<()>>,
    bar: Option<ProgressBar>,
}

impl Reporter {
    /// Starts showing `counters` as [`Mode::detect`] says; `config` names the xdrive mount
    /// that reports the latest offsets.
    pub fn start(counters: Arc<Counters>, config: &Config, began: Instant) -> Reporter {
        Reporter::start_with(Mode::detect(), counters, config, began)
    }

    /// [`Reporter::start`] in a given mode.
    pub fn start_with(
        mode: Mode,
        counters: Arc<Counters>,
        config: &Config,
        began: Instant,
    ) -> Reporter {
        if mode == Mode::Off {
            return Reporter {
                tasks: Vec::new(),
                bar: None,
            };
        }
        // The latest offsets are read in a task of their own, so a slow read never holds
        // up the line.
        let latest = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let every = if mode == Mode::Live {
            LATEST_EVERY
        } else {
            LINES_EVERY
        };
        let refresh = tokio::spawn(refresh_latest(
            LatestSource::new(config),
            latest.clone(),
            every,
        ));
        match mode {
            Mode::Off | Mode::Lines => Reporter {
                tasks: vec![refresh, tokio::spawn(log_lines(counters, latest, began))],
                bar: None,
            },
            Mode::Live => {
                let bar =
                    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
                if let Ok(style) =
                    ProgressStyle::with_template("{spinner} {elapsed_precise} {wide_msg}")
                {
                    bar.set_style(style);
                }
                bar.set_message("starting");
                bar.enable_steady_tick(Duration::from_millis(250));
                *LIVE.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
                Reporter {
                    tasks: vec![refresh, tokio::spawn(live(counters, latest, bar.clone()))],
                    bar: Some(bar),
                }
            }
        }
    }

    /// Stops the task and clears the live line.
    pub fn stop(mut self) {
        self.end();
    }

    fn end(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        if let Some(bar) = self.bar.take() {
            *LIVE.lock().unwrap_or_else(PoisonError::into_inner) = None;
            bar.finish_and_clear();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.end();
    }
}

/// The latest offsets per partition, as last read from Kafka.
type Latest = Arc<std::sync::Mutex<BTreeMap<i32, i64>>>;

/// Where the latest offsets come from: `xdr_kafkaoffset`, as for `dgkafka check`.
struct LatestSource {
    xdrive: xdrive::Client,
    endpoint: String,
    group: String,
    topic: String,
}

impl LatestSource {
    fn new(config: &Config) -> LatestSource {
        LatestSource {
            xdrive: xdrive::Client::new(
                config.dgkafka.xdrive_host.clone(),
                config.dgkafka.xdrive_port,
            ),
            endpoint: config.dgkafka.xdrive_offset_endpoint.clone(),
            group: config.kafka.input.consumer_group.clone(),
            topic: config.kafka.input.topic.clone(),
        }
    }
}

/// Reads the latest offsets every `every`. A failed read keeps the old values: the
/// readers' own view still bounds the lag.
async fn refresh_latest(source: LatestSource, latest: Latest, every: Duration) {
    loop {
        let read = kafka_offsets::read(
            &source.xdrive,
            &source.endpoint,
            &source.group,
            &source.topic,
        );
        match tokio::time::timeout(LATEST_PATIENCE, read).await {
            Ok(Ok(offsets)) => {
                *latest.lock().unwrap_or_else(PoisonError::into_inner) =
                    offsets.iter().map(|o| (o.partition, o.latest)).collect();
            }
            Ok(Err(e)) => {
                debug!(error = %e, "Reading the latest offsets for the progress line failed.")
            }
            Err(_) => debug!("Reading the latest offsets for the progress line timed out."),
        }
        tokio::time::sleep(every).await;
    }
}

/// Rows per second over a sliding window.
struct Rate {
    samples: VecDeque<(Instant, u64)>,
    window: Duration,
}

impl Rate {
    fn new(window: Duration) -> Rate {
        Rate {
            samples: VecDeque::from([(Instant::now(), 0)]),
            window,
        }
    }

    fn update(&mut self, now: Instant, rows: u64) -> f64 {
        while self.samples.len() > 1
            && self
                .samples
                .get(1)
                .is_some_and(|&(t, _)| now.duration_since(t) >= self.window)
        {
            self.samples.pop_front();
        }
        let rate = match self.samples.front() {
            Some(&(t, r)) => {
                let secs = now.duration_since(t).as_secs_f64();
                if secs > 0.0 {
                    rows.saturating_sub(r) as f64 / secs
                } else {
                    0.0
                }
            }
            None => 0.0,
        };
        self.samples.push_back((now, rows));
        rate
    }
}

async fn snapshot(counters: &Counters, latest: &Latest, rate: &mut Rate) -> Snapshot {
    let rows = counters.rows.load(Ordering::Relaxed);
    let partitions = counters.partitions.lock().await.clone();
    let kafka = latest
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let lag = lag(&partitions, &kafka);
    Snapshot {
        rows,
        errors: counters.errors.load(Ordering::Relaxed),
        batches: counters.batches.load(Ordering::Relaxed),
        rows_per_sec: rate.update(Instant::now(), rows),
        lag,
    }
}

async fn live(counters: Arc<Counters>, latest: Latest, bar: ProgressBar) {
    let mut rate = Rate::new(RATE_WINDOW);
    loop {
        let s = snapshot(&counters, &latest, &mut rate).await;
        bar.set_message(s.line());
        tokio::time::sleep(LIVE_EVERY).await;
    }
}

async fn log_lines(counters: Arc<Counters>, latest: Latest, began: Instant) {
    let mut rate = Rate::new(LINES_EVERY);
    loop {
        tokio::time::sleep(LINES_EVERY).await;
        let s = snapshot(&counters, &latest, &mut rate).await;
        info!(
            rows = s.rows,
            rows_per_sec = s.rows_per_sec.round(),
            errors = s.errors,
            batches = s.batches,
            lag = %s.lag_list(),
            elapsed_secs = began.elapsed().as_secs(),
            "Progress."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(lag: Vec<(i32, Option<i64>)>) -> Snapshot {
        Snapshot {
            rows: 120_000,
            errors: 0,
            batches: 60,
            rows_per_sec: 41_234.6,
            lag,
        }
    }

    #[test]
    fn the_live_line_shows_rows_rate_batches_and_lag_per_partition() {
        let s = snapshot(vec![(0, Some(0)), (1, Some(120)), (2, None)]);
        assert_eq!(
            s.line(),
            "120000 rows, 41235 rows/s, 60 batches, lag 0:0 1:120 2:?"
        );
        let errors = Snapshot { errors: 2, ..s };
        assert_eq!(
            errors.line(),
            "120000 rows, 41235 rows/s, 60 batches, 2 row errors, lag 0:0 1:120 2:?"
        );
        assert_eq!(Snapshot::default().line(), "0 rows, 0 rows/s, 0 batches");
    }

    #[test]
    fn many_partitions_show_the_total_lag_and_the_largest() {
        let mut lag: Vec<(i32, Option<i64>)> = (0..12).map(|p| (p, Some(10))).collect();
        lag[3].1 = Some(45);
        lag[7].1 = Some(45);
        lag[11].1 = None;
        assert_eq!(
            snapshot(lag).line(),
            "120000 rows, 41235 rows/s, 60 batches, lag 180 in 12 partitions (max 45 at 3), 1 unknown"
        );
        let all: Vec<(i32, Option<i64>)> = (0..9).map(|p| (p, Some(1))).collect();
        assert_eq!(
            snapshot(all).lag_list(),
            "0:1 1:1 2:1 3:1 4:1 5:1 6:1 7:1 8:1"
        );
    }

    #[test]
    fn lag_takes_the_larger_latest_offset_and_is_unknown_before_the_first_batch() {
        let partitions = BTreeMap::from([(0, (100, 100)), (1, (-2, 50)), (2, (40, 60))]);
        let kafka = BTreeMap::from([(0, 130), (2, 55)]);
        assert_eq!(
            lag(&partitions, &kafka),
            [(0, Some(30)), (1, None), (2, Some(20))]
        );
        assert_eq!(
            lag(&partitions, &BTreeMap::new()),
            [(0, Some(0)), (1, None), (2, Some(20))]
        );
    }

    #[test]
    fn the_mode_follows_the_terminal_and_the_log_level() {
        assert_eq!(Mode::choose(true, false), Mode::Live);
        assert_eq!(Mode::choose(true, true), Mode::Lines);
        assert_eq!(Mode::choose(false, true), Mode::Lines);
        assert_eq!(Mode::choose(false, false), Mode::Off);
    }

    #[test]
    fn the_rate_is_measured_over_the_window() {
        let t0 = Instant::now();
        let mut rate = Rate {
            samples: VecDeque::from([(t0, 0)]),
            window: Duration::from_secs(5),
        };
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(rate.update(at(1), 1000), 1000.0);
        assert_eq!(rate.update(at(2), 2000), 1000.0);
        // Samples older than the window drop out: 6 s sees 1 s .. 6 s.
        assert_eq!(rate.update(at(6), 2000), 200.0);
        assert_eq!(rate.update(at(12), 2000), 0.0);
    }
}
