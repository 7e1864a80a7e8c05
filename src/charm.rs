//! Holistic reconciliation: every event converges the unit on the state implied by
//! config, relations, secrets, leadership and the workload. It reads like the operator's
//! checklist: gather the inputs, publish, find the container, migrate, converge the
//! workload, report the status. Anything missing or invalid stops the list with a status
//! saying so, and the last good workload keeps running.

use juju_rs_ops::model::Port;
use juju_rs_ops::pebble::Pebble;
use juju_rs_ops::{Context, Status, StatusCollector, StatusKind};

use crate::charm_config::ValidConfig;
use crate::container;
use crate::converge;
use crate::error::CharmError;
use crate::identity_schemas;
use crate::inputs::Inputs;
use crate::kratos_api::AdminClient;
use crate::migration::{self, MigrationTarget};
use crate::sensitive::Sensitive;
use crate::workload::{self, WorkloadSpec};

/// Converges the unit and returns its status.
pub fn reconcile(ctx: &Context) -> Result<Status, CharmError> {
    let inputs = Inputs::gather(ctx)?;
    inputs.publish(ctx)?;
    let mut statuses = StatusCollector::default();
    for status in inputs.statuses() {
        statuses.add(status);
    }

    let pebble = ctx.pebble(workload::CONTAINER);
    let Some(container) = container::inspect(ctx, pebble.as_ref())? else {
        statuses.add(Status::waiting("Waiting for the kratos container"));
        return Ok(statuses.winner());
    };
    ctx.model.set_ports(&[
        Port::tcp(workload::PUBLIC_PORT),
        Port::tcp(workload::ADMIN_PORT),
    ])?;
    if inputs.integrations.database.is_absent() {
        // Without a database Kratos cannot serve: this is how removing the pg-database
        // relation stops the service.
        converge::stop(pebble.as_ref())?;
        return Ok(statuses.winner());
    }
    // Inputs that are missing or invalid stop here: the last good workload keeps running.
    let ready = Ready::of(&inputs);
    let Some(ready) = ready.filter(|_| statuses.winner().kind <= StatusKind::Active) else {
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
    let migration = migration::ensure(&ctx.model, pebble.as_ref(), &target, inputs.leader)?;
    if let Some(status) = migration.status() {
        statuses.add(status);
        return Ok(statuses.winner());
    }

    statuses.add(converge_workload(ctx, pebble.as_ref(), &inputs, &ready)?);
    Ok(statuses.winner())
}

/// The inputs without which Kratos cannot run, all ready.
struct Ready<'a> {
    config: &'a ValidConfig,
    cookie: &'a Sensitive,
    peers: &'a crate::integrations::peers::PeerData,
    database: &'a crate::integrations::database::DatabaseConnection,
}

impl<'a> Ready<'a> {
    fn of(inputs: &'a Inputs) -> Option<Ready<'a>> {
        Some(Ready {
            config: inputs.config.ready()?,
            cookie: inputs.cookie.ready()?,
            peers: inputs.integrations.peers.ready()?,
            database: inputs.integrations.database.ready()?,
        })
    }
}

/// Builds the workload spec (the config's part, then every integration's), renders it
/// and brings the container to it; returns the workload's health.
fn converge_workload(
    ctx: &Context,
    pebble: &dyn Pebble,
    inputs: &Inputs,
    ready: &Ready<'_>,
) -> Result<Status, CharmError> {
    let selection = match identity_schemas::select_identity_schemas(
        ready.config.identity_schemas.as_ref(),
        None,
    ) {
        Ok(selection) => selection,
        Err(problem) => return Ok(Status::blocked(problem.to_string())),
    };
    let verification_template = if ready.config.enable_verification {
        verification_template(ctx)
    } else {
        None
    };
    let mut spec = WorkloadSpec::from_config(ready.config, selection.set, verification_template);
    spec.env.insert(
        "SECRETS_COOKIE".into(),
        serde_json::json!([ready.cookie.expose()]).to_string(),
    );
    inputs.integrations.contribute(&mut spec);
    let rendered = match converge::render(&spec) {
        Ok(rendered) => rendered,
        Err(problem) => return Ok(Status::blocked(problem)),
    };
    converge::apply(pebble, inputs.leader, &rendered, &spec)?;
    converge::health(pebble, inputs.leader, &AdminClient::local())
}

/// The verification e-mail template from the charm resource, if the operator attached one.
fn verification_template(ctx: &Context) -> Option<String> {
    let path = ctx.model.resource_get("verification-email-template").ok()?;
    let content = std::fs::read_to_string(&path).ok()?;
    (!content.trim().is_empty()).then_some(content)
}
