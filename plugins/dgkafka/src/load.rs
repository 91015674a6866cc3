//! `dgkafka load`: Kafka into PostgreSQL, exactly once.
//!
//! N readers (`kafka.input.nreader`) each own the partitions `p % N == i`, read them as
//! xdrive fragment `i` of `N` from `xdr_kafka`, and write each batch in one transaction on
//! their own database connection: the data rows (binary COPY, into the output table or a
//! staging table followed by `INSERT ... SELECT <mappings>`), the error rows (into
//! `kafka.output.error_table` when configured) and one offset-table row per partition
//! with the next offset to read. Only after the commit are the same offsets committed to
//! the Kafka consumer group through `xdr_kafkaoffset` (at most every 5 s per reader, and
//! when a reader stops); a failure there is a warning, since the database is the source
//! of truth.
//!
//! **Pipeline.** A reader overlaps its stages. Its reads run in a background task (a
//! [`Feed`]): one `xdr_kafka` request reads many batches in a row (cut at the plugin's
//! checkpoints, [`read`]), and when it ends the next request starts where it ended. The
//! task reads the next batch while the batch before it is written (COPY straight from the
//! received pages, offsets, `COMMIT`) and holds at most that one batch; a batch is taken
//! only if it starts where the reader's committed offsets are. When a batch fails or is
//! rolled back, what was read ahead is discarded and the reader resumes from the offsets
//! the database recorded, exactly as after a restart. Mirroring offsets into the consumer
//! group runs in the background too (one at a time per reader), off the batches' path; the
//! last one is awaited when the reader stops.
//!
//! A lost connection during a batch's transaction leaves its outcome in doubt; after
//! reconnecting, the reader looks for that batch's offset rows (by its `batch_start`) and
//! resumes after it if it committed, or reads it again if it did not.
//!
//! In the default mode a lost connection (database, xdrive, brokers — the plugins' errcode
//! -3, "temporarily unavailable") is retried with backoff, at start-up for the brokers too.
//!
//! Start offset per partition: the latest offset-table row for the group, topic and
//! partition; else the group's committed offset in Kafka; else earliest.
//! `-force-reset-earliest` / `-force-reset-latest` override it for the first batch.
//!
//! * [`read`] — a read request to `xdr_kafka`, its batches, and the split of their rows
//!   by kind;
//! * `feed` — a reader's reads ahead, in a background task;
//! * [`sink`] — one batch's transaction.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tokio_postgres::Client as PgClient;
use tracing::{Instrument, debug, info, warn};

use crate::config::Config;
use crate::copy::CopyError;
use crate::db::{self, ConnectError};
use crate::ident::QualifiedName;
use crate::kafka_offsets::{self, KafkaOffsetError, NO_OFFSET};
use crate::progress;

mod feed;
pub mod read;
pub mod sink;

use feed::Feed;

/// Kafka's "earliest" start offset.
pub const EARLIEST: i64 = -2;
/// Kafka's "latest" start offset.
pub const LATEST: i64 = -1;

/// How long a reader waits after a batch that found nothing new (default mode).
const IDLE_WAIT: Duration = Duration::from_millis(500);
/// How often committed offsets are mirrored into the Kafka consumer group (and always
/// when a reader stops): each mirror is an xdrive write that starts a plugin process.
const MIRROR_EVERY: Duration = Duration::from_secs(5);
/// The first and the longest wait before retrying after a lost connection.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Where the first batch starts, overriding the recorded offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    Earliest,
    Latest,
}

/// The command line's choices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Stop once every partition's next offset reached its latest offset.
    pub quit_at_eof: bool,
    pub reset: Option<Reset>,
}

