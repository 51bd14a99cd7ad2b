//! `tokenring-sim`: runs the simulator and prints the comparison of key policies.
//!
//! Exit status: 0 when every invariant held, 3 when one was violated (or a determinism check
//! failed), 2 for a usage error.

#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use tokenring_sim::{
    comparison_table, parse_duration, run, run_all, summary_table, violation_report, Config, ConfigError, Counters,
    Invariant, LoadBalancing, Policy, RunReport, TimedReport,
};

/// Exit status when an invariant is violated.
const EXIT_VIOLATION: u8 = 3;
/// Exit status for a usage error (clap uses the same).
const EXIT_USAGE: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PolicyArg {
    Ephemeral,
    PerNodeFiles,
    Persisted,
    Rotating,
    RotatingShortOverlap,
    Etcd,
}

impl From<PolicyArg> for Policy {
    fn from(policy: PolicyArg) -> Self {
        match policy {
            PolicyArg::Ephemeral => Policy::Ephemeral,
            PolicyArg::PerNodeFiles => Policy::PerNodeFiles,
            PolicyArg::Persisted => Policy::Persisted,
            PolicyArg::Rotating => Policy::Rotating,
            PolicyArg::RotatingShortOverlap => Policy::RotatingShortOverlap,
            PolicyArg::Etcd => Policy::Etcd,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LoadBalancingArg {
    Sticky,
    Random,
}

/// Deterministic simulation of a token-signing cluster through restarts, rotations, faults and
/// attacks, comparing key policies. Without arguments: the default scenario, all six policies.
#[derive(Debug, Parser)]
#[command(name = "tokenring-sim", version)]
struct Args {
    /// The seed of the run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run only this policy (default: all six).
    #[arg(long, value_enum)]
    policy: Option<PolicyArg>,
    /// Number of server nodes.
    #[arg(long, conflicts_with_all = ["swarm", "seeds"])]
    nodes: Option<u16>,
    /// Number of clients.
    #[arg(long, conflicts_with_all = ["swarm", "seeds"])]
    clients: Option<u32>,
    /// Simulated duration: 7d, 36h, 90m, 45s.
    #[arg(long, value_parser = parse_duration, conflicts_with_all = ["swarm", "seeds"])]
    duration: Option<u64>,
    /// Load balancing.
    #[arg(long, value_enum, conflicts_with_all = ["swarm", "seeds"])]
    lb: Option<LoadBalancingArg>,
    /// Let the seed draw the configuration (sizes, rates, which faults happen at all).
    #[arg(long)]
    swarm: bool,
    /// Size swarm runs to about this many requests each.
    #[arg(long, default_value_t = Config::SWARM_REQUESTS_BUDGET)]
    swarm_budget: u64,
    /// Sweep a range of seeds in swarm mode, A..B (B excluded), on all cores.
    #[arg(long, value_parser = parse_seed_range)]
    seeds: Option<(u64, u64)>,
    /// Run everything twice and compare the trace hashes.
    #[arg(long)]
    check_determinism: bool,
    /// Merge the `--json` outputs of sweep shards (given in seed order) into one summary,
    /// instead of running anything.
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with_all = ["swarm", "seeds", "check_determinism"])]
    merge: Vec<std::path::PathBuf>,
    /// Machine-readable output (JSON) instead of the table.
    #[arg(long)]
    json: bool,
    /// Deliberately break a component to prove the checker catches it (see docs/simulator.md
    /// for the list).
    #[arg(long, value_parser = parse_canary)]
    canary: Option<CanaryArg>,
    /// Honest traffic: about this many requests per second across the cluster (default
    /// scenario: about 2).
    #[arg(long, conflicts_with_all = ["swarm", "seeds", "request_every"])]
    rate: Option<u64>,
    /// Mean time between two requests of an active client (what --rate sets).
    #[arg(long, value_parser = parse_duration, conflicts_with_all = ["swarm", "seeds"])]
    request_every: Option<u64>,
    /// The rotations' propagation time (default: the reload bound); shorter shows what an
    /// under-configured propagation costs.
    #[arg(long, value_parser = parse_duration, conflicts_with_all = ["swarm", "seeds"])]
    propagation: Option<u64>,
    /// Clients send a rejected request once more, to another node, before logging in again.
    #[arg(long, conflicts_with_all = ["swarm", "seeds"])]
    retry_elsewhere: bool,
    /// Nodes issue a refresh token living this long at every login; a client whose access
    /// token is rejected or expired sends it for a new one before logging in again.
    #[arg(long, value_parser = parse_duration, conflicts_with_all = ["swarm", "seeds"])]
    refresh_tokens: Option<u64>,
    /// Print every counter, not only the summary table.
    #[arg(long)]
    verbose: bool,
    /// Worker threads (default: all cores). Each run is single-threaded either way.
    #[arg(long)]
    threads: Option<usize>,
}

/// CPU time the calling thread has used, in seconds, from Linux's scheduler statistics; `None`
/// where they are not available.
fn thread_cpu_secs() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}

