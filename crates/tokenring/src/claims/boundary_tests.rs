//! Tests that pin boundaries and bookkeeping of `claims.rs` which the behaviour tests leave loose
//! (found by mutation testing: see docs/testing.md).

use serde::de::IgnoredAny;

use super::*;

/// Claims `{"a":[[...]]}` nested `depth` deep, the object included.
fn nested(depth: usize) -> String {
    format!("{{\"a\":{}{}}}", "[".repeat(depth - 1), "]".repeat(depth - 1))
}

#[test]
fn claims_nested_exactly_to_the_depth_limit_take_the_fast_path() {
    // The fast path relies on the reader's own depth limit instead of the thorough path's scan.
    let deepest = nested(JSON_DEPTH_MAX);
    assert!(parse_plain::<IgnoredAny>(deepest.as_bytes()).is_some());
    assert!(parse::<IgnoredAny>(deepest.as_bytes()).is_ok());
    let deeper = nested(JSON_DEPTH_MAX + 1);
    assert!(parse_plain::<IgnoredAny>(deeper.as_bytes()).is_none());
    assert_eq!(
        parse::<IgnoredAny>(deeper.as_bytes()).unwrap_err(),
        Rejection::TooLarge("the claims nest deeper than the limit")
    );
}

#[test]
fn claims_that_start_with_a_comma_are_malformed_on_either_path() {
    for payload in [&br#"{,"exp":1}"#[..], br#"{ ,"exp":1}"#, br#"{"exp":1,,"sub":"3"}"#] {
        assert!(parse_plain::<IgnoredAny>(payload).is_none(), "{}", String::from_utf8_lossy(payload));
        assert!(matches!(parse::<IgnoredAny>(payload), Err(Rejection::Malformed(_))));
    }
}
