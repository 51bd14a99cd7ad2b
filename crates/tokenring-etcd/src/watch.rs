//! [`EtcdWatch`]: an etcd watch on the key set's key, to reload as soon as it changes instead of
//! at the next poll.
//!
//! Unlike [`EtcdStore`](crate::EtcdStore), it is asynchronous and runs on the caller's tokio
//! runtime (a service's): waiting for the next change is an `await`, not a blocked thread.
//! What it reports only says *when* to reload; the reload itself is the store's (the shared
//! ring's `reload`, which keeps the last good ring on any failure, a corrupt value included).
//! The poll stays as the backstop: a watch can be lost, and then tells so.

use etcd_client::{Client, WatchOptions, WatchStream};
use tokenring::{StoreError, StoreName, StoreOp};

use crate::connection::{connect_client, failure, name, settle, Failure, Use};
use crate::{Credentials, REQUEST_TIMEOUT};

/// Pause before watching again after a failed attempt, so that a caller looping on
/// [`EtcdWatch::changed`] during an outage does not spin.
pub const WATCH_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// What [`EtcdWatch::changed`] saw. Either way the caller reloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WatchEvent {
    /// The key was written or deleted.
    Changed,
    /// The watch was lost: the connection dropped, etcd canceled it, or the revision it was
    /// to resume from was compacted. Changes may have been missed; the next call watches
    /// again (from the last revision seen, or from now after a compaction).
    Lost(&'static str),
    /// Watching again after [`Lost`](Self::Lost): etcd answers once more. Changes made
    /// meanwhile are reported as they come (the watch resumes from the last revision seen);
    /// a reload now tells at once whether the store is usable again.
    Resumed,
}

/// A watch on one etcd key, on the caller's tokio runtime: [`changed`](Self::changed) waits for
/// the next write of the key, or reports the watch lost; either way the caller reloads (the
/// ring's reload keeps the last good ring on any failure, a corrupt value included). The poll
/// stays as the backstop.
pub struct EtcdWatch {
    endpoint: String,
    key: String,
    tls: bool,
    client: Client,
    stream: Option<WatchStream>,
    /// The revision to resume from (the last one seen plus one); 0: from now.
    resume_at: i64,
    /// Whether the last attempt to watch failed (the next one waits [`WATCH_RETRY`] first).
    failed: bool,
    /// Whether the watch was lost since it last ran: the next stream is reported as
    /// [`WatchEvent::Resumed`].
    lost: bool,
}

/// `EtcdWatch(etcd://HOST:PORT/KEY)` (`etcds://` over TLS): no credential.
impl core::fmt::Debug for EtcdWatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "EtcdWatch({})", self.store_name())
    }
}

impl EtcdWatch {
    /// Connects to etcd at `endpoint` (`HOST:PORT`) to watch `key`, on the current tokio
    /// runtime, as [`EtcdStore::connect`](crate::EtcdStore::connect) does (over TLS when
    /// `credentials` hold [`Tls`](crate::Tls)). Every change from then on is reported, those
    /// made before the first [`changed`](Self::changed) included.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when etcd cannot be reached within
    /// [`CONNECT_TIMEOUT`](crate::CONNECT_TIMEOUT);
    /// [`StoreError::Refused`] when it refuses the credentials or the TLS handshake fails.
    pub async fn connect(endpoint: &str, key: &str, credentials: Credentials) -> Result<Self, StoreError> {
        let fail = |failure: Failure| failure.into_error(name(endpoint, key, credentials.is_tls()), StoreOp::Read);
        let client = connect_client(endpoint, &credentials, Use::Watch).await.map_err(fail)?;
        // Every change after this call is reported, even one made before the first `changed`:
        // the watch starts from the revision after the store's current one.
        let mut kv = client.kv_client();
        let attempt = async {
            let failed = match kv.get(key, None).await {
                Ok(now) => return Ok(now),
                Err(error) => failure(&error, &credentials),
            };
            Err(settle(failed, &credentials, kv.get(key, None)).await)
        };
        let now = tokio::time::timeout(REQUEST_TIMEOUT, attempt)
            .await
            .unwrap_or(Err(Failure::Unavailable("timed out")))
            .map_err(fail)?;
        let resume_at = now.header().map_or(0, |header| header.revision() + 1);
        Ok(Self {
            endpoint: endpoint.to_owned(),
            key: key.to_owned(),
            tls: credentials.is_tls(),
            client,
            stream: None,
            resume_at,
            failed: false,
            lost: false,
        })
    }

    /// The name of the watched key, as the store prints it.
    pub fn store_name(&self) -> StoreName {
        name(&self.endpoint, &self.key, self.tls)
    }

    /// Waits for the next change of the key, or for the watch to be lost.
    pub async fn changed(&mut self) -> WatchEvent {
        loop {
            let stream = match &mut self.stream {
                Some(stream) => stream,
                None => {
                    if self.failed {
                        tokio::time::sleep(WATCH_RETRY).await;
                    }
                    let options = (self.resume_at > 0).then(|| WatchOptions::new().with_start_revision(self.resume_at));
                    let watching = self.client.watch(self.key.as_str(), options);
                    match tokio::time::timeout(REQUEST_TIMEOUT, watching).await {
                        Ok(Ok(stream)) => {
                            self.failed = false;
                            self.stream = Some(stream);
                            if std::mem::take(&mut self.lost) {
                                return WatchEvent::Resumed;
                            }
                            continue;
                        }
                        _ => {
                            self.failed = true;
                            self.lost = true;
                            return WatchEvent::Lost("cannot watch the key: etcd is unreachable");
                        }
                    }
                }
            };
            let response = match stream.message().await {
                Ok(Some(response)) => response,
                Ok(None) | Err(_) => {
                    self.stream = None;
                    self.lost = true;
                    return WatchEvent::Lost("the connection to etcd was lost");
                }
            };
            if response.canceled() {
                self.stream = None;
                self.lost = true;
                if response.compact_revision() > 0 {
                    // What was missed is gone from etcd's history: watch from now, after a reload.
                    self.resume_at = 0;
                    return WatchEvent::Lost("the revision to resume from was compacted");
                }
                self.failed = true;
                return WatchEvent::Lost("etcd canceled the watch");
            }
            let latest = response.events().iter().filter_map(|event| event.kv()).map(|kv| kv.mod_revision()).max();
            if let Some(revision) = latest {
                self.resume_at = revision + 1;
                return WatchEvent::Changed;
            }
            // The watch's creation, or a progress notice: keep waiting.
        }
    }
}
