//! `keys new`, `keys rotate`, `keys list`, and loading a key file for the other commands.

use std::fmt::Write as _;
use std::path::Path;

use tokenring::{FileStore, KeyRing, KeyState, Kid, StoreError};

use crate::cli::{self, ListArgs, NewArgs, RotateArgs};
use crate::exit::Failure;
use crate::output;
use crate::utc;

/// Reads the key ring from `path`. A missing, unreadable or damaged file is an error; it is
/// never replaced.
///
/// # Errors
/// [`Failure::Store`].
pub(crate) fn load(path: &Path) -> Result<KeyRing, Failure> {
    FileStore::new(path).load().map_err(|error| store_failure(path, error))
}

fn store_failure(path: &Path, error: StoreError) -> Failure {
    let hint = match error {
        StoreError::AlreadyExists => Some("use --force to replace it"),
        StoreError::NotFound => Some("create one with `tokenring keys new`"),
        _ => None,
    };
    Failure::Store { path: path.to_owned(), error, hint }
}

fn kid_text(kid: Option<Kid>) -> String {
    kid.map_or_else(|| "(no kid)".to_owned(), |kid| kid.to_string())
}

/// `keys new FILE [--force]`.
pub(crate) fn new(args: &NewArgs) -> Result<(), Failure> {
    let ring = KeyRing::generate(cli::now_secs(args.now))?;
    let store = FileStore::new(&args.file);
    // `create` refuses to replace an existing file atomically; `save` replaces it atomically.
    let written = if args.force { store.save(&ring) } else { store.create(&ring) };
    written.map_err(|error| store_failure(&args.file, error))?;
    let line = format!("created {}: active key {}\n", args.file.display(), kid_text(ring.active_kid()));
    output::stdout(line.as_bytes())
}

/// `keys rotate FILE [--overlap DUR]`.
pub(crate) fn rotate(args: &RotateArgs) -> Result<(), Failure> {
    let now = cli::now_secs(args.now);
    let store = FileStore::new(&args.file);
    let mut ring = store.load().map_err(|error| store_failure(&args.file, error))?;
    let previous = ring.can_sign().then(|| ring.active_kid());
    // Rotation drops keys already past their retire-at time; count them to say so.
    let retired = ring.keys(now).iter().filter(|key| key.state == KeyState::Retired).count();
    let kid = ring.rotate(now, args.overlap)?;
    store.save(&ring).map_err(|error| store_failure(&args.file, error))?;

    let mut report = format!("rotated {}: active key {kid}\n", args.file.display());
    if let Some(previous) = previous {
        let retire_at = ring.keys(now).iter().find(|key| key.kid == previous).and_then(|key| key.retire_at_secs);
        if let Some(retire_at) = retire_at {
            let _ = writeln!(
                report,
                "previous key {} verifies until {} ({retire_at})",
                kid_text(previous),
                utc::format_unsigned(retire_at)
            );
        }
    }
    if retired > 0 {
        let _ = writeln!(report, "dropped {retired} retired key(s); their tokens are rejected as retired-key");
    }
    output::stdout(report.as_bytes())
}

/// `keys list FILE`: one line per key, never a secret.
pub(crate) fn list(args: &ListArgs) -> Result<(), Failure> {
    let ring = load(&args.file)?;
    let keys = ring.keys(cli::now_secs(args.now));
    let kids: Vec<String> = keys.iter().map(|key| kid_text(key.kid)).collect();
    let kid_width = kids.iter().map(String::len).max().unwrap_or(0).max("KID".len());
    let mut table = String::new();
    let _ = writeln!(table, "{:<kid_width$}  {:<9}  {:<20}  {:<20}  BITS", "KID", "STATE", "CREATED", "RETIRE-AT");
    for (key, kid) in keys.iter().zip(&kids) {
        let retire_at = key.retire_at_secs.map_or_else(|| "-".to_owned(), utc::format_unsigned);
        let _ = writeln!(
            table,
            "{kid:<kid_width$}  {:<9}  {:<20}  {retire_at:<20}  {}",
            key.state.as_str(),
            utc::format_unsigned(key.created_secs),
            key.bits
        );
    }
    let _ = writeln!(table, "key identifiers issued by this file: {}", ring.issued_kids().len());
    output::stdout(table.as_bytes())
}
