//! kratos-registration-webhook and kratos-login-webhook: a provider's application bag
//! (and the api-key secret it names) into a web-hook of kratos.yaml.

use crate::{assert_hidden, default_spec, input, render, Databag};
use arbitrary::Arbitrary;
use charm_kratos::integrations::webhooks::{self, Source, SECRET_KEY};
use charm_kratos::integrations::{Contribute, Reading};
use charm_kratos::kratos_config::{Sensitive, WebhookAuth};
use serde::Deserialize;

#[derive(Debug, Deserialize, Arbitrary)]
#[serde(rename_all = "lowercase")]
enum Flow {
    Registration,
    Login,
}

#[derive(Debug, Deserialize, Arbitrary)]
struct Input {
    flow: Flow,
    /// relation-get of the provider's application bag.
    #[serde(default)]
    app: Databag,
    /// secret-get of the secret `auth_config_value_secret` names.
    #[serde(default)]
    secret: Databag,
}

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(input) = input::<Input>(data) else {
        return;
    };
    let flow = match input.flow {
        Flow::Registration => &webhooks::REGISTRATION,
        Flow::Login => &webhooks::LOGIN,
    };
    let source = Source {
        id: 7,
        app: "user-verification-service".into(),
    };
    let offer = match webhooks::parse(flow, &source, &input.app) {
        Reading::Ready(offer) => offer,
        Reading::Waiting(message) | Reading::Blocked(message) => {
            for key in ["auth_config_value", "auth"] {
                if let Some(secret) = input.app.get(key) {
                    let others: Vec<&str> = input
                        .app
                        .iter()
                        .filter(|(k, _)| *k != key)
                        .map(|(_, v)| v.as_str())
                        .collect();
                    assert_hidden(secret, &others, &message);
                }
            }
            return;
        }
        Reading::Absent => return,
    };
    let mut webhook = offer.webhook;
    if let Some(key) = offer.key_secret {
        // As webhooks::read resolves it.
        let Some(value) = input.secret.get(SECRET_KEY).filter(|v| !v.is_empty()) else {
            return;
        };
        webhook.auth = Some(WebhookAuth::ApiKey {
            name: key.name,
            value: Sensitive::new(value.clone()),
            location: key.location,
        });
    }
    let mut spec = default_spec();
    match input.flow {
        Flow::Registration => webhooks::RegistrationHooks(vec![webhook]).contribute(&mut spec),
        Flow::Login => webhooks::LoginHooks(vec![webhook]).contribute(&mut spec),
    }
    render(&spec);
}
