//! The oracle's ground truth about keys and tokens.
//!
//! [`KeySetModel`] is an independent statement of what a key ring must hold and how each key
//! behaves: which keys, with which lifecycle times (`created`, `activate_at`, `retire_at`,
//! `forget_at`), which key signs at a given time, and which key identifiers the ring remembers.
//! It follows the rules the core documents for the key lifecycle (a staged rotation prunes
//! forgotten keys first, refuses a full ring, activates the new key after the propagation time
//! and retires every earlier key an overlap after that; pruning drops only forgotten keys and
//! keeps their identifiers; the history forgets its oldest unheld identifiers; a JWK Set round
//! trip keeps everything) without calling the core, and is compared with the real ring after
//! every change. [`TokenFacts`] records how a token was made: which key's MAC it carries, which
//! header it has, its claims. From the two, [`expect`] derives what verification must answer,
//! following the documented order: length, segments, signature encoding, header, key by `kid`
//! (a forgotten key is `forgotten-key` without a MAC), MAC, the key's state (retired), claims.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use tokenring::limits::{FORGET_AFTER_SECS_DEFAULT, ISSUED_KIDS_MAX, KEYS_PER_RING_MAX};
use tokenring::{KeyRing, KeyState, Kid};

/// A number the simulator gives every key it sees made, the attacker's included: the ground
/// truth of which key signed what.
pub(crate) type KeySerial = u32;

/// Where a key is in its life, from its own times alone (the model's own statement of the
/// documented lifecycle). `Current` keys are the active one and the retiring ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Pending,
    Current,
    Retired,
    Forgotten,
}

/// One key as the model knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ModelKey {
    pub(crate) serial: KeySerial,
    pub(crate) kid: Kid,
    pub(crate) created_secs: u64,
    pub(crate) activate_at_secs: u64,
    pub(crate) retire_at_secs: Option<u64>,
    pub(crate) forget_at_secs: Option<u64>,
}

impl ModelKey {
    /// Forgotten from `forget_at`, retired from `retire_at`, pending before `activate_at`.
    pub(crate) fn phase(&self, now_secs: u64) -> Phase {
        let reached = |at: Option<u64>| at.is_some_and(|at| at <= now_secs);
        if reached(self.forget_at_secs) {
            Phase::Forgotten
        } else if reached(self.retire_at_secs) {
            Phase::Retired
        } else if now_secs < self.activate_at_secs {
            Phase::Pending
        } else {
            Phase::Current
        }
    }
}

/// How a rotation is staged, as the oracle understands the operator's intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Staging {
    pub(crate) propagation_secs: u64,
    pub(crate) overlap_secs: u64,
    pub(crate) forget_after_secs: u64,
}

/// A key an operator revoked: its secret is gone, its identifier and times stay until its
/// forget time (the later of its own and the default forget period after the revocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RevokedKey {
    pub(crate) serial: KeySerial,
    pub(crate) kid: Kid,
    created_secs: u64,
    activate_at_secs: u64,
    revoked_at_secs: u64,
    forget_at_secs: u64,
}

/// The model of one key ring.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeySetModel {
    keys: Vec<ModelKey>,
    issued: Vec<Kid>,
    revoked: Vec<RevokedKey>,
}

/// The model refuses a rotation because the ring is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RingFull;

impl KeySetModel {
    /// A ring of one fresh key, active from its creation.
    pub(crate) fn generated(serial: KeySerial, kid: Kid, now_secs: u64) -> Self {
        let key = ModelKey {
            serial,
            kid,
            created_secs: now_secs,
            activate_at_secs: now_secs,
            retire_at_secs: None,
            forget_at_secs: None,
        };
        Self { keys: vec![key], issued: vec![kid], revoked: Vec::new() }
    }

