//! The benchmark of `scripts/bench.sh`: the compiled (release) charm under the Juju
//! emulator, each unit in a "pod" (a network namespace with its own real Pebble running the
//! real Kratos against a real PostgreSQL), through a FIXED scenario; for each hook dispatch
//! it prints the wall time, CPU time, peak RSS, hook-tool calls by tool and Pebble requests,
//! then the medians per hook kind, the size of the static release binary and the floor
//! (a no-op process and one hook-tool call through the same launcher).
//!
//! How it measures:
//! - every dispatch runs as `ip netns exec <pod> bench_launcher dispatch` (the emulator's
//!   per-unit command prefix); `bench_launcher` (examples/bench_launcher.rs) fork+execs the
//!   charm, waits, and appends wall time, CPU (user+sys, the charm and the hook tools it
//!   waited for), the charm's own peak RSS (VmHWM read at its exit) and CLOCK_MONOTONIC
//!   start/end to a file;
//! - the charm finds Pebble at `$JUJU_RS_OPS_CONTAINERS_DIR/kratos/pebble.socket`: that is
//!   a counting proxy here, which forwards each connection to the real socket and records
//!   its first request line. The charm's client opens one connection per request, so
//!   connections are requests; an exec's websockets count one each;
//! - tool calls come from the emulator's per-dispatch record (its log is cleared between
//!   steps so the state file each tool call reads stays small, as the agent's would).
//!
//! Usage (scripts/bench.sh sets the environment): `bench [--json <file>]`. Needs root,
//! `ip`, `unshare`, `curl`, `openssl`, `psql`, Pebble and Kratos (the install scripts).
// Bench code: it may unwrap, index and panic like test code does (the charm's lints are
// for what runs in a hook).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments
)]

#[path = "../tests/common/netns.rs"]
mod netns;
#[path = "../tests/common/relay.rs"]
mod relay;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use juju_rs_ops::pebble::Pebble as _;
use juju_rs_ops_testing::state::{Relation, Secret, SecretOwner, StatusRecord};
use juju_rs_ops_testing::{
    hook_env, Emulator, EventSpec, Outcomes, PebbleFixture, DEFAULT_JUJU_VERSION,
};
use relay::Relay;
use serde_json::json;

type R<T> = Result<T, Box<dyn std::error::Error>>;

const APP: &str = "kratos";
const LEADER: &str = "kratos/0";
const SECOND: &str = "kratos/1";
/// Where postgresql-k8s answers, as seen from a pod.
const DB_PORT: u16 = 5432;
const STEADY_UPDATE_STATUS: usize = 20;
const FLOOR_RUNS: usize = 20;

fn main() -> std::process::ExitCode {
    match bench() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nbench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

// ---- The counting Pebble proxy ----

/// One connection to Pebble: when it was accepted and its first request line
/// (`GET /v1/plan`, query left off).
#[derive(Debug, Clone)]
struct PebbleRequest {
    at_ns: u64,
    line: String,
}

/// A unix socket at `<dir>/<container>/pebble.socket` forwarding each connection to the
/// real Pebble socket and recording it.
struct PebbleProxy {
    dir: tempfile::TempDir,
    log: Arc<Mutex<Vec<PebbleRequest>>>,
}

impl PebbleProxy {
    fn start(container: &str, upstream: &Path) -> R<PebbleProxy> {
        let dir = tempfile::Builder::new()
            .prefix("bench-pebble-proxy-")
            .tempdir()?;
        std::fs::create_dir(dir.path().join(container))?;
        let listener = UnixListener::bind(dir.path().join(container).join("pebble.socket"))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let upstream = upstream.to_path_buf();
        std::thread::spawn({
            let log = log.clone();
            move || {
                for client in listener.incoming() {
                    let Ok(client) = client else { return };
                    let at_ns = monotonic_ns();
                    let (log, upstream) = (log.clone(), upstream.clone());
                    std::thread::spawn(move || forward(client, &upstream, at_ns, &log));
                }
            }
        });
        Ok(PebbleProxy { dir, log })
    }

    /// The directory to give the charm as `JUJU_RS_OPS_CONTAINERS_DIR`.
    fn containers_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The requests accepted in `[start, end]`.
    fn requests_between(&self, start: u64, end: u64) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.at_ns >= start && r.at_ns <= end)
            .map(|r| r.line.clone())
            .collect()
    }
}

