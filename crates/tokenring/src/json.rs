//! Small JSON helpers shared by the header and claims parsers.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::limits::AUDIENCES_MAX;

/// Whether `json` is text a JSON parser may read: valid UTF-8, with no lone UTF-16 surrogate
/// escaped anywhere (RFC 8259 §8.1-8.2, RFC 7519 §7.2). Checked before a header or claims set is
/// parsed, since the parser does not look inside values it skips.
pub(crate) fn is_valid_text(json: &[u8]) -> bool {
    core::str::from_utf8(json).is_ok() && surrogate_escapes_are_paired(json)
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

/// Whether the nesting of arrays and objects in `json` stays within `depth_max`.
///
/// A cheap byte scan that runs before the JSON parser, so deeply nested input is refused with
/// a precise code without recursing into it. The common case (few brackets at all) is decided
/// by a count alone.
pub(crate) fn depth_within(json: &[u8], depth_max: usize) -> bool {
    let openers = json.iter().filter(|&&byte| byte == b'{' || byte == b'[').count();
    if openers <= depth_max {
        return true;
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
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
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

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
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

/// Member names seen so far in one object, to refuse duplicates without allocating for the
/// usual case of unescaped names.
pub(crate) struct SeenNames<'de, const N: usize> {
    names: [Cow<'de, str>; N],
    len: usize,
}

/// Why a name could not be recorded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NameFault {
    Duplicate,
    TooMany,
}

impl<'de, const N: usize> SeenNames<'de, N> {
    pub(crate) fn new() -> Self {
        Self { names: [const { Cow::Borrowed("") }; N], len: 0 }
    }

    /// Records `name`, refusing a repeat or one name too many; returns where it was stored.
    pub(crate) fn insert(&mut self, name: Cow<'de, str>) -> Result<usize, NameFault> {
        if self.names[..self.len].contains(&name) {
            return Err(NameFault::Duplicate);
        }
        if self.len == N {
            return Err(NameFault::TooMany);
        }
        self.names[self.len] = name;
        self.len += 1;
        Ok(self.len - 1)
    }

    /// The name stored at `index`.
    pub(crate) fn get(&self, index: usize) -> &Cow<'de, str> {
        &self.names[index]
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

/// Why the plain-JSON reader gave up: the input is outside the subset it reads, is not JSON at
/// all, or the caller's type refused it. It carries nothing, so giving up never allocates; the
/// caller then parses again with `serde_json`, which says precisely what is wrong (if anything).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NotPlain;

impl core::fmt::Display for NotPlain {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("not plain JSON")
    }
}

impl std::error::Error for NotPlain {}

impl de::Error for NotPlain {
    fn custom<T: core::fmt::Display>(_: T) -> Self {
        Self
    }
}

/// Most members the fast path tracks in one object. Objects with more are rare and go to the thorough path,
/// which allows up to [`CLAIMS_MEMBERS_MAX`](crate::limits::CLAIMS_MEMBERS_MAX); a small set is quicker to set up and to search.
pub(crate) const PLAIN_MEMBERS_MAX: usize = 16;

/// The fast path's record of one object's member names, to refuse duplicates.
///
/// Only a short summary of each name is kept (length, first, middle and last byte): a repeated
/// name repeats its summary, so a repeat can never pass unnoticed. When two names share a
/// summary the fast path gives up, and the thorough path, which compares names in full,
/// decides whether they are a duplicate (refused) or merely alike (accepted). Distinct member
/// names almost never share a summary, so in practice this costs a few integer compares per
/// name and no storage of names at all.
pub(crate) struct PlainNames {
    summaries: [u32; PLAIN_MEMBERS_MAX],
    len: usize,
}

impl PlainNames {
    /// Marks an empty slot: no name has this summary, since its bytes would have to be `0xFF`,
    /// which UTF-8 never contains.
    const EMPTY: u32 = u32::MAX;

    pub(crate) fn new() -> Self {
        Self { summaries: [Self::EMPTY; PLAIN_MEMBERS_MAX], len: 0 }
    }

    #[inline]
    fn summary(name: &str) -> u32 {
        match name.as_bytes() {
            [] => 0,
            bytes @ [first, .., last] | bytes @ [first @ last] => {
                let middle = bytes[bytes.len() / 2];
                (bytes.len() as u32 & 0xFF) << 24 | u32::from(*first) << 16 | u32::from(middle) << 8 | u32::from(*last)
            }
        }
    }

    /// Records `name`; gives up on a summary seen before, or one name more than it holds.
    #[inline]
    pub(crate) fn insert(&mut self, name: &str) -> Result<(), NotPlain> {
        let summary = Self::summary(name);
        let len = self.len.min(PLAIN_MEMBERS_MAX);
        // Every slot is compared, empty ones included, and the results ORed: a fixed-length
        // compare without a branch per slot (the compiler makes it a few vector compares).
        if self.summaries.iter().fold(false, |seen, &other| seen | (other == summary)) {
            return Err(NotPlain);
        }
        *self.summaries.get_mut(len).ok_or(NotPlain)? = summary;
        self.len = len + 1;
        Ok(())
    }
}

/// `serde_json`'s marker for its raw-value type, which only `serde_json` itself can produce.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// What a byte means inside a string: 0 for an ordinary byte, 1 for the closing quote, 2 for a
/// byte the plain reader leaves to `serde_json` (a backslash, or a control character, which JSON
/// forbids unescaped).
const STRING_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = 2;
        byte += 1;
    }
    table[b'"' as usize] = 1;
    table[b'\\' as usize] = 2;
    table
};

