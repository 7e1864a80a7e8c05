//! What the charm reads from and does in Kubernetes, through [`KubeApi`]: the
//! `identity-schemas` and `oidc-providers` ConfigMaps (read every hook, created by the
//! leader when missing, removed with the application) and the kratos container's
//! resources in the application's StatefulSet.
//!
//! Without the API (not on Kubernetes) all of this is off. Without trust (403) the unit
//! says how to grant it and everything that does not need the API keeps working (a Kratos
//! already configured keeps its configuration, ConfigMaps' parts included). An API
//! that is down stops the checklist (the last good workload keeps running): dropping the
//! ConfigMaps' schemas and providers because they could not be read would break logins.

pub mod configmaps;
pub mod resources;

use juju_rs_ops::Status;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;
use sha1::{Digest, Sha1};

use crate::identity_schemas::IdentitySchemaSet;
use crate::inputs::Inputs;
use crate::integrations::Reading;
use crate::kratos_config::OidcProvider;
use crate::kubernetes::{KubeApi, KubeError};

/// What Kubernetes holds for this unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// The application's StatefulSet (`None` when it cannot be read).
    pub stateful_set: Option<StatefulSet>,
    /// Identity schemas from the `identity-schemas` ConfigMap, when it has any.
    pub identity_schemas: Option<IdentitySchemaSet>,
    /// OIDC providers from the `oidc-providers` ConfigMap.
    pub providers: Vec<OidcProvider>,
    /// Which ConfigMaps exist (the leader creates the others).
    pub missing_config_maps: Vec<&'static str>,
    /// What does not stop the rest (no trust).
    pub notices: Vec<Status>,
    /// A digest of what was read (the ConfigMaps' data, the StatefulSet's generation,
    /// resources and rollout): the update-status shortcut compares it (see `steady`).
    pub fingerprint: String,
    /// The API refused to show the ConfigMaps (no trust): what they hold is unknown, so
    /// a Kratos already configured keeps its configuration (see `charm::reconcile`).
    pub unreadable: bool,
}

/// The status without trust.
pub fn untrusted(app: &str, detail: &str) -> Status {
    Status::blocked(format!(
        "The Kubernetes API refused access ({detail}): run juju trust {app} --scope=cluster"
    ))
}

/// Reads the StatefulSet and the ConfigMaps.
pub fn read(kube: &dyn KubeApi, app: &str) -> Reading<Cluster> {
    match try_read(kube, app) {
        Ok(Ok(cluster)) => Reading::Ready(cluster),
        Ok(Err(bad)) => Reading::Blocked(bad),
        Err(KubeError::Forbidden(detail)) => Reading::Ready(Cluster {
            stateful_set: None,
            identity_schemas: None,
            providers: Vec::new(),
            missing_config_maps: Vec::new(),
            notices: vec![untrusted(app, &detail)],
            fingerprint: String::new(),
            unreadable: true,
        }),
        Err(e) => Reading::Waiting(format!("Waiting for the Kubernetes API: {e}")),
    }
}

/// The StatefulSet and the two ConfigMaps, each if it exists.
type Objects = (Option<StatefulSet>, Option<ConfigMap>, Option<ConfigMap>);

/// The three objects the charm reads.
fn objects(kube: &dyn KubeApi, app: &str) -> Result<Objects, KubeError> {
    Ok((
        kube.stateful_set(app)?,
        kube.config_map(configmaps::IDENTITY_SCHEMAS)?,
        kube.config_map(configmaps::OIDC_PROVIDERS)?,
    ))
}

/// A digest of what the charm depends on in those objects (the ConfigMaps' existence and
/// data; the StatefulSet's uid, generation, spec and status).
fn digest(
    stateful_set: Option<&StatefulSet>,
    schemas: Option<&ConfigMap>,
    providers: Option<&ConfigMap>,
) -> String {
    let part = |cm: Option<&ConfigMap>| cm.map(|cm| cm.data.clone());
    let sts = stateful_set.map(|s| {
        (
            s.metadata.uid.clone(),
            s.metadata.generation,
            s.spec.clone(),
            s.status.clone(),
        )
    });
    let text = serde_json::json!([part(schemas), part(providers), sts]).to_string();
    Sha1::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The digest of what Kubernetes holds now (three reads), for the update-status shortcut.
pub fn fingerprint(kube: &dyn KubeApi, app: &str) -> Result<String, KubeError> {
    let (stateful_set, schemas, providers) = objects(kube, app)?;
    Ok(digest(
        stateful_set.as_ref(),
        schemas.as_ref(),
        providers.as_ref(),
    ))
}

fn try_read(kube: &dyn KubeApi, app: &str) -> Result<Result<Cluster, String>, KubeError> {
    let (stateful_set, schemas, providers) = objects(kube, app)?;
    let fingerprint = digest(stateful_set.as_ref(), schemas.as_ref(), providers.as_ref());
    let missing_config_maps = [
        (configmaps::IDENTITY_SCHEMAS, schemas.is_none()),
        (configmaps::OIDC_PROVIDERS, providers.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, missing)| missing.then_some(name))
    .collect();
    let identity_schemas = match configmaps::identity_schemas(schemas.as_ref()) {
        Ok(set) => set,
        Err(bad) => return Ok(Err(bad)),
    };
    let providers = match configmaps::providers(providers.as_ref()) {
        Ok(providers) => providers,
        Err(bad) => return Ok(Err(bad)),
    };
    Ok(Ok(Cluster {
        stateful_set,
        identity_schemas,
        providers,
        missing_config_maps,
        notices: Vec::new(),
        fingerprint,
        unreadable: false,
    }))
}

/// Brings Kubernetes in line with the inputs: the leader creates missing ConfigMaps and
/// applies the resources; every unit reports the rollout. Returns the notices (including
/// the reading's), none of which stops the checklist.
pub fn converge(kube: &dyn KubeApi, app: &str, inputs: &Inputs) -> Vec<Status> {
    let Some(cluster) = inputs.cluster.ready() else {
        return Vec::new();
    };
    let mut notices = cluster.notices.clone();
    if inputs.leader && !cluster.missing_config_maps.is_empty() {
        notices.extend(configmaps::create_missing(
            kube,
            app,
            &cluster.missing_config_maps,
            cluster.stateful_set.as_ref(),
        ));
    }
    if let (Some(live), Some(config)) = (&cluster.stateful_set, inputs.config.ready()) {
        notices.extend(resources::converge(
            kube,
            live,
            &config.resource_limits,
            inputs.leader,
        ));
    }
    notices
}

/// The `remove` hook of the application's last unit: the leader deletes the ConfigMaps
/// (their owner reference would also have Kubernetes delete them with the StatefulSet).
pub fn remove(kube: &dyn KubeApi, leader: bool, planned_units: usize) -> Result<(), KubeError> {
    if leader && planned_units == 0 {
        configmaps::remove(kube)?;
    }
    Ok(())
}
