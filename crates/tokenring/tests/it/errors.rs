//! What errors say: every Display is lowercase, specific, and chains to its source.

use std::error::Error as _;
use std::io;

use tokenring::limits::{DURATION_SECS_MAX, KID_LEN_MAX};
use tokenring::{
    Error, Fingerprint, KeyError, KeySetError, Malformed, Rejection, SignError, StoreError, StoreOp, TooLarge,
    UnsupportedHeader,
};

#[test]
fn rejection_details() {
    assert_eq!(Rejection::MissingClaim("exp").claim(), Some("exp"));
    assert_eq!(Rejection::InvalidClaim("aud").claim(), Some("aud"));
    assert_eq!(Rejection::BadSignature.claim(), None);
    assert_eq!(Rejection::MissingClaim("exp").to_string(), "missing-claim: required claim `exp` is absent");
    assert_eq!(Rejection::InvalidClaim("aud").to_string(), "invalid-claim: claim `aud` has the wrong type");
    assert_eq!(Rejection::MissingClaim("exp").explanation(), "a required claim is absent");
    assert_eq!(Rejection::Expired.to_string(), "expired: the token has expired");
    assert_eq!(Rejection::Malformed(Malformed::EmptyHeader).explanation(), "the header segment is empty");
    for (rejection, code) in [
        (Rejection::Malformed(Malformed::Segments), "malformed"),
        (Rejection::TooLarge(TooLarge::Token), "too-large"),
        (Rejection::UnsupportedAlgorithm, "unsupported-algorithm"),
        (Rejection::UnsupportedHeader(UnsupportedHeader::Crit), "unsupported-header"),
        (Rejection::RetiredKey, "retired-key"),
        (Rejection::UnknownKey, "unknown-key"),
        (Rejection::BadSignature, "bad-signature"),
        (Rejection::Expired, "expired"),
        (Rejection::NotYetValid, "not-yet-valid"),
        (Rejection::WrongIssuer, "wrong-issuer"),
        (Rejection::WrongAudience, "wrong-audience"),
        (Rejection::MissingClaim("x"), "missing-claim"),
        (Rejection::InvalidClaim("x"), "invalid-claim"),
    ] {
        assert_eq!(rejection.code(), code);
        assert!(Rejection::CODES.contains(&code));
        let display = rejection.to_string();
        assert!(display.starts_with(&format!("{code}: ")), "{display}");
        assert!(display.len() > code.len() + 6, "an explanation follows the code: {display}");
    }
}

#[test]
fn error_display_and_sources() {
    let path = tokenring::RedactedPathBuf::from(std::path::Path::new("/srv/app/keys.json"));
    let corrupt = StoreError::Corrupt { path: path.clone(), error: KeySetError::Empty };
    assert_eq!(
        corrupt.to_string(),
        "key file /srv/app/keys.json is not a usable HS256 key set (left untouched): key set has no keys"
    );
    assert_eq!(format!("{corrupt:?}"), corrupt.to_string(), "Debug reads as Display");
    assert_eq!(corrupt.source().map(ToString::to_string), Some("key set has no keys".to_owned()));
    let missing = StoreError::NotFound { path: path.clone() };
    assert_eq!(missing.to_string(), "key file /srv/app/keys.json does not exist");
    assert!(missing.source().is_none());
    let io = StoreError::Io { op: StoreOp::Rename, kind: io::ErrorKind::PermissionDenied, path: path.clone() };
    assert_eq!(io.to_string(), "cannot rename /srv/app/keys.json: permission denied");
    for (op, verb) in [
        (StoreOp::Read, "read"),
        (StoreOp::Write, "write"),
        (StoreOp::Sync, "sync"),
        (StoreOp::Rename, "rename"),
        (StoreOp::Lock, "lock"),
    ] {
        let error = StoreError::Io { op, kind: io::ErrorKind::Other, path: path.clone() };
        assert!(error.to_string().starts_with(&format!("cannot {verb} /srv/app/keys.json: ")), "{error}");
    }
    assert_eq!(
        StoreError::AlreadyExists { path: path.clone() }.to_string(),
        "key file /srv/app/keys.json already exists"
    );
    assert_eq!(
        StoreError::Locked { path: path.clone() }.to_string(),
        "key file /srv/app/keys.json is locked by another writer; try again"
    );

    let wrapped: Error = StoreError::Corrupt { path: path.clone(), error: KeySetError::TooManyKeys }.into();
    assert_eq!(
        wrapped.to_string(),
        "key file /srv/app/keys.json is not a usable HS256 key set (left untouched): key set has more than 64 keys"
    );
    assert_eq!(format!("{wrapped:?}"), wrapped.to_string(), "Debug reads as Display");
    assert!(wrapped
        .source()
        .is_some_and(|source| source.to_string().starts_with("key file /srv/app/keys.json is not")));
    let key: Error = KeyError::TooShort { bits: 8 }.into();
    assert_eq!(key.to_string(), "key is 8 bits, HS256 needs at least 256 (RFC 7518 section 3.2)");
    assert!(key.source().is_some());
    let set: Error = KeySetError::DuplicateKid { index: 1 }.into();
    assert_eq!(set.to_string(), "key 1: kid is missing or not unique, key choice would be ambiguous");
    assert!(set.source().is_some());
    let sign: Error = SignError::DuplicateClaim.into();
    assert_eq!(sign.to_string(), "claims name a member twice");
    assert!(sign.source().is_some());

    for text in [
        SignError::NoActiveKey.to_string(),
        SignError::Claims.to_string(),
        SignError::TooLarge.to_string(),
        SignError::DurationTooLong { secs: DURATION_SECS_MAX + 1 }.to_string(),
        SignError::TimeOverflow.to_string(),
        SignError::InvalidClaim("iss").to_string(),
        SignError::Malformed(Malformed::ClaimsText).to_string(),
        KeyError::TooLong { bits: 8 }.to_string(),
        KeyError::InvalidKid.to_string(),
        KeyError::RingFull.to_string(),
        KeyError::UnknownKid.to_string(),
        KeyError::DurationTooLong { secs: DURATION_SECS_MAX + 1 }.to_string(),
        KeyError::Entropy.to_string(),
        KeySetError::Json { line: 3, column: 9 }.to_string(),
        KeySetError::InvalidIssuedKids.to_string(),
        KeySetError::Key { index: 2, error: KeyError::InvalidKid }.to_string(),
    ] {
        assert!(text.len() > 10, "{text}");
        assert_eq!(text.chars().next().map(char::is_lowercase), Some(true), "lowercase: {text}");
    }
    assert_eq!(KeySetError::Json { line: 3, column: 9 }.to_string(), "key set is not valid JSON (line 3, column 9)");
}

