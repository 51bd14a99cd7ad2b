//! What a run reports: counters, violations, the trace hash; and the comparison table.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{format_duration, Config, Policy};
use crate::oracle::{Invariant, Violation};

/// Everything a run counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Logins that got a token.
    pub sessions: u64,
    /// Logins because the client's own token had expired (not a rejection).
    pub natural_relogins: u64,
    /// Honest requests verified by a node (plain requests and refreshes).
    pub requests: u64,
    /// Honest requests accepted.
    pub accepted: u64,
    /// Tokens replaced by a refresh.
    pub refreshes: u64,
    /// Logins forced by a rejected request or refresh, by rejection code.
    pub forced_relogins: BTreeMap<&'static str, u64>,
    /// Every rejection, honest and attacker, by code.
    pub rejections: BTreeMap<&'static str, u64>,
    /// Rejections of honest requests, by code.
    pub honest_rejections: BTreeMap<&'static str, u64>,
    /// Node log lines at INFO.
    pub info_lines: u64,
    /// Node log lines at WARN: the suspicious rejections an operator sees.
    pub warn_lines: u64,
    /// WARN lines caused by honest clients.
    pub warn_lines_honest: u64,
    /// Node log lines at ERROR (store unavailable and the like).
    pub error_lines: u64,
    /// Attacker tokens sent.
    pub attacks: u64,
    /// Attacker tokens accepted.
    pub attacks_accepted: u64,
    /// Attacker outcomes by attack kind, then by code (or `accepted`).
    pub attack_outcomes: BTreeMap<&'static str, BTreeMap<&'static str, u64>>,
    /// Attacker tokens whose rejection is routine by design, by reason.
    pub attacks_routine_by_design: BTreeMap<&'static str, u64>,
    /// Honest requests attempted: sent to a node, or finding none.
    pub requests_attempted: u64,
    /// Logins attempted.
    pub login_attempts: u64,
    /// Honest requests and logins that found no node able to serve them.
    pub unanswered: u64,
    /// Of those, the ones no fault explains (invariant 7).
    pub unanswered_unexplained: u64,
    /// Nodes coming up.
    pub node_starts: u64,
    /// Crashes (random, or in the middle of a store write).
    pub crashes: u64,
    /// Planned stops (rolling or scheduled restarts).
    pub planned_stops: u64,
    /// Starts that found the store unavailable and stayed down.
    pub starts_deferred: u64,
    /// Steps of a running node's clock.
    pub clock_jumps: u64,
    /// Of those, starts refused because the node's Secret was not mounted (the fault).
    pub starts_refused_unmounted: u64,
    /// Reloads that found the store unavailable.
    pub reloads_failed: u64,
    /// Reload loops that stalled.
    pub reload_stalls: u64,
    /// Rejected requests sent again to another node.
    pub retries_elsewhere: u64,
    /// Key sets created in the empty store.
    pub creates: u64,
    /// Creates that found another node's key set already there, and used it.
    pub creates_lost_race: u64,
    /// Crashes in the middle of a store write that left the old document.
    pub write_crashes_old_survived: u64,
    /// Crashes in the middle of a store write that left the new document.
    pub write_crashes_new_survived: u64,
    /// Rotations written to the store.
    pub rotations: u64,
    /// Rotations postponed (no node up, store unavailable, previous key not yet active).
    pub rotations_deferred: u64,
    /// Rotations refused because the ring was full.
    pub rotations_refused: u64,
    /// Rotations that gave up because another writer held the key file's lock too long.
    pub rotations_locked_out: u64,
    /// Waits for the key file's lock (retries inside `FileStore::update`).
    pub lock_waits: u64,
    /// Second rotators started while a first rotator's update was under way.
    pub concurrent_rotations: u64,
    /// Writes that waited for the lock (in simulated time) before they got it or gave up.
    pub lock_waited_writes: u64,
    /// The longest a write took from asking for the lock to its last operation (ms).
    pub lock_wait_ms_max: u64,
    /// `etcd`: swaps that found another writer's commit since their read (each retried by the
    /// core's update, from a fresh read).
    pub swap_conflicts: u64,
    /// `etcd`: changes the watch delivered to a node that was up (each woke its reload).
    pub watch_changes: u64,
    /// `etcd`: watch events an outage broke the stream before (the resumption covers them).
    pub watch_events_lost: u64,
    /// `etcd`: losses of the watch stream delivered to a node that was up.
    pub watch_losses: u64,
    /// `etcd`: resumptions of the watch stream delivered to a node that was up.
    pub watch_resumptions: u64,
    /// `etcd`: outages of etcd.
    pub etcd_outages: u64,
    /// Reload failures a node's reload machine reported as new (logged at ERROR; a repeat of
    /// the same failure is not).
    pub reload_failures_reported: u64,
    /// Reloads that found the store usable again after a failure (the machine's recovery).
    pub reload_recoveries: u64,
    /// Refresh tokens sent for a new access token.
    pub refresh_grants_attempted: u64,
    /// Of those, the ones that got one.
    pub refresh_grants: u64,
    /// Rejected access tokens whose holder answered with its refresh token rather than log in.
    pub rejections_saved_by_refresh: u64,
    /// Rolling restarts started by a rotation that wrote a key.
    pub restarts_during_rotation: u64,
    /// Nodes that booted while a rotation's key propagated.
    pub starts_during_rotation: u64,
    /// Requests that reached their node after a network latency.
    pub requests_delayed: u64,
    /// Honest tokens that expired on their way to the node, accepted within the leeway.
    pub accepted_expired_in_flight: u64,
    /// Requests whose node went down while they were on their way, sent to another node.
    pub requests_rerouted: u64,
    /// The longest network latency of a request (ms).
    pub latency_ms_max: u64,
    /// The largest clock error (skew plus drift) of a node that issued or verified a client's
    /// token (ms).
    pub clock_error_ms_max: u64,
    /// Honest rejections of tokens sent before they expired, whose latency and clock errors
    /// together exceeded the leeway (invariant 2 is not claimed for them).
    pub rejections_beyond_leeway: u64,
    /// Tokens verified, honest and attacker.
    pub verifications: u64,
    /// Keys an operator revoked.
    pub revocations: u64,
    /// Reads that found the broken key file an operator pushed (the node kept its ring, or did
    /// not start).
    pub bad_file_reads: u64,
    /// Honest tokens rejected while a broken key file kept nodes on an old ring (the fault
    /// explains them: invariant 2 is not claimed for them).
    pub rejections_during_bad_file: u64,
    /// Distinct clients (people) logged out at least once by a rejection, by the first code.
    pub people_logged_out: BTreeMap<&'static str, u64>,
    /// The first rejection that logged someone out: when (simulated ms), which node, which code.
    pub first_logout: Option<(u64, u16, &'static str)>,
}

