//! Everything one dispatch of the charm works with: the event, the model and the
//! workload containers.

use std::path::PathBuf;

use crate::event::Event;
use crate::model::Model;
use crate::pebble::{Client, Pebble};
use crate::tools::{ProcessRunner, ToolRunner};

/// Connects to a workload container's Pebble.
pub trait PebbleConnector {
    fn connect(&self, container: &str) -> Box<dyn Pebble>;
}

/// Production connector: `<dir>/<container>/pebble.socket`, with `dir` from
/// `JUJU_RS_OPS_CONTAINERS_DIR` (tests) or Juju's `/charm/containers`.
#[derive(Debug, Clone)]
pub struct SocketConnector {
    pub containers_dir: PathBuf,
}

impl SocketConnector {
    pub fn from_env() -> SocketConnector {
        let dir = std::env::var_os("JUJU_RS_OPS_CONTAINERS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/charm/containers"));
        SocketConnector {
            containers_dir: dir,
        }
    }
}

impl PebbleConnector for SocketConnector {
    fn connect(&self, container: &str) -> Box<dyn Pebble> {
        Box::new(Client::new(
            self.containers_dir.join(container).join("pebble.socket"),
        ))
    }
}

/// The event being handled, the model, and access to the workload containers.
pub struct Context {
    pub event: Event,
    pub model: Model,
    connector: Box<dyn PebbleConnector>,
}

impl Context {
    /// A context over explicit backends (tests pass in-process ones).
    pub fn new(
        event: Event,
        runner: Box<dyn ToolRunner>,
        connector: Box<dyn PebbleConnector>,
    ) -> Context {
        let model = Model::new(runner, &event);
        Context {
            event,
            model,
            connector,
        }
    }

    /// The production context: the event from the environment, hook tools from `PATH`,
    /// Pebble sockets where Juju mounts them.
    pub fn from_env() -> Context {
        Context::new(
            Event::from_env(),
            Box::new(ProcessRunner::default()),
            Box::new(SocketConnector::from_env()),
        )
    }

    /// A Pebble client for the named container.
    pub fn pebble(&self, container: &str) -> Box<dyn Pebble> {
        self.connector.connect(container)
    }
}
