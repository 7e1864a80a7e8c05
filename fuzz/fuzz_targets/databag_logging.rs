//! logging: each Loki unit's bag (its `endpoint` JSON) into Pebble log targets, and the
//! The body is `fuzz_support::targets::databag_logging` (fuzz/src/targets/databag_logging.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::databag_logging::fuzz(data));
