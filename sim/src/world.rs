//! The simulated world: the event queue and the wiring of the components (nodes, clients,
//! the balancer, the disks, the attacker, the operator), which report what happens to the
//! checker ([`crate::checker`]), the one place invariants are judged.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::MutexGuard;

use tokenring::{
    Error, FileStore, Fingerprint, KeyError, KeyRing, Kid, Loaded, Rejection, ReloadReport, Reloaded, Rotation,
    Scratch, SharedRing, StoreError, Validation,
};

use crate::attacker::{Attacker, EdgeReplay, Material};
use crate::balancer::{Balancer, Purpose};
use crate::checker::{Checker, Observed, RingRotation, Timing};
use crate::client::{Client, HeldToken, Turn, Wake};
use crate::config::{AttackKind, Config, SECOND_MS, STORE_RETRY_MS};
use crate::disk::Disks;
use crate::etcd::Etcd;
use crate::model::{self, KeySerial, KeySetModel, Outcome, Session, Staging, TokenFacts};
use crate::network::{InFlight, Network, Sent};
use crate::node::{Node, NodeState};
use crate::operator::Operator;
use crate::queue::RadixQueue;
use crate::report::{Counters, RunReport};
use crate::rng::{ChaChaEntropy, Recording, Replay, SimRng, Stream};
use crate::store::Disk;
use crate::trace::{tail_of, Trace, TraceRecord, What};

/// Simulated time 0 is this instant (November 2023), so that timestamps look real.
pub(crate) const EPOCH_MS: u64 = 1_700_000_000_000;

/// Shortest and longest wait before a client retries when no node could serve it.
const RETRY_MIN_MS: u64 = 5 * SECOND_MS;
const RETRY_MAX_MS: u64 = 30 * SECOND_MS;
/// How long the cluster waits before trying a postponed rotation again.
const ROTATION_RETRY_MS: u64 = 30 * SECOND_MS;
/// The window after a new token in which a client's burst of requests falls.
const BURST_SPREAD_MS: u64 = 2 * SECOND_MS;
/// Gap between two nodes' stops in a rolling restart, beyond the longest downtime.
const ROLLING_GAP_EXTRA_MS: u64 = 30 * SECOND_MS;
/// Longest wait between a node finding the store empty and writing its new key set: the
/// window in which two nodes can race to create it.
const CREATE_DELAY_MAX_MS: u64 = 200;
/// Highest operation of a write at which a planned crash strikes (a save makes four, a create
/// five; a higher draw lets the write finish).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Client(u32),
    Attack,
    NodeStart {
        node: u16,
        incarnation: u32,
    },
    NodeCreate {
        node: u16,
        incarnation: u32,
    },
    NodeStop {
        node: u16,
        crash: bool,
    },
    CrashTimer {
        node: u16,
    },
    NodeReload {
        node: u16,
        incarnation: u32,
    },
    Rotation,
    /// A second rotator, on `node`, starts while the first one's update may hold the lock;
    /// `first_key`: the key the first one added, if it wrote one.
    ConcurrentRotation {
        node: u16,
        first_key: Option<KeySerial>,
    },
    RollingRestart,
    /// The client sends the token it was given at `issued_ms` once more, if it still holds it:
    /// a burst after a new token, or a to-the-end client's last request.
    OneShot {
        client: u32,
        issued_ms: u64,
    },
    /// The attacker replays a captured token in the second it expires on the node it reaches.
    EdgeReplay {
        replay: u32,
    },
    /// A running node's clock steps.
    ClockJump,
    /// A client's request reaches its node, after the network's latency.
    Arrive {
        request: u32,
    },
    /// An operator revokes a key that leaked.
    Revoke,
    /// An operator pushes a key file that does not parse (`restore`: puts the good one back).
    BadFile {
        restore: bool,
    },
    /// `etcd`: node `node`'s watch delivers an event.
    Watch {
        node: u16,
        event: WatchEvent,
    },
    /// `etcd`: an outage begins (`ended`: ends).
    EtcdOutage {
        ended: bool,
    },
}

/// What an etcd watch tells a node (as `tokenring-etcd`'s `EtcdWatch` does): each wakes the
/// node's reload machine, as every wake-up of `tokenring-axum`'s reloader does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WatchEvent {
    /// The key changed.
    Changed,
    /// The stream broke (etcd unreachable): changes may be missed.
    Lost,
    /// The stream is back after a loss.
    Resumed,
}

/// When an event happens, as the queue orders it: its time, then the order of scheduling
/// (ties in time are broken by it), so that the queue's order never depends on anything but
/// the seed. One integer, unique per event.
fn queue_key(time_ms: u64, sequence: u64) -> u128 {
    (u128::from(time_ms) << 64) | u128::from(sequence)
}

/// The time of an event's queue key.
fn time_of(key: u128) -> u64 {
    (key >> 64) as u64
}

/// How one rotator's read-modify-write ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rotated {
    /// A new key is in the store.
    Written,
    /// The newest key is fresh enough, or the ring is full: nothing to add.
    NotNeeded,
    /// Another writer held the lock for too long.
    LockedOut,
    /// The store failed, or the rotator could not rotate: try again later.
    Failed,
    /// The rotator crashed in the middle of its write.
    Crashed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }
}

/// One run's whole state.
pub(crate) struct World<'c> {
    config: &'c Config,
    validation: Validation,
    attack_kinds: Vec<AttackKind>,
    /// The staging the rings rotate with.
    rotation: Rotation,
    /// The staging the operator configured: what the oracle expects.
    staging: Staging,
    ttl_ms: u64,
    queue: RadixQueue<Event>,
    sequence: u64,
    now_ms: u64,
    nodes: Vec<Node>,
    balancer: Balancer,
    clients: Vec<Client>,
    /// The key file's disks and each node's mount of it, with the oracle's model of every
    /// document written to them.
    disks: Disks,
    faults: SimRng,
    behaviour: SimRng,
    network: SimRng,
    entropy: ChaChaEntropy,
    /// When running clocks step, and to what.
    clocks: SimRng,
    attacker: Attacker,
    next_serial: KeySerial,
    serial_by_kid: BTreeMap<Kid, KeySerial>,
    cluster_kids: Vec<Kid>,
    scratch: Scratch,
    trace: Trace,
    /// The buffer of [`World::log_rejection`].
    rejection_line: String,
    counters: Counters,
    /// Owns every invariant: the world reports to it what happened.
    checker: Checker<'c>,
    /// Revokes a leaked key, pushes a broken key file.
    operator: Operator,
    /// Clients logged out by a rejection at least once.
    logged_out: std::collections::BTreeSet<u32>,
    /// How fast each node's clock drifts, drawn at its start.
    drift: SimRng,
    /// The requests on their way from the clients to the nodes.
    wire: Network,
    /// `etcd`: the simulated etcd the nodes' rings are kept in (the disks hold none then).
    etcd: Option<Etcd>,
    /// `etcd`: when the watch delivers each event to each node.
    watch: SimRng,
    /// The serial of the key the last attempt of a rotator's change added, if it added one.
    rotated_serial: Option<KeySerial>,
}

impl core::fmt::Debug for World<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("World").field("now_ms", &self.now_ms).field("seed", &self.config.seed).finish_non_exhaustive()
    }
}

impl<'c> World<'c> {
    pub(crate) fn new(config: &'c Config) -> Self {
        let seed = config.seed;
        let mut faults = SimRng::new(seed, Stream::Faults);
        let disks = Disks::new(config, &mut faults);
        let etcd = config.policy.uses_etcd().then(|| {
            let latency = SimRng::new(seed, Stream::EtcdLatency);
            Etcd::new(disks.outages.clone(), latency, config.etcd_request_latency_max_ms)
        });
        let mut behaviour = SimRng::new(seed, Stream::Clients);
        let clients = (0..config.clients).map(|_| Client::new(&mut behaviour, config)).collect();
        Self {
            config,
            validation: Validation::new().leeway_secs(config.leeway_secs),
            attack_kinds: config.attack_kinds(),
            rotation: Rotation::new()
                .propagation_secs(config.propagation_secs())
                .overlap_secs(config.overlap_secs())
                .forget_after_secs(config.forget_after_secs),
            staging: Staging {
                propagation_secs: config.propagation_secs(),
                overlap_secs: config.overlap_secs(),
                forget_after_secs: config.forget_after_secs,
            },
            ttl_ms: config.token_ttl_secs * SECOND_MS,
            queue: RadixQueue::new(),
            sequence: 0,
            now_ms: 0,
            nodes: (0..config.nodes).map(|_| Node::new()).collect(),
            balancer: Balancer::new(config.load_balancing),
            clients,
            disks,
            faults,
            behaviour,
            network: SimRng::new(seed, Stream::Network),
            entropy: ChaChaEntropy::new(seed, Stream::Keys),
            clocks: SimRng::new(seed, Stream::Clocks),
            attacker: Attacker::new(
                SimRng::new(seed, Stream::Attacker),
                ChaChaEntropy::new(seed, Stream::AttackerKeys),
            ),
            next_serial: 1,
            serial_by_kid: BTreeMap::new(),
            cluster_kids: Vec::new(),
            scratch: Scratch::new(),
            trace: Trace::new(),
            rejection_line: String::new(),
            counters: Counters::default(),
            checker: Checker::new(config),
            operator: Operator::default(),
            logged_out: std::collections::BTreeSet::new(),
            drift: SimRng::new(seed, Stream::Drift),
            wire: Network::new(SimRng::new(seed, Stream::Latency), config.latency_max_ms),
            etcd,
            watch: SimRng::new(seed, Stream::Watch),
            rotated_serial: None,
        }
    }

    /// Runs to the end of the configured duration.
    pub(crate) fn run(mut self) -> RunReport {
        // The library's canary, on this thread only (the core's selection is per thread).
        #[cfg(feature = "canaries")]
        let armed_before = tokenring::canary::arm(self.config.canary);
        self.schedule_start();
        self.run_until(self.config.duration_ms);
        #[cfg(feature = "canaries")]
        tokenring::canary::arm(armed_before);
        let events = self.trace.events();
        self.counters.lock_waits = self.disks.lock_waits();
        if let Some(etcd) = &self.etcd {
            self.counters.swap_conflicts = etcd.conflicts();
        }
        let (violations, first_violation) = self.checker.finish(&mut self.counters);
        RunReport {
            config: self.config.clone(),
            counters: self.counters,
            violations,
            first_violation,
            trace_hash: self.trace.hash_hex(),
            events,
        }
    }

