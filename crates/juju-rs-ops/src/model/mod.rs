//! The typed, cached view of the Juju model over hook tools.
//!
//! [`Model`] is the charm's only door to Juju. Every hook tool costs a process spawn and
//! a round trip to the unit agent, so:
//! - every read is cached for the life of the `Model` (one dispatch): asking twice runs
//!   the tool once;
//! - writes update the cache, so a read after a write sees the write without asking Juju;
//! - writes are skipped when the cached state already says the same (a databag key that
//!   already holds the value, a port already open, a status already set in this hook).
//!
//! The argv of every tool is the one Python `ops` (3.8, `ops.hookcmds`) passes, so
//! anything that runs `ops` charms (Juju, or our emulator) runs ours.
//!
//! ```
//! use std::rc::Rc;
//! use juju_rs_ops::{Event, Model};
//! use juju_rs_ops::tools::{ToolError, ToolRunner};
//!
//! // A stand-in for Juju: this unit leads.
//! struct Leader;
//! impl ToolRunner for Leader {
//!     fn run(&self, tool: &str, args: &[String], _: Option<&[u8]>) -> Result<Vec<u8>, ToolError> {
//!         assert_eq!((tool, args), ("is-leader", &["--format=json".to_string()][..]));
//!         Ok(b"true".to_vec())
//!     }
//! }
//! let event = Event::from_vars([("JUJU_UNIT_NAME", "kratos/0")]);
//! let model = Model::new(Rc::new(Leader), &event);
//! assert!(model.is_leader().unwrap());
//! assert!(model.is_leader().unwrap()); // cached: is-leader ran once
//! ```

mod actions;
mod decode;
mod error;
mod network;
mod ports;
pub mod relation_cache;
mod relations;
mod secrets;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::event::{Event, EventKind};
use crate::status::{Status, StatusKind};
use crate::tools::{ToolError, ToolRunner};

pub use error::ModelError;
pub use network::{Address, BindAddress, Goal, GoalState, NetworkInfo};
pub use ports::{Port, Protocol};
pub use relations::{Bag, Databag, Relation};
pub use secrets::{SecretInfo, SecretOptions, SecretOwner, SecretRead, SecretRotate};

/// How long Juju guarantees a unit stays leader after `is-leader` answered `true`: the
/// uniter's leadership tracker claims a lease of twice this and renews it when this much
/// is left, answering `true` only in between.
pub const LEADERSHIP_GUARANTEE: std::time::Duration = std::time::Duration::from_secs(30);

/// A JSON object, as `config-get` and `action-get` print them.
pub type JsonMap = serde_json::Map<String, Value>;

/// The Juju model as seen from this unit during one dispatch. See the module docs.
pub struct Model {
    runner: Rc<dyn ToolRunner>,
    unit_name: String,
    app_name: String,
    model_name: String,
    model_uuid: String,
    /// The relation the event is about, with the remote app Juju named for it.
    event_relation: Option<(u32, Option<String>)>,
    /// The relation being broken in a `relation-broken` event: hidden from
    /// [`Model::relations`], as ops does, so holistic code sees it gone.
    broken_relation: Option<u32>,
    /// The event, for what a remembered relation snapshot still holds.
    event: Event,
    /// The unit-state key of the relation snapshot, once the charm opted in.
    relation_cache_key: RefCell<Option<String>>,
    /// Endpoints whose remote bags the snapshot never holds (their data can be secret).
    relation_cache_private: RefCell<Vec<String>>,
    cache: RefCell<Cache>,
}

/// Everything read (or written) so far in this dispatch.
#[derive(Default)]
struct Cache {
    config: Option<JsonMap>,
    leader: Option<bool>,
    relations: BTreeMap<String, Vec<Relation>>,
    databags: BTreeMap<relations::BagKey, Databag>,
    unit_status: Option<Status>,
    app_status: Option<Status>,
    workload_version: Option<String>,
    ports: Option<BTreeSet<Port>>,
    action_params: Option<JsonMap>,
    resources: BTreeMap<String, PathBuf>,
    networks: BTreeMap<String, NetworkInfo>,
    goal_state: Option<GoalState>,
    state: Option<Databag>,
    secrets: secrets::SecretCache,
}

