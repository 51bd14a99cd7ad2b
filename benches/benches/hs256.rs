//! HS256 verification and signing: tokenring against the peer crates and the HMAC floor.
//!
//! Every contender gets the same token bytes, key and checks (see `src/lib.rs`); before a group
//! is measured, each contender's result is asserted once, so a benchmark can never time a
//! failure path by accident. `benches/compare` runs the groups and prints the ratios.

#![forbid(unsafe_code)]

#[path = "../peers/mod.rs"]
mod peers;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use tokenring::{Rejection, Scratch};
use tokenring_benches::{
    claims, malformed_token, ring, signing_input, sized_token, tampered_token, token, too_large_token,
    unknown_key_token, validation, BorrowedClaims, Claims, HmacCrateMac, HmacFloor, SizedClaims, ISSUED_AT_SECS,
    NOW_SECS, SIZES,
};

use peers::{JsonWebToken, JwtCompact, JwtSimple};

fn verify_hs256(c: &mut Criterion) {
    let token = token();
    let ring = ring();
    let validation = validation();
    let floor = HmacFloor::new();
    let jsonwebtoken = JsonWebToken::new();
    let jwt_simple = JwtSimple::new();
    let jwt_compact = JwtCompact::new();
    let mut scratch = Scratch::new();

    assert!(ring.verify::<Claims>(&token, &validation, NOW_SECS).is_ok());
    assert!(ring.verify_borrowed::<BorrowedClaims<'_>>(&token, &validation, &mut scratch, NOW_SECS).is_ok());
    assert!(jsonwebtoken.verify(&token).is_some());
    assert!(jwt_simple.verify(&token).is_some());
    assert!(jwt_compact.verify(&token).is_some());
    assert!(floor.verify(token.as_bytes()));

    let mut group = c.benchmark_group("verify_hs256");
    group.bench_function("tokenring", |b| {
        b.iter(|| {
            ring.verify::<Claims>(black_box(&token), &validation, NOW_SECS).map(|verified| verified.into_claims())
        })
    });
    group.bench_function("tokenring_borrowed", |b| {
        b.iter(|| {
            ring.verify_borrowed::<BorrowedClaims<'_>>(black_box(&token), &validation, &mut scratch, NOW_SECS)
                .map(|verified| verified.claims().exp)
        })
    });
    group.bench_function("jsonwebtoken", |b| b.iter(|| jsonwebtoken.verify(black_box(&token))));
    group.bench_function("jwt_simple", |b| b.iter(|| jwt_simple.verify(black_box(&token))));
    group.bench_function("jwt_compact", |b| b.iter(|| jwt_compact.verify(black_box(&token))));
    group.bench_function("hmac_floor", |b| b.iter(|| floor.verify(black_box(token.as_bytes()))));
    group.finish();
}

fn sign_hs256(c: &mut Criterion) {
    let ring = ring();
    let claims = claims();
    let jsonwebtoken = JsonWebToken::new();
    let jwt_simple = JwtSimple::new();
    let jwt_compact = JwtCompact::new();
    let simple_claims = JwtSimple::claims(&claims);
    let compact_claims = JwtCompact::claims(&claims);

    // `issue` signs lifetimes of at most ten years: the fixture's `exp` is far later.
    let issued = Claims { exp: ISSUED_AT_SECS + 3600, ..claims.clone() };
    assert!(ring.issue(&issued, 3600, ISSUED_AT_SECS).is_ok());
    assert!(jsonwebtoken.sign(&claims).is_some());
    assert!(jwt_simple.sign(simple_claims.clone()).is_some());
    assert!(jwt_compact.sign(&compact_claims).is_some());

    let mut group = c.benchmark_group("sign_hs256");
    group.bench_function("tokenring", |b| b.iter(|| ring.issue(black_box(&issued), 3600, ISSUED_AT_SECS)));
    group.bench_function("jsonwebtoken", |b| b.iter(|| jsonwebtoken.sign(black_box(&claims))));
    // jwt-simple takes the claims by value: the copy is made outside the timed routine.
    group.bench_function("jwt_simple", |b| {
        b.iter_batched(|| simple_claims.clone(), |claims| jwt_simple.sign(claims), BatchSize::SmallInput)
    });
    group.bench_function("jwt_compact", |b| b.iter(|| jwt_compact.sign(black_box(&compact_claims))));
    group.finish();
}

/// The MAC alone, over the shared token's signing input: tokenring's (the one the floor uses)
/// against the `hmac` crate's `Mac` API. Not a target; it shows what the floor is made of.
fn mac_hs256(c: &mut Criterion) {
    let token = token();
    let message = signing_input(&token);
    let tokenring_mac = tokenring_testkit::PrekeyedMac::new(&tokenring_benches::KEY).expect("HMAC takes any key");
    let hmac_crate = HmacCrateMac::new();
    assert_eq!(tokenring_mac.mac(message), hmac_crate.mac(message));
    let mut group = c.benchmark_group("mac_hs256");
    group.bench_function("tokenring", |b| b.iter(|| tokenring_mac.mac(black_box(message))));
    group.bench_function("hmac_crate", |b| b.iter(|| hmac_crate.mac(black_box(message))));
    group.finish();
}

/// `serde_json` alone, reading the shared token's decoded claims into the same two types, with
/// no check of any kind. Not a target: it is what the one claims reader (`serde_json`) costs at
/// least, to set beside the HMAC floor.
fn claims_json(c: &mut Criterion) {
    let token = token();
    let mut scratch = Scratch::new();
    let payload =
        ring().verify_jws(&token, &mut scratch, NOW_SECS).expect("the shared token verifies").claims().to_vec();
    assert_eq!(serde_json::from_slice::<Claims>(&payload).expect("the claims parse"), claims());
    assert!(serde_json::from_slice::<BorrowedClaims<'_>>(&payload).is_ok());
    let mut group = c.benchmark_group("claims_json");
    group.bench_function("serde_json_owned", |b| b.iter(|| serde_json::from_slice::<Claims>(black_box(&payload))));
    group.bench_function("serde_json_borrowed", |b| {
        b.iter(|| serde_json::from_slice::<BorrowedClaims<'_>>(black_box(&payload)).map(|claims| claims.iat))
    });
    group.finish();
}

fn reject_hs256(c: &mut Criterion) {
    let ring = ring();
    let validation = validation();
    let cases = [
        ("bad_signature", tampered_token()),
        ("unknown_key", unknown_key_token()),
        ("malformed", malformed_token()),
        ("too_large", too_large_token()),
    ];
    let mut group = c.benchmark_group("reject_hs256");
    for (name, token) in &cases {
        let Err(rejection) = ring.verify::<Claims>(token, &validation, NOW_SECS) else {
            panic!("{name}: the token was accepted");
        };
        let expected = match *name {
            "bad_signature" => matches!(rejection, Rejection::BadSignature),
            "unknown_key" => matches!(rejection, Rejection::UnknownKey),
            "malformed" => matches!(rejection, Rejection::Malformed(_)),
            _ => matches!(rejection, Rejection::TooLarge(_)),
        };
        assert!(expected, "{name}: {rejection}");
        group.bench_function(*name, |b| b.iter(|| ring.verify::<Claims>(black_box(token), &validation, NOW_SECS)));
    }
    group.finish();
}

fn verify_by_size(c: &mut Criterion) {
    let ring = ring();
    let validation = validation();
    let floor = HmacFloor::new();
    let mut group = c.benchmark_group("verify_by_size");
    for size in SIZES {
        let token = sized_token(size);
        assert!(ring.verify::<SizedClaims>(&token, &validation, NOW_SECS).is_ok());
        assert!(floor.verify(token.as_bytes()));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("tokenring", size), &token, |b, token| {
            b.iter(|| ring.verify::<SizedClaims>(black_box(token), &validation, NOW_SECS))
        });
        group.bench_with_input(BenchmarkId::new("hmac_floor", size), &token, |b, token| {
            b.iter(|| floor.verify(black_box(token.as_bytes())))
        });
    }
    group.finish();
}

criterion_group!(benches, verify_hs256, sign_hs256, mac_hs256, claims_json, reject_hs256, verify_by_size);
criterion_main!(benches);
