//! `kratos.yaml`, built from typed inputs and serialised (never text-templated, so no value
//! from a relation or config option can inject YAML).
//!
//! The decisions follow the reference charm's template: which flows, methods and hooks are
//! rendered for each combination of the feature flags, the login UI, OIDC providers and
//! web-hooks. Secrets that belong to the environment (DSN, cookie secret, SMTP connection
//! URI) are not written here; the tests' `env_overlay` shows how Kratos combines the two.
//!
//! ```ignore
//! let config = render(&inputs)?;
//! let yaml = config.to_yaml()?;
//! ```

#[cfg(test)]
#[allow(clippy::too_many_arguments)] // test support
mod env_overlay;
mod hooks;
pub mod inputs;
pub mod model;
pub mod oidc;

#[cfg(test)]
#[allow(clippy::too_many_lines, clippy::too_many_arguments)] // test tables and builders
mod tests;

use std::collections::BTreeSet;

use url::Url;

pub use inputs::*;
pub use model::KratosConfig;
pub use oidc::{base64_url, oidc_redirect_uri, shipped_claim_mapper};

use hooks::WebhookPlan;
use model::*;

/// Where browsers go after a flow when no login UI gives a settings page (as the reference).
pub const FALLBACK_BROWSER_RETURN_URL: &str = "http://example-default-return-url.com";

/// Name shown for Kratos in authenticator apps and WebAuthn prompts.
pub const DISPLAY_NAME: &str = "Identity Platform";

/// Why a configuration cannot be rendered. Messages name the option or integration to fix.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Both WebAuthn roles asked for at once.
    #[error("enable_passwordless_login_method and enable_oidc_webauthn_sequencing cannot both be true; set enable_passwordless_login_method=false to use OIDC-WebAuthn sequencing")]
    PasswordlessWithOidcWebauthnSequencing,
    /// WebAuthn needs the public host as relying party.
    #[error("{feature} needs the public URL of Kratos for WebAuthn; integrate with a public-route provider")]
    PublicUrlRequired {
        /// The option that needs it.
        feature: &'static str,
    },
    /// The public URL has no host (so no WebAuthn relying party id).
    #[error("the public URL has no host name, so WebAuthn has no relying party; check the public-route integration")]
    PublicUrlWithoutHost,
    /// Two providers share an id.
    #[error("OIDC provider id '{id}' is used by more than one provider (kratos-external-idp relations and the oidc-providers ConfigMap); give each provider its own id")]
    DuplicateProviderId {
        /// The id.
        id: String,
    },
    /// Serialisation failed (not expected for these types).
    #[error("could not serialise kratos.yaml: {0}")]
    Serialise(#[from] serde_yaml_ng::Error),
}

impl KratosConfig {
    /// The YAML text of `kratos.yaml`.
    pub fn to_yaml(&self) -> Result<String, RenderError> {
        Ok(serde_yaml_ng::to_string(self)?)
    }

    /// The features this configuration enables, as kratos-info names them (in the
    /// reference's order): `password`, `webauthn`, `totp`, `backup_codes` (lookup
    /// secrets), `account_linking` (any OIDC provider).
    pub fn feature_flags(&self) -> Vec<&'static str> {
        let Some(methods) = &self.selfservice.methods else {
            return Vec::new();
        };
        [
            ("password", methods.password.enabled),
            (
                "webauthn",
                methods.webauthn.as_ref().is_some_and(|m| m.enabled),
            ),
            ("totp", methods.totp.as_ref().is_some_and(|m| m.enabled)),
            (
                "backup_codes",
                methods.lookup_secret.as_ref().is_some_and(|m| m.enabled),
            ),
            (
                "account_linking",
                methods
                    .oidc
                    .as_ref()
                    .is_some_and(|m| m.enabled && !m.config.providers.is_empty()),
            ),
        ]
        .into_iter()
        .filter_map(|(flag, on)| on.then_some(flag))
        .collect()
    }
}

