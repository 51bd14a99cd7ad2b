//! The key ring: keys with their lifecycle (see `lifecycle.rs`), signing with the active key,
//! and the verification pipeline.

use std::io::Write as _;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{KeyError, Malformed, Rejection, SignError, TooLarge};
use crate::limits::{
    CLAIMS_MEMBERS_MAX, DURATION_SECS_MAX, HEADER_LEN_MAX, ISSUED_KIDS_MAX, KIDLESS_KEYS_TRIED_MAX, SIGNATURE_B64_LEN,
    SIGNATURE_LEN, TOKEN_LEN_MAX,
};
use crate::ring::key::{Entropy, Key, Kid, OsEntropy};
use crate::ring::lifecycle::{Phase, Revoked};
use crate::token::base64url;
use crate::token::claims::{self, Members, Times, Validation};
use crate::token::header;
use crate::token::mac::Midstate;
use crate::token::unverified::{self, decode_payload};
use crate::token::verified::{Scratch, Verified};

/// Payloads up to this many decoded bytes are verified in a small stack buffer by
/// [`KeyRing::verify`]: most tokens fit, and zeroing it costs next to nothing.
const SMALL_PAYLOAD_LEN: usize = 256;

/// Payloads up to this many decoded bytes are verified in a larger stack buffer by
/// [`KeyRing::verify`]; larger ones use the heap.
const STACK_PAYLOAD_LEN: usize = 1024;

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

    /// Signs `payload`, any bytes, as a compact JWS with the key active at `now_secs`: the JWS
    /// layer under [`issue`](Self::issue), which checks nothing in the payload; its
    /// counterpart is [`verify_jws`](Self::verify_jws). For JWT claims use `issue`.
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

    /// Signs `claims` as a JWT with the key active at `now_secs`, with `iat` and `nbf` set to
    /// `now_secs` and `exp` to `now_secs + ttl_secs`: the one way to make a token. The result is checked against the
    /// verifier's own rules before it is signed, so a token this returns always parses.
    ///
    /// A claims type needs no time fields: [`Verified`] reads them back
    /// ([`expires_at`](Verified::expires_at), [`issued_at`](Verified::issued_at),
    /// [`not_before`](Verified::not_before)). A type that has them anyway (`exp: u64`, as with
    /// jsonwebtoken) works for issuing and verifying alike: a time the claims carry is kept as
    /// given, if `exp` lies between `now_secs` and `now_secs + ttl_secs`, `iat` is not after
    /// `now_secs` and `nbf` is before `exp`; only the missing ones are added.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use tokenring::{KeyRing, Validation};
    /// #[derive(Serialize, Deserialize)]
    /// struct Session { sub: String, exp: u64 }
    ///
    /// let now = 1_700_000_000;
    /// let ring = KeyRing::generate(now)?;
    /// let token = ring.issue(&Session { sub: "ada".into(), exp: now + 600 }, 3600, now)?;
    /// let verified = ring.verify::<Session>(&token, &Validation::new(), now)?;
    /// assert_eq!((verified.claims().exp, verified.issued_at()), (now + 600, Some(now)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`SignError::TimeClaim`] for a time of the claims' own outside those bounds (it names
    /// the member), [`SignError::DuplicateClaim`] when the claims name a member twice, at any
    /// depth (a hand-written `Serialize`), [`SignError::InvalidClaim`] for a registered claim a
    /// verifier refuses (a numeric `iss`, say), [`SignError::Malformed`] for claims that break
    /// another of the verifier's rules (a lone surrogate escaped), [`SignError::TtlTooLong`],
    /// [`SignError::TimeOverflow`], [`SignError::Claims`] when the claims are not a JSON
    /// object, [`SignError::NoActiveKey`] and [`SignError::TooLarge`].
    pub fn issue<C: Serialize + ?Sized>(&self, claims: &C, ttl_secs: u64, now_secs: u64) -> Result<String, SignError> {
        if ttl_secs > DURATION_SECS_MAX {
            return Err(SignError::TtlTooLong);
        }
        let exp_max = now_secs.checked_add(ttl_secs).ok_or(SignError::TimeOverflow)?;
        let body = serde_json::to_vec(claims).map_err(|_| SignError::Claims)?;
        if body.first() != Some(&b'{') {
            return Err(SignError::Claims);
        }
        // The claims are read once, by the verifier's own reader: their times, and how many
        // members they have. Only the times they lack are added, as fresh names with whole
        // numbers, which keep every rule that read checked as long as the member count stays
        // within its limit (`sign_jws` checks the token's length).
        let (Members(members), registered) = claims::parse::<Members>(&body).map_err(sign_error)?;
        let given = registered.times();
        check_given_times(given, now_secs, exp_max)?;
        let missing = [given.iat, given.nbf, given.exp].into_iter().filter(Option::is_none).count();
        if members + missing > CLAIMS_MEMBERS_MAX {
            return Err(SignError::TooLarge);
        }
        if missing == 0 {
            return self.sign_jws(&body, now_secs);
        }
        let payload = with_times(&body, given, now_secs, exp_max);
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
        const NOT_THREE_SEGMENTS: Rejection = Rejection::Malformed(Malformed::Segments);
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
            return Err(Rejection::Malformed(Malformed::SignatureLength));
        }
        let mut signature = [0u8; SIGNATURE_LEN];
        if base64url::decode(signature_b64, &mut signature).is_err() {
            return Err(Rejection::Malformed(Malformed::SignatureEncoding));
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

    /// Verifies a compact JWS and returns its payload, decoded into `scratch`, as the
    /// [`Verified::claims`]: the JWS layer under [`verify`](Self::verify), for payloads that
    /// are not JWT claims. No claims are read, so nothing is checked but the token's form, its
    /// key and its signature (a JWT's `exp` is not), and the registered times read `None`.
    ///
    /// ```
    /// # use tokenring::{KeyRing, Scratch};
    /// # let now = 1_700_000_000;
    /// let ring = KeyRing::generate(now)?;
    /// let token = ring.issue(&serde_json::json!({"sub": "ada"}), 60, now)?;
    /// let mut scratch = Scratch::new();
    /// let verified = ring.verify_jws(&token, &mut scratch, now + 3600)?;
    /// assert!(verified.claims().starts_with(br#"{"iat":1700000000"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The [`Rejection`] that applies, checked in the order: length, structure, header, key,
    /// signature, payload encoding.
    pub fn verify_jws<'s>(
        &self,
        token: impl AsRef<[u8]>,
        scratch: &'s mut Scratch,
        now_secs: u64,
    ) -> Result<Verified<&'s [u8]>, Rejection> {
        let token = Bounded::new(token.as_ref())?;
        let (index, payload_len) = self.check_and_decode(token, now_secs, &mut scratch.payload[..])?;
        Ok(Verified::new(&scratch.payload[..payload_len], self.keys[index].kid, Times::default()))
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
        scratch: &'s mut Scratch,
        now_secs: u64,
    ) -> Result<Verified<C>, Rejection> {
        let token = Bounded::new(token.as_ref())?;
        let (index, payload_len) = self.check_and_decode(token, now_secs, &mut scratch.payload[..])?;
        finish(&scratch.payload[..payload_len], self.keys[index].kid, validation, now_secs)
    }
}

