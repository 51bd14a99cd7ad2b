//! The simulated disk the nodes' real `FileStore` runs on: an implementation of
//! `tokenring::Storage` in memory, deterministic, with the faults of a real one.
//!
//! Files are inodes under names. A name change (a write of a new file, a rename, a link, a
//! removal) is durable only once the directory is synced; a file's data only once the file is
//! synced. A node can crash before or after any operation that changes something: the disk then
//! keeps its durable state, plus a prefix (drawn from the seed) of the name changes made since
//! the last directory sync, and every file whose data was not synced keeps a prefix of its
//! bytes (a torn write). A call that ends without a crash leaves everything on disk, as the
//! kernel's write-back would long before the next simulated event. The store's atomicity is
//! then what the real `FileStore` makes of these rules.
//!
//! Besides crashes: outages (windows in which every operation fails with an I/O error or
//! permission denied, or every new file fails with the disk full), contention for the lock (an
//! outside holder, such as an operator's command, for a number of attempts), and per-node
//! propagation: a node's mount shows each new version of the key file only some time after it
//! was written (a mounted Kubernetes Secret reaches each pod at its kubelet's next sync).

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokenring::{Storage, StorageLock};
use zeroize::Zeroizing;

use crate::rng::{SimRng, Stream};

/// The directory of the key file, on every simulated disk.
pub(crate) const KEY_DIRECTORY: &str = "/var/lib/app";
/// The key file.
pub(crate) const KEY_FILE: &str = "/var/lib/app/keys.json";
/// What the name of every temporary file of the key file's store begins with.
const TEMP_PREFIX: &str = ".keys.json.tmp.";

/// Most versions of the key file kept for mounts that have not shown the newest one yet.
const VERSIONS_MAX: usize = 16;

/// What an outage does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutageKind {
    /// Every operation fails with an I/O error (`EIO`).
    Io,
    /// Every operation fails with permission denied (`EACCES`: a volume remounted under another
    /// owner).
    Denied,
    /// Creating a file fails with the disk full (`ENOSPC`); reads, renames and locks work.
    Full,
}

impl OutageKind {
    pub(crate) const ALL: [OutageKind; 3] = [OutageKind::Io, OutageKind::Denied, OutageKind::Full];

    /// The error an operation meets, if this outage stops it.
    fn stops(self, creates_file: bool) -> Option<ErrorKind> {
        match self {
            Self::Io => Some(ErrorKind::Other),
            Self::Denied => Some(ErrorKind::PermissionDenied),
            Self::Full => creates_file.then_some(ErrorKind::StorageFull),
        }
    }
}

/// A window `[start_ms, end_ms)` of trouble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outage {
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
    pub(crate) kind: OutageKind,
}

/// Which key file a handle reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// The file as it is (the tests' writers).
    #[cfg(test)]
    Direct,
    /// The newest version the node's mount shows (what a node's `SharedRing` reads), except
    /// under the node's own lock: a writer reads the source it writes to.
    Mounted,
}

/// Where a planned crash interrupts a call: before or after its `operation`-th (from 1)
/// operation that changes the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CrashPlan {
    pub(crate) operation: u32,
    pub(crate) after: bool,
}

#[derive(Debug)]
struct Inode {
    data: Zeroizing<Vec<u8>>,
    /// Whether `data` is on stable storage.
    synced: bool,
}

/// One version of the key file as the mounts show it.
#[derive(Debug)]
struct Version {
    /// The bytes; `None` when the file did not exist.
    document: Option<Zeroizing<Vec<u8>>>,
    /// From when each node's mount shows it (empty: every node at once).
    visible_from_ms: Vec<u64>,
}

/// A change of the directory: names set to an inode, or removed.
type NameChange = Vec<(PathBuf, Option<u64>)>;

