//! Strict JSON: the rules JOSE adds to JSON that `serde_json` leaves to its caller, checked in
//! the one `serde_json` pass that reads a header or claims set, and the values the header and
//! claims readers record on the way.
//!
//! JOSE asks more of JSON than a general parser checks (RFC 7515 §5.2, RFC 7519 §7.2, RFC 8725
//! §3.10): every object names each member once, strings are valid text (no lone surrogate
//! escaped), and, here, nesting is bounded before any parser recurses. [`Strict`] wraps a
//! `serde_json` deserializer and checks all three while it hands the values on, in values the
//! caller's type skips too; [`Names`] is the one detector of repeated names, shared with the
//! claims fast path. Nothing here scans bytes: `serde_json` does the reading.

use std::borrow::Cow;
use std::cell::Cell;

use serde::de::value::MapAccessDeserializer;
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};

use crate::limits::AUDIENCES_MAX;

/// How many names [`Names`] keeps inline, without allocating.
pub(crate) const NAMES_INLINE: usize = 16;

/// The member names of one object read so far, to refuse a repeat: the one detector of repeated
/// names, used by [`Strict`] at every depth and by the claims fast path.
///
/// The first [`NAMES_INLINE`] names without escapes are borrowed from the document and kept
/// inline; the rest are kept on the heap. Each new name is compared with every name kept (the
/// inline ones first by their first byte, so the usual object costs a few integer compares per
/// name).
pub(crate) struct Names<'de> {
    inline: [&'de str; NAMES_INLINE],
    inline_len: usize,
    spilled: Vec<Cow<'de, str>>,
}

impl<'de> Names<'de> {
    pub(crate) fn new() -> Self {
        Self { inline: [""; NAMES_INLINE], inline_len: 0, spilled: Vec::new() }
    }

    /// Records a name borrowed from the document in an inline slot: `false` when it was
    /// recorded before, or when no inline slot is left (the claims fast path then gives up).
    #[inline]
    pub(crate) fn insert_inline(&mut self, name: &'de str) -> bool {
        // Names with another first byte are told apart without a call to compare them.
        let first = name.as_bytes().first();
        if self.inline_len == NAMES_INLINE
            || self.inline[..self.inline_len].iter().any(|kept| kept.as_bytes().first() == first && *kept == name)
        {
            return false;
        }
        self.inline[self.inline_len] = name;
        self.inline_len += 1;
        true
    }

    /// Records `name`: `false` when it was recorded before.
    pub(crate) fn insert(&mut self, name: Cow<'de, str>) -> bool {
        match name {
            Cow::Borrowed(name) if self.inline_len < NAMES_INLINE && !self.spilled.iter().any(|kept| kept == name) => {
                self.insert_inline(name)
            }
            name if self.inline[..self.inline_len].contains(&&*name) || self.spilled.contains(&name) => false,
            name => {
                self.spilled.push(name);
                true
            }
        }
    }
}

/// A rule of strict JSON that `serde_json` does not check, broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// An object names a member twice.
    Repeated,
    /// Arrays and objects nest deeper than the limit.
    TooDeep,
}

/// What every level of one [`Strict`] read shares: the depth limit, the first [`Fault`] found,
/// and whether a value a visitor refused could not be read past.
pub(crate) struct Rules {
    depth_max: usize,
    fault: Cell<Option<Fault>>,
    /// Whether the read, stopped by a visitor's error, could not go on to the end of the
    /// containers around it (it lost track): then nothing is known about the rest of the document.
    pub(crate) stuck: Cell<bool>,
    /// Whether the element or member being read reached its seed.
    handed: Cell<bool>,
}

impl Rules {
    pub(crate) fn new(depth_max: usize) -> Self {
        Self { depth_max, fault: Cell::new(None), stuck: Cell::new(false), handed: Cell::new(false) }
    }

    /// The fault that stopped the read, if one did.
    pub(crate) fn fault(&self) -> Option<Fault> {
        self.fault.get()
    }

    /// Reads the rest of a container after its visitor returned `value` (unless a rule was
    /// broken or the read lost track): after a refusal, so that what follows is still read; after
    /// a visitor that stopped early, so that the container is left where `serde_json` expects it,
    /// with the refusal `serde_json` would have given. `next` reads one element, or reports the end.
    fn finish<T, E: de::Error>(&self, value: Result<T, E>, mut next: impl FnMut() -> Result<bool, E>) -> Result<T, E> {
        let mut rest = false;
        while self.fault().is_none() && !self.stuck.get() {
            match next() {
                Ok(true) => rest = true,
                Ok(false) if rest && value.is_ok() => return Err(E::custom("more than the visitor read")),
                Ok(false) => break,
                Err(_) => self.stuck.set(true),
            }
        }
        value
    }

