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