/// What a load did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub rows: u64,
    pub errors: u64,
    pub batches: u64,
    pub seconds: f64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Loaded {} rows ({} row errors stored) in {} batches, {:.1} s.",
            self.rows, self.errors, self.batches, self.seconds
        )
    }
}

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error("{key}: {message}")]
    Config { key: String, message: String },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    KafkaOffsets(#[from] KafkaOffsetError),
    #[error(transparent)]
    PartitionCount(#[from] kafka_offsets::PartitionCountError),
    #[error("reading a batch from xdr_kafka failed")]
    Read(#[source] Box<xdrive::Error>),
    #[error("xdr_kafka sent something dgkafka cannot use: {0}")]
    Protocol(String),
    #[error(
        "cannot decode the message at partition {partition}, offset {offset}: {reason} \
         (configure kafka.output.error_table and kafka.output.error_limit to store such messages)"
    )]
    RowError {
        partition: i32,
        offset: i64,
        reason: String,
    },
    #[error(transparent)]
    Copy(CopyError),
    #[error("kafka.output.mappings[{index}] (name = `{name}`, key = `{key}`) failed")]
    Mapping {
        index: usize,
        name: String,
        key: String,
        source: tokio_postgres::Error,
    },
    #[error("{what} failed")]
    Sql {
        what: String,
        source: tokio_postgres::Error,
    },
}

