//! Pebble's data types: layers (as Pebble's YAML spells them) and API results.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use super::ExecFailed;

/// Defines an enum for one of Pebble's string values: a variant per value this crate
/// knows plus `Unknown(String)` for any other (a newer Pebble's), so parsing never
/// fails and every value serializes back exactly as Pebble spelled it. Equality and
/// hashing go by the wire string, and the enum compares equal to its `&str`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know, as Pebble spelled it.
            Unknown(String),
        }

        impl $name {
            /// The value as Pebble spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> $name {
                match value {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> $name {
                match $name::from(value.as_str()) {
                    $name::Unknown(_) => $name::Unknown(value),
                    known => known,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<$name, Self::Err> {
                Ok($name::from(value))
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &$name) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl Eq for $name {}

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.as_str().hash(state);
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                String::deserialize(deserializer).map($name::from)
            }
        }
    };
}

wire_enum! {
    /// A service's state as `GET /v1/services` reports it (`current`).
    pub enum ServiceStatus {
        /// `active`: running.
        Active = "active",
        /// `inactive`: not started, or stopped.
        Inactive = "inactive",
        /// `backoff`: exited and waiting to be restarted.
        Backoff = "backoff",
        /// `error`: exited and Pebble gave up restarting it.
        Error = "error",
    }
}

impl ServiceStatus {
    /// Whether the service is running (`active`).
    pub fn is_running(&self) -> bool {
        *self == ServiceStatus::Active
    }

    /// Whether the service crashed: `error`, or `backoff` (exited, waiting to restart).
    pub fn is_failed(&self) -> bool {
        matches!(self, ServiceStatus::Error | ServiceStatus::Backoff)
    }
}

wire_enum! {
    /// Whether a service starts on `replan` (a layer's `startup`, and what
    /// `GET /v1/services` reports).
    pub enum ServiceStartup {
        /// `enabled`: `replan` starts it.
        Enabled = "enabled",
        /// `disabled`: only an explicit start starts it.
        Disabled = "disabled",
    }
}

impl ServiceStartup {
    /// Whether it is `enabled`.
    pub fn is_enabled(&self) -> bool {
        *self == ServiceStartup::Enabled
    }
}

wire_enum! {
    /// Whether a health check runs from the start (a layer check's `startup`).
    pub enum CheckStartup {
        /// `enabled`: the check runs (Pebble's default).
        Enabled = "enabled",
        /// `disabled`: the check is `inactive` until started.
        Disabled = "disabled",
    }
}

wire_enum! {
    /// A health check's level.
    pub enum CheckLevel {
        /// `alive`: the workload is alive.
        Alive = "alive",
        /// `ready`: the workload is ready to serve (it is alive too).
        Ready = "ready",
    }
}

wire_enum! {
    /// A check's state as `GET /v1/checks` reports it.
    pub enum CheckStatus {
        /// `up`: passing (or not yet failed `threshold` times in a row).
        Up = "up",
        /// `down`: failed `threshold` times in a row.
        Down = "down",
        /// `inactive`: not running (`startup: disabled`, or stopped; newer Pebble).
        Inactive = "inactive",
    }
}

impl CheckStatus {
    /// Whether the check is `up`.
    pub fn is_up(&self) -> bool {
        *self == CheckStatus::Up
    }
}

/// Reads an optional Pebble value where an empty string means unset.
fn unset_if_empty<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    let value: Option<String> = Option::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.is_empty()).map(T::from))
}

/// Whether an optional Pebble value is unset (`None` or empty), so it is left out.
fn is_unset<T: AsRef<str>>(value: &Option<T>) -> bool {
    value.as_ref().is_none_or(|v| v.as_ref().is_empty())
}

/// The value of a field Pebble left out of a reply: `Unknown("")`.
fn unknown<T: From<String>>() -> T {
    T::from(String::new())
}

/// A Pebble layer. Field names are Pebble's (`kebab-case`); empty fields are omitted so
/// a rendered layer contains only what the charm set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Layer {
    /// A one-line summary of the layer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// A longer description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The services, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
    /// The health checks, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Check>,
    /// The log targets, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_targets: BTreeMap<String, LogTarget>,
}

