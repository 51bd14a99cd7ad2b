// The crate's documentation is the repository's README (`README.md` here is a link to it, and
// the packaged crate carries the file): one front page, whose Rust examples run as this crate's
// doc tests.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
// Appended to the crate's front page.
#![doc = "
# Canaries (simulator and test builds only)

The `canaries` feature, off by default and in no release build, compiles deliberate bugs into
the library (a signer that takes pending keys, a save that is not atomic, ...), each armed at run
time by `tokenring::canary::arm`, so that one build of a checker, such as the simulator, proves
that it catches every one. Without the feature the hooks compile to nothing."]

/// A canary hook (see the `canaries` feature). `canary!(Name => mutant, else original)` is
/// `mutant` when the canary is armed, `original` otherwise; `canary!(Name => statement)` runs
/// `statement` when it is armed. Without the feature: `original`, and nothing.
#[cfg(feature = "canaries")]
macro_rules! canary {
    ($name:ident => $mutant:expr, else $original:expr) => {
        if $crate::canary::armed($crate::canary::Canary::$name) {
            $mutant
        } else {
            $original
        }
    };
    ($name:ident => $($mutant:tt)*) => {
        if $crate::canary::armed($crate::canary::Canary::$name) {
            $($mutant)*
        }
    };
}

/// A canary hook, compiled out: the `canaries` feature is off.
#[cfg(not(feature = "canaries"))]
macro_rules! canary {
    ($name:ident => $mutant:expr, else $original:expr) => {
        $original
    };
    ($name:ident => $($mutant:tt)*) => {};
}

// Outside `src/`, so that the published package does not contain it.
#[cfg(feature = "canaries")]
#[path = "../canaries/canary.rs"]
pub mod canary;
mod clock;
pub mod duration;
mod error;
pub mod limits;
mod ring;
mod store;
mod token;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::error::{
    Error, KeyError, KeySetError, Malformed, Rejection, Severity, SignError, StoreError, StoreOp, TooLarge,
    UnsupportedHeader,
};
pub use crate::ring::fingerprint::Fingerprint;
pub use crate::ring::key::{Entropy, Key, Kid, OsEntropy};
pub use crate::ring::keyring::KeyRing;
pub use crate::ring::lifecycle::{KeyInfo, KeyState, Rotation};
pub use crate::store::document::{Created, Document, RingStore, StoreName, StoreVersion, Swapped};
pub use crate::store::file::{FileStore, Loaded, PermissionWarning};
pub use crate::store::path::{RedactedPath, RedactedPathBuf};
pub use crate::store::reload::{ReadId, ReloadMachine, ReloadOutcome, ReloadReport, ReloadStatus, ReloadStep};
pub use crate::store::shared::{Reloaded, SharedRing};
pub use crate::store::storage::{EntryKind, Storage, StorageLock};
pub use crate::token::claims::Validation;
pub use crate::token::unverified::Unverified;
pub use crate::token::verified::{Scratch, Verified};

/// Hooks for the fuzz targets in `fuzz/`, compiled only under `cargo fuzz` (`--cfg fuzzing`):
/// never part of the library a consumer builds.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use crate::Rejection;

    /// The claims reader's fast path on `payload`: the claims and the registered claims (as
    /// text), or `None` when it gave up.
    pub fn claims_fast<'de, C: serde::Deserialize<'de>>(payload: &'de [u8]) -> Option<(C, String)> {
        crate::token::claims::paths::fast(payload)
    }

    /// The claims reader's `serde_json` path on `payload`: the claims (`None` when they do not
    /// fit `C`) and the registered claims (as text), or the rejection.
    pub fn claims_thorough<'de, C: serde::Deserialize<'de>>(
        payload: &'de [u8],
    ) -> Result<(Option<C>, String), Rejection> {
        crate::token::claims::paths::thorough(payload)
    }
}
