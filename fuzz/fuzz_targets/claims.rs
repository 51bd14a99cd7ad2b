#![no_main]

// The claims reader's fast path against `serde_json`, on arbitrary bytes as a payload.
libfuzzer_sys::fuzz_target!(|payload: &[u8]| {
    tokenring::fuzzing::claims_paths_agree(payload);
});
