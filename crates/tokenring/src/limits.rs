//! Every bound the library enforces, in one place.
//!
//! Each limit is checked before the work it protects is done: the token length before the token
//! is split, the header length before it is decoded, the number of keys before a key set is
//! parsed further. Exceeding a limit on verification input is the `too-large` rejection.

/// Longest compact token accepted, in bytes. Checked before anything else.
pub const TOKEN_LEN_MAX: usize = 8 * 1024;

/// Longest decoded JOSE header accepted, in bytes.
pub const HEADER_LEN_MAX: usize = 1024;

/// Longest decoded payload a token can carry. Follows from [`TOKEN_LEN_MAX`]: base64url encodes
/// three bytes in four characters.
pub const PAYLOAD_LEN_MAX: usize = TOKEN_LEN_MAX / 4 * 3;

/// Longest key identifier (`kid`), in bytes, in a header or a key set.
pub const KID_LEN_MAX: usize = 64;

/// Most members a JOSE header may have.
pub const HEADER_MEMBERS_MAX: usize = 16;

/// Most members the claims object may have.
pub const CLAIMS_MEMBERS_MAX: usize = 64;

/// Most entries an `aud` array may have.
pub const AUDIENCES_MAX: usize = 16;

/// Deepest nesting of JSON arrays and objects in a header or claims set.
pub const JSON_DEPTH_MAX: usize = 16;

/// Shortest HS256 key, in bytes: 256 bits (RFC 7518 §3.2).
pub const KEY_LEN_MIN: usize = 32;

/// Longest HS256 key accepted, in bytes.
pub const KEY_LEN_MAX: usize = 512;

/// Length of the keys this library generates, in bytes.
pub const KEY_LEN_GENERATED: usize = 32;

/// Most keys (active plus verification-only) a ring holds.
pub const KEYS_PER_RING_MAX: usize = 16;

/// Most key identifiers a ring remembers having issued. The oldest are forgotten first.
pub const ISSUED_KIDS_MAX: usize = 256;

/// Largest JWK Set document accepted, in bytes.
pub const KEY_SET_LEN_MAX: usize = 256 * 1024;

/// Most names a [`FileStore`](crate::FileStore) tries for its temporary file when earlier ones
/// are taken (by a concurrent save, or left by a save that crashed).
pub const TEMP_NAMES_MAX: usize = 16;

/// Default allowance for clock skew when checking `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS_DEFAULT: u64 = 30;

/// Largest clock-skew allowance a [`Validation`](crate::Validation) accepts, in seconds.
pub const LEEWAY_SECS_MAX: u64 = 600;

/// Largest time-to-live and rotation overlap accepted, in seconds (ten years).
pub const DURATION_SECS_MAX: u64 = 10 * 366 * 24 * 60 * 60;

/// Length of a log-safe token fingerprint, in bytes of SHA-256 output (printed as hex).
pub const FINGERPRINT_LEN: usize = 6;

/// Random bytes in a generated key identifier (printed as base64url, 22 characters).
pub(crate) const KID_RANDOM_LEN: usize = 16;

/// Length of an HS256 signature, in bytes.
pub(crate) const SIGNATURE_LEN: usize = 32;

/// Length of an encoded HS256 signature, in base64url characters.
pub(crate) const SIGNATURE_B64_LEN: usize = 43;

const _: () = assert!(KEY_LEN_MIN * 8 >= 256);
const _: () = assert!(KEY_LEN_GENERATED >= KEY_LEN_MIN && KEY_LEN_GENERATED <= KEY_LEN_MAX);
const _: () = assert!(HEADER_LEN_MAX < TOKEN_LEN_MAX);
const _: () = assert!(KID_LEN_MAX < HEADER_LEN_MAX / 2);
const _: () = assert!(KEYS_PER_RING_MAX <= ISSUED_KIDS_MAX);
const _: () = assert!(KID_RANDOM_LEN * 4 / 3 < KID_LEN_MAX);
const _: () = assert!(SIGNATURE_B64_LEN == (SIGNATURE_LEN * 4).div_ceil(3));
const _: () = assert!(LEEWAY_SECS_DEFAULT <= LEEWAY_SECS_MAX);
const _: () = assert!(KID_LEN_MAX <= u8::MAX as usize);
