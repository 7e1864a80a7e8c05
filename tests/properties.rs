//! Property tests (proptest): what the charm writes reads back as what it meant, for any
//! value, and secrets never show. Each property names the round trip it checks; a failing
//! case is shrunk to a minimal one and recorded in `tests/properties.proptest-regressions`.
// Test code: it may unwrap, index and panic like any test does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

use base64::Engine as _;
use charm_kratos::charm_config::{CharmConfig, ValidConfig};
use charm_kratos::identity_schemas::{select_identity_schemas, IdentitySchemaSet};
use charm_kratos::integrations::database::{self, Connection};
use charm_kratos::integrations::external_idp;
use charm_kratos::integrations::kratos_info::{self, Endpoints};
use charm_kratos::integrations::peers;
use charm_kratos::integrations::route;
use charm_kratos::integrations::smtp::{
    self, AuthType, PasswordSource, SmtpServer, TransportSecurity,
};
use charm_kratos::kratos_config::{
    self, oidc_redirect_uri, ApiKeyLocation, CourierInputs, HookMode, LogLevel, MethodSelection,
    ResponseHandling, Webhook, WebhookAuth,
};
use charm_kratos::sensitive::Sensitive;
use charm_kratos::workload::WorkloadSpec;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use serde_json::{json, Value};
use url::Url;

fn decode(text: &str) -> String {
    percent_decode_str(text)
        .decode_utf8()
        .expect("percent-encoded UTF-8")
        .into_owned()
}

fn valid_config() -> ValidConfig {
    CharmConfig::default().validate().unwrap()
}

fn default_spec() -> WorkloadSpec {
    let schemas = select_identity_schemas(None, None).unwrap().set;
    WorkloadSpec::from_config(&valid_config(), schemas, None)
}

/// Host names (DNS labels), IPv4 and IPv6 addresses.
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z]([a-z0-9-]{0,10}[a-z0-9])?){0,3}",
        any::<std::net::Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|ip| ip.to_string()),
    ]
}

fn log_level() -> impl Strategy<Value = LogLevel> {
    prop_oneof![
        Just("trace"),
        Just("debug"),
        Just("info"),
        Just("warning"),
        Just("error"),
        Just("fatal"),
        Just("panic")
    ]
    .prop_map(|level| level.parse().unwrap())
}

