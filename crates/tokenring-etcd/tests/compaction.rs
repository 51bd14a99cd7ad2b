//! `EtcdWatch` when the revision it is to resume from is gone from etcd's history (compacted):
//! it reports the watch lost, so that the caller reloads, then watches from now and reports
//! every later change. Every wait is bounded.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use etcd_client::Client;
use tokenring::{KeyRing, RingStore, Swapped};
use tokenring_etcd::{Credentials, EtcdStore, EtcdWatch, WatchEvent};
use tokenring_testkit::etcd::EtcdServer;

const NOW: u64 = 1_700_000_000;

/// The bound on each wait: far above what a watch takes, only so that a failing test ends.
const WAIT_MAX: Duration = Duration::from_secs(20);

const KEY: &str = "/app/keys";

/// Writes a fresh key set under [`KEY`] (created or replaced), from a blocking thread (the store
/// blocks on its own runtime).
async fn write(endpoint: String) {
    tokio::task::spawn_blocking(move || {
        let store = EtcdStore::connect(&endpoint, KEY, Credentials::none()).unwrap();
        let document = KeyRing::generate(NOW).unwrap().to_jwk_set();
        match store.load_document().unwrap() {
            None => drop(store.create_document(&document).unwrap()),
            Some(current) => {
                assert!(matches!(store.swap_document(&current.version, &document).unwrap(), Swapped::Swapped(_)));
            }
        }
    })
    .await
    .unwrap();
}

async fn changed(watch: &mut EtcdWatch) -> WatchEvent {
    tokio::time::timeout(WAIT_MAX, watch.changed()).await.expect("the watch answered in time")
}

#[tokio::test]
async fn a_compacted_resume_revision_is_reported_lost_and_the_watch_goes_on_from_now() {
    let server = EtcdServer::start();
    let endpoint = server.endpoint();
    // The watch is to resume from the revision after the store's current one...
    let mut watch = EtcdWatch::connect(&endpoint, KEY, Credentials::none()).await.unwrap();
    // ...which is written, then overwritten and compacted away before the watch first runs.
    write(endpoint.clone()).await;
    write(endpoint.clone()).await;
    let mut client = Client::connect([format!("http://{endpoint}")], None).await.unwrap();
    let latest = client.get(KEY, None).await.unwrap().header().unwrap().revision();
    client.compact(latest, None).await.unwrap();

    assert_eq!(changed(&mut watch).await, WatchEvent::Lost("the revision to resume from was compacted"));
    // Watching again, from now: said once, so the caller reloads what the lost changes left.
    assert_eq!(changed(&mut watch).await, WatchEvent::Resumed);
    // And a later write is seen.
    write(endpoint.clone()).await;
    assert_eq!(changed(&mut watch).await, WatchEvent::Changed);
    drop(server);
}
