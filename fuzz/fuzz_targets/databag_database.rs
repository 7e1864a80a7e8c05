//! pg-database: postgresql-k8s's application bag (and the credentials secret it names)
//! The body is `fuzz_support::targets::databag_database` (fuzz/src/targets/databag_database.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::databag_database::fuzz(data));
