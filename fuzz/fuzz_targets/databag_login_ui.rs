//! ui-endpoint-info: the login UIs' application bags (every relation) into the page URLs
//! of kratos.yaml.
#![no_main]

use charm_kratos::integrations::{login_ui, Contribute, Reading};
use fuzz_support::{default_spec, input, render, Databag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(bags) = input::<Vec<Databag>>(data) else {
        return;
    };
    if let Reading::Ready(urls) = login_ui::parse(&bags) {
        let mut spec = default_spec();
        urls.contribute(&mut spec);
        render(&spec);
    }
});
