//! The JWK Set format and the file store: restarts, corruption, atomic writes.

use serde_json::Value;
use tokenring::{FileStore, KeyRing, KeySetError, Loaded, Rejection, Scratch, StoreError, StoreOp, Validation};

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
    let storage = std::sync::Arc::new(HeldLock::default());
    let first = KeyRing::generate(NOW).unwrap();
    let theirs = KeyRing::generate(NOW).unwrap();
    storage.put("/keys/keys.json", first.to_jwk_set().as_bytes());
    storage.put("/keys/.keys.json.tmp.0", theirs.to_jwk_set().as_bytes());
    storage.hold("/keys/.keys.json.lock");
    let before = storage.files();
    let store = FileStore::with_storage("/keys/keys.json", storage.clone());

    let ours = KeyRing::generate(NOW).unwrap();
    let saving = storage.run({
        let (store, ours) = (store.clone(), ours.clone());
        move || store.save(&ours).map_err(|error| error.to_string())
    });
    // The save tried the lock, found it held, and is waiting for it: it has changed nothing.
    assert_eq!(storage.next_event(), LockEvent::Waiting("/keys/.keys.json.lock".into()), "the save waits for the lock");
    assert_eq!(storage.files(), before, "their temporary file and the key file are untouched");

    // They finish their save and release the lock; ours goes through after theirs.
    storage.rename_now("/keys/.keys.json.tmp.0", "/keys/keys.json");
    storage.release();
    assert_eq!(storage.next_event(), LockEvent::Finished(Ok(())));
    saving.join().unwrap();
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

/// An in-memory storage that "crashes" at one operation: that operation and every later one
/// fail, as if the process died there. What survives is what the earlier operations did.
#[derive(Debug, Default)]
pub(crate) struct CrashingMemory {
    pub(crate) files: std::sync::Mutex<std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>>,
    /// Operations that change something, counted from 0.
    pub(crate) operations: std::sync::atomic::AtomicUsize,
    pub(crate) crash_at: std::sync::atomic::AtomicUsize,
    /// Attempts to take the lock that fail as if another writer held it.
    pub(crate) contended_attempts: std::sync::atomic::AtomicU32,
    pub(crate) waits: std::sync::atomic::AtomicU32,
    /// Bytes added to every read, as a storage that ignores the read limit would.
    pub(crate) overread: usize,
    /// `list` fails, as on a storage that cannot list a directory.
    pub(crate) unlisted: bool,
}

