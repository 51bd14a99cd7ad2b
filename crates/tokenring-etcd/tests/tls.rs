//! TLS and authentication against a real `etcd` (one per test, on 127.0.0.1 with free ports,
//! stopped at the end), with the test-only certificates of `tokenring-testkit/tls/`: a server
//! checked against its CA, a client certificate presented or missing, a user and password
//! right or wrong, each failure told apart from "cannot reach etcd" and named in words; and the
//! settings' own errors (files missing, too large, of the wrong kind), which name the file and
//! never print what it holds.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use tokenring::{KeyRing, RingStore, StoreError};
use tokenring_etcd::{
    parse_url, Credentials, EtcdStore, EtcdWatch, FileKind, FileProblem, SettingsError, Tls, WatchEvent,
    CERTIFICATE_FILE_LEN_MAX, KEY_FILE_LEN_MAX,
};
use tokenring_testkit::etcd::{tls_file, EtcdServer, Security};

const NOW: u64 = 1_700_000_000;

/// The bound on the watch's wait: far above what a watch takes, only so that a failing test
/// ends.
const WAIT_MAX: Duration = Duration::from_secs(20);

/// What no message may hold: the password the tests use, and lines of the PEM files.
const PASSWORD: &str = "correct-horse-battery-staple";

fn ca() -> Tls {
    Tls::from_ca_file(&tls_file("ca.pem")).unwrap()
}

fn client(tls: Tls) -> Tls {
    tls.client_identity_files(&tls_file("client.pem"), &tls_file("client-key.pem")).unwrap()
}

/// The first request's outcome: a handshake happens at the first request, not at `connect`.
fn first_read(server: &EtcdServer, credentials: Credentials) -> Result<(), StoreError> {
    EtcdStore::connect(&server.endpoint(), "/app/keys", credentials).and_then(|store| store.load_document().map(drop))
}

/// Asserts that `error` is a refusal whose text ends with `reason`, names the store as
/// `etcds://`, and holds no password and no line of any PEM fixture.
#[track_caller]
fn assert_refused(error: &StoreError, server: &EtcdServer, reason: &str) {
    let text = error.to_string();
    assert_eq!(error.code(), "refused", "{text}");
    assert_eq!(text, format!("cannot read key set {}: {reason}", server.url("/app/keys")));
    assert_holds_nothing_secret(&text);
    assert_holds_nothing_secret(&format!("{error:?}"));
}

#[track_caller]
fn assert_holds_nothing_secret(text: &str) {
    assert!(!text.contains(PASSWORD), "{text}");
    for fixture in ["ca.pem", "client.pem", "client-key.pem", "server-key.pem", "stranger-key.pem"] {
        let pem = std::fs::read_to_string(tls_file(fixture)).unwrap();
        for line in pem.lines().filter(|line| !line.starts_with("-----")) {
            assert!(!text.contains(line), "{text} holds a line of {fixture}");
        }
    }
}

#[test]
fn a_store_over_tls_with_the_ca_creates_loads_and_names_itself_etcds() {
    let server = EtcdServer::start_with(Security::Tls);
    let store = EtcdStore::connect(&server.endpoint(), "/app/keys", Credentials::none().tls(ca())).unwrap();
    let document = KeyRing::generate(NOW).unwrap().to_jwk_set();
    assert!(matches!(store.create_document(&document).unwrap(), tokenring::Created::Created(_)));
    assert_eq!(&store.load_document().unwrap().unwrap().bytes[..], document.as_bytes());
    assert_eq!(format!("{store:?}"), format!("EtcdStore({})", server.url("/app/keys")));
    assert!(server.url("/app/keys").starts_with("etcds://127.0.0.1:"));
    // The same through the URL.
    let by_url = EtcdStore::connect_url(&server.url("/app/keys"), Credentials::none().tls(ca())).unwrap();
    assert!(by_url.load_document().unwrap().is_some());
}

