//! A read: the requested offset range of each partition the fragment owns, decoded into
//! pages, then (with the row-kind protocol) one position row per partition.

use std::time::{Duration, Instant};

use formats::{Decoder, DecoderSpec, MessageMeta, RowError};
use kafka_config::{KafkaSettings, explain};
use rdkafka::Message;
use rdkafka::error::KafkaError;
use xdrive_plugin::proto::fragment::Fragment;
use xdrive_plugin::proto::page::{PageBuilder, PageLimits, PageReader, Value};
use xdrive_plugin::proto::schema::Schema;
use xdrive_plugin::{PageSink, PluginError, ReadRequest};

use crate::columns::{KIND_DATA, KIND_ERROR, KIND_POSITION, Layout, Slot};
use crate::kafka::{KafkaOpError, Reader};
use crate::range::{Range, Tracker, Verdict, wanted};
use crate::request::{ReadQuery, RequestError, Wait, topic_of};

/// How long one poll waits before the read checks its deadline.
const POLL: Duration = Duration::from_millis(100);

/// A read that is not waiting fails when the brokers deliver nothing at all (no message,
/// no end of partition) for this long: they are unreachable or refuse us.
const STALL: Duration = Duration::from_secs(30);

/// The error rows' raw values are cut to this many bytes.
const MAX_RAW_BYTES: usize = 1 << 20;

/// Serves a read.
pub fn read(
    settings: &KafkaSettings,
    req: &ReadRequest,
    out: &mut PageSink<'_>,
) -> Result<(), PluginError> {
    let path = req.filespec.as_ref().map_or("", |f| f.path.as_str());
    let (topic, path_query) = topic_of(path)?;
    let query = ReadQuery::from_request(path_query, &req.filter)?;
    let fragment = Fragment::new(req.frag_id, req.frag_cnt).map_err(RequestError::from)?;
    let table = Schema::from_descs(&req.columndesc)?;
    let layout = Layout::new(&table, out.schema())?;
    if query.error_limit.is_some() && layout.kinds.is_none() {
        return Err(crate::columns::ColumnError::ErrorLimitWithoutKinds.into());
    }
    let format = query.format.resolve(req.filespec.as_ref())?;
    let decoder = Decoder::new(DecoderSpec::new(
        format,
        layout.fields.clone(),
        layout.outputs.clone(),
    ))?;

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
    // Without row kinds the decoder fills the pages sent (same columns); with them it
    // fills its own pages, copied into the pages sent beside the kind columns.
    let (page, decoded) = match kinds {
        None => (decoder.new_page(PageLimits::default()), None),
        Some(_) => (
            out.page_builder(),
            Some(decoder.new_page(PageLimits::default())),
        ),
    };
    let mut run = Run {
        query: &query,
        topic: &topic,
        decoder,
        kinds,
        page,
        decoded,
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
    if let Some(kinds) = run.kinds {
        let page = &mut run.page;
        for &(partition, offset) in &next {
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
    }
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
        "Read done."
    );
    Ok(())
}

/// The state of one read's message loop.
struct Run<'a> {
    query: &'a ReadQuery,
    topic: &'a str,
    decoder: Decoder,
    /// The row-kind slots of the pages sent, when the protocol is on.
    kinds: Option<&'a [Slot]>,
    /// The page being filled for sending.
    page: PageBuilder,
    /// With the row-kind protocol: decoded rows not yet copied into `page`.
    decoded: Option<PageBuilder>,
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
        let mut last_event = Instant::now();
        while self.taken < self.query.limit && !tracker.all_finished() {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            if deadline.is_none() && now.duration_since(last_event) >= STALL {
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
            let Some(event) = reader.consumer().poll(POLL) else {
                continue;
            };
            last_event = Instant::now();
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
        }
        Ok(())
    }

    /// Decodes one message into the pages.
    fn message(
        &mut self,
        meta: &MessageMeta<'_>,
        payload: Option<&[u8]>,
        out: &mut PageSink<'_>,
    ) -> Result<(), PluginError> {
        let target = match self.decoded.as_mut() {
            Some(d) => d,
            None => &mut self.page,
        };
        match self.decoder.decode(meta, payload, target) {
            Ok(()) => {
                if target.is_full() {
                    if self.kinds.is_some() {
                        self.flush_decoded(out)?;
                    } else {
                        out.send_builder(target)?;
                    }
                }
                Ok(())
            }
            Err(e) => self.row_error(&e, payload, out),
        }
    }

    /// An undecodable message: an error row when the read allows more, else the read's
    /// error.
    fn row_error(
        &mut self,
        e: &RowError,
        payload: Option<&[u8]>,
        out: &mut PageSink<'_>,
    ) -> Result<(), PluginError> {
        let (Some(limit), Some(kinds)) = (self.query.error_limit, self.kinds) else {
            return Err(PluginError::new(format!(
                "topic \"{}\": cannot decode the message at {e}",
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
        if decoded.is_empty() {
            return Ok(());
        }
        let rows = PageReader::new(self.decoder.schema(), decoded.finish()?)?;
        let page = &mut self.page;
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
}
