//! The Juju topology: how COS (Loki, Prometheus, Grafana) labels what this unit sends,
//! as the `cosl` library's `JujuTopology` defines it.

use juju_rs_ops::model::Model;
use serde_json::{json, Value};

/// The charm's name (`name` in `metadata.yaml`; the libraries' `charm_name`).
pub const CHARM_NAME: &str = "kratos";

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

    /// The label matchers selecting this application's telemetry, as a LogQL or PromQL
    /// selector's inside (Juju names need no escaping).
    pub fn matchers(&self) -> String {
        format!(
            r#"juju_model="{}",juju_model_uuid="{}",juju_application="{}""#,
            self.model, self.model_uuid, self.application
        )
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
