//! Every Wycheproof HS256 case and every RFC example, through `tokenring verify --jws`.
//!
//! The vectors are the library's (`crates/tokenring/tests/data`, whose README names their sources
//! and explains the four Wycheproof cases whose `rfc7515_expected` overrides `result`).

use std::path::Path;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;
use tokenring::Rejection;

use crate::support::{tokenring, NOW};

// One copy of the vectors serves the library's tests and these.
const WYCHEPROOF: &str = include_str!("../../../tokenring/tests/data/wycheproof_hs256_extract.json");
const RFC_EXAMPLES: &str = include_str!("../../../tokenring/tests/data/rfc_hs256_examples.json");

/// Cases in each file, counted independently of the file's own `numberOfCases`.
const WYCHEPROOF_CASES: usize = 50;
const RFC_CASES: usize = 10;

/// How many cases of each file are expected to verify, after the documented overrides.
const WYCHEPROOF_VALID: usize = 12;
const RFC_VALID: usize = 5;

/// Runs `verify --jws` on one case and returns a description of any mismatch.
fn check(dir: &Path, name: &str, key: &Value, token: &str, expect_valid: bool) -> Option<String> {
    let keys = dir.join(format!("{}.json", name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")));
    crate::support::write_key_file(&keys, key.to_string());
    let keys_arg = keys.to_str().expect("temporary paths are UTF-8");
    let run = tokenring(&["verify", "--keys", keys_arg, "--now", &NOW.to_string(), "--jws", "--", token]);

    // Whatever the outcome, nothing printed holds the key or the signature.
    let everything = run.everything();
    let secrets = collect_secrets(key);
    if secrets.iter().any(|secret| secret.len() >= 8 && everything.contains(secret.as_str())) {
        return Some(format!("{name}: the output contains key bytes"));
    }
    let signature = token.rsplit('.').next().unwrap_or("");
    if signature.len() >= 16 && everything.contains(signature) {
        return Some(format!("{name}: the output contains the signature"));
    }

    match (expect_valid, run.code) {
        (true, Some(0)) => {
            let payload_b64 = token.split('.').nth(1).unwrap_or("");
            let payload = Base64UrlUnpadded::decode_vec(payload_b64).ok()?;
            (run.stdout != payload).then(|| format!("{name}: accepted, but stdout is not the payload"))
        }
        (true, code) => Some(format!("{name}: expected valid, got exit {code:?}: {}", run.first_stderr_line())),
        (false, Some(1)) => {
            let code = run.first_stderr_line().strip_prefix("rejected: ").unwrap_or("");
            (!Rejection::CODES.contains(&code) || !run.stdout.is_empty())
                .then(|| format!("{name}: exit 1 without a rejection code line: {}", run.stderr))
        }
        (false, Some(2)) => (!run.first_stderr_line().starts_with("tokenring: error: "))
            .then(|| format!("{name}: exit 2 without an error line: {}", run.stderr)),
        (false, code) => Some(format!("{name}: expected a rejection, got exit {code:?}")),
    }
}

fn collect_secrets(key: &Value) -> Vec<String> {
    let keys = key.get("keys").and_then(Value::as_array).cloned().unwrap_or_else(|| vec![key.clone()]);
    keys.iter().filter_map(|key| key.get("k").and_then(Value::as_str)).map(str::to_owned).collect()
}

#[test]
fn wycheproof_hs256_cases() {
    let file: Value = serde_json::from_str(WYCHEPROOF).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), WYCHEPROOF_CASES);
    assert_eq!(file["numberOfCases"].as_u64(), Some(WYCHEPROOF_CASES as u64));
    let dir = tempfile::tempdir().unwrap();

    let (mut checked, mut valid, mut overridden) = (0, 0, 0);
    let mut failures = Vec::new();
    for case in cases {
        let name = format!(
            "{} tcId {} ({})",
            case["source_file"].as_str().unwrap(),
            case["tcId"].as_u64().unwrap(),
            case["comment"].as_str().unwrap()
        );
        // The extraction's RFC 7515 reading replaces a mislabelled upstream result.
        let expected = match case.get("rfc7515_expected") {
            Some(expected) => {
                overridden += 1;
                expected.as_str().unwrap()
            }
            None => case["result"].as_str().unwrap(),
        };
        let expect_valid = match expected {
            "valid" => true,
            "invalid" => false,
            other => panic!("{name}: unexpected result {other:?}"),
        };
        let key = case.get("verification_keyset").or_else(|| case.get("verification_key")).unwrap();
        failures.extend(check(dir.path(), &name, key, case["jws"].as_str().unwrap(), expect_valid));
        checked += 1;
        valid += usize::from(expect_valid);
    }
    assert!(failures.is_empty(), "{} of {checked} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(checked, WYCHEPROOF_CASES);
    assert_eq!(overridden, 4, "tcId 367, 370, 372 and 373");
    assert_eq!(valid, WYCHEPROOF_VALID);
}

#[test]
fn rfc_hs256_examples() {
    let file: Value = serde_json::from_str(RFC_EXAMPLES).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), RFC_CASES);
    assert_eq!(file["numberOfCases"].as_u64(), Some(RFC_CASES as u64));
    let dir = tempfile::tempdir().unwrap();

    let (mut checked, mut valid) = (0, 0);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["id"].as_str().unwrap().to_owned();
        let expect_valid = match case["expected_jws"].as_str().unwrap() {
            "valid" => true,
            "invalid" => false,
            other => panic!("{name}: unexpected expectation {other:?}"),
        };
        failures.extend(check(dir.path(), &name, &case["key_jwk"], case["token"].as_str().unwrap(), expect_valid));
        checked += 1;
        valid += usize::from(expect_valid);
    }
    assert!(failures.is_empty(), "{} of {checked} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(checked, RFC_CASES);
    assert_eq!(valid, RFC_VALID);
}

/// The RFC 7519 example token as a JWT: valid before its exp (2011-03-22T18:43:00Z), expired
/// after, with `iss` checked.
#[test]
fn rfc7519_example_as_a_jwt() {
    let file: Value = serde_json::from_str(RFC_EXAMPLES).unwrap();
    let case = file["cases"].as_array().unwrap().iter().find(|case| case["id"] == "rfc7519-3.1").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("rfc7515-a1.json");
    crate::support::write_key_file(&keys, serde_json::to_vec(&case["key_jwk"]).unwrap());
    let token = case["token"].as_str().unwrap();
    let exp = case["claims"]["exp"].as_u64().unwrap();

    let before = crate::support::verify(&keys, token, exp - 100, &["--iss", "joe"]);
    before.expect_code(0);
    let claims: Value = serde_json::from_slice(&before.stdout).unwrap();
    assert_eq!(claims, case["claims"]);
    crate::support::assert_rejected(
        &crate::support::verify(&keys, token, exp - 100, &["--iss", "bob"]),
        "wrong-issuer",
        token,
    );
    crate::support::assert_rejected(&crate::support::verify(&keys, token, exp + 30, &[]), "expired", token);
}
