//! The reload decision: when a shared ring reads its file again, and what a reloader reports.

use core::time::Duration;

use crate::error::StoreError;
use crate::store::shared::Reloaded;

/// What the last reload did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReloadOutcome {
    /// No reload has run yet.
    Pending,
    /// The store held the bytes the ring was read from.
    Unchanged,
    /// A new ring was read and swapped in.
    Changed {
        /// The new ring's generation.
        generation: u64,
    },
    /// The file could not be read or used; the last good ring stays in place.
    Failed {
        /// The store error's [`code`](StoreError::code) (`not-found`, `corrupt`, `io`, ...), or
        /// `reload-stuck` when the read has not returned within the read deadline.
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

/// A reloader's record, for a health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadStatus {
    /// What the last reload did.
    pub last: ReloadOutcome,
    /// When it ran, in seconds since the epoch (by the reloader's clock).
    pub at_secs: Option<u64>,
    /// Reloads run so far.
    pub reloads: u64,
    /// Of those, how many failed.
    pub failures: u64,
}

impl ReloadStatus {
    /// Before the first reload.
    const START: Self = Self { last: ReloadOutcome::Pending, at_secs: None, reloads: 0, failures: 0 };
}

/// What a reload came to, and how to log it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReloadReport {
    /// A new ring was read and swapped in: worth a line at `info`.
    Changed {
        /// The new ring's generation.
        generation: u64,
    },
    /// The store held the bytes the ring was read from.
    Unchanged {
        /// The reload before this one failed: the store is usable again, worth a line at
        /// `info`. Otherwise there is nothing to log.
        recovered: bool,
    },
    /// The reload failed, or its read is stuck; the last good ring stays in place.
    Failed {
        /// The reason's stable code (see [`ReloadOutcome::Failed`]).
        reason: &'static str,
        /// The failure in words, fit for a log (paths redacted, no key material).
        error: String,
        /// The same failure as the last one reported, with no success in between: log it at
        /// `debug`, not at `error` again.
        repeated: bool,
    },
}

impl ReloadReport {
    /// The outcome this report records in the status.
    pub fn outcome(&self) -> ReloadOutcome {
        match self {
            Self::Changed { generation } => ReloadOutcome::Changed { generation: *generation },
            Self::Unchanged { .. } => ReloadOutcome::Unchanged,
            Self::Failed { reason, .. } => ReloadOutcome::Failed { reason },
        }
    }
}

/// One read the machine asked for, to tell its answer from a late answer to an earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadId(u64);

/// What the caller does after telling the machine something.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct ReloadStep {
    /// Log this; the machine's [`status`](ReloadMachine::status) already counts it.
    pub report: Option<ReloadReport>,
    /// Start this read: [`SharedRing::reload`](crate::SharedRing::reload), off any thread
    /// that serves requests, then [`read_finished`](ReloadMachine::read_finished) with its
    /// result, or [`deadline_passed`](ReloadMachine::deadline_passed) if it has not returned
    /// within the read deadline.
    pub read: Option<ReadId>,
}

impl ReloadStep {
    const NOTHING: Self = Self { report: None, read: None };
}

/// Where the machine is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No read under way.
    Idle,
    /// A read under way, within its deadline.
    Reading(ReadId),
    /// A read under way past its deadline.
    Stuck(ReadId),
}

/// When to reload a [`SharedRing`](crate::SharedRing) and what to report: the one decision that
/// a service's reloader (`tokenring-axum`'s `Reloader`) and the simulator both run.
///
/// The machine does no I/O, reads no clock and starts no thread. Its caller owns the timers and
/// the threads and tells it what happened: [`wake`](Self::wake) (a poll tick or a file event),
/// [`read_finished`](Self::read_finished) (a read returned),
/// [`deadline_passed`](Self::deadline_passed) (a read has not returned within the read
/// deadline), each with the time in seconds. It answers with a [`ReloadStep`]: a read to start,
/// if any, and a [`ReloadReport`] to log, if any; its [`status`](Self::status) is what a health
/// check shows.
///
/// The rules:
///
/// * A wake starts a read, unless one is under way: then the read is started again once it
///   ends (the file may have changed after the read began).
/// * A read that has not returned by its deadline (a hung network file system) is reported
///   failed with the reason `reload-stuck`; the last good ring keeps serving, and no other read
///   starts until it returns: every wake meanwhile reports it stuck again. When it returns, the
///   next wake reads afresh (whatever it read has been swapped in by the read itself).
/// * A failure is reported once as new, then as repeated while it stays the same (a bad file
///   read again by every poll), so that a caller logs it at `error` once, not at every poll; the
///   first success after a failure is reported as a recovery.
/// * The status counts every reload and every failure, repeated or not.
///
/// ```
/// use std::time::Duration;
/// use tokenring::{ReloadMachine, ReloadOutcome, ReloadReport, Reloaded};
///
/// let mut machine = ReloadMachine::new(Duration::from_secs(10));
/// // A poll tick at second 100: read the file.
/// let next = machine.wake(100);
/// let read = next.read.expect("nothing is being read");
/// // The read came back with a new ring (from `SharedRing::reload`).
/// let next = machine.read_finished(read, 101, Ok(Reloaded::Changed { generation: 2 }));
/// assert_eq!(next.report, Some(ReloadReport::Changed { generation: 2 }));
/// assert_eq!(machine.status().last, ReloadOutcome::Changed { generation: 2 });
///
/// // The next read hangs: at its deadline it is reported stuck, and no second read starts.
/// let read = machine.wake(130).read.expect("nothing is being read");
/// let next = machine.deadline_passed(read, 140);
/// assert_eq!(next.report.map(|report| report.outcome()), Some(ReloadOutcome::Failed { reason: "reload-stuck" }));
/// assert_eq!(machine.wake(160).read, None);
/// ```
#[derive(Clone, Debug)]
pub struct ReloadMachine {
    read_deadline: Duration,
    state: State,
    /// The identifier of the next read.
    next_read: u64,
    /// A wake came while a read was under way: read again once it ends.
    again: bool,
    /// The last failure reported, in words, until a reload succeeds.
    failure: Option<String>,
    status: ReloadStatus,
}