/// Marks, in the high bit of each byte's lane, the bytes of `word` that end or interrupt a plain
/// string: a quote, a backslash or a control character. The lowest mark is exact (a false mark
/// can only appear above a true one), which is all [`Plain::string`] uses.
#[inline]
const fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const fn zero_bytes(word: u64) -> u64 {
        word.wrapping_sub(ONES) & !word & HIGHS
    }
    let quotes = zero_bytes(word ^ (ONES * b'"' as u64));
    let backslashes = zero_bytes(word ^ (ONES * b'\\' as u64));
    let controls = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quotes | backslashes | controls
}

/// The position of the quote that closes the plain string starting at `start`, or `NotPlain` at
/// an escape, a control character or the end of the input.
#[inline]
fn string_end(bytes: &[u8], start: usize) -> Result<usize, NotPlain> {
    let mut end = start;
    // Eight bytes at a time while eight remain: most member names and values end within the
    // first word.
    while let Some(word) = bytes.get(end..end + 8) {
        let word = u64::from_le_bytes(word.try_into().map_err(|_| NotPlain)?);
        let special = special_bytes(word);
        if special != 0 {
            end += (special.trailing_zeros() / 8) as usize;
            return if bytes[end] == b'"' { Ok(end) } else { Err(NotPlain) };
        }
        end += 8;
    }
    loop {
        match STRING_BYTES[usize::from(*bytes.get(end).ok_or(NotPlain)?)] {
            0 => end += 1,
            1 => return Ok(end),
            _ => return Err(NotPlain),
        }
    }
}

/// The value of eight ASCII digits read as a little-endian word (the first digit in the lowest
/// byte), or `None` if one of the bytes is not a digit.
#[inline]
const fn eight_digits(word: u64) -> Option<u64> {
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    // Every byte is 0x30..=0x3F, and still is after adding six (so it is at most 0x39).
    if word & HIGH_NIBBLES != ZEROS || word.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES != ZEROS {
        return None;
    }
    let mut value = word - ZEROS;
    // Pairs, then quadruples, then all eight: each step multiplies the more significant half.
    value = (value * 10 + (value >> 8)) & 0x00FF_00FF_00FF_00FF;
    value = (value * 100 + (value >> 16)) & 0x0000_FFFF_0000_FFFF;
    value = (value * 10_000 + (value >> 32)) & 0xFFFF_FFFF;
    Some(value)
}

/// A deserializer for the plain subset of JSON that signed claims nearly always are: strings
/// without escapes, non-negative integers that fit a `u64`, `true`, `false`, `null`, arrays and
/// objects, nested at most `depth_max` deep.
///
/// It exists for speed: verification is dominated by parsing the claims, and within this subset
/// a reader can skip most of what a general parser must do. For every input it reads to the end
/// it makes exactly the calls `serde_json` would make on the caller's visitors (borrowed strings,
/// `u64`, `bool`, unit, options, sequences, maps), so the result is the one `serde_json` gives.
/// Anything else (an escape, a sign, a fraction, an exponent, a number too large, an enum, bytes,
/// a syntax error, an error from the caller's type) makes it give up with [`NotPlain`], and the
/// caller falls back to `serde_json`: giving up is always safe, only success must be exact.
#[derive(Debug)]
pub(crate) struct Plain<'de> {
    text: &'de str,
    position: usize,
    depth: usize,
    depth_max: usize,
}

impl<'de> Plain<'de> {
    /// A reader over `json`, or `None` when `json` is not UTF-8 (which `serde_json` refuses too).
    #[cfg(test)]
    pub(crate) fn new(json: &'de [u8], depth_max: usize) -> Option<Self> {
        Some(Self::over(core::str::from_utf8(json).ok()?, depth_max))
    }

