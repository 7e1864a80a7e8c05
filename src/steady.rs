//! The steady state, remembered between hooks so that `update-status` (the hook Juju runs
//! every few minutes, which no input change triggers) can confirm it in two hook-tool
//! calls and two Pebble requests instead of converging again.
//!
//! Every hook that converges records, in the unit's server-side state, the status it set,
//! leadership and the Kubernetes fingerprint, and whether the unit was `active` (steady).
//! `update-status` takes the shortcut only when the record is steady and still holds:
//! - leadership is what it was (it can be lost without a hook: a deposed leader must stop
//!   its courier on its next hook);
//! - Pebble runs `kratos`, and `courier` exactly on the leader (a restarted container has
//!   lost the charm's layer, so this fails and the hook converges in full);
//! - the ready check has no failures, or Kratos answers ready itself (otherwise the full
//!   path reports the health);
//! - what Kubernetes holds has the same fingerprint (the ConfigMaps change without a hook);
//! - no scheduled cleanup is due (the record holds the leader's next due time, so this
//!   costs no hook-tool call; a due one needs the full path, which runs it).
//!
//! Every other event can change an input and converges in full. Juju discards the state
//! writes of a failed hook, so a record only ever describes a hook that succeeded. The
//! status is written only when it differs from the recorded one.

use juju_rs_ops::pebble::ServiceInfo;
use juju_rs_ops::{Context, Status, StatusKind};
use serde::{Deserialize, Serialize};

use crate::charm::Converged;
use crate::cleanup;
use crate::cluster;
use crate::error::CharmError;
use crate::kratos_api::{AdminClient, KratosAdmin};
use crate::kubernetes::KubeApi;
use crate::workload;

/// The unit-state key of the record.
pub const KEY: &str = "steady";

/// What a converged hook left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Whether the unit led.
    pub leader: bool,
    /// The status it set.
    pub status: String,
    /// Its message.
    pub message: String,
    /// The Kubernetes fingerprint (none outside Kubernetes).
    pub cluster: Option<String>,
    /// Whether the unit was converged and active.
    pub steady: bool,
    /// When the leader's next scheduled cleanup is due (seconds since the epoch); absent
    /// on followers and with the cleanup off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_due: Option<u64>,
}

impl Record {
    fn status(&self) -> Status {
        Status {
            kind: StatusKind::parse(&self.status),
            message: self.message.clone(),
        }
    }
}

/// The record of the last converged hook, if any (an unreadable one is none).
pub fn recorded(ctx: &Context) -> Result<Option<Record>, CharmError> {
    Ok(ctx
        .model
        .state_value(KEY)?
        .and_then(|text| serde_json::from_str(&text).ok()))
}

/// Whether the recorded steady state still holds (see the module's list).
pub fn holds(
    ctx: &Context,
    record: &Record,
    kube: Option<&dyn KubeApi>,
) -> Result<bool, CharmError> {
    let cleanup_due = record.cleanup_due.is_some_and(|due| cleanup::now() >= due);
    if !record.steady || cleanup_due || ctx.model.is_leader()? != record.leader {
        return Ok(false);
    }
    let pebble = ctx.pebble(workload::CONTAINER);
    let Ok(services) = pebble.services(&[workload::SERVICE, workload::COURIER]) else {
        return Ok(false);
    };
    let running = |name: &str| {
        services
            .iter()
            .any(|s| s.name == name && ServiceInfo::is_running(s))
    };
    if !running(workload::SERVICE) || running(workload::COURIER) != record.leader {
        return Ok(false);
    }
    // Pebble's check runs every 10 s, so right after a restart it still counts the
    // failures of the stopped service: then Kratos's own readiness decides, as in the
    // full path's health.
    let checks_pass = pebble
        .checks(&[workload::READY_CHECK])
        .is_ok_and(|checks| checks.iter().all(|c| c.failures == 0));
    if !checks_pass && AdminClient::local().health_ready().is_err() {
        return Ok(false);
    }
    let cluster_now = match kube {
        Some(kube) => cluster::fingerprint(kube, ctx.model.app_name()).ok(),
        None => None,
    };
    Ok(cluster_now == record.cluster)
}

/// Sets the status (only if it differs from the recorded one) and records this hook's
/// outcome (written only when it changed).
pub fn finish(
    ctx: &Context,
    previous: Option<&Record>,
    converged: &Converged,
) -> Result<(), CharmError> {
    let status = &converged.status;
    if previous.map(Record::status).as_ref() != Some(status) {
        ctx.model.set_status(status)?;
    }
    let record = Record {
        leader: ctx.model.is_leader()?,
        status: status.kind.as_str().to_string(),
        message: status.message.clone(),
        cluster: converged.cluster.clone(),
        steady: status.kind == StatusKind::Active,
        cleanup_due: converged.cleanup_due,
    };
    let text = serde_json::to_string(&record).map_err(|e| CharmError::Serialise {
        what: "the steady-state record",
        message: e.to_string(),
    })?;
    ctx.model
        .state_set(&juju_rs_ops::Databag::from([(KEY.to_string(), text)]))?;
    Ok(())
}