/// A canary on the command line: the core's, in a build with the `canaries` feature.
#[cfg(feature = "canaries")]
type CanaryArg = tokenring_sim::Canary;
#[cfg(not(feature = "canaries"))]
type CanaryArg = String;

#[cfg(feature = "canaries")]
fn parse_canary(text: &str) -> Result<CanaryArg, String> {
    CanaryArg::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = CanaryArg::ALL.iter().map(|canary| canary.as_str()).collect();
        format!("unknown canary; one of: {}", names.join(", "))
    })
}

#[cfg(not(feature = "canaries"))]
fn parse_canary(_text: &str) -> Result<CanaryArg, String> {
    Err("the library's canaries are compiled in only by the canaries feature: \
         cargo run --release -p tokenring-sim --features canaries -- --canary NAME"
        .to_owned())
}

fn parse_seed_range(text: &str) -> Result<(u64, u64), String> {
    let (start, end) = text.split_once("..").ok_or("expected a range A..B")?;
    let start: u64 = start.trim().parse().map_err(|_| "the range start is not a number")?;
    let end: u64 = end.trim().parse().map_err(|_| "the range end is not a number")?;
    if end <= start {
        return Err("the range is empty".to_owned());
    }
    Ok((start, end))
}

/// `tokenring-sim check`: simulates a deployment described by flags, as
/// `tokenring_sim::check` does, and reports who was logged out and which rule it was for.
#[derive(Debug, Parser)]
#[command(name = "tokenring-sim check", bin_name = "tokenring-sim check", version)]
struct CheckArgs {
    /// Where the key set lives: kubernetes (a mounted Secret), single-host, per-node-files,
    /// etcd (one etcd key, watched).
    #[arg(long, default_value = "kubernetes")]
    deployment: String,
    /// Replicas behind the load balancer.
    #[arg(long, default_value_t = 3)]
    replicas: u16,
    /// People using the service in the simulation.
    #[arg(long, default_value_t = 200)]
    clients: u32,
    /// Longest time before a changed Secret shows in a replica (the kubelet's sync).
    #[arg(long, value_parser = parse_duration, default_value = "1m")]
    secret_sync: u64,
    /// The longest an etcd watch takes to tell a replica of a change (etcd only).
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    watch_latency: u64,
    /// How often each replica reloads its key set (under etcd: the backstop of the watch).
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    poll: u64,
    /// Token lifetime.
    #[arg(long, value_parser = parse_duration, default_value = "1h")]
    token_ttl: u64,
    /// Share of a token's lifetime after which clients refresh it.
    #[arg(long, default_value_t = 0.75)]
    refresh_at: f64,
    /// The rotation's propagation (no rotation without it).
    #[arg(long, value_parser = parse_duration)]
    propagation: Option<u64>,
    /// The rotation's overlap.
    #[arg(long, value_parser = parse_duration, default_value = "1d")]
    overlap: u64,
    /// How long a retired key is kept.
    #[arg(long, value_parser = parse_duration, default_value = "30d")]
    forget_after: u64,
    /// How often the key rotates.
    #[arg(long, value_parser = parse_duration, default_value = "1d")]
    every: u64,
    /// The seeds, A..B.
    #[arg(long, value_parser = parse_seed_range, default_value = "0..10")]
    seeds: (u64, u64),
}

