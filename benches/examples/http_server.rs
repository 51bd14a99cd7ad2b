//! The server `benches/http/run` measures: `GET /me` answered four ways in one process, so that
//! the routes differ only in how the request is authenticated.
//!
//! * `/baseline/me` (a): no authentication; answers the fixture claims, cloned.
//! * `/me` (b): tokenring-axum's `Authenticated<Claims>`.
//! * `/jsonwebtoken/me` (c): the extractor people write on `jsonwebtoken` (`peers/extractors.rs`).
//! * `/token`: the fixture token, for the load generator's `Authorization` header.
//!
//! Every route answers the same typed claims (`tokenring_benches::Claims`) as JSON. Listens on
//! the address given as its only argument (default `127.0.0.1:0`) and prints
//! `listening on http://ADDRESS` once bound.

#![forbid(unsafe_code)]
// A benchmark server: printing its address is its interface.
#![allow(clippy::print_stdout)]

#[path = "../peers/extractors.rs"]
mod extractors;

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::routing::get;
use axum::{Json, Router};
use tokenring_benches::{axum_auth, claims, token, AxumAuthenticated, Claims, KEY};

use extractors::{JwtClaims, JwtKeys};

#[derive(Clone)]
struct AppState {
    auth: tokenring_axum::Auth,
    keys: JwtKeys,
    baseline: Arc<Claims>,
    token: Arc<str>,
}

impl FromRef<AppState> for tokenring_axum::Auth {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl FromRef<AppState> for JwtKeys {
    fn from_ref(state: &AppState) -> Self {
        state.keys.clone()
    }
}

async fn baseline_me(State(state): State<AppState>) -> Json<Claims> {
    Json(Claims::clone(&state.baseline))
}

async fn tokenring_me(session: AxumAuthenticated) -> Json<Claims> {
    Json(session.into_claims())
}

async fn jsonwebtoken_me(JwtClaims(claims): JwtClaims<Claims>) -> Json<Claims> {
    Json(claims)
}

async fn fixture_token(State(state): State<AppState>) -> String {
    state.token.to_string()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address: SocketAddr = match std::env::args().nth(1) {
        Some(address) => address.parse().map_err(|_| "the argument is not a socket address (such as 127.0.0.1:0)")?,
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let state = AppState {
        auth: axum_auth(),
        keys: JwtKeys::new(&KEY),
        baseline: Arc::new(claims()),
        token: Arc::from(token()),
    };
    let app = Router::new()
        .route("/baseline/me", get(baseline_me))
        .route("/me", get(tokenring_me))
        .route("/jsonwebtoken/me", get(jsonwebtoken_me))
        .route("/token", get(fixture_token))
        .with_state(state);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{}", listener.local_addr()?)?;
        stdout.flush()?;
        drop(stdout);
        axum::serve(listener, app).await?;
        Ok(())
    })
}
