//! The oracle's ground truth about keys and tokens.
//!
//! [`KeySetModel`] is an independent statement of what a key ring must hold: which keys, with
//! which retire-at times, and which key identifiers it remembers. It follows the rules the core
//! documents (rotation prunes first and refuses a full ring, pruning keeps identifiers, a JWK
//! Set round trip keeps everything) without calling the core, and is compared with the real
//! ring after every change. [`TokenFacts`] records how a token was made: which key's MAC it
//! carries, which header it has, its claims. From the two, [`expect`] derives what verification
//! must answer, following the documented order: length, segments, signature encoding, header,
//! key by `kid`, MAC, retired key, claims.

use std::collections::{BTreeSet, VecDeque};

use tokenring::limits::{ISSUED_KIDS_MAX, KEYS_PER_RING_MAX};
use tokenring::{KeyRing, KeyState, Kid};

/// A number the simulator gives every key it sees made, the attacker's included: the ground
/// truth of which key signed what.
pub(crate) type KeySerial = u32;

/// One key as the model knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ModelKey {
    pub(crate) serial: KeySerial,
    pub(crate) kid: Kid,
    pub(crate) created_secs: u64,
    pub(crate) retire_at_secs: Option<u64>,
}

impl ModelKey {
    fn is_retired(&self, now_secs: u64) -> bool {
        self.retire_at_secs.is_some_and(|retire_at| retire_at <= now_secs)
    }
}

/// The model of one key ring.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeySetModel {
    keys: Vec<ModelKey>,
    active: Option<usize>,
    issued: Vec<Kid>,
}

/// The model refuses a rotation because the ring is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RingFull;

impl KeySetModel {
    /// A ring of one fresh key.
    pub(crate) fn generated(serial: KeySerial, kid: Kid, now_secs: u64) -> Self {
        let key = ModelKey { serial, kid, created_secs: now_secs, retire_at_secs: None };
        Self { keys: vec![key], active: Some(0), issued: vec![kid] }
    }

    pub(crate) fn active(&self) -> Option<&ModelKey> {
        self.active.and_then(|index| self.keys.get(index))
    }

    /// The key with this identifier that the ring still holds.
    pub(crate) fn held(&self, kid: Kid) -> Option<&ModelKey> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    /// Whether the ring remembers issuing `kid`.
    pub(crate) fn remembers(&self, kid: Kid) -> bool {
        self.issued.contains(&kid)
    }

    pub(crate) fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn remember(&mut self, kid: Kid) {
        if self.issued.contains(&kid) {
            return;
        }
        if self.issued.len() == ISSUED_KIDS_MAX {
            self.issued.remove(0);
        }
        self.issued.push(kid);
    }

    /// Drops the keys past their retire-at time except the active one; returns how many.
    pub(crate) fn prune(&mut self, now_secs: u64) -> usize {
        let active_serial = self.active().map(|key| key.serial);
        let before = self.keys.len();
        self.keys.retain(|key| Some(key.serial) == active_serial || !key.is_retired(now_secs));
        self.active = active_serial.and_then(|serial| self.keys.iter().position(|key| key.serial == serial));
        before - self.keys.len()
    }

    /// A new active key; the previous one retires at `now + overlap` (or earlier, if it was
    /// already due to). Prunes first and refuses a full ring.
    #[cfg(test)]
    pub(crate) fn rotate(
        &mut self,
        now_secs: u64,
        overlap_secs: u64,
        serial: KeySerial,
        kid: Kid,
    ) -> Result<(), RingFull> {
        self.begin_rotation(now_secs)?;
        self.finish_rotation(now_secs, overlap_secs, serial, kid);
        Ok(())
    }

    /// The first half of [`rotate`](Self::rotate), before the new key exists: prunes, and
    /// refuses a full ring.
    pub(crate) fn begin_rotation(&mut self, now_secs: u64) -> Result<(), RingFull> {
        self.prune(now_secs);
        if self.keys.len() >= KEYS_PER_RING_MAX {
            return Err(RingFull);
        }
        Ok(())
    }

    /// The second half of [`rotate`](Self::rotate), with the new key.
    pub(crate) fn finish_rotation(&mut self, now_secs: u64, overlap_secs: u64, serial: KeySerial, kid: Kid) {
        if let Some(active) = self.active.and_then(|index| self.keys.get_mut(index)) {
            let retire_at = now_secs.saturating_add(overlap_secs);
            active.retire_at_secs = Some(active.retire_at_secs.map_or(retire_at, |at| at.min(retire_at)));
        }
        self.keys.push(ModelKey { serial, kid, created_secs: now_secs, retire_at_secs: None });
        self.active = Some(self.keys.len() - 1);
        self.remember(kid);
    }

