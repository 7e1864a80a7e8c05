//! The charm's reconcile in-process: the framework's Harness (the hook tools' semantics
//! over an in-memory model) and FakePebble, one test per branch, milliseconds each, no
//! root and no Pebble binary.
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

use std::collections::BTreeMap;
use std::rc::Rc;

use juju_rs_ops::pebble::{ExecOutput, Pebble, PebbleError};
use juju_rs_ops_testing::state::{ModelState, Relation, Secret, SecretOwner};
use juju_rs_ops_testing::{EventSpec, FakePebble, FakePebbleConnector, Harness};

const LEADER: &str = "kratos/0";
const FOLLOWER: &str = "kratos/1";
const CONFIG_FILE: &str = "/etc/config/kratos/kratos.yaml";
const PEERS_ID: u32 = 0;
const DB_ID: u32 = 1;
const DB_PASSWORD: &str = "s3cr3t-pw";

/// A model and one fake container per unit.
struct World {
    harness: Harness,
    containers: BTreeMap<String, FakePebbleConnector>,
    /// Most tests change relations directly, without the relation events Juju would run:
    /// the units' remembered relations are forgotten before each hook unless this is set.
    keep_relation_cache: bool,
}

fn db_relation() -> Relation {
    Relation::new(DB_ID, "pg-database", "postgresql_client", "postgresql-k8s")
        .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new())
        .with_remote_app_data([
            ("endpoints", "pg-0.pg-endpoints:5432"),
            ("username", "relation_id_1"),
            ("password", DB_PASSWORD),
        ])
}

/// A container whose `kratos version` prints `version` and whose migrations succeed.
fn container(version: &str) -> FakePebbleConnector {
    let connector = FakePebbleConnector::new();
    let fake = connector.add("kratos");
    set_kratos_version(&fake, version);
    fake.on_exec(["kratos", "migrate"], |_| Ok(exit(0, "", "")));
    connector
}

fn set_kratos_version(fake: &FakePebble, version: &str) {
    let stdout = format!("Version:\t\t{version}\nBuild Commit:\tabc\n");
    fake.on_exec(["kratos", "version"], move |_| Ok(exit(0, &stdout, "")));
}

fn exit(code: i32, stdout: &str, stderr: &str) -> ExecOutput {
    ExecOutput {
        command: Vec::new(),
        exit_code: code,
        stdout: stdout.as_bytes().to_vec(),
        stderr: stderr.as_bytes().to_vec(),
    }
}

impl World {
    /// Two units (kratos/0 leads), the peer relation and a ready database.
    fn new() -> World {
        let mut state = ModelState::new("kratos")
            .with_unit(LEADER)
            .with_unit(FOLLOWER)
            .with_leader(LEADER)
            .with_relation(
                Relation::peer(PEERS_ID, "kratos-peers", "kratos_peers", "kratos")
                    .with_local_unit(FOLLOWER),
            )
            .with_relation(db_relation());
        state
            .load_config_defaults(include_str!("../config.yaml"))
            .expect("config.yaml");
        state.issued_relation_ids = 2;
        World {
            harness: Harness::new(state, LEADER),
            containers: [LEADER, FOLLOWER]
                .into_iter()
                .map(|unit| (unit.to_string(), container("v1.3.1")))
                .collect(),
            keep_relation_cache: false,
        }
    }

    /// Forgets what every unit remembers of the relations.
    fn forget_relations(&mut self) {
        for unit in self.harness.state_mut().units.values_mut() {
            unit.state
                .remove(charm_kratos::dispatch::RELATION_CACHE_KEY);
        }
    }

    fn fake(&self, unit: &str) -> Rc<FakePebble> {
        self.containers[unit].add("kratos")
    }

    /// Runs a hook on `unit`; panics if the charm errors (a hook error).
    fn run(&mut self, unit: &str, spec: &EventSpec) {
        self.try_run(unit, spec).expect("the hook succeeds");
    }

    fn try_run(&mut self, unit: &str, spec: &EventSpec) -> Result<(), String> {
        if !self.keep_relation_cache {
            self.forget_relations();
        }
        let connector = Box::new(self.containers[unit].clone());
        self.harness.set_unit(unit);
        self.harness
            .run(spec, connector, charm_kratos::dispatch::dispatch)
            .map_err(|e| e.to_string())
    }

    fn hook(&mut self, unit: &str, name: &str) {
        self.run(unit, &EventSpec::hook(name));
    }

    /// A hook that converges in full. The tests change the model directly (where Juju
    /// would run relation or secret hooks), so they converge with `config-changed`:
    /// `update-status` takes the steady-state shortcut and is tested on its own.
    fn converge(&mut self, unit: &str) {
        self.hook(unit, "config-changed");
    }

    fn status(&self, unit: &str) -> (String, String) {
        let status = &self.harness.state().unit(unit).expect("unit").status;
        (status.status.clone(), status.message.clone())
    }

    fn config(&self, unit: &str) -> String {
        String::from_utf8(self.fake(unit).file(CONFIG_FILE).unwrap_or_default()).expect("utf-8")
    }

    fn env(&self, unit: &str) -> BTreeMap<String, String> {
        self.fake(unit).current_plan().services["kratos"]
            .environment
            .clone()
    }

    fn db_remote(&mut self) -> &mut BTreeMap<String, String> {
        let relation = self.harness.state_mut().relation_mut(DB_ID).expect("db");
        relation
            .app_data
            .entry("postgresql-k8s".into())
            .or_default()
    }

    fn set_config(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.harness
            .state_mut()
            .config
            .insert(key.into(), value.into());
    }

    /// Deploys both units to active.
    fn active() -> World {
        let mut world = World::new();
        world.hook(LEADER, "install");
        world.hook(LEADER, "config-changed");
        world.hook(FOLLOWER, "config-changed");
        assert_eq!(
            world.status(LEADER).0,
            "active",
            "{:?}",
            world.status(LEADER)
        );
        assert_eq!(world.status(FOLLOWER).0, "active");
        world.fake(LEADER).clear_calls();
        world.fake(FOLLOWER).clear_calls();
        world
    }

    fn pushes(&self, unit: &str) -> usize {
        self.fake(unit)
            .calls()
            .iter()
            .filter(|c| matches!(c, juju_rs_ops_testing::PebbleCall::Push { path } if path == CONFIG_FILE))
            .count()
    }

    /// No push of the config and no service change since the last `clear_calls`.
    fn assert_workload_untouched(&self, unit: &str) {
        use juju_rs_ops_testing::PebbleCall;
        let calls = self.fake(unit).calls();
        assert!(
            !calls.iter().any(|c| matches!(
                c,
                PebbleCall::Push { .. }
                    | PebbleCall::AddLayer { .. }
                    | PebbleCall::Restart(_)
                    | PebbleCall::Stop(_)
                    | PebbleCall::Replan
            )),
            "{calls:?}"
        );
    }
}

#[test]
fn deploy_migrates_once_and_goes_active_with_the_courier_on_the_leader() {
    let world = World::active();
    let leader = world.fake(LEADER);
    let migrations = leader
        .exec_requests()
        .iter()
        .filter(|r| r.command.get(1).is_some_and(|c| c == "migrate"))
        .count();
    assert_eq!(migrations, 1);
    assert_eq!(leader.service_state("kratos").as_deref(), Some("active"));
    assert_eq!(leader.service_state("courier").as_deref(), Some("active"));
    assert_eq!(
        world.fake(FOLLOWER).service_state("courier").as_deref(),
        Some("inactive")
    );
    let peers = world.harness.state().relation(PEERS_ID).unwrap();
    assert_eq!(peers.app_bag("kratos")["migration_version_1"], "\"v1.3.1\"");
    let state = world.harness.state();
    let unit = state.unit(LEADER).unwrap();
    assert_eq!(unit.workload_version, "v1.3.1");
    assert_eq!(unit.opened_ports.len(), 2);
    let env = world.env(LEADER);
    assert!(env["DSN"].contains(DB_PASSWORD));
    assert!(env["SECRETS_COOKIE"].starts_with("[\""));
    let request = state.relation(DB_ID).unwrap().app_bag("kratos");
    assert_eq!(request["database"], "test-model_kratos");
    assert!(!world.status(LEADER).1.contains(DB_PASSWORD));
}

#[test]
fn an_unchanged_config_neither_pushes_nor_restarts() {
    let mut world = World::active();
    world.converge(LEADER);
    world.hook(LEADER, "config-changed");
    assert_eq!(world.pushes(LEADER), 0);
    assert_eq!(world.fake(LEADER).service_restarts("kratos"), 0);
    world.assert_workload_untouched(LEADER);
}

#[test]
fn a_hook_with_nothing_to_change_reads_the_plan_and_the_services_once() {
    use juju_rs_ops_testing::PebbleCall;
    let mut world = World::active();
    world.hook(LEADER, "config-changed");
    let calls = world.fake(LEADER).calls();
    let plans = calls
        .iter()
        .filter(|c| matches!(c, PebbleCall::Plan))
        .count();
    let services = calls
        .iter()
        .filter(|c| matches!(c, PebbleCall::Services(_)))
        .count();
    assert_eq!((plans, services), (1, 1), "{calls:?}");
    assert_eq!(world.status(LEADER).0, "active");
}

#[test]
fn the_health_after_a_restart_reads_the_services_again() {
    use juju_rs_ops_testing::PebbleCall;
    let mut world = World::active();
    world.set_config("log_level", "debug");
    world.hook(LEADER, "config-changed");
    let calls = world.fake(LEADER).calls();
    let restart = calls
        .iter()
        .position(|c| matches!(c, PebbleCall::Restart(_)))
        .expect("a restart");
    assert!(
        calls
            .iter()
            .skip(restart)
            .any(|c| matches!(c, PebbleCall::Services(_))),
        "{calls:?}"
    );
}

#[test]
fn a_config_change_restarts_kratos_and_the_courier_in_one_change() {
    let mut world = World::active();
    world.set_config("log_level", "debug");
    world.hook(LEADER, "config-changed");
    let calls = world.fake(LEADER).calls();
    let restarts: Vec<_> = calls
        .iter()
        .filter(|c| matches!(c, juju_rs_ops_testing::PebbleCall::Restart(_)))
        .collect();
    assert_eq!(restarts.len(), 1, "{calls:?}");
    assert_eq!(world.env(LEADER)["LOG_LEVEL"], "debug");
    assert!(world.config(LEADER).contains("level: debug"));
}

#[test]
fn bad_config_blocks_naming_the_option_and_keeps_the_last_good_workload() {
    let mut world = World::active();
    let before = world.config(LEADER);
    world.set_config("log_level", "loud");
    world.hook(LEADER, "config-changed");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(message.contains("log_level"), "{message}");
    world.assert_workload_untouched(LEADER);
    assert_eq!(world.config(LEADER), before);
    world.set_config("log_level", "info");
    world.hook(LEADER, "config-changed");
    assert_eq!(world.status(LEADER).0, "active");
}

#[test]
fn config_identity_schemas_are_the_rendered_set() {
    let mut world = World::active();
    let schema = r#"{"employee": {"type": "object", "properties": {"traits": {"properties": {"email": {"type": "string"}}}}}}"#;
    world.set_config("identity_schemas", schema);
    world.set_config("default_identity_schema_id", "employee");
    world.hook(LEADER, "config-changed");
    assert_eq!(world.status(LEADER).0, "active");
    assert!(world.config(LEADER).contains("default_schema_id: employee"));
    world.set_config("identity_schemas", r#"{"employee": {"type": "object"}}"#);
    world.hook(LEADER, "config-changed");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(message.contains("declares no traits"), "{message}");
}

#[test]
fn without_a_database_the_unit_blocks_and_kratos_stops() {
    let mut world = World::active();
    let relation = world.harness.state().relation(DB_ID).cloned().unwrap();
    world.run(LEADER, &EventSpec::relation("broken", &relation, None));
    let (status, message) = world.status(LEADER);
    assert_eq!(
        (status.as_str(), message.as_str()),
        ("blocked", "Missing integration pg-database")
    );
    assert_eq!(
        world.fake(LEADER).service_state("kratos").as_deref(),
        Some("inactive")
    );
    assert_eq!(
        world.fake(LEADER).service_state("courier").as_deref(),
        Some("inactive")
    );
}

#[test]
fn database_pending_waits_and_changes_nothing() {
    let mut world = World::active();
    world.db_remote().clear();
    world.converge(LEADER);
    assert_eq!(
        world.status(LEADER),
        ("waiting".into(), "Waiting for database creation".into())
    );
    world.assert_workload_untouched(LEADER);
}

#[test]
fn database_partial_data_waits() {
    let mut world = World::active();
    world.db_remote().remove("password");
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "waiting");
    world.assert_workload_untouched(LEADER);
}

#[test]
fn database_garbage_endpoints_block_naming_the_relation_without_the_password() {
    let mut world = World::active();
    world
        .db_remote()
        .insert("endpoints".into(), "not-an-endpoint".into());
    world.converge(LEADER);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("pg-database") && message.contains("endpoints"),
        "{message}"
    );
    assert!(!message.contains(DB_PASSWORD));
    world.assert_workload_untouched(LEADER);
}

#[test]
fn database_credentials_from_a_secret_missing_or_incomplete() {
    let mut world = World::new();
    let secret = Secret::new(
        SecretOwner::Application("postgresql-k8s".into()),
        [("username", "u"), ("password", "from-secret")],
    )
    .with_grant(DB_ID, "kratos");
    let secret_id = secret.id.clone();
    world.harness.state_mut().secrets.push(secret);
    {
        let remote = world.db_remote();
        remote.remove("username");
        remote.remove("password");
        remote.insert("secret-user".into(), secret_id.clone());
    }
    world.hook(LEADER, "config-changed");
    assert_eq!(world.status(LEADER).0, "active");
    assert!(world.env(LEADER)["DSN"].contains("from-secret"));

    // The provider points at a secret that is not there (yet): waiting.
    world
        .db_remote()
        .insert("secret-user".into(), "secret:cs7bu5ou8jb6f8vv0cig".into());
    world.converge(LEADER);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "waiting");
    assert!(
        message.starts_with("Waiting for database creation: the pg-database credentials secret secret:cs7bu5ou8jb6f8vv0cig"),
        "{message}"
    );

    // A secret without a password: blocked naming the relation.
    let partial = Secret::new(
        SecretOwner::Application("postgresql-k8s".into()),
        [("username", "u")],
    )
    .with_grant(DB_ID, "kratos");
    let partial_id = partial.id.clone();
    world.harness.state_mut().secrets.push(partial);
    world.db_remote().insert("secret-user".into(), partial_id);
    world.converge(LEADER);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(message.contains("pg-database"), "{message}");
}

#[test]
fn without_the_peer_relation_the_unit_waits() {
    let mut world = World::new();
    world
        .harness
        .state_mut()
        .relations
        .retain(|r| r.id != PEERS_ID);
    world.hook(LEADER, "install");
    assert_eq!(
        world.status(LEADER),
        ("waiting".into(), "Missing integration kratos-peers".into())
    );
    assert!(world.fake(LEADER).file(CONFIG_FILE).is_none());
}

#[test]
fn a_follower_waits_for_the_cookie_secret_and_the_migration() {
    let mut world = World::new();
    world.hook(FOLLOWER, "install");
    assert_eq!(
        world.status(FOLLOWER),
        ("waiting".into(), "Waiting for secret creation".into())
    );
    world.hook(LEADER, "install");
    world
        .harness
        .state_mut()
        .relation_mut(PEERS_ID)
        .unwrap()
        .app_data
        .clear();
    world.converge(FOLLOWER);
    assert_eq!(
        world.status(FOLLOWER),
        (
            "waiting".into(),
            "Waiting for leader unit to run the migration".into()
        )
    );
    assert!(world
        .fake(FOLLOWER)
        .exec_requests()
        .iter()
        .all(|r| r.command.get(1).is_none_or(|c| c != "migrate")));
}

#[test]
fn an_unreachable_container_waits() {
    let mut world = World::new();
    world.fake(LEADER).set_cannot_connect(true);
    world.hook(LEADER, "install");
    assert_eq!(
        world.status(LEADER),
        ("waiting".into(), "Waiting for the kratos container".into())
    );
}

#[test]
fn a_failing_kratos_version_waits_and_is_retried() {
    let mut world = World::new();
    world
        .fake(LEADER)
        .on_exec(["kratos", "version"], |_| Ok(exit(1, "", "boom")));
    world.hook(LEADER, "install");
    assert_eq!(
        world.status(LEADER),
        (
            "waiting".into(),
            "Waiting for the Kratos version from the container".into()
        )
    );
    set_kratos_version(&world.fake(LEADER), "v1.3.1");
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
}

#[test]
fn the_version_is_cached_for_the_life_of_the_container() {
    let mut world = World::active();
    world.converge(LEADER);
    world.converge(LEADER);
    let version_execs = world
        .fake(LEADER)
        .exec_requests()
        .iter()
        .filter(|r| r.command.get(1).is_some_and(|c| c == "version"))
        .count();
    // The two from deploy (install, config-changed read it once: the first) stay the only ones.
    assert_eq!(version_execs, 1);
}

#[test]
fn a_new_container_on_the_same_node_is_read_again_and_migrated_for_its_version() {
    let mut world = World::active();
    // The container is replaced (juju refresh / attach-resource) by one running a newer
    // Kratos. Pebble's boot id is the node's, so it is the same as before.
    let boot_id = world.fake(LEADER).system_info().unwrap().boot_id;
    let replaced = container("v1.4.0");
    assert_eq!(
        replaced.add("kratos").system_info().unwrap().boot_id,
        boot_id
    );
    world.containers.insert(LEADER.into(), replaced);
    world.run(LEADER, &EventSpec::pebble_ready("kratos"));
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );
    assert_eq!(
        world.harness.state().unit(LEADER).unwrap().workload_version,
        "v1.4.0"
    );
    let peers = world.harness.state().relation(PEERS_ID).unwrap();
    assert_eq!(peers.app_bag("kratos")["migration_version_1"], "\"v1.4.0\"");
    let migrated = world
        .fake(LEADER)
        .exec_requests()
        .iter()
        .any(|r| r.command.get(1).is_some_and(|c| c == "migrate"));
    assert!(migrated);
}

#[test]
fn a_failed_migration_blocks_then_recovers() {
    let mut world = World::new();
    world.fake(LEADER).on_exec(["kratos", "migrate"], |_| {
        Ok(exit(
            1,
            &format!("Error: cannot reach postgres://u:{DB_PASSWORD}@db/k\n"),
            "",
        ))
    });
    world.hook(LEADER, "install");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(message.contains("run-migration"), "{message}");
    let logs = &world.harness.state().unit(LEADER).unwrap().logs;
    assert!(logs.iter().all(|l| !l.message.contains(DB_PASSWORD)));
    assert!(world.fake(LEADER).file(CONFIG_FILE).is_none());

    world
        .fake(LEADER)
        .on_exec(["kratos", "migrate"], |_| Ok(exit(0, "", "")));
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
}

