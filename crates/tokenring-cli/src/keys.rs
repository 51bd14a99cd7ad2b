//! `keys new`, `keys rotate`, `keys revoke`, `keys list`, and loading a key file for the other
//! commands. Wherever a key file is taken, `etcd://HOST:PORT/KEY` (or `etcds://` over TLS) names
//! a key set in etcd instead (feature `etcd`), updated by compare-and-swap on the key's revision.

use std::fmt::Write as _;
use std::path::Path;

#[cfg(feature = "etcd")]
use tokenring::{Created, RingStore, SharedRing, Swapped};
use tokenring::{FileStore, KeyInfo, KeyRing, KeyState, Kid, RedactedPath, Rotation, StoreError};
#[cfg(feature = "etcd")]
use tokenring_etcd::{Credentials, EtcdStore};

use crate::cli::{self, ListArgs, NewArgs, RevokeArgs, RotateArgs};
use crate::exit::Failure;
use crate::output;
use crate::utc;

/// Reads the key ring from `path`. A missing, unreadable or damaged file is an error; it is
/// never replaced.
///
/// # Errors
/// [`Failure::Store`].
pub(crate) fn load(path: &Path) -> Result<KeyRing, Failure> {
    match place(path)? {
        Place::File(store) => {
            let ring = store.load().map_err(|error| store_failure(path, error))?;
            warn_about_permissions(&store);
            Ok(ring)
        }
        #[cfg(feature = "etcd")]
        Place::Etcd(store) => {
            let shared = SharedRing::open(*store).map_err(remote_failure)?;
            let ring = shared.ring().clone();
            Ok(ring)
        }
    }
}

/// Where a key set is: a key file, or a key in etcd.
enum Place {
    File(FileStore),
    #[cfg(feature = "etcd")]
    /// Boxed: the client is large, the file store small.
    Etcd(Box<EtcdStore>),
}

/// The store `path` names: `etcd://HOST:PORT/KEY` or `etcds://HOST:PORT/KEY` (connected,
/// credentials and TLS settings from the environment), or a key file.
fn place(path: &Path) -> Result<Place, Failure> {
    let Some(url) = path.to_str().filter(|text| text.starts_with("etcd://") || text.starts_with("etcds://")) else {
        return open(path).map(Place::File);
    };
    etcd(url)
}

#[cfg(feature = "etcd")]
fn etcd(url: &str) -> Result<Place, Failure> {
    // The URL's own faults first (a user or password in it is refused without being shown).
    let url = tokenring_etcd::parse_url(url).map_err(|error| Failure::Usage(error.to_string()))?;
    // Then the settings, each file read and checked, and whether they agree with the scheme
    // (a CA file with `etcd://` is refused: nothing goes out in plain text by mistake).
    let credentials = Credentials::from_env().map_err(|error| Failure::Usage(error.to_string()))?;
    url.check(&credentials).map_err(|error| Failure::Usage(error.to_string()))?;
    EtcdStore::connect(url.endpoint(), url.key(), credentials)
        .map(|store| Place::Etcd(Box::new(store)))
        .map_err(remote_failure)
}

#[cfg(not(feature = "etcd"))]
fn etcd(_url: &str) -> Result<Place, Failure> {
    Err(Failure::Usage(
        "this tokenring was built without etcd support (the `etcd` feature); nothing was read or written".to_owned(),
    ))
}

/// A failure of a store other than a file: its error names it.
#[cfg(feature = "etcd")]
fn remote_failure(error: StoreError) -> Failure {
    let hint = match error {
        StoreError::DocumentNotFound { .. } => Some("create it with `tokenring keys new`"),
        _ => None,
    };
    Failure::Remote { error, hint }
}

/// Applies `change` to the key set at `path`: under the key file's lock, or by compare-and-swap
/// on the etcd key's revision (retried when another writer came first). Either way no other
/// writer's change is lost.
fn update<T>(path: &Path, change: impl FnMut(&mut KeyRing) -> Result<T, tokenring::Error>) -> Result<T, Failure> {
    match place(path)? {
        Place::File(store) => {
            let outcome = store.update(change).map_err(|error| update_failure(path, error))?;
            warn_about_permissions(&store);
            Ok(outcome)
        }
        #[cfg(feature = "etcd")]
        Place::Etcd(store) => {
            let shared = SharedRing::open(*store).map_err(remote_failure)?;
            shared.update(change).map_err(|error| match error {
                tokenring::Error::Store(error) => remote_failure(error),
                other => update_failure(path, other),
            })
        }
    }
}