impl Counters {
    /// Forced re-logins, all causes.
    pub fn forced_relogins_total(&self) -> u64 {
        self.forced_relogins.values().sum()
    }

    /// Honest requests and logins attempted.
    pub fn honest_attempts(&self) -> u64 {
        self.requests_attempted + self.login_attempts
    }

    /// The share of honest requests and logins that a node answered, in parts per million.
    pub fn availability_ppm(&self) -> u64 {
        let attempts = self.honest_attempts();
        if attempts == 0 {
            return 1_000_000;
        }
        let answered = attempts.saturating_sub(self.unanswered);
        u64::try_from(u128::from(answered) * 1_000_000 / u128::from(attempts)).unwrap_or(1_000_000)
    }

    /// The share of honest requests and logins served as the user meant, in parts per
    /// million: neither unanswered nor refused (a refusal logs the person out, so it counts
    /// against the policy that caused it).
    pub fn served_ppm(&self) -> u64 {
        let attempts = self.honest_attempts();
        if attempts == 0 {
            return 1_000_000;
        }
        let served = attempts.saturating_sub(self.unanswered).saturating_sub(self.forced_relogins_total());
        u64::try_from(u128::from(served) * 1_000_000 / u128::from(attempts)).unwrap_or(1_000_000)
    }

    pub(crate) fn bump(map: &mut BTreeMap<&'static str, u64>, key: &'static str) {
        *map.entry(key).or_insert(0) += 1;
    }
}

