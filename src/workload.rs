//! The Kratos workload as Pebble runs it: paths, the layer (pure), and parsing what the
//! `kratos` CLI prints.

use std::collections::BTreeMap;

use juju_rs_ops::pebble::{Check, CheckLevel, HttpCheck, Layer, Service, ServiceStartup};

use crate::charm_config::ValidConfig;
use crate::identity_schemas::IdentitySchemaSet;
use crate::kratos_config::{CourierInputs, Flags, RenderInputs};

pub const CONTAINER: &str = "kratos";
pub const SERVICE: &str = "kratos";
pub const COURIER: &str = "courier";
pub const READY_CHECK: &str = "ready";
pub const ALIVE_CHECK: &str = "alive";
pub const LAYER_LABEL: &str = "kratos";
pub const PUBLIC_PORT: u16 = 4433;
pub const ADMIN_PORT: u16 = 4434;
pub const CONFIG_FILE: &str = "/etc/config/kratos/kratos.yaml";
/// The SMTP server Kratos uses until an smtp integration provides one (as the reference
/// does: courier needs a connection URI to start).
pub const DEFAULT_SMTP_URI: &str = "smtps://test:test@mailslurper:1025/?skip_ssl_verify=true";

/// The environment shared by the `kratos` and `courier` services.
pub type Environment = BTreeMap<String, String>;

/// Everything the container is converged to: the inputs of `kratos.yaml`, the services'
/// environment and extra files. The config gives the base; each ready integration adds
/// its part ([`crate::integrations::Contribute`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    /// What `kratos.yaml` is rendered from.
    pub render: RenderInputs,
    /// The environment of both services.
    pub env: Environment,
    /// Files to push into the container (path -> content), beside `kratos.yaml`.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl WorkloadSpec {
    /// The config's part: render inputs and environment that depend on nothing else.
    pub fn from_config(
        config: &ValidConfig,
        identity_schemas: IdentitySchemaSet,
        verification_template: Option<String>,
    ) -> WorkloadSpec {
        let flags = Flags {
            enable_local_idp: config.enable_local_idp,
            enforce_mfa: config.enforce_mfa,
            enable_verification: config.enable_verification,
            enable_passwordless_login_method: config.enable_passwordless_login_method,
            enable_oidc_webauthn_sequencing: config.enable_oidc_webauthn_sequencing,
        };
        let render = RenderInputs {
            log_level: config.log_level,
            flags,
            identity_schemas,
            login_ui: None,
            public_url: None,
            oidc_providers: Vec::new(),
            registration_webhooks: Vec::new(),
            login_webhooks: Vec::new(),
            courier: CourierInputs {
                from_address: Some(config.sender_email.clone()).filter(|s| !s.is_empty()),
                from_name: Some(config.sender_name.clone()).filter(|s| !s.is_empty()),
                recovery_code_email_html: config.recovery_email_template.clone(),
                verification_code_email_html: verification_template
                    .filter(|_| config.enable_verification),
            },
            tracing_enabled: false,
        };
        WorkloadSpec {
            env: base_environment(config, &flags),
            render,
            files: BTreeMap::new(),
        }
    }

    /// The spec of the default config with the shipped identity schemas (unit tests).
    #[cfg(test)]
    pub fn for_tests() -> WorkloadSpec {
        let config = crate::charm_config::CharmConfig::default()
            .validate()
            .unwrap_or_else(|problem| panic!("the default config is invalid: {problem}"));
        let schemas =
            crate::identity_schemas::shipped_identity_schemas().unwrap_or_else(|e| panic!("{e}"));
        WorkloadSpec::from_config(&config, schemas, None)
    }
}

/// The environment from the config alone (the database, cookie secret and integrations
/// add theirs).
fn base_environment(config: &ValidConfig, flags: &Flags) -> Environment {
    let mut env = Environment::new();
    env.insert("LOG_LEVEL".into(), config.log_level.as_str().to_string());
    env.insert("LOG_FORMAT".into(), "json".into());
    env.insert("SERVE_PUBLIC_CORS_ENABLED".into(), "true".into());
    env.insert("DEV".into(), config.dev.to_string());
    for (name, value) in [
        ("HTTP_PROXY", &config.proxy.http_proxy),
        ("HTTPS_PROXY", &config.proxy.https_proxy),
        ("NO_PROXY", &config.proxy.no_proxy),
    ] {
        if let Some(value) = value {
            env.insert(name.into(), value.clone());
        }
    }
    env.insert(
        "COURIER_SMTP_FROM_ADDRESS".into(),
        config.sender_email.clone(),
    );
    env.insert("COURIER_SMTP_FROM_NAME".into(), config.sender_name.clone());
    env.insert(
        "COURIER_SMTP_CONNECTION_URI".into(),
        DEFAULT_SMTP_URI.into(),
    );
    // The same rule renders `session.whoami.required_aal` (one place: Flags).
    if flags.whoami_requires_highest_aal() {
        env.insert(
            "SESSION_WHOAMI_REQUIRED_AAL".into(),
            "highest_available".into(),
        );
    }
    env
}

