//! logging: each Loki unit's bag (its `endpoint` JSON) into Pebble log targets, and the
//! forwarding layer applied over the current plan.

use std::collections::BTreeMap;

use crate::{input, Databag};
use charm_kratos::integrations::logging::{self, LokiEndpoints};
use charm_kratos::topology::Topology;
use juju_rs_ops::pebble::Plan;

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    // relation-get of each Loki unit's bag.
    let Some(units) = input::<BTreeMap<String, Databag>>(data) else {
        return;
    };
    let mut endpoints = LokiEndpoints::default();
    for (unit, bag) in &units {
        if let Ok(Some(url)) = logging::push_url(bag) {
            endpoints.units.insert(unit.clone(), url);
        }
    }
    let topology = Topology {
        model: "iam".into(),
        model_uuid: "9f2c4d4e-0c1d-4d3b-8d8e-1b2c3d4e5f60".into(),
        application: "kratos".into(),
        unit: "kratos/0".into(),
        charm_name: "kratos".into(),
    };
    let targets = logging::log_targets(&endpoints, &topology);
    assert_eq!(targets.len(), endpoints.units.len());
    if let Some(layer) = logging::forwarding_layer(targets.clone(), &Plan::default()) {
        // The layer Pebble gets reads back as itself.
        let yaml = serde_yaml_ng::to_string(&layer).expect("the layer serialises");
        let back: juju_rs_ops::pebble::Layer =
            serde_yaml_ng::from_str(&yaml).expect("the layer reads back");
        assert_eq!(back, layer);
        // Applied, nothing more is to be done.
        let applied = Plan {
            log_targets: layer.log_targets.clone(),
            ..Plan::default()
        };
        assert_eq!(logging::forwarding_layer(targets, &applied), None);
    }
}
