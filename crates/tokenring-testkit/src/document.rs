//! [`MemoryDocument`]: an in-memory [`RingStore`] (one document, numbered revisions) the tests
//! run a real `SharedRing` on, with other writers stepping in where a test says.
//!
//! Like [`MemoryStorage`](crate::storage::MemoryStorage) it is a test double, not a model: its
//! swap is the compare-and-swap an etcd transaction gives (write only if the revision is the
//! one expected), every clone is the same document, and a test can run code of its own just
//! before a swap ([`before_swaps`](MemoryDocument::before_swaps)): another writer's update
//! landing between this writer's read and its write, which no timing could arrange reliably.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokenring::{Created, Document, RingStore, StoreError, StoreName, StoreVersion, Swapped};
use zeroize::Zeroizing;

/// What a test runs before a swap.
type Hook = Box<dyn FnMut() + Send>;

#[derive(Default)]
struct State {
    /// The document and its revision (`None`: no document).
    document: Option<(Vec<u8>, u64)>,
    /// The last revision given out: every write takes the next.
    revision: u64,
    swapped: u32,
    conflicts: u32,
}

#[derive(Default)]
struct Hooks {
    /// How many more swaps run `hook` first.
    remaining: u32,
    hook: Option<Hook>,
}

/// One document in memory, shared by its clones.
#[derive(Clone)]
pub struct MemoryDocument {
    name: &'static str,
    state: Arc<Mutex<State>>,
    hooks: Arc<Mutex<Hooks>>,
}

/// The name only: the document is key material.
impl fmt::Debug for MemoryDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDocument").field("name", &self.name).finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryDocument {
    /// An empty store named `name` in messages (`memory://keys`, say).
    pub fn new(name: &'static str) -> Self {
        Self { name, state: Arc::default(), hooks: Arc::default() }
    }

    /// Runs `hook` just before each of the next `count` swaps (any clone's), outside the
    /// store's own lock, so that the hook can update the document itself. A swap the hook
    /// makes runs no hook.
    pub fn before_swaps(&self, count: u32, hook: impl FnMut() + Send + 'static) {
        *lock(&self.hooks) = Hooks { remaining: count, hook: Some(Box::new(hook)) };
    }

    /// The document's bytes, if any.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        lock(&self.state).document.as_ref().map(|(bytes, _)| bytes.clone())
    }

    /// Replaces the document's bytes unconditionally (an operator's `etcdctl put`), giving it a
    /// new revision.
    pub fn overwrite(&self, bytes: &[u8]) {
        let mut state = lock(&self.state);
        state.revision += 1;
        state.document = Some((bytes.to_vec(), state.revision));
    }

    /// How many swaps succeeded and how many found another revision.
    pub fn swaps(&self) -> (u32, u32) {
        let state = lock(&self.state);
        (state.swapped, state.conflicts)
    }

    /// Takes the hook if a swap is due to run it.
    fn take_hook(&self) -> Option<Hook> {
        let mut hooks = lock(&self.hooks);
        if hooks.remaining == 0 || hooks.hook.is_none() {
            return None;
        }
        hooks.remaining -= 1;
        hooks.hook.take()
    }

    /// Gives the hook back after it ran (unless the hook set another).
    fn return_hook(&self, hook: Hook) {
        let mut hooks = lock(&self.hooks);
        if hooks.hook.is_none() && hooks.remaining > 0 {
            hooks.hook = Some(hook);
        }
    }
}

impl RingStore for MemoryDocument {
    fn store_name(&self) -> StoreName {
        StoreName::new(self.name)
    }

    fn load_document(&self) -> Result<Option<Document>, StoreError> {
        Ok(lock(&self.state).document.as_ref().map(|(bytes, revision)| Document {
            bytes: Zeroizing::new(bytes.clone()),
            version: StoreVersion::revision(*revision),
        }))
    }

    fn create_document(&self, document: &str) -> Result<Created, StoreError> {
        let mut state = lock(&self.state);
        if state.document.is_some() {
            return Ok(Created::AlreadyExists);
        }
        state.revision += 1;
        state.document = Some((document.as_bytes().to_vec(), state.revision));
        Ok(Created::Created(StoreVersion::revision(state.revision)))
    }

    fn swap_document(&self, expected: &StoreVersion, document: &str) -> Result<Swapped, StoreError> {
        if let Some(mut hook) = self.take_hook() {
            hook();
            self.return_hook(hook);
        }
        let mut state = lock(&self.state);
        let current = state.document.as_ref().map(|(_, revision)| StoreVersion::revision(*revision));
        if current.as_ref() != Some(expected) {
            state.conflicts += 1;
            return Ok(Swapped::Conflict);
        }
        state.revision += 1;
        state.swapped += 1;
        state.document = Some((document.as_bytes().to_vec(), state.revision));
        Ok(Swapped::Swapped(StoreVersion::revision(state.revision)))
    }
}
