//! The rules of strict JSON that `serde_json` leaves to its caller, and the values the header
//! and claims readers record on the way.
//!
//! JOSE asks more of JSON than a general parser checks (RFC 7515 §5.2, RFC 7519 §7.2, RFC 8725
//! §3.10): the text is valid UTF-8 with no lone surrogate escaped anywhere, every object names
//! each member once, and, here, nesting is bounded before any parser recurses. `serde_json`
//! does the parsing; this module adds those checks and nothing else: it reads no JSON itself
//! except through `serde_json`.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use crate::limits::AUDIENCES_MAX;

/// `json` as text a JSON parser may read: valid UTF-8, with no lone UTF-16 surrogate escaped
/// anywhere (RFC 8259 §8.1-8.2, RFC 7519 §7.2); `None` otherwise. Checked before a header or
/// claims set is parsed, since the parser does not look inside values it skips; the parser
/// then reads the `&str`, and does not check its strings' UTF-8 again.
pub(crate) fn text(json: &[u8]) -> Option<&str> {
    core::str::from_utf8(json).ok().filter(|text| surrogate_escapes_are_paired(text.as_bytes()))
}

/// Whether every `\u` escape of a UTF-16 surrogate in `json` is half of a proper pair.
///
/// `serde_json` checks this only for strings it decodes; values it skips (members the caller's
/// type ignores) are not decoded. Text without a backslash, the common case, is decided by one
/// search.
pub(crate) fn surrogate_escapes_are_paired(json: &[u8]) -> bool {
    // `contains` on bytes is a word-at-a-time search, much faster than a byte loop.
    if !json.contains(&b'\\') {
        return true;
    }
    let Some(first) = json.iter().position(|&byte| byte == b'\\') else { return true };
    let escape = |at: usize| -> Option<u16> {
        let digits = json.get(at..at + 6)?;
        if digits[0] != b'\\' || digits[1] != b'u' {
            return None;
        }
        core::str::from_utf8(&digits[2..]).ok().and_then(|hex| u16::from_str_radix(hex, 16).ok())
    };
    let mut at = first;
    while at < json.len() {
        if json[at] != b'\\' {
            at += 1;
            continue;
        }
        match escape(at) {
            Some(0xD800..=0xDBFF) => match escape(at + 6) {
                Some(0xDC00..=0xDFFF) => at += 12,
                _ => return false,
            },
            Some(0xDC00..=0xDFFF) => return false,
            Some(_) => at += 6,
            // Any other escape is two characters (`\"`, `\\`, `\n`, ...); malformed ones are
            // the parser's to refuse.
            None => at += 2,
        }
    }
    true
}

/// What a byte scan tells about a document's nesting before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Nesting {
    /// Arrays and objects nest no deeper than the limit asked for.
    pub(crate) within_depth: bool,
    /// An object may sit inside another: more than one `{` appears (inside strings too, so this
    /// errs towards `true`). When it is `false`, the reader of the outer object sees every
    /// member name there is.
    pub(crate) nested_objects: bool,
}

/// How many `{` and how many `[` appear in `json`, anywhere.
///
/// Counted in chunks short enough for byte-wide counters, which the compiler turns into vector
/// compares and adds.
fn count_openers(json: &[u8]) -> (usize, usize) {
    let (mut objects, mut arrays) = (0, 0);
    for chunk in json.chunks(usize::from(u8::MAX)) {
        let (chunk_objects, chunk_arrays) = chunk.iter().fold((0u8, 0u8), |(objects, arrays), &byte| {
            (objects + u8::from(byte == b'{'), arrays + u8::from(byte == b'['))
        });
        objects += usize::from(chunk_objects);
        arrays += usize::from(chunk_arrays);
    }
    (objects, arrays)
}

