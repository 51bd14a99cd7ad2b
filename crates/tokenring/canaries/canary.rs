//! Canaries: deliberate bugs in the library, for proving that a checker (the simulator, a test
//! suite) catches them. Compiled only with the `canaries` feature, which no release build
//! enables; this file is outside `src/`, so the published package does not contain it.
//!
//! Each [`Canary`] is one mutation of library code. The code carries a hook at the mutated
//! spot, `canary!(Name => mutant, else original)` or `canary!(Name => statement)`: without the
//! feature the hook is `original`, or nothing, so a normal build carries no branch and not even
//! the mutant; with it, the hook asks [`armed`]. A line holding a hook is a canary line (`grep -n 'canary!('`), left out of line
//! counts. One build serves every canary: [`arm`] picks one at run time ([`scope`], for as long
//! as a run lasts).
//!
//! The selection is per thread: the library starts no threads, so everything it does for a
//! caller runs on the caller's thread, and tests or simulation runs on parallel threads each
//! arm their own canary without disturbing the others. A run spread over several threads arms
//! each of them.
//!
//! ```
//! use tokenring::canary::{self, Canary};
//! use tokenring::{KeyRing, Validation};
//!
//! let now = 1_700_000_000;
//! let ring = KeyRing::generate(now)?;
//! let token = ring.issue(&serde_json::json!({"sub": "3"}), 60, now)?;
//! let later = now + 3600;
//! assert!(ring.verify::<serde_json::Value>(&token, &Validation::new(), later).is_err());
//!
//! canary::arm(Some(Canary::ExpNotChecked));
//! assert!(ring.verify::<serde_json::Value>(&token, &Validation::new(), later).is_ok());
//! canary::arm(None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::Cell;
use std::io;
use std::path::Path;

use crate::error::{StoreError, StoreOp};
use crate::ring::keyring::KeyRing;
use crate::ring::lifecycle::Phase;
use crate::store::storage::Storage;

/// A deliberate bug in the library. Names are kebab-case on the command line ([`as_str`]).
///
/// [`as_str`]: Canary::as_str
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Canary {
    /// The signer takes pending keys (published, not yet active): a rotation's new key signs at
    /// once, before other nodes have loaded it.
    SignerTakesPending,
    /// [`FileStore::update`](crate::FileStore::update) takes no lock: concurrent updates each
    /// write their own ring, and the later drops the other's key.
    UpdateTakesNoLock,
    /// A token's `exp` is not checked: expired tokens verify.
    ExpNotChecked,
    /// A key retires after its retire second instead of at it (`<` for `<=`).
    RetireBoundaryOffByOne,
    /// A save removes the key file, then writes the new one in its place, instead of writing a
    /// temporary file and renaming it: a crash in between leaves no key file.
    SaveInPlace,
    /// [`KeyRing::revoke`] does nothing: a revoked key still verifies (and may sign).
    RevokedKeyVerifies,
    /// [`SharedRing::reload`](crate::SharedRing::reload) of a file that does not parse swaps
    /// in an empty ring instead of keeping the last good one.
    ReloadEmptiesOnParseError,
    /// A key activates a second after its activation time instead of at it (`<=` for `<`):
    /// a ring generated now cannot sign now.
    ActivationBoundaryOffByOne,
    /// A token that begins with one of the ring's own headers is accepted whatever its
    /// signature: the MAC is never checked for it.
    MacSkippedForOwnHeader,
    /// A token naming a key the ring has forgotten is `retired-key` (routine) instead of
    /// `forgotten-key`, as if its MAC had been checked.
    ForgottenKeyRoutine,
    /// A rotation ignores the overlap: the previous keys retire as the new key activates.
    OverlapIgnored,
    /// An update over a compare-and-swap store (etcd) takes a swap's
    /// [`Swapped::Conflict`](crate::Swapped::Conflict) for success: the change of a writer
    /// that read before another writer's commit is dropped, and the update says it was made.
    SwapConflictIgnored,
}

impl Canary {
    /// Every canary.
    pub const ALL: [Self; 12] = [
        Self::SignerTakesPending,
        Self::UpdateTakesNoLock,
        Self::ExpNotChecked,
        Self::RetireBoundaryOffByOne,
        Self::SaveInPlace,
        Self::RevokedKeyVerifies,
        Self::ReloadEmptiesOnParseError,
        Self::ActivationBoundaryOffByOne,
        Self::MacSkippedForOwnHeader,
        Self::ForgottenKeyRoutine,
        Self::OverlapIgnored,
        Self::SwapConflictIgnored,
    ];

