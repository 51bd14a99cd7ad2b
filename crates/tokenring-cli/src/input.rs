//! Where a token comes from: a command-line argument, or standard input for `-`.
//!
//! Reading from standard input keeps the token out of the process list and shell history.
//! Input is read only up to a little over [`TOKEN_LEN_MAX`]: enough for the library to see that
//! an oversized token is too large (and say `too-large`), never an unbounded amount.

use std::ffi::OsStr;
use std::io::{self, Read};

use tokenring::limits::TOKEN_LEN_MAX;

use crate::exit::Failure;

/// Bytes read from standard input at most: the longest token, a CR LF line ending, and one more
/// byte so that a longer input still exceeds the limit after the line ending is trimmed.
const STDIN_LEN_MAX: usize = TOKEN_LEN_MAX + 3;

// Even if the bytes read end in CR LF, what is left of an input cut at the bound is longer than
// any token, so the library still reports it as too large.
const _: () = assert!(STDIN_LEN_MAX - 2 > TOKEN_LEN_MAX);

/// The token named by a `TOKEN|-` argument.
///
/// # Errors
/// [`Failure::Io`] when standard input cannot be read;
/// [`Failure::Usage`] for a token pasted with something around it (see [`paste_mistake`]).
pub(crate) fn read_token(argument: &OsStr) -> Result<Vec<u8>, Failure> {
    let token = if argument == "-" { read_stdin()? } else { argument_bytes(argument) };
    match paste_mistake(&token) {
        Some(advice) => Err(Failure::Usage(format!(
            "the token was pasted with something around it (not shown): {advice}; nothing was verified"
        ))),
        None => Ok(token),
    }
}

/// What to remove from a token copied with its surroundings: a request's `Authorization`
/// header, its `Bearer ` scheme, quotes, or whitespace (a line break from `echo`, a space). A
/// token is base64url and dots only, so none of these can be part of one.
fn paste_mistake(token: &[u8]) -> Option<&'static str> {
    let starts_with = |prefix: &[u8]| token.get(..prefix.len()).is_some_and(|start| start.eq_ignore_ascii_case(prefix));
    if starts_with(b"authorization:") {
        Some("remove the `Authorization: Bearer ` header name and scheme")
    } else if starts_with(b"bearer ") {
        Some("remove the `Bearer ` scheme")
    } else if token.first().is_some_and(u8::is_ascii_whitespace) || token.last().is_some_and(u8::is_ascii_whitespace) {
        Some("remove the whitespace (a line break, a space or a tab) around the token")
    } else if [token.first(), token.last()].iter().any(|byte| matches!(byte, Some(b'"' | b'\''))) {
        Some("remove the quotes around the token")
    } else {
        None
    }
}

fn read_stdin() -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::with_capacity(STDIN_LEN_MAX);
    io::stdin()
        .lock()
        .take(STDIN_LEN_MAX as u64)
        .read_to_end(&mut bytes)
        .map_err(|error| Failure::Io { doing: "read standard input", kind: error.kind() })?;
    trim_line_ending(&mut bytes);
    Ok(bytes)
}

/// Removes one trailing `\n` or `\r\n`, as `echo` and most editors add. Other whitespace is
/// part of the input: a token with a space in it is not silently repaired.
fn trim_line_ending(bytes: &mut Vec<u8>) {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
}

#[cfg(unix)]
fn argument_bytes(argument: &OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    argument.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn argument_bytes(argument: &OsStr) -> Vec<u8> {
    // A token is ASCII; anything that is not valid Unicode here is rejected by the library
    // whichever replacement characters stand in for it.
    argument.to_string_lossy().into_owned().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_one_line_ending_only() {
        let trimmed = |input: &[u8]| {
            let mut bytes = input.to_vec();
            trim_line_ending(&mut bytes);
            bytes
        };
        assert_eq!(trimmed(b"a.b.c\n"), b"a.b.c");
        assert_eq!(trimmed(b"a.b.c\r\n"), b"a.b.c");
        assert_eq!(trimmed(b"a.b.c\n\n"), b"a.b.c\n");
        assert_eq!(trimmed(b"a.b.c \n"), b"a.b.c ");
        assert_eq!(trimmed(b"a.b.c\r"), b"a.b.c\r");
        assert_eq!(trimmed(b""), b"");
    }
}
