//! What the library prints: no token, signature or key in any output, rejection codes listed
//! and kebab-case, and the documented `Debug` forms.

use serde_json::Value;
use tokenring::{
    Key, KeyRing, Kid, Malformed, Rejection, Scratch, StoreError, TooLarge, UnsupportedHeader, Validation,
};

use crate::ring::NOW;

/// Every substring of `secret` this long is forbidden in output.
const WINDOW: usize = 8;

fn assert_free_of(output: &str, secret: &str, what: &str) {
    if secret.len() < WINDOW {
        assert!(!output.contains(secret), "{what} leaked into {output:?}");
        return;
    }
    for start in 0..=secret.len() - WINDOW {
        let piece = &secret[start..start + WINDOW];
        assert!(!output.contains(piece), "part of the {what} ({piece}) leaked into {output:?}");
    }
}

#[test]
fn rejections_never_print_the_token_signature_or_key() {
    let secret = [0x5Au8; 32];
    let mut ring = KeyRing::with_key(Key::from_bytes(&secret).unwrap(), Some(Kid::new("k1").unwrap()), NOW);
    let key_b64 = {
        use base64ct::Encoding as _;
        base64ct::Base64UrlUnpadded::encode_string(&secret)
    };
    let good = ring.issue(&serde_json::json!({"sub": "alice", "iss": "someone-else"}), 60, NOW).unwrap();
    let segments: Vec<&str> = good.split('.').collect();
    let tampered = format!("{}.{}x.{}", segments[0], &segments[1][..segments[1].len() - 1], segments[2]);
    let attacker_kid = format!(
        "{}.{}.{}",
        "eyJhbGciOiJIUzI1NiIsImtpZCI6InNlY3JldC1hdHRhY2tlci1jaG9zZW4ta2lkIn0", segments[1], segments[2]
    );
    let alg_none = format!("eyJhbGciOiJub25lIn0.{}.{}", segments[1], segments[2]);
    let huge = "A".repeat(tokenring::limits::TOKEN_LEN_MAX + 1);
    let other = KeyRing::generate(NOW).unwrap();
    let foreign = other.issue(&serde_json::json!({"sub": "bob"}), 60, NOW).unwrap();
    ring.rotate(&tokenring::Rotation::new().propagation_secs(0).overlap_secs(0), NOW).unwrap();

    let mut outputs = Vec::new();
    let validation = Validation::new().issuer("me").leeway_secs(0);
    for token in [&good, &tampered, &attacker_kid, &alg_none, &huge, &foreign, &"garbage".to_owned()] {
        for now in [NOW, NOW + 3600] {
            if let Err(rejection) = ring.verify::<Value>(token, &validation, now) {
                outputs.push(format!("{rejection} {rejection:?} {}", rejection.explanation()));
            }
            if let Err(rejection) = ring.verify_jws(token, &mut Scratch::new(), now) {
                outputs.push(format!("{rejection} {rejection:?}"));
            }
        }
    }
    // Every variant: a new one fails the count against `Rejection::CODES` until it is listed.
    let every_variant = [
        Rejection::Malformed(Malformed::Segments),
        Rejection::TooLarge(TooLarge::Token),
        Rejection::UnsupportedAlgorithm,
        Rejection::UnsupportedHeader(UnsupportedHeader::Crit),
        Rejection::RetiredKey,
        Rejection::RevokedKey,
        Rejection::ForgottenKey,
        Rejection::UnknownKey,
        Rejection::BadSignature,
        Rejection::Expired,
        Rejection::NotYetValid,
        Rejection::WrongIssuer,
        Rejection::WrongAudience,
        Rejection::MissingClaim("exp"),
        Rejection::InvalidClaim("exp"),
    ];
    let mut codes: Vec<&str> = every_variant.iter().map(|rejection| rejection.code()).collect();
    codes.sort_unstable();
    let mut all = Rejection::CODES.to_vec();
    all.sort_unstable();
    assert_eq!(codes, all, "every variant is listed");
    for rejection in every_variant {
        outputs.push(format!("{rejection} {rejection:?}"));
    }
    outputs.push(format!("{ring:?}"));
    outputs.push(format!("{:?}", Key::from_bytes(&secret).unwrap()));
    assert!(outputs.len() > 20);
    for output in &outputs {
        for secret_text in [&good, &tampered, &foreign, &attacker_kid, &alg_none] {
            for segment in secret_text.split('.').skip(1) {
                assert_free_of(output, segment, "token");
            }
        }
        assert_free_of(output, &key_b64, "key");
        assert!(!output.contains("secret-attacker-chosen-kid"), "attacker kid leaked into {output:?}");
        let lowercase_hex: String = secret.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_free_of(output, &lowercase_hex, "key (hex)");
        assert!(!output.contains("90, 90, 90, 90"), "key bytes leaked into {output:?}");
    }
}

