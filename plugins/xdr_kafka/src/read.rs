//! A read: the requested offset range of each partition the fragment owns, decoded into
//! pages, then (with the row-kind protocol) one position row per partition.

use std::time::{Duration, Instant};

use formats::{Decoder, DecoderSpec, MessageMeta, OutputValue, RowError, RowErrorKind};
use kafka_config::{KafkaSettings, explain};
use rdkafka::Message;
use rdkafka::error::KafkaError;
use xdrive_plugin::proto::fragment::Fragment;
use xdrive_plugin::proto::page::{PageBuilder, PageLimits, PageReader, Value};
use xdrive_plugin::proto::schema::Schema;
use xdrive_plugin::{PageSink, PluginError, ReadRequest};

use crate::cli::TransformDirs;
use crate::columns::{KIND_DATA, KIND_ERROR, KIND_POSITION, Layout, Slot};
use crate::kafka::{KafkaOpError, Reader};
use crate::range::{Range, Tracker, Verdict, wanted};
use crate::request::{ReadQuery, RequestError, Wait, topic_of};
use crate::transform::{self, Fate};

/// How long one poll waits before the read checks its deadline.
const POLL: Duration = Duration::from_millis(100);

/// A read that is not waiting fails when the brokers deliver nothing at all (no message,
/// no end of partition) for this long: they are unreachable or refuse us.
const STALL: Duration = Duration::from_secs(30);

/// The error rows' raw values are cut to this many bytes.
const MAX_RAW_BYTES: usize = 1 << 20;

/// What a finished read leaves to tear down: the consumer and the transform stage. Their
/// teardown (librdkafka closing its broker connections, the module's thread joining)
/// takes up to about 100 ms, so it waits until the reply has ended and the reader
/// (`dgkafka`'s next batch) is no longer waiting for the end of the stream.
pub struct Leftovers {
    _reader: Reader,
    _pipeline: Pipeline,
}

/// Serves a read; `transforms` are the mount's transform directories, if it allows
/// transforms.
pub fn read(
    settings: &KafkaSettings,
    transforms: Option<&TransformDirs>,
    req: &ReadRequest,
    out: &mut PageSink<'_>,
) -> Result<Leftovers, PluginError> {
    let path = req.filespec.as_ref().map_or("", |f| f.path.as_str());
    let (topic, path_query) = topic_of(path)?;
    let query = ReadQuery::from_request(path_query, &req.filter)?;
    let fragment = Fragment::new(req.frag_id, req.frag_cnt).map_err(RequestError::from)?;
    let table = Schema::from_descs(&req.columndesc)?;
    let layout = Layout::new(&table, out.schema())?;
    if query.error_limit.is_some() && layout.kinds.is_none() {
        return Err(crate::columns::ColumnError::ErrorLimitWithoutKinds.into());
    }
    if query.checkpoint.is_some() && layout.kinds.is_none() {
        return Err(crate::columns::ColumnError::CheckpointWithoutKinds.into());
    }
    let format = query.format.resolve(req.filespec.as_ref())?;
    // Before any Kafka work: a transform that cannot be loaded fails the read at once.
    let pipeline = match &query.transform {
        None => Pipeline::Decode(Decoder::new(DecoderSpec::new(
            format,
            layout.fields.clone(),
            layout.outputs.clone(),
        ))?),
        Some(keys) => Pipeline::Transform(Box::new(
            transform::Stage::new(
                transforms,
                keys,
                &format,
                layout.fields.clone(),
                layout.outputs.clone(),
            )
            .map_err(|e| PluginError::new(format!("topic \"{topic}\": {e}")))?,
        )),
    };

    let reader = Reader::new(settings, &query.group).map_err(KafkaOpError::into_plugin_error)?;
    let count = reader
        .partition_count(&topic)
        .map_err(KafkaOpError::into_plugin_error)?;
    let ranges = wanted(
        &topic,
        count,
        |p| fragment.owns(p),
        query.start.as_deref(),
        query.end.as_deref(),
    )?
    .into_iter()
    .map(|w| {
        let (low, high) = reader
            .watermarks(&topic, w.partition)
            .map_err(KafkaOpError::into_plugin_error)?;
        Ok(w.resolve(low, high)?)
    })
    .collect::<Result<Vec<Range>, PluginError>>()?;

    let started = Instant::now();
    let kinds = layout.kinds.as_deref();
    // Without row kinds the decoder fills the pages sent (same columns). With them, when
    // the decoded columns come first (dgkafka's requests), it fills the pages sent too
    // and the kind columns follow as a trailer; otherwise it fills its own pages, copied
    // into the pages sent beside the kind columns.
    let trailer = match (&pipeline, kinds) {
        (Pipeline::Decode(d), Some(kinds)) => data_trailer(kinds, d.schema().len()),
        _ => None,
    };
    let (page, decoded) = match kinds {
        None => (pipeline.new_page(), None),
        Some(_) if trailer.is_some() => (out.page_builder(), None),
        Some(_) => (out.page_builder(), Some(pipeline.new_page())),
    };
    let mut run = Run {
        query: &query,
        topic: &topic,
        pipeline,
        kinds,
        page,
        decoded,
        trailer,
        taken: 0,
        errors: 0,
    };
    let mut tracker = Tracker::new(&ranges, query.wait);
    if !ranges.is_empty() {
        reader
            .assign(&topic, &ranges)
            .map_err(KafkaOpError::into_plugin_error)?;
        run.consume(&reader, &mut tracker, out)?;
    }
    let positions = if ranges.is_empty() {
        Vec::new()
    } else {
        reader
            .positions(&topic)
            .map_err(KafkaOpError::into_plugin_error)?
    };
    let next = tracker.next_offsets(|p| {
        positions
            .iter()
            .find(|(q, _)| *q == p)
            .and_then(|&(_, pos)| pos)
    });
    run.flush_decoded(out)?;
    run.push_positions(&next, out)?;
    out.send_builder(&mut run.page)?;
    tracing::info!(
        topic = %topic,
        group = %query.group,
        frag_id = req.frag_id,
        frag_cnt = req.frag_cnt,
        records = run.taken,
        error_rows = run.errors,
        next = ?next,
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        transform_us = run.pipeline.transform_busy().map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        "Read done."
    );
    Ok(Leftovers {
        _reader: reader,
        _pipeline: run.pipeline,
    })
}

