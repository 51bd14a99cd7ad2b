//! Test 7 of issue 13: a bounded load run against two processes sharing a key file while it is
//! rotated every three seconds. No valid token may be refused and nothing may fail; the counts
//! and latencies are printed, not asserted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokenring::{Clock, FileStore, Rotation, SystemClock};

use crate::support::{agent, align_to_second, eventually, healthz, Demo};

/// Concurrent clients.
const CLIENTS: usize = 4;
/// How long the clients send requests.
const RUN: Duration = Duration::from_secs(12);
/// Most requests one client sends, whatever the machine's speed.
const REQUESTS_PER_CLIENT_MAX: usize = 20_000;
/// A client logs in again after this many requests, to use tokens under the newest key.
const LOGIN_EVERY: usize = 25;
/// Most rotations (each adds one key: the ring stays far inside its 64 keys).
const ROTATIONS_MAX: usize = 6;

#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    transport_errors: usize,
    latencies_micros: Vec<u64>,
    logins: usize,
}

fn client(demos: [String; 2], index: usize, deadline: Instant) -> Tally {
    let agent = agent();
    let mut tally = Tally::default();
    let mut token = String::new();
    for request in 0..REQUESTS_PER_CLIENT_MAX {
        if Instant::now() >= deadline {
            break;
        }
        // Log in on one node and use the token on the other.
        let login_node = &demos[(index + request / LOGIN_EVERY) % 2];
        let use_node = &demos[(index + request / LOGIN_EVERY + 1) % 2];
        if request % LOGIN_EVERY == 0 {
            let answer = agent.post(format!("{login_node}/login")).send(r#"{"user":"load"}"#);
            match answer {
                Ok(mut response) if response.status() == 200 => {
                    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
                    token = body["token"].as_str().unwrap().to_owned();
                    tally.logins += 1;
                }
                Ok(response) => *tally.statuses.entry(response.status().as_u16()).or_default() += 1,
                Err(_) => tally.transport_errors += 1,
            }
        }
        let started = Instant::now();
        let answer = agent.get(format!("{use_node}/me")).header("authorization", format!("Bearer {token}")).call();
        match answer {
            Ok(mut response) => {
                let _ = response.body_mut().read_to_string();
                tally.latencies_micros.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                *tally.statuses.entry(response.status().as_u16()).or_default() += 1;
            }
            Err(_) => tally.transport_errors += 1,
        }
    }
    tally
}

#[test]
fn a_load_run_across_rotations_refuses_no_valid_token() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let a = Demo::start(
        dir.path(),
        "watching",
        &["--keys".as_ref(), keys.as_os_str(), "--poll".as_ref(), "500ms".as_ref()],
    );
    let b = Demo::start(
        dir.path(),
        "polling",
        &["--keys".as_ref(), keys.as_os_str(), "--no-watch".as_ref(), "--poll".as_ref(), "500ms".as_ref()],
    );
    let deadline = Instant::now() + RUN;
    let stop = Arc::new(AtomicBool::new(false));

    // `tokenring keys rotate FILE --propagation 1s --overlap 1h`, every three seconds.
    let rotator = {
        let (keys, stop) = (keys.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            let rotation = Rotation::new().propagation_secs(1).overlap_secs(3600);
            let mut rotations = 0;
            for _ in 0..ROTATIONS_MAX {
                align_to_second();
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let now = SystemClock.now_secs();
                FileStore::new(&keys).update(|ring| Ok(ring.rotate(&rotation, now)?)).unwrap();
                rotations += 1;
                thread::sleep(Duration::from_secs(2));
            }
            rotations
        })
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            let demos = [a.base.clone(), b.base.clone()];
            thread::spawn(move || client(demos, index, deadline))
        })
        .collect();
    let mut total = Tally::default();
    for client in clients {
        let tally = client.join().unwrap();
        for (status, count) in tally.statuses {
            *total.statuses.entry(status).or_default() += count;
        }
        total.transport_errors += tally.transport_errors;
        total.latencies_micros.extend(tally.latencies_micros);
        total.logins += tally.logins;
    }
    stop.store(true, Ordering::Relaxed);
    let rotations = rotator.join().unwrap();

    total.latencies_micros.sort_unstable();
    let percentile = |p: usize| {
        let latencies = &total.latencies_micros;
        latencies.get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1))).copied().unwrap_or(0)
    };
    let requests: usize = total.statuses.values().sum();
    println!(
        "load: {CLIENTS} clients, {requests} requests, {} logins, {rotations} rotations, statuses {:?}, \
         transport errors {}, p50 {} us, p99 {} us",
        total.logins,
        total.statuses,
        total.transport_errors,
        percentile(50),
        percentile(99),
    );

    let agent = agent();
    for demo in [&a, &b] {
        let caught_up = eventually(100, Duration::from_millis(100), || {
            healthz(&agent, demo)["generation"].as_u64() == Some(1 + rotations as u64)
        });
        assert!(caught_up, "each rotation was loaded: {}", healthz(&agent, demo));
    }
    assert!(rotations >= 1, "the key file was rotated during the run");
    assert_eq!(total.statuses.get(&401), None, "no valid token was refused");
    assert!(total.statuses.keys().all(|status| *status < 500), "no 5xx: {:?}", total.statuses);
    assert_eq!(total.transport_errors, 0);
    assert!(total.statuses.get(&200).copied().unwrap_or(0) > 0);
    assert_eq!(total.statuses.len(), 1, "only 200s: {:?}", total.statuses);
}
