//! The parts of `kratos.yaml` the charm writes, as serde structures mirroring Kratos's
//! configuration schema. Optional parts are left out of the output when absent, so Kratos's
//! defaults apply to them.

use serde::Serialize;

use super::inputs::{LogLevel, Sensitive, WebhookAuth};

/// The whole `kratos.yaml`. Secrets that arrive by environment (DSN, cookie secret, SMTP
/// connection URI) are not part of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KratosConfig {
    /// `log`
    pub log: Log,
    /// `serve`
    pub serve: Serve,
    /// `identity`
    pub identity: Identity,
    /// `selfservice`
    pub selfservice: SelfService,
    /// `courier`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub courier: Option<Courier>,
    /// `session`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
}

/// `log`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Log {
    /// `log.level`
    pub level: LogLevel,
    /// `log.format` (always JSON, for Loki)
    pub format: LogFormat,
}

/// `log.format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
}

/// `serve`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Serve {
    /// `serve.public`
    pub public: ServePublic,
}

/// `serve.public`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServePublic {
    /// `serve.public.base_url`: the public URL, when routed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// `serve.public.cors`
    pub cors: Cors,
}

/// `serve.public.cors`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cors {
    /// `enabled`
    pub enabled: bool,
}

/// `identity`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    /// `identity.default_schema_id`
    pub default_schema_id: String,
    /// `identity.schemas`
    pub schemas: Vec<IdentitySchemaEntry>,
}

/// One `identity.schemas` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentitySchemaEntry {
    /// Schema id.
    pub id: String,
    /// `base64://` URL of the schema.
    pub url: String,
}

/// `selfservice`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelfService {
    /// `selfservice.default_browser_return_url`
    pub default_browser_return_url: String,
    /// `selfservice.allowed_return_urls`
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_return_urls: Vec<String>,
    /// `selfservice.flows`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flows: Option<Flows>,
    /// `selfservice.methods`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Methods>,
}

/// `selfservice.flows`
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Flows {
    /// `error`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<UiUrl>,
    /// `login`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginFlow>,
    /// `settings`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<SettingsFlow>,
    /// `recovery`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoveryFlow>,
    /// `verification`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationFlow>,
    /// `registration`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationFlow>,
}

/// A flow that only has a UI URL (`error`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UiUrl {
    /// `ui_url`
    pub ui_url: String,
}

/// `selfservice.flows.login`
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoginFlow {
    /// `ui_url`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_url: Option<String>,
    /// `style`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<LoginStyle>,
    /// `before`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<HookList>,
    /// `after`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<LoginAfter>,
}

/// `selfservice.flows.login.style`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginStyle {
    /// Ask for the identifier first, then for the credential.
    IdentifierFirst,
}

/// `{hooks: [...]}`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookList {
    /// `hooks`
    pub hooks: Vec<Hook>,
}

/// `selfservice.flows.login.after`: per-method hooks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoginAfter {
    /// `password`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<HookList>,
    /// `oidc`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc: Option<HookList>,
    /// `code`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<HookList>,
    /// `webauthn`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webauthn: Option<HookList>,
    /// `passkey`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey: Option<HookList>,
    /// `totp`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp: Option<HookList>,
    /// `lookup_secret`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup_secret: Option<HookList>,
}

/// `selfservice.flows.registration.after`: per-method hooks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RegistrationAfter {
    /// `password`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<HookList>,
    /// `oidc`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc: Option<HookList>,
    /// `webauthn`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webauthn: Option<HookList>,
    /// `passkey`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey: Option<HookList>,
    /// `code`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<HookList>,
}

/// A self-service hook.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "hook", content = "config", rename_all = "snake_case")]
pub enum Hook {
    /// `web_hook` with its configuration.
    #[serde(rename = "web_hook")]
    Web(WebHookConfig),
    /// `session`: sign the user in after registration.
    Session,
    /// `show_verification_ui`: send the browser to the verification UI after registration.
    ShowVerificationUi,
    /// `revoke_active_sessions`: sign out everywhere after recovery.
    RevokeActiveSessions,
}

/// The `config` of a `web_hook`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebHookConfig {
    /// `url`
    pub url: String,
    /// `method`
    pub method: String,
    /// `body`
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// `emit_analytics_event`
    pub emit_analytics_event: bool,
    /// `response`
    pub response: WebHookResponse,
    /// `auth`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<WebhookAuth>,
}

/// `response` of a `web_hook`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebHookResponse {
    /// `ignore`
    pub ignore: bool,
    /// `parse`
    pub parse: bool,
}

/// `selfservice.flows.settings`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsFlow {
    /// `ui_url`
    pub ui_url: String,
    /// `required_aal`
    pub required_aal: RequiredAal,
    /// `after`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<SettingsAfter>,
}

/// An authenticator assurance level requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredAal {
    /// The highest level the identity has set up.
    HighestAvailable,
}

/// `selfservice.flows.settings.after`
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SettingsAfter {
    /// `oidc`: where to go after linking an account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc: Option<ReturnTo>,
    /// `webauthn`: where to go after adding a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webauthn: Option<ReturnTo>,
}

/// `{default_browser_return_url: ...}`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnTo {
    /// `default_browser_return_url`
    pub default_browser_return_url: String,
}

/// A recovery or verification strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowStrategy {
    /// One-time codes by e-mail.
    Code,
}

