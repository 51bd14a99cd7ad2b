//! The benchmark measures real verification: every contender accepts the shared token, yields
//! the same claims, and refuses a tampered or expired one. The fixtures of the other groups are
//! what their names say.

#![forbid(unsafe_code)]

#[path = "../peers/mod.rs"]
mod peers;

use base64ct::{Base64UrlUnpadded, Encoding};
use tokenring::limits::TOKEN_LEN_MAX;
use tokenring::{Rejection, Scratch};
use tokenring_benches::{
    claims, decode_signature, malformed_token, padded_token, ring, sized_token, tampered_token, token, too_large_token,
    unknown_key_token, validation, BorrowedClaims, Claims, HmacFloor, SizedClaims, EXPIRES_AT_SECS, ISSUED_AT_SECS,
    KID, NOW_SECS, SIZES, TOKEN_LEN,
};

use peers::{JsonWebToken, JwtCompact, JwtSimple};

/// The fixture claims, expired long ago for every contender's clock (the wall clock included).
fn expired_token() -> String {
    let claims = serde_json::to_vec(&Claims { exp: 1_000_000_000, iat: 999_999_000, ..claims() });
    ring().sign_jws(&claims.expect("the fixture claims serialize"), ISSUED_AT_SECS).expect("the fixture claims sign")
}

