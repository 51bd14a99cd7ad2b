//! Verifying through a [`SharedRing`] on one and two threads while another thread reloads it
//! from its file every 10 ms, against a plain [`KeyRing`](tokenring::KeyRing) on as many
//! threads.
//!
//! Each sample runs `iters` verifications on every thread at once and reports the slowest
//! thread's time, so the figure is the time of one verification on one thread: per-thread
//! throughput is its inverse. The reloading thread runs during the plain ring's samples too
//! (reloading a ring nobody reads), so that both sides share the machine with the same
//! background work and the difference is what reading through the shared ring costs. The
//! reloads are real: the file alternates between two documents that both verify the token, so
//! every reload parses a key set and swaps a new ring in; their count is printed at the end.

#![forbid(unsafe_code)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tokenring::{FileStore, KeyRing, Reloaded, Rotation, SharedRing};
use tokenring_benches::{ring, token, validation, Claims, NOW_SECS};

/// Pause between two reloads.
const RELOAD_EVERY: Duration = Duration::from_millis(10);

/// Runs `verify` `iters` times on each of `threads` threads, started together; the slowest
/// thread's time.
fn on_threads(threads: usize, iters: u64, verify: &(impl Fn() + Sync)) -> Duration {
    let barrier = Barrier::new(threads);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let started = Instant::now();
                    for _ in 0..iters {
                        verify();
                    }
                    started.elapsed()
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap_or(Duration::MAX)).max().unwrap_or_default()
    })
}

/// Writes `document` over `path` atomically, as a key-file writer does.
fn replace(path: &Path, document: &str) {
    let temp = path.with_extension("next");
    if std::fs::write(&temp, document).is_ok() {
        let _ = std::fs::rename(&temp, path);
    }
}

/// Reloads `shared` every [`RELOAD_EVERY`] until `stop`, after flipping its file between two
/// documents; counts the reloads that swapped a new ring in.
fn reloader(
    shared: SharedRing,
    path: PathBuf,
    documents: [String; 2],
    stop: Arc<AtomicBool>,
    changed: Arc<AtomicU64>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut next = 1;
        while !stop.load(Ordering::Relaxed) {
            thread::sleep(RELOAD_EVERY);
            replace(&path, &documents[next]);
            next = 1 - next;
            if let Ok(Reloaded::Changed { .. }) = shared.reload() {
                changed.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
}

fn shared_ring(c: &mut Criterion) {
    let token = token();
    let validation = validation();
    let plain = ring();

    let directory = std::env::temp_dir().join(format!("tokenring-bench-shared-ring-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("a temporary directory");
    let path = directory.join("keys.json");
    // The second document holds the fixture key and a key pending for a year: the token
    // verifies under both, and they differ, so every reload swaps.
    let mut other: KeyRing = plain.clone();
    other.rotate(&Rotation::new().propagation_secs(365 * 86_400), NOW_SECS).expect("a rotation");
    let documents = [String::clone(&plain.to_jwk_set()), String::clone(&other.to_jwk_set())];
    replace(&path, &documents[0]);
    let shared = SharedRing::open(FileStore::new(&path)).expect("the key file loads");

    assert!(plain.verify::<Claims>(&token, &validation, NOW_SECS).is_ok());
    assert!(shared.ring().verify::<Claims>(&token, &validation, NOW_SECS).is_ok());
    replace(&path, &documents[1]);
    assert!(matches!(shared.reload(), Ok(Reloaded::Changed { .. })));
    assert!(shared.ring().verify::<Claims>(&token, &validation, NOW_SECS).is_ok());

    let stop = Arc::new(AtomicBool::new(false));
    let changed = Arc::new(AtomicU64::new(0));
    let reloading = reloader(shared.clone(), path, documents, Arc::clone(&stop), Arc::clone(&changed));

    let mut group = c.benchmark_group("shared_ring_verify");
    for threads in [1, 2] {
        group.bench_with_input(BenchmarkId::new("keyring", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, &|| {
                    let _ = black_box(plain.verify::<Claims>(black_box(&token), &validation, NOW_SECS));
                })
            })
        });
        group.bench_with_input(BenchmarkId::new("shared_ring", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, &|| {
                    let _ = black_box(shared.ring().verify::<Claims>(black_box(&token), &validation, NOW_SECS));
                })
            })
        });
    }
    group.finish();

    stop.store(true, Ordering::Relaxed);
    let _ = reloading.join();
    eprintln!("shared_ring_verify: {} reloads swapped in a new ring during the run", changed.load(Ordering::Relaxed));
    let _ = std::fs::remove_dir_all(&directory);
}

criterion_group!(benches, shared_ring);
criterion_main!(benches);
