//! End to end: the compiled charm under the Juju emulator, each unit in its own pod (a
//! network namespace shared by the unit's charm dispatches and a real Pebble whose
//! container files live in a private mount namespace), Pebble running the real Kratos
//! (v1.3.1, built by scripts/install-kratos.sh) with the charm's rendered config, on a
//! real PostgreSQL (scripts/pg-test-server.sh) that the test provisions as postgresql-k8s
//! would. Nothing of Kratos is stubbed: migrations, the APIs, the actions' effects and
//! logins are the real thing.
//!
//! One deployment serves the whole story (Kratos start-up and migration dominate the
//! cost); its steps run in order and each checks what it changed.
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

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{in_netns, kratos_bin, ok, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops::pebble::Pebble;
use juju_rs_ops_testing::state::{Relation, Secret, SecretOwner};
use juju_rs_ops_testing::{ActionOutcome, ActionStatus};
use serde_json::{json, Map, Value};

const LEADER: &str = "kratos/0";
const FOLLOWER: &str = "kratos/1";
/// Where postgresql-k8s's service answers, as seen from a pod.
const DB_PORT: u16 = 5432;
const ADMIN: &str = "http://127.0.0.1:4434";
const PUBLIC: &str = "http://127.0.0.1:4433";
const LOGIN_UI: &str = "http://login-ui.test/ui";
const FIRST_PASSWORD: &str = "First-Pa55word-e2e-admin";
const SECOND_PASSWORD: &str = "Second-Pa55word-e2e-admin";
const NOT_READY: &str = "Service is not ready";

/// The pods, the database and the emulator, torn down in reverse order on drop.
struct Story {
    d: Deployment,
    _relays: Vec<Relay>,
    pg: Postgres,
    /// Every secret value the story hands out: none may appear in any output.
    secrets: Vec<String>,
    /// Every action outcome and status seen, for the leak check.
    transcript: Vec<String>,
}

impl Story {
    fn netns(&self, unit: usize) -> String {
        self.d.workloads[unit]
            .pebble
            .netns()
            .expect("pods have a network namespace")
            .to_string()
    }

    fn status(&mut self, unit: &str) -> (String, String) {
        let s = self.d.status(unit);
        self.transcript.push(format!("{s:?}"));
        (s.status, s.message)
    }

    fn action(&mut self, unit: &str, name: &str, params: Value) -> ActionOutcome {
        let Value::Object(params) = params else {
            panic!("params must be an object")
        };
        let outcome = self
            .d
            .emulator
            .run_action(unit, name, params)
            .expect("run action");
        // No dispatch: Juju refused the params before the charm ran.
        let stderr = outcome.dispatch.as_ref().map_or("", |d| d.stderr.as_str());
        assert!(
            outcome.dispatch.as_ref().is_none_or(|d| d.succeeded()),
            "{name} crashed the hook: {stderr}"
        );
        self.transcript.push(format!(
            "{:?} {:?} {:?} {:?} {stderr}",
            outcome.status, outcome.results, outcome.message, outcome.logs
        ));
        outcome
    }

    fn completed(&mut self, unit: &str, name: &str, params: Value) -> Map<String, Value> {
        let outcome = self.action(unit, name, params);
        assert_eq!(
            outcome.status,
            ActionStatus::Completed,
            "{name} failed: {:?}",
            outcome.message
        );
        outcome.results
    }

    fn failed(&mut self, unit: &str, name: &str, params: Value) -> String {
        let outcome = self.action(unit, name, params);
        assert_eq!(
            outcome.status,
            ActionStatus::Failed,
            "{name} succeeded: {:?}",
            outcome.results
        );
        outcome.message.unwrap_or_default()
    }

    /// An HTTP call from inside pod `unit`: the status and the JSON body (or the text).
    fn http(&self, unit: usize, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        http_in(&self.netns(unit), method, url, body, None)
    }

    /// Waits until the Kratos of pod `unit` answers ready on its admin API.
    fn wait_ready(&self, unit: usize) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (status, body) =
                self.http(unit, "GET", &format!("{ADMIN}/admin/health/ready"), None);
            if status == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Kratos in pod {unit} not ready ({status} {body}):\n{}",
                tail(&self.d.workloads[unit].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Logs in through the public API's password method: the session token, or the
    /// refusal's status.
    fn login(&self, identifier: &str, password: &str) -> Result<String, u16> {
        let (status, flow) = self.http(0, "GET", &format!("{PUBLIC}/self-service/login/api"), None);
        assert_eq!(status, 200, "{flow}");
        let flow_id = flow["id"].as_str().expect("flow id");
        let (status, body) = self.http(
            0,
            "POST",
            &format!("{PUBLIC}/self-service/login?flow={flow_id}"),
            Some(json!({"method": "password", "identifier": identifier, "password": password})),
        );
        match status {
            200 => Ok(body["session_token"].as_str().expect("token").to_string()),
            other => Err(other),
        }
    }

    /// Creates an identity with imported OIDC links, straight through the admin API.
    fn create_oidc_identity(&self, email: &str, links: &[(&str, &str)]) -> String {
        let providers: Vec<Value> = links
            .iter()
            .map(|(provider, subject)| json!({"provider": provider, "subject": subject}))
            .collect();
        let (status, body) = self.http(
            0,
            "POST",
            &format!("{ADMIN}/admin/identities"),
            Some(json!({
                "schema_id": "social_user_v0",
                "traits": {"email": email},
                "credentials": {"oidc": {"config": {"providers": providers}}}
            })),
        );
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_string()
    }

    /// Plays postgresql-k8s answering the leader's request on relation `db_id`: a role
    /// for the relation (a superuser only if `superuser`, which the charm asks for), the
    /// requested database, the credentials in a secret granted over the relation. Returns
    /// the role and the database.
    fn provide_database(&mut self, db_id: u32, superuser: bool) -> (String, String) {
        let request = self
            .d
            .emulator
            .state()
            .expect("state")
            .relation(db_id)
            .expect("db relation")
            .app_bag(APP);
        let database = request["database"].clone();
        assert_eq!(request["extra-user-roles"], "SUPERUSER");
        let role = format!("relation_id_{db_id}");
        let password = format!("pg-{}", rand_hex());
        self.secrets.push(password.clone());
        let rights = if superuser { "SUPERUSER" } else { "" };
        self.pg.sql(&format!(
            "CREATE ROLE {role} LOGIN {rights} PASSWORD '{password}'"
        ));
        let exists = self.pg.sql(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{database}'"
        ));
        if exists == "0" {
            self.pg.sql(&format!("CREATE DATABASE \"{database}\""));
        }
        let credentials = Secret::new(
            SecretOwner::Application("postgresql-k8s".into()),
            [("username", role.as_str()), ("password", password.as_str())],
        )
        .with_grant(db_id, APP);
        let secret_user = credentials.id.clone();
        self.d
            .emulator
            .update_state(|st| st.secrets.push(credentials))
            .expect("add credentials");
        ok(self
            .d
            .emulator
            .set_remote_app_data(
                db_id,
                [
                    ("endpoints", format!("127.0.0.1:{DB_PORT}")),
                    ("secret-user", secret_user),
                    ("database", database.clone()),
                    ("version", "15".into()),
                ],
            )
            .expect("database created"));
        (role, database)
    }

    /// The workload version the peer application databag records the database of
    /// relation `db_id` as migrated to (the charm JSON-encodes it, as the reference does).
    fn migrated_version(&self, db_id: u32) -> Option<String> {
        let state = self.d.emulator.state().expect("state");
        let peers = state
            .relations
            .iter()
            .find(|r| r.endpoint == "kratos-peers")
            .expect("peer relation")
            .app_bag(APP);
        peers
            .get(&format!("migration_version_{db_id}"))
            .map(|v| serde_json::from_str(v).expect("a JSON string"))
    }

    /// How many commands the charm has exec'd in pod `unit`'s container.
    fn execs(&self, unit: usize) -> usize {
        let out = self.d.workloads[unit]
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
}

fn http_in(
    netns: &str,
    method: &str,
    url: &str,
    body: Option<Value>,
    token: Option<String>,
) -> (u16, Value) {
    let (method, url) = (method.to_string(), url.to_string());
    in_netns(netns, move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let request = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(url.as_str())
            .header("Accept", "application/json");
        let request = match &token {
            Some(token) => request.header("X-Session-Token", token),
            None => request,
        };
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
                let status = response.status().as_u16();
                let text = response.body_mut().read_to_string().unwrap_or_default();
                let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                (status, value)
            }
            Err(e) => (0, Value::String(e.to_string())),
        }
    })
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn text(results: &Map<String, Value>, key: &str) -> String {
    results
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {key} in {results:?}"))
        .to_string()
}

