//! How a store reaches etcd: [`Credentials`] (a user name and password, and [`Tls`]), read from
//! the environment or built in code, and [`SettingsError`] when they cannot be used.
//!
//! Every file is checked before it is read (a regular file, no larger than its limit) and
//! parsed before anything connects, so that a wrong path or a file of the wrong kind is
//! reported by name at start-up, not as a handshake that fails later. Nothing here prints a
//! password, a key or a file's contents.

use core::fmt;
use std::io::{self, Read as _};
use std::path::Path;

use tokenring::RedactedPathBuf;
use zeroize::Zeroizing;

/// The user name to authenticate with ([`Credentials::from_env`]).
pub const USER_VAR: &str = "TOKENRING_ETCD_USER";
/// The password, given directly.
pub const PASSWORD_VAR: &str = "TOKENRING_ETCD_PASSWORD";
/// The path of a file holding the password (its first line), instead of [`PASSWORD_VAR`].
pub const PASSWORD_FILE_VAR: &str = "TOKENRING_ETCD_PASSWORD_FILE";
/// The path of the PEM file of the certificate authorities that etcd's certificate must be
/// signed by: required for `etcds://`, refused with `etcd://`.
pub const CA_FILE_VAR: &str = "TOKENRING_ETCD_CA_FILE";
/// The path of the PEM file of this client's certificate (chain), for etcd's client
/// certificate authentication; with [`KEY_FILE_VAR`].
pub const CERT_FILE_VAR: &str = "TOKENRING_ETCD_CERT_FILE";
/// The path of the PEM file of the private key of [`CERT_FILE_VAR`]'s certificate.
pub const KEY_FILE_VAR: &str = "TOKENRING_ETCD_KEY_FILE";

/// Largest certificate file read, in bytes: room for a system's whole CA bundle
/// (`/etc/ssl/certs/ca-certificates.crt` is about 220 KB).
pub const CERTIFICATE_FILE_LEN_MAX: u64 = 1024 * 1024;
/// Largest private key file read, in bytes (an RSA 8192-bit key in PEM is under 7 KB).
pub const KEY_FILE_LEN_MAX: u64 = 64 * 1024;
/// Largest password file read, in bytes.
pub const PASSWORD_FILE_LEN_MAX: u64 = 4096;

/// Which file a [`SettingsError::File`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// The password file ([`PASSWORD_FILE_VAR`]).
    Password,
    /// The CA certificate file ([`CA_FILE_VAR`]).
    Ca,
    /// The client certificate file ([`CERT_FILE_VAR`]).
    Certificate,
    /// The client key file ([`KEY_FILE_VAR`]).
    Key,
}

impl FileKind {
    /// The environment variable that names this file for [`Credentials::from_env`].
    pub const fn variable(self) -> &'static str {
        match self {
            Self::Password => PASSWORD_FILE_VAR,
            Self::Ca => CA_FILE_VAR,
            Self::Certificate => CERT_FILE_VAR,
            Self::Key => KEY_FILE_VAR,
        }
    }

    /// The limit on its size.
    const fn len_max(self) -> u64 {
        match self {
            Self::Password => PASSWORD_FILE_LEN_MAX,
            Self::Ca | Self::Certificate => CERTIFICATE_FILE_LEN_MAX,
            Self::Key => KEY_FILE_LEN_MAX,
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Password => "etcd password file",
            Self::Ca => "etcd CA certificate file",
            Self::Certificate => "etcd client certificate file",
            Self::Key => "etcd client key file",
        })
    }
}

