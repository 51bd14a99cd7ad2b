//! Proof types: values only the verifier can construct.

use crate::limits::PAYLOAD_LEN_MAX;
use crate::ring::key::Kid;
use crate::token::claims::Times;

/// A JWT whose signature held and whose claims passed the [`Validation`](crate::Validation).
/// Only [`KeyRing::verify`](crate::KeyRing::verify) and
/// [`KeyRing::verify_borrowed`](crate::KeyRing::verify_borrowed) make one (and
/// [`KeyRing::verify_jws`](crate::KeyRing::verify_jws) a `Verified<&[u8]>` of a JWS payload,
/// whose signature alone was checked): holding a `Verified<C>` is proof that the checks ran.
#[derive(Debug, Clone)]
pub struct Verified<C> {
    claims: C,
    kid: Option<Kid>,
    times: Times,
}

impl<C> Verified<C> {
    pub(crate) fn new(claims: C, kid: Option<Kid>, times: Times) -> Self {
        Self { claims, kid, times }
    }

    /// The verified claims.
    pub fn claims(&self) -> &C {
        &self.claims
    }

    /// The verified claims, by value.
    pub fn into_claims(self) -> C {
        self.claims
    }

    /// The identifier of the ring key that verified the signature.
    pub fn kid(&self) -> Option<&Kid> {
        self.kid.as_ref()
    }

    /// The `exp` claim, in whole seconds since the epoch: the first second at which the token
    /// is expired (before leeway). A fractional `exp` is rounded up, which is what the check
    /// against a whole-second `now` amounts to.
    pub fn expires_at(&self) -> Option<u64> {
        self.times.exp
    }

    /// The `iat` claim, in whole seconds since the epoch (a fractional `iat` rounded down).
    pub fn issued_at(&self) -> Option<u64> {
        self.times.iat
    }

    /// The `nbf` claim, in whole seconds since the epoch: the first second at which the token
    /// is valid (before leeway). A fractional `nbf` is rounded up.
    pub fn not_before(&self) -> Option<u64> {
        self.times.nbf
    }
}

/// Room for one decoded payload, reused across verifications so that borrowed claims can
/// point into it without any heap allocation.
///
/// ```
/// let mut scratch = tokenring::Scratch::new();
/// # let _ = &mut scratch;
/// ```
pub struct Scratch {
    pub(crate) payload: Box<[u8; PAYLOAD_LEN_MAX]>,
}

impl Scratch {
    /// A scratch buffer of [`PAYLOAD_LEN_MAX`] bytes. Allocates once; reuse it.
    pub fn new() -> Self {
        Self { payload: Box::new([0; PAYLOAD_LEN_MAX]) }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Scratch { .. }")
    }
}
