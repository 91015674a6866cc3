//! A checked table schema: column names and SPQ types, from `ColumnDesc`s, and the
//! projection a read's `columnlist` asks for.
//!
//! ```
//! use xdrive_proto::message::ColumnDesc;
//! use xdrive_proto::schema::Schema;
//! use xdrive_proto::spq::SpqType;
//!
//! let descs = vec![
//!     ColumnDesc { name: "id".into(), r#type: SpqType::Int32.code() },
//!     ColumnDesc { name: "name".into(), r#type: SpqType::Cstr.code() },
//! ];
//! let schema = Schema::from_descs(&descs).unwrap();
//! let projected = schema.project(&["name".to_string()]).unwrap();
//! assert_eq!(projected.column(0).spq, SpqType::Cstr);
//! assert_eq!(schema.project(&[]).unwrap(), schema); // empty list = every column
//! ```

use std::sync::Arc;

use crate::message::ColumnDesc;
use crate::spq::{SpqError, SpqType};

/// One column: name and type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    /// The name, exactly as `ColumnDesc.name` and `XCol.colname` carry it.
    pub name: String,
    /// The SPQ type.
    pub spq: SpqType,
}

impl Column {
    /// A column named `name` of type `spq`.
    pub fn new(name: impl Into<String>, spq: SpqType) -> Self {
        Column {
            name: name.into(),
            spq,
        }
    }
}

/// Columns in order, with distinct names and supported types. Cheap to clone (shared).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Schema {
    columns: Arc<[Column]>,
}

/// Why a set of columns is not a usable schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A `ColumnDesc` has a type code we do not serve.
    #[error("column \"{column}\" (number {index}) has an unsupported type")]
    UnsupportedType {
        /// The column's name.
        column: String,
        /// Its position, from 0.
        index: usize,
        /// Which code, and why.
        #[source]
        source: SpqError,
    },
    /// Two columns share a name.
    #[error("column \"{column}\" appears twice in the {list}")]
    DuplicateColumn {
        /// The name.
        column: String,
        /// `"column descriptions"` or `"column list"`.
        list: &'static str,
    },
    /// A projection names a column the table does not have.
    #[error("the column list names \"{column}\", which is not a column of the table")]
    UnknownColumn {
        /// The name.
        column: String,
    },
}

impl Schema {
    /// A schema of `columns`; refuses duplicate names.
    pub fn new(columns: Vec<Column>) -> Result<Schema, SchemaError> {
        check_distinct(
            columns.iter().map(|c| c.name.as_str()),
            "column descriptions",
        )?;
        Ok(Schema {
            columns: columns.into(),
        })
    }

    /// The schema `ColumnDesc`s describe; refuses unsupported type codes and duplicate names.
    pub fn from_descs(descs: &[ColumnDesc]) -> Result<Schema, SchemaError> {
        let columns = descs
            .iter()
            .enumerate()
            .map(|(index, d)| {
                SpqType::from_code(d.r#type)
                    .map(|spq| Column::new(d.name.clone(), spq))
                    .map_err(|source| SchemaError::UnsupportedType {
                        column: d.name.clone(),
                        index,
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Schema::new(columns)
    }

    /// The `ColumnDesc`s of this schema.
    pub fn to_descs(&self) -> Vec<ColumnDesc> {
        self.columns
            .iter()
            .map(|c| ColumnDesc {
                name: c.name.clone(),
                r#type: c.spq.code(),
            })
            .collect()
    }

    /// The columns `columnlist` names, in its order; an empty list means every column (a
    /// clone of `self`). Refuses unknown and repeated names.
    pub fn project(&self, columnlist: &[String]) -> Result<Schema, SchemaError> {
        if columnlist.is_empty() {
            return Ok(self.clone());
        }
        check_distinct(columnlist.iter().map(String::as_str), "column list")?;
        let columns = columnlist
            .iter()
            .map(|name| {
                self.index_of(name)
                    .map(|i| self.columns[i].clone())
                    .ok_or_else(|| SchemaError::UnknownColumn {
                        column: name.clone(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Schema {
            columns: columns.into(),
        })
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Column `i`. Panics if `i >= self.len()`, like slice indexing.
    pub fn column(&self, i: usize) -> &Column {
        &self.columns[i]
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The position of the column named `name` (exact match).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

fn check_distinct<'a>(
    names: impl Iterator<Item = &'a str>,
    list: &'static str,
) -> Result<(), SchemaError> {
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(SchemaError::DuplicateColumn {
                column: name.to_owned(),
                list,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(name: &str, code: i32) -> ColumnDesc {
        ColumnDesc {
            name: name.into(),
            r#type: code,
        }
    }

    #[test]
    fn from_descs_and_back() {
        let descs = vec![desc("a", 0x3), desc("b", 0x9), desc("c", 0x050004)];
        let schema = Schema::from_descs(&descs).unwrap();
        assert_eq!(schema.len(), 3);
        assert_eq!(schema.column(2).spq, SpqType::TimestampMicros);
        assert_eq!(schema.to_descs(), descs);
    }

    #[test]
    fn unsupported_type_names_the_column() {
        let err = Schema::from_descs(&[desc("a", 0x3), desc("u", 0xC)]).unwrap_err();
        assert!(
            matches!(err, SchemaError::UnsupportedType { ref column, index: 1, .. } if column == "u")
        );
        assert_eq!(
            err.to_string(),
            "column \"u\" (number 1) has an unsupported type"
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let err = Schema::from_descs(&[desc("a", 0x3), desc("a", 0x9)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column \"a\" appears twice in the column descriptions"
        );
        let schema = Schema::from_descs(&[desc("a", 0x3), desc("b", 0x9)]).unwrap();
        let err = schema.project(&["b".into(), "b".into()]).unwrap_err();
        assert!(matches!(
            err,
            SchemaError::DuplicateColumn {
                list: "column list",
                ..
            }
        ));
    }

    #[test]
    fn projection() {
        let schema = Schema::from_descs(&[desc("a", 0x3), desc("b", 0x9), desc("c", 0x7)]).unwrap();
        let p = schema.project(&["c".into(), "a".into()]).unwrap();
        assert_eq!(
            p.columns(),
            &[
                Column::new("c", SpqType::Double),
                Column::new("a", SpqType::Int32)
            ]
        );
        assert_eq!(schema.project(&[]).unwrap(), schema);
        let err = schema.project(&["z".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the column list names \"z\", which is not a column of the table"
        );
    }
}
