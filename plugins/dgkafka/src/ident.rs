//! SQL identifiers from `dgkafka.toml`: table names that may be schema-qualified
//! (`myschema.kafka_offset_summary`) and column names, always emitted quoted.
//!
//! A name part written plainly in the TOML is read as PostgreSQL reads an unquoted
//! identifier — folded to lower case — so `output_table = "Customer"` names the table that
//! `CREATE TABLE Customer (...)` created. A part written in double quotes
//! (`output_table = '"MixedCase"'`) is taken exactly, with `""` standing for one `"`.
//! Every name dgkafka puts into SQL goes through [`quote`], so no name can inject SQL.

use std::fmt;

/// PostgreSQL's `NAMEDATALEN - 1`: longer identifiers are truncated by the server, which
/// would silently name another object, so we refuse them.
pub const MAX_IDENT_BYTES: usize = 63;

/// Why a name is not a usable identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentError {
    #[error("the name is empty")]
    Empty,
    #[error("`{0}` has an empty part (two dots, or a dot at either end)")]
    EmptyPart(String),
    #[error("`{0}` has more than two dot-separated parts; use `table` or `schema.table`")]
    TooManyParts(String),
    #[error(
        "`{0}` is not a plain identifier (letters, digits, `_` and `$`, not starting with a digit); \
         write it in double quotes inside the TOML string to use it exactly"
    )]
    Invalid(String),
    #[error("`{0}` has an unterminated double quote")]
    Unterminated(String),
    #[error("`{0}` is longer than PostgreSQL's {MAX_IDENT_BYTES}-byte identifier limit")]
    TooLong(String),
}

/// One identifier as PostgreSQL stores it (already case-folded or unquoted).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident(String);

impl Ident {
    /// Parses one identifier (no dots outside quotes).
    pub fn parse(text: &str) -> Result<Ident, IdentError> {
        let parts = split_parts(text.trim())?;
        match <[String; 1]>::try_from(parts) {
            Ok([one]) => Ok(Ident(one)),
            Err(_) => Err(IdentError::Invalid(text.to_owned())),
        }
    }

    /// The stored name, e.g. for comparing with `pg_attribute.attname`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    /// The quoted form, ready for SQL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote(&self.0))
    }
}

/// A table name, optionally schema-qualified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    pub schema: Option<Ident>,
    pub name: Ident,
}

impl QualifiedName {
    /// Parses `table` or `schema.table`, each part plain or double-quoted.
    pub fn parse(text: &str) -> Result<QualifiedName, IdentError> {
        let mut parts = split_parts(text.trim())?;
        match parts.len() {
            1 => Ok(QualifiedName {
                schema: None,
                name: Ident(parts.remove(0)),
            }),
            2 => {
                let name = Ident(parts.remove(1));
                let schema = Ident(parts.remove(0));
                Ok(QualifiedName {
                    schema: Some(schema),
                    name,
                })
            }
            _ => Err(IdentError::TooManyParts(text.to_owned())),
        }
    }
}