#[test]
fn a_crashed_service_is_started_again() {
    let mut world = World::active();
    world.fake(LEADER).set_service_state("kratos", "error");
    world.converge(LEADER);
    assert_eq!(
        world.fake(LEADER).service_state("kratos").as_deref(),
        Some("active")
    );
    assert_eq!(world.status(LEADER).0, "active");
}

#[test]
fn a_failing_ready_check_blocks_pointing_at_the_logs() {
    let mut world = World::active();
    world.fake(LEADER).set_check("ready", "down", 3);
    world.converge(LEADER);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(message.contains("kratos container logs"), "{message}");
}

#[test]
fn a_deposed_leader_stops_its_courier() {
    let mut world = World::active();
    world.harness.state_mut().leader = Some(FOLLOWER.into());
    world.hook(FOLLOWER, "leader-elected");
    world.hook(LEADER, "leader-settings-changed");
    assert_eq!(
        world.fake(LEADER).service_state("courier").as_deref(),
        Some("inactive")
    );
    assert_eq!(
        world.fake(FOLLOWER).service_state("courier").as_deref(),
        Some("active")
    );
}

/// Pebble's replan restarts every service whose plan changed, a stopped one included: a
/// deposed leader's courier must not come back when only the environment changes.
#[test]
fn a_deposed_leader_keeps_its_courier_stopped_when_the_layer_changes() {
    let mut world = World::active();
    world.harness.state_mut().leader = Some(FOLLOWER.into());
    world.hook(FOLLOWER, "leader-elected");
    world.hook(LEADER, "leader-settings-changed");
    world.harness.state_mut().relations.push(smtp_relation(&[
        ("host", "mail.example.com"),
        ("port", "25"),
        ("auth_type", "none"),
        ("transport_security", "none"),
    ]));
    world.hook(LEADER, "smtp-relation-changed");
    world.hook(FOLLOWER, "smtp-relation-changed");
    assert_eq!(
        world.env(LEADER)["COURIER_SMTP_CONNECTION_URI"],
        "smtp://mail.example.com:25/?disable_starttls=true"
    );
    assert_eq!(
        world.fake(LEADER).service_state("courier").as_deref(),
        Some("inactive")
    );
    assert_eq!(
        world.fake(FOLLOWER).service_state("courier").as_deref(),
        Some("active")
    );
}

/// A relation `id` on `endpoint` to `app` (one unit), whose application bag holds `data`.
fn related(id: u32, endpoint: &str, interface: &str, app: &str, data: &[(&str, &str)]) -> Relation {
    Relation::new(id, endpoint, interface, app)
        .with_remote_unit(&format!("{app}/0"), Vec::<(String, String)>::new())
        .with_remote_app_data(data.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn hydra_relation(data: &[(&str, &str)]) -> Relation {
    related(2, "hydra-endpoint-info", "hydra_endpoints", "hydra", data)
}

#[test]
fn hydra_complete_partial_and_garbage() {
    let mut world = World::active();
    world.harness.state_mut().relations.push(hydra_relation(&[
        ("admin_endpoint", "http://hydra.m.svc:4445"),
        ("public_endpoint", "https://hydra.example.com"),
    ]));
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(
        world.env(LEADER)["OAUTH2_PROVIDER_URL"],
        "http://hydra.m.svc:4445"
    );

    let world_env = world.env(LEADER);
    world.fake(LEADER).clear_calls();
    let relation = world.harness.state_mut().relation_mut(2).unwrap();
    relation.app_data.insert(
        "hydra".into(),
        BTreeMap::from([("admin_endpoint".into(), "http://other:4445".into())]),
    );
    world.converge(LEADER);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "waiting");
    assert!(message.contains("hydra-endpoint-info") && message.contains("public_endpoint"));
    world.assert_workload_untouched(LEADER);
    assert_eq!(world.env(LEADER), world_env);

    let relation = world.harness.state_mut().relation_mut(2).unwrap();
    relation.app_data.insert(
        "hydra".into(),
        BTreeMap::from([
            ("admin_endpoint".into(), "hydra:4445".into()),
            ("public_endpoint".into(), "https://h".into()),
        ]),
    );
    world.converge(LEADER);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(message.contains("admin_endpoint"), "{message}");
    world.assert_workload_untouched(LEADER);
}

const PAGES: [&str; 8] = [
    "login",
    "error",
    "settings",
    "recovery",
    "verification",
    "registration",
    "webauthn_settings",
    "account_linking_settings",
];

fn login_ui_relation(id: u32, pages: &[&str]) -> Relation {
    Relation::new(id, "ui-endpoint-info", "login_ui_endpoints", "login-ui")
        .with_remote_unit("login-ui/0", Vec::<(String, String)>::new())
        .with_remote_app_data(
            pages
                .iter()
                .map(|p| (format!("{p}_url"), format!("https://ui.example.com/ui/{p}"))),
        )
}

#[test]
fn login_ui_complete_partial_and_conflicting() {
    let mut world = World::active();
    world
        .harness
        .state_mut()
        .relations
        .push(login_ui_relation(3, &PAGES[..5]));
    world.converge(LEADER);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "waiting");
    assert!(
        message.contains("registration_url") && message.contains("ui-endpoint-info"),
        "{message}"
    );
    world.assert_workload_untouched(LEADER);

    world.harness.state_mut().relations.retain(|r| r.id != 3);
    world
        .harness
        .state_mut()
        .relations
        .push(login_ui_relation(3, &PAGES));
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
    assert!(world
        .config(LEADER)
        .contains("https://ui.example.com/ui/login"));

    world
        .harness
        .state_mut()
        .relations
        .push(login_ui_relation(4, &PAGES[..1]));
    world.fake(LEADER).clear_calls();
    world.converge(LEADER);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(message.contains("more than one"), "{message}");
    world.assert_workload_untouched(LEADER);
}

fn run_action(world: &mut World, unit: &str, name: &str) -> juju_rs_ops_testing::state::ActionRun {
    let connector = Box::new(world.containers[unit].clone());
    world.harness.set_unit(unit);
    let (result, run) = world.harness.run_action(
        name,
        serde_json::Map::new(),
        connector,
        charm_kratos::dispatch::dispatch,
    );
    result.expect("the action's hook succeeds");
    run
}

#[test]
fn run_migration_is_refused_on_a_follower_and_recovers_the_leader() {
    let mut world = World::new();
    let fail = |_: &_| -> Result<ExecOutput, PebbleError> { Ok(exit(1, "Error: no role\n", "")) };
    world.fake(LEADER).on_exec(["kratos", "migrate"], fail);
    world.hook(LEADER, "install");
    assert_eq!(world.status(LEADER).0, "blocked");

    let refused = run_action(&mut world, FOLLOWER, "run-migration");
    assert!(refused.failed);
    assert!(refused.message.unwrap_or_default().contains("leader"));

    let failed = run_action(&mut world, LEADER, "run-migration");
    assert!(failed.failed);
    assert!(failed.message.unwrap_or_default().contains("no role"));

    world
        .fake(LEADER)
        .on_exec(["kratos", "migrate"], |_| Ok(exit(0, "", "")));
    let done = run_action(&mut world, LEADER, "run-migration");
    assert!(!done.failed, "{:?}", done.message);
    assert_eq!(done.results["version"], "v1.3.1");
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(
        world.fake(LEADER).service_state("kratos").as_deref(),
        Some("active")
    );
}

fn smtp_relation(data: &[(&str, &str)]) -> Relation {
    related(5, "smtp", "smtp", "smtp-integrator", data)
}

#[test]
fn smtp_password_from_a_granted_secret_reaches_the_courier_escaped() {
    let mut world = World::active();
    let password = "p@ss:w/rd?#%";
    let secret = Secret::new(
        SecretOwner::Application("smtp-integrator".into()),
        [("password", password)],
    )
    .with_grant(5, "kratos");
    let secret_id = secret.id.clone();
    world.harness.state_mut().secrets.push(secret);
    world.harness.state_mut().relations.push(smtp_relation(&[
        ("host", "mail.example.com"),
        ("port", "587"),
        ("auth_type", "plain"),
        ("transport_security", "starttls"),
        ("skip_ssl_verify", "False"),
        ("user", "kratos"),
        ("password_id", secret_id.as_str()),
    ]));
    world.hook(LEADER, "smtp-relation-changed");
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );
    assert_eq!(
        world.env(LEADER)["COURIER_SMTP_CONNECTION_URI"],
        "smtp://kratos:p%40ss%3Aw%2Frd%3F%23%25@mail.example.com:587/"
    );
    let logs = &world.harness.state().unit(LEADER).unwrap().logs;
    assert!(logs.iter().all(|l| !l.message.contains(password)));
}

#[test]
fn smtp_partial_data_waits_and_an_ungranted_secret_blocks_without_a_crash() {
    let mut world = World::active();
    let before = world.env(LEADER);
    world.harness.state_mut().relations.push(smtp_relation(&[
        ("host", "mail.example.com"),
        ("port", "587"),
    ]));
    world.hook(LEADER, "smtp-relation-changed");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "waiting");
    assert!(
        message.contains("smtp") && message.contains("auth_type"),
        "{message}"
    );
    world.assert_workload_untouched(LEADER);

    let secret = Secret::new(SecretOwner::Model, [("password", "x")]);
    let secret_id = secret.id.clone();
    world.harness.state_mut().secrets.push(secret);
    let relation = world.harness.state_mut().relation_mut(5).unwrap();
    relation.app_data.insert(
        "smtp-integrator".into(),
        BTreeMap::from([
            ("host".into(), "mail.example.com".into()),
            ("port".into(), "587".into()),
            ("auth_type".into(), "plain".into()),
            ("transport_security".into(), "tls".into()),
            ("user".into(), "kratos".into()),
            ("password_id".into(), secret_id.clone()),
        ]),
    );
    world.hook(LEADER, "smtp-relation-changed");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("grant-secret") && message.contains(&secret_id),
        "{message}"
    );
    world.assert_workload_untouched(LEADER);
    assert_eq!(world.env(LEADER), before);
}

// ---- The Identity Platform integrations: routes, external IdPs, kratos-info, CAs ----

const PUBLIC_ROUTE_ID: u32 = 10;
const INTERNAL_ROUTE_ID: u32 = 11;
const IDP_ID: u32 = 12;
const INFO_ID: u32 = 13;
const CA_ID: u32 = 14;
const IDP_SECRET: &str = "idp-client-s3cr3t";

impl World {
    /// What this application wrote on relation `id`.
    fn our_bag(&self, id: u32) -> BTreeMap<String, String> {
        self.harness.state().relation(id).unwrap().app_bag("kratos")
    }

    fn relate(&mut self, relation: Relation) {
        self.harness.state_mut().relations.push(relation);
    }

    fn set_remote(&mut self, id: u32, data: &[(&str, &str)]) {
        let relation = self.harness.state_mut().relation_mut(id).unwrap();
        let app = relation.remote_app.clone();
        relation.app_data.insert(
            app,
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
    }
}

fn public_route(data: &[(&str, &str)]) -> Relation {
    related(
        PUBLIC_ROUTE_ID,
        "public-route",
        "traefik_route",
        "traefik-public",
        data,
    )
}

fn idp_relation() -> Relation {
    let providers = serde_json::json!([{
        "provider": "generic", "client_id": "kratos-client", "id": "hydra",
        "issuer_url": "https://hydra.example.com", "client_secret": IDP_SECRET,
        "scope": "openid email",
    }]);
    related(
        IDP_ID,
        "kratos-external-idp",
        "external_provider",
        "hydra-idp",
        &[("providers", &providers.to_string())],
    )
}

#[test]
fn public_route_config_is_published_at_once_and_traefiks_url_becomes_the_base_url() {
    let mut world = World::active();
    world.relate(public_route(&[]));
    world.hook(LEADER, "public-route-relation-joined");
    let bag = world.our_bag(PUBLIC_ROUTE_ID);
    assert_eq!(bag["raw"], "True");
    let config: serde_json::Value = serde_yaml_ng::from_str(&bag["config"]).unwrap();
    assert!(config["http"]["routers"]
        .as_object()
        .unwrap()
        .contains_key("juju-test-model-kratos-public-api-router-schemas"));
    assert_eq!(world.status(LEADER).0, "active");

    world.set_remote(
        PUBLIC_ROUTE_ID,
        &[("external_host", "iam.example.com"), ("scheme", "https")],
    );
    world.hook(LEADER, "public-route-relation-changed");
    let rendered: serde_json::Value = serde_yaml_ng::from_str(&world.config(LEADER)).unwrap();
    assert_eq!(
        rendered["serve"]["public"]["base_url"],
        "https://iam.example.com/"
    );
    assert_eq!(
        rendered["selfservice"]["allowed_return_urls"][0],
        "https://iam.example.com/"
    );
    let config: serde_json::Value =
        serde_yaml_ng::from_str(&world.our_bag(PUBLIC_ROUTE_ID)["config"]).unwrap();
    assert_eq!(
        config["http"]["routers"]["juju-test-model-kratos-public-api-router-schemas-tls"]["tls"]
            ["domains"][0]["main"],
        "iam.example.com"
    );
    // Followers read the URL too, but only the leader writes the application bag.
    world.hook(FOLLOWER, "public-route-relation-changed");
    assert!(world.config(FOLLOWER).contains("https://iam.example.com/"));
}

#[test]
fn two_public_routes_block_naming_both_and_keep_the_workload() {
    let mut world = World::active();
    world.relate(public_route(&[
        ("external_host", "a.example.com"),
        ("scheme", "https"),
    ]));
    world.hook(LEADER, "public-route-relation-changed");
    world.fake(LEADER).clear_calls();
    world.relate(related(
        PUBLIC_ROUTE_ID + 100,
        "public-route",
        "traefik_route",
        "traefik-other",
        &[("external_host", "b.example.com"), ("scheme", "https")],
    ));
    world.hook(LEADER, "public-route-relation-changed");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("traefik-public") && message.contains("traefik-other"),
        "{message}"
    );
    world.assert_workload_untouched(LEADER);
    assert!(world.config(LEADER).contains("https://a.example.com/"));
}

#[test]
fn an_idp_without_a_public_url_is_held_back_while_everything_else_converges() {
    let mut world = World::active();
    world.relate(idp_relation());
    world.set_config("log_level", "debug");
    world.hook(LEADER, "config-changed");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("public-route") && message.contains("juju integrate"),
        "{message}"
    );
    let config = world.config(LEADER);
    assert!(
        config.contains("level: debug"),
        "the config change converged"
    );
    assert!(
        !config.contains("kratos-client"),
        "no provider without a redirect URI"
    );
    assert!(world.our_bag(IDP_ID).is_empty());

    world.relate(public_route(&[]));
    world.hook(LEADER, "public-route-relation-joined");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "waiting");
    assert!(message.contains("public-route"), "{message}");

    world.set_remote(
        PUBLIC_ROUTE_ID,
        &[("external_host", "iam.example.com"), ("scheme", "https")],
    );
    world.hook(LEADER, "public-route-relation-changed");
    assert_eq!(world.status(LEADER).0, "active");
    let rendered: serde_json::Value = serde_yaml_ng::from_str(&world.config(LEADER)).unwrap();
    let provider = &rendered["selfservice"]["methods"]["oidc"]["config"]["providers"][0];
    assert_eq!(provider["id"], "hydra");
    assert_eq!(provider["client_secret"], IDP_SECRET);
    assert_eq!(provider["scope"], serde_json::json!(["openid", "email"]));
    let answer: serde_json::Value =
        serde_json::from_str(&world.our_bag(IDP_ID)["providers"]).unwrap();
    assert_eq!(
        answer,
        serde_json::json!([{
            "provider_id": "hydra",
            "redirect_uri": "https://iam.example.com/self-service/methods/oidc/callback/hydra"
        }])
    );

    // Traefik goes: the providers are held back again and the answer is withdrawn.
    world
        .harness
        .state_mut()
        .relations
        .retain(|r| r.id != PUBLIC_ROUTE_ID);
    world.hook(LEADER, "public-route-relation-broken");
    assert_eq!(world.status(LEADER).0, "blocked");
    assert!(world.our_bag(IDP_ID).is_empty());
    assert!(!world.config(LEADER).contains("kratos-client"));
    world.relate(public_route(&[
        ("external_host", "iam.example.com"),
        ("scheme", "https"),
    ]));
    world.hook(LEADER, "public-route-relation-changed");
    assert!(world.our_bag(IDP_ID).contains_key("providers"));

    // The integrator withdraws its provider: Kratos drops it and clears its answer.
    world.set_remote(IDP_ID, &[]);
    world.hook(LEADER, "kratos-external-idp-relation-changed");
    assert!(!world.config(LEADER).contains("kratos-client"));
    assert!(world.our_bag(IDP_ID).is_empty());
}

#[test]
fn bad_idp_data_blocks_naming_the_key_and_keeps_the_workload_without_the_secret() {
    let mut world = World::active();
    world.relate(public_route(&[
        ("external_host", "iam.example.com"),
        ("scheme", "https"),
    ]));
    world.relate(idp_relation());
    world.hook(LEADER, "kratos-external-idp-relation-changed");
    assert_eq!(world.status(LEADER).0, "active");
    world.fake(LEADER).clear_calls();
    let bad =
        serde_json::json!([{"provider": "generic", "client_id": "c", "client_secret": IDP_SECRET}]);
    world.set_remote(IDP_ID, &[("providers", &bad.to_string())]);
    world.hook(LEADER, "kratos-external-idp-relation-changed");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("issuer_url") && message.contains("relation 12"),
        "{message}"
    );
    assert!(!message.contains(IDP_SECRET));
    world.assert_workload_untouched(LEADER);
    let logs = &world.harness.state().unit(LEADER).unwrap().logs;
    assert!(
        logs.iter().all(|l| !l.message.contains(IDP_SECRET)),
        "{logs:?}"
    );
}

#[test]
fn kratos_info_follows_the_routes_the_idps_and_the_config() {
    let mut world = World::active();
    world.relate(related(
        INFO_ID,
        "kratos-info",
        "kratos_info",
        "login-ui",
        &[],
    ));
    world.hook(LEADER, "kratos-info-relation-created");
    let bag = world.our_bag(INFO_ID);
    assert_eq!(
        bag["admin_endpoint"],
        "http://kratos.test-model.svc.cluster.local:4434"
    );
    assert_eq!(bag["mfa_enabled"], "True");
    assert!(!bag.contains_key("login_browser_endpoint"));
    assert!(!bag.contains_key("feature_flags"));

    world.relate(related(
        INTERNAL_ROUTE_ID,
        "internal-route",
        "traefik_route",
        "traefik-internal",
        &[("external_host", "10.64.140.43"), ("scheme", "http")],
    ));
    world.relate(public_route(&[
        ("external_host", "iam.example.com"),
        ("scheme", "https"),
    ]));
    world.relate(idp_relation());
    world.hook(LEADER, "internal-route-relation-changed");
    let bag = world.our_bag(INFO_ID);
    assert_eq!(bag["admin_endpoint"], "http://10.64.140.43");
    assert_eq!(
        bag["sessions_endpoint"],
        "http://10.64.140.43/sessions/whoami"
    );
    assert_eq!(
        bag["login_browser_endpoint"],
        "https://iam.example.com/self-service/login/browser"
    );
    // The rendered methods: lookup secrets come with enforce_mfa, linking with the IdP.
    assert_eq!(bag["feature_flags"], "backup_codes,account_linking");

    world.set_config("enforce_mfa", false);
    world.hook(LEADER, "config-changed");
    assert_eq!(world.our_bag(INFO_ID)["mfa_enabled"], "False");
    assert_eq!(world.our_bag(INFO_ID)["feature_flags"], "account_linking");
    // Followers never write the application bag.
    world.hook(FOLLOWER, "config-changed");
    assert_eq!(world.status(FOLLOWER).0, "active");
}

