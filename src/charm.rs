//! Holistic reconciliation: every event converges the unit on the state implied by
//! config, relations, secrets, leadership and the workload. The steps below read like an
//! operator's checklist; each either yields what the next needs or a status saying what
//! is missing.

use std::collections::BTreeMap;

use juju_rs_ops::model::{Bag, ModelError, Relation};
use juju_rs_ops::pebble::{ExecRequest, Pebble, PebbleError, PushOptions, ServiceInfo};
use juju_rs_ops::{Context, EventKind, Status, StatusCollector, StatusKind};

use crate::charm_config::{CharmConfig, ValidConfig};
use crate::identity_schemas::{
    self, IdentitySchemaConfig, IdentitySchemaSet, InMemoryIdentitySchemaSource,
};
use crate::integrations::{database, hydra, login_ui, peers, Databag};
use crate::kratos_config::{self, CourierInputs, Flags, LoginUiUrls, RenderInputs};
use crate::secrets;
use crate::sensitive::Sensitive;
use crate::workload::{self, Environment};

/// Failures of the charm's own machinery (hook tools, Pebble). Problems with inputs are
/// not errors: they are statuses.
#[derive(Debug, thiserror::Error)]
pub enum CharmError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("Pebble in the kratos container: {0}")]
    Pebble(#[from] PebbleError),
}

/// Keys of this unit's Juju state (`state-get`/`state-set`) that cache workload facts
/// across hooks, so steady-state hooks spawn no `kratos version`.
const STATE_BOOT_ID: &str = "pebble-boot-id";
const STATE_VERSION: &str = "kratos-version";

/// How long the leader lets `kratos migrate sql` run during a hook.
const MIGRATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs the charm for one event.
pub fn dispatch(ctx: &mut Context) -> Result<(), CharmError> {
    if ctx.event.is_action() {
        return crate::actions::run(ctx);
    }
    let status = reconcile(ctx)?;
    ctx.model.set_status(&status)?;
    Ok(())
}

