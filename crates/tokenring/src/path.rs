//! Paths as the library prints them: as given, unless they look like a token.
//!
//! Users paste tokens where a path belongs (`tokenring verify --keys "$TOKEN" ...`, arguments
//! in the wrong order), and the store derives its lock and temporary files' names from the key
//! file's (`.<name>.lock`, `.<name>.tmp.<n>`), so a token can reach an error message inside a
//! path. [`RedactedPath`] is how every path is printed.

use core::fmt;
use std::path::{Component, Path};

/// A path component longer than this (without a leading `.`), of base64url characters and at
/// least two dots, is taken for a token. The shortest compact JWS that can verify is longer:
/// its signature segment alone is 43 characters.
const TOKEN_LIKE_COMPONENT_LEN_MIN: usize = 40;

/// What a path that looks like a token prints as.
const NOT_SHOWN: &str = "<path not shown: it looks like a token>";

/// Whether a component of `path` looks like a compact JWS, on its own or inside a name derived
/// from it (`.<token>.lock`, `.<token>.tmp.3`): without one leading `.`, it is longer than
/// [`TOKEN_LIKE_COMPONENT_LEN_MIN`] bytes, holds only base64url characters (`A-Z a-z 0-9 - _`)
/// and dots, and at least two dots. The one definition of "looks like a token" for paths.
pub(crate) fn looks_like_a_token(path: &Path) -> bool {
    path.components().any(|component| {
        let Component::Normal(name) = component else { return false };
        let bytes = name.as_encoded_bytes();
        let bytes = bytes.strip_prefix(b".").unwrap_or(bytes);
        bytes.len() > TOKEN_LIKE_COMPONENT_LEN_MIN
            && bytes.iter().filter(|&&byte| byte == b'.').count() >= 2
            && bytes.iter().all(|&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
    })
}

/// A path to print in a message or log: shown as given (like [`Path::display`]), unless one of
/// its components looks like a token, in which case a fixed text is printed instead of all of
/// it.
///
/// A component looks like a token when, without one leading `.`, it is longer than 40 bytes,
/// holds only base64url characters and dots, and has at least two dots: a compact JWS, and the
/// lock and temporary files' names the store derives from one (`.<token>.lock`,
/// `.<token>.tmp.3`). [`StoreError`](crate::StoreError) prints its paths this way; so should
/// anything that prints a path a user typed.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_looks_like_a_token_exactly_as_documented() {
        let forty_one = "a".repeat(39) + "..";
        assert_eq!(forty_one.len(), 41);
        for (path, expected) in [
            (forty_one.clone(), true),
            (forty_one[1..].to_owned(), false),
            (format!(".{}", &forty_one[1..]), false),
            (format!(".{forty_one}"), true),
            (format!("/srv/app/.{forty_one}.lock"), true),
            (format!("/srv/app/.{forty_one}.tmp.3"), true),
            (format!("{forty_one}/keys.json"), true),
            (format!("{}.b", "a".repeat(40)), false),
            (format!("{}+.b.c", "a".repeat(40)), false),
            (format!("{} .b.c", "a".repeat(40)), false),
            (format!("{}=.b.c", "a".repeat(40)), false),
            (format!("a-b_c.{}.d", "Z9".repeat(20)), true),
            ("/var/lib/myapp/keys.json".to_owned(), false),
            ("/var/lib/myapp/.keys.json.lock".to_owned(), false),
            ("/var/lib/myapp/.keys.json.tmp.3".to_owned(), false),
            (String::new(), false),
        ] {
            assert_eq!(looks_like_a_token(Path::new(&path)), expected, "{path:?}");
        }
        // Two leading dots: only one is ignored, and the second counts as one of the dots.
        assert!(!looks_like_a_token(Path::new(&format!("..{}", "a".repeat(40)))));
        assert!(looks_like_a_token(Path::new(&format!("..{}.b", "a".repeat(40)))));
    }

    #[test]
    fn display_and_debug_show_an_ordinary_path_as_given() {
        let path = Path::new("/srv/app/keys.json");
        assert_eq!(RedactedPath::new(path).to_string(), "/srv/app/keys.json");
        assert_eq!(format!("{:?}", RedactedPath::new(path)), r#""/srv/app/keys.json""#);
        assert!(!RedactedPath::new(path).hides_path());
    }
}
