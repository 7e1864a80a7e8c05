//! Kratos admin API answers: the body (the first line: the call and the HTTP status)
//! The body is `fuzz_support::targets::kratos_api` (fuzz/src/targets/kratos_api.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::kratos_api::fuzz(data));
