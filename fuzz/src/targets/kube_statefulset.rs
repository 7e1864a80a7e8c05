//! The StatefulSet as the Kubernetes API answers it: the kratos container's running
//! resources, the rollout's progress, and the server-side-apply patch made from them.

use charm_kratos::cluster::resources;
use k8s_openapi::api::apps::v1::StatefulSet;

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Ok(live) = serde_json::from_slice::<StatefulSet>(data) else {
        return;
    };
    let _ = resources::rollout(&live);
    let running = resources::running(&live);
    // Patching the resources that run gives a StatefulSet running the same ones.
    let patch = resources::patch(&live, &running);
    serde_json::to_vec(&patch).expect("the patch serialises");
    assert!(resources::same(&resources::running(&patch), &running));
}
