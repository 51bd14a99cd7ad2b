//! The key ring: the [`KeyRing`] type, the history of the identifiers it issued, and which of
//! its keys a token's header selects. Its lifecycle is `lifecycle.rs`, its JWK Set form
//! `jwks.rs`; signing and verifying with it are the token layer's (`token/sign.rs`,
//! `token/verify.rs`).

use crate::error::{KeyError, Rejection};
use crate::limits::{HEADER_LEN_MAX, ISSUED_KIDS_MAX, KIDLESS_KEYS_TRIED_MAX};
use crate::ring::key::{Entropy, Key, Kid, OsEntropy};
use crate::ring::lifecycle::{Phase, Revoked};
use crate::ring::ring_key::{KeyTimes, RingKey};
use crate::token::base64url;
use crate::token::header;
use crate::token::mac::Midstate;
use crate::token::unverified;

/// A set of HS256 keys, each with a lifecycle, and the history of every key identifier the
/// ring has issued.
///
/// * **Signing** uses the key that is active at the given time (see [`KeyState`](crate::KeyState)); every key
///   the ring holds, pending ones included, verifies until it retires.
/// * **Rotation** ([`rotate`](Self::rotate)) publishes a new key that activates after a
///   propagation time and retires the previous ones an overlap after that (a
///   [`Rotation`](crate::Rotation)).
///   With a propagation at least as long as any node takes to reload, and an overlap at least
///   the tokens' lifetime plus leeway, no valid token is ever rejected because of a rotation.
/// * **Classification**: a token whose MAC holds under a retired key is `retired-key`
///   (routine); a revoked key's is `revoked-key`; a token naming a key the ring has forgotten
///   ([`prune`](Self::prune)) is `forgotten-key`. Only a verified MAC makes a rejection routine.
/// * **Persistence**: [`to_jwk_set`](Self::to_jwk_set) and
///   [`from_jwk_set`](Self::from_jwk_set), or a [`FileStore`](crate::FileStore).
///
/// The ring holds at most [`KEYS_PER_RING_MAX`](crate::limits::KEYS_PER_RING_MAX) keys and
/// remembers at most [`ISSUED_KIDS_MAX`] identifiers.
#[derive(Clone, Debug)]
pub struct KeyRing {
    pub(crate) keys: Vec<RingKey>,
    /// Every `kid` this ring issued, oldest first. Identifiers only: never secrets.
    pub(crate) issued: Vec<Kid>,
    /// The keys revoked and not yet forgotten: identifiers and times, their secrets erased.
    pub(crate) revoked: Vec<Revoked>,
}

impl KeyRing {
    /// A ring with one fresh key from the operating system's random number generator.
    ///
    /// # Errors
    /// [`KeyError::Entropy`] when the generator fails.
    pub fn generate(now_secs: u64) -> Result<Self, KeyError> {
        Self::generate_with(&mut OsEntropy, now_secs)
    }

    /// A ring with one fresh key from `entropy`.
    ///
    /// # Errors
    /// [`KeyError::Entropy`] when the entropy source fails.
    pub fn generate_with(entropy: &mut impl Entropy, now_secs: u64) -> Result<Self, KeyError> {
        let key = Key::generate(entropy)?;
        let kid = Kid::generate(entropy)?;
        Ok(Self::with_key(key, Some(kid), now_secs))
    }

    /// A ring holding exactly `key`, active. A ring of one key without a `kid` verifies tokens
    /// whatever `kid` they name.
    pub fn with_key(key: Key, kid: Option<Kid>, now_secs: u64) -> Self {
        let issued = kid.into_iter().collect();
        Self { keys: vec![RingKey::new(kid, key, KeyTimes::created_at(now_secs), true)], issued, revoked: Vec::new() }
    }

    pub(crate) fn remember(&mut self, kid: Kid) {
        if self.issued.contains(&kid) {
            return;
        }
        self.issued.push(kid);
        let revoked = self.revoked.iter().map(|revoked| revoked.kid);
        let held: Vec<Kid> = self.keys.iter().filter_map(RingKey::kid).chain(revoked).collect();
        trim_history(&mut self.issued, &held);
    }

