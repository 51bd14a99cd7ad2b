//! `verify --keys FILE [--now UNIX_SECS] [--leeway SECS] [--iss S] [--aud S] [--jws] TOKEN|-`.

use tokenring::{Fingerprint, Rejection, Scratch, Validation};

use crate::cli::{self, VerifyArgs};
use crate::exit::Failure;
use crate::input;
use crate::keys;
use crate::output;

/// Verifies the token. On success prints the claims as one line of JSON or, with `--jws`, the
/// payload bytes exactly as signed (no newline is added: the payload may be binary).
pub(crate) fn run(args: &VerifyArgs) -> Result<(), Failure> {
    let ring = keys::load(&args.keys)?;
    let token = input::read_token(&args.token)?;
    let now = cli::now_secs(args.now);
    let rejected = |rejection: Rejection| Failure::Rejected { rejection, fingerprint: Fingerprint::of(&token) };

    if args.jws {
        let mut scratch = Scratch::new();
        let verified = ring.verify_jws(&token, now, &mut scratch).map_err(rejected)?;
        return output::stdout(verified.payload());
    }

    let mut validation = Validation::new().leeway_secs(args.leeway).require_exp(!args.no_exp);
    if let Some(issuer) = &args.iss {
        validation = validation.issuer(issuer.as_str());
    }
    if let Some(audience) = &args.aud {
        validation = validation.audience(audience.as_str());
    }
    let verified = ring.verify::<serde_json::Value>(&token, &validation, now).map_err(rejected)?;
    output::stdout(format!("{}\n", verified.claims()).as_bytes())
}
