//! Heap allocations on the verification path, counted by a wrapping global allocator.
//!
//! * `verify_borrowed` into borrowed claims with a reused `Scratch` allocates nothing.
//! * A token over `TOKEN_LEN_MAX` is refused as `too-large` before any other work: without an
//!   allocation, and before the token is even split into segments (a token without a single
//!   `.` is reported as too large, not as malformed), so before any hashing, which needs the
//!   segments.
//!
//! Counting allocations needs a `#[global_allocator]`, and `GlobalAlloc` can only be
//! implemented with `unsafe impl`. That impl is the one place in the workspace where unsafe code
//! is allowed: it forwards every call unchanged to `System` and adds a thread-local count.

#![deny(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tokenring::limits::TOKEN_LEN_MAX;
use tokenring::{Rejection, Scratch};
use tokenring_benches::{ring, token, too_large_token, validation, BorrowedClaims, NOW_SECS};

thread_local! {
    /// Allocations made by this thread. Per thread, so that the test harness's other threads
    /// cannot disturb a count; `const` so that reading it never allocates.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// `System`, counting allocations and reallocations.
struct Counting;

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the count is a thread-local `Cell` that neither allocates nor
// unwinds (`try_with` skips counting while the thread is being torn down).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn count() {
    let _ = ALLOCATIONS.try_with(|allocations| allocations.set(allocations.get() + 1));
}

/// Runs `work` and returns its result with the number of allocations it made on this thread.
fn allocations_in<T>(work: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = work();
    (result, ALLOCATIONS.with(Cell::get) - before)
}

#[test]
fn the_counter_counts() {
    // A canary: were the allocator not installed, every count below would be zero for free.
    let (vector, allocations) = allocations_in(|| vec![1u8; 100]);
    assert_eq!(vector.len(), 100);
    assert_eq!(allocations, 1);
}

#[test]
fn borrowed_verification_does_not_allocate() {
    let ring = ring();
    let validation = validation();
    let token = token();
    let mut scratch = Scratch::new();
    for _ in 0..3 {
        let (verified, allocations) = allocations_in(|| {
            ring.verify_borrowed::<BorrowedClaims<'_>>(&token, &validation, &mut scratch, NOW_SECS)
                .map(|verified| verified.claims().sub.len())
        });
        assert_eq!(verified, Ok(7));
        assert_eq!(allocations, 0);
    }
}

#[test]
fn owned_verification_allocates_only_the_claims() {
    // Owned claims need their strings (sub, username, two roles, jti) and the roles vector:
    // six allocations, and nothing besides.
    let ring = ring();
    let validation = validation();
    let token = token();
    let (verified, allocations) =
        allocations_in(|| ring.verify::<tokenring_benches::Claims>(&token, &validation, NOW_SECS).map(|_| ()));
    assert_eq!(verified, Ok(()));
    assert_eq!(allocations, 6);
}

#[test]
fn a_too_large_token_is_refused_before_any_work() {
    let ring = ring();
    let validation = validation();
    let mut scratch = Scratch::new();

    // A correctly signed token, one byte too long: only its length is wrong.
    let signed = too_large_token();
    assert_eq!(signed.len(), TOKEN_LEN_MAX + 1);
    // Without a single dot: had the verifier split the token first, this would be `malformed`.
    let undivided = "A".repeat(TOKEN_LEN_MAX + 1);
    for token in [signed, undivided] {
        let (rejection, allocations) = allocations_in(|| {
            ring.verify_borrowed::<BorrowedClaims<'_>>(&token, &validation, &mut scratch, NOW_SECS).map(|_| ())
        });
        assert!(matches!(rejection, Err(Rejection::TooLarge(_))), "{rejection:?}");
        assert_eq!(allocations, 0);
    }
}
