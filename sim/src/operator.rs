//! The operator: revokes a key that leaked, and pushes a key file that does not parse (a
//! Secret applied with a typo), then puts the good one back.

use tokenring::Kid;

use crate::model::{self, KeySetModel};
use crate::store::Disk;

/// What the operator's broken push writes.
const BROKEN_KEY_FILE: &[u8] = b"{\"keys\": [ broken";

#[derive(Debug, Default)]
pub(crate) struct Operator {
    /// Until then a node may find the broken key file on its mount (the operator knows it
    /// pushed one): a node that cannot parse it retries.
    broken_until_ms: Option<u64>,
    /// The key file the broken push replaced.
    good_file: Option<Vec<u8>>,
}

impl Operator {
    /// The key the operator revokes in `model` at `now_secs`: the newest that no longer signs
    /// and is not pending or forgotten.
    pub(crate) fn leaked_key(model: &KeySetModel, now_secs: u64) -> Option<Kid> {
        let signer = model.signer(now_secs).map(|key| key.kid);
        model
            .keys()
            .iter()
            .rev()
            .filter(|key| Some(key.kid) != signer && key.phase(now_secs) != model::Phase::Pending)
            .find(|key| key.phase(now_secs) != model::Phase::Forgotten)
            .map(|key| key.kid)
    }

    /// Replaces the key file on `disk` with a broken one, or (`restore`) puts the good one
    /// back; false when there is nothing to restore. `visible_max_ms`: the longest a mount
    /// takes to show the change.
    pub(crate) fn push(&mut self, disk: &mut Disk, restore: bool, now_ms: u64, visible_max_ms: u64) -> bool {
        let Some(document) = self.replacement(disk.key_file(), restore, now_ms, visible_max_ms) else { return false };
        disk.replace_key_file(&document);
        disk.publish(Vec::new());
        true
    }

    /// What the operator writes over `current` (the store's document): a broken one, or
    /// (`restore`) the good one it replaced; `None` when there is nothing to restore.
    /// `visible_max_ms`: the longest before every read shows the change.
    pub(crate) fn replacement(
        &mut self,
        current: Option<&[u8]>,
        restore: bool,
        now_ms: u64,
        visible_max_ms: u64,
    ) -> Option<Vec<u8>> {
        if restore {
            let good = self.good_file.take()?;
            self.broken_until_ms = Some(now_ms + visible_max_ms);
            Some(good)
        } else {
            self.good_file = current.map(<[u8]>::to_vec);
            self.broken_until_ms = Some(u64::MAX);
            Some(BROKEN_KEY_FILE.to_vec())
        }
    }

    /// Whether a mount may show the broken file at `now_ms`.
    pub(crate) fn broken_file_possible(&self, now_ms: u64) -> bool {
        self.broken_until_ms.is_some_and(|until| now_ms <= until)
    }
}
