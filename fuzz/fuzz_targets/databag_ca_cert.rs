//! receive-ca-cert: a provider's application bag (v1 `certificates`), else its units'
//! The body is `fuzz_support::targets::databag_ca_cert` (fuzz/src/targets/databag_ca_cert.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::databag_ca_cert::fuzz(data));
