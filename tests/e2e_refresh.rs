//! End to end: `juju refresh kratos --path ./kratos_amd64.charm` from Canonical's Python
//! charm (canonical/kratos-operator at 530db02, "the reference") to this one, against real
//! Pebble, real Kratos v1.3.1 and real PostgreSQL, under the Juju emulator with each unit in
//! its own pod (as tests/e2e.rs).
//!
//! The test first plays the reference: it builds the model, the containers and the
//! database exactly as the reference leaves them, without running this charm. Each piece
//! imitates reference code (paths in the reference repository):
//!
//! - **cookie secret**: an application-owned Juju secret, label `cookie_secret`, content
//!   `{cookiesecret: <32 hex>}` (`Secrets.__setitem__`, `src/secret.py`:
//!   `app.add_secret(content, label=...)`; `_initialize_secrets`, `src/charm.py`:
//!   `token_hex(16)`).
//! - **migration**: the leader runs `kratos migrate sql -e --yes` through Pebble with `DSN`
//!   in its environment (`CommandLine.migrate`, `src/cli.py`) against the database, then
//!   records `migration_version_<pg-database relation id>` = `json.dumps(version)` in the
//!   peer application bag (`_on_database_created`, `src/charm.py`; `PeerData.__setitem__`,
//!   `src/integrations.py`), the version read from `kratos version` by its regex
//!   `Version:\s+(v\d+\.\d+\.\d+)` (`CommandLine.get_service_version`, `src/cli.py`). The
//!   peer bag also holds `leader` = `json.dumps("kratos/0")` (`_on_leader_elected`).
//! - **pg-database**: the request in Kratos's application bag, `database`
//!   (`<model>_<app>`), `extra-user-roles` `SUPERUSER` and `requested-secrets`
//!   (`DatabaseRequires` in `src/charm.py`; data_platform_libs `data_interfaces.py`
//!   `_on_relation_created_event`), `requested-secrets` in the leader's unit bag too, and
//!   in every unit's bag `data`: the library's JSON copy of the provider's bag (`diff()`).
//!   postgresql-k8s's answer (endpoints, `secret-user` with the credentials in a secret
//!   granted over the relation, labelled by the library `pg-database.<id>.user.secret` on
//!   each unit) and the role and database it creates (a SUPERUSER role `relation_id_<id>`).
//! - **kratos-info**: the eleven keys of `KratosInfoProvider.send_info_relation_data`
//!   (`lib/charms/kratos/v0/kratos_info.py`) as `_on_kratos_info_provider_ready`
//!   (`src/charm.py`) computes them: cluster-local endpoints (`InternalRouteData`, no
//!   internal-route), the public-route login URL, `True`/`False` flags, the feature flags of
//!   its rendered config.
//! - **public-route**: `raw` = `True` and `config` = `testdata/reference-charm/public-route.yaml`
//!   (`PublicRouteData.load`, `src/integrations.py`; `submit_to_traefik`,
//!   `lib/charms/traefik_k8s/v0/traefik_route.py`), with Traefik's `external_host`/`scheme`.
//! - **ui-endpoint-info**: the login UI's pages (read only; the reference writes nothing).
//! - **containers**: `/etc/config/kratos/kratos.yaml` = `testdata/reference-charm/kratos.yaml`
//!   (rendered from `templates/kratos.yaml.j2`, see the README there); the Pebble layer
//!   `PEBBLE_LAYER_DICT` (`src/services.py`) added under the label `kratos` with
//!   `combine=True`, services `kratos` and `courier` (`startup: disabled`) with the
//!   environment `render_pebble_layer` computes (`DEFAULT_CONTAINER_ENV`, `src/env_vars.py`;
//!   `CharmConfig`, `src/configs.py`; `Secrets`; `DatabaseConfig` (its DSN template, no
//!   escaping); the default `SmtpData` and `PublicRouteData`, `src/integrations.py`), checks
//!   `ready`/`alive`; then `restart("kratos")` (`PebbleService.plan`) and, on the leader
//!   only, `restart("courier")` (`_configure_courier`); the operator's
//!   `recovery_email_template` (set in this deployment's config) pushed to
//!   `/etc/config/templates/recovery-body.html.gotmpl` (`_holistic_handler`) and named by
//!   `COURIER_TEMPLATES_RECOVERY_CODE_VALID_EMAIL_BODY_HTML` (`CharmConfig.to_env_vars`).
//! - **units**: `active`, workload version, ports 4433 and 4434 open
//!   (`WorkloadService.open_ports`, `src/services.py`). ops keeps its own state in the charm
//!   directory, so Juju's unit state is empty.
//!
//! Then, under the reference, an identity signs in through Kratos's public API: a session
//! token (API flow) and a session cookie (browser flow, signed with the cookie secret), and
//! an administrator identity exists with only an e-mail (the reference's `admin_v0` requires
//! no trait).
//!
//! Then this charm runs the hooks Juju 3.6 runs after `juju refresh` on Kubernetes, unit by
//! unit, highest ordinal first: upgrade-charm, config-changed, leader-settings-changed (not
//! on the leader), start, kratos-pebble-ready. (Kubernetes would also replace the pod; here
//! the containers survive, the harder case: this charm takes over the reference's running
//! layer. tests/reconcile.rs has the replaced pod.)
//!
//! It checks: both units active; no second migration (each pod ran exactly one command, the
//! `kratos version` this charm reads from a container it has not seen; a migration would be
//! a second; and `schema_migration` is unchanged); the same cookie secret (one secret, one
//! revision, in the services' environment); the identity, the session token and the session
//! cookie still valid on both units; the administrator identity still updatable; the
//! relation data in this charm's shapes with nothing the reference's consumers read gone
//! and the library's copy of the credentials removed; this charm's layer and config in
//! place, the courier on the leader only; and no secret in any log or status.
// Test code: it may unwrap, index and panic like any test does (the charm's lints are
// for what runs in a hook).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments
)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{in_netns, kratos_bin, rand_hex, tail, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops::pebble::{ExecRequest, Layer, Pebble, PushOptions};
use juju_rs_ops_testing::state::{PortRange, Relation, Secret, SecretOwner, StatusRecord};
use juju_rs_ops_testing::{EventSpec, Outcomes};
use serde_json::{json, Value};

const LEADER: &str = "kratos/0";
const FOLLOWER: &str = "kratos/1";
const UNITS: [&str; 2] = [LEADER, FOLLOWER];
/// Where postgresql-k8s's service answers, as seen from a pod.
const DB_PORT: u16 = 5432;
const ADMIN: &str = "http://127.0.0.1:4434";
const PUBLIC: &str = "http://127.0.0.1:4433";
const LOGIN_UI: &str = "http://login-ui.test/ui";
const PEERS_ID: u32 = 0;
const DB_ID: u32 = 1;
const UI_ID: u32 = 2;
const INFO_ID: u32 = 3;
const ROUTE_ID: u32 = 4;
const CONFIG_FILE: &str = "/etc/config/kratos/kratos.yaml";
const TEMPLATE: &str = "/etc/config/templates/recovery-body.html.gotmpl";
const REFERENCE_CONFIG: &str = include_str!("../testdata/reference-charm/kratos.yaml");
const REFERENCE_ROUTE: &str = include_str!("../testdata/reference-charm/public-route.yaml");
/// The operator's `recovery_email_template` (the reference pushes it to [`TEMPLATE`]).
const RECOVERY_TEMPLATE: &str = "Your recovery code: {{ .RecoveryCode }}";
const EMAIL: &str = "alice@example.com";
const PASSWORD: &str = "Refresh-Pa55word-e2e";

/// The pods, the database and the emulator, torn down in reverse order on drop.
struct World {
    d: Deployment,
    _relays: Vec<Relay>,
    pg: Postgres,
}

/// One HTTP response: status, the cookies it sets (name, value) and the body.
struct Response {
    status: u16,
    cookies: Vec<(String, String)>,
    body: Value,
}

impl World {
    fn netns(&self, pod: usize) -> String {
        self.d.workloads[pod]
            .pebble
            .netns()
            .expect("pods have a network namespace")
            .to_string()
    }

    fn pebble(&self, pod: usize) -> juju_rs_ops::pebble::Client {
        self.d.workloads[pod].pebble.client()
    }

    /// An HTTP call from inside pod `pod`, with `cookies` and an optional session token.
    fn http(
        &self,
        pod: usize,
        method: &str,
        url: &str,
        body: Option<Value>,
        cookies: &BTreeMap<String, String>,
        token: Option<&str>,
    ) -> Response {
        let cookie_header = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let (method, url, token) = (method.to_string(), url.to_string(), token.map(String::from));
        in_netns(&self.netns(pod), move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .proxy(None)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(20)))
                .build()
                .into();
            let mut request = ureq::http::Request::builder()
                .method(method.as_str())
                .uri(url.as_str())
                .header("Accept", "application/json");
            if !cookie_header.is_empty() {
                request = request.header("Cookie", cookie_header);
            }
            if let Some(token) = token {
                request = request.header("X-Session-Token", token);
            }
            let result = match body {
                Some(body) => agent.run(
                    request
                        .header("Content-Type", "application/json")
                        .body(body.to_string())
                        .expect("request"),
                ),
                None => agent.run(request.body(()).expect("request")),
            };
            match result {
                Ok(mut response) => {
                    let cookies = response
                        .headers()
                        .get_all("set-cookie")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .filter_map(|c| c.split(';').next()?.split_once('='))
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .collect();
                    let status = response.status().as_u16();
                    let text = response.body_mut().read_to_string().unwrap_or_default();
                    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    Response {
                        status,
                        cookies,
                        body,
                    }
                }
                Err(e) => Response {
                    status: 0,
                    cookies: Vec::new(),
                    body: Value::String(e.to_string()),
                },
            }
        })
    }

    fn get(&self, pod: usize, url: &str) -> Response {
        self.http(pod, "GET", url, None, &BTreeMap::new(), None)
    }

    fn wait_ready(&self, pod: usize) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let r = self.get(pod, &format!("{ADMIN}/admin/health/ready"));
            if r.status == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Kratos in pod {pod} not ready ({} {}):\n{}",
                r.status,
                r.body,
                tail(&self.d.workloads[pod].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// How many commands have been exec'd in pod `pod`'s container (Pebble's changes).
    fn execs(&self, pod: usize) -> usize {
        let out = self.d.workloads[pod]
            .pebble
            .pebble_command()
            .args(["changes", "--abs-time"])
            .output()
            .expect("pebble changes");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("Execute command"))
            .count()
    }

    fn exec(&self, pod: usize, command: &[&str], env: &[(&str, &str)]) -> String {
        let request = ExecRequest {
            environment: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            timeout: Some(Duration::from_secs(120)),
            ..ExecRequest::new(command.iter().copied())
        };
        let out = self.pebble(pod).exec(&request).expect("exec");
        assert_eq!(
            out.exit_code,
            0,
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout_text()
    }

    fn bag(&self, id: u32, member: &str) -> BTreeMap<String, String> {
        let state = self.d.emulator.state().expect("state");
        let relation = state.relation(id).expect("relation").clone();
        if member == APP {
            relation.app_bag(member)
        } else {
            relation.unit_bag(member)
        }
    }

    fn plan_env(&self, pod: usize, service: &str) -> BTreeMap<String, String> {
        self.pebble(pod).plan().expect("plan").services[service]
            .environment
            .clone()
    }

    fn service(&self, pod: usize, name: &str) -> String {
        self.d.workloads[pod].service(name)
    }
}

