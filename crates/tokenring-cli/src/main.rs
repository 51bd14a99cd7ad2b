//! `tokenring`: create and rotate HS256 key files, sign, verify and inspect tokens.
//!
//! Exit codes (see [`exit`]): 0 success, 1 a token was rejected (or `inspect` was given
//! something that is not a token), 2 a usage, key-file or I/O error. Nothing this program
//! prints contains a key, a signature or, outside the `sign` output, a token.

#![forbid(unsafe_code)]

mod cli;
mod exit;
mod input;
mod inspect;
mod keys;
mod output;
mod sign;
mod usage;
mod utc;
mod verify;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let code = match cli::Cli::try_parse() {
        Ok(cli) => cli::run(cli).map_or_else(|failure| failure.report(), |()| exit::SUCCESS),
        Err(error) => usage::report(&error),
    };
    ExitCode::from(code)
}
