//! Where the file store writes, and what it reports when it cannot: a bare file name lands in
//! the working directory, a missing directory is a lock error rather than a missing key file,
//! and a failed link is `Io` unless the key file exists; each error names the file involved.

use tokenring::{FileStore, KeyRing, StoreError, StoreOp};

use crate::helpers::ring;
use crate::persistence::temp_dir;
use crate::ring::NOW;

#[test]
fn a_missing_directory_is_a_lock_error_not_a_missing_key_file() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("absent").join("keys.json"));
    assert!(matches!(store.load(), Err(StoreError::NotFound)));
    // Every write takes the lock first: the error names the lock file beside the key file.
    let error = store.save(&ring()).unwrap_err();
    assert!(matches!(error, StoreError::Io { op: StoreOp::Lock, kind: std::io::ErrorKind::NotFound, .. }), "{error:?}");
    let error = store.create(&ring()).unwrap_err();
    assert!(matches!(error, StoreError::Io { op: StoreOp::Lock, kind: std::io::ErrorKind::NotFound, .. }), "{error:?}");
    let StoreError::Io { path, .. } = &error else { unreachable!() };
    assert_eq!(path.parent(), Some(dir.join("absent").as_path()));
    assert!(error.to_string().starts_with(&format!("cannot lock {}/absent/.keys.json.lock", dir.display())), "{error}");
    let locked = store.update(|_| Ok(())).unwrap_err();
    assert!(locked.to_string().contains(".keys.json.lock"), "{locked}");
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