const CA_PEM: &str =
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY2E=\n-----END CERTIFICATE-----\n";

#[test]
fn related_cas_are_pushed_once_and_restart_kratos_and_leave_with_the_relation() {
    let mut world = World::active();
    world.relate(related(
        CA_ID,
        "receive-ca-cert",
        "certificate_transfer",
        "self-signed",
        &[],
    ));
    world.hook(LEADER, "receive-ca-cert-relation-created");
    assert_eq!(world.our_bag(CA_ID)["version"], "1");
    let certificates = serde_json::json!([CA_PEM]).to_string();
    world.set_remote(CA_ID, &[("certificates", &certificates), ("version", "1")]);
    world.fake(LEADER).clear_calls();
    world.hook(LEADER, "receive-ca-cert-relation-changed");
    let bundle = "/etc/config/kratos/ca-certificates/receive-ca-cert.crt";
    assert_eq!(world.fake(LEADER).file(bundle).unwrap(), CA_PEM.as_bytes());
    assert!(world.env(LEADER)["SSL_CERT_DIR"].ends_with(":/etc/config/kratos/ca-certificates"));
    let calls = world.fake(LEADER).calls();
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, juju_rs_ops_testing::PebbleCall::Restart(_))
                || matches!(c, juju_rs_ops_testing::PebbleCall::Replan)),
        "{calls:?}"
    );

    world.fake(LEADER).clear_calls();
    world.converge(LEADER);
    world.assert_workload_untouched(LEADER);

    world
        .harness
        .state_mut()
        .relations
        .retain(|r| r.id != CA_ID);
    world.hook(LEADER, "receive-ca-cert-relation-broken");
    assert!(!world.env(LEADER).contains_key("SSL_CERT_DIR"));
    assert_eq!(world.status(LEADER).0, "active");
}

// ---------------------------------------------------------------------------------------
// kratos-registration-webhook and kratos-login-webhook

const REGISTRATION_HOOKS: &str = "kratos-registration-webhook";
const LOGIN_HOOKS: &str = "kratos-login-webhook";
const API_KEY: &str = "k3y: never-shown";
const ROTATED_API_KEY: &str = "r0tated-key-never-shown";

/// A provider's bag as the current libraries write it.
fn webhook_bag(url: &str, secret_id: Option<&str>) -> Vec<(&'static str, String)> {
    let mut bag = vec![
        ("url", url.to_string()),
        ("body", "base64://ZnVuY3Rpb24oY3R4KSB7fQ==".to_string()),
        ("method", "POST".to_string()),
        ("mode", "after".to_string()),
        ("methods", "[]".to_string()),
        ("weight", "0".to_string()),
        ("response_ignore", "False".to_string()),
        ("response_parse", "True".to_string()),
    ];
    if let Some(id) = secret_id {
        bag.extend([
            ("auth_type", "api_key".to_string()),
            ("auth_config_name", "Authorization".to_string()),
            ("auth_config_value_secret", id.to_string()),
            ("auth_config_in", "header".to_string()),
        ]);
    }
    bag
}

fn webhook_relation(id: u32, endpoint: &str, app: &str, bag: &[(&str, String)]) -> Relation {
    let data: Vec<(&str, &str)> = bag.iter().map(|(k, v)| (*k, v.as_str())).collect();
    related(id, endpoint, &endpoint.replace('-', "_"), app, &data)
}

impl World {
    /// The provider's api-key secret, granted over `relation_id` when `granted`.
    fn api_key_secret(&mut self, app: &str, relation_id: u32, granted: bool) -> String {
        let mut secret = Secret::new(
            SecretOwner::Application(app.into()),
            [("auth-config-value", API_KEY)],
        );
        if granted {
            secret = secret.with_grant(relation_id, "kratos");
        }
        let id = secret.id.clone();
        self.harness.state_mut().secrets.push(secret);
        id
    }

    fn config_yaml(&self, unit: &str) -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(&self.config(unit)).expect("kratos.yaml is YAML")
    }

    /// The web-hook URLs of a hook list of kratos.yaml (`flows.<path>`).
    fn hook_urls(&self, unit: &str, path: &[&str]) -> Vec<String> {
        let mut node = &self.config_yaml(unit)["selfservice"]["flows"];
        for key in path {
            node = &node[*key];
        }
        node["hooks"]
            .as_sequence()
            .map(|hooks| {
                hooks
                    .iter()
                    .filter_map(|hook| hook["config"]["url"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `text` is in no status, log or hook-tool argument of any unit.
    fn assert_never_shown(&self, text: &str) {
        let state = self.harness.state();
        assert!(!state.app_status.message.contains(text));
        for (name, unit) in &state.units {
            assert!(!unit.status.message.contains(text), "{name} status");
            assert!(
                unit.logs.iter().all(|log| !log.message.contains(text)),
                "{name} logs"
            );
        }
        for call in &state.tool_calls {
            assert!(
                call.args.iter().all(|arg| !arg.contains(text)),
                "{} {:?}",
                call.tool,
                call.args
            );
        }
    }
}

#[test]
fn a_webhook_with_its_granted_api_key_renders_into_kratos_yaml() {
    let mut world = World::active();
    let secret_id = world.api_key_secret("user-verification-service", 8, true);
    let bag = webhook_bag("http://uvs.iam.svc:8080/api/v0/verify", Some(&secret_id));
    let relation = webhook_relation(8, REGISTRATION_HOOKS, "user-verification-service", &bag);
    world.harness.state_mut().relations.push(relation.clone());
    world.run(LEADER, &EventSpec::relation("changed", &relation, None));
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );
    assert_eq!(world.pushes(LEADER), 1);
    let config = world.config_yaml(LEADER);
    let oidc = &config["selfservice"]["flows"]["registration"]["after"]["oidc"]["hooks"];
    let hook = &oidc[0]["config"];
    assert_eq!(oidc[0]["hook"].as_str(), Some("web_hook"));
    assert_eq!(
        hook["url"].as_str(),
        Some("http://uvs.iam.svc:8080/api/v0/verify")
    );
    assert_eq!(hook["response"]["parse"].as_bool(), Some(true));
    // The key, typed: its ": " does not break the YAML.
    assert_eq!(hook["auth"]["type"].as_str(), Some("api_key"));
    assert_eq!(hook["auth"]["config"]["value"].as_str(), Some(API_KEY));
    assert_eq!(hook["auth"]["config"]["in"].as_str(), Some("header"));
    assert_eq!(oidc[1]["hook"].as_str(), Some("session"));
    world.assert_never_shown(API_KEY);
}

#[test]
fn an_ungranted_api_key_secret_blocks_and_leaves_the_workload_untouched() {
    let mut world = World::active();
    let before = world.config(LEADER);
    let secret_id = world.api_key_secret("tenant-service", 9, false);
    let bag = webhook_bag("http://tenant.iam.svc:8080/hook", Some(&secret_id));
    let relation = webhook_relation(9, LOGIN_HOOKS, "tenant-service", &bag);
    world.harness.state_mut().relations.push(relation.clone());
    world.run(LEADER, &EventSpec::relation("changed", &relation, None));
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains(LOGIN_HOOKS)
            && message.contains("tenant-service (relation 9)")
            && message.contains(&format!("juju grant-secret {secret_id} kratos")),
        "{message}"
    );
    world.assert_workload_untouched(LEADER);
    assert_eq!(world.config(LEADER), before);
    assert!(!before.contains("null"));

    // Granted: the next event renders it.
    let secret = world.harness.state_mut().secret_mut(&secret_id).unwrap();
    secret.grants.entry(9).or_default().insert("kratos".into());
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
    assert!(world
        .config(LEADER)
        .contains("http://tenant.iam.svc:8080/hook"));
    world.assert_never_shown(API_KEY);
}

#[test]
fn a_rotated_api_key_is_rendered_on_secret_changed() {
    let mut world = World::active();
    let secret_id = world.api_key_secret("tenant-service", 9, true);
    let bag = webhook_bag("http://tenant.iam.svc:8080/hook", Some(&secret_id));
    let relation = webhook_relation(9, LOGIN_HOOKS, "tenant-service", &bag);
    world.harness.state_mut().relations.push(relation.clone());
    world.run(LEADER, &EventSpec::relation("changed", &relation, None));
    assert!(world.config(LEADER).contains("never-shown"));
    world.fake(LEADER).clear_calls();

    let revision = world
        .harness
        .state_mut()
        .secret_mut(&secret_id)
        .unwrap()
        .add_revision([("auth-config-value", ROTATED_API_KEY)]);
    let event = EventSpec {
        secret_id: Some(secret_id.clone()),
        secret_revision: Some(revision),
        ..EventSpec::hook("secret-changed")
    };
    world.run(LEADER, &event);
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(world.pushes(LEADER), 1);
    let config = world.config(LEADER);
    assert!(config.contains(ROTATED_API_KEY), "{config}");
    assert!(!config.contains(API_KEY));
    world.assert_never_shown(ROTATED_API_KEY);
    world.assert_never_shown(API_KEY);
}

#[test]
fn garbage_webhook_data_blocks_naming_the_key_and_no_relation_is_half_used() {
    let mut world = World::active();
    let good = webhook_relation(
        8,
        LOGIN_HOOKS,
        "user-verification-service",
        &webhook_bag("http://uvs.iam.svc:8080/login", None),
    );
    world.harness.state_mut().relations.push(good.clone());
    world.run(LEADER, &EventSpec::relation("changed", &good, None));
    assert_eq!(world.status(LEADER).0, "active");
    let before = world.config(LEADER);
    world.fake(LEADER).clear_calls();

    // A second provider publishes garbage; a third one a good hook: neither is used.
    let mut bad = webhook_bag("http://tenant.iam.svc:8080/login", None);
    bad.push(("weight", "heavy".into()));
    let bad = webhook_relation(9, LOGIN_HOOKS, "tenant-service", &bad);
    let third = webhook_relation(
        10,
        LOGIN_HOOKS,
        "audit",
        &webhook_bag("http://audit.iam.svc/login", None),
    );
    world
        .harness
        .state_mut()
        .relations
        .extend([bad.clone(), third]);
    world.run(LEADER, &EventSpec::relation("changed", &bad, None));
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains(LOGIN_HOOKS)
            && message.contains("tenant-service (relation 9)")
            && message.contains("weight \"heavy\""),
        "{message}"
    );
    world.assert_workload_untouched(LEADER);
    assert_eq!(world.config(LEADER), before);

    // The broken relation gone, the other two are rendered.
    world.run(LEADER, &EventSpec::relation("broken", &bad, None));
    world.harness.state_mut().relations.retain(|r| r.id != 9);
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(
        world.hook_urls(LEADER, &["login", "after", "password"]),
        [
            "http://uvs.iam.svc:8080/login",
            "http://audit.iam.svc/login"
        ]
    );
}

#[test]
fn login_webhooks_of_several_relations_render_in_weight_order() {
    let mut world = World::active();
    let mut heavy = webhook_bag("http://a.iam.svc/first-related", None);
    heavy.push(("weight", "5".into()));
    let mut light = webhook_bag("http://b.iam.svc/second-related", None);
    light.push(("weight", "1".into()));
    light.push(("methods", r#"["password"]"#.into()));
    let mut before = webhook_bag("http://c.iam.svc/before", None);
    before.push(("mode", "before".into()));
    before.push(("methods", r#"["oidc"]"#.into()));
    let relations = [
        webhook_relation(8, LOGIN_HOOKS, "a", &heavy),
        webhook_relation(9, LOGIN_HOOKS, "b", &light),
        webhook_relation(10, LOGIN_HOOKS, "c", &before),
    ];
    world.harness.state_mut().relations.extend(relations);
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(
        world.hook_urls(LEADER, &["login", "after", "password"]),
        [
            "http://b.iam.svc/second-related",
            "http://a.iam.svc/first-related"
        ]
    );
    assert_eq!(
        world.hook_urls(LEADER, &["login", "after", "code"]),
        ["http://a.iam.svc/first-related"]
    );
    // A before-hook with methods is not dropped: Kratos's before phase is flow-wide.
    assert_eq!(
        world.hook_urls(LEADER, &["login", "before"]),
        ["http://c.iam.svc/before"]
    );
}

// ---- The published Traefik configuration: Traefik's schema and its routing ----

/// A Traefik router rule of the forms the charm uses: `Path(`p`)` or `PathPrefix(`p`)`.
fn rule_matches(rule: &str, path: &str) -> bool {
    if let Some(exact) = rule
        .strip_prefix("Path(`")
        .and_then(|r| r.strip_suffix("`)"))
    {
        return path == exact;
    }
    if let Some(prefix) = rule
        .strip_prefix("PathPrefix(`")
        .and_then(|r| r.strip_suffix("`)"))
    {
        return path.starts_with(prefix);
    }
    panic!("a rule this test cannot evaluate: {rule}")
}

/// The service URL Traefik sends `url` to through `config`, on the entrypoint its scheme
/// arrives at (traefik-k8s: `web` for http, `websecure` with TLS for https).
fn routed_to(config: &serde_json::Value, url: &str) -> Option<String> {
    let url = url::Url::parse(url).unwrap();
    let entry_point = if url.scheme() == "https" {
        "websecure"
    } else {
        "web"
    };
    let routers = config["http"]["routers"].as_object().unwrap();
    let matched: Vec<&serde_json::Value> = routers
        .values()
        .filter(|r| r["entryPoints"] == serde_json::json!([entry_point]))
        .filter(|r| rule_matches(r["rule"].as_str().unwrap(), url.path()))
        .collect();
    let router = matched.first()?;
    let service = router["service"].as_str().unwrap();
    Some(
        config["http"]["services"][service]["loadBalancer"]["servers"][0]["url"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

#[test]
fn published_routes_follow_traefiks_schema_and_route_every_url_the_charm_hands_out() {
    let schema: serde_json::Value = serde_json::from_str(include_str!(
        "../testdata/traefik/traefik-v3-file-provider.json"
    ))
    .unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .unwrap();

    let mut world = World::active();
    world.set_config("enable_passwordless_login_method", true);
    world.relate(public_route(&[
        ("external_host", "iam.example.com"),
        ("scheme", "https"),
    ]));
    world.relate(related(
        INTERNAL_ROUTE_ID,
        "internal-route",
        "traefik_route",
        "traefik-internal",
        &[("external_host", "10.64.140.43"), ("scheme", "http")],
    ));
    world.relate(idp_relation());
    world.relate(related(
        INFO_ID,
        "kratos-info",
        "kratos_info",
        "login-ui",
        &[],
    ));
    world.hook(LEADER, "config-changed");
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );

    let config_of = |id: u32| -> serde_json::Value {
        let bag = world.our_bag(id);
        assert_eq!(bag["raw"], "True");
        serde_yaml_ng::from_str(&bag["config"]).unwrap()
    };
    let public = config_of(PUBLIC_ROUTE_ID);
    let internal = config_of(INTERNAL_ROUTE_ID);
    for config in [&public, &internal] {
        let errors: Vec<String> = validator
            .iter_errors(config)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{config:#}");
        for (name, router) in config["http"]["routers"].as_object().unwrap() {
            let secure = router["entryPoints"] == serde_json::json!(["websecure"]);
            assert!(
                secure || router["entryPoints"] == serde_json::json!(["web"]),
                "{name}"
            );
            assert_eq!(
                secure,
                router.get("tls").is_some(),
                "{name}: TLS only on websecure"
            );
        }
    }

    let public_service = "http://kratos.test-model.svc.cluster.local:4433";
    let admin_service = "http://kratos.test-model.svc.cluster.local:4434";
    // Every public URL handed out: the redirect URI, the WebAuthn script at the relying
    // party's origin, kratos-info's browser login.
    let redirects: serde_json::Value =
        serde_json::from_str(&world.our_bag(IDP_ID)["providers"]).unwrap();
    let rendered: serde_json::Value = serde_yaml_ng::from_str(&world.config(LEADER)).unwrap();
    let origin = rendered["selfservice"]["methods"]["webauthn"]["config"]["rp"]["origins"][0]
        .as_str()
        .unwrap()
        .to_string();
    let info = world.our_bag(INFO_ID);
    for url in [
        redirects[0]["redirect_uri"].as_str().unwrap().to_string(),
        format!("{origin}/.well-known/webauthn.js"),
        info["login_browser_endpoint"].clone(),
    ] {
        assert!(url.starts_with("https://iam.example.com/"), "{url}");
        assert_eq!(
            routed_to(&public, &url).as_deref(),
            Some(public_service),
            "{url}"
        );
    }
    // The admin API is never public.
    assert_eq!(
        routed_to(&public, "https://iam.example.com/admin/identities"),
        None
    );
    // kratos-info's in-cluster endpoints reach the right API through the internal route.
    for (url, service) in [
        (
            format!("{}/admin/identities", info["admin_endpoint"]),
            admin_service,
        ),
        (info["sessions_endpoint"].clone(), public_service),
        (
            format!("{}/self-service/login/api", info["public_endpoint"]),
            public_service,
        ),
    ] {
        assert_eq!(
            routed_to(&internal, &url).as_deref(),
            Some(service),
            "{url}"
        );
    }
}

#[test]
fn idp_values_reach_kratos_verbatim_and_a_shared_provider_id_blocks() {
    let mut world = World::active();
    world.relate(public_route(&[
        ("external_host", "iam.example.com"),
        ("scheme", "https"),
    ]));
    let pem = "-----BEGIN PRIVATE KEY-----\nMIGT: x\n  *y\n-----END PRIVATE KEY-----";
    let apple = serde_json::json!([{
        "provider": "apple", "client_id": "0123", "id": "apple",
        "apple_team_id": "TEAM: 1", "apple_private_key_id": "'KID\"", "apple_private_key": pem,
    }]);
    world.relate(related(
        IDP_ID,
        "kratos-external-idp",
        "external_provider",
        "apple-idp",
        &[("providers", &apple.to_string())],
    ));
    world.hook(LEADER, "kratos-external-idp-relation-changed");
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );
    let rendered: serde_json::Value = serde_yaml_ng::from_str(&world.config(LEADER)).unwrap();
    let provider = &rendered["selfservice"]["methods"]["oidc"]["config"]["providers"][0];
    assert_eq!(provider["apple_private_key"], pem);
    assert_eq!(
        provider["client_id"], "0123",
        "a string, not the number 123"
    );
    assert_eq!(provider["apple_team_id"], "TEAM: 1");
    assert_eq!(provider["apple_private_key_id"], "'KID\"");

    world.fake(LEADER).clear_calls();
    let clash = serde_json::json!([{"provider": "google", "client_id": "g", "client_secret": "x", "id": "apple"}]);
    world.relate(related(
        IDP_ID + 100,
        "kratos-external-idp",
        "external_provider",
        "google-idp",
        &[("providers", &clash.to_string())],
    ));
    world.hook(LEADER, "kratos-external-idp-relation-changed");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("'apple'") && message.contains("own id"),
        "{message}"
    );
    world.assert_workload_untouched(LEADER);
}

// ---- Kubernetes: the ConfigMaps, the resources, trust (the in-memory API) ----

use charm_kratos::kubernetes::memory::InMemoryKube;
use charm_kratos::kubernetes::KubeError;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetStatus};
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, PodTemplateSpec};

impl World {
    fn run_kube(&mut self, unit: &str, name: &str, kube: &InMemoryKube) {
        if !self.keep_relation_cache {
            self.forget_relations();
        }
        let connector = Box::new(self.containers[unit].clone());
        self.harness.set_unit(unit);
        self.harness
            .run(&EventSpec::hook(name), connector, |ctx| {
                charm_kratos::dispatch::dispatch_with(ctx, Some(kube))
            })
            .expect("the hook succeeds");
    }
}

/// The namespace with the application's StatefulSet as Juju creates it (rolled out).
fn cluster() -> InMemoryKube {
    let kube = InMemoryKube::new("test-model");
    let mut sts = StatefulSet::default();
    sts.metadata.name = Some("kratos".into());
    sts.metadata.uid = Some("sts-uid-1".into());
    sts.metadata.generation = Some(1);
    let container = |name: &str| Container {
        name: name.into(),
        ..Container::default()
    };
    sts.spec = Some(StatefulSetSpec {
        replicas: Some(2),
        service_name: Some("kratos-endpoints".into()),
        template: PodTemplateSpec {
            metadata: None,
            spec: Some(PodSpec {
                containers: vec![container("charm"), container("kratos")],
                ..PodSpec::default()
            }),
        },
        ..StatefulSetSpec::default()
    });
    kube.stateful_sets.borrow_mut().insert("kratos".into(), sts);
    rolled_out(&kube);
    kube
}

/// Plays the StatefulSet controller: every pod runs the current generation.
fn rolled_out(kube: &InMemoryKube) {
    let mut sets = kube.stateful_sets.borrow_mut();
    let sts = sets.get_mut("kratos").unwrap();
    sts.status = Some(StatefulSetStatus {
        observed_generation: sts.metadata.generation,
        replicas: 2,
        ready_replicas: Some(2),
        updated_replicas: Some(2),
        current_revision: Some("r".into()),
        update_revision: Some("r".into()),
        ..StatefulSetStatus::default()
    });
}

fn config_map_data(kube: &InMemoryKube, name: &str, pairs: &[(&str, &str)]) {
    let mut maps = kube.config_maps.borrow_mut();
    let map = maps.entry(name.into()).or_insert_with(|| {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(name.into());
        cm
    });
    map.data = Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
}

fn calls(kube: &InMemoryKube, verb: &str) -> usize {
    kube.calls
        .borrow()
        .iter()
        .filter(|c| c.split(' ').next() == Some(verb))
        .count()
}

#[test]
fn the_leader_creates_the_configmaps_owned_by_the_statefulset_and_never_overwrites_them() {
    let mut world = World::active();
    let kube = cluster();
    world.run_kube(FOLLOWER, "config-changed", &kube);
    assert_eq!(
        calls(&kube, "create-configmap"),
        0,
        "followers do not create"
    );
    world.run_kube(LEADER, "config-changed", &kube);
    for name in ["identity-schemas", "oidc-providers"] {
        let cm = kube.config_maps.borrow()[name].clone();
        let labels = cm.metadata.labels.unwrap();
        assert_eq!(labels["juju-app-name"], "kratos");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "juju");
        let owner = &cm.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (owner.uid.as_str(), owner.controller),
            ("sts-uid-1", Some(true))
        );
        assert!(cm.data.is_none());
    }
    // An administrator's edits stay; a deleted ConfigMap comes back, empty.
    config_map_data(&kube, "oidc-providers", &[("idps.json", "[]")]);
    kube.config_maps.borrow_mut().remove("identity-schemas");
    world.run_kube(LEADER, "upgrade-charm", &kube);
    assert_eq!(
        kube.config_maps.borrow()["oidc-providers"]
            .data
            .as_ref()
            .unwrap()["idps.json"],
        "[]"
    );
    assert!(kube.config_maps.borrow()["identity-schemas"].data.is_none());
    assert_eq!(calls(&kube, "create-configmap"), 3);
}

const STAFF_SCHEMA: &str = r#"{"$id":"https://schemas.example.com/staff","type":"object","properties":{"traits":{"type":"object","properties":{"email":{"type":"string","format":"email","ory.sh/kratos":{"credentials":{"password":{"identifier":true}}}}}}}}"#;

#[test]
fn configmap_schemas_and_providers_reach_kratos_and_bad_content_blocks_keeping_the_workload() {
    let mut world = World::active();
    world.relate(public_route(&[
        ("external_host", "iam.example.com"),
        ("scheme", "https"),
    ]));
    let kube = cluster();
    world.run_kube(LEADER, "config-changed", &kube);
    // The first hook applied the library's requests: their pods roll out.
    rolled_out(&kube);
    config_map_data(
        &kube,
        "identity-schemas",
        &[("default.schema", "staff"), ("staff", STAFF_SCHEMA)],
    );
    let idps = serde_json::json!([{"provider": "github", "client_id": "gh-client", "client_secret": IDP_SECRET, "id": "github"}]);
    config_map_data(&kube, "oidc-providers", &[("idps.json", &idps.to_string())]);
    world.run_kube(LEADER, "update-status", &kube);
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );
    let rendered: serde_json::Value = serde_yaml_ng::from_str(&world.config(LEADER)).unwrap();
    assert_eq!(rendered["identity"]["default_schema_id"], "staff");
    assert_eq!(
        rendered["selfservice"]["methods"]["oidc"]["config"]["providers"][0]["id"],
        "github"
    );

    world.fake(LEADER).clear_calls();
    config_map_data(
        &kube,
        "oidc-providers",
        &[("idps.json", r#"[{"provider":"generic"}]"#)],
    );
    world.run_kube(LEADER, "update-status", &kube);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("oidc-providers")
            && message.contains("idps.json")
            && message.contains("client_id"),
        "{message}"
    );
    world.assert_workload_untouched(LEADER);
    config_map_data(
        &kube,
        "identity-schemas",
        &[("default.schema", "staff"), ("staff", "{")],
    );
    config_map_data(&kube, "oidc-providers", &[("idps.json", &idps.to_string())]);
    world.run_kube(LEADER, "update-status", &kube);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("identity-schemas") && message.contains("'staff'"),
        "{message}"
    );
    world.assert_workload_untouched(LEADER);
    config_map_data(&kube, "identity-schemas", &[]);
    world.run_kube(LEADER, "update-status", &kube);
    assert_eq!(world.status(LEADER).0, "active");
    let rendered: serde_json::Value = serde_yaml_ng::from_str(&world.config(LEADER)).unwrap();
    assert_ne!(
        rendered["identity"]["default_schema_id"], "staff",
        "the shipped schemas again"
    );
}

#[test]
fn without_trust_a_first_deploy_runs_and_a_configured_kratos_keeps_its_configuration() {
    let forbidden = || Some(KubeError::Forbidden("configmaps is forbidden".into()));
    // A first deploy without trust: Kratos runs (without the ConfigMaps), and the unit
    // says how to grant trust.
    let mut world = World::new();
    let kube = cluster();
    *kube.failure.borrow_mut() = forbidden();
    world.run_kube(LEADER, "install", &kube);
    world.run_kube(LEADER, "config-changed", &kube);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("juju trust kratos --scope=cluster"),
        "{message}"
    );
    assert!(!world.config(LEADER).is_empty(), "Kratos was configured");
    assert_eq!(
        world.fake(LEADER).service_state("kratos").as_deref(),
        Some("active")
    );

    // Trust granted: the ConfigMaps' providers are rendered.
    world.relate(public_route(&[
        ("external_host", "iam.example.com"),
        ("scheme", "https"),
    ]));
    *kube.failure.borrow_mut() = None;
    world.run_kube(LEADER, "update-status", &kube);
    let idps = serde_json::json!([{"provider": "github", "client_id": "gh-client", "client_secret": IDP_SECRET, "id": "github"}]);
    config_map_data(&kube, "oidc-providers", &[("idps.json", &idps.to_string())]);
    rolled_out(&kube);
    world.run_kube(LEADER, "update-status", &kube);
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );
    assert!(world.config(LEADER).contains("gh-client"));

    // Trust lost: what the ConfigMaps hold is unknown, so the running configuration (with
    // the admin's provider) stays until trust is back; then the pending change converges.
    world.fake(LEADER).clear_calls();
    *kube.failure.borrow_mut() = forbidden();
    world.set_config("log_level", "debug");
    world.run_kube(LEADER, "config-changed", &kube);
    assert!(world.status(LEADER).1.contains("juju trust"));
    world.assert_workload_untouched(LEADER);
    assert!(world.config(LEADER).contains("gh-client"));
    *kube.failure.borrow_mut() = None;
    world.run_kube(LEADER, "update-status", &kube);
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );
    let config = world.config(LEADER);
    assert!(config.contains("level: debug") && config.contains("gh-client"));
}

