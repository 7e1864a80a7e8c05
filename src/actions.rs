//! Juju actions: the glue between the hook tools and the action logic. Parameters come
//! from `action-get` into typed structs, passwords from Juju secrets, and the outcome
//! goes back as `action-log` lines and `action-set` results, or one `action-fail`
//! message. The identity actions talk to the Kratos admin API on 127.0.0.1:4434 (the
//! charm and the workload share the pod's network namespace).

use std::time::Duration;

use juju_rs_ops::model::{Bag, ModelError};
use juju_rs_ops::{Context, Status};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::action_logic::{self, ActionFailure, ActionOutput};
use crate::charm;
use crate::charm_config::CharmConfig;
use crate::cleanup;
use crate::container;
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::integrations::database::Database;
use crate::integrations::peers::{self, PeerData, Peers};
use crate::integrations::{Databag, Integration, Reading};
use crate::kratos_api::AdminClient;
use crate::kubernetes::KubeApi;
use crate::migration::MigrationTarget;
use crate::secrets;
use crate::sensitive::Sensitive;
use crate::workload;

type Outcome = Result<ActionOutput, ActionFailure>;

/// Runs the action named by the event and reports its outcome to Juju (`kube`: the
/// Kubernetes API, for the actions that converge the unit).
pub fn run(ctx: &mut Context, kube: Option<&dyn KubeApi>) -> Result<(), CharmError> {
    let name = ctx
        .event
        .action
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let admin = AdminClient::local();
    let outcome = match name.as_str() {
        "get-identity" => with_params(ctx, |p| action_logic::get_identity(&admin, &p)),
        "delete-identity" => with_params(ctx, |p| action_logic::delete_identity(&admin, &p)),
        "invalidate-identity-sessions" => with_params(ctx, |p| {
            action_logic::invalidate_identity_sessions(&admin, &p)
        }),
        "list-oidc-accounts" => with_params(ctx, |p| action_logic::list_oidc_accounts(&admin, &p)),
        "unlink-oidc-account" => {
            with_params(ctx, |p| action_logic::unlink_oidc_account(&admin, &p))
        }
        "reset-identity-mfa" => with_params(ctx, |p| action_logic::reset_identity_mfa(&admin, &p)),
        "create-admin-account" => {
            params::<action_logic::CreateAdminAccountParams>(ctx).and_then(|p| match p {
                Err(failure) => Ok(Err(failure)),
                Ok(p) => Ok(password(ctx, p.password_secret_id())?.and_then(|password| {
                    action_logic::create_admin_account(&admin, &p, password.as_ref())
                })),
            })
        }
        "reset-password" => {
            params::<action_logic::ResetPasswordParams>(ctx).and_then(|p| match p {
                Err(failure) => Ok(Err(failure)),
                Ok(p) => Ok(password(ctx, p.password_secret_id())?.and_then(|password| {
                    action_logic::reset_password(&admin, &p, password.as_ref())
                })),
            })
        }
        "run-migration" => run_migration(ctx, kube),
        "cleanup" => cleanup(ctx),
        "rotate-cookie-secret" => rotate_cookie_secret(ctx, kube),
        other => Ok(Err(ActionFailure::new(format!(
            "The charm has no action named '{other}'"
        )))),
    }?;
    report(ctx, outcome)
}

/// Hands the outcome to Juju: log lines then results, or the failure message.
fn report(ctx: &Context, outcome: Outcome) -> Result<(), CharmError> {
    match outcome {
        Ok(output) => {
            for line in &output.log {
                ctx.model.action_log(line)?;
            }
            if !output.results.is_empty() {
                ctx.model.action_set(&output.results)?;
            }
        }
        Err(failure) => ctx.model.action_fail(&failure.message)?,
    }
    Ok(())
}

