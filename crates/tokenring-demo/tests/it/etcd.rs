//! Three demo processes share one etcd key (`--keys etcd://HOST:PORT/KEY`): 20 rotations and
//! 20 revocations reach all three through the watch, measured against three processes on one
//! key file that poll it. The figures are printed (run with `--nocapture`), not asserted: the
//! only bound asserted is the one the deployment rests on, that a revocation reaches every
//! etcd process before the poll backstop would have read the key.

use std::path::Path;
use std::time::{Duration, Instant};

use tokenring::{Clock, FileStore, KeyRing, Kid, Rotation, SharedRing, SystemClock};
use tokenring_etcd::{Credentials, EtcdStore, Tls};
use tokenring_testkit::etcd::{tls_file, EtcdServer, Security};

use crate::support::{agent, healthz, kid_of, login, me, Demo};

const ROUNDS: usize = 20;
/// The etcd processes' poll backstop: long, so that what reaches them within a round came
/// through the watch.
const ETCD_POLL: Duration = Duration::from_secs(3600);
/// The file processes' poll (no file events): the propagation a file poll gives.
const FILE_POLL: &str = "500ms";
/// Most checks of the three processes per round, 5 ms apart.
const CHECKS_MAX: u32 = 4000;

/// One round's figures: write to every process serving the change.
struct Figures {
    propagation: Vec<Duration>,
    revocation: Vec<Duration>,
}

impl Figures {
    fn summary(label: &str, mut times: Vec<Duration>) -> (Duration, Duration) {
        times.sort();
        let median = times[times.len() / 2];
        let worst = times[times.len() - 1];
        println!("{label}: median {median:?}, worst {worst:?} of {}", times.len());
        (median, worst)
    }
}

