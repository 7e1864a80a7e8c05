//! `public-route` and `internal-route` (traefik_route, `charms.traefik_k8s.v0.traefik_route`
//! with `raw=True`): the leader publishes Traefik's dynamic configuration for Kratos's
//! routes (`raw` = `"True"`, `config` = YAML); Traefik answers with `external_host` and
//! `scheme`, which make Kratos's public URL (public-route) or the in-cluster URL that
//! kratos-info hands out (internal-route).
//!
//! The configuration is published as soon as the relation exists (Traefik answers only
//! once `config` is in the bag), and always in full: routers match on paths only, and the
//! TLS routers name the host for certificates only when it is a DNS name (the reference
//! sends `main: ''` and `*.<ip>`, which mean nothing).
//!
//! Unlike the reference, two public-route relations are a status, not a crash in every
//! hook.

use std::collections::BTreeMap;

use juju_rs_ops::model::{Bag, Model, Relation};
use serde::Serialize;
use url::{Host, Url};

use super::{required_keys, waiting_for_keys, BadRelationData, Contribute, Databag, Integration};
use super::{Keys, Reading};
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::workload::{WorkloadSpec, ADMIN_PORT, PUBLIC_PORT};

/// The public ingress endpoint.
pub const PUBLIC_ENDPOINT: &str = "public-route";
/// The in-cluster ingress endpoint.
pub const INTERNAL_ENDPOINT: &str = "internal-route";

/// What Traefik publishes.
const KEYS: [&str; 2] = ["external_host", "scheme"];

/// Where Traefik serves a route: `None` until Traefik has published its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingress {
    /// `<scheme>://<external_host>/`.
    pub url: Option<Url>,
}

/// The public ingress: Kratos's public URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicIngress(pub Ingress);

/// The in-cluster ingress: what kratos-info hands out for the APIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalIngress(pub Ingress);

/// `public-route`: Kratos's public URL.
pub struct PublicRoute;

/// `internal-route`: the URL other charms reach Kratos's APIs at.
pub struct InternalRoute;

impl Integration for PublicRoute {
    type Data = PublicIngress;

    fn read(model: &Model) -> Result<Reading<PublicIngress>, CharmError> {
        Ok(read(model, PUBLIC_ENDPOINT)?.map(PublicIngress))
    }

    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        publish(model, inputs, PUBLIC_ENDPOINT, &PUBLIC_ROUTES)
    }
}

impl Integration for InternalRoute {
    type Data = InternalIngress;

    fn read(model: &Model) -> Result<Reading<InternalIngress>, CharmError> {
        Ok(read(model, INTERNAL_ENDPOINT)?.map(InternalIngress))
    }

    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        publish(model, inputs, INTERNAL_ENDPOINT, &INTERNAL_ROUTES)
    }
}

/// The public URL is Kratos's public base URL (and so the WebAuthn relying party, the
/// allowed return URLs and the OIDC redirect URIs).
impl Contribute for PublicIngress {
    fn contribute(&self, workload: &mut WorkloadSpec) {
        workload.render.public_url.clone_from(&self.0.url);
    }
}

/// The internal route changes only what kratos-info hands out, not Kratos.
impl Contribute for InternalIngress {
    fn contribute(&self, _workload: &mut WorkloadSpec) {}
}

fn read(model: &Model, endpoint: &'static str) -> Result<Reading<Ingress>, CharmError> {
    let relations = model.relations(endpoint)?;
    match relations.as_slice() {
        [] => Ok(Reading::Absent),
        [relation] if relation.remote_app.is_none() => Ok(Reading::Ready(Ingress { url: None })),
        [relation] => Ok(parse(endpoint, &model.databag(relation, Bag::RemoteApp)?)),
        several => Ok(Reading::Blocked(several_routes(endpoint, several))),
    }
}

fn several_routes(endpoint: &str, relations: &[Relation]) -> String {
    let apps: Vec<&str> = relations
        .iter()
        .filter_map(|r| r.remote_app.as_deref())
        .collect();
    format!(
        "{endpoint} is integrated with more than one ingress ({}); Kratos has one such URL: \
         remove all but one (juju remove-relation kratos:{endpoint} <app>)",
        apps.join(", ")
    )
}

