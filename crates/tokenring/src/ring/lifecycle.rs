//! The key lifecycle: every key's state is a pure function of its own times and `now`, and the
//! signing key is a pure function of the ring and `now`.
//!
//! ```text
//!  rotate                activate_at            retire_at             forget_at
//!    │   pending            │   active / retiring    │     retired        │   forgotten
//!    ├──────────────────────┼────────────────────────┼────────────────────┼──────────────►
//!    │ verifies, never signs│ verifies; the newest   │ MAC-checked, then  │ material dropped,
//!    │                      │ signs                  │ `retired-key`      │ `forgotten-key`
//! ```
//!
//! A revoked key is `revoked-key` (suspicious) from the moment it is revoked, whatever its
//! times say, until it is forgotten. Revoking erases the key's secret (a key is revoked because
//! it leaked): the ring keeps only its identifier and times ([`Revoked`]), which is all that
//! `revoked-key` needs.
//!
//! Staging is what makes rotation safe in a cluster: a new key is published `propagation` before
//! it signs, so every node that reloads within that time knows it before any token under it
//! exists; the previous key keeps verifying for `overlap` after the new one activates, so every
//! token it signed expires first.

use crate::error::{KeyError, Rejection};
use crate::limits::{
    DURATION_SECS_MAX, FORGET_AFTER_SECS_DEFAULT, KEYS_PER_RING_MAX, OVERLAP_SECS_DEFAULT, PROPAGATION_SECS_DEFAULT,
};
use crate::ring::key::{Entropy, Kid, OsEntropy};
use crate::ring::keyring::KeyRing;
use crate::ring::ring_key::{KeyTimes, RingKey};

/// Where a key is in its life at a given time.
///
/// The order of the variants is the order [`KeyRing::keys`] lists keys in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum KeyState {
    /// The key that signs new tokens: the most recently activated key that may sign.
    Active,
    /// Published but not yet activated: verifies tokens, never signs them.
    Pending,
    /// Activated but superseded by a newer key: verifies tokens until its retire time.
    Retiring,
    /// Past its retire time: a token under it is MAC-checked, then rejected `retired-key`.
    Retired,
    /// Revoked: every token under it is rejected `revoked-key`.
    Revoked,
    /// Past its forget time: its material is dropped at the next [`KeyRing::prune`], and a
    /// token naming it is `forgotten-key`.
    Forgotten,
}

impl KeyState {
    /// Every state, in their order: for a gauge that must report zero for a state no key is in.
    pub const ALL: [Self; 6] =
        [Self::Active, Self::Pending, Self::Retiring, Self::Retired, Self::Revoked, Self::Forgotten];

    /// `active`, `pending`, `retiring`, `retired`, `revoked` or `forgotten`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
            Self::Revoked => "revoked",
            Self::Forgotten => "forgotten",
        }
    }
}

/// A key's phase from its own times alone. `Current` becomes [`KeyState::Active`] or
/// [`KeyState::Retiring`] depending on the rest of the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Pending,
    Current,
    Retired,
    Forgotten,
}

impl RingKey {
    pub(crate) fn phase(&self, now_secs: u64) -> Phase {
        let times = self.times();
        let reached = |at: Option<u64>| at.is_some_and(|at| at <= now_secs);
        let retire =
            canary!(RetireBoundaryOffByOne => times.retire_at_secs.map(|at| at + 1), else times.retire_at_secs);
        let activate = canary!(ActivationBoundaryOffByOne => times.activate_at_secs + 1, else times.activate_at_secs);
        if reached(times.forget_at_secs) {
            Phase::Forgotten
        } else if reached(retire) {
            Phase::Retired
        } else if now_secs < activate {
            Phase::Pending
        } else {
            Phase::Current
        }
    }

