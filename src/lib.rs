//! The Kratos charm as a library: the binary (`src/main.rs`) is its `dispatch`, and the
//! tests reach the same modules.

pub mod action_logic;
pub mod actions;
pub mod charm;
pub mod charm_config;
pub mod identity_schemas;
pub mod integrations;
pub mod kratos_api;
pub mod kratos_config;
pub mod secrets;
pub mod sensitive;
pub mod workload;
