//! The Pebble client against the real Pebble daemon (v1.32.1, see
//! scripts/install-pebble.sh), each test with its own daemon in private namespaces.
// Test code: it may panic like any test does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use juju_rs_ops::pebble::{
    CheckLevel, CheckStatus, Client, ExecRequest, Layer, LogTarget, NoticesQuery, Pebble,
    PebbleError, PushOptions, ServiceStartup,
};
use juju_rs_ops_testing::PebbleFixture;

fn layer(yaml: &str) -> Layer {
    serde_yaml_ng::from_str(yaml).expect("test layer YAML")
}

/// A private container directory: a fresh path under the system temp dir (so nothing
/// is left on the host), mounted as tmpfs inside the fixture.
fn container_dir() -> (tempfile::TempDir, PathBuf) {
    let host = tempfile::tempdir().unwrap();
    let dir = host.path().join("srv");
    (host, dir)
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn states(pebble: &Client) -> BTreeMap<String, String> {
    pebble
        .services(&[])
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.current.to_string()))
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Polls `probe` until it returns `Some`, for at most `limit`.
fn eventually<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn system_info_reports_the_daemons_version() {
    let fixture = PebbleFixture::start().unwrap();
    let info = fixture.client().system_info().unwrap();
    let cli = fixture
        .pebble_command()
        .args(["version", "--client"])
        .output()
        .unwrap();
    assert_eq!(info.version, String::from_utf8_lossy(&cli.stdout).trim());
    assert!(!info.boot_id.is_empty());
}

#[test]
fn layers_combine_into_the_plan_and_services_follow_start_stop_restart_replan() {
    let (_host, dir) = container_dir();
    let fixture = PebbleFixture::builder()
        .container_dir(&dir)
        .start()
        .unwrap();
    let pebble = fixture.client();
    let d = path_str(&dir);
    // Each start of a service appends a line to its file: a restart is visible.
    let service = |name: &str, startup: &str| {
        format!(
            "  {name}:\n    override: replace\n    startup: {startup}\n    \
             command: sh -c 'echo started >> {d}/{name}.starts; exec sleep 1000'\n"
        )
    };
    let base = format!(
        "summary: base\nservices:\n{}{}",
        service("web", "enabled"),
        service("worker", "disabled")
    );
    pebble.add_layer("base", &layer(&base), false).unwrap();
    let plan = pebble.plan().unwrap();
    assert_eq!(plan.services.len(), 2);
    assert_eq!(plan.services["web"].startup, Some(ServiceStartup::Enabled));
    assert_eq!(
        states(&pebble),
        map(&[("web", "inactive"), ("worker", "inactive")])
    );

    // replan starts what is enabled, and only that.
    pebble.replan().unwrap();
    assert_eq!(
        states(&pebble),
        map(&[("web", "active"), ("worker", "inactive")])
    );
    pebble.start(&["worker"]).unwrap();
    let only_worker = pebble.services(&["worker"]).unwrap();
    assert_eq!(only_worker.len(), 1);
    assert!(only_worker[0].is_running());

    pebble.stop(&["web", "worker"]).unwrap();
    assert_eq!(
        states(&pebble),
        map(&[("web", "inactive"), ("worker", "inactive")])
    );
    pebble.restart(&["web", "worker"]).unwrap();
    assert_eq!(
        states(&pebble),
        map(&[("web", "active"), ("worker", "active")])
    );

    // Merging an environment variable into web changes only web's definition: replan
    // restarts web and leaves worker running.
    let patch = "services:\n  web:\n    override: merge\n    environment:\n      MODE: patched\n";
    pebble.add_layer("base", &layer(patch), true).unwrap();
    let plan = pebble.plan().unwrap();
    assert_eq!(plan.services["web"].environment["MODE"], "patched");
    assert!(plan.services["web"].command.contains("exec sleep 1000"));
    pebble.replan().unwrap();
    let starts = |name: &str| {
        let content = pebble.pull(&format!("{d}/{name}.starts")).unwrap();
        String::from_utf8(content).unwrap().lines().count()
    };
    assert_eq!(starts("web"), 3, "replan, restart, replan after the change");
    assert_eq!(starts("worker"), 2, "start, restart; unchanged by replan");

    let error = pebble.start(&["nonexistent"]).unwrap_err();
    assert!(
        matches!(&error, PebbleError::Api { status: 400, message, .. } if message.contains("\"nonexistent\" does not exist")),
        "{error:?}"
    );
}

