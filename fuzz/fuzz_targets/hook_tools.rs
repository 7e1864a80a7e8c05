//! Hook-tool output: every tool the framework reads answers with the fuzzer's bytes
//! The body is `fuzz_support::targets::hook_tools` (fuzz/src/targets/hook_tools.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::hook_tools::fuzz(data));
