//! A key ring persisted as a JWK Set file.
//!
//! Writes are atomic: the new document goes to a temporary file in the same directory (mode
//! 0600), is flushed to disk, renamed over the old file, and the directory is flushed too.
//! A crash leaves either the old file or the new one, never a torn one.
//!
//! A file that exists but cannot be read or parsed is an error, and its bytes are left as they
//! are: silently replacing it with a fresh key would log every user out and hide the fault.
//!
//! Every write holds an exclusive advisory lock on a lock file beside the key file
//! (`.<name>.lock`, never removed: removing a lock file lets two writers lock two different
//! files): a read-modify-write ([`FileStore::update`]) for all of it, re-reading the key file
//! under the lock so that concurrent rotations never lose a key; [`FileStore::save`] and
//! [`FileStore::create`] while they write the temporary file and rename or link it. Readers
//! take no lock: the atomic rename is all they need, which is what lets a read-only mount (a
//! Kubernetes Secret volume) be read.
//!
//! A write that crashed leaves its temporary file behind, holding key material (mode 0600) that
//! may outlive the key's forget time. Because every writer holds the lock for as long as its
//! temporary file exists, and the operating system releases the lock of a process that dies, a
//! writer that has the lock knows that no other writer is between writing a temporary file and
//! renaming it: every temporary file it finds is a leftover. It removes them (best effort, at
//! most [`LEFTOVERS_REMOVED_MAX`]) before it writes its own, so a leftover lasts only until the
//! next successful write, and leftovers never use up the temporary names (the process id is
//! not in them: after a restart in a container it is 1 again). The files removed are
//! `.<name>.tmp.` followed by digits and dots: the store's own `.<name>.tmp.<n>` and the
//! `.<name>.tmp.<pid>.<n>` of earlier versions. A writer that does not take the lock (an
//! earlier version's `save`) can lose its temporary file to this: its rename then fails, and
//! the key file is left as it was.
//!
//! Every file operation goes through a [`Storage`]: `std::fs` by default ([`OsStorage`]), a
//! simulated disk in the simulator.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, StoreError, StoreOp};
use crate::key::{Entropy, OsEntropy};
use crate::limits::{KEY_SET_LEN_MAX, LEFTOVERS_REMOVED_MAX, LOCK_ATTEMPTS_MAX, LOCK_RETRY_MILLIS, TEMP_NAMES_MAX};
use crate::path::RedactedPath;
use crate::ring::KeyRing;
use crate::storage::{OsStorage, Storage, StorageLock};

/// Whether [`FileStore::load_or_create`] found a key file or made one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// The file existed and was loaded.
    Existing,
    /// There was no file; a new ring was generated and written.
    Created,
}

/// Who besides its owner may use a key file: what [`FileStore::check_permissions`] reports.
///
/// A key file the application writes needs no permission for anyone but its owner (the store
/// writes mode 0600). A file that nobody may write (mode 0444, 0440 or 0400) is a copy handed
/// out on purpose, such as a Kubernetes Secret mounted read-only for a process running under
/// another user, and reading it is what it is for: it is not reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PermissionWarning {
    /// Group or others may write the file: they can replace the keys and forge any token.
    WritableByOthers {
        /// The file's permission bits.
        mode: u32,
    },
    /// The file is writable by its owner, so it is not a read-only copy, and group or others
    /// may read it: they can forge any token.
    ReadableByOthers {
        /// The file's permission bits.
        mode: u32,
    },
}

impl core::fmt::Display for PermissionWarning {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::WritableByOthers { mode } => {
                write!(f, "key file mode {mode:04o} lets group or others replace the keys (chmod go-w)")
            }
            Self::ReadableByOthers { mode } => write!(
                f,
                "key file mode {mode:04o} lets group or others read the keys (chmod 600, or 400/440 for a read-only copy)"
            ),
        }
    }
}

impl PermissionWarning {
    /// The warning for a file with these permission bits, if any.
    fn of_mode(mode: u32) -> Option<Self> {
        let mode = mode & 0o7777;
        if mode & 0o022 != 0 {
            Some(Self::WritableByOthers { mode })
        } else if mode & 0o044 != 0 && mode & 0o200 != 0 {
            Some(Self::ReadableByOthers { mode })
        } else {
            None
        }
    }
}

