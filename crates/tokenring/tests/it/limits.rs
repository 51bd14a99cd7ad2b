//! Every constant in `tokenring::limits`, at and past its bound: what fits is accepted, and one
//! unit more is refused with its own error (`too-large` for tokens; the matching `KeyError`,
//! `KeySetError` or `SignError` for keys, key sets and durations).

use serde_json::{json, Value};
use tokenring::limits::{
    AUDIENCES_MAX, CLAIMS_MEMBERS_MAX, DURATION_SECS_MAX, HEADER_LEN_MAX, ISSUED_KIDS_MAX, JSON_DEPTH_MAX,
    KEYS_PER_RING_MAX, KEY_LEN_MAX, KEY_LEN_MIN, KEY_SET_LEN_MAX, KID_LEN_MAX, PAYLOAD_LEN_MAX, TOKEN_LEN_MAX,
};
use tokenring::{Key, KeyError, KeyRing, KeySetError, Rejection, Scratch, SignError, TooLarge, Validation};

use crate::helpers::{b64, jwk, lenient, load, ring, signed};
use crate::ring::NOW;

/// A claims object of exactly `len` bytes.
fn claims_of_len(len: usize) -> String {
    format!(r#"{{"pad":"{}"}}"#, "a".repeat(len - 10))
}

/// The length of `payload_len` bytes in base64url without padding.
fn encoded_len(payload_len: usize) -> usize {
    (payload_len * 4).div_ceil(3)
}

/// The longest payload whose token under a header segment of `header_b64_len` characters fits
/// `TOKEN_LEN_MAX`, checked to make a token of exactly that length.
fn payload_len_filling(header_b64_len: usize) -> usize {
    let room = TOKEN_LEN_MAX - header_b64_len - 2 - 43;
    let len = room * 3 / 4;
    assert_eq!(encoded_len(len), room, "a token of exactly TOKEN_LEN_MAX must be reachable");
    len
}

fn verify(token: &str) -> Result<Value, Rejection> {
    ring().verify::<Value>(token, &lenient(), NOW).map(|v| v.into_claims())
}

#[test]
fn token_length() {
    let payload = format!(r#"{{"pad":"{}"}}"#, "a".repeat(TOKEN_LEN_MAX));
    assert_eq!(ring().sign_jws(payload.as_bytes(), NOW).unwrap_err(), SignError::TooLarge);
    let token = signed(r#"{"alg":"HS256"}"#, &payload);
    assert!(token.len() > TOKEN_LEN_MAX);
    assert!(matches!(verify(&token), Err(Rejection::TooLarge(_))));
    assert!(matches!(verify(&"x".repeat(TOKEN_LEN_MAX + 1)), Err(Rejection::TooLarge(_))));
    // Just under the limit verifies.
    let fits = format!(r#"{{"pad":"{}"}}"#, "a".repeat(TOKEN_LEN_MAX / 4 * 3 - 200));
    let token = signed(r#"{"alg":"HS256"}"#, &fits);
    assert!(token.len() <= TOKEN_LEN_MAX);
    assert!(verify(&token).is_ok());
}

#[test]
fn a_token_of_exactly_the_length_limit_under_the_rings_own_header_verifies_and_one_more_byte_is_too_large() {
    let ring = ring();
    let own_header_len = ring.sign_jws(b"", NOW).unwrap().len() - 45;
    let payload = claims_of_len(payload_len_filling(own_header_len));
    let token = ring.sign_jws(payload.as_bytes(), NOW).unwrap();
    assert_eq!(token.len(), TOKEN_LEN_MAX);
    // Every entry point accepts it: `verify` and the fast path of `check_and_decode`.
    let claims = ring.verify::<Value>(&token, &lenient(), NOW).unwrap().into_claims();
    assert_eq!(claims.to_string(), payload);
    let mut scratch = Scratch::new();
    assert_eq!(*ring.verify_jws(&token, &mut scratch, NOW).unwrap().claims(), payload.as_bytes());
    assert!(ring.verify_borrowed::<Value>(&token, &lenient(), &mut scratch, NOW).is_ok());
    // One more payload byte makes the token one character longer (8112 = 4 * 2028): refused
    // when signing, and refused when verifying although its signature holds.
    let longer = claims_of_len(payload.len() + 1);
    assert_eq!(ring.sign_jws(longer.as_bytes(), NOW).unwrap_err(), SignError::TooLarge);
    let over = signed(r#"{"alg":"HS256","typ":"JWT"}"#, &longer);
    assert_eq!(over.len(), TOKEN_LEN_MAX + 1);
    assert!(over.starts_with(token.split('.').next().unwrap()), "the ring's own header: the fast path");
    let too_large = Rejection::TooLarge(TooLarge::Token);
    assert_eq!(ring.verify::<Value>(&over, &lenient(), NOW).unwrap_err(), too_large);
    assert_eq!(ring.verify_jws(&over, &mut scratch, NOW).unwrap_err(), too_large);
    assert_eq!(ring.verify_borrowed::<Value>(&over, &lenient(), &mut scratch, NOW).unwrap_err(), too_large);
}

#[test]
fn a_token_of_exactly_the_length_limit_under_a_foreign_header_verifies_and_one_more_byte_is_too_large() {
    // A header the ring did not write goes through the thorough path (`check_signature`).
    let header = r#"{"alg":"HS256"}"#;
    let payload = claims_of_len(payload_len_filling(b64(header.as_bytes()).len()));
    let token = signed(header, &payload);
    assert_eq!(token.len(), TOKEN_LEN_MAX);
    let ring = ring();
    assert!(ring.verify::<Value>(&token, &lenient(), NOW).is_ok());
    let mut scratch = Scratch::new();
    assert_eq!(*ring.verify_jws(&token, &mut scratch, NOW).unwrap().claims(), payload.as_bytes());
    assert!(ring.verify_borrowed::<Value>(&token, &lenient(), &mut scratch, NOW).is_ok());
    let over = signed(header, &claims_of_len(payload.len() + 1));
    assert_eq!(over.len(), TOKEN_LEN_MAX + 1);
    let too_large = Rejection::TooLarge(TooLarge::Token);
    assert_eq!(ring.verify::<Value>(&over, &lenient(), NOW).unwrap_err(), too_large);
    assert_eq!(ring.verify_jws(&over, &mut scratch, NOW).unwrap_err(), too_large);
}

#[test]
fn header_length() {
    let header = format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(HEADER_LEN_MAX));
    assert!(matches!(verify(&signed(&header, "{}")), Err(Rejection::TooLarge(_))));
    let header = format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(HEADER_LEN_MAX - 100));
    assert!(verify(&signed(&header, "{}")).is_ok());
}

#[test]
fn a_foreign_header_of_exactly_the_header_limit_is_read_and_one_more_byte_is_too_large() {
    let header = |len: usize| format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(len - 22));
    assert_eq!(header(HEADER_LEN_MAX).len(), HEADER_LEN_MAX);
    let ring = ring();
    assert!(ring.verify::<Value>(signed(&header(HEADER_LEN_MAX), "{}"), &lenient(), NOW).is_ok());
    assert_eq!(
        ring.verify::<Value>(signed(&header(HEADER_LEN_MAX + 1), "{}"), &lenient(), NOW).unwrap_err(),
        Rejection::TooLarge(TooLarge::Header)
    );
}

/// The header segment's length is checked on its encoded form, before a byte is decoded: an
/// oversized segment that is not even base64url is `too-large`, not `malformed`.
#[test]
fn an_oversized_header_segment_is_too_large_before_it_is_decoded() {
    let ring = ring();
    let oversized = "!".repeat(4 * HEADER_LEN_MAX / 3 + 4);
    let token = crate::helpers::signed_segments(&[5; 32], &oversized, "e30");
    assert_eq!(ring.verify::<Value>(&token, &lenient(), NOW).unwrap_err(), Rejection::TooLarge(TooLarge::Header));
    assert_eq!(ring.verify_jws(&token, &mut Scratch::new(), NOW).unwrap_err(), Rejection::TooLarge(TooLarge::Header));
    // The same characters within the limit are what decoding refuses.
    let token = crate::helpers::signed_segments(&[5; 32], "!!!!", "e30");
    assert_eq!(
        ring.verify_jws(&token, &mut Scratch::new(), NOW).unwrap_err(),
        Rejection::Malformed(tokenring::Malformed::HeaderEncoding)
    );
}

#[test]
fn kid_length() {
    let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(KID_LEN_MAX + 1));
    assert!(matches!(verify(&signed(&header, "{}")), Err(Rejection::TooLarge(_))));
    let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(KID_LEN_MAX));
    assert!(verify(&signed(&header, "{}")).is_ok(), "a ring of one key without a kid takes any kid");
}

#[test]
fn json_depth() {
    let nested = |depth: usize| format!(r#"{{"a":{}{}}}"#, "[".repeat(depth - 1), "]".repeat(depth - 1));
    assert!(verify(&signed(r#"{"alg":"HS256"}"#, &nested(JSON_DEPTH_MAX))).is_ok());
    assert!(matches!(verify(&signed(r#"{"alg":"HS256"}"#, &nested(JSON_DEPTH_MAX + 1))), Err(Rejection::TooLarge(_))));
    let header = format!(r#"{{"alg":"HS256","x":{}{}}}"#, "[".repeat(JSON_DEPTH_MAX), "]".repeat(JSON_DEPTH_MAX));
    assert!(matches!(verify(&signed(&header, "{}")), Err(Rejection::TooLarge(_))));
    // Far deeper than serde_json's own recursion limit: still a typed rejection, no stack overflow.
    let deep = format!(r#"{{"a":{}"#, "[".repeat(TOKEN_LEN_MAX / 2));
    assert!(matches!(verify(&signed(r#"{"alg":"HS256"}"#, &deep)), Err(Rejection::TooLarge(_))));
    // An array is no claims object, however deep.
    let deep = "[".repeat(TOKEN_LEN_MAX / 2);
    assert!(matches!(verify(&signed(r#"{"alg":"HS256"}"#, &deep)), Err(Rejection::Malformed(_))));
}

#[test]
fn claims_members() {
    let claims = |count: usize| {
        let members: Vec<String> = (0..count).map(|i| format!(r#""c{i}":{i}"#)).collect();
        format!("{{{}}}", members.join(","))
    };
    assert!(verify(&signed(r#"{"alg":"HS256"}"#, &claims(CLAIMS_MEMBERS_MAX))).is_ok());
    assert!(matches!(
        verify(&signed(r#"{"alg":"HS256"}"#, &claims(CLAIMS_MEMBERS_MAX + 1))),
        Err(Rejection::TooLarge(_))
    ));
    // `issue` adds the times the claims lack: it signs only what stays within the limit, and
    // what it signs verifies.
    let ring = ring();
    let issue = |claims: &str, count: usize| {
        let claims: Value = serde_json::from_str(claims).unwrap();
        assert_eq!(claims.as_object().unwrap().len(), count);
        ring.issue(&claims, 60, NOW)
    };
    let fits = issue(&claims(CLAIMS_MEMBERS_MAX - 3), CLAIMS_MEMBERS_MAX - 3).unwrap();
    let verified = ring.verify::<Value>(&fits, &Validation::new(), NOW).unwrap();
    assert_eq!(verified.claims().as_object().unwrap().len(), CLAIMS_MEMBERS_MAX);
    assert_eq!(issue(&claims(CLAIMS_MEMBERS_MAX - 2), CLAIMS_MEMBERS_MAX - 2).unwrap_err(), SignError::TooLarge);
    // Claims that carry their own times take fewer added members.
    let with_exp = format!(r#"{{"exp":{},{}"#, NOW + 60, &claims(CLAIMS_MEMBERS_MAX - 3)[1..]);
    let fits = issue(&with_exp, CLAIMS_MEMBERS_MAX - 2).unwrap();
    let verified = ring.verify::<Value>(&fits, &Validation::new(), NOW).unwrap();
    assert_eq!(verified.claims().as_object().unwrap().len(), CLAIMS_MEMBERS_MAX);
    assert_eq!(verified.expires_at(), Some(NOW + 60));
}

#[test]
fn audiences() {
    let validation = Validation::new().require_exp(false).audience("a0");
    let audiences =
        |count: usize| json!({ "aud": (0..count).map(|i| format!("a{i}")).collect::<Vec<_>>() }).to_string();
    let ok = signed(r#"{"alg":"HS256"}"#, &audiences(AUDIENCES_MAX));
    assert!(ring().verify::<Value>(&ok, &validation, NOW).is_ok());
    let too_many = signed(r#"{"alg":"HS256"}"#, &audiences(AUDIENCES_MAX + 1));
    assert!(matches!(ring().verify::<Value>(&too_many, &validation, NOW), Err(Rejection::TooLarge(_))));
}

#[test]
fn key_lengths() {
    assert_eq!(Key::from_bytes(&[1; KEY_LEN_MIN - 1]).unwrap_err(), KeyError::TooShort { bits: 248 });
    assert!(Key::from_bytes(&[1; KEY_LEN_MAX]).is_ok());
    assert!(matches!(Key::from_bytes(&[1; KEY_LEN_MAX + 1]), Err(KeyError::TooLong { .. })));
}

#[test]
fn a_jwk_secret_of_exactly_the_key_limit_loads_and_one_character_more_is_too_long() {
    let longest = b64(&[9; KEY_LEN_MAX]);
    assert_eq!(longest.len(), 683);
    let ring = load(vec![json!({ "kty": "oct", "k": longest })]).unwrap();
    assert_eq!(ring.keys(NOW)[0].bits, KEY_LEN_MAX * 8);
    // Refused on its length alone, before it is decoded; the bits are those of 684 characters.
    let longer = format!("{longest}A");
    assert_eq!(
        load(vec![json!({ "kty": "oct", "k": longer })]).unwrap_err(),
        KeySetError::Key { index: 0, error: KeyError::TooLong { bits: 684 * 6 } }
    );
}

#[test]
fn keys_per_ring() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let rotation = tokenring::Rotation::new().propagation_secs(0).overlap_secs(1_000_000).forget_after_secs(1_000_000);
    for i in 1..KEYS_PER_RING_MAX as u64 {
        ring.rotate(&rotation, NOW + i).unwrap();
    }
    assert_eq!(ring.keys(NOW).len(), KEYS_PER_RING_MAX);
    assert_eq!(ring.rotate(&rotation, NOW + 100).unwrap_err(), KeyError::RingFull);
    // Retired keys are still held; once they are forgotten, rotation prunes them and succeeds.
    assert_eq!(ring.rotate(&rotation, NOW + 1_000_100).unwrap_err(), KeyError::RingFull);
    assert!(ring.rotate(&rotation, NOW + 2_000_100).is_ok());
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
fn a_key_set_of_exactly_the_ring_limit_loads_and_one_key_more_is_too_many() {
    let keys: Vec<Value> =
        (0..KEYS_PER_RING_MAX).map(|index| jwk(index as u8, &format!("k{index}"), json!({}))).collect();
    assert_eq!(load(keys.clone()).unwrap().keys(NOW).len(), KEYS_PER_RING_MAX);
    let mut more = keys;
    more.push(jwk(99, "one-more", json!({})));
    assert_eq!(load(more).unwrap_err(), KeySetError::TooManyKeys);
}

#[test]
fn a_key_set_document_of_exactly_its_length_limit_loads_and_one_byte_more_is_too_large() {
    let mut document = ring().to_jwk_set().as_bytes().to_vec();
    document.resize(KEY_SET_LEN_MAX, b' ');
    assert!(KeyRing::from_jwk_set(&document).unwrap().can_sign(NOW));
    document.push(b' ');
    assert_eq!(KeyRing::from_jwk_set(&document).unwrap_err(), KeySetError::TooLarge);
}

#[test]
fn an_issued_history_of_exactly_its_limit_loads_and_one_more_is_refused() {
    let kids: Vec<String> = (0..=ISSUED_KIDS_MAX).map(|index| format!("kid-{index}")).collect();
    let document = |count: usize| {
        json!({ "keys": [jwk(1, "kid-0", json!({}))], "issued_kids": kids[..count] }).to_string().into_bytes()
    };
    let ring = KeyRing::from_jwk_set(&document(ISSUED_KIDS_MAX)).unwrap();
    assert_eq!(ring.issued_kids().len(), ISSUED_KIDS_MAX);
    assert_eq!(ring.issued_kids()[ISSUED_KIDS_MAX - 1].as_str(), format!("kid-{}", ISSUED_KIDS_MAX - 1));
    assert_eq!(KeyRing::from_jwk_set(&document(ISSUED_KIDS_MAX + 1)).unwrap_err(), KeySetError::InvalidIssuedKids);
}

#[test]
fn rotation_accepts_an_overlap_of_exactly_the_duration_limit_and_refuses_one_second_more() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let first = ring.active_kid(NOW).unwrap();
    assert_eq!(
        ring.rotate(&tokenring::Rotation::new().propagation_secs(0).overlap_secs(DURATION_SECS_MAX + 1), NOW)
            .unwrap_err(),
        KeyError::DurationTooLong { secs: DURATION_SECS_MAX + 1 }
    );
    assert_eq!(ring.active_kid(NOW), Some(first), "a refused rotation changes nothing");
    ring.rotate(&tokenring::Rotation::new().propagation_secs(0).overlap_secs(DURATION_SECS_MAX), NOW).unwrap();
    let previous = ring.keys(NOW).into_iter().find(|info| info.kid == Some(first)).unwrap();
    assert_eq!(previous.retire_at_secs, Some(NOW + DURATION_SECS_MAX));
}

#[test]
fn issue_accepts_a_ttl_of_exactly_the_duration_limit_and_refuses_one_second_more() {
    let ring = ring();
    assert_eq!(
        ring.issue(&json!({"sub": "3"}), DURATION_SECS_MAX + 1, NOW).unwrap_err(),
        SignError::DurationTooLong { secs: DURATION_SECS_MAX + 1 }
    );
    let token = ring.issue(&json!({"sub": "3"}), DURATION_SECS_MAX, NOW).unwrap();
    let verified = ring.verify::<Value>(&token, &Validation::new(), NOW).unwrap();
    assert_eq!(verified.expires_at(), Some(NOW + DURATION_SECS_MAX));
}

#[test]
fn payload_larger_than_the_scratch_cannot_exist() {
    // The payload bound follows from the token bound: a token that fits always fits the scratch.
    let fits = format!(r#"{{"pad":"{}"}}"#, "a".repeat(TOKEN_LEN_MAX / 4 * 3 - 200));
    let token = signed(r#"{"alg":"HS256"}"#, &fits);
    let mut scratch = Scratch::new();
    assert!(ring().verify_jws(&token, &mut scratch, NOW).is_ok());
}

#[test]
fn the_payload_limit_is_the_largest_payload_a_token_of_the_length_limit_can_carry() {
    assert!(encoded_len(PAYLOAD_LEN_MAX) <= TOKEN_LEN_MAX);
    assert!(encoded_len(PAYLOAD_LEN_MAX + 1) > TOKEN_LEN_MAX);
}

#[test]
fn issue_refuses_an_expiry_past_the_largest_time_instead_of_capping_it() {
    let ring = ring();
    assert_eq!(ring.issue(&json!({"sub": "3"}), 1, u64::MAX).unwrap_err(), SignError::TimeOverflow);
    assert_eq!(ring.issue(&json!({"sub": "3"}), 60, u64::MAX - 59).unwrap_err(), SignError::TimeOverflow);
    let token = ring.issue(&json!({"sub": "3"}), 60, u64::MAX - 60).unwrap();
    let verified = ring.verify::<Value>(&token, &Validation::new(), u64::MAX - 60).unwrap();
    assert_eq!(verified.expires_at(), Some(u64::MAX));
}
