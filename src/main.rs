//! The Kratos charm. (Being written.)

// Not called from `main` yet: the charm's reconcile wires these in.
#[allow(dead_code)]
mod identity_schemas;

fn main() {}
