//! Tests that pin boundaries and bookkeeping of `json.rs` which the behaviour tests leave loose
//! (found by mutation testing: see docs/testing.md).

use serde::de::IgnoredAny;

use super::*;
use crate::limits::JSON_DEPTH_MAX;

/// Reads all of `json` as a `T` with the plain reader, or `None` where it gives up.
fn plain<'de, T: Deserialize<'de>>(json: &'de str, depth_max: usize) -> Option<T> {
    let mut plain = Plain::new(json.as_bytes(), depth_max)?;
    let value = T::deserialize(&mut plain).ok()?;
    plain.at_end().then_some(value)
}

/// Whether the plain reader reads all of `json`.
fn reads(json: &str) -> bool {
    plain::<IgnoredAny>(json, JSON_DEPTH_MAX).is_some()
}

#[test]
fn text_that_starts_with_an_escape_is_checked_from_its_first_byte() {
    assert!(!surrogate_escapes_are_paired(br"\uD800"));
    assert!(!surrogate_escapes_are_paired(br"\uDC00"));
    // Accepted text here starts one byte in: a scan that stopped advancing would hang, not fail.
    assert!(surrogate_escapes_are_paired(br"x\uD83D\uDE00"));
    assert!(surrogate_escapes_are_paired(br"x\n\u0041"));
}

#[test]
fn a_lone_surrogate_after_other_escapes_is_found() {
    // After a pair, a BMP escape or a two-character escape, the scan resumes right behind it.
    assert!(!surrogate_escapes_are_paired(br#"{"a":"\uD83D\uDE00","b":"\uD800"}"#));
    assert!(!surrogate_escapes_are_paired(br#"{"a":"\u0041","b":"\uD800"}"#));
    assert!(!surrogate_escapes_are_paired(br#"{"a":"\n\uD800"}"#));
    assert!(!surrogate_escapes_are_paired(br#"{"a":"\\\uDFFF"}"#));
    assert!(!surrogate_escapes_are_paired(br#"{"skipped":["\t","\uDBFF x"]}"#));
    // An escaped backslash before `u` and hex digits is not an escape of a surrogate.
    assert!(surrogate_escapes_are_paired(br#"{"a":"\\uD800","b":"\\\\uDC00"}"#));
    assert!(surrogate_escapes_are_paired(br#"{"a":"\uD83D\uDE00\u0041\n\uDBFF\uDFFF"}"#));
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

#[test]
fn the_reader_nests_exactly_to_its_depth_limit() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(reads(&nested(JSON_DEPTH_MAX)));
    assert!(!reads(&nested(JSON_DEPTH_MAX + 1)));
    assert!(plain::<IgnoredAny>("{\"a\":{}}", 2).is_some());
    assert!(plain::<IgnoredAny>("{\"a\":{}}", 1).is_none());
}

#[test]
fn closing_a_container_gives_its_depth_back() {
    // Siblings never add up: many arrays side by side at the deepest level allowed.
    let siblings = format!("[{}]", vec!["[]"; 20].join(","));
    assert!(plain::<IgnoredAny>(&siblings, 2).is_some());
    let objects = format!("{{{}}}", (0..10).map(|index| format!("\"m{index}\":{{}}")).collect::<Vec<_>>().join(","));
    assert!(plain::<IgnoredAny>(&objects, 2).is_some());
}

#[test]
fn members_need_exactly_one_comma_between_them_with_or_without_whitespace() {
    for json in
        ["{\"a\":1,\"b\":2}", "{ \"a\" : 1 , \"b\" : 2 }", "{\"a\":1 ,\"b\":2}", "{\n\"a\":1,\n\"b\":2\n}", "{}"]
    {
        assert!(reads(json), "{json}");
    }
    for json in ["{,\"a\":1}", "{ ,\"a\":1}", "{,}", "{\"a\":1,,\"b\":2}", "{\"a\":1 \"b\":2}", "{\"a\":1,}"] {
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
    assert_eq!(plain::<Vec<u64>>("[1,2]", 2), Some(vec![1, 2]));
    assert_eq!(plain::<Vec<u64>>(" [ 1 , 2 ] ", 2), Some(vec![1, 2]));
    assert_eq!(plain::<Vec<u64>>("[]", 2), Some(vec![]));
    for json in ["[,1]", "[ ,1]", "[,]", "[1,]", "[1,,2]", "[1 2]"] {
        assert_eq!(plain::<Vec<u64>>(json, 2), None, "{json}");
    }
}

#[test]
fn peek_is_digit_looks_past_whitespace_without_consuming() {
    for (json, expected) in [("7", true), (" \n\t0", true), ("9x", true), ("-1", false), ("\"1\"", false), ("", false)]
    {
        let mut plain = Plain::new(json.as_bytes(), 1).unwrap();
        assert_eq!(plain.peek_is_digit(), expected, "{json:?}");
        assert_eq!(plain.peek_is_digit(), expected, "{json:?} again");
    }
    let mut plain = Plain::new(b" 42", 1).unwrap();
    assert!(plain.peek_is_digit());
    assert_eq!(plain.unsigned_value(), Ok(42));
}

#[test]
fn a_unit_reads_null_and_nothing_else() {
    assert_eq!(plain::<()>("null", 1), Some(()));
    assert_eq!(plain::<()>(" null ", 1), Some(()));
    assert_eq!(plain::<()>("0", 1), None);
    assert_eq!(plain::<()>("nul", 1), None);
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
        assert_eq!(plain::<u64>(json, 1), expected, "{json}");
        // The same digits after some text: the digit count is relative to where the number starts.
        let nested = format!("[\"abcdefghijklmnopqrstu\",{json}]");
        assert_eq!(plain::<(&str, u64)>(&nested, 1).map(|(_, number)| number), expected, "{nested}");
    }
}
