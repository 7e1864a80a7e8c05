//! kratos-external-idp: an integrator's application bag (its `providers` JSON) into the
//! The body is `fuzz_support::targets::databag_external_idp` (fuzz/src/targets/databag_external_idp.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::databag_external_idp::fuzz(data));
