//! Each command's contract: exit codes, refusals, and what it prints.

use std::fs;

use crate::support::{
    arg, assert_no_token, assert_rejected, kids_in, new_key_file, secrets_in, sign, tokenring, tokenring_stdin, verify,
    NOW,
};

/// A single JWK with a 248-bit key (Wycheproof JWK tcId 10's key).
const SHORT_KEY_JWK: &str = r#"{"kty":"oct","kid":"short","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg"}"#;

#[test]
fn keys_new_refuses_to_overwrite_and_force_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    let created = tokenring(&["keys", "new", arg(&keys), "--now", &NOW.to_string()]);
    created.expect_code(0);
    let original = fs::read(&keys).unwrap();
    assert!(created.stdout_text().contains(&kids_in(&keys)[0]));

    let refused = tokenring(&["keys", "new", arg(&keys), "--now", &NOW.to_string()]);
    refused.expect_code(2);
    assert!(refused.first_stderr_line().starts_with("tokenring: error: "));
    assert!(refused.stderr.contains("already exists"));
    assert!(refused.stderr.contains("--force"));
    assert_eq!(fs::read(&keys).unwrap(), original, "the existing file is untouched");

    let forced = tokenring(&["keys", "new", arg(&keys), "--force", "--now", &NOW.to_string()]);
    forced.expect_code(0);
    let replaced = dir.path().join("replaced.json");
    fs::write(&replaced, &original).unwrap();
    let (old_secrets, new_secrets) = (secrets_in(&replaced), secrets_in(&keys));
    assert_eq!(new_secrets.len(), 1);
    assert_ne!(old_secrets, new_secrets, "--force wrote a fresh key");
    for run in [&created, &refused, &forced] {
        for secret in old_secrets.iter().chain(&new_secrets) {
            assert!(!run.everything().contains(secret.as_str()));
        }
    }
}

