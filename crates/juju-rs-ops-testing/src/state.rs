//! The Juju model as the unit agents of one application see it: the emulator's state.
//!
//! [`ModelState`] is plain data (serde, JSON on disk): the application's units with their
//! statuses, workload versions, opened ports, charm state and `juju-log` records; the
//! leader; the application status; the effective config; relations with their databags;
//! secrets with revisions, labels, tracked revisions and grants; resources; network
//! bindings; the running action; and every hook-tool call made, so tests can count them.
//!
//! The hook tools ([`crate::jujuc`]) read and write it; tests build it with the
//! builders here, run events, and assert on it.
//!
//! ```
//! use juju_rs_ops_testing::state::{ModelState, Relation};
//! let mut state = ModelState::new("kratos").with_unit("kratos/0").with_leader("kratos/0");
//! let id = state.next_relation_id();
//! state.relations.push(
//!     Relation::new(id, "pg-database", "postgresql_client", "postgresql-k8s")
//!         .with_remote_unit("postgresql-k8s/0", [("endpoints", "pg:5432")])
//!         .with_remote_app_data([("database", "kratos")]),
//! );
//! assert_eq!(state.relation(id).unwrap().remote_units.len(), 1);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A relation databag: string keys to string values.
pub type Databag = BTreeMap<String, String>;

/// Why the state could not be read, written or built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading, writing or locking the state file failed.
    #[error("cannot {action} emulator state file {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The state file is not valid state JSON.
    #[error("emulator state file {path} is not valid state JSON: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The state could not be serialised.
    #[error("cannot serialise emulator state: {0}")]
    Serialise(#[source] serde_json::Error),
    /// A charm's config.yaml could not be read.
    #[error("config.yaml is not valid: {0}")]
    ConfigYaml(String),
}

/// A workload or application status as `status-set` sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRecord {
    /// `active`, `blocked`, `maintenance`, `waiting`, `unknown` (or `error`).
    pub status: String,
    /// The message shown with it.
    pub message: String,
}

impl Default for StatusRecord {
    fn default() -> Self {
        StatusRecord::new("unknown", "")
    }
}

impl StatusRecord {
    /// A status with a message.
    pub fn new(status: &str, message: &str) -> StatusRecord {
        StatusRecord {
            status: status.to_string(),
            message: message.to_string(),
        }
    }
}

/// One `juju-log` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// `TRACE`, `DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`.
    pub level: String,
    /// The logged text.
    pub message: String,
}

/// A port or port range opened with `open-port`, written as Juju prints it
/// (`80/tcp`, `8000-8100/udp`, `icmp`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PortRange {
    /// `tcp`, `udp` or `icmp`; Juju sorts by protocol first.
    pub protocol: String,
    /// First port (0 for icmp).
    pub from: u16,
    /// Last port, equal to `from` for a single port (0 for icmp).
    pub to: u16,
}

impl PortRange {
    /// A single TCP port.
    pub fn tcp(port: u16) -> PortRange {
        PortRange {
            protocol: "tcp".into(),
            from: port,
            to: port,
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.protocol == "icmp" {
            write!(f, "icmp")
        } else if self.from == self.to {
            write!(f, "{}/{}", self.from, self.protocol)
        } else {
            write!(f, "{}-{}/{}", self.from, self.to, self.protocol)
        }
    }
}

impl FromStr for PortRange {
    type Err = String;

