//! hydra-endpoint-info: Hydra's application bag into Kratos's OAuth2 provider URL.
#![no_main]

use charm_kratos::integrations::{hydra, Contribute, Reading};
use fuzz_support::{default_spec, input, render, Databag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(bag) = input::<Databag>(data) else {
        return;
    };
    if let Reading::Ready(endpoints) = hydra::parse(&bag) {
        let mut spec = default_spec();
        endpoints.contribute(&mut spec);
        render(&spec);
    }
});
