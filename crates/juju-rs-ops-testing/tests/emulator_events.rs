//! The Emulator's event sequences and hook environment, observed by a shell-script charm
//! that records what each dispatch sees.

use std::path::{Path, PathBuf};
use std::time::Duration;

use juju_rs_ops_testing::state::{Relation, StatusRecord};
use juju_rs_ops_testing::{find_emulator_binary, ActionStatus, Emulator, EmulatorError, EventSpec};
use serde_json::json;

/// Records `unit|dispatch path|relation id|remote unit|remote app|departing unit|
/// workload|action|prefix var|unit var|charm dir is cwd`, plus what some tools print.
const DISPATCH: &str = r#"#!/bin/sh
set -e
cwd_ok=no; [ "$(pwd)" = "$JUJU_CHARM_DIR" ] && cwd_ok=yes
echo "$JUJU_UNIT_NAME|$JUJU_DISPATCH_PATH|${JUJU_RELATION_ID-}|${JUJU_REMOTE_UNIT-}|${JUJU_REMOTE_APP-}|${JUJU_DEPARTING_UNIT-}|${JUJU_WORKLOAD_NAME-}|${JUJU_ACTION_NAME-}|${FROM_PREFIX-}|${PER_UNIT-}|$cwd_ok" >> "$EVENTS_LOG"
case "$JUJU_DISPATCH_PATH" in
  hooks/db-relation-joined) echo "members: $(relation-list | tr '\n' ' ')" >> "$EVENTS_LOG" ;;
  hooks/config-changed)
    if [ "$(config-get fail)" = "True" ]; then echo "failing on purpose" >&2; exit 3; fi ;;
  hooks/slow) sleep 10 ;;
  hooks/count-links) echo "links: $(ip -o link | wc -l)" >> "$EVENTS_LOG" ;;
  actions/do) action-set "answer=$(action-get question)" ;;
  actions/backup) action-set "timeout=$(action-get timeout)" "email=$(action-get email)" ;;
esac
status-set active "$JUJU_DISPATCH_PATH"
"#;

struct Charm {
    _dir: tempfile::TempDir,
    path: PathBuf,
    log: PathBuf,
}

fn charm() -> Charm {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("charm");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(
        path.join("metadata.yaml"),
        "name: demo\ncontainers:\n  app: {}\n  sidecar: {}\nrequires:\n  db:\n    interface: demo_db\npeers:\n  peers:\n    interface: demo_peers\n",
    )
    .unwrap();
    std::fs::write(
        path.join("config.yaml"),
        "options:\n  fail: {type: boolean, default: false}\n  name: {type: string, default: demo}\n",
    )
    .unwrap();
    std::fs::write(
        path.join("actions.yaml"),
        concat!(
            "do:\n  params:\n    question: {type: string, default: why}\n",
            "backup:\n  params:\n    timeout: {type: number, default: 30}\n",
            "    email: {type: string}\n  required: [email]\n  additionalProperties: false\n",
        ),
    )
    .unwrap();
    // dispatch is a symlink to the script, as a Rust charm's dispatch links to its binary.
    let script = dir.path().join("script.sh");
    std::fs::write(&script, DISPATCH).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(&script, path.join("dispatch")).unwrap();
    let log = dir.path().join("events.log");
    Charm {
        _dir: dir,
        path,
        log,
    }
}

fn emulator(charm: &Charm) -> Emulator {
    let mut emu = Emulator::with_binary(&charm.path, env!("CARGO_BIN_EXE_juju-emulator")).unwrap();
    emu.set_env("EVENTS_LOG", &charm.log.display().to_string());
    emu
}

fn take_log(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    std::fs::remove_file(path).ok();
    text.lines().map(String::from).collect()
}

