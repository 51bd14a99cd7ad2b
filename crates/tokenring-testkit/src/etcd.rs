//! [`EtcdServer`]: a real `etcd` (Debian's `etcd-server`) for one test, on 127.0.0.1 with
//! ports of its own and a data directory of its own, stopped and removed when dropped.
//!
//! The ports are found free by binding port 0 and letting go just before `etcd` starts; the
//! wait for it to answer is bounded in attempts ([`START_ATTEMPTS_MAX`]), each a TCP connect to
//! its client port, and only decides whether the test can start.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Most times the client port is tried before the server is declared not started.
pub const START_ATTEMPTS_MAX: u32 = 200;

/// Pause between two tries: with [`START_ATTEMPTS_MAX`], at most ten seconds.
const START_RETRY: Duration = Duration::from_millis(50);

/// One `etcd` process, killed (and its data directory removed) on drop.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    client: SocketAddr,
    peer: SocketAddr,
    n: u32,
    data_dir: PathBuf,
}

fn free_port() -> std::io::Result<SocketAddr> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()
}

impl EtcdServer {
    /// Starts `etcd` and waits until its client port accepts connections.
    ///
    /// # Panics
    /// When `etcd` is not installed (`apt-get install etcd-server`), exits, or does not answer
    /// within [`START_ATTEMPTS_MAX`] tries: the test cannot run.
    pub fn start() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let data_dir = std::env::temp_dir().join(format!("tokenring-etcd-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        let (client, peer) = match (free_port(), free_port()) {
            (Ok(client), Ok(peer)) => (client, peer),
            (Err(error), _) | (_, Err(error)) => panic!("no free port on 127.0.0.1: {error}"),
        };
        let child = spawn(n, &data_dir, client, peer);
        let mut server = Self { child, client, peer, n, data_dir };
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
    /// until it answers.
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(self.n, &self.data_dir, self.client, self.peer);
        self.wait_until_up();
    }

    fn wait_until_up(&mut self) {
        let client = self.client;
        for _ in 0..START_ATTEMPTS_MAX {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("etcd exited at start ({status})");
            }
            if TcpStream::connect_timeout(&client, START_RETRY).is_ok() {
                return;
            }
            std::thread::sleep(START_RETRY);
        }
        panic!("etcd did not answer on {client} after {START_ATTEMPTS_MAX} tries");
    }

    /// `127.0.0.1:PORT`, its client address.
    pub fn endpoint(&self) -> String {
        self.client.to_string()
    }
}

/// Starts etcd number `n` on these ports with this data directory.
fn spawn(n: u32, data_dir: &std::path::Path, client: SocketAddr, peer: SocketAddr) -> Child {
    let spawned = Command::new("etcd")
        .arg("--name")
        .arg(format!("tokenring-test-{n}"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen-client-urls")
        .arg(format!("http://{client}"))
        .arg("--advertise-client-urls")
        .arg(format!("http://{client}"))
        .arg("--listen-peer-urls")
        .arg(format!("http://{peer}"))
        .arg("--initial-advertise-peer-urls")
        .arg(format!("http://{peer}"))
        .arg("--initial-cluster")
        .arg(format!("tokenring-test-{n}=http://{peer}"))
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
