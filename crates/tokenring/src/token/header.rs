//! The strict JOSE header parser.
//!
//! Accepts a JSON object with unique member names, `alg` exactly `"HS256"`, no `crit`, no
//! `b64` other than `true`, and a bounded `kid`. Members that carry key material or point at it
//! (`jwk`, `jku`, `x5u`, `x5c`, ...) are consumed and never used: the key always comes from
//! the ring.

use std::borrow::Cow;

use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::error::{Malformed, Rejection, TooLarge, UnsupportedHeader};
use crate::limits::{HEADER_LEN_MAX, HEADER_MEMBERS_MAX, JSON_DEPTH_MAX, KID_LEN_MAX};
use crate::token::strict_json::{Fault, Name, Rules, Scalar, Strict};

/// What verification needs from a header.
#[derive(Debug, PartialEq)]
pub(crate) struct Header<'h> {
    pub(crate) kid: Option<Cow<'h, str>>,
}

/// Parses a decoded header: one strict `serde_json` read ([`Strict`]) that refuses repeated
/// names and deep nesting anywhere in it, also inside members it does not use.
pub(crate) fn parse(header: &[u8]) -> Result<Header<'_>, Rejection> {
    if header.len() > HEADER_LEN_MAX {
        return Err(Rejection::TooLarge(TooLarge::Header));
    }
    let Ok(text) = core::str::from_utf8(header) else {
        return Err(Rejection::Malformed(Malformed::HeaderText));
    };
    let mut fault = None;
    let rules = Rules::new(JSON_DEPTH_MAX);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = Strict::new(&mut deserializer, &rules).deserialize_map(HeaderSeed { fault: &mut fault });
    match (parsed.and_then(|header| deserializer.end().map(|()| header)), rules.fault(), fault) {
        (_, Some(Fault::Repeated), _) => Err(Rejection::Malformed(Malformed::HeaderRepeatsMember)),
        (_, Some(Fault::TooDeep), _) => Err(Rejection::TooLarge(TooLarge::HeaderDepth)),
        (_, None, Some(rejection)) => Err(rejection),
        (Ok(header), None, None) => Ok(header),
        (Err(_), None, None) => Err(Rejection::Malformed(Malformed::HeaderNotObject)),
    }
}

