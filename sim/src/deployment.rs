//! A check a service author runs on their own deployment: describe it with [`Deployment`], run
//! it through the simulator's faults over a range of seeds with [`check`], and read a
//! [`Report`] that names each broken rule in an operator's words, with the people it logged
//! out and the command that replays the first failure.
//!
//! ```
//! use std::time::Duration;
//! use tokenring::Rotation;
//! use tokenring_sim::Deployment;
//!
//! let minutes = |n: u64| Duration::from_secs(60 * n);
//! let deployment = |propagation_secs| {
//!     Deployment::kubernetes()
//!         .replicas(6)
//!         .clients(60)
//!         .secret_sync(Duration::from_secs(90))
//!         .poll(Duration::from_secs(30))
//!         .token_ttl(minutes(10))
//!         .refresh_at(0.75)
//!         .rotation(Rotation::new().propagation_secs(propagation_secs).overlap_secs(3600))
//!         .every(minutes(6 * 60))
//! };
//! // Propagation shorter than the kubelet's sync plus the reloader's poll: a broken rule.
//! let report = tokenring_sim::check(&deployment(60), 0..1);
//! assert!(report.people_logged_out() > 0);
//! assert!(report.to_string().contains("propagation 1m is shorter than the slowest reload"), "{report}");
//! // Five minutes covers the slowest reload (3m39s with store outages, clock skew and drift).
//! let report = tokenring_sim::check(&deployment(300), 0..1);
//! assert!(report.passed(), "{report}");
//! ```
//!
//! On etcd a change reaches the replicas by the watch, in seconds; the poll is a backstop:
//!
//! ```
//! use std::time::Duration;
//! use tokenring::Rotation;
//! use tokenring_sim::Deployment;
//!
//! let minutes = |n: u64| Duration::from_secs(60 * n);
//! let deployment = |propagation_secs| {
//!     Deployment::etcd()
//!         .replicas(6)
//!         .clients(200)
//!         .watch_latency(Duration::from_secs(20))
//!         .poll(minutes(5))
//!         .token_ttl(minutes(10))
//!         .rotation(Rotation::new().propagation_secs(propagation_secs).overlap_secs(3600))
//!         .every(minutes(60))
//! };
//! // Propagation shorter than the watch's latency plus a request's: a broken rule.
//! let report = tokenring_sim::check(&deployment(1), 0..1);
//! assert!(report.people_logged_out() > 0);
//! let rule = "propagation 1s is shorter than the slowest reload, 20s watch + 200ms request";
//! assert!(report.to_string().contains(rule), "{report}");
//! // Three minutes covers the slowest reload (2m11s: an outage that breaks the watch, clock
//! // skew and drift).
//! let report = tokenring_sim::check(&deployment(180), 0..1);
//! assert!(report.passed(), "{report}");
//! ```

use core::fmt;
use core::ops::Range;
use std::time::Duration;

use tokenring::Rotation;

use crate::config::{format_duration, Config, LoadBalancing, Origin, Policy, DAY_MS, DURATION_MS_MAX, SECOND_MS};
use crate::report::RunReport;
use crate::sweep::run_all;

/// Where the key file lives and how replicas reach it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// One key file in a Secret, mounted into every replica; the kubelet syncs a changed
    /// Secret within its sync period.
    Kubernetes,
    /// One process, one key file on a local disk.
    SingleHost,
    /// Each replica loads, or creates, a key file on its own volume.
    PerNodeFiles,
    /// The key set under one etcd key: replicas rotate with a compare-and-swap and reload
    /// when the watch tells them of a change, polling as a backstop.
    Etcd,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Kubernetes => "kubernetes",
            Self::SingleHost => "single-host",
            Self::PerNodeFiles => "per-node-files",
            Self::Etcd => "etcd",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Kubernetes, Self::SingleHost, Self::PerNodeFiles, Self::Etcd]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// A service's deployment, as [`check`] simulates it. Durations are [`std::time::Duration`]s,
/// counted in whole milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    kind: Kind,
    replicas: u16,
    clients: u32,
    secret_sync_ms: u64,
    watch_latency_ms: u64,
    poll_ms: u64,
    token_ttl_secs: u64,
    refresh_at_per_mille: u32,
    /// Propagation, overlap and forget period of the rotation, in seconds, as the ring applies
    /// them.
    rotation: Option<(u64, u64, u64)>,
    every_ms: u64,
}

