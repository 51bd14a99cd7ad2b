//! The fast path of the claims reader: a reader of the plain claims that signed tokens nearly
//! always carry, tried before `serde_json`.
//!
//! Plain claims are one flat object whose members hold strings without escapes, non-negative
//! integers that fit a `u64`, `true`, `false`, `null`, or arrays of those (whitespace between
//! tokens allowed, at most [`NAMES_INLINE`] members). It exists for speed (see
//! `docs/performance.md`): within that subset a reader can skip most of what a general parser
//! must do. Whenever it reads a payload to the end it makes exactly the calls `serde_json` would
//! make on the caller's visitors; anything else (an escape, a sign, a fraction, an exponent, a
//! nested object or array, a number asked for as anything, a repeated name, a syntax error, an
//! error from the caller's type) makes it give up, and `serde_json` reads the payload from the
//! start and decides. Giving up is always safe; only success must be exact. The tests beside it
//! and the `claims` fuzz target compare the two on every kind of input.
//!
//! It uses no private API of `serde_json`, and needs no knowledge of its features.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{slot, Hand, Registered};
use crate::limits::{CLAIMS_MEMBERS_MAX, JSON_DEPTH_MAX};
use crate::token::strict_json::{Names, Scalar, NAMES_INLINE};

// What the fast path accepts is within every limit the thorough path checks.
const _: () = assert!(JSON_DEPTH_MAX >= 2 && NAMES_INLINE <= CLAIMS_MEMBERS_MAX);

/// Reads `text` into `C`, with the registered claims, or `None` when it gave up, for whatever
/// reason (a fault included: `serde_json` finds it again and names it).
pub(super) fn parse<'de, C: Deserialize<'de>>(text: &'de str) -> Option<(C, Registered<'de>)> {
    let plain = Plain { text, position: 0, first: true, in_array: false };
    let mut tee = PlainTee { plain, pending: None, names: Names::new(), registered: Registered::default() };
    tee.plain.eat(b'{').ok()?;
    let claims = C::deserialize(Hand::Map(&mut tee)).ok()?;
    // The caller's type may stop early; the registered claims must still all be seen.
    while tee.next_key::<IgnoredAny>().ok()?.is_some() {
        tee.next_value::<IgnoredAny>().ok()?;
    }
    tee.plain.eat(b'}').ok()?;
    tee.plain.peek().is_none().then_some((claims, tee.registered))
}

/// Why the plain reader gave up: the input is outside the subset it reads, is not JSON at all,
/// or the caller's type refused it. It carries nothing, so giving up never allocates; the caller
/// then parses again with `serde_json`, which says precisely what is wrong (if anything).
#[derive(Debug, PartialEq, Eq)]
struct NotPlain;

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

/// Marks, in the high bit of each byte's lane, the bytes of `word` that end or interrupt a plain
/// string: a quote, a backslash or a control character. The lowest mark is exact (a false mark
/// can only appear above a true one), which is all [`string_end`] uses.
#[inline]
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let quotes = word ^ (ONES * b'"' as u64);
    let backslashes = word ^ (ONES * b'\\' as u64);
    // A byte below `0x20` (a control character), or zero after the XOR (a quote or backslash).
    let below = |word: u64, bound: u64| word.wrapping_sub(ONES * bound) & !word & HIGHS;
    below(quotes, 1) | below(backslashes, 1) | below(word, 0x20)
}

/// The position of the quote that closes the JSON string whose contents start at `start`, or
/// `NotPlain` at an escape, a control character (which JSON forbids unescaped) or the end of
/// the input: the one scanner of JSON strings. Eight bytes at a time while eight remain: most
/// member names and values end within the first word.
#[inline]
fn string_end(bytes: &[u8], start: usize) -> Result<usize, NotPlain> {
    let mut end = start;
    while let Some(word) = bytes[end..].first_chunk::<8>() {
        let special = special_bytes(u64::from_le_bytes(*word));
        if special != 0 {
            end += (special.trailing_zeros() / 8) as usize;
            return if bytes[end] == b'"' { Ok(end) } else { Err(NotPlain) };
        }
        end += 8;
    }
    while let Some(byte) = bytes.get(end) {
        match byte {
            b'"' => return Ok(end),
            b'\\' | 0..=0x1F => return Err(NotPlain),
            _ => end += 1,
        }
    }
    Err(NotPlain)
}

