//! Limit boundaries and small accessors, pinned at the exact value (found by mutation testing:
//! see docs/testing.md).
