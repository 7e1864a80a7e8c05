//! The charm's configuration: the typed view of `config.yaml` and its validation.
//!
//! [`CharmConfig`] is what Juju reports (`config-get --format=json --all`): every option of
//! `config.yaml` with its default applied, as plain values. [`CharmConfig::validate`] turns it
//! into a [`ValidConfig`] (parsed log level, proxies, Kubernetes quantities, identity schemas)
//! or the first [`ConfigProblem`], whose `Display` is the `blocked` status message:
//! it names the option and says how to fix it. Validation is pure: no I/O, no logging.
//!
//! ```ignore
//! let config = CharmConfig::from_config_get_json(r#"{"log_level": "warn"}"#)?;
//! let valid = config.validate()?;
//! assert_eq!(valid.log_level, LogLevel::Warning);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity_schemas::IdentitySchemaSet;

/// The config's `log_level`, as Kratos knows it (one type for validation and rendering).
pub use crate::kratos_config::LogLevel;

/// The charm's configuration options, as in `config.yaml` and as Juju reports them.
///
/// Field names are the option names. [`Default`] gives `config.yaml`'s defaults (a test keeps
/// the two in agreement); an option missing from Juju's output takes its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CharmConfig {
    /// Kratos log level (`trace debug info warning error fatal panic`; `warn` = `warning`).
    pub log_level: String,
    /// Kratos development mode (plain HTTP allowed).
    pub dev: bool,
    /// Proxy URL for outgoing HTTP; empty = none.
    pub http_proxy: String,
    /// Proxy URL for outgoing HTTPS; empty = none.
    pub https_proxy: String,
    /// Comma-separated proxy exclusions; empty = none.
    pub no_proxy: String,
    /// CPU limit of the kratos container (Kubernetes quantity); empty = no limit.
    pub cpu: String,
    /// Memory limit of the kratos container (Kubernetes quantity); empty = no limit.
    pub memory: String,
    /// Local identity provider (password, code, WebAuthn) enabled.
    pub enable_local_idp: bool,
    /// Second factor required for local users.
    pub enforce_mfa: bool,
    /// E-mail verification required.
    pub enable_verification: bool,
    /// Sender address of courier e-mails.
    pub sender_email: String,
    /// Sender display name of courier e-mails.
    pub sender_name: String,
    /// Passwordless (WebAuthn-only) login enabled.
    pub enable_passwordless_login_method: bool,
    /// WebAuthn required after an external-provider login.
    pub enable_oidc_webauthn_sequencing: bool,
    /// JSON object: schema id -> identity schema; empty = not from config.
    pub identity_schemas: String,
    /// Default schema id among `identity_schemas`; empty = none.
    pub default_identity_schema_id: String,
    /// Go template of the recovery e-mail body; empty = Kratos's own.
    pub recovery_email_template: String,
    /// How often the leader removes expired data: `off` or a duration (`6h`); checked
    /// apart from the rest (crate::cleanup), so a bad value stops only the cleanup.
    pub cleanup_interval: String,
    /// How long expired data is kept before the cleanup removes it (a duration).
    pub cleanup_keep_last: String,
    /// At most this many rows of each kind removed per cleanup run.
    pub cleanup_batch_size: i64,
}

impl Default for CharmConfig {
    /// The defaults of `config.yaml`.
    fn default() -> Self {
        Self {
            log_level: "info".to_owned(),
            dev: false,
            http_proxy: String::new(),
            https_proxy: String::new(),
            no_proxy: String::new(),
            cpu: String::new(),
            memory: String::new(),
            enable_local_idp: true,
            enforce_mfa: true,
            enable_verification: false,
            sender_email: "identity@canonical.com".to_owned(),
            sender_name: "Canonical Identity Platform".to_owned(),
            enable_passwordless_login_method: false,
            enable_oidc_webauthn_sequencing: false,
            identity_schemas: String::new(),
            default_identity_schema_id: String::new(),
            recovery_email_template: String::new(),
            cleanup_interval: "off".to_owned(),
            cleanup_keep_last: "24h".to_owned(),
            cleanup_batch_size: 10_000,
        }
    }
}