/// Reads Traefik's application databag.
pub fn parse(endpoint: &'static str, bag: &Databag) -> Reading<Ingress> {
    let (host, scheme) = match required_keys(bag, &KEYS) {
        Keys::None => return Reading::Ready(Ingress { url: None }),
        Keys::Partial(missing) => return Reading::Waiting(waiting_for_keys(endpoint, &missing)),
        Keys::All(values) => match values.as_slice() {
            [host, scheme] => (*host, *scheme),
            _ => return Reading::Ready(Ingress { url: None }),
        },
    };
    match ingress_url(endpoint, host, scheme) {
        Ok(url) => Reading::Ready(Ingress { url: Some(url) }),
        Err(bad) => bad.into(),
    }
}

fn ingress_url(endpoint: &'static str, host: &str, scheme: &str) -> Result<Url, BadRelationData> {
    let bad = |message: String| BadRelationData { endpoint, message };
    if !matches!(scheme, "http" | "https") {
        return Err(bad(format!("scheme {scheme:?} is not http or https")));
    }
    // WHATWG host parsing lets through characters no DNS name has (quotes, braces).
    let dns_like = |domain: &str| {
        domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    let host = match Host::parse(host) {
        Ok(Host::Domain(domain)) if !dns_like(&domain) => None,
        Ok(host) => Some(host),
        Err(_) => None,
    }
    .ok_or_else(|| {
        bad(format!(
            "external_host {host:?} is not a host name or address"
        ))
    })?;
    Url::parse(&format!("{scheme}://{host}"))
        .map_err(|_| bad(format!("external_host {host} does not make a URL")))
}

/// One router of a route: its name suffix, the Traefik rule and whether it rewrites the
/// WebAuthn script's path.
struct RouteSpec {
    name: &'static str,
    api: Api,
    rule: &'static str,
    webauthn_script: bool,
}

#[derive(Clone, Copy)]
enum Api {
    Public,
    Admin,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Public => "public-api",
            Api::Admin => "admin-api",
        }
    }

    fn port(self) -> u16 {
        match self {
            Api::Public => PUBLIC_PORT,
            Api::Admin => ADMIN_PORT,
        }
    }
}

const fn route(name: &'static str, api: Api, rule: &'static str) -> RouteSpec {
    RouteSpec {
        name,
        api,
        rule,
        webauthn_script: false,
    }
}

/// What the public ingress exposes: the WebAuthn script (served by Kratos under
/// `/.well-known/ory/`), the OIDC callbacks, the identity schemas, and the browser login
/// that kratos-info hands out (`login_browser_endpoint`).
const PUBLIC_ROUTES: [RouteSpec; 4] = [
    RouteSpec {
        name: "well-known",
        api: Api::Public,
        rule: "Path(`/.well-known/webauthn.js`)",
        webauthn_script: true,
    },
    route(
        "self-service-oidc-callback",
        Api::Public,
        "PathPrefix(`/self-service/methods/oidc/callback`)",
    ),
    route("schemas", Api::Public, "PathPrefix(`/schemas`)"),
    route(
        "self-service-login-browser",
        Api::Public,
        "Path(`/self-service/login/browser`)",
    ),
];

/// What the in-cluster ingress exposes (the reference's set).
const INTERNAL_ROUTES: [RouteSpec; 6] = [
    route("identities", Api::Admin, "PathPrefix(`/admin/identities`)"),
    route("recovery", Api::Admin, "PathPrefix(`/admin/recovery`)"),
    route("sessions", Api::Admin, "PathPrefix(`/admin/sessions`)"),
    route("schemas", Api::Public, "PathPrefix(`/schemas`)"),
    route("self-service", Api::Public, "PathPrefix(`/self-service`)"),
    route("sessions", Api::Public, "PathPrefix(`/sessions`)"),
];

/// Traefik's dynamic configuration (file provider format).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraefikConfig {
    /// `http`
    pub http: HttpConfig,
}

/// `http`: routers, services and middlewares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpConfig {
    /// `middlewares`
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub middlewares: BTreeMap<String, Middleware>,
    /// `routers`
    pub routers: BTreeMap<String, Router>,
    /// `services`
    pub services: BTreeMap<String, Service>,
}

/// A `replacePath` middleware.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Middleware {
    /// `replacePath`
    #[serde(rename = "replacePath")]
    pub replace_path: ReplacePath,
}

/// `replacePath.path`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplacePath {
    /// The path requests are forwarded with.
    pub path: String,
}

/// A router.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Router {
    /// `entryPoints`: `web` or `websecure`, as traefik-k8s names them.
    #[serde(rename = "entryPoints")]
    pub entry_points: Vec<String>,
    /// `rule`
    pub rule: String,
    /// `middlewares`
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    /// `service`
    pub service: String,
    /// `tls`: on the `websecure` routers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RouterTls>,
}

