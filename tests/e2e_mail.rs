//! End to end, the mail path: the compiled charm under the Juju emulator, two units each
//! in its own pod running real Pebble and the real Kratos (v1.3.1) on a real PostgreSQL,
//! and a real Mailpit (v1.33.1, scripts/install-mailpit.sh) as the SMTP server that
//! smtp-integrator would point the charm at. The test plays smtp-integrator (the `smtp`
//! endpoint, the password in a Juju secret granted over the relation) and a
//! certificate_transfer v1 provider (`receive-ca-cert`).
//!
//! The story: recovery and verification mails reach Mailpit through the leader's courier
//! and their codes work; after leadership moves, the courier runs on the new leader only
//! and a mail is sent exactly once; a Mailpit serving SMTP over TLS with a certificate
//! from a test CA gets no mail until that CA arrives over `receive-ca-cert`; the SMTP
//! password shows up nowhere but in the Pebble plan.
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

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{in_netns, kratos_bin, tail, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops::pebble::Pebble;
use juju_rs_ops_testing::state::{Relation, Secret, SecretOwner};
use juju_rs_ops_testing::Outcomes;
use serde_json::{json, Value};

const UNIT0: &str = "kratos/0";
const UNIT1: &str = "kratos/1";
/// Where postgresql-k8s's service answers, as seen from a pod.
const DB_PORT: u16 = 5432;
/// Where the plain-SMTP Mailpit answers, as seen from a pod.
const SMTP_PORT: u16 = 2525;
/// Where the SMTP-over-TLS Mailpit answers, as seen from a pod.
const SMTPS_PORT: u16 = 4465;
const ADMIN: &str = "http://127.0.0.1:4434";
const PUBLIC: &str = "http://127.0.0.1:4433";
const LOGIN_UI: &str = "http://login-ui.test/ui";
const SMTP_USER: &str = "kratos@example.com";
/// Every character that means something in a URL's authority.
const SMTP_PASSWORD: &str = "p@ss:w/rd?#%x";
const SMTP_PASSWORD_ENCODED: &str = "p%40ss%3Aw%2Frd%3F%23%25x";
const USER_PASSWORD: &str = "Verif1ed-Pa55word-e2e-mail";
/// How long a mail that must not come is waited for.
const NO_MAIL_WAIT: Duration = Duration::from_secs(12);
/// How long after a mail arrives a duplicate is waited for.
const SETTLE: Duration = Duration::from_secs(5);

/// The Mailpit binary (`$MAILPIT_BIN`, else where scripts/install-mailpit.sh puts it).
fn mailpit_bin() -> PathBuf {
    let path = std::env::var_os("MAILPIT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/charm-kratos/bin/mailpit")
        });
    assert!(
        path.is_file(),
        "no Mailpit binary at {} (run scripts/install-mailpit.sh or set MAILPIT_BIN)",
        path.display()
    );
    path
}

