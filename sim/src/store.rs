//! The simulated durable key store shared by the nodes: one JWK Set document with the
//! semantics of the core's `FileStore`.
//!
//! A write is the `FileStore` protocol: write a temporary file, flush it, then rename it over
//! the document (or, for a create, link it only if no document exists), then flush the
//! directory. A crash can interrupt any step. Until the rename, the old document is what
//! survives; from the rename on, the new one. No step ever exposes part of a document, so a
//! reader sees the old bytes or the new bytes and nothing else. The bytes stored are the real
//! output of `KeyRing::to_jwk_set`, and nodes read them back with `KeyRing::from_jwk_set`.
//!
//! Besides crashes, the store has outages: windows of time in which every read and write fails,
//! as a network file system or a secrets service might; and propagation delays: a node's
//! periodic reload sees a new document only some time after it was written (a mounted
//! Kubernetes Secret reaches each pod at its kubelet's next sync), drawn per node and write.

use zeroize::Zeroizing;

use crate::model::KeySetModel;

/// The document in the store, with the oracle's model of what it holds.
#[derive(Debug)]
pub(crate) struct StoredSet {
    pub(crate) document: Zeroizing<String>,
    pub(crate) model: KeySetModel,
    /// Increases with every write that lands: what a node compares to skip re-parsing an
    /// unchanged document (as a file's modification time would).
    pub(crate) generation: u64,
    /// From when each node's periodic reload sees this document (empty: every node at once).
    visible_from_ms: Vec<u64>,
}

/// A read that found nothing usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadFault {
    /// The store cannot be reached right now.
    Unavailable,
    /// There is no document yet.
    NotFound,
}

/// The step of a write at which the writer crashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CrashPoint {
    /// While writing or flushing the temporary file: the old document survives.
    BeforeRename,
    /// After the rename (or link), before the directory was flushed: the new document survives.
    AfterRename,
}

impl CrashPoint {
    pub(crate) const ALL: [CrashPoint; 2] = [CrashPoint::BeforeRename, CrashPoint::AfterRename];
}

/// How a write ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WriteOutcome {
    /// The new document is in place.
    Written,
    /// A create found a document already there and left it alone.
    AlreadyExists,
    /// The store could not be reached; nothing changed.
    Unavailable,
    /// The writer crashed at this point.
    Crashed(CrashPoint),
}

/// Most documents kept for nodes that have not seen the newest one yet.
const VERSIONS_MAX: usize = 16;

/// The shared store.
#[derive(Debug)]
pub(crate) struct SimStore {
    current: Option<StoredSet>,
    /// Earlier documents, oldest first, for nodes the newer ones have not reached yet.
    older: std::collections::VecDeque<StoredSet>,
    /// Outage windows `[start, end)`, sorted and disjoint.
    outages: Vec<(u64, u64)>,
    generation: u64,
    /// The `non-atomic-save` canary: writes go straight into the document, so a crash in the
    /// middle leaves part of it.
    in_place: bool,
}

impl SimStore {
    pub(crate) fn new(outages: Vec<(u64, u64)>, in_place: bool) -> Self {
        debug_assert!(outages.windows(2).all(|pair| pair[0].1 <= pair[1].0));
        Self { current: None, older: std::collections::VecDeque::new(), outages, generation: 0, in_place }
    }

    /// The generation of the document in place (0 before the first write).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the store can be reached at `now_ms`.
    pub(crate) fn is_available(&self, now_ms: u64) -> bool {
        let index = self.outages.partition_point(|&(start, _)| start <= now_ms);
        index == 0 || self.outages[index - 1].1 <= now_ms
    }

    /// Reads the document.
    pub(crate) fn read(&self, now_ms: u64) -> Result<&StoredSet, ReadFault> {
        if !self.is_available(now_ms) {
            return Err(ReadFault::Unavailable);
        }
        self.current.as_ref().ok_or(ReadFault::NotFound)
    }

    /// Reads the document as node `node`'s periodic reload sees it: the newest one that has
    /// reached it (or the oldest kept, if none has).
    pub(crate) fn read_propagated(&self, now_ms: u64, node: usize) -> Result<&StoredSet, ReadFault> {
        let current = self.read(now_ms)?;
        let reached = |stored: &StoredSet| stored.visible_from_ms.get(node).is_none_or(|&from| from <= now_ms);
        let newest_reached = core::iter::once(current).chain(self.older.iter().rev()).find(|stored| reached(stored));
        Ok(newest_reached.or(self.older.front()).unwrap_or(current))
    }

    /// Sets from when each node's reload sees the document just written.
    pub(crate) fn set_visibility(&mut self, visible_from_ms: Vec<u64>) {
        if let Some(current) = self.current.as_mut() {
            current.visible_from_ms = visible_from_ms;
        }
    }

    /// Replaces the document atomically (`FileStore::save`).
    pub(crate) fn replace(
        &mut self,
        now_ms: u64,
        document: Zeroizing<String>,
        model: KeySetModel,
        crash: Option<CrashPoint>,
    ) -> WriteOutcome {
        if !self.is_available(now_ms) {
            return WriteOutcome::Unavailable;
        }
        self.land(document, model, crash)
    }

