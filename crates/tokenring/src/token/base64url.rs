//! Strict base64url (RFC 4648 §5, no padding), on caller-provided buffers.
//!
//! Decoding refuses padding, whitespace, characters outside the URL-safe alphabet and
//! non-canonical trailing bits, so every byte string has exactly one accepted encoding.
//!
//! The codec is `base64ct`'s, whose running time does not depend on the bytes: key material
//! goes through it ([`decode_secret`], [`encode_secret_into`]). Token segments are public (the
//! header, the payload and the signature travel in the clear) and are on every verification's
//! path, so they have one fast path of their own ([`decode`], [`encode_into`],
//! [`encode_in_place`]): lookup tables, with the same strictness. Measured with callgrind,
//! `base64ct` in their place costs a verification more instructions outside SHA-256 than
//! everything else it does. The tests below compare the tables with `base64ct` on every length
//! and many inputs; the `base64url` fuzz target does on arbitrary ones.

use base64ct::{Base64UrlUnpadded, Encoding};

/// The input is not canonical unpadded base64url, or the output buffer is too small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Invalid;

/// Length of the encoding of `len` bytes.
pub(crate) const fn encoded_len(len: usize) -> usize {
    (len * 4).div_ceil(3)
}

/// Largest number of bytes `len` base64url characters can decode to.
pub(crate) const fn decoded_len_max(len: usize) -> usize {
    len / 4 * 3 + (len % 4).saturating_sub(1)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Set in every entry of [`SEXTETS`] for a byte outside the alphabet. Decoded values fit in 24
/// bits, so the flag survives the OR of a group's four entries.
const INVALID: u32 = 1 << 31;

/// For each of the four positions in a group, the six-bit value of every byte already shifted to
/// its place in the 24-bit group, or [`INVALID`]: decoding a group is four loads and three ORs.
const SEXTETS: [[u32; 256]; 4] = {
    let mut tables = [[INVALID; 256]; 4];
    let mut value = 0;
    while value < 64 {
        let byte = ALPHABET[value] as usize;
        tables[0][byte] = (value as u32) << 18;
        tables[1][byte] = (value as u32) << 12;
        tables[2][byte] = (value as u32) << 6;
        tables[3][byte] = value as u32;
        value += 1;
    }
    tables
};

/// The 24 bits of a group of four characters, with [`INVALID`] set if one is not in the alphabet.
#[inline(always)]
fn group_bits(group: &[u8]) -> u32 {
    SEXTETS[0][usize::from(group[0])]
        | SEXTETS[1][usize::from(group[1])]
        | SEXTETS[2][usize::from(group[2])]
        | SEXTETS[3][usize::from(group[3])]
}

/// Decodes the token segment `src` into the front of `dst`. For public data only (see the
/// module docs).
pub(crate) fn decode<'b>(src: &[u8], dst: &'b mut [u8]) -> Result<&'b [u8], Invalid> {
    let tail_len = src.len() % 4;
    if tail_len == 1 {
        return Err(Invalid);
    }
    let decoded_len = decoded_len_max(src.len());
    let dst = dst.get_mut(..decoded_len).ok_or(Invalid)?;
    let (groups, tail) = src.split_at(src.len() - tail_len);
    let (group_out, tail_out) = dst.split_at_mut(groups.len() / 4 * 3);
    // Validity is accumulated and checked once, so the loops have no branch per character.
    let mut flags = 0u32;
    // Two groups (eight characters, six bytes) per step, then at most one group.
    let mut pairs = groups.chunks_exact(8);
    let mut pair_out = group_out.chunks_exact_mut(6);
    for (pair, out) in pairs.by_ref().zip(pair_out.by_ref()) {
        let high = group_bits(&pair[..4]);
        let low = group_bits(&pair[4..]);
        flags |= high | low;
        let bits = u64::from(high) << 24 | u64::from(low);
        out.copy_from_slice(&bits.to_be_bytes()[2..]);
    }
    if let (group @ [_, _, _, _], out @ [_, _, _]) = (pairs.remainder(), pair_out.into_remainder()) {
        let bits = group_bits(group);
        flags |= bits;
        out.copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    match (tail, tail_out) {
        ([], []) => {}
        ([first, second], [out]) => {
            let bits = SEXTETS[0][usize::from(*first)] | SEXTETS[1][usize::from(*second)];
            // Canonical: the four bits past the one decoded byte are zero.
            if bits & 0xFFFF != 0 {
                return Err(Invalid);
            }
            flags |= bits;
            *out = (bits >> 16) as u8;
        }
        ([first, second, third], [out_first, out_second]) => {
            let bits =
                SEXTETS[0][usize::from(*first)] | SEXTETS[1][usize::from(*second)] | SEXTETS[2][usize::from(*third)];
            // Canonical: the two bits past the two decoded bytes are zero.
            if bits & 0xFF != 0 {
                return Err(Invalid);
            }
            flags |= bits;
            *out_first = (bits >> 16) as u8;
            *out_second = (bits >> 8) as u8;
        }
        _ => return Err(Invalid),
    }
    if flags & INVALID == 0 {
        Ok(dst)
    } else {
        Err(Invalid)
    }
}

