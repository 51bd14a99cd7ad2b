//! Strict JSON: which names repeat, how deep is too deep, which strings are refused, and what a
//! member's value is recorded as.

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::*;
use crate::limits::AUDIENCES_MAX;

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
    assert_eq!(list.len(), AUDIENCES_MAX);
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
    // hands it over as out of range, which the claims reader refuses as malformed alike.
    assert!(matches!(scalar("1e400"), None | Some(Scalar::OutOfRange)));
}

#[test]
fn the_number_representation_is_read_through_serde_jsons_own_value() {
    let number = |json: &str| Scalar::of_number(&serde_json::from_str::<serde_json::Number>(json).unwrap());
    assert_eq!(number("7"), Scalar::Unsigned(7));
    assert_eq!(number("-7"), Scalar::Signed(-7));
    assert_eq!(number("7.25"), Scalar::Float(7.25));
    assert_eq!(number("-9223372036854775809"), Scalar::Float(-9_223_372_036_854_775_809.0));
}

/// Reads `json` strictly into `T`: the value, or the fault (`None` for `serde_json`'s own).
fn strict<'de, T: Deserialize<'de>>(json: &'de str, depth_max: usize) -> Result<T, Option<Fault>> {
    let rules = Rules::new(depth_max);
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let value = T::deserialize(Strict::new(&mut deserializer, &rules)).and_then(|value| {
        deserializer.end()?;
        Ok(value)
    });
    value.map_err(|_| rules.fault())
}

#[test]
fn names_refuse_a_repeat_inline_and_past_the_inline_ones() {
    let names: Vec<String> = (0..NAMES_INLINE + 4).map(|index| format!("m{index}")).collect();
    let mut seen = Names::new();
    for name in &names {
        assert!(seen.insert(Cow::Borrowed(name)), "{name}");
    }
    assert_eq!(seen.inline_len + seen.spilled.len(), names.len());
    for name in [&names[0], &names[NAMES_INLINE - 1], &names[NAMES_INLINE], &names[NAMES_INLINE + 3]] {
        assert!(!seen.insert(Cow::Borrowed(name)), "{name}");
        assert!(!seen.insert(Cow::Owned(name.clone())), "{name}");
    }
    assert!(seen.insert(Cow::Borrowed("new")));
}

#[test]
fn the_first_unescaped_names_are_kept_without_allocating() {
    let names: Vec<String> = (0..=NAMES_INLINE).map(|index| format!("m{index}")).collect();
    let mut seen = Names::new();
    for name in &names[..NAMES_INLINE] {
        assert!(seen.insert(Cow::Borrowed(name)));
    }
    assert_eq!(seen.spilled.capacity(), 0, "no allocation for the first {NAMES_INLINE} names");
    assert!(seen.insert(Cow::Borrowed(&names[NAMES_INLINE])));
    assert_eq!(seen.spilled.len(), 1, "the next one is kept on the heap");
    // A name decoded from escapes is kept on the heap even among the first, and still compared.
    let mut seen = Names::new();
    assert!(seen.insert(Cow::Owned("a".to_owned())));
    assert_eq!((seen.inline_len, seen.spilled.len()), (0, 1));
    assert!(!seen.insert(Cow::Borrowed("a")));
}

#[test]
fn names_alike_in_length_and_first_byte_are_compared_in_full() {
    let mut seen = Names::new();
    assert!(seen.insert(Cow::Borrowed("abxd")));
    assert!(seen.insert(Cow::Borrowed("azxd")), "same length and first byte");
    assert!(seen.insert(Cow::Borrowed("")));
    assert!(!seen.insert(Cow::Borrowed("azxd")));
    assert!(!seen.insert(Cow::Borrowed("")));
    // Every slot is compared: a repeat of each of the inline names is found.
    let names: Vec<String> = (0..NAMES_INLINE).map(|index| format!("a{index:02}d")).collect();
    let mut seen = Names::new();
    for name in &names {
        assert!(seen.insert(Cow::Borrowed(name)));
    }
    for name in &names {
        assert!(!seen.insert(Cow::Borrowed(name)), "{name}");
    }
}