    /// Parses `open-port`'s argument: `80`, `80/tcp`, `8000-8100/udp`, `icmp`.
    fn from_str(raw: &str) -> Result<PortRange, String> {
        let lower = raw.to_ascii_lowercase();
        if lower == "icmp" {
            return Ok(PortRange {
                protocol: "icmp".into(),
                from: 0,
                to: 0,
            });
        }
        let (ports, protocol) = lower.split_once('/').unwrap_or((lower.as_str(), "tcp"));
        if !matches!(protocol, "tcp" | "udp" | "icmp") {
            return Err(format!(
                r#"invalid protocol "{protocol}", expected "tcp", "udp", or "icmp""#
            ));
        }
        if protocol == "icmp" {
            return Err(format!(
                r#"protocol "icmp" doesn't support any ports; got "{ports}""#
            ));
        }
        let parse = |s: &str| -> Result<u16, String> {
            match s.parse::<u16>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(format!(r#"invalid port "{ports}""#)),
            }
        };
        let (from, to) = match ports.split_once('-') {
            Some((a, b)) => (parse(a)?, parse(b)?),
            None => {
                let p = parse(ports)?;
                (p, p)
            }
        };
        if from > to {
            return Err(format!(r#"invalid port range "{ports}""#));
        }
        Ok(PortRange {
            protocol: protocol.to_string(),
            from,
            to,
        })
    }
}

impl TryFrom<String> for PortRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<PortRange> for String {
    fn from(p: PortRange) -> String {
        p.to_string()
    }
}

/// One unit of our application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnitState {
    /// The workload status (`status-set`).
    pub status: StatusRecord,
    /// `application-version-set`.
    pub workload_version: String,
    /// Ports opened with `open-port`.
    pub opened_ports: BTreeSet<PortRange>,
    /// The charm's own key-value state (`state-get`/`state-set`/`state-delete`).
    pub state: BTreeMap<String, String>,
    /// Every `juju-log` record, in order.
    pub logs: Vec<LogRecord>,
    /// The unit's (pod's) address, reported by `network-get`.
    pub address: String,
    /// Being removed (`juju remove-unit`/`remove-application`): `goal-state` says
    /// `dying`, so it no longer counts among the planned units.
    pub dying: bool,
}

impl Default for UnitState {
    fn default() -> Self {
        UnitState {
            status: StatusRecord::default(),
            workload_version: String::new(),
            opened_ports: BTreeSet::new(),
            state: BTreeMap::new(),
            logs: Vec::new(),
            address: "10.1.0.10".into(),
            dying: false,
        }
    }
}

/// A relation our application is in. A peer relation has `remote_app` equal to our
/// application's name; its members are `local_units`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Relation {
    /// The relation id (unique in the model).
    pub id: u32,
    /// Our endpoint, from metadata.yaml.
    pub endpoint: String,
    /// The interface name from metadata.yaml.
    pub interface: String,
    /// The application at the other end (ours for a peer relation).
    pub remote_app: String,
    /// Our units in the relation's scope (peers see each other through this).
    pub local_units: BTreeSet<String>,
    /// The remote application's units in scope (what `relation-list` prints).
    pub remote_units: BTreeSet<String>,
    /// Application databags keyed by application name (ours and the remote one).
    pub app_data: BTreeMap<String, Databag>,
    /// Unit databags keyed by unit name (ours and the remote ones).
    pub unit_data: BTreeMap<String, Databag>,
}

impl Default for Relation {
    fn default() -> Self {
        Relation::new(0, "", "", "")
    }
}

fn bag<K: Into<String>, V: Into<String>>(data: impl IntoIterator<Item = (K, V)>) -> Databag {
    data.into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

impl Relation {
    /// A relation with no units in scope and empty databags.
    pub fn new(id: u32, endpoint: &str, interface: &str, remote_app: &str) -> Relation {
        Relation {
            id,
            endpoint: endpoint.to_string(),
            interface: interface.to_string(),
            remote_app: remote_app.to_string(),
            local_units: BTreeSet::new(),
            remote_units: BTreeSet::new(),
            app_data: BTreeMap::new(),
            unit_data: BTreeMap::new(),
        }
    }

    /// A peer relation of `app`.
    pub fn peer(id: u32, endpoint: &str, interface: &str, app: &str) -> Relation {
        Relation::new(id, endpoint, interface, app)
    }

    /// Adds a remote unit in scope with its databag.
    pub fn with_remote_unit<K: Into<String>, V: Into<String>>(
        mut self,
        unit: &str,
        data: impl IntoIterator<Item = (K, V)>,
    ) -> Relation {
        self.remote_units.insert(unit.to_string());
        self.unit_data.insert(unit.to_string(), bag(data));
        self
    }

    /// Adds one of our units to the relation's scope (a peer member for peer relations).
    pub fn with_local_unit(mut self, unit: &str) -> Relation {
        self.local_units.insert(unit.to_string());
        self
    }

    /// Sets the remote application's databag.
    pub fn with_remote_app_data<K: Into<String>, V: Into<String>>(
        mut self,
        data: impl IntoIterator<Item = (K, V)>,
    ) -> Relation {
        self.app_data.insert(self.remote_app.clone(), bag(data));
        self
    }

    /// Sets any application's databag (ours, for a test that starts with data written).
    pub fn with_app_data<K: Into<String>, V: Into<String>>(
        mut self,
        app: &str,
        data: impl IntoIterator<Item = (K, V)>,
    ) -> Relation {
        self.app_data.insert(app.to_string(), bag(data));
        self
    }

    /// Whether this is a peer relation of `our_app`.
    pub fn is_peer(&self, our_app: &str) -> bool {
        self.remote_app == our_app
    }

    /// The relation as charms name it: `endpoint:id`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.endpoint, self.id)
    }

    /// An application's databag (empty when it never wrote one).
    pub fn app_bag(&self, app: &str) -> Databag {
        self.app_data.get(app).cloned().unwrap_or_default()
    }

    /// A unit's databag (empty when it never wrote one).
    pub fn unit_bag(&self, unit: &str) -> Databag {
        self.unit_data.get(unit).cloned().unwrap_or_default()
    }
}

/// Who owns a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretOwner {
    /// Owned by an application (managed by its leader).
    Application(String),
    /// Owned by one unit.
    Unit(String),
    /// A user secret (`juju add-secret`): owned by the model, read by the applications
    /// it is granted to with `juju grant-secret` ([`Secret::with_user_grant`]).
    Model,
}

impl SecretOwner {
    /// `application` or `unit`, as `secret-info-get` prints it.
    pub fn kind(&self) -> &'static str {
        match self {
            SecretOwner::Application(_) => "application",
            SecretOwner::Unit(_) => "unit",
            SecretOwner::Model => "model",
        }
    }

