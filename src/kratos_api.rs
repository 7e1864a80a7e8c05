//! A small client for the Kratos admin API: the operations the charm's actions need.
//!
//! The charm and the workload share the pod's network namespace, so production talks to
//! [`ADMIN_URL`]. [`KratosAdmin`] is the seam: the action logic is written against it and
//! tested against a real Kratos through [`AdminClient`].
//!
//! Kratos's answers are decoded into [`serde_json::Value`] first and then picked apart by
//! hand, so a decoding error never quotes a value (serde's type errors do), and credential
//! `config` objects (which may hold OIDC tokens) are dropped as soon as they arrive.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use crate::sensitive::Sensitive;

/// The admin API as the charm reaches it inside the pod.
pub const ADMIN_URL: &str = "http://127.0.0.1:4434";

/// How long a connection attempt may take: the API is local, so anything slower means it
/// is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a whole call may take. Creating an identity with a password hashes it
/// (bcrypt), which takes a while on a busy 2-core node.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest excerpt of a non-JSON error body quoted in an error.
const BODY_EXCERPT: usize = 200;

/// What went wrong talking to the admin API. `operation` says what was being done
/// (e.g. `"get identity"`). Messages come from Kratos's error bodies, never from the
/// request (so never a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KratosApiError {
    /// The API cannot be reached (connection refused, timeout) or says it is not ready.
    #[error("cannot {operation}: the Kratos admin API at {url} is not ready: {reason}")]
    NotReady {
        operation: &'static str,
        url: String,
        reason: String,
    },
    /// Kratos answered 404: the identity, credential or sessions do not exist.
    #[error("cannot {operation}: not found: {message}")]
    NotFound {
        operation: &'static str,
        message: String,
    },
    /// Kratos answered 409: e.g. an identity with the same identifier exists.
    #[error("cannot {operation}: conflict: {message}")]
    Conflict {
        operation: &'static str,
        message: String,
    },
    /// Any other unsuccessful answer.
    #[error("cannot {operation}: Kratos answered HTTP {status}: {message}")]
    Api {
        operation: &'static str,
        status: u16,
        message: String,
    },
    /// A successful answer that is not what the API documents.
    #[error("cannot {operation}: unexpected answer from Kratos: {reason}")]
    Decode {
        operation: &'static str,
        reason: String,
    },
}

/// Credential types the actions remove from identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialType {
    Totp,
    LookupSecret,
    Webauthn,
    Oidc,
}

impl CredentialType {
    /// The type's name in Kratos's API.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::Totp => "totp",
            CredentialType::LookupSecret => "lookup_secret",
            CredentialType::Webauthn => "webauthn",
            CredentialType::Oidc => "oidc",
        }
    }
}

impl fmt::Display for CredentialType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An identity as the admin API returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub id: String,
    pub schema_id: String,
    /// `active` or `inactive`.
    pub state: Option<String>,
    pub traits: Value,
    /// `Null` when the identity has none.
    pub metadata_public: Value,
    /// `Null` when the identity has none.
    pub metadata_admin: Value,
    /// Credential type (`password`, `oidc`, `webauthn`, ...) -> what the actions need
    /// of it. Kratos lists credentials only on single-identity reads.
    pub credentials: BTreeMap<String, IdentityCredential>,
    /// The whole identity as Kratos sent it, minus every credential's `config`.
    pub document: Value,
}

/// One credential of an identity, without its secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityCredential {
    /// E.g. the username and email for `password`, `provider:subject` for `oidc`.
    pub identifiers: Vec<String>,
    /// For `webauthn` read with `include_credential=webauthn`: how many keys are second
    /// factors (Kratos's MFA reset removes these and keeps passwordless ones). `None`
    /// when the configuration was not read.
    pub webauthn_mfa_keys: Option<usize>,
}

