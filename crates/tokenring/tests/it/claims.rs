//! The registered time claims: whole seconds, what a fraction or an out-of-range number means,
//! and numbers beyond a float's range.

use serde_json::Value;
use tokenring::{Key, KeyRing, Malformed, Rejection, SignError, Validation};

use crate::ring::NOW;

fn ring() -> KeyRing {
    KeyRing::with_key(Key::from_bytes(&[7; 32]).unwrap(), None, NOW)
}

/// A token with these claims, signed by [`ring`] under its own header.
fn token(claims: &str) -> String {
    ring().sign_jws(claims.as_bytes(), NOW).unwrap()
}

fn verify(claims: &str) -> Result<(Option<u64>, Option<u64>), Rejection> {
    let validation = Validation::new().require_exp(false).leeway_secs(0);
    ring()
        .verify::<Value>(token(claims), &validation, NOW)
        .map(|verified| (verified.expires_at(), verified.issued_at()))
}

/// A number beyond a float's range (`1e400`) is JSON by its grammar, but not JSON `serde_json`
/// can read: the claims are malformed, wherever it sits. With `serde_json`'s
/// `arbitrary_precision` on in this build the number reads; in a registered claim the claims are
/// still malformed, elsewhere the caller's type decides.
#[test]
fn a_number_beyond_a_floats_range_is_malformed() {
    let arbitrary_precision = serde_json::from_str::<Value>("1e400").is_ok();
    for (claims, registered) in [
        (r#"{"exp":1e400}"#, true),
        (r#"{"sub":"3","nbf":-1e400}"#, true),
        (r#"{"iat":1E+999,"exp":9999999999}"#, true),
        (r#"{"x":1e400,"exp":9999999999}"#, false),
    ] {
        let expected = match (arbitrary_precision, registered) {
            (false, _) | (true, true) => Err(Rejection::Malformed(Malformed::ClaimsNotObject)),
            (true, false) => Ok((Some(9_999_999_999), None)),
        };
        assert_eq!(verify(claims), expected, "{claims}");
    }
    // A number that is not JSON at all is malformed in every build.
    assert!(matches!(verify(r#"{"exp":1e}"#), Err(Rejection::Malformed(_))));
    assert!(matches!(verify(r#"{"exp":1e400"#), Err(Rejection::Malformed(_))));
}

#[test]
fn times_outside_the_range_of_seconds_are_invalid_claims() {
    for (claims, name) in [
        (r#"{"exp":-1}"#, "exp"),
        (r#"{"exp":-0.5}"#, "exp"),
        (r#"{"nbf":-1700000000}"#, "nbf"),
        (r#"{"iat":-1,"exp":9999999999}"#, "iat"),
        (r#"{"exp":1e300}"#, "exp"),
        (r#"{"exp":18446744073709551616}"#, "exp"),
    ] {
        assert_eq!(verify(claims), Err(Rejection::InvalidClaim(name)), "{claims}");
    }
}

#[test]
fn times_are_whole_seconds_with_fractions_rounded_where_the_check_lands() {
    let exp = NOW + 10;
    assert_eq!(verify(&format!(r#"{{"exp":{exp}.25,"iat":{NOW}.75}}"#)), Ok((Some(exp + 1), Some(NOW))));
    assert_eq!(verify(r#"{"exp":18446744073709551615}"#), Ok((Some(u64::MAX), None)));
    assert_eq!(verify(r#"{"exp":-0,"iat":0}"#).unwrap_err(), Rejection::Expired);
    // A fraction of a second before `now`: already expired; after it: valid.
    assert_eq!(verify(&format!(r#"{{"exp":{}.5}}"#, NOW - 1)), Err(Rejection::Expired));
    assert!(verify(&format!(r#"{{"exp":{NOW}.5}}"#)).is_ok());
    // `nbf` a fraction after `now` is not yet valid.
    assert_eq!(verify(&format!(r#"{{"nbf":{NOW}.5}}"#)), Err(Rejection::NotYetValid));
    assert!(verify(&format!(r#"{{"nbf":{}.5}}"#, NOW - 1)).is_ok());
    // The leeway is added without overflow.
    let lenient = Validation::new().leeway_secs(600);
    assert!(ring().verify::<Value>(token(r#"{"exp":18446744073709551615}"#), &lenient, u64::MAX - 1).is_ok());
}

#[test]
fn a_name_repeated_inside_a_nested_object_is_malformed_at_any_depth() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Session {
        sub: String,
    }
    let repeated = Rejection::Malformed(Malformed::ClaimsRepeatMember);
    for claims in [
        r#"{"exp":9999999999,"ctx":{"role":"user","role":"admin"}}"#,
        r#"{"exp":9999999999,"ctx":{"a":[{"b":1,"b":2}]}}"#,
        r#"{"exp":9999999999,"ctx":{"role":"user","r\u006fle":"admin"}}"#,
        r#"{"exp":9999999999,"sub":"3","ignored":{"x":1,"x":2}}"#,
    ] {
        let token = token(claims);
        let validation = Validation::new();
        assert_eq!(ring().verify::<Value>(&token, &validation, NOW).unwrap_err(), repeated, "{claims}");
        if claims.contains("sub") {
            assert_eq!(ring().verify::<Session>(&token, &validation, NOW).unwrap_err(), repeated, "{claims}");
        }
        let mut scratch = tokenring::Scratch::new();
        let borrowed = ring().verify_borrowed::<serde::de::IgnoredAny>(&token, &validation, &mut scratch, NOW);
        assert_eq!(borrowed.unwrap_err(), repeated, "{claims}");
    }
    // Equal names in different objects are not repeats.
    let token = token(r#"{"exp":9999999999,"a":{"id":1},"b":{"id":2,"a":{"id":3}}}"#);
    assert!(ring().verify::<Value>(&token, &Validation::new(), NOW).is_ok());
}

/// `issue` names what a verifier would refuse in the caller's claims: a repeat, a registered
/// claim of the wrong type, or text no verifier reads, each as its own error.
#[test]
fn issue_names_why_the_claims_cannot_be_signed() {
    let ring = ring();
    let issue =
        |claims: &str| ring.issue(&serde_json::from_str::<&serde_json::value::RawValue>(claims).unwrap(), 60, NOW);
    assert_eq!(issue(r#"{"exp":1}"#).unwrap_err(), SignError::TimeClaim("exp"));
    assert_eq!(issue(r#"{"exp":"soon"}"#).unwrap_err(), SignError::InvalidClaim("exp"));
    assert_eq!(issue(r#"{"nbf":1700000060}"#).unwrap_err(), SignError::TimeClaim("nbf"));
    assert!(issue(r#"{"exp":1700000060,"iat":1700000000,"nbf":1700000000}"#).is_ok());
    assert!(issue(r#"{ }"#).is_ok());
    assert_eq!(issue(r#"{"a":{"b":1,"b":2}}"#).unwrap_err(), SignError::DuplicateClaim);
    assert_eq!(issue(r#"{"iss":5}"#).unwrap_err(), SignError::InvalidClaim("iss"));
    assert_eq!(issue(r#"{"aud":5}"#).unwrap_err(), SignError::InvalidClaim("aud"));
    assert_eq!(issue(r#"{"s":"\ud800"}"#).unwrap_err(), SignError::Malformed(Malformed::ClaimsNotObject));
    assert!(issue(r#"{"iss":"me","aud":["you"]}"#).is_ok());
}

/// `Unverified` tells a tool what the verifier would say about a token's header and claims,
/// the signature aside: the one reading of an untrusted token.
#[test]
fn unverified_checks_the_header_and_claims_as_the_verifier_reads_them() {
    use tokenring::Unverified;
    let signed = token(r#"{"sub":"3","x":{"a":1,"\u0061":2}}"#);
    let unverified = Unverified::parse(&signed).unwrap();
    assert_eq!(unverified.check_header(), Ok(()));
    assert_eq!(unverified.check_claims(), Err(Rejection::Malformed(Malformed::ClaimsRepeatMember)));
    let signed = token(r#"{"sub":"3","exp":"soon"}"#);
    assert_eq!(Unverified::parse(&signed).unwrap().check_claims(), Err(Rejection::InvalidClaim("exp")));
    let signed = token(r#"{"sub":"3","exp":1}"#);
    assert_eq!(Unverified::parse(&signed).unwrap().check_claims(), Ok(()), "times are not checked");
}