#[test]
fn a_server_certificate_from_another_authority_is_refused_as_such() {
    let server = EtcdServer::start_with(Security::Tls);
    let other = Tls::from_ca_file(&tls_file("other-ca.pem")).unwrap();
    let error = first_read(&server, Credentials::none().tls(other)).unwrap_err();
    assert_refused(&error, &server, "etcd's certificate is not signed by an authority in the CA certificate file");
}

#[test]
fn a_server_certificate_for_another_name_is_refused_as_such() {
    let server = EtcdServer::start_with(Security::TlsElsewhere);
    let error = first_read(&server, Credentials::none().tls(ca())).unwrap_err();
    assert_refused(&error, &server, "etcd's certificate is not for the host name or address in the URL");
}

#[test]
fn a_client_certificate_is_presented_and_a_missing_or_untrusted_one_is_refused() {
    let server = EtcdServer::start_with(Security::TlsClientCertificate);
    first_read(&server, Credentials::none().tls(client(ca()))).unwrap();

    let refused = "etcd refused the client certificate (none was given, or etcd does not trust its authority)";
    let without = first_read(&server, Credentials::none().tls(ca())).unwrap_err();
    assert_refused(&without, &server, refused);
    let stranger = ca().client_identity_files(&tls_file("stranger.pem"), &tls_file("stranger-key.pem")).unwrap();
    let untrusted = first_read(&server, Credentials::none().tls(stranger)).unwrap_err();
    assert_refused(&untrusted, &server, refused);

    // A certificate with another certificate's key: refused before anything is sent.
    let mismatched = ca().client_identity_files(&tls_file("client.pem"), &tls_file("stranger-key.pem")).unwrap();
    let error = first_read(&server, Credentials::none().tls(mismatched)).unwrap_err();
    assert_refused(&error, &server, "the client certificate and the client key do not belong together");
}

#[test]
fn a_user_and_password_over_tls_are_accepted_and_a_wrong_one_is_refused_as_such() {
    let server = EtcdServer::start_with(Security::Tls);
    server.enable_auth(PASSWORD);
    first_read(&server, Credentials::user("root", PASSWORD).tls(ca())).unwrap();

    let wrong = first_read(&server, Credentials::user("root", "not-the-password").tls(ca())).unwrap_err();
    assert_refused(&wrong, &server, "etcd refused the user name or password");
    assert!(!wrong.to_string().contains("not-the-password"));
    let unknown = first_read(&server, Credentials::user("ada", PASSWORD).tls(ca())).unwrap_err();
    assert_refused(&unknown, &server, "etcd refused the user name or password");
    let nobody = first_read(&server, Credentials::user("nobody", PASSWORD).tls(ca())).unwrap_err();
    assert_refused(&nobody, &server, "etcd denied this user access to the key");
    let none = first_read(&server, Credentials::none().tls(ca())).unwrap_err();
    assert_refused(&none, &server, "etcd requires authentication, and no user name and password were given");
}

/// A TLS connection that etcd closes is probed once before it is called a refusal: an etcd
/// that went away is an outage (`unavailable`), as over plain text, and the store answers
/// again once etcd is back.
#[test]
fn a_killed_tls_etcd_is_unavailable_not_refused_and_the_store_recovers() {
    let mut server = EtcdServer::start_with(Security::TlsClientCertificate);
    let store = EtcdStore::connect(&server.endpoint(), "/app/keys", Credentials::none().tls(client(ca()))).unwrap();
    store.create_document(&KeyRing::generate(NOW).unwrap().to_jwk_set()).unwrap();
    server.kill();
    let error = store.load_document().unwrap_err();
    assert_eq!(error.code(), "unavailable", "{error}");
    assert_eq!(error.to_string(), format!("cannot read key set {}: cannot reach etcd", server.url("/app/keys")));
    server.restart();
    // The client reconnects with a backoff of its own: a bounded number of reads, each bounded
    // by REQUEST_TIMEOUT.
    let recovered = (0..RECOVERY_READS_MAX).any(|_| {
        let read = store.load_document();
        if read.is_err() {
            std::thread::sleep(Duration::from_millis(250));
        }
        read.is_ok_and(|document| document.is_some())
    });
    assert!(recovered, "the store reads again once etcd is back");
}

