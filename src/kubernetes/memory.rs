//! An in-memory Kubernetes API for the in-process tests: objects in maps, server-side
//! apply merging the container resources the charm applies, and switches to make calls
//! fail the way the real API does.

use std::cell::RefCell;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{KubeApi, KubeError};

/// The objects, the calls made, and the failure to answer with.
#[derive(Debug, Default)]
pub struct InMemoryKube {
    /// The namespace.
    pub namespace: String,
    /// StatefulSets by name.
    pub stateful_sets: RefCell<BTreeMap<String, StatefulSet>>,
    /// ConfigMaps by name.
    pub config_maps: RefCell<BTreeMap<String, ConfigMap>>,
    /// When set, every call fails with it.
    pub failure: RefCell<Option<KubeError>>,
    /// When set, applies fail with it (as the API refuses an invalid object).
    pub refuse_apply: RefCell<Option<KubeError>>,
    /// Every call, as `verb name` (`apply-dry-run` for dry runs).
    pub calls: RefCell<Vec<String>>,
    /// Limits of the kratos container that another field manager owns: an apply keeps
    /// them whatever it asks (as a server-side apply keeps others' fields).
    pub foreign_limits: RefCell<BTreeMap<String, Quantity>>,
}

impl InMemoryKube {
    /// An empty namespace.
    pub fn new(namespace: &str) -> InMemoryKube {
        InMemoryKube {
            namespace: namespace.to_string(),
            ..InMemoryKube::default()
        }
    }

    fn call(&self, verb: &str, name: &str) -> Result<(), KubeError> {
        self.calls.borrow_mut().push(format!("{verb} {name}"));
        match self.failure.borrow().clone() {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}

impl KubeApi for InMemoryKube {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn stateful_set(&self, name: &str) -> Result<Option<StatefulSet>, KubeError> {
        self.call("get-statefulset", name)?;
        Ok(self.stateful_sets.borrow().get(name).cloned())
    }

    fn config_map(&self, name: &str) -> Result<Option<ConfigMap>, KubeError> {
        self.call("get-configmap", name)?;
        Ok(self.config_maps.borrow().get(name).cloned())
    }

    fn create_config_map(&self, config_map: &ConfigMap) -> Result<(), KubeError> {
        let name = config_map.metadata.name.clone().unwrap_or_default();
        self.call("create-configmap", &name)?;
        let mut maps = self.config_maps.borrow_mut();
        if maps.contains_key(&name) {
            return Err(KubeError::Conflict(format!(
                "configmaps \"{name}\" already exists"
            )));
        }
        maps.insert(name, config_map.clone());
        Ok(())
    }

    fn delete_config_map(&self, name: &str) -> Result<(), KubeError> {
        self.call("delete-configmap", name)?;
        self.config_maps.borrow_mut().remove(name);
        Ok(())
    }

    /// Merges the patch's containers' resources into the stored StatefulSet (the only
    /// fields the charm applies) and bumps the generation when they change.
    fn apply_stateful_set(
        &self,
        patch: &StatefulSet,
        _field_manager: &str,
        dry_run: bool,
    ) -> Result<StatefulSet, KubeError> {
        let name = patch.metadata.name.clone().unwrap_or_default();
        let verb = if dry_run { "apply-dry-run" } else { "apply" };
        self.call(verb, &name)?;
        if let Some(refusal) = self.refuse_apply.borrow().clone() {
            return Err(refusal);
        }
        let mut sets = self.stateful_sets.borrow_mut();
        let Some(current) = sets.get(&name) else {
            return Err(KubeError::Invalid(format!(
                "statefulsets \"{name}\" not found"
            )));
        };
        let mut updated = current.clone();
        let wanted = patch
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .map(|s| s.containers.clone())
            .unwrap_or_default();
        if let Some(spec) = updated.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
            for container in &mut spec.containers {
                if let Some(want) = wanted.iter().find(|c| c.name == container.name) {
                    container.resources.clone_from(&want.resources);
                    let foreign = self.foreign_limits.borrow();
                    if !foreign.is_empty() {
                        let resources = container.resources.get_or_insert_with(Default::default);
                        resources
                            .limits
                            .get_or_insert_with(BTreeMap::new)
                            .extend(foreign.clone());
                    }
                }
            }
        }
        if updated != *current {
            let generation = updated.metadata.generation.unwrap_or(1) + 1;
            updated.metadata.generation = Some(generation);
        }
        if !dry_run {
            sets.insert(name, updated.clone());
        }
        Ok(updated)
    }
}
