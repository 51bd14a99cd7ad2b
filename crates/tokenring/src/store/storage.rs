//! The storage seam under [`FileStore`](crate::FileStore): the few file operations it uses.
//!
//! [`OsStorage`] (the default) calls `std::fs`. Another implementation runs the same store on
//! something else: the simulator runs the real `FileStore` on an in-memory disk that crashes
//! between any two operations, fills up, fails reads and serves stale copies, so that the
//! store's atomicity is checked by running it, not by a model of it.
//!
//! Failures are reported as an [`io::ErrorKind`]: it is all a [`StoreError::Io`] keeps (with
//! the operation and the path), so an implementation never has to invent an `io::Error`.
//!
//! [`StoreError::Io`]: crate::StoreError::Io

use core::fmt;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::limits::DIRECTORY_ENTRIES_MAX;
use crate::store::path::RedactedPathBuf;

/// The file operations a [`FileStore`](crate::FileStore) needs.
///
/// Paths are the ones the store derives from its key file's path: the key file and the targets
/// of its symbolic links ([`entry_kind`](Self::entry_kind)), and beside the file the links lead
/// to, a temporary file and a lock file (`.<name>.tmp.<n>`, `.<name>.lock`), and their
/// directory. The temporary file's name ends in a number drawn with
/// [`fill_random`](Self::fill_random).
/// Every method reports a failure by its [`io::ErrorKind`];
/// [`io::ErrorKind::NotFound`] from [`read`](Self::read) and [`io::ErrorKind::AlreadyExists`]
/// from [`write_new`](Self::write_new) and [`link_new`](Self::link_new) are meaningful to the
/// store, the rest are passed on in [`StoreError::Io`](crate::StoreError::Io).
///
/// A store that runs on a simulated disk:
///
/// ```
/// use std::collections::BTreeMap;
/// use std::ffi::OsString;
/// use std::io::ErrorKind;
/// use std::path::{Path, PathBuf};
/// use std::sync::{Arc, Mutex};
/// use tokenring::{FileStore, KeyRing, Storage, StorageLock};
/// use zeroize::Zeroizing;
///
/// /// Files in memory: no crashes, no permissions, a lock that is always free.
/// #[derive(Debug, Default)]
/// struct Memory(Mutex<BTreeMap<PathBuf, Zeroizing<Vec<u8>>>>);
///
/// impl Memory {
///     fn files(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Zeroizing<Vec<u8>>>> {
///         self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
///     }
/// }
///
/// impl Storage for Memory {
///     fn read(&self, path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, ErrorKind> {
///         let files = self.files();
///         let bytes = files.get(path).ok_or(ErrorKind::NotFound)?;
///         Ok(Zeroizing::new(bytes[..bytes.len().min(limit)].to_vec()))
///     }
///     fn write_new(&self, path: &Path, bytes: &[u8]) -> Result<(), ErrorKind> {
///         let mut files = self.files();
///         if files.contains_key(path) {
///             return Err(ErrorKind::AlreadyExists);
///         }
///         files.insert(path.to_owned(), Zeroizing::new(bytes.to_vec()));
///         Ok(())
///     }
///     fn sync_file(&self, _path: &Path) -> Result<(), ErrorKind> { Ok(()) }
///     fn rename(&self, from: &Path, to: &Path) -> Result<(), ErrorKind> {
///         let mut files = self.files();
///         let bytes = files.remove(from).ok_or(ErrorKind::NotFound)?;
///         files.insert(to.to_owned(), bytes);
///         Ok(())
///     }
///     fn link_new(&self, existing: &Path, new: &Path) -> Result<(), ErrorKind> {
///         let mut files = self.files();
///         if files.contains_key(new) {
///             return Err(ErrorKind::AlreadyExists);
///         }
///         let bytes = files.get(existing).ok_or(ErrorKind::NotFound)?.clone();
///         files.insert(new.to_owned(), bytes);
///         Ok(())
///     }
///     fn remove(&self, path: &Path) -> Result<(), ErrorKind> {
///         self.files().remove(path).map(drop).ok_or(ErrorKind::NotFound)
///     }
///     fn sync_directory(&self, _path: &Path) -> Result<(), ErrorKind> { Ok(()) }
///     fn list(&self, directory: &Path, prefix: &str, limit: usize) -> Result<Vec<OsString>, ErrorKind> {
///         let files = self.files();
///         let names = files.keys().filter(|path| path.parent() == Some(directory)).filter_map(|path| path.file_name());
///         let prefixed = names.filter(|name| name.as_encoded_bytes().starts_with(prefix.as_bytes()));
///         Ok(prefixed.take(limit).map(OsString::from).collect())
///     }
///     fn try_lock(&self, _path: &Path) -> Result<Option<StorageLock>, ErrorKind> {
///         Ok(Some(StorageLock::new(())))
///     }
///     fn mode(&self, path: &Path) -> Result<Option<u32>, ErrorKind> {
///         self.files().get(path).map(|_| Some(0o600)).ok_or(ErrorKind::NotFound)
///     }
/// }
///
/// # fn main() -> Result<(), tokenring::Error> {
/// let store = FileStore::with_storage("/keys.json", Arc::new(Memory::default()));
/// let ring = KeyRing::generate(1_700_000_000)?;
/// store.create(&ring)?;
/// assert_eq!(store.load()?.to_jwk_set().as_str(), ring.to_jwk_set().as_str());
/// # Ok(()) }
/// ```
pub trait Storage: fmt::Debug + Send + Sync {
    /// The bytes of the file at `path`, at most `limit` of them (the store asks for one more
    /// than it accepts, so that an oversized file is recognised without reading it all). The
    /// buffer holds key material: it is zeroized when dropped, and should be sized so that it
    /// never grows (a grown buffer leaves copies in freed memory).
    ///
    /// `path` is where the store's own look ([`entry_kind`](Self::entry_kind)) found a regular
    /// file, but the name may have been given to something else since: the open must not block
    /// (opening a FIFO waits for a writer), must not follow a symbolic link at `path` itself,
    /// and what it opened must be checked to be a regular file before a byte is read
    /// (the default storage opens with `O_NONBLOCK | O_NOFOLLOW`, then `fstat`s the open file).
    ///
    /// # Errors
    /// [`io::ErrorKind::NotFound`] when there is no such file;
    /// [`io::ErrorKind::InvalidInput`] when the open found anything but a regular file (a FIFO,
    /// a directory, a device, a socket, a symbolic link), which the store reports as
    /// [`StoreError::NotAFile`](crate::StoreError::NotAFile); any other kind otherwise.
    fn read(&self, path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, io::ErrorKind>;

    /// Creates the file `path`, which must not exist, readable and writable by its owner only,
    /// and writes `bytes` to it. The data need not be on disk yet: [`sync_file`](Self::sync_file)
    /// follows. On failure nothing is left at `path` that this call created.
    ///
    /// # Errors
    /// [`io::ErrorKind::AlreadyExists`] when `path` exists (nothing is touched then); any other
    /// kind otherwise.
    fn write_new(&self, path: &Path, bytes: &[u8]) -> Result<(), io::ErrorKind>;

    /// Flushes the data of the file at `path` to stable storage.
    ///
    /// # Errors
    /// Any kind.
    fn sync_file(&self, path: &Path) -> Result<(), io::ErrorKind>;

    /// Renames `from` to `to` atomically, replacing any file at `to`: a reader sees the old
    /// file or the new one, never neither.
    ///
    /// # Errors
    /// Any kind.
    fn rename(&self, from: &Path, to: &Path) -> Result<(), io::ErrorKind>;

    /// Gives the file at `existing` the second name `new`, only if `new` does not exist: how
    /// the store creates a key file exclusively, without a window in which it is partial.
    ///
    /// # Errors
    /// [`io::ErrorKind::AlreadyExists`] when `new` exists; any other kind otherwise.
    fn link_new(&self, existing: &Path, new: &Path) -> Result<(), io::ErrorKind>;

    /// Removes the file at `path`.
    ///
    /// # Errors
    /// Any kind.
    fn remove(&self, path: &Path) -> Result<(), io::ErrorKind>;

    /// Flushes the directory `path` itself (its entries: the renames and links made in it) to
    /// stable storage.
    ///
    /// # Errors
    /// Any kind.
    fn sync_directory(&self, path: &Path) -> Result<(), io::ErrorKind>;

    /// The names (without the directory) of at most `limit` files in the directory `directory`
    /// whose names begin with `prefix`, in any order: how the store finds the temporary files
    /// that writes which crashed left behind, to remove them while it holds the lock. An
    /// implementation that reads a directory of unknown size examines a bounded number of its
    /// entries (the default storage, `std::fs`: [`DIRECTORY_ENTRIES_MAX`]) and may miss names beyond them.
    ///
    /// [`DIRECTORY_ENTRIES_MAX`]: crate::limits::DIRECTORY_ENTRIES_MAX
    ///
    /// # Errors
    /// Any kind; the store then removes nothing.
    fn list(&self, directory: &Path, prefix: &str, limit: usize) -> Result<Vec<OsString>, io::ErrorKind>;

    /// Tries once to take an exclusive advisory lock on the file at `path`, creating it
    /// (owner-only) if needed. `Ok(None)` when another holder has it; the store retries a
    /// bounded number of times, with [`wait`](Self::wait) between attempts. The lock is
    /// released when the returned [`StorageLock`] is dropped.
    ///
    /// Like [`read`](Self::read), the open must not follow a symbolic link at `path` (one
    /// planted there would make the store create or lock the file it leads to) nor block, and
    /// what it opened must be a regular file.
    ///
    /// # Errors
    /// [`io::ErrorKind::NotFound`] when the directory of `path` does not exist (the store
    /// reports it as [`StoreError::DirectoryNotFound`](crate::StoreError::DirectoryNotFound));
    /// [`io::ErrorKind::InvalidInput`] when something other than a regular file is at `path`
    /// (the store reports it as [`StoreError::InTheWay`](crate::StoreError::InTheWay)); any
    /// kind other than contention otherwise.
    fn try_lock(&self, path: &Path) -> Result<Option<StorageLock>, io::ErrorKind>;

    /// The permission bits of the file at `path`, `None` where the platform has no Unix
    /// permissions.
    ///
    /// # Errors
    /// [`io::ErrorKind::NotFound`] when there is no such file; any other kind otherwise.
    fn mode(&self, path: &Path) -> Result<Option<u32>, io::ErrorKind>;

    /// Whether the file at `path` (not following a symbolic link there) belongs to the user
    /// this process runs as; `None` where the platform or the storage cannot tell (the
    /// default). Used only for the permission warning about a sticky directory.
    ///
    /// # Errors
    /// Any kind; the store then takes the answer as unknown.
    fn owned_by_current_user(&self, path: &Path) -> Result<Option<bool>, io::ErrorKind> {
        let _ = path;
        Ok(None)
    }

    /// Fills `dest` with unpredictable bytes: what the store draws its temporary files' names
    /// from, so that nobody can plant a file, directory or link at the name a write will use.
    /// The default draws from the operating system ([`OsEntropy`](crate::OsEntropy)); a
    /// simulated storage draws from its seeded generator, so that a run repeats.
    ///
    /// # Errors
    /// Any kind, when no randomness is available; the write then fails.
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), io::ErrorKind> {
        use crate::ring::key::Entropy as _;
        crate::ring::key::OsEntropy.fill(dest).map_err(|_| io::ErrorKind::Other)
    }

