//! Errors and rejections.
//!
//! A [`Rejection`] is the outcome of verifying a token that does not pass: it is expected input
//! from the network, carries a stable machine code, and says whether an operator should care.
//! An [`Error`] is a failure of the caller's own operations: a bad key, an unreadable key file,
//! claims that cannot be serialized.
//!
//! No `Display` or `Debug` here ever contains a token, a signature, key bytes or a string chosen
//! by whoever sent the token: every detail is a reason enum, a `&'static str` or a number, or a
//! path held as a [`RedactedPathBuf`](crate::RedactedPathBuf), which prints redacted. Limits
//! are quoted from [`limits`](crate::limits), never restated.

use core::fmt;
use std::io;

use crate::limits::{
    DURATION_SECS_MAX, KEYS_PER_RING_MAX, KEY_LEN_MAX, KEY_LEN_MIN, KEY_SET_LEN_MAX, KID_LEN_MAX, SYMLINK_HOPS_MAX,
};
use crate::store::document::StoreName;
use crate::store::path::RedactedPathBuf;

/// Why a token was not accepted.
///
/// Each variant maps to one stable, kebab-case [`code`](Rejection::code) that the CLI prints
/// and the documentation lists. The set may grow, hence `#[non_exhaustive]`. The reasons some
/// variants carry are data ([`Malformed`], [`TooLarge`], [`UnsupportedHeader`]): match on them,
/// never on their text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The token is not a well-formed compact JWS: wrong number of segments, invalid base64url,
    /// a header or payload that is not the JSON it must be.
    Malformed(Malformed),
    /// The token, or one of its parts, exceeds a limit in [`limits`](crate::limits).
    TooLarge(TooLarge),
    /// The header names an algorithm other than `HS256`, or none.
    UnsupportedAlgorithm,
    /// The header uses a feature this library does not implement (`crit`, `b64`).
    UnsupportedHeader(UnsupportedHeader),
    /// The signature holds under a key this ring retired: routine after a rotation.
    RetiredKey,
    /// The signature holds under a key that was revoked: a token signed by a key that should no
    /// longer be trusted.
    RevokedKey,
    /// The token names a key this ring issued and has since forgotten (its material was
    /// dropped): the signature cannot be checked, so the token may be stale or forged.
    ForgottenKey,
    /// The token names a key this ring has no record of issuing.
    UnknownKey,
    /// The signature does not match under the selected key.
    BadSignature,
    /// The signature holds but the token is past its `exp`.
    Expired,
    /// The signature holds but the token's `nbf` is still in the future.
    NotYetValid,
    /// The signature holds but `iss` is not the expected issuer.
    WrongIssuer,
    /// The signature holds but `aud` does not name the expected audience.
    WrongAudience,
    /// The signature holds but a required claim is absent; names the claim.
    MissingClaim(&'static str),
    /// The signature holds but a claim has the wrong type or shape; names the claim.
    InvalidClaim(&'static str),
}

/// What makes a token malformed ([`Rejection::Malformed`]). Its `Display` is the explanation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Malformed {
    /// The token does not have three dot-separated segments.
    Segments,
    /// The header segment is empty.
    EmptyHeader,
    /// The header segment is not canonical base64url.
    HeaderEncoding,
    /// The payload segment is not canonical base64url.
    PayloadEncoding,
    /// The signature segment is not canonical base64url.
    SignatureEncoding,
    /// The signature is not as long as an HS256 signature.
    SignatureLength,
    /// The header is not UTF-8.
    HeaderText,
    /// The header is not a JSON object, or a string in it escapes half of a UTF-16 surrogate
    /// pair.
    HeaderNotObject,
    /// An object in the header names a member twice.
    HeaderRepeatsMember,
    /// The header has no `alg`.
    NoAlg,
    /// The header's `kid` is not a string.
    KidNotString,
    /// The header's `typ` or `cty` is not a string.
    TypNotString,
    /// The claims are not UTF-8.
    ClaimsText,
    /// The claims are not a JSON object, or a string in them escapes half of a UTF-16
    /// surrogate pair.
    ClaimsNotObject,
    /// An object in the claims names a member twice.
    ClaimsRepeatMember,
    /// The request carries an empty token (in the `Authorization` header or the cookie).
    EmptyCredentials,
    /// The request carries its token more than once (two `Authorization` headers or cookies).
    RepeatedCredentials,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Segments => "the token does not have three segments",
            Self::EmptyHeader => "the header segment is empty",
            Self::HeaderEncoding => "the header is not canonical base64url",
            Self::PayloadEncoding => "the payload is not canonical base64url",
            Self::SignatureEncoding => "the signature is not canonical base64url",
            Self::SignatureLength => {
                return write!(f, "the signature is not {} bytes of base64url", crate::limits::SIGNATURE_LEN)
            }
            Self::HeaderText => "the header is not UTF-8",
            Self::HeaderNotObject => "the header is not a well-formed JSON object",
            Self::HeaderRepeatsMember => "the header repeats a member",
            Self::NoAlg => "the header has no alg",
            Self::KidNotString => "the header's kid is not a string",
            Self::TypNotString => "the header's typ or cty is not a string",
            Self::ClaimsText => "the claims are not UTF-8",
            Self::ClaimsNotObject => "the claims are not a well-formed JSON object",
            Self::ClaimsRepeatMember => "the claims repeat a member",
            Self::EmptyCredentials => "the request's token is empty",
            Self::RepeatedCredentials => "the request sends its token more than once",
        })
    }
}

