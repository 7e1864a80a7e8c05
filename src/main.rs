//! The Kratos charm: one native binary installed as the charm's `dispatch`.

mod actions;
mod charm;
mod charm_config;
mod identity_schemas;
mod integrations;
mod kratos_config;
mod secrets;
mod sensitive;
mod workload;

fn main() -> std::process::ExitCode {
    juju_rs_ops::run(charm::dispatch)
}
