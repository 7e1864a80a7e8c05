//! `hydra-endpoint-info` (hydra_endpoints): Hydra publishes its admin and public
//! endpoints in its application databag; Kratos needs the admin one as
//! `OAUTH2_PROVIDER_URL`.

use juju_rs_ops::model::Model;
use url::Url;

use super::{
    http_url, required_keys, waiting_for_keys, Contribute, Databag, Integration, Keys, Reading,
};
use crate::error::CharmError;
use crate::workload::WorkloadSpec;

/// The endpoint.
pub const ENDPOINT: &str = "hydra-endpoint-info";

/// The keys Hydra publishes (both, always, in one write).
const KEYS: [&str; 2] = ["admin_endpoint", "public_endpoint"];

/// Hydra's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HydraEndpoints {
    /// The admin API, e.g. `http://hydra.model.svc.cluster.local:4445`.
    pub admin_endpoint: Url,
    /// The public URL.
    pub public_endpoint: Url,
}

/// The integration.
pub struct Hydra;

impl Integration for Hydra {
    type Data = HydraEndpoints;

    fn read(model: &Model) -> Result<Reading<HydraEndpoints>, CharmError> {
        Ok(match model.remote_app_bag(ENDPOINT)? {
            Some((_, bag)) => parse(&bag),
            None => Reading::Absent,
        })
    }
}

/// Reads Hydra's application databag: nothing until Hydra has written (the integration
/// then contributes nothing, as the reference treats it), waiting while it is partial.
pub fn parse(bag: &Databag) -> Reading<HydraEndpoints> {
    match required_keys(bag, &KEYS) {
        Keys::None => Reading::Absent,
        Keys::Partial(missing) => Reading::Waiting(waiting_for_keys(ENDPOINT, &missing)),
        Keys::All(values) => {
            let url = |index: usize| {
                let value = values.get(index).copied().unwrap_or_default();
                http_url(
                    ENDPOINT,
                    KEYS.get(index).copied().unwrap_or_default(),
                    value,
                )
            };
            match (url(0), url(1)) {
                (Ok(admin_endpoint), Ok(public_endpoint)) => Reading::Ready(HydraEndpoints {
                    admin_endpoint,
                    public_endpoint,
                }),
                (Err(bad), _) | (_, Err(bad)) => bad.into(),
            }
        }
    }
}

impl Contribute for HydraEndpoints {
    fn contribute(&self, workload: &mut WorkloadSpec) {
        workload.env.insert(
            "OAUTH2_PROVIDER_URL".into(),
            self.admin_endpoint
                .as_str()
                .trim_end_matches('/')
                .to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::test_bag as bag;

    #[test]
    fn admin_endpoint_becomes_oauth2_provider_url() {
        let Reading::Ready(hydra) = parse(&bag(&[
            ("admin_endpoint", "http://hydra.model.svc:4445"),
            ("public_endpoint", "https://hydra.example.com"),
        ])) else {
            panic!("not ready")
        };
        let mut workload = WorkloadSpec::for_tests();
        hydra.contribute(&mut workload);
        assert_eq!(
            workload.env["OAUTH2_PROVIDER_URL"],
            "http://hydra.model.svc:4445"
        );
    }

    #[test]
    fn empty_bag_is_absent_partial_waits_and_garbage_blocks() {
        assert_eq!(parse(&Databag::new()), Reading::Absent);
        let Reading::Waiting(message) = parse(&bag(&[("admin_endpoint", "http://h:4445")])) else {
            panic!("partial data must wait")
        };
        assert!(message.contains("public_endpoint"), "{message}");
        let Reading::Blocked(message) = parse(&bag(&[
            ("admin_endpoint", "hydra:4445"),
            ("public_endpoint", "https://h"),
        ])) else {
            panic!("garbage must block")
        };
        assert!(message.contains("hydra-endpoint-info"), "{message}");
        assert!(message.contains("admin_endpoint"), "{message}");
    }
}
