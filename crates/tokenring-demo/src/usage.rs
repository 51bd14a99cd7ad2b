//! Command-line errors, reported without repeating what the user typed.
//!
//! clap's own messages quote the offending argument, and a stray argument is easily a token
//! (`tokenring-demo "$TOKEN"`). So the message is rebuilt from the parts that are ours: the
//! names of our flags, the error's kind, and the reason our value parsers give, the way the
//! `tokenring` command does it. A `--keys` path that looks like a token is refused before the
//! disk is touched, without being shown: opening it would log it as a path.

use std::error::Error as _;
use std::io::Write as _;
use std::path::Path;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use tokenring::RedactedPath;

/// Exit code of a command-line error, as clap's own.
pub(crate) const USAGE: u8 = 2;

/// Longest stray argument quoted back, in bytes: a mistyped flag, never a token.
const QUOTED_ARGUMENT_LEN_MAX: usize = 32;

/// Reports a command-line error (or prints help or the version); returns the exit code.
pub(crate) fn report(error: &clap::Error) -> u8 {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            return 0;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            return USAGE;
        }
        _ => {}
    }
    let usage = match error.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(usage)) => Some(usage.to_string()),
        _ => None,
    };
    print_error(&describe(error), usage.as_deref())
}

/// Refuses a `--keys` path that looks like a token (by [`RedactedPath`]'s rule, the one the
/// library prints paths by); returns the exit code, after saying why without showing the path.
pub(crate) fn refuse_token_like(path: &Path) -> Option<u8> {
    RedactedPath::new(path)
        .hides_path()
        .then(|| print_error("invalid value for '--keys <FILE>': it looks like a token (not shown)", None))
}

/// Writes `tokenring-demo: error: MESSAGE`, the usage if given, and a pointer to `--help`.
fn print_error(message: &str, usage: Option<&str>) -> u8 {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "tokenring-demo: error: {message}");
    if let Some(usage) = usage {
        let _ = writeln!(stderr, "\n{usage}");
    }
    let _ = writeln!(stderr, "\nfor more information, try '--help'");
    USAGE
}

/// One line about the error, from our own names and reasons only.
fn describe(error: &clap::Error) -> String {
    let our_argument = || match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(name)) => name.clone(),
        Some(ContextValue::Strings(names)) => names.join(", "),
        _ => "an argument".to_owned(),
    };
    match error.kind() {
        ErrorKind::ValueValidation => match error.source() {
            Some(reason) => format!("invalid value for '{}': {reason}", our_argument()),
            None => format!("invalid value for '{}'", our_argument()),
        },
        ErrorKind::InvalidValue => format!("invalid value for '{}'", our_argument()),
        // Here the "argument" is the user's text, not one of ours.
        ErrorKind::UnknownArgument => format!("unexpected argument {}", quote_if_flag(error)),
        ErrorKind::MissingRequiredArgument => format!("missing required argument: {}", our_argument()),
        ErrorKind::ArgumentConflict => match error.get(ContextKind::PriorArg) {
            Some(ContextValue::String(prior)) if *prior == our_argument() => {
                format!("'{prior}' cannot be given more than once")
            }
            Some(ContextValue::String(prior)) => format!("'{}' cannot be used with '{prior}'", our_argument()),
            Some(ContextValue::Strings(prior)) => {
                format!("'{}' cannot be used with '{}'", our_argument(), prior.join("', '"))
            }
            _ => format!("'{}' cannot be used with the other arguments given", our_argument()),
        },
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => {
            format!("wrong number of values for '{}'", our_argument())
        }
        ErrorKind::InvalidUtf8 => "an argument is not valid UTF-8".to_owned(),
        other => other.as_str().unwrap_or("invalid command line").to_owned(),
    }
}

/// The stray argument in quotes if it looks like a mistyped flag (`--pol`), with clap's
/// suggestion; else a note that it is not shown: it might be a token.
fn quote_if_flag(error: &clap::Error) -> String {
    let stray = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(stray)) => stray.as_str(),
        _ => "",
    };
    let name = stray.trim_start_matches('-');
    let looks_like_a_flag = stray.len() <= QUOTED_ARGUMENT_LEN_MAX
        && name.starts_with(|character: char| character.is_ascii_lowercase())
        && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if !looks_like_a_flag {
        return "(not shown: it may be a token)".to_owned();
    }
    match error.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(suggested)) => format!("'{stray}'; did you mean '{suggested}'?"),
        _ => format!("'{stray}'"),
    }
}
