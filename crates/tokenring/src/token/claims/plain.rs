//! The fast path of the claims reader: a reader of the plain subset of JSON that signed claims
//! nearly always are, tried before `serde_json`.
//!
//! It exists for speed (see `docs/performance.md`): within the subset a reader can skip most
//! of what a general parser must do. Whenever it reads a payload to the end it makes exactly
//! the calls `serde_json` would make on the caller's visitors; anything else (an escape, a sign,
//! a fraction, an exponent, a number asked for as anything, a repeat it cannot rule out, a
//! syntax error, an error from the caller's type) makes it give up, and `serde_json` reads the
//! payload from the start and decides. Giving up is always safe; only success must be exact.
//! The tests beside it and the `claims` fuzz target compare the two on every kind of input.
//!
//! It uses no private API of `serde_json`, and needs no knowledge of its features.

use std::marker::PhantomData;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Registered, Replay, Slot, TeeDeserializer};
use crate::limits::JSON_DEPTH_MAX;
use crate::token::strict_json::{Names, Scalar};

/// Reads `text` into `C`, with the registered claims, or `None` when it gave up, for whatever
/// reason (a fault included: `serde_json` finds it again and names it).
pub(super) fn parse<'de, C: Deserialize<'de>>(text: &'de str) -> Option<(C, Registered<'de>)> {
    let mut registered = Registered::default();
    // The reader refuses to nest deeper than the limit itself.
    let mut plain = Plain::over(text, JSON_DEPTH_MAX);
    plain.open_object().ok()?;
    let mut tee =
        PlainTee { plain: &mut plain, first: true, pending: None, names: Names::new(), registered: &mut registered };
    let claims = C::deserialize(TeeDeserializer { map: &mut tee }).ok()?;
    // The caller's type may stop early; the registered claims must still all be seen.
    while tee.next_key::<IgnoredAny>().ok()?.is_some() {
        tee.next_value::<IgnoredAny>().ok()?;
    }
    plain.close_object().ok()?;
    plain.at_end().then_some((claims, registered))
}

/// Why the plain-JSON reader gave up: the input is outside the subset it reads, is not JSON at
/// all, or the caller's type refused it. It carries nothing, so giving up never allocates; the
/// caller then parses again with `serde_json`, which says precisely what is wrong (if anything).
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

/// Records a member name, giving up on a repeat (the thorough path names it) and on more names
/// than [`Names`] keeps without allocating (rare; the thorough path counts them).
#[inline]
fn record<'de>(names: &mut Names<'de>, name: &'de str) -> Result<(), NotPlain> {
    if !names.insert_inline(name) {
        return Err(NotPlain);
    }
    Ok(())
}

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
struct Plain<'de> {
    text: &'de str,
    position: usize,
    depth: usize,
    depth_max: usize,
}

impl<'de> Plain<'de> {
    /// A reader over `json`, or `None` when `json` is not UTF-8 (which `serde_json` refuses too).
    #[cfg(test)]
    fn new(json: &'de [u8], depth_max: usize) -> Option<Self> {
        Some(Self::over(core::str::from_utf8(json).ok()?, depth_max))
    }

    /// A reader over `text`.
    fn over(text: &'de str, depth_max: usize) -> Self {
        Self { text, position: 0, depth: 0, depth_max }
    }

    /// Whether only whitespace is left.
    #[inline]
    fn at_end(&mut self) -> bool {
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
    fn open_object(&mut self) -> Result<(), NotPlain> {
        if self.peek() != Some(b'{') {
            return Err(NotPlain);
        }
        self.open()
    }

    /// Leaves an object whose members have all been read.
    fn close_object(&mut self) -> Result<(), NotPlain> {
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
    fn member(&mut self, first: &mut bool) -> Result<Option<&'de str>, NotPlain> {
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
    fn peek_is_digit(&mut self) -> bool {
        matches!(self.peek(), Some(b'0'..=b'9'))
    }

    /// Consumes a non-negative integer that must be next, or gives up.
    #[inline]
    fn unsigned_value(&mut self) -> Result<u64, NotPlain> {
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
        let value = visitor.visit_map(PlainMap { plain: self, first: true, names: Names::new() })?;
        self.close(b'}')?;
        Ok(value)
    }
}

/// Deserializer methods that hand the request on to another method of the same deserializer.
macro_rules! plain_methods {
    ($($method:ident($($arg:ty),*) => $target:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, $(_: $arg,)* visitor: V) -> Result<V::Value, NotPlain> {
            self.$target(visitor)
        }
    )*};
}

/// Deserializer methods that give up: what they ask for is left to `serde_json`.
macro_rules! refuse {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $(_: $arg,)* _: V) -> Result<V::Value, NotPlain> {
            Err(NotPlain)
        }
    )*};
}

