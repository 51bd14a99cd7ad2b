//! Fixtures several modules share: a ring of one key, tokens signed outside the library, and
//! key set documents.

use base64ct::Encoding as _;
use serde_json::{json, Value};
use tokenring::{Key, KeyRing, KeySetError, Validation};

use crate::ring::NOW;

/// The secret of [`ring`] and [`signed`].
const SECRET: [u8; 32] = [5; 32];

/// A ring of one key without a `kid`: it signs under the header `{"alg":"HS256","typ":"JWT"}`.
pub(crate) fn ring() -> KeyRing {
    KeyRing::with_key(Key::from_bytes(&SECRET).unwrap(), None, NOW)
}

/// Canonical unpadded base64url.
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64ct::Base64UrlUnpadded::encode_string(bytes)
}

/// A token with exactly these header and payload bytes, correctly signed with `key` by the
/// `hmac` crate.
pub(crate) fn signed_with(key: &[u8], header: &[u8], payload: &[u8]) -> String {
    signed_segments(key, &b64(header), &b64(payload))
}

/// `header_b64.payload_b64` and its MAC under `key` by the `hmac` crate, the segments taken as
/// given: whatever they hold, canonical base64url or not, the signature is right.
pub(crate) fn signed_segments(key: &[u8], header_b64: &str, payload_b64: &str) -> String {
    use hmac::{KeyInit, Mac};
    let input = format!("{header_b64}.{payload_b64}");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// A token with the given header and payload, correctly signed with the key of [`ring`].
pub(crate) fn signed(header: &str, payload: &str) -> String {
    signed_with(&SECRET, header.as_bytes(), payload.as_bytes())
}

/// The default validation without its `exp` requirement.
pub(crate) fn lenient() -> Validation {
    Validation::new().require_exp(false)
}

/// A JWK for a 32-byte key of `byte`s, with the given `kid` and extra members.
pub(crate) fn jwk(byte: u8, kid: &str, extra: Value) -> Value {
    let mut key = json!({ "kty": "oct", "k": b64(&[byte; 32]), "kid": kid });
    for (name, value) in extra.as_object().unwrap() {
        key[name] = value.clone();
    }
    key
}

/// A ring loaded from a key set of these JWKs.
pub(crate) fn load(keys: Vec<Value>) -> Result<KeyRing, KeySetError> {
    KeyRing::from_jwk_set(json!({ "keys": keys }).to_string().as_bytes())
}
