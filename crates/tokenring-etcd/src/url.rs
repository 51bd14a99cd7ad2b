//! `etcd://HOST:PORT/KEY` (plain text) and `etcds://HOST:PORT/KEY` (TLS): [`parse_url`],
//! [`EtcdUrl`], [`UrlError`].

use core::fmt;

use crate::settings::{Credentials, SettingsError};

/// Longest `etcd://HOST:PORT/KEY` accepted, in bytes.
pub const URL_LEN_MAX: usize = 1024;

/// Why `etcd://HOST:PORT/KEY` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// It starts with neither `etcd://` nor `etcds://`.
    Scheme,
    /// It names a user or password (`etcd://user:secret@host...`): credentials come from the
    /// environment or a file, never from a URL that ends up in shell histories and logs.
    Credentials,
    /// No `HOST:PORT`, or a port that is not a number.
    Endpoint,
    /// No key after `HOST:PORT` (`etcd://HOST:PORT/KEY`).
    Key,
    /// Longer than [`URL_LEN_MAX`].
    TooLong,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Scheme => "an etcd key set is named etcd://HOST:PORT/KEY, or etcds://HOST:PORT/KEY over TLS",
            Self::Credentials => "an etcd URL must not hold a user or password (not shown); set TOKENRING_ETCD_USER and TOKENRING_ETCD_PASSWORD or TOKENRING_ETCD_PASSWORD_FILE",
            Self::Endpoint => "an etcd URL needs HOST:PORT with a numeric port: etcd://HOST:PORT/KEY",
            Self::Key => "an etcd URL needs a key after HOST:PORT: etcd://HOST:PORT/KEY",
            Self::TooLong => "the etcd URL is too long",
        })
    }
}

impl std::error::Error for UrlError {}

/// A parsed `etcd://HOST:PORT/KEY` or `etcds://HOST:PORT/KEY`. It holds no credential (a URL
/// with one is refused), and prints as it was written.
#[derive(Clone, PartialEq, Eq)]
pub struct EtcdUrl {
    endpoint: String,
    key: String,
    tls: bool,
}

impl EtcdUrl {
    /// `HOST:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The key, its leading slash kept: `etcd://10.0.0.5:2379/myapp/keys` is the key
    /// `/myapp/keys`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether it is `etcds://`: TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Checks that `credentials` connect the way the URL says: TLS settings with `etcds://`,
    /// none with `etcd://` (a CA file set for an `etcd://` URL is a mistake, never a reason to
    /// fall back to plain text).
    ///
    /// # Errors
    /// [`SettingsError::TlsUrlWithoutCa`] or [`SettingsError::PlainUrlWithTls`].
    pub fn check(&self, credentials: &Credentials) -> Result<(), SettingsError> {
        match (self.tls, credentials.is_tls()) {
            (true, false) => Err(SettingsError::TlsUrlWithoutCa),
            (false, true) => Err(SettingsError::PlainUrlWithTls),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for EtcdUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", if self.tls { "etcds" } else { "etcd" }, self.endpoint, self.key)
    }
}

impl fmt::Debug for EtcdUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EtcdUrl({self})")
    }
}

/// Parses `etcd://HOST:PORT/KEY` or, for TLS, `etcds://HOST:PORT/KEY`.
///
/// ```
/// let url = tokenring_etcd::parse_url("etcds://10.0.0.5:2379/myapp/keys")?;
/// assert_eq!((url.endpoint(), url.key(), url.is_tls()), ("10.0.0.5:2379", "/myapp/keys", true));
/// # Ok::<(), tokenring_etcd::UrlError>(())
/// ```
///
/// # Errors
/// [`UrlError`], naming what is wrong; a URL with a user or password is refused without
/// printing them.
pub fn parse_url(url: &str) -> Result<EtcdUrl, UrlError> {
    if url.len() > URL_LEN_MAX {
        return Err(UrlError::TooLong);
    }
    let (rest, tls) = match (url.strip_prefix("etcd://"), url.strip_prefix("etcds://")) {
        (Some(rest), _) => (rest, false),
        (_, Some(rest)) => (rest, true),
        (None, None) => return Err(UrlError::Scheme),
    };
    let (endpoint, key) = rest.find('/').map_or((rest, ""), |slash| rest.split_at(slash));
    if endpoint.contains('@') {
        return Err(UrlError::Credentials);
    }
    let (host, port) = endpoint.rsplit_once(':').ok_or(UrlError::Endpoint)?;
    if host.is_empty() || port.is_empty() || !port.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(UrlError::Endpoint);
    }
    if key.len() < 2 {
        return Err(UrlError::Key);
    }
    Ok(EtcdUrl { endpoint: endpoint.to_owned(), key: key.to_owned(), tls })
}