#[test]
fn deploy_and_add_unit_follow_juju_order_with_juju_env() {
    let charm = charm();
    let mut emu = emulator(&charm);
    emu.set_command_prefix(["env", "FROM_PREFIX=yes"]);
    emu.set_unit_env("demo/1", "PER_UNIT", "one");
    emu.set_unit_command_prefix("demo/1", ["env", "FROM_PREFIX=unit-1"]);
    let outcomes = emu.deploy(2).unwrap().check().unwrap();
    assert!(outcomes.0.iter().all(|d| d.calls_to("status-set") == 1));
    let per_unit = |unit: &str| if unit == "demo/1" { "one" } else { "" };
    let prefix = |unit: &str| if unit == "demo/1" { "unit-1" } else { "yes" };
    let line = |unit: &str, path: &str, remote_unit: &str, workload: &str| {
        let (rel, app) = if path.contains("peers-relation") {
            ("peers:0", "demo")
        } else {
            ("", "")
        };
        format!(
            "{unit}|hooks/{path}|{rel}|{remote_unit}|{app}||{workload}||{}|{}|yes",
            prefix(unit),
            per_unit(unit)
        )
    };
    let mut expected = Vec::new();
    for (unit, leadership) in [
        ("demo/0", "leader-elected"),
        ("demo/1", "leader-settings-changed"),
    ] {
        for path in [
            "install",
            "peers-relation-created",
            leadership,
            "config-changed",
            "start",
        ] {
            expected.push(line(unit, path, "", ""));
        }
        expected.push(line(unit, "app-pebble-ready", "", "app"));
        expected.push(line(unit, "sidecar-pebble-ready", "", "sidecar"));
    }
    for (on, about) in [("demo/1", "demo/0"), ("demo/0", "demo/1")] {
        expected.push(line(on, "peers-relation-joined", about, ""));
        expected.push(line(on, "peers-relation-changed", about, ""));
    }
    assert_eq!(take_log(&charm.log), expected);
    let state = emu.state().unwrap();
    assert_eq!(state.leader.as_deref(), Some("demo/0"));
    assert_eq!(state.relations.len(), 1);
    assert_eq!(state.relations[0].local_units.len(), 2);
    assert_eq!(
        state.units["demo/1"].status,
        StatusRecord::new("active", "hooks/peers-relation-changed")
    );
    // Each unit has its own copy of the charm.
    assert!(emu.unit_charm_dir("demo/1").join("metadata.yaml").is_file());
    assert_ne!(emu.unit_charm_dir("demo/0"), emu.unit_charm_dir("demo/1"));
}

#[test]
fn relations_join_one_remote_unit_at_a_time_and_depart_before_breaking() {
    let charm = charm();
    let mut emu = emulator(&charm);
    emu.deploy(1).unwrap().check().unwrap();
    take_log(&charm.log);
    let (id, outcomes) = emu
        .add_relation(
            Relation::new(0, "db", "", "pg")
                .with_remote_unit("pg/0", [("host", "a")])
                .with_remote_unit("pg/1", [("host", "b")])
                .with_remote_app_data([("database", "demo")]),
        )
        .unwrap();
    outcomes.check().unwrap();
    assert_eq!(id, 1, "the peer relation took id 0");
    assert_eq!(
        take_log(&charm.log),
        [
            "demo/0|hooks/db-relation-created|db:1||pg||||||yes",
            "demo/0|hooks/db-relation-joined|db:1|pg/0|pg||||||yes",
            "members: pg/0 ",
            "demo/0|hooks/db-relation-changed|db:1|pg/0|pg||||||yes",
            "demo/0|hooks/db-relation-joined|db:1|pg/1|pg||||||yes",
            "members: pg/0 pg/1 ",
            "demo/0|hooks/db-relation-changed|db:1|pg/1|pg||||||yes",
            "demo/0|hooks/db-relation-changed|db:1||pg||||||yes",
        ]
    );
    assert_eq!(
        emu.state().unwrap().relation(id).unwrap().interface,
        "demo_db"
    );

    emu.set_remote_app_data(id, [("database", "other")])
        .unwrap()
        .check()
        .unwrap();
    assert_eq!(
        take_log(&charm.log),
        ["demo/0|hooks/db-relation-changed|db:1||pg||||||yes"]
    );
    assert_eq!(
        emu.state().unwrap().relation(id).unwrap().app_bag("pg")["database"],
        "other"
    );

    emu.remove_relation(id).unwrap().check().unwrap();
    assert_eq!(
        take_log(&charm.log),
        [
            "demo/0|hooks/db-relation-departed|db:1|pg/0|pg|pg/0|||||yes",
            "demo/0|hooks/db-relation-departed|db:1|pg/1|pg|pg/1|||||yes",
            "demo/0|hooks/db-relation-broken|db:1||pg||||||yes",
        ]
    );
    assert!(emu.state().unwrap().relation(id).is_none());
    assert!(matches!(
        emu.remove_relation(id),
        Err(EmulatorError::UnknownRelation(1))
    ));
    let err = emu
        .add_relation(Relation::new(0, "nope", "", "x"))
        .unwrap_err();
    assert!(matches!(err, EmulatorError::UnknownEndpoint(_)), "{err}");
}