/// A Mailpit on the host's loopback: SMTP with AUTH required for one user, the HTTP API
/// beside it. Killed on drop.
struct Mailpit {
    child: Child,
    smtp: SocketAddr,
    api: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mailpit {
    /// Plain SMTP (AUTH allowed without TLS), or SMTP over TLS from the first byte with
    /// `tls` = (certificate, key).
    fn start(tls: Option<(&Path, &Path)>) -> Mailpit {
        let dir = tempfile::Builder::new()
            .prefix("mailpit-")
            .tempdir()
            .expect("temp dir");
        let auth = dir.path().join("smtp-auth");
        std::fs::write(&auth, format!("{SMTP_USER}:{SMTP_PASSWORD}\n")).expect("auth file");
        let log = dir.path().join("mailpit.log");
        let smtp: SocketAddr = ([127, 0, 0, 1], common::free_port()).into();
        let http: SocketAddr = ([127, 0, 0, 1], common::free_port()).into();
        let mut command = Command::new(mailpit_bin());
        command
            .arg("--smtp")
            .arg(smtp.to_string())
            .arg("--listen")
            .arg(http.to_string())
            .arg("--smtp-auth-file")
            .arg(&auth)
            .args(["--disable-version-check", "--smtp-disable-rdns"]);
        match tls {
            Some((cert, key)) => {
                command
                    .arg("--smtp-tls-cert")
                    .arg(cert)
                    .arg("--smtp-tls-key")
                    .arg(key)
                    .arg("--smtp-require-tls");
            }
            None => {
                command.arg("--smtp-auth-allow-insecure");
            }
        }
        let out = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start mailpit");
        let mailpit = Mailpit {
            child,
            smtp,
            api: format!("http://{http}"),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while request("GET", &format!("{}/readyz", mailpit.api), None).0 != 200 {
            assert!(
                Instant::now() < deadline,
                "Mailpit not ready:\n{}",
                std::fs::read_to_string(&mailpit.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        mailpit
    }

    /// The IDs of the messages to `address`, newest first; each came in authenticated as
    /// the SMTP user (with the password from the secret).
    fn messages_to(&self, address: &str) -> Vec<String> {
        let (status, body) = request("GET", &format!("{}/api/v1/messages", self.api), None);
        assert_eq!(status, 200, "{body}");
        body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| {
                m["To"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|t| t["Address"] == address))
            })
            .inspect(|m| assert_eq!(m["Username"], SMTP_USER, "{m}"))
            .map(|m| m["ID"].as_str().expect("ID").to_string())
            .collect()
    }

    fn message(&self, id: &str) -> Value {
        let (status, body) = request("GET", &format!("{}/api/v1/message/{id}", self.api), None);
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits for the first message to `address`: the message.
    fn wait_for(&self, address: &str, timeout: Duration, context: &dyn Fn() -> String) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(id) = self.messages_to(address).first() {
                return self.message(id);
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {address} within {timeout:?}:\n{}\nMailpit:\n{}",
                context(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Mailpit {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one 6-digit code in a mail's text (else its HTML).
fn code_in(message: &Value) -> String {
    for part in ["Text", "HTML"] {
        let text = message[part].as_str().unwrap_or_default();
        let codes: Vec<&str> = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| w.len() == 6)
            .collect();
        if let Some(code) = codes.first() {
            return (*code).to_string();
        }
    }
    panic!("no 6-digit code in {message}")
}

/// An HTTP call from the host: the status and the JSON body (or the text).
fn request(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
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
}

/// A test CA and a server certificate for 127.0.0.1 (an IP SAN) it signed, made with the
/// openssl CLI: (dir, CA PEM, server certificate path, server key path).
fn test_pki() -> (tempfile::TempDir, String, PathBuf, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("mail-pki-")
        .tempdir()
        .expect("temp dir");
    let p = |name: &str| dir.path().join(name);
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run openssl (is the openssl CLI installed?)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    openssl(
        &[
            &["req", "-x509", "-nodes", "-days", "2"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.crt"],
            &["-subj", "/CN=Kratos e2e mail test CA"],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req", "-nodes"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
            &["-subj", "/CN=127.0.0.1"],
        ]
        .concat(),
    );
    std::fs::write(
        p("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);
    let ca = std::fs::read_to_string(p("ca.crt")).expect("CA");
    let (cert, key) = (p("server.crt"), p("server.key"));
    (dir, ca, cert, key)
}

/// The pods, the database, the mail servers and the emulator, torn down in reverse order.
struct Story {
    d: Deployment,
    _relays: Vec<Relay>,
    pg: Postgres,
    /// Every secret value the story hands out: none may appear in any output.
    secrets: Vec<String>,
    /// Every hook's output, action outcome and status seen, for the leak check.
    transcript: Vec<String>,
}

impl Story {
    fn netns(&self, unit: usize) -> String {
        self.d.workloads[unit]
            .pebble
            .netns()
            .expect("pods have a network namespace")
            .to_string()
    }

    /// Records the hooks' output for the leak check; panics when one failed.
    fn ok(&mut self, outcomes: Outcomes) -> Outcomes {
        for d in &outcomes.0 {
            self.transcript.push(format!(
                "{} {}\n{}\n{}",
                d.unit, d.event, d.stdout, d.stderr
            ));
        }
        common::ok(outcomes)
    }

    fn status(&mut self, unit: &str) -> (String, String) {
        let s = self.d.status(unit);
        self.transcript.push(format!("{s:?}"));
        (s.status, s.message)
    }

    /// An HTTP call from inside pod `unit`.
    fn http(&self, unit: usize, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        let (method, url) = (method.to_string(), url.to_string());
        in_netns(&self.netns(unit), move || request(&method, &url, body))
    }

    /// Waits until the Kratos of pod `unit` answers ready on its admin API.
    fn wait_ready(&self, unit: usize) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (status, body) =
                self.http(unit, "GET", &format!("{ADMIN}/admin/health/ready"), None);
            if status == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Kratos in pod {unit} not ready ({status} {body}), {:?}:\n{}",
                self.d.status(&format!("{APP}/{unit}")),
                tail(&self.d.workloads[unit].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn wait_all_ready(&mut self) {
        self.wait_ready(0);
        self.wait_ready(1);
        let outcomes = self.d.emulator.update_status().expect("update-status");
        self.ok(outcomes);
        for unit in [UNIT0, UNIT1] {
            assert_eq!(
                self.status(unit),
                ("active".into(), String::new()),
                "{unit}"
            );
        }
    }

    /// The courier's state in each pod: running on `leader`'s pod only.
    fn assert_courier_only_on(&self, leader: usize) {
        for (i, workload) in self.d.workloads.iter().enumerate() {
            let expected = if i == leader { "active" } else { "inactive" };
            assert_eq!(workload.service("courier"), expected, "courier in pod {i}");
        }
    }

    /// The environment of the `courier` service in pod `unit`'s plan.
    fn courier_env(&self, unit: usize) -> std::collections::BTreeMap<String, String> {
        let plan = self.d.workloads[unit].pebble.client().plan().expect("plan");
        plan.services["courier"].environment.clone()
    }

    /// Plays postgresql-k8s answering the leader's request on relation `db_id` (as
    /// tests/e2e.rs does), with a superuser role so the charm migrates in the hook.
    fn provide_database(&mut self, db_id: u32) {
        let (password, outcomes) =
            common::provide_database(&mut self.d.emulator, &self.pg, db_id, DB_PORT);
        self.secrets.push(password);
        self.ok(outcomes);
    }

    /// Creates an identity with `email` through the admin API: its id.
    fn create_identity(&self, email: &str) -> String {
        let (status, body) = self.http(
            0,
            "POST",
            &format!("{ADMIN}/admin/identities"),
            Some(json!({"schema_id": "social_user_v0", "traits": {"email": email}})),
        );
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_string()
    }

    /// Starts an API recovery flow and asks for a code by e-mail: the flow id.
    fn request_recovery(&self, email: &str) -> String {
        let (status, flow) = self.http(
            0,
            "GET",
            &format!("{PUBLIC}/self-service/recovery/api"),
            None,
        );
        assert_eq!(status, 200, "{flow}");
        let flow_id = flow["id"].as_str().expect("flow id").to_string();
        let (status, body) = self.http(
            0,
            "POST",
            &format!("{PUBLIC}/self-service/recovery?flow={flow_id}"),
            Some(json!({"method": "code", "email": email})),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "sent_email", "{body}");
        flow_id
    }

    /// Submits a recovery code: Kratos takes it (the flow moves on to settings).
    fn redeem_recovery(&self, flow_id: &str, code: &str) {
        if let Err(refused) = self.try_redeem_recovery(flow_id, code) {
            panic!("recovery code refused: {refused}");
        }
    }

    /// Submits a recovery code: `Err` with Kratos's answer when it refuses it.
    fn try_redeem_recovery(&self, flow_id: &str, code: &str) -> Result<(), String> {
        let (status, body) = self.http(
            0,
            "POST",
            &format!("{PUBLIC}/self-service/recovery?flow={flow_id}"),
            Some(json!({"method": "code", "code": code})),
        );
        // Kratos v1.3 answers an API recovery flow's code as a browser's: on to the
        // settings UI with a privileged session.
        let settings = format!("{LOGIN_UI}/settings?flow=");
        let accepted = status == 422
            && body["error"]["id"] == "browser_location_change_required"
            && body["redirect_browser_to"]
                .as_str()
                .is_some_and(|to| to.starts_with(&settings));
        if accepted {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    }

    /// What pods say, for a failure's message.
    fn logs(&self, unit: usize) -> String {
        tail(&self.d.workloads[unit].pebble.log())
    }
}

#[test]
fn recovery_and_verification_mail_through_smtp_leadership_and_a_related_ca() {
    let started = Instant::now();
    let kratos = kratos_bin();
    let kratos_dir = kratos.parent().expect("bin dir").to_path_buf();
    let plain = Mailpit::start(None);
    let (_pki, ca_pem, server_cert, server_key) = test_pki();
    let tls = Mailpit::start(Some((&server_cert, &server_key)));
    let pg = Postgres::start();
    let workloads: Vec<Workload> = (0..2)
        .map(|_| Workload::start(&kratos_dir, &[("SQA_OPT_OUT", "true")]))
        .collect();
    let pg_addr: SocketAddr = ([127, 0, 0, 1], pg.port).into();
    let mut relays = Vec::new();
    for w in &workloads {
        let netns = w.pebble.netns().expect("netns");
        relays.push(Relay::start(netns, DB_PORT, pg_addr));
        relays.push(Relay::start(netns, SMTP_PORT, plain.smtp));
        relays.push(Relay::start(netns, SMTPS_PORT, tls.smtp));
    }
    let mut s = Story {
        d: Deployment::with_workloads(workloads),
        _relays: relays,
        pg,
        secrets: vec![SMTP_PASSWORD.into(), SMTP_PASSWORD_ENCODED.into()],
        transcript: Vec::new(),
    };

    // 1. juju deploy kratos -n 2; integrate the login UI and postgresql-k8s: active.
    let outcomes = s.d.emulator.deploy(2).expect("deploy");
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
        .with_remote_app_data(pages.map(|p| {
            (
                format!("{p}_url"),
                format!("{LOGIN_UI}/{}", p.replace('_', "-")),
            )
        }));
    let outcomes = s.d.emulator.add_relation(ui).expect("integrate login UI").1;
    s.ok(outcomes);
    let db = Relation::new(0, "pg-database", "postgresql_client", "postgresql-k8s")
        .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new());
    let (db_id, outcomes) = s.d.emulator.add_relation(db).expect("integrate database");
    s.ok(outcomes);
    s.provide_database(db_id);
    s.wait_all_ready();
    s.assert_courier_only_on(0);
    eprintln!("[{:?}] deployed", started.elapsed());

    // 2. juju integrate kratos smtp-integrator:smtp — the password in a secret the
    // integrator owns and grants over the relation.
    let smtp = Relation::new(0, "smtp", "smtp", "smtp-integrator")
        .with_remote_unit("smtp-integrator/0", Vec::<(String, String)>::new());
    let (smtp_id, outcomes) = s.d.emulator.add_relation(smtp).expect("integrate smtp");
    s.ok(outcomes);
    let password = Secret::new(
        SecretOwner::Application("smtp-integrator".into()),
        [("password", SMTP_PASSWORD)],
    )
    .with_grant(smtp_id, APP);
    let password_id = password.id.clone();
    s.d.emulator
        .update_state(|st| st.secrets.push(password))
        .expect("add the password secret");
    let smtp_data = |port: u16, transport: &str| {
        [
            ("host", "127.0.0.1".to_string()),
            ("port", port.to_string()),
            ("auth_type", "plain".into()),
            ("transport_security", transport.into()),
            ("skip_ssl_verify", "False".into()),
            ("user", SMTP_USER.into()),
            ("password_id", password_id.clone()),
        ]
    };
    let outcomes =
        s.d.emulator
            .set_remote_app_data(smtp_id, smtp_data(SMTP_PORT, "none"))
            .expect("smtp data");
    s.ok(outcomes);
    s.wait_all_ready();
    let expected_uri = format!(
        "smtp://kratos%40example.com:{SMTP_PASSWORD_ENCODED}@127.0.0.1:{SMTP_PORT}/?disable_starttls=true"
    );
    for unit in 0..2 {
        assert_eq!(
            s.courier_env(unit)["COURIER_SMTP_CONNECTION_URI"],
            expected_uri
        );
    }
    s.assert_courier_only_on(0);

    // 3. A recovery mail: the code in it recovers the account.
    let alice = "alice@example.com";
    s.create_identity(alice);
    let flow = s.request_recovery(alice);
    let mail = plain.wait_for(alice, Duration::from_secs(30), &|| s.logs(0));
    assert_eq!(mail["From"]["Address"], "identity@canonical.com", "{mail}");
    s.redeem_recovery(&flow, &code_in(&mail));
    eprintln!("[{:?}] recovery mail delivered", started.elapsed());

    // juju config kratos enable_verification=true: registering sends a verification mail
    // whose code verifies the address.
    let outcomes =
        s.d.emulator
            .set_config([("enable_verification", json!(true))])
            .expect("config");
    s.ok(outcomes);
    s.wait_all_ready();
    s.assert_courier_only_on(0);
    let bob = "bob@example.com";
    let (status, flow) = s.http(
        0,
        "GET",
        &format!("{PUBLIC}/self-service/registration/api"),
        None,
    );
    assert_eq!(status, 200, "{flow}");
    let (status, registered) = s.http(
        0,
        "POST",
        &format!(
            "{PUBLIC}/self-service/registration?flow={}",
            flow["id"].as_str().expect("flow id")
        ),
        Some(json!({"method": "password", "traits": {"email": bob}, "password": USER_PASSWORD})),
    );
    assert_eq!(status, 200, "{registered}");
    let bob_id = registered["identity"]["id"]
        .as_str()
        .expect("identity id")
        .to_string();
    assert_eq!(
        registered["identity"]["verifiable_addresses"][0]["verified"],
        false
    );
    let verification = registered["continue_with"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["action"] == "show_verification_ui"))
        .unwrap_or_else(|| panic!("no verification flow in {registered}"));
    let verification_flow = verification["flow"]["id"]
        .as_str()
        .expect("verification flow id")
        .to_string();
    let mail = plain.wait_for(bob, Duration::from_secs(30), &|| s.logs(0));
    let (status, body) = s.http(
        0,
        "POST",
        &format!("{PUBLIC}/self-service/verification?flow={verification_flow}"),
        Some(json!({"method": "code", "code": code_in(&mail)})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "passed_challenge", "{body}");
    let (status, identity) = s.http(
        0,
        "GET",
        &format!("{ADMIN}/admin/identities/{bob_id}"),
        None,
    );
    assert_eq!(status, 200, "{identity}");
    assert_eq!(
        identity["verifiable_addresses"][0]["verified"], true,
        "{identity}"
    );
    eprintln!("[{:?}] verification mail delivered", started.elapsed());

    // 4. Leadership moves to kratos/1: the courier follows it, and a mail goes out once.
    let outcomes = s.d.emulator.set_leader(UNIT1).expect("move leadership");
    s.ok(outcomes);
    s.assert_courier_only_on(1);
    let carol = "carol@example.com";
    s.create_identity(carol);
    let flow = s.request_recovery(carol);
    let mail = plain.wait_for(carol, Duration::from_secs(30), &|| s.logs(1));
    std::thread::sleep(SETTLE);
    assert_eq!(plain.messages_to(carol).len(), 1, "exactly one mail");
    s.redeem_recovery(&flow, &code_in(&mail));
    s.wait_all_ready();
    s.assert_courier_only_on(1);
    eprintln!("[{:?}] leadership moved", started.elapsed());

    // 5. smtp-integrator now points at a server speaking TLS with a certificate of a CA
    // Kratos does not trust: the mail is not delivered.
    let outcomes =
        s.d.emulator
            .set_remote_app_data(smtp_id, smtp_data(SMTPS_PORT, "tls"))
            .expect("smtp data");
    s.ok(outcomes);
    // Right after the hooks (no update-status yet): the deposed leader's replanned
    // courier did not start again.
    s.assert_courier_only_on(1);
    s.wait_all_ready();
    s.assert_courier_only_on(1);
    for unit in 0..2 {
        let uri = s.courier_env(unit)["COURIER_SMTP_CONNECTION_URI"].clone();
        assert!(
            uri.starts_with("smtps://kratos%40example.com:")
                && uri.ends_with(&format!("@127.0.0.1:{SMTPS_PORT}/")),
            "{uri}"
        );
    }
    let dave = "dave@example.com";
    s.create_identity(dave);
    let log_before = s.d.workloads[1].pebble.log().len();
    s.request_recovery(dave);
    std::thread::sleep(NO_MAIL_WAIT);
    assert_eq!(
        tls.messages_to(dave).len(),
        0,
        "delivered to an untrusted server"
    );
    assert_eq!(
        plain.messages_to(dave).len(),
        0,
        "delivered to the old server"
    );
    let courier_log = s.d.workloads[1].pebble.log()[log_before..].to_string();
    assert!(
        courier_log.contains("[courier] ")
            && courier_log.contains("x509: certificate signed by unknown authority"),
        "no certificate error in the courier's log:\n{}",
        tail(&courier_log)
    );

    // juju integrate kratos:receive-ca-cert self-signed-certificates:send-ca-cert (a
    // certificate_transfer v1 provider): the leader asks for v1, the provider answers
    // with the CA; Kratos and the courier restart trusting it.
    let provider = "self-signed-certificates";
    let ca = Relation::new(0, "receive-ca-cert", "certificate_transfer", provider)
        .with_remote_unit(&format!("{provider}/0"), Vec::<(String, String)>::new());
    let (ca_id, outcomes) = s.d.emulator.add_relation(ca).expect("integrate CA");
    s.ok(outcomes);
    let asked =
        s.d.emulator
            .state()
            .expect("state")
            .relation(ca_id)
            .expect("ca relation")
            .app_bag(APP);
    assert_eq!(asked.get("version").map(String::as_str), Some("1"));
    let outcomes =
        s.d.emulator
            .set_remote_app_data(
                ca_id,
                [
                    ("certificates", json!([ca_pem]).to_string()),
                    ("version", "1".into()),
                ],
            )
            .expect("CA data");
    s.ok(outcomes);
    s.wait_all_ready();
    s.assert_courier_only_on(1);
    for unit in 0..2 {
        let bundle = s.d.workloads[unit]
            .file("/etc/config/kratos/ca-certificates/receive-ca-cert.crt")
            .expect("the CA bundle");
        assert_eq!(bundle.trim(), ca_pem.trim(), "bundle in pod {unit}");
        assert_eq!(
            s.courier_env(unit)["SSL_CERT_DIR"],
            "/etc/ssl/certs:/etc/config/kratos/ca-certificates"
        );
    }
    let flow = s.request_recovery(dave);
    tls.wait_for(dave, Duration::from_secs(30), &|| s.logs(1));
    std::thread::sleep(SETTLE);
    // The mail queued before may come too, unless the courier gave up on it (Kratos
    // retries a message 5 times): one of the codes is the new flow's.
    let ids = tls.messages_to(dave);
    assert!(
        (1..=2).contains(&ids.len()),
        "{} mails to {dave}",
        ids.len()
    );
    let redeemed = ids
        .iter()
        .filter(|id| {
            s.try_redeem_recovery(&flow, &code_in(&tls.message(id)))
                .is_ok()
        })
        .count();
    assert_eq!(redeemed, 1, "the new flow's code came over TLS");
    eprintln!(
        "[{:?}] {} mail(s) to {dave} over TLS",
        started.elapsed(),
        ids.len()
    );

    // juju remove-relation kratos self-signed-certificates: the trust directory leaves
    // the plan (the deposed leader's courier stays stopped through the replan).
    let outcomes = s.d.emulator.remove_relation(ca_id).expect("remove CA");
    s.ok(outcomes);
    s.assert_courier_only_on(1);
    s.wait_all_ready();
    s.assert_courier_only_on(1);
    for unit in 0..2 {
        assert!(
            !s.courier_env(unit).contains_key("SSL_CERT_DIR"),
            "pod {unit}"
        );
    }
    eprintln!("[{:?}] CA trusted over TLS", started.elapsed());

    // 6. The SMTP password is in the Pebble plan (percent-encoded) and nowhere else: no
    // status, hook output or Juju log has it, raw or encoded.
    assert!(s.courier_env(1)["COURIER_SMTP_CONNECTION_URI"].contains(SMTP_PASSWORD_ENCODED));
    let state = s.d.emulator.state().expect("state");
    let mut seen = s.transcript.join("\n");
    for unit in state.units.values() {
        for log in &unit.logs {
            seen.push_str(&log.message);
        }
        seen.push_str(&unit.status.message);
    }
    for secret in &s.secrets {
        assert!(!seen.contains(secret.as_str()), "a secret leaked");
    }
    eprintln!("[{:?}] done", started.elapsed());
}