/// The layer: `kratos` serves (started by Pebble on replan), `courier` is started only on
/// the leader by the charm, both with the same environment; readiness and liveness checks
/// on the admin API.
pub fn layer(environment: &Environment) -> Layer {
    let service = |summary: &str, command: String, startup: ServiceStartup| Service {
        r#override: "replace".into(),
        summary: summary.into(),
        command,
        startup: Some(startup),
        environment: environment.clone(),
        ..Service::default()
    };
    let check = |level: CheckLevel, path: &str| Check {
        r#override: "replace".into(),
        level: Some(level),
        period: "10s".into(),
        threshold: Some(3),
        http: Some(HttpCheck {
            url: format!("http://localhost:{ADMIN_PORT}{path}"),
            headers: BTreeMap::new(),
        }),
        ..Check::default()
    };
    Layer {
        summary: "Kratos layer".into(),
        description: "Ory Kratos identity server and its courier, managed by the charm".into(),
        services: BTreeMap::from([
            (
                SERVICE.to_string(),
                service(
                    "Ory Kratos identity server",
                    format!("kratos serve all --config {CONFIG_FILE}"),
                    ServiceStartup::Enabled,
                ),
            ),
            (
                COURIER.to_string(),
                service(
                    "Ory Kratos courier (leader only)",
                    format!("kratos courier watch --config {CONFIG_FILE}"),
                    ServiceStartup::Disabled,
                ),
            ),
        ]),
        checks: BTreeMap::from([
            (
                READY_CHECK.to_string(),
                check(CheckLevel::Ready, "/admin/health/ready"),
            ),
            (
                ALIVE_CHECK.to_string(),
                check(CheckLevel::Alive, "/admin/health/alive"),
            ),
        ]),
        log_targets: BTreeMap::new(),
    }
}

/// The version in `kratos version` output (`Version:    v1.3.1`), extracted exactly as the
/// reference charm's `Version:\s+(v\d+\.\d+\.\d+)` does (`src/cli.py`, searched anywhere in
/// the output, first match): the migration record it left in the peer data holds that
/// string, so this charm must read the same one from the same image or it would migrate
/// again (or wait for a version forever).
pub fn parse_version(output: &str) -> Option<String> {
    const LABEL: &str = "Version:";
    let mut rest = output;
    while let Some(at) = rest.find(LABEL) {
        let after = rest.get(at + LABEL.len()..).unwrap_or_default();
        if let Some(version) = version_after_whitespace(after) {
            return Some(version);
        }
        rest = after;
    }
    None
}

/// `v<digits>.<digits>.<digits>` after at least one whitespace character (what follows
/// the last digit does not matter, as in the regex).
fn version_after_whitespace(text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    if trimmed.len() == text.len() {
        return None;
    }
    let mut chars = trimmed.strip_prefix('v')?;
    let mut version = String::from("v");
    for part in 0..3 {
        if part > 0 {
            chars = chars.strip_prefix('.')?;
            version.push('.');
        }
        let digits = chars.len() - chars.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return None;
        }
        let (number, remainder) = chars.split_at_checked(digits)?;
        version.push_str(number);
        chars = remainder;
    }
    Some(version)
}

/// The longest failure summary [`failure_summary`] gives (statuses and action messages
/// stay readable).
const SUMMARY_MAX_CHARS: usize = 400;

/// What went wrong, from the output of a failed `kratos` command: its `Error: ` line
/// (Kratos's CLI prints it after the usage text), else the last line of stderr, else of
/// stdout.
pub fn failure_summary(stdout: &str, stderr: &str) -> String {
    let error_line = stderr
        .lines()
        .chain(stdout.lines())
        .find_map(|line| line.trim().strip_prefix("Error: "));
    let summary = error_line
        .or_else(|| last_line(stderr))
        .or_else(|| last_line(stdout))
        .unwrap_or("no output");
    summary.chars().take(SUMMARY_MAX_CHARS).collect()
}

