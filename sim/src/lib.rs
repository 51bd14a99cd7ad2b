//! Placeholder: the simulator lands with its issue.
#![forbid(unsafe_code)]
