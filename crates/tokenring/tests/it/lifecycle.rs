//! The lifecycle of the ring's keys: keys and identifiers drawn from an entropy source, a fresh
//! `kid` at every rotation, the state of each key at a given time and the order they are listed
//! in, which key signs, and what pruning drops.

use serde_json::json;
use tokenring::limits::KEY_LEN_MAX;
use tokenring::{Entropy, Key, KeyError, KeyRing, KeyState, Kid, SignError};

use crate::helpers::{jwk, load, ring};
use crate::ring::NOW;

/// Fills each request with one byte repeated, taken in turn from `seeds`; fails when they run out.
struct Scripted {
    seeds: Vec<u8>,
    next: usize,
}

impl Scripted {
    fn new(seeds: &[u8]) -> Self {
        Self { seeds: seeds.to_vec(), next: 0 }
    }
}

impl Entropy for Scripted {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), KeyError> {
        let seed = *self.seeds.get(self.next).ok_or(KeyError::Entropy)?;
        self.next += 1;
        dest.fill(seed);
        Ok(())
    }
}

fn kid_from(seed: u8) -> Kid {
    Kid::generate(&mut Scripted::new(&[seed])).unwrap()
}

#[test]
fn rotation_never_reuses_the_kid_of_a_pruned_key() {
    // Seeds alternate key, kid: the third rotation's first kid is the pruned first key's.
    let mut entropy = Scripted::new(&[1, 10, 2, 11, 3, 10, 12]);
    let mut ring = KeyRing::generate_with(&mut entropy, NOW).unwrap();
    assert_eq!(ring.active_kid(NOW), Some(kid_from(10)));
    let rotation = tokenring::Rotation::new().propagation_secs(0).overlap_secs(0).forget_after_secs(0);
    assert_eq!(ring.rotate_with(&rotation, &mut entropy, NOW).unwrap(), kid_from(11));
    // The first key retired and was forgotten at NOW and is pruned now; its kid is only in the
    // issued history.
    let third = ring.rotate_with(&rotation, &mut entropy, NOW + 1).unwrap();
    assert!(ring.keys(NOW + 1).iter().all(|info| info.kid != Some(kid_from(10))));
    assert_eq!(third, kid_from(12));
    assert_eq!(ring.issued_kids(), [kid_from(10), kid_from(11), kid_from(12)]);
}

#[test]
fn rotation_never_reuses_the_kid_of_a_held_key() {
    let mut entropy = Scripted::new(&[1, 10, 2, 10, 11]);
    let mut ring = KeyRing::generate_with(&mut entropy, NOW).unwrap();
    assert_eq!(ring.rotate_with(&tokenring::Rotation::new(), &mut entropy, NOW).unwrap(), kid_from(11));
}

#[test]
fn an_entropy_source_lent_by_mutable_reference_fails_and_fills_as_itself() {
    struct Failing;
    impl Entropy for Failing {
        fn fill(&mut self, _: &mut [u8]) -> Result<(), KeyError> {
            Err(KeyError::Entropy)
        }
    }
    let mut failing = Failing;
    let mut by_reference = &mut failing;
    assert_eq!(Key::generate(&mut by_reference).unwrap_err(), KeyError::Entropy);
    assert_eq!(KeyRing::generate_with(&mut by_reference, NOW).unwrap_err(), KeyError::Entropy);
    let mut dynamic: &mut dyn Entropy = &mut Failing;
    assert_eq!(Kid::generate(&mut dynamic).unwrap_err(), KeyError::Entropy);
    // And a working one hands its bytes through.
    let mut scripted = Scripted::new(&[7]);
    let mut by_reference = &mut scripted;
    assert_eq!(Key::generate(&mut by_reference).unwrap().expose_secret(), &[7; 32]);
}

