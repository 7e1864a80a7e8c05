//! Faults of the workload, end to end (issue 14's fault table, the workload's half): the
//! compiled charm under the Juju emulator, each unit in its own pod with a real Pebble
//! running the real Kratos (v1.3.1) on a real PostgreSQL. Each test injects one fault,
//! checks that no hook crashes (or that Juju's retry of the failed hook resolves it), that
//! the status names the fault and the fix, that the last good workload keeps running, and
//! that the unit converges once the fault clears.
//!
//! The pods' `kratos` is the real binary behind a one-line wrapper that records each
//! invocation (so the tests can count migrations); the charm reaches unit 0's Pebble
//! through [`FaultProxy`], a unix-socket proxy that can cut connections; the database is
//! reached through [`DbSwitch`], which can turn into a server that accepts connections and
//! never answers.
// Test code: it may unwrap, index and panic like any test does (the charm's lints are
// for what runs in a hook).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{in_netns, kratos_bin, tail, Deployment, Postgres, Relay, Workload};
use juju_rs_ops_testing::Outcomes;

const LEADER: &str = "kratos/0";
const FOLLOWER: &str = "kratos/1";
/// Where postgresql-k8s's service answers, as seen from the pods.
const DB_PORT: u16 = 5432;
const CONFIG: &str = "/etc/config/kratos/kratos.yaml";

// ---- The fault injectors ----

/// [`FaultProxy`]'s modes.
const PASS: u8 = 0;
const CUT_AFTER_PUSH: u8 = 1;
const CUT: u8 = 2;

/// A unix socket at `<dir>/kratos/pebble.socket` (what the charm connects to) forwarding
/// each connection to the pod's real Pebble socket. Armed with [`CUT_AFTER_PUSH`], it lets
/// the first `POST /v1/files` (a push) through whole, then cuts every later connection
/// (accepted and closed at once): Pebble gone between the push and the restart.
struct FaultProxy {
    dir: tempfile::TempDir,
    mode: Arc<AtomicU8>,
}