/// A router's TLS.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterTls {
    /// The certificate's domains, when the host is a DNS name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<TlsDomain>,
}

/// A certificate domain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsDomain {
    /// `main`
    pub main: String,
    /// `sans`
    pub sans: Vec<String>,
}

/// A service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// `loadBalancer`
    #[serde(rename = "loadBalancer")]
    pub load_balancer: LoadBalancer,
}

/// `loadBalancer.servers`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadBalancer {
    /// The Kubernetes Service of the application.
    pub servers: Vec<Server>,
}

/// One server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    /// Its URL.
    pub url: String,
}

/// Where Juju's Kubernetes Service for the application answers on `port`.
pub fn cluster_url(model: &str, app: &str, port: u16) -> String {
    format!("http://{app}.{model}.svc.cluster.local:{port}")
}

/// The configuration of one ingress: `host` is Traefik's `external_host`, if known.
fn traefik_config(
    model: &str,
    app: &str,
    routes: &[RouteSpec],
    host: Option<&Host>,
) -> TraefikConfig {
    let id = format!("{model}-{app}");
    let middleware = format!("juju-sidecar-replace-path-{id}");
    let tls = RouterTls {
        domains: match host {
            Some(Host::Domain(domain)) => vec![TlsDomain {
                main: domain.clone(),
                sans: vec![format!("*.{domain}")],
            }],
            _ => Vec::new(),
        },
    };
    let mut http = HttpConfig {
        middlewares: BTreeMap::new(),
        routers: BTreeMap::new(),
        services: BTreeMap::new(),
    };
    for spec in routes {
        let service = format!("juju-{id}-{}-service", spec.api.name());
        let middlewares = if spec.webauthn_script {
            http.middlewares.insert(
                middleware.clone(),
                Middleware {
                    replace_path: ReplacePath {
                        path: "/.well-known/ory/webauthn.js".into(),
                    },
                },
            );
            vec![middleware.clone()]
        } else {
            Vec::new()
        };
        let router = |entry_point: &str, tls: Option<RouterTls>| Router {
            entry_points: vec![entry_point.to_string()],
            rule: spec.rule.to_string(),
            middlewares: middlewares.clone(),
            service: service.clone(),
            tls,
        };
        let name = format!("juju-{id}-{}-router-{}", spec.api.name(), spec.name);
        http.routers.insert(
            format!("{name}-tls"),
            router("websecure", Some(tls.clone())),
        );
        http.routers.insert(name, router("web", None));
        http.services.entry(service).or_insert_with(|| Service {
            load_balancer: LoadBalancer {
                servers: vec![Server {
                    url: cluster_url(model, app, spec.api.port()),
                }],
            },
        });
    }
    TraefikConfig { http }
}

/// The configuration published on a public-route relation (pure; tests and the
/// end-to-end suite check it against Traefik's schema).
pub fn public_config(model: &str, app: &str, url: Option<&Url>) -> TraefikConfig {
    traefik_config(
        model,
        app,
        &PUBLIC_ROUTES,
        url.and_then(|u| u.host()).map(|h| h.to_owned()).as_ref(),
    )
}

/// The configuration published on an internal-route relation.
pub fn internal_config(model: &str, app: &str, url: Option<&Url>) -> TraefikConfig {
    traefik_config(
        model,
        app,
        &INTERNAL_ROUTES,
        url.and_then(|u| u.host()).map(|h| h.to_owned()).as_ref(),
    )
}

