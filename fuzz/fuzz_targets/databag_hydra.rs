//! hydra-endpoint-info: Hydra's application bag into Kratos's OAuth2 provider URL.
//! The body is `fuzz_support::targets::databag_hydra` (fuzz/src/targets/databag_hydra.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::databag_hydra::fuzz(data));
