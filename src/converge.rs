//! Bringing the container to a [`WorkloadSpec`]: render `kratos.yaml`, push files only
//! when their content changed, lay the Pebble layer, restart or replan, run the courier on
//! the leader only, and read the workload's health.

use std::collections::BTreeMap;

use juju_rs_ops::pebble::{LogTarget, Pebble, PushOptions, ServiceInfo};
use juju_rs_ops::Status;
use sha1::{Digest, Sha1};

use crate::error::CharmError;
use crate::integrations::logging;
use crate::kratos_api::{KratosAdmin, KratosApiError};
use crate::plan::Plan;
use crate::workload::{self, WorkloadSpec};

/// The unit-state key recording the digest of the files (`kratos.yaml` and the spec's
/// files) Kratos was last started or restarted with by the charm.
pub const STARTED_WITH: &str = "started-with";

/// The digest of the files the container is converged to, as recorded under
/// [`STARTED_WITH`].
pub fn files_digest(rendered: &str, spec: &WorkloadSpec) -> String {
    let mut hasher = Sha1::new();
    for (path, content) in std::iter::once((workload::CONFIG_FILE, rendered.as_bytes())).chain(
        spec.files
            .iter()
            .map(|(path, content)| (path.as_str(), content.as_slice())),
    ) {
        for part in [path.as_bytes(), content] {
            hasher.update(part.len().to_le_bytes());
            hasher.update(part);
        }
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Brings the container to the spec: files pushed only when their content changed; a
/// changed file restarts Kratos (and the courier on the leader) in one change; otherwise
/// a changed layer is replanned. The courier runs on the leader only.
///
/// `started_with` is the recorded digest ([`files_digest`]) of the files Kratos was last
/// (re)started with. The files alone cannot tell: a hook that pushed them and failed
/// before the restart (Pebble gone in between) leaves them current while Kratos runs the
/// old ones, so a recorded digest that differs restarts too. None (nothing recorded: a
/// unit refreshed from a revision that kept no record) trusts the files.
pub fn apply(
    pebble: &dyn Pebble,
    leader: bool,
    plan: &Plan,
    started_with: Option<&str>,
) -> Result<Applied, CharmError> {
    let (rendered, spec) = (plan.yaml.as_str(), &plan.spec);
    let digest = files_digest(rendered, spec);
    let pushed = std::iter::once((workload::CONFIG_FILE, rendered.as_bytes(), 0o600)).chain(
        spec.files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_slice(), 0o644)),
    );
    let mut files_changed = false;
    for (path, content, permissions) in pushed {
        match push_if_changed(pebble, path, content, permissions) {
            Ok(changed) => files_changed |= changed,
            Err(PushError::Refused(message)) => {
                return Ok(Applied::Refused(refused_status(path, &message)))
            }
            Err(PushError::Pebble(e)) => return Err(e.into()),
        }
    }
    // Kratos runs other files than these: restart it as if they had just been pushed.
    files_changed |= started_with.is_some_and(|started| started != digest);

    let layer = workload::layer(&spec.env);
    let plan = pebble.plan()?;
    let layer_changed = [workload::SERVICE, workload::COURIER]
        .iter()
        .any(|name| plan.services.get(*name) != layer.services.get(*name))
        || [workload::READY_CHECK, workload::ALIVE_CHECK]
            .iter()
            .any(|name| plan.checks.get(*name) != layer.checks.get(*name));
    if layer_changed {
        pebble.add_layer(workload::LAYER_LABEL, &layer, true)?;
    }

    let services = service_states(pebble)?;
    let running = |name: &str| services.get(name).is_some_and(ServiceInfo::is_running);
    if files_changed {
        let mut restart = vec![workload::SERVICE];
        if leader {
            restart.push(workload::COURIER);
        }
        pebble.restart(&restart)?;
    } else if layer_changed || !running(workload::SERVICE) {
        pebble.replan()?;
    }
    // Read again: a replan restarts every service whose plan changed, a stopped courier
    // included (Pebble keeps a stopped service's state), so a deposed leader's courier
    // may be running now.
    let services = service_states(pebble)?;
    let running = |name: &str| services.get(name).is_some_and(ServiceInfo::is_running);
    if leader && !files_changed && !running(workload::COURIER) {
        pebble.start(&[workload::COURIER])?;
    }
    if !leader && running(workload::COURIER) {
        pebble.stop(&[workload::COURIER])?;
    }
    Ok(Applied::Running(digest))
}