impl IdentityCredential {
    /// Reads one credential of type `kind`, taking its `config` out of the document (it
    /// holds hashes and keys that must not travel further).
    fn take(kind: &str, credential: &mut Value) -> IdentityCredential {
        let config = match credential {
            Value::Object(fields) => fields.remove("config"),
            _ => None,
        };
        let webauthn_mfa_keys = match (kind, config) {
            ("webauthn", Some(config)) => Some(
                config
                    .get("credentials")
                    .and_then(Value::as_array)
                    .map(|keys| {
                        keys.iter()
                            .filter(|key| key.get("is_passwordless") != Some(&Value::Bool(true)))
                            .count()
                    })
                    .unwrap_or(0),
            ),
            _ => None,
        };
        let identifiers = credential
            .get("identifiers")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        IdentityCredential {
            identifiers,
            webauthn_mfa_keys,
        }
    }
}

impl Identity {
    /// Reads an identity from Kratos's JSON, dropping credential configs.
    pub fn from_json(mut document: Value) -> Result<Identity, String> {
        let object = document
            .as_object_mut()
            .ok_or_else(|| "an identity is not a JSON object".to_string())?;
        let credentials = match object.get_mut("credentials") {
            Some(Value::Object(creds)) => creds
                .iter_mut()
                .map(|(kind, credential)| {
                    (kind.clone(), IdentityCredential::take(kind, credential))
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
        let id = text("id").ok_or_else(|| "an identity has no string `id`".to_string())?;
        let schema_id = text("schema_id").unwrap_or_default();
        let state = text("state");
        let field = |key: &str| object.get(key).cloned().unwrap_or(Value::Null);
        let traits = field("traits");
        let metadata_public = field("metadata_public");
        let metadata_admin = field("metadata_admin");
        Ok(Identity {
            id,
            schema_id,
            state,
            traits,
            metadata_public,
            metadata_admin,
            credentials,
            document,
        })
    }

    /// The identifiers of one credential type; empty when the identity has none (or
    /// they were not requested).
    pub fn identifiers(&self, kind: CredentialType) -> &[String] {
        self.credentials
            .get(kind.as_str())
            .map(|c| c.identifiers.as_slice())
            .unwrap_or_default()
    }

    /// The credential of one type, if the identity has it.
    pub fn credential(&self, kind: CredentialType) -> Option<&IdentityCredential> {
        self.credentials.get(kind.as_str())
    }
}

/// An identity to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIdentity {
    pub schema_id: String,
    pub traits: Map<String, Value>,
    /// A clear-text password Kratos hashes and stores; `None` creates an identity that
    /// can only get in through recovery (or another method).
    pub password: Option<Sensitive>,
}

/// An admin recovery code and the link where it is used.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryCode {
    pub recovery_link: String,
    /// Handed to the operator, but still kept out of `Debug`.
    pub recovery_code: Sensitive,
    pub expires_at: String,
}

/// The admin API operations the charm's actions use.
pub trait KratosAdmin {
    /// `GET /admin/health/ready`: `Ok` once Kratos serves and reaches its database.
    fn health_ready(&self) -> Result<(), KratosApiError>;

    /// `GET /admin/identities/{id}`. Credentials come with their identifiers; for each
    /// type in `include` Kratos also sends its configuration (`include_credential`),
    /// which is summarised (see [`IdentityCredential`]) and dropped. Never include
    /// `oidc` without need: Kratos then sends the decrypted provider tokens.
    fn get_identity(
        &self,
        id: &str,
        include: &[CredentialType],
    ) -> Result<Identity, KratosApiError>;

    /// `GET /admin/identities?credentials_identifier=...`: identities with a password,
    /// code or WebAuthn identifier equal to `identifier` (Kratos normalises case), or
    /// that exact OIDC identifier.
    fn list_identities_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Vec<Identity>, KratosApiError>;

    /// `POST /admin/identities`.
    fn create_identity(&self, identity: &NewIdentity) -> Result<Identity, KratosApiError>;

    /// `PUT /admin/identities/{id}`: replaces the password credential of `identity`,
    /// keeping its schema, state, traits and metadata (a PUT replaces them all).
    fn set_password(
        &self,
        identity: &Identity,
        password: &Sensitive,
    ) -> Result<Identity, KratosApiError>;

    /// `DELETE /admin/identities/{id}`.
    fn delete_identity(&self, id: &str) -> Result<(), KratosApiError>;

