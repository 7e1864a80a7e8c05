//! The `identity-schemas` and `oidc-providers` ConfigMaps as the Kubernetes API answers
//! them: schemas and providers, and the kratos.yaml they make.

use std::collections::BTreeMap;

use crate::{default_spec, input, render};
use charm_kratos::cluster::configmaps;
use charm_kratos::identity_schemas::select_identity_schemas;
use charm_kratos::integrations::route::{Ingress, PublicIngress};
use charm_kratos::integrations::Contribute;
use k8s_openapi::api::core::v1::ConfigMap;

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    // The object as the API sends it; else (for the fuzzer's sake) its data as a map.
    let config_map = match serde_json::from_slice::<ConfigMap>(data) {
        Ok(config_map) => config_map,
        Err(_) => match input::<BTreeMap<String, String>>(data) {
            Some(data) => ConfigMap {
                data: Some(data),
                ..ConfigMap::default()
            },
            None => return,
        },
    };
    let mut spec = default_spec();
    let mut read = false;
    if let Ok(Some(set)) = configmaps::identity_schemas(Some(&config_map)) {
        let selection = select_identity_schemas(Some(&set), None).expect("a valid set is chosen");
        spec.render.identity_schemas = selection.set;
        read = true;
    }
    match configmaps::providers(Some(&config_map)) {
        Ok(providers) => {
            read |= !providers.is_empty();
            spec.render.oidc_providers.extend(providers);
            let url = url::Url::parse("https://iam.example.com/iam-kratos").ok();
            PublicIngress(Ingress { url }).contribute(&mut spec);
        }
        Err(message) => {
            assert!(message.contains(configmaps::OIDC_PROVIDERS), "{message}");
        }
    }
    // Rendering is the slow part: only for what the ConfigMaps gave.
    if read {
        render(&spec);
    }
}