/// A configuration value the charm cannot run with. `Display` gives the `blocked` message:
/// `Invalid config <option>: <message>`. Messages never repeat proxy URLs (they may hold
/// credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid config {option}: {message}")]
pub struct ConfigProblem {
    /// The option to change, as named in `config.yaml`.
    pub option: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigProblem {
    fn new(option: &'static str, message: impl Into<String>) -> Self {
        Self {
            option,
            message: message.into(),
        }
    }
}

/// Proxy settings for the workload environment; `None` = not set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxySettings {
    /// `HTTP_PROXY`
    pub http_proxy: Option<String>,
    /// `HTTPS_PROXY`
    pub https_proxy: Option<String>,
    /// `NO_PROXY` (entries trimmed, joined with commas)
    pub no_proxy: Option<String>,
}

/// A Kubernetes resource quantity such as `500m`, `1.5`, `512Mi` or `1e3`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    text: String,
    value: f64,
}

impl Quantity {
    /// Parses the Kubernetes quantity grammar (sign, decimal number, then a binary-SI suffix
    /// `Ki..Ei`, a decimal-SI suffix `m k M G T P E`, or a decimal exponent `e<n>`/`E<n>`).
    /// Returns `None` when `text` is not a quantity.
    pub fn parse(text: &str) -> Option<Quantity> {
        let text = text.trim();
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        let number_len = unsigned
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(unsigned.len());
        let (number, suffix) = unsigned.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
            return None;
        }
        let mut value: f64 = number.parse().ok()?;
        value *= Self::suffix_multiplier(suffix)?;
        if text.starts_with('-') {
            value = -value;
        }
        Some(Quantity {
            text: text.to_owned(),
            value,
        })
    }

    fn suffix_multiplier(suffix: &str) -> Option<f64> {
        let binary = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
        if let Some(power) = binary.iter().position(|s| *s == suffix) {
            return Some(1024f64.powi(i32::try_from(power).ok()? + 1));
        }
        let decimal = match suffix {
            "" => Some(0),
            "m" => Some(-3),
            "k" => Some(3),
            "M" => Some(6),
            "G" => Some(9),
            "T" => Some(12),
            "P" => Some(15),
            "E" => Some(18),
            _ => None,
        };
        if let Some(exponent) = decimal {
            return Some(10f64.powi(exponent));
        }
        // Decimal exponent: e or E followed by a signed integer.
        let exponent = suffix.strip_prefix(['e', 'E'])?;
        let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(10f64.powi(exponent.parse().ok()?))
    }

    /// The quantity as written (trimmed), to pass on to Kubernetes.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value in base units (cores for CPU, bytes for memory), for comparisons.
    pub fn value(&self) -> f64 {
        self.value
    }
}

/// Resource limits of the kratos container; `None` = no limit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceLimits {
    /// CPU limit.
    pub cpu: Option<Quantity>,
    /// Memory limit.
    pub memory: Option<Quantity>,
}

/// A configuration the charm can run with, produced by [`CharmConfig::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidConfig {
    /// Kratos log level.
    pub log_level: LogLevel,
    /// Kratos development mode.
    pub dev: bool,
    /// Proxy environment.
    pub proxy: ProxySettings,
    /// Container resource limits.
    pub resource_limits: ResourceLimits,
    /// Local identity provider enabled.
    pub enable_local_idp: bool,
    /// Second factor required for local users.
    pub enforce_mfa: bool,
    /// E-mail verification required.
    pub enable_verification: bool,
    /// Sender address of courier e-mails (trimmed).
    pub sender_email: String,
    /// Sender display name of courier e-mails (trimmed).
    pub sender_name: String,
    /// Passwordless (WebAuthn-only) login enabled.
    pub enable_passwordless_login_method: bool,
    /// WebAuthn required after an external-provider login.
    pub enable_oidc_webauthn_sequencing: bool,
    /// Identity schemas from the config; `None` = use the next source (ConfigMap, defaults).
    pub identity_schemas: Option<IdentitySchemaSet>,
    /// Recovery e-mail body template; `None` = Kratos's own.
    pub recovery_email_template: Option<String>,
}