    /// The index of the key that signs at `now_secs`: of the current keys, the one activated
    /// last, then created last, then last in the ring (a rotation appends its key, so of two
    /// made in the same second the later one signs).
    fn signer_index(&self, now_secs: u64) -> Option<usize> {
        self.keys
            .iter()
            .enumerate()
            .filter(|(_, key)| key.phase(now_secs) == Phase::Current)
            .max_by_key(|(index, key)| (key.activate_at_secs, key.created_secs, *index))
            .map(|(index, _)| index)
    }

    /// The key that signs at `now_secs`, if any.
    pub(crate) fn signer(&self, now_secs: u64) -> Option<&ModelKey> {
        self.signer_index(now_secs).map(|index| &self.keys[index])
    }

    /// The key with this identifier that the ring still holds.
    pub(crate) fn held(&self, kid: Kid) -> Option<&ModelKey> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    /// The key with this serial that the ring still holds.
    pub(crate) fn held_serial(&self, serial: KeySerial) -> Option<&ModelKey> {
        self.keys.iter().find(|key| key.serial == serial)
    }

    /// Whether the ring remembers issuing `kid`.
    pub(crate) fn remembers(&self, kid: Kid) -> bool {
        self.issued.contains(&kid)
    }

    /// When the newest key not forgotten was created, if there is one.
    pub(crate) fn newest_created_secs(&self, now_secs: u64) -> Option<u64> {
        self.keys.iter().filter(|key| key.phase(now_secs) != Phase::Forgotten).map(|key| key.created_secs).max()
    }

    /// Whether a rotation "if the newest key is at least `max_age_secs` old" rotates.
    pub(crate) fn due_for_rotation(&self, now_secs: u64, max_age_secs: u64) -> bool {
        self.newest_created_secs(now_secs).is_none_or(|created| now_secs.saturating_sub(created) >= max_age_secs)
    }

    pub(crate) fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The keys held, in ring order.
    pub(crate) fn keys(&self) -> &[ModelKey] {
        &self.keys
    }

    /// The identifiers the ring holds: its keys' and its revoked keys'.
    fn held_kids(&self) -> BTreeSet<Kid> {
        self.keys.iter().map(|key| key.kid).chain(self.revoked.iter().map(|revoked| revoked.kid)).collect()
    }

    fn remember(&mut self, kid: Kid) {
        if self.issued.contains(&kid) {
            return;
        }
        self.issued.push(kid);
        let held = self.held_kids();
        trim_history(&mut self.issued, &held);
    }

    /// Drops the keys and revocation records past their forget time; returns how many.
    pub(crate) fn prune(&mut self, now_secs: u64) -> usize {
        let before = self.keys.len() + self.revoked.len();
        self.keys.retain(|key| key.phase(now_secs) != Phase::Forgotten);
        self.revoked.retain(|revoked| revoked.forget_at_secs > now_secs);
        before - self.keys.len() - self.revoked.len()
    }

    /// The revocation of the key named `kid` at `now_secs`, as `KeyRing::revoke` documents it:
    /// the key leaves the ring, its identifier and times stay until it is forgotten. `None`
    /// if the ring holds no such key (a revoked key is revoked once).
    pub(crate) fn revoke(&mut self, kid: Kid, now_secs: u64) -> Option<KeySerial> {
        let index = self.keys.iter().position(|key| key.kid == kid)?;
        let key = self.keys.remove(index);
        let forget = now_secs.saturating_add(FORGET_AFTER_SECS_DEFAULT);
        self.revoked.push(RevokedKey {
            serial: key.serial,
            kid,
            created_secs: key.created_secs,
            activate_at_secs: key.activate_at_secs,
            revoked_at_secs: now_secs,
            forget_at_secs: key.forget_at_secs.map_or(forget, |at| at.max(forget)),
        });
        Some(key.serial)
    }

    /// The revocation record of `kid`, if the ring has one.
    pub(crate) fn revoked(&self, kid: Kid) -> Option<&RevokedKey> {
        self.revoked.iter().find(|revoked| revoked.kid == kid)
    }

