//! The ring layer: keys and their identifiers, a key as the ring holds it (`ring_key`), their
//! lifecycle (published, active, retired, forgotten, or revoked), the
//! [`KeyRing`](keyring::KeyRing) and which of its keys a token selects, and its JWK Set form.
//! Signing and verifying with a ring are the token layer's. Nothing here touches a file.

pub(crate) mod fingerprint;
pub(crate) mod jwks;
pub(crate) mod key;
pub(crate) mod keyring;
pub(crate) mod lifecycle;
pub(crate) mod ring_key;
