//! The identity actions (`get-identity`, `delete-identity`, `create-admin-account`,
//! `reset-password`, `invalidate-identity-sessions`, `reset-identity-mfa`,
//! `list-oidc-accounts`, `unlink-oidc-account`) as pure functions over [`KratosAdmin`].
//!
//! Each takes its typed parameters (deserialised from `action-get` by the glue in
//! `actions.rs`) and returns either an [`ActionOutput`] (results with dash-separated
//! keys, plus lines for `action-log`) or an [`ActionFailure`] (the `action-fail`
//! message). Passwords arrive already read from their Juju secret (see
//! [`password_from_secret`]) and never appear in results, logs or failures.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::kratos_api::{
    CredentialType, Identity, KratosAdmin, KratosApiError, NewIdentity, RecoveryCode,
};
use crate::sensitive::Sensitive;

/// The failure when the admin API does not answer or is not ready (the reference's
/// wording).
pub const SERVICE_NOT_READY: &str =
    "Service is not ready. Please re-run the action when the charm is active";
/// The identity schema of accounts made by `create-admin-account` (shipped in
/// `identity_schemas/admin_v0.json`).
pub const ADMIN_SCHEMA_ID: &str = "admin_v0";
/// The key of the password in the Juju secret named by `password-secret-id`.
pub const PASSWORD_SECRET_KEY: &str = "password";
/// How long a recovery code handed out by an action stays valid (a Go duration).
pub const RECOVERY_CODE_EXPIRES_IN: &str = "1h";

/// What a successful action hands back to Juju.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionOutput {
    /// For `action-set`: keys are valid Juju result keys (lowercase alphanumerics and
    /// dashes); nested maps become dotted keys.
    pub results: BTreeMap<String, Value>,
    /// For `action-log`, in order.
    pub log: Vec<String>,
}

/// Why an action failed: the message for `action-fail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ActionFailure {
    pub message: String,
}

impl ActionFailure {
    pub fn new(message: impl Into<String>) -> ActionFailure {
        ActionFailure {
            message: message.into(),
        }
    }
}

/// Parameters of the actions that only pick an identity: `get-identity`,
/// `delete-identity`, `invalidate-identity-sessions`, `list-oidc-accounts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IdentityParams {
    pub identity_id: Option<String>,
    pub email: Option<String>,
}

/// Parameters of `create-admin-account`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CreateAdminAccountParams {
    pub username: String,
    pub email: String,
    pub name: Option<String>,
    pub phone_number: Option<String>,
    pub password_secret_id: Option<String>,
}

/// Parameters of `reset-password`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
// No deny_unknown_fields: serde ignores it next to `flatten`. Juju refuses unknown
// parameters before the charm runs (actions.yaml: additionalProperties: false).
#[serde(rename_all = "kebab-case")]
pub struct ResetPasswordParams {
    /// Which identity (`identity-id` or `email`).
    #[serde(flatten)]
    pub identity: IdentityParams,
    pub password_secret_id: Option<String>,
}

/// Parameters of `reset-identity-mfa`. `mfa_type` stays a string so that a bad value
/// gets this action's own message rather than a deserialiser's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
// No deny_unknown_fields: serde ignores it next to `flatten`. Juju refuses unknown
// parameters before the charm runs (actions.yaml: additionalProperties: false).
#[serde(rename_all = "kebab-case")]
pub struct ResetIdentityMfaParams {
    /// Which identity (`identity-id` or `email`).
    #[serde(flatten)]
    pub identity: IdentityParams,
    pub mfa_type: String,
}

/// Parameters of `unlink-oidc-account`. `credential_id` is an OIDC identifier as
/// `list-oidc-accounts` prints it (`<provider>:<subject>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
// No deny_unknown_fields: serde ignores it next to `flatten`. Juju refuses unknown
// parameters before the charm runs (actions.yaml: additionalProperties: false).
#[serde(rename_all = "kebab-case")]
pub struct UnlinkOidcAccountParams {
    /// Which identity (`identity-id` or `email`).
    #[serde(flatten)]
    pub identity: IdentityParams,
    pub credential_id: String,
}

impl CreateAdminAccountParams {
    /// The secret holding the password, when one was given.
    pub fn password_secret_id(&self) -> Option<&str> {
        present(&self.password_secret_id)
    }
}

impl ResetPasswordParams {
    /// The secret holding the new password, when one was given.
    pub fn password_secret_id(&self) -> Option<&str> {
        present(&self.password_secret_id)
    }
}

/// How the operator named the identity: exactly one of `identity-id` or `email`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySelector {
    Id(String),
    Email(String),
}

