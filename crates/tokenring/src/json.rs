//! Small JSON helpers shared by the header and claims parsers.

use std::borrow::Cow;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::limits::AUDIENCES_MAX;

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

impl Scalar<'_> {
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::Unsigned(value) => Some(value as f64),
            Self::Signed(value) => Some(value as f64),
            Self::Float(value) => Some(value),
            _ => None,
        }
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
