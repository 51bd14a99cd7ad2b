//! The canaries: deliberately broken components that the oracle must catch. A checker that
//! cannot fail proves nothing.
//!
//! Each canary is caught by the swarm sweep (`--seeds 0..200`, every policy): the test finds the
//! first failing run in the sweep's order (seed by seed, each policy in turn), checks the
//! expected invariant fails there, and checks the same run without the canary holds every
//! invariant. `docs/simulator.md` lists the seeds.

use tokenring_sim::{run, violation_report, Canary, Config, Invariant, LoadBalancing, Policy};

use crate::{calm, DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};

/// The swarm seeds a canary is looked for in, as the documented sweep does.
const SWEEP_SEEDS: core::ops::Range<u64> = 0..200;

/// The first run of the sweep (its seed and policy) at which `canary` breaks `invariant`;
/// panics if none does, or if that run fails without the canary.
fn first_failing_seed(canary: Canary, invariant: Invariant) -> (u64, Policy) {
    for (seed, policy) in SWEEP_SEEDS.flat_map(|seed| Policy::ALL.map(|policy| (seed, policy))) {
        let mut config = Config::swarm(seed, policy);
        config.canary = Some(canary);
        let broken = run(&config).expect("a valid configuration");
        if broken.violation_count() == 0 {
            continue;
        }
        assert!(
            broken.violations_of(invariant) > 0,
            "{}: seed {seed} policy {policy} fails, but not invariant {}: {:?}",
            canary.as_str(),
            invariant.number(),
            broken.violations
        );
        config.canary = None;
        let clean = run(&config).expect("a valid configuration");
        assert_eq!(clean.violation_count(), 0, "{}", violation_report(&clean).unwrap_or_default());
        return (seed, policy);
    }
    panic!("{} is never caught in seeds {SWEEP_SEEDS:?}", canary.as_str());
}

#[test]
fn a_verifier_that_skips_the_mac_is_caught_by_invariant_1() {
    assert_eq!(first_failing_seed(Canary::BrokenVerifier, Invariant::AttackerTokenAccepted).0, 0);
    assert_eq!(first_failing_seed(Canary::MacSkippedForKnownKid, Invariant::AttackerTokenAccepted).0, 0);
}

#[test]
fn a_log_line_with_the_token_is_caught_by_invariant_4() {
    first_failing_seed(Canary::LeakyLog, Invariant::SecretInLog);
}

#[test]
fn signing_with_a_key_before_every_node_has_it_is_caught_by_invariant_2() {
    first_failing_seed(Canary::EagerActivation, Invariant::SpuriousRejection);
    first_failing_seed(Canary::PropagationHalved, Invariant::SpuriousRejection);
}

#[test]
fn a_rotation_that_ignores_the_overlap_is_caught_by_invariants_2_and_6() {
    first_failing_seed(Canary::OverlapIgnored, Invariant::KeyKnowledge);
    let mut config = busy_rotating();
    config.canary = Some(Canary::OverlapIgnored);
    let report = run(&config).unwrap();
    assert!(report.violations_of(Invariant::SpuriousRejection) > 0, "{:?}", report.violations);
    assert!(report.counters.honest_rejections.get("retired-key").copied().unwrap_or(0) > 0);
}

/// Tokens used to their last second, frequent rotations and clocks as far apart as the leeway
/// allows: the run that needs the leeway in the overlap.
#[test]
fn an_overlap_without_the_leeway_is_caught_by_invariant_2() {
    let mut config = calm(24, Policy::Rotating);
    config.nodes = 4;
    config.clients = 300;
    config.duration_ms = 12 * HOUR_MS;
    config.token_ttl_secs = 300;
    config.refresh_at_per_mille = 1000;
    config.request_interval_mean_ms = 5 * SECOND_MS;
    config.session_active_mean_ms = 4 * HOUR_MS;
    config.clock_skew_max_ms = (config.leeway_secs * SECOND_MS - SECOND_MS) / 2;
    config.rotation_interval_ms = 20 * MINUTE_MS;
    config.rolling_restart_interval_ms = Some(2 * HOUR_MS);
    let clean = run(&config).unwrap();
    assert_eq!(clean.violation_count(), 0, "{}", violation_report(&clean).unwrap_or_default());
    config.canary = Some(Canary::OverlapWithoutLeeway);
    let broken = run(&config).unwrap();
    assert!(broken.violations_of(Invariant::SpuriousRejection) > 0, "{:?}", broken.violations);
    assert!(broken.counters.honest_rejections.get("retired-key").copied().unwrap_or(0) > 0);
}

