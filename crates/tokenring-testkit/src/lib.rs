//! Test support for tokenring, never published: the fuzz targets' properties, the reference
//! models they check against, the reference implementation's known quirks, and the timing
//! harnesses' primitives. The fuzz crate (`fuzz/`) and the benchmarks depend on it; the
//! library does not, so none of this ships to a user of `tokenring`.
//!
//! Each property function takes fuzzer-chosen input, runs it through tokenring's public API
//! and asserts a property, panicking when it does not hold: a panic is what a fuzzer reports.
//! The targets in `fuzz/fuzz_targets/` are thin wrappers, so the properties are type-checked
//! with the workspace.
//!
//! Wherever a property needs to know what the right answer is, it is computed here
//! independently of the verifier: a separate strict base64url decoder, HMAC-SHA256 straight
//! from the `hmac` and `sha2` crates, and a model of the header and claims rules written over
//! `serde_json::Value`. A fault shared by the verifier and its oracle would hide, but one in
//! either shows.
//!
//! [`storage::MemoryStorage`] is the one in-memory [`Storage`](tokenring::Storage) the tests run
//! a real `FileStore` on, with the faults and the other writers each test sets up;
//! [`document::MemoryDocument`] the one in-memory [`RingStore`](tokenring::RingStore) (a
//! compare-and-swap store like etcd) a `SharedRing` runs on, with another writer's update
//! placed between a read and its swap; [`etcd::EtcdServer`] a real `etcd` for one test.
//!
//! Nothing here reads a clock: times are fixed constants or arguments, and the storage's time is
//! its own (only the bound on a read the test made hang is the wall clock's, as a hang detector).

pub mod claims;
pub mod document;
pub mod etcd;
pub mod storage;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use hmac::{KeyInit, Mac};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Number, Value};

use base64ct::{Base64UrlUnpadded, Encoding};
use tokenring::limits::{
    AUDIENCES_MAX, CLAIMS_MEMBERS_MAX, DURATION_SECS_MAX, HEADER_LEN_MAX, HEADER_MEMBERS_MAX, JSON_DEPTH_MAX,
    KEY_LEN_MAX, KEY_LEN_MIN, KID_LEN_MAX, LEEWAY_SECS_DEFAULT, TOKEN_LEN_MAX,
};
use tokenring::{Key, KeyError, KeyRing, Kid, Rejection, Scratch, SignError, Validation, Verified};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The time at which the fixed ring is used, in seconds since the epoch (2023-11-14).
pub const NOW_SECS: u64 = 1_700_000_000;

/// Distance from the harness's clock within which `exp` and `nbf` are treated as ambiguous by
/// [`differential`]: the reference implementation reads the wall clock, which moves while a
/// campaign runs, so only times a day or more away from the start are compared.
pub const CLOCK_WINDOW_SECS: u64 = 24 * 60 * 60;

/// One key of the fixed ring.
struct FixtureKey {
    kid: &'static str,
    secret: [u8; 32],
    created_secs: u64,
    retire_at_secs: Option<u64>,
}

/// The fixed ring used by [`verify`] and [`header`], at [`NOW_SECS`]: an active key, a
/// verification-only previous key, a key that is held but already retired, and one more
/// identifier the ring remembers issuing but no longer holds.
///
/// The first two secrets are the Wycheproof HS256 keys (`kid-aes-sign` and `hs256-key`), so that
/// the Wycheproof tokens in the seed corpus reach the MAC check and beyond.
const FIXTURE_KEYS: [FixtureKey; 3] = [
    FixtureKey {
        kid: "kid-aes-sign",
        secret: [
            0xf9, 0xe6, 0xee, 0x0c, 0xdb, 0x15, 0x67, 0x68, 0x89, 0xb6, 0x86, 0x7e, 0x6a, 0x47, 0xd7, 0x4d, 0x20, 0xad,
            0xe1, 0x43, 0xb6, 0x72, 0xbb, 0x8b, 0x0a, 0xc6, 0xd6, 0x94, 0x18, 0xa7, 0x82, 0x01,
        ],
        created_secs: 1_690_000_000,
        retire_at_secs: None,
    },
    FixtureKey { kid: "hs256-key", secret: [0; 32], created_secs: 1_600_000_000, retire_at_secs: Some(1_800_000_000) },
    FixtureKey {
        kid: "old-key",
        secret: *b"old-key-old-key-old-key-old-key-",
        created_secs: 1_500_000_000,
        retire_at_secs: Some(1_600_000_000),
    },
];

/// When the fixed ring's retiring and retired keys are forgotten: long after [`NOW_SECS`].
const FIXTURE_FORGET_AT: u64 = 1_900_000_000;

/// An identifier the fixed ring issued and has forgotten the key of.
const FORGOTTEN_KID: &str = "forgotten-key";

/// The payload [`header`] signs under every header: a valid claims set.
const HEADER_PAYLOAD: &[u8] = br#"{"sub":"fuzz","exp":4102444800}"#;

