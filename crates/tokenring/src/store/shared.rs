//! A key ring shared by every thread of a service and reloaded from its store without a
//! restart.
//!
//! Reads are lock-free (`arc-swap`): a verification loads the current ring with a few atomic
//! operations and never waits for a reload. A reload reads the store's document (a file, an
//! etcd key: any [`RingStore`]), and swaps in a new ring only if the bytes changed and parse;
//! on any failure the last good ring stays in place and the error is returned for the caller
//! to report. The library starts no threads: the caller decides when to reload (on a timer, on
//! a file event, on a watch, after its own update).

use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};

use crate::error::{Error, StoreError};
use crate::ring::fingerprint::Fingerprint;
use crate::ring::key::{Entropy, OsEntropy};
use crate::ring::keyring::KeyRing;
use crate::store::document::{change_not_applied, Created, Document, RingStore};
use crate::store::file::{FileStore, Loaded};

/// One version of the shared ring.
#[derive(Debug)]
struct Version {
    ring: KeyRing,
    generation: u64,
    /// SHA-256 of the document the ring was read from (or written to), if any.
    digest: Option<[u8; 32]>,
}

#[derive(Debug)]
struct Inner {
    current: ArcSwap<Version>,
    store: Option<Arc<dyn RingStore>>,
    /// Serializes reloads and updates; never taken by readers.
    writer: Mutex<()>,
}

/// A [`KeyRing`] shared across threads and reloaded in place.
///
/// Cloning is cheap (one reference count); every clone sees the same ring. Each change of the
/// ring increases its [`generation`](Self::generation), which with
/// [`content_fingerprint`](Self::content_fingerprint) is what a health check reports.
///
/// ```
/// use tokenring::{FileStore, Reloaded, SharedRing, Validation};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("tokenring-shared-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let now = 1_700_000_000; // a server uses tokenring::SystemClock
/// let (shared, _) = SharedRing::open_or_create(FileStore::new(dir.join("keys.json")), now)?;
/// let token = shared.ring().issue(&serde_json::json!({"sub": "3"}), 3600, now)?;
///
/// // On any thread: verify with whatever ring is current.
/// assert!(shared.ring().verify::<serde_json::Value>(&token, &Validation::new(), now).is_ok());
///
/// // On a timer or a file event: pick up a changed file, keep the last good ring otherwise.
/// assert_eq!(shared.reload()?, Reloaded::Unchanged);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SharedRing {
    inner: Arc<Inner>,
}

/// A reference to the ring that was current when [`SharedRing::ring`] was called.
#[derive(Debug)]
struct RingGuard(arc_swap::Guard<Arc<Version>>);

impl core::ops::Deref for RingGuard {
    type Target = KeyRing;

    fn deref(&self) -> &KeyRing {
        &self.0.ring
    }
}

/// What a [`SharedRing::reload`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reloaded {
    /// The store has the bytes the current ring was read from: nothing changed.
    Unchanged,
    /// A new ring was read and swapped in.
    Changed {
        /// The new ring's generation.
        generation: u64,
    },
}

fn digest(document: &[u8]) -> [u8; 32] {
    Sha256::digest(document).into()
}

impl SharedRing {
    /// A shared ring held in memory only: [`reload`](Self::reload) has no file to read, and
    /// [`update`](Self::update) changes the ring in place.
    pub fn new(ring: KeyRing) -> Self {
        Self::with(ring, None, None)
    }

    fn with(ring: KeyRing, store: Option<Arc<dyn RingStore>>, digest: Option<[u8; 32]>) -> Self {
        let version = Version { ring, generation: 1, digest };
        Self { inner: Arc::new(Inner { current: ArcSwap::from_pointee(version), store, writer: Mutex::new(()) }) }
    }

    /// Loads the ring from `store` (a [`FileStore`], or any other [`RingStore`]), whose
    /// document must exist: a missing one is an error, never a first start. What a node reading
    /// a key file that someone else writes (a mounted secret) uses.
    ///
    /// # Errors
    /// Those of [`FileStore::load`] for a file; for another store, its
    /// [`load_document`](RingStore::load_document)'s, its
    /// [`not_found_error`](RingStore::not_found_error) and its
    /// [`corrupt_error`](RingStore::corrupt_error).
    pub fn open(store: impl RingStore) -> Result<Self, StoreError> {
        Self::open_shared(Arc::new(store))
    }

    fn open_shared(store: Arc<dyn RingStore>) -> Result<Self, StoreError> {
        let document = store.load_document()?.ok_or_else(|| store.not_found_error())?;
        Self::of_document(store, &document)
    }

    fn of_document(store: Arc<dyn RingStore>, document: &Document) -> Result<Self, StoreError> {
        let ring = KeyRing::from_jwk_set(&document.bytes).map_err(|error| store.corrupt_error(error))?;
        let digest = digest(&document.bytes);
        Ok(Self::with(ring, Some(store), Some(digest)))
    }

    /// Loads the ring from `store`, or creates its document with a fresh key if there is none
    /// (the very first start of a service that owns its key file). Of processes that start
    /// together on an empty store, one creates the document and the others load it.
    ///
    /// # Errors
    /// Those of [`FileStore::load_or_create`] for a file; for another store, those of
    /// [`open`](Self::open) and its [`create_document`](RingStore::create_document).
    pub fn open_or_create(store: impl RingStore, now_secs: u64) -> Result<(Self, Loaded), Error> {
        Self::open_or_create_with(store, &mut OsEntropy, now_secs)
    }