#[test]
fn a_restarted_node_that_never_signs_again_is_caught_by_invariant_7() {
    first_failing_seed(Canary::RestartedNodeNeverSigns, Invariant::Liveness);
    // The review's case: one rolling restart, and logins stop.
    let mut config = calm(23, Policy::Persisted);
    config.clients = 200;
    config.duration_ms = DAY_MS;
    config.rolling_restart_interval_ms = Some(6 * HOUR_MS);
    let clean = run(&config).unwrap();
    assert_eq!(clean.violation_count(), 0);
    assert_eq!(clean.counters.unanswered, 0);
    config.canary = Some(Canary::RestartedNodeNeverSigns);
    let broken = run(&config).unwrap();
    assert!(broken.violations_of(Invariant::Liveness) > 0, "{:?}", broken.violations);
    assert!(broken.counters.unanswered_unexplained > 0);
    assert!(broken.counters.sessions < clean.counters.sessions);
}

#[test]
fn a_forgotten_kid_called_routine_is_caught_by_invariant_3() {
    first_failing_seed(Canary::ForgottenKidRoutine, Invariant::WrongClassification);
}

#[test]
fn a_torn_store_and_a_lost_update_are_caught_by_invariant_6() {
    first_failing_seed(Canary::NonAtomicSave, Invariant::KeyKnowledge);
    first_failing_seed(Canary::NoLockOnUpdate, Invariant::KeyKnowledge);
}

#[test]
fn boundaries_off_by_one_second_are_caught_by_invariant_3() {
    first_failing_seed(Canary::RetireBoundaryOffByOne, Invariant::WrongClassification);
    first_failing_seed(Canary::ExpiryBoundaryOffByOne, Invariant::WrongClassification);
}

#[test]
fn every_canary_has_a_test() {
    // The tests above name each canary once; a new canary must be added there and here.
    assert_eq!(Canary::ALL.len(), 13);
    for canary in Canary::ALL {
        assert_eq!(Canary::from_name(canary.as_str()), Some(canary));
    }
}

/// Random balancing, busy clients and frequent rotations: tokens under a fresh key reach
/// every node within seconds.
fn busy_rotating() -> Config {
    let mut config = calm(22, Policy::Rotating);
    config.load_balancing = LoadBalancing::Random;
    config.clients = 400;
    config.duration_ms = DAY_MS;
    config.request_interval_mean_ms = 10 * SECOND_MS;
    config.session_active_mean_ms = 4 * HOUR_MS;
    config.rotation_interval_ms = 2 * HOUR_MS;
    config.reload_interval_ms = 2 * MINUTE_MS;
    config
}

#[test]
fn busy_traffic_catches_eager_activation_in_one_run() {
    let mut config = busy_rotating();
    let careful = run(&config).unwrap();
    assert_eq!(careful.violation_count(), 0, "{}", violation_report(&careful).unwrap_or_default());
    assert!(careful.counters.rotations >= 10);
    config.canary = Some(Canary::EagerActivation);
    let eager = run(&config).unwrap();
    assert!(eager.violations_of(Invariant::SpuriousRejection) > 0, "{:?}", eager.violations);
    assert!(eager.counters.honest_rejections.get("unknown-key").copied().unwrap_or(0) > 0);
}

/// Not a canary: a deployment whose propagation is shorter than its reload bound. Invariant 2
/// is not claimed, but every rejection must still be the one the oracle predicts.
#[test]
fn an_under_configured_propagation_costs_what_the_oracle_predicts() {
    let mut config = busy_rotating();
    config.propagation_configured_secs = Some(0);
    assert!(!config.promises_no_spurious_rejection());
    let report = run(&config).unwrap();
    assert_eq!(report.violation_count(), 0, "{}", violation_report(&report).unwrap_or_default());
    assert!(report.counters.forced_relogins.get("unknown-key").copied().unwrap_or(0) > 0, "{:?}", report.counters);
    assert!(report.counters.warn_lines_honest > 0);
}

/// Not a canary: reload loops that stall for up to half an hour, beyond every bound. A stuck
/// node verifies with an old ring; every rejection it gives is still the predicted one.
#[test]
fn stuck_reloaders_cost_what_the_oracle_predicts() {
    let mut config = busy_rotating();
    config.reload_stall_per_mille = 100;
    config.reload_stall_max_ms = 30 * MINUTE_MS;
    assert!(!config.promises_no_spurious_rejection());
    let report = run(&config).unwrap();
    assert_eq!(report.violation_count(), 0, "{}", violation_report(&report).unwrap_or_default());
    assert!(report.counters.reload_stalls > 10);
    assert!(report.counters.honest_rejections.get("unknown-key").copied().unwrap_or(0) > 0, "{:?}", report.counters);
}
