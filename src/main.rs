//! The Kratos charm. (Being written.)

// Not called from `main` yet: the charm's reconcile wires these in.
#[allow(dead_code)]
mod identity_schemas;
#[allow(dead_code, unused_imports)]
mod kratos_config;

fn main() {}
