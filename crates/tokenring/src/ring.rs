//! The ring layer: keys and their identifiers, their lifecycle (published, active, retired,
//! forgotten, or revoked), the [`KeyRing`](keyring::KeyRing) that signs and verifies with them,
//! and its JWK Set form. Nothing here touches a file.

pub(crate) mod fingerprint;
pub(crate) mod jwks;
pub(crate) mod key;
pub(crate) mod keyring;
pub(crate) mod lifecycle;
pub(crate) mod ring_key;
