//! The Kratos charm: one native binary installed as the charm's `dispatch`.

mod integrations;
mod sensitive;
mod workload;

fn main() {}
