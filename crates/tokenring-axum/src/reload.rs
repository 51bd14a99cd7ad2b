//! [`Reloader`]: keeps a [`SharedRing`](tokenring::SharedRing) in step with its key file.
//!
//! Two triggers, because neither is enough alone: file events of the key file's directory
//! (debounced, so that a write in several steps is read once, and on the directory, so that a
//! Kubernetes `..data` symlink swap or an atomic rename is seen), and a poll every so often,
//! because a Kubernetes `subPath` mount or NFS sends no events at all. A reload that finds the
//! same bytes changes nothing.
//!
//! Only events that name the key file, `..data`, or an entry the key file's symlink chain
//! passes through wake the reloader: anything else in the directory (a log file written there,
//! the store's own lock and temporary files) does not. Otherwise a bad key file and a log in
//! the same directory feed each other: each failure's log line is an event, which triggers the
//! next failure.
//!
//! A failure is logged at `error` once; the same failure again (a bad file that has not changed,
//! read again by the poll) only at `debug`, so that a poll does not fill the log. The status
//! counts every reload all the same. The key file's permissions are checked at start and at
//! every reload, and a [`PermissionWarning`] is logged at `warn` when it first appears.
//!
//! A read runs on a blocking thread and has a deadline ([`ReloadOptions::read_deadline`]): one
//! that has not returned by then (a hung network file system) is reported as a failure with the
//! reason `reload-stuck`, the last good ring keeps serving, and no other read starts until it
//! returns, so a hung file system holds one thread, not one per poll.
//!
//! Any other source of "the store may have changed" (an etcd watch: the `etcd` feature's
//! `tokenring_etcd::EtcdWatch` is one) wakes the same loop through
//! [`Reloader::spawn_with`] and a [`WakeSource`]; the poll stays as the backstop. A lost
//! source wakes a reload too: if the store is unreachable, that reload's failure is what is
//! reported (once), and the last good ring keeps serving.
//!
//! What to read when and what to report is [`tokenring::ReloadMachine`]'s decision, the one the
//! simulator runs too; this task owns the timers, the threads, the logs and the metrics.

use core::fmt;
use std::ffi::OsString;
use std::future::Future;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::{EventKind, RecursiveMode};
use tokenring::{FileStore, PermissionWarning, ReadId, ReloadMachine, ReloadReport, Reloaded, StoreError};
pub use tokenring::{ReloadOutcome, ReloadStatus};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::auth::Auth;
use crate::observe;

/// Shortest poll interval accepted.
pub const POLL_MIN: Duration = Duration::from_millis(100);
/// Longest poll interval accepted (one day).
pub const POLL_MAX: Duration = Duration::from_secs(24 * 60 * 60);
/// Default poll interval: well inside the default rotation propagation of five minutes.
pub const POLL_DEFAULT: Duration = Duration::from_secs(30);
/// Default time file events are gathered before one reload.
pub const DEBOUNCE_DEFAULT: Duration = Duration::from_millis(100);
const DEBOUNCE_MIN: Duration = Duration::from_millis(10);
const DEBOUNCE_MAX: Duration = Duration::from_secs(10);
/// Default time a reload's read of the key file may take before the reloader reports
/// `reload-stuck` and keeps serving with the last good ring.
const READ_DEADLINE_DEFAULT: Duration = Duration::from_secs(10);
/// Shortest read deadline accepted.
const READ_DEADLINE_MIN: Duration = Duration::from_millis(100);
/// Longest read deadline accepted (ten minutes).
const READ_DEADLINE_MAX: Duration = Duration::from_secs(600);
/// The entry a Kubernetes Secret or ConfigMap volume swaps, with one rename, to publish a new
/// version of every file in it.
const DATA_LINK: &str = "..data";

/// How a [`Reloader`] notices a changed key file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReloadOptions {
    poll: Duration,
    watch: bool,
    debounce: Duration,
    read_deadline: Duration,
}

impl Default for ReloadOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ReloadOptions {
    /// Watch the directory, debounce [`DEBOUNCE_DEFAULT`], poll every [`POLL_DEFAULT`].
    pub const fn new() -> Self {
        Self { poll: POLL_DEFAULT, watch: true, debounce: DEBOUNCE_DEFAULT, read_deadline: READ_DEADLINE_DEFAULT }
    }

    /// Reads the file every `interval`, clamped to [`POLL_MIN`]..=[`POLL_MAX`].
    #[must_use]
    pub fn poll(mut self, interval: Duration) -> Self {
        self.poll = interval.clamp(POLL_MIN, POLL_MAX);
        self
    }

