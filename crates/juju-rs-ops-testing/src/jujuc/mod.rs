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

use super::state::{
    secret_xid, unit_app, ActionRun, ModelState, Network, PortRange, Relation, Secret, SecretOwner,
    ToolCall, UnitState,
};

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

// ---------------------------------------------------------------------------------------
// Command-line parsing, as Juju's gnuflag does it.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Bool,
    Value,
}

/// One flag: its names (the first is canonical; one-letter names take `-x`, longer ones
/// `--name`) and whether it takes a value.
#[derive(Clone, Copy)]
struct Flag {
    names: &'static [&'static str],
    takes: Takes,
}

const fn value(names: &'static [&'static str]) -> Flag {
    Flag {
        names,
        takes: Takes::Value,
    }
}

const fn boolean(names: &'static [&'static str]) -> Flag {
    Flag {
        names,
        takes: Takes::Bool,
    }
}

const FORMAT: Flag = value(&["format"]);
const RELATION: Flag = value(&["r", "relation"]);
const APP: Flag = boolean(&["app"]);
const FILE: Flag = value(&["file"]);

/// Parsed arguments: flag values by canonical name (with the spelling used, for error
/// messages) and positional arguments.
struct Args {
    flags: BTreeMap<&'static str, (String, String)>,
    positional: Vec<String>,
}

impl Args {
    fn get(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(|(_, v)| v.as_str())
    }

    fn spelled(&self, name: &str) -> String {
        self.flags
            .get(name)
            .map(|(s, _)| s.clone())
            .unwrap_or_else(|| format!("--{name}"))
    }

    /// A boolean flag, parsed as Go's `strconv.ParseBool` does.
    fn bool(&self, name: &str) -> Result<bool, ToolFailure> {
        match self.get(name) {
            None => Ok(false),
            Some(v) => parse_go_bool(v).ok_or_else(|| {
                ToolFailure::usage(format!(
                    "invalid value {v:?} for option {}: strconv.ParseBool: parsing {v:?}: invalid syntax",
                    self.spelled(name)
                ))
            }),
        }
    }

    /// Fails with Juju's "unrecognized args" when more than `max` positionals are left.
    fn at_most(&self, max: usize) -> Result<(), ToolFailure> {
        match self.positional.get(max..) {
            Some(extra) if !extra.is_empty() => Err(unrecognized(extra)),
            _ => Ok(()),
        }
    }
}

fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

fn unrecognized(extra: &[String]) -> ToolFailure {
    ToolFailure::usage(format!("unrecognized args: {}", go_quote_list(extra)))
}

fn parse_args(flags: &[Flag], args: &[String]) -> Result<Args, ToolFailure> {
    let mut parsed = Args {
        flags: BTreeMap::new(),
        positional: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            parsed.positional.extend(args[i..].iter().cloned());
            break;
        }
        let (dashes, body) = if let Some(body) = arg.strip_prefix("--") {
            (2, body)
        } else if let Some(body) = arg.strip_prefix('-').filter(|b| !b.is_empty()) {
            (1, body)
        } else {
            parsed.positional.push(arg.clone());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let spelled = format!("{}{name}", "-".repeat(dashes));
        let wanted_dashes = |n: &str| if n.len() == 1 { 1 } else { 2 };
        let flag = flags
            .iter()
            .find(|f| {
                f.names
                    .iter()
                    .any(|n| *n == name && wanted_dashes(n) == dashes)
            })
            .ok_or_else(|| {
                ToolFailure::usage(format!("option provided but not defined: {spelled}"))
            })?;
        let value = match (flag.takes, inline) {
            (_, Some(v)) => v,
            (Takes::Bool, None) => "true".to_string(),
            (Takes::Value, None) => {
                let v = args.get(i).cloned().ok_or_else(|| {
                    ToolFailure::usage(format!("option needs an argument: {spelled}"))
                })?;
                i += 1;
                v
            }
        };
        parsed.flags.insert(flag.names[0], (spelled, value));
    }
    Ok(parsed)
}

/// Output formats as Juju's `cmd.Output` writes them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Smart,
    Yaml,
    Json,
}

const SMART_FORMATS: &[&str] = &["smart", "yaml", "json"];
const YAML_FORMATS: &[&str] = &["yaml", "json"];

fn format_of(args: &Args, allowed: &[&str], default: Format) -> Result<Format, ToolFailure> {
    let Some(name) = args.get("format") else {
        return Ok(default);
    };
    let known = match name {
        "smart" => Some(Format::Smart),
        "yaml" => Some(Format::Yaml),
        "json" => Some(Format::Json),
        _ => None,
    };
    match known {
        Some(f) if allowed.contains(&name) => Ok(f),
        _ => Err(ToolFailure::usage(format!(
            "invalid value {name:?} for option --format: unknown format {name:?}"
        ))),
    }
}

fn write(format: Format, value: &Value) -> Vec<u8> {
    let text = match format {
        Format::Json => format!("{value}\n"),
        Format::Yaml => yaml(value),
        Format::Smart => smart(value),
    };
    text.into_bytes()
}

fn yaml(value: &Value) -> String {
    if value.is_null() {
        return String::new();
    }
    // Serialising a JSON value to YAML cannot fail: every JSON value is YAML.
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

/// Juju's FormatSmart: strings as they are, lists of strings one per line, booleans as
/// `True`/`False`, nothing for null or "", anything else as YAML.
fn smart(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        other => return yaml(other),
    };
    if text.is_empty() {
        text
    } else {
        text + "\n"
    }
}

/// `key=value` arguments (Juju's `keyvalues.Parse` with empty values allowed).
fn key_values(args: &[String]) -> Result<BTreeMap<String, String>, ToolFailure> {
    let mut out = BTreeMap::new();
    for arg in args {
        let Some((k, v)) = arg.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(ToolFailure::usage(format!(
                "expected \"key=value\", got {arg:?}"
            )));
        };
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(ToolFailure::usage(format!(
                "key {k:?} specified more than once"
            )));
        }
    }
    Ok(out)
}

/// A YAML (or JSON) map of scalars, read as Juju's yaml.v2 reads it into a
/// `map[string]string`: scalars become their text, null becomes "".
fn settings_from_yaml(data: &[u8]) -> Result<BTreeMap<String, String>, ToolFailure> {
    let text = String::from_utf8_lossy(data);
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|e| ToolFailure::failed(format!("yaml: {e}")))?;
    let map = match doc {
        serde_yaml_ng::Value::Null => return Ok(BTreeMap::new()),
        serde_yaml_ng::Value::Mapping(map) => map,
        other => {
            return Err(ToolFailure::failed(format!(
                "yaml: unmarshal errors:\n  cannot unmarshal !!{} into map[string]string",
                yaml_kind(&other)
            )))
        }
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let key = yaml_scalar(&k).ok_or_else(|| {
            ToolFailure::failed(format!(
                "yaml: unmarshal errors:\n  cannot unmarshal !!{} into string",
                yaml_kind(&k)
            ))
        })?;
        let value = yaml_scalar(&v).ok_or_else(|| {
            ToolFailure::failed(format!(
                "yaml: unmarshal errors:\n  cannot unmarshal !!{} into string",
                yaml_kind(&v)
            ))
        })?;
        out.insert(key, value);
    }
    Ok(out)
}

fn yaml_kind(v: &serde_yaml_ng::Value) -> &'static str {
    match v {
        serde_yaml_ng::Value::Sequence(_) => "seq",
        serde_yaml_ng::Value::Mapping(_) => "map",
        serde_yaml_ng::Value::Bool(_) => "bool",
        serde_yaml_ng::Value::Number(_) => "int",
        serde_yaml_ng::Value::Null => "null",
        _ => "str",
    }
}

fn yaml_scalar(v: &serde_yaml_ng::Value) -> Option<String> {
    match v {
        serde_yaml_ng::Value::Null => Some(String::new()),
        serde_yaml_ng::Value::Bool(b) => Some(b.to_string()),
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        serde_yaml_ng::Value::String(s) => Some(s.clone()),
        serde_yaml_ng::Value::Tagged(t) => yaml_scalar(&t.value),
        _ => None,
    }
}

