//! What the rendering of `kratos.yaml` depends on, as typed values.
//!
//! Relation and config parsers (elsewhere) build these; [`super::render`] turns them into a
//! [`super::KratosConfig`]. Values that are secrets are wrapped in [`Sensitive`] so they
//! cannot reach a log through `Debug`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use url::Url;

use crate::identity_schemas::IdentitySchemaSet;
pub use crate::sensitive::Sensitive;

/// Everything [`super::render`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderInputs {
    /// `log_level` config option.
    pub log_level: LogLevel,
    /// The feature switches from the charm config.
    pub flags: Flags,
    /// The chosen identity schemas.
    pub identity_schemas: IdentitySchemaSet,
    /// The login UI's URLs (`ui-endpoint-info`), when integrated.
    pub login_ui: Option<LoginUiUrls>,
    /// The public URL of Kratos (`public-route`: scheme + external host), when integrated.
    pub public_url: Option<Url>,
    /// OIDC providers: those of the `kratos-external-idp` relations first, then those of the
    /// `oidc-providers` ConfigMap.
    pub oidc_providers: Vec<OidcProvider>,
    /// Webhooks from the `kratos-registration-webhook` relations, in relation order.
    pub registration_webhooks: Vec<Webhook>,
    /// Webhooks from the `kratos-login-webhook` relations, in relation order.
    pub login_webhooks: Vec<Webhook>,
    /// E-mail sender and template overrides.
    pub courier: CourierInputs,
    /// Whether a tracing backend is integrated (web-hooks then emit analytics events).
    pub tracing_enabled: bool,
}

/// The boolean config options that shape the self-service flows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `enable_local_idp`: local accounts (password, code, profile, recovery, ...).
    pub enable_local_idp: bool,
    /// `enforce_mfa`: TOTP and backup codes, and whoami requires the highest AAL.
    pub enforce_mfa: bool,
    /// `enable_verification`: verify addresses by code after registration.
    pub enable_verification: bool,
    /// `enable_passwordless_login_method`: WebAuthn as a first factor.
    pub enable_passwordless_login_method: bool,
    /// `enable_oidc_webauthn_sequencing`: WebAuthn as a second factor after OIDC sign-in.
    pub enable_oidc_webauthn_sequencing: bool,
}

impl Flags {
    /// Rejects contradictory combinations (a config-validation concern, also checked by
    /// [`super::render`]).
    pub fn validate(&self) -> Result<(), super::RenderError> {
        if self.enable_passwordless_login_method && self.enable_oidc_webauthn_sequencing {
            return Err(super::RenderError::PasswordlessWithOidcWebauthnSequencing);
        }
        Ok(())
    }

    /// WebAuthn is on in either of its two roles.
    pub fn webauthn_enabled(&self) -> bool {
        self.enable_passwordless_login_method || self.enable_oidc_webauthn_sequencing
    }

    /// Whether `/sessions/whoami` must require the highest available AAL (the charm also sets
    /// `SESSION_WHOAMI_REQUIRED_AAL` in the environment under the same condition).
    pub fn whoami_requires_highest_aal(&self) -> bool {
        self.enable_oidc_webauthn_sequencing || (self.enable_local_idp && self.enforce_mfa)
    }
}

/// Kratos's log levels. Parses the config option, accepting `warn` as an alias of `warning`
/// (Kratos itself rejects `warn`), case-insensitively.
///
/// ```ignore
/// assert_eq!("warn".parse::<LogLevel>(), Ok(LogLevel::Warning));
/// assert_eq!(LogLevel::Warning.as_str(), "warning");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// `trace`
    Trace,
    /// `debug`
    Debug,
    /// `info` (the default)
    #[default]
    Info,
    /// `warning` (also parsed from `warn`)
    Warning,
    /// `error`
    Error,
    /// `fatal`
    Fatal,
    /// `panic`
    Panic,
}

impl LogLevel {
    /// The spelling Kratos accepts (for `log.level` and `LOG_LEVEL`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Fatal => "fatal",
            Self::Panic => "panic",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `log_level` value that is not a Kratos log level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log_level: '{0}' is not a log level; use one of trace, debug, info, warning (or warn), error, fatal, panic")]
pub struct InvalidLogLevel(pub String);

impl FromStr for LogLevel {
    type Err = InvalidLogLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Ok(Self::Trace),
            "debug" => Ok(Self::Debug),
            "info" => Ok(Self::Info),
            "warning" | "warn" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            "fatal" => Ok(Self::Fatal),
            "panic" => Ok(Self::Panic),
            _ => Err(InvalidLogLevel(s.to_string())),
        }
    }
}

