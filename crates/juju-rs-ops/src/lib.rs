//! `juju-rs-ops`: a small, typed framework for Juju charms written in Rust.
//!
//! A charm built on it is one native binary installed as the charm's `dispatch`. Juju runs
//! it once per event; the charm reads the event ([`Event`]), reads and writes the model
//! through cached hook tools ([`Model`]), drives its workload containers through Pebble
//! ([`pebble::Pebble`]) and reports one status ([`status::StatusCollector`]).
//!
//! A charm's `main` is one line: `juju_rs_ops::run(converge)` (see [`run`]), where
//! `converge(&mut Context)` reconciles the unit with the model.
//!
//! The library does not call the charm: the charm calls the library ("effects at the
//! edges"). Every effect sits behind a small trait ([`tools::ToolRunner`],
//! [`pebble::Pebble`]) so tests can run the very same charm code in-process
//! (`juju_rs_ops_testing::Harness`) or as a process under the Juju emulator
//! (`juju_rs_ops_testing::Emulator`) against a real Pebble
//! (`juju_rs_ops_testing::PebbleFixture`); that test support is the separate
//! `juju-rs-ops-testing` crate, a dev-dependency of a charm.

#![deny(missing_docs)]

pub mod context;
pub mod event;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod logging;
pub mod model;
pub mod pebble;
pub mod recording;
mod run;
pub mod runtime;
pub mod status;
pub mod tools;

pub use context::Context;
pub use event::{Event, EventKind};
pub use logging::JujuLog;
pub use model::{Bag, Databag, Model, ModelError, Port, Relation};
pub use run::{dispatch, run};
pub use runtime::SharedRuntime;
pub use status::{Status, StatusCollector, StatusKind};
