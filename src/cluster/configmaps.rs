//! The `identity-schemas` and `oidc-providers` ConfigMaps, with the names, keys, labels
//! and owner reference the reference charm uses (the admin UI learns the names from
//! kratos-info and writes into them).
//!
//! Unlike the reference, their content is decoded to what it means (schema text as JSON,
//! `idps.json` as providers in the external_provider library's shape) instead of crashing
//! every hook, and a problem names the ConfigMap and key.

use std::collections::BTreeMap;

use juju_rs_ops::Status;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::Value;

use crate::identity_schemas::{schemas_from_configmap, IdentitySchemaSet};
use crate::integrations::external_idp;
use crate::kratos_config::OidcProvider;
use crate::kubernetes::{KubeApi, KubeError};

/// The identity schemas' ConfigMap.
pub const IDENTITY_SCHEMAS: &str = "identity-schemas";
/// The OIDC providers' ConfigMap.
pub const OIDC_PROVIDERS: &str = "oidc-providers";
/// The key of `oidc-providers` holding the providers.
pub const PROVIDERS_KEY: &str = "idps.json";

/// The identity schemas in the ConfigMap; `None` when it is missing or empty.
pub fn identity_schemas(
    config_map: Option<&ConfigMap>,
) -> Result<Option<IdentitySchemaSet>, String> {
    let Some(data) = config_map
        .and_then(|c| c.data.as_ref())
        .filter(|d| !d.is_empty())
    else {
        return Ok(None);
    };
    schemas_from_configmap(data)
        .map(Some)
        .map_err(|e| format!("{e}; the last good configuration keeps running"))
}

/// The providers in the ConfigMap's `idps.json` (none when missing or empty).
pub fn providers(config_map: Option<&ConfigMap>) -> Result<Vec<OidcProvider>, String> {
    let Some(text) = config_map
        .and_then(|c| c.data.as_ref())
        .and_then(|d| d.get(PROVIDERS_KEY))
        .filter(|t| !t.trim().is_empty())
    else {
        return Ok(Vec::new());
    };
    let bad = |message: String| {
        format!("ConfigMap {OIDC_PROVIDERS} key {PROVIDERS_KEY}: {message}; fix it (kubectl edit configmap {OIDC_PROVIDERS})")
    };
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
        return Err(bad("not a JSON list of providers".into()));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(fields) => {
                external_idp::provider(fields).map_err(|m| bad(format!("providers[{index}]: {m}")))
            }
            _ => Err(bad(format!("providers[{index}] is not an object"))),
        })
        .collect()
}

/// A new, empty ConfigMap of the application, owned by its StatefulSet (so Kubernetes
/// removes it with the application).
pub fn new_config_map(
    name: &str,
    namespace: &str,
    app: &str,
    owner: Option<&StatefulSet>,
) -> ConfigMap {
    let owner_references = owner.and_then(|sts| {
        Some(vec![OwnerReference {
            api_version: "apps/v1".into(),
            kind: "StatefulSet".into(),
            name: sts.metadata.name.clone()?,
            uid: sts.metadata.uid.clone()?,
            block_owner_deletion: Some(true),
            controller: Some(true),
        }])
    });
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(BTreeMap::from([
                ("juju-app-name".to_string(), app.to_string()),
                (
                    "app.kubernetes.io/managed-by".to_string(),
                    "juju".to_string(),
                ),
            ])),
            owner_references,
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    }
}

/// The leader creates the ConfigMaps that are missing (never touching existing ones, which
/// an administrator may have filled). Another unit creating one first is fine.
pub fn create_missing(
    kube: &dyn KubeApi,
    app: &str,
    missing: &[&str],
    owner: Option<&StatefulSet>,
) -> Option<Status> {
    for name in missing {
        match kube.create_config_map(&new_config_map(name, kube.namespace(), app, owner)) {
            Ok(()) | Err(KubeError::Conflict(_)) => {}
            Err(KubeError::Forbidden(detail)) => return Some(super::untrusted(app, &detail)),
            Err(e) => {
                return Some(Status::waiting(format!(
                    "Waiting to create ConfigMap {name}: {e}"
                )))
            }
        }
    }
    None
}

/// Removes both ConfigMaps (the last unit of a removed application).
pub fn remove(kube: &dyn KubeApi) -> Result<(), KubeError> {
    for name in [IDENTITY_SCHEMAS, OIDC_PROVIDERS] {
        kube.delete_config_map(name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_map(pairs: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..ConfigMap::default()
        }
    }

    const SCHEMA: &str = r#"{"type":"object","properties":{"traits":{"type":"object","properties":{"email":{"type":"string"}}}}}"#;

    #[test]
    fn schemas_are_decoded_with_their_default() {
        let set = identity_schemas(Some(&config_map(&[
            ("default.schema", "staff"),
            ("staff", SCHEMA),
        ])))
        .unwrap()
        .unwrap();
        assert_eq!(set.default_id(), "staff");
        assert_eq!(identity_schemas(None).unwrap(), None);
        assert_eq!(identity_schemas(Some(&ConfigMap::default())).unwrap(), None);
    }

    #[test]
    fn bad_schemas_name_the_configmap_and_key() {
        let message = identity_schemas(Some(&config_map(&[
            ("default.schema", "staff"),
            ("staff", "{oops"),
        ])))
        .unwrap_err();
        assert!(
            message.contains("identity-schemas") && message.contains("'staff'"),
            "{message}"
        );
        let message = identity_schemas(Some(&config_map(&[("staff", SCHEMA)]))).unwrap_err();
        assert!(message.contains("default.schema"), "{message}");
    }

    #[test]
    fn providers_are_read_in_the_librarys_shape_and_bad_ones_named() {
        let idps = r#"[{"provider":"github","client_id":"a","client_secret":"hunter2","id":"gh"}]"#;
        let found = providers(Some(&config_map(&[("idps.json", idps)]))).unwrap();
        assert_eq!(found[0].id, "gh");
        assert_eq!(
            providers(Some(&config_map(&[("other", "x")]))).unwrap(),
            vec![]
        );
        for (bad, key) in [
            ("{", "not a JSON list"),
            (
                r#"[{"provider":"github","client_secret":"hunter2"}]"#,
                "providers[0]: client_id",
            ),
            ("[1]", "providers[0] is not an object"),
        ] {
            let message = providers(Some(&config_map(&[("idps.json", bad)]))).unwrap_err();
            assert!(
                message.contains("oidc-providers") && message.contains("idps.json"),
                "{message}"
            );
            assert!(message.contains(key), "{message}");
            assert!(!message.contains("hunter2"));
        }
    }

    #[test]
    fn new_configmaps_carry_the_labels_and_the_owner() {
        let sts = StatefulSet {
            metadata: ObjectMeta {
                name: Some("kratos".into()),
                uid: Some("u-1".into()),
                ..ObjectMeta::default()
            },
            ..StatefulSet::default()
        };
        let cm = new_config_map(OIDC_PROVIDERS, "iam", "kratos", Some(&sts));
        assert_eq!(cm.metadata.namespace.as_deref(), Some("iam"));
        assert_eq!(
            cm.metadata.labels.as_ref().unwrap()["juju-app-name"],
            "kratos"
        );
        let owner = &cm.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("StatefulSet", "u-1", Some(true))
        );
        assert!(new_config_map(OIDC_PROVIDERS, "iam", "kratos", None)
            .metadata
            .owner_references
            .is_none());
    }
}
