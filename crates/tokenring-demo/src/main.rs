//! `tokenring-demo`: a small HTTP service on `tokenring-axum`, to show (and to test, with real
//! processes) that users stay logged in across restarts and key rotations, and that no token is
//! ever logged.
//!
//! Routes: `POST /login` (`{"user":"NAME"}` → `{"token":"..."}`), `GET /me` (the verified
//! claims), `GET /healthz` (the ring's generation, key count, active `kid`, last reload).

#![forbid(unsafe_code)]

mod usage;

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokenring::{Clock, FileStore, KeyRing, Loaded, RedactedPath, SharedRing, SystemClock, Validation};
use tokenring_axum::{Auth, Authenticated, Opened, ReloadOptions, ReloadOutcome, Reloader, POLL_MAX, POLL_MIN};

/// The issuer and audience of the demo's tokens.
const ISSUER: &str = "tokenring-demo";
/// Lifetime of a login token, in seconds.
const TOKEN_TTL_SECS: u64 = 3600;
/// Longest user name accepted, in characters.
const USER_LEN_MAX: usize = 64;
/// Largest login body read, in bytes.
const LOGIN_BODY_LEN_MAX: usize = 1024;
/// How long open connections may finish after Ctrl-C or SIGTERM before the server stops
/// waiting for them.
const CONNECTIONS_GRACE: Duration = Duration::from_secs(2);
/// What `--keys` starts with to name an etcd key rather than a file: plain text, or TLS.
const ETCD_SCHEMES: [&str; 2] = ["etcd://", "etcds://"];
/// How long the runtime waits, once the server has stopped, for blocking work (a key file read
/// on a hung file system) before the process exits anyway. With [`CONNECTIONS_GRACE`], the
/// process ends within five seconds of the signal.
const BLOCKING_GRACE: Duration = Duration::from_secs(1);

/// A demo HTTP service on tokenring-axum: log in, and stay logged in across restarts and key
/// rotations.
#[derive(Debug, Parser)]
#[command(name = "tokenring-demo", version)]
struct Args {
    /// The JWK Set key file: loaded, or created with a fresh key on the first start (logged at
    /// warn: tokens signed before are unknown to a new file). `etcd://HOST:PORT/KEY` keeps it
    /// under an etcd key instead, reloaded as soon as etcd reports a change; `etcds://` over
    /// TLS (TOKENRING_ETCD_CA_FILE, and TOKENRING_ETCD_CERT_FILE with TOKENRING_ETCD_KEY_FILE
    /// for a client certificate). Credentials from TOKENRING_ETCD_USER and
    /// TOKENRING_ETCD_PASSWORD or TOKENRING_ETCD_PASSWORD_FILE, never from the URL.
    #[arg(long, value_name = "FILE", required_unless_present = "ephemeral", conflicts_with = "ephemeral")]
    keys: Option<PathBuf>,
    /// A fresh key at every start, held in memory only: every restart logs every user out.
    #[arg(long)]
    ephemeral: bool,
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// How often to read the key file for changes (e.g. 500ms, 10s, 1m) [default: 30s, the
    /// reloader's own]
    #[arg(long, value_name = "DUR", value_parser = parse_poll)]
    poll: Option<Duration>,
    /// Do not watch the key file's directory for events; poll only.
    #[arg(long)]
    no_watch: bool,
    /// Also serve `GET /baseline/me`: the `/me` handler's work without authentication, for the
    /// HTTP benchmark (benches/http/run).
    #[arg(long, hide = true)]
    bench_baseline: bool,
}

#[derive(Clone)]
struct AppState {
    auth: Auth,
    reloader: Arc<Reloader>,
    /// What `/baseline/me` answers: claims of the shape `/me` answers.
    baseline: Arc<Session>,
}

