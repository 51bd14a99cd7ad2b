//! Table tests of key states and of the signer's choice over time, in the style of ASP.NET
//! Core's key-resolver tests: a ring laid out with explicit times, then the answer at each
//! instant around every boundary.

use super::*;
use crate::ring::key::Key;

const T0: u64 = 1_700_000_000;

/// A key created at `created` that activates at `activate`, with the given end times.
fn key(name: &str, created: u64, activate: u64, retire: Option<u64>, forget: Option<u64>) -> RingKey {
    let times =
        KeyTimes { created_secs: created, activate_at_secs: activate, retire_at_secs: retire, forget_at_secs: forget };
    RingKey::new(Some(Kid::new(name).unwrap()), Key::from_bytes(&[name.len() as u8; 32]).unwrap(), times, true)
}

fn ring(keys: Vec<RingKey>) -> KeyRing {
    let issued = keys.iter().filter_map(RingKey::kid).collect();
    KeyRing { keys, issued, revoked: Vec::new() }
}

fn signer(ring: &KeyRing, now: u64) -> Option<String> {
    ring.active_kid(now).map(|kid| kid.to_string())
}

fn state(ring: &KeyRing, name: &str, now: u64) -> KeyState {
    ring.keys(now).into_iter().find(|info| info.kid.is_some_and(|kid| kid.as_str() == name)).unwrap().state
}

#[test]
fn phase_boundaries_of_one_key() {
    let key = key("a", T0, T0 + 10, Some(T0 + 20), Some(T0 + 30));
    let table = [
        (T0, Phase::Pending),
        (T0 + 9, Phase::Pending),
        (T0 + 10, Phase::Current),
        (T0 + 19, Phase::Current),
        (T0 + 20, Phase::Retired),
        (T0 + 29, Phase::Retired),
        (T0 + 30, Phase::Forgotten),
        (u64::MAX, Phase::Forgotten),
    ];
    for (now, phase) in table {
        assert_eq!(key.phase(now), phase, "at T0 + {}", now.wrapping_sub(T0));
    }
}

#[test]
fn the_signer_is_the_most_recently_activated_current_key() {
    // "old" signs until "new" activates at T0 + 100, then retires at T0 + 200. "next" was
    // published at T0 + 150 and activates at T0 + 300.
    let ring = ring(vec![
        key("old", T0 - 1000, T0 - 1000, Some(T0 + 200), Some(T0 + 400)),
        key("new", T0, T0 + 100, Some(T0 + 500), None),
        key("next", T0 + 150, T0 + 300, None, None),
    ]);
    let table: [(u64, &str, [KeyState; 3]); 8] = [
        (T0 - 1, "old", [KeyState::Active, KeyState::Pending, KeyState::Pending]),
        (T0 + 99, "old", [KeyState::Active, KeyState::Pending, KeyState::Pending]),
        (T0 + 100, "new", [KeyState::Retiring, KeyState::Active, KeyState::Pending]),
        (T0 + 199, "new", [KeyState::Retiring, KeyState::Active, KeyState::Pending]),
        (T0 + 200, "new", [KeyState::Retired, KeyState::Active, KeyState::Pending]),
        (T0 + 300, "next", [KeyState::Retired, KeyState::Retiring, KeyState::Active]),
        (T0 + 400, "next", [KeyState::Forgotten, KeyState::Retiring, KeyState::Active]),
        (T0 + 500, "next", [KeyState::Forgotten, KeyState::Retired, KeyState::Active]),
    ];
    for (now, expected_signer, states) in table {
        let at = now.wrapping_sub(T0);
        assert_eq!(signer(&ring, now).as_deref(), Some(expected_signer), "signer at T0 + {at}");
        for (name, expected) in ["old", "new", "next"].into_iter().zip(states) {
            assert_eq!(state(&ring, name, now), expected, "{name} at T0 + {at}");
        }
    }
}

#[test]
fn no_signer_when_every_key_is_pending_retired_revoked_or_verify_only() {
    let pending = ring(vec![key("p", T0, T0 + 10, None, None)]);
    assert_eq!(signer(&pending, T0), None);
    assert_eq!(signer(&pending, T0 + 10).as_deref(), Some("p"));

    let retired = ring(vec![key("r", T0, T0, Some(T0 + 10), None)]);
    assert_eq!(signer(&retired, T0 + 10), None);

    let v = key("v", T0, T0, None, None);
    let v = RingKey::new(v.kid(), v.key().clone(), *v.times(), false);
    let verify_only = ring(vec![v, key("s", T0 - 10, T0 - 10, None, None)]);
    assert_eq!(signer(&verify_only, T0).as_deref(), Some("s"), "a verify-only key never signs");
    assert_eq!(state(&verify_only, "v", T0), KeyState::Retiring);
    let may_sign: Vec<bool> = verify_only.keys(T0).iter().map(|info| info.may_sign).collect();
    assert_eq!(may_sign, [true, false], "the signer, then the verify-only key");

    let mut revoked = ring(vec![key("a", T0, T0, None, None), key("b", T0 - 10, T0 - 10, None, None)]);
    revoked.revoke(&Kid::new("a").unwrap(), T0).unwrap();
    assert_eq!(signer(&revoked, T0).as_deref(), Some("b"), "the previous key takes over from a revoked one");
    assert_eq!(state(&revoked, "a", T0), KeyState::Revoked);
}

