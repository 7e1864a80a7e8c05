//! The Juju topology: how COS (Loki, Prometheus, Grafana) labels what this unit sends,
//! as the `cosl` library's `JujuTopology` defines it.

use juju_rs_ops::model::Model;
use serde_json::{json, Map, Value};

/// The charm's name (`name` in `metadata.yaml`; the libraries' `charm_name`).
pub const CHARM_NAME: &str = "kratos";

/// Where an alert rule's expression selects this application (the libraries' placeholder).
pub const TOPOLOGY_PLACEHOLDER: &str = "%%juju_topology%%";

/// Where this unit sits in Juju.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The model's name.
    pub model: String,
    /// The model's uuid.
    pub model_uuid: String,
    /// The application.
    pub application: String,
    /// This unit.
    pub unit: String,
    /// The charm's name.
    pub charm_name: String,
}

impl Topology {
    /// This unit's topology.
    pub fn of(model: &Model) -> Topology {
        Topology {
            model: model.model_name().to_string(),
            model_uuid: model.model_uuid().to_string(),
            application: model.app_name().to_string(),
            unit: model.unit_name().to_string(),
            charm_name: CHARM_NAME.to_string(),
        }
    }

    /// `<model>_<first 8 characters of the uuid>_<application>`: the prefix of alert rule
    /// group names (cosl's `identifier`).
    pub fn identifier(&self) -> String {
        let short_uuid: String = self.model_uuid.chars().take(8).collect();
        format!("{}_{short_uuid}_{}", self.model, self.application)
    }

    /// The label matchers selecting this application's telemetry, as the inside of a
    /// PromQL or LogQL selector (values as Go string literals, escaped).
    pub fn matchers(&self) -> String {
        [
            ("juju_model", &self.model),
            ("juju_model_uuid", &self.model_uuid),
            ("juju_application", &self.application),
        ]
        .iter()
        .map(|(label, value)| format!("{label}={}", quoted(value)))
        .collect::<Vec<_>>()
        .join(",")
    }

    /// The labels every alert rule carries (added when a rule lacks them).
    pub fn rule_labels(&self) -> [(&'static str, &str); 4] {
        [
            ("juju_model", &self.model),
            ("juju_model_uuid", &self.model_uuid),
            ("juju_application", &self.application),
            ("juju_charm", &self.charm_name),
        ]
    }

    /// `{model, model_uuid, application, unit}` (grafana_dashboard's `juju_topology`).
    pub fn unit_json(&self) -> Value {
        json!({
            "model": self.model,
            "model_uuid": self.model_uuid,
            "application": self.application,
            "unit": self.unit,
        })
    }

    /// The same with `charm_name` (loki_push_api's `metadata`).
    pub fn metadata_json(&self) -> Value {
        let mut value = self.unit_json();
        if let Some(object) = value.as_object_mut() {
            object.insert("charm_name".into(), Value::from(self.charm_name.clone()));
        }
        value
    }
}

#[cfg(test)]
pub(crate) fn test_topology() -> Topology {
    Topology {
        model: "iam".into(),
        model_uuid: "5e0e1e4f-1b1a-4a8e-9f0e-2c1d3b4a5f6e".into(),
        application: "kratos".into(),
        unit: "kratos/0".into(),
        charm_name: CHARM_NAME.into(),
    }
}

/// A PromQL/LogQL string literal.
fn quoted(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// Alert rule files (name, YAML text) with the topology applied, as the COS libraries send
/// them: `{"groups": [...]}`, each group named `<identifier>_<group>_<suffix>` (characters
/// outside `[A-Za-z0-9_:]` as `_`), the matchers in place of [`TOPOLOGY_PLACEHOLDER`], the
/// topology's labels added to every rule that lacks them. The error names the file.
pub fn alert_rules(
    files: &[(&str, &str)],
    topology: &Topology,
    suffix: &str,
) -> Result<Value, String> {
    let mut groups = Vec::new();
    for (file, text) in files {
        let parsed: Value =
            serde_yaml_ng::from_str(text).map_err(|e| format!("{file} is not YAML: {e}"))?;
        let Some(Value::Array(file_groups)) = parsed.get("groups") else {
            return Err(format!("{file} has no list of groups"));
        };
        for group in file_groups {
            let group = group_for(group, topology, suffix).map_err(|e| format!("{file}: {e}"))?;
            groups.push(group);
        }
    }
    Ok(json!({ "groups": groups }))
}

/// One group with the topology applied.
fn group_for(group: &Value, topology: &Topology, suffix: &str) -> Result<Value, String> {
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
    let full_name: String = format!("{}_{name}_{suffix}", topology.identifier())
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
fn rule_for(rule: &Value, topology: &Topology) -> Result<Value, String> {
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
    for (label, value) in topology.rule_labels() {
        labels
            .entry(label)
            .or_insert_with(|| Value::String(value.to_string()));
    }
    Ok(Value::Object(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_and_metadata_follow_cosl() {
        let topology = test_topology();
        assert_eq!(topology.identifier(), "iam_5e0e1e4f_kratos");
        // The captured metadata of the reference (INTEGRATIONS.md §6.2).
        assert_eq!(
            topology.metadata_json(),
            json!({"model": "iam", "model_uuid": "5e0e1e4f-1b1a-4a8e-9f0e-2c1d3b4a5f6e",
                   "application": "kratos", "unit": "kratos/0", "charm_name": "kratos"})
        );
        assert_eq!(
            topology.matchers(),
            r#"juju_model="iam",juju_model_uuid="5e0e1e4f-1b1a-4a8e-9f0e-2c1d3b4a5f6e",juju_application="kratos""#
        );
    }
}