/// Converges the unit and returns its status.
pub fn reconcile(ctx: &Context) -> Result<Status, CharmError> {
    let model = &ctx.model;
    let mut statuses = StatusCollector::default();
    let leader = model.is_leader()?;

    let config = match load_config(ctx) {
        Ok(config) => Some(config),
        Err(problem) => {
            statuses.add(Status::blocked(problem));
            None
        }
    };

    let cookie = secrets::cookie_secret(model, leader)?;
    if cookie.is_none() {
        statuses.add(Status::waiting("Waiting for secret creation"));
    }

    let peer = relations(ctx, peers::ENDPOINT)?.into_iter().next();
    if peer.is_none() {
        statuses.add(Status::waiting(format!(
            "Missing integration {}",
            peers::ENDPOINT
        )));
    }

    let db = database(ctx, leader, &mut statuses)?;
    let hydra = single_app_bag(ctx, hydra::ENDPOINT)?
        .map(|bag| hydra::parse(&bag))
        .transpose()
        .unwrap_or_else(|problem| {
            statuses.add(Status::blocked(problem.to_string()));
            None
        })
        .flatten();
    let login_ui = match app_bags(ctx, login_ui::ENDPOINT).map(|bags| login_ui::parse(&bags)) {
        Ok(Ok(ui)) => ui,
        Ok(Err(problem)) => {
            statuses.add(Status::blocked(problem.to_string()));
            None
        }
        Err(e) => return Err(e),
    };

    let pebble = ctx.pebble(workload::CONTAINER);
    let boot_id = match pebble.system_info() {
        Ok(info) => info.boot_id,
        Err(PebbleError::CannotConnect { .. }) => {
            statuses.add(Status::waiting("Waiting for the kratos container"));
            return Ok(statuses.winner());
        }
        Err(e) => return Err(e.into()),
    };
    model.set_ports(&[
        juju_rs_ops::model::Port::tcp(workload::PUBLIC_PORT),
        juju_rs_ops::model::Port::tcp(workload::ADMIN_PORT),
    ])?;
    let version = workload_version(ctx, pebble.as_ref(), &boot_id)?;

    let (db_relation, connection) = match db {
        Database::Ready(relation, connection) => (relation, connection),
        // Without a database Kratos cannot serve: stop it (this is how the pg-database
        // relation going away stops the service).
        Database::Missing => {
            stop_services(pebble.as_ref())?;
            return Ok(statuses.winner());
        }
        // Pending or invalid data: the last good workload keeps running.
        Database::NotReady => return Ok(statuses.winner()),
    };

    // Inputs that are missing or invalid stop here: the last good workload keeps running.
    let (Some(config), Some(cookie), Some(peer)) = (config, cookie, peer) else {
        return Ok(statuses.winner());
    };
    if statuses.winner().kind > StatusKind::Active {
        return Ok(statuses.winner());
    }
    let Some(version) = version else {
        statuses.add(Status::waiting(
            "Waiting for the Kratos version from the container",
        ));
        return Ok(statuses.winner());
    };

    if !migrated(
        ctx,
        leader,
        &peer,
        &db_relation,
        &connection,
        &version,
        pebble.as_ref(),
        &mut statuses,
    )? {
        return Ok(statuses.winner());
    }

    let rendered = match render(ctx, &config, login_ui.as_ref()) {
        Ok(rendered) => rendered,
        Err(problem) => {
            statuses.add(Status::blocked(problem));
            return Ok(statuses.winner());
        }
    };
    let mut environment = base_environment(&config);
    environment.insert("DSN".into(), connection.dsn().expose().to_string());
    environment.insert(
        "SECRETS_COOKIE".into(),
        serde_json::json!([cookie.expose()]).to_string(),
    );
    if let Some(hydra) = &hydra {
        environment.extend(hydra.env().map(|(k, v)| (k.to_string(), v)));
    }

    apply(pebble.as_ref(), leader, &rendered, &environment)?;
    statuses.add(health(pebble.as_ref(), leader)?);
    Ok(statuses.winner())
}

/// Reads and validates the config; the error is a `blocked` message.
fn load_config(ctx: &Context) -> Result<ValidConfig, String> {
    let config: CharmConfig = ctx
        .model
        .config()
        .map_err(|e| format!("Invalid config: {e}"))?;
    config.validate().map_err(|problem| problem.to_string())
}

/// Whether Kratos must ask `whoami` for the highest available assurance level: with
/// OIDC-WebAuthn sequencing, or MFA enforced for local users (as the reference decides).
fn requires_highest_aal(config: &ValidConfig) -> bool {
    config.enable_oidc_webauthn_sequencing || (config.enable_local_idp && config.enforce_mfa)
}

/// The relations of an endpoint as this event sees them: during `relation-broken` Juju
/// still lists the relation being removed, but it is gone for the charm.
fn relations(ctx: &Context, endpoint: &str) -> Result<Vec<Relation>, CharmError> {
    let mut relations = ctx.model.relations(endpoint)?;
    if ctx.event.kind == EventKind::RelationBroken {
        if let Some(broken) = &ctx.event.relation {
            relations.retain(|r| r.id != broken.id);
        }
    }
    Ok(relations)
}

/// The remote application's databag of the first relation of `endpoint`.
fn single_app_bag(ctx: &Context, endpoint: &str) -> Result<Option<Databag>, CharmError> {
    match relations(ctx, endpoint)?.first() {
        Some(relation) if relation.remote_app.is_some() => {
            Ok(Some(ctx.model.databag(relation, Bag::RemoteApp)?))
        }
        _ => Ok(None),
    }
}

/// The remote applications' databags of every relation of `endpoint`.
fn app_bags(ctx: &Context, endpoint: &str) -> Result<Vec<Databag>, CharmError> {
    let mut bags = Vec::new();
    for relation in relations(ctx, endpoint)? {
        if relation.remote_app.is_some() {
            bags.push(ctx.model.databag(&relation, Bag::RemoteApp)?);
        }
    }
    Ok(bags)
}