/// Parses with a side slot for the precise rejection, since serde errors are untyped.
struct HeaderSeed<'f> {
    fault: &'f mut Option<Rejection>,
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = Header<'de>;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = 0;
        let mut alg_seen = false;
        let mut kid = None;
        let mut fail = |rejection: Rejection| -> A::Error {
            *self.fault = Some(rejection);
            de::Error::custom("rejected")
        };
        while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
            members += 1;
            if members > HEADER_MEMBERS_MAX {
                return Err(fail(Rejection::TooLarge(TooLarge::HeaderMembers)));
            }
            let value: Scalar<'de> = map.next_value()?;
            match &*name {
                "alg" => {
                    if value != Scalar::Str(Cow::Borrowed("HS256")) {
                        return Err(fail(Rejection::UnsupportedAlgorithm));
                    }
                    alg_seen = true;
                }
                "kid" => match value {
                    Scalar::Str(text) if text.len() <= KID_LEN_MAX => kid = Some(text),
                    Scalar::Str(_) => return Err(fail(Rejection::TooLarge(TooLarge::Kid))),
                    _ => return Err(fail(Rejection::Malformed(Malformed::KidNotString))),
                },
                "typ" | "cty" if !matches!(value, Scalar::Str(_)) => {
                    return Err(fail(Rejection::Malformed(Malformed::TypNotString)));
                }
                "crit" => {
                    return Err(fail(Rejection::UnsupportedHeader(UnsupportedHeader::Crit)));
                }
                // RFC 7797 unencoded payloads are not implemented; `true` is the default
                // behaviour and harmless.
                "b64" if value != Scalar::Bool(true) => {
                    return Err(fail(Rejection::UnsupportedHeader(UnsupportedHeader::B64)));
                }
                _ => {}
            }
        }
        if !alg_seen {
            return Err(fail(Rejection::Malformed(Malformed::NoAlg)));
        }
        Ok(Header { kid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(header: &str) -> Result<Option<String>, Rejection> {
        parse(header.as_bytes()).map(|header| header.kid.map(Cow::into_owned))
    }

    #[test]
    fn accepts_hs256() {
        assert_eq!(parse_str(r#"{"alg":"HS256"}"#), Ok(None));
        assert_eq!(parse_str(r#"{"alg":"HS256","typ":"JWT","kid":"a"}"#), Ok(Some("a".into())));
        assert_eq!(parse_str("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"), Ok(None));
        assert_eq!(parse_str(r#"{"alg":"HS256","kid":"a\u0062"}"#), Ok(Some("ab".into())));
        assert_eq!(parse_str(r#"{"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"},"jku":"x"}"#), Ok(None));
    }

    #[test]
    fn refuses_other_algorithms() {
        for alg in [
            r#""none""#,
            r#""None""#,
            r#""NONE""#,
            r#""HS384""#,
            r#""HS512""#,
            r#""RS256""#,
            r#""ES256""#,
            r#""PS256""#,
            r#""EdDSA""#,
            r#""hs256""#,
            r#""HS256 ""#,
            "null",
            r#"["HS256"]"#,
            "256",
            r#"{"a":1}"#,
        ] {
            let header = format!(r#"{{"alg":{alg}}}"#);
            assert_eq!(parse_str(&header), Err(Rejection::UnsupportedAlgorithm), "{header}");
        }
    }

    #[test]
    fn refuses_structural_faults() {
        assert!(matches!(parse_str(r#"{"typ":"JWT"}"#), Err(Rejection::Malformed(_))));
        assert!(matches!(parse_str(r#"{"alg":"HS256","alg":"HS256"}"#), Err(Rejection::Malformed(_))));
        assert!(matches!(parse_str(r#"{"alg":"HS256","a\u006cg":"HS256"}"#), Err(Rejection::Malformed(_))));
        // A repeat is found before its value is judged: a second `alg` is no algorithm attack.
        let repeated = Err(Rejection::Malformed(Malformed::HeaderRepeatsMember));
        assert_eq!(parse_str(r#"{"alg":"HS256","alg":"none"}"#), repeated);
        assert_eq!(parse_str(r#"{"alg":"HS256","kid":"a","kid":7}"#), repeated);
        let nested = Err(Rejection::Malformed(Malformed::HeaderRepeatsMember));
        assert_eq!(parse_str(r#"{"alg":"HS256","jwk":{"k":"a","k":"b"}}"#), nested);
        assert_eq!(parse_str(r#"{"alg":"HS256","x5c":[{"a":1,"\u0061":2}]}"#), nested);
        assert!(matches!(parse_str(r#"["alg","HS256"]"#), Err(Rejection::Malformed(_))));
        assert!(matches!(parse_str(r#"{"alg":"HS256"} x"#), Err(Rejection::Malformed(_))));
        assert!(matches!(parse_str(r#"{"alg":"HS256""#), Err(Rejection::Malformed(_))));
        assert!(matches!(parse_str(r#"{"alg":"HS256","kid":7}"#), Err(Rejection::Malformed(_))));
        assert!(matches!(parse_str(r#"{"alg":"HS256","typ":7}"#), Err(Rejection::Malformed(_))));
        assert!(matches!(parse_str(""), Err(Rejection::Malformed(_))));
    }

    #[test]
    fn refuses_unsupported_features() {
        assert!(matches!(parse_str(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#), Err(Rejection::UnsupportedHeader(_))));
        assert!(matches!(parse_str(r#"{"alg":"HS256","crit":[]}"#), Err(Rejection::UnsupportedHeader(_))));
        assert!(matches!(
            parse_str(r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#),
            Err(Rejection::UnsupportedHeader(_))
        ));
        assert!(matches!(parse_str(r#"{"alg":"HS256","b64":false}"#), Err(Rejection::UnsupportedHeader(_))));
        assert_eq!(parse_str(r#"{"alg":"HS256","b64":true}"#), Ok(None), "b64 true is the default behaviour");
    }

    /// The first fault read is the one reported (the `header` fuzz target found the order
    /// matters once both checks share the one pass).
    #[test]
    fn a_repeat_and_a_depth_fault_are_reported_in_reading_order() {
        let deep = format!("{}0{}", "[".repeat(JSON_DEPTH_MAX), "]".repeat(JSON_DEPTH_MAX));
        let repeat_first = format!(r#"{{"alg":"HS256","a":1,"a":{deep}}}"#);
        assert_eq!(parse_str(&repeat_first), Err(Rejection::Malformed(Malformed::HeaderRepeatsMember)));
        let deep_first = format!(r#"{{"alg":"HS256","a":{deep},"a":1}}"#);
        assert_eq!(parse_str(&deep_first), Err(Rejection::TooLarge(TooLarge::HeaderDepth)));
    }

    #[test]
    fn a_header_of_exactly_the_limit_is_parsed() {
        let prefix = r#"{"alg":"HS256","x":""#;
        let pad = HEADER_LEN_MAX - prefix.len() - 2;
        let header = format!(r#"{prefix}{}"}}"#, "a".repeat(pad));
        assert_eq!(header.len(), HEADER_LEN_MAX);
        assert_eq!(parse_str(&header), Ok(None));
    }

    #[test]
    fn enforces_limits() {
        let long_kid = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(KID_LEN_MAX + 1));
        assert!(matches!(parse_str(&long_kid), Err(Rejection::TooLarge(_))));
        let many: String = (0..HEADER_MEMBERS_MAX).map(|i| format!(r#","m{i}":0"#)).collect();
        assert!(matches!(parse_str(&format!(r#"{{"alg":"HS256"{many}}}"#)), Err(Rejection::TooLarge(_))));
        let deep = format!(r#"{{"alg":"HS256","x":{}{}}}"#, "[".repeat(JSON_DEPTH_MAX), "]".repeat(JSON_DEPTH_MAX));
        assert!(matches!(parse_str(&deep), Err(Rejection::TooLarge(_))));
        let big = format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(HEADER_LEN_MAX));
        assert!(matches!(parse_str(&big), Err(Rejection::TooLarge(_))));
    }
}