/// The login UI's endpoints as the `ui-endpoint-info` relation gives them. Every field is
/// optional on the wire; each one that is present switches on what needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginUiUrls {
    /// `login_url`
    pub login: Option<Url>,
    /// `error_url`
    pub error: Option<Url>,
    /// `settings_url` (also the default browser return URL)
    pub settings: Option<Url>,
    /// `recovery_url`
    pub recovery: Option<Url>,
    /// `verification_url`
    pub verification: Option<Url>,
    /// `registration_url`
    pub registration: Option<Url>,
    /// `webauthn_settings_url`
    pub webauthn_settings: Option<Url>,
    /// `account_linking_settings_url`
    pub account_linking_settings: Option<Url>,
}

/// An external OIDC provider, as the `kratos-external-idp` relation (external_provider v1) or
/// the `oidc-providers` ConfigMap describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcProvider {
    /// Provider id, unique among providers; part of the callback URL.
    pub id: String,
    /// Button label; defaults to the provider name on the wire.
    pub label: Option<String>,
    /// OAuth2 client id.
    pub client_id: String,
    /// Requested scopes.
    pub scope: Vec<String>,
    /// Claim mapper; `None` picks the shipped mapper for the provider type.
    pub mapper: Option<ClaimMapperSource>,
    /// The provider type and what only that type carries.
    pub kind: ProviderKind,
}

/// Where a provider's claim mapper comes from when the provider brings its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimMapperSource {
    /// A URL Kratos can load (`file://`, `https://`, `base64://`), used as it is.
    Url(String),
    /// Jsonnet source, rendered as a `base64://` URL.
    Jsonnet(String),
}

/// Provider types with the fields each one needs (Kratos's schema rejects, for example, a
/// tenant on anything but Microsoft, or a client secret on Apple).
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderKind {
    /// Any OpenID Connect provider, found by its issuer.
    Generic {
        /// Issuer URL, kept exactly as given: OIDC discovery compares it byte for byte with
        /// the issuer the provider reports (so no `Url` normalisation such as a trailing `/`).
        issuer_url: String,
        /// Client secret.
        client_secret: Sensitive,
    },
    /// Auth0, found by its issuer.
    Auth0 {
        /// Issuer URL, kept exactly as given.
        issuer_url: String,
        /// Client secret.
        client_secret: Sensitive,
    },
    /// Microsoft Entra ID.
    Microsoft {
        /// Tenant (id, domain, `common`, `organizations`, `consumers`).
        tenant: String,
        /// Client secret.
        client_secret: Sensitive,
    },
    /// Sign in with Apple (signs its own client secret).
    Apple {
        /// Developer team id.
        team_id: String,
        /// Private key id.
        private_key_id: String,
        /// Private key (PEM).
        private_key: Sensitive,
    },
    /// One of the social providers that need only a client secret.
    Social {
        /// Which one.
        provider: SocialProvider,
        /// Client secret.
        client_secret: Sensitive,
    },
}

impl ProviderKind {
    /// The `provider` value Kratos expects.
    pub fn provider_name(&self) -> &'static str {
        match self {
            Self::Generic { .. } => "generic",
            Self::Auth0 { .. } => "auth0",
            Self::Microsoft { .. } => "microsoft",
            Self::Apple { .. } => "apple",
            Self::Social { provider, .. } => provider.as_str(),
        }
    }
}

/// Social providers that both the external_provider interface and Kratos (v1.3 and v26)
/// know and that need only a client id and secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocialProvider {
    /// `github`
    Github,
    /// `gitlab`
    Gitlab,
    /// `google`
    Google,
    /// `facebook`
    Facebook,
    /// `slack`
    Slack,
    /// `spotify`
    Spotify,
    /// `discord`
    Discord,
    /// `netid`
    Netid,
    /// `yandex`
    Yandex,
    /// `vk`
    Vk,
    /// `dingtalk`
    Dingtalk,
}

impl SocialProvider {
    /// Kratos's name for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::Google => "google",
            Self::Facebook => "facebook",
            Self::Slack => "slack",
            Self::Spotify => "spotify",
            Self::Discord => "discord",
            Self::Netid => "netid",
            Self::Yandex => "yandex",
            Self::Vk => "vk",
            Self::Dingtalk => "dingtalk",
        }
    }
}

impl FromStr for SocialProvider {
    type Err = String;

    /// Parses Kratos's name (`yander`, a misspelling in the external_provider library, is
    /// accepted for `yandex`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "github" => Self::Github,
            "gitlab" => Self::Gitlab,
            "google" => Self::Google,
            "facebook" => Self::Facebook,
            "slack" => Self::Slack,
            "spotify" => Self::Spotify,
            "discord" => Self::Discord,
            "netid" => Self::Netid,
            "yandex" | "yander" => Self::Yandex,
            "vk" => Self::Vk,
            "dingtalk" => Self::Dingtalk,
            other => return Err(format!("unsupported social provider '{other}'")),
        })
    }
}

