//! `tracing` events and `metrics` records. Nothing here formats a token, a signature or a key.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::Deserialize;
use tokenring::limits::HEADER_LEN_MAX;
use tokenring::{Fingerprint, KeyRing, KeyState, Kid, Rejection, Severity};
use tracing::field::display;

/// Counter of verifications, labelled `result`: `ok`, `missing`, or a rejection code.
pub const VERIFICATIONS_TOTAL: &str = "tokenring_verifications_total";

/// Counter of key-file reloads, labelled `result`: `changed`, `unchanged` or `failed`.
pub const RELOADS_TOTAL: &str = "tokenring_reloads_total";

/// Gauge of the keys the ring holds, labelled `state` (a [`KeyState::as_str`]).
pub const KEYS: &str = "tokenring_keys";

pub(crate) fn verified() {
    metrics::counter!(VERIFICATIONS_TOTAL, "result" => "ok").increment(1);
}

pub(crate) fn missing(route: &str) {
    metrics::counter!(VERIFICATIONS_TOTAL, "result" => "missing").increment(1);
    tracing::debug!(reason = "missing", route, "request has no bearer token");
}

/// Records a rejection and emits its event. `token` is what was presented (if one thing was),
/// `ring` the ring it was verified against and when.
pub(crate) fn rejected(rejection: &Rejection, token: Option<&[u8]>, ring: Option<(&KeyRing, u64)>, route: &str) {
    let reason = rejection.code();
    metrics::counter!(VERIFICATIONS_TOTAL, "result" => reason).increment(1);
    let severity = rejection.severity();
    let enabled = match severity {
        Severity::Routine => tracing::enabled!(tracing::Level::INFO),
        _ => tracing::enabled!(tracing::Level::WARN),
    };
    if !enabled {
        return;
    }
    let token_fp = token.map(|token| display(Fingerprint::of(token)));
    let kid = token.zip(ring).and_then(|(token, (ring, now_secs))| known_kid(token, ring, now_secs)).map(display);
    match severity {
        Severity::Routine => tracing::info!(reason, token_fp, kid, route, "token rejected"),
        _ => tracing::warn!(reason, token_fp, kid, route, "token rejected"),
    }
}

/// The `kid` a token's header names, if the ring holds or issued a key by that name: an
/// identifier the service chose, never a string from the sender. Bounded work: the header is
/// decoded only if it fits [`HEADER_LEN_MAX`].
pub(crate) fn known_kid(token: &[u8], ring: &KeyRing, now_secs: u64) -> Option<Kid> {
    #[derive(Deserialize)]
    struct Header<'a> {
        #[serde(borrow, default)]
        kid: Option<&'a str>,
    }
    let header_b64 = token.split(|&byte| byte == b'.').next()?;
    if header_b64.len() > HEADER_LEN_MAX.div_ceil(3) * 4 {
        return None;
    }
    let mut buffer = [0u8; HEADER_LEN_MAX + 3];
    let header = Base64UrlUnpadded::decode(header_b64, &mut buffer).ok()?;
    let header: Header<'_> = serde_json::from_slice(header).ok()?;
    let kid = Kid::new(header.kid?).ok()?;
    let known = ring.issued_kids().contains(&kid) || ring.keys(now_secs).iter().any(|key| key.kid == Some(kid));
    known.then_some(kid)
}

/// Sets the key gauge from the ring's keys at `now_secs`.
pub(crate) fn key_gauges(ring: &KeyRing, now_secs: u64) {
    let keys = ring.keys(now_secs);
    for state in KeyState::ALL {
        let count = keys.iter().filter(|key| key.state == state).count();
        metrics::gauge!(KEYS, "state" => state.as_str()).set(count as f64);
    }
}

pub(crate) fn reloaded(result: &'static str) {
    metrics::counter!(RELOADS_TOTAL, "result" => result).increment(1);
}

#[cfg(test)]
mod tests {
    use tokenring::{KeyRing, Rotation};

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn token_with_header(header: &str) -> Vec<u8> {
        let mut token = Base64UrlUnpadded::encode_string(header.as_bytes()).into_bytes();
        token.extend_from_slice(b".e30.sig");
        token
    }

    #[test]
    fn known_kid_names_only_the_rings_keys() {
        let mut ring = KeyRing::generate(NOW).unwrap();
        let first = ring.active_kid(NOW).unwrap();
        ring.rotate(NOW, &Rotation::new().propagation_secs(0)).unwrap();
        let token = ring.issue(&serde_json::json!({"sub": "1"}), NOW, 60).unwrap();
        let active = ring.active_kid(NOW).unwrap();
        assert_eq!(known_kid(token.as_bytes(), &ring, NOW), Some(active));
        let old = token_with_header(&format!(r#"{{"alg":"HS256","kid":"{first}"}}"#));
        assert_eq!(known_kid(&old, &ring, NOW), Some(first));
        assert_eq!(known_kid(&token_with_header(r#"{"alg":"HS256","kid":"attacker-chosen"}"#), &ring, NOW), None);
        assert_eq!(known_kid(&token_with_header(r#"{"alg":"HS256"}"#), &ring, NOW), None);
        assert_eq!(known_kid(&token_with_header(r#"{"kid":7}"#), &ring, NOW), None);
        assert_eq!(known_kid(b"!!!.x.y", &ring, NOW), None);
        assert_eq!(known_kid(b"", &ring, NOW), None);
        let huge = token_with_header(&format!(r#"{{"kid":"{active}","pad":"{}"}}"#, "x".repeat(HEADER_LEN_MAX)));
        assert_eq!(known_kid(&huge, &ring, NOW), None, "a header over the limit is not decoded");
    }
}
