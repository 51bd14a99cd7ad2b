//! `EtcdStore` against a real `etcd` (one per test, on 127.0.0.1 with free ports, stopped at
//! the end): create, load, swap and conflict; racing updates from two stores lose nothing; a
//! missing key is an error unless creation was asked; nothing prints a credential.

#![allow(clippy::unwrap_used)]

use tokenring::{Created, KeyRing, Kid, Loaded, RingStore, Rotation, SharedRing, StoreError, StoreVersion, Swapped};
use tokenring_etcd::{parse_url, Credentials, EtcdStore, UrlError};
use tokenring_testkit::etcd::EtcdServer;

const NOW: u64 = 1_700_000_000;

fn store(server: &EtcdServer, key: &str) -> EtcdStore {
    EtcdStore::connect(&server.endpoint(), key, Credentials::none()).unwrap()
}

fn kids(store: &EtcdStore) -> Vec<Kid> {
    let document = store.load_document().unwrap().unwrap();
    KeyRing::from_jwk_set(&document.bytes).unwrap().keys(NOW).into_iter().filter_map(|key| key.kid).collect()
}

#[test]
fn create_load_swap_and_conflict_against_etcd() {
    let server = EtcdServer::start();
    let store = store(&server, "/tokenring/keys");
    assert!(store.load_document().unwrap().is_none());

    let first = KeyRing::generate(NOW).unwrap().to_jwk_set();
    let Created::Created(created) = store.create_document(&first).unwrap() else { panic!("not created") };
    assert_eq!(store.create_document(&first).unwrap(), Created::AlreadyExists, "created once only");
    let read = store.load_document().unwrap().unwrap();
    assert_eq!(read.version, created, "the version is the revision the creation wrote");
    assert_eq!(&read.bytes[..], first.as_bytes());

    let second = KeyRing::generate(NOW).unwrap().to_jwk_set();
    let Swapped::Swapped(swapped) = store.swap_document(&read.version, &second).unwrap() else { panic!("conflict") };
    assert_ne!(swapped, read.version);
    // The version read first is stale now: a writer still holding it is refused.
    let third = KeyRing::generate(NOW).unwrap().to_jwk_set();
    assert_eq!(store.swap_document(&read.version, &third).unwrap(), Swapped::Conflict);
    assert_eq!(store.swap_document(&StoreVersion::digest_of(b"x"), &third).unwrap(), Swapped::Conflict);
    let now = store.load_document().unwrap().unwrap();
    assert_eq!((&now.bytes[..], now.version), (second.as_bytes(), swapped));
}

