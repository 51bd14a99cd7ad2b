//! What others with access to the key file's directory can put in the store's way (issue 23): a
//! FIFO swapped in for the key file between the store's look at it and its open, a symbolic link
//! planted at the lock file's name, directories planted at temporary files' names, and a
//! directory that anyone may write to.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokenring::{EntryKind, FileStore, KeyRing, SharedRing, StoreError};
use tokenring_testkit::storage::{Call, MemoryStorage};

use crate::ring::NOW;

#[test]
fn a_fifo_found_at_open_after_the_type_check_is_refused_as_not_a_file_and_the_ring_is_kept() {
    // A key file that is a regular file when the store looks at its name, and a FIFO when the
    // store opens it: the race the store cannot win by looking first.
    let ring = KeyRing::generate(NOW).unwrap();
    let storage = Arc::new(MemoryStorage::new());
    let path = PathBuf::from("/volume/keys.json");
    storage.put(&path, ring.to_jwk_set().as_bytes());
    let store = FileStore::with_storage(&path, storage.clone());
    let shared = SharedRing::open(store.clone()).unwrap();
    let token = ring.issue(&serde_json::json!({"sub": "ada"}), 3600, NOW).unwrap();

    storage.fifo_at_open(&path);
    let not_a_file = |error: &StoreError| matches!(error, StoreError::NotAFile { path: at } if *at == path);
    let loaded = store.load().unwrap_err();
    assert!(not_a_file(&loaded), "{loaded:?}");
    assert_eq!(
        loaded.to_string(),
        "key file /volume/keys.json is not a regular file (a directory, device, FIFO or socket): not read or written"
    );
    let reloaded = shared.reload().unwrap_err();
    assert!(not_a_file(&reloaded), "{reloaded:?}");
    let updated = store.update(|ring| Ok(ring.rotate(&tokenring::Rotation::new(), NOW)?)).unwrap_err();
    assert!(matches!(&updated, tokenring::Error::Store(error) if not_a_file(error)), "{updated:?}");
    let written: Vec<_> = storage.calls().iter().filter_map(|call| call.written().map(Path::to_owned)).collect();
    assert_eq!(written, Vec::<PathBuf>::new(), "nothing is written over a FIFO");
    // The last good ring keeps verifying.
    let validation = tokenring::Validation::new();
    assert!(shared.ring().verify::<serde_json::Value>(&token, &validation, NOW).is_ok());
}

/// Creates a FIFO at `path`.
#[cfg(unix)]
fn mkfifo(path: &Path) {
    rustix::fs::mknodat(rustix::fs::CWD, path, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o600), 0)
        .unwrap();
}