#[test]
fn an_unavailable_api_waits_and_keeps_the_workload() {
    let mut world = World::active();
    let kube = cluster();
    world.run_kube(LEADER, "update-status", &kube);
    world.fake(LEADER).clear_calls();
    *kube.failure.borrow_mut() = Some(KubeError::Unavailable("connection refused".into()));
    world.set_config("log_level", "debug");
    world.run_kube(LEADER, "config-changed", &kube);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "waiting");
    assert!(
        message.contains("Kubernetes API") && message.contains("connection refused"),
        "{message}"
    );
    world.assert_workload_untouched(LEADER);
}

#[test]
fn resources_are_applied_once_by_the_leader_and_the_rollout_is_waited_for() {
    let mut world = World::active();
    let kube = cluster();
    world.set_config("cpu", "500m");
    world.set_config("memory", "1Gi");
    world.run_kube(FOLLOWER, "config-changed", &kube);
    assert_eq!(calls(&kube, "apply"), 0, "only the leader applies");
    world.run_kube(LEADER, "config-changed", &kube);
    assert_eq!(calls(&kube, "apply"), 1);
    assert_eq!(world.status(LEADER).0, "maintenance");
    let sts = kube.stateful_sets.borrow()["kratos"].clone();
    let resources = sts.spec.unwrap().template.spec.unwrap().containers[1]
        .resources
        .clone()
        .unwrap();
    assert_eq!(resources.limits.unwrap()["cpu"].0, "0.5");
    assert_eq!(resources.requests.unwrap()["memory"].0, "200Mi");

    // The new pods are not rolled out yet: every unit waits; nothing is applied again.
    world.run_kube(LEADER, "update-status", &kube);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "waiting");
    assert!(message.contains("roll out"), "{message}");
    world.run_kube(FOLLOWER, "update-status", &kube);
    assert_eq!(world.status(FOLLOWER).0, "waiting");
    rolled_out(&kube);
    world.run_kube(LEADER, "update-status", &kube);
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(
        calls(&kube, "apply"),
        1,
        "the same resources are not applied twice"
    );
}

#[test]
fn refused_resources_block_with_the_apis_reason_and_kratos_keeps_running() {
    let mut world = World::active();
    let kube = cluster();
    *kube.refuse_apply.borrow_mut() = Some(KubeError::Invalid(
        "spec.template.spec.containers[1].resources.limits[cpu]: Invalid value".into(),
    ));
    world.set_config("cpu", "64");
    world.set_config("log_level", "debug");
    world.run_kube(LEADER, "config-changed", &kube);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("limits[cpu]") && message.contains("juju config"),
        "{message}"
    );
    assert!(world.config(LEADER).contains("level: debug"));
}

#[test]
fn the_last_unit_removes_the_configmaps() {
    let mut world = World::active();
    let kube = cluster();
    world.run_kube(LEADER, "config-changed", &kube);
    assert_eq!(kube.config_maps.borrow().len(), 2);
    world.harness.state_mut().units.remove(FOLLOWER);
    world.run_kube(LEADER, "remove", &kube);
    assert_eq!(
        kube.config_maps.borrow().len(),
        2,
        "a unit removed alone keeps them"
    );
    world
        .harness
        .state_mut()
        .units
        .get_mut(LEADER)
        .unwrap()
        .dying = true;
    world.run_kube(LEADER, "remove", &kube);
    assert!(kube.config_maps.borrow().is_empty());
}

// ---------------------------------------------------------------------------------------
// Observability: tracing (tracing v2) and metrics-endpoint (prometheus_scrape)

const TRACING_ID: u32 = 30;
const TEMPO_RECEIVERS: &str = r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo.cos.svc.cluster.local:4317"}, {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo.cos.svc.cluster.local:4318"}]"#;

fn tracing_relation(data: &[(&str, &str)]) -> Relation {
    related(TRACING_ID, "tracing", "tracing", "tempo", data)
}

impl World {
    fn restarted(&self, unit: &str) -> bool {
        use juju_rs_ops_testing::PebbleCall;
        self.fake(unit)
            .calls()
            .iter()
            .any(|c| matches!(c, PebbleCall::Restart(_) | PebbleCall::Replan))
    }

    fn tracing_env(&self, unit: &str) -> BTreeMap<String, String> {
        self.env(unit)
            .into_iter()
            .filter(|(k, _)| k.starts_with("TRACING_"))
            .collect()
    }
}

#[test]
fn tracing_asks_for_otlp_http_and_sends_traces_to_it_then_stops_with_the_relation() {
    let mut world = World::active();
    world.relate(tracing_relation(&[]));
    world.hook(LEADER, "tracing-relation-created");
    assert_eq!(world.our_bag(TRACING_ID)["receivers"], r#"["otlp_http"]"#);
    assert_eq!(world.status(LEADER).0, "active");
    assert!(world.tracing_env(LEADER).is_empty(), "nothing offered yet");

    world.set_remote(TRACING_ID, &[("receivers", TEMPO_RECEIVERS)]);
    world.fake(LEADER).clear_calls();
    world.hook(LEADER, "tracing-relation-changed");
    assert_eq!(world.status(LEADER).0, "active");
    let expected: BTreeMap<String, String> = [
        ("TRACING_PROVIDER", "otel"),
        (
            "TRACING_PROVIDERS_OTLP_SERVER_URL",
            "tempo.cos.svc.cluster.local:4318",
        ),
        ("TRACING_PROVIDERS_OTLP_INSECURE", "true"),
        ("TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO", "1.0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(world.tracing_env(LEADER), expected);
    assert_eq!(
        world.fake(LEADER).current_plan().services["courier"].environment,
        world.env(LEADER),
        "the courier traces too"
    );
    assert!(world.restarted(LEADER));

    // A follower sends its traces too, but never writes the application bag.
    world.hook(FOLLOWER, "tracing-relation-changed");
    assert_eq!(world.tracing_env(FOLLOWER), expected);

    world
        .harness
        .state_mut()
        .relations
        .retain(|r| r.id != TRACING_ID);
    world.fake(LEADER).clear_calls();
    world.hook(LEADER, "tracing-relation-broken");
    assert!(world.tracing_env(LEADER).is_empty());
    assert!(world.restarted(LEADER));
    assert_eq!(world.status(LEADER).0, "active");
}

#[test]
fn a_tls_receiver_is_sent_to_over_tls() {
    let mut world = World::active();
    world.relate(tracing_relation(&[(
        "receivers",
        r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "https://tempo.example.com:4318"}]"#,
    )]));
    world.hook(LEADER, "tracing-relation-changed");
    let env = world.tracing_env(LEADER);
    assert_eq!(
        env["TRACING_PROVIDERS_OTLP_SERVER_URL"],
        "tempo.example.com:4318"
    );
    assert_eq!(env["TRACING_PROVIDERS_OTLP_INSECURE"], "false");
}

#[test]
fn a_provider_without_otlp_http_is_a_notice_and_everything_else_converges() {
    let mut world = World::active();
    world.relate(tracing_relation(&[(
        "receivers",
        r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "agent.cos.svc.cluster.local:4317"}]"#,
    )]));
    world.set_config("log_level", "debug");
    world.hook(LEADER, "tracing-relation-changed");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "waiting");
    assert!(
        message.contains("otlp_http") && message.contains("tracing") && message.contains("tempo"),
        "{message}"
    );
    assert!(world.tracing_env(LEADER).is_empty(), "no tracing");
    assert_eq!(
        world.env(LEADER)["LOG_LEVEL"],
        "debug",
        "the config converged"
    );
    assert_eq!(
        world.fake(LEADER).service_state("kratos").as_deref(),
        Some("active")
    );

    // The provider enables the receiver: tracing starts and the notice goes.
    world.set_remote(TRACING_ID, &[("receivers", TEMPO_RECEIVERS)]);
    world.hook(LEADER, "tracing-relation-changed");
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(world.tracing_env(LEADER)["TRACING_PROVIDER"], "otel");
}

#[test]
fn garbage_tracing_data_blocks_naming_the_key_and_keeps_the_workload() {
    let mut world = World::active();
    for garbage in [
        "otlp_http please",
        r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "tempo:4318"}]"#,
    ] {
        world.relate(tracing_relation(&[("receivers", garbage)]));
        world.fake(LEADER).clear_calls();
        world.hook(LEADER, "tracing-relation-changed");
        let (status, message) = world.status(LEADER);
        assert_eq!(status, "blocked", "{garbage}");
        assert!(
            message.contains("tracing") && message.contains("receivers"),
            "{message}"
        );
        world.assert_workload_untouched(LEADER);
        world
            .harness
            .state_mut()
            .relations
            .retain(|r| r.id != TRACING_ID);
    }
    world.hook(LEADER, "tracing-relation-broken");
    assert_eq!(world.status(LEADER).0, "active");
}

const METRICS_ID: u32 = 31;

fn metrics_relation() -> Relation {
    related(
        METRICS_ID,
        "metrics-endpoint",
        "prometheus_scrape",
        "prometheus",
        &[],
    )
    .with_local_unit(FOLLOWER)
}

impl World {
    /// What `unit` wrote on relation `id`.
    fn unit_bag(&self, id: u32, unit: &str) -> BTreeMap<String, String> {
        self.harness.state().relation(id).unwrap().unit_bag(unit)
    }

    fn with_metrics_relation() -> World {
        let mut world = World::active();
        let state = world.harness.state_mut();
        state.bindings.insert("metrics-endpoint".into());
        state.units.get_mut(FOLLOWER).unwrap().address = "10.1.0.11".into();
        world.relate(metrics_relation());
        world
    }
}

