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

/// Most keys a ring holds, in every state but forgotten.
///
/// Sized for the defaults with margin: rotating daily with a one-day overlap and
/// [`FORGET_AFTER_SECS_DEFAULT`] holds about 34 keys (one pending, one active, one retiring, 31
/// retired), leaving room for revoked keys and a burst of manual rotations. Every key costs a
/// comparison of its header on the verification path, so the bound is not much higher.
pub const KEYS_PER_RING_MAX: usize = 64;

/// Most keys a token whose header names no `kid` is tried against, each costing one MAC over the
/// whole token: of the keys that can still verify a live token (pending, active, retiring), the
/// active key first, then the newest. Peers such as PyJWT sign without `kid` unless told to, so
/// such tokens must keep verifying; a ring normally holds one active, one pending and one
/// retiring key, and the rest leaves room for a burst of rotations. Retired, revoked and
/// forgotten keys are never tried: a kid-less token under one of them is `bad-signature`.
pub const KIDLESS_KEYS_TRIED_MAX: usize = 8;

/// Most key identifiers a ring remembers having issued. The oldest are forgotten first.
pub const ISSUED_KIDS_MAX: usize = 256;

/// Largest JWK Set document accepted, in bytes.
pub const KEY_SET_LEN_MAX: usize = 256 * 1024;

/// Most names a [`FileStore`](crate::FileStore) tries for its temporary file. Each name ends in
/// a random number, so a name found taken was planted there (or is a chance that does not come
/// twice): the write draws another, and after this many reports what is in the way.
pub const TEMP_NAMES_MAX: usize = 16;

/// Most leftover temporary files (of writes that crashed) a [`FileStore`](crate::FileStore)
/// write removes, under the key file's lock, before it writes its own. A crash leaves at most
/// one; versions that wrote without the lock could leave [`TEMP_NAMES_MAX`] per process id, and
/// one write removes them all.
pub const LEFTOVERS_REMOVED_MAX: usize = 64;

/// Most entries of a directory the default storage (`std::fs`) examines when a store looks in
/// it for leftover temporary files; a key file's directory holds a handful. A leftover among
/// further entries blocks nothing: a write that meets it under one of its temporary names
/// removes it (see [`TEMP_NAMES_MAX`]).
pub const DIRECTORY_ENTRIES_MAX: usize = 4096;

/// Most symbolic links a [`FileStore`](crate::FileStore) follows from the key file's path to the
/// file it reads or writes, as many as Linux follows in one path: more is taken for a loop
/// ([`StoreError::SymlinkLoop`](crate::StoreError::SymlinkLoop)).
pub const SYMLINK_HOPS_MAX: usize = 40;

/// Default time a rotated-in key is published before it signs, in seconds (five minutes).
///
/// A Kubernetes Secret volume reaches a pod within the kubelet's sync period (one minute by
/// default) plus its cache's delay; five minutes leaves room for a node that polls the file every
/// minute or two. Raise it if any node reloads more slowly.
pub const PROPAGATION_SECS_DEFAULT: u64 = 5 * 60;

/// Default time the previous key keeps verifying after the new one activates, in seconds (one
/// day). It must be at least the longest token lifetime plus the verifier's leeway.
pub const OVERLAP_SECS_DEFAULT: u64 = 24 * 60 * 60;

/// Default time a retired key's material is kept after it retires, in seconds (30 days).
///
/// While the material is held, a stale token under the key is MAC-checked and reported
/// `retired-key` (routine); afterwards a token naming the key can only be `forgotten-key`
/// (suspicious), since its signature can no longer be checked. Thirty days covers a client that
/// comes back after a month away.
pub const FORGET_AFTER_SECS_DEFAULT: u64 = 30 * 24 * 60 * 60;

/// How many times [`FileStore::update`](crate::FileStore::update) tries to take the key file's
/// lock before it gives up with [`StoreError::Locked`](crate::StoreError::Locked).
pub const LOCK_ATTEMPTS_MAX: u32 = 200;