fn forward(mut client: UnixStream, upstream: &Path, at_ns: u64, log: &Mutex<Vec<PebbleRequest>>) {
    let Ok(mut server) = UnixStream::connect(upstream) else {
        return;
    };
    // The request line: read until its end (or 8 KiB), then pass it on.
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    let first = String::from_utf8_lossy(&head);
    let first = first.lines().next().unwrap_or_default();
    let mut words = first.split_whitespace();
    let method = words.next().unwrap_or("?");
    let path = words.next().unwrap_or("?");
    let path = path.split('?').next().unwrap_or(path);
    // Per-task websockets differ only by the task id: name them by their kind.
    let path = match (
        path.rsplit_once("/websocket/"),
        path.strip_prefix("/v1/changes/"),
    ) {
        (Some((_, kind)), _) => format!("/v1/tasks/*/websocket/{kind}"),
        (None, Some(rest)) => match rest.split_once('/') {
            Some((_, tail)) => format!("/v1/changes/*/{tail}"),
            None => "/v1/changes/*".to_string(),
        },
        (None, None) => path.to_string(),
    };
    log.lock().unwrap().push(PebbleRequest {
        at_ns,
        line: format!("{method} {path}"),
    });
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

// ---- Pods, PostgreSQL ----

/// One unit's pod: a network namespace with Pebble (running Kratos), PostgreSQL relayed
/// onto its loopback, and the counting proxy in front of Pebble's socket.
struct Pod {
    proxy: PebbleProxy,
    _relay: Relay,
    pebble: PebbleFixture,
}

impl Pod {
    fn start(kratos_dir: &Path, pg_port: u16) -> R<Pod> {
        let pebble = PebbleFixture::builder()
            .container("kratos")
            .container_dir("/etc/config")
            .network_namespace(true)
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", kratos_dir.display()),
            )
            .env("SQA_OPT_OUT", "true")
            .start()?;
        let netns = pebble.netns().ok_or("the pod has no network namespace")?;
        let relay = Relay::start(netns, DB_PORT, ([127, 0, 0, 1], pg_port).into());
        let proxy = PebbleProxy::start("kratos", pebble.socket_path())?;
        Ok(Pod {
            proxy,
            _relay: relay,
            pebble,
        })
    }

    fn netns(&self) -> &str {
        self.pebble.netns().unwrap_or_default()
    }

    /// Waits until Pebble's ready check counts no failure: right after a restart it still
    /// counts those of the stopped Kratos for up to a period (10 s), and a unit that is
    /// steady in production (update-status every 5 minutes) is past that.
    fn wait_settled(&self, timeout: Duration) -> R<()> {
        let client = juju_rs_ops::pebble::Client::new(self.pebble.socket_path());
        let start = Instant::now();
        while start.elapsed() < timeout {
            let settled = client
                .checks(&["ready"])
                .is_ok_and(|checks| checks.iter().all(|c| c.failures == 0));
            if settled {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!("the ready check still fails after {timeout:?}").into())
    }

    /// Waits until Kratos answers ready on the pod's loopback.
    fn wait_ready(&self, timeout: Duration) -> R<()> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            let ok = Command::new("ip")
                .args(["netns", "exec", self.netns(), "curl", "-sf"])
                .arg("http://127.0.0.1:4434/admin/health/ready")
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = self.pebble.log();
        let lines: Vec<&str> = log.lines().collect();
        Err(format!(
            "Kratos did not answer ready in {} within {timeout:?}; the end of Pebble's log:\n{}",
            self.netns(),
            lines[lines.len().saturating_sub(30)..].join("\n")
        )
        .into())
    }
}

