//! The policies' stories, each on a fixed seed.

use std::collections::BTreeMap;

use tokenring_sim::{run, violation_report, Config, LoadBalancing, Policy, RunReport};

use crate::{calm, DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};

fn run_clean(config: &Config) -> RunReport {
    let report = run(config).expect("a valid configuration");
    assert_eq!(report.violation_count(), 0, "{}", violation_report(&report).unwrap_or_default());
    report
}

/// One node, a hundred clients that stay active (requests every minute, refreshes before
/// expiry), and one restart two hours in.
fn one_restart(policy: Policy) -> Config {
    let mut config = calm(11, policy);
    config.nodes = 1;
    config.clients = 100;
    config.duration_ms = 4 * HOUR_MS;
    config.session_active_mean_ms = 300 * DAY_MS;
    config.session_idle_mean_ms = 10 * MINUTE_MS;
    config.request_interval_mean_ms = MINUTE_MS;
    config.to_the_end_clients_per_mille = 0;
    config.scheduled_restarts = vec![(2 * HOUR_MS, 0)];
    config
}

#[test]
fn ephemeral_restart_logs_out_every_active_session_with_unknown_key() {
    let report = run_clean(&one_restart(Policy::Ephemeral));
    let counters = &report.counters;
    assert_eq!((counters.planned_stops, counters.node_starts), (1, 2));
    // Every client holds a token from before the restart; each is rejected exactly once, as
    // unknown-key (the new ring has no record of the old key), and logs in again.
    let every_session = BTreeMap::from([("unknown-key", 100)]);
    assert_eq!(counters.forced_relogins, every_session);
    assert_eq!(counters.honest_rejections, every_session);
    // unknown-key is suspicious: the operator sees one WARN per logged-out user.
    assert_eq!(counters.warn_lines_honest, 100);
    assert_eq!(counters.rejections.get("bad-signature"), None);
}

#[test]
fn persisted_survives_the_same_restart_without_a_relogin() {
    let report = run_clean(&one_restart(Policy::Persisted));
    let counters = &report.counters;
    assert_eq!((counters.planned_stops, counters.node_starts), (1, 2));
    assert!(counters.forced_relogins.is_empty(), "{:?}", counters.forced_relogins);
    assert!(counters.honest_rejections.is_empty());
    assert_eq!(counters.warn_lines_honest, 0);
    assert!(counters.requests > 20_000);
}

#[test]
fn persisted_through_restarts_crashes_and_store_faults_has_no_relogin_and_no_honest_warn() {
    let mut config = calm(12, Policy::Persisted);
    config.load_balancing = LoadBalancing::Random;
    config.clients = 200;
    config.duration_ms = 2 * DAY_MS;
    config.rolling_restart_interval_ms = Some(6 * HOUR_MS);
    config.crash_interval_mean_ms = Some(12 * HOUR_MS);
    config.store_outage_interval_mean_ms = Some(6 * HOUR_MS);
    config.store_write_crash_per_mille = 500;
    // The store is down when the cluster first starts: no node may invent a key meanwhile.
    config.scheduled_store_outages = vec![(0, 40 * SECOND_MS)];
    config.attack_interval_mean_ms = Some(30 * SECOND_MS);
    let report = run_clean(&config);
    let counters = &report.counters;
    assert!(counters.planned_stops >= 3 * 7 && counters.crashes > 0, "{counters:?}");
    assert!(counters.starts_deferred >= 3, "every node waited for the store: {}", counters.starts_deferred);
    assert!(counters.forced_relogins.is_empty(), "{:?}", counters.forced_relogins);
    assert!(counters.honest_rejections.is_empty(), "{:?}", counters.honest_rejections);
    assert_eq!(counters.warn_lines_honest, 0);
    assert!(counters.attacks > 1000);
    assert_eq!(counters.attacks_accepted, 0);
}

/// Rotations every four hours with one-hour tokens; every client resends its old token after
/// an idle period without checking whether it expired.
fn rotating_with_stale_clients(policy: Policy) -> Config {
    let mut config = calm(13, policy);
    config.load_balancing = LoadBalancing::Random;
    config.clients = 300;
    config.duration_ms = 2 * DAY_MS;
    config.rotation_interval_ms = 4 * HOUR_MS;
    config.session_active_mean_ms = HOUR_MS;
    config.session_idle_mean_ms = 3 * HOUR_MS;
    config.logout_per_mille = 0;
    config.stale_token_clients_per_mille = 1000;
    config.attack_interval_mean_ms = Some(20 * SECOND_MS);
    config
}