#[test]
fn a_service_that_cannot_start_fails_its_change_and_a_slow_change_times_out() {
    let fixture = PebbleFixture::start().unwrap();
    let pebble = fixture
        .client()
        .with_change_timeout(Duration::from_millis(300));
    let yaml = "services:\n  broken:\n    override: replace\n    command: sh -c 'exit 3'\n  \
                slow:\n    override: replace\n    command: sleep 1000\n";
    pebble.add_layer("base", &layer(yaml), false).unwrap();

    // Pebble waits ~1 s before declaring a start good: longer than the change timeout.
    let started = Instant::now();
    let error = pebble.start(&["slow"]).unwrap_err();
    assert!(
        matches!(error, PebbleError::Timeout(t) if t == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    let pebble = fixture.client();
    let error = pebble.start(&["broken"]).unwrap_err();
    match error {
        PebbleError::ChangeFailed { kind, message, .. } => {
            assert_eq!(kind, "start");
            assert!(message.contains("broken"), "{message}");
        }
        other => panic!("expected ChangeFailed, got {other:?}"),
    }
}

#[test]
fn files_push_pull_list_make_dir_and_remove_inside_the_container_only() {
    let (_host, dir) = container_dir();
    let fixture = PebbleFixture::builder()
        .container_dir(&dir)
        .start()
        .unwrap();
    let pebble = fixture.client();
    let d = path_str(&dir);
    let config = format!("{d}/config/kratos.yaml");

    // Every byte value, and things that look like multipart framing.
    let mut content: Vec<u8> = (0..=255u8).collect();
    content.extend_from_slice(b"\r\n--boundary\r\n\r\n--");
    let options = PushOptions {
        make_dirs: true,
        permissions: Some(0o600),
        user: Some("root".into()),
        group: Some("root".into()),
    };
    pebble.push(&config, &content, &options).unwrap();
    assert_eq!(pebble.pull(&config).unwrap(), content);

    let info = pebble.list_files(&config, None, false).unwrap();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].r#type, "file");
    assert_eq!(info[0].permissions, "600");
    assert_eq!(info[0].size, Some(content.len() as u64));
    assert_eq!(info[0].user.as_deref(), Some("root"));

    // Visible inside the container, absent on the host.
    let inside = fixture.run_in_container(&["cat", &config]).unwrap();
    assert!(inside.status.success());
    assert_eq!(inside.stdout, content);
    assert!(!Path::new(&config).exists(), "the push leaked to the host");

    // A bigger file, overwritten with default permissions.
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    pebble.push(&config, &big, &PushOptions::default()).unwrap();
    assert_eq!(pebble.pull(&config).unwrap(), big);
    assert_eq!(
        pebble.list_files(&config, None, false).unwrap()[0].permissions,
        "644"
    );

    let no_parent = pebble
        .push(&format!("{d}/missing/x"), b"x", &PushOptions::default())
        .unwrap_err();
    assert!(no_parent.is_not_found(), "{no_parent:?}");

    // Listing: a directory's entries, filtered by pattern, or the directory itself.
    pebble
        .push(
            &format!("{d}/config/other.txt"),
            b"o",
            &PushOptions::default(),
        )
        .unwrap();
    let names = |entries: Vec<juju_rs_ops::pebble::FileInfo>| {
        entries.into_iter().map(|e| e.name).collect::<Vec<_>>()
    };
    let config_dir = format!("{d}/config");
    assert_eq!(
        names(pebble.list_files(&config_dir, None, false).unwrap()),
        ["kratos.yaml", "other.txt"]
    );
    assert_eq!(
        names(
            pebble
                .list_files(&config_dir, Some("*.yaml"), false)
                .unwrap()
        ),
        ["kratos.yaml"]
    );
    let itself = pebble.list_files(&config_dir, None, true).unwrap();
    assert_eq!(itself.len(), 1);
    assert_eq!(itself[0].r#type, "directory");
    assert_eq!(itself[0].path, config_dir);

    // make_dir: one level, then with parents; an existing one is an error without.
    let plain = PushOptions::default();
    pebble.make_dir(&format!("{d}/a"), &plain).unwrap();
    assert!(pebble.make_dir(&format!("{d}/a"), &plain).is_err());
    let error = pebble.make_dir(&format!("{d}/x/y"), &plain).unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    let parents = PushOptions {
        make_dirs: true,
        permissions: Some(0o700),
        ..PushOptions::default()
    };
    pebble.make_dir(&format!("{d}/x/y"), &parents).unwrap();
    let y = pebble.list_files(&format!("{d}/x/y"), None, true).unwrap();
    assert_eq!(y[0].permissions, "700");

    // remove: a non-empty directory needs `recursive`.
    let error = pebble.remove_path(&config_dir, false).unwrap_err();
    assert!(matches!(error, PebbleError::Api { .. }) && !error.is_not_found());
    pebble.remove_path(&config_dir, true).unwrap();
    let gone = pebble.list_files(&config_dir, None, false).unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
    let missing = pebble.pull(&config).unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
    pebble.remove_path(&config_dir, true).unwrap();
}

#[test]
fn parallel_fixtures_have_separate_container_directories() {
    let (_host, dir) = container_dir();
    let first = PebbleFixture::builder()
        .container_dir(&dir)
        .start()
        .unwrap();
    let second = PebbleFixture::builder()
        .container_dir(&dir)
        .start()
        .unwrap();
    let path = format!("{}/who", path_str(&dir));
    let dirs = PushOptions {
        make_dirs: true,
        ..PushOptions::default()
    };
    first.client().push(&path, b"first", &dirs).unwrap();
    second.client().push(&path, b"second", &dirs).unwrap();
    assert_eq!(first.client().pull(&path).unwrap(), b"first");
    assert_eq!(second.client().pull(&path).unwrap(), b"second");
}

#[test]
fn checks_go_down_after_threshold_failures_and_up_again() {
    let (_host, dir) = container_dir();
    let fixture = PebbleFixture::builder()
        .container_dir(&dir)
        .start()
        .unwrap();
    let pebble = fixture.client();
    let flag = format!("{}/healthy", path_str(&dir));
    let yaml = format!(
        "checks:\n  \
           flag:\n    override: replace\n    level: ready\n    period: 100ms\n    threshold: 2\n    \
             exec:\n      command: test -f {flag}\n  \
           always:\n    override: replace\n    period: 100ms\n    exec:\n      command: 'true'\n"
    );
    pebble.add_layer("checks", &layer(&yaml), false).unwrap();

    let down = eventually(Duration::from_secs(5), || {
        let checks = pebble.checks(&["flag"]).unwrap();
        (checks.len() == 1 && checks[0].status == CheckStatus::Down).then(|| checks[0].clone())
    })
    .expect("the flag check never went down");
    assert_eq!(down.level, Some(CheckLevel::Ready));
    assert_eq!(down.threshold, 2);
    assert!(down.failures >= 2);

    let dirs = PushOptions {
        make_dirs: true,
        ..PushOptions::default()
    };
    pebble.push(&flag, b"", &dirs).unwrap();
    eventually(Duration::from_secs(5), || {
        (pebble.checks(&["flag"]).unwrap()[0].status.is_up()).then_some(())
    })
    .expect("the flag check never came back up");

    let all = pebble.checks(&[]).unwrap();
    let mut names: Vec<_> = all.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["always", "flag"]);
    assert!(all.iter().all(|c| c.status.is_up()));
}

#[test]
fn notices_recorded_with_pebble_notify_are_listed_and_filtered() {
    let fixture = PebbleFixture::start().unwrap();
    let notify = |args: &[&str]| {
        let output = fixture
            .pebble_command()
            .arg("notify")
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    };
    notify(&["example.com/juju-rs-ops/a"]);
    notify(&["example.com/juju-rs-ops/a", "step=two"]);
    notify(&["example.com/juju-rs-ops/b"]);

    let pebble = fixture.client();
    let by_key = pebble
        .notices(&NoticesQuery {
            types: vec!["custom".into()],
            keys: vec!["example.com/juju-rs-ops/a".into()],
        })
        .unwrap();
    assert_eq!(by_key.len(), 1);
    assert_eq!(by_key[0].r#type, "custom");
    assert_eq!(by_key[0].occurrences, 2);
    assert_eq!(by_key[0].last_data, map(&[("step", "two")]));

    let custom = pebble
        .notices(&NoticesQuery {
            types: vec!["custom".into()],
            ..NoticesQuery::default()
        })
        .unwrap();
    let mut keys: Vec<_> = custom.iter().map(|n| n.key.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["example.com/juju-rs-ops/a", "example.com/juju-rs-ops/b"]
    );

    let none = pebble
        .notices(&NoticesQuery {
            keys: vec!["example.com/juju-rs-ops/none".into()],
            ..NoticesQuery::default()
        })
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn exec_streams_stdin_stdout_stderr_and_reports_exit_codes() {
    let fixture = PebbleFixture::start().unwrap();
    let pebble = fixture.client();

    let hello = pebble.exec(&ExecRequest::new(["echo", "hello"])).unwrap();
    assert_eq!(hello.stdout, b"hello\n");
    assert_eq!(hello.exit_code, 0);
    assert_eq!(hello.command, ["echo", "hello"]);

    // A non-zero exit is output, not an error, until `.success()`.
    let failing = pebble
        .exec(&ExecRequest::new([
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ]))
        .unwrap();
    assert_eq!(failing.stdout, b"out\n");
    assert_eq!(failing.stderr, b"err\n");
    assert_eq!(failing.exit_code, 3);
    let failed = failing.success().unwrap_err();
    assert_eq!(failed.exit_code, 3);
    assert_eq!(failed.stderr, b"err\n");

    // Every write reaches us, also the last ones before a quick exit.
    let chatty = pebble
        .exec(&ExecRequest::new([
            "sh",
            "-c",
            "echo one >&2; echo two; sleep 0.1; echo three >&2; echo four; exit 1",
        ]))
        .unwrap();
    assert_eq!(chatty.stderr, b"one\nthree\n");
    assert_eq!(chatty.stdout, b"two\nfour\n");

    // stdin bigger than one frame comes back intact while output is read concurrently.
    let input: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let cat = pebble
        .exec(&ExecRequest {
            stdin: Some(input.clone()),
            ..ExecRequest::new(["cat"])
        })
        .unwrap();
    assert_eq!(cat.stdout.len(), input.len());
    assert!(cat.stdout == input);
    // Without stdin the command sees end-of-file right away.
    let empty = pebble.exec(&ExecRequest::new(["cat"])).unwrap();
    assert!(empty.stdout.is_empty());

    let env = pebble
        .exec(&ExecRequest {
            environment: map(&[("GREETING", "hi there")]),
            working_dir: Some("/usr".into()),
            ..ExecRequest::new(["sh", "-c", "echo \"$GREETING\"; pwd"])
        })
        .unwrap();
    assert_eq!(env.stdout_text(), "hi there\n/usr\n");

    let nobody = pebble
        .exec(&ExecRequest {
            user: Some("nobody".into()),
            // nobody's home, Pebble's default working directory, does not exist.
            working_dir: Some("/".into()),
            ..ExecRequest::new(["id", "-un"])
        })
        .unwrap();
    assert_eq!(nobody.stdout_text(), "nobody\n");

    let started = Instant::now();
    let error = pebble
        .exec(&ExecRequest {
            timeout: Some(Duration::from_millis(300)),
            ..ExecRequest::new(["sleep", "10"])
        })
        .unwrap_err();
    assert!(
        matches!(error, PebbleError::Timeout(t) if t == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    // Without a timeout of its own an exec is bounded by the change timeout; giving up
    // drops the websockets, and Pebble kills the command.
    let impatient = fixture
        .client()
        .with_change_timeout(Duration::from_millis(300));
    let marker = format!("{}.{}", 7, std::process::id());
    let error = impatient
        .exec(&ExecRequest::new(["sleep", &marker]))
        .unwrap_err();
    assert!(
        matches!(error, PebbleError::Timeout(t) if t == Duration::from_millis(300)),
        "{error:?}"
    );
    let running = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
            std::fs::read(entry.path().join("cmdline"))
                .is_ok_and(|cmdline| cmdline == format!("sleep\0{marker}\0").as_bytes())
        })
    };
    eventually(Duration::from_secs(3), || (!running()).then_some(()))
        .expect("the abandoned command is still running");

    let error = pebble
        .exec(&ExecRequest::new(["no-such-program-here"]))
        .unwrap_err();
    assert!(
        matches!(&error, PebbleError::Api { status: 400, message, .. } if message.contains("cannot find executable")),
        "{error:?}"
    );
}

#[test]
fn huge_timeouts_neither_panic_nor_upset_pebble() {
    let fixture = PebbleFixture::start().unwrap();
    let patient = fixture
        .client()
        .with_request_timeout(Duration::MAX)
        .with_change_timeout(Duration::MAX);
    // The exec timeout goes to Pebble capped at Go's largest duration; the client's own
    // wait (timeout plus grace) saturates.
    let output = patient
        .exec(&ExecRequest {
            timeout: Some(Duration::MAX),
            ..ExecRequest::new(["echo", "patient"])
        })
        .unwrap();
    assert_eq!(output.stdout_text(), "patient\n");
    // Changes are waited for with no deadline at all.
    patient
        .add_layer(
            "base",
            &layer("services:\n  s:\n    override: replace\n    command: sleep 1000\n"),
            false,
        )
        .unwrap();
    patient.start(&["s"]).unwrap();
    assert!(patient.services(&["s"]).unwrap()[0].is_running());
    patient.stop(&["s"]).unwrap();
}

#[test]
fn execs_from_several_threads_at_once() {
    let fixture = PebbleFixture::start().unwrap();
    let client = fixture.client();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let client = client.clone();
                scope.spawn(move || {
                    let word = format!("thread-{i}");
                    let output = client.exec(&ExecRequest::new(["echo", &word])).unwrap();
                    assert_eq!(output.stdout_text(), format!("{word}\n"));
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
    });
}

#[test]
fn connecting_to_a_missing_or_dead_socket_is_cannot_connect() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.socket");
    let error = Client::new(&missing).system_info().unwrap_err();
    match &error {
        PebbleError::CannotConnect { socket, source } => {
            assert_eq!(socket, path_str(&missing));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected CannotConnect, got {other:?}"),
    }
    assert!(error.to_string().contains(path_str(&missing)));

    // A socket file nobody listens on any more: connection refused.
    let dead = dir.path().join("dead.socket");
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    let error = Client::new(&dead).plan().unwrap_err();
    assert!(
        matches!(&error, PebbleError::CannotConnect { source, .. } if source.kind() == std::io::ErrorKind::ConnectionRefused),
        "{error:?}"
    );
}

#[test]
fn a_daemon_that_never_answers_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("silent.socket");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let holder = std::thread::spawn(move || {
        // Accept and hold the connection without answering.
        let (connection, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(800));
        drop(connection);
    });
    let client = Client::new(&socket).with_request_timeout(Duration::from_millis(200));
    let error = client.system_info().unwrap_err();
    assert!(
        matches!(error, PebbleError::Timeout(t) if t == Duration::from_millis(200)),
        "{error:?}"
    );
    holder.join().unwrap();
}

#[test]
fn log_targets_round_trip_and_a_combined_layer_disables_one_but_cannot_drop_it() {
    let fixture = PebbleFixture::start().unwrap();
    let pebble = fixture.client();
    let base = "services:\n  web:\n    override: replace\n    command: sleep 1000\n";
    pebble.add_layer("base", &layer(base), false).unwrap();
    let target = |location: &str, services: &[&str], labels: &[(&str, &str)]| LogTarget {
        r#override: "replace".into(),
        r#type: "loki".into(),
        location: location.into(),
        services: services.iter().map(|s| s.to_string()).collect(),
        labels: map(labels),
    };
    let forwarding = |targets: &[(&str, LogTarget)]| Layer {
        log_targets: targets
            .iter()
            .map(|(name, t)| (name.to_string(), t.clone()))
            .collect(),
        ..Layer::default()
    };
    // Nothing listens on port 9: Pebble only sends when there are logs to send.
    let loki0 = target(
        "http://127.0.0.1:9/loki/api/v1/push",
        &["all"],
        &[("juju_unit", "a/0")],
    );
    let loki1 = target("http://127.0.0.1:9/l1", &["all"], &[("product", "Juju")]);
    let both = forwarding(&[("loki/0", loki0.clone()), ("loki/1", loki1.clone())]);
    pebble.add_layer("fwd", &both, false).unwrap();
    assert_eq!(pebble.plan().unwrap().log_targets, both.log_targets);

    // A layer combined into the label without loki/0 keeps it: only an override
    // disables it (`-all` forwards no service; any location is accepted).
    let disabled = target("(removed)", &["-all"], &[]);
    pebble
        .add_layer("fwd", &forwarding(&[("loki/0", disabled.clone())]), true)
        .unwrap();
    let plan = pebble.plan().unwrap();
    assert_eq!(plan.log_targets["loki/0"], disabled);
    assert_eq!(plan.log_targets["loki/1"], loki1);
    // And enabled again the same way.
    pebble
        .add_layer("fwd", &forwarding(&[("loki/0", loki0.clone())]), true)
        .unwrap();
    assert_eq!(pebble.plan().unwrap().log_targets["loki/0"], loki0);
}

#[test]
fn a_bad_layer_is_an_api_error_with_pebbles_message() {
    let fixture = PebbleFixture::start().unwrap();
    let pebble = fixture.client();
    let error = pebble
        .add_layer("bad", &layer("services:\n  web:\n    command: x\n"), false)
        .unwrap_err();
    match error {
        PebbleError::Api {
            status, message, ..
        } => {
            assert_eq!(status, 400);
            assert_eq!(
                message,
                r#"layer "bad" must define "override" for service "web""#
            );
        }
        other => panic!("expected Api, got {other:?}"),
    }
    assert!(pebble.plan().unwrap().services.is_empty());
}

#[test]
fn network_namespaces_let_workloads_share_a_port_and_drop_cleans_up() {
    // Each fixture runs a second Pebble as its workload, listening on the same TCP port.
    let start = || {
        let (host, dir) = container_dir();
        let fixture = PebbleFixture::builder()
            .container_dir(&dir)
            .network_namespace(true)
            .start()
            .unwrap();
        let yaml = format!(
            "services:\n  listener:\n    override: replace\n    \
             command: {} run --create-dirs --http 127.0.0.1:38813\n    \
             environment:\n      PEBBLE: {d}/inner\n      PEBBLE_SOCKET: {d}/inner.socket\n",
            fixture.pebble_command().get_program().to_str().unwrap(),
            d = path_str(&dir),
        );
        let pebble = fixture.client();
        pebble.add_layer("base", &layer(&yaml), false).unwrap();
        (host, fixture)
    };
    let (_host_a, a) = start();
    let (_host_b, b) = start();
    assert_ne!(a.netns(), b.netns());
    // Both starts succeed: neither listener found the port taken.
    a.client().start(&["listener"]).unwrap();
    b.client().start(&["listener"]).unwrap();

    let connect = "exec 3<>/dev/tcp/127.0.0.1/38813";
    let inside = a
        .client()
        .exec(&ExecRequest::new(["bash", "-c", connect]))
        .unwrap();
    assert_eq!(
        inside.exit_code,
        0,
        "{}",
        String::from_utf8_lossy(&inside.stderr)
    );
    let from_host_side = b
        .network_command("bash")
        .args(["-c", connect])
        .status()
        .unwrap();
    assert!(from_host_side.success());
    let loopback_only = a.run_in_container(&["ip", "-o", "link"]).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&loopback_only.stdout)
            .lines()
            .count(),
        1,
        "{}",
        String::from_utf8_lossy(&loopback_only.stdout)
    );

    // Dropping the fixture kills Pebble and its services and deletes the namespace.
    let pebble_pid = a.pid();
    // Go starts children from any of its threads: collect them from every task.
    let mut service_pids: Vec<u32> = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pebble_pid}/task")).unwrap() {
        let children = std::fs::read_to_string(task.unwrap().path().join("children")).unwrap();
        service_pids.extend(
            children
                .split_whitespace()
                .map(|p| p.parse::<u32>().unwrap()),
        );
    }
    assert!(!service_pids.is_empty());
    let netns = a.netns().unwrap().to_owned();
    let socket = a.socket_path().to_owned();
    drop(a);
    for pid in std::iter::once(pebble_pid).chain(service_pids) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .map(|(_, r)| r.trim_start().chars().next());
        assert!(
            stat.is_empty() || state == Some(Some('Z')),
            "process {pid} survived the fixture: {stat}"
        );
    }
    let namespaces = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&namespaces.stdout).into_owned();
    assert!(
        !listed
            .lines()
            .any(|l| l.split_whitespace().next() == Some(netns.as_str())),
        "{netns} still listed: {listed}"
    );
    assert!(!socket.exists());
}

