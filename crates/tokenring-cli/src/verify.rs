//! `verify --keys FILE [--now UNIX_SECS] [--leeway SECS] [--iss S] [--aud S] [--jws] TOKEN|-`.

use serde::de::IgnoredAny;
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
        let verified = ring.verify_jws(&token, &mut scratch, now).map_err(rejected)?;
        return output::stdout(verified.claims());
    }

    let mut validation = Validation::new().leeway_secs(args.leeway).require_exp(!args.no_exp);
    if let Some(issuer) = &args.iss {
        validation = validation.issuer(issuer.as_str());
    }
    if let Some(audience) = &args.aud {
        validation = validation.audience(audience.as_str());
    }
    // The claims are checked, then printed as signed: read into a `serde_json::Value`, an
    // integer beyond 64 bits would print rounded (`1.2345678901234568e+29`).
    ring.verify::<IgnoredAny>(&token, &validation, now).map_err(rejected)?;
    let mut scratch = Scratch::new();
    let verified = ring.verify_jws(&token, &mut scratch, now).map_err(rejected)?;
    let mut line = one_line(verified.claims());
    line.push(b'\n');
    output::stdout(&line)
}

/// Verified claims on one line: the JSON text as signed, without its line breaks and tabs.
/// Verified claims are JSON, whose strings cannot hold those characters raw, so they are only
/// ever whitespace between tokens; nothing else can break the line.
fn one_line(json: &[u8]) -> Vec<u8> {
    json.iter().copied().filter(|byte| !matches!(byte, b'\n' | b'\r' | b'\t')).collect()
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn claims_print_on_one_line_as_signed() {
        assert_eq!(
            one_line(b"{\"a\" :\t[1, 2],\r\n \"b\":\"x y\\\" \\\\\"}"),
            b"{\"a\" :[1, 2], \"b\":\"x y\\\" \\\\\"}"
        );
        assert_eq!(one_line(b"{\"n\":123456789012345678901234567890}"), b"{\"n\":123456789012345678901234567890}");
    }
}