impl fmt::Display for QualifiedName {
    /// The quoted form, `"schema"."table"` or `"table"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// Splits a mapping target such as `"j1, j2"` (the columns a `(f(x)).*` expression fills)
/// into its column names.
pub fn parse_column_list(text: &str) -> Result<Vec<Ident>, IdentError> {
    if text.trim().is_empty() {
        return Err(IdentError::Empty);
    }
    split_outside_quotes(text, ',')?
        .iter()
        .map(|part| Ident::parse(part))
        .collect()
}

/// Double-quotes an identifier, doubling embedded quotes.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Splits on `sep` outside double quotes; checks quotes are balanced.
fn split_outside_quotes(text: &str, sep: char) -> Result<Vec<&str>, IdentError> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    if in_quotes {
        return Err(IdentError::Unterminated(text.to_owned()));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn split_parts(text: &str) -> Result<Vec<String>, IdentError> {
    if text.is_empty() {
        return Err(IdentError::Empty);
    }
    split_outside_quotes(text, '.')?
        .into_iter()
        .map(|part| {
            let name = resolve_part(part.trim(), text)?;
            if name.len() > MAX_IDENT_BYTES {
                return Err(IdentError::TooLong(name));
            }
            Ok(name)
        })
        .collect()
}

/// One part: `"Exact ""Name"""` → `Exact "Name"`; `Plain` → `plain`.
fn resolve_part(part: &str, whole: &str) -> Result<String, IdentError> {
    if part.is_empty() {
        return Err(IdentError::EmptyPart(whole.to_owned()));
    }
    if let Some(inner) = part.strip_prefix('"') {
        let inner = inner
            .strip_suffix('"')
            .ok_or_else(|| IdentError::Invalid(whole.to_owned()))?;
        // Inside, every quote must be doubled.
        let mut unescaped = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '"' && chars.next() != Some('"') {
                return Err(IdentError::Invalid(whole.to_owned()));
            }
            unescaped.push(c);
        }
        if unescaped.is_empty() {
            return Err(IdentError::EmptyPart(whole.to_owned()));
        }
        return Ok(unescaped);
    }
    let mut chars = part.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    if !(first_ok && rest_ok) {
        return Err(IdentError::Invalid(whole.to_owned()));
    }
    Ok(part.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_fold_to_lower_case_and_are_quoted() {
        let name = QualifiedName::parse("Customer").unwrap();
        assert_eq!(name.schema, None);
        assert_eq!(name.to_string(), "\"customer\"");
    }

    #[test]
    fn schema_qualified_names_quote_each_part() {
        let name = QualifiedName::parse("myschema.kafka_offset_summary").unwrap();
        assert_eq!(name.to_string(), "\"myschema\".\"kafka_offset_summary\"");
        assert_eq!(name.schema.unwrap().as_str(), "myschema");
    }

    #[test]
    fn quoted_parts_are_taken_exactly() {
        let name = QualifiedName::parse(r#""My Schema"."Odd""Name""#).unwrap();
        assert_eq!(name.schema.as_ref().unwrap().as_str(), "My Schema");
        assert_eq!(name.name.as_str(), "Odd\"Name");
        assert_eq!(name.to_string(), r#""My Schema"."Odd""Name""#);
        // A dot inside quotes does not split.
        let dotted = QualifiedName::parse(r#""a.b""#).unwrap();
        assert_eq!(dotted.name.as_str(), "a.b");
        assert_eq!(dotted.schema, None);
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(QualifiedName::parse(""), Err(IdentError::Empty));
        assert!(matches!(
            QualifiedName::parse("a..b"),
            Err(IdentError::EmptyPart(_))
        ));
        assert!(matches!(
            QualifiedName::parse("a.b.c"),
            Err(IdentError::TooManyParts(_))
        ));
        assert!(matches!(
            QualifiedName::parse("drop table x; --"),
            Err(IdentError::Invalid(_))
        ));
        assert!(matches!(
            QualifiedName::parse("1abc"),
            Err(IdentError::Invalid(_))
        ));
        assert!(matches!(
            QualifiedName::parse("\"open"),
            Err(IdentError::Unterminated(_))
        ));
        assert!(matches!(
            QualifiedName::parse(&"x".repeat(64)),
            Err(IdentError::TooLong(_))
        ));
        assert!(QualifiedName::parse(&"x".repeat(63)).is_ok());
    }

    #[test]
    fn column_lists_split_on_commas() {
        let cols = parse_column_list("j1, J2").unwrap();
        let names: Vec<_> = cols.iter().map(Ident::as_str).collect();
        assert_eq!(names, ["j1", "j2"]);
        let quoted = parse_column_list(r#""a,b", c"#).unwrap();
        assert_eq!(quoted[0].as_str(), "a,b");
        assert!(parse_column_list("j1,").is_err());
        assert!(parse_column_list(" ").is_err());
        // A column is never schema-qualified.
        assert!(parse_column_list("s.c").is_err());
    }
}