    /// Waits before the next attempt to take a lock. The default sleeps the thread; a simulated
    /// storage, whose time is not the wall clock's, overrides it: it moves its clock on by
    /// `duration`, so that a lock another writer holds until a later simulated time is granted
    /// to a writer that has waited that long, on one thread, as the store's own retries find it.
    fn wait(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    /// What the name `path` is, without following a symbolic link there (a link in a directory
    /// above it is followed): how the store follows the key file's links itself, so that it
    /// writes through them, and refuses a directory, device or FIFO before it opens or locks
    /// anything.
    ///
    /// The default, for a storage that has regular files only, reports every path as one:
    /// a missing file is then found missing by [`read`](Self::read), and
    /// [`FileStore::update`](crate::FileStore::update) takes the lock before it finds out.
    ///
    /// # Errors
    /// [`io::ErrorKind::NotFound`] when there is nothing at `path` (or a directory above it
    /// does not exist); any other kind otherwise.
    fn entry_kind(&self, path: &Path) -> Result<EntryKind, io::ErrorKind> {
        let _ = path;
        Ok(EntryKind::File)
    }
}

/// What a name in a directory is, as [`Storage::entry_kind`] reports it. A link's target prints
/// redacted, as every path the store holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A symbolic link, with its target as stored in the link: a relative target is relative to
    /// the link's directory.
    Symlink(RedactedPathBuf),
    /// Anything else: a directory, a device, a FIFO, a socket. The store neither reads nor
    /// replaces it.
    Other,
}

