//! The real Python `ops` library judges the emulator: a charm written with ops
//! (tests/ops-charm) runs under the Emulator through deploy, config changes, a relation
//! with remote data, a second unit, a leadership change, actions and relation removal.
//! If ops cannot parse a tool's output or rejects its behaviour, the hook fails here.
//!
//! Needs the pinned ops venv: `scripts/install-python-ops.sh`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use juju_rs_ops_testing::state::{
    secret_xid, PortRange, Relation, Secret, SecretOwner, StatusRecord,
};
use juju_rs_ops_testing::{ActionStatus, Emulator, Outcomes};
use serde_json::json;

fn venv() -> PathBuf {
    let venv = std::env::var_os("CHARM_KRATOS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache/charm-kratos/venv")
        });
    assert!(
        venv.join("bin/python3").is_file(),
        "the Python ops venv is missing at {}: run scripts/install-python-ops.sh first",
        venv.display()
    );
    venv
}

fn emulator() -> Emulator {
    let charm = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ops-charm");
    let mut emulator = Emulator::with_binary(charm, env!("CARGO_BIN_EXE_juju-emulator")).unwrap();
    emulator.set_env("CHARM_KRATOS_VENV", &venv().display().to_string());
    emulator
}

fn ok(outcomes: Outcomes) -> Outcomes {
    match outcomes.check() {
        Ok(outcomes) => outcomes,
        Err(e) => panic!("{e}"),
    }
}

