//! Where the file store writes, and what it reports when it cannot: a bare file name lands in
//! the working directory, a missing directory is reported as one (not as a lock error nor a
//! missing key file), and a failed link is `Io` unless the key file exists; each error names
//! the file involved. A symbolic link is written through, to the file it leads to, locked
//! beside that file; a path that leads to a directory, device or FIFO is neither read nor
//! written, and a loop of links is refused. An update of a missing file creates nothing.

use tokenring::{FileStore, KeyRing, StoreError, StoreOp};

use crate::helpers::ring;
use crate::persistence::temp_dir;
use crate::ring::NOW;

#[test]
fn a_missing_directory_is_reported_as_such_not_as_a_lock_error() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("sub").join("dir").join("keys.json"));
    assert!(matches!(store.load(), Err(StoreError::NotFound { .. })));
    // Every write takes the lock first, beside the key file: its directory is what is missing.
    let missing = dir.join("sub").join("dir");
    for error in [store.save(&ring()).unwrap_err(), store.create(&ring()).unwrap_err()] {
        assert!(matches!(&error, StoreError::DirectoryNotFound { path } if *path == missing), "{error:?}");
        assert_eq!(error.to_string(), format!("directory {} does not exist (create it first)", missing.display()));
    }
    let error = store.load_or_create(NOW).unwrap_err();
    assert!(matches!(error, tokenring::Error::Store(StoreError::DirectoryNotFound { .. })), "{error:?}");
    // An update finds the key file missing before it would lock.
    let missing = store.update(|_| Ok(())).unwrap_err();
    assert!(matches!(missing, tokenring::Error::Store(StoreError::NotFound { .. })), "{missing:?}");
    assert_eq!(names(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn create_reports_a_failed_link_as_io_unless_the_file_exists() {
    // A trailing slash: the temporary file is written beside it, but the link to a "directory"
    // that does not exist fails with `NotFound`, which is not `AlreadyExists`.
    let dir = temp_dir();
    let store = FileStore::new(format!("{}/keys.json/", dir.display()));
    let error = store.create(&ring()).unwrap_err();
    assert!(
        matches!(error, StoreError::Io { op: StoreOp::Rename, kind: std::io::ErrorKind::NotFound, .. }),
        "{error:?}"
    );
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(names, [".keys.json.lock"], "the temporary file is removed, the lock file stays");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_store_at_a_bare_file_name_writes_in_the_working_directory() {
    // The test runs itself again in a child process whose working directory is a fresh temporary
    // one, so this process's own working directory is never changed.
    const CHILD: &str = "TOKENRING_BARE_FILE_NAME_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let store = FileStore::new("keys.json");
        store.create(&ring()).unwrap();
        store.save(&ring()).unwrap();
        assert!(store.load().unwrap().can_sign(NOW));
        return;
    }
    let dir = temp_dir();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["store_paths::a_store_at_a_bare_file_name_writes_in_the_working_directory", "--exact", "--quiet"])
        .env(CHILD, "1")
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(KeyRing::from_jwk_set(&std::fs::read(dir.join("keys.json")).unwrap()).unwrap().can_sign(NOW));
    std::fs::remove_dir_all(dir).unwrap();
}

/// The names in `dir`, sorted.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Whether `path` is a symbolic link to `target`.
fn links_to(path: &std::path::Path, target: &str) -> bool {
    std::fs::symlink_metadata(path).unwrap().file_type().is_symlink()
        && std::fs::read_link(path).unwrap() == std::path::Path::new(target)
}

fn rotate(store: &FileStore, now: u64) -> Result<tokenring::Kid, tokenring::Error> {
    store.update(|ring| Ok(ring.rotate(&tokenring::Rotation::new(), now)?))
}

#[cfg(unix)]
#[test]
fn a_write_through_a_symbolic_link_replaces_the_file_it_leads_to_and_the_link_stays() {
    use std::os::unix::fs::symlink;

    let dir = temp_dir();
    std::fs::create_dir(dir.join("real")).unwrap();
    let real = FileStore::new(dir.join("real").join("keys.json"));
    real.create(&ring()).unwrap();
    // A relative link, a link to it, and an absolute link.
    symlink("real/keys.json", dir.join("link.json")).unwrap();
    symlink("link.json", dir.join("chain.json")).unwrap();
    symlink(dir.join("real").join("keys.json"), dir.join("absolute.json")).unwrap();
    for (name, target) in [("link.json", "real/keys.json"), ("chain.json", "link.json")] {
        let through = FileStore::new(dir.join(name));
        let kid = rotate(&through, NOW).unwrap();
        assert!(real.load().unwrap().keys(NOW).iter().any(|key| key.kid == Some(kid)), "{name}: the target is rotated");
        assert!(links_to(&dir.join(name), target), "{name} is still a link");
        let saved = KeyRing::generate(NOW).unwrap();
        through.save(&saved).unwrap();
        assert_eq!(real.load().unwrap().to_jwk_set().as_str(), saved.to_jwk_set().as_str());
        assert!(links_to(&dir.join(name), target), "{name} is still a link");
        // The file at fault is the one the links lead to.
        let exists = through.create(&ring()).unwrap_err();
        assert!(matches!(&exists, StoreError::AlreadyExists { path } if *path == real.path()), "{exists:?}");
    }
    let kid = rotate(&FileStore::new(dir.join("absolute.json")), NOW).unwrap();
    assert!(real.load().unwrap().keys(NOW).iter().any(|key| key.kid == Some(kid)));
    // The lock and temporary files are beside the target, none beside the links.
    assert_eq!(names(&dir), ["absolute.json", "chain.json", "link.json", "real"]);
    assert_eq!(names(&dir.join("real")), [".keys.json.lock", "keys.json"]);

    // A link that leads nowhere yet: create writes the file where it leads.
    symlink("real/new.json", dir.join("new.json")).unwrap();
    let (created, loaded) = FileStore::new(dir.join("new.json")).load_or_create(NOW).unwrap();
    assert_eq!(loaded, tokenring::Loaded::Created);
    assert!(links_to(&dir.join("new.json"), "real/new.json"));
    let on_disk = FileStore::new(dir.join("real").join("new.json")).load().unwrap();
    assert_eq!(on_disk.to_jwk_set().as_str(), created.to_jwk_set().as_str());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn writers_through_a_link_and_through_its_target_take_the_same_lock() {
    use tokenring_testkit::storage::{Call, MemoryStorage};
    let storage = std::sync::Arc::new(MemoryStorage::new());
    storage.put("/d/real/keys.json", ring().to_jwk_set().as_bytes());
    storage.link("/d/link.json", "real/keys.json");
    // Another writer, through the target's name, holds the lock until the writer through the
    // link has waited for it once.
    storage.hold_lock("/d/real/.keys.json.lock");
    storage.on_wait(MemoryStorage::release_lock);
    let through_link = FileStore::with_storage("/d/link.json", storage.clone());
    rotate(&through_link, NOW).unwrap();
    let lock = std::path::PathBuf::from("/d/real/.keys.json.lock");
    let locking: Vec<_> = storage
        .calls()
        .into_iter()
        .filter(|call| !call.changes())
        .filter(|call| !matches!(call, Call::Read(_)))
        .collect();
    assert_eq!(
        locking,
        [
            Call::TryLock { path: lock.clone(), granted: false },
            Call::Wait(std::time::Duration::from_millis(tokenring::limits::LOCK_RETRY_MILLIS)),
            Call::TryLock { path: lock, granted: true },
        ],
        "the writer through the link waits for the target's lock, and tries no other"
    );
    assert_eq!(storage.files().keys().collect::<Vec<_>>(), ["/d/real/keys.json"], "no lock or file beside the link");
}

/// Runs `operation` on another thread: its result, or `None` if it has not returned within
/// five seconds (a read of a FIFO blocks until a writer opens it).
fn promptly<T: Send + 'static>(operation: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(operation()));
    receiver.recv_timeout(std::time::Duration::from_secs(5)).ok()
}

#[cfg(unix)]
#[test]
fn a_fifo_is_neither_read_nor_replaced() {
    use std::os::unix::fs::FileTypeExt;

    let dir = temp_dir();
    let fifo = dir.join("keys.json");
    match std::process::Command::new("mkfifo").arg(&fifo).status() {
        Ok(status) if status.success() => {}
        _ => {
            eprintln!("mkfifo is not available: skipped");
            return;
        }
    }
    std::os::unix::fs::symlink("keys.json", dir.join("link.json")).unwrap();
    for path in [fifo.clone(), dir.join("link.json")] {
        let store = FileStore::new(&path);
        let loaded = promptly({
            let store = store.clone();
            move || store.load()
        });
        let error = loaded.expect("load returns without a writer at the other end").unwrap_err();
        assert!(matches!(&error, StoreError::NotAFile { path } if *path == fifo), "{error:?}");
        let error = promptly(move || store.load_or_create(NOW)).expect("load_or_create returns").unwrap_err();
        assert!(matches!(error, tokenring::Error::Store(StoreError::NotAFile { .. })), "{error:?}");
        let store = FileStore::new(&path);
        assert!(matches!(store.save(&ring()), Err(StoreError::NotAFile { .. })));
        assert!(matches!(store.create(&ring()), Err(StoreError::NotAFile { .. })));
        assert!(matches!(rotate(&store, NOW), Err(tokenring::Error::Store(StoreError::NotAFile { .. }))));
    }
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO is still there");
    assert_eq!(names(&dir), ["keys.json", "link.json"], "no lock or temporary file");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_directory_is_neither_read_nor_written_and_gets_no_lock_file() {
    let dir = temp_dir();
    let path = dir.join("keys.json");
    std::fs::create_dir(&path).unwrap();
    let store = FileStore::new(&path);
    assert!(matches!(store.load(), Err(StoreError::NotAFile { .. })));
    assert!(matches!(store.save(&ring()), Err(StoreError::NotAFile { .. })));
    assert!(matches!(store.create(&ring()), Err(StoreError::NotAFile { .. })));
    assert!(matches!(rotate(&store, NOW), Err(tokenring::Error::Store(StoreError::NotAFile { .. }))));
    let error = store.save(&ring()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "key file {} is not a regular file (a directory, device, FIFO or socket): not read or written",
            path.display()
        )
    );
    assert_eq!(names(&dir), ["keys.json"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_device_is_refused_by_reads_and_by_writes_through_a_link() {
    // Only read-only operations on /dev/null itself. Writes go through a link to it: had the
    // store replaced the link's target, it would have replaced the link instead.
    let dev_null = std::path::Path::new("/dev/null");
    if !dev_null.exists() {
        return;
    }
    assert!(matches!(FileStore::new(dev_null).load(), Err(StoreError::NotAFile { .. })));
    let dir = temp_dir();
    let link = dir.join("keys.json");
    std::os::unix::fs::symlink(dev_null, &link).unwrap();
    let store = FileStore::new(&link);
    assert!(matches!(store.load(), Err(StoreError::NotAFile { path }) if path == dev_null));
    assert!(matches!(store.save(&ring()), Err(StoreError::NotAFile { path }) if path == dev_null));
    assert!(matches!(store.create(&ring()), Err(StoreError::NotAFile { .. })));
    assert!(matches!(store.load_or_create(NOW), Err(tokenring::Error::Store(StoreError::NotAFile { .. }))));
    assert!(matches!(rotate(&store, NOW), Err(tokenring::Error::Store(StoreError::NotAFile { .. }))));
    assert!(links_to(&link, "/dev/null"));
    assert_eq!(names(&dir), ["keys.json"]);
    assert!(!std::path::Path::new("/dev/.null.lock").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_loop_of_symbolic_links_is_refused_and_left_alone() {
    use std::os::unix::fs::symlink;

    let dir = temp_dir();
    symlink("b.json", dir.join("a.json")).unwrap();
    symlink("a.json", dir.join("b.json")).unwrap();
    let store = FileStore::new(dir.join("a.json"));
    assert!(matches!(store.load(), Err(StoreError::SymlinkLoop { .. })));
    assert!(matches!(store.save(&ring()), Err(StoreError::SymlinkLoop { .. })));
    assert!(matches!(store.load_or_create(NOW), Err(tokenring::Error::Store(StoreError::SymlinkLoop { .. }))));
    let error = store.create(&ring()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "cannot follow the symbolic links of {}: more than {} in a row (a loop?)",
            dir.join("a.json").display(),
            tokenring::limits::SYMLINK_HOPS_MAX
        )
    );
    assert!(links_to(&dir.join("a.json"), "b.json") && links_to(&dir.join("b.json"), "a.json"));
    assert_eq!(names(&dir), ["a.json", "b.json"]);

    // The longest chain the store follows, and one link more.
    let chain = temp_dir();
    std::fs::write(chain.join("0"), ring().to_jwk_set().as_bytes()).unwrap();
    for hop in 1..=tokenring::limits::SYMLINK_HOPS_MAX + 1 {
        symlink((hop - 1).to_string(), chain.join(hop.to_string())).unwrap();
    }
    assert!(FileStore::new(chain.join(tokenring::limits::SYMLINK_HOPS_MAX.to_string())).load().is_ok());
    let too_long = FileStore::new(chain.join((tokenring::limits::SYMLINK_HOPS_MAX + 1).to_string()));
    assert!(matches!(too_long.load(), Err(StoreError::SymlinkLoop { .. })));
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(chain).unwrap();
}

#[test]
fn update_of_a_key_file_that_does_not_exist_creates_nothing() {
    let dir = temp_dir();
    let token = ring().issue(&serde_json::json!({"sub": "ada"}), 60, NOW).unwrap();
    for name in ["typo.json", token.as_str()] {
        let error = rotate(&FileStore::new(dir.join(name)), NOW).unwrap_err();
        assert!(matches!(error, tokenring::Error::Store(StoreError::NotFound { .. })), "{error:?}");
        assert_eq!(names(&dir), Vec::<String>::new(), "no lock file for {name}");
    }
    #[cfg(unix)]
    {
        // A link that leads nowhere: nothing beside the link nor where it leads.
        std::fs::create_dir(dir.join("real")).unwrap();
        std::os::unix::fs::symlink("real/keys.json", dir.join("link.json")).unwrap();
        let error = rotate(&FileStore::new(dir.join("link.json")), NOW).unwrap_err();
        assert!(matches!(error, tokenring::Error::Store(StoreError::NotFound { .. })), "{error:?}");
        assert_eq!(names(&dir), ["link.json", "real"]);
        assert_eq!(names(&dir.join("real")), Vec::<String>::new());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn the_link_chain_lists_every_path_the_store_follows() {
    let dir = temp_dir();
    std::fs::create_dir(dir.join("v1")).unwrap();
    FileStore::new(dir.join("v1").join("keys.json")).create(&ring()).unwrap();
    std::os::unix::fs::symlink("v1", dir.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/keys.json", dir.join("keys.json")).unwrap();
    let store = FileStore::new(dir.join("keys.json"));
    assert_eq!(store.link_chain(), [dir.join("keys.json"), dir.join("..data/keys.json")]);
    assert!(store.load().is_ok());
    // A missing file ends the chain where it is missing; a loop ends at the bound.
    assert_eq!(FileStore::new(dir.join("absent.json")).link_chain(), [dir.join("absent.json")]);
    std::os::unix::fs::symlink("loop.json", dir.join("loop.json")).unwrap();
    assert_eq!(FileStore::new(dir.join("loop.json")).link_chain().len(), tokenring::limits::SYMLINK_HOPS_MAX + 1);
    std::fs::remove_dir_all(dir).unwrap();
}