/// Builds the configuration. Pure: the same inputs give the same configuration on every unit.
pub fn render(inputs: &RenderInputs) -> Result<KratosConfig, RenderError> {
    let flags = inputs.flags;
    flags.validate()?;
    check_unique_provider_ids(&inputs.oidc_providers)?;

    let ui = inputs.login_ui.clone().unwrap_or_default();
    let settings_ui = ui.settings.as_ref().map(Url::to_string);
    let default_browser_return_url = settings_ui
        .clone()
        .unwrap_or_else(|| FALLBACK_BROWSER_RETURN_URL.to_string());

    let context = FlowContext {
        flags,
        ui: &ui,
        has_providers: !inputs.oidc_providers.is_empty(),
        default_browser_return_url: &default_browser_return_url,
        login_hooks: WebhookPlan::new(&inputs.login_webhooks, inputs.tracing_enabled),
        registration_hooks: WebhookPlan::new(&inputs.registration_webhooks, inputs.tracing_enabled),
    };

    Ok(KratosConfig {
        log: Log {
            level: inputs.log_level,
            format: LogFormat::Json,
        },
        serve: Serve {
            public: ServePublic {
                base_url: inputs.public_url.as_ref().map(Url::to_string),
                cors: Cors { enabled: true },
            },
        },
        identity: Identity {
            default_schema_id: inputs.identity_schemas.default_id().to_string(),
            schemas: inputs
                .identity_schemas
                .schemas()
                .iter()
                .map(|(id, schema)| IdentitySchemaEntry {
                    id: id.clone(),
                    url: base64_url(&schema.to_string()),
                })
                .collect(),
        },
        selfservice: SelfService {
            default_browser_return_url: default_browser_return_url.clone(),
            allowed_return_urls: inputs
                .public_url
                .iter()
                .map(|url| format!("{}/", url.origin().ascii_serialization()))
                .collect(),
            flows: context.flows(),
            methods: context.methods(inputs)?,
        },
        courier: courier(&inputs.courier),
        session: flags.whoami_requires_highest_aal().then_some(Session {
            whoami: Whoami {
                required_aal: RequiredAal::HighestAvailable,
            },
        }),
    })
}

fn check_unique_provider_ids(providers: &[OidcProvider]) -> Result<(), RenderError> {
    let mut seen = BTreeSet::new();
    for provider in providers {
        if !seen.insert(provider.id.as_str()) {
            return Err(RenderError::DuplicateProviderId {
                id: provider.id.clone(),
            });
        }
    }
    Ok(())
}

fn webauthn_method(flags: Flags, public_url: Option<&Url>) -> Result<WebauthnMethod, RenderError> {
    let feature = if flags.enable_passwordless_login_method {
        "enable_passwordless_login_method"
    } else {
        "enable_oidc_webauthn_sequencing"
    };
    let public_url = public_url.ok_or(RenderError::PublicUrlRequired { feature })?;
    Ok(WebauthnMethod {
        enabled: true,
        config: WebauthnConfig {
            passwordless: flags.enable_passwordless_login_method,
            rp: relying_party(public_url)?,
        },
    })
}

fn relying_party(public_url: &Url) -> Result<RelyingParty, RenderError> {
    let host = public_url
        .host_str()
        .ok_or(RenderError::PublicUrlWithoutHost)?;
    Ok(RelyingParty {
        id: host.to_string(),
        // The origin keeps a non-default port, which browsers include in theirs.
        origins: vec![public_url.origin().ascii_serialization()],
        display_name: DISPLAY_NAME.to_string(),
    })
}

