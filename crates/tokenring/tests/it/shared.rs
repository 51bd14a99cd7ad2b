//! The shared ring: reloads that pick up a changed file (a Kubernetes `..data` symlink swap
//! included), keep the last good ring on a bad one, and never block readers; locked updates;
//! many starts at once on a missing file.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use serde_json::{json, Value};
use tokenring::{Error, FileStore, KeyRing, Loaded, Rejection, Reloaded, Rotation, SharedRing, StoreError, Validation};

use crate::persistence::temp_dir;
use crate::ring::NOW;

fn claims() -> Value {
    json!({ "sub": "3" })
}

/// Lays out a directory the way the kubelet projects a Secret: the data in a timestamped
/// directory, `..data` a symlink to it, and `keys.json` a symlink through `..data`. Returns
/// the path a pod reads.
fn projected(dir: &Path, version: &str, document: &[u8]) -> std::path::PathBuf {
    let data = dir.join(format!("..{version}"));
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("keys.json"), document).unwrap();
    let link = dir.join("..data_tmp");
    let _ = fs::remove_file(&link);
    symlink(format!("..{version}"), &link).unwrap();
    // The kubelet's atomic swap: rename a new symlink over `..data`.
    fs::rename(&link, dir.join("..data")).unwrap();
    let visible = dir.join("keys.json");
    if fs::symlink_metadata(&visible).is_err() {
        symlink("..data/keys.json", &visible).unwrap();
    }
    visible
}

#[test]
fn a_kubernetes_style_symlink_swap_is_picked_up_and_garbage_keeps_the_last_good_ring() {
    let dir = temp_dir();
    let mut ring = KeyRing::generate(NOW).unwrap();
    let path = projected(&dir, "2023_11_14_1", ring.to_jwk_set().as_bytes());
    let shared = SharedRing::open(FileStore::new(&path)).unwrap();
    assert_eq!(shared.generation(), 1);
    let before = shared.ring().issue(&claims(), 3600, NOW).unwrap();
    assert_eq!(shared.reload().unwrap(), Reloaded::Unchanged);

    // The operator rotates (propagation zero, to see the new key sign at once) and the secret
    // is re-projected: a new directory and a swapped `..data` link.
    let new_kid = ring.rotate(&Rotation::new().propagation_secs(0), NOW + 10).unwrap();
    projected(&dir, "2023_11_14_2", ring.to_jwk_set().as_bytes());
    assert_eq!(shared.reload().unwrap(), Reloaded::Changed { generation: 2 });
    assert_eq!(shared.ring().active_kid(NOW + 10), Some(new_kid));
    assert!(shared.ring().verify::<Value>(&before, &Validation::new(), NOW + 10).is_ok());
    let fingerprint = shared.content_fingerprint().unwrap();

    // A swap to a damaged file: the reload fails, the last good ring keeps serving.
    projected(&dir, "2023_11_14_3", b"{\"keys\": [");
    assert!(matches!(shared.reload(), Err(StoreError::Corrupt { .. })));
    assert_eq!(shared.generation(), 2);
    assert_eq!(shared.content_fingerprint(), Some(fingerprint));
    assert!(shared.ring().verify::<Value>(&before, &Validation::new(), NOW + 10).is_ok());
    // The link pointing nowhere: the same.
    fs::remove_dir_all(dir.join("..2023_11_14_3")).unwrap();
    assert!(matches!(shared.reload(), Err(StoreError::NotFound { .. })));
    assert_eq!(shared.ring().active_kid(NOW + 10), Some(new_kid));

    // Fixed again: picked up.
    ring.rotate(&Rotation::new(), NOW + 20).unwrap();
    projected(&dir, "2023_11_14_4", ring.to_jwk_set().as_bytes());
    assert_eq!(shared.reload().unwrap(), Reloaded::Changed { generation: 3 });
    assert_eq!(shared.ring().keys(NOW + 20).len(), 3);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_guard_keeps_its_ring_while_a_reload_swaps_in_another() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    let (shared, loaded) = SharedRing::open_or_create(store.clone(), NOW).unwrap();
    assert_eq!(loaded, Loaded::Created);
    let held = shared.ring();
    let kid = held.active_kid(NOW).unwrap();
    store.update(|ring| Ok(ring.revoke(&kid, NOW)?)).unwrap();
    assert_eq!(shared.reload().unwrap(), Reloaded::Changed { generation: 2 });
    assert_eq!(shared.generation(), 2);
    assert_eq!(held.active_kid(NOW), Some(kid), "the guard still sees the ring it loaded");
    assert_eq!(shared.ring().active_kid(NOW), None, "the new ring has the key revoked");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn updates_go_through_the_file_and_the_shared_ring_follows() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    let (shared, _) = SharedRing::open_or_create(store.clone(), NOW).unwrap();
    let other = SharedRing::open(store.clone()).unwrap();
    assert_eq!(other.store().map(FileStore::path), Some(store.path()));
    let kid = shared.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW)?)).unwrap();
    assert_eq!(shared.generation(), 2);
    assert!(shared.ring().keys(NOW).iter().any(|info| info.kid == Some(kid)));
    assert_eq!(store.load().unwrap().keys(NOW).len(), 2, "the update was saved");
    // Another handle on the same file sees it at its next reload.
    assert_eq!(other.reload().unwrap(), Reloaded::Changed { generation: 2 });
    assert_eq!(other.content_fingerprint(), shared.content_fingerprint());
    // A failing change writes nothing and changes nothing.
    let refused = shared.update(|ring| Ok(ring.revoke(&tokenring::Kid::new("nobody").unwrap(), NOW)?));
    assert!(matches!(refused, Err(Error::Key(tokenring::KeyError::UnknownKid))));
    assert_eq!(shared.generation(), 2);
    assert_eq!(shared.reload().unwrap(), Reloaded::Unchanged);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_ring_in_memory_updates_in_place_and_has_nothing_to_reload() {
    let shared = SharedRing::new(KeyRing::generate(NOW).unwrap());
    assert_eq!(shared.reload().unwrap(), Reloaded::Unchanged);
    assert_eq!(shared.content_fingerprint(), None);
    assert!(shared.store().is_none());
    let clone = shared.clone();
    let kid = shared.update(|ring| Ok(ring.rotate(&Rotation::new().propagation_secs(0), NOW)?)).unwrap();
    assert_eq!(clone.generation(), 2, "clones share one ring");
    assert_eq!(clone.ring().active_kid(NOW), Some(kid));
}

