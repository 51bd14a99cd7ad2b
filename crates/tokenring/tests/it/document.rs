//! The document-store seam (`RingStore`): a shared ring on a compare-and-swap store loses no
//! concurrent update, gives up with a clear error when other writers always win, creates only
//! when asked; and the file store's own swap refuses a stale version.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;

use tokenring::limits::SWAP_ATTEMPTS_MAX;
use tokenring::{
    Error, FileStore, KeyRing, Kid, Loaded, Reloaded, RingStore, Rotation, SharedRing, Storage, StoreError,
    StoreVersion, Swapped,
};
use tokenring_testkit::document::MemoryDocument;
use zeroize::Zeroizing;

use crate::persistence::temp_dir;
use crate::ring::NOW;

/// The key identifiers of the document `store` holds now.
fn stored_kids(store: &MemoryDocument) -> Vec<Kid> {
    let ring = KeyRing::from_jwk_set(&store.bytes().unwrap()).unwrap();
    ring.keys(NOW).into_iter().filter_map(|key| key.kid).collect()
}

#[test]
fn two_interleaved_updates_on_a_compare_and_swap_store_both_keep_their_key() {
    let store = MemoryDocument::new("memory://keys");
    let (first, loaded) = SharedRing::open_or_create(store.clone(), NOW).unwrap();
    assert_eq!(loaded, Loaded::Created);
    let second = SharedRing::open(store.clone()).unwrap();

    // The second writer's rotation lands between the first's read and its swap.
    let (other, slot) = (second.clone(), std::sync::Arc::new(std::sync::Mutex::new(None)));
    let other_kid = slot.clone();
    store.before_swaps(1, move || {
        let kid = other.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW)?)).unwrap();
        *other_kid.lock().unwrap() = Some(kid);
    });
    let mut attempts = 0;
    let kid = first
        .update(|ring| {
            attempts += 1;
            Ok(ring.rotate(&Rotation::new(), NOW)?)
        })
        .unwrap();
    let other_kid = slot.lock().unwrap().expect("the second writer ran");

    assert_eq!(attempts, 2, "the first swap found the second writer's revision, and the change ran again");
    assert_eq!(store.swaps(), (2, 1), "two swaps landed, one conflict");
    let kids = stored_kids(&store);
    assert_eq!(kids.len(), 3, "{kids:?}");
    assert!(kids.contains(&kid) && kids.contains(&other_kid), "both rotations' keys are stored: {kids:?}");
    // The writer that retried holds what it wrote; the other picks it up on its reload.
    assert!(first.ring().keys(NOW).iter().any(|key| key.kid.as_ref() == Some(&other_kid)));
    assert!(matches!(second.reload().unwrap(), Reloaded::Changed { .. }));
    assert!(second.ring().keys(NOW).iter().any(|key| key.kid.as_ref() == Some(&kid)));
}

#[test]
fn an_update_that_always_loses_the_race_gives_up_with_a_conflict_and_writes_nothing() {
    let store = MemoryDocument::new("memory://keys");
    let (shared, _) = SharedRing::open_or_create(store.clone(), NOW).unwrap();
    let before = store.bytes().unwrap();
    // Another writer rewrites the document (same bytes, a new revision) before every swap.
    let other = store.clone();
    let bytes = before.clone();
    store.before_swaps(u32::MAX, move || other.overwrite(&bytes));

    let mut attempts = 0;
    let error = shared
        .update(|ring| {
            attempts += 1;
            Ok(ring.rotate(&Rotation::new(), NOW)?)
        })
        .unwrap_err();

    assert_eq!(attempts, SWAP_ATTEMPTS_MAX);
    let Error::Store(error @ StoreError::Conflict { attempts: reported, .. }) = error else { panic!("{error}") };
    assert_eq!(reported, SWAP_ATTEMPTS_MAX);
    assert_eq!(error.code(), "conflict");
    assert_eq!(
        error.to_string(),
        format!(
            "key set memory://keys was changed by other writers during each of {SWAP_ATTEMPTS_MAX} attempts to update it; this update wrote nothing (try again)"
        )
    );
    assert_eq!(store.bytes().unwrap(), before, "nothing was written");
    assert_eq!(store.swaps(), (0, SWAP_ATTEMPTS_MAX));
}

