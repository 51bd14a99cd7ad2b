//! Tests 1 and 2 of issue 13: a restart on the same key file keeps users logged in; an
//! ephemeral key logs them out, with one warning that names the token by fingerprint only.

use tokenring::Fingerprint;

use crate::support::{agent, assert_nothing_secret, login, me, secrets_in, Demo};

#[test]
fn a_token_survives_a_crash_and_a_restart_on_the_same_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let agent = agent();

    let mut first = Demo::start(dir.path(), "first", &["--keys".as_ref(), keys.as_os_str()]);
    let token = login(&agent, &first, "ada");
    let answer = me(&agent, &first, &token);
    assert_eq!(answer.status, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&answer.body).unwrap()["sub"], "ada");
    let first = first.kill();

    let mut second = Demo::start(dir.path(), "second", &["--keys".as_ref(), keys.as_os_str()]);
    let answer = me(&agent, &second, &token);
    assert_eq!(answer.status, 200, "the token from before the crash still verifies: {}", answer.body);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&answer.body).unwrap()["sub"], "ada");
    let second = second.kill();

    let secrets = secrets_in(&keys);
    assert_eq!(secrets.len(), 1);
    // The first start created the key file: one warning, right after the server is up, naming
    // the file. The restart found it: no warning at all.
    let created = first.lines_at("WARN");
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(created[0].contains(&format!("path={}", keys.display())), "{}", created[0]);
    assert!(created[0].contains("tokens signed before are unknown here"), "{}", created[0]);
    let log = first.all();
    let serving = log.find(" serving").unwrap();
    let created_at = log.find("created a new key file").unwrap();
    assert!(created_at > serving, "after `serving`: {log}");
    assert_eq!(log[serving..created_at].matches('\n').count(), 1, "the next line: {log}");
    assert_eq!(second.lines_at("WARN"), Vec::<&str>::new(), "no warning at all");
    for output in [&first, &second] {
        assert_nothing_secret(&output.all(), &[&token], &secrets);
    }
}

#[test]
fn an_ephemeral_key_logs_users_out_with_one_warning_and_no_token_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let agent = agent();

    let mut first = Demo::start(dir.path(), "first", &["--ephemeral"]);
    let token = login(&agent, &first, "ada");
    assert_eq!(me(&agent, &first, &token).status, 200);
    let first = first.kill();

    let mut second = Demo::start(dir.path(), "second", &["--ephemeral"]);
    let answer = me(&agent, &second, &token);
    assert_eq!(answer.status, 401, "a fresh key does not know the token");
    assert_eq!(answer.challenge.as_deref(), Some("Bearer error=\"invalid_token\""));
    let second = second.kill();

    assert_eq!(first.lines_at("WARN"), Vec::<&str>::new());
    let warnings = second.lines_at("WARN");
    assert_eq!(warnings.len(), 1, "one warning: {warnings:?}");
    assert!(warnings[0].contains(&format!("token_fp={}", Fingerprint::of(&token))), "{}", warnings[0]);
    assert!(warnings[0].contains("reason=\"unknown-key\""), "{}", warnings[0]);
    assert!(!warnings[0].contains("kid="), "a kid this ring never held is not logged: {}", warnings[0]);
    assert!(warnings[0].contains("route=\"/me\""), "the matched route: {}", warnings[0]);
    // The key lived in the first process's memory only; the token and its parts are checked.
    for output in [&first, &second] {
        assert_nothing_secret(&output.all(), &[&token], &[]);
    }
}
