//! The in-process harness: state in, one event, state out, with no processes.
//!
//! [`Harness`] holds a [`ModelState`] and runs a closure on a [`Context`] for one event.
//! The context's hook tools are [`InMemoryTools`], which call
//! [`crate::jujuc::run_tool`] directly on the harness's state (the same code the
//! `juju-emulator` binary runs), and its Pebble connections come from whatever
//! [`PebbleConnector`] the test passes (an in-memory fake or a real Pebble).
//!
//! ```
//! use juju_rs_ops_testing::{EventSpec, Harness};
//! use juju_rs_ops_testing::state::ModelState;
//! use juju_rs_ops::{context::PebbleConnector, pebble::Pebble};
//!
//! struct NoPebble;
//! impl PebbleConnector for NoPebble {
//!     fn connect(&self, container: &str) -> Box<dyn Pebble> {
//!         unreachable!("this test does not use Pebble ({container})")
//!     }
//! }
//!
//! let state = ModelState::new("kratos").with_unit("kratos/0").with_leader("kratos/0");
//! let mut harness = Harness::new(state, "kratos/0");
//! let leader = harness.run(&EventSpec::hook("start"), Box::new(NoPebble), |ctx| {
//!     ctx.event.unit_name.clone()
//! });
//! assert_eq!(leader, "kratos/0");
//! ```

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use juju_rs_ops::context::{Context, PebbleConnector};
use juju_rs_ops::event::Event;
use juju_rs_ops::tools::{ToolError, ToolRunner};

use super::emulator::{hook_env, EventSpec, DEFAULT_JUJU_VERSION};
use super::jujuc::{run_tool, ToolContext};
use super::state::{ActionRun, ModelState};

/// Hook tools that run [`run_tool`] on a shared in-memory state.
#[derive(Debug, Clone)]
pub struct InMemoryTools {
    state: Rc<RefCell<ModelState>>,
    context: ToolContext,
}

impl InMemoryTools {
    /// Tools for the unit and hook in `context`, working on `state`.
    pub fn new(state: Rc<RefCell<ModelState>>, context: ToolContext) -> InMemoryTools {
        InMemoryTools { state, context }
    }
}

impl ToolRunner for InMemoryTools {
    fn run(&self, tool: &str, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<u8>, ToolError> {
        let mut state = self.state.borrow_mut();
        run_tool(
            &mut state,
            &self.context,
            tool,
            args,
            stdin.unwrap_or_default(),
        )
        .map_err(|failure| ToolError::Failed {
            tool: tool.to_string(),
            code: failure.code,
            stderr: failure.stderr.trim_end().to_string(),
        })
    }
}

/// Builds the [`Context`] a charm sees. The one place that knows how a context is made,
/// so a change to [`Context::new`] is adapted here only.
fn make_context(
    event: Event,
    tools: InMemoryTools,
    connector: Box<dyn PebbleConnector>,
) -> Context {
    Context::new(event, std::rc::Rc::new(tools), connector)
}

/// Runs charm code in-process on a [`ModelState`], one event at a time.
#[derive(Debug, Clone)]
pub struct Harness {
    state: ModelState,
    unit: String,
    juju_version: String,
    charm_dir: PathBuf,
    next_action_id: u32,
}

impl Harness {
    /// A harness running events on `unit` of the state's application.
    pub fn new(state: ModelState, unit: &str) -> Harness {
        Harness {
            state,
            unit: unit.to_string(),
            juju_version: DEFAULT_JUJU_VERSION.into(),
            charm_dir: PathBuf::from("/var/lib/juju/agents/unit/charm"),
            next_action_id: 1,
        }
    }

    /// Runs later events on another unit.
    pub fn set_unit(&mut self, unit: &str) -> &mut Harness {
        self.unit = unit.to_string();
        self
    }

    /// Sets `JUJU_VERSION` for the events.
    pub fn set_juju_version(&mut self, version: &str) -> &mut Harness {
        self.juju_version = version.to_string();
        self
    }

    /// Sets `JUJU_CHARM_DIR` for the events.
    pub fn set_charm_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Harness {
        self.charm_dir = dir.into();
        self
    }

    /// The model state as the last event left it.
    pub fn state(&self) -> &ModelState {
        &self.state
    }

    /// Edits the model state between events.
    pub fn state_mut(&mut self) -> &mut ModelState {
        &mut self.state
    }

    /// The final model state.
    pub fn into_state(self) -> ModelState {
        self.state
    }

    /// The event `spec` would be for the current unit, as the charm parses it.
    pub fn event(&self, spec: &EventSpec) -> Event {
        Event::from_vars(hook_env(
            &self.state,
            &self.unit,
            spec,
            &self.juju_version,
            &self.charm_dir,
        ))
    }

