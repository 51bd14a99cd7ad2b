//! The ring as a JWK Set (RFC 7517 §5).
//!
//! ```json
//! {
//!   "keys": [
//!     {"kty":"oct","use":"sig","alg":"HS256","kid":"…","k":"…","created_at":1700000000,
//!      "activate_at":1700000300},
//!     {"kty":"oct","use":"sig","alg":"HS256","kid":"…","k":"…","created_at":1690000000,
//!      "activate_at":1690000000,"retire_at":1700086700,"forget_at":1702678700}
//!   ],
//!   "issued_kids": ["…", "…"],
//!   "revoked": [
//!     {"kid":"…","created_at":1680000000,"activate_at":1680000000,"revoked_at":1700000100,
//!      "forget_at":1702592100}
//!   ]
//! }
//! ```
//!
//! The key times (seconds since the epoch: `created_at`, `activate_at`, `retire_at`,
//! `forget_at`) and the top-level `issued_kids` and `revoked` are additional members, which
//! RFC 7517 lets other implementations ignore. Files written before the lifecycle existed load
//! unchanged: a missing `activate_at` is `created_at` (the key signed from its creation), and a
//! missing `forget_at` of a key with a `retire_at` is that time plus
//! [`FORGET_AFTER_SECS_DEFAULT`]. A single JWK object is read as a set of one; a document
//! that is both (`keys` beside a `kty` or `k`) is refused as ambiguous.
//!
//! A revoked key is not in `keys`: its secret is erased, and a JWK of type `oct` without `k` is
//! not a valid JWK (RFC 7518 §6.4.1), which other readers may refuse the whole set for. Its
//! identifier and times are in `revoked` (written only when there is one). A file written by an
//! earlier version, whose revoked keys are in `keys` with their secret and a `revoked_at`, loads
//! with those secrets dropped, and the next [`FileStore::update`](crate::FileStore::update)
//! writes the file without them.

use core::fmt::Write as _;
use std::collections::BTreeSet;

use serde::de::{Deserialize, IgnoredAny};
use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{KeyError, KeySetError};
use crate::limits::{
    FORGET_AFTER_SECS_DEFAULT, ISSUED_KIDS_MAX, KEYS_PER_RING_MAX, KEY_LEN_MAX, KEY_SET_LEN_MAX, KID_LEN_MAX,
};
use crate::ring::key::{Key, Kid};
use crate::ring::keyring::{trim_history, KeyRing};
use crate::ring::lifecycle::Revoked;
use crate::ring::ring_key::{KeyTimes, RingKey};
use crate::token::base64url;
use crate::token::strict_json::{Fault, Rules, Strict};