/// `selfservice.flows.recovery`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecoveryFlow {
    /// `enabled`
    pub enabled: bool,
    /// `ui_url`
    pub ui_url: String,
    /// `use`
    #[serde(rename = "use")]
    pub strategy: FlowStrategy,
    /// `after`
    pub after: RecoveryAfter,
}

/// `selfservice.flows.recovery.after`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecoveryAfter {
    /// `default_browser_return_url`
    pub default_browser_return_url: String,
    /// `hooks`
    pub hooks: Vec<Hook>,
}

/// `selfservice.flows.verification`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerificationFlow {
    /// `enabled`
    pub enabled: bool,
    /// `ui_url`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_url: Option<String>,
    /// `lifespan`
    pub lifespan: String,
    /// `use`
    #[serde(rename = "use")]
    pub strategy: FlowStrategy,
    /// `notify_unknown_recipients`
    pub notify_unknown_recipients: bool,
}

/// `selfservice.flows.registration`
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RegistrationFlow {
    /// `enabled`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `ui_url`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_url: Option<String>,
    /// `before`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<HookList>,
    /// `after`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<RegistrationAfter>,
}

/// `selfservice.methods`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Methods {
    /// `profile`
    pub profile: Toggle,
    /// `link`
    pub link: Toggle,
    /// `passkey`
    pub passkey: Toggle,
    /// `code`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Toggle>,
    /// `password`
    pub password: PasswordMethod,
    /// `totp`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpMethod>,
    /// `lookup_secret`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup_secret: Option<Toggle>,
    /// `webauthn`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webauthn: Option<WebauthnMethod>,
    /// `oidc`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcMethod>,
}

/// `{enabled: bool}`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Toggle {
    /// `enabled`
    pub enabled: bool,
}

/// `selfservice.methods.password`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PasswordMethod {
    /// `enabled`
    pub enabled: bool,
    /// `config`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<PasswordConfig>,
}

/// `selfservice.methods.password.config`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PasswordConfig {
    /// `haveibeenpwned_enabled` (off: the workload may have no Internet access)
    pub haveibeenpwned_enabled: bool,
}

/// `selfservice.methods.totp`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotpMethod {
    /// `enabled`
    pub enabled: bool,
    /// `config`
    pub config: TotpConfig,
}

/// `selfservice.methods.totp.config`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotpConfig {
    /// `issuer`, shown in authenticator apps.
    pub issuer: String,
}

/// `selfservice.methods.webauthn`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebauthnMethod {
    /// `enabled`
    pub enabled: bool,
    /// `config`
    pub config: WebauthnConfig,
}

/// `selfservice.methods.webauthn.config`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebauthnConfig {
    /// `passwordless`: first factor (true) or second factor (false).
    pub passwordless: bool,
    /// `rp`
    pub rp: RelyingParty,
}

/// `selfservice.methods.webauthn.config.rp`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelyingParty {
    /// `id`: the public host.
    pub id: String,
    /// `origins`: the public origin.
    pub origins: Vec<String>,
    /// `display_name`
    pub display_name: String,
}

/// `selfservice.methods.oidc`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OidcMethod {
    /// `enabled`
    pub enabled: bool,
    /// `config`
    pub config: OidcConfig,
}

/// `selfservice.methods.oidc.config`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OidcConfig {
    /// `providers`
    pub providers: Vec<OidcProviderConfig>,
}

/// One `selfservice.methods.oidc.config.providers` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OidcProviderConfig {
    /// `id`
    pub id: String,
    /// `provider`
    pub provider: String,
    /// `label`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `client_id`
    pub client_id: String,
    /// `client_secret`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Sensitive>,
    /// `issuer_url`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_url: Option<String>,
    /// `mapper_url`
    pub mapper_url: String,
    /// `scope`
    pub scope: Vec<String>,
    /// `microsoft_tenant`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microsoft_tenant: Option<String>,
    /// `apple_team_id`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apple_team_id: Option<String>,
    /// `apple_private_key_id`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apple_private_key_id: Option<String>,
    /// `apple_private_key`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apple_private_key: Option<Sensitive>,
}

/// `courier`
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Courier {
    /// `courier.smtp` (sender only: the connection URI carries a password and comes by
    /// environment)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<CourierSmtp>,
    /// `courier.templates`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templates: Option<CourierTemplates>,
}

/// `courier.smtp`
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CourierSmtp {
    /// `from_address`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_address: Option<String>,
    /// `from_name`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
}

/// `courier.templates`
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CourierTemplates {
    /// `recovery_code`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<TemplateOverride>,
    /// `verification_code`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<TemplateOverride>,
}

/// `courier.templates.<kind>`: override of the `valid` e-mail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateOverride {
    /// `valid`
    pub valid: ValidTemplate,
}

/// `courier.templates.<kind>.valid`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidTemplate {
    /// `email`
    pub email: EmailTemplate,
}

/// An e-mail template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailTemplate {
    /// `body`
    pub body: EmailBody,
}

/// An e-mail body template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailBody {
    /// `html`: `base64://` URL of the Go template.
    pub html: String,
}

/// `session`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// `session.whoami`
    pub whoami: Whoami,
}

/// `session.whoami`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Whoami {
    /// `required_aal`
    pub required_aal: RequiredAal,
}
