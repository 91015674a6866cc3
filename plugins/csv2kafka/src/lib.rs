//! csv2kafka: produce the records of a CSV file to a Kafka topic, one message per record.
//!
//! The binary (`main.rs`) parses the command line into a [`cli::Config`] and calls
//! [`run`]; the modules here hold the testable parts: delimiters, CSV reading with
//! malformed-record detection, message encoding, and the producing loop.

pub mod cli;
pub mod delimiter;
pub mod encode;
pub mod error;
pub mod produce;
pub mod progress;
pub mod reader;

pub use error::{Error, exit};
pub use produce::{Outcome, Summary, run};