    /// What a token whose MAC matched under this key gets at `now_secs`: only a key that is
    /// pending or current accepts; the rest give their rejection, after the MAC held.
    pub(crate) fn verdict(&self, now_secs: u64) -> Result<(), Rejection> {
        match self.phase(now_secs) {
            Phase::Pending | Phase::Current => Ok(()),
            Phase::Retired => Err(Rejection::RetiredKey),
            Phase::Forgotten => Err(Rejection::ForgottenKey),
        }
    }
}

/// A revoked key: its identifier and times, its secret erased. A token naming it is
/// `revoked-key` until its forget time, `forgotten-key` after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Revoked {
    pub(crate) kid: Kid,
    pub(crate) created_secs: u64,
    pub(crate) activate_at_secs: u64,
    pub(crate) revoked_at_secs: u64,
    pub(crate) forget_at_secs: u64,
}

impl Revoked {
    /// The record of `key`, revoked at `revoked_at_secs`, forgotten
    /// [`FORGET_AFTER_SECS_DEFAULT`] later or at its own forget time if that is later. `None`
    /// for a key without a `kid`, which no token can name.
    pub(crate) fn of(key: &RingKey, revoked_at_secs: u64) -> Option<Self> {
        let forget = revoked_at_secs.saturating_add(FORGET_AFTER_SECS_DEFAULT);
        let times = key.times();
        Some(Self {
            kid: key.kid()?,
            created_secs: times.created_secs,
            activate_at_secs: times.activate_at_secs,
            revoked_at_secs,
            forget_at_secs: times.forget_at_secs.map_or(forget, |at| at.max(forget)),
        })
    }

    /// What a token naming this key gets at `now_secs`.
    pub(crate) fn rejection(&self, now_secs: u64) -> Rejection {
        if self.forget_at_secs <= now_secs {
            Rejection::ForgottenKey
        } else {
            Rejection::RevokedKey
        }
    }
}

/// What can be said about a key without revealing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The key identifier, if the key has one.
    pub kid: Option<Kid>,
    /// The key's state at the time asked about.
    pub state: KeyState,
    /// When the key was created, in seconds since the epoch.
    pub created_secs: u64,
    /// When the key may start signing.
    pub activate_at_secs: u64,
    /// When the key stops verifying, if ever.
    pub retire_at_secs: Option<u64>,
    /// When the key's material is dropped, if ever.
    pub forget_at_secs: Option<u64>,
    /// When the key was revoked, if it was.
    pub revoked_at_secs: Option<u64>,
    /// Whether the key may ever sign (a JWK whose `key_ops` omit `sign` only verifies).
    pub may_sign: bool,
    /// The key's length in bits; 0 for a revoked key, whose secret is erased.
    pub bits: usize,
}

/// How a rotation is staged: how long the new key waits before it signs, how long the previous
/// key keeps verifying after that, and how long a retired key's material is kept to classify
/// stale tokens.
///
/// The rules a deployment must keep (see `docs/deployment.md`):
///
/// * `propagation` ≥ the longest time any node takes to load a changed key file. A node that
///   is slower sees tokens under a key it has not loaded: `unknown-key`.
/// * `overlap` ≥ the longest token lifetime plus the verifier's leeway. A shorter overlap retires
///   keys while their tokens are still valid: `retired-key`.
///
/// ```
/// use tokenring::Rotation;
/// let rotation = Rotation::new().propagation_secs(120).overlap_secs(2 * 3600);
/// # let _ = rotation;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    propagation_secs: u64,
    overlap_secs: u64,
    forget_after_secs: u64,
}

impl Default for Rotation {
    fn default() -> Self {
        Self::new()
    }
}

impl Rotation {
    /// The defaults: [`PROPAGATION_SECS_DEFAULT`], [`OVERLAP_SECS_DEFAULT`] and
    /// [`FORGET_AFTER_SECS_DEFAULT`].
    pub const fn new() -> Self {
        Self {
            propagation_secs: PROPAGATION_SECS_DEFAULT,
            overlap_secs: OVERLAP_SECS_DEFAULT,
            forget_after_secs: FORGET_AFTER_SECS_DEFAULT,
        }
    }

