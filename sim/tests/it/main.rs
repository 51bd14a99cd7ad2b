//! The simulator's integration tests: fixed-seed scenarios that tell the policies' stories,
//! a swarm sweep, determinism, the canaries that prove the oracle can fail, and the binary.

mod binary;
mod canary;
mod check;
mod determinism;
mod etcd;
mod scenarios;
mod swarm;

use tokenring_sim::{Config, Origin, Policy};

pub(crate) const SECOND_MS: u64 = 1000;
pub(crate) const MINUTE_MS: u64 = 60 * SECOND_MS;
pub(crate) const HOUR_MS: u64 = 60 * MINUTE_MS;
pub(crate) const DAY_MS: u64 = 24 * HOUR_MS;

/// The default scenario without faults or attacker, marked as built by hand: each test adds
/// exactly what it studies.
pub(crate) fn calm(seed: u64, policy: Policy) -> Config {
    let mut config = Config::default_scenario(seed, policy);
    config.origin = Origin::Custom;
    config.rolling_restart_interval_ms = None;
    config.crash_interval_mean_ms = None;
    config.store_outage_interval_mean_ms = None;
    config.scheduled_store_outages = Vec::new();
    config.store_write_crash_per_mille = 0;
    config.attack_interval_mean_ms = None;
    config.revocation_at_ms = None;
    config.bad_file = None;
    config
}

/// Worker threads for the tests that run many configurations.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