/// Waits until `done` holds for every process, checking them in turn; the time it took.
fn until_all(demos: &[Demo], mut done: impl FnMut(&Demo) -> bool) -> Duration {
    let started = Instant::now();
    let mut reached = vec![false; demos.len()];
    for _ in 0..CHECKS_MAX {
        for (demo, reached) in demos.iter().zip(reached.iter_mut()) {
            *reached = *reached || done(demo);
        }
        if reached.iter().all(|reached| *reached) {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("not every process took the change within {CHECKS_MAX} checks: {reached:?}");
}

/// 20 rounds on three processes sharing one ring through `ring`: rotate (the new key active at
/// once), then revoke the key before it, whose token every process must then refuse.
fn rounds(demos: &[Demo], ring: &SharedRing) -> Figures {
    let agent = agent();
    let mut figures = Figures { propagation: Vec::new(), revocation: Vec::new() };
    let mut previous = login(&agent, &demos[0], "ada");
    for round in 0..ROUNDS {
        // Each round would otherwise start right after the poll that ended the last one: a
        // write spread over the poll's period measures a poll's typical delay, not its worst.
        let offset = || Duration::from_millis((round as u64 * 137 + 61) % 500);
        std::thread::sleep(offset());
        let now = SystemClock.now_secs();
        let kid: Kid = ring.update(|ring| Ok(ring.rotate(&Rotation::new().propagation_secs(0), now)?)).unwrap();
        let kid = kid.to_string();
        figures.propagation.push(until_all(demos, |demo| healthz(&agent, demo)["active_kid"] == kid.as_str()));

        let token = login(&agent, &demos[1], "ada");
        assert_eq!(kid_of(&token), kid);
        let old = Kid::new(&kid_of(&previous)).unwrap();
        assert_eq!(me(&agent, &demos[2], &previous).status, 200, "the old key verifies until revoked");
        std::thread::sleep(offset());
        ring.update(|ring| Ok(ring.revoke(&old, SystemClock.now_secs())?)).unwrap();
        figures.revocation.push(until_all(demos, |demo| me(&agent, demo, &previous).status == 401));
        previous = token;
    }
    figures
}

fn processor() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info.lines().find_map(|line| line.strip_prefix("model name")).unwrap_or(": unknown");
    model.trim_start_matches([' ', '\t', ':']).to_owned()
}

fn start_three(dir: &Path, name: &str, args: &[&str]) -> Vec<Demo> {
    (0..3).map(|n| Demo::start(dir, &format!("{name}-{n}"), args)).collect()
}

#[test]
fn three_processes_on_one_etcd_key_take_rotations_and_revocations_through_the_watch() {
    let dir = tempfile::tempdir().unwrap();
    let server = EtcdServer::start();
    let url = format!("etcd://{}/app/keys", server.endpoint());
    let now = SystemClock.now_secs();
    let (etcd_ring, _) =
        SharedRing::open_or_create(EtcdStore::connect_url(&url, Credentials::none()).unwrap(), now).unwrap();
    let poll = format!("{}s", ETCD_POLL.as_secs());
    let etcd_demos = start_three(dir.path(), "etcd", &["--keys", &url, "--poll", &poll]);
    let etcd = rounds(&etcd_demos, &etcd_ring);

    let keys = dir.path().join("keys.json");
    FileStore::new(&keys).save(&KeyRing::generate(now).unwrap()).unwrap();
    let file_ring = SharedRing::open(FileStore::new(&keys)).unwrap();
    let keys = keys.to_str().unwrap();
    let file_demos = start_three(dir.path(), "file", &["--keys", keys, "--no-watch", "--poll", FILE_POLL]);
    let file = rounds(&file_demos, &file_ring);

    println!("processor: {} ({} cores)", processor(), std::thread::available_parallelism().map_or(0, usize::from));
    Figures::summary("etcd watch, rotation reaching all 3", etcd.propagation);
    let (_, worst_revocation) = Figures::summary("etcd watch, revocation reaching all 3", etcd.revocation);
    Figures::summary(&format!("file poll {FILE_POLL}, rotation reaching all 3"), file.propagation);
    Figures::summary(&format!("file poll {FILE_POLL}, revocation reaching all 3"), file.revocation);
    assert!(worst_revocation < ETCD_POLL, "a revocation through etcd waited for the poll");
    for demo in etcd_demos.iter().chain(&file_demos) {
        assert!(!demo.stderr_so_far().contains(" ERROR "), "{}", demo.stderr_so_far());
    }
}

/// `--keys etcds://...` with a client certificate: the demo opens the key set over TLS, serves,
/// and a rotation written over TLS reaches it through its watch (long poll: only the watch can
/// bring it). Its log names the store as etcds:// and holds no line of a PEM file.
#[test]
fn the_demo_serves_a_key_set_over_tls_and_its_watch_takes_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let server = EtcdServer::start_with(Security::TlsClientCertificate);
    let url = server.url("/app/keys");
    let (ca, certificate, key) = (tls_file("ca.pem"), tls_file("client.pem"), tls_file("client-key.pem"));
    let tls = Tls::from_ca_file(&ca).unwrap().client_identity_files(&certificate, &key).unwrap();
    let now = SystemClock.now_secs();
    let (ring, _) =
        SharedRing::open_or_create(EtcdStore::connect_url(&url, Credentials::none().tls(tls)).unwrap(), now).unwrap();
    let vars = [
        ("TOKENRING_ETCD_CA_FILE", ca.as_os_str()),
        ("TOKENRING_ETCD_CERT_FILE", certificate.as_os_str()),
        ("TOKENRING_ETCD_KEY_FILE", key.as_os_str()),
    ];
    let poll = format!("{}s", ETCD_POLL.as_secs());
    let demo = Demo::start_with_env(dir.path(), "tls", &["--keys", &url, "--poll", &poll], &vars);
    let agent = agent();
    let token = login(&agent, &demo, "ada");
    assert_eq!(me(&agent, &demo, &token).status, 200);

    let kid: Kid = ring.update(|ring| Ok(ring.rotate(&Rotation::new().propagation_secs(0), now)?)).unwrap();
    until_all(std::slice::from_ref(&demo), |demo| healthz(&agent, demo)["active_kid"] == kid.as_str());
    assert_eq!(kid_of(&login(&agent, &demo, "ada")), kid.to_string());

    let log = demo.stderr_so_far();
    assert!(log.contains(&url), "{log}");
    assert!(!log.contains(" ERROR "), "{log}");
    for fixture in ["ca.pem", "client.pem", "client-key.pem"] {
        let pem = std::fs::read_to_string(tls_file(fixture)).unwrap();
        assert!(pem.lines().filter(|line| !line.starts_with("-----")).all(|line| !log.contains(line)), "{log}");
    }
}