impl Model {
    /// A model for the unit and event described by `event`, reaching Juju through
    /// `runner`. Nothing is read until asked for.
    pub fn new(runner: Rc<dyn ToolRunner>, event: &Event) -> Model {
        let event_relation = event
            .relation
            .as_ref()
            .map(|r| (r.id, r.remote_app.clone()));
        let broken_relation = match (&event.kind, &event.relation) {
            (EventKind::RelationBroken, Some(r)) => Some(r.id),
            _ => None,
        };
        Model {
            runner,
            unit_name: event.unit_name.clone(),
            app_name: event.app_name.clone(),
            model_name: event.model_name.clone(),
            model_uuid: event.model_uuid.clone(),
            event_relation,
            broken_relation,
            event: event.clone(),
            relation_cache_key: RefCell::new(None),
            relation_cache_private: RefCell::new(Vec::new()),
            cache: RefCell::default(),
        }
    }

    /// The hook-tool runner this model uses (shared, e.g. to flush logs at the end).
    pub fn runner(&self) -> Rc<dyn ToolRunner> {
        Rc::clone(&self.runner)
    }

    /// Opts in to remembering relations across hooks in the unit's state under `key`
    /// (see [`relation_cache`]): what an earlier successful hook read, and no event since
    /// invalidated, is answered without hook tools. Call [`Model::save_relation_cache`]
    /// at the end of a successful hook. Costs the `state-get` the model reads anyway.
    pub fn use_relation_cache(&self, key: &str) -> Result<(), ModelError> {
        self.use_relation_cache_except(key, &[])
    }

    /// [`Model::use_relation_cache`], except that the remote databags of relations on
    /// `private_endpoints` are never stored: the controller keeps unit state
    /// unencrypted, so name every endpoint whose remote data can carry a credential
    /// (they are read from Juju in every hook). Membership and this application's own
    /// bags on them are still remembered. A snapshot an earlier version stored with such
    /// bags is cleaned when read.
    pub fn use_relation_cache_except(
        &self,
        key: &str,
        private_endpoints: &[&str],
    ) -> Result<(), ModelError> {
        *self.relation_cache_key.borrow_mut() = Some(key.to_string());
        *self.relation_cache_private.borrow_mut() =
            private_endpoints.iter().map(|e| e.to_string()).collect();
        let Some(text) = self.state_value(key)? else {
            return Ok(());
        };
        // An unreadable snapshot (another version's) is as good as none.
        let Ok(snapshot) = serde_json::from_str::<relation_cache::Snapshot>(&text) else {
            return Ok(());
        };
        let snapshot = snapshot
            .without_remote_bags_of(
                &self.relation_cache_private.borrow(),
                &self.app_name,
                &self.unit_name,
            )
            .still_valid_for(&self.event, &self.app_name);
        let mut cache = self.cache.borrow_mut();
        for (endpoint, relations) in snapshot.relations() {
            cache.relations.entry(endpoint).or_insert(relations);
        }
        for (key, bag) in snapshot.bags {
            cache.databags.entry(key).or_insert(bag);
        }
        Ok(())
    }

    /// Stores what this hook knows of the relations (if the charm opted in with
    /// [`Model::use_relation_cache`]), writing only when it changed. Returns whether it
    /// wrote.
    pub fn save_relation_cache(&self) -> Result<bool, ModelError> {
        let Some(key) = self.relation_cache_key.borrow().clone() else {
            return Ok(false);
        };
        let snapshot = {
            let cache = self.cache.borrow();
            relation_cache::Snapshot::of(&cache.relations, &cache.databags, &self.app_name)
                .without_remote_bags_of(
                    &self.relation_cache_private.borrow(),
                    &self.app_name,
                    &self.unit_name,
                )
        };
        let text = String::from_utf8(encode_json(&snapshot)?).map_err(|e| ModelError::Invalid {
            what: "relation snapshot".to_string(),
            message: e.to_string(),
        })?;
        self.state_set(&Databag::from([(key, text)]))
    }