fn to_value<K: Into<String>, V: Into<Value>>(map: impl IntoIterator<Item = (K, V)>) -> Value {
    Value::Object(map.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
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

    fn is_leader(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(0)?;
        Ok(write(
            format,
            &Value::Bool(self.st.is_leader(&self.ctx.unit)),
        ))
    }

    fn leader(&self) -> bool {
        self.st.is_leader(&self.ctx.unit)
    }

    /// Reads a `--file` argument: `-` is stdin.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, ToolFailure> {
        if path == "-" {
            return Ok(self.stdin.to_vec());
        }
        std::fs::read(path).map_err(|e| ToolFailure::failed(format!("open {path}: {e}")))
    }

    /// The relation named by `-r` (any of `endpoint:id` or `id`), else the hook's one.
    /// An unknown relation is a usage error, as Juju checks it while parsing flags.
    fn relation_id(&self, a: &Args) -> Result<Option<u32>, ToolFailure> {
        let Some(raw) = a.get("r") else {
            return Ok(self.ctx.relation_id);
        };
        let invalid = |why: &str| {
            ToolFailure::usage(format!(
                "invalid value {raw:?} for option {}: {why}",
                a.spelled("r")
            ))
        };
        let id: u32 = raw
            .rsplit(':')
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| invalid("invalid relation id"))?;
        if self.st.relation(id).is_none() {
            return Err(invalid("relation not found"));
        }
        Ok(Some(id))
    }

    fn required_relation(&self, a: &Args) -> Result<u32, ToolFailure> {
        self.relation_id(a)?
            .ok_or_else(|| ToolFailure::usage("no relation id specified"))
    }

    fn relation(&self, id: u32) -> Result<&Relation, ToolFailure> {
        self.st
            .relation(id)
            .ok_or_else(|| ToolFailure::failed("relation not found"))
    }

    fn relation_mut(&mut self, id: u32) -> Result<&mut Relation, ToolFailure> {
        self.st
            .relation_mut(id)
            .ok_or_else(|| ToolFailure::failed("relation not found"))
    }

    // --- config, leadership, status, logs -------------------------------------------

    fn config_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, boolean(&["a", "all"])], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(1)?;
        let all = a.bool("a")?;
        match a.positional.first() {
            Some(key) if all => Err(ToolFailure::usage(format!(
                "cannot use argument --all together with key {key:?}"
            ))),
            Some(key) => Ok(write(
                format,
                self.st.config.get(key).unwrap_or(&Value::Null),
            )),
            None => Ok(write(format, &to_value(self.st.config.clone()))),
        }
    }

    fn status_get(&self, args: &[String]) -> Out {
        let a = parse_args(
            &[
                FORMAT,
                boolean(&["include-data"]),
                boolean(&["application"]),
            ],
            args,
        )?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(0)?;
        let include_data = a.bool("include-data")?;
        let details = |s: &super::state::StatusRecord| {
            let mut d = Map::new();
            d.insert("status".into(), s.status.clone().into());
            if include_data {
                d.insert("message".into(), s.message.clone().into());
                d.insert("status-data".into(), json!({}));
            }
            Value::Object(d)
        };
        let plain = !include_data && format == Format::Smart;
        if a.bool("application")? {
            if !self.leader() {
                return Err(ToolFailure::failed(format!(
                    "finding application status: {NOT_LEADER}"
                )));
            }
            if plain {
                return Ok(write(format, &self.st.app_status.status.clone().into()));
            }
            let mut app = details(&self.st.app_status);
            let units: Map<String, Value> = self
                .st
                .units
                .iter()
                .map(|(name, u)| (name.clone(), details(&u.status)))
                .collect();
            if let Value::Object(m) = &mut app {
                m.insert("units".into(), Value::Object(units));
            }
            return Ok(write(format, &json!({ "application-status": app })));
        }
        let status = self
            .st
            .units
            .get(&self.ctx.unit)
            .map(|u| u.status.clone())
            .unwrap_or_default();
        if plain {
            return Ok(write(format, &status.status.into()));
        }
        Ok(write(format, &details(&status)))
    }

    fn status_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[boolean(&["application"])], args)?;
        let Some(status) = a.positional.first() else {
            return Err(ToolFailure::usage(
                "invalid args, require <status> [message] [data]",
            ));
        };
        const VALID: [&str; 4] = ["maintenance", "blocked", "waiting", "active"];
        if !VALID.contains(&status.as_str()) {
            return Err(ToolFailure::usage(format!(
                "invalid status {status:?}, expected one of [{}]",
                VALID.join(" ")
            )));
        }
        a.at_most(2)?;
        let record = super::state::StatusRecord::new(
            status,
            a.positional.get(1).map(String::as_str).unwrap_or(""),
        );
        if a.bool("application")? {
            if !self.leader() {
                return Err(ToolFailure::failed(NOT_LEADER));
            }
            self.st.app_status = record;
        } else {
            self.unit()?.status = record;
        }
        Ok(Vec::new())
    }

    fn application_version_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        let Some(version) = a.positional.first().cloned() else {
            return Err(ToolFailure::usage("no version specified"));
        };
        a.at_most(1)?;
        self.unit()?.workload_version = version;
        Ok(Vec::new())
    }

    fn juju_log(&mut self, args: &[String]) -> Out {
        let a = parse_args(
            &[boolean(&["debug"]), value(&["l", "log-level"]), FORMAT],
            args,
        )?;
        if a.positional.is_empty() {
            return Err(ToolFailure::usage("no message specified"));
        }
        let message = a.positional.join(" ");
        let mut level = "INFO".to_string();
        let mut records = Vec::new();
        if a.bool("debug")? {
            level = "DEBUG".into();
        } else if let Some(given) = a.get("l") {
            let upper = given.to_ascii_uppercase();
            let upper = if upper == "WARN" {
                "WARNING".into()
            } else {
                upper
            };
            if matches!(
                upper.as_str(),
                "TRACE" | "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL"
            ) {
                level = upper;
            } else {
                records.push(super::state::LogRecord {
                    level: "WARNING".into(),
                    message: format!("Specified log level of {given:?} is not valid"),
                });
            }
        }
        records.push(super::state::LogRecord { level, message });
        self.unit()?.logs.extend(records);
        Ok(Vec::new())
    }

    fn leader_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(1)?;
        match a.positional.first().filter(|k| *k != "-") {
            Some(key) => Ok(write(
                format,
                &self
                    .st
                    .leader_settings
                    .get(key)
                    .map(|v| Value::String(v.clone()))
                    .unwrap_or(Value::Null),
            )),
            None => Ok(write(format, &to_value(self.st.leader_settings.clone()))),
        }
    }

    fn leader_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        let settings = key_values(&a.positional)?;
        if !self.leader() {
            return Err(ToolFailure::failed(
                "cannot write leadership settings: cannot write settings: not the leader",
            ));
        }
        for (k, v) in settings {
            if v.is_empty() {
                self.st.leader_settings.remove(&k);
            } else {
                self.st.leader_settings.insert(k, v);
            }
        }
        Ok(Vec::new())
    }

    fn unit_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        let Some(setting) = a.positional.first() else {
            return Err(ToolFailure::usage("no setting specified"));
        };
        if setting != "private-address" && setting != "public-address" {
            return Err(ToolFailure::usage(format!("unknown setting {setting:?}")));
        }
        a.at_most(1)?;
        let address = self
            .st
            .units
            .get(&self.ctx.unit)
            .map(|u| u.address.clone())
            .unwrap_or_default();
        Ok(write(format, &Value::String(address)))
    }

    // --- relations ------------------------------------------------------------------

    fn relation_ids(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(1)?;
        let endpoint = match a.positional.first() {
            Some(name) => name.clone(),
            None => self
                .ctx
                .relation_id
                .and_then(|id| self.st.relation(id))
                .map(|r| r.endpoint.clone())
                .ok_or_else(|| ToolFailure::usage("no endpoint name specified"))?,
        };
        let mut relations: Vec<&Relation> = self.st.relations_on(&endpoint).collect();
        relations.sort_by_key(|r| r.id);
        let ids: Vec<Value> = relations.iter().map(|r| Value::String(r.key())).collect();
        Ok(write(format, &Value::Array(ids)))
    }

    fn relation_list(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, RELATION, APP], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(0)?;
        let id = self.required_relation(&a)?;
        let relation = self.relation(id)?;
        if a.bool("app")? {
            return Ok(write(format, &Value::String(relation.remote_app.clone())));
        }
        let members: Vec<Value> = if relation.is_peer(&self.st.app_name) {
            relation
                .local_units
                .iter()
                .filter(|u| **u != self.ctx.unit)
                .map(|u| Value::String(u.clone()))
                .collect()
        } else {
            relation
                .remote_units
                .iter()
                .map(|u| Value::String(u.clone()))
                .collect()
        };
        Ok(write(format, &Value::Array(members)))
    }

    fn relation_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, RELATION, APP], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        let id = self.required_relation(&a)?;
        let mut positional = a.positional.iter();
        let key = positional.next().filter(|k| *k != "-").cloned();
        let mut app = a.bool("app")?;
        // Juju's determineUnitOrAppName.
        let target = match positional.next() {
            Some(given) if app && given.contains('/') => unit_app(given).to_string(),
            Some(given) => given.clone(),
            None if app => self
                .ctx
                .remote_app
                .clone()
                .ok_or_else(|| ToolFailure::usage("no unit or application specified"))?,
            None => match (&self.ctx.remote_unit, &self.ctx.remote_app) {
                (Some(unit), _) => unit.clone(),
                (None, Some(remote_app)) => {
                    app = true;
                    remote_app.clone()
                }
                (None, None) => return Err(ToolFailure::usage("no unit or application specified")),
            },
        };
        let rest: Vec<String> = positional.cloned().collect();
        if !rest.is_empty() {
            return Err(unrecognized(&rest));
        }
        let relation = self.relation(id)?;
        let our_app = &self.st.app_name;
        let bag = if app {
            let readable = if target == *our_app {
                relation.is_peer(our_app) || self.leader()
            } else {
                target == relation.remote_app
            };
            if !readable {
                return Err(ToolFailure::failed("permission denied"));
            }
            relation.app_bag(&target)
        } else {
            let known = target == self.ctx.unit
                || relation.unit_data.contains_key(&target)
                || relation.remote_units.contains(&target)
                || relation.local_units.contains(&target);
            if !known {
                return Err(ToolFailure::failed(format!(
                    "cannot read settings for unit {target:?} in relation {:?}: unit {target:?}: settings not found",
                    relation.key()
                )));
            }
            relation.unit_bag(&target)
        };
        match key {
            Some(k) => Ok(write(
                format,
                &bag.get(&k)
                    .map(|v| Value::String(v.clone()))
                    .unwrap_or(Value::Null),
            )),
            None => Ok(write(format, &to_value(bag))),
        }
    }

    fn relation_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[RELATION, FILE, APP, FORMAT], args)?;
        let id = self.required_relation(&a)?;
        let overrides = key_values(&a.positional)?;
        let mut settings = match a.get("file") {
            Some(path) => settings_from_yaml(&self.read_file(path)?)?,
            None => BTreeMap::new(),
        };
        settings.extend(overrides);
        let app = a.bool("app")?;
        self.relation(id)?;
        if app && !self.leader() {
            return Err(ToolFailure::failed("cannot write relation settings"));
        }
        let (our_app, unit) = (self.st.app_name.clone(), self.ctx.unit.clone());
        let relation = self.relation_mut(id)?;
        let bag = if app {
            relation.app_data.entry(our_app).or_default()
        } else {
            relation.unit_data.entry(unit).or_default()
        };
        for (k, v) in settings {
            if v.is_empty() {
                bag.remove(&k);
            } else {
                bag.insert(k, v);
            }
        }
        Ok(Vec::new())
    }

    fn relation_model_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, RELATION], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(0)?;
        self.required_relation(&a)?;
        Ok(write(format, &json!({ "uuid": self.st.model_uuid })))
    }

    // --- actions ----------------------------------------------------------------------

    fn action(&mut self) -> Result<&mut ActionRun, ToolFailure> {
        let unit = self.ctx.unit.clone();
        match (&self.ctx.action_name, self.st.action.as_mut()) {
            (Some(_), Some(action)) if action.unit == unit => Ok(action),
            _ => Err(ToolFailure::failed(NOT_RUNNING_ACTION)),
        }
    }

    fn action_get(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(1)?;
        let params = Value::Object(self.action()?.params.clone());
        let answer = match a.positional.first() {
            None => params,
            Some(path) => path
                .split('.')
                .try_fold(&params, |v, key| v.get(key))
                .cloned()
                .unwrap_or(Value::Null),
        };
        Ok(write(format, &answer))
    }

    fn action_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        let mut pairs = Vec::new();
        for arg in &a.positional {
            let Some((key, value)) = arg.split_once('=') else {
                return Err(ToolFailure::usage(format!(
                    "argument {arg:?} must be of the form key...=value"
                )));
            };
            let keys: Vec<String> = key.split('.').map(String::from).collect();
            for k in &keys {
                if !valid_action_key(k) {
                    return Err(ToolFailure::usage(format!(
                        "key {k:?} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"
                    )));
                }
                if ["stdout", "stdout-encoding", "stderr", "stderr-encoding"].contains(&k.as_str())
                {
                    return Err(ToolFailure::usage(format!(
                        "cannot set reserved action key {k:?}"
                    )));
                }
            }
            pairs.push((keys, value.to_string()));
        }
        let action = self.action()?;
        for (keys, value) in pairs {
            insert_nested(&mut action.results, &keys, value);
        }
        Ok(Vec::new())
    }

    fn action_log(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        if a.positional.is_empty() {
            return Err(ToolFailure::usage("no message specified"));
        }
        let message = a.positional.join(" ");
        self.action()?.logs.push(message);
        Ok(Vec::new())
    }

    fn action_fail(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        a.at_most(1)?;
        let message = a.positional.first().cloned().unwrap_or_else(|| {
            "action failed without reason given, check action for errors".into()
        });
        let action = self.action()?;
        action.failed = true;
        action.message = Some(message);
        Ok(Vec::new())
    }

    // --- ports, network, resources, goal state ---------------------------------------

    fn port(&mut self, args: &[String], open: bool) -> Out {
        let a = parse_args(&[FORMAT, value(&["endpoints"])], args)?;
        let Some(raw) = a.positional.first() else {
            return Err(ToolFailure::usage("no port or range specified"));
        };
        a.at_most(1)?;
        let port: PortRange = raw.parse().map_err(ToolFailure::usage)?;
        let ports = &mut self.unit()?.opened_ports;
        if open {
            ports.insert(port);
        } else {
            ports.remove(&port);
        }
        Ok(Vec::new())
    }

    fn opened_ports(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, boolean(&["endpoints"])], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(0)?;
        let with_endpoints = a.bool("endpoints")?;
        let ports: Vec<Value> = self
            .unit()?
            .opened_ports
            .iter()
            .map(|p| {
                if with_endpoints {
                    Value::String(format!("{p} (*)"))
                } else {
                    Value::String(p.to_string())
                }
            })
            .collect();
        Ok(write(format, &Value::Array(ports)))
    }

    fn network_get(&self, args: &[String]) -> Out {
        let a = parse_args(
            &[
                FORMAT,
                RELATION,
                boolean(&["primary-address"]),
                boolean(&["bind-address"]),
                boolean(&["ingress-address"]),
                boolean(&["egress-subnets"]),
            ],
            args,
        )?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        let Some(binding) = a.positional.first() else {
            return Err(ToolFailure::usage("no arguments specified"));
        };
        a.at_most(1)?;
        self.relation_id(&a)?;
        let known = binding == "juju-info"
            || self.st.bindings.contains(binding)
            || self.st.networks.contains_key(binding);
        if !known {
            return Err(ToolFailure::failed(format!(
                "no network config found for binding {binding:?}"
            )));
        }
        let network = self.st.networks.get(binding).cloned().unwrap_or_else(|| {
            let address = self
                .st
                .units
                .get(&self.ctx.unit)
                .map(|u| u.address.clone())
                .unwrap_or_default();
            Network::for_address(&address)
        });
        let first_address = network
            .bind_addresses
            .iter()
            .flat_map(|b| b.addresses.iter())
            .map(|addr| Value::String(addr.value.clone()))
            .next()
            .unwrap_or(Value::Null);
        let mut picked = Vec::new();
        for (flag, key) in [
            ("primary-address", "primary-address"),
            ("bind-address", "bind-address"),
            ("ingress-address", "ingress-address"),
            ("egress-subnets", "egress-subnets"),
        ] {
            if a.bool(flag)? {
                let v = match key {
                    "ingress-address" => network
                        .ingress_addresses
                        .first()
                        .map(|s| Value::String(s.clone()))
                        .unwrap_or(Value::Null),
                    "egress-subnets" => json!(network.egress_subnets),
                    _ => first_address.clone(),
                };
                picked.push((key, v));
            }
        }
        if picked.len() == 1 {
            return Ok(write(format, &picked[0].1));
        }
        if !picked.is_empty() {
            return Ok(write(format, &to_value(picked)));
        }
        let binds: Vec<Value> = network
            .bind_addresses
            .iter()
            .map(|b| {
                json!({
                    "mac-address": b.mac_address,
                    "interface-name": b.interface_name,
                    "addresses": b.addresses.iter().map(|addr| json!({
                        "hostname": addr.hostname,
                        "value": addr.value,
                        "cidr": addr.cidr,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(write(
            format,
            &json!({
                "bind-addresses": binds,
                "egress-subnets": network.egress_subnets,
                "ingress-addresses": network.ingress_addresses,
            }),
        ))
    }

    fn resource_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        let Some(name) = a.positional.first() else {
            return Err(ToolFailure::usage("missing required resource name"));
        };
        a.at_most(1)?;
        match self.st.resources.get(name) {
            Some(path) => Ok(format!("{}\n", path.display()).into_bytes()),
            None => Err(ToolFailure::failed(format!(
                "could not download resource: HTTP request failed: Get https://controller:17070/units/unit-{}/resources/{name}: resource#{}/{name} not found",
                self.ctx.unit.replace('/', "-"),
                self.st.app_name
            ))),
        }
    }

    fn goal_state(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, YAML_FORMATS, Format::Yaml)?;
        a.at_most(0)?;
        let since = rfc3339_now().replace('T', " ");
        let goal = || json!({ "status": "active", "since": since });
        let units: Map<String, Value> = self.st.units.keys().map(|u| (u.clone(), goal())).collect();
        let mut relations: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for relation in &self.st.relations {
            let entry = relations.entry(relation.endpoint.clone()).or_default();
            entry.insert(relation.remote_app.clone(), goal());
            let members = if relation.is_peer(&self.st.app_name) {
                &relation.local_units
            } else {
                &relation.remote_units
            };
            for unit in members {
                entry.insert(unit.clone(), goal());
            }
        }
        Ok(write(
            format,
            &json!({ "units": units, "relations": relations }),
        ))
    }

    // --- charm state --------------------------------------------------------------------

    fn state_get(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, boolean(&["strict"])], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(1)?;
        let strict = a.bool("strict")?;
        let state = self.unit()?.state.clone();
        match a.positional.first().filter(|k| *k != "-") {
            None if state.is_empty() => Ok(write(format, &Value::Null)),
            None => Ok(write(format, &to_value(state))),
            Some(key) => match state.get(key) {
                Some(v) => Ok(write(format, &Value::String(v.clone()))),
                None if strict => Err(ToolFailure::failed(format!("{key:?} not found"))),
                None => Ok(write(format, &Value::String(String::new()))),
            },
        }
    }

    fn state_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[FILE], args)?;
        let overrides = key_values(&a.positional)?;
        let mut settings = match a.get("file") {
            Some(path) => settings_from_yaml(&self.read_file(path)?)?,
            None => BTreeMap::new(),
        };
        settings.extend(overrides);
        let state = &mut self.unit()?.state;
        for (k, v) in settings {
            if v.is_empty() {
                state.remove(&k);
            } else {
                state.insert(k, v);
            }
        }
        Ok(Vec::new())
    }

    fn state_delete(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        let Some(key) = a.positional.first().cloned() else {
            return Err(ToolFailure::usage("no key specified"));
        };
        a.at_most(1)?;
        self.unit()?.state.remove(&key);
        Ok(Vec::new())
    }

    // --- secrets --------------------------------------------------------------------

    /// Whether this unit may manage (set, grant, revoke, remove, read metadata) a secret.
    fn can_manage(&self, secret: &Secret) -> bool {
        match &secret.owner {
            SecretOwner::Unit(unit) => *unit == self.ctx.unit,
            SecretOwner::Application(app) => *app == self.st.app_name && self.leader(),
            // User secrets are managed by the user, never by a charm.
            SecretOwner::Model => false,
        }
    }

    /// Whether this unit may read a secret's content.
    fn can_read(&self, secret: &Secret) -> bool {
        let owned = match &secret.owner {
            SecretOwner::Unit(unit) => *unit == self.ctx.unit,
            SecretOwner::Application(app) => *app == self.st.app_name,
            SecretOwner::Model => false,
        };
        owned
            || secret.user_grants.contains(&self.st.app_name)
            || secret.grants.values().any(|grantees| {
                grantees.contains(&self.st.app_name) || grantees.contains(&self.ctx.unit)
            })
    }

    /// The index of the secret a URI names.
    fn secret_by_uri(&self, uri: &str) -> Result<usize, ToolFailure> {
        let xid = secret_xid(uri);
        self.st
            .secrets
            .iter()
            .position(|s| s.xid() == xid)
            .ok_or_else(|| ToolFailure::failed(format!("secret {xid:?} not found")))
    }

    /// The index of the secret a label names: an owner label of a secret this unit or its
    /// application owns, else this unit's consumer label.
    fn secret_by_label(&self, label: &str) -> Result<usize, ToolFailure> {
        let owned = |s: &Secret| match &s.owner {
            SecretOwner::Unit(unit) => *unit == self.ctx.unit,
            SecretOwner::Application(app) => *app == self.st.app_name,
            SecretOwner::Model => false,
        };
        self.st
            .secrets
            .iter()
            .position(|s| owned(s) && s.label.as_deref() == Some(label))
            .or_else(|| {
                self.st.secrets.iter().position(|s| {
                    s.consumer_labels.get(&self.ctx.unit).map(String::as_str) == Some(label)
                })
            })
            .ok_or_else(|| ToolFailure::failed(format!("secret {label:?} not found")))
    }

    fn secret(&self, index: usize) -> Result<&Secret, ToolFailure> {
        self.st
            .secrets
            .get(index)
            .ok_or_else(|| ToolFailure::failed("secret not found"))
    }

    fn secret_mut(&mut self, index: usize) -> Result<&mut Secret, ToolFailure> {
        self.st
            .secrets
            .get_mut(index)
            .ok_or_else(|| ToolFailure::failed("secret not found"))
    }

    fn check_label_free(&self, label: &str, except: Option<usize>) -> Result<(), ToolFailure> {
        let taken = self.st.secrets.iter().enumerate().any(|(i, s)| {
            Some(i) != except
                && s.owner.app() == self.st.app_name
                && s.label.as_deref() == Some(label)
        });
        if taken {
            return Err(ToolFailure::failed(format!(
                "secret with label {label:?} already exists"
            )));
        }
        Ok(())
    }

    fn secret_add(&mut self, args: &[String]) -> Out {
        let a = parse_args(UPSERT_FLAGS, args)?;
        if a.positional.is_empty() && a.get("file").is_none() {
            return Err(ToolFailure::usage("missing secret value or filename"));
        }
        let upsert = self.parse_upsert(&a, &a.positional)?;
        if upsert.content.is_empty() {
            return Err(ToolFailure::usage("empty secret value not valid"));
        }
        let owner = match upsert.owner.as_str() {
            "unit" => SecretOwner::Unit(self.ctx.unit.clone()),
            _ => {
                if !self.leader() {
                    return Err(ToolFailure::failed(NOT_LEADER));
                }
                SecretOwner::Application(self.st.app_name.clone())
            }
        };
        if let Some(label) = &upsert.label {
            self.check_label_free(label, None)?;
        }
        let mut secret = Secret::new(owner, upsert.content);
        while self.st.secrets.iter().any(|s| s.id == secret.id) {
            secret.id = super::state::new_secret_id();
        }
        secret.label = upsert.label;
        secret.description = upsert.description;
        secret.expire = upsert.expire;
        secret.rotate = upsert.rotate;
        secret.tracked.insert(self.ctx.unit.clone(), 1);
        let id = secret.id.clone();
        self.st.secrets.push(secret);
        Ok(format!("{id}\n").into_bytes())
    }

    fn secret_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(UPSERT_FLAGS, args)?;
        let Some(uri) = a.positional.first() else {
            return Err(ToolFailure::usage("missing secret URI"));
        };
        parse_secret_uri(uri)?;
        let upsert = self.parse_upsert(&a, &a.positional[1..])?;
        let index = self.secret_by_uri(uri)?;
        if !self.can_manage(self.secret(index)?) {
            return Err(ToolFailure::failed("permission denied"));
        }
        if let Some(label) = &upsert.label {
            self.check_label_free(label, Some(index))?;
        }
        let secret = self.secret_mut(index)?;
        // Juju 3.6 makes no new revision when the content is unchanged.
        if !upsert.content.is_empty() && secret.latest_content() != Some(&upsert.content) {
            secret.add_revision(upsert.content);
        }
        if upsert.label.is_some() {
            secret.label = upsert.label;
        }
        if upsert.description.is_some() {
            secret.description = upsert.description;
        }
        if upsert.expire.is_some() {
            secret.expire = upsert.expire;
        }
        if upsert.rotate.is_some() {
            secret.rotate = upsert.rotate;
        }
        Ok(Vec::new())
    }

    fn parse_upsert(&self, a: &Args, content_args: &[String]) -> Result<Upsert, ToolFailure> {
        let owner = a.get("owner").unwrap_or("application").to_string();
        if owner != "application" && owner != "unit" {
            return Err(ToolFailure::usage(format!(
                "secret owner {owner:?} not valid"
            )));
        }
        let rotate = a.get("rotate").map(String::from);
        if let Some(policy) = &rotate {
            const POLICIES: [&str; 7] = [
                "never",
                "hourly",
                "daily",
                "weekly",
                "monthly",
                "quarterly",
                "yearly",
            ];
            if !POLICIES.contains(&policy.as_str()) {
                return Err(ToolFailure::usage(format!(
                    "rotate policy {policy:?} not valid"
                )));
            }
        }
        let expire = a.get("expire").map(parse_expire).transpose()?;
        let mut content = BTreeMap::new();
        for arg in content_args {
            // Base64 padding may end a value: split at the first '=' that is not padding.
            let trimmed = arg.trim_end_matches('=');
            let Some(split) = trimmed.find('=').filter(|i| *i > 0) else {
                return Err(ToolFailure::usage(format!("key value {arg:?} not valid")));
            };
            let (key, value) = (&arg[..split], &arg[split + 1..]);
            if let Some(key) = key.strip_suffix("#file") {
                let data = std::fs::read(value).map_err(|e| {
                    ToolFailure::usage(format!("reading content for secret key {key:?}: {e}"))
                })?;
                add_secret_value(
                    &mut content,
                    key,
                    String::from_utf8_lossy(&data).into_owned(),
                )?;
            } else {
                add_encoded_secret_value(&mut content, key, value)?;
            }
        }
        if let Some(path) = a.get("file") {
            let data = self.read_file(path)?;
            for (key, value) in settings_from_yaml(&data)? {
                add_encoded_secret_value(&mut content, &key, &value)?;
            }
        }
        Ok(Upsert {
            owner,
            label: a.get("label").map(String::from),
            description: a.get("description").map(String::from),
            expire,
            rotate,
            content,
        })
    }

    fn secret_get(&mut self, args: &[String]) -> Out {
        let a = parse_args(
            &[
                FORMAT,
                value(&["label"]),
                boolean(&["peek"]),
                boolean(&["refresh"]),
            ],
            args,
        )?;
        let format = format_of(&a, YAML_FORMATS, Format::Yaml)?;
        let mut positional = a.positional.iter();
        let uri = positional.next();
        if let Some(uri) = uri {
            parse_secret_uri(uri)?;
        }
        let label = a.get("label").map(String::from);
        if uri.is_none() && label.is_none() {
            return Err(ToolFailure::usage("require either a secret URI or label"));
        }
        let (peek, refresh) = (a.bool("peek")?, a.bool("refresh")?);
        if peek && refresh {
            return Err(ToolFailure::usage(
                "specify one of --peek or --refresh but not both",
            ));
        }
        let key = positional.next().cloned();
        let rest: Vec<String> = positional.cloned().collect();
        if !rest.is_empty() {
            return Err(unrecognized(&rest));
        }
        let index = match (uri, &label) {
            (Some(uri), _) => self.secret_by_uri(uri)?,
            (None, Some(label)) => self.secret_by_label(label)?,
            (None, None) => return Err(ToolFailure::usage("require either a secret URI or label")),
        };
        let secret = self.secret(index)?;
        if !self.can_read(secret) {
            return Err(ToolFailure::failed("permission denied"));
        }
        let manage = self.can_manage(secret);
        let unit = self.ctx.unit.clone();
        let secret = self.secret_mut(index)?;
        if let (Some(_), Some(label)) = (uri, label) {
            if manage {
                secret.label = Some(label);
            } else {
                secret.consumer_labels.insert(unit.clone(), label);
            }
        }
        let latest = secret.latest_revision();
        let revision = if peek {
            latest
        } else if refresh {
            secret.tracked.insert(unit, latest);
            latest
        } else {
            *secret.tracked.entry(unit).or_insert(latest)
        };
        let content = secret.content(revision).cloned().ok_or_else(|| {
            ToolFailure::failed(format!(
                "secret revision {revision} of {:?} not found",
                secret.xid()
            ))
        })?;
        match key {
            None => Ok(write(format, &to_value(content))),
            Some(key) => {
                let (name, encode) = match key.strip_suffix("#base64") {
                    Some(name) => (name, true),
                    None => (key.as_str(), false),
                };
                let v = content.get(name).ok_or_else(|| {
                    ToolFailure::failed(format!("secret key value {key:?} not found"))
                })?;
                let v = if encode {
                    base64::engine::general_purpose::STANDARD.encode(v)
                } else {
                    v.clone()
                };
                Ok(write(format, &Value::String(v)))
            }
        }
    }

    fn secret_info_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, value(&["label"])], args)?;
        let format = format_of(&a, YAML_FORMATS, Format::Yaml)?;
        let uri = a.positional.first();
        if let Some(uri) = uri {
            parse_secret_uri(uri)?;
        }
        let label = a.get("label");
        match (uri, label) {
            (None, None) => return Err(ToolFailure::usage("require either a secret URI or label")),
            (Some(_), Some(_)) => {
                return Err(ToolFailure::usage(
                    "specify either a secret URI or label but not both",
                ))
            }
            _ => {}
        }
        a.at_most(if uri.is_some() { 1 } else { 0 })?;
        let wanted = |s: &&Secret| match (uri, label) {
            (Some(uri), _) => s.xid() == secret_xid(uri),
            (None, Some(label)) => s.label.as_deref() == Some(label),
            (None, None) => false,
        };
        let Some(secret) = self
            .st
            .secrets
            .iter()
            .filter(|s| self.can_manage(s))
            .find(wanted)
        else {
            let want = uri.map(|u| secret_xid(u)).or(label).unwrap_or_default();
            return Err(ToolFailure::failed(format!("secret {want:?} not found")));
        };
        let mut info = Map::new();
        info.insert("revision".into(), secret.latest_revision().into());
        info.insert(
            "label".into(),
            secret.label.clone().unwrap_or_default().into(),
        );
        info.insert("owner".into(), secret.owner.kind().into());
        if let Some(d) = &secret.description {
            info.insert("description".into(), d.clone().into());
        }
        if let Some(r) = &secret.rotate {
            info.insert("rotation".into(), r.clone().into());
        }
        if let Some(e) = &secret.expire {
            info.insert("expiry".into(), e.clone().into());
        }
        let access: Vec<Value> = secret
            .grants
            .iter()
            .flat_map(|(relation_id, grantees)| {
                grantees.iter().map(move |g| {
                    let target = if g.contains('/') {
                        format!("unit-{}", g.replace('/', "-"))
                    } else {
                        format!("application-{g}")
                    };
                    json!({ "target": target, "scope": format!("relation-{relation_id}"), "role": "view" })
                })
            })
            .collect();
        if !access.is_empty() {
            info.insert("access".into(), Value::Array(access));
        }
        let mut out = Map::new();
        out.insert(secret.xid().to_string(), Value::Object(info));
        Ok(write(format, &Value::Object(out)))
    }

    fn secret_ids(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, YAML_FORMATS, Format::Yaml)?;
        a.at_most(0)?;
        let ids: BTreeSet<String> = self
            .st
            .secrets
            .iter()
            .filter(|s| match &s.owner {
                SecretOwner::Unit(unit) => *unit == self.ctx.unit,
                SecretOwner::Application(app) => *app == self.st.app_name,
                SecretOwner::Model => false,
            })
            .map(|s| format!("secret:{}", s.xid()))
            .collect();
        Ok(write(format, &json!(ids)))
    }

    fn managed_secret(&self, a: &Args) -> Result<usize, ToolFailure> {
        let Some(uri) = a.positional.first() else {
            return Err(ToolFailure::usage("missing secret URI"));
        };
        parse_secret_uri(uri)?;
        a.at_most(1)?;
        let index = self.secret_by_uri(uri)?;
        if !self.can_manage(self.secret(index)?) {
            return Err(ToolFailure::failed("permission denied"));
        }
        Ok(index)
    }

    fn secret_grant(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[RELATION, value(&["unit"])], args)?;
        if a.positional.is_empty() {
            return Err(ToolFailure::usage("missing secret URI"));
        }
        let relation_id = self.required_relation(&a)?;
        let remote_app = self.relation(relation_id)?.remote_app.clone();
        let grantee = match a.get("unit") {
            Some(unit) if unit_app(unit) != remote_app || !unit.contains('/') => {
                return Err(ToolFailure::usage(format!(
                    "cannot specify unit {unit:?} in relation to application {remote_app:?}"
                )))
            }
            Some(unit) => unit.to_string(),
            None => remote_app,
        };
        let index = self.managed_secret(&a)?;
        self.secret_mut(index)?
            .grants
            .entry(relation_id)
            .or_default()
            .insert(grantee);
        Ok(Vec::new())
    }

    fn secret_revoke(&mut self, args: &[String]) -> Out {
        let a = parse_args(
            &[RELATION, value(&["app", "application"]), value(&["unit"])],
            args,
        )?;
        if a.positional.is_empty() {
            return Err(ToolFailure::usage("missing secret URI"));
        }
        let (app, unit) = (a.get("app"), a.get("unit"));
        if app.is_some() && unit.is_some() {
            return Err(ToolFailure::usage(
                "specify only one of application or unit",
            ));
        }
        let relation_id = match a.get("r") {
            Some(_) => self.relation_id(&a)?,
            None => None,
        };
        let grantee = match (app, unit, relation_id) {
            (Some(app), _, _) => app.to_string(),
            (None, Some(unit), _) => unit.to_string(),
            (None, None, Some(id)) => self.relation(id)?.remote_app.clone(),
            (None, None, None) => {
                return Err(ToolFailure::usage(
                    "missing relation or application or unit",
                ))
            }
        };
        let index = self.managed_secret(&a)?;
        let grants = &mut self.secret_mut(index)?.grants;
        for (id, grantees) in grants.iter_mut() {
            if relation_id.is_none_or(|r| r == *id) {
                grantees.remove(&grantee);
            }
        }
        grants.retain(|_, grantees| !grantees.is_empty());
        Ok(Vec::new())
    }

    fn secret_remove(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[value(&["revision"])], args)?;
        let revision = match a.get("revision") {
            None => None,
            Some(raw) => Some(raw.parse::<u32>().map_err(|_| {
                ToolFailure::usage(format!(
                    "invalid value {raw:?} for option --revision: parse error"
                ))
            })?),
        };
        let index = self.managed_secret(&a)?;
        match revision.filter(|r| *r > 0) {
            None => {
                self.st.secrets.remove(index);
            }
            Some(revision) => {
                let secret = self.secret_mut(index)?;
                secret.revisions.retain(|r| r.revision != revision);
                if secret.revisions.is_empty() {
                    self.st.secrets.remove(index);
                }
            }
        }
        Ok(Vec::new())
    }
}

