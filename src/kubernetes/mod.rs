//! The Kubernetes API, behind a small trait: what the charm reads and writes (its
//! StatefulSet and its two ConfigMaps), as k8s-openapi's typed objects. The charm's logic
//! takes `&dyn KubeApi`; [`client::KubeClient`] is the real one (kube-rs, in-cluster
//! credentials), [`memory::InMemoryKube`] an in-memory one for the in-process tests.

pub mod client;
pub mod memory;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;

/// Why a call to the API failed, by what the charm does about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    /// 401/403: the application is not trusted (or its token is not accepted).
    #[error("the Kubernetes API refused the request ({0})")]
    Forbidden(String),
    /// 409: the object exists, or someone else owns the fields.
    #[error("conflict in the Kubernetes API: {0}")]
    Conflict(String),
    /// 400/422: the API rejects the object (e.g. an invalid quantity).
    #[error("the Kubernetes API rejected the request: {0}")]
    Invalid(String),
    /// The API could not be reached, timed out, or failed (5xx).
    #[error("the Kubernetes API is unavailable: {0}")]
    Unavailable(String),
    /// The in-cluster configuration is unusable (token or CA unreadable).
    #[error("cannot use the Kubernetes service account: {0}")]
    Config(String),
}

/// What the charm asks of the Kubernetes API, in its own namespace.
pub trait KubeApi {
    /// The namespace (the model's).
    fn namespace(&self) -> &str;

    /// A StatefulSet, `None` if it does not exist.
    fn stateful_set(&self, name: &str) -> Result<Option<StatefulSet>, KubeError>;

    /// A ConfigMap, `None` if it does not exist.
    fn config_map(&self, name: &str) -> Result<Option<ConfigMap>, KubeError>;

    /// Creates a ConfigMap ([`KubeError::Conflict`] if it exists).
    fn create_config_map(&self, config_map: &ConfigMap) -> Result<(), KubeError>;

    /// Deletes a ConfigMap (gone already is fine).
    fn delete_config_map(&self, name: &str) -> Result<(), KubeError>;

    /// Server-side applies `patch` to the StatefulSet of the same name as
    /// `field_manager`, without forcing; `dry_run` validates without persisting.
    fn apply_stateful_set(
        &self,
        patch: &StatefulSet,
        field_manager: &str,
        dry_run: bool,
    ) -> Result<StatefulSet, KubeError>;
}
