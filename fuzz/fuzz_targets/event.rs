//! The dispatch environment Juju sets (JUJU_* variables) into the typed event, and the
//! model built on it.
#![no_main]

use std::collections::BTreeMap;
use std::rc::Rc;

use fuzz_support::{input, FakeJuju};
use juju_rs_ops::tools::ToolRunner;
use juju_rs_ops::{Event, Model};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(vars) = input::<BTreeMap<String, String>>(data) else {
        return;
    };
    let event = Event::from_vars(vars);
    let _ = (event.name(), event.is_action());
    let runner: Rc<dyn ToolRunner> = FakeJuju::new([]);
    let model = Model::new(runner, &event);
    let _ = (model.unit_name(), model.app_name());
});
