use std::path::Path;
use std::time::Duration;

use tokenring::{Clock, FileStore, KeyRing, Rotation, SharedRing, SystemClock};
use tokenring_axum::{Auth, ReloadError, ReloadOptions, ReloadOutcome, Reloader};
use tokenring_testkit::storage::MemoryStorage;

/// Most checks of a reload on a key file before the test gives up (25 ms apart: 5 s).
const TRIES: u32 = 200;

async fn reloads_a_rotation_and_keeps_the_last_good_ring(options: ReloadOptions) {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("keys.json"));
    let now = SystemClock.now_secs();
    let (ring, _) = SharedRing::open_or_create(store.clone(), now).unwrap();
    let auth = Auth::new(ring);
    let reloader = Reloader::spawn(&auth, options).unwrap();
    assert_eq!(reloader.status().last, ReloadOutcome::Pending);

    let kid = store.update(|ring| Ok(ring.rotate(&Rotation::new().propagation_secs(0), now)?)).unwrap();
    assert!(crate::eventually(TRIES, || auth.ring().generation() == 2).await, "the rotation was loaded");
    assert_eq!(auth.ring().ring().active_kid(now), Some(kid));
    assert!(crate::eventually(TRIES, || reloader.status().last != ReloadOutcome::Pending).await);

    std::fs::write(store.path(), b"{\"keys\":[").unwrap();
    let failed =
        crate::eventually(TRIES, || matches!(reloader.status().last, ReloadOutcome::Failed { reason: "corrupt" }))
            .await;
    assert!(failed, "{:?}", reloader.status());
    assert_eq!(auth.ring().generation(), 2, "the last good ring stays");
    assert_eq!(auth.ring().ring().active_kid(now), Some(kid));
    assert!(reloader.status().failures >= 1);

    // Repaired: the next reload takes the file again.
    let repaired = KeyRing::generate(now).unwrap();
    store.save(&repaired).unwrap();
    assert!(crate::eventually(TRIES, || auth.ring().generation() == 3).await);
    assert_eq!(auth.ring().ring().active_kid(now), repaired.active_kid(now));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_events_alone_bring_changes_in() {
    // A poll of one day: only the directory's events can trigger the reloads.
    reloads_a_rotation_and_keeps_the_last_good_ring(ReloadOptions::new().poll(Duration::from_secs(86_400))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_alone_brings_changes_in() {
    reloads_a_rotation_and_keeps_the_last_good_ring(ReloadOptions::new().watch(false).poll(Duration::from_millis(100)))
        .await;
}

#[test]
fn the_reloader_needs_a_runtime() {
    let auth = Auth::new(SharedRing::new(KeyRing::generate(1_700_000_000).unwrap()));
    assert!(matches!(Reloader::spawn(&auth, ReloadOptions::new()), Err(ReloadError::NoRuntime)));
}

#[test]
fn options_are_clamped() {
    let clamped = |poll: Duration| format!("{:?}", ReloadOptions::new().poll(poll));
    assert!(
        clamped(Duration::ZERO).contains(&format!("poll: {:?}", tokenring_axum::POLL_MIN)),
        "{}",
        clamped(Duration::ZERO)
    );
    assert!(
        clamped(Duration::MAX).contains(&format!("poll: {:?}", tokenring_axum::POLL_MAX)),
        "{}",
        clamped(Duration::MAX)
    );
}

/// Events only: a poll of one day, and the shortest debounce, so that writes a few
/// milliseconds apart are separate batches.
fn events_only() -> ReloadOptions {
    ReloadOptions::new().poll(Duration::from_secs(86_400)).debounce(Duration::from_millis(10))
}

/// Replaces `path` atomically with `document`, the way an editor or `FileStore` does: a new
/// file beside it, renamed onto it.
fn replace(path: &Path, document: &[u8]) {
    let new = path.with_file_name(".replace.new");
    std::fs::write(&new, document).unwrap();
    std::fs::rename(&new, path).unwrap();
}

/// Writes another file of `dir` `rounds` times, a few debounce periods apart: what a log file
/// beside the key file looks like to a watcher.
async fn write_beside(dir: &Path, rounds: u32) {
    let log = dir.join("app.log");
    for round in 0..rounds {
        let mut text = std::fs::read_to_string(&log).unwrap_or_default();
        text.push_str(&format!("line {round}\n"));
        std::fs::write(&log, text).unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// A bad key file, then many writes to another file of its directory, then a good key file:
/// only the two changes of the key file are reloads. Before, every write beside the key file
/// was a failed reload, and a failure's log line written there was the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_events_of_the_key_file_wake_the_reloader() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("keys.json"));
    let now = SystemClock.now_secs();
    let (ring, _) = SharedRing::open_or_create(store.clone(), now).unwrap();
    let auth = Auth::new(ring);
    let reloader = Reloader::spawn(&auth, events_only()).unwrap();

    replace(store.path(), b"{\"keys\":[");
    assert!(crate::eventually(TRIES, || reloader.status().failures >= 1).await, "{:?}", reloader.status());
    write_beside(dir.path(), 20).await;
    let repaired = KeyRing::generate(now).unwrap();
    replace(store.path(), repaired.to_jwk_set().as_bytes());
    assert!(crate::eventually(TRIES, || auth.ring().generation() == 2).await, "the atomic replace was loaded");

    let status = reloader.status();
    assert_eq!(status.failures, 1, "only the bad key file failed: {status:?}");
    assert_eq!(status.last, ReloadOutcome::Changed { generation: 2 });
    assert_eq!(auth.ring().ring().active_kid(now), repaired.active_kid(now));
}

/// Publishes `document` the way the kubelet does: a fresh directory `version`, and the link
/// `name` swapped to it with one rename.
#[cfg(unix)]
fn publish(volume: &Path, name: &str, version: &str, document: &[u8]) {
    let directory = volume.join(version);
    std::fs::create_dir(&directory).unwrap();
    std::fs::write(directory.join("keys.json"), document).unwrap();
    let staged = volume.join(format!("{name}_tmp"));
    std::os::unix::fs::symlink(version, &staged).unwrap();
    std::fs::rename(&staged, volume.join(name)).unwrap();
}

/// A Kubernetes volume (`keys.json -> ..data/keys.json`, `..data -> ..<version>`): the swap of
/// `..data` wakes the reloader, writes to other entries of the volume do not.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_link_swap_wakes_the_reloader_and_other_entries_do_not() {
    swap_of_a_link_in_the_chain("..data").await;
}

/// The same with a link of another name in the key file's chain (`keys.json -> current/keys.json`).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_of_any_link_in_the_key_files_chain_wakes_the_reloader() {
    swap_of_a_link_in_the_chain("current").await;
}

#[cfg(unix)]
async fn swap_of_a_link_in_the_chain(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let volume = dir.path();
    let now = SystemClock.now_secs();
    publish(volume, name, "..v1", KeyRing::generate(now).unwrap().to_jwk_set().as_bytes());
    std::os::unix::fs::symlink(format!("{name}/keys.json"), volume.join("keys.json")).unwrap();
    let auth = Auth::new(SharedRing::open(FileStore::new(volume.join("keys.json"))).unwrap());
    let reloader = Reloader::spawn(&auth, events_only()).unwrap();

    publish(volume, name, "..v2", b"{\"keys\": [ not json");
    assert!(crate::eventually(TRIES, || reloader.status().failures >= 1).await, "{:?}", reloader.status());
    write_beside(volume, 20).await;
    let repaired = KeyRing::generate(now).unwrap();
    publish(volume, name, "..v3", repaired.to_jwk_set().as_bytes());
    assert!(
        crate::eventually(TRIES, || auth.ring().generation() == 2).await,
        "the swap was loaded: {:?}",
        reloader.status()
    );

    let status = reloader.status();
    assert_eq!(status.failures, 1, "only the bad version failed: {status:?}");
    assert_eq!(auth.ring().ring().active_kid(now), repaired.active_kid(now));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_replaced_by_a_directory_fails_as_not_a_file_and_keeps_the_ring() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("keys.json"));
    let now = SystemClock.now_secs();
    let (ring, _) = SharedRing::open_or_create(store.clone(), now).unwrap();
    let auth = Auth::new(ring);
    let kid = auth.ring().ring().active_kid(now);
    let reloader = Reloader::spawn(&auth, ReloadOptions::new().watch(false).poll(Duration::from_millis(50))).unwrap();
    std::fs::remove_file(store.path()).unwrap();
    std::fs::create_dir(store.path()).unwrap();
    let failed =
        crate::eventually(TRIES, || matches!(reloader.status().last, ReloadOutcome::Failed { reason: "not-a-file" }))
            .await;
    assert!(failed, "{:?}", reloader.status());
    assert_eq!(auth.ring().ring().active_kid(now), kid, "the last good ring stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_hangs_is_reported_stuck_and_the_last_good_ring_keeps_serving() {
    let now = SystemClock.now_secs();
    let good = KeyRing::generate(now).unwrap();
    // A key file whose reads hang while the test says so, as on a hung network file system.
    let storage = std::sync::Arc::new(MemoryStorage::new());
    storage.put("/mnt/hung-nfs/keys.json", good.to_jwk_set().as_bytes());
    let store = FileStore::with_storage("/mnt/hung-nfs/keys.json", storage.clone());
    let auth = Auth::new(SharedRing::open(store).unwrap());
    let token = good.issue(&serde_json::json!({"sub": "ada"}), 3600, now).unwrap();
    let options =
        ReloadOptions::new().watch(false).poll(Duration::from_millis(100)).read_deadline(Duration::from_millis(100));
    let reloader = Reloader::spawn(&auth, options).unwrap();

    storage.hang_reads(true);
    let stuck = || matches!(reloader.status().last, ReloadOutcome::Failed { reason: "reload-stuck" });
    assert!(crate::eventually(TRIES, stuck).await, "{:?}", reloader.status());
    // Still stuck at the next polls, with one read in progress, not one per poll.
    let failures = reloader.status().failures;
    assert!(crate::eventually(TRIES, || reloader.status().failures >= failures + 2).await, "{:?}", reloader.status());
    assert!(stuck(), "{:?}", reloader.status());
    assert_eq!(storage.reads_at_once_max(), 1, "one read at a time");
    let validation = tokenring::Validation::new();
    assert!(auth.ring().ring().verify::<serde_json::Value>(&token, &validation, now).is_ok());

    // The file system comes back: the reloads do too.
    storage.hang_reads(false);
    assert!(
        crate::eventually(TRIES, || reloader.status().last == ReloadOutcome::Unchanged).await,
        "{:?}",
        reloader.status()
    );
}