/// A throwaway PostgreSQL cluster on the host's loopback (scripts/pg-test-server.sh).
struct Postgres {
    script: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Postgres {
    fn start(root: &Path) -> R<Postgres> {
        let script = root.join("scripts/pg-test-server.sh");
        let dir = tempfile::Builder::new()
            .prefix("bench-pg-")
            .tempdir_in("/tmp")?;
        let mut perms = std::fs::metadata(dir.path())?.permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(dir.path(), perms)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let pg = Postgres { script, dir, port };
        run(Command::new("bash")
            .arg(&pg.script)
            .arg("start")
            .arg(pg.dir.path().join("cluster"))
            .arg(port.to_string()))?;
        Ok(pg)
    }

    fn sql(&self, sql: &str) -> R<()> {
        run(Command::new("psql")
            .env("PGPASSWORD", "postgres")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc"])
            .arg(sql)
            .args(["-p", &self.port.to_string()]))
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

// ---- Measurements ----

/// What the launcher wrote about one run.
#[derive(Debug, Clone, serde::Deserialize)]
struct Launched {
    start_ns: u64,
    end_ns: u64,
    wall_us: u64,
    user_us: u64,
    sys_us: u64,
    own_cpu_us: Option<u64>,
    threads: Option<usize>,
    own_peak_rss_kb: Option<u64>,
    /// Private anonymous memory at exit (heap, stack, written data).
    #[serde(default)]
    own_anon_kb: Option<u64>,
    /// Resident pages of mapped files at exit (the binary's code and read-only data).
    #[serde(default)]
    own_file_kb: Option<u64>,
    tree_peak_rss_kb: u64,
    exit: i32,
}

/// One hook dispatch, measured.
#[derive(Debug, Clone, serde::Serialize)]
struct Run {
    step: String,
    kind: String,
    unit: String,
    event: String,
    wall_ms: f64,
    cpu_ms: f64,
    user_ms: f64,
    sys_ms: f64,
    own_cpu_ms: Option<f64>,
    threads: Option<usize>,
    peak_rss_kb: Option<u64>,
    /// Of the resident memory at exit: private anonymous memory, and mapped file pages.
    anon_kb: Option<u64>,
    file_kb: Option<u64>,
    tree_peak_rss_kb: u64,
    tool_calls: usize,
    tools: BTreeMap<String, usize>,
    pebble_requests: usize,
    /// Changes the charm made (POST /v1/services: start, stop, restart, replan).
    pebble_changes: usize,
    pebble: BTreeMap<String, usize>,
    exit: i32,
}

struct Bench {
    juju: Emulator,
    pods: BTreeMap<String, Pod>,
    launcher_out: PathBuf,
    launched_seen: usize,
    runs: Vec<Run>,
}

impl Bench {
    /// Records the dispatches of one emulator step under `step`; `tag` qualifies the hook
    /// kind of the step's main event (`config-changed [log_level]`).
    fn record(&mut self, step: &str, tag: Option<(&str, &str)>, outcomes: Outcomes) -> R<()> {
        if let Some(failed) = outcomes.failure() {
            return Err(format!(
                "{step}: {} on {} failed ({:?}):\nstdout: {}\nstderr: {}",
                failed.event, failed.unit, failed.exit_code, failed.stdout, failed.stderr
            )
            .into());
        }
        let launched: Vec<Launched> = std::fs::read_to_string(&self.launcher_out)
            .unwrap_or_default()
            .lines()
            .skip(self.launched_seen)
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        if launched.len() != outcomes.0.len() {
            return Err(format!(
                "{step}: {} dispatches but {} launcher records",
                outcomes.0.len(),
                launched.len()
            )
            .into());
        }
        self.launched_seen += launched.len();
        for (d, l) in outcomes.0.iter().zip(launched) {
            let event = d.event.trim_start_matches("hooks/").to_string();
            let kind = match tag {
                Some((hook, tag)) if hook == "*" || event == hook => format!("{event} [{tag}]"),
                _ => event.clone(),
            };
            let mut tools = BTreeMap::new();
            for call in &d.tool_calls {
                *tools.entry(call.tool.clone()).or_insert(0) += 1;
            }
            let requests = self.pods[&d.unit]
                .proxy
                .requests_between(l.start_ns, l.end_ns);
            let mut pebble = BTreeMap::new();
            for line in &requests {
                *pebble.entry(line.clone()).or_insert(0) += 1;
            }
            let run = Run {
                step: step.to_string(),
                kind,
                unit: d.unit.clone(),
                event,
                wall_ms: l.wall_us as f64 / 1000.0,
                cpu_ms: (l.user_us + l.sys_us) as f64 / 1000.0,
                user_ms: l.user_us as f64 / 1000.0,
                sys_ms: l.sys_us as f64 / 1000.0,
                own_cpu_ms: l.own_cpu_us.map(|us| us as f64 / 1000.0),
                threads: l.threads,
                peak_rss_kb: l.own_peak_rss_kb,
                anon_kb: l.own_anon_kb,
                file_kb: l.own_file_kb,
                tree_peak_rss_kb: l.tree_peak_rss_kb,
                tool_calls: d.tool_calls.len(),
                tools,
                pebble_requests: requests.len(),
                pebble_changes: requests
                    .iter()
                    .filter(|l| *l == "POST /v1/services")
                    .count(),
                pebble,
                exit: l.exit,
            };
            print_run(self.runs.len() + 1, &run);
            self.runs.push(run);
        }
        // The emulator's log of tool calls is ours only: keep the state small.
        self.juju.update_state(|s| s.tool_calls.clear())?;
        Ok(())
    }

    /// Runs and records one dispatch.
    fn dispatch(
        &mut self,
        step: &str,
        tag: Option<(&str, &str)>,
        unit: &str,
        spec: &EventSpec,
    ) -> R<()> {
        let d = self.juju.dispatch(unit, spec)?;
        self.record(step, tag, Outcomes(vec![d]))
    }

    fn step(&mut self, title: &str) {
        println!("\n== {title}");
    }

    /// `juju integrate kratos <app>` on `endpoint`, one remote unit with `unit_data`, the
    /// application bag `app_data` (when not empty).
    fn integrate(
        &mut self,
        endpoint: &str,
        app: &str,
        unit_data: &[(&str, String)],
        app_data: &[(&str, String)],
    ) -> R<u32> {
        self.step(&format!("juju integrate kratos:{endpoint} {app}"));
        let mut relation = Relation::new(0, endpoint, "", app).with_remote_unit(
            &format!("{app}/0"),
            unit_data.iter().map(|(k, v)| (*k, v.clone())),
        );
        if !app_data.is_empty() {
            relation = relation.with_remote_app_data(app_data.iter().map(|(k, v)| (*k, v.clone())));
        }
        let (id, outcomes) = self.juju.add_relation(relation)?;
        self.record(&format!("integrate {endpoint}"), None, outcomes)?;
        Ok(id)
    }

    /// Integrates `endpoint` with `app`, then `app` puts `content` in a secret granted over
    /// the relation and publishes `app_data` plus the secret's id under `secret_key`.
    fn integrate_with_secret(
        &mut self,
        endpoint: &str,
        app: &str,
        content: &[(&str, &str)],
        secret_key: &str,
        app_data: &[(&str, String)],
    ) -> R<u32> {
        let id = self.integrate(endpoint, app, &[], &[])?;
        let secret = Secret::new(
            SecretOwner::Application(app.into()),
            content.iter().copied(),
        )
        .with_grant(id, APP);
        let secret_id = secret.id.clone();
        self.juju.update_state(|s| s.secrets.push(secret))?;
        let mut data: Vec<(String, String)> = app_data
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        data.push((secret_key.to_string(), secret_id));
        let outcomes = self.juju.set_remote_app_data(id, data)?;
        self.record(&format!("integrate {endpoint}"), None, outcomes)?;
        Ok(id)
    }
}

fn print_header() {
    println!(
        "{:>3}  {:<8} {:<44} {:>8} {:>7} {:>7} {:>6} {:>5} {:>4}  tool calls by tool; Pebble requests",
        "#", "unit", "event", "wall ms", "cpu ms", "own cpu", "rss MB", "tools", "pebl"
    );
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "?".to_string(), |v| format!("{v:.1}"))
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or_else(
        || "?".to_string(),
        |kb| format!("{:.2}", kb as f64 / 1024.0),
    )
}

fn print_run(n: usize, r: &Run) {
    let tools: Vec<String> = r.tools.iter().map(|(t, c)| format!("{t}×{c}")).collect();
    let pebble: Vec<String> = r
        .pebble
        .iter()
        .map(|(l, c)| format!("{}×{c}", l.replace("/v1/", "")))
        .collect();
    println!(
        "{n:>3}  {:<8} {:<44} {:>8.1} {:>7.1} {:>7} {:>6} {:>5} {:>4}  {}; {}",
        r.unit,
        r.event,
        r.wall_ms,
        r.cpu_ms,
        ms(r.own_cpu_ms),
        mb(r.peak_rss_kb),
        r.tool_calls,
        r.pebble_requests,
        tools.join(" "),
        pebble.join(" ")
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// The medians of runs of one kind.
#[derive(Debug, Clone, serde::Serialize)]
struct Summary {
    kind: String,
    n: usize,
    wall_ms: f64,
    /// The charm and the hook tools it ran.
    cpu_ms: f64,
    /// The charm process alone.
    own_cpu_ms: f64,
    peak_rss_kb: f64,
    /// Private anonymous memory at exit.
    anon_kb: f64,
    tool_calls: f64,
    pebble_requests: f64,
    pebble_changes: f64,
}

fn summarise(kind: &str, runs: &[&Run]) -> Summary {
    let of = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(|r| f(r)).collect());
    Summary {
        kind: kind.to_string(),
        n: runs.len(),
        wall_ms: of(&|r| r.wall_ms),
        cpu_ms: of(&|r| r.cpu_ms),
        own_cpu_ms: of(&|r| r.own_cpu_ms.unwrap_or(f64::NAN)),
        peak_rss_kb: of(&|r| r.peak_rss_kb.map_or(f64::NAN, |kb| kb as f64)),
        anon_kb: of(&|r| r.anon_kb.map_or(f64::NAN, |kb| kb as f64)),
        tool_calls: of(&|r| r.tool_calls as f64),
        pebble_requests: of(&|r| r.pebble_requests as f64),
        pebble_changes: of(&|r| r.pebble_changes as f64),
    }
}

/// A process the floor runs: its argv, its whole environment and the exit code it must end
/// with.
struct Probe<'a> {
    argv: &'a [&'a str],
    env: &'a BTreeMap<String, String>,
    exit: i32,
}

/// Runs the probe through the launcher [`FLOOR_RUNS`] times (writing to `out`): the medians,
/// under the name `kind`.
fn floor(kind: &str, launcher: &Path, probe: &Probe, out: &Path) -> R<Summary> {
    let _ = std::fs::remove_file(out);
    for _ in 0..FLOOR_RUNS {
        let status = Command::new(launcher)
            .args(probe.argv)
            .env_clear()
            .envs(probe.env)
            .env("BENCH_LAUNCHER_OUT", out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?;
        if status.code() != Some(probe.exit) {
            return Err(format!(
                "{:?} through the launcher: {status}, expected exit {}",
                probe.argv, probe.exit
            )
            .into());
        }
    }
    let launched: Vec<Launched> = std::fs::read_to_string(out)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let of = |f: &dyn Fn(&Launched) -> f64| median(launched.iter().map(f).collect());
    Ok(Summary {
        kind: kind.to_string(),
        n: launched.len(),
        wall_ms: of(&|l| l.wall_us as f64 / 1000.0),
        cpu_ms: of(&|l| (l.user_us + l.sys_us) as f64 / 1000.0),
        own_cpu_ms: of(&|l| l.own_cpu_us.map_or(f64::NAN, |us| us as f64 / 1000.0)),
        peak_rss_kb: of(&|l| l.own_peak_rss_kb.map_or(f64::NAN, |kb| kb as f64)),
        anon_kb: of(&|l| l.own_anon_kb.map_or(f64::NAN, |kb| kb as f64)),
        tool_calls: 0.0,
        pebble_requests: 0.0,
        pebble_changes: 0.0,
    })
}

fn print_summary_header() {
    println!(
        "| {:<52} | {:>3} | {:>7} | {:>6} | {:>7} | {:>6} | {:>7} | {:>5} | {:>6} | {:>7} |",
        "hook kind",
        "n",
        "wall ms",
        "cpu ms",
        "own cpu",
        "RSS MB",
        "anon MB",
        "tools",
        "Pebble",
        "changes"
    );
    println!(
        "|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|",
        "-".repeat(54),
        "-".repeat(4) + ":",
        "-".repeat(8) + ":",
        "-".repeat(7) + ":",
        "-".repeat(8) + ":",
        "-".repeat(7) + ":",
        "-".repeat(8) + ":",
        "-".repeat(6) + ":",
        "-".repeat(7) + ":",
        "-".repeat(8) + ":"
    );
}

fn print_summary_row(s: &Summary) {
    println!(
        "| {:<52} | {:>3} | {:>7.1} | {:>6.1} | {:>7.1} | {:>6.2} | {:>7.2} | {:>5} | {:>6} | {:>7} |",
        s.kind,
        s.n,
        s.wall_ms,
        s.cpu_ms,
        s.own_cpu_ms,
        s.peak_rss_kb / 1024.0,
        s.anon_kb / 1024.0,
        s.tool_calls,
        s.pebble_requests,
        s.pebble_changes
    );
}

/// Writes the file back and drops its pages from the page cache, so the first dispatch reads
/// the binary as after a reboot or memory pressure, whatever wrote it. How a file was
/// written decides the size of its cached folios, and the kernel maps whole folios of a
/// binary into a process: a freshly written copy of the same binary (`strip`'s output)
/// showed up to 0.9 MB more RSS per hook than the same bytes read back from disk.
fn drop_cached_pages(path: &Path) -> R<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path)?;
    file.sync_all()?;
    // SAFETY: posix_fadvise only reads its arguments; the descriptor is open.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(format!(
            "posix_fadvise({}): {}",
            path.display(),
            std::io::Error::from_raw_os_error(rc)
        )
        .into());
    }
    Ok(())
}

