//! The JWT claims layer: reads the payload into the caller's type and, on the way, records and
//! type-checks the registered claims (`exp`, `nbf`, `iat`, `iss`, `aud`).
//!
//! The caller's `Deserialize` impl sees a map whose entries come from the reader; registered
//! claims are captured first and then replayed to it (`Hand`), so that their checks do not
//! depend on how the caller's type reads them. Plain claims are read by the fast path
//! ([`plain`]), without allocating for a borrowed claims type; anything else by one strict
//! `serde_json` pass ([`strictly`]), which decides every rejection. The claims are read at most
//! twice, but for one case: when the caller's type refuses an array or object where it expected
//! something else, `serde_json` cannot read past it, and the claims are read once more, into
//! nothing, so that the registered claims and faults after it still decide the verdict.

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer, StrDeserializer};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess, Visitor};

use crate::error::{Malformed, Rejection, TooLarge};
use crate::limits::{CLAIMS_MEMBERS_MAX, JSON_DEPTH_MAX, LEEWAY_SECS_DEFAULT, LEEWAY_SECS_MAX};
use crate::token::strict_json::{Fault, Name, Rules, Scalar, Strict};

/// The checks applied to a token's claims once its signature holds.
///
/// The default requires `exp`, allows [`LEEWAY_SECS_DEFAULT`] seconds of clock skew, and
/// requires no issuer. A token that carries `aud` is refused (`wrong-audience`) unless an
/// audience is configured and listed in it (RFC 7519 §4.1.3): a token meant for another service
/// is never accepted by default.
///
/// ```
/// use tokenring::Validation;
/// let validation = Validation::new().issuer("https://auth.example").audience("api").leeway_secs(10);
/// # let _ = validation;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    leeway_secs: u64,
    require_exp: bool,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Default for Validation {
    fn default() -> Self {
        Self::new()
    }
}

impl Validation {
    /// `exp` required, default leeway, no issuer required, and no audience configured: a token
    /// without `aud` passes, one with `aud` is refused as `wrong-audience`.
    pub fn new() -> Self {
        Self { leeway_secs: LEEWAY_SECS_DEFAULT, require_exp: true, issuer: None, audience: None }
    }

    /// Sets the allowance for clock skew, capped at [`LEEWAY_SECS_MAX`].
    #[must_use]
    pub fn leeway_secs(mut self, secs: u64) -> Self {
        self.leeway_secs = secs.min(LEEWAY_SECS_MAX);
        self
    }

    /// Whether a token without `exp` is refused (the default) or accepted.
    #[must_use]
    pub fn require_exp(mut self, required: bool) -> Self {
        self.require_exp = required;
        self
    }

    /// Requires `iss` to equal `issuer` exactly.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Requires `aud` to be `audience`, or an array containing it; a token without `aud` is
    /// then refused too, as `missing-claim`.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }
}

/// 2^64: the first time in seconds a `u64` cannot hold.
/// 2^64: the first time in seconds a `u64` cannot hold.
const TIME_BOUND: f64 = 18_446_744_073_709_551_616.0;

/// Registered claims, as found in the payload, and how many members the claims have.
///
/// Times are whole seconds since the epoch. RFC 7519 allows a fractional NumericDate: `exp` and
/// `nbf` are rounded up and `iat` down, which for `exp` and `nbf` gives exactly the verdicts a
/// comparison of the fractions with the whole-second `now` would. A time that is negative or
/// not below 2^64 is `invalid-claim`.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Registered<'de> {
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    iss: Option<Cow<'de, str>>,
    aud: Option<Scalar<'de>>,
    /// The members of the claims object (read by signing, which adds the times it lacks within
    /// [`CLAIMS_MEMBERS_MAX`]).
    pub(crate) members: usize,
}