#[test]
fn the_token_is_the_one_a_ring_issues() {
    let token = token();
    assert_eq!(token.len(), TOKEN_LEN);
    let header = Base64UrlUnpadded::decode_vec(token.split('.').next().unwrap()).unwrap();
    assert_eq!(header, format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{KID}"}}"#).into_bytes());
    let issued = ring().issue(&serde_json::json!({"sub": "1"}), 60, ISSUED_AT_SECS).unwrap();
    assert_eq!(issued.split('.').next(), token.split('.').next(), "sign and issue share the header");
}

#[test]
fn tokenring_accepts_the_fixture_and_refuses_tampering() {
    let ring = ring();
    let validation = validation();
    let verified = ring.verify::<Claims>(token(), &validation, NOW_SECS).unwrap();
    assert_eq!(verified.claims(), &claims());
    assert_eq!(verified.kid().unwrap().as_str(), KID);

    let mut scratch = Scratch::new();
    let token = token();
    let borrowed = ring.verify_borrowed::<BorrowedClaims<'_>>(&token, &validation, &mut scratch, NOW_SECS).unwrap();
    let expected = claims();
    assert_eq!(borrowed.claims().sub, expected.sub);
    assert_eq!(borrowed.claims().username, expected.username);
    assert_eq!(borrowed.claims().roles, ["admin", "user"]);
    assert_eq!((borrowed.claims().iat, borrowed.claims().exp), (ISSUED_AT_SECS, EXPIRES_AT_SECS));
    assert_eq!(borrowed.claims().jti, expected.jti);

    assert_eq!(ring.verify::<Claims>(tampered_token(), &validation, NOW_SECS).unwrap_err(), Rejection::BadSignature);
    assert_eq!(ring.verify::<Claims>(expired_token(), &validation, NOW_SECS).unwrap_err(), Rejection::Expired);
    let mut scratch = Scratch::new();
    let tampered = tampered_token();
    assert_eq!(
        ring.verify_borrowed::<BorrowedClaims<'_>>(&tampered, &validation, &mut scratch, NOW_SECS).unwrap_err(),
        Rejection::BadSignature
    );
}

#[test]
fn jsonwebtoken_accepts_the_fixture_and_refuses_tampering() {
    let peer = JsonWebToken::new();
    assert_eq!(peer.verify(&token()), Some(claims()));
    assert_eq!(peer.verify(&tampered_token()), None);
    assert_eq!(peer.verify(&expired_token()), None);
}

#[test]
fn jwt_simple_accepts_the_fixture_and_refuses_tampering() {
    let peer = JwtSimple::new();
    let verified = peer.verify(&token()).unwrap();
    let expected = claims();
    assert_eq!(verified.subject.as_deref(), Some(expected.sub.as_str()));
    assert_eq!(verified.jwt_id.as_deref(), Some(expected.jti.as_str()));
    assert_eq!(verified.issued_at.map(|at| at.as_secs()), Some(ISSUED_AT_SECS));
    assert_eq!(verified.expires_at.map(|at| at.as_secs()), Some(EXPIRES_AT_SECS));
    assert_eq!(verified.custom.username, expected.username);
    assert_eq!(verified.custom.roles, expected.roles);
    assert!(peer.verify(&tampered_token()).is_none());
    assert!(peer.verify(&expired_token()).is_none());
}

#[test]
fn jwt_compact_accepts_the_fixture_and_refuses_tampering() {
    let peer = JwtCompact::new();
    let verified = peer.verify(&token()).unwrap();
    assert_eq!(verified, JwtCompact::claims(&claims()));
    assert!(peer.verify(&tampered_token()).is_none());
    assert!(peer.verify(&expired_token()).is_none());
}

#[test]
fn the_floor_checks_the_mac_and_nothing_else() {
    let floor = HmacFloor::new();
    assert!(floor.verify(token().as_bytes()));
    assert!(!floor.verify(tampered_token().as_bytes()));
    assert!(!floor.verify(malformed_token().as_bytes()));
    // No claims are read: an expired token's MAC holds.
    assert!(floor.verify(expired_token().as_bytes()));
}

#[test]
fn the_floor_decodes_signatures_like_base64ct() {
    let token = token();
    let signature_b64 = token.rsplit('.').next().unwrap();
    let expected = Base64UrlUnpadded::decode_vec(signature_b64).unwrap();
    assert_eq!(decode_signature(signature_b64.as_bytes()).unwrap().as_slice(), expected.as_slice());
    for bad in [&signature_b64[1..], "+".repeat(43).as_str(), &format!("{}B", &signature_b64[..42])] {
        assert_eq!(decode_signature(bad.as_bytes()), None, "{bad}");
    }
    // Every byte of every position round-trips.
    for byte in 0..=255u8 {
        let mut bytes = [0u8; 32];
        bytes[(byte % 32) as usize] = byte;
        let encoded = Base64UrlUnpadded::encode_string(&bytes);
        assert_eq!(decode_signature(encoded.as_bytes()), Some(bytes));
    }
}

#[test]
fn every_signer_makes_a_token_tokenring_accepts() {
    let ring = ring();
    let validation = validation();
    let expected = claims();
    // `issue` signs lifetimes of at most ten years (the fixture's `exp` is far later) and adds
    // `nbf`, which `Claims` ignores.
    let issued = Claims { exp: ISSUED_AT_SECS + 3600, ..expected.clone() };
    let from_tokenring = ring.issue(&issued, 3600, ISSUED_AT_SECS).unwrap();
    let verified = ring.verify::<Claims>(&from_tokenring, &validation, NOW_SECS).map(|verified| verified.into_claims());
    assert_eq!(verified, Ok(issued));
    let signed = [
        ("tokenring", tokenring_benches::token()),
        ("jsonwebtoken", JsonWebToken::new().sign(&expected).unwrap()),
        ("jwt_simple", JwtSimple::new().sign(JwtSimple::claims(&expected)).unwrap()),
        ("jwt_compact", JwtCompact::new().sign(&JwtCompact::claims(&expected)).unwrap()),
    ];
    for (signer, token) in signed {
        let verified = ring.verify::<Claims>(&token, &validation, NOW_SECS);
        assert_eq!(verified.map(|verified| verified.into_claims()), Ok(expected.clone()), "{signer}");
    }
}

#[test]
fn rejection_fixtures_are_what_they_say() {
    let ring = ring();
    let validation = validation();
    let verify = |token: &str| ring.verify::<Claims>(token, &validation, NOW_SECS).map(|_| ());
    assert_eq!(verify(&tampered_token()), Err(Rejection::BadSignature));
    assert_eq!(verify(&unknown_key_token()), Err(Rejection::UnknownKey));
    assert!(matches!(verify(&malformed_token()), Err(Rejection::Malformed(_))));
    let too_large = too_large_token();
    assert_eq!(too_large.len(), TOKEN_LEN_MAX + 1);
    assert!(matches!(verify(&too_large), Err(Rejection::TooLarge(_))));
    // The same padding one byte shorter would be accepted: only the length is wrong.
    assert_eq!(verify(&padded_token(TOKEN_LEN_MAX - 1)), Ok(()));
}

#[test]
fn sized_tokens_have_their_sizes_and_verify() {
    let ring = ring();
    let validation = validation();
    let floor = HmacFloor::new();
    for size in SIZES {
        let token = sized_token(size);
        assert_eq!(token.len(), size);
        let verified = ring.verify::<SizedClaims>(&token, &validation, NOW_SECS).unwrap().into_claims();
        assert_eq!(verified, SizedClaims { sub: "1234567".to_owned(), exp: EXPIRES_AT_SECS });
        assert!(floor.verify(token.as_bytes()));
    }
}
