//! What an operator meets in the first hour: a token pasted with its `Bearer ` scheme, quotes
//! or a line break, and a revocation that would leave no key to sign with.

use std::fs;

use crate::support::{arg, assert_no_token, kids_in, new_key_file, sign, tokenring, verify, NOW};

#[test]
fn pasted_token_mistakes_are_named_without_echoing_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let token = sign(&keys, r#"{"sub":"ada"}"#, "1h", NOW);
    let cases = [
        (format!("Bearer {token}"), "remove the `Bearer ` scheme"),
        (format!("bearer {token}"), "remove the `Bearer ` scheme"),
        (format!("Authorization: Bearer {token}"), "remove the `Authorization: Bearer ` header name and scheme"),
        (format!("{token}\n"), "remove the whitespace (a line break, a space or a tab) around the token"),
        (format!(" {token}"), "remove the whitespace (a line break, a space or a tab) around the token"),
        (format!("\"{token}\""), "remove the quotes around the token"),
        (format!("'{token}'"), "remove the quotes around the token"),
    ];
    for (pasted, advice) in &cases {
        let run = verify(&keys, pasted, NOW, &[]);
        run.expect_code(2);
        assert!(run.stderr.contains(advice), "{pasted:?}: {}", run.stderr);
        assert!(run.stderr.contains("nothing was verified"), "{}", run.stderr);
        assert_no_token(&run, &token);
        let inspected = tokenring(&["inspect", "--", pasted]);
        assert!(inspected.stderr.contains(advice), "inspect, {pasted:?}: {}", inspected.stderr);
        assert_no_token(&inspected, &token);
    }
    // The token itself still verifies.
    verify(&keys, &token, NOW, &[]).expect_code(0);
}

#[test]
fn revoking_the_last_key_that_signs_is_refused_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k.json");
    new_key_file(&keys, NOW);
    let only = kids_in(&keys).remove(0);
    let before = fs::read(&keys).unwrap();
    let now = (NOW + 5).to_string();

    let refused = tokenring(&["keys", "revoke", arg(&keys), &only, "--now", &now]);
    refused.expect_code(2);
    assert!(refused.stderr.contains("no key could sign"), "{}", refused.stderr);
    assert!(refused.stderr.contains("tokenring keys rotate"), "says what to do instead: {}", refused.stderr);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(fs::read(&keys).unwrap(), before, "a refused revocation changes nothing");

    let forced = tokenring(&["keys", "revoke", arg(&keys), &only, "--force", "--now", &now]);
    forced.expect_code(0);
    assert!(forced.stdout_text().contains("no key can sign now"), "{}", forced.stdout_text());
}

/// The READMEs' commands, run from inside the working tree anyway: `git status` shows no key
/// file, lock file or temporary file.
#[test]
fn key_files_made_inside_the_working_tree_are_ignored_by_git() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join(format!("first-hour-scratch-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("keys.json");
    new_key_file(&keys, NOW);
    tokenring(&["keys", "rotate", arg(&keys), "--now", &NOW.to_string()]).expect_code(0);
    // What a write that crashed leaves behind.
    fs::write(dir.join(".keys.json.tmp.0"), "{}").unwrap();
    assert!(dir.join(".keys.json.lock").exists(), "the store locks beside the key file");
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all", "--"])
        .arg(&dir)
        .current_dir(&root)
        .output();
    fs::remove_dir_all(&dir).unwrap();
    let status = status.expect("git runs");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert_eq!(String::from_utf8_lossy(&status.stdout), "", "files git would offer to add");
}
