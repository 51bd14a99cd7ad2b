//! `inspect TOKEN|-`: what a token says about itself, without verifying anything.
//!
//! Everything shown comes from whoever wrote the token, so the output says so first, and every
//! part of it is bounded: JSON is re-serialized (never echoed), strings are truncated, control
//! and bidirectional-formatting characters are escaped so that a token cannot drive the
//! terminal, and the signature is described by its length only.
//!
//! The input "is a token" when it has three dot-separated segments and the first decodes to a
//! JSON object; then `inspect` exits 0 and describes whatever else it can. Otherwise it exits 1.

use std::fmt::Write as _;

use serde_json::{Map, Value};
use tokenring::limits::{SIGNATURE_LEN, TOKEN_LEN_MAX};
use tokenring::{Fingerprint, Malformed, Rejection, Unverified};

use crate::cli::InspectArgs;
use crate::exit::Failure;
use crate::input;
use crate::output;
use crate::utc;

/// The exit codes of `inspect`, for its `--help`.
pub(crate) const EXIT_CODES: &str = "\
Nothing shown is verified: anyone can write a token that says this. Use `tokenring verify`.

Exit codes:
  0  the input was decoded (which says nothing about whether it is genuine)
  1  the input is not a token: not three dot-separated segments, or a first segment that is
     not a base64url-encoded JSON object
  2  usage error or I/O error";

/// Most characters of the re-serialized header shown.
const HEADER_SHOWN_CHARS_MAX: usize = 512;
/// Most characters of the re-serialized claims (or payload preview) shown.
const PAYLOAD_SHOWN_CHARS_MAX: usize = 2048;
/// Most characters shown of a single value (`alg`, `kid`, a time claim).
const FIELD_SHOWN_CHARS_MAX: usize = 80;
/// The registered claims that hold times, in the order shown.
const TIME_CLAIMS: [&str; 3] = ["iat", "nbf", "exp"];

/// Describes the token on standard output.
pub(crate) fn run(args: &InspectArgs) -> Result<(), Failure> {
    let token = input::read_token(&args.token)?;
    let report = describe(&token).map_err(Failure::NotAToken)?;
    output::stdout(report.as_bytes())
}

/// The report for `token`, or why it is not a token at all.
fn describe(bytes: &[u8]) -> Result<String, String> {
    let token = bytes;
    if token.is_empty() {
        return Err("the input is empty".into());
    }
    if token.len() > TOKEN_LEN_MAX {
        return Err(format!("it is longer than {TOKEN_LEN_MAX} bytes, the longest token accepted"));
    }
    // The library's own reading of a token: the segments and the header decoded as the verifier
    // decodes them, the header's rules not applied (so that they can be described here).
    let token = match Unverified::parse(token) {
        Ok(token) => token,
        Err(_) => {
            let segments = token.split(|&byte| byte == b'.').count();
            return Err(format!("a compact token has 3 dot-separated segments, this has {segments}"));
        }
    };
    let header_bytes = token.header().map_err(|rejection| rejection.explanation().to_owned())?;
    let header = match serde_json::from_slice::<Value>(&header_bytes) {
        Ok(Value::Object(header)) => header,
        _ => return Err("the header is not a JSON object".into()),
    };

    let mut report = String::new();
    report.push_str("UNVERIFIED: the signature was not checked; anyone can write a token that says this\n");
    let _ = writeln!(report, "fingerprint: {}", Fingerprint::of(bytes));
    let _ = writeln!(report, "header: {}", bounded_json(&Value::Object(header.clone()), HEADER_SHOWN_CHARS_MAX));
    note_repeats("header", token.check_header(), &mut report);
    describe_header(&header, &mut report);
    describe_payload(&token, &mut report);
    describe_signature(&token, &mut report);
    Ok(report)
}

fn describe_header(header: &Map<String, Value>, report: &mut String) {
    match header.get("alg") {
        None => report.push_str("alg: (absent; tokenring verify rejects the token)\n"),
        Some(Value::String(alg)) if alg == "HS256" => report.push_str("alg: \"HS256\"\n"),
        Some(alg) => {
            let _ = writeln!(
                report,
                "alg: {} (tokenring verify accepts only HS256)",
                bounded_json(alg, FIELD_SHOWN_CHARS_MAX)
            );
        }
    }
    match header.get("kid") {
        None => report.push_str("kid: (absent)\n"),
        Some(kid) => {
            let _ = writeln!(report, "kid: {}", bounded_json(kid, FIELD_SHOWN_CHARS_MAX));
        }
    }
}

