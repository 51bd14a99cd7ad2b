//! Exit codes and the failures that lead to them.
//!
//! Every message is built from constants, numbers, key identifiers, the key file's path (through
//! `RedactedPath`, which hides a path that looks like a token) and the
//! library's own `Display` texts, which never contain a token, a signature or key bytes.

use std::fmt;
use std::io;
use std::path::PathBuf;

use tokenring::{Fingerprint, KeyError, RedactedPath, Rejection, Severity, SignError, StoreError};

use crate::output;

/// The command did what was asked.
pub(crate) const SUCCESS: u8 = 0;
/// `verify` rejected the token, or `inspect` was given something that is not a token.
pub(crate) const REJECTED: u8 = 1;
/// The command line, a key file or an I/O operation was at fault.
pub(crate) const USAGE: u8 = 2;

/// Why a command did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A command-line value that parsed but cannot be used.
    Usage(String),
    /// A key file could not be read, written or trusted.
    Store {
        /// The key file, as given on the command line.
        path: PathBuf,
        /// What went wrong.
        error: StoreError,
        /// A suggestion for the user, if there is an obvious one.
        hint: Option<&'static str>,
    },
    /// A key set in a store other than a file (etcd) could not be read, written or trusted:
    /// the error names the store.
    #[cfg_attr(not(feature = "etcd"), allow(dead_code))]
    Remote {
        /// What went wrong.
        error: StoreError,
        /// A suggestion for the user, if there is an obvious one.
        hint: Option<&'static str>,
    },
    /// A key operation (generation, rotation) failed.
    Key(KeyError),
    /// Signing failed.
    Sign(SignError),
    /// Reading standard input or writing standard output failed.
    Io {
        /// What was being done, as a verb phrase.
        doing: &'static str,
        /// The operating system's error kind.
        kind: io::ErrorKind,
    },
    /// `verify` refused the token.
    Rejected {
        /// The library's verdict.
        rejection: Rejection,
        /// The token's log-safe fingerprint.
        fingerprint: Fingerprint,
    },
    /// `inspect` could not find a token in its input.
    NotAToken(String),
}

impl Failure {
    /// The process exit code for this failure.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Rejected { .. } | Self::NotAToken(_) => REJECTED,
            Self::Usage(_)
            | Self::Store { .. }
            | Self::Remote { .. }
            | Self::Key(_)
            | Self::Sign(_)
            | Self::Io { .. } => USAGE,
        }
    }

    /// Writes the failure to standard error and returns the exit code.
    pub(crate) fn report(&self) -> u8 {
        output::stderr(&self.to_string());
        self.exit_code()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected { rejection, fingerprint } => {
                let severity = match rejection.severity() {
                    Severity::Routine => "routine",
                    // `Severity` may grow; anything not known to be routine deserves attention.
                    _ => "suspicious",
                };
                write!(
                    f,
                    "rejected: {}\n{} ({severity}; token fingerprint {fingerprint})",
                    rejection.code(),
                    explain(rejection)
                )
            }
            Self::Usage(message) => write!(f, "tokenring: error: {message}"),
            Self::Store { path, error, hint } => {
                write!(f, "tokenring: error: {}: ", RedactedPath::new(path))?;
                match error {
                    // The library's wording ("damaged") suits a server's own file; here the file
                    // may just as well be someone else's key set that is not for HS256.
                    StoreError::Corrupt { error, .. } => {
                        write!(f, "not a usable HS256 key file (left untouched): {error}")?;
                    }
                    // The path leads the line already.
                    StoreError::NotFound { .. } => f.write_str("key file does not exist")?,
                    StoreError::AlreadyExists { .. } => f.write_str("key file already exists")?,
                    StoreError::Locked { .. } => f.write_str("key file is locked by another writer; try again")?,
                    other => write!(f, "{other}")?,
                }
                match hint {
                    Some(hint) => write!(f, " ({hint})"),
                    None => Ok(()),
                }
            }
            Self::Remote { error, hint } => {
                write!(f, "tokenring: error: {error}")?;
                match hint {
                    Some(hint) => write!(f, " ({hint})"),
                    None => Ok(()),
                }
            }
            Self::Key(error) => write!(f, "tokenring: error: {error}"),
            Self::Sign(error) => write!(f, "tokenring: error: cannot sign: {error}"),
            Self::Io { doing, kind } => write!(f, "tokenring: error: cannot {doing}: {}", io::Error::from(*kind)),
            Self::NotAToken(reason) => write!(f, "tokenring: error: input is not a token: {reason}"),
        }
    }
}

/// A sentence about a rejection, without its code.
fn explain(rejection: &Rejection) -> String {
    // The library's explanation of these two is the bare claim name; say what is wrong with it.
    match rejection {
        Rejection::MissingClaim(claim) => format!("required claim `{claim}` is absent"),
        Rejection::InvalidClaim(claim) => format!("claim `{claim}` has the wrong type"),
        other => other.explanation().to_owned(),
    }
}

impl From<KeyError> for Failure {
    fn from(error: KeyError) -> Self {
        Self::Key(error)
    }
}

impl From<SignError> for Failure {
    fn from(error: SignError) -> Self {
        Self::Sign(error)
    }
}