#[test]
fn metrics_the_leader_publishes_jobs_topology_and_rules_and_every_unit_its_address() {
    let mut world = World::with_metrics_relation();
    world.hook(LEADER, "metrics-endpoint-relation-joined");
    world.hook(FOLLOWER, "metrics-endpoint-relation-joined");

    let app = world.our_bag(METRICS_ID);
    let jobs: serde_json::Value = serde_json::from_str(&app["scrape_jobs"]).unwrap();
    assert_eq!(
        jobs,
        serde_json::json!([{"metrics_path": "/admin/metrics/prometheus",
                            "static_configs": [{"targets": ["*:4434"]}]}])
    );
    let state = world.harness.state();
    let metadata: serde_json::Value = serde_json::from_str(&app["scrape_metadata"]).unwrap();
    assert_eq!(
        metadata,
        serde_json::json!({"model": state.model_name, "model_uuid": state.model_uuid,
                           "application": "kratos", "unit": LEADER, "charm_name": "kratos"})
    );

    for (unit, address) in [(LEADER, "10.1.0.10"), (FOLLOWER, "10.1.0.11")] {
        let bag = world.unit_bag(METRICS_ID, unit);
        assert_eq!(bag["prometheus_scrape_unit_address"], address);
        assert_eq!(bag["prometheus_scrape_unit_name"], unit);
        assert!(!bag.contains_key("prometheus_scrape_unit_path"), "{bag:?}");
    }
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(world.status(FOLLOWER).0, "active");
}

#[test]
fn metrics_followers_never_write_the_application_bag() {
    let mut world = World::with_metrics_relation();
    world.hook(FOLLOWER, "metrics-endpoint-relation-joined");
    assert!(world.our_bag(METRICS_ID).is_empty());
    assert_eq!(
        world.unit_bag(METRICS_ID, FOLLOWER)["prometheus_scrape_unit_name"],
        FOLLOWER
    );
    let follower_sets: Vec<_> = world
        .harness
        .state()
        .tool_calls
        .iter()
        .filter(|c| c.unit == FOLLOWER && c.tool == "relation-set")
        .collect();
    assert!(!follower_sets.is_empty(), "its unit bag is written");
    assert!(
        !follower_sets
            .iter()
            .any(|c| c.args.iter().any(|a| a == "--app")),
        "{follower_sets:?}"
    );
}

#[test]
fn metrics_alert_rules_have_the_rule_file_shape_and_the_topology_matchers() {
    let mut world = World::with_metrics_relation();
    world.hook(LEADER, "metrics-endpoint-relation-joined");
    let rules: serde_json::Value =
        serde_json::from_str(&world.our_bag(METRICS_ID)["alert_rules"]).unwrap();
    let state = world.harness.state();
    let matchers = format!(
        r#"juju_model="{}",juju_model_uuid="{}",juju_application="kratos""#,
        state.model_name, state.model_uuid
    );
    let groups = rules["groups"].as_array().unwrap();
    assert!(groups.len() >= 2);
    let mut alerts = Vec::new();
    for group in groups {
        assert!(group["name"].as_str().unwrap().ends_with("_rules"));
        for rule in group["rules"].as_array().unwrap() {
            alerts.push(rule["alert"].as_str().unwrap().to_string());
            assert!(rule["expr"].as_str().unwrap().contains(&matchers), "{rule}");
            assert!(rule["for"].is_string(), "{rule}");
            assert_eq!(rule["labels"]["juju_application"], "kratos");
            assert_eq!(rule["labels"]["juju_model_uuid"], state.model_uuid.as_str());
            assert_eq!(rule["labels"]["juju_charm"], "kratos");
            assert!(rule["annotations"]["summary"].is_string(), "{rule}");
        }
    }
    for expected in ["KratosDown", "HostDown", "HostMetricsMissing"] {
        assert!(alerts.iter().any(|a| a == expected), "{alerts:?}");
    }
    // Written once: an unchanged hook sends nothing.
    let before = world.harness.state().tool_calls.len();
    world.converge(LEADER);
    let sets = world.harness.state().tool_calls[before..]
        .iter()
        .filter(|c| c.tool == "relation-set")
        .count();
    assert_eq!(sets, 0);
}

#[test]
fn metrics_without_a_network_binding_publishes_the_pod_fqdn() {
    let mut world = World::active();
    world.relate(metrics_relation());
    world.hook(LEADER, "metrics-endpoint-relation-joined");
    let model = world.harness.state().model_name.clone();
    assert_eq!(
        world.unit_bag(METRICS_ID, LEADER)["prometheus_scrape_unit_address"],
        format!("kratos-0.kratos-endpoints.{model}.svc.cluster.local")
    );
    assert_eq!(world.status(LEADER).0, "active");
}

// ---- Observability: logging (Loki log targets) and grafana-dashboard ----

const LOKI_ID: u32 = 30;
const GRAFANA_ID: u32 = 31;
const LOG_LAYER: &str = "kratos-log-forwarding";

fn loki_push(unit: u32) -> String {
    format!("http://loki-{unit}.loki-endpoints.cos.svc.cluster.local:3100/loki/api/v1/push")
}

fn loki_endpoint(unit: u32) -> String {
    serde_json::json!({ "url": loki_push(unit) }).to_string()
}

fn loki_relation(units: &[(&str, &str)]) -> Relation {
    units.iter().fold(
        Relation::new(LOKI_ID, "logging", "loki_push_api", "loki"),
        |relation, (unit, endpoint)| relation.with_remote_unit(unit, [("endpoint", *endpoint)]),
    )
}

impl World {
    fn log_targets(&self, unit: &str) -> BTreeMap<String, juju_rs_ops::pebble::LogTarget> {
        self.fake(unit).current_plan().log_targets
    }

    /// The log targets that forward something (`services` not ending in `-all`).
    fn enabled_targets(&self, unit: &str) -> Vec<String> {
        self.log_targets(unit)
            .into_iter()
            .filter(|(_, t)| t.services.last().is_some_and(|s| s != "-all"))
            .map(|(name, _)| name)
            .collect()
    }

    fn log_layer_adds(&self, unit: &str) -> usize {
        self.fake(unit)
            .calls()
            .iter()
            .filter(|c| matches!(c, juju_rs_ops_testing::PebbleCall::AddLayer { label, .. } if label == LOG_LAYER))
            .count()
    }

    fn relation_sets(&self, unit: &str) -> usize {
        self.harness
            .state()
            .tool_calls_of(unit)
            .filter(|c| c.tool == "relation-set")
            .count()
    }
}

