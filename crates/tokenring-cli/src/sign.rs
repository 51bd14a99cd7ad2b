//! `sign --keys FILE [--ttl DUR] [--claims JSON]`.

use serde_json::value::RawValue;

use crate::cli::{self, SignArgs};
use crate::exit::Failure;
use crate::keys;
use crate::output;

/// Signs the claims with the active key and prints the token and a newline.
pub(crate) fn run(args: &SignArgs) -> Result<(), Failure> {
    if args.ttl == 0 {
        return Err(Failure::Usage("--ttl must be at least 1s: the token would be expired when issued".into()));
    }
    // The claims pass through as written, so that the library checks exactly the text the user
    // gave (a duplicate member is refused, not silently merged).
    let claims: Box<RawValue> = serde_json::from_str(&args.claims).map_err(|error| {
        Failure::Usage(format!("--claims is not valid JSON (line {}, column {})", error.line(), error.column()))
    })?;
    if !claims.get().starts_with('{') {
        return Err(Failure::Usage("--claims must be a JSON object, like '{\"sub\":\"3\"}'".into()));
    }
    let ring = keys::load(&args.keys)?;
    let mut token = ring.issue(&claims, args.ttl, cli::now_secs(args.now))?;
    token.push('\n');
    output::stdout(token.as_bytes())
}