/// Most reads after etcd's restart before one must succeed.
const RECOVERY_READS_MAX: usize = 40;

#[test]
fn tls_to_a_plain_etcd_is_unavailable_and_says_so() {
    let server = EtcdServer::start();
    let error = first_read(&server, Credentials::none().tls(ca())).unwrap_err();
    assert_eq!(error.code(), "unavailable", "{error}");
    let url = format!("etcds://{}/app/keys", server.endpoint());
    assert_eq!(
        error.to_string(),
        format!(
            "cannot read key set {url}: cannot reach etcd over TLS: the connection closed during the handshake (does etcd serve TLS on that port?)"
        )
    );
}

#[tokio::test]
async fn the_watch_over_tls_is_woken_by_a_write() {
    let server = EtcdServer::start_with(Security::TlsClientCertificate);
    let endpoint = server.endpoint();
    let mut watch = EtcdWatch::connect(&endpoint, "/app/keys", Credentials::none().tls(client(ca()))).await.unwrap();
    assert_eq!(format!("{watch:?}"), format!("EtcdWatch({})", server.url("/app/keys")));
    tokio::task::spawn_blocking(move || {
        let store = EtcdStore::connect(&endpoint, "/app/keys", Credentials::none().tls(client(ca()))).unwrap();
        store.create_document(&KeyRing::generate(NOW).unwrap().to_jwk_set()).unwrap();
    })
    .await
    .unwrap();
    let event = tokio::time::timeout(WAIT_MAX, watch.changed()).await.expect("the watch woke");
    assert_eq!(event, WatchEvent::Changed);

    // Without the client certificate, the watch is refused at its start, by name.
    let refused = EtcdWatch::connect(&server.endpoint(), "/app/keys", Credentials::none().tls(ca())).await.unwrap_err();
    assert_eq!(refused.code(), "refused", "{refused}");
}

#[test]
fn the_url_and_the_settings_must_agree_on_tls() {
    let plain = parse_url("etcd://127.0.0.1:2379/app/keys").unwrap();
    let tls = parse_url("etcds://127.0.0.1:2379/app/keys").unwrap();
    assert_eq!(plain.check(&Credentials::none().tls(ca())), Err(SettingsError::PlainUrlWithTls));
    assert_eq!(tls.check(&Credentials::none()), Err(SettingsError::TlsUrlWithoutCa));
    assert_eq!(plain.check(&Credentials::none()), Ok(()));
    assert_eq!(tls.check(&Credentials::none().tls(ca())), Ok(()));
    assert!(SettingsError::PlainUrlWithTls.to_string().contains("use etcds://HOST:PORT/KEY"));
    // No server listens there: the refusal comes before any connection.
    let error = EtcdStore::connect_url("etcd://127.0.0.1:1/app/keys", Credentials::none().tls(ca())).unwrap_err();
    assert!(error.to_string().ends_with("use etcds://"), "{error}");
    let error = EtcdStore::connect_url("etcds://127.0.0.1:1/app/keys", Credentials::none()).unwrap_err();
    assert!(error.to_string().ends_with("needs TLS settings (a CA certificate)"), "{error}");
}

/// Writes `contents` to `name` in `dir`, returning its path.
fn file(dir: &tempfile::TempDir, name: &str, contents: impl AsRef<[u8]>) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[track_caller]
fn assert_file_error(error: SettingsError, kind: FileKind, path: &Path, problem: FileProblem) {
    let text = error.to_string();
    assert_eq!(error, SettingsError::File { kind, path: path.into(), problem }, "{text}");
    assert_eq!(text, format!("cannot use the {kind} {}: {problem}", path.display()));
    assert_eq!(format!("{error:?}"), text);
    assert_holds_nothing_secret(&text);
}