    /// How long a new key is published before it signs. Zero activates it at once: only safe
    /// when every verifier reloads before it sees a token under the new key.
    pub const fn propagation_secs(mut self, secs: u64) -> Self {
        self.propagation_secs = secs;
        self
    }

    /// How long the previous key keeps verifying after the new key activates.
    pub const fn overlap_secs(mut self, secs: u64) -> Self {
        self.overlap_secs = secs;
        self
    }

    /// How long a retired key's material is kept after it retires.
    pub const fn forget_after_secs(mut self, secs: u64) -> Self {
        self.forget_after_secs = secs;
        self
    }

    /// The propagation this rotation is configured with, in seconds: how long a new key is
    /// published before it signs.
    ///
    /// ```
    /// use tokenring::Rotation;
    /// let rotation = Rotation::new().propagation_secs(120).overlap_secs(7_200).forget_after_secs(86_400);
    /// assert_eq!(rotation.configured_propagation_secs(), 120);
    /// assert_eq!(rotation.configured_overlap_secs(), 7_200);
    /// assert_eq!(rotation.configured_forget_after_secs(), 86_400);
    /// ```
    pub const fn configured_propagation_secs(&self) -> u64 {
        self.propagation_secs
    }

    /// The overlap this rotation is configured with, in seconds: how long the previous key
    /// keeps verifying after the new key activates.
    pub const fn configured_overlap_secs(&self) -> u64 {
        self.overlap_secs
    }

    /// How long a retired key's material is kept after it retires, in seconds, as configured.
    pub const fn configured_forget_after_secs(&self) -> u64 {
        self.forget_after_secs
    }

    fn check(&self) -> Result<(), KeyError> {
        let longest = self.propagation_secs.max(self.overlap_secs).max(self.forget_after_secs);
        if longest > DURATION_SECS_MAX {
            return Err(KeyError::DurationTooLong { secs: longest });
        }
        Ok(())
    }
}

impl KeyRing {
    /// The index of the key that signs at `now_secs`: of the keys that may sign and are past
    /// their activation but not retired, revoked or forgotten, the one activated last (then
    /// created last, then last in the ring).
    ///
    /// Ties go to the later position because a rotation appends its key: two rotations in the
    /// same second with the same propagation give two keys with equal times, and the earlier
    /// one has been given a retire time by the later rotation, so the later one must sign.
    pub(crate) fn signer(&self, now_secs: u64) -> Option<usize> {
        canary!(SignerTakesPending => return crate::canary::mutants::signer_taking_pending(self, now_secs));
        self.keys
            .iter()
            .enumerate()
            .filter(|(_, key)| key.may_sign() && key.phase(now_secs) == Phase::Current)
            .max_by_key(|(index, key)| (key.times().activate_at_secs, key.times().created_secs, *index))
            .map(|(index, _)| index)
    }

    /// The state of the key at `index` at `now_secs`.
    fn state_of(&self, index: usize, signer: Option<usize>, now_secs: u64) -> KeyState {
        match self.keys[index].phase(now_secs) {
            Phase::Pending => KeyState::Pending,
            Phase::Current if Some(index) == signer => KeyState::Active,
            Phase::Current => KeyState::Retiring,
            Phase::Retired => KeyState::Retired,
            Phase::Forgotten => KeyState::Forgotten,
        }
    }

    /// The identifier of the key that signs at `now_secs`.
    pub fn active_kid(&self, now_secs: u64) -> Option<Kid> {
        self.signer(now_secs).and_then(|index| self.keys[index].kid())
    }

    /// Whether the ring has a key to sign with at `now_secs`.
    pub fn can_sign(&self, now_secs: u64) -> bool {
        self.signer(now_secs).is_some()
    }