/// A JWK Set file holding a [`KeyRing`].
///
/// ```no_run
/// use tokenring::{FileStore, Clock, SystemClock};
/// # fn main() -> Result<(), tokenring::Error> {
/// let store = FileStore::new("/var/lib/myapp/keys.json");
/// let (ring, _) = store.load_or_create(SystemClock.now_secs())?;
/// # let _ = ring; Ok(()) }
/// ```
///
/// The store reaches its files through a [`Storage`], shared by its clones: `std::fs`
/// ([`OsStorage`]) with [`new`](Self::new), any other with [`with_storage`](Self::with_storage).
///
/// Its `Debug` prints the path through [`RedactedPath`], like the errors it returns, and not the
/// storage, whose own `Debug` may show the files it holds.
#[derive(Clone)]
pub struct FileStore {
    path: PathBuf,
    storage: Arc<dyn Storage>,
}

impl core::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FileStore").field("path", &RedactedPath::new(&self.path)).finish_non_exhaustive()
    }
}

/// The store's error for the failure `kind`, met doing `op` to `path`.
fn io_error(op: StoreOp, path: &Path) -> impl Fn(io::ErrorKind) -> StoreError + '_ {
    move |kind| match kind {
        io::ErrorKind::NotFound if op == StoreOp::Read => StoreError::NotFound,
        kind => StoreError::Io { op, kind, path: path.to_owned() },
    }
}

