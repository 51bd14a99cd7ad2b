//! `EtcdWatch` against a real `etcd`: a write by another store wakes it, and a stopped etcd is
//! reported as a lost watch instead of a wait without end, and the watch resumes when etcd is
//! back. Every wait is bounded.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tokenring::{KeyRing, RingStore};
use tokenring_etcd::{Credentials, EtcdStore, EtcdWatch, WatchEvent};
use tokenring_testkit::etcd::EtcdServer;

const NOW: u64 = 1_700_000_000;

/// The bound on each wait: far above what a watch takes, only so that a failing test ends.
const WAIT_MAX: Duration = Duration::from_secs(20);

/// Creates a key set under `key` from a blocking thread (the store blocks on its own runtime).
async fn create(endpoint: String, key: &'static str) {
    tokio::task::spawn_blocking(move || {
        let store = EtcdStore::connect(&endpoint, key, Credentials::none()).unwrap();
        store.create_document(&KeyRing::generate(NOW).unwrap().to_jwk_set()).unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_write_wakes_the_watch_a_killed_etcd_is_reported_lost_and_the_watch_resumes() {
    let server = EtcdServer::start();
    let endpoint = server.endpoint();
    let mut watch = EtcdWatch::connect(&endpoint, "/app/keys", Credentials::none()).await.unwrap();
    assert_eq!(format!("{watch:?}"), format!("EtcdWatch(etcd://{endpoint}/app/keys)"));

    // A write after `connect`, before the first `changed`, is reported.
    create(endpoint.clone(), "/app/keys").await;
    let event = tokio::time::timeout(WAIT_MAX, watch.changed()).await.expect("the watch woke");
    assert_eq!(event, WatchEvent::Changed);

    let mut server = server;
    server.kill();
    let event = tokio::time::timeout(WAIT_MAX, watch.changed()).await.expect("the loss was reported");
    assert!(matches!(event, WatchEvent::Lost(_)), "{event:?}");

    // etcd comes back and the key is written again: the watch resumes and reports it. Until
    // etcd answers, each call may report the loss again (after WATCH_RETRY).
    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    overwrite(endpoint.clone(), "/app/keys").await;
    let mut events = Vec::new();
    for _ in 0..RESUME_CALLS_MAX {
        let event = tokio::time::timeout(WAIT_MAX, watch.changed()).await.expect("the watch answered");
        events.push(event);
        if event == WatchEvent::Changed {
            break;
        }
    }
    assert_eq!(events.last(), Some(&WatchEvent::Changed), "{events:?}");
    // The watch said it runs again before the change came.
    assert!(events.contains(&WatchEvent::Resumed), "{events:?}");
    drop(server);
}

/// Most calls to `changed` after etcd's restart before the change must have been reported.
const RESUME_CALLS_MAX: usize = 10;

/// Replaces the key set under `key` unconditionally, from a blocking thread.
async fn overwrite(endpoint: String, key: &'static str) {
    tokio::task::spawn_blocking(move || {
        let store = EtcdStore::connect(&endpoint, key, Credentials::none()).unwrap();
        let current = store.load_document().unwrap().unwrap();
        let document = KeyRing::generate(NOW).unwrap().to_jwk_set();
        assert!(matches!(store.swap_document(&current.version, &document).unwrap(), tokenring::Swapped::Swapped(_)));
    })
    .await
    .unwrap();
}