    /// Handles every event up to `end_ms`.
    fn run_until(&mut self, end_ms: u64) {
        while let Some((key, event)) = self.queue.pop() {
            let time_ms = time_of(key);
            if time_ms > end_ms {
                // Back in its place (the queue takes a key equal to the last one popped).
                self.queue.push(key, event);
                break;
            }
            debug_assert!(time_ms >= self.now_ms, "time never goes backwards");
            self.now_ms = time_ms;
            self.handle(event);
        }
    }

    /// Schedules `event` at `time_ms`, which is never before now.
    fn schedule(&mut self, time_ms: u64, event: Event) {
        self.sequence += 1;
        self.queue.push(queue_key(time_ms, self.sequence), event);
    }

    fn schedule_start(&mut self) {
        let config = self.config;
        for node in 0..config.nodes {
            let at = self.faults.below(2 * SECOND_MS);
            self.schedule(at, Event::NodeStart { node, incarnation: 0 });
            if let Some(mean) = config.crash_interval_mean_ms {
                let at = self.faults.exponential(mean);
                self.schedule(at, Event::CrashTimer { node });
            }
        }
        for client in 0..config.clients {
            let at = self.behaviour.below(config.session_idle_mean_ms.max(1));
            self.schedule(at, Event::Client(client));
        }
        if let Some(interval) = config.rolling_restart_interval_ms {
            let at = self.faults.between(interval / 2, interval);
            self.schedule(at, Event::RollingRestart);
        }
        for &(at, node) in &config.scheduled_restarts {
            if node < config.nodes {
                self.schedule(at, Event::NodeStop { node, crash: false });
            }
        }
        if config.policy.rotates() {
            self.schedule(config.rotation_interval_ms, Event::Rotation);
        }
        if let Some(mean) = config.attack_interval_mean_ms {
            let at = self.attacker.rng().exponential(mean);
            self.schedule(at, Event::Attack);
        }
        if let Some(mean) = config.clock_jump_interval_mean_ms {
            let at = self.clocks.exponential(mean);
            self.schedule(at, Event::ClockJump);
        }
        if config.policy.rotates() {
            if let Some(at) = config.revocation_at_ms {
                self.schedule(at, Event::Revoke);
            }
            if let Some((at, _)) = config.bad_file {
                self.schedule(at, Event::BadFile { restore: false });
            }
        }
        if let Some(etcd) = &self.etcd {
            for (start, end) in etcd.outages() {
                self.schedule(start, Event::EtcdOutage { ended: false });
                self.schedule(end, Event::EtcdOutage { ended: true });
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Client(client) => self.on_client(client),
            Event::Attack => self.on_attack(),
            Event::NodeStart { node, incarnation } => self.start_node(usize::from(node), incarnation),
            Event::NodeCreate { node, incarnation } => self.create_key_set(usize::from(node), incarnation),
            Event::NodeStop { node, crash } => self.stop_node(usize::from(node), crash),
            Event::CrashTimer { node } => {
                if let Some(mean) = self.config.crash_interval_mean_ms {
                    let at = self.now_ms + self.faults.exponential(mean);
                    self.schedule(at, Event::CrashTimer { node });
                }
                self.stop_node(usize::from(node), true);
            }
            Event::NodeReload { node, incarnation } => self.poll_tick(usize::from(node), incarnation),
            Event::Rotation => self.rotate(),
            Event::ConcurrentRotation { node, first_key } => self.concurrent_rotation(usize::from(node), first_key),
            Event::OneShot { client, issued_ms } => self.one_shot(client, issued_ms),
            Event::EdgeReplay { replay } => self.edge_replay(replay),
            Event::Revoke => self.revoke(),
            Event::ClockJump => self.clock_jump(),
            Event::Arrive { request } => self.arrive(request),
            Event::BadFile { restore } => self.push_bad_file(restore),
            Event::Watch { node, event } => self.on_watch(usize::from(node), event),
            Event::EtcdOutage { ended } => self.etcd_outage(ended),
            Event::RollingRestart => {
                self.rolling_restart(self.now_ms);
                if let Some(interval) = self.config.rolling_restart_interval_ms {
                    self.schedule(self.now_ms + interval, Event::RollingRestart);
                }
            }
        }
    }

    /// Stops every node in turn from `from_ms`, each after the previous one is back.
    fn rolling_restart(&mut self, from_ms: u64) {
        let gap = self.config.downtime_max_ms + ROLLING_GAP_EXTRA_MS;
        for node in 0..self.config.nodes {
            self.schedule(from_ms + u64::from(node) * gap, Event::NodeStop { node, crash: false });
        }
    }

    // ---------------------------------------------------------------- oracle and logs

    /// Writes a node log line, which the checker reads (invariant 4).
    fn log(&mut self, level: Level, line: &str, from_honest_client: bool) {
        self.checker.observe(self.now_ms, &self.trace, Observed::LogLine { level: level.as_str(), line });
        match level {
            Level::Info => self.counters.info_lines += 1,
            Level::Warn => {
                self.counters.warn_lines += 1;
                if from_honest_client {
                    self.counters.warn_lines_honest += 1;
                }
            }
            Level::Error => self.counters.error_lines += 1,
        }
    }

    /// Writes the node's log line for a rejected token, in a buffer reused from line to line
    /// (a rejection per request is common: every re-login under `ephemeral`).
    fn log_rejection(
        &mut self,
        level: Level,
        node: usize,
        rejection: &Rejection,
        token: &str,
        from_honest_client: bool,
    ) {
        let mut line = core::mem::take(&mut self.rejection_line);
        line.clear();
        // Writing to a `String` cannot fail.
        let _ =
            write!(line, "{} node={node} token rejected fp={}: {rejection}", level.as_str(), Fingerprint::of(token));
        self.log(level, &line, from_honest_client);
        self.rejection_line = line;
    }

    fn record(&mut self, what: What, node: usize, actor: u32) {
        let mut record = TraceRecord::new(self.now_ms, what);
        record.node = node as u16;
        record.actor = actor;
        self.trace.record(record);
    }

    // ---------------------------------------------------------------- time and keys

    /// The node's clock, in whole seconds since the epoch.
    fn local_secs(&self, node: usize) -> u64 {
        self.nodes[node].local_secs(self.now_ms)
    }

    /// The attacker's (and the clients') clock: true time.
    fn true_secs(&self) -> u64 {
        (EPOCH_MS + self.now_ms) / SECOND_MS
    }

    /// Gives a new cluster key its serial and registers its secret (invariant 4).
    fn register_cluster_ring(&mut self, ring: &KeyRing, kid: Kid) -> KeySerial {
        let serial = self.next_serial;
        self.next_serial += 1;
        self.serial_by_kid.insert(kid, serial);
        self.cluster_kids.push(kid);
        let jwk_set = ring.to_jwk_set();
        self.checker.observe(self.now_ms, &self.trace, Observed::ClusterKey { jwk_set: &jwk_set });
        serial
    }

    /// A fresh ring from the node's entropy, with its model.
    fn generate_ring(&mut self, node: usize) -> Option<(KeyRing, KeySetModel)> {
        let now_secs = self.local_secs(node);
        let ring = match KeyRing::generate_with(&mut self.entropy, now_secs) {
            Ok(ring) => ring,
            Err(error) => {
                let observed = Observed::LibraryFailed { node, call: "key generation", error: &error };
                self.checker.observe(self.now_ms, &self.trace, observed);
                return None;
            }
        };
        let Some(kid) = ring.active_kid(now_secs) else {
            let observed = Observed::StartFailed { node, reason: "the ring it generated has no key to sign with" };
            self.checker.observe(self.now_ms, &self.trace, observed);
            return None;
        };
        let serial = self.register_cluster_ring(&ring, kid);
        Some((ring, KeySetModel::generated(serial, kid, now_secs)))
    }

    /// The disk node `node`'s key file is on, with its clock set to now.
    fn disk(&self, node: usize) -> MutexGuard<'_, Disk> {
        self.disks.at(node, self.now_ms)
    }

    /// Node `node`'s `FileStore`, its disk's clock set to now.
    fn file_store(&self, node: usize) -> FileStore {
        self.disks.store(node, self.now_ms)
    }

    /// Starts a call of node `node` to its store at now: sets its disk's clock, or its clock
    /// with etcd.
    fn begin_store_call(&self, node: usize) {
        match &self.etcd {
            Some(etcd) => etcd.begin_call(node, self.now_ms),
            None => drop(self.disk(node)),
        }
    }

    /// Node `node`'s clock in its current store call: moved on by its syncs and lock waits on
    /// a disk, by its requests' round trips with etcd.
    fn store_clock_ms(&self, node: usize) -> u64 {
        match &self.etcd {
            Some(etcd) => etcd.clock_ms(node),
            None => self.disks.clock_ms(node),
        }
    }

