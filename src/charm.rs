//! Holistic reconciliation: every event converges the unit on the state implied by
//! config, relations, secrets, leadership and the workload. It reads like the operator's
//! checklist: gather the inputs, publish, bring Kubernetes in line (ConfigMaps, resources),
//! find the container, migrate, converge the workload, report the status. Anything missing
//! or invalid stops the list with a status saying so, and the last good workload keeps
//! running; notices (no trust, a rollout, IdPs without a public URL) are reported without
//! stopping it.

use juju_rs_ops::model::{Model, Port};
use juju_rs_ops::pebble::{Pebble, Remembering};
use juju_rs_ops::{Context, EventKind, Status, StatusCollector, StatusKind};

use crate::cleanup;
use crate::cluster;
use crate::container;
use crate::converge;
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::integrations::logging;
use crate::kratos_api::AdminClient;
use crate::kubernetes::KubeApi;
use crate::migration::{self, MigrationTarget};
use crate::refresh;
use crate::topology::Topology;
use crate::workload;

/// The unit-state key recording that the ports are open.
const PORTS_OPENED: &str = "ports-opened";

/// Opens Kratos's ports (once: only the charm opens or closes its ports, so what it
/// recorded after opening them stays true; `opened-ports` is asked only until then).
fn open_ports(ctx: &Context) -> Result<(), CharmError> {
    let wanted = format!("{}/tcp,{}/tcp", workload::PUBLIC_PORT, workload::ADMIN_PORT);
    if ctx.model.state_value(PORTS_OPENED)?.as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    ctx.model.set_ports(&[
        Port::tcp(workload::PUBLIC_PORT),
        Port::tcp(workload::ADMIN_PORT),
    ])?;
    ctx.model.state_set(&juju_rs_ops::Databag::from([(
        PORTS_OPENED.to_string(),
        wanted,
    )]))?;
    Ok(())
}

/// What a converged hook ends with.
#[derive(Debug, Clone, PartialEq)]
pub struct Converged {
    /// The unit's status.
    pub status: Status,
    /// The fingerprint of what Kubernetes held (none outside Kubernetes or unread).
    pub cluster: Option<String>,
    /// When this unit's next scheduled cleanup is due (seconds since the epoch; none when
    /// it runs none).
    pub cleanup_due: Option<u64>,
}

/// Converges the unit; `kube` is the Kubernetes API, if any.
pub fn reconcile(ctx: &Context, kube: Option<&dyn KubeApi>) -> Result<Converged, CharmError> {
    let inputs = Inputs::gather(ctx, kube)?;
    let status = checklist(ctx, kube, &inputs)?;
    // Last: the cleanup, when due, runs against the workload as converged.
    let cleanup_due = cleanup::on_schedule(ctx, &inputs)?;
    Ok(Converged {
        status,
        cluster: inputs.cluster.ready().map(|c| c.fingerprint.clone()),
        cleanup_due,
    })
}

