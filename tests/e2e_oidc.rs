//! End to end, the external identity provider story: the compiled charm under the Juju
//! emulator in its pod with real Pebble running the real Kratos (v1.3.1) on a real
//! PostgreSQL, a real Ory Hydra (v2.3.0, scripts/install-hydra.sh) as the OpenID Connect
//! provider, and a stand-in for Traefik (tests/common/traefik.rs) that routes the pod's
//! port 80 exactly by the configuration the charm publishes on `public-route`.
//!
//! The test plays traefik-k8s (it answers `external_host`/`scheme` once the charm wrote
//! its routes), kratos-external-idp-integrator (it offers Hydra as a generic provider and
//! registers the redirect URI the charm answers with as the OAuth2 client's), Hydra's
//! login and consent app (it accepts the challenges through Hydra's admin API), the login
//! UI (it submits the flow to Kratos's public API) and the browser (a cookie jar, no
//! automatic redirects), inside the pod's network namespace: 127.0.0.1:80 is the Traefik
//! stand-in, 127.0.0.1:4433 Kratos, and Hydra's ports relay to the host.
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
use std::time::{Duration, Instant};

use common::hydra::Hydra;
use common::traefik::TraefikStandIn;
use common::{in_netns, kratos_bin, rand_hex, tail, Deployment, Postgres, Relay, Workload, APP};
use juju_rs_ops_testing::state::Relation;
use juju_rs_ops_testing::{ActionOutcome, ActionStatus, Outcomes};
use serde_json::{json, Map, Value};
use url::Url;

const LEADER: &str = "kratos/0";
/// Where postgresql-k8s's service answers, as seen from a pod.
const DB_PORT: u16 = 5432;
const ADMIN: &str = "http://127.0.0.1:4434";
const PUBLIC: &str = "http://127.0.0.1:4433";
/// Kratos's public URL: Traefik's `web` entrypoint in the pod.
const INGRESS: &str = "http://127.0.0.1";
const LOGIN_UI: &str = "http://login-ui.test/ui";
const PROVIDER_ID: &str = "hydra";

/// The pod, the database and the emulator, torn down in reverse order on drop.
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

    fn status(&mut self) -> (String, String) {
        let s = self.d.status(LEADER);
        self.transcript.push(format!("{s:?}"));
        (s.status, s.message)
    }

    fn assert_active(&mut self) {
        let outcomes = self.d.emulator.update_status().expect("update-status");
        self.ok(outcomes);
        assert_eq!(self.status(), ("active".into(), String::new()));
    }

    fn action(&mut self, name: &str, params: Value) -> ActionOutcome {
        let Value::Object(params) = params else {
            panic!("params must be an object")
        };
        let outcome = self
            .d
            .emulator
            .run_action(LEADER, name, params)
            .expect("run action");
        let stderr = outcome.dispatch.as_ref().map_or("", |d| d.stderr.as_str());
        assert!(
            outcome.dispatch.as_ref().is_none_or(|d| d.succeeded()),
            "{name} crashed the hook: {stderr}"
        );
        self.transcript.push(format!(
            "{:?} {:?} {:?} {:?} {stderr}",
            outcome.status, outcome.results, outcome.message, outcome.logs
        ));
        outcome
    }

    fn completed(&mut self, name: &str, params: Value) -> Map<String, Value> {
        let outcome = self.action(name, params);
        assert_eq!(
            outcome.status,
            ActionStatus::Completed,
            "{name} failed: {:?}",
            outcome.message
        );
        outcome.results
    }

    /// An HTTP call from inside the pod: the status and the JSON body (or the text).
    fn http(&self, method: &str, url: &str) -> (u16, Value) {
        let mut browser = Browser::new(&self.netns());
        let page = browser.request(method, url, None, "application/json");
        let body = serde_json::from_str(&page.body).unwrap_or(Value::String(page.body));
        (page.status, body)
    }

    /// Waits until Kratos answers ready on its admin API.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            // A refused connection (Kratos restarting) is "not ready yet", not a failure.
            let probe = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.http("GET", &format!("{ADMIN}/admin/health/ready"))
            }));
            let (status, body) = probe.unwrap_or_else(|_| (0, Value::String("no answer".into())));
            if status == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Kratos not ready ({status} {body}):\n{}",
                tail(&self.d.workloads[0].pebble.log())
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Plays postgresql-k8s answering the leader's request on relation `db_id` (as
    /// tests/e2e.rs does): a superuser role and the database, the credentials in a secret.
    fn provide_database(&mut self, db_id: u32) {
        let (password, outcomes) =
            common::provide_database(&mut self.d.emulator, &self.pg, db_id, DB_PORT);
        self.secrets.push(password);
        self.ok(outcomes);
    }

    /// What the leader wrote in its application databag on relation `id`.
    fn published(&self, id: u32, key: &str) -> String {
        self.d
            .emulator
            .state()
            .expect("state")
            .relation(id)
            .expect("relation")
            .app_bag(APP)
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("the leader published no {key} on relation {id}"))
    }
}