struct Fixture {
    ring: KeyRing,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut document = String::from("{\"keys\":[");
        for (index, key) in FIXTURE_KEYS.iter().enumerate() {
            if index > 0 {
                document.push(',');
            }
            document.push_str(r#"{"kty":"oct","alg":"HS256","kid":""#);
            document.push_str(key.kid);
            document.push_str(r#"","k":""#);
            encode_base64url(&key.secret, &mut document);
            document.push_str(&format!(r#"","created_at":{}"#, key.created_secs));
            if let Some(retire_at) = key.retire_at_secs {
                // Held until well after NOW_SECS: a retired key still classifies its tokens.
                document.push_str(&format!(r#","retire_at":{retire_at},"forget_at":{FIXTURE_FORGET_AT}"#));
            }
            document.push('}');
        }
        document.push_str(&format!(r#"],"issued_kids":["{FORGOTTEN_KID}"]}}"#));
        let ring = match KeyRing::from_jwk_set(document.as_bytes()) {
            Ok(ring) => ring,
            Err(error) => panic!("the fixture key set does not load: {error}"),
        };
        assert_eq!(ring.active_kid(NOW_SECS).map(|kid| kid.to_string()).as_deref(), Some(FIXTURE_KEYS[0].kid));
        Fixture { ring }
    })
}

/// HMAC-SHA256 of `message` under `secret`, computed directly with the `hmac` crate.
pub fn hs256(secret: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => panic!("HMAC accepts keys of every length"),
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 keyed once and cloned per message, as the library computes every MAC (the
/// `hmac` crate from a pre-keyed state). For timing harnesses, whose floor must cost what the
/// library's MAC costs. [`hs256`] keys a fresh MAC per message.
#[derive(Clone)]
pub struct PrekeyedMac(HmacSha256);

impl core::fmt::Debug for PrekeyedMac {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PrekeyedMac { .. }")
    }
}

impl PrekeyedMac {
    /// Keys the MAC with `secret`, of any length; `None` if the `hmac` crate refused the key,
    /// which it never does.
    pub fn new(secret: &[u8]) -> Option<Self> {
        HmacSha256::new_from_slice(secret).ok().map(Self)
    }

    /// The HMAC-SHA256 tag of `message`.
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        self.0.clone().chain_update(message).finalize().into_bytes().into()
    }
}

/// `base64url(header).base64url(payload).base64url(HS256 tag)`: a compact JWS signed with
/// `secret`, whatever the header and payload bytes are.
pub fn sign_compact(secret: &[u8], header: &[u8], payload: &[u8]) -> String {
    let mut token = String::new();
    encode_base64url(header, &mut token);
    token.push('.');
    encode_base64url(payload, &mut token);
    let tag = hs256(secret, token.as_bytes());
    token.push('.');
    encode_base64url(&tag, &mut token);
    token
}

/// Appends the base64url encoding of `bytes` (canonical, unpadded) to `out`.
pub fn encode_base64url(bytes: &[u8], out: &mut String) {
    out.push_str(&Base64UrlUnpadded::encode_string(bytes));
}

/// Compares two HS256 tags in constant time, through `subtle`, as the verifier's
/// `Mac::verify_slice` does.
pub fn mac_compare(expected: &[u8; 32], actual: &[u8; 32]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &actual[..]))
}

/// A strict base64url decoder written independently of the one the verifier uses: the
/// URL-safe alphabet only, no padding, no whitespace, and unused trailing bits must be zero.
fn decode_strict(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut accumulator: u32 = 0;
    let mut bits = 0u32;
    for &character in text {
        let value = match character {
            b'A'..=b'Z' => character - b'A',
            b'a'..=b'z' => character - b'a' + 26,
            b'0'..=b'9' => character - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        accumulator = (accumulator << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((accumulator >> bits) as u8);
            accumulator &= (1 << bits) - 1;
        }
    }
    // Whatever is left over is padding bits, which a canonical encoding leaves at zero.
    (accumulator == 0).then_some(out)
}

/// The three segments of a compact token, split on exactly two dots.
fn segments(token: &[u8]) -> Option<[&[u8]; 3]> {
    let mut parts = token.split(|&byte| byte == b'.');
    let segments = [parts.next()?, parts.next()?, parts.next()?];
    parts.next().is_none().then_some(segments)
}

/// The top-level members of a JSON object in document order, duplicates included.
struct Members(Vec<(String, Value)>);

impl<'de> de::Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    members.push((name, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// Nesting depth of arrays and objects, measured while parsing so that repeated member names
/// (which `serde_json::Value` would collapse) count: a scalar is 0, `{}` is 1. The flag tells
/// whether any object, at any depth, repeats a member name.
struct Depth(usize, bool);

impl<'de> de::Deserialize<'de> for Depth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DepthVisitor;
        impl<'de> Visitor<'de> for DepthVisitor {
            type Value = Depth;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Depth, E> {
                Ok(Depth(0, false))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Depth, E> {
                Ok(Depth(0, false))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Depth, E> {
                Ok(Depth(0, false))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Depth, E> {
                Ok(Depth(0, false))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Depth, E> {
                Ok(Depth(0, false))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Depth, E> {
                Ok(Depth(0, false))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Depth, A::Error> {
                let (mut deepest, mut repeats) = (0, false);
                while let Some(Depth(depth, inner)) = seq.next_element()? {
                    deepest = deepest.max(depth);
                    repeats |= inner;
                }
                Ok(Depth(deepest + 1, repeats))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Depth, A::Error> {
                let (mut deepest, mut repeats, mut names) = (0, false, BTreeSet::new());
                while let Some((name, Depth(depth, inner))) = map.next_entry::<String, Depth>()? {
                    deepest = deepest.max(depth);
                    repeats |= inner || !names.insert(name);
                }
                Ok(Depth(deepest + 1, repeats))
            }
        }
        deserializer.deserialize_any(DepthVisitor)
    }
}

/// How a JSON document relates to the parser's rules, as far as the model needs to know.
enum Parsed {
    /// Not JSON at all (or nested beyond `serde_json`'s own recursion limit).
    Invalid,
    /// Valid JSON nested deeper than [`JSON_DEPTH_MAX`].
    TooDeep,
    /// Valid JSON within the depth limit that is not an object.
    NotAnObject,
    /// An object within the depth limit, with its members in order.
    Object(Vec<(String, Value)>),
}

fn parse_model(json: &[u8]) -> Parsed {
    let Ok(value) = serde_json::from_slice::<Value>(json) else { return Parsed::Invalid };
    let Ok(Depth(depth, _)) = serde_json::from_slice::<Depth>(json) else { return Parsed::Invalid };
    if depth > JSON_DEPTH_MAX {
        return Parsed::TooDeep;
    }
    if !value.is_object() {
        return Parsed::NotAnObject;
    }
    match serde_json::from_slice::<Members>(json) {
        Ok(Members(members)) => Parsed::Object(members),
        Err(_) => Parsed::Invalid,
    }
}

/// Whether any object in `json`, at any depth, repeats a member name (`false` for what is not
/// JSON).
fn repeats_anywhere(json: &[u8]) -> bool {
    matches!(serde_json::from_slice::<Depth>(json), Ok(Depth(_, true)))
}

/// Whether `members` repeats a name, and how many distinct names it has.
fn name_census(members: &[(String, Value)]) -> (bool, usize) {
    let mut seen = BTreeSet::new();
    let mut repeated = false;
    for (name, _) in members {
        repeated |= !seen.insert(name.as_str());
    }
    (repeated, seen.len())
}

/// Notes the name divergences of an object read from `json`: a name repeated at any depth, or
/// more than `members_max` distinct names.
fn note_name_divergences(
    found: &mut BTreeSet<Divergence>,
    members: &[(String, Value)],
    json: &[u8],
    members_max: usize,
) {
    let (repeated, distinct) = name_census(members);
    if repeated || repeats_anywhere(json) {
        found.insert(Divergence::DuplicateMember);
    }
    if distinct > members_max {
        found.insert(Divergence::TooManyMembers);
    }
}

/// Every rule a decoded header breaks, as the rejection codes that may report it. Empty when
/// the header is acceptable.
fn header_faults(header: &[u8]) -> BTreeSet<&'static str> {
    let mut faults = BTreeSet::new();
    if header.is_empty() {
        faults.insert("malformed");
        return faults;
    }
    if header.len() > HEADER_LEN_MAX {
        faults.insert("too-large");
        return faults;
    }
    let members = match parse_model(header) {
        // The depth pre-scan may stop invalid JSON before the parser does, and the streaming
        // parser reports a bad member before a syntax error further on.
        Parsed::Invalid => {
            return BTreeSet::from(["malformed", "too-large", "unsupported-algorithm", "unsupported-header"])
        }
        // The verifier reports the first fault it reads: a repeated name before the deep part
        // is malformed.
        Parsed::TooDeep => return BTreeSet::from(["too-large", "malformed"]),
        Parsed::NotAnObject => return BTreeSet::from(["malformed"]),
        Parsed::Object(members) => members,
    };
    let (repeated, distinct) = name_census(&members);
    if repeated || repeats_anywhere(header) {
        faults.insert("malformed");
    }
    if distinct > HEADER_MEMBERS_MAX {
        faults.insert("too-large");
    }
    if !members.iter().any(|(name, _)| name == "alg") {
        faults.insert("malformed");
    }
    for (name, value) in &members {
        match (name.as_str(), value) {
            ("alg", Value::String(alg)) if alg == "HS256" => {}
            ("alg", _) => {
                faults.insert("unsupported-algorithm");
            }
            ("kid", Value::String(kid)) if kid.len() > KID_LEN_MAX => {
                faults.insert("too-large");
            }
            ("kid", Value::String(_)) => {}
            ("kid" | "typ" | "cty", _) if !value.is_string() => {
                faults.insert("malformed");
            }
            ("crit", _) => {
                faults.insert("unsupported-header");
            }
            ("b64", Value::Bool(true)) => {}
            ("b64", _) => {
                faults.insert("unsupported-header");
            }
            _ => {}
        }
    }
    faults
}

/// The header's `kid`, for a header without faults.
fn header_kid(header: &[u8]) -> Option<String> {
    match parse_model(header) {
        Parsed::Object(members) => members.into_iter().find_map(|(name, value)| match (name.as_str(), value) {
            ("kid", Value::String(kid)) => Some(kid),
            _ => None,
        }),
        _ => None,
    }
}

/// Whether `json` could be text the core refuses before parsing (finding F1, fixed): it has
/// invalid UTF-8 anywhere, or a surrogate escape anywhere (a coarse superset of the lone
/// surrogates the core refuses). Used only to classify differential disagreements.
fn invalid_text_possible(json: &[u8]) -> bool {
    let surrogate_escape = json.windows(4).any(|window| {
        window[0] == b'\\'
            && window[1] == b'u'
            && window[2].eq_ignore_ascii_case(&b'd')
            && matches!(window[3].to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f')
    });
    surrogate_escape || core::str::from_utf8(json).is_err()
}

fn outcome_code<T>(outcome: &Result<T, Rejection>) -> &'static str {
    match outcome {
        Ok(_) => "accepted",
        Err(rejection) => rejection.code(),
    }
}

/// Checks that a rejection's `Display` and `Debug` carry nothing of the token beyond what a
/// `&'static str` could: in particular never its signature segment.
fn assert_redacted(rejection: &Rejection, token: &[u8]) {
    let display = rejection.to_string();
    let debug = format!("{rejection:?}");
    if let Some(dot) = token.iter().rposition(|&byte| byte == b'.') {
        let signature = &token[dot + 1..];
        // Only a segment shaped like a real signature counts: a short or spaced one can be a
        // piece of a fixed explanation by chance.
        if signature.len() >= 16 && decode_strict(signature).is_some() {
            for text in [&display, &debug] {
                assert!(
                    !text.as_bytes().windows(signature.len()).any(|window| window == signature),
                    "a rejection prints the token's signature"
                );
            }
        }
    }
    assert!(Rejection::CODES.contains(&rejection.code()));
}

/// Verifies `token` against the fixed ring at [`NOW_SECS`] through every entry point and checks
/// that they agree and that whatever is accepted is authentic.
///
/// Properties: no panic; [`KeyRing::verify`], [`KeyRing::verify_borrowed`] and
/// [`KeyRing::verify_jws`] give the same verdict on the signature; a token accepted by any of
/// them has three canonical base64url segments and a signature that is the HMAC, under an
/// unretired ring key, of the first two segments as received; accepted claims are the payload's
/// JSON object, re-verify identically and re-serialize; no rejection prints the signature.
pub fn verify(token: &[u8]) {
    let ring = &fixture().ring;
    let validation = Validation::new();
    let owned = ring.verify::<Value>(token, &validation, NOW_SECS);
    let mut scratch = Scratch::new();
    let borrowed = ring.verify_borrowed::<Value>(token, &validation, &mut scratch, NOW_SECS);
    assert_eq!(outcome_code(&owned), outcome_code(&borrowed), "verify and verify_borrowed disagree");
    let mut jws_scratch = Scratch::new();
    let jws = ring.verify_jws(token, &mut jws_scratch, NOW_SECS);

    match &jws {
        Err(rejection) => {
            assert_redacted(rejection, token);
            // The JWS layer rejects only on structure, header, key and signature, which the JWT
            // layer checks first and identically.
            assert_eq!(owned.as_ref().err(), Some(rejection), "verify_jws rejects what verify does not");
        }
        Ok(verified) => {
            let Some([header_b64, payload_b64, signature_b64]) = segments(token) else {
                panic!("accepted a token that does not have three segments")
            };
            let Some(header) = decode_strict(header_b64) else { panic!("accepted a non-canonical header segment") };
            assert!(header_faults(&header).is_empty(), "accepted a header that breaks the header rules");
            let payload = decode_strict(payload_b64);
            assert_eq!(payload.as_deref(), Some(*verified.claims()), "the payload is not the segment decoded");
            let Some(signature) = decode_strict(signature_b64) else {
                panic!("accepted a non-canonical signature segment")
            };
            let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
            let kid = verified.kid().map(Kid::as_str);
            let Some(key) = FIXTURE_KEYS.iter().find(|key| Some(key.kid) == kid) else {
                panic!("accepted under a kid the ring does not hold")
            };
            assert!(key.retire_at_secs.is_none_or(|retire_at| retire_at > NOW_SECS), "accepted under a retired key");
            assert_eq!(signature.as_slice(), hs256(&key.secret, signing_input), "accepted a wrong MAC");
        }
    }

    // `known_kid` names only identifiers the ring chose, the one the header names, and the key
    // of every accepted token whose header names one.
    let known = ring.known_kid(token);
    let header = token.split(|&byte| byte == b'.').next().and_then(decode_strict);
    let named = header.as_deref().and_then(header_kid);
    if let Some(kid) = &known {
        let chosen = FIXTURE_KEYS.iter().any(|key| key.kid == kid.as_str()) || kid.as_str() == FORGOTTEN_KID;
        assert!(chosen, "known_kid named an identifier the ring never had");
        assert_eq!(named.as_deref(), Some(kid.as_str()), "known_kid named another kid than the header");
    }
    if let (Ok(verified), Some(_)) = (&jws, &named) {
        assert_eq!(known.as_ref(), verified.kid(), "known_kid missed the kid of an accepted token");
    }

    if let Err(rejection) = &owned {
        assert_redacted(rejection, token);
    }
    if let Ok(verified) = &owned {
        let Ok(jws) = &jws else { panic!("verify accepted what verify_jws rejects") };
        let payload: Value = match serde_json::from_slice(jws.claims()) {
            Ok(payload) => payload,
            Err(_) => panic!("accepted claims that are not JSON"),
        };
        assert!(payload.is_object(), "accepted claims that are not an object");
        assert_eq!(verified.claims(), &payload, "the claims are not the payload");
        let Ok(from_borrowed) = &borrowed else { unreachable!("codes compared above") };
        assert_eq!(from_borrowed.claims(), verified.claims(), "borrowed and owned claims differ");
        assert!(serde_json::to_vec(verified.claims()).is_ok(), "accepted claims do not re-serialize");
        let again = ring.verify::<Value>(token, &validation, NOW_SECS);
        assert_eq!(again.ok().map(Verified::into_claims).as_ref(), Some(verified.claims()), "verify is not repeatable");
        let exp = verified.expires_at().unwrap_or(0);
        assert!(exp.saturating_add(LEEWAY_SECS_DEFAULT) > NOW_SECS, "accepted an expired token");
    }
}

/// The token codec (tokenring's base64url tables, reached through its public API) against
/// `base64ct` on `data`, as a payload segment to decode and as a payload to encode.
///
/// Properties: [`Unverified::payload`](tokenring::Unverified::payload) decodes `data` exactly
/// when `base64ct` does, to the same bytes; the payload segment of
/// [`KeyRing::sign_jws`] of `data` is `base64ct`'s encoding of it, written after the header
/// (an offset the in-place encoding must respect); and
/// [`KeyRing::verify_jws`] gives `data` back. Input holding a dot cannot be one segment and is
/// only encoded (the decoding tables' answer for a dot, as for every byte, is covered by the
/// library's own exhaustive test).
///
/// # Panics
/// When a property does not hold.
pub fn base64url(data: &[u8]) {
    if !data.contains(&b'.') {
        let token = [&b"e30."[..], data, b"."].concat();
        if let Ok(unverified) = tokenring::Unverified::parse(&token) {
            let mut expected = vec![0u8; data.len() / 4 * 3 + 3];
            let expected = Base64UrlUnpadded::decode(data, &mut expected).map(<[u8]>::to_vec).ok();
            assert_eq!(unverified.payload().ok(), expected, "decoding differs from base64ct");
        }
    }
    let ring = codec_ring();
    let Ok(token) = ring.sign_jws(data, NOW_SECS) else { return };
    let payload_b64 = token.split('.').nth(1).unwrap_or_default();
    assert_eq!(payload_b64, Base64UrlUnpadded::encode_string(data), "encoding differs from base64ct");
    let mut scratch = Scratch::new();
    let verified = ring.verify_jws(&token, &mut scratch, NOW_SECS);
    assert_eq!(verified.ok().map(|verified| verified.claims().to_vec()).as_deref(), Some(data), "no round trip");
}

/// A ring of one fixed key, for [`base64url`].
fn codec_ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| {
        let key = Key::from_bytes(&[0x5a; 32]).expect("a 256-bit key");
        KeyRing::with_key(key, Kid::new("codec").ok(), NOW_SECS)
    })
}

/// Signs `data[1..]` as the decoded header of a token (with a fixed valid payload) under the
/// fixed ring key that `data[0]` picks, so that the MAC holds and the header rules decide.
///
/// Property: the token is accepted exactly when a model of the header rules, written over
/// `serde_json::Value`, finds no fault and the `kid` (or its absence) leads to the signing key
/// while that key is not retired; a rejection carries one of the codes the model allows.
pub fn header(data: &[u8]) {
    let Some((&selector, header)) = data.split_first() else { return };
    let signer = &FIXTURE_KEYS[usize::from(selector) % FIXTURE_KEYS.len()];
    let token = sign_compact(&signer.secret, header, HEADER_PAYLOAD);
    let mut scratch = Scratch::new();
    let outcome = fixture().ring.verify_jws(&token, &mut scratch, NOW_SECS);

    let signer_retired = signer.retire_at_secs.is_some_and(|retire_at| retire_at <= NOW_SECS);
    let mut allowed = if token.len() > TOKEN_LEN_MAX { BTreeSet::from(["too-large"]) } else { header_faults(header) };
    let expected_kid = if !allowed.is_empty() {
        None
    } else {
        match header_kid(header) {
            // Without a kid only keys that can still verify a live token are tried (issue 23):
            // a retired signer's token finds no key.
            None if signer_retired => {
                allowed.insert("bad-signature");
                None
            }
            // Otherwise only the signer's MAC matches.
            None => Some(signer.kid),
            Some(kid) if kid == signer.kid => Some(signer.kid),
            Some(kid) if FIXTURE_KEYS.iter().any(|key| key.kid == kid) => {
                allowed.insert("bad-signature");
                None
            }
            Some(kid) if kid == FORGOTTEN_KID => {
                allowed.insert("forgotten-key");
                None
            }
            Some(_) => {
                allowed.insert("unknown-key");
                None
            }
        }
    };
    let expected_kid = match expected_kid {
        Some(_) if signer_retired => {
            allowed.insert("retired-key");
            None
        }
        other => other,
    };
    match (&outcome, expected_kid) {
        (Ok(verified), Some(kid)) => {
            assert_eq!(verified.kid().map(Kid::as_str), Some(kid), "accepted under the wrong key");
            assert_eq!(*verified.claims(), HEADER_PAYLOAD);
        }
        (Ok(_), None) => panic!("accepted a header the model rejects with one of {allowed:?}"),
        (Err(rejection), Some(_)) => panic!("rejected ({}) a header the model accepts", rejection.code()),
        (Err(rejection), None) => {
            assert!(
                allowed.contains(rejection.code()),
                "rejected with {}, expected one of {allowed:?}",
                rejection.code()
            )
        }
    }
}

/// A claim value for [`roundtrip`]: the JSON shapes a claims set carries.
#[derive(Debug, Clone)]
pub enum ClaimValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer.
    Unsigned(u64),
    /// An integer.
    Signed(i64),
    /// A number with a fraction or exponent; non-finite values become `null`.
    Float(f64),
    /// A string.
    Text(String),
    /// An array of strings.
    Texts(Vec<String>),
}

impl ClaimValue {
    fn to_json(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(value) => Value::Bool(*value),
            Self::Unsigned(value) => Value::from(*value),
            Self::Signed(value) => Value::from(*value),
            Self::Float(value) => Number::from_f64(*value).map_or(Value::Null, Value::Number),
            Self::Text(text) => Value::String(text.clone()),
            Self::Texts(texts) => Value::Array(texts.iter().cloned().map(Value::String).collect()),
        }
    }
}

/// Input of [`roundtrip`].
#[derive(Debug, Clone)]
pub struct RoundtripCase {
    /// The key's secret; 32 to 64 bytes makes a usable key.
    pub secret: Vec<u8>,
    /// The key identifier, used when it is a valid [`Kid`].
    pub kid: Option<String>,
    /// Claims, in order; a later member with the same name replaces an earlier one.
    pub claims: Vec<(String, ClaimValue)>,
    /// Issue and verification time, in seconds since the epoch. Keep it below 2^52, where
    /// every integer second is exact in the `f64` the time checks use.
    pub now_secs: u64,
    /// Time to live, in seconds.
    pub ttl_secs: u64,
    /// Where to change one byte of the issued token (taken modulo its length).
    pub flip_position: usize,
    /// What to change that byte to (or, if it already is that, to the next value).
    pub flip_to: u8,
}

/// Issues a token for arbitrary claims under an arbitrary key and verifies it.
///
/// Properties: [`KeyRing::issue`] fails exactly when the claims break a rule (registered time
/// claims supplied, a wrongly typed `iss` or `aud`, too many members or audiences, a token over
/// the length limit, a time-to-live over the limit), with the matching error; otherwise the
/// token verifies, owned and borrowed, to exactly the claims plus `iat`, `nbf` and `exp`; and a
/// copy with any single byte changed is rejected.
pub fn roundtrip(case: &RoundtripCase) {
    let key = match Key::from_bytes(&case.secret) {
        Ok(key) => key,
        Err(error) => {
            let length = case.secret.len();
            assert!(!(KEY_LEN_MIN..=KEY_LEN_MAX).contains(&length), "refused a {length}-byte key: {error}");
            assert!(matches!(error, KeyError::TooShort { .. } | KeyError::TooLong { .. }));
            return;
        }
    };
    let kid = case.kid.as_deref().and_then(|kid| Kid::new(kid).ok());
    let ring = KeyRing::with_key(key, kid, case.now_secs);
    let mut claims = Map::new();
    for (name, value) in &case.claims {
        claims.insert(name.clone(), value.to_json());
    }

    // Which failures the claims call for; none means issuing must succeed.
    let mut allowed: Vec<SignError> = Vec::new();
    if case.ttl_secs > DURATION_SECS_MAX {
        allowed.push(SignError::DurationTooLong { secs: case.ttl_secs });
    }
    if case.now_secs.checked_add(case.ttl_secs).is_none() {
        allowed.push(SignError::TimeOverflow);
    }
    // Times the claims carry are kept when they are in bounds, refused by name otherwise.
    let mut given = [None; 3];
    for (slot, name) in ["iat", "nbf", "exp"].into_iter().enumerate() {
        let Some(value) = claims.get(name) else { continue };
        match time_of(value, name == "iat") {
            Some(secs) => given[slot] = Some(secs),
            None => allowed.push(SignError::InvalidClaim(name)),
        }
    }
    if let Some(exp_max) = case.now_secs.checked_add(case.ttl_secs) {
        let [iat, nbf, exp] = given;
        if exp.is_some_and(|exp| exp < case.now_secs || exp > exp_max) {
            allowed.push(SignError::TimeClaim("exp"));
        }
        if iat.is_some_and(|iat| iat > case.now_secs) {
            allowed.push(SignError::TimeClaim("iat"));
        }
        if nbf.is_some_and(|nbf| nbf >= exp.unwrap_or(exp_max)) {
            allowed.push(SignError::TimeClaim("nbf"));
        }
    }
    if claims.get("iss").is_some_and(|iss| !iss.is_string()) {
        allowed.push(SignError::InvalidClaim("iss"));
    }
    let mut audience = None;
    match claims.get("aud") {
        None => {}
        Some(Value::String(aud)) => audience = Some(aud.clone()),
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => {
            if list.len() > AUDIENCES_MAX {
                allowed.push(SignError::TooLarge);
            }
            audience = list.first().and_then(Value::as_str).map(str::to_owned);
        }
        Some(Value::Array(list)) => {
            if list.len() > AUDIENCES_MAX {
                allowed.push(SignError::TooLarge);
            }
            allowed.push(SignError::InvalidClaim("aud"));
        }
        Some(_) => allowed.push(SignError::InvalidClaim("aud")),
    }
    if claims.len() + 3 > CLAIMS_MEMBERS_MAX {
        allowed.push(SignError::TooLarge);
    }
    let body_len = serde_json::to_vec(&claims).map_or(0, |body| body.len());
    // The payload is the claims plus the three time claims (about 90 bytes); the header adds
    // at most 130 encoded bytes and the signature 44. Near the limit, either outcome is right.
    let encoded_payload_len = (body_len + 90).div_ceil(3) * 4;
    if encoded_payload_len + 44 + 1 + 130 > TOKEN_LEN_MAX {
        allowed.push(SignError::TooLarge);
    }

    let token = match ring.issue(&claims, case.ttl_secs, case.now_secs) {
        Ok(token) => {
            assert!(
                allowed.iter().all(|error| *error == SignError::TooLarge),
                "issued claims that call for one of {allowed:?}"
            );
            token
        }
        Err(error) => {
            assert!(allowed.contains(&error), "issue failed with {error:?}, allowed {allowed:?}");
            return;
        }
    };
    assert!(token.len() <= TOKEN_LEN_MAX, "issued a token over the length limit");

    // Issued, so `now + ttl` did not overflow and the claims' own times are numbers in bounds.
    let [iat, nbf, exp] = given;
    let (iat, nbf, exp) =
        (iat.unwrap_or(case.now_secs), nbf.unwrap_or(case.now_secs), exp.unwrap_or(case.now_secs + case.ttl_secs));
    // The claims as JSON reads them back: `serde_json` without its `float_roundtrip` feature
    // may parse a float one unit in the last place away from the one it printed, and that is
    // the JSON layer's doing, not the verifier's.
    let claims: Map<String, Value> = match serde_json::to_vec(&claims).map(|text| serde_json::from_slice(&text)) {
        Ok(Ok(reread)) => reread,
        _ => panic!("claims do not survive serde_json alone"),
    };
    let mut expected = claims.clone();
    expected.entry("iat").or_insert(Value::from(case.now_secs));
    expected.entry("nbf").or_insert(Value::from(case.now_secs));
    expected.entry("exp").or_insert(Value::from(exp));
    let expected = Value::Object(expected);

    let mut validation = Validation::new().leeway_secs(0);
    if let Some(Value::String(iss)) = claims.get("iss") {
        validation = validation.issuer(iss.clone());
    }
    // Rejections the claims call for; with several, the verifier may report any one of them.
    let mut expected_rejections = Vec::new();
    if claims.contains_key("aud") && audience.is_none() {
        // An empty `aud` array names no audience, so none can be configured to match it.
        validation = validation.audience("any");
        expected_rejections.push(Rejection::WrongAudience);
    }
    if case.now_secs >= exp {
        expected_rejections.push(Rejection::Expired);
    }
    if nbf > case.now_secs {
        expected_rejections.push(Rejection::NotYetValid);
    }
    if let Some(audience) = audience {
        validation = validation.audience(audience);
    }
    let owned = ring.verify::<Value>(&token, &validation, case.now_secs);
    let mut scratch = Scratch::new();
    let borrowed = ring.verify_borrowed::<Value>(&token, &validation, &mut scratch, case.now_secs);
    if !expected_rejections.is_empty() {
        for outcome in [owned.map(|_| ()), borrowed.map(|_| ())] {
            match outcome {
                Ok(()) => panic!("accepted claims that call for one of {expected_rejections:?}"),
                Err(rejection) => assert!(expected_rejections.contains(&rejection), "{rejection:?}"),
            }
        }
    } else {
        for verified in [owned, borrowed] {
            let verified = match verified {
                Ok(verified) => verified,
                Err(rejection) => panic!("an issued token is rejected: {rejection}"),
            };
            assert_eq!(verified.kid(), kid.as_ref());
            assert_eq!(verified.expires_at(), Some(exp));
            assert_eq!(verified.issued_at(), Some(iat));
            assert_eq!(verified.not_before(), Some(nbf));
            assert_eq!(verified.claims(), &expected, "the claims did not round-trip");
        }
    }

    let mut changed = token.into_bytes();
    let position = case.flip_position % changed.len();
    changed[position] = if changed[position] == case.flip_to { case.flip_to.wrapping_add(1) } else { case.flip_to };
    let outcome = ring.verify::<Value>(&changed, &validation, case.now_secs);
    assert!(outcome.is_err(), "a token with byte {position} changed is accepted");
    let jws = ring.verify_jws(&changed, &mut scratch, case.now_secs);
    assert!(jws.is_err(), "a JWS with byte {position} changed is accepted");
}

/// A time claim's value in whole seconds as the verifier reads it (`iat` rounded down, the
/// others up), or `None` for a value that is not a time.
fn time_of(value: &Value, round_down: bool) -> Option<u64> {
    let Value::Number(number) = value else { return None };
    if let Some(secs) = number.as_u64() {
        return Some(secs);
    }
    let secs = number.as_f64().filter(|secs| (0.0..18_446_744_073_709_551_616.0).contains(secs))?;
    // In range: the conversion is exact for a whole number.
    Some(if round_down { secs.floor() } else { secs.ceil() } as u64)
}

/// Loads `document` as a JWK Set.
///
/// Properties: no panic, an error or a ring; a loaded ring holds at most the limits' numbers of
/// keys and identifiers, lists every key it holds among its issued identifiers, and survives
/// `to_jwk_set` then `from_jwk_set` unchanged (same document, keys, states, history, and the
/// reloaded ring verifies what the first one signs).
pub fn jwks(document: &[u8]) {
    let ring = match KeyRing::from_jwk_set(document) {
        Ok(ring) => ring,
        Err(error) => {
            let display = error.to_string();
            assert!(display.len() < 200, "a key set error prints {} bytes", display.len());
            return;
        }
    };
    let infos = ring.keys(NOW_SECS);
    assert!(!infos.is_empty() && infos.len() <= tokenring::limits::KEYS_PER_RING_MAX);
    assert!(ring.issued_kids().len() <= tokenring::limits::ISSUED_KIDS_MAX);
    for info in &infos {
        if let Some(kid) = info.kid {
            assert!(ring.issued_kids().contains(&kid), "a held key is missing from the issued history");
        }
    }
    let active = infos.iter().filter(|info| info.state == tokenring::KeyState::Active).count();
    assert_eq!(active, usize::from(ring.can_sign(NOW_SECS)));

    let first = ring.to_jwk_set();
    let again = match KeyRing::from_jwk_set(first.as_bytes()) {
        Ok(again) => again,
        Err(error) => panic!("a ring's own JWK Set does not load: {error}"),
    };
    assert_eq!(*first, *again.to_jwk_set(), "the JWK Set changed on a round trip");
    assert_eq!(infos, again.keys(NOW_SECS));
    assert_eq!(ring.issued_kids(), again.issued_kids());
    assert_eq!(ring.active_kid(NOW_SECS), again.active_kid(NOW_SECS));
    if ring.can_sign(NOW_SECS) {
        let token = match ring.issue(&Map::new(), 60, NOW_SECS) {
            Ok(token) => token,
            Err(error) => panic!("the active key cannot sign: {error}"),
        };
        let mut scratch = Scratch::new();
        assert!(again.verify_jws(&token, &mut scratch, NOW_SECS).is_ok(), "the reloaded ring lost a secret");
    }
}

/// Where a [`DifferentialCase`] bends the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// The header segment.
    Header,
    /// The payload segment.
    Payload,
    /// The signature segment.
    Signature,
}

/// A deliberate encoding fault, applied before signing (header, payload) or after (signature),
/// so that the MAC still holds over the bytes as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingTweak {
    /// Canonical encoding.
    None,
    /// `=` padding appended.
    Pad(Segment),
    /// An unused trailing bit set in the last character.
    TrailingBits(Segment),
    /// `-` and `_` replaced by the standard alphabet's `+` and `/`.
    StandardAlphabet(Segment),
    /// A space inserted at a position (modulo the length).
    Space(Segment, usize),
}

/// Input of [`differential`]: a token described by its parts.
#[derive(Debug, Clone)]
pub struct DifferentialCase {
    /// The key both implementations are given.
    pub secret: Vec<u8>,
    /// Header members as name and raw JSON value text, in order, repeats allowed.
    pub header: Vec<(String, String)>,
    /// Claims members as name and raw JSON value text, in order, repeats allowed.
    pub claims: Vec<(String, String)>,
    /// Header bytes to use instead of the members.
    pub header_raw: Option<Vec<u8>>,
    /// Payload bytes to use instead of the members.
    pub payload_raw: Option<Vec<u8>>,
    /// An encoding fault.
    pub tweak: EncodingTweak,
    /// Sign with a different key than the one the verifiers hold.
    pub wrong_key: bool,
    /// Change the byte at a position (modulo the token length) after signing.
    pub mutation: Option<(usize, u8)>,
}

fn object_text(members: &[(String, String)]) -> Vec<u8> {
    let mut text = String::from("{");
    for (index, (name, value)) in members.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        text.push_str(&Value::String(name.clone()).to_string());
        text.push(':');
        text.push_str(value);
    }
    text.push('}');
    text.into_bytes()
}

fn tweak_segment(segment: &mut String, tweak: EncodingTweak, which: Segment) {
    match tweak {
        EncodingTweak::Pad(target) if target == which => {
            while !segment.len().is_multiple_of(4) {
                segment.push('=');
            }
            if segment.is_empty() || segment.ends_with(|c: char| c != '=') {
                segment.push_str("====");
            }
        }
        EncodingTweak::TrailingBits(target) if target == which && segment.len() % 4 >= 2 => {
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            if let Some(last) = segment.pop() {
                let value = alphabet.iter().position(|&c| char::from(c) == last).unwrap_or(0);
                segment.push(char::from(alphabet[value | 1]));
            }
        }
        EncodingTweak::StandardAlphabet(target) if target == which => {
            *segment = segment.replace('-', "+").replace('_', "/");
        }
        EncodingTweak::Space(target, position) if target == which => {
            let at = position % (segment.len() + 1);
            segment.insert(at, ' ');
        }
        _ => {}
    }
}

/// Builds the token a [`DifferentialCase`] describes.
pub fn differential_token(case: &DifferentialCase) -> Vec<u8> {
    let header = case.header_raw.clone().unwrap_or_else(|| object_text(&case.header));
    let payload = case.payload_raw.clone().unwrap_or_else(|| object_text(&case.claims));
    let mut header_b64 = String::new();
    encode_base64url(&header, &mut header_b64);
    tweak_segment(&mut header_b64, case.tweak, Segment::Header);
    let mut payload_b64 = String::new();
    encode_base64url(&payload, &mut payload_b64);
    tweak_segment(&mut payload_b64, case.tweak, Segment::Payload);
    let signing_input = format!("{header_b64}.{payload_b64}");
    let mut secret = case.secret.clone();
    if case.wrong_key {
        secret.push(0x5a);
    }
    let mut signature_b64 = String::new();
    encode_base64url(&hs256(&secret, signing_input.as_bytes()), &mut signature_b64);
    tweak_segment(&mut signature_b64, case.tweak, Segment::Signature);
    let mut token = format!("{signing_input}.{signature_b64}").into_bytes();
    if let Some((position, byte)) = case.mutation {
        if !token.is_empty() {
            let at = position % token.len();
            token[at] = byte;
        }
    }
    token
}

/// Why tokenring and the reference may legitimately disagree on a token: a documented class,
/// with the tokenring rejection codes that report it (empty where tokenring accepts and the
/// reference rejects).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Divergence {
    /// The token exceeds [`TOKEN_LEN_MAX`].
    TokenTooLong,
    /// A segment is not canonical unpadded base64url.
    NonCanonicalBase64,
    /// The decoded header exceeds [`HEADER_LEN_MAX`].
    HeaderTooLong,
    /// The header or the claims repeat a member name, at any depth.
    DuplicateMember,
    /// The header has a `crit` member.
    Crit,
    /// The header has a `b64` member that is not `true`.
    B64,
    /// The header's `kid` is longer than [`KID_LEN_MAX`] bytes.
    KidTooLong,
    /// The header's `kid`, `typ` or `cty` is not a string (`null` included).
    HeaderMemberType,
    /// The header has more than [`HEADER_MEMBERS_MAX`] members, or the claims more than
    /// [`CLAIMS_MEMBERS_MAX`], or `aud` more than [`AUDIENCES_MAX`] entries.
    TooManyMembers,
    /// The header or the claims nest deeper than [`JSON_DEPTH_MAX`].
    TooDeep,
    /// The claims are not a JSON object.
    ClaimsNotObject,
    /// `exp`, `nbf` or `iat` is present and not a number in `0..2^64`, `iss` not a string, or
    /// `aud` neither a string nor an array of strings.
    ClaimType,
    /// `aud` is present while no audience is configured.
    AudienceNotConfigured,
    /// `exp` or `nbf` is within [`CLOCK_WINDOW_SECS`] of the harness's start, where the
    /// reference's moving clock and tokenring's fixed one may disagree.
    ClockWindow,
    /// The reference type-checks header members that tokenring reads past and never uses
    /// (`jwk`, `jku`, `x5u`, `x5c`, `x5t`, `x5t#S256`, `enc`, `zip`, `url`, `nonce`).
    ReferenceHeaderTyping,
    /// `exp` or `nbf` is a number the reference cannot coerce to a `u64` (negative, or above
    /// `u64::MAX`); tokenring refuses it too, as `invalid-claim`, after the MAC.
    ReferenceNumericDate,
    /// `sub` is an object or an array. The reference reads `sub` as an optional string and, when
    /// that fails, leaves the value unconsumed, so the rest of the claims object fails to parse.
    /// tokenring gives `sub` no meaning.
    ReferenceSubjectShape,
    /// The header holds invalid UTF-8 or a lone surrogate escape, which tokenring refuses as
    /// `malformed` before parsing, even inside members it would skip.
    InvalidText,
}

impl Divergence {
    /// The tokenring rejection codes that report this class.
    pub fn codes(self) -> &'static [&'static str] {
        match self {
            Self::TokenTooLong | Self::HeaderTooLong | Self::KidTooLong | Self::TooManyMembers => &["too-large"],
            // The verifier reports the first fault it reads, and the model stops at the depth:
            // a repeated name before the deep part is malformed.
            Self::TooDeep => &["too-large", "malformed"],
            Self::NonCanonicalBase64 | Self::DuplicateMember | Self::HeaderMemberType | Self::ClaimsNotObject => {
                &["malformed"]
            }
            Self::Crit | Self::B64 => &["unsupported-header"],
            Self::ClaimType => &["invalid-claim"],
            Self::AudienceNotConfigured => &["wrong-audience"],
            Self::ClockWindow => &["expired", "not-yet-valid"],
            Self::InvalidText => &["malformed"],
            Self::ReferenceHeaderTyping | Self::ReferenceNumericDate | Self::ReferenceSubjectShape => &[],
        }
    }
}