#[cfg(unix)]
#[test]
fn key_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    assert_eq!(fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o600);
    tokenring(&["keys", "rotate", arg(&keys), "--now", &NOW.to_string()]).expect_code(0);
    assert_eq!(fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn keys_list_shows_states_and_never_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let rotated_at = (NOW + 60).to_string();
    tokenring(&["keys", "rotate", arg(&keys), "--propagation", "5m", "--overlap", "1h", "--now", &rotated_at])
        .expect_code(0);
    let kids = kids_in(&keys);
    let secrets = secrets_in(&keys);
    assert_eq!(secrets.len(), 2);

    let listed = tokenring(&["keys", "list", arg(&keys), "--now", &(NOW + 120).to_string()]);
    listed.expect_code(0);
    let text = listed.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("KID"));
    for column in ["STATE", "CREATED", "ACTIVATE-AT", "RETIRE-AT", "FORGET-AT"] {
        assert!(lines[0].contains(column), "{text}");
    }
    // Before the new key activates, the old one still signs and retires an hour after that
    // activation; the new one is pending, created 22:14:20 and activating 22:19:20.
    assert!(lines[1].starts_with(&kids[0]) && lines[1].contains("active"), "{text}");
    assert!(lines[1].contains("2023-11-14T23:19:20Z"), "{text}");
    assert!(lines[2].starts_with(&kids[1]) && lines[2].contains("pending"), "{text}");
    assert!(lines[2].contains("2023-11-14T22:14:20Z") && lines[2].contains("2023-11-14T22:19:20Z"), "{text}");
    for kid in &kids {
        assert!(text.contains(kid.as_str()));
    }
    for secret in &secrets {
        assert!(!listed.everything().contains(secret.as_str()), "keys list printed a secret");
    }

    // After the activation the new key signs and the old one is retiring; after the overlap,
    // retired.
    let states = |now: u64| {
        let listed = tokenring(&["keys", "list", arg(&keys), "--now", &now.to_string()]);
        listed.expect_code(0);
        let text = listed.stdout_text();
        text.lines()
            .skip(1)
            .take(2)
            .map(|line| line.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    let activated = NOW + 60 + 300;
    assert_eq!(states(activated), [format!("{} active", kids[1]), format!("{} retiring", kids[0])]);
    assert_eq!(states(activated + 3600), [format!("{} active", kids[1]), format!("{} retired", kids[0])]);
}

#[test]
fn keys_revoke_rejects_every_token_of_the_key_and_hands_signing_on() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, "{}", "1h", NOW);
    let first = kids_in(&keys).remove(0);
    tokenring(&["keys", "rotate", arg(&keys), "--propagation", "0s", "--now", &(NOW + 1).to_string()]).expect_code(0);
    let second = kids_in(&keys).into_iter().find(|kid| *kid != first).unwrap();

    // Inside the overlap the token verifies, until its key is revoked.
    verify(&keys, &token, NOW + 2, &[]).expect_code(0);
    let revoked = tokenring(&["keys", "revoke", arg(&keys), &first, "--now", &(NOW + 3).to_string()]);
    revoked.expect_code(0);
    assert!(revoked.stdout_text().contains(&format!("revoked key {first}")), "{}", revoked.stdout_text());
    assert!(revoked.stdout_text().contains(&format!("key {second} signs")), "{}", revoked.stdout_text());
    let rejected = verify(&keys, &token, NOW + 4, &[]);
    assert_rejected(&rejected, "revoked-key", &token);
    assert!(rejected.stderr.contains("suspicious"));
    let listed = tokenring(&["keys", "list", arg(&keys), "--now", &(NOW + 4).to_string()]);
    assert!(listed.stdout_text().lines().any(|line| line.starts_with(&first) && line.contains("revoked")));

    // Revoking the last signing key says how to get one back.
    let last = tokenring(&["keys", "revoke", arg(&keys), &second, "--force", "--now", &(NOW + 5).to_string()]);
    last.expect_code(0);
    assert!(last.stdout_text().contains("no key can sign now"), "{}", last.stdout_text());
    let unsigned = tokenring(&["sign", "--keys", arg(&keys), "--now", &(NOW + 6).to_string()]);
    unsigned.expect_code(2);

    // A kid the file does not hold, or one that is not a kid at all, is an error that does not
    // repeat the argument.
    let before = fs::read(&keys).unwrap();
    for kid in ["not-held", "not a kid \"quoted\""] {
        let refused = tokenring(&["keys", "revoke", arg(&keys), kid, "--now", &NOW.to_string()]);
        refused.expect_code(2);
        assert!(!refused.stderr.contains(kid), "{}", refused.stderr);
    }
    assert_eq!(fs::read(&keys).unwrap(), before, "a refused revocation changes nothing");
}

#[test]
fn a_short_key_is_refused_as_a_key_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("short.json");
    crate::support::write_key_file(&keys, SHORT_KEY_JWK);
    let token = "eyJhbGciOiJIUzI1NiIsImtpZCI6InNob3J0X2hzMjU2X2tleSJ9.Zm9v.OHXFiYUEmZcuvFx8FTvvN0fCfe8bspBX1ctB4dqcv0U";
    for run in [
        verify(&keys, token, NOW, &[]),
        verify(&keys, token, NOW, &["--jws"]),
        tokenring(&["sign", "--keys", arg(&keys), "--now", &NOW.to_string()]),
        tokenring(&["keys", "rotate", arg(&keys), "--now", &NOW.to_string()]),
    ] {
        run.expect_code(2);
        assert!(run.first_stderr_line().starts_with("tokenring: error: "));
        assert!(run.stderr.contains("256"), "the message says why: {}", run.stderr);
        assert!(!run.everything().contains("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg"));
        assert_no_token(&run, token);
    }
    assert_eq!(fs::read_to_string(&keys).unwrap(), SHORT_KEY_JWK);
}

