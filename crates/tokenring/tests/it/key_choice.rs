//! The key always comes from the ring: a key carried by the token is never used, and the
//! identifiers of the keys the ring holds stay in its issued history, however full.

use serde_json::Value;
use tokenring::{KeyRing, Rejection, Validation};

use crate::helpers::signed_with;
use crate::ring::NOW;

/// A full issued history keeps the identifiers of the keys the ring holds.
#[test]
fn a_full_issued_history_keeps_every_held_kid() {
    let mut issued = vec!["\"A\"".to_owned()];
    issued.extend((0..255).map(|i| format!("\"k{i}\"")));
    let document = format!(
        r#"{{"keys":[{{"kty":"oct","kid":"A","k":"{a}","created_at":1}},{{"kty":"oct","kid":"B","k":"{b}","created_at":2}}],"issued_kids":[{}]}}"#,
        issued.join(","),
        a = "A".repeat(43),
        b = "B".repeat(42) + "A"
    );
    let ring = KeyRing::from_jwk_set(document.as_bytes()).unwrap();
    assert_eq!(ring.issued_kids().len(), tokenring::limits::ISSUED_KIDS_MAX);
    assert!(ring.issued_kids().iter().any(|kid| kid.as_str() == "A"));
    assert!(ring.issued_kids().iter().any(|kid| kid.as_str() == "B"));
    assert!(!ring.issued_kids().iter().any(|kid| kid.as_str() == "k0"), "the oldest unheld one goes");
    let again = KeyRing::from_jwk_set(ring.to_jwk_set().as_bytes()).unwrap();
    assert_eq!(ring.issued_kids(), again.issued_kids());
}

#[test]
fn rotation_with_a_full_history_keeps_held_kids() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let first = ring.active_kid(NOW).unwrap();
    // The first key is revoked, so the ring holds it (to classify its tokens) while many
    // rotations, each forgetting the key before at once, fill the history.
    ring.revoke(&first, NOW).unwrap();
    let rotation = tokenring::Rotation::new().propagation_secs(0).overlap_secs(0).forget_after_secs(0);
    for step in 0..tokenring::limits::ISSUED_KIDS_MAX as u64 {
        ring.rotate(&rotation, NOW + step).unwrap();
    }
    assert!(ring.keys(NOW).iter().any(|info| info.kid == Some(first)));
    assert!(ring.issued_kids().contains(&first));
    assert_eq!(ring.issued_kids().len(), tokenring::limits::ISSUED_KIDS_MAX);
}