    /// The owning application's name (empty for a user secret).
    pub fn app(&self) -> &str {
        match self {
            SecretOwner::Application(app) => app,
            SecretOwner::Unit(unit) => unit_app(unit),
            SecretOwner::Model => "",
        }
    }
}

/// One revision of a secret's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRevision {
    /// The revision number, from 1.
    pub revision: u32,
    /// Key to value.
    pub content: BTreeMap<String, String>,
}

/// A Juju secret: content revisions plus owner and consumer metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    /// `secret:<20 lowercase base32hex characters>`.
    pub id: String,
    /// Who owns (and manages) it.
    pub owner: SecretOwner,
    /// The owner's label.
    #[serde(default)]
    pub label: Option<String>,
    /// Consumer labels, keyed by consuming unit.
    #[serde(default)]
    pub consumer_labels: BTreeMap<String, String>,
    #[serde(default)]
    /// Set with `--description`.
    pub description: Option<String>,
    /// RFC 3339 expiry time.
    #[serde(default)]
    pub expire: Option<String>,
    /// Rotation policy (`never`, `hourly`, ...).
    #[serde(default)]
    pub rotate: Option<String>,
    /// Revisions, oldest first; the last is the latest.
    pub revisions: Vec<SecretRevision>,
    /// The revision each unit (owner or consumer) tracks, keyed by unit.
    #[serde(default)]
    pub tracked: BTreeMap<String, u32>,
    /// Grants: relation id to the applications and units granted over it.
    #[serde(default)]
    pub grants: BTreeMap<u32, BTreeSet<String>>,
    /// Applications a user secret is granted to (`juju grant-secret`, no relation).
    #[serde(default)]
    pub user_grants: BTreeSet<String>,
}

impl Secret {
    /// A secret with a fresh id and one revision of `content`.
    pub fn new<K: Into<String>, V: Into<String>>(
        owner: SecretOwner,
        content: impl IntoIterator<Item = (K, V)>,
    ) -> Secret {
        Secret {
            id: new_secret_id(),
            owner,
            label: None,
            consumer_labels: BTreeMap::new(),
            description: None,
            expire: None,
            rotate: None,
            revisions: vec![SecretRevision {
                revision: 1,
                content: bag(content),
            }],
            tracked: BTreeMap::new(),
            grants: BTreeMap::new(),
            user_grants: BTreeSet::new(),
        }
    }

    /// A user secret (`juju add-secret <name> key=value ...`), labelled with its name.
    pub fn user_secret<K: Into<String>, V: Into<String>>(
        name: &str,
        content: impl IntoIterator<Item = (K, V)>,
    ) -> Secret {
        Secret::new(SecretOwner::Model, content).with_label(name)
    }

    /// Grants a user secret to an application (`juju grant-secret <name> <app>`).
    pub fn with_user_grant(mut self, app: &str) -> Secret {
        self.user_grants.insert(app.to_string());
        self
    }

    /// Sets the owner label.
    pub fn with_label(mut self, label: &str) -> Secret {
        self.label = Some(label.to_string());
        self
    }

    /// Grants the secret to `grantee` (an application or unit name) over a relation.
    pub fn with_grant(mut self, relation_id: u32, grantee: &str) -> Secret {
        self.grants
            .entry(relation_id)
            .or_default()
            .insert(grantee.to_string());
        self
    }

