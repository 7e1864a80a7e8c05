//! The kratos container: whether Pebble answers, and which Kratos it runs.
//!
//! `kratos version` costs an exec, so the version is cached in this unit's Juju state,
//! keyed by an id the charm writes into the container. The key must identify this
//! container's life: Pebble's `boot-id` does not (it is the node's kernel boot id, shared
//! by every container on the node and kept across container restarts), while a file in the
//! container's own filesystem is gone when the container is replaced (a new image after
//! `juju refresh` or `juju attach-resource`, an eviction, a crash). A new container has no
//! id, so the charm writes a new one and reads the version again.

use std::time::Duration;

use juju_rs_ops::pebble::{ExecRequest, Pebble, PebbleError, PushOptions};
use juju_rs_ops::{Context, Databag};

use crate::error::CharmError;
use crate::secrets;
use crate::workload;

/// Where the charm keeps the container's id: under `/etc/config`, which lives in the
/// container's own (ephemeral) filesystem.
pub const ID_FILE: &str = "/etc/config/charm/container-id";

/// Unit state keys of the cache.
const STATE_CONTAINER_ID: &str = "container-id";
const STATE_VERSION: &str = "kratos-version";

/// How long `kratos version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// What the charm knows of a reachable container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The Kratos version it runs; `None` when `kratos version` fails.
    pub version: Option<String>,
}

/// The container, or `None` while its Pebble does not answer.
pub fn inspect(ctx: &Context, pebble: &dyn Pebble) -> Result<Option<Container>, CharmError> {
    let id = match container_id(pebble) {
        Ok(id) => id,
        Err(PebbleError::CannotConnect { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let state = ctx.model.state_get()?;
    // A restarted or replaced container (pebble-ready follows) has no id file yet, so it
    // gets a new id and its version is read afresh.
    if state.get(STATE_CONTAINER_ID) == Some(&id) {
        if let Some(version) = state.get(STATE_VERSION) {
            return Ok(Some(Container {
                version: Some(version.clone()),
            }));
        }
    }
    let version = read_version(pebble);
    if let Some(version) = &version {
        if state.get(STATE_VERSION) != Some(version) {
            ctx.model.set_workload_version(version)?;
        }
        let changes = Databag::from([
            (STATE_CONTAINER_ID.to_string(), id),
            (STATE_VERSION.to_string(), version.clone()),
        ]);
        ctx.model.state_set(&changes)?;
    }
    Ok(Some(Container { version }))
}

/// This container's id: read from [`ID_FILE`], or made and written when the file is not
/// there (a container the charm has not seen).
fn container_id(pebble: &dyn Pebble) -> Result<String, PebbleError> {
    match pebble.pull(ID_FILE) {
        Ok(content) => {
            let id = String::from_utf8_lossy(&content).trim().to_string();
            if !id.is_empty() {
                return Ok(id);
            }
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    let id = secrets::random_hex(16);
    pebble.push(
        ID_FILE,
        id.as_bytes(),
        &PushOptions {
            make_dirs: true,
            permissions: Some(0o644),
            ..PushOptions::default()
        },
    )?;
    Ok(id)
}

/// `kratos version`, parsed; `None` (logged) when it cannot be run or read.
fn read_version(pebble: &dyn Pebble) -> Option<String> {
    let request = ExecRequest {
        timeout: Some(VERSION_TIMEOUT),
        ..ExecRequest::new(["kratos", "version"])
    };
    match pebble.exec(&request) {
        Ok(out) if out.exit_code == 0 => {
            let version = workload::parse_version(&out.stdout_text());
            if version.is_none() {
                tracing::warn!("kratos version printed no version");
            }
            version
        }
        Ok(out) => {
            tracing::warn!(exit_code = out.exit_code, "kratos version failed");
            None
        }
        Err(e) => {
            tracing::warn!("cannot run kratos version: {e}");
            None
        }
    }
}