#[test]
fn key_states_read_as_their_names() {
    assert_eq!(KeyState::Active.as_str(), "active");
    assert_eq!(KeyState::Pending.as_str(), "pending");
    assert_eq!(KeyState::Retiring.as_str(), "retiring");
    assert_eq!(KeyState::Revoked.as_str(), "revoked");
    assert_eq!(KeyState::Forgotten.as_str(), "forgotten");
    assert_eq!(KeyState::Retired.as_str(), "retired");
}

#[test]
fn keys_are_classified_and_ordered_active_retiring_retired_newest_first() {
    // The active key (newest without retire_at) is first in the document, not last.
    let ring = load(vec![
        jwk(1, "active", json!({"created_at": 300})),
        jwk(2, "retired-old", json!({"created_at": 100, "retire_at": NOW - 10})),
        jwk(3, "retired-now", json!({"created_at": 200, "retire_at": NOW})),
        jwk(4, "retiring", json!({"created_at": 50, "retire_at": NOW + 100})),
    ])
    .unwrap();
    let infos = ring.keys(NOW);
    let seen: Vec<(&str, KeyState)> =
        infos.iter().map(|info| (info.kid.as_ref().unwrap().as_str(), info.state)).collect();
    assert_eq!(
        seen,
        [
            ("active", KeyState::Active),
            ("retiring", KeyState::Retiring),
            ("retired-now", KeyState::Retired),
            ("retired-old", KeyState::Retired),
        ]
    );
    assert!(infos.iter().all(|info| info.bits == 256));
}

#[test]
fn key_bits_count_every_byte() {
    assert_eq!(Key::from_bytes(&[1; 32]).unwrap().bits(), 256);
    assert_eq!(Key::from_bytes(&[1; 33]).unwrap().bits(), 264);
    assert_eq!(Key::from_bytes(&[1; KEY_LEN_MAX]).unwrap().bits(), KEY_LEN_MAX * 8);
    assert_eq!(ring().keys(NOW)[0].bits, 256);
}

#[test]
fn a_ring_whose_keys_all_retired_cannot_sign() {
    let ring = load(vec![
        jwk(1, "a", json!({"created_at": 1, "retire_at": NOW + 10})),
        jwk(2, "b", json!({"created_at": 2, "retire_at": NOW + 20})),
    ])
    .unwrap();
    // Until its retire time, the most recently activated key signs.
    assert_eq!(ring.active_kid(NOW + 19).unwrap().as_str(), "b");
    assert!(!ring.can_sign(NOW + 20));
    assert_eq!(ring.active_kid(NOW + 20), None);
    assert_eq!(ring.sign_jws(b"{}", NOW + 20).unwrap_err(), SignError::NoActiveKey);
    assert!(ring.keys(NOW + 20).iter().all(|info| info.state == KeyState::Retired));
    assert!(load(vec![jwk(1, "a", json!({}))]).unwrap().can_sign(NOW));
}

#[test]
fn prune_drops_every_forgotten_key_at_once_counts_them_and_keeps_every_kid() {
    let mut ring = load(vec![
        jwk(1, "active", json!({"created_at": 300})),
        jwk(2, "forgotten-old", json!({"created_at": 100, "retire_at": NOW - 20, "forget_at": NOW - 10})),
        jwk(3, "forgotten-now", json!({"created_at": 200, "retire_at": NOW - 20, "forget_at": NOW})),
        jwk(4, "retired", json!({"created_at": 50, "retire_at": NOW - 20, "forget_at": NOW + 100})),
    ])
    .unwrap();
    assert_eq!(ring.prune(NOW), 2);
    let left: Vec<String> = ring.keys(NOW).iter().map(|info| info.kid.unwrap().to_string()).collect();
    assert_eq!(left, ["active", "retired"]);
    assert_eq!(ring.active_kid(NOW).unwrap().as_str(), "active");
    assert_eq!(ring.prune(NOW), 0);
    assert_eq!(ring.prune(NOW + 100), 1);
    assert_eq!(ring.issued_kids().len(), 4, "pruning keeps every identifier");
}
