//! tokenring's key ring on etcd: the ring's JWK Set document under one etcd key, behind the
//! core's [`RingStore`] seam, so that a [`SharedRing`](tokenring::SharedRing) on it opens,
//! reloads and updates with the core's own rules.
//!
//! - load: a range read of the key, its `mod_revision` as the version;
//! - create: a transaction that puts the document only if the key's `create_revision` is 0
//!   (there is no such key);
//! - swap: a transaction that puts the document only if the key's `mod_revision` is still the
//!   one read. The core's update retries on a conflict
//!   ([`SWAP_ATTEMPTS_MAX`](tokenring::limits::SWAP_ATTEMPTS_MAX)), so concurrent rotations from
//!   any number of hosts lose nothing.
//!
//! ```no_run
//! use tokenring::{Clock, Rotation, SharedRing, SystemClock};
//! use tokenring_etcd::{Credentials, EtcdStore};
//! # fn main() -> Result<(), tokenring::Error> {
//! let store = EtcdStore::connect_url("etcd://10.0.0.5:2379/myapp/keys", Credentials::from_env()?)?;
//! let shared = SharedRing::open(store)?; // a missing key is an error, never a first start
//! let now = SystemClock.now_secs();
//! shared.update(|ring| Ok(ring.rotate_if_older_than(7 * 86_400, &Rotation::new(), now)?))?;
//! # Ok(()) }
//! ```
//!
//! # Blocking calls over an asynchronous client
//!
//! The core's seam is synchronous (the command-line tool and the file store block), and
//! `etcd-client` is asynchronous. Each store owns a current-thread tokio runtime, which starts
//! no thread: every call blocks the calling thread on that runtime, bounded by
//! [`REQUEST_TIMEOUT`]. Call it from blocking contexts only: a plain thread, a `main`, or
//! `tokio::task::spawn_blocking` in an asynchronous service (tokenring-axum's reloader reloads
//! there). Called on a tokio worker thread it panics, as every nested `block_on` does.
//!
//! # Watching
//!
//! [`EtcdWatch`] waits, on the service's own runtime, for the next change of the key, so that a
//! reloader can reload at once instead of at its next poll; the poll stays as the backstop, and
//! a lost watch (connection, compaction) says so and resumes at the next call. With its `etcd`
//! feature, `tokenring-axum`'s reloader takes it as a wake source (`Reloader::spawn_with`).
//!
//! Nothing here prints a credential or a value: the store's `Debug` and every error name it
//! as `etcd://HOST:PORT/KEY`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod watch;

pub use crate::watch::{EtcdWatch, WatchEvent, WATCH_RETRY};

use core::fmt;
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, ConnectOptions, Txn, TxnOp};
use tokenring::{Created, Document, Error, RingStore, StoreError, StoreName, StoreOp, StoreVersion, Swapped};
use zeroize::Zeroizing;

/// Longest a request to etcd (a read, a transaction) may take before it is reported
/// [`StoreError::Unavailable`]; the ring in memory keeps serving meanwhile.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request failed when etcd cannot be reached, however the connection was lost.
const UNREACHABLE: &str = "cannot reach etcd";

/// Longest the first connection to etcd may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest `etcd://HOST:PORT/KEY` accepted, in bytes.
pub const URL_LEN_MAX: usize = 1024;

/// The environment variables [`Credentials::from_env`] reads.
pub const USER_VAR: &str = "TOKENRING_ETCD_USER";
/// The password, given directly.
pub const PASSWORD_VAR: &str = "TOKENRING_ETCD_PASSWORD";
/// The path of a file holding the password (its first line), instead of [`PASSWORD_VAR`].
pub const PASSWORD_FILE_VAR: &str = "TOKENRING_ETCD_PASSWORD_FILE";

/// A user name and password for etcd's authentication; none by default. Never printed.
#[derive(Clone, Default)]
pub struct Credentials {
    user: Option<(String, Zeroizing<String>)>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.user.is_some() { "Credentials(user and password)" } else { "Credentials(none)" })
    }
}

impl Credentials {
    /// No authentication.
    pub fn none() -> Self {
        Self::default()
    }

    /// Authenticate as `user` with `password`.
    pub fn user(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self { user: Some((user.into(), Zeroizing::new(password.into()))) }
    }