/// One simulated disk: the shared store, or one node's own volume.
#[derive(Debug)]
pub(crate) struct Disk {
    now_ms: u64,
    outages: Vec<Outage>,
    names: BTreeMap<PathBuf, u64>,
    /// The names as they are on stable storage.
    durable_names: BTreeMap<PathBuf, u64>,
    /// Name changes since the last directory sync, in order.
    pending: Vec<NameChange>,
    inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    lock_holder: Option<usize>,
    /// Until when (simulated ms) the last writer held the lock: its call returned, but in
    /// simulated time it released the lock only once its syncs were done. A writer that asks
    /// before then finds it taken and waits, in the disk's time, through the store's retries.
    lock_free_at_ms: u64,
    /// How long each sync of a node's current call takes (simulated ms), by node.
    sync_ms: BTreeMap<usize, u64>,
    /// Attempts to take the lock that an outside holder still wins.
    contended_attempts: u32,
    /// Planned crashes, by node, with the operations each node has made in its current call.
    crash_plans: BTreeMap<usize, (CrashPlan, u32)>,
    /// Nodes that crashed in their current call: every further operation of theirs fails.
    crashed: BTreeMap<usize, ()>,
    /// Nodes that changed the disk in their current call.
    wrote_in_call: BTreeMap<usize, ()>,
    /// When (simulated ms) each node took the lock in its current call: when its change of the
    /// ring was made, by its clock.
    locked_in_call: BTreeMap<usize, u64>,
    versions: VecDeque<Version>,
    /// Draws what survives a crash.
    rng: SimRng,
    /// Draws the numbers of the store's temporary files' names: a stream of its own, so that
    /// they shift no other draw.
    temp_names: SimRng,
    /// Waits for the lock (each one a retry of `FileStore::update`).
    pub(crate) lock_waits: u64,
    /// Nodes whose mount of the key file is missing (a Secret not mounted), until when.
    unmounted: BTreeMap<usize, u64>,
}

impl Disk {
    pub(crate) fn new(outages: Vec<Outage>, rng: SimRng) -> Self {
        debug_assert!(outages.windows(2).all(|pair| pair[0].end_ms <= pair[1].start_ms));
        // Seeded from a copy of the disk's generator, which is left where it was.
        let temp_names = SimRng::new(rng.clone().next_u64(), Stream::TempNames);
        Self {
            now_ms: 0,
            outages,
            names: BTreeMap::new(),
            durable_names: BTreeMap::new(),
            pending: Vec::new(),
            inodes: BTreeMap::new(),
            next_inode: 1,
            lock_holder: None,
            lock_free_at_ms: 0,
            sync_ms: BTreeMap::new(),
            contended_attempts: 0,
            crash_plans: BTreeMap::new(),
            crashed: BTreeMap::new(),
            wrote_in_call: BTreeMap::new(),
            locked_in_call: BTreeMap::new(),
            unmounted: BTreeMap::new(),
            // Before the first write every mount shows no file.
            versions: VecDeque::from([Version { document: None, visible_from_ms: Vec::new() }]),
            rng,
            temp_names,
            lock_waits: 0,
        }
    }

    /// A shared handle on a new disk.
    pub(crate) fn shared(outages: Vec<Outage>, rng: SimRng) -> Arc<Mutex<Disk>> {
        Arc::new(Mutex::new(Self::new(outages, rng)))
    }

