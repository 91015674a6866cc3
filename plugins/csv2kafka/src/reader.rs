//! Reading CSV records with their positions, and telling malformed ones apart.
//!
//! Parsing is `csv_core`'s (the parser of the `csv` crate): fields may be quoted, quoted
//! fields may hold delimiters, quotes (doubled) and line ends, and `\n`, `\r\n` and `\r`
//! all end a record. Blank lines are not records, a UTF-8 byte-order mark at the start is
//! dropped, and records may have different numbers of fields (each becomes its own
//! message). Bytes are passed through unchanged, whatever their encoding.
//!
//! `csv_core` never fails: a quote left open at the end of the input silently ends the
//! last field there. We detect that case and report it as a [`BadRecord`], as we do for a
//! record too large to ever be a Kafka message (the usual effect of a stray quote in the
//! middle of a file), so memory stays bounded whatever the input.

use std::fmt;
use std::io::{self, BufRead};

use csv_core::{ReadRecordResult, Reader as CoreReader, ReaderBuilder as CoreBuilder};

/// Where a record starts in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line number of the record's first byte.
    pub line: u64,
    /// 0-based byte offset of the record's first byte.
    pub byte: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} (byte offset {})", self.line, self.byte)
    }
}

/// A record that cannot become a message. With `--skip-bad-lines` it is counted and
/// skipped; otherwise it stops the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadRecord {
    /// A quoted field still open at the end of the input.
    #[error(
        "{pos}: a quoted field in the record starting here is never closed; \
         the input ends inside the quotes (missing '\"'?)"
    )]
    UnterminatedQuote {
        /// Start of the record.
        pos: Position,
    },
    /// A record with more field bytes (or fields) than the largest possible message.
    #[error(
        "{pos}: the record starting here is larger than {limit} bytes (message.max.bytes); \
         an unbalanced quote can make the rest of a file one record"
    )]
    TooLarge {
        /// Start of the record.
        pos: Position,
        /// The limit in bytes.
        limit: usize,
    },
    /// A record without the key column (`-k`).
    #[error("{pos}: the record has {fields} field(s), so there is no key column {column}")]
    MissingKeyColumn {
        /// Start of the record.
        pos: Position,
        /// 1-based key column.
        column: usize,
        /// Fields in the record.
        fields: usize,
    },
    /// The encoded message is larger than librdkafka accepts.
    #[error(
        "{pos}: the message for this record ({bytes} bytes) is larger than librdkafka's \
         message.max.bytes"
    )]
    MessageTooLarge {
        /// Start of the record.
        pos: Position,
        /// Encoded size (key + value).
        bytes: usize,
    },
}

impl BadRecord {
    /// Where the bad record starts.
    pub fn position(&self) -> Position {
        match self {
            BadRecord::UnterminatedQuote { pos }
            | BadRecord::TooLarge { pos, .. }
            | BadRecord::MissingKeyColumn { pos, .. }
            | BadRecord::MessageTooLarge { pos, .. } => *pos,
        }
    }
}

/// A record borrowed from the reader's buffers.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    fields: Fields<'a>,
    /// Where the record starts.
    pub pos: Position,
}

/// How a record's fields are held.
#[derive(Debug, Clone, Copy)]
enum Fields<'a> {
    /// Parsed by `csv_core`: unquoted field bytes end to end, and where each field ends.
    Parsed { data: &'a [u8], ends: &'a [usize] },
    /// A line without quotes or carriage returns, straight from the input buffer: its
    /// fields are exactly the pieces between delimiters.
    Line { line: &'a [u8], delimiter: u8 },
}

impl<'a> Record<'a> {
    /// Number of fields (at least one).
    pub fn len(&self) -> usize {
        match self.fields {
            Fields::Parsed { ends, .. } => ends.len(),
            Fields::Line { line, delimiter } => memchr::memchr_iter(delimiter, line).count() + 1,
        }
    }