#[test]
fn the_charms_socket_connector_finds_fixtures_sharing_a_containers_dir() {
    use juju_rs_ops::context::{PebbleConnector, SocketConnector};
    let shared = tempfile::tempdir().unwrap();
    let (_host, dir) = container_dir();
    let kratos = PebbleFixture::builder()
        .container("kratos")
        .container_dir(&dir)
        .containers_dir(shared.path())
        .start()
        .unwrap();
    let sidecar = PebbleFixture::builder()
        .container("sidecar")
        .containers_dir(shared.path())
        .start()
        .unwrap();
    assert_eq!(kratos.containers_dir(), sidecar.containers_dir());
    assert_eq!(
        kratos.socket_path(),
        shared.path().join("kratos").join("pebble.socket")
    );

    let runtime = juju_rs_ops::SharedRuntime::new();
    let connector = SocketConnector {
        containers_dir: shared.path().to_owned(),
        runtime: runtime.clone(),
    };
    let dirs = PushOptions {
        make_dirs: true,
        ..PushOptions::default()
    };
    let file = format!("{}/marker", path_str(&dir));
    connector
        .connect("kratos")
        .push(&file, b"k", &dirs)
        .unwrap();
    assert_eq!(kratos.client().pull(&file).unwrap(), b"k");
    let in_sidecar = connector.connect("sidecar").pull(&file).unwrap_err();
    assert!(in_sidecar.is_not_found(), "{in_sidecar:?}");
    // Both containers' clients blocked on the connector's one runtime.
    assert!(runtime.is_built());
    let error = connector.connect("missing").system_info().unwrap_err();
    assert!(
        matches!(error, PebbleError::CannotConnect { .. }),
        "{error:?}"
    );

    // A second fixture cannot take a container's socket that is in use.
    let clash = PebbleFixture::builder()
        .container("kratos")
        .containers_dir(shared.path())
        .start();
    assert!(clash.is_err());
    drop(sidecar);
    assert!(!shared.path().join("sidecar/pebble.socket").exists());
}

#[test]
fn a_missing_pebble_binary_names_the_install_script() {
    let error = PebbleFixture::builder()
        .pebble_bin("/nonexistent/pebble")
        .start()
        .unwrap_err();
    assert!(
        error.to_string().contains("scripts/install-pebble.sh"),
        "{error}"
    );
}