    /// Sets a consumer's label.
    pub fn with_consumer_label(mut self, unit: &str, label: &str) -> Secret {
        self.consumer_labels
            .insert(unit.to_string(), label.to_string());
        self
    }

    /// Adds a new revision with `content` (the owner calling `secret-set`).
    pub fn add_revision<K: Into<String>, V: Into<String>>(
        &mut self,
        content: impl IntoIterator<Item = (K, V)>,
    ) -> u32 {
        let revision = self.latest_revision() + 1;
        self.revisions.push(SecretRevision {
            revision,
            content: bag(content),
        });
        revision
    }

    /// The newest revision number (0 if the secret has none).
    pub fn latest_revision(&self) -> u32 {
        self.revisions.last().map(|r| r.revision).unwrap_or(0)
    }

    /// The content of one revision.
    pub fn content(&self, revision: u32) -> Option<&BTreeMap<String, String>> {
        self.revisions
            .iter()
            .find(|r| r.revision == revision)
            .map(|r| &r.content)
    }

    /// The newest content.
    pub fn latest_content(&self) -> Option<&BTreeMap<String, String>> {
        self.revisions.last().map(|r| &r.content)
    }

    /// The bare id (the 20 characters after `secret:`), as `secret-info-get` keys it.
    pub fn xid(&self) -> &str {
        secret_xid(&self.id)
    }
}

/// The 20-character part of a secret URI (`secret:X`, `secret://<model>/X` or bare `X`).
pub fn secret_xid(uri: &str) -> &str {
    let rest = uri.strip_prefix("secret:").unwrap_or(uri);
    match rest.strip_prefix("//") {
        Some(after) => after.rsplit('/').next().unwrap_or(after),
        None => rest,
    }
}

/// A new secret id in Juju's form: `secret:` and 20 lowercase base32hex characters (an
/// xid: 4 bytes of time, 5 of process and randomness, 3 of a counter).
pub fn new_secret_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = (now.as_secs() & 0xffff_ffff) as u32;
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let noise = now.subsec_nanos() ^ std::process::id().rotate_left(16);
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    bytes[4..8].copy_from_slice(&noise.to_be_bytes());
    bytes[8] = (std::process::id() & 0xff) as u8;
    bytes[9..12].copy_from_slice(&count.to_be_bytes()[1..]);
    format!("secret:{}", base32hex_lower(&bytes))
}

fn base32hex_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// One address of a network binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAddress {
    /// The address.
    pub value: String,
    /// Its subnet.
    pub cidr: String,
    #[serde(default)]
    /// A host name, if any.
    pub hostname: String,
}

/// An interface with its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindAddress {
    /// The interface, e.g. `eth0`.
    pub interface_name: String,
    #[serde(default)]
    /// Its MAC address (empty on Kubernetes).
    pub mac_address: String,
    /// Its addresses.
    pub addresses: Vec<NetworkAddress>,
}

/// What `network-get` reports for a binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// Interfaces the unit binds on.
    pub bind_addresses: Vec<BindAddress>,
    /// Addresses others reach the unit at.
    pub ingress_addresses: Vec<String>,
    /// Subnets the unit's traffic comes from.
    pub egress_subnets: Vec<String>,
}

impl Network {
    /// A Kubernetes pod's network: one `eth0` with `address`.
    pub fn for_address(address: &str) -> Network {
        Network {
            bind_addresses: vec![BindAddress {
                interface_name: "eth0".into(),
                mac_address: String::new(),
                addresses: vec![NetworkAddress {
                    value: address.to_string(),
                    cidr: format!("{address}/32"),
                    hostname: String::new(),
                }],
            }],
            ingress_addresses: vec![address.to_string()],
            egress_subnets: vec![format!("{address}/32")],
        }
    }
}

/// The action being run, and what the action tools wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRun {
    /// The action's name.
    pub name: String,
    /// `JUJU_ACTION_UUID` (a number in Juju 3).
    pub id: String,
    /// The unit it runs on.
    pub unit: String,
    /// Its parameters (`action-get`).
    pub params: serde_json::Map<String, Value>,
    /// `action-set` results, nested at the dots of their keys.
    #[serde(default)]
    pub results: serde_json::Map<String, Value>,
    /// Whether `action-fail` was called.
    #[serde(default)]
    pub failed: bool,
    /// The `action-fail` message.
    #[serde(default)]
    pub message: Option<String>,
    /// `action-log` messages, in order.
    #[serde(default)]
    pub logs: Vec<String>,
}