/// What is wrong with a file ([`SettingsError::File`]). Its `Display` is the explanation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileProblem {
    /// There is no such file.
    NotFound,
    /// The file could not be opened or read (permissions, most often).
    Unreadable(io::ErrorKind),
    /// A directory, device, FIFO or socket.
    NotAFile,
    /// Larger than its limit ([`CERTIFICATE_FILE_LEN_MAX`], [`KEY_FILE_LEN_MAX`],
    /// [`PASSWORD_FILE_LEN_MAX`]); it was not read.
    TooLarge {
        /// The limit, in bytes.
        len_max: u64,
    },
    /// A PEM block in it is damaged (a missing end line, invalid base64).
    NotPem,
    /// It holds no PEM certificate (`-----BEGIN CERTIFICATE-----`): a key, a DER file, or
    /// something else.
    NoCertificate,
    /// It holds no PEM private key (`-----BEGIN PRIVATE KEY-----`, or its RSA or EC form).
    NoPrivateKey,
    /// A password file that is not UTF-8 text, or whose first line is empty.
    NoPassword,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("it does not exist"),
            Self::Unreadable(kind) => write!(f, "it cannot be read: {}", io::Error::from(*kind)),
            Self::NotAFile => f.write_str("it is not a regular file (a directory, device, FIFO or socket)"),
            Self::TooLarge { len_max } => write!(f, "it is larger than {len_max} bytes (not read)"),
            Self::NotPem => f.write_str("it is not valid PEM (a block without its end line, or invalid base64)"),
            Self::NoCertificate => f.write_str("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
            Self::NoPrivateKey => f.write_str("it holds no PEM private key (-----BEGIN PRIVATE KEY-----)"),
            Self::NoPassword => f.write_str("its first line is empty or not UTF-8 text"),
        }
    }
}

/// Why the settings for reaching etcd cannot be used. It names the variable or the file at
/// fault (the path printed as the project prints paths, [`RedactedPathBuf`]), never a password,
/// a key or what a file holds.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsError {
    /// [`USER_VAR`] is set without [`PASSWORD_VAR`] or [`PASSWORD_FILE_VAR`].
    NoPassword,
    /// [`PASSWORD_VAR`] or [`PASSWORD_FILE_VAR`] is set without [`USER_VAR`].
    NoUser,
    /// A client certificate without its key, or a key without its certificate: names the
    /// variable that is missing.
    IncompleteIdentity {
        /// [`CERT_FILE_VAR`] or [`KEY_FILE_VAR`].
        missing: &'static str,
    },
    /// A client certificate and key without a CA certificate: TLS needs [`CA_FILE_VAR`].
    NoCa,
    /// A file cannot be used.
    File {
        /// Which file.
        kind: FileKind,
        /// Its path, as given.
        path: RedactedPathBuf,
        /// What is wrong with it.
        problem: FileProblem,
    },
    /// An `etcds://` URL without TLS settings: [`CA_FILE_VAR`] is not set.
    TlsUrlWithoutCa,
    /// TLS settings ([`CA_FILE_VAR`], [`CERT_FILE_VAR`], [`KEY_FILE_VAR`]) with an `etcd://`
    /// URL: plain text was not asked for, so nothing is sent in plain text (use `etcds://`).
    PlainUrlWithTls,
    /// TLS was asked for, and this build of `tokenring-etcd` has no TLS (its `tls` feature).
    TlsNotBuilt,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPassword => {
                write!(f, "{USER_VAR} is set without {PASSWORD_VAR} or {PASSWORD_FILE_VAR}")
            }
            Self::NoUser => write!(f, "{PASSWORD_VAR} or {PASSWORD_FILE_VAR} is set without {USER_VAR}"),
            Self::IncompleteIdentity { missing } => write!(
                f,
                "a client certificate needs both {CERT_FILE_VAR} and {KEY_FILE_VAR}; {missing} is not set"
            ),
            Self::NoCa => write!(f, "a client certificate is set without {CA_FILE_VAR} (TLS to etcd needs it)"),
            Self::File { kind, path, problem } => write!(f, "cannot use the {kind} {path}: {problem}"),
            Self::TlsUrlWithoutCa => write!(
                f,
                "an etcds:// URL needs {CA_FILE_VAR}: the PEM file of the authority that signed etcd's certificate"
            ),
            Self::PlainUrlWithTls => write!(
                f,
                "TLS settings ({CA_FILE_VAR}, {CERT_FILE_VAR}, {KEY_FILE_VAR}) are set but the URL is etcd://, which is plain text: use etcds://HOST:PORT/KEY"
            ),
            Self::TlsNotBuilt => f.write_str(
                "this build has no TLS for etcd (tokenring-etcd's `tls` feature); nothing was sent",
            ),
        }
    }
}

/// As its `Display`: what `?` from a `main` prints.
impl fmt::Debug for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for SettingsError {}

/// How to reach etcd: a user name and password for etcd's authentication, and [`Tls`]; none of
/// either by default (plain text, no authentication). Never printed: its `Debug` says only
/// which are set, and the password is wiped when it is dropped.
#[derive(Clone, Default)]
pub struct Credentials {
    pub(crate) user: Option<(String, Zeroizing<String>)>,
    pub(crate) tls: Option<Tls>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = if self.user.is_some() { "user and password" } else { "no user" };
        match &self.tls {
            Some(tls) => write!(f, "Credentials({user}, {tls:?})"),
            None => write!(f, "Credentials({user}, no TLS)"),
        }
    }
}