    /// The keys the ring holds with their state at `now_secs`, in the order of [`KeyState`],
    /// newest first within a state.
    pub fn keys(&self, now_secs: u64) -> Vec<KeyInfo> {
        let signer = self.signer(now_secs);
        let mut infos: Vec<KeyInfo> = (0..self.keys.len())
            .map(|index| {
                let (key, times) = (&self.keys[index], self.keys[index].times());
                KeyInfo {
                    kid: key.kid(),
                    state: self.state_of(index, signer, now_secs),
                    created_secs: times.created_secs,
                    activate_at_secs: times.activate_at_secs,
                    retire_at_secs: times.retire_at_secs,
                    forget_at_secs: times.forget_at_secs,
                    revoked_at_secs: None,
                    may_sign: key.may_sign(),
                    bits: key.key().bits(),
                }
            })
            .collect();
        infos.extend(self.revoked.iter().map(|revoked| KeyInfo {
            kid: Some(revoked.kid),
            state: if revoked.forget_at_secs <= now_secs { KeyState::Forgotten } else { KeyState::Revoked },
            created_secs: revoked.created_secs,
            activate_at_secs: revoked.activate_at_secs,
            retire_at_secs: None,
            forget_at_secs: Some(revoked.forget_at_secs),
            revoked_at_secs: Some(revoked.revoked_at_secs),
            may_sign: false,
            bits: 0,
        }));
        infos.sort_by_key(|info| (info.state, core::cmp::Reverse((info.activate_at_secs, info.created_secs))));
        infos
    }

    /// When the newest key still in use (not revoked or forgotten) was created, if there is one.
    pub(crate) fn newest_created_secs(&self, now_secs: u64) -> Option<u64> {
        self.keys.iter().filter(|key| key.phase(now_secs) != Phase::Forgotten).map(|key| key.times().created_secs).max()
    }

    /// Publishes a fresh key (from the operating system) that signs from
    /// `now + propagation`; every key activated before it retires at that time plus the overlap,
    /// or earlier if it was already due to. Returns the new key's identifier.
    ///
    /// # Errors
    /// See [`rotate_with`](Self::rotate_with).
    pub fn rotate(&mut self, rotation: &Rotation, now_secs: u64) -> Result<Kid, KeyError> {
        self.rotate_with(rotation, &mut OsEntropy, now_secs)
    }

    /// [`rotate`](Self::rotate) with keys from `entropy`.
    ///
    /// Forgotten keys are pruned first.
    ///
    /// # Errors
    /// [`KeyError::DurationTooLong`] for a duration over [`DURATION_SECS_MAX`], [`KeyError::RingFull`] when
    /// the ring already holds [`KEYS_PER_RING_MAX`] keys that are not forgotten (revoked keys
    /// included),
    /// [`KeyError::Entropy`].
    pub fn rotate_with(
        &mut self,
        rotation: &Rotation,
        entropy: &mut impl Entropy,
        now_secs: u64,
    ) -> Result<Kid, KeyError> {
        rotation.check()?;
        self.prune(now_secs);
        if self.keys.len() + self.revoked.len() >= KEYS_PER_RING_MAX {
            return Err(KeyError::RingFull);
        }
        let key = crate::ring::key::Key::generate(entropy)?;
        let mut kid = Kid::generate(entropy)?;
        // 128 random bits do not collide; a deterministic test entropy source might.
        while self.issued.contains(&kid) || self.keys.iter().any(|held| held.kid() == Some(kid)) {
            kid = Kid::generate(entropy)?;
        }
        let activate_at = now_secs.saturating_add(rotation.propagation_secs);
        let retire_at = canary!(OverlapIgnored => activate_at, else activate_at.saturating_add(rotation.overlap_secs));
        for previous in &mut self.keys {
            if previous.times().activate_at_secs <= activate_at {
                previous.retire_by(retire_at, rotation.forget_after_secs);
            }
        }
        let times = KeyTimes { activate_at_secs: activate_at, ..KeyTimes::created_at(now_secs) };
        self.keys.push(RingKey::new(Some(kid), key, times, true));
        self.remember(kid);
        Ok(kid)
    }

