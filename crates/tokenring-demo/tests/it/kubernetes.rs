//! Test 5 of issue 13: a Kubernetes Secret volume. The kubelet writes each version of the
//! secret into a fresh `..<timestamp>` directory and swaps the `..data` symlink to it with one
//! rename; `keys.json` is a symlink to `..data/keys.json`. The key file's path never changes,
//! and the file itself is never written.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use tokenring::{Clock, KeyRing, Rotation, SystemClock};

use crate::support::{agent, eventually, healthz, kid_of, login, me, Demo};

/// Publishes `document` as the volume's new version, the way the kubelet does.
fn publish(volume: &Path, version: &str, document: &[u8]) {
    let directory = volume.join(version);
    std::fs::create_dir(&directory).unwrap();
    std::fs::write(directory.join("keys.json"), document).unwrap();
    symlink(version, volume.join("..data_tmp")).unwrap();
    std::fs::rename(volume.join("..data_tmp"), volume.join("..data")).unwrap();
}

#[test]
fn a_data_symlink_swap_is_picked_up_and_a_garbage_swap_keeps_the_last_good_ring() {
    let dir = tempfile::tempdir().unwrap();
    let volume = dir.path().join("secret");
    std::fs::create_dir(&volume).unwrap();
    let now = SystemClock.now_secs();
    let mut ring = KeyRing::generate(now).unwrap();
    publish(&volume, "..2026_11_29_00_00_01.000000001", ring.to_jwk_set().as_bytes());
    symlink("..data/keys.json", volume.join("keys.json")).unwrap();

    let agent = agent();
    // Polling once an hour: only the file events of the swap can bring the change in time.
    let keys = volume.join("keys.json");
    let demo =
        Demo::start(dir.path(), "demo", &["--keys".as_ref(), keys.as_os_str(), "--poll".as_ref(), "1h".as_ref()]);
    let old = login(&agent, &demo, "ada");
    assert_eq!(healthz(&agent, &demo)["generation"], 1);

    // A rotation that activates at once, published as a new version of the secret.
    let new_kid = ring.rotate(&Rotation::new().propagation_secs(0).overlap_secs(3600), now).unwrap().to_string();
    publish(&volume, "..2026_11_29_00_00_02.000000002", ring.to_jwk_set().as_bytes());
    let reloaded = eventually(200, Duration::from_millis(50), || healthz(&agent, &demo)["generation"] == 2);
    assert!(reloaded, "the swap was picked up: {}", healthz(&agent, &demo));
    let health = healthz(&agent, &demo);
    assert_eq!(health["active_kid"], new_kid.as_str());
    assert_eq!(health["last_reload"]["result"], "changed");
    assert_eq!(kid_of(&login(&agent, &demo, "bob")), new_kid);
    assert_eq!(me(&agent, &demo, &old).status, 200, "the old key still verifies in its overlap");

    // Now a broken secret: the service keeps the last good ring and says so.
    publish(&volume, "..2026_11_29_00_00_03.000000003", b"{\"keys\": [ not json");
    let failed =
        eventually(200, Duration::from_millis(50), || healthz(&agent, &demo)["last_reload"]["result"] == "failed");
    assert!(failed, "the failed reload is reported: {}", healthz(&agent, &demo));
    let health = healthz(&agent, &demo);
    assert_eq!(health["last_reload"]["reason"], "corrupt");
    assert_eq!(health["generation"], 2, "the last good ring stays");
    assert_eq!(health["active_kid"], new_kid.as_str());
    let fresh = login(&agent, &demo, "carol");
    assert_eq!(kid_of(&fresh), new_kid);
    for token in [&old, &fresh] {
        assert_eq!(me(&agent, &demo, token).status, 200, "still serving with the last good ring");
    }

    let mut demo = demo;
    let output = demo.kill();
    let errors = output.lines_at("ERROR");
    assert!(!errors.is_empty(), "the failed reload is an error event");
    assert!(errors.iter().all(|line| line.contains("reload failed")), "{errors:?}");
    assert!(output.lines_at("INFO").iter().any(|line| line.contains("key ring reloaded") && line.contains(&new_kid)));
}