const LOG_LEVELS_LIST: &str = "trace, debug, info, warning, error, fatal, panic";
const PROXY_SCHEMES: [&str; 4] = ["http", "https", "socks5", "socks5h"];

impl CharmConfig {
    /// Reads the output of `config-get --format=json --all`. Keys reported as `null` (unset
    /// options without a default) and missing keys take their `config.yaml` default; keys
    /// this charm does not know are ignored.
    pub fn from_config_get_json(text: &str) -> Result<CharmConfig, serde_json::Error> {
        let mut value: Value = serde_json::from_str(text)?;
        if let Value::Object(map) = &mut value {
            map.retain(|_, v| !v.is_null());
        }
        serde_json::from_value(value)
    }

    /// Checks every option and returns the typed configuration, or the first problem found
    /// (options in `config.yaml` order, then the combinations of options).
    pub fn validate(&self) -> Result<ValidConfig, ConfigProblem> {
        let log_level = self.log_level.parse::<LogLevel>().map_err(|_| {
            ConfigProblem::new(
                "log_level",
                format!(
                    "{} is not one of {LOG_LEVELS_LIST}",
                    quoted(self.log_level.trim())
                ),
            )
        })?;
        let proxy = ProxySettings {
            http_proxy: proxy_url("http_proxy", &self.http_proxy)?,
            https_proxy: proxy_url("https_proxy", &self.https_proxy)?,
            no_proxy: no_proxy_list(&self.no_proxy)?,
        };
        let resource_limits = ResourceLimits {
            cpu: resource_limit("cpu", &self.cpu, "\"1\", \"0.5\" or \"500m\"")?,
            memory: resource_limit("memory", &self.memory, "\"512Mi\" or \"1Gi\"")?,
        };
        let sender_email = sender_email(&self.sender_email)?;
        self.check_flag_combinations()?;
        let identity_schemas =
            configured_schemas(&self.identity_schemas, &self.default_identity_schema_id)?;
        let recovery_email_template = Some(self.recovery_email_template.clone())
            .filter(|template| !template.trim().is_empty());

        Ok(ValidConfig {
            log_level,
            dev: self.dev,
            proxy,
            resource_limits,
            enable_local_idp: self.enable_local_idp,
            enforce_mfa: self.enforce_mfa,
            enable_verification: self.enable_verification,
            sender_email: sender_email.to_owned(),
            sender_name: self.sender_name.trim().to_owned(),
            enable_passwordless_login_method: self.enable_passwordless_login_method,
            enable_oidc_webauthn_sequencing: self.enable_oidc_webauthn_sequencing,
            identity_schemas,
            recovery_email_template,
        })
    }
}

impl CharmConfig {
    /// The switches that cannot be combined.
    fn check_flag_combinations(&self) -> Result<(), ConfigProblem> {
        if self.enable_passwordless_login_method && self.enable_oidc_webauthn_sequencing {
            return Err(ConfigProblem::new(
                "enable_oidc_webauthn_sequencing",
                "cannot be combined with enable_passwordless_login_method=true; \
                 set one of them to false",
            ));
        }
        if self.enable_passwordless_login_method && !self.enable_local_idp {
            return Err(ConfigProblem::new(
                "enable_passwordless_login_method",
                "requires enable_local_idp=true; enable the local identity provider \
                 or set this option to false",
            ));
        }
        Ok(())
    }
}

/// `sender_email`, trimmed and checked.
fn sender_email(value: &str) -> Result<&str, ConfigProblem> {
    let sender_email = value.trim();
    if looks_like_email(sender_email) {
        Ok(sender_email)
    } else {
        Err(ConfigProblem::new(
            "sender_email",
            format!(
                "{} is not an e-mail address; use e.g. identity@example.com",
                quoted(sender_email)
            ),
        ))
    }
}

