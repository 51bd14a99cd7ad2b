//! [`RingStore`]: the seam between a [`SharedRing`](crate::SharedRing) and the one document its
//! ring is kept in, wherever that is: a file ([`FileStore`](crate::FileStore)), a key of a
//! distributed store such as etcd (`tokenring-etcd`), a test's memory.
//!
//! A store holds one JWK Set document and tells its version: an opaque value that changes with
//! every write (a file's digest, an etcd key's `mod_revision`). Writers never overwrite blindly:
//! [`create_document`](RingStore::create_document) writes only where there is no document, and
//! [`swap_document`](RingStore::swap_document) only if the document is still the version read.
//! An update is then: load, apply the change to the ring, swap; on a conflict (another writer
//! came first) load again and apply the change to what that writer left, at most
//! [`SWAP_ATTEMPTS_MAX`] times. Concurrent rotations from any number of hosts lose nothing, and
//! a conditional one (`rotate_if_older_than`) sees the key the winner added.

use core::fmt;
use std::any::Any;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, KeySetError, StoreError, StoreOp};
use crate::limits::SWAP_ATTEMPTS_MAX;
use crate::ring::fingerprint::Fingerprint;
use crate::ring::keyring::KeyRing;
use crate::store::path::looks_like_a_token;

/// The version of a store's document: equal for the same write, different after any other.
///
/// Opaque to the ring: it is only handed back to [`RingStore::swap_document`]. A store makes it
/// from a revision number its back end keeps ([`revision`](Self::revision)) or from the
/// document's bytes ([`digest_of`](Self::digest_of)); with a digest, a rewrite of the same bytes
/// keeps the version, which is harmless for a swap: a change applied to equal bytes gives equal
/// bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreVersion(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    Revision(u64),
    Digest([u8; 32]),
}

impl StoreVersion {
    /// A version the back end numbers (an etcd key's `mod_revision`).
    pub fn revision(revision: u64) -> Self {
        Self(Repr::Revision(revision))
    }

    /// The revision number, for a version made by [`revision`](Self::revision): what a store
    /// numbering its writes compares against in a swap. `None` for a digest.
    pub fn as_revision(&self) -> Option<u64> {
        match self.0 {
            Repr::Revision(revision) => Some(revision),
            Repr::Digest(_) => None,
        }
    }

    /// The version of `document` as its SHA-256 digest: for a store that keeps no revision (a
    /// file).
    pub fn digest_of(document: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        Self(Repr::Digest(Sha256::digest(document).into()))
    }
}

/// A revision prints as its number; a digest, being a digest of key material, only as its
/// log-safe [`Fingerprint`].
impl fmt::Debug for StoreVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Revision(revision) => write!(f, "StoreVersion(revision {revision})"),
            Repr::Digest(digest) => write!(f, "StoreVersion(digest {})", Fingerprint::of(*digest)),
        }
    }
}

/// A store's document as loaded: its bytes (zeroized when dropped) and their version.
pub struct Document {
    /// The JWK Set document, as stored.
    pub bytes: Zeroizing<Vec<u8>>,
    /// Its version, for [`RingStore::swap_document`].
    pub version: StoreVersion,
}

/// The bytes are key material: only their length and version are shown.
impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document").field("len", &self.bytes.len()).field("version", &self.version).finish()
    }
}

/// What [`RingStore::create_document`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Created {
    /// There was no document; this one was written, and has this version.
    Created(StoreVersion),
    /// A document exists (another writer's): nothing was written.
    AlreadyExists,
}

/// What [`RingStore::swap_document`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Swapped {
    /// The document was still the version expected and is now the new one, with this version.
    Swapped(StoreVersion),
    /// The document is no longer the version expected (another writer came first, or it was
    /// removed): nothing was written.
    Conflict,
}

/// How a store is named in messages and logs: `etcd://10.0.0.5:2379/tokenring/keys`, a file's
/// path. Never a credential: a store builds its name from what identifies the document (host,
/// port, key, path), leaving out user names, passwords and tokens. A name that looks like a
/// token anyway (one pasted where a key's name belongs) prints as a fixed text, as
/// [`RedactedPath`](crate::RedactedPath) does for paths.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreName(String);

impl StoreName {
    /// The name `name`, which must hold no credential (see the type's documentation).
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }
}

impl fmt::Display for StoreName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if looks_like_a_token(Path::new(&self.0)) {
            f.write_str("<name not shown: it looks like a token>")
        } else {
            f.write_str(&self.0)
        }
    }
}

