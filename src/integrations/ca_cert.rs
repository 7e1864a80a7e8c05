//! `receive-ca-cert` (certificate_transfer,
//! `charms.certificate_transfer_interface.v1.certificate_transfer`, requirer): the leader
//! writes `version` = `1`; providers answer with `certificates` (a JSON list of PEM) in
//! their application bag, or, in the v0 format, with `ca`/`chain` in their unit bags.
//!
//! The CAs of every relation go into one bundle file in a directory of their own, which
//! Kratos (Go) reads in addition to the image's system bundle through `SSL_CERT_DIR`.
//! Unlike the reference, the image's own bundle is never replaced, a changed bundle
//! restarts Kratos (Go reads its trust store once), and genuine v0 providers (raw PEM in
//! `ca`) are read too.

use std::collections::BTreeSet;

use juju_rs_ops::model::{Bag, Model, Relation};
use serde_json::Value;

use super::{BadRelationData, Contribute, Databag, Integration, Reading};
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::workload::WorkloadSpec;

/// The endpoint.
pub const ENDPOINT: &str = "receive-ca-cert";
/// Where the related CAs are pushed in the container.
pub const CA_DIR: &str = "/etc/config/kratos/ca-certificates";
/// The bundle file in [`CA_DIR`].
pub const CA_BUNDLE: &str = "/etc/config/kratos/ca-certificates/receive-ca-cert.crt";
/// Go's default certificate directory on Linux, kept when `SSL_CERT_DIR` is set.
const SYSTEM_CA_DIR: &str = "/etc/ssl/certs";

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The CAs of every relation: each certificate once, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCas {
    /// PEM certificates, normalised (one block each, ending in a newline).
    pub certificates: BTreeSet<String>,
}

/// The integration.
pub struct ReceiveCaCert;

impl Integration for ReceiveCaCert {
    type Data = TrustedCas;

    fn read(model: &Model) -> Result<Reading<TrustedCas>, CharmError> {
        let relations = model.relations(ENDPOINT)?;
        if relations.is_empty() {
            return Ok(Reading::Absent);
        }
        let mut certificates = BTreeSet::new();
        for relation in &relations {
            match relation_cas(model, relation)? {
                Ok(cas) => certificates.extend(cas),
                Err(bad) => return Ok(bad.into()),
            }
        }
        Ok(Reading::Ready(TrustedCas { certificates }))
    }

    /// The leader asks for the v1 format on every relation.
    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        if !inputs.leader {
            return Ok(());
        }
        let version = Databag::from([("version".to_string(), "1".to_string())]);
        for relation in model.relations(ENDPOINT)? {
            model.update_databag(&relation, Bag::LocalApp, &version)?;
        }
        Ok(())
    }
}

/// One relation's CAs: the application bag's `certificates`, else each unit's v0 data.
fn relation_cas(
    model: &Model,
    relation: &Relation,
) -> Result<Result<Vec<String>, BadRelationData>, CharmError> {
    let app = relation.remote_app.as_deref().unwrap_or("?");
    let bad = |message: String| BadRelationData {
        endpoint: ENDPOINT,
        message: format!("relation {} ({app}): {message}", relation.id),
    };
    if relation.remote_app.is_some() {
        let bag = model.databag(relation, Bag::RemoteApp)?;
        let cas = certificates_v1(&bag).map_err(bad);
        if !matches!(&cas, Ok(cas) if cas.is_empty()) {
            return Ok(cas);
        }
    }
    let mut cas = Vec::new();
    for unit in &relation.remote_units {
        match certificates_v0(&model.databag(relation, Bag::Unit(unit.clone()))?) {
            Ok(found) => cas.extend(found),
            Err(message) => return Ok(Err(bad(format!("unit {unit}: {message}")))),
        }
    }
    Ok(Ok(cas))
}

/// The v1 application bag: `certificates`, a JSON list of PEM strings.
pub fn certificates_v1(bag: &Databag) -> Result<Vec<String>, String> {
    let Some(raw) = bag.get("certificates").filter(|v| !v.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw) else {
        return Err("certificates is not a JSON list of PEM certificates".into());
    };
    let mut cas = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let pem = item
            .as_str()
            .ok_or_else(|| format!("certificates[{index}] is not a string"))?;
        cas.extend(pem_blocks(pem).map_err(|m| format!("certificates[{index}]: {m}"))?);
    }
    Ok(cas)
}

/// A v0 unit bag: `chain` (a JSON list), else `ca` (JSON-encoded by the v1 library's
/// fallback, raw PEM from a v0 library).
pub fn certificates_v0(bag: &Databag) -> Result<Vec<String>, String> {
    if let Some(chain) = bag.get("chain").filter(|v| !v.trim().is_empty()) {
        let Ok(Value::Array(items)) = serde_json::from_str::<Value>(chain) else {
            return Err("chain is not a JSON list of PEM certificates".into());
        };
        let mut cas = Vec::new();
        for item in &items {
            let pem = item
                .as_str()
                .ok_or("chain holds a value that is not a string")?;
            cas.extend(pem_blocks(pem).map_err(|m| format!("chain: {m}"))?);
        }
        return Ok(cas);
    }
    match bag.get("ca").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(Vec::new()),
        Some(ca) => {
            let pem = match serde_json::from_str::<String>(ca) {
                Ok(decoded) => decoded,
                Err(_) => ca.to_string(),
            };
            pem_blocks(&pem).map_err(|m| format!("ca: {m}"))
        }
    }
}

