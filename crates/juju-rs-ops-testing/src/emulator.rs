//! The process-level Juju emulator: plays the unit agent for a compiled charm.
//!
//! [`Emulator`] takes a charm directory (`metadata.yaml`, optional `config.yaml` and
//! `actions.yaml`, and an executable `dispatch`: any charm, a Rust one or a Python `ops`
//! one) and runs `dispatch` once per event, as Juju 3.6 does: in a copy of the charm
//! directory per unit (Juju unpacks the charm per unit; `ops` keeps its state there), with
//! a clean environment holding exactly the `JUJU_*` variables Juju sets and `PATH`
//! starting with a directory of hook tools. Every hook tool there is a link to the
//! `juju-emulator` binary, which runs [`crate::jujuc`] on the model state file.
//!
//! Between events the state can be read and edited ([`Emulator::state`],
//! [`Emulator::update_state`]). Helpers run Juju's event sequences: deploying a unit,
//! integrating, changing remote data, removing a relation, changing config or leadership,
//! adding and removing units, secrets changing, `update-status`, and actions.
//!
//! Where the emulator is simpler than Juju (beyond the hook tools' own notes):
//! - Units run one after another, never concurrently, and a helper stops at the first
//!   failing hook (Juju would retry it); [`Outcomes`] reports what ran.
//! - Units of our application join an existing relation's scope at once; remote units
//!   join one by one (`-joined` then `-changed` on each of our units, then one
//!   application-level `-changed` when the remote application has data).
//! - Leadership: the new leader gets `leader-elected`, a deposed leader
//!   `leader-settings-changed`; a new non-leader unit gets `leader-settings-changed` at
//!   start-up, as Juju 3.6 does.
//! - Action parameters get the defaults from `actions.yaml` and are validated against its
//!   schema as Juju does ([`ActionSchemas`]); invalid ones fail the action without running
//!   the charm. A hook that exits non-zero fails the action with `exit status N`.
//! - Storage, upgrades, series upgrades and Pebble notices/checks have no helpers; use
//!   [`Emulator::dispatch`] with an [`EventSpec`] for any event.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::action_params::ActionSchemas;
use super::jujuc::TOOL_NAMES;
use super::state::{
    unit_app, ActionRun, Databag, ModelState, Relation, StateError, StatusRecord, ToolCall,
};

/// The Juju version the emulator announces in `JUJU_VERSION`.
pub const DEFAULT_JUJU_VERSION: &str = "3.6.4";

/// Why the emulator itself (not the charm) failed.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The `juju-emulator` binary is not where it was looked for.
    #[error(
        "the juju-emulator binary was not found (looked in: {searched}); build it with \
         `cargo build -p juju-rs-ops-testing --bin juju-emulator` or point \
         JUJU_EMULATOR_BIN at it"
    )]
    BinaryNotFound {
        /// Where it looked.
        searched: String,
    },
    /// The charm directory (or something the emulator reads for it) is unusable.
    #[error("cannot read the charm in {path}: {message}")]
    Charm {
        /// The charm directory (or state file) concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file-system or process operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The state file could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// An event was asked for a unit that is not in the model.
    #[error("{0} is not a unit of this application in the emulated model")]
    UnknownUnit(String),
    /// A relation id that is not in the model.
    #[error("relation {0} does not exist in the emulated model")]
    UnknownRelation(u32),
    /// An action that actions.yaml does not declare.
    #[error("the charm has no action {0:?} in actions.yaml")]
    UnknownAction(String),
    /// An endpoint that metadata.yaml does not declare.
    #[error("the charm has no endpoint {0:?} in metadata.yaml")]
    UnknownEndpoint(String),
    /// A hook exited non-zero (from [`Outcomes::check`]).
    #[error("hook {event} failed on {unit} ({status}); stderr:\n{stderr}")]
    HookFailed {
        /// The unit it ran on.
        unit: String,
        /// Its dispatch path.
        event: String,
        /// How it ended (`exit status N`, `timed out`, ...).
        status: String,
        /// Its standard error.
        stderr: String,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EmulatorError {
    let path = path.to_path_buf();
    move |source| EmulatorError::Io {
        action,
        path,
        source,
    }
}

/// Finds the `juju-emulator` binary: `$JUJU_EMULATOR_BIN`, else next to the running
/// test executable's target directory (`<target>/debug/juju-emulator`).
pub fn find_emulator_binary() -> Result<PathBuf, EmulatorError> {
    if let Some(path) = std::env::var_os("JUJU_EMULATOR_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(EmulatorError::BinaryNotFound {
                searched: format!("JUJU_EMULATOR_BIN={}", path.display()),
            })
        };
    }
    let mut searched = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // Test binaries live in <target>/<profile>/deps; the emulator in <target>/<profile>.
        for dir in exe.ancestors().skip(1).take(3) {
            let candidate = dir.join("juju-emulator");
            if candidate.is_file() {
                return Ok(candidate);
            }
            searched.push(candidate.display().to_string());
        }
    }
    Err(EmulatorError::BinaryNotFound {
        searched: searched.join(", "),
    })
}