#[test]
fn each_unusable_file_is_named_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let error = Tls::from_ca_file(&missing).unwrap_err();
    assert_file_error(error, FileKind::Ca, &missing, FileProblem::NotFound);
    assert!(Tls::from_ca_file(&missing).unwrap_err().to_string().ends_with("missing.pem: it does not exist"));

    assert_file_error(Tls::from_ca_file(dir.path()).unwrap_err(), FileKind::Ca, dir.path(), FileProblem::NotAFile);

    // A key where the CA belongs, and a certificate where the key belongs.
    let key = tls_file("client-key.pem");
    assert_file_error(Tls::from_ca_file(&key).unwrap_err(), FileKind::Ca, &key, FileProblem::NoCertificate);
    let certificate = tls_file("client.pem");
    let error = ca().client_identity_files(&certificate, &certificate).unwrap_err();
    assert_file_error(error, FileKind::Key, &certificate, FileProblem::NoPrivateKey);
    let error = ca().client_identity_files(&key, &key).unwrap_err();
    assert_file_error(error, FileKind::Certificate, &key, FileProblem::NoCertificate);

    // A damaged block: its end line is missing, or its base64 is not.
    let pem = std::fs::read_to_string(tls_file("ca.pem")).unwrap();
    let cut = file(&dir, "cut.pem", &pem[..pem.len() / 2]);
    assert_file_error(Tls::from_ca_file(&cut).unwrap_err(), FileKind::Ca, &cut, FileProblem::NotPem);
    let garbled = file(&dir, "garbled.pem", "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n");
    assert_file_error(Tls::from_ca_file(&garbled).unwrap_err(), FileKind::Ca, &garbled, FileProblem::NotPem);
    let text = file(&dir, "text.pem", "not a certificate at all\n");
    assert_file_error(Tls::from_ca_file(&text).unwrap_err(), FileKind::Ca, &text, FileProblem::NoCertificate);
}

#[test]
fn a_file_larger_than_its_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let pem = std::fs::read_to_string(tls_file("ca.pem")).unwrap();
    // Valid PEM, repeated past the limit: refused by its size alone.
    let large =
        file(&dir, "bundle.pem", pem.repeat(usize::try_from(CERTIFICATE_FILE_LEN_MAX).unwrap() / pem.len() + 1));
    let len_max = CERTIFICATE_FILE_LEN_MAX;
    assert_file_error(Tls::from_ca_file(&large).unwrap_err(), FileKind::Ca, &large, FileProblem::TooLarge { len_max });
    // Just under it, it is read.
    let bundle = file(&dir, "fits.pem", pem.repeat(usize::try_from(CERTIFICATE_FILE_LEN_MAX).unwrap() / pem.len()));
    Tls::from_ca_file(&bundle).unwrap();

    let key = std::fs::read_to_string(tls_file("client-key.pem")).unwrap();
    let large_key = file(&dir, "key.pem", key.repeat(usize::try_from(KEY_FILE_LEN_MAX).unwrap() / key.len() + 1));
    let error = ca().client_identity_files(&tls_file("client.pem"), &large_key).unwrap_err();
    assert_file_error(error, FileKind::Key, &large_key, FileProblem::TooLarge { len_max: KEY_FILE_LEN_MAX });
}

#[test]
fn settings_print_which_are_set_and_nothing_of_them() {
    assert_eq!(format!("{:?}", Credentials::none()), "Credentials(no user, no TLS)");
    assert_eq!(
        format!("{:?}", Credentials::user("root", PASSWORD).tls(ca())),
        "Credentials(user and password, Tls(CA))"
    );
    assert_eq!(format!("{:?}", client(ca())), "Tls(CA, client certificate)");
    assert!(client(ca()).has_client_certificate() && !ca().has_client_certificate());
}
