//! End to end: the cleanup of expired data. The compiled charm runs under the Juju
//! emulator in a pod with a real Pebble running the real Kratos (v1.3.1) on a real
//! PostgreSQL; the charm runs the real `kratos cleanup sql` through Pebble, on its
//! schedule (`cleanup_interval`) and through the `cleanup` action.
//!
//! The data is made through Kratos's public API (self-service login, registration and
//! settings flows, sessions from registrations and logins), then aged by moving their
//! `expires_at` into the past with SQL: Kratos decides what is expired by that column
//! alone. Every kind has rows expired long ago, rows expired recently (inside
//! `cleanup_keep_last`) and live rows; the test checks, row by row, which ones go.
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

use std::time::{Duration, Instant};

use common::{in_netns, kratos_bin, tail, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops_testing::state::Relation;
use juju_rs_ops_testing::{ActionOutcome, ActionStatus, Outcomes};
use serde_json::{json, Map, Value};

const LEADER: &str = "kratos/0";
/// Where postgresql-k8s's service answers, as seen from the pod.
const DB_PORT: u16 = 5432;
const ADMIN: &str = "http://127.0.0.1:4434";
const PUBLIC: &str = "http://127.0.0.1:4433";
const LOGIN_UI: &str = "http://login-ui.test/ui";
const PASSWORD: &str = "Cleanup-Pa55word-e2e-user";

const LOGIN_FLOWS: &str = "selfservice_login_flows";
const REGISTRATION_FLOWS: &str = "selfservice_registration_flows";
const SETTINGS_FLOWS: &str = "selfservice_settings_flows";
const SESSIONS: &str = "sessions";

/// The pod, the database and the emulator, torn down in reverse order.
struct Story {
    d: Deployment,
    _relays: Vec<Relay>,
    pg: Postgres,
    /// The database the charm asked for, and the role that owns it.
    database: String,
    role: String,
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
                "{} {}\n{}\n{}\n{:?}",
                d.unit, d.event, d.stdout, d.stderr, d.tool_calls
            ));
        }
        common::ok(outcomes)
    }

    fn status(&mut self) -> (String, String) {
        let s = self.d.status(LEADER);
        self.transcript.push(format!("{s:?}"));
        (s.status, s.message)
    }

    fn update_status(&mut self) -> Outcomes {
        let outcomes = self.d.emulator.update_status().expect("update-status");
        self.ok(outcomes)
    }

    fn set_config(&mut self, key: &str, value: &str) -> Outcomes {
        let outcomes = self
            .d
            .emulator
            .set_config([(key, value)])
            .expect("juju config");
        self.ok(outcomes)
    }

    fn action(&mut self, params: Value) -> ActionOutcome {
        let Value::Object(params) = params else {
            panic!("params must be an object")
        };
        let outcome = self
            .d
            .emulator
            .run_action(LEADER, "cleanup", params)
            .expect("run action");
        let stderr = outcome.dispatch.as_ref().map_or("", |d| d.stderr.as_str());
        assert!(
            outcome.dispatch.as_ref().is_none_or(|d| d.succeeded()),
            "the action crashed the hook: {stderr}"
        );
        self.transcript.push(format!(
            "{:?} {:?} {:?} {:?} {stderr}",
            outcome.status, outcome.results, outcome.message, outcome.logs
        ));
        outcome
    }

    fn completed(&mut self, params: Value) -> Map<String, Value> {
        let outcome = self.action(params);
        assert_eq!(
            outcome.status,
            ActionStatus::Completed,
            "cleanup failed: {:?}",
            outcome.message
        );
        outcome.results
    }

    fn http(
        &self,
        method: &str,
        url: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let (method, url) = (method.to_string(), url.to_string());
        let token = token.map(str::to_string);
        in_netns(&self.netns(), move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .proxy(None)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(20)))
                .build()
                .into();
            let mut request = ureq::http::Request::builder()
                .method(method.as_str())
                .uri(url.as_str())
                .header("Accept", "application/json");
            if let Some(token) = token {
                request = request.header("X-Session-Token", token);
            }
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

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (status, body) =
                self.http("GET", &format!("{ADMIN}/admin/health/ready"), None, None);
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

    /// A new self-service flow of `kind` (`login`, `registration`, `settings` with a
    /// session token) through the public API: its id.
    fn flow(&self, kind: &str, token: Option<&str>) -> String {
        let (status, flow) = self.http(
            "GET",
            &format!("{PUBLIC}/self-service/{kind}/api"),
            None,
            token,
        );
        assert_eq!(status, 200, "{kind} flow: {flow}");
        flow["id"].as_str().expect("flow id").to_string()
    }

    /// Registers `email` with a password: the session's id and token.
    fn register(&self, email: &str) -> (String, String) {
        let flow = self.flow("registration", None);
        let (status, body) = self.http(
            "POST",
            &format!("{PUBLIC}/self-service/registration?flow={flow}"),
            Some(json!({"method": "password", "traits": {"email": email}, "password": PASSWORD})),
            None,
        );
        assert_eq!(status, 200, "registration of {email}: {body}");
        session_of(&body)
    }

    /// Logs `email` in with its password: a new session's id and token.
    fn login(&self, email: &str) -> (String, String) {
        let flow = self.flow("login", None);
        let (status, body) = self.http(
            "POST",
            &format!("{PUBLIC}/self-service/login?flow={flow}"),
            Some(json!({"method": "password", "identifier": email, "password": PASSWORD})),
            None,
        );
        assert_eq!(status, 200, "login of {email}: {body}");
        session_of(&body)
    }

    /// Whether the session token still signs its holder in.
    fn whoami(&self, token: &str) -> u16 {
        self.http(
            "GET",
            &format!("{PUBLIC}/sessions/whoami"),
            None,
            Some(token),
        )
        .0
    }

    /// Moves the row's expiry `ago` (a PostgreSQL interval) into the past: expired, as
    /// far as Kratos is concerned.
    fn expire(&self, table: &str, id: &str, ago: &str) {
        self.pg.sql_on(
            &self.database,
            &format!("UPDATE {table} SET expires_at = now() - interval '{ago}' WHERE id = '{id}'"),
        );
        assert!(self.exists(table, id), "{table} {id} was made");
    }

    fn exists(&self, table: &str, id: &str) -> bool {
        self.pg
            .sql_on(
                &self.database,
                &format!("SELECT count(*) FROM {table} WHERE id = '{id}'"),
            )
            .as_str()
            == "1"
    }

    /// Asserts which of `rows` (table, id, name) are still there.
    fn assert_rows(&self, step: &str, gone: &[&Row], kept: &[&Row]) {
        for row in gone {
            assert!(
                !self.exists(row.table, &row.id),
                "{step}: {} should be removed",
                row.name
            );
        }
        for row in kept {
            assert!(
                self.exists(row.table, &row.id),
                "{step}: {} should be kept",
                row.name
            );
        }
    }

    /// Time passes: the recorded cleanup times (the peer bag's last run, the unit's
    /// record of when the next run is due) move `secs` into the past, as if the clock had
    /// moved on.
    fn time_passes(&self, secs: u64) {
        self.d
            .emulator
            .update_state(|st| {
                let peers = st
                    .relations
                    .iter_mut()
                    .find(|r| r.endpoint == "kratos-peers")
                    .expect("the peer relation");
                let bag = peers.app_data.entry(APP.into()).or_default();
                let last = charm_kratos::cleanup::last_run(bag).expect("a recorded run");
                bag.extend(charm_kratos::cleanup::record(last - secs));
                let unit = st.units.get_mut(LEADER).expect("the leader");
                let key = charm_kratos::steady::KEY;
                let mut record: Value =
                    serde_json::from_str(unit.state.get(key).expect("a steady record")).unwrap();
                let due = record["cleanup_due"].as_u64().expect("a due time");
                record["cleanup_due"] = (due - secs).into();
                unit.state.insert(key.into(), record.to_string());
            })
            .expect("update the state");
    }

    fn last_run(&self) -> Option<u64> {
        let state = self.d.emulator.state().expect("state");
        let peers = state
            .relations
            .iter()
            .find(|r| r.endpoint == "kratos-peers")
            .expect("the peer relation");
        charm_kratos::cleanup::last_run(&peers.app_bag(APP))
    }

    /// Plays postgresql-k8s: a superuser role and the requested database, the credentials
    /// in a secret granted over the relation.
    fn provide_database(&mut self, db_id: u32) {
        let (password, outcomes) =
            common::provide_database(&mut self.d.emulator, &self.pg, db_id, DB_PORT);
        self.secrets.push(password);
        self.ok(outcomes);
        let state = self.d.emulator.state().expect("state");
        self.database = state.relation(db_id).expect("db").app_bag(APP)["database"].clone();
        self.role = format!("relation_id_{db_id}");
    }
}

