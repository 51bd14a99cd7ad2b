//! The reloader on a ring kept in a real etcd (the `etcd` feature): woken by the key's watch,
//! not by its poll; the last good ring through a corrupt value and through an outage.

use std::time::Duration;

use axum::http::HeaderMap;
use tokenring::{Clock, KeyRing, RingStore, Rotation, SharedRing, Swapped, SystemClock};
use tokenring_axum::{Auth, ReloadOptions, ReloadOutcome, Reloader};
use tokenring_etcd::{Credentials, EtcdStore, EtcdWatch};
use tokenring_testkit::etcd::EtcdServer;

use crate::Captured;

const KEY: &str = "/app/keys";

/// A poll far longer than any test's bound: a reload seen within the bound was not the poll's.
const POLL_NEVER: Duration = tokenring_axum::POLL_MAX;

/// Most checks of a reload through etcd before the test gives up (25 ms apart: 10 s, room for
/// etcd's restart).
const TRIES: u32 = 400;

/// Starts etcd, creates the key set under [`KEY`], and opens a ring on it.
async fn start() -> (EtcdServer, SharedRing) {
    tokio::task::spawn_blocking(|| {
        let server = EtcdServer::start();
        let store = EtcdStore::connect(&server.endpoint(), KEY, Credentials::none()).unwrap();
        let (ring, _) = SharedRing::open_or_create(store, SystemClock.now_secs()).unwrap();
        (server, ring)
    })
    .await
    .unwrap()
}

async fn reloader(endpoint: &str, auth: &Auth) -> Reloader {
    let watch = EtcdWatch::connect(endpoint, KEY, Credentials::none()).await.unwrap();
    Reloader::spawn_with(auth, ReloadOptions::new().poll(POLL_NEVER), watch).unwrap()
}

/// Rotates the key set through a store of its own (another host), returning the new kid.
async fn rotate_elsewhere(endpoint: String) -> tokenring::Kid {
    tokio::task::spawn_blocking(move || {
        let ring = SharedRing::open(EtcdStore::connect(&endpoint, KEY, Credentials::none()).unwrap()).unwrap();
        ring.update(|ring| Ok(ring.rotate(&Rotation::new().propagation_secs(0), SystemClock.now_secs())?)).unwrap()
    })
    .await
    .unwrap()
}

/// Replaces the value under [`KEY`] by `bytes`, whatever they are.
async fn overwrite(endpoint: String, bytes: String) {
    tokio::task::spawn_blocking(move || {
        let store = EtcdStore::connect(&endpoint, KEY, Credentials::none()).unwrap();
        let current = store.load_document().unwrap().unwrap();
        assert!(matches!(store.swap_document(&current.version, &bytes).unwrap(), Swapped::Swapped(_)));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_from_another_host_is_reloaded_by_the_watch_not_the_poll() {
    let (server, ring) = start().await;
    let auth = Auth::new(ring);
    let reloader = reloader(&server.endpoint(), &auth).await;
    let kid = rotate_elsewhere(server.endpoint()).await;
    let now = SystemClock.now_secs();
    // The reloader swaps the ring in, then records its status: wait for both.
    let reloaded = || {
        auth.ring().ring().active_kid(now) == Some(kid)
            && matches!(reloader.status().last, ReloadOutcome::Changed { .. })
    };
    assert!(crate::eventually(TRIES, reloaded).await, "{:?}", reloader.status());
}

const FAILED: &str = "key set reload failed; keeping the last good key ring";
const RECOVERED: &str = "key set usable again";

#[tokio::test]
async fn a_garbage_value_keeps_the_last_good_ring_and_is_reported_once() {
    let captured = Captured::default();
    let _guard = captured.install();
    let (server, ring) = start().await;
    let auth = Auth::new(ring);
    let reloader = reloader(&server.endpoint(), &auth).await;
    let now = SystemClock.now_secs();
    let kid = auth.ring().ring().active_kid(now);

    overwrite(server.endpoint(), String::from("{\"keys\":[")).await;
    let failed =
        crate::eventually(TRIES, || matches!(reloader.status().last, ReloadOutcome::Failed { reason: "corrupt" }))
            .await;
    assert!(failed, "{:?}", reloader.status());
    assert_eq!(auth.ring().ring().active_kid(now), kid, "the last good ring stays");
    // Written again, still garbage (another revision, the same failure): not reported again.
    let failures = reloader.status().failures;
    overwrite(server.endpoint(), String::from("{\"keys\":[")).await;
    assert!(crate::eventually(TRIES, || reloader.status().failures > failures).await, "{:?}", reloader.status());
    assert_eq!(captured.count(FAILED), 1, "{}", captured.text());
    assert!(
        captured.text().contains(&format!("etcd://{}{KEY}", server.endpoint())),
        "names the store: {}",
        captured.text()
    );

    // Repaired: the watch brings the new ring in.
    let repaired = KeyRing::generate(now).unwrap();
    overwrite(server.endpoint(), repaired.to_jwk_set().to_string()).await;
    assert!(
        crate::eventually(TRIES, || auth.ring().ring().active_kid(now) == repaired.active_kid(now)).await,
        "{:?}",
        reloader.status()
    );
}

/// Verifies `token` as a request would.
fn verifies(auth: &Auth, token: &str) -> bool {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    auth.authenticate::<serde_json::Value>(&headers, "/").is_ok()
}

#[tokio::test]
async fn an_outage_is_reported_once_the_ring_keeps_serving_and_the_watch_resumes() {
    let captured = Captured::default();
    let _guard = captured.install();
    let (mut server, ring) = start().await;
    let auth = Auth::new(ring);
    let reloader = reloader(&server.endpoint(), &auth).await;
    let token = auth.issue(&serde_json::json!({ "sub": "alice" }), 3600).unwrap();
    assert!(verifies(&auth, &token));

    // `kill -9`, verifying all along: the reloader's task runs on this thread between checks.
    let outage = tokio::task::spawn_blocking(move || {
        server.kill();
        server
    });
    let mut verified = 0;
    let mut refused = 0;
    let mut check = || {
        if verifies(&auth, &token) {
            verified += 1
        } else {
            refused += 1
        }
        matches!(reloader.status().last, ReloadOutcome::Failed { reason: "unavailable" })
    };
    let reported = crate::eventually(TRIES, &mut check).await;
    assert!(reported, "{:?}\n{}", reloader.status(), captured.text());
    let mut server = outage.await.unwrap();
    // A few more lost watches and failed reloads: still one report.
    let failures = reloader.status().failures;
    assert!(
        crate::eventually(TRIES, || {
            check();
            reloader.status().failures >= failures + 2
        })
        .await,
        "{:?}",
        reloader.status()
    );

    let back = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    });
    let recovered = crate::eventually(TRIES, || {
        check();
        back.is_finished() && reloader.status().last == ReloadOutcome::Unchanged
    })
    .await;
    assert!(recovered, "{:?}\n{}", reloader.status(), captured.text());
    let server = back.await.unwrap();
    assert_eq!(captured.count(FAILED), 1, "{}", captured.text());
    assert_eq!(captured.count(RECOVERED), 1, "{}", captured.text());
    assert_eq!(refused, 0, "a valid token was refused during the outage ({verified} verified)");
    assert!(verified > 0);

    // The watch resumed: a rotation elsewhere is reloaded without the poll.
    let kid = rotate_elsewhere(server.endpoint()).await;
    let now = SystemClock.now_secs();
    assert!(
        crate::eventually(TRIES, || auth.ring().ring().active_kid(now) == Some(kid)).await,
        "{:?}",
        reloader.status()
    );
}
