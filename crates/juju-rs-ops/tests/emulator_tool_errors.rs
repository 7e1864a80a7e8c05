//! The `juju-emulator` binary as a charm meets it: called by a hook tool's name, with
//! Juju's environment, exiting and printing as Juju's tools do, and keeping the state
//! file consistent under concurrent calls.
#![cfg(feature = "testing")]
// Test code: it may panic like any test does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use juju_rs_ops::testing::state::{ModelState, Relation};

const BIN: &str = env!("CARGO_BIN_EXE_juju-emulator");

struct Model {
    _dir: tempfile::TempDir,
    state: PathBuf,
    tools: PathBuf,
}

impl Model {
    fn new() -> Model {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        ModelState::new("kratos")
            .with_unit("kratos/0")
            .with_unit("kratos/1")
            .with_leader("kratos/0")
            .with_relation(
                Relation::new(4, "pg-database", "postgresql_client", "postgresql-k8s")
                    .with_local_unit("kratos/0")
                    .with_local_unit("kratos/1")
                    .with_remote_unit("postgresql-k8s/0", [("host", "10.0.0.9")]),
            )
            .save(&state)
            .unwrap();
        let tools = dir.path().join("tools");
        std::fs::create_dir(&tools).unwrap();
        for tool in juju_rs_ops::testing::jujuc::TOOL_NAMES {
            std::os::unix::fs::symlink(BIN, tools.join(tool)).unwrap();
        }
        Model {
            _dir: dir,
            state,
            tools,
        }
    }

    fn state(&self) -> ModelState {
        ModelState::load(&self.state).unwrap()
    }

    fn command(&self, unit: &str, tool: &str, args: &[&str]) -> Command {
        let mut command = Command::new(self.tools.join(tool));
        command
            .args(args)
            .env_clear()
            .env("JUJU_EMULATOR_STATE", &self.state)
            .env("JUJU_UNIT_NAME", unit)
            .env("JUJU_DISPATCH_PATH", "hooks/update-status")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, unit: &str, tool: &str, args: &[&str]) -> Output {
        self.command(unit, tool, args).output().unwrap()
    }

    fn run_with_stdin(&self, unit: &str, tool: &str, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .command(unit, tool, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn an_unknown_relation_is_a_usage_error_saying_relation_not_found() {
    let model = Model::new();
    for (tool, args) in [
        ("relation-get", vec!["-r", "pg-database:9", "-", "kratos/0"]),
        ("relation-set", vec!["-r", "9", "a=b"]),
        ("relation-list", vec!["--format=json", "-r", "db:9"]),
        ("network-get", vec!["pg-database", "-r", "9"]),
    ] {
        let out = model.run("kratos/0", tool, &args);
        assert_eq!(out.status.code(), Some(2), "{tool}: {}", stderr(&out));
        let value = args[args.iter().position(|a| *a == "-r").unwrap() + 1];
        assert_eq!(
            stderr(&out),
            format!("ERROR invalid value \"{value}\" for option -r: relation not found\n"),
            "{tool}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn application_data_writes_are_for_the_leader_only() {
    let model = Model::new();
    let json = br#"{"database": "kratos", "extra-user-roles": "SUPERUSER"}"#;
    let args = ["-r", "pg-database:4", "--app", "--file", "-"];
    let out = model.run_with_stdin("kratos/1", "relation-set", &args, json);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "ERROR cannot write relation settings\n");
    assert!(model.state().relation(4).unwrap().app_data.is_empty());

    let out = model.run_with_stdin("kratos/0", "relation-set", &args, json);
    assert!(out.status.success(), "{}", stderr(&out));
    let bag = model.state().relation(4).unwrap().app_bag("kratos");
    assert_eq!(bag["database"], "kratos");
    assert_eq!(bag["extra-user-roles"], "SUPERUSER");

    // The follower may still write its own unit bag.
    let out = model.run("kratos/1", "relation-set", &["-r", "4", "ready=yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        model.state().relation(4).unwrap().unit_bag("kratos/1")["ready"],
        "yes"
    );
}

#[test]
fn malformed_stdin_fails_and_changes_nothing_but_the_call_log() {
    let model = Model::new();
    let before = model.state();
    for (tool, args, input) in [
        (
            "relation-set",
            vec!["-r", "4", "--file", "-"],
            &b"- not\n- a map\n"[..],
        ),
        (
            "relation-set",
            vec!["-r", "4", "--file=-"],
            b"{\"nested\": {\"no\": 1}}",
        ),
        ("state-set", vec!["--file", "-"], b"{unclosed"),
        ("secret-add", vec!["--file", "-"], b"[1, 2]"),
    ] {
        let out = model.run_with_stdin("kratos/0", tool, &args, input);
        assert_eq!(out.status.code(), Some(1), "{tool}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("ERROR yaml"),
            "{tool}: {}",
            stderr(&out)
        );
    }
    let after = model.state();
    assert_eq!(after.relations, before.relations);
    assert_eq!(after.units, before.units);
    assert!(after.secrets.is_empty());
    assert_eq!(after.tool_calls.len(), 4);
    assert!(after
        .tool_calls
        .iter()
        .all(|c| c.unit == "kratos/0" && c.hook == "hooks/update-status"));
}

#[test]
fn the_tool_is_chosen_by_name_and_the_state_must_be_named() {
    let model = Model::new();
    let out = model.run("kratos/0", "is-leader", &["--format=json"]);
    assert_eq!(stdout(&out), "true\n");
    // The binary's own name takes the tool as its first argument.
    let out = Command::new(BIN)
        .args(["is-leader", "--format=json"])
        .env_clear()
        .env("JUJU_EMULATOR_STATE", &model.state)
        .env("JUJU_UNIT_NAME", "kratos/1")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "false\n");
    // Unknown flags are usage errors.
    let out = model.run("kratos/0", "status-get", &["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "ERROR option provided but not defined: --bogus\n"
    );
    // Without a state file the tool says what is missing.
    let out = Command::new(model.tools.join("config-get"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("JUJU_EMULATOR_STATE is not set"),
        "{}",
        stderr(&out)
    );
    let out = model
        .command("kratos/0", "config-get", &[])
        .env("JUJU_EMULATOR_STATE", Path::new("/nonexistent/state.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/state.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hook_context_comes_from_the_environment() {
    let model = Model::new();
    let out = model
        .command("kratos/1", "relation-get", &["host"])
        .env("JUJU_RELATION_ID", "pg-database:4")
        .env("JUJU_REMOTE_UNIT", "postgresql-k8s/0")
        .env("JUJU_REMOTE_APP", "postgresql-k8s")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "10.0.0.9\n", "{}", stderr(&out));
    let out = model.run("kratos/0", "action-get", &[]);
    assert_eq!(
        (out.status.code(), stderr(&out).as_str()),
        (Some(1), "ERROR not running an action\n")
    );
    let out = model.run("kratos/0", "secret-get", &["secret:cs7bu5ou8jb6f8vv0cig"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
}

#[test]
fn concurrent_calls_serialise_on_the_state_lock() {
    let model = Model::new();
    let children: Vec<_> = (0..16)
        .map(|i| {
            let unit = if i % 2 == 0 { "kratos/0" } else { "kratos/1" };
            model
                .command(unit, "state-set", &[&format!("key{i}=value{i}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let state = model.state();
    assert_eq!(state.tool_calls.len(), 16);
    assert_eq!(state.units["kratos/0"].state.len(), 8);
    assert_eq!(state.units["kratos/1"].state.len(), 8);
    assert_eq!(state.units["kratos/1"].state["key15"], "value15");
}