impl IdentitySelector {
    /// Checks that exactly one of the two is given (empty counts as absent) and that it
    /// looks right: a UUID, or an e-mail address.
    pub fn from_params(
        identity_id: Option<&str>,
        email: Option<&str>,
    ) -> Result<IdentitySelector, ActionFailure> {
        let identity_id = identity_id.map(str::trim).filter(|s| !s.is_empty());
        let email = email.map(str::trim).filter(|s| !s.is_empty());
        match (identity_id, email) {
            (Some(_), Some(_)) => Err(ActionFailure::new(
                "Provide only one of 'identity-id' or 'email', not both",
            )),
            (None, None) => Err(ActionFailure::new(
                "You must provide either 'identity-id' or 'email'",
            )),
            (Some(id), None) if is_uuid(id) => Ok(IdentitySelector::Id(id.to_ascii_lowercase())),
            (Some(id), None) => Err(ActionFailure::new(format!(
                "The identity-id must be a valid UUID, not '{id}'"
            ))),
            (None, Some(email)) if looks_like_email(email) => {
                Ok(IdentitySelector::Email(email.to_string()))
            }
            (None, Some(email)) => Err(ActionFailure::new(format!(
                "The email '{email}' is not a valid e-mail address"
            ))),
        }
    }
}

/// The MFA credential types `reset-identity-mfa` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaType {
    Totp,
    LookupSecret,
    Webauthn,
}

impl MfaType {
    pub const ALL: [MfaType; 3] = [MfaType::Totp, MfaType::LookupSecret, MfaType::Webauthn];

    pub fn credential_type(self) -> CredentialType {
        match self {
            MfaType::Totp => CredentialType::Totp,
            MfaType::LookupSecret => CredentialType::LookupSecret,
            MfaType::Webauthn => CredentialType::Webauthn,
        }
    }
}

impl fmt::Display for MfaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.credential_type().as_str())
    }
}

impl FromStr for MfaType {
    type Err = ActionFailure;

    fn from_str(value: &str) -> Result<MfaType, ActionFailure> {
        MfaType::ALL
            .into_iter()
            .find(|t| t.credential_type().as_str() == value.trim())
            .ok_or_else(|| {
                let allowed: Vec<String> = MfaType::ALL.iter().map(|t| t.to_string()).collect();
                ActionFailure::new(format!(
                    "Unsupported MFA credential type '{value}'; allowed types: {}",
                    allowed.join(", ")
                ))
            })
    }
}

/// The password in the content of the Juju secret `secret_id` (`None`: the secret was
/// not found or not granted).
pub fn password_from_secret(
    secret_id: &str,
    content: Option<&BTreeMap<String, String>>,
) -> Result<Sensitive, ActionFailure> {
    let content = content.ok_or_else(|| {
        ActionFailure::new(format!(
            "Juju secret {secret_id} not found: create it with a '{PASSWORD_SECRET_KEY}' \
             key and grant it to this application (juju grant-secret)"
        ))
    })?;
    match content.get(PASSWORD_SECRET_KEY) {
        Some(password) if !password.is_empty() => Ok(Sensitive::new(password.clone())),
        Some(_) => Err(ActionFailure::new(format!(
            "The '{PASSWORD_SECRET_KEY}' in Juju secret {secret_id} is empty"
        ))),
        None => Err(ActionFailure::new(format!(
            "Juju secret {secret_id} has no '{PASSWORD_SECRET_KEY}' key"
        ))),
    }
}

/// `get-identity`: the identity, as Kratos describes it, with dash-separated keys.
pub fn get_identity<A: KratosAdmin + ?Sized>(
    admin: &A,
    params: &IdentityParams,
) -> Result<ActionOutput, ActionFailure> {
    let selector = params.selector()?;
    ensure_ready(admin)?;
    let identity = resolve(admin, &selector, &[])?;
    Ok(ActionOutput {
        results: identity_results(&identity),
        log: vec![format!("Fetched identity {}", identity.id)],
    })
}

/// `delete-identity`: deletes the identity; results: `id`.
pub fn delete_identity<A: KratosAdmin + ?Sized>(
    admin: &A,
    params: &IdentityParams,
) -> Result<ActionOutput, ActionFailure> {
    let selector = params.selector()?;
    ensure_ready(admin)?;
    let id = resolve(admin, &selector, &[])?.id;
    admin
        .delete_identity(&id)
        .map_err(|e| identity_failure(&id, e))?;
    Ok(ActionOutput {
        results: results([("id", Value::String(id.clone()))]),
        log: vec![format!("Deleted identity {id}")],
    })
}