/// The lifecycle periods of `rotation`, in seconds, as the ring applies them; `None` if the
/// ring refuses it (a period over [`DURATION_SECS_MAX`](tokenring::limits::DURATION_SECS_MAX)).
fn staging_of(rotation: &Rotation) -> Option<(u64, u64, u64)> {
    let periods = (
        rotation.configured_propagation_secs(),
        rotation.configured_overlap_secs(),
        rotation.configured_forget_after_secs(),
    );
    let longest = periods.0.max(periods.1).max(periods.2);
    (longest <= tokenring::limits::DURATION_SECS_MAX).then_some(periods)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Deployment {
    fn new(kind: Kind, replicas: u16) -> Self {
        Self {
            kind,
            replicas,
            clients: 200,
            secret_sync_ms: if kind == Kind::Kubernetes { 60 * SECOND_MS } else { 0 },
            watch_latency_ms: SECOND_MS,
            poll_ms: 30 * SECOND_MS,
            token_ttl_secs: 3600,
            refresh_at_per_mille: 750,
            rotation: None,
            every_ms: DAY_MS,
        }
    }

    /// Replicas behind a load balancer that read one key file from a mounted Secret (3 by
    /// default, a 60 s kubelet sync).
    pub fn kubernetes() -> Self {
        Self::new(Kind::Kubernetes, 3)
    }

    /// One process with its key file on a local disk.
    pub fn single_host() -> Self {
        Self::new(Kind::SingleHost, 1)
    }

    /// Replicas that each load, or create, a key file on a volume of their own (3 by default).
    pub fn per_node_files() -> Self {
        Self::new(Kind::PerNodeFiles, 3)
    }

    /// Replicas on several hosts sharing the key set under one etcd key (3 by default, a watch
    /// latency of 1 s): every replica's timer rotates, with a compare-and-swap, and a change
    /// reaches each replica by the watch, or by the poll if the watch misses it.
    pub fn etcd() -> Self {
        Self::new(Kind::Etcd, 3)
    }

    /// The longest an etcd watch takes to tell a replica of a change (`etcd` only).
    #[must_use]
    pub fn watch_latency(mut self, latency: Duration) -> Self {
        self.watch_latency_ms = millis(latency);
        self
    }

    /// How many replicas serve (a single host has one).
    #[must_use]
    pub fn replicas(mut self, replicas: u16) -> Self {
        self.replicas = if self.kind == Kind::SingleHost { 1 } else { replicas };
        self
    }

    /// How many people use the service in the simulation (200 by default): more find rarer
    /// failures and take longer.
    #[must_use]
    pub fn clients(mut self, clients: u32) -> Self {
        self.clients = clients;
        self
    }

    /// The longest time before a changed Secret shows in a replica's mount (the kubelet's sync).
    #[must_use]
    pub fn secret_sync(mut self, sync: Duration) -> Self {
        self.secret_sync_ms = millis(sync);
        self
    }

    /// How often each replica reloads its key file (the reloader's poll).
    #[must_use]
    pub fn poll(mut self, poll: Duration) -> Self {
        self.poll_ms = millis(poll);
        self
    }

    /// The lifetime of the tokens the service issues.
    #[must_use]
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl_secs = ttl.as_secs();
        self
    }

    /// The share of a token's lifetime after which clients refresh it (0.75: in its last
    /// quarter).
    #[must_use]
    pub fn refresh_at(mut self, share: f64) -> Self {
        self.refresh_at_per_mille = (share.clamp(0.0, 1.0) * 1000.0).round() as u32;
        self
    }

    /// The staged rotation the service runs; without one, the key is never rotated.
    #[must_use]
    pub fn rotation(mut self, rotation: Rotation) -> Self {
        self.rotation = staging_of(&rotation);
        self
    }

    /// How often the key rotates.
    #[must_use]
    pub fn every(mut self, every: Duration) -> Self {
        self.every_ms = millis(every);
        self
    }

    /// The simulator's configuration of this deployment for `seed`: the default scenario's
    /// faults (restarts, crashes, store outages, crashes during writes, clock skew, an
    /// attacker), the deployment's own numbers, and long enough to see a rotation through.
    pub fn config(&self, seed: u64) -> Config {
        let policy = match (self.kind, self.rotation) {
            (Kind::PerNodeFiles, _) => Policy::PerNodeFiles,
            (Kind::Etcd, _) => Policy::Etcd,
            (_, Some(_)) => Policy::Rotating,
            (_, None) => Policy::Persisted,
        };
        let mut config = Config::default_scenario(seed, policy);
        config.origin = Origin::Custom;
        config.nodes = self.replicas;
        config.clients = self.clients;
        config.load_balancing = LoadBalancing::Random;
        config.token_ttl_secs = self.token_ttl_secs;
        config.refresh_at_per_mille = self.refresh_at_per_mille;
        config.propagation_delay_max_ms = self.secret_sync_ms;
        config.reload_interval_ms = self.poll_ms;
        config.rotation_interval_ms = self.every_ms.max(SECOND_MS);
        if let Some((propagation, overlap, forget)) = self.rotation {
            config.propagation_configured_secs = Some(propagation);
            config.overlap_configured_secs = Some(overlap);
            config.forget_after_secs = forget.min(crate::config::FORGET_AFTER_SECS_MAX);
        }
        if self.kind == Kind::Etcd {
            // No Secret: a change reaches the replicas by the watch (or the poll).
            config.propagation_delay_max_ms = 0;
            config.watch_latency_max_ms = self.watch_latency_ms;
            if self.rotation.is_none() {
                // The `etcd` policy rotates: without a rotation, none is due within the run.
                config.rotation_interval_ms = DURATION_MS_MAX;
            }
        }
        // A day, and with a rotation a day past the first one.
        let rotated_ms = if self.rotation.is_some() { config.rotation_interval_ms } else { 0 };
        config.duration_ms = (rotated_ms + DAY_MS).min(DURATION_MS_MAX);
        // What the operator does on purpose is not the deployment's to answer for.
        config.revocation_at_ms = None;
        config.bad_file = None;
        config.unmounted_secret = None;
        config.restart_during_rotation = false;
        config
    }

    /// The flags of `tokenring-sim check` that describe this deployment.
    pub fn to_args(&self) -> String {
        let source = match self.kind {
            Kind::Etcd => format!("--watch-latency {}", format_duration(self.watch_latency_ms)),
            _ => format!("--secret-sync {}", format_duration(self.secret_sync_ms)),
        };
        let mut args = format!(
            "--deployment {} --replicas {} --clients {} {source} --poll {} --token-ttl {} --refresh-at {}",
            self.kind.as_str(),
            self.replicas,
            self.clients,
            format_duration(self.poll_ms),
            format_duration(self.token_ttl_secs * SECOND_MS),
            f64::from(self.refresh_at_per_mille) / 1000.0,
        );
        if let Some((propagation, overlap, forget)) = self.rotation {
            args.push_str(&format!(
                " --propagation {} --overlap {} --forget-after {} --every {}",
                format_duration(propagation * SECOND_MS),
                format_duration(overlap * SECOND_MS),
                format_duration(forget * SECOND_MS),
                format_duration(self.every_ms)
            ));
        }
        args
    }

    /// The deployment named `kind` (`kubernetes`, `single-host`, `per-node-files`, `etcd`).
    pub fn named(kind: &str) -> Option<Self> {
        Kind::from_name(kind).map(|kind| Self::new(kind, if kind == Kind::SingleHost { 1 } else { 3 }))
    }

    /// The rotation as `tokenring-sim check` gives it: propagation, overlap and forget period
    /// in seconds.
    #[must_use]
    pub fn rotation_secs(mut self, propagation_secs: u64, overlap_secs: u64, forget_after_secs: u64) -> Self {
        self.rotation = staging_of(
            &Rotation::new()
                .propagation_secs(propagation_secs)
                .overlap_secs(overlap_secs)
                .forget_after_secs(forget_after_secs),
        );
        self
    }

    fn describe(&self) -> String {
        let mut line = format!("{}, {} replicas", self.kind.as_str(), self.replicas);
        if self.kind == Kind::Kubernetes {
            line.push_str(&format!(", secret sync {}", format_duration(self.secret_sync_ms)));
        }
        if self.kind == Kind::Etcd {
            line.push_str(&format!(", watch latency {}", format_duration(self.watch_latency_ms)));
        }
        line.push_str(&format!(
            ", poll {}, tokens {} (refreshed at {}%)",
            format_duration(self.poll_ms),
            format_duration(self.token_ttl_secs * SECOND_MS),
            self.refresh_at_per_mille / 10
        ));
        match self.rotation {
            Some((propagation, overlap, _)) => line.push_str(&format!(
                ", rotation every {} (propagation {}, overlap {})",
                format_duration(self.every_ms),
                format_duration(propagation * SECOND_MS),
                format_duration(overlap * SECOND_MS)
            )),
            None => line.push_str(", no rotation"),
        }
        line
    }
}

