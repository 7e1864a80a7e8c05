//! The Kratos charm. (Being written.)

// Not used by main yet: the lead wires the charm's modules together.
#[allow(dead_code)]
mod charm_config;

fn main() {}
