//! HMAC-SHA256 (RFC 2104) on `sha2`'s block function, shaped for tokens.
//!
//! Why not the `hmac` crate's `Mac` API: its streaming interface (a block buffer every byte
//! passes through, a copy of the whole keyed state per MAC, the padding and the outer hash
//! through generic code) costs about a third on top of the compressions themselves. Measured on
//! the benchmark token's 221-byte signing input (`mac_hs256` in `benches/`): about 250 ns with
//! the `hmac` crate, 187 ns here, for the same five compressions. Here the key's pad blocks are
//! compressed once, when the key is made; a MAC copies the message into a stack buffer a batch
//! of blocks at a time, pads it there, and calls the block function once per batch and once
//! for the outer hash.
//!
//! The construction itself is the textbook one, and nothing else is new: the SHA-256
//! compression function is `sha2`'s (with its run-time choice of the SHA extensions), and the
//! tests compare this module with the `hmac` crate on every message length up to several blocks,
//! keys of every length class, every prefix split, and the 174 Wycheproof HMAC-SHA256 vectors
//! (`tests/it/vectors.rs`). The fuzz targets' oracle (`fuzzing::hs256`) is the `hmac` crate, so
//! a fault here shows as a divergence there too.
//!
//! Timing: the work depends only on lengths, which are public; the block function runs in
//! constant time.

use sha2::block_api::compress256;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Length of a MAC (a SHA-256 digest), in bytes.
pub(crate) const MAC_LEN: usize = 32;

/// SHA-256 block length, in bytes.
const BLOCK_LEN: usize = 64;

/// Blocks compressed per call while more than a batch of message is left. The stack buffer holds
/// one more, for the padding of the last batch.
const BATCH_BLOCKS: usize = 4;

/// SHA-256's initial hash value (FIPS 180-4, section 5.3.3).
const INITIAL_STATE: [u32; 8] =
    [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19];

/// A MAC in progress: the inner hash after the key's pad block and `absorbed` more bytes (a whole
/// number of blocks), and the outer hash after the key's pad block.
///
/// Both states are as secret as the key (either one lets whoever holds it compute MACs), so
/// they are zeroized when dropped, and `Debug` prints no value.
#[derive(Clone)]
pub(crate) struct Midstate {
    inner: [u32; 8],
    outer: [u32; 8],
    absorbed: usize,
}

impl Midstate {
    /// The state of a MAC under `secret` (of any length) before any message byte.
    pub(crate) fn new(secret: &[u8]) -> Self {
        // A key longer than a block is replaced by its hash (RFC 2104, section 2).
        let mut key = Zeroizing::new([0u8; BLOCK_LEN]);
        if secret.len() > BLOCK_LEN {
            let digest: Zeroizing<[u8; MAC_LEN]> = Zeroizing::new(Sha256::digest(secret).into());
            key[..MAC_LEN].copy_from_slice(digest.as_ref());
        } else {
            key[..secret.len()].copy_from_slice(secret);
        }
        let mut pad = Zeroizing::new([0u8; BLOCK_LEN]);
        let mut state = |byte: u8| {
            for (pad, key) in pad.iter_mut().zip(key.iter()) {
                *pad = key ^ byte;
            }
            let mut state = INITIAL_STATE;
            compress256(&mut state, core::slice::from_ref(&*pad));
            state
        };
        Self { inner: state(0x36), outer: state(0x5c), absorbed: 0 }
    }

    /// Hashes the whole blocks at the start of `prefix` (the rest of it is ignored) and returns
    /// how many bytes that was. The MAC of a message that starts with `prefix` is then
    /// [`finish`](Self::finish) of the message without those bytes.
    pub(crate) fn absorb_blocks(&mut self, prefix: &[u8]) -> usize {
        let blocks = prefix.len() / BLOCK_LEN;
        for block in prefix.chunks_exact(BLOCK_LEN) {
            let mut copy = [0u8; BLOCK_LEN];
            copy.copy_from_slice(block);
            compress256(&mut self.inner, core::slice::from_ref(&copy));
        }
        self.absorbed += blocks * BLOCK_LEN;
        blocks * BLOCK_LEN
    }

    /// How many message bytes [`absorb_blocks`](Self::absorb_blocks) has hashed.
    pub(crate) fn absorbed(&self) -> usize {
        self.absorbed
    }

