//! The `identity_schemas` option (a JSON object of schema id to schema) and
//! The body is `fuzz_support::targets::identity_schemas` (fuzz/src/targets/identity_schemas.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::identity_schemas::fuzz(data));