/// How messages become rows: decoded by their format, or run through a transform.
#[allow(
    clippy::large_enum_variant,
    reason = "one per read; the decoder stays inline on the hot path"
)]
pub enum Pipeline {
    Decode(Decoder),
    Transform(Box<transform::Stage>),
}

impl Pipeline {
    /// The schema of the rows made (the columns sent, without the row-kind columns).
    fn schema(&self) -> &Schema {
        match self {
            Pipeline::Decode(d) => d.schema(),
            Pipeline::Transform(t) => t.schema(),
        }
    }

    /// Time spent inside the transform host, when there is a transform.
    fn transform_busy(&self) -> Option<Duration> {
        match self {
            Pipeline::Decode(_) => None,
            Pipeline::Transform(t) => Some(t.busy()),
        }
    }

    fn new_page(&self) -> PageBuilder {
        PageBuilder::new(self.schema().clone(), PageLimits::default())
    }
}

/// The state of one read's message loop.
struct Run<'a> {
    query: &'a ReadQuery,
    topic: &'a str,
    pipeline: Pipeline,
    /// The row-kind slots of the pages sent, when the protocol is on.
    kinds: Option<&'a [Slot]>,
    /// The page being filled for sending.
    page: PageBuilder,
    /// With the row-kind protocol: decoded rows not yet copied into `page`.
    decoded: Option<PageBuilder>,
    /// With the row-kind protocol when the decoded columns come first: the values of the
    /// kind columns of a data row, pushed after the decoded ones (then `decoded` is None).
    trailer: Option<Vec<Option<Value<'static>>>>,
    /// Records taken (data and error rows).
    taken: u64,
    /// Error rows sent.
    errors: u64,
}