impl<'de> Registered<'de> {
    /// Applies `validation` at time `now_secs`.
    pub(crate) fn check(&self, validation: &Validation, now_secs: u64) -> Result<(), Rejection> {
        let leeway = validation.leeway_secs;
        let expired = |exp: u64| canary!(ExpNotChecked => false, else now_secs >= exp.saturating_add(leeway));
        match self.exp {
            None if validation.require_exp => return Err(Rejection::MissingClaim("exp")),
            Some(exp) if expired(exp) => return Err(Rejection::Expired),
            _ => {}
        }
        if self.nbf.is_some_and(|nbf| now_secs.saturating_add(leeway) < nbf) {
            return Err(Rejection::NotYetValid);
        }
        if let Some(expected) = &validation.issuer {
            match &self.iss {
                None => return Err(Rejection::MissingClaim("iss")),
                Some(iss) if iss != expected => return Err(Rejection::WrongIssuer),
                Some(_) => {}
            }
        }
        let listed = |expected: &String| match &self.aud {
            Some(Scalar::Str(one)) => one == expected,
            Some(Scalar::Strings(many)) => many.iter().any(|one| matches!(one, Scalar::Str(one) if one == expected)),
            _ => false,
        };
        match (&validation.audience, &self.aud) {
            (None, None) => Ok(()),
            (Some(_), None) => Err(Rejection::MissingClaim("aud")),
            (Some(expected), Some(_)) if listed(expected) => Ok(()),
            (_, Some(_)) => Err(Rejection::WrongAudience),
        }
    }

    /// The registered times.
    pub(crate) fn times(&self) -> Times {
        Times { exp: self.exp, nbf: self.nbf, iat: self.iat }
    }

    /// Records the registered claim `slot` (its name), checking its type.
    fn record(&mut self, slot: &'static str, value: &Scalar<'de>) -> Result<(), Rejection> {
        let invalid = Rejection::InvalidClaim(slot);
        let round = if slot == "iat" { f64::floor } else { f64::ceil };
        let seconds = match (slot, value) {
            // Malformed in every build, as `serde_json` without `arbitrary_precision` has it.
            (_, Scalar::OutOfRange) => return Err(NOT_AN_OBJECT),
            ("iss", Scalar::Str(text)) => {
                self.iss = Some(text.clone());
                return Ok(());
            }
            ("aud", Scalar::Str(_) | Scalar::Strings(_)) => {
                self.aud = Some(value.clone());
                return Ok(());
            }
            ("aud", Scalar::TooManyStrings) => return Err(Rejection::TooLarge(TooLarge::Audiences)),
            ("iss" | "aud", _) => return Err(invalid),
            (_, Scalar::Unsigned(seconds)) => *seconds,
            // `serde_json` hands over only negative integers as signed, and, with its
            // `arbitrary_precision` feature, `-0`.
            (_, Scalar::Signed(seconds)) => u64::try_from(*seconds).map_err(|_| invalid)?,
            // In range: below 2^64, every float is already whole, so `ceil` stays below.
            (_, Scalar::Float(seconds)) if (0.0..TIME_BOUND).contains(seconds) => round(*seconds) as u64,
            _ => return Err(invalid),
        };
        let time = match slot {
            "exp" => &mut self.exp,
            "nbf" => &mut self.nbf,
            _ => &mut self.iat,
        };
        *time = Some(seconds);
        Ok(())
    }
}

/// The registered claim a member name is, if it is one.
#[inline]
fn slot(name: &str) -> Option<&'static str> {
    // Matched as three-byte arrays: a few integer compares per member name.
    match name.as_bytes() {
        b"exp" => Some("exp"),
        b"nbf" => Some("nbf"),
        b"iat" => Some("iat"),
        b"iss" => Some("iss"),
        b"aud" => Some("aud"),
        _ => None,
    }
}

/// The registered times of a token, in whole seconds since the epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Times {
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
}

/// Claims that passed [`Registered::check`], with their registered times.
pub(crate) type Checked<C> = (C, Times);

/// Parses `payload` into `C`, capturing the registered claims on the way.
///
/// Claims that are a JSON object the caller's type does not accept are `invalid-claim`
/// (`claims`); [`parse_and_check`] checks their registered claims first.
pub(crate) fn parse<'de, C: Deserialize<'de>>(payload: &'de [u8]) -> Result<(C, Registered<'de>), Rejection> {
    let (claims, registered) = read(payload)?;
    Ok((claims.ok_or(DOES_NOT_FIT)?, registered))
}

/// [`read`] followed by [`Registered::check`]: the claims with their registered times.
///
/// Claims that are JSON but do not fit the caller's type have their registered claims checked
/// all the same, and when those fail the check, that verdict is the one reported: a token issued
/// under an older claims type that has since expired is `expired` (routine), not
/// `invalid-claim`.
pub(crate) fn parse_and_check<'de, C: Deserialize<'de>>(
    payload: &'de [u8],
    validation: &Validation,
    now_secs: u64,
) -> Result<Checked<C>, Rejection> {
    let (claims, registered) = read::<C>(payload)?;
    registered.check(validation, now_secs)?;
    Ok((claims.ok_or(DOES_NOT_FIT)?, registered.times()))
}

