//! Signing, verifying, rotation and the rejection codes, through the public API.

use serde::{Deserialize, Serialize};
use tokenring::{Key, KeyRing, Kid, Rejection, Scratch, Validation};

pub(crate) const NOW: u64 = 1_700_000_000;

/// HMAC-SHA256 computed independently of the library, with the `hmac` crate keyed per message.
fn hs256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Canonical unpadded base64url.
fn base64url(bytes: &[u8]) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    Base64UrlUnpadded::encode_string(bytes)
}

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
    let token = ring.issue(&session(), 3600, NOW).unwrap();
    let verified = ring.verify::<Session>(&token, &Validation::new(), NOW).unwrap();
    assert_eq!(verified.claims(), &session());
    assert_eq!(verified.kid(), ring.active_kid(NOW).as_ref());
    assert_eq!(verified.expires_at(), Some(NOW + 3600));
    assert_eq!(verified.issued_at(), Some(NOW));
    let mut scratch = Scratch::new();
    let verified = ring.verify_borrowed::<SessionRef<'_>>(&token, &Validation::new(), &mut scratch, NOW).unwrap();
    assert_eq!(verified.claims().sub, "3");
}

#[test]
fn header_carries_the_kid() {
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.sign_jws(b"hello", NOW).unwrap();
    let header = token.split('.').next().unwrap();
    let kid = ring.active_kid(NOW).unwrap();
    let mut scratch = Scratch::new();
    let verified = ring.verify_jws(&token, &mut scratch, NOW).unwrap();
    assert_eq!(*verified.claims(), b"hello");
    assert_eq!(verified.kid(), Some(&kid));
    // The header is the fixed one documented for the ring.
    use base64ct::Encoding as _;
    let decoded = base64ct::Base64UrlUnpadded::decode_vec(header).unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#));
}

#[test]
fn expiry_is_checked_after_the_signature() {
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&session(), 60, NOW).unwrap();
    let strict = Validation::new().leeway_secs(0);
    assert!(ring.verify::<Session>(&token, &strict, NOW + 59).is_ok());
    assert_eq!(ring.verify::<Session>(&token, &strict, NOW + 60).unwrap_err(), Rejection::Expired);
    let other = KeyRing::generate(NOW).unwrap();
    assert_eq!(other.verify::<Session>(&token, &strict, NOW + 60).unwrap_err(), Rejection::UnknownKey);
}

#[test]
fn rotation_keeps_old_tokens_until_retire_at_then_retired_key() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let old = ring.issue(&session(), 3600, NOW).unwrap();
    let old_kid = ring.active_kid(NOW).unwrap();
    let new_kid = ring.rotate(&tokenring::Rotation::new().propagation_secs(0).overlap_secs(3600), NOW + 10).unwrap();
    assert_ne!(old_kid, new_kid);
    let validation = Validation::new().leeway_secs(0);
    assert!(ring.verify::<Session>(&old, &validation, NOW + 3599).is_ok());
    let fresh = ring.issue(&session(), 3600, NOW + 10).unwrap();
    assert_eq!(ring.verify::<Session>(&fresh, &validation, NOW + 20).unwrap().kid(), Some(&new_kid));
    // Past retire-at (NOW + 10 + 3600) the old key is held but retired.
    let past = NOW + 3610;
    let ring_jws = ring.verify_jws(&old, &mut Scratch::new(), past).unwrap_err();
    assert_eq!(ring_jws, Rejection::RetiredKey);
    assert!(ring_jws.is_routine(), "the MAC held under the ring's own key");
    // Nothing is pruned until the forget time; then only the kid is remembered, and a token
    // naming it cannot be checked: forgotten-key, never routine.
    assert_eq!(ring.prune(past), 0);
    let forget_at = past + tokenring::limits::FORGET_AFTER_SECS_DEFAULT;
    assert_eq!(ring.verify_jws(&old, &mut Scratch::new(), forget_at - 1).unwrap_err(), Rejection::RetiredKey);
    assert_eq!(ring.prune(forget_at), 1);
    let rejection = ring.verify_jws(&old, &mut Scratch::new(), forget_at).unwrap_err();
    assert_eq!(rejection, Rejection::ForgottenKey);
    assert!(!rejection.is_routine());
}

#[test]
fn forged_token_under_a_retired_kid_is_bad_signature_while_the_key_is_held() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let old_kid = ring.active_kid(NOW).unwrap();
    ring.rotate(&tokenring::Rotation::new().propagation_secs(0).overlap_secs(0), NOW).unwrap();
    let forger = KeyRing::with_key(Key::from_bytes(&[9; 32]).unwrap(), Some(old_kid), NOW);
    let forged = forger.sign_jws(b"{}", NOW).unwrap();
    assert_eq!(ring.verify_jws(&forged, &mut Scratch::new(), NOW + 1).unwrap_err(), Rejection::BadSignature);
}

