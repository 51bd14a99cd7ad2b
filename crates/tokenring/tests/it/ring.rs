//! Signing, verifying, rotation and the rejection codes, through the public API.

use serde::{Deserialize, Serialize};
use tokenring::{Key, KeyRing, Kid, Rejection, Scratch, Validation};

pub(crate) const NOW: u64 = 1_700_000_000;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Session {
    sub: String,
    roles: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct SessionRef<'a> {
    sub: &'a str,
}

fn session() -> Session {
    Session { sub: "3".into(), roles: vec!["admin".into()] }
}

#[test]
fn issue_then_verify_owned_and_borrowed() {
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&session(), NOW, 3600).unwrap();
    let verified = ring.verify::<Session>(&token, &Validation::new(), NOW).unwrap();
    assert_eq!(verified.claims(), &session());
    assert_eq!(verified.kid(), ring.active_kid().as_ref());
    assert_eq!(verified.expires_at(), Some((NOW + 3600) as f64));
    assert_eq!(verified.issued_at(), Some(NOW as f64));
    let mut scratch = Scratch::new();
    let verified = ring.verify_borrowed::<SessionRef<'_>>(&token, &Validation::new(), NOW, &mut scratch).unwrap();
    assert_eq!(verified.claims().sub, "3");
}

#[test]
fn header_carries_the_kid() {
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.sign_jws(b"hello").unwrap();
    let header = token.split('.').next().unwrap();
    let kid = ring.active_kid().unwrap();
    let mut scratch = Scratch::new();
    let verified = ring.verify_jws(&token, NOW, &mut scratch).unwrap();
    assert_eq!(verified.payload(), b"hello");
    assert_eq!(verified.kid(), Some(&kid));
    // The header is the fixed one documented for the ring.
    use base64ct::Encoding as _;
    let decoded = base64ct::Base64UrlUnpadded::decode_vec(header).unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#));
}

#[test]
fn expiry_is_checked_after_the_signature() {
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&session(), NOW, 60).unwrap();
    let strict = Validation::new().leeway_secs(0);
    assert!(ring.verify::<Session>(&token, &strict, NOW + 59).is_ok());
    assert_eq!(ring.verify::<Session>(&token, &strict, NOW + 60).unwrap_err(), Rejection::Expired);
    let other = KeyRing::generate(NOW).unwrap();
    assert_eq!(other.verify::<Session>(&token, &strict, NOW + 60).unwrap_err(), Rejection::UnknownKey);
}

#[test]
fn rotation_keeps_old_tokens_until_retire_at_then_retired_key() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let old = ring.issue(&session(), NOW, 3600).unwrap();
    let old_kid = ring.active_kid().unwrap();
    let new_kid = ring.rotate(NOW + 10, 3600).unwrap();
    assert_ne!(old_kid, new_kid);
    let validation = Validation::new().leeway_secs(0);
    assert!(ring.verify::<Session>(&old, &validation, NOW + 3599).is_ok());
    let fresh = ring.issue(&session(), NOW + 10, 3600).unwrap();
    assert_eq!(ring.verify::<Session>(&fresh, &validation, NOW + 20).unwrap().kid(), Some(&new_kid));
    // Past retire-at (NOW + 10 + 3600) the old key is held but retired.
    let past = NOW + 3610;
    let ring_jws = ring.verify_jws(&old, past, &mut Scratch::new()).unwrap_err();
    assert_eq!(ring_jws, Rejection::RetiredKey);
    // Pruned: only the kid is remembered, and the code stays routine.
    assert_eq!(ring.prune(past), 1);
    let rejection = ring.verify_jws(&old, past, &mut Scratch::new()).unwrap_err();
    assert_eq!(rejection, Rejection::RetiredKey);
    assert!(rejection.is_routine());
}

#[test]
fn forged_token_under_a_retired_kid_is_bad_signature_while_the_key_is_held() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let old_kid = ring.active_kid().unwrap();
    ring.rotate(NOW, 0).unwrap();
    let forger = KeyRing::with_key(Key::from_bytes(&[9; 32]).unwrap(), Some(old_kid), NOW);
    let forged = forger.sign_jws(b"{}").unwrap();
    assert_eq!(ring.verify_jws(&forged, NOW + 1, &mut Scratch::new()).unwrap_err(), Rejection::BadSignature);
}

#[test]
fn single_key_without_kid_verifies_any_kid() {
    let key = Key::from_bytes(&[1; 32]).unwrap();
    let signer = KeyRing::with_key(key.clone(), Some(Kid::new("whatever").unwrap()), NOW);
    let verifier = KeyRing::with_key(key, None, NOW);
    let token = signer.sign_jws(b"x").unwrap();
    assert_eq!(verifier.verify_jws(&token, NOW, &mut Scratch::new()).unwrap().payload(), b"x");
}

#[test]
fn one_changed_payload_character_is_bad_signature() {
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&session(), NOW, 60).unwrap();
    let mut bytes = token.into_bytes();
    let dot = bytes.iter().position(|&b| b == b'.').unwrap();
    bytes[dot + 2] = if bytes[dot + 2] == b'A' { b'B' } else { b'A' };
    assert_eq!(ring.verify::<Session>(&bytes, &Validation::new(), NOW).unwrap_err(), Rejection::BadSignature);
}

#[test]
fn detached_payload_up_to_the_token_limit() {
    // Without a kid the signed header is 36 characters, which leaves room for a payload whose
    // attached token is exactly TOKEN_LEN_MAX bytes long (not every length is reachable).
    let ring = KeyRing::with_key(Key::from_bytes(&[4; 32]).unwrap(), None, NOW);
    let probe = ring.sign_jws(b"").unwrap();
    let room = tokenring::limits::TOKEN_LEN_MAX - probe.len();
    let payload = vec![b'a'; room * 3 / 4];
    let attached = ring.sign_jws(&payload).unwrap();
    assert_eq!(attached.len(), tokenring::limits::TOKEN_LEN_MAX);
    let mut segments = attached.split('.');
    let detached = format!("{}..{}", segments.next().unwrap(), segments.nth(1).unwrap());
    assert_eq!(ring.verify_detached(&detached, &payload, NOW).unwrap().payload(), &payload[..]);
    let longer = vec![b'a'; payload.len() + 3];
    assert!(matches!(ring.verify_detached(&detached, &longer, NOW), Err(Rejection::TooLarge(_))));
}
