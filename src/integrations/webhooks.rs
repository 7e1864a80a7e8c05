//! `kratos-registration-webhook` and `kratos-login-webhook` (interfaces
//! kratos_registration_webhook and kratos_login_webhook, the `charms.kratos.v0` libraries of
//! the same names): the provider of each relation publishes one web-hook in its application
//! databag, with its api key in a Juju secret it grants to the relation; Kratos calls the
//! web-hook in the registration or login flow. Several relations give several web-hooks.
//!
//! The keys (library patch 6 of registration, 2 of login; earlier patches write a subset and
//! the missing keys take their defaults): `url`, `body`, `method` and `response_ignore` /
//! `response_parse` (`"True"`/`"False"`, case-insensitive) are required; `mode`
//! (`before`/`after`, default after), `methods` (a JSON list, empty or absent for all
//! methods), `weight` (an integer, default 0), and the api key: `auth_config_value_secret`
//! (content key `auth-config-value`) with `auth_type` (`api_key`), `auth_config_name`
//! (default `Authorization`) and `auth_config_in` (`header`/`cookie`, default header). A
//! provider that disables authentication clears all four auth keys, so authentication is on
//! exactly when the secret (or, as the library also reads, an inline `auth_config_value`)
//! is there. `emit_analytics_event` is not read: the web-hooks emit analytics events when
//! tracing is integrated, as in the reference.
//!
//! Unlike the reference:
//! - partial, invalid or unknown data is a status naming the relation, the key and the fix,
//!   never a crashed hook, and while any relation is not ready the integration as a whole
//!   is not (the workload keeps its last good configuration rather than half the hooks);
//! - an unreadable secret or one without the key blocks instead of rendering `value: null`;
//! - the secret is read with `--refresh`, so a rotated api key is picked up (secret-changed
//!   runs the same reconcile as every other event);
//! - the older nested format of library patches 1 and 2 (`response` and `auth` as JSON,
//!   the api key inline) is read instead of crashing;
//! - the values reach `kratos.yaml` typed, so they cannot inject YAML.

use std::fmt;

use juju_rs_ops::model::{Model, ModelError};
use serde::Deserialize;
use serde_json::Value;

use super::{
    http_url, required_keys, BadRelationData, Contribute, Databag, Integration, Keys, Reading,
};
use crate::error::CharmError;
use crate::kratos_config::{
    ApiKeyLocation, AuthMethod, HookMode, MethodSelection, ResponseHandling, Sensitive, Webhook,
    WebhookAuth,
};
use crate::secrets;
use crate::workload::WorkloadSpec;

/// The content key of the api-key secret.
pub const SECRET_KEY: &str = "auth-config-value";

/// The header (or cookie) name when the provider gives none.
pub const DEFAULT_AUTH_NAME: &str = "Authorization";

/// The keys of the current libraries that must be there.
const KEYS: [&str; 5] = ["url", "body", "method", "response_ignore", "response_parse"];

/// The keys of the nested format (library patches 1 and 2) that must be there.
const NESTED_KEYS: [&str; 4] = ["url", "body", "method", "response"];

/// One flow's endpoint and the methods its library accepts in `methods`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// The endpoint.
    pub endpoint: &'static str,
    /// `registration` or `login`.
    pub name: &'static str,
    /// The method names the library allows.
    pub methods: &'static [&'static str],
}

/// `kratos-registration-webhook`.
pub const REGISTRATION: Flow = Flow {
    endpoint: "kratos-registration-webhook",
    name: "registration",
    methods: &["password", "oidc", "code", "passkey", "webauthn"],
};

/// `kratos-login-webhook`.
pub const LOGIN: Flow = Flow {
    endpoint: "kratos-login-webhook",
    name: "login",
    methods: &[
        "password",
        "oidc",
        "code",
        "passkey",
        "webauthn",
        "totp",
        "lookup_secret",
    ],
};

/// The relation a databag came from, as statuses name it: `app (relation 7)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The relation id.
    pub id: u32,
    /// The provider application.
    pub app: String,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (relation {})", self.app, self.id)
    }
}

/// Where the api key is, when it is in a Juju secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySecret {
    /// The secret id.
    pub id: String,
    /// Header or cookie name.
    pub name: String,
    /// Header or cookie.
    pub location: ApiKeyLocation,
}

