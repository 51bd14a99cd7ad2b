//! A token is three segments, and one under the ring's own header is held to that shape like
//! any other: a missing dot or a signature one character off is `malformed` even where the MAC
//! holds, and an empty payload is read as the bytes it is.

use serde_json::Value;
use tokenring::{Key, KeyRing, Kid, Malformed, Rejection, Scratch};

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
    ring.verify_jws(token, &mut Scratch::new(), NOW).map(|verified| verified.claims().to_vec())
}

#[test]
fn a_token_under_the_rings_own_header_missing_a_dot_is_malformed_even_with_a_matching_mac() {
    // The fast path must not read a token with two segments as one with three: here the MAC
    // over the header and payload holds, only the dot between them (or before the signature)
    // is replaced.
    let (ring, token, [header, payload, signature]) = own_token();
    assert_eq!(verify_jws(&ring, &token).unwrap(), br#"{"sub":"3"}"#);
    let segments = Rejection::Malformed(Malformed::Segments);
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
    let wrong_length = Rejection::Malformed(Malformed::SignatureLength);
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
        Rejection::Malformed(Malformed::ClaimsNotObject)
    );
    let forged = format!("{header}..{}", "A".repeat(43));
    assert_eq!(verify_jws(&ring, &forged).unwrap_err(), Rejection::BadSignature);
}

/// `header_b64.payload_b64` and its MAC under the key of [`own_token`], the segments taken as
/// given.
fn signed_segments(header_b64: &str, payload_b64: &str) -> String {
    crate::helpers::signed_segments(&[5; 32], header_b64, payload_b64)
}

#[test]
fn a_payload_that_is_not_canonical_base64url_is_malformed_only_once_the_mac_holds() {
    let (ring, _, [own_header, _, _]) = own_token();
    // A header the ring does not issue, naming the same key: the path that parses headers.
    let other_header = crate::helpers::b64(br#"{"kid":"k1","alg":"HS256"}"#);
    let not_canonical = Rejection::Malformed(Malformed::PayloadEncoding);
    // A character outside the alphabet, non-zero trailing bits ("e30" is `{}`), a length of
    // 1 mod 4.
    for payload in ["e30!", "e31", "e30xA"] {
        for header in [&own_header, &other_header] {
            let token = signed_segments(header, payload);
            assert_eq!(verify_jws(&ring, &token).unwrap_err(), not_canonical, "{token}");
            assert_eq!(ring.verify::<Value>(&token, &lenient(), NOW).unwrap_err(), not_canonical);
            // The same token with a wrong signature: the bad signature is what is reported.
            let forged = format!("{}{}", &token[..token.len() - 43], "A".repeat(43));
            assert_eq!(verify_jws(&ring, &forged).unwrap_err(), Rejection::BadSignature, "{forged}");
        }
    }
}

#[test]
fn a_dot_inside_the_payload_segment_is_malformed_before_the_header_or_the_mac_is_judged() {
    let (ring, _, [own_header, payload, _]) = own_token();
    let segments = Rejection::Malformed(Malformed::Segments);
    let unknown_header = crate::helpers::b64(br#"{"alg":"HS256","kid":"nobody"}"#);
    let unsupported_header = crate::helpers::b64(br#"{"alg":"none"}"#);
    for header in [&own_header, &unknown_header, &unsupported_header] {
        // Four segments, correctly signed over the first three.
        let token = signed_segments(header, &format!("{payload}.{payload}"));
        assert_eq!(verify_jws(&ring, &token).unwrap_err(), segments, "{token}");
        assert_eq!(ring.verify::<Value>(&token, &lenient(), NOW).unwrap_err(), segments);
        // A dot where the payload's encoding would otherwise be canonical, and a wrong signature.
        let forged = format!("{header}.{payload}..{}", "A".repeat(43));
        assert_eq!(verify_jws(&ring, &forged).unwrap_err(), segments, "{forged}");
    }
}