impl<'de> Deserializer<'de> for &mut Plain<'de> {
    type Error = NotPlain;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        match self.peek().ok_or(NotPlain)? {
            b'"' => visitor.visit_borrowed_str(self.string()?),
            // How `serde_json` hands a number to a visitor that asks for anything depends on its
            // `arbitrary_precision` feature (a `u64`, or a map only its own types read), which
            // any crate in a build may switch on. Such claims are left to it.
            b'0'..=b'9' => Err(NotPlain),
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

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        match self.peek() {
            Some(b'"') => visitor.visit_borrowed_str(self.string()?),
            _ => Err(NotPlain),
        }
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

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, NotPlain> {
        // As `serde_json` does for every newtype but its own raw value, whose visitor then
        // refuses what this reader offers, and the claims go to `serde_json`.
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        match self.peek() {
            Some(b'[') => self.sequence(visitor),
            _ => Err(NotPlain),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        match self.peek() {
            Some(b'{') => self.object(visitor),
            _ => Err(NotPlain),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotPlain> {
        // A skipped number is read past, whatever `serde_json` would hand a visitor for it.
        if self.peek_is_digit() {
            self.unsigned()?;
        } else {
            self.deserialize_any(IgnoredAny)?;
        }
        visitor.visit_unit()
    }

    // `serde_json` hands every integer to any numeric visitor as a `u64` (or `i64`, `f64`), and
    // the visitor converts or refuses it; it reads a struct from an array too, which is left to it.
    plain_methods! {
        deserialize_u8() => deserialize_u64; deserialize_u16() => deserialize_u64; deserialize_u32() => deserialize_u64;
        deserialize_i8() => deserialize_u64; deserialize_i16() => deserialize_u64; deserialize_i32() => deserialize_u64;
        deserialize_i64() => deserialize_u64; deserialize_f32() => deserialize_u64; deserialize_f64() => deserialize_u64;
        deserialize_char() => deserialize_str; deserialize_string() => deserialize_str;
        deserialize_identifier() => deserialize_str; deserialize_unit_struct(&'static str) => deserialize_unit;
        deserialize_tuple(usize) => deserialize_seq; deserialize_tuple_struct(&'static str, usize) => deserialize_seq;
        deserialize_struct(&'static str, &'static [&'static str]) => deserialize_map;
    }

    // `serde_json` parses 128-bit integers with a path of its own; bytes and enums are left to it.
    refuse! {
        deserialize_i128(); deserialize_u128(); deserialize_bytes(); deserialize_byte_buf();
        deserialize_enum(&'static str, &'static [&'static str]);
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
    names: Names<'de>,
}

impl<'de> MapAccess<'de> for PlainMap<'_, 'de> {
    type Error = NotPlain;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, NotPlain> {
        let Some(name) = self.plain.member(&mut self.first)? else { return Ok(None) };
        record(&mut self.names, name)?;
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

    refuse! {
        deserialize_bool(); deserialize_i8(); deserialize_i16(); deserialize_i32(); deserialize_i64();
        deserialize_i128(); deserialize_u8(); deserialize_u16(); deserialize_u32(); deserialize_u64();
        deserialize_u128(); deserialize_f32(); deserialize_f64(); deserialize_option(); deserialize_bytes();
        deserialize_byte_buf(); deserialize_newtype_struct(&'static str);
        deserialize_enum(&'static str, &'static [&'static str]);
    }

    serde::forward_to_deserialize_any! {
        char str string unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The map the caller's type sees on the fast path: the tee of [`TeeMap`](super::TeeMap) written directly over
/// the plain reader, where every name is a borrowed `&str`. Any fault makes it give up.
struct PlainTee<'p, 'de> {
    plain: &'p mut Plain<'de>,
    first: bool,
    pending: Option<Slot>,
    names: Names<'de>,
    registered: &'p mut Registered<'de>,
}

impl<'de> MapAccess<'de> for PlainTee<'_, 'de> {
    type Error = NotPlain;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, NotPlain> {
        let Some(name) = self.plain.member(&mut self.first)? else { return Ok(None) };
        self.pending = Slot::of(name);
        record(&mut self.names, name)?;
        seed.deserialize(BorrowedStrDeserializer::new(name)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, NotPlain> {
        let Some(slot) = self.pending.take() else { return seed.deserialize(&mut *self.plain) };
        // Times are nearly always plain integers: read them directly. Anything else goes through
        // the general reader (and a wrong type makes `record` refuse it).
        let value = match (slot, self.plain.peek_is_digit()) {
            (Slot::Exp | Slot::Nbf | Slot::Iat, true) => Scalar::Unsigned(self.plain.unsigned_value()?),
            _ => Scalar::deserialize(&mut *self.plain)?,
        };
        self.registered.record(slot, &value).map_err(|_| NotPlain)?;
        seed.deserialize(Replay { value: &value, error: PhantomData })
    }
}

#[cfg(test)]
mod tests;
