//! [`Auth`]: what the extractor, the layer and the reloader share.

use core::fmt;
use std::sync::Arc;

use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokenring::{Clock, Loaded, Rejection, SharedRing, SignError, SystemClock, Validation};

use crate::credential::{credential, Credential};
use crate::extract::{AuthRejection, Authenticated};
use crate::observe;

/// Longest cookie name [`Auth::cookie`] accepts, in bytes.
pub const COOKIE_NAME_LEN_MAX: usize = 64;

/// The authentication settings of a service: the shared key ring, how claims are validated,
/// the clock, and the cookie a token may also arrive in.
///
/// Cheap to clone (one reference count). Put it in the application's state and implement
/// `FromRef` (or derive it with `axum::extract::FromRef`), so that [`Authenticated`] finds it.
///
/// ```
/// use tokenring::{KeyRing, SharedRing, Validation};
/// use tokenring_axum::Auth;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let ring = SharedRing::new(KeyRing::generate(1_700_000_000)?);
/// let auth = Auth::new(ring).validation(Validation::new().issuer("my-service")).cookie("session")?;
/// # let _ = auth; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    ring: SharedRing,
    validation: Validation,
    cookie: Option<String>,
    clock: Arc<dyn Clock + Send + Sync>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("generation", &self.inner.ring.generation())
            .field("validation", &self.inner.validation)
            .field("cookie", &self.inner.cookie)
            .finish_non_exhaustive()
    }
}