/// The certificate blocks of a PEM text, each normalised; anything else is an error.
fn pem_blocks(pem: &str) -> Result<Vec<String>, String> {
    let mut blocks = Vec::new();
    let mut rest = pem.trim();
    while !rest.is_empty() {
        let body_and_more = rest
            .strip_prefix(BEGIN)
            .ok_or("not a PEM certificate (-----BEGIN CERTIFICATE-----)")?;
        let (body, after) = body_and_more
            .split_once(END)
            .ok_or("a certificate has no -----END CERTIFICATE----- line")?;
        let body: String = body.split_whitespace().collect();
        let base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
        if body.is_empty() || !body.chars().all(base64) {
            return Err("a certificate's body is not base64".into());
        }
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .filter_map(|line| std::str::from_utf8(line).ok())
            .collect();
        blocks.push(format!("{BEGIN}\n{}\n{END}\n", lines.join("\n")));
        rest = after.trim();
    }
    if blocks.is_empty() {
        return Err("no certificate".into());
    }
    Ok(blocks)
}

/// The bundle in its own directory, and Go told to read that directory beside the
/// system's. A changed bundle is a changed file, which restarts Kratos.
impl Contribute for TrustedCas {
    fn contribute(&self, workload: &mut WorkloadSpec) {
        if self.certificates.is_empty() {
            return;
        }
        let bundle: String = self.certificates.iter().map(String::as_str).collect();
        workload.files.insert(CA_BUNDLE.into(), bundle.into_bytes());
        workload
            .env
            .insert("SSL_CERT_DIR".into(), format!("{SYSTEM_CA_DIR}:{CA_DIR}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::test_bag as bag;

    const CA: &str =
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY2E=\n-----END CERTIFICATE-----\n";
    const OTHER: &str =
        "-----BEGIN CERTIFICATE-----\nMIIBtDCCAVqgAwIBAgIUb3RoZXI=\n-----END CERTIFICATE-----\n";

    #[test]
    fn v1_certificates_are_read_and_normalised() {
        let sloppy = format!("  {}", CA.replace('\n', "\r\n"));
        let certificates = serde_json::json!([sloppy, OTHER]).to_string();
        let cas =
            certificates_v1(&bag(&[("certificates", &certificates), ("version", "1")])).unwrap();
        assert_eq!(cas, [CA, OTHER]);
    }

    #[test]
    fn v0_unit_data_is_read_json_or_raw() {
        let chain = serde_json::json!([CA, OTHER]).to_string();
        assert_eq!(
            certificates_v0(&bag(&[("chain", &chain)])).unwrap(),
            [CA, OTHER]
        );
        let json_ca = serde_json::json!(CA).to_string();
        assert_eq!(certificates_v0(&bag(&[("ca", &json_ca)])).unwrap(), [CA]);
        assert_eq!(certificates_v0(&bag(&[("ca", CA)])).unwrap(), [CA]);
        assert_eq!(
            certificates_v0(&Databag::new()).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn garbage_is_named() {
        for (bag_, key) in [
            (bag(&[("certificates", "[1]")]), "certificates[0]"),
            (bag(&[("certificates", "{")]), "certificates"),
            (bag(&[("certificates", r#"["hello"]"#)]), "PEM"),
            (
                bag(&[(
                    "certificates",
                    r#"["-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----"]"#,
                )]),
                "base64",
            ),
            (
                bag(&[("certificates", r#"["-----BEGIN CERTIFICATE-----\nAAAA"]"#)]),
                "END",
            ),
        ] {
            let message = certificates_v1(&bag_).unwrap_err();
            assert!(message.contains(key), "{message}");
        }
    }

    #[test]
    fn the_bundle_and_the_go_trust_directory_are_contributed_only_with_cas() {
        let mut workload = WorkloadSpec::for_tests();
        TrustedCas {
            certificates: BTreeSet::new(),
        }
        .contribute(&mut workload);
        assert!(workload.files.is_empty());
        assert!(!workload.env.contains_key("SSL_CERT_DIR"));
        TrustedCas {
            certificates: [OTHER.to_string(), CA.to_string()].into(),
        }
        .contribute(&mut workload);
        assert_eq!(
            workload.files[CA_BUNDLE],
            format!("{CA}{OTHER}").into_bytes()
        );
        assert_eq!(
            workload.env["SSL_CERT_DIR"],
            "/etc/ssl/certs:/etc/config/kratos/ca-certificates"
        );
    }
}
