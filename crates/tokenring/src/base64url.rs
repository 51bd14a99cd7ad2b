//! Strict base64url (RFC 4648 §5, no padding), on caller-provided buffers.
//!
//! Decoding refuses padding, whitespace, characters outside the URL-safe alphabet and
//! non-canonical trailing bits, so every byte string has exactly one accepted encoding.
//! `base64ct` does the work in constant time, which matters for key material.

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

/// Decodes `src` into the front of `dst`.
pub(crate) fn decode<'b>(src: &[u8], dst: &'b mut [u8]) -> Result<&'b [u8], Invalid> {
    Base64UrlUnpadded::decode(src, dst).map_err(|_| Invalid)
}

/// Decodes `src` into a fresh vector (for key material loaded from files).
pub(crate) fn decode_vec(src: &str) -> Result<Vec<u8>, Invalid> {
    Base64UrlUnpadded::decode_vec(src).map_err(|_| Invalid)
}

/// Encodes `src` into the front of `dst`.
pub(crate) fn encode<'b>(src: &[u8], dst: &'b mut [u8]) -> Result<&'b str, Invalid> {
    Base64UrlUnpadded::encode(src, dst).map_err(|_| Invalid)
}

/// Appends the encoding of `src` to `out`.
pub(crate) fn encode_into(src: &[u8], out: &mut String) {
    // Encode in chunks through a stack buffer: a multiple of three input bytes per chunk keeps
    // the concatenation canonical.
    const CHUNK: usize = 3 * 256;
    let mut buf = [0u8; encoded_len(CHUNK)];
    for chunk in src.chunks(CHUNK) {
        if let Ok(encoded) = encode(chunk, &mut buf) {
            out.push_str(encoded);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            encode_into(&data, &mut out);
            assert_eq!(out.len(), encoded_len(len));
            assert_eq!(decoded_len_max(out.len()), len);
            let mut buf = [0u8; 128];
            assert_eq!(decode(out.as_bytes(), &mut buf).unwrap(), &data[..]);
        }
        let long = vec![7u8; 5000];
        let mut out = String::new();
        encode_into(&long, &mut out);
        assert_eq!(decode_vec(&out).unwrap(), long);
    }
}
