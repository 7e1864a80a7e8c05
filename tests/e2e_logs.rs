//! End to end: the `logging` integration (loki_push_api) against real log forwarding.
//! The compiled charm runs under the Juju emulator in a pod with a real Pebble (v1.32)
//! running the real Kratos (v1.3.1) on a real PostgreSQL; the test plays loki-k8s with
//! two units, each publishing its push URL in its unit bag.
//!
//! Loki itself (AGPL) is not used: each "Loki unit" is a small receiver of the Loki push
//! API on the host (`POST /loki/api/v1/push`, answered `204`), reachable inside the pod as
//! a service would be. It decodes what Pebble's Loki client sends, JSON
//! (`{"streams":[{"stream":{labels},"values":[["<ns>","<line>"]]}]}`, `Content-Type:
//! application/json`; Pebble does not send Loki's snappy-compressed protobuf), and
//! records every line with its stream's labels. Real Pebble forwards what real Kratos
//! prints; the test only makes Kratos print (requests to a path of its own choosing).
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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{in_netns, kratos_bin, rand_hex, tail, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops::pebble::{LogTarget, Pebble};
use juju_rs_ops_testing::state::Relation;
use juju_rs_ops_testing::{EventSpec, Outcomes};
use serde_json::Value;

const LEADER: &str = "kratos/0";
/// Where postgresql-k8s's service answers, as seen from the pod.
const DB_PORT: u16 = 5432;
/// Where each Loki unit's push API answers, as seen from the pod.
const LOKI_PORTS: [u16; 2] = [3100, 3101];
const LOKI_UNITS: [&str; 2] = ["loki/0", "loki/1"];
const LOGGING: &str = "logging";
const ADMIN: &str = "http://127.0.0.1:4434";
const PUBLIC: &str = "http://127.0.0.1:4433";
const LOGIN_UI: &str = "http://login-ui.test/ui";
/// Pebble's Loki client flushes every second; past this, nothing in flight is left.
const SETTLE: Duration = Duration::from_secs(4);

/// One log line as a Loki unit received it.
#[derive(Debug, Clone)]
struct Line {
    labels: BTreeMap<String, String>,
    /// Nanoseconds since the epoch, as sent.
    ts: String,
    line: String,
}

/// A stand-in for one Loki unit's push API: an HTTP/1.1 server on the host's loopback,
/// a thread per connection, recording every pushed line before answering `204`.
/// Anything else (another path, method or content type) is answered `4xx` and recorded
/// as a rejection, which the story asserts never happens.
struct LokiReceiver {
    addr: SocketAddr,
    lines: Arc<Mutex<Vec<Line>>>,
    rejected: Arc<Mutex<Vec<String>>>,
}

impl LokiReceiver {
    fn start() -> LokiReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let addr = listener.local_addr().expect("address");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let rejected = Arc::new(Mutex::new(Vec::new()));
        let (l, r) = (lines.clone(), rejected.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (l, r) = (l.clone(), r.clone());
                std::thread::spawn(move || serve(stream, &l, &r));
            }
        });
        LokiReceiver {
            addr,
            lines,
            rejected,
        }
    }

    fn lines(&self) -> Vec<Line> {
        self.lines.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    fn with(&self, marker: &str) -> Vec<Line> {
        self.lines()
            .into_iter()
            .filter(|l| l.line.contains(marker))
            .collect()
    }

    fn rejected(&self) -> Vec<String> {
        self.rejected.lock().unwrap().clone()
    }
}

/// Serves one connection (keep-alive: request after request until the peer closes).
fn serve(stream: TcpStream, lines: &Mutex<Vec<Line>>, rejected: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, path) = (method.to_string(), path.to_string());
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).expect("chunk size");
                let size = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16)
                    .expect("a hex chunk size");
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).expect("chunk");
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(length) = header("content-length") {
            body = vec![0; length.parse().expect("a length")];
            reader.read_exact(&mut body).expect("body");
        }
        let content_type = header("content-type").unwrap_or_default();
        let status = if method != "POST" || path != "/loki/api/v1/push" {
            rejected.lock().unwrap().push(format!("{method} {path}"));
            "404 Not Found"
        } else if !content_type.starts_with("application/json")
            || header("content-encoding").is_some_and(|e| !e.eq_ignore_ascii_case("identity"))
        {
            rejected
                .lock()
                .unwrap()
                .push(format!("{content_type} {:?}", header("content-encoding")));
            "415 Unsupported Media Type"
        } else {
            match decode_push(&body) {
                Ok(pushed) => {
                    lines.lock().unwrap().extend(pushed);
                    "204 No Content"
                }
                Err(problem) => {
                    rejected.lock().unwrap().push(problem);
                    "400 Bad Request"
                }
            }
        };
        let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// The lines of a JSON push request (Loki's `PushRequest` in JSON).
