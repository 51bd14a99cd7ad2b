//! Input adapters for the tokenring fuzz targets.
//!
//! The properties live in `tokenring_testkit`; this crate only turns fuzzer bytes into the
//! structured cases those functions take (with `arbitrary`, biased so that most inputs are
//! well-formed tokens signed with the right key), and wraps the reference implementation for
//! the differential target. It also holds the one wall-clock read of the harness.

#![forbid(unsafe_code)]

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use arbitrary::{Arbitrary, Result, Unstructured};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokenring_testkit::{ClaimValue, DifferentialCase, EncodingTweak, RoundtripCase, Segment, CLOCK_WINDOW_SECS};

/// The wall-clock time when the fuzzer started, read once: tokenring's `now` in the
/// differential target. The reference reads the clock itself on every call, which is why
/// times within `CLOCK_WINDOW_SECS` of this one are not compared.
pub fn start_secs() -> u64 {
    static START: OnceLock<u64> = OnceLock::new();
    *START.get_or_init(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs()))
}

/// jsonwebtoken configured like the tokenring side: HS256 only, leeway 0, `exp` required and
/// checked, `nbf` checked, no issuer, no audience (so a token with `aud` is refused).
pub fn reference_verify(token: &[u8], secret: &[u8]) -> std::result::Result<Value, String> {
    let key = DecodingKey::from_secret(secret).map_err(|error| format!("{:?}", error.kind()))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_required_spec_claims(&["exp"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|error| format!("{:?}", error.kind()))
}

/// Input of the `roundtrip` target.
#[derive(Debug)]
pub struct RoundtripInput(pub RoundtripCase);

const CLAIM_NAMES: [&str; 10] = ["sub", "iss", "aud", "jti", "role", "exp", "nbf", "iat", "scope", "name"];

fn claim_name(u: &mut Unstructured<'_>) -> Result<String> {
    let pick: u8 = u.arbitrary()?;
    // Mostly ordinary names; registered ones sometimes; arbitrary text sometimes.
    Ok(match pick % 16 {
        index @ 0..=9 => CLAIM_NAMES[usize::from(index)].to_owned(),
        _ => u.arbitrary::<String>()?,
    })
}

fn claim_value(u: &mut Unstructured<'_>) -> Result<ClaimValue> {
    Ok(match u.int_in_range(0u8..=6)? {
        0 => ClaimValue::Text(u.arbitrary()?),
        1 => ClaimValue::Unsigned(u.arbitrary()?),
        2 => ClaimValue::Signed(u.arbitrary()?),
        3 => ClaimValue::Float(u.arbitrary()?),
        4 => ClaimValue::Bool(u.arbitrary()?),
        5 => ClaimValue::Texts(u.arbitrary()?),
        _ => ClaimValue::Null,
    })
}

impl<'a> Arbitrary<'a> for RoundtripInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let secret_len = u.int_in_range(32usize..=64)?;
        let mut secret = vec![0u8; secret_len];
        u.fill_buffer(&mut secret)?;
        let kid = if u.arbitrary()? { Some(u.arbitrary::<String>()?) } else { None };
        let count = u.int_in_range(0usize..=12)?;
        let mut claims = Vec::with_capacity(count);
        for _ in 0..count {
            claims.push((claim_name(u)?, claim_value(u)?));
        }
        // Times stay below 2^52 seconds, where every second is exact as an f64.
        let now_secs = u.int_in_range(0u64..=(1 << 52))?;
        let ttl_secs = match u.int_in_range(0u8..=7)? {
            0 => 0,
            1 => u.arbitrary()?,
            _ => u.int_in_range(1u64..=400_000_000)?,
        };
        Ok(Self(RoundtripCase {
            secret,
            kid,
            claims,
            now_secs,
            ttl_secs,
            flip_position: u.arbitrary()?,
            flip_to: u.arbitrary()?,
        }))
    }
}

/// Input of the `differential` target.
#[derive(Debug)]
pub struct DifferentialInput(pub DifferentialCase);

/// The secret both sides hold unless the input asks for another length.
const SECRET: [u8; 64] = *b"differential-fuzzing-key-0123456789-differential-fuzzing-key-abc";

const HEADER_NAMES: [&str; 16] = [
    "kid", "typ", "cty", "crit", "b64", "jwk", "jku", "x5c", "x5u", "x5t", "x5t#S256", "enc", "zip", "url", "nonce",
    "alg",
];