impl Credentials {
    /// No authentication, no TLS.
    pub fn none() -> Self {
        Self::default()
    }

    /// Authenticate as `user` with `password` (no TLS: add it with [`tls`](Self::tls)).
    pub fn user(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self { user: Some((user.into(), Zeroizing::new(password.into()))), tls: None }
    }

    /// The same, over TLS: the store then connects with `https` and names itself
    /// `etcds://HOST:PORT/KEY`.
    #[must_use]
    pub fn tls(self, tls: Tls) -> Self {
        Self { tls: Some(tls), ..self }
    }

    /// Whether these credentials connect over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// From the environment: [`USER_VAR`] with [`PASSWORD_VAR`] or [`PASSWORD_FILE_VAR`] (the
    /// file's first line), and TLS when [`CA_FILE_VAR`] is set, with a client certificate when
    /// [`CERT_FILE_VAR`] and [`KEY_FILE_VAR`] are. None of them set: no authentication, no TLS.
    /// Every file named is read and checked now.
    ///
    /// # Errors
    /// [`SettingsError`], naming the variable or the file at fault.
    pub fn from_env() -> Result<Self, SettingsError> {
        let var = |name| std::env::var_os(name).filter(|value| !value.is_empty());
        let user = match (var(USER_VAR), std::env::var(PASSWORD_VAR), var(PASSWORD_FILE_VAR)) {
            (None, Err(_), None) => None,
            (None, _, _) => return Err(SettingsError::NoUser),
            (Some(user), Ok(password), _) => Some((user.to_string_lossy().into_owned(), Zeroizing::new(password))),
            (Some(user), Err(_), Some(file)) => {
                Some((user.to_string_lossy().into_owned(), read_password(Path::new(&file))?))
            }
            (Some(_), Err(_), None) => return Err(SettingsError::NoPassword),
        };
        let tls = match (var(CA_FILE_VAR), var(CERT_FILE_VAR), var(KEY_FILE_VAR)) {
            (None, None, None) => None,
            (_, Some(_), None) => return Err(SettingsError::IncompleteIdentity { missing: KEY_FILE_VAR }),
            (_, None, Some(_)) => return Err(SettingsError::IncompleteIdentity { missing: CERT_FILE_VAR }),
            (None, Some(_), Some(_)) => return Err(SettingsError::NoCa),
            (Some(ca), None, None) => Some(Tls::from_ca_file(Path::new(&ca))?),
            (Some(ca), Some(certificate), Some(key)) => Some(
                Tls::from_ca_file(Path::new(&ca))?.client_identity_files(Path::new(&certificate), Path::new(&key))?,
            ),
        };
        Ok(Self { user, tls })
    }
}

/// TLS to etcd: the certificate authorities etcd's certificate must be signed by, and
/// optionally this client's certificate and key for etcd's client certificate authentication
/// (`--client-cert-auth`). Read from PEM files and checked when built. Its `Debug` names no
/// certificate and no key; the key is wiped when it is dropped.
#[derive(Clone)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub struct Tls {
    pub(crate) ca: Vec<u8>,
    pub(crate) identity: Option<(Vec<u8>, Zeroizing<Vec<u8>>)>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.identity.is_some() { "Tls(CA, client certificate)" } else { "Tls(CA)" })
    }
}

impl Tls {
    /// Trusts the certificate authorities in the PEM file at `path` (one or more
    /// `-----BEGIN CERTIFICATE-----` blocks; a system bundle such as
    /// `/etc/ssl/certs/ca-certificates.crt` when etcd's certificate is from a public authority).
    ///
    /// # Errors
    /// [`SettingsError::File`] when the file is missing, unreadable, larger than
    /// [`CERTIFICATE_FILE_LEN_MAX`], damaged PEM or without a certificate.
    pub fn from_ca_file(path: &Path) -> Result<Self, SettingsError> {
        let ca = read(FileKind::Ca, path)?;
        check_certificates(FileKind::Ca, path, &ca)?;
        Ok(Self { ca: ca.to_vec(), identity: None })
    }