/// What one provider databag offers, before the api key is read from its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// The web-hook; its `auth` is set already when the key came in the databag.
    pub webhook: Webhook,
    /// The secret holding the api key, if any (then `webhook.auth` is set once it is read).
    pub key_secret: Option<KeySecret>,
}

/// The registration web-hooks, one per relation, in relation order.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationHooks(pub Vec<Webhook>);

/// The login web-hooks, one per relation, in relation order.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginHooks(pub Vec<Webhook>);

/// The `kratos-registration-webhook` integration.
pub struct RegistrationWebhooks;

/// The `kratos-login-webhook` integration.
pub struct LoginWebhooks;

impl Integration for RegistrationWebhooks {
    type Data = RegistrationHooks;

    fn read(model: &Model) -> Result<Reading<RegistrationHooks>, CharmError> {
        Ok(read(model, &REGISTRATION)?.map(RegistrationHooks))
    }
}

impl Integration for LoginWebhooks {
    type Data = LoginHooks;

    fn read(model: &Model) -> Result<Reading<LoginHooks>, CharmError> {
        Ok(read(model, &LOGIN)?.map(LoginHooks))
    }
}

impl Contribute for RegistrationHooks {
    fn contribute(&self, workload: &mut WorkloadSpec) {
        workload
            .render
            .registration_webhooks
            .extend(self.0.iter().cloned());
    }
}

impl Contribute for LoginHooks {
    fn contribute(&self, workload: &mut WorkloadSpec) {
        workload
            .render
            .login_webhooks
            .extend(self.0.iter().cloned());
    }
}

/// A reading that is not ready, as a reading of another type (`Ready` gives `Absent`).
fn retype<T, U>(reading: Reading<T>) -> Reading<U> {
    match reading {
        Reading::Waiting(message) => Reading::Waiting(message),
        Reading::Blocked(message) => Reading::Blocked(message),
        Reading::Absent | Reading::Ready(_) => Reading::Absent,
    }
}

/// Every relation's web-hook: ready when each relation that published one is ready;
/// otherwise the first blocked relation's status, else the first waiting one's.
pub fn read(model: &Model, flow: &Flow) -> Result<Reading<Vec<Webhook>>, CharmError> {
    let mut hooks = Vec::new();
    let mut waiting = None;
    for (relation, bag) in model.remote_app_bags(flow.endpoint)? {
        let source = Source {
            id: relation.id,
            app: relation.remote_app.clone().unwrap_or_default(),
        };
        let reading = match parse(flow, &source, &bag) {
            Reading::Ready(offer) => resolve(model, flow, &source, offer)?,
            other => retype(other),
        };
        match reading {
            Reading::Ready(hook) => hooks.push(hook),
            Reading::Absent => {}
            Reading::Waiting(message) => {
                waiting.get_or_insert(message);
            }
            Reading::Blocked(message) => return Ok(Reading::Blocked(message)),
        }
    }
    Ok(match waiting {
        Some(message) => Reading::Waiting(message),
        None if hooks.is_empty() => Reading::Absent,
        None => Reading::Ready(hooks),
    })
}

