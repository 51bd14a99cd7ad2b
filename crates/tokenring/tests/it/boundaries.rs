//! Limit boundaries and small accessors, pinned at the exact value (found by mutation testing:
//! see docs/testing.md).

use base64ct::Encoding as _;
use serde_json::{json, Value};
use tokenring::limits::{
    DURATION_SECS_MAX, HEADER_LEN_MAX, ISSUED_KIDS_MAX, KEYS_PER_RING_MAX, KEY_LEN_MAX, KEY_SET_LEN_MAX, KID_LEN_MAX,
    PAYLOAD_LEN_MAX, TOKEN_LEN_MAX,
};
use tokenring::{
    Entropy, FileStore, Key, KeyError, KeyRing, KeySetError, KeyState, Kid, Rejection, Scratch, SignError, StoreError,
    StoreOp, Validation,
};

use crate::persistence::temp_dir;
use crate::ring::NOW;

const SECRET: [u8; 32] = [5; 32];

/// A ring of one key without a `kid`: it signs under the header `{"alg":"HS256","typ":"JWT"}`.
fn ring() -> KeyRing {
    KeyRing::with_key(Key::from_bytes(&SECRET).unwrap(), None, NOW)
}

fn b64(bytes: &[u8]) -> String {
    base64ct::Base64UrlUnpadded::encode_string(bytes)
}

/// The MAC of `signing_input` under `SECRET`, encoded.
fn signature(signing_input: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&SECRET).unwrap();
    mac.update(signing_input.as_bytes());
    b64(&mac.finalize().into_bytes())
}

/// A token with the given header and payload, correctly signed with `SECRET`.
fn signed(header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    format!("{input}.{}", signature(&input))
}

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

fn lenient() -> Validation {
    Validation::new().require_exp(false)
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
    assert_eq!(ring.verify_jws(&token, NOW, &mut scratch).unwrap().payload(), payload.as_bytes());
    assert!(ring.verify_borrowed::<Value>(&token, &lenient(), NOW, &mut scratch).is_ok());
    // One more payload byte makes the token one character longer (8112 = 4 * 2028): refused
    // when signing, and refused when verifying although its signature holds.
    let longer = claims_of_len(payload.len() + 1);
    assert_eq!(ring.sign_jws(longer.as_bytes(), NOW).unwrap_err(), SignError::TooLarge);
    // `sign` serializes the same claims into the same token, and refuses the longer ones too.
    assert_eq!(ring.sign(&serde_json::from_str::<Value>(&payload).unwrap(), NOW).unwrap(), token);
    assert_eq!(ring.sign(&serde_json::from_str::<Value>(&longer).unwrap(), NOW).unwrap_err(), SignError::TooLarge);
    let over = signed(r#"{"alg":"HS256","typ":"JWT"}"#, &longer);
    assert_eq!(over.len(), TOKEN_LEN_MAX + 1);
    assert!(over.starts_with(token.split('.').next().unwrap()), "the ring's own header: the fast path");
    let too_large = Rejection::TooLarge("the token exceeds its length limit");
    assert_eq!(ring.verify::<Value>(&over, &lenient(), NOW).unwrap_err(), too_large);
    assert_eq!(ring.verify_jws(&over, NOW, &mut scratch).unwrap_err(), too_large);
    assert_eq!(ring.verify_borrowed::<Value>(&over, &lenient(), NOW, &mut scratch).unwrap_err(), too_large);
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
    assert_eq!(ring.verify_jws(&token, NOW, &mut scratch).unwrap().payload(), payload.as_bytes());
    assert!(ring.verify_borrowed::<Value>(&token, &lenient(), NOW, &mut scratch).is_ok());
    let over = signed(header, &claims_of_len(payload.len() + 1));
    assert_eq!(over.len(), TOKEN_LEN_MAX + 1);
    let too_large = Rejection::TooLarge("the token exceeds its length limit");
    assert_eq!(ring.verify::<Value>(&over, &lenient(), NOW).unwrap_err(), too_large);
    assert_eq!(ring.verify_jws(&over, NOW, &mut scratch).unwrap_err(), too_large);
}

#[test]
fn a_detached_token_whose_attached_form_is_exactly_the_length_limit_verifies() {
    // The attached form goes through `check_signature` directly, without the fast path.
    let ring = ring();
    let header = ring.sign_jws(b"", NOW).unwrap().split('.').next().unwrap().to_owned();
    let payload = claims_of_len(payload_len_filling(header.len()));
    let attached = ring.sign_jws(payload.as_bytes(), NOW).unwrap();
    assert_eq!(attached.len(), TOKEN_LEN_MAX);
    let detached = format!("{header}..{}", attached.rsplit('.').next().unwrap());
    assert_eq!(ring.verify_detached(&detached, payload.as_bytes(), NOW).unwrap().payload(), payload.as_bytes());
    let longer = claims_of_len(payload.len() + 1);
    assert_eq!(
        ring.verify_detached(&detached, longer.as_bytes(), NOW).unwrap_err(),
        Rejection::TooLarge("the token exceeds its length limit")
    );
}

#[test]
fn a_foreign_header_of_exactly_the_header_limit_is_read_and_one_more_byte_is_too_large() {
    let header = |len: usize| format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(len - 22));
    assert_eq!(header(HEADER_LEN_MAX).len(), HEADER_LEN_MAX);
    let ring = ring();
    assert!(ring.verify::<Value>(signed(&header(HEADER_LEN_MAX), "{}"), &lenient(), NOW).is_ok());
    assert_eq!(
        ring.verify::<Value>(signed(&header(HEADER_LEN_MAX + 1), "{}"), &lenient(), NOW).unwrap_err(),
        Rejection::TooLarge("the header exceeds its length limit")
    );
}

