//! A dudect-style timing check of signature verification: does the time to reject a token
//! depend on where its MAC is wrong?
//!
//! ```text
//! cargo run --release -p tokenring-testkit --example ct_check -- [measurements]
//! ```
//!
//! Three pairs of input classes are timed, `measurements` times per pair (default 1,000,000),
//! with the class of every measurement drawn from a fixed-seed xorshift generator so that the
//! two classes interleave and share whatever the machine is doing:
//!
//! 1. `verify_jws`: MAC wrong in its first byte versus wrong in its last byte (same key, same
//!    header and payload, equal token lengths).
//! 2. `mac_compare` (the verifier's constant-time tag comparison, see
//!    `tokenring_testkit::mac_compare`): tags equal versus different in the last byte.
//! 3. A canary: a deliberately early-exit comparison, first byte versus last byte wrong. It
//!    must show a leak; if it does not, the harness is too blunt to trust its other answers.
//!
//! For each pair, Welch's t statistic is computed on all measurements and on the measurements
//! below several percentiles of the pair's distribution (dudect's cropping, which discards the
//! long tail that interrupts and frequency changes add). The largest |t| is reported;
//! |t| < 4.5 means no leak was detected. This is a tool, not a test: timings depend on the
//! machine and its load, and nothing here asserts on them.

#![allow(clippy::print_stdout, reason = "a command-line tool that reports on stdout")]

use std::hint::black_box;
use std::time::Instant;

use tokenring::{Key, KeyRing, Scratch};
use tokenring_testkit::{encode_base64url, hs256, mac_compare};

/// The verification time; the tokens never expire before it.
const NOW_SECS: u64 = 1_700_000_000;

/// Measurements per pair when none are given.
const MEASUREMENTS_DEFAULT: usize = 1_000_000;

/// The |t| above which a timing difference counts as detected (dudect's threshold).
const T_THRESHOLD: f64 = 4.5;

/// Comparisons per measurement in the pairs that time a single comparison: one takes a few
/// nanoseconds, less than the clock's resolution, so a batch is timed.
const COMPARES_PER_MEASUREMENT: usize = 16;

/// Percentiles at which measurements are cropped, in addition to none.
const CROP_PERCENTILES: [f64; 6] = [0.50, 0.75, 0.90, 0.95, 0.99, 0.999];

/// A xorshift64 generator: deterministic, so that every run interleaves the classes alike.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn class(&mut self) -> usize {
        (self.next() >> 63) as usize
    }
}

/// Running mean and variance (Welford).
#[derive(Default, Clone, Copy)]
struct Moments {
    count: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn push(&mut self, value: f64) {
        self.count += 1.0;
        let delta = value - self.mean;
        self.mean += delta / self.count;
        self.m2 += delta * (value - self.mean);
    }

    fn variance(&self) -> f64 {
        if self.count < 2.0 {
            0.0
        } else {
            self.m2 / (self.count - 1.0)
        }
    }
}

/// Welch's t statistic of the two classes' measurements at or below `limit_nanos`.
fn welch_t(samples: &[(usize, u32)], limit_nanos: u32) -> (f64, [Moments; 2]) {
    let mut moments = [Moments::default(); 2];
    for &(class, nanos) in samples {
        if nanos <= limit_nanos {
            moments[class].push(f64::from(nanos));
        }
    }
    let [a, b] = moments;
    let spread = (a.variance() / a.count + b.variance() / b.count).sqrt();
    // A crop that leaves a class (almost) empty says nothing; it counts as no difference.
    let t = if a.count >= 2.0 && b.count >= 2.0 && spread > 0.0 { (a.mean - b.mean) / spread } else { 0.0 };
    (t, moments)
}

/// One pair of input classes to time.
trait Pair {
    /// Makes the input of `class` current. Not timed.
    fn prepare(&mut self, class: usize);
    /// Runs the operation on the current input. Timed.
    fn run(&mut self);
}

/// Verification through the public API, both classes from the same buffer so that they differ
/// only in content and not in address or alignment (which alone can shift a timing by a
/// fraction of a cycle).
struct VerifyPair {
    ring: KeyRing,
    tokens: [Vec<u8>; 2],
    buffer: Vec<u8>,
    scratch: Scratch,
}

impl Pair for VerifyPair {
    fn prepare(&mut self, class: usize) {
        self.buffer.copy_from_slice(&self.tokens[class]);
    }

    fn run(&mut self) {
        let outcome = self.ring.verify_jws(black_box(self.buffer.as_slice()), &mut self.scratch, NOW_SECS);
        black_box(outcome.is_ok());
    }
}

/// A tag comparison, timed in batches of [`COMPARES_PER_MEASUREMENT`].
struct ComparePair {
    compare: fn(&[u8; 32], &[u8; 32]) -> bool,
    expected: [u8; 32],
    inputs: [[u8; 32]; 2],
    current: [u8; 32],
}

impl Pair for ComparePair {
    fn prepare(&mut self, class: usize) {
        self.current = self.inputs[class];
    }