/// A JSON value for a header or claims member, as raw text. Index 0 is the unremarkable
/// choice, so that running out of fuzzer bytes yields well-formed tokens.
fn json_value(u: &mut Unstructured<'_>, now_secs: u64) -> Result<String> {
    let far = CLOCK_WINDOW_SECS * 2;
    Ok(match u.int_in_range(0u8..=29)? {
        0 => "\"abc\"".to_owned(),
        1 => "\"HS256\"".to_owned(),
        2 => "\"JWT\"".to_owned(),
        3 => "null".to_owned(),
        4 => "true".to_owned(),
        5 => "false".to_owned(),
        6 => "0".to_owned(),
        7 => "-1".to_owned(),
        8 => "1.5".to_owned(),
        9 => "[]".to_owned(),
        10 => "[\"b64\"]".to_owned(),
        11 => "{}".to_owned(),
        12 => "\"none\"".to_owned(),
        13 => (now_secs + far + u64::from(u.arbitrary::<u32>()?)).to_string(),
        14 => now_secs.saturating_sub(far + u64::from(u.arbitrary::<u32>()?)).to_string(),
        15 => format!("\"{}\"", now_secs + far),
        16 => "[\"a\",\"b\"]".to_owned(),
        17 => r#"{"kty":"oct","k":"AAAA"}"#.to_owned(),
        18 => format!("{}1{}", "[".repeat(usize::from(u.int_in_range(10u8..=20)?)), "]".repeat(20)),
        19 => format!("\"{}\"", "k".repeat(usize::from(u.int_in_range(60u8..=70)?))),
        20 => Value::String(u.arbitrary()?).to_string(),
        21 => u.arbitrary::<u64>()?.to_string(),
        22 => Value::from(u.arbitrary::<f64>()?).to_string(),
        23 => format!("[{}]", vec!["\"x\""; usize::from(u.int_in_range(15u8..=18)?)].join(",")),
        24 => "1e300".to_owned(),
        25 => "2e19".to_owned(),
        26 => (now_secs + u64::from(u.int_in_range(0u16..=5)?)).to_string(),
        27 => format!("{}.5", now_secs + far),
        28 => "\"HS512\"".to_owned(),
        _ => u.arbitrary::<i64>()?.to_string(),
    })
}

fn segment(u: &mut Unstructured<'_>) -> Result<Segment> {
    Ok(match u.int_in_range(0u8..=2)? {
        0 => Segment::Header,
        1 => Segment::Payload,
        _ => Segment::Signature,
    })
}

fn members(
    u: &mut Unstructured<'_>,
    base: Vec<(String, String)>,
    name: fn(&mut Unstructured<'_>) -> Result<String>,
    now_secs: u64,
) -> Result<Vec<(String, String)>> {
    let mut members = base;
    // Sometimes drop or replace a base member, then add a few more.
    if !members.is_empty() && u.ratio(1u8, 8)? {
        let at = u.choose_index(members.len())?;
        members.remove(at);
    }
    if !members.is_empty() && u.ratio(1u8, 4)? {
        let at = u.choose_index(members.len())?;
        members[at].1 = json_value(u, now_secs)?;
    }
    for _ in 0..u.int_in_range(0usize..=4)? {
        members.push((name(u)?, json_value(u, now_secs)?));
    }
    if u.ratio(1u8, 32)? {
        // Enough members to cross the member limits.
        for index in 0..u.int_in_range(14usize..=66)? {
            members.push((format!("m{index}"), "0".to_owned()));
        }
    }
    Ok(members)
}

fn header_name(u: &mut Unstructured<'_>) -> Result<String> {
    let pick: u8 = u.arbitrary()?;
    Ok(match pick % 20 {
        index @ 0..=15 => HEADER_NAMES[usize::from(index)].to_owned(),
        _ => u.arbitrary::<String>()?,
    })
}

impl<'a> Arbitrary<'a> for DifferentialInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let now_secs = start_secs();
        let secret = match u.int_in_range(0u8..=15)? {
            0..=12 => SECRET[..32].to_vec(),
            13 | 14 => SECRET[..u.int_in_range(32usize..=64)?].to_vec(),
            _ => SECRET[..u.int_in_range(1usize..=31)?].to_vec(),
        };
        let base_header = vec![("alg".to_owned(), "\"HS256\"".to_owned()), ("typ".to_owned(), "\"JWT\"".to_owned())];
        let header = members(u, base_header, header_name, now_secs)?;
        let exp = (now_secs + CLOCK_WINDOW_SECS * 30).to_string();
        let base_claims = vec![("sub".to_owned(), "\"user\"".to_owned()), ("exp".to_owned(), exp)];
        let claims = members(u, base_claims, claim_name, now_secs)?;
        let header_raw = if u.ratio(1u8, 24)? { Some(u.arbitrary::<Vec<u8>>()?) } else { None };
        let payload_raw = if u.ratio(1u8, 24)? { Some(u.arbitrary::<Vec<u8>>()?) } else { None };
        let tweak = match u.int_in_range(0u8..=15)? {
            0..=10 => EncodingTweak::None,
            11 => EncodingTweak::Pad(segment(u)?),
            12 => EncodingTweak::TrailingBits(segment(u)?),
            13 => EncodingTweak::StandardAlphabet(segment(u)?),
            _ => EncodingTweak::Space(segment(u)?, u.arbitrary()?),
        };
        let wrong_key = u.ratio(1u8, 16)?;
        let mutation = if u.ratio(1u8, 8)? { Some((u.arbitrary()?, u.arbitrary()?)) } else { None };
        Ok(Self(DifferentialCase { secret, header, claims, header_raw, payload_raw, tweak, wrong_key, mutation }))
    }
}
