//! The key ring: keys with their lifecycle (see `lifecycle.rs`), signing with the active key,
//! and the verification pipeline.

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use crate::base64url;
use crate::claims::{self, Validation};
use crate::error::{KeyError, Rejection, SignError};
use crate::header;
use crate::key::{Entropy, Key, Kid, OsEntropy};
use crate::lifecycle::{Phase, Revoked};
use crate::limits::{
    DURATION_SECS_MAX, HEADER_LEN_MAX, ISSUED_KIDS_MAX, KIDLESS_KEYS_TRIED_MAX, PAYLOAD_LEN_MAX, SIGNATURE_B64_LEN,
    SIGNATURE_LEN, TOKEN_LEN_MAX,
};
use crate::mac::Midstate;
use crate::verified::{Scratch, Verified, VerifiedJws};

/// Payloads up to this many decoded bytes are verified in a small stack buffer by
/// [`KeyRing::verify`]: most tokens fit, and zeroing it costs next to nothing.
const SMALL_PAYLOAD_LEN: usize = 256;

/// Payloads up to this many decoded bytes are verified in a larger stack buffer by
/// [`KeyRing::verify`]; larger ones use the heap.
const STACK_PAYLOAD_LEN: usize = 1024;

/// The capacity [`KeyRing::sign`] starts a token with: enough for most tokens, so that signing
/// allocates once.
const SIGN_CAPACITY: usize = 512;

#[derive(Clone, Debug)]
pub(crate) struct RingKey {
    pub(crate) kid: Option<Kid>,
    pub(crate) key: Key,
    pub(crate) created_secs: u64,
    /// From this time on the key may sign; before it, it is pending (verifies only).
    pub(crate) activate_at_secs: u64,
    /// From this time on the key is retired: its tokens are `retired-key`.
    pub(crate) retire_at_secs: Option<u64>,
    /// From this time on the key is forgotten: its material is dropped at the next prune.
    pub(crate) forget_at_secs: Option<u64>,
    /// When the key was revoked: its tokens are `revoked-key` from then on.
    pub(crate) revoked_at_secs: Option<u64>,
    /// Loaded from a JWK whose `key_ops` do not list `sign`: the key verifies but never becomes
    /// the active key, and is saved with `"key_ops":["verify"]`.
    pub(crate) verify_only: bool,
    /// The encoded header this key signs with. A token whose header segment is exactly this
    /// needs no header parse: the bytes are known to mean `alg` HS256 and this `kid`.
    header_b64: Box<str>,
    /// The keyed HMAC state after absorbing `header_b64` and the dot that follows it. Signing,
    /// and verifying a token whose header segment is exactly `header_b64`, start from here: the
    /// MAC is the same as over the whole signing input, without hashing the header again.
    after_header: Midstate,
}

impl RingKey {
    /// A key created, and active, at `created_secs`, with no end times.
    pub(crate) fn new(kid: Option<Kid>, key: Key, created_secs: u64) -> Self {
        let header = match &kid {
            Some(kid) => format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#),
            None => r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
        };
        let mut header_b64 = String::with_capacity(base64url::encoded_len(header.len()));
        base64url::encode_into(header.as_bytes(), &mut header_b64);
        let mut after_header = key.keyed().clone();
        after_header.absorb(header_b64.as_bytes());
        after_header.absorb(b".");
        Self {
            kid,
            key,
            created_secs,
            activate_at_secs: created_secs,
            retire_at_secs: None,
            forget_at_secs: None,
            revoked_at_secs: None,
            verify_only: false,
            header_b64: header_b64.into_boxed_str(),
            after_header,
        }
    }

    /// What a token whose MAC matched under this key gets at `now_secs`: only a key that is
    /// pending or current accepts; the rest give their rejection, after the MAC held.
    fn verdict(&self, now_secs: u64) -> Result<(), Rejection> {
        match self.phase(now_secs) {
            Phase::Pending | Phase::Current => Ok(()),
            Phase::Retired => Err(Rejection::RetiredKey),
            Phase::Revoked => Err(Rejection::RevokedKey),
            Phase::Forgotten => Err(Rejection::ForgottenKey),
        }
    }

    fn mac_matches(&self, signing_input: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
        self.key.keyed().verify(signing_input, signature)
    }

