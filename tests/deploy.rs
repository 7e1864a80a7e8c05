//! Process-level tests of the charm: the compiled binary under the Juju emulator, each
//! unit driving a real Pebble whose workload is the stand-in `kratos` CLI
//! (tests/fixtures/stand-in-kratos; the end-to-end tests run the real Kratos).
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

use common::{ok, stand_in_kratos_dir, Deployment, Workload, APP, DB_ANSWER};
use juju_rs_ops_testing::state::{Secret, SecretOwner};

const UNIT0: &str = "kratos/0";

#[test]
fn deploy_to_active_then_config_changes_restart_only_when_the_file_changes() {
    let mut d = Deployment::new(1, &stand_in_kratos_dir());
    ok(d.emulator.deploy(1).expect("deploy"));
    let status = d.status(UNIT0);
    assert_eq!(
        (status.status.as_str(), status.message.as_str()),
        ("blocked", "Missing integration pg-database")
    );

    let (db_id, outcomes) = d.integrate_database(DB_ANSWER);
    ok(outcomes);
    let state = d.emulator.state().expect("state");
    let unit = &state.units[UNIT0];
    assert_eq!(unit.status.status, "active", "{:?}", unit.status);
    assert_eq!(unit.workload_version, "v26.2.0");
    let ports: Vec<u16> = unit.opened_ports.iter().map(|p| p.from).collect();
    assert_eq!(ports, vec![4433, 4434]);

    // The leader asked for the database as postgresql_client requirers do.
    let db = state.relation(db_id).expect("db relation");
    let ours = db.app_bag(APP);
    assert_eq!(ours["database"], format!("{}_kratos", state.model_name));
    assert_eq!(ours["extra-user-roles"], "SUPERUSER");

    // Migrated once and recorded in the peer application databag.
    let w = &d.workloads[0];
    assert_eq!(w.calls("migrate").len(), 1);
    let peer = state
        .relations
        .iter()
        .find(|r| r.endpoint == "kratos-peers")
        .expect("peer relation");
    assert_eq!(
        peer.app_bag(APP)[&format!("migration_version_{db_id}")],
        "\"v26.2.0\""
    );
    // The cookie secret exists, owned by the application.
    assert!(state
        .secrets
        .iter()
        .any(|s| s.label.as_deref() == Some("cookie_secret")));

    // The workload runs with the rendered config; the courier runs on the leader.
    let config = w
        .file("/etc/config/kratos/kratos.yaml")
        .expect("kratos.yaml pushed");
    assert!(config.contains("identity:"), "{config}");
    assert_eq!(w.service("kratos"), "active");
    assert_eq!(w.service("courier"), "active");
    let serves = w.calls("serve").len();
    assert!(serves >= 1);
    // The DSN reached the workload environment, but no hook output shows the password.
    let plan = {
        use juju_rs_ops::pebble::Pebble;
        w.pebble.client().plan().expect("plan")
    };
    let env = &plan.services["kratos"].environment;
    assert!(
        env["DSN"].contains("s3cr3t-p%40ss"),
        "DSN escapes the password"
    );
    assert!(state.units[UNIT0]
        .logs
        .iter()
        .all(|l| !l.message.contains("s3cr3t")));

    // An unchanged config restarts nothing.
    ok(d.emulator.update_status().expect("update-status"));
    assert_eq!(
        w.calls("serve").len(),
        serves,
        "no restart without a change"
    );

    // A changed config re-renders and restarts once, with the new environment.
    ok(d.emulator
        .set_config([("log_level", "debug")])
        .expect("config"));
    let after = w.calls("serve");
    assert_eq!(after.len(), serves + 1, "exactly one restart");
    assert_eq!(after.last().expect("serve")["env"]["LOG_LEVEL"], "debug");
    assert_eq!(d.status(UNIT0).status, "active");

    // Invalid config blocks with the option named and leaves the workload running.
    ok(d.emulator
        .set_config([("log_level", "verbose")])
        .expect("config"));
    let status = d.status(UNIT0);
    assert_eq!(status.status, "blocked");
    assert!(status.message.contains("log_level"), "{}", status.message);
    assert_eq!(w.service("kratos"), "active");
    assert_eq!(
        w.calls("serve").len(),
        serves + 1,
        "bad config restarts nothing"
    );
    // `warn` is accepted as Kratos's `warning`.
    ok(d.emulator
        .set_config([("log_level", "warn")])
        .expect("config"));
    assert_eq!(d.status(UNIT0).status, "active");
    assert_eq!(
        w.calls("serve").last().expect("serve")["env"]["LOG_LEVEL"],
        "warning"
    );

    // Bad relation data blocks naming the integration; fixing it recovers.
    ok(d.emulator
        .set_remote_app_data(
            db_id,
            [
                ("endpoints", "not-an-endpoint"),
                ("username", "u"),
                ("password", "p"),
            ],
        )
        .expect("bad data"));
    let status = d.status(UNIT0);
    assert_eq!(status.status, "blocked");
    assert!(status.message.contains("pg-database"), "{}", status.message);
    assert!(!status.message.contains("\"p\""));
    assert_eq!(
        w.service("kratos"),
        "active",
        "the last good workload keeps running"
    );
    ok(d.emulator
        .set_remote_app_data(db_id, DB_ANSWER.iter().copied())
        .expect("fixed"));
    assert_eq!(d.status(UNIT0).status, "active");

    // Removing the database stops Kratos and blocks.
    ok(d.emulator.remove_relation(db_id).expect("remove"));
    let status = d.status(UNIT0);
    assert_eq!(
        (status.status.as_str(), status.message.as_str()),
        ("blocked", "Missing integration pg-database")
    );
    assert_eq!(w.service("kratos"), "inactive");
    assert_eq!(w.service("courier"), "inactive");
}