/// The web-hook with its api key read from the secret (refreshed, so a rotation is
/// followed), or the status saying why the key cannot be had.
fn resolve(
    model: &Model,
    flow: &Flow,
    source: &Source,
    offer: Offer,
) -> Result<Reading<Webhook>, CharmError> {
    let Offer {
        mut webhook,
        key_secret,
    } = offer;
    let Some(KeySecret { id, name, location }) = key_secret else {
        return Ok(Reading::Ready(webhook));
    };
    let content = match secrets::read(model, &id) {
        Ok(Some(content)) => content,
        // Not found and permission denied look alike to a consumer: either way the secret
        // is not (yet) granted to it.
        Ok(None) | Err(ModelError::Tool { .. } | ModelError::Decode { .. }) => {
            let app = model.app_name();
            return Ok(blocked(
                flow,
                source,
                &format!(
                    "cannot read the api key secret {id} (auth_config_value_secret): the \
                     provider must grant it to the relation (a user secret: juju \
                     grant-secret {id} {app})"
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(value) = content.get(SECRET_KEY).filter(|v| !v.is_empty()) else {
        return Ok(blocked(
            flow,
            source,
            &format!("the api key secret {id} has no '{SECRET_KEY}' key"),
        ));
    };
    webhook.auth = Some(WebhookAuth::ApiKey {
        name,
        value: Sensitive::new(value.clone()),
        location,
    });
    Ok(Reading::Ready(webhook))
}

fn blocked<T>(flow: &Flow, source: &Source, problem: &str) -> Reading<T> {
    BadRelationData {
        endpoint: flow.endpoint,
        message: format!("{source}: {problem}"),
    }
    .into()
}

/// A key's value; empty counts as absent (a provider clears a key by writing "").
fn get<'bag>(bag: &'bag Databag, key: &str) -> Option<&'bag str> {
    bag.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

/// Reads one provider databag: `Absent` before the provider wrote, `Waiting` naming the
/// missing keys, `Blocked` naming the bad key and the fix.
pub fn parse(flow: &Flow, source: &Source, bag: &Databag) -> Reading<Offer> {
    let nested = get(bag, "response_ignore").is_none()
        && get(bag, "response_parse").is_none()
        && (get(bag, "response").is_some() || get(bag, "auth").is_some());
    let required: &[&'static str] = if nested { &NESTED_KEYS } else { &KEYS };
    match required_keys(bag, required) {
        Keys::None => return Reading::Absent,
        Keys::Partial(missing) => {
            return Reading::Waiting(format!(
                "Waiting for {} integration data from {source}: missing {}",
                flow.endpoint,
                missing.join(", ")
            ))
        }
        Keys::All(_) => {}
    }
    let offer = if nested {
        nested_offer(flow, bag)
    } else {
        offer(flow, bag)
    };
    match offer {
        Ok(offer) => Reading::Ready(offer),
        Err(problem) => blocked(flow, source, &problem),
    }
}

/// The current (flat) format.
fn offer(flow: &Flow, bag: &Databag) -> Result<Offer, String> {
    let response =
        ResponseHandling::from_flags(flag(bag, "response_ignore")?, flag(bag, "response_parse")?)
            .map_err(|e| format!("{e}: Kratos either ignores a response or parses it"))?;
    let (auth, key_secret) = auth(bag)?;
    Ok(Offer {
        webhook: Webhook {
            response,
            auth,
            ..common(flow, bag)?
        },
        key_secret,
    })
}

/// What both formats share (the nested one has no mode, methods or weight: defaults).
fn common(flow: &Flow, bag: &Databag) -> Result<Webhook, String> {
    let url = get(bag, "url").unwrap_or_default();
    let url = http_url(flow.endpoint, "url", url).map_err(|bad| bad.message)?;
    let method = get(bag, "method").unwrap_or_default();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !method.chars().all(token) {
        return Err(format!(
            "method {method:?} is not an HTTP method such as POST"
        ));
    }
    let mode = match get(bag, "mode") {
        None | Some("after") => HookMode::After,
        Some("before") => HookMode::Before,
        Some(other) => return Err(format!("mode {other:?} is neither before nor after")),
    };
    let weight = match get(bag, "weight") {
        None => 0,
        Some(weight) => weight
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("weight {weight:?} is not a whole number (0 or more)"))?,
    };
    Ok(Webhook {
        url,
        body: get(bag, "body").unwrap_or_default().to_string(),
        method: method.to_string(),
        mode,
        methods: methods(flow, bag)?,
        weight,
        response: ResponseHandling::Wait,
        auth: None,
    })
}

/// `methods`: a JSON list of the flow's method names; empty or absent for all methods.
fn methods(flow: &Flow, bag: &Databag) -> Result<MethodSelection, String> {
    let allowed = || flow.methods.join(", ");
    let Some(text) = get(bag, "methods") else {
        return legacy_all_methods(bag);
    };
    let names: Vec<String> = serde_json::from_str(text).map_err(|_| {
        format!(
            "methods {text:?} is not a JSON list of {} methods such as [\"oidc\"] ({})",
            flow.name,
            allowed()
        )
    })?;
    let mut selected = Vec::new();
    for name in &names {
        let method = Some(name.as_str())
            .filter(|name| flow.methods.contains(name))
            .and_then(|name| name.parse::<AuthMethod>().ok())
            .ok_or_else(|| {
                format!(
                    "methods: {name:?} is not a {} method; use {}",
                    flow.name,
                    allowed()
                )
            })?;
        if !selected.contains(&method) {
            selected.push(method);
        }
    }
    Ok(if selected.is_empty() {
        MethodSelection::All
    } else {
        MethodSelection::Only(selected)
    })
}

/// `all_methods`, which a development version of the registration library wrote instead
/// of `methods`: true for every method, false (its default) for `oidc` only.
fn legacy_all_methods(bag: &Databag) -> Result<MethodSelection, String> {
    Ok(match get(bag, "all_methods") {
        None => MethodSelection::All,
        Some(_) if flag(bag, "all_methods")? => MethodSelection::All,
        Some(_) => MethodSelection::Only(vec![AuthMethod::Oidc]),
    })
}

/// A boolean as the libraries write it (`True`/`False`), case-insensitively.
fn flag(bag: &Databag, key: &str) -> Result<bool, String> {
    lax_bool(get(bag, key).unwrap_or_default()).ok_or_else(|| {
        format!(
            "{key} {:?} is not True or False",
            get(bag, key).unwrap_or("")
        )
    })
}

fn lax_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The api key: in a secret (`auth_config_value_secret`) or, as the library also reads it,
/// inline (`auth_config_value`); neither means authentication is off.
fn auth(bag: &Databag) -> Result<(Option<WebhookAuth>, Option<KeySecret>), String> {
    let secret = get(bag, "auth_config_value_secret");
    let inline = get(bag, "auth_config_value");
    if secret.is_none() && inline.is_none() {
        return Ok((None, None));
    }
    match get(bag, "auth_type") {
        None | Some("api_key") => {}
        Some(other) => {
            return Err(format!(
                "auth_type {other:?} is not supported: the web-hook interfaces carry an \
                 api_key (a header or cookie)"
            ))
        }
    }
    let name = get(bag, "auth_config_name")
        .unwrap_or(DEFAULT_AUTH_NAME)
        .to_string();
    let location = location("auth_config_in", get(bag, "auth_config_in"))?;
    match (secret, inline) {
        (Some(id), _) => {
            if !id.starts_with("secret:") || id.chars().any(char::is_whitespace) {
                return Err(format!(
                    "auth_config_value_secret {id:?} is not a Juju secret id (secret:...)"
                ));
            }
            let id = id.to_string();
            Ok((None, Some(KeySecret { id, name, location })))
        }
        (None, value) => Ok((
            Some(WebhookAuth::ApiKey {
                name,
                value: Sensitive::new(value.unwrap_or_default()),
                location,
            }),
            None,
        )),
    }
}

fn location(key: &str, value: Option<&str>) -> Result<ApiKeyLocation, String> {
    match value {
        None | Some("header") => Ok(ApiKeyLocation::Header),
        Some("cookie") => Ok(ApiKeyLocation::Cookie),
        Some(other) => Err(format!("{key} {other:?} is neither header nor cookie")),
    }
}

/// `auth` of the nested format. Not `Debug`: it holds the api key.
#[derive(Deserialize)]
struct NestedAuth {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    config: NestedAuthConfig,
}

/// `auth.config` of the nested format (`in` was written as `in_` by some versions).
#[derive(Deserialize)]
struct NestedAuthConfig {
    #[serde(default)]
    name: Option<String>,
    value: String,
    #[serde(rename = "in", alias = "in_", default)]
    location: Option<String>,
}

/// The nested format of library patches 1 and 2: `response` and `auth` as JSON, the api
/// key inline, no mode, methods or weight.
fn nested_offer(flow: &Flow, bag: &Databag) -> Result<Offer, String> {
    let upgrade = format!(
        "(an old kratos_{}_webhook library: upgrading the provider's charm fixes it)",
        flow.name
    );
    let text = get(bag, "response").unwrap_or_default();
    let response: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let response_flag = |key: &str| match response.get(key) {
        Some(Value::Bool(value)) => Some(*value),
        Some(Value::String(value)) => lax_bool(value),
        _ => None,
    };
    let (Some(ignore), Some(parse)) = (response_flag("ignore"), response_flag("parse")) else {
        return Err(format!(
            "response {text:?} is not {{\"ignore\": true|false, \"parse\": true|false}} {upgrade}"
        ));
    };
    let response = ResponseHandling::from_flags(ignore, parse).map_err(|_| {
        format!("response: Kratos cannot both ignore and parse a response {upgrade}")
    })?;
    let auth = match get(bag, "auth") {
        None | Some("null") => None,
        // The value is never quoted back: it holds the api key.
        Some(text) => Some(nested_auth(text).map_err(|problem| format!("{problem} {upgrade}"))?),
    };
    Ok(Offer {
        webhook: Webhook {
            response,
            auth,
            ..common(flow, bag)?
        },
        key_secret: None,
    })
}

fn nested_auth(text: &str) -> Result<WebhookAuth, String> {
    let shape = "auth is not {\"type\": \"api_key\", \"config\": {\"name\", \"value\", \"in\"}}";
    let auth: NestedAuth = serde_json::from_str(text).map_err(|_| shape.to_string())?;
    if auth
        .kind
        .as_deref()
        .is_some_and(|kind| !kind.is_empty() && kind != "api_key")
    {
        return Err("auth: only the api_key type is supported".to_string());
    }
    if auth.config.value.is_empty() {
        return Err(shape.to_string());
    }
    Ok(WebhookAuth::ApiKey {
        name: auth
            .config
            .name
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| DEFAULT_AUTH_NAME.to_string()),
        value: Sensitive::new(auth.config.value),
        location: location("auth.config.in", auth.config.location.as_deref())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::test_bag as bag;

    const SECRET_ID: &str = "secret:d1abc2defghijklmno30";

    fn source() -> Source {
        Source {
            id: 7,
            app: "user-verification-service".into(),
        }
    }

    /// What user-verification-service publishes with the current library.
    fn current() -> Databag {
        bag(&[
            (
                "url",
                "http://user-verification-service.iam.svc.cluster.local:8080/api/v0/verify",
            ),
            ("body", "base64://ZnVuY3Rpb24oY3R4KSB7fQ=="),
            ("method", "POST"),
            ("mode", "after"),
            ("methods", "[]"),
            ("weight", "0"),
            ("response_ignore", "False"),
            ("response_parse", "True"),
            ("auth_type", "api_key"),
            ("auth_config_name", "Authorization"),
            ("auth_config_value_secret", SECRET_ID),
            ("auth_config_in", "header"),
        ])
    }

    fn with(pairs: &[(&str, &str)]) -> Databag {
        let mut data = current();
        for (key, value) in pairs {
            data.insert(key.to_string(), value.to_string());
        }
        data
    }

    fn without(base: Databag, keys: &[&str]) -> Databag {
        let mut data = base;
        for key in keys {
            data.remove(*key);
        }
        data
    }

    fn ready(flow: &Flow, data: &Databag) -> Offer {
        match parse(flow, &source(), data) {
            Reading::Ready(offer) => offer,
            other => panic!("not ready: {other:?}"),
        }
    }

    fn blocked_message(flow: &Flow, data: &Databag) -> String {
        match parse(flow, &source(), data) {
            Reading::Blocked(message) => message,
            other => panic!("not blocked: {other:?}"),
        }
    }

    #[test]
    fn the_current_library_bag_is_a_webhook_whose_key_is_in_the_secret() {
        let offer = ready(&REGISTRATION, &current());
        let hook = &offer.webhook;
        assert_eq!(
            hook.url.as_str(),
            "http://user-verification-service.iam.svc.cluster.local:8080/api/v0/verify"
        );
        assert_eq!(hook.body, "base64://ZnVuY3Rpb24oY3R4KSB7fQ==");
        assert_eq!(hook.method, "POST");
        assert_eq!(hook.mode, HookMode::After);
        assert_eq!(hook.methods, MethodSelection::All);
        assert_eq!(hook.weight, 0);
        assert_eq!(hook.response, ResponseHandling::Parse);
        assert_eq!(hook.auth, None, "set once the secret is read");
        assert_eq!(
            offer.key_secret,
            Some(KeySecret {
                id: SECRET_ID.into(),
                name: "Authorization".into(),
                location: ApiKeyLocation::Header,
            })
        );
    }

    #[test]
    fn absent_optional_keys_take_the_library_defaults() {
        let minimal = bag(&[
            ("url", "https://hooks.example.com/x"),
            ("body", "base64://e30="),
            ("method", "POST"),
            ("response_ignore", "True"),
            ("response_parse", "False"),
            ("emit_analytics_event", "False"),
        ]);
        let offer = ready(&LOGIN, &minimal);
        assert_eq!(offer.webhook.mode, HookMode::After);
        assert_eq!(offer.webhook.methods, MethodSelection::All);
        assert_eq!(offer.webhook.weight, 0);
        assert_eq!(offer.webhook.response, ResponseHandling::Ignore);
        assert_eq!((offer.webhook.auth, offer.key_secret), (None, None));
    }

    #[test]
    fn a_bag_without_the_required_keys_is_absent() {
        assert_eq!(parse(&LOGIN, &source(), &Databag::new()), Reading::Absent);
        let only_optional = bag(&[("mode", "before"), ("weight", "3")]);
        assert_eq!(parse(&LOGIN, &source(), &only_optional), Reading::Absent);
    }

    #[test]
    fn a_half_written_bag_waits_naming_the_relation_and_the_missing_keys() {
        let half = without(current(), &["response_ignore", "response_parse"]);
        let Reading::Waiting(message) = parse(&REGISTRATION, &source(), &half) else {
            panic!("must wait")
        };
        assert_eq!(
            message,
            "Waiting for kratos-registration-webhook integration data from \
             user-verification-service (relation 7): missing response_ignore, response_parse"
        );
    }

    #[test]
    fn mode_methods_and_weight_are_read() {
        let offer = ready(
            &LOGIN,
            &with(&[
                ("mode", "before"),
                ("methods", r#"["totp", "oidc", "totp"]"#),
                ("weight", "12"),
            ]),
        );
        assert_eq!(offer.webhook.mode, HookMode::Before);
        assert_eq!(
            offer.webhook.methods,
            MethodSelection::Only(vec![AuthMethod::Totp, AuthMethod::Oidc])
        );
        assert_eq!(offer.webhook.weight, 12);
    }

    #[test]
    fn methods_are_limited_to_the_flow() {
        let totp = with(&[("methods", r#"["totp"]"#)]);
        assert!(parse(&LOGIN, &source(), &totp).ready().is_some());
        let message = blocked_message(&REGISTRATION, &totp);
        assert!(
            message.contains("\"totp\" is not a registration method")
                && message.contains("password, oidc, code, passkey, webauthn"),
            "{message}"
        );
        let passkey = with(&[("methods", r#"["passkey"]"#)]);
        assert_eq!(
            ready(&REGISTRATION, &passkey).webhook.methods,
            MethodSelection::Only(vec![AuthMethod::Passkey])
        );
    }

    #[test]
    fn garbage_blocks_naming_the_endpoint_relation_and_key() {
        for (key, value) in [
            ("url", "not a url"),
            ("url", "ftp://hooks.example.com/"),
            ("method", "PO ST"),
            ("mode", "during"),
            ("methods", "oidc"),
            ("methods", r#"{"oidc": true}"#),
            ("methods", r#"["magic"]"#),
            ("weight", "heavy"),
            ("weight", "-1"),
            ("weight", "1.5"),
            ("response_ignore", "yes"),
            ("response_parse", "1"),
            ("auth_config_in", "query"),
            ("auth_type", "basic_auth"),
            ("auth_config_value_secret", "d1abc2defghijklmno30"),
        ] {
            let message = blocked_message(&LOGIN, &with(&[(key, value)]));
            assert!(
                message.starts_with(
                    "Invalid data in kratos-login-webhook integration: \
                     user-verification-service (relation 7): "
                ) && message.contains(key),
                "{key}={value}: {message}"
            );
        }
    }

    #[test]
    fn ignoring_and_parsing_the_response_at_once_blocks() {
        let both = with(&[("response_ignore", "True"), ("response_parse", "True")]);
        let message = blocked_message(&REGISTRATION, &both);
        assert!(
            message.contains("response_ignore and response_parse"),
            "{message}"
        );
    }

    #[test]
    fn booleans_are_read_case_insensitively() {
        let lower = with(&[("response_ignore", "true"), ("response_parse", "FALSE")]);
        assert_eq!(
            ready(&LOGIN, &lower).webhook.response,
            ResponseHandling::Ignore
        );
    }

    #[test]
    fn without_a_key_authentication_is_off() {
        // A provider that disables authentication clears all four keys; leftovers of the
        // other three do not switch it on.
        let off = without(current(), &["auth_config_value_secret"]);
        let offer = ready(&LOGIN, &off);
        assert_eq!((offer.webhook.auth, offer.key_secret), (None, None));
    }

    #[test]
    fn a_secret_alone_takes_the_default_name_and_header() {
        let secret_only = without(
            current(),
            &["auth_type", "auth_config_name", "auth_config_in"],
        );
        let secret = ready(&LOGIN, &secret_only).key_secret.unwrap();
        assert_eq!(secret.name, "Authorization");
        assert_eq!(secret.location, ApiKeyLocation::Header);
        let cookie = with(&[("auth_config_in", "cookie"), ("auth_config_name", "k")]);
        let secret = ready(&LOGIN, &cookie).key_secret.unwrap();
        assert_eq!(
            (secret.name.as_str(), secret.location),
            ("k", ApiKeyLocation::Cookie)
        );
    }

    #[test]
    fn an_inline_key_is_used_when_there_is_no_secret() {
        let inline = with(&[("auth_config_value", "inline-key")]);
        let inline = without(inline, &["auth_config_value_secret"]);
        let offer = ready(&LOGIN, &inline);
        assert_eq!(offer.key_secret, None);
        assert_eq!(
            offer.webhook.auth,
            Some(WebhookAuth::ApiKey {
                name: "Authorization".into(),
                value: Sensitive::new("inline-key"),
                location: ApiKeyLocation::Header,
            })
        );
    }

    /// What library patch 1 wrote (pydantic dumped `in` as `in_`, bools as strings).
    fn nested() -> Databag {
        bag(&[
            ("url", "https://hooks.example.com/old"),
            ("body", "base64://e30="),
            ("method", "POST"),
            ("emit_analytics_event", "True"),
            ("response", r#"{"ignore":"False","parse":"True"}"#),
            (
                "auth",
                r#"{"type":"api_key","config":{"name":"X-Key","value":"old-key","in_":"cookie"}}"#,
            ),
        ])
    }

    #[test]
    fn the_old_nested_format_is_read() {
        let offer = ready(&REGISTRATION, &nested());
        assert_eq!(offer.webhook.response, ResponseHandling::Parse);
        assert_eq!(offer.webhook.methods, MethodSelection::All);
        assert_eq!(offer.key_secret, None);
        assert_eq!(
            offer.webhook.auth,
            Some(WebhookAuth::ApiKey {
                name: "X-Key".into(),
                value: Sensitive::new("old-key"),
                location: ApiKeyLocation::Cookie,
            })
        );
        let mut bools = nested();
        bools.insert(
            "response".into(),
            r#"{"ignore": true, "parse": false}"#.into(),
        );
        bools.remove("auth");
        let offer = ready(&REGISTRATION, &bools);
        assert_eq!(offer.webhook.response, ResponseHandling::Ignore);
        assert_eq!(offer.webhook.auth, None);
    }

    #[test]
    fn a_broken_nested_bag_blocks_asking_for_a_newer_library_without_the_key() {
        for (key, value) in [
            ("response", "not json"),
            ("response", r#"{"ignore": "maybe", "parse": "False"}"#),
            (
                "auth",
                r#"{"config": {"name": "X-Key", "secret-value": 5}, "v": "old-key"}"#,
            ),
            (
                "auth",
                r#"{"type": "basic_auth", "config": {"value": "old-key"}}"#,
            ),
        ] {
            let mut data = nested();
            data.insert(key.into(), value.into());
            let message = blocked_message(&REGISTRATION, &data);
            assert!(
                message.contains(key)
                    && message.contains("kratos_registration_webhook library")
                    && message.contains("relation 7"),
                "{message}"
            );
            assert!(!message.contains("old-key"), "{message}");
        }
    }

    #[test]
    fn the_development_all_methods_flag_selects_all_or_oidc() {
        let data = without(current(), &["methods"]);
        let all = with(&[("all_methods", "True")]);
        let all = without(all, &["methods"]);
        assert_eq!(
            ready(&REGISTRATION, &all).webhook.methods,
            MethodSelection::All
        );
        let mut oidc = data;
        oidc.insert("all_methods".into(), "False".into());
        assert_eq!(
            ready(&REGISTRATION, &oidc).webhook.methods,
            MethodSelection::Only(vec![AuthMethod::Oidc])
        );
    }

    #[test]
    fn contributions_land_in_their_flow() {
        let hook = ready(&LOGIN, &without(current(), &["auth_config_value_secret"])).webhook;
        let mut workload = WorkloadSpec::for_tests();
        LoginHooks(vec![hook.clone()]).contribute(&mut workload);
        RegistrationHooks(vec![hook.clone(), hook.clone()]).contribute(&mut workload);
        assert_eq!(workload.render.login_webhooks, std::slice::from_ref(&hook));
        assert_eq!(workload.render.registration_webhooks, [hook.clone(), hook]);
    }
}
