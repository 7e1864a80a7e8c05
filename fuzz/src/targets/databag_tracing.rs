//! tracing: Tempo's application bag (its `receivers` JSON) into Kratos's OTLP exporter.

use crate::{default_spec, input, render, Databag};
use charm_kratos::integrations::traces;
use charm_kratos::integrations::{Contribute, Reading};

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(bag) = input::<Databag>(data) else {
        return;
    };
    if let Reading::Ready(tracing) = traces::parse(&bag, "tempo") {
        let mut spec = default_spec();
        tracing.contribute(&mut spec);
        let _ = tracing.notices();
        render(&spec);
    }
}