/// Which limit a token exceeds ([`Rejection::TooLarge`]). Its `Display` is the explanation,
/// quoting the limit from [`limits`](crate::limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TooLarge {
    /// The token is longer than [`TOKEN_LEN_MAX`](crate::limits::TOKEN_LEN_MAX).
    Token,
    /// The decoded header is longer than [`HEADER_LEN_MAX`](crate::limits::HEADER_LEN_MAX).
    Header,
    /// The decoded payload is longer than [`PAYLOAD_LEN_MAX`](crate::limits::PAYLOAD_LEN_MAX).
    Payload,
    /// The header nests deeper than [`JSON_DEPTH_MAX`](crate::limits::JSON_DEPTH_MAX).
    HeaderDepth,
    /// The claims nest deeper than [`JSON_DEPTH_MAX`](crate::limits::JSON_DEPTH_MAX).
    ClaimsDepth,
    /// The header has more than [`HEADER_MEMBERS_MAX`](crate::limits::HEADER_MEMBERS_MAX) members.
    HeaderMembers,
    /// The claims have more than [`CLAIMS_MEMBERS_MAX`](crate::limits::CLAIMS_MEMBERS_MAX) members.
    ClaimsMembers,
    /// The header's `kid` is longer than [`KID_LEN_MAX`](crate::limits::KID_LEN_MAX).
    Kid,
    /// `aud` lists more than [`AUDIENCES_MAX`](crate::limits::AUDIENCES_MAX) entries.
    Audiences,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::limits::{
            AUDIENCES_MAX, CLAIMS_MEMBERS_MAX, HEADER_LEN_MAX, HEADER_MEMBERS_MAX, JSON_DEPTH_MAX, KID_LEN_MAX,
            PAYLOAD_LEN_MAX, TOKEN_LEN_MAX,
        };
        match self {
            Self::Token => write!(f, "the token is longer than {TOKEN_LEN_MAX} bytes"),
            Self::Header => write!(f, "the header is longer than {HEADER_LEN_MAX} bytes"),
            Self::Payload => write!(f, "the payload is longer than {PAYLOAD_LEN_MAX} bytes"),
            Self::HeaderDepth => write!(f, "the header nests deeper than {JSON_DEPTH_MAX} levels"),
            Self::ClaimsDepth => write!(f, "the claims nest deeper than {JSON_DEPTH_MAX} levels"),
            Self::HeaderMembers => write!(f, "the header has more than {HEADER_MEMBERS_MAX} members"),
            Self::ClaimsMembers => write!(f, "the claims have more than {CLAIMS_MEMBERS_MAX} members"),
            Self::Kid => write!(f, "the header's kid is longer than {KID_LEN_MAX} bytes"),
            Self::Audiences => write!(f, "aud has more than {AUDIENCES_MAX} entries"),
        }
    }
}

/// Which header feature this library does not implement ([`Rejection::UnsupportedHeader`]).
/// Its `Display` is the explanation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnsupportedHeader {
    /// The header lists critical extensions (`crit`, RFC 7515 §4.1.11).
    Crit,
    /// The header sets `b64` to something other than `true` (RFC 7797 unencoded payloads).
    B64,
}

impl fmt::Display for UnsupportedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Crit => "the header lists critical extensions (crit)",
            Self::B64 => "the header sets b64 (RFC 7797)",
        })
    }
}