/// What the reference's regex `Version:\s+(v\d+\.\d+\.\d+)` takes from `kratos version`
/// for this binary's output (`Version:<tabs>v1.3.1` on the first line).
fn reference_version(output: &str) -> String {
    let line = output
        .lines()
        .find(|l| l.starts_with("Version:"))
        .expect("a Version: line");
    let version = line.trim_start_matches("Version:").trim().to_string();
    assert!(
        version.starts_with('v') && version.split('.').count() == 3,
        "{version}"
    );
    version
}

/// The reference's Pebble layer with the environment `render_pebble_layer` computes for
/// this deployment (see the module documentation).
fn reference_layer(cookie: &str, dsn: &str) -> Layer {
    let env = json!({
        "LOG_FORMAT": "json",
        "SERVE_PUBLIC_CORS_ENABLED": "true",
        "DEV": "false",
        "LOG_LEVEL": "info",
        "HTTP_PROXY": "",
        "HTTPS_PROXY": "",
        "NO_PROXY": "",
        "COURIER_TEMPLATE_OVERRIDE_PATH": "/etc/config/templates",
        "COURIER_SMTP_FROM_ADDRESS": "identity@canonical.com",
        "COURIER_SMTP_FROM_NAME": "Canonical Identity Platform",
        "COURIER_TEMPLATES_RECOVERY_CODE_VALID_EMAIL_BODY_HTML": format!("file://{TEMPLATE}"),
        "SESSION_WHOAMI_REQUIRED_AAL": "highest_available",
        "SECRETS_COOKIE": json!([cookie]).to_string(),
        "DSN": dsn,
        "COURIER_SMTP_CONNECTION_URI": "smtps://test:test@mailslurper:1025/?skip_ssl_verify=true",
        "SERVE_PUBLIC_BASE_URL": "https://iam.example.com",
        "SELFSERVICE_ALLOWED_RETURN_URLS": r#"["https://iam.example.com/"]"#,
    });
    let service = |summary: &str, command: &str| {
        json!({"override": "replace", "summary": summary, "command": command,
               "startup": "disabled", "environment": env})
    };
    let check = |level: &str| {
        json!({"override": "replace", "level": level,
               "http": {"url": format!("http://localhost:4434/admin/health/{level}")}})
    };
    serde_json::from_value(json!({
        "summary": "pebble layer",
        "description": "pebble layer for kratos",
        "services": {
            "kratos": service("entrypoint of the kratos image", &format!("kratos serve all --config {CONFIG_FILE}")),
            "courier": service("kratos courier worker", &format!("kratos courier watch --config {CONFIG_FILE}")),
        },
        "checks": {"ready": check("ready"), "alive": check("alive")},
    }))
    .expect("a layer")
}

fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The kratos-info bag the reference's leader publishes for this deployment.
fn reference_info(model: &str) -> BTreeMap<String, String> {
    let cluster = |port: u16| format!("http://{APP}.{model}.svc.cluster.local:{port}");
    pairs(&[
        ("admin_endpoint", &cluster(4434)),
        ("public_endpoint", &cluster(4433)),
        (
            "login_browser_endpoint",
            "https://iam.example.com/self-service/login/browser",
        ),
        (
            "sessions_endpoint",
            &format!("{}/sessions/whoami", cluster(4433)),
        ),
        ("providers_configmap_name", "oidc-providers"),
        ("schemas_configmap_name", "identity-schemas"),
        ("configmaps_namespace", model),
        ("mfa_enabled", "True"),
        ("oidc_webauthn_sequencing_enabled", "False"),
        ("verification_enabled", "False"),
        ("feature_flags", "password,totp,backup_codes"),
    ])
}

/// Plays postgresql-k8s and the reference's model: every databag, secret and unit record
/// the reference leaves (see the module documentation). Returns the database's name.
fn reference_model(w: &mut World, cookie: &str, db_password: &str) -> String {
    let model = w.d.emulator.state().expect("state").model_name;
    let database = format!("{model}_{APP}");
    let role = format!("relation_id_{DB_ID}");
    w.pg.sql(&format!(
        "CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{db_password}'"
    ));
    w.pg.sql(&format!("CREATE DATABASE \"{database}\""));
    let credentials = Secret::new(
        SecretOwner::Application("postgresql-k8s".into()),
        [("username", role.as_str()), ("password", db_password)],
    )
    .with_grant(DB_ID, APP)
    .with_consumer_label(LEADER, "pg-database.1.user.secret")
    .with_consumer_label(FOLLOWER, "pg-database.1.user.secret");
    let provider = pairs(&[
        ("endpoints", &format!("127.0.0.1:{DB_PORT}")),
        ("secret-user", &credentials.id),
        ("database", &database),
        ("version", "15"),
    ]);
    let diff_copy = serde_json::to_string(&provider).expect("json");
    let requested = charm_kratos::integrations::database::requested_secrets();
    let ui_pages = [
        "login",
        "error",
        "settings",
        "recovery",
        "verification",
        "registration",
        "webauthn_settings",
        "account_linking_settings",
    ]
    .map(|p| {
        (
            format!("{p}_url"),
            format!("{LOGIN_UI}/{}", p.replace('_', "-")),
        )
    });
    let info = reference_info(&model);
    w.d.emulator
        .update_state(|s| {
            for unit in UNITS {
                let u = s.add_unit(unit);
                u.status = StatusRecord::new("active", "");
                u.workload_version = "v1.3.1".into();
                u.opened_ports = [PortRange::tcp(4433), PortRange::tcp(4434)].into();
            }
            s.leader = Some(LEADER.into());
            let members = |relation: Relation| {
                UNITS
                    .iter()
                    .fold(relation, |r, unit| r.with_local_unit(unit))
            };
            s.relations.push(
                members(Relation::peer(
                    PEERS_ID,
                    "kratos-peers",
                    "kratos-peers",
                    APP,
                ))
                .with_app_data(APP, [("leader", json!(LEADER).to_string())]),
            );
            let mut db = members(Relation::new(
                DB_ID,
                "pg-database",
                "postgresql_client",
                "postgresql-k8s",
            ))
            .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new())
            .with_remote_app_data(provider.clone())
            .with_app_data(
                APP,
                pairs(&[
                    ("database", &database),
                    ("extra-user-roles", "SUPERUSER"),
                    ("requested-secrets", &requested),
                ]),
            );
            db.unit_data.insert(
                LEADER.into(),
                pairs(&[("requested-secrets", &requested), ("data", &diff_copy)]),
            );
            db.unit_data
                .insert(FOLLOWER.into(), pairs(&[("data", &diff_copy)]));
            s.relations.push(db);
            s.relations.push(
                members(Relation::new(
                    UI_ID,
                    "ui-endpoint-info",
                    "login_ui_endpoints",
                    "login-ui",
                ))
                .with_remote_unit("login-ui/0", Vec::<(String, String)>::new())
                .with_remote_app_data(ui_pages.clone()),
            );
            s.relations.push(
                members(Relation::new(
                    INFO_ID,
                    "kratos-info",
                    "kratos_info",
                    "login-ui",
                ))
                .with_remote_unit("login-ui/0", Vec::<(String, String)>::new())
                .with_app_data(APP, info.clone()),
            );
            s.relations.push(
                members(Relation::new(
                    ROUTE_ID,
                    "public-route",
                    "traefik_route",
                    "traefik-public",
                ))
                .with_remote_unit("traefik-public/0", Vec::<(String, String)>::new())
                .with_remote_app_data(pairs(&[
                    ("external_host", "iam.example.com"),
                    ("scheme", "https"),
                ]))
                .with_app_data(APP, pairs(&[("raw", "True"), ("config", REFERENCE_ROUTE)])),
            );
            s.issued_relation_ids = 5;
            s.config
                .insert("recovery_email_template".into(), json!(RECOVERY_TEMPLATE));
            let mut credentials = credentials.clone();
            credentials.tracked = UNITS.iter().map(|u| (u.to_string(), 1)).collect();
            s.secrets.push(credentials);
            // Every unit read it with `get_content(refresh=True)`: each tracks revision 1.
            let mut cookie_secret = Secret::new(
                SecretOwner::Application(APP.into()),
                [("cookiesecret", cookie)],
            )
            .with_label("cookie_secret");
            cookie_secret.tracked = UNITS.iter().map(|u| (u.to_string(), 1)).collect();
            s.secrets.push(cookie_secret);
        })
        .expect("the reference's model");
    database
}

