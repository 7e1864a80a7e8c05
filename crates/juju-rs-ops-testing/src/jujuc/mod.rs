//! Juju's hook tools, implemented on a [`ModelState`]: what the unit agent does when a
//! charm runs `relation-get`, `status-set`, `secret-add`, ...
//!
//! [`run_tool`] takes the tool's name, argv and stdin and returns its stdout, or a
//! [`ToolFailure`] with Juju's exit code (1 for a failed command, 2 for a usage error) and
//! Juju's `ERROR ...` text on stderr. The flags, defaults, output formats and error texts
//! follow Juju 3.6's `worker/uniter/runner/jujuc` commands (gnuflag parsing: flags and
//! arguments may be mixed, `--` ends the flags, boolean flags take Go-style values such as
//! `--application=False`) and the argv Python `ops` sends (`ops.hookcmds`).
//!
//! Where the emulator is simpler than Juju:
//! - Writes take effect at once. Juju buffers relation data, ports, state and secrets
//!   until the hook succeeds (a failed hook rolls them back); statuses and logs are
//!   immediate in both.
//! - `relation-set -r X:Y` ignores the endpoint part, as Juju's parser does; a unit reads
//!   any unit databag the relation holds (Juju only allows members and the departing one).
//! - Secrets: every unit (owner or consumer) tracks a revision, as Juju 3.3.1+ does; the
//!   first `secret-get` starts tracking the latest one. Content is stored decoded, as
//!   UTF-8 text (`#base64` values that are not text are stored lossily). A consumer needs
//!   a grant to its application or unit; an application-owned secret is readable by all
//!   units of the owning application and managed (set, grant, revoke, remove, info) only
//!   by its leader. `secret-info-get`'s `access` list uses relation ids as scopes.
//!   Rotation and expiry are recorded but never fire events.
//! - `opened-ports --endpoints` reports every port as open on all endpoints (`(*)`).
//! - `goal-state` reports every unit and relation member as `active`.
//! - `network-get` reports the unit's address for every known binding unless the state
//!   overrides the binding.
//! - `config-get --all` prints the effective config (options without a default that are
//!   not set are absent rather than null).
//! - Storage, metrics, credentials, payloads and reboots are not emulated: those tools
//!   fail with a message saying so.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::state::{
    secret_xid, unit_app, ActionRun, ModelState, Network, PortRange, Relation, Secret, SecretOwner,
    ToolCall, UnitState,
};

// One module per family of tools, each adding its tools as methods of `Call`; `cli`
// parses argv and writes output for all of them.
mod actions;
mod charm_state;
mod cli;
mod config;
mod leadership_and_misc;
mod ports_and_network;
mod relations;
mod secrets;
mod status;

use cli::*;

/// Who runs a tool, and in which hook: what the unit agent knows from the hook context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolContext {
    /// The unit running the hook (`JUJU_UNIT_NAME`).
    pub unit: String,
    /// The hook's relation (`JUJU_RELATION_ID`), the default for `-r`.
    pub relation_id: Option<u32>,
    /// `JUJU_REMOTE_UNIT`, the default unit of `relation-get`.
    pub remote_unit: Option<String>,
    /// `JUJU_REMOTE_APP`.
    pub remote_app: Option<String>,
    /// `JUJU_ACTION_NAME` when an action runs.
    pub action_name: Option<String>,
    /// `JUJU_DISPATCH_PATH`, recorded with each tool call.
    pub hook: Option<String>,
}

impl ToolContext {
    /// A context for `unit` outside any relation or action.
    pub fn for_unit(unit: &str) -> ToolContext {
        ToolContext {
            unit: unit.to_string(),
            ..ToolContext::default()
        }
    }

    /// Reads the hook context from Juju's environment variables.
    pub fn from_vars<I, K, V>(vars: I) -> ToolContext
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut ctx = ToolContext::default();
        for (key, value) in vars {
            let value: String = value.into();
            if value.is_empty() {
                continue;
            }
            match key.as_ref() {
                "JUJU_UNIT_NAME" => ctx.unit = value,
                "JUJU_RELATION_ID" => {
                    ctx.relation_id = value.rsplit(':').next().and_then(|id| id.parse().ok())
                }
                "JUJU_REMOTE_UNIT" => ctx.remote_unit = Some(value),
                "JUJU_REMOTE_APP" => ctx.remote_app = Some(value),
                "JUJU_ACTION_NAME" => ctx.action_name = Some(value),
                "JUJU_DISPATCH_PATH" => ctx.hook = Some(value),
                _ => {}
            }
        }
        ctx
    }

    /// Reads the hook context from this process's environment.
    pub fn from_env() -> ToolContext {
        ToolContext::from_vars(std::env::vars())
    }
}