    /// The MAC of a signing input that starts with this key's header segment and a dot.
    fn mac_after_header(&self, signing_input: &[u8]) -> [u8; SIGNATURE_LEN] {
        debug_assert!(signing_input.starts_with(self.header_b64.as_bytes()));
        self.after_header.finish(&signing_input[self.after_header.absorbed()..])
    }

    /// Whether `signature` is the MAC of a signing input that starts with this key's header
    /// segment and a dot, compared in constant time.
    fn mac_after_header_matches(&self, signing_input: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
        debug_assert!(signing_input.starts_with(self.header_b64.as_bytes()));
        self.after_header.verify(&signing_input[self.after_header.absorbed()..], signature)
    }

    /// A token being made: this key's header segment and a dot, in a buffer of `capacity`
    /// bytes. The raw payload goes after it, then [`seal`](Self::seal) finishes it.
    fn start_token(&self, capacity: usize) -> Vec<u8> {
        let mut token = Vec::with_capacity(capacity);
        token.extend_from_slice(self.header_b64.as_bytes());
        token.push(b'.');
        token
    }

    /// The length of the token this key makes of a payload of `payload_len` bytes.
    fn token_len(&self, payload_len: usize) -> usize {
        self.header_b64.len() + 1 + base64url::encoded_len(payload_len) + 1 + SIGNATURE_B64_LEN
    }

