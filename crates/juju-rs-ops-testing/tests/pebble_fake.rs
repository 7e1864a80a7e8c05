//! FakePebble: its own behaviour, and its fidelity to the real daemon (the same calls
//! on both must give the same observable results).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use juju_rs_ops::context::PebbleConnector;
use juju_rs_ops::pebble::{
    CheckStatus, ExecOutput, ExecRequest, Layer, NoticesQuery, Pebble, PebbleError, PushOptions,
    ServiceStartup, ServiceStatus,
};
use juju_rs_ops_testing::{FakePebble, FakePebbleConnector, PebbleCall, PebbleFixture};

fn layer(yaml: &str) -> Layer {
    serde_yaml_ng::from_str(yaml).expect("test layer YAML")
}

/// What a caller can observe of a result: the value, or an API error's status, kind
/// and message.
fn observe<T>(result: Result<T, PebbleError>) -> Result<T, (u16, String, String)> {
    result.map_err(|error| match error {
        PebbleError::Api {
            status,
            kind,
            message,
        } => (status, kind, message),
        other => panic!("expected an API error, got {other:?}"),
    })
}

/// Pebble writes files atomically through a temporary `<path>.<random digits>~`, which
/// shows in its error messages; the fake names the path itself.
fn without_temp_suffix(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(dot) = rest.find('.') {
        let after = &rest[dot + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&rest[..dot]);
        if digits > 0 && after[digits..].starts_with('~') {
            rest = &after[digits + 1..];
        } else {
            out.push('.');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Runs `call` on both and asserts the same observable outcome.
fn same<T: PartialEq + Debug>(
    what: &str,
    real: &dyn Pebble,
    fake: &dyn Pebble,
    call: impl Fn(&dyn Pebble) -> Result<T, PebbleError>,
) -> Result<T, (u16, String, String)> {
    let from_real = observe(call(real))
        .map_err(|(status, kind, message)| (status, kind, without_temp_suffix(&message)));
    let from_fake = observe(call(fake));
    assert_eq!(from_fake, from_real, "{what}: the fake differs from Pebble");
    from_real
}

type ServiceState = (String, ServiceStartup, ServiceStatus);

fn service_states(pebble: &dyn Pebble) -> Result<Vec<ServiceState>, PebbleError> {
    Ok(pebble
        .services(&[])?
        .into_iter()
        .map(|s| (s.name, s.startup, s.current))
        .collect())
}

fn container_dir() -> (tempfile::TempDir, PathBuf) {
    let host = tempfile::tempdir().unwrap();
    let dir = host.path().join("srv");
    (host, dir)
}

/// A real Pebble whose container directory is `dir`.
fn pebble_with_container(dir: &Path) -> PebbleFixture {
    PebbleFixture::builder().container_dir(dir).start().unwrap()
}

#[test]
fn layers_plans_and_layer_errors_match_real_pebble() {
    let fixture = PebbleFixture::start().unwrap();
    let real = fixture.client();
    let fake = FakePebble::new();

    let base = layer(
        r#"
summary: base layer
services:
  web:
    override: replace
    command: sleep 1000
    startup: enabled
    after: [db]
    environment: {A: "1", B: "1"}
  db:
    override: replace
    command: sleep 1001
    startup: disabled
checks:
  ready:
    override: replace
    level: ready
    period: 10s
    http: {url: "http://127.0.0.1:9/ready"}
  alive:
    override: replace
    level: alive
    startup: disabled
    exec: {command: "true"}
"#,
    );
    let patch = layer(
        r#"
summary: patch layer
services:
  web:
    override: merge
    after: [cache]
    environment: {B: "2"}
    on-check-failure: {ready: restart}
  worker:
    override: merge
    command: sleep 1002
    requires: [db]
checks:
  ready:
    override: merge
    threshold: 5
    http: {headers: {X-Probe: "1"}}
"#,
    );
    let into_base = layer(
        "services:\n  db:\n    override: merge\n    summary: database\n  \
         web:\n    override: replace\n    command: sleep 1003\n    startup: enabled\n",
    );
    same("add base", &real, &fake, |p| {
        p.add_layer("base", &base, false)
    })
    .unwrap();
    same("plan after base", &real, &fake, |p| p.plan()).unwrap();
    same("add patch", &real, &fake, |p| {
        p.add_layer("patch", &patch, false)
    })
    .unwrap();
    let plan = same("plan after patch", &real, &fake, |p| p.plan()).unwrap();
    assert_eq!(plan.services["web"].after, ["db", "cache"]);
    assert_eq!(plan.checks["alive"].threshold, Some(3), "Pebble's default");
    same("combine into base", &real, &fake, |p| {
        p.add_layer("base", &into_base, true)
    })
    .unwrap();
    let plan = same("plan after combine", &real, &fake, |p| p.plan()).unwrap();
    // "patch" still comes after "base", so its merge into web survives the replace.
    assert_eq!(plan.services["web"].command, "sleep 1003");
    assert_eq!(plan.services["web"].environment["B"], "2");

    let checks = |p: &dyn Pebble| {
        Ok(p.checks(&[])?
            .into_iter()
            .map(|c| (c.name, c.level, c.threshold))
            .collect::<Vec<_>>())
    };
    same("checks", &real, &fake, checks).unwrap();
    same("disabled check", &real, &fake, |p| {
        Ok(p.checks(&["alive"])?[0].status.clone())
    })
    .unwrap();

    let bad_layers = [
        ("no-override", "services:\n  s:\n    command: x\n"),
        (
            "bad-override",
            "services:\n  s:\n    override: sideways\n    command: x\n",
        ),
        ("no-command", "services:\n  s:\n    override: replace\n"),
        (
            "pebble-reserved",
            "services:\n  s:\n    override: replace\n    command: x\n",
        ),
        (
            "reserved-name",
            "services:\n  pebble:\n    override: replace\n    command: x\n",
        ),
        (
            "missing-requirement",
            "services:\n  s:\n    override: replace\n    command: x\n    requires: [ghost]\n",
        ),
        (
            "two-kinds",
            "checks:\n  c:\n    override: replace\n    tcp: {port: 1}\n    exec: {command: x}\n",
        ),
        (
            "check-level",
            "checks:\n  c:\n    override: replace\n    level: hot\n    tcp: {port: 1}\n",
        ),
        ("no-check-kind", "checks:\n  c:\n    override: replace\n"),
    ];
    for (label, yaml) in bad_layers {
        let bad = layer(yaml);
        let error = same(label, &real, &fake, |p| p.add_layer(label, &bad, false)).unwrap_err();
        assert_eq!(error.0, 400, "{label}: {error:?}");
    }
    let error = same("label exists", &real, &fake, |p| {
        p.add_layer("base", &into_base, false)
    })
    .unwrap_err();
    assert!(error.2.contains("already exists"));
    same("plan unchanged by errors", &real, &fake, |p| p.plan()).unwrap();
}

#[test]
fn service_operations_match_real_pebble() {
    let (_host, dir) = container_dir();
    let fixture = pebble_with_container(&dir);
    let real = fixture.client();
    let fake = FakePebble::new();
    let d = dir.to_str().unwrap();
    let base = layer(&format!(
        r#"
services:
  web:
    override: replace
    startup: enabled
    command: sh -c 'echo x >> {d}/web.starts; exec sleep 1000'
    requires: [db]
  db:
    override: replace
    command: sh -c 'echo x >> {d}/db.starts; exec sleep 1000'
  tool:
    override: replace
    command: sleep 1000
"#
    ));
    same("add", &real, &fake, |p| p.add_layer("base", &base, false)).unwrap();
    same("before", &real, &fake, service_states).unwrap();
    // web requires db: replan starts both.
    same("replan", &real, &fake, |p| p.replan()).unwrap();
    let states = same("after replan", &real, &fake, service_states).unwrap();
    assert_eq!(
        states[0],
        ("db".into(), ServiceStartup::Disabled, ServiceStatus::Active)
    );
    // Stopping db stops web, which requires it.
    same("stop db", &real, &fake, |p| p.stop(&["db"])).unwrap();
    same("after stop", &real, &fake, service_states).unwrap();
    same("replan again", &real, &fake, |p| p.replan()).unwrap();
    same("after second replan", &real, &fake, service_states).unwrap();

    // A changed definition: replan restarts web only.
    let patch = layer("services:\n  web:\n    override: merge\n    environment: {V: '2'}\n");
    same("patch", &real, &fake, |p| p.add_layer("base", &patch, true)).unwrap();
    same("replan after patch", &real, &fake, |p| p.replan()).unwrap();
    same("after patch", &real, &fake, service_states).unwrap();
    let starts = |name: &str| {
        let content = real.pull(&format!("{d}/{name}.starts")).unwrap();
        content.iter().filter(|b| **b == b'\n').count()
    };
    assert_eq!((starts("web"), starts("db")), (3, 2));
    assert_eq!(
        (fake.service_starts("web"), fake.service_starts("db")),
        (3, 2)
    );
    assert_eq!(fake.service_restarts("web"), 1);
    assert_eq!(fake.service_restarts("db"), 0);

    for (what, names) in [("unknown", vec!["ghost"]), ("none", vec![])] {
        same(what, &real, &fake, |p| p.start(&names)).unwrap_err();
        same(what, &real, &fake, |p| p.restart(&names)).unwrap_err();
    }
    same("filtered", &real, &fake, |p| {
        Ok(p.services(&["tool", "ghost"])?
            .into_iter()
            .map(|s| s.name)
            .collect::<Vec<_>>())
    })
    .unwrap();
}

#[test]
fn file_operations_match_real_pebble() {
    let (_host, dir) = container_dir();
    let fixture = pebble_with_container(&dir);
    let real = fixture.client();
    let fake = FakePebble::new();
    let d = dir.to_str().unwrap().to_owned();
    fake.add_dir(&d);

    let plain = PushOptions::default();
    let dirs = PushOptions {
        make_dirs: true,
        permissions: Some(0o640),
        ..PushOptions::default()
    };
    let p = |rel: &str| format!("{d}/{rel}");

    same("push without parent", &real, &fake, |x| {
        x.push(&p("etc/a.yaml"), b"a", &plain)
    })
    .unwrap_err();
    same("push with dirs", &real, &fake, |x| {
        x.push(&p("etc/a.yaml"), b"a: 1\n", &dirs)
    })
    .unwrap();
    same("push second", &real, &fake, |x| {
        x.push(&p("etc/b.txt"), b"bb", &plain)
    })
    .unwrap();
    same("pull", &real, &fake, |x| x.pull(&p("etc/a.yaml"))).unwrap();
    same("pull missing", &real, &fake, |x| x.pull(&p("etc/none"))).unwrap_err();
    same("pull a directory", &real, &fake, |x| x.pull(&p("etc"))).unwrap_err();
    same("relative push", &real, &fake, |x| {
        x.push("etc/x", b"x", &plain)
    })
    .unwrap_err();

    let listing = |path: String, pattern: Option<&'static str>, itself: bool| {
        move |x: &dyn Pebble| {
            Ok(x.list_files(&path, pattern, itself)?
                .into_iter()
                .map(|f| (f.path, f.name, f.r#type, f.size, f.permissions, f.user))
                .collect::<Vec<_>>())
        }
    };
    same("list dir", &real, &fake, listing(p("etc"), None, false)).unwrap();
    same(
        "list pattern",
        &real,
        &fake,
        listing(p("etc"), Some("*.y?ml"), false),
    )
    .unwrap();
    same(
        "list class",
        &real,
        &fake,
        listing(p("etc"), Some("[ab].*"), false),
    )
    .unwrap();
    same("list itself", &real, &fake, listing(p("etc"), None, true)).unwrap();
    same(
        "list file",
        &real,
        &fake,
        listing(p("etc/b.txt"), None, false),
    )
    .unwrap();
    same(
        "list missing",
        &real,
        &fake,
        listing(p("nope"), None, false),
    )
    .unwrap_err();
    same(
        "list relative",
        &real,
        &fake,
        listing("etc".into(), None, false),
    )
    .unwrap_err();

    same("mkdir", &real, &fake, |x| x.make_dir(&p("var"), &plain)).unwrap();
    same("mkdir existing", &real, &fake, |x| {
        x.make_dir(&p("var"), &plain)
    })
    .unwrap_err();
    same("mkdir no parent", &real, &fake, |x| {
        x.make_dir(&p("v/w"), &plain)
    })
    .unwrap_err();
    same("mkdir -p", &real, &fake, |x| x.make_dir(&p("v/w"), &dirs)).unwrap();
    same("mkdir -p existing", &real, &fake, |x| {
        x.make_dir(&p("v/w"), &dirs)
    })
    .unwrap();
    same("list made", &real, &fake, listing(p("v"), None, false)).unwrap();

    same("rm non-empty", &real, &fake, |x| {
        x.remove_path(&p("etc"), false)
    })
    .unwrap_err();
    same("rm missing", &real, &fake, |x| {
        x.remove_path(&p("nope"), false)
    })
    .unwrap_err();
    same("rm -r missing", &real, &fake, |x| {
        x.remove_path(&p("nope"), true)
    })
    .unwrap();
    same("rm file", &real, &fake, |x| {
        x.remove_path(&p("etc/b.txt"), false)
    })
    .unwrap();
    same("rm -r", &real, &fake, |x| x.remove_path(&p("etc"), true)).unwrap();
    same(
        "list after rm",
        &real,
        &fake,
        listing(d.clone(), None, false),
    )
    .unwrap();
}

#[test]
fn exec_of_an_unknown_program_matches_real_pebble() {
    let fixture = PebbleFixture::start().unwrap();
    let real = fixture.client();
    let fake = FakePebble::new();
    same("unknown program", &real, &fake, |p| {
        p.exec(&ExecRequest::new(["no-such-program"]))
    })
    .unwrap_err();
    same("empty command", &real, &fake, |p| {
        p.exec(&ExecRequest::default())
    })
    .unwrap_err();
}

#[test]
fn exec_handlers_match_by_longest_prefix_and_see_the_request() {
    let fake = Rc::new(FakePebble::new());
    fake.on_exec(["kratos"], |_| {
        Ok(ExecOutput {
            stdout: b"generic\n".to_vec(),
            ..ExecOutput::default()
        })
    });
    let seen = Rc::clone(&fake);
    fake.on_exec(["kratos", "migrate"], move |request| {
        // A handler may use the fake, e.g. to check the config it was pushed.
        let config = seen.file("/etc/config/kratos.yaml").unwrap_or_default();
        Ok(ExecOutput {
            exit_code: if config.is_empty() { 1 } else { 0 },
            stderr: request
                .environment
                .get("DSN")
                .cloned()
                .unwrap_or_default()
                .into_bytes(),
            ..ExecOutput::default()
        })
    });

    let version = fake.exec(&ExecRequest::new(["kratos", "version"])).unwrap();
    assert_eq!(version.stdout_text(), "generic\n");
    assert_eq!(version.command, ["kratos", "version"]);

    let migrate = ExecRequest {
        environment: BTreeMap::from([("DSN".to_string(), "postgres://x".to_string())]),
        ..ExecRequest::new(["kratos", "migrate", "sql", "-e"])
    };
    let before = fake.exec(&migrate).unwrap();
    assert_eq!(before.exit_code, 1);
    assert!(before.clone().success().is_err());
    fake.add_file("/etc/config/kratos.yaml", "dsn: x\n");
    let after = fake.exec(&migrate).unwrap();
    assert_eq!(after.exit_code, 0);
    assert_eq!(after.stderr, b"postgres://x");
    assert_eq!(fake.exec_requests().len(), 3);
    assert_eq!(fake.exec_requests()[1], migrate);
}

#[test]
fn services_replan_and_counters_in_the_fake() {
    let fake = FakePebble::new();
    fake.add_layer(
        "base",
        &layer(
            "services:\n  a:\n    override: replace\n    command: a\n    startup: enabled\n  \
             b:\n    override: replace\n    command: b\n",
        ),
        false,
    )
    .unwrap();
    fake.replan().unwrap();
    assert_eq!(fake.service_state("a").as_deref(), Some("active"));
    assert_eq!(fake.service_state("b").as_deref(), Some("inactive"));
    // Replan with nothing changed restarts nothing.
    fake.replan().unwrap();
    assert_eq!(fake.service_restarts("a"), 0);
    fake.restart(&["a", "b"]).unwrap();
    assert_eq!(fake.service_restarts("a"), 1, "a was running");
    assert_eq!(fake.service_restarts("b"), 0, "b only started");
    assert_eq!(fake.service_starts("b"), 1);
    fake.set_service_state("a", "backoff");
    assert_eq!(
        fake.services(&["a"]).unwrap()[0].current,
        ServiceStatus::Backoff,
        "a test can model a crashing workload"
    );
    assert_eq!(fake.service_state("ghost"), None);
}

#[test]
fn checks_notices_and_call_log_in_the_fake() {
    let fake = FakePebble::new();
    fake.add_layer(
        "checks",
        &layer("checks:\n  ready:\n    override: replace\n    level: ready\n    http: {url: 'http://x/'}\n"),
        false,
    )
    .unwrap();
    assert_eq!(fake.checks(&[]).unwrap()[0].status, CheckStatus::Up);
    fake.set_check("ready", "down", 3);
    let ready = &fake.checks(&["ready"]).unwrap()[0];
    assert_eq!((&ready.status, ready.failures), (&CheckStatus::Down, 3));

    let first = fake.add_notice("custom", "example.com/a", BTreeMap::new());
    let again = fake.add_notice(
        "custom",
        "example.com/a",
        BTreeMap::from([("k".to_string(), "v".to_string())]),
    );
    assert_eq!(first, again);
    fake.add_notice("change-update", "42", BTreeMap::new());
    let custom = fake
        .notices(&NoticesQuery {
            types: vec!["custom".into()],
            ..NoticesQuery::default()
        })
        .unwrap();
    assert_eq!(custom.len(), 1);
    assert_eq!(custom[0].occurrences, 2);
    assert_eq!(custom[0].last_data["k"], "v");
    assert_eq!(fake.notices(&NoticesQuery::default()).unwrap().len(), 2);

    assert_eq!(
        fake.calls(),
        [
            PebbleCall::AddLayer {
                label: "checks".into(),
                combine: false
            },
            PebbleCall::Checks(vec![]),
            PebbleCall::Checks(vec!["ready".into()]),
            PebbleCall::Notices,
            PebbleCall::Notices,
        ]
    );
    fake.clear_calls();
    assert!(fake.calls().is_empty());
}

#[test]
fn the_connector_shares_fakes_and_unknown_containers_cannot_connect() {
    let connector = FakePebbleConnector::new();
    let kratos = connector.add("kratos");
    let dirs = PushOptions {
        make_dirs: true,
        ..PushOptions::default()
    };
    connector
        .connect("kratos")
        .push("/etc/config/kratos.yaml", b"x", &dirs)
        .unwrap();
    assert_eq!(kratos.file("/etc/config/kratos.yaml").unwrap(), b"x");
    assert_eq!(kratos.permissions("/etc/config"), Some(0o755));

    let error = connector.connect("other").system_info().unwrap_err();
    assert!(
        matches!(&error, PebbleError::CannotConnect { socket, .. } if socket.contains("other")),
        "{error:?}"
    );

    kratos.set_cannot_connect(true);
    let calls_before = kratos.calls().len();
    assert!(matches!(
        connector.connect("kratos").plan(),
        Err(PebbleError::CannotConnect { .. })
    ));
    assert_eq!(kratos.calls().len(), calls_before, "nothing reached Pebble");
    kratos.set_cannot_connect(false);
    assert!(connector.connect("kratos").plan().is_ok());
}