    /// Never true: a record has at least one field. (Here for clippy's sake.)
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The field at 0-based `index`, unquoted.
    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        match self.fields {
            Fields::Parsed { data, ends } => {
                let end = *ends.get(index)?;
                let start = if index == 0 { 0 } else { ends[index - 1] };
                Some(&data[start..end])
            }
            Fields::Line { .. } => self.iter().nth(index),
        }
    }

    /// The fields, in order.
    pub fn iter(&self) -> FieldIter<'a> {
        match self.fields {
            Fields::Parsed { data, ends } => FieldIter::Parsed {
                data,
                ends,
                next: 0,
            },
            Fields::Line { line, delimiter } => FieldIter::Line {
                rest: Some(line),
                delimiter,
            },
        }
    }

    /// Total bytes of all fields (without delimiters or quotes).
    pub fn field_bytes(&self) -> usize {
        match self.fields {
            Fields::Parsed { data, .. } => data.len(),
            Fields::Line { line, .. } => line.len() + 1 - self.len(),
        }
    }

    /// The record's input bytes (without the line end) when they are exactly its fields
    /// joined by the read delimiter — no quotes, no carriage returns — so a caller
    /// writing with the same delimiter can use them without re-encoding.
    pub fn plain_line(&self) -> Option<&'a [u8]> {
        match self.fields {
            Fields::Line { line, .. } => Some(line),
            Fields::Parsed { .. } => None,
        }
    }
}

/// The fields of a [`Record`].
#[derive(Debug, Clone)]
pub enum FieldIter<'a> {
    #[doc(hidden)]
    Parsed {
        data: &'a [u8],
        ends: &'a [usize],
        next: usize,
    },
    #[doc(hidden)]
    Line {
        rest: Option<&'a [u8]>,
        delimiter: u8,
    },
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            FieldIter::Parsed { data, ends, next } => {
                let end = *ends.get(*next)?;
                let start = if *next == 0 { 0 } else { ends[*next - 1] };
                *next += 1;
                Some(&data[start..end])
            }
            FieldIter::Line { rest, delimiter } => {
                let r = (*rest)?;
                match memchr::memchr(*delimiter, r) {
                    Some(i) => {
                        *rest = Some(&r[i + 1..]);
                        Some(&r[..i])
                    }
                    None => {
                        *rest = None;
                        Some(r)
                    }
                }
            }
        }
    }
}

/// What [`RecordReader::read_next`] found.
#[derive(Debug)]
pub enum Next<'a> {
    /// A good record.
    Record(Record<'a>),
    /// A malformed record (already consumed; reading may go on).
    Bad(BadRecord),
    /// The end of the input.
    End,
}

const INITIAL_FIELD_BYTES: usize = 64 * 1024;
const INITIAL_FIELDS: usize = 256;

/// Reads records one at a time from a buffered input, reusing its buffers.
pub struct RecordReader<R> {
    input: R,
    core: CoreReader,
    data: Vec<u8>,
    ends: Vec<usize>,
    max_record_bytes: usize,
    delimiter: u8,
    /// Newlines `core` never saw (blank lines we skipped, lines of fast-path records);
    /// `core` counts the rest.
    own_newlines: u64,
    /// Bytes of the last fast-path record (and its line end) still to be consumed: the
    /// record borrowed them from the input buffer.
    pending: usize,
    /// Whether `core` has parsed anything yet (it drops a byte-order mark only then, so
    /// the first record always goes through it).
    core_used: bool,
    /// Bytes consumed so far.
    offset: u64,
    /// Whether the virtual line end at the end of the input was fed (see `read_next`).
    eof_newline_fed: bool,
    done: bool,
}

impl<R: BufRead> RecordReader<R> {
    /// A reader splitting fields on `delimiter`; a record whose fields hold more than
    /// `max_record_bytes` bytes in all (or has more than that many fields) is a
    /// [`BadRecord::TooLarge`], which bounds memory.
    pub fn new(input: R, delimiter: u8, max_record_bytes: usize) -> RecordReader<R> {
        let core = CoreBuilder::new()
            .delimiter(delimiter)
            .quote(b'"')
            .double_quote(true)
            .quoting(true)
            .build();
        let max_record_bytes = max_record_bytes.max(1);
        RecordReader {
            input,
            core,
            data: vec![0; INITIAL_FIELD_BYTES.min(max_record_bytes + 1)],
            ends: vec![0; INITIAL_FIELDS.min(max_record_bytes + 2)],
            max_record_bytes,
            delimiter,
            own_newlines: 0,
            pending: 0,
            core_used: false,
            offset: 0,
            eof_newline_fed: false,
            done: false,
        }
    }