#[test]
fn the_payload_limit_is_the_largest_payload_a_token_of_the_length_limit_can_carry() {
    assert!(encoded_len(PAYLOAD_LEN_MAX) <= TOKEN_LEN_MAX);
    assert!(encoded_len(PAYLOAD_LEN_MAX + 1) > TOKEN_LEN_MAX);
}

/// A token under the ring's own header, its three segments, and the ring.
fn own_token() -> (KeyRing, String, [String; 3]) {
    let ring = KeyRing::with_key(Key::from_bytes(&SECRET).unwrap(), Some(Kid::new("k1").unwrap()), NOW);
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

#[test]
fn rotation_accepts_an_overlap_of_exactly_the_duration_limit_and_refuses_one_second_more() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let first = ring.active_kid(NOW).unwrap();
    assert_eq!(
        ring.rotate(NOW, &tokenring::Rotation::new().propagation_secs(0).overlap_secs(DURATION_SECS_MAX + 1))
            .unwrap_err(),
        KeyError::DurationTooLong
    );
    assert_eq!(ring.active_kid(NOW), Some(first), "a refused rotation changes nothing");
    ring.rotate(NOW, &tokenring::Rotation::new().propagation_secs(0).overlap_secs(DURATION_SECS_MAX)).unwrap();
    let previous = ring.keys(NOW).into_iter().find(|info| info.kid == Some(first)).unwrap();
    assert_eq!(previous.retire_at_secs, Some(NOW + DURATION_SECS_MAX));
}

#[test]
fn issue_accepts_a_ttl_of_exactly_the_duration_limit_and_refuses_one_second_more() {
    let ring = ring();
    assert_eq!(ring.issue(&json!({"sub": "3"}), NOW, DURATION_SECS_MAX + 1).unwrap_err(), SignError::TtlTooLong);
    let token = ring.issue(&json!({"sub": "3"}), NOW, DURATION_SECS_MAX).unwrap();
    let verified = ring.verify::<Value>(&token, &Validation::new(), NOW).unwrap();
    assert_eq!(verified.expires_at(), Some(NOW + DURATION_SECS_MAX));
}

/// Fills each request with one byte repeated, taken in turn from `seeds`; fails when they run out.
struct Scripted {
    seeds: Vec<u8>,
    next: usize,
}

impl Scripted {
    fn new(seeds: &[u8]) -> Self {
        Self { seeds: seeds.to_vec(), next: 0 }
    }
}

impl Entropy for Scripted {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), KeyError> {
        let seed = *self.seeds.get(self.next).ok_or(KeyError::Entropy)?;
        self.next += 1;
        dest.fill(seed);
        Ok(())
    }
}

fn kid_from(seed: u8) -> Kid {
    Kid::generate(&mut Scripted::new(&[seed])).unwrap()
}

