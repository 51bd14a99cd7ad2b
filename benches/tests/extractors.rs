//! The fixtures of the instruction benchmark that the other tests do not cover: the kid-less
//! token and the ring of 64 keys it is refused by, and the two bearer extractors, which must
//! accept the shared token and refuse a request without one or with a tampered one.

#![forbid(unsafe_code)]

#[path = "../peers/extractors.rs"]
mod extractors;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::extract::FromRequestParts as _;
use axum::http::request::Parts;
use tokenring_benches::{
    axum_auth, axum_extract, claims, kidless_token, signing_claims, tampered_token, token, Claims, Tokenring, KEY,
};

use extractors::{JwtClaims, JwtKeys, JwtRejection};

/// Polls a future that never waits to its end.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an extractor waited on an in-memory request"),
    }
}

fn parts(authorization: Option<String>) -> Parts {
    let mut request = axum::http::Request::get("/me");
    if let Some(value) = authorization {
        request = request.header(axum::http::header::AUTHORIZATION, value);
    }
    request.body(()).expect("a valid request").into_parts().0
}

#[test]
fn a_kidless_token_verifies_under_the_shared_key_and_nowhere_in_the_ring_of_64() {
    // The shared ring holds the key that signed it: the token itself is sound.
    assert_eq!(Tokenring::new().verify(&kidless_token()), Ok(claims()));
    // No key of the ring of 64 is the shared key: those tried (at most the kid-less limit) fail.
    assert_eq!(Tokenring::ring_of(64).verify(&kidless_token()), Err("bad-signature"));
    // The ring signs and verifies its own tokens: its keys are real.
    let ring = Tokenring::ring_of(64);
    let own = ring.sign(&signing_claims()).unwrap();
    assert_eq!(ring.verify(&own), Ok(signing_claims()));
}

#[test]
fn tokenring_axum_extracts_the_claims_and_refuses_the_rest() {
    let auth = axum_auth();
    assert_eq!(ready(axum_extract(&mut parts(Some(format!("Bearer {}", token()))), &auth)), Ok(claims()));
    assert_eq!(ready(axum_extract(&mut parts(None), &auth)), Err("missing"));
    let tampered = format!("Bearer {}", tampered_token());
    assert_eq!(ready(axum_extract(&mut parts(Some(tampered)), &auth)), Err("bad-signature"));
}

#[test]
fn the_jsonwebtoken_extractor_extracts_the_claims_and_refuses_the_rest() {
    let keys = JwtKeys::new(&KEY);
    let extract = |mut parts: Parts| ready(JwtClaims::<Claims>::from_request_parts(&mut parts, &keys)).map(|c| c.0);
    assert_eq!(extract(parts(Some(format!("Bearer {}", token())))), Ok(claims()));
    assert_eq!(extract(parts(None)), Err(JwtRejection::Missing));
    assert_eq!(extract(parts(Some(token()))), Err(JwtRejection::Missing));
    assert_eq!(extract(parts(Some(format!("Bearer {}", tampered_token())))), Err(JwtRejection::Invalid));
}
