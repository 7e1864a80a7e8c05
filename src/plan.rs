//! The workload the inputs call for, derived once per event and purely from them: the
//! spec (config's part plus every ready integration's), the rendered `kratos.yaml`, and
//! the notices of integrations that are left out without stopping the rest.
//!
//! It is computed before anything is published, so what the charm tells its peers
//! (kratos-info's feature flags) is what it runs.

use juju_rs_ops::{Context, Status};

use crate::charm_config::ValidConfig;
use crate::cluster::Cluster;
use crate::identity_schemas;
use crate::inputs::Integrations;
use crate::integrations::{external_idp, Reading};
use crate::kratos_config::{self, KratosConfig};
use crate::secrets::CookieSecrets;
use crate::workload::WorkloadSpec;

/// The desired workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Everything the container is converged to.
    pub spec: WorkloadSpec,
    /// The typed `kratos.yaml`.
    pub config: KratosConfig,
    /// Its text, as pushed.
    pub yaml: String,
    /// Statuses of parts left out that do not stop the rest converging (an external IdP
    /// without a public URL, a tracing provider without an OTLP/HTTP receiver).
    pub notices: Vec<Status>,
}

/// What the plan is made of (the parts of the inputs read before it).
pub struct Sources<'a> {
    /// The config, if valid.
    pub config: Option<&'a ValidConfig>,
    /// The cookie secrets, if there.
    pub cookie: Option<&'a CookieSecrets>,
    /// Every integration.
    pub integrations: &'a Integrations,
    /// Kubernetes's ConfigMaps, if read.
    pub cluster: Option<&'a Cluster>,
}

/// The plan for the inputs: `Absent` until the config and the cookie secret are ready
/// (their own statuses say why), `Blocked` when the parts cannot be combined.
pub fn plan(ctx: &Context, sources: &Sources<'_>) -> Reading<Plan> {
    let (Some(config), Some(cookie)) = (sources.config, sources.cookie) else {
        return Reading::Absent;
    };
    let (integrations, cluster) = (sources.integrations, sources.cluster);
    // The charm config's schemas, then the ConfigMap's, then the shipped ones.
    let configured = config
        .identity_schemas
        .as_ref()
        .or(cluster.and_then(|c| c.identity_schemas.as_ref()));
    let selection = match identity_schemas::select_identity_schemas(configured, None) {
        Ok(selection) => selection,
        Err(problem) => return Reading::Blocked(problem.to_string()),
    };
    let verification_template = if config.enable_verification {
        verification_template(ctx)
    } else {
        None
    };
    let mut spec = WorkloadSpec::from_config(config, selection.set, verification_template);
    spec.env
        .insert("SECRETS_COOKIE".into(), cookie.kratos_json());
    integrations.contribute(&mut spec);
    // The ConfigMap's providers come after the relations' (as the reference orders them).
    if let Some(cluster) = cluster {
        spec.render
            .oidc_providers
            .extend(cluster.providers.iter().cloned());
    }
    let mut notices = external_idp::hold_without_public_url(&mut spec, integrations);
    notices.extend(integrations.notices());
    match render(&spec) {
        Ok((config, yaml)) => Reading::Ready(Plan {
            spec,
            config,
            yaml,
            notices,
        }),
        Err(problem) => Reading::Blocked(problem),
    }
}

/// `kratos.yaml` for the spec; the error is a `blocked` message.
fn render(spec: &WorkloadSpec) -> Result<(KratosConfig, String), String> {
    let describe =
        |e: kratos_config::RenderError| format!("Cannot render the Kratos configuration: {e}");
    let config = kratos_config::render(&spec.render).map_err(describe)?;
    let yaml = config.to_yaml().map_err(describe)?;
    Ok((config, yaml))
}

/// The verification e-mail template from the charm resource, if the operator attached one.
fn verification_template(ctx: &Context) -> Option<String> {
    let path = ctx.model.resource_get("verification-email-template").ok()?;
    let content = std::fs::read_to_string(&path).ok()?;
    (!content.trim().is_empty()).then_some(content)
}
