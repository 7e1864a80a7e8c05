//! smtp: smtp-integrator's application bag (and the password secret it names) into the
//! The body is `fuzz_support::targets::databag_smtp` (fuzz/src/targets/databag_smtp.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::databag_smtp::fuzz(data));
