//! The Kratos charm as a library: the binary (`src/main.rs`) is its `dispatch`, and the
//! tests reach the same modules.
//!
//! `dispatch` chooses action or hook; `charm` is the checklist every hook runs; `inputs`
//! gathers the config, the cookie secret and every integration (`integrations/`, one
//! module each); `migration`, `container` and `converge` act on the workload; `cleanup`
//! removes expired data on the leader's schedule.

pub mod action_logic;
pub mod actions;
pub mod charm;
pub mod charm_config;
pub mod cleanup;
pub mod cluster;
pub mod container;
pub mod converge;
pub mod dispatch;
pub mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod identity_schemas;
pub mod inputs;
pub mod integrations;
pub mod kratos_api;
pub mod kratos_config;
pub mod kubernetes;
pub mod migration;
pub mod plan;
pub mod refresh;
pub mod secrets;
pub mod sensitive;
pub mod steady;
pub mod topology;
pub mod workload;
