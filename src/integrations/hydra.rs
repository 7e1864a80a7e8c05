//! `hydra-endpoint-info` (hydra_endpoints): Hydra publishes its admin and public
//! endpoints in its application databag; Kratos needs the admin one as
//! `OAUTH2_PROVIDER_URL`.

use super::{BadRelationData, Databag};

pub const ENDPOINT: &str = "hydra-endpoint-info";

/// What the provider's application databag holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HydraEndpoints {
    pub admin_endpoint: String,
    pub public_endpoint: Option<String>,
}

/// Reads Hydra's application databag. `Ok(None)` until Hydra has published its admin
/// endpoint (as the reference library treats a missing key).
pub fn parse(bag: &Databag) -> Result<Option<HydraEndpoints>, BadRelationData> {
    let Some(admin) = bag.get("admin_endpoint").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if !(admin.starts_with("http://") || admin.starts_with("https://")) {
        return Err(BadRelationData {
            endpoint: ENDPOINT,
            message: format!("admin_endpoint {admin:?} is not an http(s) URL"),
        });
    }
    Ok(Some(HydraEndpoints {
        admin_endpoint: admin.clone(),
        public_endpoint: bag.get("public_endpoint").cloned(),
    }))
}

impl HydraEndpoints {
    /// The workload environment this integration contributes.
    pub fn env(&self) -> [(&'static str, String); 1] {
        [("OAUTH2_PROVIDER_URL", self.admin_endpoint.clone())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag(pairs: &[(&str, &str)]) -> Databag {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn admin_endpoint_becomes_oauth2_provider_url() {
        let hydra = parse(&bag(&[
            ("admin_endpoint", "http://hydra.model.svc:4445"),
            ("public_endpoint", "https://hydra.example.com"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            hydra.env()[0],
            ("OAUTH2_PROVIDER_URL", "http://hydra.model.svc:4445".into())
        );
    }

    #[test]
    fn empty_bag_is_not_ready_and_garbage_is_an_error() {
        assert_eq!(parse(&Databag::new()).unwrap(), None);
        let err = parse(&bag(&[("admin_endpoint", "hydra:4445")])).unwrap_err();
        assert!(err.to_string().contains("hydra-endpoint-info"), "{err}");
    }
}
