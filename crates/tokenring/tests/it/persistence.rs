//! The JWK Set format and the file store: restarts, corruption, atomic writes.

use std::sync::Arc;

use serde_json::Value;
use tokenring::{FileStore, KeyRing, KeySetError, Loaded, Rejection, Scratch, StoreError, StoreOp, Validation};
use tokenring_testkit::storage::{Call, MemoryStorage};

use crate::ring::NOW;

#[derive(serde::Serialize)]
struct Claims {
    sub: &'static str,
}

/// A fresh, empty directory for one test.
pub(crate) fn temp_dir() -> std::path::PathBuf {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tokenring-it-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn restart_with_the_key_file_verifies_every_earlier_token() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    let (ring, loaded) = store.load_or_create(NOW).unwrap();
    assert_eq!(loaded, Loaded::Created);
    let tokens: Vec<String> = (0..5).map(|i| ring.issue(&Claims { sub: "3" }, 3600, NOW + i).unwrap()).collect();
    drop(ring);

    // "Restart": a fresh process loads the same file.
    let (restarted, loaded) = store.load_or_create(NOW + 100).unwrap();
    assert_eq!(loaded, Loaded::Existing);
    for token in &tokens {
        assert!(restarted.verify::<Value>(token, &Validation::new(), NOW + 100).is_ok());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ephemeral_key_after_restart_is_unknown_key() {
    let before = KeyRing::generate(NOW).unwrap();
    let token = before.issue(&Claims { sub: "3" }, 3600, NOW).unwrap();
    let after = KeyRing::generate(NOW + 1).unwrap();
    let rejection = after.verify::<Value>(&token, &Validation::new(), NOW + 1).unwrap_err();
    assert_eq!(rejection, Rejection::UnknownKey);
    assert!(!rejection.is_routine(), "an ephemeral server cannot tell a lost key from a forgery");
}

#[test]
fn rotation_and_history_survive_a_round_trip() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let first = ring.active_kid(NOW).unwrap();
    let old = ring.issue(&Claims { sub: "3" }, 60, NOW).unwrap();
    let rotation = tokenring::Rotation::new().propagation_secs(0).overlap_secs(60).forget_after_secs(60);
    ring.rotate(&rotation, NOW + 10).unwrap();
    ring.rotate(&rotation, NOW + 20).unwrap();
    assert_eq!(ring.prune(NOW + 1000), 2);
    assert_eq!(ring.keys(NOW + 1000).len(), 1);
    let document = ring.to_jwk_set();
    let reloaded = KeyRing::from_jwk_set(document.as_bytes()).unwrap();
    assert_eq!(reloaded.active_kid(NOW), ring.active_kid(NOW));
    assert_eq!(reloaded.issued_kids(), ring.issued_kids());
    assert!(reloaded.issued_kids().contains(&first));
    let mut scratch = Scratch::new();
    assert_eq!(reloaded.verify_jws(&old, &mut scratch, NOW + 1000).unwrap_err(), Rejection::ForgottenKey);
    let again = KeyRing::from_jwk_set(reloaded.to_jwk_set().as_bytes()).unwrap();
    assert_eq!(again.to_jwk_set().as_str(), document.as_str(), "serialization is stable");
}

#[test]
fn the_document_is_a_standard_jwk_set() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    ring.rotate(&tokenring::Rotation::new().propagation_secs(0).overlap_secs(3600), NOW + 1).unwrap();
    let document: Value = serde_json::from_str(&ring.to_jwk_set()).unwrap();
    let keys = document["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert_eq!(key["kty"], "oct");
        assert_eq!(key["alg"], "HS256");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["k"].as_str().unwrap().len(), 43, "256-bit key, base64url without padding");
        assert!(key["kid"].is_string());
        assert!(key["created_at"].is_u64());
    }
    assert_eq!(keys[0]["retire_at"], NOW + 1 + 3600);
    assert!(keys[1].get("retire_at").is_none());
    assert_eq!(document["issued_kids"].as_array().unwrap().len(), 2);
}

#[test]
fn a_single_jwk_object_loads_as_a_ring_of_one() {
    let jwk =
        r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
    let ring = KeyRing::from_jwk_set(jwk.as_bytes()).unwrap();
    assert!(ring.can_sign(NOW));
    assert_eq!(ring.active_kid(NOW), None);
}

