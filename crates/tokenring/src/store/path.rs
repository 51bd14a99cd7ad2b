//! Paths as the library prints them: as given, unless they look like a token.
//!
//! Users paste tokens where a path belongs (`tokenring verify --keys "$TOKEN" ...`, arguments
//! in the wrong order), and the store derives its lock and temporary files' names from the key
//! file's (`.<name>.lock`, `.<name>.tmp.<n>`), so a token can reach an error message inside a
//! path. [`RedactedPath`] is how every path is printed, and [`RedactedPathBuf`] how an error
//! holds one.

use core::fmt;
use std::path::{Component, Path, PathBuf};

use crate::limits::SIGNATURE_B64_LEN;

/// What a path that looks like a token prints as.
const NOT_SHOWN: &str = "<path not shown: it looks like a token>";

/// The start of almost every JOSE header segment: `{"` in base64url.
const HEADER_START: &[u8] = b"eyJ";

/// Whether a byte can be part of a compact JWS: base64url characters and the dots between
/// segments.
fn in_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.')
}

/// Whether `run` (base64url characters and dots only) holds three consecutive dot-separated
/// segments `header.payload.signature` where the header starts with `eyJ` (`{"`, how nearly
/// every JOSE header starts) or the signature is at least [`SIGNATURE_B64_LEN`] characters
/// (the shortest signature that verifies). The payload may be empty (detached content).
fn holds_a_token(run: &[u8]) -> bool {
    let segments: Vec<&[u8]> = run.split(|&byte| byte == b'.').collect();
    segments.windows(3).any(|three| {
        let (header, signature) = (three[0], three[2]);
        !header.is_empty() && (header.starts_with(HEADER_START) || signature.len() >= SIGNATURE_B64_LEN)
    })
}

/// Whether a component of `path` holds a token-shaped run: a stretch of base64url characters
/// and dots, delimited by anything else (a space after `Bearer`, quotes, `=`, a comma, a line
/// end) or by the component's ends, that [`holds_a_token`]. That covers a token on its own, a
/// token with anything around it, and the lock and temporary files' names the store derives
/// from one (`.<token>.lock`, `.<token>.tmp.3`). An ordinary file name with dots and dashes
/// (`production-signing-keys.2026-11-29-backup.json`) has neither a segment starting `eyJ`
/// followed by two more nor a third segment of 43 characters. The one definition of "looks like
/// a token" for paths.
pub(crate) fn looks_like_a_token(path: &Path) -> bool {
    path.components().any(|component| {
        let Component::Normal(name) = component else { return false };
        name.as_encoded_bytes().split(|&byte| !in_token(byte)).any(holds_a_token)
    })
}

/// A path to print in a message or log: shown as given (like [`Path::display`]), unless one of
/// its components holds something shaped like a token, in which case a fixed text is printed
/// instead of all of it.
///
/// A component holds a token when, among its stretches of base64url characters and dots
/// (whatever surrounds them: `Bearer `, quotes, `token=`, a trailing comma or line end), one
/// has three dot-separated segments in a row whose first starts with `eyJ` (the encoding of
/// `{"`, how a JOSE header starts) or whose third is at least 43 characters long (the shortest
/// signature that verifies). That covers a compact JWS however it was pasted, and the lock and
/// temporary files' names the store derives from one (`.<token>.lock`, `.<token>.tmp.3`), but
/// not an ordinary name with dots and dashes (`keys.2026-11-29-backup.json`).
/// [`StoreError`](crate::StoreError) prints its paths this way; so should anything that prints
/// a path a user typed, and a program should refuse such a path as a key file's name
/// ([`hides_path`](Self::hides_path)).
///
/// ```
/// use std::path::Path;
/// use tokenring::RedactedPath;
///
/// let path = Path::new("/var/lib/myapp/keys.json");
/// assert_eq!(RedactedPath::new(path).to_string(), "/var/lib/myapp/keys.json");
///
/// // A token where a key file's path belongs (`--keys "$TOKEN"`), and the lock file beside it.
/// let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.0ZfVB8yJWDOMBbNnMyXdeI1cNqFMwDvVfNjqpjIh1qk";
/// for path in [token.to_owned(), format!("/srv/.{token}.lock")] {
///     let shown = RedactedPath::new(Path::new(&path));
///     assert!(shown.hides_path());
///     assert_eq!(shown.to_string(), "<path not shown: it looks like a token>");
///     assert!(!format!("{shown:?}").contains("0ZfVB8yJ"));
/// }
/// ```
#[derive(Clone, Copy)]
pub struct RedactedPath<'a> {
    path: &'a Path,
}

impl<'a> RedactedPath<'a> {
    /// The path `path`, to print.
    pub fn new(path: &'a Path) -> Self {
        Self { path }
    }

    /// Whether the path looks like a token, so that it prints as a fixed text.
    pub fn hides_path(&self) -> bool {
        looks_like_a_token(self.path)
    }
}

impl fmt::Display for RedactedPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hides_path() {
            f.write_str(NOT_SHOWN)
        } else {
            self.path.display().fmt(f)
        }
    }
}

/// As the path's own `Debug` (quoted), or the fixed text.
impl fmt::Debug for RedactedPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hides_path() {
            f.write_str(NOT_SHOWN)
        } else {
            fmt::Debug::fmt(self.path, f)
        }
    }
}

