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
//! next successful write. The files removed are `.<name>.tmp.` followed by digits and dots: the
//! store's own `.<name>.tmp.<n>` and the `.<name>.tmp.<pid>.<n>` and `.<name>.tmp.<attempt>` of
//! earlier versions.
//!
//! Others who may write in the directory can plant things at the names a writer uses. The
//! temporary file's number is drawn at random ([`Storage::fill_random`]) and the file created
//! only if the name is free, so a planted name costs at most a retry; the lock file is opened
//! without following a link, so a link planted there is refused, not written through; either
//! way a write that cannot proceed says what is in the way ([`StoreError::InTheWay`]). A writer that does not take the lock (an
//! earlier version's `save`) can lose its temporary file to this: its rename then fails, and
//! the key file is left as it was.
//!
//! The key file's path may be a symbolic link (a Kubernetes Secret volume is a chain of them):
//! the store follows it itself, at most [`SYMLINK_HOPS_MAX`] links, to the file it
//! leads to, and reads and writes that file. A write replaces that file, with the lock and the
//! temporary file beside it, and leaves the link a link, so that writers through the link and
//! through the file's own name take the same lock. A path that leads to anything but a regular
//! file (a directory, a device such as `/dev/null`, a FIFO, a socket) is refused before it is
//! opened or a lock file is created beside it: a FIFO would block a read until some writer came,
//! and a write would replace the device. Because the name can be given to something else between
//! that look and the open (a FIFO renamed over the key file), the open itself neither blocks nor
//! follows a link at the last component, and checks what it opened: anything but a regular file
//! is [`StoreError::NotAFile`] there too (see [`Storage::read`]).
//!
//! Every file operation goes through a [`Storage`]: `std::fs` by default ([`OsStorage`]), a
//! simulated disk in the simulator.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, KeySetError, StoreError, StoreOp};
use crate::limits::{
    KEY_SET_LEN_MAX, LEFTOVERS_REMOVED_MAX, LOCK_ATTEMPTS_MAX, LOCK_RETRY_MILLIS, SYMLINK_HOPS_MAX, TEMP_NAMES_MAX,
};
use crate::ring::key::{Entropy, OsEntropy};
use crate::ring::keyring::KeyRing;
use crate::store::document::{Created, Document, RingStore, StoreName, StoreVersion, Swapped};
use crate::store::path::RedactedPath;
use crate::store::storage::{EntryKind, OsStorage, Storage, StorageLock};

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
    /// Group or others may write the directory the key file is in (after its symbolic links),
    /// and it is not sticky with the key file ours: they can rename another file over the key
    /// file, whatever the file's own mode.
    DirectoryWritableByOthers {
        /// The directory's permission bits.
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
            Self::DirectoryWritableByOthers { mode } => write!(
                f,
                "key file's directory mode {mode:04o} lets group or others replace the key file (chmod go-w the directory)"
            ),
        }
    }
}

impl PermissionWarning {
    /// The warning for a directory with these permission bits, holding a key file that is
    /// (`Some(true)`) or may not be (`Some(false)`, `None`: not known) the current user's: a
    /// sticky directory lets only a file's owner rename or remove it.
    fn of_directory_mode(mode: u32, file_is_ours: Option<bool>) -> Option<Self> {
        let mode = mode & 0o7777;
        let sticky = mode & 0o1000 != 0;
        (mode & 0o022 != 0 && !(sticky && file_is_ours == Some(true)))
            .then_some(Self::DirectoryWritableByOthers { mode })
    }

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
/// with [`new`](Self::new), any other with [`with_storage`](Self::with_storage).
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
        io::ErrorKind::NotFound if op == StoreOp::Read => StoreError::NotFound { path: path.into() },
        kind => StoreError::Io { op, kind, path: path.into() },
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

    /// The directory the file's path names it in, as given (`.` for a bare file name; its
    /// symbolic links not followed): where a watcher looks for changes to it.
    pub fn directory(&self) -> &Path {
        directory(&self.path)
    }

    /// The error for a key file whose document is not a usable key set.
    pub(crate) fn corrupt(&self, error: KeySetError) -> StoreError {
        StoreError::Corrupt { path: self.path.clone().into(), error }
    }

