//! Text in headers and claims: invalid UTF-8 and lone surrogates are `malformed` wherever they
//! stand, in members the parsers skip too; proper escapes are accepted.

use serde::Deserialize;
use serde_json::Value;
use tokenring::{Key, KeyRing, Rejection, Validation};

use crate::helpers::signed_with;
use crate::ring::NOW;

/// A token with exactly these header and payload bytes, correctly signed with `[7; 32]`.
fn signed(header: &[u8], payload: &[u8]) -> String {
    signed_with(&[7; 32], header, payload)
}

fn ring() -> KeyRing {
    KeyRing::with_key(Key::from_bytes(&[7; 32]).unwrap(), None, NOW)
}

/// The parsers skip members they do not need without decoding them, so text validity is
/// checked for the whole header and payload before parsing.
#[test]
fn invalid_utf8_inside_a_skipped_header_member_is_malformed() {
    let token = signed(b"{\"alg\":\"HS256\",\"jwk\":{\"k\":\"\xC1\"}}", br#"{"exp":4102444800}"#);
    assert!(matches!(ring().verify::<Value>(&token, &Validation::new(), NOW), Err(Rejection::Malformed(_))));
}

#[test]
fn lone_surrogate_inside_a_skipped_header_member_is_malformed() {
    let token = signed(br#"{"alg":"HS256","jwk":{"k":"\uD800"}}"#, br#"{"exp":4102444800}"#);
    assert!(matches!(ring().verify::<Value>(&token, &Validation::new(), NOW), Err(Rejection::Malformed(_))));
    let trailing = signed(br#"{"alg":"HS256","x":"\uDC00"}"#, br#"{"exp":4102444800}"#);
    assert!(matches!(ring().verify::<Value>(&trailing, &Validation::new(), NOW), Err(Rejection::Malformed(_))));
}

#[test]
fn invalid_text_in_an_ignored_claim_is_malformed() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Session {
        sub: String,
    }
    let validation = Validation::new();
    let utf8 = signed(br#"{"alg":"HS256"}"#, b"{\"sub\":\"3\",\"x\":\"\xC1\",\"exp\":4102444800}");
    assert!(matches!(ring().verify::<Session>(&utf8, &validation, NOW), Err(Rejection::Malformed(_))));
    let surrogate = signed(br#"{"alg":"HS256"}"#, br#"{"sub":"3","x":"\uD83D","exp":4102444800}"#);
    assert!(matches!(ring().verify::<Session>(&surrogate, &validation, NOW), Err(Rejection::Malformed(_))));
}

#[test]
fn proper_escapes_are_still_accepted() {
    let token = signed(br#"{"alg":"HS256","x":"\\uD800"}"#, br#"{"sub":"\uD83D\uDE00 \\\" \n","exp":4102444800}"#);
    let verified = ring().verify::<Value>(&token, &Validation::new(), NOW).unwrap();
    assert_eq!(verified.claims()["sub"], "\u{1F600} \\\" \n");
}