/// The combined plan is shaped like a layer.
pub type Plan = Layer;

/// A service in a layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Service {
    /// A one-line summary of the service.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// A longer description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `merge` or `replace`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#override: String,
    /// The command line Pebble runs (shell-like quoting, no shell).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// `enabled` or `disabled`; `None` (left out of the layer) is unset.
    #[serde(
        default,
        deserialize_with = "unset_if_empty",
        skip_serializing_if = "is_unset"
    )]
    pub startup: Option<ServiceStartup>,
    /// Services to start before this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Services to start after this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    /// Services that start with this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Environment variables of the process.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// The user to run as.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// The group to run as.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The working directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    /// `restart`, `shutdown` or `ignore`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub on_success: String,
    /// What to do when it exits non-zero (same values as `on-success`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub on_failure: String,
    /// What to do when a named check fails (same values as `on-success`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub on_check_failure: BTreeMap<String, String>,
    /// The first delay before a restart, a Go duration (`500ms`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub backoff_delay: String,
    /// How long to wait after SIGTERM before SIGKILL, a Go duration.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kill_delay: String,
}

/// A health check in a layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Check {
    /// `merge` or `replace`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#override: String,
    /// `alive` or `ready`; `None` (left out of the layer) is unset.
    #[serde(
        default,
        deserialize_with = "unset_if_empty",
        skip_serializing_if = "is_unset"
    )]
    pub level: Option<CheckLevel>,
    /// `enabled` or `disabled`; `None` (left out of the layer) is unset.
    #[serde(
        default,
        deserialize_with = "unset_if_empty",
        skip_serializing_if = "is_unset"
    )]
    pub startup: Option<CheckStartup>,
    /// How often it runs, a Go duration (`10s`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    /// How long one run may take, a Go duration.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub timeout: String,
    /// Failures in a row before it is `down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    /// An HTTP check (one of `http`, `tcp` and `exec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    /// A TCP check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    /// A command check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecCheck>,
}

/// An HTTP check: up when a GET of `url` answers 2xx.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheck {
    /// Required in the plan; a `merge` layer may leave it out.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// A TCP check: up when `host:port` accepts a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCheck {
    /// Required in the plan; a `merge` layer may leave it out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub port: u16,
    /// The host; Pebble's default (`localhost`) when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
}

/// A command check: up when the command exits 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ExecCheck {
    /// Required in the plan; a `merge` layer may leave it out.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// Environment variables of the command.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// The working directory of the command.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
}

fn is_zero(port: &u16) -> bool {
    *port == 0
}

/// A log target (log forwarding to Loki or OpenTelemetry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTarget {
    /// `merge` or `replace`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#override: String,
    /// `loki` or `opentelemetry`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    /// Where to send the logs (a URL).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// Services to forward; `all`, or names, or `-name` to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Labels to add to every log line.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// `GET /v1/system-info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemInfo {
    /// Pebble's version.
    pub version: String,
    /// The machine's boot id.
    #[serde(default)]
    pub boot_id: String,
}

/// A service's state as `GET /v1/services` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ServiceInfo {
    /// The service's name.
    pub name: String,
    /// `enabled` or `disabled` (`Unknown("")` if Pebble left it out).
    #[serde(default = "unknown")]
    pub startup: ServiceStartup,
    /// `active`, `inactive`, `backoff` or `error`.
    pub current: ServiceStatus,
}

impl ServiceInfo {
    /// Whether the service is running (`active`).
    pub fn is_running(&self) -> bool {
        self.current.is_running()
    }

    /// Whether the service crashed (`error` or `backoff`); see
    /// [`ServiceStatus::is_failed`].
    pub fn is_failed(&self) -> bool {
        self.current.is_failed()
    }
}