/// A row the story made, to find again.
struct Row {
    table: &'static str,
    id: String,
    name: &'static str,
}

fn row(table: &'static str, id: &str, name: &'static str) -> Row {
    Row {
        table,
        id: id.to_string(),
        name,
    }
}

/// The rows of several groups, as one list.
fn all<'a>(groups: &[&'a [Row]]) -> Vec<&'a Row> {
    groups.iter().flat_map(|g| g.iter()).collect()
}

fn session_of(body: &Value) -> (String, String) {
    let id = body["session"]["id"].as_str().expect("session id");
    let token = body["session_token"].as_str().expect("session token");
    (id.to_string(), token.to_string())
}

#[test]
fn expired_data_is_removed_on_the_leaders_schedule_and_by_the_action() {
    let kratos = kratos_bin();
    let kratos_dir = kratos.parent().expect("bin dir").to_path_buf();
    let pg = Postgres::start();
    let workload = Workload::start(&kratos_dir, &[("SQA_OPT_OUT", "true")]);
    let netns = workload.pebble.netns().expect("netns").to_string();
    let relays = vec![Relay::start(
        &netns,
        DB_PORT,
        ([127, 0, 0, 1], pg.port).into(),
    )];
    let mut s = Story {
        d: Deployment::with_workloads(vec![workload]),
        _relays: relays,
        pg,
        database: String::new(),
        role: String::new(),
        secrets: Vec::new(),
        transcript: Vec::new(),
    };
    // The charm's info-level lines (a cleanup done) reach juju-log too.
    s.d.emulator.set_env("JUJU_RS_OPS_LOG_LEVEL", "info");
    let started = Instant::now();

    // 1. juju deploy kratos; integrate the login UI (its pages turn the password method
    // on) and postgresql-k8s: migrated, served, active. The cleanup is off by default.
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
    let db = Relation::new(0, "pg-database", "postgresql_client", "postgresql-k8s")
        .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new());
    let (db_id, outcomes) = s.d.emulator.add_relation(db).expect("integrate postgresql");
    s.ok(outcomes);
    s.provide_database(db_id);
    s.wait_ready();
    s.update_status();
    assert_eq!(s.status(), ("active".into(), String::new()));
    assert_eq!(s.last_run(), None, "off by default");

    // 2. Data of every kind the story can make through the API: expired two days ago,
    // expired an hour ago (inside the default keep-last of 24h), and live.
    let (alice, alice_token) = s.register("alice@example.com");
    let (old_session, _) = s.login("alice@example.com");
    let (recent_session, _) = s.login("alice@example.com");
    let login_old = s.flow("login", None);
    let login_recent = s.flow("login", None);
    let login_live = s.flow("login", None);
    let registration_old = s.flow("registration", None);
    let registration_live = s.flow("registration", None);
    let settings_old = s.flow("settings", Some(&alice_token));
    let settings_live = s.flow("settings", Some(&alice_token));
    s.expire(SESSIONS, &old_session, "2 days");
    s.expire(SESSIONS, &recent_session, "1 hour");
    s.expire(LOGIN_FLOWS, &login_old, "2 days");
    s.expire(LOGIN_FLOWS, &login_recent, "1 hour");
    s.expire(REGISTRATION_FLOWS, &registration_old, "2 days");
    s.expire(SETTINGS_FLOWS, &settings_old, "2 days");
    let old = [
        row(SESSIONS, &old_session, "the session expired 2 days ago"),
        row(LOGIN_FLOWS, &login_old, "the login flow expired 2 days ago"),
        row(
            REGISTRATION_FLOWS,
            &registration_old,
            "the registration flow expired 2 days ago",
        ),
        row(
            SETTINGS_FLOWS,
            &settings_old,
            "the settings flow expired 2 days ago",
        ),
    ];
    let recent = [
        row(SESSIONS, &recent_session, "the session expired 1 hour ago"),
        row(
            LOGIN_FLOWS,
            &login_recent,
            "the login flow expired 1 hour ago",
        ),
    ];
    let live = [
        row(SESSIONS, &alice, "alice's live session"),
        row(LOGIN_FLOWS, &login_live, "the live login flow"),
        row(
            REGISTRATION_FLOWS,
            &registration_live,
            "the live registration flow",
        ),
        row(SETTINGS_FLOWS, &settings_live, "the live settings flow"),
    ];
    s.assert_rows("seeded", &[], &all(&[&old, &recent, &live]));

    // 3. juju config kratos cleanup_interval=6h: never run before, so the leader runs it
    // in that config-changed, with the default keep-last (24h): what expired two days
    // ago goes, the rest stays; the run is recorded for the schedule.
    let before = charm_kratos::cleanup::now();
    let outcomes = s.set_config("cleanup_interval", "6h");
    let logs: Vec<String> = outcomes
        .tool_calls()
        .filter(|c| c.tool == "juju-log")
        .map(|c| c.args.join(" "))
        .collect();
    assert!(
        logs.iter()
            .any(|l| l.contains("cleanup of expired data done")
                && l.contains("keep-last 1d, batch-size 10000")
                && l.contains("sessions, continuity containers, login flows")),
        "{logs:?}"
    );
    s.assert_rows("scheduled run", &all(&[&old]), &all(&[&recent, &live]));
    let last = s.last_run().expect("the run is recorded in the peer bag");
    assert!(last >= before);
    assert_eq!(s.status(), ("active".into(), String::new()));
    assert_eq!(s.whoami(&alice_token), 200, "live sessions still sign in");

    // 4. Not due again for 6 hours: update-status takes its shortcut (two hook-tool
    // calls) and leaves a newly expired flow alone. When 6 hours have passed, the next
    // update-status runs the cleanup.
    let login_later = s.flow("login", None);
    s.expire(LOGIN_FLOWS, &login_later, "2 days");
    let later = row(
        LOGIN_FLOWS,
        &login_later,
        "the login flow expired after the first run",
    );
    s.update_status();
    let outcomes = s.update_status();
    assert_eq!(
        outcomes.0[0].tool_calls.len(),
        2,
        "{:?}",
        outcomes.0[0].tool_calls
    );
    s.assert_rows("not due", &[], &[&later]);
    assert_eq!(s.last_run(), Some(last));
    s.time_passes(6 * 3600 + 60);
    s.update_status();
    s.assert_rows("due on update-status", &[&later], &all(&[&recent, &live]));
    assert!(s.last_run().unwrap() >= last, "the new run is recorded");

    // 5. juju run kratos/leader cleanup batch-size=2: at most two rows of each kind,
    // the oldest first.
    let oldest = s.flow("login", None);
    let older = s.flow("login", None);
    let old_one = s.flow("login", None);
    s.expire(LOGIN_FLOWS, &oldest, "3 days");
    s.expire(LOGIN_FLOWS, &older, "2 days 12 hours");
    s.expire(LOGIN_FLOWS, &old_one, "2 days");
    let batch = [
        row(LOGIN_FLOWS, &oldest, "the login flow expired 3 days ago"),
        row(LOGIN_FLOWS, &older, "the login flow expired 2.5 days ago"),
    ];
    let left = row(LOGIN_FLOWS, &old_one, "the third expired login flow");
    let results = s.completed(json!({"batch-size": 2}));
    s.assert_rows("batch of 2", &all(&[&batch]), &[&left]);
    s.assert_rows("batch of 2", &[], &all(&[&recent, &live]));
    assert_eq!(results["batch-size"], "2");
    assert_eq!(results["keep-last"], "1d");
    assert_eq!(
        results["steps"],
        "sessions, continuity containers, login flows, recovery flows, registation flows, \
         settings flows, verification flows, session token exchangers",
        "what Kratos v1.3.1 goes through (its spelling)"
    );
    let cutoff = results["cutoff"].as_str().unwrap();
    assert!(cutoff.ends_with("+0000 UTC"), "{cutoff}");
    assert!(results["output"]
        .as_str()
        .unwrap()
        .contains("Successfully cleaned up the latest batch"));
    assert_eq!(
        results["started"].as_str().unwrap(),
        charm_kratos::cleanup::timestamp(s.last_run().unwrap()),
        "the action's run is recorded for the schedule"
    );

    // 6. keep-last=30m: what expired an hour ago goes too; the live rows stay, and the
    // live session still signs in.
    let results = s.completed(json!({"keep-last": "30m"}));
    assert_eq!(results["keep-last"], "30m");
    s.assert_rows("keep-last 30m", &all(&[&recent]), &all(&[&live]));
    s.assert_rows("keep-last 30m", &[&left], &[]);
    assert_eq!(s.whoami(&alice_token), 200);

    // 7. Bad params are refused before the charm runs (actions.yaml); a bad option blocks
    // naming it, while Kratos keeps serving.
    let refused = s.action(json!({"keep-last": "a while"}));
    assert_eq!(refused.status, ActionStatus::Failed);
    assert!(refused.dispatch.is_none(), "Juju refused the params");
    s.set_config("cleanup_interval", "hourly");
    let (status, message) = s.status();
    assert_eq!(status, "blocked");
    assert!(
        message.starts_with("Invalid config cleanup_interval: \"hourly\" is not a duration"),
        "{message}"
    );
    s.wait_ready();
    s.set_config("cleanup_interval", "6h");
    assert_eq!(s.status(), ("active".into(), String::new()));

    // 8. The database refuses Kratos's new connections (the serving Kratos keeps its
    // own): Kratos retries, the charm stops it after 25 s and the action says so.
    s.pg.sql(&format!("ALTER ROLE {} NOLOGIN", s.role));
    let timing = Instant::now();
    let failed = s.action(json!({}));
    s.pg.sql(&format!("ALTER ROLE {} LOGIN", s.role));
    assert_eq!(failed.status, ActionStatus::Failed);
    let message = failed.message.unwrap_or_default();
    assert!(
        message.starts_with("Cleanup of expired data failed: Kratos did not finish within 25s"),
        "{message}"
    );
    assert!(timing.elapsed() < Duration::from_secs(60), "bounded");
    s.wait_ready();
    s.completed(json!({}));

    // 9. No database credential reached a status, an action's output, a hook's output or
    // the Juju log.
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
    eprintln!("story took {:?}", started.elapsed());
}
