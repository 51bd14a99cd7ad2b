//! Placeholder: the benchmarks land with their issue.
#![forbid(unsafe_code)]