/// An advisory lock taken by [`Storage::try_lock`], released when dropped.
pub struct StorageLock {
    _held: Box<dyn Send + Sync>,
}

impl StorageLock {
    /// A lock that is held for as long as `held` lives: an open file for the default storage (`std::fs`), any
    /// value whose `Drop` releases the lock for another storage.
    pub fn new(held: impl Send + Sync + 'static) -> Self {
        Self { _held: Box::new(held) }
    }
}

impl fmt::Debug for StorageLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorageLock { .. }")
    }
}

/// The operating system's file system, through `std::fs`: what [`FileStore::new`] uses.
///
/// [`FileStore::new`]: crate::FileStore::new
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OsStorage;

/// Options for a file only its owner may read and write.
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Opens `path` for reading without blocking and without following a symbolic link at its last
/// component, and checks that the open file is a regular file: a FIFO renamed over the key file
/// after the store looked at it is refused, not waited on.
#[cfg(unix)]
fn open_regular(path: &Path) -> Result<File, io::ErrorKind> {
    use rustix::fs::{Mode, OFlags};
    use rustix::io::Errno;
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let opened = rustix::fs::open(path, flags, Mode::empty()).map_err(|errno| match errno {
        // A symbolic link at the last component (`ELOOP`; `EMLINK` on some BSDs), or a socket
        // (`ENXIO`): not a regular file.
        Errno::LOOP | Errno::MLINK | Errno::NXIO => io::ErrorKind::InvalidInput,
        errno => io::Error::from(errno).kind(),
    })?;
    // O_NONBLOCK changes nothing for a regular file: reads of one never wait.
    regular_file(opened)
}

