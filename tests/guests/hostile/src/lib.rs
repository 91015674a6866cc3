//! A transform that misbehaves on purpose, to test that host/transform-host contains it.
//!
//! The init config key `mode` picks the misbehaviour; `at` (an offset) picks the row for
//! `loop` and `panic` (`loop` without `at` loops on every row):
//!
//! - `echo`: well-behaved, each input row is kept as it is;
//! - `fields`: well-behaved, one input value `v` becomes `[v, length of v, first 16 bytes of v]`
//!   (the benchmark's shape);
//! - `loop`: an infinite loop;
//! - `memory`: allocates until the memory limit stops it;
//! - `recurse`: unbounded recursion;
//! - `panic`: panics with a distinctive message;
//! - `arity`: returns one value fewer than the output has columns;
//! - `types`: returns a boolean for every `int` output column;
//! - `big-output`: splits each row into config `count` empty rows (a large output for few
//!   bytes of guest memory);
//! - `batch-panic`: panics on a batch of more than 3 rows (on no row alone), else echoes;
//! - `short`: returns one outcome fewer than it was given rows (otherwise echoes);
//! - `reject`: `init` fails;
//! - `log-flood`: logs 10000 messages per batch, then echoes;
//! - `print`: writes 10000 lines to stdout and to stderr per batch, then echoes.
//!
//! Built only for `wasm32`; natively this crate is empty.

#[cfg(target_arch = "wasm32")]
mod guest;