/// The checklist, from publishing to the workload's health.
fn checklist(
    ctx: &Context,
    kube: Option<&dyn KubeApi>,
    inputs: &Inputs,
) -> Result<Status, CharmError> {
    inputs.publish(ctx)?;
    let blocking = inputs.statuses();
    let halted = blocking.iter().any(|s| s.kind > StatusKind::Active);
    let mut statuses = StatusCollector::default();
    // A bad cleanup option is reported but stops nothing else.
    for status in blocking.into_iter().chain(inputs.cleanup.status(None)) {
        statuses.add(status);
    }
    if let Some(kube) = kube {
        for notice in cluster::converge(kube, ctx.model.app_name(), inputs) {
            statuses.add(notice);
        }
    }

    let client = ctx.pebble(workload::CONTAINER);
    // One hook reads the plan and the service states once, until it changes them.
    let pebble = Remembering::new(client.as_ref());
    let Some(container) = container::inspect(ctx, &pebble)? else {
        statuses.add(Status::waiting("Waiting for the kratos container"));
        return Ok(statuses.winner());
    };
    if ctx.event.kind == EventKind::UpgradeCharm {
        refresh::tidy_container(&pebble)?;
    }
    // Logs are forwarded whatever else waits (they say why it waits).
    forward_logs(ctx, &pebble, inputs)?;
    open_ports(ctx)?;
    if inputs.integrations.database.is_absent() {
        // Without a database Kratos cannot serve: this is how removing the pg-database
        // relation stops the service.
        converge::stop(&pebble)?;
        return Ok(statuses.winner());
    }
    // Inputs that are missing or invalid stop here: the last good workload keeps running.
    let ready = Ready::of(inputs);
    let Some(ready) = ready.filter(|_| !halted) else {
        return Ok(statuses.winner());
    };
    let Some(version) = container.version.as_deref() else {
        statuses.add(Status::waiting(
            "Waiting for the Kratos version from the container",
        ));
        return Ok(statuses.winner());
    };

    let target = MigrationTarget {
        peers: ready.peers,
        database: ready.database,
        version,
    };
    let migration = migration::ensure(&ctx.model, &pebble, &target, inputs.leader)?;
    if let Some(status) = migration.status() {
        statuses.add(status);
        return Ok(statuses.winner());
    }

    converge_workload(&ctx.model, &pebble, inputs, &mut statuses)?;
    Ok(statuses.winner())
}

/// Forwards the container's logs to the related Loki units (none when unrelated).
fn forward_logs(ctx: &Context, pebble: &dyn Pebble, inputs: &Inputs) -> Result<(), CharmError> {
    let loki = inputs
        .integrations
        .logging
        .ready()
        .cloned()
        .unwrap_or_default();
    let targets = logging::log_targets(&loki, &Topology::of(&ctx.model));
    converge::log_forwarding(pebble, targets)
}

/// The inputs without which Kratos cannot run, all ready.
struct Ready<'a> {
    peers: &'a crate::integrations::peers::PeerData,
    database: &'a crate::integrations::database::DatabaseConnection,
}

impl<'a> Ready<'a> {
    fn of(inputs: &'a Inputs) -> Option<Ready<'a>> {
        Some(Ready {
            peers: inputs.integrations.peers.ready()?,
            database: inputs.integrations.database.ready()?,
        })
    }
}

/// Brings the container to the plan and returns the workload's health (and the notices
/// of parts left out).
fn converge_workload(
    model: &Model,
    pebble: &dyn Pebble,
    inputs: &Inputs,
    statuses: &mut StatusCollector,
) -> Result<(), CharmError> {
    let Some(plan) = inputs.plan.ready() else {
        // Not reached: a plan that is not ready has a status that stopped the checklist.
        statuses.add(Status::waiting("Waiting for the Kratos configuration"));
        return Ok(());
    };
    // Without trust the plan lacks the ConfigMaps' schemas and providers, which may be
    // in use: a Kratos already configured keeps its configuration until they can be read
    // (a first start without trust runs without them).
    let unreadable = inputs.cluster.ready().is_some_and(|c| c.unreadable);
    if unreadable && pebble.pull(workload::CONFIG_FILE).is_ok() {
        statuses.add(converge::health(
            pebble,
            inputs.leader,
            &AdminClient::local(),
        )?);
        return Ok(());
    }
    let started_with = model.state_value(converge::STARTED_WITH)?;
    let digest = match converge::apply(pebble, inputs.leader, plan, started_with.as_deref())? {
        converge::Applied::Running(digest) => digest,
        converge::Applied::Refused(status) => {
            statuses.add(status);
            return Ok(());
        }
    };
    if started_with.as_deref() != Some(digest.as_str()) {
        model.state_set(&juju_rs_ops::Databag::from([(
            converge::STARTED_WITH.to_string(),
            digest,
        )]))?;
    }
    statuses.add(converge::health(
        pebble,
        inputs.leader,
        &AdminClient::local(),
    )?);
    for notice in &plan.notices {
        statuses.add(notice.clone());
    }
    Ok(())
}
