//! Shared set-up of the process-level tests: the compiled charm in a charm directory,
//! driven by the Juju emulator, each unit with its own real Pebble (private mount and
//! network namespaces) running a workload `kratos` executable.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use juju_rs_ops::testing::state::{Relation, StatusRecord};
use juju_rs_ops::testing::{Emulator, Outcomes, PebbleFixture};

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
            .map(|s| s.current)
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
            emulator.set_unit_env(
                &format!("{APP}/{i}"),
                "JUJU_RS_OPS_CONTAINERS_DIR",
                &workload.pebble.containers_dir().display().to_string(),
            );
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
