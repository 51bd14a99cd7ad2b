//! A token is three segments, and one under the ring's own header is held to that shape like
//! any other: a missing dot or a signature one character off is `malformed` even where the MAC
//! holds, and an empty payload is read as the bytes it is.

use serde_json::Value;
use tokenring::{Key, KeyRing, Kid, Rejection, Scratch};

use crate::helpers::lenient;
use crate::ring::NOW;

/// A token under the ring's own header, its three segments, and the ring.
fn own_token() -> (KeyRing, String, [String; 3]) {
    let ring = KeyRing::with_key(Key::from_bytes(&[5; 32]).unwrap(), Some(Kid::new("k1").unwrap()), NOW);
    let token = ring.sign_jws(br#"{"sub":"3"}"#, NOW).unwrap();
    let mut parts = token.split('.').map(str::to_owned);
    let segments = [parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap()];
    (ring, token, segments)
}

fn verify_jws(ring: &KeyRing, token: &str) -> Result<Vec<u8>, Rejection> {
    ring.verify_jws(token, NOW, &mut Scratch::new()).map(|verified| verified.payload().to_vec())
}

#[test]
fn a_token_under_the_rings_own_header_missing_a_dot_is_malformed_even_with_a_matching_mac() {
    // The fast path must not read a token with two segments as one with three: here the MAC
    // over the header and payload holds, only the dot between them (or before the signature)
    // is replaced.
    let (ring, token, [header, payload, signature]) = own_token();
    assert_eq!(verify_jws(&ring, &token).unwrap(), br#"{"sub":"3"}"#);
    let segments = Rejection::Malformed("the token does not have three segments");
    for broken in [format!("{header}A{payload}.{signature}"), format!("{header}.{payload}A{signature}")] {
        assert_eq!(verify_jws(&ring, &broken).unwrap_err(), segments, "{broken}");
        assert_eq!(ring.verify::<Value>(&broken, &lenient(), NOW).unwrap_err(), segments);
    }
    // The header followed by one dot and a well-formed signature, no payload segment at all.
    let no_payload = format!("{header}.{}", "A".repeat(43));
    assert_eq!(verify_jws(&ring, &no_payload).unwrap_err(), segments);
    let no_payload = format!("{header}.{signature}");
    assert_eq!(verify_jws(&ring, &no_payload).unwrap_err(), segments);
}

#[test]
fn a_token_under_the_rings_own_header_with_a_signature_one_character_off_is_malformed() {
    let (ring, _, [header, payload, signature]) = own_token();
    let wrong_length = Rejection::Malformed("the signature is not 32 bytes of base64url");
    // 42 and 44 characters of canonical base64url ('A' is all zero bits).
    for broken in [
        format!("{header}.{payload}.{}", "A".repeat(42)),
        format!("{header}.{payload}.{}", &signature[..42]),
        format!("{header}.{payload}.{}", "A".repeat(44)),
        format!("{header}.{payload}.{signature}A"),
    ] {
        assert_eq!(verify_jws(&ring, &broken).unwrap_err(), wrong_length, "{broken}");
        assert_eq!(ring.verify::<Value>(&broken, &lenient(), NOW).unwrap_err(), wrong_length);
    }
}

#[test]
fn a_token_under_the_rings_own_header_with_an_empty_payload_is_read_like_any_other() {
    let (ring, _, [header, _, _]) = own_token();
    let empty = ring.sign_jws(b"", NOW).unwrap();
    assert!(empty.starts_with(&format!("{header}..")));
    assert_eq!(verify_jws(&ring, &empty).unwrap(), b"");
    assert_eq!(
        ring.verify::<Value>(&empty, &lenient(), NOW).unwrap_err(),
        Rejection::Malformed("the claims are not a JSON object")
    );
    let forged = format!("{header}..{}", "A".repeat(43));
    assert_eq!(verify_jws(&ring, &forged).unwrap_err(), Rejection::BadSignature);
}