impl LoadError {
    fn config(key: impl Into<String>, message: impl Into<String>) -> LoadError {
        LoadError::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    /// A lost or unreachable connection (database, xdrive, brokers), worth retrying; not a
    /// configuration or data problem.
    pub fn is_retriable(&self) -> bool {
        let pg = |e: &tokio_postgres::Error| {
            e.is_closed()
                || e.as_db_error().is_none_or(|db| {
                    let code = db.code().code();
                    ["08", "53", "57", "40"].iter().any(|c| code.starts_with(c))
                })
        };
        match self {
            LoadError::Connect(e) => e.is_retriable(),
            LoadError::KafkaOffsets(e) => e.is_retriable(),
            LoadError::Read(e) => e.is_retriable(),
            LoadError::Copy(e) => e.is_retriable(),
            LoadError::Sql { source, .. } => pg(source),
            _ => false,
        }
    }
}

/// Everything the readers share.
struct Shared {
    config: Config,
    options: LoadOptions,
    xdrive: xdrive::Client,
    plan: read::ReadPlan,
    partition_count: usize,
    /// Counters for the progress line ([`crate::progress`]) and the summary.
    progress: Arc<progress::Counters>,
}

/// Runs the load until `-quit-at-eof` is satisfied, an error that is not retried, or
/// `shutdown` turns true (the batch in flight is finished first).
pub async fn run(
    config: Config,
    options: LoadOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<Summary, LoadError> {
    let began = Instant::now();
    let input = &config.kafka.input;
    let xdrive = xdrive::Client::new(
        config.dgkafka.xdrive_host.clone(),
        config.dgkafka.xdrive_port,
    );
    let plan = read::ReadPlan::new(&config)?;

    // Kafka's view (the partitions, their high watermarks, the group's committed offsets)
    // and the database's (the recorded offsets, the source of truth), asked at once.
    let database_view = async {
        let client = db::connect(&config.dgkafka).await?;
        recorded_offsets(&client, &config).await
    };
    let (kafka, recorded) = tokio::join!(
        kafka_view(&config, &xdrive, options, shutdown.clone()),
        database_view
    );
    let Some(kafka) = kafka? else {
        // Stopped while waiting for the brokers.
        return Ok(Summary {
            rows: 0,
            errors: 0,
            batches: 0,
            seconds: began.elapsed().as_secs_f64(),
        });
    };
    kafka_offsets::check_partition_count(&input.topic, input.partition_num, &kafka)?;
    let recorded = recorded?;
    let mut starts = BTreeMap::new();
    let mut partitions = BTreeMap::new();
    for k in &kafka {
        let start = match options.reset {
            Some(Reset::Earliest) => EARLIEST,
            Some(Reset::Latest) => LATEST,
            None => recorded
                .get(&k.partition)
                .copied()
                .or((k.committed != NO_OFFSET && k.committed >= 0).then_some(k.committed))
                .unwrap_or(EARLIEST),
        };
        info!(
            partition = k.partition,
            start,
            latest = k.latest,
            "Start offset."
        );
        starts.insert(k.partition, start);
        partitions.insert(k.partition, (start, k.latest));
    }
    let nreader = config.nreader().max(1);
    let shared = Arc::new(Shared {
        partition_count: kafka.len(),
        options,
        xdrive,
        plan,
        progress: Arc::new(progress::Counters {
            partitions: Mutex::new(partitions),
            ..progress::Counters::default()
        }),
        config,
    });
    info!(
        nreader,
        partitions = shared.partition_count,
        quit_at_eof = options.quit_at_eof,
        "Loading."
    );

    let progress = progress::Reporter::start(shared.progress.clone(), &shared.config, began);
    let mut readers = tokio::task::JoinSet::new();
    for id in 0..nreader {
        let owned: BTreeMap<i32, i64> = starts
            .iter()
            .filter(|&(&p, _)| u32::try_from(p).is_ok_and(|p| p % nreader == id))
            .map(|(&p, &s)| (p, s))
            .collect();
        let latest: BTreeMap<i32, i64> = kafka
            .iter()
            .filter(|k| owned.contains_key(&k.partition))
            .map(|k| (k.partition, k.latest))
            .collect();
        let reader = Reader {
            id,
            nreader,
            shared: shared.clone(),
            next: owned,
            latest,
            in_doubt: None,
            unmirrored: BTreeMap::new(),
            last_mirror: None,
            mirroring: None,
            feed: None,
            shutdown: shutdown.clone(),
        };
        readers.spawn(reader.run().instrument(tracing::info_span!("reader", id)));
    }
    let mut result = Ok(());
    while let Some(joined) = readers.join_next().await {
        let outcome = joined
            .unwrap_or_else(|e| Err(LoadError::Protocol(format!("a reader task failed: {e}"))));
        if let Err(e) = outcome
            && result.is_ok()
        {
            result = Err(e);
            // Stop the others: a batch in flight is rolled back when its connection
            // drops, and is read again by the next load.
            readers.abort_all();
        }
    }
    progress.stop();
    result?;
    let p = &shared.progress;
    Ok(Summary {
        rows: p.rows.load(Ordering::Relaxed),
        errors: p.errors.load(Ordering::Relaxed),
        batches: p.batches.load(Ordering::Relaxed),
        seconds: began.elapsed().as_secs_f64(),
    })
}

/// The topic's partitions as Kafka sees them. In the default mode, brokers that are down
/// or restarting are waited for; `None` when `shutdown` came first.
async fn kafka_view(
    config: &Config,
    xdrive: &xdrive::Client,
    options: LoadOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<Option<Vec<kafka_offsets::KafkaOffset>>, LoadError> {
    let input = &config.kafka.input;
    let mut backoff = BACKOFF_FIRST;
    loop {
        let read = kafka_offsets::read(
            xdrive,
            &config.dgkafka.xdrive_offset_endpoint,
            &input.consumer_group,
            &input.topic,
        )
        .await;
        match read {
            Ok(kafka) => return Ok(Some(kafka)),
            Err(e) if !options.quit_at_eof && e.is_brokers_unavailable() => {
                warn!(error = %crate::error_chain(&e), retry_in_secs = backoff.as_secs(), "Kafka is not available; retrying.");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => {}
                }
                if *shutdown.borrow() {
                    return Ok(None);
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The next offset of the latest offset-table row per partition.
async fn recorded_offsets(
    client: &PgClient,
    config: &Config,
) -> Result<BTreeMap<i32, i64>, LoadError> {
    let table = QualifiedName::parse(&config.kafka.output.offset_table)
        .map_err(|e| LoadError::config("kafka.output.offset_table", e.to_string()))?;
    let rows = client
        .query(
            &format!(
                "SELECT DISTINCT ON (partition_number) partition_number, next_offset FROM {table} \
                 WHERE consumer_group = $1 AND topic = $2 \
                 ORDER BY partition_number, batch_end DESC, next_offset DESC"
            ),
            &[&config.kafka.input.consumer_group, &config.kafka.input.topic],
        )
        .await
        .map_err(|source| LoadError::Sql {
            what: format!(
                "reading the recorded offsets from kafka.output.offset_table {table} (run `dgkafka setup` first)"
            ),
            source,
        })?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The next offsets recorded by the batch that began at `started`, if it committed.
async fn committed_positions(
    client: &PgClient,
    config: &Config,
    started: SystemTime,
) -> Result<BTreeMap<i32, i64>, LoadError> {
    let table = QualifiedName::parse(&config.kafka.output.offset_table)
        .map_err(|e| LoadError::config("kafka.output.offset_table", e.to_string()))?;
    let rows = client
        .query(
            &format!(
                "SELECT partition_number, next_offset FROM {table} \
                 WHERE consumer_group = $1 AND topic = $2 AND batch_start = $3"
            ),
            &[
                &config.kafka.input.consumer_group,
                &config.kafka.input.topic,
                &started,
            ],
        )
        .await
        .map_err(|source| LoadError::Sql {
            what: format!("looking up the batch in doubt in kafka.output.offset_table {table}"),
            source,
        })?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// One reader: its partitions, their next offsets, and its own connections.
struct Reader {
    id: u32,
    nreader: u32,
    shared: Arc<Shared>,
    /// Owned partition → next offset to read (`-2`/`-1` until the first batch resolves it).
    next: BTreeMap<i32, i64>,
    /// Owned partition → high watermark, as last read.
    latest: BTreeMap<i32, i64>,
    /// The `batch_start` of a batch whose transaction failed without a clear outcome:
    /// whether its COMMIT happened is looked up in the offset table after reconnecting.
    in_doubt: Option<SystemTime>,
    /// Committed offsets not yet mirrored into the Kafka consumer group.
    unmirrored: BTreeMap<i32, i64>,
    last_mirror: Option<Instant>,
    /// The mirror running in the background: the offsets it sends back when it failed.
    mirroring: Option<JoinHandle<Option<BTreeMap<i32, i64>>>>,
    /// The batches read ahead, while the batch before them is written.
    feed: Option<Feed>,
    shutdown: watch::Receiver<bool>,
}

enum Step {
    /// Rows or positions moved.
    Progressed,
    /// Nothing new.
    Idle,
    /// `-quit-at-eof` and every owned partition is at its end.
    Done,
}

impl Reader {
    async fn run(mut self) -> Result<(), LoadError> {
        let result = self.run_batches().await;
        self.feed = None;
        // Whatever ended the run, what the database committed goes to Kafka too.
        if let Some(mirroring) = self.mirroring.take()
            && let Ok(Some(failed)) = mirroring.await
        {
            self.requeue(failed);
        }
        self.mirror().await;
        result
    }

    async fn run_batches(&mut self) -> Result<(), LoadError> {
        let mut backoff = BACKOFF_FIRST;
        let mut first_connection = true;
        'connection: loop {
            // What was read ahead is discarded: the reader goes on from its own offsets
            // (or the database's, below).
            self.feed = None;
            if self.stopping() {
                return Ok(());
            }
            // At start-up, reading begins while the connection is made (not after a
            // failure: the database may be down for long).
            if first_connection && !(self.shared.options.quit_at_eof && self.at_end()) {
                self.feed = Some(self.start_feed(self.starts(&self.next)));
            }
            first_connection = false;
            let connected = self.connect().await;
            let (mut client, sink) = match connected {
                Ok(c) => c,
                Err(e) => {
                    self.retry_or_fail(e, &mut backoff).await?;
                    continue 'connection;
                }
            };
            if let Some(started) = self.in_doubt {
                // The connection was lost during a batch's transaction: its offset rows
                // say whether it committed.
                match committed_positions(&client, &self.shared.config, started).await {
                    Ok(committed) => {
                        for (p, next) in self.next.iter_mut() {
                            if let Some(c) = committed.get(p) {
                                *next = *c;
                            }
                        }
                        if !committed.is_empty() {
                            info!(reader = self.id, "The batch in doubt was committed.");
                        }
                        self.in_doubt = None;
                    }
                    Err(e) => {
                        self.retry_or_fail(e, &mut backoff).await?;
                        continue 'connection;
                    }
                }
            }
            loop {
                if self.stopping() {
                    return Ok(());
                }
                match self.batch(&mut client, &sink).await {
                    Ok(Step::Done) => return Ok(()),
                    Ok(Step::Progressed) => backoff = BACKOFF_FIRST,
                    Ok(Step::Idle) => {
                        backoff = BACKOFF_FIRST;
                        self.mirror_in_background();
                        let wait = if self.shared.options.quit_at_eof {
                            IDLE_WAIT / 5
                        } else {
                            IDLE_WAIT
                        };
                        let mut shutdown = self.shutdown.clone();
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = shutdown.changed() => {}
                        }
                    }
                    Err(e) => {
                        self.feed = None;
                        self.retry_or_fail(e, &mut backoff).await?;
                        continue 'connection;
                    }
                }
            }
        }
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// In the default mode a lost connection is retried after a growing wait; with
    /// `-quit-at-eof`, and for every other error, the load fails.
    async fn retry_or_fail(&self, e: LoadError, backoff: &mut Duration) -> Result<(), LoadError> {
        if self.shared.options.quit_at_eof || !e.is_retriable() {
            return Err(e);
        }
        warn!(reader = self.id, error = %crate::error_chain(&e), retry_in_secs = backoff.as_secs(), "Batch failed; retrying.");
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(*backoff) => {}
            _ = shutdown.changed() => {}
        }
        *backoff = (*backoff * 2).min(BACKOFF_MAX);
        Ok(())
    }

    async fn connect(&self) -> Result<(PgClient, sink::Sink), LoadError> {
        let client = db::connect(&self.shared.config.dgkafka).await?;
        let sink = sink::Sink::prepare(&client, &self.shared.config).await?;
        Ok((client, sink))
    }

    fn at_end(&self) -> bool {
        self.next
            .iter()
            .all(|(p, &next)| next >= 0 && self.latest.get(p).is_some_and(|&latest| next >= latest))
    }

    async fn refresh_latest(&mut self) -> Result<(), LoadError> {
        let config = &self.shared.config;
        let kafka = kafka_offsets::read(
            &self.shared.xdrive,
            &config.dgkafka.xdrive_offset_endpoint,
            &config.kafka.input.consumer_group,
            &config.kafka.input.topic,
        )
        .await?;
        for k in kafka {
            if let Some(latest) = self.latest.get_mut(&k.partition) {
                *latest = k.latest;
            }
        }
        Ok(())
    }

    async fn batch(&mut self, client: &mut PgClient, sink: &sink::Sink) -> Result<Step, LoadError> {
        let shared = self.shared.clone();
        if shared.options.quit_at_eof && self.at_end() {
            return Ok(Step::Done);
        }
        let starts = self.starts(&self.next);
        let waiting = Instant::now();
        // The feed's next batch, if it starts here (after a failed batch it does not).
        if self.feed.as_ref().is_some_and(|f| f.starts() != starts) {
            self.feed = None;
        }
        let next = match self.feed.as_mut() {
            Some(feed) => feed.next().await,
            None => None,
        };
        let next = match next {
            Some(next) => next,
            // None, or one that ended: read from here.
            None => {
                let feed = self.feed.insert(self.start_feed(starts));
                feed.next()
                    .await
                    .unwrap_or_else(|| Ok((SystemTime::now(), read::BatchRead::default())))
            }
        };
        let (started, batch) = next?;
        let moved = batch
            .positions
            .iter()
            .any(|(p, next)| self.next.get(p) != Some(next));
        if batch.rows == 0 && batch.errors.is_empty() && !moved {
            if shared.options.quit_at_eof {
                self.refresh_latest().await?;
                if self.at_end() {
                    return Ok(Step::Done);
                }
            }
            return Ok(Step::Idle);
        }
        if batch.rows == 0 && shared.options.quit_at_eof {
            self.refresh_latest().await?;
        }
        let read_wait = waiting.elapsed();
        self.in_doubt = Some(started);
        let writing = Instant::now();
        sink.write(client, &batch, &self.latest, started).await?;
        let write = writing.elapsed();
        self.in_doubt = None;
        for (&p, &next) in &batch.positions {
            self.next.insert(p, next);
            if let Some(latest) = self.latest.get_mut(&p) {
                *latest = (*latest).max(next);
            }
        }
        let p = &shared.progress;
        p.rows.fetch_add(batch.rows, Ordering::Relaxed);
        p.errors
            .fetch_add(batch.errors.len() as u64, Ordering::Relaxed);
        p.batches.fetch_add(1, Ordering::Relaxed);
        {
            let mut partitions = p.partitions.lock().await;
            for (&part, &next) in &batch.positions {
                let latest = self.latest.get(&part).copied().unwrap_or(next);
                partitions.insert(part, (next, latest));
            }
        }
        debug!(
            reader = self.id,
            rows = batch.rows,
            errors = batch.errors.len(),
            positions = ?batch.positions,
            read_wait_ms = read_wait.as_millis() as u64,
            write_ms = write.as_millis() as u64,
            "Batch committed."
        );

        self.unmirrored.extend(
            batch
                .positions
                .iter()
                .filter(|&(_, &next)| next >= 0)
                .map(|(&p, &next)| (p, next)),
        );
        self.mirror_in_background();
        Ok(Step::Progressed)
    }

    /// This reader's xdrive fragment: `(frag_id, frag_cnt)`.
    fn fragment(&self) -> (i32, i32) {
        (
            i32::try_from(self.id).unwrap_or(0),
            i32::try_from(self.nreader).unwrap_or(1),
        )
    }

    /// The read query's start offsets for `next`: one per partition of the topic, latest
    /// for the partitions other readers own (the read skips them anyway).
    fn starts(&self, next: &BTreeMap<i32, i64>) -> Vec<i64> {
        (0..self.shared.partition_count)
            .map(|p| {
                i32::try_from(p)
                    .ok()
                    .and_then(|p| next.get(&p).copied())
                    .unwrap_or(LATEST)
            })
            .collect()
    }

    /// Starts reading ahead from `starts`.
    fn start_feed(&self, starts: Vec<i64>) -> Feed {
        Feed::start(
            self.shared.clone(),
            self.fragment(),
            starts,
            self.latest.clone(),
        )
    }

    /// Mirrors the committed offsets into the Kafka consumer group in the background when
    /// [`MIRROR_EVERY`] has passed and no mirror is running; a failed mirror's offsets are
    /// sent again with the next one.
    fn mirror_in_background(&mut self) {
        if let Some(mirroring) = &mut self.mirroring {
            match mirroring.now_or_never() {
                None => return,
                Some(Ok(Some(failed))) => self.requeue(failed),
                Some(_) => {}
            }
            self.mirroring = None;
        }
        if self.unmirrored.is_empty()
            || self.last_mirror.is_some_and(|t| t.elapsed() < MIRROR_EVERY)
        {
            return;
        }
        self.last_mirror = Some(Instant::now());
        let offsets = std::mem::take(&mut self.unmirrored);
        let shared = self.shared.clone();
        let id = self.id;
        self.mirroring = Some(tokio::spawn(
            async move {
                let sent: Vec<(i32, i64)> = offsets.iter().map(|(&p, &o)| (p, o)).collect();
                let config = &shared.config;
                match kafka_offsets::commit(
                    &shared.xdrive,
                    &config.dgkafka.xdrive_offset_endpoint,
                    &config.kafka.input.consumer_group,
                    &config.kafka.input.topic,
                    &sent,
                )
                .await
                {
                    Ok(()) => None,
                    Err(e) => {
                        warn!(
                            reader = id,
                            error = %crate::error_chain(&e),
                            "Committing offsets to the Kafka consumer group failed; the database \
                             has them, and they are sent again with the next mirror."
                        );
                        Some(offsets)
                    }
                }
            }
            .in_current_span(),
        ));
    }

    /// Takes back the offsets of a mirror that failed, unless newer ones are waiting.
    fn requeue(&mut self, failed: BTreeMap<i32, i64>) {
        for (p, o) in failed {
            self.unmirrored.entry(p).or_insert(o);
        }
    }

    /// Commits the offsets committed in the database since the last call into the Kafka
    /// consumer group. A failure is a warning: the database stays the source of truth,
    /// and the offsets are sent again with the next call.
    async fn mirror(&mut self) {
        if self.unmirrored.is_empty() {
            return;
        }
        self.last_mirror = Some(Instant::now());
        let offsets: Vec<(i32, i64)> = self.unmirrored.iter().map(|(&p, &o)| (p, o)).collect();
        let config = &self.shared.config;
        match kafka_offsets::commit(
            &self.shared.xdrive,
            &config.dgkafka.xdrive_offset_endpoint,
            &config.kafka.input.consumer_group,
            &config.kafka.input.topic,
            &offsets,
        )
        .await
        {
            Ok(()) => self.unmirrored.clear(),
            Err(e) => warn!(
                reader = self.id,
                error = %crate::error_chain(&e),
                "Committing offsets to the Kafka consumer group failed; the database has them, \
                 and they are sent again after the next batch."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_as_a_sentence() {
        let s = Summary {
            rows: 10,
            errors: 2,
            batches: 3,
            seconds: 1.26,
        };
        assert_eq!(
            s.to_string(),
            "Loaded 10 rows (2 row errors stored) in 3 batches, 1.3 s."
        );
    }

    #[test]
    fn lost_connections_are_retried_and_data_errors_are_not() {
        let row = LoadError::RowError {
            partition: 1,
            offset: 7,
            reason: "bad".into(),
        };
        assert!(!row.is_retriable());
        assert!(row.to_string().contains("partition 1, offset 7: bad"));
        assert!(!LoadError::config("k", "m").is_retriable());
    }

    fn refused(errcode: i32) -> Box<xdrive::Error> {
        Box::new(xdrive::Error::Refused {
            target: Box::new(xdrive::Target {
                addr: "127.0.0.1:7171".into(),
                mount: "kafka".into(),
                op: "read",
            }),
            stage: "data",
            errcode,
            errmsg: "reading topic \"t\" (brokers b:9092): Broker transport failure".into(),
        })
    }

    #[test]
    fn a_temporarily_unavailable_broker_is_retried_and_a_plugin_error_is_not() {
        assert!(LoadError::Read(refused(xdrive::errcode::PLUGIN_RETRIABLE)).is_retriable());
        assert!(!LoadError::Read(refused(-1)).is_retriable());
        let offsets = |errcode| KafkaOffsetError::Read {
            group: "g".into(),
            topic: "t".into(),
            endpoint: "kafkaoffset".into(),
            source: refused(errcode),
        };
        let e = offsets(xdrive::errcode::PLUGIN_RETRIABLE);
        assert!(e.is_brokers_unavailable());
        assert!(LoadError::KafkaOffsets(e).is_retriable());
        let e = offsets(-1);
        assert!(!e.is_brokers_unavailable());
        assert!(!LoadError::KafkaOffsets(e).is_retriable());
        // A busy xdrive is retried during a load, but is no broker problem (start-up).
        let e = KafkaOffsetError::Read {
            group: "g".into(),
            topic: "t".into(),
            endpoint: "kafkaoffset".into(),
            source: refused(xdrive::errcode::BUSY),
        };
        assert!(e.is_retriable() && !e.is_brokers_unavailable());
    }
}
