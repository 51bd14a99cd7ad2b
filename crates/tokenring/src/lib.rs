//! HS256 JSON Web Tokens with constant-time verification and a key ring that survives restarts
//! and rotations.
//!
//! # Why
//!
//! A server that generates its HMAC key at every start and never stores it logs every user out
//! on each restart, and cannot tell a token from before the restart from a forged one. tokenring
//! makes the right thing the default: keys live in a [`KeyRing`] persisted as a JWK Set by a
//! [`FileStore`]; rotation keeps old keys verifying for an overlap; and every [`Rejection`]
//! carries a stable code and a [`Severity`], so `retired-key` after a rotation is logged as
//! routine while `bad-signature` is not. Nothing the library prints ever contains a token, a
//! signature or a key.
//!
//! # Example
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tokenring::{KeyRing, Rejection, Rotation, Validation};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! struct Session { sub: String }
//!
//! let now = 1_700_000_000; // a server uses tokenring::SystemClock
//! let mut ring = KeyRing::generate(now)?;
//! let token = ring.issue(&Session { sub: "3".into() }, 3600, now)?;
//!
//! let validation = Validation::new();
//! let verified = ring.verify::<Session>(&token, &validation, now)?;
//! assert_eq!(verified.claims().sub, "3");
//!
//! // A staged rotation: the new key is published now and signs five minutes later, once every
//! // node has had time to load it; the old key verifies for an hour after that.
//! let rotation = Rotation::new().propagation_secs(300).overlap_secs(3600);
//! let new_kid = ring.rotate(&rotation, now)?;
//! assert_ne!(ring.active_kid(now + 299), Some(new_kid));
//! assert_eq!(ring.active_kid(now + 300), Some(new_kid));
//! assert!(ring.verify::<Session>(&token, &validation, now + 300).is_ok());
//!
//! // After the overlap the old key's tokens are rejected, and since their MAC was checked
//! // under the ring's own key, the rejection is routine, not an alarm.
//! let rejection = ring.verify::<Session>(&token, &validation, now + 300 + 3600).unwrap_err();
//! assert_eq!(rejection, Rejection::RetiredKey);
//! assert!(rejection.is_routine());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A service shares one [`SharedRing`] across its threads and reloads it from its
//! [`FileStore`] when the file changes; writers change the file with [`FileStore::update`],
//! which holds a lock so that concurrent rotations never lose a key.
//!
//! # The API in one screen
//!
//! * Make a token: [`KeyRing::issue`]`(claims, ttl_secs, now)`, the one way. It sets `iat`,
//!   `nbf` and `exp` (a claims type that carries them keeps its own, within the time-to-live).
//! * Check a token: [`KeyRing::verify`]`(token, validation, now)` returns a [`Verified`] with
//!   the claims and the registered times, or a [`Rejection`]. Its zero-allocation form,
//!   [`KeyRing::verify_borrowed`]`(token, validation, scratch, now)`, reads claims that borrow
//!   from a [`Scratch`].
//! * Below the JWT layer, for payloads that are not claims: [`KeyRing::sign_jws`] and
//!   [`KeyRing::verify_jws`]. To look at a token without trusting it: [`Unverified`].
//! * Keys: [`KeyRing::rotate`]`(rotation, now)`, [`KeyRing::revoke`]`(kid, now)`, persisted by a
//!   [`FileStore`] and shared by a [`SharedRing`].
//!
//! The time is always the last argument, in whole seconds since the epoch (a [`Clock`] makes
//! it); builders ([`Validation`], [`Rotation`]) have setters named with their unit
//! (`leeway_secs`, `propagation_secs`).
//!
//! # Verification order
//!
//! Length ([`limits::TOKEN_LEN_MAX`]) → three segments → header (strict base64url, `alg`
//! exactly `HS256`, no `crit`, unique members, bounded `kid`) → key selection by `kid`
//! (`forgotten-key` / `unknown-key`) → the signature's shape (32 bytes of strict base64url) →
//! HMAC-SHA256 over the segments as received, compared in constant time → the key's state (`retired-key`, `revoked-key`) → only then the claims (`exp`,
//! `nbf`, `iss`, `aud`, the caller's type).
//!
//! Every limit is a constant in [`limits`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod clock;
mod error;
pub mod limits;
mod ring;
mod store;
mod token;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::error::{
    Error, KeyError, KeySetError, Malformed, Rejection, Severity, SignError, StoreError, StoreOp, TooLarge,
    UnsupportedHeader,
};
pub use crate::ring::fingerprint::Fingerprint;
pub use crate::ring::key::{Entropy, Key, Kid, OsEntropy};
pub use crate::ring::keyring::KeyRing;
pub use crate::ring::lifecycle::{KeyInfo, KeyState, Rotation};
pub use crate::store::file::{FileStore, Loaded, PermissionWarning};
pub use crate::store::path::RedactedPath;
pub use crate::store::shared::{Reloaded, SharedRing};
pub use crate::store::storage::{EntryKind, Storage, StorageLock};
pub use crate::token::claims::Validation;
pub use crate::token::unverified::Unverified;
pub use crate::token::verified::{Scratch, Verified};

/// Hooks for the fuzz targets in `fuzz/`, compiled only under `cargo fuzz` (`--cfg fuzzing`):
/// never part of the library a consumer builds.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use crate::Rejection;

    /// The claims reader's fast path on `payload`: the claims and the registered claims (as
    /// text), or `None` when it gave up.
    pub fn claims_fast<'de, C: serde::Deserialize<'de>>(payload: &'de [u8]) -> Option<(C, String)> {
        crate::token::claims::paths::fast(payload)
    }

    /// The claims reader's `serde_json` path on `payload`: the claims (`None` when they do not
    /// fit `C`) and the registered claims (as text), or the rejection.
    pub fn claims_thorough<'de, C: serde::Deserialize<'de>>(
        payload: &'de [u8],
    ) -> Result<(Option<C>, String), Rejection> {
        crate::token::claims::paths::thorough(payload)
    }
}
