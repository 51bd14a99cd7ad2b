//! Integration tests for the tokenring core, one binary with a module per area.

// Test helpers outside `#[test]` functions unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod algorithms;
mod architecture;
mod claims;
mod document;
mod errors;
mod first_hour;
mod helpers;
mod hostile_files;
mod key_choice;
mod key_sets;
mod lifecycle;
mod limits;
mod persistence;
mod properties;
mod redaction;
mod revocation;
mod ring;
mod segments;
mod shared;
mod store_paths;
mod text;
mod vectors;