/// Checks recovery results and uses the code as the user would: Kratos takes it.
fn assert_recovery_works(story: &Story, results: &Map<String, Value>) {
    let link = text(results, "recovery-link");
    let flow = link
        .strip_prefix(&format!("{LOGIN_UI}/recovery?flow="))
        .unwrap_or_else(|| panic!("recovery link {link} is not the login UI's"));
    let code = text(results, "recovery-code");
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    let (status, body) = story.http(
        0,
        "POST",
        &format!("{PUBLIC}/self-service/recovery?flow={flow}"),
        Some(json!({"method": "code", "code": code})),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["id"], "browser_location_change_required",
        "{body}"
    );
}

#[test]
fn deploy_migrate_serve_reconfigure_act_and_scale_against_real_kratos_and_postgresql() {
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
    let mut s = Story {
        d: Deployment::with_workloads(workloads),
        _relays: relays,
        pg,
        secrets: Vec::new(),
        transcript: Vec::new(),
    };

    // juju deploy kratos: blocked on the database; actions say the service is not ready.
    ok(s.d.emulator.deploy(1).expect("deploy"));
    assert_eq!(
        s.status(LEADER),
        ("blocked".into(), "Missing integration pg-database".into())
    );
    let early = s.failed(LEADER, "get-identity", json!({"email": "a@example.com"}));
    assert!(early.starts_with(NOT_READY), "{early}");
    let early = s.failed(LEADER, "run-migration", json!({}));
    assert!(early.contains("pg-database"), "{early}");

    // juju integrate kratos identity-platform-login-ui-operator: its page URLs.
    let pages = [
        "login",
        "error",
        "settings",
        "recovery",
        "verification",
        "registration",
        "webauthn_settings",
        "account_linking_settings",
    ];
    let ui = Relation::new(0, "ui-endpoint-info", "login_ui_endpoints", "login-ui")
        .with_remote_unit("login-ui/0", Vec::<(String, String)>::new())
        .with_remote_app_data(pages.map(|p| {
            (
                format!("{p}_url"),
                format!("{LOGIN_UI}/{}", p.replace('_', "-")),
            )
        }));
    ok(s.d.emulator.add_relation(ui).expect("integrate login UI").1);

    // juju integrate kratos postgresql-k8s: the leader asks for its database; the test
    // plays postgresql-k8s (a role and a database, credentials in a granted secret), but
    // at first without the SUPERUSER role the charm asked for.
    let db = Relation::new(0, "pg-database", "postgresql_client", "postgresql-k8s")
        .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new());
    let (db_id, outcomes) = s.d.emulator.add_relation(db).expect("integrate database");
    ok(outcomes);
    assert_eq!(
        s.status(LEADER),
        ("waiting".into(), "Waiting for database creation".into())
    );
    let (role, database) = s.provide_database(db_id, false);

    // The real migration fails (no rights on the schema): blocked, Kratos not started.
    let (status, message) = s.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(message.contains("run-migration"), "{message}");
    assert_eq!(s.d.workloads[0].service("kratos"), "missing");
    let owned_tables = |s: &Story| {
        s.pg.sql_on(
            &database,
            &format!("SELECT count(*) FROM pg_tables WHERE tableowner = '{role}'"),
        )
        .parse::<u32>()
        .expect("a count")
    };
    assert_eq!(owned_tables(&s), 0);
    let refused = s.failed(LEADER, "run-migration", json!({"timeout": 60}));
    assert!(
        refused.starts_with("Database migration failed: ")
            && refused.contains("permission denied for schema public"),
        "{refused}"
    );

    // The operator fixes the database and runs run-migration: migrated, served, active.
    s.pg.sql(&format!("ALTER ROLE {role} SUPERUSER"));
    let execs_before = s.execs(0);
    let outcome = s.action(LEADER, "run-migration", json!({"timeout": 60}));
    assert_eq!(
        outcome.status,
        ActionStatus::Completed,
        "{:?}",
        outcome.message
    );
    assert!(outcome
        .logs
        .iter()
        .any(|l| l == "Successfully migrated the database"));
    assert!(owned_tables(&s) > 10, "Kratos's tables exist");
    // The action converged the unit itself: Kratos started, no second migration.
    assert_eq!(s.execs(0), execs_before + 1, "one migration, by the action");
    assert_eq!(s.d.workloads[0].service("kratos"), "active");
    s.wait_ready(0);
    ok(s.d.emulator.update_status().expect("update-status"));
    assert_eq!(s.status(LEADER), ("active".into(), String::new()));
    let state = s.d.emulator.state().expect("state");
    let version = state.units[LEADER].workload_version.clone();
    assert!(version.starts_with("v1."), "workload version {version}");
    assert_eq!(outcome.results["version"], json!(version));
    assert_eq!(s.migrated_version(db_id), Some(version.clone()));
    let (status, identities) = s.http(0, "GET", &format!("{ADMIN}/admin/identities"), None);
    assert_eq!((status, identities), (200, json!([])));
    let (status, _) = s.http(0, "GET", &format!("{PUBLIC}/health/alive"), None);
    assert_eq!(status, 200);
    let (status, flow) = s.http(
        0,
        "GET",
        &format!("{PUBLIC}/self-service/registration/api"),
        None,
    );
    assert_eq!(status, 200, "{flow}");
    assert_eq!(s.d.workloads[0].service("courier"), "active");

    // juju config kratos log_level=debug enforce_mfa=true: a new config file, Kratos
    // restarted into it and ready again; the debug log shows the new level is live.
    let before = s.d.workloads[0].pebble.log().len();
    ok(s.d
        .emulator
        .set_config([("log_level", json!("debug")), ("enforce_mfa", json!(true))])
        .expect("config"));
    let config = s.d.workloads[0]
        .file("/etc/config/kratos/kratos.yaml")
        .expect("kratos.yaml");
    assert!(
        config.contains("required_aal: highest_available"),
        "{config}"
    );
    s.wait_ready(0);
    ok(s.d.emulator.update_status().expect("update-status"));
    assert_eq!(s.status(LEADER), ("active".into(), String::new()));
    let plan = s.d.workloads[0].pebble.client().plan().expect("plan");
    let env = &plan.services["kratos"].environment;
    assert_eq!(env["LOG_LEVEL"], "debug");
    assert_eq!(env["SESSION_WHOAMI_REQUIRED_AAL"], "highest_available");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !s.d.workloads[0].pebble.log()[before..].contains("\"level\":\"debug\"") {
        assert!(
            Instant::now() < deadline,
            "no debug logs after log_level=debug"
        );
        std::thread::sleep(Duration::from_millis(200));
        let _ = s.http(0, "GET", &format!("{ADMIN}/admin/identities"), None);
    }
    ok(s.d
        .emulator
        .set_config([("log_level", json!("info")), ("enforce_mfa", json!(false))])
        .expect("config"));
    s.wait_ready(0);

    // create-admin-account with a password from a user secret.
    s.secrets
        .extend([FIRST_PASSWORD.into(), SECOND_PASSWORD.into()]);
    let first =
        Secret::user_secret("admin-password", [("password", FIRST_PASSWORD)]).with_user_grant(APP);
    let first_id = first.id.clone();
    let ungranted = Secret::user_secret("not-granted", [("password", SECOND_PASSWORD)]);
    let ungranted_id = ungranted.id.clone();
    let second =
        Secret::user_secret("new-password", [("password", SECOND_PASSWORD)]).with_user_grant(APP);
    let second_id = second.id.clone();
    s.d.emulator
        .update_state(|st| st.secrets.extend([first, ungranted, second]))
        .expect("user secrets");
    let created = s.completed(
        LEADER,
        "create-admin-account",
        json!({"username": "admin1", "email": "admin1@example.com", "name": "Ada Admin",
               "password-secret-id": first_id}),
    );
    let admin1 = text(&created, "identity-id");
    assert!(!created.contains_key("recovery-code"));
    let session = s
        .login("admin1", FIRST_PASSWORD)
        .expect("log in with the secret's password");

    // The secret's failures: not granted, not there; a duplicate account.
    let denied = s.failed(
        LEADER,
        "create-admin-account",
        json!({"username": "x", "email": "x@example.com", "password-secret-id": ungranted_id}),
    );
    assert!(denied.contains("grant"), "{denied}");
    let missing = s.failed(
        LEADER,
        "create-admin-account",
        json!({"username": "x", "email": "x@example.com",
               "password-secret-id": "secret:cvbc4ofmp25c77bmdjd0"}),
    );
    assert!(missing.contains("not found"), "{missing}");
    let dup = s.failed(
        LEADER,
        "create-admin-account",
        json!({"username": "admin1", "email": "other@example.com"}),
    );
    assert!(dup.starts_with("The account already exists"), "{dup}");

    // create-admin-account without a password: a recovery code and link that work.
    let created = s.completed(
        LEADER,
        "create-admin-account",
        json!({"username": "admin2", "email": "admin2@example.com"}),
    );
    let admin2 = text(&created, "identity-id");
    assert_recovery_works(&s, &created);

    // get-identity by id and by email; both, neither, not found.
    let by_id = s.completed(LEADER, "get-identity", json!({"identity-id": admin1}));
    assert_eq!(text(&by_id, "schema-id"), "admin_v0");
    assert_eq!(by_id["traits"]["name"], "Ada Admin");
    let by_email = s.completed(
        LEADER,
        "get-identity",
        json!({"email": "admin1@example.com"}),
    );
    assert_eq!(by_email, by_id);
    let both = s.failed(
        LEADER,
        "get-identity",
        json!({"identity-id": admin1, "email": "admin1@example.com"}),
    );
    // Juju checks params against actions.yaml first (the charm never runs for these).
    let one_of = "validation failed: (root) : must validate one and only one schema (oneOf)";
    assert_eq!(both, one_of);
    let neither = s.failed(LEADER, "get-identity", json!({}));
    assert_eq!(neither, one_of);
    let typo = s.failed(
        LEADER,
        "get-identity",
        json!({"mail": "admin1@example.com"}),
    );
    assert!(
        typo.starts_with(
            r#"validation failed: (root) : additional property "mail" is not allowed"#
        ),
        "{typo}"
    );
    let nobody = s.failed(
        LEADER,
        "get-identity",
        json!({"email": "nobody@example.com"}),
    );
    assert_eq!(nobody, "Identity not found for email 'nobody@example.com'");

    // reset-password: from a secret (the new one logs in), then by recovery code.
    let reset = s.completed(
        LEADER,
        "reset-password",
        json!({"email": "admin1@example.com", "password-secret-id": second_id}),
    );
    assert_eq!(text(&reset, "id"), admin1);
    assert_eq!(s.login("admin1", FIRST_PASSWORD), Err(400));
    s.login("admin1", SECOND_PASSWORD)
        .expect("log in with the new password");
    let recovery = s.completed(LEADER, "reset-password", json!({"identity-id": admin2}));
    assert_eq!(text(&recovery, "identity-id"), admin2);
    assert_recovery_works(&s, &recovery);

    // invalidate-identity-sessions: the logins' sessions end.
    let done = s.completed(
        LEADER,
        "invalidate-identity-sessions",
        json!({"identity-id": admin1}),
    );
    assert_eq!(
        done["sessions-invalidated"], "true",
        "action-set values are strings"
    );
    let (status, _) = http_in(
        &s.netns(0),
        "GET",
        &format!("{PUBLIC}/sessions/whoami"),
        None,
        Some(session),
    );
    assert_eq!(status, 401, "the old session no longer works");

    // reset-identity-mfa: an unsupported type (Juju refuses it); nothing to reset.
    let bad = s.failed(
        LEADER,
        "reset-identity-mfa",
        json!({"identity-id": admin1, "mfa-type": "password"}),
    );
    assert_eq!(
        bad,
        "validation failed: (root).mfa-type : must be one of the following: \"totp\", \"lookup_secret\", \"webauthn\""
    );
    let none = s.failed(
        LEADER,
        "reset-identity-mfa",
        json!({"email": "admin1@example.com", "mfa-type": "totp"}),
    );
    assert_eq!(none, format!("Identity {admin1} has no totp credentials"));

    // list-oidc-accounts and unlink-oidc-account on an identity that signed in with two
    // providers.
    let social = s.create_oidc_identity(
        "social@example.com",
        &[("github", "1234"), ("google", "abcd")],
    );
    let listed = s.completed(LEADER, "list-oidc-accounts", json!({"identity-id": social}));
    let mut linked: Vec<String> = text(&listed, "identifiers")
        .lines()
        .map(String::from)
        .collect();
    linked.sort();
    assert_eq!(linked, ["github:1234", "google:abcd"]);
    let unlinked = s.completed(
        LEADER,
        "unlink-oidc-account",
        json!({"identity-id": social, "credential-id": "github:1234"}),
    );
    assert_eq!(text(&unlinked, "credential-id"), "github:1234");
    let listed = s.completed(LEADER, "list-oidc-accounts", json!({"identity-id": social}));
    assert_eq!(text(&listed, "identifiers"), "google:abcd");

    // An identifier matching two identities: the actions refuse to guess.
    s.completed(
        LEADER,
        "create-admin-account",
        json!({"username": "dup:x@example.com", "email": "dup-a@example.com"}),
    );
    s.create_oidc_identity("dup-b@example.com", &[("dup", "x@example.com")]);
    let many = s.failed(
        LEADER,
        "delete-identity",
        json!({"email": "dup:x@example.com"}),
    );
    assert!(many.starts_with("Multiple identities found"), "{many}");

    // delete-identity, then it is gone.
    let deleted = s.completed(
        LEADER,
        "delete-identity",
        json!({"email": "admin2@example.com"}),
    );
    assert_eq!(text(&deleted, "id"), admin2);
    let gone = s.failed(LEADER, "get-identity", json!({"identity-id": admin2}));
    assert_eq!(gone, format!("Identity {admin2} does not exist"));

    // juju remove-relation kratos postgresql-k8s: Kratos stops. Integrating again (a new
    // relation and role, the same database) migrates in the hook, by itself, and serves
    // the identities made before.
    ok(s.d
        .emulator
        .remove_relation(db_id)
        .expect("remove relation"));
    assert_eq!(
        s.status(LEADER),
        ("blocked".into(), "Missing integration pg-database".into())
    );
    assert_eq!(s.d.workloads[0].service("kratos"), "inactive");
    let execs_before = s.execs(0);
    let db = Relation::new(0, "pg-database", "postgresql_client", "postgresql-k8s")
        .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new());
    let (db_id, outcomes) = s.d.emulator.add_relation(db).expect("integrate again");
    ok(outcomes);
    s.provide_database(db_id, true);
    assert_eq!(s.execs(0), execs_before + 1, "one migration, in the hook");
    s.wait_ready(0);
    ok(s.d.emulator.update_status().expect("update-status"));
    assert_eq!(s.status(LEADER), ("active".into(), String::new()));
    assert_eq!(s.migrated_version(db_id), Some(version.clone()));
    let kept = s.completed(
        LEADER,
        "get-identity",
        json!({"email": "admin1@example.com"}),
    );
    assert_eq!(kept["id"], json!(admin1));

    // juju add-unit kratos: the new unit runs Kratos on the migrated database without
    // migrating (its only exec is `kratos version`), and no courier.
    let (unit, outcomes) = s.d.emulator.add_unit().expect("add unit");
    assert_eq!(unit, FOLLOWER);
    ok(outcomes);
    s.wait_ready(1);
    ok(s.d.emulator.update_status().expect("update-status"));
    assert_eq!(s.status(FOLLOWER), ("active".into(), String::new()));
    assert_eq!(s.status(LEADER), ("active".into(), String::new()));
    assert_eq!(s.execs(1), 1, "the follower ran only `kratos version`");
    assert_eq!(s.d.workloads[1].service("courier"), "inactive");
    let from_follower = s.completed(FOLLOWER, "get-identity", json!({"identity-id": admin1}));
    assert_eq!(from_follower["id"], json!(admin1));
    let refused = s.failed(FOLLOWER, "run-migration", json!({}));
    assert!(refused.starts_with("Only the leader unit"), "{refused}");

    // No secret reached a status, an action's output, a hook's stderr or the Juju log.
    let state = s.d.emulator.state().expect("state");
    let mut seen = s.transcript.join("\n");
    for unit in state.units.values() {
        for log in &unit.logs {
            seen.push_str(&log.message);
        }
        seen.push_str(&unit.status.message);
    }
    for secret in &s.secrets {
        assert!(!seen.contains(secret.as_str()), "a secret leaked");
    }
}

fn rand_hex() -> String {
    format!("{:016x}", rand::random::<u64>())
}
