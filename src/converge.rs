//! Bringing the container to a [`WorkloadSpec`]: render `kratos.yaml`, push files only
//! when their content changed, lay the Pebble layer, restart or replan, run the courier on
//! the leader only, and read the workload's health.

use std::collections::BTreeMap;

use juju_rs_ops::pebble::{LogTarget, Pebble, PushOptions, ServiceInfo};
use juju_rs_ops::Status;

use crate::error::CharmError;
use crate::integrations::logging;
use crate::kratos_api::{KratosAdmin, KratosApiError};
use crate::workload::{self, WorkloadSpec};

/// Brings the container to the spec: files pushed only when their content changed; a
/// changed file restarts Kratos (and the courier on the leader) in one change; otherwise
/// a changed layer is replanned. The courier runs on the leader only.
pub fn apply(
    pebble: &dyn Pebble,
    leader: bool,
    rendered: &str,
    spec: &WorkloadSpec,
) -> Result<(), CharmError> {
    let mut files_changed =
        push_if_changed(pebble, workload::CONFIG_FILE, rendered.as_bytes(), 0o600)?;
    for (path, content) in &spec.files {
        files_changed |= push_if_changed(pebble, path, content, 0o644)?;
    }

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
    Ok(())
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
) -> Result<bool, CharmError> {
    match pebble.pull(path) {
        Ok(current) if current == content => return Ok(false),
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    let options = PushOptions {
        make_dirs: true,
        permissions: Some(permissions),
        ..PushOptions::default()
    };
    pebble.push(path, content, &options)?;
    Ok(true)
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
