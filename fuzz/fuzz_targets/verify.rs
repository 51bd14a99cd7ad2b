#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenring_testkit::verify(data));
