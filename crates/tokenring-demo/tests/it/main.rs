//! End-to-end tests of `tokenring-demo`: each starts the built binary as real processes on
//! 127.0.0.1 port 0, talks HTTP to them with a real client, kills them with SIGKILL, and reads
//! what they wrote. Every wait is a bounded number of attempts; no assertion is on a duration.
//!
//! Rotations use the library call the `tokenring keys rotate` command runs
//! (`FileStore::update` with `KeyRing::rotate`): the CLI's binary belongs to another package,
//! which a test of this one cannot name with `CARGO_BIN_EXE_*`.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod arguments;
mod bad_input;
mod etcd;
mod kubernetes;
mod load;
mod reload_log;
mod restart;
mod rotation;
mod shutdown;
mod support;
