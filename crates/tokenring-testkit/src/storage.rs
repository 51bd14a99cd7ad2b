//! [`MemoryStorage`]: the one in-memory [`Storage`] the tests run a real
//! [`FileStore`](tokenring::FileStore) on, with the faults and the other writers they need set up
//! by hand.
//!
//! It is a test double, not a model: it does what each test asks, one fault at a time, and
//! records every call ([`Call`]) for the test to check what the store did. The simulator's disk
//! (`sim/`), which crashes, fills up and serves stale copies at random, is a model of a disk
//! and stays one.
//!
//! Nothing here reads a clock or sleeps: the storage has a clock of its own, which only
//! [`Storage::wait`] moves on, so that a lock another writer holds until a later time is granted
//! to a writer that has waited that long, on one thread. A read can be made to hang
//! ([`hang_reads`](MemoryStorage::hang_reads)) until the test lets it go, bounded so that a
//! failing test cannot hang the run.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokenring::{EntryKind, Storage, StorageLock};
use zeroize::Zeroizing;

/// The longest a read waits while reads hang: a hang detector's bound, so that a test whose
/// storage is never let go fails instead of hanging the run.
const HANG_MAX: Duration = Duration::from_secs(30);

/// One call the store made, as [`MemoryStorage::calls`] lists them, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// [`Storage::read`] of this file.
    Read(PathBuf),
    /// [`Storage::write_new`] of this file.
    WriteNew(PathBuf),
    /// [`Storage::sync_file`] of this file.
    SyncFile(PathBuf),
    /// [`Storage::rename`] of one file onto another.
    Rename {
        /// The file renamed.
        from: PathBuf,
        /// Its new name.
        to: PathBuf,
    },
    /// [`Storage::link_new`]: a second name for a file.
    LinkNew {
        /// The file linked.
        existing: PathBuf,
        /// Its second name.
        new: PathBuf,
    },
    /// [`Storage::remove`] of this file.
    Remove(PathBuf),
    /// [`Storage::sync_directory`] of this directory.
    SyncDirectory(PathBuf),
    /// [`Storage::try_lock`] of this lock file, and whether the lock was granted.
    TryLock {
        /// The lock file.
        path: PathBuf,
        /// Whether the store got the lock (`false`: another writer holds it).
        granted: bool,
    },
    /// [`Storage::wait`] for this long, in the storage's time.
    Wait(Duration),
}

impl Call {
    /// Whether the call asks to change what is stored: a write, a flush, a rename, a link or a
    /// removal (whether or not it succeeded). Reads, locks and waits change nothing.
    pub fn changes(&self) -> bool {
        matches!(
            self,
            Self::WriteNew(_)
                | Self::SyncFile(_)
                | Self::Rename { .. }
                | Self::LinkNew { .. }
                | Self::Remove(_)
                | Self::SyncDirectory(_)
        )
    }

