//! public-route and internal-route: Traefik's application bag into Kratos's public URL,
//! and the Traefik configuration published for it.

use crate::{default_spec, input, render, Databag};
use arbitrary::Arbitrary;
use charm_kratos::integrations::route::{self, PublicIngress};
use charm_kratos::integrations::{Contribute, Reading};
use serde::Deserialize;

#[derive(Debug, Deserialize, Arbitrary)]
#[serde(rename_all = "lowercase")]
enum Endpoint {
    Public,
    Internal,
}

#[derive(Debug, Deserialize, Arbitrary)]
struct Input {
    endpoint: Endpoint,
    /// relation-get of Traefik's application bag.
    #[serde(default)]
    app: Databag,
}

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(input) = input::<Input>(data) else {
        return;
    };
    let endpoint = match input.endpoint {
        Endpoint::Public => route::PUBLIC_ENDPOINT,
        Endpoint::Internal => route::INTERNAL_ENDPOINT,
    };
    let Reading::Ready(ingress) = route::parse(endpoint, &input.app) else {
        return;
    };
    let config = match input.endpoint {
        Endpoint::Public => route::public_config("iam", "kratos", ingress.url.as_ref()),
        Endpoint::Internal => route::internal_config("iam", "kratos", ingress.url.as_ref()),
    };
    serde_json::to_string(&config).expect("the Traefik config serialises");
    // Rendering is the slow part: only with a URL.
    if matches!(input.endpoint, Endpoint::Public) && ingress.url.is_some() {
        let mut spec = default_spec();
        PublicIngress(ingress).contribute(&mut spec);
        render(&spec);
    }
}