#[test]
fn opening_never_creates_and_a_missing_file_stays_missing() {
    let dir = temp_dir();
    let path = dir.join("keys.json");
    assert!(matches!(SharedRing::open(FileStore::new(&path)), Err(StoreError::NotFound { .. })));
    let update = FileStore::new(&path).update(|ring| Ok(ring.rotate(&Rotation::new(), NOW)?));
    assert!(matches!(update, Err(Error::Store(StoreError::NotFound { .. }))));
    assert!(!path.exists(), "neither open nor update makes a key file");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn many_threads_verify_while_the_ring_reloads() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    let (shared, _) = SharedRing::open_or_create(store.clone(), NOW).unwrap();
    let token = shared.ring().issue(&claims(), 3600, NOW).unwrap();
    std::thread::scope(|scope| {
        let verifiers: Vec<_> = (0..4)
            .map(|_| {
                let shared = shared.clone();
                let token = token.clone();
                scope.spawn(move || {
                    for _ in 0..2_000 {
                        let verified = shared.ring().verify::<Value>(&token, &Validation::new(), NOW + 1);
                        assert!(verified.is_ok(), "{:?}", verified.err());
                    }
                })
            })
            .collect();
        for step in 0..20 {
            shared.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW + step)?)).unwrap();
        }
        for verifier in verifiers {
            verifier.join().unwrap();
        }
    });
    assert_eq!(shared.generation(), 21);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn many_starts_at_once_on_a_missing_file_end_with_one_key_set() {
    let dir = temp_dir();
    let path = dir.join("keys.json");
    let kids: Vec<_> = std::thread::scope(|scope| {
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                scope.spawn(move || {
                    let (shared, _) = SharedRing::open_or_create(FileStore::new(path), NOW).unwrap();
                    let ring = shared.ring();
                    ring.active_kid(NOW)
                })
            })
            .collect();
        starts.into_iter().map(|start| start.join().unwrap()).collect()
    });
    assert!(kids.iter().all(|kid| kid.is_some() && *kid == kids[0]), "every start signs with one key");
    assert_eq!(FileStore::new(&path).load().unwrap().keys(NOW).len(), 1);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn concurrent_updates_from_many_threads_lose_no_key() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    store.load_or_create(NOW).unwrap();
    let kids: Vec<_> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                // Each thread opens the lock file itself, as another process would.
                scope.spawn(move || store.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW)?)).unwrap())
            })
            .collect();
        writers.into_iter().map(|writer| writer.join().unwrap()).collect()
    });
    let ring = store.load().unwrap();
    assert_eq!(ring.keys(NOW).len(), 9);
    for kid in kids {
        assert!(ring.keys(NOW).iter().any(|info| info.kid == Some(kid)), "a rotation was lost");
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_writer_gives_up_with_locked_when_another_holds_the_lock_too_long() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    store.load_or_create(NOW).unwrap();
    // Hold the lock from inside an update, and try a second update meanwhile: it waits its
    // bounded number of attempts and reports the lock, changing nothing.
    let outcome = store
        .update(|_| {
            let inner = store.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW)?));
            Ok(inner.map(|_| ()))
        })
        .unwrap();
    let Err(Error::Store(locked @ StoreError::Locked { .. })) = outcome else { panic!("{outcome:?}") };
    assert_eq!(store.load().unwrap().keys(NOW).len(), 1);
    // The message names the file whose lock is held, however it is printed.
    let expected = format!("key file {} is locked by another writer; try again", store.path().display());
    assert_eq!((locked.to_string(), format!("{locked:?}")), (expected.clone(), expected));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_update_that_changes_nothing_does_not_rewrite_the_file() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    store.load_or_create(NOW).unwrap();
    let before = fs::metadata(store.path()).unwrap();
    let rotated = store.update(|ring| Ok(ring.rotate_if_older_than(3600, &Rotation::new(), NOW + 10)?)).unwrap();
    assert_eq!(rotated, None);
    let after = fs::metadata(store.path()).unwrap();
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(before.ino(), after.ino(), "the file was not replaced");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn forgeries_naming_a_forgotten_or_revoked_kid_are_never_routine() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let old = ring.active_kid(NOW).unwrap();
    let rotation = Rotation::new().propagation_secs(0).overlap_secs(10).forget_after_secs(10);
    let revoked = ring.rotate(&rotation, NOW).unwrap();
    ring.rotate(&rotation, NOW + 1).unwrap();
    ring.revoke(&revoked, NOW + 1).unwrap();
    ring.prune(NOW + 100);
    assert!(ring.keys(NOW + 100).iter().all(|info| info.kid != Some(old)), "the old key is forgotten");
    // A forger knows the kids (they are public) but not the keys.
    let validation = Validation::new();
    // A revoked key's secret is erased: a token naming it is revoked-key without a MAC check.
    for (kid, code) in [(old, Rejection::ForgottenKey), (revoked, Rejection::RevokedKey)] {
        let forger = KeyRing::with_key(tokenring::Key::from_bytes(&[7; 32]).unwrap(), Some(kid), NOW + 100);
        let forged = forger.issue(&claims(), 60, NOW + 100).unwrap();
        let rejection = ring.verify::<Value>(&forged, &validation, NOW + 100).unwrap_err();
        assert_eq!(rejection, code);
        assert!(!rejection.is_routine(), "{rejection}");
    }
}