    /// Reads one element, name or value with `read`. When `serde_json` fails before it hands
    /// the value to the seed, the document's structure is at fault (a comma, a colon, a
    /// bracket), and `serde_json` may have moved on in a way that reading further would hide: the
    /// read has lost track.
    fn handing<T, E>(&self, read: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.handed.set(false);
        let result = read();
        if result.is_err() && !self.handed.get() {
            self.stuck.set(true);
        }
        // This read ran inside the seed of any read around it.
        self.handed.set(true);
        result
    }

    fn fail<E: de::Error>(&self, fault: Fault) -> E {
        self.fault.set(Some(fault));
        E::custom("not strict JSON")
    }
}

/// Hands on what `inner` (a `serde_json` deserializer, or the visitor, seed, array, object or
/// enum it reads for) reads, and checks the rules of strict JSON on the way: each object's names
/// are unique (escapes decoded), arrays and objects nest at most [`Rules`]' limit deep, and every
/// string is decoded, so that a lone surrogate escaped anywhere is refused. Values the visitor
/// skips are read all the same.
///
/// When a visitor refuses a value, the arrays and objects around it are still read to their
/// end, so that what follows is checked (and recorded by the claims reader) in the same pass.
pub(crate) struct Strict<'r, 'n, 'de, T> {
    inner: T,
    rules: &'r Rules,
    depth: usize,
    /// Where a member name read here is recorded: set for an object's names, and for the object
    /// itself, where its names are kept.
    names: Option<&'n mut Names<'de>>,
}

impl<'r, 'n, 'de, T> Strict<'r, 'n, 'de, T> {
    /// A strict reader of the document `inner` reads.
    pub(crate) fn new(inner: T, rules: &'r Rules) -> Self {
        Self { inner, rules, depth: 0, names: None }
    }

    /// `inner`, read under the same rules at the same depth.
    fn wrap<U>(&self, inner: U) -> Strict<'r, 'n, 'de, U> {
        Strict { inner, rules: self.rules, depth: self.depth, names: None }
    }

    /// `inner`, read under the same rules at the same depth, recording the names this records.
    fn hand<U>(&mut self, inner: U) -> Strict<'r, 'n, 'de, U> {
        Strict { inner, rules: self.rules, depth: self.depth, names: self.names.take() }
    }
}

