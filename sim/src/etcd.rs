//! The simulated etcd the nodes' real `SharedRing` runs on under the `etcd` policy: one key
//! holding the ring's JWK Set, with the revision of its last write. Each node reaches it
//! through an [`EtcdStore`], an implementation of the core's `RingStore` whose version is that
//! revision, so that `SharedRing::open_or_create_with`, `reload` and `update` run unchanged
//! over it, `update` being the core's own `update_by_swap` (load, change, compare-and-swap,
//! retried on a conflict).
//!
//! Time: every request takes a round trip drawn up to the request latency, and acts on the key
//! halfway through it. A read sees the newest write committed by then. A write commits when
//! it acts, or, if a request already acted later in simulated time (the world runs each call
//! to its end at once), just after that one: the store's history stays one line in time, as
//! etcd's log is, and a swap whose read came before another writer's commit finds another
//! revision and is a conflict, however the calls were run.
//!
//! Faults: outages (windows in which every request fails with `StoreError::Unavailable`). The
//! watch is the world's: it takes the commits ([`Etcd::take_commits`]) and delivers each to
//! every node after a watch latency, and the outages' starts and ends as `Lost` and `Resumed`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokenring::{Created, Document, RingStore, StoreError, StoreName, StoreOp, StoreVersion, Swapped};
use zeroize::Zeroizing;

use crate::rng::SimRng;

/// How the key is named in messages, as `tokenring-etcd` names a store: endpoint and key.
const STORE_NAME: &str = "etcd://etcd.sim:2379/tokenring/keys";
/// Most commits kept for reads that act before the newest one (reads act within a round trip
/// of the world's time, so only the last few are ever needed).
const COMMITS_KEPT: usize = 64;

/// One write of the key, as the store's history holds it.
#[derive(Debug, Clone)]
pub(crate) struct Commit {
    /// The key's `mod_revision` after this write.
    pub(crate) revision: u64,
    /// When it committed (simulated ms).
    pub(crate) at_ms: u64,
    /// The value written.
    pub(crate) document: Zeroizing<Vec<u8>>,
    /// The value it replaced, if there was one.
    pub(crate) before: Option<Zeroizing<Vec<u8>>>,
    /// The node that wrote it; `None` for an operator's `etcdctl put`.
    pub(crate) writer: Option<usize>,
}

#[derive(Debug)]
struct State {
    /// The key's writes, oldest first; the newest is the key's value.
    commits: VecDeque<Commit>,
    /// The cluster's revision: every write takes the next.
    revision: u64,
    /// The latest time a request acted at: a write commits no earlier.
    horizon_ms: u64,
    /// Each node's clock in its current call: the world's time when the call began, moved on
    /// by the round trips of its requests.
    clocks: BTreeMap<usize, u64>,
    /// Windows `[start, end)` in which every request fails.
    outages: Vec<(u64, u64)>,
    /// Draws each request's round trip.
    latency: SimRng,
    latency_max_ms: u64,
    /// Swaps that found another revision than the one expected.
    conflicts: u64,
    /// Commits the world has not taken yet.
    fresh: Vec<Commit>,
}

/// The simulated etcd: one key, shared by every node's [`EtcdStore`].
#[derive(Debug, Clone)]
pub(crate) struct Etcd {
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn in_outage(&self, at_ms: u64) -> bool {
        let index = self.outages.partition_point(|&(start, _)| start <= at_ms);
        index.checked_sub(1).and_then(|index| self.outages.get(index)).is_some_and(|&(_, end)| at_ms < end)
    }

    /// A request of `node`: draws its round trip, moves the node's clock past it, and returns
    /// when it acts on the key, or `None` if an outage stops it.
    fn request(&mut self, node: usize) -> Option<u64> {
        let round_trip_ms = self.latency.between(0, self.latency_max_ms);
        let clock = self.clocks.entry(node).or_insert(0);
        let acts_ms = *clock + round_trip_ms / 2;
        *clock += round_trip_ms;
        if self.in_outage(acts_ms) {
            return None;
        }
        self.horizon_ms = self.horizon_ms.max(acts_ms);
        Some(acts_ms)
    }

    /// The newest commit at `at_ms`.
    fn seen_at(&self, at_ms: u64) -> Option<&Commit> {
        self.commits.iter().rev().find(|commit| commit.at_ms <= at_ms)
    }

    /// A write of `node` is decided at the horizon, after every request that acted before it:
    /// its reply comes no earlier.
    fn decide(&mut self, node: usize) {
        let horizon_ms = self.horizon_ms;
        let clock = self.clocks.entry(node).or_insert(0);
        *clock = (*clock).max(horizon_ms);
    }

