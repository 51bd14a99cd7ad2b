//! `etcd://HOST:PORT/KEY` wherever the tool takes a key file, against a real `etcd` (one per
//! test, on 127.0.0.1 with free ports, stopped at the end): concurrent rotations from separate
//! processes keep every key, `--if-older-than` adds exactly one, and credentials never go in
//! the URL. `etcds://` over TLS with a CA, a client certificate, a user and password, each
//! refusal named in words, and nothing printed holds a password, a key or a certificate.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use tokenring::{KeyRing, RingStore};
use tokenring_etcd::{Credentials, EtcdStore};
use tokenring_testkit::etcd::{tls_file, EtcdServer, Security};

use crate::support::{spawn_tokenring, tokenring, Run, NOW};

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

/// Every variable the tool reads for etcd: cleared in each run below, so that a developer's own
/// settings never reach a test.
const ETCD_VARS: [&str; 6] = [
    "TOKENRING_ETCD_USER",
    "TOKENRING_ETCD_PASSWORD",
    "TOKENRING_ETCD_PASSWORD_FILE",
    "TOKENRING_ETCD_CA_FILE",
    "TOKENRING_ETCD_CERT_FILE",
    "TOKENRING_ETCD_KEY_FILE",
];

/// The password of the tests' etcd user: no output may hold it.
const PASSWORD: &str = "correct-horse-battery-staple";

