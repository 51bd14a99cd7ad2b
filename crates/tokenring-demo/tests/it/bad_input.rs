//! Test 6 of issue 13: bad input. Every request gets its documented status, nothing panics,
//! and the service still serves afterwards.

use std::collections::BTreeMap;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{json, Value};
use tokenring::limits::TOKEN_LEN_MAX;
use tokenring::{Clock, FileStore, Key, KeyRing, Kid, OsEntropy, Rejection, Rotation, SystemClock, Validation};
use tokenring_axum::UNAUTHORIZED_BODY;

use crate::support::{agent, login, me, me_anonymous, me_with, raw_request, Demo, ISSUER};

const INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";
const EXPIRED_TOKEN: &str = "Bearer error=\"invalid_token\", error_description=\"token expired\"";

/// A key file whose ring holds a forgotten, a revoked, a retired and an active key, and one
/// token for every rejection code, each checked against that ring here before it is sent.
fn ring_and_tokens(keys: &std::path::Path) -> (BTreeMap<&'static str, String>, String) {
    let now = SystemClock.now_secs();
    let claims = |extra: Value| {
        let mut claims = json!({"sub": "mallory", "iss": ISSUER, "aud": ISSUER});
        claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        claims
    };
    let at_once = Rotation::new().propagation_secs(0).overlap_secs(0);
    let mut tokens = BTreeMap::new();

    let mut ring = KeyRing::generate(now).unwrap();
    tokens.insert("forgotten-key", ring.issue(&claims(json!({})), 3600, now).unwrap());
    ring.rotate(&at_once.forget_after_secs(0), now).unwrap();
    let revoked = ring.active_kid(now).unwrap();
    tokens.insert("revoked-key", ring.issue(&claims(json!({})), 3600, now).unwrap());
    ring.rotate(&at_once, now).unwrap();
    ring.revoke(&revoked, now).unwrap();
    tokens.insert("retired-key", ring.issue(&claims(json!({})), 3600, now).unwrap());
    ring.rotate(&at_once, now).unwrap();
    FileStore::new(keys).create(&ring).unwrap();

    let valid = ring.issue(&claims(json!({})), 3600, now).unwrap();
    let active: Kid = ring.active_kid(now).unwrap();
    // Claims `issue` refuses to sign (an `exp` past, absent or not a number) are signed here,
    // outside the library, with the active key's secret from the key set.
    let document: Value = serde_json::from_str(&ring.to_jwk_set()).unwrap();
    let jwk = document["keys"].as_array().unwrap().iter().find(|key| key["kid"] == active.as_str()).unwrap();
    let secret = Base64UrlUnpadded::decode_vec(jwk["k"].as_str().unwrap()).unwrap();
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": active.as_str()}).to_string();
    let sign = |extra: Value| {
        tokenring_testkit::sign_compact(&secret, header.as_bytes(), claims(extra).to_string().as_bytes())
    };
    tokens.insert("expired", sign(json!({"exp": now - 3600})));
    tokens.insert("not-yet-valid", sign(json!({"nbf": now + 3600, "exp": now + 7200})));
    tokens.insert("wrong-issuer", sign(json!({"iss": "elsewhere", "exp": now + 3600})));
    tokens.insert("wrong-audience", sign(json!({"aud": "elsewhere", "exp": now + 3600})));
    tokens.insert("missing-claim", sign(json!({})));
    tokens.insert("invalid-claim", sign(json!({"exp": "soon"})));
    tokens.insert("unknown-key", KeyRing::generate(now).unwrap().issue(&claims(json!({})), 3600, now).unwrap());
    let impostor = KeyRing::with_key(Key::generate(&mut OsEntropy).unwrap(), Some(active), now);
    tokens.insert("bad-signature", impostor.issue(&claims(json!({})), 3600, now).unwrap());
    tokens.insert("malformed", "not-a-token".to_owned());
    tokens.insert("too-large", "a".repeat(TOKEN_LEN_MAX + 1));
    let with_header = |header: Value| {
        let mut parts = valid.split('.');
        let header = Base64UrlUnpadded::encode_string(header.to_string().as_bytes());
        let (_, payload, signature) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        format!("{header}.{payload}.{signature}")
    };
    tokens.insert("unsupported-algorithm", with_header(json!({"alg": "none", "typ": "JWT"})));
    tokens.insert(
        "unsupported-header",
        with_header(json!({"alg": "HS256", "typ": "JWT", "kid": active.as_str(), "crit": ["exp"]})),
    );

    // Each token is rejected for the reason it was made for, by the ring the server loads.
    let loaded = FileStore::new(keys).load().unwrap();
    let validation = Validation::new().issuer(ISSUER).audience(ISSUER);
    let later = SystemClock.now_secs();
    for (code, token) in &tokens {
        let rejection = loaded.verify::<Value>(token, &validation, later).unwrap_err();
        assert_eq!(rejection.code(), *code);
    }
    assert_eq!(tokens.keys().copied().collect::<Vec<_>>(), {
        let mut codes = Rejection::CODES.to_vec();
        codes.sort_unstable();
        codes
    });
    assert!(loaded.verify::<Value>(&valid, &validation, later).is_ok());
    (tokens, valid)
}

