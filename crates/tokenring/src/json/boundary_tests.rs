//! Tests that pin boundaries and bookkeeping of `json.rs` which the behaviour tests leave loose
//! (found by mutation testing: see docs/testing.md).