/// Where the pg-database integration stands.
enum Database {
    /// No relation: Kratos must not run.
    Missing,
    /// Related, but the credentials are pending or unusable (a status says which).
    NotReady,
    Ready(Relation, database::Connection),
}

/// The pg-database integration: the leader asks for the database; every unit reads the
/// credentials (from the databag or the referenced secret).
fn database(
    ctx: &Context,
    leader: bool,
    statuses: &mut StatusCollector,
) -> Result<Database, CharmError> {
    let model = &ctx.model;
    let Some(relation) = relations(ctx, database::ENDPOINT)?.into_iter().next() else {
        statuses.add(Status::blocked(format!(
            "Missing integration {}",
            database::ENDPOINT
        )));
        return Ok(Database::Missing);
    };
    if leader {
        let request = database::request(model.model_name(), model.app_name());
        model.update_databag(&relation, Bag::LocalApp, &request)?;
        let mut unit_request = Databag::new();
        unit_request.insert("requested-secrets".into(), database::requested_secrets());
        model.update_databag(&relation, Bag::LocalUnit, &unit_request)?;
    }
    let waiting = || Status::waiting("Waiting for database creation");
    if relation.remote_app.is_none() {
        statuses.add(waiting());
        return Ok(Database::NotReady);
    }
    let offer = match database::parse_offer(&model.databag(&relation, Bag::RemoteApp)?) {
        Ok(offer) => offer,
        Err(problem) => {
            statuses.add(Status::blocked(problem.to_string()));
            return Ok(Database::NotReady);
        }
    };
    let (endpoint, username, password) = match offer {
        database::Offer::Pending => {
            statuses.add(waiting());
            return Ok(Database::NotReady);
        }
        database::Offer::Inline {
            endpoint,
            username,
            password,
        } => (endpoint, username, password),
        database::Offer::InSecret {
            endpoint,
            secret_id,
        } => match secrets::read(model, &secret_id)? {
            Some(content) => match database::credentials_from_secret(&content) {
                Some((username, password)) => (endpoint, username, password),
                None => {
                    statuses.add(Status::blocked(format!(
                        "Invalid data in {} integration: the credentials secret has no username and password",
                        database::ENDPOINT
                    )));
                    return Ok(Database::NotReady);
                }
            },
            None => {
                statuses.add(waiting());
                return Ok(Database::NotReady);
            }
        },
    };
    Ok(Database::Ready(
        relation,
        database::Connection {
            endpoint,
            database: database::database_name(model.model_name(), model.app_name()),
            username,
            password,
        },
    ))
}

/// The workload version, from this unit's cache while the container is the same (same
/// Pebble boot id), else by running `kratos version`; published with
/// `application-version-set` when it changes.
fn workload_version(
    ctx: &Context,
    pebble: &dyn Pebble,
    boot_id: &str,
) -> Result<Option<String>, CharmError> {
    let model = &ctx.model;
    let state = model.state_get()?;
    if !boot_id.is_empty() && state.get(STATE_BOOT_ID).map(String::as_str) == Some(boot_id) {
        if let Some(version) = state.get(STATE_VERSION) {
            return Ok(Some(version.clone()));
        }
    }
    let output = pebble.exec(&ExecRequest {
        timeout: Some(std::time::Duration::from_secs(20)),
        ..ExecRequest::new(["kratos", "version"])
    });
    let version = match output {
        Ok(out) if out.exit_code == 0 => workload::parse_version(&out.stdout_text()),
        Ok(out) => {
            tracing::warn!(exit_code = out.exit_code, "kratos version failed");
            None
        }
        Err(e) => {
            tracing::warn!("cannot run kratos version: {e}");
            None
        }
    };
    if let Some(version) = &version {
        model.set_workload_version(version)?;
        let mut changes = Databag::new();
        changes.insert(STATE_BOOT_ID.into(), boot_id.to_string());
        changes.insert(STATE_VERSION.into(), version.clone());
        model.state_set(&changes)?;
    }
    Ok(version)
}