/// One event as Juju describes it to the charm: the dispatch path and its details.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSpec {
    /// `hooks/<name>` or `actions/<name>`.
    pub dispatch_path: String,
    /// The relation (`JUJU_RELATION`, `JUJU_RELATION_ID`): endpoint and id.
    pub relation: Option<(String, u32)>,
    /// `JUJU_REMOTE_APP`.
    pub remote_app: Option<String>,
    /// `JUJU_REMOTE_UNIT`.
    pub remote_unit: Option<String>,
    /// `JUJU_DEPARTING_UNIT`.
    pub departing_unit: Option<String>,
    /// `JUJU_WORKLOAD_NAME` for Pebble events.
    pub workload: Option<String>,
    /// `JUJU_SECRET_ID`, `JUJU_SECRET_LABEL`, `JUJU_SECRET_REVISION`.
    pub secret_id: Option<String>,
    /// `JUJU_SECRET_LABEL`.
    pub secret_label: Option<String>,
    /// `JUJU_SECRET_REVISION`.
    pub secret_revision: Option<u32>,
    /// `JUJU_ACTION_NAME` and `JUJU_ACTION_UUID`/`JUJU_ACTION_ID`.
    pub action: Option<(String, String)>,
    /// Anything else (`JUJU_NOTICE_*`, `JUJU_PEBBLE_CHECK_NAME`, `JUJU_STORAGE_*`, ...).
    pub extra_env: BTreeMap<String, String>,
}

impl EventSpec {
    /// A hook without details: `EventSpec::hook("update-status")`.
    pub fn hook(name: &str) -> EventSpec {
        EventSpec {
            dispatch_path: format!("hooks/{name}"),
            ..EventSpec::default()
        }
    }

    /// `<endpoint>-relation-<kind>` (kind: created, joined, changed, departed, broken) on
    /// `relation`, about `remote_unit` when given.
    pub fn relation(kind: &str, relation: &Relation, remote_unit: Option<&str>) -> EventSpec {
        EventSpec {
            dispatch_path: format!("hooks/{}-relation-{kind}", relation.endpoint),
            relation: Some((relation.endpoint.clone(), relation.id)),
            remote_app: Some(relation.remote_app.clone()),
            remote_unit: remote_unit.map(String::from),
            ..EventSpec::default()
        }
    }

    /// `<container>-pebble-ready`.
    pub fn pebble_ready(container: &str) -> EventSpec {
        EventSpec {
            workload: Some(container.to_string()),
            ..EventSpec::hook(&format!("{container}-pebble-ready"))
        }
    }

    /// An action run.
    pub fn action(name: &str, id: &str) -> EventSpec {
        EventSpec {
            dispatch_path: format!("actions/{name}"),
            action: Some((name.to_string(), id.to_string())),
            ..EventSpec::default()
        }
    }

    /// The event's name (`config-changed`, `kratos-pebble-ready`, an action's name).
    pub fn name(&self) -> &str {
        self.dispatch_path
            .split_once('/')
            .map(|(_, n)| n)
            .unwrap_or(&self.dispatch_path)
    }
}

/// The environment Juju gives `dispatch` for `spec` on `unit` (without `PATH`, `HOME`
/// and the emulator's own variables). Pure, so the in-process harness builds its events
/// from the very same variables.
pub fn hook_env(
    state: &ModelState,
    unit: &str,
    spec: &EventSpec,
    juju_version: &str,
    charm_dir: &Path,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    let charm_dir = charm_dir.display().to_string();
    set("JUJU_CHARM_DIR", charm_dir.clone());
    set("CHARM_DIR", charm_dir);
    set("JUJU_DISPATCH_PATH", spec.dispatch_path.clone());
    set("JUJU_UNIT_NAME", unit.to_string());
    set("JUJU_MODEL_NAME", state.model_name.clone());
    set("JUJU_MODEL_UUID", state.model_uuid.clone());
    set("JUJU_VERSION", juju_version.to_string());
    set(
        "JUJU_CONTEXT_ID",
        format!("{unit}-{}-{}", spec.name(), state.tool_calls.len()),
    );
    set(
        "JUJU_AGENT_SOCKET_ADDRESS",
        format!(
            "@/var/lib/juju/agents/unit-{}/agent.socket",
            unit.replace('/', "-")
        ),
    );
    set("JUJU_AGENT_SOCKET_NETWORK", "unix".into());
    set("JUJU_API_ADDRESSES", "127.0.0.1:17070".into());
    set("JUJU_PRINCIPAL_UNIT", String::new());
    for proxy in [
        "JUJU_CHARM_HTTP_PROXY",
        "JUJU_CHARM_HTTPS_PROXY",
        "JUJU_CHARM_FTP_PROXY",
        "JUJU_CHARM_NO_PROXY",
    ] {
        set(proxy, String::new());
    }
    if let Some(hook) = spec.dispatch_path.strip_prefix("hooks/") {
        set("JUJU_HOOK_NAME", hook.to_string());
    }
    if let Some((endpoint, id)) = &spec.relation {
        set("JUJU_RELATION", endpoint.clone());
        set("JUJU_RELATION_ID", format!("{endpoint}:{id}"));
    }
    if let Some(v) = &spec.remote_app {
        set("JUJU_REMOTE_APP", v.clone());
    }
    if let Some(v) = &spec.remote_unit {
        set("JUJU_REMOTE_UNIT", v.clone());
    }
    if let Some(v) = &spec.departing_unit {
        set("JUJU_DEPARTING_UNIT", v.clone());
    }
    if let Some(v) = &spec.workload {
        set("JUJU_WORKLOAD_NAME", v.clone());
    }
    if let Some(v) = &spec.secret_id {
        set("JUJU_SECRET_ID", v.clone());
    }
    if let Some(v) = &spec.secret_label {
        set("JUJU_SECRET_LABEL", v.clone());
    }
    if let Some(v) = spec.secret_revision {
        set("JUJU_SECRET_REVISION", v.to_string());
    }
    if let Some((name, id)) = &spec.action {
        set("JUJU_ACTION_NAME", name.clone());
        set("JUJU_ACTION_UUID", id.clone());
        set("JUJU_ACTION_ID", id.clone());
    }
    for (k, v) in &spec.extra_env {
        set(k, v.clone());
    }
    env
}