#[test]
fn a_corrupt_key_file_is_an_error_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, "{}", "1h", NOW);
    // Cut the file in the middle of the secret: a crash of some other writer, a full disk.
    let whole = fs::read(&keys).unwrap();
    let secret = secrets_in(&keys).remove(0);
    let cut = whole.windows(secret.len()).position(|window| window == secret.as_bytes()).unwrap() + 10;
    let corrupt = whole[..cut].to_vec();
    fs::write(&keys, &corrupt).unwrap();

    for run in [
        verify(&keys, &token, NOW, &[]),
        verify(&keys, &token, NOW, &["--jws"]),
        tokenring(&["sign", "--keys", arg(&keys), "--now", &NOW.to_string()]),
        tokenring(&["keys", "rotate", arg(&keys), "--now", &NOW.to_string()]),
        tokenring(&["keys", "list", arg(&keys), "--now", &NOW.to_string()]),
        tokenring(&["keys", "new", arg(&keys), "--now", &NOW.to_string()]),
    ] {
        run.expect_code(2);
        assert!(run.first_stderr_line().starts_with("tokenring: error: "), "{}", run.stderr);
        assert!(!run.everything().contains(&secret[..10]), "no part of the key is printed");
        assert_no_token(&run, &token);
        assert_eq!(fs::read(&keys).unwrap(), corrupt, "the damaged file is left byte for byte");
    }
}

#[test]
fn a_missing_key_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("absent.json");
    let run = verify(&keys, "a.b.c", NOW, &[]);
    run.expect_code(2);
    assert!(run.stderr.contains("does not exist"));
    tokenring(&["keys", "list", arg(&keys), "--now", &NOW.to_string()]).expect_code(2);
    tokenring(&["keys", "rotate", arg(&keys), "--now", &NOW.to_string()]).expect_code(2);
    assert!(!keys.exists(), "nothing creates the file but keys new");
}

#[test]
fn sign_refuses_bad_claims_and_durations() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let now = NOW.to_string();
    let sign_with = |extra: &[&str]| {
        let mut args = vec!["sign", "--keys", arg(&keys), "--now", now.as_str()];
        args.extend_from_slice(extra);
        tokenring(&args)
    };
    for claims in ["[]", "\"sub\"", "3", "null", "{", "{\"a\":1} {}", "", "{\"exp\":1}", "{\"a\":1,\"a\":2}"] {
        let run = sign_with(&["--claims", claims]);
        run.expect_code(2);
        assert!(run.first_stderr_line().starts_with("tokenring: error: "), "{claims}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    for ttl in ["", "0x", "-1h", "1", "1.5h", "30m1h", "1500ms", "3661d", "99999999999999999999s", "0s", " 1h"] {
        let run = sign_with(&["--ttl", ttl]);
        run.expect_code(2);
        assert!(run.stdout.is_empty(), "{ttl:?}");
    }
    let too_large = format!(r#"{{"pad":"{}"}}"#, "x".repeat(tokenring::limits::TOKEN_LEN_MAX));
    sign_with(&["--claims", &too_large]).expect_code(2);
}

#[test]
fn sign_defaults_to_one_hour_and_no_claims() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let run = tokenring(&["sign", "--keys", arg(&keys), "--now", &NOW.to_string()]);
    run.expect_code(0);
    let token = run.stdout_text().trim_end().to_owned();
    let verified = verify(&keys, &token, NOW, &[]);
    verified.expect_code(0);
    let claims: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(claims, serde_json::json!({"iat": NOW, "nbf": NOW, "exp": NOW + 3600}));
    for ttl in ["90s", "15m", "1h30m", "2000ms", "7d"] {
        sign(&keys, "{}", ttl, NOW);
    }
}

