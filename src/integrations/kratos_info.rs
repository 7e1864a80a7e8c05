//! `kratos-info` (kratos_info, `charms.kratos.v0.kratos_info`, provider): the leader tells
//! the login UI, the admin UI and the tenant service where Kratos's APIs are, where the
//! ConfigMaps are, and which features the running configuration enables.
//!
//! Unlike the reference, it is written from the same plan Kratos runs on every hook, so
//! it follows every input (internal route, external IdPs, config), it is written without
//! a public route too (the internal endpoints are useful alone), and keys that no longer
//! apply are removed.

use juju_rs_ops::model::{Bag, Model};
use url::Url;

use super::{route, Databag, Integration, Reading};
use crate::charm_config::ValidConfig;
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::kratos_config::KratosConfig;
use crate::workload::{ADMIN_PORT, PUBLIC_PORT};

/// The endpoint.
pub const ENDPOINT: &str = "kratos-info";
/// The ConfigMap of OIDC providers (the admin UI writes it).
pub const PROVIDERS_CONFIGMAP: &str = "oidc-providers";
/// The ConfigMap of identity schemas.
pub const SCHEMAS_CONFIGMAP: &str = "identity-schemas";

/// The integration: it only publishes.
pub struct KratosInfo;

impl Integration for KratosInfo {
    type Data = ();

    fn read(_model: &Model) -> Result<Reading<()>, CharmError> {
        Ok(Reading::Absent)
    }

    /// The leader writes the same bag to every relation, once the plan exists (it needs
    /// a valid config); until then the last bag stays.
    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        let (Some(config), Some(plan)) = (inputs.config.ready(), inputs.plan.ready()) else {
            return Ok(());
        };
        if !inputs.leader {
            return Ok(());
        }
        let relations = model.relations(ENDPOINT)?;
        if relations.is_empty() {
            return Ok(());
        }
        let where_ = Endpoints {
            model: model.model_name(),
            app: model.app_name(),
            public: url_of(&inputs.integrations.public_route.ready().map(|i| &i.0)),
            internal: url_of(&inputs.integrations.internal_route.ready().map(|i| &i.0)),
        };
        let bag = info(&where_, config, &plan.config);
        for relation in relations {
            model.update_databag(&relation, Bag::LocalApp, &bag)?;
        }
        Ok(())
    }
}

fn url_of(ingress: &Option<&route::Ingress>) -> Option<Url> {
    ingress.and_then(|i| i.url.clone())
}

/// Where Kratos is.
#[derive(Debug, Clone)]
pub struct Endpoints<'a> {
    /// The model (the ConfigMaps' namespace and the Service's).
    pub model: &'a str,
    /// The application.
    pub app: &'a str,
    /// The public URL (public-route), if any.
    pub public: Option<Url>,
    /// The internal ingress URL (internal-route), if any.
    pub internal: Option<Url>,
}

/// The bag (pure). A key that does not apply is `""`, which removes it.
pub fn info(endpoints: &Endpoints<'_>, config: &ValidConfig, kratos: &KratosConfig) -> Databag {
    // With an internal ingress, both APIs are reached through it (its routers split them).
    let (admin, public) = match &endpoints.internal {
        Some(url) => {
            let base = url.as_str().trim_end_matches('/').to_string();
            (base.clone(), base)
        }
        None => (
            route::cluster_url(endpoints.model, endpoints.app, ADMIN_PORT),
            route::cluster_url(endpoints.model, endpoints.app, PUBLIC_PORT),
        ),
    };
    let login_browser = endpoints
        .public
        .as_ref()
        .and_then(|url| url.join("self-service/login/browser").ok())
        .map(|url| url.to_string())
        .unwrap_or_default();
    let flag = |on: bool| if on { "True" } else { "False" }.to_string();
    [
        ("admin_endpoint", admin),
        ("sessions_endpoint", format!("{public}/sessions/whoami")),
        ("public_endpoint", public),
        ("login_browser_endpoint", login_browser),
        ("providers_configmap_name", PROVIDERS_CONFIGMAP.into()),
        ("schemas_configmap_name", SCHEMAS_CONFIGMAP.into()),
        ("configmaps_namespace", endpoints.model.to_string()),
        ("mfa_enabled", flag(config.enforce_mfa)),
        (
            "oidc_webauthn_sequencing_enabled",
            flag(config.enable_oidc_webauthn_sequencing),
        ),
        ("verification_enabled", flag(config.enable_verification)),
        ("feature_flags", kratos.feature_flags().join(",")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charm_config::CharmConfig;
    use crate::kratos_config::{render, LoginUiUrls};
    use crate::workload::WorkloadSpec;

    fn endpoints(public: Option<&str>, internal: Option<&str>) -> Endpoints<'static> {
        Endpoints {
            model: "iam",
            app: "kratos",
            public: public.map(|u| Url::parse(u).unwrap()),
            internal: internal.map(|u| Url::parse(u).unwrap()),
        }
    }

    fn kratos(login_ui: bool) -> KratosConfig {
        let mut spec = WorkloadSpec::for_tests();
        if login_ui {
            spec.render.login_ui = Some(LoginUiUrls {
                login: Some(Url::parse("https://iam.example.com/ui/login").unwrap()),
                ..LoginUiUrls::default()
            });
        }
        render(&spec.render).unwrap()
    }

    fn config() -> ValidConfig {
        CharmConfig::default().validate().unwrap()
    }

    #[test]
    fn without_ingress_the_cluster_services_are_handed_out() {
        let bag = info(&endpoints(None, None), &config(), &kratos(false));
        assert_eq!(
            bag["admin_endpoint"],
            "http://kratos.iam.svc.cluster.local:4434"
        );
        assert_eq!(
            bag["public_endpoint"],
            "http://kratos.iam.svc.cluster.local:4433"
        );
        assert_eq!(
            bag["sessions_endpoint"],
            "http://kratos.iam.svc.cluster.local:4433/sessions/whoami"
        );
        assert_eq!(
            bag["login_browser_endpoint"], "",
            "removed without a public URL"
        );
        assert_eq!(bag["configmaps_namespace"], "iam");
        assert_eq!(bag["mfa_enabled"], "True");
        assert_eq!(bag["verification_enabled"], "False");
    }

    #[test]
    fn the_routes_give_the_public_and_internal_urls() {
        let bag = info(
            &endpoints(Some("https://iam.example.com"), Some("http://10.64.140.43")),
            &config(),
            &kratos(false),
        );
        assert_eq!(bag["admin_endpoint"], "http://10.64.140.43");
        assert_eq!(bag["public_endpoint"], "http://10.64.140.43");
        assert_eq!(
            bag["sessions_endpoint"],
            "http://10.64.140.43/sessions/whoami"
        );
        assert_eq!(
            bag["login_browser_endpoint"],
            "https://iam.example.com/self-service/login/browser"
        );
    }

    #[test]
    fn feature_flags_follow_the_rendered_configuration() {
        let without_ui = info(&endpoints(None, None), &config(), &kratos(false));
        let with_ui = info(&endpoints(None, None), &config(), &kratos(true));
        assert_eq!(without_ui["feature_flags"], "");
        assert_eq!(with_ui["feature_flags"], "password,totp,backup_codes");
    }
}
