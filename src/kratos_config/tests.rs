//! Tests of the rendering decisions, and of the rendered configuration (with the charm's
//! environment laid over it) against Kratos's own JSON schemas.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{json, Value};
use url::Url;

use super::env_overlay::overlay_env;
use super::*;
use crate::identity_schemas::{shipped_identity_schemas, IdentitySchemaSet};

// ---------------------------------------------------------------------------------------
// Fixtures

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn login_ui() -> LoginUiUrls {
    let ui = |page: &str| Some(url(&format!("https://login.example.com/ui/{page}")));
    LoginUiUrls {
        login: ui("login"),
        error: ui("error"),
        settings: ui("settings"),
        recovery: ui("recovery"),
        verification: ui("verification"),
        registration: ui("registration"),
        webauthn_settings: ui("setup_passkey"),
        account_linking_settings: ui("setup_account_linking"),
    }
}

fn flags(
    local_idp: bool,
    mfa: bool,
    verification: bool,
    passwordless: bool,
    sequencing: bool,
) -> Flags {
    Flags {
        enable_local_idp: local_idp,
        enforce_mfa: mfa,
        enable_verification: verification,
        enable_passwordless_login_method: passwordless,
        enable_oidc_webauthn_sequencing: sequencing,
    }
}

/// The charm's defaults: local IdP and MFA on, the rest off; login UI and public URL present.
fn inputs() -> RenderInputs {
    RenderInputs {
        log_level: LogLevel::Info,
        flags: flags(true, true, false, false, false),
        identity_schemas: shipped_identity_schemas().unwrap(),
        login_ui: Some(login_ui()),
        public_url: Some(url("https://id.example.com")),
        oidc_providers: Vec::new(),
        registration_webhooks: Vec::new(),
        login_webhooks: Vec::new(),
        courier: CourierInputs::default(),
        tracing_enabled: false,
    }
}

fn secret(text: &str) -> Sensitive {
    Sensitive::new(text)
}

fn providers() -> Vec<OidcProvider> {
    let base = |id: &str, kind: ProviderKind| OidcProvider {
        id: id.to_string(),
        label: None,
        client_id: format!("{id}-client"),
        scope: vec!["openid".into(), "email".into()],
        mapper: None,
        kind,
    };
    vec![
        base(
            "generic_1",
            ProviderKind::Generic {
                issuer_url: "https://issuer.example.com".into(),
                client_secret: secret("generic-secret-value"),
            },
        ),
        base(
            "microsoft_1",
            ProviderKind::Microsoft {
                tenant: "contoso.onmicrosoft.com".into(),
                client_secret: secret("microsoft-secret-value"),
            },
        ),
        base(
            "apple_1",
            ProviderKind::Apple {
                team_id: "KP76DQS54M".into(),
                private_key_id: "UX56C66723".into(),
                private_key: secret("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"),
            },
        ),
        OidcProvider {
            label: Some("GitHub: \"work\" account".into()),
            mapper: Some(ClaimMapperSource::Jsonnet(
                "local claims = std.extVar('claims');\n{identity: {traits: {email: claims.email}}}"
                    .into(),
            )),
            ..base(
                "github_1",
                ProviderKind::Social {
                    provider: SocialProvider::Github,
                    client_secret: secret("github-secret-value"),
                },
            )
        },
    ]
}

fn webhook(url_text: &str, mode: HookMode, methods: MethodSelection, weight: u32) -> Webhook {
    Webhook {
        url: url(url_text),
        body: "base64://ZnVuY3Rpb24oY3R4KSB7fQ==".into(),
        method: "POST".into(),
        mode,
        methods,
        weight,
        response: ResponseHandling::Wait,
        auth: None,
    }
}

fn all_after(url_text: &str, weight: u32) -> Webhook {
    webhook(url_text, HookMode::After, MethodSelection::All, weight)
}

fn only_after(url_text: &str, methods: &[AuthMethod], weight: u32) -> Webhook {
    webhook(
        url_text,
        HookMode::After,
        MethodSelection::Only(methods.to_vec()),
        weight,
    )
}

/// A mix of web-hooks: before and after, all-method and method-specific, with auth.
fn webhooks() -> Vec<Webhook> {
    vec![
        Webhook {
            auth: Some(WebhookAuth::ApiKey {
                name: "Authorization".into(),
                value: secret("api-key-secret-value"),
                location: ApiKeyLocation::Header,
            }),
            response: ResponseHandling::Parse,
            ..all_after("https://hooks.example.com/all", 5)
        },
        only_after(
            "https://hooks.example.com/password",
            &[AuthMethod::Password],
            1,
        ),
        Webhook {
            auth: Some(WebhookAuth::BasicAuth {
                user: "kratos".into(),
                password: secret("basic-auth-secret-value"),
            }),
            response: ResponseHandling::Ignore,
            ..only_after(
                "https://hooks.example.com/oidc-code",
                &[AuthMethod::Oidc, AuthMethod::Code],
                9,
            )
        },
        webhook(
            "https://hooks.example.com/before",
            HookMode::Before,
            MethodSelection::All,
            0,
        ),
        webhook(
            "https://hooks.example.com/before-oidc",
            HookMode::Before,
            MethodSelection::Only(vec![AuthMethod::Oidc]),
            2,
        ),
        only_after(
            "https://hooks.example.com/passkey",
            &[AuthMethod::Passkey],
            3,
        ),
    ]
}

/// The YAML the charm would write, parsed back: what Kratos reads.
fn yaml_value(config: &KratosConfig) -> Value {
    serde_yaml_ng::from_str(&config.to_yaml().unwrap()).unwrap()
}

fn rendered(inputs: &RenderInputs) -> Value {
    yaml_value(&render(inputs).unwrap())
}

/// URLs of the web-hooks in a hook list, with built-in hooks by name.
fn hook_names(list: &Value) -> Vec<String> {
    list["hooks"]
        .as_array()
        .unwrap_or_else(|| panic!("not a hook list: {list}"))
        .iter()
        .map(|hook| match hook["hook"].as_str().unwrap() {
            "web_hook" => hook["config"]["url"].as_str().unwrap().to_string(),
            other => other.to_string(),
        })
        .collect()
}

