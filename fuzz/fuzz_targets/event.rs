//! The dispatch environment Juju sets (JUJU_* variables) into the typed event, and the
//! The body is `fuzz_support::targets::event` (fuzz/src/targets/event.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::event::fuzz(data));