impl KeyRing {
    /// The ring as a JWK Set document, secrets included: write it only where the keys belong.
    /// The buffer is zeroized when dropped.
    pub fn to_jwk_set(&self) -> Zeroizing<String> {
        // Reserve enough up front that the string never reallocates and leaves copies of
        // secrets behind in freed memory.
        let key_len = 240 + KID_LEN_MAX + base64url::encoded_len(KEY_LEN_MAX) + 2 * 20;
        let revoked_len = KID_LEN_MAX + 100 + 4 * 20;
        let capacity =
            80 + self.keys.len() * key_len + self.issued.len() * (KID_LEN_MAX + 8) + self.revoked.len() * revoked_len;
        let mut out = Zeroizing::new(String::with_capacity(capacity));
        out.push_str("{\n  \"keys\": [");
        for (position, key) in self.keys.iter().enumerate() {
            out.push_str(if position == 0 { "\n    {" } else { ",\n    {" });
            out.push_str(r#""kty":"oct","use":"sig","alg":"HS256""#);
            if let Some(kid) = key.kid() {
                let _ = write!(out, r#","kid":"{kid}""#);
            }
            out.push_str(r#","k":""#);
            base64url::encode_secret_into(key.key().expose_secret(), &mut out);
            let times = key.times();
            let _ = write!(out, r#"","created_at":{},"activate_at":{}"#, times.created_secs, times.activate_at_secs);
            let times = [("retire_at", times.retire_at_secs), ("forget_at", times.forget_at_secs)];
            for (name, at) in times {
                if let Some(at) = at {
                    let _ = write!(out, r#","{name}":{at}"#);
                }
            }
            if !key.may_sign() {
                out.push_str(r#","key_ops":["verify"]"#);
            }
            out.push('}');
        }
        out.push_str("\n  ],\n  \"issued_kids\": [");
        for (position, kid) in self.issued.iter().enumerate() {
            let _ = write!(out, "{}\"{kid}\"", if position == 0 { "" } else { ", " });
        }
        out.push(']');
        if !self.revoked.is_empty() {
            out.push_str(",\n  \"revoked\": [");
            for (position, revoked) in self.revoked.iter().enumerate() {
                let _ = write!(
                    out,
                    r#"{}{{"kid":"{}","created_at":{},"activate_at":{},"revoked_at":{},"forget_at":{}}}"#,
                    if position == 0 { "\n    " } else { ",\n    " },
                    revoked.kid,
                    revoked.created_secs,
                    revoked.activate_at_secs,
                    revoked.revoked_at_secs,
                    revoked.forget_at_secs
                );
            }
            out.push_str("\n  ]");
        }
        out.push_str("\n}\n");
        debug_assert!(out.len() <= capacity);
        out
    }

    /// A ring from a JWK Set document, or from a single JWK object.
    ///
    /// Every key must be `"kty":"oct"`, with `alg` absent or `HS256`, `use` absent or `sig`,
    /// `key_ops` absent or listing `verify`, and at least 256 bits. A key whose `key_ops` do not
    /// list `sign` only verifies: it never becomes the active key. Keys must have distinct
    /// `kid`s (at most one may lack one). A set with any other kind of key is refused whole,
    /// rather than half-used.
    ///
    /// # Errors
    /// The [`KeySetError`] describing the first fault found.
    pub fn from_jwk_set(document: &[u8]) -> Result<Self, KeySetError> {
        Self::parse_jwk_set(document).map(|(ring, _)| ring)
    }

    /// [`from_jwk_set`](Self::from_jwk_set), and whether the document held the secret of a
    /// revoked key (written by an earlier version), which the ring dropped: the document must
    /// be written again for the secret to leave the file.
    pub(crate) fn parse_jwk_set(document: &[u8]) -> Result<(Self, bool), KeySetError> {
        if document.len() > KEY_SET_LEN_MAX {
            return Err(KeySetError::TooLarge);
        }
        let mut root = parse_strict(document)?;
        let Value::Object(root) = &mut root.0 else { return Err(KeySetError::NotAKeySet) };
        let mut single = Wiped(Value::Array(Vec::new()));
        // A set that is also a key: one reader would take the set, another the key.
        if root.contains_key("keys") {
            if let Some(member) = ["kty", "k"].into_iter().find(|member| root.contains_key(*member)) {
                return Err(KeySetError::Ambiguous { member });
            }
        }
        let entries = if root.contains_key("keys") {
            match root.get_mut("keys") {
                Some(Value::Array(keys)) => keys,
                _ => return Err(KeySetError::NotAKeySet),
            }
        } else if root.contains_key("kty") {
            single.0 = Value::Array(vec![Value::Object(core::mem::take(root))]);
            match &mut single.0 {
                Value::Array(keys) => keys,
                _ => return Err(KeySetError::NotAKeySet),
            }
        } else {
            return Err(KeySetError::NotAKeySet);
        };
        if entries.len() > KEYS_PER_RING_MAX {
            return Err(KeySetError::TooManyKeys);
        }
        let mut keys: Vec<RingKey> = Vec::with_capacity(entries.len());
        let mut revoked: Vec<Revoked> = Vec::new();
        let mut dropped_secret = false;
        for (index, entry) in entries.iter_mut().enumerate() {
            let Value::Object(member) = entry else { return Err(KeySetError::NotAKeySet) };
            // Ambiguity is reported before anything else about the key: it is the fault that
            // would make a token's key choice unpredictable.
            let kid = member.get("kid").and_then(Value::as_str);
            let taken = |held: Option<&Kid>| held.map(Kid::as_str) == kid;
            if keys.iter().any(|held| taken(held.kid().as_ref())) || revoked.iter().any(|held| taken(Some(&held.kid))) {
                return Err(KeySetError::DuplicateKid { index });
            }
            let (key, revoked_at_secs) = parse_key(index, member)?;
            match revoked_at_secs {
                None => keys.push(key),
                // An earlier version's revocation: the key with its secret. The record is kept,
                // and the key, secret and all, dropped (and zeroized) here.
                Some(revoked_at) => {
                    let record = Revoked::of(&key, revoked_at)
                        .ok_or(KeySetError::InvalidMember { index, member: "revoked_at" })?;
                    revoked.push(record);
                    dropped_secret = true;
                }
            }
        }
        match root.get("revoked") {
            None => {}
            Some(Value::Array(records)) if records.len() + keys.len() + revoked.len() <= KEYS_PER_RING_MAX => {
                for (index, record) in records.iter().enumerate() {
                    let record = parse_revoked(record).ok_or(KeySetError::InvalidRevoked { index })?;
                    let kid = Some(record.kid);
                    if keys.iter().any(|held| held.kid() == kid) || revoked.iter().any(|held| held.kid == record.kid) {
                        return Err(KeySetError::InvalidRevoked { index });
                    }
                    revoked.push(record);
                }
            }
            Some(Value::Array(_)) => return Err(KeySetError::TooManyKeys),
            Some(_) => return Err(KeySetError::InvalidRevoked { index: 0 }),
        }
        if keys.is_empty() && revoked.is_empty() {
            return Err(KeySetError::Empty);
        }
        let mut issued = Vec::new();
        match root.get("issued_kids") {
            None => {}
            Some(Value::Array(kids)) if kids.len() <= ISSUED_KIDS_MAX => {
                for kid in kids {
                    let kid = kid.as_str().and_then(|text| Kid::new(text).ok());
                    let Some(kid) = kid else { return Err(KeySetError::InvalidIssuedKids) };
                    issued.push(kid);
                }
            }
            Some(_) => return Err(KeySetError::InvalidIssuedKids),
        }
        // Keys present are issued by definition; the persisted history comes first (oldest).
        // Deduplicate through a set: calling `remember` per identifier would be quadratic.
        let mut seen = BTreeSet::new();
        let held: Vec<Kid> =
            keys.iter().filter_map(RingKey::kid).chain(revoked.iter().map(|revoked| revoked.kid)).collect();
        issued = issued.into_iter().chain(held.iter().copied()).filter(|kid| seen.insert(*kid)).collect();
        trim_history(&mut issued, &held);
        Ok((KeyRing { keys, issued, revoked }, dropped_secret))
    }
}

/// A member of `revoked`: an object with a valid `kid` and a `revoked_at`; `forget_at` defaults
/// to [`FORGET_AFTER_SECS_DEFAULT`] after `revoked_at`, `created_at` to 0, `activate_at` to
/// `created_at`. Other members are ignored.
fn parse_revoked(record: &Value) -> Option<Revoked> {
    let Value::Object(record) = record else { return None };
    let seconds = |name: &str| match record.get(name) {
        None => Some(None),
        Some(value) => value.as_u64().map(Some),
    };
    let kid = Kid::new(record.get("kid")?.as_str()?).ok()?;
    let revoked_at_secs = seconds("revoked_at")??;
    let created_secs = seconds("created_at")?.unwrap_or(0);
    Some(Revoked {
        kid,
        created_secs,
        activate_at_secs: seconds("activate_at")?.unwrap_or(created_secs),
        revoked_at_secs,
        forget_at_secs: seconds("forget_at")?
            .unwrap_or_else(|| revoked_at_secs.saturating_add(FORGET_AFTER_SECS_DEFAULT)),
    })
}

/// One member of `keys`: the key, and its `revoked_at` if an earlier version wrote a revoked key
/// there with its secret (the caller keeps only the record).
fn parse_key(index: usize, member: &mut Map<String, Value>) -> Result<(RingKey, Option<u64>), KeySetError> {
    let string = |member: &Map<String, Value>, name: &'static str| -> Result<Option<String>, KeySetError> {
        match member.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(KeySetError::InvalidMember { index, member: name }),
        }
    };
    let seconds = |member: &Map<String, Value>, name: &'static str| -> Result<Option<u64>, KeySetError> {
        match member.get(name) {
            None => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or(KeySetError::InvalidMember { index, member: name }),
        }
    };
    match string(member, "kty")?.as_deref() {
        None => return Err(KeySetError::MissingMember { index, member: "kty" }),
        Some("oct") => {}
        Some(_) => return Err(KeySetError::UnsupportedKeyType { index }),
    }
    if !matches!(string(member, "alg")?.as_deref(), None | Some("HS256")) {
        return Err(KeySetError::UnsupportedAlgorithm { index });
    }
    if !matches!(string(member, "use")?.as_deref(), None | Some("sig")) {
        return Err(KeySetError::UnsupportedAlgorithm { index });
    }
    let may_sign = match member.get("key_ops") {
        None => true,
        Some(Value::Array(ops)) if ops.iter().any(|op| op.as_str() == Some("verify")) => {
            ops.iter().any(|op| op.as_str() == Some("sign"))
        }
        Some(_) => return Err(KeySetError::UnsupportedAlgorithm { index }),
    };
    let kid = match string(member, "kid")? {
        None => None,
        Some(text) => Some(Kid::new(&text).map_err(|error| KeySetError::Key { index, error })?),
    };
    let created_secs = seconds(member, "created_at")?.unwrap_or(0);
    let activate_at_secs = seconds(member, "activate_at")?.unwrap_or(created_secs);
    let retire_at_secs = seconds(member, "retire_at")?;
    let forget_at_secs = seconds(member, "forget_at")?
        .or_else(|| retire_at_secs.map(|retire_at| retire_at.saturating_add(FORGET_AFTER_SECS_DEFAULT)));
    let revoked_at_secs = seconds(member, "revoked_at")?;
    // Take the secret out of the document so that it can be zeroized, rather than cloned.
    let encoded = match member.get_mut("k") {
        None => return Err(KeySetError::MissingMember { index, member: "k" }),
        Some(Value::String(text)) => Zeroizing::new(core::mem::take(text)),
        Some(_) => return Err(KeySetError::InvalidMember { index, member: "k" }),
    };
    if encoded.len() > base64url::encoded_len(KEY_LEN_MAX) {
        return Err(KeySetError::Key { index, error: KeyError::TooLong { bits: encoded.len() * 6 } });
    }
    let secret = base64url::decode_secret(&encoded).map_err(|_| KeySetError::InvalidMember { index, member: "k" })?;
    let key = Key::from_bytes(&secret).map_err(|error| KeySetError::Key { index, error })?;
    let times = KeyTimes { created_secs, activate_at_secs, retire_at_secs, forget_at_secs };
    Ok((RingKey::new(kid, key, times, may_sign), revoked_at_secs))
}

/// A parsed document whose strings are zeroized when it is dropped, on every path: the `k`
/// members hold secrets, and an error about one key must not leave the others' in freed memory.
struct Wiped(Value);

impl Drop for Wiped {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Zeroizes every string value in `value`. Member names are not secret and stay.
fn wipe(value: &mut Value) {
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(members) => members.values_mut().for_each(wipe),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Parses a key set document, refusing a member name repeated in any object (the header and
/// claims parsers refuse repeats too; a last-wins `kid` or `k` would make two readers of one
/// file disagree).
///
/// The names are checked first, in a pass that keeps no value; only a document that passed it
/// is read into a [`Value`], which then cannot fail part-way and drop strings unwiped. `Value`
/// reads numbers in whichever representation `serde_json` is built with.
fn parse_strict(document: &[u8]) -> Result<Wiped, KeySetError> {
    let rules = Rules::new(usize::MAX);
    let mut deserializer = serde_json::Deserializer::from_slice(document);
    let checked = IgnoredAny::deserialize(Strict::new(&mut deserializer, &rules)).and_then(|_| deserializer.end());
    checked.map_err(|error| {
        let (line, column) = (error.line(), error.column());
        match rules.fault() {
            Some(Fault::Repeated) => KeySetError::RepeatedMember { line, column },
            _ => KeySetError::Json { line, column },
        }
    })?;
    serde_json::from_slice(document)
        .map(Wiped)
        .map_err(|error| KeySetError::Json { line: error.line(), column: error.column() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wiped_document_keeps_no_string_value() {
        let mut document = serde_json::json!({"keys": [{"k": "secret", "x": ["a", {"y": "b"}], "n": 1}], "s": "c"});
        wipe(&mut document);
        assert_eq!(document, serde_json::json!({"keys": [{"k": "", "x": ["", {"y": ""}], "n": 1}], "s": ""}));
    }

    #[test]
    fn a_secret_that_is_not_base64url_is_refused_after_being_partly_decoded() {
        // The fault is in the last group: the groups before it have been decoded into the
        // zeroizing buffer by then.
        assert!(base64url::decode_secret("AAAAAAAAAAAAAAAAAAAA=AA").is_err());
        assert_eq!(*base64url::decode_secret("AAAA").unwrap(), [0u8; 3]);
    }
}
