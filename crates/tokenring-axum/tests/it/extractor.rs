use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokenring::{Clock, ManualClock};
use tokenring_axum::{Auth, Authenticated, UNAUTHORIZED_BODY};
use tower::ServiceExt;

use crate::{auth_at, get as request, parts, NOW};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Session {
    sub: String,
}

async fn me(session: Authenticated<Session>) -> Json<String> {
    Json(session.sub.clone())
}

fn app(auth: Auth) -> Router {
    Router::new().route("/me", get(me)).with_state(auth)
}

const INVALID: &str = "Bearer error=\"invalid_token\"";

#[tokio::test]
async fn a_valid_token_reaches_the_handler_and_others_get_one_401() {
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = auth_at(&clock);
    let token = auth.issue(&Session { sub: "ada".into() }, 60).unwrap();
    let bearer = format!("Bearer {token}");

    let ok = parts(app(auth.clone()).oneshot(request("/me", &[("authorization", &bearer)])).await.unwrap()).await;
    assert_eq!(ok, (200, None, "\"ada\"".to_owned()));

    let missing = parts(app(auth.clone()).oneshot(request("/me", &[])).await.unwrap()).await;
    assert_eq!(missing, (401, Some("Bearer".to_owned()), UNAUTHORIZED_BODY.to_owned()));

    let tampered = format!("Bearer {token}x");
    for authorization in ["Bearer", "Bearer not-a-token", tampered.as_str()] {
        let answer =
            parts(app(auth.clone()).oneshot(request("/me", &[("authorization", authorization)])).await.unwrap()).await;
        assert_eq!(answer, (401, Some(INVALID.to_owned()), UNAUTHORIZED_BODY.to_owned()), "{authorization}");
    }

    // The extractor reads time from the Auth's clock: past `exp` and the leeway, the same
    // token is refused.
    clock.advance(60 + 31);
    assert!(clock.now_secs() > NOW);
    let expired = parts(app(auth).oneshot(request("/me", &[("authorization", &bearer)])).await.unwrap()).await;
    let refresh = "Bearer error=\"invalid_token\", error_description=\"token expired\"";
    assert_eq!(expired, (401, Some(refresh.to_owned()), UNAUTHORIZED_BODY.to_owned()));
}

#[tokio::test]
async fn the_token_cookie_is_read_only_when_named() {
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = auth_at(&clock);
    let token = auth.issue(&Session { sub: "ada".into() }, 60).unwrap();
    let cookie = format!("theme=dark; session={token}");

    let unnamed = parts(app(auth.clone()).oneshot(request("/me", &[("cookie", &cookie)])).await.unwrap()).await;
    assert_eq!(unnamed.0, 401);
    let named = auth.cookie("session").unwrap();
    let answer = parts(app(named.clone()).oneshot(request("/me", &[("cookie", &cookie)])).await.unwrap()).await;
    assert_eq!(answer, (200, None, "\"ada\"".to_owned()));
    let other = parts(app(named).oneshot(request("/me", &[("cookie", "session=a.b.c")])).await.unwrap()).await;
    assert_eq!(other, (401, Some(INVALID.to_owned()), UNAUTHORIZED_BODY.to_owned()));
    assert!(Auth::new(tokenring::SharedRing::new(tokenring::KeyRing::generate(NOW).unwrap())).cookie("a;b").is_err());
}

#[tokio::test]
async fn claims_that_do_not_fit_the_type_are_refused() {
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = auth_at(&clock);
    let token = auth.issue(&serde_json::json!({"name": "no sub"}), 60).unwrap();
    let answer =
        parts(app(auth).oneshot(request("/me", &[("authorization", &format!("Bearer {token}"))])).await.unwrap()).await;
    assert_eq!(answer, (401, Some(INVALID.to_owned()), UNAUTHORIZED_BODY.to_owned()));
}

async fn greeting(session: Option<Authenticated<Session>>) -> String {
    session.map_or_else(|| "hello, guest".to_owned(), |session| format!("hello, {}", session.sub))
}

#[tokio::test]
async fn an_optional_extractor_lets_anonymous_requests_in_but_not_bad_tokens() {
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = auth_at(&clock);
    let token = auth.issue(&Session { sub: "ada".into() }, 60).unwrap();
    let app = Router::new().route("/", get(greeting)).with_state(auth);

    let guest = parts(app.clone().oneshot(request("/", &[])).await.unwrap()).await;
    assert_eq!(guest, (200, None, "hello, guest".to_owned()));
    let other_scheme =
        parts(app.clone().oneshot(request("/", &[("authorization", "Basic dTpw")])).await.unwrap()).await;
    assert_eq!(other_scheme, (200, None, "hello, guest".to_owned()));
    let bearer = format!("Bearer {token}");
    let signed_in = parts(app.clone().oneshot(request("/", &[("authorization", &bearer)])).await.unwrap()).await;
    assert_eq!(signed_in, (200, None, "hello, ada".to_owned()));
    let forged = parts(app.oneshot(request("/", &[("authorization", "Bearer a.b.c")])).await.unwrap()).await;
    assert_eq!(forged, (401, Some(INVALID.to_owned()), UNAUTHORIZED_BODY.to_owned()));
}