    /// [`rotate`](Self::rotate), but only if the newest key still in use was created at least
    /// `max_age_secs` ago (or there is none). Run under a
    /// [`FileStore::update`](crate::FileStore::update), any number of nodes or scheduled jobs
    /// calling this at once add at most one key per `max_age_secs`.
    ///
    /// # Errors
    /// As [`rotate`](Self::rotate).
    pub fn rotate_if_older_than(
        &mut self,
        max_age_secs: u64,
        rotation: &Rotation,
        now_secs: u64,
    ) -> Result<Option<Kid>, KeyError> {
        self.rotate_if_older_than_with(max_age_secs, rotation, &mut OsEntropy, now_secs)
    }

    /// [`rotate_if_older_than`](Self::rotate_if_older_than) with keys from `entropy`.
    ///
    /// # Errors
    /// As [`rotate`](Self::rotate).
    pub fn rotate_if_older_than_with(
        &mut self,
        max_age_secs: u64,
        rotation: &Rotation,
        entropy: &mut impl Entropy,
        now_secs: u64,
    ) -> Result<Option<Kid>, KeyError> {
        let fresh_enough =
            self.newest_created_secs(now_secs).is_some_and(|created| now_secs.saturating_sub(created) < max_age_secs);
        if fresh_enough {
            return Ok(None);
        }
        self.rotate_with(rotation, entropy, now_secs).map(Some)
    }

    /// Revokes the key named `kid` at `now_secs`: from now on every token naming it is rejected
    /// `revoked-key` (suspicious), even inside its overlap, and it never signs again.
    ///
    /// Its secret is erased at once (zeroized in memory, and absent from the JWK Set the ring
    /// writes from now on): a key is revoked because it leaked, and a secret left in the key
    /// file would live on in every backup and let any other reader of the file accept tokens
    /// forged with it. The ring keeps its `kid` and times in the set's `revoked` member until
    /// its forget time ([`FORGET_AFTER_SECS_DEFAULT`] from now, or its own if later); a token
    /// naming it is `revoked-key` whether it was signed with the key or forged, since no MAC
    /// can be checked any more. Revoking a revoked key changes nothing.
    ///
    /// If the revoked key was the signing key, the most recently activated remaining key signs;
    /// if none remains, rotate (with a propagation of zero in an emergency).
    ///
    /// # Errors
    /// [`KeyError::UnknownKid`] when the ring holds no key named `kid`.
    pub fn revoke(&mut self, kid: &Kid, now_secs: u64) -> Result<(), KeyError> {
        if self.revoked.iter().any(|revoked| revoked.kid == *kid) {
            return Ok(());
        }
        let key = self.keys.iter().find(|key| key.kid().as_ref() == Some(kid)).ok_or(KeyError::UnknownKid)?;
        canary!(RevokedKeyVerifies => return Ok(()));
        let revoked = Revoked::of(key, now_secs).ok_or(KeyError::UnknownKid)?;
        // `retain` drops the key where it lies, so that its zeroizing drop wipes the secret and
        // the keyed HMAC states in the ring's own buffer, not in a moved copy.
        self.keys.retain(|key| key.kid().as_ref() != Some(kid));
        self.revoked.push(revoked);
        Ok(())
    }

    /// Drops the material of every key past its forget time and returns how many. Their
    /// identifiers stay in the issued history, so tokens naming them are `forgotten-key`, not
    /// `unknown-key`.
    pub fn prune(&mut self, now_secs: u64) -> usize {
        let before = self.keys.len() + self.revoked.len();
        self.keys.retain(|key| key.phase(now_secs) != Phase::Forgotten);
        self.revoked.retain(|revoked| revoked.forget_at_secs > now_secs);
        before - self.keys.len() - self.revoked.len()
    }
}

#[cfg(test)]
mod tests;
