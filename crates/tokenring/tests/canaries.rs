//! Every canary (`--features canaries`) changes what the library does: armed, the bug shows;
//! disarmed, the same steps behave. A canary that changed nothing would let a checker that
//! misses it look as if it caught it.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokenring::canary::{self, Canary};
use tokenring::{FileStore, KeyRing, Rejection, Rotation, SharedRing, Storage, StorageLock, StoreError, Validation};
use zeroize::Zeroizing;

const NOW: u64 = 1_700_000_000;

/// Runs `steps` with `canary` armed, then disarmed, and returns both results.
fn armed_then_disarmed<T>(canary: Canary, steps: impl Fn() -> T) -> (T, T) {
    assert_eq!(canary::arm(Some(canary)), None);
    let armed = steps();
    assert_eq!(canary::arm(None), Some(canary));
    (armed, steps())
}

fn verify(ring: &KeyRing, token: &str, now_secs: u64) -> Result<Value, Rejection> {
    ring.verify::<Value>(token, &Validation::new(), now_secs).map(|verified| verified.claims().clone())
}

/// Files in memory; writes fail while `failing` is set, and the lock is held by someone else
/// while `lock_taken` is set.
#[derive(Debug, Default)]
struct Memory {
    files: Mutex<BTreeMap<PathBuf, Vec<u8>>>,
    failing: AtomicBool,
    lock_taken: AtomicBool,
    lock_attempts: AtomicUsize,
}

impl Storage for Memory {
    fn read(&self, path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, ErrorKind> {
        let files = self.files.lock().unwrap();
        let bytes = files.get(path).ok_or(ErrorKind::NotFound)?;
        Ok(Zeroizing::new(bytes[..bytes.len().min(limit)].to_vec()))
    }
    fn write_new(&self, path: &Path, bytes: &[u8]) -> Result<(), ErrorKind> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(ErrorKind::StorageFull);
        }
        let mut files = self.files.lock().unwrap();
        if files.contains_key(path) {
            return Err(ErrorKind::AlreadyExists);
        }
        files.insert(path.to_owned(), bytes.to_vec());
        Ok(())
    }
    fn sync_file(&self, _path: &Path) -> Result<(), ErrorKind> {
        Ok(())
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<(), ErrorKind> {
        let mut files = self.files.lock().unwrap();
        let bytes = files.remove(from).ok_or(ErrorKind::NotFound)?;
        files.insert(to.to_owned(), bytes);
        Ok(())
    }
    fn link_new(&self, existing: &Path, new: &Path) -> Result<(), ErrorKind> {
        let mut files = self.files.lock().unwrap();
        if files.contains_key(new) {
            return Err(ErrorKind::AlreadyExists);
        }
        let bytes = files.get(existing).ok_or(ErrorKind::NotFound)?.clone();
        files.insert(new.to_owned(), bytes);
        Ok(())
    }
    fn remove(&self, path: &Path) -> Result<(), ErrorKind> {
        self.files.lock().unwrap().remove(path).map(drop).ok_or(ErrorKind::NotFound)
    }
    fn sync_directory(&self, _path: &Path) -> Result<(), ErrorKind> {
        Ok(())
    }
    fn list(&self, _directory: &Path, _prefix: &str, _limit: usize) -> Result<Vec<std::ffi::OsString>, ErrorKind> {
        Ok(Vec::new())
    }
    fn try_lock(&self, _path: &Path) -> Result<Option<StorageLock>, ErrorKind> {
        self.lock_attempts.fetch_add(1, Ordering::SeqCst);
        Ok((!self.lock_taken.load(Ordering::SeqCst)).then(|| StorageLock::new(())))
    }
    fn mode(&self, _path: &Path) -> Result<Option<u32>, ErrorKind> {
        Ok(Some(0o600))
    }
    fn wait(&self, _duration: std::time::Duration) {}
}

/// A store in memory holding a fresh ring, and that ring.
fn store_in_memory() -> (FileStore, Arc<Memory>, KeyRing) {
    let memory = Arc::new(Memory::default());
    let store = FileStore::with_storage("/keys/keys.json", memory.clone());
    let ring = KeyRing::generate(NOW).unwrap();
    store.create(&ring).unwrap();
    (store, memory, ring)
}

/// The canaries this file has a test for, which shows it armed and disarmed.
const TESTED: [Canary; 11] = [
    Canary::SignerTakesPending,
    Canary::UpdateTakesNoLock,
    Canary::ExpNotChecked,
    Canary::RetireBoundaryOffByOne,
    Canary::SaveInPlace,
    Canary::RevokedKeyVerifies,
    Canary::ReloadEmptiesOnParseError,
    Canary::ActivationBoundaryOffByOne,
    Canary::MacSkippedForOwnHeader,
    Canary::ForgottenKeyRoutine,
    Canary::OverlapIgnored,
];

