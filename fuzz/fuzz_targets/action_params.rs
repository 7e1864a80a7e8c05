//! Action parameters: action-get's JSON (the body; the first line names the action) into
//! The body is `fuzz_support::targets::action_params` (fuzz/src/targets/action_params.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::action_params::fuzz(data));
