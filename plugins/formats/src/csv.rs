//! One CSV row per message, read and written as PostgreSQL's `COPY ... (FORMAT csv)` does.
//!
//! Reading (PostgreSQL's `CopyReadAttributesCSV`, applied to one line):
//! - one line end (`\n`, `\r\n` or `\r`) at the end of the message is dropped; any other
//!   unquoted CR or LF is an error, because a message holds exactly one row;
//! - fields are separated by the delimiter; `a|b|` has three fields, the last empty;
//! - a quote starts a quoted section anywhere in a field and the next unescaped quote ends
//!   it (`a"b|c"d` is the one field `ab|cd`); inside quotes, the escape character (by
//!   default the quote itself, so `""`) makes a following quote or escape literal, and
//!   delimiters, CR and LF are literal;
//! - a quote left open at the end of the message is an error;
//! - a field is NULL when it had no quotes at all and equals the null string (by default
//!   empty): an unquoted empty field is NULL, `""` is the empty string.
//!
//! Writing: fields joined by the delimiter; a field is quoted when it holds the
//! delimiter, the quote, the escape, CR or LF, or equals the null string (so the empty
//! string is written `""`); inside quotes the quote and escape are preceded by the
//! escape. NULL is written as the null string, unquoted. No line end is added.

use crate::spec::CsvOptions;

/// A field of the last tokenized message: where its text is, and whether it had quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    start: usize,
    end: usize,
    /// In the tokenizer's scratch (unescaped) rather than in the message.
    unescaped: bool,
    /// Had at least one quote (so it is never NULL).
    pub(crate) quoted: bool,
}

/// Why a message is not one CSV row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CsvError {
    /// A quote opened at this byte is never closed.
    UnterminatedQuote { at: usize },
    /// An unquoted CR or LF at this byte, not at the end of the message.
    LineBreak { at: usize },
}

/// Splits messages into fields; keeps its buffers from message to message.
#[derive(Debug, Clone)]
pub(crate) struct Tokenizer {
    delimiter: u8,
    quote: u8,
    escape: u8,
    null: Vec<u8>,
    /// Bytes that end the fast unquoted scan: delimiter, quote, CR, LF.
    special: [bool; 256],
    fields: Vec<Field>,
    /// Unescaped text of fields that needed it, back to back.
    scratch: String,
}

impl Tokenizer {
    pub(crate) fn new(options: &CsvOptions) -> Self {
        let mut special = [false; 256];
        for b in [options.delimiter, options.quote, b'\r', b'\n'] {
            special[usize::from(b)] = true;
        }
        Tokenizer {
            delimiter: options.delimiter,
            quote: options.quote,
            escape: options.escape,
            null: options.null.as_bytes().to_vec(),
            special,
            fields: Vec::new(),
            scratch: String::new(),
        }
    }

    /// The fields of the last message.
    pub(crate) fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The text of `field` of the message `text` last tokenized.
    pub(crate) fn text<'a>(&'a self, text: &'a str, field: Field) -> &'a str {
        if field.unescaped {
            &self.scratch[field.start..field.end]
        } else {
            &text[field.start..field.end]
        }
    }

    /// Whether `field` of `text` is NULL.
    pub(crate) fn is_null(&self, text: &str, field: Field) -> bool {
        !field.quoted && !field.unescaped && text.as_bytes()[field.start..field.end] == self.null
    }

    /// Splits `text` into fields.
    pub(crate) fn tokenize(&mut self, text: &str) -> Result<(), CsvError> {
        self.fields.clear();
        self.scratch.clear();
        let b = strip_line_end(text.as_bytes());
        let n = b.len();
        let mut pos = 0;
        loop {
            let start = pos;
            while pos < n && !self.special[usize::from(b[pos])] {
                pos += 1;
            }
            if pos < n && b[pos] == self.quote {
                pos = self.quoted_field(text, b, start, pos)?;
            } else {
                self.fields.push(Field {
                    start,
                    end: pos,
                    unescaped: false,
                    quoted: false,
                });
            }
            if pos == n {
                return Ok(());
            }
            if b[pos] != self.delimiter {
                return Err(CsvError::LineBreak { at: pos });
            }
            pos += 1;
        }
    }

