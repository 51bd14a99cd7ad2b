//! The event trace: every event is hashed (SHA-256) as a compact binary record, and the most
//! recent ones are kept, unformatted, for the report of a violation.
//!
//! The hash is the run's fingerprint: the same seed and configuration must give the same hash
//! (invariant 5). Records carry the last eight characters of the token involved, so that a
//! change in any key or token, not only in an outcome, changes the hash; those characters are
//! never printed.

use sha2::{Digest, Sha256};

use crate::config::{format_instant, AttackKind};

/// Recent events kept for a violation report.
pub(crate) const RECENT_EVENTS_MAX: usize = 48;

/// Bytes of a record as hashed.
const RECORD_LEN: usize = 40;
/// Records hashed in one call to the hasher: a whole number of SHA-256 blocks (64 bytes), so
/// the hasher compresses them straight from the batch. The hash is that of the records' bytes
/// one after another, whichever way they are handed to it.
const RECORDS_PER_BATCH: usize = 64;

/// "No node" or "no actor" in a record.
pub(crate) const NONE_U16: u16 = u16::MAX;
pub(crate) const NONE_U32: u32 = u32::MAX;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum What {
    Login,
    Request,
    Refresh,
    /// A rejected request sent again to another node.
    Retry,
    Attack(AttackKind),
    /// A request that found no node able to serve it.
    NoNode,
    NodeUp,
    NodeStopped {
        crash: bool,
    },
    /// A node's start found the store unavailable; it stays down.
    StartDeferred,
    /// A node wrote a fresh key set with `create`.
    Created,
    /// A node's reload of the store.
    Reload,
    Rotation,
    RotationDeferred,
    RotationRefused,
    /// A rotator found the newest key young enough and added none.
    RotationNotDue,
    /// A writer crashed in the middle of a store write; `new_survived` says which document
    /// the store kept.
    WriteCrash {
        new_survived: bool,
    },
    /// An operator revoked a key (the actor is the key's serial).
    Revocation,
    /// An operator pushed a broken key file, or put the good one back.
    BadFile {
        restore: bool,
    },
    /// A running node's clock stepped (NTP), forward or back.
    ClockJump {
        forward: bool,
    },
    /// A client sent its refresh token for a new access token.
    RefreshGrant,
}

impl What {
    fn code(self) -> [u8; 2] {
        match self {
            Self::Login => [1, 0],
            Self::Request => [2, 0],
            Self::Refresh => [3, 0],
            Self::Attack(kind) => [4, kind as u8],
            Self::NoNode => [5, 0],
            Self::NodeUp => [6, 0],
            Self::NodeStopped { crash } => [7, u8::from(crash)],
            Self::StartDeferred => [8, 0],
            Self::Created => [9, 0],
            Self::Reload => [10, 0],
            Self::Rotation => [11, 0],
            Self::RotationDeferred => [12, 0],
            Self::RotationRefused => [13, 0],
            Self::WriteCrash { new_survived } => [14, u8::from(new_survived)],
            Self::RotationNotDue => [15, 0],
            Self::Retry => [16, 0],
            Self::Revocation => [17, 0],
            Self::BadFile { restore } => [18, u8::from(restore)],
            Self::ClockJump { forward } => [19, u8::from(forward)],
            Self::RefreshGrant => [20, 0],
        }
    }

