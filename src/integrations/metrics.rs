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
use serde_json::{json, Value};

use super::{Databag, Integration, Reading};
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::topology::{self, Topology};
use crate::workload::ADMIN_PORT;

/// The endpoint.
pub const ENDPOINT: &str = "metrics-endpoint";
/// Where Kratos serves its Prometheus metrics, on the admin port.
pub const METRICS_PATH: &str = "/admin/metrics/prometheus";

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
pub fn scrape_metadata(topology: &Topology) -> Value {
    json!({
        "model": topology.model,
        "model_uuid": topology.model_uuid,
        "application": topology.application,
        "unit": topology.unit,
        "charm_name": topology.charm_name,
    })
}

/// The application bag (pure); the error says which rule file is broken.
pub fn app_bag(topology: &Topology) -> Result<Databag, String> {
    Ok([
        ("scrape_jobs", scrape_jobs().to_string()),
        ("scrape_metadata", scrape_metadata(topology).to_string()),
        ("alert_rules", alert_rules(topology)?.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
}

/// `alert_rules`: `{"groups": [...]}` from [`RULE_FILES`] with the topology applied
/// ([`topology::alert_rules`]); the error says which file or group is broken.
pub fn alert_rules(topology: &Topology) -> Result<Value, String> {
    topology::alert_rules(&RULE_FILES, topology, "rules")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iam() -> Topology {
        Topology {
            model: "iam".into(),
            model_uuid: "5e0e1e4f-1b1a-4a8e-9f0e-2c1d3b4a5f6e".into(),
            application: "kratos".into(),
            unit: "kratos/0".into(),
            charm_name: "kratos".into(),
        }
    }

    fn rules(topology: &Topology) -> Vec<Value> {
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
        let rules = alert_rules(&iam()).unwrap();
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
            model: "kratos-model".into(),
            ..iam()
        };
        let rules = alert_rules(&kratos_model).unwrap();
        assert_eq!(
            rules["groups"][0]["name"],
            "kratos_model_5e0e1e4f_kratos_kratos_availability_rules"
        );
    }

    #[test]
    fn every_rule_has_the_shape_the_matchers_and_the_labels() {
        let all = rules(&iam());
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
            for (label, value) in iam().rule_labels() {
                assert_eq!(rule["labels"][label], value, "{rule}");
            }
            let keys: Vec<&String> = rule.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["alert", "annotations", "expr", "for", "labels"]);
        }
    }

    #[test]
    fn annotations_keep_their_go_templates_verbatim() {
        let all = rules(&iam());
        let down = all.iter().find(|r| r["alert"] == "KratosDown").unwrap();
        assert!(down["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("{{ $labels.juju_application }}"));
    }

    #[test]
    fn matcher_values_are_escaped() {
        let odd = Topology {
            model: r#"a"b\c"#.into(),
            ..iam()
        };
        assert!(odd.matchers().starts_with(r#"juju_model="a\"b\\c","#));
    }

    #[test]
    fn the_app_bag_holds_the_job_the_metadata_and_the_rules() {
        let bag = app_bag(&iam()).unwrap();
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
        assert_eq!(rules, alert_rules(&iam()).unwrap());
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