/// The claims object `body` with the times `given` lacks added at its start: `iat` and `nbf`
/// at `now_secs`, `exp` at `exp`.
fn with_times(body: &[u8], given: Times, now_secs: u64, exp: u64) -> Vec<u8> {
    // `body` starts with `{`; a `RawValue` passes its text through as written (`{ }`).
    let rest = body[1..].trim_ascii_start();
    let mut payload = Vec::with_capacity(body.len() + 64);
    payload.push(b'{');
    for (name, value, given) in [("iat", now_secs, given.iat), ("nbf", now_secs, given.nbf), ("exp", exp, given.exp)] {
        if given.is_none() {
            if payload.len() > 1 {
                payload.push(b',');
            }
            // Writing into a `Vec` cannot fail.
            let _ = write!(payload, r#""{name}":{value}"#);
        }
    }
    if payload.len() > 1 && rest.first() != Some(&b'}') {
        payload.push(b',');
    }
    payload.extend_from_slice(rest);
    payload
}

/// Checks the times a caller's claims carry: `exp` within the time-to-live, `iat` not in the
/// future, `nbf` before `exp`.
fn check_given_times(given: Times, now_secs: u64, exp_max: u64) -> Result<(), SignError> {
    if given.exp.is_some_and(|exp| exp < now_secs || exp > exp_max) {
        return Err(SignError::TimeClaim("exp"));
    }
    if given.iat.is_some_and(|iat| iat > now_secs) {
        return Err(SignError::TimeClaim("iat"));
    }
    if given.nbf.is_some_and(|nbf| nbf >= given.exp.unwrap_or(exp_max)) {
        return Err(SignError::TimeClaim("nbf"));
    }
    Ok(())
}

/// The signing error for claims a verifier would refuse.
fn sign_error(rejection: Rejection) -> SignError {
    match rejection {
        claims::REPEATED => SignError::DuplicateClaim,
        Rejection::Malformed(reason) => SignError::Malformed(reason),
        Rejection::TooLarge(_) => SignError::TooLarge,
        Rejection::InvalidClaim(claim) => SignError::InvalidClaim(claim),
        _ => SignError::Claims,
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
    header::parse(unverified::decode_header(header_b64, buffer)?)
}

/// A token no longer than [`TOKEN_LEN_MAX`]: the one place its length is checked, before any
/// other work on it.
#[derive(Clone, Copy)]
struct Bounded<'t>(&'t [u8]);

impl<'t> Bounded<'t> {
    fn new(token: &'t [u8]) -> Result<Self, Rejection> {
        if token.len() > TOKEN_LEN_MAX {
            return Err(Rejection::TooLarge(TooLarge::Token));
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

fn finish<'p, C: Deserialize<'p>>(
    payload: &'p [u8],
    kid: Option<Kid>,
    validation: &Validation,
    now_secs: u64,
) -> Result<Verified<C>, Rejection> {
    let (claims, times) = claims::parse_and_check::<C>(payload, validation, now_secs)?;
    Ok(Verified::new(claims, kid, times))
}
