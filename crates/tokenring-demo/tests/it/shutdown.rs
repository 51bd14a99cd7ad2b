//! The demo stops on SIGTERM whatever sits at the key path (issue 23): a FIFO renamed over the
//! key file between the store's look at it and its open once stopped the reloader in the
//! FIFO's open, and the runtime then waited for it forever.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{agent, healthz, Demo};

/// SIGTERM must end the process within five seconds: 100 checks, 50 ms apart.
const EXIT_CHECKS: u32 = 100;
/// How long the swapping goes on, at most, and how many swaps.
const SWAPPING: Duration = Duration::from_secs(3);
const SWAPS_MAX: u32 = 20_000;

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

#[cfg(unix)]
#[test]
fn sigterm_ends_the_demo_after_fifos_were_swapped_over_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let args = ["--keys", keys.to_str().unwrap(), "--poll", "100ms"];
    let mut demo = Demo::start(dir.path(), "fifo", &args);
    let agent = agent();
    let good = std::fs::read(&keys).unwrap();
    let reloads = |demo: &Demo| healthz(&agent, demo)["last_reload"]["reloads"].as_u64().unwrap_or(0);
    let before = reloads(&demo);

    // Many FIFOs, renamed over the key file in turn with the good file: `mkfifo` once per
    // batch keeps the loop fast.
    let fifos: Vec<_> = (0..64).map(|n| dir.path().join(format!("f{n}.tmp"))).collect();
    let (file, started) = (dir.path().join("g.tmp"), Instant::now());
    let mut swaps = 0;
    'swapping: while started.elapsed() < SWAPPING {
        let status = Command::new("mkfifo").args(&fifos).status().unwrap();
        assert!(status.success());
        for fifo in &fifos {
            std::fs::rename(fifo, &keys).unwrap();
            std::fs::write(&file, &good).unwrap();
            std::fs::rename(&file, &keys).unwrap();
            swaps += 1;
            if swaps >= SWAPS_MAX {
                break 'swapping;
            }
        }
    }
    // Left with a FIFO at the key path, the demo keeps serving the last good ring and keeps
    // reloading (each reload refuses the FIFO).
    mkfifo(&fifos[0]);
    std::fs::rename(&fifos[0], &keys).unwrap();
    let during = reloads(&demo);
    let health = healthz(&agent, &demo);
    assert!(health["active_kid"].is_string(), "{health}");

    let status = demo.terminate(EXIT_CHECKS);
    let stderr = demo.kill().stderr;
    assert!(status.is_some(), "still running after SIGTERM ({swaps} swaps, reloads {before}..{during}): {stderr}");
    assert!(during > before, "the reloads went on: {before}..{during}");
}
