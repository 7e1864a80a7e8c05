//! `metrics-endpoint` (prometheus_scrape, `charms.prometheus_k8s.v0.prometheus_scrape`
//! `MetricsEndpointProvider`, provider): Prometheus (or a grafana-agent/otelcol relay)
//! scrapes Kratos's metrics on every unit's admin port and loads the alert rules Kratos
//! sends.
//!
//! - The leader writes the application bag: `scrape_jobs` (one job: the admin port 4434 of
//!   every unit, `*:4434`, at `/admin/metrics/prometheus`), `scrape_metadata` (the Juju
//!   topology) and `alert_rules` ([`alert_rules`]: the charm's rule files with the
//!   topology's label matchers in every expression and its labels on every rule).
//! - Every unit writes its unit bag: `prometheus_scrape_unit_address` (the relation's bind
//!   address, else the pod's cluster FQDN, as the library) and
//!   `prometheus_scrape_unit_name`. `prometheus_scrape_unit_path` is never written (the
//!   library writes `""`, i.e. no key), although the v0 schema calls it required.
//!
//! Unlike the reference, the scrape path is Kratos's own `/admin/metrics/prometheus`
//! (`/metrics/prometheus` only answers with a redirect to it), and the expressions carry
//! the topology matchers themselves (the reference has no cos-tool and leaves them
//! unfiltered: `sum(up)` over every target Prometheus has).

use std::net::IpAddr;

use juju_rs_ops::model::{Bag, Model};
use serde_json::{json, Map, Value};

use super::{Databag, Integration, Reading};
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::workload::ADMIN_PORT;

/// The endpoint.
pub const ENDPOINT: &str = "metrics-endpoint";
/// The charm's name (metadata.yaml), for the `juju_charm` label.
pub const CHARM_NAME: &str = "kratos";
/// Where Kratos serves its Prometheus metrics, on the admin port.
pub const METRICS_PATH: &str = "/admin/metrics/prometheus";
/// What rule files hold in place of the topology's label matchers (cosl's placeholder).
pub const TOPOLOGY_PLACEHOLDER: &str = "%%juju_topology%%";

/// The charm's Prometheus rule files (name, YAML with `groups`), shipped in the binary.
pub const RULE_FILES: [(&str, &str); 2] = [
    (
        "kratos.rules",
        include_str!("../../templates/prometheus_alert_rules/kratos.rules"),
    ),
    (
        "host_health.rules",
        include_str!("../../templates/prometheus_alert_rules/host_health.rules"),
    ),
];

/// The Juju topology of this application, as COS labels it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology<'a> {
    /// `juju_model`.
    pub model: &'a str,
    /// `juju_model_uuid`.
    pub model_uuid: &'a str,
    /// `juju_application`.
    pub application: &'a str,
    /// The unit writing (the leader), for `scrape_metadata`.
    pub unit: &'a str,
    /// `juju_charm`.
    pub charm_name: &'a str,
}

