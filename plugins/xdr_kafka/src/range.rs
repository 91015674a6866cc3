//! The offset range a read covers per partition, and where each partition stands while
//! messages arrive. No I/O: the read loop feeds it messages, end-of-partition events and
//! the consumer's positions.

use crate::request::{EARLIEST, LATEST, Wait};

/// Why the requested range cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// `start` or `end` does not have one entry per partition of the topic.
    #[error(
        "query key \"{key}\" has {got} offsets, topic \"{topic}\" has {partitions} partitions: \
         give one offset per partition, in partition order (-2 earliest, -1 latest)"
    )]
    Count {
        /// `start` or `end`.
        key: &'static str,
        /// Entries given.
        got: usize,
        /// The topic.
        topic: String,
        /// Its partitions.
        partitions: usize,
    },
    /// A start offset the partition does not hold.
    #[error(
        "partition {partition}: start offset {start} is {where_} (the partition holds \
         offsets {low} to {high}, {high} being the next message's)"
    )]
    StartOutOfRange {
        /// The partition.
        partition: i32,
        /// The start given.
        start: i64,
        /// `past its end` or `before its earliest message (deleted by retention)`.
        where_: &'static str,
        /// The low watermark.
        low: i64,
        /// The high watermark.
        high: i64,
    },
    /// A partition's start lies after its end.
    #[error("partition {partition}: start offset {start} is after end offset {end}")]
    StartAfterEnd {
        /// The partition.
        partition: i32,
        /// The resolved start.
        start: i64,
        /// The end.
        end: i64,
    },
}

/// One partition's requested range, before `-2`/`-1` starts are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// The partition.
    pub partition: i32,
    /// The start as given: an offset, [`EARLIEST`] or [`LATEST`].
    pub start: i64,
    /// The exclusive end, if any.
    pub end: Option<i64>,
}

impl Wanted {
    /// The start offset, `-2` and `-1` resolved with the partition's low and high
    /// watermarks; checked against them and the end.
    pub fn resolve(self, low: i64, high: i64) -> Result<Range, RangeError> {
        let start = match self.start {
            EARLIEST => low,
            LATEST => high,
            s if s > high => {
                return Err(RangeError::StartOutOfRange {
                    partition: self.partition,
                    start: s,
                    where_: "past its end",
                    low,
                    high,
                });
            }
            s if s < low => {
                return Err(RangeError::StartOutOfRange {
                    partition: self.partition,
                    start: s,
                    where_: "before its earliest message (deleted by retention)",
                    low,
                    high,
                });
            }
            s => s,
        };
        if let Some(end) = self.end
            && start > end
        {
            return Err(RangeError::StartAfterEnd {
                partition: self.partition,
                start,
                end,
            });
        }
        Ok(Range {
            partition: self.partition,
            start,
            end: self.end,
        })
    }
}

/// The ranges of the partitions a fragment owns: `start` and `end` lists (one entry per
/// partition of the topic, by partition number) checked against `partitions`.
pub fn wanted(
    topic: &str,
    partitions: usize,
    owns: impl Fn(i32) -> bool,
    start: Option<&[i64]>,
    end: Option<&[i64]>,
) -> Result<Vec<Wanted>, RangeError> {
    for (key, list) in [("start", start), ("end", end)] {
        if let Some(list) = list
            && list.len() != partitions
        {
            return Err(RangeError::Count {
                key,
                got: list.len(),
                topic: topic.to_owned(),
                partitions,
            });
        }
    }
    let count = i32::try_from(partitions).unwrap_or(i32::MAX);
    Ok((0..count)
        .filter(|&p| owns(p))
        .map(|p| {
            let i = usize::try_from(p).unwrap_or_default();
            Wanted {
                partition: p,
                start: start.map_or(LATEST, |s| s[i]),
                end: end.map(|e| e[i]).filter(|&e| e != LATEST),
            }
        })
        .collect())
}

/// One partition's resolved range: `start..end` (no end = open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The partition.
    pub partition: i32,
    /// The first offset to read.
    pub start: i64,
    /// The offset to stop before, if any.
    pub end: Option<i64>,
}

/// What to do with a message the consumer delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// In range: return it.
    Take,
    /// Not returned: at or past the partition's end, before its next offset, or after
    /// the partition finished.
    Skip,
}

#[derive(Debug, Clone)]
struct State {
    range: Range,
    /// The next offset to read, as far as the messages taken tell.
    next: i64,
    /// The consumer reported the end of the partition's available data.
    caught_up: bool,
    /// A message was delivered that was not taken: the consumer's position is past what
    /// was read, so `next` alone is the truth.
    skipped: bool,
}

impl State {
    fn reached_end(&self) -> bool {
        self.range.end.is_some_and(|e| self.next >= e)
    }
}

