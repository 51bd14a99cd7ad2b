//! Strict JSON: which text is valid, how nesting is measured, which names repeat, and what a
//! member's value is recorded as.

use super::*;
use crate::limits::AUDIENCES_MAX;

#[test]
fn nesting_counts_arrays_and_objects_outside_strings() {
    let within = |json: &[u8], depth_max| nesting(json, depth_max).within_depth;
    assert!(within(b"{}", 1));
    assert!(!within(b"[[]]", 1));
    assert!(within(b"{\"a\":\"[[[[[[\"}", 1), "brackets inside strings do not count");
    assert!(within(b"{\"a\\\"[[[[\":1}", 1), "escaped quotes keep the string open");
    assert!(within(b"[[],[],[],[]]", 2), "siblings do not add up");
    assert!(!within(&b"[".repeat(100), 16));
    assert!(!within(&b"{".repeat(17), 16), "objects count as well as arrays");
    assert!(within(&b"{".repeat(16), 16), "exactly the limit");
    assert!(!within(br#"["\n",[[[[]]]]]"#, 3), "an escape ends; later brackets count");
}

#[test]
fn nested_objects_are_flagged_whenever_a_second_brace_appears() {
    let nested = |json: &[u8]| nesting(json, 16).nested_objects;
    assert!(!nested(br#"{"a":1,"b":[1,2]}"#));
    assert!(nested(br#"{"a":{"b":1}}"#));
    assert!(nested(br#"{"a":[{"b":1}]}"#));
    // A brace inside a string errs towards a second pass, never away from one.
    assert!(nested(br#"{"a":"{"}"#));
    // Past the counting shortcut, the flag is the same.
    assert!(nested(br#"{"a":[[[[{"b":1}]]]]}"#) && nesting(br#"{"a":[[[[{"b":1}]]]]}"#, 2).nested_objects);
}

#[test]
fn text_is_valid_utf8_with_every_escaped_surrogate_paired() {
    let is_valid_text = |json: &[u8]| text(json).is_some();
    assert!(is_valid_text(br#"{"a":"\uD83D\uDE00"}"#));
    assert!(is_valid_text(br#"{"a":"\\uD800"}"#), "an escaped backslash, then plain text");
    assert!(is_valid_text(br#"{"a":"\nD800"}"#), "another escape, then plain hex digits");
    assert!(!is_valid_text(br#"{"a":"\uD800"}"#));
    assert!(!is_valid_text(br#"{"a":"\uDC00\uD800"}"#));
    assert!(!is_valid_text(br#"{"a":"\uD800\u0041"}"#));
    assert!(!is_valid_text(b"{\"a\":\"\xC1\"}"));
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
fn repeated_names_are_found_at_any_depth_after_unescaping() {
    assert_eq!(unique_names(br#"{"a":1,"b":{"a":2},"c":[{"a":3}]}"#), Ok(()));
    assert!(matches!(unique_names(br#"{"a":1,"a":2}"#), Err(NamesFault::Repeated { .. })));
    assert!(matches!(unique_names(br#"{"x":[{"b":1,"b":2}]}"#), Err(NamesFault::Repeated { .. })));
    assert!(matches!(unique_names(br#"{"alg":1,"a\u006cg":2}"#), Err(NamesFault::Repeated { .. })));
    assert!(matches!(unique_names(br#"{"a":1"#), Err(NamesFault::NotJson { .. })));
}

#[test]
fn string_lists_classify_by_the_first_fault() {
    let strings: Vec<String> = (0..=AUDIENCES_MAX).map(|i| format!("\"a{i}\"")).collect();
    let too_many = format!("[{},1]", strings.join(","));
    assert_eq!(serde_json::from_str::<Scalar<'_>>(&too_many).unwrap(), Scalar::TooManyStrings);
    assert_eq!(serde_json::from_str::<Scalar<'_>>(r#"[1,"a"]"#).unwrap(), Scalar::Other);
    let most: Vec<String> = (0..AUDIENCES_MAX).map(|i| format!("\"a{i}\"")).collect();
    let exactly = format!("[{}]", most.join(","));
    let Scalar::Strings(list) = serde_json::from_str::<Scalar<'_>>(&exactly).unwrap() else {
        panic!("a list of exactly the limit is a list of strings");
    };
    assert_eq!(list.as_slice().len(), AUDIENCES_MAX);
}

/// Numbers are recorded alike whichever representation `serde_json` uses for them: run with
/// `--features serde_json/arbitrary_precision` too (`.ci/run` does).
#[test]
fn numbers_are_recorded_as_integers_then_floats() {
    fn scalar(json: &str) -> Option<Scalar<'_>> {
        serde_json::from_str(json).ok()
    }
    assert_eq!(scalar("0"), Some(Scalar::Unsigned(0)));
    assert_eq!(scalar("18446744073709551615"), Some(Scalar::Unsigned(u64::MAX)));
    assert_eq!(scalar("-5"), Some(Scalar::Signed(-5)));
    assert_eq!(scalar("1.5"), Some(Scalar::Float(1.5)));
    assert_eq!(scalar("1e3"), Some(Scalar::Float(1000.0)));
    assert_eq!(scalar("18446744073709551616"), Some(Scalar::Float(18_446_744_073_709_551_616.0)));
    assert_eq!(scalar("{}"), Some(Scalar::Other));
    assert_eq!(scalar(r#"{"a":1}"#), Some(Scalar::Other));
    // A number beyond a float's range: `serde_json` refuses it, or with arbitrary precision
    // hands it over, and it is then no number a claim can use.
    assert!(matches!(scalar("1e400"), None | Some(Scalar::Other)));
}

#[test]
fn the_number_representation_is_read_through_serde_jsons_own_value() {
    let number = |json: &str| Scalar::of_number(&serde_json::from_str::<serde_json::Number>(json).unwrap());
    assert_eq!(number("7"), Scalar::Unsigned(7));
    assert_eq!(number("-7"), Scalar::Signed(-7));
    assert_eq!(number("7.25"), Scalar::Float(7.25));
    assert_eq!(number("-9223372036854775809"), Scalar::Float(-9_223_372_036_854_775_809.0));
}

#[test]
fn seen_names_refuse_a_repeat_and_one_name_too_many() {
    let mut seen = SeenNames::<2>::new();
    assert_eq!(seen.insert(Cow::Borrowed("a")), Ok(Seen::Borrowed("a")));
    assert_eq!(seen.insert(Cow::Owned("a".to_owned())), Err(NameFault::Duplicate));
    assert_eq!(seen.insert(Cow::Owned("b".to_owned())), Ok(Seen::Kept("b")));
    assert_eq!(seen.insert(Cow::Borrowed("b")), Err(NameFault::Duplicate));
    assert_eq!(seen.insert(Cow::Borrowed("c")), Err(NameFault::TooMany));
}

#[test]
fn seen_names_past_the_inline_ones_are_kept_and_compared_too() {
    let names: Vec<String> = (0..SEEN_INLINE + 4).map(|index| format!("m{index}")).collect();
    let mut seen = SeenNames::<{ SEEN_INLINE + 4 }>::new();
    for name in &names {
        assert_eq!(seen.insert(Cow::Borrowed(name)).map(|seen| seen.as_str().to_owned()), Ok(name.clone()));
    }
    for name in [&names[0], &names[SEEN_INLINE - 1], &names[SEEN_INLINE], &names[SEEN_INLINE + 3]] {
        assert_eq!(seen.insert(Cow::Borrowed(name)), Err(NameFault::Duplicate), "{name}");
    }
    assert_eq!(seen.insert(Cow::Borrowed("new")), Err(NameFault::TooMany));
}

#[test]
fn openers_are_counted_across_chunks_of_every_length() {
    for len in [0, 1, 254, 255, 256, 510, 511, 1000] {
        let mut json = vec![b'a'; len];
        for (at, byte) in json.iter_mut().enumerate() {
            *byte = match at % 3 {
                0 => b'{',
                1 => b'[',
                _ => b'x',
            };
        }
        let objects = json.iter().filter(|&&byte| byte == b'{').count();
        let arrays = json.iter().filter(|&&byte| byte == b'[').count();
        assert_eq!(count_openers(&json), (objects, arrays), "length {len}");
    }
    // A chunk entirely of openers fills a byte-wide counter exactly.
    assert_eq!(count_openers(&[b'{'; 255]), (255, 0));
    assert_eq!(count_openers(&[b'['; 256]), (0, 256));
}

#[test]
fn the_first_unescaped_names_are_kept_without_allocating() {
    let names: Vec<String> = (0..=SEEN_INLINE).map(|index| format!("m{index}")).collect();
    let mut seen = SeenNames::<64>::new();
    for name in &names[..SEEN_INLINE] {
        assert!(seen.insert(Cow::Borrowed(name)).is_ok());
    }
    assert_eq!(seen.spilled.capacity(), 0, "no allocation for the first {SEEN_INLINE} names");
    assert!(seen.insert(Cow::Borrowed(&names[SEEN_INLINE])).is_ok());
    assert_eq!(seen.spilled.len(), 1, "the next one is kept on the heap");
    // A name with escapes is decoded, so it is kept on the heap even among the first.
    let mut seen = SeenNames::<64>::new();
    assert_eq!(seen.insert(Cow::Owned("a".to_owned())), Ok(Seen::Kept("a")));
    assert_eq!((seen.inline_len, seen.spilled.len()), (0, 1));
}
