//! A key as a ring holds it: the secret, its identifier, its lifecycle times, and the header it
//! signs under with the MAC state after that header.

use crate::ring::key::{Key, Kid};
use crate::token::mac::Midstate;
use crate::token::sign::OwnHeader;

/// When a ring key was made and when it changes state (see `lifecycle.rs`), in seconds since
/// the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyTimes {
    pub(crate) created_secs: u64,
    /// From this time on the key may sign; before it, it is pending (verifies only).
    pub(crate) activate_at_secs: u64,
    /// From this time on the key is retired: its tokens are `retired-key`.
    pub(crate) retire_at_secs: Option<u64>,
    /// From this time on the key is forgotten: its material is dropped at the next prune.
    pub(crate) forget_at_secs: Option<u64>,
}

impl KeyTimes {
    /// A key created, and active, at `created_secs`, with no end times.
    pub(crate) const fn created_at(created_secs: u64) -> Self {
        Self { created_secs, activate_at_secs: created_secs, retire_at_secs: None, forget_at_secs: None }
    }
}

/// A key in a [`KeyRing`](crate::KeyRing).
///
/// Made only by [`new`](Self::new), which derives the header the key signs under from its
/// `kid`, and the MAC state after that header from its secret: the three cannot disagree, so a
/// token whose header segment is this key's is known, from those bytes alone, to mean `alg`
/// HS256 and this key's `kid`. Only the times change afterwards, through
/// [`retire_by`](Self::retire_by).
#[derive(Clone, Debug)]
pub(crate) struct RingKey {
    kid: Option<Kid>,
    key: Key,
    times: KeyTimes,
    /// Loaded from a JWK whose `key_ops` do not list `sign`: the key verifies but never becomes
    /// the active key, and is saved with `"key_ops":["verify"]`.
    verify_only: bool,
    header: OwnHeader,
}

impl RingKey {
    /// The ring key `key`, named `kid`, with its lifecycle `times`; `may_sign` false for a key
    /// that only verifies.
    pub(crate) fn new(kid: Option<Kid>, key: Key, times: KeyTimes, may_sign: bool) -> Self {
        let header = OwnHeader::new(kid.as_ref(), &key);
        Self { kid, key, times, verify_only: !may_sign, header }
    }

    pub(crate) fn kid(&self) -> Option<Kid> {
        self.kid
    }

    pub(crate) fn key(&self) -> &Key {
        &self.key
    }

    pub(crate) fn times(&self) -> &KeyTimes {
        &self.times
    }

    /// Whether the key may ever sign (a key loaded with `key_ops` without `sign` only verifies).
    pub(crate) fn may_sign(&self) -> bool {
        !self.verify_only
    }

    /// The header segment this key signs under, and its MAC state after it.
    pub(crate) fn header(&self) -> &OwnHeader {
        &self.header
    }

    /// The keyed MAC state before any message byte: for a token under another header segment.
    pub(crate) fn keyed(&self) -> &Midstate {
        self.key.keyed()
    }

    /// Retires the key at `retire_at_secs`, unless it already retires earlier, and forgets it
    /// `forget_after_secs` after that, unless it already would be earlier: what a rotation does
    /// to the keys it supersedes.
    pub(crate) fn retire_by(&mut self, retire_at_secs: u64, forget_after_secs: u64) {
        let times = &mut self.times;
        let retire = times.retire_at_secs.map_or(retire_at_secs, |at| at.min(retire_at_secs));
        times.retire_at_secs = Some(retire);
        let forget = retire.saturating_add(forget_after_secs);
        times.forget_at_secs = Some(times.forget_at_secs.map_or(forget, |at| at.min(forget)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::base64url;

    /// The header a ring key signs under names its own `kid` (or none), and the MAC state
    /// after it is its own secret's over exactly that header and a dot.
    #[test]
    fn the_header_and_the_mac_state_belong_to_the_kid_and_the_key() {
        let secret = [0x42u8; 32];
        for kid in [None, Some(Kid::new("key-1").unwrap())] {
            let key = RingKey::new(kid, Key::from_bytes(&secret).unwrap(), KeyTimes::created_at(7), true);
            let header_b64 = key.header().as_bytes();
            let mut header = [0u8; 128];
            let header = base64url::decode(header_b64, &mut header).unwrap();
            let expected = match kid {
                Some(kid) => format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#),
                None => r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
            };
            assert_eq!(header, expected.as_bytes());
            let message = [header_b64, b".payload"].concat();
            let plain = Midstate::new(&secret).unwrap().finish(&message);
            let state = key.header().after_header();
            assert_eq!(state.absorbed(), header_b64.len() + 1);
            assert_eq!(state.finish(&message[state.absorbed()..]), plain);
        }
    }

    #[test]
    fn retiring_never_postpones_an_earlier_retire_or_forget_time() {
        let key = Key::from_bytes(&[1; 32]).unwrap();
        let mut ring_key = RingKey::new(None, key, KeyTimes::created_at(0), true);
        ring_key.retire_by(100, 50);
        assert_eq!((ring_key.times().retire_at_secs, ring_key.times().forget_at_secs), (Some(100), Some(150)));
        ring_key.retire_by(200, 10);
        assert_eq!((ring_key.times().retire_at_secs, ring_key.times().forget_at_secs), (Some(100), Some(110)));
        ring_key.retire_by(80, 100);
        assert_eq!((ring_key.times().retire_at_secs, ring_key.times().forget_at_secs), (Some(80), Some(110)));
    }
}