#[test]
fn two_stores_racing_updates_lose_nothing() {
    let server = EtcdServer::start();
    let (shared, loaded) = SharedRing::open_or_create(store(&server, "/race/keys"), NOW).unwrap();
    assert_eq!(loaded, Loaded::Created);
    let endpoint = server.endpoint();
    const ROUNDS: usize = 10;
    let rotated: Vec<Kid> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let endpoint = endpoint.clone();
                scope.spawn(move || {
                    let ring =
                        SharedRing::open(EtcdStore::connect(&endpoint, "/race/keys", Credentials::none()).unwrap())
                            .unwrap();
                    let rotation = Rotation::new().propagation_secs(0);
                    (0..ROUNDS)
                        .map(|_| ring.update(|ring| Ok(ring.rotate(&rotation, NOW)?)).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers.into_iter().flat_map(|writer| writer.join().unwrap()).collect()
    });
    assert_eq!(rotated.len(), 2 * ROUNDS);
    shared.reload().unwrap();
    let stored = kids(&store(&server, "/race/keys"));
    for kid in &rotated {
        assert!(stored.contains(kid), "key {kid} was lost");
    }
    assert_eq!(stored.len(), 2 * ROUNDS + 1, "the first key and every rotation's");
}

#[test]
fn a_missing_key_is_an_error_unless_creation_was_asked() {
    let server = EtcdServer::start();
    let missing = SharedRing::open(store(&server, "/app/keys")).unwrap_err();
    assert!(matches!(missing, StoreError::DocumentNotFound { .. }), "{missing:?}");
    let endpoint = server.endpoint();
    assert_eq!(missing.to_string(), format!("key set etcd://{endpoint}/app/keys does not exist"));
    assert!(store(&server, "/app/keys").load_document().unwrap().is_none(), "opening created nothing");
    let update = SharedRing::open_or_create(store(&server, "/app/keys"), NOW).unwrap().0;
    assert_eq!(kids(&store(&server, "/app/keys")).len(), 1);
    assert!(update.store().is_none(), "not a key file");
    assert_eq!(format!("{:?}", store(&server, "/app/keys")), format!("EtcdStore(etcd://{endpoint}/app/keys)"));
}

#[test]
fn an_unreachable_etcd_is_reported_by_name_and_in_time() {
    // A port nobody listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = EtcdStore::connect(&format!("127.0.0.1:{port}"), "/k", Credentials::user("ada", "s3cret-password"))
        .and_then(|store| store.load_document().map(|_| ()))
        .unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with(&format!("cannot read key set etcd://127.0.0.1:{port}/k: ")), "{text}");
    assert!(!text.contains("s3cret") && !text.contains("ada"), "{text}");
    assert_eq!(error.code(), "unavailable");
}

#[test]
fn urls_name_host_port_and_key_and_never_carry_credentials() {
    let url = parse_url("etcd://10.0.0.5:2379/myapp/keys").unwrap();
    assert_eq!((url.endpoint(), url.key(), url.is_tls()), ("10.0.0.5:2379", "/myapp/keys", false));
    assert_eq!(url.to_string(), "etcd://10.0.0.5:2379/myapp/keys");
    let tls = parse_url("etcds://10.0.0.5:2379/myapp/keys").unwrap();
    assert_eq!((tls.endpoint(), tls.key(), tls.is_tls()), ("10.0.0.5:2379", "/myapp/keys", true));
    assert_eq!(format!("{tls:?}"), "EtcdUrl(etcds://10.0.0.5:2379/myapp/keys)");
    for refused in ["etcd://ada:s3cret@10.0.0.5:2379/keys", "etcds://ada:s3cret@10.0.0.5:2379/keys"] {
        assert_eq!(parse_url(refused), Err(UrlError::Credentials));
    }
    assert_eq!(parse_url("etcd://10.0.0.5:2379"), Err(UrlError::Key));
    assert_eq!(parse_url("etcd://10.0.0.5/keys"), Err(UrlError::Endpoint));
    assert_eq!(parse_url("etcd://10.0.0.5:x/keys"), Err(UrlError::Endpoint));
    assert_eq!(parse_url("keys.json"), Err(UrlError::Scheme));
    assert_eq!(parse_url("https://10.0.0.5:2379/keys"), Err(UrlError::Scheme));
    let refused = EtcdStore::connect_url("etcd://ada:s3cret@10.0.0.5:2379/keys", Credentials::none()).unwrap_err();
    assert!(!refused.to_string().contains("s3cret"), "{refused}");
    assert!(!UrlError::Credentials.to_string().contains("s3cret"));
    assert_eq!(format!("{:?}", Credentials::user("ada", "s3cret")), "Credentials(user and password, no TLS)");
}

/// A service drops its ring, and with it the store, wherever the last reference goes: often
/// on the runtime's own thread, when a task or the server shuts down. The store's runtime must
/// then shut down without blocking (tokio refuses to block inside an asynchronous context).
#[test]
fn a_store_dropped_inside_an_asynchronous_context_shuts_down_quietly() {
    let server = EtcdServer::start();
    let (ring, _) = SharedRing::open_or_create(store(&server, "app/keys"), NOW).expect("created");
    let service = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    service.block_on(async move { drop(ring) });
}
