//! The oracle: it knows the ground truth (who made each token, with which key, which keys each
//! node holds) and checks every outcome and every log line against it as the events happen.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::Serialize;

/// The invariants the oracle checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Invariant {
    /// 1. No attacker token is ever accepted.
    AttackerTokenAccepted = 1,
    /// 2. Under `persisted` and `rotating`, with clock skew within the leeway, a propagation at
    ///    least the reload bound and no stalled reload loop, no request with an unexpired token
    ///    issued by the cluster is rejected.
    SpuriousRejection = 2,
    /// 3. Every outcome is the one the ground truth calls for (code, and for accepted tokens the
    ///    claims and key), and no attacker token is classified routine outside the two
    ///    documented classes.
    WrongClassification = 3,
    /// 4. No log line contains a token's signature or a key (nor their first sixteen
    ///    characters), in base64url or hex.
    SecretInLog = 4,
    /// 5. The same seed gives the same trace hash.
    Nondeterminism = 5,
    /// 6. Every key ring agrees with the oracle's model of it after every change, every store
    ///    read parses, and signing never fails.
    KeyKnowledge = 6,
    /// 7. Every honest request is answered and every login succeeds, unless a fault the
    ///    oracle knows of prevents it (no node up, or no node up with a key to sign with).
    Liveness = 7,
    /// 8. Once every node's reload bound has passed since an operator revoked a key, no token
    ///    of that key is accepted.
    Revocation = 8,
}

impl Invariant {
    /// All of them, in order.
    pub const ALL: [Invariant; 8] = [
        Self::AttackerTokenAccepted,
        Self::SpuriousRejection,
        Self::WrongClassification,
        Self::SecretInLog,
        Self::Nondeterminism,
        Self::KeyKnowledge,
        Self::Liveness,
        Self::Revocation,
    ];

    /// The invariant's number.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// One line stating it.
    pub fn statement(self) -> &'static str {
        match self {
            Self::AttackerTokenAccepted => "no attacker token is ever accepted",
            Self::SpuriousRejection => {
                "no unexpired token issued by the cluster is rejected (persisted, rotating; deployment within its rules)"
            }
            Self::WrongClassification => "every outcome and rejection code matches the ground truth",
            Self::SecretInLog => "no log line contains a token, a signature or key bytes",
            Self::Nondeterminism => "the same seed gives the same trace hash",
            Self::KeyKnowledge => {
                "every key ring matches the oracle's model; the store is never torn and never loses a key"
            }
            Self::Liveness => {
                "every honest request is answered and every login succeeds, unless a known fault prevents it"
            }
            Self::Revocation => "after every node's reload bound, no token of a revoked key is accepted",
        }
    }
}

/// The first violation of a run, with what led to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which invariant.
    pub invariant: Invariant,
    /// When, in simulated milliseconds since the start.
    pub time_ms: u64,
    /// What exactly went wrong. Never contains a token or key.
    pub detail: String,
    /// The events before it, oldest first.
    pub recent_events: Vec<String>,
}

/// Why an attacker token's rejection may be routine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoutineByDesign {
    /// A genuine token replayed after it expired: it carries a valid MAC, so `expired` (or
    /// `retired-key`, if its key retired first) is exactly right, and routine.
    ReplayOfGenuineToken,
}

impl RoutineByDesign {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ReplayOfGenuineToken => "replay-of-genuine-token",
        }
    }
}

/// Length of an encoded HS256 signature and of an encoded 256-bit key.
const SECRET_B64_LEN: usize = 43;
/// Length of a 256-bit key in hex.
const SECRET_HEX_LEN: usize = 64;
/// A log line leaks a secret if it contains this many of its first characters: sixteen
/// base64url characters are 96 bits of a signature or key, sixteen hex digits 64 bits of a
/// key. Stricter than looking for whole secrets, and a prefix this long fits a `u128`, which
/// keeps the set of every signature ever issued cheap to fill and to search.
const PREFIX_LEN: usize = 16;

fn prefix(window: &[u8]) -> Option<u128> {
    <[u8; PREFIX_LEN]>::try_from(window.get(..PREFIX_LEN)?).ok().map(u128::from_be_bytes)
}

/// A set of prefixes: open addressing with linear probing, for a membership test per log-line
/// window and an insert per token issued (a million in a busy run, where an ordered set spent a
/// seventh of the run rebalancing). It is never iterated, so its layout cannot reach a result.
#[derive(Debug, Default)]
struct PrefixSet {
    /// Zero marks an empty slot: a prefix is sixteen printable characters, never zero.
    slots: Vec<u128>,
    len: usize,
}