/// What one run of `dispatch` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatched {
    /// The unit it ran on.
    pub unit: String,
    /// The dispatch path, e.g. `hooks/install`.
    pub event: String,
    /// The exit code; `None` when the process was killed (by a signal or the timeout).
    pub exit_code: Option<i32>,
    /// Whether it was killed for running longer than the timeout.
    pub timed_out: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// The hook tools it called, in order.
    pub tool_calls: Vec<ToolCall>,
    /// Wall-clock time of the dispatch.
    pub duration: Duration,
}

impl Dispatched {
    /// Whether `dispatch` exited 0.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// How many times it called `tool`.
    pub fn calls_to(&self, tool: &str) -> usize {
        self.tool_calls.iter().filter(|c| c.tool == tool).count()
    }

    fn status(&self) -> String {
        match (self.exit_code, self.timed_out) {
            (_, true) => "timed out".into(),
            (Some(code), _) => format!("exit status {code}"),
            (None, _) => "killed by a signal".into(),
        }
    }
}

/// The dispatches of a multi-event helper, in order. A helper stops at the first failed
/// hook, which is then the last entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes(pub Vec<Dispatched>);

impl Outcomes {
    /// Whether every hook succeeded.
    pub fn succeeded(&self) -> bool {
        self.0.iter().all(Dispatched::succeeded)
    }

    /// The first failed hook.
    pub fn failure(&self) -> Option<&Dispatched> {
        self.0.iter().find(|d| !d.succeeded())
    }

    /// `unit event-name` for each dispatch, in order (e.g. `kratos/0 install`).
    pub fn events(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|d| {
                let name = d.event.split_once('/').map(|(_, n)| n).unwrap_or(&d.event);
                format!("{} {name}", d.unit)
            })
            .collect()
    }

    /// All tool calls made, in order.
    pub fn tool_calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.0.iter().flat_map(|d| d.tool_calls.iter())
    }

    /// `Ok(self)` when every hook succeeded, else [`EmulatorError::HookFailed`] naming
    /// the first failed hook with its stderr.
    pub fn check(self) -> Result<Outcomes, EmulatorError> {
        match self.failure() {
            None => Ok(self),
            Some(d) => Err(EmulatorError::HookFailed {
                unit: d.unit.clone(),
                event: d.event.clone(),
                status: d.status(),
                stderr: d.stderr.clone(),
            }),
        }
    }

    fn push(&mut self, dispatched: Dispatched) -> bool {
        let ok = dispatched.succeeded();
        self.0.push(dispatched);
        ok
    }
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStatus {
    /// The action finished without `action-fail`.
    Completed,
    /// `action-fail` was called, or the hook failed.
    Failed,
}

/// The result of an action run.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionOutcome {
    /// Completed or failed.
    pub status: ActionStatus,
    /// `action-set` results, nested at the dots of their keys.
    pub results: serde_json::Map<String, Value>,
    /// The `action-fail` message, or `exit status N` when the hook failed.
    pub message: Option<String>,
    /// `action-log` messages.
    pub logs: Vec<String>,
    /// The dispatch that ran the action; `None` when Juju would not have queued it (its
    /// parameters did not validate), so the charm never ran.
    pub dispatch: Option<Dispatched>,
}

/// The parts of metadata.yaml the agent acts on.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
struct CharmMetadata {
    name: String,
    containers: BTreeMap<String, serde_yaml_ng::Value>,
    requires: BTreeMap<String, EndpointMetadata>,
    provides: BTreeMap<String, EndpointMetadata>,
    peers: BTreeMap<String, EndpointMetadata>,
    #[serde(rename = "extra-bindings")]
    extra_bindings: BTreeMap<String, serde_yaml_ng::Value>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
struct EndpointMetadata {
    interface: String,
}

impl CharmMetadata {
    fn endpoint(&self, name: &str) -> Option<&EndpointMetadata> {
        self.requires
            .get(name)
            .or_else(|| self.provides.get(name))
            .or_else(|| self.peers.get(name))
    }
}

/// Plays the Juju unit agent for one application's units. See the module docs.
pub struct Emulator {
    charm_dir: PathBuf,
    metadata: CharmMetadata,
    /// The actions of actions.yaml: parameter defaults and schemas.
    actions: ActionSchemas,
    config_defaults: ModelState,
    workdir: tempfile::TempDir,
    tools_dir: PathBuf,
    state_path: PathBuf,
    juju_version: String,
    env: BTreeMap<String, String>,
    unit_env: BTreeMap<String, BTreeMap<String, String>>,
    command_prefix: Vec<String>,
    unit_command_prefix: BTreeMap<String, Vec<String>>,
    timeout: Duration,
    next_action_id: u32,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("charm_dir", &self.charm_dir)
            .field("workdir", &self.workdir.path())
            .finish_non_exhaustive()
    }
}

fn read_yaml_file(charm_dir: &Path, name: &str) -> Result<Option<String>, EmulatorError> {
    let path = charm_dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", &path)(e)),
    }
}

impl Emulator {
    /// An emulator for the charm in `charm_dir`, with the `juju-emulator` binary found by
    /// [`find_emulator_binary`]. No unit is deployed yet.
    pub fn new(charm_dir: impl AsRef<Path>) -> Result<Emulator, EmulatorError> {
        Emulator::with_binary(charm_dir, find_emulator_binary()?)
    }

