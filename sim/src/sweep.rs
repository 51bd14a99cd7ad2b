//! Many runs across threads. Each run stays single-threaded and owns all of its state; the
//! threads only take the next configuration from a shared counter, and results come back in
//! the order of the configurations, whatever order the runs finish in.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Applies `runner` to every configuration on up to `threads` threads (at least one) and
/// returns the results in the order of `jobs`.
///
/// `runner` is usually [`run`](crate::run), or a wrapper around it that times the run or
/// reports progress; the simulation itself never looks at a clock.
pub fn run_all<J: Sync, T: Send>(jobs: &[J], threads: usize, runner: &(dyn Fn(&J) -> T + Sync)) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, jobs.len().max(1));
    let mut finished: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else { break };
                        done.push((index, runner(job)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    finished.sort_by_key(|(index, _)| *index);
    finished.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order() {
        let jobs: Vec<u64> = (0..100).collect();
        let squares = run_all(&jobs, 4, &|value: &u64| value * value);
        assert_eq!(squares, jobs.iter().map(|value| value * value).collect::<Vec<_>>());
        assert!(run_all(&Vec::<u64>::new(), 3, &|value: &u64| *value).is_empty());
    }
}