    /// Whether to watch the key file's directory for events (on by default).
    #[must_use]
    pub const fn watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// How long file events are gathered before one reload, clamped to 10 ms..=10 s.
    #[must_use]
    pub fn debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce.clamp(DEBOUNCE_MIN, DEBOUNCE_MAX);
        self
    }

    /// How long a reload's read of the key file may take, clamped to 100 ms..=10 min (10 s by
    /// default). A read
    /// that has not returned by then (a hung network file system) is reported as
    /// `reload-stuck`, and the last good ring keeps serving; no second read starts until it
    /// returns.
    #[must_use]
    pub fn read_deadline(mut self, deadline: Duration) -> Self {
        self.read_deadline = deadline.clamp(READ_DEADLINE_MIN, READ_DEADLINE_MAX);
        self
    }
}

/// Why a [`Reloader`] could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadError {
    /// Not called from within a Tokio runtime.
    NoRuntime,
    /// The key file's directory could not be watched (for example the inotify watch limit is
    /// reached); the error kind is the operating system's, when it gave one.
    Watch(Option<std::io::ErrorKind>),
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRuntime => f.write_str("the reloader must be started inside a Tokio runtime"),
            Self::Watch(Some(kind)) => {
                write!(f, "cannot watch the key file's directory: {}", std::io::Error::from(*kind))
            }
            Self::Watch(None) => f.write_str("cannot watch the key file's directory"),
        }
    }
}

impl std::error::Error for ReloadError {}

/// A running reload task. Dropping it stops the task and the watcher.
///
/// ```no_run
/// use tokenring::{Clock, FileStore, SharedRing, SystemClock};
/// use tokenring_axum::{Auth, ReloadOptions, Reloader};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let (ring, _) = SharedRing::open_or_create(FileStore::new("keys.json"), SystemClock.now_secs())?;
/// let auth = Auth::new(ring);
/// let reloader = Reloader::spawn(&auth, ReloadOptions::new().poll(std::time::Duration::from_secs(10)))?;
/// // ... serve; `reloader.status()` for the health check; keep `reloader` alive.
/// # let _ = reloader; Ok(()) }
/// ```
#[derive(Debug)]
pub struct Reloader {
    status: Arc<Mutex<ReloadStatus>>,
    task: JoinHandle<()>,
    /// The task that waits on the [`WakeSource`], if any.
    source: Option<JoinHandle<()>>,
}

impl Drop for Reloader {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(source) = &self.source {
            source.abort();
        }
    }
}

/// What a [`WakeSource`] says. Either way the reloader reloads at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wake {
    /// The store changed.
    Changed,
    /// The source lost track of the store (a dropped connection): changes may have been
    /// missed. Logged at `debug` only: the reload it triggers reports the failure, if the store
    /// is unusable, through the reloader's events and status.
    Lost(&'static str),
    /// The source tracks the store again after [`Lost`](Self::Lost); the reload it triggers
    /// reports the recovery.
    Resumed,
}

/// A source of wake-ups besides the poll and the key file's events: something that knows when
/// the store changed (an etcd watch, with the `etcd` feature). The reloader waits on it in a
/// task of its own and reloads at each [`Wake`]; the decision what to read and report stays the
/// reloader's one [`ReloadMachine`].
pub trait WakeSource: Send + 'static {
    /// Waits for the next wake-up. Called again as soon as it returns: a source that loses its
    /// store must pace itself (as `tokenring_etcd::EtcdWatch` does) rather than
    /// return [`Wake::Lost`] in a tight loop.
    fn next_wake(&mut self) -> impl Future<Output = Wake> + Send;
}

type Watcher = notify_debouncer_full::Debouncer<notify::RecommendedWatcher, notify_debouncer_full::RecommendedCache>;

impl Reloader {
    /// Starts reloading `auth`'s ring from its store. Without a store (a ring held in memory)
    /// there is nothing to read: the task only keeps the key gauge current.
    ///
    /// # Errors
    /// [`ReloadError::NoRuntime`] outside a Tokio runtime, [`ReloadError::Watch`] when watching
    /// was asked for and the directory cannot be watched.
    pub fn spawn(auth: &Auth, options: ReloadOptions) -> Result<Self, ReloadError> {
        Self::spawn_inner(auth, options, None::<NoSource>)
    }

