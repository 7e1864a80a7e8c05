//! `logging` (loki_push_api, requirer, as `charms.loki_k8s.v1.loki_push_api`'s
//! `LogForwarder`): each Loki unit writes its push URL in its unit bag (`endpoint`, JSON
//! `{"url": ".../loki/api/v1/push"}`); every unit of ours forwards the container's logs
//! there through Pebble's log targets, in a layer of their own ([`LAYER_LABEL`]), one
//! target per Loki unit, named after it and labelled with the Juju topology. The leader
//! writes `metadata` (the topology) and `alert_rules` (our LogQL rules) in the
//! application bag.
//!
//! Unlike the library, a Loki unit whose `endpoint` is unusable is skipped with a log
//! line (the others still get their targets), and targets that are no longer wanted
//! (a departed unit, a removed relation, including the last one) are disabled: Pebble
//! cannot delete a log target, and a layer combined into its label keeps what it omits,
//! so each is overridden to forward no service (`services: [-all]`, the library's
//! `(removed)` form).

use std::collections::BTreeMap;

use juju_rs_ops::model::{Bag, Model};
use juju_rs_ops::pebble::{Layer, LogTarget, Plan};
use serde_json::Value;
use url::Url;

use super::{http_url, Contribute, Databag, Integration, Reading};
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::topology::{self, Topology};
use crate::workload::WorkloadSpec;

/// The endpoint.
pub const ENDPOINT: &str = "logging";
/// The label of the Pebble layer holding the log targets (the library's
/// `<container>-log-forwarding`).
pub const LAYER_LABEL: &str = "kratos-log-forwarding";
/// The location of a disabled target (the library's).
pub const REMOVED_LOCATION: &str = "(removed)";
/// Our Loki alert rules (a Prometheus-style rule file of LogQL expressions; the
/// `%%juju_topology%%` placeholder becomes this application's label matchers).
const ALERT_RULES: &str = include_str!("../../templates/loki_alert_rules/kratos.rules");

/// The push URL of every Loki unit that published a usable one, by unit name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LokiEndpoints {
    /// Unit name (`loki/0`) -> push URL.
    pub units: BTreeMap<String, Url>,
}

/// The log targets are applied in a layer of their own ([`crate::converge::log_forwarding`]),
/// also while the rest of the workload waits: nothing goes into the Kratos layer.
impl Contribute for LokiEndpoints {
    fn contribute(&self, _workload: &mut WorkloadSpec) {}
}

/// The integration.
pub struct Logging;

impl Integration for Logging {
    type Data = LokiEndpoints;

    /// Never waiting nor blocked: a unit without an endpoint yet is left out, a unit
    /// with garbage is left out with a warning, and the others are forwarded to.
    fn read(model: &Model) -> Result<Reading<LokiEndpoints>, CharmError> {
        let relations = model.relations(ENDPOINT)?;
        if relations.is_empty() {
            return Ok(Reading::Absent);
        }
        let mut endpoints = LokiEndpoints::default();
        for relation in &relations {
            for unit in &relation.remote_units {
                match push_url(&model.databag(relation, Bag::Unit(unit.clone()))?) {
                    Ok(Some(url)) => {
                        endpoints.units.insert(unit.clone(), url);
                    }
                    Ok(None) => {}
                    Err(problem) => tracing::warn!(
                        "Not forwarding logs to {unit} ({ENDPOINT} relation {}): {problem}",
                        relation.id
                    ),
                }
            }
        }
        Ok(Reading::Ready(endpoints))
    }

    /// The leader writes the topology and the alert rules on every relation.
    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        if !inputs.leader {
            return Ok(());
        }
        let relations = model.relations(ENDPOINT)?;
        if relations.is_empty() {
            return Ok(());
        }
        let bag = app_bag(&Topology::of(model))?;
        for relation in relations {
            model.update_databag(&relation, Bag::LocalApp, &bag)?;
        }
        Ok(())
    }
}

/// The application bag (pure): `metadata` and `alert_rules`.
pub fn app_bag(topology: &Topology) -> Result<Databag, CharmError> {
    let rules = alert_rules(ALERT_RULES, topology).map_err(|message| CharmError::Serialise {
        what: "the Loki alert rules",
        message,
    })?;
    Ok(Databag::from([
        ("metadata".to_string(), topology.metadata_json().to_string()),
        ("alert_rules".to_string(), rules),
    ]))
}