/// A check's state as `GET /v1/checks` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckInfo {
    /// The check's name.
    pub name: String,
    /// `alive` or `ready`; `None` if the check has no level.
    #[serde(default, deserialize_with = "unset_if_empty")]
    pub level: Option<CheckLevel>,
    /// `up` or `down` (and `inactive` on newer Pebble).
    pub status: CheckStatus,
    /// Failures in a row so far.
    #[serde(default)]
    pub failures: u32,
    /// Failures in a row before it is `down`.
    #[serde(default)]
    pub threshold: u32,
}

/// A file or directory as `GET /v1/files?action=list` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileInfo {
    /// The absolute path.
    pub path: String,
    /// The base name.
    pub name: String,
    /// `file`, `directory`, `symlink`, ...
    pub r#type: String,
    /// The size in bytes (files only).
    #[serde(default)]
    pub size: Option<u64>,
    /// Octal string, e.g. `644`.
    pub permissions: String,
    /// The owner.
    #[serde(default)]
    pub user: Option<String>,
    /// The owning group.
    #[serde(default)]
    pub group: Option<String>,
}

/// Options for [`super::Pebble::push`] and [`super::Pebble::make_dir`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// Create missing parent directories.
    pub make_dirs: bool,
    /// Unix permissions, e.g. `0o600`; Pebble's default when `None`.
    pub permissions: Option<u32>,
    /// The owner; Pebble's default when `None`.
    pub user: Option<String>,
    /// The owning group; Pebble's default when `None`.
    pub group: Option<String>,
}

/// A notice as `GET /v1/notices` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Notice {
    /// The notice id.
    pub id: String,
    /// The notice type, e.g. `custom`.
    pub r#type: String,
    /// The notice key, e.g. `example.com/a`.
    pub key: String,
    /// How often it occurred.
    #[serde(default)]
    pub occurrences: u32,
    /// The data of the last occurrence.
    #[serde(default)]
    pub last_data: BTreeMap<String, String>,
}

/// Filters for [`super::Pebble::notices`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticesQuery {
    /// Only these types (all when empty).
    pub types: Vec<String>,
    /// Only these keys (all when empty).
    pub keys: Vec<String>,
}

/// A command to run in the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Environment variables of the command.
    pub environment: BTreeMap<String, String>,
    /// The working directory; Pebble's default when `None`.
    pub working_dir: Option<String>,
    /// Pebble kills the command after this long.
    pub timeout: Option<Duration>,
    /// The user to run as.
    pub user: Option<String>,
    /// The group to run as.
    pub group: Option<String>,
    /// What to write to the command's stdin.
    pub stdin: Option<Vec<u8>>,
}

impl ExecRequest {
    /// A request for `command` with nothing else set.
    pub fn new<S: Into<String>>(command: impl IntoIterator<Item = S>) -> ExecRequest {
        ExecRequest {
            command: command.into_iter().map(Into::into).collect(),
            ..ExecRequest::default()
        }
    }
}

