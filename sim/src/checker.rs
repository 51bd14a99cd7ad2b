//! The checker: it consumes what the components report happened ([`Observed`]) and owns every
//! invariant. The components never decide that something is a violation; they say what they
//! did, saw or hold, and the checker, with its own record of the faults the scenario injected
//! (revocations, the operator's broken key file), judges it.

use std::collections::BTreeMap;

use tokenring::{KeyRing, KeySetError, Kid, Rejection};

use crate::config::{format_duration, AttackKind, Config, SECOND_MS};
use crate::model::{self, KeySerial, KeySetModel, Outcome, TokenFacts};
use crate::oracle::{Invariant, RoutineByDesign, Secrets, Violation};
use crate::report::Counters;
use crate::trace::Trace;

/// What a rotator's ring did with `rotate_if_older_than`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RingRotation {
    /// It added a key.
    Rotated,
    /// Its newest key is fresh enough.
    Declined,
    /// It is full.
    Full,
}

/// When a client's request was sent, and how far the clocks that judge its token are off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    /// When the client sent it (simulated ms); it reaches the node after the network's latency.
    pub(crate) sent_ms: u64,
    /// How far the clock of the node that issued the token was off true time when it did.
    pub(crate) issuer_error_ms: i64,
    /// How far the clock of the node that verifies it is off true time now.
    pub(crate) verifier_error_ms: i64,
    /// The token's lifetime: an access token's, or a refresh token's.
    pub(crate) ttl_ms: u64,
}