    /// An emulator using the given `juju-emulator` binary.
    pub fn with_binary(
        charm_dir: impl AsRef<Path>,
        binary: impl AsRef<Path>,
    ) -> Result<Emulator, EmulatorError> {
        let charm_dir = charm_dir.as_ref().to_path_buf();
        let charm_error = |message: String| EmulatorError::Charm {
            path: charm_dir.clone(),
            message,
        };
        let metadata_text = read_yaml_file(&charm_dir, "metadata.yaml")?
            .ok_or_else(|| charm_error("metadata.yaml is missing".into()))?;
        let metadata: CharmMetadata = serde_yaml_ng::from_str(&metadata_text)
            .map_err(|e| charm_error(format!("metadata.yaml: {e}")))?;
        if metadata.name.is_empty() {
            return Err(charm_error("metadata.yaml has no name".into()));
        }
        if !charm_dir.join("dispatch").is_file() {
            return Err(charm_error("dispatch is missing".into()));
        }
        let actions = match read_yaml_file(&charm_dir, "actions.yaml")? {
            None => ActionSchemas::default(),
            Some(text) => ActionSchemas::parse(&text).map_err(charm_error)?,
        };
        let mut state = ModelState::new(&metadata.name);
        if let Some(config) = read_yaml_file(&charm_dir, "config.yaml")? {
            state.load_config_defaults(&config)?;
        }
        state.bindings = metadata
            .requires
            .keys()
            .chain(metadata.provides.keys())
            .chain(metadata.peers.keys())
            .chain(metadata.extra_bindings.keys())
            .cloned()
            .collect();

        let binary = std::fs::canonicalize(binary.as_ref())
            .map_err(io_error("find the juju-emulator binary", binary.as_ref()))?;
        let workdir = tempfile::Builder::new()
            .prefix("juju-emulator-")
            .tempdir()
            .map_err(io_error(
                "create a work directory in",
                &std::env::temp_dir(),
            ))?;
        let tools_dir = workdir.path().join("tools");
        std::fs::create_dir(&tools_dir).map_err(io_error("create", &tools_dir))?;
        for tool in TOOL_NAMES {
            let link = tools_dir.join(tool);
            std::os::unix::fs::symlink(&binary, &link).map_err(io_error("link", &link))?;
        }
        let state_path = workdir.path().join("state.json");
        state.save(&state_path)?;
        Ok(Emulator {
            charm_dir,
            metadata,
            actions,
            config_defaults: state,
            workdir,
            tools_dir,
            state_path,
            juju_version: DEFAULT_JUJU_VERSION.into(),
            env: BTreeMap::new(),
            unit_env: BTreeMap::new(),
            command_prefix: Vec::new(),
            unit_command_prefix: BTreeMap::new(),
            timeout: Duration::from_secs(300),
            next_action_id: 1,
        })
    }

    /// Our application's name (metadata.yaml's `name`).
    pub fn app_name(&self) -> &str {
        &self.metadata.name
    }

    /// The containers declared in metadata.yaml.
    pub fn containers(&self) -> Vec<String> {
        self.metadata.containers.keys().cloned().collect()
    }

    /// The model state file the hook tools work on.
    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// The directory of hook tools (first on the hooks' `PATH`).
    pub fn tools_dir(&self) -> &Path {
        &self.tools_dir
    }

    /// The emulator's private directory (removed when the emulator is dropped).
    pub fn work_dir(&self) -> &Path {
        self.workdir.path()
    }

    /// The unit's copy of the charm directory (`JUJU_CHARM_DIR`).
    pub fn unit_charm_dir(&self, unit: &str) -> PathBuf {
        self.workdir
            .path()
            .join("units")
            .join(unit.replace('/', "-"))
            .join("charm")
    }

