//! End to end, the secrets: no secret anywhere it must not be.
//!
//! One story under the Juju emulator, each unit in its own pod (real Pebble running real
//! Kratos v1.3.1) on a real PostgreSQL and a real kube-apiserver, integrating everything
//! that carries a secret: pg-database (the password in a Juju secret), smtp (the password
//! in a Juju secret), the registration and login web-hooks (api keys in Juju secrets),
//! kratos-external-idp (the OIDC client secret in the provider's databag), the Kubernetes
//! API with a service-account token, and the cookie secret the leader creates; then every
//! action (identity passwords from Juju secrets), a config change, a second unit,
//! leadership moving and relations removed.
//!
//! The secrets are random and full of characters that get encoded (`@:/?#%+ =&`). After
//! the story every place the charm (or Kratos, or Pebble) leaves text is scanned for each
//! secret, raw and in every encoding that could carry it (see [`needles`] and [`views`]):
//! the charm's juju-log lines and the dispatches' output, every status seen after each
//! step (unit and application), every action's results, logs and failure message, every
//! databag the charm writes (its app and unit bags on every relation, the peer bags), the
//! units' state (steady record, relation snapshot), every hook-tool call's arguments, the
//! rest of the emulator's state and every file under its directory, the Pebble plan leaf
//! by leaf, every file under the container's /etc/config leaf by leaf (YAML/JSON), Pebble's
//! changes, state file and logs (Kratos's own), and the ConfigMaps and StatefulSet in the
//! API server. Each secret may appear only where it is the point ([`ALLOWED`]).
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

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::kube::{KubeCluster, TRUSTED};
use common::{in_netns, kratos_bin, rand_hex, tail, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops_testing::state::{Relation, Secret, SecretOwner};
use juju_rs_ops_testing::{ActionStatus, EventSpec, Outcomes};
use serde_json::{json, Value};

const LEADER: &str = "kratos/0";
const FOLLOWER: &str = "kratos/1";
/// The model's name, and so its namespace.
const NS: &str = "identity";
/// Where postgresql-k8s's service answers, as seen from a pod.
const DB_PORT: u16 = 5432;
const ADMIN: &str = "http://127.0.0.1:4434";
const LOGIN_UI: &str = "http://login-ui.test/ui";
const KRATOS_YAML: &str = "/etc/config/kratos/kratos.yaml";
const SMTP_USER: &str = "kratos@example.com";

/// Characters that every encoding treats specially.
const SPECIAL: &str = "@:/?#%+ =&";

/// A distinctive secret: a prefix naming it, random hex, and every special character.
fn distinctive(name: &str) -> String {
    format!("{name}-{}{SPECIAL}{}", rand_hex(), rand_hex())
}

/// Where each secret may appear: place prefixes (see [`Story::places`] for the names).
/// Juju's own secret store (the emulator's `secrets`) and the values the test itself
/// wrote as the other charm (remote databags) are not scanned as the charm's output.
const ALLOWED: &[(&str, &[&str])] = &[
    // Kratos needs the DSN: in the services' environment (both services share one).
    (
        "database password",
        &[
            "pebble plan: services.kratos.environment.DSN",
            "pebble plan: services.courier.environment.DSN",
        ],
    ),
    // Kratos needs the cookie secret; the leader hands it to Juju in secret-add.
    (
        "cookie secret",
        &[
            "pebble plan: services.kratos.environment.SECRETS_COOKIE",
            "pebble plan: services.courier.environment.SECRETS_COOKIE",
            "hook-tool call: secret-add",
            // rotate-cookie-secret keeps it as the previous one, in the new revision.
            "hook-tool call: secret-set",
        ],
    ),
    // The one rotate-cookie-secret makes: where the first one is.
    (
        "rotated cookie secret",
        &[
            "pebble plan: services.kratos.environment.SECRETS_COOKIE",
            "pebble plan: services.courier.environment.SECRETS_COOKIE",
            "hook-tool call: secret-set",
        ],
    ),
    // The courier needs the SMTP password, in its connection URI.
    (
        "smtp password",
        &[
            "pebble plan: services.kratos.environment.COURIER_SMTP_CONNECTION_URI",
            "pebble plan: services.courier.environment.COURIER_SMTP_CONNECTION_URI",
        ],
    ),
    // Kratos sends the api keys with each web-hook call: in kratos.yaml (0600).
    (
        "registration webhook key",
        &["file /etc/config/kratos/kratos.yaml: selfservice.flows.registration."],
    ),
    (
        "login webhook key",
        &["file /etc/config/kratos/kratos.yaml: selfservice.flows.login."],
    ),
    // Kratos needs the client secret: in kratos.yaml (0600).
    (
        "oidc client secret",
        &["file /etc/config/kratos/kratos.yaml: selfservice.methods.oidc.config.providers."],
    ),
    // Only the charm uses the token, to call the API server: nowhere.
    ("service-account token", &[]),
    // Identity passwords go to Kratos's admin API (stored hashed): nowhere.
    ("first admin password", &[]),
    ("second admin password", &[]),
];

/// One secret handed out by the story.
struct SecretValue {
    name: &'static str,
    value: String,
    /// Strings that embed it (e.g. `user:password` of basic auth), scanned in the
    /// encodings of a whole value (base64 of the embedding).
    embedded: Vec<String>,
}

/// The pods, the cluster, the database and the emulator, torn down in reverse order.
struct Story {
    d: Deployment,
    _relays: Vec<Relay>,
    pg: Postgres,
    kube: KubeCluster,
    _sa: tempfile::TempDir,
    secrets: Vec<SecretValue>,
    /// (place, text) of what the charm said as it happened: dispatches, statuses,
    /// actions.
    said: Vec<(String, String)>,
}

impl Story {
    fn netns(&self, unit: usize) -> String {
        self.d.workloads[unit]
            .pebble
            .netns()
            .expect("pods have a network namespace")
            .to_string()
    }

    fn secret(&mut self, name: &'static str, value: String, embedded: Vec<String>) -> String {
        self.secrets.push(SecretValue {
            name,
            value: value.clone(),
            embedded,
        });
        value
    }

    /// Records every dispatch's output and every status; panics with a failed hook's
    /// output.
    fn ok(&mut self, step: &str, outcomes: Outcomes) -> Outcomes {
        for d in &outcomes.0 {
            self.said.push((
                format!("dispatch output: {} {} ({step})", d.unit, d.event),
                format!("{}\n{}", d.stdout, d.stderr),
            ));
        }
        let outcomes = common::ok(outcomes);
        self.capture_statuses(step);
        outcomes
    }

    fn capture_statuses(&mut self, step: &str) {
        let state = self.d.emulator.state().expect("state");
        for (unit, u) in &state.units {
            self.said.push((
                format!("status: {unit} ({step})"),
                format!("{} {}", u.status.status, u.status.message),
            ));
        }
        self.said.push((
            format!("status: application ({step})"),
            format!("{} {}", state.app_status.status, state.app_status.message),
        ));
    }

    fn status(&self, unit: &str) -> (String, String) {
        let s = self.d.status(unit);
        (s.status, s.message)
    }

    fn update_status(&mut self, step: &str) {
        let outcomes = self.d.emulator.update_status().expect("update-status");
        self.ok(step, outcomes);
    }

    /// Runs an action, records its outcome; returns (completed, results, message).
    fn action(
        &mut self,
        unit: &str,
        name: &str,
        params: Value,
    ) -> (bool, serde_json::Map<String, Value>, String) {
        let Value::Object(params) = params else {
            panic!("params must be an object")
        };
        let outcome = self
            .d
            .emulator
            .run_action(unit, name, params)
            .expect("run action");
        if let Some(d) = &outcome.dispatch {
            assert!(d.succeeded(), "{name} crashed the hook: {}", d.stderr);
            self.said.push((
                format!("dispatch output: {unit} {name} action"),
                format!("{}\n{}", d.stdout, d.stderr),
            ));
        }
        self.said.push((
            format!("action: {name} on {unit}"),
            format!(
                "{:?}\n{}\n{}\n{}",
                outcome.status,
                Value::Object(outcome.results.clone()),
                outcome.message.clone().unwrap_or_default(),
                outcome.logs.join("\n")
            ),
        ));
        self.capture_statuses(&format!("action {name}"));
        (
            outcome.status == ActionStatus::Completed,
            outcome.results,
            outcome.message.unwrap_or_default(),
        )
    }

    fn completed(
        &mut self,
        unit: &str,
        name: &str,
        params: Value,
    ) -> serde_json::Map<String, Value> {
        let (done, results, message) = self.action(unit, name, params);
        assert!(done, "{name} failed: {message}");
        results
    }

    fn http(&self, unit: usize, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        http(&self.netns(unit), method, url, body)
    }

    fn wait_ready(&self, unit: usize) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self
            .http(unit, "GET", &format!("{ADMIN}/admin/health/ready"), None)
            .0
            != 200
        {
            assert!(
                Instant::now() < deadline,
                "Kratos in pod {unit} not ready:\n{}",
                tail(&self.d.workloads[unit].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Plays the StatefulSet controller: all pods run the current generation.
    fn roll_out(&self) {
        let (code, sts) = self.kube.admin_request(
            "GET",
            &format!("/apis/apps/v1/namespaces/{NS}/statefulsets/{APP}"),
            None,
            "",
        );
        assert_eq!(code, 200, "{sts}");
        let generation = sts["metadata"]["generation"].as_i64().expect("generation");
        let replicas = sts["spec"]["replicas"].as_i64().unwrap_or(1);
        let revision = format!("{APP}-{generation}");
        self.kube.set_statefulset_status(
            NS,
            APP,
            json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "readyReplicas": replicas,
                "updatedReplicas": replicas,
                "currentRevision": revision,
                "updateRevision": revision,
            }),
        );
    }

    /// Every unit converges to active (after the rollout the leader may have asked for).
    fn all_active(&mut self, step: &str) {
        let units: Vec<String> = self
            .d
            .emulator
            .state()
            .expect("state")
            .units
            .keys()
            .cloned()
            .collect();
        for i in 0..units.len() {
            self.wait_ready(i);
        }
        self.roll_out();
        self.update_status(step);
        for unit in &units {
            assert_eq!(
                self.status(unit),
                ("active".into(), String::new()),
                "{unit} after {step}"
            );
        }
    }

    /// A Juju secret owned by `owner` (an application, or the user when `None`) holding
    /// `content`, granted to kratos (over `relation` for an application's).
    fn juju_secret(
        &mut self,
        owner: Option<&str>,
        relation: Option<u32>,
        content: &[(&str, &str)],
    ) -> String {
        let secret = match owner {
            Some(app) => Secret::new(
                SecretOwner::Application(app.into()),
                content.iter().copied(),
            )
            .with_grant(relation.expect("a relation"), APP),
            None => Secret::user_secret(&format!("user-{}", rand_hex()), content.iter().copied())
                .with_user_grant(APP),
        };
        let id = secret.id.clone();
        self.d
            .emulator
            .update_state(|st| st.secrets.push(secret))
            .expect("add the secret");
        id
    }

    /// Integrates `endpoint` with `app` (one unit, `data` in its app bag): the id.
    fn integrate(&mut self, endpoint: &str, app: &str, data: &[(&str, String)]) -> u32 {
        let relation = Relation::new(0, endpoint, "", app)
            .with_remote_unit(&format!("{app}/0"), Vec::<(String, String)>::new())
            .with_remote_app_data(data.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let (id, outcomes) = self.d.emulator.add_relation(relation).expect("integrate");
        self.ok(&format!("integrate {endpoint}"), outcomes);
        id
    }

    fn publish(&mut self, relation: u32, data: &[(&str, String)]) {
        let outcomes = self
            .d
            .emulator
            .set_remote_app_data(relation, data.iter().map(|(k, v)| (*k, v.clone())))
            .expect("publish");
        self.ok(&format!("relation {relation} changed"), outcomes);
    }

    /// Plays postgresql-k8s: a superuser role whose password is a distinctive secret,
    /// the requested database, the credentials in a Juju secret granted over the
    /// relation.
    fn provide_database(&mut self, db_id: u32) {
        let request = self
            .d
            .emulator
            .state()
            .expect("state")
            .relation(db_id)
            .expect("db relation")
            .app_bag(APP);
        let database = request["database"].clone();
        let role = format!("relation_id_{db_id}");
        let password = distinctive("pg");
        self.secret(
            "database password",
            password.clone(),
            vec![format!("{role}:{password}")],
        );
        self.pg.sql(&format!(
            "CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'"
        ));
        self.pg.sql(&format!("CREATE DATABASE \"{database}\""));
        let secret_user = self.juju_secret(
            Some("postgresql-k8s"),
            Some(db_id),
            &[("username", role.as_str()), ("password", password.as_str())],
        );
        self.publish(
            db_id,
            &[
                ("endpoints", format!("127.0.0.1:{DB_PORT}")),
                ("secret-user", secret_user),
                ("database", database),
                ("version", "15".into()),
            ],
        );
    }

    // ----- the scan ---------------------------------------------------------------------

    /// Every place with text the story left, named as [`ALLOWED`] names them.
    fn places(&self) -> Vec<(String, String)> {
        let mut places = self.said.clone();
        let state = self.d.emulator.state().expect("state");
        for (unit, u) in &state.units {
            for log in &u.logs {
                places.push((format!("juju-log: {unit}"), log.message.clone()));
            }
            for (key, value) in &u.state {
                places.push((format!("unit state: {unit} {key}"), value.clone()));
            }
        }
        // The bags the charm writes: this application's and its units' on every
        // relation (the peer relation's included).
        for relation in &state.relations {
            let ours = |member: &str| member == APP || member.starts_with(&format!("{APP}/"));
            for (member, bag) in relation.app_data.iter().chain(&relation.unit_data) {
                if ours(member) {
                    places.push((
                        format!("databag: {}:{} {member}", relation.endpoint, relation.id),
                        serde_json::to_string(bag).expect("json"),
                    ));
                }
            }
        }
        for call in &state.tool_calls {
            places.push((
                format!(
                    "hook-tool call: {} ({} {})",
                    call.tool, call.unit, call.hook
                ),
                call.args.join(" "),
            ));
        }
        // The rest of the emulator's state: without Juju's secret store and the bags the
        // test wrote as the other applications (and what is scanned above).
        let mut rest = state.clone();
        rest.secrets.clear();
        rest.tool_calls.clear();
        for relation in &mut rest.relations {
            relation
                .app_data
                .retain(|member, _| member == APP || member.starts_with(&format!("{APP}/")));
            relation
                .unit_data
                .retain(|member, _| member.starts_with(&format!("{APP}/")));
        }
        places.push((
            "emulator state (the rest)".into(),
            serde_json::to_string(&rest).expect("json"),
        ));
        // Every other file in the emulator's directory (the units' charm directories).
        let work = self.d.emulator.work_dir().to_path_buf();
        for (path, text) in files_under(&work) {
            if path != self.d.emulator.state_path() {
                places.push((format!("emulator file: {}", path.display()), text));
            }
        }
        for (i, workload) in self.d.workloads.iter().enumerate() {
            let unit = format!("{APP}/{i}");
            let pebble = &workload.pebble;
            let cli = |args: &[&str]| {
                let out = pebble.pebble_command().args(args).output().expect("pebble");
                String::from_utf8_lossy(&out.stdout).into_owned()
            };
            let plan: Value = serde_yaml_ng::from_str(&cli(&["plan"])).expect("the plan is YAML");
            leaves("pebble plan: ", &plan, &mut places);
            places.push((format!("pebble logs: {unit}"), cli(&["logs", "-n", "all"])));
            places.push((format!("pebble daemon log: {unit}"), pebble.log()));
            let changes = cli(&["changes"]);
            for id in changes
                .lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().next())
            {
                places.push((format!("pebble tasks: {unit} {id}"), cli(&["tasks", id])));
            }
            places.push((format!("pebble changes: {unit}"), changes));
            for (path, text) in files_under(pebble.pebble_dir()) {
                places.push((format!("pebble state dir: {unit} {}", path.display()), text));
            }
            // The container's files, leaf by leaf when they parse as YAML (or JSON).
            let listing = pebble
                .run_in_container(&["find", "/etc/config", "-type", "f"])
                .expect("find");
            for path in String::from_utf8_lossy(&listing.stdout).lines() {
                let text = workload.file(path).unwrap_or_default();
                let prefix = format!("file {path}: ");
                match serde_yaml_ng::from_str::<Value>(&text) {
                    Ok(value @ (Value::Object(_) | Value::Array(_))) => {
                        leaves(&prefix, &value, &mut places);
                    }
                    _ => places.push((prefix, text)),
                }
            }
        }
        for path in [
            format!("/api/v1/namespaces/{NS}/configmaps"),
            format!("/apis/apps/v1/namespaces/{NS}/statefulsets/{APP}"),
        ] {
            let (_, body) = self.kube.admin_request("GET", &path, None, "");
            places.push((format!("kubernetes: {path}"), body.to_string()));
        }
        places
    }
}

/// Every text file under `dir` (recursively, symlinks not followed).
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            found.extend(files_under(&path));
        } else if kind.is_file() {
            if let Ok(bytes) = std::fs::read(&path) {
                found.push((path, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    found
}

/// One place per leaf of `value`, named `<prefix><dotted path>`.
fn leaves(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    fn walk(path: String, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    walk(format!("{path}{k}."), v, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(format!("{path}{i}."), v, out);
                }
            }
            Value::String(s) => out.push((path.trim_end_matches('.').to_string(), s.clone())),
            other => out.push((path.trim_end_matches('.').to_string(), other.to_string())),
        }
    }
    walk(prefix.to_string(), value, out);
    // The whole, for keys (a secret as a key would be no leaf).
    out.push((
        format!("{prefix}(keys)"),
        serde_json::to_string(&keys_only(value)).expect("json"),
    ));
}

fn keys_only(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), keys_only(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(keys_only).collect()),
        _ => Value::Null,
    }
}

