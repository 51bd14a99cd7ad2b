//! The verification pipeline: one for every entry point ([`KeyRing::verify`],
//! [`KeyRing::verify_borrowed`], [`KeyRing::verify_jws`]).
//!
//! Every entry point bounds the token's length first ([`Bounded`], the one place it is
//! checked), then [`KeyRing::check`] runs the other checks in their documented order: three
//! segments, header and key (the ring's [`select`](KeyRing::select)), the signature's shape,
//! the MAC, the key's state. It reads no claims, and decodes nothing but the header and the
//! signature. Only a token that passed it has its payload decoded, into the caller's buffer,
//! and then, for a JWT, its claims read.

use serde::de::{Deserialize, DeserializeOwned};

use crate::error::{Malformed, Rejection, TooLarge};
use crate::limits::{SIGNATURE_B64_LEN, SIGNATURE_LEN, TOKEN_LEN_MAX};
use crate::ring::key::Kid;
use crate::ring::keyring::{KeyRing, Selected};
use crate::token::base64url;
use crate::token::claims::{self, Times, Validation};
use crate::token::mac::Midstate;
use crate::token::unverified::decode_payload;
use crate::token::verified::{Scratch, Verified};

/// Payloads up to this many decoded bytes are decoded by [`KeyRing::verify`] into a buffer on
/// the stack, larger ones into one on the heap. Most tokens fit; the buffer is made only for a
/// token whose MAC held, so a rejection never pays for it.
const STACK_PAYLOAD_LEN: usize = 1024;

/// A token no longer than [`TOKEN_LEN_MAX`]: the one place its length is checked, before any
/// other work on it.
#[derive(Clone, Copy)]
pub(crate) struct Bounded<'t>(&'t [u8]);

impl<'t> Bounded<'t> {
    pub(crate) fn new(token: &'t [u8]) -> Result<Self, Rejection> {
        if token.len() > TOKEN_LEN_MAX {
            return Err(Rejection::TooLarge(TooLarge::Token));
        }
        Ok(Self(token))
    }

    /// The token's bytes.
    pub(crate) fn bytes(self) -> &'t [u8] {
        self.0
    }
}

/// A token that passed [`KeyRing::check`]: the key that verified it, and its payload segment,
/// not yet decoded.
struct Checked<'t> {
    kid: Option<Kid>,
    payload_b64: &'t [u8],
}

impl KeyRing {
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
        let checked = self.check(Bounded::new(token.as_ref())?, now_secs)?;
        let payload = decode_payload(checked.payload_b64, &mut scratch.payload[..])?;
        Ok(Verified::new(payload, checked.kid, Times::default()))
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
        let checked = self.check(Bounded::new(token.as_ref())?, now_secs)?;
        // The buffer must be initialised before it is written: zeroing the largest payload's
        // room for every small token would cost more than decoding it. The segment's length
        // bounds the payload's.
        let payload_len_max = base64url::decoded_len_max(checked.payload_b64.len());
        if payload_len_max <= STACK_PAYLOAD_LEN {
            finish(&checked, &mut [0u8; STACK_PAYLOAD_LEN], validation, now_secs)
        } else {
            finish(&checked, &mut vec![0u8; payload_len_max], validation, now_secs)
        }
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
        let checked = self.check(Bounded::new(token.as_ref())?, now_secs)?;
        finish(&checked, &mut scratch.payload[..], validation, now_secs)
    }

    /// The verification pipeline every entry point runs: checks a token's length, structure,
    /// header, key, signature and the key's state, in that order, and returns the key that
    /// verified it with the encoded payload segment. No claims are read.
    ///
    /// A token whose header segment is exactly one the ring signs under is known, from those
    /// bytes, to mean `alg` HS256 and that key's `kid`: it skips the header parse, and its MAC
    /// starts from the key's state after that header. Every check still runs, in the same order.
    fn check<'t>(&self, token: Bounded<'t>, now_secs: u64) -> Result<Checked<'t>, Rejection> {
        const NOT_THREE_SEGMENTS: Rejection = Rejection::Malformed(Malformed::Segments);
        let token = token.bytes();
        let Some(last_dot) = token.iter().rposition(|&byte| byte == b'.') else { return Err(NOT_THREE_SEGMENTS) };
        let (signing_input, signature_b64) = (&token[..last_dot], &token[last_dot + 1..]);
        // The ring's own header segments are looked for first: a dot is then looked for only
        // in the payload, not also through the header.
        let own = self.own_header(signing_input);
        let header_len = match own {
            Some(index) => self.keys[index].header().as_bytes().len(),
            None => signing_input.iter().position(|&byte| byte == b'.').ok_or(NOT_THREE_SEGMENTS)?,
        };
        let payload_b64 = &signing_input[header_len + 1..];
        if payload_b64.contains(&b'.') {
            return Err(NOT_THREE_SEGMENTS);
        }
        // The header is judged before the signature's shape: a token with `alg` `none` (and an
        // empty signature) or `HS512` (and a 64-byte one) is an algorithm attack or mistake,
        // and must be reported as `unsupported-algorithm`, not as a malformed signature.
        let selected = self.select(own, &signing_input[..header_len], now_secs)?;
        if signature_b64.len() != SIGNATURE_B64_LEN {
            return Err(Rejection::Malformed(Malformed::SignatureLength));
        }
        let mut signature = [0u8; SIGNATURE_LEN];
        if base64url::decode(signature_b64, &mut signature).is_err() {
            return Err(Rejection::Malformed(Malformed::SignatureEncoding));
        }
        let matches = |state: &Midstate| state.verify(&signing_input[state.absorbed()..], &signature);
        let matched = match selected {
            Selected::Key { index, state } => matches(state).then_some(index),
            Selected::Kidless => self.kidless_candidates(now_secs).find(|&index| matches(self.keys[index].keyed())),
        };
        let accepted = canary!(MacSkippedForOwnHeader => matched.or(own), else matched);
        let Some(index) = accepted else { return Err(Rejection::BadSignature) };
        self.keys[index].verdict(now_secs)?;
        Ok(Checked { kid: self.keys[index].kid(), payload_b64 })
    }
}

/// Decodes a checked token's payload into `buffer` and reads its claims.
fn finish<'p, C: Deserialize<'p>>(
    checked: &Checked<'_>,
    buffer: &'p mut [u8],
    validation: &Validation,
    now_secs: u64,
) -> Result<Verified<C>, Rejection> {
    let payload = decode_payload(checked.payload_b64, buffer)?;
    let (claims, times) = claims::parse_and_check::<C>(payload, validation, now_secs)?;
    Ok(Verified::new(claims, checked.kid, times))
}
