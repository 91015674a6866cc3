//! Integration tests: each starts a real `xdrive` process with a temporary `dir`, whose
//! mounts run the `xdrive-test-plugin` binary, and talks to it over TCP.

mod cli;
mod failures;
mod harness;
mod limits;
mod protocol;
mod read;
mod write;
