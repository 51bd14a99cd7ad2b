#![no_main]

use tokenring_fuzz::RoundtripInput;

libfuzzer_sys::fuzz_target!(|input: RoundtripInput| tokenring_testkit::roundtrip(&input.0));