fn decode_base64_url(text: &str) -> String {
    let encoded = text.strip_prefix("base64://").unwrap();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------
// Flags and decisions

#[test]
fn passwordless_and_sequencing_together_are_rejected() {
    let mut inputs = inputs();
    inputs.flags = flags(true, false, false, true, true);
    let err = render(&inputs).unwrap_err();
    assert!(matches!(
        err,
        RenderError::PasswordlessWithOidcWebauthnSequencing
    ));
    assert!(err.to_string().contains("enable_passwordless_login_method"));
    assert!(inputs.flags.validate().is_err());
}

#[test]
fn enforce_mfa_enables_totp_backup_codes_and_highest_aal() {
    let on = rendered(&inputs());
    assert_eq!(on["selfservice"]["methods"]["totp"]["enabled"], json!(true));
    assert_eq!(
        on["selfservice"]["methods"]["totp"]["config"]["issuer"],
        json!(DISPLAY_NAME)
    );
    assert_eq!(
        on["selfservice"]["methods"]["lookup_secret"]["enabled"],
        json!(true)
    );
    assert_eq!(
        on["session"]["whoami"]["required_aal"],
        json!("highest_available")
    );

    let mut off = inputs();
    off.flags.enforce_mfa = false;
    let off = rendered(&off);
    assert!(off["selfservice"]["methods"].get("totp").is_none());
    assert!(off["selfservice"]["methods"].get("lookup_secret").is_none());
    assert!(off.get("session").is_none());
}

#[test]
fn settings_always_require_the_highest_aal_and_login_is_identifier_first() {
    let config = rendered(&inputs());
    let flows = &config["selfservice"]["flows"];
    assert_eq!(
        flows["settings"]["required_aal"],
        json!("highest_available")
    );
    assert_eq!(flows["login"]["style"], json!("identifier_first"));
    assert_eq!(
        flows["login"]["ui_url"],
        json!("https://login.example.com/ui/login")
    );
    assert_eq!(
        config["selfservice"]["default_browser_return_url"],
        json!("https://login.example.com/ui/settings")
    );
    assert_eq!(
        flows["settings"]["after"]["oidc"]["default_browser_return_url"],
        json!("https://login.example.com/ui/setup_account_linking")
    );
    // Without WebAuthn there is no return URL for adding a key.
    assert!(flows["settings"]["after"].get("webauthn").is_none());
}

#[test]
fn local_idp_switches_local_accounts() {
    let on = rendered(&inputs());
    let methods = &on["selfservice"]["methods"];
    assert_eq!(methods["profile"]["enabled"], json!(true));
    assert_eq!(methods["password"]["enabled"], json!(true));
    assert_eq!(
        methods["password"]["config"]["haveibeenpwned_enabled"],
        json!(false)
    );
    assert_eq!(methods["code"]["enabled"], json!(true));
    let recovery = &on["selfservice"]["flows"]["recovery"];
    assert_eq!(recovery["enabled"], json!(true));
    assert_eq!(recovery["use"], json!("code"));
    assert_eq!(hook_names(&recovery["after"]), ["revoke_active_sessions"]);
    assert_eq!(
        hook_names(&on["selfservice"]["flows"]["registration"]["after"]["password"]),
        ["session"]
    );

    let mut off = inputs();
    off.flags.enable_local_idp = false;
    off.oidc_providers = providers();
    let off = rendered(&off);
    let methods = &off["selfservice"]["methods"];
    assert_eq!(methods["profile"]["enabled"], json!(false));
    assert_eq!(methods["password"]["enabled"], json!(false));
    assert!(methods.get("code").is_none());
    assert!(methods.get("totp").is_none());
    assert!(off["selfservice"]["flows"].get("recovery").is_none());
    let registration_after = &off["selfservice"]["flows"]["registration"]["after"];
    assert!(registration_after.get("password").is_none());
    assert!(registration_after.get("code").is_none());
    assert_eq!(hook_names(&registration_after["oidc"]), ["session"]);
}

#[test]
fn verification_adds_the_flow_and_the_verification_ui_hook() {
    let mut inputs = inputs();
    inputs.flags.enable_verification = true;
    let config = rendered(&inputs);
    let verification = &config["selfservice"]["flows"]["verification"];
    assert_eq!(verification["enabled"], json!(true));
    assert_eq!(verification["use"], json!("code"));
    assert_eq!(
        verification["ui_url"],
        json!("https://login.example.com/ui/verification")
    );
    let after = &config["selfservice"]["flows"]["registration"]["after"];
    assert_eq!(
        hook_names(&after["password"]),
        ["show_verification_ui", "session"]
    );
    assert_eq!(
        hook_names(&after["code"]),
        ["show_verification_ui", "session"]
    );

    // Verification needs local accounts.
    inputs.flags.enable_local_idp = false;
    let config = rendered(&inputs);
    assert!(config["selfservice"]["flows"].get("verification").is_none());
}

#[test]
fn passwordless_uses_webauthn_as_first_factor_on_the_public_host() {
    let mut inputs = inputs();
    inputs.flags.enable_passwordless_login_method = true;
    inputs.public_url = Some(url("https://id.example.com:8443/prefix"));
    let config = rendered(&inputs);
    let webauthn = &config["selfservice"]["methods"]["webauthn"];
    assert_eq!(webauthn["enabled"], json!(true));
    assert_eq!(webauthn["config"]["passwordless"], json!(true));
    assert_eq!(webauthn["config"]["rp"]["id"], json!("id.example.com"));
    assert_eq!(
        webauthn["config"]["rp"]["origins"],
        json!(["https://id.example.com:8443"])
    );
    assert_eq!(
        hook_names(&config["selfservice"]["flows"]["registration"]["after"]["webauthn"]),
        ["session"]
    );
    assert_eq!(
        config["selfservice"]["flows"]["settings"]["after"]["webauthn"]
            ["default_browser_return_url"],
        json!("https://login.example.com/ui/setup_passkey")
    );

    inputs.public_url = None;
    let err = render(&inputs).unwrap_err();
    assert!(
        matches!(
            err,
            RenderError::PublicUrlRequired {
                feature: "enable_passwordless_login_method"
            }
        ),
        "{err}"
    );
}

#[test]
fn oidc_webauthn_sequencing_uses_webauthn_as_second_factor() {
    let mut inputs = inputs();
    inputs.flags = flags(false, false, false, false, true);
    inputs.oidc_providers = providers();
    let config = rendered(&inputs);
    let methods = &config["selfservice"]["methods"];
    assert_eq!(methods["webauthn"]["config"]["passwordless"], json!(false));
    assert_eq!(methods["lookup_secret"]["enabled"], json!(true));
    assert_eq!(
        config["session"]["whoami"]["required_aal"],
        json!("highest_available")
    );
    let after = &config["selfservice"]["flows"]["registration"]["after"];
    assert!(after.get("webauthn").is_none());
    assert_eq!(hook_names(&after["code"]), ["session"]);
}

#[test]
fn without_login_ui_providers_or_hooks_nothing_optional_is_rendered() {
    let mut inputs = inputs();
    inputs.login_ui = None;
    let config = rendered(&inputs);
    assert!(config["selfservice"].get("flows").is_none());
    assert!(config["selfservice"].get("methods").is_none());
    assert_eq!(
        config["selfservice"]["default_browser_return_url"],
        json!(FALLBACK_BROWSER_RETURN_URL)
    );
}

#[test]
fn public_url_sets_base_url_and_allowed_return_urls() {
    let mut inputs = inputs();
    inputs.public_url = Some(url("https://id.example.com/kratos?x=1"));
    let config = rendered(&inputs);
    assert_eq!(
        config["serve"]["public"]["base_url"],
        json!("https://id.example.com/kratos?x=1")
    );
    assert_eq!(
        config["selfservice"]["allowed_return_urls"],
        json!(["https://id.example.com/"])
    );
    assert_eq!(config["serve"]["public"]["cors"]["enabled"], json!(true));

    inputs.public_url = None;
    let config = rendered(&inputs);
    assert!(config["serve"]["public"].get("base_url").is_none());
    assert!(config["selfservice"].get("allowed_return_urls").is_none());
}

#[test]
fn log_level_is_written_in_kratos_spelling() {
    let mut inputs = inputs();
    inputs.log_level = "WARN".parse().unwrap();
    let config = rendered(&inputs);
    assert_eq!(config["log"], json!({"level": "warning", "format": "json"}));
}

#[test]
fn log_level_parsing() {
    for (text, level) in [
        ("trace", LogLevel::Trace),
        ("debug", LogLevel::Debug),
        (" info ", LogLevel::Info),
        ("warn", LogLevel::Warning),
        ("Warning", LogLevel::Warning),
        ("error", LogLevel::Error),
        ("fatal", LogLevel::Fatal),
        ("panic", LogLevel::Panic),
    ] {
        assert_eq!(text.parse::<LogLevel>(), Ok(level), "{text}");
    }
    let err = "verbose".parse::<LogLevel>().unwrap_err();
    assert!(err
        .to_string()
        .starts_with("log_level: 'verbose' is not a log level"));
}

#[test]
fn identity_schemas_are_inlined_as_base64() {
    let schema = json!({"properties": {"traits": {"properties": {"email": {"type": "string"}}}}});
    let mut inputs = inputs();
    inputs.identity_schemas = IdentitySchemaSet::new(
        "b",
        BTreeMap::from([
            (
                "a".to_string(),
                json!({"properties": {"traits": {"properties": {"x": {}}}}}),
            ),
            ("b".to_string(), schema.clone()),
        ]),
    )
    .unwrap();
    let config = rendered(&inputs);
    assert_eq!(config["identity"]["default_schema_id"], json!("b"));
    let entries = config["identity"]["schemas"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["id"], json!("b"));
    let decoded: Value =
        serde_json::from_str(&decode_base64_url(entries[1]["url"].as_str().unwrap())).unwrap();
    assert_eq!(decoded, schema);
}

#[test]
fn courier_templates_are_inlined_and_absent_when_unset() {
    let config = rendered(&inputs());
    assert!(config.get("courier").is_none());

    let mut inputs = inputs();
    inputs.courier = CourierInputs {
        from_address: Some("identity@example.com".into()),
        from_name: Some("Identity: \"Platform\"".into()),
        recovery_code_email_html: Some("<p>Code: {{ .RecoveryCode }}</p>\n".into()),
        verification_code_email_html: None,
    };
    let config = rendered(&inputs);
    let courier = &config["courier"];
    assert_eq!(
        courier["smtp"]["from_name"],
        json!("Identity: \"Platform\"")
    );
    let html = courier["templates"]["recovery_code"]["valid"]["email"]["body"]["html"]
        .as_str()
        .unwrap();
    assert_eq!(
        decode_base64_url(html),
        "<p>Code: {{ .RecoveryCode }}</p>\n"
    );
    assert!(courier["templates"].get("verification_code").is_none());
}

// ---------------------------------------------------------------------------------------
// Web-hooks

#[test]
fn registration_hooks_are_ordered_by_weight_and_fanned_out() {
    let mut inputs = inputs();
    inputs.oidc_providers = providers();
    inputs.registration_webhooks = webhooks();
    let config = rendered(&inputs);
    let registration = &config["selfservice"]["flows"]["registration"];
    assert_eq!(
        hook_names(&registration["before"]),
        [
            "https://hooks.example.com/before",
            "https://hooks.example.com/before-oidc"
        ]
    );
    let after = &registration["after"];
    assert_eq!(
        hook_names(&after["password"]),
        [
            "https://hooks.example.com/password",
            "https://hooks.example.com/all",
            "session"
        ]
    );
    assert_eq!(
        hook_names(&after["oidc"]),
        [
            "https://hooks.example.com/all",
            "https://hooks.example.com/oidc-code",
            "session"
        ]
    );
    assert_eq!(
        hook_names(&after["code"]),
        [
            "https://hooks.example.com/all",
            "https://hooks.example.com/oidc-code",
            "session"
        ]
    );
    // The flow-wide list is never used: Kratos would ignore it wherever a method list exists.
    assert!(after.get("hooks").is_none());
}

#[test]
fn equal_weights_keep_relation_order() {
    let mut inputs = inputs();
    inputs.registration_webhooks = vec![
        all_after("https://hooks.example.com/z", 3),
        all_after("https://hooks.example.com/a", 3),
        all_after("https://hooks.example.com/m", 2),
    ];
    let config = rendered(&inputs);
    assert_eq!(
        hook_names(&config["selfservice"]["flows"]["registration"]["after"]["password"]),
        [
            "https://hooks.example.com/m",
            "https://hooks.example.com/z",
            "https://hooks.example.com/a",
            "session"
        ]
    );
}

#[test]
fn login_hooks_go_to_every_enabled_method_that_they_target() {
    let mut inputs = inputs();
    inputs.oidc_providers = providers();
    inputs.login_webhooks = vec![
        all_after("https://hooks.example.com/all", 0),
        only_after("https://hooks.example.com/totp", &[AuthMethod::Totp], 1),
        only_after(
            "https://hooks.example.com/webauthn",
            &[AuthMethod::Webauthn],
            1,
        ),
    ];
    let config = rendered(&inputs);
    let after = &config["selfservice"]["flows"]["login"]["after"];
    for method in ["password", "oidc", "code", "lookup_secret"] {
        assert_eq!(
            hook_names(&after[method]),
            ["https://hooks.example.com/all"],
            "{method}"
        );
    }
    assert_eq!(
        hook_names(&after["totp"]),
        [
            "https://hooks.example.com/all",
            "https://hooks.example.com/totp"
        ]
    );
    // WebAuthn is off, but a hook names it: its section is there (and never run).
    assert_eq!(
        hook_names(&after["webauthn"]),
        [
            "https://hooks.example.com/all",
            "https://hooks.example.com/webauthn"
        ]
    );
    // Login after-lists carry no built-in hooks.
    assert!(config["selfservice"]["flows"]["login"]
        .get("before")
        .is_none());
}

#[test]
fn a_login_hook_naming_an_inactive_method_still_gets_that_section() {
    let mut inputs = inputs();
    inputs.login_webhooks = vec![only_after(
        "https://hooks.example.com/oidc",
        &[AuthMethod::Oidc],
        0,
    )];
    let config = rendered(&inputs);
    let after = &config["selfservice"]["flows"]["login"]["after"];
    // No provider, so OIDC is off: the section is rendered and stays unused until it is on.
    assert!(config["selfservice"]["methods"].get("oidc").is_none());
    assert_eq!(
        hook_names(&after["oidc"]),
        ["https://hooks.example.com/oidc"]
    );
    assert_eq!(after.as_object().unwrap().len(), 1, "{after}");
}

#[test]
fn all_method_login_hooks_only_join_active_methods() {
    let mut inputs = inputs();
    inputs.login_webhooks = vec![all_after("https://hooks.example.com/all", 0)];
    let config = rendered(&inputs);
    let after = &config["selfservice"]["flows"]["login"]["after"];
    let sections: Vec<&String> = after.as_object().unwrap().keys().collect();
    // Local IdP and MFA on; no provider (oidc) and no WebAuthn.
    assert_eq!(
        sections,
        ["code", "lookup_secret", "password", "totp"],
        "{after}"
    );
}

#[test]
fn passkey_hooks_get_the_passkey_sections_of_both_flows() {
    let mut inputs = inputs();
    let passkey = only_after(
        "https://hooks.example.com/passkey",
        &[AuthMethod::Passkey, AuthMethod::Password],
        0,
    );
    inputs.registration_webhooks = vec![
        passkey.clone(),
        all_after("https://hooks.example.com/all", 1),
    ];
    inputs.login_webhooks = vec![passkey];
    let config = rendered(&inputs);
    let flows = &config["selfservice"]["flows"];
    assert_eq!(
        hook_names(&flows["registration"]["after"]["passkey"]),
        [
            "https://hooks.example.com/passkey",
            "https://hooks.example.com/all",
            "session"
        ]
    );
    assert_eq!(
        hook_names(&flows["login"]["after"]["passkey"]),
        ["https://hooks.example.com/passkey"]
    );
    assert_eq!(
        hook_names(&flows["login"]["after"]["password"]),
        ["https://hooks.example.com/passkey"]
    );
    // Passkeys themselves stay off.
    assert_eq!(
        config["selfservice"]["methods"]["passkey"],
        json!({"enabled": false})
    );
}

#[test]
fn all_method_hooks_add_no_passkey_section() {
    let mut inputs = inputs();
    inputs.registration_webhooks = vec![all_after("https://hooks.example.com/all", 0)];
    inputs.login_webhooks = vec![all_after("https://hooks.example.com/all", 0)];
    let config = rendered(&inputs);
    let flows = &config["selfservice"]["flows"];
    assert!(flows["registration"]["after"].get("passkey").is_none());
    assert!(flows["login"]["after"].get("passkey").is_none());
}

#[test]
fn a_registration_hook_naming_an_inactive_method_gets_that_section_with_its_built_ins() {
    let mut inputs = inputs();
    inputs.registration_webhooks = vec![only_after(
        "https://hooks.example.com/webauthn",
        &[AuthMethod::Webauthn],
        0,
    )];
    let config = rendered(&inputs);
    assert_eq!(
        hook_names(&config["selfservice"]["flows"]["registration"]["after"]["webauthn"]),
        ["https://hooks.example.com/webauthn", "session"]
    );
}

#[test]
fn a_before_hook_restricted_to_methods_runs_for_the_whole_flow() {
    let mut inputs = inputs();
    let before = webhook(
        "https://hooks.example.com/before-oidc",
        HookMode::Before,
        MethodSelection::Only(vec![AuthMethod::Oidc]),
        0,
    );
    inputs.registration_webhooks = vec![before.clone()];
    inputs.login_webhooks = vec![before];
    let config = rendered(&inputs);
    for flow in ["registration", "login"] {
        let flow = &config["selfservice"]["flows"][flow];
        assert_eq!(
            hook_names(&flow["before"]),
            ["https://hooks.example.com/before-oidc"]
        );
        // Not an after-hook anywhere.
        assert!(!flow["after"].to_string().contains("before-oidc"), "{flow}");
    }
}

#[test]
fn login_hooks_alone_render_a_login_flow_without_ui() {
    let mut inputs = inputs();
    inputs.login_ui = None;
    inputs.login_webhooks = vec![webhook(
        "https://hooks.example.com/before",
        HookMode::Before,
        MethodSelection::Only(vec![AuthMethod::Password]),
        0,
    )];
    let config = rendered(&inputs);
    let login = &config["selfservice"]["flows"]["login"];
    assert!(login.get("ui_url").is_none());
    assert!(login.get("style").is_none());
    assert_eq!(
        hook_names(&login["before"]),
        ["https://hooks.example.com/before"]
    );
}

#[test]
fn webhook_response_auth_and_analytics_are_rendered() {
    let mut inputs = inputs();
    inputs.tracing_enabled = true;
    inputs.registration_webhooks = webhooks();
    let config = rendered(&inputs);
    let hooks = config["selfservice"]["flows"]["registration"]["after"]["password"]["hooks"]
        .as_array()
        .unwrap()
        .clone();
    let all = hooks
        .iter()
        .find(|hook| hook["config"]["url"] == json!("https://hooks.example.com/all"))
        .unwrap();
    assert_eq!(
        all["config"]["auth"],
        json!({"type": "api_key", "config": {"name": "Authorization", "value": "api-key-secret-value", "in": "header"}})
    );
    assert_eq!(
        all["config"]["response"],
        json!({"ignore": false, "parse": true})
    );
    assert_eq!(all["config"]["emit_analytics_event"], json!(true));
    assert_eq!(all["config"]["method"], json!("POST"));

    let code_hooks = &config["selfservice"]["flows"]["registration"]["after"]["code"]["hooks"];
    let basic = code_hooks
        .as_array()
        .unwrap()
        .iter()
        .find(|hook| hook["config"]["url"] == json!("https://hooks.example.com/oidc-code"))
        .unwrap();
    assert_eq!(
        basic["config"]["auth"],
        json!({"type": "basic_auth", "config": {"user": "kratos", "password": "basic-auth-secret-value"}})
    );
    assert_eq!(
        basic["config"]["response"],
        json!({"ignore": true, "parse": false})
    );
}

#[test]
fn wire_names_parse() {
    assert_eq!(
        "lookup_secret".parse::<AuthMethod>(),
        Ok(AuthMethod::LookupSecret)
    );
    assert!("magic_link".parse::<AuthMethod>().is_err());
    assert_eq!(
        "yander".parse::<SocialProvider>(),
        Ok(SocialProvider::Yandex)
    );
    assert_eq!(
        "yandex".parse::<SocialProvider>().map(|p| p.as_str()),
        Ok("yandex")
    );
    // Kratos has no "twitch" provider, although the external_provider library lists it.
    assert!("twitch".parse::<SocialProvider>().is_err());
}

#[test]
fn response_flags_cannot_both_be_set() {
    assert_eq!(
        ResponseHandling::from_flags(false, false),
        Ok(ResponseHandling::Wait)
    );
    assert_eq!(
        ResponseHandling::from_flags(true, false),
        Ok(ResponseHandling::Ignore)
    );
    assert_eq!(
        ResponseHandling::from_flags(false, true),
        Ok(ResponseHandling::Parse)
    );
    assert!(ResponseHandling::from_flags(true, true).is_err());
}

#[test]
fn identical_webhooks_from_two_relations_are_written_once() {
    let mut inputs = inputs();
    inputs.registration_webhooks = vec![
        all_after("https://hooks.example.com/same", 1),
        all_after("https://hooks.example.com/same", 1),
    ];
    let config = rendered(&inputs);
    assert_eq!(
        hook_names(&config["selfservice"]["flows"]["registration"]["after"]["password"]),
        ["https://hooks.example.com/same", "session"]
    );
}

#[test]
fn yaml_special_characters_in_a_webhook_body_round_trip_unchanged() {
    let hostile = "x\n    - hook: session\n# comment: {a: [1, 2]} & *anchor !!tag 'q' \"dq\" \\ %\t| >\n---\n...";
    let mut inputs = inputs();
    inputs.registration_webhooks = vec![Webhook {
        body: hostile.to_string(),
        method: "POST\n  evil: true".to_string(),
        ..all_after("https://hooks.example.com/a?b=c#d", 0)
    }];
    let config = rendered(&inputs);
    let password = &config["selfservice"]["flows"]["registration"]["after"]["password"];
    let hooks = password["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 2, "no hook was injected: {password}");
    assert_eq!(hooks[0]["config"]["body"], json!(hostile));
    assert_eq!(hooks[0]["config"]["method"], json!("POST\n  evil: true"));
    assert!(hooks[0]["config"].get("evil").is_none());
    assert_eq!(hooks[1], json!({"hook": "session"}));
}

// ---------------------------------------------------------------------------------------
// OIDC providers

#[test]
fn providers_get_their_type_fields_and_mappers() {
    let mut inputs = inputs();
    inputs.oidc_providers = providers();
    let config = rendered(&inputs);
    let oidc = &config["selfservice"]["methods"]["oidc"];
    assert_eq!(oidc["enabled"], json!(true));
    let list = oidc["config"]["providers"].as_array().unwrap();
    let by_id = |id: &str| list.iter().find(|p| p["id"] == json!(id)).unwrap().clone();

    let generic = by_id("generic_1");
    assert_eq!(generic["provider"], json!("generic"));
    // The issuer is written exactly as given (no trailing slash added).
    assert_eq!(generic["issuer_url"], json!("https://issuer.example.com"));
    assert_eq!(generic["client_secret"], json!("generic-secret-value"));
    assert_eq!(generic["scope"], json!(["openid", "email"]));
    assert_eq!(
        decode_base64_url(generic["mapper_url"].as_str().unwrap()),
        oidc::DEFAULT_CLAIM_MAPPER
    );

    let microsoft = by_id("microsoft_1");
    assert_eq!(
        microsoft["microsoft_tenant"],
        json!("contoso.onmicrosoft.com")
    );
    assert_eq!(
        decode_base64_url(microsoft["mapper_url"].as_str().unwrap()),
        oidc::MICROSOFT_CLAIM_MAPPER
    );
    assert_ne!(oidc::MICROSOFT_CLAIM_MAPPER, oidc::DEFAULT_CLAIM_MAPPER);

    let apple = by_id("apple_1");
    assert!(apple.get("client_secret").is_none());
    assert_eq!(apple["apple_team_id"], json!("KP76DQS54M"));
    assert_eq!(
        apple["apple_private_key"],
        json!("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----")
    );

    let github = by_id("github_1");
    assert_eq!(github["provider"], json!("github"));
    assert_eq!(github["label"], json!("GitHub: \"work\" account"));
    assert_eq!(
        decode_base64_url(github["mapper_url"].as_str().unwrap()),
        "local claims = std.extVar('claims');\n{identity: {traits: {email: claims.email}}}"
    );
}

/// The pinned go-jsonnet interpreter (the implementation Kratos embeds), installed on demand.
fn jsonnet() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = repo.join("scripts").join("install-jsonnet.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        status.success(),
        "{} failed: it builds go-jsonnet with Go from the Go module proxy",
        script.display()
    );
    std::env::var_os("CHARM_KRATOS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/charm-kratos/bin")
        })
        .join("jsonnet")
}

