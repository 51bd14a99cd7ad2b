//! What a service author meets in the first hour: a claims type in jsonwebtoken's habit, a key
//! path with a typo, a damaged key file printed however the program prints its start-up error.

use serde::{Deserialize, Serialize};
use tokenring::{FileStore, KeyRing, SharedRing, SignError, Validation};

use crate::ring::NOW;

/// The claims type of a jsonwebtoken user: the times are fields of their own.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Session {
    sub: String,
    iat: u64,
    exp: u64,
}

#[test]
fn a_claims_type_with_exp_and_iat_is_issued_and_read_back() {
    let ring = KeyRing::generate(NOW).unwrap();
    let session = Session { sub: "ada".into(), iat: NOW, exp: NOW + 3600 };
    let token = ring.issue(&session, 3600, NOW).unwrap();
    let verified = ring.verify::<Session>(&token, &Validation::new(), NOW + 60).unwrap();
    assert_eq!(verified.claims(), &session);
    assert_eq!(verified.expires_at(), Some(NOW + 3600));
    assert_eq!(verified.issued_at(), Some(NOW));
}

#[test]
fn a_claims_type_without_times_reads_them_from_verified() {
    #[derive(Serialize, Deserialize)]
    struct Plain {
        sub: String,
    }
    let ring = KeyRing::generate(NOW).unwrap();
    let token = ring.issue(&Plain { sub: "ada".into() }, 3600, NOW).unwrap();
    let verified = ring.verify::<Plain>(&token, &Validation::new(), NOW).unwrap();
    assert_eq!(verified.expires_at(), Some(NOW + 3600));
    assert_eq!(verified.issued_at(), Some(NOW));
    assert_eq!(verified.not_before(), Some(NOW));
}

#[test]
fn a_time_of_the_callers_own_outside_the_lifetime_is_refused_by_name() {
    let ring = KeyRing::generate(NOW).unwrap();
    for (session, claim) in [
        // A placeholder left at zero: the token would be born expired.
        (Session { sub: "ada".into(), iat: NOW, exp: 0 }, "exp"),
        // Later than the time-to-live allows.
        (Session { sub: "ada".into(), iat: NOW, exp: NOW + 3601 }, "exp"),
        // Issued in the future.
        (Session { sub: "ada".into(), iat: NOW + 1, exp: NOW + 3600 }, "iat"),
    ] {
        let error = ring.issue(&session, 3600, NOW).unwrap_err();
        assert_eq!(error, SignError::TimeClaim(claim));
        let text = error.to_string();
        assert!(text.contains(&format!("`{claim}`")), "{text}");
        assert!(text.contains("leave it out"), "the fix is named: {text}");
    }
}

/// A fresh directory under the system's temporary directory, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("tokenring-first-hour-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_typo_in_the_key_path_fails_open_naming_the_path() {
    let dir = TempDir::new("typo");
    let typo = dir.0.join("keys.jsn");
    let error = SharedRing::open(FileStore::new(&typo)).unwrap_err();
    let shown = typo.display().to_string();
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(text.contains(&shown), "the path is named: {text}");
        assert!(text.contains("does not exist"), "the cause in words: {text}");
    }
    assert!(!typo.exists(), "open creates nothing");
}

#[test]
fn a_damaged_key_file_names_its_path_and_cause_however_it_is_printed() {
    let dir = TempDir::new("corrupt");
    let path = dir.0.join("keys.json");
    std::fs::write(&path, "{\"keys\":\n").unwrap();
    let shown = path.display().to_string();
    let cause = "not valid JSON (line 2, column 0)";

    // `SharedRing::open` and `FileStore::load` answer a `StoreError`, `open_or_create` an
    // `Error`; a `main` returning `Box<dyn Error>` prints either with `{:?}`.
    let errors: [Box<dyn std::error::Error>; 3] = [
        Box::new(SharedRing::open(FileStore::new(&path)).unwrap_err()),
        Box::new(FileStore::new(&path).load().unwrap_err()),
        Box::new(SharedRing::open_or_create(FileStore::new(&path), NOW).unwrap_err()),
    ];
    for error in errors {
        for text in [error.to_string(), format!("{error:?}"), format!("{error:#?}")] {
            assert!(text.contains(&shown), "the path is named: {text}");
            assert!(text.contains(cause), "the cause in words: {text}");
        }
        assert!(error.source().is_some(), "the key set's fault is the source");
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"keys\":\n", "left untouched");
}