/// The encodings a value could be found in, as (encoding, needle): raw; URL-encoded
/// (every reserved character as `%XX`, upper and lower case; space as `+` with `+` as
/// `%2B`, and as `%20`); JSON-escaped (also Go's `\u0026` for `&`); backslash
/// (shell) quoted; hex; and base64 standard and URL-safe at each of the three
/// alignments the value can have inside a longer encoded string (so base64 of
/// `user:password`, or of anything embedding it, is found too).
fn needles(value: &str) -> Vec<(String, String)> {
    let mut forms = vec![("raw".to_string(), value.to_string())];
    let encode = |space_plus: bool, lower: bool| -> String {
        value
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                b' ' if space_plus => "+".to_string(),
                _ if lower => format!("%{b:02x}"),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    forms.push(("URL-encoded (%20)".into(), encode(false, false)));
    forms.push(("URL-encoded (+)".into(), encode(true, false)));
    forms.push(("URL-encoded (lower case)".into(), encode(false, true)));
    let json = serde_json::to_string(value).expect("json");
    forms.push(("JSON-escaped".into(), json.trim_matches('"').to_string()));
    forms.push((
        "JSON-escaped (Go)".into(),
        json.trim_matches('"')
            .replace('&', "\\u0026")
            .replace('<', "\\u003c")
            .replace('>', "\\u003e"),
    ));
    forms.push((
        "shell-quoted (backslashes)".into(),
        value
            .chars()
            .flat_map(|c| {
                if c.is_ascii_alphanumeric() || "-._/".contains(c) {
                    vec![c]
                } else {
                    vec!['\\', c]
                }
            })
            .collect(),
    ));
    forms.push(("shell-quoted (single quotes)".into(), format!("'{value}'")));
    forms.push(("hex".into(), hex(value.as_bytes())));
    forms.push((
        "hex (upper case)".into(),
        hex(value.as_bytes()).to_uppercase(),
    ));
    for (i, core) in base64_cores(value.as_bytes()).into_iter().enumerate() {
        forms.push((format!("base64 (alignment {i})"), core.clone()));
        forms.push((
            format!("base64 URL-safe (alignment {i})"),
            core.replace('+', "-").replace('/', "_"),
        ));
    }
    forms
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The base64 characters that depend only on `bytes`, for each of the three offsets
/// (mod 3) at which `bytes` can start inside a longer encoded string.
fn base64_cores(bytes: &[u8]) -> Vec<String> {
    (0..3)
        .map(|shift| {
            let mut padded = vec![0u8; shift];
            padded.extend_from_slice(bytes);
            let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&padded);
            // Characters mixing the filler bytes in, at the start; a partial group at
            // the end mixes in what follows.
            let skip = (shift * 8).div_ceil(6);
            let full = (padded.len() / 3) * 4;
            encoded.get(skip..full).unwrap_or_default().to_string()
        })
        .collect()
}

/// The text as read, and decoded in every way a value could have been encoded into it:
/// percent-decoded, form-decoded (`+` as space), and with JSON/Go/YAML/shell escapes
/// undone (`\uXXXX`, then any backslash dropped).
fn views(text: &str) -> Vec<String> {
    let percent = |t: &str| {
        percent_encoding::percent_decode_str(t)
            .decode_utf8_lossy()
            .into_owned()
    };
    let unescaped = unescape(text);
    vec![
        text.to_string(),
        percent(text),
        percent(&text.replace('+', " ")),
        unescaped.clone(),
        percent(&unescaped),
    ]
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('u') => {
                chars.next();
                let code: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&code, 16).ok().and_then(char::from_u32) {
                    Some(decoded) => out.push(decoded),
                    None => out.push_str(&code),
                }
            }
            Some(_) => out.push(chars.next().expect("peeked")),
            None => {}
        }
    }
    out
}

