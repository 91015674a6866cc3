//! The integration tests of `formats`: one binary, a module per area.

mod corpus;
mod error_rows;