/// A tool that exited non-zero: Juju's exit code and stderr (`ERROR ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("exit status {code}: {}", stderr.trim_end())]
pub struct ToolFailure {
    /// 1 when the command failed, 2 for a usage error (bad flags or arguments).
    pub code: i32,
    /// What the tool printed on stderr (`ERROR ...\n`).
    pub stderr: String,
}

impl ToolFailure {
    /// A usage error (exit 2), as Juju reports errors from parsing the command line.
    pub fn usage(message: impl fmt::Display) -> ToolFailure {
        ToolFailure {
            code: 2,
            stderr: format!("ERROR {message}\n"),
        }
    }

    /// A failed command (exit 1).
    pub fn failed(message: impl fmt::Display) -> ToolFailure {
        ToolFailure {
            code: 1,
            stderr: format!("ERROR {message}\n"),
        }
    }
}

/// Every hook tool name the emulator answers to (the emulator makes one link per name).
pub const TOOL_NAMES: &[&str] = &[
    "action-fail",
    "action-get",
    "action-log",
    "action-set",
    "application-version-set",
    "close-port",
    "config-get",
    "goal-state",
    "is-leader",
    "juju-log",
    "leader-get",
    "leader-set",
    "network-get",
    "open-port",
    "opened-ports",
    "relation-get",
    "relation-ids",
    "relation-list",
    "relation-model-get",
    "relation-set",
    "resource-get",
    "secret-add",
    "secret-get",
    "secret-grant",
    "secret-ids",
    "secret-info-get",
    "secret-remove",
    "secret-revoke",
    "secret-set",
    "state-delete",
    "state-get",
    "state-set",
    "status-get",
    "status-set",
    "unit-get",
    // Present in Juju, not emulated: they fail saying so.
    "add-metric",
    "credential-get",
    "juju-reboot",
    "pod-spec-get",
    "pod-spec-set",
    "storage-add",
    "storage-get",
    "storage-list",
];

/// Runs one hook tool on `state` for the unit in `ctx`, recording the call in
/// `state.tool_calls`. Returns the tool's stdout.
///
/// ```
/// use juju_rs_ops_testing::jujuc::{run_tool, ToolContext};
/// use juju_rs_ops_testing::state::ModelState;
/// let mut state = ModelState::new("kratos").with_unit("kratos/0").with_leader("kratos/0");
/// let ctx = ToolContext::for_unit("kratos/0");
/// let out = run_tool(&mut state, &ctx, "is-leader", &["--format=json".into()], b"").unwrap();
/// assert_eq!(out, b"true\n");
/// run_tool(&mut state, &ctx, "status-set", &["active".into(), "ready".into()], b"").unwrap();
/// assert_eq!(state.units["kratos/0"].status.message, "ready");
/// ```
pub fn run_tool(
    state: &mut ModelState,
    ctx: &ToolContext,
    tool: &str,
    args: &[String],
    stdin: &[u8],
) -> Result<Vec<u8>, ToolFailure> {
    state.tool_calls.push(ToolCall {
        unit: ctx.unit.clone(),
        hook: ctx.hook.clone().unwrap_or_default(),
        tool: tool.to_string(),
        args: args.to_vec(),
    });
    if !state.units.contains_key(&ctx.unit) {
        return Err(ToolFailure::failed(format!(
            "unit {:?} is not a unit of application {:?} in the emulated model",
            ctx.unit, state.app_name
        )));
    }
    let mut call = Call {
        st: state,
        ctx,
        stdin,
    };
    match tool {
        "action-fail" => call.action_fail(args),
        "action-get" => call.action_get(args),
        "action-log" => call.action_log(args),
        "action-set" => call.action_set(args),
        "application-version-set" => call.application_version_set(args),
        "close-port" => call.port(args, false),
        "config-get" => call.config_get(args),
        "goal-state" => call.goal_state(args),
        "is-leader" => call.is_leader(args),
        "juju-log" => call.juju_log(args),
        "leader-get" => call.leader_get(args),
        "leader-set" => call.leader_set(args),
        "network-get" => call.network_get(args),
        "open-port" => call.port(args, true),
        "opened-ports" => call.opened_ports(args),
        "relation-get" => call.relation_get(args),
        "relation-ids" => call.relation_ids(args),
        "relation-list" => call.relation_list(args),
        "relation-model-get" => call.relation_model_get(args),
        "relation-set" => call.relation_set(args),
        "resource-get" => call.resource_get(args),
        "secret-add" => call.secret_add(args),
        "secret-get" => call.secret_get(args),
        "secret-grant" => call.secret_grant(args),
        "secret-ids" => call.secret_ids(args),
        "secret-info-get" => call.secret_info_get(args),
        "secret-remove" => call.secret_remove(args),
        "secret-revoke" => call.secret_revoke(args),
        "secret-set" => call.secret_set(args),
        "state-delete" => call.state_delete(args),
        "state-get" => call.state_get(args),
        "state-set" => call.state_set(args),
        "status-get" => call.status_get(args),
        "status-set" => call.status_set(args),
        "unit-get" => call.unit_get(args),
        _ if TOOL_NAMES.contains(&tool) => Err(ToolFailure::failed(format!(
            "{tool} is not supported by the juju-rs-ops emulator"
        ))),
        _ => Err(ToolFailure::failed(format!("unknown hook tool {tool:?}"))),
    }
}