impl ReloadMachine {
    /// A machine whose caller gives a read `read_deadline` to return (it only names it in the
    /// `reload-stuck` report: the caller keeps the timer).
    pub fn new(read_deadline: Duration) -> Self {
        Self {
            read_deadline,
            state: State::Idle,
            next_read: 0,
            again: false,
            failure: None,
            status: ReloadStatus::START,
        }
    }

    /// What the reloads so far came to.
    pub fn status(&self) -> ReloadStatus {
        self.status
    }

    /// A poll tick or a file event at `now_secs`: a read to start, or, while a read is stuck,
    /// a report that it still is.
    pub fn wake(&mut self, now_secs: u64) -> ReloadStep {
        match self.state {
            State::Idle => self.start_read(),
            State::Reading(_) => {
                self.again = true;
                ReloadStep::NOTHING
            }
            State::Stuck(_) => ReloadStep { report: Some(self.stuck(now_secs)), read: None },
        }
    }

    /// The read `read` returned at `now_secs` with `result` (what
    /// [`SharedRing::reload`](crate::SharedRing::reload) returned). A read that was reported
    /// stuck is only taken as ended: the next wake reads afresh. An answer to a read the
    /// machine is not waiting for changes nothing.
    pub fn read_finished(&mut self, read: ReadId, now_secs: u64, result: Result<Reloaded, StoreError>) -> ReloadStep {
        match self.state {
            State::Reading(current) if current == read => {
                self.state = State::Idle;
                let report = self.record(now_secs, result.map_err(|error| (error.code(), error.to_string())));
                let read = if core::mem::take(&mut self.again) { self.start_read().read } else { None };
                ReloadStep { report: Some(report), read }
            }
            State::Stuck(current) if current == read => {
                self.state = State::Idle;
                ReloadStep::NOTHING
            }
            _ => ReloadStep::NOTHING,
        }
    }

    /// The read `read` has not returned by its deadline, now `now_secs`: it is reported stuck.
    /// Changes nothing for a read that has returned, or that is already reported stuck.
    pub fn deadline_passed(&mut self, read: ReadId, now_secs: u64) -> ReloadStep {
        match self.state {
            State::Reading(current) if current == read => {
                self.state = State::Stuck(read);
                self.again = false;
                ReloadStep { report: Some(self.stuck(now_secs)), read: None }
            }
            _ => ReloadStep::NOTHING,
        }
    }

    fn start_read(&mut self) -> ReloadStep {
        let read = ReadId(self.next_read);
        self.next_read += 1;
        self.state = State::Reading(read);
        ReloadStep { report: None, read: Some(read) }
    }

    /// The report of a stuck read, recorded.
    fn stuck(&mut self, now_secs: u64) -> ReloadReport {
        let millis = self.read_deadline.as_millis();
        let error = format!("the key file's read has not returned within {millis} ms");
        self.record(now_secs, Err(("reload-stuck", error)))
    }

    /// Counts a reload that came to `result` at `now_secs`, and says how to report it.
    fn record(&mut self, now_secs: u64, result: Result<Reloaded, (&'static str, String)>) -> ReloadReport {
        let report = match result {
            Ok(Reloaded::Changed { generation }) => {
                self.failure = None;
                ReloadReport::Changed { generation }
            }
            Ok(_) => ReloadReport::Unchanged { recovered: self.failure.take().is_some() },
            Err((reason, error)) => {
                let repeated = self.failure.as_deref() == Some(error.as_str());
                if !repeated {
                    self.failure = Some(error.clone());
                }
                ReloadReport::Failed { reason, error, repeated }
            }
        };
        let status = &mut self.status;
        status.last = report.outcome();
        status.at_secs = Some(now_secs);
        status.reloads = status.reloads.saturating_add(1);
        if matches!(report, ReloadReport::Failed { .. }) {
            status.failures = status.failures.saturating_add(1);
        }
        report
    }
}

#[cfg(test)]
mod tests;
