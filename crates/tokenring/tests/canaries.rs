//! Every canary (`--features canaries`) changes what the library does: armed, the bug shows;
//! disarmed, the same steps behave. A canary that changed nothing would let a checker that
//! misses it look as if it caught it.

#![allow(clippy::unwrap_used)]

use std::io::ErrorKind;
use std::sync::Arc;

use serde_json::{json, Value};
use tokenring::canary::{self, Canary};
use tokenring::{FileStore, KeyRing, Rejection, Rotation, SharedRing, StoreError, Validation};
use tokenring_testkit::document::MemoryDocument;
use tokenring_testkit::storage::{Call, MemoryStorage};

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

/// A store in memory holding a fresh ring, its storage, and that ring.
fn store_in_memory() -> (FileStore, Arc<MemoryStorage>, KeyRing) {
    let memory = Arc::new(MemoryStorage::new());
    let store = FileStore::with_storage("/keys/keys.json", memory.clone());
    let ring = KeyRing::generate(NOW).unwrap();
    store.create(&ring).unwrap();
    (store, memory, ring)
}

/// The canaries this file has a test for, which shows it armed and disarmed.
const TESTED: [Canary; 12] = [
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
    Canary::SwapConflictIgnored,
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
    memory.hold_lock("/keys/.keys.json.lock");
    let (armed, disarmed) = armed_then_disarmed(Canary::UpdateTakesNoLock, || {
        memory.take_calls();
        let outcome = store.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW)?));
        (outcome.map_err(|error| error.to_string()), memory.count(|call| matches!(call, Call::TryLock { .. })))
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
        memory.fail_writes(Some(ErrorKind::StorageFull));
        let saved = store.save(&KeyRing::generate(NOW).unwrap());
        assert!(saved.is_err(), "the disk is full");
        let after = store.load().map(|loaded| loaded.to_jwk_set() == ring.to_jwk_set());
        let files = memory.files().len();
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
        memory.put("/keys/keys.json", b"{\"keys\":[");
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

#[test]
fn swap_conflict_ignored_drops_a_change_that_lost_the_race_and_reports_success() {
    let (armed, disarmed) = armed_then_disarmed(Canary::SwapConflictIgnored, || {
        let document = MemoryDocument::new("memory://keys");
        let (shared, _) = SharedRing::open_or_create(document.clone(), NOW).unwrap();
        // Another writer's rotation lands between this update's read and its swap.
        let other = SharedRing::open(document.clone()).unwrap();
        document.before_swaps(1, move || {
            other.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW + 1)?)).map(|_| ()).unwrap()
        });
        let updated = shared.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW + 2)?));
        let keys = KeyRing::from_jwk_set(&document.bytes().unwrap()).unwrap().issued_kids().len();
        (updated.is_ok(), keys)
    });
    assert_eq!(armed, (true, 2), "the update said it rotated, and its key is not in the store");
    assert_eq!(disarmed, (true, 3), "the update retried on the other writer's ring and kept both keys");
}
