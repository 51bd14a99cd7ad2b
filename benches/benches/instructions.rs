//! Instruction counts (callgrind, through gungraun) of HS256 verification and signing: tokenring
//! beside the peer crates and the HMAC floor, the rejections, and the bearer extractors of axum
//! services. Counts do not depend on the processor or on the machine's load, so CI can gate on
//! them (`benches/baseline`); wall-clock figures are `benches/benches/hs256.rs`.
//!
//! Every benchmark runs its operation [`INSTRUCTION_ITERATIONS`] times on the fixtures of
//! `src/lib.rs` (same token, key and checks for every contender). The fixture is built, and the
//! operation run once and its result asserted, outside the measured function: the counts hold no
//! set-up, no first-call costs (lazy symbol binding, the allocator's first arena), and never a
//! failure path by accident. `cargo run --release -p tokenring-benches --bin instructions`
//! reads gungraun's callgrind files and prints the per-operation table with each target's
//! verdict.
//!
//! Needs valgrind and `gungraun-runner` at the version of the `gungraun` dependency:
//! `cargo install gungraun-runner --version 0.20.0 --locked` (what `.ci/run` does).

#![forbid(unsafe_code)]

#[path = "../peers/extractors.rs"]
mod extractors;
// Signing by jwt-simple and jwt-compact is measured by the wall-clock benchmark only.
#[allow(dead_code)]
#[path = "../peers/mod.rs"]
mod peers;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::http::request::Parts;
use gungraun::{library_benchmark, library_benchmark_group, main, Callgrind, LibraryBenchmarkConfig};
use tokenring_benches::{
    axum_auth, axum_extract, claims, claims_payload, kidless_token, malformed_token, signing_claims, tampered_token,
    token, too_large_token, unknown_key_token, Claims, HmacFloor, Tokenring, INSTRUCTION_ITERATIONS, ISSUED_AT_SECS,
    KEY,
};

use ::jwt_simple::prelude::JWTClaims;
use extractors::{JwtClaims, JwtKeys};
use peers::{CompactCustom, JsonWebToken, JwtCompact, JwtSimple, SimpleCustom};

/// Runs `operation` [`INSTRUCTION_ITERATIONS`] times; returns the last result.
fn repeat<T>(mut operation: impl FnMut() -> T) -> T {
    let mut last = operation();
    for _ in 1..INSTRUCTION_ITERATIONS {
        last = black_box(operation());
    }
    last
}

/// Polls a future that never waits (an extractor on an in-memory request) to its end.
///
/// # Panics
/// When the future is pending: nothing here waits for I/O, so that would be a bug.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an extractor waited on an in-memory request"),
    }
}

/// A `GET /me` request's parts with the shared token as its bearer credentials.
fn request_parts() -> Parts {
    let request = axum::http::Request::get("/me")
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {}", token()))
        .body(())
        .expect("a valid request");
    request.into_parts().0
}

// Each set-up below builds a contender, runs the measured operation once and asserts its
// result: the warm-up, and the proof that the benchmark measures what its name says.

fn tokenring_verify() -> (Tokenring, String) {
    let tokenring = Tokenring::new();
    let token = token();
    assert_eq!(tokenring.verify(&token), Ok(claims()));
    (tokenring, token)
}

fn tokenring_borrowed() -> (Tokenring, String) {
    let mut tokenring = Tokenring::new();
    let token = token();
    assert_eq!(tokenring.verify_borrowed(&token), Ok(claims().exp));
    (tokenring, token)
}

fn floor() -> (HmacFloor, String) {
    let floor = HmacFloor::new();
    let token = token();
    assert!(floor.verify(token.as_bytes()));
    (floor, token)
}

fn floor_serde_json() -> (HmacFloor, String, Vec<u8>) {
    let (floor, token) = floor();
    let payload = claims_payload(&token);
    assert_eq!(serde_json::from_slice::<Claims>(&payload).ok(), Some(claims()));
    (floor, token, payload)
}

fn jsonwebtoken_verify() -> (JsonWebToken, String) {
    let jsonwebtoken = JsonWebToken::new();
    let token = token();
    assert_eq!(jsonwebtoken.verify(&token), Some(claims()));
    (jsonwebtoken, token)
}