    /// Runs `charm` on a [`Context`] for the event `spec` on the current unit; the
    /// context's hook tools work on this harness's state.
    pub fn run<R>(
        &mut self,
        spec: &EventSpec,
        connector: Box<dyn PebbleConnector>,
        charm: impl FnOnce(&mut Context) -> R,
    ) -> R {
        let event = self.event(spec);
        let tool_context = ToolContext::from_vars(hook_env(
            &self.state,
            &self.unit,
            spec,
            &self.juju_version,
            &self.charm_dir,
        ));
        let shared = Rc::new(RefCell::new(std::mem::take(&mut self.state)));
        let tools = InMemoryTools::new(Rc::clone(&shared), tool_context);
        let result = {
            let mut context = make_context(event, tools, connector);
            charm(&mut context)
        };
        // The context (and every clone of the tools) is gone: the state is ours again.
        self.state = match Rc::try_unwrap(shared) {
            Ok(cell) => cell.into_inner(),
            Err(still_shared) => still_shared.borrow().clone(),
        };
        result
    }

    /// Runs an action: sets up the action (with `params`), runs `charm` for
    /// `actions/<name>`, and returns the charm's result with what the action tools wrote
    /// (results, failure, logs). The state's `action` is cleared afterwards.
    pub fn run_action<R>(
        &mut self,
        name: &str,
        params: serde_json::Map<String, serde_json::Value>,
        connector: Box<dyn PebbleConnector>,
        charm: impl FnOnce(&mut Context) -> R,
    ) -> (R, ActionRun) {
        let id = self.next_action_id.to_string();
        self.next_action_id += 1;
        let run = ActionRun {
            name: name.to_string(),
            id: id.clone(),
            unit: self.unit.clone(),
            params,
            results: serde_json::Map::new(),
            failed: false,
            message: None,
            logs: Vec::new(),
        };
        self.state.action = Some(run.clone());
        let result = self.run(&EventSpec::action(name, &id), connector, charm);
        let run = self.state.action.take().unwrap_or(run);
        (result, run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Relation;
    use juju_rs_ops::event::EventKind;
    use juju_rs_ops::pebble::Pebble;

    struct NoPebble;

    impl PebbleConnector for NoPebble {
        fn connect(&self, container: &str) -> Box<dyn Pebble> {
            panic!("these tests use no Pebble (asked for {container})")
        }
    }

    fn state() -> ModelState {
        ModelState::new("kratos")
            .with_unit("kratos/0")
            .with_unit("kratos/1")
            .with_leader("kratos/0")
            .with_relation(
                Relation::new(2, "pg-database", "postgresql_client", "postgresql-k8s")
                    .with_remote_unit("postgresql-k8s/0", [("host", "db")]),
            )
    }

    #[test]
    fn events_are_built_from_the_same_environment_as_the_emulator_s() {
        let mut harness = Harness::new(state(), "kratos/1");
        let relation = harness.state().relation(2).cloned().unwrap();
        let spec = EventSpec::relation("changed", &relation, Some("postgresql-k8s/0"));
        let (kind, rel, unit) = harness.run(&spec, Box::new(NoPebble), |ctx| {
            (
                ctx.event.kind.clone(),
                ctx.event.relation.clone(),
                ctx.event.unit_name.clone(),
            )
        });
        assert_eq!(kind, EventKind::RelationChanged);
        let rel = rel.unwrap();
        assert_eq!((rel.endpoint.as_str(), rel.id), ("pg-database", 2));
        assert_eq!(rel.remote_unit.as_deref(), Some("postgresql-k8s/0"));
        assert_eq!(unit, "kratos/1");
        assert_eq!(harness.state().units.len(), 2, "the state comes back");
    }

    #[test]
    fn in_memory_tools_work_on_the_shared_state_and_fail_like_processes() {
        let shared = Rc::new(RefCell::new(state()));
        let context = ToolContext {
            relation_id: Some(2),
            remote_unit: Some("postgresql-k8s/0".into()),
            remote_app: Some("postgresql-k8s".into()),
            ..ToolContext::for_unit("kratos/0")
        };
        let tools = InMemoryTools::new(Rc::clone(&shared), context);
        let out = tools.run("relation-get", &["host".into()], None).unwrap();
        assert_eq!(out, b"db\n");
        tools
            .run(
                "relation-set",
                &["--app".into(), "--file".into(), "-".into()],
                Some(b"{\"database\": \"kratos\"}"),
            )
            .unwrap();
        assert_eq!(
            shared.borrow().relation(2).unwrap().app_bag("kratos")["database"],
            "kratos"
        );
        let err = tools
            .run("secret-get", &["secret:cs7bu5ou8jb6f8vv0cig".into()], None)
            .unwrap_err();
        assert!(err.is_not_found(), "{err}");
        match err {
            ToolError::Failed { code, stderr, .. } => {
                assert_eq!(code, 1);
                assert_eq!(stderr, "ERROR secret \"cs7bu5ou8jb6f8vv0cig\" not found");
            }
            other => panic!("{other}"),
        }
        assert_eq!(shared.borrow().tool_calls.len(), 3);
    }

    #[test]
    fn actions_get_their_params_and_are_cleared_afterwards() {
        let mut harness = Harness::new(state(), "kratos/0");
        let params = serde_json::json!({"email": "a@b.c"})
            .as_object()
            .cloned()
            .unwrap();
        let (name, run) =
            harness.run_action("get-identity", params.clone(), Box::new(NoPebble), |ctx| {
                ctx.event.action.clone().map(|a| a.name)
            });
        assert_eq!(name.as_deref(), Some("get-identity"));
        assert_eq!(run.params, params);
        assert_eq!(run.unit, "kratos/0");
        assert!(harness.state().action.is_none());
    }
}
