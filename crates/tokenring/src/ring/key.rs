//! HS256 keys, key identifiers and the entropy that makes them.

use core::fmt;

use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::limits::{KEY_LEN_GENERATED, KEY_LEN_MAX, KEY_LEN_MIN, KID_LEN_MAX, KID_RANDOM_LEN};
use crate::token::mac::Midstate;

/// A source of secret random bytes for new keys and key identifiers.
///
/// [`OsEntropy`] is the one to use in production. A deterministic implementation lets a
/// simulation or a test replay the same keys; it must never be used to make real keys.
pub trait Entropy {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    /// [`KeyError::Entropy`] when no randomness is available.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), KeyError>;
}

/// The operating system's cryptographically secure random number generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), KeyError> {
        getrandom::fill(dest).map_err(|_| KeyError::Entropy)
    }
}

impl<E: Entropy + ?Sized> Entropy for &mut E {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), KeyError> {
        (**self).fill(dest)
    }
}

/// An HS256 secret key.
///
/// The HMAC state keyed with the secret is computed once, here, and copied for every signature
/// and verification: the hot path never re-keys. The secret and the keyed state are zeroized
/// when the key is dropped. `Debug` prints `Key { .. }`.
#[derive(Clone)]
pub struct Key {
    secret: Zeroizing<Vec<u8>>,
    keyed: Midstate,
}

impl Key {
    /// A key from raw secret bytes.
    ///
    /// # Errors
    /// [`KeyError::TooShort`] below 256 bits (an empty key included), [`KeyError::TooLong`] above
    /// [`KEY_LEN_MAX`] bytes.
    pub fn from_bytes(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < KEY_LEN_MIN {
            return Err(KeyError::TooShort { bits: secret.len() * 8 });
        }
        let too_long = || KeyError::TooLong { bits: secret.len() * 8 };
        if secret.len() > KEY_LEN_MAX {
            return Err(too_long());
        }
        // HMAC takes keys of any length: `None` cannot happen, and is a too-long key if it did.
        let keyed = Midstate::new(secret).ok_or_else(too_long)?;
        Ok(Self { secret: Zeroizing::new(secret.to_vec()), keyed })
    }

    /// A fresh random 256-bit key.
    ///
    /// # Errors
    /// [`KeyError::Entropy`] when the entropy source fails.
    pub fn generate(entropy: &mut impl Entropy) -> Result<Self, KeyError> {
        let mut secret = Zeroizing::new([0u8; KEY_LEN_GENERATED]);
        entropy.fill(secret.as_mut())?;
        Self::from_bytes(secret.as_ref())
    }

    /// The key's length in bits.
    pub fn bits(&self) -> usize {
        self.secret.len() * 8
    }

    /// The raw secret. Handle with care: it must never reach a log.
    pub fn expose_secret(&self) -> &[u8] {
        &self.secret
    }

    pub(crate) fn keyed(&self) -> &Midstate {
        &self.keyed
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key { .. }")
    }
}

/// A key identifier (`kid`): 1 to [`KID_LEN_MAX`] printable ASCII characters, neither `"` nor
/// `\`, so that it appears in a header exactly as it is.
///
/// Generated identifiers are random (22 base64url characters from 128 bits) and carry no
/// information about the secret. A `Kid` is not secret and prints as itself; it is stored
/// inline, so copying one never allocates.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kid {
    len: u8,
    bytes: [u8; KID_LEN_MAX],
}

impl Kid {
    /// A key identifier from a string.
    ///
    /// # Errors
    /// [`KeyError::InvalidKid`] when it is empty, longer than [`KID_LEN_MAX`] bytes, or holds a
    /// character outside `!`..=`~` or one of `"` and `\`.
    pub fn new(kid: &str) -> Result<Self, KeyError> {
        let raw = kid.as_bytes();
        let valid = !raw.is_empty()
            && raw.len() <= KID_LEN_MAX
            && raw.iter().all(|&byte| (b'!'..=b'~').contains(&byte) && byte != b'"' && byte != b'\\');
        if !valid {
            return Err(KeyError::InvalidKid);
        }
        let mut bytes = [0u8; KID_LEN_MAX];
        bytes[..raw.len()].copy_from_slice(raw);
        // The length fits: KID_LEN_MAX <= u8::MAX is asserted in `limits`.
        Ok(Self { len: raw.len() as u8, bytes })
    }

    /// A fresh random key identifier.
    ///
    /// # Errors
    /// [`KeyError::Entropy`] when the entropy source fails.
    pub fn generate(entropy: &mut impl Entropy) -> Result<Self, KeyError> {
        let mut random = [0u8; KID_RANDOM_LEN];
        entropy.fill(&mut random)?;
        // The identifier is published in every header: the token codec encodes it.
        let mut text = Vec::with_capacity(KID_LEN_MAX);
        crate::token::base64url::encode_into(&random, &mut text);
        Self::new(core::str::from_utf8(&text).map_err(|_| KeyError::InvalidKid)?)
    }

    /// The identifier as a string.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked in `new`), so this cannot fail.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kid({:?})", self.as_str())
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_empty_keys_are_refused() {
        assert_eq!(Key::from_bytes(&[]).unwrap_err(), KeyError::TooShort { bits: 0 });
        assert_eq!(Key::from_bytes(&[7; 31]).unwrap_err(), KeyError::TooShort { bits: 248 });
        assert!(Key::from_bytes(&[7; 32]).is_ok());
        assert_eq!(Key::from_bytes(&[7; KEY_LEN_MAX + 1]).unwrap_err(), KeyError::TooLong { bits: 4104 });
    }

    #[test]
    fn key_debug_prints_no_secret() {
        let key = Key::from_bytes(&[0xAB; 32]).unwrap();
        let debug = format!("{key:?}");
        assert_eq!(debug, "Key { .. }");
    }

    #[test]
    fn kid_rules() {
        assert!(Kid::new("").is_err());
        assert!(Kid::new("a\"b").is_err());
        assert!(Kid::new("a b").is_err());
        assert!(Kid::new(&"x".repeat(KID_LEN_MAX + 1)).is_err());
        assert_eq!(Kid::new("kid-aes-sign").unwrap().as_str(), "kid-aes-sign");
        assert_eq!(Kid::new(&"x".repeat(KID_LEN_MAX)).unwrap().as_str().len(), KID_LEN_MAX);
    }

    #[test]
    fn generated_kids_are_distinct_and_valid() {
        let a = Kid::generate(&mut OsEntropy).unwrap();
        let b = Kid::generate(&mut OsEntropy).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 22);
    }
}
