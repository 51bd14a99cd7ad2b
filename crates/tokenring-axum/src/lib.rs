#![doc = include_str!("../README.md")]
//!
//! # The pieces
//!
//! * [`Auth`]: the ring handle, the [`Validation`](tokenring::Validation), the clock and the
//!   optional cookie name; one field of the application's state, reached through `FromRef`.
//! * [`Authenticated`]: the extractor. Reads `Authorization: Bearer` (the scheme in any case,
//!   RFC 7235 §2.1), or the named cookie when there is no bearer header, and yields the verified
//!   claims. Its rejection is [`AuthRejection`]. As `Option<Authenticated<C>>` it yields `None`
//!   for a request without credentials and still rejects a bad token.
//! * [`RequireAuthLayer`]: a `tower` layer that rejects every unauthenticated request and puts
//!   the [`Authenticated`] claims into the request's extensions. Apply it with
//!   `Router::route_layer` to the protected routes and `merge` the public ones after it.
//! * [`Reloader`]: a task that reloads the key file on debounced file events of its directory
//!   and on a fixed poll, keeping the last good ring when the file is bad.
//! * [`Auth::issue`]: for login handlers, signs claims with the ring's current key.
//!
//! # Responses
//!
//! | request | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no `Authorization` header (or another scheme) and no token cookie | 401 | `Bearer` |
//! | an expired token (its MAC verified): the client should refresh it | 401 | `Bearer error="invalid_token", error_description="token expired"` |
//! | a token that is rejected for any other [`Rejection`](tokenring::Rejection) code | 401 | `Bearer error="invalid_token"` |
//! | `Bearer` with no token, two `Authorization` headers, two token cookies | 401 | `Bearer error="invalid_token"` |
//! | a valid token | the handler's | |
//!
//! Every 401 has the same body, [`UNAUTHORIZED_BODY`]; nothing from the request is echoed.
//! Requests the HTTP server refuses before routing (more headers, or larger ones, than hyper
//! accepts) never reach this crate: hyper answers them with 431.
//!
//! # Events and metrics
//!
//! Every rejection is one `tracing` event (target `tokenring_axum::observe`): `info` for a
//! routine rejection (`expired`, `not-yet-valid`, `retired-key`), `warn` for a suspicious one,
//! `debug` for missing credentials. Its fields are `reason` (the stable code, or `missing`),
//! `token_fp` (the [`Fingerprint`](tokenring::Fingerprint)), `kid` (only a key identifier the
//! ring holds or issued, never one chosen by the sender) and `route` (the matched route
//! template, never the request's path). The token is never logged. [`Auth::new`] emits one
//! `warn` (field `path`) when it is given a key file that was created at start. The reloader (target
//! `tokenring_axum::reload`) emits `info` for a changed ring (`generation`, `keys`,
//! `active_kid`), `error` for a key set it could not use, from a file or another store
//! (`reason`, `error`; the same failure again only at `debug`), `info` when the store is usable
//! again, and `warn` when the key file's permissions let others read or change it (at
//! start, and whenever that newly appears), never key material.
//!
//! Through the `metrics` facade (the application installs the exporter):
//!
//! | name | kind | labels |
//! |---|---|---|
//! | [`VERIFICATIONS_TOTAL`] | counter | `result`: `ok`, `missing` or a rejection code |
//! | [`RELOADS_TOTAL`] | counter | `result`: `changed`, `unchanged` or `failed` |
//! | [`KEYS`] | gauge | `state`: `active`, `pending`, `retiring`, `retired`, `revoked`, `forgotten` |

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod auth;
mod credential;
#[cfg(feature = "etcd")]
pub mod etcd;
mod extract;
mod layer;
mod observe;
mod reload;

pub use crate::auth::{Auth, ConfigError, Opened, COOKIE_NAME_LEN_MAX};
pub use crate::extract::{AuthRejection, Authenticated, UNAUTHORIZED_BODY};
pub use crate::layer::{RequireAuth, RequireAuthLayer, ResponseFuture};
pub use crate::observe::{KEYS, RELOADS_TOTAL, VERIFICATIONS_TOTAL};
pub use crate::reload::{
    ReloadError, ReloadOptions, ReloadOutcome, ReloadStatus, Reloader, Wake, WakeSource, DEBOUNCE_DEFAULT,
    POLL_DEFAULT, POLL_MAX, POLL_MIN,
};