    /// The document node `node`'s store holds now, whatever the faults (the ground truth).
    fn store_value(&self, node: usize) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        match &self.etcd {
            Some(etcd) => etcd.value(),
            None => self.disks.key_file(node),
        }
    }

    /// The oracle's model of the key set `ring` was read from, if a writer wrote it.
    fn model_of(&self, ring: &KeyRing) -> Option<KeySetModel> {
        self.disks.documents.of_ring(ring)
    }

    /// Records the model of the document `ring` is written as, before it is written.
    fn register_document(&mut self, ring: &KeyRing, model: KeySetModel) {
        self.disks.documents.register(ring, model);
    }

    /// The model of the ring `shared` holds now, reported to the checker.
    fn model_of_shared(&mut self, node: usize, shared: &SharedRing) -> Option<KeySetModel> {
        let model = self.model_of(&shared.ring());
        let observed = Observed::KeySetRead { node, verb: "loaded", model: model.as_ref() };
        self.checker.observe(self.now_ms, &self.trace, observed);
        model
    }

    /// Reports to the checker what node `node`'s ring holds beside the model of it.
    fn check_agreement(&mut self, node: usize, ring: &KeyRing, model: &KeySetModel, when: &'static str) {
        let now_secs = self.local_secs(node);
        self.checker.observe(self.now_ms, &self.trace, Observed::Holds { node, ring, model, now_secs, when });
    }

    /// Plans, by the configured chance, a crash of `writer` in its next write, and an outside
    /// holder of the lock.
    fn plan_write_faults(&mut self, writer: usize) {
        self.disks.plan_write_faults(writer, self.now_ms, &mut self.faults, self.config);
    }

    /// After a write call of `writer`: whether it crashed, and whether the key file changed.
    /// A changed file is published to the mounts (after a propagation delay per node; the
    /// writer sees it at once) and reported to the checker with the models of the file it
    /// replaced and of the new one.
    fn end_write(&mut self, writer: usize) -> (bool, bool) {
        if self.etcd.is_some() {
            let commits = self.publish_commits();
            return (false, commits.iter().any(|&(by, _)| by == Some(writer)));
        }
        // When its last operation landed: the mounts show the new file from then on.
        let landed_ms = self.disks.clock_ms(writer);
        // The writer's clock when it changed the ring: when it took the lock, if it did.
        let changed_at_ms = self.disk(writer).locked_at_ms(writer).unwrap_or(self.now_ms);
        let crashed = self.disk(writer).end_call(writer);
        let mut disk = self.disk(writer);
        let Some(previous) = disk.publish(Vec::new()) else { return (crashed, false) };
        let current = disk.key_file().map(|bytes| zeroize::Zeroizing::new(bytes.to_vec()));
        let temp_files = disk.temp_files();
        drop(disk);
        self.disks.delay_propagation(writer, landed_ms, self.nodes.len(), &mut self.faults, self.config);
        let now_secs = self.nodes[writer].local_secs(changed_at_ms);
        let documents = &self.disks.documents;
        let before = previous.as_deref().and_then(|bytes| documents.of_document(bytes));
        let file = current.as_deref().map(|current| documents.of_document(current));
        let observed = Observed::WriteEnded { writer, crashed, temp_files, file, before, now_secs };
        self.checker.observe(self.now_ms, &self.trace, observed);
        (crashed, true)
    }

    /// `etcd`: the commits since the last call, each reported to the checker with the models
    /// of the value it replaced and of the new one (a node's; an operator's put is the
    /// operator's), and sent by the watch to every node, which receives it after a watch
    /// latency unless an outage breaks the stream first. The writer and the time of each.
    fn publish_commits(&mut self) -> Vec<(Option<usize>, u64)> {
        let Some(etcd) = self.etcd.clone() else { return Vec::new() };
        let commits = etcd.take_commits();
        for commit in &commits {
            if let Some(writer) = commit.writer {
                let documents = &self.disks.documents;
                let before = commit.before.as_deref().and_then(|bytes| documents.of_document(bytes));
                let file = Some(documents.of_document(&commit.document));
                let now_secs = self.nodes[writer].local_secs(commit.at_ms);
                let observed = Observed::WriteEnded { writer, crashed: false, temp_files: 0, file, before, now_secs };
                self.checker.observe(self.now_ms, &self.trace, observed);
            }
            for node in 0..self.nodes.len() {
                let at = commit.at_ms + self.watch.between(0, self.config.watch_latency_max_ms);
                if etcd.broken_between(commit.at_ms, at) {
                    self.counters.watch_events_lost += 1;
                    continue;
                }
                self.schedule(at.max(self.now_ms), Event::Watch { node: node as u16, event: WatchEvent::Changed });
            }
        }
        commits.iter().map(|commit| (commit.writer, commit.at_ms)).collect()
    }

    /// `etcd`: an outage begins or ends. Every node's watch stream breaks (`Lost`) or comes
    /// back (`Resumed`), each node learning it after a watch latency.
    fn etcd_outage(&mut self, ended: bool) {
        if !ended {
            self.counters.etcd_outages += 1;
        }
        let event = if ended { WatchEvent::Resumed } else { WatchEvent::Lost };
        for node in 0..self.nodes.len() {
            let at = self.now_ms + self.watch.between(0, self.config.watch_latency_max_ms);
            self.schedule(at, Event::Watch { node: node as u16, event });
        }
    }

    /// `etcd`: node `node`'s watch delivers `event`, which wakes its reload machine (as every
    /// wake-up of `tokenring-axum`'s reloader does); the poll goes on beside it.
    fn on_watch(&mut self, node: usize, event: WatchEvent) {
        if !self.nodes[node].is_up() {
            return;
        }
        let Some(shared) = self.nodes[node].ring.clone() else { return };
        match event {
            WatchEvent::Changed => self.counters.watch_changes += 1,
            WatchEvent::Lost => self.counters.watch_losses += 1,
            WatchEvent::Resumed => self.counters.watch_resumptions += 1,
        }
        let _ = self.reload_node(node, &shared);
    }

    fn count_write_crash(&mut self, node: usize, new_survived: bool) {
        if new_survived {
            self.counters.write_crashes_new_survived += 1;
        } else {
            self.counters.write_crashes_old_survived += 1;
        }
        self.record(What::WriteCrash { new_survived }, node, crate::trace::NONE_U32);
    }

    // ---------------------------------------------------------------- node lifecycle

    fn start_node(&mut self, node: usize, incarnation: u32) {
        if self.nodes[node].incarnation != incarnation || self.nodes[node].is_up() {
            return;
        }
        if self.nodes[node].state == NodeState::Down {
            // A restarted machine's clock is off by a new amount.
            let skew_max = i64::try_from(self.config.clock_skew_max_ms).unwrap_or(i64::MAX / 4);
            let draw = self.network.below(2 * skew_max.unsigned_abs() + 1);
            let drift_max = i64::try_from(self.config.clock_drift_ppm_max).unwrap_or(0);
            let drift_ppm = i64::try_from(self.drift.below(2 * drift_max.unsigned_abs() + 1)).unwrap_or(0) - drift_max;
            self.nodes[node].boot(i64::try_from(draw).unwrap_or(0) - skew_max, drift_ppm, self.now_ms);
            // A new pod's volume shows the key file as it is when the pod starts.
            if self.config.policy.uses_key_file() {
                self.disk(node).refresh_mount(node);
            }
        }
        if !self.config.policy.uses_store() {
            if let Some((ring, model)) = self.generate_ring(node) {
                self.bring_up(node, SharedRing::new(ring), model);
            }
            return;
        }
        // The process boots, then opens its key file: a little later, so that nodes starting
        // together race to create it.
        let at = self.now_ms + self.faults.between(1, CREATE_DELAY_MAX_MS);
        self.schedule(at, Event::NodeCreate { node: node as u16, incarnation });
    }

    /// A running node's clock steps to a new offset within the skew bound, forward or back
    /// (an NTP correction): its ring, its reload machine and its verifications see time jump.
    fn clock_jump(&mut self) {
        if let Some(mean) = self.config.clock_jump_interval_mean_ms {
            let at = self.now_ms + self.clocks.exponential(mean);
            self.schedule(at, Event::ClockJump);
        }
        let node = self.clocks.below(self.nodes.len() as u64) as usize;
        let skew_max = i64::try_from(self.config.clock_skew_max_ms).unwrap_or(i64::MAX / 4);
        let draw = self.clocks.below(2 * skew_max.unsigned_abs() + 1);
        if !self.nodes[node].is_up() {
            return;
        }
        let skew_ms = i64::try_from(draw).unwrap_or(0) - skew_max;
        let forward = skew_ms >= self.nodes[node].clock_error_ms(self.now_ms);
        self.nodes[node].step_clock(skew_ms, self.now_ms);
        self.counters.clock_jumps += 1;
        self.record(What::ClockJump { forward }, node, crate::trace::NONE_U32);
    }

    /// The store is unavailable: the node must not invent a key. It stays down and retries.
    fn defer_start(&mut self, node: usize, incarnation: u32) {
        self.counters.starts_deferred += 1;
        if self.config.policy.uses_key_file() && self.disk(node).is_unmounted(node) {
            self.counters.starts_refused_unmounted += 1;
        }
        self.record(What::StartDeferred, node, crate::trace::NONE_U32);
        self.log(
            Level::Error,
            &format!("ERROR node={node} key store unavailable; not starting, retrying in 5s"),
            false,
        );
        self.schedule(self.now_ms + STORE_RETRY_MS, Event::NodeStart { node: node as u16, incarnation });
    }

    /// What a service does at start: `SharedRing::open_or_create_with` on the node's key file,
    /// which loads the key set, or creates it if there is none (the one another node created
    /// meanwhile wins the race).
    fn create_key_set(&mut self, node: usize, incarnation: u32) {
        if !self.nodes[node].is(incarnation, NodeState::Starting) {
            return;
        }
        self.plan_write_faults(node);
        // The node's store: its key file, or its client of etcd.
        let etcd_store = self.etcd.as_ref().map(|etcd| etcd.store(node, self.now_ms));
        let file_store = etcd_store.is_none().then(|| self.file_store(node));
        let now_secs = self.local_secs(node);
        let mut recording = Recording::new(&mut self.entropy);
        let result = match (etcd_store, file_store) {
            (Some(store), _) => SharedRing::open_or_create_with(store, &mut recording, now_secs),
            (None, Some(store)) => SharedRing::open_or_create_with(store, &mut recording, now_secs),
            (None, None) => return,
        };
        let drawn = core::mem::take(&mut recording.drawn);
        if !drawn.is_empty() {
            // The ring the call generated, whether or not it reached the disk: registered
            // before the oracle looks at the disk.
            match KeyRing::generate_with(&mut Replay::new(&drawn), now_secs) {
                Ok(ring) => {
                    if let Some(kid) = ring.active_kid(now_secs) {
                        let serial = self.register_cluster_ring(&ring, kid);
                        self.register_document(&ring, KeySetModel::generated(serial, kid, now_secs));
                    }
                }
                Err(error) => {
                    let observed = Observed::LibraryFailed { node, call: "key generation", error: &error };
                    self.checker.observe(self.now_ms, &self.trace, observed);
                }
            }
        }
        // A created file reaches the other nodes' mounts after a delay, like any write: a node
        // starting meanwhile finds none, creates its own, and loses the race to this one.
        let (crashed, changed) = self.end_write(node);
        if crashed {
            self.count_write_crash(node, changed);
            return self.stop_node(node, true);
        }
        match result {
            Ok((shared, loaded)) => {
                if loaded == Loaded::Created {
                    self.counters.creates += 1;
                    self.record(What::Created, node, crate::trace::NONE_U32);
                } else if !drawn.is_empty() {
                    // Another node won the race: use its key set, so that both sign alike.
                    self.counters.creates_lost_race += 1;
                }
                if let Some(model) = self.model_of_shared(node, &shared) {
                    self.bring_up(node, shared, model);
                }
            }
            Err(Error::Store(StoreError::Corrupt { error, .. } | StoreError::DocumentCorrupt { error, .. })) => {
                if self.corrupt_read(node, &error) {
                    self.defer_start(node, incarnation);
                }
            }
            Err(_) => self.defer_start(node, incarnation),
        }
    }

    fn bring_up(&mut self, node: usize, shared: SharedRing, model: KeySetModel) {
        self.check_agreement(node, &shared.ring(), &model, "at start");
        let now_secs = self.local_secs(node);
        let key_count = model.key_count();
        let kid = shared.ring().active_kid(now_secs);
        let booted_ms = self.nodes[node].booted_ms;
        self.checker.observe(self.now_ms, &self.trace, Observed::NodeUp { node, model: &model, booted_ms });
        self.nodes[node].come_up(shared, model);
        let incarnation = self.nodes[node].incarnation;
        self.counters.node_starts += 1;
        self.record(What::NodeUp, node, crate::trace::NONE_U32);
        let active = kid.map(|kid| kid.to_string()).unwrap_or_default();
        self.log(Level::Info, &format!("INFO node={node} up: {key_count} keys, active kid={active}"), false);
        if self.config.policy.rotates() {
            let at = self.now_ms + self.reload_delay();
            self.schedule(at, Event::NodeReload { node: node as u16, incarnation });
        }
    }

    fn stop_node(&mut self, node: usize, crash: bool) {
        if !self.nodes[node].stop() {
            return;
        }
        let incarnation = self.nodes[node].incarnation;
        if crash {
            self.counters.crashes += 1;
        } else {
            self.counters.planned_stops += 1;
        }
        self.record(What::NodeStopped { crash }, node, crate::trace::NONE_U32);
        let downtime = self.faults.between(self.config.downtime_min_ms, self.config.downtime_max_ms);
        self.schedule(self.now_ms + downtime, Event::NodeStart { node: node as u16, incarnation });
    }

    fn reload_delay(&mut self) -> u64 {
        let interval = self.config.reload_interval_ms;
        self.faults.between(interval - interval / 10, interval + interval / 10)
    }

    /// A node's poll tick: a reload ([`World::reload_node`]), then the next tick; after a
    /// failed read, a retry sooner. Under `etcd` the watch wakes the same reload besides, and
    /// the poll is the backstop.
    fn poll_tick(&mut self, node: usize, incarnation: u32) {
        if !self.nodes[node].is(incarnation, NodeState::Up) {
            return;
        }
        let Some(shared) = self.nodes[node].ring.clone() else { return };
        let next_ms = match self.reload_node(node, &shared) {
            // A read under way (never in the simulation: reads return at once).
            None => self.now_ms + self.reload_delay(),
            Some(false) => self.now_ms + STORE_RETRY_MS,
            Some(true) => {
                let mut at = self.now_ms + self.reload_delay();
                if self.config.reload_stall_per_mille > 0 && self.faults.chance(self.config.reload_stall_per_mille) {
                    self.counters.reload_stalls += 1;
                    at += self.faults.between(0, self.config.reload_stall_max_ms);
                }
                at
            }
        };
        self.schedule(next_ms, Event::NodeReload { node: node as u16, incarnation });
    }

    /// Wakes node `node`'s reload machine (a poll tick, a watch event) and runs the read it
    /// asks for: `SharedRing::reload` on the node's store, which swaps in a changed document
    /// that parses and keeps the last good ring otherwise. `None`: the machine asked for no
    /// read; `Some(false)`: the store failed; `Some(true)`: the node holds the ring it read, or
    /// kept its ring over a document it cannot use.
    fn reload_node(&mut self, node: usize, shared: &SharedRing) -> Option<bool> {
        self.begin_store_call(node);
        let now_secs = self.local_secs(node);
        let read = self.nodes[node].reloader.wake(now_secs).read?;
        let result = shared.reload();
        let finished = |world: &mut Self, result| {
            let step = world.nodes[node].reloader.read_finished(read, now_secs, result);
            match step.report {
                // The machine's words, checked for secrets like every log line (invariant 4).
                Some(ReloadReport::Failed { error, repeated: false, .. }) => {
                    world.counters.reload_failures_reported += 1;
                    world.log(Level::Error, &format!("ERROR node={node} key set reload failed: {error}"), false);
                }
                Some(ReloadReport::Unchanged { recovered: true }) => world.counters.reload_recoveries += 1,
                _ => {}
            }
        };
        match result {
            Ok(Reloaded::Unchanged) => finished(self, result),
            Ok(_) => {
                if let Some(model) = self.model_of_shared(node, shared) {
                    self.nodes[node].model = model;
                }
                finished(self, result);
            }
            Err(StoreError::NotFound { .. } | StoreError::DocumentNotFound { .. }) => {
                let observed = Observed::KeyFileMissing { node, when: "after start" };
                self.checker.observe(self.now_ms, &self.trace, observed);
                finished(self, result);
            }
            Err(StoreError::Corrupt { ref error, .. } | StoreError::DocumentCorrupt { ref error, .. }) => {
                // The last good ring stays; a broken file the operator pushed explains it.
                self.corrupt_read(node, error);
                finished(self, result);
            }
            Err(_) => {
                finished(self, result);
                self.counters.reloads_failed += 1;
                return Some(false);
            }
        }
        let model = self.nodes[node].model.clone();
        self.check_agreement(node, &shared.ring(), &model, "after reload");
        self.record(What::Reload, node, crate::trace::NONE_U32);
        Some(true)
    }

    /// A read found a key file that does not parse, reported to the checker. True while the
    /// operator's broken file may be on a mount: the node then retries.
    fn corrupt_read(&mut self, node: usize, error: &tokenring::KeySetError) -> bool {
        self.checker.observe(self.now_ms, &self.trace, Observed::Unparsable { node, error });
        if self.operator.broken_file_possible(self.now_ms) {
            self.counters.bad_file_reads += 1;
            return true;
        }
        false
    }

    // ---------------------------------------------------------------- operator

    /// An operator revokes a key that leaked, through a node's `SharedRing::update` (its admin
    /// endpoint): the newest key that no longer signs, if the ring holds one.
    fn revoke(&mut self) {
        let up: Vec<usize> = (0..self.nodes.len()).filter(|&node| self.nodes[node].is_up()).collect();
        let Some(&node) = self.faults.pick(&up) else {
            return self.schedule(self.now_ms + ROTATION_RETRY_MS, Event::Revoke);
        };
        let Some(shared) = self.nodes[node].ring.clone() else { return };
        self.plan_write_faults(node);
        if let Some(etcd) = &self.etcd {
            etcd.begin_call(node, self.now_ms);
        }
        let mut revoked = None;
        let result = shared.update(|ring| {
            // The node's clock when it holds the lock, or when its read came back.
            let now_secs = self.nodes[node].local_secs(self.store_clock_ms(node));
            let Some(mut model) = self.model_of(ring) else { return Ok(()) };
            let Some(kid) = Operator::leaked_key(&model, now_secs) else { return Ok(()) };
            ring.revoke(&kid, now_secs)?;
            revoked = model.revoke(kid, now_secs).map(|serial| (serial, kid));
            self.register_document(ring, model);
            Ok(())
        });
        let (crashed, changed) = self.end_write(node);
        if crashed {
            self.count_write_crash(node, changed);
            self.stop_node(node, true);
        }
        if let Some(model) = self.model_of_shared(node, &shared) {
            self.nodes[node].model = model;
        }
        // Whether the revocation reached the key file, whatever the call returned (a crash may
        // strike after the rename).
        let current = self.store_value(node);
        let documents = &self.disks.documents;
        let landed = revoked.filter(|(_, kid)| {
            current
                .as_deref()
                .and_then(|current| documents.of_document(current))
                .is_some_and(|model| model.revoked(*kid).is_some())
        });
        match (result, landed) {
            (_, Some((serial, _))) => {
                self.counters.revocations += 1;
                self.checker.observe(self.now_ms, &self.trace, Observed::Revoked { serial });
                self.record(What::Revocation, node, serial);
                self.log(Level::Warn, &format!("WARN node={node} key revoked by the operator"), false);
                if !crashed {
                    let model = self.nodes[node].model.clone();
                    self.check_agreement(node, &shared.ring(), &model, "after revocation");
                }
            }
            // Nothing to revoke (no key but the signer): the operator is done.
            (Ok(()), None) if revoked.is_none() => {}
            // The store failed, or the node crashed first: the operator tries again.
            _ => self.schedule(self.now_ms + ROTATION_RETRY_MS, Event::Revoke),
        }
    }

    /// An operator pushes a key file that does not parse (a Secret applied with a typo), then
    /// puts the good one back: nodes must keep the ring they have.
    fn push_bad_file(&mut self, restore: bool) {
        let Some((_, length_ms)) = self.config.bad_file else { return };
        let (now_ms, visible_max_ms) = (self.now_ms, self.config.store_visibility_max_ms());
        if let Some(etcd) = self.etcd.clone() {
            // `etcdctl put` of a value with a typo, then of the good one.
            let current = etcd.value();
            let Some(value) =
                self.operator.replacement(current.as_deref().map(Vec::as_slice), restore, now_ms, visible_max_ms)
            else {
                return;
            };
            etcd.put(&value, now_ms);
            self.publish_commits();
        } else {
            let pushed = self.operator.push(&mut self.disks.at(0, now_ms), restore, now_ms, visible_max_ms);
            if !pushed {
                return;
            }
            self.delay_propagation(usize::MAX);
        }
        self.record(What::BadFile { restore }, crate::trace::NONE_U16 as usize, crate::trace::NONE_U32);
        self.checker.observe(self.now_ms, &self.trace, Observed::BadFile { restore });
        if !restore {
            self.schedule(self.now_ms + length_ms, Event::BadFile { restore: true });
        }
    }

    // ---------------------------------------------------------------- rotation

    /// A scheduled rotation: a random node that is up runs `rotate_if_older_than` through
    /// its `SharedRing::update` on its disk. Sometimes a second rotator (another node's timer,
    /// a deploy pipeline) starts on another node while the first one's update still holds the
    /// lock in simulated time (its syncs take time): see [`World::concurrent_rotation`].
    fn rotate(&mut self) {
        let up: Vec<usize> = (0..self.nodes.len()).filter(|&node| self.nodes[node].is_up()).collect();
        let Some(&leader) = self.faults.pick(&up) else {
            return self.defer_rotation(crate::trace::NONE_U16 as usize);
        };
        let mut second = None;
        if self.faults.chance(self.config.concurrent_rotation_per_mille) {
            let others: Vec<usize> = up.iter().copied().filter(|&node| node != leader).collect();
            second = self.faults.pick(&others).copied();
        }
        let newest_before = self.nodes[leader].model.keys().last().map(|key| key.serial);
        let (first, landed_ms) = self.rotate_at(leader);
        if let Some(other) = second {
            // The second rotator starts while the first one's update is under way.
            let at = self.faults.between(self.now_ms, landed_ms.max(self.now_ms));
            let added = self.nodes[leader]
                .model
                .keys()
                .last()
                .map(|key| key.serial)
                .filter(|&serial| first == Rotated::Written && Some(serial) != newest_before);
            self.counters.concurrent_rotations += 1;
            self.schedule(at, Event::ConcurrentRotation { node: other as u16, first_key: added });
        }
        if first == Rotated::Written {
            if let Some(serial) = self.nodes[leader].model.keys().last().map(|key| key.serial) {
                self.checker.observe(self.now_ms, &self.trace, Observed::RotationLanded { serial, landed_ms });
            }
            if self.config.restart_during_rotation {
                // A deploy started while the new key propagates: a rolling restart, once.
                self.counters.restarts_during_rotation += 1;
                self.rolling_restart(landed_ms);
            }
        }
        if matches!(first, Rotated::Failed | Rotated::LockedOut | Rotated::Crashed) {
            return self.defer_rotation(leader);
        }
        self.schedule(self.now_ms + self.config.rotation_interval_ms, Event::Rotation);
    }

    /// The second rotator, on node `node`, starts its own `SharedRing::update` while the first
    /// one's may still hold the lock in simulated time: the store's retries wait for it in the
    /// disk's time (`Storage::wait`), get it, re-read the key file and find the first one's key
    /// (`first_key`, if it wrote one), and the checker makes sure it was not lost.
    fn concurrent_rotation(&mut self, node: usize, first_key: Option<KeySerial>) {
        if !self.nodes[node].is_up() {
            return;
        }
        let (outcome, _) = self.rotate_at(node);
        let Some(serial) = first_key else { return };
        if matches!(outcome, Rotated::Written | Rotated::NotNeeded) {
            // The update succeeded: the ring it reloaded holds the first rotator's key.
            let holds = self.nodes[node].model.held_serial(serial).is_some();
            let observed = Observed::ConcurrentUpdateEnded { node, first_key: serial, holds };
            self.checker.observe(self.now_ms, &self.trace, observed);
        }
    }

    /// One rotator's `SharedRing::update`: how it ended, and when its last write landed (its
    /// disk's clock, moved on by its syncs and its waits for the lock).
    fn rotate_at(&mut self, rotator: usize) -> (Rotated, u64) {
        let Some(shared) = self.nodes[rotator].ring.clone() else { return (Rotated::Failed, self.now_ms) };
        self.rotated_serial = None;
        let (result, landed_ms) = match self.etcd.clone() {
            Some(etcd) => {
                // `SharedRing::update`: the core's `update_by_swap` (read, rotate, swap at the
                // revision read, again on a conflict), then a reload.
                etcd.begin_call(rotator, self.now_ms);
                let result = shared.update(|ring| Ok(self.rotate_ring(rotator, ring)));
                let commits = self.publish_commits();
                let own = commits.iter().rev().find(|&&(writer, _)| writer == Some(rotator));
                (result, own.map_or_else(|| etcd.clock_ms(rotator), |&(_, at_ms)| at_ms))
            }
            None => match self.rotate_on_file(rotator, &shared) {
                Ok(ended) => ended,
                Err(crashed) => return crashed,
            },
        };
        // Whatever the update did, the node holds the ring its `SharedRing` holds now: the one
        // it wrote (a rotation, or a prune), or the last good one.
        if let Some(model) = self.model_of_shared(rotator, &shared) {
            self.nodes[rotator].model = model;
        }
        let outcome = match result {
            Ok(Rotated::Written) => {
                if let Some(serial) = self.rotated_serial {
                    // The update said it wrote the key: the store must hold it.
                    let value = self.store_value(rotator);
                    let documents = &self.disks.documents;
                    let model = value.as_deref().and_then(|value| documents.of_document(value));
                    let in_store = model.is_some_and(|model| model.held_serial(serial).is_some());
                    let observed = Observed::RotationAccepted { node: rotator, serial, in_store };
                    self.checker.observe(self.now_ms, &self.trace, observed);
                }
                self.counters.rotations += 1;
                self.record(What::Rotation, rotator, crate::trace::NONE_U32);
                let kid = self.nodes[rotator].model.keys().last().map(|key| key.kid.to_string()).unwrap_or_default();
                self.log(Level::Info, &format!("INFO node={rotator} rotated: new kid={kid}"), false);
                Rotated::Written
            }
            Ok(other) => other,
            Err(Error::Store(StoreError::Locked { .. })) => {
                self.counters.rotations_locked_out += 1;
                Rotated::LockedOut
            }
            Err(Error::Store(StoreError::Corrupt { error, .. } | StoreError::DocumentCorrupt { error, .. })) => {
                self.corrupt_read(rotator, &error);
                Rotated::Failed
            }
            Err(Error::Store(StoreError::NotFound { .. } | StoreError::DocumentNotFound { .. })) => {
                let observed = Observed::KeyFileMissing { node: rotator, when: "while it is up, rotating" };
                self.checker.observe(self.now_ms, &self.trace, observed);
                Rotated::Failed
            }
            Err(_) => Rotated::Failed,
        };
        (outcome, landed_ms)
    }

    /// [`World::rotate_at`] on a key file: the update under the file's lock, whose waits and
    /// syncs take the disk's time. `Err`: the rotator crashed in the middle of its write.
    #[allow(clippy::type_complexity)]
    fn rotate_on_file(
        &mut self,
        rotator: usize,
        shared: &SharedRing,
    ) -> Result<(Result<Rotated, Error>, u64), (Rotated, u64)> {
        self.plan_write_faults(rotator);
        drop(self.disk(rotator));
        let lock_free_at_ms = self.disks.lock_free_at_ms(rotator);
        let contended = self.disk(rotator).lock_contended();
        let waits_before = self.disks.lock_waits();
        // `SharedRing::update`: `FileStore::update` (locked, re-read, saved), then a reload.
        let result = shared.update(|ring| Ok(self.rotate_ring(rotator, ring)));
        let landed_ms = self.disks.clock_ms(rotator);
        let waited = self.disks.lock_waits() > waits_before;
        if lock_free_at_ms > self.now_ms || waited {
            let locked_out = matches!(result, Err(Error::Store(StoreError::Locked { .. })));
            if waited {
                self.counters.lock_waited_writes += 1;
                self.counters.lock_wait_ms_max = self.counters.lock_wait_ms_max.max(landed_ms - self.now_ms);
            }
            let observed =
                Observed::LockWait { node: rotator, asked_ms: self.now_ms, lock_free_at_ms, contended, locked_out };
            self.checker.observe(self.now_ms, &self.trace, observed);
        }
        let (crashed, changed) = self.end_write(rotator);
        if crashed {
            self.count_write_crash(rotator, changed);
            self.stop_node(rotator, true);
            if changed {
                self.counters.rotations += 1;
            }
            return Err((Rotated::Crashed, landed_ms));
        }
        Ok((result, landed_ms))
    }

    /// Inside `FileStore::update`, under the lock: the rotation of the ring just read, beside
    /// the model's. The model of what the update will write is registered before it is
    /// written.
    fn rotate_ring(&mut self, rotator: usize, ring: &mut KeyRing) -> Rotated {
        // A change that runs again (a swap's conflict) adds its key afresh, or none.
        self.rotated_serial = None;
        let Some(mut model) = self.model_of(ring) else {
            let observed = Observed::KeySetRead { node: rotator, verb: "read", model: None };
            self.checker.observe(self.now_ms, &self.trace, observed);
            return Rotated::Failed;
        };
        // A key at least half a rotation interval old is due: a second rotator that sees the
        // first one's key does nothing.
        let max_age_secs = (self.config.rotation_interval_ms / 2 / SECOND_MS).max(1);
        // The rotator's clock when it holds the lock (after any wait for it), or when its read
        // of etcd came back.
        let now_secs = self.nodes[rotator].local_secs(self.store_clock_ms(rotator));
        let model_rotates = model.due_for_rotation(now_secs, max_age_secs);
        let model_refuses = model_rotates && model.begin_rotation(now_secs).is_err();
        let rotated = ring.rotate_if_older_than_with(max_age_secs, &self.rotation, &mut self.entropy, now_secs);
        let decided = match &rotated {
            Ok(Some(_)) => Some(RingRotation::Rotated),
            Ok(None) => Some(RingRotation::Declined),
            Err(KeyError::RingFull) => Some(RingRotation::Full),
            Err(_) => None,
        };
        if let Some(ring) = decided {
            let observed = Observed::RotationDecided { ring, model_rotates, model_refuses };
            self.checker.observe(self.now_ms, &self.trace, observed);
        }
        let outcome = match rotated {
            Ok(Some(kid)) => {
                if !model_rotates || model_refuses {
                    // The model cannot follow the ring (the checker has reported it).
                    return Rotated::Failed;
                }
                let serial = self.register_cluster_ring(ring, kid);
                self.rotated_serial = Some(serial);
                model.finish_rotation(now_secs, self.staging, serial, kid);
                self.check_agreement(rotator, ring, &model, "after rotation");
                Rotated::Written
            }
            Ok(None) => {
                self.record(What::RotationNotDue, rotator, crate::trace::NONE_U32);
                Rotated::NotNeeded
            }
            Err(KeyError::RingFull) => {
                self.counters.rotations_refused += 1;
                self.record(What::RotationRefused, rotator, crate::trace::NONE_U32);
                self.log(Level::Warn, &format!("WARN node={rotator} rotation refused: key ring full"), false);
                Rotated::NotNeeded
            }
            Err(error) => {
                let observed = Observed::LibraryFailed { node: rotator, call: "rotation", error: &error };
                self.checker.observe(self.now_ms, &self.trace, observed);
                return Rotated::Failed;
            }
        };
        // A refused rotation still pruned the ring, and the update writes what changed.
        self.register_document(ring, model);
        outcome
    }

    fn defer_rotation(&mut self, leader: usize) {
        self.counters.rotations_deferred += 1;
        self.record(What::RotationDeferred, leader, crate::trace::NONE_U32);
        self.schedule(self.now_ms + ROTATION_RETRY_MS, Event::Rotation);
    }

    /// When each node's mount shows the key file `writer` just wrote.
    fn delay_propagation(&mut self, writer: usize) {
        self.disks.delay_propagation(writer, self.now_ms, self.nodes.len(), &mut self.faults, self.config);
    }

    // ---------------------------------------------------------------- load balancer

    /// Whether a node takes this request.
    fn eligible(&self, node: usize, purpose: Purpose) -> bool {
        Balancer::eligible(&self.nodes[node], self.now_ms, purpose)
    }

    /// What the node itself says about signing.
    fn can_sign(&self, node: usize) -> bool {
        self.nodes[node].can_sign(self.now_ms)
    }

    /// The node the balancer sends a request to.
    fn pick_node(&mut self, purpose: Purpose, client: Option<u32>) -> Option<usize> {
        self.balancer.pick(&self.nodes, self.now_ms, purpose, client, &mut self.network)
    }

    // ---------------------------------------------------------------- signing and verifying

    /// Node `node` issues an access token to `client`.
    fn issue(&mut self, node: usize, client: u32) -> Option<HeldToken> {
        self.issue_token(node, client, self.config.token_ttl_secs, true)
    }

    /// Node `node` issues `client` a token living `ttl_secs`; `capturable`: the attacker may
    /// capture it on the wire (refresh tokens travel only between the client and the refresh
    /// endpoint).
    fn issue_token(&mut self, node: usize, client: u32, ttl_secs: u64, capturable: bool) -> Option<HeldToken> {
        let now_secs = self.local_secs(node);
        if !self.can_sign(node) {
            return None;
        }
        let state = &self.nodes[node];
        let shared = state.ring.clone()?;
        let ring = shared.ring();
        let kid = ring.active_kid(now_secs)?;
        let expected = state.model.signer(now_secs).map(|key| key.kid);
        let token = match ring.issue(&Session { sub: client }, ttl_secs, now_secs) {
            Ok(token) => token,
            Err(error) => {
                let observed = Observed::Signed { node, kid, expected, known: true };
                self.checker.observe(self.now_ms, &self.trace, observed);
                let observed = Observed::LibraryFailed { node, call: "signing", error: &error };
                self.checker.observe(self.now_ms, &self.trace, observed);
                return None;
            }
        };
        let serial = self.serial_by_kid.get(&kid).copied();
        let observed = Observed::Signed { node, kid, expected, known: serial.is_some() };
        self.checker.observe(self.now_ms, &self.trace, observed);
        let serial = serial?;
        let facts = TokenFacts {
            shape: model::Shape::Compact(model::HeaderFacts::Hs256 { kid: Some(kid) }),
            signed_by: Some(serial),
            exp_secs: now_secs + ttl_secs,
            nbf_secs: now_secs,
            subject: client,
            issued_ms: self.now_ms,
        };
        self.checker.add_token(&token);
        if capturable && self.attacker.observe(&token, facts, self.config.capture_per_mille) {
            self.schedule_edge_replay(&token, facts);
        }
        let issuer_error_ms = self.nodes[node].clock_error_ms(self.now_ms);
        let expires_ms = self.now_ms + ttl_secs * SECOND_MS;
        Some(HeldToken { text: token, facts, expires_ms, issuer_error_ms })
    }

    /// The verifiers' leeway, as `Validation::leeway_secs` caps it.
    fn leeway_secs(&self) -> u64 {
        self.config.leeway_secs.min(tokenring::limits::LEEWAY_SECS_MAX)
    }

    /// Verifies `token` at `node` the way the node is configured to.
    fn verify(&mut self, node: usize, token: &str, now_secs: u64) -> Result<(u32, Option<Kid>), Rejection> {
        self.nodes[node].verify(token, &self.validation, &mut self.scratch, now_secs)
    }

    /// A node verifies a token; the oracle checks the outcome; the node logs a rejection.
    /// `timing`: for a client's request, when it was sent and how far the clocks of the node
    /// that issued the token and of this one are off.
    fn serve(
        &mut self,
        node: usize,
        what: What,
        actor: u32,
        token: &str,
        facts: &TokenFacts,
        timing: Option<Timing>,
    ) -> Result<(), Rejection> {
        self.counters.verifications += 1;
        let now_secs = self.local_secs(node);
        let result = self.verify(node, token, now_secs);
        let expectation = model::expect(facts, &self.nodes[node].model, now_secs, self.leeway_secs());
        // A rejection is routine only after a MAC held: the token must carry the MAC of a key
        // this node holds.
        let mac_verified = facts.signed_by.is_some_and(|serial| self.nodes[node].model.held_serial(serial).is_some());
        let outcome = match &result {
            Ok(_) => Outcome::Accepted,
            Err(rejection) => Outcome::Rejected(rejection.code()),
        };
        self.trace.record(TraceRecord {
            time_ms: self.now_ms,
            what,
            node: node as u16,
            actor,
            outcome: outcome.as_str(),
            expected: expectation.as_str(),
            token_tail: tail_of(token),
        });
        let attack = match what {
            What::Attack(kind) => Some(kind),
            _ => None,
        };
        let timing =
            timing.map(|timing| Timing { verifier_error_ms: self.nodes[node].clock_error_ms(self.now_ms), ..timing });
        let observed =
            Observed::Served { node, attack, actor, result: &result, expectation, facts, mac_verified, timing };
        self.checker.observe(self.now_ms, &self.trace, observed);
        if let Err(rejection) = &result {
            let code = rejection.code();
            Counters::bump(&mut self.counters.rejections, code);
            if attack.is_none() {
                Counters::bump(&mut self.counters.honest_rejections, code);
            }
            let level = if rejection.is_routine() { Level::Info } else { Level::Warn };
            self.log_rejection(level, node, rejection, token, attack.is_none());
        }
        result.map(|_| ())
    }

    // ---------------------------------------------------------------- clients

    fn next_request_at(&mut self) -> u64 {
        self.now_ms + self.behaviour.exponential(self.config.request_interval_mean_ms)
    }

    /// No node served the client: it tries again a little later. Invariant 7 asks whether a
    /// fault the oracle knows of explains it: no node up (for a request), or no node up
    /// whose ring, by the model, has a key to sign with (for a login).
    fn retry_later(&mut self, client: u32, node_hint: usize, purpose: Purpose) {
        self.counters.unanswered += 1;
        self.record(What::NoNode, node_hint, client);
        let capable = (0..self.nodes.len()).find(|&node| {
            let state = &self.nodes[node];
            state.is_up() && (purpose == Purpose::Verify || state.model.signer(self.local_secs(node)).is_some())
        });
        let observed = Observed::Unanswered { client, login: purpose == Purpose::Issue, able: capable };
        self.checker.observe(self.now_ms, &self.trace, observed);
        let at = self.now_ms + self.behaviour.between(RETRY_MIN_MS, RETRY_MAX_MS);
        self.schedule(at, Event::Client(client));
    }

    fn on_client(&mut self, client: u32) {
        match self.clients[client as usize].wake(self.now_ms, &mut self.behaviour, self.config) {
            Wake::LogIn => self.login(client),
            Wake::Act => self.act(client),
            Wake::Pause { pause_ms } => self.schedule(self.now_ms + pause_ms, Event::Client(client)),
        }
    }

    fn act(&mut self, client: u32) {
        match self.clients[client as usize].turn(self.now_ms, self.ttl_ms, self.config.refresh_at_per_mille) {
            Turn::LogIn if self.clients[client as usize].valid_refresh(self.now_ms) => self.redeem(client, None),
            Turn::LogIn => self.login(client),
            Turn::Expired => {
                if self.clients[client as usize].valid_refresh(self.now_ms) {
                    return self.redeem(client, None);
                }
                self.counters.natural_relogins += 1;
                self.login(client);
            }
            Turn::Refresh => self.refresh(client),
            Turn::Request => self.request(client),
        }
    }

    fn login(&mut self, client: u32) {
        self.counters.login_attempts += 1;
        let Some(node) = self.pick_node(Purpose::Issue, Some(client)) else {
            return self.retry_later(client, crate::trace::NONE_U16 as usize, Purpose::Issue);
        };
        let Some(held) = self.issue(node, client) else { return self.retry_later(client, node, Purpose::Issue) };
        self.counters.sessions += 1;
        let mut record = TraceRecord::new(self.now_ms, What::Login);
        record.node = node as u16;
        record.actor = client;
        record.token_tail = tail_of(&held.text);
        self.trace.record(record);
        let index = client as usize;
        self.after_new_token(client, &held);
        if let Some(ttl_secs) = self.config.refresh_token_ttl_secs {
            self.clients[index].refresh = self.issue_token(node, client, ttl_secs, false);
        }
        self.clients[index].logged_in(held, self.now_ms, &mut self.behaviour, self.config);
        let at = self.next_request_at();
        self.schedule(at, Event::Client(client));
    }

    fn request(&mut self, client: u32) {
        let Some(node) = self.pick_node(Purpose::Verify, Some(client)) else {
            self.counters.requests_attempted += 1;
            return self.retry_later(client, crate::trace::NONE_U16 as usize, Purpose::Verify);
        };
        self.send(client, node, What::Request);
    }

    fn refresh(&mut self, client: u32) {
        match self.pick_node(Purpose::Issue, Some(client)) {
            Some(node) => self.send(client, node, What::Refresh),
            // No node can issue right now: make a plain request and refresh next time.
            None => self.request(client),
        }
    }

    /// Serves the client's request, sent at `sent_ms`, at `node`; a rejected one is sent once
    /// more, to another node, if clients retry elsewhere. The result and the node that gave it.
    fn serve_with_retry(
        &mut self,
        client: u32,
        node: usize,
        what: What,
        held: &HeldToken,
        sent_ms: u64,
    ) -> (Result<(), Rejection>, usize) {
        let ttl_ms = held.expires_ms - held.facts.issued_ms;
        let timing = Some(Timing { sent_ms, issuer_error_ms: held.issuer_error_ms, verifier_error_ms: 0, ttl_ms });
        let result = self.serve(node, what, client, &held.text, &held.facts, timing);
        if result.is_err() && self.config.retry_elsewhere {
            // The client's HTTP library retries a 401 once, on whichever node it reaches next.
            let others: Vec<usize> =
                (0..self.nodes.len()).filter(|&other| other != node && self.eligible(other, Purpose::Verify)).collect();
            if let Some(&other) = self.network.pick(&others) {
                self.counters.retries_elsewhere += 1;
                return (self.serve(other, What::Retry, client, &held.text, &held.facts, timing), other);
            }
        }
        (result, node)
    }

    /// The client sends its token to `node`: it arrives after the network's latency (at once
    /// when the scenario has none), and is served then.
    fn send(&mut self, client: u32, node: usize, what: What) {
        let index = client as usize;
        let Some(held) = self.clients[index].token.take() else { return self.login(client) };
        self.dispatch(InFlight { client, node, what, held, sent_ms: self.now_ms, one_shot: false });
    }

    /// Puts a request on the network.
    fn dispatch(&mut self, request: InFlight) {
        self.counters.requests += 1;
        self.counters.requests_attempted += 1;
        match self.wire.send(request) {
            Sent::Now(request) => self.deliver(request),
            Sent::Later { number, latency_ms } => {
                self.counters.latency_ms_max = self.counters.latency_ms_max.max(latency_ms);
                self.schedule(self.now_ms + latency_ms, Event::Arrive { request: number });
            }
        }
    }

    /// A request reaches its node.
    fn arrive(&mut self, number: u32) {
        if let Some(request) = self.wire.arrive(number) {
            self.counters.requests_delayed += 1;
            self.deliver(request);
        }
    }

    /// The node serves a request that reached it. One whose node went down meanwhile is sent
    /// by the balancer to another node (a refused connection is retried); with none up it is
    /// unanswered, and the client keeps its token.
    fn deliver(&mut self, request: InFlight) {
        let InFlight { client, mut node, what, held, sent_ms, one_shot } = request;
        let index = client as usize;
        if !self.nodes[node].is_up() {
            let purpose = if what == What::Refresh { Purpose::Issue } else { Purpose::Verify };
            if let Some(other) = self.pick_node(purpose, Some(client)) {
                self.counters.requests_rerouted += 1;
                node = other;
            }
        }
        if !self.nodes[node].is_up() {
            self.counters.requests -= 1;
            if self.clients[index].token.is_none() {
                self.clients[index].token = Some(held);
            }
            if one_shot {
                self.counters.requests_attempted -= 1;
                return;
            }
            return self.retry_later(client, node, Purpose::Verify);
        }
        let (result, node) = self.serve_with_retry(client, node, what, &held, sent_ms);
        if one_shot {
            match result {
                Ok(()) => {
                    self.counters.accepted += 1;
                    if self.clients[index].token.is_none() {
                        self.clients[index].token = Some(held);
                    }
                }
                // The next turn redeems the refresh token, if the client holds a valid one.
                Err(_) if self.clients[index].valid_refresh(self.now_ms) => {
                    self.counters.rejections_saved_by_refresh += 1;
                }
                Err(rejection) => self.log_out(client, node, rejection.code()),
            }
            return;
        }
        match result {
            Ok(()) => {
                self.counters.accepted += 1;
                let replacement = if what == What::Refresh { self.issue(node, client) } else { None };
                if let Some(replacement) = &replacement {
                    self.counters.refreshes += 1;
                    self.after_new_token(client, replacement);
                }
                self.clients[index].token = Some(replacement.unwrap_or(held));
                let at = self.next_request_at();
                self.schedule(at, Event::Client(client));
            }
            Err(rejection) => {
                if self.clients[index].valid_refresh(self.now_ms) {
                    return self.redeem(client, Some(rejection.code()));
                }
                self.log_out(client, node, rejection.code());
                self.login(client);
            }
        }
    }

    /// The client sends its refresh token to a node that can sign, for a new access token
    /// (its access token expired, or was `rejected` with that code). Refused, the person is
    /// logged out and logs in again. Then the client's next request.
    fn redeem(&mut self, client: u32, rejected: Option<&'static str>) {
        let index = client as usize;
        let Some(refresh) = self.clients[index].refresh.take() else { return self.login(client) };
        let Some(node) = self.pick_node(Purpose::Issue, Some(client)) else {
            // No node can sign now: the client keeps its refresh token and tries later.
            self.clients[index].refresh = Some(refresh);
            return self.retry_later(client, crate::trace::NONE_U16 as usize, Purpose::Issue);
        };
        self.counters.refresh_grants_attempted += 1;
        let (result, node) = self.serve_with_retry(client, node, What::RefreshGrant, &refresh, self.now_ms);
        let renewed = match result {
            Ok(()) => self.issue(node, client),
            Err(rejection) => {
                self.log_out(client, node, rejection.code());
                return self.login(client);
            }
        };
        match renewed {
            Some(held) => {
                self.counters.refresh_grants += 1;
                if rejected.is_some() {
                    self.counters.rejections_saved_by_refresh += 1;
                }
                self.after_new_token(client, &held);
                self.clients[index].token = Some(held);
                self.clients[index].refresh = Some(refresh);
                let at = self.next_request_at();
                self.schedule(at, Event::Client(client));
            }
            None => {
                self.clients[index].refresh = Some(refresh);
                self.retry_later(client, node, Purpose::Issue);
            }
        }
    }

    /// A rejection logs `client` out (a forced re-login): counted once per rejection, and once
    /// per person.
    fn log_out(&mut self, client: u32, node: usize, code: &'static str) {
        Counters::bump(&mut self.counters.forced_relogins, code);
        if self.logged_out.insert(client) {
            Counters::bump(&mut self.counters.people_logged_out, code);
        }
        if self.counters.first_logout.is_none() {
            self.counters.first_logout = Some((self.now_ms, node as u16, code));
        }
    }

    /// A client got a new token: its burst of requests, and, if it uses tokens to the end, its
    /// last request just before the token expires.
    fn after_new_token(&mut self, client: u32, held: &HeldToken) {
        let issued_ms = held.facts.issued_ms;
        for _ in 0..self.config.burst_requests {
            let at = self.now_ms + self.behaviour.between(0, BURST_SPREAD_MS);
            self.schedule(at, Event::OneShot { client, issued_ms });
        }
        if self.clients[client as usize].to_the_end {
            self.schedule(held.expires_ms.saturating_sub(1), Event::OneShot { client, issued_ms });
        }
    }

    /// A request outside the client's regular ones, with the token it got at `issued_ms` if it
    /// still holds it. A rejection drops the token: the client's next turn logs in again.
    fn one_shot(&mut self, client: u32, issued_ms: u64) {
        let index = client as usize;
        if !self.clients[index].holds(issued_ms) {
            return;
        }
        let Some(node) = self.pick_node(Purpose::Verify, Some(client)) else { return };
        let Some(held) = self.clients[index].token.take() else { return };
        self.dispatch(InFlight { client, node, what: What::Request, held, sent_ms: self.now_ms, one_shot: true });
    }

    // ---------------------------------------------------------------- attacker

    /// The attacker will replay the token it just captured in the second the token expires
    /// (`exp + leeway`) on the clock of a node it picks now: the edge of the expiry check.
    fn schedule_edge_replay(&mut self, token: &str, facts: TokenFacts) {
        if !self.attacker.has_room_for_edge_replay() {
            return;
        }
        let node = self.attacker.rng().below(self.nodes.len() as u64) as usize;
        let boundary_ms = (facts.exp_secs + self.leeway_secs()) * SECOND_MS;
        let local_ms = boundary_ms + self.attacker.rng().below(SECOND_MS);
        let Some(at) =
            local_ms.saturating_add_signed(-self.nodes[node].clock_error_ms(self.now_ms)).checked_sub(EPOCH_MS)
        else {
            return;
        };
        if at <= self.now_ms {
            return;
        }
        let replay = self.attacker.keep_edge_replay(EdgeReplay { token: token.to_owned(), facts, node });
        self.schedule(at, Event::EdgeReplay { replay });
    }

    /// An edge replay, if its node is up and the token is expired there (the attacker replays
    /// only expired tokens: a genuine unexpired one is the client's own).
    fn edge_replay(&mut self, replay: u32) {
        let Some(EdgeReplay { token, facts, node }) = self.attacker.take_edge_replay(replay) else { return };
        if !self.nodes[node].is_up() {
            return;
        }
        let expectation = model::expect(&facts, &self.nodes[node].model, self.local_secs(node), self.leeway_secs());
        if expectation == Outcome::Accepted {
            return;
        }
        self.deliver_attack(node, AttackKind::ReplayExpired, &token, &facts);
    }

    fn on_attack(&mut self) {
        if let Some(mean) = self.config.attack_interval_mean_ms {
            let at = self.now_ms + self.attacker.rng().exponential(mean);
            self.schedule(at, Event::Attack);
        }
        let Some(&kind) = self.attacker.rng().pick(&self.attack_kinds) else { return };
        // A replayed token must be expired at every node, whatever its clock.
        let expiry_margin_ms =
            self.ttl_ms + self.config.leeway_secs * SECOND_MS + 2 * self.config.clock_error_max_ms() + 2 * SECOND_MS;
        let material = Material {
            now_ms: self.now_ms,
            now_secs: self.true_secs(),
            ttl_secs: self.config.token_ttl_secs,
            cluster_kids: &self.cluster_kids,
            surely_expired_if_issued_before_ms: self.now_ms.saturating_sub(expiry_margin_ms),
        };
        let Some(crafted) = self.attacker.craft(kind, &material, &mut self.next_serial, self.checker.secrets_mut())
        else {
            return;
        };
        let Some(node) = self.pick_node(Purpose::Verify, None) else { return };
        self.deliver_attack(node, kind, &crafted.token, &crafted.facts);
    }

    /// The attacker's token reaches `node`.
    fn deliver_attack(&mut self, node: usize, kind: AttackKind, token: &str, facts: &TokenFacts) {
        self.counters.attacks += 1;
        let number = u32::try_from(self.counters.attacks).unwrap_or(u32::MAX);
        let result = self.serve(node, What::Attack(kind), number, token, facts, None);
        let outcome = match &result {
            Ok(()) => "accepted",
            Err(rejection) => rejection.code(),
        };
        if result.is_ok() {
            self.counters.attacks_accepted += 1;
        }
        Counters::bump(self.counters.attack_outcomes.entry(kind.as_str()).or_default(), outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Policy;
    use crate::store::KEY_FILE;

    /// Runs `config` to its end and asserts that the checker found no violation; the world and
    /// the checker's counters are returned for the test's own assertions.
    fn run_clean(config: &Config) -> (World<'_>, Counters) {
        let mut world = World::new(config);
        world.schedule_start();
        world.run_until(config.duration_ms);
        let mut checked = Counters::default();
        // The checker's verdict consumes it; the world keeps an unused one for its type's sake.
        let checker = std::mem::replace(&mut world.checker, Checker::new(config));
        let (violations, first) = checker.finish(&mut checked);
        assert!(violations.is_empty(), "{first:?}");
        (world, checked)
    }

    #[test]
    fn the_queue_pops_in_time_then_scheduling_order() {
        let mut queue = RadixQueue::new();
        queue.push(queue_key(5, 2), Event::Attack);
        queue.push(queue_key(5, 1), Event::Rotation);
        queue.push(queue_key(1, 3), Event::RollingRestart);
        let order: Vec<(u64, Event)> =
            std::iter::from_fn(|| queue.pop().map(|(key, event)| (time_of(key), event))).collect();
        assert_eq!(order, vec![(1, Event::RollingRestart), (5, Event::Rotation), (5, Event::Attack)]);
    }

    /// A node whose Secret is not mounted at start stays down (out of the balancer) and
    /// retries, says why in its counters, and comes up once the Secret is there.
    #[test]
    fn a_node_without_its_secret_stays_out_until_it_is_mounted() {
        let mut config = Config::default_scenario(5, Policy::Rotating);
        config.clients = 20;
        config.crash_interval_mean_ms = None;
        config.scheduled_store_outages.clear();
        config.store_outage_interval_mean_ms = None;
        config.unmounted_secret = Some((1, 2 * crate::config::MINUTE_MS));
        let mut world = World::new(&config);
        world.schedule_start();
        world.run_until(crate::config::MINUTE_MS);
        assert!(!world.nodes[1].is_up());
        assert!(world.nodes[0].is_up() && world.nodes[2].is_up());
        assert!(world.counters.starts_refused_unmounted > 0);
        world.run_until(4 * crate::config::MINUTE_MS);
        assert!(world.nodes[1].is_up(), "the node never came up once its Secret was mounted");
        let mut counters = Counters::default();
        let (violations, first) = world.checker.finish(&mut counters);
        assert!(violations.is_empty(), "{first:?}");
    }

    /// Running clocks step both ways, within the skew bound, and the library keeps every
    /// invariant: no spurious rejection, every outcome as the model expects at the node's time.
    #[test]
    fn running_clocks_step_and_every_invariant_holds() {
        let mut config = Config::default_scenario(9, Policy::Rotating);
        config.clients = 50;
        config.duration_ms = 2 * crate::config::DAY_MS;
        config.clock_jump_interval_mean_ms = Some(10 * crate::config::MINUTE_MS);
        let (world, _) = run_clean(&config);
        assert!(world.counters.clock_jumps > 100, "{} clock steps", world.counters.clock_jumps);
        assert!(world.counters.rotations >= 1);
    }

    /// Two rotators on different nodes whose `SharedRing::update`s overlap in simulated time:
    /// the first one's syncs hold the lock for a while, the second asks for it meanwhile,
    /// waits through the store's own retries in the disk's time, gets it, re-reads, and keeps
    /// the first one's key. Were the wait skipped (no simulated time passing), every second
    /// rotator would give up `Locked` and the checker would report it (invariant 7).
    #[test]
    fn a_second_rotator_waits_for_the_first_ones_lock_in_simulated_time_and_loses_no_key() {
        let mut config = Config::default_scenario(4, Policy::Rotating);
        config.clients = 20;
        config.duration_ms = 5 * crate::config::DAY_MS;
        config.concurrent_rotation_per_mille = 1000;
        config.lock_contention_per_mille = 0;
        config.store_write_crash_per_mille = 0;
        config.crash_interval_mean_ms = None;
        config.store_outage_interval_mean_ms = None;
        config.scheduled_store_outages.clear();
        let (world, _) = run_clean(&config);
        let counters = &world.counters;
        assert!(counters.concurrent_rotations >= 4, "{} concurrent rotators", counters.concurrent_rotations);
        assert!(counters.lock_waited_writes >= 2, "{} writes waited for the lock", counters.lock_waited_writes);
        assert!(counters.lock_wait_ms_max > 0);
        assert_eq!(counters.rotations_locked_out, 0, "a second rotator gave up on the lock");
        assert!(counters.rotations >= 4);
    }

    /// Requests reach their node after a latency and are judged when they arrive: tokens a
    /// client sends in their last millisecond expire on the wire and the leeway takes them;
    /// nodes that go down meanwhile have their requests sent elsewhere.
    #[test]
    fn requests_arrive_after_their_latency_and_the_leeway_takes_tokens_expired_on_the_wire() {
        let mut config = Config::default_scenario(6, Policy::Persisted);
        config.clients = 100;
        config.duration_ms = 2 * crate::config::DAY_MS;
        config.latency_max_ms = 5 * SECOND_MS;
        config.to_the_end_clients_per_mille = 1000;
        let (world, checked) = run_clean(&config);
        assert!(world.counters.requests_delayed > 1_000);
        assert!(world.counters.latency_ms_max > SECOND_MS);
        assert!(checked.accepted_expired_in_flight > 10, "{} expired in flight", checked.accepted_expired_in_flight);
    }

    /// Clocks drift (a rate) between their steps and restarts: the error grows past the skew
    /// bound, and every invariant holds.
    #[test]
    fn drifting_clocks_keep_every_invariant() {
        let mut config = Config::default_scenario(8, Policy::Rotating);
        config.clients = 50;
        config.duration_ms = 2 * crate::config::DAY_MS;
        config.clock_skew_max_ms = 5 * SECOND_MS;
        config.clock_drift_ppm_max = 100;
        let (world, checked) = run_clean(&config);
        assert!(world.nodes.iter().any(|node| node.drift_ppm.abs() > 10));
        assert!(checked.clock_error_ms_max > config.clock_skew_max_ms, "{} ms", checked.clock_error_ms_max);
    }

    /// Every rotation that writes a key starts a rolling restart while the key propagates:
    /// each node that boots meanwhile comes up with the new key, and nobody is logged out.
    #[test]
    fn a_rolling_restart_during_a_rotation_loses_no_key_and_logs_nobody_out() {
        let mut config = Config::default_scenario(2, Policy::Rotating);
        config.clients = 200;
        config.duration_ms = 4 * crate::config::DAY_MS;
        config.rolling_restart_interval_ms = None;
        config.revocation_at_ms = None;
        config.bad_file = None;
        config.store_write_crash_per_mille = 0;
        config.restart_during_rotation = true;
        // Pods restart faster than a Secret's update reaches the running ones' mounts.
        config.propagation_delay_max_ms = 3 * crate::config::MINUTE_MS;
        config.downtime_min_ms = 5 * SECOND_MS;
        config.downtime_max_ms = 20 * SECOND_MS;
        let (world, checked) = run_clean(&config);
        assert!(world.counters.restarts_during_rotation >= 2);
        assert!(checked.starts_during_rotation >= 2, "{} starts", checked.starts_during_rotation);
        assert!(world.logged_out.is_empty(), "{} people logged out", world.logged_out.len());
    }

    /// Refresh tokens, a separate credential living a day: a person whose access token is
    /// rejected or expired sends the refresh token for a new one, and none is logged out by
    /// rotations and restarts (the rotation's overlap covers the refresh token's lifetime).
    #[test]
    fn a_person_with_a_valid_refresh_token_is_never_logged_out_by_rotations_or_restarts() {
        let mut config = Config::default_scenario(7, Policy::Rotating);
        config.clients = 200;
        config.duration_ms = 4 * crate::config::DAY_MS;
        config.refresh_token_ttl_secs = Some(crate::config::DAY_MS / SECOND_MS);
        config.revocation_at_ms = None;
        config.bad_file = None;
        let (world, _) = run_clean(&config);
        let counters = &world.counters;
        assert!(counters.rotations >= 3 && counters.node_starts > 6);
        assert!(counters.refresh_grants > 500, "{} refresh tokens redeemed", counters.refresh_grants);
        assert!(world.logged_out.is_empty(), "{} people logged out", world.logged_out.len());
    }

    /// What a node signs and verifies with is the library's `SharedRing`, opened on the key
    /// file of the simulated disk, and rotations reach it through its own reload.
    #[test]
    fn every_node_holds_a_shared_ring_on_its_key_file() {
        let mut config = Config::default_scenario(3, Policy::Rotating);
        config.clients = 20;
        config.duration_ms = 3 * crate::config::DAY_MS;
        // No restarts (nor crashes in the middle of a write): every node must pick the
        // rotations up by reloading.
        config.rolling_restart_interval_ms = None;
        config.crash_interval_mean_ms = None;
        config.store_write_crash_per_mille = 0;
        config.restart_during_rotation = false;
        let mut world = World::new(&config);
        world.schedule_start();
        world.run_until(config.duration_ms);
        assert!(world.counters.rotations >= 2);
        let mut up = 0;
        for node in &world.nodes {
            let ring: Option<&SharedRing> = node.ring.as_ref();
            assert_eq!(ring.is_some(), node.is_up());
            let Some(shared) = ring else { continue };
            up += 1;
            let store = shared.store().expect("a node's ring is read from its key file");
            assert_eq!(store.path(), std::path::Path::new(KEY_FILE));
            assert!(shared.content_fingerprint().is_some());
        }
        assert!(up > 0);
        let reloaded = world.nodes.iter().filter_map(|node| node.ring.as_ref()).all(|shared| shared.generation() > 1);
        assert!(reloaded, "a node's SharedRing never picked up a rotation");
    }
}