#[test]
fn a_token_under_a_revoked_key_is_revoked_key_even_inside_its_overlap() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&claims(), 3600, NOW).unwrap();
    let kid = ring.active_kid(NOW).unwrap();
    ring.rotate(&Rotation::new(), NOW + 1).unwrap();
    assert!(ring.verify::<Value>(&token, &Validation::new(), NOW + 2).is_ok());
    ring.revoke(&kid, NOW + 2).unwrap();
    let rejection = ring.verify::<Value>(&token, &Validation::new(), NOW + 2).unwrap_err();
    assert_eq!(rejection, Rejection::RevokedKey);
    assert!(!rejection.is_routine());
    assert_eq!(ring.verify_jws(&token, &mut tokenring::Scratch::new(), NOW + 2).unwrap_err(), Rejection::RevokedKey);
}

/// The reload decision a reloader runs, driven by hand on one thread with made-up times, over a
/// real shared ring: what a service's reloader and the simulator do with their own timers.
#[test]
fn the_reload_machine_drives_a_shared_ring_through_a_bad_file_a_hung_read_and_back() {
    use std::time::Duration;
    use tokenring::{ReloadMachine, ReloadOutcome, ReloadReport};

    let dir = temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    let (shared, _) = SharedRing::open_or_create(store.clone(), NOW).unwrap();
    let token = shared.ring().issue(&claims(), 3600, NOW).unwrap();
    let mut machine = ReloadMachine::new(Duration::from_secs(10));
    let reload = |machine: &mut ReloadMachine, now_secs| {
        let read = machine.wake(now_secs).read.expect("no read under way");
        machine.read_finished(read, now_secs, shared.reload()).report.expect("a finished read is reported")
    };
    let failed = |report: ReloadReport| match report {
        ReloadReport::Failed { reason, repeated, .. } => Some((reason, repeated)),
        _ => None,
    };

    assert_eq!(reload(&mut machine, NOW + 30), ReloadReport::Unchanged { recovered: false });
    fs::write(store.path(), b"{\"keys\":[").unwrap();
    assert_eq!(failed(reload(&mut machine, NOW + 60)), Some(("corrupt", false)));
    assert_eq!(failed(reload(&mut machine, NOW + 90)), Some(("corrupt", true)), "the same failure, again");
    assert!(shared.ring().verify::<Value>(&token, &Validation::new(), NOW + 90).is_ok(), "the last good ring serves");

    let mut repaired = KeyRing::generate(NOW).unwrap();
    repaired.rotate(&Rotation::new(), NOW + 100).unwrap();
    store.save(&repaired).unwrap();
    assert_eq!(reload(&mut machine, NOW + 120), ReloadReport::Changed { generation: 2 });
    assert_eq!(shared.ring().to_jwk_set().as_str(), repaired.to_jwk_set().as_str());

    // A read that has not returned by its deadline: the ring stays, no second read starts.
    let hung = machine.wake(NOW + 150).read.unwrap();
    let stuck = machine.deadline_passed(hung, NOW + 160).report.unwrap();
    assert_eq!(stuck.outcome(), ReloadOutcome::Failed { reason: "reload-stuck" });
    assert_eq!(machine.wake(NOW + 180).read, None);
    // It returns at last; the next wake reads afresh and finds the ring in place.
    assert_eq!(machine.read_finished(hung, NOW + 200, shared.reload()).report, None);
    assert_eq!(reload(&mut machine, NOW + 210), ReloadReport::Unchanged { recovered: true });
    let status = machine.status();
    assert_eq!((status.reloads, status.failures, status.at_secs), (7, 4, Some(NOW + 210)));
    fs::remove_dir_all(&dir).unwrap();
}