/// What [`apply`] left the container with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Kratos runs the files of this digest ([`files_digest`]), to record.
    Running(String),
    /// Pebble refused to write a file (a full disk, a read-only file system): nothing was
    /// restarted, the files already there are intact (Pebble writes a temporary file and
    /// renames it) and Kratos keeps running them. The status says so.
    Refused(Status),
}

/// The status of a file Pebble refused to write.
fn refused_status(path: &str, message: &str) -> Status {
    let message: String = message.chars().take(200).collect();
    Status::blocked(format!(
        "Cannot write {path} in the kratos container ({message}): free space on its file system; Kratos keeps running its current configuration"
    ))
}

/// Why a push did not happen.
enum PushError {
    /// Pebble answered and refused the write (its message).
    Refused(String),
    /// Pebble could not be asked.
    Pebble(juju_rs_ops::pebble::PebbleError),
}

/// Brings the plan's log targets to `wanted` in their own layer
/// ([`logging::LAYER_LABEL`]), combined into it only when something changed; every
/// other Loki target is disabled. Pebble applies log targets without a replan: no
/// service restarts.
pub fn log_forwarding(
    pebble: &dyn Pebble,
    wanted: BTreeMap<String, LogTarget>,
) -> Result<(), CharmError> {
    if let Some(layer) = logging::forwarding_layer(wanted, &pebble.plan()?) {
        pebble.add_layer(logging::LAYER_LABEL, &layer, true)?;
    }
    Ok(())
}

/// Pushes `content` unless the file already holds it; returns whether it pushed.
fn push_if_changed(
    pebble: &dyn Pebble,
    path: &str,
    content: &[u8],
    permissions: u32,
) -> Result<bool, PushError> {
    match pebble.pull(path) {
        Ok(current) if current == content => return Ok(false),
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(PushError::Pebble(e)),
    }
    let options = PushOptions {
        make_dirs: true,
        permissions: Some(permissions),
        ..PushOptions::default()
    };
    match pebble.push(path, content, &options) {
        Ok(()) => Ok(true),
        Err(juju_rs_ops::pebble::PebbleError::Api { message, .. }) => {
            Err(PushError::Refused(message))
        }
        Err(e) => Err(PushError::Pebble(e)),
    }
}

fn service_states(pebble: &dyn Pebble) -> Result<BTreeMap<String, ServiceInfo>, CharmError> {
    Ok(pebble
        .services(&[workload::SERVICE, workload::COURIER])?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect())
}

/// Stops whatever of Kratos runs (without a database Kratos must not serve).
pub fn stop(pebble: &dyn Pebble) -> Result<(), CharmError> {
    let running: Vec<String> = service_states(pebble)?
        .into_values()
        .filter(ServiceInfo::is_running)
        .map(|s| s.name)
        .collect();
    if !running.is_empty() {
        let names: Vec<&str> = running.iter().map(String::as_str).collect();
        pebble.stop(&names)?;
    }
    Ok(())
}

/// The status while Kratos runs but cannot reach its database.
pub const DATABASE_UNREACHABLE: &str =
    "Kratos is not ready: its database (pg-database) does not answer; check PostgreSQL, Kratos serves again once it does";

/// The workload's health as a status. Pebble's ready check runs every 10 s, so right
/// after a (re)start it still reports the failures of the stopped service: when it does,
/// Kratos's own readiness endpoint (the charm shares the pod's network) decides.
pub fn health(
    pebble: &dyn Pebble,
    leader: bool,
    admin: &dyn KratosAdmin,
) -> Result<Status, CharmError> {
    let services = service_states(pebble)?;
    let failed = |name: &str| services.get(name).is_some_and(ServiceInfo::is_failed);
    let not_serving =
        Status::blocked("Failed to start the service, please check the kratos container logs");
    if failed(workload::SERVICE) {
        return Ok(not_serving);
    }
    let ready_check_failing = pebble
        .checks(&[workload::READY_CHECK])?
        .iter()
        .any(|c| c.failures > 0);
    if ready_check_failing {
        match admin.health_ready() {
            Ok(()) => {}
            // Kratos runs but its readiness names the database: it serves again once
            // the database answers.
            Err(KratosApiError::NotReady { reason, .. }) if reason.contains("database") => {
                return Ok(Status::waiting(DATABASE_UNREACHABLE));
            }
            Err(_) => return Ok(not_serving),
        }
    }
    if leader && failed(workload::COURIER) {
        return Ok(Status::blocked(
            "Failed to start the courier service, please check the 'courier' logs on the kratos container",
        ));
    }
    Ok(Status::active(""))
}