/// One hook-tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The unit that called it.
    pub unit: String,
    /// The dispatch path of the hook or action (`hooks/install`), empty if unknown.
    #[serde(default)]
    pub hook: String,
    /// The tool's name.
    pub tool: String,
    /// Its arguments.
    pub args: Vec<String>,
}

/// The Juju model as the unit agents of one application see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelState {
    /// `JUJU_MODEL_NAME`.
    pub model_name: String,
    /// `JUJU_MODEL_UUID`.
    pub model_uuid: String,
    /// Our application.
    pub app_name: String,
    /// Our application's units, keyed by unit name.
    pub units: BTreeMap<String, UnitState>,
    /// The leader unit, if any.
    pub leader: Option<String>,
    /// The application status (`status-set --application`).
    pub app_status: StatusRecord,
    /// The effective config: set values over defaults. An option without default that
    /// is not set is absent, as in Juju.
    pub config: BTreeMap<String, Value>,
    /// Relations of our application, peers included.
    pub relations: Vec<Relation>,
    /// How many relation ids were handed out (ids from 0): Juju never reuses a
    /// removed relation's id.
    #[serde(default)]
    pub issued_relation_ids: u32,
    /// Secrets ours and those granted to us.
    pub secrets: Vec<Secret>,
    /// Resource name to the file `resource-get` prints.
    pub resources: BTreeMap<String, PathBuf>,
    /// Binding names `network-get` knows (endpoints and extra bindings); `juju-info` is
    /// always known.
    pub bindings: BTreeSet<String>,
    /// Per-binding network overrides; other known bindings report the unit's address.
    pub networks: BTreeMap<String, Network>,
    /// Leadership settings (`leader-get`/`leader-set`, deprecated in Juju but present).
    pub leader_settings: BTreeMap<String, String>,
    /// The action being run, with what the action tools wrote.
    pub action: Option<ActionRun>,
    /// Every hook-tool call, in order. Kept beside the state file, in `<state>.calls` (one
    /// JSON line a call), so a hook tool appends its call without rewriting the model.
    #[serde(skip)]
    pub tool_calls: Vec<ToolCall>,
}

impl Default for ModelState {
    fn default() -> Self {
        ModelState::new("app")
    }
}

/// The application of a unit name (`kratos/0` -> `kratos`).
pub fn unit_app(unit: &str) -> &str {
    unit.split_once('/').map(|(app, _)| app).unwrap_or(unit)
}

impl ModelState {
    /// An empty model with application `app`, no units, no relations.
    pub fn new(app: &str) -> ModelState {
        ModelState {
            model_name: "test-model".into(),
            model_uuid: "6f3b7c2e-2d0a-4e1b-9c57-0a4d8e6b1f2c".into(),
            app_name: app.to_string(),
            units: BTreeMap::new(),
            leader: None,
            app_status: StatusRecord::default(),
            config: BTreeMap::new(),
            relations: Vec::new(),
            issued_relation_ids: 0,
            secrets: Vec::new(),
            resources: BTreeMap::new(),
            bindings: BTreeSet::new(),
            networks: BTreeMap::new(),
            leader_settings: BTreeMap::new(),
            action: None,
            tool_calls: Vec::new(),
        }
    }

    /// Adds a unit (its address derived from its number).
    pub fn with_unit(mut self, unit: &str) -> ModelState {
        self.add_unit(unit);
        self
    }

    /// Adds a unit if it is not there yet and returns it.
    pub fn add_unit(&mut self, unit: &str) -> &mut UnitState {
        let number: u32 = unit
            .rsplit_once('/')
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(0);
        self.units
            .entry(unit.to_string())
            .or_insert_with(|| UnitState {
                address: format!("10.1.{}.{}", number / 200, 10 + number % 200),
                ..UnitState::default()
            })
    }

    /// Makes `unit` the leader.
    pub fn with_leader(mut self, unit: &str) -> ModelState {
        self.leader = Some(unit.to_string());
        self
    }

    /// Sets a config value.
    pub fn with_config(mut self, key: &str, value: impl Into<Value>) -> ModelState {
        self.config.insert(key.to_string(), value.into());
        self
    }

    /// Adds a relation.
    pub fn with_relation(mut self, relation: Relation) -> ModelState {
        self.relations.push(relation);
        self
    }

    /// Adds a secret.
    pub fn with_secret(mut self, secret: Secret) -> ModelState {
        self.secrets.push(secret);
        self
    }