    /// Writes the document only if there is none (`FileStore::create`).
    pub(crate) fn create(
        &mut self,
        now_ms: u64,
        document: Zeroizing<String>,
        model: KeySetModel,
        crash: Option<CrashPoint>,
    ) -> WriteOutcome {
        if !self.is_available(now_ms) {
            return WriteOutcome::Unavailable;
        }
        if self.current.is_some() && crash != Some(CrashPoint::BeforeRename) {
            return WriteOutcome::AlreadyExists;
        }
        self.land(document, model, crash)
    }

    /// Makes `stored` the newest document, visible to every node at once until
    /// [`set_visibility`](Self::set_visibility) says otherwise.
    fn push(&mut self, stored: StoredSet) {
        if let Some(previous) = self.current.replace(stored) {
            if self.older.len() == VERSIONS_MAX {
                self.older.pop_front();
            }
            self.older.push_back(previous);
        }
    }

    fn land(&mut self, document: Zeroizing<String>, model: KeySetModel, crash: Option<CrashPoint>) -> WriteOutcome {
        match crash {
            Some(CrashPoint::BeforeRename) if self.in_place => {
                // Half the document reached the disk before the crash.
                let torn = document.get(..document.len() / 2).unwrap_or_default().to_owned();
                self.generation += 1;
                self.push(StoredSet {
                    document: Zeroizing::new(torn),
                    model,
                    generation: self.generation,
                    visible_from_ms: Vec::new(),
                });
                return WriteOutcome::Crashed(CrashPoint::BeforeRename);
            }
            Some(CrashPoint::BeforeRename) => return WriteOutcome::Crashed(CrashPoint::BeforeRename),
            Some(CrashPoint::AfterRename) | None => {}
        }
        self.generation += 1;
        self.push(StoredSet { document, model, generation: self.generation, visible_from_ms: Vec::new() });
        match crash {
            Some(point) => WriteOutcome::Crashed(point),
            None => WriteOutcome::Written,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(text: &str) -> Zeroizing<String> {
        Zeroizing::new(text.to_owned())
    }

    #[test]
    fn a_crash_leaves_the_old_or_the_new_document_whole() {
        let mut store = SimStore::new(Vec::new(), false);
        assert_eq!(store.read(0).unwrap_err(), ReadFault::NotFound);
        let model = KeySetModel::default();
        assert_eq!(
            store.create(0, document("one"), model.clone(), Some(CrashPoint::BeforeRename)),
            WriteOutcome::Crashed(CrashPoint::BeforeRename)
        );
        assert_eq!(store.read(0).unwrap_err(), ReadFault::NotFound);
        assert_eq!(store.create(0, document("one"), model.clone(), None), WriteOutcome::Written);
        assert_eq!(store.create(0, document("two"), model.clone(), None), WriteOutcome::AlreadyExists);
        assert_eq!(
            store.replace(0, document("two"), model.clone(), Some(CrashPoint::BeforeRename)),
            WriteOutcome::Crashed(CrashPoint::BeforeRename)
        );
        assert_eq!(store.read(0).unwrap().document.as_str(), "one");
        assert_eq!(
            store.replace(0, document("three"), model.clone(), Some(CrashPoint::AfterRename)),
            WriteOutcome::Crashed(CrashPoint::AfterRename)
        );
        let stored = store.read(0).unwrap();
        assert_eq!((stored.document.as_str(), stored.generation), ("three", 2));
    }

    #[test]
    fn an_in_place_save_that_crashes_leaves_a_torn_document() {
        let mut store = SimStore::new(Vec::new(), true);
        assert_eq!(store.create(0, document("whole"), KeySetModel::default(), None), WriteOutcome::Written);
        assert_eq!(
            store.replace(0, document("complete"), KeySetModel::default(), Some(CrashPoint::BeforeRename)),
            WriteOutcome::Crashed(CrashPoint::BeforeRename)
        );
        assert_eq!(store.read(0).unwrap().document.as_str(), "comp");
    }

    #[test]
    fn a_reload_sees_the_newest_document_that_has_reached_its_node() {
        let mut store = SimStore::new(Vec::new(), false);
        assert_eq!(store.create(0, document("one"), KeySetModel::default(), None), WriteOutcome::Written);
        assert_eq!(store.replace(10, document("two"), KeySetModel::default(), None), WriteOutcome::Written);
        store.set_visibility(vec![10, 50]);
        assert_eq!(store.read_propagated(20, 0).unwrap().document.as_str(), "two");
        assert_eq!(store.read_propagated(20, 1).unwrap().document.as_str(), "one");
        assert_eq!(store.read_propagated(50, 1).unwrap().document.as_str(), "two");
        assert_eq!(store.read(20).unwrap().document.as_str(), "two", "a writer reads the source");
    }

    #[test]
    fn outages_block_reads_and_writes_inside_their_window_only() {
        let mut store = SimStore::new(vec![(100, 200), (500, 600)], false);
        assert!(store.is_available(99));
        assert!(!store.is_available(100));
        assert!(!store.is_available(199));
        assert!(store.is_available(200));
        assert!(!store.is_available(550));
        assert!(store.is_available(600));
        assert_eq!(store.read(150).unwrap_err(), ReadFault::Unavailable);
        assert_eq!(store.create(150, document("x"), KeySetModel::default(), None), WriteOutcome::Unavailable);
        assert_eq!(store.read(250).unwrap_err(), ReadFault::NotFound);
    }
}