fn env_path(key: &str) -> R<PathBuf> {
    std::env::var_os(key)
        .map(PathBuf::from)
        .ok_or_else(|| format!("{key} is not set (run scripts/bench.sh)").into())
}

fn bench() -> R<()> {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json_out = match args.iter().position(|a| a == "--json") {
        Some(i) => Some(PathBuf::from(
            args.get(i + 1).ok_or("--json needs a file name")?,
        )),
        None => None,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let charm_bin = env_path("CHARM_DISPATCH")?;
    let launcher = std::fs::canonicalize(env_path("BENCH_LAUNCHER")?)?;
    let static_bin = std::env::var_os("BENCH_STATIC_BIN").map(PathBuf::from);
    let kratos_dir = env_path("CHARM_KRATOS_BIN")?;
    if !kratos_dir.join("kratos").is_file() {
        return Err(format!(
            "no kratos in {} (run scripts/install-kratos.sh)",
            kratos_dir.display()
        )
        .into());
    }

    let pg = Postgres::start(root)?;
    let mut pods = BTreeMap::new();
    pods.insert(LEADER.to_string(), Pod::start(&kratos_dir, pg.port)?);

    let work = tempfile::Builder::new().prefix("bench-charm-").tempdir()?;
    let charm_dir = work.path().join("charm");
    std::fs::create_dir(&charm_dir)?;
    for file in ["metadata.yaml", "config.yaml", "actions.yaml"] {
        std::fs::copy(root.join(file), charm_dir.join(file))?;
    }
    std::os::unix::fs::symlink(&charm_bin, charm_dir.join("dispatch"))?;
    let launcher_out = work.path().join("launched.jsonl");

    let mut juju = Emulator::new(&charm_dir)?;
    juju.update_state(|s| s.model_name = "bench".into())?;
    juju.set_env("BENCH_LAUNCHER_OUT", &launcher_out.display().to_string());
    for name in ["BENCH_LAUNCHER_SMAPS", "BENCH_LAUNCHER_PAGEMAP"] {
        // Looking into the memory by hand: passed on to the launcher of every dispatch.
        if let Ok(value) = std::env::var(name) {
            juju.set_env(name, &value);
        }
    }
    let mut b = Bench {
        juju,
        pods,
        launcher_out,
        launched_seen: 0,
        runs: Vec::new(),
    };
    let place = |b: &mut Bench, unit: &str| {
        let pod = &b.pods[unit];
        let dir = pod.proxy.containers_dir().display().to_string();
        let prefix = [
            "ip".to_string(),
            "netns".into(),
            "exec".into(),
            pod.netns().to_string(),
            launcher.display().to_string(),
        ];
        b.juju
            .set_unit_env(unit, "JUJU_RS_OPS_CONTAINERS_DIR", &dir)
            .set_unit_command_prefix(unit, prefix);
    };
    place(&mut b, LEADER);

    drop_cached_pages(&charm_bin)?;
    println!(
        "charm: {} ({} bytes; its cached pages dropped, as after a reboot)",
        charm_bin.display(),
        std::fs::metadata(&charm_bin)?.len()
    );
    print_header();

    // 1. juju deploy kratos (one unit), then the database.
    b.step("juju deploy kratos");
    let outcomes = b.juju.deploy(1)?;
    b.record("deploy", None, outcomes)?;
    b.step("juju integrate kratos postgresql-k8s");
    let relation = Relation::new(0, "pg-database", "postgresql_client", "postgresql-k8s")
        .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new());
    let (db_id, outcomes) = b.juju.add_relation(relation)?;
    b.record("integrate pg-database", None, outcomes)?;
    let database = b
        .juju
        .state()?
        .relations
        .iter()
        .find(|r| r.id == db_id)
        .unwrap()
        .app_bag(APP)["database"]
        .clone();
    let role = format!("relation_id_{db_id}");
    let password = format!("pg-{:016x}", rand::random::<u64>());
    pg.sql(&format!(
        "CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'"
    ))?;
    pg.sql(&format!("CREATE DATABASE \"{database}\" OWNER {role}"))?;
    let credentials = Secret::new(
        SecretOwner::Application("postgresql-k8s".into()),
        [("username", role.as_str()), ("password", password.as_str())],
    )
    .with_grant(db_id, APP);
    let secret_user = credentials.id.clone();
    b.juju.update_state(|s| s.secrets.push(credentials))?;
    b.step("postgresql-k8s publishes the database (credentials in a secret)");
    let outcomes = b.juju.set_remote_app_data(
        db_id,
        [
            ("endpoints", format!("127.0.0.1:{DB_PORT}")),
            ("secret-user", secret_user),
            ("database", database),
            ("version", "16".into()),
        ],
    )?;
    b.record("integrate pg-database", None, outcomes)?;
    b.pods[LEADER].wait_ready(Duration::from_secs(90))?;

    // 2. Every other integration, with realistic data.
    b.integrate(
        "hydra-endpoint-info",
        "hydra",
        &[],
        &[
            (
                "admin_endpoint",
                "http://hydra.bench.svc.cluster.local:4445".into(),
            ),
            (
                "public_endpoint",
                "http://hydra.bench.svc.cluster.local:4444".into(),
            ),
        ],
    )?;
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
    let page_data: Vec<(String, String)> = pages
        .iter()
        .map(|p| {
            (
                format!("{p}_url"),
                format!("https://iam.example.com/ui/{}", p.replace('_', "-")),
            )
        })
        .collect();
    let page_data: Vec<(&str, String)> = page_data
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    b.integrate(
        "ui-endpoint-info",
        "identity-platform-login-ui",
        &[],
        &page_data,
    )?;
    let public = b.integrate("public-route", "traefik-public", &[], &[])?;
    b.step("traefik-public answers with its host");
    let outcomes = b.juju.set_remote_app_data(
        public,
        [("external_host", "iam.example.com"), ("scheme", "https")],
    )?;
    b.record("integrate public-route", None, outcomes)?;
    let internal = b.integrate("internal-route", "traefik-internal", &[], &[])?;
    b.step("traefik-internal answers with its host");
    let outcomes = b.juju.set_remote_app_data(
        internal,
        [
            ("external_host", "traefik-internal.bench.svc.cluster.local"),
            ("scheme", "http"),
        ],
    )?;
    b.record("integrate internal-route", None, outcomes)?;
    let providers = json!([{
        "provider": "generic",
        "client_id": "kratos-client",
        "client_secret": format!("idp-{:016x}", rand::random::<u64>()),
        "issuer_url": "https://idp.example.com",
        "scope": "openid email profile",
        "id": "corporate",
        "label": "Corporate SSO",
        "jsonnet_mapper": null,
        "mapper_url": null,
    }]);
    b.integrate(
        "kratos-external-idp",
        "kratos-external-idp-integrator",
        &[],
        &[("providers", providers.to_string())],
    )?;
    let jsonnet =
        "function(ctx) { identity_id: ctx.identity.id, email: ctx.identity.traits.email }";
    let body = format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(jsonnet)
    );
    for (endpoint, app, mode, methods) in [
        (
            "kratos-registration-webhook",
            "user-verification-service",
            "before",
            r#"["password", "oidc"]"#,
        ),
        ("kratos-login-webhook", "login-audit", "after", "[]"),
    ] {
        b.integrate_with_secret(
            endpoint,
            app,
            &[("auth-config-value", "bench-api-key-0123456789")],
            "auth_config_value_secret",
            &[
                (
                    "url",
                    format!("http://{app}.bench.svc.cluster.local:8080/api/v0/hook"),
                ),
                ("body", body.clone()),
                ("method", "POST".into()),
                ("mode", mode.into()),
                ("methods", methods.into()),
                ("weight", "0".into()),
                ("response_ignore", "False".into()),
                ("response_parse", "False".into()),
                ("auth_type", "api_key".into()),
                ("auth_config_name", "Authorization".into()),
                ("auth_config_in", "header".into()),
            ],
        )?;
    }
    b.integrate_with_secret(
        "smtp",
        "smtp-integrator",
        &[("password", "smtp-Pa55word")],
        "password_id",
        &[
            ("host", "smtp.example.com".into()),
            ("port", "587".into()),
            ("user", "kratos@example.com".into()),
            ("auth_type", "plain".into()),
            ("transport_security", "starttls".into()),
        ],
    )?;
    let ca_pem = test_ca_pem()?;
    b.integrate(
        "receive-ca-cert",
        "self-signed-certificates",
        &[],
        &[
            ("certificates", json!([ca_pem]).to_string()),
            ("version", "1".into()),
        ],
    )?;
    b.integrate("kratos-info", "identity-platform-login-ui", &[], &[])?;
    b.integrate(
        "tracing",
        "tempo",
        &[],
        &[(
            "receivers",
            json!([
                {"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo.cos.svc.cluster.local:4317"},
                {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo.cos.svc.cluster.local:4318"},
            ])
            .to_string(),
        )],
    )?;
    b.integrate(
        "logging",
        "loki",
        &[(
            "endpoint",
            json!({"url": "http://loki-0.loki-endpoints.cos.svc.cluster.local:3100/loki/api/v1/push"})
                .to_string(),
        )],
        &[],
    )?;
    b.integrate("metrics-endpoint", "prometheus", &[], &[])?;
    b.integrate("grafana-dashboard", "grafana", &[], &[])?;
    b.pods[LEADER].wait_ready(Duration::from_secs(90))?;
    let status = b.juju.state()?.units[LEADER].status.clone();
    println!("-> {LEADER} {}: {}", status.status, status.message);

    // 3. A config change that re-renders, and one that changes nothing.
    b.step("juju config kratos log_level=debug");
    let outcomes = b.juju.set_config([("log_level", "debug")])?;
    b.record(
        "config log_level",
        Some(("config-changed", "log_level")),
        outcomes,
    )?;
    b.pods[LEADER].wait_ready(Duration::from_secs(90))?;
    let services: Vec<String> = b.pods[LEADER]
        .pebble
        .client()
        .services(&[])?
        .iter()
        .map(|s| format!("{} {}", s.name, s.current))
        .collect();
    println!("-> {LEADER}'s services: {}", services.join(", "));
    b.step("config-changed with nothing changed (every integration related)");
    for _ in 0..3 {
        let outcomes = b.juju.on_every_unit("config-changed")?;
        b.record(
            "config unchanged",
            Some(("config-changed", "nothing changed")),
            outcomes,
        )?;
    }

    // 4. The floor, at this state size: a no-op process, one hook-tool call.
    let floor_out = b.juju.work_dir().join("floor.jsonl");
    let state = b.juju.state()?;
    let mut tool_env = hook_env(
        &state,
        LEADER,
        &EventSpec::hook("update-status"),
        DEFAULT_JUJU_VERSION,
        &b.juju.unit_charm_dir(LEADER),
    );
    tool_env.insert(
        "JUJU_EMULATOR_STATE".into(),
        b.juju.state_path().display().to_string(),
    );
    let no_env = BTreeMap::new();
    let noop = floor(
        "no-op process (/bin/true)",
        &launcher,
        &Probe {
            argv: &["/bin/true"],
            env: &no_env,
            exit: 0,
        },
        &floor_out,
    )?;
    let is_leader = b.juju.tools_dir().join("is-leader");
    let tool = floor(
        "one hook-tool call (the emulator's is-leader)",
        &launcher,
        &Probe {
            argv: &[&is_leader.display().to_string(), "--format=json"],
            env: &tool_env,
            exit: 0,
        },
        &floor_out,
    )?;
    // The charm binary itself, started outside Juju: it sets up, finds no hook, says so
    // and exits 1. What it costs before doing any work.
    let charm_path = charm_bin.display().to_string();
    let charm_start = floor(
        "the charm binary outside Juju (start, refuse, exit)",
        &launcher,
        &Probe {
            argv: &[&charm_path],
            env: &no_env,
            exit: 1,
        },
        &floor_out,
    )?;
    b.juju.update_state(|s| s.tool_calls.clear())?;

    // 5. Steady update-status on the leader, once the workload has settled.
    b.pods[LEADER].wait_settled(Duration::from_secs(30))?;
    b.step(&format!(
        "{STEADY_UPDATE_STATUS} steady update-status on {LEADER}"
    ));
    for _ in 0..STEADY_UPDATE_STATUS {
        b.dispatch(
            "steady",
            Some(("update-status", "steady")),
            LEADER,
            &EventSpec::hook("update-status"),
        )?;
    }

    // 6. A second unit joins; leadership moves to it.
    b.step(&format!("juju add-unit kratos ({SECOND} in its own pod)"));
    b.pods
        .insert(SECOND.to_string(), Pod::start(&kratos_dir, pg.port)?);
    place(&mut b, SECOND);
    add_unit(&mut b, SECOND)?;
    b.pods[SECOND].wait_ready(Duration::from_secs(90))?;
    b.step(&format!("leadership moves to {SECOND}"));
    let outcomes = b.juju.set_leader(SECOND)?;
    b.record("leadership", Some(("*", "leadership moves")), outcomes)?;
    b.step("update-status on both units");
    let outcomes = b.juju.update_status()?;
    b.record("after leadership", Some(("*", "two units")), outcomes)?;
    let state = b.juju.state()?;
    for unit in [LEADER, SECOND] {
        let status = &state.units[unit].status;
        println!("-> {unit} {}: {}", status.status, status.message);
    }

    // The summary.
    let mut kinds: Vec<String> = Vec::new();
    for r in &b.runs {
        if !kinds.contains(&r.kind) {
            kinds.push(r.kind.clone());
        }
    }
    let summaries: Vec<Summary> = kinds
        .iter()
        .map(|k| {
            let runs: Vec<&Run> = b.runs.iter().filter(|r| &r.kind == k).collect();
            summarise(k, &runs)
        })
        .collect();
    let static_size = match &static_bin {
        Some(path) => Some(std::fs::metadata(path)?.len()),
        None => None,
    };
    println!(
        "\n== Medians per hook kind (wall and cpu: the dispatch with the hook tools it ran; own \
         cpu and RSS: the charm process alone; changes: POST /v1/services)"
    );
    print_summary_header();
    for s in &summaries {
        print_summary_row(s);
    }
    println!("\n== Floor: medians of {FLOOR_RUNS} runs through the same launcher");
    print_summary_header();
    for s in [&noop, &tool, &charm_start] {
        print_summary_row(s);
    }
    let charm_size = std::fs::metadata(&charm_bin)?.len();
    let targets = check_targets(&summaries, static_size);
    println!("\n== Against the targets of issue 12 (informative, not asserted)");
    println!("| {:<66} | {:>13} | {:<5} |", "target", "measured", "holds");
    println!(
        "|{}|{}|{}|",
        "-".repeat(68),
        "-".repeat(14) + ":",
        "-".repeat(7)
    );
    for t in &targets {
        println!(
            "| {:<66} | {:>13} | {:<5} |",
            t.target,
            t.measured,
            if t.holds { "yes" } else { "NO" }
        );
    }

    println!(
        "\ncharm binary measured: {} bytes ({}); static release binary (scripts/build-dispatch.sh): {}",
        charm_size,
        charm_bin.display(),
        static_size.map_or_else(|| "not built".to_string(), |s| format!("{s} bytes ({:.2} MiB)", s as f64 / 1048576.0))
    );
    println!("bench ran in {:.0?}", started.elapsed());

    if let Some(path) = json_out {
        let report = json!({
            "charm_binary": charm_bin.display().to_string(),
            "charm_binary_bytes": charm_size,
            "static_release_binary_bytes": static_size,
            "floor": {"noop": noop, "hook_tool_is_leader": tool, "charm_start": charm_start},
            "medians": summaries,
            "targets": targets,
            "dispatches": b.runs,
            "seconds": started.elapsed().as_secs_f64(),
        });
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
        println!("wrote {}", path.display());
    }
    println!("\n== tearing down: Pebble and Kratos in both pods, PostgreSQL");
    drop(b);
    drop(pg);
    Ok(())
}

