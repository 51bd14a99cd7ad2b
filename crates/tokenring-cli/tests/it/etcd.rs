//! `etcd://HOST:PORT/KEY` wherever the tool takes a key file, against a real `etcd` (one per
//! test, on 127.0.0.1 with free ports, stopped at the end): concurrent rotations from separate
//! processes keep every key, `--if-older-than` adds exactly one, and credentials never go in
//! the URL.

use tokenring::{KeyRing, RingStore};
use tokenring_etcd::{Credentials, EtcdStore};
use tokenring_testkit::etcd::EtcdServer;

use crate::support::{spawn_tokenring, tokenring, NOW};

/// How many `tokenring keys rotate` processes start at once.
const WRITERS: usize = 8;

/// The key identifiers of the key set under `key`.
fn kids(server: &EtcdServer, key: &str) -> Vec<String> {
    let store = EtcdStore::connect(&server.endpoint(), key, Credentials::none()).expect("etcd answers");
    let document = store.load_document().expect("etcd answers").expect("the key set exists");
    let ring = KeyRing::from_jwk_set(&document.bytes).expect("the key set loads");
    ring.keys(NOW).into_iter().filter_map(|key| key.kid).map(|kid| kid.to_string()).collect()
}

/// Starts `WRITERS` processes with `args` at once and returns each one's exit code and output.
fn race(args: &[&str]) -> Vec<(Option<i32>, String, String)> {
    let children: Vec<_> = (0..WRITERS).map(|_| spawn_tokenring(args)).collect();
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().expect("the writer runs");
            let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
            (output.status.code(), text(&output.stdout), text(&output.stderr))
        })
        .collect()
}

#[test]
fn eight_concurrent_rotations_through_etcd_keep_all_eight_keys() {
    let server = EtcdServer::start();
    let url = format!("etcd://{}/app/keys", server.endpoint());
    tokenring(&["keys", "new", &url, "--now", &NOW.to_string()]).expect_code(0);
    let now = (NOW + 60).to_string();
    let outcomes = race(&["keys", "rotate", &url, "--now", &now]);
    let stored = kids(&server, "/app/keys");
    for (code, stdout, stderr) in &outcomes {
        assert_eq!(*code, Some(0), "{stdout}{stderr}");
        let kid = stdout.split("new key ").nth(1).and_then(|rest| rest.split(' ').next()).expect("a new key");
        assert!(stored.contains(&kid.to_owned()), "key {kid} was lost: {stored:?}");
    }
    assert_eq!(stored.len(), 1 + WRITERS, "the first key and all eight rotations': {stored:?}");
}

#[test]
fn eight_conditional_rotations_through_etcd_add_exactly_one_key() {
    let server = EtcdServer::start();
    let url = format!("etcd://{}/app/keys", server.endpoint());
    tokenring(&["keys", "new", &url, "--now", &NOW.to_string()]).expect_code(0);
    let later = (NOW + 2 * 3600).to_string();
    let outcomes = race(&["keys", "rotate", &url, "--if-older-than", "1h", "--now", &later]);
    let rotated = outcomes.iter().filter(|(_, stdout, _)| stdout.starts_with("rotated ")).count();
    let unchanged = outcomes.iter().filter(|(_, stdout, _)| stdout.contains("nothing changed")).count();
    for (code, stdout, stderr) in &outcomes {
        assert_eq!(*code, Some(0), "{stdout}{stderr}");
    }
    assert_eq!((rotated, unchanged), (1, WRITERS - 1));
    assert_eq!(kids(&server, "/app/keys").len(), 2);
}

#[test]
fn sign_verify_list_and_revoke_work_on_an_etcd_key_and_a_missing_one_is_named() {
    let server = EtcdServer::start();
    let url = format!("etcd://{}/svc/keys", server.endpoint());
    let missing = tokenring(&["keys", "list", &url]);
    missing.expect_code(2);
    assert_eq!(
        missing.first_stderr_line(),
        format!("tokenring: error: key set {url} does not exist (create it with `tokenring keys new`)")
    );
    let now = NOW.to_string();
    tokenring(&["keys", "new", &url, "--now", &now]).expect_code(0);
    let again = tokenring(&["keys", "new", &url, "--now", &now]);
    again.expect_code(2);
    assert_eq!(
        again.first_stderr_line(),
        format!("tokenring: error: key set {url} already exists (use --force to replace it)")
    );

    let token =
        tokenring(&["sign", "--keys", &url, "--claims", r#"{"sub":"3"}"#, "--now", &now]).expect_code(0).stdout_text();
    let verified = tokenring(&["verify", "--keys", &url, "--now", &now, token.trim()]);
    verified.expect_code(0);
    assert!(verified.stdout_text().contains(r#""sub":"3""#));
    assert!(tokenring(&["keys", "list", &url, "--now", &now]).expect_code(0).stdout_text().contains("active"));

    let kid = kids(&server, "/svc/keys").remove(0);
    tokenring(&["keys", "revoke", &url, &kid, "--force", "--now", &now]).expect_code(0);
    let refused = tokenring(&["verify", "--keys", &url, "--now", &now, token.trim()]);
    refused.expect_code(1);
    assert!(refused.stdout_text().contains("revoked-key") || refused.stderr.contains("revoked-key"), "{refused:?}");
}

#[test]
fn an_etcd_url_with_credentials_is_refused_without_showing_them() {
    let run = tokenring(&["keys", "list", "etcd://ada:s3cret@127.0.0.1:2379/app/keys"]);
    run.expect_code(2);
    assert!(run.stderr.contains("must not hold a user or password"), "{}", run.stderr);
    assert!(run.stderr.contains("TOKENRING_ETCD_PASSWORD"), "{}", run.stderr);
    assert!(!run.everything().contains("s3cret") && !run.everything().contains("ada"), "{}", run.everything());
}