/// Something that happened in the model, as the checker needs to know it.
pub(crate) enum Observed<'a> {
    /// A node writes a log line.
    LogLine { level: &'static str, line: &'a str },
    /// A new key entered the cluster in `ring` (its JWK Set): its bytes must never be logged.
    ClusterKey { jwk_set: &'a str },
    /// A library call that nothing in the scenario can make fail, failed.
    LibraryFailed { node: usize, call: &'static str, error: &'a dyn core::fmt::Display },
    /// Node `node` came up (it takes requests from now on), with the ring of `model`, read
    /// from its volume as it was when it booted at `booted_ms`.
    NodeUp { node: usize, model: &'a KeySetModel, booted_ms: u64 },
    /// A rotation's new key (`serial`) landed in the key file at `landed_ms`.
    RotationLanded { serial: KeySerial, landed_ms: u64 },
    /// A node could not start for `reason`, and no fault the scenario injected explains it.
    StartFailed { node: usize, reason: &'static str },
    /// Node `node` `verb` (loaded, read) a key set; `model` is the oracle's model of it, none
    /// if no writer wrote it.
    KeySetRead { node: usize, verb: &'static str, model: Option<&'a KeySetModel> },
    /// Node `node`'s ring and the model of it, `when` (at start, after reload...).
    Holds { node: usize, ring: &'a KeyRing, model: &'a KeySetModel, now_secs: u64, when: &'static str },
    /// A write of `writer` ended; the key file changed. `file`: none if there is no key file,
    /// else the model of what it holds (none if no writer wrote it); `before`: the model of
    /// the file it replaced.
    WriteEnded {
        writer: usize,
        crashed: bool,
        temp_files: usize,
        file: Option<Option<&'a KeySetModel>>,
        before: Option<&'a KeySetModel>,
        now_secs: u64,
    },
    /// A node that is up found no key file (`when`).
    KeyFileMissing { node: usize, when: &'static str },
    /// A read found a key file that does not parse.
    Unparsable { node: usize, error: &'a KeySetError },
    /// The operator pushed a broken key file (`restore`: put the good one back).
    BadFile { restore: bool },
    /// The operator revoked the key of `serial`, and the revocation is in the key file.
    Revoked { serial: KeySerial },
    /// A rotator's ring and the model decided on a rotation.
    RotationDecided { ring: RingRotation, model_rotates: bool, model_refuses: bool },
    /// Node `node` signed with `kid`; `expected` is the model's signer, `known` whether a node
    /// made that key.
    Signed { node: usize, kid: Kid, expected: Option<Kid>, known: bool },
    /// Node `node` verified a token and answered `result`; the ground truth calls for
    /// `expectation`. `mac_verified`: the token carries the MAC of a key the node holds.
    Served {
        node: usize,
        attack: Option<AttackKind>,
        actor: u32,
        result: &'a Result<(u32, Option<Kid>), Rejection>,
        expectation: Outcome,
        facts: &'a TokenFacts,
        mac_verified: bool,
        timing: Option<Timing>,
    },
    /// A writer on node `node` asked for the key file's lock at `asked_ms`, while the writer
    /// before it held it until `lock_free_at_ms` (simulated time) or an outside holder
    /// (`contended`) took some attempts; `locked_out`: it gave up (`StoreError::Locked`).
    LockWait { node: usize, asked_ms: u64, lock_free_at_ms: u64, contended: bool, locked_out: bool },
    /// A second rotator's update on `node`, concurrent with a first one that added the key of
    /// `first_key`, succeeded; `holds`: the ring it reloaded holds that key.
    ConcurrentUpdateEnded { node: usize, first_key: KeySerial, holds: bool },
    /// A rotator's update on `node` returned that it wrote the key of `serial`; `in_store`: the
    /// store's document holds that key afterwards.
    RotationAccepted { node: usize, serial: KeySerial, in_store: bool },
    /// No node served a client. `able`: a node that is up and, by the model, able to serve it.
    Unanswered { client: u32, login: bool, able: Option<usize> },
}

/// The checker's state: what it has seen of the faults, and what it found.
#[derive(Debug)]
pub(crate) struct Checker<'c> {
    config: &'c Config,
    /// Every secret that must never be logged (invariant 4).
    secrets: Secrets,
    /// Keys an operator revoked, by serial, with when (simulated ms).
    revoked: BTreeMap<KeySerial, u64>,
    /// A read of a key file that does not parse is explained until then: the operator pushed
    /// a broken one, and mounts may show it until the good one has propagated.
    bad_file_until_ms: Option<u64>,
    /// From the operator's broken push to a reload bound after the good file is back: when
    /// nodes may hold an old ring.
    bad_file_window_ms: Option<(u64, u64)>,
    violations: BTreeMap<Invariant, u64>,
    first_violation: Option<Violation>,
    /// The checker's own counters, added to the run's at the end.
    unanswered_unexplained: u64,
    rejections_during_bad_file: u64,
    /// Honest rejections of tokens sent before they expired whose latency and clock errors
    /// together exceed the leeway: invariant 2 is not claimed for them.
    rejections_beyond_leeway: u64,
    /// The largest clock error seen on a node that issued or verified a client's token (ms).
    clock_error_ms_max: u64,
    /// The newest rotation's key and when it landed, until the key file changes otherwise.
    rotation_landed: Option<(KeySerial, u64)>,
    /// Nodes that booted while a rotation's key propagated.
    starts_during_rotation: u64,
    /// Honest tokens that expired on their way to the node, accepted within the leeway.
    accepted_expired_in_flight: u64,
    attacks_routine_by_design: BTreeMap<&'static str, u64>,
}

impl<'c> Checker<'c> {
    pub(crate) fn new(config: &'c Config) -> Self {
        Self {
            config,
            secrets: Secrets::default(),
            revoked: BTreeMap::new(),
            bad_file_until_ms: None,
            bad_file_window_ms: None,
            violations: BTreeMap::new(),
            first_violation: None,
            unanswered_unexplained: 0,
            rejections_during_bad_file: 0,
            rejections_beyond_leeway: 0,
            clock_error_ms_max: 0,
            rotation_landed: None,
            starts_during_rotation: 0,
            accepted_expired_in_flight: 0,
            attacks_routine_by_design: BTreeMap::new(),
        }
    }

    /// The secrets the attacker's keys and tokens add to.
    pub(crate) fn secrets_mut(&mut self) -> &mut Secrets {
        &mut self.secrets
    }

    /// A token the cluster issued: its signature must never be logged.
    pub(crate) fn add_token(&mut self, token: &str) {
        self.secrets.add_token(token);
    }

    /// The violations found, the first one, and the checker's counters added to `counters`.
    pub(crate) fn finish(self, counters: &mut Counters) -> (BTreeMap<Invariant, u64>, Option<Violation>) {
        counters.unanswered_unexplained += self.unanswered_unexplained;
        counters.rejections_during_bad_file += self.rejections_during_bad_file;
        counters.rejections_beyond_leeway += self.rejections_beyond_leeway;
        counters.starts_during_rotation += self.starts_during_rotation;
        counters.accepted_expired_in_flight += self.accepted_expired_in_flight;
        counters.clock_error_ms_max = counters.clock_error_ms_max.max(self.clock_error_ms_max);
        for (reason, count) in self.attacks_routine_by_design {
            *counters.attacks_routine_by_design.entry(reason).or_insert(0) += count;
        }
        (self.violations, self.first_violation)
    }

    #[cfg(test)]
    pub(crate) fn violation_count(&self) -> u64 {
        self.violations.values().sum()
    }

    fn violate(&mut self, now_ms: u64, trace: &Trace, invariant: Invariant, detail: String) {
        *self.violations.entry(invariant).or_insert(0) += 1;
        if self.first_violation.is_none() {
            self.first_violation =
                Some(Violation { invariant, time_ms: now_ms, detail, recent_events: trace.recent() });
        }
    }

    /// Checks what happened at `now_ms`; `trace` holds the events before it.
    pub(crate) fn observe(&mut self, now_ms: u64, trace: &Trace, observed: Observed<'_>) {
        let verdicts: Vec<(Invariant, String)> = match observed {
            Observed::LogLine { level, line } => {
                if self.secrets.leaks(line) {
                    let prefix: String = line.chars().take(24).collect();
                    vec![(
                        Invariant::SecretInLog,
                        format!("a {level} line starting {prefix:?} contains a token signature or key bytes"),
                    )]
                } else {
                    Vec::new()
                }
            }
            Observed::ClusterKey { jwk_set } => match self.secrets.add_key_set(jwk_set) {
                Ok(()) => Vec::new(),
                Err(why) => {
                    vec![(Invariant::KeyKnowledge, format!("the ring's own JWK Set cannot be read back: {why}"))]
                }
            },
            Observed::LibraryFailed { node, call, error } => {
                vec![(Invariant::KeyKnowledge, format!("node {node}: {call} failed: {error}"))]
            }
            Observed::RotationLanded { serial, landed_ms } => {
                self.rotation_landed = Some((serial, landed_ms));
                Vec::new()
            }
            Observed::NodeUp { node, model, booted_ms } => {
                let mut verdicts = self.restarted_during_rotation(node, model, booted_ms);
                let unmounted = self.config.policy.uses_key_file()
                    && self
                        .config
                        .unmounted_secret
                        .is_some_and(|(unmounted, until_ms)| usize::from(unmounted) == node && now_ms < until_ms);
                if unmounted {
                    verdicts.push((
                        Invariant::KeyKnowledge,
                        format!("node {node} came up while its Secret was not mounted: it has a key no other node has"),
                    ));
                }
                verdicts
            }
            Observed::StartFailed { node, reason } => {
                vec![(Invariant::Liveness, format!("node {node} cannot start: {reason}"))]
            }
            Observed::KeySetRead { node, verb, model } => match model {
                Some(_) => Vec::new(),
                None => vec![(Invariant::KeyKnowledge, format!("node {node} {verb} a key set no writer wrote"))],
            },
            Observed::Holds { node, ring, model, now_secs, when } => match model.disagreement_with(ring, now_secs) {
                Some(difference) => vec![(Invariant::KeyKnowledge, format!("node {node} {when}: {difference}"))],
                None => Vec::new(),
            },
            Observed::WriteEnded { writer, crashed, temp_files, file, before, now_secs } => {
                self.write_ended(writer, crashed, temp_files, file, before, now_secs)
            }
            Observed::KeyFileMissing { node, when } => {
                vec![(Invariant::KeyKnowledge, format!("node {node} found the key store empty {when}"))]
            }
            Observed::Unparsable { node, error } => {
                if self.bad_file_until_ms.is_some_and(|until| now_ms <= until) {
                    Vec::new()
                } else {
                    vec![(
                        Invariant::KeyKnowledge,
                        format!("node {node} read a key set it cannot parse (torn write?): {error}"),
                    )]
                }
            }
            Observed::BadFile { restore } => {
                if restore {
                    // Until every mount (or every read of etcd) shows the good file again.
                    self.bad_file_until_ms = Some(now_ms + self.config.store_visibility_max_ms());
                    let end_ms = now_ms + self.config.reload_bound_secs() * SECOND_MS;
                    self.bad_file_window_ms = self.bad_file_window_ms.map(|(start, _)| (start, end_ms));
                } else {
                    self.bad_file_until_ms = Some(u64::MAX);
                    self.bad_file_window_ms = Some((now_ms, u64::MAX));
                }
                Vec::new()
            }
            Observed::Revoked { serial } => {
                self.revoked.insert(serial, now_ms);
                // The key file changed since the rotation: later starts are judged by the model.
                self.rotation_landed = None;
                Vec::new()
            }
            Observed::RotationDecided { ring, model_rotates, model_refuses } => {
                let disagreement = match ring {
                    RingRotation::Rotated => {
                        (!model_rotates || model_refuses).then_some("the ring rotated where the model does not")
                    }
                    RingRotation::Declined => model_rotates.then_some("the ring declined a rotation the model makes"),
                    RingRotation::Full => (!model_refuses).then_some("the ring refused a rotation the model allows"),
                };
                disagreement.map(|what| (Invariant::KeyKnowledge, what.to_owned())).into_iter().collect()
            }
            Observed::Signed { node, kid, expected, known } => {
                let mut verdicts = Vec::new();
                if expected != Some(kid) {
                    verdicts.push((
                        Invariant::KeyKnowledge,
                        format!(
                            "node {node} signs with kid {kid}, the model with {:?}",
                            expected.map(|kid| kid.to_string())
                        ),
                    ));
                }
                if !known {
                    verdicts
                        .push((Invariant::KeyKnowledge, format!("node {node} signs with kid {kid} that no node made")));
                }
                verdicts
            }
            Observed::Served { node, attack, actor, result, expectation, facts, mac_verified, timing } => {
                self.served(now_ms, node, attack, actor, result, expectation, facts, mac_verified, timing)
            }
            Observed::LockWait { node, asked_ms, lock_free_at_ms, contended, locked_out } => {
                let bound_ms =
                    u64::from(tokenring::limits::LOCK_ATTEMPTS_MAX - 1) * tokenring::limits::LOCK_RETRY_MILLIS;
                if locked_out && !contended && lock_free_at_ms <= asked_ms + bound_ms {
                    vec![(
                        Invariant::Liveness,
                        format!(
                            "node {node} gave up on the key file's lock, which the writer before it released {} after \
                             it asked, within the store's wait of {}",
                            format_duration(lock_free_at_ms.saturating_sub(asked_ms)),
                            format_duration(bound_ms)
                        ),
                    )]
                } else {
                    Vec::new()
                }
            }
            Observed::ConcurrentUpdateEnded { node, first_key, holds } => {
                if holds {
                    Vec::new()
                } else {
                    vec![(
                        Invariant::KeyKnowledge,
                        format!(
                            "node {node}'s update, concurrent with another rotator's, left a ring without the key \
                             (serial {first_key}) the other one added: a rotation was lost"
                        ),
                    )]
                }
            }
            Observed::RotationAccepted { node, serial, in_store } => {
                if in_store {
                    Vec::new()
                } else {
                    vec![(
                        Invariant::KeyKnowledge,
                        format!(
                            "node {node}'s update returned that it rotated, but the key it added (serial {serial}) \
                             is not in the key store: an accepted rotation was lost"
                        ),
                    )]
                }
            }
            Observed::Unanswered { client, login, able } => match able {
                Some(node) => {
                    self.unanswered_unexplained += 1;
                    let what = if login { "log in" } else { "send a request" };
                    vec![(
                        Invariant::Liveness,
                        format!(
                            "client {client} could not {what}, but node {node} is up and, by the model, able to serve it"
                        ),
                    )]
                }
                None => Vec::new(),
            },
        };
        for (invariant, detail) in verdicts {
            self.violate(now_ms, trace, invariant, detail);
        }
    }

    /// A changed key file must be a document a writer wrote (never torn), and lose no key that
    /// is not yet forgotten by the writer's clock (what the lock of `FileStore::update`
    /// guarantees). A write that did not crash completed under the lock, so it must leave no
    /// temporary file: neither its own nor one a crashed write left (key material that would
    /// outlive the key's forget time).
    fn write_ended(
        &self,
        writer: usize,
        crashed: bool,
        temp_files: usize,
        file: Option<Option<&KeySetModel>>,
        before: Option<&KeySetModel>,
        now_secs: u64,
    ) -> Vec<(Invariant, String)> {
        let mut verdicts = Vec::new();
        if !crashed && temp_files > 0 {
            verdicts.push((
                Invariant::KeyKnowledge,
                format!("node {writer}'s completed write left {temp_files} temporary files beside the key file"),
            ));
        }
        let detail = match file {
            None => Some(format!("node {writer}'s write left no key file")),
            Some(None) => Some(format!("node {writer}'s write left a key file no writer wrote (torn)")),
            Some(Some(after)) => {
                let lost = before.map_or(0, |before| {
                    before
                        .keys()
                        .iter()
                        .filter(|key| {
                            key.phase(now_secs) != model::Phase::Forgotten
                                && after.held_serial(key.serial).is_none()
                                && after.revoked(key.kid).is_none()
                        })
                        .count()
                });
                (lost > 0).then(|| {
                    format!("node {writer} overwrote the key store and lost {lost} keys that were not forgotten")
                })
            }
        };
        verdicts.extend(detail.map(|detail| (Invariant::KeyKnowledge, detail)));
        verdicts
    }

    /// A node restarted while a rotation's key propagates (a rolling restart during the
    /// rotation) boots on the key file as it is: if it booted after the new key landed, it must
    /// come up holding it, or it would reject the tokens that key signs once it activates.
    fn restarted_during_rotation(
        &mut self,
        node: usize,
        model: &KeySetModel,
        booted_ms: u64,
    ) -> Vec<(Invariant, String)> {
        let Some((serial, landed_ms)) = self.rotation_landed else { return Vec::new() };
        let propagation_ms = self.config.propagation_secs() * SECOND_MS;
        if booted_ms < landed_ms || booted_ms >= landed_ms + propagation_ms || self.bad_file_until_ms.is_some() {
            return Vec::new();
        }
        self.starts_during_rotation += 1;
        if model.held_serial(serial).is_some() {
            return Vec::new();
        }
        vec![(
            Invariant::KeyKnowledge,
            format!(
                "node {node}, restarted {} after a rotation's key landed, came up without it",
                format_duration(booted_ms - landed_ms)
            ),
        )]
    }

    /// Whether the verifier's leeway covers a request that arrives now, sent before its token
    /// expired: the network's latency plus how far the verifier's clock runs ahead of the
    /// issuer's stays within the leeway less a second (an expiry in flight; whole seconds, and
    /// a token is valid before its `exp`), the issuer's clock runs at most that far ahead of
    /// the verifier's (`nbf`), and both clocks are within the configured bound (skew, plus a
    /// day's drift).
    fn within_leeway(&self, now_ms: u64, issued_ms: u64, timing: Timing) -> bool {
        let leeway_ms = i128::from(self.config.leeway_secs.min(tokenring::limits::LEEWAY_SECS_MAX) * SECOND_MS);
        let ttl_ms = i128::from(timing.ttl_ms);
        let (issuer, verifier) = (i128::from(timing.issuer_error_ms), i128::from(timing.verifier_error_ms));
        let age_ms = i128::from(now_ms) - i128::from(issued_ms);
        let bound_ms = u128::from(self.config.clock_error_max_ms());
        issuer.unsigned_abs() <= bound_ms
            && verifier.unsigned_abs() <= bound_ms
            && age_ms - ttl_ms + (verifier - issuer) <= leeway_ms - i128::from(SECOND_MS)
            && (issuer - verifier) - age_ms <= leeway_ms - i128::from(SECOND_MS)
    }

    /// Invariants 1, 2, 3 and 8 on one verification.
    #[allow(clippy::too_many_arguments)]
    fn served(
        &mut self,
        now_ms: u64,
        node: usize,
        attack: Option<AttackKind>,
        actor: u32,
        result: &Result<(u32, Option<Kid>), Rejection>,
        expectation: Outcome,
        facts: &TokenFacts,
        mac_verified: bool,
        timing: Option<Timing>,
    ) -> Vec<(Invariant, String)> {
        let mut verdicts = Vec::new();
        if let Some(timing) = timing {
            let error_ms = timing.issuer_error_ms.unsigned_abs().max(timing.verifier_error_ms.unsigned_abs());
            self.clock_error_ms_max = self.clock_error_ms_max.max(error_ms);
        }
        let outcome = match result {
            Ok(_) => Outcome::Accepted,
            Err(rejection) => Outcome::Rejected(rejection.code()),
        };
        if let (Some(kind), Ok(_)) = (attack, result) {
            verdicts.push((
                Invariant::AttackerTokenAccepted,
                format!("node {node} accepted a {} attacker token", kind.as_str()),
            ));
        }
        let revoked_at_ms = facts.signed_by.and_then(|serial| self.revoked.get(&serial).copied());
        if let (Some(revoked_at_ms), Ok(_)) = (revoked_at_ms, result) {
            let bound_ms = self.config.reload_bound_secs() * SECOND_MS;
            if now_ms >= revoked_at_ms + bound_ms && !self.config.reload_stalls() {
                verdicts.push((
                    Invariant::Revocation,
                    format!(
                        "node {node} accepted a token of a key revoked {} ago, past the reload bound {}",
                        format_duration(now_ms - revoked_at_ms),
                        format_duration(bound_ms)
                    ),
                ));
            }
        }
        // Tokens of a revoked key are refused on purpose: the people holding them log in again.
        // A broken key file keeps nodes on their last ring: rejections then, and of tokens
        // issued then, are the fault's.
        let bad_file = self
            .bad_file_window_ms
            .is_some_and(|(start, end)| (start..=end).contains(&now_ms) || (start..=end).contains(&facts.issued_ms));
        if attack.is_none() && result.is_err() && bad_file {
            self.rejections_during_bad_file += 1;
        }
        let ttl_ms = timing.map_or(self.config.token_ttl_secs * SECOND_MS, |timing| timing.ttl_ms);
        let sent_ms = timing.map_or(now_ms, |timing| timing.sent_ms);
        let claimed = attack.is_none()
            && result.is_err()
            && revoked_at_ms.is_none()
            && !bad_file
            && self.config.promises_no_spurious_rejection()
            && sent_ms < facts.issued_ms + ttl_ms;
        let within_leeway = timing.is_none_or(|timing| self.within_leeway(now_ms, facts.issued_ms, timing));
        if claimed && !within_leeway {
            self.rejections_beyond_leeway += 1;
        }
        if attack.is_none()
            && result.is_ok()
            && now_ms >= facts.issued_ms + ttl_ms
            && sent_ms < facts.issued_ms + ttl_ms
        {
            // Sent before it expired, arrived after: the leeway took the latency.
            self.accepted_expired_in_flight += 1;
        }
        if claimed && within_leeway {
            verdicts.push((
                Invariant::SpuriousRejection,
                format!(
                    "node {node} rejected client {actor}'s token, sent with {} left, with {}",
                    format_duration(facts.issued_ms + ttl_ms - sent_ms),
                    outcome.as_str()
                ),
            ));
        }
        // The severities are the documented ones: only a retired key, an expired token and a
        // token not yet valid are routine.
        if let Err(rejection) = result {
            let routine = matches!(rejection.code(), "retired-key" | "expired" | "not-yet-valid");
            if rejection.is_routine() != routine {
                verdicts.push((
                    Invariant::WrongClassification,
                    format!("node {node} gave {} the wrong severity", rejection.code()),
                ));
            }
            if rejection.is_routine() && !mac_verified {
                verdicts.push((
                    Invariant::WrongClassification,
                    format!("node {node} called a token routine ({}) without a MAC it could check", rejection.code()),
                ));
            }
        }
        if outcome != expectation {
            verdicts.push((
                Invariant::WrongClassification,
                format!(
                    "node {node} answered {} to a {} token where the ground truth calls for {}",
                    outcome.as_str(),
                    attack.map_or("genuine", AttackKind::as_str),
                    expectation.as_str()
                ),
            ));
        }
        match result {
            Ok((subject, kid)) => {
                if *subject != facts.subject || *kid != facts.kid() {
                    verdicts.push((
                        Invariant::WrongClassification,
                        format!("node {node} accepted a token but reports other claims or another kid"),
                    ));
                }
            }
            Err(rejection) => {
                if let (Some(kind), true) = (attack, rejection.is_routine()) {
                    let reason = (kind == AttackKind::ReplayExpired).then_some(RoutineByDesign::ReplayOfGenuineToken);
                    match reason {
                        Some(reason) => *self.attacks_routine_by_design.entry(reason.as_str()).or_insert(0) += 1,
                        None => verdicts.push((
                            Invariant::WrongClassification,
                            format!(
                                "node {node} classified a {} attacker token routine ({})",
                                kind.as_str(),
                                rejection.code()
                            ),
                        )),
                    }
                }
            }
        }
        verdicts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Policy;

    #[test]
    fn a_logged_token_signature_is_a_violation_and_a_clean_line_is_not() {
        let config = Config::default_scenario(1, Policy::Rotating);
        let trace = Trace::new();
        let mut checker = Checker::new(&config);
        // A signature segment of an HS256 token: 43 base64url characters.
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
        checker.add_token(token);
        checker.observe(0, &trace, Observed::LogLine { level: "INFO", line: "INFO node=0 up" });
        assert_eq!(checker.violation_count(), 0);
        let line = format!("WARN node=0 token rejected: {token}");
        checker.observe(0, &trace, Observed::LogLine { level: "WARN", line: &line });
        assert_eq!(checker.violation_count(), 1);
    }

    #[test]
    fn a_node_up_before_its_secret_is_mounted_is_a_violation() {
        let mut config = Config::default_scenario(1, Policy::Rotating);
        config.unmounted_secret = Some((2, 120_000));
        let trace = Trace::new();
        let mut checker = Checker::new(&config);
        let model = KeySetModel::default();
        checker.observe(1_000, &trace, Observed::NodeUp { node: 1, model: &model, booted_ms: 0 });
        checker.observe(120_000, &trace, Observed::NodeUp { node: 2, model: &model, booted_ms: 0 });
        assert_eq!(checker.violation_count(), 0);
        checker.observe(119_999, &trace, Observed::NodeUp { node: 2, model: &model, booted_ms: 0 });
        assert_eq!(checker.violation_count(), 1);
    }

    /// A token sent before it expired and rejected on arrival is a spurious rejection when the
    /// latency and the clocks' difference fit the leeway, and is not claimed when they do not.
    #[test]
    fn a_token_that_expires_in_flight_is_judged_by_the_leeway_latency_and_clocks() {
        let config = Config::default_scenario(1, Policy::Persisted);
        let trace = Trace::new();
        let mut checker = Checker::new(&config);
        let ttl_ms = config.token_ttl_secs * SECOND_MS;
        let facts = TokenFacts {
            shape: model::Shape::Compact(model::HeaderFacts::Hs256 { kid: None }),
            signed_by: Some(1),
            exp_secs: 0,
            nbf_secs: 0,
            subject: 7,
            issued_ms: 1_000,
        };
        let rejected: Result<(u32, Option<Kid>), Rejection> = Err(Rejection::Expired);
        let sent_ms = 1_000 + ttl_ms - 1;
        let serve = |checker: &mut Checker<'_>, latency_ms: u64, issuer_error_ms: i64, verifier_error_ms: i64| {
            let timing = Some(Timing { sent_ms, issuer_error_ms, verifier_error_ms, ttl_ms });
            let observed = Observed::Served {
                node: 0,
                attack: None,
                actor: 7,
                result: &rejected,
                expectation: Outcome::Rejected("expired"),
                facts: &facts,
                mac_verified: true,
                timing,
            };
            checker.observe(sent_ms + latency_ms, &trace, observed);
        };
        // 400 ms on the wire, the verifier's clock 10 s ahead: within the 30 s leeway.
        serve(&mut checker, 400, -5_000, 5_000);
        assert_eq!(checker.violation_count(), 1);
        // 2 s on the wire, clocks 29 s apart: beyond it; counted, not claimed.
        serve(&mut checker, 2_000, -14_500, 14_500);
        assert_eq!(checker.violation_count(), 1);
        let mut counters = Counters::default();
        let (violations, _) = checker.finish(&mut counters);
        assert_eq!(violations.get(&Invariant::SpuriousRejection), Some(&1));
        assert_eq!(counters.rejections_beyond_leeway, 1);
    }

    /// A node that boots after a rotation's key landed, while it propagates, must hold it.
    #[test]
    fn a_node_restarted_during_a_rotation_without_its_key_is_a_violation() {
        let config = Config::default_scenario(1, Policy::Rotating);
        let trace = Trace::new();
        let mut checker = Checker::new(&config);
        let model = KeySetModel::default();
        checker.observe(10, &trace, Observed::RotationLanded { serial: 2, landed_ms: 10 });
        // Booted before the key landed: not judged.
        checker.observe(50, &trace, Observed::NodeUp { node: 0, model: &model, booted_ms: 9 });
        assert_eq!(checker.violation_count(), 0);
        checker.observe(60, &trace, Observed::NodeUp { node: 1, model: &model, booted_ms: 20 });
        assert_eq!(checker.violation_count(), 1);
    }

    /// A rotation the update reports as written must be in the store: a key it lost (a
    /// swap's conflict taken for success) is a violation of 6.
    #[test]
    fn an_accepted_rotation_missing_from_the_store_is_a_violation() {
        let config = Config::default_scenario(1, Policy::Etcd);
        let trace = Trace::new();
        let mut checker = Checker::new(&config);
        checker.observe(5, &trace, Observed::RotationAccepted { node: 0, serial: 4, in_store: true });
        assert_eq!(checker.violation_count(), 0);
        checker.observe(6, &trace, Observed::RotationAccepted { node: 1, serial: 5, in_store: false });
        let mut counters = Counters::default();
        let (violations, first) = checker.finish(&mut counters);
        assert_eq!(violations.get(&Invariant::KeyKnowledge), Some(&1));
        assert!(first.is_some_and(|first| first.detail.contains("serial 5")));
    }

    #[test]
    fn an_unanswered_client_is_a_violation_only_when_a_node_could_have_served_it() {
        let config = Config::default_scenario(1, Policy::Rotating);
        let trace = Trace::new();
        let mut checker = Checker::new(&config);
        checker.observe(5, &trace, Observed::Unanswered { client: 3, login: true, able: None });
        assert_eq!(checker.violation_count(), 0);
        checker.observe(5, &trace, Observed::Unanswered { client: 3, login: true, able: Some(1) });
        let mut counters = Counters::default();
        let (violations, first) = checker.finish(&mut counters);
        assert_eq!(violations.get(&Invariant::Liveness), Some(&1));
        assert_eq!(counters.unanswered_unexplained, 1);
        assert!(first.is_some_and(|first| first.detail.contains("node 1")));
    }
}
