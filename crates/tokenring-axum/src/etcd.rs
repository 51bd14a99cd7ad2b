//! The `etcd` feature: an [`EtcdWatch`] wakes the [`Reloader`](crate::Reloader) as soon as the
//! key set's etcd key changes, instead of at the next poll.
//!
//! ```no_run
//! use tokenring::SharedRing;
//! use tokenring_axum::{Auth, ReloadOptions, Reloader};
//! use tokenring_etcd::{Credentials, EtcdStore, EtcdWatch};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let url = "etcd://10.0.0.5:2379/myapp/keys";
//! // The store blocks: open it off the runtime's worker threads.
//! let ring = tokio::task::spawn_blocking(move || {
//!     SharedRing::open(EtcdStore::connect_url(url, Credentials::from_env()?)?).map_err(tokenring::Error::from)
//! })
//! .await??;
//! let (endpoint, key) = tokenring_etcd::parse_url(url)?;
//! let watch = EtcdWatch::connect(&endpoint, &key, Credentials::from_env()?).await?;
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