macro_rules! strict_methods {
    ($($method:ident($($arg:ident: $type:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(mut self, $($arg: $type,)* visitor: V) -> Result<V::Value, D::Error> {
            let visit = self.hand(visitor);
            self.inner.$method($($arg,)* visit)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<'_, '_, 'de, D> {
    type Error = D::Error;

    strict_methods! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16(); deserialize_i32();
        deserialize_i64(); deserialize_i128(); deserialize_u8(); deserialize_u16(); deserialize_u32();
        deserialize_u64(); deserialize_u128(); deserialize_f32(); deserialize_f64(); deserialize_char();
        deserialize_str(); deserialize_string(); deserialize_option(); deserialize_unit(); deserialize_seq();
        deserialize_map(); deserialize_identifier(); deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str); deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
    }

    /// Read as text: `serde_json` hands byte strings over undecoded, unchecked.
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.deserialize_any(visitor)
    }

    /// Read all the same: `serde_json` would skip the value without checking it.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.deserialize_any(IgnoredAny)?;
        visitor.visit_unit()
    }
}

impl<'de, V> Strict<'_, '_, 'de, V> {
    /// Records a member name (for a map key asked for as a number, its number).
    fn record<E: de::Error>(&mut self, name: impl FnOnce() -> Cow<'de, str>) -> Result<(), E> {
        match self.names.as_deref_mut().map(|names| names.insert(name())) {
            Some(false) => Err(self.rules.fail(Fault::Repeated)),
            _ => Ok(()),
        }
    }

    /// The depth of a container entered here, within the limit.
    fn enter<E: de::Error>(&self) -> Result<usize, E> {
        if self.depth >= self.rules.depth_max {
            return Err(self.rules.fail(Fault::TooDeep));
        }
        Ok(self.depth + 1)
    }
}

macro_rules! visit_values {
    ($($method:ident($type:ty);)*) => {$(
        fn $method<E: de::Error>(mut self, value: $type) -> Result<V::Value, E> {
            self.record(|| Cow::Owned(value.to_string()))?;
            self.inner.$method(value)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Strict<'_, '_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.inner.expecting(f)
    }

    // What `serde_json` hands a visitor (bytes never reach it: they are read as text); the
    // narrower numbers are handed on as these.
    visit_values! {
        visit_bool(bool); visit_i64(i64); visit_i128(i128); visit_u64(u64); visit_u128(u128); visit_f64(f64);
        visit_str(&str);
    }

    fn visit_borrowed_str<E: de::Error>(mut self, value: &'de str) -> Result<V::Value, E> {
        self.record(|| Cow::Borrowed(value))?;
        self.inner.visit_borrowed_str(value)
    }

    fn visit_string<E: de::Error>(mut self, value: String) -> Result<V::Value, E> {
        self.record(|| Cow::Owned(value.clone()))?;
        self.inner.visit_string(value)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    // A member name read through an option or a newtype is recorded all the same.
    fn visit_some<D: Deserializer<'de>>(mut self, deserializer: D) -> Result<V::Value, D::Error> {
        let deserializer = self.hand(deserializer);
        self.inner.visit_some(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(mut self, deserializer: D) -> Result<V::Value, D::Error> {
        let deserializer = self.hand(deserializer);
        self.inner.visit_newtype_struct(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let mut seq = Strict { depth: self.enter()?, ..self.wrap(seq) };
        let value = self.inner.visit_seq(&mut seq);
        self.rules.finish(value, || seq.next_element::<IgnoredAny>().map(|element| element.is_some()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let mut names = Names::new();
        let mut map = Strict { depth: self.enter()?, names: Some(&mut names), ..self.wrap(map) };
        let value = self.inner.visit_map(&mut map);
        self.rules.finish(value, || map.next_entry::<IgnoredAny, IgnoredAny>().map(|entry| entry.is_some()))
    }

    // A variant named as a member name is recorded like one.
    fn visit_enum<A: EnumAccess<'de>>(mut self, data: A) -> Result<V::Value, A::Error> {
        let data = self.hand(data);
        self.inner.visit_enum(data)
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Strict<'_, '_, 'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(mut self, deserializer: D) -> Result<S::Value, D::Error> {
        self.rules.handed.set(true);
        let deserializer = self.hand(deserializer);
        self.inner.deserialize(deserializer)
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Strict<'_, '_, 'de, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        let seed = self.wrap(seed);
        self.rules.handing(|| self.inner.next_element_seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Strict<'_, '_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        let seed = Strict { inner: seed, rules: self.rules, depth: self.depth, names: self.names.as_deref_mut() };
        self.rules.handing(|| self.inner.next_key_seed(seed))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let seed = self.wrap(seed);
        self.rules.handing(|| self.inner.next_value_seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'r, 'n, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Strict<'r, 'n, 'de, A> {
    type Error = A::Error;
    type Variant = Strict<'r, 'n, 'de, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(mut self, seed: S) -> Result<(S::Value, Self::Variant), A::Error> {
        let seed = self.hand(seed);
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((value, Strict { inner: variant, rules: self.rules, depth: self.depth, names: None }))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Strict<'_, '_, 'de, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        self.inner.struct_variant(fields, visitor)
    }
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
    /// At most [`AUDIENCES_MAX`] strings, each a [`Scalar::Str`].
    Strings(Vec<Scalar<'de>>),
    /// An array of more than [`AUDIENCES_MAX`] strings.
    TooManyStrings,
    /// A number no `f64` holds (`1e400`). `serde_json` hands one over only with its
    /// `arbitrary_precision` feature; without it, it refuses the claims as malformed.
    OutOfRange,
    Other,
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
        let mut list = Vec::new();
        let mut outcome = None;
        while let Some(element) = seq.next_element::<Scalar<'de>>()? {
            match element {
                _ if outcome.is_some() => {}
                Scalar::Str(_) if list.len() < AUDIENCES_MAX => list.push(element),
                Scalar::Str(_) => outcome = Some(Scalar::TooManyStrings),
                _ => outcome = Some(Scalar::Other),
            }
        }
        Ok(outcome.unwrap_or(Scalar::Strings(list)))
    }

    /// An object, or a number when `serde_json`'s `arbitrary_precision` feature is on.
    ///
    /// That feature, which any crate in a build can switch on for all of it, makes `serde_json`
    /// hand a number to a visitor as a map of one member that only its own types recognise. Its
    /// `Value` reads the map either way, through public API; objects are rare here (a registered
    /// claim of the wrong type) and bounded by the document's limits.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        match serde_json::Value::deserialize(MapAccessDeserializer::new(map))? {
            serde_json::Value::Number(number) => Ok(Scalar::of_number(&number)),
            _ => Ok(Scalar::Other),
        }
    }
}

impl Scalar<'_> {
    /// A number as `serde_json` would hand it to a visitor without `arbitrary_precision`: an
    /// unsigned integer, a negative one, or else a float; a number no `f64` holds (`1e400`) is
    /// [`Scalar::OutOfRange`].
    fn of_number(number: &serde_json::Number) -> Self {
        if let Some(unsigned) = number.as_u64() {
            Scalar::Unsigned(unsigned)
        } else if let Some(signed) = number.as_i64() {
            Scalar::Signed(signed)
        } else {
            number.as_f64().map_or(Scalar::OutOfRange, Scalar::Float)
        }
    }
}

/// A member name, borrowed when it has no escapes.
pub(crate) struct Name<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_str(ScalarVisitor)? {
            Scalar::Str(name) => Ok(Name(name)),
            _ => Err(de::Error::custom("a member name")),
        }
    }
}

#[cfg(test)]
mod tests;