const UPSERT_FLAGS: &[Flag] = &[
    value(&["label"]),
    value(&["description"]),
    value(&["expire"]),
    value(&["rotate"]),
    value(&["owner"]),
    FILE,
];

struct Upsert {
    owner: String,
    label: Option<String>,
    description: Option<String>,
    expire: Option<String>,
    rotate: Option<String>,
    content: BTreeMap<String, String>,
}

fn parse_secret_uri(uri: &str) -> Result<(), ToolFailure> {
    let xid = secret_xid(uri);
    let valid = xid.len() == 20
        && xid
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c));
    if valid {
        Ok(())
    } else {
        Err(ToolFailure::usage(format!("secret URI {uri:?} not valid")))
    }
}

/// Juju's secret key rule: lowercase, starting with a letter, at least 3 characters,
/// single hyphens between alphanumerics.
fn valid_secret_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let Some((first, rest)) = bytes.split_first() else {
        return false;
    };
    if !first.is_ascii_lowercase() {
        return false;
    }
    let mut groups = 0;
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'-' {
            i += 1;
        }
        match rest.get(i) {
            Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => groups += 1,
            _ => return false,
        }
        i += 1;
    }
    groups >= 2
}

fn add_secret_value(
    content: &mut BTreeMap<String, String>,
    key: &str,
    value: String,
) -> Result<(), ToolFailure> {
    if !valid_secret_key(key) {
        return Err(ToolFailure::usage(format!("key {key:?} not valid")));
    }
    content.insert(key.to_string(), value);
    Ok(())
}