    /// What a ring written as a JWK Set and read back holds: the same keys in the same order,
    /// the newest key without a retire-at time active, and the identifier history followed by
    /// the identifiers of the keys held.
    pub(crate) fn round_trip(&self) -> Self {
        let active = self
            .keys
            .iter()
            .enumerate()
            .filter(|(_, key)| key.retire_at_secs.is_none())
            .max_by_key(|(position, key)| (key.created_secs, core::cmp::Reverse(*position)))
            .map(|(position, _)| position);
        // `remember` for each identifier in turn, with a set standing in for its linear search:
        // the history can hold hundreds of identifiers and nodes reload often.
        let mut issued: VecDeque<Kid> = VecDeque::with_capacity(ISSUED_KIDS_MAX);
        let mut present: BTreeSet<Kid> = BTreeSet::new();
        for kid in self.issued.iter().copied().chain(self.keys.iter().map(|key| key.kid)) {
            if present.contains(&kid) {
                continue;
            }
            if issued.len() == ISSUED_KIDS_MAX {
                if let Some(forgotten) = issued.pop_front() {
                    present.remove(&forgotten);
                }
            }
            issued.push_back(kid);
            present.insert(kid);
        }
        Self { keys: self.keys.clone(), active, issued: issued.into() }
    }

    /// Compares the model with a real ring at `now_secs`: keys, states, retire-at times, the
    /// active key and the identifier history.
    pub(crate) fn disagreement_with(&self, ring: &KeyRing, now_secs: u64) -> Option<String> {
        let mut expected: Vec<(KeyState, u64, Kid, Option<u64>)> = self
            .keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                let state = if Some(index) == self.active {
                    KeyState::Active
                } else if key.is_retired(now_secs) {
                    KeyState::Retired
                } else {
                    KeyState::Verifying
                };
                (state, key.created_secs, key.kid, key.retire_at_secs)
            })
            .collect();
        expected.sort_by_key(|(state, created, _, _)| (*state, core::cmp::Reverse(*created)));
        let actual: Vec<(KeyState, u64, Kid, Option<u64>)> = ring
            .keys(now_secs)
            .into_iter()
            .filter_map(|info| info.kid.map(|kid| (info.state, info.created_secs, kid, info.retire_at_secs)))
            .collect();
        if actual.len() != ring.keys(now_secs).len() {
            return Some("the ring holds a key without a kid".to_owned());
        }
        if expected != actual {
            return Some(format!(
                "the ring holds {} keys (active {:?}), the model {} (active {:?}), or their states differ",
                actual.len(),
                ring.active_kid().map(|kid| kid.to_string()),
                expected.len(),
                self.active().map(|key| key.kid.to_string())
            ));
        }
        if ring.active_kid() != self.active().map(|key| key.kid) {
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
    /// Three segments, but the signature is not 43 characters.
    BadSignatureLength,
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

/// The expected outcome, and whether it rests on an identifier the ring remembers but no
/// longer holds a key for (then no MAC could be checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expectation {
    pub(crate) outcome: Outcome,
    pub(crate) via_pruned_kid: bool,
}

fn rejected(code: &'static str) -> Expectation {
    Expectation { outcome: Outcome::Rejected(code), via_pruned_kid: false }
}