    /// Finishes a token begun by [`start_token`](Self::start_token) and followed by the raw
    /// payload, whose token the caller has checked to fit [`TOKEN_LEN_MAX`]. The payload is
    /// encoded in place and the signature appended.
    fn seal(&self, mut token: Vec<u8>) -> Result<String, SignError> {
        let payload_start = self.header_b64.len() + 1;
        let len = self.token_len(token.len() - payload_start);
        token.reserve_exact(len - token.len());
        // The payload and the signature are published in the token: no constant-time encoding.
        base64url::encode_public_in_place(&mut token, payload_start);
        let tag = self.mac_after_header(&token);
        token.push(b'.');
        base64url::encode_public_into(&tag, &mut token);
        debug_assert_eq!(token.len(), len);
        // Every byte is from the base64url alphabet or a dot, so this cannot fail; the check
        // keeps the library free of unsafe code (and the error arm free of panics).
        String::from_utf8(token).map_err(|_| SignError::Claims)
    }
}

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
        Self::generate_with(now_secs, &mut OsEntropy)
    }

    /// A ring with one fresh key from `entropy`.
    ///
    /// # Errors
    /// [`KeyError::Entropy`] when the entropy source fails.
    pub fn generate_with(now_secs: u64, entropy: &mut impl Entropy) -> Result<Self, KeyError> {
        let key = Key::generate(entropy)?;
        let kid = Kid::generate(entropy)?;
        Ok(Self::with_key(key, Some(kid), now_secs))
    }

    /// A ring holding exactly `key`, active. A ring of one key without a `kid` verifies tokens
    /// whatever `kid` they name.
    pub fn with_key(key: Key, kid: Option<Kid>, now_secs: u64) -> Self {
        let issued = kid.into_iter().collect();
        Self { keys: vec![RingKey::new(kid, key, now_secs)], issued, revoked: Vec::new() }
    }

    pub(crate) fn remember(&mut self, kid: Kid) {
        if self.issued.contains(&kid) {
            return;
        }
        self.issued.push(kid);
        let revoked = self.revoked.iter().map(|revoked| revoked.kid);
        let held: Vec<Kid> = self.keys.iter().filter_map(|key| key.kid).chain(revoked).collect();
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
    /// let token = ring.issue(&serde_json::json!({"sub": "ada"}), now, 3600)?;
    /// assert_eq!(ring.known_kid(&token), ring.active_kid(now));
    /// assert_eq!(KeyRing::generate(now)?.known_kid(&token), None);
    /// # Ok::<(), tokenring::Error>(())
    /// ```
    pub fn known_kid(&self, token: impl AsRef<[u8]>) -> Option<Kid> {
        let token = token.as_ref();
        // The dot is looked for only where a header within its limit can end.
        let window = &token[..token.len().min(base64url::encoded_len(HEADER_LEN_MAX) + 1)];
        let header_b64 = &token[..window.iter().position(|&byte| byte == b'.')?];
        if let Some(key) = self.keys.iter().find(|key| key.header_b64.as_bytes() == header_b64) {
            return key.kid;
        }
        let mut buffer = [0u8; HEADER_LEN_MAX];
        let named = decode_header(header_b64, &mut buffer).ok()?.kid?;
        let held = self.keys.iter().filter_map(|key| key.kid);
        held.chain(self.issued.iter().copied()).find(|kid| kid.as_str() == named)
    }

    fn active_key(&self, now_secs: u64) -> Result<&RingKey, SignError> {
        self.signer(now_secs).map(|index| &self.keys[index]).ok_or(SignError::NoActiveKey)
    }

    /// Signs `payload` as a compact JWS with the key active at `now_secs`.
    ///
    /// # Errors
    /// [`SignError::NoActiveKey`], or [`SignError::TooLarge`] when the token would exceed
    /// [`TOKEN_LEN_MAX`].
    pub fn sign_jws(&self, payload: &[u8], now_secs: u64) -> Result<String, SignError> {
        let key = self.active_key(now_secs)?;
        let len = key.token_len(payload.len());
        if len > TOKEN_LEN_MAX {
            return Err(SignError::TooLarge);
        }
        let mut token = key.start_token(len);
        token.extend_from_slice(payload);
        key.seal(token)
    }

    /// Serializes `claims` (which must serialize to a JSON object) and signs them with the key
    /// active at `now_secs`, under the header `{"alg":"HS256","typ":"JWT","kid":...}`.
    ///
    /// The claims are signed exactly as given and not checked: no `iat`, `nbf` or `exp` is
    /// added, and a hand-written `Serialize` that repeats a member is not caught here. A token
    /// without `exp` is refused by the default [`Validation`] (`missing-claim`); the verifier
    /// must opt out with [`Validation::require_exp`]. For session tokens use
    /// [`issue`](Self::issue), which sets the times and checks the claims against the
    /// verifier's rules; `sign` is for callers that set their own times and want no second
    /// pass over the claims.
    ///
    /// # Errors
    /// [`SignError::Claims`] when the claims are not a JSON object, and those of
    /// [`sign_jws`](Self::sign_jws).
    pub fn sign<C: Serialize + ?Sized>(&self, claims: &C, now_secs: u64) -> Result<String, SignError> {
        let key = self.active_key(now_secs)?;
        // The claims are serialized straight into the token, after the header, and encoded
        // where they lie: one allocation, sized for most tokens.
        let mut token = key.start_token(SIGN_CAPACITY);
        let payload_start = token.len();
        serde_json::to_writer(&mut token, claims).map_err(|_| SignError::Claims)?;
        if token.get(payload_start) != Some(&b'{') {
            return Err(SignError::Claims);
        }
        if key.token_len(token.len() - payload_start) > TOKEN_LEN_MAX {
            return Err(SignError::TooLarge);
        }
        key.seal(token)
    }

    /// Signs `claims` with `iat` and `nbf` set to `now_secs` and `exp` to
    /// `now_secs + ttl_secs`. The result is checked against the verifier's own rules before it
    /// is signed, so a token this returns always parses.
    ///
    /// # Errors
    /// [`SignError::DuplicateClaim`] when the claims carry `iat`, `nbf` or `exp` themselves (or
    /// any member twice, at any depth), [`SignError::InvalidClaim`] for a registered claim a
    /// verifier refuses (a numeric `iss`, say), [`SignError::Malformed`] for claims that break
    /// another of the verifier's rules (a lone surrogate escaped), [`SignError::TtlTooLong`],
    /// [`SignError::TimeOverflow`], and those of [`sign`](Self::sign).
    pub fn issue<C: Serialize + ?Sized>(&self, claims: &C, now_secs: u64, ttl_secs: u64) -> Result<String, SignError> {
        if ttl_secs > DURATION_SECS_MAX {
            return Err(SignError::TtlTooLong);
        }
        let exp = now_secs.checked_add(ttl_secs).ok_or(SignError::TimeOverflow)?;
        let body = serde_json::to_vec(claims).map_err(|_| SignError::Claims)?;
        let rest = match body.as_slice() {
            // A `RawValue` passes its text through as written: `{ }` is an empty object too.
            [b'{', rest @ ..] => rest.trim_ascii_start(),
            _ => return Err(SignError::Claims),
        };
        let mut payload = format!(r#"{{"iat":{now_secs},"nbf":{now_secs},"exp":{exp}"#).into_bytes();
        if rest.first() != Some(&b'}') {
            payload.push(b',');
        }
        payload.extend_from_slice(rest);
        match claims::parse::<IgnoredAny>(&payload) {
            Ok(_) => {}
            Err(claims::REPEATED) => return Err(SignError::DuplicateClaim),
            Err(Rejection::Malformed(reason)) => return Err(SignError::Malformed(reason)),
            Err(Rejection::TooLarge(_)) => return Err(SignError::TooLarge),
            Err(Rejection::InvalidClaim(claim)) => return Err(SignError::InvalidClaim(claim)),
            Err(_) => return Err(SignError::Claims),
        }
        self.sign_jws(&payload, now_secs)
    }

    /// Checks a token's length, structure, header and signature, decodes its payload into
    /// `buffer`, and returns the index of the key whose MAC matched and the payload's length.
    /// No claims are read.
    fn check_and_decode(
        &self,
        token: Bounded<'_>,
        now_secs: u64,
        buffer: &mut [u8],
    ) -> Result<(usize, usize), Rejection> {
        let (index, payload_b64) = self.check(token, now_secs)?;
        let payload = decode_payload(payload_b64, buffer)?;
        Ok((index, payload.len()))
    }

    /// The verification pipeline every entry point runs: checks a token's length, structure,
    /// header, key and signature, in that order, and returns the index of the key whose MAC
    /// matched and the encoded payload segment. No claims are read.
    ///
    /// A token whose header segment is exactly one the ring issues is known, from those bytes,
    /// to mean `alg` HS256 and that key's `kid`: it skips the header parse, and its MAC starts
    /// from the key's state after that header. Every check still runs, in the same order.
    fn check<'t>(&self, Bounded(token): Bounded<'t>, now_secs: u64) -> Result<(usize, &'t [u8]), Rejection> {
        const NOT_THREE_SEGMENTS: Rejection = Rejection::Malformed("the token does not have three segments");
        let Some(last_dot) = token.iter().rposition(|&byte| byte == b'.') else { return Err(NOT_THREE_SEGMENTS) };
        let (signing_input, signature_b64) = (&token[..last_dot], &token[last_dot + 1..]);
        let own = self.keys.iter().position(|key| {
            let header = key.header_b64.as_bytes();
            signing_input.starts_with(header) && signing_input.get(header.len()) == Some(&b'.')
        });
        let header_len = match own {
            Some(index) => self.keys[index].header_b64.len(),
            None => signing_input.iter().position(|&byte| byte == b'.').ok_or(NOT_THREE_SEGMENTS)?,
        };
        let payload_b64 = &signing_input[header_len + 1..];
        if payload_b64.contains(&b'.') {
            return Err(NOT_THREE_SEGMENTS);
        }
        // The header is judged before the signature's shape: a token with `alg` `none` (and an
        // empty signature) or `HS512` (and a 64-byte one) is an algorithm attack or mistake,
        // and must be reported as `unsupported-algorithm`, not as a malformed signature.
        let selected = match own {
            Some(index) => Selected::Own(self.usable(index, now_secs)?),
            None => self.select_key(&signing_input[..header_len], now_secs)?,
        };
        if signature_b64.len() != SIGNATURE_B64_LEN {
            return Err(Rejection::Malformed("the signature is not 32 bytes of base64url"));
        }
        let mut signature = [0u8; SIGNATURE_LEN];
        if base64url::decode(signature_b64, &mut signature).is_err() {
            return Err(Rejection::Malformed("the signature is not canonical base64url"));
        }
        let matched = match selected {
            Selected::Own(index) => {
                self.keys[index].mac_after_header_matches(signing_input, &signature).then_some(index)
            }
            Selected::One(index) => self.keys[index].mac_matches(signing_input, &signature).then_some(index),
            Selected::Any => {
                self.kidless_candidates(now_secs).find(|&index| self.keys[index].mac_matches(signing_input, &signature))
            }
        };
        let Some(index) = matched else { return Err(Rejection::BadSignature) };
        self.keys[index].verdict(now_secs)?;
        Ok((index, payload_b64))
    }

    /// The keys a token whose header names no key is tried against, in order: only keys that can
    /// still verify a live token (pending, active, retiring; never retired, revoked or
    /// forgotten ones), the active key first, then the newest, at most
    /// [`KIDLESS_KEYS_TRIED_MAX`]. Each costs a MAC over the whole token, which the sender
    /// chose.
    fn kidless_candidates(&self, now_secs: u64) -> impl Iterator<Item = usize> + '_ {
        let signer = self.signer(now_secs);
        let live = (0..self.keys.len()).rev().filter(move |&index| {
            Some(index) != signer && matches!(self.keys[index].phase(now_secs), Phase::Pending | Phase::Current)
        });
        signer.into_iter().chain(live).take(KIDLESS_KEYS_TRIED_MAX)
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

    /// Picks the key a header segment other than the ring's own names. A key the ring has
    /// forgotten (or holds but is past its forget time) cannot check a MAC: `forgotten-key`,
    /// never routine.
    fn select_key(&self, header_b64: &[u8], now_secs: u64) -> Result<Selected, Rejection> {
        let usable = |index: usize| self.usable(index, now_secs).map(Selected::One);
        let mut buffer = [0u8; HEADER_LEN_MAX];
        let header = decode_header(header_b64, &mut buffer)?;
        if let [only] = self.keys.as_slice() {
            if only.kid.is_none() {
                return usable(0);
            }
        }
        let Some(kid) = header.kid else { return Ok(Selected::Any) };
        if let Some(index) = self.keys.iter().position(|key| key.kid.is_some_and(|own| own.as_str() == kid)) {
            return usable(index);
        }
        // A revoked key's secret is erased: its `kid` is all it takes to reject the token.
        if let Some(revoked) = self.revoked.iter().find(|revoked| revoked.kid.as_str() == kid) {
            return Err(revoked.rejection(now_secs));
        }
        if self.issued.iter().any(|own| own.as_str() == kid) {
            return Err(Rejection::ForgottenKey);
        }
        Err(Rejection::UnknownKey)
    }

    /// Verifies a compact JWS and returns its payload, decoded into `scratch`. No claims
    /// semantics: the payload may be anything.
    ///
    /// # Errors
    /// The [`Rejection`] that applies, checked in the order: length, structure, header, key,
    /// signature, payload encoding.
    pub fn verify_jws<'s>(
        &self,
        token: impl AsRef<[u8]>,
        now_secs: u64,
        scratch: &'s mut Scratch,
    ) -> Result<VerifiedJws<'s>, Rejection> {
        let token = Bounded::new(token.as_ref())?;
        let (index, payload_len) = self.check_and_decode(token, now_secs, &mut scratch.payload[..])?;
        Ok(VerifiedJws::new(self.keys[index].kid, &scratch.payload[..payload_len]))
    }

    /// Verifies a JWS with detached content (`header..signature`, RFC 7515 Appendix F) against
    /// the `payload` the caller supplies.
    ///
    /// # Errors
    /// As [`verify_jws`](Self::verify_jws); a token whose payload segment is not empty is
    /// `malformed`.
    pub fn verify_detached<'p>(
        &self,
        token: impl AsRef<[u8]>,
        payload: &'p [u8],
        now_secs: u64,
    ) -> Result<VerifiedJws<'p>, Rejection> {
        let token = token.as_ref();
        let Some(gap) = token.windows(2).position(|pair| pair == b"..") else {
            return Err(Rejection::Malformed("the token is not in detached form"));
        };
        // The attached form is the token with the encoded payload inserted at the gap.
        let encoded_len = token.len() + base64url::encoded_len(payload.len());
        if encoded_len > TOKEN_LEN_MAX || payload.len() > PAYLOAD_LEN_MAX {
            return Err(Rejection::TooLarge("the token exceeds its length limit"));
        }
        let mut attached = String::with_capacity(encoded_len);
        attached.push_str(
            core::str::from_utf8(&token[..=gap])
                .map_err(|_| Rejection::Malformed("the header is not canonical base64url"))?,
        );
        base64url::encode_into(payload, &mut attached);
        attached.push_str(
            core::str::from_utf8(&token[gap + 1..])
                .map_err(|_| Rejection::Malformed("the signature is not canonical base64url"))?,
        );
        let (index, _) = self.check(Bounded::new(attached.as_bytes())?, now_secs)?;
        Ok(VerifiedJws::new(self.keys[index].kid, payload))
    }

    /// Verifies a JWT and deserializes its claims into an owned `C`.
    ///
    /// The signature is checked, in constant time, before any of the claims are read; then the
    /// registered claims are checked against `validation` at `now_secs`.
    ///
    /// # Errors
    /// The [`Rejection`] that applies.
    pub fn verify<C: DeserializeOwned>(
        &self,
        token: impl AsRef<[u8]>,
        validation: &Validation,
        now_secs: u64,
    ) -> Result<Verified<C>, Rejection> {
        let token = Bounded::new(token.as_ref())?;
        // The buffer must be initialised before it is written, so its size is picked to fit:
        // zeroing a kilobyte for every small token would cost more than decoding it. The
        // token's own length bounds its payload's.
        let payload_len_max = base64url::decoded_len_max(token.0.len());
        if payload_len_max <= SMALL_PAYLOAD_LEN {
            let mut buffer = [0u8; SMALL_PAYLOAD_LEN];
            self.verify_into(token, validation, now_secs, &mut buffer)
        } else if payload_len_max <= STACK_PAYLOAD_LEN {
            let mut buffer = [0u8; STACK_PAYLOAD_LEN];
            self.verify_into(token, validation, now_secs, &mut buffer)
        } else {
            let mut buffer = vec![0u8; payload_len_max];
            self.verify_into(token, validation, now_secs, &mut buffer)
        }
    }

    /// [`verify`](Self::verify) with the payload decoded into `buffer`.
    fn verify_into<C: DeserializeOwned>(
        &self,
        token: Bounded<'_>,
        validation: &Validation,
        now_secs: u64,
        buffer: &mut [u8],
    ) -> Result<Verified<C>, Rejection> {
        let (index, payload_len) = self.check_and_decode(token, now_secs, buffer)?;
        finish(&buffer[..payload_len], self.keys[index].kid, validation, now_secs)
    }

    /// Verifies a JWT and deserializes its claims into a `C` that may borrow from `scratch`
    /// (`&str` fields): with such a type, verification does not touch the heap.
    ///
    /// Strings with JSON escapes cannot be borrowed; use `Cow<'_, str>` fields where claims may
    /// contain them.
    ///
    /// # Errors
    /// The [`Rejection`] that applies.
    pub fn verify_borrowed<'s, C: Deserialize<'s>>(
        &self,
        token: impl AsRef<[u8]>,
        validation: &Validation,
        now_secs: u64,
        scratch: &'s mut Scratch,
    ) -> Result<Verified<C>, Rejection> {
        let token = Bounded::new(token.as_ref())?;
        let (index, payload_len) = self.check_and_decode(token, now_secs, &mut scratch.payload[..])?;
        finish(&scratch.payload[..payload_len], self.keys[index].kid, validation, now_secs)
    }
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
    if header_b64.is_empty() {
        return Err(Rejection::Malformed("the header segment is empty"));
    }
    if base64url::decoded_len_max(header_b64.len()) > HEADER_LEN_MAX {
        return Err(Rejection::TooLarge("the header exceeds its length limit"));
    }
    let decoded = base64url::decode(header_b64, buffer)
        .map_err(|_| Rejection::Malformed("the header is not canonical base64url"))?;
    header::parse(decoded)
}

