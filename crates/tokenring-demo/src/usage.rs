//! Command-line errors, reported without repeating what the user typed.
//!
//! clap's own messages quote the offending argument, and a stray argument is easily a token
//! (`tokenring-demo "$TOKEN"`). So the message is rebuilt from the parts that are ours: the
//! names of our flags, the error's kind, and the reason our value parsers give, the way the
//! `tokenring` command does it. A `--keys` path that looks like a token is refused before the
//! disk is touched, without being shown: opening it would log it as a path.

use std::error::Error as _;
use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Component, Path};

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Exit code of a command-line error, as clap's own.
pub(crate) const USAGE: u8 = 2;

/// Longest stray argument quoted back, in bytes: a mistyped flag, never a token.
const QUOTED_ARGUMENT_LEN_MAX: usize = 32;

/// A file name longer than this, of three dot-separated base64url runs, is taken for a token.
/// The shortest real token is longer.
const TOKEN_LIKE_LEN_MIN: usize = 40;

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

/// Refuses a `--keys` path with a component that looks like a token (see [`looks_like_a_token`]);
/// returns the exit code, after saying why without showing the path.
pub(crate) fn refuse_token_like(path: &Path) -> Option<u8> {
    let token_like = path.components().any(|component| match component {
        Component::Normal(name) => looks_like_a_token(name),
        _ => false,
    });
    token_like.then(|| print_error("invalid value for '--keys <FILE>': it looks like a token (not shown)", None))
}

/// Whether `name` looks like a compact JWS: longer than [`TOKEN_LIKE_LEN_MIN`] bytes, three runs
/// of base64url characters separated by dots (the last one may be empty: an unsecured token).
pub(crate) fn looks_like_a_token(name: &OsStr) -> bool {
    let bytes = name.as_encoded_bytes();
    let runs: Vec<&[u8]> = bytes.split(|&byte| byte == b'.').collect();
    let base64url = |run: &[u8]| run.iter().all(|&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'));
    bytes.len() > TOKEN_LIKE_LEN_MIN
        && runs.len() == 3
        && !runs[0].is_empty()
        && !runs[1].is_empty()
        && runs.iter().all(|run| base64url(run))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_like_names() {
        let token = format!("{}.{}.{}", "eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiIzIn0", "a".repeat(43));
        assert!(looks_like_a_token(OsStr::new(&token)));
        assert!(looks_like_a_token(OsStr::new(&format!("{}.{}.", "a".repeat(20), "b".repeat(21)))));
        for name in [
            "keys.json".to_owned(),
            "keys.2026-11-29.json".to_owned(),
            format!("{}.json", "a".repeat(60)),
            format!("{}.{}.{}.{}", "a".repeat(20), "b".repeat(20), "c".repeat(20), "d"),
            format!("{}.{}.{}", "a".repeat(20), "b".repeat(20), "c c"),
            format!("{}..{}", "a".repeat(20), "c".repeat(20)),
            "a.b.c".to_owned(),
        ] {
            assert!(!looks_like_a_token(OsStr::new(&name)), "{name}");
        }
    }
}
