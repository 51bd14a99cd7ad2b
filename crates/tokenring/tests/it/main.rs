//! Integration tests for the tokenring core, one binary with a module per area.

// Test helpers outside `#[test]` functions unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod algorithms;
mod boundaries;
mod claims;
mod errors;
mod key_choice;
mod limits;
mod persistence;
mod properties;
mod redaction;
mod ring;
mod shared;
mod text;
mod vectors;
