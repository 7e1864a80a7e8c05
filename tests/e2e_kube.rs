//! End to end, the Kubernetes story: the compiled charm under the Juju emulator in its pod
//! (a network namespace) with real Pebble running the real Kratos (v1.3.1) on a real
//! PostgreSQL, and a real kube-apiserver (v1.34.4) on etcd (v3.6.5) as the cluster
//! (tests/common/kube.rs): the model's namespace, the application's StatefulSet as Juju
//! creates it, and RBAC for the trusted and untrusted service-account tokens.
//!
//! The API server listens on the host's loopback; a relay makes it reachable at the same
//! address inside the pod, and the unit gets `KUBERNETES_SERVICE_HOST`/`_PORT` and
//! `CHARM_SERVICE_ACCOUNT_DIR` (token, ca.crt, namespace) as a pod would. Nothing runs
//! the controllers: the test plays the StatefulSet controller (it writes the rollout's
//! status) and the administrator (it edits the ConfigMaps), and every step checks what
//! the charm changed on the objects in the API server and in the running Kratos.
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
use std::time::{Duration, Instant};

use common::kube::{KubeCluster, TRUSTED, UNTRUSTED};
use common::{in_netns, kratos_bin, rand_hex, tail, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops_testing::state::Relation;
use juju_rs_ops_testing::Outcomes;
use serde_json::{json, Value};

const LEADER: &str = "kratos/0";
/// The model's name, and so its namespace.
const NS: &str = "identity";
/// Where postgresql-k8s's service answers, as seen from a pod.
const DB_PORT: u16 = 5432;
const ADMIN: &str = "http://127.0.0.1:4434";
const PUBLIC: &str = "http://127.0.0.1:4433";
const LOGIN_UI: &str = "http://login-ui.test/ui";
const KRATOS_YAML: &str = "/etc/config/kratos/kratos.yaml";
const PROVIDER_ID: &str = "corp-sso";

/// The pod, the cluster, the database and the emulator, torn down in reverse order.
struct Story {
    d: Deployment,
    _relays: Vec<Relay>,
    pg: Postgres,
    kube: KubeCluster,
    /// The unit's service-account directory (its token file is rewritten in step 7).
    sa: tempfile::TempDir,
    /// Every secret value the story hands out: none may appear in any output.
    secrets: Vec<String>,
    /// Every hook's output and status seen, for the leak check.
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

    /// Panics with the failing hook's output; records every hook's output.
    fn ok(&mut self, outcomes: Outcomes) -> Outcomes {
        for d in &outcomes.0 {
            self.transcript
                .push(format!("{} {}: {}{}", d.unit, d.event, d.stdout, d.stderr));
        }
        common::ok(outcomes)
    }

    /// `update-status` on the unit: its status afterwards.
    fn hook(&mut self) -> (String, String) {
        let outcomes = self.d.emulator.update_status().expect("update-status");
        self.ok(outcomes);
        self.status()
    }

    fn status(&mut self) -> (String, String) {
        let s = self.d.status(LEADER);
        self.transcript.push(format!("{s:?}"));
        (s.status, s.message)
    }

    fn assert_active(&mut self) {
        assert_eq!(self.hook(), ("active".into(), String::new()));
    }

    /// An HTTP call from inside the pod: the status and the JSON body (or the text).
    fn http(&self, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        http(&self.netns(), method, url, body)
    }

    /// Waits until Kratos answers ready on its admin API.
    fn wait_ready(&self) {
        self.wait_for("Kratos ready", || {
            self.http("GET", &format!("{ADMIN}/admin/health/ready"), None)
                .0
                == 200
        });
    }

    /// Polls `check` for up to 90 s.
    fn wait_for(&self, what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !check() {
            assert!(
                Instant::now() < deadline,
                "{what}: not within 90 s:\n{}",
                tail(&self.d.workloads[0].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn kratos_yaml(&self) -> String {
        self.d.workloads[0].file(KRATOS_YAML).expect("kratos.yaml")
    }

    /// Plays postgresql-k8s answering the leader's request on relation `db_id`.
    fn provide_database(&mut self, db_id: u32) {
        let (password, outcomes) =
            common::provide_database(&mut self.d.emulator, &self.pg, db_id, DB_PORT);
        self.secrets.push(password);
        self.ok(outcomes);
    }

    // ----- the API server, as the administrator sees it --------------------------------

    fn get(&self, path: &str) -> (u16, Value) {
        self.kube.admin_request("GET", path, None, "")
    }

    fn stateful_set(&self) -> Value {
        let (code, body) = self.get(&format!("/apis/apps/v1/namespaces/{NS}/statefulsets/{APP}"));
        assert_eq!(code, 200, "{body}");
        body
    }

    /// The kratos container's `resources` in the StatefulSet.
    fn kratos_resources(&self) -> Value {
        let sts = self.stateful_set();
        sts["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .find(|c| c["name"] == "kratos")
            .expect("the kratos container")["resources"]
            .clone()
    }

    fn config_map(&self, name: &str) -> Option<Value> {
        let (code, body) = self.get(&format!("/api/v1/namespaces/{NS}/configmaps/{name}"));
        match code {
            200 => Some(body),
            404 => None,
            _ => panic!("GET configmap {name}: {code} {body}"),
        }
    }

    /// The administrator writes `data` into ConfigMap `name` (a merge patch: other keys
    /// stay; a null value removes one).
    fn admin_writes(&self, name: &str, data: Value) {
        let (code, body) = self.kube.admin_request(
            "PATCH",
            &format!("/api/v1/namespaces/{NS}/configmaps/{name}"),
            Some(json!({"data": data})),
            "application/merge-patch+json",
        );
        assert_eq!(code, 200, "patch configmap {name}: {body}");
    }

    /// Plays the StatefulSet controller: all pods run the current generation.
    fn roll_out(&self) {
        let generation = self.stateful_set()["metadata"]["generation"]
            .as_i64()
            .expect("generation");
        let revision = format!("{APP}-{generation}");
        self.kube.set_statefulset_status(
            NS,
            APP,
            json!({
                "observedGeneration": generation,
                "replicas": 1,
                "readyReplicas": 1,
                "updatedReplicas": 1,
                "currentRevision": revision,
                "updateRevision": revision,
            }),
        );
    }

    /// The unit waits for the rollout of the new pod spec until the controller's status
    /// says it is done; then it is active.
    fn rollout_then_active(&mut self) {
        let (status, message) = self.hook();
        assert_eq!(status, "waiting", "{message}");
        assert!(message.contains("roll out"), "{message}");
        self.roll_out();
        self.assert_active();
    }
}

/// An HTTP call from inside network namespace `netns`: the status and the JSON body (or
/// the text as a string).
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
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    })
}

/// A schema whose `email` trait is the password identifier, as Kratos expects.
fn schema(title: &str) -> Value {
    json!({
        "$id": format!("https://example.com/{}.json", title.to_lowercase()),
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": title,
        "type": "object",
        "properties": {
            "traits": {
                "type": "object",
                "properties": {
                    "email": {
                        "type": "string",
                        "format": "email",
                        "title": "E-mail",
                        "ory.sh/kratos": {
                            "credentials": {"password": {"identifier": true}},
                        },
                    },
                },
                "required": ["email"],
                "additionalProperties": false,
            },
        },
    })
}

/// The `oidc` nodes of a new login flow: the API flow's, or the browser flow's (as JSON)
/// when the API flow offers none.
fn oidc_providers_offered(s: &Story) -> Vec<String> {
    let offered = |flow: &Value| -> Vec<String> {
        flow["ui"]["nodes"]
            .as_array()
            .map(|nodes| {
                nodes
                    .iter()
                    .filter(|n| n["group"] == "oidc")
                    .filter_map(|n| n["attributes"]["value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (code, flow) = s.http("GET", &format!("{PUBLIC}/self-service/login/api"), None);
    assert_eq!(code, 200, "{flow}");
    let providers = offered(&flow);
    if !providers.is_empty() {
        return providers;
    }
    let (code, flow) = s.http("GET", &format!("{PUBLIC}/self-service/login/browser"), None);
    assert_eq!(code, 200, "{flow}");
    offered(&flow)
}

#[test]
fn the_charm_in_a_real_kubernetes_api_server() {
    let started = Instant::now();
    let kratos = kratos_bin();
    let kratos_dir = kratos.parent().expect("bin dir").to_path_buf();

    // 1. The model's namespace and the application's StatefulSet as Juju creates them,
    // `juju trust kratos --scope=cluster`; the unit's pod gets the trusted token.
    let kube = KubeCluster::start();
    kube.create_namespace(NS);
    let created = kube.create_statefulset(NS, APP);
    let sts_uid = created["metadata"]["uid"]
        .as_str()
        .expect("uid")
        .to_string();
    kube.grant_trusted(NS);
    let sa = kube.service_account_dir(TRUSTED, NS);
    let (api_host, api_port) = kube.api_server_host_port();

    let pg = Postgres::start();
    let workload = Workload::start(&kratos_dir, &[("SQA_OPT_OUT", "true")]);
    let netns = workload.pebble.netns().expect("netns").to_string();
    let relays = vec![
        Relay::start(&netns, DB_PORT, SocketAddr::from(([127, 0, 0, 1], pg.port))),
        Relay::start(
            &netns,
            api_port,
            SocketAddr::from(([127, 0, 0, 1], api_port)),
        ),
    ];
    let mut d = Deployment::with_workloads(vec![workload]);
    d.emulator
        .update_state(|st| st.model_name = NS.to_string())
        .expect("model name");
    d.emulator
        .set_unit_env(
            LEADER,
            "CHARM_SERVICE_ACCOUNT_DIR",
            &sa.path().display().to_string(),
        )
        .set_unit_env(LEADER, "KUBERNETES_SERVICE_HOST", &api_host)
        .set_unit_env(LEADER, "KUBERNETES_SERVICE_PORT", &api_port.to_string());
    let secrets = vec![
        kube.token(TRUSTED).to_string(),
        kube.token(UNTRUSTED).to_string(),
        kube.token(common::kube::ADMIN).to_string(),
    ];
    let mut s = Story {
        d,
        _relays: relays,
        pg,
        kube,
        sa,
        secrets,
        transcript: Vec::new(),
    };

    // juju deploy kratos: the leader creates both ConfigMaps, empty, labelled, owned by
    // the StatefulSet; and applies the fixed requests to the kratos container.
    let outcomes = s.d.emulator.deploy(1).expect("deploy");
    s.ok(outcomes);
    for name in ["identity-schemas", "oidc-providers"] {
        let cm = s
            .config_map(name)
            .unwrap_or_else(|| panic!("the leader created no ConfigMap {name}"));
        let labels = &cm["metadata"]["labels"];
        assert_eq!(labels["juju-app-name"], APP, "{cm}");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "juju", "{cm}");
        assert_eq!(
            cm["metadata"]["ownerReferences"],
            json!([{
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "name": APP,
                "uid": sts_uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }]),
            "{cm}"
        );
        assert!(
            cm["data"].as_object().is_none_or(serde_json::Map::is_empty),
            "{cm}"
        );
    }
    let resources = s.kratos_resources();
    assert_eq!(
        resources["requests"],
        json!({"cpu": "100m", "memory": "200Mi"})
    );
    assert!(
        resources["limits"]
            .as_object()
            .is_none_or(serde_json::Map::is_empty),
        "{resources}"
    );
    let sts = s.stateful_set();
    let managers: Vec<(&str, &str)> = sts["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap_or_default(),
                m["operation"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("ResourcePatcher", "Apply")),
        "{managers:?}"
    );

    // The login UI and postgresql-k8s: Kratos runs; the unit waits for the rollout of
    // the new pod spec until the controller reports it done.
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
    let (_, outcomes) = s.d.emulator.add_relation(ui).expect("integrate login UI");
    s.ok(outcomes);
    let db = Relation::new(0, "pg-database", "postgresql_client", "postgresql-k8s")
        .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new());
    let (db_id, outcomes) = s.d.emulator.add_relation(db).expect("integrate database");
    s.ok(outcomes);
    s.provide_database(db_id);
    s.wait_ready();
    s.rollout_then_active();
    eprintln!("1. deployed, active: {:?}", started.elapsed());

    // 2. juju config kratos cpu=500m memory=1Gi: the limits the library computes (`0.5`,
    // `1073741824`), as the API server stores them; an unchanged config writes nothing.
    let before = s.stateful_set()["metadata"]["generation"].clone();
    let outcomes =
        s.d.emulator
            .set_config([("cpu", "500m"), ("memory", "1Gi")])
            .expect("config");
    s.ok(outcomes);
    let resources = s.kratos_resources();
    assert_eq!(
        resources,
        json!({
            // Canonical forms: `0.5` becomes `500m`; the bytes stay decimal.
            "limits": {"cpu": "500m", "memory": "1073741824"},
            "requests": {"cpu": "100m", "memory": "200Mi"},
        })
    );
    assert_ne!(s.stateful_set()["metadata"]["generation"], before);
    s.rollout_then_active();
    let version = s.stateful_set()["metadata"]["resourceVersion"].clone();
    s.assert_active();
    let outcomes =
        s.d.emulator
            .set_config([("cpu", "500m"), ("memory", "1Gi")])
            .expect("config");
    s.ok(outcomes);
    assert_eq!(s.status(), ("active".into(), String::new()));
    assert_eq!(
        s.stateful_set()["metadata"]["resourceVersion"],
        version,
        "an unchanged config must not write the StatefulSet"
    );
    eprintln!("2. limits: {:?}", started.elapsed());

    // 3. Identity schemas from the ConfigMap: the administrator adds `staff` as the
    // default; after a hook Kratos serves it and validates identities against it.
    s.admin_writes(
        "identity-schemas",
        json!({
            "default.schema": "staff",
            "staff": schema("Staff").to_string(),
        }),
    );
    s.assert_active();
    assert!(
        s.kratos_yaml().contains("default_schema_id: staff"),
        "{}",
        s.kratos_yaml()
    );
    s.wait_for("Kratos serves the staff schema", || {
        let (code, body) = s.http("GET", &format!("{PUBLIC}/schemas/staff"), None);
        code == 200 && body["title"] == "Staff"
    });
    s.wait_ready();
    let (code, bob) = s.http(
        "POST",
        &format!("{ADMIN}/admin/identities"),
        Some(json!({"traits": {"email": "bob@example.com"}})),
    );
    assert_eq!(code, 201, "{bob}");
    assert_eq!(bob["schema_id"], "staff", "the default schema: {bob}");
    let (code, refused) = s.http(
        "POST",
        &format!("{ADMIN}/admin/identities"),
        Some(json!({"schema_id": "staff", "traits": {"name": "no e-mail"}})),
    );
    assert_eq!(code, 400, "the staff schema validates: {refused}");

    // The charm's identity_schemas take precedence over the ConfigMap's ...
    let outcomes =
        s.d.emulator
            .set_config([
                (
                    "identity_schemas",
                    json!({"contractor": schema("Contractor")}).to_string(),
                ),
                ("default_identity_schema_id", "contractor".to_string()),
            ])
            .expect("config");
    s.ok(outcomes);
    s.assert_active();
    assert!(s.kratos_yaml().contains("default_schema_id: contractor"));
    s.wait_for("Kratos serves the contractor schema only", || {
        s.http("GET", &format!("{PUBLIC}/schemas/contractor"), None)
            .0
            == 200
            && s.http("GET", &format!("{PUBLIC}/schemas/staff"), None).0 == 404
    });
    // ... and unset, the ConfigMap's are back.
    let outcomes =
        s.d.emulator
            .set_config([
                ("identity_schemas", Value::Null),
                ("default_identity_schema_id", Value::Null),
            ])
            .expect("config");
    s.ok(outcomes);
    s.assert_active();
    assert!(s.kratos_yaml().contains("default_schema_id: staff"));
    s.wait_for("Kratos serves the staff schema again", || {
        s.http("GET", &format!("{PUBLIC}/schemas/staff"), None).0 == 200
    });
    s.wait_ready();
    eprintln!("3. identity schemas: {:?}", started.elapsed());

    // 4. OIDC providers from the ConfigMap. Without a public URL they are held back
    // (blocked, saying why) and Kratos keeps running without them.
    let client_secret = format!("sso-secret-{}", rand_hex());
    s.secrets.push(client_secret.clone());
    let idps = json!([{
        "provider": "generic",
        "client_id": "kratos-at-corp",
        "client_secret": client_secret,
        "issuer_url": "https://idp.example.com",
        "scope": "openid email",
        "id": PROVIDER_ID,
        "label": "Corporate SSO",
    }])
    .to_string();
    s.admin_writes("oidc-providers", json!({"idps.json": idps}));
    let (status, message) = s.hook();
    assert_eq!(status, "blocked", "{message}");
    assert!(message.contains("public-route"), "{message}");
    assert!(!s.kratos_yaml().contains(PROVIDER_ID));
    s.wait_ready();
    // juju integrate kratos:public-route traefik: the provider is rendered and offered.
    let route = Relation::new(0, "public-route", "traefik_route", "traefik-public")
        .with_remote_unit("traefik-public/0", Vec::<(String, String)>::new());
    let (route_id, outcomes) = s.d.emulator.add_relation(route).expect("integrate route");
    s.ok(outcomes);
    let outcomes =
        s.d.emulator
            .set_remote_app_data(
                route_id,
                [("external_host", "127.0.0.1"), ("scheme", "http")],
            )
            .expect("traefik answers");
    s.ok(outcomes);
    s.assert_active();
    let rendered = s.kratos_yaml();
    assert!(
        rendered.contains(PROVIDER_ID) && rendered.contains("https://idp.example.com"),
        "{rendered}"
    );
    s.wait_ready();
    s.wait_for("the login flow offers the provider", || {
        oidc_providers_offered(&s).contains(&PROVIDER_ID.to_string())
    });
    eprintln!("4. OIDC providers: {:?}", started.elapsed());

    // 5. Bad content blocks naming the ConfigMap and key; the last good configuration
    // keeps running; fixed, active again.
    let good_yaml = s.kratos_yaml();
    s.admin_writes(
        "oidc-providers",
        json!({"idps.json": r#"[{"provider":"generic"}]"#}),
    );
    let (status, message) = s.hook();
    assert_eq!(status, "blocked", "{message}");
    for part in ["oidc-providers", "idps.json", "client_id"] {
        assert!(message.contains(part), "{part} in {message}");
    }
    assert_eq!(s.kratos_yaml(), good_yaml);
    s.wait_ready();
    s.admin_writes("oidc-providers", json!({"idps.json": idps}));
    s.assert_active();
    assert_eq!(s.kratos_yaml(), good_yaml);

    s.admin_writes("identity-schemas", json!({"staff": "{not JSON"}));
    let (status, message) = s.hook();
    assert_eq!(status, "blocked", "{message}");
    for part in ["identity-schemas", "staff"] {
        assert!(message.contains(part), "{part} in {message}");
    }
    assert_eq!(s.kratos_yaml(), good_yaml);
    s.wait_ready();
    s.admin_writes(
        "identity-schemas",
        json!({"staff": schema("Staff").to_string()}),
    );
    s.assert_active();
    assert_eq!(s.kratos_yaml(), good_yaml);
    eprintln!("5. bad ConfigMaps: {:?}", started.elapsed());

    // 6. The charm never overwrites what the administrator wrote; a deleted ConfigMap is
    // recreated, empty, by the leader.
    let written: Vec<Value> = ["identity-schemas", "oidc-providers"]
        .iter()
        .map(|name| s.config_map(name).expect("configmap"))
        .collect();
    s.assert_active();
    let outcomes =
        s.d.emulator
            .on_every_unit("upgrade-charm")
            .expect("upgrade");
    s.ok(outcomes);
    assert_eq!(s.status(), ("active".into(), String::new()));
    for (name, before) in ["identity-schemas", "oidc-providers"].iter().zip(&written) {
        let now = s.config_map(name).expect("configmap");
        assert_eq!(now["data"], before["data"], "{name}");
        assert_eq!(
            now["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"],
            "{name} was written"
        );
    }
    let (code, body) = s.kube.admin_request(
        "DELETE",
        &format!("/api/v1/namespaces/{NS}/configmaps/identity-schemas"),
        None,
        "",
    );
    assert_eq!(code, 200, "{body}");
    assert!(s.config_map("identity-schemas").is_none());
    s.assert_active();
    let recreated = s
        .config_map("identity-schemas")
        .expect("the leader recreates the ConfigMap");
    assert!(
        recreated["data"]
            .as_object()
            .is_none_or(serde_json::Map::is_empty),
        "{recreated}"
    );
    assert_eq!(
        recreated["metadata"]["ownerReferences"][0]["uid"], sts_uid,
        "{recreated}"
    );
    // Without the ConfigMap's schemas, the shipped ones.
    assert!(!s.kratos_yaml().contains("default_schema_id: staff"));
    s.wait_ready();
    eprintln!("6. never overwritten: {:?}", started.elapsed());

    // 7. Trust removed: the service account's token is the untrusted one. The unit says
    // how to grant it; Kratos keeps serving.
    let token_file = s.sa.path().join("token");
    std::fs::write(&token_file, s.kube.token(UNTRUSTED)).expect("token");
    let running_yaml = s.kratos_yaml();
    let (status, message) = s.hook();
    assert_eq!(status, "blocked", "{message}");
    assert!(
        message.contains("juju trust kratos --scope=cluster"),
        "{message}"
    );
    s.wait_ready();
    assert_eq!(
        s.kratos_yaml(),
        running_yaml,
        "Kratos keeps its last configuration"
    );
    std::fs::write(&token_file, s.kube.token(TRUSTED)).expect("token");
    s.assert_active();
    s.wait_ready();
    eprintln!("7. trust: {:?}", started.elapsed());

    // 8. A quantity Kubernetes refuses: none that the charm's validation lets through.
    // The API server takes any non-negative decimal, however large (`1e30`, `1e300`, a
    // 300-digit integer: checked against this kube-apiserver), the charm raises each
    // limit to its request and rounds to millicores or bytes, and a value too large to
    // compute with (`1e400`) is refused by the config's validation, naming the option,
    // before anything reaches the API.
    let version = s.stateful_set()["metadata"]["resourceVersion"].clone();
    let outcomes = s.d.emulator.set_config([("cpu", "1e400")]).expect("config");
    s.ok(outcomes);
    let (status, message) = s.status();
    assert_eq!(status, "blocked", "{message}");
    assert!(
        message.contains("cpu") && message.contains("1e400"),
        "{message}"
    );
    assert_eq!(s.stateful_set()["metadata"]["resourceVersion"], version);
    s.wait_ready();
    // A huge but finite limit is what the API server stores.
    let outcomes = s.d.emulator.set_config([("cpu", "1e30")]).expect("config");
    s.ok(outcomes);
    // The whole cores of the f64 nearest 1e30, as the charm sends them.
    assert_eq!(
        s.kratos_resources()["limits"]["cpu"],
        "1000000000000000019884624838656"
    );
    s.rollout_then_active();
    let outcomes = s.d.emulator.set_config([("cpu", "500m")]).expect("config");
    s.ok(outcomes);
    assert_eq!(s.kratos_resources()["limits"]["cpu"], "500m");
    s.rollout_then_active();
    eprintln!("8. quantities: {:?}", started.elapsed());

    // 9. The application's last unit goes (remove-unit; goal-state says it is dying):
    // its `remove` hook deletes both ConfigMaps.
    // (The unit's logs leave the model with it: kept for the leak check.)
    let before_removal = s.d.emulator.state().expect("state");
    let outcomes = s.d.emulator.remove_unit(LEADER).expect("remove");
    let events = outcomes.events();
    s.ok(outcomes);
    assert!(events.iter().any(|e| e.contains("remove")), "{events:?}");
    for name in ["identity-schemas", "oidc-providers"] {
        assert!(s.config_map(name).is_none(), "{name} is left");
    }
    eprintln!("9. removed: {:?}", started.elapsed());

    // 10. No token, password or client secret in any status, hook output or log.
    let mut seen = s.transcript.join("\n");
    for unit in before_removal.units.values() {
        for log in &unit.logs {
            seen.push_str(&log.message);
        }
        seen.push_str(&unit.status.message);
    }
    for secret in &s.secrets {
        assert!(!seen.contains(secret.as_str()), "a secret leaked");
    }
    eprintln!("e2e_kube: {:?}", started.elapsed());
}