#[test]
fn ties_go_to_the_later_creation_then_the_later_position() {
    let ring = ring(vec![
        key("first", T0, T0 + 10, None, None),
        key("second", T0 + 5, T0 + 10, None, None),
        key("third", T0 + 5, T0 + 10, None, None),
        key("fourth", T0 + 1, T0 + 10, None, None),
    ]);
    assert_eq!(signer(&ring, T0 + 10).as_deref(), Some("third"));
}

#[test]
fn two_rotations_in_one_second_leave_the_later_key_signing() {
    let mut ring = KeyRing::with_key(Key::from_bytes(&[1; 32]).unwrap(), Some(Kid::new("a").unwrap()), T0);
    let rotation = Rotation::new().propagation_secs(300).overlap_secs(3600);
    let b = ring.rotate(&rotation, T0 + 10).unwrap();
    let c = ring.rotate(&rotation, T0 + 10).unwrap();
    // "b" got a retire time from the second rotation; "c" has none and must be the signer, or
    // "b" would sign until it retires and its last tokens would outlive it.
    assert_eq!(ring.active_kid(T0 + 310), Some(c));
    assert_eq!(state(&ring, b.as_str(), T0 + 310), KeyState::Retiring);
}

#[test]
fn staged_rotation_sets_every_time() {
    let mut ring = KeyRing::with_key(Key::from_bytes(&[1; 32]).unwrap(), Some(Kid::new("a").unwrap()), T0);
    let rotation = Rotation::new().propagation_secs(300).overlap_secs(3600).forget_after_secs(86_400);
    let new = ring.rotate(&rotation, T0 + 1000).unwrap();
    let infos = ring.keys(T0 + 1000);
    let old = infos.iter().find(|info| info.kid == Kid::new("a").ok()).unwrap();
    let fresh = infos.iter().find(|info| info.kid == Some(new)).unwrap();
    assert_eq!((old.state, fresh.state), (KeyState::Active, KeyState::Pending));
    assert_eq!((fresh.created_secs, fresh.activate_at_secs), (T0 + 1000, T0 + 1300));
    assert_eq!((fresh.retire_at_secs, fresh.forget_at_secs), (None, None));
    assert_eq!(old.retire_at_secs, Some(T0 + 1300 + 3600));
    assert_eq!(old.forget_at_secs, Some(T0 + 1300 + 3600 + 86_400));
    assert_eq!(ring.active_kid(T0 + 1299).map(|kid| kid.to_string()).as_deref(), Some("a"));
    assert_eq!(ring.active_kid(T0 + 1300), Some(new));
}

#[test]
fn two_quick_rotations_keep_the_activation_order() {
    let mut ring = KeyRing::with_key(Key::from_bytes(&[1; 32]).unwrap(), Some(Kid::new("a").unwrap()), T0);
    let rotation = Rotation::new().propagation_secs(300).overlap_secs(3600);
    let b = ring.rotate(&rotation, T0 + 10).unwrap();
    let c = ring.rotate(&rotation, T0 + 20).unwrap();
    assert_eq!(ring.active_kid(T0 + 309).map(|kid| kid.to_string()).as_deref(), Some("a"));
    assert_eq!(ring.active_kid(T0 + 310), Some(b));
    assert_eq!(ring.active_kid(T0 + 320), Some(c));
    let infos = ring.keys(T0 + 320);
    let retire = |kid: Kid| infos.iter().find(|info| info.kid == Some(kid)).unwrap().retire_at_secs;
    // "a" keeps the earlier retire time it got from the first rotation; "b" retires an overlap
    // after "c" activates.
    assert_eq!(retire(Kid::new("a").unwrap()), Some(T0 + 310 + 3600));
    assert_eq!(retire(b), Some(T0 + 320 + 3600));
    assert_eq!(retire(c), None);
}