/// A limit is quoted from `limits`, and one limit has one name: a time-to-live and a rotation's
/// durations are held to `DURATION_SECS_MAX` and reported as `DurationTooLong`, with the
/// duration given.
#[test]
fn errors_quote_their_limits() {
    let days = DURATION_SECS_MAX / 86_400;
    assert_eq!(
        SignError::DurationTooLong { secs: DURATION_SECS_MAX + 1 }.to_string(),
        format!(
            "time-to-live of {} seconds is longer than the limit of {DURATION_SECS_MAX} seconds ({days} days)",
            DURATION_SECS_MAX + 1
        )
    );
    assert_eq!(
        KeyError::DurationTooLong { secs: 400_000_000 }.to_string(),
        format!("rotation duration of 400000000 seconds is longer than the limit of {DURATION_SECS_MAX} seconds ({days} days)")
    );
    assert!(KeyError::InvalidKid.to_string().contains(&format!("1 to {KID_LEN_MAX} printable ASCII characters")));
}

/// Every store error has a stable kebab-case reason, its own, for logs and metrics.
#[test]
fn store_errors_have_stable_codes() {
    let path = || tokenring::RedactedPathBuf::from(std::path::Path::new("/srv/app/keys.json"));
    let store = || tokenring::StoreName::new("etcds://10.0.0.5:2379/app/keys");
    let errors = [
        (StoreError::Io { op: StoreOp::Read, kind: io::ErrorKind::Other, path: path() }, "io"),
        (StoreError::Corrupt { path: path(), error: KeySetError::Empty }, "corrupt"),
        (StoreError::AlreadyExists { path: path() }, "already-exists"),
        (StoreError::NotFound { path: path() }, "not-found"),
        (StoreError::Locked { path: path() }, "locked"),
        (StoreError::NotAFile { path: path() }, "not-a-file"),
        (StoreError::SymlinkLoop { path: path() }, "symlink-loop"),
        (StoreError::DirectoryNotFound { path: path() }, "directory-not-found"),
        (StoreError::InTheWay { path: path(), what: "a file" }, "in-the-way"),
        (StoreError::Unavailable { store: store(), op: StoreOp::Read, reason: "cannot reach etcd" }, "unavailable"),
        // Told apart from `unavailable`: waiting does not help, the settings must change.
        (StoreError::Refused { store: store(), op: StoreOp::Read, reason: "etcd refused the password" }, "refused"),
    ];
    for (error, code) in &errors {
        assert_eq!(error.code(), *code, "{error}");
        assert!(code.bytes().all(|byte| byte.is_ascii_lowercase() || byte == b'-'), "{code}");
    }
    let mut codes: Vec<&str> = errors.iter().map(|(error, _)| error.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len(), "every variant has its own code");
}

#[test]
fn fingerprints_print_as_twelve_hex_digits() {
    let fingerprint = Fingerprint::of("a.b.c");
    // SHA-256("a.b.c") begins 0x0f 0xd7 ... : the fingerprint is its first six bytes in hex.
    let expected: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(b"a.b.c")[..6].iter().map(|byte| format!("{byte:02x}")).collect()
    };
    assert_eq!(fingerprint.to_string(), expected);
    assert_eq!(format!("{fingerprint:?}"), format!("Fingerprint({expected})"));
    assert_ne!(Fingerprint::of("a.b.d"), fingerprint);
}
