//! Fixtures shared by the benchmarks and the tests of this package.
//!
//! Every contender verifies the same token bytes under the same 256-bit key, with the same
//! checks (the signature and `exp`), into claims of the same shape. The token is the one a
//! tokenring ring issues: its header is exactly `{"alg":"HS256","typ":"JWT","kid":"..."}`.
//!
//! The peer crates are dev-dependencies of this package only, so their adapters live in
//! `peers/mod.rs`, which the benchmark and the tests include; this library depends on nothing
//! but tokenring and the primitives of the HMAC floor.
//!
//! `exp` is set to 2100-01-01 because one peer (`jsonwebtoken`) reads the wall clock and offers
//! no way to inject time; every other contender is given [`NOW_SECS`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod callgrind;

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use tokenring::limits::TOKEN_LEN_MAX;
use tokenring::{Key, KeyRing, Kid, Scratch, Validation};
use tokenring_testkit::{mac_compare, PrekeyedMac};

/// The HMAC-SHA256 state type the floor clones for every call.
pub type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The shared 256-bit secret.
pub const KEY: [u8; 32] = *b"tokenring-bench-key-of-32-bytes!";

/// The key identifier in the shared token's header.
///
/// 18 characters make the encoded header 72 characters long, a multiple of four, so that the
/// sized tokens of [`sized_token`] can hit their lengths exactly.
pub const KID: &str = "tokenring-bench-k1";

/// The verification time given to every contender that accepts an injected clock.
pub const NOW_SECS: u64 = 1_700_000_060;

/// The shared token's `iat`.
pub const ISSUED_AT_SECS: u64 = 1_700_000_000;

/// The shared token's `exp`: 2100-01-01T00:00:00Z (see the crate documentation for why).
pub const EXPIRES_AT_SECS: u64 = 4_102_444_800;

/// The shared token's length in bytes (checked by a test).
pub const TOKEN_LEN: usize = 267;

/// Length of an encoded HS256 signature, in base64url characters.
pub const SIGNATURE_B64_LEN: usize = 43;

/// Token lengths, in bytes, of the `verify_by_size` group.
pub const SIZES: [usize; 3] = [256, 1024, 4096];

/// The claims every contender deserializes, owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject.
    pub sub: String,
    /// Display name.
    pub username: String,
    /// Roles granted.
    pub roles: Vec<String>,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
    /// Token identifier.
    pub jti: String,
}

/// The same claims, borrowed from the verifier's scratch buffer: no field allocates.
///
/// `roles` is a fixed-size array of two `&str`, the shape of the shared token; a token with a
/// different number of roles does not fit this type and is refused as an invalid claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct BorrowedClaims<'a> {
    /// Subject.
    pub sub: &'a str,
    /// Display name.
    pub username: &'a str,
    /// Roles granted.
    pub roles: [&'a str; 2],
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
    /// Token identifier.
    pub jti: &'a str,
}

/// The claims of the shared token.
/// The lifetime the signing benchmarks issue tokens for.
pub const SIGN_TTL_SECS: u64 = 3600;

/// The fixture claims with an `exp` that `issue` keeps ([`SIGN_TTL_SECS`] after
/// [`ISSUED_AT_SECS`]; the fixture's own `exp` is past the longest lifetime `issue` signs). The
/// serialized claims have the same length as the fixture's.
pub fn signing_claims() -> Claims {
    Claims { exp: ISSUED_AT_SECS + SIGN_TTL_SECS, ..claims() }
}

/// The claims every benchmark verifies: a session of the usual shape.
pub fn claims() -> Claims {
    Claims {
        sub: "1234567".to_owned(),
        username: "alice".to_owned(),
        roles: vec!["admin".to_owned(), "user".to_owned()],
        iat: ISSUED_AT_SECS,
        exp: EXPIRES_AT_SECS,
        jti: "a1b2c3d4".to_owned(),
    }
}

/// The shared key as a tokenring key.
///
/// # Panics
/// Never: the constant key has the right length.
pub fn key() -> Key {
    Key::from_bytes(&KEY).expect("the fixture key is 256 bits")
}