fn decode_push(body: &[u8]) -> Result<Vec<Line>, String> {
    let shown = || {
        String::from_utf8_lossy(body)
            .chars()
            .take(300)
            .collect::<String>()
    };
    let request: Value = serde_json::from_slice(body).map_err(|e| format!("{e}: {}", shown()))?;
    let streams = request["streams"]
        .as_array()
        .ok_or_else(|| format!("no streams: {}", shown()))?;
    let mut lines = Vec::new();
    for stream in streams {
        let labels: BTreeMap<String, String> = serde_json::from_value(stream["stream"].clone())
            .map_err(|e| format!("labels: {e}: {}", shown()))?;
        for value in stream["values"].as_array().into_iter().flatten() {
            let (Some(ts), Some(line)) = (value[0].as_str(), value[1].as_str()) else {
                return Err(format!("a value is not [ts, line]: {value}"));
            };
            ts.parse::<u128>()
                .map_err(|e| format!("timestamp {ts:?}: {e}"))?;
            lines.push(Line {
                labels: labels.clone(),
                ts: ts.to_string(),
                line: line.to_string(),
            });
        }
    }
    Ok(lines)
}

/// The pod, the database, the receivers and the emulator, torn down in reverse order.
struct Story {
    d: Deployment,
    _relays: Vec<Relay>,
    pg: Postgres,
    loki: [LokiReceiver; 2],
}

impl Story {
    fn netns(&self) -> String {
        self.d.workloads[0]
            .pebble
            .netns()
            .expect("pods have a network namespace")
            .to_string()
    }

    fn ok(&self, outcomes: Outcomes) -> Outcomes {
        common::ok(outcomes)
    }

    /// update-status, then the status.
    fn settled_status(&mut self) -> (String, String) {
        let outcomes = self.d.emulator.update_status().expect("update-status");
        self.ok(outcomes);
        let s = self.d.status(LEADER);
        (s.status, s.message)
    }