#[test]
fn a_failing_hook_is_reported_and_stops_the_sequence() {
    let charm = charm();
    let mut emu = emulator(&charm);
    emu.deploy(2).unwrap().check().unwrap();
    take_log(&charm.log);
    let outcomes = emu.set_config([("fail", json!(true))]).unwrap();
    assert!(!outcomes.succeeded());
    assert_eq!(outcomes.0.len(), 1, "demo/1 never ran");
    let failure = outcomes.failure().unwrap();
    assert_eq!(
        (failure.unit.as_str(), failure.exit_code),
        ("demo/0", Some(3))
    );
    assert_eq!(failure.stderr, "failing on purpose\n");
    assert_eq!(failure.calls_to("config-get"), 1);
    let err = outcomes.check().unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("hooks/config-changed")
            && text.contains("exit status 3")
            && text.contains("failing on purpose"),
        "{text}"
    );
    // The state keeps the new config; resetting to the default heals the next hook.
    assert_eq!(emu.state().unwrap().config["fail"], true);
    emu.set_config([("fail", serde_json::Value::Null)])
        .unwrap()
        .check()
        .unwrap();
    assert_eq!(emu.state().unwrap().config["fail"], false);
}

#[test]
fn actions_leadership_timeouts_and_custom_events() {
    let charm = charm();
    let mut emu = emulator(&charm);
    emu.deploy(2).unwrap().check().unwrap();
    take_log(&charm.log);

    let action = emu.run_action("demo/1", "do", Default::default()).unwrap();
    assert_eq!(action.status, ActionStatus::Completed);
    assert_eq!(action.results["answer"], "why");
    let action = emu
        .run_action(
            "demo/1",
            "do",
            json!({"question": "how"}).as_object().cloned().unwrap(),
        )
        .unwrap();
    assert_eq!(action.results["answer"], "how");
    assert_eq!(take_log(&charm.log)[0], "demo/1|actions/do||||||do|||yes");
    assert!(matches!(
        emu.run_action("demo/1", "nope", Default::default()),
        Err(EmulatorError::UnknownAction(_))
    ));

    let outcomes = emu.set_leader("demo/1").unwrap().check().unwrap();
    assert_eq!(
        outcomes.events(),
        ["demo/1 leader-elected", "demo/0 leader-settings-changed"]
    );
    assert_eq!(emu.state().unwrap().leader.as_deref(), Some("demo/1"));

    emu.set_timeout(Duration::from_millis(300));
    let slow = emu.dispatch("demo/0", &EventSpec::hook("slow")).unwrap();
    assert!(slow.timed_out && !slow.succeeded());
    assert_eq!(slow.exit_code, None);

    assert!(matches!(
        emu.dispatch("demo/7", &EventSpec::hook("start")),
        Err(EmulatorError::UnknownUnit(_))
    ));
    let outcomes = emu.update_status().unwrap().check().unwrap();
    assert_eq!(
        outcomes.events(),
        ["demo/0 update-status", "demo/1 update-status"]
    );

    let removed = emu.remove_unit("demo/0").unwrap().check().unwrap();
    assert_eq!(
        removed.events(),
        [
            "demo/1 peers-relation-departed",
            "demo/0 peers-relation-departed",
            "demo/0 stop",
            "demo/0 remove"
        ]
    );
    let state = emu.state().unwrap();
    assert!(!state.units.contains_key("demo/0"));
    assert_eq!(state.relations[0].local_units.len(), 1);
}

