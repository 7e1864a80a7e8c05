//! The charm's entry point: an action runs its action, `remove` cleans up, any other event
//! converges the unit and sets its status.

use juju_rs_ops::{Context, EventKind, Status};

use crate::actions;
use crate::charm;
use crate::cluster;
use crate::error::CharmError;
use crate::kubernetes::client::KubeClient;
use crate::kubernetes::KubeApi;
use crate::steady;

/// The unit-state key of the relations remembered between hooks.
pub const RELATION_CACHE_KEY: &str = "relations";

/// The endpoints whose remote data can carry a credential, never remembered in the unit
/// state (which the controller stores unencrypted): the external IdPs' client secrets
/// (and Apple's private key), smtp's inline password (the legacy format) and
/// postgresql's inline credentials (providers without Juju secrets).
pub const PRIVATE_ENDPOINTS: [&str; 3] = [
    crate::integrations::external_idp::ENDPOINT,
    crate::integrations::smtp::ENDPOINT,
    crate::integrations::database::ENDPOINT,
];

/// Runs the charm for one event, with the in-cluster Kubernetes API (none outside
/// Kubernetes).
pub fn dispatch(ctx: &mut Context) -> Result<(), CharmError> {
    match KubeClient::in_cluster(ctx.runtime()) {
        Ok(kube) => dispatch_with(ctx, kube.as_ref().map(|k| k as &dyn KubeApi)),
        Err(unusable) => {
            // A mounted but unusable service account: everything else still converges.
            dispatch_with(ctx, None)?;
            ctx.model
                .set_status(&Status::blocked(unusable.to_string()))?;
            Ok(())
        }
    }
}

/// Runs the charm for one event against `kube` (the tests' in-memory API).
pub fn dispatch_with(ctx: &mut Context, kube: Option<&dyn KubeApi>) -> Result<(), CharmError> {
    if ctx.event.is_action() {
        return actions::run(ctx, kube);
    }
    if ctx.event.kind == EventKind::Remove {
        if let Some(kube) = kube {
            let leader = ctx.model.is_leader()?;
            let planned = ctx.model.planned_units()?;
            // Best effort: the owner reference removes them anyway.
            if let Err(e) = cluster::remove(kube, leader, planned) {
                tracing::warn!("could not remove the ConfigMaps: {e}");
            }
        }
        return Ok(());
    }
    let previous = steady::recorded(ctx)?;
    if ctx.event.kind == EventKind::UpdateStatus {
        if let Some(record) = &previous {
            if steady::holds(ctx, record, kube)? {
                return Ok(());
            }
        }
    }
    // Relations are remembered between hooks (Juju tells of every change with an event on
    // the relation); see juju_rs_ops::model::relation_cache. The shortcut above reads none.
    ctx.model
        .use_relation_cache_except(RELATION_CACHE_KEY, &PRIVATE_ENDPOINTS)?;
    let converged = charm::reconcile(ctx, kube)?;
    steady::finish(ctx, previous.as_ref(), &converged)?;
    ctx.model.save_relation_cache()?;
    Ok(())
}
