//! Command-line errors, reported without repeating what the user typed (`tokenring-usage`), and
//! a `--keys` path that looks like a token refused before the disk is touched, without being
//! shown: opening it would log it as a path.

use std::path::Path;

use tokenring::RedactedPath;

/// The program's name in its messages.
const PROGRAM: &str = "tokenring-demo";

/// Reports a command-line error (or prints help or the version); returns the exit code.
pub(crate) fn report(error: &clap::Error) -> u8 {
    tokenring_usage::report(PROGRAM, error)
}

/// Refuses a `--keys` path that looks like a token (by [`RedactedPath`]'s rule, the one the
/// library prints paths by); returns the exit code, after saying why without showing the path.
pub(crate) fn refuse_token_like(path: &Path) -> Option<u8> {
    RedactedPath::new(path).hides_path().then(|| {
        tokenring_usage::print_error(
            PROGRAM,
            "invalid value for '--keys <FILE>': it looks like a token (not shown)",
            None,
        )
    })
}