    fn describe(self) -> String {
        match self {
            Self::Login => "login".to_owned(),
            Self::Request => "request".to_owned(),
            Self::Refresh => "refresh".to_owned(),
            Self::Retry => "retry on another node".to_owned(),
            Self::Attack(kind) => format!("attack {}", kind.as_str()),
            Self::NoNode => "no node available".to_owned(),
            Self::NodeUp => "node up".to_owned(),
            Self::NodeStopped { crash: true } => "node crashed".to_owned(),
            Self::NodeStopped { crash: false } => "node stopped (rolling restart)".to_owned(),
            Self::StartDeferred => "start deferred: key store unavailable".to_owned(),
            Self::Created => "created the key set".to_owned(),
            Self::Reload => "reloaded the key store".to_owned(),
            Self::Rotation => "rotated the key".to_owned(),
            Self::RotationDeferred => "rotation deferred".to_owned(),
            Self::RotationRefused => "rotation refused (ring full)".to_owned(),
            Self::RotationNotDue => "rotation not due (a fresh key exists)".to_owned(),
            Self::WriteCrash { new_survived: true } => "crashed during a store write (new set survived)".to_owned(),
            Self::WriteCrash { new_survived: false } => "crashed during a store write (old set survived)".to_owned(),
            Self::Revocation => "the operator revoked a key".to_owned(),
            Self::BadFile { restore: false } => "the operator pushed a key file that does not parse".to_owned(),
            Self::BadFile { restore: true } => "the operator put the good key file back".to_owned(),
            Self::ClockJump { forward: true } => "the node's clock jumped forward".to_owned(),
            Self::ClockJump { forward: false } => "the node's clock jumped back".to_owned(),
            Self::RefreshGrant => "refresh token exchanged for an access token".to_owned(),
        }
    }
}

/// One event, as hashed and as kept for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TraceRecord {
    pub(crate) time_ms: u64,
    pub(crate) what: What,
    pub(crate) node: u16,
    /// The client, or the attacker's attack number, or [`NONE_U32`].
    pub(crate) actor: u32,
    /// The outcome (`accepted`, a rejection code, or empty).
    pub(crate) outcome: &'static str,
    /// The oracle's expected outcome, when there is one.
    pub(crate) expected: &'static str,
    /// The last characters of the token involved: hashed, never printed.
    pub(crate) token_tail: [u8; 8],
}

impl TraceRecord {
    pub(crate) fn new(time_ms: u64, what: What) -> Self {
        Self { time_ms, what, node: NONE_U16, actor: NONE_U32, outcome: "", expected: "", token_tail: [0; 8] }
    }

    fn describe(&self) -> String {
        let mut line = format!("{} {}", format_instant(self.time_ms), self.what.describe());
        if self.node != NONE_U16 {
            line.push_str(&format!(" node={}", self.node));
        }
        if self.actor != NONE_U32 {
            let role = if matches!(self.what, What::Attack(_)) { "attack" } else { "client" };
            line.push_str(&format!(" {role}={}", self.actor));
        }
        if !self.outcome.is_empty() {
            line.push_str(&format!(" -> {}", self.outcome));
        }
        if !self.expected.is_empty() {
            line.push_str(&format!(" (expected {})", self.expected));
        }
        line
    }
}

/// The last characters of `token`, for the hash.
pub(crate) fn tail_of(token: &str) -> [u8; 8] {
    let mut tail = [0u8; 8];
    let bytes = token.as_bytes();
    let take = bytes.len().min(8);
    tail[..take].copy_from_slice(&bytes[bytes.len() - take..]);
    tail
}

/// The running hash and the recent events.
#[derive(Debug)]
pub(crate) struct Trace {
    hasher: Sha256,
    /// Records not yet handed to the hasher: the first `batch_len` bytes, fewer than
    /// [`RECORDS_PER_BATCH`] records.
    batch: [u8; RECORD_LEN * RECORDS_PER_BATCH],
    batch_len: usize,
    recent: Vec<TraceRecord>,
    next: usize,
    events: u64,
}

impl Trace {
    pub(crate) fn new() -> Self {
        Self {
            hasher: Sha256::new(),
            batch: [0; RECORD_LEN * RECORDS_PER_BATCH],
            batch_len: 0,
            recent: Vec::with_capacity(RECENT_EVENTS_MAX),
            next: 0,
            events: 0,
        }
    }