/// A ring holding only the shared key, under [`KID`].
///
/// # Panics
/// Never: the constant identifier is valid.
pub fn ring() -> KeyRing {
    KeyRing::with_key(key(), Some(Kid::new(KID).expect("the fixture kid is valid")), ISSUED_AT_SECS)
}

/// The validation every tokenring benchmark uses: the default (signature, `exp` required).
pub fn validation() -> Validation {
    Validation::new()
}

/// The shared token: the fixture claims exactly as serialized, under the header the ring signs
/// with, signed with the shared key (as `KeyRing::issue` would, were its `exp` within a
/// time-to-live `issue` accepts).
///
/// # Panics
/// Never: the fixture claims serialize to a small object.
pub fn token() -> String {
    signed_under(KID)
}

/// The fixture claims signed with the shared key under the ring's header naming `kid`.
fn signed_under(kid: &str) -> String {
    let header = format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#);
    let payload = serde_json::to_vec(&claims()).expect("the fixture claims serialize");
    tokenring_testkit::sign_compact(&KEY, header.as_bytes(), &payload)
}

/// The shared token with one signature character changed: well-formed, wrong MAC.
pub fn tampered_token() -> String {
    let mut bytes = token().into_bytes();
    // A character in the middle of the signature: changing it keeps the encoding canonical.
    let index = bytes.len() - SIGNATURE_B64_LEN / 2;
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap_or_default()
}

/// A token signed by the shared secret under a `kid` the ring never issued.
///
/// # Panics
/// Never: the constant identifier is valid.
pub fn unknown_key_token() -> String {
    signed_under("some-other-key")
}

/// The shared token with a character outside the base64url alphabet in its signature.
pub fn malformed_token() -> String {
    let mut bytes = token().into_bytes();
    let index = bytes.len() - SIGNATURE_B64_LEN / 2;
    bytes[index] = b'+';
    String::from_utf8(bytes).unwrap_or_default()
}

/// A token one byte over [`TOKEN_LEN_MAX`]: a correctly signed token whose claims carry a
/// padding member, so that only its length is wrong.
pub fn too_large_token() -> String {
    padded_token(TOKEN_LEN_MAX + 1)
}

/// A token of exactly `len` bytes: the fixture claims plus a `pad` member, signed with the
/// shared key.
///
/// # Panics
/// See [`padded_claims_token`].
pub fn padded_token(len: usize) -> String {
    padded_claims_token(&serde_json::to_string(&claims()).expect("claims serialize"), len)
}

/// The claims of the `verify_by_size` tokens: small enough for a 256-byte token. The `pad`
/// member that makes up the length is data this reader does not use, so it is skipped (but
/// still scanned, as JSON must be).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizedClaims {
    /// Subject.
    pub sub: String,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
}

/// A token of exactly `len` bytes with [`SizedClaims`] plus a `pad` member.
///
/// # Panics
/// See [`padded_claims_token`].
pub fn sized_token(len: usize) -> String {
    let claims = SizedClaims { sub: "1234567".to_owned(), exp: EXPIRES_AT_SECS };
    padded_claims_token(&serde_json::to_string(&claims).expect("claims serialize"), len)
}