fn check(arguments: impl Iterator<Item = std::ffi::OsString>) -> ExitCode {
    let args = CheckArgs::parse_from(arguments);
    let Some(deployment) = tokenring_sim::Deployment::named(&args.deployment) else {
        let _ = writeln!(
            std::io::stderr(),
            "tokenring-sim check: unknown deployment; one of: kubernetes, single-host, per-node-files, etcd"
        );
        return ExitCode::from(EXIT_USAGE);
    };
    let duration = std::time::Duration::from_millis;
    let mut deployment = deployment
        .replicas(args.replicas)
        .clients(args.clients)
        .secret_sync(duration(args.secret_sync))
        .watch_latency(duration(args.watch_latency))
        .poll(duration(args.poll))
        .token_ttl(duration(args.token_ttl))
        .refresh_at(args.refresh_at)
        .every(duration(args.every));
    if let Some(propagation) = args.propagation {
        deployment = deployment.rotation_secs(propagation / 1000, args.overlap / 1000, args.forget_after / 1000);
    }
    if let Err(error) = deployment.config(args.seeds.0).validate() {
        let _ = writeln!(std::io::stderr(), "tokenring-sim check: {error}");
        return ExitCode::from(EXIT_USAGE);
    }
    let report = tokenring_sim::check(&deployment, args.seeds.0..args.seeds.1);
    let _ = write!(std::io::stdout(), "{report}");
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_VIOLATION)
    }
}

