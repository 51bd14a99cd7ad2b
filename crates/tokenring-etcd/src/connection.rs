//! What the store and the watch share about a connection: the address and options built from
//! [`Credentials`], and the words for a failed request, told apart into "cannot reach etcd"
//! (`StoreError::Unavailable`: waiting may help) and "etcd refused this client"
//! (`StoreError::Refused`: the settings must change).

use etcd_client::{Client, ConnectOptions};
use tokenring::{StoreError, StoreName, StoreOp};

use crate::settings::Credentials;
use crate::{CONNECT_TIMEOUT, REQUEST_TIMEOUT};

/// Why a request failed when etcd cannot be reached, however the connection was lost.
pub(crate) const UNREACHABLE: &str = "cannot reach etcd";

/// `etcd://HOST:PORT/KEY`, or `etcds://...` over TLS.
pub(crate) fn name(endpoint: &str, key: &str, tls: bool) -> StoreName {
    StoreName::new(format!("{}://{endpoint}{key}", if tls { "etcds" } else { "etcd" }))
}

/// The address `etcd-client` connects to: `https://HOST:PORT` over TLS, `http://` otherwise.
fn address(endpoint: &str, credentials: &Credentials) -> String {
    format!("{}://{endpoint}", if credentials.is_tls() { "https" } else { "http" })
}

/// The client's options for `credentials`, its connection bounded by [`CONNECT_TIMEOUT`].
fn options(credentials: &Credentials, use_: Use) -> ConnectOptions {
    let mut options = ConnectOptions::new().with_connect_timeout(CONNECT_TIMEOUT);
    if use_ == Use::Requests {
        options = options.with_timeout(REQUEST_TIMEOUT);
    }
    if let Some((user, password)) = &credentials.user {
        options = options.with_user(user.clone(), password.as_str());
    }
    #[cfg(feature = "tls")]
    if let Some(tls) = &credentials.tls {
        use etcd_client::{Certificate, Identity, TlsOptions};
        let mut config = TlsOptions::new().ca_certificate(Certificate::from_pem(&tls.ca));
        if let Some((certificate, key)) = &tls.identity {
            config = config.identity(Identity::from_pem(certificate, key.as_slice()));
        }
        options = options.with_tls(config);
    }
    options
}

/// What a client is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// The store's requests: each bounded by [`REQUEST_TIMEOUT`].
    Requests,
    /// A watch: a stream that lasts, never cut by a timeout.
    Watch,
}

/// Connects a client to etcd at `endpoint` with `credentials`, bounded by [`CONNECT_TIMEOUT`]
/// (authenticating, when they hold a user, is part of it).
pub(crate) async fn connect_client(endpoint: &str, credentials: &Credentials, use_: Use) -> Result<Client, Failure> {
    let connect = || Client::connect([address(endpoint, credentials)], Some(options(credentials, use_)));
    let attempt = async {
        let failed = match connect().await {
            Ok(client) => return Ok(client),
            Err(error) => failure(&error, credentials),
        };
        Err(settle(failed, credentials, connect()).await)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, attempt).await.unwrap_or(Err(Failure::Unavailable("timed out")))
}