fn last_line(text: &str) -> Option<&str> {
    text.lines().rev().map(str::trim).find(|l| !l.is_empty())
}

/// `text` without the DSN, nor its password (raw or percent-decoded) should the text
/// quote it alone.
pub fn redact_dsn(text: &str, dsn: &str) -> String {
    let mut redacted = text.replace(dsn, "<DSN>");
    if let Some(password) = url::Url::parse(dsn)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
        .filter(|p| !p.is_empty())
    {
        let decoded = percent_encoding::percent_decode_str(&password)
            .decode_utf8_lossy()
            .into_owned();
        redacted = redacted.replace(&password, "<password>");
        redacted = redacted.replace(&decoded, "<password>");
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::*;
    use juju_rs_ops::pebble::{CheckLevel, ServiceStartup};

    #[test]
    fn layer_has_both_services_with_the_same_environment_and_the_checks() {
        let env = Environment::from([("DSN".to_string(), "postgres://x".to_string())]);
        let layer = layer(&env);
        assert_eq!(layer.services[SERVICE].environment, env);
        assert_eq!(layer.services[COURIER].environment, env);
        assert!(layer.services[SERVICE].command.ends_with(CONFIG_FILE));
        assert_eq!(
            layer.services[COURIER].startup,
            Some(ServiceStartup::Disabled)
        );
        let ready = layer.checks[READY_CHECK].http.as_ref().unwrap();
        assert_eq!(ready.url, "http://localhost:4434/admin/health/ready");
        assert_eq!(layer.checks[ALIVE_CHECK].level, Some(CheckLevel::Alive));
    }

    #[test]
    fn version_parsing_follows_the_cli_output() {
        let out = "Version:\t\tv26.2.0\nBuild Commit:\tabc\nBuild Timestamp: now\n";
        assert_eq!(parse_version(out).as_deref(), Some("v26.2.0"));
        assert_eq!(parse_version("Version: master\n"), None);
        assert_eq!(parse_version(""), None);
    }

    /// What the reference's `re.search(r"Version:\s+(?P<version>v\d+\.\d+\.\d+)", out)`
    /// gives for each output (worked out by hand from Python's semantics).
    #[test]
    fn version_parsing_matches_the_reference_regex() {
        for (output, reference) in [
            ("Version:\t\t\tv1.3.1\nBuild Commit:\tabc\n", Some("v1.3.1")),
            // A suffix after the third number is not part of the match.
            ("Version:    v26.2.0-canonical.1\n", Some("v26.2.0")),
            ("Version:    v1.3.12rc\n", Some("v1.3.12")),
            // Anywhere in the output, and across a line break (\s matches it).
            ("kratos Version: v1.2.0\n", Some("v1.2.0")),
            ("Version:\n  v1.2.0\n", Some("v1.2.0")),
            // The first match wins, a non-matching label is skipped.
            (
                "Version: dev\nVersion:  v2.0.0\nVersion: v3.0.0",
                Some("v2.0.0"),
            ),
            // No whitespace, no `v`, or fewer than three numbers: no match.
            ("Version:v1.3.1", None),
            ("Version: 1.3.1", None),
            ("Version: v1.3", None),
            ("Version: v1..3", None),
        ] {
            assert_eq!(parse_version(output).as_deref(), reference, "{output:?}");
        }
    }

    #[test]
    fn failure_summary_prefers_the_error_line() {
        let stdout = "Error: migrator: permission denied for schema public\nUsage:\n  kratos migrate sql\n\nmigrator: permission denied for schema public\n";
        let stderr = "time=... level=info msg=No tracer configured\n";
        assert_eq!(
            failure_summary(stdout, stderr),
            "migrator: permission denied for schema public"
        );
        assert_eq!(failure_summary("", "first\nlast\n\n"), "last");
        assert_eq!(failure_summary("only stdout\n", ""), "only stdout");
        assert_eq!(failure_summary("", ""), "no output");
        assert_eq!(
            failure_summary(&format!("Error: {}", "x".repeat(1000)), "").len(),
            SUMMARY_MAX_CHARS
        );
    }

    #[test]
    fn redaction_removes_the_dsn_and_its_password_in_any_form() {
        let dsn = "postgres://u:p%40ss@db:5432/k?sslmode=disable";
        let text = format!("cannot use {dsn}; password p%40ss or p@ss rejected");
        assert_eq!(
            redact_dsn(&text, dsn),
            "cannot use <DSN>; password <password> or <password> rejected"
        );
        assert_eq!(redact_dsn("nothing secret", "not a url"), "nothing secret");
    }
}