#[test]
fn every_canary_has_a_test_here() {
    let mut tested = TESTED.to_vec();
    tested.sort();
    tested.dedup();
    let mut all = Canary::ALL.to_vec();
    all.sort();
    assert_eq!(tested, all);
}

#[test]
fn every_canary_has_a_name_it_is_found_by() {
    for canary in Canary::ALL {
        assert_eq!(Canary::from_name(canary.as_str()), Some(canary));
        assert_eq!(canary.to_string(), canary.as_str());
    }
    assert_eq!(Canary::from_name("no-such-canary"), None);
}

#[test]
fn a_canary_is_armed_on_the_calling_thread_only() {
    canary::arm(Some(Canary::ExpNotChecked));
    assert!(canary::armed(Canary::ExpNotChecked));
    assert!(!canary::armed(Canary::SaveInPlace));
    let elsewhere = std::thread::spawn(canary::current).join().unwrap();
    assert_eq!(elsewhere, None);
    assert_eq!(canary::arm(None), Some(Canary::ExpNotChecked));
    assert_eq!(canary::current(), None);
}

#[test]
fn a_scope_arms_a_canary_until_it_ends_even_by_a_panic() {
    {
        let _outer = canary::scope(Some(Canary::SaveInPlace));
        {
            let _inner = canary::scope(Some(Canary::ExpNotChecked));
            assert_eq!(canary::current(), Some(Canary::ExpNotChecked));
        }
        assert_eq!(canary::current(), Some(Canary::SaveInPlace));
        let panicked = std::panic::catch_unwind(|| {
            let _run = canary::scope(None);
            assert_eq!(canary::current(), None);
            panic!("a run that fails");
        });
        assert!(panicked.is_err());
        assert_eq!(canary::current(), Some(Canary::SaveInPlace));
    }
    assert_eq!(canary::current(), None);
}

#[test]
fn signer_takes_pending_signs_with_a_key_before_its_activation() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let old = ring.active_kid(NOW).unwrap();
    let new = ring.rotate(&Rotation::new().propagation_secs(300), NOW).unwrap();
    let (armed, disarmed) = armed_then_disarmed(Canary::SignerTakesPending, || ring.active_kid(NOW + 1));
    assert_eq!((armed, disarmed), (Some(new), Some(old)));
}

#[test]
fn update_takes_no_lock_writes_while_another_writer_holds_the_lock() {
    let (store, memory, _) = store_in_memory();
    memory.lock_taken.store(true, Ordering::SeqCst);
    let (armed, disarmed) = armed_then_disarmed(Canary::UpdateTakesNoLock, || {
        memory.lock_attempts.store(0, Ordering::SeqCst);
        let outcome = store.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW)?));
        (outcome.map_err(|error| error.to_string()), memory.lock_attempts.load(Ordering::SeqCst))
    });
    assert!(armed.0.is_ok(), "{armed:?}");
    assert_eq!(armed.1, 0, "the lock was not even asked for");
    assert_eq!(disarmed.0.unwrap_err(), "key file /keys/keys.json is locked by another writer; try again");
    assert_eq!(disarmed.1, tokenring::limits::LOCK_ATTEMPTS_MAX as usize);
}

#[test]
fn exp_not_checked_accepts_an_expired_token() {
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&json!({"sub": "ada"}), 60, NOW).unwrap();
    let (armed, disarmed) = armed_then_disarmed(Canary::ExpNotChecked, || verify(&ring, &token, NOW + 3600));
    assert_eq!(armed.unwrap()["sub"], "ada");
    assert_eq!(disarmed, Err(Rejection::Expired));
}

#[test]
fn retire_boundary_off_by_one_verifies_in_the_retire_second_and_not_after() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&json!({"sub": "ada"}), 3600, NOW).unwrap();
    ring.rotate(&Rotation::new().propagation_secs(10).overlap_secs(100), NOW).unwrap();
    let retire_at = NOW + 10 + 100;
    let (armed, disarmed) = armed_then_disarmed(Canary::RetireBoundaryOffByOne, || {
        (
            verify(&ring, &token, retire_at - 1).is_ok(),
            verify(&ring, &token, retire_at),
            verify(&ring, &token, retire_at + 1),
        )
    });
    assert!(armed.0 && armed.1.is_ok(), "{armed:?}");
    assert_eq!(armed.2, Err(Rejection::RetiredKey));
    assert!(disarmed.0);
    assert_eq!((disarmed.1, disarmed.2), (Err(Rejection::RetiredKey), Err(Rejection::RetiredKey)));
}

