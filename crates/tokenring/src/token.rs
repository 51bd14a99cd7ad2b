//! The token layer: a compact JWS's segments, its header, its claims, its MAC, how a token is
//! made (`sign`) and checked (`verify`, the one pipeline), and the types that prove a token was
//! checked ([`Verified`](verified::Verified)) or say it was not
//! ([`Unverified`](unverified::Unverified)). Nothing here knows about key files.

pub(crate) mod base64url;
pub(crate) mod claims;
pub(crate) mod header;
pub(crate) mod mac;
pub(crate) mod sign;
pub(crate) mod strict_json;
pub(crate) mod unverified;
pub(crate) mod verified;
pub(crate) mod verify;