/// What a deserializer method asks the plain reader for, as `serde_json` answers it.
#[derive(Clone, Copy)]
enum Want {
    /// Whatever is next, a number excepted (`deserialize_any`, see [`Plain::value`]).
    Any,
    /// Whatever is next, read past (`deserialize_ignored_any`).
    Skip,
    Bool,
    /// A number, handed over as a `u64` to any numeric visitor, as `serde_json` does.
    Number,
    Str,
    Unit,
    /// An array (`deserialize_seq`, tuples, and structs, which `serde_json` reads from arrays).
    Seq,
    /// Left to `serde_json`: objects, bytes, enums, 128-bit integers.
    Never,
}

/// A reader of plain claims' values, at `position` in `text`.
struct Plain<'de> {
    text: &'de str,
    position: usize,
    /// Whether no member of the object, or element of the array, being read was read yet.
    first: bool,
    /// Whether the reader is inside an array, where another array is not plain.
    in_array: bool,
}

impl<'de> Plain<'de> {
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

    /// Consumes `byte`, which must be next.
    #[inline]
    fn eat(&mut self, byte: u8) -> Result<(), NotPlain> {
        if self.peek() != Some(byte) {
            return Err(NotPlain);
        }
        self.position += 1;
        Ok(())
    }

    /// Consumes `word` (a literal, the peeked byte included).
    fn literal(&mut self, word: &str) -> Result<(), NotPlain> {
        if !self.text[self.position..].starts_with(word) {
            return Err(NotPlain);
        }
        self.position += word.len();
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
        let bytes = &self.text.as_bytes()[self.position..];
        let (mut value, mut digits) = (0u64, 0);
        while let Some(&digit @ b'0'..=b'9') = bytes.get(digits) {
            value = value.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
            digits += 1;
        }
        // Up to nineteen digits always fit; twenty fit up to `u64::MAX` (compared as text).
        let too_large = digits > 20 || digits == 20 && &bytes[..20] > b"18446744073709551615".as_slice();
        let leading_zero = digits > 1 && bytes[0] == b'0';
        if digits == 0 || too_large || leading_zero || matches!(bytes.get(digits), Some(b'.' | b'e' | b'E')) {
            return Err(NotPlain);
        }
        self.position += digits;
        Ok(value)
    }

    /// The next member's name in the claims object, with the colon after it, or `None` at the
    /// object's end.
    #[inline]
    fn member(&mut self) -> Result<Option<&'de str>, NotPlain> {
        match self.peek() {
            Some(b'}') => return Ok(None),
            Some(b',') if !self.first => self.position += 1,
            Some(b'"') if self.first => self.first = false,
            _ => return Err(NotPlain),
        }
        if self.peek() != Some(b'"') {
            return Err(NotPlain);
        }
        let name = self.string()?;
        self.eat(b':')?;
        Ok(Some(name))
    }

    /// Reads the next value as `serde_json` reads it for a request `want`, or gives up.
    fn value<V: Visitor<'de>>(&mut self, want: Want, visitor: V) -> Result<V::Value, NotPlain> {
        match (self.peek(), want) {
            (Some(b'"'), Want::Any | Want::Skip | Want::Str) => visitor.visit_borrowed_str(self.string()?),
            // How `serde_json` hands a number to a visitor that asks for anything depends on its
            // `arbitrary_precision` feature (a `u64`, or a map only its own types read), which
            // any crate in a build may switch on. Such claims are left to it.
            (Some(b'0'..=b'9'), Want::Skip | Want::Number) => visitor.visit_u64(self.unsigned()?),
            (Some(b't'), Want::Any | Want::Skip | Want::Bool) => {
                self.literal("true")?;
                visitor.visit_bool(true)
            }
            (Some(b'f'), Want::Any | Want::Skip | Want::Bool) => {
                self.literal("false")?;
                visitor.visit_bool(false)
            }
            (Some(b'n'), Want::Any | Want::Skip | Want::Unit) => {
                self.literal("null")?;
                visitor.visit_unit()
            }
            (Some(b'['), Want::Any | Want::Skip | Want::Seq) if !self.in_array => {
                self.position += 1;
                self.in_array = true;
                self.first = true;
                let value = visitor.visit_seq(&mut *self)?;
                // The array is a member's value: a member was read, so `first` is false again.
                self.in_array = false;
                self.first = false;
                self.eat(b']')?;
                Ok(value)
            }
            _ => Err(NotPlain),
        }
    }
}