    /// Sets an environment variable for every hook (after Juju's, so it can override).
    pub fn set_env(&mut self, key: &str, value: &str) -> &mut Emulator {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// Sets an environment variable for one unit's hooks (e.g. its
    /// `JUJU_RS_OPS_CONTAINERS_DIR`).
    pub fn set_unit_env(&mut self, unit: &str, key: &str, value: &str) -> &mut Emulator {
        self.unit_env
            .entry(unit.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Runs `dispatch` through a command prefix, e.g. `["ip", "netns", "exec", "ns1"]`.
    pub fn set_command_prefix<S: Into<String>>(
        &mut self,
        prefix: impl IntoIterator<Item = S>,
    ) -> &mut Emulator {
        self.command_prefix = prefix.into_iter().map(Into::into).collect();
        self
    }

    /// Runs one unit's `dispatch` through its own command prefix (instead of the one
    /// from [`Emulator::set_command_prefix`]): e.g. `ip netns exec <ns>` puts the charm
    /// in its unit's network namespace, next to that unit's workload, as in a pod.
    pub fn set_unit_command_prefix<S: Into<String>>(
        &mut self,
        unit: &str,
        prefix: impl IntoIterator<Item = S>,
    ) -> &mut Emulator {
        self.unit_command_prefix.insert(
            unit.to_string(),
            prefix.into_iter().map(Into::into).collect(),
        );
        self
    }

    /// Sets `JUJU_VERSION` (default [`DEFAULT_JUJU_VERSION`]).
    pub fn set_juju_version(&mut self, version: &str) -> &mut Emulator {
        self.juju_version = version.to_string();
        self
    }

    /// How long one dispatch may run before it is killed (default 300 s).
    pub fn set_timeout(&mut self, timeout: Duration) -> &mut Emulator {
        self.timeout = timeout;
        self
    }

    /// The current model state.
    pub fn state(&self) -> Result<ModelState, EmulatorError> {
        Ok(ModelState::load(&self.state_path)?)
    }

    /// Replaces the model state.
    pub fn set_state(&self, state: &ModelState) -> Result<(), EmulatorError> {
        ModelState::update_locked(&self.state_path, |s| *s = state.clone())?;
        Ok(())
    }

    /// Edits the model state between events.
    pub fn update_state<R>(
        &self,
        f: impl FnOnce(&mut ModelState) -> R,
    ) -> Result<R, EmulatorError> {
        Ok(ModelState::update_locked(&self.state_path, f)?)
    }

    /// Runs `dispatch` for one event on one unit. A failing hook is reported in the
    /// result, never an error; errors are the emulator's own failures.
    pub fn dispatch(&mut self, unit: &str, spec: &EventSpec) -> Result<Dispatched, EmulatorError> {
        let state = self.state()?;
        if !state.units.contains_key(unit) {
            return Err(EmulatorError::UnknownUnit(unit.to_string()));
        }
        let charm_dir = self.prepare_unit_dir(unit)?;
        let calls_before = state.tool_calls.len();
        let mut env = hook_env(&state, unit, spec, &self.juju_version, &charm_dir);
        env.insert(
            "PATH".into(),
            format!(
                "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                self.tools_dir.display()
            ),
        );
        env.insert("LANG".into(), "C.UTF-8".into());
        env.insert(
            "JUJU_EMULATOR_STATE".into(),
            self.state_path.display().to_string(),
        );
        for key in ["HOME", "TMPDIR", "RUST_BACKTRACE", "LLVM_PROFILE_FILE"] {
            if let Some(v) = std::env::var_os(key) {
                env.insert(key.into(), v.to_string_lossy().into_owned());
            }
        }
        env.extend(self.env.clone());
        if let Some(extra) = self.unit_env.get(unit) {
            env.extend(extra.clone());
        }

        let dispatch = charm_dir.join("dispatch");
        let prefix = self
            .unit_command_prefix
            .get(unit)
            .unwrap_or(&self.command_prefix);
        let mut command = match prefix.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&dispatch);
                c
            }
            None => Command::new(&dispatch),
        };
        command
            .current_dir(&charm_dir)
            .env_clear()
            .envs(&env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so a timeout kills what the hook started too (whose
        // inherited pipes would otherwise keep the output open).
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let started = Instant::now();
        let mut child = command.spawn().map_err(io_error("run", &dispatch))?;
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        let mut timed_out = false;
        let status = loop {
            match child.try_wait().map_err(io_error("wait for", &dispatch))? {
                Some(status) => break status,
                None if started.elapsed() > self.timeout => {
                    timed_out = true;
                    kill_process_group(child.id());
                    // Killing can only fail if it already exited; wait() tells.
                    let _ = child.kill();
                    break child.wait().map_err(io_error("wait for", &dispatch))?;
                }
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        };
        let duration = started.elapsed();
        let collect = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
            h.and_then(|h| h.join().ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let (stdout, stderr) = (collect(stdout), collect(stderr));
        let state = self.state()?;
        let tool_calls = state
            .tool_calls
            .get(calls_before..)
            .unwrap_or_default()
            .to_vec();
        Ok(Dispatched {
            unit: unit.to_string(),
            event: spec.dispatch_path.clone(),
            exit_code: if timed_out { None } else { status.code() },
            timed_out,
            stdout,
            stderr,
            tool_calls,
            duration,
        })
    }

    /// Copies the charm into the unit's own charm directory the first time (regular files
    /// are copied; symlinks are recreated pointing at their resolved target, so a
    /// `dispatch` linked to a freshly built binary keeps following it).
    fn prepare_unit_dir(&self, unit: &str) -> Result<PathBuf, EmulatorError> {
        let target = self.unit_charm_dir(unit);
        if !target.exists() {
            copy_tree(&self.charm_dir, &target)?;
        }
        Ok(target)
    }

    fn run_all(
        &mut self,
        outcomes: &mut Outcomes,
        runs: Vec<(String, EventSpec)>,
    ) -> Result<bool, EmulatorError> {
        for (unit, spec) in runs {
            if !outcomes.push(self.dispatch(&unit, &spec)?) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs `runs` in order into fresh outcomes, stopping at the first failure.
    fn run_fresh(&mut self, runs: Vec<(String, EventSpec)>) -> Result<Outcomes, EmulatorError> {
        let mut outcomes = Outcomes::default();
        self.run_all(&mut outcomes, runs)?;
        Ok(outcomes)
    }

    /// Runs `spec` on each of our units.
    fn on_each_unit(&mut self, spec: EventSpec) -> Result<Outcomes, EmulatorError> {
        let runs = self
            .our_units()?
            .into_iter()
            .map(|u| (u, spec.clone()))
            .collect();
        self.run_fresh(runs)
    }

    fn our_units(&self) -> Result<Vec<String>, EmulatorError> {
        Ok(self.state()?.units.keys().cloned().collect())
    }

    /// Deploys `count` units (`<app>/0`, `<app>/1`, ...); the first is the leader. Each
    /// new unit after the first also joins the peer relations of the others.
    pub fn deploy(&mut self, count: usize) -> Result<Outcomes, EmulatorError> {
        let mut outcomes = Outcomes::default();
        for i in 0..count {
            let step = if i == 0 {
                let unit = format!("{}/0", self.app_name());
                self.deploy_unit(&unit, true)?
            } else {
                self.add_unit()?.1
            };
            outcomes.0.extend(step.0);
            if !outcomes.succeeded() {
                break;
            }
        }
        Ok(outcomes)
    }

    /// Brings one unit up as Juju 3.6 does on Kubernetes: `install`, `-relation-created`
    /// for every relation of the application (peers included), `leader-elected` (leader)
    /// or `leader-settings-changed`, `config-changed`, `start`, `<container>-pebble-ready`
    /// for each container, then `-joined`/`-changed` for the remote units of existing
    /// relations. Peer `-joined` events for other units come from [`Emulator::add_unit`].
    pub fn deploy_unit(&mut self, unit: &str, leader: bool) -> Result<Outcomes, EmulatorError> {
        let peers: Vec<(String, String)> = self
            .metadata
            .peers
            .iter()
            .map(|(name, meta)| (name.clone(), meta.interface.clone()))
            .collect();
        let relations = self.update_state(|s| {
            s.add_unit(unit).status = StatusRecord::new("maintenance", "installing charm software");
            if leader {
                s.leader = Some(unit.to_string());
            }
            for (endpoint, interface) in &peers {
                if s.relations_on(endpoint).next().is_none() {
                    let id = s.allocate_relation_id();
                    let app = s.app_name.clone();
                    s.relations
                        .push(Relation::peer(id, endpoint, interface, &app));
                }
            }
            for relation in &mut s.relations {
                relation.local_units.insert(unit.to_string());
            }
            s.relations.clone()
        })?;
        let mut outcomes = Outcomes::default();
        let mut runs = vec![(unit.to_string(), EventSpec::hook("install"))];
        for relation in &relations {
            runs.push((
                unit.to_string(),
                EventSpec::relation("created", relation, None),
            ));
        }
        let leadership = if leader {
            "leader-elected"
        } else {
            "leader-settings-changed"
        };
        runs.push((unit.to_string(), EventSpec::hook(leadership)));
        runs.push((unit.to_string(), EventSpec::hook("config-changed")));
        runs.push((unit.to_string(), EventSpec::hook("start")));
        if !self.run_all(&mut outcomes, runs)? {
            return Ok(outcomes);
        }
        self.update_state(|s| {
            if let Some(u) = s.unit_mut(unit) {
                if u.status == StatusRecord::new("maintenance", "installing charm software") {
                    u.status = StatusRecord::default();
                }
            }
        })?;
        let mut runs: Vec<(String, EventSpec)> = self
            .containers()
            .iter()
            .map(|c| (unit.to_string(), EventSpec::pebble_ready(c)))
            .collect();
        let app = self.app_name().to_string();
        for relation in relations.iter().filter(|r| !r.is_peer(&app)) {
            for remote in &relation.remote_units {
                runs.push((
                    unit.to_string(),
                    EventSpec::relation("joined", relation, Some(remote)),
                ));
                runs.push((
                    unit.to_string(),
                    EventSpec::relation("changed", relation, Some(remote)),
                ));
            }
            if relation
                .app_data
                .get(&relation.remote_app)
                .is_some_and(|b| !b.is_empty())
            {
                runs.push((
                    unit.to_string(),
                    EventSpec::relation("changed", relation, None),
                ));
            }
        }
        self.run_all(&mut outcomes, runs)?;
        Ok(outcomes)
    }

    /// Adds a unit (`juju add-unit`): deploys it as a non-leader, then runs the peer
    /// `-joined`/`-changed` events on it for each existing peer and on each existing
    /// peer for it. Returns the new unit's name.
    pub fn add_unit(&mut self) -> Result<(String, Outcomes), EmulatorError> {
        let state = self.state()?;
        let next = state
            .units
            .keys()
            .filter_map(|u| u.rsplit_once('/').and_then(|(_, n)| n.parse::<u32>().ok()))
            .map(|n| n + 1)
            .max()
            .unwrap_or(0);
        let unit = format!("{}/{next}", self.app_name());
        let existing: Vec<String> = state.units.keys().cloned().collect();
        let mut outcomes = self.deploy_unit(&unit, false)?;
        if !outcomes.succeeded() {
            return Ok((unit, outcomes));
        }
        let app = self.app_name().to_string();
        let peers: Vec<Relation> = self
            .state()?
            .relations
            .into_iter()
            .filter(|r| r.is_peer(&app))
            .collect();
        let mut runs = Vec::new();
        for relation in &peers {
            for other in &existing {
                for (on, about) in [(&unit, other), (other, &unit)] {
                    runs.push((
                        on.clone(),
                        EventSpec::relation("joined", relation, Some(about)),
                    ));
                    runs.push((
                        on.clone(),
                        EventSpec::relation("changed", relation, Some(about)),
                    ));
                }
            }
        }
        self.run_all(&mut outcomes, runs)?;
        Ok((unit, outcomes))
    }

    /// Removes a unit (`juju remove-unit`): its peers get `-departed`; the unit gets
    /// `-departed` for each peer (`JUJU_DEPARTING_UNIT` is itself), `stop` and `remove`,
    /// while `goal-state` says it is `dying` (so the last unit sees no planned units).
    /// Then it leaves the model (and leadership, which no one takes over until
    /// [`Emulator::set_leader`]).
    pub fn remove_unit(&mut self, unit: &str) -> Result<Outcomes, EmulatorError> {
        let state = self.state()?;
        if !state.units.contains_key(unit) {
            return Err(EmulatorError::UnknownUnit(unit.to_string()));
        }
        let app = state.app_name.clone();
        let mut runs = Vec::new();
        for relation in state.relations.iter().filter(|r| r.is_peer(&app)) {
            for other in relation.local_units.iter().filter(|u| *u != unit) {
                for (on, about) in [(other.as_str(), unit), (unit, other.as_str())] {
                    let mut spec = EventSpec::relation("departed", relation, Some(about));
                    spec.departing_unit = Some(unit.to_string());
                    runs.push((on.to_string(), spec));
                }
            }
        }
        runs.push((unit.to_string(), EventSpec::hook("stop")));
        runs.push((unit.to_string(), EventSpec::hook("remove")));
        // Its life is dying from here on: goal-state no longer plans it.
        self.update_state(|s| {
            if let Some(u) = s.unit_mut(unit) {
                u.dying = true;
            }
        })?;
        let mut outcomes = Outcomes::default();
        if self.run_all(&mut outcomes, runs)? {
            self.update_state(|s| {
                s.units.remove(unit);
                for relation in &mut s.relations {
                    relation.local_units.remove(unit);
                }
                if s.leader.as_deref() == Some(unit) {
                    s.leader = None;
                }
            })?;
        }
        Ok(outcomes)
    }

    /// Integrates with a remote application (`juju integrate`). `relation` says the
    /// endpoint, remote application, remote units with their databags and the remote
    /// application databag; its id is assigned here (and returned) and its interface taken
    /// from metadata.yaml when empty. Every unit of ours gets `-relation-created`; then
    /// each remote unit joins (`-joined`, `-changed` on each of our units) and finally,
    /// when the remote application has data, an application `-changed`.
    pub fn add_relation(
        &mut self,
        mut relation: Relation,
    ) -> Result<(u32, Outcomes), EmulatorError> {
        let endpoint = self
            .metadata
            .endpoint(&relation.endpoint)
            .ok_or_else(|| EmulatorError::UnknownEndpoint(relation.endpoint.clone()))?;
        if relation.interface.is_empty() {
            relation.interface = endpoint.interface.clone();
        }
        let joining: Vec<String> = std::mem::take(&mut relation.remote_units)
            .into_iter()
            .collect();
        let units = self.our_units()?;
        let (id, snapshot) = self.update_state(|s| {
            relation.id = s.allocate_relation_id();
            relation.local_units = s.units.keys().cloned().collect();
            s.relations.push(relation.clone());
            (relation.id, relation.clone())
        })?;
        let mut outcomes = Outcomes::default();
        let created = units
            .iter()
            .map(|u| (u.clone(), EventSpec::relation("created", &snapshot, None)))
            .collect();
        if !self.run_all(&mut outcomes, created)? {
            return Ok((id, outcomes));
        }
        for remote in &joining {
            self.update_state(|s| {
                if let Some(r) = s.relation_mut(id) {
                    r.remote_units.insert(remote.clone());
                }
            })?;
            let mut runs = Vec::new();
            for unit in &units {
                runs.push((
                    unit.clone(),
                    EventSpec::relation("joined", &snapshot, Some(remote)),
                ));
                runs.push((
                    unit.clone(),
                    EventSpec::relation("changed", &snapshot, Some(remote)),
                ));
            }
            if !self.run_all(&mut outcomes, runs)? {
                return Ok((id, outcomes));
            }
        }
        if snapshot
            .app_data
            .get(&snapshot.remote_app)
            .is_some_and(|b| !b.is_empty())
        {
            let runs = units
                .iter()
                .map(|u| (u.clone(), EventSpec::relation("changed", &snapshot, None)))
                .collect();
            self.run_all(&mut outcomes, runs)?;
        }
        Ok((id, outcomes))
    }

    fn relation(&self, id: u32) -> Result<Relation, EmulatorError> {
        self.state()?
            .relation(id)
            .cloned()
            .ok_or(EmulatorError::UnknownRelation(id))
    }

    /// Replaces the remote application's databag and runs the application
    /// `-relation-changed` on each of our units.
    pub fn set_remote_app_data<K: Into<String>, V: Into<String>>(
        &mut self,
        id: u32,
        data: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Outcomes, EmulatorError> {
        self.set_remote_data(id, None, data)
    }

    /// Replaces a remote unit's databag and runs `-relation-changed` about it on each of
    /// our units.
    pub fn set_remote_unit_data<K: Into<String>, V: Into<String>>(
        &mut self,
        id: u32,
        remote_unit: &str,
        data: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Outcomes, EmulatorError> {
        self.set_remote_data(id, Some(remote_unit), data)
    }

    /// Replaces the databag of `remote_unit`, or of the remote application without one,
    /// and runs `-relation-changed` about it on each of our units.
    fn set_remote_data<K: Into<String>, V: Into<String>>(
        &mut self,
        id: u32,
        remote_unit: Option<&str>,
        data: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Outcomes, EmulatorError> {
        let relation = self.relation(id)?;
        let bag: Databag = data
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.update_state(|s| {
            if let Some(r) = s.relation_mut(id) {
                match remote_unit {
                    Some(unit) => r.unit_data.insert(unit.to_string(), bag),
                    None => r.app_data.insert(r.remote_app.clone(), bag),
                };
            }
        })?;
        self.on_each_unit(EventSpec::relation("changed", &relation, remote_unit))
    }

    /// Removes a relation (`juju remove-relation`): each remote unit departs
    /// (`-departed` with `JUJU_DEPARTING_UNIT` on each of our units), then each of our
    /// units gets `-relation-broken`, and the relation leaves the model.
    pub fn remove_relation(&mut self, id: u32) -> Result<Outcomes, EmulatorError> {
        let relation = self.relation(id)?;
        let units = self.our_units()?;
        let mut outcomes = Outcomes::default();
        for remote in &relation.remote_units {
            self.update_state(|s| {
                if let Some(r) = s.relation_mut(id) {
                    r.remote_units.remove(remote);
                }
            })?;
            let runs = units
                .iter()
                .map(|u| {
                    let mut spec = EventSpec::relation("departed", &relation, Some(remote));
                    spec.departing_unit = Some(remote.clone());
                    (u.clone(), spec)
                })
                .collect();
            if !self.run_all(&mut outcomes, runs)? {
                return Ok(outcomes);
            }
        }
        let runs = units
            .iter()
            .map(|u| (u.clone(), EventSpec::relation("broken", &relation, None)))
            .collect();
        if self.run_all(&mut outcomes, runs)? {
            self.update_state(|s| s.relations.retain(|r| r.id != id))?;
        }
        Ok(outcomes)
    }

    /// Sets config values (`juju config`; `Value::Null` resets an option to its default)
    /// and runs `config-changed` on every unit.
    pub fn set_config<K: Into<String>, V: Into<Value>>(
        &mut self,
        values: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Outcomes, EmulatorError> {
        let defaults = self.config_defaults.config.clone();
        let values: Vec<(String, Value)> = values
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.update_state(|s| {
            for (key, value) in values {
                if value.is_null() {
                    match defaults.get(&key) {
                        Some(default) => s.config.insert(key, default.clone()),
                        None => s.config.remove(&key),
                    };
                } else {
                    s.config.insert(key, value);
                }
            }
        })?;
        self.on_every_unit("config-changed")
    }

    /// Runs one hook without details (`update-status`, `upgrade-charm`, ...) on every unit.
    pub fn on_every_unit(&mut self, hook: &str) -> Result<Outcomes, EmulatorError> {
        self.on_each_unit(EventSpec::hook(hook))
    }

    /// `update-status` on every unit.
    pub fn update_status(&mut self) -> Result<Outcomes, EmulatorError> {
        self.on_every_unit("update-status")
    }

    /// Moves leadership to `unit`: it gets `leader-elected`; the deposed leader, if any,
    /// gets `leader-settings-changed`.
    pub fn set_leader(&mut self, unit: &str) -> Result<Outcomes, EmulatorError> {
        let previous = self.update_state(|s| {
            if !s.units.contains_key(unit) {
                return Err(EmulatorError::UnknownUnit(unit.to_string()));
            }
            Ok(s.leader.replace(unit.to_string()))
        })??;
        let mut runs = vec![(unit.to_string(), EventSpec::hook("leader-elected"))];
        if let Some(old) = previous.filter(|old| old != unit) {
            runs.push((old, EventSpec::hook("leader-settings-changed")));
        }
        self.run_fresh(runs)
    }

    /// Runs `secret-changed` for a secret on each of our units that consumes it (tracks a
    /// revision or has a consumer label), with `JUJU_SECRET_ID` and that unit's label.
    /// Add the new revision first (e.g. [`crate::state::Secret::add_revision`]
    /// in [`Emulator::update_state`]).
    pub fn secret_changed(&mut self, secret_id: &str) -> Result<Outcomes, EmulatorError> {
        let state = self.state()?;
        let secret = state
            .secret(secret_id)
            .cloned()
            .ok_or_else(|| EmulatorError::Charm {
                path: self.state_path.clone(),
                message: format!("no secret {secret_id} in the model"),
            })?;
        let runs = state
            .units
            .keys()
            .filter(|u| secret.tracked.contains_key(*u) || secret.consumer_labels.contains_key(*u))
            .filter(|u| secret.owner.app() != unit_app(u))
            .map(|u| {
                let spec = EventSpec {
                    secret_id: Some(secret.id.clone()),
                    secret_label: secret.consumer_labels.get(u).cloned(),
                    ..EventSpec::hook("secret-changed")
                };
                (u.clone(), spec)
            })
            .collect();
        self.run_fresh(runs)
    }

    /// Runs an action on a unit (`juju run <unit> <action> key=value...`), with the
    /// parameter defaults from actions.yaml under the given params.
    ///
    /// As in Juju, the parameters (defaults filled in) must validate against the action's
    /// schema from actions.yaml first: when they do not, the charm does not run and the
    /// outcome is `Failed` with Juju's message (`validation failed: (root) : "email"
    /// property is missing`, ...) and no dispatch.
    pub fn run_action(
        &mut self,
        unit: &str,
        name: &str,
        params: serde_json::Map<String, Value>,
    ) -> Result<ActionOutcome, EmulatorError> {
        let schema = self
            .actions
            .get(name)
            .ok_or_else(|| EmulatorError::UnknownAction(name.to_string()))?;
        let all = match schema.prepare(params) {
            Ok(all) => all,
            Err(message) => {
                return Ok(ActionOutcome {
                    status: ActionStatus::Failed,
                    results: serde_json::Map::new(),
                    message: Some(message),
                    logs: Vec::new(),
                    dispatch: None,
                })
            }
        };
        let id = self.next_action_id.to_string();
        self.next_action_id += 1;
        self.update_state(|s| {
            s.action = Some(ActionRun {
                name: name.to_string(),
                id: id.clone(),
                unit: unit.to_string(),
                params: all,
                results: serde_json::Map::new(),
                failed: false,
                message: None,
                logs: Vec::new(),
            })
        })?;
        let dispatch = self.dispatch(unit, &EventSpec::action(name, &id));
        let run = self.update_state(|s| s.action.take())?;
        let dispatch = dispatch?;
        let run = run.ok_or_else(|| EmulatorError::Charm {
            path: self.state_path.clone(),
            message: "the action record vanished from the state during the action".into(),
        })?;
        let (status, message) = if !dispatch.succeeded() {
            (
                ActionStatus::Failed,
                run.message.or(Some(dispatch.status())),
            )
        } else if run.failed {
            (ActionStatus::Failed, run.message)
        } else {
            (ActionStatus::Completed, run.message)
        };
        Ok(ActionOutcome {
            status,
            results: run.results,
            message,
            logs: run.logs,
            dispatch: Some(dispatch),
        })
    }
}

/// Kills a process group with `kill -KILL -<pgid>` (no libc binding needed for a test
/// tool); failures are ignored, as the group may be gone already.
fn kill_process_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        // A read error ends the capture; what was read so far is still reported.
        let _ = pipe.read_to_end(&mut buffer);
        buffer
    })
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), EmulatorError> {
    std::fs::create_dir_all(to).map_err(io_error("create", to))?;
    for entry in std::fs::read_dir(from).map_err(io_error("list", from))? {
        let entry = entry.map_err(io_error("list", from))?;
        let name = entry.file_name();
        if name == ".unit-state.db" || name == "__pycache__" || name == ".git" {
            continue;
        }
        let source = entry.path();
        let target = to.join(&name);
        let kind = entry.file_type().map_err(io_error("inspect", &source))?;
        if kind.is_symlink() {
            let resolved = std::fs::canonicalize(&source).map_err(io_error("resolve", &source))?;
            std::os::unix::fs::symlink(&resolved, &target).map_err(io_error("link", &target))?;
        } else if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).map_err(io_error("copy", &source))?;
        }
    }
    Ok(())
}
