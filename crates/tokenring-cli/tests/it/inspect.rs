//! `inspect`: decodes without verifying, says so, bounds what it prints, never crashes.

use base64ct::{Base64UrlUnpadded, Encoding};

use crate::support::{assert_no_token, new_key_file, sign, tokenring, tokenring_stdin, NOW};

#[test]
fn inspect_shows_header_claims_and_utc_times_marked_unverified() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, r#"{"sub":"3"}"#, "1h", NOW);
    let kid = crate::support::kids_in(&keys).remove(0);

    for run in
        [tokenring(&["inspect", token.as_str()]), tokenring_stdin(&["inspect", "-"], format!("{token}\n").as_bytes())]
    {
        run.expect_code(0);
        let text = run.stdout_text();
        assert!(text.starts_with("UNVERIFIED"), "{text}");
        assert!(text.contains("signature was not checked"));
        assert!(text.contains("alg: \"HS256\"\n"));
        assert!(text.contains(&format!("kid: \"{kid}\"\n")));
        assert!(text.contains("\"sub\":\"3\""));
        assert!(text.contains("iat: 1700000000 (2023-11-14T22:13:20Z)\n"));
        assert!(text.contains("nbf: 1700000000 (2023-11-14T22:13:20Z)\n"));
        assert!(text.contains("exp: 1700003600 (2023-11-14T23:13:20Z)\n"));
        assert!(text.contains(&format!("fingerprint: {}\n", tokenring::Fingerprint::of(&token))));
        assert_no_token(&run, &token);
        for secret in crate::support::secrets_in(&keys) {
            assert!(!run.everything().contains(&secret));
        }
    }
}

#[test]
fn inspect_survives_garbage() {
    let long = "a".repeat(100_000);
    let dots = ".".repeat(5_000);
    let deep = format!(
        "{}.e30.",
        Base64UrlUnpadded::encode_string(format!("{}{}", "[".repeat(3_000), "]".repeat(3_000)).as_bytes())
    );
    let not_a_token: Vec<&str> = vec![
        "",
        "garbage",
        "a.b",
        "a.b.c.d",
        "!!.e30.",
        long.as_str(),
        dots.as_str(),
        deep.as_str(),
        "\u{1b}[2J",
        "e30",
    ];
    for input in &not_a_token {
        let run = tokenring(&["inspect", "--", input]);
        run.expect_code(1);
        assert!(run.first_stderr_line().starts_with("tokenring: error: input is not a token"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
        if input.len() > 16 {
            assert!(!run.stderr.contains(*input));
        }
        assert!(!run.stderr.contains('\u{1b}'));
    }
    // Random bytes on standard input, some of them not UTF-8.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut noise = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        noise.push((state >> 24) as u8);
    }
    for len in [1, 100, 5_000, 20_000] {
        let run = tokenring_stdin(&["inspect", "-"], &noise[..len]);
        assert_eq!(run.code, Some(1), "random input is not a token, and does not crash");
    }
}

#[cfg(unix)]
#[test]
fn inspect_takes_arguments_that_are_not_utf8() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let run = tokenring(&[OsStr::new("inspect"), OsStr::from_bytes(b"\xff\xfe.\x80.\x81")]);
    run.expect_code(1);
}

#[test]
fn inspect_decodes_hostile_tokens_within_bounds() {
    let encode = |text: &str| Base64UrlUnpadded::encode_string(text.as_bytes());
    // Longer than anything shown, within the header's length limit (a longer header is refused
    // as the verifier refuses it).
    let long_kid = "K".repeat(900);
    let header = format!(r#"{{"alg":"none","kid":"\u001b]0;pwned\u0007\u202e{long_kid}"}}"#);
    let claims = r#"{"exp":"tomorrow","iat":1e400,"nbf":-1,"x":"\u009b31m"}"#;
    let token = format!("{}.{}.", encode(&header), encode(claims));
    let run = tokenring(&["inspect", token.as_str()]);
    // 1e400 is not a JSON number serde_json accepts, so the claims are shown as not JSON.
    run.expect_code(0);
    let text = run.stdout_text();
    assert!(text.contains("(tokenring verify accepts only HS256)"));
    assert!(text.contains("[truncated"));
    assert!(!text.contains(&long_kid));
    assert!(text.lines().all(|line| line.chars().count() < 2_200), "every line is bounded");
    for forbidden in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(forbidden), "{forbidden:?} reached the terminal");
    }
    assert!(text.contains("signature: empty"));

    let claims = r#"{"exp":"tomorrow","iat":99999999999999,"nbf":-1,"x":"\u009b31m"}"#;
    let token = format!("{}.{}.{}", encode(r#"{"alg":"HS256"}"#), encode(claims), encode("sig"));
    let run = tokenring(&["inspect", token.as_str()]);
    run.expect_code(0);
    let text = run.stdout_text();
    assert!(text.contains("exp: \"tomorrow\" (not a number"));
    assert!(text.contains("iat: 99999999999999 (out of the range of dates shown)"));
    assert!(text.contains("nbf: -1 (1969-12-31T23:59:59Z)"));
    assert!(text.contains("\\u009b31m"));
    assert!(!text.contains('\u{9b}'));
    assert!(text.contains("signature: 3 bytes"));
}