/// `create-admin-account`: creates an `admin_v0` identity. With a password it can log in
/// at once; without, the results carry a recovery code and link (valid
/// [`RECOVERY_CODE_EXPIRES_IN`]) where the admin sets one. Results: `identity-id`, and
/// `recovery-link`, `recovery-code`, `expires-at` without a password.
pub fn create_admin_account<A: KratosAdmin + ?Sized>(
    admin: &A,
    params: &CreateAdminAccountParams,
    password: Option<&Sensitive>,
) -> Result<ActionOutput, ActionFailure> {
    scrubbed(password, || {
        let username = params.username.trim();
        let email = params.email.trim();
        if username.is_empty() {
            return Err(ActionFailure::new("The username must not be empty"));
        }
        if !looks_like_email(email) {
            return Err(ActionFailure::new(format!(
                "The email '{email}' is not a valid e-mail address"
            )));
        }
        ensure_ready(admin)?;

        let mut traits = Map::new();
        traits.insert("username".into(), username.into());
        traits.insert("email".into(), email.into());
        if let Some(name) = present(&params.name) {
            traits.insert("name".into(), name.into());
        }
        if let Some(phone) = present(&params.phone_number) {
            traits.insert("phone_number".into(), phone.into());
        }
        let new = NewIdentity {
            schema_id: ADMIN_SCHEMA_ID.to_string(),
            traits,
            password: password.cloned(),
        };
        let identity = admin.create_identity(&new).map_err(|e| match e {
            KratosApiError::Conflict { .. } => ActionFailure::new(format!(
                "The account already exists: an identity with username '{username}' \
                 or email '{email}' is registered"
            )),
            other => api_failure(other),
        })?;
        let id = identity.id;
        let mut log = vec![format!("Created the admin account {id}")];
        let mut output = results([("identity-id", Value::String(id.clone()))]);
        if password.is_none() {
            let code = admin
                .create_recovery_code(&id, RECOVERY_CODE_EXPIRES_IN)
                .map_err(|e| {
                    ActionFailure::new(format!(
                        "Created the admin account {id}, but could not create its recovery \
                         code ({}). Run reset-password with identity-id={id} to get one",
                        sentence(&e)
                    ))
                })?;
            output.extend(recovery_results(&code));
            log.push("Use the recovery link and code to set the account's password".into());
        }
        Ok(ActionOutput {
            results: output,
            log,
        })
    })
}

/// `reset-password`: with a password, sets it (results: the updated identity); without,
/// creates a recovery code (results: `identity-id`, `recovery-link`, `recovery-code`,
/// `expires-at`).
pub fn reset_password<A: KratosAdmin + ?Sized>(
    admin: &A,
    params: &ResetPasswordParams,
    password: Option<&Sensitive>,
) -> Result<ActionOutput, ActionFailure> {
    scrubbed(password, || {
        let selector = params.identity.selector()?;
        ensure_ready(admin)?;
        let identity = resolve(admin, &selector, &[])?;
        match password {
            Some(password) => {
                let updated = admin
                    .set_password(&identity, password)
                    .map_err(|e| identity_failure(&identity.id, e))?;
                Ok(ActionOutput {
                    results: identity_results(&updated),
                    log: vec![format!("Changed the password of identity {}", updated.id)],
                })
            }
            None => {
                let code = admin
                    .create_recovery_code(&identity.id, RECOVERY_CODE_EXPIRES_IN)
                    .map_err(|e| identity_failure(&identity.id, e))?;
                let mut output = results([("identity-id", Value::String(identity.id.clone()))]);
                output.extend(recovery_results(&code));
                Ok(ActionOutput {
                    results: output,
                    log: vec![format!(
                        "Created a recovery code for identity {}: use the returned link \
                         and code to reset the password",
                        identity.id
                    )],
                })
            }
        }
    })
}

/// `invalidate-identity-sessions`: deletes every session of the identity. Results:
/// `identity-id`, `sessions-invalidated` (`false` when it had none).
pub fn invalidate_identity_sessions<A: KratosAdmin + ?Sized>(
    admin: &A,
    params: &IdentityParams,
) -> Result<ActionOutput, ActionFailure> {
    let selector = params.selector()?;
    ensure_ready(admin)?;
    let id = resolve(admin, &selector, &[])?.id;
    let (invalidated, line) = match admin.delete_sessions(&id) {
        Ok(()) => (
            true,
            format!("Invalidated and deleted the sessions of identity {id}"),
        ),
        // Kratos answers 404 when there was no session to delete.
        Err(KratosApiError::NotFound { .. }) => (false, format!("Identity {id} has no sessions")),
        Err(e) => return Err(api_failure(e)),
    };
    Ok(ActionOutput {
        results: results([
            ("identity-id", Value::String(id)),
            ("sessions-invalidated", Value::Bool(invalidated)),
        ]),
        log: vec![line],
    })
}