    /// Every key identifier this ring has issued, oldest first.
    pub fn issued_kids(&self) -> &[Kid] {
        &self.issued
    }

    /// The key identifier a token's header names, if it is one of this ring's: a key the ring
    /// holds, or one it issued and has since forgotten. It is an identifier the ring chose, so
    /// a service may log it beside a rejection; a string the sender chose is never returned.
    ///
    /// `None` when the header names no key or one the ring never had, or is not a header
    /// verification reads (over its length limit, not canonical base64url, not a strict JOSE
    /// header with `alg` HS256). The work is bounded by
    /// [`HEADER_LEN_MAX`](crate::limits::HEADER_LEN_MAX); no MAC is checked, so the answer says
    /// nothing about who made the token.
    ///
    /// ```
    /// # use tokenring::KeyRing;
    /// # let now = 1_700_000_000;
    /// let ring = KeyRing::generate(now)?;
    /// let token = ring.issue(&serde_json::json!({"sub": "ada"}), 3600, now)?;
    /// assert_eq!(ring.known_kid(&token), ring.active_kid(now));
    /// assert_eq!(KeyRing::generate(now)?.known_kid(&token), None);
    /// # Ok::<(), tokenring::Error>(())
    /// ```
    pub fn known_kid(&self, token: impl AsRef<[u8]>) -> Option<Kid> {
        let token = token.as_ref();
        // The dot is looked for only where a header within its limit can end.
        let window = &token[..token.len().min(base64url::encoded_len(HEADER_LEN_MAX) + 1)];
        let header_b64 = &token[..window.iter().position(|&byte| byte == b'.')?];
        if let Some(key) = self.keys.iter().find(|key| key.header().as_bytes() == header_b64) {
            return key.kid();
        }
        let mut buffer = [0u8; HEADER_LEN_MAX];
        let named = decode_header(header_b64, &mut buffer).ok()?.kid?;
        let held = self.keys.iter().filter_map(RingKey::kid);
        held.chain(self.issued.iter().copied()).find(|kid| kid.as_str() == named)
    }

    /// The key whose own header segment `signing_input` starts with (followed by a dot), if any.
    pub(crate) fn own_header(&self, signing_input: &[u8]) -> Option<usize> {
        self.keys.iter().position(|key| key.header().begins(signing_input))
    }

    /// Picks the key, or keys, whose MAC a token with the header segment `header_b64` must
    /// match: the key at `own` when the segment is that key's own (see
    /// [`own_header`](Self::own_header)), else the key the header names once it is decoded and
    /// parsed. A key the ring has forgotten (or holds but is past its forget time) cannot check
    /// a MAC: `forgotten-key`, never routine.
    pub(crate) fn select(
        &self,
        own: Option<usize>,
        header_b64: &[u8],
        now_secs: u64,
    ) -> Result<Selected<'_>, Rejection> {
        if let Some(index) = own {
            let state = self.keys[self.usable(index, now_secs)?].header().after_header();
            return Ok(Selected::Key { index, state });
        }
        let named = |index: usize| {
            let index = self.usable(index, now_secs)?;
            Ok(Selected::Key { index, state: self.keys[index].keyed() })
        };
        let mut buffer = [0u8; HEADER_LEN_MAX];
        let header = decode_header(header_b64, &mut buffer)?;
        if let [only] = self.keys.as_slice() {
            if only.kid().is_none() {
                return named(0);
            }
        }
        let Some(kid) = header.kid else { return Ok(Selected::Kidless) };
        if let Some(index) = self.keys.iter().position(|key| key.kid().is_some_and(|own| own.as_str() == kid)) {
            return named(index);
        }
        // A revoked key's secret is erased: its `kid` is all it takes to reject the token.
        if let Some(revoked) = self.revoked.iter().find(|revoked| revoked.kid.as_str() == kid) {
            return Err(revoked.rejection(now_secs));
        }
        if self.issued.iter().any(|own| own.as_str() == kid) {
            return Err(canary!(ForgottenKeyRoutine => Rejection::RetiredKey, else Rejection::ForgottenKey));
        }
        Err(Rejection::UnknownKey)
    }

    /// The key at `index`, unless it is past its forget time: a forgotten key cannot check a
    /// MAC, so its tokens are `forgotten-key`, never routine.
    fn usable(&self, index: usize, now_secs: u64) -> Result<usize, Rejection> {
        if self.keys[index].phase(now_secs) == Phase::Forgotten {
            Err(Rejection::ForgottenKey)
        } else {
            Ok(index)
        }
    }

    /// The keys a token whose header names no key is tried against, in order: only keys that can
    /// still verify a live token (pending, active, retiring; never retired, revoked or
    /// forgotten ones), the active key first, then the newest, at most
    /// [`KIDLESS_KEYS_TRIED_MAX`]. Each costs a MAC over the whole token, which the sender
    /// chose.
    pub(crate) fn kidless_candidates(&self, now_secs: u64) -> impl Iterator<Item = usize> + '_ {
        let signer = self.signer(now_secs);
        let live = (0..self.keys.len()).rev().filter(move |&index| {
            Some(index) != signer && matches!(self.keys[index].phase(now_secs), Phase::Pending | Phase::Current)
        });
        signer.into_iter().chain(live).take(KIDLESS_KEYS_TRIED_MAX)
    }
}

