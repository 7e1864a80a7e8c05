//! The kratos container's compute resources in the application's StatefulSet, from the
//! `cpu` and `memory` options, as the reference's `KubernetesComputeResourcesPatch` library
//! computes them (fixed requests; each limit at least its request), applied server-side
//! with a stable field manager only when they differ from what runs, and the rollout of
//! the new pods reported until it is done.

use std::collections::BTreeMap;

use juju_rs_ops::Status;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KubeQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::charm_config::{Quantity, ResourceLimits};
use crate::kubernetes::{KubeApi, KubeError};

/// The field manager of the apply: the library's, so a refresh from the reference charm
/// keeps owning (and so can remove) the same fields.
pub const FIELD_MANAGER: &str = "ResourcePatcher";
/// The container whose resources are set.
pub const CONTAINER: &str = "kratos";
/// The requests the library fixes.
const REQUESTS: [(&str, &str); 2] = [("cpu", "100m"), ("memory", "200Mi")];

/// Limits and requests, as quantity strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resources {
    /// `limits`
    pub limits: BTreeMap<String, String>,
    /// `requests`
    pub requests: BTreeMap<String, String>,
}

/// What the options ask for: the fixed requests, and each configured limit raised to its
/// request (cpu in cores to the millicore, rounded up; memory in bytes, rounded up).
pub fn wanted(limits: &ResourceLimits) -> Resources {
    let requests: BTreeMap<String, String> = REQUESTS
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let request = |name: &str| {
        REQUESTS
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| Quantity::parse(v))
            .map_or(0.0, |q| q.value())
    };
    let mut out = BTreeMap::new();
    if let Some(cpu) = &limits.cpu {
        out.insert("cpu".to_string(), cores(cpu.value().max(request("cpu"))));
    }
    if let Some(memory) = &limits.memory {
        out.insert(
            "memory".to_string(),
            bytes(memory.value().max(request("memory"))),
        );
    }
    Resources {
        limits: out,
        requests,
    }
}

/// Cores quantised to 0.001, rounded up, trailing zeros stripped (`0.5`, `2`); whole
/// cores from 10^12 on, where millicores are beyond f64's precision (and past 1.8e305
/// would overflow to `inf`, which Kubernetes refuses).
fn cores(value: f64) -> String {
    if value >= 1e12 {
        return format!("{:.0}", value.ceil());
    }
    let millis = (value * 1000.0 - 1e-6).ceil().max(0.0);
    let text = format!("{:.3}", millis / 1000.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Whole bytes, rounded up.
fn bytes(value: f64) -> String {
    format!("{:.0}", (value - 1e-6).ceil().max(0.0))
}

/// The kratos container's resources in a StatefulSet.
pub fn running(stateful_set: &StatefulSet) -> Resources {
    let container = stateful_set
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.iter().find(|c| c.name == CONTAINER));
    let resources = container.and_then(|c| c.resources.as_ref());
    let strings = |map: Option<&BTreeMap<String, KubeQuantity>>| {
        map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect())
            .unwrap_or_default()
    };
    Resources {
        limits: strings(resources.and_then(|r| r.limits.as_ref())),
        requests: strings(resources.and_then(|r| r.requests.as_ref())),
    }
}

/// Whether two sets of quantities mean the same (`1Gi` = `1073741824`, `0.5` = `500m`).
pub fn same(a: &Resources, b: &Resources) -> bool {
    let same_map = |x: &BTreeMap<String, String>, y: &BTreeMap<String, String>| {
        x.len() == y.len()
            && x.iter().all(|(k, v)| {
                y.get(k)
                    .is_some_and(|w| match (Quantity::parse(v), Quantity::parse(w)) {
                        // Relative for large values (f64 spacing exceeds 1e-9 there).
                        (Some(p), Some(q)) => {
                            (p.value() - q.value()).abs()
                                < 1e-9 * p.value().abs().max(q.value().abs()).max(1.0)
                        }
                        _ => v == w,
                    })
            })
    };
    same_map(&a.limits, &b.limits) && same_map(&a.requests, &b.requests)
}

/// The apply body: only what the field manager owns (the container's resources), with
/// the required fields copied from the live object.
pub fn patch(live: &StatefulSet, resources: &Resources) -> StatefulSet {
    let quantities = |m: &BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| (k.clone(), KubeQuantity(v.clone())))
            .collect::<BTreeMap<_, _>>()
    };
    let live_spec = live.spec.clone().unwrap_or_default();
    StatefulSet {
        metadata: ObjectMeta {
            name: live.metadata.name.clone(),
            ..ObjectMeta::default()
        },
        spec: Some(StatefulSetSpec {
            selector: live_spec.selector,
            service_name: live_spec.service_name,
            template: PodTemplateSpec {
                metadata: None,
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: CONTAINER.to_string(),
                        resources: Some(ResourceRequirements {
                            limits: Some(quantities(&resources.limits)),
                            requests: Some(quantities(&resources.requests)),
                            ..ResourceRequirements::default()
                        }),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                }),
            },
            ..StatefulSetSpec::default()
        }),
        status: None,
    }
}

/// `limits cpu=2, memory=1Gi; requests ...` for a status.
fn describe(resources: &Resources) -> String {
    let list = |m: &BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "limits {}; requests {}",
        list(&resources.limits),
        list(&resources.requests)
    )
}