/// A rule of the deployment that people were logged out for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// The rule, in an operator's words.
    pub rule: String,
    /// People (distinct clients, summed over the seeds) logged out for it.
    pub people: u64,
    /// The first one: seed, simulated time (ms), replica, rejection code.
    pub first: Option<(u64, u64, u16, &'static str)>,
}

/// What [`check`] found.
#[derive(Clone, Debug)]
pub struct Report {
    deployment: Deployment,
    seeds: Range<u64>,
    causes: Vec<Cause>,
    requests: u64,
    unanswered: u64,
    violations: Vec<String>,
    risks: Vec<String>,
}

impl Report {
    /// People logged out by a rejection (distinct clients in each run, summed over the seeds).
    pub fn people_logged_out(&self) -> u64 {
        self.causes.iter().map(|cause| cause.people).sum()
    }

    /// Why people were logged out, worst first.
    pub fn causes(&self) -> &[Cause] {
        &self.causes
    }

    /// Violations of the simulator's invariants: the library misbehaved (not the deployment).
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// Rules the deployment's numbers break that logged nobody out in these seeds: the window
    /// is there (a propagation below the slowest reload, an overlap below a token's lifetime),
    /// and more seeds, clients or time will find someone in it. A deployment passes when
    /// nobody was logged out and this is empty.
    pub fn risks(&self) -> &[String] {
        &self.risks
    }