/// A token no longer than [`TOKEN_LEN_MAX`]: the one place its length is checked, before any
/// other work on it.
#[derive(Clone, Copy)]
struct Bounded<'t>(&'t [u8]);

impl<'t> Bounded<'t> {
    fn new(token: &'t [u8]) -> Result<Self, Rejection> {
        if token.len() > TOKEN_LEN_MAX {
            return Err(Rejection::TooLarge("the token exceeds its length limit"));
        }
        Ok(Self(token))
    }
}

/// The key, or keys, whose MAC a token must match.
enum Selected {
    /// The key whose own header segment the token starts with.
    Own(usize),
    /// The key the header names.
    One(usize),
    /// The header names no key: the keys of
    /// [`kidless_candidates`](KeyRing::kidless_candidates).
    Any,
}

fn decode_payload<'b>(payload_b64: &[u8], buffer: &'b mut [u8]) -> Result<&'b [u8], Rejection> {
    if base64url::decoded_len_max(payload_b64.len()) > buffer.len() {
        return Err(Rejection::TooLarge("the payload exceeds its length limit"));
    }
    base64url::decode(payload_b64, buffer).map_err(|_| Rejection::Malformed("the payload is not canonical base64url"))
}

fn finish<'p, C: Deserialize<'p>>(
    payload: &'p [u8],
    kid: Option<Kid>,
    validation: &Validation,
    now_secs: u64,
) -> Result<Verified<C>, Rejection> {
    let (claims, exp, iat) = claims::parse_and_check::<C>(payload, validation, now_secs)?;
    Ok(Verified::new(claims, kid, exp, iat))
}
