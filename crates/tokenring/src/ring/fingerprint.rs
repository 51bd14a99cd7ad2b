//! Log-safe token fingerprints.

use core::fmt;

use sha2::{Digest, Sha256};

use crate::limits::FINGERPRINT_LEN;

/// The first [`FINGERPRINT_LEN`] bytes of a token's SHA-256, printed as hex.
///
/// Lets an operator correlate log lines about the same token without the log holding the
/// token: 48 bits of a hash reveal nothing usable about it, and a token cannot be rebuilt from
/// them.
///
/// ```
/// let fingerprint = tokenring::Fingerprint::of("a.b.c");
/// assert_eq!(fingerprint.to_string().len(), 12);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; FINGERPRINT_LEN]);

impl Fingerprint {
    /// The fingerprint of `token` (any bytes, not only valid tokens).
    pub fn of(token: impl AsRef<[u8]>) -> Self {
        let digest = Sha256::digest(token.as_ref());
        let mut bytes = [0u8; FINGERPRINT_LEN];
        bytes.copy_from_slice(&digest[..FINGERPRINT_LEN]);
        Self(bytes)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}