    /// Reads the ring. A missing file is an error, never a reason to make keys: what a node
    /// that must not create keys (one reading a mounted secret) calls. Symbolic links are
    /// followed; a path that leads to anything but a regular file is not opened.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::NotAFile`], [`StoreError::SymlinkLoop`],
    /// [`StoreError::Io`], or [`StoreError::Corrupt`] for a file that is not a usable key set
    /// (truncated, damaged, too large). The file is never modified.
    pub fn load(&self) -> Result<KeyRing, StoreError> {
        KeyRing::from_jwk_set(&self.read()?).map_err(|error| self.corrupt(error))
    }

    /// Whether the key file's permissions, or its directory's, let anyone but its owner read or
    /// change the keys (see [`PermissionWarning`] for what is reported and what is not), the
    /// key file's symbolic links followed. A file that others may write is reported first, then
    /// a directory they may write, then a file they may read. Loading never depends on it: a
    /// caller logs the warning, and the command-line tool prints it. Always `None` on platforms
    /// without Unix permissions; the directory is not reported when its permissions cannot be
    /// read.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Io`] when the file's metadata cannot be read;
    /// [`StoreError::NotAFile`] when the path leads to a directory, device, FIFO or socket, whose
    /// mode says nothing about a key file's; [`StoreError::SymlinkLoop`].
    pub fn check_permissions(&self) -> Result<Option<PermissionWarning>, StoreError> {
        let target = self.resolve()?;
        if !target.exists {
            return Err(StoreError::NotFound { path: self.path.clone().into() });
        }
        let file = &target.path;
        let mode = self.storage.mode(file).map_err(io_error(StoreOp::Read, file))?;
        let file_warning = mode.and_then(PermissionWarning::of_mode);
        if let Some(warning @ PermissionWarning::WritableByOthers { .. }) = file_warning {
            return Ok(Some(warning));
        }
        let directory = directory(file);
        let directory_warning = match self.storage.mode(directory) {
            Ok(Some(mode)) => {
                let ours = self.storage.owned_by_current_user(file).ok().flatten();
                PermissionWarning::of_directory_mode(mode, ours)
            }
            _ => None,
        };
        Ok(directory_warning.or(file_warning))
    }