fn numeric_date_near(value: &Value, now_secs: u64) -> bool {
    value.as_f64().is_some_and(|seconds| (seconds - now_secs as f64).abs() <= CLOCK_WINDOW_SECS as f64)
}

fn numeric_date_outside_u64(value: &Value) -> bool {
    value.as_f64().is_some_and(|seconds| seconds < 0.0 || seconds >= u64::MAX as f64)
}

/// Every [`Divergence`] class `token` falls in, found from its bytes alone.
pub fn divergences(token: &[u8], now_secs: u64) -> BTreeSet<Divergence> {
    let mut found = BTreeSet::new();
    if token.len() > TOKEN_LEN_MAX {
        found.insert(Divergence::TokenTooLong);
    }
    let Some([header_b64, payload_b64, signature_b64]) = segments(token) else { return found };
    // The header is judged before the signature's shape and the payload after the MAC (see the
    // verification order in the crate documentation): a header fault can be what tokenring
    // reports even when another segment is not canonical.
    let (header, payload, signature) =
        (decode_strict(header_b64), decode_strict(payload_b64), decode_strict(signature_b64));
    if header.is_none() || payload.is_none() || signature.is_none() {
        found.insert(Divergence::NonCanonicalBase64);
    }
    let Some(header) = header else { return found };
    if header.len() > HEADER_LEN_MAX {
        found.insert(Divergence::HeaderTooLong);
    }
    if invalid_text_possible(&header) {
        found.insert(Divergence::InvalidText);
    }
    match parse_model(&header) {
        Parsed::TooDeep => {
            found.insert(Divergence::TooDeep);
        }
        Parsed::Object(members) => {
            note_name_divergences(&mut found, &members, &header, HEADER_MEMBERS_MAX);
            for (name, value) in &members {
                match (name.as_str(), value) {
                    ("crit", _) => {
                        found.insert(Divergence::Crit);
                    }
                    ("b64", Value::Bool(true)) => {}
                    ("b64", _) => {
                        found.insert(Divergence::B64);
                    }
                    ("kid", Value::String(kid)) if kid.len() > KID_LEN_MAX => {
                        found.insert(Divergence::KidTooLong);
                    }
                    ("kid" | "typ" | "cty", _) if !value.is_string() => {
                        found.insert(Divergence::HeaderMemberType);
                    }
                    ("jwk" | "jku" | "x5u" | "x5c" | "x5t" | "x5t#S256" | "enc" | "zip" | "url" | "nonce", _) => {
                        found.insert(Divergence::ReferenceHeaderTyping);
                    }
                    _ => {}
                }
            }
        }
        Parsed::Invalid | Parsed::NotAnObject => {}
    }
    let (Some(payload), Some(_)) = (payload, signature) else { return found };
    match parse_model(&payload) {
        Parsed::TooDeep => {
            found.insert(Divergence::TooDeep);
        }
        Parsed::NotAnObject => {
            found.insert(Divergence::ClaimsNotObject);
        }
        Parsed::Object(members) => {
            note_name_divergences(&mut found, &members, &payload, CLAIMS_MEMBERS_MAX);
            for (name, value) in &members {
                match name.as_str() {
                    "exp" | "nbf" | "iat" if !value.is_number() || numeric_date_outside_u64(value) => {
                        found.insert(Divergence::ClaimType);
                        if numeric_date_outside_u64(value) {
                            found.insert(Divergence::ReferenceNumericDate);
                        }
                    }
                    "exp" | "nbf" => {
                        if numeric_date_near(value, now_secs) {
                            found.insert(Divergence::ClockWindow);
                        }
                        if numeric_date_outside_u64(value) {
                            found.insert(Divergence::ReferenceNumericDate);
                        }
                    }
                    "sub" if value.is_object() || value.is_array() => {
                        found.insert(Divergence::ReferenceSubjectShape);
                    }
                    "iss" if !value.is_string() => {
                        found.insert(Divergence::ClaimType);
                    }
                    "aud" => {
                        found.insert(Divergence::AudienceNotConfigured);
                        match value {
                            Value::String(_) => {}
                            Value::Array(list) if list.iter().all(Value::is_string) => {
                                if list.len() > AUDIENCES_MAX {
                                    found.insert(Divergence::TooManyMembers);
                                }
                            }
                            _ => {
                                found.insert(Divergence::ClaimType);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Parsed::Invalid => {}
    }
    found
}

/// Verifies the token a [`DifferentialCase`] describes with tokenring and with a reference
/// implementation, both holding `case.secret`, leeway 0, `exp` required, no issuer or audience.
///
/// `reference` is called with the token and the secret and returns the claims it accepts. The
/// reference reads its own clock; `now_secs` is tokenring's time and should be the real time
/// read once when the harness starts (see [`CLOCK_WINDOW_SECS`]).
///
/// Properties: a token both accept has the same claims in both; a token only tokenring rejects
/// falls in a [`Divergence`] class whose codes include tokenring's rejection; a token only
/// tokenring accepts falls in a class where the reference is stricter or faulty
/// ([`Divergence::ReferenceHeaderTyping`], [`Divergence::ReferenceNumericDate`],
/// [`Divergence::ReferenceSubjectShape`], [`Divergence::ClockWindow`]). Anything else panics,
/// with both verdicts.
pub fn differential<F>(case: &DifferentialCase, now_secs: u64, reference: F)
where
    F: FnOnce(&[u8], &[u8]) -> Result<Value, String>,
{
    let token = differential_token(case);
    let expected = reference(&token, &case.secret);
    let key = match Key::from_bytes(&case.secret) {
        Ok(key) => key,
        Err(error) => {
            // Short keys: the reference takes any non-empty secret, tokenring refuses them.
            assert!(!(KEY_LEN_MIN..=KEY_LEN_MAX).contains(&case.secret.len()), "{error}");
            return;
        }
    };
    let ring = KeyRing::with_key(key, None, now_secs);
    let actual = ring.verify::<Value>(&token, &Validation::new().leeway_secs(0), now_secs);
    match (actual, expected) {
        (Ok(verified), Ok(claims)) => assert_eq!(verified.claims(), &claims, "both accept, with different claims"),
        (Err(_), Err(_)) => {}
        (Err(rejection), Ok(_)) => {
            let classes = divergences(&token, now_secs);
            assert!(
                classes.iter().any(|class| class.codes().contains(&rejection.code())),
                "only the reference accepts; tokenring says {} ({}); classes {classes:?}",
                rejection.code(),
                rejection.explanation()
            );
        }
        (Ok(_), Err(reason)) => {
            let classes = divergences(&token, now_secs);
            let lenient = [
                Divergence::ReferenceHeaderTyping,
                Divergence::ReferenceNumericDate,
                Divergence::ReferenceSubjectShape,
                Divergence::ClockWindow,
            ];
            assert!(
                classes.iter().any(|class| lenient.contains(class)),
                "only tokenring accepts; the reference says {reason}; classes {classes:?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    /// The codec property on every length up to three groups and more, of alphabet bytes, of
    /// alphabet bytes with one stranger, and of arbitrary bytes.
    #[test]
    fn the_token_codec_agrees_with_base64ct() {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for len in 0..40usize {
            let text: Vec<u8> = (0..len).map(|index| ALPHABET[(index * 7 + len) % 64]).collect();
            super::base64url(&text);
            for stranger in [b'=', b'+', b'/', b' ', b'.', 0xff] {
                for position in 0..len {
                    let mut text = text.clone();
                    text[position] = stranger;
                    super::base64url(&text);
                }
            }
            let bytes: Vec<u8> = (0..len).map(|index| (index * 37 + len) as u8).collect();
            super::base64url(&bytes);
        }
        super::base64url(&[b'A'; 7000]);
    }
}