    /// A staged rotation: prunes, refuses a full ring, then publishes the new key.
    #[cfg(test)]
    pub(crate) fn rotate(
        &mut self,
        now_secs: u64,
        staging: Staging,
        serial: KeySerial,
        kid: Kid,
    ) -> Result<(), RingFull> {
        self.begin_rotation(now_secs)?;
        self.finish_rotation(now_secs, staging, serial, kid);
        Ok(())
    }

    /// The first half of a rotation, before the new key exists: prunes, and refuses a full
    /// ring.
    pub(crate) fn begin_rotation(&mut self, now_secs: u64) -> Result<(), RingFull> {
        self.prune(now_secs);
        // Revoked keys count until they are forgotten, as `KeyRing::rotate` documents.
        if self.keys.len() + self.revoked.len() >= KEYS_PER_RING_MAX {
            return Err(RingFull);
        }
        Ok(())
    }

    /// The second half of a rotation, with the new key: it activates after the propagation
    /// time; every key activating no later retires an overlap after that (or earlier, if it
    /// was already due to), and is forgotten the forget period after it retires (or earlier).
    pub(crate) fn finish_rotation(&mut self, now_secs: u64, staging: Staging, serial: KeySerial, kid: Kid) {
        let activate_at = now_secs.saturating_add(staging.propagation_secs);
        let retire_at = activate_at.saturating_add(staging.overlap_secs);
        for key in &mut self.keys {
            if key.activate_at_secs <= activate_at {
                let retire = key.retire_at_secs.map_or(retire_at, |at| at.min(retire_at));
                key.retire_at_secs = Some(retire);
                let forget = retire.saturating_add(staging.forget_after_secs);
                key.forget_at_secs = Some(key.forget_at_secs.map_or(forget, |at| at.min(forget)));
            }
        }
        self.keys.push(ModelKey {
            serial,
            kid,
            created_secs: now_secs,
            activate_at_secs: activate_at,
            retire_at_secs: None,
            forget_at_secs: None,
        });
        self.remember(kid);
    }

    /// What a ring written as a JWK Set and read back holds: the same keys with the same
    /// times in the same order, and the identifier history followed by the identifiers of the
    /// keys held, oldest unheld ones dropped past the limit.
    pub(crate) fn round_trip(&self) -> Self {
        let mut seen: BTreeSet<Kid> = BTreeSet::new();
        let mut issued: Vec<Kid> = self
            .issued
            .iter()
            .copied()
            .chain(self.keys.iter().map(|key| key.kid))
            .chain(self.revoked.iter().map(|revoked| revoked.kid))
            .filter(|kid| seen.insert(*kid))
            .collect();
        let held = self.held_kids();
        trim_history(&mut issued, &held);
        Self { keys: self.keys.clone(), issued, revoked: self.revoked.clone() }
    }

    /// Every key's state at `now_secs`, in ring order.
    fn states(&self, now_secs: u64) -> Vec<KeyState> {
        let signer = self.signer_index(now_secs);
        (0..self.keys.len())
            .map(|index| match self.keys[index].phase(now_secs) {
                Phase::Pending => KeyState::Pending,
                Phase::Current if Some(index) == signer => KeyState::Active,
                Phase::Current => KeyState::Retiring,
                Phase::Retired => KeyState::Retired,
                Phase::Forgotten => KeyState::Forgotten,
            })
            .collect()
    }

