//! The `-d` and `-w` delimiters.

/// A delimiter argument that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DelimiterError {
    /// Empty argument.
    #[error("the delimiter is empty: give one character such as , or | (or \\t for tab)")]
    Empty,
    /// More than one character, or one character that is more than one byte.
    #[error(
        "delimiter {0:?} is not a single one-byte (ASCII) character; use one of , | ; \\t \
         or \\xHH for a byte from \\x01 to \\x7f"
    )]
    NotOneByte(String),
    /// The quote character or a line end, which would make the CSV ambiguous.
    #[error("delimiter {0:?} cannot be used: it is the quote character or a line end")]
    Reserved(String),
}

/// Parses a delimiter: one ASCII character, or `\t` / `tab` (any case) for a tab, or
/// `\xHH` for a byte from `\x01` to `\x7f` (e.g. `\x01`, Hive's default). Multi-byte
/// characters are refused: CSV delimiters are single bytes. The quote `"`, `\r` and `\n`
/// are refused since the CSV would become ambiguous.
pub fn parse_delimiter(arg: &str) -> Result<u8, DelimiterError> {
    let byte = match arg {
        "" => return Err(DelimiterError::Empty),
        "\\t" => b'\t',
        s if s.eq_ignore_ascii_case("tab") => b'\t',
        s if s.len() == 4 && s.starts_with("\\x") => match u8::from_str_radix(&s[2..], 16) {
            Ok(b) if (1..0x80).contains(&b) => b,
            _ => return Err(DelimiterError::NotOneByte(arg.to_owned())),
        },
        s if s.len() == 1 => s.as_bytes()[0],
        _ => return Err(DelimiterError::NotOneByte(arg.to_owned())),
    };
    if matches!(byte, b'"' | b'\r' | b'\n') {
        return Err(DelimiterError::Reserved(arg.to_owned()));
    }
    Ok(byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_characters() {
        for (arg, b) in [
            (",", b','),
            ("|", b'|'),
            (";", b';'),
            (" ", b' '),
            ("\t", b'\t'),
        ] {
            assert_eq!(parse_delimiter(arg), Ok(b), "{arg:?}");
        }
    }

    #[test]
    fn tab_spellings() {
        for arg in ["\\t", "tab", "TAB", "Tab"] {
            assert_eq!(parse_delimiter(arg), Ok(b'\t'), "{arg:?}");
        }
    }

    #[test]
    fn hex_escapes() {
        assert_eq!(parse_delimiter("\\x01"), Ok(1));
        assert_eq!(parse_delimiter("\\x7C"), Ok(b'|'));
        for arg in ["\\x00", "\\x80", "\\xff", "\\xg1"] {
            assert!(
                matches!(parse_delimiter(arg), Err(DelimiterError::NotOneByte(_))),
                "{arg:?}"
            );
        }
    }

    #[test]
    fn multi_byte_and_multi_char_are_refused() {
        for arg in ["§", "€", "||", "ab", "\\n\\n", "é"] {
            assert!(
                matches!(parse_delimiter(arg), Err(DelimiterError::NotOneByte(_))),
                "{arg:?}"
            );
        }
        assert_eq!(parse_delimiter(""), Err(DelimiterError::Empty));
    }

    #[test]
    fn quote_and_line_ends_are_refused() {
        for arg in ["\"", "\n", "\r", "\\x22", "\\x0a"] {
            assert!(
                matches!(parse_delimiter(arg), Err(DelimiterError::Reserved(_))),
                "{arg:?}"
            );
        }
    }
}