    /// The canary's name: `signer-takes-pending`, `update-takes-no-lock`, `exp-not-checked`,
    /// `retire-boundary-off-by-one`, `save-in-place`, `revoked-key-verifies`,
    /// `reload-empties-on-parse-error`, `activation-boundary-off-by-one`,
    /// `mac-skipped-for-own-header`, `forgotten-key-routine`, `overlap-ignored` or
    /// `swap-conflict-ignored`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignerTakesPending => "signer-takes-pending",
            Self::UpdateTakesNoLock => "update-takes-no-lock",
            Self::ExpNotChecked => "exp-not-checked",
            Self::RetireBoundaryOffByOne => "retire-boundary-off-by-one",
            Self::SaveInPlace => "save-in-place",
            Self::RevokedKeyVerifies => "revoked-key-verifies",
            Self::ReloadEmptiesOnParseError => "reload-empties-on-parse-error",
            Self::ActivationBoundaryOffByOne => "activation-boundary-off-by-one",
            Self::MacSkippedForOwnHeader => "mac-skipped-for-own-header",
            Self::ForgottenKeyRoutine => "forgotten-key-routine",
            Self::OverlapIgnored => "overlap-ignored",
            Self::SwapConflictIgnored => "swap-conflict-ignored",
        }
    }

    /// The canary named `name` ([`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|canary| canary.as_str() == name)
    }
}

impl core::fmt::Display for Canary {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

thread_local! {
    static ARMED: Cell<Option<Canary>> = const { Cell::new(None) };
}

/// Arms `canary` on the calling thread (`None` disarms), and returns the one armed before.
pub fn arm(canary: Option<Canary>) -> Option<Canary> {
    ARMED.with(|armed| armed.replace(canary))
}

/// The canary armed on the calling thread, if any.
pub fn current() -> Option<Canary> {
    ARMED.with(Cell::get)
}

/// Whether `canary` is armed on the calling thread: what the library's hooks ask.
pub fn armed(canary: Canary) -> bool {
    current() == Some(canary)
}

/// Arms `canary` on the calling thread (`None` disarms) until the returned guard is dropped,
/// which arms again the one armed before: a run that ends, even by a panic, leaves the thread
/// as it found it for the next run on it.
pub fn scope(canary: Option<Canary>) -> Scope {
    Scope { previous: arm(canary) }
}

/// A canary armed until this is dropped: see [`scope`].
#[derive(Debug)]
#[must_use = "the canary is disarmed when the guard is dropped"]
pub struct Scope {
    previous: Option<Canary>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        arm(self.previous);
    }
}

/// The mutants that take more than an expression: called by the hooks, never otherwise.
pub(crate) mod mutants {
    use super::{io, KeyRing, Path, Phase, Storage, StoreError, StoreOp};

    /// [`KeyRing::signer`] that also takes pending keys.
    pub(crate) fn signer_taking_pending(ring: &KeyRing, now_secs: u64) -> Option<usize> {
        let signs = |phase| matches!(phase, Phase::Current | Phase::Pending);
        let candidates = ring.keys.iter().enumerate().filter(|(_, key)| key.may_sign() && signs(key.phase(now_secs)));
        candidates
            .max_by_key(|(index, key)| (key.times().activate_at_secs, key.times().created_secs, *index))
            .map(|(index, _)| index)
    }

    /// A save that removes `file`, then writes `document` in its place.
    pub(crate) fn save_in_place(storage: &dyn Storage, file: &Path, document: &str) -> Result<(), StoreError> {
        let failed = |kind: io::ErrorKind| StoreError::Io { op: StoreOp::Write, kind, path: file.into() };
        match storage.remove(file) {
            Ok(()) | Err(io::ErrorKind::NotFound) => {}
            Err(kind) => return Err(failed(kind)),
        }
        storage.write_new(file, document.as_bytes()).map_err(failed)?;
        storage.sync_file(file).map_err(failed)
    }

    /// A ring without keys: what a reload that empties the ring swaps in.
    pub(crate) fn no_keys() -> KeyRing {
        KeyRing { keys: Vec::new(), issued: Vec::new(), revoked: Vec::new() }
    }
}