    /// From the environment: [`USER_VAR`] and either [`PASSWORD_VAR`] or [`PASSWORD_FILE_VAR`]
    /// (the file's first line); none when [`USER_VAR`] is unset.
    ///
    /// # Errors
    /// [`Error::Store`] when a user is named without a password, or the password file cannot
    /// be read (the error names the variable, not the password).
    pub fn from_env() -> Result<Self, Error> {
        let Some(user) = std::env::var_os(USER_VAR) else { return Ok(Self::none()) };
        let user = user.to_string_lossy().into_owned();
        let refused = |reason| StoreError::Unavailable { store: StoreName::new("etcd"), op: StoreOp::Read, reason };
        let password = match (std::env::var(PASSWORD_VAR), std::env::var_os(PASSWORD_FILE_VAR)) {
            (Ok(password), _) => Zeroizing::new(password),
            (Err(_), Some(file)) => {
                let text = Zeroizing::new(
                    std::fs::read_to_string(file)
                        .map_err(|_| refused("cannot read the file TOKENRING_ETCD_PASSWORD_FILE names"))?,
                );
                Zeroizing::new(text.lines().next().unwrap_or_default().to_owned())
            }
            (Err(_), None) => {
                return Err(refused(
                    "TOKENRING_ETCD_USER is set without TOKENRING_ETCD_PASSWORD or TOKENRING_ETCD_PASSWORD_FILE",
                )
                .into())
            }
        };
        Ok(Self { user: Some((user, password)) })
    }
}

/// Why `etcd://HOST:PORT/KEY` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// It does not start with `etcd://`.
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
            Self::Scheme => "an etcd key set is named etcd://HOST:PORT/KEY",
            Self::Credentials => "an etcd URL must not hold a user or password (not shown); set TOKENRING_ETCD_USER and TOKENRING_ETCD_PASSWORD or TOKENRING_ETCD_PASSWORD_FILE",
            Self::Endpoint => "an etcd URL needs HOST:PORT with a numeric port: etcd://HOST:PORT/KEY",
            Self::Key => "an etcd URL needs a key after HOST:PORT: etcd://HOST:PORT/KEY",
            Self::TooLong => "the etcd URL is too long",
        })
    }
}

impl std::error::Error for UrlError {}

/// `etcd://HOST:PORT/KEY` split into `HOST:PORT` and the key (`/KEY`, its leading slash kept:
/// `etcd://10.0.0.5:2379/myapp/keys` is the key `/myapp/keys`).
///
/// # Errors
/// [`UrlError`], naming what is wrong; a URL with a user or password is refused without
/// printing them.
pub fn parse_url(url: &str) -> Result<(String, String), UrlError> {
    if url.len() > URL_LEN_MAX {
        return Err(UrlError::TooLong);
    }
    let rest = url.strip_prefix("etcd://").ok_or(UrlError::Scheme)?;
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
    Ok((endpoint.to_owned(), key.to_owned()))
}

/// The ring's document under one etcd key. See the [crate documentation](crate).
pub struct EtcdStore {
    endpoint: String,
    key: String,
    client: Client,
    /// Always `Some` until the store is dropped; see the `Drop` below.
    runtime: Option<tokio::runtime::Runtime>,
}

/// A service's last reference to its ring, and so to this store, is often dropped on one of
/// its runtime's threads, where a runtime may not block to shut down: this one is told to shut
/// down without waiting. Nothing is lost by not waiting: every request ran to its end inside
/// `block_on`, and what remains are the client's connection tasks, which the drop ends.
impl Drop for EtcdStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// `EtcdStore(etcd://HOST:PORT/KEY)`: no credential, no value.
impl fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EtcdStore({})", self.store_name())
    }
}

impl EtcdStore {
    /// Connects to etcd at `endpoint` (`HOST:PORT`, plain HTTP) for the document under `key`.
    /// Nothing is read yet.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when etcd cannot be reached within [`CONNECT_TIMEOUT`] or
    /// refuses the credentials.
    pub fn connect(endpoint: &str, key: &str, credentials: Credentials) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|_| {
            StoreError::Unavailable {
                store: name(endpoint, key),
                op: StoreOp::Read,
                reason: "cannot start the runtime that drives the etcd client",
            }
        })?;
        let mut options = ConnectOptions::new().with_connect_timeout(CONNECT_TIMEOUT).with_timeout(REQUEST_TIMEOUT);
        if let Some((user, password)) = &credentials.user {
            options = options.with_user(user.clone(), password.as_str());
        }
        let connecting = Client::connect([format!("http://{endpoint}")], Some(options));
        let client = runtime
            .block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, connecting).await })
            .map_err(|_| "timed out")
            .and_then(|connected| connected.map_err(reason))
            .map_err(|reason| StoreError::Unavailable { store: name(endpoint, key), op: StoreOp::Read, reason })?;
        Ok(Self { endpoint: endpoint.to_owned(), key: key.to_owned(), client, runtime: Some(runtime) })
    }

    /// [`connect`](Self::connect) to what `etcd://HOST:PORT/KEY` names.
    ///
    /// # Errors
    /// A refused URL ([`UrlError`], as [`StoreError::Unavailable`] naming the reason, the URL
    /// not shown), and those of [`connect`](Self::connect).
    pub fn connect_url(url: &str, credentials: Credentials) -> Result<Self, StoreError> {
        let (endpoint, key) = parse_url(url).map_err(|error| StoreError::Unavailable {
            store: StoreName::new("etcd"),
            op: StoreOp::Read,
            reason: match error {
                UrlError::Scheme => "not an etcd://HOST:PORT/KEY URL",
                UrlError::Credentials => "the URL holds a user or password; use the environment or a file",
                UrlError::Endpoint => "the URL has no HOST:PORT with a numeric port",
                UrlError::Key => "the URL has no key after HOST:PORT",
                UrlError::TooLong => "the URL is too long",
            },
        })?;
        Self::connect(&endpoint, &key, credentials)
    }

    /// The key the document is under.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Runs one request on the store's runtime, bounded by [`REQUEST_TIMEOUT`].
    fn run<T>(
        &self,
        op: StoreOp,
        request: impl core::future::Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, StoreError> {
        let runtime = self.runtime.as_ref().expect("the runtime lives until the store is dropped");
        runtime
            .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, request).await })
            .map_err(|_| "timed out")
            .and_then(|done| done.map_err(reason))
            .map_err(|reason| StoreError::Unavailable { store: self.store_name(), op, reason })
    }

    /// Puts `document` if `compare` holds; the new revision, or `None` when it did not.
    fn put_if(&self, compare: Compare, document: &str) -> Result<Option<u64>, StoreError> {
        let mut kv = self.client.kv_client();
        let txn = Txn::new().when([compare]).and_then([TxnOp::put(self.key.as_str(), document, None)]);
        let response = self.run(StoreOp::Write, kv.txn(txn))?;
        if !response.succeeded() {
            return Ok(None);
        }
        let revision = response.header().map(|header| header.revision()).unwrap_or_default();
        Ok(Some(u64::try_from(revision).unwrap_or_default()))
    }
}