/// The store for the key file at `path`, or a usage error, before anything is read or written,
/// when the path looks like a token (`--keys "$TOKEN"`, arguments in the wrong order): no file
/// named after a token is ever created, and nothing prints it.
fn open(path: &Path) -> Result<FileStore, Failure> {
    if RedactedPath::new(path).hides_path() {
        return Err(Failure::Usage(
            "the key file argument looks like a token, not a path (not shown); nothing was read or written".to_owned(),
        ));
    }
    Ok(FileStore::new(path))
}

/// Prints a warning when others may read or change the key file. Never a failure: a file that
/// loaded is used.
fn warn_about_permissions(store: &FileStore) {
    if let Ok(Some(warning)) = store.check_permissions() {
        output::stderr(&format!("tokenring: warning: {}: {warning}", RedactedPath::new(store.path())));
    }
}

fn store_failure(path: &Path, error: StoreError) -> Failure {
    let hint = match error {
        StoreError::AlreadyExists { .. } => Some("use --force to replace it"),
        StoreError::NotFound { .. } => Some("create one with `tokenring keys new`"),
        _ => None,
    };
    Failure::Store { path: path.to_owned(), error, hint }
}

fn kid_text(kid: Option<Kid>) -> String {
    kid.map_or_else(|| "(no kid)".to_owned(), |kid| kid.to_string())
}

/// A failure of [`FileStore::update`]: the store's errors name the file, the rest stand alone.
fn update_failure(path: &Path, error: tokenring::Error) -> Failure {
    match error {
        tokenring::Error::Store(error) => store_failure(path, error),
        tokenring::Error::Key(error) => Failure::Key(error),
        tokenring::Error::KeySet(error) => store_failure(path, StoreError::Corrupt { path: path.into(), error }),
        tokenring::Error::Sign(error) => Failure::Sign(error),
        // `Error` is non-exhaustive; a future kind is reported as the store's.
        other => Failure::Usage(other.to_string()),
    }
}

/// A time as `2023-11-14T22:13:20Z (1700000000)`.
fn when(secs: u64) -> String {
    format!("{} ({secs})", utc::format_unsigned(secs))
}

/// `keys new FILE [--force]`.
pub(crate) fn new(args: &NewArgs) -> Result<(), Failure> {
    let now = cli::now_secs(args.now);
    let ring = KeyRing::generate(now)?;
    match place(&args.file)? {
        Place::File(store) => {
            // `create` refuses to replace an existing file atomically; `save` replaces it atomically.
            let written = if args.force { store.save(&ring) } else { store.create(&ring) };
            written.map_err(|error| store_failure(&args.file, error))?;
        }
        #[cfg(feature = "etcd")]
        Place::Etcd(store) => create_in_etcd(&store, &ring, args.force)?,
    }
    let line = format!("created {}: active key {}\n", RedactedPath::new(&args.file), kid_text(ring.active_kid(now)));
    output::stdout(line.as_bytes())
}

/// `keys new etcd://...`: the key set is created only where there is none; with `--force` it
/// replaces the one there by a swap on the revision read (refused if another writer changed it
/// meanwhile).
#[cfg(feature = "etcd")]
fn create_in_etcd(store: &EtcdStore, ring: &KeyRing, force: bool) -> Result<(), Failure> {
    let document = ring.to_jwk_set();
    let existing = if force { store.load_document().map_err(remote_failure)? } else { None };
    let written = match existing {
        Some(existing) => {
            matches!(store.swap_document(&existing.version, &document).map_err(remote_failure)?, Swapped::Swapped(_))
        }
        None => matches!(store.create_document(&document).map_err(remote_failure)?, Created::Created(_)),
    };
    if written {
        return Ok(());
    }
    let name = store.store_name();
    Err(Failure::Usage(if force {
        format!("key set {name} changed while it was being replaced; nothing was written (try again)")
    } else {
        format!("key set {name} already exists (use --force to replace it)")
    }))
}

/// What one rotation changed, for the report.
struct Rotated {
    kid: Option<Kid>,
    signing_before: Option<Kid>,
    forgotten: usize,
    keys: Vec<KeyInfo>,
}