/// A token of exactly `len` bytes: the JSON object `base` plus a `pad` member, under the
/// header a ring with [`KID`] issues, signed with the shared key (by hand, so that lengths over
/// the ring's signing limit can be made too).
///
/// # Panics
/// When `len` is too short for `base`, or one more than a multiple of four from the fixed parts
/// (no base64url string has such a length).
pub fn padded_claims_token(base: &str, len: usize) -> String {
    let header = ring_header_b64();
    let fixed = header.len() + 1 + 1 + SIGNATURE_B64_LEN;
    let payload_b64_len = len.checked_sub(fixed).expect("length too short for the claims");
    assert_ne!(payload_b64_len % 4, 1, "no base64url string is {payload_b64_len} characters long");
    let payload_len = payload_b64_len / 4 * 3 + (payload_b64_len % 4).saturating_sub(1);
    // `,"pad":""` replaces the closing brace's position: nine bytes more than `base`.
    let pad_len = payload_len.checked_sub(base.len() + 9).expect("length too short for the claims");
    let body = base.strip_suffix('}').expect("base is a JSON object");
    let payload = format!(r#"{body},"pad":"{}"}}"#, "x".repeat(pad_len));
    assert_eq!(payload.len(), payload_len);
    let mut token = format!("{header}.{}", Base64UrlUnpadded::encode_string(payload.as_bytes()));
    let mut mac = HmacSha256::new_from_slice(&KEY).expect("HMAC takes any key length");
    mac.update(token.as_bytes());
    token.push('.');
    token.push_str(&Base64UrlUnpadded::encode_string(&mac.finalize().into_bytes()));
    assert_eq!(token.len(), len);
    token
}

/// The encoded header segment a ring with [`KID`] issues.
fn ring_header_b64() -> String {
    let token = token();
    token.split('.').next().unwrap_or_default().to_owned()
}

/// The floor: HMAC-SHA256 over the signing input from a pre-keyed state, the signature decoded
/// and compared in constant time. Nothing else: no length limit, no header, no claims, and the
/// signature is located by its fixed length rather than by a search.
///
/// Each step is done the cheapest way tokenring knows, so that the ratios to the floor measure
/// everything tokenring does besides the MAC, and nothing else:
/// * The MAC is the `hmac` crate's, from a pre-keyed state cloned per call, as tokenring computes
///   it (`tokenring_testkit::PrekeyedMac`).
/// * The signature is decoded by [`decode_signature`], a plain table lookup: the received
///   signature is public, so a constant-time decoder (such as `base64ct`, which costs about as
///   much as a quarter of this whole floor) is not needed.
/// * The tags are compared in constant time through `subtle`, as tokenring compares them
///   (`tokenring_testkit::mac_compare`).
#[derive(Clone, Debug)]
pub struct HmacFloor {
    mac: PrekeyedMac,
}

impl Default for HmacFloor {
    fn default() -> Self {
        Self::new()
    }
}

impl HmacFloor {
    /// The floor keyed with the shared secret.
    pub fn new() -> Self {
        Self { mac: PrekeyedMac::new(&KEY).expect("HMAC takes any key length") }
    }

    /// Whether `token`'s signature is the MAC of its signing input.
    pub fn verify(&self, token: &[u8]) -> bool {
        let Some(dot) = token.len().checked_sub(SIGNATURE_B64_LEN + 1) else { return false };
        let (signing_input, signature_b64) = (&token[..dot], &token[dot + 1..]);
        let Some(signature) = decode_signature(signature_b64) else { return false };
        mac_compare(&self.mac.mac(signing_input), &signature)
    }
}

/// The signing input of a compact token (everything before the last dot).
pub fn signing_input(token: &str) -> &[u8] {
    let end = token.rfind('.').unwrap_or(token.len());
    &token.as_bytes()[..end]
}

/// HMAC-SHA256 through the `hmac` crate's `Mac` API, from a pre-keyed state cloned per call: the
/// way the peers and most Rust code compute it. Measured next to tokenring's MAC in the
/// `mac_hs256` group.
#[derive(Clone, Debug)]
pub struct HmacCrateMac {
    keyed: HmacSha256,
}

impl Default for HmacCrateMac {
    fn default() -> Self {
        Self::new()
    }
}

impl HmacCrateMac {
    /// Keyed with the shared secret.
    ///
    /// # Panics
    /// Never: HMAC accepts keys of any length.
    pub fn new() -> Self {
        Self { keyed: HmacSha256::new_from_slice(&KEY).expect("HMAC takes any key length") }
    }

    /// The tag of `message`.
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

/// Values of the base64url alphabet, `0xFF` for every other byte.
const BASE64URL_VALUES: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut table = [0xFF; 256];
    let mut index = 0;
    while index < alphabet.len() {
        table[alphabet[index] as usize] = index as u8;
        index += 1;
    }
    table
};

/// Decodes a 43-character base64url HS256 signature: ten groups of four characters and a final
/// group of three whose two unused bits must be zero.
pub fn decode_signature(encoded: &[u8]) -> Option<[u8; 32]> {
    let encoded: &[u8; SIGNATURE_B64_LEN] = encoded.try_into().ok()?;
    let mut values = [0u8; SIGNATURE_B64_LEN];
    let mut invalid = 0u8;
    for (value, &character) in values.iter_mut().zip(encoded) {
        *value = BASE64URL_VALUES[usize::from(character)];
        invalid |= *value;
    }
    // Only 0xFF has its top bit set among the table's values.
    if invalid & 0x80 != 0 || values[42] & 0b11 != 0 {
        return None;
    }
    let mut signature = [0u8; 32];
    for (group, out) in values.chunks_exact(4).zip(signature.chunks_exact_mut(3)) {
        let bits =
            u32::from(group[0]) << 18 | u32::from(group[1]) << 12 | u32::from(group[2]) << 6 | u32::from(group[3]);
        out.copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    let bits = u32::from(values[40]) << 10 | u32::from(values[41]) << 4 | u32::from(values[42]) >> 2;
    signature[30..].copy_from_slice(&bits.to_be_bytes()[2..]);
    Some(signature)
}

/// A kid-less token: the fixture claims under the header peers such as PyJWT write by default,
/// `{"alg":"HS256","typ":"JWT"}`, signed with the shared key (which no ring of
/// [`Tokenring::ring_of`] holds, so that every key a verifier tries fails).
///
/// # Panics
/// Never: the fixture claims serialize.
pub fn kidless_token() -> String {
    let header = Base64UrlUnpadded::encode_string(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = serde_json::to_string(&claims()).expect("claims serialize");
    let mut token = format!("{header}.{}", Base64UrlUnpadded::encode_string(payload.as_bytes()));
    let mut mac = HmacSha256::new_from_slice(&KEY).expect("HMAC takes any key length");
    mac.update(token.as_bytes());
    token.push('.');
    token.push_str(&Base64UrlUnpadded::encode_string(&mac.finalize().into_bytes()));
    token
}

/// Bytes from a xorshift generator with a fixed seed: keys and identifiers for the rings of
/// [`Tokenring::ring_of`] that are the same in every run, so that the instruction counts are
/// too. Not random: for benchmarks only.
#[derive(Debug)]
struct FixedEntropy(u64);

impl tokenring::Entropy for FixedEntropy {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), tokenring::KeyError> {
        for byte in dest {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *byte = self.0.to_le_bytes()[0];
        }
        Ok(())
    }
}

/// tokenring as every benchmark of this package calls it: a ring, [`validation`], the time
/// [`NOW_SECS`] and a reused [`Scratch`].
///
/// The benchmarks and the HTTP server call tokenring and tokenring-axum through this type and
/// [`axum_auth`] only, so that a change of their public API is adapted here, in one place.
/// Rejections are returned as their stable codes (`bad-signature`, `too-large`, ...).
#[derive(Debug)]
pub struct Tokenring {
    ring: KeyRing,
    validation: Validation,
    scratch: Scratch,
}

impl Default for Tokenring {
    fn default() -> Self {
        Self::new()
    }
}

impl Tokenring {
    /// The shared ring ([`ring`]): one key, under [`KID`].
    pub fn new() -> Self {
        Self { ring: ring(), validation: validation(), scratch: Scratch::new() }
    }

    /// A ring of `keys` keys, none of them the shared key: the first created at
    /// [`ISSUED_AT_SECS`], the others published by rotations at that time (pending at
    /// [`NOW_SECS`]), so that every key can still verify a token.
    ///
    /// # Panics
    /// When `keys` is zero or more than the ring's limit.
    pub fn ring_of(keys: usize) -> Self {
        let mut entropy = FixedEntropy(0x9E37_79B9_7F4A_7C15);
        let first = Key::generate(&mut entropy).expect("the fixed entropy never fails");
        let kid = Kid::generate(&mut entropy).expect("the fixed entropy never fails");
        let mut ring = KeyRing::with_key(first, Some(kid), ISSUED_AT_SECS);
        for _ in 1..keys {
            ring.rotate_with(&tokenring::Rotation::new(), &mut entropy, ISSUED_AT_SECS)
                .expect("a ring below its limit takes another key");
        }
        assert_eq!(ring.keys(NOW_SECS).len(), keys);
        Self { ring, validation: validation(), scratch: Scratch::new() }
    }

    /// `KeyRing::verify` into the owned [`Claims`].
    ///
    /// # Errors
    /// The rejection's code.
    pub fn verify(&self, token: &str) -> Result<Claims, &'static str> {
        self.ring
            .verify::<Claims>(token, &self.validation, NOW_SECS)
            .map(|verified| verified.into_claims())
            .map_err(|rejection| rejection.code())
    }

    /// `KeyRing::verify_borrowed` into [`BorrowedClaims`], with the reused scratch buffer;
    /// returns the claims' `exp` (the borrowed claims cannot outlive the call).
    ///
    /// # Errors
    /// The rejection's code.
    pub fn verify_borrowed(&mut self, token: &str) -> Result<u64, &'static str> {
        self.ring
            .verify_borrowed::<BorrowedClaims<'_>>(token, &self.validation, &mut self.scratch, NOW_SECS)
            .map(|verified| verified.claims().exp)
            .map_err(|rejection| rejection.code())
    }

    /// `KeyRing::issue` of `claims` at [`ISSUED_AT_SECS`] for [`SIGN_TTL_SECS`]: claims whose
    /// `iat` and `exp` fit that lifetime ([`signing_claims`]) are signed as they are.
    pub fn sign(&self, claims: &Claims) -> Option<String> {
        self.ring.issue(claims, SIGN_TTL_SECS, ISSUED_AT_SECS).ok()
    }
}

