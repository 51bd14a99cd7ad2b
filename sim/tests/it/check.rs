//! `tokenring_sim::check`, as a service author calls it from `cargo test`: a misconfigured
//! Kubernetes deployment gets a report naming the broken rule, a correct one logs nobody out.

use std::time::Duration;

use tokenring::Rotation;
use tokenring_sim::{check, Deployment};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Six replicas, a 90 s kubelet sync, a 30 s poll, ten-minute tokens refreshed at 75 %, a
/// rotation every six hours with the given propagation.
fn kubernetes(propagation_secs: u64) -> Deployment {
    Deployment::kubernetes()
        .replicas(6)
        .clients(60)
        .secret_sync(secs(90))
        .poll(secs(30))
        .token_ttl(secs(600))
        .refresh_at(0.75)
        .rotation(Rotation::new().propagation_secs(propagation_secs).overlap_secs(86_400))
        .every(secs(6 * 3600))
}

#[test]
fn a_propagation_shorter_than_sync_and_poll_is_named_with_the_people_it_logs_out() {
    let report = check(&kubernetes(60), 0..4);
    let text = report.to_string();
    assert!(report.people_logged_out() > 0, "{text}");
    assert!(text.contains("propagation 1m is shorter than the slowest reload, 1m30s sync + 30s poll"), "{text}");
    assert!(text.contains("people logged out, first at day 1 "), "{text}");
    assert!(text.contains("on replica"), "{text}");
    let replay = report.replay_command().expect("a replay command");
    assert!(
        replay.starts_with("cargo run --release -p tokenring-sim -- check --deployment kubernetes --replicas 6"),
        "{replay}"
    );
    assert!(replay.contains("--propagation 1m"), "{replay}");
    assert!(report.violations().is_empty(), "{text}");
}

#[test]
fn a_correct_deployment_logs_nobody_out_over_a_hundred_seeds() {
    let report = check(&kubernetes(300), 0..100);
    assert_eq!(report.people_logged_out(), 0, "{report}");
    assert!(report.violations().is_empty(), "{report}");
    assert!(report.replay_command().is_none());
    assert!(report.risks().is_empty(), "{report}");
    assert!(report.to_string().contains("passed: nobody logged out"), "{report}");
}

/// A broken rule that no client happened to fall into is not a pass: on etcd, a 1 s
/// propagation under a 1 s watch leaves a window of a few seconds after each activation, which
/// these few seeds' clients miss.
#[test]
fn a_broken_rule_that_logged_nobody_out_is_reported_at_risk_not_passed() {
    let deployment = Deployment::etcd()
        .watch_latency(secs(1))
        .rotation(Rotation::new().propagation_secs(1).overlap_secs(86_400))
        .every(secs(86_400));
    let report = check(&deployment, 0..4);
    let text = report.to_string();
    assert_eq!(report.people_logged_out(), 0, "the window is missed in these seeds: {text}");
    assert_eq!(report.risks().len(), 1, "{text}");
    assert!(report.risks()[0].starts_with("propagation 1s is shorter than the slowest reload, 1s watch"), "{text}");
    assert!(text.contains("AT RISK: propagation 1s"), "{text}");
    assert!(!text.contains("passed") && !report.passed(), "{text}");
    // Covering the slowest reload, the same deployment passes.
    let covered = deployment.rotation(Rotation::new().propagation_secs(300).overlap_secs(86_400));
    let report = check(&covered, 0..4);
    assert!(report.passed(), "{report}");
}