/// A forger who knows the active `kid` signs claims that are expired, or not yet valid: the MAC
/// fails first, so the verdict is `bad-signature`, never the routine `expired` or
/// `not-yet-valid` that the same claims get when the ring signed them.
#[test]
fn a_forged_token_is_bad_signature_whatever_its_times_say() {
    let ring = KeyRing::generate(NOW).unwrap();
    let forger = KeyRing::with_key(Key::from_bytes(&[9; 32]).unwrap(), ring.active_kid(NOW), NOW);
    let expired = format!(r#"{{"sub":"ada","exp":{}}}"#, NOW - 3600);
    let not_yet_valid = format!(r#"{{"sub":"ada","exp":{},"nbf":{}}}"#, NOW + 7200, NOW + 3600);
    for (claims, routine) in [(expired, Rejection::Expired), (not_yet_valid, Rejection::NotYetValid)] {
        let genuine = ring.sign_jws(claims.as_bytes(), NOW).unwrap();
        let rejection = ring.verify::<serde_json::Value>(&genuine, &Validation::new(), NOW).unwrap_err();
        assert_eq!((rejection, rejection.is_routine()), (routine, true), "{claims}");
        let forged = forger.sign_jws(claims.as_bytes(), NOW).unwrap();
        let rejection = ring.verify::<serde_json::Value>(&forged, &Validation::new(), NOW).unwrap_err();
        assert_eq!((rejection, rejection.is_routine()), (Rejection::BadSignature, false), "{claims}");
    }
}

#[test]
fn single_key_without_kid_verifies_any_kid() {
    let key = Key::from_bytes(&[1; 32]).unwrap();
    let signer = KeyRing::with_key(key.clone(), Some(Kid::new("whatever").unwrap()), NOW);
    let verifier = KeyRing::with_key(key, None, NOW);
    let token = signer.sign_jws(b"x", NOW).unwrap();
    assert_eq!(verifier.verify_jws(&token, &mut Scratch::new(), NOW).unwrap().claims(), b"x");
}

#[test]
fn one_changed_payload_character_is_bad_signature() {
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&session(), 60, NOW).unwrap();
    let mut bytes = token.into_bytes();
    let dot = bytes.iter().position(|&b| b == b'.').unwrap();
    bytes[dot + 2] = if bytes[dot + 2] == b'A' { b'B' } else { b'A' };
    assert_eq!(ring.verify::<Session>(&bytes, &Validation::new(), NOW).unwrap_err(), Rejection::BadSignature);
}

/// Key identifiers whose issued header segment plus its dot is 63, 64, 65, 127 and 128 bytes
/// long, and none: the header midstate absorbs whole blocks only, so each side of a block
/// boundary is covered. (The segment of `{"alg":"HS256","typ":"JWT","kid":"<kid>"}` grows by
/// four characters per three of kid; the lengths are checked below.)
fn boundary_kids() -> Vec<Option<Kid>> {
    let mut kids = vec![None];
    for len in 1..=60 {
        kids.push(Some(Kid::new(&"k".repeat(len)).unwrap()));
    }
    kids
}

fn segments(token: &str) -> (&str, &str) {
    let dot = token.rfind('.').unwrap();
    (&token[..dot], &token[dot + 1..])
}

/// The MAC of every token the ring signs is the standard HMAC-SHA256 of its signing input,
/// computed independently (the `hmac` crate), for keys shorter than, equal to and longer than a
/// SHA-256 block, and header lengths on both sides of every block boundary the header reaches.
#[test]
fn signed_tokens_carry_the_standard_hmac() {
    let mut header_lengths = std::collections::BTreeSet::new();
    for key_len in [32, 64, 65, 512] {
        let secret: Vec<u8> = (0..key_len).map(|index| (index * 31 + 7) as u8).collect();
        for kid in boundary_kids() {
            let ring = KeyRing::with_key(Key::from_bytes(&secret).unwrap(), kid, NOW);
            for token in [ring.issue(&session(), 60, NOW).unwrap(), ring.sign_jws(&[b'x'; 200], NOW).unwrap()] {
                let (signing_input, signature) = segments(&token);
                header_lengths.insert(signing_input.find('.').unwrap() + 1);
                let expected = base64url(&hs256(&secret, signing_input.as_bytes()));
                assert_eq!(signature, expected, "key of {key_len} bytes, kid {kid:?}");
            }
        }
    }
    for boundary in [63, 64, 65, 127, 128] {
        assert!(header_lengths.contains(&boundary), "no header of {boundary} bytes with its dot");
    }
}

/// A token made elsewhere with exactly the header the ring issues (the fast path's case) and
/// the standard HMAC verifies; one character changed in its payload does not.
#[test]
fn tokens_signed_elsewhere_under_the_issued_header_verify() {
    let secret = [0x42u8; 32];
    for kid in boundary_kids() {
        let ring = KeyRing::with_key(Key::from_bytes(&secret).unwrap(), kid, NOW);
        let header = match &kid {
            Some(kid) => format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#),
            None => r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
        };
        let issued = ring.sign_jws(b"{}", NOW).unwrap();
        let signing_input = format!("{}.{}", base64url(header.as_bytes()), base64url(br#"{"sub":"3","roles":["a"]}"#));
        let token = format!("{signing_input}.{}", base64url(&hs256(&secret, signing_input.as_bytes())));
        assert_eq!(token.split('.').next(), issued.split('.').next(), "the same header segment");
        let verified = ring.verify::<Session>(&token, &Validation::new().require_exp(false), NOW).unwrap();
        assert_eq!(verified.claims().sub, "3");
        let mut tampered = token.clone().into_bytes();
        let index = token.find('.').unwrap() + 2;
        tampered[index] = if tampered[index] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(matches!(
            ring.verify::<Session>(&tampered, &Validation::new().require_exp(false), NOW),
            Err(Rejection::BadSignature)
        ));
    }
}