/// Whether the database is migrated for this workload version. The leader migrates (once
/// per database relation and version) and records it in the peer application databag;
/// followers wait for that record.
#[allow(clippy::too_many_arguments)]
fn migrated(
    ctx: &Context,
    leader: bool,
    peer: &Relation,
    db_relation: &Relation,
    connection: &database::Connection,
    version: &str,
    pebble: &dyn Pebble,
    statuses: &mut StatusCollector,
) -> Result<bool, CharmError> {
    let model = &ctx.model;
    let peer_bag = model.databag(peer, Bag::LocalApp)?;
    if peers::migrated_version(&peer_bag, db_relation.id).as_deref() == Some(version) {
        return Ok(true);
    }
    if !leader {
        statuses.add(Status::waiting(
            "Waiting for leader unit to run the migration",
        ));
        return Ok(false);
    }
    match run_migration(pebble, &connection.dsn(), MIGRATION_TIMEOUT) {
        Ok(()) => {
            model.update_databag(
                peer,
                Bag::LocalApp,
                &peers::record_migration(db_relation.id, version),
            )?;
            Ok(true)
        }
        Err(message) => {
            tracing::error!("database migration failed: {message}");
            statuses.add(Status::blocked(
                "Database migration failed: check the kratos container logs, then run the run-migration action",
            ));
            Ok(false)
        }
    }
}

/// What the `run-migration` action needs, gathered as the hooks gather it.
pub struct MigrationTarget {
    peer: Relation,
    db_relation: Relation,
    connection: database::Connection,
    /// The workload version the migration brings the database to.
    pub version: String,
}

impl MigrationTarget {
    /// The DSN Kratos migrates through.
    pub fn dsn(&self) -> Sensitive {
        self.connection.dsn()
    }
}

/// The peer relation, database credentials and workload version a migration needs; the
/// error says what is missing (for `action-fail`). Meant for the leader: it also
/// (re)writes the database request, as the leader's hooks do.
pub fn migration_target(ctx: &Context) -> Result<Result<MigrationTarget, String>, CharmError> {
    let Some(peer) = relations(ctx, peers::ENDPOINT)?.into_iter().next() else {
        return Ok(Err("Peer integration is not ready".into()));
    };
    let mut statuses = StatusCollector::default();
    let (db_relation, connection) = match database(ctx, true, &mut statuses)? {
        Database::Ready(relation, connection) => (relation, connection),
        Database::Missing | Database::NotReady => {
            return Ok(Err(format!(
                "The database is not ready ({})",
                statuses.winner().message
            )))
        }
    };
    let pebble = ctx.pebble(workload::CONTAINER);
    let boot_id = match pebble.system_info() {
        Ok(info) => info.boot_id,
        Err(PebbleError::CannotConnect { .. }) => {
            return Ok(Err("Container is not connected yet".into()))
        }
        Err(e) => return Err(e.into()),
    };
    let Some(version) = workload_version(ctx, pebble.as_ref(), &boot_id)? else {
        return Ok(Err(
            "Cannot read the Kratos version in the kratos container".into(),
        ));
    };
    Ok(Ok(MigrationTarget {
        peer,
        db_relation,
        connection,
        version,
    }))
}

/// Records in the peer application databag that the database is migrated for the
/// target's version (the leader's hooks then stop asking for a migration).
pub fn record_migration(ctx: &Context, target: &MigrationTarget) -> Result<(), CharmError> {
    ctx.model.update_databag(
        &target.peer,
        Bag::LocalApp,
        &peers::record_migration(target.db_relation.id, &target.version),
    )?;
    Ok(())
}

