//! The command line: what each command and flag means, and which module carries it out.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tokenring::limits::{LEEWAY_SECS_DEFAULT, LEEWAY_SECS_MAX};
use tokenring::{duration, Clock, SystemClock};

use crate::exit::Failure;
use crate::{inspect, keys, sign, verify};

/// Lifetime of a signed token unless `--ttl` says otherwise.
const TTL_DEFAULT: &str = "1h";
const TTL_DEFAULT_SECS: u64 = 60 * 60;
/// How long the previous key keeps verifying after `keys rotate` unless `--overlap` says
/// otherwise. A day is longer than the default token lifetime, so rotating never rejects a
/// token signed with the defaults before it expires.
const OVERLAP_DEFAULT: &str = "1d";
const OVERLAP_DEFAULT_SECS: u64 = 24 * 60 * 60;

/// How long a rotated-in key is published before it signs unless `--propagation` says
/// otherwise: the library's default, long enough for a Kubernetes Secret volume.
const PROPAGATION_DEFAULT: &str = "5m";
/// How long a retired key's material is kept unless `--forget-after` says otherwise: the
/// library's default.
const FORGET_AFTER_DEFAULT: &str = "30d";

const _: () = assert!(OVERLAP_DEFAULT_SECS >= TTL_DEFAULT_SECS);
const _: () = assert!(OVERLAP_DEFAULT_SECS == tokenring::limits::OVERLAP_SECS_DEFAULT);
const _: () = assert!(LEEWAY_SECS_DEFAULT <= LEEWAY_SECS_MAX);

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the token was rejected (verify), or the input is not a token (inspect)
  2  usage error, unusable key file, or I/O error

Durations (DUR) are whole numbers with units, largest first: 90s, 15m, 1h30m, 7d (units ms, s,
m, h, d; whole seconds; at most 3660 days).
Times (UNIX_SECS) are seconds since 1970-01-01T00:00:00Z; without --now the system clock is used.

A key set in etcd is named etcd://HOST:PORT/KEY, or etcds://HOST:PORT/KEY over TLS, wherever a key
file is taken. Never put credentials in the URL; the environment gives them:
  TOKENRING_ETCD_CA_FILE         PEM file of the authority that signed etcd's certificate (etcds://)
  TOKENRING_ETCD_CERT_FILE       PEM client certificate, with TOKENRING_ETCD_KEY_FILE, its key
  TOKENRING_ETCD_USER            user name, with TOKENRING_ETCD_PASSWORD or
                                 TOKENRING_ETCD_PASSWORD_FILE (a file whose first line is it)";

/// The exit codes and time format of `verify`, for its `--help`.
const VERIFY_EXIT_CODES: &str = "\
Exit codes:
  0  the token verified; its claims (or with --jws its payload) are printed
  1  the token was rejected; the reason's code, its severity and the token's fingerprint are printed
  2  usage error, unusable key file, or I/O error

Times (UNIX_SECS) are seconds since 1970-01-01T00:00:00Z; without --now the system clock is used.";

