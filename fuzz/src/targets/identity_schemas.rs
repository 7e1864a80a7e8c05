//! The `identity_schemas` option (a JSON object of schema id to schema) and
//! `default_identity_schema_id` into the schema set, and into kratos.yaml.

use crate::{input, render};
use arbitrary::Arbitrary;
use charm_kratos::charm_config::CharmConfig;
use charm_kratos::identity_schemas::select_identity_schemas;
use charm_kratos::workload::WorkloadSpec;
use serde::Deserialize;

#[derive(Debug, Deserialize, Arbitrary)]
struct Input {
    #[serde(default)]
    default_identity_schema_id: String,
    #[serde(default)]
    identity_schemas: String,
}

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(input) = input::<Input>(data) else {
        return;
    };
    let config = CharmConfig {
        identity_schemas: input.identity_schemas,
        default_identity_schema_id: input.default_identity_schema_id,
        ..CharmConfig::default()
    };
    let valid = match config.validate() {
        Ok(valid) => valid,
        Err(problem) => {
            assert!(problem.option.contains("identity_schema"), "{problem}");
            return;
        }
    };
    if let Some(set) = &valid.identity_schemas {
        assert!(set.get(set.default_id()).is_some());
    }
    let selection = select_identity_schemas(valid.identity_schemas.as_ref(), None)
        .expect("valid config schemas are chosen");
    render(&WorkloadSpec::from_config(&valid, selection.set, None));
}