/// Where `secret` appears among `places`: (place, encoding) pairs.
fn find(secret: &SecretValue, places: &[(String, String)]) -> BTreeSet<(String, String)> {
    let mut needles_of: Vec<(String, String)> = needles(&secret.value);
    for embedding in &secret.embedded {
        for (encoding, needle) in needles(embedding) {
            if encoding.starts_with("base64") || encoding.starts_with("hex") {
                needles_of.push((format!("{encoding} of {embedding:?}"), needle));
            }
        }
    }
    let mut hits = BTreeSet::new();
    for (place, text) in places {
        let views = views(text);
        for (encoding, needle) in &needles_of {
            if needle.len() >= 8 && views.iter().any(|v| v.contains(needle.as_str())) {
                hits.insert((place.clone(), encoding.clone()));
            }
        }
    }
    hits
}

fn http(netns: &str, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let (method, url) = (method.to_string(), url.to_string());
    in_netns(netns, move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
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
        let Ok(mut response) = result else {
            return (0, Value::Null);
        };
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    })
}

/// A web-hook provider's databag, the api key in the secret `secret`.
fn hook_bag(path: &str, secret: &str) -> Vec<(&'static str, String)> {
    let body = base64::engine::general_purpose::STANDARD.encode("function(ctx) { ctx: ctx }");
    vec![
        ("url", format!("http://127.0.0.1:9/{path}")),
        ("body", format!("base64://{body}")),
        ("method", "POST".into()),
        ("mode", "after".into()),
        ("methods", "[\"password\"]".into()),
        ("weight", "0".into()),
        ("response_ignore", "True".into()),
        ("response_parse", "False".into()),
        ("auth_type", "api_key".into()),
        ("auth_config_name", "Authorization".into()),
        ("auth_config_value_secret", secret.into()),
        ("auth_config_in", "header".into()),
    ]
}

