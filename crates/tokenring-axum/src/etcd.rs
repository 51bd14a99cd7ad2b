//! The `etcd` feature: an [`EtcdWatch`] wakes the [`Reloader`](crate::Reloader) as soon as the
//! key set's etcd key changes, instead of at the next poll.
//!
//! ```no_run
//! use tokenring::SharedRing;
//! use tokenring_axum::{Auth, ReloadOptions, Reloader};
//! use tokenring_etcd::{Credentials, EtcdStore, EtcdWatch};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let url = tokenring_etcd::parse_url("etcds://10.0.0.5:2379/myapp/keys")?;
//! // TLS and credentials from the environment (TOKENRING_ETCD_CA_FILE, ...), checked against
//! // the scheme: etcds:// needs a CA file, etcd:// refuses one.
//! let credentials = Credentials::from_env()?;
//! url.check(&credentials)?;
//! // The store blocks: open it off the runtime's worker threads.
//! let (endpoint, key, store_credentials) = (url.endpoint().to_owned(), url.key().to_owned(), credentials.clone());
//! let ring = tokio::task::spawn_blocking(move || SharedRing::open(EtcdStore::connect(&endpoint, &key, store_credentials)?))
//!     .await??;
//! let watch = EtcdWatch::connect(url.endpoint(), url.key(), credentials).await?;
//! let auth = Auth::new(ring);
//! let reloader = Reloader::spawn_with(&auth, ReloadOptions::new(), watch)?;
//! # let _ = reloader; Ok(()) }
//! ```

use tokenring_etcd::{EtcdWatch, WatchEvent};

use crate::reload::{Wake, WakeSource};

impl WakeSource for EtcdWatch {
    async fn next_wake(&mut self) -> Wake {
        match self.changed().await {
            WatchEvent::Lost(reason) => Wake::Lost(reason),
            WatchEvent::Resumed => Wake::Resumed,
            // A change, and whatever a newer client version reports: a reload costs little.
            _ => Wake::Changed,
        }
    }
}
