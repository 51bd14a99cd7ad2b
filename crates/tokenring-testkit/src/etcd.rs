//! [`EtcdServer`]: a real `etcd` (Debian's `etcd-server`) for one test, on 127.0.0.1 with
//! ports of its own and a data directory of its own, stopped and removed when dropped.
//!
//! It serves plain HTTP, or TLS ([`Security`]) with the test-only certificates checked in
//! under `crates/tokenring-testkit/tls/` ([`tls_file`]; `tls/generate` makes them again with
//! `openssl`, valid for a hundred years). Checked-in fixtures rather than certificates made at
//! test time: a test run needs no `openssl` and no new dependency, and every run uses the same
//! certificates. With the `etcd-auth` feature, `EtcdServer::enable_auth` turns on etcd's
//! user and password authentication (through `etcd-client`'s auth API: user `root` granted
//! the role `root`, auth enable).
//!
//! The ports are found free by binding port 0 and letting go just before `etcd` starts; the
//! wait for it to be ready is bounded in attempts ([`START_ATTEMPTS_MAX`]), each a `GET /health`
//! on its plain-HTTP metrics port, and only decides whether the test can start. A client port
//! that accepts connections is not enough: until etcd has elected itself leader, requests fail
//! (seen under load as "cannot reach etcd" in a test's first request).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Most times etcd's health is asked before the server is declared not started.
pub const START_ATTEMPTS_MAX: u32 = 400;

/// Pause between two tries, and the bound on a try's connect (on its write and its read: twenty
/// times that). With [`START_ATTEMPTS_MAX`], 20 s of pauses besides the tries themselves: a
/// loaded machine runs many tests at once.
const START_RETRY: Duration = Duration::from_millis(50);

/// The most of a health answer read: `{"health":"true"}` and its headers.
const HEALTH_ANSWER_LEN_MAX: u64 = 4096;

/// How a test etcd takes its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain HTTP, any client.
    Plain,
    /// TLS with `server.pem` (for 127.0.0.1 and localhost, signed by `ca.pem`); any client.
    Tls,
    /// TLS, and only a client with a certificate signed by `ca.pem` is served
    /// (`--client-cert-auth`): `client.pem` is, `stranger.pem` is not.
    TlsClientCertificate,
    /// TLS with `elsewhere.pem`, signed by `ca.pem` but for `etcd.invalid` only: a client that
    /// connects to 127.0.0.1 refuses it.
    TlsElsewhere,
}

/// The path of a test-only TLS fixture: `ca.pem`, `other-ca.pem` (an authority nobody here
/// trusts), `server.pem` and `server-key.pem`, `elsewhere.pem` and `elsewhere-key.pem` (for
/// `etcd.invalid` only), `client.pem` and `client-key.pem` (signed by `ca.pem`, CN `root`),
/// `stranger.pem` and `stranger-key.pem` (signed by `other-ca.pem`).
pub fn tls_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tls").join(name)
}

/// One `etcd` process, killed (and its data directory removed) on drop.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    client: SocketAddr,
    peer: SocketAddr,
    /// Plain HTTP, `/health` and `/metrics`, whatever `security` the clients get.
    metrics: SocketAddr,
    n: u32,
    data_dir: PathBuf,
    security: Security,
}

fn free_port() -> std::io::Result<SocketAddr> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()
}

impl EtcdServer {
    /// Starts `etcd` and waits until it serves requests (its `/health`).
    ///
    /// # Panics
    /// When `etcd` is not installed (`apt-get install etcd-server`), exits, or does not answer
    /// within [`START_ATTEMPTS_MAX`] tries: the test cannot run.
    pub fn start() -> Self {
        Self::start_with(Security::Plain)
    }

    /// Starts `etcd` serving its clients as `security` says, and waits until it serves
    /// requests (its `/health`).
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub fn start_with(security: Security) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let data_dir = std::env::temp_dir().join(format!("tokenring-etcd-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        let (client, peer, metrics) = match (free_port(), free_port(), free_port()) {
            (Ok(client), Ok(peer), Ok(metrics)) => (client, peer, metrics),
            (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                panic!("no free port on 127.0.0.1: {error}")
            }
        };
        let ports = Ports { client, peer, metrics };
        let child = spawn(n, &data_dir, ports, security);
        let mut server = Self { child, client, peer, metrics, n, data_dir, security };
        server.wait_until_up();
        server
    }

    /// Kills `etcd` (`kill -9`) and waits for it to be gone: its clients lose their
    /// connections. Its data stays, for [`restart`](Self::restart).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts `etcd` again on the same ports and data after [`kill`](Self::kill), and waits
    /// until it serves requests.
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub fn restart(&mut self) {
        self.kill();
        let ports = Ports { client: self.client, peer: self.peer, metrics: self.metrics };
        self.child = spawn(self.n, &self.data_dir, ports, self.security);
        self.wait_until_up();
    }

