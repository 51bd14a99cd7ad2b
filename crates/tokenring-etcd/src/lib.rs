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
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // TOKENRING_ETCD_CA_FILE (and a user and password, or a client certificate) from the
//! // environment; every file is read and checked here.
//! let credentials = Credentials::from_env()?;
//! let store = EtcdStore::connect_url("etcds://10.0.0.5:2379/myapp/keys", credentials)?;
//! let shared = SharedRing::open(store)?; // a missing key is an error, never a first start
//! let now = SystemClock.now_secs();
//! shared.update(|ring| Ok(ring.rotate_if_older_than(7 * 86_400, &Rotation::new(), now)?))?;
//! # Ok(()) }
//! ```
//!
//! # TLS and authentication
//!
//! `etcds://HOST:PORT/KEY` connects over TLS (the default feature `tls`: rustls with the ring
//! provider, through `etcd-client`), `etcd://` in plain text. The [`Credentials`] say how:
//!
//! | variable ([`Credentials::from_env`]) | in code | what |
//! |---|---|---|
//! | [`CA_FILE_VAR`] `TOKENRING_ETCD_CA_FILE` | [`Tls::from_ca_file`] | PEM certificates of the authorities etcd's certificate is checked against; required for `etcds://`, refused with `etcd://` |
//! | [`CERT_FILE_VAR`], [`KEY_FILE_VAR`] | [`Tls::client_identity_files`] | a client certificate and its key, both or neither, for etcd's `--client-cert-auth` |
//! | [`USER_VAR`], [`PASSWORD_VAR`] or [`PASSWORD_FILE_VAR`] | [`Credentials::user`] | etcd's user name and password authentication |
//!
//! Files are checked before they are read (a regular file, at most [`CERTIFICATE_FILE_LEN_MAX`],
//! [`KEY_FILE_LEN_MAX`] or [`PASSWORD_FILE_LEN_MAX`] bytes) and parsed when the credentials
//! are built: a missing or wrong file is a [`SettingsError`] naming it. Credentials never come
//! from the URL ([`UrlError::Credentials`]).
//!
//! A failed request says which of two things happened. [`StoreError::Unavailable`]: etcd could
//! not be reached or did not answer in time, and trying again later may work.
//! [`StoreError::Refused`]: etcd answered and refused this client (its certificate is not
//! signed by a trusted authority, it refused the client certificate, or the user name and
//! password), and nothing changes until the settings do.
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
//! Nothing here prints a credential, a key, a certificate or a value: the store's `Debug` and
//! every error name it as `etcd://HOST:PORT/KEY` (or `etcds://`), and files by their paths.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connection;
mod settings;
mod url;
mod watch;

pub use crate::settings::{
    Credentials, FileKind, FileProblem, SettingsError, Tls, CA_FILE_VAR, CERTIFICATE_FILE_LEN_MAX, CERT_FILE_VAR,
    KEY_FILE_LEN_MAX, KEY_FILE_VAR, PASSWORD_FILE_LEN_MAX, PASSWORD_FILE_VAR, PASSWORD_VAR, USER_VAR,
};
pub use crate::url::{parse_url, EtcdUrl, UrlError, URL_LEN_MAX};
pub use crate::watch::{EtcdWatch, WatchEvent, WATCH_RETRY};

use core::fmt;
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, GetOptions, Txn, TxnOp};
use tokenring::{Created, Document, RingStore, StoreError, StoreName, StoreOp, StoreVersion, Swapped};
use zeroize::Zeroizing;

use crate::connection::{connect_client, failure, name, settle, Failure, Use};

/// Longest a request to etcd (a read, a transaction) may take before it is reported
/// [`StoreError::Unavailable`]; the ring in memory keeps serving meanwhile.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest the first connection to etcd may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The ring's document under one etcd key. See the [crate documentation](crate).
pub struct EtcdStore {
    endpoint: String,
    key: String,
    credentials: Credentials,
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

/// `EtcdStore(etcd://HOST:PORT/KEY)` (`etcds://` over TLS): no credential, no value.
impl fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EtcdStore({})", self.store_name())
    }
}