/// The leader writes `raw` and `config` to every relation of the endpoint, each with the
/// host that relation's Traefik published.
fn publish(
    model: &Model,
    inputs: &Inputs,
    endpoint: &'static str,
    routes: &[RouteSpec],
) -> Result<(), CharmError> {
    if !inputs.leader {
        return Ok(());
    }
    for relation in model.relations(endpoint)? {
        let url = match &relation.remote_app {
            Some(_) => parse(endpoint, &model.databag(&relation, Bag::RemoteApp)?)
                .ready()
                .and_then(|ingress| ingress.url.clone()),
            None => None,
        };
        let host = url.as_ref().and_then(Url::host).map(|h| h.to_owned());
        let config = traefik_config(model.model_name(), model.app_name(), routes, host.as_ref());
        let yaml = serde_yaml_ng::to_string(&config).map_err(|e| CharmError::Serialise {
            what: "the Traefik route configuration",
            message: e.to_string(),
        })?;
        let bag = Databag::from([("raw".into(), "True".into()), ("config".into(), yaml)]);
        model.update_databag(&relation, Bag::LocalApp, &bag)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::test_bag as bag;

    #[test]
    fn traefiks_host_and_scheme_make_the_url() {
        let Reading::Ready(Ingress { url: Some(url) }) = parse(
            PUBLIC_ENDPOINT,
            &bag(&[("external_host", "iam.example.com"), ("scheme", "https")]),
        ) else {
            panic!("not ready")
        };
        assert_eq!(url.as_str(), "https://iam.example.com/");
        let Reading::Ready(Ingress { url: Some(url) }) = parse(
            PUBLIC_ENDPOINT,
            &bag(&[("external_host", "10.1.2.3"), ("scheme", "http")]),
        ) else {
            panic!("not ready")
        };
        assert_eq!(url.as_str(), "http://10.1.2.3/");
    }

    #[test]
    fn nothing_published_yet_is_ready_without_a_url_and_partial_waits() {
        assert_eq!(
            parse(PUBLIC_ENDPOINT, &Databag::new()),
            Reading::Ready(Ingress { url: None })
        );
        let Reading::Waiting(message) = parse(
            PUBLIC_ENDPOINT,
            &bag(&[("external_host", "iam.example.com")]),
        ) else {
            panic!("partial data must wait")
        };
        assert!(message.contains("scheme"), "{message}");
    }

    #[test]
    fn garbage_hosts_and_schemes_block_naming_the_key() {
        for (host, scheme, key) in [
            ("iam.example.com/x", "https", "external_host"),
            ("iam example.com", "https", "external_host"),
            ("iam.example.com:443", "https", "external_host"),
            ("\"quoted\"", "https", "external_host"),
            ("iam.example.com", "ftp", "scheme"),
        ] {
            let Reading::Blocked(message) = parse(
                INTERNAL_ENDPOINT,
                &bag(&[("external_host", host), ("scheme", scheme)]),
            ) else {
                panic!("{host} {scheme} must block")
            };
            assert!(message.contains(INTERNAL_ENDPOINT), "{message}");
            assert!(message.contains(key), "{message}");
        }
    }

    #[test]
    fn the_public_config_routes_each_path_on_web_and_websecure_with_the_hosts_certificate() {
        let url = Url::parse("https://id.example.com").unwrap();
        let config = public_config("iam", "kratos", Some(&url));
        let routers = &config.http.routers;
        assert_eq!(routers.len(), 2 * PUBLIC_ROUTES.len());
        let tls = &routers["juju-iam-kratos-public-api-router-schemas-tls"];
        assert_eq!(tls.entry_points, ["websecure"]);
        assert_eq!(
            tls.tls.as_ref().unwrap().domains,
            [TlsDomain {
                main: "id.example.com".into(),
                sans: vec!["*.id.example.com".into()]
            }]
        );
        let well_known = &routers["juju-iam-kratos-public-api-router-well-known"];
        assert_eq!(
            well_known.middlewares,
            ["juju-sidecar-replace-path-iam-kratos"]
        );
        assert_eq!(
            config.http.services["juju-iam-kratos-public-api-service"]
                .load_balancer
                .servers[0]
                .url,
            "http://kratos.iam.svc.cluster.local:4433"
        );
    }

    #[test]
    fn without_a_dns_host_the_tls_routers_name_no_domain() {
        for url in [None, Some(Url::parse("http://10.64.140.43").unwrap())] {
            let config = internal_config("iam", "kratos", url.as_ref());
            let tls = config.http.routers["juju-iam-kratos-admin-api-router-identities-tls"]
                .tls
                .clone()
                .unwrap();
            assert!(tls.domains.is_empty(), "{url:?}");
            assert_eq!(
                config.http.services["juju-iam-kratos-admin-api-service"]
                    .load_balancer
                    .servers[0]
                    .url,
                "http://kratos.iam.svc.cluster.local:4434"
            );
        }
    }

    #[test]
    fn only_a_public_url_reaches_kratos() {
        let url = Url::parse("https://id.example.com").unwrap();
        let mut workload = WorkloadSpec::for_tests();
        PublicIngress(Ingress {
            url: Some(url.clone()),
        })
        .contribute(&mut workload);
        InternalIngress(Ingress {
            url: Some(Url::parse("http://10.0.0.1").unwrap()),
        })
        .contribute(&mut workload);
        assert_eq!(workload.render.public_url, Some(url));
    }
}