/// `reset-identity-mfa`: removes the identity's credential of `mfa-type` (the user sets
/// it up again at the next login that needs it). Results: `identity-id`, `mfa-type`.
pub fn reset_identity_mfa<A: KratosAdmin + ?Sized>(
    admin: &A,
    params: &ResetIdentityMfaParams,
) -> Result<ActionOutput, ActionFailure> {
    let mfa_type: MfaType = params.mfa_type.parse()?;
    let selector = params.identity.selector()?;
    ensure_ready(admin)?;
    // Kratos keeps a WebAuthn credential without keys for every identity whose schema
    // makes a trait a WebAuthn identifier, and "deletes" it happily: count the keys.
    let include: &[CredentialType] = match mfa_type {
        MfaType::Webauthn => &[CredentialType::Webauthn],
        MfaType::Totp | MfaType::LookupSecret => &[],
    };
    let identity = resolve(admin, &selector, include)?;
    let id = identity.id.clone();
    let nothing_to_reset =
        || ActionFailure::new(format!("Identity {id} has no {mfa_type} credentials"));
    if mfa_type == MfaType::Webauthn {
        let keys = identity
            .credential(CredentialType::Webauthn)
            .and_then(|c| c.webauthn_mfa_keys)
            .unwrap_or(0);
        if keys == 0 {
            return Err(nothing_to_reset());
        }
    }
    admin
        .delete_credential(&id, mfa_type.credential_type(), None)
        .map_err(|e| match e {
            KratosApiError::NotFound { .. } => nothing_to_reset(),
            other => api_failure(other),
        })?;
    Ok(ActionOutput {
        results: results([
            ("identity-id", Value::String(id.clone())),
            ("mfa-type", Value::String(mfa_type.to_string())),
        ]),
        log: vec![format!("Reset the {mfa_type} credentials of identity {id}")],
    })
}

/// `list-oidc-accounts`: the OIDC accounts linked to the identity. Results:
/// `identity-id`, `identifiers` (one `<provider>:<subject>` per line; empty when none).
pub fn list_oidc_accounts<A: KratosAdmin + ?Sized>(
    admin: &A,
    params: &IdentityParams,
) -> Result<ActionOutput, ActionFailure> {
    let selector = params.selector()?;
    ensure_ready(admin)?;
    // Identifiers come with every read; `include_credential=oidc` would add the
    // decrypted provider tokens, which this action has no use for.
    let identity = resolve(admin, &selector, &[])?;
    let identifiers = identity.identifiers(CredentialType::Oidc);
    let line = if identifiers.is_empty() {
        format!("Identity {} has no linked OIDC accounts", identity.id)
    } else {
        format!(
            "Identity {} has {} linked OIDC account(s)",
            identity.id,
            identifiers.len()
        )
    };
    Ok(ActionOutput {
        results: results([
            ("identity-id", Value::String(identity.id.clone())),
            ("identifiers", Value::String(identifiers.join("\n"))),
        ]),
        log: vec![line],
    })
}

/// `unlink-oidc-account`: removes one linked OIDC account. Results: `identity-id`,
/// `credential-id`.
pub fn unlink_oidc_account<A: KratosAdmin + ?Sized>(
    admin: &A,
    params: &UnlinkOidcAccountParams,
) -> Result<ActionOutput, ActionFailure> {
    let credential_id = params.credential_id.trim();
    if credential_id.is_empty() {
        return Err(ActionFailure::new(
            "The credential-id must not be empty (see list-oidc-accounts)",
        ));
    }
    let selector = params.identity.selector()?;
    ensure_ready(admin)?;
    let id = resolve(admin, &selector, &[])?.id;
    admin
        .delete_credential(&id, CredentialType::Oidc, Some(credential_id))
        .map_err(|e| match e {
            KratosApiError::NotFound { .. } => ActionFailure::new(format!(
                "Identity {id} has no linked OIDC account '{credential_id}' \
                 (see list-oidc-accounts)"
            )),
            other => api_failure(other),
        })?;
    Ok(ActionOutput {
        results: results([
            ("identity-id", Value::String(id.clone())),
            ("credential-id", Value::String(credential_id.to_string())),
        ]),
        log: vec![format!(
            "Unlinked the OIDC account '{credential_id}' from identity {id}"
        )],
    })
}

/// Converts a JSON object (e.g. an identity) into action results: keys become valid
/// Juju result keys (`schema_id` -> `schema-id`, `firstName` -> `firstname`), lists
/// become maps keyed by position (`recovery-addresses.0.value`), nulls and empty
/// containers are left out. Keys that collide after conversion get a `-2`, `-3`, ...
/// suffix.
pub fn to_action_results(object: &Map<String, Value>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (key, value) in object {
        if let Some(value) = result_value(value) {
            insert_unique(&mut out, action_key(key), value);
        }
    }
    out
}

fn result_value(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Object(map) => {
            let converted = to_action_results(map);
            (!converted.is_empty()).then(|| Value::Object(converted.into_iter().collect()))
        }
        Value::Array(items) => {
            let converted: Map<String, Value> = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| result_value(item).map(|v| (i.to_string(), v)))
                .collect();
            (!converted.is_empty()).then_some(Value::Object(converted))
        }
        scalar => Some(scalar.clone()),
    }
}

/// A key `action-set` accepts: `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`.
fn action_key(key: &str) -> String {
    let mapped: String = key
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    if trimmed.is_empty() {
        "key".to_string()
    } else {
        trimmed.to_string()
    }
}