impl CrashingMemory {
    fn files(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>> {
        self.files.lock().unwrap()
    }

    /// Counts a changing operation; an error from the crash on.
    fn step(&self) -> Result<(), std::io::ErrorKind> {
        use std::sync::atomic::Ordering::SeqCst;
        let number = self.operations.fetch_add(1, SeqCst);
        if number >= self.crash_at.load(SeqCst) {
            return Err(std::io::ErrorKind::Other);
        }
        Ok(())
    }
}

impl tokenring::Storage for CrashingMemory {
    fn read(&self, path: &std::path::Path, limit: usize) -> Result<zeroize::Zeroizing<Vec<u8>>, std::io::ErrorKind> {
        let files = self.files();
        let bytes = files.get(path).ok_or(std::io::ErrorKind::NotFound)?;
        let mut read = bytes[..bytes.len().min(limit)].to_vec();
        read.extend(std::iter::repeat_n(b' ', self.overread));
        Ok(zeroize::Zeroizing::new(read))
    }
    fn write_new(&self, path: &std::path::Path, bytes: &[u8]) -> Result<(), std::io::ErrorKind> {
        self.step()?;
        let mut files = self.files();
        if files.contains_key(path) {
            return Err(std::io::ErrorKind::AlreadyExists);
        }
        files.insert(path.to_owned(), bytes.to_vec());
        Ok(())
    }
    fn sync_file(&self, _path: &std::path::Path) -> Result<(), std::io::ErrorKind> {
        self.step()
    }
    fn rename(&self, from: &std::path::Path, to: &std::path::Path) -> Result<(), std::io::ErrorKind> {
        self.step()?;
        let mut files = self.files();
        let bytes = files.remove(from).ok_or(std::io::ErrorKind::NotFound)?;
        files.insert(to.to_owned(), bytes);
        Ok(())
    }
    fn link_new(&self, existing: &std::path::Path, new: &std::path::Path) -> Result<(), std::io::ErrorKind> {
        self.step()?;
        let mut files = self.files();
        if files.contains_key(new) {
            return Err(std::io::ErrorKind::AlreadyExists);
        }
        let bytes = files.get(existing).ok_or(std::io::ErrorKind::NotFound)?.clone();
        files.insert(new.to_owned(), bytes);
        Ok(())
    }
    fn remove(&self, path: &std::path::Path) -> Result<(), std::io::ErrorKind> {
        self.step()?;
        self.files().remove(path).map(drop).ok_or(std::io::ErrorKind::NotFound)
    }
    fn sync_directory(&self, _path: &std::path::Path) -> Result<(), std::io::ErrorKind> {
        self.step()
    }
    fn list(
        &self,
        directory: &std::path::Path,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<std::ffi::OsString>, std::io::ErrorKind> {
        if self.unlisted {
            return Err(std::io::ErrorKind::Unsupported);
        }
        let files = self.files();
        let names = files.keys().filter(|path| path.parent() == Some(directory)).filter_map(|path| path.file_name());
        let prefixed = names.filter(|name| name.to_str().is_some_and(|name| name.starts_with(prefix)));
        Ok(prefixed.take(limit).map(std::ffi::OsString::from).collect())
    }
    fn try_lock(&self, _path: &std::path::Path) -> Result<Option<tokenring::StorageLock>, std::io::ErrorKind> {
        use std::sync::atomic::Ordering::SeqCst;
        let contended = self.contended_attempts.fetch_update(SeqCst, SeqCst, |left| left.checked_sub(1)).is_ok();
        Ok((!contended).then(|| tokenring::StorageLock::new(())))
    }
    fn mode(&self, path: &std::path::Path) -> Result<Option<u32>, std::io::ErrorKind> {
        self.files().get(path).map(|_| Some(0o640)).ok_or(std::io::ErrorKind::NotFound)
    }
    fn wait(&self, _duration: std::time::Duration) {
        self.waits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn memory_store(storage: &std::sync::Arc<CrashingMemory>) -> FileStore {
    FileStore::with_storage("/keys/keys.json", storage.clone())
}

#[test]
fn a_crash_at_any_step_of_a_save_or_create_leaves_the_old_file_or_the_new_one() {
    use std::sync::atomic::Ordering::SeqCst;
    let old = KeyRing::generate(NOW).unwrap();
    let mut new = KeyRing::from_jwk_set(old.to_jwk_set().as_bytes()).unwrap();
    new.rotate(&tokenring::Rotation::new(), NOW + 1).unwrap();
    let (old_document, new_document) = (old.to_jwk_set(), new.to_jwk_set());
    let mut outcomes = std::collections::BTreeSet::new();
    for crash_at in 0..8 {
        let storage = std::sync::Arc::new(CrashingMemory { crash_at: usize::MAX.into(), ..Default::default() });
        memory_store(&storage).create(&old).unwrap();
        storage.operations.store(0, SeqCst);
        storage.crash_at.store(crash_at, SeqCst);
        let saved = memory_store(&storage).save(&new);
        let after = memory_store(&storage).load().unwrap().to_jwk_set();
        assert!(*after == *old_document || *after == *new_document, "crash at {crash_at}");
        outcomes.insert((saved.is_ok(), *after == *new_document));
        // A failed save is never reported as done; a successful one left the new file.
        assert!(saved.is_err() || *after == *new_document, "crash at {crash_at}");

        let empty = std::sync::Arc::new(CrashingMemory::default());
        empty.crash_at.store(crash_at, SeqCst);
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
    use std::sync::atomic::Ordering::SeqCst;
    let storage = std::sync::Arc::new(CrashingMemory { crash_at: usize::MAX.into(), ..Default::default() });
    let store = memory_store(&storage);
    store.create(&KeyRing::generate(NOW).unwrap()).unwrap();
    storage.contended_attempts.store(3, SeqCst);
    let rotated = store.update(|ring| Ok(ring.rotate(&tokenring::Rotation::new(), NOW + 1)?)).unwrap();
    assert_eq!(storage.waits.load(SeqCst), 3);
    assert!(store.load().unwrap().keys(NOW + 1).iter().any(|key| key.kid == Some(rotated)));

    storage.waits.store(0, SeqCst);
    storage.contended_attempts.store(u32::MAX, SeqCst);
    let error = store.update(|ring| Ok(ring.rotate(&tokenring::Rotation::new(), NOW + 2)?)).unwrap_err();
    assert!(matches!(error, tokenring::Error::Store(StoreError::Locked { .. })), "{error:?}");
    assert_eq!(storage.waits.load(SeqCst), tokenring::limits::LOCK_ATTEMPTS_MAX - 1);
    assert_eq!(store.load().unwrap().keys(NOW + 2).len(), 2, "nothing written without the lock");
    assert_eq!(
        store.check_permissions().unwrap(),
        Some(tokenring::PermissionWarning::ReadableByOthers { mode: 0o640 })
    );
}

#[test]
fn save_and_create_give_up_on_a_held_lock_and_touch_nothing() {
    use std::sync::atomic::Ordering::SeqCst;
    // Another writer holds the lock for longer than a writer waits, with its temporary file
    // written: it is not a leftover, and nothing is written beside it.
    let storage = std::sync::Arc::new(CrashingMemory { crash_at: usize::MAX.into(), ..Default::default() });
    let theirs = KeyRing::generate(NOW).unwrap();
    storage.files().insert("/keys/.keys.json.tmp.0".into(), theirs.to_jwk_set().as_bytes().to_vec());
    storage.contended_attempts.store(u32::MAX, SeqCst);
    let before = storage.files().clone();
    let store = memory_store(&storage);
    let ours = KeyRing::generate(NOW).unwrap();
    assert!(matches!(store.save(&ours), Err(StoreError::Locked { .. })));
    assert!(matches!(store.create(&ours), Err(StoreError::Locked { .. })));
    let error = store.load_or_create(NOW).unwrap_err();
    assert!(matches!(error, tokenring::Error::Store(StoreError::Locked { .. })), "{error:?}");
    assert_eq!(*storage.files(), before);
    assert_eq!(storage.operations.load(SeqCst), 0, "no file written, synced, renamed or removed");
    assert_eq!(storage.waits.load(SeqCst), 3 * (tokenring::limits::LOCK_ATTEMPTS_MAX - 1));
}

#[test]
fn a_storage_that_reads_past_the_limit_is_refused() {
    let storage = std::sync::Arc::new(CrashingMemory { crash_at: usize::MAX.into(), ..Default::default() });
    memory_store(&storage).create(&KeyRing::generate(NOW).unwrap()).unwrap();
    let overreading = std::sync::Arc::new(CrashingMemory {
        crash_at: usize::MAX.into(),
        overread: tokenring::limits::KEY_SET_LEN_MAX + 2,
        files: std::sync::Mutex::new(storage.files().clone()),
        ..Default::default()
    });
    let error = memory_store(&overreading).load().unwrap_err();
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
    let storage =
        std::sync::Arc::new(CrashingMemory { unlisted: true, crash_at: usize::MAX.into(), ..Default::default() });
    let store = memory_store(&storage);
    for attempt in 0..tokenring::limits::TEMP_NAMES_MAX {
        storage.files().insert(format!("/keys/{}", temp_name(attempt)).into(), b"left by a crash".to_vec());
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

/// What a writer running on a [`HeldLock`] did, in the order it did it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LockEvent {
    /// It tried the lock file at this path, found it held, and is waiting (in `Storage::wait`)
    /// until the test releases it.
    Waiting(std::path::PathBuf),
    /// It returned, with this result (an error as its message).
    Finished(Result<(), String>),
}

/// Files in memory, symbolic links among them, and a lock file that another writer (the test)
/// holds until it lets go. A writer that finds the lock held reports it from `Storage::wait`
/// and waits there until [`release`](Self::release): the test sees "waiting" as an event, not
/// as the absence of one within some time.
#[derive(Debug)]
pub(crate) struct HeldLock {
    files: std::sync::Mutex<std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>>,
    links: std::sync::Mutex<std::collections::BTreeMap<std::path::PathBuf, std::path::PathBuf>>,
    held: std::sync::Mutex<Option<std::path::PathBuf>>,
    /// Every lock path a writer tried.
    tried: std::sync::Mutex<Vec<std::path::PathBuf>>,
    events: std::sync::Mutex<std::sync::mpsc::Sender<LockEvent>>,
    received: std::sync::Mutex<std::sync::mpsc::Receiver<LockEvent>>,
    released: std::sync::Condvar,
}

impl Default for HeldLock {
    fn default() -> Self {
        let (events, received) = std::sync::mpsc::channel();
        Self {
            files: Default::default(),
            links: Default::default(),
            held: Default::default(),
            tried: Default::default(),
            events: std::sync::Mutex::new(events),
            received: std::sync::Mutex::new(received),
            released: std::sync::Condvar::new(),
        }
    }
}

impl HeldLock {
    pub(crate) fn put(&self, path: &str, bytes: &[u8]) {
        self.files.lock().unwrap().insert(path.into(), bytes.to_vec());
    }

    pub(crate) fn link(&self, path: &str, target: &str) {
        self.links.lock().unwrap().insert(path.into(), target.into());
    }

    pub(crate) fn files(&self) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
        self.files.lock().unwrap().clone()
    }

    pub(crate) fn tried(&self) -> Vec<std::path::PathBuf> {
        self.tried.lock().unwrap().clone()
    }

    /// Another writer takes the lock file at `path`.
    pub(crate) fn hold(&self, path: &str) {
        *self.held.lock().unwrap() = Some(path.into());
    }

    /// The other writer lets go of its lock; a waiting writer tries again.
    pub(crate) fn release(&self) {
        *self.held.lock().unwrap() = None;
        self.released.notify_all();
    }

    /// The other writer renames its temporary file onto the key file.
    pub(crate) fn rename_now(&self, from: &str, to: &str) {
        let mut files = self.files.lock().unwrap();
        let bytes = files.remove(std::path::Path::new(from)).unwrap();
        files.insert(to.into(), bytes);
    }

    /// Runs a writer on another thread, which reports its result as [`LockEvent::Finished`].
    pub(crate) fn run(
        &self,
        writer: impl FnOnce() -> Result<(), String> + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        let events = self.events.lock().unwrap().clone();
        std::thread::spawn(move || {
            let _ = events.send(LockEvent::Finished(writer()));
        })
    }

    /// The writer's next event. The bound only keeps a broken store from hanging the test run:
    /// every event a correct store causes is sent before the test asks for it or right after.
    pub(crate) fn next_event(&self) -> LockEvent {
        let received = self.received.lock().unwrap();
        received.recv_timeout(std::time::Duration::from_secs(60)).expect("the writer neither waited nor returned")
    }
}

impl tokenring::Storage for HeldLock {
    fn read(&self, path: &std::path::Path, limit: usize) -> Result<zeroize::Zeroizing<Vec<u8>>, std::io::ErrorKind> {
        let files = self.files.lock().unwrap();
        let bytes = files.get(path).ok_or(std::io::ErrorKind::NotFound)?;
        Ok(zeroize::Zeroizing::new(bytes[..bytes.len().min(limit)].to_vec()))
    }
    fn write_new(&self, path: &std::path::Path, bytes: &[u8]) -> Result<(), std::io::ErrorKind> {
        let mut files = self.files.lock().unwrap();
        if files.contains_key(path) {
            return Err(std::io::ErrorKind::AlreadyExists);
        }
        files.insert(path.to_owned(), bytes.to_vec());
        Ok(())
    }
    fn sync_file(&self, _path: &std::path::Path) -> Result<(), std::io::ErrorKind> {
        Ok(())
    }
    fn rename(&self, from: &std::path::Path, to: &std::path::Path) -> Result<(), std::io::ErrorKind> {
        let mut files = self.files.lock().unwrap();
        let bytes = files.remove(from).ok_or(std::io::ErrorKind::NotFound)?;
        files.insert(to.to_owned(), bytes);
        Ok(())
    }
    fn link_new(&self, existing: &std::path::Path, new: &std::path::Path) -> Result<(), std::io::ErrorKind> {
        let mut files = self.files.lock().unwrap();
        if files.contains_key(new) {
            return Err(std::io::ErrorKind::AlreadyExists);
        }
        let bytes = files.get(existing).ok_or(std::io::ErrorKind::NotFound)?.clone();
        files.insert(new.to_owned(), bytes);
        Ok(())
    }
    fn remove(&self, path: &std::path::Path) -> Result<(), std::io::ErrorKind> {
        self.files.lock().unwrap().remove(path).map(drop).ok_or(std::io::ErrorKind::NotFound)
    }
    fn sync_directory(&self, _path: &std::path::Path) -> Result<(), std::io::ErrorKind> {
        Ok(())
    }
    fn list(
        &self,
        directory: &std::path::Path,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<std::ffi::OsString>, std::io::ErrorKind> {
        let files = self.files.lock().unwrap();
        let names = files.keys().filter(|path| path.parent() == Some(directory)).filter_map(|path| path.file_name());
        let prefixed = names.filter(|name| name.to_str().is_some_and(|name| name.starts_with(prefix)));
        Ok(prefixed.take(limit).map(std::ffi::OsString::from).collect())
    }
    fn try_lock(&self, path: &std::path::Path) -> Result<Option<tokenring::StorageLock>, std::io::ErrorKind> {
        self.tried.lock().unwrap().push(path.to_owned());
        let held = self.held.lock().unwrap();
        Ok((held.as_deref() != Some(path)).then(|| tokenring::StorageLock::new(())))
    }
    fn mode(&self, path: &std::path::Path) -> Result<Option<u32>, std::io::ErrorKind> {
        self.files.lock().unwrap().get(path).map(|_| Some(0o600)).ok_or(std::io::ErrorKind::NotFound)
    }
    fn wait(&self, _duration: std::time::Duration) {
        let lock = self.tried.lock().unwrap().last().cloned().unwrap_or_default();
        let _ = self.events.lock().unwrap().send(LockEvent::Waiting(lock));
        let held = self.held.lock().unwrap();
        drop(self.released.wait_while(held, |held| held.is_some()).unwrap());
    }
    fn entry_kind(&self, path: &std::path::Path) -> Result<tokenring::EntryKind, std::io::ErrorKind> {
        if let Some(target) = self.links.lock().unwrap().get(path) {
            return Ok(tokenring::EntryKind::Symlink(target.clone()));
        }
        match self.files.lock().unwrap().contains_key(path) {
            true => Ok(tokenring::EntryKind::File),
            false => Err(std::io::ErrorKind::NotFound),
        }
    }
}
