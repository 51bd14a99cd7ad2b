//! The attacker: it captures some of the tokens the nodes issue and sends forgeries made from
//! them, or from keys of its own, signed with the real core where a signature is needed.

use std::collections::BTreeMap;

use base64ct::{Base64UrlUnpadded, Encoding};
use tokenring::limits::TOKEN_LEN_MAX;
use tokenring::{Key, KeyRing, Kid};

use crate::config::AttackKind;
use crate::model::{HeaderFacts, KeySerial, Session, Shape, TokenFacts};
use crate::oracle::Secrets;
use crate::rng::{ChaChaEntropy, SimRng};

/// Most captured tokens the attacker keeps.
const CAPTURED_MAX: usize = 64;
/// Most edge replays the attacker has scheduled at once.
const EDGE_REPLAYS_MAX: usize = 4096;

/// Algorithms an `alg` swap puts in the header: other HMACs, asymmetric ones a confused
/// verifier might try with the HMAC key as a public key, and near-misses of `HS256`.
const SWAPPED_ALGORITHMS: [&str; 8] = ["HS384", "HS512", "RS256", "ES256", "PS256", "hs256", "HS256 ", "none"];

/// A token the attacker saw on the wire, with its ground truth.
#[derive(Clone, Debug)]
pub(crate) struct Captured {
    pub(crate) token: String,
    pub(crate) facts: TokenFacts,
}

/// An attack token and its ground truth.
#[derive(Debug)]
pub(crate) struct Crafted {
    pub(crate) token: String,
    pub(crate) facts: TokenFacts,
}

/// What an attack can draw on besides the attacker's own state.
#[derive(Debug)]
pub(crate) struct Material<'a> {
    /// The attacker's clock: true time.
    pub(crate) now_ms: u64,
    pub(crate) now_secs: u64,
    pub(crate) ttl_secs: u64,
    /// Every `kid` the cluster has used, for forgeries that name one.
    pub(crate) cluster_kids: &'a [Kid],
    /// Captured tokens issued at or before this instant are expired at every node.
    pub(crate) surely_expired_if_issued_before_ms: u64,
}

/// A captured token the attacker will replay in the second it expires on `node`.
#[derive(Debug)]
pub(crate) struct EdgeReplay {
    pub(crate) token: String,
    pub(crate) facts: TokenFacts,
    pub(crate) node: usize,
}

#[derive(Debug)]
pub(crate) struct Attacker {
    rng: SimRng,
    entropy: ChaChaEntropy,
    captured: Vec<Captured>,
    /// The edge replays scheduled, by number.
    edge_replays: BTreeMap<u32, EdgeReplay>,
    next_edge_replay: u32,
    /// Random text longer than any token may be, made once: oversize tokens are cut from it.
    oversize_filler: String,
}

/// Longest oversize token, beyond the limit.
const OVERSIZE_EXTRA_MAX: usize = 600;

impl Attacker {
    pub(crate) fn new(rng: SimRng, entropy: ChaChaEntropy) -> Self {
        Self {
            rng,
            entropy,
            captured: Vec::with_capacity(CAPTURED_MAX),
            edge_replays: BTreeMap::new(),
            next_edge_replay: 0,
            oversize_filler: String::new(),
        }
    }

    /// Whether the attacker may schedule one more edge replay.
    pub(crate) fn has_room_for_edge_replay(&self) -> bool {
        self.edge_replays.len() < EDGE_REPLAYS_MAX
    }

    /// Keeps `replay` for later; its number.
    pub(crate) fn keep_edge_replay(&mut self, replay: EdgeReplay) -> u32 {
        let number = self.next_edge_replay;
        self.next_edge_replay = self.next_edge_replay.wrapping_add(1);
        self.edge_replays.insert(number, replay);
        number
    }

    /// The edge replay of number `number`, once.
    pub(crate) fn take_edge_replay(&mut self, number: u32) -> Option<EdgeReplay> {
        self.edge_replays.remove(&number)
    }

    pub(crate) fn rng(&mut self) -> &mut SimRng {
        &mut self.rng
    }

    /// Sees a token go by; keeps it with probability `per_mille`, and says whether it did.
    pub(crate) fn observe(&mut self, token: &str, facts: TokenFacts, per_mille: u32) -> bool {
        if !self.rng.chance(per_mille) {
            return false;
        }
        let captured = Captured { token: token.to_owned(), facts };
        if self.captured.len() < CAPTURED_MAX {
            self.captured.push(captured);
        } else {
            let slot = self.rng.below(CAPTURED_MAX as u64) as usize;
            self.captured[slot] = captured;
        }
        true
    }