fn insert_unique(out: &mut BTreeMap<String, Value>, key: String, value: Value) {
    let mut candidate = key.clone();
    let mut n = 2;
    while out.contains_key(&candidate) {
        candidate = format!("{key}-{n}");
        n += 1;
    }
    out.insert(candidate, value);
}

fn identity_results(identity: &Identity) -> BTreeMap<String, Value> {
    match &identity.document {
        Value::Object(map) => to_action_results(map),
        _ => results([("id", Value::String(identity.id.clone()))]),
    }
}

fn recovery_results(code: &RecoveryCode) -> BTreeMap<String, Value> {
    results([
        ("recovery-link", Value::String(code.recovery_link.clone())),
        (
            "recovery-code",
            Value::String(code.recovery_code.expose().to_string()),
        ),
        ("expires-at", Value::String(code.expires_at.clone())),
    ])
}

fn results<const N: usize>(pairs: [(&str, Value); N]) -> BTreeMap<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

impl IdentityParams {
    /// The identity these parameters name (exactly one of `identity-id` or `email`).
    pub fn selector(&self) -> Result<IdentitySelector, ActionFailure> {
        IdentitySelector::from_params(self.identity_id.as_deref(), self.email.as_deref())
    }
}

/// Fails with [`SERVICE_NOT_READY`] unless Kratos answers its readiness probe.
fn ensure_ready<A: KratosAdmin + ?Sized>(admin: &A) -> Result<(), ActionFailure> {
    admin.health_ready().map_err(|e| not_ready(&e))
}

fn not_ready(error: &KratosApiError) -> ActionFailure {
    ActionFailure::new(format!("{SERVICE_NOT_READY} ({error})"))
}

/// The identity the operator named, fetched by id (with the credential identifiers in
/// `include`).
fn resolve<A: KratosAdmin + ?Sized>(
    admin: &A,
    selector: &IdentitySelector,
    include: &[CredentialType],
) -> Result<Identity, ActionFailure> {
    let id = match selector {
        IdentitySelector::Id(id) => id.clone(),
        IdentitySelector::Email(email) => {
            let found = admin
                .list_identities_by_identifier(email)
                .map_err(api_failure)?;
            let mut ids: Vec<String> = found.into_iter().map(|i| i.id).collect();
            ids.sort();
            ids.dedup();
            match ids.as_slice() {
                [] => {
                    return Err(ActionFailure::new(format!(
                        "Identity not found for email '{email}'"
                    )))
                }
                [id] => id.clone(),
                _ => {
                    return Err(ActionFailure::new(format!(
                        "Multiple identities found for email '{email}'. Please provide an \
                         identity-id instead"
                    )))
                }
            }
        }
    };
    admin
        .get_identity(&id, include)
        .map_err(|e| identity_failure(&id, e))
}

/// A failure about a known identity: `NotFound` means it does not exist.
fn identity_failure(id: &str, error: KratosApiError) -> ActionFailure {
    match error {
        KratosApiError::NotFound { .. } => {
            ActionFailure::new(format!("Identity {id} does not exist"))
        }
        other => api_failure(other),
    }
}

fn api_failure(error: KratosApiError) -> ActionFailure {
    match error {
        KratosApiError::NotReady { .. } => not_ready(&error),
        other => ActionFailure::new(sentence(&other)),
    }
}

