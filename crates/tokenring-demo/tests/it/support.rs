//! Running the demo as a real process and talking HTTP to it, on 127.0.0.1 only.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;

/// Longest wait for the demo's first line: a debug build starting on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Timeout of every HTTP exchange.
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// The issuer and audience the demo puts in, and requires of, its tokens.
pub(crate) const ISSUER: &str = "tokenring-demo";

/// A running `tokenring-demo` process. Killed (SIGKILL) when dropped.
pub(crate) struct Demo {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`, from the demo's first line.
    pub(crate) base: String,
    stdout: Arc<Mutex<String>>,
    stderr_path: PathBuf,
}

/// What a demo process wrote, read after it was killed.
pub(crate) struct Output {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    /// Both streams, for "appears nowhere" checks.
    pub(crate) fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The stderr lines at `level` (`WARN`, `INFO`, `ERROR`), as the fmt subscriber writes them.
    pub(crate) fn lines_at(&self, level: &str) -> Vec<&str> {
        let marker = format!(" {level} ");
        self.stderr.lines().filter(|line| line.contains(&marker)).collect()
    }
}

impl Demo {
    /// Starts the demo on `127.0.0.1:0` with `args`; its stderr goes to `<dir>/<name>.stderr`.
    pub(crate) fn start<S: AsRef<OsStr>>(dir: &Path, name: &str, args: &[S]) -> Demo {
        Self::start_with_env(dir, name, args, &[])
    }

    /// [`start`](Self::start), with the environment variables `vars` set as well.
    pub(crate) fn start_with_env<S: AsRef<OsStr>>(dir: &Path, name: &str, args: &[S], vars: &[(&str, &OsStr)]) -> Demo {
        let stderr_path = dir.join(format!("{name}.stderr"));
        let stderr = std::fs::File::create(&stderr_path).expect("create the stderr file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenring-demo"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .envs(vars.iter().copied())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start tokenring-demo");
        let stdout = child.stdout.take().expect("piped stdout");
        let collected = Arc::new(Mutex::new(String::new()));
        let (first_line, first_line_received) = mpsc::channel();
        {
            let collected = Arc::clone(&collected);
            thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                collected.lock().unwrap().push_str(&line);
                let _ = first_line.send(line);
                let mut rest = String::new();
                let _ = reader.read_to_string(&mut rest);
                collected.lock().unwrap().push_str(&rest);
            });
        }
        let mut demo = Demo { child: Some(child), base: String::new(), stdout: collected, stderr_path };
        let line = first_line_received.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let Some(address) = line.strip_prefix("listening on http://").map(str::trim_end) else {
            let output = demo.kill();
            panic!("the demo's first line was {line:?}, not `listening on http://...`; stderr: {}", output.stderr);
        };
        assert!(address.starts_with("127.0.0.1:"), "listens on loopback only: {address}");
        assert_eq!(line, format!("listening on http://{address}\n"), "the first line, exactly");
        demo.base = format!("http://{address}");
        demo
    }

    /// The `host:port` the demo listens on.
    pub(crate) fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// What the demo has written to stderr so far.
    pub(crate) fn stderr_so_far(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends SIGTERM and waits a bounded time (a hang detector, not a measurement) for the
    /// process to end: its exit status, or `None` if it is still running (it is then killed).
    pub(crate) fn terminate(&mut self, attempts: u32) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        assert!(sent.is_ok_and(|status| status.success()), "kill -TERM");
        for _ in 0..attempts {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kills the process with SIGKILL (a crash, not a graceful stop) and returns its output.
    pub(crate) fn kill(&mut self) -> Output {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The reader thread finishes at the pipe's end; give it a bounded moment.
        for _ in 0..50 {
            if Arc::strong_count(&self.stdout) == 1 {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let stdout = self.stdout.lock().unwrap().clone();
        Output { stdout, stderr: self.stderr_so_far() }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP client that returns every status as a response, not an error.
pub(crate) fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(HTTP_TIMEOUT)).build();
    ureq::Agent::new_with_config(config)
}

/// A response's status, `WWW-Authenticate` header and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) challenge: Option<String>,
    pub(crate) body: String,
}

fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.expect("an HTTP response");
    let challenge =
        response.headers().get("www-authenticate").map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let body = response.body_mut().read_to_string().expect("a text body");
    Answer { status: response.status().as_u16(), challenge, body }
}

/// `POST /login` for `user`; returns the token.
pub(crate) fn login(agent: &ureq::Agent, demo: &Demo, user: &str) -> String {
    let body = serde_json::json!({ "user": user }).to_string();
    let answer =
        answer(agent.post(format!("{}/login", demo.base)).header("content-type", "application/json").send(body));
    assert_eq!(answer.status, 200, "login answers 200: {}", answer.body);
    let body: Value = serde_json::from_str(&answer.body).expect("login answers JSON");
    body["token"].as_str().expect("a token").to_owned()
}

/// `POST /login` with a raw body.
pub(crate) fn login_raw(agent: &ureq::Agent, demo: &Demo, body: &str) -> Answer {
    answer(agent.post(format!("{}/login", demo.base)).header("content-type", "application/json").send(body))
}

/// `GET /me` with `Authorization: Bearer <token>`.
pub(crate) fn me(agent: &ureq::Agent, demo: &Demo, token: &str) -> Answer {
    me_with(agent, demo, &format!("Bearer {token}"))
}

/// `GET /me` with the `Authorization` value given.
pub(crate) fn me_with(agent: &ureq::Agent, demo: &Demo, authorization: &str) -> Answer {
    answer(agent.get(format!("{}/me", demo.base)).header("authorization", authorization).call())
}

/// `GET /me` with no credentials.
pub(crate) fn me_anonymous(agent: &ureq::Agent, demo: &Demo) -> Answer {
    answer(agent.get(format!("{}/me", demo.base)).call())
}

/// `GET /healthz`, parsed.
pub(crate) fn healthz(agent: &ureq::Agent, demo: &Demo) -> Value {
    let answer = answer(agent.get(format!("{}/healthz", demo.base)).call());
    assert_eq!(answer.status, 200, "healthz answers 200");
    serde_json::from_str(&answer.body).expect("healthz answers JSON")
}

/// Sends raw bytes as one HTTP/1.1 request on a fresh connection and returns the status code
/// of the answer (`None` if the server closed the connection without one).
pub(crate) fn raw_request(demo: &Demo, request: &[u8]) -> (Option<u16>, String) {
    let mut stream = TcpStream::connect(demo.address()).expect("connect to the demo");
    stream.set_read_timeout(Some(HTTP_TIMEOUT)).expect("set a read timeout");
    stream.set_write_timeout(Some(HTTP_TIMEOUT)).expect("set a write timeout");
    // The server may answer and close before reading everything (431): a failed write is fine.
    let _ = stream.write_all(request);
    let mut response = Vec::new();
    let _ = stream.take(1 << 20).read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.strip_prefix("HTTP/1.1 ").and_then(|rest| rest.get(..3)).and_then(|code| code.parse().ok());
    (status, text)
}

/// A JSON part of a token (0: header, 1: claims), decoded without verification: for tests that
/// check which key the server signed with.
pub(crate) fn token_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a compact token");
    let bytes = Base64UrlUnpadded::decode_vec(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// The `kid` a token's header names.
pub(crate) fn kid_of(token: &str) -> String {
    token_part(token, 0)["kid"].as_str().expect("a kid").to_owned()
}

/// The `k` members (the secrets, base64url) of a JWK Set file.
pub(crate) fn secrets_in(path: &Path) -> Vec<String> {
    let document: Value = serde_json::from_slice(&std::fs::read(path).expect("read the key file")).expect("JSON");
    document["keys"]
        .as_array()
        .expect("a JWK Set")
        .iter()
        .map(|key| key["k"].as_str().expect("an oct key").to_owned())
        .collect()
}

/// Checks that no token, signature segment or secret appears in `text`.
pub(crate) fn assert_nothing_secret(text: &str, tokens: &[&str], secrets: &[String]) {
    for token in tokens {
        assert!(!text.contains(token), "a token appears in the output");
        let signature = token.rsplit('.').next().expect("a signature segment");
        assert!(!text.contains(signature), "a signature segment appears in the output");
        let claims = token.split('.').nth(1).expect("a payload segment");
        assert!(!text.contains(claims), "a payload segment appears in the output");
    }
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "a key appears in the output");
    }
}

/// Polls `check` up to `attempts` times, `pause` apart; whether it ever held.
pub(crate) fn eventually(attempts: u32, pause: Duration, mut check: impl FnMut() -> bool) -> bool {
    for attempt in 0..attempts {
        if check() {
            return true;
        }
        if attempt + 1 < attempts {
            thread::sleep(pause);
        }
    }
    false
}

/// Sleeps until just past the next whole second of the system clock.
///
/// The lifecycle counts in whole seconds: a rotation at 10.99 s with a propagation of 1 s
/// activates at 11 s, 10 ms later. Rotating just after a second boundary makes the propagation
/// the tests ask for the propagation they get.
pub(crate) fn align_to_second() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let past = now.subsec_millis();
    thread::sleep(Duration::from_millis(u64::from(1000 - past) + 20));
}