/// One response as the browser sees it.
struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

/// A browser: a cookie jar and no automatic redirects, in the pod's network namespace.
/// Every URL it visits is on 127.0.0.1, and cookies are not port-scoped, so the jar is
/// one map of names to values (all of Kratos's and Hydra's cookies have path `/`); the
/// Secure attribute (Kratos outside dev mode) is not enforced, as browsers treat
/// 127.0.0.1 as a secure context.
struct Browser {
    netns: String,
    jar: BTreeMap<String, String>,
}

impl Browser {
    fn new(netns: &str) -> Browser {
        Browser {
            netns: netns.to_string(),
            jar: BTreeMap::new(),
        }
    }

    /// Follows nothing: the response, with any cookies it sets stored.
    fn request(&mut self, method: &str, url: &str, form: Option<String>, accept: &str) -> Page {
        let parsed = Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(
            parsed.host_str(),
            Some("127.0.0.1"),
            "the browser only visits 127.0.0.1: {url}"
        );
        let cookies = self
            .jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let (method, url_s, accept) = (method.to_string(), url.to_string(), accept.to_string());
        let (status, location, set_cookies, body) = in_netns(&self.netns, move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .proxy(None)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into();
            let mut request = ureq::http::Request::builder()
                .method(method.as_str())
                .uri(url_s.as_str())
                .header("Accept", accept.as_str());
            if !cookies.is_empty() {
                request = request.header("Cookie", cookies);
            }
            let result = match form {
                Some(form) => agent.run(
                    request
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .body(form)
                        .expect("request"),
                ),
                None => agent.run(request.body(()).expect("request")),
            };
            let mut response = result.unwrap_or_else(|e| panic!("{method} {url_s}: {e}"));
            let headers = response.headers();
            let location = headers
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let set_cookies: Vec<String> = headers
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_string))
                .collect();
            let status = response.status().as_u16();
            let body = response.body_mut().read_to_string().unwrap_or_default();
            (status, location, set_cookies, body)
        });
        for cookie in set_cookies {
            self.store(&cookie);
        }
        Page {
            status,
            location: location.map(|l| parsed.join(&l).expect("a location").to_string()),
            body,
        }
    }

    fn get(&mut self, url: &str) -> Page {
        self.request("GET", url, None, "text/html")
    }

    fn store(&mut self, set_cookie: &str) {
        let mut attributes = set_cookie.split(';');
        let pair = attributes.next().unwrap_or_default();
        let Some((name, value)) = pair.split_once('=') else {
            return;
        };
        let expired = attributes.any(|a| {
            let a = a.trim().to_ascii_lowercase();
            a.strip_prefix("max-age=")
                .is_some_and(|age| age.parse::<i64>().is_ok_and(|age| age <= 0))
        });
        let (name, value) = (name.trim().to_string(), value.trim().to_string());
        if expired || value.is_empty() {
            self.jar.remove(&name);
        } else {
            self.jar.insert(name, value);
        }
    }
}

/// The redirect of a 3xx page.
fn redirect(page: &Page, what: &str) -> String {
    assert!(
        (300..400).contains(&page.status),
        "{what}: expected a redirect, got {} {}",
        page.status,
        page.body
    );
    page.location.clone().expect("a Location")
}

