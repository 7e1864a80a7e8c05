//! The dispatch environment Juju sets (JUJU_* variables) into the typed event, and the
//! model built on it.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::{input, FakeJuju};
use juju_rs_ops::tools::ToolRunner;
use juju_rs_ops::{Event, Model};

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(vars) = input::<BTreeMap<String, String>>(data) else {
        return;
    };
    let event = Event::from_vars(vars);
    let _ = (event.name(), event.is_action());
    let runner: Rc<dyn ToolRunner> = FakeJuju::new([]);
    let model = Model::new(runner, &event);
    let _ = (model.unit_name(), model.app_name());
}
