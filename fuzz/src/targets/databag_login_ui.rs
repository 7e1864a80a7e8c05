//! ui-endpoint-info: the login UIs' application bags (every relation) into the page URLs
//! of kratos.yaml.

use crate::{default_spec, input, render, Databag};
use charm_kratos::integrations::{login_ui, Contribute, Reading};

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(bags) = input::<Vec<Databag>>(data) else {
        return;
    };
    if let Reading::Ready(urls) = login_ui::parse(&bags) {
        let mut spec = default_spec();
        urls.contribute(&mut spec);
        render(&spec);
    }
}