fn query(url: &str, key: &str) -> String {
    Url::parse(url)
        .expect("URL")
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {key} in {url}"))
}

fn form(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

fn text(results: &Map<String, Value>, key: &str) -> String {
    results
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {key} in {results:?}"))
        .to_string()
}

/// A complete login brokered by Hydra, as the browser, the login UI and Hydra's login and
/// consent app play it: alice ends up with a Kratos session, which is returned (whoami).
fn brokered_login(
    s: &Story,
    hydra: &Hydra,
    browser: &mut Browser,
    client_id: &str,
    redirect_uri: &str,
) -> Value {
    let issuer = hydra.issuer();
    let page = browser.get(&format!("{INGRESS}/self-service/login/browser"));
    let to_ui = redirect(&page, "login/browser");
    assert!(
        to_ui.starts_with(&format!("{LOGIN_UI}/login?flow=")),
        "{to_ui}"
    );
    let flow_id = query(&to_ui, "flow");
    let page = browser.request(
        "GET",
        &format!("{PUBLIC}/self-service/login/flows?id={flow_id}"),
        None,
        "application/json",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let flow: Value = serde_json::from_str(&page.body).expect("flow JSON");
    let nodes = flow["ui"]["nodes"].as_array().expect("nodes");
    let csrf = nodes
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .and_then(|n| n["attributes"]["value"].as_str())
        .expect("csrf_token")
        .to_string();
    assert!(
        nodes
            .iter()
            .any(|n| n["group"] == "oidc" && n["attributes"]["value"] == PROVIDER_ID),
        "the flow offers the provider: {}",
        flow["ui"]
    );
    let action = flow["ui"]["action"].as_str().expect("action").to_string();
    assert_eq!(
        action,
        format!("{INGRESS}/self-service/login?flow={flow_id}")
    );
    let submit = action.replacen(INGRESS, PUBLIC, 1);
    let page = browser.request(
        "POST",
        &submit,
        Some(form(&[
            ("csrf_token", &csrf),
            ("method", "oidc"),
            ("provider", PROVIDER_ID),
        ])),
        "text/html",
    );
    let authorize = redirect(&page, "submit the OIDC method");
    assert!(
        authorize.starts_with(&format!("{issuer}oauth2/auth?")),
        "{authorize}"
    );
    assert_eq!(query(&authorize, "client_id"), client_id);
    assert_eq!(query(&authorize, "redirect_uri"), redirect_uri);

    // Hydra asks its login app, which signs alice in...
    let page = browser.get(&authorize);
    let login = redirect(&page, "Hydra's authorize");
    let challenge = query(&login, "login_challenge");
    let (status, accepted) = hydra
        .admin(
            "PUT",
            &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
            Some(json!({"subject": "alice"})),
        )
        .expect("accept login");
    assert_eq!(status, 200, "{accepted}");
    let page = browser.get(accepted["redirect_to"].as_str().expect("redirect_to"));
    // ...and its consent app, which grants the scopes with alice's verified address.
    let consent = redirect(&page, "Hydra after login");
    let challenge = query(&consent, "consent_challenge");
    let (status, accepted) = hydra
        .admin(
            "PUT",
            &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={challenge}"),
            Some(json!({
                "grant_scope": ["openid", "email"],
                "session": {"id_token": {"email": "alice@example.com", "email_verified": true}},
            })),
        )
        .expect("accept consent");
    assert_eq!(status, 200, "{accepted}");
    let page = browser.get(accepted["redirect_to"].as_str().expect("redirect_to"));
    let callback = redirect(&page, "Hydra after consent");
    assert!(
        callback.starts_with(&format!("{redirect_uri}?code=")),
        "{callback}"
    );

    // The callback goes through the ingress to Kratos, which redeems the code at Hydra
    // and signs alice in.
    let page = browser.get(&callback);
    let landed = redirect(&page, "Kratos's callback");
    // Signed in (a first login on an unknown subject registers, with the `session` hook),
    // the browser goes to the default return URL: the login UI's settings page.
    assert_eq!(
        landed,
        format!("{LOGIN_UI}/settings"),
        "Kratos did not sign alice in:\n{}\n{}",
        tail(&s.d.workloads[0].pebble.log()),
        tail(&hydra.log())
    );
    assert!(
        browser.jar.contains_key("ory_kratos_session"),
        "no session cookie: {:?}",
        browser.jar.keys()
    );
    let page = browser.request(
        "GET",
        &format!("{PUBLIC}/sessions/whoami"),
        None,
        "application/json",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let session: Value = serde_json::from_str(&page.body).expect("session JSON");
    assert_eq!(session["active"], json!(true));
    let identity = &session["identity"];
    assert_eq!(identity["schema_id"], "social_user_v0");
    assert_eq!(identity["traits"]["email"], "alice@example.com");
    assert_eq!(
        session["authentication_methods"][0]["method"], "oidc",
        "{session}"
    );
    assert_eq!(
        session["authentication_methods"][0]["provider"],
        PROVIDER_ID
    );
    session
}

#[test]
fn a_login_brokered_by_real_hydra_through_the_published_routes_then_unlinked() {
    let started = Instant::now();
    let kratos = kratos_bin();
    let kratos_dir = kratos.parent().expect("bin dir").to_path_buf();
    let pg = Postgres::start();
    let workload = Workload::start(&kratos_dir, &[("SQA_OPT_OUT", "true")]);
    let netns = workload.pebble.netns().expect("netns").to_string();
    let mut relays = vec![Relay::start(
        &netns,
        DB_PORT,
        SocketAddr::from(([127, 0, 0, 1], pg.port)),
    )];
    let mut s = Story {
        d: Deployment::with_workloads(vec![workload]),
        _relays: Vec::new(),
        pg,
        secrets: Vec::new(),
        transcript: Vec::new(),
    };

    // 1. juju deploy kratos; integrate the login UI and postgresql-k8s: active.
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
    s.assert_active();

    // 2. Hydra on the same PostgreSQL (its own database), its ports relayed into the pod.
    let hydra = Hydra::start(
        &s.pg,
        "http://login-ui.test/hydra/login",
        "http://login-ui.test/hydra/consent",
    );
    for port in [hydra.public_port, hydra.admin_port] {
        relays.push(Relay::start(
            &netns,
            port,
            SocketAddr::from(([127, 0, 0, 1], port)),
        ));
    }
    s._relays = relays;
    let issuer = hydra.issuer();
    let (status, discovery) = s.http("GET", &format!("{issuer}.well-known/openid-configuration"));
    assert_eq!(status, 200, "{discovery}");
    assert_eq!(discovery["issuer"], json!(issuer));

    // 3. juju integrate kratos:public-route traefik: the leader publishes its routes at
    // once; traefik answers with its host, and Kratos gets its public URL.
    let route = Relation::new(0, "public-route", "traefik_route", "traefik-public")
        .with_remote_unit("traefik-public/0", Vec::<(String, String)>::new());
    let (route_id, outcomes) = s.d.emulator.add_relation(route).expect("integrate route");
    s.ok(outcomes);
    assert_eq!(s.published(route_id, "raw"), "True");
    let first_config = s.published(route_id, "config");
    let outcomes =
        s.d.emulator
            .set_remote_app_data(
                route_id,
                [("external_host", "127.0.0.1"), ("scheme", "http")],
            )
            .expect("traefik answers");
    s.ok(outcomes);
    s.wait_ready();
    s.assert_active();
    let config = s.published(route_id, "config");
    assert_eq!(config, first_config, "an IP host adds no TLS domain");
    let kratos_yaml = s.d.workloads[0]
        .file("/etc/config/kratos/kratos.yaml")
        .expect("kratos.yaml");
    assert!(
        kratos_yaml.contains(&format!("base_url: {INGRESS}/")),
        "{kratos_yaml}"
    );
    let traefik = TraefikStandIn::start(Some(&netns), &config);
    let routed: Vec<(&str, &str)> = traefik
        .routes
        .0
        .iter()
        .map(|r| (r.rule.as_str(), r.service_url.as_str()))
        .collect();
    assert_eq!(
        routed.len(),
        4,
        "the four public routers on the web entrypoint: {routed:?}"
    );
    assert!(routed
        .iter()
        .all(|(_, url)| *url == "http://kratos.test-model.svc.cluster.local:4433"));
    let mut browser = Browser::new(&netns);
    // Each router reaches Kratos's public API; nothing else is exposed.
    let schemas = browser.request("GET", &format!("{INGRESS}/schemas"), None, "*/*");
    assert_eq!(schemas.status, 200, "{}", schemas.body);
    assert!(schemas.body.contains("social_user_v0"), "{}", schemas.body);
    let script = browser.get(&format!("{INGRESS}/.well-known/webauthn.js"));
    assert_eq!(script.status, 200, "{}", script.body);
    assert!(script.body.contains("function"), "{}", script.body);
    for path in [
        "/admin/identities",
        "/sessions/whoami",
        "/self-service/login/api",
        "/health/ready",
        "/",
    ] {
        let page = browser.get(&format!("{INGRESS}{path}"));
        assert_eq!(
            (page.status, page.body.as_str()),
            (404, "404 page not found\n"),
            "{path} is not routed"
        );
    }

    // 4. juju integrate kratos kratos-external-idp-integrator (offering Hydra): the leader
    // answers with the redirect URI, which becomes the OAuth2 client's in Hydra.
    let client_id = format!("kratos-e2e-{}", rand_hex());
    let client_secret = format!("hydra-secret-{}", rand_hex());
    s.secrets.push(client_secret.clone());
    let providers = json!([{
        "provider": "generic",
        "client_id": client_id,
        "client_secret": client_secret,
        "issuer_url": issuer,
        "scope": "openid email",
        "id": PROVIDER_ID,
        "label": "Hydra",
        "jsonnet_mapper": null,
        "mapper_url": null,
    }]);
    let idp = Relation::new(0, "kratos-external-idp", "external_provider", "hydra-idp")
        .with_remote_unit("hydra-idp/0", Vec::<(String, String)>::new())
        .with_remote_app_data([("providers", providers.to_string())]);
    let (idp_id, outcomes) = s.d.emulator.add_relation(idp).expect("integrate the IdP");
    s.ok(outcomes);
    s.wait_ready();
    s.assert_active();
    let answer: Value =
        serde_json::from_str(&s.published(idp_id, "providers")).expect("providers is JSON");
    let redirect_uri = format!("{INGRESS}/self-service/methods/oidc/callback/{PROVIDER_ID}");
    assert_eq!(
        answer,
        json!([{"provider_id": PROVIDER_ID, "redirect_uri": redirect_uri}])
    );
    let callback_path = Url::parse(&redirect_uri).unwrap().path().to_string();
    let callback_router = traefik
        .routes
        .route(&callback_path)
        .expect("a router for the redirect URI");
    assert_eq!(callback_router.upstream.port(), 4433);
    assert!(traefik
        .routes
        .route("/self-service/login/browser")
        .is_some());
    let (status, client) = hydra
        .admin(
            "POST",
            "/admin/clients",
            Some(json!({
                "client_id": client_id,
                "client_secret": client_secret,
                "client_name": "kratos",
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "scope": "openid email offline_access",
                "token_endpoint_auth_method": "client_secret_basic",
            })),
        )
        .expect("create the client");
    assert_eq!(status, 201, "{client}");
    assert_eq!(client["client_id"], json!(client_id));

    // 5. A brokered login. The browser opens the login through the ingress; the login UI
    // reads the flow and submits the OIDC choice to Kratos's public API.
    let session = brokered_login(&s, &hydra, &mut browser, &client_id, &redirect_uri);
    let alice = session["identity"]["id"]
        .as_str()
        .expect("identity id")
        .to_string();
    // Alice signs in again (a new browser): Hydra's subject logs her into the same
    // identity, with no second registration.
    let again = brokered_login(
        &s,
        &hydra,
        &mut Browser::new(&netns),
        &client_id,
        &redirect_uri,
    );
    assert_eq!(again["identity"]["id"], json!(alice));
    let (status, identities) = s.http("GET", &format!("{ADMIN}/admin/identities"));
    assert_eq!(status, 200);
    assert_eq!(identities.as_array().map(Vec::len), Some(1), "{identities}");

    // 6. The operator's actions on the linked account.
    let listed = s.completed("list-oidc-accounts", json!({"identity-id": alice}));
    assert_eq!(text(&listed, "identity-id"), alice);
    assert_eq!(text(&listed, "identifiers"), format!("{PROVIDER_ID}:alice"));
    // The address the provider vouched for finds her too.
    let by_email = s.completed("list-oidc-accounts", json!({"email": "alice@example.com"}));
    assert_eq!(by_email, listed);
    let unlinked = s.completed(
        "unlink-oidc-account",
        json!({"identity-id": alice, "credential-id": format!("{PROVIDER_ID}:alice")}),
    );
    assert_eq!(text(&unlinked, "credential-id"), "hydra:alice");
    let listed = s.completed("list-oidc-accounts", json!({"identity-id": alice}));
    assert_eq!(text(&listed, "identifiers"), "");
    let (status, stored) = s.http("GET", &format!("{ADMIN}/admin/identities/{alice}"));
    assert_eq!(status, 200, "{stored}");
    assert!(
        stored["credentials"]["oidc"]["identifiers"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{stored}"
    );

    // 7. juju integrate kratos hydra (hydra-endpoint-info): Kratos gets Hydra's admin API
    // as its OAuth2 provider and becomes Hydra's login app. A login flow started with the
    // challenge of a relying party's authorization carries the request Kratos fetched from
    // Hydra through that URL.
    let endpoints = Relation::new(0, "hydra-endpoint-info", "hydra_endpoints", "hydra")
        .with_remote_unit("hydra/0", Vec::<(String, String)>::new())
        .with_remote_app_data([
            (
                "admin_endpoint",
                format!("http://127.0.0.1:{}", hydra.admin_port),
            ),
            ("public_endpoint", issuer.clone()),
        ]);
    let (_, outcomes) =
        s.d.emulator
            .add_relation(endpoints)
            .expect("integrate hydra");
    s.ok(outcomes);
    s.wait_ready();
    s.assert_active();
    let (status, relying_party) = hydra
        .admin(
            "POST",
            "/admin/clients",
            Some(json!({
                "client_id": "grafana",
                "redirect_uris": ["http://grafana.test/callback"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "scope": "openid email",
            })),
        )
        .expect("create the relying party");
    assert_eq!(status, 201, "{relying_party}");
    let mut browser = Browser::new(&netns);
    let page = browser.get(&format!(
        "{issuer}oauth2/auth?client_id=grafana&response_type=code&scope=openid\
         &state=state-0123456789&redirect_uri=http%3A%2F%2Fgrafana.test%2Fcallback"
    ));
    let challenge = query(
        &redirect(&page, "Hydra's authorize for grafana"),
        "login_challenge",
    );
    let page = browser.get(&format!(
        "{PUBLIC}/self-service/login/browser?login_challenge={challenge}"
    ));
    let flow_id = query(&redirect(&page, "Kratos with Hydra's challenge"), "flow");
    let page = browser.request(
        "GET",
        &format!("{PUBLIC}/self-service/login/flows?id={flow_id}"),
        None,
        "application/json",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let flow: Value = serde_json::from_str(&page.body).expect("flow JSON");
    assert_eq!(
        flow["oauth2_login_request"]["client"]["client_id"], "grafana",
        "{flow}"
    );

    // 8. The client secret is in kratos.yaml and the relation, and nowhere else.
    let kratos_yaml = s.d.workloads[0]
        .file("/etc/config/kratos/kratos.yaml")
        .expect("kratos.yaml");
    assert!(kratos_yaml.contains(&client_secret));
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
    drop(traefik);
    drop(hydra);
    eprintln!("e2e_oidc: {:?}", started.elapsed());
}