    /// A reader over `text`.
    pub(crate) fn over(text: &'de str, depth_max: usize) -> Self {
        Self { text, position: 0, depth: 0, depth_max }
    }

    /// Whether only whitespace is left.
    #[inline]
    pub(crate) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// The next byte that is not whitespace, left unconsumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.position) {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(byte);
            }
            self.position += 1;
        }
        None
    }

    /// Consumes `word` (a literal, the peeked byte included).
    #[inline]
    fn literal(&mut self, word: &[u8]) -> Result<(), NotPlain> {
        let end = self.position + word.len();
        if self.text.as_bytes().get(self.position..end) != Some(word) {
            return Err(NotPlain);
        }
        self.position = end;
        Ok(())
    }

    /// Consumes a string without escapes (the peeked quote included) and borrows its contents.
    #[inline]
    fn string(&mut self) -> Result<&'de str, NotPlain> {
        let start = self.position + 1;
        let end = string_end(self.text.as_bytes(), start)?;
        self.position = end + 1;
        // Both ends are next to an ASCII quote, so they are character boundaries.
        self.text.get(start..end).ok_or(NotPlain)
    }

    /// Consumes a non-negative integer without fraction or exponent that fits a `u64`.
    #[inline]
    fn unsigned(&mut self) -> Result<u64, NotPlain> {
        // Nineteen digits always fit a `u64`; a twentieth is added with overflow checks.
        const UNCHECKED_DIGITS: usize = 19;
        let bytes = self.text.as_bytes();
        let start = self.position;
        let mut value: u64 = 0;
        let mut end = start;
        // Eight digits at a time while eight follow (a timestamp is ten digits).
        while end - start + 8 <= UNCHECKED_DIGITS {
            let Some(word) = bytes.get(end..end + 8) else { break };
            let Some(digits) = eight_digits(u64::from_le_bytes(word.try_into().map_err(|_| NotPlain)?)) else { break };
            value = value * 100_000_000 + digits;
            end += 8;
        }
        while let Some(&digit @ b'0'..=b'9') = bytes.get(end) {
            if end - start >= UNCHECKED_DIGITS {
                value = value
                    .checked_mul(10)
                    .and_then(|value| value.checked_add(u64::from(digit - b'0')))
                    .ok_or(NotPlain)?;
            } else {
                value = value * 10 + u64::from(digit - b'0');
            }
            end += 1;
        }
        let leading_zero = bytes.get(start) == Some(&b'0') && end - start > 1;
        if leading_zero || end - start > UNCHECKED_DIGITS + 1 || matches!(bytes.get(end), Some(b'.' | b'e' | b'E')) {
            return Err(NotPlain);
        }
        self.position = end;
        Ok(value)
    }

    /// Enters an array or object whose opening byte is next, within the depth limit.
    #[inline]
    fn open(&mut self) -> Result<(), NotPlain> {
        self.depth += 1;
        if self.depth > self.depth_max {
            return Err(NotPlain);
        }
        self.position += 1;
        Ok(())
    }

    /// Leaves an array or object: `close` must be next.
    #[inline]
    fn close(&mut self, close: u8) -> Result<(), NotPlain> {
        if self.peek() != Some(close) {
            return Err(NotPlain);
        }
        self.position += 1;
        self.depth -= 1;
        Ok(())
    }

    /// Enters the object that must be next.
    pub(crate) fn open_object(&mut self) -> Result<(), NotPlain> {
        if self.peek() != Some(b'{') {
            return Err(NotPlain);
        }
        self.open()
    }

    /// Leaves an object whose members have all been read.
    pub(crate) fn close_object(&mut self) -> Result<(), NotPlain> {
        self.close(b'}')
    }

    /// The next member's name in the current object, with the colon after it, or `None` at the
    /// object's end. `first` tells whether a member was read before (then a comma must come
    /// first) and is updated.
    ///
    /// `serde_json` reads the colon when the value is asked for; reading it here instead changes
    /// nothing for input that is read to the end, and saves a round trip through memory for
    /// the position on the hot path.
    #[inline]
    pub(crate) fn member(&mut self, first: &mut bool) -> Result<Option<&'de str>, NotPlain> {
        let bytes = self.text.as_bytes();
        let mut position = self.position;
        // The compact form every JWT library writes needs no whitespace skipping.
        match bytes.get(position) {
            Some(b',') if !*first => position += 1,
            Some(b'"') if *first => *first = false,
            _ => {
                match self.peek() {
                    Some(b'}') => return Ok(None),
                    Some(b',') if !*first => self.position += 1,
                    Some(b'"') if *first => *first = false,
                    _ => return Err(NotPlain),
                }
                if self.peek() != Some(b'"') {
                    return Err(NotPlain);
                }
                position = self.position;
            }
        }
        if bytes.get(position) != Some(&b'"') {
            self.position = position;
            if self.peek() != Some(b'"') {
                return Err(NotPlain);
            }
            position = self.position;
        }
        let end = string_end(bytes, position + 1)?;
        let name = self.text.get(position + 1..end).ok_or(NotPlain)?;
        if bytes.get(end + 1) == Some(&b':') {
            self.position = end + 2;
        } else {
            self.position = end + 1;
            if self.peek() != Some(b':') {
                return Err(NotPlain);
            }
            self.position += 1;
        }
        Ok(Some(name))
    }

    /// Whether a digit is next.
    #[inline]
    pub(crate) fn peek_is_digit(&mut self) -> bool {
        matches!(self.peek(), Some(b'0'..=b'9'))
    }

    /// Consumes a non-negative integer that must be next, or gives up.
    #[inline]
    pub(crate) fn unsigned_value(&mut self) -> Result<u64, NotPlain> {
        match self.peek() {
            Some(b'0'..=b'9') => self.unsigned(),
            _ => Err(NotPlain),
        }
    }

    fn sequence<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, NotPlain> {
        self.open()?;
        let value = visitor.visit_seq(PlainSeq { plain: self, first: true })?;
        self.close(b']')?;
        Ok(value)
    }

    fn object<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, NotPlain> {
        self.open()?;
        let value = visitor.visit_map(PlainMap { plain: self, first: true, names: PlainNames::new() })?;
        self.close(b'}')?;
        Ok(value)
    }
}

