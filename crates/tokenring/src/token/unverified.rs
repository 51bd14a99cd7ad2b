//! A token read without checking its signature: the segments and their decoding, shared by the
//! verifier and by tools that show what a token says about itself.

use core::fmt;

use serde::de::IgnoredAny;

use crate::error::{Malformed, Rejection, TooLarge};
use crate::limits::{HEADER_LEN_MAX, PAYLOAD_LEN_MAX};
use crate::token::verify::Bounded;
use crate::token::{base64url, claims, header};

/// A compact token split into its three segments, its signature not checked: what the token
/// says about itself, which anyone could have written. For showing a token (`tokenring
/// inspect`) and for debugging; to trust a token, verify it with
/// [`KeyRing::verify`](crate::KeyRing::verify).
///
/// Each segment is decoded on request, with the verifier's own rules: canonical base64url, and
/// at most [`HEADER_LEN_MAX`] bytes of header. The header is not checked against the header
/// rules (an `alg` of `none` decodes), so that a tool can say what is wrong with it.
///
/// ```
/// use tokenring::{KeyRing, Unverified};
/// # let now = 1_700_000_000;
/// let token = KeyRing::generate(now)?.issue(&serde_json::json!({"sub": "ada"}), 60, now)?;
/// let unverified = Unverified::parse(&token)?;
/// assert!(unverified.header()?.starts_with(br#"{"alg":"HS256""#));
/// assert!(unverified.payload()?.ends_with(br#""sub":"ada"}"#));
/// assert_eq!(unverified.signature_len()?, 32);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Its `Debug` shows the segments' lengths only.
#[derive(Clone, Copy)]
pub struct Unverified<'t> {
    header_b64: &'t [u8],
    payload_b64: &'t [u8],
    signature_b64: &'t [u8],
}

impl<'t> Unverified<'t> {
    /// Splits `token` into its three dot-separated segments.
    ///
    /// # Errors
    /// [`Rejection::TooLarge`] for a token longer than
    /// [`TOKEN_LEN_MAX`](crate::limits::TOKEN_LEN_MAX),
    /// [`Rejection::Malformed`] for one without exactly three segments.
    pub fn parse(token: &'t (impl AsRef<[u8]> + ?Sized)) -> Result<Self, Rejection> {
        let token = Bounded::new(token.as_ref())?.bytes();
        let mut segments = token.splitn(4, |&byte| byte == b'.');
        match (segments.next(), segments.next(), segments.next(), segments.next()) {
            (Some(header_b64), Some(payload_b64), Some(signature_b64), None) => {
                Ok(Self { header_b64, payload_b64, signature_b64 })
            }
            _ => Err(Rejection::Malformed(Malformed::Segments)),
        }
    }

    /// The decoded header: JSON text if the token is well made, not checked against the
    /// header rules.
    ///
    /// # Errors
    /// [`Rejection::Malformed`] for an empty or non-canonical segment, [`Rejection::TooLarge`]
    /// for a header over [`HEADER_LEN_MAX`] bytes.
    pub fn header(&self) -> Result<Vec<u8>, Rejection> {
        let mut buffer = [0u8; HEADER_LEN_MAX];
        decode_header(self.header_b64, &mut buffer).map(<[u8]>::to_vec)
    }

    /// The decoded payload (empty for a JWS with detached content).
    ///
    /// # Errors
    /// [`Rejection::Malformed`] for a segment that is not canonical base64url.
    pub fn payload(&self) -> Result<Vec<u8>, Rejection> {
        let mut payload = vec![0u8; base64url::decoded_len_max(self.payload_b64.len()).min(PAYLOAD_LEN_MAX)];
        let len = decode_payload(self.payload_b64, &mut payload)?.len();
        payload.truncate(len);
        Ok(payload)
    }

    /// Whether the header passes the verifier's header rules (`alg` exactly `HS256`, each
    /// member named once in every object, no `crit`, ...), read as the verifier reads it.
    ///
    /// # Errors
    /// The rejection the verifier gives the header, the signature aside.
    pub fn check_header(&self) -> Result<(), Rejection> {
        let mut buffer = [0u8; HEADER_LEN_MAX];
        header::parse(decode_header(self.header_b64, &mut buffer)?).map(|_| ())
    }

    /// Whether the payload is a claims set the verifier reads (a JSON object, each member named
    /// once in every object, registered claims of the right types, within the limits), read as
    /// the verifier reads it. Times, issuer and audience are not checked.
    ///
    /// # Errors
    /// The rejection the verifier gives the claims, the signature aside.
    pub fn check_claims(&self) -> Result<(), Rejection> {
        claims::parse::<IgnoredAny>(&self.payload()?).map(|_| ())
    }

    /// The decoded signature's length in bytes (32 for HS256, 0 for an unsigned token); the
    /// signature itself is not handed out, so that it is not printed by mistake.
    ///
    /// # Errors
    /// [`Rejection::Malformed`] for a segment that is not canonical base64url.
    pub fn signature_len(&self) -> Result<usize, Rejection> {
        let mut signature = vec![0u8; base64url::decoded_len_max(self.signature_b64.len())];
        base64url::decode(self.signature_b64, &mut signature)
            .map(|decoded| decoded.len())
            .map_err(|_| Rejection::Malformed(Malformed::SignatureEncoding))
    }
}

impl fmt::Debug for Unverified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Unverified {{ segment lengths: {}.{}.{} }}",
            self.header_b64.len(),
            self.payload_b64.len(),
            self.signature_b64.len()
        )
    }
}

/// Decodes a header segment into `buffer`: not empty, at most [`HEADER_LEN_MAX`] bytes decoded,
/// canonical base64url. The one header decoder of the verifier and of [`Unverified`].
pub(crate) fn decode_header<'b>(
    header_b64: &[u8],
    buffer: &'b mut [u8; HEADER_LEN_MAX],
) -> Result<&'b [u8], Rejection> {
    if header_b64.is_empty() {
        return Err(Rejection::Malformed(Malformed::EmptyHeader));
    }
    if base64url::decoded_len_max(header_b64.len()) > HEADER_LEN_MAX {
        return Err(Rejection::TooLarge(TooLarge::Header));
    }
    base64url::decode(header_b64, buffer).map_err(|_| Rejection::Malformed(Malformed::HeaderEncoding))
}

/// Decodes a payload segment into `buffer`, which must have room for it. The one payload
/// decoder of the verifier and of [`Unverified`].
pub(crate) fn decode_payload<'b>(payload_b64: &[u8], buffer: &'b mut [u8]) -> Result<&'b [u8], Rejection> {
    if base64url::decoded_len_max(payload_b64.len()) > buffer.len() {
        return Err(Rejection::TooLarge(TooLarge::Payload));
    }
    base64url::decode(payload_b64, buffer).map_err(|_| Rejection::Malformed(Malformed::PayloadEncoding))
}
