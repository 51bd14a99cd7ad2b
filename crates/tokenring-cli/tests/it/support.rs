//! Running the binary and looking at what it printed.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// A fixed "now" for every test: 2023-11-14T22:13:20Z.
pub(crate) const NOW: u64 = 1_700_000_000;

/// What one run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    /// The exit code; `None` if a signal ended the process (a crash).
    pub(crate) code: Option<i32>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// The first line of standard error.
    pub(crate) fn first_stderr_line(&self) -> &str {
        self.stderr.lines().next().unwrap_or("")
    }

    /// Both streams, for searching.
    pub(crate) fn everything(&self) -> String {
        format!("{}\n{}", String::from_utf8_lossy(&self.stdout), self.stderr)
    }

    /// Asserts the exit code, showing both streams if it differs.
    #[track_caller]
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "stdout: {}\nstderr: {}", String::from_utf8_lossy(&self.stdout), self.stderr);
        self
    }
}

/// Runs `tokenring` with `args` and nothing on standard input.
pub(crate) fn tokenring<S: AsRef<OsStr>>(args: &[S]) -> Run {
    run_with_stdin(args, None)
}

/// Runs `tokenring` with `args`, feeding `input` on standard input.
pub(crate) fn tokenring_stdin<S: AsRef<OsStr>>(args: &[S], input: &[u8]) -> Run {
    run_with_stdin(args, Some(input))
}

fn run_with_stdin<S: AsRef<OsStr>>(args: &[S], input: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenring"))
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // Write from a thread: the binary may stop reading early (it bounds its input), and the
    // pipes must be drained meanwhile.
    let writer = input.map(|input| {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input = input.to_vec();
        std::thread::spawn(move || {
            // A broken pipe here is expected when the binary stops reading at its bound.
            let _ = stdin.write_all(&input);
        })
    });
    let output = child.wait_with_output().expect("the binary runs");
    if let Some(writer) = writer {
        writer.join().expect("the writer thread finishes");
    }
    Run {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A key file, parsed.
fn key_file(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).expect("the key file is readable");
    serde_json::from_slice(&bytes).expect("the key file is JSON")
}

/// Every `k` (secret) value in a key file, a JWK Set or a single JWK.
pub(crate) fn secrets_in(path: &Path) -> Vec<String> {
    let document = key_file(path);
    let keys = match document.get("keys") {
        Some(keys) => keys.as_array().expect("keys is an array").clone(),
        None => vec![document],
    };
    keys.iter().map(|key| key["k"].as_str().expect("every key has k").to_owned()).collect()
}

/// Every key identifier in a JWK Set file.
pub(crate) fn kids_in(path: &Path) -> Vec<String> {
    let document = key_file(path);
    let keys = document["keys"].as_array().expect("keys is an array");
    keys.iter().map(|key| key["kid"].as_str().expect("every key has a kid").to_owned()).collect()
}

/// The path as a command-line argument.
pub(crate) fn arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Creates a key file at `path` at time `now`.
pub(crate) fn new_key_file(path: &Path, now: u64) {
    tokenring(&["keys", "new", arg(path), "--now", &now.to_string()]).expect_code(0);
}

/// Signs `claims` with `keys` at `now` for `ttl`, returning the token.
pub(crate) fn sign(keys: &Path, claims: &str, ttl: &str, now: u64) -> String {
    let run = tokenring(&["sign", "--keys", arg(keys), "--claims", claims, "--ttl", ttl, "--now", &now.to_string()]);
    run.expect_code(0);
    let stdout = run.stdout_text();
    let token = stdout.strip_suffix('\n').expect("the token ends in a newline");
    assert!(!token.contains('\n'));
    token.to_owned()
}

/// Verifies `token` with `keys` at `now`, with any extra arguments.
pub(crate) fn verify(keys: &Path, token: &str, now: u64, extra: &[&str]) -> Run {
    let now = now.to_string();
    let mut args = vec!["verify", "--keys", arg(keys), "--now", now.as_str()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", token]);
    tokenring(&args)
}

/// Asserts that a verification was rejected with `code`, in the documented form.
#[track_caller]
pub(crate) fn assert_rejected(run: &Run, code: &str, token: &str) {
    run.expect_code(1);
    assert_eq!(run.first_stderr_line(), format!("rejected: {code}"));
    assert_eq!(run.stderr.lines().count(), 2, "a code line and one explanation: {}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing on stdout after a rejection");
    assert_no_token(run, token);
}

/// Asserts that neither stream contains the token or any of its signature.
#[track_caller]
pub(crate) fn assert_no_token(run: &Run, token: &str) {
    let everything = run.everything();
    if !token.is_empty() {
        assert!(!everything.contains(token), "the output contains the token");
    }
    if let Some(signature) = token.rsplit('.').next().filter(|signature| signature.len() >= 16) {
        assert!(!everything.contains(signature), "the output contains the signature");
    }
}

/// Writes a key file readable by its owner only, as `keys new` makes them (a file others may
/// read is used with a warning on standard error).
pub(crate) fn write_key_file(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents).expect("the key file is written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("the key file is made private");
    }
}

/// Starts the binary with `args` in the background, its input empty and its output captured.
pub(crate) fn spawn_tokenring(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_tokenring"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}