#[test]
fn rotation_never_reuses_the_kid_of_a_pruned_key() {
    // Seeds alternate key, kid: the third rotation's first kid is the pruned first key's.
    let mut entropy = Scripted::new(&[1, 10, 2, 11, 3, 10, 12]);
    let mut ring = KeyRing::generate_with(NOW, &mut entropy).unwrap();
    assert_eq!(ring.active_kid(NOW), Some(kid_from(10)));
    let rotation = tokenring::Rotation::new().propagation_secs(0).overlap_secs(0).forget_after_secs(0);
    assert_eq!(ring.rotate_with(NOW, &rotation, &mut entropy).unwrap(), kid_from(11));
    // The first key retired and was forgotten at NOW and is pruned now; its kid is only in the
    // issued history.
    let third = ring.rotate_with(NOW + 1, &rotation, &mut entropy).unwrap();
    assert!(ring.keys(NOW + 1).iter().all(|info| info.kid != Some(kid_from(10))));
    assert_eq!(third, kid_from(12));
    assert_eq!(ring.issued_kids(), [kid_from(10), kid_from(11), kid_from(12)]);
}

#[test]
fn rotation_never_reuses_the_kid_of_a_held_key() {
    let mut entropy = Scripted::new(&[1, 10, 2, 10, 11]);
    let mut ring = KeyRing::generate_with(NOW, &mut entropy).unwrap();
    assert_eq!(ring.rotate_with(NOW, &tokenring::Rotation::new(), &mut entropy).unwrap(), kid_from(11));
}

#[test]
fn a_failing_entropy_source_fails_through_a_mutable_reference() {
    struct Failing;
    impl Entropy for Failing {
        fn fill(&mut self, _: &mut [u8]) -> Result<(), KeyError> {
            Err(KeyError::Entropy)
        }
    }
    let mut failing = Failing;
    let mut by_reference = &mut failing;
    assert_eq!(Key::generate(&mut by_reference).unwrap_err(), KeyError::Entropy);
    assert_eq!(KeyRing::generate_with(NOW, &mut by_reference).unwrap_err(), KeyError::Entropy);
    let mut dynamic: &mut dyn Entropy = &mut Failing;
    assert_eq!(Kid::generate(&mut dynamic).unwrap_err(), KeyError::Entropy);
    // And a working one hands its bytes through.
    let mut scripted = Scripted::new(&[7]);
    let mut by_reference = &mut scripted;
    assert_eq!(Key::generate(&mut by_reference).unwrap().expose_secret(), &[7; 32]);
}

/// A JWK for a 32-byte key of `byte`s, with the given `kid` and extra members.
fn jwk(byte: u8, kid: &str, extra: Value) -> Value {
    let mut key = json!({ "kty": "oct", "k": b64(&[byte; 32]), "kid": kid });
    for (name, value) in extra.as_object().unwrap() {
        key[name] = value.clone();
    }
    key
}

fn load(keys: Vec<Value>) -> Result<KeyRing, KeySetError> {
    KeyRing::from_jwk_set(json!({ "keys": keys }).to_string().as_bytes())
}

#[test]
fn key_states_read_as_their_names() {
    assert_eq!(KeyState::Active.as_str(), "active");
    assert_eq!(KeyState::Pending.as_str(), "pending");
    assert_eq!(KeyState::Retiring.as_str(), "retiring");
    assert_eq!(KeyState::Revoked.as_str(), "revoked");
    assert_eq!(KeyState::Forgotten.as_str(), "forgotten");
    assert_eq!(KeyState::Retired.as_str(), "retired");
}

#[test]
fn keys_are_classified_and_ordered_active_retiring_retired_newest_first() {
    // The active key (newest without retire_at) is first in the document, not last.
    let ring = load(vec![
        jwk(1, "active", json!({"created_at": 300})),
        jwk(2, "retired-old", json!({"created_at": 100, "retire_at": NOW - 10})),
        jwk(3, "retired-now", json!({"created_at": 200, "retire_at": NOW})),
        jwk(4, "retiring", json!({"created_at": 50, "retire_at": NOW + 100})),
    ])
    .unwrap();
    let infos = ring.keys(NOW);
    let seen: Vec<(&str, KeyState)> =
        infos.iter().map(|info| (info.kid.as_ref().unwrap().as_str(), info.state)).collect();
    assert_eq!(
        seen,
        [
            ("active", KeyState::Active),
            ("retiring", KeyState::Retiring),
            ("retired-now", KeyState::Retired),
            ("retired-old", KeyState::Retired),
        ]
    );
    assert!(infos.iter().all(|info| info.bits == 256));
}

