//! Pebble API replies: the body (the first line: the call, the HTTP status and the
//! The body is `fuzz_support::targets::pebble_reply` (fuzz/src/targets/pebble_reply.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::pebble_reply::fuzz(data));
