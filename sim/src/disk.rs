//! The cluster's disks: the key file's disk (one shared, or one per node under
//! `per-node-files`, none under `ephemeral` and `etcd`), each node's `FileStore` on its mount of it, the
//! outages drawn for a run, and the write faults and propagation delays the scenario injects.
//! The disk itself, and its faults, are in [`crate::store`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokenring::FileStore;

use crate::config::{Config, Policy, SECOND_MS, STORE_OUTAGE_GAP_MIN_MS};
use crate::model::DocumentModels;
use crate::rng::{SimRng, Stream};
use crate::store::{CrashPlan, Disk, NodeDisk, Outage, OutageKind, View, KEY_FILE};

/// Highest operation of a write at which a planned crash strikes (a save makes four, a create
/// five; a higher draw lets the write finish).
const CRASH_OPERATION_MAX: u64 = 5;
/// Longest a sync (`fsync` of the file or of its directory) takes: a write makes two, and holds
/// the lock until they are done.
pub(crate) const SYNC_MAX_MS: u64 = 1_000;

#[derive(Debug)]
pub(crate) struct Disks {
    /// The shared disk, or one per node (`per-node-files`).
    disks: Vec<Arc<Mutex<Disk>>>,
    /// Each node's `FileStore` on its mount of the key file (none under `ephemeral`): what its
    /// `SharedRing` opens, reloads and updates.
    stores: Vec<FileStore>,
    /// Draws how long each write's syncs take (a stream of its own, so that it shifts no other
    /// draw).
    syncs: SimRng,
    /// The oracle's model of every key set document a writer wrote to these disks (or to the
    /// simulated etcd).
    pub(crate) documents: DocumentModels,
    /// The store's outages, `[start, end)`: the disks', or, under `etcd`, etcd's.
    pub(crate) outages: Vec<(u64, u64)>,
}

impl Disks {
    /// The run's disks, with outages drawn from `faults`.
    pub(crate) fn new(config: &Config, faults: &mut SimRng) -> Self {
        // Random outages, at most `store_outage_max_ms` long and at least a retry apart; one
        // that would come too close to a scheduled outage is left out, so that the scheduled
        // ones keep those bounds too.
        let scheduled = &config.scheduled_store_outages;
        let mut outages: Vec<(u64, u64)> = scheduled.iter().copied().filter(|(start, end)| start < end).collect();
        if let (Some(mean), true) = (config.store_outage_interval_mean_ms, config.policy.uses_store()) {
            let mut start = faults.exponential(mean);
            while start < config.duration_ms {
                let end = start + faults.between(SECOND_MS.min(config.store_outage_max_ms), config.store_outage_max_ms);
                let clear = scheduled.iter().all(|&(other_start, other_end)| {
                    end + STORE_OUTAGE_GAP_MIN_MS <= other_start || other_end + STORE_OUTAGE_GAP_MIN_MS <= start
                });
                if clear {
                    outages.push((start, end));
                }
                start = end + STORE_OUTAGE_GAP_MIN_MS + faults.exponential(mean);
            }
        }
        outages.sort_unstable();
        // Scheduled outages that overlap each other become one.
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(outages.len());
        for (start, end) in outages {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let outages: Vec<Outage> = merged
            .into_iter()
            .map(|(start_ms, end_ms)| {
                let kind = *faults.pick(&OutageKind::ALL).unwrap_or(&OutageKind::Io);
                Outage { start_ms, end_ms, kind }
            })
            .collect();
        let windows = outages.iter().map(|outage| (outage.start_ms, outage.end_ms)).collect();
        let disks: Vec<Arc<Mutex<Disk>>> = match config.policy {
            // No key file: nothing in memory, or the simulated etcd (`crate::etcd`).
            Policy::Ephemeral | Policy::Etcd => Vec::new(),
            Policy::PerNodeFiles => (0..config.nodes)
                .map(|_| Disk::shared(outages.clone(), SimRng::new(config.seed, Stream::Disk)))
                .collect(),
            _ => vec![Disk::shared(outages, SimRng::new(config.seed, Stream::Disk))],
        };
        let stores = if disks.is_empty() {
            Vec::new()
        } else {
            (0..usize::from(config.nodes)).map(|node| node_store(&disks[node.min(disks.len() - 1)], node)).collect()
        };
        if let Some((node, until_ms)) = config.unmounted_secret.filter(|&(node, _)| node < config.nodes) {
            if let Some(disk) = disks.get(usize::from(node).min(disks.len().saturating_sub(1))) {
                disk.lock().unwrap_or_else(PoisonError::into_inner).unmount(usize::from(node), until_ms);
            }
        }
        Self {
            disks,
            stores,
            syncs: SimRng::new(config.seed, Stream::Syncs),
            documents: DocumentModels::default(),
            outages: windows,
        }
    }

    /// The disk node `node`'s key file is on, with its clock set to `now_ms`.
    pub(crate) fn at(&self, node: usize, now_ms: u64) -> MutexGuard<'_, Disk> {
        let disk = &self.disks[node.min(self.disks.len() - 1)];
        let mut disk = disk.lock().unwrap_or_else(PoisonError::into_inner);
        disk.set_now(now_ms);
        disk
    }

