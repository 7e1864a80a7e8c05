//! What the `kratos` CLI prints in the container: the version (`kratos version`) and the
//! The body is `fuzz_support::targets::workload_output` (fuzz/src/targets/workload_output.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::workload_output::fuzz(data));
