//! What a run simulates: the policy, the cluster, the clients, the faults and the attackers.
//!
//! [`Config::default_scenario`] is the scenario `tokenring-sim` runs without arguments;
//! [`Config::swarm`] lets the seed draw its own fault mix and rates. Derived quantities (the
//! rotation overlap, the propagation time) are methods, so that they cannot disagree with the
//! parameters they follow from.

use core::fmt;

use serde::Serialize;
use tokenring::limits::LEEWAY_SECS_MAX;

use crate::rng::{SimRng, Stream};

/// Milliseconds in a second, a minute, an hour and a day.
pub(crate) const SECOND_MS: u64 = 1000;
pub(crate) const MINUTE_MS: u64 = 60 * SECOND_MS;
pub(crate) const HOUR_MS: u64 = 60 * MINUTE_MS;
pub(crate) const DAY_MS: u64 = 24 * HOUR_MS;

/// Most nodes a cluster may have.
pub const NODES_MAX: u16 = 64;
/// Longest time a retired key may be kept before it is forgotten: a year.
pub const FORGET_AFTER_SECS_MAX: u64 = 366 * DAY_MS / SECOND_MS;
/// Most clients a run may have.
pub const CLIENTS_MAX: u32 = 1_000_000;
/// Longest simulated duration: a year.
pub const DURATION_MS_MAX: u64 = 366 * DAY_MS;
/// Most requests in a client's burst after it gets a new token.
pub const BURST_REQUESTS_MAX: u32 = 8;
/// The fastest a simulated clock may drift, in parts per million (a quartz clock without time
/// synchronisation drifts tens of ppm).
pub const CLOCK_DRIFT_PPM_MAX: u64 = 1_000;

/// How a node gets the HMAC key it signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// A fresh random key at every start, never stored.
    Ephemeral,
    /// Each node loads, or creates, its own key file (one volume per pod): keys survive
    /// restarts, but every node signs with a different key.
    PerNodeFiles,
    /// The JWK Set is loaded from the shared store at start, and created there only if absent.
    Persisted,
    /// Persisted, plus scheduled rotation with an overlap that covers every token the old key
    /// can still sign.
    Rotating,
    /// Rotating with an overlap shorter than the token lifetime: a misconfiguration.
    RotatingShortOverlap,
    /// Rotating, with the JWK Set under one key of a (simulated) etcd instead of a file:
    /// updates are compare-and-swap transactions retried on conflict, and a watch wakes every
    /// node's reload at each change, the poll staying as a backstop.
    Etcd,
}

impl Policy {
    /// Every policy, in the order of the comparison table.
    pub const ALL: [Policy; 6] = [
        Policy::Ephemeral,
        Policy::PerNodeFiles,
        Policy::Persisted,
        Policy::Rotating,
        Policy::RotatingShortOverlap,
        Policy::Etcd,
    ];

    /// The policy's name on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ephemeral => "ephemeral",
            Self::PerNodeFiles => "per-node-files",
            Self::Persisted => "persisted",
            Self::Rotating => "rotating",
            Self::RotatingShortOverlap => "rotating-short-overlap",
            Self::Etcd => "etcd",
        }
    }

    /// The policy named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|policy| policy.as_str() == name)
    }

    /// Whether nodes load their keys from a store (shared, or one per node).
    pub fn uses_store(self) -> bool {
        !matches!(self, Self::Ephemeral)
    }

    /// Whether nodes read a key file (a mounted Secret, a local volume), rather than etcd.
    pub fn uses_key_file(self) -> bool {
        self.uses_store() && self != Self::Etcd
    }

    /// Whether the ring is kept in the simulated etcd.
    pub fn uses_etcd(self) -> bool {
        self == Self::Etcd
    }

    /// Whether each node has a store of its own.
    pub fn store_per_node(self) -> bool {
        matches!(self, Self::PerNodeFiles)
    }

    /// Whether the cluster rotates its key.
    pub fn rotates(self) -> bool {
        matches!(self, Self::Rotating | Self::RotatingShortOverlap | Self::Etcd)
    }

    /// Whether invariant 2 is claimed: no unexpired token issued by the cluster is rejected.
    pub fn promises_no_spurious_rejection(self) -> bool {
        matches!(self, Self::Persisted | Self::Rotating | Self::Etcd)
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the load balancer picks a node for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadBalancing {
    /// Each client has a home node and goes elsewhere only while it is down.
    Sticky,
    /// Any node that is up, uniformly.
    Random,
}

impl LoadBalancing {
    /// `sticky` or `random`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sticky => "sticky",
            Self::Random => "random",
        }
    }
}

/// A deliberate bug in the library, to prove that the checker catches what it must: the core's
/// own canaries (`tokenring::canary`, compiled in by this crate's `canaries` feature), armed on
/// the run's thread. The simulator runs the mutated library code; the oracle is never told.
#[cfg(feature = "canaries")]
pub use tokenring::canary::Canary;

/// A canary in a report: its name.
#[cfg(feature = "canaries")]
fn serialize_canary<S: serde::Serializer>(canary: &Option<Canary>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_some(&canary.map(Canary::as_str))
}

/// What an attacker sends. Each kind is built from the attacker's own keys or from genuine
/// tokens it captured on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackKind {
    /// A token signed by the attacker's own random key under the attacker's own `kid`.
    ForeignKey,
    /// A token signed by the attacker's own key, naming a `kid` the cluster issued.
    ForgedUnderClusterKid,
    /// A captured token with altered claims (subject, expiry) and its original signature.
    TamperedClaims,
    /// A captured token re-headed `alg: none` with an empty signature.
    AlgNone,
    /// A captured token re-headed `alg: none`, keeping its signature.
    AlgNoneWithSignature,
    /// A captured token re-headed with another algorithm (`HS512`, `RS256`, `hs256`, ...).
    AlgSwap,
    /// A captured token re-headed with the `kid` of another cluster key.
    KidSwap,
    /// A captured token re-headed without a `kid`.
    KidRemoved,
    /// A captured token with its signature cut short.
    TruncatedSignature,
    /// A captured genuine token replayed after it expired.
    ReplayExpired,
    /// Not three segments.
    WrongSegments,
    /// Longer than the token length limit.
    Oversize,
}

