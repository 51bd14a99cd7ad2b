//! Making tokens: the header a ring key signs under, and the one way a token is assembled
//! ([`KeyRing::sign_jws`], under [`KeyRing::issue`]).

use std::io::Write as _;

use serde::Serialize;

use crate::error::{Rejection, SignError};
use crate::limits::{CLAIMS_MEMBERS_MAX, DURATION_SECS_MAX, SIGNATURE_B64_LEN, SIGNATURE_LEN, TOKEN_LEN_MAX};
use crate::ring::key::{Key, Kid};
use crate::ring::keyring::KeyRing;
use crate::ring::ring_key::RingKey;
use crate::token::base64url;
use crate::token::claims::{self, Times};
use crate::token::mac::Midstate;

/// The header segment a ring key signs under, encoded, and the key's MAC state after it.
///
/// A token whose header segment is exactly this one needs no header parse: the bytes are known
/// to mean `alg` HS256 and the key's `kid`. Signing it, and verifying it, start from the MAC
/// state after the header and the dot that follows it: the MAC is the same as over the whole
/// signing input, without hashing the header again. Made by [`RingKey::new`] from the key's own
/// `kid` and secret, so the two cannot belong to different keys.
#[derive(Clone, Debug)]
pub(crate) struct OwnHeader {
    header_b64: Box<[u8]>,
    after_header: Midstate,
}

impl OwnHeader {
    /// The header `{"alg":"HS256","typ":"JWT","kid":...}` naming `kid` (or no `kid`), and the
    /// state of `key`'s MAC after it and a dot.
    pub(crate) fn new(kid: Option<&Kid>, key: &Key) -> Self {
        let header = match kid {
            Some(kid) => format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#),
            None => r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
        };
        let mut header_b64 = Vec::with_capacity(base64url::encoded_len(header.len()));
        base64url::encode_into(header.as_bytes(), &mut header_b64);
        let mut after_header = key.keyed().clone();
        after_header.absorb(&header_b64);
        after_header.absorb(b".");
        Self { header_b64: header_b64.into_boxed_slice(), after_header }
    }

    /// The encoded header segment.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.header_b64
    }

    /// Whether `signing_input` starts with this header segment and a dot.
    pub(crate) fn begins(&self, signing_input: &[u8]) -> bool {
        signing_input.starts_with(&self.header_b64) && signing_input.get(self.header_b64.len()) == Some(&b'.')
    }

    /// The MAC state after this header segment and its dot: it finishes the MAC of a signing
    /// input that [`begins`](Self::begins) with them.
    pub(crate) fn after_header(&self) -> &Midstate {
        &self.after_header
    }

    /// The length of the token this header makes of a payload of `payload_len` bytes.
    fn token_len(&self, payload_len: usize) -> usize {
        self.header_b64.len() + 1 + base64url::encoded_len(payload_len) + 1 + SIGNATURE_B64_LEN
    }

    /// The token of `payload` under this header, or [`SignError::TooLarge`] when it would exceed
    /// [`TOKEN_LEN_MAX`]. The payload is copied once, after the header, and encoded where it lies.
    fn seal(&self, payload: &[u8]) -> Result<String, SignError> {
        let len = self.token_len(payload.len());
        if len > TOKEN_LEN_MAX {
            return Err(SignError::TooLarge);
        }
        let mut token = Vec::with_capacity(len);
        token.extend_from_slice(&self.header_b64);
        token.push(b'.');
        let payload_start = token.len();
        token.extend_from_slice(payload);
        // The payload and the signature are published in the token: the token codec encodes them.
        base64url::encode_in_place(&mut token, payload_start);
        let tag: [u8; SIGNATURE_LEN] = self.after_header.finish(&token[self.after_header.absorbed()..]);
        token.push(b'.');
        base64url::encode_into(&tag, &mut token);
        debug_assert_eq!(token.len(), len);
        // Every byte is from the base64url alphabet or a dot, so this cannot fail; the check
        // keeps the library free of unsafe code (and the error arm free of panics).
        String::from_utf8(token).map_err(|_| SignError::Claims)
    }
}

