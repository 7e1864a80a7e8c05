//! `grafana-dashboard` (grafana_dashboard, `charms.grafana_k8s.v0.grafana_dashboard`,
//! provider): the leader publishes our Kratos dashboard
//! (`templates/grafana_dashboards/kratos.json`) in its application bag, key
//! `dashboards`, in the library's shape: `{"templates": {"file:kratos.json": {...}},
//! "uuid": ...}`, the dashboard JSON xz-compressed then base64-encoded.
//!
//! The dashboard keeps the reference's identity: its `uid` is the one the library gave
//! the reference's file (a 40-hex uid, which the library keeps as is), its title and
//! template key the same, so a Grafana that showed the Python charm's dashboard shows
//! ours in its place. Unlike the reference, whose `uuid` is random on every write (and
//! so churns relation-changed on every config-changed), ours is derived from the
//! templates: the bag changes exactly when the dashboard (or the topology) does.

use std::io::Write;

use base64::Engine;
use juju_rs_ops::model::{Bag, Model};
use lzma_rust2::{XzOptions, XzWriter};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use super::{Databag, Integration, Reading};
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::topology::Topology;

/// The endpoint.
pub const ENDPOINT: &str = "grafana-dashboard";
/// The template's key: `file:` and the stem of the reference's `kratos.json.tmpl`.
pub const TEMPLATE_KEY: &str = "file:kratos.json";
/// `shake_256("kratos-file:kratos.json").hexdigest(8)`, as the library computes it.
pub const DASHBOARD_ALT_UID: &str = "00243581eeb55c29";
/// The dashboard.
const DASHBOARD: &str = include_str!("../../templates/grafana_dashboards/kratos.json");
/// xz preset 6, Python's `lzma.compress` default...
const XZ_PRESET: u32 = 6;
/// ...with a dictionary fitted to the content (the preset's 8 MiB would be allocated on
/// every hook for a dashboard of a few KiB; the stream decodes the same way).
const XZ_MAX_DICT: u32 = 64 * 1024;

/// The integration: it only publishes.
pub struct GrafanaDashboard;

impl Integration for GrafanaDashboard {
    type Data = ();

    fn read(_model: &Model) -> Result<Reading<()>, CharmError> {
        Ok(Reading::Absent)
    }

    /// The leader writes the same bag on every relation; unchanged keys are not
    /// rewritten.
    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        if !inputs.leader {
            return Ok(());
        }
        let relations = model.relations(ENDPOINT)?;
        if relations.is_empty() {
            return Ok(());
        }
        let bag = Databag::from([(
            "dashboards".to_string(),
            dashboards(DASHBOARD, &Topology::of(model))?,
        )]);
        for relation in relations {
            model.update_databag(&relation, Bag::LocalApp, &bag)?;
        }
        Ok(())
    }
}

/// The `dashboards` value for `dashboard` (the JSON text) published by `topology`'s
/// unit (pure).
pub fn dashboards(dashboard: &str, topology: &Topology) -> Result<String, CharmError> {
    let serialise = |message: String| CharmError::Serialise {
        what: "the Grafana dashboard",
        message,
    };
    let parsed: Value = serde_json::from_str(dashboard).map_err(|e| serialise(e.to_string()))?;
    let content = xz_base64(parsed.to_string().as_bytes()).map_err(|e| serialise(e.to_string()))?;
    let templates = json!({
        TEMPLATE_KEY: {
            "charm": topology.charm_name,
            "content": content,
            "juju_topology": topology.unit_json(),
            "inject_dropdowns": true,
            "dashboard_alt_uid": DASHBOARD_ALT_UID,
        }
    });
    let uuid = content_uuid(templates.to_string().as_bytes());
    Ok(json!({ "templates": templates, "uuid": uuid }).to_string())
}

/// base64(xz(data)): the library's `LZMABase64.compress` (an `.xz` stream, CRC64).
pub fn xz_base64(data: &[u8]) -> std::io::Result<String> {
    let mut options = XzOptions::with_preset(XZ_PRESET);
    let fitted = u32::try_from(data.len()).unwrap_or(u32::MAX).max(4096);
    options.lzma_options.dict_size = fitted.min(XZ_MAX_DICT);
    let mut writer = XzWriter::new(Vec::new(), options)?;
    writer.write_all(data)?;
    let compressed = writer.finish()?;
    Ok(base64::engine::general_purpose::STANDARD.encode(compressed))
}