/// A Loki unit's push URL; `Ok(None)` while it has written none.
pub fn push_url(bag: &Databag) -> Result<Option<Url>, String> {
    let Some(raw) = bag.get("endpoint").filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let shown: String = raw.chars().take(200).collect();
    let url = serde_json::from_str::<Value>(raw)
        .ok()
        .and_then(|v| v.get("url").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| format!("endpoint {shown:?} is not JSON with a \"url\""))?;
    http_url(ENDPOINT, "endpoint url", &url)
        .map(Some)
        .map_err(|bad| bad.message)
}

/// The rule file as the library sends it (pure): groups named
/// `<model>_<uuid8>_<app>_<group>_alerts`, rules labelled with the topology and narrowed to
/// this application (the library leaves `job=~".+"` for Loki to narrow; ours are already
/// narrow). JSON.
pub fn alert_rules(source: &str, topology: &Topology) -> Result<String, String> {
    topology::alert_rules(&[("loki rules", source)], topology, "alerts").map(|v| v.to_string())
}

/// The wanted log targets (pure): one per Loki unit, named after it, forwarding every
/// service with the library's labels.
pub fn log_targets(endpoints: &LokiEndpoints, topology: &Topology) -> BTreeMap<String, LogTarget> {
    let labels = BTreeMap::from([
        ("product".to_string(), "Juju".to_string()),
        ("charm".to_string(), topology.charm_name.clone()),
        ("juju_model".to_string(), topology.model.clone()),
        ("juju_model_uuid".to_string(), topology.model_uuid.clone()),
        ("juju_application".to_string(), topology.application.clone()),
        ("juju_unit".to_string(), topology.unit.clone()),
    ]);
    endpoints
        .units
        .iter()
        .map(|(unit, url)| {
            let target = LogTarget {
                r#override: "replace".into(),
                r#type: "loki".into(),
                location: url.to_string(),
                services: vec!["all".into()],
                labels: labels.clone(),
            };
            (unit.clone(), target)
        })
        .collect()
}

/// A target that forwards nothing (the library's form of a removed one).
pub fn disabled_target() -> LogTarget {
    LogTarget {
        r#override: "replace".into(),
        r#type: "loki".into(),
        location: REMOVED_LOCATION.into(),
        services: vec!["-all".into()],
        labels: BTreeMap::new(),
    }
}