impl AttackKind {
    /// Every kind.
    pub const ALL: [AttackKind; 12] = [
        Self::ForeignKey,
        Self::ForgedUnderClusterKid,
        Self::TamperedClaims,
        Self::AlgNone,
        Self::AlgNoneWithSignature,
        Self::AlgSwap,
        Self::KidSwap,
        Self::KidRemoved,
        Self::TruncatedSignature,
        Self::ReplayExpired,
        Self::WrongSegments,
        Self::Oversize,
    ];

    /// The kind's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ForeignKey => "foreign-key",
            Self::ForgedUnderClusterKid => "forged-under-cluster-kid",
            Self::TamperedClaims => "tampered-claims",
            Self::AlgNone => "alg-none",
            Self::AlgNoneWithSignature => "alg-none-with-signature",
            Self::AlgSwap => "alg-swap",
            Self::KidSwap => "kid-swap",
            Self::KidRemoved => "kid-removed",
            Self::TruncatedSignature => "truncated-signature",
            Self::ReplayExpired => "replay-expired",
            Self::WrongSegments => "wrong-segments",
            Self::Oversize => "oversize",
        }
    }

    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// Whether the kind needs a captured genuine token to work from.
    pub(crate) fn needs_capture(self) -> bool {
        !matches!(self, Self::ForeignKey | Self::WrongSegments | Self::Oversize)
    }
}

/// Where a configuration came from, which decides how a failure is reproduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// [`Config::default_scenario`] plus the command line's overrides.
    Default,
    /// [`Config::swarm`]: everything drawn from the seed, sized to about this many requests.
    Swarm {
        /// The request budget the configuration was sized to.
        requests_budget: u64,
    },
    /// Built by hand (tests): the command line cannot express it.
    Custom,
}

/// Everything a run depends on besides the code: the same `Config` gives the same trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Config {
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Where this configuration came from.
    pub origin: Origin,
    /// The key policy of every node.
    pub policy: Policy,
    /// Number of server nodes.
    pub nodes: u16,
    /// Number of clients.
    pub clients: u32,
    /// Simulated time to run for, in milliseconds.
    pub duration_ms: u64,
    /// How the load balancer picks a node.
    pub load_balancing: LoadBalancing,
    /// Lifetime of the tokens the nodes issue, in seconds.
    pub token_ttl_secs: u64,
    /// Clock-skew allowance of the verifier (`Validation::leeway_secs`), in seconds.
    pub leeway_secs: u64,
    /// Each node's clock is off by up to this much either way, redrawn at every start.
    pub clock_skew_max_ms: u64,
    /// Mean time between two steps of a running node's clock (NTP corrections, both ways), to a
    /// new offset within the skew bound; none if clocks only change at restarts.
    pub clock_jump_interval_mean_ms: Option<u64>,
    /// Each node's clock runs fast or slow by up to this rate, in parts per million, drawn at
    /// every start; the error adds up until the clock steps or the node restarts.
    pub clock_drift_ppm_max: u64,
    /// Each request reaches its node after a network latency of up to this long, drawn per
    /// request; 0: at once.
    pub latency_max_ms: u64,

    /// Mean time between two requests of an active client.
    pub request_interval_mean_ms: u64,
    /// Mean length of a client's active period.
    pub session_active_mean_ms: u64,
    /// Mean length of a client's idle (or logged-out) period.
    pub session_idle_mean_ms: u64,
    /// Chance, per mille, that an active period ends with a logout rather than going idle.
    pub logout_per_mille: u32,
    /// Lifetime of the refresh tokens issued at login beside the access token, in seconds, if
    /// the deployment issues them: a client whose access token is rejected or expired sends
    /// its refresh token for a new one, and logs in again only if that is refused too.
    pub refresh_token_ttl_secs: Option<u64>,
    /// Token age, per mille of its lifetime, from which a client refreshes it.
    pub refresh_at_per_mille: u32,
    /// Share of clients, per mille, that resend their last token after an idle period without
    /// checking whether it expired.
    pub stale_token_clients_per_mille: u32,
    /// Share of clients, per mille, that never refresh: they use each token to its last
    /// millisecond (a last request just before it expires), then log in again.
    pub to_the_end_clients_per_mille: u32,
    /// Requests a client sends within two seconds of getting a new token (a page loading its
    /// data), besides its regular ones.
    pub burst_requests: u32,

    /// Period of rolling restarts (every node, one after the other), if any.
    pub rolling_restart_interval_ms: Option<u64>,
    /// Rotating policies: every rotation that writes a key starts a rolling restart at once,
    /// while the new key propagates (a deploy that rotates, or a rotation during a deploy).
    pub restart_during_rotation: bool,
    /// One-off restarts: (time, node).
    pub scheduled_restarts: Vec<(u64, u16)>,
    /// Mean time between two crashes of one node, if nodes crash.
    pub crash_interval_mean_ms: Option<u64>,
    /// Shortest time a stopped node stays down.
    pub downtime_min_ms: u64,
    /// Longest time a stopped node stays down.
    pub downtime_max_ms: u64,
    /// Mean time between two outages of the key store, if it has outages.
    pub store_outage_interval_mean_ms: Option<u64>,
    /// Longest outage of the key store.
    pub store_outage_max_ms: u64,
    /// One-off store outages `[start, end)`, besides the random ones. They should respect
    /// `store_outage_max_ms`, which the rotation timing relies on.
    pub scheduled_store_outages: Vec<(u64, u64)>,
    /// Chance, per mille, that a node crashes in the middle of writing the key store.
    pub store_write_crash_per_mille: u32,
    /// Longest delay before a node's periodic reload sees a new document (a mounted secret
    /// reaching a pod at its kubelet's next sync), drawn per node and write.
    pub propagation_delay_max_ms: u64,
    /// Chance, per mille, that a node's propagation delay is the longest one (a slow kubelet),
    /// rather than drawn uniformly up to it.
    pub slow_propagation_per_mille: u32,
    /// `etcd`: the longest a watch takes to deliver a change (or the loss and the resumption of
    /// its stream in an outage) to a node, drawn per node and event.
    pub watch_latency_max_ms: u64,
    /// `etcd`: the longest round trip of a request to etcd, drawn per request.
    pub etcd_request_latency_max_ms: u64,

    /// Time between two rotations (rotating policies).
    pub rotation_interval_ms: u64,
    /// How often each node reloads the key store (rotating policies).
    pub reload_interval_ms: u64,
    /// How long a retired key's material is kept before it is forgotten (rotating policies).
    pub forget_after_secs: u64,
    /// The rotations' propagation time as the deployment configured it, when it is not the
    /// reload bound: an under-configured propagation, whose cost the run shows (invariant 2 is
    /// not claimed then; the oracle still predicts every rejection's code).
    pub propagation_configured_secs: Option<u64>,
    /// The rotations' overlap as the deployment configured it, when it is not the policy's
    /// (`tokenring_sim::check`); one shorter than the token lifetime plus the leeway voids
    /// invariant 2, as a short propagation does.
    pub overlap_configured_secs: Option<u64>,
    /// Chance, per mille, that a node's reload loop stalls after a reload (a stuck file
    /// watcher, a blocked thread), beyond every bound: invariant 2 is not claimed then.
    pub reload_stall_per_mille: u32,
    /// Longest stall of a reload loop.
    pub reload_stall_max_ms: u64,
    /// Clients send a rejected request once more, to another node, before logging in again.
    pub retry_elsewhere: bool,
    /// Chance, per mille, that a second rotator (a deploy pipeline, another node's timer)
    /// rotates at the same moment as the scheduled one (rotating policies).
    pub concurrent_rotation_per_mille: u32,
    /// Chance, per mille, that a write finds the key file's lock held by an outside process
    /// (an operator's command) for a number of attempts, sometimes longer than a writer waits.
    pub lock_contention_per_mille: u32,

    /// When an operator revokes a key that leaked (the newest key that no longer signs), if
    /// ever (rotating policies): its tokens must be refused within the reload bound.
    pub revocation_at_ms: Option<u64>,
    /// When an operator pushes a key file that does not parse, and for how long until the
    /// good one is back (rotating policies): every node must keep its last good ring.
    pub bad_file: Option<(u64, u64)>,
    /// A node whose Secret is not mounted when the cluster starts, and until when (policies
    /// with a key file): its key file and directory are missing, `open` fails, and the node
    /// must stay out of the balancer rather than invent a key.
    pub unmounted_secret: Option<(u16, u64)>,

    /// Mean time between two attacks, if there is an attacker.
    pub attack_interval_mean_ms: Option<u64>,
    /// The attack kinds in use, one bit per [`AttackKind`].
    pub attack_kinds: u32,
    /// Chance, per mille, that the attacker captures a token a node issues.
    pub capture_per_mille: u32,

    /// The library canary armed for the run, if any.
    #[cfg(feature = "canaries")]
    #[serde(serialize_with = "serialize_canary")]
    pub canary: Option<Canary>,
}