#[test]
fn a_missing_binary_is_explained() {
    // Only this test reads JUJU_EMULATOR_BIN; the others pass the binary explicitly.
    std::env::set_var("JUJU_EMULATOR_BIN", "/nonexistent/juju-emulator");
    let err = find_emulator_binary().unwrap_err();
    std::env::remove_var("JUJU_EMULATOR_BIN");
    let text = err.to_string();
    assert!(
        text.contains("cargo build -p juju-rs-ops-testing --bin juju-emulator"),
        "{text}"
    );
    // Without the variable it looks next to this test's target directory.
    assert!(find_emulator_binary().unwrap().ends_with("juju-emulator"));
}

/// A network namespace for one test, deleted when dropped.
struct NetNs(String);

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

#[test]
fn dispatch_can_run_inside_a_network_namespace() {
    let name = format!("emu-{}-{}", std::process::id(), line!());
    let created = std::process::Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap();
    assert!(created.success(), "ip netns add {name} failed (needs root)");
    let netns = NetNs(name);
    let charm = charm();
    let mut emu = emulator(&charm);
    emu.deploy(1).unwrap().check().unwrap();
    take_log(&charm.log);
    emu.set_command_prefix(["ip", "netns", "exec", netns.0.as_str()]);
    let run = emu
        .dispatch("demo/0", &EventSpec::hook("count-links"))
        .unwrap();
    assert!(run.succeeded(), "{}", run.stderr);
    let log = take_log(&charm.log);
    // Only the namespace's loopback, and the hook tools still reach the model state.
    assert_eq!(log[1], "links: 1");
    assert_eq!(run.calls_to("status-set"), 1);
    assert_eq!(
        emu.state().unwrap().units["demo/0"].status.message,
        "hooks/count-links"
    );
}

#[test]
fn action_params_are_validated_against_actions_yaml_before_the_charm_runs() {
    let charm = charm();
    let mut emu = emulator(&charm);
    emu.deploy(1).unwrap().check().unwrap();
    take_log(&charm.log);
    let calls_before = emu.state().unwrap().tool_calls.len();

    for (params, error) in [
        (
            json!({"email": "a@example.com", "foo": 1}),
            r#"(root) : additional property "foo" is not allowed"#,
        ),
        (
            json!({"email": "a@example.com", "timeout": "soon"}),
            "(root).timeout : invalid type. Expected: number, given: string",
        ),
        (json!({}), r#"(root) : "email" property is missing"#),
    ] {
        let params = params.as_object().cloned().unwrap();
        let action = emu.run_action("demo/0", "backup", params).unwrap();
        assert_eq!(action.status, ActionStatus::Failed);
        assert_eq!(
            action.message.as_deref(),
            Some(format!("validation failed: {error}").as_str())
        );
        assert!(action.dispatch.is_none(), "the charm must not run");
        assert!(action.results.is_empty() && action.logs.is_empty());
    }
    assert!(take_log(&charm.log).is_empty(), "no dispatch ran");
    let state = emu.state().unwrap();
    assert_eq!(state.tool_calls.len(), calls_before, "no hook tool ran");
    assert!(state.action.is_none());

    // Valid params: the defaults are filled in and the charm runs with them.
    let params = json!({"email": "a@example.com"})
        .as_object()
        .cloned()
        .unwrap();
    let action = emu.run_action("demo/0", "backup", params).unwrap();
    assert_eq!(action.status, ActionStatus::Completed, "{action:?}");
    assert_eq!(
        serde_json::Value::Object(action.results),
        json!({"timeout": "30", "email": "a@example.com"})
    );
    assert!(action.dispatch.is_some_and(|d| d.succeeded()));
    assert_eq!(
        take_log(&charm.log)[0],
        "demo/0|actions/backup||||||backup|||yes"
    );
}
