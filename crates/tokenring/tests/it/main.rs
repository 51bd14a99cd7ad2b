//! Integration tests for the tokenring core, one binary with a module per area.

mod ring;
mod vectors;