    /// Compares the model with a real ring at `now_secs`: keys, states, lifecycle times, the
    /// active key and the identifier history.
    pub(crate) fn disagreement_with(&self, ring: &KeyRing, now_secs: u64) -> Option<String> {
        type Row = (KeyState, u64, u64, Kid, Option<u64>, Option<u64>, Option<u64>);
        let states = self.states(now_secs);
        let mut expected: Vec<Row> = self
            .keys
            .iter()
            .zip(&states)
            .map(|(key, state)| {
                (*state, key.activate_at_secs, key.created_secs, key.kid, key.retire_at_secs, key.forget_at_secs, None)
            })
            .collect();
        expected.extend(self.revoked.iter().map(|revoked| {
            let state = if revoked.forget_at_secs <= now_secs { KeyState::Forgotten } else { KeyState::Revoked };
            let forget = Some(revoked.forget_at_secs);
            (
                state,
                revoked.activate_at_secs,
                revoked.created_secs,
                revoked.kid,
                None,
                forget,
                Some(revoked.revoked_at_secs),
            )
        }));
        // The core lists keys by state, newest first within a state; the sort is stable.
        expected.sort_by_key(|row| (row.0, core::cmp::Reverse((row.1, row.2))));
        let infos = ring.keys(now_secs);
        let actual: Vec<Row> = infos
            .iter()
            .filter_map(|info| {
                info.kid.map(|kid| {
                    (
                        info.state,
                        info.activate_at_secs,
                        info.created_secs,
                        kid,
                        info.retire_at_secs,
                        info.forget_at_secs,
                        info.revoked_at_secs,
                    )
                })
            })
            .collect();
        if actual.len() != infos.len() {
            return Some("the ring holds a key without a kid".to_owned());
        }
        if expected != actual {
            let first = expected.iter().zip(&actual).position(|(model, real)| model != real);
            return Some(format!(
                "the ring holds {} keys (active {:?}), the model {} (active {:?}); first difference at row {:?}: ring {:?}, model {:?}",
                actual.len(),
                ring.active_kid(now_secs).map(|kid| kid.to_string()),
                expected.len(),
                self.signer(now_secs).map(|key| key.kid.to_string()),
                first,
                first.map(|row| describe_row(&actual[row])),
                first.map(|row| describe_row(&expected[row])),
            ));
        }
        if ring.active_kid(now_secs) != self.signer(now_secs).map(|key| key.kid) {
            return Some("the ring's active kid differs from the model's".to_owned());
        }
        if ring.issued_kids() != self.issued.as_slice() {
            return Some(format!(
                "the ring remembers {} issued kids, the model {}",
                ring.issued_kids().len(),
                self.issued.len()
            ));
        }
        None
    }
}

/// A row of the comparison without its key identifier.
fn describe_row(row: &(KeyState, u64, u64, Kid, Option<u64>, Option<u64>, Option<u64>)) -> String {
    format!(
        "{} activate={} created={} retire={:?} forget={:?} revoked={:?}",
        row.0.as_str(),
        row.1,
        row.2,
        row.4,
        row.5,
        row.6
    )
}

/// Drops the oldest identifiers until at most [`ISSUED_KIDS_MAX`] are left, never one of a
/// key still held.
fn trim_history(issued: &mut Vec<Kid>, held: &BTreeSet<Kid>) {
    let mut excess = issued.len().saturating_sub(ISSUED_KIDS_MAX);
    if excess == 0 {
        return;
    }
    issued.retain(|kid| {
        let drop = excess > 0 && !held.contains(kid);
        if drop {
            excess -= 1;
        }
        !drop
    });
}

/// A token's JOSE header, as the attacker or the node wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderFacts {
    /// `alg` is `HS256`; the header names this `kid`, or none.
    Hs256 { kid: Option<Kid> },
    /// `alg` is anything else (`none`, `HS512`, `hs256`, ...), and comes first in the header.
    OtherAlgorithm,
}

/// A token's overall form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Three segments, a canonical 43-character signature, a header that is JSON.
    Compact(HeaderFacts),
    /// Three segments, a header that is JSON, but a signature that is not 43 characters.
    BadSignatureLength(HeaderFacts),
    /// Not three segments, within the length limit.
    WrongSegments,
    /// Longer than the token length limit.
    Oversize,
}

/// How a token was made: everything the oracle needs to know what verifying it must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TokenFacts {
    pub(crate) shape: Shape,
    /// The key whose MAC matches the token's first two segments as sent, if any.
    pub(crate) signed_by: Option<KeySerial>,
    pub(crate) exp_secs: u64,
    pub(crate) nbf_secs: u64,
    /// The `sub` claim.
    pub(crate) subject: u32,
    /// The true (simulated) time at which it was issued, in milliseconds.
    pub(crate) issued_ms: u64,
}

