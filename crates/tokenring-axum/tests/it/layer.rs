use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Router};
use serde_json::Value;
use tokenring::ManualClock;
use tokenring_axum::{Authenticated, RequireAuthLayer, UNAUTHORIZED_BODY};
use tower::ServiceExt;

use crate::{auth_at, get as request, parts, NOW};

async fn account(Extension(session): Extension<Authenticated<Value>>) -> String {
    session.claims()["sub"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_layer_guards_its_routes_and_leaves_merged_public_routes_open() {
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = auth_at(&clock);
    let token = auth.issue(&serde_json::json!({"sub": "ada"}), 60).unwrap();
    let bearer = format!("Bearer {token}");
    let app = Router::new()
        .route("/account", get(account))
        .route("/settings", get(account))
        .route_layer(RequireAuthLayer::<Value>::new(auth))
        .merge(Router::new().route("/healthz", get(|| async { "ok" })));

    for path in ["/account", "/settings"] {
        let refused = parts(app.clone().oneshot(request(path, &[])).await.unwrap()).await;
        assert_eq!(refused, (401, Some("Bearer".to_owned()), UNAUTHORIZED_BODY.to_owned()), "{path}");
        let forged =
            parts(app.clone().oneshot(request(path, &[("authorization", "Bearer a.b.c")])).await.unwrap()).await;
        assert_eq!(forged.0, 401, "{path}");
        let allowed = parts(app.clone().oneshot(request(path, &[("authorization", &bearer)])).await.unwrap()).await;
        assert_eq!(allowed, (200, None, "ada".to_owned()), "{path}");
    }
    let public = parts(app.clone().oneshot(request("/healthz", &[])).await.unwrap()).await;
    assert_eq!(public, (200, None, "ok".to_owned()));
    let unknown = parts(app.oneshot(request("/nowhere", &[])).await.unwrap()).await;
    assert_eq!(unknown.0, 404, "route_layer leaves unmatched requests to the fallback");
}
