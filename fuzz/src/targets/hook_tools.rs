//! Hook-tool output: every tool the framework reads answers with the fuzzer's bytes
//! (a map of tool name to stdout; tools left out fail as "not found"), and the model's
//! readers decode them: config-get, is-leader, status-get, opened-ports, action-get,
//! network-get, goal-state, state-get (and the relation snapshot kept in it),
//! relation-ids, relation-list, relation-get, secret-get, secret-info-get, secret-ids,
//! resource-get.

use std::collections::BTreeMap;

use crate::{input, FakeJuju};
use juju_rs_ops::model::{Bag, SecretRead};
use serde::Deserialize;

/// A databag decoded into typed fields, as charms read them.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Typed {
    endpoints: Option<String>,
    port: Option<u16>,
    tls: Option<bool>,
    hosts: Option<Vec<String>>,
    nested: Option<BTreeMap<String, u32>>,
    any: Option<serde_json::Value>,
}

/// Config options of each kind.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Config {
    #[serde(default)]
    log_level: String,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    workers: Option<u32>,
    #[serde(default)]
    ratio: Option<f64>,
}

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(answers) = input::<BTreeMap<String, String>>(data) else {
        return;
    };
    let juju = FakeJuju::new(answers.into_iter().map(|(k, v)| (k, v.into_bytes())));
    let model = juju.model(&[
        ("JUJU_DISPATCH_PATH", "hooks/pg-database-relation-changed"),
        ("JUJU_RELATION", "pg-database"),
        ("JUJU_RELATION_ID", "pg-database:3"),
        ("JUJU_REMOTE_APP", "postgresql-k8s"),
    ]);
    let _ = model.use_relation_cache("relations");
    let _ = model.config_json();
    let _ = model.config::<Config>();
    let _ = model.is_leader();
    let _ = model.status();
    let _ = model.app_status();
    let _ = model.opened_ports();
    let _ = model.action_params_json();
    let _ = model.network_get("metrics-endpoint").map(|n| {
        (
            n.ingress_address().map(str::len),
            n.bind_address().map(str::len),
        )
    });
    let _ = model.planned_units();
    let _ = model.state_get();
    if let Ok(relations) = model.relations("pg-database") {
        for relation in &relations {
            let _ = model.databag(relation, Bag::RemoteApp);
            let _ = model.databag_as::<Typed>(relation, Bag::LocalApp);
            for unit in &relation.remote_units {
                let _ = model.databag(relation, Bag::Unit(unit.clone()));
            }
        }
    }
    let _ = model.remote_app_bags("pg-database");
    let _ = model.secret_get(
        Some("secret:d1abc2defghijklmno30"),
        None,
        SecretRead::Refresh,
    );
    let _ = model.secret_get(None, Some("cookie_secret"), SecretRead::Current);
    let _ = model.secret_info(Some("secret:d1abc2defghijklmno30"), None);
    let _ = model.secret_ids();
    let _ = model.resource_get("oci-image");
    let _ = model.save_relation_cache();
}
