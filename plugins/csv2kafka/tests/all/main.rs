//! End-to-end tests of csv2kafka against the real broker (being written).