    /// Whether the deployment passed: nobody logged out, no broken rule
    /// ([`risks`](Self::risks)) and no library fault.
    pub fn passed(&self) -> bool {
        self.people_logged_out() == 0 && self.risks.is_empty() && self.violations.is_empty()
    }

    /// The one-line command that replays the first failure, if there was one.
    pub fn replay_command(&self) -> Option<String> {
        let seed = self.causes.iter().filter_map(|cause| cause.first.map(|first| first.0)).min()?;
        Some(format!(
            "cargo run --release -p tokenring-sim -- check {} --seeds {seed}..{}",
            self.deployment.to_args(),
            seed + 1
        ))
    }
}

/// `day 7 02:00` for a simulated time.
fn day_and_time(ms: u64) -> String {
    let minutes = ms / 60_000;
    format!("day {} {:02}:{:02}", minutes / (24 * 60) + 1, minutes / 60 % 24, minutes % 60)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tokenring-sim check: {}; seeds {}..{}",
            self.deployment.describe(),
            self.seeds.start,
            self.seeds.end
        )?;
        let people = self.people_logged_out();
        if self.passed() {
            writeln!(f, "passed: nobody logged out ({} requests)", self.requests)?;
        }
        if people == 0 && !self.risks.is_empty() {
            writeln!(f, "nobody logged out in these seeds ({} requests), but a rule is broken:", self.requests)?;
        }
        for risk in &self.risks {
            writeln!(f, "AT RISK: {risk}: no request fell in its window in these seeds; more seeds or clients can")?;
        }
        for cause in &self.causes {
            let people = if cause.people == 1 { "person" } else { "people" };
            write!(f, "FAILED: {}: {} {people} logged out", cause.rule, cause.people)?;
            if let Some((seed, time_ms, node, code)) = cause.first {
                write!(f, ", first at {} (seed {seed}), on replica {node} ({code})", day_and_time(time_ms))?;
            }
            writeln!(f)?;
        }
        if self.unanswered > 0 {
            writeln!(f, "unanswered: {} of {} requests found no replica up", self.unanswered, self.requests)?;
        }
        for violation in &self.violations {
            writeln!(f, "LIBRARY FAULT (not the deployment's): {violation}")?;
        }
        if let Some(command) = self.replay_command() {
            writeln!(f, "replay the first failure: {command}")?;
        }
        Ok(())
    }
}

