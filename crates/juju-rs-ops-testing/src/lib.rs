//! Test support for `juju-rs-ops` charms: the Juju model state and the hook-tool emulator
//! (process-level and in-process), an in-memory Pebble, and a real-Pebble fixture.

mod action_params;
mod emulator;
mod fake_pebble;
mod harness;
pub mod jujuc;
mod pebble_fixture;
pub mod state;

pub use action_params::*;
pub use emulator::*;
pub use fake_pebble::*;
pub use harness::*;
pub use pebble_fixture::*;
