//! Command-line errors, reported without repeating what the user typed.
//!
//! clap's own messages quote the offending argument, and a misplaced argument is often a token
//! (`verify TOKEN1 TOKEN2`). So the message is rebuilt here from the parts that are ours: the
//! names of our flags, the error's kind, and the reason our value parsers give. A stray argument
//! is quoted only when it looks like a mistyped flag.

use std::error::Error as _;
use std::fmt::Write as _;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::exit;
use crate::output;

/// Longest stray argument quoted back, in bytes.
const QUOTED_ARGUMENT_LEN_MAX: usize = 32;

/// Reports a command-line error (or prints help or the version) and returns the exit code.
pub(crate) fn report(error: &clap::Error) -> u8 {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            return exit::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            return exit::USAGE;
        }
        _ => {}
    }
    let mut message = format!("tokenring: error: {}", describe(error));
    if let Some(ContextValue::StyledStr(usage)) = error.get(ContextKind::Usage) {
        let _ = write!(message, "\n\n{usage}");
    }
    message.push_str("\n\nfor more information, try '--help'");
    output::stderr(&message);
    exit::USAGE
}

/// One line about the error, from our own names and reasons only.
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
            format!("unexpected argument {}{}", quote_if_flag(error), suggestion(ContextKind::SuggestedArg))
        }
        ErrorKind::InvalidSubcommand => {
            format!("unrecognized command {}{}", quote_if_flag(error), suggestion(ContextKind::SuggestedSubcommand))
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

/// The stray argument in quotes if it looks like a mistyped flag (`--levay`), else a note that
/// it is not shown: it might be a token.
fn quote_if_flag(error: &clap::Error) -> String {
    let stray = match error.get(ContextKind::InvalidArg).or_else(|| error.get(ContextKind::InvalidSubcommand)) {
        Some(ContextValue::String(stray)) => stray.as_str(),
        _ => "",
    };
    let name = stray.trim_start_matches('-');
    let looks_like_a_flag = stray.len() <= QUOTED_ARGUMENT_LEN_MAX
        && name.starts_with(|character: char| character.is_ascii_lowercase())
        && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    // A negative number (`--now -5`) reads to clap as an unknown short flag.
    let negative_number = stray.len() <= QUOTED_ARGUMENT_LEN_MAX
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