/// Reads `payload` into `C` (`None` when the claims do not fit it), with the registered claims.
///
/// The claims are UTF-8 text or `malformed`. Plain claims are read by the fast path ([`plain`]);
/// whatever it gives up on is read by [`strictly`], with `serde_json`, which decides every
/// rejection.
fn read<'de, C: Deserialize<'de>>(payload: &'de [u8]) -> Result<(Option<C>, Registered<'de>), Rejection> {
    let text = core::str::from_utf8(payload).map_err(|_| NOT_TEXT)?;
    if let Some((claims, registered)) = plain::parse(text) {
        return Ok((Some(claims), registered));
    }
    strictly(text)
}

/// Reads `text` into `C` with `serde_json` through [`Strict`], which refuses repeated names and
/// deep nesting at every depth, capturing the registered claims on the way: the claims reader,
/// of which [`plain`] is only a faster path.
///
/// A fault or a refusal by the caller's type does not end the read: it goes on to the end of
/// the claims, so that what follows is known to be JSON (or the claims are malformed wherever
/// the fault sits) and every registered claim is recorded, in the same pass. Only when the
/// caller's type refused an array or object where it expected something else does `serde_json`
/// stop where it cannot go on; then the claims are read once more, into nothing.
fn strictly<'de, C: Deserialize<'de>>(text: &'de str) -> Result<(Option<C>, Registered<'de>), Rejection> {
    let mut fault = None;
    let mut registered = Registered::default();
    let rules = Rules::new(JSON_DEPTH_MAX);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let tee =
        Tee { map: PhantomData::<C>, rules: &rules, registered: &mut registered, fault: &mut fault, pending: None };
    let parsed = Strict::new(&mut deserializer, &rules).deserialize_map(tee);
    // `serde_json` refuses anything but an object before a member is read.
    let is_object = text.trim_start_matches([' ', '\t', '\n', '\r']).starts_with('{');
    let whole = is_object && !rules.stuck.get() && deserializer.end().is_ok();
    match (parsed, rules.fault(), fault) {
        (_, Some(Fault::Repeated), _) => Err(REPEATED),
        (_, Some(Fault::TooDeep), _) => Err(Rejection::TooLarge(TooLarge::ClaimsDepth)),
        (_, None, Some(rejection)) if whole => Err(rejection),
        (Ok(claims), None, None) if whole => Ok((Some(claims), registered)),
        // A refusal by the caller's type (a data error: `serde_json`'s own errors are syntax)
        // in claims that are JSON to their end: they do not fit the caller's type.
        (Err(error), None, None) if whole && error.is_data() => Ok((None, registered)),
        // Read into nothing, which refuses nothing, the claims cannot get stuck again.
        (Err(error), None, None) if rules.stuck.get() && error.is_data() => {
            strictly::<IgnoredAny>(text).map(|(_, registered)| (None, registered))
        }
        _ => Err(NOT_AN_OBJECT),
    }
}

const NOT_AN_OBJECT: Rejection = Rejection::Malformed(Malformed::ClaimsNotObject);

/// Claims with a member name twice in one object, at any depth.
pub(crate) const REPEATED: Rejection = Rejection::Malformed(Malformed::ClaimsRepeatMember);

/// Claims that are not UTF-8.
const NOT_TEXT: Rejection = Rejection::Malformed(Malformed::ClaimsText);

/// Claims that are a JSON object the caller's type does not accept.
pub(crate) const DOES_NOT_FIT: Rejection = Rejection::InvalidClaim("claims");

/// The strict read's view of the claims object: as a visitor (`M` the claims type), it sets
/// the caller's type to read the object; as a map (`M` the object's members), it hands the
/// members on and records the registered claims on the way, replaying them to the caller's type.
struct Tee<'f, 'de, M> {
    map: M,
    rules: &'f Rules,
    registered: &'f mut Registered<'de>,
    fault: &'f mut Option<Rejection>,
    /// The registered claim whose value is next, or a name handed out and its value not yet read.
    pending: Option<Option<&'static str>>,
}