    pub(crate) fn set_now(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    /// The disk's clock: the world's time when a call began, moved on by the call's syncs and
    /// lock waits. After a write call, when its last operation landed.
    pub(crate) fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// When `node` took the lock in its current call, if it did.
    pub(crate) fn locked_at_ms(&self, node: usize) -> Option<u64> {
        self.locked_in_call.get(&node).copied()
    }

    /// Until when a writer holds the lock, in simulated time (in the past when it is free).
    pub(crate) fn lock_free_at_ms(&self) -> u64 {
        self.lock_free_at_ms
    }

    /// Every sync of `node`'s next call takes `sync_ms` (a slow volume's `fsync`): the call's
    /// writes land, and its lock is released, that much later per sync in simulated time.
    pub(crate) fn plan_sync(&mut self, node: usize, sync_ms: u64) {
        self.sync_ms.insert(node, sync_ms);
    }

    /// Node `node`'s mount of the key file is missing until `until_ms` (its Secret is not
    /// mounted): every operation of that node fails as if the directory did not exist.
    pub(crate) fn unmount(&mut self, node: usize, until_ms: u64) {
        self.unmounted.insert(node, until_ms);
    }

    /// Whether node `node`'s mount is missing now.
    pub(crate) fn is_unmounted(&self, node: usize) -> bool {
        self.unmounted.get(&node).is_some_and(|&until_ms| self.now_ms < until_ms)
    }

    /// The error an operation of `node` meets before it reaches the disk: the node crashed in
    /// this call, its mount is missing, or an outage stops it.
    fn stopped(&self, node: usize, creates_file: bool) -> Option<ErrorKind> {
        if self.crashed.contains_key(&node) {
            return Some(ErrorKind::Other);
        }
        if self.is_unmounted(node) {
            return Some(ErrorKind::NotFound);
        }
        self.outage().and_then(|kind| kind.stops(creates_file))
    }

    /// The outage in force, if any.
    pub(crate) fn outage(&self) -> Option<OutageKind> {
        let index = self.outages.partition_point(|outage| outage.start_ms <= self.now_ms);
        let outage = self.outages.get(index.checked_sub(1)?)?;
        (self.now_ms < outage.end_ms).then_some(outage.kind)
    }

    /// Plans a crash of `node` in its next call.
    pub(crate) fn plan_crash(&mut self, node: usize, plan: CrashPlan) {
        self.crash_plans.insert(node, (plan, 0));
    }

    /// An outside holder wins the lock's next `attempts` attempts.
    pub(crate) fn contend_lock(&mut self, attempts: u32) {
        self.contended_attempts = attempts;
    }

    /// Whether an outside holder will win some of the lock's next attempts.
    pub(crate) fn lock_contended(&self) -> bool {
        self.contended_attempts > 0
    }

    /// Ends `node`'s call: whether it crashed (the disk already holds what survived). A crash
    /// that was planned but not reached is dropped.
    pub(crate) fn end_call(&mut self, node: usize) -> bool {
        self.crash_plans.remove(&node);
        self.sync_ms.remove(&node);
        self.wrote_in_call.remove(&node);
        self.locked_in_call.remove(&node);
        let crashed = self.crashed.remove(&node).is_some();
        if !crashed {
            // Write-back: what the call left in memory reaches the disk long before any later
            // crash.
            self.settle();
        }
        crashed
    }

    fn settle(&mut self) {
        self.durable_names.clone_from(&self.names);
        self.pending.clear();
        for inode in self.inodes.values_mut() {
            inode.synced = true;
        }
    }

    /// How many temporary files of the key file's store are on the disk now: a write that
    /// crashed can leave one, and the next write that completes removes it.
    pub(crate) fn temp_files(&self) -> usize {
        self.names.keys().filter(|path| Self::named_with_prefix(Path::new(KEY_DIRECTORY), TEMP_PREFIX, path)).count()
    }

    /// Whether `path` is in `directory` and its name begins with `prefix`.
    fn named_with_prefix(directory: &Path, prefix: &str, path: &Path) -> bool {
        path.parent() == Some(directory)
            && path.file_name().is_some_and(|name| name.as_encoded_bytes().starts_with(prefix.as_bytes()))
    }

    /// Someone outside the store (an operator's `kubectl apply`) replaces the key file with
    /// `bytes`, durably.
    pub(crate) fn replace_key_file(&mut self, bytes: &[u8]) {
        let inode = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(inode, Inode { data: Zeroizing::new(bytes.to_vec()), synced: true });
        self.names.insert(PathBuf::from(KEY_FILE), inode);
        self.settle();
        let names = &self.names;
        self.inodes.retain(|id, _| names.values().any(|named| named == id));
    }

    /// The key file's bytes as they are now (the ground truth, whatever the faults).
    pub(crate) fn key_file(&self) -> Option<&[u8]> {
        let inode = self.names.get(Path::new(KEY_FILE))?;
        self.inodes.get(inode).map(|inode| inode.data.as_slice())
    }

    /// If the key file changed since the newest version the mounts know, records the new
    /// version, shown to each node from its time in `visible_from_ms` (every node at once if it
    /// is empty), and returns the previous version's bytes (`Some(None)`: there was no file).
    /// `None` when nothing changed.
    #[allow(clippy::option_option)]
    pub(crate) fn publish(&mut self, visible_from_ms: Vec<u64>) -> Option<Option<Zeroizing<Vec<u8>>>> {
        let current = self.key_file();
        let unchanged = match self.versions.back() {
            Some(newest) => newest.document.as_deref().map(Vec::as_slice) == current,
            None => current.is_none(),
        };
        if unchanged {
            return None;
        }
        let current = current.map(|bytes| Zeroizing::new(bytes.to_vec()));
        let previous = self.versions.back().and_then(|version| version.document.clone());
        if self.versions.len() == VERSIONS_MAX {
            self.versions.pop_front();
        }
        self.versions.push_back(Version { document: current, visible_from_ms });
        Some(previous)
    }

    /// Sets from when each node's mount shows the newest version.
    pub(crate) fn set_visibility(&mut self, visible_from_ms: Vec<u64>) {
        if let Some(newest) = self.versions.back_mut() {
            newest.visible_from_ms = visible_from_ms;
        }
    }

    /// A node (re)starts: its new mount shows the key file as it is now, as a pod's volume is
    /// filled when the pod starts.
    pub(crate) fn refresh_mount(&mut self, node: usize) {
        let now_ms = self.now_ms;
        for version in &mut self.versions {
            if let Some(from) = version.visible_from_ms.get_mut(node) {
                *from = (*from).min(now_ms);
            }
        }
    }

    /// The version `node`'s mount shows: the newest that has reached it, or the oldest kept.
    fn mounted(&self, node: usize) -> Option<&Version> {
        let reached = |version: &&Version| version.visible_from_ms.get(node).is_none_or(|&from| from <= self.now_ms);
        self.versions.iter().rev().find(reached).or(self.versions.front())
    }

    /// Counts an operation of `node` that changes the disk; `Err` if the node is dead, an
    /// outage stops it, or the node crashes before it. `Ok(true)`: the node crashes right after
    /// it.
    fn begin_change(&mut self, node: usize, creates_file: bool) -> Result<bool, ErrorKind> {
        if let Some(kind) = self.stopped(node, creates_file) {
            return Err(kind);
        }
        self.wrote_in_call.insert(node, ());
        let Some((plan, count)) = self.crash_plans.get_mut(&node) else { return Ok(false) };
        *count += 1;
        if *count != plan.operation {
            return Ok(false);
        }
        if plan.after {
            return Ok(true);
        }
        self.crash(node);
        Err(ErrorKind::Other)
    }

    /// Ends an operation begun with [`begin_change`](Self::begin_change).
    fn end_change<T>(&mut self, node: usize, crash_after: bool, result: Result<T, ErrorKind>) -> Result<T, ErrorKind> {
        if crash_after {
            self.crash(node);
            return Err(ErrorKind::Other);
        }
        result
    }

    /// `node` dies: the disk keeps its durable state, a prefix of the name changes since the
    /// last directory sync, and a prefix of every file's unsynced data.
    fn crash(&mut self, node: usize) {
        self.crashed.insert(node, ());
        if self.lock_holder == Some(node) {
            // The operating system releases a dead process's lock at once.
            self.lock_holder = None;
            self.lock_free_at_ms = self.now_ms;
        }
        let kept = self.rng.below(self.pending.len() as u64 + 1) as usize;
        let mut names = self.durable_names.clone();
        for change in self.pending.drain(..).take(kept) {
            for (name, inode) in change {
                match inode {
                    Some(inode) => names.insert(name, inode),
                    None => names.remove(&name),
                };
            }
        }
        self.names = names;
        self.inodes.retain(|id, _| self.names.values().any(|named| named == id));
        for inode in self.inodes.values_mut() {
            if !inode.synced {
                let length = self.rng.below(inode.data.len() as u64 + 1) as usize;
                inode.data.truncate(length);
                inode.synced = true;
            }
        }
        self.durable_names.clone_from(&self.names);
    }

    fn change_names(&mut self, change: NameChange) {
        for (name, inode) in &change {
            match inode {
                Some(inode) => self.names.insert(name.clone(), *inode),
                None => self.names.remove(name),
            };
        }
        self.pending.push(change);
    }

    fn read(&mut self, node: usize, view: View, path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, ErrorKind> {
        if let Some(kind) = self.stopped(node, false) {
            return Err(kind);
        }
        // A node reads the source, not its mount, under its own lock and in a call that wrote
        // (a writer sees its own write at once).
        let through_mount =
            view == View::Mounted && self.lock_holder != Some(node) && !self.wrote_in_call.contains_key(&node);
        if !through_mount && path == Path::new(KEY_FILE) {
            // What a node has read from the source its mount shows from then on.
            self.refresh_mount(node);
        }
        let bytes: &[u8] = if through_mount && path == Path::new(KEY_FILE) {
            self.mounted(node).and_then(|version| version.document.as_deref()).ok_or(ErrorKind::NotFound)?
        } else {
            let inode = self.names.get(path).ok_or(ErrorKind::NotFound)?;
            self.inodes.get(inode).map(|inode| inode.data.as_slice()).ok_or(ErrorKind::NotFound)?
        };
        let length = bytes.len().min(limit);
        let mut copy = Zeroizing::new(Vec::with_capacity(length));
        copy.extend_from_slice(&bytes[..length]);
        Ok(copy)
    }

    fn write_new(&mut self, node: usize, path: &Path, bytes: &[u8]) -> Result<(), ErrorKind> {
        let crash_after = self.begin_change(node, true)?;
        let result = if self.names.contains_key(path) {
            Err(ErrorKind::AlreadyExists)
        } else {
            let inode = self.next_inode;
            self.next_inode += 1;
            self.inodes.insert(inode, Inode { data: Zeroizing::new(bytes.to_vec()), synced: false });
            self.change_names(vec![(path.to_owned(), Some(inode))]);
            Ok(())
        };
        self.end_change(node, crash_after, result)
    }

    /// A sync takes the time planned for `node`'s call.
    fn take_sync_time(&mut self, node: usize) {
        self.now_ms += self.sync_ms.get(&node).copied().unwrap_or(0);
    }

    fn sync_file(&mut self, node: usize, path: &Path) -> Result<(), ErrorKind> {
        let crash_after = self.begin_change(node, false)?;
        self.take_sync_time(node);
        let result = match self.names.get(path).and_then(|inode| self.inodes.get_mut(inode)) {
            Some(inode) => {
                inode.synced = true;
                Ok(())
            }
            None => Err(ErrorKind::NotFound),
        };
        self.end_change(node, crash_after, result)
    }

    fn rename(&mut self, node: usize, from: &Path, to: &Path) -> Result<(), ErrorKind> {
        let crash_after = self.begin_change(node, false)?;
        let result = match self.names.get(from).copied() {
            Some(inode) => {
                self.change_names(vec![(from.to_owned(), None), (to.to_owned(), Some(inode))]);
                Ok(())
            }
            None => Err(ErrorKind::NotFound),
        };
        self.end_change(node, crash_after, result)
    }

    fn link_new(&mut self, node: usize, existing: &Path, new: &Path) -> Result<(), ErrorKind> {
        let crash_after = self.begin_change(node, false)?;
        let result = match (self.names.get(existing).copied(), self.names.contains_key(new)) {
            (_, true) => Err(ErrorKind::AlreadyExists),
            (Some(inode), false) => {
                self.change_names(vec![(new.to_owned(), Some(inode))]);
                Ok(())
            }
            (None, false) => Err(ErrorKind::NotFound),
        };
        self.end_change(node, crash_after, result)
    }

    fn remove(&mut self, node: usize, path: &Path) -> Result<(), ErrorKind> {
        let crash_after = self.begin_change(node, false)?;
        let result = if self.names.contains_key(path) {
            self.change_names(vec![(path.to_owned(), None)]);
            Ok(())
        } else {
            Err(ErrorKind::NotFound)
        };
        self.end_change(node, crash_after, result)
    }

    /// The names in `directory` that begin with `prefix`, in the names' order, at most `limit`.
    fn list(&self, node: usize, directory: &Path, prefix: &str, limit: usize) -> Result<Vec<OsString>, ErrorKind> {
        if let Some(kind) = self.stopped(node, false) {
            return Err(kind);
        }
        let listed = self.names.keys().filter(|path| Self::named_with_prefix(directory, prefix, path));
        Ok(listed.filter_map(|path| path.file_name()).take(limit).map(OsString::from).collect())
    }

    fn sync_directory(&mut self, node: usize) -> Result<(), ErrorKind> {
        let crash_after = self.begin_change(node, false)?;
        self.take_sync_time(node);
        self.durable_names.clone_from(&self.names);
        self.pending.clear();
        self.end_change(node, crash_after, Ok(()))
    }

    fn try_lock(&mut self, node: usize) -> Result<bool, ErrorKind> {
        if let Some(kind) = self.stopped(node, false) {
            return Err(kind);
        }
        // Another writer holds it: inside its call, or in simulated time until its syncs end.
        if self.lock_holder.is_some() || self.now_ms < self.lock_free_at_ms {
            return Ok(false);
        }
        if self.contended_attempts > 0 {
            self.contended_attempts -= 1;
            return Ok(false);
        }
        self.lock_holder = Some(node);
        self.locked_in_call.insert(node, self.now_ms);
        Ok(true)
    }
}

fn lock(disk: &Mutex<Disk>) -> MutexGuard<'_, Disk> {
    disk.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A node's handle on a disk: what its `FileStore` runs on.
#[derive(Clone, Debug)]
pub(crate) struct NodeDisk {
    disk: Arc<Mutex<Disk>>,
    node: usize,
    view: View,
}

impl NodeDisk {
    pub(crate) fn new(disk: Arc<Mutex<Disk>>, node: usize, view: View) -> Self {
        Self { disk, node, view }
    }
}

/// Releases a node's lock on the disk when dropped.
#[derive(Debug)]
struct Held {
    disk: Arc<Mutex<Disk>>,
    node: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut disk = lock(&self.disk);
        if disk.lock_holder == Some(self.node) {
            disk.lock_holder = None;
            disk.lock_free_at_ms = disk.lock_free_at_ms.max(disk.now_ms);
        }
    }
}

impl Storage for NodeDisk {
    fn read(&self, path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, ErrorKind> {
        lock(&self.disk).read(self.node, self.view, path, limit)
    }

    fn write_new(&self, path: &Path, bytes: &[u8]) -> Result<(), ErrorKind> {
        lock(&self.disk).write_new(self.node, path, bytes)
    }

    fn sync_file(&self, path: &Path) -> Result<(), ErrorKind> {
        lock(&self.disk).sync_file(self.node, path)
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<(), ErrorKind> {
        lock(&self.disk).rename(self.node, from, to)
    }

    fn link_new(&self, existing: &Path, new: &Path) -> Result<(), ErrorKind> {
        lock(&self.disk).link_new(self.node, existing, new)
    }

    fn remove(&self, path: &Path) -> Result<(), ErrorKind> {
        lock(&self.disk).remove(self.node, path)
    }

    fn sync_directory(&self, path: &Path) -> Result<(), ErrorKind> {
        debug_assert_eq!(path, Path::new(KEY_DIRECTORY));
        lock(&self.disk).sync_directory(self.node)
    }

    fn list(&self, directory: &Path, prefix: &str, limit: usize) -> Result<Vec<OsString>, ErrorKind> {
        debug_assert_eq!(directory, Path::new(KEY_DIRECTORY));
        lock(&self.disk).list(self.node, directory, prefix, limit)
    }

    fn try_lock(&self, _path: &Path) -> Result<Option<StorageLock>, ErrorKind> {
        let taken = lock(&self.disk).try_lock(self.node)?;
        Ok(taken.then(|| StorageLock::new(Held { disk: Arc::clone(&self.disk), node: self.node })))
    }

    fn mode(&self, path: &Path) -> Result<Option<u32>, ErrorKind> {
        let disk = lock(&self.disk);
        disk.names.get(path).map(|_| Some(0o600)).ok_or(ErrorKind::NotFound)
    }

    /// The store's wait between two attempts at the lock takes `duration` of the disk's time:
    /// a writer that finds the lock held until later in simulated time gets it once it has
    /// waited that long, through the store's own retries, and its writes land then.
    fn wait(&self, duration: std::time::Duration) {
        let mut disk = lock(&self.disk);
        disk.now_ms += u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        disk.lock_waits += 1;
    }

    fn fill_random(&self, dest: &mut [u8]) -> Result<(), ErrorKind> {
        lock(&self.disk).temp_names.fill(dest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tokenring::{FileStore, KeyRing, Rotation, StoreError};

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn disk(outages: Vec<Outage>) -> Arc<Mutex<Disk>> {
        Disk::shared(outages, SimRng::new(3, Stream::Disk))
    }

    fn store(disk: &Arc<Mutex<Disk>>, node: usize, view: View) -> FileStore {
        FileStore::with_storage(KEY_FILE, Arc::new(NodeDisk::new(Arc::clone(disk), node, view)))
    }

    fn rotated(ring: &KeyRing) -> KeyRing {
        let mut next = KeyRing::from_jwk_set(ring.to_jwk_set().as_bytes()).unwrap();
        next.rotate(&Rotation::new(), NOW + 1).unwrap();
        next
    }

    /// Every crash point of the real `FileStore::save`, each with several draws of what
    /// survives: the key file is always the old document or the new one.
    #[test]
    fn the_real_save_survives_a_crash_at_any_step_whole() {
        let old = KeyRing::generate(NOW).unwrap();
        let new = rotated(&old);
        let mut survivors = std::collections::BTreeSet::new();
        for operation in 1..=6 {
            for after in [false, true] {
                for seed in 0..8 {
                    let disk = Disk::shared(Vec::new(), SimRng::new(seed, Stream::Disk));
                    store(&disk, 0, View::Direct).create(&old).unwrap();
                    assert!(!lock(&disk).end_call(0));
                    lock(&disk).plan_crash(0, CrashPlan { operation, after });
                    let saved = store(&disk, 0, View::Direct).save(&new);
                    let crashed = lock(&disk).end_call(0);
                    assert_eq!(crashed, saved.is_err(), "operation {operation} after {after}");
                    let document = lock(&disk).key_file().map(<[u8]>::to_vec).unwrap();
                    assert!(
                        document == old.to_jwk_set().as_bytes() || document == new.to_jwk_set().as_bytes(),
                        "operation {operation} after {after} seed {seed}: a torn key file"
                    );
                    survivors.insert(document == new.to_jwk_set().as_bytes());
                }
            }
        }
        assert_eq!(survivors.len(), 2, "some crashes keep the old document, some the new");
    }

    /// A crash at any step of a save can leave its temporary file (key material); the next
    /// save, under the lock, removes it, and a save that completes leaves none of its own.
    #[test]
    fn the_next_save_removes_the_temporary_file_a_crash_left() {
        let old = KeyRing::generate(NOW).unwrap();
        let new = rotated(&old);
        let mut left = 0;
        for operation in 1..=4 {
            for after in [false, true] {
                for seed in 0..8 {
                    let disk = Disk::shared(Vec::new(), SimRng::new(seed, Stream::Disk));
                    store(&disk, 0, View::Direct).create(&old).unwrap();
                    assert!(!lock(&disk).end_call(0));
                    assert_eq!(lock(&disk).temp_files(), 0, "create leaves no temporary file");
                    lock(&disk).plan_crash(0, CrashPlan { operation, after });
                    assert!(store(&disk, 0, View::Direct).save(&new).is_err());
                    assert!(lock(&disk).end_call(0));
                    left += lock(&disk).temp_files();
                    assert!(lock(&disk).temp_files() <= 1, "operation {operation} after {after} seed {seed}");
                    store(&disk, 1, View::Direct).save(&rotated(&new)).unwrap();
                    assert!(!lock(&disk).end_call(1));
                    assert_eq!(lock(&disk).temp_files(), 0, "operation {operation} after {after} seed {seed}");
                }
            }
        }
        assert!(left > 0, "some crashes leave a temporary file");
    }

    #[cfg(feature = "canaries")]
    #[test]
    fn the_save_in_place_canary_can_leave_a_torn_or_missing_key_file() {
        let old = KeyRing::generate(NOW).unwrap();
        let new = rotated(&old);
        let mut broken = 0;
        for operation in 1..=8 {
            for seed in 0..8 {
                let disk = Disk::shared(Vec::new(), SimRng::new(seed, Stream::Disk));
                store(&disk, 0, View::Direct).create(&old).unwrap();
                lock(&disk).end_call(0);
                lock(&disk).plan_crash(0, CrashPlan { operation, after: false });
                tokenring::canary::arm(Some(tokenring::canary::Canary::SaveInPlace));
                let _ = store(&disk, 0, View::Direct).save(&new);
                tokenring::canary::arm(None);
                lock(&disk).end_call(0);
                let whole = lock(&disk).key_file().map(<[u8]>::to_vec).is_some_and(|document| {
                    document == old.to_jwk_set().as_bytes() || document == new.to_jwk_set().as_bytes()
                });
                broken += usize::from(!whole);
            }
        }
        assert!(broken > 0);
    }

    #[test]
    fn a_mount_shows_a_new_version_after_its_delay_and_a_writer_reads_the_file() {
        let disk = disk(Vec::new());
        let old = KeyRing::generate(NOW).unwrap();
        store(&disk, 0, View::Direct).create(&old).unwrap();
        lock(&disk).end_call(0);
        assert_eq!(lock(&disk).publish(Vec::new()), Some(None));
        let new = rotated(&old);
        store(&disk, 0, View::Direct).save(&new).unwrap();
        lock(&disk).end_call(0);
        assert!(lock(&disk).publish(vec![0, 50]).is_some());
        assert_eq!(lock(&disk).publish(vec![0, 50]), None, "nothing changed since");
        lock(&disk).set_now(20);
        let mounted = |node| store(&disk, node, View::Mounted).load().unwrap().to_jwk_set();
        assert_eq!(mounted(0).as_str(), new.to_jwk_set().as_str());
        assert_eq!(mounted(1).as_str(), old.to_jwk_set().as_str());
        assert_eq!(store(&disk, 1, View::Direct).load().unwrap().to_jwk_set().as_str(), new.to_jwk_set().as_str());
        lock(&disk).set_now(50);
        assert_eq!(mounted(1).as_str(), new.to_jwk_set().as_str());
    }

    #[test]
    fn a_restarted_node_mounts_the_file_as_it_is() {
        let disk = disk(Vec::new());
        let old = KeyRing::generate(NOW).unwrap();
        store(&disk, 0, View::Direct).create(&old).unwrap();
        lock(&disk).end_call(0);
        lock(&disk).publish(Vec::new());
        let new = rotated(&old);
        store(&disk, 0, View::Direct).save(&new).unwrap();
        lock(&disk).end_call(0);
        lock(&disk).publish(vec![0, 1_000]);
        lock(&disk).set_now(10);
        let mounted = || store(&disk, 1, View::Mounted).load().unwrap().to_jwk_set();
        assert_eq!(mounted().as_str(), old.to_jwk_set().as_str());
        lock(&disk).refresh_mount(1);
        assert_eq!(mounted().as_str(), new.to_jwk_set().as_str());
    }

    #[test]
    fn outages_fail_what_they_stop_and_only_inside_their_window() {
        let disk = disk(vec![
            Outage { start_ms: 100, end_ms: 200, kind: OutageKind::Full },
            Outage { start_ms: 300, end_ms: 400, kind: OutageKind::Denied },
        ]);
        let ring = KeyRing::generate(NOW).unwrap();
        lock(&disk).set_now(150);
        let full = store(&disk, 0, View::Direct).create(&ring).unwrap_err();
        assert!(matches!(full, StoreError::Io { kind: ErrorKind::StorageFull, .. }), "{full:?}");
        assert!(matches!(store(&disk, 0, View::Direct).load().unwrap_err(), StoreError::NotFound { .. }));
        lock(&disk).set_now(200);
        store(&disk, 0, View::Direct).create(&ring).unwrap();
        lock(&disk).set_now(350);
        let denied = store(&disk, 0, View::Direct).load().unwrap_err();
        assert!(matches!(denied, StoreError::Io { kind: ErrorKind::PermissionDenied, .. }), "{denied:?}");
        lock(&disk).set_now(400);
        assert!(store(&disk, 0, View::Direct).load().is_ok());
    }

    /// A writer whose syncs take simulated time releases the lock only when they are done; a
    /// second writer asking meanwhile waits in the disk's time (`Storage::wait`) until then,
    /// gets the lock, re-reads and keeps the first one's key, and its write lands later.
    #[test]
    fn a_writer_waits_in_simulated_time_for_the_lock_a_slow_writer_holds() {
        let disk = disk(Vec::new());
        let week = 7 * 86_400;
        store(&disk, 0, View::Direct).create(&KeyRing::generate(NOW).unwrap()).unwrap();
        lock(&disk).end_call(0);
        lock(&disk).set_now(1_000);
        lock(&disk).plan_sync(0, 400);
        let first = store(&disk, 0, View::Direct)
            .update(|ring| Ok(ring.rotate_if_older_than(week, &Rotation::new(), NOW + week)?));
        assert!(first.unwrap().is_some());
        lock(&disk).end_call(0);
        // Two syncs of 400 ms: the lock is held until 1,800 ms.
        assert_eq!(lock(&disk).lock_free_at_ms(), 1_800);
        lock(&disk).set_now(1_100);
        let waits_before = lock(&disk).lock_waits;
        let second = store(&disk, 1, View::Direct)
            .update(|ring| Ok(ring.rotate_if_older_than(week, &Rotation::new(), NOW + week)?));
        assert_eq!(second.unwrap(), None, "the second writer found the first one's key");
        let waits = lock(&disk).lock_waits - waits_before;
        assert_eq!(waits, 700_u64.div_ceil(tokenring::limits::LOCK_RETRY_MILLIS));
        assert_eq!(lock(&disk).now_ms(), 1_100 + waits * tokenring::limits::LOCK_RETRY_MILLIS);
        assert_eq!(KeyRing::from_jwk_set(lock(&disk).key_file().unwrap()).unwrap().issued_kids().len(), 2);
    }

    #[test]
    fn the_lock_serializes_writers() {
        let disk = disk(Vec::new());
        store(&disk, 0, View::Direct).create(&KeyRing::generate(NOW).unwrap()).unwrap();
        lock(&disk).end_call(0);
        let inner = store(&disk, 1, View::Direct);
        let nested = store(&disk, 0, View::Direct).update(|_| Ok(inner.update(|_| Ok(())).is_err())).unwrap();
        assert!(nested, "a second writer cannot take the lock the first one holds");
        assert_eq!(lock(&disk).lock_waits, u64::from(tokenring::limits::LOCK_ATTEMPTS_MAX - 1));
        #[cfg(feature = "canaries")]
        {
            tokenring::canary::arm(Some(tokenring::canary::Canary::UpdateTakesNoLock));
            let inner = store(&disk, 1, View::Direct);
            let nested = store(&disk, 0, View::Direct).update(|_| Ok(inner.update(|_| Ok(())).is_err())).unwrap();
            tokenring::canary::arm(None);
            assert!(!nested, "without the lock the second writer runs inside the first");
        }
        lock(&disk).contend_lock(3);
        store(&disk, 0, View::Direct).update(|_| Ok(())).unwrap();
    }
}
