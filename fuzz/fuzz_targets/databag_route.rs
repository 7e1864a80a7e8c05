//! public-route and internal-route: Traefik's application bag into Kratos's public URL,
//! The body is `fuzz_support::targets::databag_route` (fuzz/src/targets/databag_route.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::databag_route::fuzz(data));
