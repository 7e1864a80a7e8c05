//! End to end: the observability integrations against real backends. The compiled charm
//! runs under the Juju emulator in a pod with a real Pebble running the real Kratos
//! (v1.3.1) on a real PostgreSQL; the test plays Tempo on `tracing` with a real Jaeger
//! (OTLP over HTTP) and prometheus-k8s on `metrics-endpoint` with a real Prometheus and
//! promtool, configured from the relation data the way prometheus-k8s's library does.
//!
//! Where things run:
//! - Jaeger runs on the host (free ports); its OTLP/HTTP port is relayed onto the pod's
//!   loopback (as a Kubernetes service is reachable from a pod), and "tempo" publishes
//!   that relayed address as its `otlp_http` receiver.
//! - The unit's address is what `network-get` reports for it (the emulator's pod address,
//!   10.1.0.10 for kratos/0), which the charm publishes as `prometheus_scrape_unit_address`.
//!   To make that address real, the test adds it to the pod's loopback interface and runs
//!   Prometheus inside the pod's network namespace (`ip netns exec`): Prometheus then
//!   scrapes exactly the published address, with no rewriting, and the test reaches
//!   Prometheus's API on the pod's loopback. (No veth into the host: the host's network is
//!   shared with other tests.)
//!
//! One deployment serves the whole story; its steps run in order and each checks what it
//! changed.
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

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, in_netns, kratos_bin, tail, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops::pebble::Pebble as _;
use juju_rs_ops_testing::state::Relation;
use juju_rs_ops_testing::Outcomes;
use serde_json::{json, Value};

const LEADER: &str = "kratos/0";
/// Where postgresql-k8s's service answers, as seen from the pod.
const DB_PORT: u16 = 5432;
/// Where Tempo's OTLP/HTTP receiver answers, as seen from the pod.
const OTLP_PORT: u16 = 4318;
/// Where Prometheus listens, inside the pod's network namespace.
const PROMETHEUS_PORT: u16 = 9090;
const ADMIN: &str = "http://127.0.0.1:4434";
const PUBLIC: &str = "http://127.0.0.1:4433";
const LOGIN_UI: &str = "http://login-ui.test/ui";
const PASSWORD: &str = "Obs-Pa55word-e2e-user";
const TRACING_ENV: [&str; 4] = [
    "TRACING_PROVIDER",
    "TRACING_PROVIDERS_OTLP_SERVER_URL",
    "TRACING_PROVIDERS_OTLP_INSECURE",
    "TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO",
];

/// A tool binary from `$var`, else `$CHARM_KRATOS_BIN/<name>` (default
/// `~/.cache/charm-kratos/bin`); panics naming the install script when it is missing.
fn tool_bin(var: &str, name: &str, script: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("CHARM_KRATOS_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                    .join(".cache/charm-kratos/bin")
            })
            .join(name)
    });
    assert!(
        path.is_file(),
        "no {name} binary at {} (run {script} or set {var})",
        path.display()
    );
    path
}