/// How an operator should treat a rejection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Expected in normal operation: an expired token, a token under a key this ring retired.
    /// Log at INFO or not at all.
    Routine,
    /// Not expected from an honest client of this service: a forgery, a token from elsewhere,
    /// garbage. Worth a WARN.
    Suspicious,
}

impl Rejection {
    /// One rejection of every variant, in the order of the variants (a variant that carries a
    /// reason or a claim carries an arbitrary one): [`CODES`](Rejection::CODES) is read off it.
    const ALL: [Rejection; 15] = [
        Self::Malformed(Malformed::Segments),
        Self::TooLarge(TooLarge::Token),
        Self::UnsupportedAlgorithm,
        Self::UnsupportedHeader(UnsupportedHeader::Crit),
        Self::RetiredKey,
        Self::RevokedKey,
        Self::ForgottenKey,
        Self::UnknownKey,
        Self::BadSignature,
        Self::Expired,
        Self::NotYetValid,
        Self::WrongIssuer,
        Self::WrongAudience,
        Self::MissingClaim("exp"),
        Self::InvalidClaim("exp"),
    ];

    /// Every code, in the order of the variants: for documentation and exhaustive tests.
    pub const CODES: [&'static str; 15] = {
        let mut codes = [""; 15];
        let mut index = 0;
        while index < codes.len() {
            codes[index] = Self::ALL[index].code();
            index += 1;
        }
        codes
    };

    /// The stable machine code, kebab-case.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::TooLarge(_) => "too-large",
            Self::UnsupportedAlgorithm => "unsupported-algorithm",
            Self::UnsupportedHeader(_) => "unsupported-header",
            Self::RetiredKey => "retired-key",
            Self::RevokedKey => "revoked-key",
            Self::ForgottenKey => "forgotten-key",
            Self::UnknownKey => "unknown-key",
            Self::BadSignature => "bad-signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::WrongIssuer => "wrong-issuer",
            Self::WrongAudience => "wrong-audience",
            Self::MissingClaim(_) => "missing-claim",
            Self::InvalidClaim(_) => "invalid-claim",
        }
    }

    /// Whether this rejection is routine or suspicious.
    ///
    /// A rejection is routine only after the MAC held under a key the ring holds: `retired-key`
    /// (the ring's own key, past its overlap), `expired` and `not-yet-valid` (the second is
    /// usually clock skew). Everything else is suspicious: `forgotten-key` and `unknown-key`
    /// included, since a `kid` is public and a token naming it proves nothing until its MAC is
    /// checked; `revoked-key` because the key that signed it is no longer trusted (see
    /// `docs/key-policies.md`).
    pub fn severity(&self) -> Severity {
        match self {
            Self::RetiredKey | Self::Expired | Self::NotYetValid => Severity::Routine,
            _ => Severity::Suspicious,
        }
    }

    /// Shorthand for `severity() == Severity::Routine`.
    pub fn is_routine(&self) -> bool {
        self.severity() == Severity::Routine
    }

    /// The claim a `missing-claim` or `invalid-claim` rejection is about (`"claims"` when the
    /// claims as a whole do not fit the caller's type).
    pub fn claim(&self) -> Option<&'static str> {
        match self {
            Self::MissingClaim(claim) | Self::InvalidClaim(claim) => Some(claim),
            _ => None,
        }
    }

    /// A one-line explanation, without the code. Never contains input.
    pub fn explanation(&self) -> String {
        let fixed = match self {
            Self::Malformed(reason) => return reason.to_string(),
            Self::TooLarge(reason) => return reason.to_string(),
            Self::UnsupportedHeader(reason) => return reason.to_string(),
            Self::UnsupportedAlgorithm => "the header's alg is not HS256",
            Self::RetiredKey => "the token is signed by a key this ring retired",
            Self::RevokedKey => "the token is signed by a key that was revoked",
            Self::ForgottenKey => "the token names a key this ring has forgotten; its signature cannot be checked",
            Self::UnknownKey => "the token names a key this ring never issued",
            Self::BadSignature => "the signature does not match",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet (nbf)",
            Self::WrongIssuer => "the issuer (iss) is not the expected one",
            Self::WrongAudience => "the audience (aud) does not include this service",
            Self::MissingClaim(_) => "a required claim is absent",
            Self::InvalidClaim(_) => "a claim has the wrong type or shape",
        };
        fixed.to_owned()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingClaim(claim) => write!(f, "missing-claim: required claim `{claim}` is absent"),
            Self::InvalidClaim(claim) => write!(f, "invalid-claim: claim `{claim}` has the wrong type"),
            Self::Malformed(reason) => write!(f, "malformed: {reason}"),
            Self::TooLarge(reason) => write!(f, "too-large: {reason}"),
            Self::UnsupportedHeader(reason) => write!(f, "unsupported-header: {reason}"),
            _ => write!(f, "{}: {}", self.code(), self.explanation()),
        }
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod rejection_tests {
    use super::*;

    /// `ALL` holds every variant once, in order: the match is exhaustive, so a new variant does
    /// not compile until it has a place here and in `ALL` (whose length `CODES` shares).
    #[test]
    fn all_lists_every_variant_once_in_order_and_codes_follow_it() {
        for (index, rejection) in Rejection::ALL.iter().enumerate() {
            let position = match rejection {
                Rejection::Malformed(_) => 0,
                Rejection::TooLarge(_) => 1,
                Rejection::UnsupportedAlgorithm => 2,
                Rejection::UnsupportedHeader(_) => 3,
                Rejection::RetiredKey => 4,
                Rejection::RevokedKey => 5,
                Rejection::ForgottenKey => 6,
                Rejection::UnknownKey => 7,
                Rejection::BadSignature => 8,
                Rejection::Expired => 9,
                Rejection::NotYetValid => 10,
                Rejection::WrongIssuer => 11,
                Rejection::WrongAudience => 12,
                Rejection::MissingClaim(_) => 13,
                Rejection::InvalidClaim(_) => 14,
            };
            assert_eq!(position, index, "{rejection:?}");
            assert_eq!(Rejection::CODES[index], rejection.code());
        }
        let mut codes = Rejection::CODES.to_vec();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Rejection::CODES.len(), "codes are distinct");
    }

    #[test]
    fn reasons_quote_the_limits_and_show_in_display() {
        use crate::limits::{JSON_DEPTH_MAX, TOKEN_LEN_MAX};
        assert_eq!(
            Rejection::TooLarge(TooLarge::Token).to_string(),
            format!("too-large: the token is longer than {TOKEN_LEN_MAX} bytes")
        );
        assert!(TooLarge::ClaimsDepth.to_string().contains(&JSON_DEPTH_MAX.to_string()));
        assert_eq!(Rejection::Malformed(Malformed::NoAlg).explanation(), "the header has no alg");
        assert_eq!(
            Rejection::UnsupportedHeader(UnsupportedHeader::B64).to_string(),
            "unsupported-header: the header sets b64 (RFC 7797)"
        );
    }
}