fn webhook() -> impl Strategy<Value = Webhook> {
    (
        host(),
        any::<String>(),
        "[A-Z]{3,7}",
        any::<bool>(),
        any::<u32>(),
        any::<(String, String)>(),
    )
        .prop_map(|(host, body, method, before, weight, (name, key))| {
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            Webhook {
                url: Url::parse(&format!("https://{host}/hook")).unwrap(),
                body,
                method,
                mode: if before {
                    HookMode::Before
                } else {
                    HookMode::After
                },
                methods: MethodSelection::All,
                weight,
                response: ResponseHandling::Wait,
                auth: Some(WebhookAuth::ApiKey {
                    name,
                    value: Sensitive::new(key),
                    location: ApiKeyLocation::Header,
                }),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// kratos.yaml: the typed configuration rendered to YAML reads back (serde_yaml) as
    /// the same document, whatever the strings the operator and the relations put in it
    /// (sender, templates, web-hook bodies, keys and header names): no value can add
    /// structure to the file.
    #[test]
    fn kratos_yaml_reads_back_as_rendered(
        level in log_level(),
        mfa in any::<bool>(),
        verification in any::<bool>(),
        from_name in any::<String>(),
        from_address in any::<String>(),
        recovery in any::<String>(),
        hooks in prop::collection::vec(webhook(), 0..3),
    ) {
        let mut spec = default_spec();
        spec.render.log_level = level;
        spec.render.flags.enforce_mfa = mfa;
        spec.render.flags.enable_verification = verification;
        spec.render.courier = CourierInputs {
            from_address: Some(from_address),
            from_name: Some(from_name),
            recovery_code_email_html: Some(recovery.clone()),
            verification_code_email_html: Some(recovery),
        };
        spec.render.login_webhooks = hooks.clone();
        spec.render.registration_webhooks = hooks;
        let config = kratos_config::render(&spec.render).unwrap();
        let yaml = config.to_yaml().unwrap();
        let back: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        prop_assert_eq!(back, serde_yaml_ng::to_value(&config).unwrap());
    }

    /// Identity schemas: each schema of the set reaches kratos.yaml as a `base64://` URL
    /// that decodes to the same JSON, under its id, with the same default.
    #[test]
    fn identity_schemas_decode_from_kratos_yaml(
        sets in prop::collection::btree_map(
            "[a-z_][a-z0-9_]{0,12}",
            (prop::collection::btree_map("[a-z]{1,8}", any::<String>(), 1..4), any::<String>()),
            1..4,
        ),
        pick in any::<prop::sample::Index>(),
    ) {
        let schemas: BTreeMap<String, Value> = sets
            .into_iter()
            .map(|(id, (traits, title))| {
                let properties: serde_json::Map<String, Value> = traits
                    .into_iter()
                    .map(|(name, description)| {
                        (name, json!({"type": "string", "description": description}))
                    })
                    .collect();
                let schema = json!({
                    "title": title,
                    "type": "object",
                    "properties": {"traits": {"type": "object", "properties": properties}},
                });
                (id, schema)
            })
            .collect();
        let ids: Vec<&String> = schemas.keys().collect();
        let default_id = (*pick.get(&ids)).clone();
        let set = IdentitySchemaSet::new(default_id.clone(), schemas.clone()).unwrap();
        let spec = WorkloadSpec::from_config(&valid_config(), set, None);
        let config = kratos_config::render(&spec.render).unwrap();
        prop_assert_eq!(&config.identity.default_schema_id, &default_id);
        let mut decoded = BTreeMap::new();
        for entry in &config.identity.schemas {
            let encoded = entry.url.strip_prefix("base64://").unwrap();
            let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
            decoded.insert(entry.id.clone(), serde_json::from_slice::<Value>(&bytes).unwrap());
        }
        prop_assert_eq!(decoded, schemas);
    }

    /// smtp: user and password of any text reach Kratos's connection URI as the URL's own
    /// user and password (percent-encoded, `@:/?#%` included), at the host and port
    /// published, with TLS as asked.
    #[test]
    fn smtp_credentials_round_trip_through_the_uri(
        host in host(),
        port in 1u16..,
        user in any::<String>().prop_filter("a user", |u| !u.is_empty()),
        password in any::<String>().prop_filter("a password", |p| !p.is_empty()),
        tls in any::<bool>(),
    ) {
        let server = SmtpServer {
            host: host.clone(),
            port,
            auth: AuthType::Plain,
            transport: if tls { TransportSecurity::Tls } else { TransportSecurity::StartTls },
            skip_ssl_verify: false,
            user: Some(user.clone()),
            password: PasswordSource::Secret("secret:x".into()),
        };
        let uri = smtp::connection_uri(&server, Some(&Sensitive::new(password.clone())));
        let url = Url::parse(uri.expose()).unwrap();
        prop_assert_eq!(url.scheme(), if tls { "smtps" } else { "smtp" });
        prop_assert_eq!(decode(url.username()), user);
        prop_assert_eq!(decode(url.password().unwrap()), password);
        prop_assert_eq!(url.port(), Some(port));
        let shown = url.host_str().unwrap().trim_start_matches('[').trim_end_matches(']').to_string();
        prop_assert_eq!(shown.parse::<std::net::IpAddr>().ok(), host.parse::<std::net::IpAddr>().ok());
    }

    /// pg-database: the credentials of any text reach Kratos's DSN as the URL's user and
    /// password, and the database name as its path.
    #[test]
    fn database_credentials_round_trip_through_the_dsn(
        host in "[a-z][a-z0-9.-]{0,20}",
        port in 1u16..,
        username in any::<String>().prop_filter("a user", |u| !u.is_empty()),
        password in any::<String>().prop_filter("a password", |p| !p.is_empty()),
        model in "[a-z][a-z0-9-]{0,10}",
    ) {
        let connection = Connection {
            endpoint: format!("{host}:{port}"),
            database: database::database_name(&model, "kratos"),
            username: username.clone(),
            password: Sensitive::new(password.clone()),
        };
        let dsn = connection.dsn();
        let url = Url::parse(dsn.expose()).unwrap();
        prop_assert_eq!(decode(url.username()), username);
        prop_assert_eq!(decode(url.password().unwrap()), password.clone());
        prop_assert_eq!(url.path(), format!("/{model}_kratos"));
        // The connection's Debug never shows the password (unless the rest holds it).
        let without = Connection { password: Sensitive::new(""), ..connection.clone() };
        if !format!("{without:?}").contains(password.as_str()) {
            let shown = format!("{connection:?}");
            prop_assert!(!shown.contains(password.as_str()));
        }
    }

    /// Sensitive: Debug and Display never show the value; serialising (how it reaches the
    /// one file that needs it) gives it back exactly.
    #[test]
    fn sensitive_values_never_show_and_serialise_exactly(secret in any::<String>()) {
        let value = Sensitive::new(secret.clone());
        let shown = format!("{value:?} {value} {:?}", Some(&value));
        if !"<redacted> Some(<redacted>)".contains(secret.as_str()) {
            prop_assert!(!shown.contains(secret.as_str()));
        }
        let json = serde_json::to_string(&value).unwrap();
        prop_assert_eq!(serde_json::from_str::<String>(&json).unwrap(), secret.clone());
        let yaml = serde_yaml_ng::to_string(&value).unwrap();
        prop_assert_eq!(serde_yaml_ng::from_str::<String>(&yaml).unwrap(), secret);
    }

    /// pg-database: a status about bad endpoints never quotes the password.
    #[test]
    fn database_problems_never_show_the_password(
        endpoints in any::<String>(),
        password in "[A-Za-z0-9]{6}#[A-Za-z0-9]{6}",
    ) {
        let bag = BTreeMap::from([
            ("endpoints".to_string(), endpoints.clone()),
            ("username".to_string(), "u".to_string()),
            ("password".to_string(), password.clone()),
        ]);
        if let Err(bad) = database::parse_offer(&bag) {
            if !endpoints.contains(password.as_str()) {
                prop_assert!(!bad.to_string().contains(password.as_str()));
            }
        }
    }

    /// kratos-peers: the migration record written for a relation reads back as the
    /// version, for any version text (the reference's JSON encoding).
    #[test]
    fn migration_records_read_back(id in any::<u32>(), version in any::<String>()) {
        let bag = peers::record_migration(id, &version);
        prop_assert_eq!(peers::migrated_version(&bag, id), Some(version));
        prop_assert_eq!(peers::migrated_version(&bag, id.wrapping_add(1)), None);
    }

    /// kratos-external-idp: a provider in the library's shape reads back with its fields,
    /// and its redirect URI (the one the charm answers with) is Kratos's callback for that
    /// id under the public URL.
    #[test]
    fn external_providers_read_back_with_their_redirect_uri(
        client_id in any::<String>().prop_filter("an id", |s| !s.is_empty()),
        secret in any::<String>().prop_filter("a secret", |s| !s.is_empty()),
        id in prop::option::of("[A-Za-z0-9._~-]{1,20}"),
        label in prop::option::of(any::<String>().prop_filter("a label", |s| !s.is_empty())),
        scope in prop::collection::vec("[a-z:._]{1,10}", 1..5),
        public_host in host(),
    ) {
        let mut fields = json!({
            "provider": "github",
            "client_id": client_id,
            "client_secret": secret,
            "scope": scope.join(" "),
        });
        if let Some(id) = &id {
            fields["provider_id"] = json!(id);
        }
        if let Some(label) = &label {
            fields["label"] = json!(label);
        }
        let provider = external_idp::provider(fields.as_object().unwrap()).unwrap();
        prop_assert_eq!(&provider.client_id, &client_id);
        prop_assert_eq!(&provider.scope, &scope);
        prop_assert_eq!(provider.label.as_deref(), Some(label.as_deref().unwrap_or("github")));
        if let Some(id) = &id {
            prop_assert_eq!(&provider.id, id);
        }
        // The same provider read twice has the same id (derived ids are stable).
        prop_assert_eq!(&external_idp::provider(fields.as_object().unwrap()).unwrap().id, &provider.id);
        let host = if public_host.contains(':') { format!("[{public_host}]") } else { public_host };
        let public = Url::parse(&format!("https://{host}/iam-kratos")).unwrap();
        let redirect = oidc_redirect_uri(&public, &provider.id);
        prop_assert!(redirect.as_str().starts_with(public.as_str()));
        let tail = format!("/{}", provider.id);
        prop_assert!(redirect.path().ends_with(&tail));
    }

    /// public-route: the Traefik configuration the leader publishes reads back (YAML) as
    /// itself, and every router of the public URL's host is for that host.
    #[test]
    fn route_config_reads_back(host in host(), https in any::<bool>()) {
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        let scheme = if https { "https" } else { "http" };
        let bag = BTreeMap::from([
            ("external_host".to_string(), host.clone()),
            ("scheme".to_string(), scheme.to_string()),
        ]);
        let ingress = match route::parse(route::PUBLIC_ENDPOINT, &bag) {
            charm_kratos::integrations::Reading::Ready(ingress) => ingress,
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        let url = ingress.url.unwrap();
        prop_assert_eq!(url.scheme(), scheme);
        let config = route::public_config("iam", "kratos", Some(&url));
        let yaml = serde_yaml_ng::to_string(&config).unwrap();
        let back: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        prop_assert_eq!(back, serde_yaml_ng::to_value(&config).unwrap());
    }

    /// kratos-info: every endpoint handed out is a URL under the published public or
    /// internal URL (or the cluster Service), the flags read back as the config's, and the
    /// feature flags as the rendered configuration's.
    #[test]
    fn kratos_info_reads_back(
        public in prop::option::of(host()),
        internal in prop::option::of(host()),
        mfa in any::<bool>(),
        verification in any::<bool>(),
    ) {
        // The URLs as the routes read them from Traefik's bags.
        let routed = |endpoint: &'static str, host: String, scheme: &str| {
            let bracketed = if host.contains(':') { format!("[{host}]") } else { host };
            let bag = BTreeMap::from([
                ("external_host".to_string(), bracketed),
                ("scheme".to_string(), scheme.to_string()),
            ]);
            match route::parse(endpoint, &bag) {
                charm_kratos::integrations::Reading::Ready(ingress) => ingress.url.unwrap(),
                other => panic!("{other:?}"),
            }
        };
        let public = public.map(|h| routed(route::PUBLIC_ENDPOINT, h, "https"));
        let internal = internal.map(|h| routed(route::INTERNAL_ENDPOINT, h, "http"));
        let mut config = valid_config();
        config.enforce_mfa = mfa;
        config.enable_verification = verification;
        let mut spec = default_spec();
        spec.render.flags.enforce_mfa = mfa;
        spec.render.flags.enable_verification = verification;
        spec.render.public_url = public.clone();
        let kratos = kratos_config::render(&spec.render).unwrap();
        let endpoints = Endpoints { model: "iam", app: "kratos", public: public.clone(), internal: internal.clone() };
        let bag = kratos_info::info(&endpoints, &config, &kratos);
        for key in ["admin_endpoint", "public_endpoint", "sessions_endpoint"] {
            let url = Url::parse(&bag[key]).unwrap();
            if let Some(internal) = &internal {
                prop_assert_eq!(url.host(), internal.host());
            }
        }
        match &public {
            Some(public) => prop_assert!(bag["login_browser_endpoint"].starts_with(public.as_str())),
            None => prop_assert_eq!(bag["login_browser_endpoint"].as_str(), ""),
        }
        let flag = |on: bool| if on { "True" } else { "False" };
        prop_assert_eq!(bag["mfa_enabled"].as_str(), flag(mfa));
        prop_assert_eq!(bag["verification_enabled"].as_str(), flag(verification));
        let flags: Vec<&str> = bag["feature_flags"].split(',').filter(|f| !f.is_empty()).collect();
        prop_assert_eq!(flags, kratos.feature_flags());
    }
}
