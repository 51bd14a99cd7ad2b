//! Revoking a key erases its secret (issue 23, finding 2): a key is revoked because it leaked,
//! and a secret left in the file lives on in every backup and lets any reader of the file as a
//! JWK Set (PyJWT's `PyJWKSet`) accept forgeries. What stays is the `kid` and the times, in the
//! set's `revoked` member, outside `keys`.

use serde_json::Value;
use tokenring::{FileStore, KeyRing, KeyState, Rejection, Rotation, Validation};

use crate::ring::NOW;

/// Every `k` in a JWK Set document.
fn secrets(document: &str) -> Vec<String> {
    let parsed: Value = serde_json::from_str(document).unwrap();
    parsed["keys"].as_array().unwrap().iter().map(|key| key["k"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_revoked_keys_secret_leaves_the_ring_and_the_file_and_its_kid_stays_revoked() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let leaked = ring.active_kid(NOW).unwrap();
    let token = ring.issue(&serde_json::json!({"sub": "ada"}), 3600, NOW).unwrap();
    let next = ring.rotate(&Rotation::new().propagation_secs(0), NOW).unwrap();
    let before = ring.to_jwk_set();
    let leaked_secret = secrets(&before)[0].clone();

    ring.revoke(&leaked, NOW + 1).unwrap();
    let document = ring.to_jwk_set();
    assert!(!document.contains(&leaked_secret), "the revoked secret is gone: {}", *document);
    assert_eq!(secrets(&document).len(), 1, "one key with a secret left");
    let parsed: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(parsed["keys"][0]["kid"], next.as_str());
    let revoked = &parsed["revoked"][0];
    assert_eq!((revoked["kid"].as_str(), revoked["revoked_at"].as_u64()), (Some(leaked.as_str()), Some(NOW + 1)));
    assert_eq!(revoked.get("k"), None);

    // Its tokens, and forgeries naming it, are revoked-key, in the ring and after a reload.
    let reloaded = KeyRing::from_jwk_set(document.as_bytes()).unwrap();
    assert_eq!(reloaded.to_jwk_set(), document, "the document survives a reload unchanged");
    let forger = KeyRing::with_key(tokenring::Key::from_bytes(&[7; 32]).unwrap(), Some(leaked), NOW);
    let forged = forger.issue(&serde_json::json!({"sub": "ada"}), 3600, NOW).unwrap();
    for ring in [&ring, &reloaded] {
        for token in [&token, &forged] {
            assert_eq!(ring.verify::<Value>(token, &Validation::new(), NOW + 2).unwrap_err(), Rejection::RevokedKey);
        }
        let listed = ring.keys(NOW + 2);
        let info = listed.iter().find(|info| info.kid == Some(leaked)).unwrap();
        assert_eq!(
            (info.state, info.revoked_at_secs, info.bits, info.may_sign),
            (KeyState::Revoked, Some(NOW + 1), 0, false)
        );
    }
    // Revoking it again changes nothing.
    ring.revoke(&leaked, NOW + 5).unwrap();
    assert_eq!(ring.to_jwk_set(), document);
}

#[test]
fn a_file_written_before_keeps_no_revoked_secret_after_the_next_update() {
    let dir = crate::persistence::temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    let mut ring = KeyRing::generate(NOW).unwrap();
    let leaked = ring.active_kid(NOW).unwrap();
    ring.rotate(&Rotation::new().propagation_secs(0), NOW).unwrap();
    store.create(&ring).unwrap();
    // The file as an earlier version wrote a revocation: the key, secret and all, with a
    // `revoked_at`.
    let document = std::fs::read_to_string(store.path()).unwrap();
    let leaked_secret = secrets(&document)[0].clone();
    let old = document.replacen(r#""activate_at":"#, &format!(r#""revoked_at":{},"activate_at":"#, NOW + 1), 1);
    std::fs::write(store.path(), &old).unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.keys(NOW + 2).iter().find(|info| info.kid == Some(leaked)).unwrap().state, KeyState::Revoked);

    store.update(|_| Ok(())).unwrap();
    let updated = std::fs::read_to_string(store.path()).unwrap();
    assert!(!updated.contains(&leaked_secret), "{updated}");
    assert_eq!(secrets(&updated).len(), 1);
    assert_eq!(store.load().unwrap().to_jwk_set().as_str(), updated);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_ring_whose_every_key_is_revoked_loads_and_cannot_sign_until_rotated() {
    let mut ring = KeyRing::generate(NOW).unwrap();
    let only = ring.active_kid(NOW).unwrap();
    ring.revoke(&only, NOW).unwrap();
    let reloaded = KeyRing::from_jwk_set(ring.to_jwk_set().as_bytes()).unwrap();
    assert!(!reloaded.can_sign(NOW));
    let mut rotated = reloaded.clone();
    let fresh = rotated.rotate(&Rotation::new().propagation_secs(0), NOW).unwrap();
    assert_eq!(rotated.active_kid(NOW), Some(fresh));
    assert_eq!(rotated.keys(NOW).len(), 2);
}
