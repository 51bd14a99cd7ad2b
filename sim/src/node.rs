//! A server node: its lifecycle (down, starting, up), its clock, and the ring it signs and
//! verifies with, the library's `SharedRing`, with the library's reload decision.

use tokenring::{Kid, Rejection, ReloadMachine, Scratch, SharedRing, Validation};

use crate::config::SECOND_MS;
use crate::model::{KeySetModel, Session};
use crate::world::EPOCH_MS;

/// How long a node's reload read may take before the reload machine calls it stuck. Reads of
/// the simulated disk return at once, so it is never reached; stalls are the loop's.
const RELOAD_READ_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeState {
    Down,
    /// Trying to get its keys (the store may be unavailable, a create may be pending).
    Starting,
    Up,
}

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) state: NodeState,
    /// Bumped at every stop, so that timers of a previous life are ignored.
    pub(crate) incarnation: u32,
    /// How many times the node has come up.
    starts: u32,
    /// How far the node's clock was off true time at `drift_since_ms`.
    pub(crate) skew_ms: i64,
    /// How fast the node's clock runs off true time, in parts per million (positive: fast).
    pub(crate) drift_ppm: i64,
    /// Since when (simulated ms) the drift adds up: the last start or clock step.
    drift_since_ms: u64,
    /// When (simulated ms) the node last booted: its volume shows the key file as it was then.
    pub(crate) booted_ms: u64,
    /// The ring the node signs and verifies with, as a service holds it: the library's
    /// `SharedRing`, opened, reloaded and updated through the real `FileStore` on the node's
    /// view of the simulated disk (in memory only under `ephemeral`). It signs with whatever
    /// key the library says is active at the node's own time.
    pub(crate) ring: Option<SharedRing>,
    /// The oracle's model of `ring`.
    pub(crate) model: KeySetModel,
    /// The library's reload decision, as `tokenring-axum`'s reloader runs it: when to read the
    /// key file, and what to report. New at every start.
    pub(crate) reloader: ReloadMachine,
}

impl Node {
    pub(crate) fn new() -> Self {
        Self {
            state: NodeState::Down,
            incarnation: 0,
            starts: 0,
            skew_ms: 0,
            drift_ppm: 0,
            drift_since_ms: 0,
            booted_ms: 0,
            ring: None,
            model: KeySetModel::default(),
            reloader: ReloadMachine::new(RELOAD_READ_DEADLINE),
        }
    }

    pub(crate) fn is_up(&self) -> bool {
        self.state == NodeState::Up
    }

    /// Whether a timer of incarnation `incarnation` still concerns this node, in `state`.
    pub(crate) fn is(&self, incarnation: u32, state: NodeState) -> bool {
        self.incarnation == incarnation && self.state == state
    }

    /// How far the node's clock is off true time at simulated time `now_ms`: its offset at its
    /// last start or step, plus what its drift has added since.
    pub(crate) fn clock_error_ms(&self, now_ms: u64) -> i64 {
        let elapsed_ms = i128::from(now_ms.saturating_sub(self.drift_since_ms));
        let drift_ms = i64::try_from(elapsed_ms * i128::from(self.drift_ppm) / 1_000_000).unwrap_or(0);
        self.skew_ms.saturating_add(drift_ms)
    }

    /// The node's clock, in whole seconds since the epoch, at simulated time `now_ms`.
    pub(crate) fn local_secs(&self, now_ms: u64) -> u64 {
        (EPOCH_MS + now_ms).saturating_add_signed(self.clock_error_ms(now_ms)) / SECOND_MS
    }

    /// A stopped machine boots at `now_ms` with its clock off by `skew_ms`, running off true
    /// time by `drift_ppm`.
    pub(crate) fn boot(&mut self, skew_ms: i64, drift_ppm: i64, now_ms: u64) {
        self.skew_ms = skew_ms;
        self.drift_ppm = drift_ppm;
        self.drift_since_ms = now_ms;
        self.booted_ms = now_ms;
        self.state = NodeState::Starting;
    }

    /// The running clock steps at `now_ms` to an offset of `skew_ms` (an NTP correction); it
    /// keeps drifting at its rate from there.
    pub(crate) fn step_clock(&mut self, skew_ms: i64, now_ms: u64) {
        self.skew_ms = skew_ms;
        self.drift_since_ms = now_ms;
    }

    /// The node is up with `shared`, whose model is `model`; its reload machine starts anew.
    pub(crate) fn come_up(&mut self, shared: SharedRing, model: KeySetModel) {
        self.ring = Some(shared);
        self.model = model;
        self.reloader = ReloadMachine::new(RELOAD_READ_DEADLINE);
        self.state = NodeState::Up;
        self.starts += 1;
    }

    /// The node goes down (a crash or a planned stop) and forgets its ring. Whether it was up
    /// or starting: a node already down does not stop again.
    pub(crate) fn stop(&mut self) -> bool {
        if self.state == NodeState::Down {
            return false;
        }
        self.state = NodeState::Down;
        self.incarnation += 1;
        self.ring = None;
        self.model = KeySetModel::default();
        true
    }

    /// What the node itself says about signing (its readiness check).
    pub(crate) fn can_sign(&self, now_ms: u64) -> bool {
        let now_secs = self.local_secs(now_ms);
        self.ring.as_ref().is_some_and(|shared| shared.ring().can_sign(now_secs))
    }

    /// Verifies `token` the way the node is configured to.
    pub(crate) fn verify(
        &self,
        token: &str,
        validation: &Validation,
        scratch: &mut Scratch,
        now_secs: u64,
    ) -> Result<(u32, Option<Kid>), Rejection> {
        let Some(shared) = &self.ring else { return Err(Rejection::UnknownKey) };
        shared
            .ring()
            .verify_borrowed::<Session>(token, validation, scratch, now_secs)
            .map(|verified| (verified.claims().sub, verified.kid().copied()))
    }
}