    /// A field from `start` whose first quote is at `q`; returns where it ends (the
    /// delimiter, a line break, or the end).
    fn quoted_field(
        &mut self,
        text: &str,
        b: &[u8],
        start: usize,
        q: usize,
    ) -> Result<usize, CsvError> {
        // Fast path: `"..."` with no escapes inside, then a delimiter or the end.
        if q == start
            && let Some(len) = memchr::memchr(self.quote, &b[q + 1..])
        {
            let close = q + 1 + len;
            let clean = self.escape == self.quote
                || memchr::memchr(self.escape, &b[q + 1..close]).is_none();
            if clean && (close + 1 == b.len() || b[close + 1] == self.delimiter) {
                self.fields.push(Field {
                    start: q + 1,
                    end: close,
                    unescaped: false,
                    quoted: true,
                });
                return Ok(close + 1);
            }
        }
        // The general case, as PostgreSQL: copy the field's text, unescaped, to scratch.
        // Every byte we split at is ASCII, so the pieces are whole UTF-8 characters.
        let out_start = self.scratch.len();
        self.scratch.push_str(&text[start..q]);
        let mut pos = q;
        loop {
            // At a quote: the quoted section.
            let open = pos;
            pos += 1;
            let mut piece = pos;
            loop {
                let Some(k) = memchr::memchr2(self.quote, self.escape, &b[pos..]) else {
                    return Err(CsvError::UnterminatedQuote { at: open });
                };
                pos += k;
                let c = b[pos];
                if c == self.escape
                    && matches!(b.get(pos + 1), Some(&n) if n == self.quote || n == self.escape)
                {
                    self.scratch.push_str(&text[piece..pos]);
                    piece = pos + 1;
                    pos += 2;
                    continue;
                }
                if c == self.quote {
                    self.scratch.push_str(&text[piece..pos]);
                    pos += 1;
                    break;
                }
                // A lone escape character is literal.
                pos += 1;
            }
            // Unquoted again: up to the next special byte.
            let piece = pos;
            while pos < b.len() && !self.special[usize::from(b[pos])] {
                pos += 1;
            }
            self.scratch.push_str(&text[piece..pos]);
            if pos == b.len() || b[pos] != self.quote {
                self.fields.push(Field {
                    start: out_start,
                    end: self.scratch.len(),
                    unescaped: true,
                    quoted: true,
                });
                return Ok(pos);
            }
        }
    }
}

/// `b` without one final `\n`, `\r\n` or `\r`.
fn strip_line_end(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// Writes CSV rows; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    delimiter: u8,
    quote: u8,
    escape: u8,
    null: Vec<u8>,
    /// Bytes that make a field need quotes.
    special: [bool; 256],
}

impl Writer {
    pub(crate) fn new(options: &CsvOptions) -> Self {
        let mut special = [false; 256];
        for b in [
            options.delimiter,
            options.quote,
            options.escape,
            b'\r',
            b'\n',
        ] {
            special[usize::from(b)] = true;
        }
        Writer {
            delimiter: options.delimiter,
            quote: options.quote,
            escape: options.escape,
            null: options.null.as_bytes().to_vec(),
            special,
        }
    }