#[test]
fn credentials_from_a_juju_secret() {
    let mut d = Deployment::new(1, &stand_in_kratos_dir());
    ok(d.emulator.deploy(1).expect("deploy"));
    // postgresql-k8s shares the credentials as a secret granted over the relation.
    let relation_id = d.emulator.state().expect("state").next_relation_id();
    let secret = Secret::new(
        SecretOwner::Application("postgresql-k8s".into()),
        [("username", "relation_id_9"), ("password", "from-secret")],
    )
    .with_grant(relation_id, APP);
    let secret_id = secret.id.clone();
    d.emulator
        .update_state(|s| s.secrets.push(secret))
        .expect("add secret");
    let (id, outcomes) = d.integrate_database(&[
        ("endpoints", "pg:5432"),
        ("secret-user", secret_id.as_str()),
    ]);
    assert_eq!(id, relation_id);
    ok(outcomes);
    assert_eq!(d.status(UNIT0).status, "active");
    use juju_rs_ops::pebble::Pebble;
    let plan = d.workloads[0].pebble.client().plan().expect("plan");
    assert_eq!(
        plan.services["kratos"].environment["DSN"],
        "postgres://relation_id_9:from-secret@pg:5432/test-model_kratos"
            .replace("test-model", &d.emulator.state().expect("state").model_name)
    );
}

#[test]
fn two_units_one_migrator_one_courier_and_leadership_moves_it() {
    let mut d = Deployment::new(2, &stand_in_kratos_dir());
    ok(d.emulator.deploy(2).expect("deploy"));
    let (_, outcomes) = d.integrate_database(DB_ANSWER);
    ok(outcomes);
    // The follower may have seen the database before the leader migrated; the next
    // event converges it.
    ok(d.emulator.update_status().expect("update-status"));
    for unit in ["kratos/0", "kratos/1"] {
        assert_eq!(d.status(unit).status, "active", "{unit}");
    }
    let (leader, follower) = (&d.workloads[0], &d.workloads[1]);
    assert_eq!(leader.calls("migrate").len(), 1);
    assert_eq!(
        follower.calls("migrate").len(),
        0,
        "only the leader migrates"
    );
    assert_eq!(leader.service("courier"), "active");
    assert_eq!(follower.service("courier"), "inactive");
    assert_eq!(follower.service("kratos"), "active");

    ok(d.emulator.set_leader("kratos/1").expect("leadership"));
    ok(d.emulator.update_status().expect("update-status"));
    assert_eq!(d.workloads[1].service("courier"), "active");
    assert_eq!(d.workloads[0].service("courier"), "inactive");
    assert_eq!(d.workloads[1].calls("migrate").len(), 0, "already migrated");
}

#[test]
fn a_failed_migration_blocks_the_leader_and_the_follower_waits() {
    let kratos = stand_in_kratos_dir();
    let mut d = Deployment::with_workloads(vec![
        Workload::start(&kratos, &[("STAND_IN_KRATOS_FAIL_MIGRATION", "1")]),
        Workload::start(&kratos, &[]),
    ]);
    ok(d.emulator.deploy(2).expect("deploy"));
    // Before postgresql-k8s answers, both wait for the database.
    let (db_id, outcomes) = d.integrate_database(&[("endpoints", "pg:5432")]);
    ok(outcomes);
    for unit in ["kratos/0", "kratos/1"] {
        let status = d.status(unit);
        assert_eq!(
            (status.status.as_str(), status.message.as_str()),
            ("waiting", "Waiting for database creation"),
            "{unit}"
        );
    }
    ok(d.emulator
        .set_remote_app_data(db_id, DB_ANSWER.iter().copied())
        .expect("answer"));
    let leader = d.status("kratos/0");
    assert_eq!(leader.status, "blocked");
    assert!(
        leader.message.contains("run-migration"),
        "{}",
        leader.message
    );
    let follower = d.status("kratos/1");
    assert_eq!(
        (follower.status.as_str(), follower.message.as_str()),
        ("waiting", "Waiting for leader unit to run the migration")
    );
    assert_ne!(
        d.workloads[1].service("kratos"),
        "active",
        "not started unmigrated"
    );
    let logs = &d.emulator.state().expect("state").units["kratos/0"].logs;
    assert!(logs.iter().any(|l| l.message.contains("migration failed")));
    assert!(
        logs.iter().all(|l| !l.message.contains("s3cr3t")),
        "{logs:?}"
    );
}