/// A uuid (version 5 layout: SHA-1 of the content) that changes only with `content`.
pub fn content_uuid(content: &[u8]) -> String {
    let digest = Sha1::digest(content);
    let mut bytes = [0u8; 16];
    for (byte, digested) in bytes.iter_mut().zip(digest.iter()) {
        *byte = *digested;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_string();
    [
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32),
    ]
    .join("-")
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::topology::test_topology;

    /// The dashboard a consumer gets: base64, then xz (as Python's `lzma.decompress`).
    fn decode(content: &str) -> Value {
        let compressed = base64::engine::general_purpose::STANDARD
            .decode(content)
            .unwrap();
        assert_eq!(&compressed[..6], b"\xfd7zXZ\x00", "an .xz stream");
        let mut json = String::new();
        lzma_rust2::XzReader::new(compressed.as_slice(), false)
            .read_to_string(&mut json)
            .unwrap();
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn the_published_template_has_the_librarys_shape_and_decodes_to_our_dashboard() {
        let bag: Value =
            serde_json::from_str(&dashboards(DASHBOARD, &test_topology()).unwrap()).unwrap();
        let templates = bag["templates"].as_object().unwrap();
        assert_eq!(templates.keys().collect::<Vec<_>>(), [TEMPLATE_KEY]);
        let template = &templates[TEMPLATE_KEY];
        assert_eq!(template["charm"], "kratos");
        assert_eq!(template["inject_dropdowns"], true);
        assert_eq!(template["dashboard_alt_uid"], "00243581eeb55c29");
        assert_eq!(template["juju_topology"], test_topology().unit_json());
        let dashboard = decode(template["content"].as_str().unwrap());
        assert_eq!(dashboard, serde_json::from_str::<Value>(DASHBOARD).unwrap());
        // The reference dashboard's identity in Grafana.
        assert_eq!(dashboard["uid"], "be58e096517bdc04ef005b9a4c2a25ecf0f701d1");
        assert_eq!(dashboard["title"], "Kratos Operator Dashboard");
        let tags = dashboard["tags"].as_array().unwrap();
        assert!(tags.iter().any(|t| t == "charm: kratos"), "{tags:?}");
        let uuid = bag["uuid"].as_str().unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.as_bytes()[14], b'5');
    }

    #[test]
    fn the_uuid_changes_only_with_the_content() {
        let topology = test_topology();
        let first = dashboards(DASHBOARD, &topology).unwrap();
        assert_eq!(dashboards(DASHBOARD, &topology).unwrap(), first);
        let other_unit = Topology {
            unit: "kratos/1".into(),
            ..topology.clone()
        };
        let moved: Value =
            serde_json::from_str(&dashboards(DASHBOARD, &other_unit).unwrap()).unwrap();
        let first: Value = serde_json::from_str(&first).unwrap();
        assert_ne!(moved["uuid"], first["uuid"]);
        assert_eq!(content_uuid(b""), "da39a3ee-5e6b-5b0d-b255-bfef95601890");
    }

    #[test]
    fn the_shipped_dashboard_uses_kratos_metrics_and_the_cos_datasources() {
        let dashboard: Value = serde_json::from_str(DASHBOARD).unwrap();
        let variables: Vec<&str> = dashboard["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        for name in [
            "prometheusds",
            "lokids",
            "juju_model",
            "juju_application",
            "juju_unit",
        ] {
            assert!(variables.contains(&name), "{name}");
        }
        // Metrics that Kratos (ory/x prometheusx) exposes on /admin/metrics/prometheus.
        let text = DASHBOARD.to_string();
        for metric in [
            "http_requests_total",
            "http_requests_duration_seconds_bucket",
            "http_requests_statuses_total",
        ] {
            assert!(text.contains(metric), "{metric}");
        }
        assert!(dashboards("not json", &test_topology()).is_err());
    }
}
