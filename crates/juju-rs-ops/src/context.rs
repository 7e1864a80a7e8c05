//! Everything one dispatch of the charm works with: the event, the model and the
//! workload containers.

use std::path::PathBuf;
use std::rc::Rc;

use crate::event::Event;
use crate::model::Model;
use crate::pebble::{Client, Pebble};
use crate::runtime::SharedRuntime;
use crate::tools::{ProcessRunner, ToolRunner};

/// Connects to a workload container's Pebble.
pub trait PebbleConnector {
    /// A Pebble client for the named container (connecting lazily is fine).
    fn connect(&self, container: &str) -> Box<dyn Pebble>;
}

/// Production connector: `<dir>/<container>/pebble.socket`, with `dir` from
/// `JUJU_RS_OPS_CONTAINERS_DIR` (tests) or Juju's `/charm/containers`.
#[derive(Debug, Clone)]
pub struct SocketConnector {
    /// The directory holding one `<container>/pebble.socket` per container.
    pub containers_dir: PathBuf,
    /// The runtime the clients block on.
    pub runtime: SharedRuntime,
}

impl SocketConnector {
    /// The connector for this process's environment (see the type's docs).
    pub fn from_env() -> SocketConnector {
        let dir = std::env::var_os("JUJU_RS_OPS_CONTAINERS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/charm/containers"));
        SocketConnector {
            containers_dir: dir,
            runtime: SharedRuntime::new(),
        }
    }
}

impl PebbleConnector for SocketConnector {
    fn connect(&self, container: &str) -> Box<dyn Pebble> {
        Box::new(
            Client::new(self.containers_dir.join(container).join("pebble.socket"))
                .with_runtime(self.runtime.clone()),
        )
    }
}

/// The event being handled, the model, and access to the workload containers.
pub struct Context {
    /// The event being handled.
    pub event: Event,
    /// The model, read and written through cached hook tools.
    pub model: Model,
    connector: Box<dyn PebbleConnector>,
    runtime: SharedRuntime,
}

impl Context {
    /// A context over explicit backends (tests pass in-process ones). The runner is
    /// shared (`Rc`) so the caller can keep using it after the charm ran, e.g. to flush
    /// logs or inspect recorded calls.
    pub fn new(
        event: Event,
        runner: Rc<dyn ToolRunner>,
        connector: Box<dyn PebbleConnector>,
    ) -> Context {
        let model = Model::new(runner, &event);
        Context {
            event,
            model,
            connector,
            runtime: SharedRuntime::new(),
        }
    }

    /// The same context, blocking on `runtime` (the one its Pebble clients use).
    pub fn with_runtime(mut self, runtime: SharedRuntime) -> Context {
        self.runtime = runtime;
        self
    }

    /// The dispatch's async runtime, for clients the charm adds (one per dispatch,
    /// shared with the Pebble clients of [`Context::from_env`]).
    pub fn runtime(&self) -> &SharedRuntime {
        &self.runtime
    }

    /// The production context: the event from the environment, hook tools from `PATH`,
    /// Pebble sockets where Juju mounts them.
    pub fn from_env() -> Context {
        let connector = SocketConnector::from_env();
        let runtime = connector.runtime.clone();
        Context::new(
            Event::from_env(),
            Rc::new(ProcessRunner::default()),
            Box::new(connector),
        )
        .with_runtime(runtime)
    }

    /// A Pebble client for the named container.
    pub fn pebble(&self, container: &str) -> Box<dyn Pebble> {
        self.connector.connect(container)
    }
}
