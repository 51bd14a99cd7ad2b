//! One test per limit, asserting its rejection code.

use serde_json::{json, Value};
use tokenring::limits::{
    AUDIENCES_MAX, CLAIMS_MEMBERS_MAX, HEADER_LEN_MAX, JSON_DEPTH_MAX, KEYS_PER_RING_MAX, KEY_LEN_MAX, KEY_LEN_MIN,
    KID_LEN_MAX, TOKEN_LEN_MAX,
};
use tokenring::{Key, KeyError, KeyRing, KeySetError, Rejection, Scratch, SignError, Validation};

use crate::ring::NOW;

fn ring() -> KeyRing {
    KeyRing::with_key(Key::from_bytes(&[3; 32]).unwrap(), None, NOW)
}

/// A token with the given header, signed correctly by `ring()`'s key.
fn with_header(header: &str, payload: &str) -> String {
    use base64ct::Encoding as _;
    use hmac::{KeyInit, Mac};
    let b64 = base64ct::Base64UrlUnpadded::encode_string;
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&[3; 32]).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn verify(token: &str) -> Result<Value, Rejection> {
    ring().verify::<Value>(token, &Validation::new().require_exp(false), NOW).map(|v| v.into_claims())
}

#[test]
fn token_length() {
    let payload = format!(r#"{{"pad":"{}"}}"#, "a".repeat(TOKEN_LEN_MAX));
    assert_eq!(ring().sign(&serde_json::from_str::<Value>(&payload).unwrap(), NOW).unwrap_err(), SignError::TooLarge);
    let token = with_header(r#"{"alg":"HS256"}"#, &payload);
    assert!(token.len() > TOKEN_LEN_MAX);
    assert!(matches!(verify(&token), Err(Rejection::TooLarge(_))));
    assert!(matches!(verify(&"x".repeat(TOKEN_LEN_MAX + 1)), Err(Rejection::TooLarge(_))));
    // Just under the limit verifies.
    let fits = format!(r#"{{"pad":"{}"}}"#, "a".repeat(TOKEN_LEN_MAX / 4 * 3 - 200));
    let token = with_header(r#"{"alg":"HS256"}"#, &fits);
    assert!(token.len() <= TOKEN_LEN_MAX);
    assert!(verify(&token).is_ok());
}

#[test]
fn header_length() {
    let header = format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(HEADER_LEN_MAX));
    assert!(matches!(verify(&with_header(&header, "{}")), Err(Rejection::TooLarge(_))));
    let header = format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(HEADER_LEN_MAX - 100));
    assert!(verify(&with_header(&header, "{}")).is_ok());
}

#[test]
fn kid_length() {
    let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(KID_LEN_MAX + 1));
    assert!(matches!(verify(&with_header(&header, "{}")), Err(Rejection::TooLarge(_))));
    let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(KID_LEN_MAX));
    assert!(verify(&with_header(&header, "{}")).is_ok(), "a ring of one key without a kid takes any kid");
}