    /// `POST /admin/recovery/code`, valid for `expires_in` (a Go duration, e.g. `1h`).
    /// Needs the recovery flow enabled with `use: code`.
    fn create_recovery_code(
        &self,
        identity_id: &str,
        expires_in: &str,
    ) -> Result<RecoveryCode, KratosApiError>;

    /// `DELETE /admin/identities/{id}/sessions`. Kratos answers 404 (`NotFound`) when
    /// the identity has no sessions.
    fn delete_sessions(&self, identity_id: &str) -> Result<(), KratosApiError>;

    /// `DELETE /admin/identities/{id}/credentials/{type}`; `identifier` picks the OIDC
    /// account to unlink (Kratos requires it for `oidc`). `NotFound` when the identity
    /// has no such credential.
    fn delete_credential(
        &self,
        identity_id: &str,
        kind: CredentialType,
        identifier: Option<&str>,
    ) -> Result<(), KratosApiError>;
}

/// [`KratosAdmin`] over HTTP.
///
/// ```ignore
/// let admin = AdminClient::local();
/// admin.health_ready()?;
/// let identity = admin.get_identity(id, &[CredentialType::Oidc])?;
/// ```
#[derive(Debug, Clone)]
pub struct AdminClient {
    base_url: String,
    agent: ureq::Agent,
}

/// An answer's status and body.
struct Answer {
    status: u16,
    body: String,
}

impl AdminClient {
    /// A client for the admin API at `base_url` (e.g. `http://127.0.0.1:4434`).
    pub fn new(base_url: impl Into<String>) -> AdminClient {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(CALL_TIMEOUT))
            // Statuses are answers we interpret, not transport errors.
            .http_status_as_error(false)
            // The API is local: an HTTP(S)_PROXY in the environment must not apply.
            .proxy(None)
            .max_redirects(0)
            .build()
            .into();
        AdminClient {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            agent,
        }
    }

