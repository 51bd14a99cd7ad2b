//! Adapters for the peer crates, configured like tokenring: HS256 only, the shared 256-bit key,
//! the signature and `exp` checked, no other claim required, claims deserialized into the
//! fixture's shape.
//!
//! Included by the benchmark and by the tests with `#[path]`: the peers are dev-dependencies,
//! so this code cannot live in the package's library.
//!
//! Differences the peers impose, none of which makes their work lighter than tokenring's:
//! * `jsonwebtoken` reads the wall clock for `exp` and cannot be given a time; the fixture's
//!   `exp` is far in the future for that reason.
//! * `jwt-simple` checks `exp` when present but cannot be told to require it; the fixture
//!   carries it, so it is checked. Its `sub` and `jti` are standard fields of its claims type.
//! * `jwt-compact` keeps `exp` and `iat` as `chrono` timestamps and the rest in the custom type.
//!
//! All three accept the `typ` and `kid` members of the header tokenring issues.

use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt as _, TimeOptions, UntrustedToken};
use jwt_simple::prelude::{Duration as SimpleDuration, HS256Key, JWTClaims, MACLike as _, VerificationOptions};
use serde::{Deserialize, Serialize};
use tokenring_benches::{Claims, EXPIRES_AT_SECS, ISSUED_AT_SECS, KEY, KID, NOW_SECS};

/// Leeway, in seconds, tokenring's default: given to every peer that takes one.
const LEEWAY_SECS: u64 = 30;

/// `jsonwebtoken` 12 with its RustCrypto backend.
pub(crate) struct JsonWebToken {
    decoding: jsonwebtoken::DecodingKey,
    encoding: jsonwebtoken::EncodingKey,
    validation: jsonwebtoken::Validation,
    header: jsonwebtoken::Header,
}

impl JsonWebToken {
    pub(crate) fn new() -> Self {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        // The default already requires and checks `exp` and nothing else; the leeway matches.
        validation.leeway = LEEWAY_SECS;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(KID.to_owned());
        Self {
            decoding: jsonwebtoken::DecodingKey::from_secret(&KEY).expect("a 256-bit secret is a valid key"),
            encoding: jsonwebtoken::EncodingKey::from_secret(&KEY).expect("a 256-bit secret is a valid key"),
            validation,
            header,
        }
    }

    pub(crate) fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok().map(|data| data.claims)
    }

    pub(crate) fn sign(&self, claims: &Claims) -> Option<String> {
        jsonwebtoken::encode(&self.header, claims, &self.encoding).ok()
    }
}

/// The custom part of the claims for `jwt-simple`, whose own type holds `sub`, `jti`, `iat`
/// and `exp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SimpleCustom {
    pub(crate) username: String,
    pub(crate) roles: Vec<String>,
}

/// `jwt-simple` 0.15, pure Rust.
pub(crate) struct JwtSimple {
    key: HS256Key,
    options: VerificationOptions,
}

impl JwtSimple {
    pub(crate) fn new() -> Self {
        let options = VerificationOptions {
            time_tolerance: Some(SimpleDuration::from_secs(LEEWAY_SECS)),
            artificial_time: Some(SimpleDuration::from_secs(NOW_SECS)),
            ..VerificationOptions::default()
        };
        Self { key: HS256Key::from_bytes(&KEY).with_key_id(KID), options }
    }

    pub(crate) fn verify(&self, token: &str) -> Option<JWTClaims<SimpleCustom>> {
        // The options are taken by value; cloning them copies no heap data (every set is None).
        self.key.verify_token::<SimpleCustom>(token, Some(self.options.clone())).ok()
    }

    pub(crate) fn claims(claims: &Claims) -> JWTClaims<SimpleCustom> {
        // Built field by field: the crate's constructors read the wall clock.
        JWTClaims {
            issued_at: Some(SimpleDuration::from_secs(claims.iat)),
            expires_at: Some(SimpleDuration::from_secs(claims.exp)),
            invalid_before: None,
            issuer: None,
            subject: Some(claims.sub.clone()),
            audiences: None,
            jwt_id: Some(claims.jti.clone()),
            nonce: None,
            custom: SimpleCustom { username: claims.username.clone(), roles: claims.roles.clone() },
        }
    }

    /// Signs claims made by [`JwtSimple::claims`]; the API takes them by value.
    pub(crate) fn sign(&self, claims: JWTClaims<SimpleCustom>) -> Option<String> {
        self.key.authenticate(claims).ok()
    }
}

/// The custom part of the claims for `jwt-compact`, whose own type holds `iat` and `exp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CompactCustom {
    pub(crate) sub: String,
    pub(crate) username: String,
    pub(crate) roles: Vec<String>,
    pub(crate) jti: String,
}

type FixedClock = fn() -> chrono::DateTime<chrono::Utc>;

fn fixed_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(NOW_SECS as i64, 0).unwrap_or_default()
}

/// `jwt-compact` 0.9 (beta: the newest release, and it builds).
pub(crate) struct JwtCompact {
    key: Hs256Key,
    time: TimeOptions<FixedClock>,
    header: jwt_compact::Header,
}

impl JwtCompact {
    pub(crate) fn new() -> Self {
        Self {
            key: Hs256Key::new(KEY),
            time: TimeOptions::new(chrono::Duration::seconds(LEEWAY_SECS as i64), fixed_now as FixedClock),
            header: jwt_compact::Header::empty().with_key_id(KID).with_token_type("JWT"),
        }
    }

    pub(crate) fn verify(&self, token: &str) -> Option<jwt_compact::Claims<CompactCustom>> {
        let untrusted = UntrustedToken::new(token).ok()?;
        let token = Hs256.validator::<CompactCustom>(&self.key).validate(&untrusted).ok()?;
        token.claims().validate_expiration(&self.time).ok()?;
        Some(token.into_parts().1)
    }

    pub(crate) fn claims(claims: &Claims) -> jwt_compact::Claims<CompactCustom> {
        let mut compact = jwt_compact::Claims::new(CompactCustom {
            sub: claims.sub.clone(),
            username: claims.username.clone(),
            roles: claims.roles.clone(),
            jti: claims.jti.clone(),
        });
        compact.issued_at = chrono::DateTime::from_timestamp(ISSUED_AT_SECS as i64, 0);
        compact.expiration = chrono::DateTime::from_timestamp(EXPIRES_AT_SECS as i64, 0);
        compact
    }

    pub(crate) fn sign(&self, claims: &jwt_compact::Claims<CompactCustom>) -> Option<String> {
        Hs256.token(&self.header, claims, &self.key).ok()
    }
}
