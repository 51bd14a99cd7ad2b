//! [`RequireAuthLayer`]: authentication for every route of a router.

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll};

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use crate::auth::Auth;
use crate::extract::{route_of, AuthRejection};

/// A `tower` layer that answers 401 to every request without a valid token, and passes the
/// others on with their [`Authenticated<C>`](crate::Authenticated) claims in the request's
/// extensions.
///
/// Apply it with `Router::route_layer` to the protected routes, then `merge` the public ones:
/// `route_layer` wraps only the routes added before it, and, unlike `layer`, leaves requests
/// that match no route to answer 404.
///
/// ```
/// use axum::{routing::get, Extension, Router};
/// use serde_json::Value;
/// use tokenring::{KeyRing, SharedRing};
/// use tokenring_axum::{Auth, Authenticated, RequireAuthLayer};
///
/// async fn account(Extension(session): Extension<Authenticated<Value>>) -> String {
///     session.claims()["sub"].to_string()
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Auth::new(SharedRing::new(KeyRing::generate(1_700_000_000)?));
/// let public = Router::new().route("/healthz", get(|| async { "ok" }));
/// let app: Router = Router::new()
///     .route("/account", get(account))
///     .route_layer(RequireAuthLayer::<Value>::new(auth))
///     .merge(public);
/// # let _ = app; Ok(()) }
/// ```
pub struct RequireAuthLayer<C> {
    auth: Auth,
    claims: PhantomData<fn() -> C>,
}

impl<C> RequireAuthLayer<C> {
    /// A layer that authenticates with `auth` and deserializes claims into `C`.
    pub fn new(auth: Auth) -> Self {
        Self { auth, claims: PhantomData }
    }
}

impl<C> Clone for RequireAuthLayer<C> {
    fn clone(&self) -> Self {
        Self::new(self.auth.clone())
    }
}

impl<C> fmt::Debug for RequireAuthLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuthLayer").field("auth", &self.auth).finish()
    }
}

impl<S, C> Layer<S> for RequireAuthLayer<C> {
    type Service = RequireAuth<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireAuth { inner, auth: self.auth.clone(), claims: PhantomData }
    }
}

/// The service [`RequireAuthLayer`] wraps around a route.
pub struct RequireAuth<S, C> {
    inner: S,
    auth: Auth,
    claims: PhantomData<fn() -> C>,
}

impl<S: Clone, C> Clone for RequireAuth<S, C> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), auth: self.auth.clone(), claims: PhantomData }
    }
}

impl<S, C> fmt::Debug for RequireAuth<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuth").field("auth", &self.auth).finish_non_exhaustive()
    }
}

impl<S, C, B> Service<Request<B>> for RequireAuth<S, C>
where
    S: Service<Request<B>, Response = Response>,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let route = route_of(request.extensions());
        match self.auth.authenticate::<C>(request.headers(), route) {
            Ok(authenticated) => {
                request.extensions_mut().insert(authenticated);
                ResponseFuture { state: State::Inner(Box::pin(self.inner.call(request))) }
            }
            Err(rejection) => ResponseFuture { state: State::Rejected(Some(rejection)) },
        }
    }
}

/// The future of [`RequireAuth`]: the inner service's, or a 401 at once.
pub struct ResponseFuture<F> {
    state: State<F>,
}

enum State<F> {
    Inner(Pin<Box<F>>),
    Rejected(Option<AuthRejection>),
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture { .. }")
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            State::Inner(future) => future.as_mut().poll(cx),
            // Polled again after completion (a caller's bug): answer 401 again rather than panic.
            State::Rejected(rejection) => {
                Poll::Ready(Ok(rejection.take().unwrap_or(AuthRejection::Missing).into_response()))
            }
        }
    }
}