/// What a command printed and how it exited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// The command that ran.
    pub command: Vec<String>,
    /// Its exit code.
    pub exit_code: i32,
    /// What it printed on stdout.
    pub stdout: Vec<u8>,
    /// What it printed on stderr.
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// The output when the command exited 0, else an [`ExecFailed`] error carrying it.
    pub fn success(self) -> Result<ExecOutput, ExecFailed> {
        if self.exit_code == 0 {
            Ok(self)
        } else {
            Err(ExecFailed {
                command: self.command,
                exit_code: self.exit_code,
                stdout: self.stdout,
                stderr: self.stderr,
            })
        }
    }

    /// Stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_parse_to_variants_and_unknown_ones_are_kept() {
        assert_eq!(ServiceStatus::from("backoff"), ServiceStatus::Backoff);
        assert_eq!(
            ServiceStatus::from("starting"),
            ServiceStatus::Unknown("starting".into())
        );
        assert_eq!(ServiceStatus::from("starting").as_str(), "starting");
        assert_eq!(CheckStatus::from("inactive"), CheckStatus::Inactive);
        assert_eq!(CheckLevel::from(String::from("ready")), CheckLevel::Ready);
        assert_eq!(ServiceStartup::Disabled.to_string(), "disabled");
        // Equality goes by the wire string, so a hand-built Unknown of a known value
        // still equals the variant.
        assert_eq!(
            ServiceStatus::Unknown("active".into()),
            ServiceStatus::Active
        );
        assert!(ServiceStatus::Active == "active");
    }

    #[test]
    fn failed_means_error_or_backoff() {
        let failed: Vec<bool> = ["active", "inactive", "backoff", "error", "new"]
            .into_iter()
            .map(|s| ServiceStatus::from(s).is_failed())
            .collect();
        assert_eq!(failed, [false, false, true, true, false]);
        assert!(ServiceStatus::Active.is_running());
        assert!(!ServiceStatus::Backoff.is_running());
    }

    #[test]
    fn api_results_with_unknown_values_still_parse() {
        let info: ServiceInfo = serde_json::from_str(
            r#"{"name": "web", "startup": "someday", "current": "paused", "current-since": "x"}"#,
        )
        .unwrap();
        assert_eq!(info.startup, ServiceStartup::Unknown("someday".into()));
        assert_eq!(info.current, ServiceStatus::Unknown("paused".into()));
        assert!(!info.is_running() && !info.is_failed());

        let info: ServiceInfo =
            serde_json::from_str(r#"{"name": "web", "current": "error"}"#).unwrap();
        assert_eq!(info.startup, ServiceStartup::Unknown(String::new()));
        assert!(info.is_failed());

        let check: CheckInfo =
            serde_json::from_str(r#"{"name": "c", "status": "sideways", "threshold": 3}"#).unwrap();
        assert_eq!(check.level, None);
        assert_eq!(check.status, CheckStatus::Unknown("sideways".into()));
        let check: CheckInfo =
            serde_json::from_str(r#"{"name": "c", "level": "alive", "status": "down"}"#).unwrap();
        assert_eq!(check.level, Some(CheckLevel::Alive));
        assert_eq!(check.status, CheckStatus::Down);
    }

    #[test]
    fn layers_round_trip_byte_for_byte() {
        let yaml = "\
services:
  a:
    override: replace
    command: a
    startup: enabled
  b:
    override: merge
    command: b
  c:
    override: replace
    command: c
    startup: someday
checks:
  alive:
    override: replace
    level: alive
    startup: disabled
    http:
      url: http://localhost/
  odd:
    override: merge
    level: deep
    tcp:
      port: 1
  plain:
    override: replace
    exec:
      command: 'true'
";
        let layer: Layer = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(layer.services["a"].startup, Some(ServiceStartup::Enabled));
        assert_eq!(layer.services["b"].startup, None);
        assert_eq!(
            layer.services["c"].startup,
            Some(ServiceStartup::Unknown("someday".into()))
        );
        assert_eq!(layer.checks["alive"].level, Some(CheckLevel::Alive));
        assert_eq!(layer.checks["alive"].startup, Some(CheckStartup::Disabled));
        assert_eq!(
            layer.checks["odd"].level,
            Some(CheckLevel::Unknown("deep".into()))
        );
        assert_eq!(layer.checks["plain"].level, None);
        assert_eq!(serde_yaml_ng::to_string(&layer).unwrap(), yaml);
    }

    #[test]
    fn empty_values_are_unset_and_left_out() {
        let layer: Layer = serde_yaml_ng::from_str(
            "services:\n  a:\n    override: replace\n    command: a\n    startup: ''\n\
             checks:\n  c:\n    override: replace\n    level: ''\n    tcp: {port: 1}\n",
        )
        .unwrap();
        assert_eq!(layer.services["a"].startup, None);
        assert_eq!(layer.checks["c"].level, None);
        let mut service = Service {
            startup: Some(ServiceStartup::Unknown(String::new())),
            ..Service::default()
        };
        assert_eq!(serde_yaml_ng::to_string(&service).unwrap(), "{}\n");
        service.startup = Some(ServiceStartup::Disabled);
        assert_eq!(
            serde_yaml_ng::to_string(&service).unwrap(),
            "startup: disabled\n"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = String> {
            any::<String>()
        }

        fn map() -> impl Strategy<Value = BTreeMap<String, String>> {
            prop::collection::btree_map(text(), text(), 0..3)
        }

        fn list() -> impl Strategy<Value = Vec<String>> {
            prop::collection::vec(text(), 0..3)
        }

        /// A wire value: known, or any other non-empty word (empty means unset).
        fn wire<T: From<String> + std::fmt::Debug>(
            known: &'static [&'static str],
        ) -> impl Strategy<Value = Option<T>> {
            prop::option::of(prop_oneof![
                prop::sample::select(known).prop_map(str::to_string),
                text().prop_filter("set", |s| !s.is_empty()),
            ])
            .prop_map(|value| value.map(T::from))
        }

        fn service() -> impl Strategy<Value = Service> {
            (
                (text(), text(), text(), text()),
                wire::<ServiceStartup>(&["enabled", "disabled"]),
                (list(), list(), list(), map()),
                (
                    text(),
                    text(),
                    text(),
                    text(),
                    text(),
                    map(),
                    text(),
                    text(),
                ),
            )
                .prop_map(
                    |(
                        (summary, description, r#override, command),
                        startup,
                        (after, before, requires, environment),
                        (
                            user,
                            group,
                            working_dir,
                            on_success,
                            on_failure,
                            on_check_failure,
                            backoff_delay,
                            kill_delay,
                        ),
                    )| Service {
                        summary,
                        description,
                        r#override,
                        command,
                        startup,
                        after,
                        before,
                        requires,
                        environment,
                        user,
                        group,
                        working_dir,
                        on_success,
                        on_failure,
                        on_check_failure,
                        backoff_delay,
                        kill_delay,
                    },
                )
        }

        fn check() -> impl Strategy<Value = Check> {
            (
                (text(), wire::<CheckLevel>(&["alive", "ready"])),
                wire::<CheckStartup>(&["enabled", "disabled"]),
                (text(), text(), prop::option::of(any::<u32>())),
                prop::option::of(
                    (text(), map()).prop_map(|(url, headers)| HttpCheck { url, headers }),
                ),
                prop::option::of(
                    (any::<u16>(), text()).prop_map(|(port, host)| TcpCheck { port, host }),
                ),
                prop::option::of((text(), map(), text()).prop_map(
                    |(command, environment, working_dir)| ExecCheck {
                        command,
                        environment,
                        working_dir,
                    },
                )),
            )
                .prop_map(
                    |(
                        (r#override, level),
                        startup,
                        (period, timeout, threshold),
                        http,
                        tcp,
                        exec,
                    )| Check {
                        r#override,
                        level,
                        startup,
                        period,
                        timeout,
                        threshold,
                        http,
                        tcp,
                        exec,
                    },
                )
        }

        fn log_target() -> impl Strategy<Value = LogTarget> {
            (text(), text(), text(), list(), map()).prop_map(
                |(r#override, r#type, location, services, labels)| LogTarget {
                    r#override,
                    r#type,
                    location,
                    services,
                    labels,
                },
            )
        }

        fn layer() -> impl Strategy<Value = Layer> {
            (
                text(),
                text(),
                prop::collection::btree_map(text(), service(), 0..3),
                prop::collection::btree_map(text(), check(), 0..3),
                prop::collection::btree_map(text(), log_target(), 0..3),
            )
                .prop_map(|(summary, description, services, checks, log_targets)| {
                    Layer {
                        summary,
                        description,
                        services,
                        checks,
                        log_targets,
                    }
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            /// A layer the charm sends reads back (Pebble's YAML) as the same layer, whatever
            /// its strings hold: nothing is lost, nothing is added.
            #[test]
            fn layers_round_trip_through_yaml(layer in layer()) {
                let yaml = serde_yaml_ng::to_string(&layer).unwrap();
                let back: Layer = serde_yaml_ng::from_str(&yaml).unwrap();
                prop_assert_eq!(back, layer);
            }
        }
    }
}