    /// Adds a resource file.
    pub fn with_resource(mut self, name: &str, path: impl Into<PathBuf>) -> ModelState {
        self.resources.insert(name.to_string(), path.into());
        self
    }

    /// Fills in the defaults of a charm's `config.yaml` for options not set yet.
    pub fn load_config_defaults(&mut self, config_yaml: &str) -> Result<(), StateError> {
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(config_yaml)
            .map_err(|e| StateError::ConfigYaml(e.to_string()))?;
        let Some(options) = doc.get("options") else {
            return Ok(());
        };
        let options = options
            .as_mapping()
            .ok_or_else(|| StateError::ConfigYaml("`options` is not a mapping".into()))?;
        for (name, option) in options {
            let name = name
                .as_str()
                .ok_or_else(|| StateError::ConfigYaml(format!("option name {name:?}")))?;
            let Some(default) = option.get("default") else {
                continue;
            };
            if default.is_null() {
                continue;
            }
            let value: Value = serde_json::to_value(default)
                .map_err(|e| StateError::ConfigYaml(format!("default of {name}: {e}")))?;
            self.config.entry(name.to_string()).or_insert(value);
        }
        Ok(())
    }

    /// Whether `unit` is the leader.
    pub fn is_leader(&self, unit: &str) -> bool {
        self.leader.as_deref() == Some(unit)
    }

    /// The id the next relation gets (ids are unique in the model and never reused, as
    /// in Juju).
    pub fn next_relation_id(&self) -> u32 {
        self.relations
            .iter()
            .map(|r| r.id + 1)
            .max()
            .unwrap_or(0)
            .max(self.issued_relation_ids)
    }

    /// Hands out the next relation id.
    pub fn allocate_relation_id(&mut self) -> u32 {
        let id = self.next_relation_id();
        self.issued_relation_ids = id + 1;
        id
    }

    /// A relation by id.
    pub fn relation(&self, id: u32) -> Option<&Relation> {
        self.relations.iter().find(|r| r.id == id)
    }

    /// A relation by id, to edit.
    pub fn relation_mut(&mut self, id: u32) -> Option<&mut Relation> {
        self.relations.iter_mut().find(|r| r.id == id)
    }

    /// The relations on one endpoint.
    pub fn relations_on<'a>(&'a self, endpoint: &'a str) -> impl Iterator<Item = &'a Relation> {
        self.relations
            .iter()
            .filter(move |r| r.endpoint == endpoint)
    }

    /// One of our units.
    pub fn unit(&self, unit: &str) -> Option<&UnitState> {
        self.units.get(unit)
    }

    /// One of our units, to edit.
    pub fn unit_mut(&mut self, unit: &str) -> Option<&mut UnitState> {
        self.units.get_mut(unit)
    }

    /// A secret by id (any URI form) or by owner label.
    pub fn secret(&self, id_or_label: &str) -> Option<&Secret> {
        let xid = secret_xid(id_or_label);
        self.secrets.iter().find(|s| s.xid() == xid).or_else(|| {
            self.secrets
                .iter()
                .find(|s| s.label.as_deref() == Some(id_or_label))
        })
    }

    /// A mutable secret by id (any URI form) or by owner label.
    pub fn secret_mut(&mut self, id_or_label: &str) -> Option<&mut Secret> {
        let index = {
            let xid = secret_xid(id_or_label);
            self.secrets
                .iter()
                .position(|s| s.xid() == xid)
                .or_else(|| {
                    self.secrets
                        .iter()
                        .position(|s| s.label.as_deref() == Some(id_or_label))
                })
        }?;
        self.secrets.get_mut(index)
    }

    /// The hook-tool calls one unit made.
    pub fn tool_calls_of<'a>(&'a self, unit: &'a str) -> impl Iterator<Item = &'a ToolCall> {
        self.tool_calls.iter().filter(move |c| c.unit == unit)
    }

    /// Reads a state file and its log of tool calls.
    pub fn load(path: &Path) -> Result<ModelState, StateError> {
        let mut state = ModelState::load_model(path)?;
        state.tool_calls = read_calls(&calls_path(path))?;
        Ok(state)
    }

