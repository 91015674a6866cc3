//! Progress while producing: a bar on a terminal, plain periodic lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counters at one moment of a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    /// Rows queued for Kafka.
    pub rows: u64,
    /// Input bytes read.
    pub input_bytes: u64,
    /// Messages acknowledged.
    pub acked: u64,
    /// Messages that failed.
    pub failed: u64,
    /// Malformed records skipped.
    pub skipped: u64,
    /// Time since the start.
    pub elapsed: Duration,
}

impl Snapshot {
    fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.rows as f64 / s } else { 0.0 }
    }

    /// One line: `12000 rows, 2.1 MB, 45000 rows/s, 11000 acknowledged`.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{} rows, {:.1} MB, {:.0} rows/s, {} acknowledged",
            self.rows,
            self.input_bytes as f64 / 1e6,
            self.rate(),
            self.acked
        );
        if self.failed > 0 {
            s.push_str(&format!(", {} failed", self.failed));
        }
        if self.skipped > 0 {
            s.push_str(&format!(", {} bad lines skipped", self.skipped));
        }
        s
    }
}

/// `512 B`, `3.4 kB`, `178.2 MB`, `1.2 GB` (decimal units).
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1000 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.1} kB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

/// Where progress goes.
pub trait Progress {
    /// The run starts; `total` is the input size when known.
    fn start(&mut self, total: Option<u64>);
    /// New counters (called often; implementations rate-limit themselves).
    fn update(&mut self, snapshot: &Snapshot);
    /// The input is read; waiting for the last acknowledgements.
    fn flushing(&mut self, snapshot: &Snapshot);
    /// The run is over: clear the bar.
    fn finish(&mut self);
}

/// No progress (`-q`, and tests).
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&mut self, _: Option<u64>) {}
    fn update(&mut self, _: &Snapshot) {}
    fn flushing(&mut self, _: &Snapshot) {}
    fn finish(&mut self) {}
}

/// Progress for stderr: a bar when it is a terminal, lines every few seconds otherwise,
/// nothing when quiet.
pub fn for_stderr(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bar::default())
    } else {
        Box::new(Lines::new(Duration::from_secs(5)))
    }
}

/// An indicatif bar (bytes of the input when its size is known, a spinner otherwise).
#[derive(Default)]
pub struct Bar {
    bar: Option<ProgressBar>,
    last: Option<Instant>,
}

impl Bar {
    /// Updates the bar at most every 100 ms.
    fn show(&mut self, s: &Snapshot, suffix: &str) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        if let Some(bar) = &self.bar {
            bar.set_position(s.input_bytes);
            bar.set_message(format!("{}{suffix}", s.line()));
        }
    }
}

impl Progress for Bar {
    fn start(&mut self, total: Option<u64>) {
        let target = ProgressDrawTarget::stderr_with_hz(10);
        let (bar, template) = match total {
            Some(len) => (
                ProgressBar::with_draw_target(Some(len), target),
                "{spinner} {elapsed_precise} [{bar:30}] {percent:>3}% {msg}",
            ),
            None => (
                ProgressBar::with_draw_target(None, target),
                "{spinner} {elapsed_precise} {msg}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    fn update(&mut self, s: &Snapshot) {
        self.show(s, "");
    }

    fn flushing(&mut self, s: &Snapshot) {
        self.show(s, "; waiting for acknowledgements");
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A plain line to stderr every `every`.
pub struct Lines {
    every: Duration,
    next: Option<Instant>,
}

impl Lines {
    /// Lines every `every`.
    pub fn new(every: Duration) -> Lines {
        Lines { every, next: None }
    }
}

impl Progress for Lines {
    fn start(&mut self, _: Option<u64>) {
        self.next = Some(Instant::now() + self.every);
    }

    fn update(&mut self, s: &Snapshot) {
        let now = Instant::now();
        if self.next.is_some_and(|t| now >= t) {
            self.next = Some(now + self.every);
            eprintln!("csv2kafka: {}", s.line());
        }
    }

    fn flushing(&mut self, s: &Snapshot) {
        self.update(s);
    }

    fn finish(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_for_humans() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(920), "920 B");
        assert_eq!(human_bytes(3_400), "3.4 kB");
        assert_eq!(human_bytes(178_240_000), "178.2 MB");
        assert_eq!(human_bytes(1_234_000_000), "1.23 GB");
    }

    #[test]
    fn snapshot_line() {
        let s = Snapshot {
            rows: 1000,
            input_bytes: 2_500_000,
            acked: 900,
            failed: 0,
            skipped: 2,
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(
            s.line(),
            "1000 rows, 2.5 MB, 500 rows/s, 900 acknowledged, 2 bad lines skipped"
        );
        assert_eq!(
            Snapshot::default().line(),
            "0 rows, 0.0 MB, 0 rows/s, 0 acknowledged"
        );
    }
}
