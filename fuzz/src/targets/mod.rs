//! The bodies of the fuzz targets, one module per target (fuzz/fuzz_targets/ hands each
//! libFuzzer's input to its `fuzz`; fuzz/tests/corpus.rs replays the corpus through them).

pub mod action_params;
pub mod config;
pub mod configmaps;
pub mod databag_ca_cert;
pub mod databag_database;
pub mod databag_external_idp;
pub mod databag_hydra;
pub mod databag_logging;
pub mod databag_login_ui;
pub mod databag_route;
pub mod databag_smtp;
pub mod databag_tracing;
pub mod databag_webhooks;
pub mod event;
pub mod hook_tools;
pub mod identity_schemas;
pub mod kratos_api;
pub mod kube_statefulset;
pub mod pebble_exec;
pub mod pebble_reply;
pub mod workload_output;

/// Every target by name (its directory under fuzz/corpus/).
pub const ALL: &[(&str, fn(&[u8]))] = &[
    ("action_params", action_params::fuzz),
    ("config", config::fuzz),
    ("configmaps", configmaps::fuzz),
    ("databag_ca_cert", databag_ca_cert::fuzz),
    ("databag_database", databag_database::fuzz),
    ("databag_external_idp", databag_external_idp::fuzz),
    ("databag_hydra", databag_hydra::fuzz),
    ("databag_logging", databag_logging::fuzz),
    ("databag_login_ui", databag_login_ui::fuzz),
    ("databag_route", databag_route::fuzz),
    ("databag_smtp", databag_smtp::fuzz),
    ("databag_tracing", databag_tracing::fuzz),
    ("databag_webhooks", databag_webhooks::fuzz),
    ("event", event::fuzz),
    ("hook_tools", hook_tools::fuzz),
    ("identity_schemas", identity_schemas::fuzz),
    ("kratos_api", kratos_api::fuzz),
    ("kube_statefulset", kube_statefulset::fuzz),
    ("pebble_exec", pebble_exec::fuzz),
    ("pebble_reply", pebble_reply::fuzz),
    ("workload_output", workload_output::fuzz),
];
