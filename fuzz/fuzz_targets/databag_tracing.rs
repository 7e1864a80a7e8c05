//! tracing: Tempo's application bag (its `receivers` JSON) into Kratos's OTLP exporter.
//! The body is `fuzz_support::targets::databag_tracing` (fuzz/src/targets/databag_tracing.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::databag_tracing::fuzz(data));