/// An owned path that prints as [`RedactedPath`] does, with `Display` and `Debug` alike: how
/// [`StoreError`](crate::StoreError) holds the paths it names, so that printing an error, or
/// any value holding one, never shows a token pasted where a path belongs.
///
/// It reads as the [`Path`] it holds ([`Deref`](core::ops::Deref)), for a program that wants
/// to act on the file; printing that `Path` itself ([`Path::display`]) is then the program's
/// choice.
///
/// ```
/// use std::path::Path;
/// use tokenring::RedactedPathBuf;
///
/// let path = RedactedPathBuf::from(Path::new("/var/lib/myapp/keys.json"));
/// assert_eq!(format!("{path} {path:?}"), r#"/var/lib/myapp/keys.json "/var/lib/myapp/keys.json""#);
/// assert!(path.ends_with("keys.json"));
///
/// let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.0ZfVB8yJWDOMBbNnMyXdeI1cNqFMwDvVfNjqpjIh1qk";
/// let pasted = RedactedPathBuf::from(Path::new(token));
/// assert_eq!(format!("{pasted:?}"), "<path not shown: it looks like a token>");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RedactedPathBuf {
    path: PathBuf,
}

impl RedactedPathBuf {
    /// The path as printed: [`RedactedPath`].
    pub fn redacted(&self) -> RedactedPath<'_> {
        RedactedPath::new(&self.path)
    }

    /// The path itself.
    pub fn into_path_buf(self) -> PathBuf {
        self.path
    }
}

impl From<PathBuf> for RedactedPathBuf {
    fn from(path: PathBuf) -> Self {
        Self { path }
    }
}

impl From<&Path> for RedactedPathBuf {
    fn from(path: &Path) -> Self {
        Self { path: path.to_owned() }
    }
}

impl core::ops::Deref for RedactedPathBuf {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for RedactedPathBuf {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl PartialEq<Path> for RedactedPathBuf {
    fn eq(&self, other: &Path) -> bool {
        self.path == other
    }
}

impl PartialEq<&Path> for RedactedPathBuf {
    fn eq(&self, other: &&Path) -> bool {
        self.path == *other
    }
}

impl PartialEq<PathBuf> for RedactedPathBuf {
    fn eq(&self, other: &PathBuf) -> bool {
        self.path == *other
    }
}

impl fmt::Display for RedactedPathBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.redacted(), f)
    }
}

impl fmt::Debug for RedactedPathBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.redacted(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact JWS as pasted: header, payload, a 43-character signature.
    const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.0ZfVB8yJWDOMBbNnMyXdeI1cNqFMwDvVfNjqpjIh1qk";

    #[test]
    fn a_token_with_anything_around_it_in_a_component_is_hidden() {
        for wrapped in [
            format!("Bearer {TOKEN}"),
            format!("{TOKEN}\n"),
            format!(" {TOKEN}"),
            format!("token={TOKEN}"),
            format!("{TOKEN},"),
            format!("'{TOKEN}'"),
            format!("\"{TOKEN}\""),
            format!("Authorization: Bearer {TOKEN}\r\n"),
            format!("/srv/app/.Bearer {TOKEN}.lock"),
            format!("/srv/app/.{TOKEN},.tmp.123"),
            // Detached content: an empty payload segment.
            TOKEN.replace(".eyJzdWIiOiJhZGEifQ.", ".."),
            // A header that does not start with `{"`: the signature's length gives it away.
            format!("x={}", TOKEN.replace("eyJhbGciOiJIUzI1NiJ9", "e30")),
        ] {
            assert!(looks_like_a_token(Path::new(&wrapped)), "{wrapped:?}");
            let shown = RedactedPath::new(Path::new(&wrapped));
            assert_eq!(shown.to_string(), NOT_SHOWN);
            assert!(!format!("{shown:?}").contains("0ZfVB8yJ"));
        }
    }

    #[test]
    fn the_rule_at_its_boundaries() {
        let c = |n: usize| "c".repeat(n);
        for (name, expected) in [
            (format!("a.b.{}", c(43)), true),
            (format!("a.b.{}", c(42)), false),
            (format!("a..{}", c(43)), true),
            (format!(".b.{}", c(43)), false),
            (format!("a.b.{}.lock", c(43)), true),
            ("eyJ.b.c".to_owned(), true),
            ("eyJ..c".to_owned(), true),
            ("eyJ.b".to_owned(), false),
            ("x.eyJ.b.c".to_owned(), true),
            ("xeyJ.b.c".to_owned(), false),
            ("eyJ b.c.d".to_owned(), false),
            (format!("a.b {}.c.{}", c(3), c(43)), true),
            (String::new(), false),
        ] {
            assert_eq!(looks_like_a_token(Path::new(&name)), expected, "{name:?}");
        }
    }

    #[test]
    fn ordinary_names_with_dots_and_dashes_are_shown() {
        for name in [
            "production-signing-keys.2026-11-29-backup.json",
            "/var/lib/my-service-with-a-rather-long-name/keys.production.2026-11-29.json",
            "/etc/app/keys.json.tmp.1234567890123",
            "a-very-long-file-name-without-any-dots-at-all-that-goes-on-and-on.json",
            "release-2026.11.29-final-approved-by-the-security-team.json",
            "Bearer keys.json",
        ] {
            assert!(!looks_like_a_token(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn display_and_debug_show_an_ordinary_path_as_given() {
        let path = Path::new("/srv/app/keys.json");
        assert_eq!(RedactedPath::new(path).to_string(), "/srv/app/keys.json");
        assert_eq!(format!("{:?}", RedactedPath::new(path)), r#""/srv/app/keys.json""#);
        assert!(!RedactedPath::new(path).hides_path());
    }
}