/// A writer renames a FIFO and a good key file over the key file in turn, as fast as it can,
/// while readers load and update the store. Every read must return (a ring, or `NotAFile`):
/// a reader that does not report back within the bound is taken to be blocked in the FIFO's
/// open, which waits for a writer that never comes.
#[cfg(unix)]
#[test]
fn a_fifo_renamed_over_the_key_file_in_a_loop_never_blocks_a_reader() {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    /// How long a reader may go without reporting before it is taken to be blocked: a hang
    /// detector, far above what a read takes.
    const SILENCE_MAX: Duration = Duration::from_secs(3);
    /// How long the writer keeps swapping.
    const SWAPPING: Duration = Duration::from_secs(2);
    const SWAPS_MAX: u32 = 20_000;

    let dir = crate::persistence::temp_dir();
    let path = dir.join("keys.json");
    let store = FileStore::new(&path);
    store.create(&KeyRing::generate(NOW).unwrap()).unwrap();
    let good = std::fs::read(&path).unwrap();
    let stop = Arc::new(AtomicBool::new(false));

    let writer = {
        let (dir, stop) = (dir.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let (fifo, file, key_file) = (dir.join("f.tmp"), dir.join("g.tmp"), dir.join("keys.json"));
            let started = Instant::now();
            let mut swaps = 0;
            while !stop.load(Ordering::SeqCst) && started.elapsed() < SWAPPING && swaps < SWAPS_MAX {
                mkfifo(&fifo);
                std::fs::rename(&fifo, &key_file).unwrap();
                std::fs::write(&file, &good).unwrap();
                std::fs::rename(&file, &key_file).unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    let (report, reports) = mpsc::channel::<(&'static str, Result<(), StoreError>)>();
    let readers: Vec<_> = ["load", "update"]
        .into_iter()
        .map(|name| {
            let (store, stop, report) = (store.clone(), Arc::clone(&stop), report.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let outcome = match name {
                        "load" => store.load().map(drop),
                        _ => store.update(|_| Ok(())).map_err(|error| match error {
                            tokenring::Error::Store(error) => error,
                            other => panic!("{other:?}"),
                        }),
                    };
                    if report.send((name, outcome)).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(report);

    let (mut loaded, mut refused) = (0u32, 0u32);
    let mut blocked = None;
    while !writer.is_finished() {
        match reports.recv_timeout(SILENCE_MAX) {
            Ok((_, Ok(()))) => loaded += 1,
            Ok((_, Err(StoreError::NotAFile { .. }))) => refused += 1,
            Ok((name, Err(other))) => panic!("{name}: {other:?}"),
            Err(_) => {
                blocked = Some("no reader reported back: blocked in the FIFO's open");
                break;
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    let swaps = writer.join().unwrap();
    // A reader blocked in a FIFO's open waits for a writer of a FIFO no longer reachable by
    // name: it is left behind, and the test fails.
    assert_eq!(blocked, None, "after {swaps} swaps, {loaded} loads, {refused} refusals");
    while reports.recv_timeout(SILENCE_MAX).is_ok() {}
    for reader in readers {
        reader.join().unwrap();
    }
    assert!(swaps > 0 && loaded > 0, "{swaps} swaps, {loaded} loads, {refused} refusals");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A symbolic link planted at the lock file's name is refused, and the file it leads to is
/// neither created nor locked.
#[cfg(unix)]
#[test]
fn a_link_planted_at_the_lock_files_name_is_refused_and_its_target_never_created() {
    let dir = crate::persistence::temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    store.create(&KeyRing::generate(NOW).unwrap()).unwrap();
    let lock = dir.join(".keys.json.lock");
    std::fs::remove_file(&lock).unwrap();
    let victim = dir.join("victim");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let before = std::fs::read(store.path()).unwrap();

    let error = store.update(|ring| Ok(ring.rotate(&tokenring::Rotation::new(), NOW)?)).unwrap_err();
    let tokenring::Error::Store(StoreError::InTheWay { path, what }) = &error else { panic!("{error:?}") };
    assert_eq!((path.to_path_buf(), *what), (lock.clone(), "a symbolic link"));
    assert_eq!(
        error.to_string(),
        format!(
            "cannot write the key file: a symbolic link is in the way at {} (not the store's; remove it)",
            lock.display()
        )
    );
    assert!(matches!(store.save(&KeyRing::generate(NOW).unwrap()), Err(StoreError::InTheWay { .. })));
    assert!(!victim.exists(), "the link's target was created");
    assert_eq!(std::fs::read(store.path()).unwrap(), before, "the key file is untouched");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Directories planted at every temporary name an earlier version used block nothing: the
/// names are drawn at random now.
#[test]
fn directories_planted_at_temporary_names_do_not_block_writes() {
    let dir = crate::persistence::temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    store.create(&KeyRing::generate(NOW).unwrap()).unwrap();
    for attempt in 0..tokenring::limits::TEMP_NAMES_MAX {
        std::fs::create_dir(dir.join(format!(".keys.json.tmp.{attempt}"))).unwrap();
    }
    let kid = store.update(|ring| Ok(ring.rotate(&tokenring::Rotation::new(), NOW)?)).unwrap();
    assert!(store.load().unwrap().keys(NOW).iter().any(|info| info.kid == Some(kid)));
    store.save(&KeyRing::generate(NOW).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn temporary_names_are_drawn_through_the_storage_and_a_planted_one_is_named() {
    let number = u64::from_le_bytes([7; 8]);
    let temp = PathBuf::from(format!("/keys/.keys.json.tmp.{number}"));
    let created = |storage: &MemoryStorage| -> Vec<PathBuf> {
        let calls = storage.calls();
        calls.into_iter().filter_map(|call| if let Call::WriteNew(path) = call { Some(path) } else { None }).collect()
    };
    let storage = Arc::new(MemoryStorage::new());
    storage.set_random(7);
    let store = FileStore::with_storage("/keys/keys.json", storage.clone());
    store.create(&KeyRing::generate(NOW).unwrap()).unwrap();
    assert_eq!(created(&storage), std::slice::from_ref(&temp));

    // The same number every time, and a directory at that name: every attempt finds it taken.
    let storage = Arc::new(MemoryStorage::new());
    storage.set_random(7);
    storage.plant(&temp, EntryKind::Other);
    let store = FileStore::with_storage("/keys/keys.json", storage.clone());
    let error = store.create(&KeyRing::generate(NOW).unwrap()).unwrap_err();
    assert!(
        matches!(&error, StoreError::InTheWay { path, what: "a directory, device, FIFO or socket" } if *path == temp),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("cannot write the key file: a directory, device, FIFO or socket is in the way at {} (not the store's; remove it)", temp.display())
    );
    assert!(storage.files().is_empty());
}

/// A 0600 key file in a directory anyone may write is warned about: anyone can rename another
/// file over it. A sticky directory protects a file we own.
#[cfg(unix)]
#[test]
fn a_directory_others_may_write_is_warned_about_unless_sticky() {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::persistence::temp_dir();
    let store = FileStore::new(dir.join("keys.json"));
    store.create(&KeyRing::generate(NOW).unwrap()).unwrap();
    let warning = |mode: u32| {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        store.check_permissions().unwrap().map(|warning| warning.to_string())
    };
    let writable = |mode: u32| {
        Some(format!(
            "key file's directory mode {mode:04o} lets group or others replace the key file (chmod go-w the directory)"
        ))
    };
    assert_eq!(warning(0o777), writable(0o777));
    assert_eq!(warning(0o770), writable(0o770));
    assert_eq!(warning(0o1777), None, "sticky, and the key file is ours");
    assert_eq!(warning(0o755), None);
    assert_eq!(warning(0o700), None);
    // A key file others may write is reported before the directory.
    std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(warning(0o777).unwrap(), "key file mode 0666 lets group or others replace the keys (chmod go-w)");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A directory or a FIFO at the key path has a mode, but not a key file's: it is reported as
/// what it is, never as "key file mode 0755 lets others read the keys".
#[cfg(unix)]
#[test]
fn a_non_file_at_the_key_path_is_never_described_by_its_mode() {
    let dir = crate::persistence::temp_dir();
    std::fs::create_dir(dir.join("directory")).unwrap();
    mkfifo(&dir.join("fifo"));
    for name in ["directory", "fifo"] {
        let store = FileStore::new(dir.join(name));
        let checked = store.check_permissions();
        assert!(matches!(checked, Err(StoreError::NotAFile { .. })), "{name}: {checked:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