/// Deserializer methods that read what `Want` names.
macro_rules! want {
    ($($want:ident: $($method:ident($($arg:ty),*))*;)*) => {$($(
        fn $method<V: Visitor<'de>>(self, $(_: $arg,)* visitor: V) -> Result<V::Value, NotPlain> {
            self.value(Want::$want, visitor)
        }
    )*)*};
}

impl<'de> Deserializer<'de> for &mut Plain<'de> {
    type Error = NotPlain;

    want! {
        Any: deserialize_any();
        Bool: deserialize_bool();
        Number: deserialize_u8() deserialize_u16() deserialize_u32() deserialize_u64() deserialize_i8()
            deserialize_i16() deserialize_i32() deserialize_i64() deserialize_f32() deserialize_f64();
        Str: deserialize_char() deserialize_str() deserialize_string() deserialize_identifier();
        Unit: deserialize_unit() deserialize_unit_struct(&'static str);
        Seq: deserialize_seq() deserialize_tuple(usize) deserialize_tuple_struct(&'static str, usize)
            deserialize_struct(&'static str, &'static [&'static str]);
        Never: deserialize_i128() deserialize_u128() deserialize_bytes() deserialize_byte_buf() deserialize_map()
            deserialize_enum(&'static str, &'static [&'static str]);
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        if self.peek() == Some(b'n') {
            self.literal("null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, NotPlain> {
        // As `serde_json` does for every newtype but its own raw value, whose visitor then
        // refuses what this reader offers, and the claims go to `serde_json`.
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        self.value(Want::Skip, IgnoredAny)?;
        visitor.visit_unit()
    }
}

/// The elements of an array, as `serde_json` hands them out.
impl<'de> SeqAccess<'de> for Plain<'de> {
    type Error = NotPlain;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, NotPlain> {
        match self.peek() {
            Some(b']') => return Ok(None),
            Some(b',') if !self.first => {
                self.position += 1;
                if matches!(self.peek(), Some(b']') | None) {
                    return Err(NotPlain);
                }
            }
            Some(_) if self.first => self.first = false,
            _ => return Err(NotPlain),
        }
        seed.deserialize(self).map(Some)
    }
}

/// The claims object as the caller's type sees it on the fast path: the members, each name
/// recorded (a repeat makes the reader give up), the registered claims recorded on the way and
/// replayed to the caller's type, as on the thorough path.
struct PlainTee<'de> {
    plain: Plain<'de>,
    pending: Option<&'static str>,
    names: Names<'de>,
    registered: Registered<'de>,
}

impl<'de> MapAccess<'de> for PlainTee<'de> {
    type Error = NotPlain;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, NotPlain> {
        let Some(name) = self.plain.member()? else { return Ok(None) };
        if !self.names.insert_inline(name) {
            return Err(NotPlain);
        }
        self.registered.members += 1;
        self.pending = slot(name);
        seed.deserialize(BorrowedStrDeserializer::new(name)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, NotPlain> {
        let plain = &mut self.plain;
        let Some(slot) = self.pending.take() else { return seed.deserialize(plain) };
        // Times are nearly always plain integers: read them directly. Anything else goes through
        // the general reader (and a wrong type makes `record` refuse it).
        let value = match plain.peek() {
            Some(b'0'..=b'9') => Scalar::Unsigned(plain.unsigned()?),
            _ => Scalar::deserialize(plain)?,
        };
        self.registered.record(slot, &value).map_err(|_| NotPlain)?;
        seed.deserialize(Hand::<Self>::Value(&value))
    }
}

#[cfg(test)]
mod tests;
