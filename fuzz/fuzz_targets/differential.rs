#![no_main]

use tokenring_fuzz::{reference_verify, start_secs, DifferentialInput};

libfuzzer_sys::fuzz_target!(|input: DifferentialInput| {
    tokenring_testkit::differential(&input.0, start_secs(), reference_verify);
});
