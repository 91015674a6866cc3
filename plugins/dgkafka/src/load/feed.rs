//! A reader's reads ahead: a background task that reads batches in order, one request
//! after another, while the reader writes the batch before them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::{LoadError, Shared, read};

/// Batches read ahead by a background task, in order: the batches of one read request
/// (cut at the plugin's checkpoints), then of the next request from where that one ended,
/// as long as reads make progress (and, with `-quit-at-eof`, until the reader's partitions
/// are at their end). It holds at most one batch beyond the one being written; dropping it
/// cancels its read and discards what it read.
pub(super) struct Feed {
    /// Where the next batch it delivers starts: one offset per partition of the topic,
    /// in partition order, as the read query takes them.
    starts: Vec<i64>,
    batches: mpsc::Receiver<Result<(SystemTime, read::BatchRead), LoadError>>,
    task: JoinHandle<()>,
}

impl Feed {
    /// Starts reading ahead from `starts`, as fragment `fragment` whose partitions (and
    /// their high watermarks) are `latest`.
    pub(super) fn start(
        shared: Arc<Shared>,
        fragment: (i32, i32),
        starts: Vec<i64>,
        latest: BTreeMap<i32, i64>,
    ) -> Feed {
        // Room for one batch: the task reserves it before reading on, so one batch is
        // written, one waits, and the plugin waits for the reader.
        let (tx, batches) = mpsc::channel(1);
        let task =
            tokio::spawn(feed(shared, fragment, starts.clone(), latest, tx).in_current_span());
        Feed {
            starts,
            batches,
            task,
        }
    }

    /// Where the next batch it delivers starts.
    pub(super) fn starts(&self) -> &[i64] {
        &self.starts
    }

    /// The next batch and when its read began (its `batch_start`); `None` once the feed
    /// has ended.
    pub(super) async fn next(
        &mut self,
    ) -> Option<Result<(SystemTime, read::BatchRead), LoadError>> {
        let item = self.batches.recv().await?;
        if let Ok((_, batch)) = &item {
            advance(&mut self.starts, &batch.positions);
        }
        Some(item)
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Moves `starts` (one entry per partition of the topic) to a batch's `positions`.
fn advance(starts: &mut [i64], positions: &BTreeMap<i32, i64>) {
    for (&p, &next) in positions {
        if let Some(start) = usize::try_from(p).ok().and_then(|p| starts.get_mut(p)) {
            *start = next;
        }
    }
}

/// The body of a [`Feed`]'s task: reads from `starts` and sends each batch as soon as the
/// one before it was taken. `latest` holds the reader's partitions and their high
/// watermarks.
async fn feed(
    shared: Arc<Shared>,
    (frag_id, frag_cnt): (i32, i32),
    mut starts: Vec<i64>,
    latest: BTreeMap<i32, i64>,
    tx: mpsc::Sender<Result<(SystemTime, read::BatchRead), LoadError>>,
) {
    let start_of =
        |starts: &[i64], p: i32| usize::try_from(p).ok().and_then(|p| starts.get(p).copied());
    // Offset-table rows find a batch in doubt by its start time: no two alike.
    let mut last_started = SystemTime::UNIX_EPOCH;
    loop {
        let opened = shared
            .plan
            .open(&shared.xdrive, frag_id, frag_cnt, &starts, latest.len())
            .await;
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        let mut progressed = false;
        loop {
            // Wait for room before reading on: at most one batch waits to be written.
            let Ok(permit) = tx.reserve().await else {
                return;
            };
            let started = SystemTime::now().max(last_started + Duration::from_micros(1));
            last_started = started;
            match stream.next_batch().await {
                Ok(Some(batch)) => {
                    let moved = batch
                        .positions
                        .iter()
                        .any(|(&p, &next)| start_of(&starts, p) != Some(next));
                    progressed |= batch.rows > 0 || !batch.errors.is_empty() || moved;
                    advance(&mut starts, &batch.positions);
                    permit.send(Ok((started, batch)));
                }
                Ok(None) => break,
                Err(e) => {
                    permit.send(Err(e));
                    return;
                }
            }
        }
        let at_end = latest
            .iter()
            .all(|(&p, &l)| start_of(&starts, p).is_some_and(|s| s >= 0 && s >= l));
        if !progressed || (shared.options.quit_at_eof && at_end) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_moves_the_starts_of_its_partitions_only() {
        let mut starts = vec![-2, 7, -1];
        advance(&mut starts, &BTreeMap::from([(0, 40), (2, 9)]));
        assert_eq!(starts, [40, 7, 9]);
        // A partition the topic does not have (it grew after the start) moves nothing.
        advance(&mut starts, &BTreeMap::from([(5, 1), (-1, 3)]));
        assert_eq!(starts, [40, 7, 9]);
    }
}
