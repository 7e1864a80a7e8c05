//! The `identity-schemas` and `oidc-providers` ConfigMaps as the Kubernetes API answers
//! The body is `fuzz_support::targets::configmaps` (fuzz/src/targets/configmaps.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::configmaps::fuzz(data));