/// How far the StatefulSet's pods are from its spec: `None` when all run the latest.
pub fn rollout(stateful_set: &StatefulSet) -> Option<String> {
    let wanted = stateful_set
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let status = stateful_set.status.clone().unwrap_or_default();
    let generation = stateful_set.metadata.generation.unwrap_or(0);
    if status.observed_generation.unwrap_or(0) < generation {
        return Some("the new pod spec is not picked up yet".into());
    }
    let updated = status.updated_replicas.unwrap_or(0);
    if updated < wanted {
        return Some(format!("{updated} of {wanted} pods updated"));
    }
    let ready = status.ready_replicas.unwrap_or(0);
    if ready < wanted {
        return Some(format!("{ready} of {wanted} pods ready"));
    }
    if status.current_revision.is_some() && status.current_revision != status.update_revision {
        return Some("the old revision is still running".into());
    }
    None
}

/// The leader applies the wanted resources when they differ; every unit reports the
/// rollout. Returns the status to add, if any (none of them stops the checklist).
pub fn converge(
    kube: &dyn KubeApi,
    live: &StatefulSet,
    limits: &ResourceLimits,
    leader: bool,
) -> Option<Status> {
    // The StatefulSet is the application's, named after it.
    let app = live.metadata.name.as_deref().unwrap_or_default();
    let wanted = wanted(limits);
    if leader && !same(&running(live), &wanted) {
        return match kube.apply_stateful_set(&patch(live, &wanted), FIELD_MANAGER, false) {
            // Applied, yet not what we asked: another field manager keeps fields we do
            // not own (a limit the options leave unset). Applying again changes nothing.
            Ok(applied) if !same(&running(&applied), &wanted) => Some(Status::blocked(format!(
                "Cannot set the cpu/memory limits: another field manager set the kratos \
                 container's resources ({}); remove its fields, or set cpu/memory to match",
                describe(&running(&applied))
            ))),
            Ok(_) => Some(Status::maintenance(
                "Applying the new cpu/memory limits: the pods are restarting",
            )),
            Err(KubeError::Forbidden(detail)) => Some(super::untrusted(app, &detail)),
            Err(KubeError::Invalid(detail)) => Some(Status::blocked(format!(
                "Kubernetes refused the cpu/memory limits ({detail}); fix them with juju config"
            ))),
            Err(KubeError::Conflict(detail)) => Some(Status::blocked(format!(
                "Cannot set the cpu/memory limits: another field manager owns the kratos \
                 container's resources ({detail})"
            ))),
            Err(e) => Some(Status::waiting(format!(
                "Waiting to apply the cpu/memory limits: {e}"
            ))),
        };
    }
    rollout(live)
        .map(|progress| Status::waiting(format!("Waiting for the pods to roll out ({progress})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::StatefulSetStatus;

    fn limits(cpu: Option<&str>, memory: Option<&str>) -> ResourceLimits {
        ResourceLimits {
            cpu: cpu.and_then(Quantity::parse),
            memory: memory.and_then(Quantity::parse),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn limits_follow_the_librarys_table() {
        // INTEGRATIONS.md §12.2, computed with the library.
        for (cpu, memory, expected) in [
            (None, None, map(&[])),
            (
                Some("500m"),
                Some("1Gi"),
                map(&[("cpu", "0.5"), ("memory", "1073741824")]),
            ),
            (
                Some("50m"),
                Some("0.5Gi"),
                map(&[("cpu", "0.1"), ("memory", "536870912")]),
            ),
            (
                Some("2"),
                Some("100Mi"),
                map(&[("cpu", "2"), ("memory", "209715200")]),
            ),
            (
                Some("1e12"),
                Some("1E"),
                map(&[("cpu", "1000000000000"), ("memory", "1000000000000000000")]),
            ),
        ] {
            let wanted = wanted(&limits(cpu, memory));
            assert_eq!(wanted.limits, expected, "{cpu:?} {memory:?}");
            assert!(!wanted.limits.values().any(|v| v.contains("inf")));
            assert_eq!(
                wanted.requests,
                map(&[("cpu", "100m"), ("memory", "200Mi")])
            );
        }
        // Past f64's millicores, whole cores: a number Kubernetes takes, never `inf`.
        let huge = cores(1e306);
        assert_eq!(huge.len(), 307, "{huge}");
        assert!(huge.bytes().all(|b| b.is_ascii_digit()), "{huge}");
    }

    #[test]
    fn quantities_compare_by_value() {
        let a = Resources {
            limits: map(&[("cpu", "0.5"), ("memory", "1Gi")]),
            requests: map(&[("cpu", "100m")]),
        };
        let b = Resources {
            limits: map(&[("cpu", "500m"), ("memory", "1073741824")]),
            requests: map(&[("cpu", "0.1")]),
        };
        assert!(same(&a, &b));
        let c = Resources {
            limits: map(&[("cpu", "0.6"), ("memory", "1Gi")]),
            requests: map(&[("cpu", "100m")]),
        };
        assert!(!same(&a, &c));
        assert!(!same(&a, &Resources::default()));
    }

    #[test]
    fn rollout_follows_the_status() {
        let mut sts = StatefulSet::default();
        sts.metadata.generation = Some(2);
        sts.spec = Some(StatefulSetSpec {
            replicas: Some(2),
            ..StatefulSetSpec::default()
        });
        sts.status = Some(StatefulSetStatus {
            observed_generation: Some(1),
            ..StatefulSetStatus::default()
        });
        assert!(rollout(&sts).unwrap().contains("not picked up"));
        sts.status = Some(StatefulSetStatus {
            observed_generation: Some(2),
            replicas: 2,
            updated_replicas: Some(1),
            ready_replicas: Some(2),
            ..StatefulSetStatus::default()
        });
        assert_eq!(rollout(&sts).unwrap(), "1 of 2 pods updated");
        sts.status = Some(StatefulSetStatus {
            observed_generation: Some(2),
            replicas: 2,
            updated_replicas: Some(2),
            ready_replicas: Some(2),
            current_revision: Some("r2".into()),
            update_revision: Some("r2".into()),
            ..StatefulSetStatus::default()
        });
        assert_eq!(rollout(&sts), None);
    }
}