/// The result of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// The configuration that ran.
    pub config: Config,
    /// What happened.
    pub counters: Counters,
    /// Violations, by invariant (only those that occurred).
    pub violations: BTreeMap<Invariant, u64>,
    /// The first violation, in detail.
    pub first_violation: Option<Violation>,
    /// SHA-256 of the event trace, in hex.
    pub trace_hash: String,
    /// Events processed.
    pub events: u64,
}

impl RunReport {
    /// Violations of every invariant together.
    pub fn violation_count(&self) -> u64 {
        self.violations.values().sum()
    }

    /// Violations of `invariant`.
    pub fn violations_of(&self, invariant: Invariant) -> u64 {
        self.violations.get(&invariant).copied().unwrap_or(0)
    }
}

/// One run with how long it took (measured by the caller, never by the simulation).
#[derive(Clone, Debug, Serialize)]
pub struct TimedReport {
    /// The run.
    pub report: RunReport,
    /// Wall-clock time of the run, in seconds.
    pub wall_secs: f64,
    /// CPU time the run's thread used, in seconds, where the platform tells. Unlike the wall
    /// time, it does not grow when other processes share the cores.
    pub cpu_secs: Option<f64>,
}

impl TimedReport {
    /// The time to rate the run by: its CPU time if known, else its wall time.
    pub fn busy_secs(&self) -> f64 {
        self.cpu_secs.unwrap_or(self.wall_secs).max(1e-9)
    }
}

fn policy_column(policy: Policy) -> String {
    policy.as_str().to_owned()
}

/// Parts per million as a percentage with three decimals.
fn percent(ppm: u64) -> String {
    format!("{}.{:03}%", ppm / 10_000, ppm % 10_000 / 10)
}

/// The rejection code that forced the most re-logins, with its count.
/// Why most people were logged out, in words.
fn main_cause(counters: &Counters) -> String {
    let words = |code: &str| match code {
        "unknown-key" => "a replica lacked the key",
        "retired-key" => "the key retired too early",
        "revoked-key" => "the operator revoked the key",
        "forgotten-key" => "the key was forgotten",
        "expired" => "a token used after expiry",
        "not-yet-valid" => "clocks too far apart",
        _ => "another rejection",
    };
    counters
        .people_logged_out
        .iter()
        .max_by_key(|(code, count)| (**count, core::cmp::Reverse(**code)))
        .map_or_else(|| "-".to_owned(), |(code, _)| format!("{} ({code})", words(code)))
}

/// The summary table a newcomer reads first: one column per run (policy), what each policy
/// costs users and operators, whether attackers got in, and whether every invariant held.
pub fn summary_table(runs: &[TimedReport]) -> String {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: &str, cell: &dyn Fn(&TimedReport) -> String| {
        rows.push((label.to_owned(), runs.iter().map(cell).collect()));
    };
    let count = |value: u64| value.to_string();
    row("honest requests (logins)", &|run| {
        format!("{} ({})", run.report.counters.requests, run.report.counters.sessions)
    });
    row("people logged out (of clients)", &|run| {
        let people: u64 = run.report.counters.people_logged_out.values().sum();
        format!("{people} ({})", run.report.config.clients)
    });
    row("  why, mostly", &|run| main_cause(&run.report.counters));
    row("WARN lines caused by honest users", &|run| count(run.report.counters.warn_lines_honest));
    row("availability (served, not refused)", &|run| percent(run.report.counters.served_ppm()));
    row("  unanswered: by a fault / not", &|run| {
        let counters = &run.report.counters;
        format!("{} / {}", counters.unanswered - counters.unanswered_unexplained, counters.unanswered_unexplained)
    });
    row("attacker tokens accepted (sent)", &|run| {
        format!("{} ({})", run.report.counters.attacks_accepted, run.report.counters.attacks)
    });
    row("node starts / crashes", &|run| {
        format!("{} / {}", run.report.counters.node_starts, run.report.counters.crashes)
    });
    row("rotations (refused)", &|run| {
        format!("{} ({})", run.report.counters.rotations, run.report.counters.rotations_refused)
    });
    row("INVARIANT VIOLATIONS", &|run| count(run.report.violation_count()));
    render(runs, &rows)
}

