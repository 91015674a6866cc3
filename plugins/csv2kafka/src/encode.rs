//! One CSV record → one Kafka message.

/// Re-joins a record's fields with the write delimiter, quoting only where needed.
///
/// A field is quoted (`"…"`, with each `"` doubled) when it contains the write delimiter,
/// a quote, `\r` or `\n`; every other field is written as is. So a reader that splits the
/// message on the write delimiter with standard CSV quoting gets exactly the original
/// fields, and a record whose fields need no quoting becomes the same bytes as its input
/// line (without the line end). No line end is added.
#[derive(Debug, Clone)]
pub struct Encoder {
    delimiter: u8,
    special: [bool; 256],
}

impl Encoder {
    /// An encoder writing with `delimiter` (already validated, see
    /// [`parse_delimiter`](crate::delimiter::parse_delimiter)).
    pub fn new(delimiter: u8) -> Encoder {
        let mut special = [false; 256];
        for b in [delimiter, b'"', b'\r', b'\n'] {
            special[usize::from(b)] = true;
        }
        Encoder { delimiter, special }
    }

    /// Whether `field` must be quoted.
    pub fn needs_quotes(&self, field: &[u8]) -> bool {
        field.iter().any(|&b| self.special[usize::from(b)])
    }

    /// Writes the fields into `out`, which is cleared first (and reused by the caller, so
    /// encoding allocates only while `out` grows).
    pub fn encode<'a, I>(&self, fields: I, out: &mut Vec<u8>)
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        out.clear();
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            if self.needs_quotes(field) {
                out.push(b'"');
                let mut rest = field;
                while let Some(q) = rest.iter().position(|&b| b == b'"') {
                    out.extend_from_slice(&rest[..=q]);
                    out.push(b'"');
                    rest = &rest[q + 1..];
                }
                out.extend_from_slice(rest);
                out.push(b'"');
            } else {
                out.extend_from_slice(field);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(delim: u8, fields: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        Encoder::new(delim).encode(fields.iter().copied(), &mut out);
        out
    }

    /// Splits a message with the csv crate (an independent reader) on `delim`.
    fn split(delim: u8, msg: &[u8]) -> Vec<Vec<u8>> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delim)
            .from_reader(msg);
        let mut rec = csv::ByteRecord::new();
        assert!(
            r.read_byte_record(&mut rec).unwrap(),
            "no record in {msg:?}"
        );
        let fields = rec.iter().map(<[u8]>::to_vec).collect();
        assert!(
            !r.read_byte_record(&mut rec).unwrap(),
            "two records in {msg:?}"
        );
        fields
    }

    #[test]
    fn plain_fields_are_joined_unchanged() {
        assert_eq!(
            enc(b'|', &[b"1", b"Customer#1", b"a, b"]),
            b"1|Customer#1|a, b"
        );
        assert_eq!(enc(b',', &[b"", b"", b""]), b",,");
        assert_eq!(enc(b',', &[b"only"]), b"only");
    }

    #[test]
    fn fields_with_the_write_delimiter_are_quoted() {
        assert_eq!(enc(b'|', &[b"a|b", b"c"]), b"\"a|b\"|c");
        // The read delimiter needs no quoting once it is not the write delimiter.
        assert_eq!(enc(b'|', &[b"a,b"]), b"a,b");
    }

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(enc(b',', &[br#"say "hi""#]), br#""say ""hi""""#);
        assert_eq!(enc(b',', &[b"\""]), b"\"\"\"\"");
    }

    #[test]
    fn line_ends_are_quoted() {
        assert_eq!(enc(b',', &[b"a\nb", b"c\r\nd"]), b"\"a\nb\",\"c\r\nd\"");
    }

    #[test]
    fn no_trailing_newline() {
        assert!(!enc(b',', &[b"a", b"b"]).ends_with(b"\n"));
    }

    #[test]
    fn output_buffer_is_reused() {
        let e = Encoder::new(b',');
        let mut out = b"old contents".to_vec();
        e.encode([&b"x"[..]], &mut out);
        assert_eq!(out, b"x");
    }

    #[test]
    fn round_trips_through_an_independent_reader() {
        let cases: &[&[&[u8]]] = &[
            &[b"1", b"two words", b""],
            &[b"a|b", b"c,d", b"e\tf"],
            &[b"\"quoted\"", b"mid\"dle", b"\"\""],
            &[b"multi\nline", b"cr\rlf\r\n", b" lead", b"trail "],
            &[
                b"z\xc3\xbcrich",
                b"\xe5\xae\xa2\xe6\x88\xb7",
                b"\xff\xfe raw",
            ],
            &[b"", b"x"],
        ];
        for delim in [b',', b'|', b'\t', b';', 1] {
            for fields in cases {
                let msg = enc(delim, fields);
                let back = split(delim, &msg);
                let want: Vec<Vec<u8>> = fields.iter().map(|f| f.to_vec()).collect();
                assert_eq!(back, want, "delimiter {delim:?}, message {msg:?}");
            }
        }
    }
}