/// `value` in double quotes, cut to a length that fits a status line.
fn quoted(value: &str) -> String {
    const MAX_CHARS: usize = 40;
    if value.chars().count() > MAX_CHARS {
        let cut: String = value.chars().take(MAX_CHARS).collect();
        format!("{:?}", format!("{cut}..."))
    } else {
        format!("{value:?}")
    }
}

/// A proxy URL as Go's net/http reads it from the environment: `scheme://host[:port]`, or
/// `host[:port]` meaning `http://`. The value is never echoed: it may hold credentials.
fn proxy_url(option: &'static str, value: &str) -> Result<Option<String>, ConfigProblem> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let problem = |what: &str| {
        ConfigProblem::new(
            option,
            format!(
                "{what}; give a URL such as http://proxy.internal:3128 \
                 (scheme http, https, socks5 or socks5h), or an empty value for no proxy"
            ),
        )
    };
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(problem("the URL contains spaces"));
    }
    let full = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let uri: http::Uri = full.parse().map_err(|_| problem("not a valid URL"))?;
    let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
    if !PROXY_SCHEMES.contains(&scheme.as_str()) {
        return Err(problem("unsupported URL scheme"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(problem("the URL has no host"));
    }
    Ok(Some(value.to_owned()))
}

/// `no_proxy`: comma-separated hosts, domains (`.example.com`), IPs or CIDR ranges.
fn no_proxy_list(value: &str) -> Result<Option<String>, ConfigProblem> {
    let entries: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    for entry in &entries {
        let problem = if entry.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Some("contains a space")
        } else if entry.contains("://") {
            Some("is a URL")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ConfigProblem::new(
                "no_proxy",
                format!(
                    "entry {} {problem}; give comma-separated hosts, domains, IPs or CIDR \
                     ranges, e.g. localhost,.svc.cluster.local,10.0.0.0/8",
                    quoted(entry)
                ),
            ));
        }
    }
    Ok(Some(entries.join(",")).filter(|joined| !joined.is_empty()))
}

fn resource_limit(
    option: &'static str,
    value: &str,
    examples: &str,
) -> Result<Option<Quantity>, ConfigProblem> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let quantity = Quantity::parse(value).ok_or_else(|| {
        ConfigProblem::new(
            option,
            format!(
                "{} is not a Kubernetes quantity; use e.g. {examples}, or an empty value \
                 for no limit",
                quoted(value)
            ),
        )
    })?;
    if quantity.value() <= 0.0 {
        return Err(ConfigProblem::new(
            option,
            format!(
                "{} must be greater than zero; use e.g. {examples}, or an empty value for no limit",
                quoted(value)
            ),
        ));
    }
    // `1e400` is a quantity Kubernetes takes, but not a number the limits can be
    // computed in (it would reach the API as `inf`).
    if !quantity.value().is_finite() {
        return Err(ConfigProblem::new(
            option,
            format!(
                "{} is too large; use e.g. {examples}, or an empty value for no limit",
                quoted(value)
            ),
        ));
    }
    Ok(Some(quantity))
}

/// A plausible e-mail address: one `@` between a non-empty local part and a domain that
/// neither starts nor ends with a dot, no spaces. Kratos itself checks the `email` format.
fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// How `identity_schemas` must look, for its problem messages.
const SCHEMAS_USAGE: &str = "give a JSON object mapping schema ids to identity schemas, \
                             e.g. {\"user_v0\": {...}}";

/// `identity_schemas` parsed into schema id -> schema object.
fn schema_objects(schemas_json: &str) -> Result<BTreeMap<String, Value>, ConfigProblem> {
    let usage = SCHEMAS_USAGE;
    let problem = |message: String| ConfigProblem::new("identity_schemas", message);
    let parsed: Value = serde_json::from_str(schemas_json).map_err(|err| {
        problem(format!(
            "not valid JSON (line {} column {}); {usage}",
            err.line(),
            err.column()
        ))
    })?;
    let Value::Object(map) = parsed else {
        return Err(problem(format!("not a JSON object; {usage}")));
    };
    if map.is_empty() {
        return Err(problem(format!("contains no schema; {usage}")));
    }
    let mut schemas = BTreeMap::new();
    for (id, schema) in map {
        if id.trim().is_empty() {
            return Err(problem(format!("a schema id is empty; {usage}")));
        }
        if !schema.is_object() {
            return Err(problem(format!(
                "the schema of {} is not a JSON object; {usage}",
                quoted(&id)
            )));
        }
        schemas.insert(id, schema);
    }
    Ok(schemas)
}