#[test]
fn no_secret_is_anywhere_it_must_not_be() {
    let started = Instant::now();
    let kratos = kratos_bin();
    let kratos_dir = kratos.parent().expect("bin dir").to_path_buf();

    // The cluster (`juju trust kratos --scope=cluster`), the database, two pods.
    let kube = KubeCluster::start();
    kube.create_namespace(NS);
    kube.create_statefulset(NS, APP);
    kube.grant_trusted(NS);
    let sa = kube.service_account_dir(TRUSTED, NS);
    let (api_host, api_port) = kube.api_server_host_port();
    let pg = Postgres::start();
    let workloads: Vec<Workload> = (0..2)
        .map(|_| Workload::start(&kratos_dir, &[("SQA_OPT_OUT", "true")]))
        .collect();
    let mut relays = Vec::new();
    for w in &workloads {
        let netns = w.pebble.netns().expect("netns");
        relays.push(Relay::start(
            netns,
            DB_PORT,
            ([127, 0, 0, 1], pg.port).into(),
        ));
        relays.push(Relay::start(
            netns,
            api_port,
            SocketAddr::from(([127, 0, 0, 1], api_port)),
        ));
    }
    let mut d = Deployment::with_workloads(workloads);
    d.emulator
        .update_state(|st| st.model_name = NS.to_string())
        .expect("model name");
    for unit in [LEADER, FOLLOWER] {
        d.emulator
            .set_unit_env(
                unit,
                "CHARM_SERVICE_ACCOUNT_DIR",
                &sa.path().display().to_string(),
            )
            .set_unit_env(unit, "KUBERNETES_SERVICE_HOST", &api_host)
            .set_unit_env(unit, "KUBERNETES_SERVICE_PORT", &api_port.to_string());
    }
    let token = kube.token(TRUSTED).to_string();
    let mut s = Story {
        d,
        _relays: relays,
        pg,
        kube,
        _sa: sa,
        secrets: Vec::new(),
        said: Vec::new(),
    };
    s.secret(
        "service-account token",
        token.clone(),
        vec![format!("Bearer {token}")],
    );

    // 1. juju deploy kratos; the login UI; postgresql-k8s with the password in a secret.
    let outcomes = s.d.emulator.deploy(1).expect("deploy");
    s.ok("deploy", outcomes);
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
    let keys: Vec<String> = pages.iter().map(|p| format!("{p}_url")).collect();
    let ui: Vec<(&str, String)> = keys
        .iter()
        .zip(pages)
        .map(|(k, p)| (k.as_str(), format!("{LOGIN_UI}/{}", p.replace('_', "-"))))
        .collect();
    s.integrate("ui-endpoint-info", "login-ui", &ui);
    let db_id = s.integrate("pg-database", "postgresql-k8s", &[]);
    s.provide_database(db_id);
    s.all_active("database");
    let cookie = {
        let state = s.d.emulator.state().expect("state");
        let secret = state
            .secrets
            .iter()
            .find(|x| x.label.as_deref() == Some("cookie_secret"))
            .expect("the leader created the cookie secret");
        secret.revisions.last().expect("a revision").content["cookiesecret"].clone()
    };
    let cookie = s.secret("cookie secret", cookie, vec![]);
    eprintln!("[{:?}] deployed", started.elapsed());

    // 2. juju config kratos log_level=debug: Kratos's most talkative level for the rest.
    let outcomes =
        s.d.emulator
            .set_config([("log_level", json!("debug"))])
            .expect("config");
    s.ok("config log_level=debug", outcomes);
    s.all_active("config");

    // 3. The public route (the IdP's redirect URI needs it), smtp, both web-hooks, the IdP.
    let route = s.integrate("public-route", "traefik-public", &[]);
    s.publish(
        route,
        &[
            ("external_host", "127.0.0.1".into()),
            ("scheme", "http".into()),
        ],
    );
    let smtp_password = distinctive("smtp");
    s.secret(
        "smtp password",
        smtp_password.clone(),
        vec![
            format!("{SMTP_USER}:{smtp_password}"),
            format!("\0{SMTP_USER}\0{smtp_password}"),
        ],
    );
    let smtp = s.integrate("smtp", "smtp-integrator", &[]);
    let smtp_secret = s.juju_secret(
        Some("smtp-integrator"),
        Some(smtp),
        &[("password", smtp_password.as_str())],
    );
    s.publish(
        smtp,
        &[
            ("host", "127.0.0.1".into()),
            ("port", "2525".into()),
            ("auth_type", "plain".into()),
            ("transport_security", "none".into()),
            ("skip_ssl_verify", "False".into()),
            ("user", SMTP_USER.into()),
            ("password_id", smtp_secret),
        ],
    );
    let mut hooks = Vec::new();
    for (endpoint, app, name) in [
        (
            "kratos-registration-webhook",
            "registration-hook",
            "registration webhook key",
        ),
        ("kratos-login-webhook", "login-hook", "login webhook key"),
    ] {
        let key = distinctive("hook");
        s.secret(name, key.clone(), vec![]);
        let id = s.integrate(endpoint, app, &[]);
        let secret = s.juju_secret(Some(app), Some(id), &[("auth-config-value", key.as_str())]);
        s.publish(id, &hook_bag(app, &secret));
        hooks.push(id);
    }
    let client_secret = distinctive("oidc");
    s.secret(
        "oidc client secret",
        client_secret.clone(),
        vec![format!("kratos-client:{client_secret}")],
    );
    let providers = json!([{
        "provider": "generic",
        "client_id": "kratos-client",
        "client_secret": client_secret,
        "issuer_url": "http://127.0.0.1:9/",
        "scope": "openid email",
        "id": "corp-sso",
        "label": "Corp",
    }]);
    let idp = s.integrate(
        "kratos-external-idp",
        "idp-integrator",
        &[("providers", providers.to_string())],
    );
    s.all_active("integrations");
    // Each reached Kratos: the check that the scan below looks where the secrets are.
    let yaml = s.d.workloads[0].file(KRATOS_YAML).expect("kratos.yaml");
    assert!(
        yaml.contains("corp-sso") && yaml.contains("127.0.0.1:9/login-hook"),
        "{yaml}"
    );
    eprintln!("[{:?}] integrated", started.elapsed());

    // 4. Every action, the identity ones with passwords from Juju secrets.
    let first = distinctive("pw1");
    let second = distinctive("pw2");
    s.secret("first admin password", first.clone(), vec![]);
    s.secret("second admin password", second.clone(), vec![]);
    let first_id = s.juju_secret(None, None, &[("password", first.as_str())]);
    let second_id = s.juju_secret(None, None, &[("password", second.as_str())]);
    let created = s.completed(
        LEADER,
        "create-admin-account",
        json!({"username": "admin1", "email": "admin1@example.com", "password-secret-id": first_id}),
    );
    let admin = created["identity-id"].as_str().expect("id").to_string();
    s.completed(
        LEADER,
        "create-admin-account",
        json!({"username": "admin2", "email": "admin2@example.com"}),
    );
    s.completed(LEADER, "get-identity", json!({"identity-id": admin}));
    s.completed(
        LEADER,
        "reset-password",
        json!({"email": "admin1@example.com", "password-secret-id": second_id}),
    );
    s.completed(
        LEADER,
        "reset-password",
        json!({"email": "admin2@example.com"}),
    );
    s.completed(
        LEADER,
        "invalidate-identity-sessions",
        json!({"identity-id": admin}),
    );
    let (done, _, _) = s.action(
        LEADER,
        "reset-identity-mfa",
        json!({"identity-id": admin, "mfa-type": "totp"}),
    );
    assert!(!done, "no totp to reset");
    s.completed(LEADER, "list-oidc-accounts", json!({"identity-id": admin}));
    let (done, _, _) = s.action(
        LEADER,
        "unlink-oidc-account",
        json!({"identity-id": admin, "credential-id": "corp-sso:nobody"}),
    );
    assert!(!done, "nothing to unlink");
    s.completed(LEADER, "run-migration", json!({"timeout": 60}));
    s.completed(LEADER, "cleanup", json!({}));
    s.completed(
        LEADER,
        "delete-identity",
        json!({"email": "admin2@example.com"}),
    );
    // A failure that quotes the database: a migration against an unreachable one is not
    // reachable here, so a wrong secret id (its message names the id, not the content).
    let (done, _, _) = s.action(
        LEADER,
        "create-admin-account",
        json!({"username": "x", "email": "x@example.com",
               "password-secret-id": "secret:cvbc4ofmp25c77bmdjd0"}),
    );
    assert!(!done);
    eprintln!("[{:?}] actions", started.elapsed());

    // Everything is integrated: scanned now (the IdP and a web-hook go in step 6) and at
    // the end.
    let mut places = s.places();

    // 5. juju add-unit; leadership moves to it; the follower's actions.
    let (unit, outcomes) = s.d.emulator.add_unit().expect("add unit");
    assert_eq!(unit, FOLLOWER);
    s.ok("add-unit", outcomes);
    s.all_active("second unit");
    let outcomes = s.d.emulator.set_leader(FOLLOWER).expect("leadership");
    s.ok("leadership moved", outcomes);
    s.all_active("leadership moved");
    s.completed(
        FOLLOWER,
        "get-identity",
        json!({"email": "admin1@example.com"}),
    );
    s.completed(FOLLOWER, "cleanup", json!({}));
    let (done, _, _) = s.action(LEADER, "run-migration", json!({}));
    assert!(!done, "not the leader any more");

    // The new leader rotates the cookie secret, keeping the old one accepted; the other
    // unit follows on the peer relation-changed the rotation causes.
    let results = s.completed(FOLLOWER, "rotate-cookie-secret", json!({}));
    assert!(results.contains_key("previous-kept"), "{results:?}");
    let (peers, rotated) = {
        let state = s.d.emulator.state().expect("state");
        let peers = state
            .relations
            .iter()
            .find(|r| r.endpoint == "kratos-peers")
            .cloned()
            .expect("the peer relation");
        let secret = state
            .secrets
            .iter()
            .find(|x| x.label.as_deref() == Some("cookie_secret"))
            .expect("the cookie secret");
        let content = &secret.revisions.last().expect("a revision").content;
        (peers, content["cookiesecret"].clone())
    };
    assert_ne!(rotated, cookie, "a new cookie secret");
    let dispatched =
        s.d.emulator
            .dispatch(LEADER, &EventSpec::relation("changed", &peers, None))
            .expect("dispatch");
    assert!(dispatched.succeeded(), "{}", dispatched.stderr);
    s.said.push((
        format!("dispatch output: {LEADER} kratos-peers-relation-changed"),
        format!("{}\n{}", dispatched.stdout, dispatched.stderr),
    ));
    s.secret("rotated cookie secret", rotated, vec![]);
    s.all_active("cookie secret rotated");

    // 6. juju remove-relation: the login web-hook and the IdP.
    for id in [hooks[1], idp] {
        let outcomes = s.d.emulator.remove_relation(id).expect("remove relation");
        s.ok(&format!("remove relation {id}"), outcomes);
    }
    s.all_active("relations removed");
    let yaml = s.d.workloads[1].file(KRATOS_YAML).expect("kratos.yaml");
    assert!(!yaml.contains("corp-sso"), "{yaml}");
    eprintln!("[{:?}] story done", started.elapsed());

    // The scan.
    places.extend(s.places());
    let mut leaks = Vec::new();
    let mut where_allowed = BTreeMap::new();
    for secret in &s.secrets {
        let allowed = ALLOWED
            .iter()
            .find(|(name, _)| *name == secret.name)
            .map(|(_, places)| *places)
            .unwrap_or_else(|| panic!("no ALLOWED entry for {}", secret.name));
        let hits = find(secret, &places);
        for (place, encoding) in &hits {
            if allowed.iter().any(|a| place.starts_with(a)) {
                where_allowed
                    .entry(secret.name)
                    .or_insert_with(BTreeSet::new)
                    .insert(place.clone());
            } else {
                leaks.push(format!("{} ({encoding}) in {place}", secret.name));
            }
        }
    }
    leaks.sort();
    leaks.dedup();
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    eprintln!(
        "scanned {} places; found where allowed: {where_allowed:#?}",
        places.len()
    );
    // The scan looked where the secrets are: each one Kratos needs was found there (and
    // kratos.yaml is the owner's alone).
    for (name, allowed) in ALLOWED {
        if !allowed.is_empty() && !allowed.iter().all(|a| a.starts_with("hook-tool")) {
            assert!(
                where_allowed.contains_key(name),
                "{name} not found where Kratos reads it"
            );
        }
    }
    for i in 0..2 {
        let out = s.d.workloads[i]
            .pebble
            .run_in_container(&["stat", "-c", "%a", KRATOS_YAML])
            .expect("stat");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "600");
    }
}

