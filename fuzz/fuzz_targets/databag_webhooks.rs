//! kratos-registration-webhook and kratos-login-webhook: a provider's application bag
//! The body is `fuzz_support::targets::databag_webhooks` (fuzz/src/targets/databag_webhooks.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::databag_webhooks::fuzz(data));