impl KeyRing {
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
        self.active_key(now_secs)?.header().seal(payload)
    }

    /// Signs `claims` as a JWT with the key active at `now_secs`, with `iat` and `nbf` set to
    /// `now_secs` and `exp` to `now_secs + ttl_secs`: the one way to make a token. The result is checked against the
    /// verifier's own rules before it is signed, so a token this returns always parses.
    ///
    /// A claims type needs no time fields: [`Verified`](crate::Verified) reads them back
    /// ([`expires_at`](crate::Verified::expires_at), [`issued_at`](crate::Verified::issued_at),
    /// [`not_before`](crate::Verified::not_before)). A type that has them anyway (`exp: u64`, as with
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
    /// another of the verifier's rules (a lone surrogate escaped), [`SignError::DurationTooLong`],
    /// [`SignError::TimeOverflow`], [`SignError::Claims`] when the claims are not a JSON
    /// object, [`SignError::NoActiveKey`] and [`SignError::TooLarge`].
    pub fn issue<C: Serialize + ?Sized>(&self, claims: &C, ttl_secs: u64, now_secs: u64) -> Result<String, SignError> {
        if ttl_secs > DURATION_SECS_MAX {
            return Err(SignError::DurationTooLong { secs: ttl_secs });
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
        let (_, registered) = claims::parse::<serde::de::IgnoredAny>(&body).map_err(sign_error)?;
        let given = registered.times();
        check_given_times(given, now_secs, exp_max)?;
        let missing = [given.iat, given.nbf, given.exp].into_iter().filter(Option::is_none).count();
        if registered.members + missing > CLAIMS_MEMBERS_MAX {
            return Err(SignError::TooLarge);
        }
        if missing == 0 {
            return self.sign_jws(&body, now_secs);
        }
        let payload = with_times(&body, given, now_secs, exp_max);
        self.sign_jws(&payload, now_secs)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::JSON_DEPTH_MAX;

    const NOW: u64 = 1_700_000_000;

    /// The bounds on a caller's own times, at each edge: `exp` from now to now plus the
    /// time-to-live, both included; `iat` up to now; `nbf` before `exp`.
    #[test]
    fn given_times_at_their_bounds() {
        let times = |iat, nbf, exp| Times { iat, nbf, exp };
        let exp_max = NOW + 60;
        assert_eq!(check_given_times(times(None, None, Some(NOW)), NOW, exp_max), Ok(()));
        assert_eq!(check_given_times(times(None, None, Some(exp_max)), NOW, exp_max), Ok(()));
        for exp in [NOW - 1, exp_max + 1] {
            assert_eq!(check_given_times(times(None, None, Some(exp)), NOW, exp_max), Err(SignError::TimeClaim("exp")));
        }
        assert_eq!(check_given_times(times(Some(NOW), None, None), NOW, exp_max), Ok(()));
        assert_eq!(check_given_times(times(Some(NOW + 1), None, None), NOW, exp_max), Err(SignError::TimeClaim("iat")));
        assert_eq!(check_given_times(times(None, Some(NOW + 9), Some(NOW + 10)), NOW, exp_max), Ok(()));
        assert_eq!(
            check_given_times(times(None, Some(NOW + 10), Some(NOW + 10)), NOW, exp_max),
            Err(SignError::TimeClaim("nbf"))
        );
        assert_eq!(check_given_times(times(None, Some(exp_max), None), NOW, exp_max), Err(SignError::TimeClaim("nbf")));
    }

    /// Claims a verifier would refuse for a limit are `TooLarge` when issued, not a failure to
    /// serialize.
    #[test]
    fn claims_over_a_verifier_limit_are_too_large() {
        let ring = KeyRing::with_key(Key::from_bytes(&[9; 32]).unwrap(), None, NOW);
        let deep = serde_json::from_str::<serde_json::Value>(&format!(
            r#"{{"a":{}1{}}}"#,
            "[".repeat(JSON_DEPTH_MAX + 1),
            "]".repeat(JSON_DEPTH_MAX + 1)
        ))
        .unwrap();
        assert_eq!(ring.issue(&deep, 60, NOW), Err(SignError::TooLarge));
    }
}