fn jwt_simple_verify() -> (JwtSimple, String) {
    let jwt_simple = JwtSimple::new();
    let token = token();
    assert_eq!(jwt_simple.verify(&token).map(|verified| verified.custom.username), Some(claims().username));
    (jwt_simple, token)
}

fn jwt_compact_verify() -> (JwtCompact, String) {
    let jwt_compact = JwtCompact::new();
    let token = token();
    assert_eq!(jwt_compact.verify(&token).map(|verified| verified.custom.jti), Some(claims().jti));
    (jwt_compact, token)
}

#[library_benchmark]
#[bench::tokenring(tokenring_verify())]
fn verify((tokenring, token): (Tokenring, String)) -> (Tokenring, String, Result<Claims, &'static str>) {
    let result = repeat(|| tokenring.verify(black_box(&token)));
    (tokenring, token, result)
}

#[library_benchmark]
#[bench::tokenring(tokenring_borrowed())]
fn verify_borrowed((mut tokenring, token): (Tokenring, String)) -> (Tokenring, String, Result<u64, &'static str>) {
    let result = repeat(|| tokenring.verify_borrowed(black_box(&token)));
    (tokenring, token, result)
}

#[library_benchmark]
#[bench::hmac(floor())]
fn floor_verify((floor, token): (HmacFloor, String)) -> (HmacFloor, String, bool) {
    let result = repeat(|| floor.verify(black_box(token.as_bytes())));
    (floor, token, result)
}

// The floor, then `serde_json` alone reading the (already decoded) claims: what a verifier
// with `serde_json` as its claims reader costs at least.
#[library_benchmark]
#[bench::hmac(floor_serde_json())]
fn floor_plus_serde_json(
    (floor, token, payload): (HmacFloor, String, Vec<u8>),
) -> (HmacFloor, String, Vec<u8>, Option<Claims>) {
    let result = repeat(|| {
        floor.verify(black_box(token.as_bytes())).then(|| serde_json::from_slice::<Claims>(black_box(&payload)).ok())
    });
    (floor, token, payload, result.flatten())
}

#[library_benchmark]
#[bench::peer(jsonwebtoken_verify())]
fn verify_jsonwebtoken((jsonwebtoken, token): (JsonWebToken, String)) -> (JsonWebToken, String, Option<Claims>) {
    let result = repeat(|| jsonwebtoken.verify(black_box(&token)));
    (jsonwebtoken, token, result)
}

#[library_benchmark]
#[bench::peer(jwt_simple_verify())]
fn verify_jwt_simple((jwt_simple, token): (JwtSimple, String)) -> (JwtSimple, String, Option<JWTClaims<SimpleCustom>>) {
    let result = repeat(|| jwt_simple.verify(black_box(&token)));
    (jwt_simple, token, result)
}

#[library_benchmark]
#[bench::peer(jwt_compact_verify())]
fn verify_jwt_compact(
    (jwt_compact, token): (JwtCompact, String),
) -> (JwtCompact, String, Option<::jwt_compact::Claims<CompactCustom>>) {
    let result = repeat(|| jwt_compact.verify(black_box(&token)));
    (jwt_compact, token, result)
}

library_benchmark_group!(
    name = verify_hs256,
    benchmarks = [
        verify,
        verify_borrowed,
        floor_verify,
        floor_plus_serde_json,
        verify_jsonwebtoken,
        verify_jwt_simple,
        verify_jwt_compact
    ]
);

fn tokenring_sign() -> (Tokenring, Claims) {
    let tokenring = Tokenring::new();
    let claims = signing_claims();
    let signed = tokenring.sign(&claims).expect("tokenring issues the claims");
    // Signed as given, `issue` keeping the claims' own `iat` and `exp` and adding only `nbf`.
    let mut expected = serde_json::to_value(&claims).expect("the claims serialize");
    expected["nbf"] = ISSUED_AT_SECS.into();
    let payload: serde_json::Value = serde_json::from_slice(&claims_payload(&signed)).expect("the payload is JSON");
    assert_eq!(payload, expected);
    (tokenring, claims)
}

fn jsonwebtoken_sign() -> (JsonWebToken, Claims) {
    let jsonwebtoken = JsonWebToken::new();
    let claims = claims();
    let signed = jsonwebtoken.sign(&claims).expect("jsonwebtoken signs the claims");
    assert_eq!(jsonwebtoken.verify(&signed), Some(claims.clone()));
    (jsonwebtoken, claims)
}

