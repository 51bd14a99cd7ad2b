//! The canaries: deliberately broken components that the oracle must catch. A checker that
//! cannot fail proves nothing.

use tokenring_sim::{run, Canary, Config, Invariant, LoadBalancing, Policy};

use crate::{calm, DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};

fn with_attacker(policy: Policy) -> Config {
    let mut config = calm(21, policy);
    config.clients = 100;
    config.duration_ms = 12 * HOUR_MS;
    config.attack_interval_mean_ms = Some(10 * SECOND_MS);
    config
}

#[test]
fn a_verifier_that_skips_the_mac_is_caught_by_invariant_1() {
    let honest = run(&with_attacker(Policy::Persisted)).unwrap();
    assert_eq!(honest.violation_count(), 0);
    let mut config = with_attacker(Policy::Persisted);
    config.canary = Some(Canary::BrokenVerifier);
    let broken = run(&config).unwrap();
    assert!(broken.violations_of(Invariant::AttackerTokenAccepted) > 0, "{:?}", broken.violations);
    assert!(broken.counters.attacks_accepted > 0);
    assert!(broken.first_violation.is_some());
}

#[test]
fn a_log_line_with_the_token_is_caught_by_invariant_4() {
    let mut config = with_attacker(Policy::Ephemeral);
    config.canary = Some(Canary::LeakyLog);
    let report = run(&config).unwrap();
    assert!(report.violations_of(Invariant::SecretInLog) > 0, "{:?}", report.violations);
    let violation = report.first_violation.unwrap();
    assert_eq!(violation.invariant, Invariant::SecretInLog);
    assert!(!violation.recent_events.is_empty());
}

#[test]
fn signing_with_a_key_before_every_node_knows_it_is_caught_by_invariant_2() {
    let mut config = calm(22, Policy::Rotating);
    config.load_balancing = LoadBalancing::Random;
    config.clients = 400;
    config.duration_ms = DAY_MS;
    config.request_interval_mean_ms = 10 * SECOND_MS;
    config.session_active_mean_ms = 4 * HOUR_MS;
    config.rotation_interval_ms = 2 * HOUR_MS;
    config.reload_interval_ms = 2 * MINUTE_MS;
    let careful = run(&config).unwrap();
    assert_eq!(careful.violation_count(), 0);
    assert!(careful.counters.rotations >= 10);
    config.canary = Some(Canary::EagerActivation);
    let eager = run(&config).unwrap();
    assert!(eager.violations_of(Invariant::SpuriousRejection) > 0, "{:?}", eager.violations);
    assert!(eager.counters.honest_rejections.get("unknown-key").copied().unwrap_or(0) > 0);
}