    /// Reads a state file without its log of tool calls.
    fn load_model(path: &Path) -> Result<ModelState, StateError> {
        let text = std::fs::read(path).map_err(|source| StateError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| StateError::Corrupt {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes a state file and its log of tool calls, each atomically: a temporary file in
    /// the same directory, then a rename over the old one, so a reader never sees half a
    /// state.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        self.save_model(path)?;
        let mut log = Vec::new();
        for call in &self.tool_calls {
            serde_json::to_writer(&mut log, call).map_err(StateError::Serialise)?;
            log.push(b'\n');
        }
        write_atomically(&calls_path(path), &log)
    }

    /// Writes the state file alone.
    fn save_model(&self, path: &Path) -> Result<(), StateError> {
        let text = serde_json::to_vec_pretty(self).map_err(StateError::Serialise)?;
        write_atomically(path, &text)
    }

    /// Runs `f` on the state in `path` under an exclusive lock (on `<path>.lock`, a file
    /// that is never replaced, so every process locks the same inode) and saves the
    /// result when `f` changed it.
    pub fn update_locked<R>(
        path: &Path,
        f: impl FnOnce(&mut ModelState) -> R,
    ) -> Result<R, StateError> {
        let _lock = lock(path)?;
        let mut state = ModelState::load(path)?;
        let before = state.clone();
        let result = f(&mut state);
        if state != before {
            state.save(path)?;
        }
        Ok(result)
    }

    /// As [`ModelState::update_locked`] for one hook tool: `f` sees the model without the
    /// earlier calls, the calls it records are appended to the log, and the state file is
    /// rewritten only when the model itself changed. A read-only tool costs one read of
    /// the state and one short append, as a call to a real unit agent changes nothing.
    pub fn update_locked_appending_calls<R>(
        path: &Path,
        f: impl FnOnce(&mut ModelState) -> R,
    ) -> Result<R, StateError> {
        let _lock = lock(path)?;
        let mut state = ModelState::load_model(path)?;
        let before = state.clone();
        let result = f(&mut state);
        let calls = std::mem::take(&mut state.tool_calls);
        if state != before {
            state.save_model(path)?;
        }
        if !calls.is_empty() {
            let mut log = Vec::new();
            for call in &calls {
                serde_json::to_writer(&mut log, call).map_err(StateError::Serialise)?;
                log.push(b'\n');
            }
            let calls_file = calls_path(path);
            let io = |action: &'static str| {
                let p = calls_file.clone();
                move |source| StateError::Io {
                    action,
                    path: p,
                    source,
                }
            };
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&calls_file)
                .map_err(io("open"))?
                .write_all(&log)
                .map_err(io("append to"))?;
        }
        Ok(result)
    }
}

/// Takes the exclusive lock of the state in `path` (released when the file is dropped).
fn lock(path: &Path) -> Result<File, StateError> {
    let lock_path = lock_path(path);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| StateError::Io {
            action: "open lock file",
            path: lock_path.clone(),
            source,
        })?;
    lock.lock().map_err(|source| StateError::Io {
        action: "lock",
        path: lock_path,
        source,
    })?;
    Ok(lock)
}

/// The log of tool calls beside the state in `path`.
fn calls_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".calls");
    PathBuf::from(name)
}

/// The tool calls logged in `path` (none if it does not exist).
fn read_calls(path: &Path) -> Result<Vec<ToolCall>, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StateError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|source| StateError::Corrupt {
                path: path.to_path_buf(),
                source,
            })
        })
        .collect()
}