/// Decodes `src` into a fresh vector (for key material loaded from files), zeroized when
/// dropped: on failure too, when it may hold the part of the secret decoded before the fault.
pub(crate) fn decode_secret(src: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, Invalid> {
    let mut secret = zeroize::Zeroizing::new(vec![0u8; decoded_len_max(src.len())]);
    let len = Base64UrlUnpadded::decode(src, &mut secret).map_err(|_| Invalid)?.len();
    // Shrinking the length never reallocates.
    secret.truncate(len);
    Ok(secret)
}

/// Appends the encoding of `src` to `out`, in constant time: for key material.
pub(crate) fn encode_secret_into(src: &[u8], out: &mut String) {
    // Encode in chunks through a stack buffer: a multiple of three input bytes per chunk keeps
    // the concatenation canonical.
    const CHUNK: usize = 3 * 256;
    let mut buf = [0u8; encoded_len(CHUNK)];
    for chunk in src.chunks(CHUNK) {
        if let Ok(encoded) = Base64UrlUnpadded::encode(chunk, &mut buf) {
            out.push_str(encoded);
        }
    }
}

/// The two characters of every 12-bit value: encoding a group of three bytes is two lookups.
const CHARACTER_PAIRS: [[u8; 2]; 4096] = {
    let mut pairs = [[0u8; 2]; 4096];
    let mut value = 0;
    while value < 4096 {
        pairs[value] = [ALPHABET[value >> 6], ALPHABET[value & 63]];
        value += 1;
    }
    pairs
};

/// Appends the encoding of `src` to `out`. For public data only (see the module docs).
///
/// Bytes rather than a `String`: a token is assembled as bytes and checked to be UTF-8 once.
pub(crate) fn encode_into(src: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(src);
    encode_in_place(out, start);
}

/// Replaces the bytes of `bytes` from `start` on with their encoding, in place: the token's
/// payload is serialized straight into the token and encoded where it lies, with no second
/// buffer. For public data only (see the module docs).
///
/// The encoding is longer than its input, so it is written from the end backwards: group `i`
/// (input bytes `3i..3i + 3`) is read before it is overwritten, and its characters
/// (`4i..4i + 4`) land at or after its own input, past every group still to be read.
pub(crate) fn encode_in_place(bytes: &mut Vec<u8>, start: usize) {
    let src_len = bytes.len() - start;
    bytes.resize(start + encoded_len(src_len), 0);
    let buf = &mut bytes[start..];
    let groups = src_len / 3;
    let (input, output) = (groups * 3, groups * 4);
    match src_len % 3 {
        1 => {
            let first = buf[input];
            buf[output] = ALPHABET[usize::from(first >> 2)];
            buf[output + 1] = ALPHABET[usize::from(first & 0b11) << 4];
        }
        2 => {
            let bits = usize::from(buf[input]) << 8 | usize::from(buf[input + 1]);
            buf[output] = ALPHABET[bits >> 10 & 63];
            buf[output + 1] = ALPHABET[bits >> 4 & 63];
            buf[output + 2] = ALPHABET[bits << 2 & 63];
        }
        _ => {}
    }
    // An odd last group alone, then pairs of groups (six bytes, eight characters, one word).
    if groups % 2 == 1 {
        let (input, output) = (input - 3, output - 4);
        let bits = usize::from(buf[input]) << 16 | usize::from(buf[input + 1]) << 8 | usize::from(buf[input + 2]);
        let ([a, b], [c, d]) = (CHARACTER_PAIRS[bits >> 12], CHARACTER_PAIRS[bits & 0xFFF]);
        buf[output..output + 4].copy_from_slice(&[a, b, c, d]);
    }
    for pair in (0..groups / 2).rev() {
        let (input, output) = (pair * 6, pair * 8);
        let mut word = [0u8; 8];
        word[2..].copy_from_slice(&buf[input..input + 6]);
        let bits = u64::from_be_bytes(word);
        let characters = |shift: u32| CHARACTER_PAIRS[(bits >> shift & 0xFFF) as usize];
        let ([a, b], [c, d], [e, f], [g, h]) = (characters(36), characters(24), characters(12), characters(0));
        buf[output..output + 8].copy_from_slice(&[a, b, c, d, e, f, g, h]);
    }
}

/// The token codec's decoding of `src`, `None` where it refuses it: for the `base64url` fuzz
/// target, which compares it with `base64ct`. Compiled only under `cargo fuzz`.
#[cfg(fuzzing)]
pub(crate) fn decode_for_fuzzing(src: &[u8]) -> Option<Vec<u8>> {
    let mut buffer = vec![0u8; decoded_len_max(src.len())];
    decode(src, &mut buffer).ok().map(<[u8]>::to_vec)
}

/// The token codec's encoding of `src`, appended after `prefix` (so that its in-place writing
/// starts at an offset): for the `base64url` fuzz target. Compiled only under `cargo fuzz`.
#[cfg(fuzzing)]
pub(crate) fn encode_for_fuzzing(prefix: &[u8], src: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    encode_into(src, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strictness() {
        let mut buf = [0u8; 16];
        assert_eq!(decode(b"AA", &mut buf), Ok(&[0u8][..]));
        assert_eq!(decode(b"AB", &mut buf), Err(Invalid), "non-canonical trailing bits");
        assert_eq!(decode(b"AA==", &mut buf), Err(Invalid), "padding");
        assert_eq!(decode(b"A A", &mut buf), Err(Invalid), "whitespace");
        assert_eq!(decode(b"+/", &mut buf), Err(Invalid), "standard alphabet");
        assert_eq!(decode(b"A", &mut buf), Err(Invalid), "impossible length");
        assert_eq!(decode(b"", &mut buf), Ok(&[][..]));
    }

    #[test]
    fn lengths_agree() {
        for len in 0..100 {
            let data = vec![0xA5u8; len];
            let mut out = String::new();
            encode_secret_into(&data, &mut out);
            assert_eq!(out.len(), encoded_len(len));
            assert_eq!(decoded_len_max(out.len()), len);
            let mut buf = [0u8; 128];
            assert_eq!(decode(out.as_bytes(), &mut buf).unwrap(), &data[..]);
        }
        let long = vec![7u8; 5000];
        let mut out = String::new();
        encode_secret_into(&long, &mut out);
        assert_eq!(*decode_secret(&out).unwrap(), long);
    }

    #[test]
    fn every_trailing_bit_pattern() {
        // Every last character of a two- and three-character tail: only those whose unused bits
        // are zero decode, exactly as in the constant-time decoder.
        let mut buf = [0u8; 4];
        for &last in ALPHABET {
            for prefix in [&b"Q"[..], b"QU"] {
                let mut encoded = prefix.to_vec();
                encoded.push(last);
                let expected = Base64UrlUnpadded::decode(&encoded, &mut [0u8; 4]).map(<[u8]>::to_vec).ok();
                assert_eq!(decode(&encoded, &mut buf).map(<[u8]>::to_vec).ok(), expected, "{encoded:?}");
            }
        }
    }

    #[test]
    fn every_byte_in_every_position() {
        // One invalid byte anywhere in a group or a tail is refused.
        for len in [2usize, 3, 4, 6, 7, 8] {
            for position in 0..len {
                for byte in 0..=255u8 {
                    let mut encoded = vec![b'A'; len];
                    encoded[position] = byte;
                    let mut buf = [0u8; 8];
                    let mut expected_buf = [0u8; 8];
                    let expected = Base64UrlUnpadded::decode(&encoded, &mut expected_buf).map(<[u8]>::to_vec).ok();
                    assert_eq!(decode(&encoded, &mut buf).map(<[u8]>::to_vec).ok(), expected, "{encoded:?}");
                }
            }
        }
    }

    /// Invalid characters are flagged by one high bit that is OR-ed together: several invalid
    /// characters, in one group or across groups, must never cancel each other out.
    #[test]
    fn several_invalid_characters_never_cancel() {
        for len in [2usize, 3, 4, 6, 7, 8, 12, 15, 16] {
            for first in 0..len {
                for second in first + 1..len {
                    let mut text = vec![b'A'; len];
                    text[first] = b' ';
                    text[second] = b'=';
                    let mut buf = [0u8; 16];
                    assert_eq!(decode(&text, &mut buf), Err(Invalid), "{:?}", String::from_utf8_lossy(&text));
                }
            }
        }
        let mut buf = [0u8; 16];
        assert_eq!(decode(b"  ==", &mut buf), Err(Invalid), "four invalid characters");
        assert_eq!(decode(b"+/+/+/+/", &mut buf), Err(Invalid), "eight invalid characters");
    }

    #[test]
    fn short_output_buffers_are_refused() {
        assert_eq!(decode(b"AAAA", &mut [0u8; 2]), Err(Invalid));
        assert_eq!(decode(b"AAA", &mut [0u8; 1]), Err(Invalid));
        assert_eq!(decode(b"AAA", &mut [0u8; 2]), Ok(&[0u8, 0][..]));
    }

    #[test]
    fn public_encoding_matches_the_constant_time_one() {
        for len in 0..=400 {
            let data: Vec<u8> = (0..len).map(|index| (index * 37 + len) as u8).collect();
            let mut public = b"prefix.".to_vec();
            encode_into(&data, &mut public);
            let mut constant_time = String::from("prefix.");
            encode_secret_into(&data, &mut constant_time);
            assert_eq!(public, constant_time.into_bytes(), "{len}");
        }
    }

    proptest! {
        #[test]
        fn decoding_matches_the_constant_time_decoder(encoded in proptest::collection::vec(
            prop_oneof![
                8 => proptest::sample::select(ALPHABET.to_vec()),
                1 => any::<u8>(),
            ],
            0..200,
        )) {
            let mut buf = [0u8; 200];
            let mut expected_buf = [0u8; 200];
            let expected = Base64UrlUnpadded::decode(&encoded, &mut expected_buf).map(<[u8]>::to_vec).ok();
            prop_assert_eq!(decode(&encoded, &mut buf).map(<[u8]>::to_vec).ok(), expected);
        }

        #[test]
        fn round_trips(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut encoded = Vec::new();
            encode_into(&data, &mut encoded);
            let mut buf = vec![0u8; data.len()];
            prop_assert_eq!(decode(&encoded, &mut buf), Ok(&data[..]));
        }
    }
}