/// A failure of the caller's own operations: keys, key sets, key files, signing.
///
/// Its `Debug` is its `Display` text, so that `?` from a `main` returning
/// `Result<(), Box<dyn Error>>` prints the file and the cause in words.
#[non_exhaustive]
pub enum Error {
    /// A key or key identifier is unusable.
    Key(KeyError),
    /// A JWK Set document is not one this library can use.
    KeySet(KeySetError),
    /// Reading or writing a key file failed.
    Store(StoreError),
    /// Signing failed.
    Sign(SignError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(error) => error.fmt(f),
            Self::KeySet(error) => error.fmt(f),
            Self::Store(error) => error.fmt(f),
            Self::Sign(error) => error.fmt(f),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Key(error) => Some(error),
            Self::KeySet(error) => Some(error),
            Self::Store(error) => Some(error),
            Self::Sign(error) => Some(error),
        }
    }
}

impl From<KeyError> for Error {
    fn from(error: KeyError) -> Self {
        Self::Key(error)
    }
}

impl From<KeySetError> for Error {
    fn from(error: KeySetError) -> Self {
        Self::KeySet(error)
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<SignError> for Error {
    fn from(error: SignError) -> Self {
        Self::Sign(error)
    }
}

/// A key, key identifier or ring operation that cannot be done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is shorter than [`KEY_LEN_MIN`](crate::limits::KEY_LEN_MIN) bytes (256 bits).
    TooShort {
        /// The key's length, in bits.
        bits: usize,
    },
    /// The key is longer than [`KEY_LEN_MAX`](crate::limits::KEY_LEN_MAX) bytes.
    TooLong {
        /// The key's length, in bits.
        bits: usize,
    },
    /// A key identifier is empty, too long, or has characters outside printable ASCII
    /// (or `"` or `\`).
    InvalidKid,
    /// The ring already holds [`KEYS_PER_RING_MAX`](crate::limits::KEYS_PER_RING_MAX) keys that
    /// are not forgotten: wait for keys to be forgotten, or forget them sooner.
    RingFull,
    /// The ring holds no key with the given identifier.
    UnknownKid,
    /// A rotation's duration (propagation, overlap or forget time) exceeds
    /// [`DURATION_SECS_MAX`], the one limit on durations, which
    /// [`SignError::DurationTooLong`] reports for a token's time-to-live.
    DurationTooLong {
        /// The longest duration given, in seconds.
        secs: u64,
    },
    /// The operating system's random number generator failed.
    Entropy,
}

/// `secs`, which exceeds [`DURATION_SECS_MAX`], and the limit, in words: what both
/// `DurationTooLong` errors print after naming the duration.
fn duration_too_long(f: &mut fmt::Formatter<'_>, what: &str, secs: u64) -> fmt::Result {
    const DAY_SECS: u64 = 24 * 60 * 60;
    write!(
        f,
        "{what} of {secs} seconds is longer than the limit of {DURATION_SECS_MAX} seconds ({} days)",
        DURATION_SECS_MAX / DAY_SECS
    )
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { bits } => {
                write!(f, "key is {bits} bits, HS256 needs at least {} (RFC 7518 section 3.2)", KEY_LEN_MIN * 8)
            }
            Self::TooLong { bits } => write!(f, "key is {bits} bits, at most {} accepted", KEY_LEN_MAX * 8),
            Self::InvalidKid => {
                write!(f, "key identifier must be 1 to {KID_LEN_MAX} printable ASCII characters, neither `\"` nor `\\`")
            }
            Self::RingFull => {
                write!(f, "key ring is full: it holds {KEYS_PER_RING_MAX} keys and none is old enough to forget")
            }
            Self::UnknownKid => f.write_str("key ring holds no key with that identifier"),
            Self::DurationTooLong { secs } => duration_too_long(f, "rotation duration", *secs),
            Self::Entropy => f.write_str("the operating system's random number generator failed"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a JWK Set (or single JWK) document was refused. Positions count keys from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySetError {
    /// The document exceeds [`KEY_SET_LEN_MAX`](crate::limits::KEY_SET_LEN_MAX).
    TooLarge,
    /// The document is not valid JSON (or is cut short); the position of the fault is given.
    Json {
        /// 1-based line of the fault.
        line: usize,
        /// 1-based column of the fault.
        column: usize,
    },
    /// The document is neither a JWK Set (`{"keys":[...]}`) nor a single JWK object.
    NotAKeySet,
    /// The document is a JWK Set (it has `keys`) and a JWK too (it has `kty` or `k` at the top
    /// level): one reader would take the set and another the key, so it is refused.
    Ambiguous {
        /// The JWK member found beside `keys`: `kty` or `k`.
        member: &'static str,
    },
    /// The set has no keys.
    Empty,
    /// The set has more than [`KEYS_PER_RING_MAX`](crate::limits::KEYS_PER_RING_MAX) keys.
    TooManyKeys,
    /// A key is not `"kty":"oct"`.
    UnsupportedKeyType {
        /// Position of the key in the set.
        index: usize,
    },
    /// A key's `alg` is present and is not `HS256`, or its `use` is not `sig`.
    UnsupportedAlgorithm {
        /// Position of the key in the set.
        index: usize,
    },
    /// A key lacks a required member.
    MissingMember {
        /// Position of the key in the set.
        index: usize,
        /// The member's name.
        member: &'static str,
    },
    /// A member has the wrong type or an invalid value (for `k`: not canonical base64url).
    InvalidMember {
        /// Position of the key in the set.
        index: usize,
        /// The member's name.
        member: &'static str,
    },
    /// Two keys share a `kid`, or several keys have none: a token's key would be ambiguous.
    DuplicateKid {
        /// Position of the second key.
        index: usize,
    },
    /// An object in the document names a member twice (`"kid":"a","kid":"b"`), which JSON
    /// parsers resolve differently: refused, as in token headers and claims.
    RepeatedMember {
        /// 1-based line of the second occurrence.
        line: usize,
        /// 1-based column of the second occurrence.
        column: usize,
    },
    /// `issued_kids` is not an array of at most
    /// [`ISSUED_KIDS_MAX`](crate::limits::ISSUED_KIDS_MAX) valid key identifiers.
    InvalidIssuedKids,
    /// A member of `revoked` (the set's revoked keys) is not an object with a valid `kid` not
    /// used by another key and a `revoked_at` in seconds, or `revoked` is not an array.
    InvalidRevoked {
        /// Position of the record in `revoked`.
        index: usize,
    },
    /// A key is unusable (too short, too long, a bad `kid`).
    Key {
        /// Position of the key in the set.
        index: usize,
        /// What is wrong with it.
        error: KeyError,
    },
}

impl fmt::Display for KeySetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => write!(f, "key set is larger than {KEY_SET_LEN_MAX} bytes"),
            Self::Json { line, column } => {
                write!(f, "key set is not valid JSON (line {line}, column {column})")
            }
            Self::NotAKeySet => f.write_str("document is neither a JWK Set nor a JWK"),
            Self::Ambiguous { member } => write!(
                f,
                "document is both a JWK Set (member `keys`) and a JWK (member `{member}`): which keys it holds is ambiguous"
            ),
            Self::Empty => f.write_str("key set has no keys"),
            Self::TooManyKeys => write!(f, "key set has more than {KEYS_PER_RING_MAX} keys"),
            Self::UnsupportedKeyType { index } => write!(f, "key {index}: kty is not \"oct\""),
            Self::UnsupportedAlgorithm { index } => {
                write!(f, "key {index}: not an HS256 signing key (alg or use)")
            }
            Self::MissingMember { index, member } => write!(f, "key {index}: missing member `{member}`"),
            Self::InvalidMember { index, member } => write!(f, "key {index}: invalid member `{member}`"),
            Self::DuplicateKid { index } => {
                write!(f, "key {index}: kid is missing or not unique, key choice would be ambiguous")
            }
            Self::RepeatedMember { line, column } => {
                write!(f, "key set names a member twice (line {line}, column {column})")
            }
            Self::InvalidIssuedKids => f.write_str("issued_kids is not a list of key identifiers"),
            Self::InvalidRevoked { index } => write!(
                f,
                "revoked key {index}: not a record with a kid of its own and a revoked_at (or revoked is not a list)"
            ),
            Self::Key { index, error } => write!(f, "key {index}: {error}"),
        }
    }
}

