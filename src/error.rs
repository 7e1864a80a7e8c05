//! The charm's own failures.

use juju_rs_ops::model::ModelError;
use juju_rs_ops::pebble::PebbleError;

/// Failures of the charm's machinery (hook tools, Pebble): the hook fails and Juju retries
/// it. Problems with inputs are not errors: they are statuses.
#[derive(Debug, thiserror::Error)]
pub enum CharmError {
    /// A hook tool failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Pebble in the workload container failed.
    #[error("Pebble in the kratos container: {0}")]
    Pebble(#[from] PebbleError),
    /// Data the charm publishes could not be serialised (not expected: the types are the
    /// charm's own).
    #[error("serialising {what}: {message}")]
    Serialise {
        /// What was being serialised.
        what: &'static str,
        /// The serialiser's message.
        message: String,
    },
}