    fn run(&mut self) {
        for _ in 0..COMPARES_PER_MEASUREMENT {
            black_box((self.compare)(black_box(&self.expected), black_box(&self.current)));
        }
    }
}

/// Times `measurements` runs of `pair` with classes drawn from `rng`, then prints the t
/// statistics and returns the largest |t|.
fn check(name: &str, measurements: usize, rng: &mut XorShift, pair: &mut impl Pair) -> f64 {
    // Warm up caches, branch predictors and the CPU's clock before measuring.
    for _ in 0..measurements / 100 {
        pair.prepare(rng.class());
        pair.run();
    }
    let mut samples = Vec::with_capacity(measurements);
    for _ in 0..measurements {
        let class = rng.class();
        pair.prepare(class);
        let start = Instant::now();
        pair.run();
        let nanos = u32::try_from(start.elapsed().as_nanos()).unwrap_or(u32::MAX);
        samples.push((class, nanos));
    }
    let mut sorted: Vec<u32> = samples.iter().map(|&(_, nanos)| nanos).collect();
    sorted.sort_unstable();
    let mut limits = vec![("none".to_owned(), u32::MAX)];
    for percentile in CROP_PERCENTILES {
        let index = ((sorted.len() as f64 * percentile) as usize).min(sorted.len() - 1);
        limits.push((format!("p{}", percentile * 100.0), sorted[index]));
    }
    println!("{name}");
    let mut worst: f64 = 0.0;
    for (label, limit) in limits {
        let (t, [a, b]) = welch_t(&samples, limit);
        println!(
            "  crop {label:>6}: n = {:>8} / {:>8}  mean = {:>8.1} / {:>8.1} ns  |t| = {:.2}",
            a.count,
            b.count,
            a.mean,
            b.mean,
            t.abs()
        );
        worst = worst.max(t.abs());
    }
    let verdict = if worst < T_THRESHOLD { "no leak detected" } else { "LEAK DETECTED" };
    println!("  max |t| = {worst:.2}: {verdict}\n");
    worst
}

/// A token signed with `secret`, its MAC's byte `wrong_byte` flipped (or none).
fn token_with_mac(secret: &[u8], wrong_byte: Option<usize>) -> String {
    let mut token = String::new();
    encode_base64url(br#"{"alg":"HS256","typ":"JWT"}"#, &mut token);
    token.push('.');
    encode_base64url(br#"{"sub":"timing","exp":4102444800}"#, &mut token);
    let mut mac = hs256(secret, token.as_bytes());
    if let Some(index) = wrong_byte {
        mac[index] ^= 0x01;
    }
    token.push('.');
    encode_base64url(&mac, &mut token);
    token
}

/// The comparison a careless verifier would write: stops at the first differing byte.
fn early_exit_compare(expected: &[u8; 32], actual: &[u8; 32]) -> bool {
    for index in 0..32 {
        if black_box(expected[index]) != black_box(actual[index]) {
            return false;
        }
    }
    true
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let measurements = match std::env::args().nth(1) {
        Some(text) => text.parse::<usize>()?,
        None => MEASUREMENTS_DEFAULT,
    };
    if measurements < 1000 {
        return Err("at least 1000 measurements are needed".into());
    }
    let secret = [0x42u8; 32];
    let ring = KeyRing::with_key(Key::from_bytes(&secret)?, None, NOW_SECS);
    let tokens = [token_with_mac(&secret, Some(0)), token_with_mac(&secret, Some(31))];
    if tokens[0].len() != tokens[1].len() {
        return Err("the two token classes differ in length".into());
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    println!("{measurements} measurements per pair; classes A / B; |t| < {T_THRESHOLD} means no leak detected\n");

    let buffer = tokens[0].clone().into_bytes();
    let mut verify = VerifyPair { ring, tokens: tokens.map(String::into_bytes), buffer, scratch: Scratch::new() };
    let verify_t =
        check("verify_jws: MAC wrong in the first byte (A) / the last byte (B)", measurements, &mut rng, &mut verify);

    let right = hs256(&secret, b"message");
    let mut wrong_first = right;
    wrong_first[0] ^= 0x01;
    let mut wrong_last = right;
    wrong_last[31] ^= 0x01;
    let mut compare =
        ComparePair { compare: mac_compare, expected: right, inputs: [right, wrong_last], current: right };
    let compare_t =
        check("mac_compare: tag right (A) / wrong in the last byte (B)", measurements, &mut rng, &mut compare);

    let mut canary =
        ComparePair { compare: early_exit_compare, expected: right, inputs: [wrong_first, wrong_last], current: right };
    let canary_t = check(
        "canary, early-exit compare: wrong in the first byte (A) / the last byte (B); must leak",
        measurements,
        &mut rng,
        &mut canary,
    );

    println!("summary: verify_jws |t| = {verify_t:.2}, mac_compare |t| = {compare_t:.2}, canary |t| = {canary_t:.2}");
    if canary_t < T_THRESHOLD {
        println!("warning: the canary showed no leak, so this run could not have detected one");
    }
    Ok(())
}