/// Runs a claim mapper as Kratos does: the claims as the external variable `claims`.
fn run_mapper(jsonnet: &Path, mapper: &str, claims: &Value) -> Value {
    let output = std::process::Command::new(jsonnet)
        .arg("--ext-code")
        .arg(format!("claims={claims}"))
        .arg("-e")
        .arg(mapper)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "jsonnet failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn shipped_claim_mappers_map_claims_onto_the_social_user_schema() {
    let jsonnet = jsonnet();
    let full = json!({
        "iss": "https://issuer.example.com", "sub": "1234",
        "email": "ada@example.com", "email_verified": true,
        "phone_number": "+44 20 7946 0000", "phone_number_verified": true,
        "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
        "nickname": "ada", "preferred_username": "ada.l", "picture": "https://example.com/a.png",
        "locale": "en-GB", "zoneinfo": "Europe/London", "website": null
    });
    let expected_full = json!({
        "email": "ada@example.com", "phone_number": "+44 20 7946 0000",
        "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
        "nickname": "ada", "preferred_username": "ada.l", "picture": "https://example.com/a.png",
        "locale": "en-GB", "zoneinfo": "Europe/London"
    });
    let unverified = json!({
        "sub": "1", "email": "eve@example.com", "phone_number": "+1 555 0100",
        "phone_number_verified": false, "name": "Eve"
    });

    let default = oidc::DEFAULT_CLAIM_MAPPER;
    assert_eq!(
        run_mapper(&jsonnet, default, &full),
        json!({"identity": {"traits": expected_full}})
    );
    // Addresses the provider did not verify are not taken.
    assert_eq!(
        run_mapper(&jsonnet, default, &unverified),
        json!({"identity": {"traits": {"name": "Eve"}}})
    );

    // Entra ID sends no email_verified: its addresses come from the tenant's directory.
    let microsoft = oidc::MICROSOFT_CLAIM_MAPPER;
    assert_eq!(
        run_mapper(&jsonnet, microsoft, &full),
        json!({"identity": {"traits": expected_full}})
    );
    assert_eq!(
        run_mapper(&jsonnet, microsoft, &unverified),
        json!({"identity": {"traits": {"email": "eve@example.com", "name": "Eve"}}})
    );

    // What the mappers produce is an identity the default schema accepts.
    let schema = shipped_identity_schemas()
        .unwrap()
        .get("social_user_v0")
        .unwrap()
        .clone();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    for mapper in [default, microsoft] {
        let mapped = run_mapper(&jsonnet, mapper, &full);
        let found = errors(&validator, &mapped["identity"]);
        assert!(found.is_empty(), "{found:?}");
    }
}