/// As its `Display`.
impl fmt::Debug for StoreName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreName({self})")
    }
}

/// A place that keeps one JWK Set document with a version: what a
/// [`SharedRing`](crate::SharedRing) opens, reloads and updates.
///
/// The methods are blocking: a store on an asynchronous client drives it from inside (see
/// `tokenring-etcd`), and is called from blocking contexts only (a command-line tool, a
/// reloader's `spawn_blocking`). Errors name the store by its [`StoreName`] and never hold the
/// document's bytes.
pub trait RingStore: Any + Send + Sync + fmt::Debug {
    /// The name messages and logs print for this store.
    fn store_name(&self) -> StoreName;

    /// The document and its version; `None` when there is none (never a reason to create one:
    /// see [`create_document`](Self::create_document)).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn load_document(&self) -> Result<Option<Document>, StoreError>;

    /// Writes `document` only if there is no document yet.
    ///
    /// # Errors
    /// When the store cannot be written; an existing document is [`Created::AlreadyExists`].
    fn create_document(&self, document: &str) -> Result<Created, StoreError>;

    /// Writes `document` only if the stored one is still at version `expected`; atomically:
    /// two writers swapping from the same version never both succeed.
    ///
    /// # Errors
    /// When the store cannot be read or written; another writer's change is
    /// [`Swapped::Conflict`].
    fn swap_document(&self, expected: &StoreVersion, document: &str) -> Result<Swapped, StoreError>;

    /// The error for a store without a document where one must be.
    fn not_found_error(&self) -> StoreError {
        StoreError::DocumentNotFound { store: self.store_name() }
    }

    /// The error for a document that is not a usable key set.
    fn corrupt_error(&self, error: KeySetError) -> StoreError {
        StoreError::DocumentCorrupt { store: self.store_name(), error }
    }

    /// Applies `change` to the stored ring: a read-modify-write that loses no other writer's
    /// change. `change` may run more than once, each time on a freshly loaded ring; the
    /// document is written only if the change changed it.
    ///
    /// The default is optimistic: load, change, [`swap_document`](Self::swap_document), and on
    /// a conflict again, at most [`SWAP_ATTEMPTS_MAX`] times. A store with an exclusive lock of
    /// its own may hold it across the change instead (the file store does: a second writer on
    /// the host waits for the first, and the change runs once).
    ///
    /// # Errors
    /// A missing document ([`not_found_error`](Self::not_found_error)), a corrupt one
    /// ([`corrupt_error`](Self::corrupt_error)), [`StoreError::Conflict`] when other writers
    /// won every attempt, the store's own errors, and whatever `change` returns (then nothing
    /// is written).
    fn update_document(&self, change: &mut dyn FnMut(&mut KeyRing) -> Result<(), Error>) -> Result<(), Error> {
        update_by_swap(self, change)
    }
}

/// [`RingStore::update_document`]'s default: load, change, swap, retried on conflict.
pub(crate) fn update_by_swap<S: RingStore + ?Sized>(
    store: &S,
    change: &mut dyn FnMut(&mut KeyRing) -> Result<(), Error>,
) -> Result<(), Error> {
    for _ in 0..SWAP_ATTEMPTS_MAX {
        let document = store.load_document()?.ok_or_else(|| store.not_found_error())?;
        let (mut ring, dropped_secret) =
            KeyRing::parse_jwk_set(&document.bytes).map_err(|error| store.corrupt_error(error))?;
        let before = ring.to_jwk_set();
        change(&mut ring)?;
        let after = ring.to_jwk_set();
        // A document written by an earlier version that holds a revoked key's secret is written
        // again without it, even when the change changed nothing (as the file store does).
        if after == before && !dropped_secret {
            return Ok(());
        }
        match store.swap_document(&document.version, &after)? {
            Swapped::Swapped(_) => return Ok(()),
            Swapped::Conflict => {
                canary!(SwapConflictIgnored => return Ok(()));
            }
        }
    }
    Err(StoreError::Conflict { store: store.store_name(), attempts: SWAP_ATTEMPTS_MAX }.into())
}

/// The error for a store that reported success without applying the change: a broken
/// [`RingStore::update_document`].
pub(crate) fn change_not_applied(store: &dyn RingStore) -> StoreError {
    StoreError::Unavailable {
        store: store.store_name(),
        op: StoreOp::Write,
        reason: "the store did not apply the change",
    }
}
