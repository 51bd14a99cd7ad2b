//! A deterministic simulation of a cluster that signs and verifies session tokens with the real
//! `tokenring` core, through restarts, crashes, key rotations, store outages, clock skew and
//! attacks, with an oracle that checks every outcome against the ground truth.
//!
//! # Model
//!
//! One run is single-threaded and driven by one `u64` seed: every random choice comes from a
//! ChaCha8 stream of that seed (one stream per component), time is simulated milliseconds, and
//! events are ordered by time and then by the order they were scheduled. Nothing reads the wall
//! clock or the operating system's randomness, and no iteration order depends on hashing, so
//! the same seed gives the same trace, and the same trace hash.
//!
//! * **Nodes** hold the library's `SharedRing` on a `FileStore` over the simulated disk, or on
//!   a key of the simulated etcd, reload it when the library's `ReloadMachine` asks, and rotate
//!   and revoke through its `update`, under a key [`Policy`]: `ephemeral`, `per-node-files`,
//!   `persisted`, `rotating`, `rotating-short-overlap`, `etcd`.
//! * **etcd** (policy `etcd`) keeps the ring under one key with revisions: requests take round
//!   trips, outages fail them, a swap whose read came before another commit conflicts (the
//!   core's update retries it), and a watch tells every node of each change after a latency.
//! * **The disk** crashes in the middle of writes, has outages, and shows each node a new key
//!   file only after a propagation delay (a mounted Secret), or, for one node at start, none
//!   at all (a Secret not mounted yet).
//! * **Clients** log in, make requests, refresh before expiry, and log in again when a request
//!   is rejected (counted per rejection and per person).
//! * **The checker** ([`Invariant`]) consumes what the components report and owns every
//!   invariant; the components never decide that something is wrong.
//! * **The operator** revokes a leaked key and pushes a broken key file; **the attacker** sends
//!   forgeries of twelve kinds ([`AttackKind`]).
//!
//! Only the clock, the disk, etcd and the network are simulated. [`check`] runs a service author's
//! [`Deployment`] through the same faults and reports who was logged out and why.
//!
//! # Invariants
//!
//! See [`Invariant`]; `docs/simulator.md` explains each, and how the oracle knows the truth.
//!
//! # Use
//!
//! ```
//! use tokenring_sim::{run, Config, Policy};
//! let mut config = Config::swarm(7, Policy::Rotating);
//! config.duration_ms = 3_600_000;
//! let report = run(&config)?;
//! assert_eq!(report.violation_count(), 0);
//! # Ok::<(), tokenring_sim::ConfigError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attacker;
mod balancer;
mod checker;
mod client;
mod config;
mod deployment;
mod disk;
mod etcd;
mod model;
mod network;
mod node;
mod operator;
mod oracle;
mod queue;
mod report;
mod rng;
mod store;
mod sweep;
mod trace;
mod world;

#[cfg(feature = "canaries")]
pub use crate::config::Canary;
pub use crate::config::{
    format_duration, format_instant, parse_duration, AttackKind, Config, ConfigError, LoadBalancing, Origin, Policy,
    BURST_REQUESTS_MAX, CLIENTS_MAX, CLOCK_DRIFT_PPM_MAX, DURATION_MS_MAX, FORGET_AFTER_SECS_MAX, NODES_MAX,
};
pub use crate::deployment::{check, Cause, Deployment, Report};
pub use crate::oracle::{Invariant, Violation};
pub use crate::report::{
    comparison_table, scenario_line, summary_table, violation_report, Counters, RunReport, TimedReport,
};
pub use crate::sweep::run_all;

/// Runs one simulation.
///
/// # Errors
/// [`ConfigError`] when the configuration is out of range; nothing is run then.
pub fn run(config: &Config) -> Result<RunReport, ConfigError> {
    config.validate()?;
    Ok(world::World::new(config).run())
}
