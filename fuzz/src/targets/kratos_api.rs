//! Kratos admin API answers: the body (the first line: the call and the HTTP status)
//! decoded as the client decodes it, identities into action results.

use crate::{header, FakeJuju};
use charm_kratos::action_logic::to_action_results;
use charm_kratos::fuzzing::{kratos_answer, KratosAnswer, KratosCall};

fn call(name: &str) -> Option<KratosCall> {
    Some(match name {
        "health-ready" => KratosCall::HealthReady,
        "identity" => KratosCall::Identity,
        "list-identities" => KratosCall::ListIdentities,
        "recovery-code" => KratosCall::RecoveryCode,
        "delete" => KratosCall::Delete,
        _ => return None,
    })
}

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let (words, body) = header(data);
    let (Some(call), Some(status)) = (
        words.first().and_then(|w| call(w)),
        words.get(1).and_then(|s| s.parse::<u16>().ok()),
    ) else {
        return;
    };
    // ureq reads the body as UTF-8 text.
    let Ok(body) = std::str::from_utf8(body) else {
        return;
    };
    let identities = match kratos_answer(call, status, body) {
        Ok(KratosAnswer::Identity(identity)) => vec![identity],
        Ok(KratosAnswer::Identities(identities)) => identities,
        Ok(KratosAnswer::Done | KratosAnswer::RecoveryCode(_)) | Err(_) => return,
    };
    let juju = FakeJuju::new([]);
    let model = juju.model(&[("JUJU_DISPATCH_PATH", "actions/get-identity")]);
    for identity in identities {
        // No credential configuration survives decoding.
        for credential in identity
            .document
            .get("credentials")
            .and_then(|c| c.as_object())
            .into_iter()
            .flatten()
        {
            assert!(credential.1.get("config").is_none());
        }
        // What get-identity hands to action-set is what Juju takes.
        let Some(object) = identity.document.as_object() else {
            panic!("an identity that is not an object");
        };
        let results = to_action_results(object);
        if let Err(e) = model.action_set(&results) {
            panic!("identity results Juju would refuse: {e}");
        }
    }
}