impl FromRef<AppState> for Auth {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// The `--poll` interval: a duration in tokenring's grammar (`500ms`, `10s`, `2m`), within the
/// reloader's bounds, which are refused rather than clamped to.
fn parse_poll(text: &str) -> Result<Duration, String> {
    let interval = tokenring::duration::parse(text).map_err(|error| error.to_string())?;
    if !(POLL_MIN..=POLL_MAX).contains(&interval) {
        return Err(format!("the poll interval must be from {POLL_MIN:?} to {POLL_MAX:?}"));
    }
    Ok(interval)
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => return ExitCode::from(usage::report(&error)),
    };
    if let Some(code) = args.keys.as_deref().and_then(usage::refuse_token_like) {
        return ExitCode::from(code);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(serve(args));
    // Dropping the runtime would wait for every blocking task without a bound.
    runtime.shutdown_timeout(BLOCKING_GRACE);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "tokenring-demo stopped");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let now = SystemClock.now_secs();
    let etcd_url = args
        .keys
        .as_deref()
        .and_then(Path::to_str)
        .filter(|keys| ETCD_SCHEMES.iter().any(|scheme| keys.starts_with(scheme)));
    let mut watch = None;
    let opened: Opened = match (&args.keys, etcd_url) {
        (_, Some(url)) => {
            let url = tokenring_etcd::parse_url(url)?;
            let credentials = tokenring_etcd::Credentials::from_env()?;
            url.check(&credentials)?;
            let store_credentials = credentials.clone();
            let (endpoint, key) = (url.endpoint().to_owned(), url.key().to_owned());
            // The etcd store blocks on a runtime of its own: off this runtime's threads.
            let (ring, loaded) = tokio::task::spawn_blocking(move || {
                let store = tokenring_etcd::EtcdStore::connect(&endpoint, &key, store_credentials)?;
                SharedRing::open_or_create(store, now)
            })
            .await??;
            if loaded == Loaded::Existing {
                tracing::info!(store = %url, "key set loaded from etcd");
            }
            watch = Some(tokenring_etcd::EtcdWatch::connect(url.endpoint(), url.key(), credentials).await?);
            (ring, loaded).into()
        }
        (Some(path), None) => {
            let (ring, loaded) = SharedRing::open_or_create(FileStore::new(path), now)?;
            if loaded == Loaded::Existing {
                tracing::info!(path = %RedactedPath::new(path), "key file loaded");
            }
            (ring, loaded).into()
        }
        (None, None) => SharedRing::new(KeyRing::generate(now)?).into(),
    };

    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            let reason = std::io::Error::from(error.kind());
            return Err(format!(
                "cannot listen on {}: {reason} (choose another address with --listen ADDR; port 0 picks a free port)",
                args.listen
            )
            .into());
        }
    };
    let address = listener.local_addr()?;
    tracing::info!(%address, "serving");
    // Right after `serving`, so that the first thing a reader of the log sees about the keys is
    // a key file that was just created (a `warn` from `Auth::new`): every earlier token is
    // unknown to it. The reloader watches before `listening on` is printed: a change made as
    // soon as the server is up is seen.
    if args.keys.is_none() {
        tracing::info!("ephemeral key held in memory only: every restart logs every user out");
    }
    let auth = Auth::new(opened).validation(Validation::new().issuer(ISSUER).audience(ISSUER));
    let mut options = ReloadOptions::new().watch(!args.no_watch);
    if let Some(poll) = args.poll {
        options = options.poll(poll);
    }
    let reloader = match watch {
        Some(watch) => Reloader::spawn_with(&auth, options, watch)?,
        None => Reloader::spawn(&auth, options)?,
    };
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{address}")?;
        stdout.flush()?;
    }
    let baseline = Session {
        sub: "bench".to_owned(),
        iss: ISSUER.to_owned(),
        aud: ISSUER.to_owned(),
        iat: now,
        nbf: now,
        exp: now + TOKEN_TTL_SECS,
    };
    let state = AppState { auth, reloader: Arc::new(reloader), baseline: Arc::new(baseline) };

    let mut app = Router::new().route("/login", post(login)).route("/me", get(me)).route("/healthz", get(healthz));
    if args.bench_baseline {
        app = app.route("/baseline/me", get(baseline_me));
    }
    let app = app.with_state(state);

    let signalled = Arc::new(tokio::sync::Notify::new());
    let stop = {
        let signalled = Arc::clone(&signalled);
        async move {
            shutdown().await;
            signalled.notify_one();
        }
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(stop);
    tokio::select! {
        served = server => served?,
        () = async {
            signalled.notified().await;
            tokio::time::sleep(CONNECTIONS_GRACE).await;
        } => tracing::warn!("connections still open after the grace period; stopping anyway"),
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

fn bad_request() -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": "bad request"}))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    user: String,
}

/// A demo login: any user name of 1 to 64 characters is accepted, without a password.
async fn login(State(state): State<AppState>, body: Body) -> Response {
    let Ok(body) = to_bytes(body, LOGIN_BODY_LEN_MAX).await else { return bad_request() };
    let Ok(login) = serde_json::from_slice::<Login>(&body) else { return bad_request() };
    let length = login.user.chars().count();
    if length == 0 || length > USER_LEN_MAX {
        return bad_request();
    }
    match state.auth.issue(&json!({"sub": login.user, "iss": ISSUER, "aud": ISSUER}), TOKEN_TTL_SECS) {
        Ok(token) => Json(json!({"token": token})).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot issue a token");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "cannot issue a token"}))).into_response()
        }
    }
}

/// The claims the demo issues, which `/me` answers with: typed, as the README recommends.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Session {
    sub: String,
    iss: String,
    aud: String,
    iat: u64,
    nbf: u64,
    exp: u64,
}

async fn me(session: Authenticated<Session>) -> Json<Session> {
    Json(session.into_claims())
}

async fn baseline_me(State(state): State<AppState>) -> Json<Session> {
    Json(Session::clone(&state.baseline))
}

async fn healthz(State(state): State<AppState>) -> Json<Value> {
    let now = state.auth.now_secs();
    let ring = state.auth.ring().ring();
    let status = state.reloader.status();
    let (result, reason) = match status.last {
        ReloadOutcome::Failed { reason } => ("failed", Some(reason)),
        other => (other.as_str(), None),
    };
    Json(json!({
        "generation": state.auth.ring().generation(),
        "keys": ring.keys(now).len(),
        "active_kid": ring.active_kid(now).map(|kid| kid.to_string()),
        "content_fingerprint": state.auth.ring().content_fingerprint().map(|fingerprint| fingerprint.to_string()),
        "last_reload": {
            "result": result,
            "reason": reason,
            "at": status.at_secs,
            "reloads": status.reloads,
            "failures": status.failures,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poll_interval_is_a_duration_within_the_reloaders_bounds() {
        assert_eq!(parse_poll("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_poll("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_poll("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_poll("24h"), Ok(POLL_MAX));
        assert_eq!(parse_poll("100ms"), Ok(POLL_MIN));
        assert_eq!(parse_poll("1d"), Ok(POLL_MAX));
        for bad in ["", "s", "10", "0s", "99ms", "25h", "2d", "1.5s", "-1s", "10 s", "99999999999999999999s"] {
            assert!(parse_poll(bad).is_err(), "{bad:?}");
        }
        let error = parse_poll("25h").unwrap_err();
        assert_eq!(error, "the poll interval must be from 100ms to 86400s");
    }
}