#[test]
fn key_set_faults_are_typed() {
    let cases: &[(&str, KeySetError)] = &[
        ("", KeySetError::Json { line: 1, column: 0 }),
        ("[]", KeySetError::NotAKeySet),
        (r#"{"keys":{}}"#, KeySetError::NotAKeySet),
        (r#"{"keys":[]}"#, KeySetError::Empty),
        (r#"{"keys":[{"k":"AAAA"}]}"#, KeySetError::MissingMember { index: 0, member: "kty" }),
        (r#"{"keys":[{"kty":"RSA"}]}"#, KeySetError::UnsupportedKeyType { index: 0 }),
        (r#"{"keys":[{"kty":"oct","alg":"HS512","k":""}]}"#, KeySetError::UnsupportedAlgorithm { index: 0 }),
        (r#"{"keys":[{"kty":"oct","use":"enc","k":""}]}"#, KeySetError::UnsupportedAlgorithm { index: 0 }),
        (r#"{"keys":[{"kty":"oct"}]}"#, KeySetError::MissingMember { index: 0, member: "k" }),
        (r#"{"keys":[{"kty":"oct","k":7}]}"#, KeySetError::InvalidMember { index: 0, member: "k" }),
        (r#"{"keys":[{"kty":"oct","k":"AAAA="}]}"#, KeySetError::InvalidMember { index: 0, member: "k" }),
        (
            r#"{"keys":[{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","created_at":-1}]}"#,
            KeySetError::InvalidMember { index: 0, member: "created_at" },
        ),
        (
            r#"{"keys":[{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}],"issued_kids":[1]}"#,
            KeySetError::InvalidIssuedKids,
        ),
        (
            r#"{"keys":[{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}"#,
            KeySetError::DuplicateKid { index: 1 },
        ),
    ];
    for (document, expected) in cases {
        assert_eq!(KeyRing::from_jwk_set(document.as_bytes()).unwrap_err(), *expected, "{document}");
    }
}

#[test]
fn a_key_set_that_names_a_member_twice_is_refused_wherever_the_repeat_is() {
    const K: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for document in [
        format!(r#"{{"keys":[{{"kty":"oct","kid":"a","kid":"b","k":"{K}"}}]}}"#),
        format!(r#"{{"keys":[{{"kty":"oct","k":"{K}","k":"{K}"}}]}}"#),
        format!(r#"{{"kty":"oct","kid":"a","k":"{K}","kid":"b"}}"#),
        format!(r#"{{"keys":[{{"kty":"oct","k":"{K}"}}],"keys":[]}}"#),
        format!(r#"{{"keys":[{{"kty":"oct","k":"{K}","x":{{"y":1,"y":2}}}}]}}"#),
        format!(r#"{{"keys":[{{"kty":"oct","k":"{K}","k\u0069d":"a","kid":"b"}}]}}"#),
    ] {
        let error = KeyRing::from_jwk_set(document.as_bytes()).unwrap_err();
        assert!(matches!(error, KeySetError::RepeatedMember { line: 1, .. }), "{document}: {error:?}");
        assert!(!error.to_string().contains("kid"), "the name is not printed: {error}");
    }
    // Names that merely look alike are different members.
    let alike = format!(r#"{{"keys":[{{"kty":"oct","k":"{K}","kid":"a","Kid":"b"}}]}}"#);
    assert!(KeyRing::from_jwk_set(alike.as_bytes()).is_ok());
}

#[test]
fn truncated_or_corrupt_file_is_an_error_and_left_untouched() {
    let dir = temp_dir();
    let path = dir.join("keys.json");
    let store = FileStore::new(&path);
    let ring = KeyRing::generate(NOW).unwrap();
    store.save(&ring).unwrap();
    let good = std::fs::read(&path).unwrap();
    for damaged in [&good[..good.len() / 2], b"", b"{\"keys\":[", &[0xff, 0xfe, 0x00][..]] {
        std::fs::write(&path, damaged).unwrap();
        let error = store.load_or_create(NOW).unwrap_err();
        assert!(matches!(error, tokenring::Error::Store(StoreError::Corrupt { .. })), "{error:?}");
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "the damaged file must not be replaced");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn create_refuses_to_overwrite_and_save_replaces_atomically() {
    let dir = temp_dir();
    let path = dir.join("keys.json");
    let store = FileStore::new(&path);
    let first = KeyRing::generate(NOW).unwrap();
    store.create(&first).unwrap();
    let second = KeyRing::generate(NOW).unwrap();
    let exists = store.create(&second).unwrap_err();
    assert!(matches!(&exists, StoreError::AlreadyExists { path: at } if *at == path), "{exists:?}");
    // The message names the file, however it is printed.
    let expected = format!("key file {} already exists", path.display());
    assert_eq!((exists.to_string(), format!("{exists:?}")), (expected.clone(), expected));
    assert_eq!(store.load().unwrap().active_kid(NOW), first.active_kid(NOW));
    store.save(&second).unwrap();
    assert_eq!(store.load().unwrap().active_kid(NOW), second.active_kid(NOW));
    // No temporary files are left behind; the lock file stays.
    let names: Vec<_> = listing(&dir).into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, [".keys.json.lock", "keys.json"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_file_is_not_found_and_a_directory_is_not_a_file() {
    let dir = temp_dir();
    assert!(matches!(FileStore::new(dir.join("absent.json")).load(), Err(StoreError::NotFound { .. })));
    // A directory where the file should be is neither read as one nor replaced by a new one.
    std::fs::create_dir(dir.join("keys.json")).unwrap();
    let error = FileStore::new(dir.join("keys.json")).load_or_create(NOW).unwrap_err();
    assert!(matches!(error, tokenring::Error::Store(StoreError::NotAFile { .. })), "{error:?}");
    assert!(dir.join("keys.json").is_dir());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn oversized_key_file_is_corrupt_without_being_read_whole() {
    let dir = temp_dir();
    let path = dir.join("keys.json");
    std::fs::write(&path, vec![b' '; tokenring::limits::KEY_SET_LEN_MAX + 10]).unwrap();
    let error = FileStore::new(&path).load().unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { error: KeySetError::TooLarge, .. }), "{error:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The name `FileStore` gives its `attempt`-th temporary file for `keys.json`.
fn temp_name(attempt: usize) -> String {
    format!(".keys.json.tmp.{attempt}")
}

/// The name earlier versions gave the `attempt`-th temporary file of process `pid`.
fn earlier_temp_name(pid: u32, attempt: usize) -> String {
    format!(".keys.json.tmp.{pid}.{attempt}")
}

/// The directory's entries and their contents, sorted by name.
fn listing(dir: &std::path::Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (entry.file_name().into_string().unwrap(), std::fs::read(entry.path()).ok())
        })
        .collect();
    entries.sort();
    entries
}

/// The directory's entries other than the lock file, which a write creates and never removes.
fn listing_without_lock(dir: &std::path::Path) -> Vec<(String, Option<Vec<u8>>)> {
    listing(dir).into_iter().filter(|(name, _)| name != ".keys.json.lock").collect()
}

/// The secret (`k`) of every key in `ring`, as the key file holds it.
fn secrets(ring: &KeyRing) -> Vec<String> {
    let document: Value = serde_json::from_str(&ring.to_jwk_set()).unwrap();
    document["keys"].as_array().unwrap().iter().map(|key| key["k"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn leftover_temporary_files_of_crashed_writes_are_removed_and_the_next_save_succeeds() {
    // Crashes between writing a temporary file and renaming it, in containers (process id 1,
    // every time) under earlier versions' names and under today's: more leftovers than there
    // are temporary names.
    let dir = temp_dir();
    let path = dir.join("keys.json");
    let store = FileStore::new(&path);
    store.save(&KeyRing::generate(NOW).unwrap()).unwrap();
    let mut leftovers = Vec::new();
    for attempt in 0..tokenring::limits::TEMP_NAMES_MAX {
        leftovers.extend([
            temp_name(attempt),
            earlier_temp_name(1, attempt),
            earlier_temp_name(std::process::id(), attempt),
        ]);
    }
    assert!(leftovers.len() > tokenring::limits::TEMP_NAMES_MAX);
    assert!(leftovers.len() <= tokenring::limits::LEFTOVERS_REMOVED_MAX);
    for name in &leftovers {
        std::fs::write(dir.join(name), b"left by a crash").unwrap();
    }
    // Not the store's: another key file's temporary file, names that only look alike.
    let others = [".other.json.tmp.0", ".keys.json.tmp.orig", ".keys.json.tmp.", "keys.json.tmp.0", "notes"];
    for name in others {
        std::fs::write(dir.join(name), name).unwrap();
    }
    let second = KeyRing::generate(NOW).unwrap();
    store.save(&second).unwrap();
    assert_eq!(store.load().unwrap().active_kid(NOW), second.active_kid(NOW));
    let mut expected: Vec<_> = others.iter().map(|name| (name.to_string(), Some(name.as_bytes().to_vec()))).collect();
    expected.push(("keys.json".into(), Some(std::fs::read(&path).unwrap())));
    expected.sort();
    assert_eq!(listing_without_lock(&dir), expected, "every leftover removed, nothing else");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_leftover_holding_key_material_is_gone_after_the_next_write() {
    // A first start that crashed after writing its temporary file whole, and one that crashed
    // half-way: the next start creates the key file and removes both.
    let dir = temp_dir();
    let path = dir.join("keys.json");
    let store = FileStore::new(&path);
    let crashed = KeyRing::generate(NOW).unwrap();
    std::fs::write(dir.join(temp_name(0)), crashed.to_jwk_set().as_bytes()).unwrap();
    std::fs::write(dir.join(earlier_temp_name(1, 0)), &crashed.to_jwk_set().as_bytes()[..100]).unwrap();
    let (ring, loaded) = store.load_or_create(NOW).unwrap();
    assert_eq!(loaded, Loaded::Created);
    assert_eq!(listing_without_lock(&dir), [("keys.json".into(), Some(ring.to_jwk_set().as_bytes().to_vec()))]);

    // A rotation that crashed after writing its temporary file: it holds the key the ring
    // later forgets. The update that prunes it removes the leftover too, so the forgotten key is
    // nowhere on disk.
    let rotation = tokenring::Rotation::new().propagation_secs(0).overlap_secs(60).forget_after_secs(60);
    let mut rotated = ring.clone();
    rotated.rotate(&rotation, NOW + 1).unwrap();
    std::fs::write(dir.join(temp_name(0)), rotated.to_jwk_set().as_bytes()).unwrap();
    let first_secret = secrets(&ring).remove(0);
    store
        .update(|ring| {
            ring.rotate(&rotation, NOW + 1)?;
            ring.rotate(&rotation, NOW + 2)?;
            Ok(ring.prune(NOW + 1000))
        })
        .unwrap();
    assert!(!secrets(&store.load().unwrap()).contains(&first_secret), "the key is forgotten");
    for (name, contents) in listing(&dir) {
        let contents = String::from_utf8(contents.unwrap()).unwrap();
        assert!(!contents.contains(&first_secret), "{name} holds a forgotten key");
    }
    assert_eq!(listing_without_lock(&dir).len(), 1, "the key file alone");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_write_waits_for_another_writers_lock_and_never_removes_its_temporary_file() {
    // Another process (or thread) holds the lock and is between writing its temporary file and
    // renaming it. A save from here waits for the lock instead of taking the file for a
    // leftover, then writes after it.
    let storage = Arc::new(MemoryStorage::new());
    let first = KeyRing::generate(NOW).unwrap();
    let theirs = KeyRing::generate(NOW).unwrap();
    storage.put("/keys/keys.json", first.to_jwk_set().as_bytes());
    storage.put("/keys/.keys.json.tmp.0", theirs.to_jwk_set().as_bytes());
    storage.hold_lock("/keys/.keys.json.lock");
    let before = storage.files();
    let store = FileStore::with_storage("/keys/keys.json", storage.clone());
    // While the save waits, they find their temporary file and the key file untouched; then
    // they finish their save and release the lock.
    let untouched_while_waiting = Arc::new(std::sync::Mutex::new(Vec::new()));
    storage.on_wait({
        let untouched_while_waiting = Arc::clone(&untouched_while_waiting);
        move |storage| {
            untouched_while_waiting.lock().unwrap().push(storage.files() == before);
            storage.rename_file("/keys/.keys.json.tmp.0", "/keys/keys.json");
            storage.release_lock();
        }
    });

    let ours = KeyRing::generate(NOW).unwrap();
    store.save(&ours).unwrap();
    // The save tried the lock, found it held, waited once, changing nothing, and wrote after.
    let calls = storage.calls();
    let lock = std::path::PathBuf::from("/keys/.keys.json.lock");
    assert_eq!(
        calls[..3],
        [
            Call::TryLock { path: lock.clone(), granted: false },
            Call::Wait(std::time::Duration::from_millis(tokenring::limits::LOCK_RETRY_MILLIS)),
            Call::TryLock { path: lock, granted: true },
        ],
        "the save waits for the lock: {calls:?}"
    );
    assert_eq!(*untouched_while_waiting.lock().unwrap(), [true], "their temporary file and the key file are untouched");
    assert_eq!(store.load().unwrap().active_kid(NOW), ours.active_kid(NOW));
    assert_eq!(storage.files().keys().collect::<Vec<_>>(), ["/keys/keys.json"], "the key file alone");
}

#[test]
fn a_failed_rename_leaves_no_temporary_file_and_changes_nothing() {
    // A path with a trailing slash, where no file is: the temporary file is written beside
    // `keys.json`, the rename to `keys.json/` (a directory that is not there) fails.
    let dir = temp_dir();
    std::fs::write(dir.join("other.json"), b"kept").unwrap();
    let before = listing(&dir);
    let path = format!("{}/keys.json/", dir.display());
    let error = FileStore::new(&path).save(&KeyRing::generate(NOW).unwrap()).unwrap_err();
    assert!(matches!(error, StoreError::Io { op: StoreOp::Rename, .. }), "{error:?}");
    assert_eq!(listing_without_lock(&dir), before);
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_key_file_others_may_read_or_change_is_reported_and_still_loads() {
    use std::os::unix::fs::PermissionsExt;
    use tokenring::PermissionWarning;
    let dir = temp_dir();
    let path = dir.join("keys.json");
    let store = FileStore::new(&path);
    store.create(&KeyRing::generate(NOW).unwrap()).unwrap();
    assert_eq!(store.check_permissions().unwrap(), None, "the store writes 0600");
    for (mode, expected) in [
        (0o644, Some(PermissionWarning::ReadableByOthers { mode: 0o644 })),
        (0o666, Some(PermissionWarning::WritableByOthers { mode: 0o666 })),
        (0o444, None),
        (0o400, None),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        assert_eq!(store.check_permissions().unwrap(), expected, "{mode:o}");
        assert!(store.load().is_ok(), "{mode:o}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(store.check_permissions(), Err(StoreError::NotFound { .. })));
}

fn memory_store(storage: &Arc<MemoryStorage>) -> FileStore {
    FileStore::with_storage("/keys/keys.json", storage.clone())
}

/// The calls among `calls` that are waits.
fn waits(calls: &[Call]) -> usize {
    calls.iter().filter(|call| matches!(call, Call::Wait(_))).count()
}

#[test]
fn a_crash_at_any_step_of_a_save_or_create_leaves_the_old_file_or_the_new_one() {
    let old = KeyRing::generate(NOW).unwrap();
    let mut new = KeyRing::from_jwk_set(old.to_jwk_set().as_bytes()).unwrap();
    new.rotate(&tokenring::Rotation::new(), NOW + 1).unwrap();
    let (old_document, new_document) = (old.to_jwk_set(), new.to_jwk_set());
    let mut outcomes = std::collections::BTreeSet::new();
    for crash_at in 0..8 {
        let storage = Arc::new(MemoryStorage::new());
        memory_store(&storage).create(&old).unwrap();
        storage.crash_after(Some(crash_at));
        let saved = memory_store(&storage).save(&new);
        let after = memory_store(&storage).load().unwrap().to_jwk_set();
        assert!(*after == *old_document || *after == *new_document, "crash at {crash_at}");
        outcomes.insert((saved.is_ok(), *after == *new_document));
        // A failed save is never reported as done; a successful one left the new file.
        assert!(saved.is_err() || *after == *new_document, "crash at {crash_at}");

        let empty = Arc::new(MemoryStorage::new());
        empty.crash_after(Some(crash_at));
        match memory_store(&empty).create(&old) {
            Ok(()) => assert_eq!(memory_store(&empty).load().unwrap().to_jwk_set().as_str(), old_document.as_str()),
            Err(_) => match memory_store(&empty).load() {
                Ok(ring) => assert_eq!(ring.to_jwk_set().as_str(), old_document.as_str()),
                Err(error) => assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}"),
            },
        }
    }
    // The crash points cover the old file surviving, the new one surviving a crash after the
    // rename, and a save that completes.
    assert_eq!(outcomes, [(false, false), (false, true), (true, true)].into_iter().collect());
}

#[test]
fn update_waits_for_the_lock_through_the_storage_and_gives_up_after_the_bounded_retry() {
    use tokenring::limits::{LOCK_ATTEMPTS_MAX, LOCK_RETRY_MILLIS};
    let storage = Arc::new(MemoryStorage::new());
    storage.set_mode(0o640);
    let store = memory_store(&storage);
    store.create(&KeyRing::generate(NOW).unwrap()).unwrap();
    // Another writer holds the lock for three retries' time.
    storage.hold_lock_for("/keys/.keys.json.lock", std::time::Duration::from_millis(3 * LOCK_RETRY_MILLIS));
    storage.take_calls();
    let rotated = store.update(|ring| Ok(ring.rotate(&tokenring::Rotation::new(), NOW + 1)?)).unwrap();
    assert_eq!(waits(&storage.take_calls()), 3);
    assert!(store.load().unwrap().keys(NOW + 1).iter().any(|key| key.kid == Some(rotated)));

    storage.hold_lock("/keys/.keys.json.lock");
    let error = store.update(|ring| Ok(ring.rotate(&tokenring::Rotation::new(), NOW + 2)?)).unwrap_err();
    assert!(matches!(error, tokenring::Error::Store(StoreError::Locked { .. })), "{error:?}");
    assert_eq!(waits(&storage.take_calls()), usize::try_from(LOCK_ATTEMPTS_MAX - 1).unwrap());
    assert_eq!(store.load().unwrap().keys(NOW + 2).len(), 2, "nothing written without the lock");
    assert_eq!(
        store.check_permissions().unwrap(),
        Some(tokenring::PermissionWarning::ReadableByOthers { mode: 0o640 })
    );
}

#[test]
fn save_and_create_give_up_on_a_held_lock_and_touch_nothing() {
    // Another writer holds the lock for longer than a writer waits, with its temporary file
    // written: it is not a leftover, and nothing is written beside it.
    let storage = Arc::new(MemoryStorage::new());
    let theirs = KeyRing::generate(NOW).unwrap();
    storage.put("/keys/.keys.json.tmp.0", theirs.to_jwk_set().as_bytes());
    storage.hold_lock("/keys/.keys.json.lock");
    let before = storage.files();
    let store = memory_store(&storage);
    let ours = KeyRing::generate(NOW).unwrap();
    assert!(matches!(store.save(&ours), Err(StoreError::Locked { .. })));
    assert!(matches!(store.create(&ours), Err(StoreError::Locked { .. })));
    let error = store.load_or_create(NOW).unwrap_err();
    assert!(matches!(error, tokenring::Error::Store(StoreError::Locked { .. })), "{error:?}");
    assert_eq!(storage.files(), before);
    let calls = storage.calls();
    assert_eq!(storage.count(Call::changes), 0, "no file written, synced, renamed or removed: {calls:?}");
    assert_eq!(waits(&calls), 3 * usize::try_from(tokenring::limits::LOCK_ATTEMPTS_MAX - 1).unwrap());
}

#[test]
fn a_storage_that_reads_past_the_limit_is_refused() {
    let storage = Arc::new(MemoryStorage::new());
    memory_store(&storage).create(&KeyRing::generate(NOW).unwrap()).unwrap();
    storage.overread(tokenring::limits::KEY_SET_LEN_MAX + 2);
    let error = memory_store(&storage).load().unwrap_err();
    assert!(
        matches!(error, StoreError::Io { op: StoreOp::Read, kind: std::io::ErrorKind::FileTooLarge, .. }),
        "{error:?}"
    );
}

#[test]
fn leftovers_the_listing_misses_block_no_write() {
    // A storage that cannot list its directory, with leftovers at every temporary name earlier
    // versions used: the write goes through under a name of its own (a random number), and
    // leaves the leftovers for a write whose listing works.
    let storage = Arc::new(MemoryStorage::new());
    storage.fail_list(Some(std::io::ErrorKind::Unsupported));
    let store = memory_store(&storage);
    for attempt in 0..tokenring::limits::TEMP_NAMES_MAX {
        storage.put(format!("/keys/{}", temp_name(attempt)), b"left by a crash");
    }
    let ring = KeyRing::generate(NOW).unwrap();
    store.save(&ring).unwrap();
    assert_eq!(store.load().unwrap().active_kid(NOW), ring.active_kid(NOW));
    let names: Vec<_> = storage.files().keys().map(|path| path.display().to_string()).collect();
    let mut expected: Vec<_> = (0..tokenring::limits::TEMP_NAMES_MAX)
        .map(|attempt| format!("/keys/{}", temp_name(attempt)))
        .chain(["/keys/keys.json".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(names, expected, "the leftovers are left, the new file renamed over the key file");
}
