//! Shared set-up of the process-level tests: the compiled charm in a charm directory,
//! driven by the Juju emulator, each unit in its own "pod" (a network namespace holding
//! the unit's charm dispatches and its real Pebble, with a private mount namespace for
//! the container's files) running a workload `kratos` executable; and the real
//! PostgreSQL and Kratos the end-to-end tests use.
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
#![allow(dead_code)]

pub mod hydra;
pub mod kube;
pub mod netns;
pub mod relay;
pub mod traefik;

// Not every test binary that includes this module relays.
#[allow(unused_imports)]
pub use relay::Relay;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use juju_rs_ops_testing::state::{Relation, StatusRecord};
use juju_rs_ops_testing::{Emulator, Outcomes, PebbleFixture};

pub const APP: &str = "kratos";

/// The charm directory: metadata, config, actions and the compiled charm as `dispatch`.
pub fn charm_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("kratos-charm-")
        .tempdir()
        .expect("temp dir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["metadata.yaml", "config.yaml", "actions.yaml"] {
        std::fs::copy(root.join(file), dir.path().join(file)).expect("copy charm file");
    }
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_charm-kratos"),
        dir.path().join("dispatch"),
    )
    .expect("link dispatch");
    dir
}

/// One unit's workload container.
pub struct Workload {
    pub pebble: PebbleFixture,
    /// Where the stand-in kratos records its invocations (when it is the workload).
    pub calls_log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Workload {
    /// A container whose `kratos` is the executable in `kratos_dir`, with `extra_env` in
    /// Pebble's environment (services and execs inherit it).
    pub fn start(kratos_dir: &Path, extra_env: &[(&str, &str)]) -> Workload {
        let dir = tempfile::Builder::new()
            .prefix("kratos-workload-")
            .tempdir()
            .expect("temp dir");
        let calls_log = dir.path().join("kratos-calls.log");
        let mut builder = PebbleFixture::builder();
        for (key, value) in extra_env {
            builder = builder.env(key, value);
        }
        let pebble = builder
            .container("kratos")
            .container_dir("/etc/config")
            .network_namespace(true)
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", kratos_dir.display()),
            )
            .env("STAND_IN_KRATOS_LOG", &calls_log)
            .start()
            .expect("start Pebble (run scripts/install-pebble.sh)");
        Workload {
            pebble,
            calls_log,
            _dir: dir,
        }
    }

    /// The stand-in's recorded invocations of `cmd` (`serve`, `migrate`, `courier`).
    pub fn calls(&self, cmd: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.calls_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["cmd"] == cmd)
            .collect()
    }

    /// A file as the workload sees it.
    pub fn file(&self, path: &str) -> Option<String> {
        use juju_rs_ops::pebble::Pebble;
        self.pebble
            .client()
            .pull(path)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// `current` of a Pebble service (`active`, `inactive`, ...).
    pub fn service(&self, name: &str) -> String {
        use juju_rs_ops::pebble::Pebble;
        self.pebble
            .client()
            .services(&[name])
            .ok()
            .and_then(|s| s.into_iter().next())
            .map(|s| s.current.to_string())
            .unwrap_or_else(|| "missing".into())
    }
}

/// The stand-in kratos CLI shipped with the tests.
pub fn stand_in_kratos_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stand-in-kratos")
}

/// An emulator for `units` units of the charm, each with its own workload.
pub struct Deployment {
    pub emulator: Emulator,
    pub workloads: Vec<Workload>,
    _charm_dir: tempfile::TempDir,
}

impl Deployment {
    pub fn new(units: usize, kratos_dir: &Path) -> Deployment {
        Deployment::with_workloads(
            (0..units)
                .map(|_| Workload::start(kratos_dir, &[]))
                .collect(),
        )
    }

    /// A deployment whose unit `i` runs in `workloads[i]`.
    pub fn with_workloads(workloads: Vec<Workload>) -> Deployment {
        let charm_dir = charm_dir();
        let mut emulator = Emulator::new(charm_dir.path()).expect("emulator");
        for (i, workload) in workloads.iter().enumerate() {
            let unit = format!("{APP}/{i}");
            emulator.set_unit_env(
                &unit,
                "JUJU_RS_OPS_CONTAINERS_DIR",
                &workload.pebble.containers_dir().display().to_string(),
            );
            // The charm container shares the pod's network with the workload.
            if let Some(netns) = workload.pebble.netns() {
                emulator.set_unit_command_prefix(&unit, ["ip", "netns", "exec", netns]);
            }
        }
        Deployment {
            emulator,
            workloads,
            _charm_dir: charm_dir,
        }
    }

    /// The unit's status as Juju shows it.
    pub fn status(&self, unit: &str) -> StatusRecord {
        self.emulator.state().expect("state").units[unit]
            .status
            .clone()
    }

    /// Adds the pg-database relation with postgresql-k8s's answer in its app databag.
    pub fn integrate_database(&mut self, data: &[(&str, &str)]) -> (u32, Outcomes) {
        let relation = Relation::new(0, "pg-database", "postgresql_client", "postgresql-k8s")
            .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new())
            .with_remote_app_data(data.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let (id, outcomes) = self.emulator.add_relation(relation).expect("add relation");
        (id, outcomes)
    }
}