/// A setting [`Auth`] cannot use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The cookie name is empty, longer than [`COOKIE_NAME_LEN_MAX`], or holds a character an
    /// RFC 6265 cookie name may not.
    CookieName,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CookieName => f.write_str("the cookie name is not a valid RFC 6265 cookie name"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Whether `name` is an RFC 6265 cookie name (an RFC 7230 token) of bounded length.
fn valid_cookie_name(name: &str) -> bool {
    const SEPARATORS: &[u8] = b"()<>@,;:\\\"/[]?={}";
    !name.is_empty()
        && name.len() <= COOKIE_NAME_LEN_MAX
        && name.bytes().all(|byte| byte.is_ascii_graphic() && !SEPARATORS.contains(&byte))
}

/// A [`SharedRing`] and whether its key file was created just now: what [`Auth::new`] takes.
///
/// Made from a `SharedRing` ([`SharedRing::open`], [`SharedRing::new`]) or from exactly what
/// [`SharedRing::open_or_create`] returns, so that a key file created at start (a first start,
/// or a typo in the path) is never silent: [`Auth::new`] logs it at `warn`.
#[derive(Debug)]
pub struct Opened {
    ring: SharedRing,
    created: bool,
}

impl From<SharedRing> for Opened {
    fn from(ring: SharedRing) -> Self {
        Self { ring, created: false }
    }
}

impl From<(SharedRing, Loaded)> for Opened {
    fn from((ring, loaded): (SharedRing, Loaded)) -> Self {
        Self { ring, created: loaded == Loaded::Created }
    }
}

impl Auth {
    /// Settings that verify with the shared ring under [`Validation::new`], read time from
    /// [`SystemClock`], and take tokens from the `Authorization` header only.
    ///
    /// Given what [`SharedRing::open_or_create`] returned for a file it created, it logs a
    /// `warn` event naming the file (target `tokenring_axum::observe`): tokens signed before
    /// are unknown to the new keys, so every user must log in again. Expected once, at a
    /// service's very first start; anywhere else it is a wrong path or a lost volume.
    pub fn new(ring: impl Into<Opened>) -> Self {
        let Opened { ring, created } = ring.into();
        if created {
            observe::created(&ring);
        }
        let inner = Inner { ring, validation: Validation::new(), cookie: None, clock: Arc::new(SystemClock) };
        Self { inner: Arc::new(inner) }
    }

    fn with(mut self, change: impl FnOnce(&mut Inner)) -> Self {
        change(Arc::make_mut(&mut self.inner));
        self
    }

    /// Validates claims with `validation` (issuer, audience, leeway).
    #[must_use]
    pub fn validation(self, validation: Validation) -> Self {
        self.with(|inner| inner.validation = validation)
    }

    /// Also takes the token from the cookie `name` when the request has no bearer
    /// `Authorization` header.
    ///
    /// # Errors
    /// [`ConfigError::CookieName`] for a name that is not an RFC 6265 cookie name of at most
    /// [`COOKIE_NAME_LEN_MAX`] bytes.
    pub fn cookie(self, name: &str) -> Result<Self, ConfigError> {
        if !valid_cookie_name(name) {
            return Err(ConfigError::CookieName);
        }
        let name = name.to_owned();
        Ok(self.with(|inner| inner.cookie = Some(name)))
    }

    /// Reads the time from `clock` instead of the system clock (for tests).
    #[must_use]
    pub fn clock(self, clock: impl Clock + Send + Sync + 'static) -> Self {
        self.with(|inner| inner.clock = Arc::new(clock))
    }

    /// The shared key ring.
    pub fn ring(&self) -> &SharedRing {
        &self.inner.ring
    }

    /// The current time by this `Auth`'s clock, in seconds since the epoch.
    pub fn now_secs(&self) -> u64 {
        self.inner.clock.now_secs()
    }

    /// Issues a token for `claims` with the ring's current signing key: `iat` and `nbf` now,
    /// `exp` `ttl_secs` from now. What a login handler calls once it has checked the user.
    ///
    /// # Errors
    /// Those of [`KeyRing::issue`](tokenring::KeyRing::issue): [`SignError::NoActiveKey`] when
    /// the ring has no key that signs now, [`SignError::Claims`] for claims that are not a JSON
    /// object, [`SignError::DuplicateClaim`], [`SignError::InvalidClaim`] and
    /// [`SignError::Malformed`] for claims a verifier would refuse, [`SignError::DurationTooLong`],
    /// [`SignError::TimeOverflow`], [`SignError::TooLarge`].
    pub fn issue<T: Serialize + ?Sized>(&self, claims: &T, ttl_secs: u64) -> Result<String, SignError> {
        self.inner.ring.ring().issue(claims, ttl_secs, self.now_secs())
    }

    /// Authenticates a request by its headers: the work of the extractor and the layer. Records
    /// the outcome in the metrics and, for a rejection, emits the `tracing` event; `route` is the
    /// matched route template the event names.
    ///
    /// # Errors
    /// [`AuthRejection::Missing`] when there are no bearer credentials,
    /// [`AuthRejection::Invalid`] with the reason otherwise.
    pub fn authenticate<C: DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        route: &str,
    ) -> Result<Authenticated<C>, AuthRejection> {
        let token = match credential(headers, self.inner.cookie.as_deref()) {
            Credential::Token(token) => token,
            Credential::Missing => {
                observe::missing(route);
                return Err(AuthRejection::Missing);
            }
            Credential::Ambiguous(detail) => {
                let rejection = Rejection::Malformed(detail);
                observe::rejected(&rejection, None, route);
                return Err(AuthRejection::Invalid(rejection));
            }
        };
        let ring = self.inner.ring.ring();
        let now_secs = self.now_secs();
        match ring.verify::<C>(token, &self.inner.validation, now_secs) {
            Ok(verified) => {
                observe::verified();
                Ok(Authenticated::new(verified))
            }
            Err(rejection) => {
                observe::rejected(&rejection, Some((token, &ring)), route);
                Err(AuthRejection::Invalid(rejection))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_names_follow_rfc_6265() {
        assert!(valid_cookie_name("session"));
        assert!(valid_cookie_name("__Host-token"));
        assert!(!valid_cookie_name(""));
        assert!(!valid_cookie_name("a b"));
        assert!(!valid_cookie_name("a=b"));
        assert!(!valid_cookie_name("a;b"));
        assert!(!valid_cookie_name("é"));
        assert!(valid_cookie_name(&"x".repeat(COOKIE_NAME_LEN_MAX)));
        assert!(!valid_cookie_name(&"x".repeat(COOKIE_NAME_LEN_MAX + 1)));
    }
}