#[test]
fn every_unit_forwards_logs_to_each_loki_unit_and_stops_when_they_go() {
    let mut world = World::active();
    let (e0, e1) = (loki_endpoint(0), loki_endpoint(1));
    let relation = loki_relation(&[("loki/0", &e0), ("loki/1", &e1)]);
    world.relate(relation.clone());
    for unit in [LEADER, FOLLOWER] {
        world.run(
            unit,
            &EventSpec::relation("changed", &relation, Some("loki/1")),
        );
        assert_eq!(world.status(unit).0, "active");
        assert_eq!(world.enabled_targets(unit), ["loki/0", "loki/1"]);
        let target = &world.log_targets(unit)["loki/1"];
        assert_eq!(
            (target.r#type.as_str(), target.location.as_str()),
            ("loki", loki_push(1).as_str())
        );
        assert_eq!(target.services, ["all"]);
        assert_eq!(target.labels["juju_unit"], unit);
        assert_eq!(target.labels["product"], "Juju");
        assert_eq!(target.labels["charm"], "kratos");
        assert_eq!(target.labels["juju_model"], "test-model");
        assert_eq!(target.labels["juju_application"], "kratos");
        assert!(!target.labels["juju_model_uuid"].is_empty());
        // A layer of its own, and no restart for it.
        let layers = world.fake(unit).layers();
        assert!(layers
            .iter()
            .any(|(label, l)| label == LOG_LAYER && l.services.is_empty()));
        let calls = world.fake(unit).calls();
        assert!(
            !calls.iter().any(|c| matches!(
                c,
                juju_rs_ops_testing::PebbleCall::Restart(_)
                    | juju_rs_ops_testing::PebbleCall::Replan
            )),
            "{calls:?}"
        );
    }
    // The leader publishes the topology and the LogQL rules; the layer is not re-added.
    let bag = world.our_bag(LOKI_ID);
    assert!(
        bag["metadata"].contains(r#""charm_name":"kratos""#),
        "{bag:?}"
    );
    assert!(bag["alert_rules"].contains("juju_application"), "{bag:?}");
    world.fake(LEADER).clear_calls();
    world.converge(LEADER);
    assert_eq!(world.log_layer_adds(LEADER), 0);
    world.assert_workload_untouched(LEADER);

    // loki/1 departs: its target forwards nothing any more.
    world
        .harness
        .state_mut()
        .relation_mut(LOKI_ID)
        .unwrap()
        .remote_units
        .remove("loki/1");
    let departed = EventSpec {
        departing_unit: Some("loki/1".into()),
        ..EventSpec::relation("departed", &relation, Some("loki/1"))
    };
    world.run(LEADER, &departed);
    assert_eq!(world.enabled_targets(LEADER), ["loki/0"]);
    let gone = &world.log_targets(LEADER)["loki/1"];
    assert_eq!(
        (gone.services.as_slice(), gone.location.as_str()),
        (["-all".to_string()].as_slice(), "(removed)")
    );

    // The relation is removed: none forwards (the reference leaves the last one on).
    world
        .harness
        .state_mut()
        .relations
        .retain(|r| r.id != LOKI_ID);
    world.run(LEADER, &EventSpec::relation("broken", &relation, None));
    assert!(
        world.enabled_targets(LEADER).is_empty(),
        "{:?}",
        world.log_targets(LEADER)
    );
    assert_eq!(world.log_targets(LEADER).len(), 2);
    assert_eq!(world.status(LEADER).0, "active");
    world.fake(LEADER).clear_calls();
    world.converge(LEADER);
    assert_eq!(world.log_layer_adds(LEADER), 0);
}

#[test]
fn garbage_loki_endpoints_are_skipped_and_logs_flow_while_the_workload_waits() {
    let mut world = World::active();
    let good = loki_endpoint(2);
    let relation = loki_relation(&[
        ("loki/0", "not json"),
        ("loki/1", r#"{"url": "loki:3100"}"#),
        ("loki/2", &good),
        ("loki/3", ""),
    ]);
    world.relate(relation.clone());
    // Each unusable unit is a warning in the unit's log, no status: the rest converges.
    let log = juju_rs_ops::logging::JujuLog::new(tracing::Level::WARN, None);
    tracing::subscriber::with_default(log.subscriber(), || {
        world.run(
            LEADER,
            &EventSpec::relation("changed", &relation, Some("loki/0")),
        );
    });
    assert_eq!(log.pending(), 2);
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(world.enabled_targets(LEADER), ["loki/2"]);

    // A bad config stops the workload, not the log forwarding.
    world.set_config("log_level", "loud");
    let fixed = loki_endpoint(0);
    world
        .harness
        .state_mut()
        .relation_mut(LOKI_ID)
        .unwrap()
        .unit_data
        .insert(
            "loki/0".into(),
            BTreeMap::from([("endpoint".to_string(), fixed)]),
        );
    world.fake(LEADER).clear_calls();
    world.run(
        LEADER,
        &EventSpec::relation("changed", &relation, Some("loki/0")),
    );
    assert_eq!(world.status(LEADER).0, "blocked");
    assert_eq!(world.enabled_targets(LEADER), ["loki/0", "loki/2"]);
    assert_eq!(world.pushes(LEADER), 0);
}

fn decode_dashboard(content: &str) -> serde_json::Value {
    use base64::Engine;
    use std::io::Read;
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(content)
        .unwrap();
    let mut json = String::new();
    lzma_rust2::XzReader::new(compressed.as_slice(), false)
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

#[test]
fn the_leader_publishes_the_dashboard_once_with_the_references_identity() {
    let mut world = World::active();
    let relation = related(
        GRAFANA_ID,
        "grafana-dashboard",
        "grafana_dashboard",
        "grafana",
        &[],
    );
    world.relate(relation.clone());
    world.run(FOLLOWER, &EventSpec::relation("created", &relation, None));
    assert!(world.our_bag(GRAFANA_ID).is_empty());
    world.run(LEADER, &EventSpec::relation("created", &relation, None));
    let bag = world.our_bag(GRAFANA_ID);
    let dashboards: serde_json::Value = serde_json::from_str(&bag["dashboards"]).unwrap();
    let template = &dashboards["templates"]["file:kratos.json"];
    assert_eq!(template["charm"], "kratos");
    assert_eq!(template["dashboard_alt_uid"], "00243581eeb55c29");
    assert_eq!(template["inject_dropdowns"], true);
    assert_eq!(template["juju_topology"]["unit"], LEADER);
    assert_eq!(template["juju_topology"]["model"], "test-model");
    let dashboard = decode_dashboard(template["content"].as_str().unwrap());
    assert_eq!(dashboard["uid"], "be58e096517bdc04ef005b9a4c2a25ecf0f701d1");
    assert_eq!(dashboard["title"], "Kratos Operator Dashboard");
    assert!(dashboards["uuid"].as_str().is_some_and(|u| u.len() == 36));
    assert_eq!(world.status(LEADER).0, "active");

    // Unchanged content: nothing is written again (no relation-changed churn).
    let sets = world.relation_sets(LEADER);
    world.set_config("log_level", "debug");
    world.hook(LEADER, "config-changed");
    world.hook(LEADER, "upgrade-charm");
    assert_eq!(world.relation_sets(LEADER), sets);
    assert_eq!(world.our_bag(GRAFANA_ID), bag);
}

// ---- update-status: the steady-state shortcut, and what must still be noticed ----

impl World {
    /// The tool calls `unit` made in the last hook (from `since` on).
    fn tool_calls_since(&self, since: usize) -> Vec<String> {
        self.harness.state().tool_calls[since..]
            .iter()
            .map(|c| c.tool.clone())
            .collect()
    }

    fn tool_call_count(&self) -> usize {
        self.harness.state().tool_calls.len()
    }
}

#[test]
fn a_steady_update_status_costs_two_tool_calls_and_two_pebble_requests() {
    let mut world = World::active();
    world.hook(LEADER, "update-status");
    world.fake(LEADER).clear_calls();
    let before = world.tool_call_count();
    world.hook(LEADER, "update-status");
    let tools = world.tool_calls_since(before);
    assert_eq!(
        tools,
        ["state-get", "is-leader"],
        "no status-set: it did not change"
    );
    let requests = world.fake(LEADER).calls();
    assert_eq!(requests.len(), 2, "{requests:?}");
    world.assert_workload_untouched(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
}

#[test]
fn a_leader_deposed_without_a_hook_stops_its_courier_on_update_status() {
    let mut world = World::active();
    world.hook(LEADER, "update-status");
    // Leadership moves; the old leader gets no hook about it before update-status.
    world.harness.state_mut().leader = Some(FOLLOWER.into());
    world.hook(LEADER, "update-status");
    assert_eq!(
        world.fake(LEADER).service_state("courier").as_deref(),
        Some("inactive")
    );
}

#[test]
fn a_restarted_container_converges_in_full_on_update_status() {
    let mut world = World::active();
    world.hook(LEADER, "update-status");
    // The container restarted: Pebble lost the charm's layer (Pebble's boot id is the
    // node's and has not changed).
    world.containers.insert(LEADER.into(), container("v1.3.1"));
    world.hook(LEADER, "update-status");
    assert_eq!(
        world.fake(LEADER).service_state("kratos").as_deref(),
        Some("active")
    );
    assert_eq!(
        world.fake(LEADER).service_state("courier").as_deref(),
        Some("active")
    );
    assert!(!world.config(LEADER).is_empty());
}

#[test]
fn a_failing_workload_is_noticed_by_update_status() {
    let mut world = World::active();
    world.hook(LEADER, "update-status");
    world.fake(LEADER).set_service_state("kratos", "error");
    world.hook(LEADER, "update-status");
    // The full path ran: it started Kratos again.
    assert_eq!(
        world.fake(LEADER).service_state("kratos").as_deref(),
        Some("active")
    );
}

#[test]
fn the_status_is_written_only_when_it_changes() {
    let mut world = World::active();
    world.converge(LEADER);
    let before = world.tool_call_count();
    world.converge(LEADER);
    assert!(
        !world
            .tool_calls_since(before)
            .iter()
            .any(|t| t == "status-set"),
        "an unchanged status is not written again"
    );
    world.set_config("log_level", "nonsense");
    let before = world.tool_call_count();
    world.converge(LEADER);
    assert!(world
        .tool_calls_since(before)
        .iter()
        .any(|t| t == "status-set"));
    assert_eq!(world.status(LEADER).0, "blocked");
}

#[test]
fn a_hook_that_fails_records_nothing_and_its_retry_converges() {
    let mut world = World::active();
    world.hook(LEADER, "update-status");
    // The restart onto a new config fails (a Pebble change error): the hook fails, and
    // Juju discards its writes (status, unit state, databags) and retries it.
    world.set_config("log_level", "debug");
    world.fake(LEADER).set_failing_changes(true);
    let state_before = world.harness.state().clone();
    assert!(world
        .try_run(LEADER, &EventSpec::hook("config-changed"))
        .is_err());
    assert!(
        world.config(LEADER).contains("level: debug"),
        "the new config was pushed before the restart failed"
    );
    *world.harness.state_mut() = ModelState {
        config: state_before.config.clone(),
        ..state_before
    };
    // The retry: the file is already current, yet Kratos never restarted onto it.
    world.fake(LEADER).set_failing_changes(false);
    let restarts = world.fake(LEADER).service_restarts("kratos");
    world.hook(LEADER, "config-changed");
    assert_eq!(world.fake(LEADER).service_restarts("kratos"), restarts + 1);
    assert_eq!(world.env(LEADER)["LOG_LEVEL"], "debug");
    assert_eq!(world.status(LEADER).0, "active");
    // And the steady shortcut holds again only after that full convergence.
    world.fake(LEADER).clear_calls();
    world.hook(LEADER, "update-status");
    world.assert_workload_untouched(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
}

#[test]
fn a_push_pebble_refuses_blocks_keeping_the_workload_and_the_next_hook_converges() {
    let mut world = World::active();
    world.hook(LEADER, "update-status");
    let good = world.config(LEADER);
    // Pebble refuses the new config (its disk is full): no hook error (Juju would only
    // retry into the same wall), a status naming it, the old file and Kratos untouched.
    world.set_config("log_level", "debug");
    world.fake(LEADER).set_failing_pushes(true);
    world.converge(LEADER);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    for part in [CONFIG_FILE, "no space left on device", "free space"] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert_eq!(world.config(LEADER), good);
    assert_eq!(world.fake(LEADER).service_restarts("kratos"), 0);
    // Not steady: update-status converges in full, and so converges once space is freed.
    world.fake(LEADER).set_failing_pushes(false);
    world.hook(LEADER, "update-status");
    assert!(world.config(LEADER).contains("level: debug"));
    assert_eq!(world.fake(LEADER).service_restarts("kratos"), 1);
    assert_eq!(world.status(LEADER).0, "active");
}

// ---- Relations remembered between hooks ----

#[test]
fn with_every_integration_related_a_config_change_reads_only_the_peer_relation_again() {
    let mut world = World::active();
    world.relate(public_route(&[
        ("external_host", "iam.example.com"),
        ("scheme", "https"),
    ]));
    world.relate(related(
        INTERNAL_ROUTE_ID,
        "internal-route",
        "traefik_route",
        "traefik-internal",
        &[("external_host", "10.64.140.43"), ("scheme", "http")],
    ));
    world.relate(idp_relation());
    world.relate(related(
        INFO_ID,
        "kratos-info",
        "kratos_info",
        "login-ui",
        &[],
    ));
    world.relate(related(
        CA_ID,
        "receive-ca-cert",
        "certificate_transfer",
        "self-signed",
        &[],
    ));
    world.relate(login_ui_relation(3, &PAGES));
    world.relate(hydra_relation(&[
        ("admin_endpoint", "http://hydra.m.svc:4445"),
        ("public_endpoint", "https://hydra.example.com"),
    ]));
    world.converge(LEADER);
    // From here on the unit remembers what it read, as between real hooks.
    world.keep_relation_cache = true;
    world.converge(LEADER);
    world.set_config("log_level", "debug");
    let before = world.tool_call_count();
    world.hook(LEADER, "config-changed");
    let tools = world.tool_calls_since(before);
    assert!(world.config(LEADER).contains("level: debug"));
    // Only the peer relation (the application's own, never remembered) is read again,
    // and the remote bags that can hold a credential (pg-database's, the IdP's: never
    // remembered, see the next test).
    let relation_reads: Vec<&String> = tools
        .iter()
        .filter(|t| t.starts_with("relation-"))
        .collect();
    assert_eq!(
        relation_reads,
        [
            "relation-ids",
            "relation-list",
            "relation-get",
            "relation-get",
            "relation-get"
        ],
        "{tools:?}"
    );
    assert!(tools.len() <= 14, "{} calls: {tools:?}", tools.len());

    // A relation event refreshes that relation.
    world.set_remote(
        PUBLIC_ROUTE_ID,
        &[("external_host", "id.example.com"), ("scheme", "https")],
    );
    let relation = world
        .harness
        .state()
        .relation(PUBLIC_ROUTE_ID)
        .unwrap()
        .clone();
    world.run(LEADER, &EventSpec::relation("changed", &relation, None));
    assert!(world.config(LEADER).contains("https://id.example.com/"));
    // And a broken relation is gone.
    world.run(LEADER, &EventSpec::relation("broken", &relation, None));
    world
        .harness
        .state_mut()
        .relations
        .retain(|r| r.id != PUBLIC_ROUTE_ID);
    world.hook(LEADER, "config-changed");
    assert!(!world.config(LEADER).contains("id.example.com"));
}

#[test]
fn ports_are_opened_once_and_not_asked_again() {
    let mut world = World::active();
    let ports = &world.harness.state().unit(LEADER).unwrap().opened_ports;
    assert_eq!(ports.len(), 2, "{ports:?}");
    let before = world.tool_call_count();
    world.converge(LEADER);
    let tools = world.tool_calls_since(before);
    assert!(
        !tools
            .iter()
            .any(|t| t == "opened-ports" || t == "open-port"),
        "{tools:?}"
    );
}

// ---- Cleanup of expired data: the leader's schedule and the cleanup action ----

/// What Kratos v1.3.1 logs on a successful `kratos cleanup sql` with LOG_FORMAT=json
/// (its messages, recorded; other fields left out).
const CLEANUP_LOG: &str = concat!(
    r#"{"level":"info","msg":"Cleaning up records older than 2026-11-28 01:39:05.98 +0000 UTC m=+0.65\n"}"#,
    "\n",
    r#"{"level":"info","msg":"Cleaning up expired sessions"}"#,
    "\n",
    r#"{"level":"info","msg":"Cleaning up expired login flows"}"#,
    "\n",
    r#"{"level":"info","msg":"Successfully cleaned up the latest batch of the SQL database!"}"#,
    "\n",
);

impl World {
    /// Kratos's cleanup in `unit`'s container exits with `code` (and logs as it does).
    fn on_cleanup(&self, unit: &str, code: i32) {
        let stdout = if code == 0 {
            ""
        } else {
            "An error occurred while cleaning up expired data: pq: relation missing\n"
        };
        self.fake(unit).on_exec(["kratos", "cleanup"], move |_| {
            Ok(exit(code, stdout, CLEANUP_LOG))
        });
    }

    /// The `kratos cleanup` commands `unit` ran.
    fn cleanups(&self, unit: &str) -> Vec<juju_rs_ops::pebble::ExecRequest> {
        self.fake(unit)
            .exec_requests()
            .into_iter()
            .filter(|r| r.command.get(1).is_some_and(|c| c == "cleanup"))
            .collect()
    }

    /// Two active units whose containers clean up successfully, the cleanup every 6h.
    fn cleaning_every_6h() -> World {
        let mut world = World::active();
        world.on_cleanup(LEADER, 0);
        world.on_cleanup(FOLLOWER, 0);
        world.set_config("cleanup_interval", "6h");
        world
    }

    fn peer_bag(&self) -> BTreeMap<String, String> {
        self.harness
            .state()
            .relation(PEERS_ID)
            .unwrap()
            .app_bag("kratos")
    }

    /// The last run recorded in the peer bag, in seconds since the epoch.
    fn last_cleanup(&self) -> Option<u64> {
        charm_kratos::cleanup::last_run(&self.peer_bag())
    }

    /// Time passes: every recorded cleanup time (the peer bag's last run, the units'
    /// steady-state records of when the next one is due) moves `secs` into the past.
    fn cleanup_time_passes(&mut self, secs: u64) {
        let state = self.harness.state_mut();
        let relation = state.relation_mut(PEERS_ID).unwrap();
        let bag = relation.app_data.entry("kratos".into()).or_default();
        if let Some(last) = charm_kratos::cleanup::last_run(bag) {
            bag.extend(charm_kratos::cleanup::record(last - secs));
        }
        for unit in state.units.values_mut() {
            if let Some(text) = unit.state.get(charm_kratos::steady::KEY) {
                let mut record: serde_json::Value = serde_json::from_str(text).unwrap();
                if let Some(due) = record["cleanup_due"].as_u64() {
                    record["cleanup_due"] = (due - secs).into();
                }
                unit.state
                    .insert(charm_kratos::steady::KEY.into(), record.to_string());
            }
        }
    }
}

#[test]
fn the_cleanup_is_off_by_default() {
    let mut world = World::active();
    world.on_cleanup(LEADER, 0);
    world.converge(LEADER);
    world.hook(LEADER, "update-status");
    assert!(world.cleanups(LEADER).is_empty());
    assert_eq!(world.last_cleanup(), None);
}

#[test]
fn the_leader_cleans_up_when_due_with_the_services_environment_and_records_the_run() {
    let mut world = World::cleaning_every_6h();
    let before = charm_kratos::cleanup::now();
    world.converge(LEADER);
    let runs = world.cleanups(LEADER);
    assert_eq!(runs.len(), 1, "never run before: due at once");
    assert_eq!(
        runs[0].command.join(" "),
        "kratos cleanup sql -e --config /etc/config/kratos/kratos.yaml --keep-last 86400s \
         --database.cleanup.batch_size 10000 --database.cleanup.sleep.tables 0s"
    );
    assert_eq!(runs[0].environment["DSN"], world.env(LEADER)["DSN"]);
    assert_eq!(runs[0].environment["LOG_LEVEL"], "info");
    let last = world.last_cleanup().expect("the run is recorded");
    assert!(last >= before && last <= charm_kratos::cleanup::now());
    assert_eq!(world.status(LEADER).0, "active");
    // Not due again for 6 hours.
    world.converge(LEADER);
    assert_eq!(world.cleanups(LEADER).len(), 1);
}

#[test]
fn followers_never_clean_up() {
    let mut world = World::cleaning_every_6h();
    world.converge(FOLLOWER);
    world.hook(FOLLOWER, "update-status");
    assert!(world.cleanups(FOLLOWER).is_empty());
    assert_eq!(world.last_cleanup(), None, "followers record nothing");
}

#[test]
fn update_status_checks_the_schedule_without_a_tool_call_and_runs_a_due_cleanup() {
    let mut world = World::cleaning_every_6h();
    world.converge(LEADER);
    world.hook(LEADER, "update-status");
    let before = world.tool_call_count();
    world.hook(LEADER, "update-status");
    assert_eq!(world.tool_calls_since(before), ["state-get", "is-leader"]);
    assert_eq!(world.cleanups(LEADER).len(), 1, "not due");

    world.cleanup_time_passes(6 * 3600 + 1);
    let first = world.last_cleanup().unwrap();
    let before = world.tool_call_count();
    world.hook(LEADER, "update-status");
    assert_eq!(world.cleanups(LEADER).len(), 2, "due: the full path ran it");
    assert!(world.last_cleanup().unwrap() > first);
    let asked = world.tool_calls_since(before);
    assert_eq!(
        asked.iter().filter(|t| *t == "is-leader").count(),
        2,
        "leadership confirmed again right before the run: {asked:?}"
    );
    // Recorded: the next update-status takes the shortcut again.
    let before = world.tool_call_count();
    world.hook(LEADER, "update-status");
    assert_eq!(world.tool_calls_since(before), ["state-get", "is-leader"]);
}

#[test]
fn a_new_leader_continues_the_schedule_and_the_deposed_one_stops() {
    let mut world = World::cleaning_every_6h();
    world.converge(LEADER);
    world.hook(LEADER, "update-status");
    world.harness.state_mut().leader = Some(FOLLOWER.into());
    world.hook(FOLLOWER, "leader-elected");
    assert!(
        world.cleanups(FOLLOWER).is_empty(),
        "the old leader's run is recent"
    );
    world.cleanup_time_passes(6 * 3600 + 1);
    // The deposed leader learns of it only at its next hook: it does not clean up.
    world.hook(LEADER, "update-status");
    assert_eq!(world.cleanups(LEADER).len(), 1);
    world.hook(FOLLOWER, "update-status");
    assert_eq!(
        world.cleanups(FOLLOWER).len(),
        1,
        "the new leader runs it when due"
    );
}

#[test]
fn an_interval_change_reschedules_from_the_last_run() {
    let mut world = World::cleaning_every_6h();
    world.converge(LEADER);
    world.cleanup_time_passes(2 * 3600);
    world.set_config("cleanup_interval", "3h");
    world.hook(LEADER, "config-changed");
    assert_eq!(
        world.cleanups(LEADER).len(),
        1,
        "2h since the last run: not due"
    );
    world.set_config("cleanup_interval", "1h");
    world.hook(LEADER, "config-changed");
    assert_eq!(
        world.cleanups(LEADER).len(),
        2,
        "2h since the last run: due"
    );
    world.set_config("cleanup_interval", "off");
    world.cleanup_time_passes(30 * 24 * 3600);
    world.hook(LEADER, "config-changed");
    world.hook(LEADER, "update-status");
    assert_eq!(world.cleanups(LEADER).len(), 2, "off");
}

#[test]
fn bad_cleanup_options_block_naming_the_option_while_the_rest_converges() {
    let mut world = World::cleaning_every_6h();
    for (option, value, named) in [
        (
            "cleanup_interval",
            serde_json::json!("hourly"),
            "cleanup_interval",
        ),
        (
            "cleanup_interval",
            serde_json::json!("1m"),
            "shorter than 5m",
        ),
        (
            "cleanup_keep_last",
            serde_json::json!("1 week"),
            "cleanup_keep_last",
        ),
        (
            "cleanup_batch_size",
            serde_json::json!(0),
            "cleanup_batch_size",
        ),
    ] {
        let mut world = World::cleaning_every_6h();
        world.set_config(option, value);
        world.set_config("log_level", "debug");
        world.converge(LEADER);
        let (status, message) = world.status(LEADER);
        assert_eq!(status, "blocked", "{option}");
        assert!(message.contains(named), "{message}");
        assert!(message.contains("use "), "the fix: {message}");
        assert!(world.cleanups(LEADER).is_empty(), "{option}: no cleanup");
        // The rest of the charm still converged on the new config.
        assert!(world.config(LEADER).contains("level: debug"), "{option}");
    }
    world.set_config("cleanup_batch_size", 0);
    world.converge(LEADER);
    world.set_config("cleanup_batch_size", 500);
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(world.cleanups(LEADER).len(), 1);
}

#[test]
fn a_failed_scheduled_cleanup_is_logged_and_tried_again_one_interval_later() {
    let mut world = World::cleaning_every_6h();
    world.on_cleanup(LEADER, 1);
    world.converge(LEADER);
    assert_eq!(world.cleanups(LEADER).len(), 1);
    assert_eq!(world.status(LEADER).0, "active", "Kratos serves regardless");
    // (The failure goes to juju debug-log: tests/e2e_cleanup.rs reads it.)
    assert!(world.last_cleanup().is_some(), "the attempt is recorded");
    world.converge(LEADER);
    world.hook(LEADER, "update-status");
    assert_eq!(world.cleanups(LEADER).len(), 1, "not retried every hook");
    world.cleanup_time_passes(6 * 3600 + 1);
    world.hook(LEADER, "update-status");
    assert_eq!(world.cleanups(LEADER).len(), 2);
}

#[test]
fn the_scheduled_cleanup_waits_while_kratos_is_not_serving() {
    let mut world = World::cleaning_every_6h();
    let relation = world.harness.state().relation(DB_ID).cloned().unwrap();
    world.run(LEADER, &EventSpec::relation("broken", &relation, None));
    assert_eq!(world.status(LEADER).0, "blocked");
    assert!(world.cleanups(LEADER).is_empty(), "Kratos is stopped");
    assert_eq!(world.last_cleanup(), None, "still due");
}

fn run_action_with(
    world: &mut World,
    unit: &str,
    name: &str,
    params: serde_json::Value,
) -> juju_rs_ops_testing::state::ActionRun {
    let connector = Box::new(world.containers[unit].clone());
    world.harness.set_unit(unit);
    let serde_json::Value::Object(params) = params else {
        panic!("params are an object")
    };
    let (result, run) =
        world
            .harness
            .run_action(name, params, connector, charm_kratos::dispatch::dispatch);
    result.expect("the action's hook succeeds");
    run
}

#[test]
fn the_cleanup_action_is_refused_on_a_follower() {
    let mut world = World::active();
    world.on_cleanup(FOLLOWER, 0);
    let refused = run_action(&mut world, FOLLOWER, "cleanup");
    assert!(refused.failed);
    let message = refused.message.unwrap_or_default();
    assert!(
        message.contains("juju run kratos/leader cleanup"),
        "{message}"
    );
    assert!(world.cleanups(FOLLOWER).is_empty());
}

#[test]
fn the_cleanup_action_runs_now_with_its_params_and_reports_what_kratos_said() {
    let mut world = World::active();
    world.on_cleanup(LEADER, 0);
    let done = run_action_with(
        &mut world,
        LEADER,
        "cleanup",
        serde_json::json!({"keep-last": "2h", "batch-size": 50}),
    );
    assert!(!done.failed, "{:?}", done.message);
    let runs = world.cleanups(LEADER);
    assert_eq!(runs.len(), 1);
    let command = runs[0].command.join(" ");
    assert!(
        command.contains("--keep-last 7200s --database.cleanup.batch_size 50 "),
        "{command}"
    );
    let results = &done.results;
    assert_eq!(results["keep-last"], "2h");
    assert_eq!(results["batch-size"], "50");
    assert_eq!(results["cutoff"], "2026-11-28 01:39:05.98 +0000 UTC");
    assert_eq!(results["steps"], "sessions, login flows");
    assert!(results["output"]
        .as_str()
        .unwrap()
        .ends_with("Successfully cleaned up the latest batch of the SQL database!"));
    assert_eq!(results["next-scheduled-run"], "off (cleanup_interval)");
    assert_eq!(
        done.logs,
        ["Cleaning up expired data (keep-last 2h, batch-size 50)"]
    );
    // Recorded: with a schedule set now, the next run is one interval after this one.
    let recorded = world.last_cleanup().expect("recorded");
    assert_eq!(
        results["started"],
        charm_kratos::cleanup::timestamp(recorded)
    );
    world.set_config("cleanup_interval", "6h");
    world.converge(LEADER);
    assert_eq!(world.cleanups(LEADER).len(), 1, "not due after the action");
    // Without params, the options apply.
    let done = run_action(&mut world, LEADER, "cleanup");
    assert_eq!(done.results["keep-last"], "1d");
    assert_eq!(done.results["batch-size"], "10000");
    assert_ne!(done.results["next-scheduled-run"], "off (cleanup_interval)");
}

#[test]
fn the_cleanup_action_fails_clearly_and_records_nothing() {
    let mut world = World::active();
    world.on_cleanup(LEADER, 1);
    let failed = run_action(&mut world, LEADER, "cleanup");
    assert!(failed.failed);
    let message = failed.message.unwrap_or_default();
    assert!(
        message.starts_with("Cleanup of expired data failed: An error occurred")
            && message.contains("(exit code 1)"),
        "{message}"
    );
    assert!(!message.contains(DB_PASSWORD));
    assert_eq!(world.last_cleanup(), None);

    world.set_config("cleanup_keep_last", "a while");
    let failed = run_action(&mut world, LEADER, "cleanup");
    let message = failed.message.unwrap_or_default();
    assert!(
        message.starts_with("Invalid config cleanup_keep_last"),
        "{message}"
    );
    world.on_cleanup(LEADER, 0);
    let done = run_action_with(
        &mut world,
        LEADER,
        "cleanup",
        serde_json::json!({"keep-last": "0s"}),
    );
    assert!(!done.failed, "a param in place of the bad option");

    world.set_config("cleanup_keep_last", "24h");
    world.fake(LEADER).set_service_state("kratos", "inactive");
    let failed = run_action(&mut world, LEADER, "cleanup");
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("Kratos is not running"), "{message}");
}

// ---------------------------------------------------------------------------------------
// `juju refresh` from Canonical's Python charm (canonical/kratos-operator @530db02): the
// model, the containers and the cluster as the reference leaves them, then the hooks Juju
// runs with this charm. Each piece of the prepared state names the reference code it
// imitates.

use juju_rs_ops::pebble::Layer;

/// The reference's cookie secret (`token_hex(16)`, `src/charm.py` `_initialize_secrets`).
const REFERENCE_COOKIE: &str = "0123456789abcdef0123456789abcdef";
/// What the reference's `kratos.yaml` looks like (its content differs from this charm's).
const REFERENCE_CONFIG: &str = "identity:\n    default_schema_id: social_user_v0\n";
const REFERENCE_TEMPLATE: &str = "/etc/config/templates/recovery-body.html.gotmpl";
const REF_PUBLIC_ID: u32 = 40;
const REF_INTERNAL_ID: u32 = 41;
const REF_IDP_ID: u32 = 42;
const REF_INFO_ID: u32 = 43;
const REF_TRACING_ID: u32 = 44;
const REF_METRICS_ID: u32 = 45;
const REF_GRAFANA_ID: u32 = 46;
const REF_CA_ID: u32 = 47;
const REF_LOKI_ID: u32 = 48;
const REF_UI_ID: u32 = 49;

/// The reference's Pebble layer (`PEBBLE_LAYER_DICT`, `src/services.py`) with the
/// environment `render_pebble_layer` gives both services: `DEFAULT_CONTAINER_ENV`
/// (`src/env_vars.py`), `CharmConfig.to_env_vars` (`src/configs.py`, config defaults),
/// `Secrets.to_env_vars` (`src/secret.py`), `DatabaseConfig.to_env_vars` and the default
/// `SmtpData` (`src/integrations.py`). Startup `disabled`: the reference starts them.
fn reference_layer(cookie: &str, dsn: &str) -> Layer {
    let env = serde_json::json!({
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
        "SESSION_WHOAMI_REQUIRED_AAL": "highest_available",
        "SECRETS_COOKIE": serde_json::json!([cookie]).to_string(),
        "DSN": dsn,
        "COURIER_SMTP_CONNECTION_URI": "smtps://test:test@mailslurper:1025/?skip_ssl_verify=true",
    });
    let service = |summary: &str, command: &str| {
        serde_json::json!({"override": "replace", "summary": summary, "command": command,
                           "startup": "disabled", "environment": env})
    };
    let check = |level: &str, path: &str| {
        serde_json::json!({"override": "replace", "level": level,
                           "http": {"url": format!("http://localhost:4434/admin/health/{path}")}})
    };
    serde_json::from_value(serde_json::json!({
        "summary": "pebble layer",
        "description": "pebble layer for kratos",
        "services": {
            "kratos": service("entrypoint of the kratos image", "kratos serve all --config /etc/config/kratos/kratos.yaml"),
            "courier": service("kratos courier worker", "kratos courier watch --config /etc/config/kratos/kratos.yaml"),
        },
        "checks": {"ready": check("ready", "ready"), "alive": check("alive", "alive")},
    }))
    .unwrap()
}

/// The reference's `data_interfaces` requirer keeps a JSON copy of the provider's bag in
/// each unit's bag (`diff()`, `lib/charms/data_platform_libs/v0/data_interfaces.py`).
fn reference_diff_copy() -> String {
    serde_json::json!({
        "endpoints": "pg-0.pg-endpoints:5432", "username": "relation_id_1", "password": DB_PASSWORD,
    })
    .to_string()
}

impl World {
    /// Two units as the reference charm leaves them, its containers still running.
    fn as_the_reference_left_it() -> World {
        let mut world = World::new();
        let requested = charm_kratos::integrations::database::requested_secrets();
        let state = world.harness.state_mut();
        // `Secrets.__setitem__` (`src/secret.py`): `app.add_secret(content, label=...)`.
        state.secrets.push(
            Secret::new(
                SecretOwner::Application("kratos".into()),
                [("cookiesecret", REFERENCE_COOKIE)],
            )
            .with_label("cookie_secret"),
        );
        // `PeerData.__setitem__` (`src/integrations.py`): json.dumps values. The migration
        // record (`_on_database_created`, `src/charm.py`) and the leader nudge
        // (`_on_leader_elected`).
        state.relation_mut(PEERS_ID).unwrap().app_data.insert(
            "kratos".into(),
            [
                ("migration_version_1".to_string(), "\"v1.3.1\"".to_string()),
                ("leader".to_string(), "\"kratos/0\"".to_string()),
            ]
            .into(),
        );
        // `DatabaseRequires` (data_interfaces): the request on relation-created (leader),
        // `requested-secrets` in the leader's unit bag too, the diff copy in every unit's.
        let db = state.relation_mut(DB_ID).unwrap();
        db.app_data.insert(
            "kratos".into(),
            [
                ("database", "test-model_kratos"),
                ("extra-user-roles", "SUPERUSER"),
                ("requested-secrets", requested.as_str()),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        );
        db.unit_data.insert(
            LEADER.into(),
            [
                ("requested-secrets".to_string(), requested.clone()),
                ("data".to_string(), reference_diff_copy()),
            ]
            .into(),
        );
        db.unit_data.insert(
            FOLLOWER.into(),
            [("data".to_string(), reference_diff_copy())].into(),
        );
        for unit in [LEADER, FOLLOWER] {
            let unit_state = state.unit_mut(unit).unwrap();
            unit_state.status = juju_rs_ops_testing::state::StatusRecord::new("active", "");
            unit_state.workload_version = "v1.3.1".into();
        }
        for unit in [LEADER, FOLLOWER] {
            world.reference_container(unit);
        }
        world
    }

    /// `PebbleService.plan` (`src/services.py`): the layer combined under `kratos`, the
    /// config pushed, kratos restarted; `_configure_courier` (`src/charm.py`) restarts the
    /// courier on the leader only. `_holistic_handler` pushed the recovery template only
    /// if configured: here it was.
    fn reference_container(&self, unit: &str) {
        let fake = self.fake(unit);
        let dsn = format!(
            "postgres://relation_id_1:{DB_PASSWORD}@pg-0.pg-endpoints:5432/test-model_kratos"
        );
        fake.add_layer("kratos", &reference_layer(REFERENCE_COOKIE, &dsn), true)
            .unwrap();
        fake.add_file(CONFIG_FILE, REFERENCE_CONFIG);
        fake.add_file(REFERENCE_TEMPLATE, "Your code: {{ .RecoveryCode }}");
        fake.start(&["kratos"]).unwrap();
        if unit == LEADER {
            fake.start(&["courier"]).unwrap();
        }
        fake.clear_calls();
    }

    /// The hooks Juju 3.6 runs on a Kubernetes unit after `juju refresh`, with the new
    /// charm (the old charm ran `stop`): upgrade-charm, config-changed,
    /// leader-settings-changed (not on the leader), start, kratos-pebble-ready. No hook
    /// changes the model in between, so the unit keeps what it read.
    fn refresh(&mut self, unit: &str) {
        let keep = std::mem::replace(&mut self.keep_relation_cache, true);
        self.hook(unit, "upgrade-charm");
        self.hook(unit, "config-changed");
        if unit != LEADER {
            self.hook(unit, "leader-settings-changed");
        }
        self.hook(unit, "start");
        self.run(unit, &EventSpec::pebble_ready("kratos"));
        self.keep_relation_cache = keep;
    }

    fn migrations(&self, unit: &str) -> usize {
        self.fake(unit)
            .exec_requests()
            .iter()
            .filter(|r| r.command.get(1).is_some_and(|c| c == "migrate"))
            .count()
    }

    fn app_secrets(&self) -> Vec<Secret> {
        self.harness
            .state()
            .secrets
            .iter()
            .filter(|s| s.owner == SecretOwner::Application("kratos".into()))
            .cloned()
            .collect()
    }
}

#[test]
fn a_refresh_keeps_the_references_cookie_secret_and_migration_and_takes_over_its_layer() {
    let mut world = World::as_the_reference_left_it();
    world.refresh(LEADER);
    assert_eq!(world.status(LEADER), ("active".into(), String::new()));
    assert_eq!(world.migrations(LEADER), 0, "no second migration");
    // The same secret, read rather than made again: sessions stay valid.
    let secrets = world.app_secrets();
    assert_eq!(secrets.len(), 1, "{secrets:?}");
    assert_eq!(secrets[0].revisions.len(), 1);
    assert_eq!(
        world.env(LEADER)["SECRETS_COOKIE"],
        serde_json::json!([REFERENCE_COOKIE]).to_string()
    );
    // The same label and service names: this charm's definitions replace the reference's,
    // and its configuration replaced the reference's, restarting both services once.
    let plan = world.fake(LEADER).current_plan();
    assert_eq!(
        plan.services.keys().collect::<Vec<_>>(),
        ["courier", "kratos"]
    );
    let ours = charm_kratos::workload::layer(&world.env(LEADER));
    assert_eq!(plan.services, ours.services);
    assert_eq!(plan.checks, ours.checks);
    assert!(!world
        .env(LEADER)
        .contains_key("COURIER_TEMPLATE_OVERRIDE_PATH"));
    assert_ne!(world.config(LEADER), REFERENCE_CONFIG);
    assert_eq!(world.config(LEADER), World::active().config(LEADER));
    let leader = world.fake(LEADER);
    assert_eq!(leader.service_restarts("kratos"), 1);
    assert_eq!(leader.service_state("courier").as_deref(), Some("active"));
    // The record stays as it was; the leader nudge is gone.
    let peers = world.peer_bag();
    assert_eq!(peers["migration_version_1"], "\"v1.3.1\"");
    assert!(!peers.contains_key("leader"), "{peers:?}");
}

#[test]
fn a_refresh_that_replaced_the_pod_waits_for_the_container_then_converges_without_migrating() {
    let mut world = World::as_the_reference_left_it();
    // Kubernetes replaced the pod: the new container's Pebble is not up at upgrade-charm.
    let fresh = container("v1.3.1");
    fresh.add("kratos").set_cannot_connect(true);
    world.containers.insert(LEADER.into(), fresh);
    world.hook(LEADER, "upgrade-charm");
    assert_eq!(
        world.status(LEADER),
        ("waiting".into(), "Waiting for the kratos container".into())
    );
    world.fake(LEADER).set_cannot_connect(false);
    world.hook(LEADER, "config-changed");
    world.hook(LEADER, "start");
    world.run(LEADER, &EventSpec::pebble_ready("kratos"));
    assert_eq!(world.status(LEADER), ("active".into(), String::new()));
    assert_eq!(world.migrations(LEADER), 0, "no second migration");
    assert_eq!(
        world.env(LEADER)["SECRETS_COOKIE"],
        serde_json::json!([REFERENCE_COOKIE]).to_string()
    );
    assert_eq!(world.app_secrets().len(), 1);
}

#[test]
fn a_follower_refreshed_before_the_leader_reads_the_references_record_and_does_not_migrate() {
    let mut world = World::as_the_reference_left_it();
    // Kubernetes rolls the highest ordinal first: the leader still runs the reference.
    world.refresh(FOLLOWER);
    assert_eq!(world.status(FOLLOWER), ("active".into(), String::new()));
    assert_eq!(world.migrations(FOLLOWER), 0);
    let follower = world.fake(FOLLOWER);
    assert_eq!(follower.service_state("kratos").as_deref(), Some("active"));
    assert_eq!(
        follower.service_state("courier").as_deref(),
        Some("inactive")
    );
    assert_eq!(
        world.env(FOLLOWER)["SECRETS_COOKIE"],
        serde_json::json!([REFERENCE_COOKIE]).to_string()
    );
    // Its own unit bag is brought to this charm's shape; the application bags are the
    // leader's to change.
    let db = world.harness.state().relation(DB_ID).unwrap().clone();
    assert!(
        db.unit_bag(FOLLOWER).is_empty(),
        "{:?}",
        db.unit_bag(FOLLOWER)
    );
    assert!(db.unit_bag(LEADER).contains_key("data"));
    assert!(world.peer_bag().contains_key("leader"));
    assert_eq!(world.app_secrets().len(), 1);
}

#[test]
fn an_older_reference_revisions_migration_record_is_honoured_and_copied_to_this_charms_key() {
    let mut world = World::as_the_reference_left_it();
    // Revisions before the reference's August 2025 refactor: `db_migrate_version_<id>`.
    world
        .harness
        .state_mut()
        .relation_mut(PEERS_ID)
        .unwrap()
        .app_data
        .insert(
            "kratos".into(),
            [("db_migrate_version_1".to_string(), "\"v1.3.1\"".to_string())].into(),
        );
    world.refresh(FOLLOWER);
    assert_eq!(world.status(FOLLOWER).0, "active");
    world.refresh(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(world.migrations(LEADER) + world.migrations(FOLLOWER), 0);
    let peers = world.peer_bag();
    assert_eq!(peers["migration_version_1"], "\"v1.3.1\"");
    // Kept for units that still run such a revision during the rolling refresh.
    assert_eq!(peers["db_migrate_version_1"], "\"v1.3.1\"");
}

#[test]
fn a_refresh_onto_another_kratos_version_migrates_once_for_it() {
    let mut world = World::as_the_reference_left_it();
    // The refresh also brought a new image: the record is for the old version.
    set_kratos_version(&world.fake(LEADER), "v1.3.2");
    world.refresh(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(world.migrations(LEADER), 1);
    assert_eq!(world.peer_bag()["migration_version_1"], "\"v1.3.2\"");
}

#[test]
fn the_references_email_templates_are_removed_on_upgrade_charm() {
    let mut world = World::as_the_reference_left_it();
    world.hook(LEADER, "config-changed");
    assert!(world.fake(LEADER).file(REFERENCE_TEMPLATE).is_some());
    world.hook(LEADER, "upgrade-charm");
    assert!(world.fake(LEADER).file(REFERENCE_TEMPLATE).is_none());
    assert!(!world
        .fake(LEADER)
        .file_paths()
        .iter()
        .any(|p| p.starts_with("/etc/config/templates")));
    // Nothing there: nothing to do.
    world.hook(LEADER, "upgrade-charm");
    assert_eq!(world.status(LEADER).0, "active");
}

/// Every relation the reference writes on, with the remote side's data and (when
/// `reference_bags`) Kratos's side as the reference leaves it (the shapes captured in
/// shared/INTEGRATIONS.md from the reference and its libraries; values abridged where
/// this charm overwrites them anyway).
fn every_reference_relation(reference_bags: bool) -> Vec<Relation> {
    let ours = |relation: Relation, bag: &[(&str, &str)]| {
        if reference_bags {
            relation.with_app_data(
                "kratos",
                bag.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            )
        } else {
            relation
        }
    };
    let host = [("external_host", "iam.example.com"), ("scheme", "https")];
    let route_config = "http:\n  routers:\n    juju-test-model-kratos-public-api-router-schemas:\n      entryPoints:\n      - web\n      rule: PathPrefix(`/schemas`)\n      service: juju-test-model-kratos-public-api-service\n  services:\n    juju-test-model-kratos-public-api-service:\n      loadBalancer:\n        servers:\n        - url: http://kratos.test-model.svc.cluster.local:4433\n";
    let topology = r#"{"model": "test-model", "model_uuid": "6f3b7c2e-2d0a-4e1b-9c57-0a4d8e6b1f2c", "application": "kratos", "unit": "kratos/0", "charm_name": "kratos"}"#;
    let providers = serde_json::json!([{"provider": "generic", "client_id": "kratos-client", "id": "hydra", "issuer_url": "https://hydra.example.com", "client_secret": IDP_SECRET}]).to_string();
    let redirect = r#"[{"provider_id":"hydra","redirect_uri":"https://iam.example.com/self-service/methods/oidc/callback/hydra"}]"#;
    let certificates = serde_json::json!([CA_PEM]).to_string();
    let loki = serde_json::json!({"url": "http://loki-0.loki-endpoints.cos.svc.cluster.local:3100/loki/api/v1/push"}).to_string();
    let mut metrics = ours(
        related(REF_METRICS_ID, "metrics-endpoint", "prometheus_scrape", "prometheus", &[]),
        &[
            ("scrape_metadata", topology),
            ("scrape_jobs", r#"[{"metrics_path": "/metrics/prometheus", "static_configs": [{"targets": ["*:4434"]}]}]"#),
            ("alert_rules", r#"{"groups": []}"#),
        ],
    )
    .with_local_unit(FOLLOWER);
    if reference_bags {
        for (unit, address) in [(LEADER, "10.1.0.10"), (FOLLOWER, "10.1.0.11")] {
            metrics.unit_data.insert(
                unit.into(),
                [
                    (
                        "prometheus_scrape_unit_address".to_string(),
                        address.to_string(),
                    ),
                    ("prometheus_scrape_unit_name".to_string(), unit.to_string()),
                ]
                .into(),
            );
        }
    }
    vec![
        login_ui_relation(REF_UI_ID, &PAGES),
        ours(
            related(
                REF_PUBLIC_ID,
                "public-route",
                "traefik_route",
                "traefik-public",
                &host,
            ),
            &[("raw", "True"), ("config", route_config)],
        ),
        ours(
            related(
                REF_INTERNAL_ID,
                "internal-route",
                "traefik_route",
                "traefik-internal",
                &[("external_host", "10.64.140.43"), ("scheme", "http")],
            ),
            &[("raw", "True"), ("config", route_config)],
        ),
        ours(
            related(
                REF_IDP_ID,
                "kratos-external-idp",
                "external_provider",
                "hydra-idp",
                &[("providers", &providers)],
            ),
            &[("providers", redirect)],
        ),
        ours(
            related(REF_INFO_ID, "kratos-info", "kratos_info", "login-ui", &[]),
            &[
                ("admin_endpoint", "http://10.64.140.43"),
                ("public_endpoint", "http://10.64.140.43"),
                (
                    "login_browser_endpoint",
                    "https://iam.example.com/self-service/login/browser",
                ),
                ("sessions_endpoint", "http://10.64.140.43/sessions/whoami"),
                ("providers_configmap_name", "oidc-providers"),
                ("schemas_configmap_name", "identity-schemas"),
                ("configmaps_namespace", "test-model"),
                ("mfa_enabled", "True"),
                ("oidc_webauthn_sequencing_enabled", "False"),
                ("verification_enabled", "False"),
                ("feature_flags", "password,totp,backup_codes"),
            ],
        ),
        ours(
            related(
                REF_TRACING_ID,
                "tracing",
                "tracing",
                "tempo",
                &[("receivers", TEMPO_RECEIVERS)],
            ),
            &[("receivers", r#"["otlp_http"]"#)],
        ),
        metrics,
        ours(
            related(
                REF_GRAFANA_ID,
                "grafana-dashboard",
                "grafana_dashboard",
                "grafana",
                &[],
            ),
            &[(
                "dashboards",
                r#"{"templates": {"file:kratos.json": {"charm": "kratos", "content": "/Td6WFoAAATm1rRG", "juju_topology": {}, "inject_dropdowns": true, "dashboard_alt_uid": "00243581eeb55c29"}}, "uuid": "0cb428dd-027b-48aa-b347-211821076671"}"#,
            )],
        ),
        ours(
            related(
                REF_CA_ID,
                "receive-ca-cert",
                "certificate_transfer",
                "self-signed",
                &[("certificates", &certificates), ("version", "1")],
            ),
            &[("version", "1")],
        ),
        ours(
            Relation::new(REF_LOKI_ID, "logging", "loki_push_api", "loki")
                .with_remote_unit("loki/0", [("endpoint", loki.as_str())]),
            &[("metadata", topology), ("alert_rules", r#"{"groups": []}"#)],
        ),
    ]
}

/// Our application bag and each unit's bag on every relation but the peers'.
fn our_bags(world: &World) -> BTreeMap<(u32, String), BTreeMap<String, String>> {
    let state = world.harness.state();
    let mut bags = BTreeMap::new();
    for relation in state.relations.iter().filter(|r| r.id != PEERS_ID) {
        for member in ["kratos", LEADER, FOLLOWER] {
            let bag = if member == "kratos" {
                relation.app_bag(member)
            } else {
                relation.unit_bag(member)
            };
            bags.insert((relation.id, member.to_string()), bag);
        }
    }
    bags
}

fn with_bindings(world: &mut World) {
    let state = world.harness.state_mut();
    state.bindings.insert("metrics-endpoint".into());
    state.units.get_mut(FOLLOWER).unwrap().address = "10.1.0.11".into();
}

#[test]
fn every_relation_the_reference_wrote_on_is_republished_in_this_charms_shapes() {
    // This charm deployed afresh with the same integrations: the shapes it publishes.
    let mut fresh = World::active();
    with_bindings(&mut fresh);
    for relation in every_reference_relation(false) {
        fresh.relate(relation);
    }
    fresh.converge(LEADER);
    fresh.converge(FOLLOWER);
    assert_eq!(
        fresh.status(LEADER).0,
        "active",
        "{:?}",
        fresh.status(LEADER)
    );

    let mut world = World::as_the_reference_left_it();
    with_bindings(&mut world);
    for relation in every_reference_relation(true) {
        world.relate(relation);
    }
    let before = our_bags(&world);
    world.refresh(FOLLOWER);
    world.refresh(LEADER);
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );
    assert_eq!(world.status(FOLLOWER).0, "active");
    assert_eq!(world.migrations(LEADER) + world.migrations(FOLLOWER), 0);

    let after = our_bags(&world);
    let expected = our_bags(&fresh);
    for (key, bag) in &after {
        assert_eq!(
            Some(bag),
            expected.get(key),
            "relation {} bag of {}",
            key.0,
            key.1
        );
        // Consumers keep finding every key the reference wrote, but the library's private
        // copy of postgresql-k8s's bag (credentials included).
        for name in before[key].keys().filter(|k| *k != "data") {
            assert!(
                bag.contains_key(name),
                "relation {} bag of {} lost {name}",
                key.0,
                key.1
            );
        }
    }
    assert!(before[&(DB_ID, FOLLOWER.to_string())].contains_key("data"));
    assert!(!after
        .values()
        .any(|bag| bag.values().any(|v| v.contains(DB_PASSWORD))));
}

#[test]
fn the_configmaps_the_reference_created_are_adopted_and_never_written() {
    let mut world = World::as_the_reference_left_it();
    let kube = cluster();
    // `BaseConfigMap.create` (`src/configs.py`) on install: labels and the StatefulSet as
    // owner, no data; then the admin UI wrote a provider into `oidc-providers`.
    for name in ["identity-schemas", "oidc-providers"] {
        let sts = kube.stateful_sets.borrow()["kratos"].clone();
        let cm = charm_kratos::cluster::configmaps::new_config_map(
            name,
            "test-model",
            "kratos",
            Some(&sts),
        );
        kube.config_maps.borrow_mut().insert(name.into(), cm);
    }
    let idps = serde_json::json!([{"provider": "github", "client_id": "gh-client", "client_secret": IDP_SECRET, "id": "github"}]);
    config_map_data(&kube, "oidc-providers", &[("idps.json", &idps.to_string())]);
    world.relate(public_route(&[
        ("external_host", "iam.example.com"),
        ("scheme", "https"),
    ]));
    let before = kube.config_maps.borrow().clone();
    kube.calls.borrow_mut().clear();
    world.run_kube(LEADER, "upgrade-charm", &kube);
    world.run_kube(LEADER, "config-changed", &kube);
    rolled_out(&kube);
    world.run_kube(LEADER, "update-status", &kube);
    assert_eq!(world.status(LEADER), ("active".into(), String::new()));
    assert_eq!(*kube.config_maps.borrow(), before);
    let writes: Vec<String> = kube
        .calls
        .borrow()
        .iter()
        .filter(|c| c.contains("configmap") && !c.starts_with("get"))
        .cloned()
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert!(world.config(LEADER).contains("gh-client"));
    assert_eq!(world.migrations(LEADER), 0);
}

// ---------------------------------------------------------------------------------------
// rotate-cookie-secret

impl World {
    /// The cookie secrets `unit`'s Kratos runs with, signing first.
    fn cookies(&self, unit: &str) -> Vec<String> {
        serde_json::from_str(&self.env(unit)["SECRETS_COOKIE"]).expect("a JSON list")
    }

    fn peers_changed(&mut self, unit: &str) {
        let relation = self
            .harness
            .state()
            .relation(PEERS_ID)
            .expect("peers")
            .clone();
        self.run(unit, &EventSpec::relation("changed", &relation, None));
    }
}

#[test]
fn rotating_the_cookie_secret_keeps_the_previous_one_accepted_on_every_unit() {
    let mut world = World::active();
    let first = world.cookies(LEADER);
    assert_eq!(first.len(), 1);

    let run = run_action_with(
        &mut world,
        LEADER,
        "rotate-cookie-secret",
        serde_json::json!({}),
    );
    assert!(!run.failed, "{:?}", run.message);
    assert_eq!(run.results["previous-kept"], "true");
    let rotated = world.cookies(LEADER);
    assert_eq!(rotated.len(), 2);
    assert_ne!(rotated[0], first[0]);
    assert_eq!(rotated[1], first[0], "the old secret still verifies");
    assert_eq!(world.status(LEADER).0, "active");
    // The secret holds both, under the reference's key and ours.
    let secret = world
        .harness
        .state()
        .secret("cookie_secret")
        .unwrap()
        .clone();
    let latest = &secret.revisions.last().unwrap().content;
    assert_eq!(latest["cookiesecret"], rotated[0]);
    assert_eq!(latest["cookiesecret-previous"], first[0]);
    // The follower is woken through the peer bag and takes both.
    assert!(world.peer_bag().contains_key("cookie-secret-rotated"));
    world.peers_changed(FOLLOWER);
    assert_eq!(world.cookies(FOLLOWER), rotated);

    // A second rotation drops the first secret.
    run_action_with(
        &mut world,
        LEADER,
        "rotate-cookie-secret",
        serde_json::json!({}),
    );
    let again = world.cookies(LEADER);
    assert_eq!(again.len(), 2);
    assert_eq!(again[1], rotated[0]);
    assert!(!again.contains(&first[0]));
}

#[test]
fn rotating_without_keeping_the_previous_secret_leaves_only_the_new_one() {
    let mut world = World::active();
    let first = world.cookies(LEADER);
    let run = run_action_with(
        &mut world,
        LEADER,
        "rotate-cookie-secret",
        serde_json::json!({"keep-previous": false}),
    );
    assert!(!run.failed, "{:?}", run.message);
    assert_eq!(run.results["previous-kept"], "false");
    let now = world.cookies(LEADER);
    assert_eq!(now.len(), 1);
    assert_ne!(now, first);
}

#[test]
fn rotating_the_cookie_secret_is_refused_on_a_follower() {
    let mut world = World::active();
    let before = world.cookies(FOLLOWER);
    let run = run_action_with(
        &mut world,
        FOLLOWER,
        "rotate-cookie-secret",
        serde_json::json!({}),
    );
    assert!(run.failed);
    let message = run.message.unwrap_or_default();
    assert!(message.contains("kratos/leader"), "{message}");
    assert_eq!(world.cookies(FOLLOWER), before);
    assert_eq!(world.cookies(LEADER), before);
}
#[test]
fn remote_data_that_can_hold_a_credential_is_never_remembered_in_the_unit_state() {
    // The controller stores unit state unencrypted: the relation snapshot must not hold
    // the IdP's client secret, smtp's inline password nor postgresql's inline one.
    let mut world = World::active();
    world.relate(public_route(&[
        ("external_host", "iam.example.com"),
        ("scheme", "https"),
    ]));
    world.relate(idp_relation());
    let smtp_password = "legacy-smtp-pa55";
    world.relate(smtp_relation(&[
        ("host", "mail.example.com"),
        ("port", "587"),
        ("auth_type", "plain"),
        ("transport_security", "starttls"),
        ("skip_ssl_verify", "False"),
        ("user", "kratos"),
        ("password", smtp_password),
    ]));
    world.converge(LEADER);
    world.keep_relation_cache = true;
    world.converge(LEADER);
    world.set_config("log_level", "debug");
    world.hook(LEADER, "config-changed");
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );
    // Kratos still gets every one of them (read from Juju, not from the snapshot)...
    assert!(world.config(LEADER).contains(IDP_SECRET));
    assert!(world.env(LEADER)["COURIER_SMTP_CONNECTION_URI"].contains(smtp_password));
    assert!(world.env(LEADER)["DSN"].contains(DB_PASSWORD));
    // ... and the unit state remembers relations, but none of the secrets.
    let state = &world.harness.state().unit(LEADER).unwrap().state;
    let snapshot = &state[charm_kratos::dispatch::RELATION_CACHE_KEY];
    assert!(snapshot.contains("iam.example.com"), "{snapshot}");
    for secret in [IDP_SECRET, smtp_password, DB_PASSWORD] {
        assert!(
            state.values().all(|v| !v.contains(secret)),
            "{secret} in the unit state: {state:?}"
        );
    }
}

// ----- Faults of the workload (tests/faults_workload.rs) --------------------------------

/// Pebble went away after the push and before the restart (the hook failed): the next
/// hook finds the file already current, and must still restart Kratos onto it, since
/// Kratos runs what it was started with.
#[test]
fn a_pushed_config_whose_restart_never_happened_restarts_on_the_next_hook() {
    const TEMPLATE: &str = "<p>Your recovery code: {{ .RecoveryCode }}</p>";
    let mut world = World::active();
    // An option that changes only kratos.yaml (not the layer, whose change would replan).
    world.set_config("recovery_email_template", TEMPLATE);
    world.converge(LEADER);
    let debug = world.config(LEADER);
    world.set_config("recovery_email_template", "");
    world.converge(LEADER);
    assert_ne!(world.config(LEADER), debug);
    world.converge(LEADER);
    let fake = world.fake(LEADER);
    let restarts = fake.service_restarts("kratos");
    // What the failed hook left: the new file pushed, Kratos still on the old one.
    fake.add_file(CONFIG_FILE, debug.as_bytes());
    fake.clear_calls();
    world.set_config("recovery_email_template", TEMPLATE);
    world.converge(LEADER);
    assert_eq!(world.pushes(LEADER), 0, "the file is already current");
    assert_eq!(fake.service_restarts("kratos"), restarts + 1);
    assert_eq!(fake.service_restarts("courier"), restarts + 1);
    assert_eq!(world.status(LEADER), ("active".into(), String::new()));
    // Recorded: the hook after does not restart again.
    world.converge(LEADER);
    assert_eq!(fake.service_restarts("kratos"), restarts + 1);
}

/// A unit whose state has no record of what Kratos was started with (a revision that
/// kept none) trusts the files: no restart, and the record is written.
#[test]
fn no_record_of_the_started_config_trusts_the_files() {
    let mut world = World::active();
    world
        .harness
        .state_mut()
        .units
        .get_mut(LEADER)
        .unwrap()
        .state
        .remove("started-with");
    let restarts = world.fake(LEADER).service_restarts("kratos");
    world.converge(LEADER);
    assert_eq!(world.fake(LEADER).service_restarts("kratos"), restarts);
    let state = &world.harness.state().unit(LEADER).unwrap().state;
    assert!(state.contains_key("started-with"), "{state:?}");
}

/// Leadership moves before the leader created the ConfigMaps (it ran without the
/// Kubernetes API, as a leader that crashed first would have): the new leader, which never
/// led, creates them; the deposed one creates none.
#[test]
fn a_new_leader_creates_the_configmaps_the_old_one_never_did() {
    let mut world = World::active();
    let kube = cluster();
    world.harness.state_mut().leader = Some(FOLLOWER.into());
    world.run_kube(LEADER, "leader-settings-changed", &kube);
    assert_eq!(calls(&kube, "create-configmap"), 0, "the deposed leader");
    world.run_kube(FOLLOWER, "leader-elected", &kube);
    rolled_out(&kube);
    world.run_kube(FOLLOWER, "update-status", &kube);
    for name in ["identity-schemas", "oidc-providers"] {
        assert!(kube.config_maps.borrow().contains_key(name), "{name}");
    }
    assert_eq!(
        world.status(FOLLOWER).0,
        "active",
        "{:?}",
        world.status(FOLLOWER)
    );
    assert_eq!(
        world.fake(FOLLOWER).service_state("courier").as_deref(),
        Some("active")
    );
    assert_ne!(
        world.fake(LEADER).service_state("courier").as_deref(),
        Some("active")
    );
    assert_eq!(
        world.migrations(FOLLOWER),
        0,
        "the database was migrated already"
    );
}

// ---- Faults of the platform (issue 14; end to end in tests/faults_platform.rs) ----

/// The app's cookie secret in the model.
fn cookie_secret(world: &mut World) -> &mut Secret {
    world
        .harness
        .state_mut()
        .secrets
        .iter_mut()
        .find(|s| s.label.as_deref() == Some("cookie_secret"))
        .expect("the cookie secret")
}

#[test]
fn an_unusable_cookie_secret_blocks_keeps_kratos_and_is_never_replaced() {
    let mut world = World::active();
    let before = world.env(LEADER);
    let secrets_before = world.harness.state().secrets.len();
    for bad in [
        Vec::<(&str, &str)>::new(),
        vec![("cookiesecret", "")],
        vec![("cookiesecret", "0123456789abcde")],
    ] {
        cookie_secret(&mut world).add_revision(bad.clone());
        for unit in [LEADER, FOLLOWER] {
            world.fake(unit).clear_calls();
            world.converge(unit);
            let (status, message) = world.status(unit);
            assert_eq!(status, "blocked", "{bad:?}");
            assert!(
                message.starts_with("The cookie_secret secret is unusable")
                    && message.contains("rotate-cookie-secret keep-previous=false"),
                "{message}"
            );
            world.assert_workload_untouched(unit);
        }
        // The leader did not make a new one (that would end every session).
        assert_eq!(world.harness.state().secrets.len(), secrets_before);
    }
    assert_eq!(world.env(LEADER), before);
    // Restored: active again, on the same secret.
    let good = before["SECRETS_COOKIE"].clone();
    let good: Vec<String> = serde_json::from_str(&good).unwrap();
    cookie_secret(&mut world).add_revision([("cookiesecret", good[0].as_str())]);
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
    assert_eq!(world.env(LEADER), before);
}

#[test]
fn a_revoked_database_secret_blocks_naming_pg_database_without_a_crash() {
    let mut world = World::new();
    let secret = Secret::new(
        SecretOwner::Application("postgresql-k8s".into()),
        [("username", "u"), ("password", "from-secret")],
    )
    .with_grant(DB_ID, "kratos");
    let secret_id = secret.id.clone();
    world.harness.state_mut().secrets.push(secret);
    {
        let remote = world.db_remote();
        remote.remove("username");
        remote.remove("password");
        remote.insert("secret-user".into(), secret_id.clone());
    }
    world.hook(LEADER, "install");
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
    let before = world.env(LEADER);
    world.fake(LEADER).clear_calls();

    // postgresql-k8s revokes the grant: secret-get says "permission denied".
    world
        .harness
        .state_mut()
        .secrets
        .iter_mut()
        .find(|s| s.id == secret_id)
        .unwrap()
        .grants
        .clear();
    world.converge(LEADER);
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "blocked");
    assert!(
        message.contains("pg-database")
            && message.contains(&secret_id)
            && message.contains("grant"),
        "{message}"
    );
    assert!(!message.contains("from-secret"));
    world.assert_workload_untouched(LEADER);
    assert_eq!(world.env(LEADER), before);
}

#[test]
fn a_migration_that_times_out_waits_naming_the_database_and_runs_again() {
    let mut world = World::new();
    world.fake(LEADER).on_exec(["kratos", "migrate"], |_| {
        Err(PebbleError::Timeout(std::time::Duration::from_secs(120)))
    });
    world.hook(LEADER, "install");
    let (status, message) = world.status(LEADER);
    assert_eq!(status, "waiting");
    assert!(
        message.contains("pg-database") && message.contains("runs again"),
        "{message}"
    );
    assert!(world.fake(LEADER).file(CONFIG_FILE).is_none());

    world
        .fake(LEADER)
        .on_exec(["kratos", "migrate"], |_| Ok(exit(0, "", "")));
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "active");
}

#[test]
fn a_limit_another_field_manager_keeps_blocks_once_instead_of_applying_forever() {
    let mut world = World::active();
    let kube = cluster();
    world.run_kube(LEADER, "config-changed", &kube);
    rolled_out(&kube);
    world.run_kube(LEADER, "update-status", &kube);
    assert_eq!(world.status(LEADER).0, "active");
    // Another field manager set a cpu limit the options leave unset.
    kube.foreign_limits.borrow_mut().insert(
        "cpu".into(),
        k8s_openapi::apimachinery::pkg::api::resource::Quantity("2".into()),
    );
    {
        let mut sets = kube.stateful_sets.borrow_mut();
        let spec = sets.get_mut("kratos").unwrap().spec.as_mut().unwrap();
        let pod = spec.template.spec.as_mut().unwrap();
        let kratos = pod
            .containers
            .iter_mut()
            .find(|c| c.name == "kratos")
            .unwrap();
        kratos.resources.get_or_insert_with(Default::default).limits = Some(
            [(
                "cpu".to_string(),
                k8s_openapi::apimachinery::pkg::api::resource::Quantity("2".into()),
            )]
            .into(),
        );
    }
    for _ in 0..2 {
        world.run_kube(LEADER, "config-changed", &kube);
        let (status, message) = world.status(LEADER);
        assert_eq!(status, "blocked", "{message}");
        assert!(
            message.contains("another field manager") && message.contains("cpu=2"),
            "{message}"
        );
    }
    // It lets go: converged.
    kube.foreign_limits.borrow_mut().clear();
    world.run_kube(LEADER, "config-changed", &kube);
    rolled_out(&kube);
    world.run_kube(LEADER, "update-status", &kube);
    assert_eq!(world.status(LEADER).0, "active");
}

#[test]
fn an_unusable_cookie_secret_is_replaced_by_the_rotation_its_status_names() {
    let mut world = World::active();
    cookie_secret(&mut world).add_revision([("cookiesecret", "short")]);
    world.converge(LEADER);
    assert_eq!(world.status(LEADER).0, "blocked");
    let run = run_action_with(
        &mut world,
        LEADER,
        "rotate-cookie-secret",
        serde_json::json!({"keep-previous": false}),
    );
    assert!(!run.failed, "{:?}", run.message);
    assert_eq!(
        world.status(LEADER).0,
        "active",
        "{:?}",
        world.status(LEADER)
    );
    let cookies = world.cookies(LEADER);
    assert_eq!(cookies.len(), 1);
    assert_eq!(cookies[0].len(), 32);
    // Even asked to keep it, an unusable secret is never kept as the previous one.
    cookie_secret(&mut world).add_revision([("cookiesecret", "short")]);
    run_action_with(
        &mut world,
        LEADER,
        "rotate-cookie-secret",
        serde_json::json!({}),
    );
    assert_eq!(world.cookies(LEADER).len(), 1);
}
