//! `tracing` events and `metrics` records. Nothing here formats a token, a signature or a key.

use tokenring::{Fingerprint, KeyRing, KeyState, RedactedPath, Rejection, Severity, SharedRing};
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

/// Records a rejection and emits its event. `presented` is the token that was presented, with
/// the ring it was verified against, if one token was.
pub(crate) fn rejected(rejection: &Rejection, presented: Option<(&[u8], &KeyRing)>, route: &str) {
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
    let token_fp = presented.map(|(token, _)| display(Fingerprint::of(token)));
    let kid = presented.and_then(|(token, ring)| ring.known_kid(token)).map(display);
    match severity {
        Severity::Routine => tracing::info!(reason, token_fp, kid, route, "token rejected"),
        _ => tracing::warn!(reason, token_fp, kid, route, "token rejected"),
    }
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

/// A key file was created when the service opened its ring.
pub(crate) fn created(ring: &SharedRing) {
    let path = ring.store().map(|store| display(RedactedPath::new(store.path())));
    tracing::warn!(
        path,
        "created a new key file: tokens signed before are unknown here and every user must log in again (expected only at a first start; otherwise check the path)"
    );
}
