//! What a service author meets in the first hour: a key file created where one was expected is
//! logged, and an expired token is told apart so that a client knows to refresh.

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokenring::{FileStore, ManualClock, Rejection, SharedRing};
use tokenring_axum::{Auth, AuthRejection, Authenticated, UNAUTHORIZED_BODY};
use tower::ServiceExt;

use crate::{auth_at, get as request, parts, Captured, NOW};

#[test]
fn a_key_file_created_at_start_is_logged_at_warn_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.jsn"); // a typo: the intended file is keys.json
    let captured = Captured::default();
    captured.during(|| Auth::new(SharedRing::open_or_create(FileStore::new(&path), NOW).unwrap()));
    let log = captured.text();
    let line = log.lines().find(|line| line.contains(" WARN ")).unwrap_or_else(|| panic!("no WARN event: {log:?}"));
    assert!(line.contains(&path.display().to_string()), "the path is named: {line}");
    assert!(line.contains("tokens signed before are unknown here"), "what it means: {line}");

    // The same file, opened again: nothing to warn about.
    let again = Captured::default();
    again.during(|| Auth::new(SharedRing::open_or_create(FileStore::new(&path), NOW).unwrap()));
    assert!(!again.text().contains(" WARN "), "{}", again.text());
    let opened = Captured::default();
    opened.during(|| Auth::new(SharedRing::open(FileStore::new(&path)).unwrap()));
    assert!(!opened.text().contains(" WARN "), "{}", opened.text());
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Session {
    sub: String,
}

async fn me(session: Authenticated<Session>) -> Json<String> {
    Json(session.sub.clone())
}

const INVALID: &str = "Bearer error=\"invalid_token\"";
const EXPIRED: &str = "Bearer error=\"invalid_token\", error_description=\"token expired\"";

#[tokio::test]
async fn an_expired_token_is_told_to_refresh_and_every_other_401_is_unchanged() {
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = auth_at(&clock);
    let app = Router::new().route("/me", get(me)).with_state(auth.clone());
    let token = auth.issue(&Session { sub: "ada".into() }, 60).unwrap();
    clock.advance(60 + 31); // past `exp` and the default leeway
    let bearer = format!("Bearer {token}");
    let expired = parts(app.clone().oneshot(request("/me", &[("authorization", &bearer)])).await.unwrap()).await;
    assert_eq!(expired, (401, Some(EXPIRED.to_owned()), UNAUTHORIZED_BODY.to_owned()));

    // A forged token past its `exp` is a bad signature, not expired: the MAC is checked first.
    let forged = format!("Bearer {}x", &token[..token.len() - 1]);
    let answer = parts(app.clone().oneshot(request("/me", &[("authorization", &forged)])).await.unwrap()).await;
    assert_eq!(answer, (401, Some(INVALID.to_owned()), UNAUTHORIZED_BODY.to_owned()));
    let missing = parts(app.oneshot(request("/me", &[])).await.unwrap()).await;
    assert_eq!(missing, (401, Some("Bearer".to_owned()), UNAUTHORIZED_BODY.to_owned()));

    // Every other rejection answers exactly as before, and no description carries input.
    for code in Rejection::CODES {
        let rejection = match code {
            "malformed" => Rejection::Malformed(tokenring::Malformed::Segments),
            "too-large" => Rejection::TooLarge(tokenring::TooLarge::Token),
            "unsupported-algorithm" => Rejection::UnsupportedAlgorithm,
            "unsupported-header" => Rejection::UnsupportedHeader(tokenring::UnsupportedHeader::Crit),
            "retired-key" => Rejection::RetiredKey,
            "revoked-key" => Rejection::RevokedKey,
            "forgotten-key" => Rejection::ForgottenKey,
            "unknown-key" => Rejection::UnknownKey,
            "bad-signature" => Rejection::BadSignature,
            "expired" => Rejection::Expired,
            "not-yet-valid" => Rejection::NotYetValid,
            "wrong-issuer" => Rejection::WrongIssuer,
            "wrong-audience" => Rejection::WrongAudience,
            "missing-claim" => Rejection::MissingClaim("exp"),
            "invalid-claim" => Rejection::InvalidClaim("exp"),
            other => panic!("a new rejection code {other}: decide its challenge"),
        };
        let response = axum::response::IntoResponse::into_response(AuthRejection::Invalid(rejection));
        let challenge = response.headers().get("www-authenticate").unwrap().as_bytes().to_vec();
        let expected = if code == "expired" { EXPIRED } else { INVALID };
        assert_eq!(challenge, expected.as_bytes(), "{code}");
    }
}
