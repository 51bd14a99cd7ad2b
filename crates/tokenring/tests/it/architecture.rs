//! What the library's sources must not contain, checked on the sources themselves: the
//! invariants of ARCHITECTURE.md that no behaviour test can see.

use std::path::{Path, PathBuf};

/// Every library source file (tests and test oracles left out), with its text up to its
/// top-level test module.
fn library_sources() -> Vec<(PathBuf, String)> {
    fn walk(directory: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let library = files.into_iter().filter(|path| {
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        name != "tests.rs" && name != "oracle.rs"
    });
    library
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let code: Vec<&str> = text
                .lines()
                .take_while(|line| !line.starts_with("#[cfg(test)]") && !line.starts_with("#[cfg(all(test"))
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect();
            (path.strip_prefix(&root).unwrap().to_owned(), code.join("\n"))
        })
        .collect()
}

/// The files (relative to `src/`) in which any of `needles` appears.
fn files_containing(needles: &[&str]) -> Vec<String> {
    let sources = library_sources();
    assert!(sources.len() > 20, "the library's sources were found");
    sources
        .into_iter()
        .filter(|(_, code)| needles.iter().any(|needle| code.contains(needle)))
        .map(|(path, _)| path.to_string_lossy().replace('\\', "/"))
        .collect()
}

#[test]
fn only_the_system_clock_reads_the_time() {
    assert_eq!(files_containing(&["SystemTime", "Instant::now", "UNIX_EPOCH"]), ["clock.rs"]);
}

#[test]
fn only_the_default_storage_touches_the_file_system() {
    assert_eq!(files_containing(&["std::fs", "fs::", "File::", "OpenOptions", "rustix::fs"]), ["store/storage.rs"]);
}

#[test]
fn the_library_starts_no_thread() {
    assert_eq!(files_containing(&["thread::spawn", "thread::Builder", "thread::scope"]), Vec::<String>::new());
}

#[test]
fn only_a_keys_constructor_keys_the_mac() {
    // Signing and verifying copy the keyed state; nothing on the hot path keys HMAC again.
    assert_eq!(files_containing(&["Midstate::new"]), ["ring/key.rs"]);
}

#[test]
fn the_token_and_the_ring_know_nothing_of_files() {
    let above_the_store: Vec<String> = files_containing(&["crate::store", "FileStore", "SharedRing", "Storage"])
        .into_iter()
        .filter(|path| path.starts_with("token/") || path.starts_with("ring/"))
        .collect();
    assert_eq!(above_the_store, Vec::<String>::new());
}

#[test]
fn no_hidden_api_of_a_dependency_is_used() {
    // `serde_json`, `hmac` and the rest are used through their documented API: nothing named
    // `__something` (a macro's or a crate's hidden, unstable items).
    assert_eq!(files_containing(&["::__", "__private"]), Vec::<String>::new());
}