    /// Writes `document` as the key's value, committed at the horizon.
    fn commit(&mut self, document: &[u8], writer: Option<usize>) -> u64 {
        self.revision += 1;
        let at_ms = self.horizon_ms;
        let commit = Commit {
            revision: self.revision,
            at_ms,
            document: Zeroizing::new(document.to_vec()),
            before: self.commits.back().map(|newest| newest.document.clone()),
            writer,
        };
        self.fresh.push(commit.clone());
        self.commits.push_back(commit);
        if self.commits.len() > COMMITS_KEPT {
            self.commits.pop_front();
        }
        self.revision
    }
}

impl Etcd {
    /// An empty key, down in `outages` (sorted, disjoint), each request taking up to
    /// `latency_max_ms` there and back, drawn from `latency`.
    pub(crate) fn new(outages: Vec<(u64, u64)>, latency: SimRng, latency_max_ms: u64) -> Self {
        debug_assert!(outages.windows(2).all(|pair| pair[0].1 <= pair[1].0));
        let state = State {
            commits: VecDeque::new(),
            revision: 0,
            horizon_ms: 0,
            clocks: BTreeMap::new(),
            outages,
            latency,
            latency_max_ms,
            conflicts: 0,
            fresh: Vec::new(),
        };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    /// Node `node`'s store, its clock set to `now_ms`: what its `SharedRing` runs on.
    pub(crate) fn store(&self, node: usize, now_ms: u64) -> EtcdStore {
        self.begin_call(node, now_ms);
        EtcdStore { state: Arc::clone(&self.state), node }
    }

    /// Sets node `node`'s clock to `now_ms` at the start of a call, or leaves it later if the
    /// node's last reply came later (the world runs a call to its end at once): a node never
    /// reads the key as it was before what it has already read.
    pub(crate) fn begin_call(&self, node: usize, now_ms: u64) {
        let mut state = lock(&self.state);
        let clock = state.clocks.entry(node).or_insert(0);
        *clock = (*clock).max(now_ms);
    }

    /// Node `node`'s clock: after a call, when its last reply came.
    pub(crate) fn clock_ms(&self, node: usize) -> u64 {
        lock(&self.state).clocks.get(&node).copied().unwrap_or(0)
    }

    /// The outage windows.
    pub(crate) fn outages(&self) -> Vec<(u64, u64)> {
        lock(&self.state).outages.clone()
    }

    /// Whether an outage starts in `(after_ms, until_ms]` or is in force at `until_ms`: a watch
    /// event sent at `after_ms` for delivery at `until_ms` is lost with the stream.
    pub(crate) fn broken_between(&self, after_ms: u64, until_ms: u64) -> bool {
        let state = lock(&self.state);
        state.in_outage(until_ms) || state.outages.iter().any(|&(start, _)| after_ms < start && start <= until_ms)
    }

    /// The key's value now, whatever the faults (the ground truth).
    pub(crate) fn value(&self) -> Option<Zeroizing<Vec<u8>>> {
        lock(&self.state).commits.back().map(|commit| commit.document.clone())
    }

    /// An operator's `etcdctl put` at `now_ms`: the value replaced unconditionally.
    pub(crate) fn put(&self, document: &[u8], now_ms: u64) {
        let mut state = lock(&self.state);
        state.horizon_ms = state.horizon_ms.max(now_ms);
        state.commit(document, None);
    }

    /// The commits since the last call, oldest first.
    pub(crate) fn take_commits(&self) -> Vec<Commit> {
        core::mem::take(&mut lock(&self.state).fresh)
    }

    /// Swaps that found another writer's revision.
    pub(crate) fn conflicts(&self) -> u64 {
        lock(&self.state).conflicts
    }
}

/// Node `node`'s client of the simulated etcd: the `RingStore` its `SharedRing` runs on.
#[derive(Debug, Clone)]
pub(crate) struct EtcdStore {
    state: Arc<Mutex<State>>,
    node: usize,
}

impl EtcdStore {
    fn unavailable(&self, op: StoreOp) -> StoreError {
        StoreError::Unavailable { store: self.store_name(), op, reason: "etcd is unreachable" }
    }
}

impl RingStore for EtcdStore {
    fn store_name(&self) -> StoreName {
        StoreName::new(STORE_NAME)
    }

    fn load_document(&self) -> Result<Option<Document>, StoreError> {
        let mut state = lock(&self.state);
        let Some(acts_ms) = state.request(self.node) else { return Err(self.unavailable(StoreOp::Read)) };
        Ok(state.seen_at(acts_ms).map(|commit| Document {
            bytes: commit.document.clone(),
            version: StoreVersion::revision(commit.revision),
        }))
    }

    fn create_document(&self, document: &str) -> Result<Created, StoreError> {
        let mut state = lock(&self.state);
        if state.request(self.node).is_none() {
            return Err(self.unavailable(StoreOp::Write));
        }
        state.decide(self.node);
        if !state.commits.is_empty() {
            return Ok(Created::AlreadyExists);
        }
        let revision = state.commit(document.as_bytes(), Some(self.node));
        Ok(Created::Created(StoreVersion::revision(revision)))
    }