    /// This unit, e.g. `kratos/0`.
    pub fn unit_name(&self) -> &str {
        &self.unit_name
    }

    /// This application, e.g. `kratos`.
    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// The Juju model's name (`JUJU_MODEL_NAME`; in Kubernetes also the namespace).
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// The Juju model's uuid (`JUJU_MODEL_UUID`; empty if Juju did not set it), e.g. for
    /// the Juju topology labels COS expects.
    pub fn model_uuid(&self) -> &str {
        &self.model_uuid
    }

    // ----- config -------------------------------------------------------------------

    /// All config options that are set or have a default, as `config-get --format=json`
    /// prints them (options without a value are absent). Read once.
    pub fn config_json(&self) -> Result<JsonMap, ModelError> {
        if let Some(config) = &self.cache.borrow().config {
            return Ok(config.clone());
        }
        let out = self
            .call("config-get", args(["--format=json"]), None)
            .map_err(tool_error("reading config"))?;
        let config: JsonMap = decode_json_or_null("config-get", &out)?;
        self.cache.borrow_mut().config = Some(config.clone());
        Ok(config)
    }

    /// The config decoded into the charm's type. Unknown options are ignored unless the
    /// type says `#[serde(deny_unknown_fields)]`; options without a value are absent, so
    /// make them `Option`s or give them `#[serde(default)]`.
    ///
    /// Errors are [`ModelError::Config`] naming the option, e.g. for a blocked status.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, ModelError> {
        let config = self.config_json()?;
        decode::from_json_map(&config).map_err(|e| ModelError::Config {
            option: e.key,
            message: e.message,
        })
    }

    // ----- leadership ---------------------------------------------------------------

    /// Whether this unit is the leader (`is-leader --format=json`). Read once: Juju
    /// guarantees the answer for 30 s, longer than a hook should take.
    pub fn is_leader(&self) -> Result<bool, ModelError> {
        if let Some(leader) = self.cache.borrow().leader {
            return Ok(leader);
        }
        let out = self
            .call("is-leader", args(["--format=json"]), None)
            .map_err(tool_error("checking leadership"))?;
        let leader: bool = decode_json("is-leader", &out)?;
        self.cache.borrow_mut().leader = Some(leader);
        Ok(leader)
    }

    /// Asks Juju again whether this unit leads (`is-leader --format=json`), past the
    /// answer cached for the hook, and caches the new one. For work that relies on
    /// leadership for a while: a `true` holds for at least [`LEADERSHIP_GUARANTEE`] from
    /// the moment it is given (Juju's leadership tracker only says so while its lease
    /// has that long left), so work bounded by it never overlaps a successor's.
    pub fn confirm_leader(&self) -> Result<bool, ModelError> {
        self.cache.borrow_mut().leader = None;
        self.is_leader()
    }

    /// Fails with [`ModelError::NotLeader`] unless this unit leads.
    fn require_leader(&self, what: impl FnOnce() -> String) -> Result<(), ModelError> {
        if self.is_leader()? {
            Ok(())
        } else {
            Err(ModelError::NotLeader { what: what() })
        }
    }

    // ----- status -------------------------------------------------------------------

    /// This unit's workload status (`status-get --include-data --format=json
    /// --application=false`). Read once; [`Model::set_status`] updates it.
    pub fn status(&self) -> Result<Status, ModelError> {
        if let Some(status) = &self.cache.borrow().unit_status {
            return Ok(status.clone());
        }
        let out = self
            .call(
                "status-get",
                args(["--include-data", "--format=json", "--application=false"]),
                None,
            )
            .map_err(tool_error("reading the unit status"))?;
        let raw: RawStatus = decode_json("status-get", &out)?;
        let status = raw.into_status();
        self.cache.borrow_mut().unit_status = Some(status.clone());
        Ok(status)
    }

    /// The application status (`status-get ... --application=true`). Leader only, as in
    /// Juju. Read once; [`Model::set_app_status`] updates it.
    pub fn app_status(&self) -> Result<Status, ModelError> {
        self.require_leader(|| "read the application status".to_string())?;
        if let Some(status) = &self.cache.borrow().app_status {
            return Ok(status.clone());
        }
        let out = self
            .call(
                "status-get",
                args(["--include-data", "--format=json", "--application=true"]),
                None,
            )
            .map_err(tool_error("reading the application status"))?;
        let raw: RawAppStatus = decode_json("status-get --application=true", &out)?;
        let status = raw.application_status.into_status();
        self.cache.borrow_mut().app_status = Some(status.clone());
        Ok(status)
    }

    /// Sets this unit's workload status (`status-set --application=False <status> --
    /// <message>`), unless this dispatch already read or set exactly that status.
    /// `error` and `unknown` cannot be set ([`ModelError::Invalid`]).
    pub fn set_status(&self, status: &Status) -> Result<(), ModelError> {
        if self.cache.borrow().unit_status.as_ref() == Some(status) {
            return Ok(());
        }
        let argv = status_set_args(status, false)?;
        self.call("status-set", argv, None)
            .map_err(tool_error("setting the unit status"))?;
        self.cache.borrow_mut().unit_status = Some(status.clone());
        Ok(())
    }

    /// Sets the application status (`status-set --application=True ...`). Leader only.
    /// Skipped when this dispatch already read or set exactly that status.
    pub fn set_app_status(&self, status: &Status) -> Result<(), ModelError> {
        self.require_leader(|| "set the application status".to_string())?;
        if self.cache.borrow().app_status.as_ref() == Some(status) {
            return Ok(());
        }
        let argv = status_set_args(status, true)?;
        self.call("status-set", argv, None)
            .map_err(tool_error("setting the application status"))?;
        self.cache.borrow_mut().app_status = Some(status.clone());
        Ok(())
    }

    /// Sets the workload version shown by `juju status` (`application-version-set --
    /// <version>`). Skipped when this dispatch already set the same version.
    pub fn set_workload_version(&self, version: &str) -> Result<(), ModelError> {
        if self.cache.borrow().workload_version.as_deref() == Some(version) {
            return Ok(());
        }
        self.call("application-version-set", args(["--", version]), None)
            .map_err(tool_error("setting the workload version"))?;
        self.cache.borrow_mut().workload_version = Some(version.to_string());
        Ok(())
    }

    // ----- ports --------------------------------------------------------------------

    /// The ports this unit has open (`opened-ports --format=json`), sorted. Read once.
    /// Entries with a protocol other than tcp, udp or icmp are skipped with a warning.
    pub fn opened_ports(&self) -> Result<Vec<Port>, ModelError> {
        Ok(self.opened_port_set()?.into_iter().collect())
    }

    fn opened_port_set(&self) -> Result<BTreeSet<Port>, ModelError> {
        if let Some(ports) = &self.cache.borrow().ports {
            return Ok(ports.clone());
        }
        let out = self
            .call("opened-ports", args(["--format=json"]), None)
            .map_err(tool_error("listing opened ports"))?;
        let entries: Vec<String> = decode_json_or_null("opened-ports", &out)?;
        let mut ports = BTreeSet::new();
        for entry in entries {
            match Port::parse(&entry) {
                Some(port) => {
                    ports.insert(port);
                }
                None => tracing::warn!("ignoring opened port {entry:?}: unknown form"),
            }
        }
        self.cache.borrow_mut().ports = Some(ports.clone());
        Ok(ports)
    }

    /// Makes the unit's open ports exactly `wanted`: closes the ones not wanted, then
    /// opens the missing ones (`close-port 80/tcp`, `open-port 4433/tcp`). Returns
    /// whether anything changed.
    pub fn set_ports(&self, wanted: &[Port]) -> Result<bool, ModelError> {
        let current = self.opened_port_set()?;
        let wanted: BTreeSet<Port> = wanted.iter().copied().collect();
        let mut changed = false;
        for port in current.difference(&wanted) {
            self.port_tool("close-port", *port)?;
            changed = true;
        }
        for port in wanted.difference(&current) {
            self.port_tool("open-port", *port)?;
            changed = true;
        }
        Ok(changed)
    }

    /// Opens one port unless it is open already. Returns whether it was opened.
    pub fn open_port(&self, port: Port) -> Result<bool, ModelError> {
        if self.opened_port_set()?.contains(&port) {
            return Ok(false);
        }
        self.port_tool("open-port", port)?;
        Ok(true)
    }

    /// Closes one port if it is open. Returns whether it was closed.
    pub fn close_port(&self, port: Port) -> Result<bool, ModelError> {
        if !self.opened_port_set()?.contains(&port) {
            return Ok(false);
        }
        self.port_tool("close-port", port)?;
        Ok(true)
    }

    fn port_tool(&self, tool: &str, port: Port) -> Result<(), ModelError> {
        self.call(tool, vec![port.to_string()], None)
            .map_err(tool_error(format!("{tool} {port}")))?;
        let mut cache = self.cache.borrow_mut();
        if let Some(ports) = cache.ports.as_mut() {
            if tool == "open-port" {
                ports.insert(port);
            } else {
                ports.remove(&port);
            }
        }
        Ok(())
    }

    // ----- actions ------------------------------------------------------------------

    /// The action's parameters as `action-get --format=json` prints them. Read once.
    pub fn action_params_json(&self) -> Result<JsonMap, ModelError> {
        if let Some(params) = &self.cache.borrow().action_params {
            return Ok(params.clone());
        }
        let out = self
            .call("action-get", args(["--format=json"]), None)
            .map_err(tool_error("reading action parameters"))?;
        let params: JsonMap = decode_json_or_null("action-get", &out)?;
        self.cache.borrow_mut().action_params = Some(params.clone());
        Ok(params)
    }

    /// The action's parameters decoded into the charm's type. Errors are
    /// [`ModelError::Params`] naming the parameter, ready for [`Model::action_fail`].
    pub fn action_params<T: DeserializeOwned>(&self) -> Result<T, ModelError> {
        let params = self.action_params_json()?;
        decode::from_json_map(&params).map_err(|e| ModelError::Params {
            param: e.key,
            message: e.message,
        })
    }

    /// Sets action results (`action-set key=value ...`). Nested maps flatten to dotted
    /// keys (`{"a": {"b": 1}}` -> `a.b=1`) as ops does; strings go as they are, numbers
    /// and bools in JSON spelling, `null` as empty, lists as JSON text. Keys are checked
    /// against Juju's rule first ([`ModelError::Invalid`] names the key). Nothing runs
    /// for an empty map.
    ///
    /// Results travel on the command line (Juju offers no other way), so keep them
    /// small; they are never logged by this library.
    pub fn action_set(&self, results: &BTreeMap<String, Value>) -> Result<(), ModelError> {
        let flat = actions::flatten_results(results).map_err(|message| ModelError::Invalid {
            what: "action results".to_string(),
            message,
        })?;
        if flat.is_empty() {
            return Ok(());
        }
        let argv = flat.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.call("action-set", argv, None)
            .map_err(tool_error("setting action results"))?;
        Ok(())
    }

    /// Reports progress of the running action (`action-log -- <message>`).
    pub fn action_log(&self, message: &str) -> Result<(), ModelError> {
        self.call("action-log", args(["--", message]), None)
            .map_err(tool_error("logging action progress"))?;
        Ok(())
    }

    /// Marks the running action failed (`action-fail -- <message>`). The dispatch should
    /// still exit 0: a non-zero exit would also fail the action, but with Juju's generic
    /// message instead of this one.
    pub fn action_fail(&self, message: &str) -> Result<(), ModelError> {
        self.call("action-fail", args(["--", message]), None)
            .map_err(tool_error("failing the action"))?;
        Ok(())
    }

    // ----- resources, network, goal state --------------------------------------------

    /// The local path of an attached resource (`resource-get <name>`). Read once.
    pub fn resource_get(&self, name: &str) -> Result<PathBuf, ModelError> {
        if let Some(path) = self.cache.borrow().resources.get(name) {
            return Ok(path.clone());
        }
        let out = self
            .call("resource-get", args([name]), None)
            .map_err(tool_error(format!("getting resource {name:?}")))?;
        let path = PathBuf::from(String::from_utf8_lossy(&out).trim());
        self.cache
            .borrow_mut()
            .resources
            .insert(name.to_string(), path.clone());
        Ok(path)
    }

    /// Network details of an endpoint binding (`network-get --format=json <binding>`).
    /// Read once per binding.
    pub fn network_get(&self, binding: &str) -> Result<NetworkInfo, ModelError> {
        if let Some(info) = self.cache.borrow().networks.get(binding) {
            return Ok(info.clone());
        }
        let out = self
            .call("network-get", args(["--format=json", binding]), None)
            .map_err(relation_tool_error(
                binding,
                format!("getting network info of {binding:?}"),
            ))?;
        let info: NetworkInfo = decode_json("network-get", &out)?;
        self.cache
            .borrow_mut()
            .networks
            .insert(binding.to_string(), info.clone());
        Ok(info)
    }

    /// The model's goal state for this application (`goal-state --format=json`). Read
    /// once.
    pub fn goal_state(&self) -> Result<GoalState, ModelError> {
        if let Some(goal) = &self.cache.borrow().goal_state {
            return Ok(goal.clone());
        }
        let out = self
            .call("goal-state", args(["--format=json"]), None)
            .map_err(tool_error("reading the goal state"))?;
        let goal: GoalState = decode_json("goal-state", &out)?;
        self.cache.borrow_mut().goal_state = Some(goal.clone());
        Ok(goal)
    }

    /// How many units this application is planned to have: the goal state's units that
    /// are not dying (as ops counts them).
    pub fn planned_units(&self) -> Result<usize, ModelError> {
        Ok(self
            .goal_state()?
            .units
            .values()
            .filter(|goal| goal.status != "dying")
            .count())
    }

    // ----- server-side unit state ---------------------------------------------------

    /// All of this unit's server-side state (`state-get --format=json`). Read once;
    /// [`Model::state_set`] and [`Model::state_delete`] keep it current.
    pub fn state_get(&self) -> Result<Databag, ModelError> {
        if let Some(state) = &self.cache.borrow().state {
            return Ok(state.clone());
        }
        let out = self
            .call("state-get", args(["--format=json"]), None)
            .map_err(tool_error("reading unit state"))?;
        // Juju 4 prints `null` rather than `{}` when nothing is set.
        let state: Databag = decode_json_or_null("state-get", &out)?;
        self.cache.borrow_mut().state = Some(state.clone());
        Ok(state)
    }

    /// One key of this unit's server-side state (from [`Model::state_get`]).
    pub fn state_value(&self, key: &str) -> Result<Option<String>, ModelError> {
        Ok(self.state_get()?.get(key).cloned())
    }

    /// Sets server-side state keys (`state-set --file -`, a JSON map on stdin), only
    /// those whose value differs from the current state. Returns whether anything was
    /// written. Use [`Model::state_delete`] to remove a key.
    pub fn state_set(&self, changes: &Databag) -> Result<bool, ModelError> {
        let current = self.state_get()?;
        let delta: Databag = changes
            .iter()
            .filter(|(k, v)| current.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if delta.is_empty() {
            return Ok(false);
        }
        let stdin = encode_json(&delta)?;
        self.call("state-set", args(["--file", "-"]), Some(&stdin))
            .map_err(tool_error("writing unit state"))?;
        if let Some(state) = self.cache.borrow_mut().state.as_mut() {
            state.extend(delta);
        }
        Ok(true)
    }

    /// Deletes a server-side state key (`state-delete <key>`) if it is set. Returns
    /// whether it was.
    pub fn state_delete(&self, key: &str) -> Result<bool, ModelError> {
        if !self.state_get()?.contains_key(key) {
            return Ok(false);
        }
        self.call("state-delete", args([key]), None)
            .map_err(tool_error(format!("deleting unit state key {key:?}")))?;
        if let Some(state) = self.cache.borrow_mut().state.as_mut() {
            state.remove(key);
        }
        Ok(true)
    }

    // ----- plumbing -----------------------------------------------------------------

    /// Runs one hook tool. Logs the call at debug level: the tool and its arguments,
    /// except `action-set` values; stdin (relation data, state) is never logged.
    fn call(
        &self,
        tool: &str,
        argv: Vec<String>,
        stdin: Option<&[u8]>,
    ) -> Result<Vec<u8>, ToolError> {
        if tracing::enabled!(target: "juju_rs_ops::tools", tracing::Level::DEBUG) {
            let shown: Vec<&str> = if tool == "action-set" {
                argv.iter()
                    .map(|a| a.split_once('=').map_or(a.as_str(), |(k, _)| k))
                    .collect()
            } else {
                argv.iter().map(String::as_str).collect()
            };
            tracing::debug!(target: "juju_rs_ops::tools", "{tool} {}", shown.join(" "));
        }
        self.runner.run(tool, &argv, stdin)
    }
}