#[test]
fn repeated_names_are_found_at_any_depth_after_unescaping_even_in_skipped_values() {
    let names = |json: &'static str| strict::<IgnoredAny>(json, usize::MAX).map(|_| ());
    assert_eq!(names(r#"{"a":1,"b":{"a":2},"c":[{"a":3}]}"#), Ok(()));
    assert_eq!(names(r#"{"a":1,"a":2}"#), Err(Some(Fault::Repeated)));
    assert_eq!(names(r#"{"x":[{"b":1,"b":2}]}"#), Err(Some(Fault::Repeated)));
    assert_eq!(names(r#"{"alg":1,"a\u006cg":2}"#), Err(Some(Fault::Repeated)));
    assert_eq!(names(r#"{"a":1"#), Err(None));
    #[derive(Debug, Deserialize)]
    struct Only {
        #[allow(dead_code)]
        a: u8,
    }
    assert!(strict::<Only>(r#"{"a":1,"skipped":{"b":1}}"#, 16).is_ok());
    assert_eq!(strict::<Only>(r#"{"a":1,"skipped":{"b":1,"b":2}}"#, 16).unwrap_err(), Some(Fault::Repeated));
    assert_eq!(strict::<Only>(r#"{"a":1,"a":2}"#, 16).unwrap_err(), Some(Fault::Repeated));
    assert_eq!(strict::<serde_json::Value>(r#"[{"k":1,"k":1}]"#, 16).unwrap_err(), Some(Fault::Repeated));
    assert_eq!(strict::<Option<Vec<IgnoredAny>>>(r#"[{"k":1,"k":1}]"#, 16).unwrap_err(), Some(Fault::Repeated));
}

#[test]
fn nesting_is_bounded_before_serde_json_recurses_also_in_skipped_values() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(strict::<IgnoredAny>(&nested(16), 16).is_ok());
    assert_eq!(strict::<IgnoredAny>(&nested(17), 16).unwrap_err(), Some(Fault::TooDeep));
    assert!(strict::<serde_json::Value>(r#"{"a":{"b":[]}}"#, 3).is_ok());
    assert_eq!(strict::<serde_json::Value>(r#"{"a":{"b":[]}}"#, 2).unwrap_err(), Some(Fault::TooDeep));
    assert!(strict::<serde_json::Value>(r#"[[],[],[],[]]"#, 2).is_ok(), "siblings do not add up");
    assert!(strict::<serde_json::Value>(r#"["[[[[[[",1]"#, 1).is_ok(), "brackets inside strings do not count");
}

#[test]
fn every_string_is_decoded_so_a_lone_surrogate_is_refused_wherever_it_sits() {
    assert!(strict::<IgnoredAny>(r#"{"a":"\uD83D\uDE00"}"#, 16).is_ok());
    assert!(strict::<IgnoredAny>(r#"{"a":"\\uD800"}"#, 16).is_ok(), "an escaped backslash, then plain text");
    for json in
        [r#"{"a":"\uD800"}"#, r#"{"a":"\uDC00\uD800"}"#, r#"{"a":"\uD800\u0041"}"#, r#"{"s":["\t","\uDBFF x"]}"#]
    {
        assert_eq!(strict::<IgnoredAny>(json, 16).unwrap_err(), None, "{json}");
        assert!(strict::<serde_json::Value>(json, 16).is_err(), "{json}");
    }
    // A byte string is read as text, so it is decoded and checked too.
    #[derive(Debug, Deserialize)]
    struct Bytes {
        #[allow(dead_code)]
        #[serde(with = "serde_bytes_like")]
        b: Vec<u8>,
    }
    mod serde_bytes_like {
        pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
            struct Visitor;
            impl serde::de::Visitor<'_> for Visitor {
                type Value = Vec<u8>;
                fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_str<E>(self, value: &str) -> Result<Vec<u8>, E> {
                    Ok(value.as_bytes().to_vec())
                }
                fn visit_bytes<E>(self, value: &[u8]) -> Result<Vec<u8>, E> {
                    Ok(value.to_vec())
                }
            }
            deserializer.deserialize_bytes(Visitor)
        }
    }
    assert!(strict::<Bytes>(r#"{"b":"ok"}"#, 16).is_ok());
    assert!(strict::<Bytes>(r#"{"b":"\uD800"}"#, 16).is_err());
}

#[test]
fn after_a_refusal_the_containers_around_it_are_read_to_their_end() {
    let rules = Rules::new(16);
    let mut deserializer = serde_json::Deserializer::from_str(r#"{"a":[1,"x",3],"b":{"c":true}} "#);
    let refused = <std::collections::BTreeMap<String, Vec<u8>>>::deserialize(Strict::new(&mut deserializer, &rules));
    assert!(refused.is_err());
    assert!(!rules.stuck.get(), "the rest was read");
    assert!(deserializer.end().is_ok(), "to the end of the document");
    // A repeat after the refusal is still found.
    let rules = Rules::new(16);
    let mut deserializer = serde_json::Deserializer::from_str(r#"{"a":"x","b":1,"b":2}"#);
    assert!(<std::collections::BTreeMap<String, u8>>::deserialize(Strict::new(&mut deserializer, &rules)).is_err());
    assert_eq!(rules.fault(), Some(Fault::Repeated));
}

/// A broken rule ends the read: nothing after it is read, so nothing after it can lose track.
#[test]
fn a_fault_ends_the_read_where_it_is_found() {
    let rules = Rules::new(16);
    let mut deserializer = serde_json::Deserializer::from_str(r#"{"a":1,"a":2,"b":3}"#);
    assert!(<std::collections::BTreeMap<String, u8>>::deserialize(Strict::new(&mut deserializer, &rules)).is_err());
    assert_eq!(rules.fault(), Some(Fault::Repeated));
    assert!(!rules.stuck.get(), "the read stopped at the repeat, before the value it could not read past");
}

/// A visitor that stops before the end of an array is refused, as `serde_json` refuses it.
#[test]
fn an_array_read_in_part_is_refused() {
    assert!(serde_json::from_str::<(u8,)>("[1,2]").is_err());
    assert_eq!(strict::<(u8,)>("[1,2]", 16).map_err(|_| ()), Err(()));
    assert_eq!(strict::<(u8,)>("[1]", 16), Ok((1,)));
}

/// Enums in every form `serde_json` reads, their values read strictly like any other.
#[test]
fn enum_variants_are_read_and_checked_in_every_form() {
    #[derive(Debug, Deserialize, PartialEq)]
    enum Choice {
        A,
        B(u8),
        C(u8, u8),
        D { x: u8 },
    }
    assert_eq!(strict::<Choice>(r#""A""#, 16), Ok(Choice::A));
    assert_eq!(strict::<Choice>(r#"{"A":null}"#, 16), Ok(Choice::A));
    assert_eq!(strict::<Choice>(r#"{"B":1}"#, 16), Ok(Choice::B(1)));
    assert_eq!(strict::<Choice>(r#"{"C":[1,2]}"#, 16), Ok(Choice::C(1, 2)));
    assert_eq!(strict::<Choice>(r#"{"D":{"x":1}}"#, 16), Ok(Choice::D { x: 1 }));
    assert_eq!(strict::<Choice>(r#"{"D":{"x":1,"x":2}}"#, 16), Err(Some(Fault::Repeated)));
    assert_eq!(strict::<Vec<Choice>>(r#"[{"C":[1,2]}]"#, 2), Ok(vec![Choice::C(1, 2)]));
    assert_eq!(strict::<Vec<Choice>>(r#"[{"C":[1,2]}]"#, 1), Err(Some(Fault::TooDeep)));
    assert_eq!(strict::<Choice>(r#"{"B":"\uD800"}"#, 16), Err(None));
}
