//! Tokens that name another algorithm are `unsupported-algorithm`, whatever their signature
//! looks like: the header is judged before the signature's shape.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;
use tokenring::{Key, KeyRing, Kid, Malformed, Rejection, Scratch, Validation};

use crate::ring::NOW;

fn ring() -> KeyRing {
    KeyRing::with_key(Key::from_bytes(&[7; 32]).unwrap(), Some(Kid::new("k1").unwrap()), NOW)
}

fn token(header: &str, signature: &[u8]) -> String {
    let payload = Base64UrlUnpadded::encode_string(br#"{"sub":"3","exp":4102444800}"#);
    format!(
        "{}.{payload}.{}",
        Base64UrlUnpadded::encode_string(header.as_bytes()),
        Base64UrlUnpadded::encode_string(signature)
    )
}

fn every_verdict(ring: &KeyRing, token: &str) -> [Rejection; 3] {
    let owned = ring.verify::<Value>(token, &Validation::new(), NOW).unwrap_err();
    let borrowed = ring.verify_borrowed::<Value>(token, &Validation::new(), &mut Scratch::new(), NOW).unwrap_err();
    let jws = ring.verify_jws(token, &mut Scratch::new(), NOW).unwrap_err();
    [owned, borrowed, jws]
}

#[test]
fn alg_none_with_an_empty_signature_is_an_unsupported_algorithm() {
    let ring = ring();
    for header in [r#"{"alg":"none"}"#, r#"{"alg":"none","kid":"k1"}"#, r#"{"alg":"None","typ":"JWT"}"#] {
        let unsigned = token(header, b"");
        assert_eq!(every_verdict(&ring, &unsigned), [Rejection::UnsupportedAlgorithm; 3], "{header}");
    }
}

#[test]
fn hs384_and_hs512_tokens_are_an_unsupported_algorithm_not_a_malformed_signature() {
    let ring = ring();
    for (alg, tag_len) in [("HS384", 48), ("HS512", 64), ("RS256", 256)] {
        let header = format!(r#"{{"alg":"{alg}","kid":"k1"}}"#);
        let other = token(&header, &vec![0x5a; tag_len]);
        assert_eq!(every_verdict(&ring, &other), [Rejection::UnsupportedAlgorithm; 3], "{alg}");
    }
}

#[test]
fn an_hs256_header_with_a_signature_of_the_wrong_length_is_still_malformed() {
    let ring = ring();
    let short = token(r#"{"alg":"HS256","kid":"k1"}"#, &[0x5a; 31]);
    assert_eq!(every_verdict(&ring, &short), [Rejection::Malformed(Malformed::SignatureLength); 3]);
}
