//! Seeded randomness: one ChaCha8 stream per component, integer-only distributions, and the
//! ChaCha-backed [`Entropy`] the nodes make their keys with.

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokenring::{Entropy, KeyError};
use zeroize::Zeroizing;

/// The components that draw random numbers. Each draws from its own ChaCha stream of the run's
/// seed, so a change in how often one component draws never shifts what another one sees.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    /// The swarm's choice of configuration.
    Swarm = 1,
    /// Fault times: crashes, rolling restarts, store outages, write crashes, rotations.
    Faults = 2,
    /// Client behaviour.
    Clients = 3,
    /// The attacker's choices.
    Attacker = 4,
    /// Key material for the nodes.
    Keys = 5,
    /// Key material for the attacker's own keys.
    AttackerKeys = 6,
    /// Load-balancer choices and node clock skew.
    Network = 7,
    /// What a simulated disk keeps when a node crashes in the middle of a write.
    Disk = 8,
    /// The numbers in the store's temporary files' names.
    TempNames = 9,
    /// When a running node's clock steps, and to what.
    Clocks = 10,
    /// How long each write's syncs take on the simulated disk.
    Syncs = 11,
    /// How fast each node's clock drifts.
    Drift = 12,
    /// Each request's network latency.
    Latency = 13,
    /// Each round trip of a request to the simulated etcd.
    EtcdLatency = 14,
    /// When the simulated etcd's watch delivers each event to each node.
    Watch = 15,
    /// The swarm's draws for the `etcd` policy alone (so that they shift no other policy's).
    EtcdSwarm = 16,
}

/// A seeded generator with the few integer distributions the simulator needs.
///
/// No floating point: `f64::ln` and friends come from the platform's math library and may differ
/// in the last bit between machines, which would break "same seed, same trace".
#[derive(Debug, Clone)]
pub(crate) struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The generator for `stream` of `seed`.
    pub(crate) fn new(seed: u64, stream: Stream) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream as u64);
        Self { inner }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    pub(crate) fn fill(&mut self, dest: &mut [u8]) {
        self.inner.fill_bytes(dest);
    }

    /// Uniform in `0..bound`, without modulo bias (Lemire's multiply-and-reject). A zero bound
    /// yields zero.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            // The low half decides acceptance; the high half is the result.
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// Uniform in `low..=high` (`high < low` yields `low`).
    pub(crate) fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.below(high - low + 1)
    }

    /// True with probability `per_mille / 1000`.
    pub(crate) fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let len = u64::try_from(items.len()).ok()?;
        items.get(usize::try_from(self.below(len)).ok()?)
    }

    /// A waiting time with mean `mean` (at least 1), shaped like an exponential distribution.
    ///
    /// The number of leading zero bits of a random word is geometric (`P(k) = 2^-(k+1)`, mean 1);
    /// adding a uniform fraction spreads it continuously, and scaling by 2/3 brings the mean of
    /// `k + fraction` (1.5) back to 1. Integer arithmetic only.
    pub(crate) fn exponential(&mut self, mean: u64) -> u64 {
        const FRACTION_STEPS: u64 = 1024;
        let whole = u64::from(self.next_u64().leading_zeros());
        let fraction = self.below(FRACTION_STEPS);
        let scaled =
            u128::from(whole * FRACTION_STEPS + fraction) * u128::from(mean) * 2 / (3 * u128::from(FRACTION_STEPS));
        u64::try_from(scaled).unwrap_or(u64::MAX).max(1)
    }
}

/// The nodes' (and the attacker's) source of key material: a ChaCha stream of the run's seed.
///
/// Deterministic on purpose, so that a seed replays the same keys; it makes simulation keys
/// only.
#[derive(Debug)]
pub(crate) struct ChaChaEntropy {
    rng: SimRng,
}

impl ChaChaEntropy {
    pub(crate) fn new(seed: u64, stream: Stream) -> Self {
        Self { rng: SimRng::new(seed, stream) }
    }
}

impl Entropy for ChaChaEntropy {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), KeyError> {
        self.rng.fill(dest);
        Ok(())
    }
}

/// Entropy that keeps a copy of what it hands out, so that a ring generated inside a call the
/// simulator cannot see into (`FileStore::load_or_create_with`) can be generated again.
#[derive(Debug)]
pub(crate) struct Recording<'a> {
    inner: &'a mut ChaChaEntropy,
    pub(crate) drawn: Zeroizing<Vec<u8>>,
}

impl<'a> Recording<'a> {
    pub(crate) fn new(inner: &'a mut ChaChaEntropy) -> Self {
        Self { inner, drawn: Zeroizing::new(Vec::new()) }
    }
}

impl Entropy for Recording<'_> {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), KeyError> {
        self.inner.fill(dest)?;
        self.drawn.extend_from_slice(dest);
        Ok(())
    }
}

/// Hands out recorded bytes again, in order.
#[derive(Debug)]
pub(crate) struct Replay<'a> {
    bytes: &'a [u8],
}

impl<'a> Replay<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
}

impl Entropy for Replay<'_> {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), KeyError> {
        let (head, rest) = self.bytes.split_at_checked(dest.len()).ok_or(KeyError::Entropy)?;
        dest.copy_from_slice(head);
        self.bytes = rest;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let mut a = SimRng::new(7, Stream::Clients);
        let mut b = SimRng::new(7, Stream::Clients);
        let mut c = SimRng::new(7, Stream::Attacker);
        let drawn: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        assert_eq!(drawn, (0..8).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(drawn, (0..8).map(|_| c.next_u64()).collect::<Vec<_>>());
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SimRng::new(1, Stream::Faults);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let value = rng.below(7);
            assert!(value < 7);
            seen[value as usize] = true;
        }
        assert!(seen.iter().all(|&hit| hit));
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.between(5, 5), 5);
        assert_eq!(rng.between(9, 3), 9);
    }

    #[test]
    fn exponential_has_roughly_the_requested_mean() {
        let mut rng = SimRng::new(3, Stream::Clients);
        let samples = 20_000u64;
        let total: u64 = (0..samples).map(|_| rng.exponential(10_000)).sum();
        let mean = total / samples;
        assert!((9_000..11_000).contains(&mean), "mean {mean}");
    }
}