/// A web-hook from a `kratos-registration-webhook` or `kratos-login-webhook` relation.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// The URL Kratos calls.
    pub url: Url,
    /// The body template, passed to Kratos unchanged (normally a `base64://` or `file://`
    /// URL of a Jsonnet template; empty for none).
    pub body: String,
    /// HTTP method (`POST`, ...).
    pub method: String,
    /// Before or after the flow.
    pub mode: HookMode,
    /// Which methods' after-hooks it joins (for `before` hooks it cannot apply: Kratos runs
    /// those before any method is chosen, so they run for every method).
    pub methods: MethodSelection,
    /// Ordering key within a hook list: lower first; equal weights keep relation order.
    pub weight: u32,
    /// What Kratos does with the response.
    pub response: ResponseHandling,
    /// Authentication Kratos presents to the web-hook.
    pub auth: Option<WebhookAuth>,
}

/// When a web-hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookMode {
    /// Before the flow starts.
    Before,
    /// After the flow succeeded with a method.
    After,
}

/// The methods a web-hook applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodSelection {
    /// Every active method (an empty `methods` list on the wire).
    All,
    /// Only these (non-empty: an empty list on the wire means [`MethodSelection::All`]).
    /// Each gets its after-section, even a method the config leaves off (such as `passkey`,
    /// which the charm keeps disabled); methods the flow has no section for (`totp` and
    /// `lookup_secret` in registration) are refused when the relation data is read.
    Only(Vec<AuthMethod>),
}

impl MethodSelection {
    /// Whether the hook applies to `method`.
    pub fn includes(&self, method: AuthMethod) -> bool {
        match self {
            Self::All => true,
            Self::Only(methods) => methods.contains(&method),
        }
    }
}

/// Kratos credential methods that have their own after-hook section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthMethod {
    /// `password`
    Password,
    /// `oidc`
    Oidc,
    /// `code`
    Code,
    /// `webauthn`
    Webauthn,
    /// `passkey` (its hooks are rendered; the charm keeps passkeys disabled)
    Passkey,
    /// `totp` (login only)
    Totp,
    /// `lookup_secret` (login only)
    LookupSecret,
}

impl FromStr for AuthMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "password" => Self::Password,
            "oidc" => Self::Oidc,
            "code" => Self::Code,
            "webauthn" => Self::Webauthn,
            "passkey" => Self::Passkey,
            "totp" => Self::Totp,
            "lookup_secret" => Self::LookupSecret,
            other => return Err(format!("unknown method '{other}'")),
        })
    }
}

/// What Kratos does with a web-hook's response. Kratos forbids ignoring and parsing at once,
/// so that combination cannot be expressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResponseHandling {
    /// Wait for the response, do not parse it.
    #[default]
    Wait,
    /// Fire and forget.
    Ignore,
    /// Wait and parse (may modify the identity or abort the flow).
    Parse,
}

impl ResponseHandling {
    /// From the wire's `response_ignore` / `response_parse` booleans.
    pub fn from_flags(ignore: bool, parse: bool) -> Result<Self, String> {
        match (ignore, parse) {
            (false, false) => Ok(Self::Wait),
            (true, false) => Ok(Self::Ignore),
            (false, true) => Ok(Self::Parse),
            (true, true) => Err("response_ignore and response_parse cannot both be true".into()),
        }
    }
}

/// Authentication for a web-hook call, serialised in Kratos's shape
/// (`{type: api_key, config: {name, value, in}}` or `{type: basic_auth, config: {user, password}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "config", rename_all = "snake_case")]
pub enum WebhookAuth {
    /// An API key in a header or cookie.
    ApiKey {
        /// Header or cookie name.
        name: String,
        /// The key.
        value: Sensitive,
        /// Where it goes.
        #[serde(rename = "in")]
        location: ApiKeyLocation,
    },
    /// HTTP basic authentication.
    BasicAuth {
        /// User name.
        user: String,
        /// Password.
        password: Sensitive,
    },
}

/// Where an API key is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyLocation {
    /// A request header.
    #[default]
    Header,
    /// A cookie.
    Cookie,
}

/// Courier (e-mail) settings that belong in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CourierInputs {
    /// `sender_email`.
    pub from_address: Option<String>,
    /// `sender_name`.
    pub from_name: Option<String>,
    /// `recovery_email_template`: HTML body of the recovery-code e-mail (Go template).
    pub recovery_code_email_html: Option<String>,
    /// The `verification-email-template` resource: HTML body of the verification-code e-mail.
    pub verification_code_email_html: Option<String>,
}
