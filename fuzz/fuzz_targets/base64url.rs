#![no_main]

// The token codec (base64url tables) against base64ct, decoding and encoding arbitrary bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenring_testkit::base64url(data));
