//! End-to-end tests of the `tokenring` binary: each test runs the built executable, with fixed
//! `--now` values so that no result depends on the wall clock.

mod commands;
mod concurrency;
#[cfg(feature = "etcd")]
mod etcd;
mod first_hour;
mod inspect;
mod story;
mod support;
mod vectors;