#[test]
fn json_depth() {
    let nested = |depth: usize| format!(r#"{{"a":{}{}}}"#, "[".repeat(depth - 1), "]".repeat(depth - 1));
    assert!(verify(&with_header(r#"{"alg":"HS256"}"#, &nested(JSON_DEPTH_MAX))).is_ok());
    assert!(matches!(
        verify(&with_header(r#"{"alg":"HS256"}"#, &nested(JSON_DEPTH_MAX + 1))),
        Err(Rejection::TooLarge(_))
    ));
    let header = format!(r#"{{"alg":"HS256","x":{}{}}}"#, "[".repeat(JSON_DEPTH_MAX), "]".repeat(JSON_DEPTH_MAX));
    assert!(matches!(verify(&with_header(&header, "{}")), Err(Rejection::TooLarge(_))));
    // Far deeper than serde_json's own recursion limit: still a typed rejection, no stack overflow.
    let deep = "[".repeat(TOKEN_LEN_MAX / 2);
    assert!(matches!(verify(&with_header(r#"{"alg":"HS256"}"#, &deep)), Err(Rejection::TooLarge(_))));
}

#[test]
fn claims_members() {
    let claims = |count: usize| {
        let members: Vec<String> = (0..count).map(|i| format!(r#""c{i}":{i}"#)).collect();
        format!("{{{}}}", members.join(","))
    };
    assert!(verify(&with_header(r#"{"alg":"HS256"}"#, &claims(CLAIMS_MEMBERS_MAX))).is_ok());
    assert!(matches!(
        verify(&with_header(r#"{"alg":"HS256"}"#, &claims(CLAIMS_MEMBERS_MAX + 1))),
        Err(Rejection::TooLarge(_))
    ));
}

#[test]
fn audiences() {
    let validation = Validation::new().require_exp(false).audience("a0");
    let audiences =
        |count: usize| json!({ "aud": (0..count).map(|i| format!("a{i}")).collect::<Vec<_>>() }).to_string();
    let ok = with_header(r#"{"alg":"HS256"}"#, &audiences(AUDIENCES_MAX));
    assert!(ring().verify::<Value>(&ok, &validation, NOW).is_ok());
    let too_many = with_header(r#"{"alg":"HS256"}"#, &audiences(AUDIENCES_MAX + 1));
    assert!(matches!(ring().verify::<Value>(&too_many, &validation, NOW), Err(Rejection::TooLarge(_))));
}

#[test]
fn key_lengths() {
    assert_eq!(Key::from_bytes(&[1; KEY_LEN_MIN - 1]).unwrap_err(), KeyError::TooShort { bits: 248 });
    assert!(Key::from_bytes(&[1; KEY_LEN_MAX]).is_ok());
    assert!(matches!(Key::from_bytes(&[1; KEY_LEN_MAX + 1]), Err(KeyError::TooLong { .. })));
}

#[test]
fn keys_per_ring() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let rotation = tokenring::Rotation::new().propagation_secs(0).overlap_secs(1_000_000).forget_after_secs(1_000_000);
    for i in 1..KEYS_PER_RING_MAX as u64 {
        ring.rotate(NOW + i, &rotation).unwrap();
    }
    assert_eq!(ring.keys(NOW).len(), KEYS_PER_RING_MAX);
    assert_eq!(ring.rotate(NOW + 100, &rotation).unwrap_err(), KeyError::RingFull);
    // Retired keys are still held; once they are forgotten, rotation prunes them and succeeds.
    assert_eq!(ring.rotate(NOW + 1_000_100, &rotation).unwrap_err(), KeyError::RingFull);
    assert!(ring.rotate(NOW + 2_000_100, &rotation).is_ok());
    let document = KeyRing::generate(NOW).unwrap().to_jwk_set();
    let one: Value = serde_json::from_str(&document).unwrap();
    let key = one["keys"][0].clone();
    let many: Vec<Value> = (0..=KEYS_PER_RING_MAX)
        .map(|i| {
            let mut key = key.clone();
            key["kid"] = json!(format!("kid-{i}"));
            key
        })
        .collect();
    let set = json!({ "keys": many }).to_string();
    assert_eq!(KeyRing::from_jwk_set(set.as_bytes()).unwrap_err(), KeySetError::TooManyKeys);
}

#[test]
fn payload_larger_than_the_scratch_cannot_exist() {
    // The payload bound follows from the token bound: a token that fits always fits the scratch.
    let fits = format!(r#"{{"pad":"{}"}}"#, "a".repeat(TOKEN_LEN_MAX / 4 * 3 - 200));
    let token = with_header(r#"{"alg":"HS256"}"#, &fits);
    let mut scratch = Scratch::new();
    assert!(ring().verify_jws(&token, NOW, &mut scratch).is_ok());
}