fn configured_schemas(
    schemas_json: &str,
    default_id: &str,
) -> Result<Option<IdentitySchemaSet>, ConfigProblem> {
    let schemas_json = schemas_json.trim();
    let default_id = default_id.trim();
    if schemas_json.is_empty() {
        if default_id.is_empty() {
            return Ok(None);
        }
        return Err(ConfigProblem::new(
            "default_identity_schema_id",
            format!(
                "{} is set but identity_schemas is empty; set identity_schemas too, or reset \
                 this option with `juju config <app> --reset default_identity_schema_id`",
                quoted(default_id)
            ),
        ));
    }
    let schemas = schema_objects(schemas_json)?;
    let ids = || {
        schemas
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if default_id.is_empty() {
        return Err(ConfigProblem::new(
            "default_identity_schema_id",
            format!(
                "is empty; set it to one of the schemas in identity_schemas ({})",
                ids()
            ),
        ));
    }
    if !schemas.contains_key(default_id) {
        return Err(ConfigProblem::new(
            "default_identity_schema_id",
            format!(
                "{} is not one of the schemas in identity_schemas ({})",
                quoted(default_id),
                ids()
            ),
        ));
    }
    // One parse: the set the renderer uses is the one validated here.
    IdentitySchemaSet::new(default_id, schemas)
        .map(Some)
        .map_err(|problem| {
            ConfigProblem::new("identity_schemas", format!("{problem}; {SCHEMAS_USAGE}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(change: impl FnOnce(&mut CharmConfig)) -> CharmConfig {
        let mut config = CharmConfig::default();
        change(&mut config);
        config
    }

    fn problem_of(config: CharmConfig) -> ConfigProblem {
        config.validate().unwrap_err()
    }

    const SCHEMAS: &str = r#"{
        "user_v0": {"type": "object", "properties": {"traits": {"properties": {"email": {"type": "string"}}}}},
        "admin_v0": {"type": "object", "properties": {"traits": {"properties": {"username": {"type": "string"}}}}}
    }"#;

    #[test]
    fn defaults_validate_to_the_documented_behaviour() {
        let valid = CharmConfig::default().validate().unwrap();
        assert_eq!(valid.log_level, LogLevel::Info);
        assert_eq!(valid.proxy, ProxySettings::default());
        assert_eq!(valid.resource_limits, ResourceLimits::default());
        assert_eq!(valid.identity_schemas, None);
        assert_eq!(valid.recovery_email_template, None);
        assert!(valid.enable_local_idp && valid.enforce_mfa);
        assert_eq!(valid.sender_email, "identity@canonical.com");
    }

    #[test]
    fn config_get_output_with_nulls_and_unknown_keys_is_read() {
        let config = CharmConfig::from_config_get_json(
            r#"{"log_level": "debug", "cpu": null, "enforce_mfa": false, "removed_option": 3}"#,
        )
        .unwrap();
        assert_eq!(config.log_level, "debug");
        assert_eq!(config.cpu, "");
        assert!(!config.enforce_mfa);
        assert!(config.enable_local_idp, "missing keys take the default");
    }

    #[test]
    fn config_get_output_with_a_wrongly_typed_value_is_an_error() {
        assert!(CharmConfig::from_config_get_json(r#"{"dev": "yes"}"#).is_err());
        assert!(CharmConfig::from_config_get_json("not json").is_err());
    }

    #[test]
    fn log_levels_are_kratos_levels_and_warn_is_warning() {
        for (given, expected) in [
            ("trace", LogLevel::Trace),
            ("warn", LogLevel::Warning),
            ("WARNING", LogLevel::Warning),
            (" error ", LogLevel::Error),
            ("panic", LogLevel::Panic),
        ] {
            let valid = with(|c| c.log_level = given.into()).validate().unwrap();
            assert_eq!(valid.log_level, expected, "{given}");
        }
        assert_eq!(LogLevel::Warning.as_str(), "warning");
    }

    #[test]
    fn an_unknown_log_level_names_the_option_and_the_valid_values() {
        let problem = problem_of(with(|c| c.log_level = "verbose".into()));
        assert_eq!(
            problem.to_string(),
            "Invalid config log_level: \"verbose\" is not one of \
             trace, debug, info, warning, error, fatal, panic"
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let problem = problem_of(with(|c| c.log_level = "x".repeat(500)));
        assert!(problem.message.len() < 120, "{}", problem.message);
    }

    #[test]
    fn proxies_accept_urls_and_bare_host_ports() {
        let valid = with(|c| {
            c.http_proxy = "http://user:secret@proxy.internal:3128".into();
            c.https_proxy = " proxy.internal:3128 ".into();
            c.no_proxy = "localhost, .svc.cluster.local,,10.0.0.0/8".into();
        })
        .validate()
        .unwrap();
        assert_eq!(
            valid.proxy.http_proxy.as_deref(),
            Some("http://user:secret@proxy.internal:3128")
        );
        assert_eq!(
            valid.proxy.https_proxy.as_deref(),
            Some("proxy.internal:3128")
        );
        assert_eq!(
            valid.proxy.no_proxy.as_deref(),
            Some("localhost,.svc.cluster.local,10.0.0.0/8")
        );
    }

    #[test]
    fn bad_proxies_are_rejected_without_echoing_the_url() {
        for bad in [
            "ftp://user:secret@proxy:21",
            "http://user:secret@ proxy",
            "http://",
        ] {
            let problem = problem_of(with(|c| c.https_proxy = bad.into()));
            assert_eq!(problem.option, "https_proxy", "{bad}");
            assert!(!problem.message.contains("secret"), "{}", problem.message);
            assert!(problem.message.contains("http://proxy.internal:3128"));
        }
        let problem = problem_of(with(|c| c.no_proxy = "localhost,http://example.com".into()));
        assert_eq!(problem.option, "no_proxy");
        assert!(problem.message.contains("\"http://example.com\" is a URL"));
    }

    #[test]
    fn kubernetes_quantities_are_parsed() {
        for (text, value) in [
            ("1", 1.0),
            ("500m", 0.5),
            ("0.5", 0.5),
            (".5", 0.5),
            ("1.", 1.0),
            ("1Gi", 1024.0 * 1024.0 * 1024.0),
            ("512Mi", 512.0 * 1024.0 * 1024.0),
            ("1G", 1e9),
            ("1e3", 1000.0),
            ("2E-1", 0.2),
            ("+1k", 1000.0),
        ] {
            let quantity = Quantity::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert!((quantity.value() - value).abs() < 1e-9, "{text}");
            assert_eq!(quantity.as_str(), text);
        }
        for text in [
            "", "1GB", "1 Gi", "Gi", "1.2.3", ".", "1e", "1e1.5", "one", "1gi",
        ] {
            assert_eq!(Quantity::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn resource_limits_must_be_positive_quantities() {
        let valid = with(|c| {
            c.cpu = "500m".into();
            c.memory = "1Gi".into();
        })
        .validate()
        .unwrap();
        assert_eq!(valid.resource_limits.cpu.unwrap().as_str(), "500m");
        assert_eq!(valid.resource_limits.memory.unwrap().as_str(), "1Gi");

        let problem = problem_of(with(|c| c.memory = "1GB".into()));
        assert_eq!(
            problem.to_string(),
            "Invalid config memory: \"1GB\" is not a Kubernetes quantity; \
             use e.g. \"512Mi\" or \"1Gi\", or an empty value for no limit"
        );
        assert_eq!(problem_of(with(|c| c.cpu = "-1".into())).option, "cpu");
        assert_eq!(problem_of(with(|c| c.cpu = "0m".into())).option, "cpu");
        let problem = problem_of(with(|c| c.cpu = "1e400".into()));
        assert_eq!(
            problem.to_string(),
            "Invalid config cpu: \"1e400\" is too large; \
             use e.g. \"1\", \"0.5\" or \"500m\", or an empty value for no limit"
        );
    }

    #[test]
    fn sender_email_must_be_an_address() {
        for bad in ["", "identity", "a@", "@example.com", "a b@example.com"] {
            assert_eq!(
                problem_of(with(|c| c.sender_email = bad.into())).option,
                "sender_email",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn passwordless_and_oidc_webauthn_sequencing_are_contradictory() {
        let problem = problem_of(with(|c| {
            c.enable_passwordless_login_method = true;
            c.enable_oidc_webauthn_sequencing = true;
        }));
        assert_eq!(problem.option, "enable_oidc_webauthn_sequencing");
        assert!(problem.message.contains("enable_passwordless_login_method"));
        // Each alone is fine.
        assert!(with(|c| c.enable_passwordless_login_method = true)
            .validate()
            .is_ok());
        assert!(with(|c| c.enable_oidc_webauthn_sequencing = true)
            .validate()
            .is_ok());
    }

    #[test]
    fn passwordless_needs_the_local_identity_provider() {
        let problem = problem_of(with(|c| {
            c.enable_passwordless_login_method = true;
            c.enable_local_idp = false;
        }));
        assert_eq!(problem.option, "enable_passwordless_login_method");
        assert!(problem.message.contains("enable_local_idp=true"));
    }

    #[test]
    fn identity_schemas_with_a_default_are_parsed() {
        let valid = with(|c| {
            c.identity_schemas = SCHEMAS.into();
            c.default_identity_schema_id = "user_v0".into();
        })
        .validate()
        .unwrap();
        let schemas = valid.identity_schemas.unwrap();
        assert_eq!(schemas.default_id(), "user_v0");
        assert_eq!(
            schemas.schemas().keys().collect::<Vec<_>>(),
            ["admin_v0", "user_v0"]
        );
        assert_eq!(schemas.schemas()["user_v0"]["type"], "object");
    }

    #[test]
    fn identity_schema_problems_name_the_option_to_fix() {
        let cases: [(&str, &str, &str, &str); 8] = [
            (
                "{\"user_v0\": {\"type\": \"object\"}}",
                "user_v0",
                "identity_schemas",
                "schema 'user_v0' declares no traits",
            ),
            (
                "{\"user_v0\": ",
                "user_v0",
                "identity_schemas",
                "not valid JSON",
            ),
            ("[1]", "user_v0", "identity_schemas", "not a JSON object"),
            ("{}", "user_v0", "identity_schemas", "contains no schema"),
            (
                "{\"user_v0\": \"x\"}",
                "user_v0",
                "identity_schemas",
                "\"user_v0\" is not a JSON object",
            ),
            (
                SCHEMAS,
                "",
                "default_identity_schema_id",
                "one of the schemas in identity_schemas (admin_v0, user_v0)",
            ),
            (
                SCHEMAS,
                "other",
                "default_identity_schema_id",
                "\"other\" is not one of the schemas in identity_schemas (admin_v0, user_v0)",
            ),
            (
                "",
                "user_v0",
                "default_identity_schema_id",
                "identity_schemas is empty",
            ),
        ];
        for (schemas, default_id, option, fragment) in cases {
            let problem = problem_of(with(|c| {
                c.identity_schemas = schemas.into();
                c.default_identity_schema_id = default_id.into();
            }));
            assert_eq!(problem.option, option, "{schemas} / {default_id}");
            assert!(
                problem.message.contains(fragment),
                "{fragment:?} not in {:?}",
                problem.message
            );
        }
    }

    #[test]
    fn a_blank_recovery_template_means_kratos_default() {
        let valid = with(|c| c.recovery_email_template = " \n".into())
            .validate()
            .unwrap();
        assert_eq!(valid.recovery_email_template, None);
        let template = "Hi, {{ .RecoveryCode }}";
        let valid = with(|c| c.recovery_email_template = template.into())
            .validate()
            .unwrap();
        assert_eq!(valid.recovery_email_template.as_deref(), Some(template));
    }
}