    fn wait_until_up(&mut self) {
        for _ in 0..START_ATTEMPTS_MAX {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("etcd exited at start ({status})");
            }
            if healthy(self.metrics) {
                return;
            }
            std::thread::sleep(START_RETRY);
        }
        panic!("etcd on {} was not healthy after {START_ATTEMPTS_MAX} tries", self.client);
    }

    /// `127.0.0.1:PORT`, its client address.
    pub fn endpoint(&self) -> String {
        self.client.to_string()
    }

    /// `etcd://127.0.0.1:PORT{key}`, or `etcds://...` when it serves TLS.
    pub fn url(&self, key: &str) -> String {
        let scheme = if self.security == Security::Plain { "etcd" } else { "etcds" };
        format!("{scheme}://{}{key}", self.client)
    }

    /// Turns on etcd's authentication: adds the user `root` with `password`, grants it etcd's
    /// role `root`, adds the user `nobody` (same password, no role: it may touch no
    /// key), and enables auth. From then on every client must authenticate
    /// (as `root` with `password`, or, on a [`Security::TlsClientCertificate`] server, with
    /// `client.pem`, whose CN is `root`).
    ///
    /// # Panics
    /// When etcd refuses any of it: the test cannot run.
    #[cfg(feature = "etcd-auth")]
    pub fn enable_auth(&self, password: &str) {
        use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};
        let read = |name: &str| std::fs::read(tls_file(name)).expect("the TLS fixtures are readable");
        let mut options = ConnectOptions::new().with_connect_timeout(START_WAIT_MAX).with_timeout(START_WAIT_MAX);
        if self.security != Security::Plain {
            let mut tls = TlsOptions::new().ca_certificate(Certificate::from_pem(read("ca.pem")));
            if self.security == Security::TlsClientCertificate {
                tls = tls.identity(Identity::from_pem(read("client.pem"), read("client-key.pem")));
            }
            options = options.with_tls(tls);
        }
        let scheme = if self.security == Security::Plain { "http" } else { "https" };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let mut client =
                Client::connect([format!("{scheme}://{}", self.client)], Some(options)).await.expect("etcd answers");
            client.user_add("root", password, None).await.expect("etcd adds the user root");
            // A user without a role: authenticated, and allowed nothing.
            client.user_add("nobody", password, None).await.expect("etcd adds the user nobody");
            // The role `root` is etcd's own: granted, never added.
            client.user_grant_role("root", "root").await.expect("etcd grants root the role root");
            client.auth_enable().await.expect("etcd enables authentication");
        });
    }
}

/// The longest [`EtcdServer::enable_auth`] waits for each of its requests.
#[cfg(feature = "etcd-auth")]
const START_WAIT_MAX: Duration = Duration::from_secs(10);

/// Starts etcd number `n` on these ports with this data directory, serving clients as
/// `security` says (its peer port stays plain: a one-member cluster has no peer).
/// Whether etcd's `GET /health` on `metrics` says it serves: it has a leader and answers reads.
fn healthy(metrics: SocketAddr) -> bool {
    let ask = || -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&metrics, START_RETRY)?;
        stream.set_read_timeout(Some(START_RETRY * 20))?;
        stream.set_write_timeout(Some(START_RETRY * 20))?;
        stream.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut answer = String::new();
        stream.take(HEALTH_ANSWER_LEN_MAX).read_to_string(&mut answer)?;
        Ok(answer)
    };
    ask().is_ok_and(|answer| answer.contains("\"health\":\"true\""))
}

/// The ports of one etcd.
struct Ports {
    client: SocketAddr,
    peer: SocketAddr,
    metrics: SocketAddr,
}

fn spawn(n: u32, data_dir: &Path, Ports { client, peer, metrics }: Ports, security: Security) -> Child {
    let scheme = if security == Security::Plain { "http" } else { "https" };
    let mut command = Command::new("etcd");
    let certificate = if security == Security::TlsElsewhere { "elsewhere" } else { "server" };
    if security != Security::Plain {
        let (pem, key) = (format!("{certificate}.pem"), format!("{certificate}-key.pem"));
        command.arg("--cert-file").arg(tls_file(&pem)).arg("--key-file").arg(tls_file(&key));
    }
    if security == Security::TlsClientCertificate {
        command.arg("--client-cert-auth").arg("--trusted-ca-file").arg(tls_file("ca.pem"));
    }
    let spawned = command
        .arg("--name")
        .arg(format!("tokenring-test-{n}"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen-client-urls")
        .arg(format!("{scheme}://{client}"))
        .arg("--advertise-client-urls")
        .arg(format!("{scheme}://{client}"))
        .arg("--listen-peer-urls")
        .arg(format!("http://{peer}"))
        .arg("--initial-advertise-peer-urls")
        .arg(format!("http://{peer}"))
        .arg("--initial-cluster")
        .arg(format!("tokenring-test-{n}=http://{peer}"))
        .arg("--listen-metrics-urls")
        .arg(format!("http://{metrics}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        Ok(child) => child,
        Err(error) => panic!("cannot start etcd (apt-get install etcd-server): {error}"),
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