/// Two rotators whose updates overlap in a simulator's time, on one thread: the second finds
/// the lock that the first holds for another 120 ms, waits in the storage's time through the
/// store's own retries, gets it, re-reads, and finds the first one's key.
#[test]
fn a_writer_waits_in_the_storages_time_for_a_lock_held_until_later() {
    use std::time::Duration;
    use tokenring::limits::{LOCK_ATTEMPTS_MAX, LOCK_RETRY_MILLIS};
    use tokenring_testkit::storage::{Call, MemoryStorage};

    let waits = |calls: Vec<Call>| calls.iter().filter(|call| matches!(call, Call::Wait(_))).count();
    let storage = std::sync::Arc::new(MemoryStorage::new());
    let store = FileStore::with_storage("/keys/keys.json", storage.clone());
    store.create(&KeyRing::generate(NOW).unwrap()).unwrap();
    let shared = SharedRing::open(store.clone()).unwrap();
    let week = 7 * 86_400;
    let first = shared.update(|ring| Ok(ring.rotate_if_older_than(week, &Rotation::new(), NOW + week)?)).unwrap();
    assert!(first.is_some());
    // The first writer's update is still under way, in simulated time, for 120 ms more.
    storage.hold_lock_for("/keys/.keys.json.lock", Duration::from_millis(120));
    storage.take_calls();
    let second = store.update(|ring| Ok(ring.rotate_if_older_than(week, &Rotation::new(), NOW + week)?)).unwrap();
    assert_eq!(second, None, "the second writer re-read under the lock and found the first one's key");
    assert_eq!(waits(storage.take_calls()), usize::try_from(120_u64.div_ceil(LOCK_RETRY_MILLIS)).unwrap());
    assert_eq!(storage.now(), Duration::from_millis(120_u64.div_ceil(LOCK_RETRY_MILLIS) * LOCK_RETRY_MILLIS));

    // A lock held longer than a writer waits: `locked`, after every attempt.
    let held = Duration::from_millis(u64::from(LOCK_ATTEMPTS_MAX) * LOCK_RETRY_MILLIS);
    storage.hold_lock_for("/keys/.keys.json.lock", held);
    let locked = store.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW + week)?)).unwrap_err();
    assert!(matches!(locked, Error::Store(StoreError::Locked { .. })), "{locked}");
    assert_eq!(waits(storage.take_calls()), usize::try_from(LOCK_ATTEMPTS_MAX - 1).unwrap());
}
