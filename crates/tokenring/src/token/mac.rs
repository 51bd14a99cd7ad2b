//! HMAC-SHA256 (RFC 2104) for tokens, computed by the `hmac` crate and compared through `subtle`.
//!
//! What this module adds to the `hmac` crate is only where the work starts: the key's pad
//! blocks are absorbed once, when the key is made ([`Midstate::new`]), and a ring key's state
//! also absorbs the header segment it signs with and the dot after it, so that a token under
//! that header is finished from there. Both are clones of a `Mac` that has seen a prefix of the
//! message, which the `Mac` API supports as it is. The tag is compared by `Mac::verify_slice`,
//! which checks the length and then compares through `subtle`.
//!
//! The tests compare this module with a plain HMAC (the `hmac` crate keyed per message) on every
//! message length across several blocks, every prefix split and keys of every length class;
//! `tests/it/vectors.rs` runs the 174 Wycheproof HMAC-SHA256 vectors.

use hmac::{KeyInit, Mac};

/// Length of a MAC (a SHA-256 digest), in bytes.
pub(crate) const MAC_LEN: usize = 32;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A MAC in progress: keyed, and having absorbed `absorbed` message bytes.
///
/// As secret as the key (it lets whoever holds it compute MACs): zeroized when dropped (the
/// `hmac` crate's `zeroize` feature), and `Debug` prints no value.
#[derive(Clone)]
pub(crate) struct Midstate {
    mac: HmacSha256,
    absorbed: usize,
}

impl Midstate {
    /// The state of a MAC under `secret` before any message byte, or `None` if the `hmac` crate
    /// refused the key (HMAC takes keys of any length, so it never does).
    pub(crate) fn new(secret: &[u8]) -> Option<Self> {
        let mac = HmacSha256::new_from_slice(secret).ok()?;
        Some(Self { mac, absorbed: 0 })
    }

    /// Absorbs `prefix`. The MAC of a message that starts with `prefix` is then
    /// [`finish`](Self::finish) of the rest of the message.
    pub(crate) fn absorb(&mut self, prefix: &[u8]) {
        self.mac.update(prefix);
        self.absorbed += prefix.len();
    }

    /// How many message bytes [`absorb`](Self::absorb) has taken.
    pub(crate) fn absorbed(&self) -> usize {
        self.absorbed
    }

    /// The MAC of the bytes absorbed so far followed by `rest`.
    pub(crate) fn finish(&self, rest: &[u8]) -> [u8; MAC_LEN] {
        self.mac.clone().chain_update(rest).finalize().into_bytes().into()
    }

    /// Whether `tag` is the MAC of the bytes absorbed so far followed by `rest`, compared in
    /// constant time.
    pub(crate) fn verify(&self, rest: &[u8], tag: &[u8; MAC_LEN]) -> bool {
        self.mac.clone().chain_update(rest).verify_slice(tag).is_ok()
    }
}

impl core::fmt::Debug for Midstate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Midstate { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A plain HMAC, keyed for each message: the differential reference.
    fn reference(secret: &[u8], message: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Every message length across several blocks, and every split of the message into an
    /// absorbed prefix and the rest; `verify` agrees with `finish`.
    #[test]
    fn matches_a_plain_hmac_on_every_length_and_split() {
        let secret = *b"a 32-byte secret for the tests!!";
        let message: Vec<u8> = (0..700u32).map(|index| (index * 7 + 3) as u8).collect();
        let start = Midstate::new(&secret).unwrap();
        for len in 0..message.len() {
            let message = &message[..len];
            let expected = reference(&secret, message);
            assert_eq!(start.finish(message), expected, "length {len}");
            assert!(start.verify(message, &expected), "length {len}");
        }
        let message = &message[..400];
        let expected = reference(&secret, message);
        for split in 0..=message.len() {
            let mut state = start.clone();
            state.absorb(&message[..split]);
            assert_eq!(state.absorbed(), split);
            assert_eq!(state.finish(&message[split..]), expected, "split {split}");
            let mut wrong = expected;
            wrong[split % MAC_LEN] ^= 1;
            assert!(!state.verify(&message[split..], &wrong), "split {split}");
        }
    }

    /// Keys shorter than, exactly and longer than a block (a long key is hashed first).
    #[test]
    fn matches_a_plain_hmac_for_every_key_length_class() {
        for key_len in [0, 1, 32, 63, 64, 65, 128, 512] {
            let secret: Vec<u8> = (0..key_len).map(|index| (index * 13 + 1) as u8).collect();
            for message in [&b""[..], b"abc", &[0x5a; 300]] {
                assert_eq!(
                    Midstate::new(&secret).unwrap().finish(message),
                    reference(&secret, message),
                    "key {key_len}"
                );
            }
        }
    }

    /// Every Wycheproof HMAC-SHA256 case: keys of 128, 256 and 520 bits (the last longer than a
    /// block, so hashed first), messages of up to 255 bytes, full and truncated tags, valid and
    /// modified.
    #[test]
    fn wycheproof_hmac_sha256_cases() {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/wycheproof_hmac_sha256_test.json")).unwrap();
        let hex = |text: &serde_json::Value| -> Vec<u8> {
            let text = text.as_str().unwrap();
            (0..text.len()).step_by(2).map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap()).collect()
        };
        let mut checked = 0;
        for group in vectors["testGroups"].as_array().unwrap() {
            let tag_len = group["tagSize"].as_u64().unwrap() as usize / 8;
            for case in group["tests"].as_array().unwrap() {
                let id = format!("tcId {} ({})", case["tcId"], case["comment"]);
                let mut state = Midstate::new(&hex(&case["key"])).unwrap();
                let message = hex(&case["msg"]);
                // Half the message absorbed as a prefix, as a ring key absorbs its header.
                state.absorb(&message[..message.len() / 2]);
                let tag = state.finish(&message[message.len() / 2..]);
                let matches = tag[..tag_len] == hex(&case["tag"])[..];
                match case["result"].as_str().unwrap() {
                    "valid" => assert!(matches, "{id}: the MAC differs"),
                    "invalid" => assert!(!matches, "{id}: a modified tag matches"),
                    other => panic!("{id}: unexpected result {other}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 174);
    }

    #[test]
    fn debug_prints_no_state() {
        assert_eq!(format!("{:?}", Midstate::new(&[7; 32]).unwrap()), "Midstate { .. }");
    }

    proptest! {
        #[test]
        fn matches_a_plain_hmac(
            secret in proptest::collection::vec(any::<u8>(), 0..200),
            message in proptest::collection::vec(any::<u8>(), 0..1200),
            split in 0usize..1200,
        ) {
            let mut state = Midstate::new(&secret).unwrap();
            let split = split.min(message.len());
            state.absorb(&message[..split]);
            let expected = reference(&secret, &message);
            prop_assert_eq!(state.finish(&message[split..]), expected);
            prop_assert!(state.verify(&message[split..], &expected));
        }
    }
}