    fn swap_document(&self, expected: &StoreVersion, document: &str) -> Result<Swapped, StoreError> {
        let mut state = lock(&self.state);
        if state.request(self.node).is_none() {
            return Err(self.unavailable(StoreOp::Write));
        }
        state.decide(self.node);
        // The transaction's compare, at the commit: against the key's newest revision.
        let newest = state.commits.back().map(|commit| commit.revision);
        if newest.is_none() || newest != expected.as_revision() {
            state.conflicts += 1;
            return Ok(Swapped::Conflict);
        }
        let revision = state.commit(document.as_bytes(), Some(self.node));
        Ok(Swapped::Swapped(StoreVersion::revision(revision)))
    }
}

#[cfg(test)]
mod tests {
    use tokenring::{KeyRing, Rotation, SharedRing};

    use super::*;
    use crate::rng::Stream;

    const NOW: u64 = 1_700_000_000;

    fn etcd(outages: Vec<(u64, u64)>) -> Etcd {
        Etcd::new(outages, SimRng::new(3, Stream::EtcdLatency), 200)
    }

    fn keys(etcd: &Etcd) -> usize {
        KeyRing::from_jwk_set(&etcd.value().unwrap()).unwrap().issued_kids().len()
    }

    /// A rotator whose read acted before another's commit, in simulated time, swaps against a
    /// revision that is no longer the key's: the core's update sees the conflict, reads again,
    /// and keeps the other one's key, though the world ran the other call to its end first.
    #[test]
    fn a_swap_whose_read_came_before_another_commit_conflicts_and_the_retry_keeps_both_keys() {
        let etcd = etcd(Vec::new());
        let (first, _) = SharedRing::open_or_create(etcd.store(0, 0), NOW).unwrap();
        let second = SharedRing::open(etcd.store(1, 500)).unwrap();
        etcd.take_commits();
        // The first rotator's whole update, from 1,000 ms.
        etcd.begin_call(0, 1_000);
        first.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW + 1)?)).unwrap();
        let commits = etcd.take_commits();
        assert_eq!(commits.len(), 1);
        assert!(commits[0].at_ms > 1_000);
        // The second starts at 1,000 ms too: its read acts before the first one's commit.
        etcd.begin_call(1, 1_000);
        second.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW + 2)?)).unwrap();
        assert_eq!(etcd.conflicts(), 1);
        assert_eq!(keys(&etcd), 3, "the retry rotated the first one's ring");
        assert!(etcd.take_commits()[0].at_ms >= commits[0].at_ms);
        // Started after the first one's commit, it reads it at once: no conflict.
        let third = SharedRing::open(etcd.store(2, 10_000)).unwrap();
        etcd.begin_call(2, 10_000);
        third.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW + 3)?)).unwrap();
        assert_eq!(etcd.conflicts(), 1);
        assert_eq!(keys(&etcd), 4);
    }

    /// In an outage every request fails `Unavailable`, and a reload keeps the last good ring.
    #[test]
    fn an_outage_fails_every_request_and_a_reload_keeps_the_last_good_ring() {
        let etcd = etcd(vec![(5_000, 6_000)]);
        let (shared, _) = SharedRing::open_or_create(etcd.store(0, 0), NOW).unwrap();
        etcd.begin_call(0, 5_000);
        let failed = shared.reload().unwrap_err();
        assert_eq!(failed.code(), "unavailable", "{failed}");
        assert!(shared.ring().can_sign(NOW));
        etcd.begin_call(0, 5_000);
        assert!(shared.update(|ring| Ok(ring.rotate(&Rotation::new(), NOW + 1)?)).is_err());
        assert_eq!(keys(&etcd), 1);
        assert!(etcd.broken_between(4_000, 5_500) && etcd.broken_between(4_000, 5_000));
        assert!(!etcd.broken_between(6_000, 7_000) && !etcd.broken_between(1_000, 4_999));
        etcd.begin_call(0, 6_000);
        assert!(shared.reload().is_ok());
    }

    /// A blind write (an operator's put) takes the next revision: a swap expecting the one
    /// before conflicts.
    #[test]
    fn a_put_changes_the_revision_a_swap_expects() {
        let etcd = etcd(Vec::new());
        let store = etcd.store(0, 0);
        assert_eq!(store.create_document("{}").unwrap(), Created::Created(StoreVersion::revision(1)));
        assert_eq!(store.create_document("{}").unwrap(), Created::AlreadyExists);
        let read = store.load_document().unwrap().unwrap();
        etcd.put(b"[]", 100_000);
        etcd.begin_call(0, 100_000);
        assert_eq!(store.swap_document(&read.version, "{}").unwrap(), Swapped::Conflict);
        assert_eq!(etcd.value().unwrap().as_slice(), b"[]");
    }
}