#[library_benchmark]
#[bench::tokenring(tokenring_sign())]
fn sign_tokenring((tokenring, claims): (Tokenring, Claims)) -> (Tokenring, Claims, Option<String>) {
    let result = repeat(|| tokenring.sign(black_box(&claims)));
    (tokenring, claims, result)
}

#[library_benchmark]
#[bench::peer(jsonwebtoken_sign())]
fn sign_jsonwebtoken((jsonwebtoken, claims): (JsonWebToken, Claims)) -> (JsonWebToken, Claims, Option<String>) {
    let result = repeat(|| jsonwebtoken.sign(black_box(&claims)));
    (jsonwebtoken, claims, result)
}

library_benchmark_group!(name = sign_hs256, benchmarks = [sign_tokenring, sign_jsonwebtoken]);

/// A ring, a token it refuses and the code it is refused with (asserted once).
fn rejected(tokenring: Tokenring, token: String, code: &'static str) -> (Tokenring, String) {
    assert_eq!(tokenring.verify(&token), Err(code));
    (tokenring, token)
}

#[library_benchmark]
#[bench::too_large(rejected(Tokenring::new(), too_large_token(), "too-large"))]
#[bench::malformed(rejected(Tokenring::new(), malformed_token(), "malformed"))]
#[bench::bad_signature(rejected(Tokenring::new(), tampered_token(), "bad-signature"))]
#[bench::unknown_key(rejected(Tokenring::new(), unknown_key_token(), "unknown-key"))]
#[bench::kidless_ring_of_64(rejected(Tokenring::ring_of(64), kidless_token(), "bad-signature"))]
fn reject((tokenring, token): (Tokenring, String)) -> (Tokenring, String, Result<Claims, &'static str>) {
    let result = repeat(|| tokenring.verify(black_box(&token)));
    (tokenring, token, result)
}

library_benchmark_group!(name = reject_hs256, benchmarks = [reject]);

fn tokenring_axum() -> (tokenring_axum::Auth, Parts) {
    let auth = axum_auth();
    let mut parts = request_parts();
    assert_eq!(ready(axum_extract(&mut parts, &auth)), Ok(claims()));
    (auth, parts)
}

fn jsonwebtoken_extractor() -> (JwtKeys, Parts) {
    use axum::extract::FromRequestParts as _;
    let keys = JwtKeys::new(&KEY);
    let mut parts = request_parts();
    let extracted = ready(JwtClaims::<Claims>::from_request_parts(&mut parts, &keys)).map(|claims| claims.0);
    assert_eq!(extracted, Ok(claims()));
    (keys, parts)
}

// (b) tokenring-axum's `Authenticated<Claims>` on a request with the bearer token.
#[library_benchmark]
#[bench::tokenring(tokenring_axum())]
fn extract_tokenring_axum(
    (auth, mut parts): (tokenring_axum::Auth, Parts),
) -> (tokenring_axum::Auth, Parts, Result<Claims, &'static str>) {
    let result = repeat(|| ready(axum_extract(black_box(&mut parts), &auth)));
    (auth, parts, result)
}

// (c) the extractor written on `jsonwebtoken` (`peers/extractors.rs`), on the same request.
#[library_benchmark]
#[bench::peer(jsonwebtoken_extractor())]
fn extract_jsonwebtoken((keys, mut parts): (JwtKeys, Parts)) -> (JwtKeys, Parts, Option<Claims>) {
    use axum::extract::FromRequestParts as _;
    let result = repeat(|| {
        ready(JwtClaims::<Claims>::from_request_parts(black_box(&mut parts), &keys)).ok().map(|claims| claims.0)
    });
    (keys, parts, result)
}

library_benchmark_group!(name = extract, benchmarks = [extract_tokenring_axum, extract_jsonwebtoken]);

// Instructions only: the cache simulation gungraun enables by default multiplies the time under
// valgrind and its figures are not used.
main!(
    config = LibraryBenchmarkConfig::default().tool(Callgrind::with_args(["--cache-sim=no"]));
    library_benchmark_groups = verify_hs256, sign_hs256, reject_hs256, extract
);