    /// The MAC of the bytes absorbed so far followed by `rest`.
    pub(crate) fn finish(&self, rest: &[u8]) -> [u8; MAC_LEN] {
        let mut inner = self.inner;
        let mut buffer = [[0u8; BLOCK_LEN]; BATCH_BLOCKS + 1];
        let mut rest_left = rest;
        // Whole batches while a batch or more is left, then the rest with its padding: at most
        // a batch less one byte, plus the 0x80 byte and the 8-byte length, so one block more
        // than a batch at most.
        while rest_left.len() >= BATCH_BLOCKS * BLOCK_LEN {
            let (batch, after) = rest_left.split_at(BATCH_BLOCKS * BLOCK_LEN);
            buffer[..BATCH_BLOCKS].as_flattened_mut().copy_from_slice(batch);
            compress256(&mut inner, &buffer[..BATCH_BLOCKS]);
            rest_left = after;
        }
        let blocks = (rest_left.len() + 1 + 8).div_ceil(BLOCK_LEN);
        let last = buffer[..blocks].as_flattened_mut();
        last[..rest_left.len()].copy_from_slice(rest_left);
        last[rest_left.len()] = 0x80;
        let length_at = last.len() - 8;
        last[rest_left.len() + 1..length_at].fill(0);
        let message_len = BLOCK_LEN + self.absorbed + rest.len();
        last[length_at..].copy_from_slice(&(message_len as u64 * 8).to_be_bytes());
        compress256(&mut inner, &buffer[..blocks]);

        // The outer hash: the pad block (already in `outer`), then the inner digest, padded.
        let mut block = [0u8; BLOCK_LEN];
        store_digest(&inner, &mut block[..MAC_LEN]);
        block[MAC_LEN] = 0x80;
        block[BLOCK_LEN - 8..].copy_from_slice(&((BLOCK_LEN + MAC_LEN) as u64 * 8).to_be_bytes());
        let mut outer = self.outer;
        compress256(&mut outer, core::slice::from_ref(&block));
        inner.zeroize();
        let mut mac = [0u8; MAC_LEN];
        store_digest(&outer, &mut mac);
        mac
    }
}

/// Writes a SHA-256 state as its digest: the eight words, big-endian, into `out`'s 32 bytes.
fn store_digest(state: &[u32; 8], out: &mut [u8]) {
    for (bytes, word) in out.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
}

impl Drop for Midstate {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
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
    // The independent oracle the fuzz targets use too: the `hmac` crate.
    use crate::fuzzing::hs256 as reference;
    use proptest::prelude::*;

    /// Every message length across the batch and padding boundaries, and every split of the
    /// message into an absorbed prefix and the rest.
    #[test]
    fn matches_the_hmac_crate_on_every_length_and_split() {
        let secret = *b"a 32-byte secret for the tests!!";
        let message: Vec<u8> = (0..700u32).map(|index| (index * 7 + 3) as u8).collect();
        let start = Midstate::new(&secret);
        for len in 0..message.len() {
            let message = &message[..len];
            assert_eq!(start.finish(message), reference(&secret, message), "length {len}");
        }
        let message = &message[..400];
        for split in 0..=message.len() {
            let mut state = start.clone();
            let absorbed = state.absorb_blocks(&message[..split]);
            assert_eq!(absorbed, split / BLOCK_LEN * BLOCK_LEN);
            assert_eq!(state.finish(&message[absorbed..]), reference(&secret, message), "split {split}");
        }
    }

    /// Keys shorter than, exactly and longer than a block (a long key is hashed first).
    #[test]
    fn matches_the_hmac_crate_for_every_key_length_class() {
        for key_len in [0, 1, 32, 63, 64, 65, 128, 512] {
            let secret: Vec<u8> = (0..key_len).map(|index| (index * 13 + 1) as u8).collect();
            for message in [&b""[..], b"abc", &[0x5a; 300]] {
                assert_eq!(Midstate::new(&secret).finish(message), reference(&secret, message), "key {key_len}");
            }
        }
    }

    #[test]
    fn debug_prints_no_state() {
        assert_eq!(format!("{:?}", Midstate::new(&[7; 32])), "Midstate { .. }");
    }

    proptest! {
        #[test]
        fn matches_the_hmac_crate(
            secret in proptest::collection::vec(any::<u8>(), 0..200),
            message in proptest::collection::vec(any::<u8>(), 0..1200),
            split in 0usize..1200,
        ) {
            let mut state = Midstate::new(&secret);
            let absorbed = state.absorb_blocks(&message[..split.min(message.len())]);
            prop_assert_eq!(state.finish(&message[absorbed..]), reference(&secret, &message));
        }
    }
}