#[test]
fn verify_applies_the_claims_checks() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, r#"{"sub":"3"}"#, "1h", NOW);
    let exp = NOW + 3600;

    // exp with the default 30 s of leeway, and a wider one.
    verify(&keys, &token, exp + 29, &[]).expect_code(0);
    assert_rejected(&verify(&keys, &token, exp + 30, &[]), "expired", &token);
    verify(&keys, &token, exp + 30, &["--leeway", "600"]).expect_code(0);
    assert_rejected(&verify(&keys, &token, exp + 1, &["--leeway", "0"]), "expired", &token);
    let over = verify(&keys, &token, NOW, &["--leeway", "601"]);
    over.expect_code(2);
    assert!(over.stderr.contains("600"));
    // nbf.
    assert_rejected(&verify(&keys, &token, NOW - 31, &[]), "not-yet-valid", &token);
    let routine = verify(&keys, &token, NOW - 31, &[]);
    assert!(routine.stderr.contains("routine"));

    // iss and aud.
    let scoped = sign(&keys, r#"{"iss":"auth","aud":["api","web"]}"#, "1h", NOW);
    verify(&keys, &scoped, NOW, &["--iss", "auth", "--aud", "web"]).expect_code(0);
    assert_rejected(&verify(&keys, &scoped, NOW, &["--iss", "other", "--aud", "web"]), "wrong-issuer", &scoped);
    assert_rejected(&verify(&keys, &scoped, NOW, &["--aud", "mail"]), "wrong-audience", &scoped);
    assert_rejected(&verify(&keys, &scoped, NOW, &[]), "wrong-audience", &scoped);
    let missing = verify(&keys, &token, NOW, &["--iss", "auth"]);
    assert_rejected(&missing, "missing-claim", &token);
    assert!(missing.stderr.contains("`iss`"));
}

#[test]
fn verify_no_exp_accepts_a_token_without_exp() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    // `sign` always sets exp, so make the token with the library, from the same file.
    let ring = tokenring::FileStore::new(&keys).load().unwrap();
    let token = ring.sign_jws(br#"{"sub":"3"}"#, NOW).unwrap();
    let missing = verify(&keys, &token, NOW, &[]);
    assert_rejected(&missing, "missing-claim", &token);
    assert!(missing.stderr.contains("`exp`"));
    let accepted = verify(&keys, &token, NOW, &["--no-exp"]);
    accepted.expect_code(0);
    assert_eq!(accepted.stdout, b"{\"sub\":\"3\"}\n");
}

#[test]
fn verify_jws_prints_the_payload_and_skips_claims_checks() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, r#"{"sub":"3"}"#, "1h", NOW);
    // Long expired, but --jws does not read claims.
    let run = verify(&keys, &token, NOW + 86_400, &["--jws"]);
    run.expect_code(0);
    let expected = format!(r#"{{"iat":{NOW},"nbf":{NOW},"exp":{},"sub":"3"}}"#, NOW + 3600);
    assert_eq!(run.stdout_text(), expected, "the payload exactly as signed, no newline");
    for flag in [&["--iss", "a"][..], &["--aud", "a"], &["--no-exp"], &["--leeway", "5"]] {
        let mut extra = vec!["--jws"];
        extra.extend_from_slice(flag);
        let conflict = verify(&keys, &token, NOW, &extra);
        conflict.expect_code(2);
        assert_no_token(&conflict, &token);
    }
}

#[test]
fn verify_reads_standard_input_within_a_bound() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, "{}", "1h", NOW);
    let args = ["verify", "--keys", arg(&keys), "--now", &NOW.to_string(), "-"];
    for input in [token.clone(), format!("{token}\n"), format!("{token}\r\n")] {
        tokenring_stdin(&args, input.as_bytes()).expect_code(0);
    }
    // Only one line ending is trimmed; other whitespace is named, not silently repaired.
    for input in [format!("{token}\n\n"), format!(" {token}")] {
        let run = tokenring_stdin(&args, input.as_bytes());
        run.expect_code(2);
        assert!(run.stderr.contains("remove the whitespace"), "{}", run.stderr);
    }
    // A megabyte of input is read only up to the bound and rejected as too large.
    let huge = vec![b'a'; 1 << 20];
    let run = tokenring_stdin(&args, &huge);
    run.expect_code(1);
    assert_eq!(run.first_stderr_line(), "rejected: too-large");
    // Empty input is not a token.
    assert_eq!(tokenring_stdin(&args, b"").expect_code(1).first_stderr_line(), "rejected: malformed");
}

