//! Pebble, the workload containers' service manager, behind the [`Pebble`] trait.
//!
//! [`Client`] speaks Pebble's HTTP API over its unix socket; the `juju-rs-ops-testing`
//! crate has an in-memory implementation (`FakePebble`) for in-process tests.

mod client;
mod remembering;
mod types;

#[cfg(feature = "fuzzing")]
pub(crate) use client::fuzzing;
pub use client::Client;
pub use remembering::Remembering;
pub use types::*;

use std::time::Duration;

/// Why a Pebble call failed.
#[derive(Debug, thiserror::Error)]
pub enum PebbleError {
    /// The socket is missing or nothing listens on it (the container is not up yet).
    #[error("cannot connect to Pebble at {socket}: {source}")]
    CannotConnect {
        /// The socket's path.
        socket: String,
        /// Why connecting failed.
        #[source]
        source: std::io::Error,
    },
    /// Pebble answered with an error response.
    #[error("Pebble API error ({status}{kind_sep}{kind}): {message}", kind_sep = if kind.is_empty() { "" } else { ", " })]
    Api {
        /// The HTTP status.
        status: u16,
        /// Pebble's error kind (e.g. `not-found`), empty if it gave none.
        kind: String,
        /// Pebble's message.
        message: String,
    },
    /// A change (start, stop, replan, exec, ...) finished in error.
    #[error("Pebble change {id} ({kind}) failed: {message}")]
    ChangeFailed {
        /// The change's id.
        id: String,
        /// The change's kind, e.g. `replan` or `exec`.
        kind: String,
        /// Why it failed, as Pebble reports it.
        message: String,
    },
    /// Waiting for a change or an exec took longer than allowed.
    #[error("timed out after {0:?} waiting for Pebble")]
    Timeout(Duration),
    /// Pebble said something this client does not understand.
    #[error("unexpected response from Pebble: {0}")]
    Protocol(String),
    /// The connection broke mid-request.
    #[error("I/O error talking to Pebble: {0}")]
    Io(#[from] std::io::Error),
}

impl PebbleError {
    /// Whether this is Pebble saying the path or thing does not exist (`kind: not-found`
    /// or HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, PebbleError::Api { status, kind, .. } if *status == 404 || kind == "not-found")
    }
}

/// A command run in the container finished with a non-zero exit code.
#[derive(Debug, thiserror::Error)]
#[error("command {command:?} exited with code {exit_code}")]
pub struct ExecFailed {
    /// The command that ran.
    pub command: Vec<String>,
    /// Its exit code.
    pub exit_code: i32,
    /// What it printed on stdout.
    pub stdout: Vec<u8>,
    /// What it printed on stderr.
    pub stderr: Vec<u8>,
}

/// The operations of Pebble's API that charms use. Every call that starts a change
/// (services, layers with replan, exec) waits for it to finish.
pub trait Pebble {
    /// `GET /v1/system-info`.
    fn system_info(&self) -> Result<SystemInfo, PebbleError>;
    /// `GET /v1/plan?format=yaml`: the combined plan.
    fn plan(&self) -> Result<Plan, PebbleError>;
    /// `POST /v1/layers`: adds (or with `combine`, merges into) the layer `label`.
    fn add_layer(&self, label: &str, layer: &Layer, combine: bool) -> Result<(), PebbleError>;
    /// `GET /v1/services`: status of the named services (all when `names` is empty).
    fn services(&self, names: &[&str]) -> Result<Vec<ServiceInfo>, PebbleError>;
    /// Starts the services in one change.
    fn start(&self, names: &[&str]) -> Result<(), PebbleError>;
    /// Stops the services in one change.
    fn stop(&self, names: &[&str]) -> Result<(), PebbleError>;
    /// Restarts the services in one change.
    fn restart(&self, names: &[&str]) -> Result<(), PebbleError>;
    /// Starts what the plan says should run and restarts what changed.
    fn replan(&self) -> Result<(), PebbleError>;
    /// Writes a file, creating parent directories when `options.make_dirs`.
    fn push(&self, path: &str, content: &[u8], options: &PushOptions) -> Result<(), PebbleError>;
    /// Reads a file.
    fn pull(&self, path: &str) -> Result<Vec<u8>, PebbleError>;
    /// Lists a directory (or describes a file with `itself`), optionally filtered by a
    /// glob `pattern`.
    fn list_files(
        &self,
        path: &str,
        pattern: Option<&str>,
        itself: bool,
    ) -> Result<Vec<FileInfo>, PebbleError>;
    /// Creates a directory.
    fn make_dir(&self, path: &str, options: &PushOptions) -> Result<(), PebbleError>;
    /// Removes a file or directory (`recursive` for non-empty directories).
    fn remove_path(&self, path: &str, recursive: bool) -> Result<(), PebbleError>;
    /// `GET /v1/checks`: status of the named checks (all when `names` is empty).
    fn checks(&self, names: &[&str]) -> Result<Vec<CheckInfo>, PebbleError>;
    /// `GET /v1/notices`.
    fn notices(&self, query: &NoticesQuery) -> Result<Vec<Notice>, PebbleError>;
    /// Runs a command to completion and returns its output, whatever its exit code; use
    /// [`ExecOutput::success`] to turn a non-zero exit into an error.
    fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, PebbleError>;
}