    pub(crate) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Appends a NULL field.
    pub(crate) fn null(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.null);
    }

    /// Appends a non-NULL field.
    pub(crate) fn field(&self, out: &mut Vec<u8>, value: &[u8]) {
        let needs_quotes =
            value == self.null.as_slice() || value.iter().any(|&b| self.special[usize::from(b)]);
        if !needs_quotes {
            out.extend_from_slice(value);
            return;
        }
        out.push(self.quote);
        for &b in value {
            if b == self.quote || b == self.escape {
                out.push(self.escape);
            }
            out.push(b);
        }
        out.push(self.quote);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of `text` as `Some(text)` or `None` for NULL.
    fn split_with(options: &CsvOptions, text: &str) -> Result<Vec<Option<String>>, CsvError> {
        let mut t = Tokenizer::new(options);
        t.tokenize(text)?;
        Ok(t.fields()
            .iter()
            .map(|&f| (!t.is_null(text, f)).then(|| t.text(text, f).to_owned()))
            .collect())
    }

    fn split(text: &str) -> Result<Vec<Option<String>>, CsvError> {
        split_with(&CsvOptions::new(b'|').unwrap(), text)
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn plain_fields() {
        assert_eq!(split("a|b|c"), Ok(vec![s("a"), s("b"), s("c")]));
        assert_eq!(
            split("1| spaced |x"),
            Ok(vec![s("1"), s(" spaced "), s("x")])
        );
        assert_eq!(split("a,b|c"), Ok(vec![s("a,b"), s("c")]));
    }

    #[test]
    fn nulls_and_empty_strings() {
        assert_eq!(split(""), Ok(vec![None]));
        assert_eq!(split("|"), Ok(vec![None, None]));
        assert_eq!(split("a||\"\""), Ok(vec![s("a"), None, s("")]));
        // A lone trailing delimiter makes one more, NULL, field.
        assert_eq!(split("a|b|"), Ok(vec![s("a"), s("b"), None]));
    }

    #[test]
    fn quoting() {
        assert_eq!(split("\"a|b\"|c"), Ok(vec![s("a|b"), s("c")]));
        assert_eq!(
            split("\"say \"\"hi\"\"\"|c"),
            Ok(vec![s("say \"hi\""), s("c")])
        );
        assert_eq!(split("\"\"\"\""), Ok(vec![s("\"")]));
        assert_eq!(
            split("\"line\nbreak\"|\"cr\r\nlf\""),
            Ok(vec![s("line\nbreak"), s("cr\r\nlf")])
        );
        // Quotes open and close anywhere in a field, as in PostgreSQL.
        assert_eq!(split("a\"b|c\"d|e"), Ok(vec![s("ab|cd"), s("e")]));
        assert_eq!(split("\"ab\"cd"), Ok(vec![s("abcd")]));
        assert_eq!(split("\"ab\"\"cd\"|x"), Ok(vec![s("ab\"cd"), s("x")]));
        assert_eq!(split("\"é|ü\"|ß"), Ok(vec![s("é|ü"), s("ß")]));
    }

    #[test]
    fn line_ends() {
        assert_eq!(split("a|b\n"), Ok(vec![s("a"), s("b")]));
        assert_eq!(split("a|b\r\n"), Ok(vec![s("a"), s("b")]));
        assert_eq!(split("a|b\r"), Ok(vec![s("a"), s("b")]));
        assert_eq!(split("a|\"b\"\r\n"), Ok(vec![s("a"), s("b")]));
        assert_eq!(split("a|b\n\n"), Err(CsvError::LineBreak { at: 3 }));
        assert_eq!(split("a\nb|c"), Err(CsvError::LineBreak { at: 1 }));
        assert_eq!(split("a|\"b\"\nc"), Err(CsvError::LineBreak { at: 5 }));
        assert_eq!(split("a\rb"), Err(CsvError::LineBreak { at: 1 }));
    }

    #[test]
    fn unterminated_quotes() {
        assert_eq!(split("a|\"bc"), Err(CsvError::UnterminatedQuote { at: 2 }));
        assert_eq!(
            split("\"abc\"\"|d"),
            Err(CsvError::UnterminatedQuote { at: 0 })
        );
        assert_eq!(split("ab\"c"), Err(CsvError::UnterminatedQuote { at: 2 }));
        // The line end inside an open quote does not save it.
        assert_eq!(split("\"abc\n"), Err(CsvError::UnterminatedQuote { at: 0 }));
    }

    #[test]
    fn other_escape_and_null_string() {
        let o = CsvOptions::from_strs(",", "'", "\\", "\\N").unwrap();
        assert_eq!(
            split_with(&o, "'it\\'s',\\N,,'\\N','a\\\\b','x\\y'"),
            Ok(vec![s("it's"), None, s(""), s("\\N"), s("a\\b"), s("x\\y")])
        );
        // With a backslash escape, a doubled quote closes and reopens.
        assert_eq!(split_with(&o, "'a''b'"), Ok(vec![s("ab")]));
    }

    fn write(options: &CsvOptions, fields: &[Option<&[u8]>]) -> Vec<u8> {
        let w = Writer::new(options);
        let mut out = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(w.delimiter());
            }
            match f {
                Some(v) => w.field(&mut out, v),
                None => w.null(&mut out),
            }
        }
        out
    }

    #[test]
    fn writing_quotes_only_where_needed() {
        let o = CsvOptions::new(b'|').unwrap();
        let out = write(
            &o,
            &[
                Some(b"plain"),
                None,
                Some(b""),
                Some(b"a|b"),
                Some(b"say \"hi\""),
                Some(b"l\nf"),
                Some(b"a,b"),
            ],
        );
        assert_eq!(out, b"plain||\"\"|\"a|b\"|\"say \"\"hi\"\"\"|\"l\nf\"|a,b");
        let text = std::str::from_utf8(&out).unwrap();
        assert_eq!(
            split(text),
            Ok(vec![
                s("plain"),
                None,
                s(""),
                s("a|b"),
                s("say \"hi\""),
                s("l\nf"),
                s("a,b")
            ])
        );
        let o = CsvOptions::from_strs(",", "'", "\\", "\\N").unwrap();
        let out = write(
            &o,
            &[None, Some(b"\\N"), Some(b""), Some(b"it's"), Some(b"a\\b")],
        );
        assert_eq!(out, b"\\N,'\\\\N',,'it\\'s','a\\\\b'");
        let text = std::str::from_utf8(&out).unwrap();
        assert_eq!(
            split_with(&o, text),
            Ok(vec![None, s("\\N"), s(""), s("it's"), s("a\\b")])
        );
    }
}