/// Panics with the failing hook's output when any dispatch failed.
pub fn ok(outcomes: Outcomes) -> Outcomes {
    if let Some(failed) = outcomes.failure() {
        panic!(
            "{} on {} failed ({:?}):\nstdout: {}\nstderr: {}",
            failed.event, failed.unit, failed.exit_code, failed.stdout, failed.stderr
        );
    }
    outcomes
}

pub const DB_ANSWER: &[(&str, &str)] = &[
    (
        "endpoints",
        "postgresql-k8s-primary.model.svc.cluster.local:5432",
    ),
    ("username", "relation_id_7"),
    ("password", "s3cr3t-p@ss"),
    ("database", "test-model_kratos"),
];

/// A free TCP port on the host's loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The real Kratos binary (`$KRATOS_BIN`, else where scripts/install-kratos.sh puts it).
pub fn kratos_bin() -> PathBuf {
    let path = std::env::var_os("KRATOS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/charm-kratos/bin/kratos")
        });
    assert!(
        path.is_file(),
        "no Kratos binary at {} (run scripts/install-kratos.sh or set KRATOS_BIN)",
        path.display()
    );
    path
}

/// A throwaway PostgreSQL cluster on the host's loopback (scripts/pg-test-server.sh),
/// superuser `postgres`/`postgres`; stopped and removed on drop.
pub struct Postgres {
    script: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Postgres {
    pub fn start() -> Postgres {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-test-server.sh");
        // Under /tmp and world-readable: the server runs as the postgres user.
        let dir = tempfile::Builder::new()
            .prefix("pg-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let mut perms = std::fs::metadata(dir.path()).expect("stat").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(dir.path(), perms).expect("chmod");
        let port = free_port();
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(dir.path().join("cluster"))
            .arg(port.to_string())
            .output()
            .expect("run pg-test-server.sh");
        let pg = Postgres { script, dir, port };
        assert!(
            out.status.success(),
            "pg-test-server.sh start failed (run scripts/install-postgres.sh): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    /// Stops the cluster (its data stays): the database is down.
    pub fn stop(&self) {
        let out = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(self.dir.path().join("cluster"))
            .output()
            .expect("run pg-test-server.sh");
        assert!(
            out.status.success(),
            "pg-test-server.sh stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the stopped cluster again, on the same port with the same data.
    pub fn restart(&self) {
        let out = Command::new("bash")
            .arg(&self.script)
            .arg("start")
            .arg(self.dir.path().join("cluster"))
            .arg(self.port.to_string())
            .output()
            .expect("run pg-test-server.sh");
        assert!(
            out.status.success(),
            "pg-test-server.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A DSN for the superuser.
    pub fn dsn(&self, database: &str) -> String {
        format!(
            "postgres://postgres:postgres@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// Runs SQL as the superuser on the `postgres` database; panics with psql's error
    /// when it fails.
    pub fn sql(&self, sql: &str) -> String {
        self.sql_on("postgres", sql)
    }

    /// Runs SQL as the superuser on `database`.
    pub fn sql_on(&self, database: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .env("PGPASSWORD", "postgres")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", database])
            .args([
                "-p",
                &self.port.to_string(),
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(self.dir.path().join("cluster"))
            .output();
    }
}

/// Runs `f` on a thread inside the network namespace `netns` (as `ip netns exec` would)
/// and returns its result: how a test reaches a pod's loopback.
pub fn in_netns<T: Send + 'static>(netns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || {
        netns::enter(&path);
        f()
    })
    .join()
    .expect("the thread in the network namespace panicked")
}

/// Plays postgresql-k8s answering the leader's request on relation `db_id`: a SUPERUSER role
/// for the relation (the charm asks for it) with a random password, the requested database,
/// the credentials in a Juju secret granted over the relation, then its application bag
/// pointing at `127.0.0.1:<db_port>` (where a relay reaches `pg` from the pod). Returns the
/// password (for the leak checks) and the hooks the answer ran.
pub fn provide_database(
    emulator: &mut Emulator,
    pg: &Postgres,
    db_id: u32,
    db_port: u16,
) -> (String, Outcomes) {
    let request = emulator
        .state()
        .expect("state")
        .relation(db_id)
        .expect("db relation")
        .app_bag(APP);
    let database = request["database"].clone();
    let role = format!("relation_id_{db_id}");
    let password = format!("pg-{}", rand_hex());
    pg.sql(&format!(
        "CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'"
    ));
    pg.sql(&format!("CREATE DATABASE \"{database}\""));
    let credentials = juju_rs_ops_testing::state::Secret::new(
        juju_rs_ops_testing::state::SecretOwner::Application("postgresql-k8s".into()),
        [("username", role.as_str()), ("password", password.as_str())],
    )
    .with_grant(db_id, APP);
    let secret_user = credentials.id.clone();
    emulator
        .update_state(|st| st.secrets.push(credentials))
        .expect("add credentials");
    let outcomes = emulator
        .set_remote_app_data(
            db_id,
            [
                ("endpoints", format!("127.0.0.1:{db_port}")),
                ("secret-user", secret_user),
                ("database", database),
                ("version", "15".into()),
            ],
        )
        .expect("database created");
    (password, outcomes)
}

/// The last 40 lines of a log, for failure messages.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// 16 random hex digits (unique names and passwords).
pub fn rand_hex() -> String {
    format!("{:016x}", rand::random::<u64>())
}