fn bag(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn an_ops_charm_runs_correctly_under_the_emulator() {
    let mut emu = emulator();

    // Deploy one unit: Juju's start-up sequence, all hooks green under ops.
    let deployed = ok(emu.deploy(1).unwrap());
    assert_eq!(
        deployed.events(),
        [
            "fixture/0 install",
            "fixture/0 fixture-peers-relation-created",
            "fixture/0 leader-elected",
            "fixture/0 config-changed",
            "fixture/0 start",
            "fixture/0 workload-pebble-ready",
        ]
    );
    // ops logs through juju-log, reads config and leadership through the tools.
    let install = &deployed.0[0];
    assert!(install.calls_to("juju-log") > 0, "{:?}", install.tool_calls);
    assert_eq!(install.calls_to("config-get"), 1);
    let state = emu.state().unwrap();
    let unit = &state.units["fixture/0"];
    assert_eq!(unit.status, StatusRecord::new("active", "hello"));
    assert_eq!(unit.workload_version, "1.2.3");
    assert_eq!(
        unit.opened_ports.iter().cloned().collect::<Vec<_>>(),
        [PortRange::tcp(8080)]
    );
    assert!(unit
        .logs
        .iter()
        .any(|l| l.message.contains("reconciling on InstallEvent (event 1)")));
    assert_eq!(
        state.app_status,
        StatusRecord::new("active", "secret abc123")
    );
    let secret = state
        .secret("fixture-secret")
        .expect("the app secret exists");
    assert_eq!(secret.owner, SecretOwner::Application("fixture".into()));
    assert_eq!(secret.latest_content(), Some(&bag(&[("token", "abc123")])));
    assert_eq!(secret.revisions.len(), 1);
    let secret_id = secret.id.clone();

    // Config changes reconcile: new status message, port moved.
    ok(emu
        .set_config([("greeting", json!("hi")), ("port", json!(9090))])
        .unwrap());
    let state = emu.state().unwrap();
    let unit = &state.units["fixture/0"];
    assert_eq!(unit.status, StatusRecord::new("active", "hi"));
    assert_eq!(
        unit.opened_ports.iter().cloned().collect::<Vec<_>>(),
        [PortRange::tcp(9090)]
    );
    // ops parsed status-get (unit and application) and goal-state.
    let logged = |state: &juju_rs_ops_testing::state::ModelState, unit: &str, text: &str| {
        state.units[unit].logs.iter().any(|l| l.message == text)
    };
    assert!(logged(
        &state,
        "fixture/0",
        "previous unit status: active 'hello'"
    ));
    assert!(logged(
        &state,
        "fixture/0",
        "previous app status: active 'secret abc123'"
    ));
    assert!(logged(&state, "fixture/0", "planned units: 1"));
    ok(emu.set_config([("blocked", true)]).unwrap());
    assert_eq!(
        emu.state().unwrap().units["fixture/0"].status,
        StatusRecord::new("blocked", "blocked by config")
    );

    // A relation with remote data: ops reads both bags and writes ours; the leader grants
    // the secret over the relation.
    let (db, integrated) = emu
        .add_relation(
            Relation::new(0, "db", "", "pgsql")
                .with_remote_unit("pgsql/0", [("host", "10.0.0.5")])
                .with_remote_app_data([("database", "fixture-db")]),
        )
        .unwrap();
    let integrated = ok(integrated);
    assert_eq!(
        integrated.events(),
        [
            "fixture/0 db-relation-created",
            "fixture/0 db-relation-joined",
            "fixture/0 db-relation-changed",
            "fixture/0 db-relation-changed",
        ]
    );
    let state = emu.state().unwrap();
    let relation = state.relation(db).unwrap();
    assert_eq!(relation.interface, "fixture_db");
    assert_eq!(
        relation.unit_bag("fixture/0"),
        bag(&[
            ("seen", "fixture-db@10.0.0.5"),
            ("address", &state.units["fixture/0"].address)
        ])
    );
    let app_bag = relation.app_bag("fixture");
    assert_eq!(app_bag["requested-database"], "fixture-db");
    // ops names a secret it found by label `secret://<model uuid>/<id>`.
    assert_eq!(secret_xid(&app_bag["secret-id"]), secret_xid(&secret_id));
    assert_eq!(
        state
            .secret(&secret_id)
            .unwrap()
            .grants
            .get(&db)
            .map(|g| g.iter().cloned().collect::<Vec<_>>()),
        Some(vec!["pgsql".to_string()])
    );
    assert_eq!(
        state.units["fixture/0"].status,
        StatusRecord::new("active", "using fixture-db")
    );

    // Remote unit data changes arrive with -changed.
    ok(emu
        .set_remote_unit_data(db, "pgsql/0", [("host", "10.0.0.6")])
        .unwrap());
    let state = emu.state().unwrap();
    assert_eq!(
        state.relation(db).unwrap().unit_bag("fixture/0")["seen"],
        "fixture-db@10.0.0.6"
    );

    // A secret owned by the remote application and granted to us over the relation: ops
    // consumes it under a label, then follows its new revision on secret-changed.
    let remote = Secret::new(
        SecretOwner::Application("pgsql".into()),
        [("password", "pw-1")],
    )
    .with_grant(db, "fixture");
    let remote_id = remote.id.clone();
    emu.update_state(|s| s.secrets.push(remote)).unwrap();
    ok(emu
        .set_remote_app_data(
            db,
            [("database", "fixture-db"), ("password-secret", &remote_id)],
        )
        .unwrap());
    let state = emu.state().unwrap();
    assert_eq!(
        state.relation(db).unwrap().unit_bag("fixture/0")["password"],
        "pw-1"
    );
    let consumed = state.secret(&remote_id).unwrap();
    assert_eq!(consumed.consumer_labels["fixture/0"], "db-password");
    assert_eq!(consumed.tracked["fixture/0"], 1);
    emu.update_state(|s| {
        s.secret_mut(&remote_id)
            .unwrap()
            .add_revision([("password", "pw-2")])
    })
    .unwrap();
    let changed = ok(emu.secret_changed(&remote_id).unwrap());
    assert_eq!(changed.events(), ["fixture/0 secret-changed"]);
    let state = emu.state().unwrap();
    assert_eq!(
        state.relation(db).unwrap().unit_bag("fixture/0")["password"],
        "pw-2"
    );
    assert_eq!(state.secret(&remote_id).unwrap().tracked["fixture/0"], 2);

    // Actions: results (nested keys flattened by ops, nested again by Juju), logs, failure.
    let greet = emu
        .run_action(
            "fixture/0",
            "greet",
            json!({"name": "emulator"}).as_object().cloned().unwrap(),
        )
        .unwrap();
    assert_eq!(
        greet.status,
        ActionStatus::Completed,
        "{}",
        greet.dispatch.map(|d| d.stderr).unwrap_or_default()
    );
    assert_eq!(
        serde_json::Value::Object(greet.results),
        json!({"greeting": "hi, emulator!", "detail": {"length": "13"}})
    );
    assert_eq!(greet.logs, ["greeting emulator"]);
    let defaulted = emu
        .run_action("fixture/0", "greet", Default::default())
        .unwrap();
    assert_eq!(defaulted.results["greeting"], "hi, world!");
    let explode = emu
        .run_action("fixture/0", "explode", Default::default())
        .unwrap();
    assert_eq!(explode.status, ActionStatus::Failed);
    assert_eq!(
        explode.message.as_deref(),
        Some("kaboom: the explode action always fails")
    );
    assert_eq!(explode.logs, ["about to fail"]);
    assert!(
        explode.dispatch.as_ref().is_some_and(|d| d.succeeded()),
        "a failed action is not a failed hook"
    );
    assert!(emu.state().unwrap().action.is_none());

    // A second unit: a follower that joins the peer relation and the db relation.
    ok(emu.set_config([("blocked", false)]).unwrap());
    let (second, added) = emu.add_unit().unwrap();
    let added = ok(added);
    assert_eq!(second, "fixture/1");
    let events = added.events();
    assert!(
        events.contains(&"fixture/1 leader-settings-changed".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"fixture/1 db-relation-changed".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"fixture/0 fixture-peers-relation-joined".to_string()),
        "{events:?}"
    );
    let state = emu.state().unwrap();
    assert_eq!(
        state.units["fixture/1"].status,
        StatusRecord::new("active", "using fixture-db")
    );
    assert_eq!(
        state.relation(db).unwrap().unit_bag("fixture/1")["seen"],
        "fixture-db@10.0.0.6"
    );
    let owned = |s: &juju_rs_ops_testing::state::ModelState| {
        s.secrets
            .iter()
            .filter(|x| x.owner.app() == "fixture")
            .count()
    };
    assert_eq!(owned(&state), 1, "only the leader creates the secret");
    assert!(logged(&state, "fixture/1", "planned units: 2"));
    assert!(logged(
        &state,
        "fixture/1",
        "previous unit status: maintenance 'installing charm software'"
    ));
    assert_eq!(
        state.relation(db).unwrap().unit_bag("fixture/1")["password"],
        "pw-2"
    );

    // Leadership moves: the new leader finds the existing app secret by its label.
    let moved = ok(emu.set_leader("fixture/1").unwrap());
    assert_eq!(
        moved.events(),
        [
            "fixture/1 leader-elected",
            "fixture/0 leader-settings-changed"
        ]
    );
    let state = emu.state().unwrap();
    assert_eq!(
        state.app_status,
        StatusRecord::new("active", "secret abc123")
    );
    assert_eq!(owned(&state), 1);

    // The relation goes away: -departed then -broken on both units.
    let removed = ok(emu.remove_relation(db).unwrap());
    assert_eq!(
        removed.events(),
        [
            "fixture/0 db-relation-departed",
            "fixture/1 db-relation-departed",
            "fixture/0 db-relation-broken",
            "fixture/1 db-relation-broken",
        ]
    );
    let state = emu.state().unwrap();
    assert!(state.relation(db).is_none());
    for unit in ["fixture/0", "fixture/1"] {
        assert_eq!(
            state.units[unit].status,
            StatusRecord::new("blocked", "database relation removed")
        );
    }

    // ops warns through juju-log when a tool's output surprises it; the fixture itself
    // never logs above INFO.
    let complaints: Vec<_> = state
        .units
        .values()
        .flat_map(|u| u.logs.iter())
        .filter(|l| l.level != "DEBUG" && l.level != "INFO")
        .collect();
    assert!(complaints.is_empty(), "{complaints:?}");
}
