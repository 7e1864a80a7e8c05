//! The Kubernetes fixture itself (tests/common/kube.rs): a real kube-apiserver on a real
//! etcd starts, the admin creates a model's namespace and the application's StatefulSet as
//! Juju would, RBAC lets the trusted identity read the StatefulSet and write ConfigMaps
//! and refuses the untrusted one, server-side apply records its field manager, and the
//! status subresource takes a simulated rollout.
// Test code: it may unwrap, index and panic like any test does (the charm's lints are
// for what runs in a hook).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments
)]

mod common;

use std::time::Instant;

use common::kube::{KubeCluster, TRUSTED, UNTRUSTED};
use serde_json::json;

const NS: &str = "identity";
const APP: &str = "kratos";

#[test]
fn kube_fixture_serves_rbac_and_server_side_apply() {
    let started = Instant::now();
    let kube = KubeCluster::start();
    eprintln!("kube cluster ready in {:?}", started.elapsed());

    kube.create_namespace(NS);
    let sts = kube.create_statefulset(NS, APP);
    assert_eq!(sts["spec"]["serviceName"], "kratos-endpoints");
    assert_eq!(sts["metadata"]["labels"]["app.kubernetes.io/name"], APP);
    let containers: Vec<&str> = sts["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(containers, ["charm", "kratos"]);
    kube.grant_trusted(NS);

    let sts_path = format!("/apis/apps/v1/namespaces/{NS}/statefulsets/{APP}");
    let (code, body) = kube.request(TRUSTED, "GET", &sts_path, None, "");
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["metadata"]["uid"], sts["metadata"]["uid"]);
    let (code, body) = kube.request(UNTRUSTED, "GET", &sts_path, None, "");
    assert_eq!(code, 403, "{body}");
    assert_eq!(body["reason"], "Forbidden");

    // A ConfigMap created with the token the unit would read from its service account.
    let sa = kube.service_account_dir(TRUSTED, NS);
    let token = std::fs::read_to_string(sa.path().join("token")).unwrap();
    assert_eq!(token, kube.token(TRUSTED));
    assert_eq!(
        std::fs::read_to_string(sa.path().join("namespace")).unwrap(),
        NS
    );
    assert!(std::fs::read_to_string(sa.path().join("ca.crt"))
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let cm = |name: &str| {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name},
            "data": {"k": "v"},
        })
    };
    let cms = format!("/api/v1/namespaces/{NS}/configmaps");
    let (code, body) = kube.request(TRUSTED, "POST", &cms, Some(cm("a")), "application/json");
    assert_eq!(code, 201, "{body}");
    let (code, body) = kube.request(UNTRUSTED, "POST", &cms, Some(cm("b")), "application/json");
    assert_eq!(code, 403, "{body}");
    // The Role is namespaced: nothing elsewhere.
    let (code, _) = kube.request(
        TRUSTED,
        "GET",
        "/api/v1/namespaces/default/configmaps",
        None,
        "",
    );
    assert_eq!(code, 403);

    // Server-side apply by the trusted identity, recorded under its field manager.
    let (code, body) = kube.request(
        TRUSTED,
        "PATCH",
        &format!("{sts_path}?fieldManager=charm-kratos"),
        Some(json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": APP, "annotations": {"kratos.charm/config-hash": "abc"}},
        })),
        "application/apply-patch+yaml",
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["metadata"]["annotations"]["kratos.charm/config-hash"],
        "abc"
    );
    assert_eq!(
        body["metadata"]["generation"], 1,
        "metadata only: no new generation"
    );
    let managers: Vec<(&str, &str)> = body["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap(),
                m["operation"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("charm-kratos", "Apply")),
        "{managers:?}"
    );
    let applied = body["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["manager"] == "charm-kratos")
        .unwrap();
    assert!(
        applied["fieldsV1"]["f:metadata"]["f:annotations"]["f:kratos.charm/config-hash"]
            .is_object(),
        "{applied}"
    );

    // A simulated rollout on the status subresource, readable by the trusted identity.
    let status = json!({
        "observedGeneration": 1,
        "replicas": 1,
        "readyReplicas": 1,
        "updatedReplicas": 1,
        "currentRevision": "kratos-1",
        "updateRevision": "kratos-1",
    });
    kube.set_statefulset_status(NS, APP, status.clone());
    let (code, body) = kube.request(TRUSTED, "GET", &format!("{sts_path}/status"), None, "");
    assert_eq!(code, 200, "{body}");
    for (key, value) in status.as_object().unwrap() {
        assert_eq!(&body["status"][key], value, "status.{key}");
    }
    // ... and not writable by it.
    let (code, _) = kube.request(
        TRUSTED,
        "PATCH",
        &format!("{sts_path}/status"),
        Some(json!({"status": {"readyReplicas": 0}})),
        "application/merge-patch+json",
    );
    assert_eq!(code, 403);

    let (host, port) = kube.api_server_host_port();
    assert_eq!(format!("https://{host}:{port}"), kube.url());
    eprintln!("kube fixture test done in {:?}", started.elapsed());
}
