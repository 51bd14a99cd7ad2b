use std::time::Duration;

use tokenring::{Clock, FileStore, KeyRing, Rotation, SharedRing, SystemClock};
use tokenring_axum::{Auth, ReloadError, ReloadOptions, ReloadOutcome, Reloader};

/// Waits, a bounded number of times, for `check` to hold.
async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

async fn reloads_a_rotation_and_keeps_the_last_good_ring(options: ReloadOptions) {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("keys.json"));
    let now = SystemClock.now_secs();
    let (ring, _) = SharedRing::open_or_create(store.clone(), now).unwrap();
    let auth = Auth::new(ring);
    let reloader = Reloader::spawn(&auth, options).unwrap();
    assert_eq!(reloader.status().last, ReloadOutcome::Pending);

    let kid = store.update(|ring| Ok(ring.rotate(now, &Rotation::new().propagation_secs(0))?)).unwrap();
    assert!(eventually(|| auth.ring().generation() == 2).await, "the rotation was loaded");
    assert_eq!(auth.ring().ring().active_kid(now), Some(kid));
    assert!(eventually(|| reloader.status().last != ReloadOutcome::Pending).await);

    std::fs::write(store.path(), b"{\"keys\":[").unwrap();
    let failed = eventually(|| matches!(reloader.status().last, ReloadOutcome::Failed { reason: "corrupt" })).await;
    assert!(failed, "{:?}", reloader.status());
    assert_eq!(auth.ring().generation(), 2, "the last good ring stays");
    assert_eq!(auth.ring().ring().active_kid(now), Some(kid));
    assert!(reloader.status().failures >= 1);

    // Repaired: the next reload takes the file again.
    let repaired = KeyRing::generate(now).unwrap();
    store.save(&repaired).unwrap();
    assert!(eventually(|| auth.ring().generation() == 3).await);
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
    assert_eq!(ReloadOptions::new().poll(Duration::ZERO).poll_interval(), tokenring_axum::POLL_MIN);
    assert_eq!(ReloadOptions::new().poll(Duration::MAX).poll_interval(), tokenring_axum::POLL_MAX);
}
