//! The store layer: the [`RingStore`](document::RingStore) seam to wherever the ring's document
//! is kept, the [`Storage`](storage::Storage) seam to the file system, the
//! [`FileStore`](file::FileStore) that keeps a ring as a JWK Set document, the
//! [`SharedRing`](shared::SharedRing) a service's threads share, the
//! [`ReloadMachine`](reload::ReloadMachine) that decides when it reloads, and paths that print
//! redacted.

pub(crate) mod document;
pub(crate) mod file;
pub(crate) mod path;
pub(crate) mod reload;
pub(crate) mod shared;
pub(crate) mod storage;