/// The reference's containers: the leader migrates and records it, then every unit's
/// `_holistic_handler` plans the layer, pushes the config and (re)starts its services.
fn reference_containers(w: &mut World, cookie: &str, dsn: &str) {
    let version = reference_version(&w.exec(0, &["kratos", "version"], &[]));
    w.exec(
        0,
        &["kratos", "migrate", "sql", "-e", "--yes"],
        &[("DSN", dsn)],
    );
    let record = json!(version).to_string();
    w.d.emulator
        .update_state(|s| {
            let peers = s.relation_mut(PEERS_ID).expect("peers");
            peers
                .app_data
                .get_mut(APP)
                .expect("peer bag")
                .insert(format!("migration_version_{DB_ID}"), record.clone());
        })
        .expect("record the migration");
    let layer = reference_layer(cookie, dsn);
    for (pod, unit) in UNITS.iter().enumerate() {
        if pod > 0 {
            // Every unit reads the version on pebble-ready (`WorkloadService.version`).
            w.exec(pod, &["kratos", "version"], &[]);
        }
        let pebble = w.pebble(pod);
        pebble.add_layer("kratos", &layer, true).expect("add layer");
        let options = PushOptions {
            make_dirs: true,
            ..PushOptions::default()
        };
        pebble
            .push(CONFIG_FILE, REFERENCE_CONFIG.as_bytes(), &options)
            .expect("push config");
        pebble
            .push(TEMPLATE, RECOVERY_TEMPLATE.as_bytes(), &options)
            .expect("push template");
        pebble.restart(&["kratos"]).expect("restart kratos");
        if *unit == LEADER {
            pebble.restart(&["courier"]).expect("restart courier");
        }
    }
}