#[test]
fn rotation_refuses_long_durations_and_a_full_ring() {
    let mut ring = KeyRing::generate(T0).unwrap();
    // Ten years of 366 days, the documented bound, is accepted; a second more is not.
    let longest = 316_224_000;
    assert_eq!(crate::limits::DURATION_SECS_MAX, longest);
    let too_long = longest + 1;
    let mut other = KeyRing::generate(T0).unwrap();
    let at_the_bound = Rotation::new().propagation_secs(longest).overlap_secs(longest).forget_after_secs(longest);
    assert!(other.rotate(&at_the_bound, T0).is_ok());
    for rotation in [
        Rotation::new().propagation_secs(too_long),
        Rotation::new().overlap_secs(too_long),
        Rotation::new().forget_after_secs(too_long),
    ] {
        assert_eq!(ring.rotate(&rotation, T0), Err(KeyError::DurationTooLong { secs: too_long }));
    }
    assert_eq!(ring.keys(T0).len(), 1, "a refused rotation changes nothing");
    let rotation = Rotation::new().propagation_secs(0).overlap_secs(1000).forget_after_secs(1000);
    for step in 1..KEYS_PER_RING_MAX as u64 {
        ring.rotate(&rotation, T0 + step).unwrap();
    }
    assert_eq!(ring.keys(T0 + 64).len(), KEYS_PER_RING_MAX);
    assert_eq!(ring.rotate(&rotation, T0 + 64), Err(KeyError::RingFull));
    // Once the oldest keys are past their forget time, a rotation prunes them and succeeds.
    let later = T0 + 2 + 2000;
    assert!(ring.rotate(&rotation, later).is_ok());
    assert!(ring.keys(later).len() < KEYS_PER_RING_MAX);
}

#[test]
fn rotate_if_older_than_adds_at_most_one_key_per_period() {
    let mut ring = KeyRing::generate(T0).unwrap();
    let rotation = Rotation::new();
    let day = 86_400;
    assert_eq!(ring.rotate_if_older_than(day, &rotation, T0 + day - 1), Ok(None));
    let first = ring.rotate_if_older_than(day, &rotation, T0 + day).unwrap();
    assert!(first.is_some());
    // Again at once, and many times within the period: nothing, since the pending key is new.
    for offset in [0, 1, day / 2, day - 1] {
        assert_eq!(ring.rotate_if_older_than(day, &rotation, T0 + day + offset), Ok(None));
    }
    assert!(ring.rotate_if_older_than(day, &rotation, T0 + 2 * day).unwrap().is_some());
    assert_eq!(ring.keys(T0 + 2 * day).len(), 3);
}

#[test]
fn a_revoked_newest_key_does_not_hold_off_scheduled_rotation() {
    let mut ring = KeyRing::generate(T0).unwrap();
    let kid = ring.active_kid(T0).unwrap();
    ring.revoke(&kid, T0 + 1).unwrap();
    assert_eq!(ring.newest_created_secs(T0 + 1), None);
    assert!(ring.rotate_if_older_than(86_400, &Rotation::new(), T0 + 2).unwrap().is_some());
}

#[test]
fn revoking_is_idempotent_and_needs_a_held_key() {
    let mut ring = KeyRing::generate(T0).unwrap();
    let kid = ring.active_kid(T0).unwrap();
    ring.revoke(&kid, T0 + 5).unwrap();
    ring.revoke(&kid, T0 + 9).unwrap();
    let info = ring.keys(T0 + 10).remove(0);
    assert_eq!(info.revoked_at_secs, Some(T0 + 5));
    assert_eq!(info.forget_at_secs, Some(T0 + 5 + FORGET_AFTER_SECS_DEFAULT));
    assert_eq!(ring.revoke(&Kid::new("nobody").unwrap(), T0), Err(KeyError::UnknownKid));
}

#[test]
fn prune_drops_only_forgotten_keys_and_keeps_their_kids() {
    let mut ring = ring(vec![
        key("gone", T0, T0, Some(T0 + 10), Some(T0 + 20)),
        key("retired", T0, T0, Some(T0 + 10), Some(T0 + 30)),
        key("active", T0 + 5, T0 + 5, None, None),
    ]);
    assert_eq!(ring.prune(T0 + 19), 0);
    assert_eq!(ring.prune(T0 + 20), 1);
    assert_eq!(ring.keys(T0 + 20).len(), 2);
    assert!(ring.issued_kids().iter().any(|kid| kid.as_str() == "gone"));
    assert_eq!(ring.prune(T0 + 30), 1);
    assert_eq!(ring.prune(T0 + 30), 0);
}

#[test]
fn state_names_are_stable() {
    let names: Vec<&str> = KeyState::ALL.into_iter().map(KeyState::as_str).collect();
    assert_eq!(names, ["active", "pending", "retiring", "retired", "revoked", "forgotten"]);
    assert!(KeyState::ALL.windows(2).all(|pair| pair[0] < pair[1]), "listed in their order");
}

#[test]
fn rotation_defaults_and_builders() {
    let defaults = Rotation::new();
    assert_eq!(defaults, Rotation::default());
    assert_eq!(
        (defaults.propagation_secs, defaults.overlap_secs, defaults.forget_after_secs),
        (PROPAGATION_SECS_DEFAULT, OVERLAP_SECS_DEFAULT, FORGET_AFTER_SECS_DEFAULT)
    );
    // The documented values: five minutes, one day, thirty days.
    assert_eq!((PROPAGATION_SECS_DEFAULT, OVERLAP_SECS_DEFAULT, FORGET_AFTER_SECS_DEFAULT), (300, 86_400, 2_592_000));
    let custom = Rotation::new().propagation_secs(7).overlap_secs(11).forget_after_secs(13);
    assert_eq!((custom.propagation_secs, custom.overlap_secs, custom.forget_after_secs), (7, 11, 13));
}
