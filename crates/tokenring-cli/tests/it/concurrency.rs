//! Several `tokenring keys` processes on one key file at once: the lock serializes their
//! read-modify-writes, so none is lost, and a reader never sees a partial file.

use std::fs;
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{arg, kids_in, new_key_file, spawn_tokenring, NOW};

/// How many writers start at once.
const WRITERS: usize = 8;

/// How long a reader loop may run at most, whatever happens to the writers.
const READER_DEADLINE: Duration = Duration::from_secs(60);

/// Most reads the reader loop makes.
const READS_MAX: u32 = 200_000;

/// One writer's exit code, standard output and standard error.
type Outcome = (Option<i32>, String, String);

/// Starts every writer, then reads the key file in a loop until all have exited, checking
/// that each read is a whole key set. Returns what each writer did, and how many reads were
/// made.
fn race(keys: &Path, args: &[&str]) -> (Vec<Outcome>, u32) {
    let writers: Vec<Child> = (0..WRITERS).map(|_| spawn_tokenring(args)).collect();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let started = Instant::now();
            let mut reads = 0;
            while !done.load(Ordering::Acquire) && reads < READS_MAX && started.elapsed() < READER_DEADLINE {
                let document = fs::read(keys).expect("the key file is always there");
                if let Err(error) = tokenring::KeyRing::from_jwk_set(&document) {
                    panic!("read {reads} saw a key file that does not load: {error}");
                }
                reads += 1;
            }
            reads
        });
        let outcomes = writers
            .into_iter()
            .map(|child| {
                let output = child.wait_with_output().expect("the writer runs");
                let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
                (output.status.code(), text(&output.stdout), text(&output.stderr))
            })
            .collect();
        done.store(true, Ordering::Release);
        (outcomes, reader.join().expect("the reader never panics"))
    })
}

#[test]
fn concurrent_rotations_keep_every_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let now = (NOW + 60).to_string();
    let (outcomes, reads) = race(&keys, &["keys", "rotate", arg(&keys), "--now", &now]);
    let rotated = outcomes.iter().filter(|(code, _, _)| *code == Some(0)).count();
    for (code, _, stderr) in &outcomes {
        // A writer may only fail cleanly, with the lock named.
        assert!(*code == Some(0) || (*code == Some(2) && stderr.contains("locked")), "{code:?}: {stderr}");
    }
    assert!(rotated >= 1);
    assert_eq!(kids_in(&keys).len(), 1 + rotated, "every successful rotation left its key");
    assert!(reads > 0, "the reader ran");
    assert_eq!(tokenring::FileStore::new(&keys).load().unwrap().issued_kids().len(), 1 + rotated);
}

#[test]
fn concurrent_scheduled_rotations_add_exactly_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let now = (NOW + 7200).to_string();
    let (outcomes, _) = race(&keys, &["keys", "rotate", arg(&keys), "--if-older-than", "1h", "--now", &now]);
    for (code, _, stderr) in &outcomes {
        assert_eq!(*code, Some(0), "{stderr}");
    }
    // Each scheduler re-read the file under the lock: one found the key old and rotated, the
    // others found the new key and left the file alone.
    let rotated = outcomes.iter().filter(|(_, stdout, _)| stdout.starts_with("rotated ")).count();
    assert_eq!(rotated, 1, "{outcomes:?}");
    assert_eq!(kids_in(&keys).len(), 2, "one new key, however many schedulers ran");
}

#[test]
fn the_lock_file_is_private_and_stays() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    crate::support::tokenring(&["keys", "rotate", arg(&keys), "--now", &NOW.to_string()]).expect_code(0);
    let lock = dir.path().join(".k.json.lock");
    assert_eq!(fs::metadata(&lock).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::metadata(&lock).unwrap().len(), 0, "the lock file holds nothing");
}