/// Runs `tokenring` with `args` and, of the etcd variables, only `vars`.
fn tokenring_with(vars: &[(&str, &OsStr)], args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenring"));
    for var in ETCD_VARS {
        command.env_remove(var);
    }
    let output = command.envs(vars.iter().copied()).args(args).stdin(Stdio::null()).output().expect("the binary runs");
    Run {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Asserts that nothing `run` printed holds the password or a line of a PEM fixture (a key's,
/// a certificate's).
#[track_caller]
fn assert_nothing_secret(run: &Run) {
    let everything = run.everything();
    assert!(!everything.contains(PASSWORD), "{everything}");
    for fixture in ["ca.pem", "client.pem", "client-key.pem", "stranger-key.pem"] {
        let pem = std::fs::read_to_string(tls_file(fixture)).expect("the fixture is readable");
        for line in pem.lines().filter(|line| !line.starts_with("-----")) {
            assert!(!everything.contains(line), "{everything} holds a line of {fixture}");
        }
    }
}

/// `keys new`, `rotate` and `list` over etcds://, each run checked for secrets.
fn new_rotate_list(url: &str, vars: &[(&str, &OsStr)]) {
    let now = NOW.to_string();
    let new = tokenring_with(vars, &["keys", "new", url, "--now", &now]);
    new.expect_code(0);
    let rotated = tokenring_with(vars, &["keys", "rotate", url, "--now", &now]);
    rotated.expect_code(0);
    let listed = tokenring_with(vars, &["keys", "list", url, "--now", &now]);
    listed.expect_code(0);
    assert_eq!(
        listed.stdout_text().lines().filter(|line| line.contains("active") || line.contains("pending")).count(),
        2
    );
    for run in [&new, &rotated, &listed] {
        assert_nothing_secret(run);
    }
}

#[test]
fn keys_new_rotate_and_list_over_tls_with_a_ca_and_with_a_client_certificate() {
    let ca = tls_file("ca.pem");
    let server = EtcdServer::start_with(Security::Tls);
    new_rotate_list(&server.url("/app/keys"), &[("TOKENRING_ETCD_CA_FILE", ca.as_os_str())]);

    let strict = EtcdServer::start_with(Security::TlsClientCertificate);
    let (certificate, key) = (tls_file("client.pem"), tls_file("client-key.pem"));
    let vars = [
        ("TOKENRING_ETCD_CA_FILE", ca.as_os_str()),
        ("TOKENRING_ETCD_CERT_FILE", certificate.as_os_str()),
        ("TOKENRING_ETCD_KEY_FILE", key.as_os_str()),
    ];
    new_rotate_list(&strict.url("/app/keys"), &vars);

    // Without the client certificate, the same server refuses, and says so.
    let url = strict.url("/app/keys");
    let refused = tokenring_with(&vars[..1], &["keys", "list", &url]);
    refused.expect_code(2);
    assert_eq!(
        refused.first_stderr_line(),
        format!("tokenring: error: cannot read key set {url}: etcd refused the client certificate (none was given, or etcd does not trust its authority)")
    );
    assert_nothing_secret(&refused);
}

#[test]
fn a_server_certificate_from_another_authority_is_refused_by_name() {
    let server = EtcdServer::start_with(Security::Tls);
    let url = server.url("/app/keys");
    let other = tls_file("other-ca.pem");
    let refused = tokenring_with(&[("TOKENRING_ETCD_CA_FILE", other.as_os_str())], &["keys", "new", &url]);
    refused.expect_code(2);
    assert_eq!(
        refused.first_stderr_line(),
        format!("tokenring: error: cannot write key set {url}: etcd's certificate is not signed by an authority in the CA certificate file")
    );
    assert_nothing_secret(&refused);
}

#[test]
fn a_user_and_password_are_accepted_and_a_wrong_one_is_refused_not_unreachable() {
    let server = EtcdServer::start_with(Security::Tls);
    server.enable_auth(PASSWORD);
    let url = server.url("/app/keys");
    let ca = tls_file("ca.pem");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).expect("the password file is written");
    let vars = [
        ("TOKENRING_ETCD_CA_FILE", ca.as_os_str()),
        ("TOKENRING_ETCD_USER", OsStr::new("root")),
        ("TOKENRING_ETCD_PASSWORD_FILE", password_file.as_os_str()),
    ];
    new_rotate_list(&url, &vars);

    let wrong = [vars[0], vars[1], ("TOKENRING_ETCD_PASSWORD", OsStr::new("not-the-password"))];
    let refused = tokenring_with(&wrong, &["keys", "list", &url]);
    refused.expect_code(2);
    assert_eq!(
        refused.first_stderr_line(),
        format!("tokenring: error: cannot read key set {url}: etcd refused the user name or password")
    );
    assert!(!refused.everything().contains("not-the-password"), "{}", refused.everything());
    assert_nothing_secret(&refused);

    let anonymous = tokenring_with(&vars[..1], &["keys", "list", &url]);
    anonymous.expect_code(2);
    assert!(anonymous.stderr.contains("etcd requires authentication"), "{}", anonymous.stderr);
}

#[test]
fn settings_that_cannot_work_are_refused_before_connecting_and_name_the_variable_or_file() {
    // No etcd listens: each refusal comes from the settings alone.
    let ca = tls_file("ca.pem");
    let plain =
        tokenring_with(&[("TOKENRING_ETCD_CA_FILE", ca.as_os_str())], &["keys", "list", "etcd://127.0.0.1:1/k"]);
    plain.expect_code(2);
    assert_eq!(
        plain.first_stderr_line(),
        "tokenring: error: TLS settings (TOKENRING_ETCD_CA_FILE, TOKENRING_ETCD_CERT_FILE, TOKENRING_ETCD_KEY_FILE) are set but the URL is etcd://, which is plain text: use etcds://HOST:PORT/KEY"
    );
    let no_ca = tokenring_with(&[], &["keys", "list", "etcds://127.0.0.1:1/k"]);
    no_ca.expect_code(2);
    assert!(no_ca.first_stderr_line().contains("an etcds:// URL needs TOKENRING_ETCD_CA_FILE"), "{}", no_ca.stderr);

    let missing = Path::new("/nonexistent/tokenring-test/ca.pem");
    let run =
        tokenring_with(&[("TOKENRING_ETCD_CA_FILE", missing.as_os_str())], &["keys", "list", "etcds://127.0.0.1:1/k"]);
    run.expect_code(2);
    assert_eq!(
        run.first_stderr_line(),
        "tokenring: error: cannot use the etcd CA certificate file /nonexistent/tokenring-test/ca.pem: it does not exist"
    );
    let key = tls_file("client-key.pem");
    let run =
        tokenring_with(&[("TOKENRING_ETCD_CA_FILE", key.as_os_str())], &["keys", "list", "etcds://127.0.0.1:1/k"]);
    run.expect_code(2);
    assert!(run
        .first_stderr_line()
        .ends_with("client-key.pem: it holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
    assert_nothing_secret(&run);
    let half = [("TOKENRING_ETCD_CA_FILE", ca.as_os_str()), ("TOKENRING_ETCD_CERT_FILE", ca.as_os_str())];
    let run = tokenring_with(&half, &["keys", "list", "etcds://127.0.0.1:1/k"]);
    run.expect_code(2);
    assert_eq!(
        run.first_stderr_line(),
        "tokenring: error: a client certificate needs both TOKENRING_ETCD_CERT_FILE and TOKENRING_ETCD_KEY_FILE; TOKENRING_ETCD_KEY_FILE is not set"
    );
    let identity_only = [("TOKENRING_ETCD_CERT_FILE", ca.as_os_str()), ("TOKENRING_ETCD_KEY_FILE", ca.as_os_str())];
    let run = tokenring_with(&identity_only, &["keys", "list", "etcds://127.0.0.1:1/k"]);
    run.expect_code(2);
    assert_eq!(
        run.first_stderr_line(),
        "tokenring: error: a client certificate is set without TOKENRING_ETCD_CA_FILE (TLS to etcd needs it)"
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let empty = dir.path().join("password");
    std::fs::write(&empty, "\nsecond line\n").expect("the password file is written");
    let vars = [("TOKENRING_ETCD_USER", OsStr::new("root")), ("TOKENRING_ETCD_PASSWORD_FILE", empty.as_os_str())];
    let run = tokenring_with(&vars, &["keys", "list", "etcd://127.0.0.1:1/k"]);
    run.expect_code(2);
    assert_eq!(
        run.first_stderr_line(),
        format!(
            "tokenring: error: cannot use the etcd password file {}: its first line is empty or not UTF-8 text",
            empty.display()
        )
    );
    assert!(!run.everything().contains("second line"), "{}", run.everything());
    let run =
        tokenring_with(&[("TOKENRING_ETCD_PASSWORD", OsStr::new(PASSWORD))], &["keys", "list", "etcd://127.0.0.1:1/k"]);
    run.expect_code(2);
    assert_eq!(
        run.first_stderr_line(),
        "tokenring: error: TOKENRING_ETCD_PASSWORD or TOKENRING_ETCD_PASSWORD_FILE is set without TOKENRING_ETCD_USER"
    );
    assert_nothing_secret(&run);

    // Credentials in the URL stay refused, over TLS too.
    let run = tokenring_with(
        &[("TOKENRING_ETCD_CA_FILE", ca.as_os_str())],
        &["keys", "list", "etcds://root:s3cret@127.0.0.1:1/k"],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("must not hold a user or password"), "{}", run.stderr);
    assert!(!run.everything().contains("s3cret"), "{}", run.everything());
}