    /// Presents the certificate in the PEM file `certificate` (followed by any intermediate
    /// authorities) with the private key in the PEM file `key` when etcd asks for one. That they
    /// belong together is checked when connecting.
    ///
    /// # Errors
    /// [`SettingsError::File`] when either file is missing, unreadable, too large, damaged PEM,
    /// or without a certificate (a key).
    pub fn client_identity_files(self, certificate: &Path, key: &Path) -> Result<Self, SettingsError> {
        let chain = read(FileKind::Certificate, certificate)?;
        check_certificates(FileKind::Certificate, certificate, &chain)?;
        let key_pem = read(FileKind::Key, key)?;
        check_key(key, &key_pem)?;
        Ok(Self { identity: Some((chain.to_vec(), key_pem)), ..self })
    }

    /// Whether a client certificate is presented.
    pub fn has_client_certificate(&self) -> bool {
        self.identity.is_some()
    }
}

/// Reads the file at `path`, after checking that it is a regular file no larger than `kind`'s
/// limit; the bytes are wiped when dropped (a key or a password may be among them).
fn read(kind: FileKind, path: &Path) -> Result<Zeroizing<Vec<u8>>, SettingsError> {
    let fault = |problem| SettingsError::File { kind, path: RedactedPathBuf::from(path), problem };
    let unreadable = |error: io::Error| {
        fault(match error.kind() {
            io::ErrorKind::NotFound => FileProblem::NotFound,
            kind => FileProblem::Unreadable(kind),
        })
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let metadata = file.metadata().map_err(unreadable)?;
    if !metadata.is_file() {
        return Err(fault(FileProblem::NotAFile));
    }
    let len_max = kind.len_max();
    if metadata.len() > len_max {
        return Err(fault(FileProblem::TooLarge { len_max }));
    }
    // The file may grow between the check and the read: never read more than the limit.
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(len_max + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > len_max {
        return Err(fault(FileProblem::TooLarge { len_max }));
    }
    Ok(bytes)
}

/// The first line of the password file at `path`.
fn read_password(path: &Path) -> Result<Zeroizing<String>, SettingsError> {
    let bytes = read(FileKind::Password, path)?;
    let password = core::str::from_utf8(&bytes).ok().and_then(|text| text.lines().next()).unwrap_or_default();
    if password.is_empty() {
        return Err(SettingsError::File {
            kind: FileKind::Password,
            path: RedactedPathBuf::from(path),
            problem: FileProblem::NoPassword,
        });
    }
    Ok(Zeroizing::new(password.to_owned()))
}

/// Checks that `pem` holds at least one certificate and no damaged PEM block.
#[cfg(feature = "tls")]
fn check_certificates(kind: FileKind, path: &Path, pem: &[u8]) -> Result<(), SettingsError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::CertificateDer;
    let fault = |problem| SettingsError::File { kind, path: RedactedPathBuf::from(path), problem };
    let mut certificates = 0_usize;
    for certificate in CertificateDer::pem_slice_iter(pem) {
        certificate.map_err(|_| fault(FileProblem::NotPem))?;
        certificates += 1;
    }
    if certificates == 0 {
        return Err(fault(FileProblem::NoCertificate));
    }
    Ok(())
}

/// Checks that `pem` holds a private key.
#[cfg(feature = "tls")]
fn check_key(path: &Path, pem: &[u8]) -> Result<(), SettingsError> {
    use rustls::pki_types::pem::{Error, PemObject as _};
    use rustls::pki_types::PrivateKeyDer;
    let problem = match PrivateKeyDer::from_pem_slice(pem) {
        Ok(_) => return Ok(()),
        Err(Error::NoItemsFound) => FileProblem::NoPrivateKey,
        Err(_) => FileProblem::NotPem,
    };
    Err(SettingsError::File { kind: FileKind::Key, path: RedactedPathBuf::from(path), problem })
}

/// Without TLS built in, a TLS setting is refused whatever the file holds.
#[cfg(not(feature = "tls"))]
fn check_certificates(_kind: FileKind, _path: &Path, _pem: &[u8]) -> Result<(), SettingsError> {
    Err(SettingsError::TlsNotBuilt)
}

/// Without TLS built in, a TLS setting is refused whatever the file holds.
#[cfg(not(feature = "tls"))]
fn check_key(_path: &Path, _pem: &[u8]) -> Result<(), SettingsError> {
    Err(SettingsError::TlsNotBuilt)
}
