//! Command-line errors, reported without repeating what the user typed.
//!
//! clap's own messages quote the offending argument, and a misplaced argument is often a token
//! (`tokenring verify TOKEN1 TOKEN2`). So the message is rebuilt here from the parts that are the
//! program's own: the names of its flags, the error's kind, and the reasons its value parsers
//! give. A stray argument is quoted only when it looks like a mistyped flag or is a negative
//! number, which no token is.

use std::error::Error as _;
use std::fmt::Write as _;
use std::io::Write as _;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::exit::{SUCCESS, USAGE};

/// Longest stray argument quoted back, in bytes. A token is longer.
const QUOTED_ARGUMENT_LEN_MAX: usize = 32;

/// Reports a command-line error as `tokenring: error: ...` on standard error (or prints help or
/// the version on standard output) and returns the exit code.
pub(crate) fn report(error: &clap::Error) -> u8 {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            return SUCCESS;
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

/// Writes `tokenring: error: MESSAGE`, the usage if given, and a pointer to `--help` on standard
/// error, and returns [`USAGE`]. `message` must hold nothing the user typed.
fn print_error(message: &str, usage: Option<&str>) -> u8 {
    let mut text = format!("tokenring: error: {message}");
    if let Some(usage) = usage {
        let _ = write!(text, "\n\n{usage}");
    }
    text.push_str("\n\nfor more information, try '--help'");
    let _ = writeln!(std::io::stderr().lock(), "{text}");
    USAGE
}

/// One line about the error, from the program's own names and reasons only.
fn describe(error: &clap::Error) -> String {
    let our_argument = || match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(name)) => name.clone(),
        Some(ContextValue::Strings(names)) => names.join(", "),
        _ => "an argument".to_owned(),
    };
    let suggestion = |kind: ContextKind| match error.get(kind) {
        Some(ContextValue::String(name)) => format!("; did you mean '{name}'?"),
        Some(ContextValue::Strings(names)) if !names.is_empty() => format!("; did you mean '{}'?", names.join("', '")),
        _ => String::new(),
    };
    match error.kind() {
        ErrorKind::ValueValidation => match error.source() {
            Some(reason) => format!("invalid value for '{}': {reason}", our_argument()),
            None => format!("invalid value for '{}'", our_argument()),
        },
        ErrorKind::InvalidValue => format!("invalid value for '{}'", our_argument()),
        // Here the "argument" is the user's text, not one of ours.
        ErrorKind::UnknownArgument => {
            format!("unexpected argument {}{}", quote_stray(error), suggestion(ContextKind::SuggestedArg))
        }
        ErrorKind::InvalidSubcommand => {
            format!("unrecognized command {}{}", quote_stray(error), suggestion(ContextKind::SuggestedSubcommand))
        }
        ErrorKind::MissingRequiredArgument => format!("missing required argument: {}", our_argument()),
        ErrorKind::MissingSubcommand => "a command is required".to_owned(),
        ErrorKind::ArgumentConflict => match error.get(ContextKind::PriorArg) {
            // clap reports a flag given twice as a conflict with itself.
            Some(ContextValue::String(prior)) if *prior == our_argument() => {
                format!("'{prior}' was given more than once")
            }
            Some(ContextValue::String(prior)) => format!("'{}' cannot be used with '{prior}'", our_argument()),
            Some(ContextValue::Strings(prior)) => {
                format!("'{}' cannot be used with '{}'", our_argument(), prior.join("', '"))
            }
            _ => format!("'{}' cannot be used with the other arguments given", our_argument()),
        },
        // A flag without a placeholder (`--jws`) takes no value: `--jws=true` lands here.
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues if !our_argument().contains('<') => {
            format!("'{}' takes no value", our_argument())
        }
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => {
            format!("wrong number of values for '{}'", our_argument())
        }
        ErrorKind::InvalidUtf8 => "an argument is not valid UTF-8".to_owned(),
        other => other.as_str().unwrap_or("invalid command line").to_owned(),
    }
}

/// The stray argument in quotes if it looks like a mistyped flag (`--levay`) or is a negative
/// number (`--now -5`, which clap reads as an unknown short flag); else a note that it is not
/// shown: it might be a token.
fn quote_stray(error: &clap::Error) -> String {
    let stray = match error.get(ContextKind::InvalidArg).or_else(|| error.get(ContextKind::InvalidSubcommand)) {
        Some(ContextValue::String(stray)) => stray.as_str(),
        _ => "",
    };
    let short = stray.len() <= QUOTED_ARGUMENT_LEN_MAX;
    let name = stray.trim_start_matches('-');
    let looks_like_a_flag = short
        && name.starts_with(|character: char| character.is_ascii_lowercase())
        && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    let negative_number = short
        && stray
            .strip_prefix('-')
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()));
    if looks_like_a_flag {
        format!("'{stray}'")
    } else if negative_number {
        format!("'{stray}' (times and durations cannot be negative)")
    } else {
        "(not shown: it may be a token)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use clap::{Arg, ArgAction, Command};

    use super::*;

    fn command() -> Command {
        Command::new("t")
            .arg(Arg::new("keys").long("keys").value_name("FILE"))
            .arg(Arg::new("now").long("now").value_name("UNIX_SECS").value_parser(clap::value_parser!(u64)))
            .arg(Arg::new("jws").long("jws").action(ArgAction::SetTrue))
            .arg(Arg::new("token").value_name("TOKEN"))
    }

    fn message(args: &[&str]) -> String {
        let error = command().try_get_matches_from(std::iter::once("t").chain(args.iter().copied())).unwrap_err();
        describe(&error)
    }

    const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIzIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    #[test]
    fn stray_arguments_are_quoted_only_when_they_cannot_be_a_token() {
        assert_eq!(message(&["x", TOKEN]), "unexpected argument (not shown: it may be a token)");
        assert_eq!(message(&["--levay"]), "unexpected argument '--levay'");
        assert_eq!(message(&["--now", "-5"]), "unexpected argument '-5' (times and durations cannot be negative)");
        let long_flag = format!("--{}", "a".repeat(QUOTED_ARGUMENT_LEN_MAX));
        assert_eq!(message(&[&long_flag]), "unexpected argument (not shown: it may be a token)");
    }

    #[test]
    fn our_own_names_describe_the_rest() {
        assert_eq!(message(&["--keys", "a", "--keys", "b"]), "'--keys <FILE>' was given more than once");
        assert_eq!(message(&["--jws=true"]), "'--jws' takes no value");
        assert!(message(&["--now", TOKEN]).starts_with("invalid value for '--now <UNIX_SECS>': "));
        assert!(!message(&["--now", TOKEN]).contains(TOKEN));
    }
}