    /// Bytes of input read so far (up to the end of the last record returned).
    pub fn bytes_read(&self) -> u64 {
        self.offset + self.pending as u64
    }

    /// Fills the input buffer, retrying interrupted reads; an empty buffer is the end.
    fn fill(&mut self) -> io::Result<()> {
        loop {
            match self.input.fill_buf() {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.input.consume(n);
        self.offset += n as u64;
    }

    /// Skips blank lines so that the next byte starts a record (or the input is over).
    fn skip_blank_lines(&mut self) -> io::Result<()> {
        loop {
            self.fill()?;
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            let n = buf
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            let newlines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            let whole = n == buf.len();
            self.own_newlines += newlines;
            self.consume(n);
            if !whole {
                return Ok(());
            }
        }
    }

    /// The next record, a malformed one, or the end of the input.
    pub fn read_next(&mut self) -> io::Result<Next<'_>> {
        if self.pending > 0 {
            self.consume(self.pending);
            self.pending = 0;
            self.own_newlines += 1;
        }
        if self.done {
            return Ok(Next::End);
        }
        self.skip_blank_lines()?;
        let pos = Position {
            line: self.core.line() + self.own_newlines,
            byte: self.offset,
        };
        // Fast path: a whole line in the buffer without quotes or carriage returns (but
        // for a CRLF line end) is its fields split at the delimiter, exactly what `core`
        // would make of it, so it needs no parsing, no copying and (when the write
        // delimiter is the same) no re-encoding.
        if self.core_used {
            let buf = self.input.fill_buf()?;
            let plain = memchr::memchr(b'\n', buf).and_then(|nl| {
                let line = buf[..nl].strip_suffix(b"\r").unwrap_or(&buf[..nl]);
                let plain = !line.is_empty()
                    && line.len() <= self.max_record_bytes
                    && memchr::memchr2(b'"', b'\r', line).is_none();
                plain.then_some((nl, line.len()))
            });
            if let Some((nl, len)) = plain {
                self.pending = nl + 1;
                // The same buffered bytes again (nothing was consumed, so no read).
                let line = &self.input.fill_buf()?[..len];
                return Ok(Next::Record(Record {
                    fields: Fields::Line {
                        line,
                        delimiter: self.delimiter,
                    },
                    pos,
                }));
            }
        }
        self.core_used = true;
        let (mut nout, mut nends) = (0usize, 0usize);
        let mut too_large = false;
        loop {
            self.fill()?;
            let buf = self.input.fill_buf()?;
            // At the end of the input the parser first gets one virtual line end. Outside
            // quotes it ends the record exactly as the end of input would; inside quotes
            // it becomes field data instead, which is how an unterminated quote shows.
            // (`csv_core` itself would silently close the field.)
            let virtual_newline = buf.is_empty() && !self.eof_newline_fed;
            let input: &[u8] = if virtual_newline { b"\n" } else { buf };
            let (res, nin, out, end) =
                self.core
                    .read_record(input, &mut self.data[nout..], &mut self.ends[nends..]);
            if virtual_newline {
                if nin == 1 {
                    self.eof_newline_fed = true;
                    if res == ReadRecordResult::InputEmpty && out == 1 {
                        self.done = true;
                        return Ok(Next::Bad(BadRecord::UnterminatedQuote { pos }));
                    }
                }
            } else {
                self.consume(nin);
            }
            nout += out;
            nends += end;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    // The buffer holds one byte more than the limit, so a full buffer
                    // means the record is over it.
                    if too_large || self.data.len() > self.max_record_bytes {
                        // Keep parsing to find the record's end, discarding its bytes.
                        too_large = true;
                        nout = 0;
                    } else {
                        let len = (self.data.len() * 2).min(self.max_record_bytes + 1);
                        self.data.resize(len, 0);
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    // A message of n fields has n - 1 delimiters, so at most
                    // `max + 1` fields fit; the buffer holds one more.
                    if too_large || self.ends.len() > self.max_record_bytes + 1 {
                        too_large = true;
                        nends = 0;
                    } else {
                        let len = (self.ends.len() * 2).min(self.max_record_bytes + 2);
                        self.ends.resize(len, 0);
                    }
                }
                ReadRecordResult::Record => {
                    if too_large {
                        return Ok(Next::Bad(BadRecord::TooLarge {
                            pos,
                            limit: self.max_record_bytes,
                        }));
                    }
                    return Ok(Next::Record(Record {
                        fields: Fields::Parsed {
                            data: &self.data[..nout],
                            ends: &self.ends[..nends],
                        },
                        pos,
                    }));
                }
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(Next::End);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `chunk` bytes per `fill_buf`, to exercise records
    /// split across reads.
    struct Chunked<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl io::Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    enum Item {
        Rec(u64, u64, Vec<Vec<u8>>),
        Bad(BadRecord),
    }

    fn read_all_with(input: &[u8], delim: u8, max: usize, chunk: usize) -> Vec<Item> {
        let buffered = io::BufReader::with_capacity(chunk, Chunked { data: input, chunk });
        let mut r = RecordReader::new(buffered, delim, max);
        let mut items = Vec::new();
        loop {
            match r.read_next().unwrap() {
                Next::Record(rec) => items.push(Item::Rec(
                    rec.pos.line,
                    rec.pos.byte,
                    rec.iter().map(<[u8]>::to_vec).collect(),
                )),
                Next::Bad(b) => items.push(Item::Bad(b)),
                Next::End => break,
            }
        }
        assert!(matches!(r.read_next().unwrap(), Next::End));
        assert_eq!(r.bytes_read(), input.len() as u64);
        items
    }

    /// Reads with several chunk sizes and checks they all agree.
    fn read_all(input: &[u8], delim: u8) -> Vec<Item> {
        let whole = read_all_with(input, delim, 1 << 20, 1 << 16);
        for chunk in [1, 2, 3, 7] {
            assert_eq!(
                read_all_with(input, delim, 1 << 20, chunk),
                whole,
                "chunk {chunk}"
            );
        }
        whole
    }

    fn rec(line: u64, byte: u64, fields: &[&str]) -> Item {
        Item::Rec(
            line,
            byte,
            fields.iter().map(|f| f.as_bytes().to_vec()).collect(),
        )
    }

    #[test]
    fn simple_lines_with_positions() {
        assert_eq!(
            read_all(b"a|b\nc|d\n", b'|'),
            vec![rec(1, 0, &["a", "b"]), rec(2, 4, &["c", "d"])]
        );
    }

    #[test]
    fn last_line_without_newline() {
        assert_eq!(
            read_all(b"a,b\nc,d", b','),
            vec![rec(1, 0, &["a", "b"]), rec(2, 4, &["c", "d"])]
        );
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        assert_eq!(
            read_all(b"a,b\r\nc,d\r\ne\rf", b','),
            vec![
                rec(1, 0, &["a", "b"]),
                rec(2, 5, &["c", "d"]),
                rec(3, 10, &["e"]),
                rec(3, 12, &["f"]),
            ]
        );
    }

    #[test]
    fn quoted_fields_with_delimiters_quotes_and_newlines() {
        let input = b"1,\"a,b\",\"say \"\"hi\"\"\"\n2,\"multi\nline\r\nfield\",x\n3,last\n";
        assert_eq!(
            read_all(input, b','),
            vec![
                rec(1, 0, &["1", "a,b", "say \"hi\""]),
                rec(2, 21, &["2", "multi\nline\r\nfield", "x"]),
                rec(5, 45, &["3", "last"]),
            ]
        );
    }

    #[test]
    fn blank_lines_are_skipped_and_counted() {
        assert_eq!(
            read_all(b"\n\r\na\n\n\nb\n\n", b','),
            vec![rec(3, 3, &["a"]), rec(6, 7, &["b"])]
        );
    }

    #[test]
    fn varying_field_counts_and_empty_fields() {
        assert_eq!(
            read_all(b"a,b,c\nd\n,,\n\"\"\n", b','),
            vec![
                rec(1, 0, &["a", "b", "c"]),
                rec(2, 6, &["d"]),
                rec(3, 8, &["", "", ""]),
                rec(4, 11, &[""]),
            ]
        );
    }

    #[test]
    fn bom_is_dropped() {
        assert_eq!(
            read_all_with(b"\xef\xbb\xbfa,b\n", b',', 1 << 20, 1 << 16),
            vec![rec(1, 0, &["a", "b"])]
        );
    }

    #[test]
    fn bytes_pass_through_unchanged() {
        let input = b"z\xc3\xbcrich,\xff\xfe\x00raw\n";
        assert_eq!(
            read_all(input, b','),
            vec![Item::Rec(
                1,
                0,
                vec![b"z\xc3\xbcrich".to_vec(), b"\xff\xfe\x00raw".to_vec()]
            )]
        );
    }

    #[test]
    fn unterminated_quote_at_eof_is_bad() {
        let items = read_all(b"a,b\nc,\"open\nmore\n", b',');
        assert_eq!(
            items,
            vec![
                rec(1, 0, &["a", "b"]),
                Item::Bad(BadRecord::UnterminatedQuote {
                    pos: Position { line: 2, byte: 4 }
                }),
            ]
        );
        let msg = match &items[1] {
            Item::Bad(b) => b.to_string(),
            Item::Rec(..) => unreachable!(),
        };
        assert!(
            msg.contains("line 2") && msg.contains("byte offset 4"),
            "{msg}"
        );
    }

    #[test]
    fn unterminated_quote_variants() {
        for input in [
            &b"\""[..],
            b"a,\"",
            b"\"abc",
            b"\"ab\"\"",
            b"\"ab\"\"\n",
            b"x\n\"a\nb",
        ] {
            let items = read_all(input, b',');
            assert!(
                matches!(
                    items.last(),
                    Some(Item::Bad(BadRecord::UnterminatedQuote { .. }))
                ),
                "{input:?}: {items:?}"
            );
        }
    }

    #[test]
    fn closed_quotes_at_eof_are_fine() {
        for input in [&b"\"ab\""[..], b"a,\"b\"", b"\"a\"\"\"", b"a,", b"a"] {
            let items = read_all(input, b',');
            assert!(
                matches!(items.as_slice(), [Item::Rec(..)]),
                "{input:?}: {items:?}"
            );
        }
    }

    #[test]
    fn oversized_record_is_bad_and_reading_goes_on() {
        let mut input = b"ok,1\n\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b"\"\nok,2\n");
        let items = read_all_with(&input, b',', 32, 8);
        assert_eq!(
            items,
            vec![
                rec(1, 0, &["ok", "1"]),
                Item::Bad(BadRecord::TooLarge {
                    pos: Position { line: 2, byte: 5 },
                    limit: 32
                }),
                rec(3, 108, &["ok", "2"]),
            ]
        );
    }

    #[test]
    fn too_many_fields_is_bad() {
        let mut input = ",".repeat(100).into_bytes();
        input.extend_from_slice(b"\nok\n");
        let items = read_all_with(&input, b',', 32, 16);
        assert!(matches!(items[0], Item::Bad(BadRecord::TooLarge { .. })));
        assert_eq!(items[1], rec(2, 101, &["ok"]));
    }

    #[test]
    fn record_exactly_at_the_limit_is_fine() {
        let items = read_all_with(b"0123456789,abcdef\n", b',', 16, 4);
        assert_eq!(items, vec![rec(1, 0, &["0123456789", "abcdef"])]);
    }

    #[test]
    fn stray_quote_mid_file_swallowing_the_rest_is_reported_with_its_line() {
        let mut input = Vec::new();
        input.extend_from_slice(b"1,a\n2,\"b\n");
        for i in 3..1000 {
            input.extend_from_slice(format!("{i},c\n").as_bytes());
        }
        // Memory stays bounded by the limit while the open quote runs to the end.
        let items = read_all_with(&input, b',', 1000, 4096);
        assert_eq!(
            items[1..],
            [Item::Bad(BadRecord::UnterminatedQuote {
                pos: Position { line: 2, byte: 4 }
            })]
        );
        // Closed again much later: one oversized record, then reading goes on.
        input.extend_from_slice(b"end\",x\nnext,1\n");
        let items = read_all_with(&input, b',', 1000, 4096);
        assert_eq!(
            items[1..],
            [
                Item::Bad(BadRecord::TooLarge {
                    pos: Position { line: 2, byte: 4 },
                    limit: 1000
                }),
                rec(1001, input.len() as u64 - 7, &["next", "1"]),
            ]
        );
    }

    #[test]
    fn tab_delimiter() {
        assert_eq!(read_all(b"a\tb,c\n", b'\t'), vec![rec(1, 0, &["a", "b,c"])]);
    }

    #[test]
    fn fast_path_lines_match_the_parser() {
        // Whole lines in one buffer take the fast path after the first record; byte-wise
        // reads (in `read_all`) never do. Both must agree on fields and positions.
        let input = b"h1,h2\na,b,,c\r\n\nd\n,\n\"q\",x\ny\r\nlast,no newline";
        let items = read_all(input, b',');
        assert_eq!(
            items,
            vec![
                rec(1, 0, &["h1", "h2"]),
                rec(2, 6, &["a", "b", "", "c"]),
                rec(4, 15, &["d"]),
                rec(5, 17, &["", ""]),
                rec(6, 19, &["q", "x"]),
                rec(7, 25, &["y"]),
                rec(8, 28, &["last", "no newline"]),
            ]
        );
    }

    #[test]
    fn plain_line_only_for_unquoted_lines() {
        let input = b"first,1\nplain,2\r\n\"quoted\",3\nlast,4";
        let mut r = RecordReader::new(&input[..], b',', 100);
        let mut plain = Vec::new();
        while let Next::Record(rec) = r.read_next().unwrap() {
            plain.push(rec.plain_line().map(<[u8]>::to_vec));
        }
        // The first record always goes through the parser (byte-order mark handling);
        // the last has no line end in the buffer.
        assert_eq!(plain, [None, Some(b"plain,2".to_vec()), None, None]);
    }

    #[test]
    fn record_accessors_on_a_fast_path_record() {
        let input = b"x\na,bb,\n";
        let mut r = RecordReader::new(&input[..], b',', 100);
        assert!(matches!(r.read_next().unwrap(), Next::Record(_)));
        let Next::Record(rec) = r.read_next().unwrap() else {
            panic!("no record")
        };
        assert_eq!(rec.plain_line(), Some(&b"a,bb,"[..]));
        assert_eq!(rec.len(), 3);
        assert_eq!(rec.get(0), Some(&b"a"[..]));
        assert_eq!(rec.get(1), Some(&b"bb"[..]));
        assert_eq!(rec.get(2), Some(&b""[..]));
        assert_eq!(rec.get(3), None);
        assert_eq!(rec.field_bytes(), 3);
        assert_eq!(rec.pos, Position { line: 2, byte: 2 });
        assert!(matches!(r.read_next().unwrap(), Next::End));
        assert_eq!(r.bytes_read(), input.len() as u64);
    }

    #[test]
    fn record_accessors() {
        let input = b"a,bb,\n";
        let mut r = RecordReader::new(&input[..], b',', 100);
        let Next::Record(rec) = r.read_next().unwrap() else {
            panic!("no record")
        };
        assert_eq!(rec.len(), 3);
        assert!(!rec.is_empty());
        assert_eq!(rec.get(1), Some(&b"bb"[..]));
        assert_eq!(rec.get(2), Some(&b""[..]));
        assert_eq!(rec.get(3), None);
        assert_eq!(rec.field_bytes(), 3);
    }
}