impl Run<'_> {
    /// Polls until every partition is finished, `limit` records are taken, or the wait is
    /// over.
    fn consume(
        &mut self,
        reader: &Reader,
        tracker: &mut Tracker,
        out: &mut PageSink<'_>,
    ) -> Result<(), PluginError> {
        let deadline = match self.query.wait {
            Wait::Upto(d) => Some(Instant::now() + d),
            Wait::UntilCaughtUp => None,
        };
        // When the consumer last went quiet (nothing to poll, no transform batch done):
        // a read that does not wait fails after STALL of that.
        let mut quiet_since: Option<Instant> = None;
        while self.taken < self.query.limit && !tracker.all_finished() {
            // The clock is read per message only when the read has a deadline (`timeout`
            // > 0): a read to the end of the data goes faster without.
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let Some(event) = reader.consumer().poll(POLL) else {
                // Idle: what waits for the transform goes now. A batch may take long
                // (up to transform_timeout_ms per call): that is no broker stall.
                if self.run_transform(out)? {
                    quiet_since = None;
                    continue;
                }
                let now = Instant::now();
                if deadline.is_some_and(|d| now >= d) {
                    break;
                }
                let since = *quiet_since.get_or_insert(now);
                if deadline.is_none() && now.duration_since(since) + POLL >= STALL {
                    let e: KafkaOpError = reader.error(
                        format!(
                            "reading topic \"{}\": nothing arrived for partitions {:?} in {}s",
                            self.topic,
                            tracker.unfinished(),
                            STALL.as_secs()
                        ),
                        kafka_config::explain_code(
                            rdkafka::error::RDKafkaErrorCode::OperationTimedOut,
                            None,
                        ),
                    );
                    return Err(e.into_plugin_error());
                }
                continue;
            };
            quiet_since = None;
            let msg = match event {
                Ok(msg) => msg,
                Err(KafkaError::PartitionEOF(p)) => {
                    tracker.on_caught_up(p);
                    continue;
                }
                Err(e) => {
                    return Err(reader
                        .error(format!("reading topic \"{}\"", self.topic), explain(&e))
                        .into_plugin_error());
                }
            };
            if msg.topic() != self.topic
                || tracker.on_message(msg.partition(), msg.offset()) != Verdict::Take
            {
                continue;
            }
            self.taken += 1;
            let meta = MessageMeta {
                partition: msg.partition(),
                offset: msg.offset(),
                timestamp_ms: msg.timestamp().to_millis(),
                key: msg.key(),
            };
            self.message(&meta, msg.payload(), out)?;
            if self
                .query
                .checkpoint
                .is_some_and(|every| self.taken.is_multiple_of(every))
                && self.taken < self.query.limit
                && !tracker.all_finished()
            {
                self.checkpoint(tracker, out)?;
            }
        }
        self.run_transform(out).map(drop)
    }

    /// A checkpoint (query key `checkpoint`): everything taken so far is loaded (the
    /// transform's batches run to the end), then one position row per partition — the
    /// offset after its last message taken — and the page is sent, so that no page holds
    /// rows of both sides. The error budget starts again: `error_limit` counts per
    /// checkpoint interval, as the reader's batches do.
    fn checkpoint(&mut self, tracker: &Tracker, out: &mut PageSink<'_>) -> Result<(), PluginError> {
        self.run_transform(out)?;
        self.flush_decoded(out)?;
        // Mid-read the messages taken are the truth: the next read starts after the last
        // one and steps over any transaction markers by itself.
        let next = tracker.next_offsets(|_| None);
        self.push_positions(&next, out)?;
        out.send_builder(&mut self.page)?;
        self.errors = 0;
        Ok(())
    }

    /// With the row-kind protocol: one position row per `(partition, next offset)`.
    fn push_positions(
        &mut self,
        next: &[(i32, i64)],
        out: &mut PageSink<'_>,
    ) -> Result<(), PluginError> {
        let Some(kinds) = self.kinds else {
            return Ok(());
        };
        let page = &mut self.page;
        for &(partition, offset) in next {
            for slot in kinds {
                match slot {
                    Slot::Kind => page.push(Value::Int32(KIND_POSITION))?,
                    Slot::Partition => page.push(Value::Int32(partition))?,
                    Slot::Offset => page.push(Value::Int64(offset))?,
                    _ => page.push_null()?,
                }
            }
            page.end_row()?;
            if page.is_full() {
                out.send_builder(page)?;
            }
        }
        Ok(())
    }

    /// Decodes one message into the pages, or adds it to the transform's batch.
    fn message(
        &mut self,
        meta: &MessageMeta<'_>,
        payload: Option<&[u8]>,
        out: &mut PageSink<'_>,
    ) -> Result<(), PluginError> {
        let decoder = match &mut self.pipeline {
            Pipeline::Decode(d) => d,
            Pipeline::Transform(stage) => {
                stage.add(meta, payload);
                if stage.is_full() {
                    self.submit_transform(out, 1)?;
                }
                return Ok(());
            }
        };
        let copied_later = self.decoded.is_some();
        let target = match self.decoded.as_mut() {
            Some(d) => d,
            None => &mut self.page,
        };
        let decoded = match &self.trailer {
            Some(trailer) => decoder.decode_with_trailer(meta, payload, target, trailer),
            None => decoder.decode(meta, payload, target),
        };
        match decoded {
            Ok(()) => {
                if target.is_full() {
                    if copied_later {
                        self.flush_decoded(out)?;
                    } else {
                        out.send_builder(target)?;
                    }
                }
                Ok(())
            }
            Err(e) => {
                let fatal = format!("cannot decode the message at {e}");
                self.row_error(&e, &fatal, payload, out)
            }
        }
    }

    /// With a transform: runs the messages waiting and loads what became of them and of
    /// every batch still running, in offset order; whether there were any.
    fn run_transform(&mut self, out: &mut PageSink<'_>) -> Result<bool, PluginError> {
        self.submit_transform(out, 0)
    }

    /// With a transform: hands the messages waiting to the module's thread, then loads
    /// the results of the oldest batches until at most `keep_running` are in flight;
    /// whether any were loaded.
    fn submit_transform(
        &mut self,
        out: &mut PageSink<'_>,
        keep_running: usize,
    ) -> Result<bool, PluginError> {
        // How many traps the read can take as error rows (each is one). Batches still
        // running may take some of them: what they take is counted as they are loaded,
        // in order, and the first trap past the limit ends the read there.
        let budget = match (self.query.error_limit, self.kinds) {
            (Some(limit), Some(_)) => Some(limit.saturating_sub(self.errors)),
            _ => None,
        };
        let Pipeline::Transform(stage) = &mut self.pipeline else {
            return Ok(false);
        };
        let topic = self.topic;
        stage
            .submit(budget)
            .map_err(|e| PluginError::new(format!("topic \"{topic}\": {e}")))?;
        let mut loaded = false;
        loop {
            let Pipeline::Transform(stage) = &mut self.pipeline else {
                return Ok(loaded);
            };
            if stage.in_flight() <= keep_running {
                return Ok(loaded);
            }
            let Some(done) = stage.take() else {
                return Ok(loaded);
            };
            let done = done.map_err(|e| PluginError::new(format!("topic \"{topic}\": {e}")))?;
            self.load_fates(done, out)?;
            loaded = true;
        }
    }

    /// Loads what became of a batch's messages, in order.
    fn load_fates(
        &mut self,
        done: Vec<(transform::Message, Fate)>,
        out: &mut PageSink<'_>,
    ) -> Result<(), PluginError> {
        let Pipeline::Transform(stage) = &mut self.pipeline else {
            return Ok(());
        };
        let module = stage.name().to_owned();
        for (message, fate) in done {
            let (p, o) = (message.partition, message.offset);
            let payload = message.payload.as_deref();
            let problem = |reason: String| RowError {
                partition: p,
                offset: o,
                kind: RowErrorKind::Value,
                reason,
            };
            match fate {
                Fate::Undecodable(e) => {
                    let fatal = format!("cannot decode the message at {e}");
                    self.row_error(&e, &fatal, payload, out)?;
                }
                Fate::Rejected(m) => {
                    let fatal = format!(
                        "the transform {module} rejected the message at partition {p}, offset \
                         {o}: {m}"
                    );
                    let e = problem(format!("transform {module}: {m}"));
                    self.row_error(&e, &fatal, payload, out)?;
                }
                Fate::Trapped(m) => {
                    let e = problem(m.clone());
                    self.row_error(&e, &m, payload, out)?;
                }
                Fate::Rows(rows) => {
                    if let Err(e) = self.push_rows(&message, &rows, out)? {
                        let fatal = format!(
                            "the transform {module} returned a row that does not fit for the \
                             message at partition {p}, offset {o}: {}",
                            e.reason
                        );
                        let e = problem(format!("transform {module}: {}", e.reason));
                        self.row_error(&e, &fatal, payload, out)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Loads the rows a transform returned for `message` (all or none of them), sending
    /// pages as they fill; `Ok(Err(_))` when one does not fit its columns.
    fn push_rows(
        &mut self,
        message: &transform::Message,
        rows: &[Vec<transform_host::Value>],
        out: &mut PageSink<'_>,
    ) -> Result<Result<(), RowError>, PluginError> {
        let Run {
            pipeline,
            kinds,
            page,
            decoded,
            ..
        } = self;
        let Pipeline::Transform(stage) = pipeline else {
            return Ok(Ok(()));
        };
        let meta = message.meta();
        let mut values: Vec<OutputValue<'_>> = Vec::new();
        if rows.len() > 1 {
            // A split loads all its rows or none: check them all first.
            let mut scratch = PageBuilder::new(stage.schema().clone(), PageLimits::default());
            for row in rows {
                values.clear();
                values.extend(row.iter().map(transform::output_value));
                if let Err(e) = stage.output().push_row(&meta, &values, &mut scratch) {
                    return Ok(Err(e));
                }
            }
        }
        for row in rows {
            values.clear();
            values.extend(row.iter().map(transform::output_value));
            let target = match decoded.as_mut() {
                Some(d) => d,
                None => &mut *page,
            };
            if let Err(e) = stage.output().push_row(&meta, &values, target) {
                return Ok(Err(e));
            }
            if target.is_full() {
                match (*kinds, decoded.as_mut()) {
                    (Some(kinds), Some(d)) => copy_decoded(stage.schema(), kinds, d, page, out)?,
                    _ => out.send_builder(page)?,
                }
            }
        }
        Ok(Ok(()))
    }

    /// A message that cannot be loaded (undecodable, rejected or trapped by the
    /// transform): an error row when the read allows more, else the read's error,
    /// `topic "T": {fatal}`.
    fn row_error(
        &mut self,
        e: &RowError,
        fatal: &str,
        payload: Option<&[u8]>,
        out: &mut PageSink<'_>,
    ) -> Result<(), PluginError> {
        let (Some(limit), Some(kinds)) = (self.query.error_limit, self.kinds) else {
            return Err(PluginError::new(format!(
                "topic \"{}\": {fatal}",
                self.topic
            )));
        };
        if self.errors >= limit {
            return Err(PluginError::new(format!(
                "topic \"{}\": more than error_limit={limit} undecodable messages; the next \
                 one, at {e}",
                self.topic
            )));
        }
        // Keep the rows in offset order: the data rows decoded so far go first.
        self.flush_decoded(out)?;
        let page = &mut self.page;
        let raw = payload.map(|r| &r[..r.len().min(MAX_RAW_BYTES)]);
        for slot in kinds {
            match slot {
                Slot::Kind => page.push(Value::Int32(KIND_ERROR))?,
                Slot::Partition => page.push(Value::Int32(e.partition))?,
                Slot::Offset => page.push(Value::Int64(e.offset))?,
                Slot::Raw => page.push_opt(raw.map(Value::Bytea))?,
                Slot::Reason => page.push(Value::Text(&e.reason))?,
                Slot::Decoded(_) => page.push_null()?,
            }
        }
        page.end_row()?;
        self.errors += 1;
        if page.is_full() {
            out.send_builder(page)?;
        }
        Ok(())
    }

    /// With the row-kind protocol: copies the decoded rows into the page sent, as data
    /// rows, sending it whenever it is full.
    fn flush_decoded(&mut self, out: &mut PageSink<'_>) -> Result<(), PluginError> {
        let (Some(decoded), Some(kinds)) = (self.decoded.as_mut(), self.kinds) else {
            return Ok(());
        };
        copy_decoded(self.pipeline.schema(), kinds, decoded, &mut self.page, out)
    }
}

/// The kind columns' values of a data row when `kinds` (the columns sent) are the
/// decoder's `ndecoded` columns in order, then only kind columns; else None.
fn data_trailer(kinds: &[Slot], ndecoded: usize) -> Option<Vec<Option<Value<'static>>>> {
    let (decoded, rest) = kinds.split_at_checked(ndecoded)?;
    let in_order = decoded
        .iter()
        .enumerate()
        .all(|(i, slot)| *slot == Slot::Decoded(i));
    if !in_order {
        return None;
    }
    rest.iter()
        .map(|slot| match slot {
            Slot::Decoded(_) => None,
            Slot::Kind => Some(Some(Value::Int32(KIND_DATA))),
            _ => Some(None),
        })
        .collect()
}

/// With the row-kind protocol: copies the rows of `decoded` (of `schema`) into `page` as
/// data rows, sending it whenever it is full.
fn copy_decoded(
    schema: &Schema,
    kinds: &[Slot],
    decoded: &mut PageBuilder,
    page: &mut PageBuilder,
    out: &mut PageSink<'_>,
) -> Result<(), PluginError> {
    if decoded.is_empty() {
        return Ok(());
    }
    let rows = PageReader::new(schema, decoded.finish()?)?;
    for row in 0..rows.nrow() {
        for slot in kinds {
            match *slot {
                Slot::Decoded(i) => page.push_opt(rows.column(i).get(row))?,
                Slot::Kind => page.push(Value::Int32(KIND_DATA))?,
                _ => page.push_null()?,
            }
        }
        page.end_row()?;
        if page.is_full() {
            out.send_builder(page)?;
        }
    }
    Ok(())
}
