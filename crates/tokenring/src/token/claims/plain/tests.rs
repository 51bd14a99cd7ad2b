//! The fast path against `serde_json` (the claims reader it must agree with), and the plain
//! reader's own boundaries.

use serde::de::IgnoredAny;
use serde::Deserialize;

use tokenring_testkit::claims::{plain_claims, Borrowed, Mixed, Owned};

use super::*;
use crate::error::Rejection;
use crate::limits::CLAIMS_MEMBERS_MAX;
use crate::token::claims::{parse as claims_parse, paths, Validation, DOES_NOT_FIT};
use crate::token::strict_json::NAMES_INLINE;

/// The plain reader at the start of `text`.
fn reader(text: &str) -> Plain<'_> {
    Plain { text, position: 0, first: true, in_array: false }
}

/// Reads all of `json`, a value in the claims, as a `T` with the plain reader, or `None` where
/// it gives up.
fn plain<'de, T: Deserialize<'de>>(json: &'de str) -> Option<T> {
    let mut plain = reader(json);
    let value = T::deserialize(&mut plain).ok()?;
    plain.peek().is_none().then_some(value)
}

/// Whether the fast path reads all of the claims `json`.
fn reads(json: &str) -> bool {
    parse::<IgnoredAny>(json).is_some()
}

/// The fast path over bytes: `None` for bytes that are not UTF-8, as for anything it gives up on.
fn plain_bytes<'de, C: Deserialize<'de>>(payload: &'de [u8]) -> Option<(C, Registered<'de>)> {
    parse(core::str::from_utf8(payload).ok()?)
}

/// A verdict with the token's `exp` and `iat`.
type Times = Result<(Option<u64>, Option<u64>), Rejection>;

/// The fast path's verdict on `text` at `now`: `None` when it gave up.
fn check_fast(text: &str, now: u64) -> Option<Times> {
    let (_, registered) = parse::<IgnoredAny>(text)?;
    Some(registered.check(&Validation::new().leeway_secs(0), now).map(|()| (registered.exp, registered.iat)))
}

#[test]
fn control_characters_end_a_plain_string_and_a_space_does_not() {
    // Short strings are read byte by byte through the table; long ones eight bytes at a time.
    for control in [0x00, 0x01, 0x08, 0x10, 0x1F] {
        let short = [b'"', b'a', control, b'"'];
        assert_eq!(string_end(&short, 1), Err(NotPlain), "{control:#04x}");
        let mut long = b"\"abcdefghijklmnop\"".to_vec();
        long[4] = control;
        assert_eq!(string_end(&long, 1), Err(NotPlain), "{control:#04x}");
    }
    assert_eq!(string_end(b"\"a \"", 1), Ok(3));
    assert_eq!(string_end(b"\" ~\x7f\"", 1), Ok(4));
    assert_eq!(string_end(b"\"a bc defgh ijk\"", 1), Ok(15));
    assert_eq!(string_end("\"caf\u{e9} \u{1F600} abc\"".as_bytes(), 1), Ok(15));
    assert!(reads("{\"a\":\" \"}"));
    assert!(!reads("{\"a\":\"\x1f\"}"));
}