/// Runs `deployment` once per seed in `seeds`, on every core, and reports who was logged out
/// and which rule of the deployment it was for.
pub fn check(deployment: &Deployment, seeds: Range<u64>) -> Report {
    let configs: Vec<Config> = seeds.clone().map(|seed| deployment.config(seed)).collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let reports: Vec<Option<RunReport>> = run_all(&configs, threads, &|config: &Config| crate::run(config).ok());
    let mut report = Report {
        deployment: deployment.clone(),
        seeds,
        causes: Vec::new(),
        requests: 0,
        unanswered: 0,
        violations: Vec::new(),
        risks: Vec::new(),
    };
    for (config, run) in configs.iter().zip(reports) {
        let Some(run) = run else {
            report.violations.push(format!("seed {}: the deployment is out of the simulator's range", config.seed));
            continue;
        };
        report.requests += run.counters.honest_attempts();
        report.unanswered += run.counters.unanswered;
        if let Some(text) = crate::report::violation_report(&run) {
            report.violations.push(text);
        }
        for (&code, &people) in &run.counters.people_logged_out {
            let rule = rule_for(config, code);
            let first =
                run.counters.first_logout.map(|(time_ms, node, first_code)| (config.seed, time_ms, node, first_code));
            match report.causes.iter_mut().find(|cause| cause.rule == rule) {
                Some(cause) => {
                    cause.people += people;
                    cause.first = cause.first.or(first);
                }
                None => report.causes.push(Cause { rule, people, first }),
            }
        }
    }
    report.causes.sort_by_key(|cause| core::cmp::Reverse(cause.people));
    if let Some(config) = configs.first() {
        // Every seed's configuration has the deployment's numbers; only the faults' draws differ.
        let codes: &[&str] = match (deployment.kind, deployment.rotation) {
            (Kind::PerNodeFiles, _) if deployment.replicas > 1 => &["unknown-key"],
            (Kind::PerNodeFiles, _) => &[],
            (_, Some(_)) => &["unknown-key", "retired-key"],
            (_, None) => &[],
        };
        let seen = |rule: &String| report.causes.iter().any(|cause| &cause.rule == rule);
        let risks = codes.iter().filter_map(|code| broken_rule(config, code)).filter(|rule| !seen(rule));
        report.risks = risks.collect();
    }
    report
}

/// The deployment's rule that a logout with `code` is for, in an operator's words.
fn rule_for(config: &Config, code: &str) -> String {
    broken_rule(config, code)
        .unwrap_or_else(|| format!("rejected with {code}, which no rule of the deployment explains"))
}

/// The rule of the deployment, in an operator's words, that `config`'s numbers break and that
/// logs people out with `code`; `None` if they keep every rule behind `code`.
fn broken_rule(config: &Config, code: &str) -> Option<String> {
    let bound_secs = config.reload_bound_secs();
    let rule = match code {
        "unknown-key" if config.policy == Policy::PerNodeFiles => {
            "every replica signs with a key file of its own: a token works only on the replica that issued it"
                .to_owned()
        }
        "unknown-key" if config.policy == Policy::Etcd && config.propagation_secs() < bound_secs => format!(
            "propagation {} is shorter than the slowest reload, {} watch + {} request ({} with store outages, clock skew and drift)",
            format_duration(config.propagation_secs() * SECOND_MS),
            format_duration(config.watch_latency_max_ms),
            format_duration(config.etcd_request_latency_max_ms),
            format_duration(bound_secs * SECOND_MS),
        ),
        "unknown-key" if config.propagation_secs() < bound_secs => format!(
            "propagation {} is shorter than the slowest reload, {} sync + {} poll ({} with store outages, clock skew and drift)",
            format_duration(config.propagation_secs() * SECOND_MS),
            format_duration(config.propagation_delay_max_ms),
            format_duration(config.reload_interval_ms),
            format_duration(bound_secs * SECOND_MS),
        ),
        "retired-key" if config.overlap_secs() < config.token_ttl_secs + config.leeway_secs => format!(
            "overlap {} is shorter than the token lifetime {} plus the leeway {}",
            format_duration(config.overlap_secs() * SECOND_MS),
            format_duration(config.token_ttl_secs * SECOND_MS),
            format_duration(config.leeway_secs * SECOND_MS),
        ),
        _ => return None,
    };
    Some(rule)
}
