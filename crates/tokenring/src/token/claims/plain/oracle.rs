//! The fast path's oracle, shared by its tests and the `claims` fuzz target: `serde_json`
//! ([`read`]) must give the same claims and registered claims wherever the fast path accepts,
//! for claims types that ask the deserializer for most of what serde offers. Compiled only for
//! tests and under `cargo fuzz`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::parse;
use crate::token::claims::read;

/// Whether the fast path read `text` into `C`; panics when `serde_json` reads it otherwise.
pub(in crate::token::claims) fn agree<'de, C: Deserialize<'de> + PartialEq + core::fmt::Debug>(text: &'de str) -> bool {
    match parse::<C>(text) {
        None => false,
        Some(fast) => {
            assert_eq!(Ok(&fast), read::<C>(text).as_ref(), "the fast path and serde_json disagree on {text:?}");
            true
        }
    }
}

/// Owned claims with a registered time read as a typed field and a list of strings.
#[derive(Debug, Deserialize, PartialEq)]
pub(in crate::token::claims) struct Owned {
    pub(in crate::token::claims) sub: String,
    pub(in crate::token::claims) exp: u64,
    #[serde(default)]
    pub(in crate::token::claims) aud: Option<Vec<String>>,
}

/// Claims borrowed from the payload.
#[derive(Debug, Deserialize, PartialEq)]
pub(in crate::token::claims) struct Borrowed<'a> {
    pub(in crate::token::claims) sub: &'a str,
    pub(in crate::token::claims) iss: Option<&'a str>,
}

/// A type that asks the deserializer for most of what serde offers.
#[derive(Debug, Deserialize, PartialEq)]
pub(in crate::token::claims) struct Mixed<'a> {
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

#[derive(Debug, Deserialize, PartialEq)]
struct Wrapped(u16);
