//! The [`Authenticated`] extractor and its rejection.

use core::fmt;
use core::ops::Deref;

use axum::extract::{FromRef, FromRequestParts, MatchedPath, OptionalFromRequestParts};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tokenring::{Kid, Rejection, Verified};

use crate::auth::Auth;

/// The body of every 401 answer, whatever the reason: the reason is for the server's log, not
/// for the sender.
pub const UNAUTHORIZED_BODY: &str = "{\"error\":\"unauthorized\"}";

/// The verified claims of a request, of the caller's type `C`.
///
/// As an extractor it authenticates the request with the [`Auth`] found in the router's state
/// (`Auth: FromRef<S>`). Behind a [`RequireAuthLayer`](crate::RequireAuthLayer), which has done
/// the work already, take it with `Extension<Authenticated<C>>` instead.
///
/// ```
/// use axum::{routing::get, Json, Router};
/// use serde::{Deserialize, Serialize};
/// use tokenring::{KeyRing, SharedRing};
/// use tokenring_axum::{Auth, Authenticated};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Session {
///     sub: String,
/// }
///
/// async fn me(session: Authenticated<Session>) -> Json<Session> {
///     Json(session.into_claims())
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Auth::new(SharedRing::new(KeyRing::generate(1_700_000_000)?));
/// let app: Router = Router::new().route("/me", get(me)).with_state(auth);
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Authenticated<C> {
    verified: Verified<C>,
}

impl<C> Authenticated<C> {
    pub(crate) fn new(verified: Verified<C>) -> Self {
        Self { verified }
    }

    /// The verified claims.
    pub fn claims(&self) -> &C {
        self.verified.claims()
    }

    /// The verified claims, by value.
    pub fn into_claims(self) -> C {
        self.verified.into_claims()
    }

    /// The identifier of the key that verified the token.
    pub fn kid(&self) -> Option<&Kid> {
        self.verified.kid()
    }

    /// Everything the verifier returned: the claims, the key, `exp` and `iat`.
    pub fn verified(&self) -> &Verified<C> {
        &self.verified
    }
}

impl<C> Deref for Authenticated<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.verified.claims()
    }
}

impl<C> fmt::Debug for Authenticated<C> {
    /// Prints the key identifier only: claims may hold personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated").field("kid", &self.kid()).finish_non_exhaustive()
    }
}

/// The route template a request matched, for events; `-` before routing.
pub(crate) fn route_of(extensions: &Extensions) -> &str {
    extensions.get::<MatchedPath>().map_or("-", MatchedPath::as_str)
}

impl<S, C> FromRequestParts<S> for Authenticated<C>
where
    Auth: FromRef<S>,
    S: Send + Sync,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(done) = parts.extensions.get::<Self>() {
            return Ok(done.clone());
        }
        Auth::from_ref(state).authenticate(&parts.headers, route_of(&parts.extensions))
    }
}

/// `Option<Authenticated<C>>`: `None` for a request without credentials (a page that shows more
/// to a signed-in user), and still a 401 for credentials that are rejected: a bad token is never
/// silently treated as no token.
impl<S, C> OptionalFromRequestParts<S> for Authenticated<C>
where
    Auth: FromRef<S>,
    S: Send + Sync,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        match <Self as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(authenticated) => Ok(Some(authenticated)),
            Err(AuthRejection::Missing) => Ok(None),
            Err(rejection) => Err(rejection),
        }
    }
}

/// Why a request was not authenticated. Every variant answers 401 with [`UNAUTHORIZED_BODY`];
/// they differ only in the `WWW-Authenticate` header (RFC 6750 §3): `Bearer` for no
/// credentials, `Bearer error="invalid_token", error_description="token expired"` for an
/// expired token (so that a client knows to refresh), `Bearer error="invalid_token"` for every
/// other rejection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRejection {
    /// The request has no bearer credentials: `WWW-Authenticate: Bearer`.
    Missing,
    /// The request's credentials were rejected, for the reason given:
    /// `WWW-Authenticate: Bearer error="invalid_token"`.
    Invalid(Rejection),
}

impl AuthRejection {
    /// The reason's stable code: `missing`, or the [`Rejection::code`].
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid(rejection) => rejection.code(),
        }
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("missing: the request has no bearer token"),
            Self::Invalid(rejection) => rejection.fmt(f),
        }
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Missing => None,
            Self::Invalid(rejection) => Some(rejection),
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let challenge = match self {
            Self::Missing => HeaderValue::from_static("Bearer"),
            // A token whose MAC held and whose `exp` passed: the one reason a client acts on
            // (it refreshes), and one it learns from the token it holds anyway.
            Self::Invalid(Rejection::Expired) => {
                HeaderValue::from_static("Bearer error=\"invalid_token\", error_description=\"token expired\"")
            }
            Self::Invalid(_) => HeaderValue::from_static("Bearer error=\"invalid_token\""),
        };
        (
            StatusCode::UNAUTHORIZED,
            [
                (WWW_AUTHENTICATE, challenge),
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            UNAUTHORIZED_BODY,
        )
            .into_response()
    }
}
