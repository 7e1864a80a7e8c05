//! Pebble exec output websockets: a stream of frames (binary output, text control
//! The body is `fuzz_support::targets::pebble_exec` (fuzz/src/targets/pebble_exec.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::pebble_exec::fuzz(data));
