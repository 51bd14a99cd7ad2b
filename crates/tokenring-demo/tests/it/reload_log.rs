//! What the reloader logs about a bad or exposed key file: each problem once, not once per
//! event or poll, and events of other files beside the key file (the demo's own log among them)
//! never trigger a reload.

use std::path::Path;
use std::time::Duration;

use tokenring::{Clock, FileStore, KeyRing, SystemClock};

use crate::support::{agent, assert_nothing_secret, eventually, healthz, secrets_in, Demo};

/// Replaces `path` atomically with `document`: a new file beside it, renamed onto it.
fn replace(path: &Path, document: &[u8]) {
    let new = path.with_file_name(".replace.new");
    std::fs::write(&new, document).unwrap();
    std::fs::rename(&new, path).unwrap();
}

fn failures(agent: &ureq::Agent, demo: &Demo) -> u64 {
    healthz(agent, demo)["last_reload"]["failures"].as_u64().unwrap()
}

/// The reviewer's case: `--keys keys.json 2>demo.err` in one directory, then a bad key file.
/// Each failure's ERROR line was an event in the watched directory, which triggered the next
/// failure: dozens a second.
#[test]
fn a_bad_key_file_beside_the_demos_own_log_fails_one_reload() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let agent = agent();
    // The demo's stderr is `<dir>/demo.stderr`, beside the key file. Polling once an hour: only
    // file events can trigger reloads.
    let mut demo =
        Demo::start(dir.path(), "demo", &["--keys".as_ref(), keys.as_os_str(), "--poll".as_ref(), "1h".as_ref()]);
    replace(&keys, b"{");
    assert!(eventually(200, Duration::from_millis(50), || failures(&agent, &demo) >= 1), "the bad file was read");
    // More writes beside the key file, a few debounce periods apart.
    for round in 0..10 {
        std::fs::write(dir.path().join(format!("other-{round}.txt")), b"x").unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    let repaired = KeyRing::generate(SystemClock.now_secs()).unwrap();
    replace(&keys, repaired.to_jwk_set().as_bytes());
    let reloaded = eventually(200, Duration::from_millis(50), || healthz(&agent, &demo)["generation"] == 2);
    assert!(reloaded, "the repaired file was loaded: {}", healthz(&agent, &demo));

    let health = healthz(&agent, &demo);
    assert_eq!(health["last_reload"]["failures"], 1, "one failed reload: {health}");
    assert_eq!(health["last_reload"]["result"], "changed");
    let output = demo.kill();
    let errors = output.lines_at("ERROR");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("reload failed") && errors[0].contains("reason=\"corrupt\""), "{errors:?}");
}

/// A bad key file that stays bad: the poll reads it again and again, and `/healthz` counts
/// every failure, but the log says it once; once more only after the file was good again.
#[test]
fn a_bad_key_file_that_stays_bad_is_logged_once() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let agent = agent();
    let args = ["--keys".as_ref(), keys.as_os_str(), "--poll".as_ref(), "100ms".as_ref(), "--no-watch".as_ref()];
    let mut demo = Demo::start(dir.path(), "demo", &args);
    let good = std::fs::read(&keys).unwrap();

    replace(&keys, b"{");
    assert!(eventually(400, Duration::from_millis(50), || failures(&agent, &demo) >= 5), "polls read the bad file");
    let health = healthz(&agent, &demo);
    assert_eq!(
        (&health["last_reload"]["result"], &health["last_reload"]["reason"]),
        (&"failed".into(), &"corrupt".into())
    );
    assert_eq!(health["generation"], 1, "the last good ring stays");

    // Good again, with the same keys: the ring is unchanged, and the log says the file is usable.
    replace(&keys, &good);
    let usable =
        eventually(200, Duration::from_millis(50), || healthz(&agent, &demo)["last_reload"]["result"] == "unchanged");
    assert!(usable, "{}", healthz(&agent, &demo));
    // Bad again: a failure after a success is reported again, once.
    replace(&keys, b"{\"keys\": 7}");
    let before = failures(&agent, &demo);
    let again = eventually(400, Duration::from_millis(50), || failures(&agent, &demo) >= before + 5);
    assert!(again, "polls read the bad file again");

    let output = demo.kill();
    let errors = output.lines_at("ERROR");
    assert_eq!(errors.len(), 2, "each episode once: {errors:?}");
    assert!(errors.iter().all(|line| line.contains("reload failed")), "{errors:?}");
    let usable_again: Vec<_> =
        output.lines_at("INFO").into_iter().filter(|line| line.contains("usable again")).collect();
    assert_eq!(usable_again.len(), 1, "{usable_again:?}");
}

/// A key file others may read: one WARN line at start, none per reload, and one more when the
/// problem appears again after it was fixed. The line names the problem, never a key.
#[cfg(unix)]
#[test]
fn a_key_file_readable_by_others_is_warned_about_once_per_appearance() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    FileStore::new(&keys).create(&KeyRing::generate(SystemClock.now_secs()).unwrap()).unwrap();
    let chmod = |mode: u32| std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(mode)).unwrap();
    chmod(0o644);
    let agent = agent();
    let args = ["--keys".as_ref(), keys.as_os_str(), "--poll".as_ref(), "100ms".as_ref(), "--no-watch".as_ref()];
    let mut demo = Demo::start(dir.path(), "demo", &args);
    let warnings = |demo: &Demo| demo.stderr_so_far().lines().filter(|line| line.contains(" WARN ")).count();
    let reloads = |demo: &Demo| healthz(&agent, demo)["last_reload"]["reloads"].as_u64().unwrap();

    assert!(eventually(200, Duration::from_millis(50), || warnings(&demo) == 1), "{}", demo.stderr_so_far());
    assert!(eventually(400, Duration::from_millis(50), || reloads(&demo) >= 5), "polls ran");
    assert_eq!(warnings(&demo), 1, "not once per reload: {}", demo.stderr_so_far());

    // Fixed, then seen fixed by a reload that started after the change; then exposed again.
    chmod(0o600);
    let after = reloads(&demo) + 2;
    assert!(eventually(400, Duration::from_millis(50), || reloads(&demo) >= after), "polls ran");
    assert_eq!(warnings(&demo), 1);
    chmod(0o640);
    assert!(eventually(200, Duration::from_millis(50), || warnings(&demo) == 2), "{}", demo.stderr_so_far());

    let output = demo.kill();
    let lines = output.lines_at("WARN");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("mode 0644") && lines[1].contains("mode 0640"), "{lines:?}");
    assert!(lines.iter().all(|line| line.contains("permissions")), "{lines:?}");
    assert_nothing_secret(&output.all(), &[], &secrets_in(&keys));
}