/// Writes `bytes` to `path` through a temporary file renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let io = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| StateError::Io {
            action,
            path: p,
            source,
        }
    };
    let mut file = File::create(&tmp).map_err(io("create", &tmp))?;
    // No fsync: the rename makes the new state atomic for other processes, and a test's
    // state need not survive a power cut (hook tools are called per hook, and an fsync
    // each would dominate their cost).
    file.write_all(bytes).map_err(io("write", &tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io("replace", path))
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_ids_are_never_reused() {
        let mut state = ModelState::new("kratos");
        let first = state.allocate_relation_id();
        state
            .relations
            .push(Relation::peer(first, "peers", "p", "kratos"));
        let second = state.allocate_relation_id();
        assert_eq!((first, second), (0, 1));
        state.relations.clear();
        assert_eq!(state.next_relation_id(), 2);
        assert_eq!(state.allocate_relation_id(), 2);
    }

    #[test]
    fn ports_parse_and_print_as_juju_does() {
        for (input, printed) in [
            ("80", "80/tcp"),
            ("80/TCP", "80/tcp"),
            ("8000-8100/udp", "8000-8100/udp"),
            ("icmp", "icmp"),
        ] {
            assert_eq!(input.parse::<PortRange>().unwrap().to_string(), printed);
        }
        for bad in ["0", "x", "80/sctp", "90-80", "70000", "80/icmp"] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad}");
        }
        let mut ports: Vec<PortRange> = ["443/udp", "icmp", "80", "22"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        ports.sort();
        let printed: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
        assert_eq!(printed, ["icmp", "22/tcp", "80/tcp", "443/udp"]);
    }

    #[test]
    fn secret_ids_look_like_juju_ones_and_differ() {
        let a = new_secret_id();
        let b = new_secret_id();
        assert_ne!(a, b);
        let xid = a.strip_prefix("secret:").unwrap();
        assert_eq!(xid.len(), 20);
        assert!(xid
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c)));
        assert!(matches!(xid.chars().last(), Some('0' | 'g')), "{xid}");
        assert_eq!(secret_xid(&format!("secret://some-uuid/{xid}")), xid);
        assert_eq!(secret_xid(xid), xid);
    }

    #[test]
    fn config_defaults_fill_only_unset_options() {
        let mut state = ModelState::new("app").with_config("log_level", "debug");
        state
            .load_config_defaults(
                "options:\n  log_level: {type: string, default: info}\n  port: {type: int, default: 80}\n  \
                 dev: {type: boolean, default: false}\n  ratio: {type: float, default: 0.5}\n  secret: {type: string}\n",
            )
            .unwrap();
        assert_eq!(state.config["log_level"], "debug");
        assert_eq!(state.config["port"], 80);
        assert_eq!(state.config["dev"], false);
        assert_eq!(state.config["ratio"], 0.5);
        assert!(!state.config.contains_key("secret"));
        assert!(state.load_config_defaults("options: [1]").is_err());
    }

    #[test]
    fn tool_calls_are_appended_beside_the_model_and_loaded_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = ModelState::new("kratos").with_unit("kratos/0");
        state.tool_calls.push(ToolCall {
            unit: "kratos/0".into(),
            hook: "hooks/install".into(),
            tool: "is-leader".into(),
            args: vec![],
        });
        state.save(&path).unwrap();
        let model_before = std::fs::read(&path).unwrap();
        // A read-only tool: the model file is left alone, its call is appended.
        let seen = ModelState::update_locked_appending_calls(&path, |s| {
            s.tool_calls.push(ToolCall {
                unit: "kratos/0".into(),
                hook: "hooks/start".into(),
                tool: "config-get".into(),
                args: vec!["--format=json".into()],
            });
            s.units.len()
        })
        .unwrap();
        assert_eq!(seen, 1);
        assert_eq!(std::fs::read(&path).unwrap(), model_before);
        // A writing tool: the model is saved, the log still appended.
        ModelState::update_locked_appending_calls(&path, |s| {
            s.tool_calls.push(ToolCall {
                unit: "kratos/0".into(),
                hook: "hooks/start".into(),
                tool: "status-set".into(),
                args: vec!["active".into()],
            });
            s.units.get_mut("kratos/0").unwrap().status.message = "ready".into();
        })
        .unwrap();
        let loaded = ModelState::load(&path).unwrap();
        let tools: Vec<&str> = loaded.tool_calls.iter().map(|c| c.tool.as_str()).collect();
        assert_eq!(tools, ["is-leader", "config-get", "status-set"]);
        assert_eq!(loaded.units["kratos/0"].status.message, "ready");
        // Clearing the log through a full update empties it.
        ModelState::update_locked(&path, |s| s.tool_calls.clear()).unwrap();
        assert!(ModelState::load(&path).unwrap().tool_calls.is_empty());
    }

    #[test]
    fn state_round_trips_through_the_locked_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let state = ModelState::new("kratos")
            .with_unit("kratos/0")
            .with_leader("kratos/0")
            .with_relation(
                Relation::new(3, "pg-database", "postgresql_client", "postgresql-k8s")
                    .with_remote_unit("postgresql-k8s/0", [("a", "b")]),
            )
            .with_secret(
                Secret::new(SecretOwner::Application("kratos".into()), [("k", "v")])
                    .with_label("cookie"),
            );
        state.save(&path).unwrap();
        let changed = ModelState::update_locked(&path, |s| {
            s.add_unit("kratos/1");
            s.units.len()
        })
        .unwrap();
        assert_eq!(changed, 2);
        let loaded = ModelState::load(&path).unwrap();
        assert_eq!(loaded.units.len(), 2);
        assert_eq!(loaded.units["kratos/1"].address, "10.1.0.11");
        assert_eq!(loaded.relations, state.relations);
        assert_eq!(loaded.secret("cookie").unwrap().id, state.secrets[0].id);
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            ModelState::load(&path),
            Err(StateError::Corrupt { .. })
        ));
    }
}