/// One of the issue's targets, measured.
#[derive(Debug, Clone, serde::Serialize)]
struct Target {
    target: String,
    measured: String,
    holds: bool,
}

fn check_targets(summaries: &[Summary], static_size: Option<u64>) -> Vec<Target> {
    let of = |kind: &str| summaries.iter().find(|s| s.kind == kind);
    let mut targets = Vec::new();
    let mut add = |target: &str, measured: Option<f64>, limit: f64, unit: &str| {
        targets.push(Target {
            target: target.to_string(),
            measured: measured.map_or_else(|| "not run".to_string(), |m| format!("{m:.1}{unit}")),
            holds: measured.is_some_and(|m| m <= limit),
        });
    };
    let steady = of("update-status [steady]");
    add(
        "steady update-status: <= 3 tool calls",
        steady.map(|s| s.tool_calls),
        3.0,
        "",
    );
    add(
        "steady update-status: <= 2 Pebble requests",
        steady.map(|s| s.pebble_requests),
        2.0,
        "",
    );
    add(
        "steady update-status: <= 6 ms median (wall)",
        steady.map(|s| s.wall_ms),
        6.0,
        " ms",
    );
    add(
        "steady update-status: <= 4 MB peak RSS",
        steady.map(|s| s.peak_rss_kb / 1024.0),
        4.0,
        " MB",
    );
    let unchanged = of("config-changed [nothing changed]");
    add(
        "config-changed, all related, nothing to restart: <= 25 tool calls",
        unchanged.map(|s| s.tool_calls),
        25.0,
        "",
    );
    add(
        "config-changed, all related, nothing to restart: <= 40 ms",
        unchanged.map(|s| s.wall_ms),
        40.0,
        " ms",
    );
    add(
        "restarting kratos and the courier (log_level): one Pebble change",
        of("config-changed [log_level]").map(|s| s.pebble_changes),
        1.0,
        " change(s)",
    );
    add(
        "static release binary: <= 8 MB",
        static_size.map(|b| b as f64 / 1e6),
        8.0,
        " MB",
    );
    targets
}

