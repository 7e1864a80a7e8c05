//! One module per integration: each owns its typed databag structs and their conversion
//! to what the workload needs. All of them are pure: databags in, typed data out.

pub mod database;
pub mod hydra;
pub mod login_ui;
pub mod peers;

use std::collections::BTreeMap;

/// A relation databag as hook tools return it.
pub type Databag = BTreeMap<String, String>;

/// Relation data that cannot be used, with a message for a `blocked` status that names
/// the integration and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid data in {endpoint} integration: {message}")]
pub struct BadRelationData {
    pub endpoint: &'static str,
    pub message: String,
}