#[test]
fn usage_errors_exit_2_and_do_not_echo_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, "{}", "1h", NOW);
    let other = sign(&keys, r#"{"n":2}"#, "1h", NOW);
    let runs = [
        tokenring(&["verify", "--keys", arg(&keys), token.as_str(), other.as_str()]),
        tokenring(&["verify", token.as_str()]),
        tokenring(&["inspect", token.as_str(), other.as_str()]),
        tokenring(&[token.as_str()]),
        tokenring(&["verify", "--keys", arg(&keys), "--now", token.as_str(), other.as_str()]),
        tokenring(&["sign", "--keys", arg(&keys), "--ttl", token.as_str()]),
        tokenring(&["keys", "rotate", arg(&keys), "--overlap", token.as_str()]),
        tokenring(&["inspect"]),
        tokenring(&["keys"]),
        tokenring::<&str>(&[]),
    ];
    for run in &runs {
        run.expect_code(2);
        assert_no_token(run, &token);
        assert_no_token(run, &other);
        assert!(run.stdout.is_empty());
    }
    // A mistyped flag is named, with a suggestion.
    let typo = tokenring(&["verify", "--keys", arg(&keys), "--levay", "5", token.as_str()]);
    typo.expect_code(2);
    assert!(typo.stderr.contains("'--levay'") && typo.stderr.contains("--leeway"), "{}", typo.stderr);
    assert!(typo.first_stderr_line().starts_with("tokenring: error: "));
}

