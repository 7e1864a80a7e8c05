//! Checks of metadata.yaml, config.yaml and actions.yaml that charmcraft does not make
//! (with separate files it reads only name/summary/description), and of their agreement
//! with the charm's typed configuration.
//!
//! The files are parsed into typed structs that reject unknown keys, so a typo in a key
//! fails here rather than being ignored by Juju.
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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};

use charm_kratos::charm_config::CharmConfig;

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

fn parse<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    serde_yaml_ng::from_str(&read(name)).unwrap_or_else(|err| panic!("parsing {name}: {err}"))
}

// ---------------------------------------------------------------- metadata.yaml

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Metadata {
    name: String,
    #[allow(dead_code)]
    display_name: Option<String>,
    summary: String,
    description: String,
    #[allow(dead_code)]
    docs: Option<String>,
    #[serde(default)]
    assumes: Vec<String>,
    #[serde(default)]
    containers: BTreeMap<String, Container>,
    #[serde(default)]
    resources: BTreeMap<String, Resource>,
    #[serde(default)]
    peers: BTreeMap<String, Relation>,
    #[serde(default)]
    requires: BTreeMap<String, Relation>,
    #[serde(default)]
    provides: BTreeMap<String, Relation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Container {
    resource: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum ResourceType {
    OciImage,
    File,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Resource {
    #[serde(rename = "type")]
    kind: ResourceType,
    description: String,
    filename: Option<String>,
    upstream_source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Relation {
    interface: String,
    limit: Option<u32>,
    optional: Option<bool>,
    #[allow(dead_code)]
    description: Option<String>,
}

/// Juju's rule for relation and action names: lower-case words joined by hyphens.
fn is_juju_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
}

#[test]
fn metadata_identifies_the_kratos_charm() {
    let metadata: Metadata = parse("metadata.yaml");
    assert_eq!(metadata.name, "kratos");
    assert!(!metadata.summary.trim().is_empty());
    assert!(!metadata.description.trim().is_empty());
    assert!(metadata.assumes.contains(&"k8s-api".to_owned()));
}

#[test]
fn every_container_has_an_oci_image_resource_and_file_resources_a_filename() {
    let metadata: Metadata = parse("metadata.yaml");
    assert_eq!(metadata.containers.keys().collect::<Vec<_>>(), ["kratos"]);
    for (name, container) in &metadata.containers {
        let resource = container
            .resource
            .as_deref()
            .unwrap_or_else(|| panic!("container {name} names no resource"));
        let resource = metadata
            .resources
            .get(resource)
            .unwrap_or_else(|| panic!("container {name}: resource {resource} is not declared"));
        assert_eq!(resource.kind, ResourceType::OciImage, "container {name}");
        let image = resource.upstream_source.as_deref().unwrap_or_default();
        assert!(
            image.starts_with("ghcr.io/canonical/kratos:"),
            "container {name}: upstream-source {image:?}"
        );
    }
    for (name, resource) in &metadata.resources {
        assert!(!resource.description.trim().is_empty(), "resource {name}");
        if resource.kind == ResourceType::File {
            assert!(
                resource.filename.is_some(),
                "file resource {name} needs a filename"
            );
        }
    }
    let template = &metadata.resources["verification-email-template"];
    assert_eq!(template.kind, ResourceType::File);
}

#[test]
fn relations_match_the_reference_charm() {
    let metadata: Metadata = parse("metadata.yaml");
    // (role, name, interface, limit, optional) as in SPEC §4 and the reference charm.
    let expected: BTreeSet<(&str, &str, &str, Option<u32>, bool)> = [
        ("peers", "kratos-peers", "kratos-peers", None, false),
        ("requires", "pg-database", "postgresql_client", None, false),
        (
            "requires",
            "kratos-external-idp",
            "external_provider",
            None,
            true,
        ),
        (
            "requires",
            "hydra-endpoint-info",
            "hydra_endpoints",
            Some(1),
            true,
        ),
        (
            "requires",
            "ui-endpoint-info",
            "login_ui_endpoints",
            None,
            true,
        ),
        (
            "requires",
            "kratos-registration-webhook",
            "kratos_registration_webhook",
            None,
            true,
        ),
        (
            "requires",
            "kratos-login-webhook",
            "kratos_login_webhook",
            None,
            true,
        ),
        ("requires", "logging", "loki_push_api", None, true),
        ("requires", "tracing", "tracing", Some(1), true),
        ("requires", "smtp", "smtp", Some(1), true),
        ("requires", "internal-route", "traefik_route", Some(1), true),
        ("requires", "public-route", "traefik_route", None, true),
        (
            "requires",
            "receive-ca-cert",
            "certificate_transfer",
            None,
            true,
        ),
        ("provides", "kratos-info", "kratos_info", None, true),
        (
            "provides",
            "metrics-endpoint",
            "prometheus_scrape",
            None,
            true,
        ),
        (
            "provides",
            "grafana-dashboard",
            "grafana_dashboard",
            None,
            true,
        ),
    ]
    .into_iter()
    .collect();

    let mut actual = BTreeSet::new();
    let mut names = BTreeSet::new();
    for (role, relations) in [
        ("peers", &metadata.peers),
        ("requires", &metadata.requires),
        ("provides", &metadata.provides),
    ] {
        for (name, relation) in relations {
            assert!(is_juju_name(name), "relation name {name}");
            assert!(
                names.insert(name.as_str()),
                "relation {name} declared twice"
            );
            assert!(
                !relation.interface.trim().is_empty(),
                "relation {name} has no interface"
            );
            if role != "peers" {
                assert!(
                    relation.optional.is_some(),
                    "relation {name}: say whether it is optional"
                );
            }
            actual.insert((
                role,
                name.as_str(),
                relation.interface.as_str(),
                relation.limit,
                relation.optional.unwrap_or(false),
            ));
        }
    }
    assert_eq!(actual, expected);
}

// ---------------------------------------------------------------- config.yaml

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigYaml {
    options: BTreeMap<String, ConfigOption>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigOption {
    #[serde(rename = "type")]
    kind: String,
    default: Option<Value>,
    description: String,
}

/// Whether a JSON value is of a Juju option type (as `config-get --format=json` reports it).
fn is_of_type(value: &Value, kind: &str) -> bool {
    match kind {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "int" => value.is_i64() || value.is_u64(),
        "float" => value.is_number(),
        "secret" => value.as_str().is_some_and(|s| s.starts_with("secret:")),
        _ => false,
    }
}

/// The defaults of config.yaml as `config-get --format=json --all` reports them.
fn config_defaults(config: &ConfigYaml) -> Value {
    Value::Object(
        config
            .options
            .iter()
            .map(|(name, option)| (name.clone(), option.default.clone().unwrap_or(Value::Null)))
            .collect(),
    )
}

#[test]
fn every_option_has_a_valid_type_a_default_of_that_type_and_a_description() {
    let config: ConfigYaml = parse("config.yaml");
    assert!(!config.options.is_empty());
    for (name, option) in &config.options {
        assert!(
            ["string", "int", "float", "boolean", "secret"].contains(&option.kind.as_str()),
            "option {name}: unknown type {}",
            option.kind
        );
        let default = option
            .default
            .as_ref()
            .unwrap_or_else(|| panic!("option {name} has no default"));
        assert!(
            is_of_type(default, &option.kind),
            "option {name}: default {default} is not a {}",
            option.kind
        );
        assert!(
            !option.description.trim().is_empty(),
            "option {name} has no description"
        );
    }
}

#[test]
fn charm_config_has_exactly_the_options_of_config_yaml_with_the_same_types() {
    let config: ConfigYaml = parse("config.yaml");
    let serialised = serde_json::to_value(CharmConfig::default()).unwrap();
    let fields = serialised.as_object().unwrap();
    assert_eq!(
        fields.keys().collect::<BTreeSet<_>>(),
        config.options.keys().collect::<BTreeSet<_>>(),
        "CharmConfig fields vs config.yaml options"
    );
    for (name, option) in &config.options {
        assert!(
            is_of_type(&fields[name], &option.kind),
            "CharmConfig.{name} is not a {}",
            option.kind
        );
    }
}

#[test]
fn config_yaml_defaults_deserialise_to_charm_config_default_and_validate() {
    let config: ConfigYaml = parse("config.yaml");
    let defaults = config_defaults(&config).to_string();
    let from_juju = CharmConfig::from_config_get_json(&defaults).unwrap();
    assert_eq!(from_juju, CharmConfig::default(), "defaults differ");
    from_juju
        .validate()
        .unwrap_or_else(|problem| panic!("the default config is invalid: {problem}"));
}

#[test]
fn every_option_of_config_yaml_reaches_its_charm_config_field() {
    // Without this, a misspelt field would silently keep its default (#[serde(default)]).
    let config: ConfigYaml = parse("config.yaml");
    for (name, option) in &config.options {
        let changed = match option.kind.as_str() {
            "boolean" => json!(!option.default.as_ref().and_then(Value::as_bool).unwrap()),
            "string" => json!("a value no default has"),
            "int" => json!(option.default.as_ref().and_then(Value::as_i64).unwrap() + 1),
            other => panic!("option {name}: no test value for type {other}"),
        };
        let mut values = config_defaults(&config);
        values[name] = changed.clone();
        let parsed = CharmConfig::from_config_get_json(&values.to_string()).unwrap();
        assert_eq!(
            serde_json::to_value(parsed).unwrap()[name],
            changed,
            "option {name}"
        );
    }
}

// ---------------------------------------------------------------- actions.yaml

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Action {
    description: String,
    #[serde(default)]
    params: BTreeMap<String, Value>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(rename = "oneOf")]
    one_of: Option<Vec<Value>>,
    #[serde(rename = "additionalProperties")]
    additional_properties: Option<bool>,
}

impl Action {
    /// The JSON schema Juju builds for the action's parameters (internal/charm/actions.go):
    /// params become `properties`, other keys are kept, `additionalProperties` defaults to
    /// false.
    fn juju_schema(&self, name: &str) -> Value {
        let mut schema = json!({
            "title": name,
            "description": self.description,
            "type": "object",
            "properties": self.params,
            "additionalProperties": self.additional_properties.unwrap_or(false),
        });
        if !self.required.is_empty() {
            schema["required"] = json!(self.required);
        }
        if let Some(one_of) = &self.one_of {
            schema["oneOf"] = json!(one_of);
        }
        schema
    }
}

fn actions() -> BTreeMap<String, Action> {
    parse("actions.yaml")
}

const IDENTITY_ACTIONS: [&str; 7] = [
    "get-identity",
    "delete-identity",
    "reset-password",
    "invalidate-identity-sessions",
    "reset-identity-mfa",
    "list-oidc-accounts",
    "unlink-oidc-account",
];

#[test]
fn actions_and_their_params_match_the_spec() {
    let actions = actions();
    // name -> (params, required)
    let expected: BTreeMap<&str, (Vec<&str>, Vec<&str>)> = [
        ("get-identity", (vec!["email", "identity-id"], vec![])),
        ("delete-identity", (vec!["email", "identity-id"], vec![])),
        (
            "create-admin-account",
            (
                vec![
                    "email",
                    "name",
                    "password-secret-id",
                    "phone-number",
                    "username",
                ],
                vec!["username", "email"],
            ),
        ),
        (
            "reset-password",
            (vec!["email", "identity-id", "password-secret-id"], vec![]),
        ),
        (
            "invalidate-identity-sessions",
            (vec!["email", "identity-id"], vec![]),
        ),
        (
            "reset-identity-mfa",
            (vec!["email", "identity-id", "mfa-type"], vec!["mfa-type"]),
        ),
        ("list-oidc-accounts", (vec!["email", "identity-id"], vec![])),
        (
            "unlink-oidc-account",
            (
                vec!["credential-id", "email", "identity-id"],
                vec!["credential-id"],
            ),
        ),
        ("run-migration", (vec!["timeout"], vec![])),
        ("cleanup", (vec!["batch-size", "keep-last"], vec![])),
        ("rotate-cookie-secret", (vec!["keep-previous"], vec![])),
    ]
    .into_iter()
    .collect();
    let actual: BTreeMap<&str, (Vec<&str>, Vec<&str>)> = actions
        .iter()
        .map(|(name, action)| {
            (
                name.as_str(),
                (
                    action.params.keys().map(String::as_str).collect(),
                    action.required.iter().map(String::as_str).collect(),
                ),
            )
        })
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn action_schemas_are_valid_draft4_schemas_with_defined_required_params() {
    for (name, action) in actions() {
        assert!(is_juju_name(&name), "action name {name}");
        assert!(!action.description.trim().is_empty(), "action {name}");
        assert_eq!(action.additional_properties, Some(false), "action {name}");
        for (param, schema) in &action.params {
            assert!(is_juju_name(param), "action {name}: param name {param}");
            assert!(
                schema.get("type").is_some(),
                "action {name}: param {param} has no type"
            );
            let description = schema.get("description").and_then(Value::as_str);
            assert!(
                description.is_some_and(|d| !d.trim().is_empty()),
                "action {name}: param {param} has no description"
            );
        }
        let mut required: Vec<&str> = action.required.iter().map(String::as_str).collect();
        for alternative in action.one_of.iter().flatten() {
            let names = alternative["required"].as_array().unwrap_or_else(|| {
                panic!("action {name}: each oneOf alternative lists required params")
            });
            required.extend(names.iter().filter_map(Value::as_str));
        }
        for param in required {
            assert!(
                action.params.contains_key(param),
                "action {name}: {param} is required but not defined"
            );
        }
        let schema = action.juju_schema(&name);
        if let Err(err) = jsonschema::draft4::meta::validate(&schema) {
            panic!("action {name}: not a draft 4 schema: {err}");
        }
        if let Err(err) = jsonschema::draft4::new(&schema) {
            panic!("action {name}: schema does not compile: {err}");
        }
    }
}

#[test]
fn identity_actions_take_exactly_one_of_identity_id_or_email() {
    let actions = actions();
    let id = "8a1f6c2e-3b4d-4e5f-9a0b-1c2d3e4f5a6b";
    for name in IDENTITY_ACTIONS {
        let action = &actions[name];
        let validator = jsonschema::draft4::new(&action.juju_schema(name)).unwrap();
        // The other required params, with valid values.
        let mut base = json!({});
        for param in &action.required {
            base[param] = match param.as_str() {
                "mfa-type" => json!("totp"),
                _ => json!("x"),
            };
        }
        let with = |extra: Value| {
            let mut params = base.clone();
            for (k, v) in extra.as_object().unwrap() {
                params[k] = v.clone();
            }
            params
        };
        assert!(
            validator.is_valid(&with(json!({"identity-id": id}))),
            "{name}: by id"
        );
        assert!(
            validator.is_valid(&with(json!({"email": "jane@example.com"}))),
            "{name}: by email"
        );
        assert!(!validator.is_valid(&with(json!({}))), "{name}: neither");
        assert!(
            !validator.is_valid(&with(
                json!({"identity-id": id, "email": "jane@example.com"})
            )),
            "{name}: both"
        );
        assert!(
            !validator.is_valid(&with(json!({"identity-id": "not-a-uuid"}))),
            "{name}: bad id"
        );
        assert!(
            !validator.is_valid(&with(json!({"email": "jane@example.com", "mail": "x"}))),
            "{name}: unknown param"
        );
    }
}

#[test]
fn other_action_params_are_checked_by_juju() {
    let actions = actions();
    let schema = |name: &str| jsonschema::draft4::new(&actions[name].juju_schema(name)).unwrap();

    let mfa = schema("reset-identity-mfa");
    for kind in ["totp", "lookup_secret", "webauthn"] {
        assert!(
            mfa.is_valid(&json!({"email": "a@b.c", "mfa-type": kind})),
            "{kind}"
        );
    }
    assert!(!mfa.is_valid(&json!({"email": "a@b.c", "mfa-type": "sms"})));
    assert!(!mfa.is_valid(&json!({"email": "a@b.c"})));

    let admin = schema("create-admin-account");
    assert!(admin.is_valid(&json!({"username": "admin", "email": "admin@example.com"})));
    assert!(!admin.is_valid(&json!({"username": "admin"})));
    assert!(!admin.is_valid(&json!({"email": "admin@example.com"})));

    let migration = schema("run-migration");
    assert!(migration.is_valid(&json!({})));
    assert!(migration.is_valid(&json!({"timeout": 300})));
    assert!(!migration.is_valid(&json!({"timeout": 0})));
    assert!(!migration.is_valid(&json!({"timeout": "soon"})));
    assert_eq!(
        actions["run-migration"].params["timeout"]["default"],
        json!(120)
    );

    let cleanup = schema("cleanup");
    assert!(cleanup.is_valid(&json!({})));
    assert!(cleanup.is_valid(&json!({"keep-last": "1h30m", "batch-size": 100000})));
    assert!(cleanup.is_valid(&json!({"keep-last": "0s", "batch-size": 1})));
    for bad in [
        json!({"keep-last": "yesterday"}),
        json!({"keep-last": "1.5h"}),
        json!({"keep-last": ""}),
        json!({"batch-size": 0}),
        json!({"batch-size": 100001}),
        json!({"batch-size": "many"}),
        json!({"keep_last": "1h"}),
    ] {
        assert!(!cleanup.is_valid(&bad), "{bad}");
    }
}
