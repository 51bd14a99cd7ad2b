//! Tests that pin boundaries and bookkeeping of `claims.rs` which the behaviour tests leave loose
//! (found by mutation testing: see docs/testing.md).