/// Create and rotate HS256 key files; sign, verify and inspect tokens.
#[derive(Debug, Parser)]
#[command(name = "tokenring", version, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, rotate, revoke and list the keys in a JWK Set file
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign claims with the active key and print the compact token
    Sign(SignArgs),
    /// Verify a token and print its claims (with --jws: its payload)
    #[command(after_help = VERIFY_EXIT_CODES)]
    Verify(VerifyArgs),
    /// Decode a token WITHOUT verifying it: header, claims, times in UTC
    #[command(after_help = inspect::EXIT_CODES)]
    Inspect(InspectArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Write a JWK Set with one fresh key (mode 0600); refuses to overwrite without --force
    New(NewArgs),
    /// Publish a fresh key that signs after the propagation time; earlier keys verify until the overlap after that ends
    Rotate(RotateArgs),
    /// Revoke a key: every token under it is rejected as revoked-key from now on
    Revoke(RevokeArgs),
    /// Show each key's kid, state and times; never the secrets
    List(ListArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The key file to create, or etcd(s)://HOST:PORT/KEY
    pub(crate) file: PathBuf,
    /// Replace the file if it exists (its keys are lost: every token they signed stops verifying)
    #[arg(long)]
    pub(crate) force: bool,
    /// Creation time to record, instead of the system clock
    #[arg(long, value_name = "UNIX_SECS")]
    pub(crate) now: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The key file to rotate (changed under a lock, rewritten atomically), or etcd(s)://HOST:PORT/KEY
    /// (compare-and-swap on the key's revision)
    pub(crate) file: PathBuf,
    /// How long the new key is published before it signs; at least the slowest node's reload delay
    #[arg(long, value_name = "DUR", default_value = PROPAGATION_DEFAULT, value_parser = duration::parse_secs)]
    pub(crate) propagation: u64,
    /// How long earlier keys keep verifying after the new key activates; at least the tokens' lifetime plus leeway
    #[arg(long, value_name = "DUR", default_value = OVERLAP_DEFAULT, value_parser = duration::parse_secs)]
    pub(crate) overlap: u64,
    /// How long a retired key's material is kept to classify its stale tokens
    #[arg(long, value_name = "DUR", default_value = FORGET_AFTER_DEFAULT, value_parser = duration::parse_secs)]
    pub(crate) forget_after: u64,
    /// Rotate only if the newest key is at least this old (for schedulers: at most one new key per period)
    #[arg(long, value_name = "DUR", value_parser = duration::parse_secs)]
    pub(crate) if_older_than: Option<u64>,
    /// Time of the rotation, instead of the system clock
    #[arg(long, value_name = "UNIX_SECS")]
    pub(crate) now: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    /// The key file (changed under a lock, rewritten atomically), or etcd(s)://HOST:PORT/KEY
    pub(crate) file: PathBuf,
    /// The identifier of the key to revoke (one that starts with `-` is taken as it is)
    #[arg(allow_hyphen_values = true)]
    pub(crate) kid: String,
    /// Revoke it even when no other key could sign afterwards (every login then fails until a
    /// rotation)
    #[arg(long)]
    pub(crate) force: bool,
    /// Time of the revocation, instead of the system clock
    #[arg(long, value_name = "UNIX_SECS")]
    pub(crate) now: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// The key file to list, or etcd(s)://HOST:PORT/KEY
    pub(crate) file: PathBuf,
    /// Time at which to judge each key's state, instead of the system clock
    #[arg(long, value_name = "UNIX_SECS")]
    pub(crate) now: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// Key file (JWK Set or single JWK) whose active key signs, or etcd(s)://HOST:PORT/KEY
    #[arg(long, value_name = "FILE")]
    pub(crate) keys: PathBuf,
    /// Token lifetime: exp is set this long after iat
    #[arg(long, value_name = "DUR", default_value = TTL_DEFAULT, value_parser = duration::parse_secs)]
    pub(crate) ttl: u64,
    /// Claims as a JSON object; iat, nbf and exp are added and must not be given
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub(crate) claims: String,
    /// Issue time (iat, nbf), instead of the system clock
    #[arg(long, value_name = "UNIX_SECS")]
    pub(crate) now: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Key file (JWK Set or single JWK) holding the keys that may have signed the token, or
    /// etcd(s)://HOST:PORT/KEY
    #[arg(long, value_name = "FILE")]
    pub(crate) keys: PathBuf,
    /// Time to verify at, instead of the system clock
    #[arg(long, value_name = "UNIX_SECS")]
    pub(crate) now: Option<u64>,
    /// Allowance for clock skew on exp and nbf, in seconds
    #[arg(long, value_name = "SECS", default_value_t = LEEWAY_SECS_DEFAULT, value_parser = parse_leeway_secs,
          conflicts_with = "jws")]
    pub(crate) leeway: u64,
    /// Require the iss claim to be exactly this
    #[arg(long, value_name = "S", conflicts_with = "jws")]
    pub(crate) iss: Option<String>,
    /// Require the aud claim to be, or to list, this. Without --aud a token that carries aud
    /// is rejected (wrong-audience): it was meant for another service
    #[arg(long, value_name = "S", conflicts_with = "jws")]
    pub(crate) aud: Option<String>,
    /// Accept a token without an exp claim
    #[arg(long, conflicts_with = "jws")]
    pub(crate) no_exp: bool,
    /// Verify the signature only and print the payload bytes as they are; no claims checks
    #[arg(long)]
    pub(crate) jws: bool,
    /// The token, or - to read it from standard input (keeps it out of the process list).
    /// Put -- before a token that starts with -
    #[arg(value_name = "TOKEN|-")]
    pub(crate) token: OsString,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The token, or - to read it from standard input
    #[arg(value_name = "TOKEN|-")]
    pub(crate) token: OsString,
}