fn main() -> ExitCode {
    let mut arguments = std::env::args_os();
    if std::env::args_os().nth(1).is_some_and(|first| first == "check") {
        let program = arguments.next();
        let _ = arguments.next();
        return check(program.into_iter().chain(arguments));
    }
    let args = Args::parse();
    if !args.merge.is_empty() {
        return merge(&args.merge);
    }
    let configs = match configurations(&args) {
        Ok(configs) => configs,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "tokenring-sim: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let repeats = if args.check_determinism { 2 } else { 1 };
    let jobs: Vec<Config> = configs.iter().flat_map(|config| std::iter::repeat_n(config.clone(), repeats)).collect();

    // A sweep on a terminal shows a progress bar on standard error; anywhere else, nothing.
    let progress = if args.seeds.is_some() && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(jobs.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {elapsed} (eta {eta})") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let runner = |config: &Config| -> Result<TimedReport, ConfigError> {
        let begun = Instant::now();
        let cpu_before = thread_cpu_secs();
        let report = run(config)?;
        let wall_secs = begun.elapsed().as_secs_f64();
        let cpu_secs = thread_cpu_secs().zip(cpu_before).map(|(after, before)| after - before);
        progress.inc(1);
        Ok(TimedReport { report, wall_secs, cpu_secs })
    };
    let results = run_all(&jobs, threads, &runner);
    let wall_secs = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    let mut timed = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(report) => timed.push(report),
            Err(error) => {
                let _ = writeln!(std::io::stderr(), "tokenring-sim: {error}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }

    // With --check-determinism every configuration ran twice, side by side.
    let mut mismatches = Vec::new();
    let runs: Vec<TimedReport> = if args.check_determinism {
        let mut firsts = Vec::new();
        for pair in timed.chunks(2) {
            if let [first, second] = pair {
                if first.report.trace_hash != second.report.trace_hash {
                    mismatches.push(first.report.config.clone());
                }
            }
            firsts.push(pair[0].clone());
        }
        firsts
    } else {
        timed
    };

    let output = Output { args: &args, runs: &runs, mismatches: &mismatches, wall_secs, threads };
    let written = if args.json { output.json() } else { output.text() };
    if let Err(error) = written {
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            let _ = writeln!(std::io::stderr(), "tokenring-sim: cannot write the output: {error}");
        }
    }
    let violated = runs.iter().any(|run| run.report.violation_count() > 0);
    if violated || !mismatches.is_empty() {
        ExitCode::from(EXIT_VIOLATION)
    } else {
        ExitCode::SUCCESS
    }
}

/// The configurations the arguments ask for, in output order.
fn configurations(args: &Args) -> Result<Vec<Config>, ConfigError> {
    let policies: Vec<Policy> = match args.policy {
        Some(policy) => vec![policy.into()],
        None => Policy::ALL.to_vec(),
    };
    #[cfg(feature = "canaries")]
    let canary = args.canary;
    let seeds = match args.seeds {
        Some((start, end)) => start..end,
        None => args.seed..args.seed + 1,
    };
    let swarm = args.swarm || args.seeds.is_some();
    let mut configs = Vec::new();
    for seed in seeds {
        for &policy in &policies {
            let mut config = if swarm {
                Config::swarm_sized(seed, policy, args.swarm_budget)
            } else {
                Config::default_scenario(seed, policy)
            };
            if let Some(nodes) = args.nodes {
                config.nodes = nodes;
            }
            if let Some(clients) = args.clients {
                config.clients = clients;
            }
            if let Some(duration) = args.duration {
                config.duration_ms = duration;
            }
            if let Some(rate) = args.rate {
                if rate == 0 {
                    return Err(ConfigError::OutOfRange("rate"));
                }
                config.set_request_rate(rate);
            }
            if args.retry_elsewhere {
                config.retry_elsewhere = true;
            }
            if let Some(propagation_ms) = args.propagation {
                config.propagation_configured_secs = Some(propagation_ms / 1000);
            }
            if let Some(refresh_ms) = args.refresh_tokens {
                config.refresh_token_ttl_secs = Some(refresh_ms / 1000);
            }
            if let Some(interval) = args.request_every {
                config.request_interval_mean_ms = interval;
            }
            if let Some(lb) = args.lb {
                config.load_balancing = match lb {
                    LoadBalancingArg::Sticky => LoadBalancing::Sticky,
                    LoadBalancingArg::Random => LoadBalancing::Random,
                };
            }
            #[cfg(feature = "canaries")]
            {
                config.canary = canary;
            }
            config.validate()?;
            configs.push(config);
        }
    }
    Ok(configs)
}

struct Output<'a> {
    args: &'a Args,
    runs: &'a [TimedReport],
    mismatches: &'a [Config],
    wall_secs: f64,
    threads: usize,
}

impl Output<'_> {
    fn combined_hash(&self) -> String {
        let mut hasher = Sha256::new();
        for run in self.runs {
            hasher.update(run.report.trace_hash.as_bytes());
        }
        hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Events, verifications, and the seconds the runs kept a core busy (CPU time where known).
    fn totals(&self) -> (u64, u64, f64) {
        let events: u64 = self.runs.iter().map(|run| run.report.events).sum();
        let verifications: u64 = self.runs.iter().map(|run| run.report.counters.verifications).sum();
        let busy_secs: f64 = self.runs.iter().map(TimedReport::busy_secs).sum();
        (events, verifications, busy_secs)
    }

    fn text(&self) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        let sweep = self.args.seeds.is_some();
        if let Some(first) = self.runs.first().map(|run| &run.report.config) {
            if sweep {
                let (start, end) = self.args.seeds.unwrap_or((0, 0));
                writeln!(
                    out,
                    "tokenring-sim sweep: seeds {start}..{end}, swarm mode (each seed draws its own configuration)"
                )?;
            } else {
                let mode = match first.origin {
                    tokenring_sim::Origin::Swarm { .. } => "swarm",
                    _ => "default scenario",
                };
                writeln!(out, "tokenring-sim: seed {} ({mode})", first.seed)?;
                for line in first.describe() {
                    writeln!(out, "  {line}")?;
                }
            }
            writeln!(out)?;
        }
        if sweep {
            self.sweep_summary(&mut out)?;
        } else {
            write!(out, "{}", summary_table(self.runs))?;
            if self.args.verbose {
                writeln!(out)?;
                writeln!(out, "details:")?;
                write!(out, "{}", comparison_table(self.runs))?;
            }
        }
        let mut shown = 0;
        for run in self.runs {
            if let Some(text) = violation_report(&run.report) {
                if shown < 3 {
                    writeln!(out)?;
                    write!(out, "{text}")?;
                } else {
                    let command = run.report.config.reproduce_command().unwrap_or_default();
                    writeln!(out, "also violated: {command}")?;
                }
                shown += 1;
            }
        }
        for config in self.mismatches {
            writeln!(out)?;
            writeln!(
                out,
                "INVARIANT {} VIOLATED ({}): seed {} policy {} gave two different trace hashes",
                Invariant::Nondeterminism.number(),
                Invariant::Nondeterminism.statement(),
                config.seed,
                config.policy
            )?;
            if let Some(command) = config.reproduce_command() {
                writeln!(out, "  reproduce: {command} --check-determinism")?;
            }
        }
        let (events, verifications, run_secs) = self.totals();
        writeln!(out)?;
        if self.args.check_determinism {
            let verdict = if self.mismatches.is_empty() { "passed" } else { "FAILED" };
            writeln!(out, "determinism check: {verdict} ({} runs, each twice)", self.runs.len())?;
        }
        writeln!(out, "trace hash: {}", self.combined_hash())?;
        writeln!(
            out,
            "{} runs, {events} events, {verifications} verifications in {:.2}s on {} threads ({run_secs:.2}s of CPU); per core: {:.0} events/s, {:.0} verifications/s",
            self.runs.len(),
            self.wall_secs,
            self.threads,
            events as f64 / run_secs.max(1e-9),
            verifications as f64 / run_secs.max(1e-9)
        )?;
        Ok(())
    }

    fn sweep_summary(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{:<24} {:>6} {:>11} {:>10} {:>11} {:>13} {:>9} {:>11} {:>10}",
            "policy",
            "runs",
            "requests",
            "re-logins",
            "honest-WARN",
            "availability",
            "attacks",
            "atk-accept",
            "violations"
        )?;
        for policy in Policy::ALL {
            let runs: Vec<&RunReport> =
                self.runs.iter().map(|run| &run.report).filter(|report| report.config.policy == policy).collect();
            if runs.is_empty() {
                continue;
            }
            let sum = |field: &dyn Fn(&RunReport) -> u64| runs.iter().map(|report| field(report)).sum::<u64>();
            let attempts = sum(&|report| report.counters.honest_attempts());
            let unanswered = sum(&|report| report.counters.unanswered);
            let availability =
                Counters { requests_attempted: attempts, unanswered, ..Counters::default() }.availability_ppm();
            writeln!(
                out,
                "{:<24} {:>6} {:>11} {:>10} {:>11} {:>13} {:>9} {:>11} {:>10}",
                policy.as_str(),
                runs.len(),
                sum(&|report| report.counters.requests),
                sum(&|report| report.counters.forced_relogins_total()),
                sum(&|report| report.counters.warn_lines_honest),
                format!("{}.{:03}%", availability / 10_000, availability % 10_000 / 10),
                sum(&|report| report.counters.attacks),
                sum(&|report| report.counters.attacks_accepted),
                sum(&|report| report.violation_count()),
            )?;
        }
        let failing = self.runs.iter().filter(|run| run.report.violation_count() > 0).count();
        writeln!(out, "runs with violations: {failing}")?;
        Ok(())
    }

    fn json(&self) -> std::io::Result<()> {
        let (events, verifications, run_secs) = self.totals();
        let document = serde_json::json!({
            "runs": self.runs,
            "determinism_mismatches": self.mismatches.iter().map(|config| serde_json::json!({
                "seed": config.seed,
                "policy": config.policy,
            })).collect::<Vec<_>>(),
            "trace_hash": self.combined_hash(),
            "wall_secs": self.wall_secs,
            "threads": self.threads,
            "events": events,
            "verifications": verifications,
            "busy_secs": run_secs,
            "events_per_core_second": events as f64 / run_secs.max(1e-9),
            "verifications_per_core_second": verifications as f64 / run_secs.max(1e-9),
            "violations": self.runs.iter().map(|run| run.report.violation_count()).sum::<u64>(),
        });
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &document).map_err(std::io::Error::other)?;
        writeln!(out)
    }
}

