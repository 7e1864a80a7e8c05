//! Action parameters: action-get's JSON (the body; the first line names the action) into
//! each action's typed parameters, then the action's logic against a Kratos that answers
//! as a healthy one does, and its results through action-set.

use std::collections::BTreeMap;

use crate::{assert_hidden, header, FakeJuju};
use charm_kratos::action_logic::{self as logic, ActionFailure, ActionOutput};
use charm_kratos::kratos_api::{
    CredentialType, Identity, KratosAdmin, KratosApiError, NewIdentity, RecoveryCode,
};
use charm_kratos::sensitive::Sensitive;
use juju_rs_ops::{Model, ModelError};
use serde_json::json;

/// The password the secret holds, which must never reach a result, log or failure.
const PASSWORD: &str = "correct-horse-battery-staple";

/// Kratos with one identity, answering every call.
struct Kratos;

fn identity(id: &str, email: &str) -> Identity {
    Identity::from_json(json!({
        "id": id,
        "schema_id": "admin_v0",
        "state": "active",
        "traits": {"email": email, "username": "admin", "name": "Admin"},
        "metadata_public": null,
        "credentials": {
            "password": {"type": "password", "identifiers": [email]},
            "oidc": {"type": "oidc", "identifiers": ["github:1234"]},
            "totp": {"type": "totp", "identifiers": [id]},
            "webauthn": {"type": "webauthn", "identifiers": [id], "config": {"credentials": [{"is_passwordless": false}]}}
        }
    }))
    .expect("a valid identity")
}

const ID: &str = "5f2b6c1e-1111-4222-8333-444455556666";

impl KratosAdmin for Kratos {
    fn health_ready(&self) -> Result<(), KratosApiError> {
        Ok(())
    }
    fn get_identity(&self, id: &str, _: &[CredentialType]) -> Result<Identity, KratosApiError> {
        Ok(identity(id, "admin@example.com"))
    }
    fn list_identities_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Vec<Identity>, KratosApiError> {
        Ok(vec![identity(ID, identifier)])
    }
    fn create_identity(&self, new: &NewIdentity) -> Result<Identity, KratosApiError> {
        let email = new
            .traits
            .get("email")
            .and_then(|e| e.as_str())
            .unwrap_or_default();
        Ok(identity(ID, email))
    }
    fn set_password(&self, identity: &Identity, _: &Sensitive) -> Result<Identity, KratosApiError> {
        Ok(identity.clone())
    }
    fn delete_identity(&self, _: &str) -> Result<(), KratosApiError> {
        Ok(())
    }
    fn create_recovery_code(&self, id: &str, _: &str) -> Result<RecoveryCode, KratosApiError> {
        Ok(RecoveryCode {
            recovery_link: format!("https://iam.example.com/self-service/recovery?flow={id}"),
            recovery_code: Sensitive::new("76453943"),
            expires_at: "2026-01-01T00:00:00Z".into(),
        })
    }
    fn delete_sessions(&self, _: &str) -> Result<(), KratosApiError> {
        Ok(())
    }
    fn delete_credential(
        &self,
        _: &str,
        _: CredentialType,
        _: Option<&str>,
    ) -> Result<(), KratosApiError> {
        Ok(())
    }
}

fn params<P: serde::de::DeserializeOwned>(model: &Model) -> Option<P> {
    match model.action_params::<P>() {
        Ok(params) => Some(params),
        Err(ModelError::Params { .. }) => None,
        Err(other) => panic!("action-get's JSON object gave {other:?}"),
    }
}

fn password(secret_id: Option<&str>) -> Result<Option<Sensitive>, ActionFailure> {
    let content = BTreeMap::from([("password".to_string(), PASSWORD.to_string())]);
    secret_id
        .map(|id| logic::password_from_secret(id, Some(&content)))
        .transpose()
}

fn run(action: &str, model: &Model) -> Option<Result<ActionOutput, ActionFailure>> {
    let k = &Kratos;
    Some(match action {
        "get-identity" => logic::get_identity(k, &params(model)?),
        "delete-identity" => logic::delete_identity(k, &params(model)?),
        "invalidate-identity-sessions" => logic::invalidate_identity_sessions(k, &params(model)?),
        "list-oidc-accounts" => logic::list_oidc_accounts(k, &params(model)?),
        "unlink-oidc-account" => logic::unlink_oidc_account(k, &params(model)?),
        "reset-identity-mfa" => logic::reset_identity_mfa(k, &params(model)?),
        "create-admin-account" => {
            let p: logic::CreateAdminAccountParams = params(model)?;
            password(p.password_secret_id())
                .and_then(|pw| logic::create_admin_account(k, &p, pw.as_ref()))
        }
        "reset-password" => {
            let p: logic::ResetPasswordParams = params(model)?;
            password(p.password_secret_id())
                .and_then(|pw| logic::reset_password(k, &p, pw.as_ref()))
        }
        "run-migration" => {
            match charm_kratos::fuzzing::run_migration_params(model) {
                Ok(Ok(timeout)) => assert!(timeout.as_secs() >= 1),
                Ok(Err(_)) | Err(ModelError::Params { .. }) => {}
                Err(other) => panic!("action-get's JSON object gave {other:?}"),
            }
            return None;
        }
        _ => return None,
    })
}

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let (words, body) = header(data);
    let Some(action) = words.first().copied() else {
        return;
    };
    // action-get prints a JSON object; anything else is refused before the action runs.
    if !matches!(
        serde_json::from_slice::<serde_json::Value>(body),
        Ok(serde_json::Value::Object(_))
    ) {
        return;
    }
    let juju = FakeJuju::new([("action-get".to_string(), body.to_vec())]);
    let model = juju.model(&[("JUJU_DISPATCH_PATH", &format!("actions/{action}"))]);
    let Some(outcome) = run(action, &model) else {
        return;
    };
    let text = match &outcome {
        Ok(output) => format!("{:?} {:?}", output.results, output.log),
        Err(failure) => failure.message.clone(),
    };
    assert_hidden(PASSWORD, &[], &text);
    if let Ok(output) = outcome {
        // The results are valid action-set keys and values.
        if let Err(e) = model.action_set(&output.results) {
            panic!("results Juju would refuse: {e}");
        }
    }
}