/// Plain claims are flat: an object in a value, or an array in an array, is left to
/// `serde_json`, which reads it (within the depth limit).
#[test]
fn the_reader_reads_flat_claims_only() {
    assert!(reads(r#"{"a":[],"b":[1,"x",true,null]}"#));
    for json in [r#"{"a":{}}"#, r#"{"a":[[]]}"#, r#"{"a":[{}]}"#, r#"{"a":[1,[2]]}"#] {
        assert!(!reads(json), "{json}");
        assert!(claims_parse::<IgnoredAny>(json.as_bytes()).is_ok(), "{json}");
    }
    assert_eq!(plain::<Vec<u64>>("[1,[2]]"), None);
}

#[test]
fn closing_an_array_lets_the_next_member_hold_one() {
    let siblings =
        format!("{{{}}}", (0..10).map(|index| format!("\"m{index}\":[{index}]")).collect::<Vec<_>>().join(","));
    assert!(reads(&siblings));
}

#[test]
fn members_need_exactly_one_comma_between_them_with_or_without_whitespace() {
    for json in
        ["{\"a\":1,\"b\":2}", "{ \"a\" : 1 , \"b\" : 2 }", "{\"a\":1 ,\"b\":2}", "{\n\"a\":1,\n\"b\":2\n}", "{}"]
    {
        assert!(reads(json), "{json}");
    }
    for json in [
        "{,\"a\":1}",
        "{ ,\"a\":1}",
        "{,}",
        "{\"a\":1,,\"b\":2}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":1\"b\":2}",
        "{\"a\":\"x\"\"b\":2}",
        "{\"a\":1,}",
    ] {
        assert!(!reads(json), "{json}");
    }
}

#[test]
fn a_member_name_needs_its_own_colon() {
    assert!(reads("{\"a:\":1}"));
    assert!(reads("{\"a:\" :1}"));
    assert!(!reads("{\"a:\" 1}"));
    assert!(!reads("{\"a\" 1}"));
    assert!(!reads("{\"a\"}"));
}

#[test]
fn array_elements_need_exactly_one_comma_between_them() {
    assert_eq!(plain::<Vec<u64>>("[1,2]"), Some(vec![1, 2]));
    assert_eq!(plain::<Vec<u64>>(" [ 1 , 2 ] "), Some(vec![1, 2]));
    assert_eq!(plain::<Vec<u64>>("[]"), Some(vec![]));
    for json in ["[,1]", "[ ,1]", "[,]", "[1,]", "[1,,2]", "[1 2]"] {
        assert_eq!(plain::<Vec<u64>>(json), None, "{json}");
    }
}

#[test]
fn peek_looks_past_whitespace_without_consuming() {
    for (json, expected) in
        [("7", Some(b'7')), (" \n\t0", Some(b'0')), ("9x", Some(b'9')), ("-1", Some(b'-')), ("", None)]
    {
        let mut plain = reader(json);
        assert_eq!(plain.peek(), expected, "{json:?}");
        assert_eq!(plain.peek(), expected, "{json:?} again");
    }
    let mut plain = reader(" 42");
    assert_eq!(plain.peek(), Some(b'4'));
    assert_eq!(plain.unsigned(), Ok(42));
}

#[test]
fn a_unit_reads_null_and_nothing_else() {
    assert_eq!(plain::<()>("null"), Some(()));
    assert_eq!(plain::<()>(" null "), Some(()));
    assert_eq!(plain::<()>("0"), None);
    assert_eq!(plain::<()>("nul"), None);
}

#[test]
fn integers_of_nineteen_and_twenty_digits() {
    for (json, expected) in [
        ("1234567890123456789", Some(1_234_567_890_123_456_789)),
        ("9999999999999999999", Some(9_999_999_999_999_999_999)),
        ("12345678901234567890", Some(12_345_678_901_234_567_890)),
        ("18446744073709551615", Some(u64::MAX)),
        ("18446744073709551616", None),
        ("100000000000000000000", None),
    ] {
        assert_eq!(plain::<u64>(json), expected, "{json}");
        // The same digits after some text: the digit count is relative to where the number starts.
        let nested = format!("[\"abcdefghijklmnopqrstu\",{json}]");
        assert_eq!(plain::<(&str, u64)>(&nested).map(|(_, number)| number), expected, "{nested}");
    }
}

#[test]
fn integers_are_read_whole_or_not_at_all() {
    for number in [0u64, 7, 10, 1_700_000_000, 4_102_444_800, 99_999_999, 100_000_000, u64::MAX / 10, u64::MAX] {
        let text = number.to_string();
        let mut plain = reader(&text);
        assert_eq!(plain.unsigned(), Ok(number));
        assert!(plain.peek().is_none());
    }
    for text in
        ["18446744073709551616", "99999999999999999999", "012345678901", "123456789.5", "12345678e1", "1E5", "x"]
    {
        assert_eq!(reader(text).unsigned(), Err(NotPlain), "{text}");
    }
}

/// Typical claims take the fast path; it must not silently give up on them (it would still
/// be correct, through the thorough path, but slow).
#[test]
fn plain_claims_take_the_fast_path() {
    let text = r#"{"sub":"3","username":"alice","roles":["admin","ops"],"iat":1,"exp":9,"jti":"x1"}"#;
    let checked = check_fast(text, 5);
    assert_eq!(checked, Some(Ok((Some(9), Some(1)))));
    let expired = check_fast(text, 9);
    assert_eq!(expired, Some(Err(Rejection::Expired)));
    // Escapes are left to the thorough path, which reads them the same way.
    assert!(parse::<IgnoredAny>(r#"{"s\u0075b":"3","exp":9}"#).is_none());
}

/// Whether the fast path read `payload`; panics where it did and `serde_json` reads it otherwise.
fn agree<'de, C: Deserialize<'de> + PartialEq + core::fmt::Debug>(payload: &'de [u8]) -> bool {
    let Some((claims, registered)) = paths::fast::<C>(payload) else { return false };
    let text = String::from_utf8_lossy(payload);
    assert_eq!(paths::thorough::<C>(payload), Ok((Some(claims), registered)), "the paths disagree on {text:?}");
    true
}

#[test]
fn numbers_asked_for_as_anything_are_left_to_serde_json() {
    // A `Value` takes the fast path while it holds no number outside the registered claims.
    assert!(agree::<serde_json::Value>(br#"{"sub":"3","exp":10,"roles":["a"],"ok":true,"n":null}"#));
    assert!(!agree::<serde_json::Value>(br#"{"sub":"3","exp":10,"uid":7}"#));
    assert!(!agree::<serde_json::Value>(br#"{"sub":"3","exp":10,"x":[1]}"#));
    // A skipped number is read past: unknown members of a typed struct stay on the fast path.
    assert!(agree::<Owned>(br#"{"sub":"3","exp":10,"uid":7,"x":[1,2]}"#));
    // Nested values are not plain, skipped or not: `serde_json` reads them.
    assert!(!agree::<Owned>(br#"{"sub":"3","exp":10,"uid":7,"x":[1,{"y":2}]}"#));
    assert!(claims_parse::<Owned>(br#"{"sub":"3","exp":10,"uid":7,"x":[1,{"y":2}]}"#).is_ok());
    assert!(agree::<IgnoredAny>(br#"{"a":7,"b":[1,2]}"#));
    // Both paths give the caller's `Value` the same registered time.
    let (fast, _) = parse::<serde_json::Value>(r#"{"exp":10}"#).unwrap();
    assert_eq!(fast, serde_json::json!({"exp": 10}));
}

#[test]
fn the_fast_path_takes_plain_claims() {
    for payload in [
        &br#"{"sub":"3","exp":10}"#[..],
        br#" { "sub" : "3" , "exp" : 10 , "aud" : [ "a" , "b" ] } "#,
        br#"{"sub":"caf\u00e9 is fine as raw UTF-8: caf\xc3\xa9","exp":0,"nbf":18446744073709551615}"#,
    ] {
        assert!(agree::<IgnoredAny>(payload) || payload.contains(&b'\\'));
    }
    assert!(agree::<Owned>(br#"{"sub":"3","exp":10,"aud":["a","b"]}"#));
    assert!(agree::<Borrowed<'_>>(br#"{"iss":"me","sub":"3","exp":1}"#));
    assert!(agree::<Mixed<'_>>(
        br#"{"text":"t","small":255,"signed":7,"float":2,"flag":true,"list":[1,2],"pair":[1,"x"],"unit":null,
            "character":"c","wrapped":9,"any":[true,null,"k"],"exp":1}"#
    ));
    // Objects are not plain: `serde_json` reads them, into the same claims.
    let nested = br#"{"map":{"a":1},"any":{"k":[true,null,{}]},"nested":{"flag":false},"exp":1}"#;
    assert!(!agree::<Mixed<'_>>(nested));
    assert!(claims_parse::<Mixed<'_>>(nested).is_ok());
}

#[test]
fn the_fast_path_leaves_the_rest_to_serde_json() {
    for payload in [
        &br#"{"sub":"a\"b","exp":1}"#[..],
        br#"{"sub":"3","exp":1.5}"#,
        br#"{"sub":"3","exp":-1}"#,
        br#"{"sub":"3","exp":1e3}"#,
        br#"{"sub":"3","exp":01}"#,
        br#"{"sub":"3","exp":18446744073709551616}"#,
        br#"{"sub":"3","exp":1,}"#,
        br#"{"sub":"3","exp":1,"exp":2}"#,
        br#"{"a":1,"b":2,"a":3}"#,
        br#"{"sub":"3","exp":1} x"#,
        br#"{"sub":"3","exp":"1"}"#,
        br#"{"sub":"3\u0001","exp":1}"#,
        b"{\"sub\":\"3\x01\",\"exp\":1}",
        b"{\"sub\":\"\xff\",\"exp\":1}",
        br#"[{"sub":"3"}]"#,
        br#"{"a":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}"#,
    ] {
        assert!(plain_bytes::<IgnoredAny>(payload).is_none(), "{}", String::from_utf8_lossy(payload));
    }
    // The caller's type refusing a value also sends the claims to the thorough path, which
    // names the fault.
    assert!(plain_bytes::<Mixed<'_>>(br#"{"small":256}"#).is_none());
    assert_eq!(claims_parse::<Mixed<'_>>(br#"{"small":256}"#).unwrap_err(), Rejection::InvalidClaim("claims"));
    let long_pair = br#"{"pair":[1,"x",2]}"#;
    assert!(plain_bytes::<Mixed<'_>>(long_pair).is_none());
    assert_eq!(claims_parse::<Mixed<'_>>(long_pair).unwrap_err(), DOES_NOT_FIT);
}

#[test]
fn the_fast_path_counts_members_like_the_thorough_one() {
    for count in [NAMES_INLINE - 1, NAMES_INLINE, NAMES_INLINE + 1, CLAIMS_MEMBERS_MAX, CLAIMS_MEMBERS_MAX + 1] {
        let members: Vec<String> = (0..count).map(|index| format!("\"m{index}\":0")).collect();
        let payload = format!("{{{}}}", members.join(","));
        let thorough = paths::thorough::<IgnoredAny>(payload.as_bytes()).map(|(_, registered)| registered);
        let either = claims_parse::<IgnoredAny>(payload.as_bytes()).map(|(_, registered)| format!("{registered:?}"));
        assert_eq!(either, thorough);
        assert_eq!(plain_bytes::<IgnoredAny>(payload.as_bytes()).is_some(), count <= NAMES_INLINE);
    }
    // Names of the same length and first byte are compared in full.
    assert!(agree::<IgnoredAny>(br#"{"abxd":1,"azxd":2,"exp":3}"#));
    assert!(plain_bytes::<IgnoredAny>(br#"{"abxd":1,"abxd":2,"exp":3}"#).is_none());
    assert!(claims_parse::<IgnoredAny>(br#"{"abxd":1,"azxd":2,"exp":3}"#).is_ok());
    assert!(claims_parse::<IgnoredAny>(br#"{"abxd":1,"abxd":2,"exp":3}"#).is_err());
    assert!(agree::<IgnoredAny>(br#"{"abxd":1,"abyx":2,"exp":3}"#));
}

/// A repeated name is noticed wherever the two occurrences sit among the members the fast
/// path tracks, and the claims are refused.
#[test]
fn every_repeat_within_the_fast_paths_capacity_is_noticed() {
    for first in 0..NAMES_INLINE {
        for second in first + 1..NAMES_INLINE {
            let members: Vec<String> = (0..NAMES_INLINE)
                .map(|index| format!("\"member{}\":0", if index == second { first } else { index }))
                .collect();
            let payload = format!("{{{}}}", members.join(","));
            assert!(plain_bytes::<IgnoredAny>(payload.as_bytes()).is_none(), "{first} and {second}");
            assert!(
                matches!(claims_parse::<IgnoredAny>(payload.as_bytes()), Err(Rejection::Malformed(_))),
                "{first} and {second}"
            );
        }
    }
}

proptest::proptest! {
    /// Claims assembled from fragments that are plain, nearly plain or not JSON at all: the
    /// two paths never disagree on anything the fast one accepts.
    #[test]
    fn the_paths_agree(
        members in proptest::collection::vec((
            proptest::sample::select(vec![
                "text", "small", "signed", "float", "flag", "list", "pair", "unit", "map", "character",
                "wrapped", "any", "nested", "exp", "nbf", "iat", "iss", "aud", "other", "t\u{e9}xt",
            ]),
            proptest::prop_oneof![
                6 => proptest::sample::select(vec![
                    "\"v\"", "\"\"", "\"x y\"", "0", "7", "255", "256", "18446744073709551615", "true",
                    "false", "null", "[]", "[1,2]", "[1,\"x\"]", "[\"a\",\"b\"]", "{}", "{\"a\":1}",
                    "{\"flag\":true}", "\"c\"", "\"cc\"", "[[[[]]]]", " 3 ",
                ]),
                1 => proptest::sample::select(vec![
                    "\"a\\\"b\"", "\"\\u0041\"", "01", "-1", "-0", "1.5", "1e2", "18446744073709551616",
                    "nul", "[1,]", "[,1]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}",
                ]),
            ],
        ), 0..6),
        separator in proptest::prop_oneof![6 => proptest::strategy::Just(","), 1 => proptest::sample::select(vec![" , ", ",,", ""])],
        tail in proptest::prop_oneof![6 => proptest::strategy::Just("}"), 1 => proptest::sample::select(vec![" }\n", "", "}}", "} 1"])],
    ) {
        let body: Vec<String> = members.iter().map(|(name, value)| format!("\"{name}\":{value}")).collect();
        let payload = format!("{{{}{tail}", body.join(separator));
        agree::<IgnoredAny>(payload.as_bytes());
        agree::<serde_json::Value>(payload.as_bytes());
        agree::<Mixed<'_>>(payload.as_bytes());
        agree::<Owned>(payload.as_bytes());
    }
}

proptest::proptest! {
    /// The plain claims the fast path exists for (registered claims, simple strings, integers,
    /// booleans and `null`, within the limits): the fast path takes them, into nothing and into
    /// the typed structs a service declares, and agrees with `serde_json` on them.
    #[test]
    fn the_fast_path_takes_plain_claims_and_agrees(choices in proptest::collection::vec(proptest::num::u8::ANY, 0..48)) {
        let payload = plain_claims(&choices);
        proptest::prop_assert!(agree::<IgnoredAny>(payload.as_bytes()), "gave up on {payload}");
        proptest::prop_assert!(agree::<Borrowed<'_>>(payload.as_bytes()), "gave up on {payload}");
        // `Owned` needs `exp`, and `aud` as a list when present.
        let value: serde_json::Value = serde_json::from_str(&payload).unwrap();
        let fits = value.get("exp").is_some() && !value.get("aud").is_some_and(serde_json::Value::is_string);
        proptest::prop_assert_eq!(agree::<Owned>(payload.as_bytes()), fits, "{}", payload);
        agree::<Mixed<'_>>(payload.as_bytes());
        agree::<serde_json::Value>(payload.as_bytes());
    }
}

/// Every byte a plain string may hold, as the whole of strings of every length up to past two
/// words: the string ends at its quote and nowhere else; a backslash or a control character
/// anywhere in the first two words gives up.
#[test]
fn the_string_scanner_finds_the_quote_wherever_it_sits() {
    for length in 0..20 {
        for byte in (0x20..=0xFF).filter(|&byte| byte != b'"' && byte != b'\\') {
            let text = [&b"\""[..], &vec![byte; length], b"\",\"m\":1}"].concat();
            assert_eq!(string_end(&text, 1), Ok(1 + length), "{byte:#04x} times {length}");
        }
        for special in (0..0x20).chain([b'\\']) {
            let mut text = [&b"\""[..], &[b'a'; 20], b"\"}"].concat();
            text[1 + length] = special;
            assert_eq!(string_end(&text, 1), Err(NotPlain), "{special:#04x} at {length}");
        }
    }
}