    /// Node `node`'s `FileStore`, its disk's clock set to `now_ms`.
    pub(crate) fn store(&self, node: usize, now_ms: u64) -> FileStore {
        drop(self.at(node, now_ms));
        self.stores[node].clone()
    }

    /// The clock of the disk node `node`'s key file is on, as the last call left it (when its
    /// last operation landed), without setting it.
    pub(crate) fn clock_ms(&self, node: usize) -> u64 {
        let disk = &self.disks[node.min(self.disks.len() - 1)];
        disk.lock().unwrap_or_else(PoisonError::into_inner).now_ms()
    }

    /// Until when a writer holds the lock of the disk node `node`'s key file is on.
    pub(crate) fn lock_free_at_ms(&self, node: usize) -> u64 {
        let disk = &self.disks[node.min(self.disks.len() - 1)];
        disk.lock().unwrap_or_else(PoisonError::into_inner).lock_free_at_ms()
    }

    /// The key file node `node` writes to, as it is now (the ground truth), without setting
    /// the disk's clock.
    pub(crate) fn key_file(&self, node: usize) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        let disk = self.disks.get(node.min(self.disks.len().saturating_sub(1)))?;
        let disk = disk.lock().unwrap_or_else(PoisonError::into_inner);
        disk.key_file().map(|bytes| zeroize::Zeroizing::new(bytes.to_vec()))
    }

    /// How many times a writer waited for the lock, on every disk.
    pub(crate) fn lock_waits(&self) -> u64 {
        self.disks.iter().map(|disk| disk.lock().unwrap_or_else(PoisonError::into_inner).lock_waits).sum()
    }

    /// Plans, by the configured chance, a crash of `writer` in its next write, and, by its
    /// own, an outside holder of the lock for some attempts.
    ///
    /// Every write's syncs take a drawn time, up to [`SYNC_MAX_MS`] each: its writes land, and
    /// it releases the lock, that much later in simulated time.
    pub(crate) fn plan_write_faults(&mut self, writer: usize, now_ms: u64, faults: &mut SimRng, config: &Config) {
        if self.disks.is_empty() {
            return;
        }
        let sync_ms = self.syncs.between(0, SYNC_MAX_MS);
        self.at(writer, now_ms).plan_sync(writer, sync_ms);
        if faults.chance(config.store_write_crash_per_mille) {
            let plan =
                CrashPlan { operation: faults.between(1, CRASH_OPERATION_MAX) as u32, after: faults.chance(500) };
            self.at(writer, now_ms).plan_crash(writer, plan);
        }
        if faults.chance(config.lock_contention_per_mille) {
            let attempts_max = 2 * u64::from(tokenring::limits::LOCK_ATTEMPTS_MAX);
            let attempts = faults.between(1, attempts_max) as u32;
            self.at(writer, now_ms).contend_lock(attempts);
        }
    }

    /// Draws, for the version of the key file `writer` just wrote, when each of the `nodes`
    /// mounts shows it; the writer's own at once.
    pub(crate) fn delay_propagation(
        &self,
        writer: usize,
        now_ms: u64,
        nodes: usize,
        faults: &mut SimRng,
        config: &Config,
    ) {
        let max_ms = config.propagation_delay_max_ms;
        if max_ms == 0 {
            // Every mount at once, from when the write landed.
            self.at(writer, now_ms).set_visibility(vec![now_ms; nodes]);
            return;
        }
        let visible_from_ms = (0..nodes)
            .map(|node| {
                if node == writer {
                    now_ms
                } else if faults.chance(config.slow_propagation_per_mille) {
                    now_ms + max_ms
                } else {
                    now_ms + faults.between(0, max_ms)
                }
            })
            .collect();
        self.at(writer, now_ms).set_visibility(visible_from_ms);
    }
}

/// A `FileStore` at the key file on `disk`, as node `node` reaches it through its mount.
fn node_store(disk: &Arc<Mutex<Disk>>, node: usize) -> FileStore {
    FileStore::with_storage(KEY_FILE, Arc::new(NodeDisk::new(Arc::clone(disk), node, View::Mounted)))
}