    /// The file this call writes to or names anew: what a write, a rename or a link leaves
    /// something at.
    pub fn written(&self) -> Option<&Path> {
        match self {
            Self::WriteNew(path) | Self::Rename { to: path, .. } | Self::LinkNew { new: path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Another writer's hold on a lock file.
#[derive(Debug)]
struct Hold {
    /// The lock file it holds.
    path: PathBuf,
    /// When it lets go, in the storage's time; `None`: when the test says so
    /// ([`MemoryStorage::release_lock`]).
    until: Option<Duration>,
}

/// What a [`MemoryStorage`] holds and how it fails.
#[derive(Debug)]
struct State {
    files: BTreeMap<PathBuf, Vec<u8>>,
    links: BTreeMap<PathBuf, PathBuf>,
    planted: BTreeMap<PathBuf, EntryKind>,
    fifos_at_open: BTreeSet<PathBuf>,
    mode: u32,
    random: Option<u8>,
    draws: u64,
    changes_left: Option<usize>,
    write_failure: Option<ErrorKind>,
    list_failure: Option<ErrorKind>,
    overread: usize,
    hold: Option<Hold>,
    now: Duration,
    reads_hang: bool,
    reading: usize,
    reading_max: usize,
    calls: Vec<Call>,
}

/// What [`MemoryStorage::on_wait`] runs.
type WaitHook = Box<dyn FnMut(&MemoryStorage) + Send>;

/// Files in memory, for a [`FileStore`](tokenring::FileStore) under test: regular files,
/// symbolic links, and whatever the test plants; a lock another writer can hold; faults set up
/// by hand; and a log of every call.
///
/// By default it behaves as a healthy local disk would: files are created owner-only (mode
/// `0600`), every lock is free, every operation succeeds, and the temporary files' numbers are
/// drawn from a fixed sequence (so that a run repeats). The setters change one thing each:
///
/// - what is stored: [`put`](Self::put), [`link`](Self::link), [`plant`](Self::plant) (a
///   directory or FIFO at a name), [`fifo_at_open`](Self::fifo_at_open) (a file that is a FIFO
///   by the time the store opens it), [`set_mode`](Self::set_mode),
///   [`set_random`](Self::set_random);
/// - failures: [`crash_after`](Self::crash_after) (every change from the n-th on fails, as if
///   the process died there), [`fail_writes`](Self::fail_writes), [`fail_list`](Self::fail_list),
///   [`overread`](Self::overread) (a storage that ignores the read limit),
///   [`hang_reads`](Self::hang_reads);
/// - another writer: [`hold_lock`](Self::hold_lock) until [`release_lock`](Self::release_lock),
///   or [`hold_lock_for`](Self::hold_lock_for) a time in the storage's clock, which
///   [`Storage::wait`] moves on; [`on_wait`](Self::on_wait) runs what the other writer does
///   while the store waits.
///
/// ```
/// use std::sync::Arc;
/// use tokenring::{FileStore, KeyRing};
/// use tokenring_testkit::storage::{Call, MemoryStorage};
///
/// let storage = Arc::new(MemoryStorage::new());
/// let store = FileStore::with_storage("/keys/keys.json", storage.clone());
/// store.create(&KeyRing::generate(1_700_000_000).unwrap()).unwrap();
/// assert!(storage.calls().contains(&Call::TryLock { path: "/keys/.keys.json.lock".into(), granted: true }));
/// assert_eq!(storage.files().keys().collect::<Vec<_>>(), ["/keys/keys.json"]);
/// ```
pub struct MemoryStorage {
    state: Mutex<State>,
    /// Told when reads stop hanging.
    resumed: Condvar,
    on_wait: Mutex<Option<WaitHook>>,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::new()
    }
}

/// The paths it holds and its clock; not the files' contents, which hold keys.
impl fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MemoryStorage")
            .field("files", &state.files.keys().collect::<Vec<_>>())
            .field("links", &state.links)
            .field("now", &state.now)
            .finish_non_exhaustive()
    }
}

impl MemoryStorage {
    /// An empty storage, healthy, its clock at zero.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                files: BTreeMap::new(),
                links: BTreeMap::new(),
                planted: BTreeMap::new(),
                fifos_at_open: BTreeSet::new(),
                mode: 0o600,
                random: None,
                draws: 0,
                changes_left: None,
                write_failure: None,
                list_failure: None,
                overread: 0,
                hold: None,
                now: Duration::ZERO,
                reads_hang: false,
                reading: 0,
                reading_max: 0,
                calls: Vec::new(),
            }),
            resumed: Condvar::new(),
            on_wait: Mutex::new(None),
        }
    }

    /// The state, whatever a panicking test left it as.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `call`; for a change, fails it if the storage has crashed.
    fn record(&self, call: Call) -> Result<MutexGuard<'_, State>, ErrorKind> {
        let mut state = self.state();
        let changes = call.changes();
        state.calls.push(call);
        if changes {
            match state.changes_left {
                Some(0) => return Err(ErrorKind::Other),
                Some(left) => state.changes_left = Some(left - 1),
                None => {}
            }
        }
        Ok(state)
    }

    /// Stores `bytes` as the regular file `path`, replacing any file there: a file someone else
    /// wrote (or renamed into place).
    pub fn put(&self, path: impl Into<PathBuf>, bytes: &[u8]) {
        self.state().files.insert(path.into(), bytes.to_vec());
    }

    /// Makes `path` a symbolic link to `target` (relative to the link's directory unless
    /// absolute).
    pub fn link(&self, path: impl Into<PathBuf>, target: impl Into<PathBuf>) {
        self.state().links.insert(path.into(), target.into());
    }

    /// Plants `kind` at `path` (a directory, a FIFO: [`EntryKind::Other`]): the store finds it
    /// when it looks at the name, and cannot create a file there.
    pub fn plant(&self, path: impl Into<PathBuf>, kind: EntryKind) {
        self.state().planted.insert(path.into(), kind);
    }

    /// Makes the regular file at `path` a FIFO by the time the store opens it: the store's look
    /// at the name finds a regular file, its read finds a FIFO, and is refused as
    /// [`Storage::read`] says, with [`ErrorKind::InvalidInput`] (the race no look can win).
    pub fn fifo_at_open(&self, path: impl Into<PathBuf>) {
        self.state().fifos_at_open.insert(path.into());
    }

    /// Renames the file `from` to `to` as another writer would, without a call of the store's.
    ///
    /// # Panics
    /// If there is no file `from`.
    pub fn rename_file(&self, from: impl AsRef<Path>, to: impl Into<PathBuf>) {
        let mut state = self.state();
        let bytes = state.files.remove(from.as_ref()).expect("no file to rename");
        state.files.insert(to.into(), bytes);
    }

    /// The regular files, by path.
    pub fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        self.state().files.clone()
    }

    /// The permission bits every file reports (`0600` unless set); a directory reports none.
    pub fn set_mode(&self, mode: u32) {
        self.state().mode = mode;
    }

    /// Fills every random draw with `byte`: the store then draws the same temporary file's name
    /// every time.
    pub fn set_random(&self, byte: u8) {
        self.state().random = Some(byte);
    }

    /// Lets the next `changes` changing calls ([`Call::changes`]) through, then fails that one and
    /// every later one with [`ErrorKind::Other`], as if the process had crashed there: what is
    /// stored is what the earlier calls did. `None` lifts it.
    pub fn crash_after(&self, changes: Option<usize>) {
        self.state().changes_left = changes;
    }

    /// Fails every [`Storage::write_new`] with `kind` (a full disk: [`ErrorKind::StorageFull`]);
    /// `None` lifts it.
    pub fn fail_writes(&self, kind: Option<ErrorKind>) {
        self.state().write_failure = kind;
    }

    /// Fails every [`Storage::list`] with `kind`, as on a storage that cannot list a directory;
    /// `None` lifts it.
    pub fn fail_list(&self, kind: Option<ErrorKind>) {
        self.state().list_failure = kind;
    }

    /// Adds `bytes` spaces to every read, as a storage that ignores the read limit would.
    pub fn overread(&self, bytes: usize) {
        self.state().overread = bytes;
    }

    /// While `hang` is set, every read waits (at most a hang detector's bound) until it is
    /// cleared, as on a hung network file system.
    pub fn hang_reads(&self, hang: bool) {
        self.state().reads_hang = hang;
        self.resumed.notify_all();
    }

    /// The most reads that were under way at once.
    pub fn reads_at_once_max(&self) -> usize {
        self.state().reading_max
    }

    /// Another writer holds the lock file `path` until [`release_lock`](Self::release_lock).
    pub fn hold_lock(&self, path: impl Into<PathBuf>) {
        self.state().hold = Some(Hold { path: path.into(), until: None });
    }

    /// Another writer holds the lock file `path` for `duration` from now, in the storage's time
    /// (which only [`Storage::wait`] moves on).
    pub fn hold_lock_for(&self, path: impl Into<PathBuf>, duration: Duration) {
        let mut state = self.state();
        let until = Some(state.now + duration);
        state.hold = Some(Hold { path: path.into(), until });
    }

    /// The other writer lets go of its lock.
    pub fn release_lock(&self) {
        self.state().hold = None;
    }

    /// The storage's clock: how long the store has waited in it.
    pub fn now(&self) -> Duration {
        self.state().now
    }

    /// Runs `hook` at every [`Storage::wait`], after the storage's clock has moved on: what
    /// another writer does while the store waits for its lock (finish its write, let go).
    pub fn on_wait(&self, hook: impl FnMut(&MemoryStorage) + Send + 'static) {
        *self.on_wait.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(hook));
    }

    /// Every call the store made, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Every call the store made, in order, and forgets them: what a test checks of the steps
    /// since the last time it asked.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.state().calls)
    }

    /// The calls matching `which` among [`calls`](Self::calls).
    pub fn count(&self, which: impl Fn(&Call) -> bool) -> usize {
        self.state().calls.iter().filter(|call| which(call)).count()
    }
}