#[test]
fn the_scan_finds_each_encoding() {
    let secret = SecretValue {
        name: "x",
        value: format!("sec{SPECIAL}ret"),
        embedded: vec![format!("user:sec{SPECIAL}ret")],
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for (text, encoding) in [
        (format!("x sec{SPECIAL}ret y"), "raw"),
        ("a=sec%40%3A%2F%3F%23%25%2B+%3D%26ret".to_string(), "raw"),
        (
            "sec%40%3a%2f%3f%23%25%2b%20%3d%26ret".to_string(),
            "URL-encoded (lower case)",
        ),
        (
            serde_json::to_string(&json!({"k": format!("sec{SPECIAL}ret")})).unwrap(),
            "raw",
        ),
        ("sec@:/?#%+ =\\u0026ret".to_string(), "JSON-escaped (Go)"),
        ("sec\\@\\:/\\?\\#\\%\\+\\ \\=\\&ret".to_string(), "raw"),
        (hex(format!("sec{SPECIAL}ret").as_bytes()), "hex"),
        (
            format!("Basic {}", b64.encode(format!("user:sec{SPECIAL}ret"))),
            "base64",
        ),
        (
            url_safe.encode(format!("xx{{\"p\":\"sec{SPECIAL}ret\"}}")),
            "base64",
        ),
    ] {
        let hits = find(&secret, &[("p".into(), text.clone())]);
        assert!(!hits.is_empty(), "{encoding}: nothing found in {text}");
    }
    assert!(find(&secret, &[("p".into(), "sec ret, user:secret".into())]).is_empty());
}