/// `juju add-unit`: the same events as [`Emulator::add_unit`] (`unit` deployed as a
/// non-leader, then the peer `-joined`/`-changed` both ways), dispatched one at a time so
/// that the emulator's tool-call log is cleared before each (its add_unit keeps the log of
/// the whole step in the state file every tool call reads, which slows the tools down).
fn add_unit(b: &mut Bench, unit: &str) -> R<()> {
    let step = "add unit";
    let tag = Some(("*", "unit joins"));
    let existing: Vec<String> = b.juju.state()?.units.keys().cloned().collect();
    let relations = b.juju.update_state(|s| {
        s.add_unit(unit).status = StatusRecord::new("maintenance", "installing charm software");
        for relation in &mut s.relations {
            relation.local_units.insert(unit.to_string());
        }
        s.relations.clone()
    })?;
    let mut runs = vec![EventSpec::hook("install")];
    runs.extend(
        relations
            .iter()
            .map(|r| EventSpec::relation("created", r, None)),
    );
    runs.extend(["leader-settings-changed", "config-changed", "start"].map(EventSpec::hook));
    for spec in &runs {
        b.dispatch(step, tag, unit, spec)?;
    }
    b.juju.update_state(|s| {
        if let Some(u) = s.unit_mut(unit) {
            if u.status == StatusRecord::new("maintenance", "installing charm software") {
                u.status = StatusRecord::default();
            }
        }
    })?;
    let mut runs = vec![EventSpec::pebble_ready("kratos")];
    for relation in relations.iter().filter(|r| !r.is_peer(APP)) {
        for remote in &relation.remote_units {
            runs.push(EventSpec::relation("joined", relation, Some(remote)));
            runs.push(EventSpec::relation("changed", relation, Some(remote)));
        }
        if !relation.app_bag(&relation.remote_app).is_empty() {
            runs.push(EventSpec::relation("changed", relation, None));
        }
    }
    for spec in &runs {
        b.dispatch(step, tag, unit, spec)?;
    }
    for relation in relations.iter().filter(|r| r.is_peer(APP)) {
        for other in &existing {
            for (on, about) in [(unit, other.as_str()), (other.as_str(), unit)] {
                for kind in ["joined", "changed"] {
                    let spec = EventSpec::relation(kind, relation, Some(about));
                    b.dispatch(step, tag, on, &spec)?;
                }
            }
        }
    }
    Ok(())
}

/// A self-signed CA certificate, as self-signed-certificates would send it.
fn test_ca_pem() -> R<String> {
    let dir = tempfile::tempdir()?;
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "30"])
        .args(["-subj", "/CN=bench-ca", "-keyout"])
        .arg(dir.path().join("key.pem"))
        .output()?;
    if !out.status.success() {
        return Err(format!("openssl: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn run(command: &mut Command) -> R<()> {
    let out = command.output()?;
    if !out.status.success() {
        return Err(format!(
            "{command:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}
