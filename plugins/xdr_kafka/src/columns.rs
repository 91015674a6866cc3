//! Which columns a read fills and from where: message fields, the reserved metadata
//! columns (`__kafka_*`) and the row-kind protocol between `dgkafka` and `xdr_kafka`
//! (`__dg_*`). No I/O.

use formats::{ColumnType, InputField, Meta, OutputColumn};
use xdrive_plugin::proto::schema::{Column, Schema};
use xdrive_plugin::proto::spq::SpqType;

/// The message's partition (`int4`).
pub const KAFKA_PARTITION: &str = "__kafka_partition";
/// The message's offset (`int8`).
pub const KAFKA_OFFSET: &str = "__kafka_offset";
/// The message's timestamp (`timestamptz`).
pub const KAFKA_TIMESTAMP: &str = "__kafka_timestamp";
/// The message's key (`bytea`).
pub const KAFKA_KEY: &str = "__kafka_key";

/// The row kind (`int4`): [`KIND_DATA`], [`KIND_ERROR`] or [`KIND_POSITION`].
pub const DG_KIND: &str = "__dg_kind";
/// Error and position rows: the partition (`int4`).
pub const DG_PARTITION: &str = "__dg_partition";
/// Error rows: the message's offset; position rows: the next offset to read (`int8`).
pub const DG_OFFSET: &str = "__dg_offset";
/// Error rows: the message value as received (`bytea`).
pub const DG_RAW: &str = "__dg_raw";
/// Error rows: why the message could not be decoded (`text`).
pub const DG_REASON: &str = "__dg_reason";

/// A decoded message.
pub const KIND_DATA: i32 = 0;
/// A message that could not be decoded.
pub const KIND_ERROR: i32 = 1;
/// A partition's next offset to read, after all data rows.
pub const KIND_POSITION: i32 = 2;

const KAFKA_PREFIX: &str = "__kafka_";
const DG_PREFIX: &str = "__dg_";

const DG_COLUMNS: [(&str, SpqType); 5] = [
    (DG_KIND, SpqType::Int32),
    (DG_PARTITION, SpqType::Int32),
    (DG_OFFSET, SpqType::Int64),
    (DG_RAW, SpqType::Bytea),
    (DG_REASON, SpqType::Cstr),
];

/// Why the columns of a read cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ColumnError {
    /// A `__kafka_` column that is not one of ours.
    #[error(
        "column \"{column}\" is not a reserved column: xdr_kafka fills __kafka_partition \
         int4, __kafka_offset int8, __kafka_timestamp timestamptz and __kafka_key bytea"
    )]
    UnknownKafkaColumn {
        /// The column.
        column: String,
    },
    /// A `__dg_` column that is not one of ours.
    #[error(
        "column \"{column}\" is not a reserved column: the row-kind columns are __dg_kind \
         int4, __dg_partition int4, __dg_offset int8, __dg_raw bytea and __dg_reason text"
    )]
    UnknownDgColumn {
        /// The column.
        column: String,
    },
    /// `__dg_` columns without `__dg_kind`, or `__dg_kind` without all the others.
    #[error(
        "the read asks for row-kind column(s) but not {missing}: with __dg_kind it needs \
         __dg_partition, __dg_offset, __dg_raw and __dg_reason, and those only with __dg_kind"
    )]
    IncompleteKinds {
        /// The columns missing.
        missing: String,
    },
    /// A reserved column of the wrong type.
    #[error("reserved column \"{column}\" has type {got}, xdr_kafka fills it as {want}")]
    WrongType {
        /// The column.
        column: String,
        /// The type asked for.
        got: &'static str,
        /// The type(s) it can fill.
        want: String,
    },
    /// `error_limit` without the row-kind columns to carry error rows.
    #[error(
        "query key \"error_limit\" needs the row-kind columns (__dg_kind int4, __dg_partition \
         int4, __dg_offset int8, __dg_raw bytea, __dg_reason text) to send error rows"
    )]
    ErrorLimitWithoutKinds,
    /// `checkpoint` without the row-kind columns to carry position rows.
    #[error(
        "query key \"checkpoint\" needs the row-kind columns (__dg_kind int4, __dg_partition \
         int4, __dg_offset int8, __dg_raw bytea, __dg_reason text) to send position rows"
    )]
    CheckpointWithoutKinds,
}

