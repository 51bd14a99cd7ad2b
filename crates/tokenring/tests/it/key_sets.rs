//! Key set documents as the ring reads and writes them: what a key's `key_ops` allow it to do,
//! and the largest document a ring can write reads back into the same ring.

use serde_json::{json, Value};
use tokenring::limits::{ISSUED_KIDS_MAX, KEYS_PER_RING_MAX, KEY_LEN_MAX, KID_LEN_MAX};
use tokenring::{KeyRing, KeySetError, KeyState, SignError};

use crate::helpers::{b64, jwk, load, ring};
use crate::ring::NOW;

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
    assert_eq!(verify_only.issue(&json!({ "sub": "1" }), 60, NOW).unwrap_err(), SignError::NoActiveKey);
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
    // The reservation is sized for the largest documents, not far beyond them.
    for ring in [largest_ring(0), largest_ring(ISSUED_KIDS_MAX)] {
        let document = ring.to_jwk_set();
        assert!(document.capacity() <= 2 * document.len(), "{} for {} bytes", document.capacity(), document.len());
    }
}

/// A document that is a JWK Set and a JWK at once: which keys it means is ambiguous (one reader
/// takes the set, another the key), so it is refused, naming the members.
#[test]
fn a_document_that_is_both_a_key_and_a_key_set_is_refused_as_ambiguous() {
    let set_key = jwk(1, "in-the-set", json!({}));
    let top = jwk(2, "at-the-top", json!({}));
    for (member, document) in [
        ("kty", {
            let mut document = top.clone();
            document["keys"] = json!([set_key.clone()]);
            document
        }),
        ("k", json!({"keys": [set_key.clone()], "k": top["k"].clone()})),
    ] {
        let refused = KeyRing::from_jwk_set(document.to_string().as_bytes()).unwrap_err();
        let text = refused.to_string();
        assert!(text.contains("`keys`") && text.contains(&format!("`{member}`")), "{text}");
        assert!(text.contains("ambiguous"), "{text}");
    }
    // Each alone still loads.
    assert!(KeyRing::from_jwk_set(json!({"keys": [set_key]}).to_string().as_bytes()).is_ok());
    assert!(KeyRing::from_jwk_set(top.to_string().as_bytes()).is_ok());
}