impl<'de> Deserializer<'de> for &mut Plain<'de> {
    type Error = NotPlain;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        match self.peek().ok_or(NotPlain)? {
            b'"' => visitor.visit_borrowed_str(self.string()?),
            b'0'..=b'9' => visitor.visit_u64(self.unsigned()?),
            b'{' => self.object(visitor),
            b'[' => self.sequence(visitor),
            b't' => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            _ => Err(NotPlain),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        match self.peek() {
            Some(b't' | b'f') => self.deserialize_any(visitor),
            _ => Err(NotPlain),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        // `serde_json` hands every integer to any numeric visitor as a `u64` (or `i64`, `f64`),
        // and the visitor converts or refuses it.
        match self.peek() {
            Some(b'0'..=b'9') => visitor.visit_u64(self.unsigned()?),
            _ => Err(NotPlain),
        }
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i128<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        // `serde_json` parses 128-bit integers with a path of its own.
        Err(NotPlain)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        match self.peek() {
            Some(b'"') => visitor.visit_borrowed_str(self.string()?),
            _ => Err(NotPlain),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_str(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            _ => Err(NotPlain),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, NotPlain> {
        if name == RAW_VALUE_TOKEN {
            return Err(NotPlain);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        match self.peek() {
            Some(b'[') => self.sequence(visitor),
            _ => Err(NotPlain),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, NotPlain> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        match self.peek() {
            Some(b'{') => self.object(visitor),
            _ => Err(NotPlain),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NotPlain> {
        // `serde_json` also reads a struct from an array; that is left to it.
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.deserialize_any(IgnoredAny)?;
        visitor.visit_unit()
    }
}

/// The elements of an array, as `serde_json` hands them out.
struct PlainSeq<'p, 'de> {
    plain: &'p mut Plain<'de>,
    first: bool,
}

impl<'de> SeqAccess<'de> for PlainSeq<'_, 'de> {
    type Error = NotPlain;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, NotPlain> {
        match self.plain.peek() {
            Some(b']') => return Ok(None),
            Some(b',') if !self.first => {
                self.plain.position += 1;
                if matches!(self.plain.peek(), Some(b']') | None) {
                    return Err(NotPlain);
                }
            }
            Some(_) if self.first => self.first = false,
            _ => return Err(NotPlain),
        }
        seed.deserialize(&mut *self.plain).map(Some)
    }
}

/// The members of an object, as `serde_json` hands them out. A repeated name (or a name it
/// cannot tell from one before) makes the reader give up, so that the thorough path, which
/// refuses repeats at every depth, decides.
struct PlainMap<'p, 'de> {
    plain: &'p mut Plain<'de>,
    first: bool,
    names: PlainNames,
}

impl<'de> de::MapAccess<'de> for PlainMap<'_, 'de> {
    type Error = NotPlain;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, NotPlain> {
        let Some(name) = self.plain.member(&mut self.first)? else { return Ok(None) };
        self.names.insert(name)?;
        seed.deserialize(PlainKey(name)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, NotPlain> {
        seed.deserialize(&mut *self.plain)
    }
}

/// A member name, as `serde_json`'s key deserializer presents it: a borrowed string for every
/// request except those it parses from the name (numbers, booleans, bytes, enums), which are
/// left to it.
struct PlainKey<'de>(&'de str);

impl<'de> Deserializer<'de> for PlainKey<'de> {
    type Error = NotPlain;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_i128<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_option<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NotPlain> {
        Err(NotPlain)
    }

    serde::forward_to_deserialize_any! {
        char str string unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan() {
        assert!(depth_within(b"{}", 1));
        assert!(!depth_within(b"[[]]", 1));
        assert!(depth_within(b"{\"a\":\"[[[[[[\"}", 1), "brackets inside strings do not count");
        assert!(depth_within(b"{\"a\\\"[[[[\":1}", 1), "escaped quotes keep the string open");
        assert!(depth_within(b"[[],[],[],[]]", 2));
        assert!(!depth_within(&b"[".repeat(100), 16));
        assert!(!depth_within(&b"{".repeat(17), 16), "objects count as well as arrays");
        assert!(!depth_within(br#"["\n",[[[[]]]]]"#, 3), "an escape ends; later brackets count");
    }

    #[test]
    fn text_validity() {
        assert!(is_valid_text(br#"{"a":"\uD83D\uDE00"}"#));
        assert!(is_valid_text(br#"{"a":"\\uD800"}"#), "an escaped backslash, then plain text");
        assert!(is_valid_text(br#"{"a":"\nD800"}"#), "another escape, then plain hex digits");
        assert!(!is_valid_text(br#"{"a":"\uD800"}"#));
        assert!(!is_valid_text(br#"{"a":"\uDC00\uD800"}"#));
        assert!(!is_valid_text(br#"{"a":"\uD800\u0041"}"#));
        assert!(!is_valid_text(b"{\"a\":\"\xC1\"}"));
    }

    #[test]
    fn string_lists_classify_by_the_first_fault() {
        let strings: Vec<String> = (0..=AUDIENCES_MAX).map(|i| format!("\"a{i}\"")).collect();
        let too_many = format!("[{},1]", strings.join(","));
        assert_eq!(serde_json::from_str::<Scalar<'_>>(&too_many).unwrap(), Scalar::TooManyStrings);
        assert_eq!(serde_json::from_str::<Scalar<'_>>(r#"[1,"a"]"#).unwrap(), Scalar::Other);
    }

    #[test]
    fn eight_digits_at_a_time() {
        for text in [&b"00000000"[..], b"12345678", b"99999999", b"41024448", b"10000001"] {
            let expected = core::str::from_utf8(text).unwrap().parse::<u64>().unwrap();
            assert_eq!(eight_digits(u64::from_le_bytes(text.try_into().unwrap())), Some(expected));
        }
        for text in [&b"1234567a"[..], b"/2345678", b":2345678", b"1234 678", b"\x001234567"] {
            assert_eq!(eight_digits(u64::from_le_bytes(text.try_into().unwrap())), None, "{text:?}");
        }
        for number in [0u64, 7, 10, 1_700_000_000, 4_102_444_800, 99_999_999, 100_000_000, u64::MAX / 10, u64::MAX] {
            let text = number.to_string();
            let mut plain = Plain::new(text.as_bytes(), 1).unwrap();
            assert_eq!(plain.unsigned(), Ok(number));
            assert!(plain.at_end());
        }
        for text in ["18446744073709551616", "99999999999999999999", "012345678901", "123456789.5", "12345678e1"] {
            assert_eq!(Plain::new(text.as_bytes(), 1).unwrap().unsigned(), Err(NotPlain), "{text}");
        }
    }

    #[test]
    fn seen_names() {
        let mut seen = SeenNames::<2>::new();
        assert_eq!(seen.insert(Cow::Borrowed("a")), Ok(0));
        assert_eq!(seen.insert(Cow::Owned("a".to_owned())), Err(NameFault::Duplicate));
        assert_eq!(seen.insert(Cow::Borrowed("b")), Ok(1));
        assert_eq!(seen.get(1), "b");
        assert_eq!(seen.insert(Cow::Borrowed("c")), Err(NameFault::TooMany));
    }
}

#[cfg(test)]
mod boundary_tests;
