#![no_main]

// The claims reader's fast path against `serde_json` on arbitrary payloads, and on the plain
// claims the fast path exists for, which it must accept.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenring_testkit::claims::differential(data));