impl std::error::Error for KeySetError {}

/// What a key store was doing when it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreOp {
    /// Reading the key file.
    Read,
    /// Writing the temporary file.
    Write,
    /// Flushing the temporary file or directory to disk.
    Sync,
    /// Renaming the temporary file over the key file.
    Rename,
    /// Taking the lock beside the key file.
    Lock,
}

impl StoreOp {
    /// `read`, `write`, `sync`, `rename` or `lock`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Sync => "sync",
            Self::Rename => "rename",
            Self::Lock => "lock",
        }
    }
}

/// A key file that cannot be read, written or trusted.
///
/// Every path it holds is a [`RedactedPathBuf`], which prints redacted: a token given where a
/// key file's path belongs is never printed, nor the names of the lock and temporary files
/// derived from it. Its `Debug` is its `Display` text, so that a `main` returning
/// `Result<(), Box<dyn Error>>` prints the file and the cause in words.
/// [`code`](Self::code) gives each failure a stable, kebab-case reason for logs and metrics.
#[non_exhaustive]
pub enum StoreError {
    /// An I/O operation failed.
    Io {
        /// What was being done.
        op: StoreOp,
        /// The operating system's error kind.
        kind: io::ErrorKind,
        /// The file or directory it was done to: the key file, its temporary file, its lock
        /// file or its directory. It tells an operator which file to fix.
        path: RedactedPathBuf,
    },
    /// The file exists but is not a usable key set: truncated, damaged, or holding keys this
    /// library cannot use. It was left untouched: the library never replaces such a file with
    /// a fresh key.
    Corrupt {
        /// The key file's path, as the caller gave it.
        path: RedactedPathBuf,
        /// What is wrong with the document.
        error: KeySetError,
    },
    /// The file exists and overwriting was not requested: [`FileStore::create`] never
    /// replaces a key file.
    ///
    /// [`FileStore::create`]: crate::FileStore::create
    AlreadyExists {
        /// The file that exists: the one the key file's path leads to, after its symbolic
        /// links.
        path: RedactedPathBuf,
    },
    /// The file does not exist: a first start, or a typo in the path. Reading never creates
    /// it.
    NotFound {
        /// The key file's path, as the caller gave it.
        path: RedactedPathBuf,
    },
    /// Another process held the key file's lock for longer than a writer waits
    /// ([`LOCK_ATTEMPTS_MAX`](crate::limits::LOCK_ATTEMPTS_MAX) attempts). Nothing was written.
    Locked {
        /// The key file whose lock is held: the one the key file's path leads to, after its
        /// symbolic links (the lock file is `.<name>.lock` beside it).
        path: RedactedPathBuf,
    },
    /// The key file, or the file its symbolic links lead to, is not a regular file: a
    /// directory, a device (`/dev/null`), a FIFO or a socket. It was neither read nor written,
    /// and no lock file was created beside it.
    NotAFile {
        /// The file the key file's path leads to, after its symbolic links.
        path: RedactedPathBuf,
    },
    /// The key file's path is a symbolic link to a link to a link ... more than
    /// [`SYMLINK_HOPS_MAX`] times: a loop, most likely. Nothing was read or written.
    SymlinkLoop {
        /// The key file's path.
        path: RedactedPathBuf,
    },
    /// The directory the key file should be written to does not exist (or one above it does
    /// not): a write creates the key file, never a directory. Nothing was written.
    DirectoryNotFound {
        /// The key file's directory (after its symbolic links).
        path: RedactedPathBuf,
    },
    /// Something that is not the store's own is at the name of the lock file or of every
    /// temporary file a write tried (a symbolic link, a directory, a FIFO planted there): the
    /// write was refused, and nothing was created or changed where a link leads.
    InTheWay {
        /// The lock file's or the last temporary file's path.
        path: RedactedPathBuf,
        /// What is there: `a symbolic link`, `a directory, device, FIFO or socket`, `a file`,
        /// or `something` when it cannot be told.
        what: &'static str,
    },
    /// The store holds no document where one must be (a store other than a file, such as an
    /// etcd key; a missing file is [`NotFound`](Self::NotFound)). Reading never creates it.
    DocumentNotFound {
        /// The store, named without credentials.
        store: StoreName,
    },
    /// The store's document is not a usable key set (a store other than a file; a file's is
    /// [`Corrupt`](Self::Corrupt)). It was left untouched.
    DocumentCorrupt {
        /// The store, named without credentials.
        store: StoreName,
        /// What is wrong with the document.
        error: KeySetError,
    },
    /// Other writers changed the document between this update's read and its write on every
    /// one of [`SWAP_ATTEMPTS_MAX`](crate::limits::SWAP_ATTEMPTS_MAX) attempts. This update
    /// wrote nothing; the others' changes are in place.
    Conflict {
        /// The store, named without credentials.
        store: StoreName,
        /// How many times the update was tried.
        attempts: u32,
    },
    /// The store could not be reached or did not answer in time (a lost connection, a
    /// timeout): trying again later may succeed. Nothing is known to have been written.
    Unavailable {
        /// The store, named without credentials.
        store: StoreName,
        /// What was being done.
        op: StoreOp,
        /// Why, in words chosen by the store (never a credential or a value).
        reason: &'static str,
    },
    /// The store answered and refused this client: its certificate or the store's did not
    /// pass the TLS handshake, or its user name and password were refused, or it may not
    /// touch the key. Trying again does not help until the settings change. Nothing was
    /// written.
    Refused {
        /// The store, named without credentials.
        store: StoreName,
        /// What was being done.
        op: StoreOp,
        /// Why, in words chosen by the store (never a credential, a certificate or a value).
        reason: &'static str,
    },
}

