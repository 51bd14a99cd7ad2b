//! Command-line errors, reported without repeating anything the user typed, and a `--keys` path
//! that looks like a token refused before the disk is touched, without being shown: opening it
//! would log it as a path.
//!
//! clap's own messages quote the offending argument, and a misplaced argument may be a token
//! (`tokenring-demo "$TOKEN"`). Here the message is only the error's kind in clap's words, the
//! demo's own flag when the kind is about one of them, the reason its value parser gave, and
//! clap's suggestion (a flag name). The demo has a handful of flags, so it says no more; the
//! `tokenring` CLI, with many commands, words its errors in more detail.

use std::error::Error as _;
use std::io::Write as _;
use std::path::Path;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use tokenring::RedactedPath;

/// The exit code of a command-line error (clap's own).
const USAGE: u8 = 2;

/// Reports a command-line error (or prints help or the version); returns the exit code.
pub(crate) fn report(error: &clap::Error) -> u8 {
    if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = error.print();
        return 0;
    }
    let mut message = error.kind().as_str().unwrap_or("invalid command line").to_owned();
    // For these kinds clap's "invalid argument" is one of the demo's flags; for the others
    // (an unexpected argument) it is the user's text, and is not shown.
    let names_our_flag = matches!(
        error.kind(),
        ErrorKind::ValueValidation
            | ErrorKind::InvalidValue
            | ErrorKind::MissingRequiredArgument
            | ErrorKind::ArgumentConflict
            | ErrorKind::TooManyValues
    );
    match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(flag)) if names_our_flag => message = format!("{message}: '{flag}'"),
        Some(ContextValue::Strings(flags)) if names_our_flag => {
            message = format!("{message}: '{}'", flags.join("', '"))
        }
        _ => {}
    }
    if let Some(reason) = error.source() {
        message = format!("{message}: {reason}");
    }
    if let Some(ContextValue::String(flag)) = error.get(ContextKind::SuggestedArg) {
        message = format!("{message}; did you mean '{flag}'?");
    }
    print_error(&message)
}

/// Refuses a `--keys` path that looks like a token (by [`RedactedPath`]'s rule, the one the
/// library prints paths by); returns the exit code, after saying why without showing the path.
pub(crate) fn refuse_token_like(path: &Path) -> Option<u8> {
    RedactedPath::new(path)
        .hides_path()
        .then(|| print_error("invalid value for '--keys <FILE>': it looks like a token (not shown)"))
}

/// Writes `tokenring-demo: error: MESSAGE` and a pointer to `--help` on standard error; returns
/// the exit code. `message` must hold nothing the user typed.
fn print_error(message: &str) -> u8 {
    let _ =
        writeln!(std::io::stderr().lock(), "tokenring-demo: error: {message}\n\nfor more information, try '--help'");
    USAGE
}