impl TokenFacts {
    /// The `kid` the header names.
    pub(crate) fn kid(&self) -> Option<Kid> {
        match self.shape {
            Shape::Compact(HeaderFacts::Hs256 { kid }) => kid,
            _ => None,
        }
    }
}

/// What verification must answer: accepted, or rejected with this code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Accepted,
    Rejected(&'static str),
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected(code) => code,
        }
    }
}

/// What verifying a token with these facts, against a ring matching `model`, at `now_secs`
/// with `leeway_secs`, must answer.
pub(crate) fn expect(facts: &TokenFacts, model: &KeySetModel, now_secs: u64, leeway_secs: u64) -> Outcome {
    let (header, signature_shaped) = match facts.shape {
        Shape::Oversize => return Outcome::Rejected("too-large"),
        Shape::WrongSegments => return Outcome::Rejected("malformed"),
        Shape::BadSignatureLength(header) => (header, false),
        Shape::Compact(header) => (header, true),
    };
    // The header, and the key it names, are judged before the signature's shape.
    let kid = match header {
        HeaderFacts::OtherAlgorithm => return Outcome::Rejected("unsupported-algorithm"),
        HeaderFacts::Hs256 { kid } => kid,
    };
    let named = match kid {
        // A revoked key's secret is gone: its identifier alone decides.
        Some(kid) if model.revoked(kid).is_some() => {
            let forgotten = model.revoked(kid).is_some_and(|revoked| revoked.forget_at_secs <= now_secs);
            return Outcome::Rejected(if forgotten { "forgotten-key" } else { "revoked-key" });
        }
        // The common case first: the token carries the MAC of the key its kid names.
        Some(kid) => match facts
            .signed_by
            .and_then(|serial| model.held_serial(serial))
            .filter(|key| key.kid == kid)
            .or_else(|| model.held(kid))
        {
            // A forgotten key cannot check a MAC: the identifier alone decides.
            Some(key) if key.phase(now_secs) == Phase::Forgotten => return Outcome::Rejected("forgotten-key"),
            Some(key) => Some(key),
            None if model.remembers(kid) => return Outcome::Rejected("forgotten-key"),
            None => return Outcome::Rejected("unknown-key"),
        },
        None => None,
    };
    if !signature_shaped {
        return Outcome::Rejected("malformed");
    }
    let key = match named {
        Some(key) if Some(key.serial) == facts.signed_by => key,
        Some(_) => return Outcome::Rejected("bad-signature"),
        // Without a kid every key not forgotten is tried.
        None => match model
            .keys()
            .iter()
            .find(|key| key.phase(now_secs) != Phase::Forgotten && Some(key.serial) == facts.signed_by)
        {
            Some(key) => key,
            None => return Outcome::Rejected("bad-signature"),
        },
    };
    // The MAC held: now the key's state.
    match key.phase(now_secs) {
        Phase::Retired => return Outcome::Rejected("retired-key"),
        Phase::Forgotten => return Outcome::Rejected("forgotten-key"),
        Phase::Pending | Phase::Current => {}
    }
    if now_secs >= facts.exp_secs.saturating_add(leeway_secs) {
        return Outcome::Rejected("expired");
    }
    if now_secs.saturating_add(leeway_secs) < facts.nbf_secs {
        return Outcome::Rejected("not-yet-valid");
    }
    Outcome::Accepted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{ChaChaEntropy, SimRng, Stream};
    use tokenring::Rotation;

    fn kid(name: &str) -> Kid {
        Kid::new(name).unwrap()
    }

    fn honest(serial: KeySerial, kid: Kid, now_secs: u64) -> TokenFacts {
        TokenFacts {
            shape: Shape::Compact(HeaderFacts::Hs256 { kid: Some(kid) }),
            signed_by: Some(serial),
            exp_secs: now_secs + 100,
            nbf_secs: now_secs,
            subject: 1,
            issued_ms: 0,
        }
    }

    const STAGING: Staging = Staging { propagation_secs: 20, overlap_secs: 50, forget_after_secs: 100 };

    #[test]
    fn classification_follows_the_lifecycle_and_the_verification_order() {
        let mut model = KeySetModel::generated(1, kid("a"), 1000);
        model.rotate(1000, STAGING, 2, kid("b")).unwrap();
        // b is pending until 1020: a signs, b already verifies.
        assert_eq!(model.signer(1019).map(|key| key.serial), Some(1));
        assert_eq!(model.signer(1020).map(|key| key.serial), Some(2));
        let old = honest(1, kid("a"), 1000);
        let new = honest(2, kid("b"), 1000);
        assert_eq!(expect(&new, &model, 1005, 0), Outcome::Accepted);
        assert_eq!(expect(&old, &model, 1069, 0), Outcome::Accepted);
        assert_eq!(expect(&old, &model, 1070, 0), Outcome::Rejected("retired-key"));
        let forged = TokenFacts { signed_by: Some(99), ..old };
        assert_eq!(expect(&forged, &model, 1070, 0), Outcome::Rejected("bad-signature"));
        // Forgotten at 1170, held or pruned: forgotten-key for genuine and forged alike.
        assert_eq!(expect(&old, &model, 1170, 0), Outcome::Rejected("forgotten-key"));
        assert_eq!(expect(&forged, &model, 1170, 0), Outcome::Rejected("forgotten-key"));
        assert_eq!(model.prune(1169), 0);
        assert_eq!(model.prune(1170), 1);
        assert_eq!(expect(&forged, &model, 1170, 0), Outcome::Rejected("forgotten-key"));
        assert_eq!(expect(&new, &model, 1100, 0), Outcome::Rejected("expired"));
        assert_eq!(expect(&new, &model, 1100, 1), Outcome::Accepted);
        assert_eq!(expect(&new, &model, 980, 10), Outcome::Rejected("not-yet-valid"));
        let unknown = honest(3, kid("c"), 1000);
        assert_eq!(expect(&unknown, &model, 1010, 0), Outcome::Rejected("unknown-key"));
        let no_kid = TokenFacts { shape: Shape::Compact(HeaderFacts::Hs256 { kid: None }), signed_by: None, ..new };
        assert_eq!(expect(&no_kid, &model, 1010, 0), Outcome::Rejected("bad-signature"));
        let alg = TokenFacts { shape: Shape::Compact(HeaderFacts::OtherAlgorithm), ..new };
        assert_eq!(expect(&alg, &model, 1010, 0), Outcome::Rejected("unsupported-algorithm"));
        // The header and its key come before the signature's shape.
        let none = TokenFacts { shape: Shape::BadSignatureLength(HeaderFacts::OtherAlgorithm), ..new };
        assert_eq!(expect(&none, &model, 1010, 0), Outcome::Rejected("unsupported-algorithm"));
        let cut = TokenFacts { shape: Shape::BadSignatureLength(HeaderFacts::Hs256 { kid: Some(kid("b")) }), ..new };
        assert_eq!(expect(&cut, &model, 1010, 0), Outcome::Rejected("malformed"));
        let cut_unknown =
            TokenFacts { shape: Shape::BadSignatureLength(HeaderFacts::Hs256 { kid: Some(kid("z")) }), ..new };
        assert_eq!(expect(&cut_unknown, &model, 1010, 0), Outcome::Rejected("unknown-key"));
    }

    /// Random staged rotations, prunes and round trips, far past `ISSUED_KIDS_MAX` and up to a
    /// full ring: the model and the real ring agree at every step, at several times each.
    #[test]
    fn model_agrees_with_the_real_ring_through_rotation_prune_and_round_trip() {
        let mut entropy = ChaChaEntropy::new(5, Stream::Keys);
        let mut draws = SimRng::new(5, Stream::Faults);
        let mut ring = KeyRing::generate_with(&mut entropy, 1000).unwrap();
        let mut model = KeySetModel::generated(1, ring.active_kid(1000).unwrap(), 1000);
        let mut now = 1000;
        let (mut refused, mut pruned) = (0, 0);
        for serial in 2..(ISSUED_KIDS_MAX as KeySerial + 200) {
            now += draws.between(0, 40);
            let staging = Staging {
                propagation_secs: draws.between(0, 60),
                overlap_secs: draws.between(0, 300),
                forget_after_secs: if serial < 340 { draws.between(0, 600) } else { 100_000 },
            };
            let rotation = Rotation::new()
                .propagation_secs(staging.propagation_secs)
                .overlap_secs(staging.overlap_secs)
                .forget_after_secs(staging.forget_after_secs);
            let modelled = model.begin_rotation(now);
            match ring.rotate_with(&rotation, &mut entropy, now) {
                Ok(new_kid) => {
                    assert_eq!(modelled, Ok(()), "rotation {serial}");
                    model.finish_rotation(now, staging, serial, new_kid);
                }
                Err(_) => {
                    assert_eq!(modelled, Err(RingFull), "rotation {serial}");
                    refused += 1;
                }
            }
            for later in [0, 1, 19, 20, 60, 400] {
                assert_eq!(model.disagreement_with(&ring, now + later), None, "rotation {serial} +{later}");
            }
            if serial % 5 == 0 {
                let count = ring.prune(now + 30);
                assert_eq!(count, model.prune(now + 30));
                pruned += count;
            }
            if serial % 7 == 0 {
                let loaded = KeyRing::from_jwk_set(ring.to_jwk_set().as_bytes()).unwrap();
                assert_eq!(model.round_trip().disagreement_with(&loaded, now), None, "after reload {serial}");
            }
        }
        assert!(refused > 0 && pruned > 0, "refused {refused}, pruned {pruned}");
        assert_eq!(model.issued.len(), ISSUED_KIDS_MAX);
        // The comparison does see a difference.
        let mut ahead = model.clone();
        ahead.keys.remove(0);
        assert!(ahead.disagreement_with(&ring, now).is_some());
        let mut later = model.clone();
        later.keys[0].forget_at_secs = later.keys[0].forget_at_secs.map(|at| at + 1);
        assert!(later.disagreement_with(&ring, now).is_some());
        let mut forgetful = model.clone();
        forgetful.issued.remove(0);
        assert!(forgetful.disagreement_with(&ring, now).is_some());
        // Pruned identifiers stay remembered, in the ring and in the model alike.
        let loaded = KeyRing::from_jwk_set(ring.to_jwk_set().as_bytes()).unwrap();
        assert!(loaded.issued_kids().len() > loaded.keys(now).len());
        assert!(model.remembers(loaded.issued_kids()[0]));
        assert!(model.held(loaded.issued_kids()[0]).is_none());
    }
}

