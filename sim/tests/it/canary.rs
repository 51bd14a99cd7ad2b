//! The canaries: the core's deliberate bugs (`tokenring::canary`, compiled in by this crate's
//! `canaries` feature), armed one per run. The simulator runs the mutated library code and the
//! oracle is not told; a checker that cannot fail proves nothing.
//!
//! Each canary is caught by the swarm sweep (`--seeds 0..200`, every policy): the test finds the
//! first failing run in the sweep's order (seed by seed, each policy in turn), checks that an
//! expected invariant fails there, and that the same run without the canary holds every
//! invariant. The default run's catches are checked in release by `.ci/run`;
//! `docs/simulator.md` tables both.

use tokenring_sim::{run, violation_report, Config, LoadBalancing, Policy};

use crate::{calm, DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};

#[cfg(feature = "canaries")]
mod library {
    use tokenring_sim::{run, violation_report, Canary, Config, Invariant, Policy};

    /// The swarm seeds a canary is looked for in, as the documented sweep does.
    const SWEEP_SEEDS: core::ops::Range<u64> = 0..200;

    /// The first run of the sweep (its seed and policy) at which `canary` breaks one of
    /// `invariants`; panics if none does, or if that run fails without the canary.
    fn first_failing_run(canary: Canary, invariants: &[Invariant]) -> (u64, Policy) {
        for (seed, policy) in SWEEP_SEEDS.flat_map(|seed| Policy::ALL.map(|policy| (seed, policy))) {
            let mut config = Config::swarm(seed, policy);
            config.canary = Some(canary);
            let broken = run(&config).expect("a valid configuration");
            if broken.violation_count() == 0 {
                continue;
            }
            assert!(
                invariants.iter().any(|&invariant| broken.violations_of(invariant) > 0),
                "{}: seed {seed} policy {policy} fails, but none of {invariants:?}: {:?}",
                canary.as_str(),
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
    fn a_signer_that_takes_pending_keys_is_caught() {
        first_failing_run(Canary::SignerTakesPending, &[Invariant::SpuriousRejection, Invariant::KeyKnowledge]);
    }

    #[test]
    fn an_update_without_the_lock_is_caught_by_invariant_6() {
        first_failing_run(Canary::UpdateTakesNoLock, &[Invariant::KeyKnowledge]);
    }

    #[test]
    fn an_unchecked_exp_is_caught_by_invariants_1_and_3() {
        first_failing_run(Canary::ExpNotChecked, &[Invariant::AttackerTokenAccepted, Invariant::WrongClassification]);
    }

    #[test]
    fn a_retire_boundary_off_by_one_second_is_caught() {
        first_failing_run(Canary::RetireBoundaryOffByOne, &[Invariant::WrongClassification, Invariant::KeyKnowledge]);
    }

    #[test]
    fn a_save_in_place_is_caught_by_invariant_6() {
        first_failing_run(Canary::SaveInPlace, &[Invariant::KeyKnowledge]);
    }

    #[test]
    fn a_revoke_that_does_nothing_is_caught() {
        first_failing_run(Canary::RevokedKeyVerifies, &[Invariant::Revocation, Invariant::KeyKnowledge]);
    }

    #[test]
    fn a_reload_that_empties_the_ring_is_caught() {
        first_failing_run(Canary::ReloadEmptiesOnParseError, &[Invariant::KeyKnowledge, Invariant::Liveness]);
    }

    #[test]
    fn an_activation_boundary_off_by_one_second_is_caught() {
        first_failing_run(Canary::ActivationBoundaryOffByOne, &[Invariant::KeyKnowledge, Invariant::Liveness]);
    }

    #[test]
    fn a_mac_skipped_for_the_rings_own_header_is_caught_by_invariant_1() {
        first_failing_run(Canary::MacSkippedForOwnHeader, &[Invariant::AttackerTokenAccepted]);
    }

    #[test]
    fn a_forgotten_key_called_routine_is_caught_by_invariant_3() {
        first_failing_run(Canary::ForgottenKeyRoutine, &[Invariant::WrongClassification]);
    }

    #[test]
    fn a_rotation_that_ignores_the_overlap_is_caught() {
        first_failing_run(Canary::OverlapIgnored, &[Invariant::SpuriousRejection, Invariant::KeyKnowledge]);
    }

    #[test]
    fn a_swap_conflict_taken_for_success_is_caught_by_invariant_6() {
        let (_, policy) = first_failing_run(Canary::SwapConflictIgnored, &[Invariant::KeyKnowledge]);
        assert_eq!(policy, Policy::Etcd, "only a compare-and-swap store runs the core's update_by_swap");
    }

    /// The etcd sweep catches it on more than a fifth of its seeds (the others have no second
    /// rotator whose read came before the first one's commit); the default etcd run catches it.
    #[test]
    fn a_swap_conflict_taken_for_success_is_caught_on_a_fifth_of_the_etcd_sweep() {
        let configs: Vec<Config> = SWEEP_SEEDS
            .map(|seed| Config { canary: Some(Canary::SwapConflictIgnored), ..Config::swarm(seed, Policy::Etcd) })
            .collect();
        let caught = tokenring_sim::run_all(&configs, crate::threads(), &|config: &Config| {
            run(config).expect("a valid configuration").violations_of(Invariant::KeyKnowledge) > 0
        });
        let caught = caught.into_iter().filter(|&caught| caught).count();
        assert!(caught * 5 >= configs.len(), "caught in {caught} of {} seeds", configs.len());
        let mut config = Config::default_scenario(1, Policy::Etcd);
        config.clients = 100;
        config.canary = Some(Canary::SwapConflictIgnored);
        assert!(run(&config).unwrap().violations_of(Invariant::KeyKnowledge) > 0);
    }

    /// Under `ephemeral` no fault explains a node that cannot start: a liveness violation,
    /// where the review found 0.000 % availability counted as explained.
    #[test]
    fn a_node_that_cannot_start_is_a_violation_whatever_the_policy() {
        let mut config = crate::calm(5, Policy::Ephemeral);
        config.clients = 20;
        config.duration_ms = crate::HOUR_MS;
        assert_eq!(run(&config).unwrap().violation_count(), 0);
        config.canary = Some(Canary::ActivationBoundaryOffByOne);
        let broken = run(&config).unwrap();
        assert!(broken.violations_of(Invariant::Liveness) > 0, "{:?}", broken.violations);
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
