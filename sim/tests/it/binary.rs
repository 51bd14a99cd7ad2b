//! The `tokenring-sim` binary: exit statuses, the violation report, JSON.

use std::process::Command;

fn sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tokenring-sim")).args(args).output().expect("the binary runs")
}

#[cfg(feature = "canaries")]
#[test]
fn a_violation_exits_3_with_the_seed_the_invariant_and_the_reproduction() {
    let output = sim(&["--policy", "persisted", "--clients", "50", "--duration", "6h", "--canary", "exp-not-checked"]);
    assert_eq!(output.status.code(), Some(3));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("VIOLATED"), "{stdout}");
    assert!(stdout.contains("in seed 1 policy persisted"), "{stdout}");
    assert!(stdout.contains("last "), "{stdout}");
    assert!(
        stdout.contains("reproduce: cargo run --release -p tokenring-sim --features canaries -- --seed 1 --policy persisted --nodes 3 --clients 50 --duration 6h --lb random --canary exp-not-checked"),
        "{stdout}"
    );
}

#[test]
fn a_clean_run_exits_0_and_usage_errors_exit_2() {
    let clean = sim(&["--policy", "rotating", "--clients", "50", "--duration", "12h", "--check-determinism"]);
    assert_eq!(clean.status.code(), Some(0), "{}", String::from_utf8_lossy(&clean.stdout));
    let stdout = String::from_utf8(clean.stdout).unwrap();
    assert!(stdout.contains("determinism check: passed"), "{stdout}");
    assert!(stdout.contains("trace hash: "), "{stdout}");
    assert_eq!(sim(&["--nodes", "0"]).status.code(), Some(2));
    assert_eq!(sim(&["--duration", "3w"]).status.code(), Some(2));
    assert_eq!(sim(&["--seeds", "5..5"]).status.code(), Some(2));
    assert_eq!(sim(&["--swarm", "--nodes", "2"]).status.code(), Some(2));
    // `check`'s usage names the subcommand, so that what it prints can be typed again.
    let refused = sim(&["check", "--replicas-typo", "3"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(stderr.contains("Usage: tokenring-sim check "), "{stderr}");
}

#[test]
fn json_output_is_machine_readable() {
    let output = sim(&["--seeds", "0..3", "--policy", "ephemeral", "--swarm-budget", "500", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let runs = document["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[1]["report"]["config"]["seed"], 1);
    assert_eq!(runs[1]["report"]["config"]["policy"], "ephemeral");
    assert_eq!(document["violations"], 0);
    assert_eq!(document["trace_hash"].as_str().unwrap().len(), 64);
}

#[test]
fn merged_shards_give_the_sweep_of_the_whole_range() {
    let dir = std::env::temp_dir().join(format!("tokenring-sim-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shard = |range: &str, name: &str, extra: &[&str]| {
        let mut args = vec!["--seeds", range, "--policy", "persisted", "--swarm-budget", "500", "--json"];
        args.extend_from_slice(extra);
        let output = sim(&args);
        let path = dir.join(name);
        std::fs::write(&path, &output.stdout).unwrap();
        path
    };
    let first = shard("0..3", "a.json", &[]);
    let second = shard("3..6", "b.json", &[]);
    let whole = sim(&["--seeds", "0..6", "--policy", "persisted", "--swarm-budget", "500"]);
    let merged = sim(&["--merge", first.to_str().unwrap(), second.to_str().unwrap()]);
    assert_eq!(merged.status.code(), Some(0));
    let hash_line = |stdout: &[u8]| {
        String::from_utf8_lossy(stdout).lines().find(|line| line.starts_with("trace hash: ")).map(str::to_owned)
    };
    assert!(hash_line(&whole.stdout).is_some());
    assert_eq!(hash_line(&merged.stdout), hash_line(&whole.stdout));
    let merged_text = String::from_utf8(merged.stdout).unwrap();
    assert!(merged_text.contains("persisted                     6"), "{merged_text}");
    #[cfg(feature = "canaries")]
    {
        let broken = shard("0..2", "c.json", &["--canary", "exp-not-checked"]);
        let failing = sim(&["--merge", first.to_str().unwrap(), broken.to_str().unwrap()]);
        assert_eq!(failing.status.code(), Some(3));
    }
    assert_eq!(sim(&["--merge", dir.join("missing.json").to_str().unwrap()]).status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
