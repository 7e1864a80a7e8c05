//! The Kratos charm: one native binary installed as the charm's `dispatch`.

fn main() -> std::process::ExitCode {
    juju_rs_ops::run(charm_kratos::dispatch::dispatch)
}