/// The claims the nodes put in a session token (besides `iat`, `nbf` and `exp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Session {
    pub(crate) sub: u32,
}

/// The oracle's model of every key set document a writer wrote, found by the document's
/// SHA-256: what the simulated disks hold, as the oracle knows it.
#[derive(Debug, Default)]
pub(crate) struct DocumentModels {
    by_digest: BTreeMap<[u8; 32], KeySetModel>,
}

impl DocumentModels {
    /// Records the model of the document `ring` is written as, before it is written.
    pub(crate) fn register(&mut self, ring: &KeyRing, model: KeySetModel) {
        self.by_digest.insert(digest(ring.to_jwk_set().as_bytes()), model);
    }

    /// The model of the key set `ring` was read from, if a writer wrote it.
    pub(crate) fn of_ring(&self, ring: &KeyRing) -> Option<KeySetModel> {
        self.of_document(ring.to_jwk_set().as_bytes()).map(KeySetModel::round_trip)
    }

    /// The model of `document`, if a writer wrote it.
    pub(crate) fn of_document(&self, document: &[u8]) -> Option<&KeySetModel> {
        self.by_digest.get(&digest(document))
    }
}

/// SHA-256 of a key set document: how the oracle finds its model.
fn digest(document: &[u8]) -> [u8; 32] {
    Sha256::digest(document).into()
}