#[test]
fn a_missing_document_is_an_error_unless_creation_was_asked_and_a_damaged_one_is_left_alone() {
    let store = MemoryDocument::new("memory://keys");
    let missing = SharedRing::open(store.clone()).unwrap_err();
    assert!(matches!(missing, StoreError::DocumentNotFound { .. }), "{missing:?}");
    assert_eq!(missing.to_string(), "key set memory://keys does not exist");
    assert_eq!(missing.code(), "not-found");
    assert!(store.bytes().is_none(), "opening created nothing");

    let (shared, loaded) = SharedRing::open_or_create(store.clone(), NOW).unwrap();
    assert_eq!(loaded, Loaded::Created);
    let (again, loaded) = SharedRing::open_or_create(store.clone(), NOW).unwrap();
    assert_eq!(loaded, Loaded::Existing);
    assert_eq!(again.content_fingerprint(), shared.content_fingerprint());
    assert!(shared.store().is_none(), "not a key file");
    assert_eq!(shared.ring_store().unwrap().store_name().to_string(), "memory://keys");

    store.overwrite(b"{\"keys\": 3}");
    let corrupt = shared.reload().unwrap_err();
    assert!(matches!(corrupt, StoreError::DocumentCorrupt { .. }), "{corrupt:?}");
    assert!(corrupt.to_string().starts_with("key set memory://keys is not a usable HS256 key set (left untouched): "));
    assert!(shared.ring().active_kid(NOW).is_some(), "the last good ring keeps serving");
    let refused = shared.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW)?)).unwrap_err();
    assert!(matches!(refused, Error::Store(StoreError::DocumentCorrupt { .. })), "{refused}");
    assert_eq!(store.bytes().unwrap(), b"{\"keys\": 3}", "a damaged document is never replaced");
}

#[test]
fn the_file_store_swaps_only_from_the_version_it_holds() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    assert!(store.load_document().unwrap().is_none());
    store.save(&KeyRing::generate(NOW).unwrap()).unwrap();
    let read = store.load_document().unwrap().unwrap();
    assert_eq!(read.version, StoreVersion::digest_of(&read.bytes));

    let mut ring = KeyRing::from_jwk_set(&read.bytes).unwrap();
    ring.rotate(&Rotation::new(), NOW).unwrap();
    let theirs = ring.to_jwk_set();
    let swapped = store.swap_document(&read.version, &theirs).unwrap();
    assert_eq!(swapped, Swapped::Swapped(StoreVersion::digest_of(theirs.as_bytes())));

    // A second writer still holding the first version is refused, and the file keeps the first
    // writer's document.
    let mine = KeyRing::generate(NOW).unwrap().to_jwk_set();
    assert_eq!(store.swap_document(&read.version, &mine).unwrap(), Swapped::Conflict);
    assert_eq!(std::fs::read(store.path()).unwrap(), theirs.as_bytes());
    assert_eq!(store.create_document(&mine).unwrap(), tokenring::Created::AlreadyExists);
    assert_eq!(store.store_name().to_string(), store.path().display().to_string());
}

/// A storage that tells a missing file only when it is read: [`Storage::entry_kind`] left to
/// its default (every name a file), everything else the in-memory storage's. The simulator's
/// disk is one.
#[derive(Debug)]
struct KindsUnknown(tokenring_testkit::storage::MemoryStorage);

impl Storage for KindsUnknown {
    fn read(&self, path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, ErrorKind> {
        self.0.read(path, limit)
    }
    fn write_new(&self, path: &Path, bytes: &[u8]) -> Result<(), ErrorKind> {
        self.0.write_new(path, bytes)
    }
    fn sync_file(&self, path: &Path) -> Result<(), ErrorKind> {
        self.0.sync_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<(), ErrorKind> {
        self.0.rename(from, to)
    }
    fn link_new(&self, existing: &Path, new: &Path) -> Result<(), ErrorKind> {
        self.0.link_new(existing, new)
    }
    fn remove(&self, path: &Path) -> Result<(), ErrorKind> {
        self.0.remove(path)
    }
    fn sync_directory(&self, path: &Path) -> Result<(), ErrorKind> {
        self.0.sync_directory(path)
    }
    fn list(&self, directory: &Path, prefix: &str, limit: usize) -> Result<Vec<OsString>, ErrorKind> {
        self.0.list(directory, prefix, limit)
    }
    fn try_lock(&self, path: &Path) -> Result<Option<tokenring::StorageLock>, ErrorKind> {
        self.0.try_lock(path)
    }
    fn mode(&self, path: &Path) -> Result<Option<u32>, ErrorKind> {
        self.0.mode(path)
    }
}

#[test]
fn a_file_the_storage_reports_missing_only_on_read_is_created_when_asked_and_absent_otherwise() {
    let storage = Arc::new(KindsUnknown(tokenring_testkit::storage::MemoryStorage::new()));
    let store = FileStore::with_storage("/keys/keys.json", storage);
    assert!(store.load_document().unwrap().is_none());
    let missing = SharedRing::open(store.clone()).unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }), "{missing:?}");
    let (shared, loaded) = SharedRing::open_or_create(store.clone(), NOW).unwrap();
    assert_eq!(loaded, Loaded::Created);
    assert!(shared.ring().active_kid(NOW).is_some());
    assert!(store.load_document().unwrap().is_some());
}