/// Where each partition of a read stands.
#[derive(Debug, Clone)]
pub struct Tracker {
    states: Vec<State>,
    wait: Wait,
}

impl Tracker {
    /// A tracker of `ranges`, each at its start.
    pub fn new(ranges: &[Range], wait: Wait) -> Tracker {
        Tracker {
            states: ranges
                .iter()
                .map(|&range| State {
                    range,
                    next: range.start,
                    caught_up: false,
                    skipped: false,
                })
                .collect(),
            wait,
        }
    }

    fn state(&mut self, partition: i32) -> Option<&mut State> {
        self.states
            .iter_mut()
            .find(|s| s.range.partition == partition)
    }

    /// A message at `offset` of `partition` arrived.
    pub fn on_message(&mut self, partition: i32, offset: i64) -> Verdict {
        let Some(s) = self.state(partition) else {
            return Verdict::Skip;
        };
        if offset < s.next || s.reached_end() {
            s.skipped = true;
            return Verdict::Skip;
        }
        if let Some(end) = s.range.end
            && offset >= end
        {
            // Everything before it was transaction markers or aborted messages: the next
            // offset to read is this message's.
            s.next = offset;
            s.skipped = true;
            return Verdict::Skip;
        }
        s.next = offset + 1;
        Verdict::Take
    }

    /// The consumer reached the end of what `partition` holds now.
    pub fn on_caught_up(&mut self, partition: i32) {
        if let Some(s) = self.state(partition) {
            s.caught_up = true;
        }
    }

    /// Whether `partition` needs no more messages.
    fn finished(&self, s: &State) -> bool {
        s.reached_end() || (self.wait == Wait::UntilCaughtUp && s.caught_up)
    }

    /// Whether every partition is finished: each reached its end, or (when the read does
    /// not wait) the end of its available data.
    pub fn all_finished(&self) -> bool {
        self.states.iter().all(|s| self.finished(s))
    }

    /// The partitions still being read.
    pub fn unfinished(&self) -> Vec<i32> {
        self.states
            .iter()
            .filter(|s| !self.finished(s))
            .map(|s| s.range.partition)
            .collect()
    }

