//! [`Reloader`]: keeps a [`SharedRing`](tokenring::SharedRing) in step with its key file.
//!
//! Two triggers, because neither is enough alone: file events of the key file's directory
//! (debounced, so that a write in several steps is read once, and on the directory, so that a
//! Kubernetes `..data` symlink swap or an atomic rename is seen), and a poll every so often,
//! because a Kubernetes `subPath` mount or NFS sends no events at all. A reload that finds the
//! same bytes changes nothing.

use core::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::{EventKind, RecursiveMode};
use tokenring::{Reloaded, StoreError};
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

/// How a [`Reloader`] notices a changed key file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReloadOptions {
    poll: Duration,
    watch: bool,
    debounce: Duration,
}

impl Default for ReloadOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ReloadOptions {
    /// Watch the directory, debounce [`DEBOUNCE_DEFAULT`], poll every [`POLL_DEFAULT`].
    pub const fn new() -> Self {
        Self { poll: POLL_DEFAULT, watch: true, debounce: DEBOUNCE_DEFAULT }
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

    /// The poll interval.
    pub const fn poll_interval(&self) -> Duration {
        self.poll
    }
}

/// What the last reload did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReloadOutcome {
    /// No reload has run yet.
    Pending,
    /// The file held the bytes the ring was read from.
    Unchanged,
    /// A new ring was read and swapped in.
    Changed {
        /// The new ring's generation.
        generation: u64,
    },
    /// The file could not be read or used; the last good ring stays in place.
    Failed {
        /// `not-found`, `io`, `corrupt`, `locked` or `store`.
        reason: &'static str,
    },
}

impl ReloadOutcome {
    /// `pending`, `unchanged`, `changed` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Unchanged => "unchanged",
            Self::Changed { .. } => "changed",
            Self::Failed { .. } => "failed",
        }
    }
}

/// The reloader's record, for a health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadStatus {
    /// What the last reload did.
    pub last: ReloadOutcome,
    /// When it ran, in seconds since the epoch (by the [`Auth`]'s clock).
    pub at_secs: Option<u64>,
    /// Reloads run so far.
    pub reloads: u64,
    /// Of those, how many failed.
    pub failures: u64,
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
}

impl Drop for Reloader {
    fn drop(&mut self) {
        self.task.abort();
    }
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
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ReloadError::NoRuntime)?;
        // One pending wake-up is enough: a reload reads the file as it is by then.
        let (wake, woken) = mpsc::channel::<()>(1);
        let watcher = match auth.ring().store() {
            Some(store) if options.watch => Some(watch(store.path(), options.debounce, wake)?),
            _ => None,
        };
        let status =
            Arc::new(Mutex::new(ReloadStatus { last: ReloadOutcome::Pending, at_secs: None, reloads: 0, failures: 0 }));
        observe::key_gauges(&auth.ring().ring(), auth.now_secs());
        let task = runtime.spawn(run(auth.clone(), options.poll, watcher, woken, Arc::clone(&status)));
        Ok(Self { status, task })
    }

    /// What the last reload did, when, and how many ran.
    pub fn status(&self) -> ReloadStatus {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Watches the directory of `path`, sending a wake-up after each debounced batch of events
/// other than reads (a reload's own read must not trigger the next one).
fn watch(path: &std::path::Path, debounce: Duration, wake: mpsc::Sender<()>) -> Result<Watcher, ReloadError> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut watcher = notify_debouncer_full::new_debouncer(
        debounce,
        None,
        move |result: notify_debouncer_full::DebounceEventResult| {
            let relevant = match &result {
                Ok(events) => events.iter().any(|event| !matches!(event.kind, EventKind::Access(_))),
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

fn watch_error(error: notify::Error) -> ReloadError {
    match error.kind {
        notify::ErrorKind::Io(io) => ReloadError::Watch(Some(io.kind())),
        _ => ReloadError::Watch(None),
    }
}

async fn run(
    auth: Auth,
    poll: Duration,
    watcher: Option<Watcher>,
    mut woken: mpsc::Receiver<()>,
    status: Arc<Mutex<ReloadStatus>>,
) {
    // Held for as long as the task runs; dropping it stops the watcher's threads.
    let _watcher = watcher;
    let mut ticks = tokio::time::interval(poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick completes at once; the ring was just loaded.
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            Some(()) = woken.recv() => {}
        }
        let ring = auth.ring().clone();
        let path = ring.store().map_or_else(std::path::PathBuf::new, |store| store.path().to_owned());
        // File I/O off the runtime's worker threads: a slow NFS read must not stall requests.
        let outcome = match tokio::task::spawn_blocking(move || ring.reload()).await {
            Ok(outcome) => outcome,
            // The blocking task panicked or was cancelled: nothing was swapped in.
            Err(_) => Err(StoreError::Io { op: tokenring::StoreOp::Read, kind: std::io::ErrorKind::Other, path }),
        };
        record(&auth, &status, outcome);
    }
}

fn record(auth: &Auth, status: &Mutex<ReloadStatus>, outcome: Result<Reloaded, StoreError>) {
    let now_secs = auth.now_secs();
    let ring = auth.ring().ring();
    let last = match outcome {
        Ok(Reloaded::Changed { generation }) => {
            let keys = ring.keys(now_secs).len();
            let active_kid = ring.active_kid(now_secs);
            let active_kid = active_kid.as_ref().map(tracing::field::display);
            tracing::info!(generation, keys, active_kid, "key ring reloaded");
            ReloadOutcome::Changed { generation }
        }
        Ok(_) => ReloadOutcome::Unchanged,
        Err(error) => {
            let reason = match &error {
                StoreError::NotFound => "not-found",
                StoreError::Io { .. } => "io",
                StoreError::Corrupt(_) => "corrupt",
                StoreError::Locked => "locked",
                _ => "store",
            };
            tracing::error!(
                reason,
                error = %error,
                generation = ring.generation(),
                "key file reload failed; keeping the last good key ring"
            );
            ReloadOutcome::Failed { reason }
        }
    };
    observe::reloaded(last.as_str());
    observe::key_gauges(&ring, now_secs);
    let mut status = status.lock().unwrap_or_else(PoisonError::into_inner);
    status.last = last;
    status.at_secs = Some(now_secs);
    status.reloads = status.reloads.saturating_add(1);
    if matches!(last, ReloadOutcome::Failed { .. }) {
        status.failures = status.failures.saturating_add(1);
    }
}