/// An error's text as a sentence (capitalised).
fn sentence(error: &KratosApiError) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// Runs `body`, and masks `password` in its failure message should Kratos ever echo it.
fn scrubbed(
    password: Option<&Sensitive>,
    body: impl FnOnce() -> Result<ActionOutput, ActionFailure>,
) -> Result<ActionOutput, ActionFailure> {
    body().map_err(|failure| match password.map(Sensitive::expose) {
        Some(secret) if !secret.is_empty() && failure.message.contains(secret) => {
            ActionFailure::new(failure.message.replace(secret, "***"))
        }
        _ => failure,
    })
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// 8-4-4-4-12 hexadecimal digits, as Kratos's ids.
fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A light check (Kratos validates addresses against the identity schema): one `@`
/// with something on both sides, no whitespace or control characters.
fn looks_like_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use serde_json::json;

    use super::*;

    const ID: &str = "5f2b6c1e-1111-4222-8333-444455556666";
    const OTHER_ID: &str = "6a3c7d2f-2222-4333-9444-555566667777";

    /// A scripted [`KratosAdmin`]: answers from fixed data and records calls. Only for
    /// the paths a real Kratos cannot easily be driven into (a password echoed in an
    /// error, a readiness probe that fails after a call); tests/kratos_api_real.rs runs
    /// the actions against the real thing.
    #[derive(Default)]
    struct Scripted {
        ready: bool,
        identities: Vec<Identity>,
        by_email: Vec<Identity>,
        create_error: Option<KratosApiError>,
        calls: RefCell<Vec<String>>,
    }

    fn identity(id: &str) -> Identity {
        Identity::from_json(json!({
            "id": id,
            "schema_id": "admin_v0",
            "state": "active",
            "traits": {"email": "a@example.com", "phone_number": "123"},
            "recovery_addresses": [{"value": "a@example.com", "via": "email"}],
            "metadata_public": null
        }))
        .unwrap()
    }

    impl KratosAdmin for Scripted {
        fn health_ready(&self) -> Result<(), KratosApiError> {
            self.calls.borrow_mut().push("health".into());
            if self.ready {
                Ok(())
            } else {
                Err(KratosApiError::NotReady {
                    operation: "check readiness",
                    url: "http://127.0.0.1:1".into(),
                    reason: "connection refused".into(),
                })
            }
        }
        fn get_identity(
            &self,
            id: &str,
            _include: &[CredentialType],
        ) -> Result<Identity, KratosApiError> {
            self.calls.borrow_mut().push(format!("get {id}"));
            self.identities
                .iter()
                .find(|i| i.id == id)
                .cloned()
                .ok_or(KratosApiError::NotFound {
                    operation: "get identity",
                    message: "not found".into(),
                })
        }
        fn list_identities_by_identifier(
            &self,
            identifier: &str,
        ) -> Result<Vec<Identity>, KratosApiError> {
            self.calls.borrow_mut().push(format!("list {identifier}"));
            Ok(self.by_email.clone())
        }
        fn create_identity(&self, _new: &NewIdentity) -> Result<Identity, KratosApiError> {
            self.calls.borrow_mut().push("create".into());
            match &self.create_error {
                Some(e) => Err(e.clone()),
                None => Ok(identity(ID)),
            }
        }
        fn set_password(
            &self,
            identity: &Identity,
            _password: &Sensitive,
        ) -> Result<Identity, KratosApiError> {
            Ok(identity.clone())
        }
        fn delete_identity(&self, id: &str) -> Result<(), KratosApiError> {
            self.calls.borrow_mut().push(format!("delete {id}"));
            Ok(())
        }
        fn create_recovery_code(
            &self,
            _identity_id: &str,
            _expires_in: &str,
        ) -> Result<RecoveryCode, KratosApiError> {
            Err(KratosApiError::Api {
                operation: "create a recovery code",
                status: 400,
                message: "recovery is disabled".into(),
            })
        }
        fn delete_sessions(&self, _identity_id: &str) -> Result<(), KratosApiError> {
            Ok(())
        }
        fn delete_credential(
            &self,
            identity_id: &str,
            kind: CredentialType,
            _identifier: Option<&str>,
        ) -> Result<(), KratosApiError> {
            self.calls
                .borrow_mut()
                .push(format!("delete {kind} of {identity_id}"));
            Ok(())
        }
    }

    fn ready_with(identities: Vec<Identity>) -> Scripted {
        Scripted {
            ready: true,
            identities,
            ..Scripted::default()
        }
    }

    #[test]
    fn selector_needs_exactly_one_valid_choice() {
        let both = IdentitySelector::from_params(Some(ID), Some("a@example.com"));
        assert_eq!(
            both.unwrap_err().message,
            "Provide only one of 'identity-id' or 'email', not both"
        );
        for (id, email) in [(None, None), (Some(""), Some("  ")), (Some(" "), None)] {
            let err = IdentitySelector::from_params(id, email).unwrap_err();
            assert_eq!(
                err.message,
                "You must provide either 'identity-id' or 'email'"
            );
        }
        let bad = IdentitySelector::from_params(Some("not-a-uuid"), None).unwrap_err();
        assert!(bad.message.contains("valid UUID"), "{}", bad.message);
        let bad = IdentitySelector::from_params(None, Some("nobody")).unwrap_err();
        assert!(
            bad.message.contains("not a valid e-mail"),
            "{}",
            bad.message
        );
        assert_eq!(
            IdentitySelector::from_params(Some(&ID.to_uppercase()), Some("")).unwrap(),
            IdentitySelector::Id(ID.to_string())
        );
        assert_eq!(
            IdentitySelector::from_params(None, Some(" a@example.com ")).unwrap(),
            IdentitySelector::Email("a@example.com".into())
        );
    }

    #[test]
    fn uuid_and_email_checks() {
        assert!(is_uuid(ID));
        assert!(!is_uuid("5f2b6c1e-1111-4222-8333-44445555666"));
        assert!(!is_uuid("5f2b6c1e111142228333444455556666"));
        assert!(!is_uuid("zf2b6c1e-1111-4222-8333-444455556666"));
        assert!(looks_like_email("dup:x@example.com"));
        assert!(!looks_like_email("a@b@c"));
        assert!(!looks_like_email("a b@c"));
        assert!(!looks_like_email("@c"));
        assert!(!looks_like_email("a@"));
    }

    #[test]
    fn params_use_kebab_case_and_refuse_unknown_keys() {
        let params: CreateAdminAccountParams = serde_json::from_value(json!({
            "username": "admin",
            "email": "admin@example.com",
            "phone-number": "+1 555",
            "password-secret-id": "secret:abc"
        }))
        .unwrap();
        assert_eq!(params.phone_number.as_deref(), Some("+1 555"));
        assert_eq!(params.password_secret_id(), Some("secret:abc"));
        let err = serde_json::from_value::<IdentityParams>(json!({"identity_id": ID}));
        assert!(err.unwrap_err().to_string().contains("unknown field"));
        let err = serde_json::from_value::<UnlinkOidcAccountParams>(json!({"email": "a@b"}));
        assert!(err.unwrap_err().to_string().contains("credential-id"));
        let blank: ResetPasswordParams =
            serde_json::from_value(json!({"password-secret-id": " "})).unwrap();
        assert_eq!(blank.password_secret_id(), None);
        let both: ResetIdentityMfaParams =
            serde_json::from_value(json!({"identity-id": ID, "mfa-type": "totp"})).unwrap();
        assert_eq!(both.identity.identity_id.as_deref(), Some(ID));
    }

    #[test]
    fn mfa_types_are_the_three_kratos_knows() {
        assert_eq!("totp".parse::<MfaType>().unwrap(), MfaType::Totp);
        assert_eq!(
            "lookup_secret"
                .parse::<MfaType>()
                .unwrap()
                .credential_type(),
            CredentialType::LookupSecret
        );
        assert_eq!("webauthn".parse::<MfaType>().unwrap(), MfaType::Webauthn);
        let err = "password".parse::<MfaType>().unwrap_err();
        assert_eq!(
            err.message,
            "Unsupported MFA credential type 'password'; allowed types: totp, lookup_secret, webauthn"
        );
    }

    #[test]
    fn password_comes_from_the_password_key() {
        let content = BTreeMap::from([("password".to_string(), "s3cret!".to_string())]);
        let password = password_from_secret("secret:1", Some(&content)).unwrap();
        assert_eq!(password.expose(), "s3cret!");
        let missing = password_from_secret("secret:1", None).unwrap_err();
        assert!(missing.message.contains("secret:1 not found"), "{missing}");
        let wrong = BTreeMap::from([("pass".to_string(), "s3cret!".to_string())]);
        let err = password_from_secret("secret:1", Some(&wrong)).unwrap_err();
        assert!(err.message.contains("no 'password' key"), "{err}");
        assert!(!err.message.contains("s3cret!"));
        let empty = BTreeMap::from([("password".to_string(), String::new())]);
        assert!(password_from_secret("secret:1", Some(&empty)).is_err());
    }

    #[test]
    fn results_have_juju_keys() {
        let object = json!({
            "schema_id": "admin_v0",
            "traits": {"phone_number": "1", "firstName": "Ada", "first_name": "A.", "__": 1},
            "verifiable_addresses": [{"value": "a@example.com", "verified": false}, null],
            "metadata_public": null,
            "metadata_admin": {},
            "empty_list": [],
            "count": 3
        });
        let results = to_action_results(object.as_object().unwrap());
        assert_eq!(
            Value::Object(results.into_iter().collect()),
            json!({
                "schema-id": "admin_v0",
                "traits": {"phone-number": "1", "firstname": "Ada", "first-name": "A.", "key": 1},
                "verifiable-addresses": {"0": {"value": "a@example.com", "verified": false}},
                "count": 3
            })
        );
        let colliding = json!({"a_b": 1, "a.b": 2, "A-B": 3});
        let keys: Vec<String> = to_action_results(colliding.as_object().unwrap())
            .into_keys()
            .collect();
        assert_eq!(keys, ["a-b", "a-b-2", "a-b-3"]);
    }

    #[test]
    fn action_keys_match_the_action_set_rule() {
        for key in ["Schema_ID", "-x-", "a.b", "é", "traits.", "_"] {
            let k = action_key(key);
            assert!(
                !k.is_empty() && !k.starts_with('-') && !k.ends_with('-'),
                "{k}"
            );
            assert!(
                k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{k}"
            );
        }
    }

    #[test]
    fn nothing_is_asked_of_kratos_when_it_is_not_ready() {
        let admin = Scripted::default();
        let err = get_identity(
            &admin,
            &IdentityParams {
                identity_id: Some(ID.into()),
                email: None,
            },
        )
        .unwrap_err();
        assert!(err.message.starts_with(SERVICE_NOT_READY), "{err}");
        assert_eq!(*admin.calls.borrow(), ["health"]);
    }

    #[test]
    fn bad_parameters_fail_before_any_call() {
        let admin = ready_with(vec![]);
        let err = reset_identity_mfa(
            &admin,
            &ResetIdentityMfaParams {
                identity: IdentityParams {
                    identity_id: Some(ID.into()),
                    email: None,
                },
                mfa_type: "sms".into(),
            },
        )
        .unwrap_err();
        assert!(err
            .message
            .contains("Unsupported MFA credential type 'sms'"));
        let err = unlink_oidc_account(
            &admin,
            &UnlinkOidcAccountParams {
                identity: IdentityParams {
                    identity_id: Some(ID.into()),
                    email: None,
                },
                credential_id: " ".into(),
            },
        )
        .unwrap_err();
        assert!(err.message.contains("credential-id must not be empty"));
        assert!(admin.calls.borrow().is_empty());
    }

    #[test]
    fn an_email_matching_two_identities_is_refused() {
        let admin = Scripted {
            by_email: vec![identity(ID), identity(OTHER_ID), identity(ID)],
            ..ready_with(vec![identity(ID), identity(OTHER_ID)])
        };
        let err = delete_identity(
            &admin,
            &IdentityParams {
                identity_id: None,
                email: Some("a@example.com".into()),
            },
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "Multiple identities found for email 'a@example.com'. Please provide an identity-id instead"
        );
        assert!(!admin.calls.borrow().iter().any(|c| c.starts_with("delete")));
    }

    #[test]
    fn the_same_identity_listed_twice_is_one_identity() {
        let admin = Scripted {
            by_email: vec![identity(ID), identity(ID)],
            ..ready_with(vec![identity(ID)])
        };
        let out = delete_identity(
            &admin,
            &IdentityParams {
                identity_id: None,
                email: Some("a@example.com".into()),
            },
        )
        .unwrap();
        assert_eq!(out.results["id"], json!(ID));
        assert!(admin.calls.borrow().contains(&format!("delete {ID}")));
    }

    #[test]
    fn a_password_echoed_by_kratos_is_masked() {
        let password = Sensitive::new("hunter2-hunter2");
        let admin = Scripted {
            create_error: Some(KratosApiError::Api {
                operation: "create identity",
                status: 400,
                message: "bad value hunter2-hunter2".into(),
            }),
            ..ready_with(vec![])
        };
        let params = CreateAdminAccountParams {
            username: "admin".into(),
            email: "admin@example.com".into(),
            ..CreateAdminAccountParams::default()
        };
        let err = create_admin_account(&admin, &params, Some(&password)).unwrap_err();
        assert!(!err.message.contains("hunter2"), "{err}");
        assert!(err.message.contains("HTTP 400"), "{err}");
    }

    #[test]
    fn a_failed_recovery_code_after_creation_says_what_to_do() {
        let admin = ready_with(vec![]);
        let params = CreateAdminAccountParams {
            username: "admin".into(),
            email: "admin@example.com".into(),
            ..CreateAdminAccountParams::default()
        };
        let err = create_admin_account(&admin, &params, None).unwrap_err();
        assert!(err
            .message
            .starts_with(&format!("Created the admin account {ID}")));
        assert!(err.message.contains("recovery is disabled"), "{err}");
        assert!(err
            .message
            .contains(&format!("reset-password with identity-id={ID}")));
    }

    #[test]
    fn webauthn_reset_needs_a_second_factor_key() {
        let with_keys = |keys: Value| {
            Identity::from_json(json!({
                "id": ID,
                "credentials": {"webauthn": {"identifiers": ["a@example.com"], "config": {"credentials": keys}}}
            }))
            .unwrap()
        };
        let params = ResetIdentityMfaParams {
            identity: IdentityParams {
                identity_id: Some(ID.into()),
                email: None,
            },
            mfa_type: "webauthn".into(),
        };
        // Only passwordless keys (or none): nothing the MFA reset would remove.
        let admin = ready_with(vec![with_keys(json!([{"is_passwordless": true}]))]);
        let err = reset_identity_mfa(&admin, &params).unwrap_err();
        assert_eq!(
            err.message,
            format!("Identity {ID} has no webauthn credentials")
        );
        assert!(!admin.calls.borrow().iter().any(|c| c.starts_with("delete")));

        let admin = ready_with(vec![with_keys(json!([{"is_passwordless": false}]))]);
        let out = reset_identity_mfa(&admin, &params).unwrap();
        assert_eq!(out.results["mfa-type"], json!("webauthn"));
        assert!(admin
            .calls
            .borrow()
            .contains(&format!("delete webauthn of {ID}")));
    }

    #[test]
    fn identity_results_flatten_lists() {
        let out = get_identity(
            &ready_with(vec![identity(ID)]),
            &IdentityParams {
                identity_id: Some(ID.into()),
                email: None,
            },
        )
        .unwrap();
        assert_eq!(out.results["schema-id"], json!("admin_v0"));
        assert_eq!(out.results["traits"]["phone-number"], json!("123"));
        assert_eq!(
            out.results["recovery-addresses"]["0"]["via"],
            json!("email")
        );
        assert!(!out.results.contains_key("metadata-public"));
    }
}