/// The key, or keys, whose MAC a token must match.
pub(crate) enum Selected<'r> {
    /// The key at `index`, whose MAC starts from `state`: the state after the key's own header
    /// segment when the token's header segment is that, else the keyed state before any byte.
    Key {
        /// The key's position in the ring.
        index: usize,
        /// Where its MAC starts: a state that has absorbed the first `state.absorbed()` bytes
        /// of the token's signing input.
        state: &'r Midstate,
    },
    /// The header names no key: the keys of
    /// [`kidless_candidates`](KeyRing::kidless_candidates), from their keyed states.
    Kidless,
}

/// Drops the oldest identifiers from `issued` until it holds at most [`ISSUED_KIDS_MAX`], but
/// never one of a key the ring still holds (`held`): a held key's tokens must stay routine.
pub(crate) fn trim_history(issued: &mut Vec<Kid>, held: &[Kid]) {
    let mut excess = issued.len().saturating_sub(ISSUED_KIDS_MAX);
    if excess == 0 {
        return;
    }
    // At most KEYS_PER_RING_MAX identifiers are held, no more than ISSUED_KIDS_MAX (asserted in
    // `limits`), so enough unheld ones exist.
    issued.retain(|kid| {
        let drop = excess > 0 && !held.contains(kid);
        excess -= usize::from(drop);
        !drop
    });
}

/// Decodes a header segment other than the ring's own into `buffer` and parses it.
fn decode_header<'b>(header_b64: &[u8], buffer: &'b mut [u8; HEADER_LEN_MAX]) -> Result<header::Header<'b>, Rejection> {
    header::parse(unverified::decode_header(header_b64, buffer)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token under a ring key's own header segment takes the fast path: the header is known
    /// from its bytes, so it is not parsed, and the MAC starts after it. Another header under
    /// the same secret (one naming no kid), or the segment without its dot, does not.
    #[test]
    fn a_token_under_a_rings_own_header_is_recognised_by_its_bytes() {
        let now = 1_700_000_000;
        let mut ring = KeyRing::with_key(Key::from_bytes(&[3; 32]).unwrap(), Kid::new("first").ok(), now);
        ring.rotate(&crate::Rotation::new(), now).unwrap();
        let token = ring.sign_jws(b"{}", now).unwrap();
        assert_eq!(ring.own_header(token.as_bytes()), Some(0));
        let own = ring.keys[1].header().as_bytes().to_vec();
        assert_eq!(ring.own_header(&[&own[..], b".e30"].concat()), Some(1));
        assert_eq!(ring.own_header(&own), None, "no dot after the header");
        let kidless = crate::token::sign::OwnHeader::new(None, ring.keys[0].key());
        assert_eq!(ring.own_header(&[kidless.as_bytes(), b".e30"].concat()), None);
        match ring.select(Some(0), ring.keys[0].header().as_bytes(), now) {
            Ok(Selected::Key { index: 0, state }) => {
                assert_eq!(state.absorbed(), ring.keys[0].header().as_bytes().len() + 1)
            }
            _ => panic!("the own header selects its key, from the state after the header"),
        }
    }
}