    /// The next offset to read per partition, in partition order: what the messages taken
    /// say, moved forward to the consumer's `position` (which steps over transaction
    /// markers and aborted messages) when every message delivered was taken.
    pub fn next_offsets(&self, position: impl Fn(i32) -> Option<i64>) -> Vec<(i32, i64)> {
        let mut out: Vec<(i32, i64)> = self
            .states
            .iter()
            .map(|s| {
                let mut next = s.next;
                if !s.skipped
                    && let Some(pos) = position(s.range.partition)
                {
                    next = next.max(pos);
                    if let Some(end) = s.range.end
                        && s.next < end
                    {
                        // Markers at most up to the end: never report past messages
                        // not read.
                        next = next.min(end.max(s.next));
                    }
                }
                (s.range.partition, next)
            })
            .collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn range(partition: i32, start: i64, end: Option<i64>) -> Range {
        Range {
            partition,
            start,
            end,
        }
    }

    #[test]
    fn lists_must_cover_every_partition() {
        let all = |_| true;
        let w = wanted("t", 3, all, Some(&[5, -2, -1]), Some(&[9, -1, 4])).unwrap();
        assert_eq!(
            w,
            [
                Wanted {
                    partition: 0,
                    start: 5,
                    end: Some(9)
                },
                Wanted {
                    partition: 1,
                    start: -2,
                    end: None
                },
                Wanted {
                    partition: 2,
                    start: -1,
                    end: Some(4)
                },
            ]
        );
        let e = wanted("t", 3, all, Some(&[5, 5]), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "query key \"start\" has 2 offsets, topic \"t\" has 3 partitions: give one offset \
             per partition, in partition order (-2 earliest, -1 latest)"
        );
        let e = wanted("t", 1, all, None, Some(&[1, 2])).unwrap_err();
        assert!(matches!(
            e,
            RangeError::Count {
                key: "end",
                got: 2,
                ..
            }
        ));
    }

    #[test]
    fn defaults_are_latest_and_no_end_and_fragments_pick_partitions() {
        let w = wanted("t", 4, |p| p % 2 == 1, None, None).unwrap();
        assert_eq!(
            w.iter()
                .map(|w| (w.partition, w.start, w.end))
                .collect::<Vec<_>>(),
            [(1, LATEST, None), (3, LATEST, None)]
        );
    }

    #[test]
    fn starts_resolve_with_watermarks() {
        let w = |start, end| Wanted {
            partition: 2,
            start,
            end,
        };
        assert_eq!(w(EARLIEST, None).resolve(3, 10).unwrap().start, 3);
        assert_eq!(w(LATEST, Some(10)).resolve(3, 10).unwrap().start, 10);
        assert_eq!(w(7, Some(7)).resolve(3, 10).unwrap(), range(2, 7, Some(7)));
        assert_eq!(w(10, None).resolve(3, 10).unwrap().start, 10);
        assert_eq!(w(3, None).resolve(3, 10).unwrap().start, 3);
        assert_eq!(
            w(11, None).resolve(3, 10).unwrap_err().to_string(),
            "partition 2: start offset 11 is past its end (the partition holds offsets 3 to \
             10, 10 being the next message's)"
        );
        assert!(matches!(
            w(2, None).resolve(3, 10),
            Err(RangeError::StartOutOfRange { start: 2, .. })
        ));
        assert_eq!(
            w(LATEST, Some(4)).resolve(0, 10).unwrap_err().to_string(),
            "partition 2: start offset 10 is after end offset 4"
        );
    }

    #[test]
    fn messages_in_range_are_taken_and_the_end_is_exclusive() {
        let mut t = Tracker::new(&[range(0, 5, Some(8))], Wait::UntilCaughtUp);
        assert!(!t.all_finished());
        assert_eq!(t.on_message(0, 5), Verdict::Take);
        assert_eq!(t.on_message(0, 6), Verdict::Take);
        assert!(!t.all_finished());
        assert_eq!(t.on_message(0, 7), Verdict::Take);
        assert!(t.all_finished());
        assert_eq!(t.on_message(0, 8), Verdict::Skip);
        // The consumer's position is past message 8, which was not read.
        assert_eq!(t.next_offsets(|_| Some(9)), [(0, 8)]);
    }

    #[test]
    fn an_empty_range_is_finished_at_once_and_reports_its_start() {
        let t = Tracker::new(&[range(1, 4, Some(4))], Wait::Upto(Duration::from_secs(9)));
        assert!(t.all_finished());
        assert_eq!(t.next_offsets(|_| None), [(1, 4)]);
    }

    #[test]
    fn a_gap_of_markers_before_the_end_moves_next_to_the_first_message_past_it() {
        let mut t = Tracker::new(&[range(0, 0, Some(3))], Wait::UntilCaughtUp);
        assert_eq!(t.on_message(0, 0), Verdict::Take);
        // Offsets 1..=4 were a transaction's markers or aborted messages.
        assert_eq!(t.on_message(0, 5), Verdict::Skip);
        assert!(t.all_finished());
        assert_eq!(t.next_offsets(|_| Some(6)), [(0, 5)]);
    }

    #[test]
    fn the_position_steps_over_markers_after_the_last_message() {
        let mut t = Tracker::new(&[range(0, 0, None)], Wait::UntilCaughtUp);
        assert_eq!(t.on_message(0, 0), Verdict::Take);
        assert_eq!(t.on_message(0, 1), Verdict::Take);
        assert!(!t.all_finished());
        t.on_caught_up(0);
        assert!(t.all_finished());
        // A commit marker at 2: the consumer stands at 3.
        assert_eq!(t.next_offsets(|_| Some(3)), [(0, 3)]);
        // No position known: what was read.
        assert_eq!(t.next_offsets(|_| None), [(0, 2)]);
        // A position behind what was read is ignored.
        assert_eq!(t.next_offsets(|_| Some(1)), [(0, 2)]);
    }

    #[test]
    fn the_position_never_passes_the_end() {
        let mut t = Tracker::new(&[range(0, 0, Some(5))], Wait::UntilCaughtUp);
        assert_eq!(t.on_message(0, 0), Verdict::Take);
        t.on_caught_up(0);
        assert_eq!(t.next_offsets(|_| Some(3)), [(0, 3)]);
        assert_eq!(t.next_offsets(|_| Some(9)), [(0, 5)]);
    }

    #[test]
    fn waiting_reads_ignore_caught_up_unless_every_partition_has_an_end() {
        let wait = Wait::Upto(Duration::from_secs(5));
        let mut t = Tracker::new(&[range(0, 0, None), range(1, 0, Some(1))], wait);
        t.on_caught_up(0);
        assert_eq!(t.unfinished(), [0, 1]);
        assert_eq!(t.on_message(1, 0), Verdict::Take);
        assert_eq!(t.unfinished(), [0]);
        assert!(!t.all_finished());
        let mut t = Tracker::new(&[range(0, 0, None)], Wait::UntilCaughtUp);
        t.on_caught_up(0);
        assert!(t.all_finished());
    }

    #[test]
    fn unknown_partitions_and_old_offsets_are_skipped() {
        let mut t = Tracker::new(&[range(0, 5, None)], Wait::UntilCaughtUp);
        assert_eq!(t.on_message(3, 5), Verdict::Skip);
        assert_eq!(t.on_message(0, 4), Verdict::Skip);
        assert_eq!(t.next_offsets(|_| Some(7)), [(0, 5)]);
    }
}