#[test]
fn prune_drops_every_forgotten_key_at_once_and_counts_them_when_the_active_key_comes_first() {
    let mut ring = load(vec![
        jwk(1, "active", json!({"created_at": 300})),
        jwk(2, "forgotten-old", json!({"created_at": 100, "retire_at": NOW - 20, "forget_at": NOW - 10})),
        jwk(3, "forgotten-now", json!({"created_at": 200, "retire_at": NOW - 20, "forget_at": NOW})),
        jwk(4, "retired", json!({"created_at": 50, "retire_at": NOW - 20, "forget_at": NOW + 100})),
    ])
    .unwrap();
    assert_eq!(ring.prune(NOW), 2);
    let left: Vec<String> = ring.keys(NOW).iter().map(|info| info.kid.unwrap().to_string()).collect();
    assert_eq!(left, ["active", "retired"]);
    assert_eq!(ring.active_kid(NOW).unwrap().as_str(), "active");
    assert_eq!(ring.prune(NOW), 0);
    assert_eq!(ring.prune(NOW + 100), 1);
    assert_eq!(ring.issued_kids().len(), 4, "pruning keeps every identifier");
}

#[test]
fn a_ring_whose_keys_all_retired_cannot_sign() {
    let ring = load(vec![
        jwk(1, "a", json!({"created_at": 1, "retire_at": NOW + 10})),
        jwk(2, "b", json!({"created_at": 2, "retire_at": NOW + 20})),
    ])
    .unwrap();
    // Until its retire time, the most recently activated key signs.
    assert_eq!(ring.active_kid(NOW + 19).unwrap().as_str(), "b");
    assert!(!ring.can_sign(NOW + 20));
    assert_eq!(ring.active_kid(NOW + 20), None);
    assert_eq!(ring.sign_jws(b"{}", NOW + 20).unwrap_err(), SignError::NoActiveKey);
    assert!(ring.keys(NOW + 20).iter().all(|info| info.state == KeyState::Retired));
    assert!(load(vec![jwk(1, "a", json!({}))]).unwrap().can_sign(NOW));
}

#[test]
fn key_bits_count_every_byte() {
    assert_eq!(Key::from_bytes(&[1; 32]).unwrap().bits(), 256);
    assert_eq!(Key::from_bytes(&[1; 33]).unwrap().bits(), 264);
    assert_eq!(Key::from_bytes(&[1; KEY_LEN_MAX]).unwrap().bits(), KEY_LEN_MAX * 8);
    assert_eq!(ring().keys(NOW)[0].bits, 256);
}