    /// The file's bytes, at most [`KEY_SET_LEN_MAX`] + 1 of them (one past the limit, so that an
    /// oversized file is recognised without reading it all), read from the file the key file's
    /// symbolic links lead to once it is known to be a regular file: a FIFO, which would block
    /// the read until a writer comes, or a device is never opened.
    pub(crate) fn read(&self) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let target = self.resolve()?;
        if !target.exists {
            return Err(StoreError::NotFound { path: self.path.clone().into() });
        }
        self.read_file(&target.path)
    }

    /// The bytes of `file` (the key file, its links followed), as [`read`](Self::read).
    fn read_file(&self, file: &Path) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let limit = KEY_SET_LEN_MAX + 1;
        let document = self.storage.read(file, limit).map_err(|kind| match kind {
            // The open found something else than the regular file the look before it found: a
            // FIFO renamed over the key file in between, say.
            io::ErrorKind::InvalidInput => StoreError::NotAFile { path: file.into() },
            kind => io_error(StoreOp::Read, file)(kind),
        })?;
        if document.len() > limit {
            // A storage that ignored the limit: the document is refused as an oversized one.
            return Err(StoreError::Io { op: StoreOp::Read, kind: io::ErrorKind::FileTooLarge, path: file.into() });
        }
        Ok(document)
    }

    /// The file the key file's path leads to, its symbolic links followed (at most
    /// [`SYMLINK_HOPS_MAX`] of them; a relative target against the
    /// link's directory), and whether it exists. What every read and write works on: a write
    /// through a link replaces the file it leads to, locked beside that file, and leaves the
    /// link a link.
    ///
    /// # Errors
    /// [`StoreError::NotAFile`] when it exists and is not a regular file;
    /// [`StoreError::SymlinkLoop`]; [`StoreError::Io`] when a link cannot be examined.
    fn resolve(&self) -> Result<Target, StoreError> {
        self.follow_links(|_| {})
    }

    /// The paths the key file's path passes through: the path itself, then where each of its
    /// symbolic links leads (a relative target joined to the link's directory, not normalized),
    /// as [`load`](Self::load) and the writers follow them, up to the file they reach or the
    /// first path that cannot be followed; at most [`SYMLINK_HOPS_MAX`] + 1 paths. What a
    /// watcher needs to know which directory entries a change of the key file can come through
    /// (a Kubernetes `..data` swap, say).
    pub fn link_chain(&self) -> Vec<PathBuf> {
        let mut chain = Vec::new();
        let _ = self.follow_links(|path| chain.push(path.to_owned()));
        chain
    }

    /// Follows the key file's links as [`resolve`](Self::resolve) says, showing `visit` every
    /// path on the way, the first and the last included.
    fn follow_links(&self, mut visit: impl FnMut(&Path)) -> Result<Target, StoreError> {
        let mut path = self.path.clone();
        for _ in 0..=SYMLINK_HOPS_MAX {
            visit(&path);
            match self.storage.entry_kind(&path) {
                Ok(EntryKind::File) => return Ok(Target { path, exists: true }),
                Ok(EntryKind::Symlink(target)) => path = beside(&path, &target),
                Ok(EntryKind::Other) => return Err(StoreError::NotAFile { path: path.into() }),
                Err(io::ErrorKind::NotFound) => return Ok(Target { path, exists: false }),
                Err(kind) => return Err(StoreError::Io { op: StoreOp::Read, kind, path: path.into() }),
            }
        }
        Err(StoreError::SymlinkLoop { path: self.path.clone().into() })
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
    /// let rotated = store.update(|ring| Ok(ring.rotate_if_older_than(7 * 86_400, &Rotation::new(), now)?))?;
    /// # let _ = rotated; Ok(()) }
    /// ```
    ///
    /// Like [`save`](Self::save), it works on the file the key file's symbolic links lead to.
    /// A key file that does not exist is reported before the lock is taken: nothing is created,
    /// not even the lock file.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no key file; [`StoreError::Locked`] when another
    /// writer holds the lock for too long; any error of [`load`](Self::load) or
    /// [`save`](Self::save); and whatever `change` returns, in which case nothing is written.
    pub fn update<T>(&self, change: impl FnOnce(&mut KeyRing) -> Result<T, Error>) -> Result<T, Error> {
        let target = self.resolve()?;
        if !target.exists {
            // Before the lock: a key file that is not there (a typo, a token given as the path)
            // gets no lock file beside it. One created from now on is found under the lock.
            return Err(StoreError::NotFound { path: self.path.clone().into() }.into());
        }
        let lock = canary!(UpdateTakesNoLock => StorageLock::new(()), else self.lock(&target.path)?);
        let (mut ring, dropped_secret) =
            KeyRing::parse_jwk_set(&self.read_file(&target.path)?).map_err(|error| self.corrupt(error))?;
        let before = ring.to_jwk_set();
        let outcome = change(&mut ring)?;
        let after = ring.to_jwk_set();
        // A file written by an earlier version that holds a revoked key's secret is written
        // again without it, even when the change changed nothing.
        if after != before || dropped_secret {
            // Under the lock already held: `save` would wait for it, and give up.
            self.save_locked(&target.path, &after, &lock)?;
        }
        Ok(outcome)
    }

    /// Takes the exclusive lock beside `file` (the key file, its links followed), waiting a
    /// bounded time for another writer. The lock is released when the returned value is
    /// dropped; the private writers ask for it by reference, as proof that it is held.
    fn lock(&self, file: &Path) -> Result<StorageLock, StoreError> {
        let lock_path = sibling(file, "lock");
        for attempt in 0..LOCK_ATTEMPTS_MAX {
            match self.storage.try_lock(&lock_path) {
                Ok(Some(lock)) => return Ok(lock),
                Ok(None) => {
                    if attempt + 1 < LOCK_ATTEMPTS_MAX {
                        self.storage.wait(Duration::from_millis(LOCK_RETRY_MILLIS));
                    }
                }
                // The lock file is created if needed: only its directory can be missing.
                Err(io::ErrorKind::NotFound) => {
                    return Err(StoreError::DirectoryNotFound { path: directory(file).into() })
                }
                Err(io::ErrorKind::InvalidInput) => return Err(self.in_the_way(lock_path)),
                Err(kind) => return Err(io_error(StoreOp::Lock, &lock_path)(kind)),
            }
        }
        Err(StoreError::Locked { path: file.into() })
    }

    /// Writes the ring, atomically replacing any existing file, under the key file's lock
    /// (waiting a bounded time for another writer), and removes the temporary files of writes
    /// that crashed.
    ///
    /// When the key file's path is a symbolic link, the file it leads to is replaced (locked,
    /// and its temporary file written, beside that file), and the link stays a link. A path
    /// that leads to anything but a regular file is refused before anything is locked or
    /// written: a device such as `/dev/null` is never replaced.
    ///
    /// # Errors
    /// [`StoreError::NotAFile`], [`StoreError::SymlinkLoop`]; [`StoreError::DirectoryNotFound`]
    /// when the key file's directory does not exist; [`StoreError::Locked`] when another writer
    /// holds the lock for too long; [`StoreError::Io`] naming the step that failed,
    /// [`StoreOp::Lock`] included (a directory without a lock file that the process may not
    /// create, such as a read-only one). The previous file is then intact.
    pub fn save(&self, ring: &KeyRing) -> Result<(), StoreError> {
        let target = self.resolve()?;
        let lock = self.lock(&target.path)?;
        self.save_locked(&target.path, &ring.to_jwk_set(), &lock)
    }

    /// [`save`](Self::save) of a serialized ring to `file` (the key file, its links followed),
    /// with the lock held.
    fn save_locked(&self, file: &Path, document: &str, lock: &StorageLock) -> Result<(), StoreError> {
        canary!(SaveInPlace => return crate::canary::mutants::save_in_place(self.storage.as_ref(), file, document));
        let temp = self.write_temp(file, document, lock)?;
        let renamed = self.storage.rename(&temp, file).map_err(io_error(StoreOp::Rename, file));
        if renamed.is_err() {
            let _ = self.storage.remove(&temp);
        }
        renamed?;
        self.sync_directory(file)
    }

    /// Writes the ring only if no file exists yet (atomically, without a window in which a
    /// partial file is visible), under the key file's lock like [`save`](Self::save). A
    /// symbolic link that leads nowhere yet is written through: the file is created where it
    /// leads.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] when the file exists, [`StoreError::NotAFile`],
    /// [`StoreError::SymlinkLoop`] and [`StoreError::DirectoryNotFound`] as for
    /// [`save`](Self::save), [`StoreError::Locked`] when
    /// another writer holds the lock for too long, [`StoreError::Io`] otherwise
    /// ([`StoreOp::Lock`] included, as for [`save`](Self::save)).
    pub fn create(&self, ring: &KeyRing) -> Result<(), StoreError> {
        self.create_document_as_file(&ring.to_jwk_set())
    }

    /// [`create`](Self::create) of a serialized ring.
    fn create_document_as_file(&self, document: &str) -> Result<(), StoreError> {
        let target = self.resolve()?;
        let lock = self.lock(&target.path)?;
        let temp = self.write_temp(&target.path, document, &lock)?;
        let linked = self.storage.link_new(&temp, &target.path);
        let _ = self.storage.remove(&temp);
        match linked {
            Ok(()) => self.sync_directory(&target.path),
            Err(io::ErrorKind::AlreadyExists) => Err(StoreError::AlreadyExists { path: target.path.into() }),
            Err(kind) => Err(io_error(StoreOp::Rename, &target.path)(kind)),
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
        self.load_or_create_with(&mut OsEntropy, now_secs)
    }

    /// [`load_or_create`](Self::load_or_create) with keys from `entropy`.
    ///
    /// # Errors
    /// As [`load_or_create`](Self::load_or_create).
    pub fn load_or_create_with(&self, entropy: &mut impl Entropy, now_secs: u64) -> Result<(KeyRing, Loaded), Error> {
        match self.load() {
            Ok(ring) => return Ok((ring, Loaded::Existing)),
            Err(StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        let ring = KeyRing::generate_with(entropy, now_secs)?;
        match self.create(&ring) {
            Ok(()) => Ok((ring, Loaded::Created)),
            // Another process created it first: use theirs, so both sign with the same key.
            Err(StoreError::AlreadyExists { .. }) => Ok((self.load()?, Loaded::Existing)),
            Err(error) => Err(error.into()),
        }
    }

    /// Removes the leftovers of writes that crashed, then writes `document` to a new temporary
    /// file next to `file` (the key file, its links followed) and returns its path. Only with
    /// the lock held: then no other writer has a temporary file (see the module documentation).
    ///
    /// The name is `.<file name>.tmp.<n>`, `n` a number drawn with [`Storage::fill_random`]:
    /// nobody can know it in advance to plant something there. The file is created only if the
    /// name is free (`O_EXCL`); a name that is taken is left alone and another drawn, up to
    /// [`TEMP_NAMES_MAX`] names, after which what is in the way is reported.
    fn write_temp(&self, file: &Path, document: &str, lock: &StorageLock) -> Result<PathBuf, StoreError> {
        self.remove_leftovers(file, lock);
        let mut temp = PathBuf::new();
        for _ in 0..TEMP_NAMES_MAX {
            let mut random = [0u8; 8];
            self.storage.fill_random(&mut random).map_err(io_error(StoreOp::Write, file))?;
            temp = sibling(file, &format!("tmp.{}", u64::from_le_bytes(random)));
            if self.write_private(&temp, document.as_bytes())? {
                return Ok(temp);
            }
        }
        Err(self.in_the_way(temp))
    }

    /// [`StoreError::InTheWay`] for `path`, saying what is there.
    fn in_the_way(&self, path: PathBuf) -> StoreError {
        let what = match self.storage.entry_kind(&path) {
            Ok(EntryKind::Symlink(_)) => "a symbolic link",
            Ok(EntryKind::Other) => "a directory, device, FIFO or socket",
            Ok(EntryKind::File) => "a file",
            Err(_) => "something",
        };
        StoreError::InTheWay { path: path.into(), what }
    }

    /// Removes, best effort, up to [`LEFTOVERS_REMOVED_MAX`] temporary files beside `file` (the
    /// key file, its links followed): `.<file name>.tmp.` followed by digits and dots, this
    /// version's names and earlier versions' (`.<file name>.tmp.<process id>.<attempt>`). Only
    /// with the lock held: then every such file is a leftover of a write that crashed. A
    /// failure changes nothing but what is removed: the write goes on, and the next one tries
    /// again.
    fn remove_leftovers(&self, file: &Path, _lock: &StorageLock) {
        let prefix = sibling(file, "tmp.");
        let Some(prefix) = prefix.file_name().and_then(|prefix| prefix.to_str()) else { return };
        let Ok(names) = self.storage.list(directory(file), prefix, LEFTOVERS_REMOVED_MAX) else { return };
        for name in names.iter().take(LEFTOVERS_REMOVED_MAX) {
            let is_temporary = name.to_str().and_then(|name| name.strip_prefix(prefix)).is_some_and(|suffix| {
                !suffix.is_empty() && suffix.bytes().all(|byte| byte.is_ascii_digit() || byte == b'.')
            });
            if is_temporary {
                let _ = self.storage.remove(&file.with_file_name(name));
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

    /// Flushes the directory of `file` (the key file, its links followed).
    fn sync_directory(&self, file: &Path) -> Result<(), StoreError> {
        let directory = directory(file);
        self.storage.sync_directory(directory).map_err(io_error(StoreOp::Sync, directory))
    }
}

/// The file as a document store: what a [`SharedRing`](crate::SharedRing) on a key file goes
/// through. The version is the SHA-256 digest of the file's bytes. A swap takes the key file's
/// lock, reads the file again and writes only if its digest is still the one expected, then
/// writes as [`save`](FileStore::save) does. An update holds the lock across the change
/// ([`FileStore::update`]): a second writer on the host waits for the first rather than
/// retrying, and the change runs once. The errors are the file's own ([`StoreError::NotFound`],
/// [`StoreError::Corrupt`], naming the path).
impl RingStore for FileStore {
    /// The key file's path as every message prints it ([`RedactedPath`]).
    fn store_name(&self) -> StoreName {
        StoreName::new(RedactedPath::new(&self.path).to_string())
    }

    fn load_document(&self) -> Result<Option<Document>, StoreError> {
        let target = self.resolve()?;
        if !target.exists {
            return Ok(None);
        }
        let bytes = match self.read_file(&target.path) {
            Ok(bytes) => bytes,
            // Gone since the look, or a storage that tells a missing file only when reading it
            // (the default `Storage::entry_kind`).
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error),
        };
        let version = StoreVersion::digest_of(&bytes);
        Ok(Some(Document { bytes, version }))
    }

    fn create_document(&self, document: &str) -> Result<Created, StoreError> {
        match self.create_document_as_file(document) {
            Ok(()) => Ok(Created::Created(StoreVersion::digest_of(document.as_bytes()))),
            Err(StoreError::AlreadyExists { .. }) => Ok(Created::AlreadyExists),
            Err(error) => Err(error),
        }
    }

    fn swap_document(&self, expected: &StoreVersion, document: &str) -> Result<Swapped, StoreError> {
        let target = self.resolve()?;
        if !target.exists {
            return Ok(Swapped::Conflict);
        }
        let lock = self.lock(&target.path)?;
        let current = match self.read_file(&target.path) {
            Ok(current) => current,
            // Removed between the look and the read: not the version expected.
            Err(StoreError::NotFound { .. }) => return Ok(Swapped::Conflict),
            Err(error) => return Err(error),
        };
        if StoreVersion::digest_of(&current) != *expected {
            return Ok(Swapped::Conflict);
        }
        self.save_locked(&target.path, document, &lock)?;
        Ok(Swapped::Swapped(StoreVersion::digest_of(document.as_bytes())))
    }

    fn not_found_error(&self) -> StoreError {
        StoreError::NotFound { path: self.path.clone().into() }
    }

    fn corrupt_error(&self, error: KeySetError) -> StoreError {
        self.corrupt(error)
    }

    fn update_document(&self, change: &mut dyn FnMut(&mut KeyRing) -> Result<(), Error>) -> Result<(), Error> {
        self.update(change)
    }
}

/// The key file after its symbolic links: what [`FileStore`] reads and writes.
struct Target {
    path: PathBuf,
    /// Whether there is a (regular) file at `path`.
    exists: bool,
}

/// The path `.<file name>.<suffix>` beside `file`.
fn sibling(file: &Path, suffix: &str) -> PathBuf {
    let name = file.file_name().map_or_else(|| "keys".into(), |name| name.to_string_lossy());
    file.with_file_name(format!(".{name}.{suffix}"))
}

/// The directory of `file` (`.` for a bare file name): the one definition, for the key file's
/// path as given ([`FileStore::directory`]) and after its links.
fn directory(file: &Path) -> &Path {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Where the symbolic link `link` leads: `target` if it is absolute, else `target` in the
/// link's directory. Not normalized: a `..` in it is left for the file system to resolve, from
/// the directory the link is really in, as it resolves the link itself.
fn beside(link: &Path, target: &Path) -> PathBuf {
    // A bare name's parent is the empty path, onto which `join` gives `target` itself.
    link.parent().map_or_else(|| target.to_owned(), |parent| parent.join(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one "directory of a path": the parent as given, `.` for a bare name.
    #[test]
    fn the_directory_of_a_key_file() {
        for (path, expected) in [
            ("/etc/app/keys.json", "/etc/app"),
            ("keys.json", "."),
            ("./keys.json", "."),
            ("config/keys.json", "config"),
            ("/keys.json", "/"),
        ] {
            assert_eq!(FileStore::new(path).directory(), Path::new(expected), "{path}");
        }
    }

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
