//! ui-endpoint-info: the login UIs' application bags (every relation) into the page URLs
//! The body is `fuzz_support::targets::databag_login_ui` (fuzz/src/targets/databag_login_ui.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::databag_login_ui::fuzz(data));