    /// GET in the pod: the status code.
    fn get(&self, url: &str) -> u16 {
        let url = url.to_string();
        in_netns(&self.netns(), move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .proxy(None)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(20)))
                .build()
                .into();
            agent
                .get(&url)
                .call()
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        })
    }

    /// Waits until Kratos answers ready on its admin API.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.get(&format!("{ADMIN}/admin/health/ready")) != 200 {
            assert!(
                Instant::now() < deadline,
                "Kratos not ready, unit {:?}:\n{}",
                self.d.status(LEADER),
                tail(&self.d.workloads[0].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Makes Kratos log a line holding a fresh marker (a request to a path of ours, on
    /// each API; Kratos logs every request it handles), waits until Kratos printed it
    /// (Pebble's own log of the service's output) and returns the marker.
    fn kratos_logs(&self, step: &str) -> String {
        let marker = format!("e2e-logs-{step}-{}", rand_hex());
        assert_eq!(self.get(&format!("{PUBLIC}/{marker}")), 404);
        assert_eq!(self.get(&format!("{ADMIN}/admin/{marker}")), 404);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.d.workloads[0].pebble.log().contains(&marker) {
            assert!(
                Instant::now() < deadline,
                "Kratos did not log {marker}:\n{}",
                tail(&self.d.workloads[0].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        marker
    }

    /// Waits until receiver `i` got a line holding `marker`: those lines.
    fn arrives(&self, i: usize, marker: &str) -> Vec<Line> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let lines = self.loki[i].with(marker);
            if !lines.is_empty() {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "{marker} never reached {} ({} lines received, rejected {:?}); plan {:#?}\n{}",
                LOKI_UNITS[i],
                self.loki[i].count(),
                self.loki[i].rejected(),
                self.targets(),
                tail(&self.d.workloads[0].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The plan's log targets.
    fn targets(&self) -> BTreeMap<String, LogTarget> {
        self.d.workloads[0]
            .pebble
            .client()
            .plan()
            .expect("plan")
            .log_targets
    }

    /// Plays postgresql-k8s: a superuser role and the requested database, the credentials
    /// in a secret granted over the relation.
    fn provide_database(&mut self, db_id: u32) {
        let (_password, outcomes) =
            common::provide_database(&mut self.d.emulator, &self.pg, db_id, DB_PORT);
        self.ok(outcomes);
    }

    /// `juju integrate kratos loki-k8s` with both Loki units, their unit bags holding
    /// `endpoints`: the relation id.
    fn integrate_loki(&mut self, endpoints: [String; 2]) -> u32 {
        let mut relation = Relation::new(0, LOGGING, "", "loki-k8s");
        for (unit, endpoint) in LOKI_UNITS.iter().zip(endpoints) {
            relation = relation.with_remote_unit(unit, [("endpoint", endpoint)]);
        }
        let (id, outcomes) = self.d.emulator.add_relation(relation).expect("integrate");
        self.ok(outcomes);
        id
    }
}

/// A Loki unit's `endpoint` as loki-k8s writes it, pointing at receiver `i` (through
/// the pod's relay).
fn endpoint(i: usize) -> String {
    format!(
        r#"{{"url": "http://127.0.0.1:{}/loki/api/v1/push"}}"#,
        LOKI_PORTS[i]
    )
}

#[test]
fn real_kratos_logs_reach_each_loki_unit_until_it_leaves() {
    let kratos = kratos_bin();
    let kratos_dir = kratos.parent().expect("bin dir").to_path_buf();
    let pg = Postgres::start();
    let workload = Workload::start(&kratos_dir, &[("SQA_OPT_OUT", "true")]);
    let netns = workload.pebble.netns().expect("netns").to_string();
    let loki = [LokiReceiver::start(), LokiReceiver::start()];
    let relays = vec![
        Relay::start(&netns, DB_PORT, ([127, 0, 0, 1], pg.port).into()),
        Relay::start(&netns, LOKI_PORTS[0], loki[0].addr),
        Relay::start(&netns, LOKI_PORTS[1], loki[1].addr),
    ];
    let mut s = Story {
        d: Deployment::with_workloads(vec![workload]),
        _relays: relays,
        pg,
        loki,
    };
    let started = Instant::now();

    // 1. juju deploy kratos; integrate the login UI and postgresql-k8s: migrated,
    // served, active. No log target yet.
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
    let db_relation = Relation::new(0, "pg-database", "", "postgresql-k8s")
        .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new());
    let (db, outcomes) =
        s.d.emulator
            .add_relation(db_relation)
            .expect("integrate database");
    s.ok(outcomes);
    s.provide_database(db);
    s.wait_ready();
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    assert!(s.targets().is_empty(), "{:#?}", s.targets());

    // 2. juju integrate kratos:logging loki-k8s (two units, each its push URL): one
    // target per unit, and what Kratos prints reaches both, labelled with the topology
    // and the Pebble service.
    let relation = s.integrate_loki([endpoint(0), endpoint(1)]);
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    let targets = s.targets();
    assert_eq!(
        targets.keys().collect::<Vec<_>>(),
        LOKI_UNITS.iter().collect::<Vec<_>>()
    );
    for (i, unit) in LOKI_UNITS.iter().enumerate() {
        let target = &targets[*unit];
        assert_eq!(target.r#type, "loki");
        assert_eq!(
            target.location,
            format!("http://127.0.0.1:{}/loki/api/v1/push", LOKI_PORTS[i])
        );
        assert_eq!(target.services, ["all"]);
    }
    let app_bag =
        s.d.emulator
            .state()
            .expect("state")
            .relation(relation)
            .expect("the relation")
            .app_bag(APP);
    assert!(app_bag.contains_key("metadata") && app_bag.contains_key("alert_rules"));
    let state = s.d.emulator.state().expect("state");
    let expected_labels: BTreeMap<String, String> = [
        ("product", "Juju"),
        ("charm", "kratos"),
        ("juju_model", state.model_name.as_str()),
        ("juju_model_uuid", state.model_uuid.as_str()),
        ("juju_application", APP),
        ("juju_unit", LEADER),
        ("pebble_service", "kratos"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let marker = s.kratos_logs("both");
    for i in 0..2 {
        let lines = s.arrives(i, &marker);
        for line in &lines {
            assert_eq!(line.labels, expected_labels, "{line:?}");
            let entry: Value = serde_json::from_str(&line.line)
                .unwrap_or_else(|e| panic!("Kratos logs JSON lines ({e}): {line:?}"));
            assert!(entry["msg"].is_string(), "{entry}");
            assert!(!line.ts.is_empty());
        }
        assert!(
            lines.iter().any(|l| l.line.contains(&format!("/{marker}"))),
            "the request path is in a line: {lines:?}"
        );
    }

    // 3. loki/1 leaves (relation-departed): its target is disabled; Kratos's lines keep
    // reaching loki/0 and no longer loki/1.
    let departing = LOKI_UNITS[1];
    let snapshot =
        s.d.emulator
            .state()
            .expect("state")
            .relation(relation)
            .expect("the relation")
            .clone();
    s.d.emulator
        .update_state(|st| {
            st.relation_mut(relation)
                .unwrap()
                .remote_units
                .remove(departing)
        })
        .expect("loki/1 leaves");
    let mut spec = EventSpec::relation("departed", &snapshot, Some(departing));
    spec.departing_unit = Some(departing.to_string());
    let dispatched = s.d.emulator.dispatch(LEADER, &spec).expect("departed");
    s.ok(Outcomes(vec![dispatched]));
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    let targets = s.targets();
    assert_eq!(targets[LOKI_UNITS[0]].services, ["all"]);
    assert_eq!(targets[departing].services, ["-all"], "{targets:#?}");
    std::thread::sleep(SETTLE);
    let before = s.loki[1].count();
    let marker = s.kratos_logs("departed");
    s.arrives(0, &marker);
    std::thread::sleep(SETTLE);
    assert_eq!(s.loki[1].count(), before, "loki/1 got lines after it left");

    // 4. juju remove-relation: every target disabled; nothing reaches either unit.
    let outcomes = s.d.emulator.remove_relation(relation).expect("remove");
    s.ok(outcomes);
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    let targets = s.targets();
    assert_eq!(targets.len(), 2, "{targets:#?}");
    for target in targets.values() {
        assert_eq!(target.services, ["-all"], "{targets:#?}");
    }
    std::thread::sleep(SETTLE);
    let before = [s.loki[0].count(), s.loki[1].count()];
    let marker = s.kratos_logs("broken");
    std::thread::sleep(SETTLE);
    assert_eq!(
        [s.loki[0].count(), s.loki[1].count()],
        before,
        "lines after the relation left"
    );
    assert!(s.loki[0].with(&marker).is_empty());

    // 5. Bad data: integrated again, loki/1's endpoint is not JSON, then JSON without a
    // usable URL. The unit stays active, loki/1 gets nothing, loki/0 gets the lines.
    let relation = s.integrate_loki([endpoint(0), "not json".into()]);
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    let targets = s.targets();
    assert_eq!(targets[LOKI_UNITS[0]].services, ["all"]);
    assert_eq!(targets[LOKI_UNITS[1]].services, ["-all"], "{targets:#?}");
    let outcomes =
        s.d.emulator
            .set_remote_unit_data(
                relation,
                LOKI_UNITS[1],
                [("endpoint", r#"{"url": "loki:3100"}"#)],
            )
            .expect("loki/1 writes a bad URL");
    s.ok(outcomes);
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    assert_eq!(s.targets()[LOKI_UNITS[1]].services, ["-all"]);
    let warnings: Vec<String> = s.d.emulator.state().expect("state").units[LEADER]
        .logs
        .iter()
        .map(|l| l.message.clone())
        .filter(|m| m.contains("Not forwarding logs to loki/1"))
        .collect();
    assert!(
        warnings.iter().any(|m| m.contains("not json"))
            && warnings.iter().any(|m| m.contains("loki:3100")),
        "the Juju log says why: {warnings:?}"
    );
    let before = s.loki[1].count();
    let marker = s.kratos_logs("bad-data");
    let lines = s.arrives(0, &marker);
    assert_eq!(lines[0].labels, expected_labels);
    std::thread::sleep(SETTLE);
    assert_eq!(s.loki[1].count(), before);
    assert_eq!(s.d.workloads[0].service("kratos"), "active");

    for receiver in &s.loki {
        assert!(receiver.rejected().is_empty(), "{:?}", receiver.rejected());
    }
    eprintln!("story took {:?}", started.elapsed());
}