    /// The client for the workload's admin API at [`ADMIN_URL`].
    pub fn local() -> AdminClient {
        AdminClient::new(ADMIN_URL)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn identity_url(&self, id: &str) -> String {
        self.url(&format!("/admin/identities/{}", segment(id)))
    }

    /// Turns ureq's result into an [`Answer`], or `NotReady` for transport failures.
    fn answer(
        &self,
        operation: &'static str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, KratosApiError> {
        let not_ready = |reason: String| KratosApiError::NotReady {
            operation,
            url: self.base_url.clone(),
            reason,
        };
        let mut response = result.map_err(|e| not_ready(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| not_ready(format!("reading the answer: {e}")))?;
        Ok(Answer { status, body })
    }

    fn call(
        &self,
        operation: &'static str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<String, KratosApiError> {
        let answer = self.answer(operation, result)?;
        expect_success(operation, answer)
    }
}

/// `Ok(body)` for 2xx; the typed error for anything else.
fn expect_success(operation: &'static str, answer: Answer) -> Result<String, KratosApiError> {
    match answer.status {
        200..=299 => Ok(answer.body),
        404 => Err(KratosApiError::NotFound {
            operation,
            message: error_message(&answer.body),
        }),
        409 => Err(KratosApiError::Conflict {
            operation,
            message: error_message(&answer.body),
        }),
        status => Err(KratosApiError::Api {
            operation,
            status,
            message: error_message(&answer.body),
        }),
    }
}

/// The readiness answer: ready on 200, `NotReady` (saying why) otherwise.
fn ready(operation: &'static str, url: &str, answer: &Answer) -> Result<(), KratosApiError> {
    match answer.status {
        200 => Ok(()),
        status => Err(KratosApiError::NotReady {
            operation,
            url: url.to_string(),
            reason: format!("HTTP {status}: {}", error_message(&answer.body)),
        }),
    }
}

impl KratosAdmin for AdminClient {
    fn health_ready(&self) -> Result<(), KratosApiError> {
        const OP: &str = "check readiness";
        let answer = self.answer(OP, self.agent.get(self.url("/admin/health/ready")).call())?;
        ready(OP, &self.base_url, &answer)
    }

    fn get_identity(
        &self,
        id: &str,
        include: &[CredentialType],
    ) -> Result<Identity, KratosApiError> {
        const OP: &str = "get identity";
        let mut request = self.agent.get(self.identity_url(id));
        for kind in include {
            request = request.query("include_credential", kind.as_str());
        }
        let body = self.call(OP, request.call())?;
        decode_identity(OP, &body)
    }

    fn list_identities_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Vec<Identity>, KratosApiError> {
        const OP: &str = "list identities";
        let request = self
            .agent
            .get(self.url("/admin/identities"))
            .query("credentials_identifier", identifier);
        let body = self.call(OP, request.call())?;
        decode_identity_list(OP, &body)
    }

    fn create_identity(&self, identity: &NewIdentity) -> Result<Identity, KratosApiError> {
        const OP: &str = "create identity";
        let mut body = json!({
            "schema_id": identity.schema_id,
            "traits": identity.traits,
        });
        if let (Some(password), Some(fields)) = (&identity.password, body.as_object_mut()) {
            fields.insert("credentials".into(), password_credentials(password));
        }
        let request = self.agent.post(self.url("/admin/identities"));
        let answer = self.call(OP, request.send_json(&body))?;
        decode_identity(OP, &answer)
    }

    fn set_password(
        &self,
        identity: &Identity,
        password: &Sensitive,
    ) -> Result<Identity, KratosApiError> {
        const OP: &str = "set the password";
        let mut body = json!({
            "schema_id": identity.schema_id,
            "traits": identity.traits,
            "metadata_public": identity.metadata_public,
            "credentials": password_credentials(password),
        });
        // Absent keys keep Kratos's defaults (`state` unchanged, no admin metadata).
        if let Some(fields) = body.as_object_mut() {
            if let Some(state) = &identity.state {
                fields.insert("state".into(), Value::String(state.clone()));
            }
            if !identity.metadata_admin.is_null() {
                fields.insert("metadata_admin".into(), identity.metadata_admin.clone());
            }
        }
        let request = self.agent.put(self.identity_url(&identity.id));
        let answer = self.call(OP, request.send_json(&body))?;
        decode_identity(OP, &answer)
    }

    fn delete_identity(&self, id: &str) -> Result<(), KratosApiError> {
        const OP: &str = "delete identity";
        self.call(OP, self.agent.delete(self.identity_url(id)).call())
            .map(drop)
    }

    fn create_recovery_code(
        &self,
        identity_id: &str,
        expires_in: &str,
    ) -> Result<RecoveryCode, KratosApiError> {
        const OP: &str = "create a recovery code";
        let request = self.agent.post(self.url("/admin/recovery/code"));
        let body = self.call(
            OP,
            request.send_json(json!({"identity_id": identity_id, "expires_in": expires_in})),
        )?;
        decode_recovery_code(OP, &body)
    }

    fn delete_sessions(&self, identity_id: &str) -> Result<(), KratosApiError> {
        const OP: &str = "delete sessions";
        let url = format!("{}/sessions", self.identity_url(identity_id));
        self.call(OP, self.agent.delete(url).call()).map(drop)
    }

    fn delete_credential(
        &self,
        identity_id: &str,
        kind: CredentialType,
        identifier: Option<&str>,
    ) -> Result<(), KratosApiError> {
        const OP: &str = "delete a credential";
        let url = format!(
            "{}/credentials/{}",
            self.identity_url(identity_id),
            kind.as_str()
        );
        let mut request = self.agent.delete(url);
        if let Some(identifier) = identifier {
            request = request.query("identifier", identifier);
        }
        self.call(OP, request.call()).map(drop)
    }
}

/// The `credentials` object that sets a clear-text password.
fn password_credentials(password: &Sensitive) -> Value {
    json!({"password": {"config": {"password": password.expose()}}})
}

/// A path segment, percent-encoded so an odd id cannot change the path.
fn segment(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

fn parse_json(body: &str) -> Result<Value, String> {
    // serde_json's syntax errors give a position, never the text.
    serde_json::from_str(body).map_err(|e| format!("invalid JSON: {e}"))
}

fn decode_identity(operation: &'static str, body: &str) -> Result<Identity, KratosApiError> {
    parse_json(body)
        .and_then(Identity::from_json)
        .map_err(|reason| KratosApiError::Decode { operation, reason })
}

fn decode_identity_list(
    operation: &'static str,
    body: &str,
) -> Result<Vec<Identity>, KratosApiError> {
    let decode_error = |reason: String| KratosApiError::Decode { operation, reason };
    match parse_json(body).map_err(decode_error)? {
        Value::Array(items) => items
            .into_iter()
            .map(|item| Identity::from_json(item).map_err(decode_error))
            .collect(),
        _ => Err(decode_error("the identity list is not a JSON array".into())),
    }
}

fn decode_recovery_code(
    operation: &'static str,
    body: &str,
) -> Result<RecoveryCode, KratosApiError> {
    let decode_error = |reason: String| KratosApiError::Decode { operation, reason };
    let value = parse_json(body).map_err(decode_error)?;
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| decode_error(format!("no string `{key}` in the answer")))
    };
    Ok(RecoveryCode {
        recovery_link: text("recovery_link")?,
        recovery_code: Sensitive::new(text("recovery_code")?),
        expires_at: text("expires_at")?,
    })
}

/// The message of an Ory error body (`{"error": {"message", "reason", ...}}`), or an
/// excerpt of a body that is not one.
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let field = |key: &str| {
        error
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    match (field("message"), field("reason")) {
        (Some(message), Some(reason)) if message != reason => format!("{message} ({reason})"),
        (Some(text), _) | (None, Some(text)) => text.to_string(),
        (None, None) => {
            let trimmed = body.trim();
            if trimmed.is_empty() {
                "no details".to_string()
            } else {
                trimmed.chars().take(BODY_EXCERPT).collect()
            }
        }
    }
}

/// Entry points for the fuzz targets (feature `fuzzing`, `fuzz/`): an answer of the
/// admin API decoded as [`AdminClient`] decodes it, without HTTP. Not an API.
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing {
    use super::*;

    /// Which call's answer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum KratosCall {
        /// [`KratosAdmin::health_ready`].
        HealthReady,
        /// [`KratosAdmin::get_identity`], [`KratosAdmin::create_identity`] and
        /// [`KratosAdmin::set_password`] (one identity).
        Identity,
        /// [`KratosAdmin::list_identities_by_identifier`].
        ListIdentities,
        /// [`KratosAdmin::create_recovery_code`].
        RecoveryCode,
        /// [`KratosAdmin::delete_identity`], [`KratosAdmin::delete_sessions`],
        /// [`KratosAdmin::delete_credential`] (the body is only read on errors).
        Delete,
    }