    pub(crate) fn record(&mut self, record: TraceRecord) {
        let mut bytes = [0u8; RECORD_LEN];
        bytes[..8].copy_from_slice(&record.time_ms.to_le_bytes());
        bytes[8..10].copy_from_slice(&record.what.code());
        bytes[10..12].copy_from_slice(&record.node.to_le_bytes());
        bytes[12..16].copy_from_slice(&record.actor.to_le_bytes());
        bytes[16..24].copy_from_slice(&record.token_tail);
        bytes[24..32].copy_from_slice(&short_code(record.outcome));
        bytes[32..40].copy_from_slice(&short_code(record.expected));
        self.batch[self.batch_len..self.batch_len + RECORD_LEN].copy_from_slice(&bytes);
        self.batch_len += RECORD_LEN;
        if self.batch_len == self.batch.len() {
            self.hasher.update(self.batch);
            self.batch_len = 0;
        }
        self.events += 1;
        if self.recent.len() < RECENT_EVENTS_MAX {
            self.recent.push(record);
        } else {
            self.recent[self.next] = record;
        }
        self.next = (self.next + 1) % RECENT_EVENTS_MAX;
    }

    /// The recent events, oldest first, formatted.
    pub(crate) fn recent(&self) -> Vec<String> {
        let (newer, older) = self.recent.split_at(self.next.min(self.recent.len()));
        older.iter().chain(newer).map(TraceRecord::describe).collect()
    }

    pub(crate) fn events(&self) -> u64 {
        self.events
    }

    /// The hash of everything recorded so far, in hex.
    pub(crate) fn hash_hex(&self) -> String {
        let mut hasher = self.hasher.clone();
        hasher.update(&self.batch[..self.batch_len]);
        hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// Eight bytes that tell outcome codes apart (every code differs in its first eight
/// characters or in its length).
fn short_code(code: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    let bytes = code.as_bytes();
    // Byte by byte, each one read if it exists: a copy of a variable length would be a call to
    // `memcpy`, dearer than these few moves.
    for (index, slot) in out[..7].iter_mut().enumerate() {
        *slot = bytes.get(index).copied().unwrap_or(0);
    }
    out[7] = bytes.len() as u8;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_events_come_out_oldest_first() {
        let mut trace = Trace::new();
        for time in 0..(RECENT_EVENTS_MAX as u64 + 5) {
            trace.record(TraceRecord::new(time, What::Login));
        }
        let recent = trace.recent();
        assert_eq!(recent.len(), RECENT_EVENTS_MAX);
        assert!(recent[0].starts_with("+0d 00:00:00.005"), "{}", recent[0]);
        assert!(recent.last().unwrap().starts_with(&format_instant(RECENT_EVENTS_MAX as u64 + 4)));
    }

    /// The hash is SHA-256 of every record's bytes in order, however many records there are
    /// against the batch size.
    #[test]
    fn the_hash_is_that_of_all_records_in_order() {
        for count in [0, 1, RECORDS_PER_BATCH - 1, RECORDS_PER_BATCH, 2 * RECORDS_PER_BATCH + 3] {
            let mut trace = Trace::new();
            let mut whole = Sha256::new();
            for time in 0..count as u64 {
                let record =
                    TraceRecord { outcome: "expired", expected: "accepted", ..TraceRecord::new(time, What::Request) };
                let mut alone = Trace::new();
                alone.record(record);
                whole.update(&alone.batch[..alone.batch_len]);
                trace.record(record);
            }
            let expected: String = whole.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
            assert_eq!(trace.hash_hex(), expected, "{count} records");
        }
    }

    #[test]
    fn codes_are_told_apart() {
        let codes: Vec<[u8; 8]> =
            tokenring::Rejection::CODES.iter().chain(["accepted", ""].iter()).map(|code| short_code(code)).collect();
        for (index, code) in codes.iter().enumerate() {
            assert!(!codes[index + 1..].contains(code));
        }
    }

    #[test]
    fn the_hash_depends_on_every_field() {
        let base = TraceRecord::new(5, What::Request);
        let variants = [
            TraceRecord { time_ms: 6, ..base },
            TraceRecord { node: 1, ..base },
            TraceRecord { actor: 1, ..base },
            TraceRecord { outcome: "expired", ..base },
            TraceRecord { token_tail: *b"abcdefgh", ..base },
            TraceRecord { what: What::Refresh, ..base },
        ];
        let hash = |record: TraceRecord| {
            let mut trace = Trace::new();
            trace.record(record);
            trace.hash_hex()
        };
        for variant in variants {
            assert_ne!(hash(base), hash(variant));
        }
    }
}