/// `etcd://HOST:PORT/KEY`.
fn name(endpoint: &str, key: &str) -> StoreName {
    StoreName::new(format!("etcd://{endpoint}{key}"))
}

/// A reason for a failed request, in words that hold nothing the server or the request said.
///
/// Every way a lost connection shows (refused, reset, a stream canceled or broken mid-request)
/// gets the same words, [`UNREACHABLE`]: an outage is then one failure, which a reloader reports
/// once, not one per way the client happened to notice it.
fn reason(error: etcd_client::Error) -> &'static str {
    use etcd_client::Error as E;
    match error {
        E::GRpcStatus(status) => match status.code() as i32 {
            grpc_code::UNAUTHENTICATED => "etcd refused the credentials",
            grpc_code::PERMISSION_DENIED => "etcd denied access to the key",
            grpc_code::DEADLINE_EXCEEDED => "timed out",
            grpc_code::UNAVAILABLE | grpc_code::CANCELLED | grpc_code::UNKNOWN => UNREACHABLE,
            _ => "etcd refused the request",
        },
        E::TransportError(_) | E::IoError(_) => UNREACHABLE,
        E::InvalidUri(_) | E::InvalidArgs(_) | E::EndpointError(_) => "the endpoint is not a valid HOST:PORT",
        _ => "the etcd request failed",
    }
}

/// The gRPC status codes told apart (numbered by the gRPC protocol; `etcd-client` does not
/// re-export tonic's `Code`).
mod grpc_code {
    pub(crate) const CANCELLED: i32 = 1;
    pub(crate) const UNKNOWN: i32 = 2;
    pub(crate) const DEADLINE_EXCEEDED: i32 = 4;
    pub(crate) const PERMISSION_DENIED: i32 = 7;
    pub(crate) const UNAVAILABLE: i32 = 14;
    pub(crate) const UNAUTHENTICATED: i32 = 16;
}

impl RingStore for EtcdStore {
    fn store_name(&self) -> StoreName {
        name(&self.endpoint, &self.key)
    }

    fn load_document(&self) -> Result<Option<Document>, StoreError> {
        let mut kv = self.client.kv_client();
        let response = self.run(StoreOp::Read, kv.get(self.key.as_str(), None))?;
        Ok(response.kvs().first().map(|pair| Document {
            bytes: Zeroizing::new(pair.value().to_vec()),
            version: StoreVersion::revision(u64::try_from(pair.mod_revision()).unwrap_or_default()),
        }))
    }

    fn create_document(&self, document: &str) -> Result<Created, StoreError> {
        let absent = Compare::create_revision(self.key.as_str(), CompareOp::Equal, 0);
        Ok(match self.put_if(absent, document)? {
            Some(revision) => Created::Created(StoreVersion::revision(revision)),
            None => Created::AlreadyExists,
        })
    }

    fn swap_document(&self, expected: &StoreVersion, document: &str) -> Result<Swapped, StoreError> {
        // A version this store did not make (a digest) cannot be the key's revision.
        let Some(revision) = expected.as_revision().and_then(|revision| i64::try_from(revision).ok()) else {
            return Ok(Swapped::Conflict);
        };
        let unchanged = Compare::mod_revision(self.key.as_str(), CompareOp::Equal, revision);
        Ok(match self.put_if(unchanged, document)? {
            Some(revision) => Swapped::Swapped(StoreVersion::revision(revision)),
            None => Swapped::Conflict,
        })
    }
}
