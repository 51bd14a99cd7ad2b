//! The `etcd` deployment: the ring under one key of the simulated etcd, rotated by the core's
//! compare-and-swap from every node, reloaded at each watch event with the poll as a backstop.

use tokenring_sim::{run, violation_report, Config, Policy, RunReport};

use crate::{calm, DAY_MS, HOUR_MS, MINUTE_MS};

fn run_clean(config: &Config) -> RunReport {
    let report = run(config).expect("a valid configuration");
    assert_eq!(report.violation_count(), 0, "{}", violation_report(&report).unwrap_or_default());
    report
}

/// The default scenario (rotations from every node, crashes, restarts, outages, an operator's
/// revocation and broken value, an attacker): every invariant holds, rotators really conflict
/// and the core retries, and every change reaches the nodes by the watch.
#[test]
fn the_default_etcd_run_holds_every_invariant_and_its_rotators_conflict() {
    let mut config = Config::default_scenario(1, Policy::Etcd);
    config.clients = 300;
    let report = run_clean(&config);
    let counters = &report.counters;
    assert!(counters.rotations >= 6, "{} rotations", counters.rotations);
    assert!(counters.concurrent_rotations >= 6);
    assert!(counters.swap_conflicts > 0, "no swap ever conflicted");
    assert!(counters.watch_changes > 3 * counters.rotations, "{} watch changes", counters.watch_changes);
    assert!(counters.revocations == 1 && counters.bad_file_reads > 0);
    assert!(counters.etcd_outages > 0 && counters.watch_losses > 0 && counters.watch_resumptions > 0);
}

/// An outage of twenty minutes in which no rotation is due: every node keeps serving its last
/// good ring, so nobody is logged out and every request is answered; each node reports the
/// failure once (its later failed polls are repeats) and its recovery once the watch resumes.
#[test]
fn an_etcd_outage_without_a_rotation_due_logs_nobody_out_and_is_reported_once_per_node() {
    let mut config = calm(3, Policy::Etcd);
    config.clients = 300;
    config.duration_ms = DAY_MS - HOUR_MS;
    config.store_outage_max_ms = 20 * MINUTE_MS;
    config.scheduled_store_outages = vec![(10 * HOUR_MS, 10 * HOUR_MS + 20 * MINUTE_MS)];
    let report = run_clean(&config);
    let counters = &report.counters;
    assert_eq!(counters.rotations, 0, "no rotation is due in the first day");
    assert_eq!(counters.etcd_outages, 1);
    assert!(counters.reloads_failed > 3 * 10, "{} failed reloads", counters.reloads_failed);
    assert_eq!(counters.reload_failures_reported, u64::from(config.nodes));
    assert_eq!(counters.reload_recoveries, u64::from(config.nodes));
    assert_eq!(counters.watch_losses, u64::from(config.nodes));
    assert!(counters.people_logged_out.is_empty(), "{:?}", counters.people_logged_out);
    assert_eq!(counters.unanswered, 0);
    assert!(counters.requests > 10_000);
}

/// With the watch gone for good (its latency beyond the run), changes reach the nodes by the
/// poll alone: the bound is the poll's, and every invariant holds.
#[test]
fn without_the_watch_the_poll_backstop_keeps_every_invariant() {
    let mut config = Config::default_scenario(4, Policy::Etcd);
    config.clients = 200;
    config.duration_ms = 3 * DAY_MS;
    config.watch_latency_max_ms = HOUR_MS;
    assert!(config.reload_bound_secs() * 1000 < config.watch_reach_ms());
    let report = run_clean(&config);
    assert!(report.counters.rotations >= 2);
}

/// The same seed gives the same etcd run.
#[test]
fn the_same_seed_gives_the_same_etcd_run() {
    let mut config = Config::default_scenario(2, Policy::Etcd);
    config.clients = 100;
    config.duration_ms = 2 * DAY_MS;
    let first = run(&config).unwrap();
    assert_eq!(first, run(&config).unwrap());
    config.seed = 3;
    assert_ne!(first.trace_hash, run(&config).unwrap().trace_hash);
}