fn describe_payload(token: &Unverified<'_>, report: &mut String) {
    let payload = match token.payload() {
        Ok(payload) if payload.is_empty() => {
            report.push_str("payload: empty segment (detached content, or none)\n");
            return;
        }
        Ok(payload) => payload,
        Err(rejection) => {
            let _ = writeln!(report, "payload: {}", rejection.explanation());
            return;
        }
    };
    match serde_json::from_slice::<Value>(&payload) {
        Ok(Value::Object(claims)) => {
            let _ =
                writeln!(report, "claims: {}", bounded_json(&Value::Object(claims.clone()), PAYLOAD_SHOWN_CHARS_MAX));
            note_repeats("claims", token.check_claims(), report);
            for name in TIME_CLAIMS {
                if let Some(value) = claims.get(name) {
                    let _ = writeln!(report, "{name}: {}", describe_time(value));
                }
            }
        }
        Ok(other) => {
            let _ = writeln!(
                report,
                "payload: JSON but not a claims object: {}",
                bounded_json(&other, PAYLOAD_SHOWN_CHARS_MAX)
            );
        }
        Err(_) => {
            // Show a bounded, escaped preview of the text: a JWS payload need not be JSON.
            let text = String::from_utf8_lossy(&payload);
            let preview: String = text.chars().take(PAYLOAD_SHOWN_CHARS_MAX).collect();
            let quoted = serde_json::to_string(&preview).unwrap_or_default();
            let _ = writeln!(
                report,
                "payload: {} bytes, not JSON: {}",
                payload.len(),
                truncate(sanitize(&quoted), PAYLOAD_SHOWN_CHARS_MAX)
            );
        }
    }
}

/// Says so when an object in the header or the claims names a member twice, as the verifier
/// reads them (`verdict`): the JSON shown above keeps only the last value
/// (`{"alg":"HS256","alg":"none"}` shows `none`), and `tokenring verify` refuses such a token as
/// malformed.
fn note_repeats(what: &str, verdict: Result<(), Rejection>, report: &mut String) {
    if let Err(Rejection::Malformed(Malformed::HeaderRepeatsMember | Malformed::ClaimsRepeatMember)) = verdict {
        let _ = writeln!(
            report,
            "{what}: an object names a member more than once; only its last value is shown (tokenring verify rejects the token as malformed)"
        );
    }
}

/// A time claim as its JSON value and, when it is a number in range, a UTC date.
fn describe_time(value: &Value) -> String {
    let shown = bounded_json(value, FIELD_SHOWN_CHARS_MAX);
    let Value::Number(number) = value else {
        return format!("{shown} (not a number; tokenring verify rejects it)");
    };
    let secs = number.as_i64().or_else(|| {
        number
            .as_f64()
            .map(f64::floor)
            .filter(|secs| (utc::SHOWN_SECS_MIN as f64..=utc::SHOWN_SECS_MAX as f64).contains(secs))
            // In range, so the conversion is exact.
            .map(|secs| secs as i64)
    });
    match secs.and_then(utc::format) {
        Some(date) => format!("{shown} ({date})"),
        None => format!("{shown} (out of the range of dates shown)"),
    }
}

fn describe_signature(token: &Unverified<'_>, report: &mut String) {
    match token.signature_len() {
        Ok(0) => report.push_str("signature: empty (an unsigned token; tokenring verify rejects it)\n"),
        Ok(SIGNATURE_LEN) => {
            let _ = writeln!(report, "signature: {SIGNATURE_LEN} bytes, not checked, not shown");
        }
        Ok(len) => {
            let _ = writeln!(report, "signature: {len} bytes (HS256 signatures are {SIGNATURE_LEN}), not shown");
        }
        Err(_) => report.push_str("signature: not base64url, not shown\n"),
    }
}

/// `value` re-serialized as JSON, made safe for a terminal and cut to `max_chars`.
fn bounded_json(value: &Value, max_chars: usize) -> String {
    truncate(sanitize(&value.to_string()), max_chars)
}

/// Escapes what JSON serialization leaves in place but a terminal would act on: DEL, the C1
/// controls (some terminals read U+009B as an escape sequence) and the bidirectional formatting
/// characters that can make text display in a different order than it is. The escapes are JSON
/// string escapes, and these characters only occur inside strings, so the result stays JSON.
fn sanitize(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for character in text.chars() {
        let bidirectional = matches!(character, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if character.is_control() || bidirectional {
            let _ = write!(safe, "\\u{:04x}", u32::from(character));
        } else {
            safe.push(character);
        }
    }
    safe
}

/// `text` cut to `max_chars` characters, saying so when it was cut.
fn truncate(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text,
        Some((cut, _)) => format!("{}... [truncated, {} characters in all]", &text[..cut], text.chars().count()),
    }
}

#[cfg(test)]
mod tests {
    use base64ct::{Base64UrlUnpadded, Encoding};
    use tokenring::limits::HEADER_LEN_MAX;

    use super::*;

    fn encode(bytes: &[u8]) -> String {
        Base64UrlUnpadded::encode_string(bytes)
    }