/// Opens (creating it, owner-only, if needed) the lock file `path` for reading and writing,
/// without blocking and without following a symbolic link at its last component, and checks that
/// the open file is a regular file: a link planted at the lock file's name is refused, and the
/// file it leads to is neither created nor locked.
#[cfg(unix)]
fn open_lock_file(path: &Path) -> Result<File, io::ErrorKind> {
    use rustix::fs::{Mode, OFlags};
    use rustix::io::Errno;
    let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let opened = rustix::fs::open(path, flags, Mode::from_raw_mode(0o600)).map_err(|errno| match errno {
        // A symbolic link (`ELOOP`, `EMLINK`), a directory (`EISDIR`), a socket (`ENXIO`).
        Errno::LOOP | Errno::MLINK | Errno::NXIO | Errno::ISDIR => io::ErrorKind::InvalidInput,
        errno => io::Error::from(errno).kind(),
    })?;
    regular_file(opened)
}

/// `opened` as a `File`, if `fstat` says it is a regular file: what was opened, not what the
/// name led to when the store looked.
#[cfg(unix)]
fn regular_file(opened: rustix::fd::OwnedFd) -> Result<File, io::ErrorKind> {
    let status = rustix::fs::fstat(&opened).map_err(|errno| io::Error::from(errno).kind())?;
    if rustix::fs::FileType::from_raw_mode(status.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(io::ErrorKind::InvalidInput);
    }
    Ok(File::from(opened))
}

#[cfg(not(unix))]
fn open_lock_file(path: &Path) -> Result<File, io::ErrorKind> {
    private_options().read(true).write(true).create(true).truncate(false).open(path).map_err(|error| error.kind())
}

#[cfg(not(unix))]
fn open_regular(path: &Path) -> Result<File, io::ErrorKind> {
    let file = File::open(path).map_err(|error| error.kind())?;
    match file.metadata() {
        Ok(metadata) if metadata.is_file() => Ok(file),
        Ok(_) => Err(io::ErrorKind::InvalidInput),
        Err(error) => Err(error.kind()),
    }
}