#[test]
fn rotating_past_the_overlap_old_tokens_are_retired_key_and_routine() {
    let report = run_clean(&rotating_with_stale_clients(Policy::Rotating));
    let counters = &report.counters;
    assert!(counters.rotations >= 10, "{}", counters.rotations);
    // Old tokens come back after their key retired: retired-key, never bad-signature or
    // unknown-key, and never a WARN.
    let retired = counters.honest_rejections.get("retired-key").copied().unwrap_or(0);
    assert!(retired > 50, "{:?}", counters.honest_rejections);
    assert!(
        counters.honest_rejections.keys().all(|code| ["retired-key", "expired"].contains(code)),
        "{:?}",
        counters.honest_rejections
    );
    assert_eq!(counters.warn_lines_honest, 0);
    // The attacker's replays of old genuine tokens are classified the same way.
    let replays = &counters.attack_outcomes["replay-expired"];
    assert!(replays.get("retired-key").copied().unwrap_or(0) > 0, "{replays:?}");
    assert!(replays.keys().all(|code| ["retired-key", "expired"].contains(code)), "{replays:?}");
    // Only replays of genuine tokens are routine among the attacker's: a forgery is never.
    assert!(counters.attacks_routine_by_design.keys().all(|reason| *reason == "replay-of-genuine-token"));
    assert_eq!(counters.attacks_accepted, 0);
}

#[test]
fn rotating_past_the_forget_time_old_tokens_are_forgotten_key_and_suspicious() {
    let mut config = rotating_with_stale_clients(Policy::Rotating);
    config.forget_after_secs = 3600;
    let report = run_clean(&config);
    let counters = &report.counters;
    // A stale token whose key was forgotten can no longer be MAC-checked: forgotten-key, a
    // WARN, whoever sent it.
    let forgotten = counters.honest_rejections.get("forgotten-key").copied().unwrap_or(0);
    assert!(forgotten > 20, "{:?}", counters.honest_rejections);
    assert!(counters.warn_lines_honest >= forgotten);
    let forged = &counters.attack_outcomes["forged-under-cluster-kid"];
    assert!(forged.get("forgotten-key").copied().unwrap_or(0) > 0, "{forged:?}");
    assert!(counters.attacks_routine_by_design.keys().all(|reason| *reason == "replay-of-genuine-token"));
    assert_eq!(counters.attacks_accepted, 0);
}

#[test]
fn rotating_never_logs_out_a_client_that_refreshes() {
    let mut config = rotating_with_stale_clients(Policy::Rotating);
    config.stale_token_clients_per_mille = 0;
    let report = run_clean(&config);
    assert!(report.counters.rotations >= 10);
    assert!(report.counters.forced_relogins.is_empty(), "{:?}", report.counters.forced_relogins);
    assert!(report.counters.honest_rejections.is_empty());
}

#[test]
fn a_short_overlap_logs_users_out_at_rotation_with_retired_key() {
    let mut config = rotating_with_stale_clients(Policy::RotatingShortOverlap);
    config.stale_token_clients_per_mille = 0;
    let report = run_clean(&config);
    let counters = &report.counters;
    let forced = counters.forced_relogins.get("retired-key").copied().unwrap_or(0);
    assert!(forced > 50, "{:?}", counters.forced_relogins);
    assert_eq!(counters.forced_relogins.len(), 1, "{:?}", counters.forced_relogins);
    // The cost is in re-logins, not in alarms.
    assert_eq!(counters.warn_lines_honest, 0);
}

/// One key file per node (one volume per pod): keys survive restarts, but each node has its
/// own. Behind a random balancer a token works only where it was issued.
#[test]
fn per_node_key_files_log_users_out_behind_a_random_balancer_without_any_restart() {
    let mut config = calm(14, Policy::PerNodeFiles);
    config.load_balancing = LoadBalancing::Random;
    config.clients = 200;
    config.duration_ms = 6 * HOUR_MS;
    let report = run_clean(&config);
    let counters = &report.counters;
    assert_eq!(counters.planned_stops + counters.crashes, 0);
    assert_eq!(counters.creates, 3, "every node made its own key file");
    let logged_out = counters.forced_relogins.get("unknown-key").copied().unwrap_or(0);
    assert!(logged_out > counters.sessions / 2, "{logged_out} of {} sessions", counters.sessions);
    assert_eq!(counters.forced_relogins.len(), 1, "{:?}", counters.forced_relogins);
    assert_eq!(counters.warn_lines_honest, logged_out);
    // The same files behind a sticky balancer, without restarts: nobody is logged out.
    config.load_balancing = LoadBalancing::Sticky;
    let sticky = run_clean(&config);
    assert!(sticky.counters.forced_relogins.is_empty(), "{:?}", sticky.counters.forced_relogins);
}

/// Clients that retry a rejected request on another node halve the re-logins of per-node key
/// files behind a random balancer, and raise the operator's WARN count: every miss is logged.
#[test]
fn retrying_on_another_node_trades_re_logins_for_warnings() {
    let mut config = calm(14, Policy::PerNodeFiles);
    config.load_balancing = LoadBalancing::Random;
    config.clients = 200;
    config.duration_ms = 6 * HOUR_MS;
    let plain = run_clean(&config);
    config.retry_elsewhere = true;
    let retrying = run_clean(&config);
    assert!(retrying.counters.retries_elsewhere > 0);
    assert!(retrying.counters.forced_relogins_total() < plain.counters.forced_relogins_total() * 3 / 4);
    assert!(retrying.counters.warn_lines_honest > plain.counters.warn_lines_honest);
}