/// One counter of a run in a `--json` document.
fn counter(run: &serde_json::Value, name: &str) -> u64 {
    run["report"]["counters"][name].as_u64().unwrap_or(0)
}

/// The sum of a map of counters (by rejection code, by invariant) of a run.
fn map_total(value: &serde_json::Value) -> u64 {
    value.as_object().map_or(0, |map| map.values().filter_map(serde_json::Value::as_u64).sum())
}

/// `--merge`: the sweep summary of several shards' `--json` outputs, as one sweep would print
/// it, with the combined trace hash (the same as one sweep's when the shards are in seed
/// order).
fn merge(paths: &[std::path::PathBuf]) -> ExitCode {
    let mut runs: Vec<serde_json::Value> = Vec::new();
    let mut busy_secs = 0.0;
    for path in paths {
        let document: serde_json::Value = match std::fs::read(path)
            .map_err(|error| error.to_string())
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|error| error.to_string()))
        {
            Ok(document) => document,
            Err(error) => {
                let _ = writeln!(std::io::stderr(), "tokenring-sim: cannot read {}: {error}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        };
        busy_secs += document["busy_secs"].as_f64().unwrap_or(0.0);
        match document["runs"].as_array() {
            Some(shard) => runs.extend(shard.iter().cloned()),
            None => {
                let _ = writeln!(std::io::stderr(), "tokenring-sim: {} has no runs", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    let mut hasher = Sha256::new();
    for run in &runs {
        hasher.update(run["report"]["trace_hash"].as_str().unwrap_or("").as_bytes());
    }
    let combined: String = hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "tokenring-sim merge: {} shards, {} runs", paths.len(), runs.len());
    let _ = writeln!(
        out,
        "{:<24} {:>6} {:>11} {:>10} {:>11} {:>13} {:>9} {:>11} {:>10}",
        "policy", "runs", "requests", "re-logins", "honest-WARN", "availability", "attacks", "atk-accept", "violations"
    );
    let mut violations = 0;
    for policy in Policy::ALL {
        let of_policy: Vec<&serde_json::Value> =
            runs.iter().filter(|run| run["report"]["config"]["policy"].as_str() == Some(policy.as_str())).collect();
        if of_policy.is_empty() {
            continue;
        }
        let sum = |name: &str| of_policy.iter().map(|run| counter(run, name)).sum::<u64>();
        let relogins: u64 = of_policy.iter().map(|run| map_total(&run["report"]["counters"]["forced_relogins"])).sum();
        let violated: u64 = of_policy.iter().map(|run| map_total(&run["report"]["violations"])).sum();
        violations += violated;
        let availability = Counters {
            requests_attempted: sum("requests_attempted") + sum("login_attempts"),
            unanswered: sum("unanswered"),
            ..Counters::default()
        }
        .availability_ppm();
        let _ = writeln!(
            out,
            "{:<24} {:>6} {:>11} {:>10} {:>11} {:>13} {:>9} {:>11} {:>10}",
            policy.as_str(),
            of_policy.len(),
            sum("requests"),
            relogins,
            sum("warn_lines_honest"),
            format!("{}.{:03}%", availability / 10_000, availability % 10_000 / 10),
            sum("attacks"),
            sum("attacks_accepted"),
            violated,
        );
    }
    let failing: Vec<&serde_json::Value> =
        runs.iter().filter(|run| map_total(&run["report"]["violations"]) > 0).collect();
    let _ = writeln!(out, "runs with violations: {}", failing.len());
    for run in failing.iter().take(10) {
        let config = &run["report"]["config"];
        let _ = writeln!(
            out,
            "  seed {} policy {}: {}",
            config["seed"],
            config["policy"].as_str().unwrap_or("?"),
            run["report"]["first_violation"]["detail"].as_str().unwrap_or("?")
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "trace hash: {combined}");
    let verifications: u64 = runs.iter().map(|run| counter(run, "verifications")).sum();
    let _ = writeln!(out, "{} runs, {verifications} verifications, {busy_secs:.2}s of CPU", runs.len());
    if violations > 0 {
        ExitCode::from(EXIT_VIOLATION)
    } else {
        ExitCode::SUCCESS
    }
}
