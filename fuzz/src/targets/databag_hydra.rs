//! hydra-endpoint-info: Hydra's application bag into Kratos's OAuth2 provider URL.

use crate::{default_spec, input, render, Databag};
use charm_kratos::integrations::{hydra, Contribute, Reading};

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(bag) = input::<Databag>(data) else {
        return;
    };
    if let Reading::Ready(endpoints) = hydra::parse(&bag) {
        let mut spec = default_spec();
        endpoints.contribute(&mut spec);
        render(&spec);
    }
}