impl EtcdStore {
    /// Connects to etcd at `endpoint` (`HOST:PORT`) for the document under `key`, over TLS
    /// when `credentials` hold [`Tls`] (plain text otherwise), authenticating with their user
    /// name and password if any. Nothing is read yet: a TLS handshake that fails shows at the
    /// first request.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when etcd cannot be reached within [`CONNECT_TIMEOUT`];
    /// [`StoreError::Refused`] when it refuses the user name and password, or the client
    /// certificate and key do not belong together.
    pub fn connect(endpoint: &str, key: &str, credentials: Credentials) -> Result<Self, StoreError> {
        let store = name(endpoint, key, credentials.is_tls());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|_| {
            StoreError::Unavailable {
                store: store.clone(),
                op: StoreOp::Read,
                reason: "cannot start the runtime that drives the etcd client",
            }
        })?;
        let client = runtime
            .block_on(connect_client(endpoint, &credentials, Use::Requests))
            .map_err(|failure| failure.into_error(store, StoreOp::Read))?;
        Ok(Self { endpoint: endpoint.to_owned(), key: key.to_owned(), credentials, client, runtime: Some(runtime) })
    }

    /// [`connect`](Self::connect) to what `etcd://HOST:PORT/KEY` or `etcds://HOST:PORT/KEY`
    /// names. The credentials must agree with the scheme: [`Tls`] for `etcds://`, none for
    /// `etcd://` ([`EtcdUrl::check`]).
    ///
    /// # Errors
    /// A refused URL ([`UrlError`]) or credentials that disagree with it ([`SettingsError`]),
    /// as [`StoreError::Unavailable`] naming the reason, the URL not shown; and those of
    /// [`connect`](Self::connect).
    pub fn connect_url(url: &str, credentials: Credentials) -> Result<Self, StoreError> {
        let refused = |reason| StoreError::Unavailable { store: StoreName::new("etcd"), op: StoreOp::Read, reason };
        let url = parse_url(url).map_err(|error| {
            refused(match error {
                UrlError::Scheme => "not an etcd://HOST:PORT/KEY or etcds://HOST:PORT/KEY URL",
                UrlError::Credentials => "the URL holds a user or password; use the environment or a file",
                UrlError::Endpoint => "the URL has no HOST:PORT with a numeric port",
                UrlError::Key => "the URL has no key after HOST:PORT",
                UrlError::TooLong => "the URL is too long",
            })
        })?;
        url.check(&credentials).map_err(|error| {
            refused(match error {
                SettingsError::PlainUrlWithTls => {
                    "TLS settings are given but the URL is etcd://, which is plain text: use etcds://"
                }
                _ => "an etcds:// URL needs TLS settings (a CA certificate)",
            })
        })?;
        Self::connect(url.endpoint(), url.key(), credentials)
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
            .block_on(async {
                let attempt = async {
                    let failed = match request.await {
                        Ok(done) => return Ok(done),
                        Err(error) => failure(&error, &self.credentials),
                    };
                    // The probe is a read of the key's count: it changes nothing, unlike
                    // running a write again.
                    let mut kv = self.client.kv_client();
                    let probe = kv.get(self.key.as_str(), Some(GetOptions::new().with_count_only()));
                    Err(settle(failed, &self.credentials, probe).await)
                };
                tokio::time::timeout(REQUEST_TIMEOUT, attempt).await.unwrap_or(Err(Failure::Unavailable("timed out")))
            })
            .map_err(|failure| failure.into_error(self.store_name(), op))
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

impl RingStore for EtcdStore {
    fn store_name(&self) -> StoreName {
        name(&self.endpoint, &self.key, self.credentials.is_tls())
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