#[test]
fn a_mapper_url_is_used_as_given() {
    let mut inputs = inputs();
    let mut provider = providers().remove(0);
    provider.mapper = Some(ClaimMapperSource::Url(
        "file:///etc/mappers/x.jsonnet".into(),
    ));
    inputs.oidc_providers = vec![provider];
    let config = rendered(&inputs);
    assert_eq!(
        config["selfservice"]["methods"]["oidc"]["config"]["providers"][0]["mapper_url"],
        json!("file:///etc/mappers/x.jsonnet")
    );
}

#[test]
fn duplicate_provider_ids_are_rejected() {
    let mut inputs = inputs();
    let mut list = providers();
    list[1].id = list[0].id.clone();
    inputs.oidc_providers = list;
    let err = render(&inputs).unwrap_err();
    assert!(matches!(&err, RenderError::DuplicateProviderId { id } if id == "generic_1"));
}

#[test]
fn redirect_uri_is_the_callback_under_the_public_url() {
    let cases = [
        (
            "https://id.example.com",
            "google",
            "https://id.example.com/self-service/methods/oidc/callback/google",
        ),
        (
            "https://id.example.com/",
            "google",
            "https://id.example.com/self-service/methods/oidc/callback/google",
        ),
        (
            "https://id.example.com/kratos/",
            "a b/c",
            "https://id.example.com/kratos/self-service/methods/oidc/callback/a%20b%2Fc",
        ),
        (
            "http://10.0.0.1:4433/kratos?x=1#f",
            "x",
            "http://10.0.0.1:4433/kratos/self-service/methods/oidc/callback/x",
        ),
    ];
    for (public, id, expected) in cases {
        assert_eq!(oidc_redirect_uri(&url(public), id).as_str(), expected);
    }
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let mut inputs = inputs();
    inputs.oidc_providers = providers();
    inputs.registration_webhooks = webhooks();
    let config = render(&inputs).unwrap();
    for text in [format!("{inputs:?}"), format!("{config:?}")] {
        for secret in [
            "generic-secret-value",
            "microsoft-secret-value",
            "github-secret-value",
            "BEGIN PRIVATE KEY",
            "api-key-secret-value",
            "basic-auth-secret-value",
        ] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
        assert!(text.contains("<redacted>"));
    }
}