#[test]
fn every_code_is_listed_and_kebab_case() {
    let codes = Rejection::CODES;
    for code in codes {
        assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{code}");
    }
    let mut sorted = codes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), codes.len());
    assert_eq!(Rejection::RetiredKey.code(), "retired-key");
    assert!(Rejection::RetiredKey.is_routine());
    assert!(Rejection::Expired.is_routine());
    for suspicious in [
        Rejection::BadSignature,
        Rejection::UnknownKey,
        Rejection::Malformed(Malformed::Segments),
        Rejection::UnsupportedAlgorithm,
        Rejection::UnsupportedHeader(UnsupportedHeader::Crit),
    ] {
        assert!(!suspicious.is_routine(), "{suspicious}");
    }
    // Display starts with the code and is lowercase.
    let display = Rejection::BadSignature.to_string();
    assert!(display.starts_with("bad-signature: "));
    assert_eq!(display, display.to_lowercase());
}

#[test]
fn kids_and_scratch_debug_print_as_documented() {
    assert_eq!(format!("{:?}", Kid::new("key-1").unwrap()), r#"Kid("key-1")"#);
    assert_eq!(format!("{:?}", Scratch::new()), "Scratch { .. }");
}

#[test]
fn known_kid_names_only_identifiers_the_ring_chose() {
    use tokenring::limits::HEADER_LEN_MAX;
    use tokenring::Rotation;

    use crate::helpers::{b64, signed};

    let mut ring = KeyRing::generate(NOW).unwrap();
    let first = ring.active_kid(NOW).unwrap();
    let old = ring.issue(&serde_json::json!({"sub": "ada"}), 60, NOW).unwrap();
    ring.rotate(&Rotation::new().propagation_secs(0).overlap_secs(10).forget_after_secs(10), NOW).unwrap();
    let active = ring.active_kid(NOW).unwrap();
    let new = ring.issue(&serde_json::json!({"sub": "ada"}), 60, NOW).unwrap();
    assert_ne!(first, active);
    assert_eq!(ring.known_kid(&new), Some(active), "the ring's own header");
    assert_eq!(ring.known_kid(&old), Some(first), "a key it holds, no longer signing");
    // The same kid in a header written differently is still found.
    let spaced = signed(&format!(r#"{{ "kid": "{first}", "alg": "HS256" }}"#), "{}");
    assert_eq!(ring.known_kid(&spaced), Some(first));

    // Forgotten and pruned: the ring no longer holds the key, but it did issue the kid.
    let later = NOW + 60;
    assert_eq!(ring.prune(later), 1);
    assert!(ring.keys(later).iter().all(|key| key.kid != Some(first)));
    assert_eq!(ring.known_kid(&old), Some(first), "a kid it issued and forgot");

    let never = signed(r#"{"alg":"HS256","kid":"attacker-chosen"}"#, "{}");
    let without = signed(r#"{"alg":"HS256"}"#, "{}");
    let alg_none = format!("{}.{}.", b64(format!(r#"{{"alg":"none","kid":"{active}"}}"#).as_bytes()), b64(b"{}"));
    let not_a_string = signed(r#"{"alg":"HS256","kid":7}"#, "{}");
    let oversized =
        signed(&format!(r#"{{"alg":"HS256","kid":"{active}","pad":"{}"}}"#, "x".repeat(HEADER_LEN_MAX)), "{}");
    for (token, what) in [
        (never.as_str(), "a kid the ring never had"),
        (without.as_str(), "no kid"),
        (alg_none.as_str(), "a header verification refuses"),
        (not_a_string.as_str(), "a kid that is not a string"),
        (oversized.as_str(), "a header over its limit"),
        ("!!!.e30.sig", "not base64url"),
        ("", "empty"),
        ("no-dot-at-all", "one segment"),
    ] {
        assert_eq!(ring.known_kid(token), None, "{what}");
    }
    // A header segment longer than any header within the limit is not decoded, dot or no dot.
    let long = format!("{}.e30.sig", "A".repeat(4 * HEADER_LEN_MAX));
    assert_eq!(ring.known_kid(&long), None);
    // A header of exactly the limit is: its segment is as long as one can be.
    let start = format!(r#"{{"alg":"HS256","kid":"{active}","pad":""#);
    let at_limit = format!("{start}{}\"}}", "x".repeat(HEADER_LEN_MAX - start.len() - 2));
    assert_eq!(at_limit.len(), HEADER_LEN_MAX);
    assert_eq!(ring.known_kid(signed(&at_limit, "{}")), Some(active));
}

/// Every write and read of `store`, each error that it returns kept in `errors`.
fn attempt_everything(store: &tokenring::FileStore, errors: &mut Vec<tokenring::Error>) {
    let ring = KeyRing::generate(NOW).unwrap();
    errors.extend(store.save(&ring).err().map(Into::into));
    errors.extend(store.create(&ring).err().map(Into::into));
    errors.extend(store.update(|ring| Ok(ring.rotate(&tokenring::Rotation::new(), NOW + 1)?)).err());
    errors.extend(store.load().err().map(Into::into));
    errors.extend(store.load_or_create(NOW).err());
}

/// The `Display` and `Debug` of every error a store at `path` returns, and of the store
/// itself; and the store errors. On a storage that fails its first, second, ... changing
/// operation, with and without a key file; on the operating system's file system, with the
/// file's name in a directory that does not exist, a directory where the key file or its lock
/// file should be, and the file's name as a directory that does not exist.
fn store_outputs(path: &std::path::Path) -> (Vec<String>, Vec<StoreError>) {
    use std::sync::Arc;

    use tokenring::{Error, FileStore};

    use tokenring_testkit::storage::MemoryStorage;

    let mut outputs = Vec::new();
    let mut errors = Vec::new();
    for crash_at in 0..8 {
        for existing in [false, true] {
            let storage = Arc::new(MemoryStorage::new());
            let store = FileStore::with_storage(path, storage.clone());
            if existing {
                store.create(&KeyRing::generate(NOW).unwrap()).unwrap();
            }
            storage.crash_after(Some(crash_at));
            outputs.push(format!("{store:?}"));
            attempt_everything(&store, &mut errors);
        }
    }
    let name = path.file_name().unwrap().to_str().unwrap();
    for (made, path) in [
        (None, "absent/NAME".to_owned()),
        (Some("NAME"), "NAME".to_owned()),
        (Some(".NAME.lock"), "NAME".to_owned()),
        (None, "NAME/keys.json".to_owned()),
    ] {
        let dir = crate::persistence::temp_dir();
        if let Some(made) = made {
            std::fs::create_dir(dir.join(made.replace("NAME", name))).unwrap();
        }
        let store = FileStore::new(dir.join(path.replace("NAME", name)));
        outputs.push(format!("{store:?}"));
        attempt_everything(&store, &mut errors);
        std::fs::remove_dir_all(dir).unwrap();
    }
    let mut store_errors = Vec::new();
    for error in errors {
        outputs.push(format!("{error} {error:?}"));
        if let Error::Store(error) = error {
            outputs.push(format!("{error} {error:?}"));
            store_errors.push(error);
        }
    }
    (outputs, store_errors)
}

#[test]
fn a_token_given_as_a_key_files_path_is_never_printed() {
    let token = KeyRing::generate(NOW).unwrap().issue(&serde_json::json!({"sub": "ada"}), 60, NOW).unwrap();
    let signature = token.rsplit('.').next().unwrap();
    let (outputs, errors) = store_outputs(&std::path::Path::new("/keys").join(&token));
    assert!(errors.iter().any(|error| matches!(error, StoreError::NotAFile { .. })));
    assert!(errors
        .iter()
        .any(|error| matches!(error, StoreError::DirectoryNotFound { path } if path.ends_with(&token))));
    // Not vacuous: the errors name files derived from the token (the lock, the temporary
    // file, the key file itself, a directory), and every step of a write failed somewhere.
    let named: Vec<_> = errors
        .iter()
        .filter_map(|error| match error {
            StoreError::Io { path, .. }
            | StoreError::NotAFile { path }
            | StoreError::DirectoryNotFound { path }
            | StoreError::SymlinkLoop { path }
            | StoreError::AlreadyExists { path }
            | StoreError::Locked { path }
            | StoreError::InTheWay { path, .. } => Some(path.to_string_lossy().into_owned()),
            _ => None,
        })
        .filter(|path| path.contains(&token))
        .collect();
    for derived in [format!(".{token}.lock"), format!("/keys/{token}"), format!("/{token}")] {
        assert!(named.iter().any(|path| path.ends_with(&derived)), "no error names {derived}: {named:?}");
    }
    // The temporary file's name ends in a random number.
    let temporary = format!(".{token}.tmp.");
    assert!(named.iter().any(|path| path.contains(&temporary)), "no error names {temporary}N: {named:?}");
    // The paths the errors hold print redacted on their own too, as a structured log field or
    // a derived `Debug` of a caller's type holding one prints them.
    let paths: Vec<String> = errors
        .iter()
        .filter_map(|error| match error {
            StoreError::Io { path, .. }
            | StoreError::Corrupt { path, .. }
            | StoreError::NotFound { path }
            | StoreError::NotAFile { path }
            | StoreError::DirectoryNotFound { path }
            | StoreError::SymlinkLoop { path }
            | StoreError::AlreadyExists { path }
            | StoreError::Locked { path }
            | StoreError::InTheWay { path, .. } => Some(format!("{path} {path:?} {:?}", (path, 1))),
            _ => None,
        })
        .collect();
    assert!(paths.len() >= named.len());
    for output in outputs.iter().chain(&paths) {
        assert_free_of(output, &token, "token");
        assert_free_of(output, signature, "signature");
    }
    assert!(outputs.iter().any(|output| output.contains("<path not shown: it looks like a token>")));
}

#[test]
fn an_ordinary_key_files_path_is_printed() {
    let (outputs, _) = store_outputs(std::path::Path::new("/keys/keys.json"));
    assert!(outputs.iter().any(|output| output.contains("cannot write /keys/.keys.json.tmp.")), "{outputs:#?}");
    // The error's `Debug` reads as its `Display`: the path is printed by both.
    let naming = outputs.iter().filter(|output| output.contains("cannot write /keys/.keys.json.tmp.")).count();
    assert!(naming >= 2, "{outputs:#?}");
    assert!(outputs.iter().any(|output| output.contains(r#"FileStore { path: "/keys/keys.json""#)), "{outputs:#?}");
    assert!(outputs.iter().all(|output| !output.contains("not shown")));
}

#[test]
fn a_symbolic_links_target_prints_redacted_when_it_looks_like_a_token() {
    use tokenring::EntryKind;
    let token = KeyRing::generate(NOW).unwrap().issue(&serde_json::json!({"sub": "ada"}), 60, NOW).unwrap();
    let signature = token.rsplit('.').next().unwrap();
    let shown = format!("{:?}", EntryKind::Symlink(std::path::Path::new("..data").join(&token).into()));
    assert_free_of(&shown, &token, "token");
    assert_free_of(&shown, signature, "signature");
    assert_eq!(shown, "Symlink(<path not shown: it looks like a token>)");
    assert_eq!(
        format!("{:?}", EntryKind::Symlink(std::path::Path::new("..data/keys.json").into())),
        r#"Symlink("..data/keys.json")"#
    );
    assert_eq!(format!("{:?}", [EntryKind::File, EntryKind::Other]), "[File, Other]");
}