impl StoreError {
    /// The stable machine reason, kebab-case: `io`, `corrupt`, `already-exists`, `not-found`,
    /// `locked`, `not-a-file`, `symlink-loop`, `directory-not-found`, `in-the-way`, `conflict`,
    /// `unavailable` or `refused` (a store other than a file reports `not-found` and `corrupt`
    /// as a file does). What a reloader reports and a metric is labelled with; the `Display`
    /// text is for people.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::Corrupt { .. } => "corrupt",
            Self::AlreadyExists { .. } => "already-exists",
            Self::NotFound { .. } => "not-found",
            Self::Locked { .. } => "locked",
            Self::NotAFile { .. } => "not-a-file",
            Self::SymlinkLoop { .. } => "symlink-loop",
            Self::DirectoryNotFound { .. } => "directory-not-found",
            Self::InTheWay { .. } => "in-the-way",
            Self::DocumentNotFound { .. } => "not-found",
            Self::DocumentCorrupt { .. } => "corrupt",
            Self::Conflict { .. } => "conflict",
            Self::Unavailable { .. } => "unavailable",
            Self::Refused { .. } => "refused",
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { op, kind, path } => write!(f, "cannot {} {path}: {}", op.as_str(), io::Error::from(*kind)),
            Self::Corrupt { path, error } => {
                write!(f, "key file {path} is not a usable HS256 key set (left untouched): {error}")
            }
            Self::AlreadyExists { path } => write!(f, "key file {path} already exists"),
            Self::NotFound { path } => write!(f, "key file {path} does not exist"),
            Self::Locked { path } => write!(f, "key file {path} is locked by another writer; try again"),
            Self::NotAFile { path } => write!(
                f,
                "key file {path} is not a regular file (a directory, device, FIFO or socket): not read or written"
            ),
            Self::SymlinkLoop { path } => {
                write!(f, "cannot follow the symbolic links of {path}: more than {SYMLINK_HOPS_MAX} in a row (a loop?)")
            }
            Self::DirectoryNotFound { path } => write!(f, "directory {path} does not exist (create it first)"),
            Self::InTheWay { path, what } => {
                write!(f, "cannot write the key file: {what} is in the way at {path} (not the store's; remove it)")
            }
            Self::DocumentNotFound { store } => write!(f, "key set {store} does not exist"),
            Self::DocumentCorrupt { store, error } => {
                write!(f, "key set {store} is not a usable HS256 key set (left untouched): {error}")
            }
            Self::Conflict { store, attempts } => write!(
                f,
                "key set {store} was changed by other writers during each of {attempts} attempts to update it; this update wrote nothing (try again)"
            ),
            Self::Unavailable { store, op, reason } | Self::Refused { store, op, reason } => {
                write!(f, "cannot {} key set {store}: {reason}", op.as_str())
            }
        }
    }
}