/// `jwk` injection: a token that carries its own key in the header, and is signed with it, is
/// still checked against the ring's key only.
#[test]
fn a_key_embedded_in_the_header_is_never_used() {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let attacker_key = [9u8; 32];
    let embedded = Base64UrlUnpadded::encode_string(&attacker_key);
    let ring = KeyRing::generate(NOW).unwrap();
    let kid = ring.active_kid(NOW).unwrap();
    let validation = Validation::new();
    for header in [
        format!(r#"{{"alg":"HS256","kid":"{kid}","jwk":{{"kty":"oct","k":"{embedded}"}}}}"#),
        format!(r#"{{"alg":"HS256","jwk":{{"kty":"oct","k":"{embedded}"}}}}"#),
        format!(r#"{{"alg":"HS256","kid":"{kid}","jku":"https://attacker.example/keys.json"}}"#),
    ] {
        let token = signed_with(&attacker_key, header.as_bytes(), br#"{"exp":4102444800}"#);
        assert_eq!(ring.verify::<Value>(&token, &validation, NOW).unwrap_err(), Rejection::BadSignature, "{header}");
    }
}

/// The keys of `ring` that a token without `kid` is tried against at `now`, found from outside:
/// a kid-less token signed with a key the ring tries is recognised (accepted, or rejected for
/// the key's state after its MAC held), one signed with a key it does not try is
/// `bad-signature`. A forgery is tried against every one of them: their number is the number of
/// MAC computations a kid-less forgery costs.
fn tried_without_kid(ring: &KeyRing, secrets: &[(String, Vec<u8>)], now: u64) -> Vec<String> {
    let validation = tokenring::Validation::new();
    secrets
        .iter()
        .filter(|(_, secret)| {
            let signer = KeyRing::with_key(tokenring::Key::from_bytes(secret).unwrap(), None, now);
            let token = signer.issue(&serde_json::json!({"sub": "ada"}), 60, now).unwrap();
            // The header, decoded, names no kid. (The token's text itself may hold the letters
            // "kid" anywhere in its base64url signature: that is what once made this check flaky.)
            let header = token.split('.').next().unwrap();
            let header = {
                use base64ct::{Base64UrlUnpadded, Encoding};
                Base64UrlUnpadded::decode_vec(header).unwrap()
            };
            let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
            assert!(header.get("kid").is_none() && ring.known_kid(&token).is_none(), "{header}");
            match ring.verify::<serde_json::Value>(&token, &validation, now) {
                Ok(_) | Err(tokenring::Rejection::RetiredKey | tokenring::Rejection::RevokedKey) => true,
                Err(tokenring::Rejection::BadSignature) => false,
                Err(other) => panic!("{other:?}"),
            }
        })
        .map(|(kid, _)| kid.clone())
        .collect()
}

/// Every key's `kid` and secret, from the ring's JWK Set.
fn secrets_of(ring: &KeyRing) -> Vec<(String, Vec<u8>)> {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let document: serde_json::Value = serde_json::from_str(&ring.to_jwk_set()).unwrap();
    let keys = document["keys"].as_array().unwrap();
    let secret = |key: &serde_json::Value| Base64UrlUnpadded::decode_vec(key["k"].as_str().unwrap()).unwrap();
    keys.iter().map(|key| (key["kid"].as_str().unwrap().to_owned(), secret(key))).collect()
}

#[test]
fn a_token_without_kid_is_tried_only_against_keys_that_can_still_verify() {
    use tokenring::limits::{KEYS_PER_RING_MAX, KIDLESS_KEYS_TRIED_MAX};
    use tokenring::{KeyState, Rotation};
    // A full ring: 59 retired keys, one retiring, the active one, three pending.
    let mut ring = KeyRing::generate(NOW).unwrap();
    let retire_at_once = Rotation::new().propagation_secs(0).overlap_secs(0);
    for step in 1..=59 {
        ring.rotate(&retire_at_once, NOW + step).unwrap();
    }
    ring.rotate(&Rotation::new().propagation_secs(0).overlap_secs(3600), NOW + 60).unwrap();
    for _ in 0..3 {
        ring.rotate(&Rotation::new().propagation_secs(3600), NOW + 61).unwrap();
    }
    let now = NOW + 61;
    let secrets = secrets_of(&ring);
    assert_eq!(secrets.len(), KEYS_PER_RING_MAX);
    let live: Vec<String> = ring
        .keys(now)
        .iter()
        .filter(|info| matches!(info.state, KeyState::Active | KeyState::Pending | KeyState::Retiring))
        .map(|info| info.kid.unwrap().to_string())
        .collect();
    assert_eq!(live.len(), 5);
    let mut tried = tried_without_kid(&ring, &secrets, now);
    tried.sort();
    let mut expected = live.clone();
    expected.sort();
    assert_eq!(tried, expected, "only the pending, active and retiring keys are tried");

    // More keys that can verify than the limit: the limit is tried, the active key among them.
    let mut ring = KeyRing::generate(NOW).unwrap();
    for step in 1..=20 {
        ring.rotate(&Rotation::new().propagation_secs(step), NOW).unwrap();
    }
    let tried = tried_without_kid(&ring, &secrets_of(&ring), NOW);
    assert_eq!(tried.len(), KIDLESS_KEYS_TRIED_MAX);
    assert!(tried.contains(&ring.active_kid(NOW).unwrap().to_string()));
}
