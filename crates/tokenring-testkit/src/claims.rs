//! The claims reader's differential oracle: claims types that ask a deserializer for most of
//! what serde offers, and the plain claims the reader's fast path exists for.
//!
//! The library's tests and the `claims` fuzz target read a payload by the fast path and by
//! `serde_json`, into each of these types, and require the same result wherever the fast path
//! accepts; on [`plain_claims`] they require that the fast path accepts at all.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

/// Owned claims with a registered time read as a typed field and a list of strings.
#[derive(Debug, Deserialize, PartialEq)]
pub struct Owned {
    /// The subject.
    pub sub: String,
    /// The expiry, read by the caller's type too.
    pub exp: u64,
    /// The audiences, as a list.
    #[serde(default)]
    pub aud: Option<Vec<String>>,
}

/// Claims borrowed from the payload.
#[derive(Debug, Deserialize, PartialEq)]
pub struct Borrowed<'a> {
    /// The subject.
    pub sub: &'a str,
    /// The issuer.
    pub iss: Option<&'a str>,
}

/// A claims type that asks the deserializer for most of what serde offers.
#[derive(Debug, Deserialize, PartialEq)]
pub struct Mixed<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    small: Option<u8>,
    #[serde(default)]
    signed: Option<i32>,
    #[serde(default)]
    float: Option<f64>,
    #[serde(default)]
    flag: Option<bool>,
    #[serde(default)]
    list: Option<Vec<u32>>,
    #[serde(borrow, default)]
    pair: Option<(u8, &'a str)>,
    #[serde(default)]
    unit: Option<()>,
    #[serde(default)]
    map: Option<BTreeMap<String, i64>>,
    #[serde(default)]
    character: Option<char>,
    #[serde(default)]
    wrapped: Option<Wrapped>,
    #[serde(default)]
    any: Option<serde_json::Value>,
    #[serde(borrow, default)]
    nested: Option<Box<Mixed<'a>>>,
}

/// A newtype, as the caller's types often hold.
#[derive(Debug, Deserialize, PartialEq)]
pub struct Wrapped(u16);

/// Most members besides `sub` and the registered claims that [`plain_claims`] writes: with all
/// of them, 16 in all, as many as the fast path reads without allocating.
pub const PLAIN_EXTRA_MEMBERS_MAX: usize = 10;

/// Claims of the plain kind the fast path exists for, chosen by `choices` (any bytes): `exp`,
/// `nbf` and `iat` as integers, `iss` a string, `aud` a string or a list of at most three, then
/// up to [`PLAIN_EXTRA_MEMBERS_MAX`] other members holding strings without escapes (non-ASCII
/// and spaces included), non-negative integers, booleans or `null`, in the compact form or with
/// spaces around the punctuation. Always a `sub` string, so that [`Owned`] and [`Borrowed`]
/// fit when `exp` is present.
pub fn plain_claims(choices: &[u8]) -> String {
    const NAMES: [&str; PLAIN_EXTRA_MEMBERS_MAX] =
        ["jti", "name", "role", "admin", "scope", "tenant", "email", "uid", "caf\u{e9}", "x y"];
    const TEXTS: [&str; 8] = ["", "3", "ada", "a b c", "caf\u{e9}", "\u{1F600}", "x/y:z", "0123456789abcdefghij"];
    const NUMBERS: [u64; 6] = [0, 7, 1_700_000_000, 4_294_967_296, 9_999_999_999_999_999_999, u64::MAX];
    let mut choices = choices.iter().copied().chain(core::iter::repeat(0));
    let mut next = move || choices.next().unwrap_or(0);
    let spaced = next() % 4 == 0;
    let mut members = vec![format!("\"sub\":\"{}\"", TEXTS[usize::from(next()) % TEXTS.len()])];
    for time in ["exp", "nbf", "iat"] {
        if next() % 4 != 0 {
            members.push(format!("\"{time}\":{}", NUMBERS[usize::from(next()) % NUMBERS.len()]));
        }
    }
    if next() % 2 == 0 {
        members.push(format!("\"iss\":\"{}\"", TEXTS[usize::from(next()) % TEXTS.len()]));
    }
    match next() % 3 {
        0 => {}
        1 => members.push(format!("\"aud\":\"{}\"", TEXTS[usize::from(next()) % TEXTS.len()])),
        _ => {
            let count = usize::from(next()) % 4;
            let list: Vec<String> = (0..count).map(|index| format!("\"a{index}\"")).collect();
            members.push(format!("\"aud\":[{}]", list.join(",")));
        }
    }
    let extra = usize::from(next()) % (PLAIN_EXTRA_MEMBERS_MAX + 1);
    for name in &NAMES[..extra] {
        let value = match next() % 5 {
            0 => format!("\"{}\"", TEXTS[usize::from(next()) % TEXTS.len()]),
            1 => NUMBERS[usize::from(next()) % NUMBERS.len()].to_string(),
            2 => "true".to_owned(),
            3 => "false".to_owned(),
            _ => "null".to_owned(),
        };
        members.push(format!("\"{name}\":{value}"));
    }
    // Members in an order of the choices' making.
    let rotate = usize::from(next()) % members.len();
    members.rotate_left(rotate);
    if spaced {
        let spaced: Vec<String> = members.iter().map(|member| member.replacen(':', " : ", 1)).collect();
        format!("{{ {} }}", spaced.join(" , "))
    } else {
        format!("{{{}}}", members.join(","))
    }
}

/// The `claims` fuzz target: reads `data` as a payload by the claims reader's fast path and by
/// `serde_json`, into each claims type here, and panics where the fast path accepts with another
/// result than `serde_json` gives; then reads [`plain_claims`] built from `data` and panics
/// unless the fast path accepts them (into nothing and into [`Borrowed`]) with the same result.
/// Compiled only under `cargo fuzz`, whose hooks into the reader it uses.
#[cfg(fuzzing)]
pub fn differential(data: &[u8]) {
    use serde::de::IgnoredAny;
    use tokenring::fuzzing::{claims_fast, claims_thorough};

    /// Whether the fast path read `payload`; panics where `serde_json` reads it otherwise.
    fn agree<'de, C: Deserialize<'de> + PartialEq + core::fmt::Debug>(payload: &'de [u8]) -> bool {
        let Some((claims, registered)) = claims_fast::<C>(payload) else { return false };
        let text = String::from_utf8_lossy(payload);
        assert_eq!(claims_thorough::<C>(payload), Ok((Some(claims), registered)), "the paths disagree on {text:?}");
        true
    }

    agree::<IgnoredAny>(data);
    agree::<serde_json::Value>(data);
    agree::<Owned>(data);
    agree::<Borrowed<'_>>(data);
    agree::<Mixed<'_>>(data);
    let plain = plain_claims(data);
    assert!(agree::<IgnoredAny>(plain.as_bytes()), "the fast path gave up on {plain}");
    assert!(agree::<Borrowed<'_>>(plain.as_bytes()), "the fast path gave up on {plain}");
    agree::<Owned>(plain.as_bytes());
    agree::<Mixed<'_>>(plain.as_bytes());
}