/// Why a configuration cannot be run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A count or duration is zero or over its limit; names the parameter.
    OutOfRange(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfRange(what) => write!(f, "{what} is out of range"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// How long after a failed key-store read a node tries again.
pub(crate) const STORE_RETRY_MS: u64 = 5 * SECOND_MS;
/// Store outages are at least this far apart, so that a retry always lands between two.
pub(crate) const STORE_OUTAGE_GAP_MIN_MS: u64 = 2 * STORE_RETRY_MS;

impl Config {
    /// The scenario `tokenring-sim` runs without arguments: three nodes behind a random load
    /// balancer, two thousand clients, a week, daily rolling restarts and rotations, random
    /// crashes, store outages (one of them as the cluster first starts), crashes during
    /// writes, and an attacker.
    pub fn default_scenario(seed: u64, policy: Policy) -> Self {
        let mut config = Self {
            seed,
            origin: Origin::Default,
            policy,
            nodes: 3,
            clients: 2000,
            duration_ms: 7 * DAY_MS,
            load_balancing: LoadBalancing::Random,
            token_ttl_secs: 3600,
            leeway_secs: 30,
            // As far apart as the leeway allows, with a day's drift and the latency
            // (2 × (12.5 s + 1.728 s) + 0.4 s + 1 s = 29.856 s of 30 s): where the rotation's and
            // the expiry's boundaries are tested.
            clock_skew_max_ms: 12_500,
            clock_jump_interval_mean_ms: Some(6 * HOUR_MS),
            clock_drift_ppm_max: 20,
            latency_max_ms: 400,
            request_interval_mean_ms: 4 * MINUTE_MS,
            session_active_mean_ms: 2 * HOUR_MS,
            session_idle_mean_ms: 6 * HOUR_MS,
            logout_per_mille: 300,
            refresh_token_ttl_secs: None,
            refresh_at_per_mille: 750,
            stale_token_clients_per_mille: 0,
            to_the_end_clients_per_mille: 300,
            burst_requests: 2,
            rolling_restart_interval_ms: Some(DAY_MS),
            restart_during_rotation: true,
            scheduled_restarts: Vec::new(),
            crash_interval_mean_ms: Some(3 * DAY_MS),
            downtime_min_ms: 10 * SECOND_MS,
            downtime_max_ms: 3 * MINUTE_MS,
            store_outage_interval_mean_ms: Some(DAY_MS),
            store_outage_max_ms: MINUTE_MS,
            // The store is down for the first half minute: the cluster's first start waits.
            scheduled_store_outages: vec![(0, 30 * SECOND_MS)],
            store_write_crash_per_mille: 500,
            // The kubelet's default sync period.
            propagation_delay_max_ms: MINUTE_MS,
            slow_propagation_per_mille: 800,
            watch_latency_max_ms: SECOND_MS,
            etcd_request_latency_max_ms: 200,
            rotation_interval_ms: DAY_MS,
            reload_interval_ms: MINUTE_MS,
            // Shorter than the library's 30 days, so that a week sees keys forgotten.
            forget_after_secs: 2 * DAY_MS / SECOND_MS,
            propagation_configured_secs: None,
            overlap_configured_secs: None,
            reload_stall_per_mille: 0,
            reload_stall_max_ms: 30 * MINUTE_MS,
            retry_elsewhere: false,
            concurrent_rotation_per_mille: 500,
            lock_contention_per_mille: 100,
            // Ten minutes after the fourth day's rotation: the previous key is retiring, and
            // tokens it signed are still in use.
            revocation_at_ms: Some(3 * DAY_MS + 10 * MINUTE_MS),
            // A broken Secret on day 5, fixed a quarter of an hour later.
            bad_file: Some((4 * DAY_MS + 10 * HOUR_MS, 15 * MINUTE_MS)),
            // The last node's Secret is mounted two minutes after the cluster starts.
            unmounted_secret: Some((2, 2 * MINUTE_MS)),
            attack_interval_mean_ms: Some(10 * SECOND_MS),
            attack_kinds: AttackKind::ALL.iter().fold(0, |bits, kind| bits | kind.bit()),
            capture_per_mille: 20,
            #[cfg(feature = "canaries")]
            canary: None,
        };
        if policy.uses_etcd() {
            // No Secret to sync or to mount: a change reaches the nodes by the watch.
            config.propagation_delay_max_ms = 0;
            config.unmounted_secret = None;
            // etcd makes rotating from every host safe, and so every host's timer rotates: each
            // rotation has a second rotator on another node.
            config.concurrent_rotation_per_mille = 1000;
        }
        config
    }

    /// A small configuration whose every rate, and whether each fault happens at all, is drawn
    /// from `seed`. Sized for sweeps of thousands of seeds: about
    /// [`SWARM_REQUESTS_BUDGET`](Self::SWARM_REQUESTS_BUDGET) requests.
    pub fn swarm(seed: u64, policy: Policy) -> Self {
        Self::swarm_sized(seed, policy, Self::SWARM_REQUESTS_BUDGET)
    }

    /// The request budget of [`swarm`](Self::swarm).
    pub const SWARM_REQUESTS_BUDGET: u64 = 20_000;

    /// [`swarm`](Self::swarm) sized to about `requests_budget` requests (at least 100): the
    /// same draws, then a shorter run or slower clients.
    pub fn swarm_sized(seed: u64, policy: Policy, requests_budget: u64) -> Self {
        let requests_budget = requests_budget.max(100);
        let mut rng = SimRng::new(seed, Stream::Swarm);
        let mut config = Self::default_scenario(seed, policy);
        config.origin = Origin::Swarm { requests_budget };
        config.nodes = rng.between(1, 5) as u16;
        config.clients = rng.between(5, 120) as u32;
        config.duration_ms = rng.between(HOUR_MS, 36 * HOUR_MS);
        config.load_balancing = if rng.chance(500) { LoadBalancing::Random } else { LoadBalancing::Sticky };
        config.token_ttl_secs = *rng.pick(&[300, 900, 1800, 3600, 7200]).unwrap_or(&3600);
        config.leeway_secs = *rng.pick(&[5, 10, 30, 60, 120]).unwrap_or(&30);
        let skew_within_leeway_ms = (config.leeway_secs * SECOND_MS).saturating_sub(SECOND_MS) / 2;
        config.clock_skew_max_ms = match rng.below(10) {
            0..=2 => 0,
            // One seed in ten lets the clocks drift further apart than the leeway allows.
            3 => rng.between(skew_within_leeway_ms + 1, 3 * config.leeway_secs * SECOND_MS),
            // Clocks as far apart as the leeway allows, where its boundaries are tested.
            4..=6 => skew_within_leeway_ms,
            _ => rng.between(0, skew_within_leeway_ms),
        };
        config.request_interval_mean_ms = rng.between(5 * SECOND_MS, 10 * MINUTE_MS);
        config.session_active_mean_ms = rng.between(10 * MINUTE_MS, 4 * HOUR_MS);
        config.session_idle_mean_ms = rng.between(10 * MINUTE_MS, 12 * HOUR_MS);
        config.logout_per_mille = rng.between(0, 1000) as u32;
        config.refresh_at_per_mille = rng.between(500, 900) as u32;
        config.stale_token_clients_per_mille = if rng.chance(500) { 0 } else { rng.between(0, 300) as u32 };
        config.to_the_end_clients_per_mille = rng.between(0, 1000) as u32;
        config.burst_requests = rng.between(0, u64::from(BURST_REQUESTS_MAX)) as u32;
        config.rolling_restart_interval_ms = rng.chance(600).then(|| rng.between(HOUR_MS, DAY_MS));
        config.crash_interval_mean_ms = rng.chance(600).then(|| rng.between(HOUR_MS, 2 * DAY_MS));
        config.downtime_min_ms = rng.between(SECOND_MS, 30 * SECOND_MS);
        config.downtime_max_ms = rng.between(config.downtime_min_ms, 5 * MINUTE_MS);
        config.store_outage_interval_mean_ms = rng.chance(500).then(|| rng.between(30 * MINUTE_MS, DAY_MS));
        config.store_outage_max_ms = rng.between(5 * SECOND_MS, 2 * MINUTE_MS);
        // One seed in five finds the store down when the cluster first starts.
        config.scheduled_store_outages =
            if rng.chance(200) { vec![(0, rng.between(SECOND_MS, config.store_outage_max_ms))] } else { Vec::new() };
        config.store_write_crash_per_mille = if rng.chance(500) { 0 } else { rng.between(0, 500) as u32 };
        config.reload_interval_ms = rng.between(10 * SECOND_MS, 2 * MINUTE_MS);
        config.propagation_delay_max_ms = if rng.chance(300) { 0 } else { rng.between(SECOND_MS, 2 * MINUTE_MS) };
        config.slow_propagation_per_mille = rng.between(0, 1000) as u32;
        if policy.uses_etcd() {
            // From a stream of their own, so that the other draws are every policy's.
            let mut etcd = SimRng::new(seed, Stream::EtcdSwarm);
            config.propagation_delay_max_ms = 0;
            config.watch_latency_max_ms = etcd.between(0, 5 * SECOND_MS);
            config.etcd_request_latency_max_ms = etcd.between(10, SECOND_MS);
        }
        // Rotations no closer than twice the propagation time, and not so close that more
        // than a few keys overlap.
        let rotation_min_ms = (2 * config.reload_bound_secs() * SECOND_MS).max(config.overlap_secs() * SECOND_MS / 6);
        config.rotation_interval_ms = rng.between(rotation_min_ms, 8 * rotation_min_ms);
        // Keys are forgotten a few rotations after they retire; one seed in ten keeps them so
        // long that the ring fills up and rotations are refused.
        let forget_rotations = if rng.chance(100) { 200 } else { rng.between(0, 12) };
        config.forget_after_secs = forget_rotations * config.rotation_interval_ms / SECOND_MS;
        config.concurrent_rotation_per_mille = if rng.chance(500) { 0 } else { rng.between(100, 1000) as u32 };
        config.lock_contention_per_mille = if rng.chance(500) { 0 } else { rng.between(0, 500) as u32 };
        config.attack_interval_mean_ms = rng.chance(900).then(|| rng.between(SECOND_MS, 5 * MINUTE_MS));
        config.attack_kinds = 0;
        while config.attack_kinds == 0 {
            for kind in AttackKind::ALL {
                if rng.chance(700) {
                    config.attack_kinds |= kind.bit();
                }
            }
        }
        config.capture_per_mille = rng.between(5, 200) as u32;
        // One seed in ten configures a propagation below the reload bound.
        if rng.chance(100) {
            config.propagation_configured_secs = Some(rng.below(config.reload_bound_secs()));
        }
        // One seed in ten has reload loops that stall, for up to half an hour.
        if rng.chance(100) {
            config.reload_stall_per_mille = rng.between(5, 100) as u32;
            config.reload_stall_max_ms = rng.between(MINUTE_MS, 30 * MINUTE_MS);
        }
        config.retry_elsewhere = rng.chance(300);
        // Drift and latency within what the leeway leaves beside the skew, unless the skew is
        // already beyond it.
        let leeway_left_ms = (config.leeway_secs * SECOND_MS).saturating_sub(2 * config.clock_skew_max_ms + SECOND_MS);
        let skew_beyond = 2 * config.clock_skew_max_ms + SECOND_MS > config.leeway_secs * SECOND_MS;
        let latency_max_ms = if skew_beyond { 2 * SECOND_MS } else { (leeway_left_ms / 2).min(2 * SECOND_MS) };
        config.latency_max_ms = if rng.chance(300) { 0 } else { rng.between(0, latency_max_ms) };
        let drift_day_max_ms = if skew_beyond { u64::MAX } else { (leeway_left_ms - config.latency_max_ms) / 2 };
        let drift_ppm_max = (drift_day_max_ms.saturating_mul(1_000_000) / DAY_MS).min(200);
        config.clock_drift_ppm_max = if rng.chance(300) { 0 } else { rng.between(0, drift_ppm_max) };
        config.restart_during_rotation = rng.chance(500);
        // One seed in three issues refresh tokens, living up to three access tokens.
        config.refresh_token_ttl_secs =
            rng.chance(333).then(|| rng.between(config.token_ttl_secs, 3 * config.token_ttl_secs));
        // Keep the run small: shorten it, then slow the clients, until the expected number of
        // requests fits the budget.
        while config.expected_requests() > requests_budget {
            if config.duration_ms > 2 * HOUR_MS {
                config.duration_ms /= 2;
            } else {
                config.request_interval_mean_ms *= 2;
            }
        }
        // Half the seeds revoke a key, and half push a broken key file, at a time of their own.
        config.revocation_at_ms = rng.chance(500).then(|| rng.below(config.duration_ms));
        config.bad_file =
            rng.chance(500).then(|| (rng.below(config.duration_ms), rng.between(MINUTE_MS, 20 * MINUTE_MS)));
        // One seed in four starts with a node's Secret unmounted (from the seed, not a draw,
        // so that no other draw moves).
        config.unmounted_secret = (seed % 4 == 1 && policy.uses_key_file()).then(|| {
            ((seed / 4 % u64::from(config.nodes)) as u16, (MINUTE_MS * (1 + seed / 16 % 5)).min(config.duration_ms))
        });
        config
    }

    /// Checks every count and duration against its bounds.
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`] naming the first parameter out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let checks: [(bool, &'static str); 21] = [
            ((1..=NODES_MAX).contains(&self.nodes), "nodes"),
            ((1..=CLIENTS_MAX).contains(&self.clients), "clients"),
            ((1..=DURATION_MS_MAX).contains(&self.duration_ms), "duration"),
            ((1..=DAY_MS / SECOND_MS).contains(&self.token_ttl_secs), "token lifetime"),
            (
                self.refresh_token_ttl_secs.is_none_or(|ttl| (1..=30 * DAY_MS / SECOND_MS).contains(&ttl)),
                "refresh token lifetime",
            ),
            (self.leeway_secs <= LEEWAY_SECS_MAX, "leeway"),
            (self.clock_skew_max_ms <= HOUR_MS, "clock skew"),
            (self.clock_drift_ppm_max <= CLOCK_DRIFT_PPM_MAX, "clock drift"),
            (self.latency_max_ms <= MINUTE_MS, "latency"),
            (self.request_interval_mean_ms >= 1 && self.session_active_mean_ms >= 1, "client rates"),
            (self.downtime_min_ms >= 1 && self.downtime_min_ms <= self.downtime_max_ms, "downtime"),
            (self.store_outage_max_ms >= 1 && self.store_outage_max_ms <= HOUR_MS, "store outage length"),
            (self.propagation_delay_max_ms <= HOUR_MS, "propagation delay"),
            (self.watch_latency_max_ms <= HOUR_MS, "watch latency"),
            (self.etcd_request_latency_max_ms <= MINUTE_MS, "etcd request latency"),
            (self.reload_stall_max_ms <= DAY_MS && self.reload_stall_per_mille <= 1000, "reload stalls"),
            (self.reload_interval_ms >= SECOND_MS && self.reload_interval_ms <= HOUR_MS, "reload interval"),
            (self.rotation_interval_ms >= SECOND_MS, "rotation interval"),
            (self.forget_after_secs <= FORGET_AFTER_SECS_MAX, "forget period"),
            (self.refresh_at_per_mille <= 1000 && self.logout_per_mille <= 1000, "client shares"),
            (self.burst_requests <= BURST_REQUESTS_MAX, "burst requests"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, what)) => Err(ConfigError::OutOfRange(what)),
            None => Ok(()),
        }
    }

    /// The longest time, in seconds, from a write of the store to the moment every node that
    /// is up has loaded it, as seen on any node's clock.
    ///
    /// A new document reaches a node at most the propagation delay after it is written; the
    /// node reloads at most 1.1 reload intervals apart; a reload that hits a store outage is
    /// retried every five seconds and outages are separated by more than that, so the
    /// reload succeeds at most one outage and one retry later. The clocks of the writer and
    /// the reader may differ by twice the skew bound, and seconds are whole (two more seconds).
    ///
    /// Under `etcd` a change reaches a node by the watch, or by the poll, whichever is first.
    /// The watch delivers it at most the watch latency after the commit, and the node's read
    /// acts within a request's round trip; an outage that breaks the stream first delays it
    /// to the outage's end, when the watch resumes (one more watch latency) and the node
    /// reads. The poll's path is the file's, with a round trip for the read and no Secret sync.
    pub fn reload_bound_secs(&self) -> u64 {
        let worst_reload_ms = self.reload_interval_ms + self.reload_interval_ms / 10;
        let poll_ms = self.propagation_delay_max_ms
            + worst_reload_ms
            + self.store_outage_max_ms
            + STORE_RETRY_MS
            + self.store_request_latency_ms();
        let reach_ms = if self.policy.uses_etcd() { poll_ms.min(self.watch_reach_ms()) } else { poll_ms };
        let bound_ms = reach_ms + 2 * self.clock_error_max_ms();
        bound_ms.div_ceil(SECOND_MS) + 2
    }

    /// `etcd`: the longest from a commit to a node's read of it by the watch, outages included.
    pub fn watch_reach_ms(&self) -> u64 {
        2 * self.watch_latency_max_ms + self.store_outage_max_ms + self.etcd_request_latency_max_ms
    }

    /// The longest round trip of a request to the store: etcd's; a file's reads take no time.
    pub fn store_request_latency_ms(&self) -> u64 {
        if self.policy.uses_etcd() {
            self.etcd_request_latency_max_ms
        } else {
            0
        }
    }

    /// The longest after a write before every read shows it: a Secret's sync for a file, a
    /// request's round trip for etcd (a read that acted before the write answers after it).
    pub fn store_visibility_max_ms(&self) -> u64 {
        self.propagation_delay_max_ms + self.store_request_latency_ms()
    }

    /// The lifetime of the longest-lived token the nodes issue: the access token's, or the
    /// refresh token's.
    pub fn longest_token_secs(&self) -> u64 {
        self.token_ttl_secs.max(self.refresh_token_ttl_secs.unwrap_or(0))
    }

    /// The largest clock error the scenario's rules allow a node: the skew bound, plus what
    /// the fastest drift adds in a day (nodes restart, or their clocks step, well within it).
    pub fn clock_error_max_ms(&self) -> u64 {
        self.clock_skew_max_ms + self.clock_drift_ppm_max * DAY_MS / 1_000_000
    }

    /// The propagation time of the rotations (`Rotation::propagation_secs`): the reload bound,
    /// or what the deployment configured.
    pub fn propagation_secs(&self) -> u64 {
        self.propagation_configured_secs.unwrap_or_else(|| self.reload_bound_secs())
    }

    /// Whether the configured propagation covers the reload bound, a condition of invariant 2.
    pub fn propagation_within_bound(&self) -> bool {
        self.propagation_configured_secs.is_none_or(|configured| configured >= self.reload_bound_secs())
    }

    /// The overlap of the rotations (`Rotation::overlap_secs`): how long the previous key
    /// keeps verifying after the new one activates.
    ///
    /// `rotating`: the token lifetime plus the leeway. The last token the previous key signs
    /// is signed just before the new key activates on the signer's clock and is used until it
    /// expires on the client's (true) clock; the verifier's clock may be ahead of the signer's
    /// by twice the skew bound, which the leeway covers (invariant 2 is only claimed then).
    /// `rotating-short-overlap`: a quarter of the token lifetime. Zero for the other policies.
    pub fn overlap_secs(&self) -> u64 {
        if let Some(overlap) = self.overlap_configured_secs {
            return overlap;
        }
        match self.policy {
            Policy::Rotating | Policy::Etcd => self.longest_token_secs() + self.leeway_secs,
            Policy::RotatingShortOverlap => (self.token_ttl_secs / 4).max(1),
            Policy::Ephemeral | Policy::PerNodeFiles | Policy::Persisted => 0,
        }
    }

    /// Sets the clients' request interval so that the cluster receives about
    /// `requests_per_second` honest requests on average.
    pub fn set_request_rate(&mut self, requests_per_second: u64) {
        let cycle = self.session_active_mean_ms + self.session_idle_mean_ms;
        let active_clients_milli =
            u128::from(self.clients) * u128::from(self.session_active_mean_ms) * 1000 / u128::from(cycle.max(1));
        let interval_ms = active_clients_milli / u128::from(requests_per_second.max(1));
        self.request_interval_mean_ms = u64::try_from(interval_ms).unwrap_or(u64::MAX).max(1);
    }

    /// Whether any two node clocks, each off by its skew and a day's drift, stay within the
    /// verifier's leeway of each other with a request's latency on top (and the second lost to
    /// whole-second timestamps): the condition of invariant 2.
    pub fn skew_within_leeway(&self) -> bool {
        2 * self.clock_error_max_ms() + self.latency_max_ms + SECOND_MS <= self.leeway_secs * SECOND_MS
    }

    /// Whether reload loops may stall beyond every bound (a fault that voids the bounds of
    /// invariants 2 and 8).
    pub fn reload_stalls(&self) -> bool {
        self.reload_stall_per_mille > 0
    }

    /// Whether invariant 2 applies to this run.
    pub fn promises_no_spurious_rejection(&self) -> bool {
        self.policy.promises_no_spurious_rejection()
            && self.skew_within_leeway()
            && self.propagation_within_bound()
            && self
                .overlap_configured_secs
                .is_none_or(|overlap| overlap >= self.longest_token_secs() + self.leeway_secs)
            && self.reload_stall_per_mille == 0
    }

    /// The attack kinds in use.
    pub fn attack_kinds(&self) -> Vec<AttackKind> {
        AttackKind::ALL.into_iter().filter(|kind| self.attack_kinds & kind.bit() != 0).collect()
    }

    /// A rough estimate of the number of honest requests, for sizing runs.
    pub fn expected_requests(&self) -> u64 {
        let active = self.session_active_mean_ms;
        let cycle = active + self.session_idle_mean_ms;
        let active_ms =
            u128::from(self.duration_ms) * u128::from(self.clients) * u128::from(active) / u128::from(cycle.max(1));
        u64::try_from(active_ms / u128::from(self.request_interval_mean_ms.max(1))).unwrap_or(u64::MAX)
    }

    /// The name of the library canary armed for the run, if any.
    pub fn canary_name(&self) -> Option<&'static str> {
        #[cfg(feature = "canaries")]
        return self.canary.map(Canary::as_str);
        #[cfg(not(feature = "canaries"))]
        None
    }

    /// The one-line command that reproduces this run, if the command line can express it.
    pub fn reproduce_command(&self) -> Option<String> {
        let features = if self.canary_name().is_some() { " --features canaries" } else { "" };
        self.reproduce_args().map(|args| format!("cargo run --release -p tokenring-sim{features} -- {args}"))
    }

    /// The command-line arguments that reproduce this run, if the command line can express it.
    pub fn reproduce_args(&self) -> Option<String> {
        let canary = self.canary_name().map(|canary| format!(" --canary {canary}")).unwrap_or_default();
        match self.origin {
            Origin::Swarm { requests_budget } => {
                let budget = if requests_budget == Self::SWARM_REQUESTS_BUDGET {
                    String::new()
                } else {
                    format!(" --swarm-budget {requests_budget}")
                };
                Some(format!("--swarm --seed {} --policy {}{budget}{canary}", self.seed, self.policy))
            }
            Origin::Default => {
                let default_interval = Self::default_scenario(self.seed, self.policy).request_interval_mean_ms;
                let interval = if self.request_interval_mean_ms == default_interval {
                    String::new()
                } else {
                    format!(" --request-every {}", format_duration(self.request_interval_mean_ms))
                };
                let retry = if self.retry_elsewhere { " --retry-elsewhere" } else { "" };
                let propagation = self
                    .propagation_configured_secs
                    .map(|secs| format!(" --propagation {}", format_duration(secs * SECOND_MS)))
                    .unwrap_or_default();
                let refresh = self
                    .refresh_token_ttl_secs
                    .map(|secs| format!(" --refresh-tokens {}", format_duration(secs * SECOND_MS)))
                    .unwrap_or_default();
                Some(format!(
                    "--seed {} --policy {} --nodes {} --clients {} --duration {} --lb {}{interval}{propagation}{refresh}{retry}{canary}",
                    self.seed,
                    self.policy,
                    self.nodes,
                    self.clients,
                    format_duration(self.duration_ms),
                    self.load_balancing.as_str()
                ))
            }
            Origin::Custom => None,
        }
    }

    /// One line per group of parameters, for the run header.
    pub fn describe(&self) -> Vec<String> {
        let optional = |value: Option<u64>| value.map_or_else(|| "off".to_owned(), format_duration);
        let kinds = self.attack_kinds();
        let kinds = if kinds.len() == AttackKind::ALL.len() {
            "all".to_owned()
        } else {
            kinds.iter().map(|kind| kind.as_str()).collect::<Vec<_>>().join(",")
        };
        let mut lines = vec![
            format!(
                "cluster: nodes={} lb={} clients={} duration={}",
                self.nodes,
                self.load_balancing.as_str(),
                self.clients,
                format_duration(self.duration_ms)
            ),
            format!(
                "tokens: ttl={}{} leeway={}s clock-skew=±{} drift=±{}ppm{}{} refresh-at={}‰ latency≤{}",
                format_duration(self.token_ttl_secs * SECOND_MS),
                self.refresh_token_ttl_secs
                    .map(|ttl| format!(" refresh-tokens={}", format_duration(ttl * SECOND_MS)))
                    .unwrap_or_default(),
                self.leeway_secs,
                format_duration(self.clock_skew_max_ms),
                self.clock_drift_ppm_max,
                self.clock_jump_interval_mean_ms
                    .map(|mean| format!(" (a running clock steps every {} on average)", format_duration(mean)))
                    .unwrap_or_default(),
                if self.skew_within_leeway() { "" } else { " (beyond the leeway: invariant 2 not claimed)" },
                self.refresh_at_per_mille,
                format_duration(self.latency_max_ms)
            ),
            format!(
                "clients: request-every={} active={} idle={} logout={}‰ stale-token-clients={}‰ to-the-end-clients={}‰ burst={} retry-elsewhere={}",
                format_duration(self.request_interval_mean_ms),
                format_duration(self.session_active_mean_ms),
                format_duration(self.session_idle_mean_ms),
                self.logout_per_mille,
                self.stale_token_clients_per_mille,
                self.to_the_end_clients_per_mille,
                self.burst_requests,
                if self.retry_elsewhere { "yes" } else { "no" }
            ),
            format!(
                "faults: rolling-restart-every={}{} crash-every={} downtime={}..{} store-outage-every={} (≤{}) write-crash={}‰ concurrent-rotation={}‰ lock-contention={}‰ propagation-delay≤{} (at the bound: {}‰)",
                optional(self.rolling_restart_interval_ms),
                if self.restart_during_rotation { " (and at every rotation)" } else { "" },
                optional(self.crash_interval_mean_ms),
                format_duration(self.downtime_min_ms),
                format_duration(self.downtime_max_ms),
                optional(self.store_outage_interval_mean_ms),
                format_duration(self.store_outage_max_ms),
                self.store_write_crash_per_mille,
                self.concurrent_rotation_per_mille,
                self.lock_contention_per_mille,
                format_duration(self.propagation_delay_max_ms),
                self.slow_propagation_per_mille
            ),
            format!(
                "rotation (rotating policies): every={} reload-every={} propagation={}{} overlap={} (short: {}) forget-after={} reload-stalls={}‰ (≤{})",
                format_duration(self.rotation_interval_ms),
                format_duration(self.reload_interval_ms),
                format_duration(self.propagation_secs() * SECOND_MS),
                if self.propagation_within_bound() {
                    String::new()
                } else {
                    format!(
                        " (below the reload bound {}: invariant 2 not claimed)",
                        format_duration(self.reload_bound_secs() * SECOND_MS)
                    )
                },
                format_duration(Self { policy: Policy::Rotating, ..self.clone() }.overlap_secs() * SECOND_MS),
                format_duration(Self { policy: Policy::RotatingShortOverlap, ..self.clone() }.overlap_secs() * SECOND_MS),
                format_duration(self.forget_after_secs * SECOND_MS),
                self.reload_stall_per_mille,
                format_duration(self.reload_stall_max_ms),
            ),
            format!(
                "scheduled: restarts=[{}] store-outages=[{}]",
                self.scheduled_restarts
                    .iter()
                    .map(|(at, node)| format!("node {node} at {}", format_instant(*at)))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.scheduled_store_outages
                    .iter()
                    .map(|(start, end)| format!("{} for {}", format_instant(*start), format_duration(end.saturating_sub(*start))))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "operator (rotating policies): revokes a key at {}, pushes a broken key file at {}",
                self.revocation_at_ms.map_or_else(|| "never".to_owned(), format_instant),
                self.bad_file.map_or_else(
                    || "never".to_owned(),
                    |(at, length)| format!("{} for {}", format_instant(at), format_duration(length))
                ),
            ),
            format!(
                "secret not mounted at start (policies with a key file): {}",
                self.unmounted_secret.filter(|&(node, _)| node < self.nodes).map_or_else(
                    || "none".to_owned(),
                    |(node, until)| format!("node {node} until {}", format_instant(until))
                ),
            ),
            format!(
                "attacker: every={} kinds={} capture={}‰{}",
                optional(self.attack_interval_mean_ms),
                kinds,
                self.capture_per_mille,
                self.canary_name().map(|canary| format!(" CANARY={canary}")).unwrap_or_default()
            ),
        ];
        if self.policy.uses_etcd() {
            lines.insert(
                4,
                format!(
                    "etcd: watch-latency≤{} request-latency≤{} (a change reaches every node by the watch within {}, outages included)",
                    format_duration(self.watch_latency_max_ms),
                    format_duration(self.etcd_request_latency_max_ms),
                    format_duration(self.watch_reach_ms()),
                ),
            );
        }
        lines
    }
}

/// Parses a duration into milliseconds, in tokenring's grammar
/// ([`tokenring::duration`]): `7d`, `36h`, `90m`, `45s`, `1500ms`, or a sum of such parts as
/// [`format_duration`] prints them (`1d12h30m`).
///
/// # Errors
/// The [`DurationError`](tokenring::duration::DurationError) that says what is wrong.
pub fn parse_duration(text: &str) -> Result<u64, tokenring::duration::DurationError> {
    let duration = tokenring::duration::parse(text)?;
    // At most ten years: far below u64::MAX milliseconds.
    Ok(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// Formats milliseconds compactly: `7d`, `2d12h`, `1m30s`, `250ms`, `1h2m3s400ms`.
pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [("d", DAY_MS), ("h", HOUR_MS), ("m", MINUTE_MS), ("s", SECOND_MS), ("ms", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Formats a simulated instant as `+2d 03:14:05.123`.
pub fn format_instant(ms: u64) -> String {
    format!(
        "+{}d {:02}:{:02}:{:02}.{:03}",
        ms / DAY_MS,
        ms % DAY_MS / HOUR_MS,
        ms % HOUR_MS / MINUTE_MS,
        ms % MINUTE_MS / SECOND_MS,
        ms % SECOND_MS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        assert_eq!(parse_duration("7d"), Ok(7 * DAY_MS));
        assert_eq!(parse_duration("90m"), Ok(90 * MINUTE_MS));
        assert!(parse_duration("45").is_err(), "a number needs its unit");
        assert_eq!(parse_duration("1500ms"), Ok(1500));
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("3w").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
        assert_eq!(format_duration(7 * DAY_MS), "7d");
        assert_eq!(format_duration(DAY_MS + 12 * HOUR_MS + 30 * SECOND_MS), "1d12h30s");
        assert_eq!(format_duration(250), "250ms");
        assert_eq!(format_duration(HOUR_MS + 2 * MINUTE_MS + 3 * SECOND_MS + 400), "1h2m3s400ms");
        for ms in [1, 999, 1000, 36 * HOUR_MS, 100_770_255, 7 * DAY_MS + 1] {
            assert_eq!(parse_duration(&format_duration(ms)), Ok(ms), "{ms}");
        }
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("h5").is_err());
        assert_eq!(format_instant(DAY_MS + 3 * HOUR_MS + 14 * MINUTE_MS + 5 * SECOND_MS + 123), "+1d 03:14:05.123");
    }

    #[test]
    fn rotating_overlap_covers_lifetime_and_activation() {
        let config = Config::default_scenario(1, Policy::Rotating);
        assert!(config.overlap_secs() >= config.token_ttl_secs + config.leeway_secs);
        assert_eq!(config.propagation_secs(), config.reload_bound_secs());
        assert!(config.reload_bound_secs() * SECOND_MS > config.reload_interval_ms + config.store_outage_max_ms);
        let short = Config::default_scenario(1, Policy::RotatingShortOverlap);
        assert!(short.overlap_secs() < short.token_ttl_secs);
        assert!(config.skew_within_leeway());
        assert!(config.rotation_interval_ms > 2 * config.propagation_secs() * SECOND_MS);
    }

    #[test]
    fn swarm_configs_are_valid_small_and_varied() {
        let configs: Vec<Config> = (0..200).map(|seed| Config::swarm(seed, Policy::Rotating)).collect();
        for config in &configs {
            assert_eq!(config.validate(), Ok(()), "seed {}", config.seed);
            assert!(config.expected_requests() <= Config::SWARM_REQUESTS_BUDGET, "seed {}", config.seed);
            assert!(config.rotation_interval_ms >= 2 * config.propagation_secs() * SECOND_MS);
        }
        assert!(configs.iter().any(|config| config.crash_interval_mean_ms.is_none()));
        assert!(configs.iter().any(|config| config.crash_interval_mean_ms.is_some()));
        assert!(configs.iter().any(|config| !config.skew_within_leeway()));
        assert!(configs.iter().any(|config| config.attack_interval_mean_ms.is_none()));
    }

    #[test]
    fn reproduction_arguments() {
        let config = Config::default_scenario(42, Policy::Persisted);
        assert_eq!(
            config.reproduce_args().unwrap(),
            "--seed 42 --policy persisted --nodes 3 --clients 2000 --duration 7d --lb random"
        );
        let swarm = Config::swarm(9, Policy::Ephemeral);
        assert_eq!(swarm.reproduce_args().unwrap(), "--swarm --seed 9 --policy ephemeral");
        let small = Config::swarm_sized(9, Policy::Ephemeral, 2000);
        assert_eq!(small.reproduce_args().unwrap(), "--swarm --seed 9 --policy ephemeral --swarm-budget 2000");
    }
}
