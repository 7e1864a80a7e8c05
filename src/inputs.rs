//! Everything the unit converges on, gathered once per event: leadership, the config, the
//! cookie secret and every integration's typed reading.

use juju_rs_ops::{Context, Status};

use crate::charm_config::{CharmConfig, ValidConfig};
use crate::cleanup;
use crate::cluster::{self, Cluster};
use crate::error::CharmError;
use crate::integrations::{
    ca_cert, database, external_idp, grafana_dashboard, hydra, kratos_info, logging, login_ui,
    metrics, peers, route, smtp, traces, webhooks,
};
use crate::integrations::{Contribute, Integration, Reading};
use crate::kubernetes::KubeApi;
use crate::plan::{self, Plan};
use crate::secrets;
use crate::secrets::CookieSecrets;
use crate::workload::WorkloadSpec;

/// Declares the integrations: one line each (field name and type implementing
/// [`Integration`]), in the order their statuses are reported. It generates the
/// [`Integrations`] struct and its read, status, contribute and publish passes.
macro_rules! integrations {
    ($($field:ident: $integration:ty),+ $(,)?) => {
        /// Every integration's reading.
        #[derive(Debug, Clone)]
        pub struct Integrations {
            $(
                #[doc = concat!("`", stringify!($integration), "`")]
                pub $field: Reading<<$integration as Integration>::Data>,
            )+
        }

        impl Integrations {
            fn read(ctx: &Context) -> Result<Integrations, CharmError> {
                Ok(Integrations {
                    $($field: <$integration>::read(&ctx.model)?,)+
                })
            }

            /// The statuses of the integrations that are not ready (and required, or
            /// related).
            pub fn statuses(&self) -> Vec<Status> {
                [$(self.$field.status(<$integration>::absent_status()),)+]
                    .into_iter()
                    .flatten()
                    .collect()
            }

            /// Adds every ready integration's part to the workload.
            pub fn contribute(&self, workload: &mut WorkloadSpec) {
                $(if let Some(data) = self.$field.ready() {
                    data.contribute(workload);
                })+
            }

            /// The notices of the ready integrations (parts left out without stopping
            /// the rest), in list order.
            pub fn notices(&self) -> Vec<Status> {
                let mut notices = Vec::new();
                $(if let Some(data) = self.$field.ready() {
                    notices.extend(data.notices());
                })+
                notices
            }

            /// Writes what each integration publishes.
            pub fn publish(ctx: &Context, inputs: &Inputs) -> Result<(), CharmError> {
                $(<$integration>::publish(&ctx.model, inputs)?;)+
                Ok(())
            }
        }
    };
}

integrations! {
    peers: peers::Peers,
    database: database::Database,
    hydra: hydra::Hydra,
    login_ui: login_ui::LoginUi,
    smtp: smtp::Smtp,
    registration_webhooks: webhooks::RegistrationWebhooks,
    login_webhooks: webhooks::LoginWebhooks,
    public_route: route::PublicRoute,
    internal_route: route::InternalRoute,
    external_idp: external_idp::ExternalIdp,
    receive_ca_cert: ca_cert::ReceiveCaCert,
    kratos_info: kratos_info::KratosInfo,
    tracing: traces::TracingIntegration,
    metrics_endpoint: metrics::MetricsEndpoint,
    logging: logging::Logging,
    grafana_dashboard: grafana_dashboard::GrafanaDashboard,
}

/// What one event converges on.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Whether this unit leads.
    pub leader: bool,
    /// The validated config (blocked naming the option when invalid).
    pub config: Reading<ValidConfig>,
    /// The application's cookie secrets (waiting until the leader created them).
    pub cookie: Reading<CookieSecrets>,
    /// Every integration.
    pub integrations: Integrations,
    /// What Kubernetes holds: the ConfigMaps and the StatefulSet (absent outside
    /// Kubernetes).
    pub cluster: Reading<Cluster>,
    /// The workload all of the above call for (absent until config and cookie are ready).
    pub plan: Reading<Plan>,
    /// The cleanup options: not part of [`Inputs::statuses`], a bad one blocks only the
    /// cleanup (the checklist reports it without stopping).
    pub cleanup: Reading<cleanup::Settings>,
}

impl Inputs {
    /// Reads everything (creating the cookie secret on the leader when it is missing);
    /// `kube` is the Kubernetes API, if the unit has one.
    pub fn gather(ctx: &Context, kube: Option<&dyn KubeApi>) -> Result<Inputs, CharmError> {
        let leader = ctx.model.is_leader()?;
        let config = read_config(ctx);
        let cookie = match secrets::cookie_secret(&ctx.model, leader)? {
            secrets::CookieSecret::Ready(cookie) => Reading::Ready(cookie),
            secrets::CookieSecret::Absent => Reading::Waiting("Waiting for secret creation".into()),
            secrets::CookieSecret::Unusable(reason) => Reading::Blocked(
                secrets::unusable_cookie_status(ctx.model.app_name(), reason),
            ),
        };
        let integrations = Integrations::read(ctx)?;
        let cluster = match kube {
            Some(kube) => cluster::read(kube, ctx.model.app_name()),
            None => Reading::Absent,
        };
        let plan = plan::plan(
            ctx,
            &plan::Sources {
                config: config.ready(),
                cookie: cookie.ready(),
                integrations: &integrations,
                cluster: cluster.ready(),
            },
        );
        Ok(Inputs {
            leader,
            config,
            cookie,
            integrations,
            cluster,
            plan,
            cleanup: cleanup::read(ctx),
        })
    }

    /// The statuses of every input that is not ready, in checklist order.
    pub fn statuses(&self) -> Vec<Status> {
        let mut statuses: Vec<Status> = [self.config.status(None), self.cookie.status(None)]
            .into_iter()
            .flatten()
            .collect();
        statuses.extend(self.integrations.statuses());
        statuses.extend(self.cluster.status(None));
        statuses.extend(self.plan.status(None));
        statuses
    }

    /// Writes what this unit publishes to its integrations.
    pub fn publish(&self, ctx: &Context) -> Result<(), CharmError> {
        Integrations::publish(ctx, self)
    }
}

/// Reads and validates the config; a problem blocks naming the option.
fn read_config(ctx: &Context) -> Reading<ValidConfig> {
    let config: CharmConfig = match ctx.model.config() {
        Ok(config) => config,
        Err(e) => return Reading::Blocked(format!("Invalid config: {e}")),
    };
    match config.validate() {
        Ok(valid) => Reading::Ready(valid),
        Err(problem) => Reading::Blocked(problem.to_string()),
    }
}