/// Runs `kratos migrate sql -e --yes` with the DSN in its environment. The error text
/// has the DSN's password removed.
pub fn run_migration(
    pebble: &dyn Pebble,
    dsn: &Sensitive,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let request = ExecRequest {
        environment: BTreeMap::from([("DSN".to_string(), dsn.expose().to_string())]),
        timeout: Some(timeout),
        ..ExecRequest::new(["kratos", "migrate", "sql", "-e", "--yes"])
    };
    let redact = |text: &str| workload::redact_dsn(text, dsn.expose());
    match pebble.exec(&request) {
        Ok(out) if out.exit_code == 0 => Ok(()),
        Ok(out) => Err(redact(&format!(
            "{} (exit code {})",
            workload::failure_summary(&out.stdout_text(), &String::from_utf8_lossy(&out.stderr)),
            out.exit_code,
        ))),
        Err(e) => Err(redact(&e.to_string())),
    }
}

/// Renders kratos.yaml; the error is a `blocked` message.
fn render(
    ctx: &Context,
    config: &ValidConfig,
    login_ui: Option<&login_ui::LoginUiEndpoints>,
) -> Result<String, String> {
    let identity_schemas = match &config.identity_schemas {
        Some(configured) => IdentitySchemaSet::new(
            configured.default_id.clone(),
            configured
                .schemas
                .iter()
                .map(|(id, schema)| (id.clone(), serde_json::Value::Object(schema.clone())))
                .collect(),
        )
        .map_err(|problem| format!("Invalid config identity_schemas: {problem}"))?,
        None => {
            // The identity-schemas ConfigMap source arrives with the Kubernetes
            // integration; until then the next source is the shipped defaults.
            let unset = IdentitySchemaConfig {
                identity_schemas: None,
                default_identity_schema_id: None,
            };
            identity_schemas::select_identity_schemas(
                &unset,
                &InMemoryIdentitySchemaSource::absent(),
            )
            .map_err(|e| e.to_string())?
            .set
        }
    };
    let inputs = RenderInputs {
        log_level: config.log_level,
        flags: Flags {
            enable_local_idp: config.enable_local_idp,
            enforce_mfa: config.enforce_mfa,
            enable_verification: config.enable_verification,
            enable_passwordless_login_method: config.enable_passwordless_login_method,
            enable_oidc_webauthn_sequencing: config.enable_oidc_webauthn_sequencing,
        },
        identity_schemas,
        login_ui: login_ui.map(login_ui_urls),
        public_url: None,
        oidc_providers: Vec::new(),
        registration_webhooks: Vec::new(),
        login_webhooks: Vec::new(),
        courier: CourierInputs {
            from_address: Some(config.sender_email.clone()).filter(|s| !s.is_empty()),
            from_name: Some(config.sender_name.clone()).filter(|s| !s.is_empty()),
            recovery_code_email_html: config.recovery_email_template.clone(),
            verification_code_email_html: if config.enable_verification {
                verification_template(ctx)
            } else {
                None
            },
        },
        tracing_enabled: false,
    };
    kratos_config::render(&inputs)
        .and_then(|rendered| rendered.to_yaml())
        .map_err(|e| format!("Cannot render the Kratos configuration: {e}"))
}

fn login_ui_urls(ui: &login_ui::LoginUiEndpoints) -> LoginUiUrls {
    let url = |s: &str| url::Url::parse(s).ok();
    LoginUiUrls {
        login: url(&ui.login_url),
        error: url(&ui.error_url),
        settings: url(&ui.settings_url),
        recovery: url(&ui.recovery_url),
        verification: url(&ui.verification_url),
        registration: url(&ui.registration_url),
        webauthn_settings: url(&ui.webauthn_settings_url),
        account_linking_settings: url(&ui.account_linking_settings_url),
    }
}

