//! Integration tests of tokenring-axum through its public API: routers driven in process with
//! `tower::ServiceExt::oneshot`, the reloader on a real key file, the metrics through a
//! recorder. The end-to-end tests with real processes are in `crates/tokenring-demo`.

#![allow(clippy::unwrap_used)]

#[cfg(feature = "etcd")]
mod etcd;
mod extractor;
mod first_hour;
mod layer;
mod metrics;
mod reload;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, Response};
use tokenring::{KeyRing, ManualClock, SharedRing};
use tokenring_axum::Auth;

pub(crate) const NOW: u64 = 1_700_000_000;

/// Checks `check` up to `tries` times, 25 ms apart, until it holds; whether it did. The bound
/// only ends a failing test: no verdict rests on the time it takes.
pub(crate) async fn eventually(tries: u32, mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..tries {
        if check() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    false
}

/// An `Auth` on a fresh in-memory ring, at a clock the test controls.
pub(crate) fn auth_at(clock: &std::sync::Arc<ManualClock>) -> Auth {
    let ring = SharedRing::new(KeyRing::generate(NOW).unwrap());
    Auth::new(ring).clock(SharedClock(std::sync::Arc::clone(clock)))
}

/// A `ManualClock` behind an `Arc`, so the test keeps moving the clock `Auth` reads.
pub(crate) struct SharedClock(pub(crate) std::sync::Arc<ManualClock>);

impl tokenring::Clock for SharedClock {
    fn now_secs(&self) -> u64 {
        self.0.now_secs()
    }
}

pub(crate) fn get(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

/// Status, `WWW-Authenticate` and body of a response.
pub(crate) async fn parts(response: Response<Body>) -> (u16, Option<String>, String) {
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|value| value.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

/// Everything a `tracing` subscriber writes, for one test.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn subscriber(&self, level: tracing::Level) -> impl tracing::Subscriber + Send + Sync {
        let writer = self.clone();
        tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).with_max_level(level).finish()
    }

    /// Runs `work` with a subscriber that records every event into this buffer.
    pub(crate) fn during<T>(&self, work: impl FnOnce() -> T) -> T {
        tracing::subscriber::with_default(self.subscriber(tracing::Level::TRACE), work)
    }

    /// Records the events at `INFO` and above of this thread (a reloader's task runs on it
    /// under a current-thread runtime) until the guard is dropped.
    #[cfg(feature = "etcd")]
    pub(crate) fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(self.subscriber(tracing::Level::INFO))
    }

    /// How many times `text` was written.
    #[cfg(feature = "etcd")]
    pub(crate) fn count(&self, text: &str) -> usize {
        self.text().matches(text).count()
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