/// `status-get`'s unit output.
#[derive(serde::Deserialize)]
struct RawStatus {
    status: String,
    #[serde(default)]
    message: String,
}

impl RawStatus {
    fn into_status(self) -> Status {
        Status::new(StatusKind::parse(&self.status), self.message)
    }
}

/// `status-get --application=true`'s output.
#[derive(serde::Deserialize)]
struct RawAppStatus {
    #[serde(rename = "application-status")]
    application_status: RawStatus,
}

fn status_set_args(status: &Status, application: bool) -> Result<Vec<String>, ModelError> {
    if matches!(status.kind, StatusKind::Error | StatusKind::Unknown) {
        return Err(ModelError::Invalid {
            what: "status".to_string(),
            message: format!(
                "{:?} cannot be set; use active, blocked, maintenance or waiting",
                status.kind.as_str()
            ),
        });
    }
    // Python-style booleans, exactly as ops passes them (Go's flag parsing takes them).
    let flag = if application {
        "--application=True"
    } else {
        "--application=False"
    };
    Ok(args([flag, status.kind.as_str(), "--", &status.message]))
}

fn args<const N: usize>(parts: [&str; N]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// Wraps a tool failure with what was being done.
fn tool_error(action: impl Into<String>) -> impl FnOnce(ToolError) -> ModelError {
    let action = action.into();
    move |source| ModelError::Tool { action, source }
}

/// Like [`tool_error`], but Juju's "relation not found" becomes
/// [`ModelError::RelationNotFound`] (as ops maps it for relation and network tools).
fn relation_tool_error(
    relation: impl Into<String>,
    action: impl Into<String>,
) -> impl FnOnce(ToolError) -> ModelError {
    let relation = relation.into();
    let action = action.into();
    move |source| match &source {
        ToolError::Failed { stderr, .. }
            if stderr.to_lowercase().contains("relation not found") =>
        {
            ModelError::RelationNotFound { relation }
        }
        _ => ModelError::Tool { action, source },
    }
}

/// Decodes a tool's JSON output. Messages never quote string values.
fn decode_json<T: DeserializeOwned>(what: &str, out: &[u8]) -> Result<T, ModelError> {
    serde_json::from_slice(out).map_err(|e| ModelError::Decode {
        what: what.to_string(),
        message: decode::redact_strings(&e.to_string()),
    })
}

/// Like [`decode_json`], with `null` read as the empty value.
fn decode_json_or_null<T: DeserializeOwned + Default>(
    what: &str,
    out: &[u8],
) -> Result<T, ModelError> {
    Ok(decode_json::<Option<T>>(what, out)?.unwrap_or_default())
}

fn encode_json(value: &impl serde::Serialize) -> Result<Vec<u8>, ModelError> {
    serde_json::to_vec(value).map_err(|e| ModelError::Invalid {
        what: "data to write".to_string(),
        message: e.to_string(),
    })
}