/// Where a column of the pages sent gets its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Column `i` of the decoder's pages (a field or a `__kafka_` column).
    Decoded(usize),
    /// `__dg_kind`.
    Kind,
    /// `__dg_partition`.
    Partition,
    /// `__dg_offset`.
    Offset,
    /// `__dg_raw`.
    Raw,
    /// `__dg_reason`.
    Reason,
}

/// The columns of a read, worked out from the request's `columndesc` (all the table's
/// columns) and the schema to send (its `columnlist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The message's fields: every column of `columndesc` that is not reserved, in order.
    pub fields: Vec<InputField>,
    /// The decoder's columns: the columns sent that are not `__dg_` columns, in order.
    pub outputs: Vec<OutputColumn>,
    /// Per column sent, where its values come from; `None` when the read does not use the
    /// row-kind protocol (the decoder's pages are then the pages sent).
    pub kinds: Option<Vec<Slot>>,
}

fn type_error(column: &Column, want: &[SpqType]) -> ColumnError {
    ColumnError::WrongType {
        column: column.name.clone(),
        got: column.spq.pg_name(),
        want: want
            .iter()
            .map(|t| t.pg_name())
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

impl Layout {
    /// Works out the layout; `table` is `columndesc`, `sent` the projected schema.
    pub fn new(table: &Schema, sent: &Schema) -> Result<Layout, ColumnError> {
        let fields: Vec<InputField> = table
            .columns()
            .iter()
            .filter(|c| !c.name.starts_with(KAFKA_PREFIX) && !c.name.starts_with(DG_PREFIX))
            .map(|c| InputField {
                name: c.name.clone(),
                ty: ColumnType::of(c.spq),
                ignored: false,
            })
            .collect();
        let mut outputs = Vec::new();
        let mut slots = Vec::new();
        let mut dg_seen = Vec::new();
        for column in sent.columns() {
            let name = column.name.as_str();
            if name.starts_with(DG_PREFIX) {
                let Some(&(_, spq)) = DG_COLUMNS.iter().find(|(n, _)| *n == name) else {
                    return Err(ColumnError::UnknownDgColumn {
                        column: name.to_owned(),
                    });
                };
                if column.spq != spq {
                    return Err(type_error(column, &[spq]));
                }
                dg_seen.push(name);
                slots.push(match name {
                    DG_KIND => Slot::Kind,
                    DG_PARTITION => Slot::Partition,
                    DG_OFFSET => Slot::Offset,
                    DG_RAW => Slot::Raw,
                    _ => Slot::Reason,
                });
                continue;
            }
            let output = if name.starts_with(KAFKA_PREFIX) {
                let meta = match name {
                    KAFKA_PARTITION => Meta::Partition,
                    KAFKA_OFFSET => Meta::Offset,
                    KAFKA_TIMESTAMP => Meta::Timestamp,
                    KAFKA_KEY => Meta::Key,
                    _ => {
                        return Err(ColumnError::UnknownKafkaColumn {
                            column: name.to_owned(),
                        });
                    }
                };
                if !meta.types().contains(&column.spq) {
                    return Err(type_error(column, meta.types()));
                }
                OutputColumn::meta(name, meta, column.spq)
            } else {
                let index = fields
                    .iter()
                    .position(|f| f.name == name)
                    .expect("a projected column is a column of the table");
                OutputColumn::field(name, index)
            };
            slots.push(Slot::Decoded(outputs.len()));
            outputs.push(output);
        }
        let kinds = if dg_seen.is_empty() {
            None
        } else {
            let missing: Vec<&str> = DG_COLUMNS
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| !dg_seen.contains(n))
                .collect();
            if !missing.is_empty() {
                return Err(ColumnError::IncompleteKinds {
                    missing: missing.join(", "),
                });
            }
            Some(slots)
        };
        Ok(Layout {
            fields,
            outputs,
            kinds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::Source;

    fn schema(cols: &[(&str, SpqType)]) -> Schema {
        Schema::new(cols.iter().map(|&(n, t)| Column::new(n, t)).collect()).unwrap()
    }

    fn kinds_columns() -> Vec<(&'static str, SpqType)> {
        DG_COLUMNS.to_vec()
    }

    #[test]
    fn plain_reads_decode_straight_into_the_pages_sent() {
        let table = schema(&[
            ("id", SpqType::Int32),
            ("name", SpqType::Cstr),
            (KAFKA_OFFSET, SpqType::Int64),
            ("amount", SpqType::Double),
        ]);
        let sent = table
            .project(&["amount".into(), KAFKA_OFFSET.into()])
            .unwrap();
        let l = Layout::new(&table, &sent).unwrap();
        assert_eq!(
            l.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["id", "name", "amount"]
        );
        assert_eq!(
            l.outputs,
            [
                OutputColumn::field("amount", 2),
                OutputColumn::meta(KAFKA_OFFSET, Meta::Offset, SpqType::Int64)
            ]
        );
        assert_eq!(l.kinds, None);
    }

    #[test]
    fn the_row_kind_protocol_maps_every_column() {
        let mut cols = vec![("jdata", SpqType::Json), (KAFKA_KEY, SpqType::Bytea)];
        cols.extend(kinds_columns());
        let table = schema(&cols);
        let l = Layout::new(&table, &table).unwrap();
        assert_eq!(l.outputs.len(), 2);
        assert!(matches!(
            l.outputs[1].source,
            Source::Meta(Meta::Key, SpqType::Bytea)
        ));
        assert_eq!(
            l.kinds.unwrap(),
            [
                Slot::Decoded(0),
                Slot::Decoded(1),
                Slot::Kind,
                Slot::Partition,
                Slot::Offset,
                Slot::Raw,
                Slot::Reason
            ]
        );
    }

    #[test]
    fn incomplete_or_unknown_reserved_columns_are_refused() {
        let table = schema(&[("a", SpqType::Int32), (DG_KIND, SpqType::Int32)]);
        let e = Layout::new(&table, &table).unwrap_err().to_string();
        assert!(
            e.contains("but not __dg_partition, __dg_offset, __dg_raw, __dg_reason"),
            "{e}"
        );
        let table = schema(&[("a", SpqType::Int32), (DG_OFFSET, SpqType::Int64)]);
        assert!(matches!(
            Layout::new(&table, &table),
            Err(ColumnError::IncompleteKinds { .. })
        ));
        let table = schema(&[("__kafka_headers", SpqType::Cstr)]);
        assert!(matches!(
            Layout::new(&table, &table),
            Err(ColumnError::UnknownKafkaColumn { .. })
        ));
        let table = schema(&[("__dg_batch", SpqType::Int32)]);
        assert!(matches!(
            Layout::new(&table, &table),
            Err(ColumnError::UnknownDgColumn { .. })
        ));
        let table = schema(&[(KAFKA_OFFSET, SpqType::Int32)]);
        assert_eq!(
            Layout::new(&table, &table).unwrap_err().to_string(),
            "reserved column \"__kafka_offset\" has type int4, xdr_kafka fills it as int8"
        );
        let table = schema(&[(DG_RAW, SpqType::Cstr)]);
        assert!(matches!(
            Layout::new(&table, &table),
            Err(ColumnError::WrongType { .. })
        ));
    }

    #[test]
    fn kinds_columns_left_out_of_the_projection_turn_the_protocol_off() {
        let mut cols = vec![("a", SpqType::Int32)];
        cols.extend(kinds_columns());
        let table = schema(&cols);
        let sent = table.project(&["a".into()]).unwrap();
        let l = Layout::new(&table, &sent).unwrap();
        assert_eq!(l.kinds, None);
        assert_eq!(l.fields.len(), 1);
    }
}