#[test]
fn rendering_is_deterministic() {
    let mut inputs = inputs();
    inputs.oidc_providers = providers();
    inputs.login_webhooks = webhooks();
    inputs.registration_webhooks = webhooks();
    let first = render(&inputs).unwrap().to_yaml().unwrap();
    let second = render(&inputs.clone()).unwrap().to_yaml().unwrap();
    assert_eq!(first, second);
}

// ---------------------------------------------------------------------------------------
// Against Kratos's JSON schemas

const KRATOS_VERSIONS: [&str; 2] = ["v1.3.1", "v26.2.0"];

/// Kratos's schemas, copied into the repository (see `testdata/kratos-schemas/README.md`).
fn kratos_schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/kratos-schemas")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Serves `ory://` schema ids from local copies.
struct LocalSchemas(BTreeMap<String, Value>);

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        self.0
            .get(uri.as_str().trim_end_matches('#'))
            .cloned()
            .ok_or_else(|| format!("no local copy of {uri}").into())
    }
}

struct KratosSchemas {
    version: &'static str,
    config_schema: Value,
    tracing_schema: Value,
    config: jsonschema::Validator,
    identity: jsonschema::Validator,
}

fn kratos_schemas() -> Vec<KratosSchemas> {
    let dir = kratos_schema_dir();
    let tracing_schema = read_json(&dir.join("tracing-config.schema.json"));
    KRATOS_VERSIONS
        .iter()
        .map(|version| {
            let config_schema = read_json(&dir.join(version).join("config.schema.json"));
            let extension = read_json(&dir.join(version).join("identity_extension.schema.json"));
            let local = BTreeMap::from([
                ("ory://tracing-config".to_string(), tracing_schema.clone()),
                ("ory://identity-extension".to_string(), extension),
            ]);
            let build = |schema: &Value| {
                jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft7)
                    .should_validate_formats(true)
                    .with_retriever(LocalSchemas(local.clone()))
                    .build(schema)
                    .unwrap_or_else(|e| panic!("{version}: schema does not compile: {e}"))
            };
            let config = build(&config_schema);
            let identity = build(&read_json(
                &dir.join(version).join("identity_meta.schema.json"),
            ));
            KratosSchemas {
                version,
                config_schema,
                tracing_schema: tracing_schema.clone(),
                config,
                identity,
            }
        })
        .collect()
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The environment the charm's Pebble layer gives Kratos, for these inputs.
fn charm_env(inputs: &RenderInputs) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = [
        ("DSN", "postgres://kratos:p%40ss@10.1.2.3:5432/model_kratos"),
        ("SECRETS_COOKIE", r#"["0123456789abcdef0123456789abcdef"]"#),
        ("LOG_LEVEL", inputs.log_level.as_str()),
        ("LOG_FORMAT", "json"),
        ("SERVE_PUBLIC_CORS_ENABLED", "true"),
        ("DEV", "false"),
        ("HTTP_PROXY", "http://proxy.internal:3128"),
        ("HTTPS_PROXY", "http://proxy.internal:3128"),
        ("NO_PROXY", "localhost,127.0.0.1"),
        (
            "COURIER_SMTP_CONNECTION_URI",
            "smtps://user:pw@mail.example.com:465/?skip_ssl_verify=true",
        ),
        ("COURIER_SMTP_FROM_ADDRESS", "identity@example.com"),
        ("COURIER_SMTP_FROM_NAME", "Identity Platform"),
        (
            "OAUTH2_PROVIDER_URL",
            "http://hydra.model.svc.cluster.local:4445",
        ),
        ("TRACING_PROVIDER", "otel"),
        (
            "TRACING_PROVIDERS_OTLP_SERVER_URL",
            "tempo.model.svc.cluster.local:4318",
        ),
        ("TRACING_PROVIDERS_OTLP_INSECURE", "true"),
        ("TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO", "1.0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(public) = &inputs.public_url {
        env.insert("SERVE_PUBLIC_BASE_URL".into(), public.to_string());
        env.insert(
            "SELFSERVICE_ALLOWED_RETURN_URLS".into(),
            json!([format!("{}/", public.origin().ascii_serialization())]).to_string(),
        );
    }
    if inputs.flags.whoami_requires_highest_aal() {
        env.insert(
            "SESSION_WHOAMI_REQUIRED_AAL".into(),
            "highest_available".into(),
        );
    }
    env
}

#[test]
fn charm_environment_variables_all_name_kratos_config_paths() {
    for schemas in kratos_schemas() {
        let external = BTreeMap::from([(
            "ory://tracing-config".to_string(),
            schemas.tracing_schema.clone(),
        )]);
        let inputs = inputs();
        let overlay = overlay_env(
            &rendered(&inputs),
            &charm_env(&inputs),
            &schemas.config_schema,
            &external,
        );
        assert_eq!(
            overlay.unmapped,
            ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"],
            "{}: only the proxy variables are not Kratos settings",
            schemas.version
        );
        let config = &overlay.config;
        assert_eq!(
            config["dsn"],
            json!("postgres://kratos:p%40ss@10.1.2.3:5432/model_kratos")
        );
        assert_eq!(
            config["secrets"]["cookie"],
            json!(["0123456789abcdef0123456789abcdef"])
        );
        assert_eq!(
            config["courier"]["smtp"]["connection_uri"],
            json!("smtps://user:pw@mail.example.com:465/?skip_ssl_verify=true")
        );
        assert_eq!(config["serve"]["public"]["cors"]["enabled"], json!(true));
        assert_eq!(
            config["tracing"]["providers"]["otlp"]["insecure"],
            json!(true)
        );
        assert_eq!(
            config["tracing"]["providers"]["otlp"]["sampling"]["sampling_ratio"],
            json!(1.0)
        );
        assert_eq!(
            config["oauth2_provider"]["url"],
            json!("http://hydra.model.svc.cluster.local:4445")
        );
        assert_eq!(config["dev"], json!(false));
    }
}

/// Every combination of the five flags × login UI × providers × web-hooks × public URL:
/// either a typed refusal for a reason the inputs explain, or an effective configuration
/// that Kratos's schema (both versions) accepts.
#[test]
fn every_combination_renders_a_configuration_kratos_accepts() {
    let schemas = kratos_schemas();
    let mut validated = 0;
    let mut failures = Vec::new();
    for bits in 0u32..(1 << 9) {
        let bit = |n: u32| bits & (1 << n) != 0;
        let mut inputs = inputs();
        inputs.flags = flags(bit(0), bit(1), bit(2), bit(3), bit(4));
        inputs.login_ui = bit(5).then(login_ui);
        inputs.oidc_providers = if bit(6) { providers() } else { Vec::new() };
        (inputs.registration_webhooks, inputs.login_webhooks) = if bit(7) {
            (webhooks(), webhooks())
        } else {
            (Vec::new(), Vec::new())
        };
        inputs.public_url = bit(8).then(|| url("https://id.example.com"));
        inputs.tracing_enabled = bit(7);
        inputs.courier = CourierInputs {
            from_address: Some("identity@example.com".into()),
            from_name: Some("Identity Platform".into()),
            recovery_code_email_html: bit(2).then(|| "<p>{{ .RecoveryCode }}</p>".into()),
            verification_code_email_html: bit(2).then(|| "<p>{{ .VerificationCode }}</p>".into()),
        };
        let label = format!(
            "{:?} login_ui={} providers={} webhooks={} public_url={}",
            inputs.flags,
            bit(5),
            bit(6),
            bit(7),
            bit(8)
        );

        let config = match render(&inputs) {
            Ok(config) => config,
            Err(RenderError::PasswordlessWithOidcWebauthnSequencing) => {
                assert!(bit(3) && bit(4), "{label}: refused as contradictory");
                continue;
            }
            Err(RenderError::PublicUrlRequired { .. }) => {
                assert!(
                    (bit(3) || bit(4)) && !bit(8),
                    "{label}: refused for want of a public URL"
                );
                continue;
            }
            Err(other) => panic!("{label}: {other}"),
        };
        let file = yaml_value(&config);
        for kratos in &schemas {
            let external = BTreeMap::from([(
                "ory://tracing-config".to_string(),
                kratos.tracing_schema.clone(),
            )]);
            let overlay = overlay_env(&file, &charm_env(&inputs), &kratos.config_schema, &external);
            let found = errors(&kratos.config, &overlay.config);
            if !found.is_empty() {
                failures.push(format!(
                    "{} {label}:\n  {}",
                    kratos.version,
                    found.join("\n  ")
                ));
            }
            validated += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} invalid:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Refusals are the exception: at least half of the combinations must have been checked
    // (against both versions).
    assert!(
        validated >= 2 * 256,
        "only {validated} configurations validated"
    );
}

#[test]
fn the_schema_validation_catches_a_broken_configuration() {
    // Guards the test above against a validator that accepts anything.
    for kratos in kratos_schemas() {
        let mut file = rendered(&inputs());
        file["selfservice"]["flows"]["login"]["style"] = json!("two_step");
        file["identity"]["schemas"] = json!([]);
        // Formats are checked too (Kratos checks them).
        file["selfservice"]["flows"]["error"]["ui_url"] = json!("http://bad host/");
        let mut env = charm_env(&inputs());
        env.insert("LOG_LEVEL".into(), "warn".into());
        let overlay = overlay_env(&file, &env, &kratos.config_schema, &BTreeMap::new());
        let found = errors(&kratos.config, &overlay.config).join("\n");
        for path in [
            "/selfservice/flows/login/style",
            "/identity/schemas",
            "/selfservice/flows/error/ui_url",
            "/log/level",
        ] {
            assert!(
                found.contains(path),
                "{}: {path} not reported in:\n{found}",
                kratos.version
            );
        }
    }
}

#[test]
fn identity_schemas_are_valid_against_the_identity_meta_schema() {
    let shipped = shipped_identity_schemas().unwrap();
    for kratos in kratos_schemas() {
        for (id, schema) in shipped.schemas() {
            let found = errors(&kratos.identity, schema);
            assert!(found.is_empty(), "{} {id}: {found:?}", kratos.version);
        }
        // And the meta-schema is not a pushover: traits without properties are refused.
        let broken = json!({"type": "object", "properties": {"traits": {"type": "object"}}});
        assert!(
            !errors(&kratos.identity, &broken).is_empty(),
            "{}",
            kratos.version
        );
    }
}

#[test]
fn the_rendered_identity_schemas_decode_to_valid_schemas() {
    let schemas = kratos_schemas();
    let config = rendered(&inputs());
    for entry in config["identity"]["schemas"].as_array().unwrap() {
        let schema: Value =
            serde_json::from_str(&decode_base64_url(entry["url"].as_str().unwrap())).unwrap();
        for kratos in &schemas {
            let found = errors(&kratos.identity, &schema);
            assert!(
                found.is_empty(),
                "{} {}: {found:?}",
                kratos.version,
                entry["id"]
            );
        }
    }
}
