//! Surviving faults of the platform (issue 14), each row of the fault table against real
//! components: the compiled charm under the Juju emulator in its pod (a network namespace
//! with a real Pebble running the real Kratos v1.3.1), on a real PostgreSQL
//! (scripts/pg-test-server.sh) and, for the Kubernetes rows, a real kube-apiserver
//! (tests/common/kube.rs). Each test injects one fault and checks: no hook crash; a status
//! naming the fault and the fix; no data lost; the last good Kratos kept running where it
//! can; convergence once the fault clears.
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

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::kube::{KubeCluster, TRUSTED};
use common::{in_netns, kratos_bin, rand_hex, tail, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops::pebble::Pebble;
use juju_rs_ops_testing::state::{Relation, Secret, SecretOwner};
use juju_rs_ops_testing::{ActionStatus, Outcomes};
use serde_json::{json, Value};

const LEADER: &str = "kratos/0";
/// The model's name, and so its namespace.
const NS: &str = "identity";
/// Where postgresql-k8s's service answers, as seen from the pod.
const DB_PORT: u16 = 5432;
const ADMIN: &str = "http://127.0.0.1:4434";

/// The pod, the database, the cluster (for the Kubernetes rows) and the emulator.
struct Platform {
    d: Deployment,
    /// The relay of the database into the pod.
    _db_relay: Relay,
    /// The relay of the API server into the pod (None while the test cut it).
    api_relay: Option<Relay>,
    pg: Postgres,
    kube: Option<(KubeCluster, tempfile::TempDir)>,
    db_id: u32,
    /// The database's name, the role and its password (the last, for the leak check).
    database: String,
    role: String,
    password: String,
    /// The id of the credentials secret.
    credentials: String,
}

impl Platform {
    /// The pod with real Kratos on real PostgreSQL, deployed and related to the database
    /// (the provider has not answered yet); with a real API server when `kube`.
    fn deployed(kube: bool) -> Platform {
        let kratos = kratos_bin();
        let kratos_dir = kratos.parent().expect("bin dir").to_path_buf();
        let pg = Postgres::start();
        let workload = Workload::start(&kratos_dir, &[("SQA_OPT_OUT", "true")]);
        let netns = workload.pebble.netns().expect("netns").to_string();
        let db_relay = Relay::start(&netns, DB_PORT, SocketAddr::from(([127, 0, 0, 1], pg.port)));
        let mut d = Deployment::with_workloads(vec![workload]);
        let mut api_relay = None;
        let kube = kube.then(|| {
            let cluster = KubeCluster::start();
            cluster.create_namespace(NS);
            cluster.create_statefulset(NS, APP);
            cluster.grant_trusted(NS);
            let sa = cluster.service_account_dir(TRUSTED, NS);
            let (host, port) = cluster.api_server_host_port();
            api_relay = Some(Relay::start(
                &netns,
                port,
                SocketAddr::from(([127, 0, 0, 1], port)),
            ));
            d.emulator
                .update_state(|st| st.model_name = NS.to_string())
                .expect("model name");
            d.emulator
                .set_unit_env(
                    LEADER,
                    "CHARM_SERVICE_ACCOUNT_DIR",
                    &sa.path().display().to_string(),
                )
                .set_unit_env(LEADER, "KUBERNETES_SERVICE_HOST", &host)
                .set_unit_env(LEADER, "KUBERNETES_SERVICE_PORT", &port.to_string());
            (cluster, sa)
        });
        common::ok(d.emulator.deploy(1).expect("deploy"));
        let db = Relation::new(0, "pg-database", "postgresql_client", "postgresql-k8s")
            .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new());
        let (db_id, outcomes) = d.emulator.add_relation(db).expect("integrate database");
        common::ok(outcomes);
        let database = d
            .emulator
            .state()
            .expect("state")
            .relation(db_id)
            .expect("db")
            .app_bag(APP)["database"]
            .clone();
        Platform {
            d,
            _db_relay: db_relay,
            api_relay,
            pg,
            kube,
            db_id,
            database,
            role: format!("relation_id_{db_id}"),
            password: format!("pg-{}", rand_hex()),
            credentials: String::new(),
        }
    }

    /// Deployed, the database answered, Kratos migrated, ready and the unit active.
    fn active(kube: bool) -> Platform {
        let mut p = Platform::deployed(kube);
        p.create_role_and_database();
        let outcomes = p.answer();
        p.ok(outcomes);
        p.wait_ready();
        if p.kube.is_some() {
            p.roll_out();
        }
        p.assert_active();
        p
    }

    /// Plays postgresql-k8s's first half: the role (SUPERUSER, as the charm asks) and the
    /// database, and the credentials secret granted over the relation.
    fn create_role_and_database(&mut self) {
        self.pg.sql(&format!(
            "CREATE ROLE {} LOGIN SUPERUSER PASSWORD '{}'",
            self.role, self.password
        ));
        self.pg
            .sql(&format!("CREATE DATABASE \"{}\"", self.database));
        let credentials = Secret::new(
            SecretOwner::Application("postgresql-k8s".into()),
            [
                ("username", self.role.as_str()),
                ("password", self.password.as_str()),
            ],
        )
        .with_grant(self.db_id, APP);
        self.credentials = credentials.id.clone();
        self.d
            .emulator
            .update_state(|st| st.secrets.push(credentials))
            .expect("add credentials");
    }

    /// Plays postgresql-k8s's second half: its application bag (the hooks it runs).
    fn answer(&mut self) -> Outcomes {
        self.d
            .emulator
            .set_remote_app_data(
                self.db_id,
                [
                    ("endpoints", format!("127.0.0.1:{DB_PORT}")),
                    ("secret-user", self.credentials.clone()),
                    ("database", self.database.clone()),
                    ("version", "15".into()),
                ],
            )
            .expect("database created")
    }

    /// No hook failed, and no hook's output nor status holds the database password.
    fn ok(&self, outcomes: Outcomes) -> Outcomes {
        for d in &outcomes.0 {
            assert!(
                !d.stdout.contains(&self.password) && !d.stderr.contains(&self.password),
                "{} leaked the password",
                d.event
            );
        }
        common::ok(outcomes)
    }

    /// A full hook on the unit (config-changed: Juju runs one for many reasons; the
    /// tests inject faults where Juju would run no particular hook).
    fn converge(&mut self) -> (String, String) {
        let outcomes = self
            .d
            .emulator
            .on_every_unit("config-changed")
            .expect("hook");
        self.ok(outcomes);
        self.status()
    }

    fn update_status(&mut self) -> (String, String) {
        let outcomes = self.d.emulator.update_status().expect("update-status");
        self.ok(outcomes);
        self.status()
    }

    fn status(&self) -> (String, String) {
        let s = self.d.status(LEADER);
        assert!(!s.message.contains(&self.password), "{s:?}");
        (s.status, s.message)
    }

    fn assert_active(&mut self) {
        assert_eq!(self.update_status(), ("active".into(), String::new()));
    }

    fn netns(&self) -> String {
        self.d.workloads[0]
            .pebble
            .netns()
            .expect("netns")
            .to_string()
    }

    /// Kratos's readiness from inside the pod: the status code and body.
    fn ready(&self) -> (u16, String) {
        http(&self.netns(), "GET", &format!("{ADMIN}/admin/health/ready"))
    }

    fn wait_ready(&self) {
        self.wait_for("Kratos ready", || self.ready().0 == 200);
    }

    fn wait_for(&self, what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !check() {
            assert!(
                Instant::now() < deadline,
                "{what}: not within 90 s:\n{}",
                tail(&self.d.workloads[0].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Pebble's changes in the container (one line each).
    fn changes(&self) -> Vec<String> {
        let out = self.d.workloads[0]
            .pebble
            .pebble_command()
            .args(["changes", "--abs-time"])
            .output()
            .expect("pebble changes");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect()
    }

    /// How many times the charm ran `kratos migrate sql`: its execs in the container but
    /// the one `kratos version` (read once for the life of the container; the cleanup
    /// is off).
    fn migrations(&self) -> usize {
        self.changes()
            .iter()
            .filter(|l| l.contains("Execute command"))
            .count()
            .saturating_sub(1)
    }

    /// The rows of Kratos's migration table (pop's `schema_migration`).
    fn schema_migrations(&self) -> (u32, u32) {
        let count = |sql: &str| {
            self.pg
                .sql_on(&self.database, sql)
                .parse::<u32>()
                .expect("a count")
        };
        (
            count("SELECT count(*) FROM schema_migration"),
            count("SELECT count(DISTINCT version) FROM schema_migration"),
        )
    }

    /// The version the peer record says the database is migrated to.
    fn migrated_version(&self) -> Option<String> {
        let state = self.d.emulator.state().expect("state");
        let peers = state
            .relations
            .iter()
            .find(|r| r.endpoint == "kratos-peers")
            .expect("peer relation")
            .app_bag(APP);
        peers
            .get(&format!("migration_version_{}", self.db_id))
            .map(|v| serde_json::from_str(v).expect("a JSON string"))
    }

    /// The `kratos` service's environment in Pebble's plan.
    fn kratos_env(&self, key: &str) -> String {
        let plan = self.d.workloads[0].pebble.client().plan().expect("plan");
        plan.services["kratos"].environment[key].clone()
    }

    /// The ready check's failure count in Pebble.
    fn ready_check_failures(&self) -> u64 {
        let checks = self.d.workloads[0]
            .pebble
            .client()
            .checks(&["ready"])
            .expect("checks");
        checks.first().map_or(0, |c| u64::from(c.failures))
    }

    // ----- Kubernetes ------------------------------------------------------------------

    fn kube(&self) -> &KubeCluster {
        &self.kube.as_ref().expect("a Kubernetes row").0
    }

    fn stateful_set(&self) -> Value {
        let (code, body) = self.kube().admin_request(
            "GET",
            &format!("/apis/apps/v1/namespaces/{NS}/statefulsets/{APP}"),
            None,
            "",
        );
        assert_eq!(code, 200, "{body}");
        body
    }

    fn kratos_resources(&self) -> Value {
        self.stateful_set()["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .find(|c| c["name"] == "kratos")
            .expect("the kratos container")["resources"]
            .clone()
    }

    /// Plays the StatefulSet controller: every pod runs the current generation.
    fn roll_out(&self) {
        let generation = self.stateful_set()["metadata"]["generation"]
            .as_i64()
            .expect("generation");
        let revision = format!("{APP}-{generation}");
        self.kube().set_statefulset_status(
            NS,
            APP,
            json!({
                "observedGeneration": generation,
                "replicas": 1,
                "readyReplicas": 1,
                "updatedReplicas": 1,
                "currentRevision": revision,
                "updateRevision": revision,
            }),
        );
    }

    /// The API server's port, as the pod reaches it.
    fn api_port(&self) -> u16 {
        self.kube().api_server_host_port().1
    }
}

/// A GET from inside network namespace `netns`: the status (0 when unreachable) and body.
fn http(netns: &str, method: &str, url: &str) -> (u16, String) {
    let (method, url) = (method.to_string(), url.to_string());
    in_netns(netns, move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let request = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(url.as_str())
            .body(())
            .expect("request");
        match agent.run(request) {
            Ok(mut response) => (
                response.status().as_u16(),
                response.body_mut().read_to_string().unwrap_or_default(),
            ),
            Err(e) => (0, e.to_string()),
        }
    })
}

/// A listener on a pod's loopback that accepts connections and never answers: an API
/// server that hangs. Stops (closing them) on drop.
struct Stall {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stall {
    fn start(netns: &str, port: u16) -> Stall {
        let stop = Arc::new(AtomicBool::new(false));
        let path = format!("/run/netns/{netns}");
        let (bound_tx, bound) = std::sync::mpsc::channel();
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                common::netns::enter(&path);
                let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the stall");
                listener.set_nonblocking(true).expect("nonblocking");
                bound_tx.send(()).expect("bound");
                let mut held: Vec<TcpStream> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    if let Ok((stream, _)) = listener.accept() {
                        held.push(stream);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
        bound.recv().expect("stall thread");
        Stall {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Stall {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Row 1: PostgreSQL down when the first migration runs, and again in the steady state.
#[test]
fn postgresql_down_during_the_first_migration_and_in_the_steady_state() {
    let mut p = Platform::deployed(false);
    p.create_role_and_database();

    // PostgreSQL stops just before postgresql-k8s's answer starts the migration: Kratos
    // v1.3.1 retries its ping for minutes; the hook ends after the migration's 120 s
    // timeout, without a crash, waiting and naming the database.
    p.pg.stop();
    let started = Instant::now();
    let outcomes = p.answer();
    let took = started.elapsed();
    p.ok(outcomes);
    assert!(took < Duration::from_secs(150), "the hook took {took:?}");
    let (status, message) = p.status();
    assert_eq!(status, "waiting", "{message}");
    assert!(
        message.contains("pg-database") && message.contains("runs again"),
        "{message}"
    );
    assert_eq!(p.d.workloads[0].service("kratos"), "missing");
    assert_eq!(p.migrated_version(), None);

    // PostgreSQL is back: the next hook (update-status) migrates and starts Kratos.
    p.pg.restart();
    p.update_status();
    p.wait_ready();
    p.assert_active();
    assert_eq!(
        p.migrations(),
        2,
        "the unfinished one and the one that worked"
    );
    let version = p.migrated_version().expect("recorded");
    assert!(version.starts_with("v1."), "{version}");
    let migrated = p.schema_migrations();
    assert!(migrated.0 > 10 && migrated.0 == migrated.1, "{migrated:?}");

    // Steady state: PostgreSQL stops. Kratos keeps running but is not ready; the unit
    // says its database does not answer.
    p.pg.stop();
    p.wait_for("Kratos unready", || p.ready().0 == 503);
    let (_, body) = p.ready();
    assert!(body.contains("database"), "{body}");
    p.wait_for("Pebble's ready check failing", || {
        p.ready_check_failures() > 0
    });
    let (status, message) = p.update_status();
    assert_eq!(status, "waiting", "{message}");
    assert!(message.contains("database (pg-database)"), "{message}");
    assert_eq!(p.d.workloads[0].service("kratos"), "active");

    // Back: ready and active again, nothing migrated again.
    p.pg.restart();
    p.wait_ready();
    p.assert_active();
    assert_eq!(p.migrations(), 2);
    assert_eq!(p.schema_migrations(), migrated);
    assert_eq!(p.migrated_version(), Some(version));
}

/// Row 2: a migration that fails half-way (a table of a later migration step already
/// there), the cause removed, then `run-migration`.
#[test]
fn a_migration_failing_half_way_then_run_migration() {
    let mut p = Platform::deployed(false);
    p.create_role_and_database();
    // Someone created `courier_messages` (a later step of Kratos v1.3.1's migrations
    // creates it) in the database before Kratos migrated it.
    p.pg.sql_on(&p.database, "CREATE TABLE courier_messages (id int)");
    let outcomes = p.answer();
    p.ok(outcomes);
    let (status, message) = p.status();
    assert_eq!(status, "blocked", "{message}");
    assert!(message.contains("run-migration"), "{message}");
    assert_eq!(p.d.workloads[0].service("kratos"), "missing");
    assert_eq!(p.migrated_version(), None);
    // Half-way: the earlier steps are applied, the failing one is not.
    let (applied, _) = p.schema_migrations();
    assert!(applied > 0, "the earlier steps ran");

    // The action before the cause is removed fails, naming Kratos's reason.
    let outcome =
        p.d.emulator
            .run_action(
                LEADER,
                "run-migration",
                json!({"timeout": 60}).as_object().unwrap().clone(),
            )
            .expect("run action");
    assert_eq!(outcome.status, ActionStatus::Failed);
    let reason = outcome.message.unwrap_or_default();
    assert!(reason.contains("courier_messages"), "{reason}");
    assert!(!reason.contains(&p.password), "{reason}");

    // The operator drops the stray table and runs run-migration: Kratos continues from
    // where it stopped, the unit converges.
    p.pg.sql_on(&p.database, "DROP TABLE courier_messages");
    let before = p.migrations();
    let outcome =
        p.d.emulator
            .run_action(
                LEADER,
                "run-migration",
                json!({"timeout": 60}).as_object().unwrap().clone(),
            )
            .expect("run action");
    assert_eq!(
        outcome.status,
        ActionStatus::Completed,
        "{:?}",
        outcome.message
    );
    assert_eq!(p.migrations(), before + 1);
    p.wait_ready();
    p.assert_active();
    // Exactly one successful migration recorded, each step once.
    let version = p.migrated_version().expect("recorded");
    assert_eq!(outcome.results["version"], json!(version));
    let (rows, distinct) = p.schema_migrations();
    assert_eq!(rows, distinct, "no step recorded twice");
    assert!(rows > applied);
    // Nothing runs it again.
    p.converge();
    assert_eq!(p.migrations(), before + 1);
}

/// Row 3: the database credentials secret rotated, revoked and removed by the provider.
#[test]
fn database_credentials_rotated_revoked_and_removed() {
    let mut p = Platform::active(false);
    let dsn = p.kratos_env("DSN");
    let starts = |p: &Platform| p.changes().len();

    // Rotated: postgresql-k8s changes the password and publishes a new revision.
    let new_password = format!("pg-{}", rand_hex());
    p.pg.sql(&format!("ALTER ROLE {} PASSWORD '{new_password}'", p.role));
    let credentials = p.credentials.clone();
    let (role, np) = (p.role.clone(), new_password.clone());
    p.d.emulator
        .update_state(|st| {
            st.secret_mut(&credentials)
                .expect("secret")
                .add_revision([("username", role.as_str()), ("password", np.as_str())]);
        })
        .expect("rotate");
    let outcomes =
        p.d.emulator
            .secret_changed(&credentials)
            .expect("secret-changed");
    assert!(!outcomes.0.is_empty(), "the unit tracks the secret");
    p.ok(outcomes);
    let rotated = p.kratos_env("DSN");
    assert_ne!(rotated, dsn);
    assert!(rotated.contains(&new_password));
    // Kratos's connections use the new password: the old ones are cut.
    p.pg.sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{}'",
        p.role
    ));
    p.wait_ready();
    p.assert_active();

    // A new revision with the same content: nothing restarts.
    let before = starts(&p);
    p.d.emulator
        .update_state(|st| {
            st.secret_mut(&credentials)
                .expect("secret")
                .add_revision([("username", role.as_str()), ("password", np.as_str())]);
        })
        .expect("same content");
    let outcomes =
        p.d.emulator
            .secret_changed(&credentials)
            .expect("secret-changed");
    p.ok(outcomes);
    assert_eq!(starts(&p), before, "{:?}", p.changes());

    // Revoked: the secret is no longer granted to us. No crash; blocked naming
    // pg-database and what to do; the last good Kratos keeps serving.
    p.d.emulator
        .update_state(|st| st.secret_mut(&credentials).expect("secret").grants.clear())
        .expect("revoke");
    let (status, message) = p.converge();
    assert_eq!(status, "blocked", "{message}");
    assert!(
        message.contains("pg-database")
            && message.contains("grant")
            && message.contains(&credentials),
        "{message}"
    );
    assert_eq!(p.kratos_env("DSN"), rotated);
    assert_eq!(p.ready().0, 200);
    let db_id = p.db_id;
    p.d.emulator
        .update_state(|st| {
            st.secret_mut(&credentials)
                .expect("secret")
                .grants
                .insert(db_id, [APP.to_string()].into());
        })
        .expect("grant again");
    assert_eq!(p.converge(), ("active".into(), String::new()));

    // Removed by the provider (its relation data still points at it): waiting, naming
    // pg-database and what to do; Kratos keeps serving.
    p.d.emulator
        .update_state(|st| st.secrets.retain(|s| s.id != credentials))
        .expect("remove");
    let (status, message) = p.converge();
    assert_eq!(status, "waiting", "{message}");
    assert!(
        message.contains("pg-database") && message.contains(&credentials),
        "{message}"
    );
    assert_eq!(p.kratos_env("DSN"), rotated);
    assert_eq!(p.ready().0, 200);
    // The provider publishes a new secret: converged onto it.
    let replacement = Secret::new(
        SecretOwner::Application("postgresql-k8s".into()),
        [
            ("username", role.as_str()),
            ("password", new_password.as_str()),
        ],
    )
    .with_grant(db_id, APP);
    p.credentials = replacement.id.clone();
    p.d.emulator
        .update_state(|st| st.secrets.push(replacement))
        .expect("new secret");
    let outcomes = p.answer();
    p.ok(outcomes);
    p.wait_ready();
    p.assert_active();
    assert_eq!(p.kratos_env("DSN"), rotated);
}

/// Row 4: the cookie secret's content missing or malformed.
#[test]
fn the_cookie_secret_missing_empty_or_malformed() {
    let mut p = Platform::active(false);
    let cookie = p.kratos_env("SECRETS_COOKIE");
    let owned = |p: &Platform| {
        p.d.emulator
            .state()
            .expect("state")
            .secrets
            .iter()
            .filter(|s| s.owner == SecretOwner::Application(APP.into()))
            .count()
    };
    assert_eq!(owned(&p), 1);
    let before = p.changes().len();
    for bad in [
        vec![("other", "x")],
        vec![("cookiesecret", "")],
        vec![("cookiesecret", "not hex but long enough")],
        vec![("cookiesecret", "0123abc")],
    ] {
        p.d.emulator
            .update_state(|st| {
                st.secret_mut("cookie_secret")
                    .expect("cookie secret")
                    .add_revision(bad.clone());
            })
            .expect("bad content");
        let (status, message) = p.converge();
        assert_eq!(status, "blocked", "{bad:?}: {message}");
        assert!(
            message.contains("cookie_secret")
                && message.contains("rotate-cookie-secret keep-previous=false"),
            "{message}"
        );
        // Not replaced (every session would end), Kratos untouched.
        assert_eq!(owned(&p), 1);
        assert_eq!(p.kratos_env("SECRETS_COOKIE"), cookie);
        assert_eq!(p.changes().len(), before);
        assert_eq!(p.ready().0, 200);
    }
    // Restored: active, on the same cookie secret, nothing restarted.
    let value: Vec<String> = serde_json::from_str(&cookie).expect("a JSON list");
    p.d.emulator
        .update_state(|st| {
            st.secret_mut("cookie_secret")
                .expect("cookie secret")
                .add_revision([("cookiesecret", value[0].as_str())]);
        })
        .expect("restore");
    assert_eq!(p.converge(), ("active".into(), String::new()));
    assert_eq!(p.kratos_env("SECRETS_COOKIE"), cookie);
    assert_eq!(p.changes().len(), before);
}

/// Row 5: the Kubernetes API down, hanging, and answering 409 to the apply.
#[test]
fn the_kubernetes_api_down_hanging_and_conflicting() {
    let mut p = Platform::active(true);
    let netns = p.netns();
    let port = p.api_port();
    let changes = p.changes().len();

    // Down: nothing answers at the API's address in the pod.
    p.api_relay = None;
    let started = Instant::now();
    let (status, message) = p.converge();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, "waiting", "{message}");
    assert!(message.contains("Kubernetes API"), "{message}");
    assert_eq!(p.ready().0, 200, "the last good Kratos serves");
    assert_eq!(p.changes().len(), changes);
    let (status, _) = p.update_status();
    assert_eq!(status, "waiting");

    // Hanging: the API accepts connections and never answers. Each hook stays bounded
    // by the client's timeouts.
    let stall = Stall::start(&netns, port);
    let started = Instant::now();
    let (status, message) = p.converge();
    let took = started.elapsed();
    eprintln!("a hook against a hanging API server took {took:?}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    assert_eq!(status, "waiting", "{message}");
    assert!(message.contains("Kubernetes API"), "{message}");
    assert_eq!(p.ready().0, 200);
    let started = Instant::now();
    p.update_status();
    let took = started.elapsed();
    eprintln!("update-status against a hanging API server took {took:?}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    drop(stall);

    // Back: converged, active.
    p.api_relay = Some(Relay::start(
        &netns,
        port,
        SocketAddr::from(([127, 0, 0, 1], port)),
    ));
    assert_eq!(p.converge(), ("active".into(), String::new()));
    assert_eq!(p.changes().len(), changes);

    // 409: another field manager takes the kratos container's cpu limit (a server-side
    // apply forcing the conflict with ours, as `kubectl apply --server-side
    // --force-conflicts` does); the charm applies without forcing.
    let (code, body) = p.kube().admin_request(
        "PATCH",
        &format!(
            "/apis/apps/v1/namespaces/{NS}/statefulsets/{APP}?fieldManager=platform-team&force=true"
        ),
        Some(json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": APP},
            "spec": {"template": {"spec": {"containers": [
                {"name": "kratos", "resources": {"limits": {"cpu": "2"}}}
            ]}}}
        })),
        "application/apply-patch+yaml",
    );
    assert_eq!(code, 200, "{body}");
    p.roll_out();
    // With cpu unset, the charm cannot remove the other manager's limit: it says so
    // (and does not report a restart on every hook).
    for _ in 0..2 {
        let (status, message) = p.converge();
        assert_eq!(status, "blocked", "{message}");
        assert!(
            message.contains("another field manager") && message.contains("cpu=2"),
            "{message}"
        );
    }
    let outcomes = p.d.emulator.set_config([("cpu", "500m")]).expect("config");
    p.ok(outcomes);
    let (status, message) = p.status();
    assert_eq!(status, "blocked", "{message}");
    assert!(
        message.contains("another field manager") && message.contains("cpu"),
        "{message}"
    );
    assert_eq!(p.kratos_resources()["limits"]["cpu"], "2");
    assert_eq!(p.ready().0, 200);

    // The other manager lets go of the field: the charm applies, the pods roll out.
    let (code, body) = p.kube().admin_request(
        "PATCH",
        &format!("/apis/apps/v1/namespaces/{NS}/statefulsets/{APP}?fieldManager=platform-team"),
        Some(json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": APP},
        })),
        "application/apply-patch+yaml",
    );
    assert_eq!(code, 200, "{body}");
    let (status, message) = p.converge();
    assert!(
        status == "maintenance" || status == "waiting",
        "{status}: {message}"
    );
    assert_eq!(p.kratos_resources()["limits"]["cpu"], "500m");
    p.roll_out();
    p.assert_active();
}