    fn token(header: &str, payload: &[u8], signature: &[u8]) -> Vec<u8> {
        format!("{}.{}.{}", encode(header.as_bytes()), encode(payload), encode(signature)).into_bytes()
    }

    #[test]
    fn describes_a_token() {
        let report = describe(&token(
            r#"{"alg":"HS256","kid":"k1"}"#,
            br#"{"sub":"3","iat":1700000000,"exp":1700003600.5,"nbf":"soon"}"#,
            &[7; 32],
        ))
        .unwrap();
        assert!(report.starts_with("UNVERIFIED"));
        assert!(report.contains("alg: \"HS256\"\n"));
        assert!(report.contains("kid: \"k1\"\n"));
        assert!(report.contains("iat: 1700000000 (2023-11-14T22:13:20Z)\n"));
        assert!(report.contains("exp: 1700003600.5 (2023-11-14T23:13:20Z)\n"));
        assert!(report.contains("nbf: \"soon\" (not a number"));
        assert!(report.contains("signature: 32 bytes, not checked, not shown\n"));
        assert!(!report.contains(&encode(&[7; 32])));
    }

    #[test]
    fn says_when_a_member_is_named_twice() {
        let report =
            describe(&token(r#"{"alg":"HS256","alg":"none"}"#, br#"{"sub":"3","sub":"4"}"#, &[7; 32])).unwrap();
        assert!(report.contains("alg: \"none\" (tokenring verify accepts only HS256)\n"), "{report}");
        assert!(report.contains("header: an object names a member more than once;"), "{report}");
        assert!(report.contains("claims: an object names a member more than once;"), "{report}");
        let plain = describe(&token(r#"{"alg":"HS256"}"#, br#"{"sub":"3","a":{"sub":1}}"#, &[7; 32])).unwrap();
        assert!(!plain.contains("more than once"), "{plain}");
        // In a nested object too, escapes decoded, as the verifier reads it.
        let nested = describe(&token(r#"{"alg":"HS256"}"#, br#"{"a":{"sub":1,"s\u0075b":2}}"#, &[7; 32])).unwrap();
        assert!(nested.contains("claims: an object names a member more than once;"), "{nested}");
    }

    #[test]
    fn refuses_what_is_not_a_token() {
        assert!(describe(b"").is_err());
        assert!(describe(b"abc").is_err());
        assert!(describe(b"a.b").is_err());
        assert!(describe(b"a.b.c.d").is_err());
        assert!(describe(b"!!!.b.c").is_err());
        assert!(describe(format!("{}.b.c", encode(b"[1,2]")).as_bytes()).is_err());
        assert!(describe(format!("{}.b.c", encode(b"{\"alg\"")).as_bytes()).is_err());
        assert!(describe(&vec![b'a'; TOKEN_LEN_MAX + 1]).is_err());
        let huge_header = format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(HEADER_LEN_MAX));
        let refused = describe(&token(&huge_header, b"{}", b"")).unwrap_err();
        assert_eq!(refused, format!("the header is longer than {HEADER_LEN_MAX} bytes"));
    }

    #[test]
    fn bounds_and_escapes_what_it_shows() {
        // Longer than anything shown, within the header's length limit.
        let long_kid = "k".repeat(900);
        // Members are shown in sorted order: "a" comes before the long kid, within the bound.
        let header = format!(r#"{{"alg":"none\u001b[2J\u009b","kid":"{long_kid}","a":"\u202e"}}"#);
        let report = describe(&token(&header, b"not json \x1b[31m", b"")).unwrap();
        assert!(!report.contains('\u{1b}'));
        assert!(!report.contains('\u{9b}'));
        assert!(!report.contains('\u{202e}'));
        assert!(report.contains(r#"{"a":"\u202e","alg":"none\u001b[2J\u009b","kid":"kkk"#));
        assert!(!report.contains(&long_kid));
        assert!(report.contains("[truncated"));
        assert!(report.contains("(tokenring verify accepts only HS256)"));
        assert!(report.contains("signature: empty"));
        assert!(report.contains("payload: 14 bytes, not JSON: \"not json \\u001b[31m\"\n"));
    }

    #[test]
    fn time_claims_out_of_range_do_not_fail() {
        for value in ["1e300", "-1e300", "18446744073709551615", "253402300800", "-62167219201"] {
            let value: Value = serde_json::from_str(value).unwrap();
            assert!(describe_time(&value).ends_with("(out of the range of dates shown)"), "{value}");
        }
        let value: Value = serde_json::from_str("-1").unwrap();
        assert_eq!(describe_time(&value), "-1 (1969-12-31T23:59:59Z)");
    }

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate("ééé".into(), 3), "ééé");
        assert_eq!(truncate("éééé".into(), 3), "ééé... [truncated, 4 characters in all]");
    }
}
