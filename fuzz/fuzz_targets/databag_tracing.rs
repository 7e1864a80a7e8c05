//! tracing: Tempo's application bag (its `receivers` JSON) into Kratos's OTLP exporter.
#![no_main]

use charm_kratos::integrations::traces;
use charm_kratos::integrations::{Contribute, Reading};
use fuzz_support::{default_spec, input, render, Databag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(bag) = input::<Databag>(data) else {
        return;
    };
    if let Reading::Ready(tracing) = traces::parse(&bag, "tempo") {
        let mut spec = default_spec();
        tracing.contribute(&mut spec);
        let _ = tracing.notices();
        render(&spec);
    }
});