/// What verifying a token with these facts, against a ring matching `model`, at `now_secs`
/// with `leeway_secs`, must answer.
pub(crate) fn expect(facts: &TokenFacts, model: &KeySetModel, now_secs: u64, leeway_secs: u64) -> Expectation {
    let header = match facts.shape {
        Shape::Oversize => return rejected("too-large"),
        Shape::WrongSegments | Shape::BadSignatureLength => return rejected("malformed"),
        Shape::Compact(header) => header,
    };
    let kid = match header {
        HeaderFacts::OtherAlgorithm => return rejected("unsupported-algorithm"),
        HeaderFacts::Hs256 { kid } => kid,
    };
    let key = match kid {
        Some(kid) => match model.held(kid) {
            Some(key) if Some(key.serial) == facts.signed_by => key,
            Some(_) => return rejected("bad-signature"),
            None if model.remembers(kid) => {
                return Expectation { outcome: Outcome::Rejected("retired-key"), via_pruned_kid: true }
            }
            None => return rejected("unknown-key"),
        },
        // Without a kid every held key is tried.
        None => match model.keys.iter().find(|key| Some(key.serial) == facts.signed_by) {
            Some(key) => key,
            None => return rejected("bad-signature"),
        },
    };
    if key.is_retired(now_secs) {
        return rejected("retired-key");
    }
    if now_secs >= facts.exp_secs.saturating_add(leeway_secs) {
        return rejected("expired");
    }
    if now_secs.saturating_add(leeway_secs) < facts.nbf_secs {
        return rejected("not-yet-valid");
    }
    Expectation { outcome: Outcome::Accepted, via_pruned_kid: false }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{ChaChaEntropy, Stream};

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

    #[test]
    fn classification_follows_the_verification_order() {
        let mut model = KeySetModel::generated(1, kid("a"), 1000);
        model.rotate(1000, 50, 2, kid("b")).unwrap();
        let old = honest(1, kid("a"), 1000);
        let new = honest(2, kid("b"), 1000);
        assert_eq!(expect(&old, &model, 1010, 0).outcome, Outcome::Accepted);
        assert_eq!(expect(&old, &model, 1050, 0).outcome, Outcome::Rejected("retired-key"));
        assert!(!expect(&old, &model, 1050, 0).via_pruned_kid);
        let forged = TokenFacts { signed_by: Some(99), ..old };
        assert_eq!(expect(&forged, &model, 1050, 0).outcome, Outcome::Rejected("bad-signature"));
        model.prune(1050);
        assert_eq!(
            expect(&forged, &model, 1050, 0),
            Expectation { outcome: Outcome::Rejected("retired-key"), via_pruned_kid: true }
        );
        assert_eq!(expect(&new, &model, 1100, 0).outcome, Outcome::Rejected("expired"));
        assert_eq!(expect(&new, &model, 1100, 1).outcome, Outcome::Accepted);
        assert_eq!(expect(&new, &model, 980, 10).outcome, Outcome::Rejected("not-yet-valid"));
        let unknown = honest(3, kid("c"), 1000);
        assert_eq!(expect(&unknown, &model, 1010, 0).outcome, Outcome::Rejected("unknown-key"));
        let no_kid = TokenFacts { shape: Shape::Compact(HeaderFacts::Hs256 { kid: None }), signed_by: None, ..new };
        assert_eq!(expect(&no_kid, &model, 1010, 0).outcome, Outcome::Rejected("bad-signature"));
        let alg = TokenFacts { shape: Shape::Compact(HeaderFacts::OtherAlgorithm), ..new };
        assert_eq!(expect(&alg, &model, 1010, 0).outcome, Outcome::Rejected("unsupported-algorithm"));
    }

    #[test]
    fn model_agrees_with_the_real_ring_through_rotation_prune_and_round_trip() {
        let mut entropy = ChaChaEntropy::new(5, Stream::Keys);
        let mut ring = KeyRing::generate_with(1000, &mut entropy).unwrap();
        let mut model = KeySetModel::generated(1, ring.active_kid().unwrap(), 1000);
        let mut now = 1000;
        // Past ISSUED_KIDS_MAX rotations, so that the history forgets its oldest identifiers.
        for serial in 2..(ISSUED_KIDS_MAX as KeySerial + 40) {
            now += 30;
            let overlap = if serial % 3 == 0 { 500 } else { 45 };
            let real = ring.rotate_with(now, overlap, &mut entropy);
            match real {
                Ok(new_kid) => model.rotate(now, overlap, serial, new_kid).unwrap(),
                Err(_) => assert_eq!(model.rotate(now, overlap, serial, kid("x")), Err(RingFull)),
            }
            assert_eq!(model.disagreement_with(&ring, now + 7), None, "after rotation {serial}");
            if serial % 5 == 0 {
                assert_eq!(ring.prune(now), model.prune(now));
            }
            if serial % 7 == 0 {
                let loaded = KeyRing::from_jwk_set(ring.to_jwk_set().as_bytes()).unwrap();
                assert_eq!(model.round_trip().disagreement_with(&loaded, now), None, "after reload {serial}");
            }
        }
        assert_eq!(model.issued.len(), ISSUED_KIDS_MAX);
        // The comparison does see a difference.
        let mut ahead = model.clone();
        ahead.rotate(now + 1, 10, 9999, kid("not-in-the-ring")).unwrap();
        assert!(ahead.disagreement_with(&ring, now + 1).is_some());
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
