//! The charm config: config-get's JSON into ValidConfig (as the hook reads it, through
//! The body is `fuzz_support::targets::config` (fuzz/src/targets/config.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::config::fuzz(data));