fn add_encoded_secret_value(
    content: &mut BTreeMap<String, String>,
    key: &str,
    value: &str,
) -> Result<(), ToolFailure> {
    match key.strip_suffix("#base64") {
        Some(name) => {
            let data = base64::engine::general_purpose::STANDARD
                .decode(value)
                .map_err(|e| ToolFailure::usage(format!("key {name:?}: {e}")))?;
            add_secret_value(content, name, String::from_utf8_lossy(&data).into_owned())
        }
        None => add_secret_value(content, key, value.to_string()),
    }
}

/// `--expire`: an RFC 3339 time, or a Go duration (`24h`, `90m`, `30s`) from now.
fn parse_expire(raw: &str) -> Result<String, ToolFailure> {
    let looks_like_time = raw.len() >= 19 && raw.as_bytes().get(4) == Some(&b'-');
    if looks_like_time {
        return Ok(raw.to_string());
    }
    let invalid = || ToolFailure::usage(format!("expire time or duration {raw:?} not valid"));
    let mut seconds: u64 = 0;
    let mut number = String::new();
    for c in raw.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| invalid())?;
        number.clear();
        seconds += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
    }
    if !number.is_empty() || seconds == 0 {
        return Err(invalid());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Ok(rfc3339(now + seconds))
}