/// The `Display` text, as for [`Error`]: what `?` from a `main` prints. The paths need no care
/// here: they print redacted however they are printed.
impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Corrupt { error, .. } | Self::DocumentCorrupt { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Why a token could not be signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignError {
    /// The ring has no active key.
    NoActiveKey,
    /// The claims could not be serialized to JSON, or are not a JSON object.
    Claims,
    /// The claims name a member twice in one object (a hand-written `Serialize`, or a
    /// flattened field beside one of the same name).
    DuplicateClaim,
    /// A time the claims carry themselves (`exp`, `iat` or `nbf`, named) is outside what
    /// [`KeyRing::issue`](crate::KeyRing::issue) accepts: `exp` between now and now plus the
    /// time-to-live, `iat` not after now, `nbf` before `exp`.
    TimeClaim(&'static str),
    /// The signed token would exceed [`TOKEN_LEN_MAX`](crate::limits::TOKEN_LEN_MAX) or another
    /// limit a verifier enforces.
    TooLarge,
    /// The time-to-live exceeds [`DURATION_SECS_MAX`], the one limit on durations, which
    /// [`KeyError::DurationTooLong`] reports for a rotation's.
    DurationTooLong {
        /// The time-to-live given, in seconds.
        secs: u64,
    },
    /// `now` plus the time-to-live does not fit the 64-bit seconds a time claim holds.
    TimeOverflow,
    /// A registered claim (named) has a type or value a verifier refuses, such as a numeric
    /// `iss` or a negative `nbf`.
    InvalidClaim(&'static str),
    /// The claims break a rule every verifier of this library enforces (the reason is given),
    /// such as a lone UTF-16 surrogate escaped in a string.
    Malformed(Malformed),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoActiveKey => f.write_str("key ring has no active signing key"),
            Self::Claims => f.write_str("claims do not serialize to a JSON object"),
            Self::DuplicateClaim => f.write_str("claims name a member twice"),
            Self::TimeClaim("exp") => f.write_str(
                "claim `exp` is before now or after now plus the time-to-live: leave it out and issue sets it, or set it within the time-to-live",
            ),
            Self::TimeClaim("iat") => {
                f.write_str("claim `iat` is after now: leave it out and issue sets it to now")
            }
            Self::TimeClaim(claim) => {
                write!(f, "claim `{claim}` is not before `exp`: leave it out and issue sets it to now")
            }
            Self::TooLarge => f.write_str("token would exceed the verifier's limits"),
            Self::DurationTooLong { secs } => duration_too_long(f, "time-to-live", *secs),
            Self::TimeOverflow => f.write_str("now plus the time-to-live is past the largest time a token can hold"),
            Self::InvalidClaim(claim) => write!(f, "claim `{claim}` has a type or value a verifier refuses"),
            Self::Malformed(reason) => write!(f, "claims are malformed: {reason}"),
        }
    }
}

impl std::error::Error for SignError {}