    /// [`spawn`](Self::spawn), and reloads at each wake-up of `source` too (an etcd watch: with
    /// the `etcd` feature, `tokenring_etcd::EtcdWatch` is a [`WakeSource`]). The
    /// poll stays as the backstop; file events are still watched when the ring is on a key file
    /// and `options` ask for it.
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn).
    pub fn spawn_with(auth: &Auth, options: ReloadOptions, source: impl WakeSource) -> Result<Self, ReloadError> {
        Self::spawn_inner(auth, options, Some(source))
    }

    fn spawn_inner<S: WakeSource>(auth: &Auth, options: ReloadOptions, source: Option<S>) -> Result<Self, ReloadError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ReloadError::NoRuntime)?;
        // One pending wake-up is enough: a reload reads the file as it is by then.
        let (wake, woken) = mpsc::channel::<()>(1);
        let watcher = match auth.ring().store() {
            Some(store) if options.watch => Some(watch(store, options.debounce, wake.clone())?),
            _ => None,
        };
        let machine = ReloadMachine::new(options.read_deadline);
        let status = Arc::new(Mutex::new(machine.status()));
        observe::key_gauges(&auth.ring().ring(), auth.now_secs());
        let source = source.map(|source| runtime.spawn(forward(source, wake, store_label(auth.ring()))));
        let task = runtime.spawn(run(auth.clone(), options, machine, watcher, woken, Arc::clone(&status)));
        Ok(Self { status, task, source })
    }

    /// What the last reload did, when, and how many ran.
    pub fn status(&self) -> ReloadStatus {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The source of [`Reloader::spawn`]: none.
enum NoSource {}

impl WakeSource for NoSource {
    async fn next_wake(&mut self) -> Wake {
        match *self {}
    }
}

/// Waits on `source` and passes each wake-up on to the reload task.
async fn forward(mut source: impl WakeSource, wake: mpsc::Sender<()>, store: String) {
    loop {
        let woke = source.next_wake().await;
        if let Wake::Lost(reason) = woke {
            tracing::debug!(store, reason, "lost track of the key set's changes; reloading");
        }
        // Full means a wake-up is already pending, which covers this one too.
        if let Err(mpsc::error::TrySendError::Closed(())) = wake.try_send(()) {
            return;
        }
    }
}

/// The ring's store as logs name it: a key file's path redacted, another store by its name.
fn store_label(ring: &tokenring::SharedRing) -> String {
    ring.ring_store().map_or_else(|| String::from("memory"), |store| store.store_name().to_string())
}

/// Watches the directory of `path`, sending a wake-up after each debounced batch with an event
/// that concerns the key file (see [`KeyFileNames`]) other than a read (a reload's own read
/// must not trigger the next one).
fn watch(store: &FileStore, debounce: Duration, wake: mpsc::Sender<()>) -> Result<Watcher, ReloadError> {
    let directory = store.directory().to_path_buf();
    let names = KeyFileNames { store: store.clone(), directory: directory.clone() };
    let mut watcher = notify_debouncer_full::new_debouncer(
        debounce,
        None,
        move |result: notify_debouncer_full::DebounceEventResult| {
            let relevant = match &result {
                Ok(events) => {
                    let mut changes =
                        events.iter().filter(|event| !matches!(event.kind, EventKind::Access(_))).peekable();
                    // The chain is read again for every batch: a swap may have changed it.
                    changes.peek().is_some() && {
                        let concerned = names.current();
                        changes.any(|event| names.concerns(event, &concerned))
                    }
                }
                // Lost or failed events: a reload costs little and may catch up.
                Err(_) => true,
            };
            if relevant {
                // Full means a wake-up is already pending, which covers this batch too.
                let _ = wake.try_send(());
            }
        },
    )
    .map_err(watch_error)?;
    watcher.watch(&directory, RecursiveMode::NonRecursive).map_err(watch_error)?;
    Ok(watcher)
}

/// Which entries of the watched directory concern the key file: its own name (written in place,
/// or renamed onto: an atomic replace), [`DATA_LINK`], and the first entry of the directory that
/// each path of the key file's symlink chain ([`FileStore::link_chain`]) passes through
/// (`..data` of `keys.json -> ..data/keys.json`).
#[derive(Debug)]
struct KeyFileNames {
    store: FileStore,
    directory: PathBuf,
}

impl KeyFileNames {
    /// The names that concern the key file now.
    fn current(&self) -> Vec<OsString> {
        let path = self.store.path();
        let mut names: Vec<OsString> = path.file_name().into_iter().map(ToOwned::to_owned).collect();
        names.push(OsString::from(DATA_LINK));
        // The directory as `FileStore::directory` gives it (`.` for a bare name, which
        // `lexical` makes empty, as a relative link target starts).
        let base = lexical(&self.directory);
        for link in self.store.link_chain().iter().skip(1) {
            let link = lexical(link);
            let first = link.strip_prefix(&base).ok().and_then(|rest| rest.components().next());
            if let Some(Component::Normal(name)) = first {
                if !names.iter().any(|known| known == name) {
                    names.push(name.to_owned());
                }
            }
        }
        names
    }

    /// Whether `event` may have changed what the key file's path reads.
    fn concerns(&self, event: &notify::Event, names: &[OsString]) -> bool {
        if event.need_rescan() || event.paths.is_empty() {
            return true;
        }
        event.paths.iter().any(|path| match path.file_name() {
            // The directory itself (removed, moved): whatever it held may have changed.
            _ if path == &self.directory => true,
            Some(name) => names.iter().any(|known| known == name),
            None => true,
        })
    }
}

/// `path` with `.` dropped and `..` taken back lexically: only for telling which directory entry
/// a link points into, never for opening anything.
fn lexical(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(normal.components().next_back(), Some(Component::Normal(_))) => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

fn watch_error(error: notify::Error) -> ReloadError {
    match error.kind {
        notify::ErrorKind::Io(io) => ReloadError::Watch(Some(io.kind())),
        _ => ReloadError::Watch(None),
    }
}

/// What the reloader has logged, so that a state that lasts is logged once, not at every reload
/// (a failure that lasts: the [`ReloadMachine`] keeps that).
#[derive(Debug, Default)]
struct Logged {
    /// The key file's permission warning as last checked.
    permissions: Option<PermissionWarning>,
}

/// What one reload's blocking task returns: the reload's outcome and the permission check.
type ReadDone = (Result<Reloaded, StoreError>, Option<Option<PermissionWarning>>);

async fn run(
    auth: Auth,
    options: ReloadOptions,
    mut machine: ReloadMachine,
    watcher: Option<Watcher>,
    mut woken: mpsc::Receiver<()>,
    status: Arc<Mutex<ReloadStatus>>,
) {
    // Held for as long as the task runs; dropping it stops the watcher's threads.
    let _watcher = watcher;
    let mut logged = Logged::default();
    // Checked at start too: an exposed key file is reported before the first reload, which may
    // be a poll period away. A check that does not return in time is given up.
    let ring = auth.ring().clone();
    let started = tokio::task::spawn_blocking(move || check_permissions(&ring));
    if let Ok(Ok(checked)) = tokio::time::timeout(options.read_deadline, started).await {
        note_permissions(&auth, &mut logged, checked);
    }
    let mut ticks = tokio::time::interval(options.poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick completes at once; the ring was just loaded.
    ticks.tick().await;
    // The read that missed its deadline, until it returns: the machine starts no other before.
    let mut stuck: Option<(ReadId, JoinHandle<ReadDone>)> = None;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            Some(()) = woken.recv() => {}
        }
        if let Some((id, read)) = stuck.take_if(|(_, read)| read.is_finished()) {
            // It has returned: whatever it read is in place, and the wake below reads afresh.
            let result = read.await.map_or(Ok(Reloaded::Unchanged), |(result, _)| result);
            let _ = machine.read_finished(id, auth.now_secs(), result);
        }
        let mut next = machine.wake(auth.now_secs());
        report(&auth, &status, &machine, next.report.take());
        while let Some(id) = next.read.take() {
            let ring = auth.ring().clone();
            let failed = read_failed(&ring);
            // Store I/O off the runtime's worker threads: a slow NFS read or etcd request must
            // not stall requests (and the etcd store blocks on a runtime of its own).
            let mut read = tokio::task::spawn_blocking(move || (ring.reload(), check_permissions(&ring)));
            let (result, checked) = match tokio::time::timeout(options.read_deadline, &mut read).await {
                Ok(Ok(done)) => done,
                // The blocking task panicked or was cancelled: nothing was swapped in.
                Ok(Err(_)) => (Err(failed), None),
                Err(_) => {
                    stuck = Some((id, read));
                    next = machine.deadline_passed(id, auth.now_secs());
                    report(&auth, &status, &machine, next.report.take());
                    continue;
                }
            };
            next = machine.read_finished(id, auth.now_secs(), result);
            report(&auth, &status, &machine, next.report.take());
            note_permissions(&auth, &mut logged, checked);
        }
    }
}

/// The error a reload whose task panicked reports: naming the key file, or the other store.
fn read_failed(ring: &tokenring::SharedRing) -> StoreError {
    let op = tokenring::StoreOp::Read;
    match (ring.store(), ring.ring_store()) {
        (None, Some(store)) => {
            StoreError::Unavailable { store: store.store_name(), op, reason: "the reload's task failed" }
        }
        (file, _) => {
            let path = file.map_or_else(PathBuf::new, |store| store.path().to_owned());
            StoreError::Io { op, kind: std::io::ErrorKind::Other, path: path.as_path().into() }
        }
    }
}

/// The key file's permission warning; `None` without a store or when the check itself failed
/// (a missing file: the reload reports that).
fn check_permissions(ring: &tokenring::SharedRing) -> Option<Option<PermissionWarning>> {
    ring.store().and_then(|store| store.check_permissions().ok())
}

/// Logs a permission warning that was not there at the last check.
fn note_permissions(auth: &Auth, logged: &mut Logged, checked: Option<Option<PermissionWarning>>) {
    let Some(warning) = checked else { return };
    if let Some(problem) = warning.filter(|_| warning != logged.permissions) {
        let ring = auth.ring();
        let path = ring.store().map(|store| tracing::field::display(tokenring::RedactedPath::new(store.path())));
        tracing::warn!(path, problem = %problem, "key file permissions let others use the keys");
    }
    logged.permissions = warning;
}

/// Logs what the [`ReloadMachine`] reports, records it in the metrics, and publishes the status.
fn report(auth: &Auth, status: &Mutex<ReloadStatus>, machine: &ReloadMachine, report: Option<ReloadReport>) {
    let Some(report) = report else { return };
    let now_secs = auth.now_secs();
    let ring = auth.ring().ring();
    match &report {
        ReloadReport::Changed { generation } => {
            let keys = ring.keys(now_secs).len();
            let active_kid = ring.active_kid(now_secs);
            let active_kid = active_kid.as_ref().map(tracing::field::display);
            tracing::info!(generation, keys, active_kid, "key ring reloaded");
        }
        ReloadReport::Unchanged { recovered: true } => {
            let generation = auth.ring().generation();
            tracing::info!(generation, "key set usable again; the key ring is unchanged");
        }
        ReloadReport::Failed { reason, error, repeated: true } => {
            let generation = auth.ring().generation();
            tracing::debug!(reason, error = %error, generation, "key set reload failed again in the same way");
        }
        ReloadReport::Failed { reason, error, .. } => {
            let generation = auth.ring().generation();
            tracing::error!(reason, error = %error, generation, "key set reload failed; keeping the last good key ring");
        }
        _ => {}
    }
    observe::reloaded(report.outcome().as_str());
    observe::key_gauges(&ring, now_secs);
    *status.lock().unwrap_or_else(PoisonError::into_inner) = machine.status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_paths() {
        for (path, expected) in [
            ("a/./b", "a/b"),
            ("./..data/keys.json", "..data/keys.json"),
            ("a/b/../c", "a/c"),
            ("../a", "../a"),
            ("", ""),
        ] {
            assert_eq!(lexical(Path::new(path)), Path::new(expected), "{path}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn names_follow_the_key_files_symlink_chain_within_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let volume = dir.path();
        std::fs::create_dir(volume.join("v1")).unwrap();
        std::fs::write(volume.join("v1/keys.json"), b"{}").unwrap();
        std::os::unix::fs::symlink("v1", volume.join("current")).unwrap();
        std::os::unix::fs::symlink("./current/keys.json", volume.join("link")).unwrap();
        std::os::unix::fs::symlink("link", volume.join("keys.json")).unwrap();
        std::os::unix::fs::symlink("/elsewhere/keys.json", volume.join("outside.json")).unwrap();
        let names_of = |name: &str| {
            let path = volume.join(name);
            KeyFileNames { store: FileStore::new(path), directory: volume.to_path_buf() }.current()
        };
        assert_eq!(names_of("keys.json"), ["keys.json", DATA_LINK, "link", "current"]);
        assert_eq!(names_of("outside.json"), ["outside.json", DATA_LINK]);
        assert_eq!(names_of("missing.json"), ["missing.json", DATA_LINK]);
        // A link to itself ends at the bound.
        std::os::unix::fs::symlink("loop.json", volume.join("loop.json")).unwrap();
        assert_eq!(names_of("loop.json"), ["loop.json", DATA_LINK]);
    }
}
