//! One async runtime per dispatch, shared by every client that needs one (Pebble, and any
//! client the charm adds, such as a Kubernetes API client).
//!
//! Charm code is synchronous; clients block on this runtime for each call. It is a
//! current-thread tokio runtime built on first use, so a hook that makes no async call
//! never builds one. Blocking on it from inside another runtime panics (tokio's rule), so
//! charm code must not call clients from async code.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::runtime::Runtime;

/// A lazily built runtime, cheap to clone (clones share it).
#[derive(Clone, Default)]
pub struct SharedRuntime {
    runtime: Arc<OnceLock<Runtime>>,
}

impl SharedRuntime {
    /// A runtime not built yet.
    pub fn new() -> SharedRuntime {
        SharedRuntime::default()
    }

    /// Runs `future` to completion (building the runtime on first use).
    ///
    /// # Errors
    ///
    /// When the runtime cannot be built (the process is out of threads or file
    /// descriptors).
    pub fn block_on<F: Future>(&self, future: F) -> std::io::Result<F::Output> {
        let runtime = match self.runtime.get() {
            Some(runtime) => runtime,
            None => {
                let built = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                // Another thread may have won the race; either runtime is as good.
                self.runtime.get_or_init(|| built)
            }
        };
        Ok(runtime.block_on(future))
    }

    /// Whether the runtime has been built (a hook that made no async call has none).
    pub fn is_built(&self) -> bool {
        self.runtime.get().is_some()
    }
}

impl std::fmt::Debug for SharedRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRuntime")
            .field("built", &self.is_built())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_runtime_built_on_first_use() {
        let runtime = SharedRuntime::new();
        let clone = runtime.clone();
        assert!(!clone.is_built());
        assert_eq!(runtime.block_on(async { 7 }).unwrap(), 7);
        assert!(clone.is_built());
        assert_eq!(clone.block_on(async { 8 }).unwrap(), 8);
    }
}