    /// Makes a token of `kind`, or nothing if the attacker lacks the material for it (no
    /// captured token yet, no expired one to replay, a single cluster key to swap with).
    pub(crate) fn craft(
        &mut self,
        kind: AttackKind,
        material: &Material<'_>,
        next_serial: &mut KeySerial,
        secrets: &mut Secrets,
    ) -> Option<Crafted> {
        let captured = if kind == AttackKind::ReplayExpired {
            let expired: Vec<usize> = (0..self.captured.len())
                .filter(|&index| self.captured[index].facts.issued_ms <= material.surely_expired_if_issued_before_ms)
                .collect();
            let index = *self.rng.pick(&expired)?;
            Some(self.captured[index].clone())
        } else if kind.needs_capture() {
            let index = self.rng.below(self.captured.len() as u64) as usize;
            Some(self.captured.get(index)?.clone())
        } else {
            None
        };
        let subject = self.rng.below(u64::from(u32::MAX)) as u32;
        match kind {
            AttackKind::ForeignKey => {
                let ring = KeyRing::generate_with(&mut self.entropy, material.now_secs).ok()?;
                secrets.add_key_set(&ring.to_jwk_set()).ok()?;
                let kid = ring.active_kid(material.now_secs);
                self.signed(&ring, kid, material, subject, next_serial, secrets)
            }
            AttackKind::ForgedUnderClusterKid => {
                let kid = *self.rng.pick(material.cluster_kids)?;
                let key = Key::generate(&mut self.entropy).ok()?;
                secrets.add_key(key.expose_secret());
                let ring = KeyRing::with_key(key, Some(kid), material.now_secs);
                self.signed(&ring, Some(kid), material, subject, next_serial, secrets)
            }
            AttackKind::TamperedClaims => {
                let captured = captured?;
                let (header, payload, signature) = split(&captured.token)?;
                let mut claims: serde_json::Value = serde_json::from_slice(&decode(payload)?).ok()?;
                let mut facts = TokenFacts { signed_by: None, ..captured.facts };
                // Become someone else, live longer, or both.
                let choice = self.rng.below(3);
                if choice != 1 {
                    claims["sub"] = serde_json::Value::from(subject);
                    facts.subject = subject;
                }
                if choice != 0 {
                    facts.exp_secs = facts.exp_secs.saturating_add(30 * 24 * 3600);
                    claims["exp"] = serde_json::Value::from(facts.exp_secs);
                }
                let payload = encode(&serde_json::to_vec(&claims).ok()?);
                Some(Crafted { token: format!("{header}.{payload}.{signature}"), facts })
            }
            AttackKind::AlgNone => {
                let captured = captured?;
                let (_, payload, _) = split(&captured.token)?;
                let header = encode(br#"{"alg":"none","typ":"JWT"}"#);
                let facts = TokenFacts {
                    shape: Shape::BadSignatureLength(HeaderFacts::OtherAlgorithm),
                    signed_by: None,
                    ..captured.facts
                };
                Some(Crafted { token: format!("{header}.{payload}."), facts })
            }
            AttackKind::AlgNoneWithSignature | AttackKind::AlgSwap => {
                let captured = captured?;
                let (_, payload, signature) = split(&captured.token)?;
                let algorithm = if kind == AttackKind::AlgNoneWithSignature {
                    "none"
                } else {
                    *self.rng.pick(&SWAPPED_ALGORITHMS)?
                };
                let kid = captured.facts.kid().map(|kid| format!(r#","kid":"{kid}""#)).unwrap_or_default();
                let header = encode(format!(r#"{{"alg":"{algorithm}","typ":"JWT"{kid}}}"#).as_bytes());
                let facts = TokenFacts {
                    shape: Shape::Compact(HeaderFacts::OtherAlgorithm),
                    signed_by: None,
                    ..captured.facts
                };
                Some(Crafted { token: format!("{header}.{payload}.{signature}"), facts })
            }
            AttackKind::KidSwap => {
                let captured = captured?;
                let (_, payload, signature) = split(&captured.token)?;
                let others: Vec<Kid> =
                    material.cluster_kids.iter().copied().filter(|kid| Some(*kid) != captured.facts.kid()).collect();
                let kid = *self.rng.pick(&others)?;
                // Exactly the header the core writes, so the verifier's fast path picks the
                // named key when it holds it.
                let header = encode(format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#).as_bytes());
                let facts = TokenFacts {
                    shape: Shape::Compact(HeaderFacts::Hs256 { kid: Some(kid) }),
                    signed_by: None,
                    ..captured.facts
                };
                Some(Crafted { token: format!("{header}.{payload}.{signature}"), facts })
            }
            AttackKind::KidRemoved => {
                let captured = captured?;
                let (_, payload, signature) = split(&captured.token)?;
                let header = encode(br#"{"alg":"HS256","typ":"JWT"}"#);
                let facts = TokenFacts {
                    shape: Shape::Compact(HeaderFacts::Hs256 { kid: None }),
                    signed_by: None,
                    ..captured.facts
                };
                Some(Crafted { token: format!("{header}.{payload}.{signature}"), facts })
            }
            AttackKind::TruncatedSignature => {
                let captured = captured?;
                let (header, payload, signature) = split(&captured.token)?;
                let keep = self.rng.below(signature.len() as u64) as usize;
                let header_facts = match captured.facts.shape {
                    Shape::Compact(header_facts) | Shape::BadSignatureLength(header_facts) => header_facts,
                    Shape::WrongSegments | Shape::Oversize => return None,
                };
                let facts =
                    TokenFacts { shape: Shape::BadSignatureLength(header_facts), signed_by: None, ..captured.facts };
                Some(Crafted { token: format!("{header}.{payload}.{}", &signature[..keep]), facts })
            }
            AttackKind::ReplayExpired => {
                let captured = captured?;
                Some(Crafted { token: captured.token, facts: captured.facts })
            }
            AttackKind::WrongSegments => {
                let segments = *self.rng.pick(&[1usize, 2, 4, 5])?;
                let parts: Vec<String> = (0..segments).map(|_| self.random_text(1, 60)).collect();
                let facts = garbage_facts(Shape::WrongSegments, material, subject);
                Some(Crafted { token: parts.join("."), facts })
            }
            AttackKind::Oversize => {
                let header = encode(br#"{"alg":"HS256","typ":"JWT"}"#);
                if self.oversize_filler.is_empty() {
                    let longest = TOKEN_LEN_MAX + OVERSIZE_EXTRA_MAX;
                    self.oversize_filler = self.random_text(longest, longest);
                }
                let len =
                    self.rng.between(TOKEN_LEN_MAX as u64 + 1, (TOKEN_LEN_MAX + OVERSIZE_EXTRA_MAX) as u64) as usize;
                let filler = self.oversize_filler.get(..len)?;
                let facts = garbage_facts(Shape::Oversize, material, subject);
                Some(Crafted { token: format!("{header}.{filler}.{}", "A".repeat(43)), facts })
            }
        }
    }

    /// A token the attacker signs itself with `ring`.
    fn signed(
        &mut self,
        ring: &KeyRing,
        kid: Option<Kid>,
        material: &Material<'_>,
        subject: u32,
        next_serial: &mut KeySerial,
        secrets: &mut Secrets,
    ) -> Option<Crafted> {
        let token = ring.issue(&Session { sub: subject }, material.ttl_secs, material.now_secs).ok()?;
        secrets.add_token(&token);
        let serial = *next_serial;
        *next_serial += 1;
        let facts = TokenFacts {
            shape: Shape::Compact(HeaderFacts::Hs256 { kid }),
            signed_by: Some(serial),
            exp_secs: material.now_secs + material.ttl_secs,
            nbf_secs: material.now_secs,
            subject,
            issued_ms: material.now_ms,
        };
        Some(Crafted { token, facts })
    }

    /// Random base64url text of a length in `low..=high`, ten characters per random word.
    fn random_text(&mut self, low: usize, high: usize) -> String {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let len = self.rng.between(low as u64, high as u64) as usize;
        let mut text = Vec::with_capacity(len);
        while text.len() < len {
            let mut word = self.rng.next_u64();
            for _ in 0..10.min(len - text.len()) {
                text.push(ALPHABET[(word & 63) as usize]);
                word >>= 6;
            }
        }
        String::from_utf8(text).unwrap_or_default()
    }
}

fn garbage_facts(shape: Shape, material: &Material<'_>, subject: u32) -> TokenFacts {
    TokenFacts {
        shape,
        signed_by: None,
        exp_secs: material.now_secs + material.ttl_secs,
        nbf_secs: material.now_secs,
        subject,
        issued_ms: material.now_ms,
    }
}

/// The three segments of a compact token.
pub(crate) fn split(token: &str) -> Option<(&str, &str, &str)> {
    let mut parts = token.splitn(3, '.');
    let header = parts.next()?;
    let payload = parts.next()?;
    let signature = parts.next()?;
    (!signature.contains('.')).then_some((header, payload, signature))
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text).ok()
}
