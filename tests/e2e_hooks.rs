//! End to end: the `kratos-registration-webhook` and `kratos-login-webhook` integrations
//! against real peers. The compiled charm runs under the Juju emulator in a pod with a real
//! Pebble running the real Kratos (v1.3.1) on a real PostgreSQL; the test plays the
//! providers (user-verification-service and two login services publishing their web-hooks,
//! api keys in Juju secrets granted over the relations) and receives the web-hook calls on
//! a small HTTP server on the host, reachable inside the pod as a service would be. Kratos
//! itself makes every call the test checks.
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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{in_netns, kratos_bin, rand_hex, tail, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops_testing::state::{Relation, Secret, SecretOwner};
use juju_rs_ops_testing::{ActionStatus, Outcomes};
use serde_json::{json, Value};

const LEADER: &str = "kratos/0";
/// Where postgresql-k8s's service answers, as seen from the pod.
const DB_PORT: u16 = 5432;
/// Where the web-hook receiver answers, as seen from the pod.
const HOOK_PORT: u16 = 8880;
const ADMIN: &str = "http://127.0.0.1:4434";
const PUBLIC: &str = "http://127.0.0.1:4433";
const LOGIN_UI: &str = "http://login-ui.test/ui";
const REGISTRATION: &str = "kratos-registration-webhook";
const LOGIN: &str = "kratos-login-webhook";
const VERIFIER: &str = "user-verification-service";
const AUDIT: &str = "login-audit";
const GUARD: &str = "login-guard";
const PASSWORD: &str = "Hook-Pa55word-e2e-user";

/// One HTTP request the receiver got.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    /// Names lower-cased, in order.
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.header("cookie")?.split(';').find_map(|pair| {
            let (n, v) = pair.trim().split_once('=')?;
            (n == name).then(|| v.to_string())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// The web-hook receiver: an HTTP/1.1 server on the host's loopback, a thread per
/// connection, recording every request before answering `200 {}`.
struct Receiver {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let addr = listener.local_addr().expect("address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = recorded.clone();
                std::thread::spawn(move || serve(stream, &recorded));
            }
        });
        Receiver { addr, requests }
    }

    /// The requests received since the last call.
    fn take(&self) -> Vec<Request> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

/// Serves one connection (keep-alive: request after request until the peer closes).
fn serve(stream: TcpStream, recorded: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
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
        recorded.lock().unwrap().push(Request {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let answer =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// The pod, the database, the receiver and the emulator, torn down in reverse order.
struct Story {
    d: Deployment,
    _relays: Vec<Relay>,
    pg: Postgres,
    receiver: Receiver,
    /// Every secret value the story hands out: none may appear in any output.
    secrets: Vec<String>,
    /// Every hook's output, action outcome and status seen, for the leak check.
    transcript: Vec<String>,
}

impl Story {
    fn netns(&self) -> String {
        self.d.workloads[0]
            .pebble
            .netns()
            .expect("pods have a network namespace")
            .to_string()
    }

    /// Records the hooks' output and panics with the failing hook's when one failed.
    fn ok(&mut self, outcomes: Outcomes) -> Outcomes {
        for d in &outcomes.0 {
            self.transcript.push(format!(
                "{} {}\n{}\n{}",
                d.unit, d.event, d.stdout, d.stderr
            ));
        }
        common::ok(outcomes)
    }

    fn status(&mut self) -> (String, String) {
        let s = self.d.status(LEADER);
        self.transcript.push(format!("{s:?}"));
        (s.status, s.message)
    }

    /// update-status, then the status.
    fn settled_status(&mut self) -> (String, String) {
        let outcomes = self.d.emulator.update_status().expect("update-status");
        self.ok(outcomes);
        self.status()
    }

    fn http(&self, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        http_in(&self.netns(), method, url, body)
    }

    fn config(&self) -> String {
        self.d.workloads[0]
            .file("/etc/config/kratos/kratos.yaml")
            .expect("kratos.yaml")
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
                tail(&self.d.workloads[0].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Registers `email` through the public API's password method: the flow id and the
    /// new identity's id.
    fn register(&self, email: &str) -> (String, String) {
        let (status, flow) = self.http(
            "GET",
            &format!("{PUBLIC}/self-service/registration/api"),
            None,
        );
        assert_eq!(status, 200, "{flow}");
        let flow_id = flow["id"].as_str().expect("flow id").to_string();
        let (status, body) = self.http(
            "POST",
            &format!("{PUBLIC}/self-service/registration?flow={flow_id}"),
            Some(json!({"method": "password", "traits": {"email": email}, "password": PASSWORD})),
        );
        assert_eq!(
            status,
            200,
            "registration of {email}: {body}\n{}",
            tail(&self.d.workloads[0].pebble.log())
        );
        assert!(body["session_token"].is_string(), "{body}");
        let id = body["identity"]["id"].as_str().expect("identity id");
        (flow_id, id.to_string())
    }

    /// Starts a login flow through the public API: its id.
    fn start_login(&self) -> String {
        let (status, flow) = self.http("GET", &format!("{PUBLIC}/self-service/login/api"), None);
        assert_eq!(status, 200, "{flow}");
        flow["id"].as_str().expect("flow id").to_string()
    }

    /// Completes a login flow with the password method: the session's identity id.
    fn finish_login(&self, flow_id: &str, email: &str) -> String {
        let (status, body) = self.http(
            "POST",
            &format!("{PUBLIC}/self-service/login?flow={flow_id}"),
            Some(json!({"method": "password", "identifier": email, "password": PASSWORD})),
        );
        assert_eq!(status, 200, "login of {email}: {body}");
        assert!(body["session_token"].is_string(), "{body}");
        body["session"]["identity"]["id"]
            .as_str()
            .expect("identity id")
            .to_string()
    }

    /// Integrates `endpoint` with `app` (one unit, no data yet): the relation id.
    fn integrate(&mut self, endpoint: &str, app: &str) -> u32 {
        let relation = Relation::new(0, endpoint, "", app)
            .with_remote_unit(&format!("{app}/0"), Vec::<(String, String)>::new());
        let (id, outcomes) = self.d.emulator.add_relation(relation).expect("integrate");
        self.ok(outcomes);
        id
    }

    /// A secret owned by `app` holding an api key, granted to kratos over `relation`.
    fn api_key_secret(&mut self, app: &str, relation: u32, key: &str) -> String {
        self.secrets.push(key.to_string());
        let secret = Secret::new(
            SecretOwner::Application(app.into()),
            [("auth-config-value", key)],
        )
        .with_grant(relation, APP);
        let id = secret.id.clone();
        self.d
            .emulator
            .update_state(|st| st.secrets.push(secret))
            .expect("add the secret");
        id
    }

    /// The provider publishes its web-hook: the app databag replaced, relation-changed.
    fn publish(&mut self, relation: u32, bag: &[(&str, String)]) {
        let outcomes = self
            .d
            .emulator
            .set_remote_app_data(relation, bag.iter().map(|(k, v)| (*k, v.clone())))
            .expect("publish the web-hook");
        self.ok(outcomes);
    }

    /// Plays postgresql-k8s: a superuser role and the requested database, the credentials
    /// in a secret granted over the relation.
    fn provide_database(&mut self, db_id: u32) {
        let (password, outcomes) =
            common::provide_database(&mut self.d.emulator, &self.pg, db_id, DB_PORT);
        self.secrets.push(password);
        self.ok(outcomes);
    }
}

/// A provider databag as the web-hook libraries write it.
fn hook_bag(
    path: &str,
    jsonnet: &str,
    method: &str,
    mode: &str,
    methods: &str,
    auth: Option<(&str, &str, &str)>,
) -> Vec<(&'static str, String)> {
    let body = base64::engine::general_purpose::STANDARD.encode(jsonnet);
    let mut bag = vec![
        ("url", format!("http://127.0.0.1:{HOOK_PORT}{path}")),
        ("body", format!("base64://{body}")),
        ("method", method.into()),
        ("mode", mode.into()),
        ("methods", methods.into()),
        ("weight", "0".into()),
        ("response_ignore", "False".into()),
        ("response_parse", "False".into()),
    ];
    if let Some((secret, name, location)) = auth {
        bag.extend([
            ("auth_type", "api_key".into()),
            ("auth_config_name", name.into()),
            ("auth_config_value_secret", secret.into()),
            ("auth_config_in", location.into()),
        ]);
    }
    bag
}

fn http_in(netns: &str, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let (method, url) = (method.to_string(), url.to_string());
    in_netns(netns, move || {
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
                let text = response.body_mut().read_to_string().unwrap_or_default();
                let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                (status, value)
            }
            Err(e) => (0, Value::String(e.to_string())),
        }
    })
}

/// The one request received, or a panic listing what came.
fn only(requests: Vec<Request>) -> Request {
    assert_eq!(
        requests.len(),
        1,
        "expected one web-hook call: {requests:#?}"
    );
    requests.into_iter().next().unwrap()
}

#[test]
fn registration_and_login_webhooks_are_called_by_real_kratos() {
    let kratos = kratos_bin();
    let kratos_dir = kratos.parent().expect("bin dir").to_path_buf();
    let pg = Postgres::start();
    let workload = Workload::start(&kratos_dir, &[("SQA_OPT_OUT", "true")]);
    let netns = workload.pebble.netns().expect("netns").to_string();
    let receiver = Receiver::start();
    let relays = vec![
        Relay::start(&netns, DB_PORT, ([127, 0, 0, 1], pg.port).into()),
        Relay::start(&netns, HOOK_PORT, receiver.addr),
    ];
    let mut s = Story {
        d: Deployment::with_workloads(vec![workload]),
        _relays: relays,
        pg,
        receiver,
        secrets: Vec::new(),
        transcript: Vec::new(),
    };
    let started = Instant::now();

    // 1. juju deploy kratos; integrate the login UI (its pages turn the password method
    // on) and postgresql-k8s: migrated in the hook, served, active. A password
    // registration through the API works and calls nobody.
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
    s.register("plain@example.com");
    assert!(s.receiver.take().is_empty(), "no web-hook yet");

    // 2. juju integrate kratos user-verification-service: its after-registration web-hook
    // for passwords, authenticated with an api key in a header (a secret it owns and
    // grants to kratos over the relation). Kratos calls it once per registration.
    let k1 = format!("Bearer k1-{}", rand_hex());
    let reg = s.integrate(REGISTRATION, VERIFIER);
    let reg_secret = s.api_key_secret(VERIFIER, reg, &k1);
    let reg_bag = |methods: &str| {
        hook_bag(
            "/registration",
            "function(ctx) { email: ctx.identity.traits.email, flow: ctx.flow.id }",
            "POST",
            "after",
            methods,
            Some((&reg_secret, "Authorization", "header")),
        )
    };
    s.publish(reg, &reg_bag(r#"["password"]"#));
    assert!(s.config().contains(&format!("{HOOK_PORT}/registration")));
    s.wait_ready();
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    let (flow, _) = s.register("first@example.com");
    let call = only(s.receiver.take());
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", "/registration")
    );
    assert_eq!(call.header("authorization"), Some(k1.as_str()));
    assert_eq!(
        call.json(),
        json!({"email": "first@example.com", "flow": flow})
    );

    // 3. Two login services: one's before-hook (PUT, no auth) runs when a login flow
    // starts, the other's after-hook for passwords (its api key in a cookie) when the
    // password login succeeds.
    let cookie_key = format!("lk-{}", rand_hex());
    let audit = s.integrate(LOGIN, AUDIT);
    s.publish(
        audit,
        &hook_bag(
            "/login-before",
            "function(ctx) { flow: ctx.flow.id }",
            "PUT",
            "before",
            r#"["password"]"#,
            None,
        ),
    );
    let guard = s.integrate(LOGIN, GUARD);
    let guard_secret = s.api_key_secret(GUARD, guard, &cookie_key);
    s.publish(
        guard,
        &hook_bag(
            "/login-after",
            "function(ctx) { identity: ctx.identity.id, email: ctx.identity.traits.email }",
            "POST",
            "after",
            r#"["password"]"#,
            Some((&guard_secret, "hook_key", "cookie")),
        ),
    );
    s.wait_ready();
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    let (_, identity) = s.register("second@example.com");
    let call = only(s.receiver.take());
    assert_eq!(
        call.path, "/registration",
        "a registration calls no login hook"
    );
    let flow = s.start_login();
    let before = only(s.receiver.take());
    assert_eq!(
        (before.method.as_str(), before.path.as_str()),
        ("PUT", "/login-before")
    );
    assert_eq!(before.json(), json!({"flow": flow}));
    assert_eq!(before.header("authorization"), None);
    assert_eq!(before.header("cookie"), None);
    assert_eq!(s.finish_login(&flow, "second@example.com"), identity);
    let after = only(s.receiver.take());
    assert_eq!(
        (after.method.as_str(), after.path.as_str()),
        ("POST", "/login-after")
    );
    assert_eq!(after.cookie("hook_key"), Some(cookie_key.clone()));
    assert_eq!(after.header("authorization"), None);
    assert_eq!(
        after.json(),
        json!({"identity": identity, "email": "second@example.com"})
    );

    // 4. The verification service rotates its key (a new revision; Juju tells the
    // consumer with secret-changed): the next registration carries the new key.
    let k2 = format!("Bearer k2-{}", rand_hex());
    s.secrets.push(k2.clone());
    s.d.emulator
        .update_state(|st| {
            st.secret_mut(&reg_secret)
                .expect("the secret")
                .add_revision([("auth-config-value", k2.as_str())])
        })
        .expect("rotate");
    let outcomes =
        s.d.emulator
            .secret_changed(&reg_secret)
            .expect("secret-changed");
    let outcomes = s.ok(outcomes);
    assert_eq!(outcomes.events(), [format!("{LEADER} secret-changed")]);
    assert!(s.config().contains(&k2), "kratos.yaml has the new key");
    assert!(!s.config().contains(&k1), "and not the old one");
    s.wait_ready();
    s.register("third@example.com");
    let call = only(s.receiver.take());
    assert_eq!(call.header("authorization"), Some(k2.as_str()));

    // 5. Bad data: a method no registration has. Blocked, naming the integration, the key
    // and the relation; Kratos keeps serving the last good configuration.
    let good_config = s.config();
    s.publish(reg, &reg_bag(r#"["telepathy"]"#));
    let (status, message) = s.settled_status();
    assert_eq!(status, "blocked", "{message}");
    for part in [
        REGISTRATION,
        "methods",
        "telepathy",
        &format!("{VERIFIER} (relation {reg})"),
    ] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert_eq!(s.config(), good_config, "the last good configuration stays");
    assert_eq!(s.d.workloads[0].service("kratos"), "active");
    s.register("fourth@example.com");
    let call = only(s.receiver.take());
    assert_eq!(call.header("authorization"), Some(k2.as_str()));
    s.publish(reg, &reg_bag(r#"["password"]"#));
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    s.wait_ready();

    // 6. juju remove-relation for both login services: logins call nobody.
    for relation in [audit, guard] {
        let outcomes = s.d.emulator.remove_relation(relation).expect("remove");
        s.ok(outcomes);
    }
    assert!(
        !s.config().contains(&format!("{HOOK_PORT}/login-")),
        "the login web-hooks left kratos.yaml"
    );
    s.wait_ready();
    assert_eq!(s.settled_status(), ("active".into(), String::new()));
    let flow = s.start_login();
    assert_eq!(s.finish_login(&flow, "second@example.com"), identity);
    assert!(s.receiver.take().is_empty(), "no login hook is called");

    // 7. The identities are there (an action reads one), and no api key reached a
    // status, an action's output, a hook's output or the Juju log; they are in
    // kratos.yaml, where Kratos reads them.
    let outcome =
        s.d.emulator
            .run_action(
                LEADER,
                "get-identity",
                json!({"email": "fourth@example.com"})
                    .as_object()
                    .unwrap()
                    .clone(),
            )
            .expect("run action");
    assert_eq!(
        outcome.status,
        ActionStatus::Completed,
        "{:?}",
        outcome.message
    );
    s.transcript.push(format!(
        "{:?} {:?} {:?} {:?}",
        outcome.results, outcome.message, outcome.logs, outcome.dispatch
    ));
    assert!(s.config().contains(&k2));
    let state = s.d.emulator.state().expect("state");
    let mut seen = s.transcript.join("\n");
    for unit in state.units.values() {
        for log in &unit.logs {
            seen.push_str(&log.message);
        }
        seen.push_str(&unit.status.message);
    }
    for secret in &s.secrets {
        let bare = secret.strip_prefix("Bearer ").unwrap_or(secret);
        assert!(!seen.contains(bare), "a secret leaked");
    }
    eprintln!("story took {:?}", started.elapsed());
}