/// The layer that brings `plan`'s log targets to `wanted` (pure), or `None` when the
/// plan already has them: the wanted targets, and every other `loki` target of the plan
/// disabled.
pub fn forwarding_layer(wanted: BTreeMap<String, LogTarget>, plan: &Plan) -> Option<Layer> {
    let mut targets = wanted;
    for (name, target) in &plan.log_targets {
        if target.r#type == "loki" && !targets.contains_key(name) {
            targets.insert(name.clone(), disabled_target());
        }
    }
    let changed = targets
        .iter()
        .any(|(name, target)| plan.log_targets.get(name) != Some(target));
    changed.then(|| Layer {
        summary: "Kratos log forwarding".into(),
        description: "The kratos container's logs forwarded to each related Loki unit".into(),
        log_targets: targets,
        ..Layer::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::test_bag as bag;
    use crate::topology::test_topology;

    const PUSH: &str = "http://loki-0.loki-endpoints.cos.svc.cluster.local:3100/loki/api/v1/push";

    fn endpoints(units: &[(&str, &str)]) -> LokiEndpoints {
        LokiEndpoints {
            units: units
                .iter()
                .map(|(u, url)| (u.to_string(), Url::parse(url).unwrap()))
                .collect(),
        }
    }

    #[test]
    fn push_urls_are_json_with_an_http_url() {
        let endpoint = format!(r#"{{"url": "{PUSH}"}}"#);
        assert_eq!(
            push_url(&bag(&[("endpoint", &endpoint)])).unwrap(),
            Some(Url::parse(PUSH).unwrap())
        );
        assert_eq!(push_url(&bag(&[])).unwrap(), None);
        assert_eq!(push_url(&bag(&[("endpoint", "")])).unwrap(), None);
        for garbage in [
            "not json",
            r#"{"uri": "http://x/"}"#,
            r#"{"url": 3}"#,
            r#"{"url": "ftp://loki/push"}"#,
            r#"{"url": "loki:3100"}"#,
            r#"["http://loki/push"]"#,
        ] {
            let problem = push_url(&bag(&[("endpoint", garbage)])).unwrap_err();
            assert!(problem.contains("endpoint"), "{problem}");
        }
    }

    #[test]
    fn targets_are_named_after_the_loki_units_with_the_librarys_labels() {
        let targets = log_targets(
            &endpoints(&[
                ("loki/0", PUSH),
                ("loki/1", "http://loki-1:3100/loki/api/v1/push"),
            ]),
            &test_topology(),
        );
        assert_eq!(targets.len(), 2);
        let target = &targets["loki/0"];
        assert_eq!(target.r#override, "replace");
        assert_eq!(target.r#type, "loki");
        assert_eq!(target.location, PUSH);
        assert_eq!(target.services, ["all"]);
        let labels: Vec<(&str, &str)> = target
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("charm", "kratos"),
                ("juju_application", "kratos"),
                ("juju_model", "iam"),
                ("juju_model_uuid", "5e0e1e4f-1b1a-4a8e-9f0e-2c1d3b4a5f6e"),
                ("juju_unit", "kratos/0"),
                ("product", "Juju"),
            ]
        );
        assert_eq!(
            targets["loki/1"].location,
            "http://loki-1:3100/loki/api/v1/push"
        );
    }

    #[test]
    fn the_layer_adds_wanted_targets_disables_stale_ones_and_is_none_when_applied() {
        let topology = test_topology();
        let wanted = log_targets(&endpoints(&[("loki/0", PUSH)]), &topology);
        let mut plan = Plan::default();
        let layer = forwarding_layer(wanted.clone(), &plan).unwrap();
        assert_eq!(layer.log_targets, wanted);
        assert!(layer.services.is_empty() && layer.checks.is_empty());

        plan.log_targets = wanted.clone();
        assert_eq!(forwarding_layer(wanted.clone(), &plan), None);

        // loki/0 departs, loki/1 arrives; a target of another type is left alone.
        plan.log_targets.insert(
            "otel".into(),
            LogTarget {
                r#type: "opentelemetry".into(),
                ..disabled_target()
            },
        );
        let next = log_targets(&endpoints(&[("loki/1", PUSH)]), &topology);
        let layer = forwarding_layer(next.clone(), &plan).unwrap();
        assert_eq!(layer.log_targets["loki/0"], disabled_target());
        assert_eq!(layer.log_targets["loki/1"], next["loki/1"]);
        assert!(!layer.log_targets.contains_key("otel"));

        // Nothing wanted: every loki target disabled, once.
        plan.log_targets.extend(layer.log_targets);
        let layer = forwarding_layer(BTreeMap::new(), &plan).unwrap();
        assert!(layer.log_targets.values().all(|t| *t == disabled_target()));
        plan.log_targets.extend(layer.log_targets);
        assert_eq!(forwarding_layer(BTreeMap::new(), &plan), None);
    }

    #[test]
    fn alert_rules_are_named_labelled_and_narrowed_like_the_librarys() {
        let topology = test_topology();
        let rules: Value =
            serde_json::from_str(&alert_rules(ALERT_RULES, &topology).unwrap()).unwrap();
        let group = &rules["groups"][0];
        assert_eq!(group["name"], "iam_5e0e1e4f_kratos_kratos_logs_alerts");
        let rule = &group["rules"][0];
        assert_eq!(rule["alert"], "KratosManyErrorLogs");
        let expr = rule["expr"].as_str().unwrap();
        assert!(!expr.contains("%%"), "{expr}");
        assert!(
            expr.contains(&format!("{{{}}}", topology.matchers())),
            "{expr}"
        );
        for (label, value) in topology.rule_labels() {
            assert_eq!(rule["labels"][label], value, "{label}");
        }
        assert_eq!(rule["labels"]["severity"], "error");

        // A rule's own topology label is kept.
        let source = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x\n    labels:\n      juju_charm: other\n";
        let rules: Value = serde_json::from_str(&alert_rules(source, &topology).unwrap()).unwrap();
        assert_eq!(
            rules["groups"][0]["rules"][0]["labels"]["juju_charm"],
            "other"
        );
        for bad in [
            "rules: []",
            "groups:\n- rules: []",
            "groups:\n- name: g\n",
            ": :",
        ] {
            assert!(alert_rules(bad, &topology).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_app_bag_holds_the_metadata_and_the_rules() {
        let bag = app_bag(&test_topology()).unwrap();
        let metadata: Value = serde_json::from_str(&bag["metadata"]).unwrap();
        assert_eq!(metadata["charm_name"], "kratos");
        assert_eq!(metadata["unit"], "kratos/0");
        assert!(bag["alert_rules"].starts_with(r#"{"groups":"#));
    }
}
