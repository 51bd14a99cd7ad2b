//! The event queue: a radix heap, which pops entries in increasing order of a `u128` key.
//!
//! The simulator's queue is monotone: every key pushed is greater than the last one popped
//! (an event is never scheduled before the present, and ties in time are broken by a sequence
//! number that only grows). A radix heap uses that: it files each entry in the bucket named by
//! the highest digit in which its key differs from the last key popped, and by the value of
//! that digit, so a push is an append, and a pop moves the entries of one bucket down to lower
//! ones, in sequential passes, instead of walking a binary heap's path from root to leaf for
//! every event; an entry moves at most once per digit. Keys are unique, so the order in which
//! entries come out is exactly that of a sorted list of their keys: the same as any other
//! priority queue's.

/// Bits per digit of a key.
const DIGIT_BITS: u32 = 4;
/// Values a digit takes.
const RADIX: usize = 1 << DIGIT_BITS;
/// Digits in a `u128` key.
const DIGITS: usize = (u128::BITS / DIGIT_BITS) as usize;
/// One bucket per digit position and value; bucket 0 holds a key equal to the last popped.
const BUCKETS: usize = DIGITS * RADIX;
/// Words of the bitmap of occupied buckets.
const OCCUPIED_WORDS: usize = BUCKETS / 64;

/// A monotone priority queue of `T` by unique `u128` keys, smallest first.
#[derive(Debug)]
pub(crate) struct RadixQueue<T> {
    /// `buckets[position * RADIX + digit]` holds the entries whose key's highest digit that
    /// differs from `last` is at `position` and is `digit` (greater than `last`'s there).
    /// Every key in a bucket is smaller than every key in a later one.
    buckets: Vec<Vec<(u128, T)>>,
    /// Which buckets are not empty, one bit each.
    occupied: [u64; OCCUPIED_WORDS],
    /// The last key popped; every key in the queue is at least as great.
    last: u128,
    len: usize,
}

impl<T> RadixQueue<T> {
    pub(crate) fn new() -> Self {
        Self { buckets: (0..BUCKETS).map(|_| Vec::new()).collect(), occupied: [0; OCCUPIED_WORDS], last: 0, len: 0 }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds `value` with `key`, which must be at least the last key popped (and differ from
    /// every key in the queue).
    pub(crate) fn push(&mut self, key: u128, value: T) {
        debug_assert!(key >= self.last, "keys only grow");
        self.put(key, value);
        self.len += 1;
    }

    /// Removes and returns the entry with the smallest key.
    pub(crate) fn pop(&mut self) -> Option<(u128, T)> {
        let bucket = self.lowest_occupied()?;
        let mut entries = core::mem::take(&mut self.buckets[bucket]);
        self.occupied[bucket / 64] &= !(1 << (bucket % 64));
        // The smallest key of the lowest bucket is the smallest of all; every other entry of
        // that bucket differs from it only in lower digits, so it moves to a lower bucket.
        let smallest = entries.iter().enumerate().min_by_key(|(_, (key, _))| *key).map_or(0, |(index, _)| index);
        let popped = entries.swap_remove(smallest);
        self.last = popped.0;
        for (key, value) in entries.drain(..) {
            self.put(key, value);
        }
        // The emptied bucket keeps its allocation for the entries it will take next.
        self.buckets[bucket] = entries;
        self.len -= 1;
        Some(popped)
    }

    /// The first bucket that holds an entry.
    fn lowest_occupied(&self) -> Option<usize> {
        let (word, bits) = self.occupied.iter().enumerate().find(|(_, bits)| **bits != 0)?;
        Some(word * 64 + bits.trailing_zeros() as usize)
    }

    /// Files an entry in its bucket relative to `last`.
    fn put(&mut self, key: u128, value: T) {
        let bucket = bucket_of(key, self.last);
        self.buckets[bucket].push((key, value));
        self.occupied[bucket / 64] |= 1 << (bucket % 64);
    }
}

/// The bucket of `key` while `last` is the last key popped: by the highest digit in which they
/// differ, then by the key's value of that digit. A key equal to `last` (only zero can be,
/// before anything is popped) goes in bucket 0.
fn bucket_of(key: u128, last: u128) -> usize {
    let differing = key ^ last;
    if differing == 0 {
        return 0;
    }
    let position = (u128::BITS - 1 - differing.leading_zeros()) / DIGIT_BITS;
    let digit = (key >> (position * DIGIT_BITS)) as usize % RADIX;
    position as usize * RADIX + digit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SimRng, Stream};
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn pops_in_key_order_like_a_binary_heap() {
        let mut rng = SimRng::new(11, Stream::Faults);
        let mut queue = RadixQueue::new();
        let mut heap = BinaryHeap::new();
        let mut sequence = 0u64;
        let mut now = 0u64;
        for round in 0..20_000u64 {
            // Bursts of pushes at or after now, sometimes at exactly now, sometimes far ahead.
            for _ in 0..rng.below(4) {
                sequence += 1;
                let delay = match rng.below(4) {
                    0 => 0,
                    1 => rng.below(10),
                    2 => rng.below(100_000),
                    _ => rng.below(1 << 40),
                };
                let key = (u128::from(now + delay) << 64) | u128::from(sequence);
                queue.push(key, round);
                heap.push(Reverse((key, round)));
            }
            if rng.below(3) > 0 {
                let popped = queue.pop();
                assert_eq!(popped, heap.pop().map(|Reverse(entry)| entry));
                if let Some((key, _)) = popped {
                    now = (key >> 64) as u64;
                }
            }
            assert_eq!(queue.len(), heap.len());
        }
        while let Some(Reverse(entry)) = heap.pop() {
            assert_eq!(queue.pop(), Some(entry));
        }
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn a_zero_key_first_is_popped_first() {
        let mut queue = RadixQueue::new();
        queue.push(3, 'c');
        queue.push(0, 'a');
        queue.push(1, 'b');
        assert_eq!(queue.pop(), Some((0, 'a')));
        assert_eq!(queue.pop(), Some((1, 'b')));
        assert_eq!(queue.pop(), Some((3, 'c')));
        assert_eq!(queue.pop(), None);
    }
}