fn valid_action_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let edge_ok = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn insert_nested(map: &mut Map<String, Value>, keys: &[String], value: String) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut current = map;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.clone(), Value::String(value));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Relation, SecretOwner};

    fn s(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    fn model() -> ModelState {
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

    fn run(st: &mut ModelState, ctx: &ToolContext, tool: &str, args: &[&str]) -> Out {
        run_tool(st, ctx, tool, &s(args), b"")
    }

    fn text(out: Out) -> String {
        String::from_utf8(out.unwrap()).unwrap()
    }

    fn relation_ctx(unit: &str, remote_unit: Option<&str>) -> ToolContext {
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
    fn parses_flags_as_gnuflag_does() {
        let a = parse_args(
            &[FORMAT, RELATION, APP],
            &s(&["-", "--app", "-r", "db:3", "x", "--format=json"]),
        )
        .unwrap();
        assert_eq!(a.positional, ["-", "x"]);
        assert_eq!(a.get("r"), Some("db:3"));
        assert_eq!(a.get("format"), Some("json"));
        assert!(a.bool("app").unwrap());
        let a = parse_args(&[APP], &s(&["--app=False", "--", "--not-a-flag"])).unwrap();
        assert!(!a.bool("app").unwrap());
        assert_eq!(a.positional, ["--not-a-flag"]);
        let err = parse_args(&[APP], &s(&["--bogus"])).err().unwrap();
        assert_eq!(
            (err.code, err.stderr.as_str()),
            (2, "ERROR option provided but not defined: --bogus\n")
        );
        let err = parse_args(&[RELATION], &s(&["-r"])).err().unwrap();
        assert!(err.stderr.contains("option needs an argument: -r"), "{err}");
        // A one-letter flag needs one dash and a long one two.
        assert!(parse_args(&[RELATION], &s(&["--r", "1"])).is_err());
        assert!(parse_args(&[FORMAT], &s(&["-format", "json"])).is_err());
        let a = parse_args(&[APP], &s(&["--app=maybe"])).unwrap();
        assert_eq!(a.bool("app").err().unwrap().code, 2);
    }

    #[test]
    fn formats_like_juju() {
        assert_eq!(smart(&json!(true)), "True\n");
        assert_eq!(smart(&json!("")), "");
        assert_eq!(smart(&Value::Null), "");
        assert_eq!(smart(&json!(["a:1", "b:2"])), "a:1\nb:2\n");
        assert_eq!(smart(&json!({"k": "v"})), "k: v\n");
        assert_eq!(smart(&json!(42)), "42\n");
        assert_eq!(
            write(Format::Json, &json!({"b": 1, "a": "x"})),
            b"{\"a\":\"x\",\"b\":1}\n"
        );
    }

    #[test]
    fn config_get_prints_values_and_missing_keys() {
        let mut st = model();
        let ctx = ToolContext::for_unit("kratos/1");
        let all: Value =
            serde_json::from_str(&text(run(&mut st, &ctx, "config-get", &["--format=json"])))
                .unwrap();
        assert_eq!(
            all,
            json!({"dev": false, "log_level": "info", "port": 4433})
        );
        assert_eq!(text(run(&mut st, &ctx, "config-get", &["port"])), "4433\n");
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "config-get",
                &["nope", "--format", "json"]
            )),
            "null\n"
        );
        assert_eq!(
            run(&mut st, &ctx, "config-get", &["--format=toml"])
                .err()
                .unwrap()
                .code,
            2
        );
        assert_eq!(
            run(&mut st, &ctx, "config-get", &["a", "b"])
                .err()
                .unwrap()
                .stderr,
            "ERROR unrecognized args: [\"b\"]\n"
        );
    }

    #[test]
    fn relation_tools_follow_the_hook_context_and_r_flag() {
        let mut st = model();
        let ctx = relation_ctx("kratos/1", Some("postgresql-k8s/0"));
        assert_eq!(
            text(run(&mut st, &ctx, "relation-ids", &[])),
            "pg-database:3\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "relation-ids",
                &["kratos-peers", "--format=json"]
            )),
            "[\"kratos-peers:1\"]\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "relation-ids",
                &["nothing", "--format=json"]
            )),
            "[]\n"
        );
        assert_eq!(
            text(run(&mut st, &ctx, "relation-list", &[])),
            "postgresql-k8s/0\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "relation-list",
                &["-r", "kratos-peers:1", "--format=json"]
            )),
            "[\"kratos/0\"]\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "relation-list",
                &["--app", "-r", "1", "--format=json"]
            )),
            "\"kratos\"\n"
        );
        // Defaults: the remote unit of the hook, then the remote app.
        assert_eq!(
            text(run(&mut st, &ctx, "relation-get", &["endpoints"])),
            "db:5432\n"
        );
        let app_ctx = relation_ctx("kratos/1", None);
        assert_eq!(
            text(run(&mut st, &app_ctx, "relation-get", &["--format=json"])),
            "{\"password\":\"p\",\"username\":\"u\"}\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "relation-get",
                &[
                    "--format=json",
                    "-r",
                    "pg-database:3",
                    "--app",
                    "-",
                    "postgresql-k8s"
                ]
            )),
            "{\"password\":\"p\",\"username\":\"u\"}\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "relation-get",
                &["--format=json", "missing", "postgresql-k8s/0"]
            )),
            "null\n"
        );
        let err = run(
            &mut st,
            &ctx,
            "relation-get",
            &["-r", "pg-database:9", "-", "kratos/1"],
        )
        .err()
        .unwrap();
        assert_eq!(err.code, 2);
        assert_eq!(
            err.stderr,
            "ERROR invalid value \"pg-database:9\" for option -r: relation not found\n"
        );
        let err = run(&mut st, &ctx, "relation-list", &["-r", "x"])
            .err()
            .unwrap();
        assert!(err.stderr.contains("invalid relation id"), "{err}");
        let no_rel = ToolContext::for_unit("kratos/0");
        let err = run(&mut st, &no_rel, "relation-get", &["-", "kratos/0"])
            .err()
            .unwrap();
        assert_eq!(err.stderr, "ERROR no relation id specified\n");
        let err = run(&mut st, &ctx, "relation-get", &["-", "other/0"])
            .err()
            .unwrap();
        assert!(err.stderr.contains("not found"), "{err}");
    }

    #[test]
    fn relation_set_writes_unit_and_leader_app_bags() {
        let mut st = model();
        let leader = relation_ctx("kratos/0", None);
        let follower = relation_ctx("kratos/1", None);
        run_tool(
            &mut st,
            &leader,
            "relation-set",
            &s(&["--file", "-"]),
            b"{\"a\": \"1\", \"n\": 2, \"t\": true}",
        )
        .unwrap();
        run(&mut st, &leader, "relation-set", &["b=x=y", "a="]).unwrap();
        assert_eq!(
            st.relation(3).unwrap().unit_bag("kratos/0"),
            BTreeMap::from([
                ("b".into(), "x=y".into()),
                ("n".into(), "2".into()),
                ("t".into(), "true".into())
            ])
        );
        run_tool(
            &mut st,
            &leader,
            "relation-set",
            &s(&["-r", "pg-database:3", "--app", "--file", "-"]),
            b"database: kratos\n",
        )
        .unwrap();
        assert_eq!(
            st.relation(3).unwrap().app_bag("kratos")["database"],
            "kratos"
        );
        let err = run(&mut st, &follower, "relation-set", &["--app", "x=1"])
            .err()
            .unwrap();
        assert_eq!(
            (err.code, err.stderr.as_str()),
            (1, "ERROR cannot write relation settings\n")
        );
        // The follower cannot read our app bag outside a peer relation; the leader can.
        assert_eq!(
            run(
                &mut st,
                &follower,
                "relation-get",
                &["--app", "-", "kratos"]
            )
            .err()
            .unwrap()
            .stderr,
            "ERROR permission denied\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &leader,
                "relation-get",
                &["--app", "database", "kratos"]
            )),
            "kratos\n"
        );
        for (stdin, want) in [
            (&b"- a\n- list\n"[..], "cannot unmarshal !!seq"),
            (b"a: {b: c}", "cannot unmarshal !!map into string"),
            (b"a: [", "yaml:"),
        ] {
            let err = run_tool(
                &mut st,
                &leader,
                "relation-set",
                &s(&["--file", "-"]),
                stdin,
            )
            .err()
            .unwrap();
            assert_eq!(err.code, 1);
            assert!(err.stderr.contains(want), "{err}");
        }
        assert_eq!(
            run(&mut st, &leader, "relation-set", &["novalue"])
                .err()
                .unwrap()
                .code,
            2
        );
        let err = run(&mut st, &leader, "relation-set", &["a=1", "a=2"])
            .err()
            .unwrap();
        assert!(err.stderr.contains("more than once"), "{err}");
        // Peers read each other's data and the shared app bag.
        let peer = ToolContext {
            relation_id: Some(1),
            remote_unit: Some("kratos/0".into()),
            remote_app: Some("kratos".into()),
            ..ToolContext::for_unit("kratos/1")
        };
        run(
            &mut st,
            &ToolContext {
                unit: "kratos/0".into(),
                ..peer.clone()
            },
            "relation-set",
            &["--app", "shared=yes"],
        )
        .unwrap();
        assert_eq!(
            text(run(
                &mut st,
                &peer,
                "relation-get",
                &["--app", "shared", "kratos"]
            )),
            "yes\n"
        );
    }

    #[test]
    fn status_tools_round_trip_with_include_data_and_leadership() {
        let mut st = model();
        let leader = ToolContext::for_unit("kratos/0");
        let follower = ToolContext::for_unit("kratos/1");
        assert_eq!(text(run(&mut st, &leader, "status-get", &[])), "unknown\n");
        run(
            &mut st,
            &leader,
            "status-set",
            &[
                "--application=False",
                "blocked",
                "--",
                "Missing integration",
            ],
        )
        .unwrap();
        run(
            &mut st,
            &leader,
            "status-set",
            &["--application=True", "active"],
        )
        .unwrap();
        run(&mut st, &follower, "status-set", &["waiting", "w"]).unwrap();
        let unit: Value = serde_json::from_str(&text(run(
            &mut st,
            &leader,
            "status-get",
            &["--include-data", "--format=json", "--application=false"],
        )))
        .unwrap();
        assert_eq!(
            unit,
            json!({"status": "blocked", "message": "Missing integration", "status-data": {}})
        );
        let app: Value = serde_json::from_str(&text(run(
            &mut st,
            &leader,
            "status-get",
            &["--include-data", "--format=json", "--application=true"],
        )))
        .unwrap();
        assert_eq!(app["application-status"]["status"], "active");
        assert_eq!(app["application-status"]["message"], "");
        assert_eq!(
            app["application-status"]["units"]["kratos/1"]["message"],
            "w"
        );
        assert_eq!(
            text(run(&mut st, &leader, "status-get", &["--format=json"])),
            "{\"status\":\"blocked\"}\n"
        );
        let err = run(
            &mut st,
            &follower,
            "status-set",
            &["--application", "active"],
        )
        .err()
        .unwrap();
        assert_eq!(
            (err.code, err.stderr.as_str()),
            (1, "ERROR this unit is not the leader\n")
        );
        let err = run(&mut st, &follower, "status-get", &["--application"])
            .err()
            .unwrap();
        assert!(err
            .stderr
            .contains("finding application status: this unit is not the leader"));
        let err = run(&mut st, &leader, "status-set", &["error", "x"])
            .err()
            .unwrap();
        assert_eq!(err.stderr, "ERROR invalid status \"error\", expected one of [maintenance blocked waiting active]\n");
        assert_eq!(
            run(&mut st, &leader, "status-set", &[]).err().unwrap().code,
            2
        );
    }

    #[test]
    fn action_tools_work_only_inside_actions() {
        let mut st = model();
        let plain = ToolContext::for_unit("kratos/0");
        for (tool, args) in [
            ("action-get", vec![]),
            ("action-set", vec!["a=1"]),
            ("action-log", vec!["m"]),
            ("action-fail", vec![]),
        ] {
            let err = run(&mut st, &plain, tool, &args).err().unwrap();
            assert_eq!(
                (err.code, err.stderr.as_str()),
                (1, "ERROR not running an action\n"),
                "{tool}"
            );
        }
        st.action = Some(ActionRun {
            name: "get-identity".into(),
            id: "7".into(),
            unit: "kratos/0".into(),
            params: json!({"email": "a@b.c", "nested": {"k": 1}})
                .as_object()
                .cloned()
                .unwrap(),
            results: Map::new(),
            failed: false,
            message: None,
            logs: vec![],
        });
        let ctx = ToolContext {
            action_name: Some("get-identity".into()),
            ..plain
        };
        assert_eq!(
            text(run(&mut st, &ctx, "action-get", &["email"])),
            "a@b.c\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "action-get",
                &["nested.k", "--format=json"]
            )),
            "1\n"
        );
        run(
            &mut st,
            &ctx,
            "action-set",
            &["identity-id=42", "traits.email=a@b.c", "traits.name=A"],
        )
        .unwrap();
        run(&mut st, &ctx, "action-log", &["--", "working", "hard"]).unwrap();
        run(&mut st, &ctx, "action-fail", &["--", "no such identity"]).unwrap();
        let action = st.action.as_ref().unwrap();
        assert_eq!(
            Value::Object(action.results.clone()),
            json!({"identity-id": "42", "traits": {"email": "a@b.c", "name": "A"}})
        );
        assert_eq!(action.logs, ["working hard"]);
        assert!(action.failed);
        assert_eq!(action.message.as_deref(), Some("no such identity"));
        for bad in ["Key=1", "-a=1", "stdout=x", "noequals"] {
            assert_eq!(
                run(&mut st, &ctx, "action-set", &[bad]).err().unwrap().code,
                2,
                "{bad}"
            );
        }
    }

    #[test]
    fn ports_versions_logs_and_state() {
        let mut st = model();
        let ctx = ToolContext::for_unit("kratos/0");
        run(&mut st, &ctx, "open-port", &["4434/tcp"]).unwrap();
        run(&mut st, &ctx, "open-port", &["4433"]).unwrap();
        run(&mut st, &ctx, "open-port", &["icmp"]).unwrap();
        run(&mut st, &ctx, "close-port", &["icmp"]).unwrap();
        assert_eq!(
            text(run(&mut st, &ctx, "opened-ports", &["--format=json"])),
            "[\"4433/tcp\",\"4434/tcp\"]\n"
        );
        assert_eq!(
            text(run(&mut st, &ctx, "opened-ports", &[])),
            "4433/tcp\n4434/tcp\n"
        );
        assert_eq!(
            run(&mut st, &ctx, "open-port", &["80/sctp"])
                .err()
                .unwrap()
                .code,
            2
        );
        run(&mut st, &ctx, "application-version-set", &["--", "v1.2.0"]).unwrap();
        assert_eq!(st.units["kratos/0"].workload_version, "v1.2.0");
        run(
            &mut st,
            &ctx,
            "juju-log",
            &["--log-level", "WARNING", "--", "careful"],
        )
        .unwrap();
        run(&mut st, &ctx, "juju-log", &["-l", "bogus", "hi", "there"]).unwrap();
        let logs: Vec<(&str, &str)> = st.units["kratos/0"]
            .logs
            .iter()
            .map(|l| (l.level.as_str(), l.message.as_str()))
            .collect();
        assert_eq!(
            logs,
            [
                ("WARNING", "careful"),
                ("WARNING", "Specified log level of \"bogus\" is not valid"),
                ("INFO", "hi there")
            ]
        );
        assert_eq!(
            text(run(&mut st, &ctx, "state-get", &["--format=json"])),
            "null\n"
        );
        run_tool(
            &mut st,
            &ctx,
            "state-set",
            &s(&["--file", "-"]),
            b"{\"k\": \"v\", \"e\": \"x\"}",
        )
        .unwrap();
        run(&mut st, &ctx, "state-set", &["e="]).unwrap();
        assert_eq!(
            text(run(&mut st, &ctx, "state-get", &["--format=json"])),
            "{\"k\":\"v\"}\n"
        );
        assert_eq!(
            text(run(&mut st, &ctx, "state-get", &["--format=json", "gone"])),
            "\"\"\n"
        );
        assert!(run(&mut st, &ctx, "state-get", &["--strict", "gone"])
            .err()
            .unwrap()
            .stderr
            .contains("not found"));
        run(&mut st, &ctx, "state-delete", &["k"]).unwrap();
        assert!(st.units["kratos/0"].state.is_empty());
        assert_eq!(text(run(&mut st, &ctx, "is-leader", &[])), "True\n");
        assert_eq!(
            text(run(
                &mut st,
                &ToolContext::for_unit("kratos/1"),
                "is-leader",
                &["--format=json"]
            )),
            "false\n"
        );
    }

    #[test]
    fn secrets_follow_owner_and_consumer_semantics() {
        let mut st = model();
        let leader = ToolContext::for_unit("kratos/0");
        let follower = ToolContext::for_unit("kratos/1");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cookiesecret");
        std::fs::write(&file, "s3cr3t").unwrap();
        let id = text(run(
            &mut st,
            &leader,
            "secret-add",
            &[
                "--label",
                "cookie_secret",
                "--owner",
                "application",
                &format!("cookiesecret#file={}", file.display()),
            ],
        ));
        let id = id.trim().to_string();
        assert!(id.starts_with("secret:") && id.len() == 27, "{id}");
        // Non-leaders cannot add application secrets; labels are unique per owner.
        assert_eq!(
            run(&mut st, &follower, "secret-add", &["abc=1"])
                .err()
                .unwrap()
                .stderr,
            "ERROR this unit is not the leader\n"
        );
        assert!(run(
            &mut st,
            &leader,
            "secret-add",
            &["--label", "cookie_secret", "abc=1"]
        )
        .err()
        .unwrap()
        .stderr
        .contains("already exists"));
        assert_eq!(
            run(&mut st, &leader, "secret-add", &["ab=1"])
                .err()
                .unwrap()
                .code,
            2
        );
        // Every unit of the app reads it by label.
        assert_eq!(
            text(run(
                &mut st,
                &follower,
                "secret-get",
                &["--format=json", "--label", "cookie_secret"]
            )),
            "{\"cookiesecret\":\"s3cr3t\"}\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &follower,
                "secret-get",
                &[&id, "cookiesecret"]
            )),
            "s3cr3t\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &follower,
                "secret-get",
                &[&id, "cookiesecret#base64"]
            )),
            "czNjcjN0\n"
        );
        // A new revision: tracking units see it only with --refresh (or --peek).
        run(
            &mut st,
            &leader,
            "secret-set",
            &[&id, "cookiesecret#base64=bmV3", "--owner", "application"],
        )
        .unwrap();
        assert_eq!(st.secret(&id).unwrap().latest_revision(), 2);
        run(&mut st, &leader, "secret-set", &[&id, "cookiesecret=new"]).unwrap();
        assert_eq!(
            st.secret(&id).unwrap().latest_revision(),
            2,
            "unchanged content makes no revision"
        );
        assert_eq!(
            text(run(
                &mut st,
                &follower,
                "secret-get",
                &[&id, "cookiesecret"]
            )),
            "s3cr3t\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &follower,
                "secret-get",
                &[&id, "cookiesecret", "--peek"]
            )),
            "new\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &follower,
                "secret-get",
                &[&id, "cookiesecret"]
            )),
            "s3cr3t\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &follower,
                "secret-get",
                &[&id, "cookiesecret", "--refresh"]
            )),
            "new\n"
        );
        assert_eq!(
            text(run(
                &mut st,
                &follower,
                "secret-get",
                &[&id, "cookiesecret"]
            )),
            "new\n"
        );
        // Only the leader manages it.
        assert_eq!(
            run(&mut st, &follower, "secret-set", &[&id, "cookiesecret=x"])
                .err()
                .unwrap()
                .stderr,
            "ERROR permission denied\n"
        );
        assert!(run(&mut st, &follower, "secret-info-get", &[&id])
            .err()
            .unwrap()
            .stderr
            .contains("not found"));
        let info: Value = serde_json::from_str(&text(run(
            &mut st,
            &leader,
            "secret-info-get",
            &["--label", "cookie_secret", "--format=json"],
        )))
        .unwrap();
        let xid = secret_xid(&id).to_string();
        assert_eq!(info[&xid]["revision"], 2);
        assert_eq!(info[&xid]["label"], "cookie_secret");
        assert_eq!(info[&xid]["owner"], "application");
        assert_eq!(
            text(run(&mut st, &follower, "secret-ids", &["--format=json"])),
            format!("[\"{id}\"]\n")
        );
        // Grants over a relation; revokes; removal.
        run(&mut st, &leader, "secret-grant", &["-r", "3", &id]).unwrap();
        run(
            &mut st,
            &leader,
            "secret-grant",
            &["-r", "3", "--unit", "postgresql-k8s/0", &id],
        )
        .unwrap();
        assert_eq!(st.secret(&id).unwrap().grants[&3].len(), 2);
        assert_eq!(
            run(
                &mut st,
                &leader,
                "secret-grant",
                &["-r", "3", "--unit", "other/0", &id]
            )
            .err()
            .unwrap()
            .code,
            2
        );
        run(&mut st, &leader, "secret-revoke", &["-r", "3", &id]).unwrap();
        run(
            &mut st,
            &leader,
            "secret-revoke",
            &["--unit", "postgresql-k8s/0", &id],
        )
        .unwrap();
        assert!(st.secret(&id).unwrap().grants.is_empty());
        run(&mut st, &leader, "secret-remove", &[&id]).unwrap();
        let err = run(&mut st, &follower, "secret-get", &[&id]).err().unwrap();
        assert!(err.stderr.contains("not found"), "{err}");
        assert!(run(
            &mut st,
            &follower,
            "secret-get",
            &["--label", "cookie_secret"]
        )
        .err()
        .unwrap()
        .stderr
        .contains("not found"));
        assert_eq!(
            run(&mut st, &follower, "secret-get", &["secret:nope"])
                .err()
                .unwrap()
                .code,
            2
        );
    }

    #[test]
    fn user_secrets_are_read_where_granted_and_never_managed() {
        let secret = Secret::user_secret("admin-password", [("password", "pw")]);
        let id = secret.id.clone();
        let mut st = model().with_secret(secret);
        let ctx = ToolContext::for_unit("kratos/0");
        let denied = run(&mut st, &ctx, "secret-get", &[&id]).err().unwrap();
        assert_eq!(denied.stderr, "ERROR permission denied\n");
        st.secrets[0].user_grants.insert("kratos".into());
        assert_eq!(
            text(run(&mut st, &ctx, "secret-get", &[&id, "password"])),
            "pw\n"
        );
        assert!(run(&mut st, &ctx, "secret-set", &[&id, "password=x"]).is_err());
        assert_eq!(st.secrets[0].latest_revision(), 1);
    }

    #[test]
    fn consumers_need_grants_and_keep_their_own_labels() {
        let remote = Secret::new(
            SecretOwner::Application("postgresql-k8s".into()),
            [("username", "u"), ("password", "p")],
        );
        let id = remote.id.clone();
        let mut st = model().with_secret(remote);
        let ctx = ToolContext::for_unit("kratos/0");
        assert_eq!(
            run(&mut st, &ctx, "secret-get", &[&id])
                .err()
                .unwrap()
                .stderr,
            "ERROR permission denied\n"
        );
        st.secrets[0]
            .grants
            .entry(3)
            .or_default()
            .insert("kratos".into());
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "secret-get",
                &[&id, "--label", "db-creds", "password"]
            )),
            "p\n"
        );
        assert_eq!(st.secrets[0].consumer_labels["kratos/0"], "db-creds");
        assert_eq!(st.secrets[0].label, None);
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "secret-get",
                &["--label", "db-creds", "--format=json"]
            )),
            "{\"password\":\"p\",\"username\":\"u\"}\n"
        );
        // A consumer can neither manage the secret nor see its metadata.
        assert_eq!(
            run(&mut st, &ctx, "secret-set", &[&id, "password=x"])
                .err()
                .unwrap()
                .stderr,
            "ERROR permission denied\n"
        );
        assert!(run(&mut st, &ctx, "secret-info-get", &[&id])
            .err()
            .unwrap()
            .stderr
            .contains("not found"));
    }

    #[test]
    fn other_tools_and_call_records() {
        let mut st = model().with_resource("oci-image", "/tmp/image.json");
        st.bindings.insert("pg-database".into());
        let ctx = ToolContext {
            hook: Some("hooks/install".into()),
            ..ToolContext::for_unit("kratos/1")
        };
        assert_eq!(
            text(run(&mut st, &ctx, "resource-get", &["oci-image"])),
            "/tmp/image.json\n"
        );
        let err = run(&mut st, &ctx, "resource-get", &["nope"]).err().unwrap();
        assert!(err.stderr.contains("not found"), "{err}");
        let net: Value = serde_json::from_str(&text(run(
            &mut st,
            &ctx,
            "network-get",
            &["--format=json", "pg-database"],
        )))
        .unwrap();
        assert_eq!(
            net["bind-addresses"][0]["addresses"][0]["value"],
            "10.1.0.11"
        );
        assert_eq!(net["ingress-addresses"], json!(["10.1.0.11"]));
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "network-get",
                &["juju-info", "--ingress-address"]
            )),
            "10.1.0.11\n"
        );
        assert!(run(&mut st, &ctx, "network-get", &["nope"])
            .err()
            .unwrap()
            .stderr
            .contains("no network config found for binding \"nope\""));
        assert!(
            run(&mut st, &ctx, "network-get", &["pg-database", "-r", "99"])
                .err()
                .unwrap()
                .stderr
                .contains("relation not found")
        );
        let goal: Value =
            serde_json::from_str(&text(run(&mut st, &ctx, "goal-state", &["--format=json"])))
                .unwrap();
        assert_eq!(goal["units"].as_object().unwrap().len(), 2);
        assert!(
            goal["relations"]["pg-database"]["postgresql-k8s/0"]["since"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        assert_eq!(
            text(run(
                &mut st,
                &ctx,
                "relation-model-get",
                &["-r", "3", "--format=json"]
            )),
            format!("{{\"uuid\":\"{}\"}}\n", st.model_uuid)
        );
        assert!(run(&mut st, &ctx, "leader-set", &["a=b"])
            .err()
            .unwrap()
            .stderr
            .contains("not the leader"));
        run(
            &mut st,
            &ToolContext::for_unit("kratos/0"),
            "leader-set",
            &["a=b"],
        )
        .unwrap();
        assert_eq!(text(run(&mut st, &ctx, "leader-get", &["a"])), "b\n");
        assert!(run(&mut st, &ctx, "storage-list", &[])
            .err()
            .unwrap()
            .stderr
            .contains("not supported"));
        let err = run(&mut st, &ToolContext::for_unit("ghost/0"), "is-leader", &[])
            .err()
            .unwrap();
        assert_eq!(err.code, 1);
        let calls: Vec<&str> = st
            .tool_calls_of("kratos/1")
            .map(|c| c.tool.as_str())
            .collect();
        assert_eq!(calls.iter().filter(|t| **t == "network-get").count(), 4);
        assert!(st
            .tool_calls_of("kratos/1")
            .all(|c| c.hook == "hooks/install"));
    }

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert!(parse_expire("24h").unwrap().ends_with('Z'));
        assert!(parse_expire("tomorrow").is_err());
        assert!(
            valid_secret_key("cookiesecret")
                && valid_secret_key("tls-ca")
                && !valid_secret_key("ab")
                && !valid_secret_key("a--b")
                && !valid_secret_key("Key")
        );
    }
}