impl<'a> Topology<'a> {
    /// This unit's topology.
    pub fn of(model: &'a Model) -> Topology<'a> {
        Topology {
            model: model.model_name(),
            model_uuid: model.model_uuid(),
            application: model.app_name(),
            unit: model.unit_name(),
            charm_name: CHARM_NAME,
        }
    }

    /// cosl's identifier: `<model>_<first 8 of the uuid>_<application>`.
    pub fn identifier(&self) -> String {
        let short: String = self.model_uuid.chars().take(8).collect();
        format!("{}_{short}_{}", self.model, self.application)
    }

    /// The label matchers every expression gets (PromQL, values escaped).
    pub fn matchers(&self) -> String {
        [
            ("juju_model", self.model),
            ("juju_model_uuid", self.model_uuid),
            ("juju_application", self.application),
        ]
        .iter()
        .map(|(label, value)| format!("{label}={}", promql_string(value)))
        .collect::<Vec<_>>()
        .join(",")
    }

    /// The labels every rule gets (unless it sets them itself).
    pub fn labels(&self) -> [(&'static str, &'a str); 4] {
        [
            ("juju_model", self.model),
            ("juju_model_uuid", self.model_uuid),
            ("juju_application", self.application),
            ("juju_charm", self.charm_name),
        ]
    }
}

/// A PromQL string literal.
fn promql_string(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// The integration: it only publishes.
pub struct MetricsEndpoint;

impl Integration for MetricsEndpoint {
    type Data = ();

    fn read(_model: &Model) -> Result<Reading<()>, CharmError> {
        Ok(Reading::Absent)
    }

    /// Every unit writes where it is scraped; the leader writes the jobs, the topology
    /// and the alert rules.
    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        let relations = model.relations(ENDPOINT)?;
        if relations.is_empty() {
            return Ok(());
        }
        let unit_bag = unit_bag(model.unit_name(), &unit_address(model));
        let app_bag = if inputs.leader {
            Some(
                app_bag(&Topology::of(model)).map_err(|message| CharmError::Serialise {
                    what: "the alert rules",
                    message,
                })?,
            )
        } else {
            None
        };
        for relation in &relations {
            model.update_databag(relation, Bag::LocalUnit, &unit_bag)?;
            if let Some(bag) = &app_bag {
                model.update_databag(relation, Bag::LocalApp, bag)?;
            }
        }
        Ok(())
    }
}

/// Where this unit is scraped: the bind address of the endpoint when it is an IP (as the
/// library), else the ingress address when it is one, else the pod's cluster FQDN.
fn unit_address(model: &Model) -> String {
    let is_ip = |address: &&str| address.parse::<IpAddr>().is_ok();
    match model.network_get(ENDPOINT) {
        Ok(network) => {
            if let Some(address) = network
                .bind_address()
                .filter(is_ip)
                .or_else(|| network.ingress_address().filter(is_ip))
            {
                return address.to_string();
            }
        }
        Err(e) => tracing::warn!("no network address for {ENDPOINT}, using the FQDN: {e}"),
    }
    pod_fqdn(model.unit_name(), model.app_name(), model.model_name())
}

/// A Kubernetes charm's pod FQDN, what the library's `socket.getfqdn()` gives there:
/// `kratos/0` of model `iam` is `kratos-0.kratos-endpoints.iam.svc.cluster.local`.
pub fn pod_fqdn(unit: &str, app: &str, model: &str) -> String {
    format!(
        "{}.{app}-endpoints.{model}.svc.cluster.local",
        unit.replace('/', "-")
    )
}

/// The unit bag (pure); `prometheus_scrape_unit_path` is removed if an older writer left
/// one.
pub fn unit_bag(unit: &str, address: &str) -> Databag {
    [
        ("prometheus_scrape_unit_address", address),
        ("prometheus_scrape_unit_name", unit),
        ("prometheus_scrape_unit_path", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The one scrape job: every unit's admin port at Kratos's metrics path.
pub fn scrape_jobs() -> Value {
    json!([{
        "metrics_path": METRICS_PATH,
        "static_configs": [{"targets": [format!("*:{ADMIN_PORT}")]}],
    }])
}

/// `scrape_metadata`: the topology of the writing unit.
pub fn scrape_metadata(topology: &Topology<'_>) -> Value {
    json!({
        "model": topology.model,
        "model_uuid": topology.model_uuid,
        "application": topology.application,
        "unit": topology.unit,
        "charm_name": topology.charm_name,
    })
}

/// The application bag (pure); the error says which rule file is broken.
pub fn app_bag(topology: &Topology<'_>) -> Result<Databag, String> {
    Ok([
        ("scrape_jobs", scrape_jobs().to_string()),
        ("scrape_metadata", scrape_metadata(topology).to_string()),
        ("alert_rules", alert_rules(topology)?.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
}

/// `alert_rules`: `{"groups": [...]}` from [`RULE_FILES`], each group named as cosl does
/// (`<identifier>_<group>_rules`, characters outside `[A-Za-z0-9_:]` as `_`), the
/// topology's matchers in place of [`TOPOLOGY_PLACEHOLDER`] and its labels added to every
/// rule that does not set them. The error says which file or group is broken.
pub fn alert_rules(topology: &Topology<'_>) -> Result<Value, String> {
    let mut groups = Vec::new();
    for (file, text) in RULE_FILES {
        let parsed: Value =
            serde_yaml_ng::from_str(text).map_err(|e| format!("{file} is not YAML: {e}"))?;
        let Some(Value::Array(file_groups)) = parsed.get("groups") else {
            return Err(format!("{file} has no list of groups"));
        };
        for group in file_groups {
            groups.push(group_for(group, topology).map_err(|e| format!("{file}: {e}"))?);
        }
    }
    Ok(json!({ "groups": groups }))
}

/// One group with the topology applied.
fn group_for(group: &Value, topology: &Topology<'_>) -> Result<Value, String> {
    let name = group
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a group has no name")?;
    let Some(Value::Array(rules)) = group.get("rules") else {
        return Err(format!("group {name} has no list of rules"));
    };
    let rules = rules
        .iter()
        .map(|rule| rule_for(rule, topology).map_err(|e| format!("group {name}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let full_name: String = format!("{}_{name}_rules", topology.identifier())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(json!({ "name": full_name, "rules": rules }))
}

/// One rule with the topology applied.
fn rule_for(rule: &Value, topology: &Topology<'_>) -> Result<Value, String> {
    let Value::Object(fields) = rule else {
        return Err("a rule is not a mapping".into());
    };
    let mut fields: Map<String, Value> = fields.clone();
    let alert = fields
        .get("alert")
        .and_then(Value::as_str)
        .ok_or("a rule has no alert name")?
        .to_string();
    let expr = fields
        .get("expr")
        .and_then(Value::as_str)
        .ok_or(format!("{alert} has no expr"))?
        .replace(TOPOLOGY_PLACEHOLDER, &topology.matchers());
    fields.insert("expr".into(), Value::String(expr));
    let labels = fields
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(labels) = labels else {
        return Err(format!("the labels of {alert} are not a mapping"));
    };
    for (label, value) in topology.labels() {
        labels
            .entry(label)
            .or_insert_with(|| Value::String(value.to_string()));
    }
    Ok(Value::Object(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IAM: Topology<'static> = Topology {
        model: "iam",
        model_uuid: "5e0e1e4f-1b1a-4a8e-9f0e-2c1d3b4a5f6e",
        application: "kratos",
        unit: "kratos/0",
        charm_name: "kratos",
    };

    fn rules(topology: &Topology<'_>) -> Vec<Value> {
        let rules = alert_rules(topology).unwrap();
        rules["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().clone())
            .collect()
    }

    #[test]
    fn the_rule_files_give_groups_named_by_the_topology() {
        let rules = alert_rules(&IAM).unwrap();
        let names: Vec<&str> = rules["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "iam_5e0e1e4f_kratos_kratos_availability_rules",
                "iam_5e0e1e4f_kratos_kratos_errors_rules",
                "iam_5e0e1e4f_kratos_HostHealth_rules",
            ]
        );
        let kratos_model = Topology {
            model: "kratos-model",
            ..IAM
        };
        let rules = alert_rules(&kratos_model).unwrap();
        assert_eq!(
            rules["groups"][0]["name"],
            "kratos_model_5e0e1e4f_kratos_kratos_availability_rules"
        );
    }

    #[test]
    fn every_rule_has_the_shape_the_matchers_and_the_labels() {
        let all = rules(&IAM);
        let alerts: Vec<&str> = all.iter().map(|r| r["alert"].as_str().unwrap()).collect();
        for expected in [
            "KratosUnitsDown",
            "KratosDown",
            "HostDown",
            "HostMetricsMissing",
        ] {
            assert!(alerts.contains(&expected), "{alerts:?}");
        }
        let matchers = r#"juju_model="iam",juju_model_uuid="5e0e1e4f-1b1a-4a8e-9f0e-2c1d3b4a5f6e",juju_application="kratos""#;
        for rule in &all {
            let expr = rule["expr"].as_str().unwrap();
            assert!(expr.contains(matchers), "{expr}");
            assert!(!expr.contains("%%"), "{expr}");
            // Every selector is filtered: as many matcher sets as `up`/metric selectors.
            assert_eq!(expr.matches('{').count(), expr.matches(matchers).count());
            assert!(rule["for"].is_string() && rule["annotations"]["summary"].is_string());
            assert!(rule["labels"]["severity"].is_string());
            for (label, value) in IAM.labels() {
                assert_eq!(rule["labels"][label], value, "{rule}");
            }
            let keys: Vec<&String> = rule.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["alert", "annotations", "expr", "for", "labels"]);
        }
    }

    #[test]
    fn annotations_keep_their_go_templates_verbatim() {
        let all = rules(&IAM);
        let down = all.iter().find(|r| r["alert"] == "KratosDown").unwrap();
        assert!(down["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("{{ $labels.juju_application }}"));
    }

    #[test]
    fn matcher_values_are_escaped() {
        let odd = Topology {
            model: r#"a"b\c"#,
            ..IAM
        };
        assert!(odd.matchers().starts_with(r#"juju_model="a\"b\\c","#));
    }

    #[test]
    fn the_app_bag_holds_the_job_the_metadata_and_the_rules() {
        let bag = app_bag(&IAM).unwrap();
        let jobs: Value = serde_json::from_str(&bag["scrape_jobs"]).unwrap();
        assert_eq!(
            jobs,
            json!([{"metrics_path": "/admin/metrics/prometheus",
                    "static_configs": [{"targets": ["*:4434"]}]}])
        );
        let metadata: Value = serde_json::from_str(&bag["scrape_metadata"]).unwrap();
        assert_eq!(
            metadata,
            json!({"model": "iam", "model_uuid": "5e0e1e4f-1b1a-4a8e-9f0e-2c1d3b4a5f6e",
                   "application": "kratos", "unit": "kratos/0", "charm_name": "kratos"})
        );
        let rules: Value = serde_json::from_str(&bag["alert_rules"]).unwrap();
        assert_eq!(rules, alert_rules(&IAM).unwrap());
    }

    #[test]
    fn the_unit_bag_has_address_and_name_and_no_path() {
        let bag = unit_bag("kratos/1", "10.1.42.17");
        assert_eq!(bag["prometheus_scrape_unit_address"], "10.1.42.17");
        assert_eq!(bag["prometheus_scrape_unit_name"], "kratos/1");
        assert_eq!(
            bag["prometheus_scrape_unit_path"], "",
            "written as a removal"
        );
        assert_eq!(
            pod_fqdn("kratos/1", "kratos", "iam"),
            "kratos-1.kratos-endpoints.iam.svc.cluster.local"
        );
    }
}