fn courier(inputs: &CourierInputs) -> Option<Courier> {
    let smtp = (inputs.from_address.is_some() || inputs.from_name.is_some()).then(|| CourierSmtp {
        from_address: inputs.from_address.clone(),
        from_name: inputs.from_name.clone(),
    });
    let html_override = |html: &Option<String>| {
        html.as_ref().map(|html| TemplateOverride {
            valid: ValidTemplate {
                email: EmailTemplate {
                    body: EmailBody {
                        html: base64_url(html),
                    },
                },
            },
        })
    };
    let templates = CourierTemplates {
        recovery_code: html_override(&inputs.recovery_code_email_html),
        verification_code: html_override(&inputs.verification_code_email_html),
    };
    let templates = (templates != CourierTemplates::default()).then_some(templates);
    (smtp.is_some() || templates.is_some()).then_some(Courier { smtp, templates })
}

/// What the flow and method decisions share.
struct FlowContext<'a> {
    flags: Flags,
    ui: &'a LoginUiUrls,
    has_providers: bool,
    default_browser_return_url: &'a str,
    login_hooks: WebhookPlan<'a>,
    registration_hooks: WebhookPlan<'a>,
}

fn url_string(url: &Option<Url>) -> Option<String> {
    url.as_ref().map(Url::to_string)
}

