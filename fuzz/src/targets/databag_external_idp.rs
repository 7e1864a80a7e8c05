//! kratos-external-idp: an integrator's application bag (its `providers` JSON) into the
//! OIDC providers of kratos.yaml.

use crate::{default_spec, input, render, Databag};
use charm_kratos::integrations::external_idp::{self, ExternalProviders};
use charm_kratos::integrations::route::Ingress;
use charm_kratos::integrations::route::PublicIngress;
use charm_kratos::integrations::Contribute;
use juju_rs_ops::Relation;

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(bag) = input::<Databag>(data) else {
        return;
    };
    let relation = Relation {
        id: 4,
        endpoint: external_idp::ENDPOINT.into(),
        remote_app: Some("kratos-external-idp-integrator".into()),
        remote_units: vec!["kratos-external-idp-integrator/0".into()],
    };
    match external_idp::parse(&relation, &bag) {
        Err(bad) => {
            // A status never quotes a client secret or private key.
            let message = bad.to_string();
            if let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(
                bag.get("providers").map_or("", String::as_str),
            ) {
                for item in &items {
                    for key in ["client_secret", "private_key", "apple_private_key"] {
                        if let Some(secret) = item.get(key).and_then(|v| v.as_str()) {
                            let rest = item.to_string().replace(secret, "");
                            crate::assert_hidden(secret, &[rest.as_str()], &message);
                        }
                    }
                }
            }
        }
        // Rendering is the slow part: only with providers.
        Ok(providers) if providers.is_empty() => {}
        Ok(providers) => {
            let mut spec = default_spec();
            ExternalProviders {
                relations: vec![(relation.id, providers)],
            }
            .contribute(&mut spec);
            let url = url::Url::parse("https://iam.example.com/iam-kratos").ok();
            PublicIngress(Ingress { url }).contribute(&mut spec);
            render(&spec);
        }
    }
}
