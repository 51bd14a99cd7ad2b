//! The operator's story from end to end: create, sign, verify, rotate, retire, and the
//! rejections an operator must be able to tell apart.

use crate::support::{
    arg, assert_rejected, kids_in, new_key_file, secrets_in, sign, tokenring, tokenring_stdin, verify, Run, NOW,
};

#[test]
fn sign_verify_rotate_retire() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    let other_keys = dir.path().join("other.json");
    let mut runs: Vec<Run> = Vec::new();
    let mut secrets: Vec<String> = Vec::new();

    new_key_file(&keys, NOW);
    secrets.extend(secrets_in(&keys));
    let first_kid = kids_in(&keys).remove(0);

    let token = sign(&keys, r#"{"sub":"3"}"#, "1h", NOW);
    let signature = token.rsplit('.').next().unwrap().to_owned();

    // Accepted now, claims printed with the times the signer set.
    let accepted = verify(&keys, &token, NOW, &[]);
    accepted.expect_code(0);
    let claims: serde_json::Value = serde_json::from_slice(&accepted.stdout).unwrap();
    assert_eq!(claims, serde_json::json!({"sub": "3", "iat": NOW, "nbf": NOW, "exp": NOW + 3600}));
    runs.push(accepted);

    // From standard input too, with the trailing newline `echo` adds.
    let from_stdin = tokenring_stdin(
        &["verify", "--keys", arg(&keys), "--now", &NOW.to_string(), "-"],
        format!("{token}\n").as_bytes(),
    );
    from_stdin.expect_code(0);
    assert_eq!(from_stdin.stdout, runs[0].stdout);
    runs.push(from_stdin);

    // One payload character changed: bad-signature, which is suspicious.
    let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
    let first = segments[1].remove(0);
    segments[1].insert(0, if first == 'e' { 'f' } else { 'e' });
    let forged = segments.join(".");
    let bad = verify(&keys, &forged, NOW, &[]);
    assert_rejected(&bad, "bad-signature", &forged);
    assert!(bad.stderr.contains("suspicious"));
    runs.push(bad);

    // Rotate a minute later with a one-minute propagation and a ten-minute overlap: the token
    // still verifies, and the old key keeps signing until the new one activates.
    let rotated_at = NOW + 60;
    let rotation = tokenring(&[
        "keys",
        "rotate",
        arg(&keys),
        "--propagation",
        "1m",
        "--overlap",
        "10m",
        "--now",
        &rotated_at.to_string(),
    ]);
    rotation.expect_code(0);
    secrets.extend(secrets_in(&keys));
    let second_kid = kids_in(&keys).into_iter().find(|kid| *kid != first_kid).unwrap();
    assert!(rotation.stdout_text().contains(&format!("new key {second_kid} signs from")));
    assert!(rotation.stdout_text().contains(&format!("until then key {first_kid} signs")));
    assert!(rotation.stdout_text().contains(&format!("previous key {first_kid} verifies until")));
    runs.push(rotation);
    let still = verify(&keys, &token, rotated_at + 1, &[]);
    still.expect_code(0);
    runs.push(still);
    let header_kid = |token: &str| {
        let inspected = tokenring(&["inspect", token]);
        inspected.expect_code(0);
        inspected.stdout_text()
    };
    let pending = sign(&keys, "{}", "1h", rotated_at + 59);
    assert!(header_kid(&pending).contains(&first_kid), "a pending key never signs");
    let activated = sign(&keys, "{}", "1h", rotated_at + 60);
    assert!(header_kid(&activated).contains(&second_kid), "the new key signs from its activation");

    // Once the old key's retire-at time (activation + overlap) has come, the token (not yet
    // expired) is retired-key after its MAC is checked, and that is routine.
    let retire_at = rotated_at + 60 + 600;
    assert!(retire_at < NOW + 3600, "the token must still be within its lifetime");
    let just_before = verify(&keys, &token, retire_at - 1, &[]);
    just_before.expect_code(0);
    runs.push(just_before);
    let retired = verify(&keys, &token, retire_at, &[]);
    assert_rejected(&retired, "retired-key", &token);
    assert!(retired.stderr.contains("routine"));
    runs.push(retired);

    // A rotation after the forget time drops the old key's material; its kid is remembered,
    // but a token naming it can no longer be checked: forgotten-key, which is not routine.
    let pruning = tokenring(&["keys", "rotate", arg(&keys), "--now", &(retire_at + 86_400 * 31).to_string()]);
    pruning.expect_code(0);
    assert!(pruning.stdout_text().contains("dropped 1 forgotten key"), "{}", pruning.stdout_text());
    secrets.extend(secrets_in(&keys));
    assert!(!kids_in(&keys).contains(&first_kid));
    runs.push(pruning);
    let after_prune = verify(&keys, &token, retire_at + 86_400 * 31 + 1, &[]);
    assert_rejected(&after_prune, "forgotten-key", &token);
    assert!(after_prune.stderr.contains("suspicious"));
    runs.push(after_prune);

    // Against a different key file, the kid is one that file never issued: unknown-key, which
    // is suspicious.
    new_key_file(&other_keys, NOW);
    secrets.extend(secrets_in(&other_keys));
    let unknown = verify(&other_keys, &token, NOW, &[]);
    assert_rejected(&unknown, "unknown-key", &token);
    assert!(unknown.stderr.contains("suspicious"));
    runs.push(unknown);

    // Nothing printed anywhere holds a key, the token or its signature.
    for run in &runs {
        let everything = run.everything();
        for secret in &secrets {
            assert!(!everything.contains(secret.as_str()), "a key appears in the output");
        }
        assert!(!everything.contains(&token));
        assert!(!everything.contains(&signature));
    }
}