impl FaultProxy {
    fn start(upstream: &Path) -> FaultProxy {
        let dir = tempfile::Builder::new()
            .prefix("fault-proxy-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("kratos")).unwrap();
        let listener = UnixListener::bind(dir.path().join("kratos/pebble.socket")).unwrap();
        let mode = Arc::new(AtomicU8::new(PASS));
        let upstream = upstream.to_path_buf();
        std::thread::spawn({
            let mode = mode.clone();
            move || {
                for client in listener.incoming() {
                    let Ok(client) = client else { return };
                    if mode.load(Ordering::SeqCst) == CUT {
                        drop(client);
                        continue;
                    }
                    let (mode, upstream) = (mode.clone(), upstream.clone());
                    std::thread::spawn(move || forward(client, &upstream, &mode));
                }
            }
        });
        FaultProxy { dir, mode }
    }

    fn containers_dir(&self) -> &Path {
        self.dir.path()
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("kratos/pebble.socket")
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }
}

fn forward(mut client: UnixStream, upstream: &Path, mode: &AtomicU8) {
    let Ok(mut server) = UnixStream::connect(upstream) else {
        return;
    };
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    // This push goes through; every connection after it is cut.
    if head.starts_with(b"POST /v1/files") {
        let _ = mode.compare_exchange(CUT_AFTER_PUSH, CUT, Ordering::SeqCst, Ordering::SeqCst);
    }
    if server.write_all(&head).is_err() {
        return;
    }
    let (Ok(mut client_in), Ok(mut server_out)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut server_out);
        let _ = server_out.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

/// The database as the pods reach it: a host listener relaying to PostgreSQL, or, when
/// switched to black-hole, accepting connections and never answering.
struct DbSwitch {
    port: u16,
    blackhole: Arc<AtomicU8>,
}

impl DbSwitch {
    fn start(pg_port: u16) -> DbSwitch {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let blackhole = Arc::new(AtomicU8::new(0));
        let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        std::thread::spawn({
            let blackhole = blackhole.clone();
            move || {
                for inside in listener.incoming().flatten() {
                    if blackhole.load(Ordering::SeqCst) == 1 {
                        held.lock().unwrap().push(inside);
                        continue;
                    }
                    let Ok(outside) = TcpStream::connect(("127.0.0.1", pg_port)) else {
                        continue;
                    };
                    pipe(&inside, &outside);
                    pipe(&outside, &inside);
                }
            }
        });
        DbSwitch { port, blackhole }
    }

    fn set_blackhole(&self, on: bool) {
        self.blackhole.store(u8::from(on), Ordering::SeqCst);
    }
}

fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

// ---- The shared set-up ----

/// What a test changes in the set-up.
#[derive(Default, Clone, Copy)]
struct Setup {
    units: usize,
    /// A 256 KiB tmpfs at `/etc/config/kratos` in unit 0's container.
    small_config_disk: bool,
    /// The database starts as a black hole.
    blackhole_db: bool,
    /// Kill unit 0's first `kratos migrate sql` as soon as it runs.
    kill_first_migration: bool,
}

/// The pods, the database and the emulator, torn down in reverse order.
struct Pods {
    d: Deployment,
    proxy: FaultProxy,
    db: DbSwitch,
    db_relation: u32,
    _relays: Vec<Relay>,
    _wrapper: tempfile::TempDir,
    calls: PathBuf,
    pg: Postgres,
}

impl Pods {
    /// `juju deploy kratos -n <units>`, integrated with postgresql-k8s (played by the
    /// test); waits for active and Kratos ready, unless the set-up makes the database
    /// fail.
    fn deploy(setup: Setup) -> Pods {
        let pg = Postgres::start();
        let db = DbSwitch::start(pg.port);
        db.set_blackhole(setup.blackhole_db);
        let wrapper = tempfile::Builder::new()
            .prefix("kratos-wrapper-")
            .tempdir()
            .unwrap();
        let calls = wrapper.path().join("calls.log");
        let script = format!(
            "#!/bin/sh\necho \"$$ $*\" >> {}\nexec {} \"$@\"\n",
            calls.display(),
            kratos_bin().display()
        );
        let kratos = wrapper.path().join("kratos");
        std::fs::write(&kratos, script).unwrap();
        std::fs::set_permissions(&kratos, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let workloads: Vec<Workload> = (0..setup.units.max(1))
            .map(|_| Workload::start(wrapper.path(), &[("SQA_OPT_OUT", "true")]))
            .collect();
        let relays = workloads
            .iter()
            .map(|w| {
                Relay::start(
                    w.pebble.netns().unwrap(),
                    DB_PORT,
                    ([127, 0, 0, 1], db.port).into(),
                )
            })
            .collect();
        if setup.small_config_disk {
            run_in(
                &workloads[0],
                "mkdir -p /etc/config/kratos && mount -t tmpfs -o size=256k tmpfs /etc/config/kratos",
            );
        }
        let proxy = FaultProxy::start(workloads[0].pebble.socket_path());
        let mut d = Deployment::with_workloads(workloads);
        d.emulator.set_unit_env(
            LEADER,
            "JUJU_RS_OPS_CONTAINERS_DIR",
            &proxy.containers_dir().display().to_string(),
        );
        ok(d.emulator.deploy(setup.units.max(1)).expect("deploy"));
        let (db_relation, outcomes) = d.integrate_database(&[]);
        ok(outcomes);
        let mut pods = Pods {
            d,
            proxy,
            db,
            db_relation,
            _relays: relays,
            _wrapper: wrapper,
            calls,
            pg,
        };
        let killer = setup
            .kill_first_migration
            .then(|| pods.kill_when_running(0, "migrate sql"));
        let (_, outcomes) =
            common::provide_database(&mut pods.d.emulator, &pods.pg, db_relation, DB_PORT);
        if let Some(killer) = killer {
            killer.join().unwrap();
        }
        if setup.blackhole_db || setup.kill_first_migration {
            assert!(outcomes.succeeded(), "{outcomes:?}");
            return pods;
        }
        ok(outcomes);
        for unit in 0..pods.d.workloads.len() {
            pods.wait_ready(unit);
        }
        pods.settle();
        for unit in 0..pods.d.workloads.len() {
            assert_eq!(pods.status(unit), ("active".into(), String::new()));
        }
        pods
    }

    fn unit(i: usize) -> String {
        format!("kratos/{i}")
    }

    fn status(&self, unit: usize) -> (String, String) {
        let s = self.d.status(&Pods::unit(unit));
        (s.status, s.message)
    }

    /// update-status on every unit, each hook succeeding.
    fn settle(&mut self) {
        ok(self.d.emulator.update_status().expect("update-status"));
    }

    fn netns(&self, unit: usize) -> String {
        self.d.workloads[unit].pebble.netns().unwrap().to_string()
    }

    /// `GET <admin>/admin/health/ready`'s status code (0 when nothing answers).
    fn ready(&self, unit: usize) -> u16 {
        in_netns(&self.netns(unit), || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .proxy(None)
                .timeout_global(Some(Duration::from_secs(5)))
                .build()
                .into();
            agent
                .get("http://127.0.0.1:4434/admin/health/ready")
                .call()
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        })
    }

    fn wait_ready(&self, unit: usize) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.ready(unit) != 200 {
            assert!(
                Instant::now() < deadline,
                "Kratos not ready on unit {unit}: {:?}\n{}",
                self.status(unit),
                tail(&self.d.workloads[unit].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `kratos.yaml` as the workload sees it.
    fn config(&self, unit: usize) -> String {
        self.d.workloads[unit].file(CONFIG).expect("kratos.yaml")
    }

    /// The host PIDs of the processes Pebble (unit `unit`) started whose command line
    /// contains `needle`, with their start times (clock ticks since boot).
    fn processes(&self, unit: usize, needle: &str) -> Vec<(u32, u64)> {
        let pebble = self.d.workloads[unit].pebble.pid();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some((_, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // After the name: state(0) ppid(1) ... starttime(19).
            if fields.get(1).and_then(|p| p.parse::<u32>().ok()) != Some(pebble) {
                continue;
            }
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push((pid, fields[19].parse().unwrap()));
            }
        }
        found
    }

    /// The running `kratos serve` process of unit `unit`: (pid, start time).
    fn kratos_process(&self, unit: usize) -> (u32, u64) {
        let found = self.processes(unit, "serve all");
        assert_eq!(found.len(), 1, "one kratos serve: {found:?}");
        found[0]
    }

    /// Kills (SIGKILL) unit `unit`'s first process whose command line has `needle`, from
    /// a thread, as soon as it runs (within 150 s).
    fn kill_when_running(&self, unit: usize, needle: &str) -> std::thread::JoinHandle<()> {
        let pebble = self.d.workloads[unit].pebble.pid();
        let needle = needle.to_string();
        let finder = ProcessFinder { pebble };
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(150);
            while Instant::now() < deadline {
                if let Some(pid) = finder.find(&needle) {
                    // Let it get going (connected, waiting on the database).
                    std::thread::sleep(Duration::from_millis(500));
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("no {needle} process appeared");
        })
    }

    /// Pebble's changes of `kind` (`restart`, `replan`, ...) on unit `unit`.
    fn changes(&self, unit: usize, kind: &str) -> usize {
        let socket = self.d.workloads[unit].pebble.socket_path();
        let out = std::process::Command::new("curl")
            .args(["-s", "--unix-socket"])
            .arg(socket)
            .arg("http://localhost/v1/changes?select=all")
            .output()
            .expect("curl");
        let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("changes");
        body["result"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] == kind)
            .count()
    }

    /// Restarts and replans on unit `unit`.
    fn restarts(&self, unit: usize) -> usize {
        self.changes(unit, "restart") + self.changes(unit, "replan")
    }

    /// The `kratos` invocations (their arguments) recorded by the wrapper in any pod.
    fn invocations(&self, args: &str) -> usize {
        std::fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split_once(' ').is_some_and(|(_, a)| a.starts_with(args)))
            .count()
    }

    fn service(&self, unit: usize, name: &str) -> String {
        self.d.workloads[unit].service(name)
    }
}

/// Finds Pebble's children by command line (usable from another thread).
struct ProcessFinder {
    pebble: u32,
}

impl ProcessFinder {
    fn find(&self, needle: &str) -> Option<u32> {
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid != Some(self.pebble) {
                continue;
            }
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .contains(needle)
            {
                return Some(pid);
            }
        }
        None
    }
}

fn run_in(workload: &Workload, script: &str) -> String {
    let out = workload
        .pebble
        .run_in_container(&["sh", "-c", script])
        .expect("run in the container");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn ok(outcomes: Outcomes) -> Outcomes {
    common::ok(outcomes)
}

/// The status message has every part.
fn says(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

// ---- The rows ----

/// Row 1a: Pebble unreachable when a hook starts (its socket gone), then back.
#[test]
fn pebble_unreachable_at_the_start_of_a_hook() {
    let mut p = Pods::deploy(Setup {
        units: 1,
        ..Setup::default()
    });
    let good = p.config(0);
    let running = p.kratos_process(0);
    let away = p.proxy.socket().with_extension("away");
    std::fs::rename(p.proxy.socket(), &away).unwrap();

    // The hooks succeed and wait; Kratos keeps serving its last good config.
    ok(p.d.emulator.set_config([("log_level", "debug")]).unwrap());
    assert_eq!(
        p.status(0),
        ("waiting".into(), "Waiting for the kratos container".into())
    );
    p.settle();
    assert_eq!(p.status(0).0, "waiting");
    assert_eq!(p.config(0), good);
    assert_eq!(p.kratos_process(0), running);
    assert_eq!(p.ready(0), 200);

    // Back: the next hook converges on the new config, with one restart.
    std::fs::rename(&away, p.proxy.socket()).unwrap();
    let restarts = p.restarts(0);
    p.settle();
    assert!(p.config(0).contains("level: debug"), "{}", p.config(0));
    assert_eq!(p.restarts(0), restarts + 1);
    assert_ne!(p.kratos_process(0), running);
    p.wait_ready(0);
    p.settle();
    assert_eq!(p.status(0), ("active".into(), String::new()));
}

/// Row 1b: Pebble gone in the middle of a hook, after the config push and before the
/// restart. The hook fails; Juju's retry must restart Kratos onto the pushed config, even
/// though the file is already current (the bug this row found: the retry saw the file
/// unchanged and left Kratos on the old config).
#[test]
fn pebble_gone_between_the_push_and_the_restart() {
    let mut p = Pods::deploy(Setup {
        units: 1,
        ..Setup::default()
    });
    let running = p.kratos_process(0);
    let good = p.config(0);
    p.proxy.set(CUT_AFTER_PUSH);
    // An option that changes only kratos.yaml: a changed layer would replan anyway.
    let template = "<p>Your recovery code: {{ .RecoveryCode }}</p>";
    let outcomes =
        p.d.emulator
            .set_config([("recovery_email_template", template)])
            .unwrap();
    let failed = outcomes.failure().expect("the hook fails").clone();
    assert!(
        failed.stderr.contains("Pebble") || failed.stdout.contains("Pebble"),
        "{failed:?}"
    );
    // The push landed; Kratos still runs what it was started with.
    let pushed = p.config(0);
    assert_ne!(pushed, good);
    assert_eq!(p.kratos_process(0), running);
    assert_eq!(p.ready(0), 200);

    // Juju retries the failed hook once Pebble answers again.
    p.proxy.set(PASS);
    let restarts = p.restarts(0);
    ok(p.d.emulator.on_every_unit("config-changed").unwrap());
    assert_eq!(
        p.restarts(0),
        restarts + 1,
        "restarted onto the pushed file"
    );
    assert_ne!(p.kratos_process(0), running);
    assert_eq!(p.config(0), pushed);
    p.wait_ready(0);
    p.settle();
    assert_eq!(p.status(0), ("active".into(), String::new()));
    // And only once.
    ok(p.d.emulator.on_every_unit("config-changed").unwrap());
    assert_eq!(p.restarts(0), restarts + 1);
}

/// Row 2: `kratos migrate sql` killed from outside during the hook, then hanging on a
/// database that accepts connections and never answers until the charm's timeout; then
/// the database answers and the next hook migrates and converges.
#[test]
fn a_migration_killed_then_hanging_past_its_timeout() {
    let mut p = Pods::deploy(Setup {
        units: 1,
        blackhole_db: true,
        kill_first_migration: true,
        ..Setup::default()
    });
    let (status, message) = p.status(0);
    assert_eq!(status, "blocked", "{message}");
    says(&message, &["migration was killed", "run-migration"]);
    assert_eq!(
        p.service(0, "kratos"),
        "missing",
        "nothing serves unmigrated"
    );

    // The next hook retries and hangs: Pebble kills it at the charm's timeout.
    let started = Instant::now();
    ok(p.d.emulator.update_status().unwrap());
    assert!(started.elapsed() >= Duration::from_secs(120));
    let (status, message) = p.status(0);
    assert_eq!(status, "waiting", "{message}");
    says(
        &message,
        &[
            "unfinished after 120s",
            "pg-database",
            "runs again on the next hook",
        ],
    );
    assert!(
        p.processes(0, "migrate sql").is_empty(),
        "no migration left"
    );

    // The database answers: the next hook migrates, once, and serves.
    p.db.set_blackhole(false);
    let migrations = p.invocations("migrate sql");
    p.settle();
    assert_eq!(p.invocations("migrate sql"), migrations + 1);
    p.wait_ready(0);
    p.settle();
    assert_eq!(p.status(0), ("active".into(), String::new()));
    p.settle();
    assert_eq!(p.invocations("migrate sql"), migrations + 1);
}

/// Row 3 (a, b): the leader crashed mid-migration (its migration killed), leadership moves
/// to a unit that never led: it migrates once and starts the courier; the old leader
/// follows without migrating. Then leadership moves back after the courier started:
/// exactly one courier at every step's end.
#[test]
fn leadership_moving_mid_migration_and_after_the_courier_started() {
    let mut p = Pods::deploy(Setup {
        units: 2,
        kill_first_migration: true,
        ..Setup::default()
    });
    assert_eq!(p.status(0).0, "blocked", "{:?}", p.status(0));
    says(&p.status(0).1, &["migration was killed"]);
    assert_eq!(
        p.status(1),
        (
            "waiting".into(),
            "Waiting for leader unit to run the migration".into()
        )
    );
    assert_eq!(p.invocations("migrate sql"), 1);

    // (b) kratos/0 is gone as leader before any record: kratos/1 never led.
    ok(p.d.emulator.set_leader(FOLLOWER).unwrap());
    p.settle();
    assert_eq!(
        p.invocations("migrate sql"),
        2,
        "the new leader migrated once"
    );
    p.wait_ready(1);
    p.wait_ready(0);
    p.settle();
    assert_eq!(p.status(0), ("active".into(), String::new()));
    assert_eq!(p.status(1), ("active".into(), String::new()));
    assert_eq!(p.service(1, "courier"), "active");
    assert_ne!(p.service(0, "courier"), "active");

    // (a) Leadership moves after the courier started: it moves with it.
    ok(p.d.emulator.set_leader(LEADER).unwrap());
    p.settle();
    assert_eq!(p.service(0, "courier"), "active");
    assert_ne!(p.service(1, "courier"), "active");
    assert_eq!(p.invocations("migrate sql"), 2, "no migration again");
    assert_eq!(p.status(0), ("active".into(), String::new()));
    assert_eq!(p.status(1), ("active".into(), String::new()));
}

/// Row 4: a provider rewriting its databag on every hook with equal content (unknown
/// keys added and changing, a JSON field reordered and re-spaced) restarts nothing; a
/// genuine change restarts exactly once.
#[test]
fn a_provider_flipping_its_databag_restarts_nothing() {
    let mut p = Pods::deploy(Setup {
        units: 1,
        ..Setup::default()
    });
    let base =
        p.d.emulator
            .state()
            .unwrap()
            .relation(p.db_relation)
            .unwrap()
            .app_bag("postgresql-k8s");
    let running = p.kratos_process(0);
    let restarts = p.restarts(0);
    let good = p.config(0);
    let flips = [
        r#"{"database": "kratos", "requested-secrets": ["username", "password"]}"#,
        r#"{ "requested-secrets" : [ "username","password" ], "database":"kratos" }"#,
    ];
    for (i, data) in flips.iter().enumerate() {
        let mut bag = base.clone();
        bag.insert("data".into(), (*data).into());
        bag.insert("x-provider-generation".into(), i.to_string());
        if i % 2 == 1 {
            bag.insert("read-only-endpoints".into(), String::new());
        }
        ok(p.d
            .emulator
            .set_remote_app_data(p.db_relation, bag)
            .unwrap());
        p.settle();
    }
    assert_eq!(p.restarts(0), restarts, "no restart for equal data");
    assert_eq!(p.kratos_process(0), running);
    assert_eq!(p.config(0), good);
    assert_eq!(p.status(0), ("active".into(), String::new()));

    // A genuine change (another address of the same database): one restart.
    let mut bag = base.clone();
    bag.insert("endpoints".into(), format!("localhost:{DB_PORT}"));
    ok(p.d
        .emulator
        .set_remote_app_data(p.db_relation, bag)
        .unwrap());
    p.settle();
    assert_eq!(p.restarts(0), restarts + 1);
    assert_ne!(p.kratos_process(0), running);
    p.wait_ready(0);
    p.settle();
    assert_eq!(p.restarts(0), restarts + 1);
    assert_eq!(p.status(0), ("active".into(), String::new()));
}

/// Row 5: the container's config disk full when the charm pushes a new config: Pebble's
/// error in the status, the old file intact, Kratos on it; space freed, the next hook
/// converges.
#[test]
fn a_full_config_disk_keeps_the_old_config() {
    let mut p = Pods::deploy(Setup {
        units: 1,
        small_config_disk: true,
        ..Setup::default()
    });
    let good = p.config(0);
    let running = p.kratos_process(0);
    run_in(
        &p.d.workloads[0],
        "dd if=/dev/zero of=/etc/config/kratos/filler bs=4k 2>/dev/null; true",
    );
    ok(p.d.emulator.set_config([("log_level", "debug")]).unwrap());
    let (status, message) = p.status(0);
    assert_eq!(status, "blocked", "{message}");
    says(&message, &[CONFIG, "no space left on device", "free space"]);
    assert_eq!(p.config(0), good, "the old file is intact");
    assert_eq!(p.kratos_process(0), running);
    assert_eq!(p.ready(0), 200);
    p.settle();
    assert_eq!(p.status(0).0, "blocked");

    run_in(&p.d.workloads[0], "rm /etc/config/kratos/filler");
    let restarts = p.restarts(0);
    p.settle();
    assert!(p.config(0).contains("level: debug"));
    assert_eq!(p.restarts(0), restarts + 1);
    p.wait_ready(0);
    p.settle();
    assert_eq!(p.status(0), ("active".into(), String::new()));
}