const NOT_RUNNING_ACTION: &str = "not running an action";
const NOT_LEADER: &str = "this unit is not the leader";

// ---------------------------------------------------------------------------------------
// The tools.

struct Call<'a> {
    st: &'a mut ModelState,
    ctx: &'a ToolContext,
    stdin: &'a [u8],
}

type Out = Result<Vec<u8>, ToolFailure>;

impl Call<'_> {
    fn unit(&mut self) -> Result<&mut UnitState, ToolFailure> {
        let name = &self.ctx.unit;
        self.st
            .units
            .get_mut(name)
            .ok_or_else(|| ToolFailure::failed(format!("unit {name:?} not found")))
    }

    fn leader(&self) -> bool {
        self.st.is_leader(&self.ctx.unit)
    }

    /// The unit's address (empty when the state has none).
    fn address(&self) -> String {
        self.st
            .units
            .get(&self.ctx.unit)
            .map(|u| u.address.clone())
            .unwrap_or_default()
    }

    /// Reads a `--file` argument: `-` is stdin.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, ToolFailure> {
        if path == "-" {
            return Ok(self.stdin.to_vec());
        }
        std::fs::read(path).map_err(|e| ToolFailure::failed(format!("open {path}: {e}")))
    }
}

fn rfc3339_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    rfc3339(now)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The model and helpers every family's tests share.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Relation;

    pub(super) fn s(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    pub(super) fn model() -> ModelState {
        ModelState::new("kratos")
            .with_unit("kratos/0")
            .with_unit("kratos/1")
            .with_leader("kratos/0")
            .with_config("log_level", "info")
            .with_config("port", 4433)
            .with_config("dev", false)
            .with_relation(
                Relation::new(3, "pg-database", "postgresql_client", "postgresql-k8s")
                    .with_remote_unit("postgresql-k8s/0", [("endpoints", "db:5432")])
                    .with_remote_app_data([("username", "u"), ("password", "p")]),
            )
            .with_relation(
                Relation::peer(1, "kratos-peers", "kratos_peers", "kratos")
                    .with_local_unit("kratos/0")
                    .with_local_unit("kratos/1"),
            )
    }

    pub(super) fn run(st: &mut ModelState, ctx: &ToolContext, tool: &str, args: &[&str]) -> Out {
        run_tool(st, ctx, tool, &s(args), b"")
    }

    pub(super) fn text(out: Out) -> String {
        String::from_utf8(out.unwrap()).unwrap()
    }

    /// What a tool that must succeed prints.
    pub(super) fn stdout(
        st: &mut ModelState,
        ctx: &ToolContext,
        tool: &str,
        args: &[&str],
    ) -> String {
        text(run(st, ctx, tool, args))
    }

    /// How a tool that must fail fails.
    pub(super) fn failure(
        st: &mut ModelState,
        ctx: &ToolContext,
        tool: &str,
        args: &[&str],
    ) -> ToolFailure {
        run(st, ctx, tool, args).expect_err("the tool should fail")
    }

    pub(super) fn relation_ctx(unit: &str, remote_unit: Option<&str>) -> ToolContext {
        ToolContext {
            unit: unit.into(),
            relation_id: Some(3),
            remote_unit: remote_unit.map(String::from),
            remote_app: Some("postgresql-k8s".into()),
            action_name: None,
            hook: Some("hooks/pg-database-relation-changed".into()),
        }
    }

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