#[test]
fn kids_and_scratch_debug_print_as_documented() {
    assert_eq!(format!("{:?}", Kid::new("key-1").unwrap()), r#"Kid("key-1")"#);
    assert_eq!(format!("{:?}", Scratch::new()), "Scratch { .. }");
}

#[test]
fn a_key_set_of_exactly_the_ring_limit_loads() {
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
fn key_ops_must_allow_verifying() {
    for ops in [json!(["verify"]), json!(["sign", "verify"])] {
        assert!(load(vec![jwk(1, "a", json!({ "key_ops": ops }))]).is_ok(), "{ops}");
    }
    for ops in [json!(["sign"]), json!([]), json!("verify"), json!([["verify"]])] {
        let refused = load(vec![jwk(1, "a", json!({})), jwk(2, "b", json!({ "key_ops": ops }))]).unwrap_err();
        assert_eq!(refused, KeySetError::UnsupportedAlgorithm { index: 1 }, "{ops}");
    }
}

#[test]
fn a_key_whose_key_ops_do_not_list_sign_verifies_but_never_signs() {
    // The newest key without a retire time would be active, but its `key_ops` forbid signing.
    let set = vec![
        jwk(1, "old", json!({ "created_at": 10 })),
        jwk(2, "new", json!({ "created_at": 20, "key_ops": ["verify"] })),
    ];
    let ring = load(set).unwrap();
    assert_eq!(ring.active_kid(NOW).unwrap().as_str(), "old");
    let states: Vec<_> = ring.keys(NOW).iter().map(|info| (info.kid.unwrap().to_string(), info.state)).collect();
    assert_eq!(states, [("old".to_owned(), KeyState::Active), ("new".to_owned(), KeyState::Retiring)]);
    // The mark survives a save and a load, so the choice does not change across restarts.
    let document = ring.to_jwk_set();
    assert!(document.contains(r#""kid":"new","k":"#) && document.matches(r#""key_ops":["verify"]"#).count() == 1);
    assert_eq!(KeyRing::from_jwk_set(document.as_bytes()).unwrap().active_kid(NOW), ring.active_kid(NOW));
    // Listing `sign` as well makes it an ordinary key; with only verify-only keys nothing signs.
    let signing = load(vec![jwk(2, "new", json!({ "created_at": 20, "key_ops": ["verify", "sign"] }))]).unwrap();
    assert_eq!(signing.active_kid(NOW).unwrap().as_str(), "new");
    let verify_only = load(vec![jwk(2, "new", json!({ "key_ops": ["verify"] }))]).unwrap();
    assert!(!verify_only.can_sign(NOW));
    assert_eq!(verify_only.sign(&json!({ "sub": "1" }), NOW).unwrap_err(), tokenring::SignError::NoActiveKey);
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

/// The largest ring: every key as long as allowed, with the longest `kid` and timestamps, and
/// `history` more identifiers of the longest length.
fn largest_ring(history: usize) -> KeyRing {
    let kid = |index: usize| format!("{index:0>width$}", width = KID_LEN_MAX);
    let keys: Vec<Value> = (0..KEYS_PER_RING_MAX)
        .map(|index| {
            json!({
                "kty": "oct", "use": "sig", "alg": "HS256", "kid": kid(index), "k": b64(&[index as u8; KEY_LEN_MAX]),
                "created_at": u64::MAX, "retire_at": u64::MAX,
            })
        })
        .collect();
    let issued: Vec<String> = (KEYS_PER_RING_MAX..KEYS_PER_RING_MAX + history).map(kid).collect();
    KeyRing::from_jwk_set(json!({ "keys": keys, "issued_kids": issued }).to_string().as_bytes()).unwrap()
}

#[test]
fn the_largest_rings_serialize_within_their_reservation_and_round_trip() {
    // `to_jwk_set` reserves its buffer up front so that secrets are never left behind in
    // reallocated memory; it asserts (in debug builds) that the document fits.
    for ring in [largest_ring(0), largest_ring(ISSUED_KIDS_MAX), ring()] {
        let document = ring.to_jwk_set();
        let reloaded = KeyRing::from_jwk_set(document.as_bytes()).unwrap();
        assert_eq!(reloaded.to_jwk_set().as_str(), document.as_str());
        assert_eq!(reloaded.issued_kids(), ring.issued_kids());
    }
    assert_eq!(largest_ring(ISSUED_KIDS_MAX).issued_kids().len(), ISSUED_KIDS_MAX);
}

#[test]
fn a_missing_directory_is_a_write_error_not_a_missing_key_file() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("absent").join("keys.json"));
    assert!(matches!(store.load(), Err(StoreError::NotFound)));
    let error = store.save(&ring()).unwrap_err();
    assert!(
        matches!(error, StoreError::Io { op: StoreOp::Write, kind: std::io::ErrorKind::NotFound, .. }),
        "{error:?}"
    );
    let error = store.create(&ring()).unwrap_err();
    assert!(
        matches!(error, StoreError::Io { op: StoreOp::Write, kind: std::io::ErrorKind::NotFound, .. }),
        "{error:?}"
    );
    // The error names the file it could not write: the temporary file beside the key file.
    let StoreError::Io { path, .. } = &error else { unreachable!() };
    assert_eq!(path.parent(), Some(dir.join("absent").as_path()));
    assert!(
        error.to_string().starts_with(&format!("cannot write {}/absent/.keys.json.tmp.", dir.display())),
        "{error}"
    );
    let locked = store.update(|_| Ok(())).unwrap_err();
    assert!(locked.to_string().contains(".keys.json.lock"), "{locked}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn create_reports_a_failed_link_as_io_unless_the_file_exists() {
    // A trailing slash: the temporary file is written beside it, but the link to a "directory"
    // that does not exist fails with `NotFound`, which is not `AlreadyExists`.
    let dir = temp_dir();
    let store = FileStore::new(format!("{}/keys.json/", dir.display()));
    let error = store.create(&ring()).unwrap_err();
    assert!(
        matches!(error, StoreError::Io { op: StoreOp::Rename, kind: std::io::ErrorKind::NotFound, .. }),
        "{error:?}"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "the temporary file is removed");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_store_at_a_bare_file_name_writes_in_the_working_directory() {
    // The test runs itself again in a child process whose working directory is a fresh temporary
    // one, so this process's own working directory is never changed.
    const CHILD: &str = "TOKENRING_BARE_FILE_NAME_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let store = FileStore::new("keys.json");
        store.create(&ring()).unwrap();
        store.save(&ring()).unwrap();
        assert!(store.load().unwrap().can_sign(NOW));
        return;
    }
    let dir = temp_dir();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["boundaries::a_store_at_a_bare_file_name_writes_in_the_working_directory", "--exact", "--quiet"])
        .env(CHILD, "1")
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(KeyRing::from_jwk_set(&std::fs::read(dir.join("keys.json")).unwrap()).unwrap().can_sign(NOW));
    std::fs::remove_dir_all(dir).unwrap();
}
