//! The one error type of this crate: bad `-X` pairs and bad broker lists.

/// A `-X key=value` pair or a broker list that cannot be used.
///
/// Every variant names the offending argument so the user can find it; a pair's value is
/// never shown, since it may be a secret whose key was mistyped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A pair without `=`.
    #[error("-X pair #{index} ({shown:?}) has no '=': write -X key=value")]
    PairMissingEquals {
        /// 1-based position among the `-X` pairs.
        index: usize,
        /// The argument as given (it has no value, so nothing secret is shown).
        shown: String,
    },
    /// A pair whose key (before the first `=`) is empty or only whitespace.
    #[error("-X pair #{index} has an empty key before '=': write -X key=value")]
    PairEmptyKey {
        /// 1-based position among the `-X` pairs.
        index: usize,
    },
    /// A key with whitespace or control characters, which no librdkafka property has.
    #[error(
        "-X pair #{index}: key {key:?} contains whitespace or control characters; \
         librdkafka property names have none"
    )]
    PairBadKey {
        /// 1-based position among the `-X` pairs.
        index: usize,
        /// The key as given.
        key: String,
    },
    /// A value with a NUL byte, which cannot be handed to librdkafka.
    #[error("-X pair #{index} ({key}=…): the value contains a NUL byte")]
    PairNulValue {
        /// 1-based position among the `-X` pairs.
        index: usize,
        /// The pair's key.
        key: String,
    },
    /// The broker list has no entries at all.
    #[error("the broker list is empty: give host:port[,host:port...], e.g. localhost:9092")]
    EmptyBrokerList,
    /// One entry of the broker list is empty (`a:9092,,b:9092`, or a trailing comma).
    #[error("broker list {list:?}: entry #{index} is empty (a doubled or trailing comma?)")]
    EmptyBroker {
        /// The whole list as given.
        list: String,
        /// 1-based position of the empty entry.
        index: usize,
    },
    /// One entry of the broker list is not `[proto://]host[:port]`.
    #[error("broker {entry:?}: {reason}")]
    BadBroker {
        /// The entry as given.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The port of an entry is not a number from 1 to 65535.
    #[error("broker {entry:?}: port {port:?} is not a number from 1 to 65535")]
    BadPort {
        /// The entry as given.
        entry: String,
        /// The text after the last ':'.
        port: String,
    },
}