/// Parses `--leeway`: whole seconds, at most [`LEEWAY_SECS_MAX`].
fn parse_leeway_secs(text: &str) -> Result<u64, String> {
    let refused = || format!("leeway must be whole seconds from 0 to {LEEWAY_SECS_MAX}");
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(refused());
    }
    match text.parse::<u64>() {
        Ok(secs) if secs <= LEEWAY_SECS_MAX => Ok(secs),
        _ => Err(refused()),
    }
}

/// The time a command runs at: `--now` if given, else the system clock.
pub(crate) fn now_secs(now: Option<u64>) -> u64 {
    now.unwrap_or_else(|| SystemClock.now_secs())
}

/// Carries out the command.
pub(crate) fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Keys(KeysCommand::New(args)) => keys::new(&args),
        Command::Keys(KeysCommand::Rotate(args)) => keys::rotate(&args),
        Command::Keys(KeysCommand::Revoke(args)) => keys::revoke(&args),
        Command::Keys(KeysCommand::List(args)) => keys::list(&args),
        Command::Sign(args) => sign::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Inspect(args) => inspect::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn default_durations_mean_what_their_constants_say() {
        assert_eq!(duration::parse_secs(TTL_DEFAULT), Ok(TTL_DEFAULT_SECS));
        assert_eq!(duration::parse_secs(OVERLAP_DEFAULT), Ok(OVERLAP_DEFAULT_SECS));
    }

    #[test]
    fn the_help_quotes_the_duration_limit() {
        let days = tokenring::limits::DURATION_SECS_MAX / 86_400;
        assert!(EXIT_CODES.contains(&format!("at most {days} days")), "{EXIT_CODES}");
    }

    /// A generated kid is base64url, so one in 64 starts with `-`: `keys revoke` must take it
    /// as the kid, wherever the flags stand.
    #[test]
    fn a_kid_that_starts_with_a_hyphen_is_the_kid() {
        for args in [
            &["tokenring", "keys", "revoke", "keys.json", "-Ab_9", "--force"][..],
            &["tokenring", "keys", "revoke", "--force", "keys.json", "-Ab_9"],
            &["tokenring", "keys", "revoke", "keys.json", "--now", "5", "-Ab_9"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap_or_else(|error| panic!("{args:?}: {error}"));
            let Command::Keys(KeysCommand::Revoke(revoke)) = cli.command else { panic!("{args:?}") };
            assert_eq!(revoke.kid, "-Ab_9", "{args:?}");
            assert_eq!(revoke.force, args.contains(&"--force"), "{args:?}");
        }
    }

    #[test]
    fn leeway_is_bounded() {
        assert_eq!(parse_leeway_secs("0"), Ok(0));
        assert_eq!(parse_leeway_secs(&LEEWAY_SECS_MAX.to_string()), Ok(LEEWAY_SECS_MAX));
        assert!(parse_leeway_secs(&(LEEWAY_SECS_MAX + 1).to_string()).is_err());
        for text in ["", "-1", "+1", "1s", "1.0", " 1", "99999999999999999999999"] {
            assert!(parse_leeway_secs(text).is_err(), "{text:?}");
        }
    }
}
