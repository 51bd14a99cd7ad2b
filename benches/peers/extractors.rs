//! The extractor a service author writes today on `jsonwebtoken`, set beside tokenring-axum's
//! `Authenticated<T>` by the instruction benchmark and the HTTP benchmark's server.
//!
//! What the usual code does, and no more: the keys are one field of the router's state
//! (`FromRef`), the token is whatever follows `Bearer ` in the `Authorization` header, and
//! `jsonwebtoken::decode` checks the signature and `exp` (leeway 30 s, tokenring's default) into
//! the caller's claims type. Any failure answers 401.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// The decoding key and validation, shared by every request.
#[derive(Clone)]
pub(crate) struct JwtKeys {
    decoding: Arc<jsonwebtoken::DecodingKey>,
    validation: Arc<jsonwebtoken::Validation>,
}

impl JwtKeys {
    pub(crate) fn new(secret: &[u8]) -> Self {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 30;
        let decoding = jsonwebtoken::DecodingKey::from_secret(secret).expect("a 256-bit secret is a valid key");
        Self { decoding: Arc::new(decoding), validation: Arc::new(validation) }
    }
}

/// Verified claims of type `C`.
pub(crate) struct JwtClaims<C>(pub(crate) C);

/// Why a request was refused: no bearer token, or a token that does not verify.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JwtRejection {
    Missing,
    Invalid,
}

impl IntoResponse for JwtRejection {
    fn into_response(self) -> Response {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

impl<S, C> FromRequestParts<S> for JwtClaims<C>
where
    JwtKeys: FromRef<S>,
    S: Send + Sync,
    C: DeserializeOwned + Send,
{
    type Rejection = JwtRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let keys = JwtKeys::from_ref(state);
        let header = parts.headers.get(AUTHORIZATION).ok_or(JwtRejection::Missing)?;
        let token =
            header.to_str().ok().and_then(|value| value.strip_prefix("Bearer ")).ok_or(JwtRejection::Missing)?;
        let data =
            jsonwebtoken::decode::<C>(token, &keys.decoding, &keys.validation).map_err(|_| JwtRejection::Invalid)?;
        Ok(Self(data.claims))
    }
}