/// Logs in through the public API's password method (API flow): the session token.
fn api_login(w: &World) -> String {
    let flow = w.get(0, &format!("{PUBLIC}/self-service/login/api"));
    assert_eq!(flow.status, 200, "{}", flow.body);
    let flow_id = flow.body["id"].as_str().expect("flow id");
    let r = w.http(
        0,
        "POST",
        &format!("{PUBLIC}/self-service/login?flow={flow_id}"),
        Some(json!({"method": "password", "identifier": EMAIL, "password": PASSWORD})),
        &BTreeMap::new(),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["session_token"].as_str().expect("token").to_string()
}

/// Logs in through the browser flow (as the login UI submits it): the cookies, among
/// them `ory_kratos_session`, which Kratos signs with the cookie secret.
fn browser_login(w: &World) -> BTreeMap<String, String> {
    let mut jar = BTreeMap::new();
    let flow = w.get(0, &format!("{PUBLIC}/self-service/login/browser"));
    assert_eq!(flow.status, 200, "{}", flow.body);
    jar.extend(flow.cookies);
    let csrf = flow.body["ui"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .and_then(|n| n["attributes"]["value"].as_str())
        .expect("csrf_token")
        .to_string();
    let flow_id = flow.body["id"].as_str().expect("flow id");
    let r = w.http(
        0,
        "POST",
        &format!("{PUBLIC}/self-service/login?flow={flow_id}"),
        Some(json!({"method": "password", "identifier": EMAIL, "password": PASSWORD, "csrf_token": csrf})),
        &jar,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    jar.extend(r.cookies);
    assert!(jar.contains_key("ory_kratos_session"), "{:?}", jar.keys());
    jar
}

/// `/sessions/whoami` on pod `pod` with the cookies or the token: the session's id.
fn whoami(
    w: &World,
    pod: usize,
    cookies: &BTreeMap<String, String>,
    token: Option<&str>,
) -> String {
    let r = w.http(
        pod,
        "GET",
        &format!("{PUBLIC}/sessions/whoami"),
        None,
        cookies,
        token,
    );
    assert_eq!(r.status, 200, "whoami on pod {pod}: {}", r.body);
    assert_eq!(r.body["identity"]["traits"]["email"], EMAIL);
    r.body["id"].as_str().expect("session id").to_string()
}

/// The hooks Juju 3.6 runs on a Kubernetes unit after `juju refresh`, with the new charm.
fn refresh(w: &mut World, unit: &str) -> Outcomes {
    let mut hooks = vec![
        EventSpec::hook("upgrade-charm"),
        EventSpec::hook("config-changed"),
    ];
    if unit != LEADER {
        hooks.push(EventSpec::hook("leader-settings-changed"));
    }
    hooks.push(EventSpec::hook("start"));
    hooks.push(EventSpec::pebble_ready("kratos"));
    let mut outcomes = Outcomes::default();
    for spec in hooks {
        let dispatched = w.d.emulator.dispatch(unit, &spec).expect("dispatch");
        assert!(
            dispatched.succeeded(),
            "{} on {unit} failed:\n{}",
            dispatched.event,
            dispatched.stderr
        );
        outcomes.0.push(dispatched);
    }
    outcomes
}

#[test]
fn a_refresh_from_the_python_charm_keeps_identities_sessions_and_the_migration() {
    let kratos = kratos_bin();
    let kratos_dir = kratos.parent().expect("bin dir").to_path_buf();
    let pg = Postgres::start();
    let workloads: Vec<Workload> = (0..2)
        .map(|_| Workload::start(&kratos_dir, &[("SQA_OPT_OUT", "true")]))
        .collect();
    let pg_addr: SocketAddr = ([127, 0, 0, 1], pg.port).into();
    let relays = workloads
        .iter()
        .map(|w| Relay::start(w.pebble.netns().expect("netns"), DB_PORT, pg_addr))
        .collect();
    let mut w = World {
        d: Deployment::with_workloads(workloads),
        _relays: relays,
        pg,
    };

    // ---- The reference charm's deployment (no dispatch of this charm).
    let cookie = rand_hex() + &rand_hex();
    let db_password = format!("pg-{}", rand_hex());
    let database = reference_model(&mut w, &cookie, &db_password);
    let dsn =
        format!("postgres://relation_id_{DB_ID}:{db_password}@127.0.0.1:{DB_PORT}/{database}");
    reference_containers(&mut w, &cookie, &dsn);
    w.wait_ready(0);
    w.wait_ready(1);

    // Under the reference: an identity with a password, its sessions, an administrator.
    let created = w.http(
        0,
        "POST",
        &format!("{ADMIN}/admin/identities"),
        Some(json!({
            "schema_id": "social_user_v0",
            "traits": {"email": EMAIL},
            "credentials": {"password": {"config": {"password": PASSWORD}}},
        })),
        &BTreeMap::new(),
        None,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let identity = created.body["id"].as_str().expect("id").to_string();
    let admin = w.http(
        0,
        "POST",
        &format!("{ADMIN}/admin/identities"),
        Some(json!({"schema_id": "admin_v0", "traits": {"email": "ops@example.com"}})),
        &BTreeMap::new(),
        None,
    );
    assert_eq!(admin.status, 201, "{}", admin.body);
    let admin = admin.body["id"].as_str().expect("id").to_string();
    let token = api_login(&w);
    let jar = browser_login(&w);
    let token_session = whoami(&w, 0, &BTreeMap::new(), Some(&token));
    let cookie_session = whoami(&w, 0, &jar, None);
    assert_eq!(whoami(&w, 1, &jar, None), cookie_session);
    let migrations = |w: &World| {
        w.pg.sql_on(&database, "SELECT count(*) FROM schema_migration")
    };
    let migrations_before = migrations(&w);
    let execs_before = [w.execs(0), w.execs(1)];
    assert_eq!(execs_before, [2, 1], "version and migrate; version");
    let secret_before =
        w.d.emulator
            .state()
            .expect("state")
            .secret("cookie_secret")
            .cloned();

    // ---- juju refresh kratos --path ./kratos_amd64.charm: the highest ordinal first.
    let mut outcomes = refresh(&mut w, FOLLOWER);
    outcomes.0.extend(refresh(&mut w, LEADER).0);
    w.wait_ready(0);
    w.wait_ready(1);
    for (pod, unit) in UNITS.iter().enumerate() {
        assert_eq!(
            w.d.status(unit),
            StatusRecord::new("active", ""),
            "{unit}:\n{}",
            tail(&w.d.workloads[pod].pebble.log())
        );
    }

    // No second migration: each pod ran one more command, the `kratos version` this
    // charm reads from a container it has not seen (a migration would be another).
    assert_eq!(
        [w.execs(0), w.execs(1)],
        [execs_before[0] + 1, execs_before[1] + 1]
    );
    assert_eq!(migrations(&w), migrations_before);

    // Nothing lost: the identity, both sessions on both units, the administrator.
    let r = w.get(0, &format!("{ADMIN}/admin/identities/{identity}"));
    assert_eq!((r.status, &r.body["traits"]["email"]), (200, &json!(EMAIL)));
    for pod in 0..2 {
        assert_eq!(
            whoami(&w, pod, &BTreeMap::new(), Some(&token)),
            token_session
        );
        assert_eq!(whoami(&w, pod, &jar, None), cookie_session);
    }
    assert_eq!(api_login(&w).len(), token.len(), "a new login works too");
    let updated = w.http(
        0,
        "PUT",
        &format!("{ADMIN}/admin/identities/{admin}"),
        Some(json!({"schema_id": "admin_v0", "state": "active",
                    "traits": {"email": "ops@example.com", "name": "Ops"}})),
        &BTreeMap::new(),
        None,
    );
    assert_eq!(updated.status, 200, "{}", updated.body);

    // The same cookie secret, read (not made again) and given to both services.
    let state = w.d.emulator.state().expect("state");
    let ours: Vec<&Secret> = state
        .secrets
        .iter()
        .filter(|s| s.owner == SecretOwner::Application(APP.into()))
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(Some(ours[0].clone()), secret_before);
    for pod in 0..2 {
        for service in ["kratos", "courier"] {
            assert_eq!(
                w.plan_env(pod, service)["SECRETS_COOKIE"],
                json!([cookie]).to_string()
            );
        }
    }

    // This charm's workload: its layer over the reference's, its config, the courier on
    // the leader only, the reference's templates gone.
    for pod in 0..2 {
        let plan = w.pebble(pod).plan().expect("plan");
        let ours = charm_kratos::workload::layer(&plan.services["kratos"].environment);
        assert_eq!(plan.services, ours.services);
        assert_eq!(plan.checks, ours.checks);
        assert!(!w
            .plan_env(pod, "kratos")
            .contains_key("COURIER_TEMPLATE_OVERRIDE_PATH"));
        let config = w.d.workloads[pod].file(CONFIG_FILE).expect("config");
        assert_ne!(config, REFERENCE_CONFIG);
        assert!(
            config.contains("base_url: https://iam.example.com/"),
            "{config}"
        );
        assert!(w.d.workloads[pod].file(TEMPLATE).is_none());
        assert_eq!(w.service(pod, "kratos"), "active");
    }
    assert_eq!(w.service(0, "courier"), "active");
    assert_eq!(w.service(1, "courier"), "inactive");

    // The relation data: this charm's shapes; every key the reference's consumers read is
    // still there; the library's copy of postgresql-k8s's bag is gone.
    let peers = w.bag(PEERS_ID, APP);
    assert_eq!(
        peers,
        pairs(&[(
            &format!("migration_version_{DB_ID}"),
            &json!("v1.3.1").to_string()
        )])
    );
    let request = w.bag(DB_ID, APP);
    assert_eq!(
        request.keys().collect::<Vec<_>>(),
        ["database", "extra-user-roles", "requested-secrets"]
    );
    assert_eq!(request["database"], database);
    assert_eq!(
        w.bag(DB_ID, LEADER).keys().collect::<Vec<_>>(),
        ["requested-secrets"]
    );
    assert!(w.bag(DB_ID, FOLLOWER).is_empty());
    let info = w.bag(INFO_ID, APP);
    let model = state.model_name.clone();
    assert_eq!(
        info.keys().collect::<Vec<_>>(),
        reference_info(&model).keys().collect::<Vec<_>>()
    );
    assert_eq!(
        info["login_browser_endpoint"],
        "https://iam.example.com/self-service/login/browser"
    );
    assert_eq!(info["mfa_enabled"], "True");
    let route = w.bag(ROUTE_ID, APP);
    assert_eq!(route["raw"], "True");
    let config: Value = serde_yaml_ng::from_str(&route["config"]).expect("YAML");
    let reference: Value = serde_yaml_ng::from_str(REFERENCE_ROUTE).expect("YAML");
    for router in reference["http"]["routers"]
        .as_object()
        .expect("routers")
        .keys()
    {
        assert!(
            config["http"]["routers"].get(router).is_some(),
            "Traefik would lose router {router}: {config}"
        );
    }

    // No secret reached a hook's output, a status or the Juju log.
    let mut seen: String = outcomes
        .0
        .iter()
        .map(|d| format!("{}{}", d.stdout, d.stderr))
        .collect();
    for unit in state.units.values() {
        for log in &unit.logs {
            seen.push_str(&log.message);
        }
        seen.push_str(&unit.status.message);
    }
    for secret in [&cookie, &db_password] {
        assert!(!seen.contains(secret.as_str()), "a secret leaked");
    }

    rotate_the_cookie_secret(
        &mut w,
        &cookie,
        &jar,
        &cookie_session,
        &token,
        &token_session,
    );
}

/// Runs `rotate-cookie-secret` on the leader with `params`, then the peer relation-changed
/// Juju runs on the follower (the leader changed the peer application data); both pods
/// ready again.
fn rotate(w: &mut World, params: Value) {
    let params = params.as_object().cloned().unwrap_or_default();
    let outcome =
        w.d.emulator
            .run_action(LEADER, "rotate-cookie-secret", params)
            .expect("action");
    assert!(
        outcome.results.contains_key("previous-kept"),
        "{:?} {:?}",
        outcome.status,
        outcome.message
    );
    let peers =
        w.d.emulator
            .state()
            .expect("state")
            .relations
            .iter()
            .find(|r| r.id == PEERS_ID)
            .cloned()
            .expect("peers");
    let dispatched =
        w.d.emulator
            .dispatch(FOLLOWER, &EventSpec::relation("changed", &peers, None))
            .expect("dispatch");
    assert!(dispatched.succeeded(), "{}", dispatched.stderr);
    w.wait_ready(0);
    w.wait_ready(1);
}

/// After the refresh, the operator rotates the cookie secret: by default the sessions
/// signed with the old secret stay valid on both units (real Kratos accepts the previous
/// secret); without keeping it, browser sessions signed with it end, API tokens (not
/// signed with it) do not.
fn rotate_the_cookie_secret(
    w: &mut World,
    cookie: &str,
    jar: &BTreeMap<String, String>,
    cookie_session: &str,
    token: &str,
    token_session: &str,
) {
    rotate(w, json!({}));
    let cookies = |w: &World, pod: usize| -> Vec<String> {
        serde_json::from_str(&w.plan_env(pod, "kratos")["SECRETS_COOKIE"]).expect("JSON list")
    };
    for pod in 0..2 {
        let list = cookies(w, pod);
        assert_eq!(list.len(), 2, "{list:?}");
        assert_eq!(list[1], cookie, "the previous secret is still accepted");
        assert_eq!(whoami(w, pod, jar, None), cookie_session);
    }
    // A login now is signed with the new secret, and every unit accepts it.
    let new_jar = browser_login(w);
    let new_session = whoami(w, 0, &new_jar, None);
    assert_eq!(whoami(w, 1, &new_jar, None), new_session);

    rotate(w, json!({"keep-previous": false}));
    for pod in 0..2 {
        assert_eq!(cookies(w, pod).len(), 1);
        for old in [jar, &new_jar] {
            let r = w.http(
                pod,
                "GET",
                &format!("{PUBLIC}/sessions/whoami"),
                None,
                old,
                None,
            );
            assert_eq!(r.status, 401, "an old cookie on pod {pod}: {}", r.body);
        }
        assert_eq!(whoami(w, pod, &BTreeMap::new(), Some(token)), token_session);
    }
}
