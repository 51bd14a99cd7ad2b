//! Property tests: round trips, single-byte changes, arbitrary input, rotation, persistence.

use proptest::prelude::*;
use serde_json::{Map, Value};
use tokenring::{Entropy, Key, KeyError, KeyRing, Kid, Rejection, Scratch, Validation};

use crate::ring::NOW;

/// A deterministic entropy source, so proptest failures replay exactly.
struct Counter(u64);

impl Entropy for Counter {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), KeyError> {
        for byte in dest {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            *byte = (self.0 >> 33) as u8;
        }
        Ok(())
    }
}

fn claim_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    // Registered names are excluded: `issue` sets the time claims and `iss`/`aud` have rules.
    prop::collection::btree_map("[a-z_]{1,10}", claim_value(), 0..8).prop_map(|map| {
        map.into_iter().filter(|(name, _)| !matches!(name.as_str(), "exp" | "nbf" | "iat" | "iss" | "aud")).collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_round_trips(claims in claims(), secret in prop::collection::vec(any::<u8>(), 32..80), ttl in 1u64..100_000) {
        let ring = KeyRing::with_key(Key::from_bytes(&secret).unwrap(), Some(Kid::new("k").unwrap()), NOW);
        let token = ring.issue(&claims, ttl, NOW).unwrap();
        let verified = ring.verify::<Map<String, Value>>(&token, &Validation::new().leeway_secs(0), NOW).unwrap();
        let mut expected = claims.clone();
        expected.insert("iat".into(), NOW.into());
        expected.insert("nbf".into(), NOW.into());
        expected.insert("exp".into(), (NOW + ttl).into());
        prop_assert_eq!(verified.into_claims(), expected);
    }

    #[test]
    fn any_single_byte_change_is_rejected(claims in claims(), position in any::<prop::sample::Index>(), replacement in any::<u8>()) {
        let ring = KeyRing::generate_with(&mut Counter(7), NOW).unwrap();
        let token = ring.issue(&claims, 600, NOW).unwrap();
        let mut bytes = token.clone().into_bytes();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != replacement);
        bytes[at] = replacement;
        let outcome = ring.verify::<Value>(&bytes, &Validation::new(), NOW);
        prop_assert!(outcome.is_err(), "changed byte {} accepted", at);
    }

    #[test]
    fn arbitrary_input_maps_to_exactly_one_code(input in prop::collection::vec(any::<u8>(), 0..600)) {
        let ring = KeyRing::generate_with(&mut Counter(1), NOW).unwrap();
        let rejection = ring.verify::<Value>(&input, &Validation::new(), NOW).unwrap_err();
        prop_assert!(Rejection::CODES.contains(&rejection.code()));
        let jws = ring.verify_jws(&input, &mut Scratch::new(), NOW).unwrap_err();
        prop_assert!(Rejection::CODES.contains(&jws.code()));
    }

    #[test]
    fn arbitrary_segments_never_panic(header in "[A-Za-z0-9_-]{0,80}", payload in "[A-Za-z0-9_-]{0,80}", signature in "[A-Za-z0-9_-]{0,50}") {
        let ring = KeyRing::generate_with(&mut Counter(2), NOW).unwrap();
        let token = format!("{header}.{payload}.{signature}");
        let outcome = ring.verify::<Value>(&token, &Validation::new(), NOW);
        prop_assert!(outcome.is_err());
    }

    #[test]
    fn rotation_with_overlap_at_least_ttl_never_rejects_a_valid_token(
        ttl in 1u64..10_000,
        extra_overlap in 0u64..10_000,
        steps in prop::collection::vec((1u64..5_000, any::<bool>()), 1..30),
    ) {
        let overlap = ttl + extra_overlap;
        let mut entropy = Counter(3);
        let mut ring = KeyRing::generate_with(&mut entropy, NOW).unwrap();
        let validation = Validation::new().leeway_secs(0);
        let mut now = NOW;
        let mut live: Vec<(String, u64)> = Vec::new();
        for (advance, rotate) in steps {
            now += advance;
            if rotate {
                // A full ring is an error, never a silent loss of a verifying key.
                match ring.rotate_with(&tokenring::Rotation::new().propagation_secs(0).overlap_secs(overlap), &mut entropy, now) {
                    Ok(_) | Err(KeyError::RingFull) => {}
                    Err(other) => prop_assert!(false, "rotation failed: {other}"),
                }
            }
            live.push((ring.issue(&Value::Object(Map::new()), ttl, now).unwrap(), now + ttl));
            live.retain(|(_, exp)| now < *exp);
            for (token, _) in &live {
                let outcome = ring.verify::<Value>(token, &validation, now);
                prop_assert!(outcome.is_ok(), "valid token rejected: {:?}", outcome.err());
            }
        }
    }

    /// The cluster rule: when every node's view of the key file is at most `propagation` old
    /// (any version written since `now - propagation`, not even in order), and the overlap is
    /// at least the token lifetime plus leeway, no token is rejected while it is valid (before
    /// its `exp` plus the leeway), by any node, across any number of staged rotations.
    #[test]
    fn staged_rotation_never_rejects_a_token_before_its_exp_when_every_node_reloads_within_propagation(
        propagation in 0u64..2_000,
        ttl in prop_oneof![1u64..120, 1u64..5_000],
        leeway in 0u64..120,
        extra_overlap in prop_oneof![Just(0u64), 0u64..2_000],
        // Short steps find the boundaries (an activation just after an issue, a check inside
        // the leeway); long ones cross many rotations.
        steps in prop::collection::vec((prop_oneof![0u64..60, 0u64..3_000], 0u8..3, any::<u16>()), 1..80),
    ) {
        let rotation = tokenring::Rotation::new()
            .propagation_secs(propagation)
            .overlap_secs(ttl + leeway + extra_overlap);
        let validation = Validation::new().leeway_secs(leeway);
        let mut entropy = Counter(propagation ^ ttl << 16);
        let mut writer = KeyRing::generate_with(&mut entropy, NOW).unwrap();
        // Every version of the key file, with the time it was written; the first was there
        // before any node started.
        let mut versions: Vec<(u64, KeyRing)> = vec![(0, writer.clone())];
        let mut live: Vec<(String, u64)> = Vec::new();
        let mut now = NOW;
        for (advance, action, pick) in steps {
            now += advance;
            // What some node may hold now: any version from the newest written by
            // `now - propagation` to the newest written by `now`.
            let newest = versions.iter().rposition(|(written, _)| *written <= now).unwrap();
            let oldest = versions.iter().rposition(|(written, _)| *written <= now.saturating_sub(propagation)).unwrap_or(0);
            let view = &versions[oldest + usize::from(pick) % (newest - oldest + 1)].1;
            match action {
                0 => {
                    match writer.rotate_with(&rotation, &mut entropy, now) {
                        Ok(_) => versions.push((now, writer.clone())),
                        Err(KeyError::RingFull) => {}
                        Err(other) => prop_assert!(false, "rotation failed: {other}"),
                    }
                }
                1 => live.push((view.issue(&Value::Object(Map::new()), ttl, now).unwrap(), now + ttl)),
                _ => {
                    live.retain(|(_, exp)| now < *exp + leeway);
                    for (token, _) in &live {
                        let outcome = view.verify::<Value>(token, &validation, now);
                        prop_assert!(outcome.is_ok(), "valid token rejected: {:?}", outcome.err());
                    }
                }
            }
        }
    }

    #[test]
    fn jwk_set_save_then_load_round_trips(rotations in prop::collection::vec(0u64..100_000, 0..20), seed in any::<u64>()) {
        let mut entropy = Counter(seed);
        let mut ring = KeyRing::generate_with(&mut entropy, NOW).unwrap();
        let mut now = NOW;
        for overlap in rotations {
            now += 1000;
            let _ = ring.rotate_with(&tokenring::Rotation::new().propagation_secs(0).overlap_secs(overlap), &mut entropy, now);
        }
        let token = ring.sign_jws(b"payload", now).unwrap();
        let document = ring.to_jwk_set();
        let loaded = KeyRing::from_jwk_set(document.as_bytes()).unwrap();
        let reloaded = loaded.to_jwk_set();
        prop_assert_eq!(reloaded.as_str(), document.as_str());
        prop_assert_eq!(loaded.keys(now), ring.keys(now));
        prop_assert_eq!(loaded.issued_kids(), ring.issued_kids());
        let mut scratch = Scratch::new();
        prop_assert_eq!(*loaded.verify_jws(&token, &mut scratch, now).unwrap().claims(), b"payload");
    }

    #[test]
    fn arbitrary_key_set_documents_never_panic(document in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = KeyRing::from_jwk_set(&document);
    }
}