fn render(runs: &[TimedReport], rows: &[(String, Vec<String>)]) -> String {
    let label_width = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..runs.len())
        .map(|column| {
            let header = policy_column(runs[column].report.config.policy).len();
            rows.iter().map(|(_, cells)| cells[column].chars().count()).max().unwrap_or(0).max(header)
        })
        .collect();
    let mut out = String::new();
    out.push_str(&format!("{:label_width$}", ""));
    for (run, width) in runs.iter().zip(&widths) {
        out.push_str(&format!("  {:>width$}", policy_column(run.report.config.policy)));
    }
    out.push('\n');
    for (label, cells) in rows {
        out.push_str(&format!("{label:label_width$}"));
        for (cell, width) in cells.iter().zip(&widths) {
            out.push_str(&format!("  {cell:>width$}"));
        }
        out.push('\n');
    }
    out
}

/// The detailed table (`--verbose`): one column per run (policy), every counter.
pub fn comparison_table(runs: &[TimedReport]) -> String {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: &str, cell: &dyn Fn(&TimedReport) -> String| {
        rows.push((label.to_owned(), runs.iter().map(cell).collect()));
    };
    let count = |value: u64| value.to_string();
    row("sessions (logins)", &|run| count(run.report.counters.sessions));
    row("  after natural expiry", &|run| count(run.report.counters.natural_relogins));
    row("requests (honest)", &|run| count(run.report.counters.requests));
    row("accepted", &|run| count(run.report.counters.accepted));
    row("refreshes", &|run| count(run.report.counters.refreshes));
    row("forced re-logins", &|run| count(run.report.counters.forced_relogins_total()));
    let mut forced_codes: Vec<&'static str> =
        runs.iter().flat_map(|run| run.report.counters.forced_relogins.keys().copied()).collect();
    forced_codes.sort_unstable();
    forced_codes.dedup();
    for code in forced_codes {
        row(&format!("  by {code}"), &|run| count(run.report.counters.forced_relogins.get(code).copied().unwrap_or(0)));
    }
    let mut codes: Vec<&'static str> =
        runs.iter().flat_map(|run| run.report.counters.rejections.keys().copied()).collect();
    codes.sort_unstable();
    codes.dedup();
    row("rejections (all)", &|run| count(run.report.counters.rejections.values().sum()));
    for code in codes {
        row(&format!("  {code}"), &|run| {
            let counters = &run.report.counters;
            let honest = counters.honest_rejections.get(code).copied().unwrap_or(0);
            let all = counters.rejections.get(code).copied().unwrap_or(0);
            if honest > 0 {
                format!("{all} ({honest} honest)")
            } else {
                count(all)
            }
        });
    }
    row("WARN lines (suspicious)", &|run| count(run.report.counters.warn_lines));
    row("  from honest clients", &|run| count(run.report.counters.warn_lines_honest));
    row("INFO lines (routine)", &|run| count(run.report.counters.info_lines));
    row("attacker tokens sent", &|run| count(run.report.counters.attacks));
    row("attacker tokens accepted", &|run| count(run.report.counters.attacks_accepted));
    row("  rejected as routine: replays", &|run| {
        count(run.report.counters.attacks_routine_by_design.get("replay-of-genuine-token").copied().unwrap_or(0))
    });
    row("availability", &|run| percent(run.report.counters.availability_ppm()));
    row("  unanswered (unexplained)", &|run| {
        format!("{} ({})", run.report.counters.unanswered, run.report.counters.unanswered_unexplained)
    });
    row("node starts / crashes", &|run| {
        format!("{} / {}", run.report.counters.node_starts, run.report.counters.crashes)
    });
    row("starts deferred (store down)", &|run| count(run.report.counters.starts_deferred));
    row("  of which: secret not mounted", &|run| count(run.report.counters.starts_refused_unmounted));
    row("clock steps while running", &|run| count(run.report.counters.clock_jumps));
    row("refresh tokens redeemed (of sent)", &|run| {
        let counters = &run.report.counters;
        format!("{} ({})", counters.refresh_grants, counters.refresh_grants_attempted)
    });
    row("  after a rejection", &|run| count(run.report.counters.rejections_saved_by_refresh));
    row("rolling restarts during a rotation", &|run| {
        let counters = &run.report.counters;
        format!("{} ({} node starts)", counters.restarts_during_rotation, counters.starts_during_rotation)
    });
    row("clock drift, largest clock error", &|run| {
        format!(
            "±{}ppm, {}",
            run.report.config.clock_drift_ppm_max,
            crate::config::format_duration(run.report.counters.clock_error_ms_max)
        )
    });
    row("requests delayed (longest)", &|run| {
        let counters = &run.report.counters;
        format!(
            "{} ({}), {} rerouted, {} expired in flight",
            counters.requests_delayed,
            crate::config::format_duration(counters.latency_ms_max),
            counters.requests_rerouted,
            counters.accepted_expired_in_flight
        )
    });
    row("rejections beyond the leeway", &|run| count(run.report.counters.rejections_beyond_leeway));
    row("reload loops stalled", &|run| count(run.report.counters.reload_stalls));
    row("retries on another node", &|run| count(run.report.counters.retries_elsewhere));
    row("write crashes (old/new kept)", &|run| {
        format!("{}/{}", run.report.counters.write_crashes_old_survived, run.report.counters.write_crashes_new_survived)
    });
    row("rotations (deferred)", &|run| {
        format!("{} ({})", run.report.counters.rotations, run.report.counters.rotations_deferred)
    });
    row("concurrent rotators (locked out)", &|run| {
        format!("{} ({})", run.report.counters.concurrent_rotations, run.report.counters.rotations_locked_out)
    });
    row("etcd: swap conflicts retried", &|run| count(run.report.counters.swap_conflicts));
    row("etcd: watch changes (lost) / losses / resumptions", &|run| {
        let counters = &run.report.counters;
        format!(
            "{} ({}) / {} / {}",
            counters.watch_changes, counters.watch_events_lost, counters.watch_losses, counters.watch_resumptions
        )
    });
    row("reload failures reported (recoveries)", &|run| {
        format!("{} ({})", run.report.counters.reload_failures_reported, run.report.counters.reload_recoveries)
    });
    row("writes that waited for the lock", &|run| {
        let counters = &run.report.counters;
        format!(
            "{} (longest {})",
            counters.lock_waited_writes,
            crate::config::format_duration(counters.lock_wait_ms_max)
        )
    });
    row("INVARIANT VIOLATIONS", &|run| count(run.report.violation_count()));
    row("trace hash", &|run| run.report.trace_hash[..16].to_owned());
    row("wall time (CPU time)", &|run| match run.cpu_secs {
        Some(cpu) => format!("{:.2}s ({cpu:.2}s)", run.wall_secs),
        None => format!("{:.2}s", run.wall_secs),
    });
    row("verifications per core-second", &|run| {
        format!("{:.0}k", run.report.counters.verifications as f64 / run.busy_secs() / 1000.0)
    });

    render(runs, &rows)
}

