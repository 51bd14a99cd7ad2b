//! Injected time. Nothing in the library reads the wall clock on its own.
//!
//! Every function of the core takes the time as an argument (`now_secs: u64`): a pure function
//! of its inputs is what lets the simulator and the tests replay a rotation second by second.
//! A [`Clock`] is the documented way for an application to produce that argument, and the
//! trait integrations take when they read the time themselves (`tokenring-axum`'s layer takes
//! any `Clock`, so that its tests run on a [`ManualClock`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in whole seconds since the Unix epoch.
///
/// Every time-dependent operation takes a `now` argument; a clock is how a caller produces it.
/// Servers use [`SystemClock`], tests and simulations a [`ManualClock`].
pub trait Clock {
    /// The current time, in seconds since 1970-01-01T00:00:00Z.
    fn now_secs(&self) -> u64;
}

/// The operating system's real-time clock. A time before 1970 reads as 0.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_secs(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
    }
}

/// A clock that moves only when told to. Shareable across threads.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_secs: AtomicU64,
}

impl ManualClock {
    /// A clock reading `now_secs`.
    pub fn new(now_secs: u64) -> Self {
        Self { now_secs: AtomicU64::new(now_secs) }
    }

    /// Sets the time.
    pub fn set(&self, now_secs: u64) {
        self.now_secs.store(now_secs, Ordering::Relaxed);
    }

    /// Moves the time forward by `secs`, saturating.
    pub fn advance(&self, secs: u64) {
        let now = self.now_secs.load(Ordering::Relaxed);
        self.now_secs.store(now.saturating_add(secs), Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_secs(&self) -> u64 {
        self.now_secs.load(Ordering::Relaxed)
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_secs(&self) -> u64 {
        (**self).now_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(100);
        assert_eq!(clock.now_secs(), 100);
        clock.advance(5);
        fn read(clock: impl Clock) -> u64 {
            clock.now_secs()
        }
        assert_eq!(read(&clock), 105, "a reference to a clock is a clock");
        clock.set(7);
        assert_eq!(clock.now_secs(), 7);
        clock.advance(u64::MAX);
        assert_eq!(clock.now_secs(), u64::MAX, "advancing saturates");
    }
}