/// The environment from the config alone (the database, cookie secret and integrations
/// add theirs).
fn base_environment(config: &ValidConfig) -> Environment {
    let mut env = Environment::new();
    env.insert("LOG_LEVEL".into(), config.log_level.as_str().to_string());
    env.insert("LOG_FORMAT".into(), "json".into());
    env.insert("SERVE_PUBLIC_CORS_ENABLED".into(), "true".into());
    env.insert("DEV".into(), config.dev.to_string());
    for (name, value) in [
        ("HTTP_PROXY", &config.proxy.http_proxy),
        ("HTTPS_PROXY", &config.proxy.https_proxy),
        ("NO_PROXY", &config.proxy.no_proxy),
    ] {
        if let Some(value) = value {
            env.insert(name.into(), value.clone());
        }
    }
    env.insert(
        "COURIER_SMTP_FROM_ADDRESS".into(),
        config.sender_email.clone(),
    );
    env.insert("COURIER_SMTP_FROM_NAME".into(), config.sender_name.clone());
    env.insert(
        "COURIER_SMTP_CONNECTION_URI".into(),
        workload::DEFAULT_SMTP_URI.into(),
    );
    if requires_highest_aal(config) {
        env.insert(
            "SESSION_WHOAMI_REQUIRED_AAL".into(),
            "highest_available".into(),
        );
    }
    env
}

/// Brings the container to the rendered state: files pushed only when their content
/// changed; a changed config file restarts Kratos (and the courier on the leader) in one
/// change; otherwise a changed layer is replanned. The courier runs on the leader only.
fn apply(
    pebble: &dyn Pebble,
    leader: bool,
    rendered: &str,
    environment: &Environment,
) -> Result<(), CharmError> {
    let config_changed = push_if_changed(
        pebble,
        workload::CONFIG_FILE,
        rendered.as_bytes(),
        &PushOptions {
            make_dirs: true,
            permissions: Some(0o600),
            ..PushOptions::default()
        },
    )?;

    let layer = workload::layer(environment);
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
    if config_changed {
        let mut restart = vec![workload::SERVICE];
        if leader {
            restart.push(workload::COURIER);
        }
        pebble.restart(&restart)?;
    } else if layer_changed || !running(workload::SERVICE) {
        pebble.replan()?;
    }
    if leader && !config_changed && !running(workload::COURIER) {
        pebble.start(&[workload::COURIER])?;
    }
    if !leader && running(workload::COURIER) {
        pebble.stop(&[workload::COURIER])?;
    }
    Ok(())
}

/// The verification e-mail template from the charm resource, if the operator attached one.
fn verification_template(ctx: &Context) -> Option<String> {
    let path = ctx.model.resource_get("verification-email-template").ok()?;
    let content = std::fs::read_to_string(&path).ok()?;
    (!content.trim().is_empty()).then_some(content)
}

/// Pushes `content` unless the file already holds it; returns whether it pushed.
fn push_if_changed(
    pebble: &dyn Pebble,
    path: &str,
    content: &[u8],
    options: &PushOptions,
) -> Result<bool, CharmError> {
    match pebble.pull(path) {
        Ok(current) if current == content => return Ok(false),
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    pebble.push(path, content, options)?;
    Ok(true)
}

fn service_states(pebble: &dyn Pebble) -> Result<BTreeMap<String, ServiceInfo>, CharmError> {
    Ok(pebble
        .services(&[workload::SERVICE, workload::COURIER])?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect())
}

/// Stops whatever of Kratos runs.
fn stop_services(pebble: &dyn Pebble) -> Result<(), CharmError> {
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

/// The workload's health as a status.
fn health(pebble: &dyn Pebble, leader: bool) -> Result<Status, CharmError> {
    let services = service_states(pebble)?;
    let failed = |name: &str| services.get(name).is_some_and(ServiceInfo::is_failed);
    if failed(workload::SERVICE) {
        return Ok(Status::blocked(
            "Failed to start the service, please check the kratos container logs",
        ));
    }
    let ready_failing = pebble
        .checks(&[workload::READY_CHECK])?
        .iter()
        .any(|c| c.failures > 0);
    if ready_failing {
        return Ok(Status::blocked(
            "Failed to start the service, please check the kratos container logs",
        ));
    }
    if leader && failed(workload::COURIER) {
        return Ok(Status::blocked(
            "Failed to start the courier service, please check the 'courier' logs on the kratos container",
        ));
    }
    Ok(Status::active(""))
}