impl<'de, C: Deserialize<'de>> Visitor<'de> for Tee<'_, 'de, PhantomData<C>> {
    type Value = C;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a JWT claims object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<C, A::Error> {
        let mut tee = Tee { map, rules: self.rules, registered: self.registered, fault: self.fault, pending: None };
        let claims = C::deserialize(Hand::Map(&mut tee));
        // The caller's type may stop early or refuse; the registered claims must still all be
        // seen, and the rest read.
        let mut rest = || {
            if tee.pending.is_some() {
                tee.next_value::<IgnoredAny>()?;
            }
            while tee.next_key::<IgnoredAny>()?.is_some() {
                tee.next_value::<IgnoredAny>()?;
            }
            Ok::<(), A::Error>(())
        };
        match (claims, rest()) {
            (claims, Ok(())) => claims,
            (Ok(_), Err(error)) => Err(error),
            (Err(error), Err(_)) => {
                self.rules.stuck.set(true);
                Err(error)
            }
        }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Tee<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        let Some(Name(name)) = self.map.next_key::<Name<'de>>()? else { return Ok(None) };
        self.registered.members += 1;
        if self.registered.members > CLAIMS_MEMBERS_MAX && self.fault.is_none() {
            self.pending = Some(None);
            *self.fault = Some(Rejection::TooLarge(TooLarge::ClaimsMembers));
            return Err(de::Error::custom("rejected"));
        }
        // After a fault, the rest is only read on.
        self.pending = Some(slot(&name).filter(|_| self.fault.is_none()));
        match name {
            Cow::Borrowed(name) => seed.deserialize(BorrowedStrDeserializer::new(name)).map(Some),
            Cow::Owned(name) => seed.deserialize(StrDeserializer::new(&name)).map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let Some(Some(slot)) = self.pending.take() else { return self.map.next_value_seed(seed) };
        let value: Scalar<'de> = self.map.next_value()?;
        if let Err(rejection) = self.registered.record(slot, &value) {
            *self.fault = Some(rejection);
            return Err(de::Error::custom("rejected"));
        }
        seed.deserialize(Hand::<Self>::Value(&value))
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// What the caller's type is handed: the claims object, presented as the map a tee `M` makes of
/// it whatever the type asks for, or a registered claim's captured value, replayed as
/// `serde_json` would hand it.
enum Hand<'h, 'de, M> {
    Map(&'h mut M),
    Value(&'h Scalar<'de>),
}

impl<'de, M: MapAccess<'de>> Deserializer<'de> for Hand<'_, 'de, M> {
    type Error = M::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, M::Error> {
        match self {
            Hand::Map(map) => visitor.visit_map(map),
            Hand::Value(Scalar::Str(Cow::Borrowed(text))) => visitor.visit_borrowed_str(text),
            Hand::Value(Scalar::Str(Cow::Owned(text))) => visitor.visit_str(text),
            Hand::Value(Scalar::Unsigned(number)) => visitor.visit_u64(*number),
            Hand::Value(Scalar::Signed(number)) => visitor.visit_i64(*number),
            Hand::Value(Scalar::Float(number)) => visitor.visit_f64(*number),
            Hand::Value(Scalar::Bool(value)) => visitor.visit_bool(*value),
            Hand::Value(Scalar::Strings(list)) => {
                SeqDeserializer::new(list.iter().map(Hand::<M>::Value)).deserialize_any(visitor)
            }
            // Registered claims of any other shape are refused before they are replayed.
            Hand::Value(Scalar::TooManyStrings | Scalar::OutOfRange | Scalar::Other) => {
                Err(de::Error::custom("unexpected claim shape"))
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, M::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, M::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, M: MapAccess<'de>> IntoDeserializer<'de, M::Error> for Hand<'_, 'de, M> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

mod plain;

#[cfg(any(test, fuzzing))]
pub(crate) mod paths {
    use super::{plain, strictly, Deserialize, Rejection, NOT_TEXT};

    /// The fast path's reading, or `None` when it gave up.
    pub(crate) fn fast<'de, C: Deserialize<'de>>(payload: &'de [u8]) -> Option<(C, String)> {
        let (claims, registered) = plain::parse(core::str::from_utf8(payload).ok()?)?;
        Some((claims, format!("{registered:?}")))
    }

    /// `serde_json`'s reading: the claims (`None` when they do not fit `C`) or the rejection.
    pub(crate) fn thorough<'de, C: Deserialize<'de>>(payload: &'de [u8]) -> Result<(Option<C>, String), Rejection> {
        let (claims, registered) = strictly(core::str::from_utf8(payload).map_err(|_| NOT_TEXT)?)?;
        Ok((claims, format!("{registered:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::AUDIENCES_MAX;
    use serde::Deserialize;
    use tokenring_testkit::claims::{Borrowed, Owned};

    #[test]
    fn parses_and_captures() {
        let (claims, registered) = parse::<Owned>(br#"{"sub":"3","exp":10,"aud":["a","b"],"nbf":1.5}"#).unwrap();
        assert_eq!(claims, Owned { sub: "3".into(), exp: 10, aud: Some(vec!["a".into(), "b".into()]) });
        assert_eq!(registered.exp, Some(10));
        assert_eq!(registered.nbf, Some(2), "rounded up");
        let (claims, registered) = parse::<Borrowed<'_>>(br#"{"iss":"me","sub":"3","exp":1}"#).unwrap();
        assert_eq!(claims, Borrowed { sub: "3", iss: Some("me") });
        assert_eq!(registered.iss.as_deref(), Some("me"));
    }

    /// A claims type that reads one entry and stops.
    #[derive(Debug)]
    struct FirstOnly;

    impl<'de> Deserialize<'de> for FirstOnly {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct FirstVisitor;
            impl<'de> Visitor<'de> for FirstVisitor {
                type Value = FirstOnly;
                fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                    f.write_str("a map")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FirstOnly, A::Error> {
                    map.next_entry::<IgnoredAny, IgnoredAny>()?;
                    Ok(FirstOnly)
                }
            }
            deserializer.deserialize_map(FirstVisitor)
        }
    }

    #[test]
    fn registered_claims_after_an_early_stop_are_still_checked() {
        assert_eq!(parse::<FirstOnly>(br#"{"a":1,"exp":"soon"}"#).unwrap_err(), Rejection::InvalidClaim("exp"));
        let (_, registered) = parse::<FirstOnly>(br#"{"a":1,"exp":5}"#).unwrap();
        assert_eq!(registered.exp, Some(5));
    }

    #[test]
    fn wrong_types_are_invalid_not_absent() {
        for (payload, claim) in [
            (r#"{"exp":"1"}"#, "exp"),
            (r#"{"exp":null}"#, "exp"),
            (r#"{"nbf":true}"#, "nbf"),
            (r#"{"iat":[1]}"#, "iat"),
            (r#"{"iss":1}"#, "iss"),
            (r#"{"aud":[1]}"#, "aud"),
            (r#"{"aud":{}}"#, "aud"),
        ] {
            assert_eq!(
                parse::<IgnoredAny>(payload.as_bytes()).unwrap_err(),
                Rejection::InvalidClaim(claim),
                "{payload}"
            );
        }
    }

    #[test]
    fn structure_faults() {
        assert!(matches!(parse::<IgnoredAny>(b"[1]"), Err(Rejection::Malformed(_))));
        assert!(matches!(parse::<IgnoredAny>(b"{\"a\":1,\"a\":2}"), Err(Rejection::Malformed(_))));
        assert!(matches!(parse::<IgnoredAny>(b"{} {}"), Err(Rejection::Malformed(_))));
        assert!(matches!(parse::<IgnoredAny>(b"foo"), Err(Rejection::Malformed(_))));
        assert_eq!(parse::<Owned>(b"{\"exp\":1}").unwrap_err(), Rejection::InvalidClaim("claims"));
        let many: Vec<String> = (0..=CLAIMS_MEMBERS_MAX).map(|i| format!("\"m{i}\":0")).collect();
        let payload = format!("{{{}}}", many.join(","));
        assert!(matches!(parse::<IgnoredAny>(payload.as_bytes()), Err(Rejection::TooLarge(_))));
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(JSON_DEPTH_MAX), "]".repeat(JSON_DEPTH_MAX));
        assert!(matches!(parse::<IgnoredAny>(deep.as_bytes()), Err(Rejection::TooLarge(_))));
    }

    fn check(payload: &str, validation: &Validation, now: u64) -> Result<(), Rejection> {
        parse::<IgnoredAny>(payload.as_bytes())?.1.check(validation, now)
    }

    #[test]
    fn time_checks_with_leeway() {
        let strict = Validation::new().leeway_secs(0);
        assert_eq!(check(r#"{"exp":100}"#, &strict, 99), Ok(()));
        assert_eq!(check(r#"{"exp":100}"#, &strict, 100), Err(Rejection::Expired));
        let lenient = Validation::new().leeway_secs(30);
        assert_eq!(check(r#"{"exp":100}"#, &lenient, 129), Ok(()));
        assert_eq!(check(r#"{"exp":100}"#, &lenient, 130), Err(Rejection::Expired));
        assert_eq!(check(r#"{"exp":100,"nbf":50}"#, &strict, 49), Err(Rejection::NotYetValid));
        assert_eq!(check(r#"{"exp":100,"nbf":50}"#, &lenient, 20), Ok(()));
        assert_eq!(check(r#"{}"#, &strict, 0), Err(Rejection::MissingClaim("exp")));
        assert_eq!(check(r#"{}"#, &strict.clone().require_exp(false), 0), Ok(()));
    }

    #[test]
    fn issuer_and_audience() {
        let validation = Validation::new().issuer("me").audience("api");
        assert_eq!(check(r#"{"exp":9,"iss":"me","aud":"api"}"#, &validation, 0), Ok(()));
        assert_eq!(check(r#"{"exp":9,"iss":"me","aud":["x","api"]}"#, &validation, 0), Ok(()));
        assert_eq!(check(r#"{"exp":9,"iss":"you","aud":"api"}"#, &validation, 0), Err(Rejection::WrongIssuer));
        assert_eq!(check(r#"{"exp":9,"aud":"api"}"#, &validation, 0), Err(Rejection::MissingClaim("iss")));
        assert_eq!(check(r#"{"exp":9,"iss":"me","aud":"web"}"#, &validation, 0), Err(Rejection::WrongAudience));
        assert_eq!(check(r#"{"exp":9,"iss":"me"}"#, &validation, 0), Err(Rejection::MissingClaim("aud")));
        assert_eq!(check(r#"{"exp":9,"aud":"api"}"#, &Validation::new(), 0), Err(Rejection::WrongAudience));
        assert_eq!(check(r#"{"exp":9,"iss":"me","aud":["x","y"]}"#, &validation, 0), Err(Rejection::WrongAudience));
        assert_eq!(check(r#"{"exp":9,"iss":"me","aud":[]}"#, &validation, 0), Err(Rejection::WrongAudience));
    }

    /// The edges the checks sit on: `nbf` at `now` is valid, the member limit itself is not too
    /// large, and the checked claims carry their times.
    #[test]
    fn checks_hold_at_their_edges() {
        let strict = Validation::new().leeway_secs(0);
        assert_eq!(check(r#"{"exp":100,"nbf":50}"#, &strict, 50), Ok(()));
        assert_eq!(check(r#"{"exp":100,"nbf":50}"#, &Validation::new().leeway_secs(1), 49), Ok(()));
        let members = |count: usize| {
            let many: Vec<String> = (0..count).map(|i| format!("\"m{i}\":0")).collect();
            parse::<IgnoredAny>(format!("{{{}}}", many.join(",")).as_bytes()).map(|(_, registered)| registered.members)
        };
        assert_eq!(members(CLAIMS_MEMBERS_MAX), Ok(CLAIMS_MEMBERS_MAX));
        assert_eq!(members(CLAIMS_MEMBERS_MAX + 1), Err(Rejection::TooLarge(TooLarge::ClaimsMembers)));
        let audiences = |count: usize| {
            let many: Vec<String> = (0..count).map(|i| format!("\"a{i}\"")).collect();
            parse::<IgnoredAny>(format!("{{\"aud\":[{}]}}", many.join(",")).as_bytes()).map(|_| ())
        };
        assert_eq!(audiences(AUDIENCES_MAX), Ok(()));
        assert_eq!(audiences(AUDIENCES_MAX + 1), Err(Rejection::TooLarge(TooLarge::Audiences)));
        let payload = br#"{"sub":"3","exp":100,"nbf":50,"iat":40}"#;
        let (_, times) = parse_and_check::<Owned>(payload, &strict, 60).unwrap();
        assert_eq!(times, Times { exp: Some(100), nbf: Some(50), iat: Some(40) });
    }

    /// Claims that are JSON but not an object are malformed, not claims the caller's type
    /// refuses; so are claims the caller's type refuses that are not JSON to their end.
    #[test]
    fn claims_are_an_object_to_their_end_before_they_can_not_fit() {
        for payload in
            [&b"\"x\""[..], b"1", b"true", b"null", b" [] ", br#"{"sub":7,"exp":10} x"#, br#"{"sub":7,"exp":10"#]
        {
            assert_eq!(parse::<Owned>(payload).unwrap_err(), NOT_AN_OBJECT, "{payload:?}");
        }
        assert_eq!(parse::<Owned>(br#" {"sub":7,"exp":10} "#).unwrap_err(), DOES_NOT_FIT);
    }

    #[test]
    fn validation_settings_read_back() {
        assert_eq!(Validation::new().leeway_secs, LEEWAY_SECS_DEFAULT);
        assert_eq!(Validation::new().leeway_secs(7).leeway_secs, 7);
        assert_eq!(Validation::new().leeway_secs(u64::MAX).leeway_secs, LEEWAY_SECS_MAX, "capped");
    }

    /// Claims `{"a":[[...]]}` nested `depth` deep, the object included.
    fn nested(depth: usize) -> String {
        format!("{{\"a\":{}{}}}", "[".repeat(depth - 1), "]".repeat(depth - 1))
    }

    #[test]
    fn claims_nested_exactly_to_the_depth_limit_are_read_and_one_level_more_is_too_large() {
        assert!(parse::<IgnoredAny>(nested(JSON_DEPTH_MAX).as_bytes()).is_ok());
        assert_eq!(
            parse::<IgnoredAny>(nested(JSON_DEPTH_MAX + 1).as_bytes()).unwrap_err(),
            Rejection::TooLarge(TooLarge::ClaimsDepth)
        );
    }

    #[test]
    fn misplaced_commas_are_malformed() {
        for payload in [&br#"{,"exp":1}"#[..], br#"{ ,"exp":1}"#, br#"{"exp":1,,"sub":"3"}"#, br#"{"exp":1,}"#] {
            assert!(matches!(parse::<IgnoredAny>(payload), Err(Rejection::Malformed(_))), "{payload:?}");
        }
    }

    #[test]
    fn a_repeated_name_is_malformed_at_every_depth_even_when_the_callers_type_skips_it() {
        let repeated = Rejection::Malformed(Malformed::ClaimsRepeatMember);
        for payload in [
            &br#"{"sub":"3","sub":"4"}"#[..],
            br#"{"s\u0075b":"3","sub":"4"}"#,
            br#"{"x":{"a":1,"a":2}}"#,
            br#"{"x":[1,{"a":1,"a":2}]}"#,
        ] {
            assert_eq!(parse::<IgnoredAny>(payload).unwrap_err(), repeated, "{payload:?}");
            assert_eq!(parse::<serde_json::Value>(payload).unwrap_err(), repeated, "{payload:?}");
        }
        // The same name in different objects is no repeat.
        assert!(parse::<serde_json::Value>(br#"{"a":1,"x":{"a":2},"y":[{"a":3}]}"#).is_ok());
    }

    /// Names read through an option or a newtype, or as an enum's variant, are member names
    /// all the same: a repeat among them is refused too.
    #[test]
    fn a_repeated_name_is_malformed_however_the_callers_type_reads_names() {
        #[derive(Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
        struct Key(String);
        #[derive(Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
        enum Variant {
            A,
        }
        #[derive(Debug, Deserialize)]
        struct Maps {
            #[allow(dead_code)]
            options: Option<std::collections::BTreeMap<Option<String>, u8>>,
            #[allow(dead_code)]
            newtypes: Option<std::collections::BTreeMap<Key, u8>>,
            #[allow(dead_code)]
            variants: Option<std::collections::BTreeMap<Variant, u8>>,
        }
        for payload in
            [&br#"{"options":{"A":1,"A":2}}"#[..], br#"{"newtypes":{"A":1,"A":2}}"#, br#"{"variants":{"A":1,"A":2}}"#]
        {
            assert_eq!(parse::<Maps>(payload).unwrap_err(), REPEATED, "{payload:?}");
        }
        assert!(parse::<Maps>(br#"{"options":{"A":1},"newtypes":{"A":1},"variants":{"A":1}}"#).is_ok());
    }

    /// A registered claim is captured, then replayed to the caller's type: as `serde_json` would
    /// hand it, an array included, which a type that reads fewer elements refuses.
    #[test]
    fn an_audience_list_reaches_the_callers_type_whole() {
        #[derive(Debug, Deserialize)]
        struct OneAudience {
            #[allow(dead_code)]
            aud: (String,),
        }
        let payload = br#"{"aud":["a","b"]}"#;
        assert!(serde_json::from_slice::<OneAudience>(payload).is_err());
        assert_eq!(parse::<OneAudience>(payload).unwrap_err(), DOES_NOT_FIT);
        assert_eq!(parse::<OneAudience>(br#"{"aud":["a"]}"#).unwrap().0.aud.0, "a");
    }

    #[test]
    fn time_claims_read_alike_in_every_number_form() {
        for (payload, expected) in [
            (r#"{"exp":1700000000}"#, Ok(Some(1_700_000_000))),
            (r#"{"exp":1700000000.0}"#, Ok(Some(1_700_000_000))),
            (r#"{"exp":1.7e9}"#, Ok(Some(1_700_000_000))),
            (r#"{"exp":1699999999.5}"#, Ok(Some(1_700_000_000))),
            (r#"{"exp":18446744073709551615}"#, Ok(Some(u64::MAX))),
            (r#"{"exp":-0}"#, Ok(Some(0))),
            (r#"{"exp":18446744073709551616}"#, Err(Rejection::InvalidClaim("exp"))),
            (r#"{"exp":-1}"#, Err(Rejection::InvalidClaim("exp"))),
            (r#"{"exp":1e400}"#, Err(NOT_AN_OBJECT)),
        ] {
            let exp = parse::<serde_json::Value>(payload.as_bytes()).map(|(_, registered)| registered.exp);
            assert_eq!(exp, expected, "{payload}");
        }
    }

    #[test]
    fn claims_that_are_not_json_are_malformed_wherever_a_claim_fault_sits() {
        for payload in [&br#"{"exp":"soon""#[..], br#"{"exp":1e400"#, br#"{"iss":7} x"#, br#"{"exp":"x",}"#] {
            assert_eq!(parse::<IgnoredAny>(payload).unwrap_err(), NOT_AN_OBJECT, "{payload:?}");
        }
        // A repeated name is named as soon as it is found: malformed either way.
        assert_eq!(parse::<IgnoredAny>(br#"{"a":1,"a":2,"#).unwrap_err(), REPEATED);
        assert_eq!(parse::<IgnoredAny>(br#"{"exp":"soon"}"#).unwrap_err(), Rejection::InvalidClaim("exp"));
    }

    #[test]
    fn claims_that_do_not_fit_the_callers_type_report_a_failed_registered_check_first() {
        let strict = Validation::new().leeway_secs(0).issuer("me");
        let checked = |payload: &str, now| parse_and_check::<Owned>(payload.as_bytes(), &strict, now).map(|_| ());
        // `Owned` needs `sub`: these do not fit it.
        assert_eq!(checked(r#"{"iss":"me","exp":10}"#, 10), Err(Rejection::Expired));
        assert_eq!(checked(r#"{"iss":"me","exp":10,"nbf":5}"#, 4), Err(Rejection::NotYetValid));
        assert_eq!(checked(r#"{"iss":"you","exp":10}"#, 0), Err(Rejection::WrongIssuer));
        assert_eq!(checked(r#"{"iss":"me"}"#, 0), Err(Rejection::MissingClaim("exp")));
        assert_eq!(checked(r#"{"iss":"me","exp":10}"#, 9), Err(DOES_NOT_FIT));
        // A registered claim after the field the type refuses is still read and checked.
        assert_eq!(checked(r#"{"sub":7,"iss":"me","exp":10}"#, 10), Err(Rejection::Expired));
        assert_eq!(checked(r#"{"sub":"3","iss":"me","exp":10}"#, 9), Ok(()));
    }

    /// `serde_json` stops at an array or object the caller's type refused where it expected
    /// something else; the claims are then read once more, so that the registered claims after
    /// it are checked and a fault after it is named.
    #[test]
    fn after_a_refused_array_or_object_the_rest_of_the_claims_still_decides() {
        let strict = Validation::new().leeway_secs(0).issuer("me");
        let checked = |payload: &str, now| parse_and_check::<Owned>(payload.as_bytes(), &strict, now).map(|_| ());
        // `Owned` needs `sub` to be a string.
        assert_eq!(checked(r#"{"sub":[1],"iss":"me","exp":10}"#, 10), Err(Rejection::Expired));
        assert_eq!(checked(r#"{"sub":{"a":1},"iss":"me","exp":10}"#, 9), Err(DOES_NOT_FIT));
        assert_eq!(checked(r#"{"sub":[1],"iss":"me","exp":"soon"}"#, 9), Err(Rejection::InvalidClaim("exp")));
        assert_eq!(checked(r#"{"sub":[1],"exp":10,"a":1,"a":2}"#, 9), Err(REPEATED));
        assert_eq!(checked(r#"{"sub":[1],"exp":10} x"#, 9), Err(NOT_AN_OBJECT));
    }

    #[test]
    fn claims_reach_the_callers_type_as_written() {
        let payload = br#"{"sub":"3","exp":10,"aud":["a","b"],"big":123456789012345678901234567890,"n":{"k":[1,2]}}"#;
        let (claims, _) = parse::<serde_json::Value>(payload).unwrap();
        assert_eq!(claims, serde_json::from_slice::<serde_json::Value>(payload).unwrap());
    }
}
