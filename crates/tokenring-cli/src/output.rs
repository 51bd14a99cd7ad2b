//! Writing to standard output and standard error.
//!
//! `println!` panics when the reader has gone away (a closed pipe); these helpers turn that into
//! an ordinary error instead.

use std::io::{self, Write};

use crate::exit::Failure;

/// Writes `bytes` to standard output exactly as given.
pub(crate) fn stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|error| Failure::Io { doing: "write to standard output", kind: error.kind() })
}

/// Writes `line` and a newline to standard error. A failure to do so cannot be reported anywhere,
/// so it is ignored; the exit code still tells what happened.
pub(crate) fn stderr(line: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