fn request(demo: &Demo, headers: &[u8]) -> Option<u16> {
    let mut bytes = format!("GET /me HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", demo.address()).into_bytes();
    bytes.extend_from_slice(headers);
    bytes.extend_from_slice(b"\r\n");
    raw_request(demo, &bytes).0
}

#[test]
fn bad_input_gets_the_documented_status_and_the_service_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let (tokens, valid) = ring_and_tokens(&keys);
    let agent = agent();
    let mut demo = Demo::start(dir.path(), "demo", &["--keys".as_ref(), keys.as_os_str()]);
    assert_eq!(me(&agent, &demo, &valid).status, 200);

    // A token for every rejection code: 401, invalid_token, one body for all.
    for (code, token) in &tokens {
        let answer = me(&agent, &demo, token);
        // An expired token (its MAC verified) says so, for the client to refresh it.
        let challenge = if *code == "expired" { EXPIRED_TOKEN } else { INVALID_TOKEN };
        assert_eq!((answer.status, answer.challenge.as_deref()), (401, Some(challenge)), "{code}");
        assert_eq!(answer.body, UNAUTHORIZED_BODY, "{code}");
    }
    // No credentials, or another scheme: 401 without an error code.
    for answer in [me_anonymous(&agent, &demo), me_with(&agent, &demo, "Basic dXNlcjpwYXNz")] {
        assert_eq!((answer.status, answer.challenge.as_deref()), (401, Some("Bearer")));
        assert_eq!(answer.body, UNAUTHORIZED_BODY);
    }
    // `Bearer` with no token.
    let answer = me_with(&agent, &demo, "Bearer");
    assert_eq!((answer.status, answer.challenge.as_deref()), (401, Some(INVALID_TOKEN)));
    // The scheme is case-insensitive (RFC 7235 §2.1).
    assert_eq!(me_with(&agent, &demo, &format!("bearer {valid}")).status, 200);
    assert_eq!(request(&demo, format!("authorization: BEARER {valid}\r\n").as_bytes()), Some(200));

    // Raw requests no client library sends.
    let huge = format!("Authorization: Bearer {}\r\n", "a".repeat(64 * 1024));
    assert_eq!(request(&demo, huge.as_bytes()), Some(401), "a 64 KiB token is too-large");
    assert_eq!(request(&demo, b"Authorization: Bearer \xff\xfe\xfd.\x80.\xc3\x28\r\n"), Some(401), "non-UTF-8");
    let two = format!("Authorization: Bearer {valid}\r\nAuthorization: Bearer {valid}\r\n");
    assert_eq!(request(&demo, two.as_bytes()), Some(401), "two Authorization headers");
    let many: String = (0..200).map(|index| format!("X-Filler-{index}: {index}\r\n")).collect();
    let many = format!("{many}Authorization: Bearer {valid}\r\n");
    assert_eq!(request(&demo, many.as_bytes()), Some(431), "more headers than hyper accepts");
    let body = login_raw_statuses(&agent, &demo);
    assert_eq!(body, vec![400; 7], "bad logins");

    // Still serving, still the same process, and no panic anywhere.
    assert!(demo.is_running());
    assert_eq!(me(&agent, &demo, &valid).status, 200);
    assert_eq!(me(&agent, &demo, &login(&agent, &demo, "ada")).status, 200);
    let output = demo.kill();
    assert!(!output.stderr.contains("panicked"), "{}", output.stderr);

    // One event per rejection: routine ones at INFO, the rest at WARN, each with its reason.
    for (code, token) in &tokens {
        let reason = format!("reason=\"{code}\"");
        let routine = ["expired", "not-yet-valid", "retired-key"].contains(code);
        let (level, other) = if routine { ("INFO", "WARN") } else { ("WARN", "INFO") };
        assert!(output.lines_at(level).iter().any(|line| line.contains(&reason)), "{code} at {level}");
        assert!(!output.lines_at(other).iter().any(|line| line.contains(&reason)), "{code} not at {other}");
        assert!(!output.all().contains(token.as_str()), "the {code} token is not logged");
    }
    // The key identifier is logged only for keys the ring knows.
    for line in output.stderr.lines().filter(|line| line.contains("reason=\"unknown-key\"")) {
        assert!(!line.contains("kid="), "{line}");
    }
    for code in ["retired-key", "revoked-key", "forgotten-key", "bad-signature", "expired"] {
        let reason = format!("reason=\"{code}\"");
        assert!(
            output.stderr.lines().any(|line| line.contains(&reason) && line.contains("kid=")),
            "{code} names its kid"
        );
    }
}

/// `POST /login` with bodies the demo refuses.
fn login_raw_statuses(agent: &ureq::Agent, demo: &Demo) -> Vec<u16> {
    let long = json!({"user": "x".repeat(65)}).to_string();
    let too_big = json!({"user": "x", "pad": "y".repeat(4096)}).to_string();
    ["", "not json", "{}", "{\"user\":\"\"}", "{\"user\":7}", long.as_str(), too_big.as_str()]
        .iter()
        .map(|body| crate::support::login_raw(agent, demo, body).status)
        .collect()
}