#[test]
fn usage_errors_say_what_is_wrong_in_our_words() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let cases: [(&[&str], &str); 3] = [
        (&["sign", "--keys", arg(&keys), "--now", "-5"], "'-5' (times and durations cannot be negative)"),
        (&["verify", "--keys", "a", "--keys", "b", "x"], "'--keys <FILE>' was given more than once"),
        (&["verify", "--jws=true", "--keys", arg(&keys), "x"], "'--jws' takes no value"),
    ];
    for (args, expected) in cases {
        let run = tokenring(args);
        run.expect_code(2);
        assert!(run.first_stderr_line().ends_with(expected), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn sign_names_what_is_wrong_with_the_claims() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let now = NOW.to_string();
    let cases = [
        (r#"{"iss":5}"#, "claim `iss` has a type or value a verifier refuses"),
        (r#"{"aud":[1]}"#, "claim `aud` has a type or value a verifier refuses"),
        (r#"{"s":"\ud800"}"#, "claims are malformed: the claims are not a well-formed JSON object"),
        (r#"{"exp":1}"#, "claim `exp` is before now or after now plus the time-to-live: leave it out"),
    ];
    for (claims, expected) in cases {
        let run = tokenring(&["sign", "--keys", arg(&keys), "--now", &now, "--claims", claims]);
        run.expect_code(2);
        assert!(run.first_stderr_line().contains(expected), "{claims}: {}", run.stderr);
    }
    let run = tokenring(&["sign", "--keys", arg(&keys), "--now", &u64::MAX.to_string()]);
    run.expect_code(2);
    assert!(run.stderr.contains("past the largest time"), "{}", run.stderr);
}

#[test]
fn help_and_version_exit_0() {
    for args in [&["--help"][..], &["--version"], &["verify", "--help"], &["inspect", "--help"], &["keys", "new", "-h"]]
    {
        let run = tokenring(args);
        run.expect_code(0);
        assert!(!run.stdout.is_empty());
    }
    let help = tokenring(&["verify", "--help"]).stdout_text();
    assert!(help.contains("Exit codes"));
}

#[test]
fn sign_accepts_an_empty_object_written_with_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    for claims in ["{ }", "{\n}", " {\t} ", "{ \"sub\" : \"3\" }"] {
        let token = sign(&keys, claims, "1h", NOW);
        verify(&keys, &token, NOW, &[]).expect_code(0);
    }
}

#[test]
fn verify_prints_large_integers_exactly_as_signed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token =
        sign(&keys, r#"{"sub":"3","big":123456789012345678901234567890,"neg":-98765432109876543210}"#, "1h", NOW);
    let run = verify(&keys, &token, NOW, &[]);
    run.expect_code(0);
    let exp = NOW + 3600;
    assert_eq!(
        run.stdout_text(),
        format!(
            "{{\"iat\":{NOW},\"nbf\":{NOW},\"exp\":{exp},\"sub\":\"3\",\"big\":123456789012345678901234567890,\"neg\":-98765432109876543210}}\n"
        )
    );
}

#[test]
fn a_token_given_as_the_key_file_is_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, r#"{"sub":"3"}"#, "1h", NOW);
    let run = tokenring(&["verify", "--keys", &token, "--now", &NOW.to_string(), "x"]);
    run.expect_code(2);
    assert_no_token(&run, &token);
    assert!(run.stderr.contains("looks like a token"), "{}", run.stderr);
    // A longer token (a file name over 255 bytes), inside a longer path, in every command that
    // takes a key file: refused before anything is read or written.
    let long = sign(&keys, &format!(r#"{{"sub":"3","pad":"{}"}}"#, "x".repeat(200)), "1h", NOW);
    let before: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    for token in [&token, &long] {
        // Under the test's own directory only: were the refusal missing, a write would create
        // the file there and the check below would see it.
        for path in [format!("{}/{token}", dir.path().display()), format!("{}/./{token}", dir.path().display())] {
            let runs = [
                tokenring(&["verify", "--keys", &path, "x"]),
                tokenring(&["sign", "--keys", &path]),
                tokenring(&["keys", "new", &path]),
                tokenring(&["keys", "rotate", &path]),
                tokenring(&["keys", "revoke", &path, "k1"]),
                tokenring(&["keys", "list", &path]),
            ];
            for run in &runs {
                run.expect_code(2);
                assert_no_token(run, token);
                assert!(run.stderr.contains("looks like a token"), "{}", run.stderr);
            }
        }
    }
    let after: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(before, after, "no file named after a token was created");
    // An ordinary missing path is still named.
    let missing = dir.path().join("absent.json");
    let run = verify(&missing, &token, NOW, &[]);
    assert!(run.stderr.contains(arg(&missing)), "{}", run.stderr);
}

#[test]
fn a_token_with_anything_around_it_is_refused_as_a_key_file_and_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, r#"{"sub":"3"}"#, "1h", NOW);
    let before: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    let wrapped = [
        format!("Bearer {token}"),
        format!("{token}\n"),
        format!(" {token}"),
        format!("token={token}"),
        format!("{token},"),
        format!("'{token}'"),
        format!("\"{token}\""),
        format!("Authorization: Bearer {token}\r\n"),
    ];
    for name in &wrapped {
        let path = format!("{}/{name}", dir.path().display());
        for run in [
            tokenring(&["keys", "new", &path]),
            tokenring(&["keys", "list", &path]),
            tokenring(&["verify", "--keys", &path, "x"]),
        ] {
            run.expect_code(2);
            assert_no_token(&run, &token);
            assert!(run.stderr.contains("looks like a token"), "{name:?}: {}", run.stderr);
        }
    }
    let after: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(before, after, "no file named after a token was created");
    // Ordinary names with dots and dashes are used and printed as they are.
    let backup = dir.path().join("production-signing-keys.2026-11-29-backup.json");
    let run = tokenring(&["keys", "new", arg(&backup), "--now", &NOW.to_string()]);
    run.expect_code(0);
    assert!(run.stdout_text().contains(arg(&backup)), "{}", run.stdout_text());
}

#[cfg(unix)]
#[test]
fn a_key_file_others_may_read_is_used_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, r#"{"sub":"3"}"#, "1h", NOW);
    for (mode, warned) in
        [(0o644, Some("read the keys")), (0o666, Some("replace the keys")), (0o444, None), (0o600, None)]
    {
        fs::set_permissions(&keys, fs::Permissions::from_mode(mode)).unwrap();
        let run = verify(&keys, &token, NOW, &[]);
        run.expect_code(0);
        match warned {
            Some(what) => {
                let expected =
                    format!("tokenring: warning: {}: key file mode {mode:04o} lets group or others {what}", arg(&keys));
                assert!(run.first_stderr_line().starts_with(&expected), "{mode:o}: {}", run.stderr);
            }
            None => assert!(run.stderr.is_empty(), "{mode:o}: {}", run.stderr),
        }
    }
}
