//! Model tests against a scripted Juju: every expected hook-tool call is listed with its
//! exact argv (as Python ops 3.8 passes it) and canned output; any other call fails the
//! test. A [`RecordingRunner`] around it counts calls to prove caching.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Deserialize;
use serde_json::json;

use super::*;
use crate::recording::RecordingRunner;

type Handler = Box<dyn Fn(&[String], Option<&[u8]>) -> Result<Vec<u8>, ToolError>>;

/// A scripted Juju. `on` answers one exact argv; `on_tool` answers every call of a tool
/// (the handler checks the arguments itself, e.g. when they hold temporary paths).
#[derive(Default)]
struct FakeJuju {
    exact: RefCell<Vec<(Vec<String>, Handler)>>,
    by_tool: RefCell<Vec<(String, Handler)>>,
}

impl FakeJuju {
    fn on(self, argv: &[&str], stdout: &str) -> Self {
        let stdout = stdout.as_bytes().to_vec();
        self.on_with(argv, move |_, _| Ok(stdout.clone()))
    }

    fn fail(self, argv: &[&str], stderr: &str) -> Self {
        let tool = argv[0].to_string();
        let stderr = stderr.to_string();
        self.on_with(argv, move |_, _| {
            Err(ToolError::Failed {
                tool: tool.clone(),
                code: 1,
                stderr: stderr.clone(),
            })
        })
    }

    fn on_with(
        self,
        argv: &[&str],
        handler: impl Fn(&[String], Option<&[u8]>) -> Result<Vec<u8>, ToolError> + 'static,
    ) -> Self {
        let argv = argv.iter().map(|s| s.to_string()).collect();
        self.exact.borrow_mut().push((argv, Box::new(handler)));
        self
    }

    fn on_tool(
        self,
        tool: &str,
        handler: impl Fn(&[String], Option<&[u8]>) -> Result<Vec<u8>, ToolError> + 'static,
    ) -> Self {
        self.by_tool
            .borrow_mut()
            .push((tool.to_string(), Box::new(handler)));
        self
    }
}