    /// [`open_or_create`](Self::open_or_create) with a new key from `entropy` (a simulator's
    /// seeded generator).
    ///
    /// # Errors
    /// As [`open_or_create`](Self::open_or_create).
    pub fn open_or_create_with(
        store: impl RingStore,
        entropy: &mut impl Entropy,
        now_secs: u64,
    ) -> Result<(Self, Loaded), Error> {
        let store: Arc<dyn RingStore> = Arc::new(store);
        // The common case, an existing document, is read and parsed once; only a missing one is
        // created (or adopted, when another process created it first), then read back.
        if let Some(document) = store.load_document()? {
            return Ok((Self::of_document(store, &document)?, Loaded::Existing));
        }
        let ring = KeyRing::generate_with(entropy, now_secs)?;
        let loaded = match store.create_document(&ring.to_jwk_set())? {
            Created::Created(_) => Loaded::Created,
            // Another process created it first: use theirs, so both sign with the same key.
            Created::AlreadyExists => Loaded::Existing,
        };
        Ok((Self::open_shared(store)?, loaded))
    }

    /// The current ring. Lock-free. What it returns stays valid, and unchanged, while it is
    /// held, even if a reload swaps in a newer ring: hold it for one request, not longer.
    pub fn ring(&self) -> impl core::ops::Deref<Target = KeyRing> {
        RingGuard(self.inner.current.load())
    }

    /// The current ring's generation: 1 at the start, one more at every change.
    pub fn generation(&self) -> u64 {
        self.inner.current.load().generation
    }

    /// A log-safe fingerprint of the document the current ring was read from, to tell in a
    /// health check whether two nodes hold the same key set. `None` for a ring held in memory
    /// only.
    pub fn content_fingerprint(&self) -> Option<Fingerprint> {
        self.inner.current.load().digest.map(Fingerprint::of)
    }

    /// The key file this ring is read from: `None` for a ring held in memory only, and for a
    /// ring on another store (see [`ring_store`](Self::ring_store)).
    pub fn store(&self) -> Option<&FileStore> {
        self.inner.store.as_deref().and_then(|store| (store as &dyn Any).downcast_ref::<FileStore>())
    }

    /// The store this ring is read from, whatever it is; `None` for a ring held in memory only.
    pub fn ring_store(&self) -> Option<&dyn RingStore> {
        self.inner.store.as_deref()
    }

    /// Reads the store's document again and swaps in its ring if the bytes changed and parse.
    /// On any error the current ring stays in place. Without a store there is nothing to read:
    /// [`Reloaded::Unchanged`].
    ///
    /// # Errors
    /// Those of [`open`](Self::open): a missing, unreadable or damaged file or document.
    pub fn reload(&self) -> Result<Reloaded, StoreError> {
        let Some(store) = &self.inner.store else { return Ok(Reloaded::Unchanged) };
        let _writer = self.inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.reload_from(store.as_ref())
    }

    /// [`reload`](Self::reload) with the writer lock held.
    fn reload_from(&self, store: &dyn RingStore) -> Result<Reloaded, StoreError> {
        let document = store.load_document()?.ok_or_else(|| store.not_found_error())?;
        let document = document.bytes;
        let digest = digest(&document);
        let current = self.inner.current.load();
        if current.digest == Some(digest) {
            return Ok(Reloaded::Unchanged);
        }
        let ring = KeyRing::from_jwk_set(&document).map_err(|error| store.corrupt_error(error));
        canary!(ReloadEmptiesOnParseError => if ring.is_err() { self.swap(crate::canary::mutants::no_keys(), None); });
        Ok(Reloaded::Changed { generation: self.swap(ring?, Some(digest)) })
    }

    /// Makes `ring` the current ring, read from a document with `digest`, and returns its
    /// generation. Only with the writer lock held.
    fn swap(&self, ring: KeyRing, digest: Option<[u8; 32]>) -> u64 {
        let generation = self.inner.current.load().generation + 1;
        self.inner.current.store(Arc::new(Version { ring, generation, digest }));
        generation
    }

    /// Changes the ring: through the store's [`update_document`](RingStore::update_document)
    /// and a reload when the ring has a store, in memory otherwise. For a key file that is
    /// [`FileStore::update`] (locked, re-read, saved atomically); for another store, load,
    /// change and compare-and-swap, retried when another writer came first. Either way no
    /// other writer's change is lost, and `change` sees the ring as the last writer left it;
    /// it may run more than once (once per attempt), and only its last outcome is returned.
    ///
    /// # Errors
    /// Those of the store's update ([`FileStore::update`]'s for a file,
    /// [`StoreError::Conflict`] when other writers won every attempt) and of `change`, with
    /// the current ring unchanged; those of [`reload`](Self::reload) after a successful update.
    pub fn update<T>(&self, mut change: impl FnMut(&mut KeyRing) -> Result<T, Error>) -> Result<T, Error> {
        let _writer = self.inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = &self.inner.store {
            let mut outcome = None;
            store.update_document(&mut |ring| {
                outcome = Some(change(ring)?);
                Ok(())
            })?;
            self.reload_from(store.as_ref())?;
            return outcome.ok_or_else(|| change_not_applied(store.as_ref()).into());
        }
        let mut ring = self.inner.current.load().ring.clone();
        let outcome = change(&mut ring)?;
        self.swap(ring, None);
        Ok(outcome)
    }
}