/// `keys rotate FILE [--propagation DUR] [--overlap DUR] [--forget-after DUR] [--if-older-than DUR]`:
/// a read-modify-write under the key file's lock, so concurrent rotations never lose a key.
pub(crate) fn rotate(args: &RotateArgs) -> Result<(), Failure> {
    let now = cli::now_secs(args.now);
    let rotation = Rotation::new()
        .propagation_secs(args.propagation)
        .overlap_secs(args.overlap)
        .forget_after_secs(args.forget_after);
    let rotated = update(&args.file, |ring| {
        // Rotation drops keys past their forget time; count them to say so.
        let forgotten = ring.keys(now).iter().filter(|key| key.state == KeyState::Forgotten).count();
        let signing_before = ring.active_kid(now);
        let kid = match args.if_older_than {
            Some(max_age) => ring.rotate_if_older_than(max_age, &rotation, now)?,
            None => Some(ring.rotate(&rotation, now)?),
        };
        let forgotten = if kid.is_some() { forgotten } else { 0 };
        Ok(Rotated { kid, signing_before, forgotten, keys: ring.keys(now) })
    })?;

    let Some(kid) = rotated.kid else {
        let report = format!(
            "{}: the newest key is younger than the given age; nothing changed\n",
            RedactedPath::new(&args.file)
        );
        return output::stdout(report.as_bytes());
    };
    let info = rotated.keys.iter().find(|key| key.kid == Some(kid));
    let activate_at = info.map_or(now, |info| info.activate_at_secs);
    let mut report =
        format!("rotated {}: new key {kid} signs from {}\n", RedactedPath::new(&args.file), when(activate_at));
    if let Some(previous) = rotated.signing_before {
        let retire_at = rotated.keys.iter().find(|key| key.kid == Some(previous)).and_then(|key| key.retire_at_secs);
        if activate_at > now {
            let _ = writeln!(report, "until then key {previous} signs");
        }
        if let Some(retire_at) = retire_at {
            let _ = writeln!(report, "previous key {previous} verifies until {}", when(retire_at));
        }
    }
    if rotated.forgotten > 0 {
        let _ = writeln!(
            report,
            "dropped {} forgotten key(s); their tokens are rejected as forgotten-key",
            rotated.forgotten
        );
    }
    output::stdout(report.as_bytes())
}

/// `keys revoke FILE KID`.
pub(crate) fn revoke(args: &RevokeArgs) -> Result<(), Failure> {
    let now = cli::now_secs(args.now);
    // A kid is not secret, but an invalid one is not echoed: it may be anything pasted by mistake.
    let kid = Kid::new(&args.kid).map_err(Failure::Key)?;
    let revoked = update(&args.file, |ring| {
        let mut after = ring.clone();
        after.revoke(&kid, now)?;
        // Revoking the key that signs, with no other to take over, makes every login fail
        // until a rotation: refused (nothing is written) unless forced.
        if after.active_kid(now).is_none() && ring.active_kid(now).is_some() && !args.force {
            return Ok(None);
        }
        *ring = after;
        Ok(Some(ring.active_kid(now)))
    })?;
    let Some(signer) = revoked else {
        let path = RedactedPath::new(&args.file);
        return Err(Failure::Usage(format!(
            "refused to revoke key {kid}: afterwards no key could sign new tokens with {path} (every login would fail); run `tokenring keys rotate {path} --propagation 0s` first, then revoke it, or pass --force to revoke it anyway"
        )));
    };
    let mut report =
        format!("revoked key {kid} in {}: its tokens are rejected as revoked-key\n", RedactedPath::new(&args.file));
    match signer {
        Some(signer) => {
            let _ = writeln!(report, "key {signer} signs");
        }
        None => {
            let _ = writeln!(
                report,
                "no key can sign now: run `tokenring keys rotate {} --propagation 0s` (or wait for a pending key)",
                RedactedPath::new(&args.file)
            );
        }
    }
    output::stdout(report.as_bytes())
}

/// `keys list FILE`: one line per key, never a secret.
pub(crate) fn list(args: &ListArgs) -> Result<(), Failure> {
    let ring = load(&args.file)?;
    let keys = ring.keys(cli::now_secs(args.now));
    let kids: Vec<String> = keys.iter().map(|key| kid_text(key.kid)).collect();
    let kid_width = kids.iter().map(String::len).max().unwrap_or(0).max("KID".len());
    let time = |at: Option<u64>| at.map_or_else(|| "-".to_owned(), utc::format_unsigned);
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:<kid_width$}  {:<9}  {:<20}  {:<20}  {:<20}  {:<20}  BITS",
        "KID", "STATE", "CREATED", "ACTIVATE-AT", "RETIRE-AT", "FORGET-AT"
    );
    for (key, kid) in keys.iter().zip(&kids) {
        let _ = writeln!(
            table,
            "{kid:<kid_width$}  {:<9}  {:<20}  {:<20}  {:<20}  {:<20}  {}{}",
            key.state.as_str(),
            utc::format_unsigned(key.created_secs),
            utc::format_unsigned(key.activate_at_secs),
            time(key.retire_at_secs),
            time(key.forget_at_secs),
            key.bits,
            if key.may_sign { "" } else { "  verify-only" }
        );
    }
    let _ = writeln!(table, "key identifiers issued by this file: {}", ring.issued_kids().len());
    output::stdout(table.as_bytes())
}