impl PrefixSet {
    /// The slot a key's probe starts at: Fibonacci hashing of its two halves.
    fn home(&self, key: u128) -> usize {
        let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
        let bits = self.slots.len().trailing_zeros();
        (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// The slot holding `key`, or the empty slot where it would go. The table is at most half
    /// full, so the probe ends within its length.
    fn find(&self, key: u128) -> usize {
        let mask = self.slots.len() - 1;
        let mut index = self.home(key);
        for _ in 0..self.slots.len() {
            if self.slots[index] == key || self.slots[index] == 0 {
                return index;
            }
            index = (index + 1) & mask;
        }
        debug_assert!(false, "a table at most half full has an empty slot");
        index
    }

    fn contains(&self, key: u128) -> bool {
        !self.slots.is_empty() && self.slots[self.find(key)] == key
    }

    fn insert(&mut self, key: u128) {
        debug_assert_ne!(key, 0);
        if (self.len + 1) * 2 > self.slots.len() {
            let capacity = (self.slots.len() * 2).max(1024);
            let old = core::mem::replace(&mut self.slots, vec![0; capacity]);
            for held in old.into_iter().filter(|&held| held != 0) {
                let index = self.find(held);
                self.slots[index] = held;
            }
        }
        let index = self.find(key);
        if self.slots[index] == 0 {
            self.slots[index] = key;
            self.len += 1;
        }
    }

    fn extend(&mut self, keys: impl IntoIterator<Item = u128>) {
        for key in keys {
            self.insert(key);
        }
    }
}

/// The secrets in play and the checks against them.
#[derive(Debug, Default)]
pub(crate) struct Secrets {
    /// The first [`PREFIX_LEN`] characters of every signature segment of every token made, and
    /// of every key in base64url and in lowercase and uppercase hex.
    prefixes: PrefixSet,
}

impl Secrets {
    /// Registers the signature segment of `token`, if it has a full one.
    pub(crate) fn add_token(&mut self, token: &str) {
        if let Some((_, signature)) = token.rsplit_once('.') {
            if signature.len() == SECRET_B64_LEN {
                self.prefixes.extend(prefix(signature.as_bytes()));
            }
        }
    }

    /// Registers a key's bytes, in every encoding a careless log line might use.
    pub(crate) fn add_key(&mut self, secret: &[u8]) {
        let mut encoded = [0u8; SECRET_B64_LEN];
        if let Ok(text) = Base64UrlUnpadded::encode(secret, &mut encoded) {
            self.prefixes.extend(prefix(text.as_bytes()));
        }
        if secret.len() * 2 == SECRET_HEX_LEN {
            for digits in [b"0123456789abcdef", b"0123456789ABCDEF"] {
                let mut hex = [0u8; SECRET_HEX_LEN];
                for (index, byte) in secret.iter().enumerate() {
                    hex[2 * index] = digits[usize::from(byte >> 4)];
                    hex[2 * index + 1] = digits[usize::from(byte & 0x0f)];
                }
                self.prefixes.extend(prefix(&hex));
            }
        }
    }

    /// Registers every key of a JWK Set document (the `k` members).
    pub(crate) fn add_key_set(&mut self, document: &str) -> Result<(), &'static str> {
        let value: serde_json::Value = serde_json::from_str(document).map_err(|_| "the key set is not JSON")?;
        let keys = value.get("keys").and_then(|keys| keys.as_array()).ok_or("the key set has no keys array")?;
        for key in keys {
            let encoded = key.get("k").and_then(|k| k.as_str()).ok_or("a key has no k")?;
            let secret = Base64UrlUnpadded::decode_vec(encoded).map_err(|_| "a key's k is not base64url")?;
            self.add_key(&secret);
        }
        Ok(())
    }

    /// Whether `line` contains the beginning of a registered signature or key.
    ///
    /// Secrets are runs of base64url (or hex) characters, so only runs at least
    /// [`PREFIX_LEN`] long need looking at; an ordinary log line has few. The scan probes the
    /// last byte of the next window that could hold one: a byte outside the alphabet rules
    /// out every window holding it, and a run is looked at whole, so either way the next
    /// probe is a window further on, and most bytes of a line are never read.
    pub(crate) fn leaks(&self, line: &str) -> bool {
        let bytes = line.as_bytes();
        let mut probe = PREFIX_LEN - 1;
        while probe < bytes.len() {
            if !is_token_char(bytes[probe]) {
                probe += PREFIX_LEN;
                continue;
            }
            let (start, end) = run_around(bytes, probe);
            if bytes[start..end]
                .windows(PREFIX_LEN)
                .any(|window| prefix(window).is_some_and(|key| self.prefixes.contains(key)))
            {
                return true;
            }
            // The byte at `end` is outside the alphabet (or past the line): the next window
            // starts after it.
            probe = end + PREFIX_LEN;
        }
        false
    }
}

/// Whether `byte` can be part of a secret as a log line would show it: base64url, which
/// includes hex.
fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// The maximal run of [`is_token_char`] bytes holding `bytes[at]`, as `start..end`.
fn run_around(bytes: &[u8], at: usize) -> (usize, usize) {
    let start = bytes[..at].iter().rposition(|&byte| !is_token_char(byte)).map_or(0, |before| before + 1);
    let end = bytes[at..].iter().position(|&byte| !is_token_char(byte)).map_or(bytes.len(), |len| at + len);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_signatures_and_keys_wherever_they_hide() {
        let mut secrets = Secrets::default();
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        secrets.add_token(token);
        let key = [0xA7u8; 32];
        secrets.add_key(&key);
        assert!(secrets.leaks(&format!("WARN rejected {token}")));
        assert!(secrets.leaks("sig=SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c!"));
        assert!(secrets.leaks(&format!("key {}", "a7".repeat(32))));
        assert!(secrets.leaks(&format!("key=x{}y", "A7".repeat(32))));
        let mut encoded = [0u8; 43];
        let key_b64 = Base64UrlUnpadded::encode(&key, &mut encoded).unwrap();
        assert!(secrets.leaks(&format!("loaded {key_b64}")));
        assert!(
            !secrets.leaks("WARN node=1 token rejected fp=0123456789ab: bad-signature: the signature does not match")
        );
        assert!(secrets.leaks("SflKxwRJSMeKKF2Q"), "sixteen characters of a signature are a leak");
        assert!(!secrets.leaks("SflKxwRJSMeKKF2"), "fifteen are not");
        assert!(secrets.leaks("xxSflKxwRJSMeKKF2Qxx"), "at any offset inside a longer run");
        assert!(!secrets.leaks("kid=AbCdEfGhIjKlMnOpQrStUv unsupported-algorithm"));
    }

    /// The scan that skips ahead finds exactly what looking at every window finds.
    #[test]
    fn leaks_agrees_with_checking_every_window() {
        let mut rng = crate::rng::SimRng::new(9, crate::rng::Stream::Attacker);
        let mut secrets = Secrets::default();
        let alphabet = b"abAB09-_ .=:";
        let secret = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        secrets.add_token(&format!("x.y.{secret}"));
        let every_window = |line: &str| {
            line.as_bytes()
                .windows(PREFIX_LEN)
                .any(|window| prefix(window).is_some_and(|key| secrets.prefixes.contains(key)))
        };
        for _ in 0..2000 {
            let mut line: String =
                (0..rng.below(60)).map(|_| char::from(alphabet[rng.below(alphabet.len() as u64) as usize])).collect();
            if rng.chance(500) {
                let at = rng.below(line.len() as u64 + 1) as usize;
                let take = rng.between(PREFIX_LEN as u64 - 2, secret.len() as u64) as usize;
                line.insert_str(at, &secret[..take]);
            }
            assert_eq!(secrets.leaks(&line), every_window(&line), "{line:?}");
        }
    }

    #[test]
    fn the_prefix_set_holds_what_was_inserted_and_nothing_else() {
        let mut set = PrefixSet::default();
        let mut rng = crate::rng::SimRng::new(3, crate::rng::Stream::Attacker);
        let keys: Vec<u128> =
            (0..5000).map(|_| u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()) | 1).collect();
        for &key in &keys[..2500] {
            set.insert(key);
            set.insert(key);
        }
        assert_eq!(set.len, 2500);
        assert!(keys[..2500].iter().all(|&key| set.contains(key)));
        assert!(!keys[2500..].iter().any(|&key| set.contains(key)));
        assert!(!PrefixSet::default().contains(7));
    }

    #[test]
    fn reads_every_key_of_a_key_set() {
        let mut ring =
            tokenring::KeyRing::generate_with(&mut crate::rng::ChaChaEntropy::new(1, crate::rng::Stream::Keys), 10)
                .unwrap();
        ring.rotate_with(
            &tokenring::Rotation::new(),
            &mut crate::rng::ChaChaEntropy::new(2, crate::rng::Stream::Keys),
            20,
        )
        .unwrap();
        let document = ring.to_jwk_set();
        let mut secrets = Secrets::default();
        secrets.add_key_set(&document).unwrap();
        assert_eq!(secrets.prefixes.len, 6, "two keys, each in base64url and two hex cases");
        assert!(secrets.leaks(&document));
    }
}