impl Storage for OsStorage {
    fn read(&self, path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, io::ErrorKind> {
        let file = open_regular(path)?;
        // Sized up front so the buffer never grows, which would leave copies of the secrets in
        // freed memory.
        let mut document = Zeroizing::new(Vec::with_capacity(limit));
        file.take(limit as u64).read_to_end(&mut document).map_err(|error| error.kind())?;
        Ok(document)
    }

    fn write_new(&self, path: &Path, bytes: &[u8]) -> Result<(), io::ErrorKind> {
        let mut file = private_options().write(true).create_new(true).open(path).map_err(|error| error.kind())?;
        let written = file.write_all(bytes).map_err(|error| error.kind());
        if written.is_err() {
            drop(file);
            let _ = fs::remove_file(path);
        }
        written
    }

    fn sync_file(&self, path: &Path) -> Result<(), io::ErrorKind> {
        // Opened for writing: some platforms flush only a file opened with write access.
        OpenOptions::new().write(true).open(path).and_then(|file| file.sync_all()).map_err(|error| error.kind())
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<(), io::ErrorKind> {
        fs::rename(from, to).map_err(|error| error.kind())
    }

    fn link_new(&self, existing: &Path, new: &Path) -> Result<(), io::ErrorKind> {
        // A hard link fails if the target exists, which makes "create if absent" atomic.
        fs::hard_link(existing, new).map_err(|error| error.kind())
    }

    fn remove(&self, path: &Path) -> Result<(), io::ErrorKind> {
        fs::remove_file(path).map_err(|error| error.kind())
    }

    fn sync_directory(&self, path: &Path) -> Result<(), io::ErrorKind> {
        #[cfg(unix)]
        {
            File::open(path).and_then(|directory| directory.sync_all()).map_err(|error| error.kind())
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            Ok(())
        }
    }

    fn list(&self, directory: &Path, prefix: &str, limit: usize) -> Result<Vec<OsString>, io::ErrorKind> {
        let entries = fs::read_dir(directory).map_err(|error| error.kind())?;
        // An entry that cannot be read counts as examined: the bound holds whatever the
        // directory returns.
        let names = entries.take(DIRECTORY_ENTRIES_MAX).filter_map(|entry| entry.ok().map(|entry| entry.file_name()));
        Ok(names.filter(|name| name.as_encoded_bytes().starts_with(prefix.as_bytes())).take(limit).collect())
    }

    fn try_lock(&self, path: &Path) -> Result<Option<StorageLock>, io::ErrorKind> {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(StorageLock::new(file))),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(error)) => Err(error.kind()),
        }
    }

    fn entry_kind(&self, path: &Path) -> Result<EntryKind, io::ErrorKind> {
        let file_type = fs::symlink_metadata(path).map_err(|error| error.kind())?.file_type();
        if file_type.is_symlink() {
            Ok(EntryKind::Symlink(fs::read_link(path).map_err(|error| error.kind())?.into()))
        } else if file_type.is_file() {
            Ok(EntryKind::File)
        } else {
            Ok(EntryKind::Other)
        }
    }

    fn owned_by_current_user(&self, path: &Path) -> Result<Option<bool>, io::ErrorKind> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let metadata = fs::symlink_metadata(path).map_err(|error| error.kind())?;
            Ok(Some(metadata.uid() == rustix::process::geteuid().as_raw()))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            Ok(None)
        }
    }

    fn mode(&self, path: &Path) -> Result<Option<u32>, io::ErrorKind> {
        let metadata = fs::metadata(path).map_err(|error| error.kind())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            Ok(Some(metadata.permissions().mode()))
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            Ok(None)
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A FIFO, a directory and `/dev/null` found by the open are refused at once, never read.
    #[cfg(unix)]
    #[test]
    fn os_storage_refuses_what_is_not_a_regular_file_without_blocking() {
        let dir = std::env::temp_dir().join(format!("tokenring-storage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        std::fs::create_dir(dir.join("directory")).unwrap();
        std::os::unix::fs::symlink("fifo", dir.join("link")).unwrap();
        std::fs::write(dir.join("file"), b"{}").unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        let paths =
            [fifo, dir.join("directory"), std::path::PathBuf::from("/dev/null"), dir.join("link"), dir.join("file")];
        std::thread::spawn(move || {
            let answers: Vec<_> = paths.iter().map(|path| OsStorage.read(path, 64).map(|bytes| bytes.len())).collect();
            let _ = done.send(answers);
        });
        let answers = finished.recv_timeout(std::time::Duration::from_secs(5)).expect("a read blocked");
        // The link is not followed at the last component (the store follows links itself).
        assert_eq!(
            answers,
            [
                Err(io::ErrorKind::InvalidInput),
                Err(io::ErrorKind::InvalidInput),
                Err(io::ErrorKind::InvalidInput),
                Err(io::ErrorKind::InvalidInput),
                Ok(2)
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