/// The violation report: what broke, the events before it, and how to reproduce it.
pub fn violation_report(report: &RunReport) -> Option<String> {
    let violation = report.first_violation.as_ref()?;
    let mut out = format!(
        "INVARIANT {} VIOLATED ({}) in seed {} policy {} at {}:\n  {}\n",
        violation.invariant.number(),
        violation.invariant.statement(),
        report.config.seed,
        report.config.policy,
        crate::config::format_instant(violation.time_ms),
        violation.detail
    );
    let counts: Vec<String> = report
        .violations
        .iter()
        .map(|(invariant, count)| format!("invariant {}: {count}", invariant.number()))
        .collect();
    out.push_str(&format!("  violations in this run: {}\n", counts.join(", ")));
    out.push_str("  configuration:\n");
    for line in report.config.describe() {
        out.push_str(&format!("    {line}\n"));
    }
    out.push_str(&format!("  last {} events:\n", violation.recent_events.len()));
    for event in &violation.recent_events {
        out.push_str(&format!("    {event}\n"));
    }
    match report.config.reproduce_command() {
        Some(command) => out.push_str(&format!("  reproduce: {command}\n")),
        None => out.push_str("  reproduce: a custom configuration; rerun the test that built it\n"),
    }
    Some(out)
}

/// A short description of the scenario: duration and sizes.
pub fn scenario_line(config: &Config) -> String {
    format!(
        "seed {} · {} nodes · {} clients · {} · lb {}",
        config.seed,
        config.nodes,
        config.clients,
        format_duration(config.duration_ms),
        config.load_balancing.as_str()
    )
}
