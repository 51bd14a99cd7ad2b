//! Integration tests for the tokenring core, one binary with a module per area.

mod limits;
mod persistence;
mod properties;
mod redaction;
mod ring;
mod vectors;