/// The action's typed parameters; a parameter Juju let through but the charm cannot use
/// is the action's failure, not the hook's.
fn params<P: DeserializeOwned>(ctx: &Context) -> Result<Result<P, ActionFailure>, CharmError> {
    match ctx.model.action_params::<P>() {
        Ok(params) => Ok(Ok(params)),
        Err(e @ ModelError::Params { .. }) => {
            let action = ctx.event.action.as_ref().map_or("", |a| a.name.as_str());
            Ok(Err(ActionFailure::new(format!(
                "Invalid {e}: see `juju show-action {} {action}`",
                ctx.model.app_name()
            ))))
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs `action` on the typed parameters.
fn with_params<P: DeserializeOwned>(
    ctx: &Context,
    action: impl FnOnce(P) -> Outcome,
) -> Result<Outcome, CharmError> {
    Ok(params::<P>(ctx)?.and_then(action))
}

/// The password in the Juju secret `secret_id`, when one was named.
fn password(
    ctx: &Context,
    secret_id: Option<&str>,
) -> Result<Result<Option<Sensitive>, ActionFailure>, CharmError> {
    let Some(secret_id) = secret_id else {
        return Ok(Ok(None));
    };
    let content = match secrets::read(&ctx.model, secret_id) {
        Ok(content) => content,
        // Juju words a secret it will not show as not found or permission denied; either
        // way the operator must create or grant it. The tool's text names no content.
        Err(e @ (ModelError::Tool { .. } | ModelError::Decode { .. })) => {
            return Ok(Err(ActionFailure::new(format!(
                "Cannot read Juju secret {secret_id}: {e}. Create it with a '{}' key and \
                 grant it to this application (juju grant-secret)",
                action_logic::PASSWORD_SECRET_KEY
            ))))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(action_logic::password_from_secret(secret_id, content.as_ref()).map(Some))
}

/// Parameters of `rotate-cookie-secret`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RotateCookieSecretParams {
    /// Juju fills in the default (true) from actions.yaml.
    keep_previous: Option<bool>,
}

/// The peer application key the leader changes after a rotation: the followers get
/// `kratos-peers-relation-changed` and take the new secret at once (an application-owned
/// secret sends its own units no `secret-changed`).
const COOKIE_ROTATED_KEY: &str = "cookie-secret-rotated";

/// `rotate-cookie-secret`: the leader makes a new cookie secret (keeping the old one as
/// still accepted unless told not to), wakes the followers, and converges.
fn rotate_cookie_secret(ctx: &Context, kube: Option<&dyn KubeApi>) -> Result<Outcome, CharmError> {
    let params = match params::<RotateCookieSecretParams>(ctx)? {
        Ok(params) => params,
        Err(failure) => return Ok(Err(failure)),
    };
    let keep_previous = params.keep_previous.unwrap_or(true);
    if !ctx.model.is_leader()? {
        return Ok(Err(ActionFailure::new(
            "Only the leader unit can rotate the cookie secret (the application owns it): \
             run it on the leader (juju run kratos/leader rotate-cookie-secret)",
        )));
    }
    if secrets::rotate_cookie_secret(&ctx.model, keep_previous)?.is_none() {
        return Ok(Err(ActionFailure::new(
            "There is no cookie secret to rotate yet: the leader creates it on its first \
             hook; run the action again once the unit is active",
        )));
    }
    if let Some(peers) = ctx.model.first_relation(peers::ENDPOINT)? {
        let marker = Databag::from([(
            COOKIE_ROTATED_KEY.to_string(),
            cleanup::timestamp(cleanup::now()),
        )]);
        ctx.model.update_databag(&peers, Bag::LocalApp, &marker)?;
    }
    let status: Status = charm::reconcile(ctx, kube)?.status;
    ctx.model.set_status(&status)?;
    let message = if keep_previous {
        "The cookie secret was rotated; the previous one is still accepted, so sessions stay valid"
    } else {
        "The cookie secret was rotated; sessions and flows signed with the old one have ended"
    };
    let results = std::collections::BTreeMap::from([
        (
            "message".to_string(),
            serde_json::Value::String(message.to_string()),
        ),
        (
            "previous-kept".to_string(),
            serde_json::Value::Bool(keep_previous),
        ),
    ]);
    Ok(Ok(ActionOutput {
        results,
        log: Vec::new(),
    }))
}

/// Parameters of `run-migration`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunMigrationParams {
    /// Seconds; Juju fills in the default (120) from actions.yaml.
    timeout: Option<f64>,
}

const DEFAULT_MIGRATION_TIMEOUT_SECS: f64 = 120.0;

/// The migration's time limit: the `timeout` parameter (seconds, at least 1).
fn migration_timeout(params: &RunMigrationParams) -> Result<Duration, ActionFailure> {
    let seconds = params.timeout.unwrap_or(DEFAULT_MIGRATION_TIMEOUT_SECS);
    match Duration::try_from_secs_f64(seconds) {
        Ok(timeout) if seconds >= 1.0 => Ok(timeout),
        _ => Err(ActionFailure::new(format!(
            "The timeout must be a number of seconds of at least 1, not {seconds}"
        ))),
    }
}

/// Entry points for the fuzz targets (feature `fuzzing`, `fuzz/`): `run-migration`'s
/// parameters, which are private to this module. Not an API.
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing {
    use super::*;

    /// `run-migration`'s parameters read from the model and checked, as the action does
    /// before it touches anything.
    pub fn run_migration_params(
        model: &juju_rs_ops::Model,
    ) -> Result<Result<Duration, ActionFailure>, ModelError> {
        let params: RunMigrationParams = model.action_params()?;
        Ok(migration_timeout(&params))
    }
}

/// `run-migration`: the leader migrates the database for the running workload version,
/// records it for the other units, and converges (so Kratos starts if it was waiting
/// for the migration).
fn run_migration(ctx: &Context, kube: Option<&dyn KubeApi>) -> Result<Outcome, CharmError> {
    let params = match params::<RunMigrationParams>(ctx)? {
        Ok(params) => params,
        Err(failure) => return Ok(Err(failure)),
    };
    let timeout = match migration_timeout(&params) {
        Ok(timeout) => timeout,
        Err(failure) => return Ok(Err(failure)),
    };
    // The same inputs the hooks gather (and publish: the database request included).
    let inputs = Inputs::gather(ctx, kube)?;
    if !inputs.leader {
        return Ok(Err(ActionFailure::new(
            "Only the leader unit can run the database migration: run it on the leader \
             (juju run kratos/leader run-migration)",
        )));
    }
    inputs.publish(ctx)?;
    let version = match migrate(ctx, &inputs, timeout)? {
        Ok(version) => version,
        Err(failure) => return Ok(Err(failure)),
    };
    let status: Status = charm::reconcile(ctx, kube)?.status;
    ctx.model.set_status(&status)?;
    let results = std::collections::BTreeMap::from([(
        "version".to_string(),
        serde_json::Value::String(version),
    )]);
    Ok(Ok(ActionOutput {
        results,
        log: Vec::new(),
    }))
}

/// Migrates and records the migration; the version migrated to, or why not.
fn migrate(
    ctx: &Context,
    inputs: &Inputs,
    timeout: Duration,
) -> Result<Result<String, ActionFailure>, CharmError> {
    let Some(peers) = inputs.integrations.peers.ready() else {
        return Ok(Err(ActionFailure::new("Peer integration is not ready")));
    };
    let database = match &inputs.integrations.database {
        Reading::Ready(database) => database,
        other => {
            let reason = other
                .status(Database::absent_status())
                .map(|status| status.message)
                .unwrap_or_default();
            return Ok(Err(ActionFailure::new(format!(
                "The database is not ready ({reason})"
            ))));
        }
    };
    let pebble = ctx.pebble(workload::CONTAINER);
    let Some(container) = container::inspect(ctx, pebble.as_ref())? else {
        return Ok(Err(ActionFailure::new("Container is not connected yet")));
    };
    let Some(version) = container.version else {
        return Ok(Err(ActionFailure::new(
            "Cannot read the Kratos version in the kratos container",
        )));
    };
    let target = MigrationTarget {
        peers,
        database,
        version: &version,
    };
    ctx.model.action_log("Started migrating the database")?;
    if let Err(message) = target.run(pebble.as_ref(), timeout) {
        return Ok(Err(ActionFailure::new(format!(
            "Database migration failed: {message}"
        ))));
    }
    ctx.model.action_log("Successfully migrated the database")?;
    target.record(&ctx.model)?;
    ctx.model
        .action_log("Successfully updated migration version")?;
    Ok(Ok(version))
}

/// `cleanup`: removes expired data now, on the leader, as the schedule would (see
/// [`crate::cleanup`]): the params over the options, the running service's environment,
/// leadership confirmed just before; the run recorded for the schedule.
fn cleanup(ctx: &Context) -> Result<Outcome, CharmError> {
    let params = match params::<cleanup::action::Params>(ctx)? {
        Ok(params) => params,
        Err(failure) => return Ok(Err(failure)),
    };
    if !ctx.model.is_leader()? {
        return Ok(Err(ActionFailure::new(
            "Only the leader unit runs the cleanup (it also runs the scheduled one, and \
             one unit at a time): run it on the leader (juju run kratos/leader cleanup)",
        )));
    }
    let config = match ctx.model.config::<CharmConfig>() {
        Ok(config) => config,
        Err(e) => return Ok(Err(ActionFailure::new(format!("Invalid config: {e}")))),
    };
    let run = match cleanup::action::run_for(&params, &config) {
        Ok(run) => run,
        Err(message) => return Ok(Err(ActionFailure::new(message))),
    };
    let (peers, env) = match cleanup_preconditions(ctx)? {
        Ok(found) => found,
        Err(failure) => return Ok(Err(failure)),
    };
    ctx.model
        .action_log(&format!("Cleaning up expired data ({})", run.describe()))?;
    let started = cleanup::now();
    let pebble = ctx.pebble(workload::CONTAINER);
    let report = match cleanup::run::execute(pebble.as_ref(), &env, &run, cleanup::run::TIMEOUT) {
        Ok(report) => report,
        Err(reason) => {
            return Ok(Err(ActionFailure::new(format!(
                "Cleanup of expired data failed: {reason}"
            ))))
        }
    };
    ctx.model
        .update_databag(&peers.relation, Bag::LocalApp, &cleanup::record(started))?;
    let interval = cleanup::parse_interval(&config.cleanup_interval)
        .ok()
        .flatten();
    let next = interval.map(|i| started.saturating_add(i.as_secs()));
    Ok(Ok(ActionOutput {
        results: cleanup::action::results(&run, &report, started, next),
        log: Vec::new(),
    }))
}

/// What the cleanup needs in the unit: the peer relation (to record the run), Kratos
/// running (its environment holds the database), and leadership confirmed just now.
fn cleanup_preconditions(
    ctx: &Context,
) -> Result<Result<(PeerData, workload::Environment), ActionFailure>, CharmError> {
    let Reading::Ready(peers) = Peers::read(&ctx.model)? else {
        return Ok(Err(ActionFailure::new("Peer integration is not ready")));
    };
    let pebble = ctx.pebble(workload::CONTAINER);
    let Some(env) = cleanup::serving_environment(pebble.as_ref()) else {
        return Ok(Err(ActionFailure::new(
            "Kratos is not running in this unit: the cleanup runs where Kratos serves its \
             database; see the unit's status, then run the action again",
        )));
    };
    if !ctx.model.confirm_leader()? {
        return Ok(Err(ActionFailure::new(
            "This unit is no longer the leader: run the action on the new leader \
             (juju run kratos/leader cleanup)",
        )));
    }
    Ok(Ok((peers, env)))
}
