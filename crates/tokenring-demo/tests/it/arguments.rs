//! A token given on the command line by mistake is never printed: not as a stray argument, not
//! as a flag's value, not as the key file's path (which is refused before the disk is touched).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use tokenring::{Clock, KeyRing, SystemClock};

use crate::support::{assert_nothing_secret, eventually};

/// Runs the demo in `cwd` with `args`, its output going to files in `out`; kills it if it is
/// still running after a bounded wait. Returns the exit code (`None`: it had to be killed) and
/// what it wrote.
fn run(cwd: &Path, out: &Path, args: &[&str]) -> (Option<i32>, String) {
    let stdout = out.join("stdout");
    let stderr = out.join("stderr");
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenring-demo"));
    if !args.contains(&"--listen") {
        // Should the demo start after all, it must not take a fixed port.
        command.args(["--listen", "127.0.0.1:0"]);
    }
    let mut child = command
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut code = None;
    eventually(300, Duration::from_millis(100), || match child.try_wait() {
        Ok(Some(status)) => {
            code = status.code();
            true
        }
        _ => false,
    });
    if code.is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let output = format!("{}\n{}", std::fs::read_to_string(stdout).unwrap(), std::fs::read_to_string(stderr).unwrap());
    (code, output)
}

#[test]
fn a_token_on_the_command_line_is_never_printed() {
    let now = SystemClock.now_secs();
    let token = KeyRing::generate(now).unwrap().issue(&json!({"sub": "ada"}), 3600, now).unwrap();
    let token = token.as_str();
    let keys_equals = format!("--keys={token}");
    let in_directory = format!("keys/{token}");
    let bearer = format!("Bearer {token}");
    let quoted = format!("'{token}',");
    let cases: [&[&str]; 11] = [
        &["--keys", bearer.as_str()],
        &["--keys", quoted.as_str()],
        &[token],
        &["--keys", "keys.json", token],
        &["--keys", "keys.json", "--", token],
        &["--ephemeral", token],
        &["--keys", token],
        &[keys_equals.as_str()],
        &["--keys", in_directory.as_str()],
        &["--keys", "keys.json", "--poll", token],
        &["--keys", "keys.json", "--listen", token],
    ];
    for args in cases {
        let cwd = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let (code, output) = run(cwd.path(), out.path(), args);
        let shown = output.replace(token, "<TOKEN>");
        assert_nothing_secret(&output, &[token], &[]);
        assert_eq!(code, Some(2), "a usage error: {shown}");
        assert!(output.contains("tokenring-demo: error: "), "{shown}");
        let created: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().collect();
        assert!(created.is_empty(), "nothing written before the error: {created:?}");
    }
}

#[test]
fn a_mistyped_flag_gets_a_suggestion() {
    let cwd = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, output) = run(cwd.path(), out.path(), &["--kyes", "keys.json"]);
    assert_eq!(code, Some(2));
    assert!(output.contains("tokenring-demo: error: unexpected argument found; did you mean '--keys'?"), "{output}");
    assert!(!output.contains("--kyes"), "what was typed is not repeated: {output}");
}

#[test]
fn a_bad_value_names_the_flag_and_the_reason() {
    let cwd = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, output) = run(cwd.path(), out.path(), &["--ephemeral", "--poll", "10d"]);
    assert_eq!(code, Some(2));
    // The reason is the duration parser's own words, whichever they are.
    assert!(output.contains("invalid value for one of the arguments: '--poll <DUR>': "), "{output}");
    assert!(!output.contains("10d"), "{output}");
    let (code, output) = run(cwd.path(), out.path(), &[]);
    assert_eq!(code, Some(2));
    assert!(output.contains("required arguments were not provided: '--keys <FILE>'"), "{output}");
}

/// A port another process holds: the error names the address and the flag that changes it.
#[test]
fn a_taken_port_names_the_address_and_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (code, output) = run(dir.path(), dir.path(), &["--ephemeral", "--listen", &address]);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains(&format!("cannot listen on {address}")), "{output}");
    assert!(output.contains("--listen"), "{output}");
    drop(taken);
}