/// Scans `json` for its nesting, before a parser that would recurse into it.
///
/// A cheap scan: the common case (fewer brackets than the limit) is decided by counting them;
/// otherwise the scan follows strings, so that brackets inside them do not count.
pub(crate) fn nesting(json: &[u8], depth_max: usize) -> Nesting {
    let (objects, arrays) = count_openers(json);
    let nested_objects = objects > 1;
    if objects + arrays <= depth_max {
        return Nesting { within_depth: true, nested_objects };
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > depth_max {
                    return Nesting { within_depth: false, nested_objects };
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Nesting { within_depth: true, nested_objects }
}

/// A JSON value reduced to what the parsers need to know about it: a string (borrowed when it
/// has no escapes), a number, a boolean, a short array of strings, or something else (consumed
/// and forgotten).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'de> {
    Str(Cow<'de, str>),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
    /// Boxed: arrays are rare (an `aud` list) and the inline list is large.
    Strings(Box<StrList<'de>>),
    /// An array of more than [`AUDIENCES_MAX`] strings.
    TooManyStrings,
    Other,
}

/// Up to [`AUDIENCES_MAX`] strings, stored inline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StrList<'de> {
    items: [Cow<'de, str>; AUDIENCES_MAX],
    len: usize,
}

impl<'de> StrList<'de> {
    pub(crate) fn as_slice(&self) -> &[Cow<'de, str>] {
        &self.items[..self.len]
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Unsigned(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Signed(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(value))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut list = StrList { items: [const { Cow::Borrowed("") }; AUDIENCES_MAX], len: 0 };
        let mut outcome = None;
        while let Some(element) = seq.next_element::<Scalar<'de>>()? {
            match element {
                _ if outcome.is_some() => {}
                Scalar::Str(text) if list.len < AUDIENCES_MAX => {
                    list.items[list.len] = text;
                    list.len += 1;
                }
                Scalar::Str(_) => outcome = Some(Scalar::TooManyStrings),
                _ => outcome = Some(Scalar::Other),
            }
        }
        Ok(outcome.unwrap_or_else(|| Scalar::Strings(Box::new(list))))
    }

    /// An object, or a number when `serde_json`'s `arbitrary_precision` feature is on.
    ///
    /// That feature, which any crate in a build can switch on for all of it, makes `serde_json`
    /// hand a number to a visitor as a map of one member that only its own types recognise. Its
    /// `Value` reads the map either way, through public API; objects are rare here (a registered
    /// claim of the wrong type) and bounded by the document's limits.
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        match serde_json::Value::deserialize(MapAccessDeserializer::new(map))? {
            serde_json::Value::Number(number) => Ok(Scalar::of_number(&number)),
            _ => Ok(Scalar::Other),
        }
    }
}

impl Scalar<'_> {
    /// A number as `serde_json` would hand it to a visitor without `arbitrary_precision`: an
    /// unsigned integer, a negative one, or else a float; a number no `f64` holds (`1e400`) is
    /// [`Scalar::Other`].
    fn of_number(number: &serde_json::Number) -> Self {
        if let Some(unsigned) = number.as_u64() {
            Scalar::Unsigned(unsigned)
        } else if let Some(signed) = number.as_i64() {
            Scalar::Signed(signed)
        } else {
            number.as_f64().map_or(Scalar::Other, Scalar::Float)
        }
    }
}

/// A member name, borrowed when it has no escapes.
pub(crate) struct Name<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(value)))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(value.to_owned())))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// How many names [`SeenNames`] keeps inline; more, or names with escapes, go to the heap.
const SEEN_INLINE: usize = 16;

/// Member names seen so far in one object, at most `N`, to refuse repeats.
///
/// Names without escapes are borrowed from the document and the first [`SEEN_INLINE`] of them
/// kept inline, so that the usual object costs no allocation; the rest are kept in a vector.
pub(crate) struct SeenNames<'de, const N: usize> {
    inline: [&'de str; SEEN_INLINE],
    inline_len: usize,
    spilled: Vec<Cow<'de, str>>,
}

/// Why a name could not be recorded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NameFault {
    Duplicate,
    TooMany,
}

/// A name as recorded: borrowed from the document, or decoded from escapes and kept.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seen<'s, 'de> {
    Borrowed(&'de str),
    Kept(&'s str),
}

impl Seen<'_, '_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Seen::Borrowed(name) => name,
            Seen::Kept(name) => name,
        }
    }
}

impl<'de, const N: usize> SeenNames<'de, N> {
    pub(crate) fn new() -> Self {
        Self { inline: [""; SEEN_INLINE], inline_len: 0, spilled: Vec::new() }
    }

    /// Records `name`, refusing a repeat or one name too many.
    pub(crate) fn insert(&mut self, name: Cow<'de, str>) -> Result<Seen<'_, 'de>, NameFault> {
        let repeated = self.inline[..self.inline_len].iter().any(|&seen| seen == name) || self.spilled.contains(&name);
        if repeated {
            return Err(NameFault::Duplicate);
        }
        if self.inline_len + self.spilled.len() == N {
            return Err(NameFault::TooMany);
        }
        match name {
            Cow::Borrowed(name) if self.inline_len < SEEN_INLINE => {
                self.inline[self.inline_len] = name;
                self.inline_len += 1;
                Ok(Seen::Borrowed(name))
            }
            name => {
                self.spilled.push(name);
                Ok(match &self.spilled[self.spilled.len() - 1] {
                    Cow::Borrowed(name) => Seen::Borrowed(name),
                    Cow::Owned(name) => Seen::Kept(name),
                })
            }
        }
    }
}

/// Why [`unique_names`] refused a document, with the 1-based position `serde_json` gives.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NamesFault {
    /// An object names a member twice.
    Repeated { line: usize, column: usize },
    /// The document is not JSON `serde_json` can read.
    NotJson { line: usize, column: usize },
}

/// Whether every object in `json`, at any depth, names each member once (escapes decoded:
/// `"a\u006cg"` is `alg`). One pass that keeps only the names of the objects it is inside.
pub(crate) fn unique_names(json: &[u8]) -> Result<(), NamesFault> {
    let mut repeated = false;
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let checked =
        UniqueNames { repeated: &mut repeated }.deserialize(&mut deserializer).and_then(|()| deserializer.end());
    checked.map_err(|error| {
        let (line, column) = (error.line(), error.column());
        if repeated {
            NamesFault::Repeated { line, column }
        } else {
            NamesFault::NotJson { line, column }
        }
    })
}

/// Walks a JSON value, refusing any object that names a member twice; keeps no value.
struct UniqueNames<'r> {
    repeated: &'r mut bool,
}

impl<'de> DeserializeSeed<'de> for UniqueNames<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueNames<'_> {
    type Value = ();

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(UniqueNames { repeated: &mut *self.repeated })?.is_some() {}
        Ok(())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut names = BTreeSet::new();
        while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
            if !names.insert(name) {
                *self.repeated = true;
                return Err(de::Error::custom("repeated member"));
            }
            map.next_value_seed(UniqueNames { repeated: &mut *self.repeated })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
