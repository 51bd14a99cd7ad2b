//! Two hundred seeds, each drawing its own configuration, every policy: zero violations, and
//! the sweep must actually exercise the faults it is meant to.

use tokenring_sim::{run, run_all, violation_report, Config, Counters, Policy, RunReport};

use crate::threads;

#[test]
fn two_hundred_swarm_seeds_hold_every_invariant() {
    let configs: Vec<Config> =
        (0..200).flat_map(|seed| Policy::ALL.map(|policy| Config::swarm_sized(seed, policy, 2500))).collect();
    let reports: Vec<RunReport> = run_all(&configs, threads(), &|config: &Config| run(config).unwrap());
    let failures: Vec<String> = reports.iter().filter_map(violation_report).collect();
    assert!(failures.is_empty(), "{} failing runs:\n{}", failures.len(), failures.join("\n"));

    let total = |field: fn(&Counters) -> u64| reports.iter().map(|report| field(&report.counters)).sum::<u64>();
    assert!(total(|counters| counters.requests) > 500_000);
    assert!(total(|counters| counters.crashes) > 100);
    assert!(total(|counters| counters.planned_stops) > 100);
    assert!(total(|counters| counters.starts_deferred) > 0, "no start ever met a store outage");
    assert!(total(|counters| counters.reloads_failed) > 0);
    assert!(total(|counters| counters.creates_lost_race) > 0, "no two nodes ever raced to create the key set");
    assert!(total(|counters| counters.write_crashes_old_survived) > 0);
    assert!(total(|counters| counters.write_crashes_new_survived) > 0);
    assert!(total(|counters| counters.rotations) > 1000);
    assert!(total(|counters| counters.attacks) > 10_000);
    let honest = |code: &str| {
        reports.iter().map(|report| report.counters.honest_rejections.get(code).copied().unwrap_or(0)).sum::<u64>()
    };
    // Clock skew beyond the leeway in some seeds, stale clients in others.
    assert!(honest("not-yet-valid") > 0);
    assert!(honest("expired") > 0);
    let all_kinds_seen = reports
        .iter()
        .flat_map(|report| report.counters.attack_outcomes.keys().copied())
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(all_kinds_seen.len(), tokenring_sim::AttackKind::ALL.len(), "{all_kinds_seen:?}");
}