/// Pause between two attempts to take the key file's lock, in milliseconds: with
/// [`LOCK_ATTEMPTS_MAX`], a writer waits at most ten seconds for another.
pub const LOCK_RETRY_MILLIS: u64 = 50;

/// Most attempts of an optimistic update ([`RingStore::update_document`](crate::RingStore)'s
/// default: load, change, compare-and-swap) before it gives up with
/// [`StoreError::Conflict`](crate::StoreError::Conflict). Each failed attempt is another
/// writer's successful one, so `n` writers updating at once all succeed within `n` attempts;
/// this leaves room for a fleet rotating together, with no wait between attempts.
pub const SWAP_ATTEMPTS_MAX: u32 = 32;

/// Default allowance for clock skew when checking `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS_DEFAULT: u64 = 30;

/// Largest clock-skew allowance a [`Validation`](crate::Validation) accepts, in seconds.
pub const LEEWAY_SECS_MAX: u64 = 600;

/// Largest time-to-live and rotation overlap accepted, in seconds (ten years), and the longest
/// duration [`duration::parse`](crate::duration::parse) reads.
pub const DURATION_SECS_MAX: u64 = 10 * 366 * 24 * 60 * 60;

/// Longest duration text [`duration::parse`](crate::duration::parse) reads, in bytes: the
/// longest duration in every unit (`3659d23h59m59s999ms`) has 19, and room is left for leading
/// zeros. Checked before a digit is read, so that no number can overflow unnoticed.
pub const DURATION_TEXT_LEN_MAX: usize = 32;

/// Length of a log-safe token fingerprint, in bytes of SHA-256 output (printed as hex).
pub const FINGERPRINT_LEN: usize = 6;

/// Random bytes in a generated key identifier (printed as base64url, 22 characters).
pub(crate) const KID_RANDOM_LEN: usize = 16;

/// Length of an HS256 signature, in bytes.
pub const SIGNATURE_LEN: usize = 32;

/// Length of an encoded HS256 signature, in base64url characters.
pub(crate) const SIGNATURE_B64_LEN: usize = 43;

const _: () = assert!(KEY_LEN_MIN * 8 >= 256);
const _: () = assert!(KEY_LEN_GENERATED >= KEY_LEN_MIN && KEY_LEN_GENERATED <= KEY_LEN_MAX);
const _: () = assert!(HEADER_LEN_MAX < TOKEN_LEN_MAX);
const _: () = assert!(KID_LEN_MAX < HEADER_LEN_MAX / 2);
const _: () = assert!(KEYS_PER_RING_MAX <= ISSUED_KIDS_MAX);
const _: () = assert!(KIDLESS_KEYS_TRIED_MAX >= 3 && KIDLESS_KEYS_TRIED_MAX <= KEYS_PER_RING_MAX);
const _: () = assert!(KID_RANDOM_LEN * 4 / 3 < KID_LEN_MAX);
const _: () = assert!(SIGNATURE_B64_LEN == (SIGNATURE_LEN * 4).div_ceil(3));
const _: () = assert!(LEEWAY_SECS_DEFAULT <= LEEWAY_SECS_MAX);
const _: () = assert!(PROPAGATION_SECS_DEFAULT <= DURATION_SECS_MAX && OVERLAP_SECS_DEFAULT <= DURATION_SECS_MAX);
const _: () = assert!(FORGET_AFTER_SECS_DEFAULT <= DURATION_SECS_MAX);
const _: () = assert!(KID_LEN_MAX <= u8::MAX as usize);
const _: () = assert!(TEMP_NAMES_MAX <= LEFTOVERS_REMOVED_MAX && LEFTOVERS_REMOVED_MAX <= DIRECTORY_ENTRIES_MAX);
const _: () = assert!(DURATION_SECS_MAX.checked_mul(1000).is_some());