impl FlowContext<'_> {
    fn local_idp(&self) -> bool {
        self.flags.enable_local_idp
    }

    fn flows(&self) -> Option<Flows> {
        let needed = self.ui.error.is_some()
            || self.ui.login.is_some()
            || self.has_providers
            || self.registration_hooks.any()
            || self.login_hooks.any();
        needed.then(|| Flows {
            error: url_string(&self.ui.error).map(|ui_url| UiUrl { ui_url }),
            login: self.login(),
            settings: self.settings(),
            recovery: self.recovery(),
            verification: self.verification(),
            registration: self.registration(),
        })
    }

    fn login(&self) -> Option<LoginFlow> {
        if self.ui.login.is_none() && !self.login_hooks.any() {
            return None;
        }
        let flags = self.flags;
        let mfa = flags.enforce_mfa && self.local_idp();
        // An active method gets a section when a web-hook applies to it; any method gets one
        // when a web-hook names it (see `hooks`: never run while the method is off).
        let hooks = &self.login_hooks;
        let section = |method: AuthMethod, active: bool| {
            ((active && hooks.has_after_for(method)) || hooks.names(method))
                .then(|| hooks.after_for(method, &[]))
        };
        let after = LoginAfter {
            password: section(AuthMethod::Password, self.local_idp()),
            oidc: section(AuthMethod::Oidc, self.has_providers),
            code: section(AuthMethod::Code, self.local_idp()),
            webauthn: section(AuthMethod::Webauthn, flags.webauthn_enabled()),
            // The charm keeps passkeys off (`methods.passkey.enabled: false`).
            passkey: section(AuthMethod::Passkey, false),
            totp: section(AuthMethod::Totp, mfa),
            lookup_secret: section(
                AuthMethod::LookupSecret,
                flags.enable_oidc_webauthn_sequencing || mfa,
            ),
        };
        Some(LoginFlow {
            ui_url: url_string(&self.ui.login),
            style: self.ui.login.as_ref().map(|_| LoginStyle::IdentifierFirst),
            before: self.login_hooks.before(),
            after: (after != LoginAfter::default()).then_some(after),
        })
    }

    fn settings(&self) -> Option<SettingsFlow> {
        let ui_url = url_string(&self.ui.settings)?;
        let return_to = |url: &Option<Url>| {
            url_string(url).map(|default_browser_return_url| ReturnTo {
                default_browser_return_url,
            })
        };
        let after = SettingsAfter {
            oidc: return_to(&self.ui.account_linking_settings),
            webauthn: if self.flags.webauthn_enabled() {
                return_to(&self.ui.webauthn_settings)
            } else {
                None
            },
        };
        Some(SettingsFlow {
            ui_url,
            required_aal: RequiredAal::HighestAvailable,
            after: (after != SettingsAfter::default()).then_some(after),
        })
    }

    fn recovery(&self) -> Option<RecoveryFlow> {
        let ui_url = url_string(&self.ui.recovery).filter(|_| self.local_idp())?;
        Some(RecoveryFlow {
            enabled: true,
            ui_url,
            strategy: FlowStrategy::Code,
            after: RecoveryAfter {
                default_browser_return_url: self.default_browser_return_url.to_string(),
                hooks: vec![Hook::RevokeActiveSessions],
            },
        })
    }

    fn verification(&self) -> Option<VerificationFlow> {
        (self.flags.enable_verification && self.local_idp()).then(|| VerificationFlow {
            enabled: true,
            ui_url: url_string(&self.ui.verification),
            lifespan: "1h".to_string(),
            strategy: FlowStrategy::Code,
            notify_unknown_recipients: false,
        })
    }

    fn registration(&self) -> Option<RegistrationFlow> {
        let hooks = &self.registration_hooks;
        if !(hooks.any() || self.has_providers || self.local_idp()) {
            return None;
        }
        let flags = self.flags;
        let verify: &[Hook] = if flags.enable_verification {
            &[Hook::ShowVerificationUi, Hook::Session]
        } else {
            &[Hook::Session]
        };
        // An active method always gets its section (it carries the built-in hooks); any
        // method gets one when a web-hook names it (see `hooks`: never run while it is off).
        let section = |method: AuthMethod, active: bool, built_in: &[Hook]| {
            (active || hooks.names(method)).then(|| hooks.after_for(method, built_in))
        };
        let session = &[Hook::Session];
        let after = RegistrationAfter {
            password: section(AuthMethod::Password, self.local_idp(), verify),
            oidc: section(AuthMethod::Oidc, hooks.any() || self.has_providers, session),
            webauthn: section(
                AuthMethod::Webauthn,
                flags.enable_passwordless_login_method,
                session,
            ),
            // The charm keeps passkeys off (`methods.passkey.enabled: false`).
            passkey: section(AuthMethod::Passkey, false, session),
            code: section(
                AuthMethod::Code,
                self.local_idp() || flags.enable_oidc_webauthn_sequencing,
                verify,
            ),
        };
        let registration_ui = url_string(&self.ui.registration);
        Some(RegistrationFlow {
            enabled: registration_ui.as_ref().map(|_| true),
            ui_url: registration_ui,
            before: hooks.before(),
            after: (after != RegistrationAfter::default()).then_some(after),
        })
    }

    fn methods(&self, inputs: &RenderInputs) -> Result<Option<Methods>, RenderError> {
        let flags = self.flags;
        let local_idp = self.local_idp();
        let login_ui = self.ui.login.is_some();
        let recovery_ui = self.ui.recovery.is_some();
        if !(self.has_providers || recovery_ui || (local_idp && login_ui)) {
            return Ok(None);
        }
        let local_login = local_idp && login_ui;
        let webauthn = if flags.webauthn_enabled() {
            Some(webauthn_method(flags, inputs.public_url.as_ref())?)
        } else {
            None
        };
        Ok(Some(Methods {
            profile: Toggle { enabled: local_idp },
            link: Toggle { enabled: false },
            passkey: Toggle { enabled: false },
            code: ((recovery_ui || flags.enable_verification) && local_idp)
                .then_some(Toggle { enabled: true }),
            password: PasswordMethod {
                enabled: local_login,
                config: local_login.then_some(PasswordConfig {
                    haveibeenpwned_enabled: false,
                }),
            },
            totp: (local_login && flags.enforce_mfa).then(|| TotpMethod {
                enabled: true,
                config: TotpConfig {
                    issuer: DISPLAY_NAME.to_string(),
                },
            }),
            lookup_secret: (flags.enable_oidc_webauthn_sequencing
                || (flags.enforce_mfa && local_idp))
                .then_some(Toggle { enabled: true }),
            webauthn,
            oidc: self.has_providers.then(|| OidcMethod {
                enabled: true,
                config: OidcConfig {
                    providers: inputs
                        .oidc_providers
                        .iter()
                        .map(oidc::provider_config)
                        .collect(),
                },
            }),
        }))
    }
}