impl Storage for MemoryStorage {
    fn read(&self, path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, ErrorKind> {
        let mut state = self.record(Call::Read(path.to_owned()))?;
        state.reading += 1;
        state.reading_max = state.reading_max.max(state.reading);
        let (mut state, _) = self
            .resumed
            .wait_timeout_while(state, HANG_MAX, |state| state.reads_hang)
            .unwrap_or_else(PoisonError::into_inner);
        state.reading -= 1;
        if state.fifos_at_open.contains(path) {
            return Err(ErrorKind::InvalidInput);
        }
        let bytes = state.files.get(path).ok_or(ErrorKind::NotFound)?;
        let mut read = Vec::with_capacity(limit.min(bytes.len()) + state.overread);
        read.extend_from_slice(&bytes[..bytes.len().min(limit)]);
        read.resize(read.len() + state.overread, b' ');
        Ok(Zeroizing::new(read))
    }

    fn write_new(&self, path: &Path, bytes: &[u8]) -> Result<(), ErrorKind> {
        let mut state = self.record(Call::WriteNew(path.to_owned()))?;
        if let Some(kind) = state.write_failure {
            return Err(kind);
        }
        if state.files.contains_key(path) || state.links.contains_key(path) || state.planted.contains_key(path) {
            return Err(ErrorKind::AlreadyExists);
        }
        state.files.insert(path.to_owned(), bytes.to_vec());
        Ok(())
    }

    fn sync_file(&self, path: &Path) -> Result<(), ErrorKind> {
        self.record(Call::SyncFile(path.to_owned())).map(drop)
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<(), ErrorKind> {
        let mut state = self.record(Call::Rename { from: from.to_owned(), to: to.to_owned() })?;
        let bytes = state.files.remove(from).ok_or(ErrorKind::NotFound)?;
        state.files.insert(to.to_owned(), bytes);
        Ok(())
    }

    fn link_new(&self, existing: &Path, new: &Path) -> Result<(), ErrorKind> {
        let mut state = self.record(Call::LinkNew { existing: existing.to_owned(), new: new.to_owned() })?;
        if state.files.contains_key(new) || state.links.contains_key(new) || state.planted.contains_key(new) {
            return Err(ErrorKind::AlreadyExists);
        }
        let bytes = state.files.get(existing).ok_or(ErrorKind::NotFound)?.clone();
        state.files.insert(new.to_owned(), bytes);
        Ok(())
    }

    fn remove(&self, path: &Path) -> Result<(), ErrorKind> {
        let mut state = self.record(Call::Remove(path.to_owned()))?;
        state.files.remove(path).map(drop).ok_or(ErrorKind::NotFound)
    }

    fn sync_directory(&self, path: &Path) -> Result<(), ErrorKind> {
        self.record(Call::SyncDirectory(path.to_owned())).map(drop)
    }

    fn list(&self, directory: &Path, prefix: &str, limit: usize) -> Result<Vec<OsString>, ErrorKind> {
        let state = self.state();
        if let Some(kind) = state.list_failure {
            return Err(kind);
        }
        let names =
            state.files.keys().filter(|path| path.parent() == Some(directory)).filter_map(|path| path.file_name());
        let prefixed = names.filter(|name| name.as_encoded_bytes().starts_with(prefix.as_bytes()));
        Ok(prefixed.take(limit).map(OsString::from).collect())
    }

    fn try_lock(&self, path: &Path) -> Result<Option<StorageLock>, ErrorKind> {
        let mut state = self.state();
        let held = state
            .hold
            .as_ref()
            .is_some_and(|hold| hold.path == path && hold.until.is_none_or(|until| state.now < until));
        state.calls.push(Call::TryLock { path: path.to_owned(), granted: !held });
        Ok((!held).then(|| StorageLock::new(())))
    }

    fn mode(&self, path: &Path) -> Result<Option<u32>, ErrorKind> {
        let state = self.state();
        state.files.get(path).map(|_| Some(state.mode)).ok_or(ErrorKind::NotFound)
    }

    fn fill_random(&self, dest: &mut [u8]) -> Result<(), ErrorKind> {
        let mut state = self.state();
        match state.random {
            Some(byte) => dest.fill(byte),
            None => {
                // SplitMix64 over a counter: numbers that look drawn, the same in every run.
                for chunk in dest.chunks_mut(8) {
                    state.draws += 1;
                    let mut z = state.draws.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    z ^= z >> 31;
                    chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
                }
            }
        }
        Ok(())
    }

    /// Moves the storage's clock on by `duration`, then runs the [`on_wait`] hook, if any.
    ///
    /// [`on_wait`]: MemoryStorage::on_wait
    fn wait(&self, duration: Duration) {
        {
            let mut state = self.state();
            state.calls.push(Call::Wait(duration));
            state.now += duration;
        }
        // Taken out while it runs: the hook calls this storage, and may set another hook.
        let hook = self.on_wait.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(mut hook) = hook {
            hook(self);
            self.on_wait.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(hook);
        }
    }

    fn entry_kind(&self, path: &Path) -> Result<EntryKind, ErrorKind> {
        let state = self.state();
        if let Some(kind) = state.planted.get(path) {
            Ok(kind.clone())
        } else if let Some(target) = state.links.get(path) {
            Ok(EntryKind::Symlink(target.clone().into()))
        } else if state.files.contains_key(path) {
            Ok(EntryKind::File)
        } else {
            Err(ErrorKind::NotFound)
        }
    }
}