/// A background process, killed (and reaped) on drop; its output goes to `log`.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(mut command: Command, log: PathBuf) -> Process {
        let out = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("clone"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
        Process { child, log }
    }

    fn log(&self) -> String {
        tail(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Jaeger v2 on the host (testdata/jaeger/test.yaml: memory storage, OTLP over HTTP, the
/// query API).
struct Jaeger {
    process: Process,
    otlp: SocketAddr,
    query: SocketAddr,
}

impl Jaeger {
    fn start(dir: &Path) -> Jaeger {
        let bin = tool_bin("JAEGER_BIN", "jaeger", "scripts/install-jaeger.sh");
        let address = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        let (otlp, query, grpc) = (
            address(free_port()),
            address(free_port()),
            address(free_port()),
        );
        let mut command = Command::new(bin);
        command
            .arg("--config")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/jaeger/test.yaml"))
            .env("JAEGER_OTLP_HTTP", otlp.to_string())
            .env("JAEGER_QUERY_HTTP", query.to_string())
            .env("JAEGER_QUERY_GRPC", grpc.to_string());
        let jaeger = Jaeger {
            process: Process::spawn(command, dir.join("jaeger.log")),
            otlp,
            query,
        };
        wait_for("Jaeger's query API", Duration::from_secs(30), || {
            (http(None, "GET", &jaeger.url("/api/services"), None).0 == 200).then_some(())
        })
        .unwrap_or_else(|| panic!("{}", jaeger.process.log()));
        jaeger
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.query)
    }

    fn services(&self) -> Vec<String> {
        let (_, body) = http(None, "GET", &self.url("/api/services"), None);
        serde_json::from_value(body["data"].clone()).unwrap_or_default()
    }

    /// Every span Jaeger has of `service` (the last hour).
    fn spans(&self, service: &str) -> Vec<Value> {
        let service: String =
            percent_encoding::utf8_percent_encode(service, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let (status, body) = http(
            None,
            "GET",
            &self.url(&format!(
                "/api/traces?service={service}&limit=1000&lookback=1h"
            )),
            None,
        );
        assert_eq!(status, 200, "{body}");
        body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|trace| trace["spans"].as_array().cloned().unwrap_or_default())
            .collect()
    }
}

/// Prometheus, running inside the pod's network namespace on its loopback.
struct Prometheus {
    process: Process,
    netns: String,
}

impl Prometheus {
    fn start(netns: &str, config: &Path, dir: &Path) -> Prometheus {
        let bin = tool_bin(
            "PROMETHEUS_BIN",
            "prometheus",
            "scripts/install-prometheus.sh",
        );
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", netns])
            .arg(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"))
            .arg("--scrape.discovery-reload-interval=100ms")
            .current_dir(dir);
        let prometheus = Prometheus {
            process: Process::spawn(command, dir.join("prometheus.log")),
            netns: netns.to_string(),
        };
        wait_for("Prometheus ready", Duration::from_secs(60), || {
            (prometheus.get("/-/ready").0 == 200).then_some(())
        })
        .unwrap_or_else(|| panic!("{}", prometheus.process.log()));
        prometheus
    }

    fn get(&self, path_and_query: &str) -> (u16, Value) {
        http(
            Some(&self.netns),
            "GET",
            &format!("http://127.0.0.1:{PROMETHEUS_PORT}{path_and_query}"),
            None,
        )
    }

    /// `/api/v1/query`: the result vector.
    fn query(&self, promql: &str) -> Vec<Value> {
        let q = percent_encoding::utf8_percent_encode(promql, percent_encoding::NON_ALPHANUMERIC);
        let (status, body) = self.get(&format!("/api/v1/query?query={q}"));
        assert_eq!(status, 200, "{promql}: {body}");
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A unit of the provider as the consumer sees it: its name, address and path prefix.
type Host = (String, String, String);

/// prometheus-k8s's side of `metrics-endpoint`, as its library computes it
/// (`charms.prometheus_k8s.v0.prometheus_scrape`, LIBPATCH 61,
/// `MetricsEndpointConsumer.jobs()` → `_static_scrape_config(relation)`):
/// - `scrape_jobs` from the provider's application bag; without `scrape_metadata` they are
///   used as they are;
/// - the topology (`JujuTopology.from_dict(scrape_metadata)`) names the jobs: each
///   `job_name` becomes `juju_<model>_<uuid[:8]>_<app>_prometheus_scrape[_<job_name>]`
///   (`prefix_job_names`);
/// - only the allowed keys are kept, over the default job `{metrics_path: /metrics,
///   static_configs: [{targets: ["*:80"]}]}` (`sanitize_scrape_config`);
/// - every unit (its bag's `prometheus_scrape_unit_name`, `prometheus_scrape_unit_address`,
///   `prometheus_scrape_unit_path`) gets its own job, `<job_name>-<unit number>`, for the
///   wildcard targets (`*` replaced by its address) and for the targets whose host is its
///   address, labelled with the topology (`label_matcher_dict`: juju_model,
///   juju_model_uuid, juju_application, juju_charm) plus `juju_unit`, metrics path
///   prefixed with the unit's path, and `instance` relabelled to
///   `<model>_<uuid>_<app>_<unit>`; other targets stay in one job with the topology labels
///   and `instance` = `<model>_<uuid>_<app>` (`expand_wildcard_targets_into_individual_jobs`).
///
/// Left out: cos-tool's validation of the jobs, the de-duplication of equal job names
/// (asserted unique instead) and `fallback_scrape_protocol` (unset by prometheus-k8s).
fn consumer_jobs(
    app_bag: &BTreeMap<String, String>,
    units: &[BTreeMap<String, String>],
) -> Vec<Value> {
    const ALLOWED_KEYS: [&str; 12] = [
        "job_name",
        "metrics_path",
        "static_configs",
        "scrape_interval",
        "scrape_timeout",
        "proxy_url",
        "relabel_configs",
        "metrics_relabel_configs",
        "sample_limit",
        "label_limit",
        "label_name_length_limit",
        "label_value_lenght_limit",
    ];
    let jobs: Vec<Value> = serde_json::from_str(&app_bag["scrape_jobs"]).expect("scrape_jobs");
    let metadata: Value =
        serde_json::from_str(&app_bag["scrape_metadata"]).expect("scrape_metadata");
    let field = |key: &str| metadata[key].as_str().unwrap_or_default().to_string();
    let (model, uuid, application, charm) = (
        field("model"),
        field("model_uuid"),
        field("application"),
        field("charm_name"),
    );
    let identifier = format!("{model}_{}_{application}", &uuid[..8]);
    let prefix = format!("juju_{identifier}_prometheus_scrape");
    let mut topology = json!({
        "juju_model": model,
        "juju_model_uuid": uuid,
        "juju_application": application,
    });
    if !charm.is_empty() {
        topology["juju_charm"] = json!(charm);
    }
    let relabel = |with_unit: bool| {
        let mut sources = vec!["juju_model", "juju_model_uuid", "juju_application"];
        if with_unit {
            sources.push("juju_unit");
        }
        json!({"source_labels": sources, "separator": "_", "target_label": "instance",
               "regex": "(.*)"})
    };
    let hosts: Vec<Host> = units
        .iter()
        .map(|bag| {
            let get = |key: &str| bag.get(key).cloned().unwrap_or_default();
            (
                get("prometheus_scrape_unit_name"),
                get("prometheus_scrape_unit_address"),
                get("prometheus_scrape_unit_path"),
            )
        })
        .collect();
    let merge = |base: &Value, extra: &Value| {
        let mut merged = base.as_object().unwrap().clone();
        if let Some(extra) = extra.as_object() {
            merged.extend(extra.clone());
        }
        Value::Object(merged)
    };
    let mut out = Vec::new();
    for job in jobs {
        let mut sanitized = json!({"metrics_path": "/metrics",
                                   "static_configs": [{"targets": ["*:80"]}]});
        for (key, value) in job.as_object().expect("a job object") {
            if ALLOWED_KEYS.contains(&key.as_str()) {
                sanitized[key] = value.clone();
            }
        }
        sanitized["job_name"] = json!(match job["job_name"].as_str() {
            Some(name) if !name.is_empty() => format!("{prefix}_{name}"),
            _ => prefix.clone(),
        });
        let per_unit = |static_config: &Value, targets: Vec<String>, unit: &Host| {
            let (name, _, path) = unit;
            let mut job = sanitized.clone();
            job["job_name"] = json!(format!(
                "{}-{}",
                sanitized["job_name"].as_str().unwrap(),
                name.rsplit('/').next().unwrap()
            ));
            job["metrics_path"] = json!(format!(
                "{path}{}",
                sanitized["metrics_path"].as_str().unwrap_or("/metrics")
            ));
            let mut labels = merge(&topology, &json!({"juju_unit": name}));
            labels = merge(&labels, &static_config["labels"]);
            let mut static_config = static_config.clone();
            static_config["targets"] = json!(targets);
            static_config["labels"] = labels;
            job["static_configs"] = json!([static_config]);
            let mut relabels = job["relabel_configs"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            relabels.push(relabel(true));
            job["relabel_configs"] = json!(relabels);
            job
        };
        let mut unmatched = Vec::new();
        for static_config in sanitized["static_configs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let targets: Vec<String> =
                serde_json::from_value(static_config["targets"].clone()).unwrap_or_default();
            let (wildcards, fixed): (Vec<String>, Vec<String>) =
                targets.into_iter().partition(|t| t.starts_with('*'));
            let mut left = Vec::new();
            let mut matched: Vec<(&Host, Vec<String>)> = Vec::new();
            for target in fixed {
                let host = url::Url::parse(&format!("http://{target}"))
                    .ok()
                    .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()))
                    .unwrap_or_default();
                match hosts.iter().find(|(_, address, _)| *address == host) {
                    Some(unit) => match matched.iter_mut().find(|(u, _)| u.0 == unit.0) {
                        Some((_, list)) => list.push(target),
                        None => matched.push((unit, vec![target])),
                    },
                    None => left.push(target),
                }
            }
            if !left.is_empty() {
                let mut config = static_config.clone();
                config["targets"] = json!(left);
                config["labels"] = merge(&topology, &static_config["labels"]);
                unmatched.push(config);
            }
            for (unit, targets) in matched {
                out.push(per_unit(&static_config, targets, unit));
            }
            if !wildcards.is_empty() {
                for unit in &hosts {
                    let resolved = wildcards.iter().map(|t| t.replace('*', &unit.1)).collect();
                    out.push(per_unit(&static_config, resolved, unit));
                }
            }
        }
        if !unmatched.is_empty() {
            let mut job = sanitized.clone();
            job["static_configs"] = json!(unmatched);
            let mut relabels = job["relabel_configs"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            relabels.push(relabel(false));
            job["relabel_configs"] = json!(relabels);
            out.push(job);
        }
    }
    out
}

/// The pod, the database, the backends and the emulator, torn down in reverse order.
struct Story {
    d: Deployment,
    _relays: Vec<Relay>,
    pg: Postgres,
    dir: tempfile::TempDir,
}

impl Story {
    fn netns(&self) -> String {
        self.d.workloads[0]
            .pebble
            .netns()
            .expect("pods have a network namespace")
            .to_string()
    }

    fn ok(&mut self, outcomes: Outcomes) -> Outcomes {
        common::ok(outcomes)
    }

    fn status(&self) -> (String, String) {
        let s = self.d.status(LEADER);
        (s.status, s.message)
    }

    /// update-status, then the status.
    fn settled_status(&mut self) -> (String, String) {
        let outcomes = self.d.emulator.update_status().expect("update-status");
        self.ok(outcomes);
        self.status()
    }

    fn http(&self, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        http(Some(&self.netns()), method, url, body)
    }

    /// The kratos service's environment in Pebble's plan.
    fn kratos_env(&self) -> BTreeMap<String, String> {
        let plan = self.d.workloads[0].pebble.client().plan().expect("plan");
        plan.services["kratos"]
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn kratos_log(&self) -> String {
        tail(&self.d.workloads[0].pebble.log())
    }

    /// Waits until Kratos answers ready on its admin API.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (status, body) = self.http("GET", &format!("{ADMIN}/admin/health/ready"), None);
            if status == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Kratos not ready ({status} {body}), unit {:?}:\n{}",
                self.d.status(LEADER),
                self.kratos_log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Registers `email` through the public API's password method.
    fn register(&self, email: &str) {
        let (status, flow) = self.http(
            "GET",
            &format!("{PUBLIC}/self-service/registration/api"),
            None,
        );
        assert_eq!(status, 200, "{flow}");
        let flow_id = flow["id"].as_str().expect("flow id");
        let (status, body) = self.http(
            "POST",
            &format!("{PUBLIC}/self-service/registration?flow={flow_id}"),
            Some(json!({"method": "password", "traits": {"email": email}, "password": PASSWORD})),
        );
        assert_eq!(status, 200, "registration of {email}: {body}");
    }

    /// Integrates `endpoint` with `app` (one unit, no data yet): the relation id.
    fn integrate(&mut self, endpoint: &str, app: &str) -> u32 {
        let relation = Relation::new(0, endpoint, "", app)
            .with_remote_unit(&format!("{app}/0"), Vec::<(String, String)>::new());
        let (id, outcomes) = self.d.emulator.add_relation(relation).expect("integrate");
        self.ok(outcomes);
        id
    }

    /// The provider replaces its application bag: relation-changed.
    fn publish(&mut self, relation: u32, bag: &[(&str, String)]) {
        let outcomes = self
            .d
            .emulator
            .set_remote_app_data(relation, bag.iter().map(|(k, v)| (*k, v.clone())))
            .expect("publish");
        self.ok(outcomes);
    }

    /// Our application's and units' bags on `relation`.
    fn our_bags(&self, relation: u32) -> (BTreeMap<String, String>, Vec<BTreeMap<String, String>>) {
        let state = self.d.emulator.state().expect("state");
        let relation = state.relation(relation).expect("relation");
        let app = relation.app_bag(APP).into_iter().collect();
        let units = state
            .units
            .keys()
            .filter(|u| u.starts_with(&format!("{APP}/")))
            .map(|u| relation.unit_bag(u).into_iter().collect())
            .collect();
        (app, units)
    }

    /// Plays postgresql-k8s: a superuser role and the requested database, the credentials
    /// in a secret granted over the relation.
    fn provide_database(&mut self, db_id: u32) {
        let (_password, outcomes) =
            common::provide_database(&mut self.d.emulator, &self.pg, db_id, DB_PORT);
        self.ok(outcomes);
    }
}

/// An HTTP request from the host (`netns` None) or from inside a network namespace.
fn http(netns: Option<&str>, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let (method, url) = (method.to_string(), url.to_string());
    let request = move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let request = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(url.as_str())
            .header("Accept", "application/json");
        let result = match body {
            Some(body) => agent.run(
                request
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .expect("request"),
            ),
            None => agent.run(request.body(()).expect("request")),
        };
        match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let text = response
                    .body_mut()
                    .with_config()
                    .limit(64 * 1024 * 1024)
                    .read_to_string()
                    .unwrap_or_default();
                let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                (status, value)
            }
            Err(e) => (0, Value::String(e.to_string())),
        }
    };
    match netns {
        Some(netns) => in_netns(netns, request),
        None => request(),
    }
}

/// Polls `f` every 250ms until it gives a value or `limit` passes.
fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = f() {
            return Some(value);
        }
        if Instant::now() > deadline {
            eprintln!("timed out waiting for {what}");
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every string in a span (operation name, tag values): where a request's path shows.
fn span_text(span: &Value) -> String {
    let mut text = span["operationName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for tag in span["tags"].as_array().into_iter().flatten() {
        text.push(' ');
        text.push_str(&tag["value"].to_string());
    }
    text
}

/// The metric names of a PromQL expression's selectors (`name{...}`).
fn selected_metrics(expr: &str) -> Vec<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = Vec::new();
    for (at, _) in expr.match_indices('{') {
        let start = expr[..at].rfind(|c: char| !is_name(c)).map_or(0, |i| i + 1);
        if start < at {
            names.push(expr[start..at].to_string());
        }
    }
    assert!(!names.is_empty(), "no selector in {expr}");
    names
}

fn receivers(name: &str, url: &str) -> String {
    json!([{"protocol": {"name": name, "type": "http"}, "url": url}]).to_string()
}

#[test]
fn traces_reach_jaeger_and_prometheus_scrapes_kratos_with_the_published_rules() {
    let kratos = kratos_bin();
    // Checked first, so a missing tool fails before anything starts.
    tool_bin("JAEGER_BIN", "jaeger", "scripts/install-jaeger.sh");
    tool_bin(
        "PROMETHEUS_BIN",
        "prometheus",
        "scripts/install-prometheus.sh",
    );
    let promtool = tool_bin("PROMTOOL_BIN", "promtool", "scripts/install-prometheus.sh");
    let kratos_dir = kratos.parent().expect("bin dir").to_path_buf();
    let dir = tempfile::Builder::new()
        .prefix("kratos-obs-")
        .tempdir()
        .expect("temp dir");
    let pg = Postgres::start();
    let jaeger = Jaeger::start(dir.path());
    let workload = Workload::start(&kratos_dir, &[("SQA_OPT_OUT", "true")]);
    let netns = workload.pebble.netns().expect("netns").to_string();
    let relays = vec![
        Relay::start(&netns, DB_PORT, ([127, 0, 0, 1], pg.port).into()),
        Relay::start(&netns, OTLP_PORT, jaeger.otlp),
    ];
    let mut s = Story {
        d: Deployment::with_workloads(vec![workload]),
        _relays: relays,
        pg,
        dir,
    };
    let started = Instant::now();

    // 1. juju deploy kratos; the login UI (its pages turn the password method on) and
    // postgresql-k8s: migrated, served, active, no tracing.
    let outcomes = s.d.emulator.deploy(1).expect("deploy");
    s.ok(outcomes);
    let pages = [
        "login",
        "error",
        "settings",
        "recovery",
        "verification",
        "registration",
        "webauthn_settings",
        "account_linking_settings",
    ];
    let ui = Relation::new(0, "ui-endpoint-info", "login_ui_endpoints", "login-ui")
        .with_remote_unit("login-ui/0", Vec::<(String, String)>::new())
        .with_remote_app_data(pages.map(|p| (format!("{p}_url"), format!("{LOGIN_UI}/{p}"))));
    let (_, outcomes) = s.d.emulator.add_relation(ui).expect("integrate login UI");
    s.ok(outcomes);
    let db = s.integrate("pg-database", "postgresql-k8s");
    s.provide_database(db);
    s.wait_ready();
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    assert!(!s.kratos_env().contains_key("TRACING_PROVIDER"));

    // 2. juju integrate kratos tempo: the leader asks for otlp_http; tempo answers with
    // its receiver (Jaeger's OTLP port, relayed into the pod). Kratos restarts exporting
    // over OTLP/HTTP, and a registration's spans reach Jaeger under Kratos's service name.
    let tracing = s.integrate("tracing", "tempo");
    let (bag, _) = s.our_bags(tracing);
    assert_eq!(
        bag.get("receivers").map(String::as_str),
        Some(r#"["otlp_http"]"#)
    );
    let otlp_url = format!("http://127.0.0.1:{OTLP_PORT}");
    s.publish(tracing, &[("receivers", receivers("otlp_http", &otlp_url))]);
    let env = s.kratos_env();
    assert_eq!(env["TRACING_PROVIDER"], "otel");
    assert_eq!(
        env["TRACING_PROVIDERS_OTLP_SERVER_URL"],
        format!("127.0.0.1:{OTLP_PORT}")
    );
    assert_eq!(env["TRACING_PROVIDERS_OTLP_INSECURE"], "true");
    s.wait_ready();
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    s.register("traced@example.com");
    let service = wait_for("Kratos's spans in Jaeger", Duration::from_secs(60), || {
        jaeger.services().into_iter().find(|service| {
            jaeger
                .spans(service)
                .iter()
                .any(|span| span_text(span).contains("/self-service/registration"))
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "no registration span in Jaeger (services {:?}):\n{}\n{}",
            jaeger.services(),
            jaeger.process.log(),
            s.kratos_log()
        )
    });
    assert_eq!(
        service, "Ory Kratos",
        "Kratos's default tracing service name"
    );
    // Both requests of the flow are server spans named by their route, next to the
    // spans of what they did (password hashing, SQL).
    let operations: Vec<String> = jaeger
        .spans(&service)
        .iter()
        .map(|span| {
            span["operationName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    for operation in [
        "/self-service/registration/api",
        "/self-service/registration",
        "selfservice.strategy.password.strategy.Register",
    ] {
        assert!(
            operations.iter().any(|o| o == operation),
            "{operation} not in {operations:?}"
        );
    }

    // A provider without otlp_http: a status naming it, the tracing environment gone,
    // Kratos serving.
    s.publish(
        tracing,
        &[(
            "receivers",
            json!([{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "127.0.0.1:4317"}])
                .to_string(),
        )],
    );
    let (status, message) = s.settled_status();
    assert_eq!(status, "waiting", "{message}");
    assert!(
        message.contains("otlp_http") && message.contains("otlp_grpc") && message.contains("tempo"),
        "{status}: {message}"
    );
    let env = s.kratos_env();
    for key in TRACING_ENV {
        assert!(!env.contains_key(key), "{key} is still set");
    }
    s.wait_ready();
    assert_eq!(s.d.workloads[0].service("kratos"), "active");
    s.publish(tracing, &[("receivers", receivers("otlp_http", &otlp_url))]);
    assert_eq!(s.kratos_env()["TRACING_PROVIDER"], "otel");
    s.wait_ready();
    assert_eq!(s.settled_status(), ("active".into(), String::new()));

    // 3. juju integrate kratos prometheus-k8s: the leader publishes the scrape job, the
    // topology and the alert rules, the unit its address and name. The consumer's
    // translation of them (prometheus-k8s's library) configures a real Prometheus, which
    // scrapes Kratos at the published address.
    let metrics = s.integrate("metrics-endpoint", "prometheus-k8s");
    let (app_bag, unit_bags) = s.our_bags(metrics);
    let state = s.d.emulator.state().expect("state");
    let pod_address = state.units[LEADER].address.clone();
    assert_eq!(unit_bags.len(), 1);
    assert_eq!(unit_bags[0]["prometheus_scrape_unit_address"], pod_address);
    assert_eq!(unit_bags[0]["prometheus_scrape_unit_name"], LEADER);
    let jobs = consumer_jobs(&app_bag, &unit_bags);
    let (model, uuid) = (state.model_name.clone(), state.model_uuid.clone());
    let job_name = format!("juju_{model}_{}_{APP}_prometheus_scrape-0", &uuid[..8]);
    let names: Vec<&str> = jobs
        .iter()
        .map(|j| j["job_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [job_name.as_str()], "{jobs:#?}");
    assert_eq!(
        jobs[0]["static_configs"][0]["targets"],
        json!([format!("{pod_address}:4434")])
    );
    // The pod's address, on the pod's loopback (see the module's documentation).
    let out = s.d.workloads[0]
        .pebble
        .network_command("ip")
        .args(["addr", "add", &format!("{pod_address}/32"), "dev", "lo"])
        .output()
        .expect("ip addr add");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 4. The alert rules the leader published, as prometheus-k8s writes them
    // (`juju_<identifier>_<relation name>_<relation id>.rules`, YAML of the JSON): promtool
    // accepts every rule, and Prometheus loads them next to the scrape job.
    let rules: Value = serde_json::from_str(&app_bag["alert_rules"]).expect("alert_rules JSON");
    let rule_count: usize = rules["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["rules"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(rule_count >= 5, "{rules}");
    let rules_file = s.dir.path().join(format!(
        "juju_{model}_{}_{APP}_metrics-endpoint_{metrics}.rules",
        &uuid[..8]
    ));
    std::fs::write(&rules_file, serde_yaml_ng::to_string(&rules).unwrap()).unwrap();
    let check = Command::new(&promtool)
        .args(["check", "rules"])
        .arg(&rules_file)
        .output()
        .expect("promtool");
    let check_out = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(check.status.success(), "promtool check rules: {check_out}");
    assert!(
        check_out.contains(&format!("SUCCESS: {rule_count} rules found")),
        "{check_out}"
    );
    let config = json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [rules_file],
        "scrape_configs": jobs,
    });
    let config_file = s.dir.path().join("prometheus.yml");
    std::fs::write(&config_file, serde_yaml_ng::to_string(&config).unwrap()).unwrap();
    let check = Command::new(&promtool)
        .args(["check", "config"])
        .arg(&config_file)
        .output()
        .expect("promtool");
    assert!(
        check.status.success(),
        "promtool check config: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let prometheus = Prometheus::start(&netns, &config_file, s.dir.path());

    let target = wait_for("Kratos's target up", Duration::from_secs(60), || {
        let (_, body) = prometheus.get("/api/v1/targets");
        body["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["health"] == "up")
            .cloned()
    })
    .unwrap_or_else(|| {
        panic!(
            "no target up: {}\n{}",
            prometheus.get("/api/v1/targets").1,
            prometheus.process.log()
        )
    });
    assert_eq!(
        target["scrapeUrl"],
        format!("http://{pod_address}:4434/admin/metrics/prometheus")
    );
    let topology_labels = json!({
        "juju_model": model,
        "juju_model_uuid": uuid,
        "juju_application": APP,
        "juju_unit": LEADER,
        "juju_charm": "kratos",
        "instance": format!("{model}_{uuid}_{APP}_{LEADER}"),
        "job": job_name,
    });
    for (label, value) in topology_labels.as_object().unwrap() {
        assert_eq!(&target["labels"][label], value, "{label}: {target}");
    }
    // Kratos's own metrics, with the topology: its HTTP request counter (the
    // registration above and the readiness probes count).
    s.register("scraped@example.com");
    let selector = format!(
        r#"{{juju_model="{model}",juju_model_uuid="{uuid}",juju_application="{APP}",juju_unit="{LEADER}",juju_charm="kratos"}}"#
    );
    let metric = "http_requests_total";
    let series = wait_for(
        "a Kratos metric in Prometheus",
        Duration::from_secs(30),
        || {
            let result = prometheus.query(&format!("{metric}{selector}"));
            (!result.is_empty()).then_some(result)
        },
    )
    .unwrap_or_else(|| {
        let (_, names) = prometheus.get("/api/v1/label/__name__/values");
        panic!("no {metric}{selector}; metric names: {names}")
    });
    assert_eq!(series[0]["metric"]["job"], job_name.as_str(), "{series:?}");
    let up = prometheus.query(&format!("up{selector}"));
    assert_eq!(up.len(), 1, "{up:?}");
    assert_eq!(up[0]["value"][1], "1");

    // The rules are loaded, every one with the topology's labels, and once evaluated on
    // the scraped series none fires (Kratos is up: the matchers select its series). An
    // evaluation before the first scrape was ingested may leave HostMetricsMissing
    // pending for a moment, hence the wait for every rule to be inactive.
    let expected_labels = json!({
        "juju_model": model,
        "juju_model_uuid": uuid,
        "juju_application": APP,
        "juju_charm": "kratos",
    });
    let loaded = wait_for(
        "every rule evaluated, none firing",
        Duration::from_secs(30),
        || {
            let (_, body) = prometheus.get("/api/v1/rules");
            let groups = body["data"]["groups"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let rules: Vec<Value> = groups
                .iter()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .collect();
            (rules.len() == rule_count
                && rules
                    .iter()
                    .all(|r| r["health"] == "ok" && r["state"] == "inactive"))
            .then_some(rules)
        },
    )
    .unwrap_or_else(|| panic!("rules: {}", prometheus.get("/api/v1/rules").1));
    for rule in &loaded {
        for (label, value) in expected_labels.as_object().unwrap() {
            assert_eq!(&rule["labels"][label], value, "{label}: {rule}");
        }
    }
    let names: Vec<&str> = loaded.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for alert in [
        "KratosDown",
        "KratosUnitsDown",
        "HostDown",
        "HostMetricsMissing",
    ] {
        assert!(names.contains(&alert), "{alert} not in {names:?}");
    }

    // Every metric a rule selects is one Kratos exposes (a misspelt name would leave its
    // alert silently inactive).
    let (_, exposed) = prometheus.get("/api/v1/label/__name__/values");
    let exposed: Vec<String> = serde_json::from_value(exposed["data"].clone()).unwrap();
    for rule in &loaded {
        for name in selected_metrics(rule["query"].as_str().unwrap()) {
            assert!(
                exposed.contains(&name),
                "{name} of {} is not exposed",
                rule["name"]
            );
        }
    }

    // 5. Bad data: tempo's receivers not JSON. Blocked, naming the integration and the
    // key; no hook fails; Kratos keeps running its last good configuration.
    let good_env = s.kratos_env();
    s.publish(
        tracing,
        &[("receivers", "otlp_http at 4318, I think".into())],
    );
    let (status, message) = s.settled_status();
    assert_eq!(status, "blocked", "{message}");
    assert!(
        message.contains("tracing") && message.contains("receivers"),
        "{message}"
    );
    assert_eq!(s.kratos_env(), good_env, "the last good Kratos stays");
    assert_eq!(s.d.workloads[0].service("kratos"), "active");
    s.wait_ready();
    s.register("after-bad-data@example.com");
    s.publish(tracing, &[("receivers", receivers("otlp_http", &otlp_url))]);
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    s.wait_ready();

    drop(prometheus);
    eprintln!("story took {:?}", started.elapsed());
}