    /// What an answer decoded into.
    #[derive(Debug)]
    pub enum KratosAnswer {
        /// Ready, or deleted.
        Done,
        /// One identity.
        Identity(Identity),
        /// A list of identities.
        Identities(Vec<Identity>),
        /// A recovery code.
        RecoveryCode(RecoveryCode),
    }

    /// Decodes `body`, answered with HTTP `status`, as the answer to `call`.
    pub fn kratos_answer(
        call: KratosCall,
        status: u16,
        body: &str,
    ) -> Result<KratosAnswer, KratosApiError> {
        const OP: &str = "fuzz";
        let answer = Answer {
            status,
            body: body.to_string(),
        };
        if call == KratosCall::HealthReady {
            return ready(OP, ADMIN_URL, &answer).map(|()| KratosAnswer::Done);
        }
        let body = expect_success(OP, answer)?;
        Ok(match call {
            KratosCall::HealthReady | KratosCall::Delete => KratosAnswer::Done,
            KratosCall::Identity => KratosAnswer::Identity(decode_identity(OP, &body)?),
            KratosCall::ListIdentities => {
                KratosAnswer::Identities(decode_identity_list(OP, &body)?)
            }
            KratosCall::RecoveryCode => {
                KratosAnswer::RecoveryCode(decode_recovery_code(OP, &body)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_drops_credential_configs_and_keeps_identifiers() {
        let identity = Identity::from_json(json!({
            "id": "5f2b6c1e-1111-4222-8333-444455556666",
            "schema_id": "admin_v0",
            "state": "active",
            "traits": {"email": "a@example.com"},
            "credentials": {
                "oidc": {
                    "type": "oidc",
                    "identifiers": ["github:1234", "google:abcd"],
                    "config": {"providers": [{"initial_access_token": "tok"}]}
                },
                "password": {"type": "password", "identifiers": ["a@example.com"]}
            }
        }))
        .unwrap();
        assert_eq!(
            identity.identifiers(CredentialType::Oidc),
            ["github:1234", "google:abcd"]
        );
        assert!(identity.identifiers(CredentialType::Totp).is_empty());
        assert_eq!(identity.state.as_deref(), Some("active"));
        assert_eq!(identity.metadata_public, Value::Null);
        assert!(!identity
            .document
            .to_string()
            .contains("initial_access_token"));
        assert!(identity.document["credentials"]["oidc"]
            .get("config")
            .is_none());
        assert_eq!(
            identity
                .credential(CredentialType::Oidc)
                .unwrap()
                .webauthn_mfa_keys,
            None
        );
    }

    #[test]
    fn webauthn_second_factors_are_counted_without_passwordless_keys() {
        let with_config = |keys: Value| {
            Identity::from_json(json!({
                "id": "x",
                "credentials": {"webauthn": {"identifiers": ["a@example.com"], "config": {"credentials": keys}}}
            }))
            .unwrap()
        };
        let mixed = with_config(json!([
            {"id": "k1", "is_passwordless": false},
            {"id": "k2", "is_passwordless": true},
            {"id": "k3"}
        ]));
        let webauthn = mixed.credential(CredentialType::Webauthn).unwrap();
        assert_eq!(webauthn.webauthn_mfa_keys, Some(2));
        assert_eq!(webauthn.identifiers, ["a@example.com"]);
        let stub = with_config(Value::Null);
        assert_eq!(
            stub.credential(CredentialType::Webauthn)
                .unwrap()
                .webauthn_mfa_keys,
            Some(0)
        );
        let unread = Identity::from_json(json!({
            "id": "x",
            "credentials": {"webauthn": {"identifiers": ["a@example.com"]}}
        }))
        .unwrap();
        assert_eq!(
            unread
                .credential(CredentialType::Webauthn)
                .unwrap()
                .webauthn_mfa_keys,
            None
        );
    }

    #[test]
    fn identity_needs_an_id() {
        let err = Identity::from_json(json!({"traits": {}})).unwrap_err();
        assert!(err.contains("`id`"), "{err}");
        assert!(Identity::from_json(json!([])).is_err());
    }

    #[test]
    fn ory_error_bodies_give_their_message_and_reason() {
        let body = r#"{"error":{"code":404,"status":"Not Found","reason":"You tried to remove a totp but this user have no totp set up.","message":"The requested resource could not be found"}}"#;
        assert_eq!(
            error_message(body),
            "The requested resource could not be found (You tried to remove a totp but this user have no totp set up.)"
        );
        assert_eq!(
            error_message(r#"{"error":{"message":"m","reason":"m"}}"#),
            "m"
        );
        assert_eq!(error_message(""), "no details");
        assert_eq!(error_message(&"x".repeat(500)).len(), BODY_EXCERPT);
    }

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(segment("../x?y"), "%2E%2E%2Fx%3Fy");
        let client = AdminClient::new("http://127.0.0.1:4434/");
        assert_eq!(
            client.identity_url("a/b"),
            "http://127.0.0.1:4434/admin/identities/a%2Fb"
        );
    }

    #[test]
    fn new_identity_debug_hides_the_password() {
        let new = NewIdentity {
            schema_id: "admin_v0".into(),
            traits: Map::new(),
            password: Some(Sensitive::new("correct horse battery staple")),
        };
        assert!(!format!("{new:?}").contains("correct horse"));
        let code = RecoveryCode {
            recovery_link: "http://x/recovery?flow=1".into(),
            recovery_code: Sensitive::new("123456"),
            expires_at: "2030-01-01T00:00:00Z".into(),
        };
        assert!(!format!("{code:?}").contains("123456"));
    }
}