/// The tokenring-axum settings of the benchmarks: the shared ring, [`validation`], the time
/// fixed at [`NOW_SECS`].
pub fn axum_auth() -> tokenring_axum::Auth {
    tokenring_axum::Auth::new(tokenring::SharedRing::new(ring()))
        .validation(validation())
        .clock(tokenring::ManualClock::new(NOW_SECS))
}

/// tokenring-axum's extractor of the fixture claims, as a handler takes it.
pub type AxumAuthenticated = tokenring_axum::Authenticated<Claims>;

/// tokenring-axum's extractor, `Authenticated<Claims>`, run on a request's parts with `auth` as
/// the router's state; returns the claims.
///
/// # Errors
/// The extractor's rejection, as its code (`missing`, or the verifier's code).
pub async fn axum_extract(
    parts: &mut axum::http::request::Parts,
    auth: &tokenring_axum::Auth,
) -> Result<Claims, &'static str> {
    use axum::extract::FromRequestParts as _;
    AxumAuthenticated::from_request_parts(parts, auth)
        .await
        .map(tokenring_axum::Authenticated::into_claims)
        .map_err(|rejection| rejection.code())
}

/// How many times each instruction benchmark (`benches/instructions.rs`) runs its operation;
/// the report divides the counts by it.
pub const INSTRUCTION_ITERATIONS: u64 = 100;

/// The most keys a kid-less token is tried against (`tokenring::limits::KIDLESS_KEYS_TRIED_MAX`):
/// a kid-less token on a ring of 64 keys may cost at most this many floors.
pub const KIDLESS_TRIES_MAX: Option<usize> = Some(tokenring::limits::KIDLESS_KEYS_TRIED_MAX);

/// The decoded claims (the payload segment) of a compact token.
///
/// # Panics
/// When the payload segment is not base64url.
pub fn claims_payload(token: &str) -> Vec<u8> {
    let segment = token.split('.').nth(1).unwrap_or_default();
    Base64UrlUnpadded::decode_vec(segment).expect("the payload segment is base64url")
}
