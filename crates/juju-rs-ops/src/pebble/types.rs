//! Pebble's data types: layers (as Pebble's YAML spells them) and API results.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ExecFailed;

/// A Pebble layer. Field names are Pebble's (`kebab-case`); empty fields are omitted so
/// a rendered layer contains only what the charm set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Layer {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Check>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_targets: BTreeMap<String, LogTarget>,
}

/// The combined plan is shaped like a layer.
pub type Plan = Layer;

/// A service in a layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Service {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `merge` or `replace`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#override: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// `enabled` or `disabled`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub startup: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    /// `restart`, `shutdown` or `ignore`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub on_success: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub on_failure: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub on_check_failure: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub backoff_delay: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kill_delay: String,
}

/// A health check in a layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Check {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#override: String,
    /// `alive` or `ready`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub level: String,
    /// `enabled` or `disabled`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub startup: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub timeout: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecCheck>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheck {
    /// Required in the plan; a `merge` layer may leave it out.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCheck {
    /// Required in the plan; a `merge` layer may leave it out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub port: u16,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ExecCheck {
    /// Required in the plan; a `merge` layer may leave it out.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
}

fn is_zero(port: &u16) -> bool {
    *port == 0
}

/// A log target (log forwarding to Loki or OpenTelemetry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTarget {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#override: String,
    /// `loki` or `opentelemetry`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// Services to forward; `all`, or names, or `-name` to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// `GET /v1/system-info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemInfo {
    pub version: String,
    #[serde(default)]
    pub boot_id: String,
}

/// A service's state as `GET /v1/services` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ServiceInfo {
    pub name: String,
    /// `enabled` or `disabled`.
    #[serde(default)]
    pub startup: String,
    /// `active`, `inactive`, `backoff` or `error`.
    pub current: String,
}

impl ServiceInfo {
    pub fn is_running(&self) -> bool {
        self.current == "active"
    }
}

/// A check's state as `GET /v1/checks` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckInfo {
    pub name: String,
    #[serde(default)]
    pub level: String,
    /// `up` or `down` (and `inactive` on newer Pebble).
    pub status: String,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub threshold: u32,
}

/// A file or directory as `GET /v1/files?action=list` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileInfo {
    pub path: String,
    pub name: String,
    /// `file`, `directory`, `symlink`, ...
    pub r#type: String,
    #[serde(default)]
    pub size: Option<u64>,
    /// Octal string, e.g. `644`.
    pub permissions: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
}

/// Options for [`super::Pebble::push`] and [`super::Pebble::make_dir`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOptions {
    pub make_dirs: bool,
    /// Unix permissions, e.g. `0o600`; Pebble's default when `None`.
    pub permissions: Option<u32>,
    pub user: Option<String>,
    pub group: Option<String>,
}

/// A notice as `GET /v1/notices` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Notice {
    pub id: String,
    pub r#type: String,
    pub key: String,
    #[serde(default)]
    pub occurrences: u32,
    #[serde(default)]
    pub last_data: BTreeMap<String, String>,
}

/// Filters for [`super::Pebble::notices`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticesQuery {
    pub types: Vec<String>,
    pub keys: Vec<String>,
}

/// A command to run in the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    pub command: Vec<String>,
    pub environment: BTreeMap<String, String>,
    pub working_dir: Option<String>,
    /// Pebble kills the command after this long.
    pub timeout: Option<Duration>,
    pub user: Option<String>,
    pub group: Option<String>,
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
    pub command: Vec<String>,
    pub exit_code: i32,
    pub stdout: Vec<u8>,
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

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}