impl FileStore {
    /// A store at `path` on the operating system's file system. Nothing is read or written yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_storage(path, Arc::new(OsStorage))
    }

    /// A store at `path` whose every file operation goes through `storage`: a simulated or
    /// instrumented file system. Nothing is read or written yet.
    pub fn with_storage(path: impl Into<PathBuf>, storage: Arc<dyn Storage>) -> Self {
        Self { path: path.into(), storage }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the ring. A missing file is an error, never a reason to make keys: what a node
    /// that must not create keys (one reading a mounted secret) calls.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Io`], or [`StoreError::Corrupt`] for a file that
    /// is not a usable key set (truncated, damaged, too large). The file is never modified.
    pub fn load(&self) -> Result<KeyRing, StoreError> {
        KeyRing::from_jwk_set(&self.read()?).map_err(StoreError::Corrupt)
    }

    /// Whether the key file's permissions let anyone but its owner read or change the keys (see
    /// [`PermissionWarning`] for what is reported and what is not). Loading never depends on
    /// it: a caller logs the warning, and the command-line tool prints it. Always `None` on
    /// platforms without Unix permissions.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Io`] when the file's metadata cannot be read.
    pub fn check_permissions(&self) -> Result<Option<PermissionWarning>, StoreError> {
        let mode = self.storage.mode(&self.path).map_err(io_error(StoreOp::Read, &self.path))?;
        Ok(mode.and_then(PermissionWarning::of_mode))
    }

    /// The file's bytes, at most [`KEY_SET_LEN_MAX`] + 1 of them (one past the limit, so that an
    /// oversized file is recognised without reading it all).
    pub(crate) fn read(&self) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let limit = KEY_SET_LEN_MAX + 1;
        let document = self.storage.read(&self.path, limit).map_err(io_error(StoreOp::Read, &self.path))?;
        if document.len() > limit {
            // A storage that ignored the limit: the document is refused as an oversized one.
            return Err(StoreError::Io {
                op: StoreOp::Read,
                kind: io::ErrorKind::FileTooLarge,
                path: self.path.clone(),
            });
        }
        Ok(document)
    }

    /// Changes the ring in the file under an exclusive lock: takes the lock, reads the file,
    /// applies `change`, and, if the ring's document changed, saves it atomically before the
    /// lock is released. Concurrent updates from any number of processes are applied one after
    /// the other, each to the result of the one before: none is lost.
    ///
    /// ```no_run
    /// use tokenring::{Clock, FileStore, Rotation, SystemClock};
    /// # fn main() -> Result<(), tokenring::Error> {
    /// let store = FileStore::new("/var/lib/myapp/keys.json");
    /// let now = SystemClock.now_secs();
    /// // Any number of nodes may run this at once: one new key per week at most.
    /// let rotated = store.update(|ring| Ok(ring.rotate_if_older_than(now, 7 * 86_400, &Rotation::new())?))?;
    /// # let _ = rotated; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another writer holds the lock for too long, any error of
    /// [`load`](Self::load) (a missing file included) or [`save`](Self::save), and whatever
    /// `change` returns, in which case nothing is written.
    pub fn update<T>(&self, change: impl FnOnce(&mut KeyRing) -> Result<T, Error>) -> Result<T, Error> {
        let lock = self.lock()?;
        let mut ring = self.load()?;
        let before = ring.to_jwk_set();
        let outcome = change(&mut ring)?;
        let after = ring.to_jwk_set();
        if after != before {
            // Under the lock already held: `save` would wait for it, and give up.
            self.save_locked(&after, &lock)?;
        }
        Ok(outcome)
    }

    /// Takes the exclusive lock beside the key file, waiting a bounded time for another
    /// writer. The lock is released when the returned value is dropped; the private writers
    /// ask for it by reference, as proof that it is held.
    fn lock(&self) -> Result<StorageLock, StoreError> {
        let lock_path = self.sibling("lock");
        for attempt in 0..LOCK_ATTEMPTS_MAX {
            match self.storage.try_lock(&lock_path) {
                Ok(Some(lock)) => return Ok(lock),
                Ok(None) => {
                    if attempt + 1 < LOCK_ATTEMPTS_MAX {
                        self.storage.wait(Duration::from_millis(LOCK_RETRY_MILLIS));
                    }
                }
                Err(kind) => return Err(io_error(StoreOp::Lock, &lock_path)(kind)),
            }
        }
        Err(StoreError::Locked)
    }

    /// The path `.<file name>.<suffix>` beside the key file.
    fn sibling(&self, suffix: &str) -> PathBuf {
        let name = self.path.file_name().map_or_else(|| "keys".into(), |name| name.to_string_lossy());
        self.path.with_file_name(format!(".{name}.{suffix}"))
    }

    /// Writes the ring, atomically replacing any existing file, under the key file's lock
    /// (waiting a bounded time for another writer), and removes the temporary files of writes
    /// that crashed.
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another writer holds the lock for too long;
    /// [`StoreError::Io`] naming the step that failed, [`StoreOp::Lock`] included (a directory
    /// without a lock file that the process may not create, such as a read-only one). The
    /// previous file is then intact.
    pub fn save(&self, ring: &KeyRing) -> Result<(), StoreError> {
        let lock = self.lock()?;
        self.save_locked(&ring.to_jwk_set(), &lock)
    }

    /// [`save`](Self::save) of a serialized ring, with the lock held.
    fn save_locked(&self, document: &str, lock: &StorageLock) -> Result<(), StoreError> {
        let temp = self.write_temp(document, lock)?;
        let renamed = self.storage.rename(&temp, &self.path).map_err(io_error(StoreOp::Rename, &self.path));
        if renamed.is_err() {
            let _ = self.storage.remove(&temp);
        }
        renamed?;
        self.sync_directory()
    }

    /// Writes the ring only if no file exists yet (atomically, without a window in which a
    /// partial file is visible), under the key file's lock like [`save`](Self::save).
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] when the file exists, [`StoreError::Locked`] when another
    /// writer holds the lock for too long, [`StoreError::Io`] otherwise ([`StoreOp::Lock`]
    /// included, as for [`save`](Self::save)).
    pub fn create(&self, ring: &KeyRing) -> Result<(), StoreError> {
        let lock = self.lock()?;
        let temp = self.write_temp(&ring.to_jwk_set(), &lock)?;
        let linked = self.storage.link_new(&temp, &self.path);
        let _ = self.storage.remove(&temp);
        match linked {
            Ok(()) => self.sync_directory(),
            Err(io::ErrorKind::AlreadyExists) => Err(StoreError::AlreadyExists),
            Err(kind) => Err(io_error(StoreOp::Rename, &self.path)(kind)),
        }
    }

    /// Loads the ring, or, if there is no file at all, generates one with a fresh key from the
    /// operating system and writes it. What a server calls at start-up.
    ///
    /// The file is read without the lock, so an existing file is loaded from a read-only
    /// directory. Processes that start together on an empty directory each generate a ring,
    /// and [`create`](Self::create) lets one of them write it: the others find the file
    /// there, under the lock, and load it, so that all of them sign with the same key.
    ///
    /// # Errors
    /// Any error of [`load`](Self::load) other than `NotFound`, which is never answered with a
    /// new key; errors of [`create`](Self::create) other than `AlreadyExists`
    /// ([`StoreError::Locked`] among them); [`KeyError::Entropy`](crate::KeyError).
    pub fn load_or_create(&self, now_secs: u64) -> Result<(KeyRing, Loaded), Error> {
        self.load_or_create_with(now_secs, &mut OsEntropy)
    }

    /// [`load_or_create`](Self::load_or_create) with keys from `entropy`.
    ///
    /// # Errors
    /// As [`load_or_create`](Self::load_or_create).
    pub fn load_or_create_with(&self, now_secs: u64, entropy: &mut impl Entropy) -> Result<(KeyRing, Loaded), Error> {
        match self.load() {
            Ok(ring) => return Ok((ring, Loaded::Existing)),
            Err(StoreError::NotFound) => {}
            Err(error) => return Err(error.into()),
        }
        let ring = KeyRing::generate_with(now_secs, entropy)?;
        match self.create(&ring) {
            Ok(()) => Ok((ring, Loaded::Created)),
            // Another process created it first: use theirs, so both sign with the same key.
            Err(StoreError::AlreadyExists) => Ok((self.load()?, Loaded::Existing)),
            Err(error) => Err(error.into()),
        }
    }

    /// Removes the leftovers of writes that crashed, then writes `document` to a new temporary
    /// file next to the key file and returns its path. Only with the lock held: then no other
    /// writer has a temporary file (see the module documentation).
    ///
    /// The name is `.<file name>.tmp.<attempt>`. A name that is taken is a leftover the listing
    /// missed: it is removed and the name tried again, or, if it cannot be removed, the next
    /// attempt tried, up to [`TEMP_NAMES_MAX`].
    fn write_temp(&self, document: &str, lock: &StorageLock) -> Result<PathBuf, StoreError> {
        self.remove_leftovers(lock);
        for attempt in 0..TEMP_NAMES_MAX {
            let temp = self.sibling(&format!("tmp.{attempt}"));
            if self.write_private(&temp, document.as_bytes())?
                || (self.storage.remove(&temp).is_ok() && self.write_private(&temp, document.as_bytes())?)
            {
                return Ok(temp);
            }
        }
        Err(StoreError::Io { op: StoreOp::Write, kind: io::ErrorKind::AlreadyExists, path: self.path.clone() })
    }

    /// Removes, best effort, up to [`LEFTOVERS_REMOVED_MAX`] temporary files beside the key
    /// file: `.<file name>.tmp.` followed by digits and dots, this version's names and earlier
    /// versions' (`.<file name>.tmp.<process id>.<attempt>`). Only with the lock held: then
    /// every such file is a leftover of a write that crashed. A failure changes nothing but
    /// what is removed: the write goes on, and the next one tries again.
    fn remove_leftovers(&self, _lock: &StorageLock) {
        let prefix = self.sibling("tmp.");
        let Some(prefix) = prefix.file_name().and_then(|prefix| prefix.to_str()) else { return };
        let Ok(names) = self.storage.list(self.directory(), prefix, LEFTOVERS_REMOVED_MAX) else { return };
        for name in names.iter().take(LEFTOVERS_REMOVED_MAX) {
            let is_temporary = name.to_str().and_then(|name| name.strip_prefix(prefix)).is_some_and(|suffix| {
                !suffix.is_empty() && suffix.bytes().all(|byte| byte.is_ascii_digit() || byte == b'.')
            });
            if is_temporary {
                let _ = self.storage.remove(&self.path.with_file_name(name));
            }
        }
    }

    /// Creates `path` readable and writable by the owner only, writes `bytes` and flushes them
    /// to disk; `false`, with nothing touched, when `path` already exists. A file it created but
    /// could not finish is removed.
    fn write_private(&self, path: &Path, bytes: &[u8]) -> Result<bool, StoreError> {
        match self.storage.write_new(path, bytes) {
            Ok(()) => {}
            Err(io::ErrorKind::AlreadyExists) => return Ok(false),
            Err(kind) => return Err(io_error(StoreOp::Write, path)(kind)),
        }
        if let Err(kind) = self.storage.sync_file(path) {
            let _ = self.storage.remove(path);
            return Err(io_error(StoreOp::Sync, path)(kind));
        }
        Ok(true)
    }

    /// The key file's directory (`.` for a bare file name).
    fn directory(&self) -> &Path {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }

    fn sync_directory(&self) -> Result<(), StoreError> {
        let directory = self.directory();
        self.storage.sync_directory(directory).map_err(io_error(StoreOp::Sync, directory))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_reported_when_someone_else_may_change_or_needlessly_read_the_keys() {
        for (mode, expected) in [
            (0o600, None),
            (0o400, None),
            (0o440, None),
            (0o444, None),
            (0o640, Some(PermissionWarning::ReadableByOthers { mode: 0o640 })),
            (0o644, Some(PermissionWarning::ReadableByOthers { mode: 0o644 })),
            (0o100_644, Some(PermissionWarning::ReadableByOthers { mode: 0o644 })),
            (0o604, Some(PermissionWarning::ReadableByOthers { mode: 0o604 })),
            (0o666, Some(PermissionWarning::WritableByOthers { mode: 0o666 })),
            (0o620, Some(PermissionWarning::WritableByOthers { mode: 0o620 })),
            (0o402, Some(PermissionWarning::WritableByOthers { mode: 0o402 })),
        ] {
            assert_eq!(PermissionWarning::of_mode(mode), expected, "{mode:o}");
        }
        assert_eq!(
            PermissionWarning::ReadableByOthers { mode: 0o644 }.to_string(),
            "key file mode 0644 lets group or others read the keys (chmod 600, or 400/440 for a read-only copy)"
        );
    }
}