#[test]
fn save_in_place_loses_the_key_file_when_the_write_fails() {
    let (armed, disarmed) = armed_then_disarmed(Canary::SaveInPlace, || {
        let (store, memory, ring) = store_in_memory();
        memory.failing.store(true, Ordering::SeqCst);
        let saved = store.save(&KeyRing::generate(NOW).unwrap());
        assert!(saved.is_err(), "the disk is full");
        let after = store.load().map(|loaded| loaded.to_jwk_set() == ring.to_jwk_set());
        let files = memory.files.lock().unwrap().len();
        (after, files)
    });
    assert!(matches!(armed.0, Err(StoreError::NotFound { .. })), "{armed:?}");
    assert!(matches!(disarmed.0, Ok(true)), "the previous file is intact: {disarmed:?}");
    assert_eq!((armed.1, disarmed.1), (0, 1));
}

#[test]
fn revoked_key_verifies_after_its_revocation() {
    let ring = KeyRing::generate(NOW).unwrap();
    let kid = ring.active_kid(NOW).unwrap();
    let token = ring.issue(&json!({"sub": "ada"}), 3600, NOW).unwrap();
    let (armed, disarmed) = armed_then_disarmed(Canary::RevokedKeyVerifies, || {
        let mut ring = ring.clone();
        ring.revoke(&kid, NOW + 1).unwrap();
        verify(&ring, &token, NOW + 2)
    });
    assert_eq!(armed.unwrap()["sub"], "ada");
    assert_eq!(disarmed, Err(Rejection::RevokedKey));
}

#[test]
fn reload_empties_on_parse_error_drops_the_last_good_ring() {
    let (armed, disarmed) = armed_then_disarmed(Canary::ReloadEmptiesOnParseError, || {
        let (store, memory, ring) = store_in_memory();
        let token = ring.issue(&json!({"sub": "ada"}), 3600, NOW).unwrap();
        let shared = SharedRing::open(store).unwrap();
        memory.files.lock().unwrap().insert(PathBuf::from("/keys/keys.json"), b"{\"keys\":[".to_vec());
        let reloaded = shared.reload();
        assert!(matches!(reloaded, Err(StoreError::Corrupt { .. })), "{reloaded:?}");
        let verified = verify(&shared.ring(), &token, NOW + 1).is_ok();
        (verified, shared.ring().keys(NOW + 1).len())
    });
    assert_eq!(armed, (false, 0));
    assert_eq!(disarmed, (true, 1));
}

#[test]
fn activation_boundary_off_by_one_keeps_a_fresh_ring_from_signing_at_once() {
    let ring = KeyRing::generate(NOW).unwrap();
    let (armed, disarmed) =
        armed_then_disarmed(Canary::ActivationBoundaryOffByOne, || (ring.can_sign(NOW), ring.can_sign(NOW + 1)));
    assert_eq!(armed, (false, true));
    assert_eq!(disarmed, (true, true));
}

#[test]
fn mac_skipped_for_own_header_accepts_a_forged_signature() {
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&json!({"sub": "ada"}), 3600, NOW).unwrap();
    let forged_by = KeyRing::generate(NOW).unwrap().issue(&json!({"sub": "ada"}), 3600, NOW).unwrap();
    let (head, _) = token.rsplit_once('.').unwrap();
    let (_, signature) = forged_by.rsplit_once('.').unwrap();
    let forged = format!("{head}.{signature}");
    let (armed, disarmed) = armed_then_disarmed(Canary::MacSkippedForOwnHeader, || verify(&ring, &forged, NOW));
    assert_eq!(armed.unwrap()["sub"], "ada");
    assert_eq!(disarmed, Err(Rejection::BadSignature));
}

#[test]
fn forgotten_key_routine_reports_a_forgotten_key_as_retired() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&json!({"sub": "ada"}), 3600, NOW).unwrap();
    ring.rotate(&Rotation::new().propagation_secs(0).overlap_secs(10).forget_after_secs(10), NOW).unwrap();
    assert_eq!(ring.prune(NOW + 20), 1);
    let (armed, disarmed) = armed_then_disarmed(Canary::ForgottenKeyRoutine, || verify(&ring, &token, NOW + 20));
    assert_eq!(armed, Err(Rejection::RetiredKey));
    assert_eq!(disarmed, Err(Rejection::ForgottenKey));
}

#[test]
fn overlap_ignored_retires_the_previous_key_as_the_new_one_activates() {
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&json!({"sub": "ada"}), 3600, NOW).unwrap();
    let (armed, disarmed) = armed_then_disarmed(Canary::OverlapIgnored, || {
        let mut ring = ring.clone();
        ring.rotate(&Rotation::new().propagation_secs(10).overlap_secs(100), NOW).unwrap();
        verify(&ring, &token, NOW + 10)
    });
    assert_eq!(armed, Err(Rejection::RetiredKey));
    assert_eq!(disarmed.unwrap()["sub"], "ada");
}
