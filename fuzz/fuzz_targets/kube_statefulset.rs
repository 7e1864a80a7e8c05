//! The StatefulSet as the Kubernetes API answers it: the kratos container's running
//! The body is `fuzz_support::targets::kube_statefulset` (fuzz/src/targets/kube_statefulset.rs), which
//! fuzz/tests/corpus.rs also replays over the corpus on the stable toolchain.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::targets::kube_statefulset::fuzz(data));