impl ToolRunner for FakeJuju {
    fn run(&self, tool: &str, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<u8>, ToolError> {
        let argv: Vec<String> = std::iter::once(tool.to_string())
            .chain(args.iter().cloned())
            .collect();
        if let Some((_, handler)) = self.exact.borrow().iter().find(|(a, _)| *a == argv) {
            return handler(args, stdin);
        }
        if let Some((_, handler)) = self.by_tool.borrow().iter().find(|(t, _)| t == tool) {
            return handler(args, stdin);
        }
        panic!("unexpected hook tool call: {argv:?}");
    }
}

type Runner = Rc<RecordingRunner<FakeJuju>>;

fn model_for(juju: FakeJuju, vars: &[(&str, &str)]) -> (Model, Runner) {
    let mut env = vec![
        ("JUJU_UNIT_NAME", "kratos/0"),
        ("JUJU_MODEL_NAME", "iam"),
        ("JUJU_MODEL_UUID", "5e0e1e4f-1b1a-4a8e-9f0e-2c1d3b4a5f6e"),
    ];
    env.extend_from_slice(vars);
    let runner = Rc::new(RecordingRunner::new(juju));
    let model = Model::new(runner.clone(), &Event::from_vars(env));
    (model, runner)
}

fn model(juju: FakeJuju) -> (Model, Runner) {
    model_for(juju, &[("JUJU_DISPATCH_PATH", "hooks/config-changed")])
}

fn argvs(runner: &Runner) -> Vec<Vec<String>> {
    runner
        .calls()
        .iter()
        .map(|c| c.argv().into_iter().map(str::to_string).collect())
        .collect()
}

fn strings(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn bag(pairs: &[(&str, &str)]) -> Databag {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ----- identity, config, leadership ---------------------------------------------------

#[test]
fn names_come_from_the_event() {
    let (model, runner) = model(FakeJuju::default());
    assert_eq!(
        (model.unit_name(), model.app_name(), model.model_name()),
        ("kratos/0", "kratos", "iam")
    );
    assert_eq!(model.model_uuid(), "5e0e1e4f-1b1a-4a8e-9f0e-2c1d3b4a5f6e");
    assert!(runner.calls().is_empty());
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum LogLevel {
    Info,
    Debug,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Config {
    log_level: LogLevel,
    enforce_mfa: bool,
    #[serde(default)]
    http_proxy: Option<String>,
}

#[test]
fn config_is_read_once_and_typed() {
    let juju = FakeJuju::default().on(
        &["config-get", "--format=json"],
        r#"{"log_level": "info", "enforce_mfa": true, "unrelated": 1}"#,
    );
    let (model, runner) = model(juju);
    let config: Config = model.config().unwrap();
    assert_eq!(
        config,
        Config {
            log_level: LogLevel::Info,
            enforce_mfa: true,
            http_proxy: None
        }
    );
    assert_eq!(model.config_json().unwrap()["unrelated"], json!(1));
    assert_eq!(runner.count("config-get"), 1);
}

#[test]
fn config_errors_name_the_option() {
    let juju = FakeJuju::default().on(
        &["config-get", "--format=json"],
        r#"{"log_level": "verbose", "enforce_mfa": false}"#,
    );
    let (model, _) = model(juju);
    match model.config::<Config>() {
        Err(ModelError::Config { option, message }) => {
            assert_eq!(option, "log_level");
            assert_eq!(
                message,
                "unknown variant `verbose`, expected `info` or `debug`"
            );
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn config_errors_never_quote_string_values() {
    let juju = FakeJuju::default().on(
        &["config-get", "--format=json"],
        r#"{"log_level": "info", "enforce_mfa": "s3cr3t"}"#,
    );
    let (model, _) = model(juju);
    let err = model.config::<Config>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "config option \"enforce_mfa\": invalid type: a string, expected a boolean"
    );
}

#[test]
fn leadership_is_read_once() {
    let juju = FakeJuju::default().on(&["is-leader", "--format=json"], "false");
    let (model, runner) = model(juju);
    assert!(!model.is_leader().unwrap());
    assert!(!model.is_leader().unwrap());
    assert_eq!(argvs(&runner), [strings(&["is-leader", "--format=json"])]);
}

#[test]
fn confirming_leadership_asks_again_and_caches_the_new_answer() {
    let answers = Rc::new(RefCell::new(vec!["false", "true"]));
    let next = answers.clone();
    let juju = FakeJuju::default().on_with(&["is-leader", "--format=json"], move |_, _| {
        Ok(next.borrow_mut().pop().unwrap().as_bytes().to_vec())
    });
    let (model, runner) = model(juju);
    assert!(model.is_leader().unwrap());
    // Leadership moved since: the cached answer is stale, a confirmation is not.
    assert!(!model.confirm_leader().unwrap());
    assert!(!model.is_leader().unwrap());
    assert_eq!(argvs(&runner).len(), 2);
}

#[test]
fn tool_failures_say_what_was_being_done() {
    let juju =
        FakeJuju::default().fail(&["config-get", "--format=json"], "ERROR permission denied");
    let (model, _) = model(juju);
    let err = model.config_json().unwrap_err();
    assert_eq!(
        err.to_string(),
        "reading config: hook tool config-get failed with exit code 1: ERROR permission denied"
    );
    assert!(matches!(err, ModelError::Tool { .. }));
}

// ----- relations ------------------------------------------------------------------------

fn relations_juju() -> FakeJuju {
    FakeJuju::default()
        .on(
            &["relation-ids", "pg-database", "--format=json"],
            r#"["pg-database:3", "pg-database:5"]"#,
        )
        .on(
            &["relation-list", "--format=json", "-r", "pg-database:3"],
            r#"["postgresql-k8s/1", "postgresql-k8s/0"]"#,
        )
        .on(
            &["relation-list", "--format=json", "-r", "pg-database:5"],
            "[]",
        )
        .on(
            &[
                "relation-list",
                "--format=json",
                "--app",
                "-r",
                "pg-database:5",
            ],
            r#""other-db""#,
        )
}

#[test]
fn relations_list_units_and_find_the_remote_app_with_the_fewest_calls() {
    let (model, runner) = model(relations_juju());
    let relations = model.relations("pg-database").unwrap();
    assert_eq!(
        relations,
        [
            Relation {
                id: 3,
                endpoint: "pg-database".into(),
                remote_app: Some("postgresql-k8s".into()),
                remote_units: vec!["postgresql-k8s/0".into(), "postgresql-k8s/1".into()],
            },
            Relation {
                id: 5,
                endpoint: "pg-database".into(),
                remote_app: Some("other-db".into()),
                remote_units: vec![],
            },
        ]
    );
    // Relation 3's app comes from its units' names; only 5 needs `relation-list --app`.
    assert_eq!(runner.count("relation-list"), 3);
    assert_eq!(
        model.relation("pg-database", 5).unwrap().map(|r| r.id),
        Some(5)
    );
    assert_eq!(model.relations("pg-database").unwrap(), relations);
    assert_eq!(runner.calls().len(), 4, "all cached");
}

#[test]
fn the_event_names_its_relations_remote_app() {
    let juju = FakeJuju::default()
        .on(
            &["relation-ids", "pg-database", "--format=json"],
            r#"["pg-database:5"]"#,
        )
        .on(
            &["relation-list", "--format=json", "-r", "pg-database:5"],
            "[]",
        );
    let (model, runner) = model_for(
        juju,
        &[
            ("JUJU_DISPATCH_PATH", "hooks/pg-database-relation-created"),
            ("JUJU_RELATION", "pg-database"),
            ("JUJU_RELATION_ID", "pg-database:5"),
            ("JUJU_REMOTE_APP", "postgresql-k8s"),
        ],
    );
    let relations = model.relations("pg-database").unwrap();
    assert_eq!(relations[0].remote_app.as_deref(), Some("postgresql-k8s"));
    assert_eq!(runner.calls().len(), 2);
}

fn broken_vars(hook: &str) -> [(&str, &str); 4] {
    [
        ("JUJU_DISPATCH_PATH", hook),
        ("JUJU_RELATION", "pg-database"),
        ("JUJU_RELATION_ID", "pg-database:3"),
        ("JUJU_REMOTE_APP", "postgresql-k8s"),
    ]
}

#[test]
fn relation_broken_hides_the_broken_relation() {
    let juju = FakeJuju::default().on(
        &["relation-ids", "pg-database", "--format=json"],
        r#"["pg-database:3"]"#,
    );
    let (model, runner) = model_for(juju, &broken_vars("hooks/pg-database-relation-broken"));
    assert!(model.relations("pg-database").unwrap().is_empty());
    assert_eq!(model.relation("pg-database", 3).unwrap(), None);
    // Nothing is asked about the relation being removed.
    assert_eq!(runner.count("relation-list"), 0);
}

#[test]
fn relation_broken_hides_only_the_broken_relation() {
    // Relation 3 is broken; relation 5 on the same endpoint stays.
    let (model, runner) = model_for(
        relations_juju(),
        &broken_vars("hooks/pg-database-relation-broken"),
    );
    let ids: Vec<u32> = model
        .relations("pg-database")
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, [5]);
    assert_eq!(model.relation("pg-database", 3).unwrap(), None);
    assert_eq!(
        model.relation("pg-database", 5).unwrap().map(|r| r.id),
        Some(5)
    );
    assert_eq!(
        argvs(&runner)
            .iter()
            .filter(|argv| argv.contains(&"pg-database:3".to_string()))
            .count(),
        0,
        "the broken relation is never listed"
    );
}

#[test]
fn other_relation_events_hide_nothing() {
    for hook in [
        "hooks/pg-database-relation-departed",
        "hooks/pg-database-relation-changed",
    ] {
        let (model, _) = model_for(relations_juju(), &broken_vars(hook));
        let ids: Vec<u32> = model
            .relations("pg-database")
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, [3, 5], "{hook}");
        assert!(
            model.relation("pg-database", 3).unwrap().is_some(),
            "{hook}"
        );
    }
}

/// Relations 3 (a joined `postgresql-k8s` with a bag) and 5 (remote app not known yet),
/// listed in the order `ids` gives.
fn bags_juju(ids: &str) -> FakeJuju {
    FakeJuju::default()
        .on(&["relation-ids", "pg-database", "--format=json"], ids)
        .on(
            &["relation-list", "--format=json", "-r", "pg-database:3"],
            r#"["postgresql-k8s/0"]"#,
        )
        .on(
            &["relation-list", "--format=json", "-r", "pg-database:5"],
            "[]",
        )
        .on(
            &[
                "relation-list",
                "--format=json",
                "--app",
                "-r",
                "pg-database:5",
            ],
            r#""""#,
        )
        .on(
            &[
                "relation-get",
                "--format=json",
                "-r",
                "pg-database:3",
                "--app",
                "-",
                "postgresql-k8s",
            ],
            r#"{"endpoints": "db:5432"}"#,
        )
}

#[test]
fn remote_app_bags_reads_every_relation_with_a_known_remote_app() {
    let (model, runner) = model(bags_juju(r#"["pg-database:3", "pg-database:5"]"#));
    let bags = model.remote_app_bags("pg-database").unwrap();
    assert_eq!(bags.len(), 1, "relation 5 has no known remote app");
    let (relation, bag_3) = &bags[0];
    assert_eq!(relation.id, 3);
    assert_eq!(*bag_3, bag(&[("endpoints", "db:5432")]));
    assert_eq!(
        model.remote_app_bag("pg-database").unwrap(),
        Some((relation.clone(), bag_3.clone()))
    );
    assert_eq!(
        model.first_relation("pg-database").unwrap().map(|r| r.id),
        Some(3)
    );
    assert_eq!(runner.count("relation-get"), 1, "bags are cached");
}

#[test]
fn remote_app_bag_is_the_first_relations_only() {
    let (model, runner) = model(bags_juju(r#"["pg-database:5", "pg-database:3"]"#));
    assert_eq!(
        model.first_relation("pg-database").unwrap().map(|r| r.id),
        Some(5)
    );
    assert_eq!(model.remote_app_bag("pg-database").unwrap(), None);
    assert_eq!(runner.count("relation-get"), 0);
    let ids: Vec<u32> = model
        .remote_app_bags("pg-database")
        .unwrap()
        .iter()
        .map(|(r, _)| r.id)
        .collect();
    assert_eq!(ids, [3]);
}

#[test]
fn bag_helpers_without_relations_find_nothing() {
    let juju = FakeJuju::default().on(&["relation-ids", "pg-database", "--format=json"], "[]");
    let (model, runner) = model(juju);
    assert_eq!(model.first_relation("pg-database").unwrap(), None);
    assert_eq!(model.remote_app_bag("pg-database").unwrap(), None);
    assert!(model.remote_app_bags("pg-database").unwrap().is_empty());
    assert_eq!(runner.calls().len(), 1);
}

#[test]
fn bag_helpers_skip_the_broken_relation() {
    let (model, runner) = model_for(
        bags_juju(r#"["pg-database:3", "pg-database:5"]"#),
        &broken_vars("hooks/pg-database-relation-broken"),
    );
    assert_eq!(
        model.first_relation("pg-database").unwrap().map(|r| r.id),
        Some(5)
    );
    assert_eq!(model.remote_app_bag("pg-database").unwrap(), None);
    assert!(model.remote_app_bags("pg-database").unwrap().is_empty());
    assert_eq!(runner.count("relation-get"), 0);
}

fn pg_relation() -> Relation {
    Relation {
        id: 3,
        endpoint: "pg-database".into(),
        remote_app: Some("postgresql-k8s".into()),
        remote_units: vec!["postgresql-k8s/0".into()],
    }
}

#[derive(Debug, Deserialize, PartialEq)]
struct DatabaseProvides {
    endpoints: String,
    username: Option<String>,
    port: Option<u16>,
    tls: Option<bool>,
}

#[test]
fn databags_are_read_once_each_with_ops_argv() {
    let juju = FakeJuju::default()
        .on(
            &[
                "relation-get",
                "--format=json",
                "-r",
                "pg-database:3",
                "--app",
                "-",
                "postgresql-k8s",
            ],
            r#"{"endpoints": "pg:5432", "port": "5432", "tls": "false"}"#,
        )
        .on(
            &[
                "relation-get",
                "--format=json",
                "-r",
                "pg-database:3",
                "-",
                "postgresql-k8s/0",
            ],
            r#"{"ingress-address": "10.1.2.3"}"#,
        );
    let (model, runner) = model(juju);
    let rel = pg_relation();
    let remote: DatabaseProvides = model.databag_as(&rel, Bag::RemoteApp).unwrap();
    assert_eq!(
        remote,
        DatabaseProvides {
            endpoints: "pg:5432".into(),
            username: None,
            port: Some(5432),
            tls: Some(false)
        }
    );
    assert_eq!(model.databag(&rel, Bag::RemoteApp).unwrap()["port"], "5432");
    let unit = model
        .databag(&rel, Bag::Unit("postgresql-k8s/0".into()))
        .unwrap();
    assert_eq!(unit, bag(&[("ingress-address", "10.1.2.3")]));
    model
        .databag(&rel, Bag::Unit("postgresql-k8s/0".into()))
        .unwrap();
    assert_eq!(runner.count("relation-get"), 2);
    assert!(runner.repeated_reads().is_empty());
}

#[test]
fn databag_type_errors_name_relation_bag_and_key() {
    let juju = FakeJuju::default().on(
        &[
            "relation-get",
            "--format=json",
            "-r",
            "pg-database:3",
            "--app",
            "-",
            "postgresql-k8s",
        ],
        r#"{"endpoints": "pg:5432", "port": "not-a-port"}"#,
    );
    let (model, _) = model(juju);
    let err = model
        .databag_as::<DatabaseProvides>(&pg_relation(), Bag::RemoteApp)
        .unwrap_err();
    match &err {
        ModelError::Databag {
            relation, bag, key, ..
        } => {
            assert_eq!(
                (relation.as_str(), bag.as_str(), key.as_str()),
                ("pg-database:3", "postgresql-k8s (app)", "port")
            );
        }
        other => panic!("expected a databag error, got {other:?}"),
    }
    assert!(!err.to_string().contains("not-a-port"), "{err}");
}

#[test]
fn missing_relations_are_reported_as_such() {
    let juju = FakeJuju::default().fail(
        &[
            "relation-get",
            "--format=json",
            "-r",
            "pg-database:3",
            "-",
            "kratos/0",
        ],
        "ERROR relation not found",
    );
    let (model, _) = model(juju);
    let err = model.databag(&pg_relation(), Bag::LocalUnit).unwrap_err();
    assert!(
        matches!(&err, ModelError::RelationNotFound { relation } if relation == "pg-database:3"),
        "{err:?}"
    );
    assert!(err.is_not_found());
}

#[test]
fn update_databag_writes_only_the_difference_and_deletes_with_empty_strings() {
    let juju = FakeJuju::default()
        .on(
            &[
                "relation-get",
                "--format=json",
                "-r",
                "pg-database:3",
                "-",
                "kratos/0",
            ],
            r#"{"same": "1", "changed": "old", "dropped": "x"}"#,
        )
        .on(&["relation-set", "-r", "pg-database:3", "--file", "-"], "");
    let (model, runner) = model(juju);
    let rel = pg_relation();
    let changes = bag(&[
        ("same", "1"),
        ("changed", "new"),
        ("dropped", ""),
        ("never-there", ""),
        ("added", "yes"),
    ]);
    assert!(model
        .update_databag(&rel, Bag::LocalUnit, &changes)
        .unwrap());
    let sets = runner.calls_of("relation-set");
    assert_eq!(sets.len(), 1);
    let sent: BTreeMap<String, String> =
        serde_json::from_slice(sets[0].stdin.as_deref().unwrap()).unwrap();
    assert_eq!(
        sent,
        bag(&[("changed", "new"), ("dropped", ""), ("added", "yes")])
    );

    // The cache now holds the written state: no new read, and the same update is a no-op.
    assert_eq!(
        model.databag(&rel, Bag::LocalUnit).unwrap(),
        bag(&[("same", "1"), ("changed", "new"), ("added", "yes")])
    );
    assert!(!model
        .update_databag(&rel, Bag::LocalUnit, &changes)
        .unwrap());
    assert_eq!(runner.count("relation-get"), 1);
    assert_eq!(runner.count("relation-set"), 1);
}

#[test]
fn app_databag_writes_need_leadership() {
    let juju = FakeJuju::default().on(&["is-leader", "--format=json"], "false");
    let (model, runner) = model(juju);
    let rel = pg_relation();
    let err = model
        .update_databag(&rel, Bag::LocalApp, &bag(&[("database", "kratos")]))
        .unwrap_err();
    assert!(matches!(err, ModelError::NotLeader { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "this unit is not the leader, so it cannot write its application databag of relation pg-database:3"
    );
    // Reading one's own app bag is leader-only too (except on peer relations).
    assert!(matches!(
        model.databag(&rel, Bag::LocalApp),
        Err(ModelError::NotLeader { .. })
    ));
    assert_eq!(argvs(&runner), [strings(&["is-leader", "--format=json"])]);
}

#[test]
fn leaders_write_the_app_bag_with_app_flag() {
    let juju = FakeJuju::default()
        .on(&["is-leader", "--format=json"], "true")
        .on(
            &[
                "relation-get",
                "--format=json",
                "-r",
                "pg-database:3",
                "--app",
                "-",
                "kratos",
            ],
            "{}",
        )
        .on(
            &[
                "relation-set",
                "-r",
                "pg-database:3",
                "--app",
                "--file",
                "-",
            ],
            "",
        );
    let (model, runner) = model(juju);
    assert!(model
        .update_databag(
            &pg_relation(),
            Bag::LocalApp,
            &bag(&[("database", "kratos")])
        )
        .unwrap());
    let set = &runner.calls_of("relation-set")[0];
    assert_eq!(
        set.stdin_text().as_deref(),
        Some(r#"{"database":"kratos"}"#)
    );
}

#[test]
fn peers_read_their_app_bag_without_leadership_but_remote_bags_are_read_only() {
    let juju = FakeJuju::default().on(
        &[
            "relation-get",
            "--format=json",
            "-r",
            "kratos-peers:1",
            "--app",
            "-",
            "kratos",
        ],
        r#"{"k": "v"}"#,
    );
    let (model, runner) = model(juju);
    let peers = Relation {
        id: 1,
        endpoint: "kratos-peers".into(),
        remote_app: Some("kratos".into()),
        remote_units: vec!["kratos/1".into()],
    };
    assert_eq!(
        model.databag(&peers, Bag::LocalApp).unwrap(),
        bag(&[("k", "v")])
    );
    for remote in [Bag::RemoteApp, Bag::Unit("kratos/1".into())] {
        let err = model
            .update_databag(&peers, remote, &bag(&[("k", "w")]))
            .unwrap_err();
        assert!(matches!(err, ModelError::Invalid { .. }), "{err:?}");
    }
    assert_eq!(runner.calls().len(), 1);
}

// ----- status, version, ports -------------------------------------------------------------

#[test]
fn status_is_set_and_read_as_ops_does() {
    let juju = FakeJuju::default()
        .on(
            &[
                "status-get",
                "--include-data",
                "--format=json",
                "--application=false",
            ],
            r#"{"status": "maintenance", "message": "starting", "status-data": {}}"#,
        )
        .on(
            &["status-set", "--application=False", "active", "--", ""],
            "",
        )
        .on(
            &[
                "status-set",
                "--application=False",
                "blocked",
                "--",
                "-Missing integration",
            ],
            "",
        );
    let (model, runner) = model(juju);
    assert_eq!(model.status().unwrap(), Status::maintenance("starting"));
    // Already the current status: nothing to do.
    model.set_status(&Status::maintenance("starting")).unwrap();
    model.set_status(&Status::active("")).unwrap();
    model.set_status(&Status::active("")).unwrap();
    model
        .set_status(&Status::blocked("-Missing integration"))
        .unwrap();
    assert_eq!(
        model.status().unwrap(),
        Status::blocked("-Missing integration")
    );
    assert_eq!(runner.count("status-set"), 2);
    assert_eq!(runner.count("status-get"), 1);

    let err = model
        .set_status(&Status::new(StatusKind::Error, "no"))
        .unwrap_err();
    assert!(matches!(err, ModelError::Invalid { .. }));
}

#[test]
fn app_status_is_leader_only() {
    let juju = FakeJuju::default()
        .on(&["is-leader", "--format=json"], "true")
        .on(
            &[
                "status-get",
                "--include-data",
                "--format=json",
                "--application=true",
            ],
            r#"{"application-status": {"status": "waiting", "message": "w", "status-data": {},
                "units": {"kratos/0": {"status": "active", "message": "", "status-data": {}}}}}"#,
        )
        .on(
            &["status-set", "--application=True", "active", "--", "ready"],
            "",
        );
    let (model, _) = model(juju);
    assert_eq!(model.app_status().unwrap(), Status::waiting("w"));
    model.set_app_status(&Status::active("ready")).unwrap();

    let (follower, runner) = model_for(
        FakeJuju::default().on(&["is-leader", "--format=json"], "false"),
        &[("JUJU_DISPATCH_PATH", "hooks/start")],
    );
    assert!(matches!(
        follower.set_app_status(&Status::active("")),
        Err(ModelError::NotLeader { .. })
    ));
    assert!(matches!(
        follower.app_status(),
        Err(ModelError::NotLeader { .. })
    ));
    assert_eq!(runner.calls().len(), 1);
}

#[test]
fn workload_version_is_set_once() {
    let juju = FakeJuju::default().on(&["application-version-set", "--", "v1.3.1"], "");
    let (model, runner) = model(juju);
    model.set_workload_version("v1.3.1").unwrap();
    model.set_workload_version("v1.3.1").unwrap();
    assert_eq!(runner.calls().len(), 1);
}

#[test]
fn set_ports_opens_and_closes_only_the_difference() {
    let juju = FakeJuju::default()
        .on(
            &["opened-ports", "--format=json"],
            r#"["80/tcp", "4433/tcp", "icmp", "8000-8099/udp", "7/sctp"]"#,
        )
        .on(&["close-port", "80/tcp"], "")
        .on(&["close-port", "icmp"], "")
        .on(&["close-port", "8000-8099/udp"], "")
        .on(&["open-port", "4434/tcp"], "");
    let (model, runner) = model(juju);
    let wanted = [Port::tcp(4433), Port::tcp(4434)];
    assert!(model.set_ports(&wanted).unwrap());
    assert_eq!(
        argvs(&runner),
        [
            strings(&["opened-ports", "--format=json"]),
            strings(&["close-port", "80/tcp"]),
            strings(&["close-port", "8000-8099/udp"]),
            strings(&["close-port", "icmp"]),
            strings(&["open-port", "4434/tcp"]),
        ]
    );
    assert_eq!(model.opened_ports().unwrap(), wanted);
    assert!(!model.set_ports(&wanted).unwrap());
    assert!(!model.open_port(Port::tcp(4433)).unwrap());
    assert!(!model.close_port(Port::udp(53)).unwrap());
    assert_eq!(runner.calls().len(), 5);
}

// ----- actions --------------------------------------------------------------------------

#[derive(Debug, Deserialize, PartialEq)]
struct CreateAdmin {
    username: String,
    email: String,
    #[serde(default)]
    password: Option<String>,
}

#[test]
fn action_params_are_typed_and_errors_name_the_param() {
    let juju = FakeJuju::default().on(
        &["action-get", "--format=json"],
        r#"{"username": "admin", "email": 42}"#,
    );
    let (model, runner) = model(juju);
    match model.action_params::<CreateAdmin>() {
        Err(ModelError::Params { param, message }) => {
            assert_eq!(param, "email");
            assert!(message.contains("expected a string"), "{message}");
        }
        other => panic!("expected a params error, got {other:?}"),
    }
    assert_eq!(
        model.action_params_json().unwrap()["username"],
        json!("admin")
    );
    assert_eq!(runner.count("action-get"), 1);
}

#[test]
fn action_set_flattens_like_ops_and_validates_before_running() {
    let juju = FakeJuju::default()
        .on(
            &[
                "action-set",
                "identity.id=abc",
                "identity.state=active",
                "password-reset=true",
            ],
            "",
        )
        .on(&["action-log", "--", "-creating"], "")
        .on(&["action-fail", "--", "no such identity"], "");
    let (model, runner) = model(juju);
    let results: BTreeMap<String, Value> = serde_json::from_value(json!({
        "identity": {"id": "abc", "state": "active"},
        "password-reset": true,
    }))
    .unwrap();
    model.action_set(&results).unwrap();
    model.action_log("-creating").unwrap();
    model.action_fail("no such identity").unwrap();

    let bad: BTreeMap<String, Value> = serde_json::from_value(json!({"Bad_Key": 1})).unwrap();
    assert!(matches!(
        model.action_set(&bad),
        Err(ModelError::Invalid { .. })
    ));
    model.action_set(&BTreeMap::new()).unwrap();
    assert_eq!(runner.calls().len(), 3);
}

// ----- secrets --------------------------------------------------------------------------

#[test]
fn secret_add_passes_content_as_private_files_never_on_argv() {
    let juju = FakeJuju::default().on_tool("secret-add", |args, stdin| {
        assert!(stdin.is_none());
        let (flags, content) = args.split_at(4);
        assert_eq!(
            flags,
            strings(&["--label", "cookie_secret", "--owner", "application"])
        );
        let mut seen = BTreeMap::new();
        for arg in content {
            let (key, path) = arg.split_once("#file=").expect("key#file=path");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "secret file readable by others");
            }
            seen.insert(key.to_string(), std::fs::read_to_string(path).unwrap());
        }
        assert_eq!(seen, bag(&[("cookie", "hunter2"), ("salt", "pepper")]));
        Ok(b"secret:cs0fd0ulscr8ctc7v7u0\n".to_vec())
    });
    let (model, runner) = model(juju);
    let options = SecretOptions {
        label: Some("cookie_secret".into()),
        ..Default::default()
    };
    let id = model
        .secret_add(&bag(&[("cookie", "hunter2"), ("salt", "pepper")]), &options)
        .unwrap();
    assert_eq!(id, "secret:cs0fd0ulscr8ctc7v7u0");
    let call = &runner.calls()[0];
    assert!(!call.args.iter().any(|a| a.contains("hunter2")));
    // The staging files are gone once the call returns.
    let path = call.args[4].split_once("#file=").unwrap().1;
    assert!(!std::path::Path::new(path).exists());

    let err = model
        .secret_add(&bag(&[("Bad", "x")]), &options)
        .unwrap_err();
    assert!(matches!(err, ModelError::Invalid { .. }));
    assert_eq!(runner.calls().len(), 1);
}

#[test]
fn secret_get_argv_caching_and_not_found() {
    let juju = FakeJuju::default()
        .on(
            &["secret-get", "--format=json", "--label", "cookie_secret"],
            r#"{"cookie": "a"}"#,
        )
        .on(
            &["secret-get", "--format=json", "secret:abc", "--peek"],
            r#"{"cookie": "b"}"#,
        )
        .on(
            &[
                "secret-get",
                "--format=json",
                "secret:abc",
                "--label",
                "mine",
                "--refresh",
            ],
            r#"{"cookie": "c"}"#,
        )
        .fail(
            &["secret-get", "--format=json", "secret:gone"],
            "ERROR secret \"gone\" not found",
        );
    let (model, runner) = model(juju);
    let by_label = model
        .secret_get(None, Some("cookie_secret"), SecretRead::Current)
        .unwrap();
    assert_eq!(by_label, bag(&[("cookie", "a")]));
    model
        .secret_get(None, Some("cookie_secret"), SecretRead::Current)
        .unwrap();
    assert_eq!(
        model
            .secret_get(Some("secret:abc"), None, SecretRead::Peek)
            .unwrap()["cookie"],
        "b"
    );
    assert_eq!(
        model
            .secret_get(Some("secret:abc"), Some("mine"), SecretRead::Refresh)
            .unwrap()["cookie"],
        "c"
    );
    // A refresh also answers later current reads of the same name.
    assert_eq!(
        model
            .secret_get(Some("secret:abc"), Some("mine"), SecretRead::Current)
            .unwrap()["cookie"],
        "c"
    );
    assert_eq!(runner.count("secret-get"), 3);

    let err = model
        .secret_get(Some("secret:gone"), None, SecretRead::Current)
        .unwrap_err();
    assert!(
        matches!(&err, ModelError::SecretNotFound { secret, .. } if secret == "secret:gone"),
        "{err:?}"
    );
    assert!(matches!(
        model.secret_get(None, None, SecretRead::Current),
        Err(ModelError::Invalid { .. })
    ));
}

#[test]
fn secret_set_skips_unchanged_content_and_sends_changes_as_files() {
    let juju = FakeJuju::default()
        .on(
            &["secret-get", "--format=json", "secret:abc", "--peek"],
            r#"{"cookie": "old"}"#,
        )
        .on_tool("secret-set", |args, _| {
            assert_eq!(
                &args[..3],
                strings(&["--owner", "application", "secret:abc"])
            );
            let (key, path) = args[3].split_once("#file=").unwrap();
            assert_eq!(
                (key, std::fs::read_to_string(path).unwrap().as_str()),
                ("cookie", "new")
            );
            Ok(Vec::new())
        });
    let (model, runner) = model(juju);
    let options = SecretOptions::default();
    assert!(!model
        .secret_set("secret:abc", Some(&bag(&[("cookie", "old")])), &options)
        .unwrap());
    assert!(!model.secret_set("secret:abc", None, &options).unwrap());
    assert_eq!(runner.count("secret-set"), 0);
    assert!(model
        .secret_set("secret:abc", Some(&bag(&[("cookie", "new")])), &options)
        .unwrap());
    assert_eq!(runner.count("secret-set"), 1);
    assert_eq!(runner.count("secret-get"), 1);
}

#[test]
fn secret_metadata_only_updates_and_other_secret_tools() {
    let juju = FakeJuju::default()
        .on(
            &["secret-set", "--label", "l", "--description", "d", "--expire", "24h", "--rotate", "monthly", "--owner", "unit", "secret:abc"],
            "",
        )
        .on(
            &["secret-info-get", "--format=json", "--label", "cookie_secret"],
            r#"{"cs0fd0ulscr8ctc7v7u0": {"revision": 2, "label": "cookie_secret", "owner": "application", "rotation": "never"}}"#,
        )
        .on(&["secret-ids", "--format=json"], r#"["secret:abc"]"#)
        .on(&["secret-grant", "--relation", "7", "--unit", "hydra/0", "secret:abc"], "")
        .on(&["secret-revoke", "--relation", "7", "secret:abc"], "")
        .on(&["secret-remove", "secret:abc", "--revision", "1"], "")
        .on(&["secret-remove", "secret:abc"], "")
        .fail(&["secret-info-get", "--format=json", "secret:nope"], "ERROR not found");
    let (model, runner) = model(juju);
    let options = SecretOptions {
        label: Some("l".into()),
        description: Some("d".into()),
        expire: Some("24h".into()),
        rotate: Some(SecretRotate::Monthly),
        owner: SecretOwner::Unit,
    };
    assert!(model.secret_set("secret:abc", None, &options).unwrap());

    let info = model.secret_info(None, Some("cookie_secret")).unwrap();
    assert_eq!(
        info,
        SecretInfo {
            id: "cs0fd0ulscr8ctc7v7u0".into(),
            label: Some("cookie_secret".into()),
            revision: 2,
            owner: Some("application".into()),
            description: None,
            expiry: None,
            rotation: Some("never".into()),
            rotates: None,
        }
    );
    model.secret_info(None, Some("cookie_secret")).unwrap();
    assert!(matches!(
        model.secret_info(Some("secret:nope"), None),
        Err(ModelError::SecretNotFound { .. })
    ));
    assert!(matches!(
        model.secret_info(Some("a"), Some("b")),
        Err(ModelError::Invalid { .. })
    ));

    assert_eq!(model.secret_ids().unwrap(), ["secret:abc"]);
    model
        .secret_grant("secret:abc", 7, Some("hydra/0"))
        .unwrap();
    model.secret_revoke("secret:abc", 7, None).unwrap();
    model.secret_remove("secret:abc", Some(1)).unwrap();
    assert_eq!(model.secret_ids().unwrap(), ["secret:abc"]);
    model.secret_remove("secret:abc", None).unwrap();
    assert!(model.secret_ids().unwrap().is_empty());
    assert_eq!(runner.count("secret-ids"), 1);
    assert_eq!(runner.count("secret-info-get"), 2);
}

// ----- other tools ------------------------------------------------------------------------

#[test]
fn network_goal_state_resources_and_unit_state() {
    let juju = FakeJuju::default()
        .on(
            &["network-get", "--format=json", "kratos-peers"],
            r#"{"bind-addresses": [{"mac-address": "", "interface-name": "eth0",
                "addresses": [{"hostname": "", "value": "10.1.2.3", "cidr": "10.1.2.0/24"}]}],
                "egress-subnets": ["10.1.2.3/32"], "ingress-addresses": ["10.1.2.3"]}"#,
        )
        .on(
            &["goal-state", "--format=json"],
            r#"{"units": {"kratos/0": {"status": "active", "since": "2024-01-01T00:00:00Z"},
                          "kratos/1": {"status": "dying", "since": "2024-01-01T00:00:00Z"},
                          "kratos/2": {"status": "waiting", "since": "2024-01-01T00:00:00Z"}},
                "relations": {}}"#,
        )
        .on(
            &["resource-get", "oci-image"],
            "/var/lib/juju/resources/oci-image/x\n",
        )
        .on(&["state-get", "--format=json"], "null")
        .on(&["state-set", "--file", "-"], "")
        .on(&["state-delete", "migrated"], "");
    let (model, runner) = model(juju);
    let net = model.network_get("kratos-peers").unwrap();
    assert_eq!(net.ingress_address(), Some("10.1.2.3"));
    assert_eq!(net.bind_address(), Some("10.1.2.3"));
    assert_eq!(model.planned_units().unwrap(), 2);
    assert_eq!(
        model.resource_get("oci-image").unwrap(),
        PathBuf::from("/var/lib/juju/resources/oci-image/x")
    );
    assert_eq!(model.state_value("migrated").unwrap(), None);
    assert!(model.state_set(&bag(&[("migrated", "v1")])).unwrap());
    assert!(!model.state_set(&bag(&[("migrated", "v1")])).unwrap());
    assert_eq!(
        model.state_value("migrated").unwrap().as_deref(),
        Some("v1")
    );
    assert!(model.state_delete("migrated").unwrap());
    assert!(!model.state_delete("migrated").unwrap());
    assert_eq!(
        runner.calls_of("state-set")[0].stdin_text().as_deref(),
        Some(r#"{"migrated":"v1"}"#)
    );

    // Second round of reads: all cached.
    model.network_get("kratos-peers").unwrap();
    model.goal_state().unwrap();
    model.resource_get("oci-image").unwrap();
    assert!(
        runner.repeated_reads().is_empty(),
        "{:?}",
        runner.repeated_reads()
    );
    assert_eq!(runner.calls().len(), 6);
}

#[test]
fn a_whole_steady_state_hook_reads_everything_at_most_once() {
    let juju = relations_juju()
        .on(
            &["config-get", "--format=json"],
            r#"{"log_level": "info", "enforce_mfa": false}"#,
        )
        .on(&["is-leader", "--format=json"], "true")
        .on(
            &[
                "relation-get",
                "--format=json",
                "-r",
                "pg-database:3",
                "--app",
                "-",
                "postgresql-k8s",
            ],
            r#"{"endpoints": "pg:5432"}"#,
        )
        .on(
            &[
                "relation-get",
                "--format=json",
                "-r",
                "pg-database:3",
                "--app",
                "-",
                "kratos",
            ],
            r#"{"database": "kratos"}"#,
        )
        .on(
            &["opened-ports", "--format=json"],
            r#"["4433/tcp", "4434/tcp"]"#,
        )
        .on(
            &["secret-get", "--format=json", "--label", "cookie_secret"],
            r#"{"cookie": "c"}"#,
        );
    let (model, runner) = model(juju);
    for _ in 0..3 {
        let _: Config = model.config().unwrap();
        for rel in model
            .relations("pg-database")
            .unwrap()
            .iter()
            .filter(|r| r.id == 3)
        {
            let _: DatabaseProvides = model.databag_as(rel, Bag::RemoteApp).unwrap();
            assert!(!model
                .update_databag(rel, Bag::LocalApp, &bag(&[("database", "kratos")]))
                .unwrap());
        }
        assert!(!model
            .set_ports(&[Port::tcp(4433), Port::tcp(4434)])
            .unwrap());
        model
            .secret_get(None, Some("cookie_secret"), SecretRead::Current)
            .unwrap();
    }
    assert!(
        runner.repeated_reads().is_empty(),
        "{:?}",
        runner.repeated_reads()
    );
    let writes: Vec<_> = runner
        .calls()
        .into_iter()
        .filter(|c| !crate::recording::READ_TOOLS.contains(&c.tool.as_str()))
        .collect();
    assert!(writes.is_empty(), "steady state writes nothing: {writes:?}");
}
