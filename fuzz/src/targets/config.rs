//! The charm config: config-get's JSON into ValidConfig (as the hook reads it, through
//! the model), then everything the config shapes: kratos.yaml, the environment and the
//! container's resources.

use crate::{render, FakeJuju};
use charm_kratos::charm_config::{CharmConfig, Quantity};
use charm_kratos::cluster::resources;
use charm_kratos::identity_schemas::select_identity_schemas;
use charm_kratos::workload::WorkloadSpec;
use juju_rs_ops::ModelError;

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let juju = FakeJuju::new([("config-get".to_string(), data.to_vec())]);
    let model = juju.model(&[]);
    let config: CharmConfig = match model.config() {
        Ok(config) => config,
        Err(ModelError::Config { .. } | ModelError::Decode { .. }) => return,
        Err(other) => panic!("config-get's output gave {other:?}"),
    };
    // The reader for config-get's text agrees with the model's.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(direct) = CharmConfig::from_config_get_json(text) {
            assert_eq!(direct, config);
        }
    }
    let Ok(valid) = config.validate() else {
        return;
    };
    let selection = select_identity_schemas(valid.identity_schemas.as_ref(), None)
        .expect("valid config schemas are chosen");
    let spec = WorkloadSpec::from_config(
        &valid,
        selection.set,
        Some("{{ .VerificationCode }}".into()),
    );
    render(&spec);
    // Each limit Kubernetes gets reads back as a quantity no smaller than the option.
    let wanted = resources::wanted(&valid.resource_limits);
    for (name, limit) in [
        ("cpu", &valid.resource_limits.cpu),
        ("memory", &valid.resource_limits.memory),
    ] {
        let Some(limit) = limit else { continue };
        let applied = wanted
            .limits
            .get(name)
            .and_then(|text| Quantity::parse(text));
        let applied = applied.unwrap_or_else(|| {
            panic!(
                "{name} limit {:?} is not a quantity",
                wanted.limits.get(name)
            )
        });
        assert!(
            applied.value() >= limit.value() * (1.0 - 1e-9),
            "{name}: {} < {}",
            applied.value(),
            limit.value()
        );
    }
}