/// Why a request failed, in words that hold nothing the server or the request said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// etcd could not be reached, or did not answer in time.
    Unavailable(&'static str),
    /// etcd answered and refused this client.
    Refused(&'static str),
    /// A TLS connection was closed after its handshake: etcd refused the client certificate
    /// (TLS 1.3 tells the client so only after the handshake, and the alert is often lost to
    /// the closed connection), or etcd went away. [`settle`] tells which.
    Dropped,
}

/// What [`Failure::Dropped`] is when it happens twice in a row: a new connection closed again
/// right after its handshake.
const CLIENT_CERTIFICATE_REFUSED: &str =
    "etcd refused the client certificate (none was given, or etcd does not trust its authority)";

impl Failure {
    /// The store's error for this failure.
    pub(crate) fn into_error(self, store: StoreName, op: StoreOp) -> StoreError {
        match self {
            Self::Unavailable(reason) => StoreError::Unavailable { store, op, reason },
            Self::Refused(reason) => StoreError::Refused { store, op, reason },
            Self::Dropped => StoreError::Unavailable { store, op, reason: UNREACHABLE },
        }
    }
}

/// Tells a [`Failure::Dropped`] apart by `probe`, a request without effect on a new
/// connection (a read, or connecting again): closed after its handshake again, etcd refuses
/// the client certificate; refused, etcd is away; answered, the first connection was lost in
/// passing. Any other failure is returned as it is. The caller's bound on the request covers
/// the probe too.
pub(crate) async fn settle<T>(
    failure: Failure,
    credentials: &Credentials,
    probe: impl core::future::Future<Output = Result<T, etcd_client::Error>>,
) -> Failure {
    if failure != Failure::Dropped {
        return failure;
    }
    match probe.await {
        Err(error) => match self::failure(&error, credentials) {
            Failure::Dropped => Failure::Refused(CLIENT_CERTIFICATE_REFUSED),
            other => other,
        },
        Ok(_) => Failure::Unavailable(UNREACHABLE),
    }
}

/// The failure `error` is, for a client with these `credentials`.
///
/// Every way a lost connection shows (refused, reset, a stream canceled or broken mid-request)
/// gets the same words, [`UNREACHABLE`]: an outage is then one failure, which a reloader reports
/// once, not one per way the client happened to notice it. A TLS handshake that failed, and
/// authentication that etcd refused, are told apart: they are settings to fix, not an outage.
pub(crate) fn failure(error: &etcd_client::Error, credentials: &Credentials) -> Failure {
    use etcd_client::Error as E;
    if let Some(refused) = tls_failure(error) {
        return refused;
    }
    match error {
        E::GRpcStatus(status) => match status.code() as i32 {
            grpc_code::UNAUTHENTICATED => Failure::Refused("etcd refused the credentials"),
            grpc_code::PERMISSION_DENIED => Failure::Refused("etcd denied this user access to the key"),
            // etcd answers an authentication it refuses, and a request without a user where
            // authentication is on, with INVALID_ARGUMENT. The store's own requests are small
            // (a key set is at most `KEY_SET_LEN_MAX`, far below etcd's request limit), so
            // nothing else of theirs draws it.
            grpc_code::INVALID_ARGUMENT if credentials.user.is_some() => {
                Failure::Refused("etcd refused the user name or password")
            }
            grpc_code::INVALID_ARGUMENT => {
                Failure::Refused("etcd requires authentication, and no user name and password were given")
            }
            grpc_code::DEADLINE_EXCEEDED => Failure::Unavailable("timed out"),
            // Closed after the handshake (a failed connection attempt is UNAVAILABLE).
            grpc_code::CANCELLED | grpc_code::UNKNOWN if credentials.is_tls() => Failure::Dropped,
            grpc_code::UNAVAILABLE | grpc_code::CANCELLED | grpc_code::UNKNOWN => Failure::Unavailable(UNREACHABLE),
            _ => Failure::Unavailable("etcd refused the request"),
        },
        E::TransportError(_) | E::IoError(_) => Failure::Unavailable(UNREACHABLE),
        E::InvalidUri(_) | E::InvalidArgs(_) | E::EndpointError(_) => {
            Failure::Unavailable("the endpoint is not a valid HOST:PORT")
        }
        _ => Failure::Unavailable("the etcd request failed"),
    }
}

/// The TLS handshake's failure among `error`'s causes, if it is one.
#[cfg(feature = "tls")]
fn tls_failure(error: &etcd_client::Error) -> Option<Failure> {
    use std::error::Error as _;
    use std::io;

    use rustls::{AlertDescription as Alert, CertificateError as Certificate, Error as Tls};
    let connecting =
        matches!(error, etcd_client::Error::GRpcStatus(status) if status.code() as i32 == grpc_code::UNAVAILABLE);
    let mut cause: Option<&(dyn std::error::Error + 'static)> = match error {
        etcd_client::Error::GRpcStatus(status) => status.source(),
        etcd_client::Error::TransportError(error) => Some(error),
        etcd_client::Error::IoError(error) => Some(error),
        _ => None,
    };
    while let Some(error) = cause {
        // rustls reports through the connection's `io::Error`, or directly when the client's
        // configuration is built.
        let tls = error
            .downcast_ref::<Tls>()
            .or_else(|| error.downcast_ref::<io::Error>().and_then(|io| io.get_ref()?.downcast_ref::<Tls>()));
        if let Some(tls) = tls {
            return Some(Failure::Refused(match tls {
                Tls::InvalidCertificate(Certificate::UnknownIssuer | Certificate::BadSignature) => {
                    "etcd's certificate is not signed by an authority in the CA certificate file"
                }
                Tls::InvalidCertificate(Certificate::NotValidForName | Certificate::NotValidForNameContext { .. }) => {
                    "etcd's certificate is not for the host name or address in the URL"
                }
                Tls::InvalidCertificate(
                    Certificate::Expired
                    | Certificate::ExpiredContext { .. }
                    | Certificate::NotValidYet
                    | Certificate::NotValidYetContext { .. },
                ) => "etcd's certificate has expired or is not valid yet",
                Tls::InvalidCertificate(_) => "etcd's certificate was refused",
                Tls::AlertReceived(
                    Alert::BadCertificate
                    | Alert::CertificateRequired
                    | Alert::UnknownCA
                    | Alert::CertificateUnknown
                    | Alert::UnsupportedCertificate
                    | Alert::CertificateExpired
                    | Alert::CertificateRevoked
                    | Alert::AccessDenied,
                ) => CLIENT_CERTIFICATE_REFUSED,
                Tls::InconsistentKeys(_) => "the client certificate and the client key do not belong together",
                _ => "the TLS handshake with etcd failed",
            }));
        }
        // A connection closed or reset in the middle of the handshake (while connecting: a
        // later failure has another status): most often etcd serves plain text on that port.
        // Reported as unavailable: a server stopping mid-handshake looks the same.
        let closed =
            |io: &io::Error| matches!(io.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset);
        if connecting && error.downcast_ref::<io::Error>().is_some_and(closed) {
            return Some(Failure::Unavailable("cannot reach etcd over TLS: the connection closed during the handshake (does etcd serve TLS on that port?)"));
        }
        cause = error.source();
    }
    None
}

/// Without TLS built in, no failure is a handshake's.
#[cfg(not(feature = "tls"))]
fn tls_failure(_error: &etcd_client::Error) -> Option<Failure> {
    None
}

/// The gRPC status codes told apart (numbered by the gRPC protocol; `etcd-client` does not
/// re-export tonic's `Code`).
mod grpc_code {
    pub(crate) const CANCELLED: i32 = 1;
    pub(crate) const UNKNOWN: i32 = 2;
    pub(crate) const INVALID_ARGUMENT: i32 = 3;
    pub(crate) const DEADLINE_EXCEEDED: i32 = 4;
    pub(crate) const PERMISSION_DENIED: i32 = 7;
    pub(crate) const UNAVAILABLE: i32 = 14;
    pub(crate) const UNAUTHENTICATED: i32 = 16;
}
