//! Finding the bearer token in a request's headers, without allocating and in bounded work.

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::HeaderMap;
use tokenring::Malformed;

/// Most `Cookie` headers looked at; HTTP/1.1 clients send one, HTTP/2 clients may split it.
pub(crate) const COOKIE_HEADERS_MAX: usize = 16;

/// Where a request's credentials stand.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credential<'h> {
    /// No bearer `Authorization` header and no token cookie: RFC 6750 §3.1 says to answer
    /// without an error code.
    Missing,
    /// The token bytes, as sent (not necessarily UTF-8: the verifier rejects what is not a token).
    Token(&'h [u8]),
    /// Credentials that cannot be told apart or are empty: rejected as `malformed`.
    Ambiguous(Malformed),
}

/// The bearer token of a request: from its one `Authorization` header when that uses the
/// `Bearer` scheme (in any case, RFC 7235 §2.1), else from the cookie named `cookie`.
pub(crate) fn credential<'h>(headers: &'h HeaderMap, cookie: Option<&str>) -> Credential<'h> {
    let mut authorizations = headers.get_all(AUTHORIZATION).iter();
    if let Some(first) = authorizations.next() {
        if authorizations.next().is_some() {
            return Credential::Ambiguous(Malformed::RepeatedCredentials);
        }
        if let Some(found) = bearer(first.as_bytes()) {
            return found;
        }
    }
    match cookie {
        Some(name) => from_cookies(headers, name.as_bytes()),
        None => Credential::Missing,
    }
}

/// The token of an `Authorization` value with the `Bearer` scheme; `None` for another scheme.
fn bearer(value: &[u8]) -> Option<Credential<'_>> {
    const SCHEME: &[u8] = b"bearer";
    let scheme_len = value.iter().position(|&byte| byte == b' ').unwrap_or(value.len());
    if !value[..scheme_len].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let token = trim(&value[scheme_len..]);
    if token.is_empty() {
        return Some(Credential::Ambiguous(Malformed::EmptyCredentials));
    }
    Some(Credential::Token(token))
}

/// The value of the cookie `name`, if exactly one is sent.
fn from_cookies<'h>(headers: &'h HeaderMap, name: &[u8]) -> Credential<'h> {
    let mut found = None;
    for header in headers.get_all(COOKIE).iter().take(COOKIE_HEADERS_MAX) {
        for pair in header.as_bytes().split(|&byte| byte == b';') {
            let pair = trim(pair);
            let Some(equals) = pair.iter().position(|&byte| byte == b'=') else { continue };
            if &pair[..equals] != name {
                continue;
            }
            if found.is_some() {
                return Credential::Ambiguous(Malformed::RepeatedCredentials);
            }
            let value = &pair[equals + 1..];
            // RFC 6265 §4.1.1 allows the value in double quotes.
            let value = match value {
                [b'"', inner @ .., b'"'] => inner,
                _ => value,
            };
            found = Some(value);
        }
    }
    match found {
        Some([]) => Credential::Ambiguous(Malformed::EmptyCredentials),
        Some(value) => Credential::Token(value),
        None => Credential::Missing,
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&byte| byte != b' ' && byte != b'\t').unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&byte| byte != b' ' && byte != b'\t').map_or(start, |last| last + 1);
    &bytes[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let name = axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            map.append(name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn bearer_scheme_in_any_case() {
        for value in [&b"Bearer a.b.c"[..], b"bearer a.b.c", b"BEARER   a.b.c  ", b"bEaReR a.b.c"] {
            let map = headers(&[("authorization", value)]);
            assert_eq!(credential(&map, None), Credential::Token(b"a.b.c"), "{value:?}");
        }
        // RFC 7235 separates the scheme from its credentials by spaces only.
        assert_eq!(credential(&headers(&[("authorization", b"Bearer\ta.b.c")]), None), Credential::Missing);
    }

    #[test]
    fn other_schemes_and_no_header_are_missing() {
        assert_eq!(credential(&HeaderMap::new(), None), Credential::Missing);
        assert_eq!(credential(&headers(&[("authorization", b"Basic dTpw")]), None), Credential::Missing);
        assert_eq!(credential(&headers(&[("authorization", b"Bearerx a.b.c")]), None), Credential::Missing);
        assert_eq!(credential(&headers(&[("authorization", b"")]), None), Credential::Missing);
    }

    #[test]
    fn empty_or_doubled_credentials_are_ambiguous() {
        assert!(matches!(credential(&headers(&[("authorization", b"Bearer")]), None), Credential::Ambiguous(_)));
        assert!(matches!(credential(&headers(&[("authorization", b"Bearer   ")]), None), Credential::Ambiguous(_)));
        let two = headers(&[("authorization", b"Bearer a.b.c"), ("authorization", b"Bearer a.b.c")]);
        assert!(matches!(credential(&two, None), Credential::Ambiguous(_)));
    }

    #[test]
    fn non_utf8_bytes_are_passed_to_the_verifier() {
        let map = headers(&[("authorization", b"Bearer \xff\xfe.x.y")]);
        assert_eq!(credential(&map, None), Credential::Token(b"\xff\xfe.x.y"));
    }

    #[test]
    fn cookies() {
        let map = headers(&[("cookie", b"a=1; session=t.o.k; b=2")]);
        assert_eq!(credential(&map, Some("session")), Credential::Token(b"t.o.k"));
        assert_eq!(credential(&map, None), Credential::Missing, "cookies are read only when named");
        assert_eq!(credential(&map, Some("other")), Credential::Missing);
        let quoted = headers(&[("cookie", b"session=\"t.o.k\"")]);
        assert_eq!(credential(&quoted, Some("session")), Credential::Token(b"t.o.k"));
        let twice = headers(&[("cookie", b"session=a"), ("cookie", b"session=b")]);
        assert!(matches!(credential(&twice, Some("session")), Credential::Ambiguous(_)));
        let empty = headers(&[("cookie", b"session=")]);
        assert!(matches!(credential(&empty, Some("session")), Credential::Ambiguous(_)));
        let both = headers(&[("authorization", b"Bearer h.e.ad"), ("cookie", b"session=c.o.ok")]);
        assert_eq!(credential(&both, Some("session")), Credential::Token(b"h.e.ad"), "the header wins");
        let basic = headers(&[("authorization", b"Basic dTpw"), ("cookie", b"session=c.o.ok")]);
        assert_eq!(credential(&basic, Some("session")), Credential::Token(b"c.o.ok"));
    }
}
